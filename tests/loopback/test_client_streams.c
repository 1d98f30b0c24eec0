/* SPDX-License-Identifier: Apache-2.0 */
/* Our client streams against our server in one process (socketpair, one
 * loop): the three stream kinds with many, empty and no messages, metadata
 * and deadlines, error ends, CloseSend, the receive bound, backpressure, no
 * head-of-line blocking, cancellation from either side, a vanishing server,
 * the blocking API, stream interceptors on both ends, and freeing the client
 * from a stream callback. */
#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ttrpc/stream.h>
#include <ttrpc/ttrpc.h>

#define SVC "test.v1.Streams"

/* --- the server's methods --- */

struct dl {
	uint32_t n, size, next;
};

static struct {
	int opened, orphaned, close_sends, finished_after_orphan;
	ttrpc_call *held; /* Stall's call */
	int ic_after_code[8];
	enum ttrpc_stream_kind ic_after_kind[8];
	int n_ic_after;
	bool reject_streams;
} srv;

static uint8_t pattern(uint32_t i, uint32_t j)
{
	return (uint8_t)(i * 7u + j);
}

/* Download: request "N SIZE": N messages of SIZE bytes, sent as the send
 * window allows, then the OK end. */
static void dl_pump(ttrpc_call *call)
{
	struct dl *d = ttrpc_call_user(call);
	static uint8_t buf[TTRPC_MAX_MESSAGE_SIZE];
	while (d->next < d->n) {
		for (uint32_t j = 0; j < d->size; j++)
			buf[j] = pattern(d->next, j);
		int rc = ttrpc_call_send(call, buf, d->size);
		if (rc == TTRPC_EAGAIN)
			return;
		cr_assert_eq(rc, 0, "send: %d", rc);
		d->next++;
	}
	free(d);
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

static void dl_orphan(ttrpc_call *call, void *user)
{
	(void)user;
	srv.orphaned++;
	free(ttrpc_call_user(call));
	ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, NULL);
}

static void dl_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	srv.opened++;
	char text[64];
	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)req);
	struct dl *d = calloc(1, sizeof(*d));
	cr_assert_eq(sscanf(text, "%u %u", &d->n, &d->size), 2);
	cr_assert(d->size <= TTRPC_MAX_MESSAGE_SIZE);
	ttrpc_call_set_user(call, d);
	ttrpc_call_on_orphan(call, dl_orphan, NULL);
	dl_pump(call);
}

static void dl_writable(ttrpc_call *call, void *user)
{
	(void)user;
	dl_pump(call);
}

/* Upload: counts messages and bytes (checking a checksum of the content);
 * answers "messages bytes md" at CloseSend, md being the value of key "k". */
struct ul {
	uint64_t n, bytes;
};

static void ul_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)user;
	cr_assert_eq(len, 0);
	srv.opened++;
	ttrpc_call_set_user(call, calloc(1, sizeof(struct ul)));
}

static void ul_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	struct ul *u = ttrpc_call_user(call);
	for (size_t j = 0; j < len; j++)
		cr_assert_eq(msg[j], pattern((uint32_t)u->n, (uint32_t)j));
	u->n++;
	u->bytes += len;
}

static void ul_close(ttrpc_call *call, void *user)
{
	(void)user;
	srv.close_sends++;
	struct ul *u = ttrpc_call_user(call);
	const char *v = ttrpc_md_get(ttrpc_call_metadata(call), "k");
	char out[128];
	int k = snprintf(out, sizeof(out), "%llu %llu %s", (unsigned long long)u->n, (unsigned long long)u->bytes,
			 v ? v : "-");
	free(u);
	cr_assert_eq(ttrpc_call_respond(call, (const uint8_t *)out, (size_t)k), 0);
}

/* Chat: echoes each message; "fail" ends with ABORTED, "cancel" with
 * CANCELLED; CloseSend ends with OK. */
static void chat_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)call;
	(void)req;
	(void)len;
	(void)user;
	srv.opened++;
}

static void chat_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	if (len == 4 && !memcmp(msg, "fail", 4)) {
		ttrpc_call_finish(call, TTRPC_CODE_ABORTED, "told to fail");
		return;
	}
	if (len == 6 && !memcmp(msg, "cancel", 6)) {
		ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, "server cancelled");
		return;
	}
	cr_assert_eq(ttrpc_call_send(call, msg, len), 0);
}

static void chat_close(ttrpc_call *call, void *user)
{
	(void)user;
	srv.close_sends++;
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

/* Md: one message per metadata pair "k=v", then "deadline=yes|no". */
static void md_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	srv.opened++;
	const ttrpc_md *md = ttrpc_call_metadata(call);
	char out[256];
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		int n = snprintf(out, sizeof(out), "%s=%s", k, v);
		cr_assert_eq(ttrpc_call_send(call, (const uint8_t *)out, (size_t)n), 0);
	}
	int n = snprintf(out, sizeof(out), "deadline=%s", ttrpc_call_deadline_ns(call) ? "yes" : "no");
	cr_assert_eq(ttrpc_call_send(call, (const uint8_t *)out, (size_t)n), 0);
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

/* Stall: holds the call, answers nothing; its orphan hook finishes it. */
static void stall_orphan(ttrpc_call *call, void *user)
{
	(void)user;
	srv.orphaned++;
	if (srv.held == call)
		srv.held = NULL;
	ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, NULL);
	srv.finished_after_orphan++;
}

static void stall_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	srv.opened++;
	srv.held = call;
	ttrpc_call_on_orphan(call, stall_orphan, NULL);
}

static void stall_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)call;
	(void)msg;
	(void)len;
	(void)user;
}

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	ttrpc_call_respond(call, req, len);
}

static int srv_before(ttrpc_call *call, char **message, void *user)
{
	(void)user;
	if (ttrpc_call_kind(call) == TTRPC_KIND_UNARY)
		return TTRPC_CODE_OK;
	cr_assert_eq(ttrpc_md_add(ttrpc_call_metadata_mut(call), "srv-ic", ttrpc_call_method(call)), 0);
	if (srv.reject_streams) {
		*message = strdup("streams refused");
		return TTRPC_CODE_PERMISSION_DENIED;
	}
	return TTRPC_CODE_OK;
}

static void srv_after(const ttrpc_call *call, int code, int64_t duration_ns, void *user)
{
	(void)user;
	cr_assert(duration_ns >= 0);
	if (srv.n_ic_after < 8) {
		srv.ic_after_code[srv.n_ic_after] = code;
		srv.ic_after_kind[srv.n_ic_after++] = ttrpc_call_kind(call);
	}
}

/* --- fixture --- */

static struct ev_loop *loop;
static ttrpc_server *server;
static ttrpc_client *client;

static void reg(const char *method, enum ttrpc_stream_kind kind,
		void (*on_open)(ttrpc_call *, const uint8_t *, size_t, void *),
		void (*on_msg)(ttrpc_call *, const uint8_t *, size_t, void *), void (*on_close)(ttrpc_call *, void *),
		void (*on_writable)(ttrpc_call *, void *))
{
	struct ttrpc_stream_handler h = { .kind = kind,
					  .on_open = on_open,
					  .on_msg = on_msg,
					  .on_close_send = on_close,
					  .on_writable = on_writable };
	cr_assert_eq(ttrpc_server_register_stream(server, SVC, method, &h, NULL), 0);
}

static void setup(void)
{
	memset(&srv, 0, sizeof(srv));
	loop = ev_loop_new(EVFLAG_AUTO);
	server = ttrpc_server_new(loop);
	cr_assert_not_null(server);
	reg("Download", TTRPC_KIND_SERVER_STREAM, dl_open, NULL, NULL, dl_writable);
	reg("Upload", TTRPC_KIND_CLIENT_STREAM, ul_open, ul_msg, ul_close, NULL);
	reg("Chat", TTRPC_KIND_BIDI_STREAM, chat_open, chat_msg, chat_close, NULL);
	reg("Md", TTRPC_KIND_SERVER_STREAM, md_open, NULL, NULL, NULL);
	reg("Stall", TTRPC_KIND_BIDI_STREAM, stall_open, stall_msg, NULL, NULL);
	cr_assert_eq(ttrpc_server_register(server, SVC, "Echo", echo, NULL), 0);
	struct ttrpc_server_interceptor sic = { .before = srv_before, .after = srv_after };
	cr_assert_eq(ttrpc_server_add_interceptor(server, &sic), 0);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ttrpc_server_adopt_conn(server, sv[1]), 0);
	client = ttrpc_client_adopt(loop, sv[0], NULL);
	cr_assert_not_null(client);
}

static void teardown(void)
{
	ttrpc_client_free(client);
	ttrpc_server_free(server);
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);
}

TestSuite(client_streams, .init = setup, .fini = teardown, .timeout = 60);

/* --- the client's side --- */

struct rec {
	ttrpc_stream *st;
	int n_msgs, n_done, code;
	uint64_t bytes;
	char message[128];
	char payload[256];
	char first[256], last[256];
	bool check_pattern; /* messages are Download's */
	bool pause_at_first;
	bool cancel_at_first;
	bool free_client_at_first;
	int n_writable;
	bool done_in_cancel; /* on_done ran inside ttrpc_stream_cancel */
	bool in_cancel;
};

static void on_msg(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user)
{
	struct rec *r = user;
	cr_assert_eq(st, r->st);
	cr_assert_eq(r->n_done, 0, "message after on_done");
	if (r->check_pattern)
		for (size_t j = 0; j < len; j++)
			cr_assert_eq(msg[j], pattern((uint32_t)r->n_msgs, (uint32_t)j), "message %d byte %zu",
				     r->n_msgs, j);
	snprintf(r->n_msgs ? r->last : r->first, sizeof(r->first), "%.*s", (int)len, (const char *)msg);
	r->n_msgs++;
	r->bytes += len;
	if (r->n_msgs == 1 && r->pause_at_first)
		ttrpc_stream_pause(st, true);
	if (r->n_msgs == 1 && r->cancel_at_first) {
		r->in_cancel = true;
		ttrpc_stream_cancel(st);
		r->in_cancel = false;
		cr_assert_eq(r->n_done, 1, "on_done before cancel returns");
	}
	if (r->n_msgs == 1 && r->free_client_at_first) {
		ttrpc_client_free(client);
		cr_assert_eq(r->n_done, 1, "on_done UNAVAILABLE before free returns");
		client = NULL;
	}
}

static void on_done(ttrpc_stream *st, const struct ttrpc_result *res, void *user)
{
	struct rec *r = user;
	if (r->st) /* NULL: rejected inside ttrpc_client_stream_open */
		cr_assert_eq(st, r->st);
	r->n_done++;
	r->code = res->code;
	r->done_in_cancel = r->in_cancel;
	snprintf(r->message, sizeof(r->message), "%s", res->message);
	snprintf(r->payload, sizeof(r->payload), "%.*s", (int)res->len, (const char *)res->payload);
}

static void on_writable(ttrpc_stream *st, void *user)
{
	(void)st;
	struct rec *r = user;
	r->n_writable++;
}

static const struct ttrpc_stream_cbs cbs = { .on_msg = on_msg, .on_done = on_done, .on_writable = on_writable };

static void run_until(const int *counter, int n)
{
	for (int i = 0; i < 200000 && *counter < n; i++)
		ev_run(loop, EVRUN_ONCE);
	cr_assert_geq(*counter, n, "waited for %d, got %d", n, *counter);
}

static void open_stream(struct rec *r, const char *method, enum ttrpc_stream_kind kind, const char *req,
			const struct ttrpc_call_opts *opts)
{
	int rc = ttrpc_client_stream_open(client, SVC, method, kind, (const uint8_t *)req, req ? strlen(req) : 0, opts,
					  &cbs, r, &r->st);
	cr_assert_eq(rc, 0, "open %s: %d", method, rc);
	cr_assert_not_null(r->st);
}

static void download(struct rec *r, uint32_t n, uint32_t size)
{
	char req[64];
	snprintf(req, sizeof(req), "%u %u", n, size);
	r->check_pattern = true;
	open_stream(r, "Download", TTRPC_KIND_SERVER_STREAM, req, NULL);
}

/* Send i messages of Upload's pattern, waiting for on_writable on EAGAIN. */
static void send_pattern(struct rec *r, int from, int to, size_t size, int *eagains)
{
	static uint8_t buf[TTRPC_MAX_MESSAGE_SIZE];
	for (int i = from; i < to;) {
		for (size_t j = 0; j < size; j++)
			buf[j] = pattern((uint32_t)i, (uint32_t)j);
		int rc = ttrpc_stream_send(r->st, buf, size);
		if (rc == TTRPC_EAGAIN) {
			cr_assert(!ttrpc_stream_writable(r->st));
			if (eagains)
				(*eagains)++;
			int w = r->n_writable;
			run_until(&r->n_writable, w + 1);
			continue;
		}
		cr_assert_eq(rc, 0, "send %d: %d", i, rc);
		i++;
	}
}

static int unary_echo(const char *text)
{
	struct ttrpc_result res;
	int code = ttrpc_client_call_sync(client, SVC, "Echo", (const uint8_t *)text, strlen(text), NULL, &res);
	if (code == TTRPC_CODE_OK)
		cr_assert(res.len == strlen(text) && !memcmp(res.payload, text, res.len));
	ttrpc_result_clear(&res);
	return code;
}

Test(client_streams, server_stream_counts)
{
	uint32_t counts[] = { 0, 1, 10000 };
	for (int k = 0; k < 3; k++) {
		struct rec r = { 0 };
		download(&r, counts[k], 100);
		run_until(&r.n_done, 1);
		cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
		cr_assert_eq(r.n_msgs, (int)counts[k]);
		cr_assert_eq(r.bytes, (uint64_t)counts[k] * 100);
	}
	/* big messages, up to 64 KiB, through the send windows of both ends */
	struct rec r = { 0 };
	download(&r, 200, 65536);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_eq(r.n_msgs, 200);
	cr_assert_eq(ttrpc_client_pending(client), 0);
}

Test(client_streams, client_stream_counts_and_backpressure)
{
	int counts[] = { 0, 1, 10000 };
	for (int k = 0; k < 3; k++) {
		struct rec r = { 0 };
		open_stream(&r, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
		send_pattern(&r, 0, counts[k], 100, NULL);
		cr_assert_eq(ttrpc_stream_close_send(r.st), 0);
		cr_assert_eq(ttrpc_stream_close_send(r.st), TTRPC_ESTATE);
		cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"x", 1), TTRPC_ESTATE);
		run_until(&r.n_done, 1);
		cr_assert_eq(r.code, TTRPC_CODE_OK, "%s", r.message);
		char want[64];
		snprintf(want, sizeof(want), "%d %d -", counts[k], counts[k] * 100);
		cr_assert_str_eq(r.payload, want);
		cr_assert_eq(r.n_msgs, 0);
	}
	/* 64 MiB without running the loop between sends: the window says
	 * EAGAIN, on_writable comes once it drained, nothing is lost */
	struct rec r = { 0 };
	open_stream(&r, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	cr_assert(ttrpc_stream_writable(r.st));
	int eagains = 0;
	send_pattern(&r, 0, 1024, 65536, &eagains);
	cr_assert_gt(eagains, 0, "a 64 MiB burst never met the send window");
	cr_assert_eq(r.n_writable, eagains);
	cr_assert_eq(ttrpc_stream_close_send(r.st), 0);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_str_eq(r.payload, "1024 67108864 -");
}

Test(client_streams, messages_of_the_limit_each_way)
{
	/* TTRPC_MAX_MESSAGE_SIZE (4 MiB, both ends' default limit) each way */
	struct rec d = { 0 }, u = { 0 }, c = { 0 };
	download(&d, 3, TTRPC_MAX_MESSAGE_SIZE);
	run_until(&d.n_done, 1);
	cr_assert_eq(d.code, TTRPC_CODE_OK, "%s", d.message);
	cr_assert_eq(d.n_msgs, 3);
	open_stream(&u, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	send_pattern(&u, 0, 3, TTRPC_MAX_MESSAGE_SIZE, NULL);
	cr_assert_eq(ttrpc_stream_close_send(u.st), 0);
	run_until(&u.n_done, 1);
	cr_assert_eq(u.code, TTRPC_CODE_OK, "%s", u.message);
	cr_assert_str_eq(u.payload, "3 12582912 -");
	open_stream(&c, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	c.check_pattern = true;
	send_pattern(&c, 0, 2, TTRPC_MAX_MESSAGE_SIZE, NULL);
	run_until(&c.n_msgs, 2);
	cr_assert_eq(ttrpc_stream_close_send(c.st), 0);
	run_until(&c.n_done, 1);
	cr_assert_eq(c.code, TTRPC_CODE_OK);
	cr_assert_eq(c.bytes, 2u * TTRPC_MAX_MESSAGE_SIZE);
}

Test(client_streams, bidi_echo_many)
{
	struct rec r = { 0 };
	open_stream(&r, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	r.check_pattern = true;
	send_pattern(&r, 0, 10000, 50, NULL);
	run_until(&r.n_msgs, 10000);
	cr_assert_eq(r.n_done, 0);
	cr_assert_eq(ttrpc_stream_close_send(r.st), 0);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_eq(r.n_msgs, 10000);
	cr_assert_eq(srv.close_sends, 1);
	/* 0 messages each way */
	struct rec z = { 0 };
	open_stream(&z, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	cr_assert_eq(ttrpc_stream_close_send(z.st), 0);
	run_until(&z.n_done, 1);
	cr_assert_eq(z.code, TTRPC_CODE_OK);
	cr_assert_eq(z.n_msgs, 0);
}

Test(client_streams, empty_messages_are_messages)
{
	struct rec c = { 0 }, u = { 0 }, d = { 0 };
	open_stream(&c, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	open_stream(&u, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, NULL);
	download(&d, 3, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ttrpc_stream_send(c.st, NULL, 0), 0);
		cr_assert_eq(ttrpc_stream_send(u.st, (const uint8_t *)"", 0), 0);
	}
	run_until(&c.n_msgs, 3);
	cr_assert_eq(ttrpc_stream_close_send(c.st), 0);
	cr_assert_eq(ttrpc_stream_close_send(u.st), 0);
	run_until(&c.n_done, 1);
	run_until(&u.n_done, 1);
	run_until(&d.n_done, 1);
	cr_assert_eq(c.n_msgs, 3);
	cr_assert_eq(c.bytes, 0);
	cr_assert_str_eq(u.payload, "3 0 -");
	cr_assert_eq(d.n_msgs, 3);
	cr_assert_eq(c.code + u.code + d.code, TTRPC_CODE_OK);
}

Test(client_streams, metadata_and_deadline)
{
	ttrpc_md *md = ttrpc_md_new();
	cr_assert_eq(ttrpc_md_add(md, "k", "v1"), 0);
	struct ttrpc_call_opts opts = { .timeout_ns = 5000000000LL, .md = md };
	struct rec r = { 0 }, u = { 0 };
	open_stream(&r, "Md", TTRPC_KIND_SERVER_STREAM, NULL, &opts);
	open_stream(&u, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, &opts);
	ttrpc_md_free(md);
	cr_assert_eq(ttrpc_stream_close_send(u.st), 0);
	run_until(&r.n_done, 1);
	run_until(&u.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_str_eq(r.first, "k=v1");
	cr_assert_str_eq(r.last, "deadline=yes");
	cr_assert_eq(r.n_msgs, 3, "k, srv-ic added by the server interceptor, deadline");
	cr_assert_str_eq(u.payload, "0 0 v1");

	/* the deadline ends a stream the server never answers, locally */
	struct ttrpc_call_opts shortd = { .timeout_ns = 100000000LL };
	struct rec s = { 0 };
	int64_t t0 = ttrpc_now_ns();
	open_stream(&s, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, &shortd);
	run_until(&s.n_done, 1);
	int64_t took = ttrpc_now_ns() - t0;
	cr_assert_eq(s.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	cr_assert(took >= 100000000LL && took < 2000000000LL, "took %lld ns", (long long)took);
	cr_assert_not_null(srv.held, "the server's call goes on (no frame tells it)");
	/* the connection is fine */
	cr_assert_eq(unary_echo("after deadline"), TTRPC_CODE_OK);
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Md", TTRPC_KIND_SERVER_STREAM, NULL, 0,
					      &(struct ttrpc_call_opts){ .timeout_ns = -1 }, &cbs, &s, &s.st),
		     TTRPC_EINVAL);
}

/* Chat "hello" then word: the server ends the stream with code/message;
 * the message before the status is delivered. */
static void chat_ends_with(const char *word, int code, const char *message)
{
	struct rec r = { 0 };
	open_stream(&r, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"hello", 5), 0);
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)word, strlen(word)), 0);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, code);
	cr_assert_str_eq(r.message, message);
	cr_assert_eq(r.n_msgs, 1, "the message before the error status is delivered");
	cr_assert_str_eq(r.first, "hello");
	cr_assert_eq(ttrpc_client_pending(client), 0);
}

Test(client_streams, error_ends)
{
	chat_ends_with("fail", TTRPC_CODE_ABORTED, "told to fail");

	struct rec u = { 0 };
	open_stream(&u, "Nope", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	run_until(&u.n_done, 1);
	cr_assert_eq(u.code, TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_str_eq(u.message, "method Nope");

	/* wrong uses, nothing sent */
	ttrpc_stream *st = NULL;
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Chat", TTRPC_KIND_UNARY, NULL, 0, NULL, &cbs, &u, &st),
		     TTRPC_EINVAL);
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, (const uint8_t *)"x", 1,
					      NULL, &cbs, &u, &st),
		     TTRPC_EINVAL);
	struct ttrpc_stream_cbs no_done = { .on_msg = on_msg };
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &no_done, &u,
					      &st),
		     TTRPC_EINVAL);
	static uint8_t big[TTRPC_MAX_MESSAGE_SIZE + 1];
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Download", TTRPC_KIND_SERVER_STREAM, big, sizeof(big), NULL,
					      &cbs, &u, &st),
		     TTRPC_ETOOBIG);
	struct rec d = { 0 };
	download(&d, 1, 1);
	cr_assert_eq(ttrpc_stream_send(d.st, (const uint8_t *)"x", 1), TTRPC_ESTATE);
	cr_assert_eq(ttrpc_stream_close_send(d.st), TTRPC_ESTATE);
	run_until(&d.n_done, 1);
	struct rec c = { 0 };
	open_stream(&c, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	cr_assert_eq(ttrpc_stream_send(c.st, big, sizeof(big)), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc_stream_close_send(c.st), 0);
	run_until(&c.n_done, 1);
	cr_assert_eq(c.code, TTRPC_CODE_OK, "a refused send leaves the stream open");
}

Test(client_streams, receive_bound_fails_only_that_stream)
{
	cr_assert_eq(ttrpc_client_set_stream_buffer(client, 0), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_client_set_stream_buffer(client, 65536), 0);
	struct rec big = { 0 }, other = { 0 };
	big.pause_at_first = true;
	download(&big, 1000, 1024);
	open_stream(&other, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	run_until(&big.n_done, 1);
	cr_assert_eq(big.code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert_eq(big.n_msgs, 1, "held messages are dropped with the failed stream");
	cr_assert_eq(unary_echo("still here"), TTRPC_CODE_OK);
	cr_assert_eq(ttrpc_stream_send(other.st, (const uint8_t *)"ping", 4), 0);
	run_until(&other.n_msgs, 1);
	cr_assert_eq(ttrpc_stream_close_send(other.st), 0);
	run_until(&other.n_done, 1);
	cr_assert_eq(other.code, TTRPC_CODE_OK);
	cr_assert_str_eq(other.first, "ping");
}

Test(client_streams, paused_stream_blocks_nothing)
{
	cr_assert_eq(ttrpc_client_set_stream_buffer(client, 16u << 20), 0);
	struct rec slow = { 0 }, busy = { 0 };
	slow.pause_at_first = true;
	download(&slow, 4000, 1024);
	run_until(&slow.n_msgs, 1);
	/* while it is paused (and the server keeps sending it), a unary call
	 * and another stream of 10,000 messages go through */
	for (int i = 0; i < 20; i++)
		cr_assert_eq(unary_echo("beside a paused stream"), TTRPC_CODE_OK);
	download(&busy, 10000, 100);
	run_until(&busy.n_done, 1);
	cr_assert_eq(busy.code, TTRPC_CODE_OK);
	cr_assert_eq(busy.n_msgs, 10000);
	cr_assert_eq(slow.n_msgs, 1);
	cr_assert_eq(slow.n_done, 0, "on_done waits for the held messages");
	ttrpc_stream_pause(slow.st, false);
	run_until(&slow.n_done, 1);
	cr_assert_eq(slow.code, TTRPC_CODE_OK);
	cr_assert_eq(slow.n_msgs, 4000);
}

/* Seconds one 20,000 x 1 KiB download takes, best of 3; with a stalled
 * (paused) 1 MiB download opened beside each run when stalled. */
static double busy_seconds(bool stalled)
{
	double best = 1e9;
	for (int k = 0; k < 3; k++) {
		struct rec slow = { 0 }, busy = { 0 };
		slow.pause_at_first = true;
		if (stalled)
			download(&slow, 1024, 1024);
		int64_t t0 = ttrpc_now_ns();
		download(&busy, 20000, 1024);
		run_until(&busy.n_done, 1);
		double took = (double)(ttrpc_now_ns() - t0) / 1e9;
		cr_assert_eq(busy.code, TTRPC_CODE_OK);
		cr_assert_eq(busy.n_msgs, 20000);
		if (took < best)
			best = took;
		if (stalled) {
			cr_assert_eq(slow.n_msgs, 1);
			ttrpc_stream_cancel(slow.st);
		}
	}
	return best;
}

Test(client_streams, stalled_stream_keeps_busy_throughput)
{
	cr_assert_eq(ttrpc_client_set_stream_buffer(client, 4u << 20), 0);
	double alone = busy_seconds(false), beside = busy_seconds(true);
	cr_log_info("20 MB download: alone %.3f s (%.0f MB/s), beside a stalled stream %.3f s (%.0f MB/s)", alone,
		    20.48 / alone, beside, 20.48 / beside);
	cr_assert(beside <= 2 * alone, "throughput dropped by more than half: %.3f s alone, %.3f s beside", alone,
		  beside);
}

/* Cancel r's stream, noting whether on_done ran inside the cancel. */
static void r_in_cancel(struct rec *r)
{
	r->in_cancel = true;
	ttrpc_stream_cancel(r->st);
	r->in_cancel = false;
}

Test(client_streams, cancel_from_the_client)
{
	struct rec r = { 0 };
	open_stream(&r, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	cr_assert_eq(ttrpc_stream_send(r.st, (const uint8_t *)"a", 1), 0);
	run_until(&srv.opened, 1);
	ttrpc_call *call = srv.held;
	cr_assert_not_null(call);
	r_in_cancel(&r);
	cr_assert_eq(r.n_done, 1);
	cr_assert(r.done_in_cancel);
	cr_assert_eq(r.code, TTRPC_CODE_CANCELLED);
	cr_assert_eq(ttrpc_client_pending(client), 0, "freed on the client at once");
	/* nothing went on the wire: the server's call is open; what it still
	 * sends is read and dropped by the client, the connection goes on */
	for (int i = 0; i < 50; i++)
		ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(srv.held, call);
	cr_assert_eq(ttrpc_call_orphaned(call), false);
	cr_assert_eq(ttrpc_call_send(call, (const uint8_t *)"late", 4), 0);
	cr_assert_eq(ttrpc_call_finish(call, TTRPC_CODE_OK, NULL), 0);
	srv.held = NULL;
	cr_assert_eq(unary_echo("after cancel"), TTRPC_CODE_OK);
	cr_assert_eq(r.n_msgs, 0);

	/* cancel from inside on_msg: on_done runs inside the cancel */
	struct rec c = { 0 };
	c.cancel_at_first = true;
	download(&c, 100, 10);
	run_until(&c.n_done, 1);
	cr_assert_eq(c.code, TTRPC_CODE_CANCELLED);
	cr_assert_eq(c.n_msgs, 1);
	cr_assert_eq(unary_echo("after cancel in on_msg"), TTRPC_CODE_OK);

	/* the client's connection closing frees the server's end at once
	 * (orphaned): the honest reset */
	struct rec o = { 0 };
	srv.opened = 0;
	open_stream(&o, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	run_until(&srv.opened, 1);
	ttrpc_client_close(client);
	cr_assert_eq(o.n_done, 1);
	cr_assert_eq(o.code, TTRPC_CODE_UNAVAILABLE);
	run_until(&srv.orphaned, 1);
	cr_assert_eq(srv.finished_after_orphan, 1);
}

Test(client_streams, end_behind_held_messages)
{
	/* the server ended both streams; their on_done waits behind held
	 * messages: a cancel, and the client's free, end them at once */
	struct rec a = { 0 }, b = { 0 };
	a.pause_at_first = b.pause_at_first = true;
	download(&a, 5, 10);
	download(&b, 5, 10);
	run_until(&srv.opened, 2);
	for (int i = 0; i < 100; i++)
		ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(a.n_msgs + b.n_msgs, 2);
	cr_assert_eq(ttrpc_client_pending(client), 0, "both ended on the wire");
	cr_assert_eq(a.n_done + b.n_done, 0);
	r_in_cancel(&a);
	cr_assert_eq(a.n_done, 1);
	cr_assert(a.done_in_cancel);
	cr_assert_eq(a.code, TTRPC_CODE_CANCELLED);
	cr_assert_eq(a.n_msgs, 1);
	ttrpc_client_free(client);
	client = NULL;
	cr_assert_eq(b.n_done, 1);
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE, "held messages were dropped: not OK");
	cr_assert_eq(b.n_msgs, 1);
}

Test(client_streams, cancel_from_the_server)
{
	chat_ends_with("cancel", TTRPC_CODE_CANCELLED, "server cancelled");
	cr_assert_eq(unary_echo("after"), TTRPC_CODE_OK);
}

Test(client_streams, server_vanishing)
{
	struct rec a = { 0 }, b = { 0 }, c = { 0 };
	open_stream(&a, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	open_stream(&b, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	download(&c, 1000000, 10);
	run_until(&srv.opened, 3);
	run_until(&c.n_msgs, 1);
	ttrpc_server_free(server);
	server = NULL;
	run_until(&a.n_done, 1);
	run_until(&b.n_done, 1);
	run_until(&c.n_done, 1);
	cr_assert_eq(a.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(c.code, TTRPC_CODE_UNAVAILABLE);
	struct rec d = { 0 };
	cr_assert_eq(ttrpc_client_stream_open(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &cbs, &d,
					      &d.st),
		     TTRPC_ECLOSED);
}

Test(client_streams, sync_api)
{
	ttrpc_stream *st;
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Download", TTRPC_KIND_SERVER_STREAM,
						   (const uint8_t *)"500 33", 6, NULL, &st),
		     0);
	uint8_t *msg;
	size_t len;
	int n = 0, rc;
	while ((rc = ttrpc_stream_recv_sync(st, &msg, &len)) == 1) {
		cr_assert_eq(len, 33);
		for (size_t j = 0; j < len; j++)
			cr_assert_eq(msg[j], pattern((uint32_t)n, (uint32_t)j));
		free(msg);
		n++;
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(n, 500);
	struct ttrpc_result res;
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_OK);
	ttrpc_result_clear(&res);

	/* upload: send_sync waits out the window; finish_sync closes the send side */
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Upload", TTRPC_KIND_CLIENT_STREAM, NULL, 0, NULL, &st),
		     0);
	static uint8_t buf[65536];
	for (int i = 0; i < 256; i++) {
		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = pattern((uint32_t)i, (uint32_t)j);
		cr_assert_eq(ttrpc_stream_send_sync(st, buf, sizeof(buf)), 0);
	}
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_OK);
	cr_assert_eq(res.len, strlen("256 16777216 -"));
	cr_assert(!memcmp(res.payload, "256 16777216 -", res.len));
	ttrpc_result_clear(&res);

	/* chat, then an error end: recv_sync says ECLOSED, finish_sync the status */
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &st), 0);
	cr_assert_eq(ttrpc_stream_send_sync(st, (const uint8_t *)"one", 3), 0);
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1);
	cr_assert(len == 3 && !memcmp(msg, "one", 3));
	free(msg);
	cr_assert_eq(ttrpc_stream_send_sync(st, NULL, 0), 0);
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1);
	cr_assert_eq(len, 0);
	free(msg);
	cr_assert_eq(ttrpc_stream_send_sync(st, (const uint8_t *)"fail", 4), 0);
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), TTRPC_ECLOSED);
	cr_assert_eq(ttrpc_stream_send_sync(st, (const uint8_t *)"x", 1), TTRPC_ECLOSED);
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_ABORTED);
	cr_assert_str_eq(res.message, "told to fail");
	ttrpc_result_clear(&res);

	/* deadline on a sync stream */
	struct ttrpc_call_opts opts = { .timeout_ns = 50000000LL };
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, 0, &opts, &st),
		     0);
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), TTRPC_ECLOSED);
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_DEADLINE_EXCEEDED);
	ttrpc_result_clear(&res);
	if (srv.held)
		ttrpc_call_finish(srv.held, TTRPC_CODE_OK, NULL);
	srv.held = NULL;

	/* a sync stream outlives its client: its status is UNAVAILABLE */
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Download", TTRPC_KIND_SERVER_STREAM,
						   (const uint8_t *)"1000000 10", 10, NULL, &st),
		     0);
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), 1);
	free(msg);
	ttrpc_client_free(client);
	client = NULL;
	while ((rc = ttrpc_stream_recv_sync(st, &msg, &len)) == 1)
		free(msg);
	cr_assert_eq(rc, TTRPC_ECLOSED);
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_UNAVAILABLE);
	ttrpc_result_clear(&res);
}

/* --- interceptors --- */

static struct {
	char order[64];
	enum ttrpc_stream_kind before_kind[8], after_kind[8];
	int after_code[8];
	int n_before, n_after;
	bool deny;
} cic;

static int cl_before(const char *service, const char *method, enum ttrpc_stream_kind kind, ttrpc_md *md, char **message,
		     void *user)
{
	(void)service;
	const char *name = user;
	strcat(cic.order, name);
	cic.before_kind[cic.n_before++ % 8] = kind;
	cr_assert_eq(ttrpc_md_add(md, name, method), 0);
	if (cic.deny && !strcmp(name, "b")) {
		*message = strdup("denied by b");
		return TTRPC_CODE_PERMISSION_DENIED;
	}
	return TTRPC_CODE_OK;
}

static void cl_after(const char *service, const char *method, enum ttrpc_stream_kind kind, int code,
		     int64_t duration_ns, void *user)
{
	(void)service;
	(void)method;
	cr_assert(duration_ns >= 0);
	strcat(cic.order, user);
	strcat(cic.order, "'");
	cic.after_kind[cic.n_after % 8] = kind;
	cic.after_code[cic.n_after++ % 8] = code;
}

Test(client_streams, interceptors)
{
	memset(&cic, 0, sizeof(cic));
	struct ttrpc_client_interceptor a = { .before = cl_before, .after = cl_after, .user = "a" };
	struct ttrpc_client_interceptor b = { .before = cl_before, .after = cl_after, .user = "b" };
	cr_assert_eq(ttrpc_client_add_interceptor(client, &a), 0);
	cr_assert_eq(ttrpc_client_add_interceptor(client, &b), 0);

	/* metadata added by both ends' interceptors reaches the handler */
	struct rec r = { 0 };
	open_stream(&r, "Md", TTRPC_KIND_SERVER_STREAM, NULL, NULL);
	run_until(&r.n_done, 1);
	cr_assert_eq(r.code, TTRPC_CODE_OK);
	cr_assert_str_eq(r.first, "a=Md");
	cr_assert_eq(r.n_msgs, 4, "a, b, srv-ic, deadline");
	cr_assert_str_eq(cic.order, "abb'a'");
	cr_assert_eq(cic.before_kind[0], TTRPC_KIND_SERVER_STREAM);
	cr_assert_eq(cic.after_kind[1], TTRPC_KIND_SERVER_STREAM);
	cr_assert_eq(cic.after_code[0], TTRPC_CODE_OK);
	run_until(&srv.n_ic_after, 1);
	cr_assert_eq(srv.ic_after_code[0], TTRPC_CODE_OK);
	cr_assert_eq(srv.ic_after_kind[0], TTRPC_KIND_SERVER_STREAM);

	/* a client interceptor rejects: on_done before open returns, nothing sent */
	cic.deny = true;
	cic.order[0] = 0;
	cic.n_after = 0;
	int opened = srv.opened;
	struct rec d = { 0 };
	d.st = NULL;
	ttrpc_stream *st = (ttrpc_stream *)&d;
	cr_assert_eq(
		ttrpc_client_stream_open(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &cbs, &d, &st), 0);
	cr_assert_null(st);
	cr_assert_eq(d.n_done, 1);
	cr_assert_eq(d.code, TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_str_eq(d.message, "denied by b");
	cr_assert_str_eq(cic.order, "abb'a'");
	cr_assert_eq(cic.after_code[0], TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_eq(cic.after_kind[0], TTRPC_KIND_BIDI_STREAM);
	/* sync: the status waits for finish_sync */
	cr_assert_eq(ttrpc_client_stream_open_sync(client, SVC, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, 0, NULL, &st), 0);
	uint8_t *msg;
	size_t len;
	cr_assert_eq(ttrpc_stream_recv_sync(st, &msg, &len), TTRPC_ECLOSED);
	struct ttrpc_result res;
	cr_assert_eq(ttrpc_stream_finish_sync(st, &res), TTRPC_CODE_PERMISSION_DENIED);
	ttrpc_result_clear(&res);
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(srv.opened, opened, "a rejected stream is never sent");
	cic.deny = false;

	/* a server interceptor rejects a stream with a status; its after sees it */
	srv.reject_streams = true;
	srv.n_ic_after = 0;
	struct rec x = { 0 };
	open_stream(&x, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	run_until(&x.n_done, 1);
	cr_assert_eq(x.code, TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_str_eq(x.message, "streams refused");
	cr_assert_eq(srv.opened, opened, "no handler ran");
	cr_assert_eq(srv.ic_after_code[0], TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_eq(srv.ic_after_kind[0], TTRPC_KIND_BIDI_STREAM);
	srv.reject_streams = false;

	/* after on the server with the error code of a stream ended by its handler */
	srv.n_ic_after = 0;
	struct rec e = { 0 };
	open_stream(&e, "Chat", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	cr_assert_eq(ttrpc_stream_send(e.st, (const uint8_t *)"fail", 4), 0);
	run_until(&e.n_done, 1);
	run_until(&srv.n_ic_after, 1);
	cr_assert_eq(srv.ic_after_code[0], TTRPC_CODE_ABORTED);
}

Test(client_streams, free_client_from_stream_callback)
{
	struct rec r = { 0 }, other = { 0 };
	r.free_client_at_first = true;
	download(&r, 1000, 10);
	open_stream(&other, "Stall", TTRPC_KIND_BIDI_STREAM, NULL, NULL);
	run_until(&r.n_done, 1);
	cr_assert_null(client);
	cr_assert_eq(r.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(r.n_msgs, 1);
	cr_assert_eq(other.n_done, 1);
	cr_assert_eq(other.code, TTRPC_CODE_UNAVAILABLE);
	/* the client's memory goes from the loop (ASan/valgrind see a leak or a
	 * use after free otherwise) */
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* A client with a private loop freed from a stream callback run by one of its
 * blocking calls: the blocking call returns, then the client (and its loop)
 * is freed; the server runs in a child process. */
static ttrpc_client *private_cl;
static int private_msgs, private_done, private_code;

static void private_msg(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user)
{
	(void)st;
	(void)msg;
	(void)len;
	(void)user;
	if (private_msgs++ == 0) {
		ttrpc_client_free(private_cl);
		private_cl = NULL; /* unreachable now: LeakSanitizer sees a client never freed */
	}
}

static void private_done_cb(ttrpc_stream *st, const struct ttrpc_result *r, void *user)
{
	(void)st;
	(void)user;
	private_done++;
	private_code = r->code;
}

Test(client_streams, free_from_callback_on_private_loop)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(30);
		close(sv[0]);
		struct ev_loop *l = ev_loop_new(EVFLAG_AUTO);
		ttrpc_server *s = ttrpc_server_new(l);
		struct ttrpc_stream_handler h = { .kind = TTRPC_KIND_SERVER_STREAM,
						  .on_open = dl_open,
						  .on_writable = dl_writable };
		if (ttrpc_server_register_stream(s, SVC, "Download", &h, NULL) ||
		    ttrpc_server_register(s, SVC, "Echo", echo, NULL) || ttrpc_server_adopt_conn(s, sv[1]))
			_exit(3);
		while (ttrpc_server_conn_count(s) > 0)
			ev_run(l, EVRUN_ONCE);
		_exit(0);
	}
	close(sv[1]);
	private_cl = ttrpc_client_adopt(NULL, sv[0], NULL);
	cr_assert_not_null(private_cl);
	struct ttrpc_stream_cbs pcbs = { .on_msg = private_msg, .on_done = private_done_cb };
	ttrpc_stream *st;
	cr_assert_eq(ttrpc_client_stream_open(private_cl, SVC, "Download", TTRPC_KIND_SERVER_STREAM,
					      (const uint8_t *)"100000 10", 9, NULL, &pcbs, NULL, &st),
		     0);
	/* the blocking call runs the private loop: the stream's first message
	 * frees the client, the call ends UNAVAILABLE, then the client goes */
	struct ttrpc_result res;
	int code = ttrpc_client_call_sync(private_cl, SVC, "Echo", (const uint8_t *)"x", 1, NULL, &res);
	ttrpc_result_clear(&res);
	cr_assert_eq(code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(private_msgs, 1);
	cr_assert_eq(private_done, 1);
	cr_assert_eq(private_code, TTRPC_CODE_UNAVAILABLE);
	int status = -1;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server child: status %#x", status);
}
