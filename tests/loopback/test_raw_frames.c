/* SPDX-License-Identifier: Apache-2.0 */
/* Raw bytes against the server, one test per rule of WIRE.md. The client
 * side is a plain socket and hand-written protobuf: no ttrpc code. */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static pid_t server_pid;

static void raw_start(void)
{
	fixture_start();
	server_pid = fixture_fork_server(NULL);
}

/* Every test ends with this: the server must exit 0 on SIGTERM, so a
 * sanitizer report (leak, overflow, use after free) in it fails the test. In
 * the test body, because Criterion only warns about failures in .fini. */
static void server_exits_cleanly(void)
{
	pid_t pid = server_pid;
	server_pid = 0;
	fixture_stop_server(pid);
}

/* (fixture_stop kills a server that a failed test left behind) */
static void raw_stop(void)
{
	server_pid = 0;
	fixture_stop();
}

TestSuite(raw, .init = raw_start, .fini = raw_stop, .timeout = 60);

static int dial(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, fx.path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		cr_assert_gt(w, 0);
		b += w;
		n -= (size_t)w;
	}
}

static void send_frame(int fd, uint32_t len, uint32_t id, uint8_t type, uint8_t flags, const void *payload,
		       size_t payload_len)
{
	uint8_t h[10] = {
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, (uint8_t)(id >> 24),
		(uint8_t)(id >> 16),  (uint8_t)(id >> 8),   (uint8_t)id,	 type,	       flags
	};
	send_all(fd, h, sizeof(h));
	if (payload_len)
		send_all(fd, payload, payload_len);
}

/* A tiny protobuf writer: enough for ttrpc.Request. */
struct pb {
	uint8_t *p;
	size_t len;
};

static void pb_varint(struct pb *b, uint64_t v)
{
	b->p = realloc(b->p, b->len + 10);
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		b->p[b->len++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void pb_bytes(struct pb *b, int field, const void *data, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	b->p = realloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static struct pb request(const char *method, const void *payload, size_t n, int64_t timeout_ns)
{
	struct pb b = { 0 };
	pb_bytes(&b, 1, SVC, strlen(SVC));
	pb_bytes(&b, 2, method, strlen(method));
	if (n)
		pb_bytes(&b, 3, payload, n);
	if (timeout_ns) {
		pb_varint(&b, 4 << 3 | 0);
		pb_varint(&b, (uint64_t)timeout_ns);
	}
	return b;
}

static void send_request(int fd, uint32_t id, const char *method, const void *payload, size_t n)
{
	struct pb b = request(method, payload, n, 0);
	send_frame(fd, (uint32_t)b.len, id, 1, 0, b.p, b.len);
	free(b.p);
}

struct reply {
	uint32_t id;
	uint8_t type;
	uint8_t flags;
	int code;
	char message[256];
	uint8_t *payload;
	size_t len;
};

static void recv_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, 5000), 1, "no answer within 5 s");
		ssize_t r = recv(fd, b, n, 0);
		cr_assert_gt(r, 0, "connection closed while reading");
		b += r;
		n -= (size_t)r;
	}
}

static uint64_t rd_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	cr_assert_fail("bad varint");
	return 0;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Decode a frame (header h, body of len bytes) as a ttrpc.Response by hand. */
static struct reply decode_reply(const uint8_t h[10], const uint8_t *body, uint32_t len)
{
	struct reply r = { 0 };
	r.id = be32(h + 4);
	r.type = h[8];
	r.flags = h[9];
	const uint8_t *p = body, *end = body + len;
	while (p < end) {
		uint64_t key = rd_varint(&p, end);
		cr_assert_eq(key & 7, 2, "Response fields are length-delimited");
		uint64_t n = rd_varint(&p, end);
		cr_assert_leq(n, (uint64_t)(end - p));
		if (key >> 3 == 1) { /* google.rpc.Status */
			const uint8_t *q = p, *qend = p + n;
			while (q < qend) {
				uint64_t k = rd_varint(&q, qend);
				if (k == (1 << 3 | 0)) {
					r.code = (int)rd_varint(&q, qend);
				} else {
					uint64_t m = rd_varint(&q, qend);
					if (k >> 3 == 2)
						snprintf(r.message, sizeof(r.message), "%.*s", (int)m, (const char *)q);
					q += m;
				}
			}
		} else if (key >> 3 == 2) {
			r.payload = malloc(n + 1);
			memcpy(r.payload, p, n);
			r.len = n;
		}
		p += n;
	}
	return r;
}

/* Read one frame and decode it. */
static struct reply read_reply(int fd)
{
	uint8_t h[10];
	recv_all(fd, h, sizeof(h));
	uint32_t len = be32(h);
	uint8_t *body = malloc(len + 1);
	recv_all(fd, body, len);
	struct reply r = decode_reply(h, body, len);
	free(body);
	return r;
}

static void expect(int fd, uint32_t id, int code, const char *message)
{
	struct reply r = read_reply(fd);
	cr_assert_eq(r.type, 2, "a Response frame");
	cr_assert_eq(r.flags, 0);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.code, code, "stream %u: code %d (%s)", id, r.code, r.message);
	if (message)
		cr_assert_str_eq(r.message, message);
	free(r.payload);
}

static void expect_echo(int fd, uint32_t id, const char *text)
{
	struct reply r = read_reply(fd);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.code, 0, "%s", r.message);
	cr_assert_eq(r.len, strlen(text));
	cr_assert_arr_eq(r.payload, text, r.len);
	free(r.payload);
}

Test(raw, unary_echo)
{
	int fd = dial();
	send_request(fd, 1, "Echo", "hello", 5);
	expect_echo(fd, 1, "hello");
	close(fd);
	server_exits_cleanly();
}

Test(raw, empty_request_and_empty_response)
{
	int fd = dial();
	send_request(fd, 1, "Echo", NULL, 0);
	struct reply r = read_reply(fd);
	cr_assert_eq(r.code, 0);
	cr_assert_eq(r.len, 0);
	close(fd);
	server_exits_cleanly();
}

Test(raw, even_stream_id_is_invalid_argument)
{
	int fd = dial();
	send_request(fd, 2, "Echo", "x", 1);
	expect(fd, 2, TTRPC_CODE_INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
	send_request(fd, 3, "Echo", "still", 5);
	expect_echo(fd, 3, "still");
	close(fd);
	server_exits_cleanly();
}

Test(raw, stream_id_must_increase)
{
	int fd = dial();
	send_request(fd, 5, "Echo", "a", 1);
	expect_echo(fd, 5, "a");
	send_request(fd, 5, "Echo", "b", 1);
	expect(fd, 5, TTRPC_CODE_INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
	send_request(fd, 3, "Echo", "c", 1);
	expect(fd, 3, TTRPC_CODE_INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
	send_request(fd, 7, "Echo", "d", 1);
	expect_echo(fd, 7, "d");
	close(fd);
	server_exits_cleanly();
}

Test(raw, data_on_unknown_stream_is_invalid_argument)
{
	int fd = dial();
	send_frame(fd, 3, 9, 3, 0, "abc", 3);
	expect(fd, 9, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active");
	close(fd);
	server_exits_cleanly();
}

Test(raw, unknown_frame_types_are_ignored)
{
	int fd = dial();
	send_frame(fd, 4, 1, 0x7f, 0, "junk", 4);
	send_frame(fd, 0, 3, 0x0, 0, NULL, 0);
	send_frame(fd, 2, 5, 0x2, 0, "rr", 2); /* a Response sent to a server */
	send_request(fd, 7, "Echo", "after", 5);
	expect_echo(fd, 7, "after");
	close(fd);
	server_exits_cleanly();
}

Test(raw, oversized_frame_is_resource_exhausted_and_connection_kept)
{
	int fd = dial();
	uint32_t n = TTRPC_MAX_MESSAGE_SIZE + 1;
	uint8_t *zeros = calloc(1, n);
	send_frame(fd, n, 1, 1, 0, zeros, n);
	free(zeros);
	expect(fd, 1, TTRPC_CODE_RESOURCE_EXHAUSTED, "message length 4194305 exceed maximum message size of 4194304");
	send_request(fd, 3, "Echo", "kept", 4);
	expect_echo(fd, 3, "kept");
	close(fd);
	server_exits_cleanly();
}

Test(raw, exactly_max_size_frame_is_accepted)
{
	int fd = dial();
	/* payload sized so that the whole Request is exactly 4 MiB */
	size_t overhead = 2 + strlen(SVC) + 2 + strlen("Echo") + 1 + 4;
	size_t n = TTRPC_MAX_MESSAGE_SIZE - overhead;
	uint8_t *p = malloc(n);
	memset(p, 'z', n);
	struct pb b = request("Echo", p, n, 0);
	cr_assert_eq(b.len, TTRPC_MAX_MESSAGE_SIZE);
	send_frame(fd, (uint32_t)b.len, 1, 1, 0, b.p, b.len);
	struct reply r = read_reply(fd);
	cr_assert_eq(r.code, 0, "%s", r.message);
	cr_assert_eq(r.len, n);
	cr_assert_arr_eq(r.payload, p, n);
	free(r.payload);
	free(b.p);
	free(p);
	close(fd);
	server_exits_cleanly();
}

Test(raw, undecodable_request_is_invalid_argument)
{
	int fd = dial();
	const uint8_t junk[] = { 0x0a, 0x7f, 'a', 'b' };
	send_frame(fd, sizeof(junk), 1, 1, 0, junk, sizeof(junk));
	struct reply r = read_reply(fd);
	cr_assert_eq(r.id, 1);
	cr_assert_eq(r.code, TTRPC_CODE_INVALID_ARGUMENT);
	send_request(fd, 3, "Echo", "ok", 2);
	expect_echo(fd, 3, "ok");
	close(fd);
	server_exits_cleanly();
}

Test(raw, unknown_service_and_method_are_unimplemented)
{
	int fd = dial();
	send_request(fd, 1, "Nope", NULL, 0);
	expect(fd, 1, TTRPC_CODE_UNIMPLEMENTED, "method Nope");
	struct pb b = { 0 };
	pb_bytes(&b, 1, "other.Svc", 9);
	pb_bytes(&b, 2, "Echo", 4);
	send_frame(fd, (uint32_t)b.len, 3, 1, 0, b.p, b.len);
	free(b.p);
	expect(fd, 3, TTRPC_CODE_UNIMPLEMENTED, "service other.Svc");
	send_frame(fd, 0, 5, 1, 0, NULL, 0); /* empty Request: no service at all */
	expect(fd, 5, TTRPC_CODE_UNIMPLEMENTED, "service ");
	close(fd);
	server_exits_cleanly();
}

Test(raw, many_requests_in_one_write_answered_in_any_order)
{
	int fd = dial();
	struct pb all = { 0 };
	const char *bodies[] = { "300", "x1", "100", "x2", "200" };
	const char *methods[] = { "Later", "Echo", "Later", "Echo", "Later" };
	for (int i = 0; i < 5; i++) {
		struct pb b = request(methods[i], bodies[i], strlen(bodies[i]), 0);
		uint8_t h[10] = { 0, 0, (uint8_t)(b.len >> 8), (uint8_t)b.len, 0, 0, 0, (uint8_t)(2 * i + 1), 1, 0 };
		all.p = realloc(all.p, all.len + 10 + b.len);
		memcpy(all.p + all.len, h, 10);
		memcpy(all.p + all.len + 10, b.p, b.len);
		all.len += 10 + b.len;
		free(b.p);
	}
	send_all(fd, all.p, all.len);
	free(all.p);
	uint32_t order[5];
	for (int i = 0; i < 5; i++) {
		struct reply r = read_reply(fd);
		cr_assert_eq(r.code, 0);
		order[i] = r.id;
		free(r.payload);
	}
	/* echoes first (as read), then the delayed ones by delay */
	uint32_t want[5] = { 3, 7, 5, 9, 1 };
	cr_assert_arr_eq(order, want, sizeof(want));
	close(fd);
	server_exits_cleanly();
}

Test(raw, timeout_and_metadata_reach_the_handler)
{
	int fd = dial();
	struct pb b = request("Deadline", NULL, 0, 3000000000);
	send_frame(fd, (uint32_t)b.len, 1, 1, 0, b.p, b.len);
	free(b.p);
	struct reply r = read_reply(fd);
	char text[32] = "";
	memcpy(text, r.payload, r.len < 31 ? r.len : 31);
	cr_assert(atoll(text) > 2000000000 && atoll(text) <= 3000000000, "%s", text);
	free(r.payload);

	b = request("Metadata", NULL, 0, 0);
	struct pb kv = { 0 };
	pb_bytes(&kv, 1, "Key", 3);
	pb_bytes(&kv, 2, "v", 1);
	pb_bytes(&b, 5, kv.p, kv.len);
	pb_bytes(&b, 5, kv.p, kv.len);
	free(kv.p);
	send_frame(fd, (uint32_t)b.len, 3, 1, 0, b.p, b.len);
	free(b.p);
	expect_echo(fd, 3, "key=v\nkey=v\n");
	close(fd);
	server_exits_cleanly();
}

Test(raw, peer_vanishing_mid_frame_costs_nothing)
{
	for (int i = 0; i < 20; i++) {
		int fd = dial();
		/* header promises 1000 bytes, only 10 come */
		send_frame(fd, 1000, 1, 1, 0, "0123456789", 10);
		close(fd);
		fd = dial();
		send_frame(fd, 0, 0, 0, 0, NULL, 0);
		send_all(fd, "\x00\x00", 2); /* half a header */
		close(fd);
	}
	int fd = dial();
	send_request(fd, 1, "Echo", "alive", 5);
	expect_echo(fd, 1, "alive");
	close(fd);
	server_exits_cleanly();
}

Test(raw, byte_by_byte_request)
{
	int fd = dial();
	struct pb b = request("Echo", "slow", 4, 0);
	uint8_t h[10] = { 0, 0, 0, (uint8_t)b.len, 0, 0, 0, 1, 1, 0 };
	for (int i = 0; i < 10; i++)
		send_all(fd, h + i, 1);
	for (size_t i = 0; i < b.len; i++)
		send_all(fd, b.p + i, 1);
	free(b.p);
	expect_echo(fd, 1, "slow");
	close(fd);
	server_exits_cleanly();
}

/* A peer that sends and never reads: the server stops reading it once its
 * answer queue is full, so the peer's writes stall. Once the peer reads, the
 * server must read again: the rest of the pipeline (the frame cut off by
 * the stall and every later one) is answered too, each answer with its own
 * payload, in order. */
Test(raw, slow_reader_is_throttled_then_served_again)
{
	int fd = dial();
	int sz = 64 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	enum {
		N = 64,
		SIZE = 1 << 20
	};
	uint8_t *p = calloc(1, SIZE);
	struct pb b = request("Echo", p, SIZE, 0);
	free(p);
	size_t frame_len = 10 + b.len;
	uint8_t *frame = malloc(frame_len);
	uint8_t h[10] = {
		(uint8_t)(b.len >> 24), (uint8_t)(b.len >> 16), (uint8_t)(b.len >> 8), (uint8_t)b.len, 0, 0, 0, 0, 1, 0
	};
	memcpy(frame, h, 10);
	memcpy(frame + 10, b.p, b.len);
	free(b.p);
	uint8_t *payload = frame + frame_len - SIZE; /* the Echo payload is the Request's last field */

	/* the frame of request i: stream id 2i+1, payload bytes all 'a' + i % 26 */
	uint32_t sending = 0;
	size_t off = 0, sent_total = 0;
#define LOAD_FRAME(i)                                                             \
	do {                                                                      \
		uint32_t id_ = 2 * (i) + 1;                                       \
		frame[4] = (uint8_t)(id_ >> 24), frame[5] = (uint8_t)(id_ >> 16); \
		frame[6] = (uint8_t)(id_ >> 8), frame[7] = (uint8_t)id_;          \
		memset(payload, 'a' + (i) % 26, SIZE);                            \
	} while (0)
	LOAD_FRAME(0);

	/* Phase 1: write without reading until the socket stays full for 500 ms. */
	int stalled = 0;
	while (sending < N && !stalled) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, 500) == 0) {
			stalled = 1;
			break;
		}
		ssize_t w = send(fd, frame + off, frame_len - off, MSG_NOSIGNAL);
		cr_assert(w > 0 || errno == EAGAIN, "send: %s", strerror(errno));
		if (w <= 0)
			continue;
		off += (size_t)w;
		sent_total += (size_t)w;
		if (off == frame_len && ++sending < N) {
			off = 0;
			LOAD_FRAME(sending);
		}
	}
	size_t limit = (size_t)N * frame_len;
	cr_assert(stalled, "the server kept reading %zu bytes without answers being read", sent_total);
	cr_assert_lt(sent_total, limit / 2);
	cr_assert_gt(sent_total, 8 * frame_len, "stalled after only %zu bytes", sent_total);
	cr_assert_gt(off, 0, "the stall should cut a frame");

	/* Phase 2: read the answers and send the rest as the socket allows. */
	size_t cap = frame_len + 64, have = 0;
	uint8_t *in = malloc(cap);
	uint8_t *want = malloc(SIZE);
	uint32_t answered = 0;
	while (answered < N) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | (sending < N ? POLLOUT : 0) };
		cr_assert_eq(poll(&pfd, 1, 5000), 1, "no progress for 5 s: %u of %d answers, %u requests sent",
			     answered, N, sending);
		if ((pfd.revents & POLLOUT) && sending < N) {
			ssize_t w = send(fd, frame + off, frame_len - off, MSG_NOSIGNAL);
			cr_assert(w > 0 || errno == EAGAIN, "send: %s", strerror(errno));
			if (w > 0) {
				off += (size_t)w;
				if (off == frame_len && ++sending < N) {
					off = 0;
					LOAD_FRAME(sending);
				}
			}
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t r = recv(fd, in + have, cap - have, 0);
		cr_assert(r > 0 || (r < 0 && errno == EAGAIN), "connection lost after %u answers", answered);
		if (r > 0)
			have += (size_t)r;
		while (have >= 10 && have >= 10 + (size_t)be32(in)) {
			uint32_t len = be32(in);
			struct reply rep = decode_reply(in, in + 10, len);
			cr_assert_eq(rep.id, 2 * answered + 1, "answers out of order");
			cr_assert_eq(rep.code, 0, "stream %u: %s", rep.id, rep.message);
			cr_assert_eq(rep.len, SIZE, "stream %u: %zu bytes", rep.id, rep.len);
			memset(want, 'a' + answered % 26, SIZE);
			cr_assert(memcmp(rep.payload, want, SIZE) == 0, "stream %u: wrong payload", rep.id);
			free(rep.payload);
			answered++;
			memmove(in, in + 10 + len, have - 10 - len);
			have -= 10 + len;
		}
	}
#undef LOAD_FRAME
	cr_assert_eq(sending, N);
	free(want);
	free(in);
	free(frame);
	close(fd);
	server_exits_cleanly();
}

/* User + system CPU ticks of a process, from /proc/PID/stat. */
static long cpu_ticks(const char *stat_path)
{
	long utime = 0, stime = 0;
	FILE *f = fopen(stat_path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime), 2);
	fclose(f);
	return utime + stime;
}

/* --- out of file descriptors --- */

static int fds_log[2]; /* the child's log lines, for the parent to wait on */

static void log_to_pipe(void *user, int level, const char *msg)
{
	(void)user;
	(void)level;
	dprintf(fds_log[1], "%s\n", msg);
}

/* In the child: 64 descriptors at most, all in use but two. */
static void use_up_fds(void)
{
	close(fds_log[0]);
	fcntl(fds_log[1], F_SETFL, O_NONBLOCK); /* a full pipe drops lines, never blocks the server */
	ttrpc_server_set_log(fx.server, log_to_pipe, NULL);
	struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int last = -1, prev = -1;
	for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
		prev = last;
		last = fd;
	}
	close(last);
	close(prev);
}

static void fds_start(void)
{
	fixture_start();
	cr_assert_eq(pipe2(fds_log, O_CLOEXEC), 0);
	server_pid = fixture_fork_server(use_up_fds);
	close(fds_log[1]);
}

static void fds_stop(void)
{
	raw_stop();
	close(fds_log[0]);
}

TestSuite(raw_fds, .init = fds_start, .fini = fds_stop, .timeout = 60);

/* Read the child's log until a line contains text; false after seconds. */
static int wait_log(const char *text, double seconds)
{
	static char buf[8192];
	static size_t len;
	int64_t end = ttrpc_now_ns() + (int64_t)(seconds * 1e9);
	while (!strstr(buf, text)) {
		int64_t left_ms = (end - ttrpc_now_ns()) / 1000000;
		struct pollfd pfd = { .fd = fds_log[0], .events = POLLIN };
		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) != 1)
			return 0;
		if (len + 1 >= sizeof(buf)) /* keep the tail: a match may straddle */
			len = (size_t)snprintf(buf, sizeof(buf), "%s", buf + sizeof(buf) / 2);
		ssize_t r = read(fds_log[0], buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		buf[len] = '\0';
	}
	return 1;
}

/* Out of file descriptors: the server pauses accepting instead of spinning,
 * and serves the peers waiting in the backlog as descriptors come free. */
Test(raw_fds, out_of_fds_pauses_accept_without_spinning)
{
	enum {
		PEERS = 8
	};
	int fds[PEERS];
	for (int i = 0; i < PEERS; i++)
		fds[i] = dial();
	/* two descriptors: the first two connections are served, the rest wait */
	send_request(fds[0], 1, "Echo", "a", 1);
	expect_echo(fds[0], 1, "a");
	send_request(fds[1], 1, "Echo", "b", 1);
	expect_echo(fds[1], 1, "b");
	cr_assert(wait_log("pausing accepts", 5), "the server never reported running out of descriptors");
	/* A spinning accept loop burns a whole core (100 ticks a second);
	 * a paused one next to nothing. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)server_pid);
	long t0 = cpu_ticks(path);
	usleep(1000000); /* the measuring window, not a wait for anything */
	long t1 = cpu_ticks(path);
	cr_assert_lt(t1 - t0, 30, "server used %ld ticks of CPU in 1 s while out of fds", t1 - t0);
	/* each pair closed frees two descriptors: the next two waiting peers get in */
	for (int i = 2; i < PEERS; i += 2) {
		close(fds[i - 2]);
		close(fds[i - 1]);
		send_request(fds[i], 1, "Echo", "c", 1);
		expect_echo(fds[i], 1, "c");
		send_request(fds[i + 1], 1, "Echo", "d", 1);
		expect_echo(fds[i + 1], 1, "d");
	}
	close(fds[PEERS - 2]);
	close(fds[PEERS - 1]);
	int fd = dial();
	send_request(fd, 1, "Echo", "back", 4);
	expect_echo(fd, 1, "back");
	close(fd);
	server_exits_cleanly();
}

/* Go's client sends a negative timeout_nano when its context is expiring:
 * that is a deadline already passed, not "no deadline" (regression). */
Test(raw, negative_timeout_is_a_passed_deadline)
{
	int fd = dial();
	struct pb b = request("Deadline", NULL, 0, -1000000);
	send_frame(fd, (uint32_t)b.len, 1, 1, 0, b.p, b.len);
	free(b.p);
	struct reply r = read_reply(fd);
	char text[32] = "";
	memcpy(text, r.payload, r.len < 31 ? r.len : 31);
	cr_assert_leq(atoll(text), -1000000, "remaining %s", text);
	free(r.payload);
	close(fd);
	server_exits_cleanly();
}
