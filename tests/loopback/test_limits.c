/* SPDX-License-Identifier: Apache-2.0 */
/* A server no peer can exhaust: a burst of connects, and clients that send
 * requests but never read the answers. The server runs in a forked child so
 * its RSS and descriptors are its own. Not under ASan: RSS is the point. */
#include "fixture.h"

#include <sys/resource.h>

#include "rawpeer.h"

static pid_t server_pid;
static int log_pipe[2] = { -1, -1 }; /* the child's log lines */

static void log_to_pipe(void *user, int level, const char *msg)
{
	(void)user;
	(void)level;
	dprintf(log_pipe[1], "%s\n", msg);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 4096 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

static double grace_s = -1; /* < 0: the server's default */

static void child_prepare(void)
{
	raise_nofile();
	close(log_pipe[0]);
	fcntl(log_pipe[1], F_SETFL, O_NONBLOCK); /* a full pipe drops lines, never blocks the server */
	ttrpc_server_set_log(fx.server, log_to_pipe, NULL);
	if (grace_s >= 0)
		cr_assert_eq(ttrpc_server_set_budget_grace(fx.server, grace_s), 0);
}

static void limits_start(void)
{
	fixture_start();
	raise_nofile();
	cr_assert_eq(pipe2(log_pipe, O_CLOEXEC), 0);
	server_pid = fixture_fork_server(child_prepare);
	close(log_pipe[1]);
	log_pipe[1] = -1;
}

static void limits_stop(void)
{
	server_pid = 0;
	fixture_stop();
	close(log_pipe[0]);
	grace_s = -1;
}

TestSuite(limits, .init = limits_start, .fini = limits_stop, .timeout = 120);

static void server_exits_cleanly(void)
{
	pid_t pid = server_pid;
	server_pid = 0;
	fixture_stop_server(pid);
}

/* Read the child's log until a line contains text; false after seconds. */
static int wait_log(const char *text, double seconds)
{
	static char buf[16384];
	static size_t len;
	int64_t end = rp_now_ms() + (int64_t)(seconds * 1000);
	while (!strstr(buf, text)) {
		int64_t left = end - rp_now_ms();
		struct pollfd pfd = { .fd = log_pipe[0], .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return 0;
		if (len + 1 >= sizeof(buf))
			len = (size_t)snprintf(buf, sizeof(buf), "%s", buf + sizeof(buf) / 2);
		ssize_t r = read(log_pipe[0], buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		buf[len] = '\0';
	}
	return 1;
}

static void echo_ok(int fd, uint32_t id, const char *text)
{
	struct rp_pb b = rp_request(SVC, "Echo", text, strlen(text));
	cr_assert_eq(rp_send_frame(fd, id, 1, b.p, b.len), 0, "send: %s", strerror(errno));
	free(b.p);
	struct rp_reply r;
	cr_assert_eq(rp_read_reply(fd, &r, 5000), 0, "no answer to stream %u within 5 s", id);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.code, 0, "stream %u: %d %s", id, r.code, r.message);
	cr_assert_eq(r.len, strlen(text));
	cr_assert_arr_eq(r.payload, text, r.len);
	free(r.payload);
}

static int somaxconn(void)
{
	int n = 0;
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* 1000 non-blocking connects while the server is stopped (SIGSTOP), so none
 * is accepted until all were made: each must fit in the listen backlog
 * (a backlog of 128 refused ~870 of them with EAGAIN). Then every one of the
 * connections is served. */
Test(limits, thousand_concurrent_connects_all_succeed)
{
	enum {
		N = 1000
	};
	if (somaxconn() <= N)
		cr_skip_test("net.core.somaxconn is %d: the kernel caps every backlog below %d", somaxconn(), N);
	static int fds[N];
	int failed = 0, eagain = 0, first_errno = 0;
	cr_assert_eq(kill(server_pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		fds[i] = rp_dial(fx.path, 1);
		if (fds[i] < 0) {
			failed++;
			eagain += errno == EAGAIN;
			if (!first_errno)
				first_errno = errno;
		}
	}
	cr_assert_eq(kill(server_pid, SIGCONT), 0);
	cr_log_info("limits: %d concurrent connects, %d failed (%d EAGAIN)", N, failed, eagain);
	fprintf(stderr, "limits: %d concurrent connects, %d failed (%d EAGAIN)\n", N, failed, eagain);
	cr_assert_eq(failed, 0, "%d of %d connects failed (%d with EAGAIN; first: %s)", failed, N, eagain,
		     strerror(first_errno));
	/* every connection gets its answer: requests all out first, then answers */
	for (int i = 0; i < N; i++) {
		char text[16];
		snprintf(text, sizeof(text), "c%d", i);
		struct rp_pb b = rp_request(SVC, "Echo", text, strlen(text));
		cr_assert_eq(rp_send_frame(fds[i], 1, 1, b.p, b.len), 0);
		free(b.p);
	}
	for (int i = 0; i < N; i++) {
		char text[16];
		snprintf(text, sizeof(text), "c%d", i);
		struct rp_reply r;
		cr_assert_eq(rp_read_reply(fds[i], &r, 10000), 0, "connection %d got no answer", i);
		cr_assert_eq(r.code, 0);
		cr_assert_eq(r.len, strlen(text));
		cr_assert_arr_eq(r.payload, text, r.len);
		free(r.payload);
		close(fds[i]);
	}
	server_exits_cleanly();
}

/* Clients that pipeline requests and never read. Each sends up to
 * PER_CLIENT requests of SIZE bytes (24 MiB) until the server stops taking
 * them; returns how many clients the server closed. *peak_kib is the highest
 * VmRSS sampled. */
enum {
	SIZE = 1 << 20,
	PER_CLIENT = 24
};

struct hog {
	int fd;
	size_t off;   /* into the current frame */
	int frames;   /* sent whole */
	int closed;   /* the server hung up */
	size_t bytes; /* sent in all */
};

static int run_hogs(struct hog *h, int n, const uint8_t *frame, size_t frame_len, long *peak_kib)
{
	int64_t last_progress = rp_now_ms();
	int closed = 0;
	for (;;) {
		struct pollfd pfd[64];
		int active = 0;
		for (int i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){ .fd = h[i].closed || h[i].frames == PER_CLIENT ? -1 : h[i].fd,
						  .events = POLLOUT };
			active += pfd[i].fd >= 0;
		}
		long rss = rp_status_kib(server_pid, "VmRSS");
		if (rss > *peak_kib)
			*peak_kib = rss;
		if (!active || rp_now_ms() - last_progress > 1500)
			break;
		if (poll(pfd, (nfds_t)n, 200) < 0)
			cr_assert_fail("poll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			/* stream id 2k+1 of frame k */
			uint8_t head[10];
			memcpy(head, frame, 10);
			uint32_t id = 2 * (uint32_t)h[i].frames + 1;
			head[4] = (uint8_t)(id >> 24), head[5] = (uint8_t)(id >> 16), head[6] = (uint8_t)(id >> 8),
			head[7] = (uint8_t)id;
			const uint8_t *src = h[i].off < 10 ? head + h[i].off : frame + h[i].off;
			size_t len = h[i].off < 10 ? 10 - h[i].off : frame_len - h[i].off;
			ssize_t w = send(h[i].fd, src, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				h[i].closed = 1;
				closed++;
				continue;
			}
			if (w <= 0)
				continue;
			last_progress = rp_now_ms();
			h[i].off += (size_t)w;
			h[i].bytes += (size_t)w;
			if (h[i].off == frame_len) {
				h[i].off = 0;
				h[i].frames++;
			}
		}
	}
	return closed;
}

static uint8_t *echo_frame(size_t *frame_len)
{
	uint8_t *p = calloc(1, SIZE);
	memset(p, 'x', SIZE);
	struct rp_pb b = rp_request(SVC, "Echo", p, SIZE);
	free(p);
	uint8_t *frame = malloc(10 + b.len);
	rp_header(frame, (uint32_t)b.len, 1, 1, 0);
	memcpy(frame + 10, b.p, b.len);
	free(b.p);
	*frame_len = 10 + b.len;
	return frame;
}

/* 16 clients that each pipeline 24 MiB of 1 MiB Echo requests and never read
 * an answer: with the default budget the server's resident memory stays under
 * 64 MiB (without it: 195 MiB), and a well-behaved client is served
 * meanwhile. */
Test(limits, non_reading_clients_cannot_exhaust_memory)
{
	enum {
		CLIENTS = 16
	};
	int good = rp_dial(fx.path, 0);
	cr_assert_geq(good, 0);
	echo_ok(good, 1, "warm");
	long base = rp_status_kib(server_pid, "VmRSS");
	size_t frame_len;
	uint8_t *frame = echo_frame(&frame_len);
	struct hog h[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		h[i] = (struct hog){ .fd = rp_dial(fx.path, 1) };
		cr_assert_geq(h[i].fd, 0);
	}
	long peak = 0;
	int closed = run_hogs(h, CLIENTS, frame, frame_len, &peak);
	size_t sent = 0;
	for (int i = 0; i < CLIENTS; i++)
		sent += h[i].bytes;
	/* the hogs are stuck (or gone): the others are still served */
	echo_ok(good, 3, "still served");
	long hwm = rp_status_kib(server_pid, "VmHWM");
	fprintf(stderr,
		"limits: %d non-reading clients sent %zu MiB before the server stopped reading (%d closed); "
		"server RSS baseline %ld KiB, peak %ld KiB (VmHWM %ld KiB)\n",
		CLIENTS, sent >> 20, closed, base, peak, hwm);
	cr_assert_lt(hwm, 64 * 1024, "the server's RSS reached %ld KiB (baseline %ld KiB)", hwm, base);
	cr_assert_lt(sent, (size_t)CLIENTS * PER_CLIENT * frame_len, "the server read every request unanswered");
	for (int i = 0; i < CLIENTS; i++)
		close(h[i].fd);
	close(good);
	free(frame);
	server_exits_cleanly();
}

static void short_grace(void)
{
	grace_s = 1.0;
	limits_start();
}

/* A peer held over its share of the budget that takes none of its answers is
 * closed after the grace period, with a log line; a well-behaved client is
 * untouched. Closing stops once the rest fits: the last hogs, each held at the
 * 12 MiB per-connection mark, are within the 32 MiB budget (at most 2). */
Test(limits, stuck_peers_are_closed_after_the_grace_period, .init = short_grace)
{
	enum {
		CLIENTS = 8
	};
	int good = rp_dial(fx.path, 0);
	cr_assert_geq(good, 0);
	echo_ok(good, 1, "before");
	size_t frame_len;
	uint8_t *frame = echo_frame(&frame_len);
	struct hog h[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		h[i] = (struct hog){ .fd = rp_dial(fx.path, 1) };
		cr_assert_geq(h[i].fd, 0);
	}
	long peak = 0;
	run_hogs(h, CLIENTS, frame, frame_len, &peak);
	cr_assert(wait_log("over its share", 10), "no log line about a peer over its share of the budget");
	/* every hog is hung up on: POLLHUP once the server closed its end */
	int64_t end = rp_now_ms() + 10000;
	int hung = 0;
	while (hung < CLIENTS - 2 && rp_now_ms() < end) {
		hung = 0;
		for (int i = 0; i < CLIENTS; i++) {
			struct pollfd pfd = { .fd = h[i].fd, .events = POLLRDHUP };
			hung += poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP));
		}
		if (hung < CLIENTS - 2)
			usleep(20000); /* one poll step */
	}
	fprintf(stderr, "limits: %d of %d stuck peers closed after a 1 s grace\n", hung, CLIENTS);
	cr_assert_geq(hung, CLIENTS - 2, "only %d of %d stuck peers were closed within 10 s", hung, CLIENTS);
	echo_ok(good, 3, "after");
	for (int i = 0; i < CLIENTS; i++)
		close(h[i].fd);
	close(good);
	free(frame);
	server_exits_cleanly();
}

/* Memory is handed back: 8 clients each echo 4 near-4 MiB messages at once,
 * read every answer and hang up; then the server's RSS returns to within
 * 4 MiB of its baseline (glibc alone kept 8-20 MiB after one 4 MiB echo). */
Test(limits, memory_of_large_messages_returns_to_the_system)
{
	enum {
		CLIENTS = 8,
		CALLS = 4,
		BIG = (4 << 20) - 64
	};
	int idle_fds = rp_fd_count(server_pid);
	int warm = rp_dial(fx.path, 0);
	cr_assert_geq(warm, 0);
	echo_ok(warm, 1, "warm");
	close(warm);
	/* the baseline once the server has closed the warm-up connection */
	for (int64_t end = rp_now_ms() + 10000; rp_fd_count(server_pid) != idle_fds && rp_now_ms() < end;)
		usleep(10000); /* one poll step */
	cr_assert_eq(rp_fd_count(server_pid), idle_fds, "the server kept the warm-up connection");
	long base = rp_status_kib(server_pid, "VmRSS");
	uint8_t *p = malloc(BIG);
	memset(p, 'y', BIG);
	struct rp_pb b = rp_request(SVC, "Echo", p, BIG);
	/* each client in its own process: CALLS echoes one after the other */
	pid_t kids[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] > 0)
			continue;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = rp_dial(fx.path, 0);
		for (int k = 0; fd >= 0 && k < CALLS; k++) {
			struct rp_reply r;
			if (rp_send_frame(fd, 2 * (uint32_t)k + 1, 1, b.p, b.len) || rp_read_reply(fd, &r, 20000) ||
			    r.code != 0 || r.len != (size_t)BIG || memcmp(r.payload, p, BIG) != 0)
				_exit(1);
			free(r.payload);
		}
		_exit(fd >= 0 ? 0 : 2);
	}
	long peak = 0;
	for (int i = 0; i < CLIENTS; i++) {
		int64_t end = rp_now_ms() + 30000;
		int status = -1;
		while (waitpid(kids[i], &status, WNOHANG) == 0 && rp_now_ms() < end) {
			long rss = rp_status_kib(server_pid, "VmRSS");
			peak = rss > peak ? rss : peak;
			usleep(10000); /* one sampling step */
		}
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client %d: wait status 0x%x", i, status);
	}
	free(b.p);
	free(p);
	long rss = rp_status_kib(server_pid, "VmRSS");
	for (int i = 0; i < 50 && rss > base + 4 * 1024; i++) { /* trimmed once the loop is idle */
		usleep(100000);
		rss = rp_status_kib(server_pid, "VmRSS");
	}
	fprintf(stderr,
		"limits: %d clients x %d echoes of 4 MiB: server RSS baseline %ld KiB, peak %ld KiB, after %ld KiB\n",
		CLIENTS, CALLS, base, peak, rss);
	cr_assert_leq(rss, base + 4 * 1024, "the server kept %ld KiB after the large messages (baseline %ld KiB)", rss,
		      base);
	server_exits_cleanly();
}
