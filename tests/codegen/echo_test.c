/* SPDX-License-Identifier: Apache-2.0 */
/* Generated echo stubs over a socketpair, server and client on one libev
 * loop. Built twice: with the protobuf-c backend and (ECHO_NANOPB) with the
 * nanopb backend; the backend-specific bits are the few macros below. */
#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/codec.h>
#include <ttrpc/stream.h>

#include "echo.ttrpc-c.h"

#ifdef ECHO_NANOPB
typedef ttrpc_test_echo_EchoRequest echo_req;
typedef ttrpc_test_echo_EchoResponse echo_resp;
#define REQ_INIT ttrpc_test_echo_EchoRequest_init_zero
#define RESP_INIT ttrpc_test_echo_EchoResponse_init_zero
#define EMPTY_INIT google_protobuf_Empty_init_zero
typedef google_protobuf_Empty empty_msg;

static void set_text(char *dst, const char *src)
{
	snprintf(dst, 64, "%s", src);
}
#define SET_TEXT(m, s) set_text((m)->text, (s))
#define N_VALUES(m) ((m)->values_count)
#define SET_VALUES(m, v, n) (memcpy((m)->values, (v), (n) * sizeof(uint32_t)), (m)->values_count = (pb_size_t)(n))
#else
typedef Ttrpc__Test__Echo__EchoRequest echo_req;
typedef Ttrpc__Test__Echo__EchoResponse echo_resp;
#define REQ_INIT TTRPC__TEST__ECHO__ECHO_REQUEST__INIT
#define RESP_INIT TTRPC__TEST__ECHO__ECHO_RESPONSE__INIT
#define EMPTY_INIT GOOGLE__PROTOBUF__EMPTY__INIT
typedef Google__Protobuf__Empty empty_msg;
#define SET_TEXT(m, s) ((m)->text = (char *)(s))
#define N_VALUES(m) ((m)->n_values)
#define SET_VALUES(m, v, n) ((m)->values = (uint32_t *)(v), (m)->n_values = (n))
#endif

static struct ev_loop *loop;
static ttrpc_server *server;
static ttrpc_client *client;

struct later {
	ev_timer timer;
	ttrpc_call *call;
	char text[64];
	uint32_t seq;
	unsigned int handler_iteration; /* libev's loop iteration the handler ran in */
};

struct counters {
	int echo, later, ping, later_answered;
};

static struct counters counts;
static struct later pending_later;

static void on_echo(ttrpc_call *call, const echo_req *req, void *user)
{
	echo_resp resp = RESP_INIT;
	uint32_t values[8];
	size_t i;

	cr_assert_eq(user, &counts);
	counts.echo++;
	cr_assert(N_VALUES(req) <= 8);
	for (i = 0; i < N_VALUES(req); i++)
		values[i] = req->values[i] * 2;
	SET_TEXT(&resp, req->text);
	resp.seq = req->seq + 1;
	SET_VALUES(&resp, values, N_VALUES(req));
	cr_assert_eq(ttrpc_test_echo_echo_echo_respond(call, &resp), 0);
}

static void later_fire(struct ev_loop *l, ev_timer *w, int revents)
{
	struct later *p = (struct later *)w;
	echo_resp resp = RESP_INIT;

	(void)revents;
	/* a later loop iteration than the handler's: the handler has returned
	 * (and the generated code freed the request); the call is still valid */
	cr_assert_gt(ev_iteration(l), p->handler_iteration, "the answer must come after the handler returned");
	cr_assert_str_eq(ttrpc_call_service(p->call), TTRPC_TEST_ECHO_ECHO_SERVICE);
	cr_assert_str_eq(ttrpc_call_method(p->call), TTRPC_TEST_ECHO_ECHO_METHOD_LATER);
	cr_assert_not(ttrpc_call_orphaned(p->call));
	SET_TEXT(&resp, p->text);
	resp.seq = p->seq + 100;
	cr_assert_eq(ttrpc_test_echo_echo_later_respond(p->call, &resp), 0);
	counts.later_answered++;
}

static void on_later(ttrpc_call *call, const echo_req *req, void *user)
{
	struct counters *c = user;

	c->later++;
	pending_later.call = call;
	snprintf(pending_later.text, sizeof(pending_later.text), "%s", req->text);
	pending_later.seq = req->seq;
	pending_later.handler_iteration = ev_iteration(loop);
	ev_timer_init(&pending_later.timer, later_fire, 0.02, 0.);
	ev_timer_start(loop, &pending_later.timer);
	/* The request is freed after this returns; the copy above lives on. */
}

static void on_ping(ttrpc_call *call, const empty_msg *req, void *user)
{
	(void)req;
	((struct counters *)user)->ping++;
	cr_assert_eq(ttrpc_test_echo_echo_ping_respond(call, NULL), 0);
}

/* ---- stream handlers (one stream of each method at a time) ---- */

static struct {
	ttrpc_call *call;
	uint32_t n, sent;
	char text[64];
	int writable; /* on_writable calls */
} watch;

static void watch_pump(void)
{
	while (watch.sent < watch.n) {
		echo_resp resp = RESP_INIT;
		int rc;

		SET_TEXT(&resp, watch.text);
		resp.seq = watch.sent;
		rc = ttrpc_test_echo_echo_watch_send(watch.call, &resp);
		if (rc == TTRPC_EAGAIN)
			return;
		cr_assert_eq(rc, 0, "send: %s", ttrpc_strerror(rc));
		watch.sent++;
	}
	cr_assert_eq(ttrpc_call_finish(watch.call, TTRPC_CODE_OK, NULL), 0);
	watch.call = NULL;
}

static void on_watch_open(ttrpc_call *call, const echo_req *req, void *user)
{
	cr_assert_eq(user, &counts);
	cr_assert_eq(ttrpc_call_kind(call), TTRPC_KIND_SERVER_STREAM);
	if (req->seq == UINT32_MAX) {
		ttrpc_call_finish(call, TTRPC_CODE_INVALID_ARGUMENT, "seq %u is too many", (unsigned)req->seq);
		return;
	}
	watch.call = call;
	watch.n = req->seq;
	watch.sent = 0;
	snprintf(watch.text, sizeof(watch.text), "%s", req->text);
	watch_pump();
}

static void on_watch_writable(ttrpc_call *call, void *user)
{
	cr_assert_eq(user, &counts);
	cr_assert_eq(call, watch.call);
	watch.writable++;
	watch_pump();
}

static struct {
	uint32_t n, sum;
	int closed;
} collect;

static void on_collect_open(ttrpc_call *call, void *user)
{
	(void)call;
	cr_assert_eq(user, &counts);
	memset(&collect, 0, sizeof(collect));
}

static void on_collect_msg(ttrpc_call *call, const echo_req *msg, void *user)
{
	(void)user;
	if (!msg) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "undecodable message %u", collect.n);
		return;
	}
	collect.n++;
	collect.sum += msg->seq;
}

static void on_collect_close_send(ttrpc_call *call, void *user)
{
	echo_resp resp = RESP_INIT;
	char text[32];

	(void)user;
	collect.closed++;
	snprintf(text, sizeof(text), "n=%u", collect.n);
	SET_TEXT(&resp, text);
	resp.seq = collect.sum;
	cr_assert_eq(ttrpc_test_echo_echo_collect_respond(call, &resp), 0);
}

static void on_talk_open(ttrpc_call *call, void *user)
{
	(void)call;
	(void)user;
}

static void on_talk_msg(ttrpc_call *call, const echo_req *msg, void *user)
{
	echo_resp resp = RESP_INIT;

	(void)user;
	cr_assert_not_null(msg);
	SET_TEXT(&resp, msg->text);
	resp.seq = msg->seq + 1;
	cr_assert_eq(ttrpc_test_echo_echo_talk_send(call, &resp), 0);
}

static void on_talk_close_send(ttrpc_call *call, void *user)
{
	(void)user;
	cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_OK, NULL), 0);
}

static const struct ttrpc_test_echo_echo_handlers handlers = {
	.echo = on_echo,
	.later = on_later,
	.ping = on_ping,
	.missing = NULL,
	.watch = { .on_open = on_watch_open, .on_writable = on_watch_writable },
	.collect = { .on_open = on_collect_open, .on_msg = on_collect_msg, .on_close_send = on_collect_close_send },
	.talk = { .on_open = on_talk_open, .on_msg = on_talk_msg, .on_close_send = on_talk_close_send },
};

static const struct ttrpc_test_echo_echo_service service = {
	.handlers = &handlers,
	.user = &counts,
};

static void setup_pair(void)
{
	int sv[2], err = 0;

	memset(&counts, 0, sizeof(counts));
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	server = ttrpc_server_new(loop);
	cr_assert_not_null(server);
	cr_assert_eq(ttrpc_server_adopt_conn(server, sv[0]), 0);
	client = ttrpc_client_adopt(loop, sv[1], &err);
	cr_assert_not_null(client, "client: %s", ttrpc_strerror(err));
}

static void setup(void)
{
	setup_pair();
	cr_assert_eq(ttrpc_test_echo_echo_register(server, &service), 0);
}

static void teardown(void)
{
	ttrpc_client_free(client);
	ttrpc_server_free(server);
	ev_loop_destroy(loop);
}

TestSuite(echo, .init = setup, .fini = teardown, .timeout = 20);

/* ---- async ---- */

static int async_done_total; /* echo_done calls, all results together */

struct async_result {
	int done;
	int code;
	char text[64];
	uint32_t seq;
	uint32_t values[8];
	size_t n_values;
	char message[128];
};

static void echo_done(const struct ttrpc_result *status, const echo_resp *resp, void *user)
{
	struct async_result *r = user;
	size_t i;

	r->done++;
	async_done_total++;
	r->code = status->code;
	snprintf(r->message, sizeof(r->message), "%s", status->message ? status->message : "");
	if (status->code == TTRPC_CODE_OK) {
		cr_assert_not_null(resp);
		snprintf(r->text, sizeof(r->text), "%s", resp->text);
		r->seq = resp->seq;
		r->n_values = N_VALUES(resp);
		for (i = 0; i < r->n_values && i < 8; i++)
			r->values[i] = resp->values[i];
	} else {
		cr_assert_null(resp);
	}
}

static void wake(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Run the loop until *done reaches want; fail after 10 s. */
static void run_until(const int *done, int want)
{
	ev_timer tick;
	double end = ev_time() + 10;

	ev_timer_init(&tick, wake, 0.05, 0.05); /* bounds each wait for an event */
	ev_timer_start(loop, &tick);
	while (*done < want && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	cr_assert_eq(*done, want, "%d of %d completions within 10 s", *done, want);
}

Test(echo, async_call)
{
	static const uint32_t values[] = { 1, 2, 3 };
	echo_req req = REQ_INIT;
	struct async_result r = { 0 };

	SET_TEXT(&req, "hello");
	req.seq = 41;
	SET_VALUES(&req, values, 3);
	cr_assert_eq(ttrpc_test_echo_echo_echo_call(client, &req, NULL, echo_done, &r), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
	cr_assert_str_eq(r.text, "hello");
	cr_assert_eq(r.seq, 42);
	cr_assert_eq(r.n_values, 3);
	cr_assert_eq(r.values[0], 2);
	cr_assert_eq(r.values[2], 6);
	cr_assert_eq(counts.echo, 1);
}

Test(echo, many_async_calls_in_flight)
{
	struct async_result r[5];
	int i;

	memset(r, 0, sizeof(r));
	async_done_total = 0;
	for (i = 0; i < 5; i++) {
		echo_req req = REQ_INIT;

		SET_TEXT(&req, "n");
		req.seq = (uint32_t)i * 10;
		cr_assert_eq(ttrpc_test_echo_echo_echo_call(client, &req, NULL, echo_done, &r[i]), 0);
	}
	cr_assert_eq(ttrpc_client_pending(client), 5);
	run_until(&async_done_total, 5);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(r[i].done, 1);
		cr_assert_eq(r[i].seq, (uint32_t)i * 10 + 1);
	}
}

Test(echo, async_null_handler_is_unimplemented)
{
	echo_req req = REQ_INIT;
	struct async_result r = { 0 };

	cr_assert_eq(ttrpc_test_echo_echo_missing_call(client, &req, NULL, echo_done, &r), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_UNIMPLEMENTED);
	cr_assert(strstr(r.message, "ttrpc.test.echo.Echo/Missing") != NULL, "message: %s", r.message);
}

Test(echo, async_without_callback_is_refused)
{
	echo_req req = REQ_INIT;

	cr_assert_eq(ttrpc_test_echo_echo_echo_call(client, &req, NULL, NULL, NULL), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_client_pending(client), 0);
}

/* ---- blocking ---- */

/* The blocking stub, the same for both backends. */
static int echo_sync(int (*stub)(ttrpc_client *, const echo_req *, const struct ttrpc_call_opts *,
#ifdef ECHO_NANOPB
				 echo_resp *,
#else
				 echo_resp **,
#endif
				 struct ttrpc_result *),
		     const echo_req *req, char *text, uint32_t *seq, struct ttrpc_result *status)
{
	int code;
#ifdef ECHO_NANOPB
	echo_resp resp = RESP_INIT;

	code = stub(client, req, NULL, &resp, status);
	if (code == TTRPC_CODE_OK) {
		snprintf(text, 64, "%s", resp.text);
		*seq = resp.seq;
	}
#else
	echo_resp *resp = NULL;

	code = stub(client, req, NULL, &resp, status);
	if (code == TTRPC_CODE_OK) {
		cr_assert_not_null(resp);
		snprintf(text, 64, "%s", resp->text);
		*seq = resp->seq;
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	} else {
		cr_assert_null(resp);
	}
#endif
	return code;
}

Test(echo, blocking_call)
{
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;
	char text[64] = "";
	uint32_t seq = 0;

	SET_TEXT(&req, "sync");
	req.seq = 7;
	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_echo_call_sync, &req, text, &seq, &status), TTRPC_CODE_OK);
	cr_assert_eq(status.code, TTRPC_CODE_OK);
	cr_assert_str_eq(text, "sync");
	cr_assert_eq(seq, 8);
	ttrpc_result_clear(&status);
	/* status may be NULL */
	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_echo_call_sync, &req, text, &seq, NULL), TTRPC_CODE_OK);
	cr_assert_eq(counts.echo, 2);
}

#ifndef ECHO_NANOPB
/* Over TTRPC_CODEC_STACK_BUFFER both ways: the runtime's heap buffer path. */
Test(echo, message_larger_than_the_stack_buffer)
{
	static char big[3 * TTRPC_CODEC_STACK_BUFFER + 1];
	Ttrpc__Test__Echo__EchoResponse *resp = NULL;
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;

	memset(big, 'b', sizeof(big) - 1);
	SET_TEXT(&req, big);
	req.seq = 41;
	cr_assert_gt(protobuf_c_message_get_packed_size(&req.base), TTRPC_CODEC_STACK_BUFFER);
	cr_assert_eq(ttrpc_test_echo_echo_echo_call_sync(client, &req, NULL, &resp, &status), TTRPC_CODE_OK, "%s",
		     status.message);
	cr_assert_not_null(resp);
	cr_assert_str_eq(resp->text, big);
	cr_assert_eq(resp->seq, 42);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_result_clear(&status);
}
#endif

Test(echo, blocking_null_handler_is_unimplemented)
{
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;
	char text[64];
	uint32_t seq;

	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_missing_call_sync, &req, text, &seq, &status),
		     TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_eq(status.code, TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_not_null(status.message);
	cr_assert(strstr(status.message, "Missing") != NULL, "message: %s", status.message);
	ttrpc_result_clear(&status);
}

Test(echo, deferred_respond)
{
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;
	char text[64] = "";
	uint32_t seq = 0;

	SET_TEXT(&req, "later");
	req.seq = 1;
	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_later_call_sync, &req, text, &seq, &status), TTRPC_CODE_OK, "%s",
		     status.message);
	cr_assert_eq(counts.later, 1);
	cr_assert_eq(counts.later_answered, 1);
	cr_assert_str_eq(text, "later");
	cr_assert_eq(seq, 101);
	ttrpc_result_clear(&status);
}

static void ping_done(const struct ttrpc_result *status, const empty_msg *resp, void *user)
{
	int *done = user;

	cr_assert_eq(status->code, TTRPC_CODE_OK);
	cr_assert_not_null(resp);
	(*done)++;
}

Test(echo, empty_messages_both_ways)
{
	struct ttrpc_result status = { 0 };
	empty_msg in = EMPTY_INIT;
	int done = 0;
#ifdef ECHO_NANOPB
	empty_msg out = EMPTY_INIT;

	cr_assert_eq(ttrpc_test_echo_echo_ping_call_sync(client, &in, NULL, &out, &status), TTRPC_CODE_OK);
#else
	empty_msg *out = NULL;

	cr_assert_eq(ttrpc_test_echo_echo_ping_call_sync(client, &in, NULL, &out, &status), TTRPC_CODE_OK);
	cr_assert_not_null(out);
	protobuf_c_message_free_unpacked(&out->base, NULL);
#endif
	ttrpc_result_clear(&status);
	/* A NULL request is the empty message too. */
	cr_assert_eq(ttrpc_test_echo_echo_ping_call(client, NULL, NULL, ping_done, &done), 0);
	run_until(&done, 1);
	cr_assert_eq(counts.ping, 2);
}

Test(echo, undecodable_request_is_invalid_argument)
{
	/* field 1 (text) claims 0x7f bytes but only one follows */
	static const uint8_t garbage[] = { 0x0a, 0x7f, 'x' };
	struct ttrpc_result status = { 0 };

	cr_assert_eq(ttrpc_client_call_sync(client, TTRPC_TEST_ECHO_ECHO_SERVICE, TTRPC_TEST_ECHO_ECHO_METHOD_ECHO,
					    garbage, sizeof(garbage), NULL, &status),
		     TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert_not_null(status.message);
	cr_assert(strstr(status.message, "ttrpc.test.echo.EchoRequest") != NULL, "message: %s", status.message);
	ttrpc_result_clear(&status);
	cr_assert_eq(counts.echo, 0, "the handler must not run");
}

Test(echo, wire_names)
{
	cr_assert_str_eq(TTRPC_TEST_ECHO_ECHO_SERVICE, "ttrpc.test.echo.Echo");
	cr_assert_str_eq(TTRPC_TEST_ECHO_ECHO_METHOD_LATER, "Later");
	cr_assert_str_eq(TTRPC_TEST_ECHO_ECHO_METHOD_WATCH, "Watch");
}

Test(echo, register_twice_and_bad_arguments)
{
	cr_assert_eq(ttrpc_test_echo_echo_register(server, &service), TTRPC_EEXIST);
	cr_assert_eq(ttrpc_test_echo_echo_register(NULL, &service), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_test_echo_echo_register(server, NULL), TTRPC_EINVAL);
}

/* ---- streams through the generated stubs ---- */

struct stream_result {
	int done;
	int code;
	char message[128];
	uint32_t n;	   /* messages received */
	uint32_t next_seq; /* seq the next message must carry */
	int undecodable;   /* on_msg calls with NULL */
	char text[64];	   /* of the last message, or the response */
	uint32_t resp_seq; /* client-streaming response */
	int has_resp;
};

static void result_done(struct stream_result *r, const struct ttrpc_result *status)
{
	r->done++;
	r->code = status->code;
	snprintf(r->message, sizeof(r->message), "%s", status->message ? status->message : "");
}

static void stream_got(ttrpc_stream *st, const echo_resp *msg, void *user)
{
	struct stream_result *r = user;

	cr_assert_not_null(st);
	if (!msg) {
		r->undecodable++;
		return;
	}
	cr_assert_eq(msg->seq, r->next_seq, "message %u has seq %u", r->n, (unsigned)msg->seq);
	r->next_seq++;
	r->n++;
	snprintf(r->text, sizeof(r->text), "%s", msg->text);
}

static void stream_done(ttrpc_stream *st, const struct ttrpc_result *status, void *user)
{
	cr_assert_not_null(st);
	result_done(user, status);
}

static void collect_done(ttrpc_stream *st, const struct ttrpc_result *status, const echo_resp *resp, void *user)
{
	struct stream_result *r = user;

	(void)st;
	result_done(r, status);
	cr_assert_eq(resp != NULL, status->code == TTRPC_CODE_OK);
	if (resp) {
		r->has_resp = 1;
		r->resp_seq = resp->seq;
		snprintf(r->text, sizeof(r->text), "%s", resp->text);
	}
}

static const struct ttrpc_test_echo_echo_watch_stream_cbs watch_cbs = { .on_msg = stream_got, .on_done = stream_done };
static const struct ttrpc_test_echo_echo_collect_stream_cbs collect_cbs = { .on_done = collect_done };
static const struct ttrpc_test_echo_echo_talk_stream_cbs talk_cbs = { .on_msg = stream_got, .on_done = stream_done };

static void watch_async(uint32_t n, struct stream_result *r)
{
	echo_req req = REQ_INIT;
	ttrpc_stream *st = NULL;

	SET_TEXT(&req, "watched text, long enough to fill the send window sooner");
	req.seq = n;
	cr_assert_eq(ttrpc_test_echo_echo_watch_open(client, &req, NULL, &watch_cbs, r, &st), 0);
	cr_assert_not_null(st);
	run_until(&r->done, 1);
}

Test(echo, server_stream_async_0_1_and_20000_messages)
{
	static const uint32_t counts_to_try[] = { 0, 1, 20000 };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct stream_result r = { 0 };

		watch_async(counts_to_try[i], &r);
		cr_assert_eq(r.code, TTRPC_CODE_OK, "%u messages: %s", counts_to_try[i], r.message);
		cr_assert_eq(r.n, counts_to_try[i]);
		cr_assert_eq(r.undecodable, 0);
		if (r.n)
			cr_assert_str_eq(r.text, "watched text, long enough to fill the send window sooner");
	}
	/* 20000 messages of ~70 bytes in one go fill the 1 MiB send window:
	 * the rest went out from the generated on_writable trampoline */
	cr_assert_gt(watch.writable, 0, "on_writable never ran");
}

Test(echo, server_stream_error_reaches_on_done)
{
	struct stream_result r = { 0 };

	watch_async(UINT32_MAX, &r);
	cr_assert_eq(r.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert(strstr(r.message, "too many") != NULL, "message: %s", r.message);
	cr_assert_eq(r.n, 0);
}

Test(echo, client_stream_async)
{
	struct stream_result r = { 0 };
	ttrpc_stream *st = NULL;
	uint32_t i;

	cr_assert_eq(ttrpc_test_echo_echo_collect_open(client, NULL, &collect_cbs, &r, &st), 0);
	for (i = 1; i <= 10; i++) {
		echo_req req = REQ_INIT;

		req.seq = i;
		cr_assert_eq(ttrpc_test_echo_echo_collect_stream_send(st, &req), 0);
	}
	/* NULL is the empty message: a message too */
	cr_assert_eq(ttrpc_test_echo_echo_collect_stream_send(st, NULL), 0);
	cr_assert_eq(ttrpc_stream_close_send(st), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
	cr_assert(r.has_resp);
	cr_assert_eq(r.resp_seq, 55);
	cr_assert_str_eq(r.text, "n=11");
	cr_assert_eq(collect.closed, 1);
}

Test(echo, client_stream_undecodable_message)
{
	static const uint8_t garbage[] = { 0x0a, 0x7f, 'x' };
	struct stream_result r = { 0 };
	ttrpc_stream *st = NULL;

	cr_assert_eq(ttrpc_test_echo_echo_collect_open(client, NULL, &collect_cbs, &r, &st), 0);
	cr_assert_eq(ttrpc_stream_send(st, garbage, sizeof(garbage)), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert(strstr(r.message, "undecodable") != NULL, "message: %s", r.message);
	cr_assert_not(r.has_resp);
}

Test(echo, bidi_stream_async)
{
	struct stream_result r = { .next_seq = 1 };
	ttrpc_stream *st = NULL;
	uint32_t i;

	cr_assert_eq(ttrpc_test_echo_echo_talk_open(client, NULL, &talk_cbs, &r, &st), 0);
	for (i = 0; i < 5; i++) {
		echo_req req = REQ_INIT;

		SET_TEXT(&req, "talk");
		req.seq = i;
		cr_assert_eq(ttrpc_test_echo_echo_talk_stream_send(st, &req), 0);
	}
	cr_assert_eq(ttrpc_stream_close_send(st), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
	cr_assert_eq(r.n, 5);
	cr_assert_str_eq(r.text, "talk");
}

Test(echo, streams_blocking)
{
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;
	ttrpc_stream *st = NULL;
	uint32_t i;
	int rc;
#define RECV(st) ttrpc_test_echo_echo_watch_stream_recv_sync((st), &got)
#ifdef ECHO_NANOPB
	echo_resp got = RESP_INIT, resp = RESP_INIT;
#define GOT_SEQ (got.seq)
#define GOT_FREE() ((void)0)
#else
	echo_resp *got = NULL, *resp = NULL;
#define GOT_SEQ (got->seq)
#define GOT_FREE() protobuf_c_message_free_unpacked(&got->base, NULL)
#endif

	/* server-streaming */
	req.seq = 3;
	cr_assert_eq(ttrpc_test_echo_echo_watch_open_sync(client, &req, NULL, &st), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(RECV(st), 1);
		cr_assert_eq(GOT_SEQ, i);
		GOT_FREE();
	}
	cr_assert_eq(RECV(st), 0);
	cr_assert_eq(ttrpc_stream_finish_sync(st, &status), TTRPC_CODE_OK);
	ttrpc_result_clear(&status);

	/* client-streaming */
	cr_assert_eq(ttrpc_test_echo_echo_collect_open_sync(client, NULL, &st), 0);
	for (i = 0; i < 4; i++) {
		req.seq = 10;
		cr_assert_eq(ttrpc_test_echo_echo_collect_stream_send_sync(st, &req), 0);
	}
	/* finish closes the sending side first */
	cr_assert_eq(ttrpc_test_echo_echo_collect_stream_finish_sync(st, &resp, &status), TTRPC_CODE_OK, "%s",
		     status.message);
#ifdef ECHO_NANOPB
	cr_assert_eq(resp.seq, 40);
	cr_assert_str_eq(resp.text, "n=4");
#else
	cr_assert_not_null(resp);
	cr_assert_eq(resp->seq, 40);
	cr_assert_str_eq(resp->text, "n=4");
	protobuf_c_message_free_unpacked(&resp->base, NULL);
#endif
	ttrpc_result_clear(&status);

	/* bidi: one message, one answer, then the end */
	cr_assert_eq(ttrpc_test_echo_echo_talk_open_sync(client, NULL, &st), 0);
	req.seq = 7;
	cr_assert_eq(ttrpc_test_echo_echo_talk_stream_send_sync(st, &req), 0);
	rc = ttrpc_test_echo_echo_talk_stream_recv_sync(st, &got);
	cr_assert_eq(rc, 1);
	cr_assert_eq(GOT_SEQ, 8);
	GOT_FREE();
	cr_assert_eq(ttrpc_stream_close_send(st), 0);
	cr_assert_eq(ttrpc_test_echo_echo_talk_stream_recv_sync(st, &got), 0);
	cr_assert_eq(ttrpc_stream_finish_sync(st, &status), TTRPC_CODE_OK);
	ttrpc_result_clear(&status);
#undef RECV
#undef GOT_SEQ
#undef GOT_FREE
}

/* ---- a server whose answers do not decode ---- */

static void garbage_handler(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	static const uint8_t garbage[] = { 0x0a, 0x7f, 'x' };

	(void)req;
	(void)len;
	(void)user;
	ttrpc_call_respond(call, garbage, sizeof(garbage));
}

TestSuite(bad_peer, .init = setup_pair, .fini = teardown, .timeout = 20);

Test(bad_peer, undecodable_response_is_internal)
{
	struct ttrpc_result status = { 0 };
	struct async_result r = { 0 };
	echo_req req = REQ_INIT;
	char text[64];
	uint32_t seq;

	cr_assert_eq(ttrpc_server_register(server, TTRPC_TEST_ECHO_ECHO_SERVICE, TTRPC_TEST_ECHO_ECHO_METHOD_ECHO,
					   garbage_handler, NULL),
		     0);
	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_echo_call_sync, &req, text, &seq, &status), TTRPC_CODE_INTERNAL);
	cr_assert_not_null(status.message);
	cr_assert(strstr(status.message, "decode") != NULL, "message: %s", status.message);
	ttrpc_result_clear(&status);

	cr_assert_eq(ttrpc_test_echo_echo_echo_call(client, &req, NULL, echo_done, &r), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_INTERNAL);
}

Test(bad_peer, unregistered_service_is_unimplemented)
{
	struct ttrpc_result status = { 0 };
	echo_req req = REQ_INIT;
	char text[64];
	uint32_t seq;

	cr_assert_eq(echo_sync(ttrpc_test_echo_echo_echo_call_sync, &req, text, &seq, &status),
		     TTRPC_CODE_UNIMPLEMENTED);
	ttrpc_result_clear(&status);
}

/* A table without stream handlers: every stream is UNIMPLEMENTED. */
static const struct ttrpc_test_echo_echo_handlers unary_only = { .echo = on_echo };
static const struct ttrpc_test_echo_echo_service unary_only_service = { &unary_only, &counts };

Test(bad_peer, null_stream_handlers_are_unimplemented)
{
	struct stream_result r[3];

	memset(r, 0, sizeof(r));
	cr_assert_eq(ttrpc_test_echo_echo_register(server, &unary_only_service), 0);
	cr_assert_eq(ttrpc_test_echo_echo_watch_open(client, NULL, NULL, &watch_cbs, &r[0], NULL), 0);
	cr_assert_eq(ttrpc_test_echo_echo_collect_open(client, NULL, &collect_cbs, &r[1], NULL), 0);
	cr_assert_eq(ttrpc_test_echo_echo_talk_open(client, NULL, &talk_cbs, &r[2], NULL), 0);
	run_until(&r[0].done, 1);
	run_until(&r[1].done, 1);
	run_until(&r[2].done, 1);
	cr_assert_eq(r[0].code, TTRPC_CODE_UNIMPLEMENTED, "%s", r[0].message);
	cr_assert_eq(r[1].code, TTRPC_CODE_UNIMPLEMENTED, "%s", r[1].message);
	cr_assert_eq(r[2].code, TTRPC_CODE_UNIMPLEMENTED, "%s", r[2].message);
	cr_assert(strstr(r[1].message, "Collect") != NULL, "message: %s", r[1].message);
}

/* A raw server-streaming handler whose messages do not decode. */
static void garbage_stream(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	static const uint8_t garbage[] = { 0x0a, 0x7f, 'x' };
	echo_resp ok = RESP_INIT;

	(void)req;
	(void)len;
	(void)user;
	ok.seq = 0;
	cr_assert_eq(ttrpc_call_send(call, garbage, sizeof(garbage)), 0);
	cr_assert_eq(ttrpc_test_echo_echo_watch_send(call, &ok), 0);
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

Test(bad_peer, undecodable_stream_message_is_null)
{
	static const struct ttrpc_stream_handler h = { .kind = TTRPC_KIND_SERVER_STREAM, .on_open = garbage_stream };
	struct stream_result r = { 0 };

	cr_assert_eq(ttrpc_server_register_stream(server, TTRPC_TEST_ECHO_ECHO_SERVICE,
						  TTRPC_TEST_ECHO_ECHO_METHOD_WATCH, &h, NULL),
		     0);
	cr_assert_eq(ttrpc_test_echo_echo_watch_open(client, NULL, NULL, &watch_cbs, &r, NULL), 0);
	run_until(&r.done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
	cr_assert_eq(r.undecodable, 1);
	cr_assert_eq(r.n, 1, "the stream goes on after a message that does not decode");
}
