/* SPDX-License-Identifier: Apache-2.0 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (256u * 1024u)

void ttrpc__wake_scan_add(struct ttrpc__wake_scan *w, uint32_t id)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint32_t *ids = realloc(w->ids, cap * sizeof(*ids));
		if (!ids) {
			w->waiting++;
			return;
		}
		w->ids = ids;
		w->cap = cap;
	}
	w->ids[w->n++] = id;
}

char *ttrpc__names_dup(const char *service, const char *method, char **method_copy)
{
	size_t ls = strlen(service), lm = strlen(method);
	char *p = malloc(ls + lm + 2);
	if (!p)
		return NULL;
	memcpy(p, service, ls + 1);
	memcpy(p + ls + 1, method, lm + 1);
	*method_copy = p + ls + 1;
	return p;
}

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
	size_t len;
	const uint8_t *p;
	while ((p = ttrpc__session_out(&c->session, &len)), len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			ttrpc__session_sent(&c->session, (size_t)n);
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

size_t ttrpc__conn_held(const struct ttrpc__conn *c)
{
	return ttrpc__session_held(&c->session);
}

static bool release_buffers(struct ttrpc__conn *c);

static void account(struct ttrpc__conn *c)
{
	struct ttrpc__budget *b = c->budget;
	if (!b)
		return;
	size_t now = c->closed ? 0 : ttrpc__conn_held(c);
	size_t spare = c->closed ? 0 : ttrpc__session_spare(&c->session);
	b->used = b->used - c->held + now;
	b->spare = b->spare - c->spare + spare;
	c->held = now;
	c->spare = spare;
}

/* Over the limit, the connections holding at least their share stop being
 * read (the sum cannot exceed the limit unless one does); they read again
 * once the total is back under three quarters of it or their own hold under
 * half their share. */
static bool over_share(const struct ttrpc__conn *c)
{
	const struct ttrpc__budget *b = c->budget;
	if (!b || !b->limit || c->closed)
		return false;
	size_t share = b->limit / (b->n_conns ? b->n_conns : 1);
	if (!c->budget_paused)
		return b->used > b->limit && c->held >= share;
	return b->used > b->limit / 4 * 3 && c->held >= share / 2;
}

static void set_budget_paused(struct ttrpc__conn *c, bool on)
{
	struct ttrpc__budget *b = c->budget;
	if (on == c->budget_paused)
		return;
	c->budget_paused = on;
	if (!on) {
		b->n_paused--;
		ev_timer_stop(c->loop, &c->over_timer);
		return;
	}
	b->n_paused++;
	c->last_progress = ev_now(c->loop);
	if (b->grace_s > 0) {
		ev_timer_set(&c->over_timer, b->grace_s, 0.);
		ev_timer_start(c->loop, &c->over_timer);
	}
}

static void over_budget_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct ttrpc__conn *c = w->data;
	struct ttrpc__budget *b = c->budget;
	if (c->closed || !c->budget_paused)
		return;
	/* a reader that is slow but reading is not stuck: count from its last progress */
	double quiet = ev_now(loop) - c->last_progress;
	if (quiet < b->grace_s) {
		ev_timer_set(w, b->grace_s - quiet, 0.);
		ev_timer_start(loop, w);
		return;
	}
	b->expired(b, c);
}

static void maybe_relieve(struct ttrpc__budget *b, bool conn_gone)
{
	if (!b || !b->n_paused || b->relieving || !b->relieved)
		return;
	if (!conn_gone && b->used > b->limit / 4 * 3)
		return;
	b->relieving = true;
	b->relieved(b);
	b->relieving = false;
}

static bool release_buffers(struct ttrpc__conn *c)
{
	size_t freed = ttrpc__session_release_buffers(&c->session);
	if (freed)
		ttrpc__heap_note_free(freed);
	return freed > 0;
}

void ttrpc__conn_release_idle(struct ttrpc__conn *c)
{
	if (c->closed)
		return;
	if (c->active)
		c->active = false;
	else if (release_buffers(c))
		ttrpc__conn_settle(c);
}

void ttrpc__sweep_start(struct ev_loop *loop, ev_timer *t)
{
	if (ev_is_active(t))
		return;
	ev_timer_set(t, TTRPC__SWEEP_S, TTRPC__SWEEP_S);
	ev_timer_start(loop, t);
	ev_unref(loop);
}

void ttrpc__sweep_stop(struct ev_loop *loop, ev_timer *t)
{
	if (!ev_is_active(t))
		return;
	ev_ref(loop);
	ev_timer_stop(loop, t);
}

void ttrpc__conn_shed(struct ttrpc__conn *c)
{
	if (!c->closed && release_buffers(c))
		account(c);
}

void ttrpc__conn_settle(struct ttrpc__conn *c)
{
	account(c);
	struct ttrpc__budget *b = c->budget;
	/* over the budget, the empty buffers kept for reuse go before anyone is paused */
	if (b && b->limit && b->used > b->limit && b->spare && b->pressure && !b->pressing) {
		b->pressing = true;
		b->pressure(b);
		b->pressing = false;
	}
	if (c->closed || ev_is_active(&c->fail_soon))
		return;
	size_t pending = ttrpc__session_out_pending(&c->session);
	if (pending > OUT_HIGH_WATER)
		c->out_paused = true;
	else if (pending <= OUT_LOW_WATER)
		c->out_paused = false;
	if (c->budget)
		set_budget_paused(c, over_share(c));
	bool want_read = !c->out_paused && !c->budget_paused;
	if (want_read && !ev_is_active(&c->rio))
		ev_io_start(c->loop, &c->rio);
	else if (!want_read && ev_is_active(&c->rio))
		ev_io_stop(c->loop, &c->rio);
	if (pending > 0) {
		if (!ev_is_active(&c->wio))
			ev_io_start(c->loop, &c->wio);
	} else if (ev_is_active(&c->wio)) {
		ev_io_stop(c->loop, &c->wio);
	}
	maybe_relieve(c->budget, false);
	if (pending == 0 && c->close_when_flushed)
		ttrpc__conn_close(c, "closed after flush");
}

void ttrpc__conn_set_budget(struct ttrpc__conn *c, struct ttrpc__budget *budget)
{
	c->budget = budget;
	budget->n_conns++;
	ttrpc__conn_settle(c);
}

static void on_fail_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__conn *c = w->data;
	ttrpc__conn_close(c, c->fail_reason);
}

/* Kicks run inside API calls (a client's new request, a handler's answer),
 * whose callers are promised that completions run later from the loop,
 * never inside the call: a write that fails there closes the connection on
 * the next loop iteration instead of now. */
static void close_soon(struct ttrpc__conn *c, const char *reason)
{
	if (ev_is_active(&c->fail_soon))
		return;
	c->fail_reason = reason;
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_timer_set(&c->fail_soon, 0., 0.);
	ev_timer_start(c->loop, &c->fail_soon);
}

void ttrpc__conn_kick(struct ttrpc__conn *c)
{
	if (c->closed || c->in_recv || ev_is_active(&c->fail_soon))
		return;
	c->active = true;
	uint64_t sent = ttrpc__session_sent_total(&c->session);
	if (!ev_is_active(&c->wio) && write_some(c)) {
		close_soon(c, "write failed");
		return;
	}
	ttrpc__conn_settle(c);
	if (c->on_progress && !c->closed && ttrpc__session_sent_total(&c->session) != sent)
		c->on_progress(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct ttrpc__conn *c = w->data;
	c->active = true;
	uint64_t before = ttrpc__session_sent_total(&c->session);
	if (write_some(c)) {
		ttrpc__conn_close(c, "write failed");
		return;
	}
	bool progress = ttrpc__session_sent_total(&c->session) != before;
	if (progress)
		c->last_progress = ev_now(loop);
	ttrpc__conn_settle(c);
	if (progress && c->on_progress && !c->closed)
		c->on_progress(c);
}

/* One read buffer per thread that reads, made at its first read: a static
 * thread-local array would cost every thread of the application its size
 * (glibc clears each thread's TLS block when it creates the thread), and
 * every process its pages at start-up. Freed with the thread. */
static pthread_key_t chunk_key;
static pthread_once_t chunk_once = PTHREAD_ONCE_INIT;
static bool chunk_key_ok;

static void chunk_key_make(void)
{
	chunk_key_ok = pthread_key_create(&chunk_key, free) == 0;
}

static uint8_t *read_chunk(void)
{
	static _Thread_local uint8_t *chunk;
	if (!chunk) {
		pthread_once(&chunk_once, chunk_key_make);
		if (!chunk_key_ok || !(chunk = malloc(READ_CHUNK)))
			return NULL;
		if (pthread_setspecific(chunk_key, chunk)) {
			free(chunk);
			chunk = NULL;
		}
	}
	return chunk;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ttrpc__conn *c = w->data;
	uint8_t *chunk = read_chunk();
	if (!chunk) {
		ttrpc__conn_close(c, "out of memory");
		return;
	}
	ssize_t n = recv(c->fd, chunk, READ_CHUNK, 0);
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
	c->active = true;
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
	c->on_progress = NULL;
	c->in_recv = c->closed = c->close_when_flushed = false;
	c->out_paused = c->budget_paused = false;
	c->budget = NULL;
	c->held = c->spare = 0;
	c->active = true;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ttrpc__session_init(&c->session, role, cbs, c);
	ev_io_init(&c->rio, on_readable, fd, EV_READ);
	ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
	ev_timer_init(&c->over_timer, over_budget_expired, 0., 0.);
	ev_timer_init(&c->fail_soon, on_fail_soon, 0., 0.);
	c->rio.data = c->wio.data = c->over_timer.data = c->fail_soon.data = c;
	ev_io_start(loop, &c->rio);
}

void ttrpc__conn_close(struct ttrpc__conn *c, const char *reason)
{
	if (c->closed)
		return;
	c->closed = true;
	ttrpc__session_halt(&c->session);
	ev_timer_stop(c->loop, &c->fail_soon);
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	/* what was queued can never be sent: give the memory back now, not
	 * when the owner gets round to freeing the conn */
	ttrpc__session_drop_buffers(&c->session);
	struct ttrpc__budget *b = c->budget;
	if (b) {
		set_budget_paused(c, false);
		account(c);
		b->n_conns--;
		maybe_relieve(b, true);
	}
	if (c->on_closed)
		c->on_closed(c, reason);
}

void ttrpc__conn_close_when_flushed(struct ttrpc__conn *c)
{
	c->close_when_flushed = true;
	if (!c->in_recv && ttrpc__session_out_pending(&c->session) == 0)
		ttrpc__conn_close(c, "closed");
}

void ttrpc__conn_destroy(struct ttrpc__conn *c)
{
	ev_timer_stop(c->loop, &c->fail_soon);
	ttrpc__session_destroy(&c->session);
}
