/* SPDX-License-Identifier: Apache-2.0 */
/* Our gRPC client's streams (ttrpc_client_stream_open* on a client made by
 * ttrpc_client_connect_grpc), the 4 kinds, against our own gRPC server
 * (ttrpc-grpc-c-server) and python3-grpcio's (python_grpc_peer.py; built a
 * second time as test_grpc_streams_go: grpc-go's, go/grpc-go-peer), h2c
 * over unix and TCP: Download (server-streaming: messages in order and
 * intact, empty ones, a status after messages), Upload (client-streaming:
 * past the send window, so send_sync waits for on_writable), Chat (bidi, in
 * turn), async streams with on_writable, cancel (our server sees the call
 * orphaned: the HTTP/2 stream is reset), a deadline, and a unary call beside
 * open streams. */
#include <criterion/criterion.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ttrpc/client.h>
#include <ttrpc/grpc.h>
#include <ttrpc/stream.h>

#include "interop_proc.h"

#define SVC "interop.Echo"

static struct interop_dir dir;
static struct interop_proc ours = { .pid = -1, .out_fd = -1 }, python = { .pid = -1, .out_fd = -1 };
static char ours_unix[160], ours_tcp[64], py_unix[160], py_tcp[64];

static void wait_port(struct interop_proc *p, const char *what, char *tcp, size_t n)
{
	char log[4096] = "";
	cr_assert(interop_wait_ready(p, 20000, log, sizeof(log)), "%s did not get ready:\n%s", what, log);
	const char *port = strstr(log, "port ");
	cr_assert_not_null(port, "no port line in:\n%s", log);
	snprintf(tcp, n, "127.0.0.1:%d", atoi(port + 5));
}

static void start(void)
{
	cr_assert(interop_dir_make(&dir), "mkdtemp failed");
	char ttrpc_sock[128], grpc_sock[128], py_sock[128];
	snprintf(ttrpc_sock, sizeof(ttrpc_sock), "%s/ttrpc.sock", dir.dir);
	snprintf(grpc_sock, sizeof(grpc_sock), "%s/grpc.sock", dir.dir);
	snprintf(py_sock, sizeof(py_sock), "%s/py.sock", dir.dir);
	char *a1[] = { TTRPC_INTEROP_BIN_DIR "/ttrpc-grpc-c-server",
		       "--socket",
		       ttrpc_sock,
		       "--grpc-socket",
		       grpc_sock,
		       "--grpc-tcp",
		       "127.0.0.1:0",
		       NULL };
	cr_assert(interop_spawn(&ours, a1, false), "cannot start ttrpc-grpc-c-server");
	wait_port(&ours, "ttrpc-grpc-c-server", ours_tcp, sizeof(ours_tcp));
	snprintf(ours_unix, sizeof(ours_unix), "unix:%s", grpc_sock);
#ifdef TTRPC_INTEROP_GO_PEER
	char *a2[] = { TTRPC_INTEROP_GO_PEER, "server", "--socket", py_sock, NULL };
#else
	char *a2[] = { "/usr/bin/python3", TTRPC_INTEROP_PYTHON_PEER, "server", "--socket", py_sock, NULL };
#endif
	cr_assert(interop_spawn(&python, a2, true), "cannot start the peer");
	wait_port(&python, "peer", py_tcp, sizeof(py_tcp));
	snprintf(py_unix, sizeof(py_unix), "unix:%s", py_sock);
}

static void stop(void)
{
	/* our server must leave cleanly (exit 0: no leak under ASan) */
	int st = interop_stop(&ours, SIGTERM, 10000);
	interop_stop(&python, SIGKILL, 5000);
	interop_dir_remove(&dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ttrpc-grpc-c-server ended with status %d", st);
}

TestSuite(grpc_streams, .init = start, .fini = stop, .timeout = 120);

static ttrpc_client *connect_to(const char *target)
{
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect_grpc(NULL, target, NULL, &err);
	cr_assert_not_null(cl, "connect %s: %s", target, ttrpc_strerror(err));
	return cl;
}

static void fill(uint8_t *b, unsigned i, size_t size)
{
	for (size_t j = 0; j < size; j++)
		b[j] = (uint8_t)(i + j);
}

static const char *const *targets(void)
{
	static const char *t[5];
	t[0] = ours_unix;
	t[1] = ours_tcp;
	t[2] = py_unix;
	t[3] = py_tcp;
	t[4] = NULL;
	return t;
}

static void download(ttrpc_client *cl, const char *target, unsigned count, unsigned size)
{
	char req[64];
	int n = snprintf(req, sizeof(req), "%u %u", count, size);
	ttrpc_stream *st;
	cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Download", TTRPC_KIND_SERVER_STREAM, (uint8_t *)req,
						   (size_t)n, NULL, &st),
		     0);
	uint8_t *want = malloc(size + 1);
	for (unsigned i = 0; i < count; i++) {
		uint8_t *msg;
		size_t len;
		int rc = ttrpc_stream_recv_sync(st, &msg, &len);
		if (rc != 1) {
			struct ttrpc_result r;
			ttrpc_stream_finish_sync(st, &r);
			cr_assert_fail("%s: message %u of %u: %d, status %d %s", target, i, count, rc, r.code,
				       r.message);
		}
		cr_assert_eq(len, size, "%s: message %u: %zu bytes", target, i, len);
		fill(want, i, size);
		cr_assert(memcmp(msg, want, size) == 0, "%s: message %u differs", target, i);
		free(msg);
	}
	uint8_t *msg;
	size_t len;
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 0, "%s: no clean end after %u", target, count);
	struct ttrpc_result r;
	cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_OK, "%s: %s", target, r.message);
	ttrpc_result_clear(&r);
	free(want);
}

Test(grpc_streams, download)
{
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		download(cl, *t, 0, 0);
		download(cl, *t, 3, 0);
		download(cl, *t, 10, 1000);
		download(cl, *t, 40, 1 << 20); /* past the HTTP/2 windows */
		ttrpc_client_free(cl);
	}
}

Test(grpc_streams, status_after_messages)
{
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		ttrpc_stream *st;
		cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Download", TTRPC_KIND_SERVER_STREAM,
							   (const uint8_t *)"2 10 9", 6, NULL, &st),
			     0);
		uint8_t *msg;
		size_t len;
		for (int i = 0; i < 2; i++) {
			cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1, "%s", *t);
			cr_assert_eq(len, 10);
			free(msg);
		}
		cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), TTRPC_ECLOSED, "%s", *t);
		struct ttrpc_result r;
		cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_FAILED_PRECONDITION, "%s: %d", *t, r.code);
		cr_assert_str_eq(r.message, "after 2 messages");
		ttrpc_result_clear(&r);
		ttrpc_client_free(cl);
	}
}

Test(grpc_streams, upload)
{
	const size_t sizes[] = { 0, 1, 0, 70000, 2 << 20, 2 << 20, 2 << 20, 0, 5 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t *buf = malloc(2 << 20);
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		ttrpc_stream *st;
		cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, 0, NULL,
							   &st),
			     0);
		unsigned long long total = 0, sum = 0;
		for (size_t i = 0; i < n; i++) {
			fill(buf, (unsigned)i, sizes[i]);
			unsigned long long s = 0;
			for (size_t j = 0; j < sizes[i]; j++)
				s += buf[j];
			sum += (i + 1) * s;
			total += sizes[i];
			cr_assert_eq(ttrpc_stream_send_sync(st, buf, sizes[i]), 0, "%s: send %zu", *t, i);
		}
		struct ttrpc_result r;
		cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_OK, "%s: %d %s", *t, r.code, r.message);
		char want[96];
		snprintf(want, sizeof(want), "%zu %llu %llu", n, total, sum);
		cr_assert_eq(r.len, strlen(want), "%s: %.*s", *t, (int)r.len, (const char *)r.payload);
		cr_assert(memcmp(r.payload, want, r.len) == 0, "%s: %.*s, want %s", *t, (int)r.len,
			  (const char *)r.payload, want);
		ttrpc_result_clear(&r);
		ttrpc_client_free(cl);
	}
	free(buf);
}

Test(grpc_streams, chat_in_turn)
{
	const size_t sizes[] = { 0, 1, 100, 0, 16385, 1 << 20, 0 };
	uint8_t *buf = malloc(1 << 20);
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		ttrpc_stream *st;
		cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &st),
			     0);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			fill(buf, (unsigned)i * 3, sizes[i]);
			cr_assert_eq(ttrpc_stream_send_sync(st, buf, sizes[i]), 0);
			uint8_t *msg;
			size_t len;
			cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1, "%s: echo %zu", *t, i);
			cr_assert_eq(len, sizes[i], "%s: echo %zu: %zu bytes", *t, i, len);
			cr_assert(memcmp(msg, buf, len) == 0, "%s: echo %zu differs", *t, i);
			free(msg);
		}
		cr_assert_eq(ttrpc_stream_close_send(st), 0);
		uint8_t *msg;
		size_t len;
		cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 0, "%s: no clean end", *t);
		struct ttrpc_result r;
		cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_OK, "%s: %s", *t, r.message);
		ttrpc_result_clear(&r);
		ttrpc_client_free(cl);
	}
	free(buf);
}

/* Async: a bidi stream that sends 32 MiB as fast as the send window allows
 * (on_writable), counting the echoes, beside a unary call. */
struct pump {
	ttrpc_stream *st;
	unsigned sent, got, eagain;
	size_t bytes_got;
	bool done;
	int code;
	uint8_t buf[1 << 20];
};

static void pump_send(ttrpc_stream *st, void *user)
{
	struct pump *p = user;
	while (p->sent < 32) {
		fill(p->buf, p->sent, sizeof(p->buf));
		int rc = ttrpc_stream_send(st, p->buf, sizeof(p->buf));
		if (rc == TTRPC_EAGAIN) {
			p->eagain++;
			return;
		}
		cr_assert_eq(rc, 0, "send: %s", ttrpc_strerror(rc));
		p->sent++;
	}
	ttrpc_stream_close_send(st);
}

static void pump_msg(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user)
{
	(void)st;
	struct pump *p = user;
	uint8_t want[16];
	fill(want, p->got, sizeof(want));
	cr_assert_eq(len, 1u << 20);
	cr_assert(memcmp(msg, want, sizeof(want)) == 0, "echo %u out of order", p->got);
	p->got++;
	p->bytes_got += len;
}

static void pump_done(ttrpc_stream *st, const struct ttrpc_result *r, void *user)
{
	(void)st;
	struct pump *p = user;
	p->done = true;
	p->code = r->code;
}

static void unary_done(const struct ttrpc_result *r, void *user)
{
	*(int *)user = r->code == TTRPC_CODE_OK && r->len == 6 && !memcmp(r->payload, "beside", 6) ? 1 : 2;
}

Test(grpc_streams, async_bidi_with_backpressure)
{
	for (const char *const *t = targets(); *t; t++) {
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		int err = 0;
		ttrpc_client *cl = ttrpc_client_connect_grpc(loop, *t, NULL, &err);
		cr_assert_not_null(cl, "%s: %s", *t, ttrpc_strerror(err));
		struct pump *p = calloc(1, sizeof(*p));
		const struct ttrpc_stream_cbs cbs = { .on_msg = pump_msg,
						      .on_done = pump_done,
						      .on_writable = pump_send };
		/* the echoes are held while unread: a bound above 32 MiB */
		ttrpc_client_set_stream_buffer(cl, 64u << 20);
		cr_assert_eq(ttrpc_client_stream_open(cl, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &cbs, p,
						      &p->st),
			     0);
		pump_send(p->st, p);
		int unary = 0;
		cr_assert_eq(ttrpc_client_call(cl, SVC, "Echo", (const uint8_t *)"beside", 6, NULL, unary_done, &unary),
			     0);
		long long t0 = interop_now_ms();
		while (!p->done && interop_now_ms() - t0 < 60000)
			ev_run(loop, EVRUN_ONCE);
		cr_assert(p->done, "%s: not done (sent %u got %u)", *t, p->sent, p->got);
		cr_assert_eq(p->code, TTRPC_CODE_OK, "%s: %d", *t, p->code);
		cr_assert_eq(p->got, 32, "%s: %u echoes", *t, p->got);
		cr_assert_gt(p->eagain, 0, "%s: the send window never filled", *t);
		cr_assert_eq(unary, 1, "%s: unary call beside the stream", *t);
		free(p);
		ttrpc_client_free(cl);
		ev_loop_destroy(loop);
	}
}

static int orphans(ttrpc_client *cl)
{
	struct ttrpc_result r;
	cr_assert_eq(ttrpc_client_call_sync(cl, SVC, "Orphans", NULL, 0, NULL, &r), TTRPC_CODE_OK);
	int n = atoi((const char *)r.payload);
	ttrpc_result_clear(&r);
	return n;
}

Test(grpc_streams, cancel_resets_the_stream)
{
	ttrpc_client *cl = connect_to(ours_unix);
	int before = orphans(cl);
	ttrpc_stream *st;
	cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Download", TTRPC_KIND_SERVER_STREAM,
						   (const uint8_t *)"1000000 1000", 12, NULL, &st),
		     0);
	uint8_t *msg;
	size_t len;
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1);
	free(msg);
	ttrpc_stream_cancel(st);
	struct ttrpc_result r;
	cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_CANCELLED);
	ttrpc_result_clear(&r);
	long long t0 = interop_now_ms();
	while (orphans(cl) != before + 1 && interop_now_ms() - t0 < 5000)
		;
	cr_assert_eq(orphans(cl), before + 1, "the server's call was not orphaned");
	ttrpc_client_free(cl);
}

Test(grpc_streams, deadline)
{
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		struct ttrpc_call_opts o = { .timeout_ns = 300000000 };
		ttrpc_stream *st;
		cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, 0, &o,
							   &st),
			     0);
		cr_assert_eq(ttrpc_stream_send_sync(st, (const uint8_t *)"x", 1), 0);
		long long t0 = interop_now_ms();
		uint8_t *msg;
		size_t len;
		cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), TTRPC_ECLOSED);
		struct ttrpc_result r;
		cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_DEADLINE_EXCEEDED, "%s: %d", *t, r.code);
		ttrpc_result_clear(&r);
		long long took = interop_now_ms() - t0;
		cr_assert(took >= 250 && took < 3000, "%s: deadline after %lld ms", *t, took);
		/* the connection goes on */
		cr_assert_eq(ttrpc_client_call_sync(cl, SVC, "Echo", (const uint8_t *)"y", 1, NULL, &r), TTRPC_CODE_OK);
		ttrpc_result_clear(&r);
		ttrpc_client_free(cl);
	}
}

Test(grpc_streams, unknown_method)
{
	for (const char *const *t = targets(); *t; t++) {
		ttrpc_client *cl = connect_to(*t);
		ttrpc_stream *st;
		cr_assert_eq(ttrpc_client_stream_open_sync(cl, SVC, "Nope", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &st),
			     0);
		struct ttrpc_result r;
		cr_assert_eq(ttrpc_stream_finish_sync(st, &r), TTRPC_CODE_UNIMPLEMENTED, "%s: %d %s", *t, r.code,
			     r.message);
		ttrpc_result_clear(&r);
		ttrpc_client_free(cl);
	}
}

/* ttrpc_client_free from inside one of a gRPC client's own callbacks: the
 * connection closes at once (the other pending call completes once, with
 * UNAVAILABLE), the memory goes from the loop afterwards (ASan and LSan
 * check both in the memcheck tree). */
struct free_ctx {
	ttrpc_client *cl;
	int first, second;
	char second_msg[128];
};

static void free_from_done(const struct ttrpc_result *r, void *user)
{
	struct free_ctx *f = user;
	f->first++;
	cr_expect_eq(r->code, TTRPC_CODE_OK, "first call: %s", r->message);
	ttrpc_client_free(f->cl);
}

static void second_done(const struct ttrpc_result *r, void *user)
{
	struct free_ctx *f = user;
	f->second++;
	snprintf(f->second_msg, sizeof(f->second_msg), "%d %s", r->code, r->message);
}

Test(grpc_streams, free_from_own_callback)
{
	for (const char *const *t = targets(); *t; t++) {
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		int err = 0;
		struct free_ctx f = { 0 };
		f.cl = ttrpc_client_connect_grpc(loop, *t, NULL, &err);
		cr_assert_not_null(f.cl, "%s: %s", *t, ttrpc_strerror(err));
		cr_assert_eq(ttrpc_client_call(f.cl, SVC, "Echo", (const uint8_t *)"one", 3, NULL, free_from_done, &f),
			     0);
		/* sleeps 2 s on the server: still pending when the first is answered */
		struct ttrpc_call_opts opts = { .timeout_ns = 20000000000 };
		cr_assert_eq(ttrpc_client_call(f.cl, SVC, "Sleep", (const uint8_t *)"2000", 4, &opts, second_done, &f),
			     0);
		long long t0 = interop_now_ms();
		while ((!f.first || !f.second) && interop_now_ms() - t0 < 10000)
			ev_run(loop, EVRUN_ONCE);
		cr_assert_eq(f.first, 1, "%s", *t);
		cr_assert_eq(f.second, 1, "%s: the pending call's done ran %d times", *t, f.second);
		cr_assert(!strncmp(f.second_msg, "14 ", 3), "%s: %s", *t, f.second_msg);
		/* the deferred free runs on the next iteration */
		ev_run(loop, EVRUN_NOWAIT);
		ev_loop_destroy(loop);
	}
}
