/* SPDX-License-Identifier: Apache-2.0 */
/* Our client (blocking and async) against the Go ttrpc server
 * (ttrpc-go-peer server). */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ttrpc/client.h>

#include "interop.pb-c.h"
#include "interop_proc.h"

#define TEST_SERVICE "ttrpc.interop.v1.Test"
#define MS 1000000ll

static struct interop_dir dir;
static struct interop_proc peer = { .pid = -1, .out_fd = -1 };
static ttrpc_client *client; /* blocking client on its private loop */

static void start_go_server(void)
{
	cr_assert(interop_dir_make(&dir), "mkdtemp failed");
	char *argv[] = { INTEROP_GO_PEER, "server", "--socket", dir.socket, NULL };
	cr_assert(interop_spawn(&peer, argv, false), "cannot start %s", INTEROP_GO_PEER);
	char log[4096] = "";
	cr_assert(interop_wait_ready(&peer, 10000, log, sizeof(log)), "Go server did not get ready; it said:\n%s", log);
	int err = 0;
	client = ttrpc_client_connect(NULL, dir.socket, &err);
	cr_assert_not_null(client, "connect %s: %s (%s)", dir.socket, ttrpc_strerror(err), strerror(errno));
}

static void stop_go_server(void)
{
	ttrpc_client_free(client);
	client = NULL;
	interop_stop(&peer, SIGTERM, 5000);
	interop_dir_remove(&dir);
}

TestSuite(go_server, .init = start_go_server, .fini = stop_go_server, .timeout = 120);

/* --- the { bytes payload = 1; } message --- */

static uint8_t *encode(const void *data, size_t len, size_t *out_len)
{
	Ttrpc__Interop__V1__Bytes m = TTRPC__INTEROP__V1__BYTES__INIT;
	m.payload.data = (uint8_t *)data;
	m.payload.len = len;
	*out_len = ttrpc__interop__v1__bytes__get_packed_size(&m);
	uint8_t *buf = malloc(*out_len ? *out_len : 1);
	cr_assert_not_null(buf);
	ttrpc__interop__v1__bytes__pack(&m, buf);
	return buf;
}

/* A decoded response payload (what the Go side put in BytesValue). */
struct reply {
	int code;
	char message[512];
	uint8_t *data;
	size_t len;
};

static void reply_from(struct reply *r, const struct ttrpc_result *res)
{
	r->code = res->code;
	snprintf(r->message, sizeof(r->message), "%s", res->message);
	r->data = NULL;
	r->len = 0;
	if (res->code != TTRPC_CODE_OK)
		return;
	Ttrpc__Interop__V1__Bytes *m = ttrpc__interop__v1__bytes__unpack(NULL, res->len, res->payload);
	cr_assert_not_null(m, "undecodable response (%zu bytes)", res->len);
	r->len = m->payload.len;
	r->data = malloc(r->len + 1);
	cr_assert_not_null(r->data);
	if (r->len)
		memcpy(r->data, m->payload.data, r->len);
	r->data[r->len] = '\0';
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
}

/* Blocking call of service/method with payload; fills r. */
static int call(const char *service, const char *method, const void *payload, size_t len,
		const struct ttrpc_call_opts *opts, struct reply *r)
{
	size_t req_len;
	uint8_t *req = encode(payload, len, &req_len);
	struct ttrpc_result res = { 0 };
	ttrpc_client_call_sync(client, service, method, req, req_len, opts, &res);
	free(req);
	reply_from(r, &res);
	ttrpc_result_clear(&res);
	return r->code;
}

static int call_text(const char *method, const char *text, const struct ttrpc_call_opts *opts, struct reply *r)
{
	return call(TEST_SERVICE, method, text, strlen(text), opts, r);
}

static void assert_text(struct reply *r, const char *what, const char *want)
{
	cr_assert_eq(r->code, TTRPC_CODE_OK, "%s: %s %s", what, ttrpc_code_name(r->code), r->message);
	cr_assert_str_eq((char *)r->data, want, "%s: got \"%s\", want \"%s\"", what, (char *)r->data, want);
	free(r->data);
	r->data = NULL;
}

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 7 + i / 251) ^ seed);
}

/* Protobuf size of a length-delimited field with a one-byte tag, omitted
 * (proto3) when empty. */
static size_t field_size(size_t n)
{
	if (n == 0)
		return 0;
	size_t v = 1;
	for (size_t x = n; x >= 0x80; x >>= 7)
		v++;
	return 1 + v + n;
}

/* Largest echo payload whose Request envelope fits TTRPC_MAX_MESSAGE_SIZE. */
static size_t largest_echo(const char *service, const char *method)
{
	size_t fixed = field_size(strlen(service)) + field_size(strlen(method));
	size_t n = TTRPC_MAX_MESSAGE_SIZE;
	while (fixed + field_size(field_size(n)) > TTRPC_MAX_MESSAGE_SIZE)
		n--;
	return n;
}

/* --- tests --- */

Test(go_server, echo_sizes)
{
	size_t max = largest_echo(TEST_SERVICE, "Echo");
	cr_assert_eq(max, 4194265, "envelope arithmetic changed: %zu", max);
	size_t sizes[] = { 0, 1, 1000, 65536, 1 << 20, max };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *want = malloc(n ? n : 1);
		cr_assert_not_null(want);
		fill_pattern(want, n, (unsigned)i);
		struct reply r;
		call(TEST_SERVICE, "Echo", want, n, NULL, &r);
		cr_assert_eq(r.code, TTRPC_CODE_OK, "echo %zu bytes: %s %s", n, ttrpc_code_name(r.code), r.message);
		cr_assert_eq(r.len, n, "echo %zu bytes: got %zu back", n, r.len);
		cr_assert(n == 0 || memcmp(r.data, want, n) == 0, "echo %zu bytes: content differs", n);
		free(r.data);
		free(want);
	}
	struct reply r;
	call("ttrpc.bench.v1.Bench", "Echo", "bench", 5, NULL, &r);
	assert_text(&r, "Bench/Echo", "bench");
}

static int async_calls_done;
static void count_done(const struct ttrpc_result *res, void *user)
{
	(void)res;
	(void)user;
	async_calls_done++;
}

Test(go_server, oversized_request_refused_locally)
{
	size_t max = largest_echo(TEST_SERVICE, "Echo");
	size_t req_len;
	uint8_t *big = calloc(1, max + 1);
	cr_assert_not_null(big);
	uint8_t *req = encode(big, max + 1, &req_len);

	/* async API: refused at once, done never runs, nothing pending */
	async_calls_done = 0;
	int rc = ttrpc_client_call(client, TEST_SERVICE, "Echo", req, req_len, NULL, count_done, NULL);
	cr_assert_eq(rc, TTRPC_ETOOBIG, "async oversized call: %d (%s)", rc, ttrpc_strerror(rc));
	cr_assert_eq(ttrpc_client_pending(client), 0);
	cr_assert_eq(async_calls_done, 0);

	/* blocking API: the refusal becomes RESOURCE_EXHAUSTED, with our own text
	 * (the Go server's would name the frame length) */
	struct ttrpc_result res = { 0 };
	rc = ttrpc_client_call_sync(client, TEST_SERVICE, "Echo", req, req_len, NULL, &res);
	cr_assert_eq(rc, TTRPC_CODE_RESOURCE_EXHAUSTED, "sync oversized call: %s %s", ttrpc_code_name(rc), res.message);
	cr_assert_null(strstr(res.message, "exceed maximum message size of"), "went to the server: %s", res.message);
	ttrpc_result_clear(&res);

	/* nothing was written: the same call on a socketpair leaves the peer end empty */
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int err = 0;
	ttrpc_client *raw = ttrpc_client_adopt(NULL, sv[0], &err);
	cr_assert_not_null(raw);
	rc = ttrpc_client_call(raw, TEST_SERVICE, "Echo", req, req_len, NULL, count_done, NULL);
	cr_assert_eq(rc, TTRPC_ETOOBIG);
	char byte;
	ssize_t got = recv(sv[1], &byte, 1, MSG_DONTWAIT);
	cr_assert(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "oversized request wrote bytes (%zd)", got);
	ttrpc_client_free(raw);
	close(sv[1]);
	free(req);
	free(big);

	/* the Go connection is still fine, and the largest request still fits */
	uint8_t *fits = malloc(max);
	cr_assert_not_null(fits);
	fill_pattern(fits, max, 9);
	struct reply r;
	call(TEST_SERVICE, "Echo", fits, max, NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "largest echo after refusal: %s %s", ttrpc_code_name(r.code), r.message);
	cr_assert(r.len == max && memcmp(r.data, fits, max) == 0, "largest echo: %zu bytes back", r.len);
	free(r.data);
	free(fits);
	cr_assert_eq(async_calls_done, 0);
}

Test(go_server, error_codes)
{
	for (int code = 1; code <= 16; code++) {
		char msg[256], payload[300];
		snprintf(msg, sizeof(msg), "failure %d: %s, 100%% ünïcødé %%s", code, ttrpc_code_name(code));
		snprintf(payload, sizeof(payload), "%d:%s", code, msg);
		struct reply r;
		call_text("Fail", payload, NULL, &r);
		cr_assert_eq(r.code, code, "Fail %d: got %s %s", code, ttrpc_code_name(r.code), r.message);
		cr_assert_str_eq(r.message, msg, "Fail %d: message", code);
	}
	struct reply r;
	call_text("Fail", "3:", NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert_str_eq(r.message, "");
}

Test(go_server, metadata_round_trip)
{
	ttrpc_md *md = ttrpc_md_new();
	cr_assert_not_null(md);
	cr_assert_eq(ttrpc_md_add(md, "containerd-namespace-ttrpc", "k8s.io"), 0);
	cr_assert_eq(ttrpc_md_add(md, "X-Mixed-Case", "Value Keeps Case"), 0);
	cr_assert_eq(ttrpc_md_add(md, "repeated", "one"), 0);
	cr_assert_eq(ttrpc_md_add(md, "repeated", "two"), 0);
	cr_assert_eq(ttrpc_md_add(md, "repeated", "three"), 0);
	cr_assert_eq(ttrpc_md_add(md, "empty", ""), 0);
	cr_assert_eq(ttrpc_md_add(md, "utf8", "ünïcødé=and=equals"), 0);
	struct ttrpc_call_opts opts = { .md = md };
	struct reply r;
	call_text("Metadata", "", &opts, &r);
	ttrpc_md_free(md);
	assert_text(&r, "metadata",
		    "containerd-namespace-ttrpc=k8s.io\nempty=\nrepeated=one\nrepeated=three\nrepeated=two\n"
		    "utf8=ünïcødé=and=equals\nx-mixed-case=Value Keeps Case\n");

	call_text("Metadata", "", NULL, &r);
	assert_text(&r, "no metadata", "");
}

Test(go_server, call_timeout)
{
	/* (Which side ends it, our timer or the Go server's context, is a race;
	 * the loopback suite proves our client's own timer.) */
	struct ttrpc_call_opts opts = { .timeout_ns = 200 * MS };
	struct reply r;
	call_text("Sleep", "3000", &opts, &r);
	cr_assert_eq(r.code, TTRPC_CODE_DEADLINE_EXCEEDED, "Sleep 3000 with 200ms timeout: %s %s",
		     ttrpc_code_name(r.code), r.message);
	cr_assert_str_eq(r.message, "context deadline exceeded");

	/* The Go server saw our timeout_nano as a context deadline. */
	opts.timeout_ns = 5000 * MS;
	call_text("Deadline", "", &opts, &r);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "Deadline: %s %s", ttrpc_code_name(r.code), r.message);
	int ms = -1;
	cr_assert_eq(sscanf((char *)r.data, "deadline=yes remaining_ms=%d", &ms), 1, "Deadline said \"%s\"",
		     (char *)r.data);
	cr_assert(ms > 3000 && ms <= 5000, "Go saw %d ms left of 5000", ms);
	free(r.data);

	call_text("Deadline", "", NULL, &r);
	assert_text(&r, "no timeout", "deadline=no");

	/* Go answers the abandoned Sleep when its own deadline passes, while this
	 * longer call waits: that late response is dropped, not taken for it. */
	call_text("Sleep", "500", NULL, &r);
	assert_text(&r, "Sleep 500 after the timed-out call", "slept");
	call_text("Echo", "after", NULL, &r);
	assert_text(&r, "echo after timeout", "after");
	opts.timeout_ns = 2000 * MS;
	call_text("Sleep", "100", &opts, &r);
	assert_text(&r, "Sleep 100 within 2s", "slept");
}

/* A blocking client whose loop sat idle must still time calls from now, not
 * from the loop's last wake-up (libev's cached clock). */
Test(go_server, timeout_after_idle)
{
	struct reply r;
	call_text("Echo", "warm", NULL, &r);
	assert_text(&r, "warm-up echo", "warm");
	usleep(1500 * 1000); /* not a wait: leaves the private loop's cached clock 1.5 s behind */
	struct ttrpc_call_opts opts = { .timeout_ns = 1000 * MS };
	call_text("Sleep", "300", &opts, &r);
	cr_assert_eq(r.code, TTRPC_CODE_OK, "Sleep 300 with 1s timeout after idling: %s %s", ttrpc_code_name(r.code),
		     r.message);
	assert_text(&r, "Sleep 300 after idling", "slept");
}

Test(go_server, unimplemented)
{
	struct reply r;
	call_text("NoSuchMethod", "", NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_UNIMPLEMENTED, "%s %s", ttrpc_code_name(r.code), r.message);
	cr_assert_str_eq(r.message, "method NoSuchMethod");
	call("ttrpc.interop.v1.NoSuchService", "Echo", "", 0, NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_UNIMPLEMENTED, "%s %s", ttrpc_code_name(r.code), r.message);
	cr_assert_str_eq(r.message, "service ttrpc.interop.v1.NoSuchService");
}

/* --- async --- */

#define N_CONCURRENT 64

struct slot {
	int index;
	int calls; /* how often done ran */
	int order; /* completion rank */
	struct reply reply;
	uint8_t *want;
	size_t want_len;
};

static int completed;

static void slot_done(const struct ttrpc_result *res, void *user)
{
	struct slot *s = user;
	s->calls++;
	s->order = completed++;
	reply_from(&s->reply, res);
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

Test(go_server, concurrent_async_calls)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect(loop, dir.socket, &err);
	cr_assert_not_null(cl, "connect: %s", ttrpc_strerror(err));

	static struct slot slots[N_CONCURRENT];
	completed = 0;
	for (int i = 0; i < N_CONCURRENT; i++) {
		struct slot *s = &slots[i];
		memset(s, 0, sizeof(*s));
		s->index = i;
		const char *method = "Echo";
		char text[32];
		if (i % 4 == 0) {
			/* slow ones, so answers come back out of order */
			method = "Sleep";
			snprintf(text, sizeof(text), "%d", 300 - i * 4);
			s->want = (uint8_t *)strdup("slept");
			s->want_len = 5;
		} else {
			/* a few large ones, so that frames are written in pieces */
			s->want_len = i % 16 == 1 ? (1u << 20) + (size_t)i : (size_t)i * 1000;
			s->want = malloc(s->want_len);
			cr_assert_not_null(s->want);
			fill_pattern(s->want, s->want_len, (unsigned)i);
		}
		size_t req_len;
		uint8_t *req = i % 4 == 0 ? encode(text, strlen(text), &req_len) :
					    encode(s->want, s->want_len, &req_len);
		int rc = ttrpc_client_call(cl, TEST_SERVICE, method, req, req_len, NULL, slot_done, s);
		free(req);
		cr_assert_eq(rc, 0, "call %d: %s", i, ttrpc_strerror(rc));
	}
	cr_assert_eq(ttrpc_client_pending(cl), N_CONCURRENT);

	ev_timer guard;
	ev_timer_init(&guard, on_guard, 30., 0.);
	ev_timer_start(loop, &guard);
	while (completed < N_CONCURRENT && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);

	cr_assert_eq(completed, N_CONCURRENT, "only %d of %d calls completed", completed, N_CONCURRENT);
	cr_assert_eq(ttrpc_client_pending(cl), 0);
	bool reordered = false;
	for (int i = 0; i < N_CONCURRENT; i++) {
		struct slot *s = &slots[i];
		cr_assert_eq(s->calls, 1, "call %d completed %d times", i, s->calls);
		cr_assert_eq(s->reply.code, TTRPC_CODE_OK, "call %d: %s %s", i, ttrpc_code_name(s->reply.code),
			     s->reply.message);
		cr_assert(s->reply.len == s->want_len && memcmp(s->reply.data, s->want, s->want_len) == 0,
			  "call %d: wrong answer (%zu bytes, want %zu)", i, s->reply.len, s->want_len);
		if (s->order != i)
			reordered = true;
		free(s->reply.data);
		free(s->want);
	}
	cr_assert(reordered, "the sleeping calls should have finished last");
	ttrpc_client_free(cl);
	ev_loop_destroy(loop);
}

struct kill_state {
	struct reply reply;
	int calls;
	int closed;
};

static void kill_done(const struct ttrpc_result *res, void *user)
{
	struct kill_state *k = user;
	k->calls++;
	reply_from(&k->reply, res);
}

static void kill_closed(ttrpc_client *cl, void *user)
{
	(void)cl;
	struct kill_state *k = user;
	k->closed++;
}

static void kill_peer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	int st = interop_stop(&peer, SIGKILL, 5000);
	cr_assert(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "Go server wait status %d", st);
}

Test(go_server, server_killed_mid_call)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect(loop, dir.socket, &err);
	cr_assert_not_null(cl, "connect: %s", ttrpc_strerror(err));
	struct kill_state k = { 0 };
	ttrpc_client_on_close(cl, kill_closed, &k);

	size_t req_len;
	uint8_t *req = encode("10000", 5, &req_len);
	int rc = ttrpc_client_call(cl, TEST_SERVICE, "Sleep", req, req_len, NULL, kill_done, &k);
	free(req);
	cr_assert_eq(rc, 0);

	ev_timer killer, guard;
	ev_timer_init(&killer, kill_peer, 0.3, 0.);
	ev_timer_init(&guard, on_guard, 10., 0.);
	ev_timer_start(loop, &killer);
	ev_timer_start(loop, &guard);
	while (k.calls == 0 && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	ev_timer_stop(loop, &killer);

	cr_assert_eq(k.calls, 1, "pending call completed %d times", k.calls);
	cr_assert_eq(k.reply.code, TTRPC_CODE_UNAVAILABLE, "got %s %s", ttrpc_code_name(k.reply.code), k.reply.message);
	cr_assert_eq(peer.pid, -1, "the call failed before the peer was killed");
	cr_assert_eq(k.closed, 1);
	cr_assert(!ttrpc_client_connected(cl));
	cr_assert_eq(ttrpc_client_pending(cl), 0);
	req = encode("x", 1, &req_len);
	rc = ttrpc_client_call(cl, TEST_SERVICE, "Echo", req, req_len, NULL, kill_done, &k);
	free(req);
	cr_assert_eq(rc, TTRPC_ECLOSED, "call after close: %d", rc);

	/* the blocking client of the fixture sees the same */
	struct reply r;
	call_text("Echo", "x", NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_UNAVAILABLE, "%s %s", ttrpc_code_name(r.code), r.message);

	ttrpc_client_free(cl);
	ev_loop_destroy(loop);
}

/* The peer itself behaves: SIGTERM ends it cleanly and removes its socket. */
Test(go_server, peer_exits_cleanly_on_sigterm)
{
	struct reply r;
	call_text("Echo", "bye", NULL, &r);
	assert_text(&r, "echo before SIGTERM", "bye");
	int st = interop_stop(&peer, SIGTERM, 5000);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "Go server wait status %d", st);
	cr_assert_neq(access(dir.socket, F_OK), 0, "socket %s left behind", dir.socket);
	call_text("Echo", "x", NULL, &r);
	cr_assert_eq(r.code, TTRPC_CODE_UNAVAILABLE, "%s %s", ttrpc_code_name(r.code), r.message);
}
