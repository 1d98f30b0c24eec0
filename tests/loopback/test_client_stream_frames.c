/* SPDX-License-Identifier: Apache-2.0 */
/* The client's streams frame by frame, as Go ttrpc 1.2's client puts them on
 * the wire and reads a Go 1.2 server's: our client in this process on one end
 * of a socketpair, a raw peer (hand-written frames) on the other. */
#include <criterion/criterion.h>
#include <ev.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/stream.h>
#include <ttrpc/ttrpc.h>

#include "rawpeer.h"

#define SVC "test.v1.Streams"
#define RC 0x1 /* remote-closed */
#define RO 0x2 /* remote-open */
#define ND 0x4 /* no-data */
#define T_REQ 1
#define T_RESP 2
#define T_DATA 3

static struct {
	struct ev_loop *loop;
	ttrpc_client *client;
	int fd; /* the raw peer's end */
	uint8_t in_buf[1 << 20];
	struct rp_in in;
} t;

/* What a stream saw. */
struct rec {
	ttrpc_stream *st;
	int n_msgs, n_done, code;
	char msgs[8][64];
	size_t lens[8];
	char message[128];
	char payload[64];
	bool pause_at_first;
};

static void on_msg(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user)
{
	struct rec *r = user;
	cr_assert_eq(r->n_done, 0);
	if (r->n_msgs < 8) {
		snprintf(r->msgs[r->n_msgs], sizeof(r->msgs[0]), "%.*s", (int)len, (const char *)msg);
		r->lens[r->n_msgs] = len;
	}
	r->n_msgs++;
	if (r->n_msgs == 1 && r->pause_at_first)
		ttrpc_stream_pause(st, true);
}

static void on_done(ttrpc_stream *st, const struct ttrpc_result *res, void *user)
{
	(void)st;
	struct rec *r = user;
	r->n_done++;
	r->code = res->code;
	snprintf(r->message, sizeof(r->message), "%s", res->message);
	snprintf(r->payload, sizeof(r->payload), "%.*s", (int)res->len, (const char *)res->payload);
}

static const struct ttrpc_stream_cbs cbs = { .on_msg = on_msg, .on_done = on_done };

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	t.loop = ev_loop_new(EVFLAG_AUTO);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	t.fd = sv[1];
	t.in = (struct rp_in){ .fd = t.fd, .buf = t.in_buf, .cap = sizeof(t.in_buf) };
	t.client = ttrpc_client_adopt(t.loop, sv[0], NULL);
	cr_assert_not_null(t.client);
}

static void teardown(void)
{
	ttrpc_client_free(t.client);
	close(t.fd);
	ev_run(t.loop, EVRUN_NOWAIT);
	ev_loop_destroy(t.loop);
}

TestSuite(client_stream_frames, .init = setup, .fini = teardown, .timeout = 60);

/* --- the raw peer --- */

static void put(uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
	uint8_t h[10];
	rp_header(h, (uint32_t)n, id, type, flags);
	cr_assert_eq(rp_send_all(t.fd, h, 10, 3000), 0);
	if (n)
		cr_assert_eq(rp_send_all(t.fd, p, n, 3000), 0);
}

static void data(uint32_t id, uint8_t flags, const char *s)
{
	put(id, T_DATA, flags, s, s ? strlen(s) : 0);
}

static void response(uint32_t id, int code, const char *message, const char *payload)
{
	struct rp_pb b = rp_response(code, message, payload, payload ? strlen(payload) : 0);
	put(id, T_RESP, 0, b.p, b.len);
	free(b.p);
}

static void loop_turn(void *arg)
{
	(void)arg;
	ev_run(t.loop, EVRUN_NOWAIT);
}

/* Next frame from the client within timeout_ms (false when none came). */
static bool next_frame(struct rp_frame *f, int timeout_ms)
{
	return rp_next_frame(&t.in, f, timeout_ms, loop_turn, NULL);
}

/* A Request as the client sent it. */
struct req {
	uint32_t id;
	uint8_t flags;
	char service[64], method[64];
	bool has_payload;
	char payload[64];
	size_t payload_len;
	int64_t timeout_ns;
	char md[128]; /* "k=v;" pairs */
};

static void expect_request(struct req *q)
{
	struct rp_frame f;
	cr_assert(next_frame(&f, 3000), "no frame (wanted a Request)");
	cr_assert_eq(f.type, T_REQ, "type %u, wanted Request", f.type);
	memset(q, 0, sizeof(*q));
	q->id = f.id;
	q->flags = f.flags;
	const uint8_t *p = f.body, *e = f.body + f.len;
	while (p < e) {
		uint64_t key, v;
		cr_assert_eq(rp_varint(&p, e, &key), 0);
		cr_assert_eq(rp_varint(&p, e, &v), 0);
		if ((key & 7) == 0) {
			cr_assert_eq(key >> 3, 4, "varint field %llu", (unsigned long long)(key >> 3));
			q->timeout_ns = (int64_t)v;
			continue;
		}
		cr_assert_eq(key & 7, 2);
		cr_assert(v <= (uint64_t)(e - p));
		switch (key >> 3) {
		case 1:
			snprintf(q->service, sizeof(q->service), "%.*s", (int)v, (const char *)p);
			break;
		case 2:
			snprintf(q->method, sizeof(q->method), "%.*s", (int)v, (const char *)p);
			break;
		case 3:
			q->has_payload = true;
			q->payload_len = v;
			snprintf(q->payload, sizeof(q->payload), "%.*s", (int)v, (const char *)p);
			break;
		case 5: {
			const uint8_t *k = p, *ke = p + v;
			char kv[2][32] = { "", "" };
			while (k < ke) {
				uint64_t kk, kl;
				cr_assert_eq(rp_varint(&k, ke, &kk), 0);
				cr_assert_eq(rp_varint(&k, ke, &kl), 0);
				snprintf(kv[(kk >> 3) == 2], 32, "%.*s", (int)kl, (const char *)k);
				k += kl;
			}
			snprintf(q->md + strlen(q->md), sizeof(q->md) - strlen(q->md), "%s=%s;", kv[0], kv[1]);
			break;
		}
		default:
			cr_assert_fail("field %llu in a Request", (unsigned long long)(key >> 3));
		}
		p += v;
	}
	free(f.body);
}

static void expect_data(uint32_t id, uint8_t flags, const char *body)
{
	struct rp_frame f;
	cr_assert(next_frame(&f, 3000), "no frame (wanted Data %u flags %#x)", id, flags);
	cr_assert_eq(f.type, T_DATA, "type %u, wanted Data", f.type);
	cr_assert_eq(f.id, id);
	cr_assert_eq(f.flags, flags, "flags %#x, wanted %#x", f.flags, flags);
	cr_assert_eq(f.len, strlen(body));
	cr_assert_str_eq((char *)f.body, body);
	free(f.body);
}

static void expect_nothing(int ms)
{
	struct rp_frame f;
	if (next_frame(&f, ms))
		cr_assert_fail("unexpected frame type %u id %u flags %#x len %u", f.type, f.id, f.flags, f.len);
}

static void run_until(const int *counter, int n)
{
	int64_t end = rp_now_ms() + 5000;
	while (*counter < n && rp_now_ms() < end) {
		ev_run(t.loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	cr_assert_geq(*counter, n, "waited for %d, got %d", n, *counter);
}

static void open_stream(struct rec *r, const char *method, enum ttrpc_stream_kind kind, const char *req,
			const struct ttrpc_call_opts *opts)
{
	cr_assert_eq(ttrpc_client_stream_open(t.client, SVC, method, kind, (const uint8_t *)req, req ? strlen(req) : 0,
					      opts, &cbs, r, &r->st),
		     0);
}

/* --- what the client sends --- */

Test(client_stream_frames, server_stream_request_is_remote_closed_with_payload_md_timeout)
{
	ttrpc_md *md = ttrpc_md_new();
	cr_assert_eq(ttrpc_md_add(md, "k", "v"), 0);
	struct ttrpc_call_opts opts = { .timeout_ns = 3000000000LL, .md = md };
	struct rec r = { 0 };
	open_stream(&r, "Down", TTRPC_KIND_SERVER_STREAM, "req", &opts);
	ttrpc_md_free(md);
	struct req q;
	expect_request(&q);
	cr_assert_eq(q.id, 1);
	cr_assert_eq(q.flags, RC);
	cr_assert_str_eq(q.service, SVC);
	cr_assert_str_eq(q.method, "Down");
	cr_assert(q.has_payload);
	cr_assert_str_eq(q.payload, "req");
	cr_assert_eq(q.timeout_ns, 3000000000LL);
	cr_assert_str_eq(q.md, "k=v;");
	expect_nothing(30);
	/* an empty request is sent without the payload field, as Go's Marshal */
	struct rec e = { 0 };
	open_stream(&e, "Down", TTRPC_KIND_SERVER_STREAM, NULL, NULL);
	expect_request(&q);
	cr_assert_eq(q.id, 3);
	cr_assert_eq(q.flags, RC);
	cr_assert(!q.has_payload);
	cr_assert_eq(q.timeout_ns, 0);
	ttrpc_client_close(t.client); /* the streams end while r and e exist */
	cr_assert_eq(r.n_done + e.n_done, 2);
}

Test(client_stream_frames, client_stream_is_remote_open_data_then_closesend)
{
	struct rec r = { 0 };
	open_stream(&r, "Up", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	struct req q;
	expect_request(&q);
	cr_assert_eq(q.flags, RO);
	cr_assert(!q.has_payload, "no payload: messages come as Data");
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"one", 3), 0);
	cr_assert_eq(ttrpc_stream_send(r.st, NULL, 0), 0);
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"two", 3), 0);
	cr_assert_eq(ttrpc_stream_close_send(r.st), 0);
	expect_data(1, 0, "one");
	expect_data(1, 0, ""); /* an empty message: a Data frame of length 0, no flags */
	expect_data(1, 0, "two");
	expect_data(1, RC | ND, ""); /* CloseSend */
	expect_nothing(30);
	/* the client-streaming answer is a Response */
	response(1, 0, NULL, "sum");
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_str_eq(r.payload, "sum");
	cr_assert_eq(r.n_msgs, 0);
	cr_assert_eq(ttrpc_client_pending(t.client), 0);
}

Test(client_stream_frames, bidi_is_remote_open)
{
	struct rec r = { 0 };
	open_stream(&r, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	struct req q;
	expect_request(&q);
	cr_assert_eq(q.flags, RO);
	cr_assert(!q.has_payload);
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"hi", 2), 0);
	expect_data(1, 0, "hi");
	data(1, 0, "hi back");
	run_until(&r.n_msgs, 1);
	cr_assert_str_eq(r.msgs[0], "hi back");
	/* the server ends first (Data remote-closed|no-data): the stream is done */
	data(1, RC | ND, NULL);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
}

/* --- what the client reads --- */

Test(client_stream_frames, server_data_forms)
{
	struct rec r = { 0 };
	open_stream(&r, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	struct req q;
	expect_request(&q);
	data(1, 0, "m1");
	data(1, 0, NULL);    /* empty message */
	data(1, ND, NULL);   /* Go's server sends an empty marshalled message so */
	data(1, RC, "last"); /* a last message carried by the end */
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_eq(r.n_msgs, 4);
	cr_assert_str_eq(r.msgs[0], "m1");
	cr_assert_eq(r.lens[1], 0);
	cr_assert_eq(r.lens[2], 0);
	cr_assert_str_eq(r.msgs[3], "last");
	/* an OK Response ends a server stream too; its payload is a last message */
	struct rec o = { 0 };
	open_stream(&o, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	expect_request(&q);
	data(3, 0, "a");
	response(3, 0, NULL, "b");
	run_until(&o.n_done, 1);
	cr_assert_eq(o.code, TTRPC_CODE_OK);
	cr_assert_eq(o.n_msgs, 2);
	cr_assert_str_eq(o.msgs[1], "b");
	cr_assert_str_eq(o.payload, "");
	/* data for a stream that is not open is dropped */
	data(99, 0, "stray");
	data(3, 0, "late");
	struct rec u = { 0 };
	open_stream(&u, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	expect_request(&q);
	cr_assert_eq(q.id, 5);
	data(5, RC | ND, NULL);
	run_until(&u.n_done, 1);
	cr_assert_eq(u.n_msgs, 0);
	cr_assert_eq(u.code, TTRPC_CODE_OK);
}

Test(client_stream_frames, error_status_after_held_messages)
{
	struct rec r = { 0 };
	r.pause_at_first = true;
	open_stream(&r, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	struct req q;
	expect_request(&q);
	data(1, 0, "a");
	data(1, 0, "b");
	response(1, TTRPC_CODE_NOT_FOUND, "gone", NULL);
	run_until(&r.n_msgs, 1);
	for (int i = 0; i < 50; i++) {
		ev_run(t.loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	cr_assert_eq(r.n_msgs, 1);
	cr_assert_eq(r.n_done, 0, "the status waits behind the held message");
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"x", 1), TTRPC_ECLOSED);
	ttrpc_stream_pause(r.st, false);
	cr_assert_eq(r.n_done, 1);
	cr_assert_eq(r.n_msgs, 2);
	cr_assert_eq(r.code, TTRPC_CODE_NOT_FOUND);
	cr_assert_str_eq(r.message, "gone");
}

Test(client_stream_frames, data_on_client_stream_is_a_protocol_error)
{
	struct rec r = { 0 };
	open_stream(&r, "Up", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	struct req q;
	expect_request(&q);
	data(1, 0, "no");
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_INTERNAL);
	cr_assert_eq(r.n_msgs, 0);
	response(1, 0, NULL, "late"); /* dropped */
	cr_assert_eq(ttrpc_client_pending(t.client), 0);
}

Test(client_stream_frames, oversized_data_fails_only_its_stream)
{
	cr_assert_eq(ttrpc_client_set_max_message(t.client, 1024), 0);
	struct rec a = { 0 }, b = { 0 };
	open_stream(&a, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	open_stream(&b, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	struct req q;
	expect_request(&q);
	expect_request(&q);
	static char big[2048];
	memset(big, 'z', sizeof(big) - 1);
	data(1, 0, big);
	data(3, RC, "fine");
	run_until(&a.n_done, 1);
	run_until(&b.n_done, 1);
	cr_assert_eq(a.code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert_eq(b.code, TTRPC_CODE_OK);
	cr_assert_str_eq(b.msgs[0], "fine");
}

/* --- local ends send nothing --- */

Test(client_stream_frames, cancel_deadline_overrun_and_rejection_send_nothing)
{
	struct rec c = { 0 };
	open_stream(&c, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	struct req q;
	expect_request(&q);
	ttrpc_stream_cancel(c.st);
	cr_assert_eq(c.n_done, 1);
	cr_assert_eq(c.code, TTRPC_CODE_CANCELLED);
	expect_nothing(50);
	data(1, 0, "after cancel"); /* read and dropped */
	data(1, RC | ND, NULL);

	struct ttrpc_call_opts opts = { .timeout_ns = 50000000LL };
	struct rec d = { 0 };
	open_stream(&d, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, &opts);
	expect_request(&q);
	cr_assert_eq(q.id, 3);
	run_until(&d.n_done, 1);
	cr_assert_eq(d.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	expect_nothing(50);

	cr_assert_eq(ttrpc_client_set_stream_buffer(t.client, 100), 0);
	struct rec o = { 0 };
	o.pause_at_first = true;
	open_stream(&o, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	expect_request(&q);
	cr_assert_eq(q.id, 5);
	data(5, 0, "first");
	data(5, 0, "0123456789012345678901234567890123456789");
	data(5, 0, "0123456789012345678901234567890123456789");
	run_until(&o.n_done, 1);
	cr_assert_eq(o.code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert_eq(o.n_msgs, 1);
	expect_nothing(50);

	cr_assert_eq(c.n_msgs + d.n_msgs, 0);
	cr_assert_eq(ttrpc_client_pending(t.client), 0);
}

static int deny(const char *service, const char *method, enum ttrpc_stream_kind kind, ttrpc_md *md, char **message,
		void *user)
{
	(void)service;
	(void)method;
	(void)md;
	(void)message;
	(void)user;
	return kind == TTRPC_KIND_UNARY ? TTRPC_CODE_OK : TTRPC_CODE_UNAUTHENTICATED;
}

Test(client_stream_frames, rejected_stream_sends_nothing)
{
	struct ttrpc_client_interceptor ic = { .before = deny };
	cr_assert_eq(ttrpc_client_add_interceptor(t.client, &ic), 0);
	struct rec r = { 0 };
	ttrpc_stream *st = (ttrpc_stream *)&r;
	cr_assert_eq(ttrpc_client_stream_open(t.client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &cbs, &r,
					      &st),
		     0);
	cr_assert_null(st);
	cr_assert_eq(r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_UNAUTHENTICATED);
	expect_nothing(50);
}

Test(client_stream_frames, peer_gone_fails_every_stream)
{
	struct rec a = { 0 }, b = { 0 }, c = { 0 };
	open_stream(&a, "Down", TTRPC_KIND_SERVER_STREAM, "x", NULL);
	open_stream(&b, "Up", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	open_stream(&c, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	struct req q;
	for (int i = 0; i < 3; i++)
		expect_request(&q);
	data(1, 0, "m");
	run_until(&a.n_msgs, 1);
	close(t.fd);
	t.fd = -1;
	run_until(&a.n_done, 1);
	cr_assert_eq(b.n_done + c.n_done, 2);
	cr_assert_eq(a.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(c.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(ttrpc_client_pending(t.client), 0);
}
