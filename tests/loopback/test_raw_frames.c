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
	server_pid = fork();
	cr_assert_geq(server_pid, 0);
	if (server_pid == 0) {
		ev_run(fx.loop, 0);
		_exit(0);
	}
}

static void raw_stop(void)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
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

/* Read one frame and decode it as a ttrpc.Response by hand. */
static struct reply read_reply(int fd)
{
	struct reply r = { 0 };
	uint8_t h[10];
	recv_all(fd, h, sizeof(h));
	uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	r.id = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	r.type = h[8];
	r.flags = h[9];
	uint8_t *body = malloc(len + 1);
	recv_all(fd, body, len);
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
}

Test(raw, empty_request_and_empty_response)
{
	int fd = dial();
	send_request(fd, 1, "Echo", NULL, 0);
	struct reply r = read_reply(fd);
	cr_assert_eq(r.code, 0);
	cr_assert_eq(r.len, 0);
	close(fd);
}

Test(raw, even_stream_id_is_invalid_argument)
{
	int fd = dial();
	send_request(fd, 2, "Echo", "x", 1);
	expect(fd, 2, TTRPC_CODE_INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
	send_request(fd, 3, "Echo", "still", 5);
	expect_echo(fd, 3, "still");
	close(fd);
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
}

Test(raw, data_on_unknown_stream_is_invalid_argument)
{
	int fd = dial();
	send_frame(fd, 3, 9, 3, 0, "abc", 3);
	expect(fd, 9, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active");
	close(fd);
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
}

/* A peer that sends and never reads: the server stops reading it once its
 * answer queue is full, so the peer's writes stall; then every answer is
 * still delivered, in order. */
Test(raw, slow_reader_is_throttled_and_loses_nothing)
{
	int fd = dial();
	int sz = 64 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	enum {
		N = 64,
		SIZE = 1 << 20
	};
	uint8_t *p = malloc(SIZE);
	memset(p, 'q', SIZE);
	struct pb b = request("Echo", p, SIZE, 0);
	size_t frame_len = 10 + b.len;
	uint8_t *frame = malloc(frame_len);
	uint8_t h[10] = {
		(uint8_t)(b.len >> 24), (uint8_t)(b.len >> 16), (uint8_t)(b.len >> 8), (uint8_t)b.len, 0, 0, 0, 0, 1, 0
	};
	memcpy(frame, h, 10);
	memcpy(frame + 10, b.p, b.len);
	free(b.p);

	size_t sent_total = 0, limit = (size_t)N * frame_len;
	int stalled = 0;
	for (uint32_t i = 0; i < N && !stalled; i++) {
		uint32_t id = 2 * i + 1;
		frame[4] = (uint8_t)(id >> 24), frame[5] = (uint8_t)(id >> 16), frame[6] = (uint8_t)(id >> 8);
		frame[7] = (uint8_t)id;
		for (size_t off = 0; off < frame_len;) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, 500) == 0) {
				stalled = 1;
				/* finish this frame later, once we read */
				fcntl(fd, F_SETFL, 0);
				(void)off;
				break;
			}
			ssize_t w = send(fd, frame + off, frame_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			cr_assert(w > 0 || errno == EAGAIN);
			if (w > 0) {
				off += (size_t)w;
				sent_total += (size_t)w;
			}
		}
	}
	cr_assert(stalled, "the server kept reading %zu bytes without answers being read", sent_total);
	cr_assert_lt(sent_total, limit / 2);
	/* Now read everything the server queued: every complete request is
	 * answered with the full payload, in order. */
	size_t complete = sent_total / frame_len;
	cr_assert_gt(complete, 4);
	for (size_t i = 0; i < complete; i++) {
		struct reply r = read_reply(fd);
		cr_assert_eq(r.id, 2 * i + 1);
		cr_assert_eq(r.code, 0);
		cr_assert_eq(r.len, SIZE);
		free(r.payload);
	}
	free(frame);
	free(p);
	close(fd);
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

/* Out of file descriptors: the server pauses accepting instead of spinning,
 * and serves the waiting peers once descriptors are free again. */
Test(raw, out_of_fds_pauses_accept_without_spinning)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	server_pid = fork();
	cr_assert_geq(server_pid, 0);
	if (server_pid == 0) {
		struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
		/* fill every free descriptor, then free exactly two */
		int last = -1, prev = -1;
		for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
			prev = last;
			last = fd;
		}
		close(last);
		close(prev);
		ev_run(fx.loop, 0);
		_exit(0);
	}
	usleep(100000);
	int fds[8];
	for (int i = 0; i < 8; i++)
		fds[i] = dial();
	/* the first two connections are served, the rest wait in the backlog */
	send_request(fds[0], 1, "Echo", "a", 1);
	expect_echo(fds[0], 1, "a");
	usleep(300000);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)server_pid);
	long t0 = cpu_ticks(path);
	usleep(1000000);
	long t1 = cpu_ticks(path);
	cr_assert_lt(t1 - t0, 30, "server used %ld ticks of CPU in 1 s while out of fds", t1 - t0);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	int fd = dial();
	send_request(fd, 1, "Echo", "back", 4);
	expect_echo(fd, 1, "back");
	close(fd);
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
}
