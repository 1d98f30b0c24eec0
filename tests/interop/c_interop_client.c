/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-c-interop-client: our client's side of the interop matrix. It runs the
 * same scripted calls as `ttrpc-go-peer client` and `ttrpc-rust-peer client`
 * against any server of the interop methods (ttrpc.interop.v1.Test: Echo, Fail,
 * Metadata, Sleep, Deadline; ttrpc.bench.v1.Bench/Echo), with libttrpc's public
 * client API (blocking calls, and async calls on the client's loop for the
 * concurrent scenario).
 *   ttrpc-c-interop-client --socket PATH --test echo|errors|metadata|timeout|unimplemented|concurrent|all
 * Prints one "PASS ..." or "FAIL ..." line per check and a summary; exit 0 when
 * every check passed, 1 when one failed, 2 for usage.
 *   ttrpc-c-interop-client --socket PATH --call one|three|parallel|timeout|metadata|oversized|download|upload|chat
 * is the client driver of `ttrpc-conform client`: the named scripted calls of
 * ttrpc.bench.v1.Bench/Echo, one "CALL <i> OK <payload>" or "CALL <i> ERR <code>
 * <message>" line per call (docs/conformance.md, client mode), exit 0. */
#include <ev.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ttrpc/client.h>
#include <ttrpc/stream.h>

#include "interop.pb-c.h"

#define TEST_SERVICE "ttrpc.interop.v1.Test"
#define BENCH_SERVICE "ttrpc.bench.v1.Bench"
#define MAX_MESSAGE (4u << 20)
#define MS 1000000ll

static ttrpc_client *client;
static int passed, failed;

static bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s ", ok ? "PASS" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t *encode(const void *data, size_t len, size_t *out_len)
{
	Ttrpc__Interop__V1__Bytes m = TTRPC__INTEROP__V1__BYTES__INIT;
	m.payload.data = (uint8_t *)data;
	m.payload.len = len;
	*out_len = ttrpc__interop__v1__bytes__get_packed_size(&m);
	uint8_t *buf = malloc(*out_len ? *out_len : 1);
	if (!buf) {
		perror("ttrpc-c-interop-client: malloc");
		exit(2);
	}
	ttrpc__interop__v1__bytes__pack(&m, buf);
	return buf;
}

/* The outcome of one call: code, message, and the decoded payload. */
struct reply {
	int code;
	char message[512];
	uint8_t *data;
	size_t len;
	bool undecodable;
};

static void reply_from(struct reply *r, const struct ttrpc_result *res)
{
	memset(r, 0, sizeof(*r));
	r->code = res->code;
	snprintf(r->message, sizeof(r->message), "%s", res->message);
	if (res->code != TTRPC_CODE_OK)
		return;
	Ttrpc__Interop__V1__Bytes *m = ttrpc__interop__v1__bytes__unpack(NULL, res->len, res->payload);
	if (!m) {
		r->undecodable = true;
		return;
	}
	r->len = m->payload.len;
	r->data = malloc(r->len + 1);
	if (!r->data) {
		perror("ttrpc-c-interop-client: malloc");
		exit(2);
	}
	if (r->len)
		memcpy(r->data, m->payload.data, r->len);
	r->data[r->len] = '\0';
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
}

static void reply_clear(struct reply *r)
{
	free(r->data);
	r->data = NULL;
}

static const char *describe(const struct reply *r)
{
	static char text[640];
	if (r->code == TTRPC_CODE_OK)
		snprintf(text, sizeof(text), r->undecodable ? "OK (undecodable payload)" : "OK (%zu bytes)", r->len);
	else
		snprintf(text, sizeof(text), "%s \"%s\"", ttrpc_code_name(r->code), r->message);
	return text;
}

static bool is_payload(const struct reply *r, const void *want, size_t len)
{
	return r->code == TTRPC_CODE_OK && !r->undecodable && r->len == len && (!len || !memcmp(r->data, want, len));
}

static bool is_text(const struct reply *r, const char *want)
{
	return is_payload(r, want, strlen(want));
}

static bool is_status(const struct reply *r, int code, const char *msg)
{
	return r->code == code && !strcmp(r->message, msg);
}

static void call_full(const char *service, const char *method, const void *payload, size_t len,
		      const struct ttrpc_call_opts *opts, struct reply *r)
{
	size_t req_len;
	uint8_t *req = encode(payload, len, &req_len);
	struct ttrpc_result res = { 0 };
	ttrpc_client_call_sync(client, service, method, req, req_len, opts, &res);
	free(req);
	reply_from(r, &res);
	ttrpc_result_clear(&res);
}

static void call_text(const char *method, const char *text, const struct ttrpc_call_opts *opts, struct reply *r)
{
	call_full(TEST_SERVICE, method, text, strlen(text), opts, r);
}

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 7 + i / 251) ^ seed);
}

static size_t varint_size(size_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t field_size(size_t len)
{
	return 1 + varint_size(len) + len;
}

/* The largest payload whose Request for service/method fits in one frame. */
static size_t largest_echo(const char *service, const char *method)
{
	size_t fixed = field_size(strlen(service)) + field_size(strlen(method));
	size_t n = MAX_MESSAGE;
	while (fixed + field_size(field_size(n)) > MAX_MESSAGE)
		n--;
	return n;
}

/* ---------------------------------------------------------------- scenarios */

static void test_echo(void)
{
	size_t max = largest_echo(TEST_SERVICE, "Echo");
	printf("INFO largest echo payload for %s/Echo: %zu bytes\n", TEST_SERVICE, max);
	const size_t sizes[] = { 0, 1, 1000, 65536, 1u << 20, max };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *want = malloc(sizes[i] ? sizes[i] : 1);
		if (!want)
			exit(2);
		fill_pattern(want, sizes[i], (unsigned)i);
		struct reply r;
		call_full(TEST_SERVICE, "Echo", want, sizes[i], NULL, &r);
		check(is_payload(&r, want, sizes[i]), "echo %zu bytes: %s", sizes[i], describe(&r));
		reply_clear(&r);
		free(want);
	}
	struct reply r;
	call_full(BENCH_SERVICE, "Echo", "bench", 5, NULL, &r);
	check(is_text(&r, "bench"), "%s/Echo: %s", BENCH_SERVICE, describe(&r));
	reply_clear(&r);

	/* One byte more does not fit in a frame: libttrpc refuses it before
	 * sending anything (RESOURCE_EXHAUSTED), so the connection stays usable
	 * whatever the server would have done with it. */
	uint8_t *big = calloc(1, max + 1);
	if (!big)
		exit(2);
	call_full(TEST_SERVICE, "Echo", big, max + 1, NULL, &r);
	free(big);
	check(r.code == TTRPC_CODE_RESOURCE_EXHAUSTED, "echo %zu bytes (one too many): want ResourceExhausted, got %s",
	      max + 1, describe(&r));
	reply_clear(&r);
	call_text("Echo", "still here", NULL, &r);
	check(is_text(&r, "still here"), "connection usable after oversized request: %s", describe(&r));
	reply_clear(&r);
}

static const char *const code_names[] = {
	"OK",	    "Canceled",	      "Unknown",	  "InvalidArgument",   "DeadlineExceeded",
	"NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted",  "OutOfRange",     "Unimplemented",	  "Internal",	       "Unavailable",
	"DataLoss", "Unauthenticated"
};

static void test_errors(void)
{
	for (int code = 1; code <= 16; code++) {
		char msg[128], req[160];
		snprintf(msg, sizeof(msg), "failure %d: %s, 100%% ünïcødé %%s", code, code_names[code]);
		snprintf(req, sizeof(req), "%d:%s", code, msg);
		struct reply r;
		call_text("Fail", req, NULL, &r);
		check(is_status(&r, code, msg), "Fail code %d (%s): got %s", code, code_names[code], describe(&r));
		reply_clear(&r);
	}
	struct reply r;
	call_text("Fail", "3:", NULL, &r);
	check(is_status(&r, TTRPC_CODE_INVALID_ARGUMENT, ""), "Fail with empty message: got %s", describe(&r));
	reply_clear(&r);
}

static void test_metadata(void)
{
	/* The pairs the Go client puts on the wire (it lowercases keys). */
	static const char *const pairs[][2] = { { "containerd-namespace-ttrpc", "k8s.io" },
						{ "x-mixed-case", "Value Keeps Case" },
						{ "repeated", "one" },
						{ "repeated", "two" },
						{ "repeated", "three" },
						{ "empty", "" },
						{ "utf8", "ünïcødé=and=equals" } };
	const char *want = "containerd-namespace-ttrpc=k8s.io\nempty=\nrepeated=one\nrepeated=three\nrepeated=two\n"
			   "utf8=ünïcødé=and=equals\nx-mixed-case=Value Keeps Case\n";
	ttrpc_md *md = ttrpc_md_new();
	if (!md)
		exit(2);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (ttrpc_md_add(md, pairs[i][0], pairs[i][1]))
			exit(2);
	struct ttrpc_call_opts opts = { .md = md };
	struct reply r;
	call_text("Metadata", "", &opts, &r);
	ttrpc_md_free(md);
	if (!check(is_text(&r, want), "metadata round trip (a repeated key): %s", describe(&r)) && r.data)
		printf("---- got\n%s---- want\n%s----\n", (char *)r.data, want);
	reply_clear(&r);
	call_text("Metadata", "", NULL, &r);
	check(is_text(&r, ""), "no metadata: %s", describe(&r));
	reply_clear(&r);
}

static void test_timeout(void)
{
	/* libttrpc enforces timeout_ns locally too, so the server's
	 * DEADLINE_EXCEEDED and our own race: either is right, near 200 ms. */
	struct ttrpc_call_opts opts = { .timeout_ns = 200 * MS };
	struct reply r;
	long long t0 = now_ms();
	call_text("Sleep", "15000", &opts, &r);
	long long took = now_ms() - t0;
	check(r.code == TTRPC_CODE_DEADLINE_EXCEEDED && took < 3000, "Sleep 15s, timeout 200ms: %s after %lld ms",
	      describe(&r), took);
	reply_clear(&r);

	/* A negative timeout is refused by the API (EINVAL); the shortest one,
	 * 1 ns, is a deadline that has passed by the time the server sees it. */
	opts.timeout_ns = 1;
	t0 = now_ms();
	call_text("Sleep", "15000", &opts, &r);
	took = now_ms() - t0;
	check(r.code == TTRPC_CODE_DEADLINE_EXCEEDED && took < 3000, "Sleep 15s, timeout 1ns: %s after %lld ms",
	      describe(&r), took);
	reply_clear(&r);

	opts.timeout_ns = 5000 * MS;
	call_text("Deadline", "", &opts, &r);
	int ms = -1;
	bool parsed = r.code == TTRPC_CODE_OK && r.data &&
		      sscanf((char *)r.data, "deadline=yes remaining_ms=%d", &ms) == 1;
	check(parsed && ms > 3000 && ms <= 5000, "server saw a 5s deadline: %s \"%s\"", describe(&r),
	      r.data ? (char *)r.data : "");
	reply_clear(&r);

	call_text("Deadline", "", NULL, &r);
	check(is_text(&r, "deadline=no"), "no deadline: %s", describe(&r));
	reply_clear(&r);

	opts.timeout_ns = 10000 * MS;
	call_text("Sleep", "150", &opts, &r);
	check(is_text(&r, "slept"), "Sleep 150ms within a 10s deadline: %s", describe(&r));
	reply_clear(&r);
	call_text("Echo", "after", NULL, &r);
	check(is_text(&r, "after"), "echo after timeout: %s", describe(&r));
	reply_clear(&r);
}

static void test_unimplemented(void)
{
	struct reply r;
	call_text("NoSuchMethod", "", NULL, &r);
	check(is_status(&r, TTRPC_CODE_UNIMPLEMENTED, "method NoSuchMethod"), "unknown method: got %s", describe(&r));
	reply_clear(&r);
	call_full("ttrpc.interop.v1.NoSuchService", "Echo", "", 0, NULL, &r);
	check(is_status(&r, TTRPC_CODE_UNIMPLEMENTED, "service ttrpc.interop.v1.NoSuchService"),
	      "unknown service: got %s", describe(&r));
	reply_clear(&r);
}

#define N_CONCURRENT 64

struct slot {
	uint8_t *want;
	size_t want_len;
	struct reply reply;
	int calls;
};

static int completed;

static void slot_done(const struct ttrpc_result *res, void *user)
{
	struct slot *s = user;
	if (s->calls++ == 0)
		reply_from(&s->reply, res);
	completed++;
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void start_async(struct slot *s, const char *method, const void *payload, size_t len)
{
	size_t req_len;
	uint8_t *req = encode(payload, len, &req_len);
	int rc = ttrpc_client_call(client, TEST_SERVICE, method, req, req_len, NULL, slot_done, s);
	free(req);
	if (rc) {
		s->calls = 1;
		completed++;
		s->reply.code = -1;
		snprintf(s->reply.message, sizeof(s->reply.message), "not sent: %s", ttrpc_strerror(rc));
	}
}

static void test_concurrent(void)
{
	/* A call that sleeps longer than the others may take (a fixed 8 s Sleep
	 * without deadline, as in the Rust client: there is no cancel): every
	 * other call must be answered while it is still pending. */
	struct ev_loop *loop = ttrpc_client_loop(client);
	static struct slot blocker, slots[N_CONCURRENT];
	completed = 0;
	memset(&blocker, 0, sizeof(blocker));
	start_async(&blocker, "Sleep", "8000", 4);
	for (int i = 0; i < N_CONCURRENT; i++) {
		struct slot *s = &slots[i];
		memset(s, 0, sizeof(*s));
		char text[32];
		if (i % 4 == 0) { /* slow ones: answers out of order */
			snprintf(text, sizeof(text), "%d", 200 + i);
			s->want = (uint8_t *)strdup("slept");
			s->want_len = 5;
			start_async(s, "Sleep", text, strlen(text));
			continue;
		}
		/* a few large ones, so that frames are written in pieces */
		s->want_len = i % 16 == 1 ? (1u << 20) + (size_t)i : (size_t)i * 97 + 8;
		s->want = malloc(s->want_len);
		if (!s->want)
			exit(2);
		fill_pattern(s->want, s->want_len, (unsigned)i);
		start_async(s, "Echo", s->want, s->want_len);
	}
	ev_timer guard;
	ev_timer_init(&guard, on_guard, 30., 0.);
	ev_timer_start(loop, &guard);
	while (completed - blocker.calls < N_CONCURRENT && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	bool pending = blocker.calls == 0;
	int bad = 0;
	for (int i = 0; i < N_CONCURRENT; i++) {
		struct slot *s = &slots[i];
		if (s->calls != 1 || !is_payload(&s->reply, s->want, s->want_len)) {
			bad++;
			printf("  call %d: completed %d times, %s\n", i, s->calls, describe(&s->reply));
		}
		reply_clear(&s->reply);
		free(s->want);
	}
	check(bad == 0, "%d concurrent calls on one client: %d wrong", N_CONCURRENT, bad);
	check(pending, "all %d calls answered while an 8 s Sleep was still pending", N_CONCURRENT);
	ev_timer_stop(loop, &guard);
	ev_timer_set(&guard, 30., 0.);
	ev_timer_start(loop, &guard);
	while (!blocker.calls && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	check(blocker.calls == 1 && is_text(&blocker.reply, "slept"), "the 8 s Sleep completes: %s",
	      blocker.calls ? describe(&blocker.reply) : "no answer in 30 s");
	reply_clear(&blocker.reply);
}

/* ---------------------------------------------------------------- conform driver */

static void print_call(int i, const struct reply *r)
{
	if (r->code == TTRPC_CODE_OK && !r->undecodable)
		printf("CALL %d OK %.*s\n", i, (int)(r->len > 200 ? 200 : r->len), r->data ? (char *)r->data : "");
	else if (r->code == TTRPC_CODE_OK)
		printf("CALL %d ERR -1 undecodable answer\n", i);
	else
		printf("CALL %d ERR %d %s\n", i, r->code, r->message);
	fflush(stdout);
}

static void drive_echo(int i, const char *text, const struct ttrpc_call_opts *opts)
{
	struct reply r;
	call_full(BENCH_SERVICE, "Echo", text, strlen(text), opts, &r);
	print_call(i, &r);
	reply_clear(&r);
}

/* Stream call lists: every message received is "MSG <payload>", the end is CALL 0. */
static void print_msg(const uint8_t *msg, size_t len)
{
	Ttrpc__Interop__V1__Bytes *m = ttrpc__interop__v1__bytes__unpack(NULL, len, msg);
	if (!m) {
		printf("MSG (undecodable)\n");
		return;
	}
	printf("MSG %.*s\n", (int)(m->payload.len > 200 ? 200 : m->payload.len), (char *)m->payload.data);
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
}

static int drive_stream(enum ttrpc_stream_kind kind, const char *method, const char *req, const char *const *send,
			bool recv_each)
{
	size_t len = 0;
	uint8_t *buf = req ? encode(req, strlen(req), &len) : NULL;
	ttrpc_stream *st = NULL;
	int rc = ttrpc_client_stream_open_sync(client, BENCH_SERVICE, method, kind, buf, len, NULL, &st);
	free(buf);
	if (rc) {
		printf("CALL 0 ERR -1 open: %s\n", ttrpc_strerror(rc));
		return 0;
	}
	uint8_t *msg;
	size_t mlen;
	for (; send && *send; send++) {
		buf = encode(*send, strlen(*send), &len);
		rc = ttrpc_stream_send_sync(st, buf, len);
		free(buf);
		if (rc)
			break;
		if (recv_each && ttrpc_stream_recv_sync(st, &msg, &mlen) == 1) {
			print_msg(msg, mlen);
			free(msg);
		}
	}
	if (kind != TTRPC_KIND_SERVER_STREAM && !rc)
		ttrpc_stream_close_send(st);
	while (kind != TTRPC_KIND_CLIENT_STREAM && ttrpc_stream_recv_sync(st, &msg, &mlen) == 1) {
		print_msg(msg, mlen);
		free(msg);
	}
	struct ttrpc_result res = { 0 };
	ttrpc_stream_finish_sync(st, &res);
	struct reply r;
	reply_from(&r, &res);
	ttrpc_result_clear(&res);
	print_call(0, &r);
	reply_clear(&r);
	return 0;
}

static int run_call(const char *name)
{
	static const char *const upload[] = { "x", "yy", "", NULL };
	static const char *const chat[] = { "a", "b", NULL };
	if (!strcmp(name, "download"))
		return drive_stream(TTRPC_KIND_SERVER_STREAM, "Download", "3", NULL, false);
	if (!strcmp(name, "upload"))
		return drive_stream(TTRPC_KIND_CLIENT_STREAM, "Upload", NULL, upload, false);
	if (!strcmp(name, "chat"))
		return drive_stream(TTRPC_KIND_BIDI_STREAM, "Chat", NULL, chat, true);
	if (!strcmp(name, "one")) {
		drive_echo(0, "conform", NULL);
	} else if (!strcmp(name, "three")) {
		drive_echo(0, "a", NULL);
		drive_echo(1, "b", NULL);
		drive_echo(2, "c", NULL);
	} else if (!strcmp(name, "timeout")) {
		struct ttrpc_call_opts opts = { .timeout_ns = 2000 * MS };
		drive_echo(0, "t", &opts);
	} else if (!strcmp(name, "metadata")) {
		ttrpc_md *md = ttrpc_md_new();
		if (!md || ttrpc_md_add(md, "k1", "v1") || ttrpc_md_add(md, "k1", "v2") || ttrpc_md_add(md, "k2", "v3"))
			return 2;
		struct ttrpc_call_opts opts = { .md = md };
		drive_echo(0, "m", &opts);
		ttrpc_md_free(md);
	} else if (!strcmp(name, "oversized")) {
		uint8_t *big = calloc(1, MAX_MESSAGE);
		if (!big)
			return 2;
		struct reply r;
		call_full(BENCH_SERVICE, "Echo", big, MAX_MESSAGE, NULL, &r);
		free(big);
		print_call(0, &r);
		reply_clear(&r);
		drive_echo(1, "after", NULL);
	} else if (!strcmp(name, "parallel")) {
		/* all four in flight before any answer can come back */
		static struct slot slots[4];
		static const char *const p[] = { "p0", "p1", "p2", "p3" };
		completed = 0;
		for (int i = 0; i < 4; i++) {
			memset(&slots[i], 0, sizeof(slots[i]));
			size_t req_len;
			uint8_t *req = encode(p[i], 2, &req_len);
			int rc = ttrpc_client_call(client, BENCH_SERVICE, "Echo", req, req_len, NULL, slot_done,
						   &slots[i]);
			free(req);
			if (rc) {
				slots[i].calls = 1;
				completed++;
				slots[i].reply.code = -1;
				snprintf(slots[i].reply.message, sizeof(slots[i].reply.message), "not sent: %s",
					 ttrpc_strerror(rc));
			}
		}
		while (completed < 4)
			ev_run(ttrpc_client_loop(client), EVRUN_ONCE);
		for (int i = 0; i < 4; i++) {
			print_call(i, &slots[i].reply);
			reply_clear(&slots[i].reply);
		}
	} else {
		fprintf(stderr, "ttrpc-c-interop-client: unknown call list \"%s\"\n", name);
		return 2;
	}
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = { { "echo", test_echo },
		  { "errors", test_errors },
		  { "metadata", test_metadata },
		  { "timeout", test_timeout },
		  { "unimplemented", test_unimplemented },
		  { "concurrent", test_concurrent } };

int main(int argc, char **argv)
{
	const char *path = NULL, *test = "all", *call = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--test") && i + 1 < argc)
			test = argv[++i];
		else if (!strcmp(argv[i], "--call") && i + 1 < argc)
			call = argv[++i];
		else
			path = NULL, i = argc;
	}
	if (!path) {
		fprintf(stderr, "usage: %s --socket PATH [--test NAME | --call NAME]\n", argv[0]);
		return 2;
	}
	int err = 0;
	client = ttrpc_client_connect(NULL, path, &err);
	if (!client) {
		printf("FAIL dial %s: %s\n", path, ttrpc_strerror(err));
		return 1;
	}
	if (call) {
		int rc = run_call(call);
		ttrpc_client_free(client);
		return rc;
	}
	bool ran = false;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(test, "all") && strcmp(test, scenarios[i].name))
			continue;
		printf("== %s\n", scenarios[i].name);
		scenarios[i].fn();
		ran = true;
	}
	ttrpc_client_free(client);
	if (!ran) {
		printf("FAIL unknown scenario \"%s\"\n", test);
		return 2;
	}
	printf("scenario %s: %d checks passed, %d checks failed\n", test, passed, failed);
	return failed ? 1 : 0;
}
