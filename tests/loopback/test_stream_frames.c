/* SPDX-License-Identifier: Apache-2.0 */
/* The server's streams frame by frame, as Go ttrpc 1.2 puts them on the
 * wire: a raw socket peer (hand-written frames) against our server running
 * in this process on one end of a socketpair. */
#include <criterion/criterion.h>
#include <ev.h>
#include <fcntl.h>
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
#define RC 0x1
#define RO 0x2
#define ND 0x4

static struct {
	struct ev_loop *loop;
	ttrpc_server *server;
	int fd; /* the raw peer's end */
	uint8_t in[1 << 25];
	size_t in_len;
	int orphaned;
	int writable;
	ttrpc_call *held[8]; /* calls finished at teardown */
	int n_held;
	int ic_before, ic_after, ic_last_code;
} t;

struct frame {
	uint32_t id;
	uint8_t type, flags;
	uint8_t *body;
	uint32_t len;
	struct rp_reply r; /* decoded when type is Response */
};

/* --- handlers --- */

static void on_orphan(ttrpc_call *call, void *user)
{
	(void)call;
	(void)user;
	t.orphaned++;
}

static void hold(ttrpc_call *call)
{
	cr_assert_lt(t.n_held, 8);
	ttrpc_call_on_orphan(call, on_orphan, NULL);
	t.held[t.n_held++] = call;
}

/* A handler that ends its call when the peer is gone (from the hook). */
static void end_orphan(ttrpc_call *call, void *user)
{
	(void)user;
	free(ttrpc_call_user(call));
	cr_assert(ttrpc_call_orphaned(call));
	cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, "peer gone"), TTRPC_ECLOSED);
}

/* Down: request "N:text": N messages "text<i>" ("" when text is empty), then OK. */
static void down_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[256] = "";
	memcpy(buf, req, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
	char *colon = strchr(buf, ':');
	int n = atoi(buf);
	const char *text = colon ? colon + 1 : "";
	for (int i = 0; i < n; i++) {
		char msg[300];
		int k = *text ? snprintf(msg, sizeof(msg), "%s%d", text, i) : 0;
		cr_assert_eq(ttrpc_call_send(call, (const uint8_t *)msg, (size_t)k), 0);
	}
	if (!strcmp(text, "fail"))
		cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_NOT_FOUND, "gone %d", n), 0);
	else
		cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_OK, NULL), 0);
}

/* Up: counts messages and bytes, answers "n=N b=B" at close-send. */
struct up {
	int n;
	size_t b;
};

static void up_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	cr_assert_null(req);
	cr_assert_eq(len, 0);
	ttrpc_call_set_user(call, calloc(1, sizeof(struct up)));
	if (!strcmp(ttrpc_call_method(call), "UpPaused")) {
		ttrpc_call_pause(call, true);
		hold(call);
	} else {
		ttrpc_call_on_orphan(call, end_orphan, NULL);
	}
}

static void up_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)msg;
	(void)user;
	struct up *u = ttrpc_call_user(call);
	u->n++;
	u->b += len;
}

static void up_close(ttrpc_call *call, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	char out[64];
	int k = snprintf(out, sizeof(out), "n=%d b=%zu", u->n, u->b);
	free(u);
	ttrpc_call_set_user(call, NULL);
	cr_assert_eq(ttrpc_call_respond(call, (const uint8_t *)out, (size_t)k), 0);
}

/* Chat: echoes; ends OK at close-send. Hold: echoes, never ends by itself. */
static void chat_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	if (!strcmp(ttrpc_call_method(call), "Hold"))
		hold(call);
	else
		ttrpc_call_on_orphan(call, end_orphan, NULL);
}

static void chat_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	cr_assert_eq(ttrpc_call_send(call, msg, len), 0);
}

static void chat_close(ttrpc_call *call, void *user)
{
	(void)user;
	if (strcmp(ttrpc_call_method(call), "Hold"))
		cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_OK, NULL), 0);
}

/* Pump: request "N:SIZE": N messages of SIZE bytes, as fast as the window
 * lets it, then OK. */
struct pump {
	int left, size, sent;
	int eagain_at; /* messages sent when the first EAGAIN came */
};
static struct pump pump_state;

static void pump_go(ttrpc_call *call)
{
	struct pump *p = &pump_state;
	uint8_t *buf = malloc((size_t)p->size);
	memset(buf, 'p', (size_t)p->size);
	while (p->left > 0) {
		int rc = ttrpc_call_send(call, buf, (size_t)p->size);
		if (rc == TTRPC_EAGAIN) {
			cr_assert_not(ttrpc_call_writable(call));
			if (!p->eagain_at)
				p->eagain_at = p->sent;
			free(buf);
			return;
		}
		cr_assert_eq(rc, 0);
		p->left--;
		p->sent++;
	}
	free(buf);
	cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_OK, NULL), 0);
}

static void pump_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[64] = "";
	memcpy(buf, req, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
	memset(&pump_state, 0, sizeof(pump_state));
	pump_state.left = atoi(buf);
	pump_state.size = atoi(strchr(buf, ':') + 1);
	pump_go(call);
}

static void pump_writable(ttrpc_call *call, void *user)
{
	(void)user;
	t.writable++;
	pump_go(call);
}

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	ttrpc_call_respond(call, req, len);
}

/* --- interceptors --- */

static int ic_before(ttrpc_call *call, char **message, void *user)
{
	(void)user;
	t.ic_before++;
	const char *deny = ttrpc_md_get(ttrpc_call_metadata(call), "deny");
	if (deny) {
		*message = strdup(deny);
		return TTRPC_CODE_PERMISSION_DENIED;
	}
	return TTRPC_CODE_OK;
}

static void ic_after(const ttrpc_call *call, int code, int64_t duration_ns, void *user)
{
	(void)call;
	(void)user;
	cr_assert_geq(duration_ns, 0);
	t.ic_after++;
	t.ic_last_code = code;
}

/* --- harness --- */

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	t.loop = ev_loop_new(EVFLAG_AUTO);
	t.server = ttrpc_server_new(t.loop);
	cr_assert_not_null(t.server);
	struct ttrpc_stream_handler down = { .kind = TTRPC_KIND_SERVER_STREAM, .on_open = down_open };
	struct ttrpc_stream_handler up = {
		.kind = TTRPC_KIND_CLIENT_STREAM, .on_open = up_open, .on_msg = up_msg, .on_close_send = up_close
	};
	struct ttrpc_stream_handler chat = {
		.kind = TTRPC_KIND_BIDI_STREAM, .on_open = chat_open, .on_msg = chat_msg, .on_close_send = chat_close
	};
	struct ttrpc_stream_handler pump = { .kind = TTRPC_KIND_SERVER_STREAM,
					     .on_open = pump_open,
					     .on_writable = pump_writable };
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Down", &down, NULL), 0);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Up", &up, NULL), 0);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "UpPaused", &up, NULL), 0);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Chat", &chat, NULL), 0);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Hold", &chat, NULL), 0);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Pump", &pump, NULL), 0);
	cr_assert_eq(ttrpc_server_register(t.server, SVC, "Echo", echo, NULL), 0);
	cr_assert_eq(ttrpc_server_register(t.server, SVC, "Chat", echo, NULL), TTRPC_EEXIST);
	cr_assert_eq(ttrpc_server_register_stream(t.server, SVC, "Echo", &chat, NULL), TTRPC_EEXIST);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	t.fd = sv[0];
	cr_assert_eq(ttrpc_server_adopt_conn(t.server, sv[1]), 0);
}

static void teardown(void)
{
	for (int i = 0; i < t.n_held; i++) {
		free(ttrpc_call_user(t.held[i])); /* UpPaused's counters */
		ttrpc_call_finish(t.held[i], TTRPC_CODE_CANCELLED, "teardown");
	}
	if (t.fd >= 0)
		close(t.fd);
	ttrpc_server_free(t.server);
	ev_loop_destroy(t.loop);
}

TestSuite(stream_frames, .init = setup, .fini = teardown, .timeout = 60);

static void run_for(int ms)
{
	int64_t end = rp_now_ms() + ms;
	do {
		ev_run(t.loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	} while (rp_now_ms() < end);
}

static void put(uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
	uint8_t h[10];
	rp_header(h, (uint32_t)n, id, type, flags);
	/* the server runs only between our calls: write while pumping it */
	const uint8_t *parts[2] = { h, p };
	size_t lens[2] = { 10, n };
	for (int k = 0; k < 2; k++) {
		size_t off = 0;
		while (off < lens[k]) {
			ssize_t w = send(t.fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				off += (size_t)w;
			else
				ev_run(t.loop, EVRUN_NOWAIT);
		}
	}
	ev_run(t.loop, EVRUN_NOWAIT);
}

static void request(uint32_t id, uint8_t flags, const char *method, const void *payload, size_t n)
{
	struct rp_pb b = rp_request(SVC, method, payload, n);
	put(id, 1, flags, b.p, b.len);
	free(b.p);
}

/* A request whose payload field is on the wire but empty. */
static void request_empty_payload(uint32_t id, uint8_t flags, const char *method)
{
	struct rp_pb b = rp_request(SVC, method, NULL, 0);
	rp_pb_bytes(&b, 3, "", 0);
	put(id, 1, flags, b.p, b.len);
	free(b.p);
}

static void request_md(uint32_t id, uint8_t flags, const char *method, const char *key, const char *value)
{
	struct rp_pb b = rp_request(SVC, method, NULL, 0);
	struct rp_pb kv = { 0 };
	rp_pb_bytes(&kv, 1, key, strlen(key));
	rp_pb_bytes(&kv, 2, value, strlen(value));
	rp_pb_bytes(&b, 5, kv.p, kv.len);
	free(kv.p);
	put(id, 1, flags, b.p, b.len);
	free(b.p);
}

static void data(uint32_t id, uint8_t flags, const char *s)
{
	put(id, 3, flags, s, s ? strlen(s) : 0);
}

static void loop_turn(void *arg)
{
	(void)arg;
	ev_run(t.loop, EVRUN_NOWAIT);
}

/* Next frame from the server within timeout_ms (false when none came). */
static bool next_frame(struct frame *f, int timeout_ms)
{
	struct rp_in in = { .fd = t.fd, .buf = t.in, .len = t.in_len, .cap = sizeof(t.in) };
	struct rp_frame rf;
	int got = rp_next_frame(&in, &rf, timeout_ms, loop_turn, NULL);
	t.in_len = in.len;
	if (!got)
		return false;
	memset(f, 0, sizeof(*f));
	f->id = rf.id;
	f->type = rf.type;
	f->flags = rf.flags;
	f->body = rf.body;
	f->len = rf.len;
	if (f->type == 2)
		cr_assert_eq(rp_decode_reply(f->body, f->len, &f->r), 0);
	return true;
}

static void frame_free(struct frame *f)
{
	free(f->body);
	free(f->r.payload);
	f->body = NULL;
	f->r.payload = NULL;
}

/* Expect one frame, exactly. body may be NULL to skip the comparison. */
static void expect_data(uint32_t id, uint8_t flags, const char *body)
{
	struct frame f;
	cr_assert(next_frame(&f, 3000), "no frame (wanted Data %u flags %u)", id, flags);
	cr_assert_eq(f.type, 3, "type %u, wanted Data (code %d %s)", f.type, f.r.code, f.r.message);
	cr_assert_eq(f.id, id);
	cr_assert_eq(f.flags, flags, "flags %#x, wanted %#x", f.flags, flags);
	if (body) {
		cr_assert_eq(f.len, strlen(body));
		cr_assert_str_eq((char *)f.body, body);
	}
	frame_free(&f);
}

static void expect_response(uint32_t id, int code, const char *message, const char *payload)
{
	struct frame f;
	cr_assert(next_frame(&f, 3000), "no frame (wanted Response %u)", id);
	cr_assert_eq(f.type, 2, "type %u flags %#x, wanted Response", f.type, f.flags);
	cr_assert_eq(f.id, id);
	cr_assert_eq(f.flags, 0);
	cr_assert_eq(f.r.code, code, "code %d (%s), wanted %d", f.r.code, f.r.message, code);
	if (message)
		cr_assert_str_eq(f.r.message, message);
	if (payload) {
		cr_assert_eq(f.r.len, strlen(payload));
		cr_assert(!f.r.len || !memcmp(f.r.payload, payload, f.r.len));
	}
	frame_free(&f);
}

static void expect_nothing(int ms)
{
	struct frame f;
	if (next_frame(&f, ms))
		cr_assert_fail("unexpected frame type %u id %u flags %#x len %u", f.type, f.id, f.flags, f.len);
}

/* --- server-streaming --- */

Test(stream_frames, server_stream_messages_then_data_remote_closed_no_data)
{
	request(1, RC, "Down", "3:m", 3);
	expect_data(1, 0, "m0");
	expect_data(1, 0, "m1");
	expect_data(1, 0, "m2");
	expect_data(1, RC | ND, "");
	expect_nothing(50);
}

Test(stream_frames, server_stream_of_zero_messages_is_one_end_frame)
{
	request(1, RC, "Down", "0:", 2);
	expect_data(1, RC | ND, "");
}

Test(stream_frames, empty_messages_are_data_frames_without_no_data)
{
	request(1, RC, "Down", "2", 1);
	expect_data(1, 0, "");
	expect_data(1, 0, "");
	expect_data(1, RC | ND, "");
}

Test(stream_frames, request_flags_do_not_choose_the_kind)
{
	/* Go's server goes by the registered method, not the request's flags */
	request(1, 0, "Down", "1:x", 3);
	expect_data(1, 0, "x0");
	expect_data(1, RC | ND, "");
}

Test(stream_frames, server_stream_error_is_a_response_with_status)
{
	request(1, RC, "Down", "2:fail", 6);
	expect_data(1, 0, "fail0");
	expect_data(1, 0, "fail1");
	expect_response(1, TTRPC_CODE_NOT_FOUND, "gone 2", "");
	/* the stream is gone: data on it is answered as Go does */
	data(1, 0, "late");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active", "");
}

/* --- client-streaming --- */

Test(stream_frames, client_stream_messages_close_send_then_response)
{
	request(1, RO, "Up", NULL, 0);
	data(1, 0, "abc");
	data(1, 0, NULL); /* an empty message is a message */
	data(1, 0, "de");
	expect_nothing(20);
	data(1, RC | ND, NULL);
	expect_response(1, 0, "", "n=3 b=5");
}

Test(stream_frames, request_payload_is_the_first_message)
{
	request(1, RO, "Up", "first", 5);
	data(1, RC | ND, NULL);
	expect_response(1, 0, "", "n=1 b=5");
	/* present but empty: still a message (containerd/ttrpc#126) */
	request_empty_payload(3, RO, "Up");
	data(3, RC | ND, NULL);
	expect_response(3, 0, "", "n=1 b=0");
	/* absent: none */
	request(5, RO, "Up", NULL, 0);
	data(5, RC | ND, NULL);
	expect_response(5, 0, "", "n=0 b=0");
}

/* Regression (ttrpc-conform str.upload-closed-at-request): a Request flagged
 * remote-closed on a client-streaming method is the close-send too; the
 * server answered nothing before. With a payload, that is the one message. */
Test(stream_frames, request_remote_closed_is_close_send)
{
	request(1, RC, "Up", NULL, 0);
	expect_response(1, 0, "", "n=0 b=0");
	request(3, RC, "Up", "only", 4);
	expect_response(3, 0, "", "n=1 b=4");
	/* and data after it is data after close-send */
	request(5, RC | RO, "Hold", NULL, 0);
	data(5, 0, "late");
	expect_response(5, TTRPC_CODE_INVALID_ARGUMENT, "data handling error: ttrpc: stream closed", "");
}

Test(stream_frames, no_data_frame_carries_no_message)
{
	request(1, RO, "Up", NULL, 0);
	data(1, ND, NULL);
	data(1, RC | ND, NULL);
	expect_response(1, 0, "", "n=0 b=0");
}

Test(stream_frames, close_frame_with_data_is_invalid_argument)
{
	request(1, RO, "Hold", NULL, 0);
	data(1, RC, "x");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "data close message cannot include data", "");
	cr_assert_eq(t.orphaned, 1, "the handler learns that its stream is gone");
	cr_assert(ttrpc_call_orphaned(t.held[0]));
	cr_assert_eq(ttrpc_call_send(t.held[0], (const uint8_t *)"x", 1), TTRPC_ECLOSED);
	data(1, 0, "y");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active", "");
}

Test(stream_frames, data_after_close_send_is_invalid_argument)
{
	request(1, RO, "Hold", NULL, 0);
	data(1, 0, "a");
	expect_data(1, 0, "a");
	data(1, RC | ND, NULL);
	expect_nothing(20);
	data(1, 0, "b");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "data handling error: ttrpc: stream closed", "");
	cr_assert_eq(t.orphaned, 1);
}

/* --- bidi --- */

Test(stream_frames, bidi_echo_and_end)
{
	request(1, RO, "Chat", NULL, 0);
	data(1, 0, "hello");
	expect_data(1, 0, "hello");
	data(1, 0, NULL);
	expect_data(1, 0, "");
	request(3, RO, "Chat", NULL, 0); /* two streams interleaved */
	data(3, 0, "other");
	data(1, 0, "again");
	expect_data(3, 0, "other");
	expect_data(1, 0, "again");
	data(1, RC | ND, NULL);
	expect_data(1, RC | ND, "");
	request(5, 0, "Echo", "unary", 5); /* unary calls go on beside streams */
	expect_response(5, 0, "", "unary");
	data(3, RC | ND, NULL);
	expect_data(3, RC | ND, "");
}

Test(stream_frames, data_on_a_finished_or_even_stream_is_invalid_argument)
{
	request(1, 0, "Echo", "e", 1);
	expect_response(1, 0, "", "e");
	data(1, 0, "x");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active", "");
	data(2, 0, "x");
	expect_response(2, TTRPC_CODE_INVALID_ARGUMENT, "StreamID must be odd for client initiated streams", "");
}

Test(stream_frames, unknown_stream_method_is_unimplemented)
{
	request(1, RO, "Nope", NULL, 0);
	expect_response(1, TTRPC_CODE_UNIMPLEMENTED, "method Nope", "");
	data(1, 0, "x");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active", "");
}

/* --- bounds and flow --- */

Test(stream_frames, receive_bound_fails_only_that_stream)
{
	cr_assert_eq(ttrpc_server_set_stream_buffer(t.server, 0), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_server_set_stream_buffer(t.server, 1000), 0);
	request(1, RO, "UpPaused", NULL, 0);
	request(3, RO, "Chat", NULL, 0);
	char msg[601];
	memset(msg, 'x', 600);
	msg[600] = 0;
	data(1, 0, msg); /* held: the handler paused */
	expect_nothing(20);
	data(1, 0, msg); /* over 1000 bytes held */
	expect_response(1, TTRPC_CODE_RESOURCE_EXHAUSTED, NULL, "");
	cr_assert_eq(t.orphaned, 1);
	cr_assert(ttrpc_call_orphaned(t.held[0]));
	/* the connection and the other stream go on */
	data(3, 0, "still");
	expect_data(3, 0, "still");
	request(5, 0, "Echo", "ok", 2);
	expect_response(5, 0, "", "ok");
	data(1, 0, "x");
	expect_response(1, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active", "");
}

Test(stream_frames, paused_stream_delivers_in_order_on_resume)
{
	request(1, RO, "UpPaused", NULL, 0);
	data(1, 0, "ab");
	data(1, 0, NULL);
	data(1, RC | ND, NULL);
	expect_nothing(30); /* the close-send waits behind the held messages */
	struct up *u = ttrpc_call_user(t.held[0]);
	cr_assert_eq(u->n, 0);
	t.n_held = 0; /* up_close answers it */
	ttrpc_call_pause(t.held[0], false);
	expect_response(1, 0, "", "n=2 b=2");
}

Test(stream_frames, oversized_data_frame_fails_the_stream_not_the_connection)
{
	cr_assert_eq(ttrpc_server_set_max_message(t.server, 0), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_server_set_max_message(t.server, TTRPC_MAX_MESSAGE_LIMIT + 1), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_server_set_max_message(t.server, 100), 0);
	request(1, RO, "Chat", NULL, 0);
	char msg[102];
	memset(msg, 'y', 101);
	msg[101] = 0;
	data(1, 0, msg);
	expect_response(1, TTRPC_CODE_RESOURCE_EXHAUSTED, "message length 101 exceed maximum message size of 100", "");
	msg[100] = 0; /* exactly the limit is fine */
	request(3, RO, "Chat", NULL, 0);
	data(3, 0, msg);
	expect_data(3, 0, msg);
}

Test(stream_frames, larger_message_limit_up_to_16_mib)
{
	cr_assert_eq(ttrpc_server_set_max_message(t.server, TTRPC_MAX_MESSAGE_LIMIT), 0);
	request(1, RO, "Chat", NULL, 0);
	size_t n = 5u << 20; /* over the 4 MiB default */
	char *msg = malloc(n + 1);
	memset(msg, 'z', n);
	msg[n] = 0;
	data(1, 0, msg);
	struct frame f;
	cr_assert(next_frame(&f, 5000));
	cr_assert_eq(f.type, 3);
	cr_assert_eq(f.len, n);
	cr_assert(!memcmp(f.body, msg, n));
	frame_free(&f);
	free(msg);
}

Test(stream_frames, send_backpressure_eagain_then_on_writable)
{
	/* 64 messages of 64 KiB: 4 MiB, four times the send window */
	request(1, RC, "Pump", "64:65536", 8);
	cr_assert_gt(pump_state.eagain_at, 0, "the window must fill while nobody reads");
	cr_assert_leq((size_t)pump_state.eagain_at * 65536, TTRPC_STREAM_SEND_WINDOW + 65536u * 2,
		      "sent %d before EAGAIN", pump_state.eagain_at);
	cr_assert_eq(t.writable, 0);
	/* read everything: the stream goes on and ends */
	for (int i = 0; i < 64; i++) {
		struct frame f;
		cr_assert(next_frame(&f, 5000), "message %d missing (sent %d)", i, pump_state.sent);
		cr_assert_eq(f.type, 3);
		cr_assert_eq(f.flags, 0);
		cr_assert_eq(f.len, 65536);
		frame_free(&f);
	}
	expect_data(1, RC | ND, "");
	cr_assert_gt(t.writable, 0);
}

Test(stream_frames, peer_gone_orphans_open_streams)
{
	request(1, RO, "Hold", NULL, 0);
	request(3, RO, "Hold", NULL, 0);
	data(1, 0, "a");
	expect_data(1, 0, "a");
	close(t.fd);
	t.fd = -1;
	run_for(30);
	cr_assert_eq(t.orphaned, 2);
	cr_assert(ttrpc_call_orphaned(t.held[0]));
	cr_assert_eq(ttrpc_call_send(t.held[1], (const uint8_t *)"x", 1), TTRPC_ECLOSED);
}

/* --- interceptors --- */

Test(stream_frames, server_interceptors_see_and_reject_streams)
{
	struct ttrpc_server_interceptor ic = { .before = ic_before, .after = ic_after };
	cr_assert_eq(ttrpc_server_add_interceptor(t.server, &ic), 0);
	request_md(1, RO, "Chat", "deny", "no streams for you");
	expect_response(1, TTRPC_CODE_PERMISSION_DENIED, "no streams for you", "");
	cr_assert_eq(t.ic_before, 1);
	cr_assert_eq(t.ic_after, 1);
	cr_assert_eq(t.ic_last_code, TTRPC_CODE_PERMISSION_DENIED);
	request(3, RC, "Down", "1:a", 3);
	expect_data(3, 0, "a0");
	expect_data(3, RC | ND, "");
	cr_assert_eq(t.ic_before, 2);
	cr_assert_eq(t.ic_after, 2);
	cr_assert_eq(t.ic_last_code, TTRPC_CODE_OK);
	request(5, RO, "Hold", NULL, 0);
	close(t.fd);
	t.fd = -1;
	run_for(20);
	cr_assert_eq(t.ic_after, 2, "after runs when the handler ends the orphaned call");
	ttrpc_call_finish(t.held[0], TTRPC_CODE_OK, NULL);
	t.n_held = 0;
	cr_assert_eq(t.ic_after, 3);
	cr_assert_eq(t.ic_last_code, TTRPC_CODE_CANCELLED);
}
