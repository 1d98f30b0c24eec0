/* SPDX-License-Identifier: Apache-2.0 */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

/* Each held message also counts this much against the receive bound, so a
 * flood of empty messages is bounded too. */
#define HELD_OVERHEAD 32u

struct ttrpc__held {
	struct ttrpc__held *next;
	size_t len;
	uint8_t data[];
};

/* --- registry --- */

struct ttrpc__registry *ttrpc__registry_new(void)
{
	struct ttrpc__registry *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->refs = 1;
	r->stream_buffer = TTRPC_STREAM_BUFFER_DEFAULT;
	r->max_message = TTRPC_MAX_MESSAGE_SIZE;
	return r;
}

void ttrpc__registry_unref(struct ttrpc__registry *r)
{
	if (!r || --r->refs > 0)
		return;
	for (size_t i = 0; i < r->n_methods; i++) {
		free(r->methods[i].service);
		free(r->methods[i].method);
	}
	free(r->methods);
	free(r->ics);
	free(r);
}

int ttrpc__registry_add(struct ttrpc__registry *r, const char *service, const char *method,
			const struct ttrpc__method *tmpl)
{
	if (ttrpc__registry_lookup(r, service, method))
		return TTRPC_EEXIST;
	struct ttrpc__method *m = realloc(r->methods, (r->n_methods + 1) * sizeof(*m));
	if (!m)
		return TTRPC_ENOMEM;
	r->methods = m;
	m = &r->methods[r->n_methods];
	*m = *tmpl;
	m->service = strdup(service);
	m->method = strdup(method);
	if (!m->service || !m->method) {
		free(m->service);
		free(m->method);
		return TTRPC_ENOMEM;
	}
	r->n_methods++;
	return 0;
}

const struct ttrpc__method *ttrpc__registry_lookup(const struct ttrpc__registry *r, const char *service,
						   const char *method)
{
	for (size_t i = 0; i < r->n_methods; i++)
		if (!strcmp(r->methods[i].method, method) && !strcmp(r->methods[i].service, service))
			return &r->methods[i];
	return NULL;
}

bool ttrpc__registry_has_service(const struct ttrpc__registry *r, const char *service)
{
	for (size_t i = 0; i < r->n_methods; i++)
		if (!strcmp(r->methods[i].service, service))
			return true;
	return false;
}

/* --- life of a call --- */

ttrpc_call *ttrpc__call_new(struct ttrpc__registry *reg, const struct ttrpc__call_ops *ops, void *tp,
			    uint32_t stream_id, const struct ttrpc__call_info *info)
{
	/* the call and its names in one allocation */
	size_t ls = strlen(info->service), lm = strlen(info->method);
	ttrpc_call *call = calloc(1, sizeof(*call) + ls + lm + 2);
	if (!call)
		return NULL;
	call->service = (char *)(call + 1);
	memcpy(call->service, info->service, ls + 1);
	call->method = call->service + ls + 1;
	memcpy(call->method, info->method, lm + 1);
	call->reg = reg;
	reg->refs++;
	call->ops = ops;
	call->tp = tp;
	call->stream_id = stream_id;
	call->service_cut = info->service_cut;
	call->method_cut = info->method_cut;
	/* The clock is read only for what needs it (a deadline; interceptors,
	 * which see the call's duration): a clock_gettime was two per call, 8%
	 * of a busy server's time in this VM. */
	if (info->timeout_ns != 0 || reg->n_ics > 0)
		call->start_ns = ttrpc_now_ns();
	/* A negative timeout is a deadline already passed, as in Go (whose client
	 * sends one when its context is just expiring). */
	if (info->timeout_ns > INT64_MAX - call->start_ns)
		call->deadline_ns = INT64_MAX; /* saturated: the sum would overflow */
	else if (info->timeout_ns != 0)
		call->deadline_ns = call->start_ns + info->timeout_ns;
	if (info->timeout_ns < 0 && call->deadline_ns <= 0)
		call->deadline_ns = 1; /* passed, but not 0, which means none */
	if (info->cred) {
		call->cred = *info->cred;
		call->have_cred = true;
	}
	call->final_code = TTRPC_CODE_UNKNOWN;
	return call;
}

static void drop_held(ttrpc_call *call)
{
	while (call->head) {
		struct ttrpc__held *h = call->head;
		call->head = h->next;
		free(h);
	}
	call->tail = NULL;
	call->held_bytes = 0;
}

static void call_free(ttrpc_call *call)
{
	struct ttrpc__registry *reg = call->reg;
	int64_t took = 0;
	bool timed = false;
	for (size_t i = call->n_before; i-- > 0;) {
		if (!reg->ics[i].after)
			continue;
		if (!timed) {
			took = ttrpc_now_ns() - call->start_ns;
			timed = true;
		}
		reg->ics[i].after(call, call->final_code, took, reg->ics[i].user);
	}
	drop_held(call);
	ttrpc__md_clear(&call->md);
	free(call);
	ttrpc__registry_unref(reg);
}

/* After a callback: deliver what a resume released, free a finished call. */
static void settle(ttrpc_call *call)
{
	if (call->depth > 0)
		return;
	const struct ttrpc_stream_handler *sh = &call->m.sh;
	while (!call->finished && call->tp && !call->paused && call->head) {
		struct ttrpc__held *h = call->head;
		call->head = h->next;
		if (!call->head)
			call->tail = NULL;
		call->held_bytes -= h->len + HELD_OVERHEAD;
		call->depth++;
		if (sh->on_msg)
			sh->on_msg(call, h->data, h->len, call->m.user);
		call->depth--;
		free(h);
	}
	if (!call->finished && call->tp && !call->paused && !call->head && call->close_pending) {
		call->close_pending = false;
		call->depth++;
		if (sh->on_close_send)
			sh->on_close_send(call, call->m.user);
		call->depth--;
		/* the callback may have paused and resumed: nothing new can be held */
	}
	if (!call->finished && call->tp && !call->paused && !call->head && call->ops->drained)
		call->ops->drained(call);
	if (call->finished && call->depth == 0)
		call_free(call);
}

/* The end on the wire (once), then free unless a callback still runs. */
static int end_call(ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len)
{
	if (call->finished)
		return TTRPC_ESTATE;
	int rc = TTRPC_ECLOSED;
	if (call->tp) {
		rc = call->ops->finish(call, code, message, payload, len);
		call->final_code = rc == TTRPC_ETOOBIG ? TTRPC_CODE_RESOURCE_EXHAUSTED : code;
		call->tp = NULL;
	}
	call->finished = true;
	drop_held(call);
	settle(call);
	return rc;
}

static void unknown_method(ttrpc_call *call)
{
	const struct ttrpc__registry *reg = call->reg;
	ttrpc__logf(reg->log, reg->log_user, TTRPC_LOG_DEBUG, "ttrpc: unknown method /%s/%s", call->service,
		    call->method);
	/* Go ttrpc's wording: "service X" or "method Y". */
	bool known = !call->service_cut && ttrpc__registry_has_service(reg, call->service);
	const char *name = known ? call->method : call->service;
	bool cut = known ? call->method_cut : call->service_cut;
	char msg[512];
	snprintf(msg, sizeof(msg), "%s %s%s", known ? "method" : "service", name, cut ? "\\x00..." : "");
	end_call(call, TTRPC_CODE_UNIMPLEMENTED, msg, NULL, 0);
}

static int deliver(ttrpc_call *call, const uint8_t *msg, size_t len, bool force);

void ttrpc__call_start(ttrpc_call *call, const uint8_t *payload, size_t len, bool has_payload)
{
	const struct ttrpc__registry *reg = call->reg;
	const struct ttrpc__method *found =
		call->service_cut || call->method_cut ? NULL : ttrpc__registry_lookup(reg, call->service, call->method);
	if (found) {
		call->known = true;
		call->m = *found;
		call->m.service = call->m.method = NULL;
	}
	call->kind = call->m.kind;
	call->depth++;
	for (size_t i = 0; i < reg->n_ics; i++) {
		if (!reg->ics[i].before) {
			call->n_before = i + 1;
			continue;
		}
		char *message = NULL;
		int code = reg->ics[i].before(call, &message, reg->ics[i].user);
		call->n_before = i + 1;
		if (code != TTRPC_CODE_OK) {
			end_call(call, code, message ? message : "", NULL, 0);
			free(message);
			call->depth--;
			settle(call);
			return;
		}
		free(message);
	}
	call->depth--;
	if (!call->known) {
		unknown_method(call);
		return;
	}
	const struct ttrpc__method *m = &call->m;
	call->depth++;
	switch (m->kind) {
	case TTRPC_KIND_UNARY:
		m->fn(call, payload, len, m->user);
		break;
	case TTRPC_KIND_SERVER_STREAM:
		call->remote_closed = true;
		m->sh.on_open(call, payload, len, m->user);
		break;
	default:
		m->sh.on_open(call, NULL, 0, m->user);
		/* Go hands a payload sent with the request to the handler as the
		 * stream's first message (containerd/ttrpc#126); held while depth
		 * > 0, delivered by the settle below (it fits any bound). */
		if (has_payload)
			deliver(call, payload ? payload : (const uint8_t *)"", len, true);
		break;
	}
	call->depth--;
	settle(call);
}

static int deliver(ttrpc_call *call, const uint8_t *msg, size_t len, bool force)
{
	if (call->kind == TTRPC_KIND_UNARY || call->kind == TTRPC_KIND_SERVER_STREAM || !call->known)
		return 0;
	if (call->remote_closed)
		return TTRPC_ESTATE;
	if (call->finished || !call->tp)
		return 0;
	if (!call->paused && !call->head && call->depth == 0) {
		call->depth++;
		if (call->m.sh.on_msg)
			call->m.sh.on_msg(call, msg, len, call->m.user);
		call->depth--;
		settle(call);
		return 0;
	}
	if (!force && call->held_bytes + len + HELD_OVERHEAD > call->reg->stream_buffer)
		return TTRPC_ETOOBIG;
	struct ttrpc__held *h = malloc(sizeof(*h) + len);
	if (!h)
		return TTRPC_ETOOBIG;
	h->next = NULL;
	h->len = len;
	if (len)
		memcpy(h->data, msg, len);
	if (call->tail)
		call->tail->next = h;
	else
		call->head = h;
	call->tail = h;
	call->held_bytes += len + HELD_OVERHEAD;
	settle(call);
	return 0;
}

int ttrpc__call_deliver(ttrpc_call *call, const uint8_t *msg, size_t len)
{
	return deliver(call, msg, len, false);
}

void ttrpc__call_close_send(ttrpc_call *call)
{
	if (call->remote_closed || call->finished || !call->known ||
	    (call->kind != TTRPC_KIND_CLIENT_STREAM && call->kind != TTRPC_KIND_BIDI_STREAM))
		return;
	call->remote_closed = true;
	call->close_pending = true;
	settle(call);
}

void ttrpc__call_writable(ttrpc_call *call)
{
	if (!call->want_writable || call->finished || !call->tp)
		return;
	call->want_writable = false;
	if (call->m.sh.on_writable) {
		call->depth++;
		call->m.sh.on_writable(call, call->m.user);
		call->depth--;
	}
	settle(call);
}

bool ttrpc__call_detach(ttrpc_call *call, int code)
{
	if (call->finished || !call->tp)
		return false;
	call->tp = NULL;
	call->final_code = code;
	drop_held(call);
	return call->on_orphan != NULL;
}

void ttrpc__call_run_orphan(ttrpc_call *call)
{
	call->depth++;
	call->on_orphan(call, call->orphan_user);
	call->depth--;
	settle(call);
}

/* --- the public call API --- */

int ttrpc_call_respond(ttrpc_call *call, const uint8_t *payload, size_t len)
{
	if (!call || (!payload && len))
		return TTRPC_EINVAL;
	if (call->kind != TTRPC_KIND_UNARY && call->kind != TTRPC_KIND_CLIENT_STREAM)
		return TTRPC_ESTATE;
	return end_call(call, TTRPC_CODE_OK, NULL, payload, len);
}

static int end_error(ttrpc_call *call, int code, const char *fmt, va_list ap) TTRPC_PRINTF(3, 0);
static int end_error(ttrpc_call *call, int code, const char *fmt, va_list ap)
{
	char msg[1024] = "";
	if (fmt)
		vsnprintf(msg, sizeof(msg), fmt, ap);
	return end_call(call, code, msg, NULL, 0);
}

int ttrpc_call_respond_error(ttrpc_call *call, int code, const char *fmt, ...)
{
	if (!call)
		return TTRPC_EINVAL;
	if (code == TTRPC_CODE_OK)
		code = TTRPC_CODE_UNKNOWN; /* an error answer must not read as success */
	va_list ap;
	va_start(ap, fmt);
	int rc = end_error(call, code, fmt, ap);
	va_end(ap);
	return rc;
}

int ttrpc_call_finish(ttrpc_call *call, int code, const char *fmt, ...)
{
	if (!call)
		return TTRPC_EINVAL;
	bool streams_out = call->kind == TTRPC_KIND_SERVER_STREAM || call->kind == TTRPC_KIND_BIDI_STREAM;
	if (code == TTRPC_CODE_OK && !streams_out)
		return TTRPC_ESTATE;
	va_list ap;
	va_start(ap, fmt);
	int rc = end_error(call, code, fmt, ap);
	va_end(ap);
	return rc;
}

int ttrpc_call_send(ttrpc_call *call, const uint8_t *msg, size_t len)
{
	if (!call || (!msg && len))
		return TTRPC_EINVAL;
	if (call->finished || (call->kind != TTRPC_KIND_SERVER_STREAM && call->kind != TTRPC_KIND_BIDI_STREAM))
		return TTRPC_ESTATE;
	if (!call->tp)
		return TTRPC_ECLOSED;
	if (len > call->reg->max_message)
		return TTRPC_ETOOBIG;
	if (call->ops->congested(call)) {
		if (!call->want_writable) {
			call->want_writable = true;
			if (call->ops->want_writable)
				call->ops->want_writable(call);
		}
		return TTRPC_EAGAIN;
	}
	return call->ops->send(call, msg ? msg : (const uint8_t *)"", len);
}

bool ttrpc_call_writable(const ttrpc_call *call)
{
	return call && !call->finished && call->tp &&
	       (call->kind == TTRPC_KIND_SERVER_STREAM || call->kind == TTRPC_KIND_BIDI_STREAM) &&
	       !call->ops->congested(call);
}

void ttrpc_call_pause(ttrpc_call *call, bool paused)
{
	if (!call || call->finished)
		return;
	call->paused = paused;
	if (!paused)
		settle(call);
}

enum ttrpc_stream_kind ttrpc_call_kind(const ttrpc_call *call)
{
	return call->kind;
}

void ttrpc_call_set_user(ttrpc_call *call, void *user)
{
	call->user = user;
}

void *ttrpc_call_user(const ttrpc_call *call)
{
	return call->user;
}

const char *ttrpc_call_service(const ttrpc_call *call)
{
	return call->service;
}

const char *ttrpc_call_method(const ttrpc_call *call)
{
	return call->method;
}

const ttrpc_md *ttrpc_call_metadata(const ttrpc_call *call)
{
	return &call->md;
}

ttrpc_md *ttrpc_call_metadata_mut(ttrpc_call *call)
{
	return &call->md;
}

int64_t ttrpc_call_deadline_ns(const ttrpc_call *call)
{
	return call->deadline_ns;
}

bool ttrpc_call_orphaned(const ttrpc_call *call)
{
	return call->tp == NULL;
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
