/* SPDX-License-Identifier: Apache-2.0 */
#include "grpc_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ttrpc/common.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024u)
/* Serialize up to this much before a write: many small frames, one syscall. */
#define WRITE_BATCH (64u * 1024u)

/* Write what we can; true when the socket failed. */
static bool write_some(struct ttrpc__h2conn *h)
{
	while (ttrpc__buf_pending(&h->out) > 0) {
		ssize_t n = send(h->fd, ttrpc__buf_head(&h->out), ttrpc__buf_pending(&h->out), MSG_NOSIGNAL);
		if (n > 0) {
			ttrpc__buf_consume(&h->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
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
	if (h->closed || h->in_recv)
		return;
	for (;;) {
		if (!serialize(h)) {
			ttrpc__h2conn_close(h, "http2 session error");
			return;
		}
		if (ttrpc__buf_pending(&h->out) == 0)
			break;
		if (write_some(h)) {
			ttrpc__h2conn_close(h, "write failed");
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

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__h2conn *h = w->data;
	ssize_t n = recv(h->fd, h->rbuf, READ_CHUNK, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		ttrpc__h2conn_close(h, n == 0 ? "connection closed by peer" : "read failed");
		return;
	}
	h->in_recv = true;
	ssize_t rv = nghttp2_session_mem_recv(h->ngh, h->rbuf, (size_t)n);
	h->in_recv = false;
	if (h->closed)
		return;
	if (rv < 0) {
		/* bad preface (e.g. HTTP/1.1) or a fatal error: nghttp2 may have queued a GOAWAY */
		serialize(h);
		write_some(h);
		ttrpc__h2conn_close(h, rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? "not an HTTP/2 client" :
									    "http2 protocol error");
		return;
	}
	ttrpc__h2conn_flush(h);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc__h2conn_flush(w->data);
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
	ev_io_init(&h->rio, on_readable, fd, EV_READ);
	ev_io_init(&h->wio, on_writable, fd, EV_WRITE);
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
	ttrpc__buf_free(&h->out);
	free(h->rbuf);
	h->rbuf = NULL;
}
