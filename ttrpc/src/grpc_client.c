/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC client calls on an nghttp2 client session: one HTTP/2 stream per
 * unary call (request HEADERS + one length-prefixed DATA message; response
 * HEADERS, one message, trailers with grpc-status), and per client stream
 * (client_stream.c's ttrpc_stream: client and bidi streams queue their
 * messages behind a data provider that defers while the queue is empty and
 * ends the request with END_STREAM at close-send; server and bidi streams
 * hand each response message to the stream as it completes; a local end
 * resets the HTTP/2 stream with CANCEL). */
#include "grpc_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <ttrpc/grpc.h>
#include <unistd.h>

#include "conn.h"
#include "grpc_conn.h"
#include "grpc_tls.h"
#include "grpc_wire.h"
#include "md.h"
#include "client_priv.h"

#define STREAM_WINDOW (4u << 20)
#define CONN_WINDOW (16u << 20)
#define MAX_HEADER_LIST (64u << 10)

struct gcall {
	struct gcall *prev, *next;
	struct ttrpc__grpc_client *g;
	int32_t stream_id;
	ev_timer timer;
	ttrpc_done_fn done; /* NULL once completed */
	void *user;
	uint8_t *body; /* prefix + request */
	size_t body_len, body_off;
	bool headers_sent;
	int http_status;
	bool content_type_ok;
	bool have_status;
	int status;
	char *message;
	struct ttrpc__grpc_reader reader;
	uint8_t *resp;
	size_t resp_len;
	int n_msgs;
	ttrpc_stream *stream; /* a client stream's, until it ended or was forgotten */
	bool is_stream;
	bool many;   /* server or bidi: each response message to the stream */
	bool queued; /* client or bidi: the request is out, closed by out_closed */
	bool out_closed, deferred, want_writable;
	struct ttrpc__buf out;
};

struct ttrpc__grpc_client {
	struct ttrpc__h2conn h;
	ttrpc_client *owner;
	char *authority;
	uint32_t max_message;
	struct gcall *calls; /* every call whose stream nghttp2 still knows */
	size_t n_pending;    /* of them, not yet completed */
	bool goaway;
	ttrpc_log_fn log;
	void *log_user;
	void (*on_close)(ttrpc_client *client, void *user);
	void *on_close_user;
	ev_timer wake; /* on_writable of streams whose queue drained */
};

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents);

static void unlink_call(struct gcall *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->g->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void free_call(struct gcall *c)
{
	free(c->body);
	free(c->message);
	free(c->resp);
	ttrpc__buf_free(&c->out);
	ttrpc__grpc_reader_free(&c->reader);
	free(c);
}

/* The user's done runs once; the call stays allocated until its stream closes. */
static void complete(struct gcall *c, int code, const char *message, const uint8_t *payload, size_t len)
{
	if (!c->done)
		return;
	ev_timer_stop(c->g->h.loop, &c->timer);
	ttrpc_done_fn done = c->done;
	c->done = NULL;
	c->g->n_pending--;
	if (c->is_stream) {
		ttrpc_stream *st = c->stream;
		c->stream = NULL;
		if (st)
			ttrpc__client_stream_grpc_end(st, code, message, payload, len);
		return;
	}
	struct ttrpc_result r = {
		.code = code, .message = (char *)(message ? message : ""), .payload = (uint8_t *)payload, .len = len
	};
	ttrpc_client *owner = c->g->owner;
	owner->depth++; /* a ttrpc_client_free from done is deferred (client.c) */
	done(&r, c->user);
	owner->depth--;
}

/* Fail a call that is still on the wire and reset its stream. */
static void fail_stream(struct gcall *c, int code, const char *message)
{
	complete(c, code, message, NULL, 0);
	if (c->headers_sent && !c->g->h.closed)
		nghttp2_submit_rst_stream(c->g->h.ngh, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct gcall *c = w->data;
	fail_stream(c, TTRPC_CODE_DEADLINE_EXCEEDED, "context deadline exceeded");
	ttrpc__h2conn_flush(&c->g->h);
}

static struct gcall *stream_call(nghttp2_session *ngh, int32_t stream_id)
{
	return nghttp2_session_get_stream_user_data(ngh, stream_id);
}

static ssize_t read_body(nghttp2_session *ngh, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *source, void *user)
{
	(void)ngh;
	(void)stream_id;
	(void)user;
	struct gcall *c = source->ptr;
	if (c->queued) {
		size_t n = ttrpc__buf_pending(&c->out);
		if (n > length)
			n = length;
		if (n) {
			memcpy(buf, ttrpc__buf_head(&c->out), n);
			ttrpc__buf_consume(&c->out, n);
		}
		if (c->want_writable && ttrpc__buf_pending(&c->out) < TTRPC_STREAM_SEND_WINDOW / 2 &&
		    !ev_is_active(&c->g->wake))
			ev_timer_start(c->g->h.loop, &c->g->wake);
		if (ttrpc__buf_pending(&c->out))
			return (ssize_t)n;
		ttrpc__buf_release(&c->out);
		if (c->out_closed)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
		else if (!n) {
			c->deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
		return (ssize_t)n;
	}
	size_t n = c->body_len - c->body_off;
	if (n > length)
		n = length;
	memcpy(buf, c->body + c->body_off, n);
	c->body_off += n;
	if (c->body_off == c->body_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		free(c->body);
		c->body = NULL;
	}
	return (ssize_t)n;
}

static int before_frame_send(nghttp2_session *ngh, const nghttp2_frame *frame, void *user)
{
	(void)user;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct gcall *c = stream_call(ngh, frame->hd.stream_id);
	if (!c)
		return 0;
	if (!c->done)
		return NGHTTP2_ERR_CANCEL; /* timed out while queued: never send it */
	c->headers_sent = true;
	return 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *ngh, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	(void)flags;
	struct ttrpc__grpc_client *g = user;
	if (g->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct gcall *c = stream_call(ngh, frame->hd.stream_id);
	if (!c || !c->done)
		return 0;
	if (name_is(name, namelen, ":status")) {
		c->http_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			c->http_status = c->http_status * 10 + (value[i] - '0');
	} else if (name_is(name, namelen, "content-type")) {
		c->content_type_ok = ttrpc__grpc_content_type_valid((const char *)value, valuelen);
	} else if (name_is(name, namelen, "grpc-status")) {
		int s = 0;
		bool ok = valuelen > 0 && valuelen <= 3;
		for (size_t i = 0; ok && i < valuelen; i++) {
			ok = value[i] >= '0' && value[i] <= '9';
			s = s * 10 + (value[i] - '0');
		}
		c->have_status = true;
		c->status = ok ? s : TTRPC_CODE_UNKNOWN;
	} else if (name_is(name, namelen, "grpc-message")) {
		free(c->message);
		c->message = ttrpc__grpc_percent_decode(value, valuelen);
	}
	return 0;
}

static int keep_message(void *user, const uint8_t *msg, size_t len)
{
	struct gcall *c = user;
	if (++c->n_msgs > 1)
		return TTRPC_EEXIST;
	c->resp = malloc(len ? len : 1);
	if (!c->resp)
		return TTRPC_ENOMEM;
	memcpy(c->resp, msg, len);
	c->resp_len = len;
	return 0;
}

static int stream_message(void *user, const uint8_t *msg, size_t len)
{
	struct gcall *c = user;
	if (c->stream) /* may end (and forget c) from inside */
		ttrpc__client_stream_data(c->stream, msg, len, false);
	return 0;
}

static int on_data(nghttp2_session *ngh, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len, void *user)
{
	(void)flags;
	struct ttrpc__grpc_client *g = user;
	if (g->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	struct gcall *c = stream_call(ngh, stream_id);
	if (!c || !c->done)
		return 0;
	int rc = ttrpc__grpc_reader_feed(&c->reader, data, len, c->many ? stream_message : keep_message, c);
	if (!c->done)
		return 0;
	char msg[96];
	switch (rc) {
	case 0:
		return 0;
	case TTRPC_ETOOBIG:
		snprintf(msg, sizeof(msg), "grpc: received message larger than max (%u bytes)", g->max_message);
		fail_stream(c, TTRPC_CODE_RESOURCE_EXHAUSTED, msg);
		break;
	case TTRPC_EPROTO:
		fail_stream(c, TTRPC_CODE_INTERNAL, "grpc: compressed message but no grpc-encoding was negotiated");
		break;
	case TTRPC_EEXIST:
		fail_stream(c, TTRPC_CODE_INTERNAL, "grpc: more than one response message for a unary call");
		break;
	default:
		fail_stream(c, TTRPC_CODE_RESOURCE_EXHAUSTED, "grpc: out of memory");
		break;
	}
	return 0;
}

/* The stream ended: settle the call from what arrived, as gRPC clients do. */
static void finish(struct gcall *c, uint32_t error_code)
{
	char msg[128];
	if (c->http_status && c->http_status != 200) {
		snprintf(msg, sizeof(msg), "unexpected HTTP status code received from server: %d", c->http_status);
		complete(c, ttrpc__grpc_code_from_http(c->http_status), msg, NULL, 0);
	} else if (c->have_status && c->http_status && !c->content_type_ok) {
		complete(c, TTRPC_CODE_INTERNAL, "grpc: unexpected content-type from server", NULL, 0);
	} else if (c->have_status && c->status != TTRPC_CODE_OK) {
		complete(c, c->status, c->message, NULL, 0);
	} else if (c->have_status) {
		if (ttrpc__grpc_reader_partial(&c->reader))
			complete(c, TTRPC_CODE_INTERNAL, "grpc: response message truncated", NULL, 0);
		else if (c->n_msgs != 1 && !c->many)
			complete(c, TTRPC_CODE_INTERNAL, "grpc: no response message for a unary call", NULL, 0);
		else
			complete(c, TTRPC_CODE_OK, "", c->resp, c->resp_len);
	} else if (error_code != NGHTTP2_NO_ERROR) {
		snprintf(msg, sizeof(msg), "stream terminated by RST_STREAM with error code: %s",
			 nghttp2_http2_strerror(error_code));
		complete(c, ttrpc__grpc_code_from_h2_error(error_code), msg, NULL, 0);
	} else {
		complete(c, TTRPC_CODE_INTERNAL, "server closed the stream without sending trailers", NULL, 0);
	}
}

static int on_stream_close(nghttp2_session *ngh, int32_t stream_id, uint32_t error_code, void *user)
{
	struct ttrpc__grpc_client *g = user;
	struct gcall *c = stream_call(ngh, stream_id);
	if (!c)
		return 0;
	if (g->h.closed)
		return NGHTTP2_ERR_CALLBACK_FAILURE; /* freed with the client */
	nghttp2_session_set_stream_user_data(ngh, stream_id, NULL);
	finish(c, error_code);
	unlink_call(c);
	free_call(c);
	return 0;
}

static int on_frame_recv(nghttp2_session *ngh, const nghttp2_frame *frame, void *user)
{
	(void)ngh;
	struct ttrpc__grpc_client *g = user;
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		g->goaway = true;
		ttrpc__logf(g->log, g->log_user, TTRPC_LOG_DEBUG, "grpc: GOAWAY from server (last stream %d, %s)",
			    frame->goaway.last_stream_id, nghttp2_http2_strerror(frame->goaway.error_code));
	}
	return 0;
}

static void h2_closed(struct ttrpc__h2conn *h, const char *reason)
{
	struct ttrpc__grpc_client *g = (struct ttrpc__grpc_client *)h;
	ttrpc__logf(g->log, g->log_user, TTRPC_LOG_DEBUG, "grpc: client connection closed: %s", reason);
	char msg[128];
	snprintf(msg, sizeof(msg), "ttrpc: closed: %s", reason);
	ev_timer_stop(g->h.loop, &g->wake);
	for (struct gcall *c = g->calls; c; c = c->next)
		complete(c, TTRPC_CODE_UNAVAILABLE, msg, NULL, 0);
	if (g->on_close) {
		g->owner->depth++;
		g->on_close(g->owner, g->on_close_user);
		g->owner->depth--;
	}
}

static nghttp2_session *new_session(struct ttrpc__grpc_client *g)
{
	nghttp2_session_callbacks *cbs;
	if (nghttp2_session_callbacks_new(&cbs))
		return NULL;
	nghttp2_session_callbacks_set_before_frame_send_callback(cbs, before_frame_send);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session *ngh = NULL;
	int rv = nghttp2_session_client_new(&ngh, cbs, g);
	nghttp2_session_callbacks_del(cbs);
	if (rv)
		return NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST },
	};
	if (nghttp2_submit_settings(ngh, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(ngh, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW)) {
		nghttp2_session_del(ngh);
		return NULL;
	}
	return ngh;
}

void ttrpc__grpc_ssl_free(SSL *ssl)
{
	if (ssl) /* set only once OpenSSL is loaded */
		SSL_free(ssl);
}

struct ttrpc__grpc_client *ttrpc__grpc_client_new(ttrpc_client *owner, struct ev_loop *loop, int fd,
						  const char *authority, size_t max_message, SSL *ssl, int *err)
{
	struct ttrpc__grpc_client *g = calloc(1, sizeof(*g));
	if (g) {
		g->owner = owner;
		g->max_message = (uint32_t)max_message;
		g->authority = strdup(authority);
		ev_timer_init(&g->wake, on_wake, 0., 0.);
		g->wake.data = g;
	}
	nghttp2_session *ngh = g && g->authority ? new_session(g) : NULL;
	if (!ngh || ttrpc__h2conn_init(&g->h, loop, fd, ngh, h2_closed)) {
		if (ngh && !g->h.ngh)
			nghttp2_session_del(ngh);
		if (g) {
			ttrpc__h2conn_destroy(&g->h);
			free(g->authority);
		}
		free(g);
		close(fd);
		ttrpc__grpc_ssl_free(ssl);
		if (err)
			*err = TTRPC_ENOMEM;
		return NULL;
	}
	if (ssl)
		ttrpc__h2conn_start_tls(&g->h, ssl); /* preface + SETTINGS once it is done */
	else
		ttrpc__h2conn_flush(&g->h); /* preface + SETTINGS */
	return g;
}

static int submit(struct ttrpc__grpc_client *g, struct gcall *c, const char *service, const char *method,
		  const struct ttrpc_call_opts *opts)
{
	size_t path_len = strlen(service) + strlen(method) + 2;
	char *path = malloc(path_len + 1);
	if (!path)
		return TTRPC_ENOMEM;
	snprintf(path, path_len + 1, "/%s/%s", service, method);
	struct ttrpc__h2_hdrs h = { .n = 0 };
	TTRPC__H2_ADD_LIT(&h, ":method", "POST");
	TTRPC__H2_ADD_LIT(&h, ":scheme", g->h.ssl ? "https" : "http");
	ttrpc__h2_hdrs_add(&h, ":path", 5, path, path_len);
	TTRPC__H2_ADD_LIT(&h, ":authority", g->authority);
	TTRPC__H2_ADD_LIT(&h, "content-type", "application/grpc");
	TTRPC__H2_ADD_LIT(&h, "te", "trailers");
	TTRPC__H2_ADD_LIT(&h, "user-agent", "ttrpc-c grpc");
	char timeout[TTRPC__GRPC_TIMEOUT_MAX];
	if (opts && opts->timeout_ns > 0) {
		size_t n = ttrpc__grpc_timeout_encode(opts->timeout_ns, timeout);
		ttrpc__h2_hdrs_add(&h, "grpc-timeout", 12, timeout, n);
	}
	int rc = opts && opts->md ? ttrpc__h2_hdrs_add_md(&h, opts->md) : 0;
	if (rc == 0) {
		nghttp2_data_provider prd = { .source.ptr = c, .read_callback = read_body };
		int32_t id = nghttp2_submit_request(g->h.ngh, NULL, h.nv, h.n, &prd, c);
		if (id < 0)
			rc = id == NGHTTP2_ERR_NOMEM ? TTRPC_ENOMEM : TTRPC_ECLOSED;
		else
			c->stream_id = id;
	}
	ttrpc__h2_hdrs_free(&h);
	free(path);
	return rc;
}

/* Submit c's request (with its one message when with_body) and track the
 * call; c is freed on error. */
static int start_call(struct ttrpc__grpc_client *g, struct gcall *c, const char *service, const char *method,
		      const uint8_t *req, size_t len, bool with_body, const struct ttrpc_call_opts *opts)
{
	int rc = g->h.closed || g->goaway ? TTRPC_ECLOSED : len > g->max_message ? TTRPC_ETOOBIG : 0;
	c->g = g;
	c->reader.max = g->max_message;
	if (!rc && with_body) {
		c->body_len = TTRPC__GRPC_PREFIX_SIZE + len;
		c->body = malloc(c->body_len);
		if (c->body) {
			ttrpc__grpc_prefix_pack(c->body, false, (uint32_t)len);
			if (len)
				memcpy(c->body + TTRPC__GRPC_PREFIX_SIZE, req, len);
		} else {
			rc = TTRPC_ENOMEM;
		}
	}
	if (!rc)
		rc = submit(g, c, service, method, opts);
	if (rc) {
		free_call(c);
		return rc;
	}
	c->next = g->calls;
	if (g->calls)
		g->calls->prev = c;
	g->calls = c;
	g->n_pending++;
	ev_timer_init(&c->timer, on_deadline, 0., 0.);
	c->timer.data = c;
	return 0;
}

int ttrpc__grpc_client_call(struct ttrpc__grpc_client *g, const char *service, const char *method, const uint8_t *req,
			    size_t req_len, const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user)
{
	struct gcall *c = calloc(1, sizeof(*c));
	if (!c)
		return TTRPC_ENOMEM;
	c->done = done;
	c->user = user;
	int rc = start_call(g, c, service, method, req, req_len, true, opts);
	if (rc)
		return rc;
	if (opts && opts->timeout_ns > 0) {
		ev_now_update(g->h.loop);
		ev_timer_set(&c->timer, (double)opts->timeout_ns / 1e9, 0.);
		ev_timer_start(g->h.loop, &c->timer);
	}
	ttrpc__h2conn_flush(&g->h);
	return 0;
}

/* ---- client streams */

static void stream_done(const struct ttrpc_result *r, void *user)
{
	(void)r;
	(void)user; /* never called: complete hands a stream's end to the stream */
}

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__grpc_client *g = w->data;
	for (;;) {
		if (g->h.closed)
			return;
		struct gcall *c = g->calls;
		while (c &&
		       !(c->want_writable && c->stream && ttrpc__buf_pending(&c->out) < TTRPC_STREAM_SEND_WINDOW / 2))
			c = c->next;
		if (!c)
			break;
		c->want_writable = false; /* the list may change in the callback: start over */
		ttrpc__client_stream_wake(c->stream);
	}
	ttrpc__h2conn_flush(&g->h);
}

int ttrpc__grpc_client_stream_open(struct ttrpc__grpc_client *g, const char *service, const char *method,
				   enum ttrpc_stream_kind kind, const uint8_t *req, size_t len,
				   const struct ttrpc_call_opts *opts, ttrpc_stream *st, struct gcall **out)
{
	struct gcall *c = calloc(1, sizeof(*c));
	if (!c)
		return TTRPC_ENOMEM;
	c->done = stream_done;
	c->is_stream = true;
	c->stream = st;
	c->many = kind != TTRPC_KIND_CLIENT_STREAM;
	c->queued = kind != TTRPC_KIND_SERVER_STREAM;
	/* its timer is never started: the stream keeps its own deadline */
	int rc = start_call(g, c, service, method, req, len, !c->queued, opts);
	if (rc)
		return rc;
	ttrpc__h2conn_flush(&g->h);
	*out = c;
	return 0;
}

static void stream_resume(struct gcall *c)
{
	if (c->deferred && !c->g->h.closed) {
		c->deferred = false;
		nghttp2_session_resume_data(c->g->h.ngh, c->stream_id);
	}
	ttrpc__h2conn_flush(&c->g->h);
}

bool ttrpc__grpc_client_stream_writable(const struct gcall *c)
{
	return c->queued && !c->out_closed && c->done && !c->g->h.closed &&
	       ttrpc__buf_pending(&c->out) < TTRPC_STREAM_SEND_WINDOW;
}

int ttrpc__grpc_client_stream_send(struct gcall *c, const uint8_t *msg, size_t len)
{
	if (!c->done || c->g->h.closed)
		return TTRPC_ECLOSED;
	if (len > c->g->max_message)
		return TTRPC_ETOOBIG;
	if (ttrpc__buf_pending(&c->out) >= TTRPC_STREAM_SEND_WINDOW) {
		c->want_writable = true;
		return TTRPC_EAGAIN;
	}
	uint8_t *dst = ttrpc__buf_reserve(&c->out, TTRPC__GRPC_PREFIX_SIZE + len);
	if (!dst)
		return TTRPC_ENOMEM;
	ttrpc__grpc_prefix_pack(dst, false, (uint32_t)len);
	if (len)
		memcpy(dst + TTRPC__GRPC_PREFIX_SIZE, msg, len);
	ttrpc__buf_commit(&c->out, TTRPC__GRPC_PREFIX_SIZE + len);
	if (c->deferred) {
		c->deferred = false;
		nghttp2_session_resume_data(c->g->h.ngh, c->stream_id);
	}
	/* written from the loop: messages sent in one go leave in few writes */
	if (!ev_is_active(&c->g->wake))
		ev_timer_start(c->g->h.loop, &c->g->wake);
	return 0;
}

int ttrpc__grpc_client_stream_close_send(struct gcall *c)
{
	if (!c->done || c->g->h.closed)
		return TTRPC_ECLOSED;
	c->out_closed = true;
	stream_resume(c);
	return 0;
}

void ttrpc__grpc_client_stream_forget(struct gcall *c)
{
	c->stream = NULL;
	fail_stream(c, TTRPC_CODE_CANCELLED, "context canceled"); /* RST_STREAM CANCEL */
	ttrpc__h2conn_flush(&c->g->h);
}

void ttrpc__grpc_client_close(struct ttrpc__grpc_client *g, const char *reason)
{
	ttrpc__h2conn_close(&g->h, reason);
}

void ttrpc__grpc_client_free(struct ttrpc__grpc_client *g)
{
	if (!g)
		return;
	g->on_close = NULL;
	ev_timer_stop(g->h.loop, &g->wake);
	ttrpc__h2conn_close(&g->h, "closed by client");
	ttrpc__h2conn_destroy(&g->h);
	while (g->calls) {
		struct gcall *c = g->calls;
		unlink_call(c);
		free_call(c);
	}
	free(g->authority);
	free(g);
}

bool ttrpc__grpc_client_connected(const struct ttrpc__grpc_client *g)
{
	return !g->h.closed && !g->goaway;
}

size_t ttrpc__grpc_client_pending(const struct ttrpc__grpc_client *g)
{
	return g->n_pending;
}

void ttrpc__grpc_client_set_log(struct ttrpc__grpc_client *g, ttrpc_log_fn fn, void *user)
{
	g->log = fn;
	g->log_user = user;
}

void ttrpc__grpc_client_on_close(struct ttrpc__grpc_client *g, void (*fn)(ttrpc_client *client, void *user), void *user)
{
	g->on_close = fn;
	g->on_close_user = user;
}

/* ---- targets */

static int connect_unix(const char *path, bool abstract)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	if (n == 0 || n + (abstract ? 1 : 0) >= sizeof(addr.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(addr.sun_path + (abstract ? 1 : 0), path, n);
	socklen_t len = abstract ? (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n) : sizeof(addr);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, len) == 0)
		return fd;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

/* "host:port" or "[v6]:port" into host and port (in buf). */
static bool split_host_port(const char *target, char *buf, size_t buflen, const char **host, const char **port)
{
	size_t n = strlen(target);
	if (n == 0 || n >= buflen)
		return false;
	memcpy(buf, target, n + 1);
	char *colon;
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end || end[1] != ':')
			return false;
		*end = '\0';
		*host = buf + 1;
		colon = end + 1;
	} else {
		colon = strrchr(buf, ':');
		if (!colon || colon == buf)
			return false;
		*host = buf;
	}
	*colon = '\0';
	*port = colon + 1;
	return **port != '\0';
}

static int connect_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	int fd = -1, saved = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int set_err(int *err, int rc)
{
	if (err)
		*err = rc;
	return rc;
}

ttrpc_client *ttrpc_client_connect_grpc(struct ev_loop *loop, const char *target,
					const struct ttrpc_grpc_client_opts *opts, int *err)
{
	size_t max = opts && opts->max_message ? opts->max_message : TTRPC_MAX_MESSAGE_SIZE;
	if (!target || max > (16u << 20)) {
		set_err(err, TTRPC_EINVAL);
		return NULL;
	}
	const char *authority = opts ? opts->authority : NULL;
	const char *unix_path = NULL, *host = "localhost", *port = NULL;
	bool abstract = false;
	char buf[512];
	if (strncmp(target, "unix-abstract:", 14) == 0) {
		unix_path = target + 14;
		abstract = true;
	} else if (strncmp(target, "unix:", 5) == 0) {
		unix_path = target + 5;
		if (strncmp(unix_path, "//", 2) == 0)
			unix_path += 2; /* unix:///abs */
	} else if (split_host_port(target, buf, sizeof(buf), &host, &port)) {
		if (!authority)
			authority = target;
	} else {
		set_err(err, TTRPC_EINVAL);
		return NULL;
	}
	/* certificates first: a bad file fails before anything is dialled */
	SSL *ssl = NULL;
	int rc = opts && opts->tls ? ttrpc__tls_client_ssl(opts->tls, host, &ssl) : 0;
	if (rc) {
		set_err(err, rc);
		return NULL;
	}
	int fd = unix_path ? connect_unix(unix_path, abstract) : connect_tcp(host, port);
	if (fd < 0) {
		set_err(err, errno == EINVAL ? TTRPC_EINVAL : TTRPC_ESYS);
		ttrpc__grpc_ssl_free(ssl);
		return NULL;
	}
	return ttrpc__client_new_grpc(loop, fd, authority ? authority : "localhost", max, ssl, err);
}
