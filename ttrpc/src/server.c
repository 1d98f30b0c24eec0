/* SPDX-License-Identifier: Apache-2.0 */
#include <ttrpc/server.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "call.h"
#include "conn.h"
#include "grpc_server.h"

struct listener {
	ev_io io;	/* first: the watcher's address is the listener's */
	ev_timer pause; /* out of fds: accept again after a moment */
	char *path;	/* unlinked on close; NULL for adopted fds */
	struct listener *next;
};

struct srv_conn {
	struct ttrpc__conn c; /* first: the session's user pointer is &c */
	struct ttrpc_server *server;
	struct srv_conn *prev, *next;
	struct ucred cred;
	bool have_cred;
	bool draining;	  /* graceful shutdown: close once idle */
	size_t n_blocked; /* calls that wait for their send window */
	bool scanning;	  /* waking blocked calls */
};

struct ttrpc_server {
	struct ev_loop *loop;
	struct ttrpc__registry *reg;
	struct ttrpc__grpc_server *grpc; /* gRPC listeners and connections */
	struct listener *listeners;
	struct srv_conn *conns;
	size_t n_conns;
	struct srv_conn *dead; /* closed conns waiting for the reaper */
	ev_idle reaper;
	ev_timer sweep; /* idle connections give back large buffers; heap trim */
	ev_timer shutdown_timer;
	bool shutting_down;
	ttrpc_shutdown_fn shutdown_done;
	void *shutdown_user;
	ttrpc_log_fn log;
	void *log_user;
	int want_uid, want_gid;
	int backlog; /* 0: the system maximum */
	struct ttrpc__budget budget;
};

#define SLOG(s, level, ...) ttrpc__logf((s)->log, (s)->log_user, level, __VA_ARGS__)

static void reap(struct ev_loop *loop, ev_idle *w, int revents);
static void sweep(struct ev_loop *loop, ev_timer *w, int revents);
static void shutdown_expired(struct ev_loop *loop, ev_timer *w, int revents);
static void budget_relieved(struct ttrpc__budget *b);
static void budget_pressure(struct ttrpc__budget *b);
static void budget_expired(struct ttrpc__budget *b, struct ttrpc__conn *c);

static ttrpc_server *budget_server(struct ttrpc__budget *b)
{
	return (ttrpc_server *)((char *)b - offsetof(ttrpc_server, budget));
}

ttrpc_server *ttrpc_server_new(struct ev_loop *loop)
{
	if (!loop)
		return NULL;
	ttrpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->reg = ttrpc__registry_new();
	if (!s->reg) {
		free(s);
		return NULL;
	}
	s->want_uid = s->want_gid = -1;
	ev_idle_init(&s->reaper, reap);
	s->reaper.data = s;
	ev_timer_init(&s->sweep, sweep, 0., 0.);
	s->sweep.data = s;
	ttrpc__sweep_start(loop, &s->sweep);
	ev_timer_init(&s->shutdown_timer, shutdown_expired, 0., 0.);
	s->shutdown_timer.data = s;
	s->budget.limit = TTRPC_SERVER_MEMORY_BUDGET_DEFAULT;
	s->budget.grace_s = TTRPC_SERVER_BUDGET_GRACE_DEFAULT;
	s->budget.relieved = budget_relieved;
	s->budget.pressure = budget_pressure;
	s->budget.expired = budget_expired;
	return s;
}

int ttrpc_server_set_backlog(ttrpc_server *s, int backlog)
{
	if (!s || backlog < 0)
		return TTRPC_EINVAL;
	s->backlog = backlog;
	return 0;
}

int ttrpc_server_set_memory_budget(ttrpc_server *s, size_t bytes)
{
	if (!s)
		return TTRPC_EINVAL;
	s->budget.limit = bytes;
	for (struct srv_conn *sc = s->conns, *next; sc; sc = next) {
		next = sc->next;
		ttrpc__conn_settle(&sc->c);
	}
	return 0;
}

int ttrpc_server_set_budget_grace(ttrpc_server *s, double seconds)
{
	if (!s || !(seconds >= 0) || !isfinite(seconds))
		return TTRPC_EINVAL;
	s->budget.grace_s = seconds;
	return 0;
}

size_t ttrpc_server_memory_held(const ttrpc_server *s)
{
	return s ? s->budget.used : 0;
}

/* The total fell (or a connection went): the paused ones may read again. */
static void budget_pressure(struct ttrpc__budget *b)
{
	ttrpc_server *s = budget_server(b);
	for (struct srv_conn *sc = s->conns; sc && b->spare; sc = sc->next)
		ttrpc__conn_shed(&sc->c);
}

static void budget_relieved(struct ttrpc__budget *b)
{
	ttrpc_server *s = budget_server(b);
	for (struct srv_conn *sc = s->conns, *next; sc && b->n_paused; sc = next) {
		next = sc->next;
		if (sc->c.budget_paused)
			ttrpc__conn_settle(&sc->c);
	}
}

static void budget_expired(struct ttrpc__budget *b, struct ttrpc__conn *c)
{
	ttrpc_server *s = budget_server(b);
	struct srv_conn *sc = (struct srv_conn *)c;
	size_t share = b->limit / (b->n_conns ? b->n_conns : 1);
	SLOG(s, TTRPC_LOG_WARN,
	     "ttrpc: closing connection of pid %d uid %d: it held %zu bytes (%zu queued answers), over its share "
	     "%zu of the %zu-byte server budget, without progress for %.1f s",
	     sc->have_cred ? (int)sc->cred.pid : -1, sc->have_cred ? (int)sc->cred.uid : -1, c->held,
	     ttrpc__session_out_pending(&c->session), share, b->limit, b->grace_s);
	ttrpc__conn_close(c, "over its memory budget share for too long");
}

void ttrpc_server_set_log(ttrpc_server *s, ttrpc_log_fn fn, void *user)
{
	s->log = fn;
	s->log_user = user;
	s->reg->log = fn;
	s->reg->log_user = user;
}

void ttrpc_server_require_creds(ttrpc_server *s, int uid, int gid)
{
	s->want_uid = uid;
	s->want_gid = gid;
}

int ttrpc_server_register(ttrpc_server *s, const char *service, const char *method, ttrpc_handler_fn fn, void *user)
{
	if (!s || !service || !method || !fn || !*service || !*method)
		return TTRPC_EINVAL;
	struct ttrpc__method m = { .kind = TTRPC_KIND_UNARY, .fn = fn, .user = user };
	return ttrpc__registry_add(s->reg, service, method, &m);
}

int ttrpc_server_register_stream(ttrpc_server *s, const char *service, const char *method,
				 const struct ttrpc_stream_handler *h, void *user)
{
	if (!s || !service || !method || !h || !*service || !*method || !h->on_open)
		return TTRPC_EINVAL;
	if (h->kind != TTRPC_KIND_SERVER_STREAM && h->kind != TTRPC_KIND_CLIENT_STREAM &&
	    h->kind != TTRPC_KIND_BIDI_STREAM)
		return TTRPC_EINVAL;
	struct ttrpc__method m = { .kind = h->kind, .sh = *h, .user = user };
	return ttrpc__registry_add(s->reg, service, method, &m);
}

int ttrpc_server_add_interceptor(ttrpc_server *s, const struct ttrpc_server_interceptor *ic)
{
	if (!s || !ic || (!ic->before && !ic->after))
		return TTRPC_EINVAL;
	struct ttrpc_server_interceptor *v = realloc(s->reg->ics, (s->reg->n_ics + 1) * sizeof(*v));
	if (!v)
		return TTRPC_ENOMEM;
	v[s->reg->n_ics++] = *ic;
	s->reg->ics = v;
	return 0;
}

int ttrpc_server_set_stream_buffer(ttrpc_server *s, size_t bytes)
{
	if (!s || bytes == 0)
		return TTRPC_EINVAL;
	s->reg->stream_buffer = bytes;
	return 0;
}

int ttrpc_server_set_max_message(ttrpc_server *s, size_t bytes)
{
	if (!s || bytes == 0 || bytes > TTRPC_MAX_MESSAGE_LIMIT)
		return TTRPC_EINVAL;
	s->reg->max_message = (uint32_t)bytes;
	for (struct srv_conn *sc = s->conns; sc; sc = sc->next)
		ttrpc__session_set_max_message(&sc->c.session, (uint32_t)bytes);
	return 0;
}

/* --- calls over a ttrpc session --- */

static void conn_maybe_drained(struct srv_conn *sc)
{
	if (sc->draining && !sc->c.closed && ttrpc__session_open_streams(&sc->c.session) == 0)
		ttrpc__conn_close_when_flushed(&sc->c);
}

static int op_send(ttrpc_call *call, const uint8_t *msg, size_t len)
{
	struct srv_conn *sc = call->tp;
	int rc = ttrpc__session_send_data(&sc->c.session, call->stream_id, 0, msg, len);
	if (rc)
		return rc;
	call->tp_mark = ttrpc__session_out_total(&sc->c.session);
	ttrpc__conn_kick(&sc->c);
	return 0;
}

static int op_finish(ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len)
{
	struct srv_conn *sc = call->tp;
	struct ttrpc__session *ss = &sc->c.session;
	int rc;
	if (code == TTRPC_CODE_OK && (call->kind == TTRPC_KIND_SERVER_STREAM || call->kind == TTRPC_KIND_BIDI_STREAM))
		rc = ttrpc__session_send_data(ss, call->stream_id, TTRPC__FLAG_REMOTE_CLOSED, NULL, 0);
	else
		rc = ttrpc__session_respond(ss, call->stream_id, code, message, payload, len);
	if (rc == TTRPC_ETOOBIG)
		SLOG(sc->server, TTRPC_LOG_WARN, "ttrpc: response of %s/%s too large, sent RESOURCE_EXHAUSTED",
		     call->service, call->method);
	ttrpc__conn_kick(&sc->c);
	conn_maybe_drained(sc);
	return rc;
}

/* The call's last frame still waits for TTRPC_STREAM_SEND_WINDOW bytes or
 * more to be written before it: the peer reads slower than the call sends. */
static bool unsent_over(const ttrpc_call *call, uint64_t limit)
{
	const struct srv_conn *sc = call->tp;
	uint64_t sent = ttrpc__session_sent_total(&sc->c.session);
	return call->tp_mark > sent && call->tp_mark - sent >= limit;
}

static bool op_congested(const ttrpc_call *call)
{
	return unsent_over(call, TTRPC_STREAM_SEND_WINDOW);
}

static void op_want_writable(ttrpc_call *call)
{
	struct srv_conn *sc = call->tp;
	sc->n_blocked++;
}

static const struct ttrpc__call_ops session_call_ops = {
	.send = op_send,
	.finish = op_finish,
	.congested = op_congested,
	.want_writable = op_want_writable,
};

static void collect_writable(uint32_t id, void *data, void *arg)
{
	struct ttrpc__wake_scan *w = arg;
	ttrpc_call *call = data;
	if (!call || !call->want_writable)
		return;
	if (unsent_over(call, TTRPC_STREAM_SEND_WINDOW / 2))
		w->waiting++;
	else
		ttrpc__wake_scan_add(w, id);
}

/* Output was written: wake the calls whose send window drained to half. */
static void conn_progress(struct ttrpc__conn *c)
{
	struct srv_conn *sc = (struct srv_conn *)c;
	if (!sc->n_blocked || sc->scanning)
		return;
	sc->scanning = true;
	struct ttrpc__wake_scan w = { 0 };
	ttrpc__session_each_stream(&c->session, collect_writable, &w);
	sc->n_blocked = w.waiting + w.n;
	for (size_t i = 0; i < w.n && !c->closed; i++) {
		int found;
		ttrpc_call *call = ttrpc__session_stream_data(&c->session, w.ids[i], &found);
		if (!found || !call)
			continue;
		sc->n_blocked--;
		ttrpc__call_writable(call);
	}
	free(w.ids);
	sc->scanning = false;
}

static void on_request(struct ttrpc__session *ss, uint32_t stream_id, const struct ttrpc__request_in *req, void *user)
{
	struct srv_conn *sc = user;
	struct ttrpc__call_info info = {
		.service = req->service,
		.method = req->method,
		.service_cut = req->service_cut,
		.method_cut = req->method_cut,
		.timeout_ns = req->timeout_ns,
		.cred = sc->have_cred ? &sc->cred : NULL,
	};
	ttrpc_call *call = ttrpc__call_new(sc->server->reg, &session_call_ops, sc, stream_id, &info);
	if (!call) {
		ttrpc__session_respond(ss, stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		return;
	}
	/* The stream table maps stream id -> call, for data and orphaning. */
	ttrpc__session_set_stream_data(ss, stream_id, call);
	if (ttrpc__request_in_md(req, &call->md)) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (sc->draining) {
		ttrpc_call_respond_error(call, TTRPC_CODE_UNAVAILABLE, "ttrpc: server shutting down");
		return;
	}
	ttrpc__call_start(call, req->payload, req->len, req->has_payload);
	/* A Request flagged remote-closed is also the client's close-send
	 * (PROTOCOL.md Request flags: a client stream with no more messages). */
	if (req->flags & TTRPC__FLAG_REMOTE_CLOSED) {
		int found;
		if (ttrpc__session_stream_data(ss, stream_id, &found) == call && found)
			ttrpc__call_close_send(call);
	}
}

static int on_data(struct ttrpc__session *ss, uint32_t stream_id, void *stream_data, const uint8_t *msg, size_t len,
		   void *user)
{
	(void)ss;
	(void)stream_id;
	(void)user;
	return stream_data ? ttrpc__call_deliver(stream_data, msg, len) : 0;
}

static void on_close_send(struct ttrpc__session *ss, uint32_t stream_id, void *stream_data, void *user)
{
	(void)ss;
	(void)stream_id;
	(void)user;
	if (stream_data)
		ttrpc__call_close_send(stream_data);
}

static void on_reset(struct ttrpc__session *ss, uint32_t stream_id, void *stream_data, int code, const char *message,
		     void *user)
{
	(void)ss;
	struct srv_conn *sc = user;
	SLOG(sc->server, TTRPC_LOG_DEBUG, "ttrpc: stream %u failed: %s", stream_id, message);
	if (stream_data && ttrpc__call_detach(stream_data, code))
		ttrpc__call_run_orphan(stream_data);
	conn_maybe_drained(sc);
}

/* --- connections --- */

static void check_shutdown_done(ttrpc_server *s)
{
	if (!s->shutting_down || ttrpc_server_conn_count(s) > 0)
		return;
	s->shutting_down = false;
	ev_timer_stop(s->loop, &s->shutdown_timer);
	ttrpc_shutdown_fn done = s->shutdown_done;
	s->shutdown_done = NULL;
	if (done)
		done(s, s->shutdown_user);
}

static void reap(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ttrpc_server *s = w->data;
	ev_idle_stop(loop, w);
	while (s->dead) {
		struct srv_conn *sc = s->dead;
		s->dead = sc->next;
		ttrpc__conn_destroy(&sc->c);
		free(sc);
	}
	check_shutdown_done(s);
}

/* About once a second: connections idle since the last sweep give back their
 * large buffers, and freed heap goes back to the system (at most once a
 * second, not per message: a trim per 1 MiB message halved throughput). */
static void sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_server *s = w->data;
	for (struct srv_conn *sc = s->conns, *next; sc; sc = next) {
		next = sc->next; /* a settle may close and unlink sc */
		ttrpc__conn_release_idle(&sc->c);
	}
	ttrpc__heap_trim_if_due();
}

/* The socket is gone: orphan every call still held by a handler, unlink the
 * conn and leave it to the reaper (we may be inside its own callback). */
static void conn_closed(struct ttrpc__conn *c, const char *reason)
{
	struct srv_conn *sc = (struct srv_conn *)c;
	ttrpc_server *s = sc->server;
	SLOG(s, TTRPC_LOG_DEBUG, "ttrpc: connection closed: %s", reason);
	void *data;
	ttrpc_call *orphans = NULL;
	while (ttrpc__session_pop_stream(&c->session, &data)) {
		ttrpc_call *call = data;
		if (call && ttrpc__call_detach(call, TTRPC_CODE_CANCELLED)) {
			call->orphan_next = orphans;
			orphans = call;
		}
	}
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		s->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	s->n_conns--;
	sc->next = s->dead;
	s->dead = sc;
	ev_idle_start(s->loop, &s->reaper);
	while (orphans) {
		ttrpc_call *call = orphans;
		orphans = call->orphan_next;
		ttrpc__call_run_orphan(call);
	}
}

static const struct ttrpc__session_cbs server_cbs = {
	.on_request = on_request,
	.on_data = on_data,
	.on_close_send = on_close_send,
	.on_reset = on_reset,
};

static void session_log(void *user, int level, const char *msg)
{
	struct srv_conn *sc = user;
	if (sc->server->log)
		sc->server->log(sc->server->log_user, level, msg);
}

static int add_conn(ttrpc_server *s, int fd)
{
	struct srv_conn *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		close(fd);
		return TTRPC_ENOMEM;
	}
	socklen_t len = sizeof(sc->cred);
	sc->have_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &sc->cred, &len) == 0;
	if (s->want_uid != -1 || s->want_gid != -1) {
		bool ok = sc->have_cred && (s->want_uid == -1 || (uid_t)s->want_uid == sc->cred.uid) &&
			  (s->want_gid == -1 || (gid_t)s->want_gid == sc->cred.gid);
		if (!ok) {
			SLOG(s, TTRPC_LOG_WARN, "ttrpc: rejected peer pid %d uid %d gid %d: credentials mismatch",
			     (int)sc->cred.pid, (int)sc->cred.uid, (int)sc->cred.gid);
			close(fd);
			free(sc);
			return TTRPC_EPROTO;
		}
	}
	struct ttrpc__session_cbs cbs = server_cbs;
	cbs.on_log = session_log;
	sc->server = s;
	ttrpc__conn_init(&sc->c, s->loop, fd, TTRPC__ROLE_SERVER, &cbs, conn_closed);
	ttrpc__session_set_max_message(&sc->c.session, s->reg->max_message);
	sc->c.on_progress = conn_progress;
	ttrpc__conn_set_budget(&sc->c, &s->budget);
	sc->next = s->conns;
	if (s->conns)
		s->conns->prev = sc;
	s->conns = sc;
	s->n_conns++;
	return 0;
}

int ttrpc_server_adopt_conn(ttrpc_server *s, int fd)
{
	if (fd < 0)
		return TTRPC_EINVAL;
	int rc = !s ? TTRPC_EINVAL : s->shutting_down ? TTRPC_ESTATE : 0;
	if (rc) {
		close(fd); /* owned from the call on, as the header says */
		return rc;
	}
	return add_conn(s, fd);
}

#define ACCEPT_BATCH 64

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_server *s = w->data;
	/* Bounded per wake-up so one busy listener cannot starve the loop; the
	 * watcher is level-triggered, so what is left is accepted next round. */
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* the listener stays readable: pause it rather than spin */
				SLOG(s, TTRPC_LOG_ERROR, "ttrpc: accept: %s; pausing accepts for 100 ms",
				     strerror(errno));
				struct listener *l = (struct listener *)w;
				ev_io_stop(s->loop, &l->io);
				ev_timer_set(&l->pause, 0.1, 0.); /* an expired timer needs its delay again */
				ev_timer_start(s->loop, &l->pause);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
				SLOG(s, TTRPC_LOG_ERROR, "ttrpc: accept: %s", strerror(errno));
			}
			return;
		}
		add_conn(s, fd);
	}
}

static void resume_accept(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct listener *l = w->data;
	ev_io_start(loop, &l->io);
}

static int add_listener(ttrpc_server *s, int fd, const char *path)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return TTRPC_ENOMEM;
	if (path && !(l->path = strdup(path))) {
		free(l);
		return TTRPC_ENOMEM;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	l->io.data = s;
	ev_timer_init(&l->pause, resume_accept, 0.1, 0.);
	l->pause.data = l;
	ev_io_start(s->loop, &l->io);
	l->next = s->listeners;
	s->listeners = l;
	return 0;
}

int ttrpc_server_adopt_listener(ttrpc_server *s, int fd)
{
	if (fd < 0)
		return TTRPC_EINVAL;
	int rc = !s ? TTRPC_EINVAL : s->shutting_down ? TTRPC_ESTATE : add_listener(s, fd, NULL);
	if (rc)
		close(fd); /* owned from the call on, as the header says */
	return rc;
}

/* An existing socket file nobody accepts on is stale and may be replaced. */
static int clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	if (lstat(addr->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : TTRPC_ESYS;
	if (!S_ISSOCK(st.st_mode))
		return TTRPC_EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TTRPC_ESYS;
	int live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	if (live)
		return TTRPC_EEXIST;
	return unlink(addr->sun_path) == 0 || errno == ENOENT ? 0 : TTRPC_ESYS;
}

/* Bind and listen on a temporary name, then link it to path: the socket file
 * appears only once it accepts connections (a client that waits for the file
 * never meets ECONNREFUSED), and link() fails when path exists, so two
 * servers racing for one path cannot both win. Paths too long for the
 * temporary name are bound directly. */
/* The kernel's ceiling for listen() backlogs, as Go's net package uses it:
 * a burst of connects beyond the backlog fails with EAGAIN at the client. */
static int system_backlog(void)
{
	int n = 0;
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 0 ? n : SOMAXCONN;
}

static int bind_listening(const char *path, int backlog, int *fd_out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int direct = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s.%d.tmp", path, (int)getpid()) >=
		     (int)sizeof(addr.sun_path);
	if (direct)
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	else
		unlink(addr.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TTRPC_ESYS;
	int rc = 0;
	bool bound = false;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		rc = errno == EADDRINUSE ? TTRPC_EEXIST : TTRPC_ESYS;
	} else {
		bound = true;
		/* nobody can connect before listen(), so the mode is set in time */
		if (chmod(addr.sun_path, 0600) != 0 || listen(fd, backlog) != 0)
			rc = TTRPC_ESYS;
		else if (!direct && link(addr.sun_path, path) != 0)
			rc = errno == EEXIST ? TTRPC_EEXIST : TTRPC_ESYS;
	}
	int e = errno;
	if (bound && (!direct || rc)) /* the temporary name always goes; path only on failure */
		unlink(addr.sun_path);
	if (rc)
		close(fd);
	else
		*fd_out = fd;
	errno = e;
	return rc;
}

int ttrpc_server_listen(ttrpc_server *s, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (!s || !path || !*path || strlen(path) >= sizeof(addr.sun_path))
		return TTRPC_EINVAL;
	if (s->shutting_down)
		return TTRPC_ESTATE;
	strcpy(addr.sun_path, path);
	int rc = clear_stale(&addr);
	if (rc)
		return rc;
	int fd;
	rc = bind_listening(path, s->backlog > 0 ? s->backlog : system_backlog(), &fd);
	if (rc)
		return rc;
	rc = add_listener(s, fd, path);
	if (rc) {
		close(fd);
		unlink(path);
	}
	return rc;
}

static void close_listeners(ttrpc_server *s)
{
	while (s->listeners) {
		struct listener *l = s->listeners;
		s->listeners = l->next;
		ev_io_stop(s->loop, &l->io);
		ev_timer_stop(s->loop, &l->pause);
		close(l->io.fd);
		if (l->path)
			unlink(l->path);
		free(l->path);
		free(l);
	}
}

void ttrpc_server_close(ttrpc_server *s)
{
	if (!s)
		return;
	close_listeners(s);
	while (s->conns)
		ttrpc__conn_close(&s->conns->c, "server closed");
	if (s->grpc)
		ttrpc__grpc_server_close(s->grpc);
}

static void shutdown_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_server *s = w->data;
	SLOG(s, TTRPC_LOG_WARN, "ttrpc: shutdown deadline passed with %zu connections busy; closing", s->n_conns);
	ttrpc_server_close(s);
}

void ttrpc_server_shutdown(ttrpc_server *s, double timeout_s, ttrpc_shutdown_fn done, void *user)
{
	close_listeners(s);
	s->shutting_down = true;
	s->shutdown_done = done;
	s->shutdown_user = user;
	for (struct srv_conn *sc = s->conns, *next; sc; sc = next) {
		next = sc->next;
		sc->draining = true;
		conn_maybe_drained(sc);
	}
	if (s->grpc)
		ttrpc__grpc_server_shutdown(s->grpc);
	if (timeout_s > 0 && isfinite(timeout_s)) {
		ev_now_update(s->loop);
		ev_timer_set(&s->shutdown_timer, timeout_s, 0.);
		ev_timer_start(s->loop, &s->shutdown_timer);
	}
	/* Report from the loop, even when nothing was open. */
	ev_idle_start(s->loop, &s->reaper);
}

size_t ttrpc_server_conn_count(const ttrpc_server *s)
{
	return s ? s->n_conns + (s->grpc ? ttrpc__grpc_server_conn_count(s->grpc) : 0) : 0;
}

void ttrpc_server_free(ttrpc_server *s)
{
	if (!s)
		return;
	ttrpc_server_close(s);
	ev_idle_stop(s->loop, &s->reaper);
	ev_timer_stop(s->loop, &s->shutdown_timer);
	ttrpc__sweep_stop(s->loop, &s->sweep);
	while (s->dead) {
		struct srv_conn *sc = s->dead;
		s->dead = sc->next;
		ttrpc__conn_destroy(&sc->c);
		free(sc);
	}
	ttrpc__grpc_server_free(s->grpc);
	ttrpc__registry_unref(s->reg);
	free(s);
	ttrpc__heap_trim_if_due();
}

/* --- hooks for the gRPC transport (grpc_server.c) --- */

struct ttrpc__registry *ttrpc__server_registry(const ttrpc_server *s)
{
	return s->reg;
}

bool ttrpc__server_peer_ok(ttrpc_server *s, int fd, struct ucred *cred, bool *have_cred)
{
	socklen_t len = sizeof(*cred);
	*have_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == 0 && cred->pid > 0;
	if (s->want_uid == -1 && s->want_gid == -1)
		return true;
	bool ok = *have_cred && (s->want_uid == -1 || (uid_t)s->want_uid == cred->uid) &&
		  (s->want_gid == -1 || (gid_t)s->want_gid == cred->gid);
	if (!ok)
		SLOG(s, TTRPC_LOG_WARN, "ttrpc: rejected grpc peer pid %d uid %d gid %d: credentials mismatch",
		     *have_cred ? (int)cred->pid : -1, *have_cred ? (int)cred->uid : -1,
		     *have_cred ? (int)cred->gid : -1);
	return ok;
}

int ttrpc__server_bind_unix(ttrpc_server *s, const char *path, int *fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (!path || !*path || strlen(path) >= sizeof(addr.sun_path))
		return TTRPC_EINVAL;
	strcpy(addr.sun_path, path);
	int rc = clear_stale(&addr);
	return rc ? rc : bind_listening(path, s->backlog > 0 ? s->backlog : system_backlog(), fd);
}

struct ev_loop *ttrpc__server_loop(const ttrpc_server *s)
{
	return s->loop;
}

bool ttrpc__server_shutting_down(const ttrpc_server *s)
{
	return s->shutting_down;
}

void ttrpc__server_ext_conn_gone(ttrpc_server *s)
{
	if (s->shutting_down)
		ev_idle_start(s->loop, &s->reaper); /* reports from the loop */
}

struct ttrpc__grpc_server *ttrpc__server_grpc(ttrpc_server *s)
{
	if (!s->grpc)
		s->grpc = ttrpc__grpc_server_new(s);
	return s->grpc;
}
