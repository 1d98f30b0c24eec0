/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-bench: the echo benchmark.
 *   ttrpc-bench server --socket PATH [--grpc-socket PATH2] [--grpc-tcp HOST:PORT]
 *   ttrpc-bench client --socket PATH --calls N --concurrency C --size BYTES
 *               [--connections K] [--grpc]   (--grpc: PATH is a gRPC socket)
 *   ttrpc-bench client --grpc-tcp HOST:PORT ...   (gRPC over TCP, h2c)
 *   ttrpc-bench client --mode download|upload|chat --socket PATH --calls N
 *               --size BYTES [--concurrency C]   (N messages over C streams)
 *   ttrpc-bench hold --socket PATH --connections K
 *   ttrpc-bench raw-server|raw-client ...: the same round trip without ttrpc
 * The server speaks ttrpc.bench.v1.Bench (bench/proto/bench.proto: Echo, and
 * the Download/Upload/Chat streams of docs/conformance.md); the unary
 * client keeps C calls in flight on each of K connections and prints one
 * line. hold opens K connections, makes one call on each, prints "held" and
 * keeps them open and idle until it is killed. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ttrpc/grpc.h>
#include <ttrpc/ttrpc.h>

#include "bench.ttrpc-c.h"

#define SERVICE "ttrpc.bench.v1.Bench"

/* --- the server: ttrpc.bench.v1.Bench through the generated stubs --- */

typedef Ttrpc__Bench__V1__EchoMessage echo_msg;

static void echo(ttrpc_call *call, const echo_msg *req, void *user)
{
	echo_msg out = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;

	(void)user;
	out.payload = req->payload;
	ttrpc_bench_v1_bench_echo_respond(call, &out);
}

/* One Download: message i of count carries the decimal text of i, or size
 * bytes when sized. Sent until the send queue is full, then from on_writable. */
struct download {
	unsigned long count, sent;
	size_t size;
	int sized;
	uint8_t *data;
};

static void download_free(ttrpc_call *call)
{
	struct download *d = ttrpc_call_user(call);

	ttrpc_call_set_user(call, NULL);
	if (d)
		free(d->data);
	free(d);
}

static void download_orphaned(ttrpc_call *call, void *user)
{
	(void)user;
	download_free(call);
	ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, "peer gone");
}

static void download_pump(ttrpc_call *call)
{
	struct download *d = ttrpc_call_user(call);
	echo_msg m = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	char text[24];
	int rc = 0;

	while (d->sent < d->count) {
		if (d->sized) {
			m.payload.data = d->data;
			m.payload.len = d->size;
		} else {
			m.payload.len = (size_t)snprintf(text, sizeof(text), "%lu", d->sent);
			m.payload.data = (uint8_t *)text;
		}
		rc = ttrpc_bench_v1_bench_download_send(call, &m);
		if (rc == TTRPC_EAGAIN)
			return; /* on_writable goes on */
		if (rc < 0)
			break;
		d->sent++;
	}
	download_free(call);
	if (rc < 0)
		ttrpc_call_finish(call, TTRPC_CODE_INTERNAL, "send: %s", ttrpc_strerror(rc));
	else
		ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

/* "COUNT" or "COUNT:SIZE", decimal, nothing else; empty is "1". */
static int parse_download(const ProtobufCBinaryData *p, struct download *d)
{
	char buf[48], *end;
	unsigned long long v;

	d->count = 1;
	if (p->len == 0)
		return 0;
	if (p->len >= sizeof(buf) || memchr(p->data, '\0', p->len))
		return -1;
	memcpy(buf, p->data, p->len);
	buf[p->len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || v > 1000000000ull)
		return -1;
	d->count = (unsigned long)v;
	if (*end == '\0')
		return 0;
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	v = strtoull(end + 1, &end, 10);
	if (errno || *end != '\0' || v > TTRPC_MAX_MESSAGE_SIZE - 16)
		return -1;
	d->size = (size_t)v;
	d->sized = 1;
	return 0;
}

static void download_open(ttrpc_call *call, const echo_msg *req, void *user)
{
	struct download *d = calloc(1, sizeof(*d));

	(void)user;
	if (!d || parse_download(&req->payload, d) < 0 || (d->sized && !(d->data = malloc(d->size ? d->size : 1)))) {
		int bad = d != NULL;

		free(d);
		ttrpc_call_finish(call, bad ? TTRPC_CODE_INVALID_ARGUMENT : TTRPC_CODE_RESOURCE_EXHAUSTED,
				  bad ? "Download wants COUNT or COUNT:SIZE" : "out of memory");
		return;
	}
	if (d->sized)
		memset(d->data, 0xab, d->size);
	ttrpc_call_set_user(call, d);
	ttrpc_call_on_orphan(call, download_orphaned, NULL);
	download_pump(call);
}

static void download_writable(ttrpc_call *call, void *user)
{
	(void)user;
	if (ttrpc_call_user(call))
		download_pump(call);
}

/* One Upload: what arrived so far. */
struct upload {
	unsigned long long messages, bytes;
};

static void upload_orphaned(ttrpc_call *call, void *user)
{
	(void)user;
	free(ttrpc_call_user(call));
	ttrpc_call_respond_error(call, TTRPC_CODE_CANCELLED, "peer gone");
}

static void upload_open(ttrpc_call *call, void *user)
{
	struct upload *u = calloc(1, sizeof(*u));

	(void)user;
	if (!u) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ttrpc_call_set_user(call, u);
	ttrpc_call_on_orphan(call, upload_orphaned, NULL);
}

static void upload_msg(ttrpc_call *call, const echo_msg *msg, void *user)
{
	struct upload *u = ttrpc_call_user(call);

	(void)user;
	if (!msg) {
		free(u);
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "bad EchoMessage");
		return;
	}
	u->messages++;
	u->bytes += msg->payload.len;
}

static void upload_close_send(ttrpc_call *call, void *user)
{
	struct upload *u = ttrpc_call_user(call);
	echo_msg out = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	char text[48];

	(void)user;
	out.payload.len = (size_t)snprintf(text, sizeof(text), "%llu:%llu", u->messages, u->bytes);
	out.payload.data = (uint8_t *)text;
	free(u);
	ttrpc_bench_v1_bench_upload_respond(call, &out);
}

/* One Chat: a message that met a full send queue waits here, with the
 * stream paused, until on_writable. */
struct chat {
	echo_msg held;
	uint8_t *data;
	int holding;
};

static void chat_free(ttrpc_call *call)
{
	struct chat *ch = ttrpc_call_user(call);

	ttrpc_call_set_user(call, NULL);
	if (ch)
		free(ch->data);
	free(ch);
}

static void chat_orphaned(ttrpc_call *call, void *user)
{
	(void)user;
	chat_free(call);
	ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, "peer gone");
}

static void chat_open(ttrpc_call *call, void *user)
{
	struct chat *ch = calloc(1, sizeof(*ch));

	(void)user;
	if (!ch) {
		ttrpc_call_finish(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ttrpc_call_set_user(call, ch);
	ttrpc_call_on_orphan(call, chat_orphaned, NULL);
}

static void chat_fail(ttrpc_call *call, int code, const char *what)
{
	chat_free(call);
	ttrpc_call_finish(call, code, "%s", what);
}

static void chat_msg(ttrpc_call *call, const echo_msg *msg, void *user)
{
	struct chat *ch = ttrpc_call_user(call);
	int rc;

	(void)user;
	if (!msg) {
		chat_fail(call, TTRPC_CODE_INVALID_ARGUMENT, "bad EchoMessage");
		return;
	}
	rc = ttrpc_bench_v1_bench_chat_send(call, msg);
	if (rc == TTRPC_EAGAIN) {
		/* paused, so no second message comes before on_writable */
		ch->data = malloc(msg->payload.len ? msg->payload.len : 1);
		if (!ch->data) {
			chat_fail(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		if (msg->payload.len)
			memcpy(ch->data, msg->payload.data, msg->payload.len);
		ch->held = *msg;
		ch->held.payload.data = ch->data;
		ch->holding = 1;
		ttrpc_call_pause(call, true);
	} else if (rc < 0) {
		chat_fail(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc));
	}
}

static void chat_writable(ttrpc_call *call, void *user)
{
	struct chat *ch = ttrpc_call_user(call);
	int rc;

	(void)user;
	if (!ch || !ch->holding)
		return;
	rc = ttrpc_bench_v1_bench_chat_send(call, &ch->held);
	if (rc == TTRPC_EAGAIN)
		return;
	if (rc < 0) {
		chat_fail(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc));
		return;
	}
	free(ch->data);
	ch->data = NULL;
	ch->holding = 0;
	ttrpc_call_pause(call, false);
}

static void chat_close_send(ttrpc_call *call, void *user)
{
	(void)user;
	/* never while a message is held: libttrpc delivers close-send after
	 * every message, and not to a paused stream */
	chat_free(call);
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
}

static const struct ttrpc_bench_v1_bench_handlers bench_handlers = {
	.echo = echo,
	.download = { .on_open = download_open, .on_writable = download_writable },
	.upload = { .on_open = upload_open, .on_msg = upload_msg, .on_close_send = upload_close_send },
	.chat = { .on_open = chat_open,
		  .on_msg = chat_msg,
		  .on_close_send = chat_close_send,
		  .on_writable = chat_writable },
};

static const struct ttrpc_bench_v1_bench_service bench_service = { &bench_handlers, NULL };

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ALL);
}

/* gRPC listeners of the server (the same registration serves both) and the
 * client's gRPC target; NULL: ttrpc only. */
static const char *grpc_socket, *grpc_tcp, *grpc_target;

static int run_server(const char *path)
{
	struct ev_loop *loop = EV_DEFAULT;
	ttrpc_server *s = ttrpc_server_new(loop);
	int rc = ttrpc_bench_v1_bench_register(s, &bench_service);
	const char *what = path;
	char target[256];
	if (rc == 0)
		rc = ttrpc_server_listen(s, path);
	if (rc == 0 && grpc_socket) {
		snprintf(target, sizeof(target), "unix:%s", grpc_socket);
		what = grpc_socket;
		rc = ttrpc_server_listen_grpc(s, target, NULL);
	}
	if (rc == 0 && grpc_tcp) {
		what = grpc_tcp;
		rc = ttrpc_server_listen_grpc(s, grpc_tcp, NULL);
	}
	if (rc) {
		fprintf(stderr, "ttrpc-bench: listen %s: %s\n", what, ttrpc_strerror(rc));
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
	uint8_t *req;
	size_t req_len;
	size_t size;
	long calls, started, done, failed;
	int one_per_slot; /* hold: each slot makes one call and stops */
	int64_t *latency_ns;
};

struct slot {
	struct bench *b;
	ttrpc_client *client;
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
	if (!b->one_per_slot && b->started < b->calls)
		start_one(sl);
	else
		free(sl);
}

static void start_one(struct slot *sl)
{
	struct bench *b = sl->b;
	sl->start = ttrpc_now_ns();
	b->started++;
	int rc = ttrpc_client_call(sl->client, SERVICE, "Echo", b->req, b->req_len, NULL, call_done, sl);
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

/* Enough descriptors for thousands of connections (the soft limit is 1024). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static ttrpc_client **connect_all(struct ev_loop *loop, const char *path, long connections)
{
	ttrpc_client **clients = calloc((size_t)connections, sizeof(*clients));
	for (long i = 0; i < connections; i++) {
		int err;
		clients[i] = grpc_target ? ttrpc_client_connect_grpc(loop, grpc_target, NULL, &err) :
					   ttrpc_client_connect(loop, path, &err);
		if (!clients[i]) {
			fprintf(stderr, "ttrpc-bench: connect %s (#%ld): %s (%s)\n", path, i, ttrpc_strerror(err),
				strerror(errno));
			exit(1);
		}
	}
	return clients;
}

static int all_connected(ttrpc_client **clients, long connections)
{
	for (long i = 0; i < connections; i++)
		if (!ttrpc_client_connected(clients[i]))
			return 0;
	return 1;
}

/* One result line, the same for every client mode and peer (run.sh parses it). */
static void print_result(long calls, long concurrency, long connections, size_t size, double secs, int64_t *lat,
			 long failed)
{
	qsort(lat, (size_t)calls, sizeof(int64_t), cmp_i64);
	double sum = 0;
	for (long i = 0; i < calls; i++)
		sum += (double)lat[i];
	long p50 = calls / 2, p99 = (long)((double)calls * 0.99);
	if (p99 >= calls)
		p99 = calls - 1;
	printf("calls=%ld concurrency=%ld connections=%ld size=%zu calls/s=%.0f mean_us=%.2f p50_us=%.2f "
	       "p99_us=%.2f MB/s=%.1f failed=%ld\n",
	       calls, concurrency, connections, size, (double)calls / secs, sum / (double)calls / 1e3,
	       (double)lat[p50] / 1e3, (double)lat[p99] / 1e3, 2.0 * (double)size * (double)calls / secs / 1e6, failed);
}

static int run_client(const char *path, long calls, long concurrency, long connections, size_t size)
{
	struct ev_loop *loop = EV_DEFAULT;
	struct bench b = { .calls = calls, .size = size };
	raise_fd_limit();
	ttrpc_client **clients = connect_all(loop, path, connections);
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
	for (long i = 0; i < concurrency * connections && i < calls; i++) {
		struct slot *sl = malloc(sizeof(*sl));
		sl->b = &b;
		sl->client = clients[i % connections];
		start_one(sl);
	}
	while (b.done < calls && all_connected(clients, connections))
		ev_run(loop, EVRUN_ONCE);
	double secs = (double)(ttrpc_now_ns() - t0) / 1e9;
	if (b.done < calls) {
		fprintf(stderr, "ttrpc-bench: connection lost after %ld calls\n", b.done);
		return 1;
	}
	print_result(calls, concurrency, connections, size, secs, b.latency_ns, b.failed);
	for (long i = 0; i < connections; i++)
		ttrpc_client_free(clients[i]);
	free(clients);
	free(b.latency_ns);
	free(b.req);
	free(payload);
	return b.failed ? 1 : 0;
}

/* --- client stream modes: download, upload, chat ---
 * calls messages in all, split over concurrency streams on one connection,
 * each message size bytes. One line: messages/s and MB/s (payload bytes;
 * chat counts both directions, as unary mode does), failed= the messages
 * that did not arrive intact plus the streams that did not end OK. */

enum stream_mode {
	MODE_UNARY,
	MODE_DOWNLOAD,
	MODE_UPLOAD,
	MODE_CHAT
};

#define CHAT_WINDOW 64 /* messages a chat stream keeps in flight */

struct sbench {
	enum stream_mode mode;
	size_t size;
	long streams, streams_done, failed;
	echo_msg msg; /* what upload and chat send */
};

struct sstream {
	struct sbench *b;
	ttrpc_stream *st;
	long count; /* messages this stream carries */
	long sent, received;
	int closed;
};

static void sstream_fail(struct sstream *ss, const char *what)
{
	if (ss->b->failed++ == 0)
		fprintf(stderr, "ttrpc-bench: %s\n", what);
}

static void sstream_end(struct sstream *ss, const struct ttrpc_result *status)
{
	if (status->code != TTRPC_CODE_OK) {
		char what[256];

		snprintf(what, sizeof(what), "stream failed: %s: %s", ttrpc_code_name(status->code), status->message);
		sstream_fail(ss, what);
	}
	if (ss->received < ss->count && ss->b->mode != MODE_UPLOAD) {
		ss->b->failed += ss->count - ss->received;
		sstream_fail(ss, "messages missing");
	}
	ss->b->streams_done++;
}

static void sstream_got(ttrpc_stream *st, const echo_msg *msg, void *user);

/* Upload and chat: send what the stream may (chat: CHAT_WINDOW ahead of the
 * echoes), then close the sending side after the last message. */
static void sstream_pump(struct sstream *ss)
{
	while (ss->sent < ss->count && (ss->b->mode != MODE_CHAT || ss->sent - ss->received < CHAT_WINDOW)) {
		int rc = ss->b->mode == MODE_CHAT ? ttrpc_bench_v1_bench_chat_stream_send(ss->st, &ss->b->msg) :
						    ttrpc_bench_v1_bench_upload_stream_send(ss->st, &ss->b->msg);
		if (rc == TTRPC_EAGAIN)
			return; /* on_writable */
		if (rc < 0) {
			sstream_fail(ss, ttrpc_strerror(rc));
			ss->count = ss->sent; /* close now; the end reports what is missing */
			break;
		}
		ss->sent++;
	}
	if (ss->sent == ss->count && !ss->closed) {
		ss->closed = 1;
		ttrpc_stream_close_send(ss->st);
	}
}

static void sstream_got(ttrpc_stream *st, const echo_msg *msg, void *user)
{
	struct sstream *ss = user;

	(void)st;
	if (!msg || msg->payload.len != ss->b->size)
		sstream_fail(ss, "a message was not intact");
	ss->received++;
	if (ss->b->mode == MODE_CHAT)
		sstream_pump(ss);
}

static void sstream_done(ttrpc_stream *st, const struct ttrpc_result *status, void *user)
{
	(void)st;
	sstream_end(user, status);
}

static void sstream_writable(ttrpc_stream *st, void *user)
{
	(void)st;
	sstream_pump(user);
}

static void upload_done(ttrpc_stream *st, const struct ttrpc_result *status, const echo_msg *resp, void *user)
{
	struct sstream *ss = user;
	char want[64];
	size_t n;

	(void)st;
	n = (size_t)snprintf(want, sizeof(want), "%ld:%llu", ss->sent, (unsigned long long)ss->sent * ss->b->size);
	if (status->code == TTRPC_CODE_OK) {
		if (!resp || resp->payload.len != n || memcmp(resp->payload.data, want, n) != 0)
			sstream_fail(ss, "Upload summary is not what was sent");
		else
			ss->received = ss->sent;
	}
	if (ss->received < ss->count)
		ss->b->failed += ss->count - ss->received;
	sstream_end(ss, status);
}

static const struct ttrpc_bench_v1_bench_download_stream_cbs download_cbs = { sstream_got, sstream_done };
static const struct ttrpc_bench_v1_bench_upload_stream_cbs upload_cbs = { upload_done, sstream_writable };
static const struct ttrpc_bench_v1_bench_chat_stream_cbs chat_cbs = { sstream_got, sstream_done, sstream_writable };

static int sstream_open(struct sstream *ss, ttrpc_client *client)
{
	echo_msg req = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	char spec[64];

	switch (ss->b->mode) {
	case MODE_DOWNLOAD:
		req.payload.len = (size_t)snprintf(spec, sizeof(spec), "%ld:%zu", ss->count, ss->b->size);
		req.payload.data = (uint8_t *)spec;
		return ttrpc_bench_v1_bench_download_open(client, &req, NULL, &download_cbs, ss, &ss->st);
	case MODE_UPLOAD:
		return ttrpc_bench_v1_bench_upload_open(client, NULL, &upload_cbs, ss, &ss->st);
	default:
		return ttrpc_bench_v1_bench_chat_open(client, NULL, &chat_cbs, ss, &ss->st);
	}
}

static int run_stream_client(const char *path, enum stream_mode mode, const char *name, long messages, long concurrency,
			     size_t size)
{
	struct ev_loop *loop = EV_DEFAULT;
	struct sbench b = { .mode = mode, .size = size, .streams = concurrency < messages ? concurrency : messages };
	ttrpc_client **clients = connect_all(loop, path, 1);
	struct sstream *ss = calloc((size_t)b.streams, sizeof(*ss));
	uint8_t *payload = malloc(size ? size : 1);

	echo_msg init = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;

	memset(payload, 0xab, size);
	b.msg = init;
	b.msg.payload.data = payload;
	b.msg.payload.len = size;
	int64_t t0 = ttrpc_now_ns();
	for (long i = 0; i < b.streams; i++) {
		ss[i].b = &b;
		ss[i].count = messages / b.streams + (i < messages % b.streams);
		int rc = sstream_open(&ss[i], clients[0]);
		if (rc) {
			fprintf(stderr, "ttrpc-bench: open %s stream: %s\n", name, ttrpc_strerror(rc));
			return 1;
		}
		if (mode != MODE_DOWNLOAD)
			sstream_pump(&ss[i]);
	}
	while (b.streams_done < b.streams && ttrpc_client_connected(clients[0]))
		ev_run(loop, EVRUN_ONCE);
	double secs = (double)(ttrpc_now_ns() - t0) / 1e9;
	if (b.streams_done < b.streams) {
		fprintf(stderr, "ttrpc-bench: connection lost after %ld of %ld streams\n", b.streams_done, b.streams);
		return 1;
	}
	printf("mode=%s messages=%ld concurrency=%ld connections=1 size=%zu messages/s=%.0f MB/s=%.1f failed=%ld\n",
	       name, messages, b.streams, size, (double)messages / secs,
	       (mode == MODE_CHAT ? 2.0 : 1.0) * (double)size * (double)messages / secs / 1e6, b.failed);
	ttrpc_client_free(clients[0]);
	free(clients);
	free(ss);
	free(payload);
	return b.failed ? 1 : 0;
}

/* Idle connections for the server's memory: each has served one call, so the
 * server has set up everything a connection needs, then nothing more. */
static int run_hold(const char *path, long connections)
{
	struct ev_loop *loop = EV_DEFAULT;
	raise_fd_limit();
	ttrpc_client **clients = connect_all(loop, path, connections);
	struct bench b = { .calls = connections, .size = 0, .one_per_slot = 1 };
	Ttrpc__Bench__V1__EchoMessage m = TTRPC__BENCH__V1__ECHO_MESSAGE__INIT;
	b.req_len = ttrpc__bench__v1__echo_message__get_packed_size(&m);
	b.req = malloc(b.req_len ? b.req_len : 1);
	ttrpc__bench__v1__echo_message__pack(&m, b.req);
	b.latency_ns = calloc((size_t)connections, sizeof(int64_t));
	for (long i = 0; i < connections; i++) {
		struct slot *sl = malloc(sizeof(*sl));
		sl->b = &b;
		sl->client = clients[i];
		start_one(sl);
	}
	while (b.done < connections && all_connected(clients, connections))
		ev_run(loop, EVRUN_ONCE);
	if (b.done < connections || b.failed) {
		fprintf(stderr, "ttrpc-bench: hold: %ld of %ld calls answered, %ld failed\n", b.done, connections,
			b.failed);
		return 1;
	}
	printf("held %ld\n", connections);
	fflush(stdout);
	for (;;)
		pause();
}

/* --- raw echo: the physical limit of a round trip on a unix socket ---
 * A 4-byte length then the bytes; the server writes back every byte it reads
 * (one read, one write), so nothing but the kernel is between the two. The
 * client sends each message with one write; with C > 1 it keeps C in flight,
 * batching what the window allows into one write, and reads what has come.
 * No ttrpc, no protobuf: what ttrpc adds on top is the difference. */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
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
	size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);
	for (int fd; (fd = accept(lfd, NULL, NULL)) >= 0; close(fd)) {
		ssize_t n;
		while ((n = read(fd, buf, cap)) > 0 && write_all(fd, buf, (size_t)n) == 0)
			;
	}
	free(buf);
	return 0;
}

struct raw_client {
	int fd;
	size_t msg_len; /* 4 + size */
	uint8_t *out;	/* window * msg_len bytes of ready messages */
	size_t out_off, out_len;
	uint8_t *in;
	size_t in_len;
};

/* Sends what the window allows; returns -1 on a dead socket. */
static int raw_flush(struct raw_client *rc)
{
	while (rc->out_off < rc->out_len) {
		ssize_t n = write(rc->fd, rc->out + rc->out_off, rc->out_len - rc->out_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		rc->out_off += (size_t)n;
	}
	rc->out_off = rc->out_len = 0;
	return 0;
}

static int run_raw_client(const char *path, long calls, long concurrency, size_t size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	/* Blocking (no poll per round trip) only where one message fits in the
	 * socket buffers: a larger write would wait for our own read. */
	int blocking = concurrency == 1 && size <= 64 * 1024;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "ttrpc-bench: raw connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct raw_client rc = { .fd = fd, .msg_len = 4 + size };
	rc.out = calloc((size_t)concurrency, rc.msg_len);
	rc.in = malloc(rc.msg_len * (size_t)concurrency);
	uint32_t len = (uint32_t)size;
	int64_t *lat = calloc((size_t)calls, sizeof(int64_t));
	int64_t *start_ns = calloc((size_t)calls, sizeof(int64_t));
	long sent = 0, done = 0;
	int64_t t0 = ttrpc_now_ns();
	while (done < calls) {
		if (rc.out_len == 0) { /* refill: one message per free slot of the window */
			while (sent < calls && sent - done < concurrency) {
				memcpy(rc.out + rc.out_len, &len, sizeof(len));
				rc.out_len += rc.msg_len;
				start_ns[sent++] = ttrpc_now_ns();
			}
		}
		if (raw_flush(&rc))
			break;
		ssize_t n = read(fd, rc.in + rc.in_len, rc.msg_len * (size_t)concurrency - rc.in_len);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN | (rc.out_len ? POLLOUT : 0) };
			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			break;
		rc.in_len += (size_t)n;
		size_t whole = rc.in_len / rc.msg_len;
		int64_t now = ttrpc_now_ns();
		for (size_t i = 0; i < whole; i++, done++)
			lat[done] = now - start_ns[done];
		memmove(rc.in, rc.in + whole * rc.msg_len, rc.in_len - whole * rc.msg_len);
		rc.in_len -= whole * rc.msg_len;
	}
	double secs = (double)(ttrpc_now_ns() - t0) / 1e9;
	if (done < calls) {
		fprintf(stderr, "ttrpc-bench: raw echo lost after %ld round trips\n", done);
		return 1;
	}
	print_result(calls, concurrency, 1, size, secs, lat, 0);
	free(start_ns);
	free(lat);
	free(rc.in);
	free(rc.out);
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ttrpc-bench server --socket PATH [--grpc-socket PATH2] [--grpc-tcp HOST:PORT]\n"
			"       ttrpc-bench client --socket PATH [--calls N] [--concurrency C] [--size BYTES]\n"
			"                          [--connections K]   (C in flight on each of K connections)\n"
			"                          [--grpc]   (PATH is a gRPC socket) | --grpc-tcp HOST:PORT\n"
			"       ttrpc-bench client --mode download|upload|chat --socket PATH [--calls N]\n"
			"                          [--size BYTES] [--concurrency C]   (N messages over C streams)\n"
			"       ttrpc-bench hold --socket PATH --connections K   (K idle connections until killed)\n"
			"       ttrpc-bench raw-server --socket PATH   (length-prefixed echo, no ttrpc)\n"
			"       ttrpc-bench raw-client --socket PATH [--calls N] [--concurrency C] [--size BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	const char *path = NULL;
	long calls = 10000, concurrency = 1, connections = 1, size = 0;
	const char *mode_name = "unary";
	bool use_grpc = false;
	enum stream_mode smode;
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "calls", required_argument, NULL, 'n' },
					      { "concurrency", required_argument, NULL, 'c' },
					      { "size", required_argument, NULL, 'z' },
					      { "connections", required_argument, NULL, 'k' },
					      { "mode", required_argument, NULL, 'm' },
					      { "grpc", no_argument, NULL, 'g' },
					      { "grpc-socket", required_argument, NULL, 'G' },
					      { "grpc-tcp", required_argument, NULL, 'T' },
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
		case 'k':
			connections = atol(optarg);
			break;
		case 'm':
			mode_name = optarg;
			break;
		case 'g':
			use_grpc = true;
			break;
		case 'G':
			grpc_socket = optarg;
			break;
		case 'T':
			grpc_tcp = optarg;
			break;
		default:
			usage();
		}
	}
	bool server = !strcmp(mode, "server");
	static char unix_target[256];
	if (!server && use_grpc && path) {
		snprintf(unix_target, sizeof(unix_target), "unix:%s", path);
		grpc_target = unix_target;
	} else if (!server && grpc_tcp) {
		grpc_target = grpc_tcp;
		path = grpc_tcp; /* for messages */
	}
	if (!path || calls < 1 || concurrency < 1 || connections < 1 || size < 0 ||
	    size > (long)TTRPC_MAX_MESSAGE_SIZE - 64)
		usage();
	if (server)
		return run_server(path);
	if (!strcmp(mode_name, "unary"))
		smode = MODE_UNARY;
	else if (!strcmp(mode_name, "download"))
		smode = MODE_DOWNLOAD;
	else if (!strcmp(mode_name, "upload"))
		smode = MODE_UPLOAD;
	else if (!strcmp(mode_name, "chat"))
		smode = MODE_CHAT;
	else
		usage();
	if (!strcmp(mode, "client") && smode != MODE_UNARY)
		return run_stream_client(path, smode, mode_name, calls, concurrency, (size_t)size);
	if (!strcmp(mode, "client"))
		return run_client(path, calls, concurrency, connections, (size_t)size);
	if (!strcmp(mode, "hold"))
		return run_hold(path, connections);
	if (!strcmp(mode, "raw-server"))
		return run_raw_server(path);
	if (!strcmp(mode, "raw-client"))
		return run_raw_client(path, calls, concurrency, (size_t)size);
	usage();
}
