/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim/reaper.h"

struct seen {
	int calls;
	struct shim_exit exit;
};

static void on_exit_(const struct shim_exit *e, void *data)
{
	struct seen *s = data;

	s->calls++;
	s->exit = *e;
}

static pid_t child_exiting(int code, unsigned delay_ms)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		usleep(delay_ms * 1000);
		_exit(code);
	}
	return pid;
}

/* Run the loop until done() or 5 s. */
static void run_until(struct ev_loop *loop, int *counter, int want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*counter < want) {
		ev_run(loop, EVRUN_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert_lt(t.tv_sec - t0.tv_sec, 5, "timed out");
	}
}

static int total_calls(struct seen *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += s[i].calls;
	return c;
}

Test(shim_reaper, exit_codes_and_signals)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct seen seen[3] = { 0 };
	struct timespec before;
	pid_t pids[3];
	int calls = 0;

	cr_assert_not_null(r, "%s", err.msg);
	clock_gettime(CLOCK_REALTIME, &before);
	pids[0] = child_exiting(0, 10);
	pids[1] = child_exiting(3, 20);
	pids[2] = fork();
	if (pids[2] == 0) {
		pause();
		_exit(0);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shim_reaper_watch(r, pids[i], on_exit_, &seen[i], NULL), 0);
	kill(pids[2], SIGTERM);
	while (calls < 3) {
		ev_run(loop, EVRUN_ONCE);
		calls = total_calls(seen, 3);
	}
	cr_expect_eq(seen[0].exit.status, 0);
	cr_expect_eq(seen[1].exit.status, 3);
	cr_expect_eq(seen[2].exit.status, 143);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(seen[i].calls, 1);
		cr_expect_eq(seen[i].exit.pid, pids[i]);
		cr_expect_geq(seen[i].exit.at.tv_sec, before.tv_sec);
	}
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

Test(shim_reaper, orphans_are_reparented_and_reaped)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct shim_exit e;
	struct seen middle = { 0 }, orphan = { 0 };
	int fds[2];
	pid_t pid, grandchild;

	cr_assert_not_null(r, "%s", err.msg);
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();

		if (g == 0) {
			usleep(200 * 1000); /* outlive the parent: re-parented to the subreaper */
			_exit(7);
		}
		if (write(fds[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(read(fds[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &middle, NULL), 0);
	run_until(loop, &middle.calls, 1);
	/* Normally still running; if it already went, the record has it. */
	if (shim_reaper_watch(r, grandchild, on_exit_, &orphan, &e) == 1)
		on_exit_(&e, &orphan);
	run_until(loop, &orphan.calls, 1);
	cr_expect_eq(orphan.exit.status, 7);
	cr_expect_eq(orphan.exit.pid, grandchild);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

Test(shim_reaper, exit_before_watch_is_not_lost)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct seen s = { 0 };
	struct shim_exit e;
	pid_t pid = child_exiting(9, 0);
	int reaped = 0;

	cr_assert_not_null(r);
	while (!reaped)
		reaped = shim_reaper_reap(r);
	cr_expect_eq(shim_reaper_watch(r, pid, on_exit_, &s, &e), 1);
	cr_expect_eq(e.pid, pid);
	cr_expect_eq(e.status, 9);
	/* Claimed once: a second look finds nothing. */
	cr_expect_not(shim_reaper_take(r, pid, &e));
	cr_expect_eq(s.calls, 0);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

Test(shim_reaper, several_watches_and_unwatch)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	pid_t pid = child_exiting(1, 30);

	cr_assert_not_null(r);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &a, NULL), 0);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &b, NULL), 0);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &c, NULL), 0);
	shim_reaper_unwatch(r, pid, on_exit_, &b);
	run_until(loop, &a.calls, 1);
	cr_expect_eq(c.calls, 1);
	cr_expect_eq(b.calls, 0);
	/* Watches are one-shot: nothing left, nothing recorded. */
	cr_expect_not(shim_reaper_take(r, pid, NULL));
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

Test(shim_reaper, sync_wait_takes_only_its_pid)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct seen other_seen = { 0 };
	struct shim_exit e;
	pid_t other, runtime, sleeper;

	cr_assert_not_null(r);
	other = child_exiting(5, 0);	/* a container exiting while runc runs */
	runtime = child_exiting(2, 50); /* "runc" */
	usleep(20 * 1000);
	cr_assert_eq(shim_reaper_watch(r, other, on_exit_, &other_seen, NULL), 0);
	cr_assert_eq(shim_reaper_wait(r, runtime, 5000, &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.pid, runtime);
	cr_expect_eq(e.status, 2);
	/* The container's exit was left for the loop. */
	cr_expect_eq(other_seen.calls, 0);
	run_until(loop, &other_seen.calls, 1);
	cr_expect_eq(other_seen.exit.status, 5);

	sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	cr_expect_eq(shim_reaper_wait(r, sleeper, 50, &e, &err), -ETIMEDOUT);
	cr_expect_eq(err.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	kill(sleeper, SIGKILL);
	cr_expect_eq(shim_reaper_wait(NULL, sleeper, -1, &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.status, 137);
	cr_expect_eq(shim_reaper_wait(r, sleeper, 10, &e, &err), -ECHILD);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

Test(shim_reaper, refuses_the_default_loop)
{
	struct shim_error err;

	cr_expect_null(shim_reaper_new(ev_default_loop(0), &err));
	cr_expect(strstr(err.msg, "ev_loop_new") != NULL, "%s", err.msg);
}

Test(shim_reaper, many_exits_are_all_reaped)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	static struct seen seen[100];
	int calls = 0;

	cr_assert_not_null(r);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(shim_reaper_watch(r, child_exiting(i, 0), on_exit_, &seen[i], NULL), 0);
	while (calls < 100) {
		ev_run(loop, EVRUN_ONCE);
		calls = total_calls(seen, 100);
	}
	for (int i = 0; i < 100; i++)
		cr_expect_eq(seen[i].exit.status, i);
	cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}
