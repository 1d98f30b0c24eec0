/* SPDX-License-Identifier: Apache-2.0 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (256u * 1024u)

void ttrpc__logf(ttrpc_log_fn fn, void *user, int level, const char *fmt, ...)
{
	if (!fn)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(user, level, msg);
}

/* Write what we can; true when the socket failed. */
static bool write_some(struct ttrpc__conn *c)
{
	struct ttrpc__buf *out = &c->session.out;
	while (ttrpc__buf_pending(out) > 0) {
		ssize_t n = send(c->fd, ttrpc__buf_head(out), ttrpc__buf_pending(out), MSG_NOSIGNAL);
		if (n > 0) {
			ttrpc__buf_consume(out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		return true;
	}
	return false;
}

/* A peer that sends requests but does not read the answers must not make us
 * queue without bound: past the high-water mark we stop reading from it
 * until the queue drains below the low-water mark. */
#define OUT_HIGH_WATER (3u * TTRPC_MAX_MESSAGE_SIZE)
#define OUT_LOW_WATER (TTRPC_MAX_MESSAGE_SIZE / 4)

static void after_write(struct ttrpc__conn *c)
{
	size_t pending = ttrpc__buf_pending(&c->session.out);
	if (pending > OUT_HIGH_WATER && ev_is_active(&c->rio))
		ev_io_stop(c->loop, &c->rio);
	else if (pending <= OUT_LOW_WATER && !ev_is_active(&c->rio) && !c->closed)
		ev_io_start(c->loop, &c->rio);
	if (pending > 0) {
		if (!ev_is_active(&c->wio))
			ev_io_start(c->loop, &c->wio);
		return;
	}
	if (ev_is_active(&c->wio))
		ev_io_stop(c->loop, &c->wio);
	if (c->close_when_flushed)
		ttrpc__conn_close(c, "closed after flush");
}

void ttrpc__conn_kick(struct ttrpc__conn *c)
{
	if (c->closed || c->in_recv)
		return;
	if (!ev_is_active(&c->wio) && write_some(c)) {
		ttrpc__conn_close(c, "write failed");
		return;
	}
	after_write(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__conn *c = w->data;
	if (write_some(c)) {
		ttrpc__conn_close(c, "write failed");
		return;
	}
	after_write(c);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__conn *c = w->data;
	static _Thread_local uint8_t chunk[READ_CHUNK];
	ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n == 0) {
		ttrpc__conn_close(c, "connection closed by peer");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		ttrpc__conn_close(c, "read failed");
		return;
	}
	c->in_recv = true;
	int rc = ttrpc__session_recv(&c->session, chunk, (size_t)n);
	c->in_recv = false;
	if (rc) {
		ttrpc__conn_close(c, "out of memory");
		return;
	}
	ttrpc__conn_kick(c);
}

void ttrpc__conn_init(struct ttrpc__conn *c, struct ev_loop *loop, int fd, enum ttrpc__role role,
		      const struct ttrpc__session_cbs *cbs, ttrpc__conn_closed_fn on_closed)
{
	c->loop = loop;
	c->fd = fd;
	c->on_closed = on_closed;
	c->in_recv = c->closed = c->close_when_flushed = false;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ttrpc__session_init(&c->session, role, cbs, c);
	ev_io_init(&c->rio, on_readable, fd, EV_READ);
	ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(loop, &c->rio);
}

void ttrpc__conn_close(struct ttrpc__conn *c, const char *reason)
{
	if (c->closed)
		return;
	c->closed = true;
	c->session.halted = true;
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	if (c->on_closed)
		c->on_closed(c, reason);
}

void ttrpc__conn_close_when_flushed(struct ttrpc__conn *c)
{
	c->close_when_flushed = true;
	if (!c->in_recv && ttrpc__buf_pending(&c->session.out) == 0)
		ttrpc__conn_close(c, "closed");
}

void ttrpc__conn_destroy(struct ttrpc__conn *c)
{
	ttrpc__session_destroy(&c->session);
}
