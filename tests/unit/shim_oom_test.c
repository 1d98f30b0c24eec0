/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 OOM path (inotify on memory.events) against a fake cgroup
 * directory: this host's v2 hierarchy has no memory controller, and the v1
 * eventfd path is covered by the e2e oom scenario. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim/oom.h"

static char dir[64], events[96];
static struct ev_loop *loop;
static int fds_before;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the one opendir holds */
}

/* What the kernel writes: every key, oom_kill among them. */
static void write_events(unsigned max, unsigned oom, unsigned kills)
{
	char buf[128];
	int fd = open(events, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "low 0\nhigh 0\nmax %u\noom %u\noom_kill %u\noom_group_kill 0\n", max, oom,
			 kills);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, (size_t)n), n);
	close(fd);
}

static void setup(void)
{
	int fd;

	strcpy(dir, "/tmp/shim-oom-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(events, sizeof(events), "%s/memory.events", dir);
	fd = open(events, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	fds_before = count_fds();
}

static void teardown(void)
{
	char cmd[128];

	ev_loop_destroy(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	/* cleanup: what fails in .fini cannot fail the test, so only say it */
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_oom, .init = setup, .fini = teardown, .timeout = 60);

/* In the test itself: what fails in .fini does not fail the test. */
static void expect_no_fd_leak(void)
{
	int now = count_fds();

	cr_expect_eq(now, fds_before, "fds leaked: %d before the watch, %d after its free", fds_before, now);
}

static void on_oom(void *data)
{
	(*(int *)data)++;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The write queued its inotify event before it returned, so one pass of the
 * loop that polls without waiting handles it: nothing to wait for. */
static void settle(void)
{
	ev_run(loop, EVRUN_NOWAIT);
}

/* Run the loop until *count reaches want (30 s: a failure bound only). */
static void wait_count(int *count, int want)
{
	double deadline = mono_s() + 30;

	while (*count < want) {
		cr_assert_lt(mono_s(), deadline, "timed out: %d OOM callbacks, want %d", *count, want);
		ev_run(loop, EVRUN_NOWAIT);
		if (*count < want)
			ev_run(loop, EVRUN_ONCE); /* the inotify fd wakes it */
	}
}

/* Run the loop until it has no active watcher left (30 s: a failure bound). */
static void wait_no_watchers(void)
{
	double deadline = mono_s() + 30;

	while (ev_run(loop, EVRUN_NOWAIT))
		cr_assert_lt(mono_s(), deadline, "a watcher is still active after the cgroup went");
}

Test(shim_oom, one_callback_per_oom_kill_and_none_for_other_changes)
{
	struct shim_oom *o;
	struct shim_error err;
	int count = 0;

	/* Kills from before the watch started are not reported. */
	write_events(0, 1, 2);
	cr_assert_eq(shim_oom_watch_dir(loop, dir, 1, on_oom, &count, &o, &err), 0, "%s", err.msg);
	settle();
	cr_expect_eq(count, 0, "kills from before the watch were reported");

	write_events(0, 2, 3);
	wait_count(&count, 1);
	settle();
	cr_expect_eq(count, 1);

	/* memory.events changes without a kill (max, oom): no callback. */
	write_events(5, 2, 3);
	settle();
	write_events(6, 3, 3);
	settle();
	cr_expect_eq(count, 1, "callback without an OOM kill");

	/* Two kills between two looks: two callbacks. */
	write_events(6, 4, 5);
	wait_count(&count, 3);
	settle();
	cr_expect_eq(count, 3);
	shim_oom_free(o);
	expect_no_fd_leak();
}

Test(shim_oom, stops_when_the_cgroup_goes_and_frees_cleanly)
{
	struct shim_oom *o;
	struct shim_error err;
	int count = 0;

	write_events(0, 0, 0);
	cr_assert_eq(shim_oom_watch_dir(loop, dir, 1, on_oom, &count, &o, &err), 0, "%s", err.msg);
	cr_expect_gt(count_fds(), fds_before, "no inotify fd while watching?");
	write_events(0, 1, 1);
	wait_count(&count, 1);
	/* The cgroup is removed: the watch goes (IN_IGNORED), the loop has
	 * nothing left to wait for, and no callback comes. */
	cr_assert_eq(unlink(events), 0);
	wait_no_watchers();
	cr_expect_eq(count, 1);
	shim_oom_free(o);
	expect_no_fd_leak();
}

Test(shim_oom, free_while_watching_releases_the_fd)
{
	struct shim_oom *o;
	struct shim_error err;
	int count = 0;

	write_events(0, 0, 0);
	cr_assert_eq(shim_oom_watch_dir(loop, dir, 1, on_oom, &count, &o, &err), 0, "%s", err.msg);
	shim_oom_free(o);
	/* A kill after the free reaches nobody (and the loop has nothing to watch). */
	write_events(0, 1, 1);
	cr_expect_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	cr_expect_eq(count, 0);
	expect_no_fd_leak();
	shim_oom_free(NULL);
}

Test(shim_oom, unwatchable_directory_is_not_found)
{
	struct shim_oom *o = (struct shim_oom *)1;
	struct shim_error err;
	int count = 0;

	cr_assert_eq(unlink(events), 0);
	cr_expect_lt(shim_oom_watch_dir(loop, dir, 1, on_oom, &count, &o, &err), 0);
	cr_expect_eq(err.code, TTRPC_CODE_NOT_FOUND);
	cr_expect_null(o);
	cr_expect(strstr(err.msg, "memory.events") != NULL, "%s", err.msg);
	cr_expect_lt(shim_oom_watch_dir(loop, dir, 0, on_oom, &count, &o, &err), 0);
	cr_expect_eq(err.code, TTRPC_CODE_NOT_FOUND);
	cr_expect(strstr(err.msg, "memory.oom_control") != NULL, "%s", err.msg);
	expect_no_fd_leak(); /* the inotify or eventfd of the failed watch is closed */
}
