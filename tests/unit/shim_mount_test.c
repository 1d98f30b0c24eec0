/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/mount.h"

static char base[64];
static char p_lower[96], p_upper[96], p_work[96], p_rootfs[96];

static void setup(void)
{
	char cmd[640];

	strcpy(base, "/tmp/shim-mount-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	/* A tmpfs of our own: overlay needs an upper filesystem that supports it. */
	cr_assert_eq(mount("tmpfs", base, "tmpfs", 0, "size=16m"), 0, "mount tmpfs: %s", strerror(errno));
	snprintf(p_lower, sizeof(p_lower), "%s/lower", base);
	snprintf(p_upper, sizeof(p_upper), "%s/upper", base);
	snprintf(p_work, sizeof(p_work), "%s/work", base);
	snprintf(p_rootfs, sizeof(p_rootfs), "%s/rootfs", base);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/etc %s %s %s/sub && echo lower > %s/etc/hello", p_lower, p_upper,
		 p_work, p_rootfs, p_lower);
	cr_assert_eq(system(cmd), 0);
}

static void teardown(void)
{
	umount2(base, MNT_DETACH);
	rmdir(base);
}

TestSuite(shim_mount, .init = setup, .fini = teardown, .timeout = 60);

static bool mounted(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "mountpoint -q %s", path);
	return system(cmd) == 0;
}

Test(shim_mount, options_split_into_flags_and_data)
{
	const char *opts[] = { "ro",	      "nosuid", "nodev", "defaults", "lowerdir=/a:/b",
			       "upperdir=/u", "rw",	"rbind", "noexec",   "exec" };
	unsigned long flags;
	char data[64];
	struct shim_error err;

	cr_assert_eq(shim_mount_options(opts, 10, &flags, data, sizeof(data), &err), 0, "%s", err.msg);
	cr_expect_eq(flags, MS_NOSUID | MS_NODEV | MS_BIND | MS_REC);
	cr_expect_str_eq(data, "lowerdir=/a:/b,upperdir=/u");
	cr_expect_eq(shim_mount_options(opts, 5, &flags, data, 10, &err), -E2BIG);
	cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_expect_eq(shim_mount_options((const char *[]){ "loop" }, 1, &flags, data, sizeof(data), &err), -EOPNOTSUPP);
}

Test(shim_mount, overlay_on_rootfs_and_back)
{
	char lower[128], upper[128], work[128], path[160];
	const char *opts[] = { lower, upper, work };
	struct shim_mount m = { "overlay", "overlay", NULL, opts, 3 };
	struct shim_error err;
	char buf[16] = "";
	FILE *f;

	snprintf(lower, sizeof(lower), "lowerdir=%s", p_lower);
	snprintf(upper, sizeof(upper), "upperdir=%s", p_upper);
	snprintf(work, sizeof(work), "workdir=%s", p_work);
	cr_assert_eq(shim_mount_all(p_rootfs, &m, 1, &err), 0, "%s", err.msg);
	cr_expect(mounted(p_rootfs));
	snprintf(path, sizeof(path), "%s/etc/hello", p_rootfs);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_expect_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_expect_str_eq(buf, "lower\n");
	snprintf(path, sizeof(path), "%s/new", p_rootfs);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/new", p_upper);
	cr_expect_eq(access(path, F_OK), 0, "write did not land in upperdir");
	cr_expect_eq(shim_unmount_all(p_rootfs, SHIM_UNMOUNT_RETRIES, &err), 1, "%s", err.msg);
	cr_expect_not(mounted(p_rootfs));
	cr_expect_eq(shim_unmount_all(p_rootfs, SHIM_UNMOUNT_RETRIES, &err), 0);
	cr_expect_eq(shim_unmount_all("/nonexistent-xyz", SHIM_UNMOUNT_RETRIES, &err), 0);
}

Test(shim_mount, read_only_bind_and_stacked_mounts)
{
	struct shim_mount m[2] = {
		{ "bind", p_lower, NULL, (const char *[]){ "rbind", "ro" }, 2 },
		{ "tmpfs", "tmpfs", "etc", (const char *[]){ "size=1m", "nosuid" }, 2 },
	};
	struct shim_error err;
	char path[160];

	cr_assert_eq(shim_mount_all(p_rootfs, m, 2, &err), 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/x", p_rootfs);
	cr_expect_eq(open(path, O_CREAT | O_WRONLY, 0644), -1);
	cr_expect_eq(errno, EROFS);
	snprintf(path, sizeof(path), "%s/etc", p_rootfs);
	cr_expect(mounted(path));
	cr_expect_eq(shim_unmount_all(path, SHIM_UNMOUNT_RETRIES, &err), 1);
	cr_expect_eq(shim_unmount_all(p_rootfs, SHIM_UNMOUNT_RETRIES, &err), 1);
	cr_expect_not(mounted(p_rootfs));
}

Test(shim_mount, targets_cannot_climb_out)
{
	struct shim_mount m = { "tmpfs", "tmpfs", "../../../..", (const char *[]){ "size=1m" }, 1 };
	struct shim_error err;

	/* "../../../.." cleans to rootfs itself, never above it. */
	cr_assert_eq(shim_mount_all(p_rootfs, &m, 1, &err), 0, "%s", err.msg);
	cr_expect(mounted(p_rootfs));
	cr_expect_eq(shim_unmount_all(p_rootfs, 0, &err), 1);
}

Test(shim_mount, failure_undoes_earlier_mounts)
{
	struct shim_mount m[2] = {
		{ "tmpfs", "tmpfs", NULL, (const char *[]){ "size=1m" }, 1 },
		{ "nosuchfs", "x", NULL, NULL, 0 },
	};
	struct shim_error err;

	cr_expect_eq(shim_mount_all(p_rootfs, m, 2, &err), -ENODEV);
	cr_expect(strstr(err.msg, "mount nosuchfs x on ") != NULL, "%s", err.msg);
	cr_expect_not(mounted(p_rootfs));
}

Test(shim_mount, busy_mount_is_detached_after_retries)
{
	struct shim_mount m = { "tmpfs", "tmpfs", NULL, (const char *[]){ "size=1m" }, 1 };
	struct shim_error err;
	char path[160];
	int fd;

	cr_assert_eq(shim_mount_all(p_rootfs, &m, 1, &err), 0, "%s", err.msg);
	/* A process with its cwd inside keeps the mount busy. */
	fd = open(".", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(chdir(p_rootfs), 0);
	snprintf(path, sizeof(path), "%s", p_rootfs);
	cr_expect_eq(shim_unmount_all(path, 2, &err), 1, "%s", err.msg);
	cr_expect_not(mounted(p_rootfs));
	cr_assert_eq(fchdir(fd), 0);
	close(fd);
}
