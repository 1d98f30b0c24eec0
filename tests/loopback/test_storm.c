/* SPDX-License-Identifier: Apache-2.0 */
/* A storm of hostile peers against one server (forked, so its descriptors and
 * RSS are its own) while a well-behaved client runs alongside: that client
 * never sees a wrong answer, and afterwards the server's descriptor count is
 * back to its baseline exactly and its RSS within 8 MiB of it.
 * TTRPC_STORM_SECONDS sets the storm's length (default 20, at most 100). */
#include "fixture.h"

#include <sys/resource.h>

#include "rawpeer.h"

enum {
	WORKERS = 4,
	MiB = 1 << 20
};

enum action {
	HALF_HEADER,
	CUT_MID_FRAME,
	OVERSIZED_5MIB,
	OVERSIZED_FFFFFFFF,
	GARBAGE,
	UNKNOWN_TYPES,
	EVEN_AND_REUSED_IDS,
	UNKNOWN_SERVICE,
	TRUNCATED_PROTOBUF,
	PIPELINE_AND_VANISH,
	DATA_ON_UNKNOWN_STREAM,
	N_ACTIONS
};

static const char *action_names[N_ACTIONS] = {
	"half header",
	"disconnect mid-frame",
	"5 MiB length",
	"0xFFFFFFFF length",
	"garbage",
	"unknown frame types",
	"even/reused ids",
	"unknown service/method",
	"truncated protobuf",
	"pipeline and vanish",
	"data on unknown stream",
};

struct counts {
	long done[N_ACTIONS];
	long wrong; /* answers that broke a rule of WIRE.md */
	char first_wrong[160];
};

static pid_t server_pid;

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void storm_start(void)
{
	fixture_start();
	server_pid = fixture_fork_server(raise_nofile);
}

static void storm_stop(void)
{
	server_pid = 0;
	fixture_stop();
}

TestSuite(storm, .init = storm_start, .fini = storm_stop, .timeout = 240);

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_random(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next(s);
}

static void wrong(struct counts *c, const char *what, const struct rp_reply *r)
{
	if (!c->wrong++)
		snprintf(c->first_wrong, sizeof(c->first_wrong), "%s: got id %u code %d '%.100s'", what, r ? r->id : 0,
			 r ? r->code : -1, r ? r->message : "no answer");
}

/* Read one answer and check its id and code (and payload, if want_payload). */
static void expect(struct counts *c, int fd, const char *what, uint32_t id, int code, const void *want_payload,
		   size_t want_len)
{
	struct rp_reply r;
	if (rp_read_reply(fd, &r, 10000)) {
		wrong(c, what, NULL);
		return;
	}
	if (r.type != 2 || r.id != id || r.code != code ||
	    (want_payload && (r.len != want_len || memcmp(r.payload, want_payload, want_len))))
		wrong(c, what, &r);
	free(r.payload);
}

static void send_request(int fd, uint32_t id, const char *service, const char *method, const void *p, size_t n)
{
	struct rp_pb b = rp_request(service, method, p, n);
	rp_send_frame(fd, id, 1, b.p, b.len);
	free(b.p);
}

static void hostile_once(struct counts *c, uint64_t *rng, const char *path, uint8_t *junk, size_t junk_len)
{
	enum action a = (enum action)(rng_next(rng) % N_ACTIONS);
	int fd = rp_dial(path, 0);
	if (fd < 0)
		return; /* a connect that fails is the client's problem here: test (a) covers it */
	uint8_t h[10];
	switch (a) {
	case HALF_HEADER:
		rp_header(h, 100, 1, 1, 0);
		rp_send_all(fd, h, 1 + rng_next(rng) % 9, 1000);
		break;
	case CUT_MID_FRAME: {
		uint32_t len = 1 + (uint32_t)(rng_next(rng) % (4 * MiB));
		rp_header(h, len, 1, 1, 0);
		rp_send_all(fd, h, 10, 1000);
		size_t part = rng_next(rng) % len;
		rp_send_all(fd, junk, part < junk_len ? part : junk_len, 5000);
		break;
	}
	case OVERSIZED_5MIB: {
		rp_header(h, 5 * MiB, 1, 1, 0);
		rp_send_all(fd, h, 10, 1000);
		int complete = rng_next(rng) % 2;
		size_t n = complete ? 5 * MiB : rng_next(rng) % (5 * MiB);
		for (size_t off = 0; off < n;) {
			size_t k = n - off < junk_len ? n - off : junk_len;
			if (rp_send_all(fd, junk, k, 5000))
				break;
			off += k;
		}
		expect(c, fd, "5 MiB frame", 1, TTRPC_CODE_RESOURCE_EXHAUSTED, NULL, 0);
		if (complete) { /* the connection is still usable */
			send_request(fd, 3, SVC, "Echo", "after", 5);
			expect(c, fd, "echo after a 5 MiB frame", 3, 0, "after", 5);
		}
		break;
	}
	case OVERSIZED_FFFFFFFF:
		rp_header(h, 0xFFFFFFFFu, 1, 1, 0);
		rp_send_all(fd, h, 10, 1000);
		expect(c, fd, "0xFFFFFFFF frame", 1, TTRPC_CODE_RESOURCE_EXHAUSTED, NULL, 0);
		rp_send_all(fd, junk, rng_next(rng) % 65536, 5000);
		break;
	case GARBAGE:
		fill_random(rng, junk, 65536);
		rp_send_all(fd, junk, 1 + rng_next(rng) % 65536, 5000);
		break;
	case UNKNOWN_TYPES: {
		static const uint8_t types[] = { 0, 4, 5, 0x7f, 0xff };
		for (size_t i = 0; i < sizeof(types); i++) {
			size_t n = rng_next(rng) % 4096;
			rp_header(h, (uint32_t)n, (uint32_t)(rng_next(rng)), types[i], (uint8_t)rng_next(rng));
			rp_send_all(fd, h, 10, 1000);
			rp_send_all(fd, junk, n, 1000);
		}
		send_request(fd, 1, SVC, "Echo", "typed", 5);
		expect(c, fd, "echo after unknown frame types", 1, 0, "typed", 5);
		break;
	}
	case EVEN_AND_REUSED_IDS:
		send_request(fd, 2, SVC, "Echo", "even", 4);
		expect(c, fd, "even stream id", 2, TTRPC_CODE_INVALID_ARGUMENT, NULL, 0);
		send_request(fd, 5, SVC, "Echo", "five", 4);
		expect(c, fd, "stream 5", 5, 0, "five", 4);
		send_request(fd, 5, SVC, "Echo", "again", 5);
		expect(c, fd, "reused stream id", 5, TTRPC_CODE_INVALID_ARGUMENT, NULL, 0);
		send_request(fd, 3, SVC, "Echo", "lower", 5);
		expect(c, fd, "lower stream id", 3, TTRPC_CODE_INVALID_ARGUMENT, NULL, 0);
		break;
	case UNKNOWN_SERVICE:
		send_request(fd, 1, "no.such.Service", "Echo", "x", 1);
		expect(c, fd, "unknown service", 1, TTRPC_CODE_UNIMPLEMENTED, NULL, 0);
		send_request(fd, 3, SVC, "NoSuchMethod", "x", 1);
		expect(c, fd, "unknown method", 3, TTRPC_CODE_UNIMPLEMENTED, NULL, 0);
		break;
	case TRUNCATED_PROTOBUF: {
		size_t n = 16 + rng_next(rng) % 60000;
		struct rp_pb b = rp_request(SVC, "Echo", junk, n);
		/* cut inside the payload's bytes: the field claims more than is there */
		size_t cut = b.len - 1 - rng_next(rng) % (n - 1);
		rp_send_frame(fd, 1, 1, b.p, cut);
		free(b.p);
		expect(c, fd, "truncated protobuf", 1, TTRPC_CODE_INVALID_ARGUMENT, NULL, 0);
		break;
	}
	case PIPELINE_AND_VANISH:
		for (uint32_t i = 0; i < 20; i++)
			send_request(fd, 2 * i + 1, SVC, "Echo", junk, 64 * 1024);
		break;
	case DATA_ON_UNKNOWN_STREAM:
		rp_send_frame(fd, 7, 3, "data", 4);
		expect(c, fd, "data on unknown stream", 7, TTRPC_CODE_INVALID_ARGUMENT, NULL, 0);
		break;
	default:
		break;
	}
	c->done[a]++;
	close(fd);
}

/* A forked hostile peer: storms for seconds, writes its counts to out. */
static void hostile_worker(int out, uint64_t seed, double seconds)
{
	struct counts c = { 0 };
	size_t junk_len = MiB;
	uint8_t *junk = malloc(junk_len);
	uint64_t rng = seed;
	fill_random(&rng, junk, junk_len);
	int64_t end = rp_now_ms() + (int64_t)(seconds * 1000);
	while (rp_now_ms() < end)
		hostile_once(&c, &rng, fx.path, junk, junk_len);
	free(junk);
	ssize_t w = write(out, &c, sizeof(c));
	_exit(w == (ssize_t)sizeof(c) ? 0 : 1);
}

static double storm_seconds(void)
{
	const char *e = getenv("TTRPC_STORM_SECONDS");
	double s = e && *e ? atof(e) : 20;
	return s < 1 ? 1 : s > 100 ? 100 : s;
}

/* One checked call of the well-behaved client; false on a wrong answer. */
static int good_call(ttrpc_client *cl, uint64_t *rng, uint8_t *buf, char *why, size_t why_len)
{
	size_t n = rng_next(rng) % 8 == 0 ? rng_next(rng) % MiB : rng_next(rng) % 4096;
	fill_random(rng, buf, n);
	struct ttrpc_call_opts opts = { .timeout_ns = 30 * 1000000000ll };
	struct ttrpc_result r;
	if (rng_next(rng) % 4 == 0) {
		uint8_t req[32] = { TTRPC_CODE_NOT_FOUND };
		int len = 1 + snprintf((char *)req + 1, sizeof(req) - 1, "gone %u", (unsigned)(n % 1000));
		ttrpc_client_call_sync(cl, SVC, "Fail", req, (size_t)len, &opts, &r);
		int ok = r.code == TTRPC_CODE_NOT_FOUND && !strncmp(r.message, (char *)req + 1, (size_t)len - 1);
		if (!ok)
			snprintf(why, why_len, "Fail: code %d '%s'", r.code, r.message);
		ttrpc_result_clear(&r);
		return ok;
	}
	ttrpc_client_call_sync(cl, SVC, "Echo", buf, n, &opts, &r);
	int ok = r.code == 0 && r.len == n && (n == 0 || !memcmp(r.payload, buf, n));
	if (!ok)
		snprintf(why, why_len, "Echo of %zu bytes: code %d '%s', %zu bytes", n, r.code, r.message, r.len);
	ttrpc_result_clear(&r);
	return ok;
}

static int wait_fds(int want, double seconds)
{
	int64_t end = rp_now_ms() + (int64_t)(seconds * 1000);
	int n;
	while ((n = rp_fd_count(server_pid)) != want && rp_now_ms() < end)
		usleep(10000); /* one poll step */
	return n;
}

Test(storm, hostile_peers_leave_no_trace)
{
	raise_nofile();
	double seconds = storm_seconds();
	/* warm up: the server's first calls allocate what it keeps (loop, tables) */
	int idle_fds = rp_fd_count(server_pid);
	ttrpc_client *warm = ttrpc_client_connect(NULL, fx.path, NULL);
	cr_assert_not_null(warm);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	uint8_t *buf = malloc(MiB);
	char why[256] = "";
	for (int i = 0; i < 50; i++)
		cr_assert(good_call(warm, &rng, buf, why, sizeof(why)), "warm-up: %s", why);
	ttrpc_client_free(warm);
	/* the baseline once the server has closed the warm-up connection */
	int base_fds = wait_fds(idle_fds, 10);
	cr_assert_eq(base_fds, idle_fds, "the server kept the warm-up connection: %d fds, %d before", base_fds,
		     idle_fds);
	long base_rss = rp_status_kib(server_pid, "VmRSS");

	int pipes[WORKERS][2];
	pid_t workers[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		cr_assert_eq(pipe2(pipes[i], O_CLOEXEC), 0);
		workers[i] = fork();
		cr_assert_geq(workers[i], 0);
		if (workers[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(pipes[i][0]);
			hostile_worker(pipes[i][1], 0x1234567ull * (uint64_t)(i + 1), seconds);
		}
		close(pipes[i][1]);
	}

	ttrpc_client *cl = ttrpc_client_connect(NULL, fx.path, NULL);
	cr_assert_not_null(cl);
	long good_calls = 0, good_wrong = 0;
	char first_wrong[256] = "";
	int64_t end = rp_now_ms() + (int64_t)(seconds * 1000);
	long peak_rss = base_rss;
	while (rp_now_ms() < end) {
		if (!good_call(cl, &rng, buf, why, sizeof(why)) && !good_wrong++)
			snprintf(first_wrong, sizeof(first_wrong), "%s", why);
		good_calls++;
		if (good_calls % 16 == 0) {
			long rss = rp_status_kib(server_pid, "VmRSS");
			peak_rss = rss > peak_rss ? rss : peak_rss;
		}
	}
	ttrpc_client_free(cl);

	struct counts total = { 0 };
	long hostile = 0;
	for (int i = 0; i < WORKERS; i++) {
		struct counts c;
		struct pollfd pfd = { .fd = pipes[i][0], .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, 30000), 1, "hostile worker %d did not finish", i);
		cr_assert_eq(read(pipes[i][0], &c, sizeof(c)), (ssize_t)sizeof(c));
		close(pipes[i][0]);
		int status = wait_child(workers[i], 10);
		cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
		for (int a = 0; a < N_ACTIONS; a++) {
			total.done[a] += c.done[a];
			hostile += c.done[a];
		}
		if (c.wrong && !total.wrong)
			snprintf(total.first_wrong, sizeof(total.first_wrong), "%s", c.first_wrong);
		total.wrong += c.wrong;
	}
	int fds = wait_fds(base_fds, 10);
	long rss = rp_status_kib(server_pid, "VmRSS");
	for (int i = 0; i < 50 && rss > base_rss + 8 * 1024; i++) { /* the trim runs once the loop is idle */
		usleep(100000);
		rss = rp_status_kib(server_pid, "VmRSS");
	}
	fprintf(stderr, "storm: %.0f s, %d hostile peers, %ld hostile connections:", seconds, WORKERS, hostile);
	for (int a = 0; a < N_ACTIONS; a++)
		fprintf(stderr, "%s %s %ld", a ? "," : "", action_names[a], total.done[a]);
	fprintf(stderr,
		"\nstorm: well-behaved client: %ld calls, %ld wrong; server fds %d -> %d; RSS baseline %ld KiB, "
		"peak %ld KiB, after %ld KiB\n",
		good_calls, good_wrong, base_fds, fds, base_rss, peak_rss, rss);
	cr_assert_eq(good_wrong, 0, "the well-behaved client got %ld wrong answers; first: %s", good_wrong,
		     first_wrong);
	cr_assert_gt(good_calls, 0);
	cr_assert_eq(total.wrong, 0, "hostile peers saw %ld answers against the rules; first: %s", total.wrong,
		     total.first_wrong);
	for (int a = 0; a < N_ACTIONS; a++)
		cr_assert_gt(total.done[a], 0, "no '%s' in the storm", action_names[a]);
	cr_assert_eq(fds, base_fds, "the server has %d descriptors open, %d before the storm", fds, base_fds);
#ifndef FIXTURE_LSAN
	cr_assert_leq(rss, base_rss + 8 * 1024, "the server's RSS is %ld KiB, %ld KiB before the storm", rss, base_rss);
#endif
	free(buf);
	pid_t pid = server_pid;
	server_pid = 0;
	fixture_stop_server(pid);
}
