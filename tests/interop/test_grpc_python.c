/* SPDX-License-Identifier: Apache-2.0 */
/* Our gRPC client (ttrpc_client_connect_grpc) against python3-grpcio's
 * server (python_grpc_peer.py), h2c over a unix socket and over TCP. Built
 * a second time as test_grpc_go with TTRPC_INTEROP_GO_PEER: the same cases
 * against grpc-go's server (go/grpc-go-peer, the same methods). */
#include <criterion/criterion.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ttrpc/client.h>
#include <ttrpc/grpc.h>

#include "interop_proc.h"

#define SVC "interop.Echo"

static struct interop_dir dir;
static struct interop_proc server = { .pid = -1, .out_fd = -1 };
static char unix_target[128];
static char tcp_target[64];

static void start_python_server(void)
{
	cr_assert(interop_dir_make(&dir), "mkdtemp failed");
#ifdef TTRPC_INTEROP_GO_PEER
	char *argv[] = { TTRPC_INTEROP_GO_PEER, "server", "--socket", dir.socket, NULL };
#else
	char *argv[] = { "/usr/bin/python3", TTRPC_INTEROP_PYTHON_PEER, "server", "--socket", dir.socket, NULL };
#endif
	cr_assert(interop_spawn(&server, argv, true), "cannot start the python peer");
	char log[4096] = "";
	cr_assert(interop_wait_ready(&server, 20000, log, sizeof(log)), "python peer did not get ready:\n%s", log);
	const char *p = strstr(log, "port ");
	cr_assert_not_null(p, "no port line in:\n%s", log);
	snprintf(tcp_target, sizeof(tcp_target), "127.0.0.1:%d", atoi(p + 5));
	snprintf(unix_target, sizeof(unix_target), "unix:%s", dir.socket);
}

static void stop_python_server(void)
{
	interop_stop(&server, SIGKILL, 5000);
	interop_dir_remove(&dir);
}

TestSuite(grpc_python, .init = start_python_server, .fini = stop_python_server, .timeout = 120);

static ttrpc_client *connect_to(const char *target, size_t max_message)
{
	struct ttrpc_grpc_client_opts o = { .max_message = max_message };
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect_grpc(NULL, target, &o, &err);
	cr_assert_not_null(cl, "connect %s: %s", target, ttrpc_strerror(err));
	cr_assert(ttrpc_client_is_grpc(cl));
	return cl;
}

static int call(ttrpc_client *cl, const char *method, const void *req, size_t len, const struct ttrpc_call_opts *o,
		struct ttrpc_result *r)
{
	return ttrpc_client_call_sync(cl, SVC, method, req, len, o, r);
}

static void echo_sizes(const char *target)
{
	ttrpc_client *cl = connect_to(target, 0);
	const size_t sizes[] = { 0, 1, 5, 16383, 16384, 65536, 1 << 20, TTRPC_MAX_MESSAGE_SIZE };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *req = malloc(sizes[i] + 1);
		for (size_t j = 0; j < sizes[i]; j++)
			req[j] = (uint8_t)(j * 7 + i);
		struct ttrpc_result r;
		cr_assert_eq(call(cl, "Echo", req, sizes[i], NULL, &r), TTRPC_CODE_OK, "echo %zu: %d %s", sizes[i],
			     r.code, r.message);
		cr_assert_eq(r.len, sizes[i]);
		cr_assert(sizes[i] == 0 || memcmp(r.payload, req, sizes[i]) == 0, "echo %zu: bytes differ", sizes[i]);
		ttrpc_result_clear(&r);
		free(req);
	}
	ttrpc_client_free(cl);
}

Test(grpc_python, echo_0_to_limit_unix)
{
	echo_sizes(unix_target);
}

Test(grpc_python, echo_0_to_limit_tcp)
{
	echo_sizes(tcp_target);
}

Test(grpc_python, every_status_code_with_message)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	for (int code = 1; code <= 16; code++) {
		char req[128];
		const char *msg = "failed: 100% \xc3\xa9t\xc3\xa9\n(second line)";
		snprintf(req, sizeof(req), "%d:%s %d", code, msg, code);
		struct ttrpc_result r;
		cr_assert_eq(call(cl, "Fail", req, strlen(req), NULL, &r), code, "code %d: got %d %s", code, r.code,
			     r.message);
		char want[128];
		snprintf(want, sizeof(want), "%s %d", msg, code);
		cr_assert_str_eq(r.message, want);
		cr_assert_eq(r.len, 0);
		ttrpc_result_clear(&r);
	}
	ttrpc_client_free(cl);
}

Test(grpc_python, metadata_text_and_binary)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "X-Text", "hello world");
	ttrpc_md_add(md, "x-multi", "one");
	ttrpc_md_add(md, "x-multi", "two");
	ttrpc_md_add(md, "x-raw-bin", "\x01\x02\xff\x80 z");
	struct ttrpc_call_opts o = { .md = md };
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Metadata", "", 0, &o, &r), TTRPC_CODE_OK, "%s", r.message);
	char *got = strndup((char *)r.payload, r.len);
	cr_assert(strstr(got, "x-text=hello world\n"), "%s", got);
	cr_assert(strstr(got, "x-multi=one\nx-multi=two\n"), "%s", got);
	cr_assert(strstr(got, "x-raw-bin=0102ff80207a\n"), "%s", got);
	cr_assert(strstr(got, "user-agent=") && strstr(got, "ttrpc-c"), "%s", got);
	free(got);
	ttrpc_result_clear(&r);

	/* what HTTP/2 cannot carry is refused before anything is sent */
	ttrpc_md *bad = ttrpc_md_new();
	ttrpc_md_add(bad, "x-bad", "line\nbreak");
	o.md = bad;
	cr_assert_eq(call(cl, "Metadata", "", 0, &o, &r), TTRPC_CODE_INVALID_ARGUMENT);
	ttrpc_result_clear(&r);
	ttrpc_md_free(bad);
	bad = ttrpc_md_new();
	ttrpc_md_add(bad, "grpc-timeout", "1S");
	o.md = bad;
	cr_assert_eq(call(cl, "Metadata", "", 0, &o, &r), TTRPC_CODE_INVALID_ARGUMENT);
	ttrpc_result_clear(&r);
	ttrpc_md_free(bad);
	cr_assert(ttrpc_client_connected(cl));
	ttrpc_md_free(md);
	ttrpc_client_free(cl);
}

Test(grpc_python, deadline_sent_and_enforced)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Deadline", "", 0, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, 4);
	cr_assert_arr_eq(r.payload, "none", 4);
	ttrpc_result_clear(&r);

	struct ttrpc_call_opts o = { .timeout_ns = 5000000000 };
	cr_assert_eq(call(cl, "Deadline", "", 0, &o, &r), TTRPC_CODE_OK);
	char *left = strndup((char *)r.payload, r.len);
	double s = atof(left);
	cr_assert(s > 3.0 && s <= 5.0, "server saw %s s left of 5", left);
	free(left);
	ttrpc_result_clear(&r);

	o.timeout_ns = 200000000;
	long long t0 = interop_now_ms();
	cr_assert_eq(call(cl, "Sleep", "3000", 4, &o, &r), TTRPC_CODE_DEADLINE_EXCEEDED, "%d %s", r.code, r.message);
	long long took = interop_now_ms() - t0;
	cr_assert(took >= 195 && took < 1500, "deadline after %lld ms", took);
	ttrpc_result_clear(&r);
	/* the connection goes on */
	cr_assert_eq(call(cl, "Echo", "x", 1, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
}

struct flight {
	int done, ok;
};

static void count_done(const struct ttrpc_result *r, void *user)
{
	struct flight *f = user;
	f->done++;
	if (r->code == TTRPC_CODE_OK && r->len == 5 && memcmp(r->payload, "slept", 5) == 0)
		f->ok++;
}

Test(grpc_python, sixty_four_in_flight)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	struct flight f = { 0 };
	long long t0 = interop_now_ms();
	for (int i = 0; i < 64; i++)
		cr_assert_eq(ttrpc_client_call(cl, SVC, "Sleep", (const uint8_t *)"300", 3, NULL, count_done, &f), 0);
	cr_assert_eq(ttrpc_client_pending(cl), 64);
	while (f.done < 64)
		ev_run(ttrpc_client_loop(cl), EVRUN_ONCE);
	long long took = interop_now_ms() - t0;
	cr_assert_eq(f.ok, 64);
	/* one after the other would be 19 s */
	cr_assert(took < 5000, "64 calls of 300 ms took %lld ms", took);
	cr_assert_eq(ttrpc_client_pending(cl), 0);
	ttrpc_client_free(cl);
}

Test(grpc_python, unknown_method_is_unimplemented)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "NoSuchMethod", "", 0, NULL, &r), TTRPC_CODE_UNIMPLEMENTED, "%d %s", r.code, r.message);
	ttrpc_result_clear(&r);
	cr_assert_eq(ttrpc_client_call_sync(cl, "interop.Nope", "Echo", NULL, 0, NULL, &r), TTRPC_CODE_UNIMPLEMENTED);
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
}

Test(grpc_python, oversized_both_ways)
{
	ttrpc_client *cl = connect_to(unix_target, 1024);
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Size", "1024", 4, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, 1024);
	ttrpc_result_clear(&r);
	cr_assert_eq(call(cl, "Size", "1025", 4, NULL, &r), TTRPC_CODE_RESOURCE_EXHAUSTED, "%d %s", r.code, r.message);
	ttrpc_result_clear(&r);
	static uint8_t big[1025];
	cr_assert_eq(ttrpc_client_call(cl, SVC, "Echo", big, sizeof(big), NULL, count_done, NULL), TTRPC_ETOOBIG);
	cr_assert_eq(call(cl, "Echo", big, sizeof(big), NULL, &r), TTRPC_CODE_RESOURCE_EXHAUSTED);
	ttrpc_result_clear(&r);
	/* the connection goes on */
	cr_assert_eq(call(cl, "Echo", big, 1024, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, 1024);
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
}

static void on_closed(ttrpc_client *cl, void *user)
{
	(void)cl;
	(*(int *)user)++;
}

struct one {
	int code;
	bool done;
};

static void one_done(const struct ttrpc_result *r, void *user)
{
	struct one *o = user;
	o->code = r->code;
	o->done = true;
}

Test(grpc_python, server_gone_fails_pending_calls)
{
	ttrpc_client *cl = connect_to(unix_target, 0);
	int closed = 0;
	ttrpc_client_on_close(cl, on_closed, &closed);
	struct one o = { 0 };
	cr_assert_eq(ttrpc_client_call(cl, SVC, "Sleep", (const uint8_t *)"5000", 4, NULL, one_done, &o), 0);
	for (int i = 0; i < 20; i++)
		ev_run(ttrpc_client_loop(cl), EVRUN_NOWAIT);
	interop_stop(&server, SIGKILL, 5000);
	while (!o.done)
		ev_run(ttrpc_client_loop(cl), EVRUN_ONCE);
	cr_assert_eq(o.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(closed, 1);
	cr_assert_not(ttrpc_client_connected(cl));
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Echo", "", 0, NULL, &r), TTRPC_CODE_UNAVAILABLE);
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
}

Test(grpc_python, close_fails_pending_calls)
{
	ttrpc_client *cl = connect_to(tcp_target, 0);
	struct one o = { 0 };
	cr_assert_eq(ttrpc_client_call(cl, SVC, "Sleep", (const uint8_t *)"5000", 4, NULL, one_done, &o), 0);
	ttrpc_client_close(cl);
	cr_assert(o.done);
	cr_assert_eq(o.code, TTRPC_CODE_UNAVAILABLE);
	ttrpc_client_free(cl);
}

Test(grpc_python, bad_targets)
{
	int err = 0;
	cr_assert_null(ttrpc_client_connect_grpc(NULL, "nohostport", NULL, &err));
	cr_assert_eq(err, TTRPC_EINVAL);
	cr_assert_null(ttrpc_client_connect_grpc(NULL, "unix:", NULL, &err));
	cr_assert_eq(err, TTRPC_EINVAL);
	cr_assert_null(ttrpc_client_connect_grpc(NULL, "unix:/nonexistent/sock", NULL, &err));
	cr_assert_eq(err, TTRPC_ESYS);
}
