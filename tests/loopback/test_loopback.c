/* SPDX-License-Identifier: Apache-2.0 */
/* C client <-> C server over a unix socket, both on one libev loop. */
#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>

TestSuite(loopback, .init = fixture_start, .fini = fixture_stop, .timeout = 60);

static ttrpc_client *connect_client(void)
{
	int err = 0;
	ttrpc_client *c = ttrpc_client_connect(fx.loop, fx.path, &err);
	cr_assert_not_null(c, "connect: %s", ttrpc_strerror(err));
	return c;
}

static int call(ttrpc_client *c, const char *method, const void *req, size_t len, const struct ttrpc_call_opts *o,
		struct ttrpc_result *r)
{
	return ttrpc_client_call_sync(c, SVC, method, req, len, o, r);
}

/* The largest payload "test.v1.Test"/"Echo" can carry: the request
 * envelope adds tags and lengths around it. */
static size_t max_echo_payload(void)
{
	size_t overhead = 2 + strlen(SVC) + 2 + strlen("Echo") + 1 + 4;
	return TTRPC_MAX_MESSAGE_SIZE - overhead;
}

Test(loopback, echo_sizes)
{
	ttrpc_client *c = connect_client();
	size_t sizes[] = { 0, 1, 1000, 65536, 1 << 20, max_echo_payload() };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = malloc(sizes[i] + 1);
		for (size_t j = 0; j < sizes[i]; j++)
			p[j] = (uint8_t)(j * 31 + i);
		struct ttrpc_result r;
		cr_assert_eq(call(c, "Echo", p, sizes[i], NULL, &r), TTRPC_CODE_OK, "size %zu: %s", sizes[i],
			     r.message);
		cr_assert_eq(r.len, sizes[i]);
		if (sizes[i])
			cr_assert_arr_eq(r.payload, p, sizes[i]);
		ttrpc_result_clear(&r);
		free(p);
	}
	ttrpc_client_free(c);
}

Test(loopback, oversized_request_refused_locally)
{
	ttrpc_client *c = connect_client();
	size_t n = max_echo_payload() + 1;
	uint8_t *p = calloc(1, n);
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", p, n, NULL, &r), TTRPC_CODE_RESOURCE_EXHAUSTED);
	ttrpc_result_clear(&r);
	cr_assert_eq(ttrpc_client_call(c, SVC, "Echo", p, TTRPC_MAX_MESSAGE_SIZE + 1, NULL, (ttrpc_done_fn)abort, NULL),
		     TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc_client_pending(c), 0);
	/* nothing was sent: the connection carries on */
	cr_assert_eq(call(c, "Echo", "ok", 2, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	free(p);
	ttrpc_client_free(c);
}

Test(loopback, oversized_response_becomes_resource_exhausted)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Big", NULL, 0, NULL, &r), TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert(strstr(r.message, "exceed maximum message size"), "%s", r.message);
	ttrpc_result_clear(&r);
	cr_assert_eq(call(c, "Echo", "x", 1, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

Test(loopback, every_error_code_and_message)
{
	ttrpc_client *c = connect_client();
	for (int code = 1; code <= 16; code++) {
		char req[64];
		int n = snprintf(req + 1, sizeof(req) - 1, "failure %s", ttrpc_code_name(code));
		req[0] = (char)code;
		struct ttrpc_result r;
		cr_assert_eq(call(c, "Fail", req, (size_t)n + 1, NULL, &r), code);
		cr_assert_str_eq(r.message, req + 1);
		cr_assert_eq(r.len, 0);
		ttrpc_result_clear(&r);
	}
	ttrpc_client_free(c);
}

Test(loopback, unknown_service_and_method)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_result r;
	cr_assert_eq(ttrpc_client_call_sync(c, "no.such.Service", "Echo", NULL, 0, NULL, &r), TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_str_eq(r.message, "service no.such.Service");
	ttrpc_result_clear(&r);
	cr_assert_eq(call(c, "NoSuchMethod", NULL, 0, NULL, &r), TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_str_eq(r.message, "method NoSuchMethod");
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

Test(loopback, metadata_round_trip)
{
	ttrpc_client *c = connect_client();
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "containerd-namespace-ttrpc", "k8s.io");
	ttrpc_md_add(md, "X-Mixed-Case", "v");
	ttrpc_md_add(md, "rep", "1");
	ttrpc_md_add(md, "rep", "2");
	struct ttrpc_call_opts o = { .md = md };
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Metadata", NULL, 0, &o, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, strlen("containerd-namespace-ttrpc=k8s.io\nx-mixed-case=v\nrep=1\nrep=2\n"));
	cr_assert_arr_eq(r.payload, "containerd-namespace-ttrpc=k8s.io\nx-mixed-case=v\nrep=1\nrep=2\n", r.len);
	ttrpc_result_clear(&r);
	ttrpc_md_free(md);
	ttrpc_client_free(c);
}

Test(loopback, deadline_reaches_the_server)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_call_opts o = { .timeout_ns = 2000000000 };
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Deadline", NULL, 0, &o, &r), TTRPC_CODE_OK);
	char text[32] = "";
	memcpy(text, r.payload, r.len < 31 ? r.len : 31);
	long long left = atoll(text);
	cr_assert(left > 1000000000 && left <= 2000000000, "left %lld", left);
	ttrpc_result_clear(&r);
	cr_assert_eq(call(c, "Deadline", NULL, 0, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(fx.last_deadline, 0, "no timeout means no deadline");
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

Test(loopback, client_deadline_exceeded_and_late_answer_dropped)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_call_opts o = { .timeout_ns = 50000000 };
	struct ttrpc_result r;
	/* "Later" ignores deadlines and answers after 300 ms: DEADLINE_EXCEEDED
	 * can only come from the client's own timer */
	cr_assert_eq(call(c, "Later", "300", 3, &o, &r), TTRPC_CODE_DEADLINE_EXCEEDED);
	cr_assert_str_eq(r.message, "context deadline exceeded");
	ttrpc_result_clear(&r);
	cr_assert_eq(ttrpc_client_pending(c), 0);
	/* the late answer arrives while this call waits, and must not be taken for it */
	cr_assert_eq(call(c, "Later", "400:x", 5, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, 5);
	cr_assert_arr_eq(r.payload, "400:x", 5);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

/* A loop that sat idle has a stale cached clock: a deadline must count from
 * the call, or it fires at once (regression). */
Test(loopback, deadline_counts_from_the_call_after_an_idle_loop)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", "warm", 4, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	usleep(1500 * 1000); /* not a wait: leaves the loop's cached clock 1.5 s behind */
	struct ttrpc_call_opts o = { .timeout_ns = 1000000000 };
	cr_assert_eq(call(c, "Later", "300", 3, &o, &r), TTRPC_CODE_OK, "%s", r.message);
	cr_assert_eq(r.len, 3);
	cr_assert_arr_eq(r.payload, "300", 3);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

struct inflight {
	int done;
	int ok;
	int want;
};

struct one {
	struct inflight *all;
	char payload[32];
};

static void one_done(const struct ttrpc_result *r, void *user)
{
	struct one *o = user;
	if (r->code == TTRPC_CODE_OK && r->len == strlen(o->payload) && !memcmp(r->payload, o->payload, r->len))
		o->all->ok++;
	o->all->done++;
}

Test(loopback, thousand_calls_in_flight_answered_out_of_order)
{
	ttrpc_client *c = connect_client();
	enum {
		N = 1000
	};
	static struct one ones[N];
	struct inflight f = { .want = N };
	for (int i = 0; i < N; i++) {
		ones[i].all = &f;
		/* later calls get shorter delays: answers come back reversed */
		if (i % 2)
			snprintf(ones[i].payload, sizeof(ones[i].payload), "%d:%d", (N - i) / 10, i);
		else
			snprintf(ones[i].payload, sizeof(ones[i].payload), "echo-%d", i);
		const char *method = i % 2 ? "Later" : "Echo";
		cr_assert_eq(ttrpc_client_call(c, SVC, method, (const uint8_t *)ones[i].payload,
					       strlen(ones[i].payload), NULL, one_done, &ones[i]),
			     0);
	}
	cr_assert_eq(ttrpc_client_pending(c), N);
	cr_assert(run_until_eq(&f.done, f.want, 30), "%d of %d calls done", f.done, f.want);
	cr_assert_eq(f.ok, N);
	ttrpc_client_free(c);
}

static int closed_seen;
static void on_client_close(ttrpc_client *c, void *user)
{
	(void)c;
	(void)user;
	closed_seen++;
}

struct status_box {
	int done;
	int code;
	char message[128];
};

static void status_done(const struct ttrpc_result *r, void *user)
{
	struct status_box *b = user;
	b->code = r->code;
	snprintf(b->message, sizeof(b->message), "%s", r->message);
	b->done = 1;
}

Test(loopback, negative_timeout_is_refused)
{
	ttrpc_client *c = connect_client();
	struct ttrpc_call_opts o = { .timeout_ns = -1 };
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Echo", NULL, 0, &o, status_done, &b), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_client_pending(c), 0);
	ttrpc_client_free(c);
}

Test(loopback, client_gone_mid_call_orphans_the_server_call)
{
	ttrpc_client *c = connect_client();
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &b), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	ttrpc_client_close(c);
	cr_assert(b.done);
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert(run_until_eq(&fx.orphaned, 1, 2), "the server call was not orphaned");
	/* answering the orphan frees it and says why nothing was sent */
	cr_assert_eq(ttrpc_call_respond(fx.held[0], NULL, 0), TTRPC_ECLOSED);
	fx.n_held = 0;
	ttrpc_client_free(c);
}

Test(loopback, server_closed_mid_call_fails_pending_calls)
{
	ttrpc_client *c = connect_client();
	ttrpc_client_on_close(c, on_client_close, NULL);
	closed_seen = 0;
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &b), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	ttrpc_server_close(fx.server);
	cr_assert(run_until(&b.done, 5));
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert(strstr(b.message, "closed"), "%s", b.message);
	cr_assert_eq(closed_seen, 1);
	cr_assert_not(ttrpc_client_connected(c));
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", NULL, 0, NULL, &r), TTRPC_CODE_UNAVAILABLE);
	ttrpc_result_clear(&r);
	cr_assert_eq(ttrpc_client_call(c, SVC, "Echo", NULL, 0, NULL, status_done, &b), TTRPC_ECLOSED);
	ttrpc_client_free(c);
}

static int shutdown_done;
static void on_shutdown(ttrpc_server *s, void *user)
{
	(void)s;
	(void)user;
	shutdown_done = 1;
}

static int conns_are_two(void *arg)
{
	(void)arg;
	return ttrpc_server_conn_count(fx.server) == 2;
}

Test(loopback, graceful_shutdown_lets_calls_finish)
{
	ttrpc_client *c = connect_client();
	ttrpc_client *idle = connect_client();
	enum {
		N = 10
	};
	static struct one ones[N];
	struct inflight f = { .want = N };
	for (int i = 0; i < N; i++) {
		ones[i].all = &f;
		snprintf(ones[i].payload, sizeof(ones[i].payload), "%d", 100 + i * 10);
		cr_assert_eq(ttrpc_client_call(c, SVC, "Later", (const uint8_t *)ones[i].payload,
					       strlen(ones[i].payload), NULL, one_done, &ones[i]),
			     0);
	}
	/* the server has read every call (and accepted the idle peer) before it
	 * starts to drain */
	cr_assert(run_until_eq(&fx.later_started, N, 5), "%d of %d calls reached the server", fx.later_started, N);
	cr_assert(run_until_cond(conns_are_two, NULL, 5), "the idle client was not accepted");
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, 5.0, on_shutdown, NULL);
	cr_assert_eq(access(fx.path, F_OK), -1, "the socket file is gone at once");
	cr_assert(run_until(&shutdown_done, 5));
	cr_assert_eq(f.done, N);
	cr_assert_eq(f.ok, N);
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 0);
	int err = 0;
	cr_assert_null(ttrpc_client_connect(fx.loop, fx.path, &err));
	ttrpc_client_free(c);
	ttrpc_client_free(idle);
}

Test(loopback, shutdown_deadline_closes_hard)
{
	ttrpc_client *c = connect_client();
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &b), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, 1.0, on_shutdown, NULL);
	/* not at once: the busy connection stays until the deadline */
	for (int i = 0; i < 5; i++)
		ev_run(fx.loop, EVRUN_NOWAIT);
	cr_assert_not(shutdown_done);
	cr_assert_not(b.done);
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 1);
	cr_assert(run_until(&shutdown_done, 5));
	cr_assert(run_until(&b.done, 5));
	cr_assert_eq(b.code, TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(fx.orphaned, 1);
	ttrpc_client_free(c);
}

/* A connection with a call in flight drains: a new request on it is refused
 * with UNAVAILABLE at once, the call in flight still gets its answer, then
 * the connection closes and the shutdown ends. */
Test(loopback, graceful_shutdown_refuses_new_requests_on_a_draining_conn)
{
	ttrpc_client *c = connect_client();
	struct status_box held = { 0 }, late = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &held), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, 30.0, on_shutdown, NULL);
	cr_assert_eq(ttrpc_client_call(c, SVC, "Echo", (const uint8_t *)"new", 3, NULL, status_done, &late), 0);
	cr_assert(run_until(&late.done, 5), "the new request was never answered");
	cr_assert_eq(late.code, TTRPC_CODE_UNAVAILABLE, "%s: %s", ttrpc_code_name(late.code), late.message);
	cr_assert_str_eq(late.message, "ttrpc: server shutting down");
	cr_assert_not(held.done);
	cr_assert_not(shutdown_done);
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 1);
	cr_assert_eq(ttrpc_call_respond(fx.held[0], (const uint8_t *)"fin", 3), 0);
	fx.n_held = 0;
	cr_assert(run_until(&held.done, 5));
	cr_assert_eq(held.code, TTRPC_CODE_OK, "%s: %s", ttrpc_code_name(held.code), held.message);
	cr_assert(run_until(&shutdown_done, 5));
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 0);
	cr_assert_eq(fx.orphaned, 0);
	ttrpc_client_free(c);
}

/* timeout_s <= 0 (and not finite) means no deadline (server.h): the call in
 * flight is neither cut off nor orphaned, however long it takes. */
static void shutdown_without_deadline(double timeout_s)
{
	ttrpc_client *c = connect_client();
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &b), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, timeout_s, on_shutdown, NULL);
	cr_assert_eq(access(fx.path, F_OK), -1, "the socket file is gone at once");
	run_for(0.3); /* a deadline of 0 or less would have closed it on the first iteration */
	cr_assert_not(shutdown_done, "timeout %g: shutdown ended with a call in flight", timeout_s);
	cr_assert_not(b.done, "timeout %g: the call in flight was cut off: %s", timeout_s, b.message);
	cr_assert_eq(fx.orphaned, 0);
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 1);
	cr_assert_eq(ttrpc_call_respond(fx.held[0], NULL, 0), 0);
	fx.n_held = 0;
	cr_assert(run_until(&b.done, 5));
	cr_assert_eq(b.code, TTRPC_CODE_OK, "%s: %s", ttrpc_code_name(b.code), b.message);
	cr_assert(run_until(&shutdown_done, 5));
	cr_assert_eq(ttrpc_server_conn_count(fx.server), 0);
	ttrpc_client_free(c);
}

Test(loopback, shutdown_timeout_zero_means_no_deadline)
{
	shutdown_without_deadline(0.0);
}

Test(loopback, shutdown_negative_timeout_means_no_deadline)
{
	shutdown_without_deadline(-1.0);
}

Test(loopback, shutdown_infinite_timeout_means_no_deadline)
{
	shutdown_without_deadline(INFINITY);
}

/* With nothing open the shutdown still reports from the loop, not from
 * inside ttrpc_server_shutdown. */
Test(loopback, shutdown_with_nothing_open_reports_from_the_loop)
{
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, 0.0, on_shutdown, NULL);
	cr_assert_not(shutdown_done);
	cr_assert(run_until(&shutdown_done, 5));
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int fd_is_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* While a shutdown is in progress nothing new is served: listen and both
 * adopts give TTRPC_ESTATE, the adopted fds are closed (owned by the server
 * from the call on), no socket file appears. Once done ran, listen works. */
Test(loopback, listen_and_adopt_refused_while_shutting_down)
{
	ttrpc_client *c = connect_client();
	struct status_box b = { 0 };
	cr_assert_eq(ttrpc_client_call(c, SVC, "Never", NULL, 0, NULL, status_done, &b), 0);
	cr_assert(run_until_eq(&fx.n_held, 1, 5), "the server never got the call");
	shutdown_done = 0;
	ttrpc_server_shutdown(fx.server, 30.0, on_shutdown, NULL);

	char other[160];
	snprintf(other, sizeof(other), "%s/other.sock", fx.dir);
	int before = open_fds();
	cr_assert_eq(ttrpc_server_listen(fx.server, other), TTRPC_ESTATE);
	cr_assert_eq(open_fds(), before, "listen left a descriptor open");
	cr_assert_eq(access(other, F_OK), -1, "listen created %s", other);

	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ttrpc_server_adopt_conn(fx.server, sv[0]), TTRPC_ESTATE);
	cr_assert(fd_is_closed(sv[0]), "refused adopt_conn leaked its fd");
	char byte;
	cr_assert_eq(recv(sv[1], &byte, 1, 0), 0, "the peer of a refused conn sees EOF");
	close(sv[1]);

	char lpath[160];
	snprintf(lpath, sizeof(lpath), "%s/adopted.sock", fx.dir);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, lpath);
	cr_assert_eq(bind(l, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(l, 4), 0);
	cr_assert_eq(ttrpc_server_adopt_listener(fx.server, l), TTRPC_ESTATE);
	cr_assert(fd_is_closed(l), "refused adopt_listener leaked its fd");
	unlink(lpath);

	cr_assert_eq(ttrpc_server_conn_count(fx.server), 1, "nothing new is served");
	cr_assert_not(b.done);
	cr_assert_eq(ttrpc_call_respond(fx.held[0], NULL, 0), 0);
	fx.n_held = 0;
	cr_assert(run_until(&shutdown_done, 5));
	cr_assert_eq(b.code, TTRPC_CODE_OK);
	ttrpc_client_free(c);

	/* the shutdown is over: the server may serve again */
	cr_assert_eq(ttrpc_server_listen(fx.server, fx.path), 0);
	c = connect_client();
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", "again", 5, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

/* --- ttrpc_client_free with calls pending --- */

struct pending_box {
	ttrpc_client *client;
	int calls;
	int code;
	char message[128];
	int recall_rc; /* a new call from inside done */
};

static void pending_done(const struct ttrpc_result *r, void *user)
{
	struct pending_box *b = user;
	b->calls++;
	b->code = r->code;
	snprintf(b->message, sizeof(b->message), "%s", r->message);
	b->recall_rc = ttrpc_client_call(b->client, SVC, "Echo", NULL, 0, NULL, pending_done, b);
}

static void check_freed_pending(struct pending_box *boxes, int n)
{
	for (int i = 0; i < n; i++) {
		cr_assert_eq(boxes[i].calls, 1, "call %d: done ran %d times", i, boxes[i].calls);
		cr_assert_eq(boxes[i].code, TTRPC_CODE_UNAVAILABLE, "call %d: %s", i, ttrpc_code_name(boxes[i].code));
		cr_assert_str_eq(boxes[i].message, "ttrpc: closed: closed by client");
		cr_assert_eq(boxes[i].recall_rc, TTRPC_ECLOSED, "call %d: a call from done gave %d", i,
			     boxes[i].recall_rc);
	}
}

/* Every pending call's done runs exactly once, inside ttrpc_client_free,
 * with UNAVAILABLE; no deadline timer outlives the client (ASan would see a
 * use after free). */
Test(loopback, client_free_completes_every_pending_call_once)
{
	enum {
		HELD = 4,
		ALL = 6
	};
	ttrpc_client *c = connect_client();
	static struct pending_box boxes[ALL];
	memset(boxes, 0, sizeof(boxes));
	struct ttrpc_call_opts soon = { .timeout_ns = 200000000 };
	for (int i = 0; i < ALL; i++) {
		boxes[i].client = c;
		const char *method = i < HELD ? "Never" : "Echo";
		cr_assert_eq(ttrpc_client_call(c, SVC, method, NULL, 0, i % 2 ? &soon : NULL, pending_done, &boxes[i]),
			     0);
		if (i == HELD - 1)
			cr_assert(run_until_eq(&fx.n_held, HELD, 5), "the server got %d calls", fx.n_held);
	}
	/* the last two were not even read by the server yet */
	cr_assert_eq(ttrpc_client_pending(c), ALL);
	ttrpc_client_free(c);
	check_freed_pending(boxes, ALL);
	run_for(0.4); /* past the 200 ms deadlines: a timer left running would fire now */
	check_freed_pending(boxes, ALL);
	cr_assert(run_until_eq(&fx.orphaned, HELD, 5), "%d of %d server calls orphaned", fx.orphaned, HELD);
}

Test(loopback, peer_credentials)
{
	ttrpc_server_require_creds(fx.server, (int)getuid(), (int)getgid());
	ttrpc_client *c = connect_client();
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", "a", 1, NULL, &r), TTRPC_CODE_OK);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);

	ttrpc_server_require_creds(fx.server, (int)getuid() + 1, -1);
	c = connect_client();
	cr_assert_eq(call(c, "Echo", "a", 1, NULL, &r), TTRPC_CODE_UNAVAILABLE);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

Test(loopback, many_connections)
{
	enum {
		CONNS = 20,
		CALLS = 10
	};
	ttrpc_client *cs[CONNS];
	static struct one ones[CONNS * CALLS];
	struct inflight f = { .want = CONNS * CALLS };
	for (int i = 0; i < CONNS; i++) {
		cs[i] = connect_client();
		for (int j = 0; j < CALLS; j++) {
			struct one *o = &ones[i * CALLS + j];
			o->all = &f;
			snprintf(o->payload, sizeof(o->payload), "c%d-%d", i, j);
			cr_assert_eq(ttrpc_client_call(cs[i], SVC, "Echo", (const uint8_t *)o->payload,
						       strlen(o->payload), NULL, one_done, o),
				     0);
		}
	}
	cr_assert(run_until_eq(&f.done, f.want, 30), "%d of %d calls done", f.done, f.want);
	cr_assert_eq(f.ok, CONNS * CALLS);
	cr_assert_eq(ttrpc_server_conn_count(fx.server), CONNS);
	for (int i = 0; i < CONNS; i++)
		ttrpc_client_free(cs[i]);
}

Test(loopback, stale_socket_replaced_live_one_refused)
{
	/* a live server on fx.path: a second listen must refuse */
	ttrpc_server *other = ttrpc_server_new(fx.loop);
	cr_assert_eq(ttrpc_server_listen(other, fx.path), TTRPC_EEXIST);
	/* a socket file nobody listens on is stale */
	char stale[160];
	snprintf(stale, sizeof(stale), "%s/stale.sock", fx.dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, stale);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	cr_assert_eq(ttrpc_server_listen(other, stale), 0);
	/* the socket appears under its name only, already listening: no temporary left */
	DIR *d = opendir(fx.dir);
	for (struct dirent *e; (e = readdir(d));)
		cr_assert_null(strstr(e->d_name, ".tmp"), "left behind: %s", e->d_name);
	closedir(d);
	ttrpc_server_free(other);
	cr_assert_eq(access(stale, F_OK), -1, "closing removes the socket file");
}

Test(loopback, adopted_socketpair)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ttrpc_server_adopt_conn(fx.server, sv[0]), 0);
	int err;
	ttrpc_client *c = ttrpc_client_adopt(fx.loop, sv[1], &err);
	struct ttrpc_result r;
	cr_assert_eq(call(c, "Echo", "pair", 4, NULL, &r), TTRPC_CODE_OK);
	cr_assert_eq(r.len, 4);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
}

Test(loopback, private_loop_blocking_client)
{
	/* the server runs in a child process; the client owns its own loop */
	pid_t pid = fixture_fork_server(NULL);
	int err = 0;
	ttrpc_client *c = ttrpc_client_connect(NULL, fx.path, &err);
	cr_assert_not_null(c, "connect: %s", ttrpc_strerror(err));
	struct ttrpc_result r;
	cr_assert_eq(ttrpc_client_call_sync(c, SVC, "Echo", (const uint8_t *)"own loop", 8, NULL, &r), 0);
	cr_assert_eq(r.len, 8);
	cr_assert_arr_eq(r.payload, "own loop", 8);
	ttrpc_result_clear(&r);
	ttrpc_client_free(c);
	fixture_stop_server(pid);
}

/* The same for a client on its private loop: free runs every pending done
 * once, then destroys the loop (deadline timers included). */
Test(loopback, private_loop_client_free_with_calls_pending)
{
	pid_t pid = fixture_fork_server(NULL);
	int err = 0;
	ttrpc_client *c = ttrpc_client_connect(NULL, fx.path, &err);
	cr_assert_not_null(c, "connect: %s", ttrpc_strerror(err));
	static struct pending_box boxes[3];
	memset(boxes, 0, sizeof(boxes));
	struct ttrpc_call_opts soon = { .timeout_ns = 200000000 };
	for (int i = 0; i < 3; i++) {
		boxes[i].client = c;
		cr_assert_eq(ttrpc_client_call(c, SVC, i == 2 ? "Echo" : "Never", NULL, 0, i == 1 ? &soon : NULL,
					       pending_done, &boxes[i]),
			     0);
	}
	cr_assert_eq(ttrpc_client_pending(c), 3);
	ttrpc_client_free(c);
	check_freed_pending(boxes, 3);
	fixture_stop_server(pid);
}
