/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC server connections on nghttp2 server sessions: every request stream
 * becomes an ordinary ttrpc_call of the ttrpc_server (server.c's ext hooks),
 * answered with response HEADERS, length-prefixed messages and trailers
 * (grpc-status, grpc-message), or trailers-only for errors before any
 * message. Unary and server-streaming calls open once their one request
 * message and END_STREAM are in; client and bidi streams open at their
 * request HEADERS, each message goes to the call as it completes and
 * END_STREAM is their close-send. HTTP/2 flow control is the backpressure: a
 * request's bytes are acknowledged (WINDOW_UPDATE) only once they are handed
 * to the handler (a paused stream's are not, until it takes them); what a
 * handler sends waits in the stream's queue until the peer's window lets
 * nghttp2 take it (the call is congested at TTRPC_STREAM_SEND_WINDOW). */
#include "grpc_server.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ttrpc/grpc.h>
#include <unistd.h>

#include "call.h"
#include "conn.h"
#include "grpc_conn.h"
#include "grpc_tls.h"
#include "grpc_wire.h"

#define STREAM_WINDOW_SLACK (64u << 10)
#define CONN_WINDOW (16u << 20)
#define ACCEPT_BATCH 64

struct glistener {
	ev_io io;
	struct ttrpc__grpc_server *g;
	char *path;   /* unix: unlinked on close */
	SSL_CTX *tls; /* set: every connection speaks TLS */
	struct glistener *next;
};

struct gconn {
	struct ttrpc__h2conn h; /* first */
	struct ttrpc__grpc_server *g;
	struct gconn *prev, *next;
	struct ucred cred;
	bool have_cred;
	bool goaway_sent;
	struct gstream *streams; /* freed with the conn once it is closed */
	ev_timer wake;		 /* on_writable of streams whose queue drained */
};

struct gstream {
	struct gconn *conn;
	struct gstream *prev, *next;
	int32_t stream_id;
	char *path;
	bool post, content_type_ok, encoding_bad, timeout_bad, headers_too_big, remote_closed;
	char *encoding;
	int64_t timeout_ns;
	size_t header_bytes;
	struct ttrpc_md md;
	struct ttrpc__grpc_reader reader;
	uint8_t *req;
	size_t req_len;
	int n_msgs;
	size_t unconsumed; /* DATA bytes not yet acknowledged to the peer */
	bool dispatched, answered;
	bool streaming;				/* client or bidi: opened at the request headers */
	bool overrun;				/* the call's receive bound was exceeded */
	ttrpc_call *call;			/* while its handler holds it */
	ttrpc_md *resp_headers, *resp_trailers; /* ttrpc_call_set_response_md; checked */
	/* response: HEADERS once, then the queued messages, then trailers */
	bool headers_sent, deferred, end_queued, want_writable;
	struct ttrpc__buf out; /* prefixed messages nghttp2 has not taken */
	int end_code;
	char *end_msg;
};

struct ttrpc__grpc_server {
	ttrpc_server *srv;
	struct ev_loop *loop;
	struct glistener *listeners;
	struct gconn *conns;
	size_t n_conns;
	struct gconn *dead;
	ev_idle reaper;
	uint32_t max_streams, max_header_list, max_message;
};

static void glog(struct ttrpc__grpc_server *g, int level, const char *fmt, ...) TTRPC_PRINTF(3, 4);

static void glog(struct ttrpc__grpc_server *g, int level, const char *fmt, ...)
{
	const struct ttrpc__registry *reg = ttrpc__server_registry(g->srv);
	ttrpc_log_fn fn = reg->log;
	void *user = reg->log_user;
	if (!fn)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(user, level, msg);
}

/* ---- answers */

static void stream_free(struct gstream *st)
{
	struct gconn *gc = st->conn;
	if (st->prev)
		st->prev->next = st->next;
	else
		gc->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->path);
	free(st->encoding);
	free(st->req);
	ttrpc_md_free(st->resp_headers);
	ttrpc_md_free(st->resp_trailers);
	ttrpc__buf_free(&st->out);
	free(st->end_msg);
	ttrpc__md_clear(&st->md);
	ttrpc__grpc_reader_free(&st->reader);
	free(st);
}

static void consume(struct gstream *st)
{
	if (!st->unconsumed || st->conn->h.closed)
		return;
	nghttp2_session_consume_stream(st->conn->h.ngh, st->stream_id, st->unconsumed);
	st->unconsumed = 0;
}

static ssize_t read_body(nghttp2_session *ngh, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *source, void *user)
{
	(void)user;
	struct gstream *st = source->ptr;
	size_t n = ttrpc__buf_pending(&st->out);
	if (n > length)
		n = length;
	if (n) {
		memcpy(buf, ttrpc__buf_head(&st->out), n);
		ttrpc__buf_consume(&st->out, n);
	}
	if (st->want_writable && ttrpc__buf_pending(&st->out) < TTRPC_STREAM_SEND_WINDOW / 2 &&
	    !ev_is_active(&st->conn->wake))
		ev_timer_start(st->conn->g->loop, &st->conn->wake);
	if (ttrpc__buf_pending(&st->out))
		return (ssize_t)n;
	ttrpc__buf_release(&st->out);
	if (!st->end_queued) {
		if (n)
			return (ssize_t)n;
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	char status[12];
	snprintf(status, sizeof(status), "%d", st->end_code);
	char *msg = st->end_msg ? ttrpc__grpc_percent_encode(st->end_msg) : NULL;
	struct ttrpc__h2_hdrs t = { .n = 0 };
	TTRPC__H2_ADD_LIT(&t, "grpc-status", status);
	if (msg)
		TTRPC__H2_ADD_LIT(&t, "grpc-message", msg);
	if (st->resp_trailers)
		ttrpc__h2_hdrs_add_md(&t, st->resp_trailers); /* checked when set */
	int rv = nghttp2_submit_trailer(ngh, stream_id, t.nv, t.n);
	ttrpc__h2_hdrs_free(&t);
	free(msg);
	if (rv)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return (ssize_t)n;
}

/* Trailers-only answer (or 415 with a gRPC status for non-gRPC content). */
static int send_status(struct gstream *st, const char *http_status, int code, const char *message)
{
	char status[12];
	snprintf(status, sizeof(status), "%d", code);
	char *msg = ttrpc__grpc_percent_encode(message ? message : "");
	struct ttrpc__h2_hdrs h = { .n = 0 };
	TTRPC__H2_ADD_LIT(&h, ":status", http_status);
	TTRPC__H2_ADD_LIT(&h, "content-type", "application/grpc");
	TTRPC__H2_ADD_LIT(&h, "grpc-status", status);
	if (message && *message)
		TTRPC__H2_ADD_LIT(&h, "grpc-message", msg ? msg : "");
	/* trailers-only: the handler's headers and trailers in one block, as grpc-go sends them */
	if (st->resp_headers)
		ttrpc__h2_hdrs_add_md(&h, st->resp_headers);
	if (st->resp_trailers)
		ttrpc__h2_hdrs_add_md(&h, st->resp_trailers);
	int rv = nghttp2_submit_response(st->conn->h.ngh, st->stream_id, h.nv, h.n, NULL);
	ttrpc__h2_hdrs_free(&h);
	free(msg);
	return rv ? TTRPC_ENOMEM : 0;
}

/* Response HEADERS (once), with the provider that sends st->out. */
static int start_response(struct gstream *st)
{
	if (st->headers_sent)
		return 0;
	st->headers_sent = true;
	struct ttrpc__h2_hdrs h = { .n = 0 };
	TTRPC__H2_ADD_LIT(&h, ":status", "200");
	TTRPC__H2_ADD_LIT(&h, "content-type", "application/grpc");
	if (st->resp_headers)
		ttrpc__h2_hdrs_add_md(&h, st->resp_headers);
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_body };
	int rv = nghttp2_submit_response(st->conn->h.ngh, st->stream_id, h.nv, h.n, &prd);
	ttrpc__h2_hdrs_free(&h);
	return rv ? TTRPC_ENOMEM : 0;
}

/* More to send: a provider that said DEFERRED is asked again. */
static void resume(struct gstream *st)
{
	if (!st->deferred)
		return;
	st->deferred = false;
	nghttp2_session_resume_data(st->conn->h.ngh, st->stream_id);
}

/* Queue one message (the caller checked its size); the caller flushes. */
static int queue_msg(struct gstream *st, const uint8_t *msg, size_t len)
{
	uint8_t *dst = ttrpc__buf_reserve(&st->out, TTRPC__GRPC_PREFIX_SIZE + len);
	if (!dst)
		return TTRPC_ENOMEM;
	ttrpc__grpc_prefix_pack(dst, false, (uint32_t)len);
	if (len)
		memcpy(dst + TTRPC__GRPC_PREFIX_SIZE, msg, len);
	ttrpc__buf_commit(&st->out, TTRPC__GRPC_PREFIX_SIZE + len);
	int rc = start_response(st);
	resume(st);
	return rc;
}

/* The end of a stream: trailers after the queued messages, or trailers-only
 * for an error before any. The call is forgotten; the caller flushes. */
static int queue_end(struct gstream *st, int code, const char *message)
{
	st->answered = true;
	st->call = NULL;
	consume(st);
	if (!st->headers_sent && code != TTRPC_CODE_OK)
		return send_status(st, "200", code, message);
	st->end_queued = true;
	st->end_code = code;
	st->end_msg = code != TTRPC_CODE_OK && message && *message ? strdup(message) : NULL;
	int rc = start_response(st);
	resume(st);
	return rc;
}

/* Queue the answer of a unary or client-streaming call (or an error status
 * of any); the caller flushes. */
static int answer(struct gstream *st, int code, const char *message, const uint8_t *payload, size_t len)
{
	if (code == TTRPC_CODE_OK && len > st->conn->g->max_message) {
		queue_end(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "grpc: response message larger than max");
		return TTRPC_ETOOBIG;
	}
	if (code == TTRPC_CODE_OK && queue_msg(st, payload, len))
		return queue_end(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
	return queue_end(st, code, message);
}

static int op_finish(ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len)
{
	struct gstream *st = call->tp;
	bool streams_out = call->kind == TTRPC_KIND_SERVER_STREAM || call->kind == TTRPC_KIND_BIDI_STREAM;
	int rc = streams_out ? queue_end(st, code, message) : answer(st, code, message, payload, len);
	ttrpc__h2conn_flush(&st->conn->h);
	return rc;
}

static int op_send(ttrpc_call *call, const uint8_t *msg, size_t len)
{
	struct gstream *st = call->tp;
	if (len > st->conn->g->max_message)
		return TTRPC_ETOOBIG;
	int rc = queue_msg(st, msg, len);
	/* written from the loop: what a handler sends in one go leaves in
	 * few writes (the timer also runs on_writable) */
	if (!ev_is_active(&st->conn->wake))
		ev_timer_start(st->conn->g->loop, &st->conn->wake);
	return rc;
}

static bool op_congested(const ttrpc_call *call)
{
	const struct gstream *st = call->tp;
	return ttrpc__buf_pending(&st->out) >= TTRPC_STREAM_SEND_WINDOW;
}

static void op_want_writable(ttrpc_call *call)
{
	((struct gstream *)call->tp)->want_writable = true;
}

/* Not paused and nothing held: what the peer sent is taken, open the window. */
static void op_drained(ttrpc_call *call)
{
	struct gstream *st = call->tp;
	if (!st->unconsumed)
		return;
	consume(st);
	ttrpc__h2conn_flush(&st->conn->h);
}

static const struct ttrpc__call_ops grpc_call_ops = {
	.send = op_send,
	.finish = op_finish,
	.congested = op_congested,
	.want_writable = op_want_writable,
	.drained = op_drained,
};

/* on_writable for the streams whose queue drained below half the window
 * (a timer, not from inside nghttp2's send: the handler sends from it). */
static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct gconn *gc = w->data;
	for (;;) {
		if (gc->h.closed)
			return;
		struct gstream *st = gc->streams;
		while (st &&
		       !(st->want_writable && st->call && ttrpc__buf_pending(&st->out) < TTRPC_STREAM_SEND_WINDOW / 2))
			st = st->next;
		if (!st)
			break;
		st->want_writable = false; /* the list may change in the callback: start over */
		ttrpc__call_writable(st->call);
	}
	ttrpc__h2conn_flush(&gc->h);
}

static void orphan(ttrpc_call *call)
{
	if (ttrpc__call_detach(call, TTRPC_CODE_CANCELLED))
		ttrpc__call_run_orphan(call);
}

/* ---- requests */

static bool is(const uint8_t *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static int on_begin_headers(nghttp2_session *ngh, const nghttp2_frame *frame, void *user)
{
	struct gconn *gc = user;
	if (gc->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct gstream *st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream */
	st->conn = gc;
	st->stream_id = frame->hd.stream_id;
	st->reader.max = gc->g->max_message;
	st->next = gc->streams;
	if (gc->streams)
		gc->streams->prev = st;
	gc->streams = st;
	nghttp2_session_set_stream_user_data(ngh, st->stream_id, st);
	return 0;
}

static void add_metadata(struct gstream *st, const uint8_t *name, size_t namelen, const uint8_t *value, size_t valuelen)
{
	const char *k = (const char *)name;
	if (ttrpc__grpc_md_key_reserved(k, namelen))
		return;
	if (ttrpc__grpc_md_key_binary(k, namelen)) {
		size_t n;
		uint8_t *raw = ttrpc__grpc_b64_decode((const char *)value, valuelen, &n);
		if (raw) /* the value is a C string: bytes up to a NUL */
			ttrpc__md_add_n(&st->md, k, namelen, (const char *)raw, strnlen((char *)raw, n));
		free(raw);
		return;
	}
	ttrpc__md_add_n(&st->md, k, namelen, (const char *)value, valuelen);
}

static int on_header(nghttp2_session *ngh, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	(void)flags;
	if (((struct gconn *)user)->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct gstream *st = nghttp2_session_get_stream_user_data(ngh, frame->hd.stream_id);
	if (!st || st->dispatched || st->answered)
		return 0;
	st->header_bytes += namelen + valuelen + 32; /* RFC 7540 6.5.2 */
	if (st->header_bytes > st->conn->g->max_header_list) {
		st->headers_too_big = true;
		return 0;
	}
	if (is(name, namelen, ":method")) {
		st->post = is(value, valuelen, "POST");
	} else if (is(name, namelen, ":path")) {
		free(st->path);
		st->path = strndup((const char *)value, valuelen);
	} else if (is(name, namelen, "content-type")) {
		st->content_type_ok = ttrpc__grpc_content_type_valid((const char *)value, valuelen);
	} else if (is(name, namelen, "grpc-timeout")) {
		st->timeout_bad = ttrpc__grpc_timeout_decode((const char *)value, valuelen, &st->timeout_ns) != 0;
	} else if (is(name, namelen, "grpc-encoding")) {
		st->encoding_bad = !is(value, valuelen, "identity");
		free(st->encoding);
		st->encoding = strndup((const char *)value, valuelen);
	} else if (namelen > 0 && name[0] != ':') {
		add_metadata(st, name, namelen, value, valuelen);
	}
	return 0;
}

/* Headers complete: refuse what is not a gRPC call we can take. true when answered. */
static bool check_headers(struct gstream *st)
{
	if (st->headers_too_big) {
		answer(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "grpc: request header list too large", NULL, 0);
	} else if (!st->content_type_ok || !st->post) {
		st->answered = true;
		send_status(st, st->post ? "415" : "405", TTRPC_CODE_INTERNAL,
			    st->post ? "invalid gRPC request content-type" : "gRPC requires POST");
	} else if (st->encoding_bad) {
		char msg[128];
		snprintf(msg, sizeof(msg), "grpc: Decompressor is not installed for grpc-encoding \"%.64s\"",
			 st->encoding);
		answer(st, TTRPC_CODE_UNIMPLEMENTED, msg, NULL, 0);
	} else if (st->timeout_bad) {
		answer(st, TTRPC_CODE_INTERNAL, "grpc: malformed grpc-timeout", NULL, 0);
	} else {
		return false;
	}
	return true;
}

/* The service of a "/pkg.Service/Method" path (malloc'd) and *method in
 * it; NULL with *method NULL when the path is malformed, set when out of
 * memory. */
static char *path_service(const char *p, const char **method)
{
	const char *slash = p && p[0] == '/' ? strrchr(p, '/') : NULL;
	*method = NULL;
	if (!slash || slash == p || !slash[1])
		return NULL;
	*method = slash + 1;
	return strndup(p + 1, (size_t)(slash - p - 1));
}

/* A new call for the stream's :path (answered and NULL when there is none). */
static ttrpc_call *open_call(struct gstream *st)
{
	const char *method;
	char *service = path_service(st->path, &method);
	if (!service) {
		if (method)
			answer(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		else
			answer(st, TTRPC_CODE_UNIMPLEMENTED, "grpc: malformed method name", NULL, 0);
		return NULL;
	}
	struct gconn *gc = st->conn;
	struct ttrpc__call_info info = {
		.service = service,
		.method = method,
		.timeout_ns = st->timeout_ns,
		.cred = gc->have_cred ? &gc->cred : NULL,
	};
	ttrpc_call *call =
		ttrpc__call_new(ttrpc__server_registry(gc->g->srv), &grpc_call_ops, st, (uint32_t)st->stream_id, &info);
	free(service);
	if (!call) {
		answer(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		return NULL;
	}
	ttrpc__md_clear(&call->md);
	call->md = st->md;
	st->md = (struct ttrpc_md){ 0 };
	st->call = call; /* the handler may answer (and the call go) from inside */
	return call;
}

/* Open the call: payload is the request of a unary or server-streaming call. */
static void start_call(struct gstream *st, const uint8_t *payload, size_t len)
{
	st->dispatched = true;
	ttrpc_call *call = open_call(st);
	if (!call)
		return;
	if (ttrpc__server_shutting_down(st->conn->g->srv))
		ttrpc_call_respond_error(call, TTRPC_CODE_UNAVAILABLE, "ttrpc: server shutting down");
	else
		ttrpc__call_start(call, payload, len, false);
}

/* End of a unary or server-streaming request: its one message. */
static void dispatch(struct gstream *st)
{
	if (ttrpc__grpc_reader_partial(&st->reader)) {
		st->dispatched = true;
		answer(st, TTRPC_CODE_INTERNAL, "grpc: request message truncated", NULL, 0);
		return;
	}
	if (st->n_msgs != 1) {
		st->dispatched = true;
		answer(st, TTRPC_CODE_INTERNAL, "grpc: no request message for a unary call", NULL, 0);
		return;
	}
	consume(st);
	start_call(st, st->req, st->req_len);
	free(st->req);
	st->req = NULL;
}

/* The kind of the stream's method; -1 when there is none (the call core
 * answers UNIMPLEMENTED at once, whatever the request carries). */
static int method_kind(struct gstream *st)
{
	const char *method;
	char *service = path_service(st->path, &method);
	if (!service)
		return -1;
	const struct ttrpc__method *m =
		ttrpc__registry_lookup(ttrpc__server_registry(st->conn->g->srv), service, method);
	free(service);
	return m ? (int)m->kind : -1;
}

/* A dispatched stream failed on input: its status goes to the client, the
 * call is orphaned. */
static void fail_stream(struct gstream *st, int code, const char *message)
{
	ttrpc_call *call = st->call;
	bool hook = call && ttrpc__call_detach(call, code);
	queue_end(st, code, message);
	if (hook)
		ttrpc__call_run_orphan(call);
}

static int keep_message(void *user, const uint8_t *msg, size_t len)
{
	struct gstream *st = user;
	if (++st->n_msgs > 1)
		return TTRPC_EEXIST;
	st->req = malloc(len ? len : 1);
	if (!st->req)
		return TTRPC_ENOMEM;
	memcpy(st->req, msg, len);
	st->req_len = len;
	return 0;
}

static int deliver_message(void *user, const uint8_t *msg, size_t len)
{
	struct gstream *st = user;
	if (st->answered || !st->call) /* ended by its handler meanwhile */
		return 0;
	if (ttrpc__call_deliver(st->call, msg, len) == TTRPC_ETOOBIG) {
		st->overrun = true;
		return TTRPC_ETOOBIG;
	}
	return 0;
}

static int on_data(nghttp2_session *ngh, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len, void *user)
{
	(void)flags;
	if (((struct gconn *)user)->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	/* the connection window is given back at once (partial messages of many
	 * streams must not block each other); a stream's only once its messages
	 * are handed over */
	nghttp2_session_consume_connection(ngh, len);
	struct gstream *st = nghttp2_session_get_stream_user_data(ngh, stream_id);
	if (!st)
		return 0;
	st->unconsumed += len;
	if (st->answered || (st->dispatched && !st->streaming)) {
		consume(st);
		return 0;
	}
	int rc = ttrpc__grpc_reader_feed(&st->reader, data, len, st->streaming ? deliver_message : keep_message, st);
	if (st->answered)
		return 0;
	char msg[96];
	const char *what = msg;
	int code = TTRPC_CODE_RESOURCE_EXHAUSTED;
	switch (rc) {
	case 0:
		/* a paused call holding messages: its window opens once it takes them */
		if (st->streaming && st->call && !st->call->paused && !st->call->head)
			consume(st);
		return 0;
	case TTRPC_ETOOBIG:
		if (st->overrun)
			snprintf(msg, sizeof(msg), "grpc: stream receive buffer full (%zu bytes)",
				 ttrpc__server_registry(st->conn->g->srv)->stream_buffer);
		else
			snprintf(msg, sizeof(msg), "grpc: received message larger than max (%u vs. %u)",
				 st->reader.want, st->reader.max);
		break;
	case TTRPC_EPROTO:
		code = TTRPC_CODE_INTERNAL;
		what = "grpc: compressed flag set with identity or empty encoding";
		break;
	case TTRPC_EEXIST:
		code = TTRPC_CODE_INTERNAL;
		what = "grpc: more than one request message for a unary call";
		break;
	default:
		what = "out of memory";
		break;
	}
	if (st->streaming)
		fail_stream(st, code, what);
	else
		answer(st, code, what, NULL, 0);
	return 0;
}

static int on_frame_recv(nghttp2_session *ngh, const nghttp2_frame *frame, void *user)
{
	if (((struct gconn *)user)->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	struct gstream *st = nghttp2_session_get_stream_user_data(ngh, frame->hd.stream_id);
	if (!st || st->answered || (st->dispatched && !st->streaming))
		return 0;
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (check_headers(st))
			return 0;
		/* client and bidi streams open now; unary and server-streaming
		 * calls once their one request message is in */
		int kind = method_kind(st);
		if (kind < 0) {
			start_call(st, NULL, 0);
			return 0;
		}
		if (kind == TTRPC_KIND_CLIENT_STREAM || kind == TTRPC_KIND_BIDI_STREAM) {
			st->streaming = true;
			start_call(st, NULL, 0);
			if (st->answered || !st->call)
				return 0;
		}
	}
	if (!end)
		return 0;
	st->remote_closed = true;
	if (!st->streaming) {
		dispatch(st);
	} else if (st->call) {
		if (ttrpc__grpc_reader_partial(&st->reader))
			fail_stream(st, TTRPC_CODE_INTERNAL, "grpc: request message truncated");
		else
			ttrpc__call_close_send(st->call);
	}
	return 0;
}

static int on_stream_close(nghttp2_session *ngh, int32_t stream_id, uint32_t error_code, void *user)
{
	(void)error_code;
	if (((struct gconn *)user)->h.closed)
		return 0; /* the conn frees its streams */
	struct gstream *st = nghttp2_session_get_stream_user_data(ngh, stream_id);
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(ngh, stream_id, NULL);
	ttrpc_call *call = st->call;
	stream_free(st);
	if (call) /* the handler still holds it: orphaned, its answer is dropped */
		orphan(call);
	return 0;
}

/* ---- connections */

static void destroy_conn(struct gconn *gc)
{
	ev_timer_stop(gc->g->loop, &gc->wake);
	ttrpc__h2conn_destroy(&gc->h);
	while (gc->streams)
		stream_free(gc->streams);
	free(gc);
}

static void reap(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	struct ttrpc__grpc_server *g = w->data;
	ev_idle_stop(loop, w);
	while (g->dead) {
		struct gconn *gc = g->dead;
		g->dead = gc->next;
		destroy_conn(gc);
	}
	ttrpc__server_ext_conn_gone(g->srv);
}

static void conn_closed(struct ttrpc__h2conn *h, const char *reason)
{
	struct gconn *gc = (struct gconn *)h;
	struct ttrpc__grpc_server *g = gc->g;
	/* a refused TLS peer is worth a warning: the operator's certificates are wrong */
	glog(g, gc->h.tls_failed ? TTRPC_LOG_WARN : TTRPC_LOG_DEBUG, "grpc: connection closed: %s", reason);
	if (gc->prev)
		gc->prev->next = gc->next;
	else
		g->conns = gc->next;
	if (gc->next)
		gc->next->prev = gc->prev;
	g->n_conns--;
	ev_timer_stop(g->loop, &gc->wake);
	/* calls still held by handlers are orphaned now; the streams go with
	 * the conn (we may be inside one of their callbacks) */
	for (struct gstream *st = gc->streams; st; st = st->next) {
		ttrpc_call *call = st->call;
		st->call = NULL;
		if (call)
			orphan(call);
	}
	gc->next = g->dead;
	g->dead = gc;
	ev_idle_start(g->loop, &g->reaper);
}

static nghttp2_session *new_session(struct ttrpc__grpc_server *g, struct gconn *gc)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	if (nghttp2_session_callbacks_new(&cbs))
		return NULL;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cbs);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session *ngh = NULL;
	int rv = nghttp2_session_server_new2(&ngh, cbs, gc, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv)
		return NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, g->max_streams },
		/* a whole request fits: its stream window opens once it is taken */
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, g->max_message + STREAM_WINDOW_SLACK },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, g->max_header_list },
	};
	if (nghttp2_submit_settings(ngh, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(ngh, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW)) {
		nghttp2_session_del(ngh);
		return NULL;
	}
	return ngh;
}

static int add_conn(struct ttrpc__grpc_server *g, int fd, SSL_CTX *tls)
{
	struct gconn *gc = calloc(1, sizeof(*gc));
	if (!gc) {
		close(fd);
		return TTRPC_ENOMEM;
	}
	if (!ttrpc__server_peer_ok(g->srv, fd, &gc->cred, &gc->have_cred)) {
		close(fd);
		free(gc);
		return TTRPC_EPROTO;
	}
	gc->g = g;
	ev_timer_init(&gc->wake, on_wake, 0., 0.);
	gc->wake.data = gc;
	nghttp2_session *ngh = new_session(g, gc);
	if (!ngh || ttrpc__h2conn_init(&gc->h, g->loop, fd, ngh, conn_closed)) {
		if (gc->h.ngh)
			ttrpc__h2conn_destroy(&gc->h);
		else if (ngh)
			nghttp2_session_del(ngh);
		close(fd);
		free(gc);
		return TTRPC_ENOMEM;
	}
	gc->next = g->conns;
	if (g->conns)
		g->conns->prev = gc;
	g->conns = gc;
	g->n_conns++;
	if (!tls) {
		ttrpc__h2conn_flush(&gc->h); /* our SETTINGS */
		return 0;
	}
	SSL *ssl = SSL_new(tls);
	if (!ssl) {
		ttrpc__h2conn_close(&gc->h, "out of memory");
		return TTRPC_ENOMEM;
	}
	SSL_set_accept_state(ssl);
	ttrpc__h2conn_start_tls(&gc->h, ssl); /* our SETTINGS once it is done */
	return 0;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct glistener *l = (struct glistener *)w;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				glog(l->g, TTRPC_LOG_ERROR, "grpc: accept: %s", strerror(errno));
			return;
		}
		if (!l->path) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		add_conn(l->g, fd, l->tls);
	}
}

static int add_listener(struct ttrpc__grpc_server *g, int fd, const char *path, SSL_CTX *tls)
{
	struct glistener *l = calloc(1, sizeof(*l));
	if (!l || (path && !(l->path = strdup(path)))) {
		free(l);
		close(fd);
		if (tls)
			SSL_CTX_free(tls);
		return TTRPC_ENOMEM;
	}
	l->g = g;
	l->tls = tls;
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	ev_io_start(g->loop, &l->io);
	l->next = g->listeners;
	g->listeners = l;
	return 0;
}

static void close_listeners(struct ttrpc__grpc_server *g)
{
	while (g->listeners) {
		struct glistener *l = g->listeners;
		g->listeners = l->next;
		ev_io_stop(g->loop, &l->io);
		close(l->io.fd);
		if (l->path)
			unlink(l->path);
		if (l->tls) /* its connections hold their own references */
			SSL_CTX_free(l->tls);
		free(l->path);
		free(l);
	}
}

struct ttrpc__grpc_server *ttrpc__grpc_server_new(ttrpc_server *s)
{
	struct ttrpc__grpc_server *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->srv = s;
	g->loop = ttrpc__server_loop(s);
	g->max_streams = TTRPC_GRPC_MAX_STREAMS_DEFAULT;
	g->max_header_list = TTRPC_GRPC_MAX_HEADER_LIST_DEFAULT;
	g->max_message = TTRPC_MAX_MESSAGE_SIZE;
	ev_idle_init(&g->reaper, reap);
	g->reaper.data = g;
	return g;
}

void ttrpc__grpc_server_shutdown(struct ttrpc__grpc_server *g)
{
	close_listeners(g);
	for (struct gconn *gc = g->conns, *next; gc; gc = next) {
		next = gc->next; /* the flush may close gc */
		if (!gc->goaway_sent) {
			gc->goaway_sent = true;
			nghttp2_submit_goaway(gc->h.ngh, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(gc->h.ngh), NGHTTP2_NO_ERROR,
					      NULL, 0);
		}
		ttrpc__h2conn_flush(&gc->h);
	}
}

void ttrpc__grpc_server_close(struct ttrpc__grpc_server *g)
{
	close_listeners(g);
	while (g->conns)
		ttrpc__h2conn_close(&g->conns->h, "server closed");
}

size_t ttrpc__grpc_server_conn_count(const struct ttrpc__grpc_server *g)
{
	return g->n_conns;
}

void ttrpc__grpc_server_free(struct ttrpc__grpc_server *g)
{
	if (!g)
		return;
	ttrpc__grpc_server_close(g);
	ev_idle_stop(g->loop, &g->reaper);
	while (g->dead) {
		struct gconn *gc = g->dead;
		g->dead = gc->next;
		destroy_conn(gc);
	}
	free(g);
}

/* ---- public */

int ttrpc_server_set_grpc_opts(ttrpc_server *s, const struct ttrpc_grpc_server_opts *o)
{
	if (!s || !o || o->max_message > (16u << 20))
		return TTRPC_EINVAL;
	struct ttrpc__grpc_server *g = ttrpc__server_grpc(s);
	if (!g)
		return TTRPC_ENOMEM;
	g->max_streams = o->max_concurrent_streams ? o->max_concurrent_streams : TTRPC_GRPC_MAX_STREAMS_DEFAULT;
	g->max_header_list = o->max_header_list_size ? o->max_header_list_size : TTRPC_GRPC_MAX_HEADER_LIST_DEFAULT;
	g->max_message = o->max_message ? (uint32_t)o->max_message : TTRPC_MAX_MESSAGE_SIZE;
	return 0;
}

static int listen_tcp(const char *target, int *fd_out, int *port)
{
	char buf[512];
	size_t n = strlen(target);
	if (n == 0 || n >= sizeof(buf))
		return TTRPC_EINVAL;
	memcpy(buf, target, n + 1);
	char *host = buf, *colon;
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end || end[1] != ':')
			return TTRPC_EINVAL;
		*end = '\0';
		host = buf + 1;
		colon = end + 1;
	} else if (!(colon = strrchr(buf, ':'))) {
		return TTRPC_EINVAL;
	}
	*colon = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res = NULL;
	if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res) != 0 || !res)
		return TTRPC_EINVAL;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	int rc = fd < 0 ? TTRPC_ESYS : 0;
	if (!rc) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
			rc = errno == EADDRINUSE ? TTRPC_EEXIST : TTRPC_ESYS;
		else if (listen(fd, SOMAXCONN) != 0)
			rc = TTRPC_ESYS;
	}
	freeaddrinfo(res);
	if (!rc && port) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
							 ((struct sockaddr_in *)&ss)->sin_port);
	}
	if (rc && fd >= 0)
		close(fd);
	if (!rc)
		*fd_out = fd;
	return rc;
}

static int listen_on(ttrpc_server *s, const char *target, const struct ttrpc_grpc_tls *tls, int *port)
{
	if (!s || !target)
		return TTRPC_EINVAL;
	if (ttrpc__server_shutting_down(s))
		return TTRPC_ESTATE;
	struct ttrpc__grpc_server *g = ttrpc__server_grpc(s);
	if (!g)
		return TTRPC_ENOMEM;
	SSL_CTX *ctx = NULL;
	int rc = tls ? ttrpc__tls_server_ctx(tls, &ctx) : 0;
	if (rc) {
		glog(g, TTRPC_LOG_ERROR, "grpc: listen %s: %s", target, ttrpc_grpc_tls_error());
		return rc;
	}
	int fd = -1;
	const char *path = NULL;
	if (strncmp(target, "unix:", 5) == 0) {
		path = target + 5;
		if (strncmp(path, "//", 2) == 0)
			path += 2;
		rc = ttrpc__server_bind_unix(s, path, &fd);
	} else {
		rc = listen_tcp(target, &fd, port);
	}
	if (rc) {
		if (ctx)
			SSL_CTX_free(ctx);
		return rc;
	}
	return add_listener(g, fd, path, ctx);
}

int ttrpc_server_listen_grpc(ttrpc_server *s, const char *target, int *port)
{
	return listen_on(s, target, NULL, port);
}

int ttrpc_server_listen_grpc_tls(ttrpc_server *s, const char *target, const struct ttrpc_grpc_tls *tls, int *port)
{
	return tls ? listen_on(s, target, tls, port) : TTRPC_EINVAL;
}

int ttrpc_server_adopt_grpc_conn(ttrpc_server *s, int fd)
{
	if (fd < 0)
		return TTRPC_EINVAL;
	struct ttrpc__grpc_server *g = s && !ttrpc__server_shutting_down(s) ? ttrpc__server_grpc(s) : NULL;
	if (!g) {
		close(fd);
		return !s ? TTRPC_EINVAL : ttrpc__server_shutting_down(s) ? TTRPC_ESTATE : TTRPC_ENOMEM;
	}
	return add_conn(g, fd, NULL);
}

static ttrpc_md *md_copy(const ttrpc_md *md)
{
	ttrpc_md *c = ttrpc_md_new();
	for (size_t i = 0; c && i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		if (ttrpc_md_add(c, k, v)) {
			ttrpc_md_free(c);
			c = NULL;
		}
	}
	return c;
}

int ttrpc_call_set_response_md(ttrpc_call *call, const ttrpc_md *headers, const ttrpc_md *trailers)
{
	if (!call)
		return TTRPC_EINVAL;
	/* what the answer will send, checked now: a trailers-only answer carries
	 * both sets beside its 4 headers of its own */
	struct ttrpc__h2_hdrs check = { .n = 4 };
	int rc = headers ? ttrpc__h2_hdrs_add_md(&check, headers) : 0;
	if (!rc && trailers)
		rc = ttrpc__h2_hdrs_add_md(&check, trailers);
	ttrpc__h2_hdrs_free(&check);
	if (rc || call->ops != &grpc_call_ops || !call->tp)
		return rc; /* ttrpc's Response has no metadata; an orphaned call no peer */
	ttrpc_md *h = headers ? md_copy(headers) : NULL, *t = trailers ? md_copy(trailers) : NULL;
	if ((headers && !h) || (trailers && !t)) {
		ttrpc_md_free(h);
		ttrpc_md_free(t);
		return TTRPC_ENOMEM;
	}
	struct gstream *st = call->tp;
	ttrpc_md_free(st->resp_headers);
	ttrpc_md_free(st->resp_trailers);
	st->resp_headers = h;
	st->resp_trailers = t;
	return 0;
}
