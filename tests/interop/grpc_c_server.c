/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-grpc-c-server --socket PATH --grpc-socket PATH [--grpc-tcp HOST:PORT]
 *     [--tls-cert PEM --tls-key PEM [--grpc-tls HOST:PORT]
 *      [--tls-client-ca PEM --grpc-mtls HOST:PORT]]
 * The interop.Echo service of python_grpc_peer.py, registered once on a
 * ttrpc_server and served on ttrpc and gRPC listeners (--grpc-tls: TLS,
 * --grpc-mtls: mutual TLS with client certificates of --tls-client-ca).
 * Prints "port N" (the gRPC TCP port), "tls-port N", "mtls-port N" and
 * "ready". SIGTERM: graceful shutdown, exit 0.
 * Methods: Echo, Fail ("CODE:message"), Metadata ("key=value\n", -bin values
 * in hex), Deadline ("none" or seconds left), Peer ("pid uid" or "none"),
 * Sleep (milliseconds, then "slept"; on_orphan counted), Size (N bytes),
 * ResponseMetadata ("CODE": headers x-h=head, x-h-bin=01 02 ff and trailers
 * x-t=tail, x-t-bin=fe 80, then OK "set, reserved refused" or that code).
 * Streams: Download ("COUNT SIZE [CODE]": COUNT messages of SIZE bytes, byte
 * j of message i being (i + j) & 0xff, sent as the send window allows, then
 * CODE or OK), Upload (answers "MESSAGES BYTES CHECKSUM" at close-send, the
 * checksum being the sum over messages of position (from 1) times byte sum;
 * --slow: it pauses 2 ms after every 8th message), Chat (echoes each
 * message, pausing while its send queue is full; OK at close-send), Hold
 * (pauses at once and never resumes: its receive bound must fail it),
 * Orphans (unary: "ORPHANED CONGESTED", how many streams were orphaned and
 * how many sends got TTRPC_EAGAIN so far).
 * --stream-buffer N sets the server's per-stream receive bound. */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ttrpc/grpc.h>
#include <ttrpc/server.h>
#include <ttrpc/stream.h>

#define SVC "interop.Echo"

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	ttrpc_call_respond(call, req, len);
}

static void fail(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[512];
	snprintf(buf, sizeof(buf), "%.*s", (int)len, (const char *)req);
	char *colon = strchr(buf, ':');
	ttrpc_call_respond_error(call, atoi(buf), "%s", colon ? colon + 1 : "");
}

static void metadata(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	const ttrpc_md *md = ttrpc_call_metadata(call);
	size_t cap = 64, n = 0;
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		cap += strlen(k) + 2 * strlen(v) + 2;
	}
	char *out = malloc(cap);
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		size_t kl = strlen(k);
		n += (size_t)sprintf(out + n, "%s=", k);
		if (kl > 4 && !strcmp(k + kl - 4, "-bin"))
			for (const unsigned char *p = (const unsigned char *)v; *p; p++)
				n += (size_t)sprintf(out + n, "%02x", *p);
		else
			n += (size_t)sprintf(out + n, "%s", v);
		out[n++] = '\n';
	}
	ttrpc_call_respond(call, (uint8_t *)out, n);
	free(out);
}

static void deadline(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	char buf[64] = "none";
	int64_t d = ttrpc_call_deadline_ns(call);
	if (d)
		snprintf(buf, sizeof(buf), "%.3f", (double)(d - ttrpc_now_ns()) / 1e9);
	ttrpc_call_respond(call, (uint8_t *)buf, strlen(buf));
}

static void peer(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	char buf[64] = "none";
	pid_t pid;
	uid_t uid;
	if (ttrpc_call_peer(call, &pid, &uid, NULL) == 0)
		snprintf(buf, sizeof(buf), "%d %d", (int)pid, (int)uid);
	ttrpc_call_respond(call, (uint8_t *)buf, strlen(buf));
}

struct sleeper {
	ev_timer t;
	ttrpc_call *call;
};

static struct ev_loop *loop;

static void woke(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	struct sleeper *s = (struct sleeper *)w;
	ttrpc_call_respond(s->call, (const uint8_t *)"slept", 5);
	free(s);
}

static void orphaned(ttrpc_call *call, void *user)
{
	(void)call;
	struct sleeper *s = user;
	/* the client went: answer now (dropped), no need to wait */
	ev_timer_stop(loop, &s->t);
	ttrpc_call_respond(s->call, NULL, 0);
	free(s);
}

static void sleep_ms(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[32];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), (const char *)req);
	struct sleeper *s = calloc(1, sizeof(*s));
	s->call = call;
	ev_timer_init(&s->t, woke, atoi(buf) / 1000.0, 0.);
	ev_timer_start(loop, &s->t);
	ttrpc_call_on_orphan(call, orphaned, s);
}

static void size(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[32];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), (const char *)req);
	size_t n = strtoul(buf, NULL, 10);
	uint8_t *out = malloc(n + 1);
	memset(out, 'z', n);
	ttrpc_call_respond(call, out, n);
	free(out);
}

static void response_md(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	char buf[16];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 15 ? len : 15), (const char *)req);
	ttrpc_md *h = ttrpc_md_new(), *t = ttrpc_md_new(), *bad = ttrpc_md_new();
	ttrpc_md_add(h, "x-h", "head");
	ttrpc_md_add(h, "x-h-bin", "\x01\x02\xff");
	ttrpc_md_add(t, "x-t", "tail");
	ttrpc_md_add(t, "x-t-bin", "\xfe\x80");
	ttrpc_md_add(bad, "grpc-status", "0");
	bool refused = ttrpc_call_set_response_md(call, NULL, bad) == TTRPC_EINVAL;
	int rc = ttrpc_call_set_response_md(call, h, t);
	ttrpc_md_free(h);
	ttrpc_md_free(t);
	ttrpc_md_free(bad);
	int code = atoi(buf);
	if (rc || !refused)
		ttrpc_call_respond_error(call, TTRPC_CODE_INTERNAL, "set_response_md: %d, reserved %s", rc,
					 refused ? "refused" : "accepted");
	else if (code)
		ttrpc_call_respond_error(call, code, "as asked");
	else
		ttrpc_call_respond(call, (const uint8_t *)"set, reserved refused", 21);
}

/* ---- streams */

static int orphans, congested;
static bool slow;

struct dl {
	ttrpc_call *call;
	unsigned count, size, sent;
	int code;
	uint8_t *buf;
};

static void dl_free(struct dl *d)
{
	free(d->buf);
	free(d);
}

static void dl_pump(ttrpc_call *call, void *user)
{
	(void)user;
	struct dl *d = ttrpc_call_user(call);
	while (d->sent < d->count) {
		for (unsigned j = 0; j < d->size; j++)
			d->buf[j] = (uint8_t)(d->sent + j);
		int rc = ttrpc_call_send(call, d->buf, d->size);
		if (rc == TTRPC_EAGAIN) {
			congested++;
			return; /* on_writable calls again */
		}
		if (rc) {
			ttrpc_call_finish(call, TTRPC_CODE_INTERNAL, "send: %s", ttrpc_strerror(rc));
			dl_free(d);
			return;
		}
		d->sent++;
	}
	if (d->code)
		ttrpc_call_finish(call, d->code, "after %u messages", d->sent);
	else
		ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
	dl_free(d);
}

struct up {
	uint64_t msgs, bytes, sum;
	ev_timer t;
	ttrpc_call *call;
	uint8_t *pending; /* Chat: the echo the send queue refused */
	size_t pending_len;
	bool has_pending;
};

static void stream_orphaned(ttrpc_call *call, void *user)
{
	(void)user;
	orphans++;
	void *d = ttrpc_call_user(call);
	ttrpc_call_finish(call, TTRPC_CODE_CANCELLED, "orphaned");
	if (ttrpc_call_kind(call) == TTRPC_KIND_SERVER_STREAM) {
		dl_free(d);
		return;
	}
	struct up *u = d;
	ev_timer_stop(loop, &u->t);
	free(u->pending);
	free(u);
}

static void dl_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 63 ? len : 63), (const char *)req);
	struct dl *d = calloc(1, sizeof(*d));
	sscanf(buf, "%u %u %d", &d->count, &d->size, &d->code);
	d->buf = malloc(d->size + 1);
	d->call = call;
	ttrpc_call_set_user(call, d);
	ttrpc_call_on_orphan(call, stream_orphaned, NULL);
	dl_pump(call, user);
}

static void up_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	struct up *u = calloc(1, sizeof(*u));
	u->call = call;
	ttrpc_call_set_user(call, u);
	ttrpc_call_on_orphan(call, stream_orphaned, NULL);
}

static void up_resume(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	struct up *u = w->data;
	ttrpc_call_pause(u->call, false);
}

static void up_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	u->msgs++;
	u->bytes += len;
	uint64_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += msg[i];
	u->sum += u->msgs * sum; /* the position counts: a reordering shows */
	if (slow && u->msgs % 8 == 0) {
		ttrpc_call_pause(call, true);
		ev_timer_init(&u->t, up_resume, 0.002, 0.);
		u->t.data = u;
		ev_timer_start(loop, &u->t);
	}
}

static void up_close(ttrpc_call *call, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%llu %llu %llu", (unsigned long long)u->msgs, (unsigned long long)u->bytes,
			 (unsigned long long)u->sum);
	ev_timer_stop(loop, &u->t);
	ttrpc_call_respond(call, (const uint8_t *)buf, (size_t)n);
	free(u);
}

static void chat_msg(ttrpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	int rc = ttrpc_call_send(call, msg, len);
	if (rc == TTRPC_EAGAIN) { /* keep it, take no more until the queue drains */
		congested++;
		u->pending = malloc(len + 1);
		memcpy(u->pending, msg, len);
		u->pending_len = len;
		u->has_pending = true;
		ttrpc_call_pause(call, true);
	} else if (rc) {
		ttrpc_call_finish(call, TTRPC_CODE_INTERNAL, "send: %s", ttrpc_strerror(rc));
		free(u);
	}
}

static void chat_writable(ttrpc_call *call, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	if (!u->has_pending)
		return;
	int rc = ttrpc_call_send(call, u->pending, u->pending_len);
	if (rc == TTRPC_EAGAIN)
		return;
	free(u->pending);
	u->pending = NULL;
	u->has_pending = false;
	ttrpc_call_pause(call, false);
}

static void chat_close(ttrpc_call *call, void *user)
{
	(void)user;
	struct up *u = ttrpc_call_user(call);
	ttrpc_call_finish(call, TTRPC_CODE_OK, NULL);
	free(u->pending);
	free(u);
}

static void hold_open(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	up_open(call, req, len, user);
	ttrpc_call_pause(call, true);
}

static void count_orphans(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d %d", orphans, congested);
	ttrpc_call_respond(call, (const uint8_t *)buf, (size_t)n);
}

static ttrpc_server *server;
static ev_signal sigterm;

static void shutdown_done(ttrpc_server *s, void *user)
{
	(void)s;
	(void)user;
	ev_break(loop, EVBREAK_ALL);
}

static void on_term(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)revents;
	ev_signal_stop(l, w);
	ttrpc_server_shutdown(server, 5.0, shutdown_done, NULL);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *gsock = NULL, *gtcp = NULL, *gtls = NULL, *gmtls = NULL;
	size_t stream_buffer = 0;
	struct ttrpc_grpc_tls tls = { 0 }, mtls = { 0 };
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--slow"))
			slow = true;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--slow"))
			i--;
		else if (!strcmp(argv[i], "--stream-buffer"))
			stream_buffer = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--socket"))
			sock = argv[i + 1];
		else if (!strcmp(argv[i], "--grpc-socket"))
			gsock = argv[i + 1];
		else if (!strcmp(argv[i], "--grpc-tcp"))
			gtcp = argv[i + 1];
		else if (!strcmp(argv[i], "--grpc-tls"))
			gtls = argv[i + 1];
		else if (!strcmp(argv[i], "--grpc-mtls"))
			gmtls = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-cert"))
			tls.cert_file = mtls.cert_file = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-key"))
			tls.key_file = mtls.key_file = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-client-ca"))
			mtls.ca_file = argv[i + 1];
	}
	if (!sock || !gsock) {
		fprintf(stderr, "usage: %s --socket PATH --grpc-socket PATH [--grpc-tcp HOST:PORT]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(0);
	server = ttrpc_server_new(loop);
	ttrpc_server_register(server, SVC, "Echo", echo, NULL);
	ttrpc_server_register(server, SVC, "Fail", fail, NULL);
	ttrpc_server_register(server, SVC, "Metadata", metadata, NULL);
	ttrpc_server_register(server, SVC, "Deadline", deadline, NULL);
	ttrpc_server_register(server, SVC, "Peer", peer, NULL);
	ttrpc_server_register(server, SVC, "Sleep", sleep_ms, NULL);
	ttrpc_server_register(server, SVC, "Size", size, NULL);
	ttrpc_server_register(server, SVC, "ResponseMetadata", response_md, NULL);
	ttrpc_server_register(server, SVC, "Orphans", count_orphans, NULL);
	const struct ttrpc_stream_handler dl_h = { .kind = TTRPC_KIND_SERVER_STREAM,
						   .on_open = dl_open,
						   .on_writable = dl_pump };
	const struct ttrpc_stream_handler up_h = {
		.kind = TTRPC_KIND_CLIENT_STREAM, .on_open = up_open, .on_msg = up_msg, .on_close_send = up_close
	};
	const struct ttrpc_stream_handler hold_h = {
		.kind = TTRPC_KIND_CLIENT_STREAM, .on_open = hold_open, .on_msg = up_msg, .on_close_send = up_close
	};
	const struct ttrpc_stream_handler chat_h = { .kind = TTRPC_KIND_BIDI_STREAM,
						     .on_open = up_open,
						     .on_msg = chat_msg,
						     .on_close_send = chat_close,
						     .on_writable = chat_writable };
	ttrpc_server_register_stream(server, SVC, "Download", &dl_h, NULL);
	ttrpc_server_register_stream(server, SVC, "Upload", &up_h, NULL);
	ttrpc_server_register_stream(server, SVC, "Hold", &hold_h, NULL);
	ttrpc_server_register_stream(server, SVC, "Chat", &chat_h, NULL);
	if (stream_buffer)
		ttrpc_server_set_stream_buffer(server, stream_buffer);
	char target[256];
	snprintf(target, sizeof(target), "unix:%s", gsock);
	int port = 0, tls_port = 0, mtls_port = 0, rc;
	if ((rc = ttrpc_server_listen(server, sock)) || (rc = ttrpc_server_listen_grpc(server, target, NULL)) ||
	    (gtcp && (rc = ttrpc_server_listen_grpc(server, gtcp, &port))) ||
	    (gtls && (rc = ttrpc_server_listen_grpc_tls(server, gtls, &tls, &tls_port))) ||
	    (gmtls && (rc = ttrpc_server_listen_grpc_tls(server, gmtls, &mtls, &mtls_port)))) {
		fprintf(stderr, "listen: %s%s%s\n", ttrpc_strerror(rc), rc == TTRPC_ETLS ? ": " : "",
			rc == TTRPC_ETLS ? ttrpc_grpc_tls_error() : "");
		return 1;
	}
	ev_signal_init(&sigterm, on_term, SIGTERM);
	ev_signal_start(loop, &sigterm);
	printf("port %d\ntls-port %d\nmtls-port %d\nready\n", port, tls_port, mtls_port);
	fflush(stdout);
	ev_run(loop, 0);
	ttrpc_server_free(server);
	ev_loop_destroy(loop);
	return 0;
}
