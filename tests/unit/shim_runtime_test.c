/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/runtime.h"

static char dir[64];

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/shim-runtime-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

/* Runtimes made by a test, released at teardown (a failed assertion ends the
 * test early; LeakSanitizer counts what is left). */
static char *rt_blocks[16];
static size_t rt_nblocks;

static int init_rt(struct shim_runtime *rt, const struct shim_runtime_options *opts, const char *ns, const char *bundle,
		   const char *path_env, struct shim_reaper *reaper, struct shim_error *err)
{
	int rc = shim_runtime_init(rt, opts, ns, bundle, path_env, reaper, err);
	if (rc == 0 && rt_nblocks < sizeof(rt_blocks) / sizeof(rt_blocks[0]))
		rt_blocks[rt_nblocks++] = rt->strings;
	return rc;
}

static void release_runtimes(void)
{
	while (rt_nblocks)
		free(rt_blocks[--rt_nblocks]);
}

static void teardown(void)
{
	char cmd[128];

	release_runtimes();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	/* cleanup: what fails in .fini cannot fail the test, so only say it */
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_runtime, .init = setup, .fini = teardown, .timeout = 120);

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* A fake runtime: a shell script at <dir>/bin/<name>. */
static void fake_runtime(struct shim_runtime *rt, const char *name, const char *script)
{
	char bin[128], path[160];
	struct shim_runtime_options opts = { 0 };
	struct shim_error err;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	mkdir(bin, 0755);
	snprintf(path, sizeof(path), "%s/%s", bin, name);
	write_file(path, script, 0755);
	snprintf(opts.binary_name, sizeof(opts.binary_name), "%s", name);
	snprintf(opts.root, sizeof(opts.root), "%s/root", dir);
	cr_assert_eq(init_rt(rt, &opts, "ns1", dir, bin, NULL, &err), 0, "%s", err.msg);
}

static void expect_argv(const struct shim_argv *a, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		cr_assert_lt(i, a->n, "argv too short at %s", want[i]);
		cr_expect_str_eq(a->v[i], want[i], "argv[%zu]", i);
	}
	cr_expect_eq(a->n, i);
	cr_expect_null(a->v[a->n]);
}

Test(shim_runtime, command_lines)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct shim_error err;

	cr_assert_eq(init_rt(&rt, NULL, "default", "/b", "/usr/sbin:/usr/bin:/sbin:/bin", NULL, &err), 0, "%s",
		     err.msg);
	cr_expect_str_eq(rt.binary + strlen(rt.binary) - 5, "/runc");
	cr_expect_str_eq(rt.root, "/run/containerd/runc/default");
#define G rt.binary, "--root", "/run/containerd/runc/default", "--log", "/b/log.json", "--log-format", "json"
	shim_runtime_argv_create(&rt, &a, "c1", "/b", "/b/init.pid", NULL);
	expect_argv(&a, (const char *[]){ G, "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "c1", NULL });
	cr_expect_str_eq(a.command, "create");
	shim_runtime_argv_create(&rt, &a, "c1", "/b", "/b/init.pid", "/tmp/pty/s");
	expect_argv(&a, (const char *[]){ G, "create", "--bundle", "/b", "--pid-file", "/b/init.pid",
					  "--console-socket", "/tmp/pty/s", "c1", NULL });
	shim_runtime_argv_start(&rt, &a, "c1");
	expect_argv(&a, (const char *[]){ G, "start", "c1", NULL });
	shim_runtime_argv_kill(&rt, &a, "c1", 15, false);
	expect_argv(&a, (const char *[]){ G, "kill", "c1", "15", NULL });
	shim_runtime_argv_kill(&rt, &a, "c1", 9, true);
	expect_argv(&a, (const char *[]){ G, "kill", "--all", "c1", "9", NULL });
	shim_runtime_argv_delete(&rt, &a, "c1", false);
	expect_argv(&a, (const char *[]){ G, "delete", "c1", NULL });
	shim_runtime_argv_delete(&rt, &a, "c1", true);
	expect_argv(&a, (const char *[]){ G, "delete", "--force", "c1", NULL });
	shim_runtime_argv_exec(&rt, &a, "c1", "/b/p.json", "/b/e.pid", NULL);
	expect_argv(&a, (const char *[]){ G, "exec", "--process", "/b/p.json", "--detach", "--pid-file", "/b/e.pid",
					  "c1", NULL });
	shim_runtime_argv_pause(&rt, &a, "c1");
	expect_argv(&a, (const char *[]){ G, "pause", "c1", NULL });
	shim_runtime_argv_resume(&rt, &a, "c1");
	expect_argv(&a, (const char *[]){ G, "resume", "c1", NULL });
	shim_runtime_argv_update(&rt, &a, "c1");
	expect_argv(&a, (const char *[]){ G, "update", "--resources", "-", "c1", NULL });
	shim_runtime_argv_ps(&rt, &a, "c1");
	expect_argv(&a, (const char *[]){ G, "ps", "--format", "json", "c1", NULL });
#undef G
	rt.systemd_cgroup = true;
	shim_runtime_argv_start(&rt, &a, "c1");
	cr_expect_str_eq(a.v[7], "--systemd-cgroup");
}

Test(shim_runtime, binary_selection)
{
	struct shim_runtime_options opts = { .binary_name = "crun", .root = "/run/crun" };
	struct shim_runtime rt;
	struct shim_error err;
	char out[256];

	cr_assert_eq(init_rt(&rt, &opts, "k8s.io", "/b", "/nonexistent:/usr/bin:/bin", NULL, &err), 0, "%s", err.msg);
	cr_expect_str_eq(rt.binary, "/usr/bin/crun");
	cr_expect_str_eq(rt.root, "/run/crun/k8s.io");
	cr_expect_eq(shim_runtime_find_binary("/usr/bin/crun", NULL, out, sizeof(out), &err), 0);
	cr_expect_str_eq(out, "/usr/bin/crun");
	cr_expect_eq(shim_runtime_find_binary("crun-missing", "/usr/bin:/bin", out, sizeof(out), &err), -ENOENT);
	cr_expect_eq(err.code, TTRPC_CODE_FAILED_PRECONDITION);
	cr_expect_str_eq(err.msg, "runtime binary \"crun-missing\" not found in PATH /usr/bin:/bin");
	cr_expect_eq(shim_runtime_find_binary("/usr/bin/nope", NULL, out, sizeof(out), &err), -ENOENT);
	cr_expect(strstr(err.msg, "\"/usr/bin/nope\" not found") != NULL, "%s", err.msg);
	cr_expect_eq(shim_runtime_find_binary("bin/crun", NULL, out, sizeof(out), &err), -EINVAL);
	/* A directory or a non-executable file named like the runtime is skipped. */
	cr_expect_eq(shim_runtime_find_binary("tmp", "/", out, sizeof(out), &err), -ENOENT);
	cr_expect_eq(init_rt(&rt, NULL, "../x", "/b", NULL, NULL, &err), -EINVAL);
}

Test(shim_runtime, runtime_config_file)
{
	struct shim_runtime_options opts;
	struct shim_error err;
	char path[128];

	snprintf(path, sizeof(path), "%s/rt.json", dir);
	write_file(path, "{\"binary_name\": \"crun\", \"root\": \"/run/crun\", \"systemd_cgroup\": true}", 0644);
	cr_assert_eq(shim_runtime_config_load(path, &opts, &err), 0, "%s", err.msg);
	cr_expect_str_eq(opts.binary_name, "crun");
	cr_expect_str_eq(opts.root, "/run/crun");
	cr_expect(opts.systemd_cgroup);
	cr_expect_eq(opts.timeout_ms, 0);
	/* timeout_ms: the bound of every runtime command, saved for the delete action */
	write_file(path, "{\"binary_name\": \"runc\", \"timeout_ms\": 1500}", 0644);
	cr_assert_eq(shim_runtime_config_load(path, &opts, &err), 0, "%s", err.msg);
	cr_expect_eq(opts.timeout_ms, 1500);
	struct shim_runtime rt;
	cr_assert_eq(init_rt(&rt, &opts, "ns", dir, NULL, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(rt.timeout_ms, 1500);
	cr_assert_eq(shim_runtime_config_save(path, &opts, &err), 0, "%s", err.msg);
	opts.timeout_ms = 0;
	cr_assert_eq(shim_runtime_config_load(path, &opts, &err), 0, "%s", err.msg);
	cr_expect_eq(opts.timeout_ms, 1500);
	const char *bad[] = { "0", "-5", "600001", "\"10\"", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "{\"timeout_ms\": %s}", bad[i]);
		write_file(path, text, 0644);
		cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -EINVAL, "timeout_ms %s", bad[i]);
		cr_expect(strstr(err.msg, "\"timeout_ms\" must be an integer") != NULL, "%s", err.msg);
	}
	write_file(path, "{\"binary_name\": \"crun\", \"binaryname\": \"x\"}", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -EINVAL);
	cr_expect(strstr(err.msg, "unknown key \"binaryname\"") != NULL, "%s", err.msg);
	write_file(path, "{\"binary_name\": 5}", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -EINVAL);
	cr_expect(strstr(err.msg, "\"binary_name\" must be a string") != NULL, "%s", err.msg);
	write_file(path, "{\"root\": \"relative\"}", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -EINVAL);
	write_file(path, "{\"binary_name\": ", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -EINVAL);
	cr_expect(strstr(err.msg, "invalid JSON at line 1") != NULL, "%s", err.msg);
	cr_expect(strstr(err.msg, path) != NULL, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	cr_expect_eq(shim_runtime_config_load(path, &opts, &err), -ENOENT);
	cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
}

Test(shim_runtime, global_args_saved_loaded_and_placed_before_the_command)
{
	struct shim_runtime_options opts = { 0 }, back;
	struct shim_runtime rt;
	struct shim_argv a;
	struct shim_error err;
	char path[128];

	snprintf(path, sizeof(path), "%s/saved.json", dir);
	snprintf(opts.binary_name, sizeof(opts.binary_name), "runc");
	snprintf(opts.root, sizeof(opts.root), "/run/x");
	snprintf(opts.global_args[0], sizeof(opts.global_args[0]), "--debug");
	snprintf(opts.global_args[1], sizeof(opts.global_args[1]), "--cgroup-manager=disabled");
	opts.nglobal_args = 2;
	cr_assert_eq(shim_runtime_config_save(path, &opts, &err), 0, "%s", err.msg);
	cr_assert_eq(shim_runtime_config_load(path, &back, &err), 0, "%s", err.msg);
	cr_expect_str_eq(back.binary_name, "runc");
	cr_expect_str_eq(back.root, "/run/x");
	cr_assert_eq(back.nglobal_args, 2);
	cr_expect_str_eq(back.global_args[1], "--cgroup-manager=disabled");
	cr_assert_eq(init_rt(&rt, &back, "ns", dir, NULL, NULL, &err), 0, "%s", err.msg);
	shim_runtime_argv_start(&rt, &a, "c1");
	/* binary --root R --log L --log-format json --debug --cgroup-manager=disabled start c1 */
	cr_assert_eq(a.n, 11);
	cr_expect_str_eq(a.v[7], "--debug");
	cr_expect_str_eq(a.v[8], "--cgroup-manager=disabled");
	cr_expect_str_eq(a.v[9], "start");
	write_file(path, "{\"global_args\": [\"--debug\", 3]}", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &back, &err), -EINVAL);
	cr_expect(strstr(err.msg, "\"global_args\"[1]") != NULL, "%s", err.msg);
	write_file(path, "{\"global_args\": \"--debug\"}", 0644);
	cr_expect_eq(shim_runtime_config_load(path, &back, &err), -EINVAL);
}

Test(shim_runtime, real_runc_and_crun_errors_come_from_their_logs)
{
	static const char *const names[] = { "runc", "crun" };
	struct shim_runtime_options opts = { 0 };
	struct shim_runtime rt;
	struct shim_error err;
	char expected[128];

	for (size_t i = 0; i < 2; i++) {
		snprintf(opts.binary_name, sizeof(opts.binary_name), "%s", names[i]);
		snprintf(opts.root, sizeof(opts.root), "%s/root-%s", dir, names[i]);
		cr_assert_eq(init_rt(&rt, &opts, "ns", dir, NULL, NULL, &err), 0, "%s", err.msg);
		cr_expect_eq(shim_runtime_kill(&rt, "nothere", 9, false, &err), -EIO);
		cr_expect_eq(err.code, TTRPC_CODE_UNKNOWN);
		snprintf(expected, sizeof(expected), "OCI runtime kill failed: ");
		cr_expect(strncmp(err.msg, expected, strlen(expected)) == 0, "%s", err.msg);
		/* runc: "container does not exist"; crun: "error opening file `.../status`". */
		cr_expect(strstr(err.msg, "does not exist") || strstr(err.msg, "No such file"), "%s", err.msg);
	}
}

Test(shim_runtime, stdin_stdout_and_a_clean_signal_state)
{
	struct shim_run_io io = SHIM_RUN_IO_INIT;
	struct shim_runtime rt;
	struct shim_argv a;
	struct shim_error err;
	char out[4096];
	const char *ign;
	sigset_t chld;

	/* What the shim does: SIGCHLD blocked, SIGPIPE ignored. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	fake_runtime(&rt, "fakerun", "#!/bin/sh\necho \"$*\"\ngrep -E '^Sig(Blk|Ign)' /proc/self/status\ncat\n");
	shim_runtime_argv_update(&rt, &a, "c1");
	io.input = "{\"cpu\":{\"shares\":512}}";
	io.input_len = strlen(io.input);
	io.output = out;
	io.output_size = sizeof(out);
	cr_assert_eq(shim_runtime_run(&rt, &a, &io, &err), 0, "%s", err.msg);
	cr_expect_eq(io.output_len, strlen(out));
	cr_expect(strstr(out, "--log-format json update --resources - c1\n") != NULL, "%s", out);
	cr_expect(strstr(out, "SigBlk:\t0000000000000000\n") != NULL, "%s", out);
	/* SIGPIPE (bit 13) back to default; glibc's internal signals 32/33 may stay ignored. */
	ign = strstr(out, "SigIgn:\t");
	cr_assert_not_null(ign, "%s", out);
	cr_expect_eq(strtoull(ign + 8, NULL, 16) & (1ull << (SIGPIPE - 1)), 0, "%s", out);
	cr_expect(strstr(out, "{\"cpu\":{\"shares\":512}}") != NULL, "%s", out);
	io.output_size = 8;
	cr_expect_eq(shim_runtime_run(&rt, &a, &io, &err), -E2BIG);
}

Test(shim_runtime, ps_parses_pids)
{
	struct shim_runtime rt;
	struct shim_error err;
	pid_t *pids;
	size_t n;

	fake_runtime(&rt, "fakeps", "#!/bin/sh\necho '[1, 22, 333]'\n");
	cr_assert_eq(shim_runtime_ps(&rt, "c1", &pids, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 3);
	cr_expect_eq(pids[0], 1);
	cr_expect_eq(pids[2], 333);
	free(pids);
	fake_runtime(&rt, "fakeps2", "#!/bin/sh\necho 'not json'\n");
	cr_expect_eq(shim_runtime_ps(&rt, "c1", &pids, &n, &err), -EPROTO);
}

Test(shim_runtime, error_text_is_the_last_error_of_this_run)
{
	struct shim_runtime rt;
	struct shim_error err;
	char path[128];

	/* An old error from an earlier run is in the log; this run adds a warning and two errors. */
	snprintf(path, sizeof(path), "%s/log.json", dir);
	write_file(path, "{\"level\":\"error\",\"msg\":\"old failure\"}\n", 0644);
	fake_runtime(&rt, "fakefail",
		     "#!/bin/sh\nlog=$4\n"
		     "echo '{\"level\":\"warning\",\"msg\":\"careful\"}' >> $log\n"
		     "echo '{\"level\":\"error\",\"msg\":\"first\"}' >> $log\n"
		     "echo 'garbage line' >> $log\n"
		     "printf '%s\\n' '{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": not found\\n\"}' >> $log\n"
		     "echo 'stderr text' >&2\nexit 2\n");
	cr_expect_eq(shim_runtime_start(&rt, "c1", &err), -EIO);
	cr_expect_str_eq(err.msg, "OCI runtime start failed: exec: \"nope\": not found");
	/* Nothing in the log: stderr; nothing at all: the exit status. */
	fake_runtime(&rt, "fakefail2", "#!/bin/sh\necho 'usage: bad flag' >&2\nexit 1\n");
	cr_expect_eq(shim_runtime_pause(&rt, "c1", &err), -EIO);
	cr_expect_str_eq(err.msg, "OCI runtime pause failed: usage: bad flag");
	fake_runtime(&rt, "fakefail3", "#!/bin/sh\nexit 4\n");
	cr_expect_eq(shim_runtime_resume(&rt, "c1", &err), -EIO);
	cr_expect_str_eq(err.msg, "fakefail3 resume failed: exit status 4");
}

Test(shim_runtime, hung_runtime_is_killed_after_the_timeout)
{
	struct shim_runtime rt;
	struct shim_error err;

	fake_runtime(&rt, "fakehang", "#!/bin/sh\nexec sleep 30\n");
	rt.timeout_ms = 200;
	cr_expect_eq(shim_runtime_delete(&rt, "c1", true, &err), -ETIMEDOUT);
	cr_expect_eq(err.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	cr_expect(strstr(err.msg, "delete timed out after 200 ms") != NULL, "%s", err.msg);
	/* Killed and reaped: no child left. */
	cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_expect_eq(errno, ECHILD);
}

/* The real thing: runc create + start of a busybox container, its output, its exit
 * code through the reaper, then delete. */
Test(shim_runtime, runc_lifecycle_with_busybox, .timeout = 60)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *reaper = shim_reaper_new(loop, &err);
	struct shim_runtime_options opts = { 0 };
	struct shim_runtime rt;
	struct shim_exit e;
	char cmd[512], out[256] = "";
	pid_t pid, *pids;
	size_t npids;
	int fds[2];
	ssize_t n;

	cr_assert_not_null(reaper, "%s", err.msg);
	snprintf(
		cmd, sizeof(cmd),
		"set -e; cd %s; mkdir -p rootfs/bin; cp /bin/busybox rootfs/bin/; "
		"for t in sh echo sleep; do ln -s busybox rootfs/bin/$t; done; runc spec; "
		"sed -i 's/\"terminal\": true/\"terminal\": false/; s/\"sh\"$/\"sh\", \"-c\", \"echo hi; sleep 0.3; exit 3\"/' config.json",
		dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(opts.root, sizeof(opts.root), "%s/state", dir);
	cr_assert_eq(init_rt(&rt, &opts, "test", dir, NULL, reaper, &err), 0, "%s", err.msg);
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	cr_assert_eq(shim_runtime_create(&rt, "bb1", dir, NULL, -1, fds[1], fds[1], &pid, &err), 0, "%s", err.msg);
	close(fds[1]);
	cr_assert_gt(pid, 1);
	cr_assert_eq(shim_runtime_create(&rt, "bb1", dir, NULL, -1, -1, -1, &pid, &err), -EIO);
	cr_expect(strstr(err.msg, "runc create failed: ") && strstr(err.msg, "exist"), "%s", err.msg);
	cr_assert_eq(shim_runtime_ps(&rt, "bb1", &pids, &npids, &err), 0, "%s", err.msg);
	cr_expect_eq(npids, 1);
	cr_expect_eq(pids[0], pid);
	free(pids);
	cr_assert_eq(shim_runtime_start(&rt, "bb1", &err), 0, "%s", err.msg);
	n = read(fds[0], out, sizeof(out) - 1);
	cr_expect_eq(n, 3);
	cr_expect_str_eq(out, "hi\n");
	/* The init is ours: runc exited and it was re-parented to the subreaper. */
	cr_assert_eq(shim_reaper_wait(reaper, pid, 10000, &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.status, 3);
	cr_assert_eq(shim_runtime_delete(&rt, "bb1", false, &err), 0, "%s", err.msg);
	cr_expect_eq(shim_runtime_delete(&rt, "bb1", false, &err), -EIO);
	close(fds[0]);
	shim_reaper_free(reaper);
	ev_loop_destroy(loop);
}
