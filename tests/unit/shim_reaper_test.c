/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim/reaper.h"

TestSuite(shim_reaper, .timeout = 60);

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

/* A child that exits at once. Nothing reaps it before the loop runs (the
 * reaper reaps only from its signalfd callback), so a watch registered right
 * after the fork is always in place first. */
static pid_t child_exiting(int code)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(code);
	return pid;
}

#define WAIT_MS 30000 /* a failure bound only: passing tests never wait for it */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Run the loop until cond; a ticking timer wakes EVRUN_ONCE so the deadline is
 * checked even when nothing happens. */
#define RUN_UNTIL(loop, cond)                                                                 \
	do {                                                                                  \
		int64_t deadline_ = now_ms() + WAIT_MS;                                       \
		ev_timer tick_;                                                               \
		ev_timer_init(&tick_, on_tick, 0.01, 0.01);                                   \
		ev_timer_start(loop, &tick_);                                                 \
		while (!(cond)) {                                                             \
			cr_assert_lt(now_ms(), deadline_, "timed out waiting for %s", #cond); \
			ev_run(loop, EVRUN_ONCE);                                             \
		}                                                                             \
		ev_timer_stop(loop, &tick_);                                                  \
	} while (0)

/* Wait (bounded) until pid has exited, without reaping it: a pidfd polls
 * readable once the process is a zombie. */
static void wait_exited_unreaped(pid_t pid)
{
	struct pollfd p = { .events = POLLIN };

	p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(p.fd, 0, "pidfd_open %d", (int)pid);
	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "pid %d did not exit", (int)pid);
	close(p.fd);
	cr_assert_eq(waitid(P_PID, (id_t)pid, &(siginfo_t){ 0 }, WEXITED | WNOHANG | WNOWAIT), 0);
}

/* The parent pid of pid, from /proc. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')'); /* after the command name, which may hold anything */
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p + 1, " %*c %d", &ppid), 1);
	return ppid;
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
	pids[0] = child_exiting(0);
	pids[1] = child_exiting(3);
	pids[2] = fork();
	if (pids[2] == 0) {
		pause();
		_exit(0);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shim_reaper_watch(r, pids[i], on_exit_, &seen[i], NULL), 0);
	kill(pids[2], SIGTERM);
	RUN_UNTIL(loop, (calls = total_calls(seen, 3)) >= 3);
	cr_expect_eq(calls, 3);
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
	int fds[2], release[2];
	pid_t pid, grandchild;
	char go = 'x';

	cr_assert_not_null(r, "%s", err.msg);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(pipe(release), 0);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();

		if (g == 0) {
			/* outlive the parent (re-parented to the subreaper) until released */
			if (read(release[0], &go, 1) != 1)
				_exit(1);
			_exit(7);
		}
		if (write(fds[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(read(fds[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &middle, NULL), 0);
	RUN_UNTIL(loop, middle.calls >= 1);
	cr_expect_eq(middle.exit.status, 0);
	cr_expect_eq(parent_of(grandchild), getpid(), "the orphan was not re-parented to the subreaper");
	cr_assert_eq(shim_reaper_watch(r, grandchild, on_exit_, &orphan, &e), 0);
	cr_assert_eq(write(release[1], &go, 1), 1);
	RUN_UNTIL(loop, orphan.calls >= 1);
	cr_expect_eq(orphan.calls, 1);
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
	pid_t pid = child_exiting(9);

	cr_assert_not_null(r);
	wait_exited_unreaped(pid);
	cr_assert_eq(shim_reaper_reap(r), 1);
	cr_expect_eq(shim_reaper_watch(r, pid, on_exit_, &s, &e), 1);
	cr_expect_eq(e.pid, pid);
	cr_expect_eq(e.status, 9);
	/* Claimed once: a second look finds nothing. */
	cr_expect_not(shim_reaper_take(r, pid, &e));
	cr_expect_eq(s.calls, 0);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}

/* An exit nobody claimed within the record TTL is forgotten: a later watch
 * of the same pid (which the kernel may have reused) waits for a new exit. */
Test(shim_reaper, unclaimed_exits_expire)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_error err;
	struct shim_reaper *r = shim_reaper_new(loop, &err);
	struct seen s = { 0 };
	struct shim_exit e;
	pid_t young = child_exiting(4), old = child_exiting(5);
	int64_t until;

	cr_assert_not_null(r);
	shim_reaper_set_record_ttl(r, 1000);
	wait_exited_unreaped(old);
	wait_exited_unreaped(young);
	cr_assert_eq(shim_reaper_reap(r), 2);
	/* within the TTL it is there */
	cr_expect(shim_reaper_take(r, young, &e));
	cr_expect_eq(e.status, 4);
	until = now_ms() + 1200;
	RUN_UNTIL(loop, now_ms() >= until);
	cr_expect_not(shim_reaper_take(r, old, &e), "an exit older than the TTL was still claimable");
	cr_expect_eq(shim_reaper_watch(r, old, on_exit_, &s, &e), 0, "the watch matched an expired exit");
	shim_reaper_unwatch(r, old, on_exit_, &s);
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
	pid_t pid = child_exiting(1);

	cr_assert_not_null(r);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &a, NULL), 0);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &b, NULL), 0);
	cr_assert_eq(shim_reaper_watch(r, pid, on_exit_, &c, NULL), 0);
	shim_reaper_unwatch(r, pid, on_exit_, &b);
	RUN_UNTIL(loop, a.calls >= 1);
	cr_expect_eq(a.calls, 1);
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
	other = child_exiting(5); /* a container exiting while runc runs */
	runtime = fork();	  /* "runc" */
	cr_assert_geq(runtime, 0);
	if (runtime == 0) {
		/* The behaviour under test: a runtime still running when the wait
		 * starts (if it is done sooner, the wait is still right, only shorter). */
		usleep(50 * 1000);
		_exit(2);
	}
	wait_exited_unreaped(other);
	cr_assert_eq(shim_reaper_watch(r, other, on_exit_, &other_seen, NULL), 0);
	cr_assert_eq(shim_reaper_wait(r, runtime, 5000, &e, &err), 0, "%s", err.msg);
	cr_expect_eq(e.pid, runtime);
	cr_expect_eq(e.status, 2);
	/* The container's exit was left for the loop. */
	cr_expect_eq(other_seen.calls, 0);
	RUN_UNTIL(loop, other_seen.calls >= 1);
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
		cr_assert_eq(shim_reaper_watch(r, child_exiting(i), on_exit_, &seen[i], NULL), 0);
	RUN_UNTIL(loop, (calls = total_calls(seen, 100)) >= 100);
	cr_expect_eq(calls, 100);
	for (int i = 0; i < 100; i++)
		cr_expect_eq(seen[i].exit.status, i);
	cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
	shim_reaper_free(r);
	ev_loop_destroy(loop);
}
