/* SPDX-License-Identifier: Apache-2.0 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
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

static const char *control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return s;
	return NULL;
}

int shim_mount_validate(const struct shim_mount *m, size_t index, struct shim_error *err)
{
	const char *type = m->type ? m->type : "", *source = m->source ? m->source : "";
	bool remount = false;
	size_t i;

	if (!type[0] || strlen(type) > 64)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "rootfs[%zu].type \"%.64s\" must be 1 to 64 characters", index, type);
	for (i = 0; type[i]; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '+' || c == '-'))
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "rootfs[%zu].type \"%s\": only [A-Za-z0-9._+-] allowed", index, type);
	}
	for (i = 0; i < m->noptions; i++) {
		const char *o = m->options[i] ? m->options[i] : "";
		if (!o[0] || control_char(o) || strlen(o) >= SHIM_MOUNT_DATA_MAX)
			return shim_error_set(
				err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				"rootfs[%zu].options[%zu] must be non-empty, shorter than %d bytes and free "
				"of control characters",
				index, i, SHIM_MOUNT_DATA_MAX);
		if (!strcmp(o, "remount"))
			remount = true;
	}
	if ((!source[0] && !remount) || control_char(source) || strlen(source) >= PATH_MAX)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "rootfs[%zu].source must be non-empty, shorter than %d bytes and free of control "
				      "characters",
				      index, PATH_MAX);
	if (m->target && (control_char(m->target) || strlen(m->target) >= PATH_MAX))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "rootfs[%zu].target must be shorter than %d bytes and free of control characters",
				      index, PATH_MAX);
	return 0;
}

/* An O_PATH fd of target, which must lie under rootfs without crossing a
 * symlink anywhere (rootfs itself included): a target such as "x/y" where x is
 * a symlink (e.g. planted by an earlier mount) would otherwise mount outside
 * the container's root. The mount then goes through /proc/self/fd/N. */
static int open_target(const char *rootfs, const char *target, const char *what, struct shim_error *err)
{
	char clean[PATH_MAX];
	int root = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return shim_error_errno(err,
					errno == ELOOP || errno == ENOTDIR ? TTRPC_CODE_INVALID_ARGUMENT :
									     shim_error_code_from_errno(errno),
					errno, "open rootfs %s", rootfs);
	const char *rel = ".";
	if (target && target[0]) {
		char rooted[PATH_MAX + 1];
		if (snprintf(rooted, sizeof(rooted), "/%s", target) >= (int)sizeof(rooted) ||
		    shim_path_clean(rooted, clean, sizeof(clean)) < 0) {
			close(root);
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "%s too long", what);
		}
		rel = clean[1] ? clean + 1 : ".";
	}
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	int e = errno;
	close(root);
	if (fd < 0) {
		if (e == ELOOP || e == EXDEV)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -e,
					      "%s \"%s\" crosses a symlink or leaves rootfs %s", what, target, rootfs);
		return shim_error_errno(err, shim_error_code_from_errno(e), e, "open %s \"%s\" under %s", what,
					target ? target : "", rootfs);
	}
	return fd;
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
	/* Checked (no symlink on the way) and held: the mount goes onto what was
	 * checked. Later steps act on the new mount, by its (symlink-free) path. */
	int fd = open_target(rootfs, m->target, "target", err);
	if (fd < 0)
		return shim_error_wrap(err, fd, "mount %s on %s", m->type ? m->type : "", target);
	if (!(flags & MS_REMOUNT) || data[0]) {
		char via[64];
		snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
		int rc = mount(m->source, via, m->type, oflags, data[0] ? data : NULL);
		int e = errno;
		close(fd);
		if (rc < 0)
			return shim_error_errno(err, shim_error_code_from_errno(e), e, "mount %s %s on %s (%s)",
						m->type ? m->type : "", m->source ? m->source : "", target, data);
	} else {
		close(fd);
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
		ret = shim_mount_validate(&mounts[i], i, err);
		if (ret == 0 && (ret = mount_one(rootfs, &mounts[i], err)) < 0)
			shim_error_wrap(err, ret, "rootfs[%zu]", i);
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

int shim_unmount_try(const char *target, bool detach, int *count, struct shim_error *err)
{
	for (;;) {
		if (umount2(target, UMOUNT_NOFOLLOW) == 0) {
			(*count)++;
			continue;
		}
		if (errno == EINVAL || errno == ENOENT)
			return 0; /* not (or no longer) a mount point */
		if (errno == EINTR)
			continue;
		if (errno != EBUSY)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "unmount %s", target);
		if (!detach)
			return -EBUSY;
		if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "detach %s", target);
		(*count)++;
	}
}

int shim_unmount_all(const char *target, int retries, struct shim_error *err)
{
	int count = 0, tries = 0, ret;

	for (;;) {
		ret = shim_unmount_try(target, tries >= retries, &count, err);
		if (ret != -EBUSY)
			return ret < 0 ? ret : count;
		/* only the `delete` action (no loop) waits here; the serving shim
		 * retries with a timer (container.c) */
		usleep(SHIM_UNMOUNT_RETRY_MS * 1000);
		tries++;
	}
}
