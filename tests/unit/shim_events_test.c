/* SPDX-License-Identifier: Apache-2.0 */
/* shim/events.c against a real ttrpc server posing as containerd's Events
 * service, on the same private loop. The server decodes every Forward it gets
 * and can answer OK, answer an error, hold the call, or not exist at all. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/server.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.ttrpc-c.h"
#include "shim/events.h"
#include "shim/log.h"

#define NS "testns"
#define WAIT_S 30 /* a failure bound only: a passing test never waits for it */

/* One Forward call as the server saw it. */
struct got {
	char topic[64];
	char ns[32];
	char md_ns[32];
	char type_url[64];
	char container_id[32];
	uint32_t pid;
	int64_t ts_sec;
	double backoff_s; /* the shim's pause before this try */
	double at;	  /* CLOCK_MONOTONIC when it arrived */
};

static struct {
	struct ev_loop *loop;
	ttrpc_server *server;
	struct containerd_services_events_ttrpc_v1_events_handlers handlers;
	struct containerd_services_events_ttrpc_v1_events_service svc;
	char dir[64], path[128], logfile[128];
	int log_fd;
	struct shim_log log;
	struct shim_events *ev;
	struct got *got;
	size_t ngot, capgot;
	int fail_code;		/* answer calls with this error (0: OK) */
	const char *fail_topic; /* ... only calls of this topic (NULL: all) */
	bool hold;		/* leave calls unanswered */
	ttrpc_call *held[8];
	int nheld;
	ev_timer tick; /* wakes ev_run(EVRUN_ONCE) so waits can check their deadline */
} fx;

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until cond holds; fail after WAIT_S. */
#define RUN_UNTIL(cond)                                                                       \
	do {                                                                                  \
		double deadline_ = mono_s() + WAIT_S;                                         \
		while (!(cond)) {                                                             \
			cr_assert_lt(mono_s(), deadline_, "timed out waiting for %s", #cond); \
			ev_run(fx.loop, EVRUN_ONCE);                                          \
		}                                                                             \
	} while (0)

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "(null)");
}

static void on_forward(ttrpc_call *call, const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req, void *user)
{
	(void)user;
	struct shim_events_stats st;
	struct got *g;

	if (fx.ngot == fx.capgot) {
		fx.capgot = fx.capgot ? fx.capgot * 2 : 64;
		fx.got = realloc(fx.got, fx.capgot * sizeof(*fx.got));
		cr_assert_not_null(fx.got);
	}
	g = &fx.got[fx.ngot++];
	memset(g, 0, sizeof(*g));
	g->at = mono_s();
	shim_events_get_stats(fx.ev, &st);
	g->backoff_s = st.backoff_s;
	copy_str(g->md_ns, sizeof(g->md_ns), ttrpc_md_get(ttrpc_call_metadata(call), "containerd-namespace-ttrpc"));
	cr_assert_not_null(req->envelope);
	copy_str(g->topic, sizeof(g->topic), req->envelope->topic);
	copy_str(g->ns, sizeof(g->ns), req->envelope->namespace_);
	if (req->envelope->timestamp)
		g->ts_sec = req->envelope->timestamp->seconds;
	if (req->envelope->event) {
		Google__Protobuf__Any *any = req->envelope->event;

		copy_str(g->type_url, sizeof(g->type_url), any->type_url);
		if (!strcmp(any->type_url, "containerd.events.TaskExit")) {
			Containerd__Events__TaskExit *te =
				containerd__events__task_exit__unpack(NULL, any->value.len, any->value.data);

			cr_assert_not_null(te, "TaskExit payload does not decode");
			copy_str(g->container_id, sizeof(g->container_id), te->container_id);
			g->pid = te->pid;
			containerd__events__task_exit__free_unpacked(te, NULL);
		} else if (!strcmp(any->type_url, "containerd.events.TaskOOM")) {
			Containerd__Events__TaskOOM *to =
				containerd__events__task_oom__unpack(NULL, any->value.len, any->value.data);

			cr_assert_not_null(to, "TaskOOM payload does not decode");
			copy_str(g->container_id, sizeof(g->container_id), to->container_id);
			containerd__events__task_oom__free_unpacked(to, NULL);
		}
	}
	if (fx.hold) {
		cr_assert_lt(fx.nheld, 8);
		fx.held[fx.nheld++] = call;
		return;
	}
	if (fx.fail_code && (!fx.fail_topic || !strcmp(fx.fail_topic, g->topic))) {
		ttrpc_call_respond_error(call, fx.fail_code, "injected failure");
		return;
	}
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	containerd_services_events_ttrpc_v1_events_forward_respond(call, &empty);
}

static void server_up(void)
{
	fx.server = ttrpc_server_new(fx.loop);
	cr_assert_not_null(fx.server);
	cr_assert_eq(containerd_services_events_ttrpc_v1_events_register(fx.server, &fx.svc), 0);
	cr_assert_eq(ttrpc_server_listen(fx.server, fx.path), 0);
}

/* containerd going away: connections closed hard, held calls orphaned. */
static void server_down(void)
{
	ttrpc_server_free(fx.server);
	fx.server = NULL;
}

static void answer_held(void)
{
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	for (int i = 0; i < fx.nheld; i++)
		containerd_services_events_ttrpc_v1_events_forward_respond(fx.held[i], &empty);
	fx.nheld = 0;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/shim-events-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/events.sock", fx.dir);
	snprintf(fx.logfile, sizeof(fx.logfile), "%s/shim.log", fx.dir);
	fx.log_fd = open(fx.logfile, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	cr_assert_geq(fx.log_fd, 0);
	shim_log_init(&fx.log, NULL, fx.log_fd, true);
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(fx.loop);
	fx.handlers.forward = on_forward;
	fx.svc.handlers = &fx.handlers;
	ev_timer_init(&fx.tick, on_tick, 0.01, 0.01);
	ev_timer_start(fx.loop, &fx.tick);
	fx.ev = shim_events_new(fx.loop, fx.path, NS, &fx.log);
	cr_assert_not_null(fx.ev);
}

static void teardown(void)
{
	char cmd[128];

	shim_events_free(fx.ev);
	server_down();
	answer_held(); /* orphaned by now: answering frees them */
	ev_timer_stop(fx.loop, &fx.tick);
	ev_loop_destroy(fx.loop);
	shim_log_close(&fx.log);
	close(fx.log_fd);
	free(fx.got);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	/* cleanup: what fails in .fini cannot fail the test, so only say it */
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_events, .init = setup, .fini = teardown, .timeout = 120);

/* Occurrences of needle in the shim's log so far. */
static int log_count(const char *needle)
{
	struct stat st;
	char *buf;
	int n = 0;

	cr_assert_eq(fstat(fx.log_fd, &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fx.log_fd, buf, (size_t)st.st_size, 0), st.st_size);
	for (char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
		n++;
	free(buf);
	return n;
}

static void publish_exit(const char *topic, const char *id, uint32_t pid)
{
	Containerd__Events__TaskExit te = CONTAINERD__EVENTS__TASK_EXIT__INIT;

	te.container_id = (char *)id;
	te.id = (char *)id;
	te.pid = pid;
	te.exit_status = 3;
	shim_events_publish(fx.ev, topic, &te.base);
}

static struct shim_events_stats stats(void)
{
	struct shim_events_stats st;

	shim_events_get_stats(fx.ev, &st);
	return st;
}

static void expect_exit(size_t i, const char *topic, const char *id, uint32_t pid)
{
	cr_assert_lt(i, fx.ngot);
	struct got *g = &fx.got[i];

	cr_expect_str_eq(g->topic, topic, "call %zu", i);
	cr_expect_str_eq(g->ns, NS, "call %zu", i);
	cr_expect_str_eq(g->md_ns, NS, "call %zu: namespace metadata", i);
	cr_expect_str_eq(g->type_url, "containerd.events.TaskExit", "call %zu", i);
	cr_expect_str_eq(g->container_id, id, "call %zu", i);
	cr_expect_eq(g->pid, pid, "call %zu: pid %u, want %u", i, g->pid, pid);
	cr_expect_gt(g->ts_sec, 1600000000, "call %zu: no timestamp", i);
}

Test(shim_events, backoff_doubles_from_the_first_and_is_capped)
{
	double want[] = { 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0 };
	double b = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		b = shim_events_backoff(b, SHIM_EVENTS_BACKOFF_FIRST, SHIM_EVENTS_BACKOFF_MAX);
		cr_expect_float_eq(b, want[i], 1e-9, "step %zu: %g, want %g", i, b, want[i]);
	}
	for (int i = 0; i < 2000; i++) {
		b = shim_events_backoff(b, 0.001, 0.004);
		cr_assert_leq(b, 0.004);
	}
	cr_expect_float_eq(shim_events_backoff(1e300, 0.1, 2.0), 2.0, 1e-9);
}

Test(shim_events, forwarded_in_order_and_intact)
{
	Containerd__Events__TaskOOM oom = CONTAINERD__EVENTS__TASK_OOM__INIT;

	server_up();
	publish_exit("/tasks/exit", "c1", 101);
	oom.container_id = "c2";
	shim_events_publish(fx.ev, "/tasks/oom", &oom.base);
	publish_exit("/tasks/exit", "c3", 103);
	RUN_UNTIL(stats().delivered == 3);
	cr_assert_eq(fx.ngot, 3);
	expect_exit(0, "/tasks/exit", "c1", 101);
	cr_expect_str_eq(fx.got[1].topic, "/tasks/oom");
	cr_expect_str_eq(fx.got[1].type_url, "containerd.events.TaskOOM");
	cr_expect_str_eq(fx.got[1].container_id, "c2");
	cr_expect_str_eq(fx.got[1].md_ns, NS);
	expect_exit(2, "/tasks/exit", "c3", 103);
	cr_expect_eq(shim_events_pending(fx.ev), 0);
	cr_expect_eq(stats().attempts, 3);
	cr_expect_eq(stats().dropped, 0);
}

Test(shim_events, error_answers_are_retried_with_backoff_then_dropped)
{
	/* Larger than a round trip, so a missing pause shows; 4 pauses in all. */
	const double first = 0.02, max = 0.08;
	const double want_backoff[SHIM_EVENTS_TRIES] = { 0, 0.02, 0.04, 0.08, 0.08 };

	shim_events_set_backoff(fx.ev, first, max);
	fx.fail_code = TTRPC_CODE_INTERNAL;
	fx.fail_topic = "/tasks/bad";
	server_up();
	publish_exit("/tasks/bad", "bad", 1);
	publish_exit("/tasks/exit", "good", 2);
	RUN_UNTIL(stats().delivered == 1);
	cr_assert_eq(fx.ngot, SHIM_EVENTS_TRIES + 1, "%zu calls", fx.ngot);
	for (int i = 0; i < SHIM_EVENTS_TRIES; i++) {
		expect_exit((size_t)i, "/tasks/bad", "bad", 1);
		cr_expect_float_eq(fx.got[i].backoff_s, want_backoff[i], 1e-9, "try %d after %g s, want %g", i,
				   fx.got[i].backoff_s, want_backoff[i]);
		/* The pause really happened: the retry timer ran on the loop's
		 * clock, which the next arrival is read after. */
		if (i > 0)
			cr_expect_geq(fx.got[i].at - fx.got[i - 1].at, want_backoff[i] - 1e-6,
				      "try %d came %g s after the one before, backoff %g", i,
				      fx.got[i].at - fx.got[i - 1].at, want_backoff[i]);
	}
	/* The next event goes at once, and as it is. */
	expect_exit(SHIM_EVENTS_TRIES, "/tasks/exit", "good", 2);
	cr_expect_eq(log_count("dropped after 5 tries"), 1);
	cr_expect_eq(log_count("publish /tasks/bad: INTERNAL: injected failure; retrying"), SHIM_EVENTS_TRIES - 1);
	cr_expect_eq(stats().dropped, 1);
	cr_expect_eq(shim_events_pending(fx.ev), 0);
}

Test(shim_events, absent_server_keeps_the_event_with_a_capped_backoff)
{
	shim_events_set_backoff(fx.ev, 0.001, 0.004);
	publish_exit("/tasks/exit", "c1", 7);
	/* Transport failures are retried for as long as the queue holds. */
	RUN_UNTIL(stats().attempts >= 12);
	cr_expect_eq(shim_events_pending(fx.ev), 1);
	cr_expect_eq(stats().dropped, 0);
	cr_expect_float_eq(stats().backoff_s, 0.004, 1e-9, "backoff %g", stats().backoff_s);
	cr_expect_eq(log_count("publish /tasks/exit: connect"), 1, "one line per outage, not per try");
	server_up();
	RUN_UNTIL(stats().delivered == 1);
	cr_assert_eq(fx.ngot, 1);
	expect_exit(0, "/tasks/exit", "c1", 7);
	cr_expect_eq(stats().backoff_s, 0, "a delivery resets the backoff");
	cr_expect_eq(shim_events_pending(fx.ev), 0);
}

Test(shim_events, containerd_restart_mid_call_resends_the_event)
{
	shim_events_set_backoff(fx.ev, 0.001, 0.004);
	fx.hold = true;
	server_up();
	publish_exit("/tasks/exit", "c1", 9);
	publish_exit("/tasks/exit", "c2", 10);
	RUN_UNTIL(fx.nheld == 1);
	server_down();
	fx.hold = false;
	server_up();
	RUN_UNTIL(stats().delivered == 2);
	/* The first server saw c1 but never answered: it is sent again, then c2. */
	cr_assert_eq(fx.ngot, 3);
	expect_exit(0, "/tasks/exit", "c1", 9);
	expect_exit(1, "/tasks/exit", "c1", 9);
	expect_exit(2, "/tasks/exit", "c2", 10);
	cr_expect_eq(stats().dropped, 0);
}

Test(shim_events, full_queue_drops_the_oldest)
{
	const unsigned extra = 3;

	/* No server: everything waits in the queue. */
	for (unsigned i = 0; i < SHIM_EVENTS_QUEUE_MAX + extra; i++)
		publish_exit("/tasks/exit", "c", i);
	cr_expect_eq(shim_events_pending(fx.ev), SHIM_EVENTS_QUEUE_MAX);
	cr_expect_eq(stats().dropped, extra);
	cr_expect_eq(log_count("event queue full: dropped /tasks/exit"), extra);
	server_up();
	RUN_UNTIL(stats().delivered == SHIM_EVENTS_QUEUE_MAX);
	cr_assert_eq(fx.ngot, SHIM_EVENTS_QUEUE_MAX);
	for (unsigned i = 0; i < SHIM_EVENTS_QUEUE_MAX; i++)
		cr_assert_eq(fx.got[i].pid, i + extra, "call %u carries pid %u, want %u", i, fx.got[i].pid, i + extra);
	expect_exit(0, "/tasks/exit", "c", extra);
	cr_expect_eq(shim_events_pending(fx.ev), 0);
}

Test(shim_events, full_queue_keeps_the_event_on_the_wire)
{
	shim_events_set_backoff(fx.ev, 0.001, 0.004);
	fx.hold = true;
	server_up();
	publish_exit("/tasks/exit", "c", 0);
	RUN_UNTIL(fx.nheld == 1);
	/* 0 is on the wire; 1 is the oldest that is not, so it goes. */
	for (unsigned i = 1; i <= SHIM_EVENTS_QUEUE_MAX; i++)
		publish_exit("/tasks/exit", "c", i);
	cr_expect_eq(shim_events_pending(fx.ev), SHIM_EVENTS_QUEUE_MAX);
	cr_expect_eq(stats().dropped, 1);
	/* 0 fails once: it is 0 that is tried again, not 1. */
	fx.hold = false;
	cr_assert_eq(fx.nheld, 1);
	ttrpc_call_respond_error(fx.held[0], TTRPC_CODE_INTERNAL, "injected failure");
	fx.nheld = 0;
	RUN_UNTIL(stats().delivered == SHIM_EVENTS_QUEUE_MAX);
	cr_assert_eq(fx.ngot, SHIM_EVENTS_QUEUE_MAX + 1);
	cr_expect_eq(fx.got[0].pid, 0);
	cr_expect_eq(fx.got[1].pid, 0, "retried pid %u, want 0", fx.got[1].pid);
	for (unsigned i = 2; i <= SHIM_EVENTS_QUEUE_MAX; i++)
		cr_assert_eq(fx.got[i].pid, i, "call %u carries pid %u, want %u", i, fx.got[i].pid, i);
}

Test(shim_events, flush_delivers_what_is_queued)
{
	server_up();
	for (uint32_t i = 0; i < 5; i++)
		publish_exit("/tasks/exit", "c", i);
	/* At exit the shim runs nothing but the flush. */
	shim_events_flush(fx.ev, WAIT_S);
	cr_expect_eq(shim_events_pending(fx.ev), 0);
	cr_assert_eq(fx.ngot, 5);
	for (uint32_t i = 0; i < 5; i++)
		expect_exit(i, "/tasks/exit", "c", i);
	cr_expect_eq(log_count("not delivered"), 0);
}

Test(shim_events, flush_gives_up_after_its_timeout_and_says_so)
{
	publish_exit("/tasks/exit", "c", 1);
	publish_exit("/tasks/exit", "c", 2);
	shim_events_flush(fx.ev, 0.05);
	cr_expect_eq(shim_events_pending(fx.ev), 2);
	cr_expect_eq(log_count("exiting with 2 events not delivered"), 1);
}

/* Regression: freeing with a Forward on the wire completed it from inside
 * ttrpc_client_free, and the completion handed the client being freed to
 * dead_client: freed twice, and a retry timer left on freed memory. */
Test(shim_events, free_with_a_call_on_the_wire)
{
	fx.hold = true;
	server_up();
	publish_exit("/tasks/exit", "c", 1);
	RUN_UNTIL(fx.nheld == 1);
	shim_events_flush(fx.ev, 0.05);
	cr_expect_eq(shim_events_pending(fx.ev), 1);
	cr_expect_eq(log_count("exiting with 1 events not delivered"), 1);
	cr_expect_eq(ttrpc_server_conn_count(fx.server), 1);
	shim_events_free(fx.ev);
	fx.ev = NULL;
	/* Given up for good: the connection to "containerd" is closed, and the
	 * loop runs on with nothing of ev left on it. */
	RUN_UNTIL(ttrpc_server_conn_count(fx.server) == 0);
}

Test(shim_events, no_address_keeps_events_in_the_log_only)
{
	struct shim_events_stats st;

	shim_events_free(fx.ev);
	fx.ev = shim_events_new(fx.loop, "", NS, &fx.log);
	cr_assert_not_null(fx.ev);
	publish_exit("/tasks/exit", "c", 1);
	cr_expect_eq(shim_events_pending(fx.ev), 0);
	shim_events_get_stats(fx.ev, &st);
	cr_expect_eq(st.attempts, 0);
	cr_expect_eq(log_count("event /tasks/exit queued"), 1);
}
