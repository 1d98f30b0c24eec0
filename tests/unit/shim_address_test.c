/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/address.h"

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/shim-address-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	/* cleanup: what fails in .fini cannot fail the test, so only say it */
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_address, .init = setup, .fini = teardown, .timeout = 60);

Test(shim_address, clean_matches_go)
{
	/* Expected values printed by Go's path/filepath.Clean. */
	static const char *const cases[][2] = {
		{ "", "." },
		{ "/", "/" },
		{ "a/../..", ".." },
		{ "/../a", "/a" },
		{ "a//b/./c/..", "a/b" },
		{ "../../x/../y", "../../y" },
		{ "/a/b/../../..", "/" },
		{ "./", "." },
		{ "a/..", "." },
		{ "abc/def/../../..", ".." },
		{ "../a/../..", "../.." },
		{ "x/y/z/../../..", "." },
		{ "/tmp/x//c.sock/", "/tmp/x/c.sock" },
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(shim_path_clean(cases[i][0], out, sizeof(out)), 0);
		cr_expect_str_eq(out, cases[i][1], "Clean(%s)", cases[i][0]);
	}
	cr_expect_eq(shim_path_clean("/abcdef", out, 4), -ENAMETOOLONG);
	cr_assert_eq(shim_path_join(out, sizeof(out), "/run/x.sock/", "", "ns", "../id", NULL), 0);
	cr_expect_str_eq(out, "/run/x.sock/id");
}

static void expect_sha256(const void *data, size_t len, const char *want)
{
	uint8_t d[32];
	char hex[65];
	shim_sha256(data, len, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	cr_assert_str_eq(hex, want, "sha256 of %zu bytes", len);
}

/* FIPS 180-4 / NIST CAVP vectors, and every padding boundary (55, 56, 63,
 * 64 bytes) against values from sha256sum. */
Test(shim_address, sha256_vectors)
{
	expect_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect_sha256(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *million = malloc(1000000);
	cr_assert_not_null(million);
	memset(million, 'a', 1000000);
	expect_sha256(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
	char buf[64];
	memset(buf, 'x', sizeof(buf));
	expect_sha256(buf, 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
	expect_sha256(buf, 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
	expect_sha256(buf, 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
	expect_sha256(buf, 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

Test(shim_address, socket_address_matches_containerd)
{
	/* Golden values printed by containerd 1.6's runtime/v2/shim.SocketAddress. */
	char out[SHIM_ADDRESS_MAX];
	struct shim_error err;

	cr_assert_eq(shim_socket_address(NULL, "/run/containerd/containerd.sock", "default", "c1", out, sizeof(out),
					 &err),
		     0, "%s", err.msg);
	cr_expect_str_eq(out,
			 "unix:///run/containerd/s/d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
	cr_assert_eq(shim_socket_address(NULL, "/tmp/x//c.sock/", "k8s.io", "sb-1", out, sizeof(out), &err), 0);
	cr_expect_str_eq(out,
			 "unix:///run/containerd/s/9a6e4794e4d3cd900693f819a0bbdca1551d9590fda9965afe24d4aa686a7ea5");
	cr_expect_eq(shim_socket_address(NULL, "/a", "", "c1", out, sizeof(out), &err), -EINVAL);
	cr_expect_eq(shim_socket_address(NULL, "/a", "ns", NULL, out, sizeof(out), &err), -EINVAL);
	cr_expect_eq(shim_socket_address(NULL, "/a", "ns", "x", out, 20, &err), -ENAMETOOLONG);
}

Test(shim_address, socket_address_matches_sha256sum)
{
	char out[SHIM_ADDRESS_MAX], expected[SHIM_ADDRESS_MAX] = "unix:///tmp/s/";
	struct shim_error err;
	FILE *p;

	cr_assert_eq(shim_socket_address("/tmp/s", "/var/c.sock", "ns1", "group.7", out, sizeof(out), &err), 0);
	p = popen("printf %s /var/c.sock/ns1/group.7 | sha256sum", "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%64s", expected + strlen(expected)), 1);
	pclose(p);
	cr_expect_str_eq(out, expected);
	cr_expect_str_eq(shim_address_path(out), out + strlen("unix://"));
	cr_expect_null(shim_address_path("/tmp/s/x"));
	cr_expect_null(shim_address_path("unix://relative"));
	cr_expect_null(shim_address_path("abstract"));
}

Test(shim_address, address_file_is_written_atomically)
{
	char out[SHIM_ADDRESS_MAX], path[PATH_MAX];
	struct shim_error err;
	struct stat st;

	cr_assert_eq(shim_address_write(tmpdir, "unix:///run/containerd/s/abc", &err), 0, "%s", err.msg);
	cr_assert_eq(shim_address_read(tmpdir, out, sizeof(out), &err), 0, "%s", err.msg);
	cr_expect_str_eq(out, "unix:///run/containerd/s/abc");
	cr_assert_eq(shim_address_write(tmpdir, "unix:///x", &err), 0, "%s", err.msg);
	cr_assert_eq(shim_address_read(tmpdir, out, sizeof(out), &err), 0);
	cr_expect_str_eq(out, "unix:///x");
	snprintf(path, sizeof(path), "%s/address", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_size, 9);
	/* No temp file left behind: the directory holds only "address". */
	snprintf(path, sizeof(path), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
	cr_expect_eq(system(path), 0);
	cr_expect_eq(shim_address_write("/nonexistent-dir-xyz", "unix:///x", &err), -ENOENT);
	cr_expect(strstr(err.msg, "/nonexistent-dir-xyz/.address.") != NULL, "%s", err.msg);
	cr_expect_eq(shim_address_read("/nonexistent-dir-xyz", out, sizeof(out), &err), -ENOENT);
	cr_expect_eq(err.code, TTRPC_CODE_NOT_FOUND);
}

Test(shim_address, listen_connect_remove)
{
	char address[SHIM_ADDRESS_MAX], dir[PATH_MAX];
	struct shim_error err;
	struct stat st;
	int fd, fd2;

	snprintf(dir, sizeof(dir), "%s/run/s", tmpdir);
	cr_assert_eq(shim_socket_address(dir, "/c.sock", "ns", "g", address, sizeof(address), &err), 0);
	cr_expect_not(shim_socket_can_connect(address));
	cr_assert_eq(shim_socket_listen(address, &fd, &err), 0, "%s", err.msg);
	cr_expect(shim_socket_can_connect(address));
	cr_assert_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	cr_assert_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0711);
	cr_assert_eq(stat(shim_address_path(address), &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0600);
	cr_expect_eq(shim_socket_listen(address, &fd2, &err), -EADDRINUSE);
	cr_expect_eq(fd2, -1);
	cr_expect_eq(err.code, TTRPC_CODE_ALREADY_EXISTS);
	cr_expect_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* The file stays; nobody accepts: stale. */
	cr_expect_not(shim_socket_can_connect(address));
	cr_expect_eq(shim_socket_remove(address, &err), 0);
	cr_expect_eq(shim_socket_remove(address, &err), 0);
	cr_expect_neq(stat(shim_address_path(address), &st), 0);
	cr_expect_eq(shim_socket_listen("/not/unix", &fd, &err), -EINVAL);
	cr_expect_eq(shim_socket_remove("unix://", &err), -EINVAL);
}

Test(shim_address, acquire_reuses_live_and_replaces_stale)
{
	char address[SHIM_ADDRESS_MAX], dir[PATH_MAX];
	struct shim_error err;
	int fd, fd2;

	snprintf(dir, sizeof(dir), "%s/s", tmpdir);
	cr_assert_eq(shim_socket_address(dir, "/c.sock", "ns", "g", address, sizeof(address), &err), 0);
	cr_assert_eq(shim_socket_acquire(address, &fd, &err), 0, "%s", err.msg);
	cr_assert_geq(fd, 0);
	cr_expect_eq(shim_socket_acquire(address, &fd2, &err), 1);
	cr_expect_eq(fd2, -1);
	close(fd);
	/* Stale file left by a dead shim: replaced by a new listener. */
	cr_assert_eq(shim_socket_acquire(address, &fd2, &err), 0, "%s", err.msg);
	cr_expect(shim_socket_can_connect(address));
	close(fd2);
}

Test(shim_address, concurrent_acquire_makes_one_listener)
{
	char address[SHIM_ADDRESS_MAX], dir[PATH_MAX];
	struct shim_error err;
	int i, listeners = 0, reused = 0, status;
	int pipes[2];

	snprintf(dir, sizeof(dir), "%s/s", tmpdir);
	cr_assert_eq(shim_socket_address(dir, "/c.sock", "ns", "race", address, sizeof(address), &err), 0);
	cr_assert_eq(pipe(pipes), 0);
	for (i = 0; i < 10; i++) {
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			int fd, ret;
			char c;

			ret = shim_socket_acquire(address, &fd, &err);
			/* Keep a won listener open until every child has tried. */
			if (ret == 0) {
				close(pipes[1]);
				if (read(pipes[0], &c, 1) < 0)
					_exit(3);
			}
			_exit(ret == 0 ? 0 : ret == 1 ? 1 : 2);
		}
	}
	close(pipes[0]);
	/* The losers exit on their own; give them time, then release the winner. */
	for (i = 0; i < 9; i++) {
		cr_assert_gt(wait(&status), 0);
		cr_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 1)
			reused++;
		else if (WEXITSTATUS(status) == 0)
			listeners++;
	}
	close(pipes[1]);
	cr_assert_gt(wait(&status), 0);
	cr_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 0)
		listeners++;
	else if (WEXITSTATUS(status) == 1)
		reused++;
	cr_expect_eq(listeners, 1);
	cr_expect_eq(reused, 9);
}
