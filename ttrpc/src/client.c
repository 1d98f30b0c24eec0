/* SPDX-License-Identifier: Apache-2.0 */
#include <ttrpc/client.h>
#include <ttrpc/grpc.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ttrpc/stream.h>

#include "client_priv.h"
#include "conn.h"
#include "grpc_client.h"
#include "md.h"

/* A unary call seen by interceptors: after runs on completion, in reverse
 * order; a rejected call is not sent and completes before
 * ttrpc_client_call returns. */
struct ic_call {
	ttrpc_client *client;
	ttrpc_done_fn done;
	void *user;
	char *service, *method; /* one allocation */
	int64_t start_ns;
	size_t n_before;
};

struct pending {
	uint8_t type; /* TTRPC__CL_UNARY */
	struct ttrpc_client *client;
	uint32_t stream_id;
	ev_timer timer;
	ttrpc_done_fn done;
	void *user;
};

static void reap(struct ev_loop *loop, ev_timer *w, int revents);

static void sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_client *cl = w->data;
	ttrpc__conn_release_idle(&cl->c);
	ttrpc__heap_trim_if_due();
}

static void complete(struct pending *p, int code, const char *message, const uint8_t *payload, size_t len)
{
	ev_timer_stop(p->client->c.loop, &p->timer);
	struct ttrpc_result r = {
		.code = code, .message = (char *)(message ? message : ""), .payload = (uint8_t *)payload, .len = len
	};
	ttrpc_done_fn done = p->done;
	void *user = p->user;
	free(p);
	done(&r, user);
}

static void on_response(struct ttrpc__session *s, void *stream_data, const struct ttrpc__response_in *r, void *user)
{
	(void)s;
	ttrpc_client *cl = user;
	if (*(uint8_t *)stream_data == TTRPC__CL_STREAM) {
		ttrpc__client_stream_response(stream_data, r);
		return;
	}
	cl->depth++;
	complete(stream_data, r->code, r->message, r->payload, r->len);
	cl->depth--;
}

static void on_stream_data(struct ttrpc__session *s, void *stream_data, const uint8_t *msg, size_t len, bool end,
			   void *user)
{
	(void)s;
	(void)user;
	if (*(uint8_t *)stream_data == TTRPC__CL_STREAM) {
		ttrpc__client_stream_data(stream_data, msg, len, end);
		return;
	}
	/* Data on a unary call is dropped; one that closes the stream (the
	 * session removed it) ends the call, as Go's dispatch takes only a
	 * Response */
	struct pending *p = stream_data;
	ttrpc_client *cl = p->client;
	ttrpc__logf(cl->log, cl->log_user, TTRPC_LOG_DEBUG, "ttrpc: data frame on unary stream %u %s", p->stream_id,
		    end ? "ends it" : "dropped");
	if (!end)
		return;
	cl->depth++;
	complete(p, TTRPC_CODE_INTERNAL, "unexpected \"data\" message received: protocol error", NULL, 0);
	cl->depth--;
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct pending *p = w->data;
	ttrpc_client *cl = p->client;
	ttrpc__session_forget(&cl->c.session, p->stream_id);
	cl->depth++;
	complete(p, TTRPC_CODE_DEADLINE_EXCEEDED, "context deadline exceeded", NULL, 0);
	cl->depth--;
}

static void conn_closed(struct ttrpc__conn *c, const char *reason)
{
	ttrpc_client *cl = (ttrpc_client *)c;
	ttrpc__sweep_stop(c->loop, &cl->sweep);
	ttrpc__logf(cl->log, cl->log_user, TTRPC_LOG_DEBUG, "ttrpc: client connection closed: %s", reason);
	char msg[128];
	snprintf(msg, sizeof(msg), "ttrpc: closed: %s", reason);
	void *data;
	cl->depth++;
	while (ttrpc__session_pop_stream(&c->session, &data)) {
		if (*(uint8_t *)data == TTRPC__CL_STREAM)
			ttrpc__client_stream_lost(data, msg);
		else
			complete(data, TTRPC_CODE_UNAVAILABLE, msg, NULL, 0);
	}
	if (cl->on_close)
		cl->on_close(cl, cl->on_close_user);
	cl->depth--;
}

static void session_log(void *user, int level, const char *msg)
{
	ttrpc_client *cl = user;
	if (cl->log)
		cl->log(cl->log_user, level, msg);
}

ttrpc_client *ttrpc_client_adopt(struct ev_loop *loop, int fd, int *err)
{
	int e = TTRPC_ENOMEM;
	ttrpc_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto fail;
	if (!loop) {
		loop = cl->own_loop = ev_loop_new(EVFLAG_AUTO);
		if (!loop)
			goto fail;
	}
	struct ttrpc__session_cbs cbs = { .on_response = on_response,
					  .on_stream_data = on_stream_data,
					  .on_log = session_log };
	ttrpc__conn_init(&cl->c, loop, fd, TTRPC__ROLE_CLIENT, &cbs, conn_closed);
	cl->c.on_progress = ttrpc__client_progress;
	cl->stream_buffer = TTRPC_STREAM_BUFFER_DEFAULT;
	ev_timer_init(&cl->reaper, reap, 0., 0.);
	cl->reaper.data = cl;
	ev_timer_init(&cl->sweep, sweep, 0., 0.);
	cl->sweep.data = cl;
	ttrpc__sweep_start(loop, &cl->sweep);
	return cl;
fail:
	if (fd >= 0)
		close(fd);
	free(cl);
	if (err)
		*err = e;
	return NULL;
}

ttrpc_client *ttrpc__client_new_grpc(struct ev_loop *loop, int fd, const char *authority, size_t max_message,
				     struct ssl_st *ssl, int *err)
{
	ttrpc_client *cl = calloc(1, sizeof(*cl));
	if (cl && !loop)
		loop = cl->own_loop = ev_loop_new(EVFLAG_AUTO);
	if (!cl || !loop) {
		free(cl);
		close(fd);
		ttrpc__grpc_ssl_free(ssl);
		if (err)
			*err = TTRPC_ENOMEM;
		return NULL;
	}
	cl->c.loop = loop;
	cl->c.fd = -1;
	cl->stream_buffer = TTRPC_STREAM_BUFFER_DEFAULT;
	ev_timer_init(&cl->reaper, reap, 0., 0.);
	cl->reaper.data = cl;
	cl->grpc = ttrpc__grpc_client_new(cl, loop, fd, authority, max_message, ssl, err);
	if (!cl->grpc) {
		if (cl->own_loop)
			ev_loop_destroy(cl->own_loop);
		free(cl);
		return NULL;
	}
	return cl;
}

int ttrpc_client_is_grpc(const ttrpc_client *cl)
{
	return cl && cl->grpc;
}

ttrpc_client *ttrpc_client_connect(struct ev_loop *loop, const char *path, int *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (!path || !*path || strlen(path) >= sizeof(addr.sun_path)) {
		if (err)
			*err = TTRPC_EINVAL;
		return NULL;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		if (err)
			*err = TTRPC_ESYS;
		return NULL;
	}
	return ttrpc_client_adopt(loop, fd, err);
}

void ttrpc_client_close(ttrpc_client *cl)
{
	if (cl && cl->grpc)
		ttrpc__grpc_client_close(cl->grpc, "closed by client");
	else if (cl)
		ttrpc__conn_close(&cl->c, "closed by client");
}

void ttrpc_client_free(ttrpc_client *cl)
{
	if (!cl)
		return;
	cl->on_close = NULL;
	if (!cl->grpc) {
		ttrpc_client_close(cl);
		ttrpc__client_streams_release(cl, "ttrpc: closed: closed by client");
	}
	if (cl->depth > 0) {
		if (cl->grpc) /* closed now, as a ttrpc client is above */
			ttrpc_client_close(cl);
		/* from one of its own callbacks: closed now, freed from the loop
		 * (a private loop cannot be destroyed from inside it: the
		 * blocking call that ran the callback frees the client when its
		 * loop returned, ttrpc__client_reap_if_freed) */
		if (!cl->free_pending && !cl->own_loop) {
			ev_timer_set(&cl->reaper, 0., 0.);
			ev_timer_start(cl->c.loop, &cl->reaper);
		}
		cl->free_pending = true;
		return;
	}
	ev_timer_stop(cl->c.loop, &cl->reaper);
	if (cl->grpc) {
		/* its streams end (UNAVAILABLE) while the interceptors still exist */
		ttrpc__grpc_client_free(cl->grpc);
		ttrpc__client_streams_release(cl, "ttrpc: closed: closed by client");
		free(cl->ics);
		if (cl->own_loop)
			ev_loop_destroy(cl->own_loop);
		free(cl);
		return;
	}
	free(cl->ics);
	ttrpc_client_close(cl);
	ttrpc__sweep_stop(cl->c.loop, &cl->sweep);
	ttrpc__conn_destroy(&cl->c);
	if (cl->own_loop)
		ev_loop_destroy(cl->own_loop);
	free(cl);
	ttrpc__heap_trim_if_due();
}

bool ttrpc__client_reap_if_freed(ttrpc_client *cl)
{
	if (!cl->free_pending || cl->depth > 0 || !cl->own_loop)
		return false;
	ttrpc_client_free(cl);
	return true;
}

static void reap(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_client *cl = w->data;
	if (cl->depth == 0)
		ttrpc_client_free(cl);
}

void ttrpc_client_set_log(ttrpc_client *cl, ttrpc_log_fn fn, void *user)
{
	cl->log = fn;
	cl->log_user = user;
	if (cl->grpc)
		ttrpc__grpc_client_set_log(cl->grpc, fn, user);
}

void ttrpc_client_on_close(ttrpc_client *cl, void (*fn)(ttrpc_client *client, void *user), void *user)
{
	cl->on_close = fn;
	cl->on_close_user = user;
	if (cl->grpc)
		ttrpc__grpc_client_on_close(cl->grpc, fn, user);
}

int ttrpc_client_connected(const ttrpc_client *cl)
{
	if (cl && cl->grpc)
		return ttrpc__grpc_client_connected(cl->grpc);
	return cl && !cl->c.closed;
}

struct ev_loop *ttrpc_client_loop(const ttrpc_client *cl)
{
	return cl->c.loop;
}

size_t ttrpc_client_pending(const ttrpc_client *cl)
{
	if (cl->grpc)
		return ttrpc__grpc_client_pending(cl->grpc);
	return ttrpc__session_open_streams(&cl->c.session);
}

static int plain_call(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req, size_t req_len,
		      const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user);
static int intercepted_call(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req,
			    size_t req_len, const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user);

int ttrpc_client_call(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req, size_t req_len,
		      const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user)
{
	if (!cl || !service || !method || !done || (!req && req_len) || (opts && opts->timeout_ns < 0))
		return TTRPC_EINVAL;
	if (cl->n_ics)
		return intercepted_call(cl, service, method, req, req_len, opts, done, user);
	return plain_call(cl, service, method, req, req_len, opts, done, user);
}

static int plain_call(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req, size_t req_len,
		      const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user)
{
	if (cl->grpc)
		return ttrpc__grpc_client_call(cl->grpc, service, method, req, req_len, opts, done, user);
	if (cl->c.closed)
		return TTRPC_ECLOSED;
	if (req_len > ttrpc__session_max_message(&cl->c.session))
		return TTRPC_ETOOBIG;
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return TTRPC_ENOMEM;
	p->type = TTRPC__CL_UNARY;
	p->client = cl;
	p->done = done;
	p->user = user;
	struct ttrpc__request_out out = {
		.service = service,
		.method = method,
		.payload = req,
		.len = req_len,
		.timeout_ns = opts ? opts->timeout_ns : 0,
		.md = opts ? opts->md : NULL,
	};
	int rc = ttrpc__session_request(&cl->c.session, &out, p, &p->stream_id);
	if (rc) {
		free(p);
		return rc;
	}
	ev_timer_init(&p->timer, on_deadline, 0., 0.);
	p->timer.data = p;
	if (out.timeout_ns > 0) {
		/* the loop's cached time may be stale: a deadline must not fire early */
		ev_now_update(cl->c.loop);
		ev_timer_set(&p->timer, (double)out.timeout_ns / 1e9, 0.);
		ev_timer_start(cl->c.loop, &p->timer);
	}
	ttrpc__conn_kick(&cl->c);
	return 0;
}

void ttrpc_result_clear(struct ttrpc_result *r)
{
	if (!r)
		return;
	free(r->message);
	free(r->payload);
	r->message = NULL;
	r->payload = NULL;
	r->len = 0;
}

struct sync_state {
	bool done;
	struct ttrpc_result *out;
};

static void fill(struct ttrpc_result *out, int code, const char *message, const uint8_t *payload, size_t len)
{
	out->code = code;
	out->message = strdup(message ? message : "");
	out->payload = NULL;
	out->len = 0;
	if (len) {
		out->payload = malloc(len);
		if (out->payload) {
			memcpy(out->payload, payload, len);
			out->len = len;
		}
	}
	if (!out->message || (len && !out->payload)) {
		ttrpc_result_clear(out);
		out->code = TTRPC_CODE_RESOURCE_EXHAUSTED;
		out->message = NULL;
	}
}

static void sync_done(const struct ttrpc_result *r, void *user)
{
	struct sync_state *st = user;
	fill(st->out, r->code, r->message, r->payload, r->len);
	st->done = true;
}

int ttrpc_client_call_sync(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req,
			   size_t req_len, const struct ttrpc_call_opts *opts, struct ttrpc_result *result)
{
	struct sync_state st = { .done = false, .out = result };
	int rc = ttrpc_client_call(cl, service, method, req, req_len, opts, sync_done, &st);
	switch (rc) {
	case 0:
		break;
	case TTRPC_ETOOBIG:
		fill(result, TTRPC_CODE_RESOURCE_EXHAUSTED, "message exceeds maximum message size", NULL, 0);
		return result->code;
	case TTRPC_ECLOSED:
		fill(result, TTRPC_CODE_UNAVAILABLE, "ttrpc: closed", NULL, 0);
		return result->code;
	default:
		fill(result, rc == TTRPC_EINVAL ? TTRPC_CODE_INVALID_ARGUMENT : TTRPC_CODE_INTERNAL, ttrpc_strerror(rc),
		     NULL, 0);
		return result->code;
	}
	while (!st.done)
		ev_run(cl->c.loop, EVRUN_ONCE);
	int code = result->code;
	ttrpc__client_reap_if_freed(cl); /* freed from a callback it ran */
	return code;
}

static void ic_free(struct ic_call *ic)
{
	free(ic->service);
	free(ic);
}

void ttrpc__client_ic_after(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
			    size_t n_before, int64_t start_ns, int code)
{
	int64_t took = ttrpc_now_ns() - start_ns;
	for (size_t i = n_before; i-- > 0;)
		if (cl->ics[i].after)
			cl->ics[i].after(service, method, kind, code, took, cl->ics[i].user);
}

int ttrpc__client_ic_before(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
			    const struct ttrpc_call_opts *opts, ttrpc_md *md, char **message, size_t *n_before)
{
	*message = NULL;
	*n_before = 0;
	for (size_t i = 0; opts && i < ttrpc_md_count(opts->md); i++) {
		const char *k, *v;
		ttrpc_md_at(opts->md, i, &k, &v);
		if (ttrpc_md_add(md, k, v))
			return TTRPC_ENOMEM;
	}
	int code = TTRPC_CODE_OK;
	for (size_t i = 0; i < cl->n_ics && code == TTRPC_CODE_OK; i++) {
		*n_before = i + 1;
		if (cl->ics[i].before)
			code = cl->ics[i].before(service, method, kind, md, message, cl->ics[i].user);
	}
	return code;
}

static void ic_done(const struct ttrpc_result *r, void *user)
{
	struct ic_call *ic = user;
	ttrpc__client_ic_after(ic->client, ic->service, ic->method, TTRPC_KIND_UNARY, ic->n_before, ic->start_ns,
			       r->code);
	ttrpc_done_fn done = ic->done;
	void *u = ic->user;
	ic_free(ic);
	done(r, u);
}

static int intercepted_call(ttrpc_client *cl, const char *service, const char *method, const uint8_t *req,
			    size_t req_len, const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user)
{
	struct ic_call *ic = calloc(1, sizeof(*ic));
	if (ic)
		ic->service = ttrpc__names_dup(service, method, &ic->method);
	ttrpc_md *md = ttrpc_md_new();
	if (!ic || !ic->service || !md) {
		if (ic)
			free(ic->service);
		free(ic);
		ttrpc_md_free(md);
		return TTRPC_ENOMEM;
	}
	ic->client = cl;
	ic->done = done;
	ic->user = user;
	ic->start_ns = ttrpc_now_ns();
	/* the call's own copy of the metadata, for interceptors to add to */
	char *message;
	int code = ttrpc__client_ic_before(cl, service, method, TTRPC_KIND_UNARY, opts, md, &message, &ic->n_before);
	if (code < 0) {
		ttrpc_md_free(md);
		ic_free(ic);
		return code;
	}
	if (code != TTRPC_CODE_OK) {
		ttrpc_md_free(md);
		struct ttrpc_result r = { .code = code, .message = message ? message : "" };
		cl->depth++;
		ic_done(&r, ic);
		cl->depth--;
		free(message);
		return 0;
	}
	free(message);
	struct ttrpc_call_opts o = { .timeout_ns = opts ? opts->timeout_ns : 0, .md = md };
	int rc = plain_call(cl, service, method, req, req_len, &o, ic_done, ic);
	ttrpc_md_free(md);
	if (rc)
		ic_free(ic);
	return rc;
}

int ttrpc_client_add_interceptor(ttrpc_client *cl, const struct ttrpc_client_interceptor *ic)
{
	if (!cl || !ic || (!ic->before && !ic->after))
		return TTRPC_EINVAL;
	struct ttrpc_client_interceptor *v = realloc(cl->ics, (cl->n_ics + 1) * sizeof(*v));
	if (!v)
		return TTRPC_ENOMEM;
	v[cl->n_ics++] = *ic;
	cl->ics = v;
	return 0;
}

int ttrpc_client_set_max_message(ttrpc_client *cl, size_t bytes)
{
	if (!cl || bytes == 0 || bytes > TTRPC_MAX_MESSAGE_LIMIT || cl->grpc)
		return TTRPC_EINVAL;
	ttrpc__session_set_max_message(&cl->c.session, (uint32_t)bytes);
	return 0;
}
