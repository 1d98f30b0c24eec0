/* SPDX-License-Identifier: Apache-2.0 */
/* The shim's validators of what a request names: absolute paths, rootfs
 * mounts (fields; targets through symlinks), the socket directory, and the
 * runtime binary / runtime config trust rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/address.h"
#include "shim/ids.h"
#include "shim/mount.h"
#include "shim/runtime.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/shim-sec.XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(shim_security, .init = make_dir, .fini = remove_dir, .timeout = 30);

Test(shim_security, abs_path_validate)
{
	static const char *const good[] = { "/", "/a", "/run/containerd/fifo/x-stdout", "/a.b/c..d/...", "/a b" };
	static const char *const bad[] = { "",	  "a",	   "./a", "/a/", "//a",	  "/a//b",  "/a/./b", "/a/../b",
					   "/..", "/a/..", "/.",  "a/b", "/a\nb", "/a\x7f", "/a\tb",  "file:///x" };
	struct shim_error err;
	char big[PATH_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		shim_error_clear(&err);
		cr_expect_eq(shim_abs_path_validate("stdout", good[i], &err), 0, "%s: %s", good[i], err.msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		shim_error_clear(&err);
		cr_expect_lt(shim_abs_path_validate("bundle", bad[i], &err), 0, "accepted \"%s\"", bad[i]);
		cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
		cr_expect(!strncmp(err.msg, "bundle", 6), "does not name the field: %s", err.msg);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(shim_abs_path_validate("checkpoint", big, &err), -ENAMETOOLONG);
	cr_expect(strstr(err.msg, "checkpoint is longer than") != NULL, "%s", err.msg);
}

Test(shim_security, mount_fields_validate)
{
	const char *opts_ok[] = { "rbind", "rw" }, *opts_ctl[] = { "rbind", "a\nb" }, *opts_empty[] = { "" };
	const char *opts_remount[] = { "remount", "ro" };
	struct {
		struct shim_mount m;
		const char *want; /* NULL: accepted */
	} cases[] = {
		{ { "bind", "/src", NULL, opts_ok, 2 }, NULL },
		{ { "fuse.sshfs", "u@h:/", "a/b", NULL, 0 }, NULL },
		{ { "overlay", "overlay", "", NULL, 0 }, NULL },
		{ { "none", "", "", opts_remount, 2 }, NULL },
		{ { "", "/src", NULL, NULL, 0 }, "rootfs[3].type" },
		{ { NULL, "/src", NULL, NULL, 0 }, "rootfs[3].type" },
		{ { "../bind", "/src", NULL, NULL, 0 }, "rootfs[3].type" },
		{ { "bind x", "/src", NULL, NULL, 0 }, "rootfs[3].type" },
		{ { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/src", NULL, NULL, 0 },
		  "rootfs[3].type" },
		{ { "bind", "", NULL, opts_ok, 2 }, "rootfs[3].source" },
		{ { "bind", "/s\nrc", NULL, NULL, 0 }, "rootfs[3].source" },
		{ { "bind", "/src", "a\tb", NULL, 0 }, "rootfs[3].target" },
		{ { "bind", "/src", NULL, opts_ctl, 2 }, "rootfs[3].options[1]" },
		{ { "bind", "/src", NULL, opts_empty, 1 }, "rootfs[3].options[0]" },
	};
	struct shim_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		shim_error_clear(&err);
		int rc = shim_mount_validate(&cases[i].m, 3, &err);
		if (!cases[i].want) {
			cr_expect_eq(rc, 0, "case %zu refused: %s", i, err.msg);
			continue;
		}
		cr_expect_eq(rc, -EINVAL, "case %zu accepted", i);
		cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
		cr_expect(!strncmp(err.msg, cases[i].want, strlen(cases[i].want)), "case %zu: want %s: %s", i,
			  cases[i].want, err.msg);
	}
}

/* A target that crosses a symlink (to outside, or even to inside) is refused
 * before anything is mounted; nothing is mounted on what the link names. */
Test(shim_security, mount_target_through_symlink_refused)
{
	char rootfs[128], outside[128], link[256], src[128];
	const char *opts[] = { "rbind" };
	struct shim_error err = { 0 };

	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	cr_assert_eq(mkdir(rootfs, 0755), 0);
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(strcat(strcpy(link, rootfs), "/dir"), 0755), 0);
	snprintf(link, sizeof(link), "%s/escape", rootfs);
	cr_assert_eq(symlink(outside, link), 0);
	snprintf(link, sizeof(link), "%s/inner", rootfs);
	cr_assert_eq(symlink("dir", link), 0);
	const char *targets[] = { "escape", "/escape", "escape/x", "inner", "dir/../escape", "./escape/" };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct shim_mount m = { "bind", src, targets[i], opts, 1 };
		shim_error_clear(&err);
		cr_expect_eq(shim_mount_all(rootfs, &m, 1, &err), -ELOOP, "target %s: %s", targets[i], err.msg);
		cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT, "%s", err.msg);
		cr_expect(strstr(err.msg, "rootfs[0]: ") && strstr(err.msg, "crosses a symlink"), "%s", err.msg);
	}
	/* the rootfs itself may not be a symlink either */
	snprintf(link, sizeof(link), "%s/rootfs-link", dir);
	cr_assert_eq(symlink(rootfs, link), 0);
	struct shim_mount m = { "bind", src, NULL, opts, 1 };
	cr_expect_lt(shim_mount_all(link, &m, 1, &err), 0);
	cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT, "%s", err.msg);
	/* the control: a plain target under rootfs is mounted (and unmounted) */
	m.target = "dir";
	cr_assert_eq(shim_mount_all(rootfs, &m, 1, &err), 0, "%s", err.msg);
	snprintf(link, sizeof(link), "%s/dir", rootfs);
	cr_expect_eq(shim_unmount_all(link, 0, &err), 1, "%s", err.msg);
}

Test(shim_security, socket_dir_private)
{
	char addr[256], sock[160], sdir[128];
	struct stat st;
	struct shim_error err = { 0 };
	int fd = -1;

	snprintf(sdir, sizeof(sdir), "%s/s", dir);
	snprintf(sock, sizeof(sock), "%s/sock", sdir);
	snprintf(addr, sizeof(addr), "unix://%s", sock);
	cr_assert_eq(shim_socket_listen(addr, &fd, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(sdir, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "socket dir mode %o", st.st_mode & 07777);
	cr_assert_eq(lstat(sock, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0600, "socket mode %o", st.st_mode & 0777);
	close(fd);
	unlink(sock);
	/* an existing dir others can write to, or owned by another user, is refused */
	cr_assert_eq(chmod(sdir, 0777), 0);
	cr_expect_eq(shim_socket_listen(addr, &fd, &err), -EPERM);
	cr_expect(strstr(err.msg, "writable by nobody else") != NULL, "%s", err.msg);
	cr_expect_eq(access(sock, F_OK), -1, "a socket was made in a dir others can write");
	cr_assert_eq(chmod(sdir, 0700), 0);
	cr_assert_eq(chown(sdir, 65534, 65534), 0);
	cr_expect_eq(shim_socket_listen(addr, &fd, &err), -EPERM);
	cr_expect(strstr(err.msg, "owner uid 65534") != NULL, "%s", err.msg);
	cr_assert_eq(chown(sdir, 0, 0), 0);
	/* a symlink in the socket dir's place is refused */
	char real[128], linked[160];
	snprintf(real, sizeof(real), "%s/real", dir);
	cr_assert_eq(mkdir(real, 0700), 0);
	snprintf(linked, sizeof(linked), "%s/ls", dir);
	cr_assert_eq(symlink(real, linked), 0);
	snprintf(addr, sizeof(addr), "unix://%s/sock", linked);
	cr_expect_eq(shim_socket_listen(addr, &fd, &err), -ENOTDIR);
	/* a 0600 dir (what containerd-shim-runc-v2 makes) is fine */
	cr_assert_eq(chmod(sdir, 0600), 0);
	snprintf(addr, sizeof(addr), "unix://%s", sock);
	cr_expect_eq(shim_socket_listen(addr, &fd, &err), 0, "%s", err.msg);
	close(fd);
	unlink(sock);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert(f != NULL, "%s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(shim_security, runtime_binary_and_config_must_be_trusted)
{
	char bin[160], cfg[160], sub[128], out[PATH_MAX], text[256];
	struct shim_runtime_options opts;
	struct shim_error err = { 0 };

	snprintf(sub, sizeof(sub), "%s/bin", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/rt", sub);
	write_file(bin, "#!/bin/sh\n", 0755);
	cr_expect_eq(shim_runtime_find_binary(bin, NULL, out, sizeof(out), &err), 0, "%s", err.msg);
	cr_expect_eq(shim_runtime_find_binary("rt", sub, out, sizeof(out), &err), 0, "%s", err.msg);
	cr_expect_str_eq(out, bin);
	cr_assert_eq(chmod(bin, 0775), 0);
	cr_expect_eq(shim_runtime_find_binary(bin, NULL, out, sizeof(out), &err), -EPERM);
	cr_expect(strstr(err.msg, "is not trusted") != NULL, "%s", err.msg);
	cr_expect_eq(shim_runtime_find_binary("rt", sub, out, sizeof(out), &err), -EPERM, "PATH lookup");
	cr_assert_eq(chmod(bin, 0755), 0);
	cr_assert_eq(chown(bin, 65534, 0), 0);
	cr_expect_eq(shim_runtime_find_binary(bin, NULL, out, sizeof(out), &err), -EPERM);
	cr_assert_eq(chown(bin, 0, 0), 0);
	cr_assert_eq(chmod(sub, 0777), 0);
	cr_expect_eq(shim_runtime_find_binary(bin, NULL, out, sizeof(out), &err), -EPERM);
	cr_expect(strstr(err.msg, "its directory") != NULL, "%s", err.msg);
	cr_assert_eq(chmod(sub, 01777), 0); /* sticky, as /tmp: others cannot replace root's file */
	cr_expect_eq(shim_runtime_find_binary(bin, NULL, out, sizeof(out), &err), 0, "%s", err.msg);
	cr_assert_eq(chmod(sub, 0755), 0);

	snprintf(cfg, sizeof(cfg), "%s/rt.json", dir);
	snprintf(text, sizeof(text), "{\"binary_name\": \"%s\"}", bin);
	write_file(cfg, text, 0644);
	cr_expect_eq(shim_runtime_config_load(cfg, &opts, &err), 0, "%s", err.msg);
	cr_expect_str_eq(opts.binary_name, bin);
	cr_assert_eq(chmod(cfg, 0666), 0);
	cr_expect_eq(shim_runtime_config_load(cfg, &opts, &err), -EPERM);
	cr_expect(strstr(err.msg, "runtime config") && strstr(err.msg, "is not trusted"), "%s", err.msg);
	cr_expect_str_eq(opts.binary_name, "", "a refused config must not fill the options");
	cr_expect_eq(shim_runtime_config_load("rt.json", &opts, &err), -EINVAL);
	cr_expect(strstr(err.msg, "must be an absolute path") != NULL, "%s", err.msg);
}
