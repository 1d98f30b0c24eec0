/* SPDX-License-Identifier: Apache-2.0 */
#include "grpc_conn.h"

#include "grpc_tls.h"
#include "grpc_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ttrpc/common.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024u)
/* Serialize up to this much before a write: many small frames, one syscall. */
#define WRITE_BATCH (64u * 1024u)

/* The reason of a failed TLS call, kept in h->reason. */
static const char *tls_reason(struct ttrpc__h2conn *h, const char *what, int ssl_error)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (!r)
		r = ssl_error == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "connection closed by peer";
	long verify = SSL_get_verify_result(h->ssl);
	if (verify != X509_V_OK)
		snprintf(h->reason, sizeof(h->reason), "%s: %s (%s)", what, r, X509_verify_cert_error_string(verify));
	else
		snprintf(h->reason, sizeof(h->reason), "%s: %s", what, r);
	ERR_clear_error();
	h->tls_failed = true;
	return h->reason;
}

/* One send: bytes written, 0 when the socket is full, -1 when it failed. */
static ssize_t send_once(struct ttrpc__h2conn *h, const uint8_t *p, size_t len)
{
	if (!h->ssl) {
		ssize_t n;
		do
			n = send(h->fd, p, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n > 0 ? n : -1;
	}
	ERR_clear_error();
	int n = SSL_write(h->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(h->ssl, n);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	tls_reason(h, "tls write", e);
	return -1;
}

/* Write what we can; true when the socket failed. */
static bool write_some(struct ttrpc__h2conn *h)
{
	while (ttrpc__buf_pending(&h->out) > 0) {
		ssize_t n = send_once(h, ttrpc__buf_head(&h->out), ttrpc__buf_pending(&h->out));
		if (n == 0)
			return false;
		if (n < 0)
			return true;
		ttrpc__buf_consume(&h->out, (size_t)n);
	}
	return false;
}

/* Pull serialized frames from nghttp2 into out; false on a session error. */
static bool serialize(struct ttrpc__h2conn *h)
{
	while (ttrpc__buf_pending(&h->out) < WRITE_BATCH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(h->ngh, &data);
		if (n < 0)
			return false;
		if (n == 0)
			break;
		uint8_t *dst = ttrpc__buf_reserve(&h->out, (size_t)n);
		if (!dst)
			return false;
		memcpy(dst, data, (size_t)n);
		ttrpc__buf_commit(&h->out, (size_t)n);
	}
	return true;
}

void ttrpc__h2conn_flush(struct ttrpc__h2conn *h)
{
	if (h->closed || h->in_recv || h->handshaking)
		return;
	for (;;) {
		if (!serialize(h)) {
			ttrpc__h2conn_close(h, "http2 session error");
			return;
		}
		if (ttrpc__buf_pending(&h->out) == 0)
			break;
		if (write_some(h)) {
			ttrpc__h2conn_close(h, h->tls_failed ? h->reason : "write failed");
			return;
		}
		if (ttrpc__buf_pending(&h->out) > 0) {
			/* the socket is full: nghttp2 keeps the rest queued (flow control) */
			ev_io_start(h->loop, &h->wio);
			return;
		}
	}
	ev_io_stop(h->loop, &h->wio);
	ttrpc__buf_release(&h->out);
	if (!nghttp2_session_want_read(h->ngh) && !nghttp2_session_want_write(h->ngh))
		ttrpc__h2conn_close(h, "http2 session finished");
}

/* One read into rbuf: bytes read, 0 when there is nothing now, -1 when
 * the conn is gone (*reason says why). */
static ssize_t recv_once(struct ttrpc__h2conn *h, const char **reason)
{
	if (!h->ssl) {
		ssize_t n = recv(h->fd, h->rbuf, READ_CHUNK, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n <= 0)
			*reason = n == 0 ? "connection closed by peer" : "read failed";
		return n > 0 ? n : -1;
	}
	ERR_clear_error();
	int n = SSL_read(h->ssl, h->rbuf, READ_CHUNK);
	if (n > 0)
		return n;
	int e = SSL_get_error(h->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	*reason = e == SSL_ERROR_ZERO_RETURN ? "connection closed by peer" : tls_reason(h, "tls", e);
	return -1;
}

/* Hand n bytes of rbuf to nghttp2; false when the conn is gone. */
static bool feed(struct ttrpc__h2conn *h, size_t n)
{
	h->in_recv = true;
	ssize_t rv = nghttp2_session_mem_recv(h->ngh, h->rbuf, n);
	h->in_recv = false;
	if (h->closed)
		return false;
	if (rv < 0) {
		/* bad preface (e.g. HTTP/1.1) or a fatal error: nghttp2 may have queued a GOAWAY */
		serialize(h);
		write_some(h);
		ttrpc__h2conn_close(h, rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? "not an HTTP/2 client" :
									    "http2 protocol error");
		return false;
	}
	return true;
}

static void read_input(struct ttrpc__h2conn *h)
{
	/* TLS may hold decrypted bytes the socket no longer signals: read until
	 * it has none; plain sockets once per wakeup */
	do {
		const char *reason = NULL;
		ssize_t n = recv_once(h, &reason);
		if (n == 0)
			break;
		if (n < 0) {
			ttrpc__h2conn_close(h, reason);
			return;
		}
		if (!feed(h, (size_t)n))
			return;
	} while (h->ssl);
	ttrpc__h2conn_flush(h);
}

static void handshake(struct ttrpc__h2conn *h)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(h->ssl);
	if (rc != 1) {
		int e = SSL_get_error(h->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			ev_io_stop(h->loop, &h->wio);
		else if (e == SSL_ERROR_WANT_WRITE)
			ev_io_start(h->loop, &h->wio);
		else
			ttrpc__h2conn_close(h, tls_reason(h, "tls handshake", e));
		return;
	}
	const unsigned char *proto = NULL;
	unsigned int len = 0;
	SSL_get0_alpn_selected(h->ssl, &proto, &len);
	if (len != 2 || memcmp(proto, "h2", 2) != 0) {
		h->tls_failed = true; /* no close_notify: nothing was said */
		ttrpc__h2conn_close(h, "tls handshake: the peer did not negotiate ALPN \"h2\"");
		return;
	}
	h->handshaking = false;
	ev_io_stop(h->loop, &h->wio);
	read_input(h); /* and what nghttp2 queued meanwhile (preface, SETTINGS, requests) */
}

/* rio and wio: both drive the handshake until it is done */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__h2conn *h = w->data;
	if (h->handshaking)
		handshake(h);
	else if (w == &h->rio)
		read_input(h);
	else
		ttrpc__h2conn_flush(h);
}

void ttrpc__h2conn_start_tls(struct ttrpc__h2conn *h, SSL *ssl)
{
	h->ssl = ssl;
	h->handshaking = true;
	if (ttrpc__tls_attach(ssl, h->fd)) {
		h->tls_failed = true;
		ttrpc__h2conn_close(h, "tls: out of memory");
		return;
	}
	/* the first step runs from the loop too: a failure then always reaches
	 * the calls made meanwhile, with its reason */
	ev_io_start(h->loop, &h->wio);
}

int ttrpc__h2conn_init(struct ttrpc__h2conn *h, struct ev_loop *loop, int fd, nghttp2_session *ngh,
		       ttrpc__h2conn_closed_fn on_closed)
{
	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->fd = fd;
	h->ngh = ngh;
	h->on_closed = on_closed;
	h->rbuf = malloc(READ_CHUNK);
	if (!h->rbuf)
		return TTRPC_ENOMEM;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ev_io_init(&h->rio, on_io, fd, EV_READ);
	ev_io_init(&h->wio, on_io, fd, EV_WRITE);
	h->rio.data = h->wio.data = h;
	ev_io_start(loop, &h->rio);
	return 0;
}

void ttrpc__h2conn_close(struct ttrpc__h2conn *h, const char *reason)
{
	if (h->closed)
		return;
	h->closed = true;
	ev_io_stop(h->loop, &h->rio);
	ev_io_stop(h->loop, &h->wio);
	if (h->ssl && !h->handshaking && !h->tls_failed) {
		ERR_clear_error();
		SSL_shutdown(h->ssl); /* close_notify, best effort: the socket goes now */
		ERR_clear_error();
	}
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->on_closed)
		h->on_closed(h, reason);
}

void ttrpc__h2conn_destroy(struct ttrpc__h2conn *h)
{
	if (h->ngh)
		nghttp2_session_del(h->ngh);
	h->ngh = NULL;
	if (h->ssl)
		SSL_free(h->ssl);
	h->ssl = NULL;
	ttrpc__buf_free(&h->out);
	free(h->rbuf);
	h->rbuf = NULL;
}

void ttrpc__h2_hdrs_add(struct ttrpc__h2_hdrs *h, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	if (h->n == sizeof(h->nv) / sizeof(h->nv[0]))
		return;
	h->nv[h->n++] = (nghttp2_nv){ .name = (uint8_t *)name,
				      .namelen = namelen,
				      .value = (uint8_t *)value,
				      .valuelen = valuelen,
				      .flags = NGHTTP2_NV_FLAG_NONE };
}

void ttrpc__h2_hdrs_free(struct ttrpc__h2_hdrs *h)
{
	for (size_t i = 0; i < h->n_owned; i++)
		free(h->owned[i]);
	h->n_owned = 0;
}

int ttrpc__h2_hdrs_add_md(struct ttrpc__h2_hdrs *h, const struct ttrpc_md *md)
{
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		size_t kl = strlen(k), vl = strlen(v);
		if (!ttrpc__grpc_md_key_valid(k, kl) || ttrpc__grpc_md_key_reserved(k, kl))
			return TTRPC_EINVAL;
		if (h->n == sizeof(h->nv) / sizeof(h->nv[0]))
			return TTRPC_EINVAL;
		if (ttrpc__grpc_md_key_binary(k, kl)) {
			if (h->n_owned == sizeof(h->owned) / sizeof(h->owned[0]))
				return TTRPC_EINVAL;
			char *b = ttrpc__grpc_b64_encode((const uint8_t *)v, vl);
			if (!b)
				return TTRPC_ENOMEM;
			h->owned[h->n_owned++] = b;
			ttrpc__h2_hdrs_add(h, k, kl, b, strlen(b));
		} else {
			if (!ttrpc__grpc_md_value_valid(v, vl))
				return TTRPC_EINVAL;
			ttrpc__h2_hdrs_add(h, k, kl, v, vl);
		}
	}
	return 0;
}
