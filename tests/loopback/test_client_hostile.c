/* SPDX-License-Identifier: Apache-2.0 */
/* The client against a fake server written with raw sockets (a forked child
 * on the other end of a socketpair): a server that stalls, closes mid-frame,
 * sends garbage, oversized frames, answers for unknown stream ids, or never
 * answers. Every pending call ends exactly once with a stated status. */
#include <criterion/criterion.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <ttrpc/ttrpc.h>

#include "rawpeer.h"

#define SVC "test.v1.Test"

struct outcome {
	int calls; /* done callbacks that ran */
	int code;
	char message[160];
	uint8_t payload[64];
	size_t len;
};

static struct ev_loop *loop;
static ev_timer tick;
static ttrpc_client *cl;
static pid_t fake_pid;

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

static void done(const struct ttrpc_result *r, void *user)
{
	struct outcome *o = user;
	o->calls++;
	o->code = r->code;
	snprintf(o->message, sizeof(o->message), "%s", r->message);
	o->len = r->len < sizeof(o->payload) ? r->len : sizeof(o->payload);
	if (o->len)
		memcpy(o->payload, r->payload, o->len);
}

static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &tick);
}

static void teardown(void)
{
	ttrpc_client_free(cl);
	cl = NULL;
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
		fake_pid = 0;
	}
	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
}

TestSuite(client_hostile, .init = setup, .fini = teardown, .timeout = 60);

/* Fork the fake server running script on its end; the client gets the other. */
static void start_fake(void (*script)(int fd))
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fake_pid = fork();
	cr_assert_geq(fake_pid, 0);
	if (fake_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		script(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	int err = 0;
	cl = ttrpc_client_adopt(loop, sv[0], &err);
	cr_assert_not_null(cl, "adopt: %s", ttrpc_strerror(err));
}

/* The fake server exited by itself with status 0 (its script ran through). */
static void fake_finished(void)
{
	int status = -1;
	for (int i = 0; i < 1000 && waitpid(fake_pid, &status, WNOHANG) == 0; i++)
		usleep(10000); /* one poll step, at most 10 s */
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake server: wait status 0x%x", status);
	fake_pid = 0;
}

static void call(const char *payload, int64_t timeout_ns, struct outcome *o)
{
	struct ttrpc_call_opts opts = { .timeout_ns = timeout_ns };
	cr_assert_eq(ttrpc_client_call(cl, SVC, "Echo", (const uint8_t *)payload, strlen(payload), &opts, done, o), 0);
}

/* Run the loop until every outcome has its answer (10 s at most). */
static void run_until_done(struct outcome *o, int n)
{
	int64_t end = rp_now_ms() + 10000;
	for (;;) {
		int pending = 0;
		for (int i = 0; i < n; i++)
			pending += o[i].calls == 0;
		if (!pending || rp_now_ms() > end)
			break;
		ev_run(loop, EVRUN_ONCE);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(o[i].calls, 1, "call %d: its done callback ran %d times", i, o[i].calls);
}

static void expect(const struct outcome *o, int code, const char *message)
{
	cr_assert_eq(o->code, code, "code %d (%s) '%s', want %d (%s)", o->code, ttrpc_code_name(o->code), o->message,
		     code, ttrpc_code_name(code));
	if (message)
		cr_assert_str_eq(o->message, message);
}

/* In the fake server: read one request frame, return its stream id (0 on EOF). */
static uint32_t read_request(int fd)
{
	uint8_t h[10];
	if (rp_recv_all(fd, h, 10, 10000))
		return 0;
	uint32_t len = rp_be32(h);
	uint8_t *body = malloc(len + 1);
	int rc = rp_recv_all(fd, body, len, 10000);
	free(body);
	return rc ? 0 : rp_be32(h + 4);
}

static void respond(int fd, uint32_t id, const char *payload)
{
	struct rp_pb b = rp_response(0, "", payload, strlen(payload));
	if (rp_send_frame(fd, id, 2, b.p, b.len))
		_exit(3);
	free(b.p);
}

static void wait_eof(int fd)
{
	char c;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, 10000) == 1 && recv(fd, &c, 1, 0) > 0)
		;
}

/* --- stall: never reads, only waits for the client to hang up --- */

static void stall_without_reading(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
	poll(&pfd, 1, 10000);
}

Test(client_hostile, stalled_server_deadline_then_close)
{
	start_fake(stall_without_reading);
	struct outcome o[2] = { 0 };
	call("with deadline", 100 * 1000000ll, &o[0]);
	call("without", 0, &o[1]);
	run_until_done(o, 1);
	expect(&o[0], TTRPC_CODE_DEADLINE_EXCEEDED, "context deadline exceeded");
	cr_assert_eq(o[1].calls, 0);
	cr_assert_eq(ttrpc_client_pending(cl), 1);
	ttrpc_client_close(cl);
	cr_assert_eq(o[1].calls, 1);
	expect(&o[1], TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: closed by client");
	fake_finished();
}

/* --- never answers, then a late answer, then closes --- */

/* The test writes a byte here once the client gave up on a (its deadline). */
static int client_gave_up[2] = { -1, -1 };

static void never_answers_script(int fd)
{
	uint32_t a = read_request(fd), b = read_request(fd), c = read_request(fd);
	char go;
	if (!a || !b || !c || read(client_gave_up[0], &go, 1) != 1)
		_exit(2);
	respond(fd, a, "late");
	respond(fd, b, "b");
	/* c is never answered: the server goes (after b's bytes, in order) */
}

Test(client_hostile, never_answered_calls_end_by_deadline_or_close)
{
	cr_assert_eq(pipe2(client_gave_up, O_CLOEXEC), 0);
	start_fake(never_answers_script);
	struct outcome o[3] = { 0 };
	call("a", 100 * 1000000ll, &o[0]);
	call("b", 10 * 1000000000ll, &o[1]);
	call("c", 0, &o[2]);
	run_until_done(o, 1);
	cr_assert_eq(write(client_gave_up[1], "g", 1), 1);
	run_until_done(o, 3);
	close(client_gave_up[0]);
	close(client_gave_up[1]);
	expect(&o[0], TTRPC_CODE_DEADLINE_EXCEEDED, "context deadline exceeded");
	expect(&o[1], TTRPC_CODE_OK, NULL);
	cr_assert_eq(o[1].len, 1);
	cr_assert_eq(o[1].payload[0], 'b', "the late answer of a went to b");
	expect(&o[2], TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: connection closed by peer");
	cr_assert_not(ttrpc_client_connected(cl));
	fake_finished();
}

/* --- closes mid-frame --- */

static void mid_frame_script(int fd)
{
	uint32_t a = read_request(fd), b = read_request(fd);
	if (!a || !b)
		_exit(2);
	uint8_t h[10];
	rp_header(h, 100, a, 2, 0);
	rp_send_all(fd, h, 10, 1000);
	rp_send_all(fd, "0123456789012345678901234567890123456789", 40, 1000);
}

Test(client_hostile, server_closing_mid_frame_fails_every_call)
{
	start_fake(mid_frame_script);
	struct outcome o[2] = { 0 };
	call("a", 0, &o[0]);
	call("b", 0, &o[1]);
	run_until_done(o, 2);
	expect(&o[0], TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: connection closed by peer");
	expect(&o[1], TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: connection closed by peer");
	fake_finished();
}

static void half_header_script(int fd)
{
	if (!read_request(fd))
		_exit(2);
	rp_send_all(fd, "\0\0\0", 3, 1000);
}

Test(client_hostile, server_closing_mid_header_fails_the_call)
{
	start_fake(half_header_script);
	struct outcome o = { 0 };
	call("a", 0, &o);
	run_until_done(&o, 1);
	expect(&o, TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: connection closed by peer");
	fake_finished();
}

/* --- garbage --- */

static void garbage_script(int fd)
{
	uint32_t a = read_request(fd), b = read_request(fd);
	if (!a || !b)
		_exit(2);
	/* a well-formed frame for a whose body is not a Response */
	static const uint8_t bad[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x77 };
	rp_send_frame(fd, a, 2, bad, sizeof(bad));
	/* then random bytes, and gone */
	uint8_t junk[4096];
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < sizeof(junk); i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		junk[i] = (uint8_t)s;
	}
	rp_send_all(fd, junk, sizeof(junk), 1000);
}

Test(client_hostile, garbage_from_the_server)
{
	start_fake(garbage_script);
	struct outcome o[2] = { 0 };
	call("a", 0, &o[0]);
	call("b", 0, &o[1]);
	run_until_done(o, 2);
	expect(&o[0], TTRPC_CODE_INTERNAL, "ttrpc: undecodable response");
	expect(&o[1], TTRPC_CODE_UNAVAILABLE, "ttrpc: closed: connection closed by peer");
	fake_finished();
}

/* --- oversized frames --- */

static void oversized_script(int fd)
{
	uint32_t a = read_request(fd), b = read_request(fd), c = read_request(fd);
	if (!a || !b || !c)
		_exit(2);
	uint8_t h[10];
	rp_header(h, 5u << 20, a, 2, 0);
	rp_send_all(fd, h, 10, 1000);
	uint8_t *junk = calloc(1, 5u << 20);
	if (rp_send_all(fd, junk, 5u << 20, 10000))
		_exit(3);
	free(junk);
	respond(fd, b, "b");
	rp_header(h, 0xFFFFFFFFu, c, 2, 0);
	rp_send_all(fd, h, 10, 1000);
	wait_eof(fd);
}

Test(client_hostile, oversized_frames_fail_their_call_and_keep_the_connection)
{
	start_fake(oversized_script);
	struct outcome o[3] = { 0 };
	call("a", 0, &o[0]);
	call("b", 0, &o[1]);
	call("c", 0, &o[2]);
	run_until_done(o, 3);
	expect(&o[0], TTRPC_CODE_RESOURCE_EXHAUSTED, "message length 5242880 exceed maximum message size of 4194304");
	expect(&o[1], TTRPC_CODE_OK, NULL);
	cr_assert_eq(o[1].len, 1);
	expect(&o[2], TTRPC_CODE_RESOURCE_EXHAUSTED,
	       "message length 4294967295 exceed maximum message size of 4194304");
	cr_assert(ttrpc_client_connected(cl));
	ttrpc_client_close(cl);
	fake_finished();
}

/* --- answers for streams that do not exist --- */

static void unknown_ids_script(int fd)
{
	uint32_t a = read_request(fd);
	if (!a)
		_exit(2);
	respond(fd, 99, "99");
	respond(fd, 2, "even");
	respond(fd, 0xFFFFFFFFu, "max");
	respond(fd, 0, "zero");
	rp_send_frame(fd, a, 3, "data", 4);    /* Data on a unary call */
	rp_send_frame(fd, a, 0x7f, "what", 4); /* unknown type */
	respond(fd, a, "real");
	respond(fd, a, "twice"); /* a second answer for a finished call */
	if (!read_request(fd))	 /* the client goes on */
		_exit(4);
	respond(fd, 3, "next");
	wait_eof(fd);
}

Test(client_hostile, answers_for_unknown_streams_are_dropped)
{
	start_fake(unknown_ids_script);
	struct outcome o[2] = { 0 };
	call("a", 0, &o[0]);
	run_until_done(o, 1);
	expect(&o[0], TTRPC_CODE_OK, NULL);
	cr_assert_eq(o[0].len, 4);
	cr_assert_arr_eq(o[0].payload, "real", 4);
	call("b", 0, &o[1]);
	run_until_done(o, 2);
	expect(&o[1], TTRPC_CODE_OK, NULL);
	cr_assert_arr_eq(o[1].payload, "next", 4);
	cr_assert_eq(o[0].calls, 1, "the second answer of a ran its callback again");
	cr_assert_eq(ttrpc_client_pending(cl), 0);
	ttrpc_client_close(cl);
	fake_finished();
}

/* The peer is gone before the first write: the call's write fails inside
 * ttrpc_client_call, and its completion still runs later from the loop, as
 * client.h promises, never inside the call (a caller that marks the call in
 * flight after the call returns, as the shim's event publisher did, was
 * left waiting for ever). */
Test(client_hostile, a_write_failing_inside_the_call_completes_from_the_loop)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int err = 0;
	cl = ttrpc_client_adopt(loop, sv[0], &err);
	cr_assert_not_null(cl, "adopt: %s", ttrpc_strerror(err));
	close(sv[1]); /* the peer is gone; the client has not noticed yet */
	struct outcome o[2] = { 0 };
	call("first", 0, &o[0]);
	cr_assert_eq(o[0].calls, 0, "done ran inside ttrpc_client_call");
	/* until the loop runs, a second call is accepted and waits the same way */
	int rc = ttrpc_client_call(cl, SVC, "Echo", (const uint8_t *)"x", 1, NULL, done, &o[1]);
	cr_assert(rc == 0 || rc == TTRPC_ECLOSED, "second call: %s", ttrpc_strerror(rc));
	cr_assert_eq(o[1].calls, 0, "done ran inside the second ttrpc_client_call");
	run_until_done(o, rc == 0 ? 2 : 1);
	expect(&o[0], TTRPC_CODE_UNAVAILABLE, NULL);
	cr_assert(strstr(o[0].message, "write failed") != NULL, "%s", o[0].message);
	cr_assert_not(ttrpc_client_connected(cl));
}
