/* SPDX-License-Identifier: Apache-2.0 */
/* A test server with a set of methods, shared by the loopback and raw-frame
 * suites. Header-only: each suite includes it once. */
#ifndef TTRPC_TEST_FIXTURE_H
#define TTRPC_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FIXTURE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIXTURE_LSAN 1
#endif
#endif
#ifdef FIXTURE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include <ttrpc/ttrpc.h>

#define SVC "test.v1.Test"

struct fixture {
	struct ev_loop *loop;
	ttrpc_server *server;
	char dir[64];
	char path[128];
	int orphaned;	      /* on_orphan hooks that ran */
	ttrpc_call *held[16]; /* calls of "Never", answered at teardown */
	int n_held;
	int later_started;     /* "Later" calls that reached the handler */
	int64_t last_deadline; /* deadline seen by "Deadline" */
	ev_timer tick;	       /* wakes the loop so run_until can time out */
	pid_t child;	       /* a forked server not yet stopped, or 0 */
};

static struct fixture fx;

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	ttrpc_call_respond(call, req, len);
}

/* Request: one byte code, then the message text. */
static void fail(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	if (len < 1) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "empty");
		return;
	}
	ttrpc_call_respond_error(call, req[0], "%.*s", (int)len - 1, (const char *)req + 1);
}

static void metadata(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	char out[1024] = "";
	const ttrpc_md *md = ttrpc_call_metadata(call);
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s=%s\n", k, v);
	}
	ttrpc_call_respond(call, (const uint8_t *)out, strlen(out));
}

struct later {
	ev_timer timer;
	ttrpc_call *call;
	uint8_t payload[64];
	size_t len;
};

static void later_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct later *l = (struct later *)w;
	ttrpc_call_respond(l->call, l->payload, l->len);
	free(l);
}

/* Request: decimal milliseconds, optionally ":tag"; answers the request after
 * that long, from a timer (the handler returns at once). */
static void later(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	fx.later_started++;
	struct later *l = calloc(1, sizeof(*l));
	l->call = call;
	l->len = len < sizeof(l->payload) ? len : sizeof(l->payload);
	memcpy(l->payload, req, l->len);
	char text[64] = "";
	memcpy(text, req, l->len < sizeof(text) - 1 ? l->len : sizeof(text) - 1);
	ev_timer_init(&l->timer, later_fire, atof(text) / 1000.0, 0.);
	ev_timer_start(fx.loop, &l->timer);
}

static void deadline(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	fx.last_deadline = ttrpc_call_deadline_ns(call);
	char text[64];
	int64_t left = fx.last_deadline ? fx.last_deadline - ttrpc_now_ns() : -1;
	snprintf(text, sizeof(text), "%lld", (long long)left);
	ttrpc_call_respond(call, (const uint8_t *)text, strlen(text));
}

static void on_orphan(ttrpc_call *call, void *user)
{
	(void)call;
	(void)user;
	fx.orphaned++;
}

static void never(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	cr_assert_lt(fx.n_held, 16);
	ttrpc_call_on_orphan(call, on_orphan, NULL);
	fx.held[fx.n_held++] = call;
}

static void big(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	uint8_t *p = calloc(1, TTRPC_MAX_MESSAGE_SIZE);
	ttrpc_call_respond(call, p, TTRPC_MAX_MESSAGE_SIZE);
	free(p);
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void fixture_start(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	ev_timer_init(&fx.tick, tick, 0.01, 0.01);
	ev_timer_start(fx.loop, &fx.tick);
	strcpy(fx.dir, "/tmp/ttrpc-test-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/s.sock", fx.dir);
	fx.server = ttrpc_server_new(fx.loop);
	cr_assert_not_null(fx.server);
	struct {
		const char *name;
		ttrpc_handler_fn fn;
	} methods[] = { { "Echo", echo },   { "Fail", fail },	      { "Metadata", metadata },
			{ "Later", later }, { "Deadline", deadline }, { "Never", never },
			{ "Big", big } };
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		cr_assert_eq(ttrpc_server_register(fx.server, SVC, methods[i].name, methods[i].fn, NULL), 0);
	cr_assert_eq(ttrpc_server_register(fx.server, SVC, "Echo", echo, NULL), TTRPC_EEXIST);
	cr_assert_eq(ttrpc_server_listen(fx.server, fx.path), 0);
}

static void fixture_stop(void)
{
	if (fx.child > 0) { /* a test failed before stopping its forked server */
		kill(fx.child, SIGKILL);
		waitpid(fx.child, NULL, 0);
		fx.child = 0;
	}
	for (int i = 0; i < fx.n_held; i++)
		ttrpc_call_respond(fx.held[i], NULL, 0);
	ttrpc_server_free(fx.server);
	ev_timer_stop(fx.loop, &fx.tick);
	ev_run(fx.loop, EVRUN_NOWAIT);
	ev_loop_destroy(fx.loop);
	unlink(fx.path);
	rmdir(fx.dir);
}

/* Run the loop until *flag is set or seconds pass; false on timeout. */
static inline int run_until(int *flag, double seconds)
{
	int64_t end = ttrpc_now_ns() + (int64_t)(seconds * 1e9);
	while (!*flag && ttrpc_now_ns() < end)
		ev_run(fx.loop, EVRUN_ONCE); /* the tick timer bounds each wait */
	return *flag;
}

/* Run the loop until *value == want or seconds pass; false on timeout. */
static inline int run_until_eq(const int *value, int want, double seconds)
{
	int64_t end = ttrpc_now_ns() + (int64_t)(seconds * 1e9);
	while (*value != want && ttrpc_now_ns() < end)
		ev_run(fx.loop, EVRUN_ONCE);
	return *value == want;
}

/* Run the loop until cond(arg) holds or seconds pass; false on timeout. */
static inline int run_until_cond(int (*cond)(void *arg), void *arg, double seconds)
{
	int64_t end = ttrpc_now_ns() + (int64_t)(seconds * 1e9);
	while (!cond(arg) && ttrpc_now_ns() < end)
		ev_run(fx.loop, EVRUN_ONCE);
	return cond(arg);
}

/* Run the loop for about seconds (to show that something does NOT happen). */
static inline void run_for(double seconds)
{
	int never = 0;
	run_until(&never, seconds);
}

/* Wait up to seconds for child pid to exit; its wait status, or -1 on
 * timeout (the child is then killed with SIGKILL and reaped). */
static inline int wait_child(pid_t pid, double seconds)
{
	int64_t end = ttrpc_now_ns() + (int64_t)(seconds * 1e9);
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (ttrpc_now_ns() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		struct timespec step = { 0, 2 * 1000 * 1000 }; /* one poll step, not a wait */
		nanosleep(&step, NULL);
	}
}

/* --- the fixture's server in a child process --- */

static ev_signal fx_child_sigterm;

static void fx_child_drained(ttrpc_server *server, void *user)
{
	(void)server;
	(void)user;
	ev_break(fx.loop, EVBREAK_ALL);
}

static void fx_child_on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	ev_signal_stop(loop, w);
	ttrpc_server_shutdown(fx.server, 2.0, fx_child_drained, NULL);
}

/* Fork a child that serves fx.server on fx.loop; returns once the child is
 * about to run its loop. prepare (may be NULL) runs in the child just before
 * that. SIGTERM makes the child shut down gracefully, free everything, run
 * LeakSanitizer (in sanitized builds) and exit 0; a sanitizer report makes
 * its exit status non-zero. SIGTERM stays blocked until the child's handler
 * exists, so one sent early is not lost. */
static inline pid_t fixture_fork_server(void (*prepare)(void))
{
	int ready[2];
	cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	pid_t pid = fork();
	if (pid != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(ready[1]);
		cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
		struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
		char byte = 0;
		int up = poll(&pfd, 1, 10000) == 1 && read(ready[0], &byte, 1) == 1;
		close(ready[0]);
		fx.child = pid;
		cr_assert(up, "the forked server did not get ready within 10 s");
		return pid;
	}
	close(ready[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	ev_loop_fork(fx.loop);		  /* its own epoll set, not the parent's */
	ev_signal_init(&fx_child_sigterm, fx_child_on_sigterm, SIGTERM);
	ev_signal_start(fx.loop, &fx_child_sigterm); /* before prepare: it may use up the fds */
	if (prepare)
		prepare();
	sigprocmask(SIG_SETMASK, &old, NULL); /* the handler exists: a pending SIGTERM lands there */
	/* the write end stays open: closing it would free a descriptor prepare counted */
	if (write(ready[1], "r", 1) != 1)
		_exit(125);
	ev_run(fx.loop, 0);
	for (int i = 0; i < fx.n_held; i++)
		ttrpc_call_respond(fx.held[i], NULL, 0);
	ttrpc_server_free(fx.server);
	ev_timer_stop(fx.loop, &fx.tick);
	ev_loop_destroy(fx.loop);
	int code = 0;
#ifdef FIXTURE_LSAN
	/* LSan may warn that the parent's thread "was not suspended": it only
	 * exists in the parent; our memory hangs off globals, not stacks. */
	if (__lsan_do_recoverable_leak_check())
		code = 23;
#endif
	_exit(code); /* not exit(): the atexit hooks are the test runner's, the parent's */
}

/* SIGTERM the forked server and require a clean exit (status 0) within a
 * bound: a crash, a sanitizer report or a hang fails the test. */
static inline void fixture_stop_server(pid_t pid)
{
	if (pid <= 0)
		return;
	cr_assert_eq(kill(pid, SIGTERM), 0);
	int status = wait_child(pid, 10);
	if (fx.child == pid)
		fx.child = 0;
	cr_assert(status != -1, "the forked server did not exit within 10 s of SIGTERM");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the forked server did not exit cleanly (wait status 0x%x; a sanitizer report is above)", status);
}

#endif
