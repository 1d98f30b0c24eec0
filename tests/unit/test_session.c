/* SPDX-License-Identifier: Apache-2.0 */
/* The session engine fed the same bytes whole, byte by byte and in random
 * chunks must produce the same events and the same output bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

TestSuite(session, .timeout = 30);

struct trace {
	char text[1 << 16];
	size_t len;
};

static void tracef(struct trace *t, const char *fmt, ...) TTRPC_PRINTF(2, 3);
static void tracef(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(t->text) - t->len, "trace overflow");
	t->len += (size_t)n;
}

/* Server handler: record the request, answer at once with its payload
 * (or an error for method "Fail"). */
static void srv_request(struct ttrpc__session *s, uint32_t id, const struct ttrpc__request_in *req, void *user)
{
	struct trace *t = user;
	tracef(t, "req %u %s/%s len=%zu timeout=%lld md=%zu\n", id, req->service, req->method, req->len,
	       (long long)req->timeout_ns, ttrpc__request_in_md_count(req));
	if (!strcmp(req->method, "Fail"))
		ttrpc__session_respond(s, id, TTRPC_CODE_NOT_FOUND, "nope", NULL, 0);
	else if (strcmp(req->method, "Later"))
		ttrpc__session_respond(s, id, 0, NULL, req->payload, req->len);
}

static void cli_response(struct ttrpc__session *s, void *data, const struct ttrpc__response_in *r, void *user)
{
	(void)s;
	struct trace *t = user;
	tracef(t, "resp %lu code=%d msg=%s len=%zu\n", (unsigned long)(uintptr_t)data, r->code, r->message, r->len);
}

static void put_raw(struct ttrpc__buf *b, uint32_t len, uint32_t id, uint8_t type, uint8_t flags,
		    const uint8_t *payload, size_t payload_len)
{
	struct ttrpc__frame_header h = { .length = len, .stream_id = id, .type = type, .flags = flags };
	uint8_t *p = ttrpc__buf_reserve(b, 10 + payload_len);
	ttrpc__frame_pack(p, &h);
	if (payload_len)
		memcpy(p + 10, payload, payload_len);
	ttrpc__buf_commit(b, 10 + payload_len);
}

static void put_req(struct ttrpc__buf *b, uint32_t id, const char *method, size_t len, const ttrpc_md *md)
{
	uint8_t *payload = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 7 + id);
	struct ttrpc__request_out r = { .service = "test.Svc",
					.method = method,
					.payload = payload,
					.len = len,
					.timeout_ns = id * 1000,
					.md = md };
	cr_assert_eq(ttrpc__wire_put_request(b, id, 0, &r, TTRPC_MAX_MESSAGE_SIZE), 0);
	free(payload);
}

/* A client's byte stream with good requests and every kind of bad frame. */
static void build_input(struct ttrpc__buf *in)
{
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "a", "1");
	ttrpc_md_add(md, "b", "2");
	put_req(in, 1, "Echo", 0, NULL);
	put_req(in, 3, "Echo", 100, md);
	put_req(in, 5, "Fail", 3, NULL);
	put_req(in, 4, "Echo", 1, NULL);    /* even id */
	put_req(in, 3, "Echo", 1, NULL);    /* reused id */
	put_raw(in, 0, 7, 0x7, 0, NULL, 0); /* unknown type, empty */
	const uint8_t junk[] = { 1, 2, 3, 4, 5 };
	put_raw(in, sizeof(junk), 9, 0x9, 0, junk, sizeof(junk));		    /* unknown type with payload */
	put_raw(in, sizeof(junk), 11, TTRPC__FRAME_REQUEST, 0, junk, sizeof(junk)); /* undecodable */
	put_raw(in, 0, 13, TTRPC__FRAME_DATA, 0, NULL, 0);			    /* data, unknown stream */
	put_req(in, 15, "Later", 10, NULL);
	put_raw(in, 3, 15, TTRPC__FRAME_DATA, 0, junk, 3); /* data on an open unary stream */
	/* Oversized: header claims 4 MiB + 1, payload follows and is skipped. */
	uint32_t big = TTRPC_MAX_MESSAGE_SIZE + 1;
	uint8_t *zeros = calloc(1, big);
	put_raw(in, big, 17, TTRPC__FRAME_REQUEST, 0, zeros, big);
	free(zeros);
	put_req(in, 19, "Echo", 70000, md); /* larger than one read chunk */
	put_req(in, 21, "Echo", TTRPC_MAX_MESSAGE_SIZE - 100, NULL);
	ttrpc_md_free(md);
}

struct run {
	struct trace events;
	struct ttrpc__buf out;
};

static void feed(struct ttrpc__session *s, const uint8_t *data, size_t len, int mode, unsigned seed)
{
	srand(seed);
	size_t off = 0;
	while (off < len) {
		size_t n;
		if (mode == 0)
			n = len - off;
		else if (mode == 1)
			n = 1;
		else
			n = 1 + (size_t)rand() % (rand() % 4 == 0 ? 200000 : 23);
		if (n > len - off)
			n = len - off;
		cr_assert_eq(ttrpc__session_recv(s, data + off, n), 0);
		off += n;
	}
}

static void run_server(const struct ttrpc__buf *in, int mode, unsigned seed, struct run *r)
{
	struct ttrpc__session s;
	struct ttrpc__session_cbs cbs = { .on_request = srv_request };
	ttrpc__session_init(&s, TTRPC__ROLE_SERVER, &cbs, &r->events);
	/* byte-by-byte over 12 MiB is slow: do it for the small prefix only */
	feed(&s, ttrpc__buf_head(in), ttrpc__buf_pending(in), mode, seed);
	uint8_t *o = ttrpc__buf_reserve(&r->out, ttrpc__buf_pending(&s.out));
	memcpy(o, ttrpc__buf_head(&s.out), ttrpc__buf_pending(&s.out));
	ttrpc__buf_commit(&r->out, ttrpc__buf_pending(&s.out));
	tracef(&r->events, "open=%zu\n", ttrpc__session_open_streams(&s));
	ttrpc__session_destroy(&s);
}

static const char *expected_server_events = "req 1 test.Svc/Echo len=0 timeout=1000 md=0\n"
					    "req 3 test.Svc/Echo len=100 timeout=3000 md=2\n"
					    "req 5 test.Svc/Fail len=3 timeout=5000 md=0\n"
					    "req 15 test.Svc/Later len=10 timeout=15000 md=0\n"
					    "req 19 test.Svc/Echo len=70000 timeout=19000 md=2\n"
					    "req 21 test.Svc/Echo len=4194204 timeout=21000 md=0\n"
					    "open=1\n";

Test(session, chunkings_give_identical_results, .timeout = 120)
{
	struct ttrpc__buf in = { 0 };
	build_input(&in);
	static struct run whole, bytewise, random_runs[5];
	run_server(&in, 0, 0, &whole);
	cr_assert_str_eq(whole.events.text, expected_server_events);
	run_server(&in, 1, 0, &bytewise);
	cr_assert_str_eq(bytewise.events.text, whole.events.text);
	cr_assert_eq(ttrpc__buf_pending(&bytewise.out), ttrpc__buf_pending(&whole.out));
	cr_assert_arr_eq(ttrpc__buf_head(&bytewise.out), ttrpc__buf_head(&whole.out), ttrpc__buf_pending(&whole.out));
	for (unsigned i = 0; i < 5; i++) {
		run_server(&in, 2, i + 1, &random_runs[i]);
		cr_assert_str_eq(random_runs[i].events.text, whole.events.text, "seed %u", i + 1);
		cr_assert_eq(ttrpc__buf_pending(&random_runs[i].out), ttrpc__buf_pending(&whole.out));
		cr_assert_arr_eq(ttrpc__buf_head(&random_runs[i].out), ttrpc__buf_head(&whole.out),
				 ttrpc__buf_pending(&whole.out));
		ttrpc__buf_free(&random_runs[i].out);
	}
	ttrpc__buf_free(&bytewise.out);
	ttrpc__buf_free(&in);

	/* Every answer frame the server wrote, in order. */
	struct trace frames = { 0 };
	for (size_t off = 0; off < ttrpc__buf_pending(&whole.out);) {
		struct ttrpc__frame_header h;
		const uint8_t *p = ttrpc__buf_head(&whole.out) + off;
		cr_assert_eq(ttrpc__frame_unpack(p, ttrpc__buf_pending(&whole.out) - off, &h), 0);
		struct ttrpc__response_in r;
		cr_assert_eq(ttrpc__wire_decode_response(p + 10, h.length, &r), 0);
		tracef(&frames, "%u:%d:%u ", h.stream_id, r.code, h.type);
		ttrpc__wire_response_free(&r);
		off += 10 + h.length;
	}
	cr_assert_str_eq(frames.text, "1:0:2 3:0:2 5:5:2 4:3:2 3:3:2 11:3:2 13:3:2 17:8:2 19:0:2 21:0:2 ");

	/* The server's answers, read back by a client session in chunks. */
	struct ttrpc__session c;
	struct trace ct = { 0 };
	struct ttrpc__session_cbs ccbs = { .on_response = cli_response };
	ttrpc__session_init(&c, TTRPC__ROLE_CLIENT, &ccbs, &ct);
	for (uintptr_t id = 1; id <= 21; id += 2)
		cr_assert_eq(ttrpc__streams_put(&c.streams, (uint32_t)id, (void *)id), 0);
	feed(&c, ttrpc__buf_head(&whole.out), ttrpc__buf_pending(&whole.out), 2, 99);
	cr_assert_str_eq(ct.text,
			 "resp 1 code=0 msg= len=0\n"
			 "resp 3 code=0 msg= len=100\n"
			 "resp 5 code=5 msg=nope len=0\n"
			 "resp 11 code=3 msg=unmarshal request error: invalid protobuf len=0\n"
			 "resp 13 code=3 msg=StreamID is no longer active len=0\n"
			 "resp 17 code=8 msg=message length 4194305 exceed maximum message size of 4194304 len=0\n"
			 "resp 19 code=0 msg= len=70000\n"
			 "resp 21 code=0 msg= len=4194204\n");
	/* The answers to the even id 4 and the reused id 3 found no pending call
	 * and were dropped; 7, 9 and 15 stay open. */
	cr_assert_eq(ttrpc__session_open_streams(&c), 3);
	ttrpc__session_destroy(&c);
	ttrpc__buf_free(&whole.out);
}

Test(session, client_ids_are_odd_and_increase)
{
	struct ttrpc__session c;
	struct ttrpc__session_cbs cbs = { .on_response = cli_response };
	ttrpc__session_init(&c, TTRPC__ROLE_CLIENT, &cbs, NULL);
	struct ttrpc__request_out r = { .service = "s", .method = "m" };
	uint32_t id, prev = 0;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(ttrpc__session_request(&c, &r, NULL, &id), 0);
		cr_assert_eq(id % 2, 1);
		cr_assert_gt(id, prev);
		prev = id;
	}
	cr_assert_eq(ttrpc__session_open_streams(&c), 100);
	cr_assert_null(ttrpc__session_forget(&c, 1));
	cr_assert_eq(ttrpc__session_open_streams(&c), 99);
	ttrpc__session_destroy(&c);
}

Test(session, oversized_request_is_refused_before_any_byte)
{
	struct ttrpc__session c;
	struct ttrpc__session_cbs cbs = { .on_response = cli_response };
	ttrpc__session_init(&c, TTRPC__ROLE_CLIENT, &cbs, NULL);
	static uint8_t big[TTRPC_MAX_MESSAGE_SIZE + 1];
	struct ttrpc__request_out r = { .service = "s", .method = "m", .payload = big, .len = sizeof(big) };
	uint32_t id;
	cr_assert_eq(ttrpc__session_request(&c, &r, NULL, &id), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc__buf_pending(&c.out), 0);
	cr_assert_eq(ttrpc__session_open_streams(&c), 0);
	ttrpc__session_destroy(&c);
}

Test(session, respond_to_unknown_stream_fails)
{
	struct ttrpc__session s;
	struct ttrpc__session_cbs cbs = { .on_request = srv_request };
	ttrpc__session_init(&s, TTRPC__ROLE_SERVER, &cbs, NULL);
	cr_assert_eq(ttrpc__session_respond(&s, 1, 0, NULL, NULL, 0), TTRPC_ENOTFOUND);
	ttrpc__session_destroy(&s);
}
