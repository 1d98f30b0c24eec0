/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime-command object (shim/cmd.c) against fake runtimes (shell
 * scripts) that succeed, fail, hang past their timeout and die, on a real
 * loop with the shim's reaper. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim/cmd.h"
#include "shim/reaper.h"

static char dir[64];
static struct ev_loop *loop;
static struct shim_reaper *reaper;

static void setup(void)
{
	struct shim_error err;

	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/shim-cmd-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	reaper = shim_reaper_new(loop, &err);
	cr_assert_not_null(reaper, "%s", err.msg);
}

/* Runtimes made by a test, released at teardown (a failed assertion ends the
 * test early; LeakSanitizer counts what is left). */
static char *rt_blocks[16];
static size_t rt_nblocks;

static int init_rt(struct shim_runtime *rt, const struct shim_runtime_options *opts, const char *ns, const char *bundle,
		   const char *path_env, struct shim_reaper *rp, struct shim_error *err)
{
	int rc = shim_runtime_init(rt, opts, ns, bundle, path_env, rp, err);
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
	shim_reaper_free(reaper);
	ev_loop_destroy(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_cmd, .init = setup, .fini = teardown, .timeout = 60);

/* A fake runtime at <dir>/bin/<name> running script. */
static void fake_runtime(struct shim_runtime *rt, const char *name, const char *script)
{
	char bin[128], path[160];
	struct shim_runtime_options opts = { 0 };
	struct shim_error err;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	mkdir(bin, 0755);
	snprintf(path, sizeof(path), "%s/%s", bin, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", script);
	fclose(f);
	chmod(path, 0755);
	snprintf(opts.binary_name, sizeof(opts.binary_name), "%s", name);
	snprintf(opts.root, sizeof(opts.root), "%s/root", dir);
	cr_assert_eq(init_rt(rt, &opts, "ns1", dir, bin, reaper, &err), 0, "%s", err.msg);
}

struct outcome {
	int calls;
	int order; /* 1 = first to finish */
	struct shim_cmd_result res;
	char output[256];
	char msg[SHIM_ERROR_MSG_MAX];
	double at; /* seconds since start */
};

static int finished;
static double t0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void done(struct shim_cmd *cmd, const struct shim_cmd_result *res, void *data)
{
	struct outcome *o = data;

	(void)cmd;
	o->calls++;
	o->order = ++finished;
	o->res = *res;
	o->at = now_s() - t0;
	snprintf(o->output, sizeof(o->output), "%s", res->output);
	snprintf(o->msg, sizeof(o->msg), "%s", res->err.msg);
	o->res.output = NULL;
}

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

/* Run the loop until n commands finished (or 20 s passed: a failure). */
static void run_until(int n)
{
	ev_timer guard;

	ev_timer_init(&guard, on_guard, 20., 0.);
	ev_timer_start(loop, &guard);
	while (finished < n && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	cr_assert_eq(finished, n, "only %d of %d commands finished within 20 s", finished, n);
}

static struct shim_cmd *start(struct shim_runtime *rt, const struct shim_argv *a, const struct shim_cmd_opts *opts,
			      struct outcome *o)
{
	struct shim_error err = { 0 };
	struct shim_cmd *c = shim_cmd_start(rt, loop, a, opts, done, o, &err);

	cr_assert_not_null(c, "%s", err.msg);
	/* never from inside start */
	cr_assert_eq(o->calls, 0);
	return c;
}

Test(shim_cmd, success_captures_stdout_and_reports_once)
{
	struct shim_runtime rt;
	struct shim_cmd_opts opts = SHIM_CMD_OPTS_INIT;
	struct shim_argv a;
	struct outcome o = { 0 };

	fake_runtime(&rt, "fake", "shift 6; echo \"[$*]\"");
	opts.output_max = 200;
	shim_runtime_argv_ps(&rt, &a, "c1");
	t0 = now_s();
	start(&rt, &a, &opts, &o);
	run_until(1);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.res.rc, 0, "%s", o.msg);
	cr_expect_eq(o.res.status, 0);
	cr_expect_gt(o.res.pid, 0);
	cr_expect_str_eq(o.output, "[ps --format json c1]\n");
	cr_expect_not(o.res.timed_out);
}

Test(shim_cmd, input_is_fed_to_stdin)
{
	struct shim_runtime rt;
	struct shim_cmd_opts opts = SHIM_CMD_OPTS_INIT;
	struct shim_argv a;
	struct outcome o = { 0 };
	static const char json[] = "{\"cpu\":{\"shares\":512}}";

	fake_runtime(&rt, "fake", "exec cat");
	opts.input = json;
	opts.input_len = strlen(json);
	opts.output_max = 200;
	shim_runtime_argv_update(&rt, &a, "c1");
	start(&rt, &a, &opts, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, 0, "%s", o.msg);
	cr_expect_str_eq(o.output, json);
}

Test(shim_cmd, failure_carries_status_and_stderr)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };

	fake_runtime(&rt, "fake", "echo 'container c1 does not exist' >&2; exit 3");
	shim_runtime_argv_kill(&rt, &a, "c1", 9, false);
	start(&rt, &a, NULL, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, -EIO);
	cr_expect_eq(o.res.status, 3);
	cr_expect_eq(o.res.err.code, TTRPC_CODE_UNKNOWN);
	cr_expect_str_eq(o.msg, "OCI runtime kill failed: container c1 does not exist");
}

Test(shim_cmd, failure_text_is_the_last_error_in_log_json)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };

	/* argv: --root R --log L --log-format json ...; $4 is log.json */
	fake_runtime(&rt, "fake",
		     "echo '{\"level\":\"warning\",\"msg\":\"w\"}' >> \"$4\"\n"
		     "echo '{\"level\":\"error\",\"msg\":\"cgroup: permission denied\"}' >> \"$4\"\n"
		     "echo 'noise' >&2; exit 1");
	shim_runtime_argv_pause(&rt, &a, "c1");
	start(&rt, &a, NULL, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, -EIO);
	cr_expect_str_eq(o.msg, "OCI runtime pause failed: cgroup: permission denied");
}

Test(shim_cmd, a_runtime_that_dies_is_reported_with_its_signal)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };

	fake_runtime(&rt, "fake", "kill -KILL $$");
	shim_runtime_argv_start(&rt, &a, "c1");
	start(&rt, &a, NULL, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, -EIO);
	cr_expect_eq(o.res.status, 137);
	cr_expect_not(o.res.timed_out);
	cr_expect_str_eq(o.msg, "fake start failed: exit status 137");
}

Test(shim_cmd, a_hung_runtime_is_killed_at_its_timeout)
{
	struct shim_runtime rt;
	struct shim_cmd_opts opts = SHIM_CMD_OPTS_INIT;
	struct shim_argv a;
	struct outcome o = { 0 };
	struct shim_cmd *c;

	fake_runtime(&rt, "fake", "exec sleep 100");
	opts.timeout_ms = 300;
	shim_runtime_argv_delete(&rt, &a, "c1", true);
	t0 = now_s();
	c = start(&rt, &a, &opts, &o);
	cr_expect_str_eq(shim_cmd_name(c), "delete");
	run_until(1);
	cr_expect_eq(o.res.rc, -ETIMEDOUT);
	cr_expect_eq(o.res.err.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	cr_expect(o.res.timed_out);
	cr_expect_eq(o.res.status, 137, "killed by SIGKILL, reaped: %d", o.res.status);
	cr_expect_geq(o.at, 0.29, "finished after %.3f s, before its timeout", o.at);
	cr_expect_lt(o.at, 10.0, "finished after %.3f s", o.at);
	cr_expect(strstr(o.msg, "delete timed out after 300 ms (killed)") != NULL, "%s", o.msg);
	/* reaped: no zombie left with that pid */
	cr_expect_eq(kill(o.res.pid, 0), -1);
}

/* The runtime's default timeout applies when the run sets none. */
Test(shim_cmd, the_runtime_timeout_is_the_default)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };

	fake_runtime(&rt, "fake", "exec sleep 100");
	rt.timeout_ms = 200;
	shim_runtime_argv_resume(&rt, &a, "c1");
	start(&rt, &a, NULL, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, -ETIMEDOUT, "%s", o.msg);
}

/* Two runs at once: the slow one does not hold up the quick one. */
Test(shim_cmd, runs_proceed_concurrently)
{
	struct shim_runtime rt;
	struct shim_argv slow_a, quick_a;
	struct outcome slow = { 0 }, quick = { 0 };

	fake_runtime(&rt, "fake", "case \"$7\" in create) exec sleep 2;; esac; exit 0");
	shim_runtime_argv_create(&rt, &slow_a, "slow", dir, "/nonexistent/pid", NULL);
	shim_runtime_argv_start(&rt, &quick_a, "quick");
	t0 = now_s();
	start(&rt, &slow_a, NULL, &slow);
	start(&rt, &quick_a, NULL, &quick);
	run_until(2);
	cr_expect_eq(quick.order, 1);
	cr_expect_eq(slow.order, 2);
	cr_expect_lt(quick.at, 1.5, "the quick run took %.3f s next to a slow one", quick.at);
	cr_expect_geq(slow.at, 1.9);
	cr_expect_eq(slow.res.rc, 0, "%s", slow.msg);
	cr_expect_eq(quick.res.rc, 0, "%s", quick.msg);
}

Test(shim_cmd, output_past_its_bound_is_an_error)
{
	struct shim_runtime rt;
	struct shim_cmd_opts opts = SHIM_CMD_OPTS_INIT;
	struct shim_argv a;
	struct outcome o = { 0 };

	fake_runtime(&rt, "fake", "i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done");
	opts.output_max = 64;
	shim_runtime_argv_ps(&rt, &a, "c1");
	start(&rt, &a, &opts, &o);
	run_until(1);
	cr_expect_eq(o.res.rc, -E2BIG);
	cr_expect_eq(o.res.err.code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_expect_eq(o.res.status, 0);
}

/* A binary that cannot be spawned fails at start, with no callback. */
Test(shim_cmd, spawn_failure_is_immediate)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };
	struct shim_error err = { 0 };
	char missing[128];

	fake_runtime(&rt, "fake", "exit 0");
	snprintf(missing, sizeof(missing), "%s/bin/missing", dir);
	rt.binary = missing;
	shim_runtime_argv_start(&rt, &a, "c1");
	cr_expect_null(shim_cmd_start(&rt, loop, &a, NULL, done, &o, &err));
	cr_expect_neq(err.code, TTRPC_CODE_OK);
	cr_expect(strstr(err.msg, "missing") != NULL, "%s", err.msg);
	cr_expect_eq(o.calls, 0);
}

struct seen {
	pid_t pid;
	bool reaped;
};

static void on_check(struct ev_loop *l, ev_timer *w, int revents)
{
	struct seen *s = w->data;
	struct shim_exit e;

	(void)revents;
	if (shim_reaper_take(reaper, s->pid, &e)) {
		s->reaped = true;
		ev_timer_stop(l, w);
		ev_break(l, EVBREAK_ALL);
	}
}

/* Abort kills the run and frees it; no callback; its exit is reaped by the
 * loop as an unclaimed record. */
Test(shim_cmd, abort_kills_without_a_callback)
{
	struct shim_runtime rt;
	struct shim_argv a;
	struct outcome o = { 0 };
	struct shim_cmd *c;
	struct seen s = { 0 };
	ev_timer check, guard;

	fake_runtime(&rt, "fake", "exec sleep 100");
	shim_runtime_argv_start(&rt, &a, "c1");
	c = start(&rt, &a, NULL, &o);
	s.pid = shim_cmd_pid(c);
	cr_assert_gt(s.pid, 0);
	shim_cmd_abort(c);
	ev_timer_init(&check, on_check, 0.01, 0.01);
	check.data = &s;
	ev_timer_start(loop, &check);
	ev_timer_init(&guard, on_guard, 20., 0.);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &check);
	ev_timer_stop(loop, &guard);
	cr_expect(s.reaped, "the aborted run was not killed and reaped");
	cr_expect_eq(o.calls, 0);
}
