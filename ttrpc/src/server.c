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

#include "conn.h"

struct method {
	char *service;
	char *method;
	ttrpc_handler_fn fn;
	void *user;
};

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
	bool draining; /* graceful shutdown: close once idle */
};

struct ttrpc_call {
	struct srv_conn *conn; /* NULL once orphaned */
	uint32_t stream_id;
	Ttrpc__Request *req;
	struct ttrpc_md md;
	int64_t deadline_ns;
	struct ucred cred;
	bool have_cred;
	void (*on_orphan)(ttrpc_call *call, void *user);
	void *orphan_user;
	ttrpc_call *orphan_next; /* hooks run after the conn is unlinked */
};

struct ttrpc_server {
	struct ev_loop *loop;
	struct method *methods;
	size_t n_methods;
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
	     ttrpc__buf_pending(&c->session.out), share, b->limit, b->grace_s);
	ttrpc__conn_close(c, "over its memory budget share for too long");
}

void ttrpc_server_set_log(ttrpc_server *s, ttrpc_log_fn fn, void *user)
{
	s->log = fn;
	s->log_user = user;
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
	for (size_t i = 0; i < s->n_methods; i++)
		if (!strcmp(s->methods[i].service, service) && !strcmp(s->methods[i].method, method))
			return TTRPC_EEXIST;
	struct method *m = realloc(s->methods, (s->n_methods + 1) * sizeof(*m));
	if (!m)
		return TTRPC_ENOMEM;
	s->methods = m;
	m = &s->methods[s->n_methods];
	m->service = strdup(service);
	m->method = strdup(method);
	if (!m->service || !m->method) {
		free(m->service);
		free(m->method);
		return TTRPC_ENOMEM;
	}
	m->fn = fn;
	m->user = user;
	s->n_methods++;
	return 0;
}

static const struct method *lookup(const ttrpc_server *s, const char *service, const char *method)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (!strcmp(s->methods[i].method, method) && !strcmp(s->methods[i].service, service))
			return &s->methods[i];
	return NULL;
}

static bool service_known(const ttrpc_server *s, const char *service)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (!strcmp(s->methods[i].service, service))
			return true;
	return false;
}

/* --- calls --- */

static void call_free(ttrpc_call *call)
{
	if (call->req) {
		ttrpc__heap_note_free(call->req->payload.len);
		ttrpc__request__free_unpacked(call->req, NULL);
	}
	ttrpc__md_clear(&call->md);
	free(call);
}

static void conn_maybe_drained(struct srv_conn *sc)
{
	if (sc->draining && !sc->c.closed && ttrpc__session_open_streams(&sc->c.session) == 0)
		ttrpc__conn_close_when_flushed(&sc->c);
}

static int finish(ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len)
{
	struct srv_conn *sc = call->conn;
	int rc = TTRPC_ECLOSED;
	if (sc) {
		rc = ttrpc__session_respond(&sc->c.session, call->stream_id, code, message, payload, len);
		if (rc == TTRPC_ETOOBIG)
			SLOG(sc->server, TTRPC_LOG_WARN, "ttrpc: response of %s/%s too large, sent RESOURCE_EXHAUSTED",
			     call->req->service, call->req->method);
		ttrpc__conn_kick(&sc->c);
		conn_maybe_drained(sc);
	}
	call_free(call);
	return rc;
}

int ttrpc_call_respond(ttrpc_call *call, const uint8_t *payload, size_t len)
{
	if (!call || (!payload && len))
		return TTRPC_EINVAL;
	return finish(call, TTRPC_CODE_OK, NULL, payload, len);
}

int ttrpc_call_respond_error(ttrpc_call *call, int code, const char *fmt, ...)
{
	if (!call)
		return TTRPC_EINVAL;
	char msg[1024] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (code == TTRPC_CODE_OK)
		code = TTRPC_CODE_UNKNOWN; /* an error answer must not read as success */
	return finish(call, code, msg, NULL, 0);
}

const char *ttrpc_call_service(const ttrpc_call *call)
{
	return call->req->service;
}
const char *ttrpc_call_method(const ttrpc_call *call)
{
	return call->req->method;
}
const ttrpc_md *ttrpc_call_metadata(const ttrpc_call *call)
{
	return &call->md;
}
int64_t ttrpc_call_deadline_ns(const ttrpc_call *call)
{
	return call->deadline_ns;
}
bool ttrpc_call_orphaned(const ttrpc_call *call)
{
	return call->conn == NULL;
}

int ttrpc_call_peer(const ttrpc_call *call, pid_t *pid, uid_t *uid, gid_t *gid)
{
	if (!call->have_cred)
		return TTRPC_ENOTFOUND;
	if (pid)
		*pid = call->cred.pid;
	if (uid)
		*uid = call->cred.uid;
	if (gid)
		*gid = call->cred.gid;
	return 0;
}

void ttrpc_call_on_orphan(ttrpc_call *call, void (*fn)(ttrpc_call *call, void *user), void *user)
{
	call->on_orphan = fn;
	call->orphan_user = user;
}

static void on_request(struct ttrpc__session *ss, uint32_t stream_id, Ttrpc__Request *req, void *user)
{
	(void)ss;
	struct srv_conn *sc = user;
	ttrpc_call *call = calloc(1, sizeof(*call));
	if (!call) {
		ttrpc__request__free_unpacked(req, NULL);
		ttrpc__session_respond(&sc->c.session, stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL,
				       0);
		return;
	}
	call->conn = sc;
	call->stream_id = stream_id;
	call->req = req;
	call->cred = sc->cred;
	call->have_cred = sc->have_cred;
	/* A negative timeout is a deadline already passed, as in Go (whose client
	 * sends one when its context is just expiring). */
	if (req->timeout_nano != 0)
		call->deadline_ns = ttrpc_now_ns() + req->timeout_nano;
	/* The stream table maps stream id -> call, for orphaning on close. */
	ttrpc__streams_set(&sc->c.session.streams, stream_id, call);

	if (ttrpc__wire_request_md(req, &call->md)) {
		finish(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		return;
	}
	if (sc->draining) {
		finish(call, TTRPC_CODE_UNAVAILABLE, "ttrpc: server shutting down", NULL, 0);
		return;
	}
	const struct method *m = lookup(sc->server, req->service, req->method);
	if (!m) {
		SLOG(sc->server, TTRPC_LOG_DEBUG, "ttrpc: unknown method /%s/%s", req->service, req->method);
		/* Go ttrpc's wording: "service X" or "method Y". */
		bool known = service_known(sc->server, req->service);
		char msg[512];
		snprintf(msg, sizeof(msg), "%s %s", known ? "method" : "service", known ? req->method : req->service);
		finish(call, TTRPC_CODE_UNIMPLEMENTED, msg, NULL, 0);
		return;
	}
	m->fn(call, req->payload.data, req->payload.len, m->user);
}

/* --- connections --- */

static void check_shutdown_done(ttrpc_server *s)
{
	if (!s->shutting_down || s->n_conns > 0)
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
		if (!call)
			continue;
		call->conn = NULL;
		if (call->on_orphan) {
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
		call->on_orphan(call, call->orphan_user);
	}
}

static const struct ttrpc__session_cbs server_cbs = {
	.on_request = on_request,
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
	return s ? s->n_conns : 0;
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
	for (size_t i = 0; i < s->n_methods; i++) {
		free(s->methods[i].service);
		free(s->methods[i].method);
	}
	free(s->methods);
	free(s);
	ttrpc__heap_trim_if_due();
}
