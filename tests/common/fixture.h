/* SPDX-License-Identifier: Apache-2.0 */
/* A test server with a set of methods, shared by the loopback and raw-frame
 * suites. Header-only: each suite includes it once. */
#ifndef TTRPC_TEST_FIXTURE_H
#define TTRPC_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	int64_t last_deadline; /* deadline seen by "Deadline" */
	ev_timer tick;	       /* wakes the loop so run_until can time out */
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

#endif
