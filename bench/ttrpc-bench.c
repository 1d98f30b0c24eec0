/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-bench: the echo benchmark.
 *   ttrpc-bench server --socket PATH
 *   ttrpc-bench client --socket PATH --calls N --concurrency C --size BYTES
 *   ttrpc-bench raw-server|raw-client ...: the same round trip without ttrpc
 * The server speaks ttrpc.bench.v1.Bench/Echo ({bytes payload = 1}); the
 * client keeps C calls in flight on one connection and prints one line. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "bench.pb-c.h"

#define SERVICE "ttrpc.bench.v1.Bench"

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	Ttrpc__Bench__V1__EchoMessage *in = ttrpc__bench__v1__echo_message__unpack(NULL, len, req);
	if (!in) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "bad EchoMessage");
		return;
	}
	Ttrpc__Bench__V1__EchoMessage out = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	out.payload = in->payload;
	size_t n = ttrpc__bench__v1__echo_message__get_packed_size(&out);
	uint8_t *buf = malloc(n ? n : 1);
	ttrpc__bench__v1__echo_message__pack(&out, buf);
	ttrpc_call_respond(call, buf, n);
	free(buf);
	ttrpc__bench__v1__echo_message__free_unpacked(in, NULL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ALL);
}

static int run_server(const char *path)
{
	struct ev_loop *loop = EV_DEFAULT;
	ttrpc_server *s = ttrpc_server_new(loop);
	ttrpc_server_register(s, SERVICE, "Echo", echo, NULL);
	int rc = ttrpc_server_listen(s, path);
	if (rc) {
		fprintf(stderr, "ttrpc-bench: listen %s: %s\n", path, ttrpc_strerror(rc));
		return 1;
	}
	ev_signal sigterm, sigint;
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	printf("ready\n");
	fflush(stdout);
	ev_run(loop, 0);
	ttrpc_server_free(s);
	return 0;
}

struct bench {
	ttrpc_client *client;
	uint8_t *req;
	size_t req_len;
	size_t size;
	long calls, started, done, failed;
	int64_t *latency_ns;
};

struct slot {
	struct bench *b;
	int64_t start;
};

static void start_one(struct slot *sl);

static void call_done(const struct ttrpc_result *r, void *user)
{
	struct slot *sl = user;
	struct bench *b = sl->b;
	int64_t now = ttrpc_now_ns();
	Ttrpc__Bench__V1__EchoMessage *m = NULL;
	if (r->code == TTRPC_CODE_OK)
		m = ttrpc__bench__v1__echo_message__unpack(NULL, r->len, r->payload);
	if (!m || m->payload.len != b->size) {
		if (b->failed++ == 0)
			fprintf(stderr, "ttrpc-bench: call failed: %s: %s\n", ttrpc_code_name(r->code), r->message);
	}
	if (m)
		ttrpc__bench__v1__echo_message__free_unpacked(m, NULL);
	b->latency_ns[b->done++] = now - sl->start;
	if (b->started < b->calls)
		start_one(sl);
	else
		free(sl);
}

static void start_one(struct slot *sl)
{
	struct bench *b = sl->b;
	sl->start = ttrpc_now_ns();
	b->started++;
	int rc = ttrpc_client_call(b->client, SERVICE, "Echo", b->req, b->req_len, NULL, call_done, sl);
	if (rc) {
		fprintf(stderr, "ttrpc-bench: call: %s\n", ttrpc_strerror(rc));
		exit(1);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int run_client(const char *path, long calls, long concurrency, size_t size)
{
	struct ev_loop *loop = EV_DEFAULT;
	int err;
	struct bench b = { .calls = calls, .size = size };
	b.client = ttrpc_client_connect(loop, path, &err);
	if (!b.client) {
		fprintf(stderr, "ttrpc-bench: connect %s: %s (%s)\n", path, ttrpc_strerror(err), strerror(errno));
		return 1;
	}
	Ttrpc__Bench__V1__EchoMessage m = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	uint8_t *payload = malloc(size ? size : 1);
	memset(payload, 0xab, size);
	m.payload.data = payload;
	m.payload.len = size;
	b.req_len = ttrpc__bench__v1__echo_message__get_packed_size(&m);
	b.req = malloc(b.req_len ? b.req_len : 1);
	ttrpc__bench__v1__echo_message__pack(&m, b.req);
	b.latency_ns = calloc((size_t)calls, sizeof(int64_t));

	int64_t t0 = ttrpc_now_ns();
	for (long i = 0; i < concurrency && i < calls; i++) {
		struct slot *sl = malloc(sizeof(*sl));
		sl->b = &b;
		start_one(sl);
	}
	while (b.done < calls && ttrpc_client_connected(b.client))
		ev_run(loop, EVRUN_ONCE);
	double secs = (double)(ttrpc_now_ns() - t0) / 1e9;
	if (b.done < calls) {
		fprintf(stderr, "ttrpc-bench: connection lost after %ld calls\n", b.done);
		return 1;
	}
	qsort(b.latency_ns, (size_t)calls, sizeof(int64_t), cmp_i64);
	double sum = 0;
	for (long i = 0; i < calls; i++)
		sum += (double)b.latency_ns[i];
	long p99 = (long)((double)calls * 0.99);
	if (p99 >= calls)
		p99 = calls - 1;
	printf("calls=%ld concurrency=%ld size=%zu calls/s=%.0f mean_us=%.1f p99_us=%.1f MB/s=%.1f failed=%ld\n", calls,
	       concurrency, size, (double)calls / secs, sum / (double)calls / 1e3, (double)b.latency_ns[p99] / 1e3,
	       2.0 * (double)size * (double)calls / secs / 1e6, b.failed);
	ttrpc_client_free(b.client);
	free(b.latency_ns);
	free(b.req);
	free(payload);
	return b.failed ? 1 : 0;
}

/* --- raw ping-pong: the physical limit of one round trip on a unix socket ---
 * A 4-byte length then the bytes, echoed back; no ttrpc, no protobuf, one
 * message in flight. What ttrpc adds on top is the difference. */

static int io_all(int fd, void *buf, size_t len, int writing)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int run_raw_server(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 8) != 0) {
		fprintf(stderr, "ttrpc-bench: raw listen %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	uint8_t *buf = malloc(TTRPC_MAX_MESSAGE_SIZE);
	for (int fd; (fd = accept(lfd, NULL, NULL)) >= 0; close(fd)) {
		uint32_t len;
		while (io_all(fd, &len, sizeof(len), 0) == 0 && len <= TTRPC_MAX_MESSAGE_SIZE &&
		       io_all(fd, buf, len, 0) == 0 && io_all(fd, &len, sizeof(len), 1) == 0 &&
		       io_all(fd, buf, len, 1) == 0)
			;
	}
	free(buf);
	return 0;
}

static int run_raw_client(const char *path, long calls, size_t size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "ttrpc-bench: raw connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	uint8_t *buf = calloc(1, size ? size : 1);
	int64_t *lat = calloc((size_t)calls, sizeof(int64_t));
	uint32_t len = (uint32_t)size;
	int64_t t0 = ttrpc_now_ns();
	for (long i = 0; i < calls; i++) {
		int64_t start = ttrpc_now_ns();
		uint32_t back;
		if (io_all(fd, &len, sizeof(len), 1) || io_all(fd, buf, size, 1) ||
		    io_all(fd, &back, sizeof(back), 0) || back != len || io_all(fd, buf, back, 0)) {
			fprintf(stderr, "ttrpc-bench: raw round trip %ld failed\n", i);
			return 1;
		}
		lat[i] = ttrpc_now_ns() - start;
	}
	double secs = (double)(ttrpc_now_ns() - t0) / 1e9;
	qsort(lat, (size_t)calls, sizeof(int64_t), cmp_i64);
	double sum = 0;
	for (long i = 0; i < calls; i++)
		sum += (double)lat[i];
	long p99 = (long)((double)calls * 0.99);
	if (p99 >= calls)
		p99 = calls - 1;
	printf("calls=%ld concurrency=1 size=%zu calls/s=%.0f mean_us=%.1f p99_us=%.1f MB/s=%.1f failed=0\n", calls,
	       size, (double)calls / secs, sum / (double)calls / 1e3, (double)lat[p99] / 1e3,
	       2.0 * (double)size * (double)calls / secs / 1e6);
	free(lat);
	free(buf);
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ttrpc-bench server --socket PATH\n"
			"       ttrpc-bench client --socket PATH [--calls N] [--concurrency C] [--size BYTES]\n"
			"       ttrpc-bench raw-server --socket PATH   (length-prefixed echo, no ttrpc)\n"
			"       ttrpc-bench raw-client --socket PATH [--calls N] [--size BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	const char *path = NULL;
	long calls = 10000, concurrency = 1, size = 0;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "calls", required_argument, NULL, 'n' },
					      { "concurrency", required_argument, NULL, 'c' },
					      { "size", required_argument, NULL, 'z' },
					      { NULL, 0, NULL, 0 } };
	int o;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 'n':
			calls = atol(optarg);
			break;
		case 'c':
			concurrency = atol(optarg);
			break;
		case 'z':
			size = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (!path || calls < 1 || concurrency < 1 || size < 0 || size > (long)TTRPC_MAX_MESSAGE_SIZE - 64)
		usage();
	if (!strcmp(mode, "server"))
		return run_server(path);
	if (!strcmp(mode, "client"))
		return run_client(path, calls, concurrency, (size_t)size);
	if (!strcmp(mode, "raw-server"))
		return run_raw_server(path);
	if (!strcmp(mode, "raw-client"))
		return run_raw_client(path, calls, (size_t)size);
	usage();
}
