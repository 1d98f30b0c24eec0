/* SPDX-License-Identifier: Apache-2.0 */
#include "mount.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "address.h"

struct option_flag {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct option_flag option_flags[] = {
	{ "async", true, MS_SYNCHRONOUS },
	{ "atime", true, MS_NOATIME },
	{ "bind", false, MS_BIND },
	{ "dev", true, MS_NODEV },
	{ "diratime", true, MS_NODIRATIME },
	{ "dirsync", false, MS_DIRSYNC },
	{ "exec", true, MS_NOEXEC },
	{ "mand", false, MS_MANDLOCK },
	{ "noatime", false, MS_NOATIME },
	{ "nodev", false, MS_NODEV },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "noexec", false, MS_NOEXEC },
	{ "nomand", true, MS_MANDLOCK },
	{ "norelatime", true, MS_RELATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "nosuid", false, MS_NOSUID },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "relatime", false, MS_RELATIME },
	{ "remount", false, MS_REMOUNT },
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "strictatime", false, MS_STRICTATIME },
	{ "suid", true, MS_NOSUID },
	{ "sync", false, MS_SYNCHRONOUS },
};

int shim_mount_options(const char *const *options, size_t n, unsigned long *flags, char *data, size_t data_size,
		       struct shim_error *err)
{
	size_t i, j, len = 0;

	*flags = 0;
	if (data_size > SHIM_MOUNT_DATA_MAX)
		data_size = SHIM_MOUNT_DATA_MAX;
	data[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *o = options[i];
		bool known = false;
		size_t olen;

		for (j = 0; j < sizeof(option_flags) / sizeof(option_flags[0]); j++) {
			if (strcmp(o, option_flags[j].name) != 0)
				continue;
			if (option_flags[j].clear)
				*flags &= ~option_flags[j].flag;
			else
				*flags |= option_flags[j].flag;
			known = true;
			break;
		}
		if (known || !strcmp(o, "defaults"))
			continue;
		if (!strcmp(o, "loop"))
			return shim_error_set(err, TTRPC_CODE_UNIMPLEMENTED, -EOPNOTSUPP,
					      "mount option \"loop\" is not supported");
		olen = strlen(o);
		if (len + (len ? 1 : 0) + olen + 1 > data_size)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -E2BIG,
					      "mount options too long: more than %zu bytes of data", data_size - 1);
		if (len)
			data[len++] = ',';
		memcpy(data + len, o, olen + 1);
		len += olen;
	}
	return 0;
}

static int target_path(const char *rootfs, const char *target, char *out, size_t size, struct shim_error *err)
{
	char clean[PATH_MAX];

	if (!target || !target[0] || !strcmp(target, "/")) {
		if (strlen(rootfs) >= size)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "rootfs path too long");
		strcpy(out, rootfs);
		return 0;
	}
	/* Cleaned as if rooted, a target cannot climb out of rootfs. */
	if (snprintf(out, size, "/%s", target) >= (int)size || shim_path_clean(out, clean, sizeof(clean)) < 0 ||
	    snprintf(out, size, "%s%s", rootfs, clean) >= (int)size)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "mount target too long: %s",
				      target);
	return 0;
}

static int mount_one(const char *rootfs, const struct shim_mount *m, struct shim_error *err)
{
	const unsigned long propagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
	char data[SHIM_MOUNT_DATA_MAX], target[PATH_MAX];
	unsigned long flags, oflags;
	int ret;

	ret = target_path(rootfs, m->target, target, sizeof(target), err);
	if (ret == 0)
		ret = shim_mount_options(m->options, m->noptions, &flags, data, sizeof(data), err);
	if (ret < 0)
		return shim_error_wrap(err, ret, "mount %s on %s", m->type ? m->type : "", target);
	oflags = flags & ~propagation;
	if (!(flags & MS_REMOUNT) || data[0]) {
		if (mount(m->source, target, m->type, oflags, data[0] ? data : NULL) < 0)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "mount %s %s on %s (%s)",
						m->type ? m->type : "", m->source ? m->source : "", target, data);
	}
	if (flags & propagation) {
		if (mount("", target, "", flags & (propagation | MS_REC | MS_SILENT), NULL) < 0)
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "change propagation of %s", target);
	}
	/* A read-only bind needs a second pass: MS_RDONLY is ignored on the first. */
	if ((oflags & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY)) {
		if (mount("", target, "", oflags | MS_REMOUNT, NULL) < 0) {
			int e = errno;

			umount2(target, MNT_DETACH);
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "remount %s read-only", target);
		}
	}
	return 0;
}

int shim_mount_all(const char *rootfs, const struct shim_mount *mounts, size_t n, struct shim_error *err)
{
	char target[PATH_MAX];
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = mount_one(rootfs, &mounts[i], err);
		if (ret < 0) {
			/* Undo in reverse order, one layer per mount made. */
			while (i-- > 0) {
				if (target_path(rootfs, mounts[i].target, target, sizeof(target), NULL) == 0 &&
				    umount2(target, 0) < 0)
					umount2(target, MNT_DETACH);
			}
			return ret;
		}
	}
	return 0;
}

int shim_unmount_all(const char *target, int retries, struct shim_error *err)
{
	int count = 0, tries = 0;

	for (;;) {
		if (umount2(target, UMOUNT_NOFOLLOW) == 0) {
			count++;
			tries = 0;
			continue;
		}
		if (errno == EINVAL || errno == ENOENT)
			return count; /* not (or no longer) a mount point */
		if (errno == EINTR)
			continue;
		if (errno != EBUSY)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "unmount %s", target);
		if (tries++ < retries) {
			usleep(50 * 1000);
			continue;
		}
		if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "detach %s", target);
		count++;
		tries = 0;
	}
}
