/* SPDX-License-Identifier: Apache-2.0 */
/* Client streams (server-, client- and bidi-streaming), framed as Go 1.2's
 * client frames them: a Request with remote-closed (server-streaming: the
 * request is the only message) or remote-open (the client sends Data frames
 * and ends with CloseSend, Data remote-closed|no-data). The server ends the
 * stream with Data remote-closed (OK) or a Response (a status; the answer of
 * a client-streaming method). */
#include <stdlib.h>
#include <string.h>

#include "client_priv.h"
#include "grpc_client.h"

/* Each held message also counts this much against the receive bound, so a
 * flood of empty messages is bounded too (as the server's). */
#define HELD_OVERHEAD 32u

struct held {
	struct held *next;
	size_t len;
	uint8_t data[];
};

struct ttrpc_stream {
	uint8_t type; /* TTRPC__CL_STREAM: first, as struct pending */
	ttrpc_client *client;
	uint32_t id;
	bool in_session;     /* in the session's stream table (gRPC: on the wire) */
	struct gcall *gcall; /* gRPC: the transport's stream */
	enum ttrpc_stream_kind kind;
	struct ttrpc_stream_cbs cbs;
	void *user;
	ev_timer timer;		/* deadline */
	char *service, *method; /* one allocation */
	int64_t start_ns;
	size_t n_before; /* interceptors whose before ran */
	uint64_t mark;	 /* session output position just past our last frame */
	bool want_writable;
	bool local_closed; /* CloseSend queued */
	bool paused;
	bool sync;     /* blocking API: messages stay held for recv_sync */
	bool draining; /* finish_sync: messages are dropped */
	bool ended;    /* the status below is known; no more messages come */
	bool done;     /* on_done ran (sync: finish_sync may take the status) */
	int depth;     /* user callbacks of this stream running */
	struct held *head, *tail;
	size_t held_bytes;
	int code;
	char *message;
	uint8_t *payload;
	size_t len;
	ttrpc_stream *prev, *next; /* the client's list, while linked */
	bool linked;
};

static void link_stream(ttrpc_stream *st)
{
	ttrpc_client *cl = st->client;
	st->prev = NULL;
	st->next = cl->streams;
	if (cl->streams)
		cl->streams->prev = st;
	cl->streams = st;
	st->linked = true;
}

static void unlink_stream(ttrpc_stream *st)
{
	if (!st->linked)
		return;
	if (st->prev)
		st->prev->next = st->next;
	else
		st->client->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->linked = false;
}

static void drop_held(ttrpc_stream *st)
{
	while (st->head) {
		struct held *h = st->head;
		st->head = h->next;
		free(h);
	}
	st->tail = NULL;
	st->held_bytes = 0;
}

/* The client only while linked: a sync stream may outlive it. The timer
 * stopped at the end (or never started). */
static void stream_free(ttrpc_stream *st)
{
	unlink_stream(st);
	drop_held(st);
	free(st->message);
	free(st->payload);
	free(st->service);
	free(st);
}

/* Deliver what may be delivered now; run on_done once the status is known
 * and every message before it went out; free an async stream after it. A
 * sync stream is done as soon as its status is known (its messages wait for
 * recv_sync; after runs while the client surely exists). */
static void settle(ttrpc_stream *st)
{
	ttrpc_client *cl = st->client;
	while (!st->sync && st->depth == 0 && !st->done && !st->paused && st->head) {
		struct held *h = st->head;
		st->head = h->next;
		if (!st->head)
			st->tail = NULL;
		st->held_bytes -= h->len + HELD_OVERHEAD;
		st->depth++;
		cl->depth++;
		if (st->cbs.on_msg)
			st->cbs.on_msg(st, h->data, h->len, st->user);
		cl->depth--;
		st->depth--;
		free(h);
	}
	if (st->ended && (!st->head || st->sync) && !st->done) {
		st->done = true;
		ttrpc__client_ic_after(cl, st->service, st->method, st->kind, st->n_before, st->start_ns, st->code);
		if (!st->sync) {
			struct ttrpc_result r = {
				.code = st->code,
				.message = st->message ? st->message : "",
				.payload = st->payload,
				.len = st->len,
			};
			st->depth++;
			cl->depth++;
			st->cbs.on_done(st, &r, st->user);
			cl->depth--;
			st->depth--;
		}
	}
	if (st->done && st->depth == 0 && !st->sync)
		stream_free(st);
}

/* The stream's status is known. after_held: messages received before it are
 * still delivered first (the server's own end); else they are dropped (a
 * local end: cancel, deadline, lost connection, overrun). */
static void end(ttrpc_stream *st, int code, const char *message, const uint8_t *payload, size_t len, bool after_held)
{
	if (st->ended)
		return;
	ev_timer_stop(st->client->c.loop, &st->timer);
	if (st->in_session) {
		/* frames the server still sends for it are dropped (gRPC: reset) */
		st->in_session = false;
		if (st->client->grpc)
			ttrpc__grpc_client_stream_forget(st->gcall);
		else
			ttrpc__session_forget(&st->client->c.session, st->id);
	}
	st->ended = true;
	st->code = code;
	st->message = strdup(message ? message : "");
	if (len) {
		st->payload = malloc(len);
		if (st->payload) {
			memcpy(st->payload, payload, len);
			st->len = len;
		}
	}
	if (!st->message || (len && !st->payload)) {
		free(st->message);
		st->message = NULL;
		st->code = TTRPC_CODE_RESOURCE_EXHAUSTED;
	}
	if (!after_held || st->draining)
		drop_held(st);
	settle(st);
}

/* One message from the server. force: held whatever the bound (the last
 * message, delivered before the end that came with it). */
static void deliver(ttrpc_stream *st, const uint8_t *msg, size_t len, bool force)
{
	if (st->ended || st->draining)
		return;
	if (!st->sync && !st->paused && !st->head && st->depth == 0) {
		ttrpc_client *cl = st->client;
		st->depth++;
		cl->depth++;
		if (st->cbs.on_msg)
			st->cbs.on_msg(st, msg, len, st->user);
		cl->depth--;
		st->depth--;
		settle(st);
		return;
	}
	struct held *h = NULL;
	if (force || st->held_bytes + len + HELD_OVERHEAD <= st->client->stream_buffer)
		h = malloc(sizeof(*h) + len);
	if (!h) {
		/* only this stream fails, at once; the server is not told (the
		 * protocol has no frame for it): its later frames are dropped */
		end(st, TTRPC_CODE_RESOURCE_EXHAUSTED, "ttrpc: stream receive buffer full", NULL, 0, false);
		return;
	}
	h->next = NULL;
	h->len = len;
	if (len)
		memcpy(h->data, msg, len);
	if (st->tail)
		st->tail->next = h;
	else
		st->head = h;
	st->tail = h;
	st->held_bytes += len + HELD_OVERHEAD;
	settle(st);
}

void ttrpc__client_stream_data(ttrpc_stream *st, const uint8_t *msg, size_t len, bool last)
{
	if (last)
		st->in_session = false; /* the session removed it */
	if (st->kind == TTRPC_KIND_CLIENT_STREAM) {
		/* Go: "received data from non-streaming server" */
		end(st, TTRPC_CODE_INTERNAL, "ttrpc: received data from non-streaming server: protocol error", NULL, 0,
		    false);
		return;
	}
	if (!last) {
		deliver(st, msg, len, false);
		return;
	}
	/* a message and the end in one frame: on_done after on_msg (the
	 * stream must survive a cancel from on_msg until the end is set) */
	st->depth++;
	if (msg)
		deliver(st, msg, len, true);
	end(st, TTRPC_CODE_OK, NULL, NULL, 0, true);
	st->depth--;
	settle(st);
}

void ttrpc__client_stream_response(ttrpc_stream *st, const struct ttrpc__response_in *r)
{
	st->in_session = false; /* the session removed it */
	if (st->kind != TTRPC_KIND_CLIENT_STREAM && r->code == TTRPC_CODE_OK) {
		/* Go's RecvMsg reads an OK Response on a streaming server as
		 * its last message; ours hands a non-empty one to on_msg */
		st->depth++;
		if (r->len)
			deliver(st, r->payload, r->len, true);
		end(st, TTRPC_CODE_OK, NULL, NULL, 0, true);
		st->depth--;
		settle(st);
		return;
	}
	end(st, r->code, r->message, r->code == TTRPC_CODE_OK ? r->payload : NULL,
	    r->code == TTRPC_CODE_OK ? r->len : 0, true);
}

/* A stream whose end is known but waits behind held messages ends now
 * without them, with code/message instead of the server's status. */
static void end_held(ttrpc_stream *st, int code, const char *message)
{
	drop_held(st);
	char *m = strdup(message);
	if (m) {
		free(st->message);
		st->message = m;
	}
	st->code = code;
	settle(st); /* done now (on_done ran); may free st */
}

void ttrpc__client_streams_release(ttrpc_client *cl, const char *message)
{
	/* one at a time from the head: an on_done may free other streams */
	for (;;) {
		ttrpc_stream *st = cl->streams;
		while (st && !(st->ended && !st->done && !st->sync))
			st = st->next;
		if (!st)
			break;
		/* ended on the wire, on_done waits behind held messages that
		 * can no longer be delivered */
		end_held(st, TTRPC_CODE_UNAVAILABLE, message); /* may free st */
	}
	ttrpc_stream *next;
	for (ttrpc_stream *st = cl->streams; st; st = next) {
		next = st->next;
		st->linked = false;
		st->prev = st->next = NULL;
	}
	cl->streams = NULL;
}

void ttrpc__client_stream_grpc_end(ttrpc_stream *st, int code, const char *message, const uint8_t *payload, size_t len)
{
	if (code == TTRPC_CODE_OK && st->kind != TTRPC_KIND_CLIENT_STREAM) {
		ttrpc__client_stream_data(st, NULL, 0, true);
		return;
	}
	struct ttrpc__response_in r = { .code = code, .message = message, .payload = payload, .len = len };
	ttrpc__client_stream_response(st, &r);
}

static void run_writable(ttrpc_stream *st)
{
	st->want_writable = false;
	if (st->ended || !st->cbs.on_writable)
		return;
	ttrpc_client *cl = st->client;
	st->depth++;
	cl->depth++;
	st->cbs.on_writable(st, st->user);
	cl->depth--;
	st->depth--;
	settle(st);
}

void ttrpc__client_stream_wake(ttrpc_stream *st)
{
	if (st->want_writable)
		run_writable(st);
}

void ttrpc__client_stream_lost(ttrpc_stream *st, const char *message)
{
	st->in_session = false; /* popped from the session */
	end(st, TTRPC_CODE_UNAVAILABLE, message, NULL, 0, false);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	end(w->data, TTRPC_CODE_DEADLINE_EXCEEDED, "context deadline exceeded", NULL, 0, false);
}

/* --- send window --- */

static bool unsent_over(const ttrpc_stream *st, uint64_t limit)
{
	uint64_t sent = ttrpc__session_sent_total(&st->client->c.session);
	return st->mark > sent && st->mark - sent >= limit;
}

static void collect_writable(uint32_t id, void *data, void *arg)
{
	struct ttrpc__wake_scan *w = arg;
	ttrpc_stream *st = data;
	if (!st || st->type != TTRPC__CL_STREAM || !st->want_writable)
		return;
	if (unsent_over(st, TTRPC_STREAM_SEND_WINDOW / 2))
		w->waiting++;
	else
		ttrpc__wake_scan_add(w, id);
}

void ttrpc__client_progress(struct ttrpc__conn *c)
{
	ttrpc_client *cl = (ttrpc_client *)c;
	if (!cl->n_blocked || cl->scanning)
		return;
	cl->scanning = true;
	struct ttrpc__wake_scan w = { 0 };
	ttrpc__session_each_stream(&c->session, collect_writable, &w);
	cl->n_blocked = w.waiting + w.n;
	for (size_t i = 0; i < w.n && !c->closed; i++) {
		int found;
		ttrpc_stream *st = ttrpc__session_stream_data(&c->session, w.ids[i], &found);
		if (!found || !st || st->type != TTRPC__CL_STREAM || !st->want_writable)
			continue;
		cl->n_blocked--;
		run_writable(st);
	}
	free(w.ids);
	cl->scanning = false;
}

/* --- opening --- */

/* On the wire: linked, its deadline set. */
static int started(ttrpc_stream *st, int64_t timeout_ns, ttrpc_stream **out)
{
	ttrpc_client *cl = st->client;
	st->in_session = true;
	link_stream(st);
	if (timeout_ns > 0) {
		/* the loop's cached time may be stale: a deadline must not fire early */
		ev_now_update(cl->c.loop);
		ev_timer_set(&st->timer, (double)timeout_ns / 1e9, 0.);
		ev_timer_start(cl->c.loop, &st->timer);
	}
	if (out)
		*out = st;
	return 0;
}

static int stream_open(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
		       const uint8_t *req, size_t len, const struct ttrpc_call_opts *opts,
		       const struct ttrpc_stream_cbs *cbs, void *user, bool sync, ttrpc_stream **out)
{
	if (!cl || !service || !method || (!req && len) || (opts && opts->timeout_ns < 0) ||
	    (kind != TTRPC_KIND_SERVER_STREAM && kind != TTRPC_KIND_CLIENT_STREAM && kind != TTRPC_KIND_BIDI_STREAM) ||
	    (kind != TTRPC_KIND_SERVER_STREAM && len) || (!sync && (!cbs || !cbs->on_done)))
		return TTRPC_EINVAL;
	if (!cl->grpc && cl->c.closed)
		return TTRPC_ECLOSED;
	if (!cl->grpc && len > ttrpc__session_max_message(&cl->c.session))
		return TTRPC_ETOOBIG;
	ttrpc_stream *st = calloc(1, sizeof(*st));
	if (st)
		st->service = ttrpc__names_dup(service, method, &st->method);
	if (!st || !st->service) {
		free(st);
		return TTRPC_ENOMEM;
	}
	st->type = TTRPC__CL_STREAM;
	st->client = cl;
	st->kind = kind;
	if (cbs)
		st->cbs = *cbs;
	st->user = user;
	st->sync = sync;
	st->start_ns = ttrpc_now_ns();
	ev_timer_init(&st->timer, on_timer, 0., 0.);
	st->timer.data = st;

	ttrpc_md *md = NULL;
	const ttrpc_md *send_md = opts ? opts->md : NULL;
	if (cl->n_ics) {
		char *message;
		md = ttrpc_md_new();
		int code = md ? ttrpc__client_ic_before(cl, service, method, kind, opts, md, &message, &st->n_before) :
				TTRPC_ENOMEM;
		if (code < 0) {
			ttrpc_md_free(md);
			stream_free(st);
			return code;
		}
		if (code != TTRPC_CODE_OK) {
			/* nothing is sent; on_done runs before this returns (as a
			 * rejected unary call's done), so *out is NULL; a sync
			 * stream keeps the status for finish_sync */
			ttrpc_md_free(md);
			if (out)
				*out = sync ? st : NULL;
			link_stream(st);
			end(st, code, message, NULL, 0, false);
			free(message);
			return 0;
		}
		free(message);
		send_md = md;
	}
	if (cl->grpc) {
		struct ttrpc_call_opts go = { .timeout_ns = opts ? opts->timeout_ns : 0, .md = send_md };
		int rc = ttrpc__grpc_client_stream_open(cl->grpc, service, method, kind, req, len, &go, st, &st->gcall);
		ttrpc_md_free(md);
		if (rc) {
			stream_free(st);
			return rc;
		}
		return started(st, go.timeout_ns, out);
	}
	struct ttrpc__request_out ro = {
		.service = service,
		.method = method,
		.payload = len ? req : NULL,
		.len = len,
		.timeout_ns = opts ? opts->timeout_ns : 0,
		.md = send_md,
	};
	uint8_t flags = kind == TTRPC_KIND_SERVER_STREAM ? TTRPC__FLAG_REMOTE_CLOSED : TTRPC__FLAG_REMOTE_OPEN;
	int rc = ttrpc__session_request_flags(&cl->c.session, &ro, flags, st, &st->id);
	ttrpc_md_free(md);
	if (rc) {
		stream_free(st);
		return rc;
	}
	st->mark = ttrpc__session_out_total(&cl->c.session);
	ttrpc__conn_kick(&cl->c);
	return started(st, ro.timeout_ns, out);
}

int ttrpc_client_stream_open(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
			     const uint8_t *req, size_t len, const struct ttrpc_call_opts *opts,
			     const struct ttrpc_stream_cbs *cbs, void *user, ttrpc_stream **out)
{
	return stream_open(cl, service, method, kind, req, len, opts, cbs, user, false, out);
}

/* --- the stream API --- */

int ttrpc_stream_send(ttrpc_stream *st, const uint8_t *msg, size_t len)
{
	if (!st || (!msg && len))
		return TTRPC_EINVAL;
	if (st->kind == TTRPC_KIND_SERVER_STREAM)
		return TTRPC_ESTATE;
	if (st->ended)
		return TTRPC_ECLOSED;
	if (st->local_closed)
		return TTRPC_ESTATE;
	ttrpc_client *cl = st->client;
	if (cl->grpc && st->in_session) {
		int rc = ttrpc__grpc_client_stream_send(st->gcall, msg ? msg : (const uint8_t *)"", len);
		if (rc == TTRPC_EAGAIN)
			st->want_writable = true;
		return rc;
	}
	if (cl->grpc || cl->c.closed || !st->in_session)
		return TTRPC_ECLOSED;
	if (len > ttrpc__session_max_message(&cl->c.session))
		return TTRPC_ETOOBIG;
	if (unsent_over(st, TTRPC_STREAM_SEND_WINDOW)) {
		if (!st->want_writable) {
			st->want_writable = true;
			cl->n_blocked++;
		}
		return TTRPC_EAGAIN;
	}
	int rc = ttrpc__session_send_data(&cl->c.session, st->id, 0, msg ? msg : (const uint8_t *)"", len);
	if (rc)
		return rc == TTRPC_ENOTFOUND ? TTRPC_ECLOSED : rc;
	st->mark = ttrpc__session_out_total(&cl->c.session);
	ttrpc__conn_kick(&cl->c);
	return 0;
}

bool ttrpc_stream_writable(const ttrpc_stream *st)
{
	if (!st || st->kind == TTRPC_KIND_SERVER_STREAM || st->ended || st->local_closed || !st->in_session)
		return false;
	if (st->client->grpc)
		return ttrpc__grpc_client_stream_writable(st->gcall);
	return !st->client->c.closed && !unsent_over(st, TTRPC_STREAM_SEND_WINDOW);
}

int ttrpc_stream_close_send(ttrpc_stream *st)
{
	if (!st)
		return TTRPC_EINVAL;
	if (st->kind == TTRPC_KIND_SERVER_STREAM || st->local_closed)
		return TTRPC_ESTATE;
	if (st->ended || !st->in_session || (!st->client->grpc && st->client->c.closed))
		return TTRPC_ECLOSED;
	ttrpc_client *cl = st->client;
	if (cl->grpc) {
		int rc = ttrpc__grpc_client_stream_close_send(st->gcall);
		if (!rc)
			st->local_closed = true;
		return rc;
	}
	int rc = ttrpc__session_send_data(&cl->c.session, st->id, TTRPC__FLAG_REMOTE_CLOSED, NULL, 0);
	if (rc)
		return rc == TTRPC_ENOTFOUND ? TTRPC_ECLOSED : rc;
	st->local_closed = true;
	st->mark = ttrpc__session_out_total(&cl->c.session);
	ttrpc__conn_kick(&cl->c);
	return 0;
}

void ttrpc_stream_cancel(ttrpc_stream *st)
{
	if (!st || st->done)
		return;
	if (st->ended) /* the server's end waits behind held messages */
		end_held(st, TTRPC_CODE_CANCELLED, "context canceled");
	else
		end(st, TTRPC_CODE_CANCELLED, "context canceled", NULL, 0, false);
}

void ttrpc_stream_pause(ttrpc_stream *st, bool paused)
{
	if (!st || st->done)
		return;
	st->paused = paused;
	if (!paused)
		settle(st);
}

void ttrpc_stream_set_user(ttrpc_stream *st, void *user)
{
	st->user = user;
}

void *ttrpc_stream_user(const ttrpc_stream *st)
{
	return st->user;
}

int ttrpc_client_set_stream_buffer(ttrpc_client *cl, size_t bytes)
{
	if (!cl || bytes == 0)
		return TTRPC_EINVAL;
	cl->stream_buffer = bytes;
	return 0;
}

/* --- blocking streams --- */

int ttrpc_client_stream_open_sync(ttrpc_client *cl, const char *service, const char *method,
				  enum ttrpc_stream_kind kind, const uint8_t *req, size_t len,
				  const struct ttrpc_call_opts *opts, ttrpc_stream **out)
{
	if (!out)
		return TTRPC_EINVAL;
	return stream_open(cl, service, method, kind, req, len, opts, NULL, NULL, true, out);
}

int ttrpc_stream_send_sync(ttrpc_stream *st, const uint8_t *msg, size_t len)
{
	if (!st || !st->sync)
		return TTRPC_EINVAL;
	int rc;
	ttrpc_client *cl = st->client; /* maybe freed already: used only if the loop runs */
	bool ran = false;
	while ((rc = ttrpc_stream_send(st, msg, len)) == TTRPC_EAGAIN) {
		ev_run(cl->c.loop, EVRUN_ONCE);
		ran = true;
	}
	if (ran)
		ttrpc__client_reap_if_freed(cl);
	return rc;
}

int ttrpc_stream_recv_sync(ttrpc_stream *st, uint8_t **msg, size_t *len)
{
	if (!st || !st->sync || !msg || !len)
		return TTRPC_EINVAL;
	ttrpc_client *cl = st->client; /* maybe freed already: used only if the loop runs */
	bool ran = false;
	for (; !st->head && !st->ended; ran = true)
		ev_run(cl->c.loop, EVRUN_ONCE);
	if (ran)
		ttrpc__client_reap_if_freed(cl);
	if (!st->head)
		return st->code == TTRPC_CODE_OK ? 0 : TTRPC_ECLOSED;
	struct held *h = st->head;
	st->head = h->next;
	if (!st->head)
		st->tail = NULL;
	st->held_bytes -= h->len + HELD_OVERHEAD;
	settle(st);
	/* the message moves to the start of its own block: one free for the caller */
	*len = h->len;
	memmove(h, h->data, h->len);
	*msg = (uint8_t *)h;
	return 1;
}

int ttrpc_stream_finish_sync(ttrpc_stream *st, struct ttrpc_result *result)
{
	if (!st || !st->sync || !result)
		return TTRPC_EINVAL;
	/* what is not received yet is dropped; a send side still open is
	 * closed (the server may answer only then) */
	st->draining = true;
	drop_held(st);
	if (!st->ended && !st->local_closed && st->kind != TTRPC_KIND_SERVER_STREAM)
		ttrpc_stream_close_send(st);
	ttrpc_client *cl = st->client; /* maybe freed already: used only if the loop runs */
	bool ran = false;
	for (; !st->ended; ran = true)
		ev_run(cl->c.loop, EVRUN_ONCE);
	settle(st);
	if (ran)
		ttrpc__client_reap_if_freed(cl);
	result->code = st->code;
	result->message = st->message ? st->message : strdup("");
	result->payload = st->payload;
	result->len = st->len;
	st->message = NULL;
	st->payload = NULL;
	if (!result->message)
		result->code = TTRPC_CODE_RESOURCE_EXHAUSTED;
	int code = result->code;
	stream_free(st);
	return code;
}
