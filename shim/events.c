/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ttrpc/client.h>

#include "containerd/services/events/ttrpc/v1/events.ttrpc-c.h"

struct queued {
	char *topic;
	char *type_url;
	uint8_t *value;
	size_t len;
	struct timespec at;
	int tries;
	struct queued *next;
};

struct shim_events {
	struct ev_loop *loop;
	char *path;
	char *ns;
	struct shim_log *log;
	ttrpc_client *client;
	ttrpc_client *dead_client; /* closed from its own callback; freed later */
	struct queued *head, *tail;
	size_t count;
	bool in_flight;
	bool closing; /* in shim_events_free: completions change nothing */
	double backoff, backoff_first, backoff_max;
	ev_timer retry;
	struct shim_events_stats stats;
};

static void send_head(struct shim_events *ev);

static void queued_free(struct queued *q)
{
	free(q->topic);
	free(q->type_url);
	free(q->value);
	free(q);
}

static void pop(struct shim_events *ev)
{
	struct queued *q = ev->head;
	ev->head = q->next;
	if (!ev->head)
		ev->tail = NULL;
	ev->count--;
	queued_free(q);
}

double shim_events_backoff(double prev_s, double first_s, double max_s)
{
	double next = prev_s <= 0 ? first_s : prev_s * 2;
	return next > max_s ? max_s : next;
}

static void schedule_retry(struct shim_events *ev)
{
	ev->backoff = shim_events_backoff(ev->backoff, ev->backoff_first, ev->backoff_max);
	ev->stats.backoff_s = ev->backoff;
	ev_timer_stop(ev->loop, &ev->retry);
	ev_timer_set(&ev->retry, ev->backoff, 0.);
	ev_timer_start(ev->loop, &ev->retry);
}

static void drop_client(struct shim_events *ev)
{
	if (!ev->client)
		return;
	ttrpc_client_close(ev->client);
	ttrpc_client_free(ev->dead_client);
	ev->dead_client = ev->client;
	ev->client = NULL;
}

static void forwarded(const struct ttrpc_result *status, const Google__Protobuf__Empty *resp, void *user)
{
	(void)resp;
	struct shim_events *ev = user;
	ev->in_flight = false;
	if (ev->closing)
		return; /* the client is being freed under us; the event is given up with the queue */
	struct queued *q = ev->head;
	if (status->code == TTRPC_CODE_OK) {
		ev->backoff = 0;
		ev->stats.backoff_s = 0;
		ev->stats.delivered++;
		pop(ev);
		send_head(ev);
		return;
	}
	if (status->code == TTRPC_CODE_UNAVAILABLE) {
		/* transport gone (containerd restarting): reconnect, keep the event */
		shim_logf(ev->log, SHIM_LOG_WARN, "publish %s: %s; retrying", q->topic, status->message);
		drop_client(ev);
		schedule_retry(ev);
		return;
	}
	if (++q->tries >= SHIM_EVENTS_TRIES) {
		shim_logf(ev->log, SHIM_LOG_ERROR, "publish %s: %s: %s; dropped after %d tries", q->topic,
			  ttrpc_code_name(status->code), status->message, q->tries);
		ev->stats.dropped++;
		pop(ev);
		send_head(ev);
		return;
	}
	shim_logf(ev->log, SHIM_LOG_WARN, "publish %s: %s: %s; retrying", q->topic, ttrpc_code_name(status->code),
		  status->message);
	schedule_retry(ev);
}

static void send_head(struct shim_events *ev)
{
	if (ev->in_flight || !ev->head || ev_is_active(&ev->retry))
		return;
	if (!ev->path) {
		while (ev->head)
			pop(ev);
		return;
	}
	if (!ev->client || !ttrpc_client_connected(ev->client)) {
		drop_client(ev);
		int err;
		ev->client = ttrpc_client_connect(ev->loop, ev->path, &err);
		if (!ev->client) {
			ev->stats.attempts++;
			/* once per outage, not on every retry */
			if (ev->backoff <= 0)
				shim_logf(ev->log, SHIM_LOG_WARN, "publish %s: connect %s: %s; retrying",
					  ev->head->topic, ev->path, strerror(errno));
			schedule_retry(ev);
			return;
		}
	}
	struct queued *q = ev->head;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = q->at.tv_sec;
	ts.nanos = (int32_t)q->at.tv_nsec;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = q->type_url;
	any.value.data = q->value;
	any.value.len = q->len;
	Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	env.timestamp = &ts;
	env.namespace_ = ev->ns;
	env.topic = q->topic;
	env.event = &any;
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	req.envelope = &env;
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "containerd-namespace-ttrpc", ev->ns);
	struct ttrpc_call_opts opts = { .timeout_ns = 5000000000, .md = md };
	/* In flight before the call: its completion must find it so, whenever it runs. */
	ev->in_flight = true;
	int rc = containerd_services_events_ttrpc_v1_events_forward_call(ev->client, &req, &opts, forwarded, ev);
	ttrpc_md_free(md);
	ev->stats.attempts++;
	if (rc) {
		ev->in_flight = false;
		shim_logf(ev->log, SHIM_LOG_WARN, "publish %s: %s; retrying", q->topic, ttrpc_strerror(rc));
		drop_client(ev);
		schedule_retry(ev);
		return;
	}
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	send_head(w->data);
}

struct shim_events *shim_events_new(struct ev_loop *loop, const char *ttrpc_address, const char *ns,
				    struct shim_log *log)
{
	struct shim_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->loop = loop;
	ev->log = log;
	ev->ns = strdup(ns ? ns : "");
	if (ttrpc_address && *ttrpc_address) {
		if (!strncmp(ttrpc_address, "unix://", 7))
			ttrpc_address += 7;
		ev->path = strdup(ttrpc_address);
	}
	ev->backoff_first = SHIM_EVENTS_BACKOFF_FIRST;
	ev->backoff_max = SHIM_EVENTS_BACKOFF_MAX;
	ev_timer_init(&ev->retry, on_retry, 0., 0.);
	ev->retry.data = ev;
	return ev;
}

void shim_events_publish(struct shim_events *ev, const char *topic, const ProtobufCMessage *event)
{
	struct queued *q = calloc(1, sizeof(*q));
	if (!q)
		goto oom;
	q->topic = strdup(topic);
	q->type_url = strdup(event->descriptor->name);
	q->len = protobuf_c_message_get_packed_size(event);
	q->value = malloc(q->len ? q->len : 1);
	if (!q->topic || !q->type_url || !q->value) {
		queued_free(q);
		goto oom;
	}
	protobuf_c_message_pack(event, q->value);
	clock_gettime(CLOCK_REALTIME, &q->at);
	if (ev->count >= SHIM_EVENTS_QUEUE_MAX) {
		if (ev->in_flight && ev->head && !ev->head->next) {
			queued_free(q);
			goto full;
		}
		/* drop the oldest that is not on the wire right now */
		struct queued **pp = ev->in_flight ? &ev->head->next : &ev->head;
		struct queued *old = *pp;
		*pp = old->next;
		if (ev->tail == old)
			ev->tail = ev->head;
		shim_logf(ev->log, SHIM_LOG_ERROR, "event queue full: dropped %s", old->topic);
		queued_free(old);
		ev->count--;
		ev->stats.dropped++;
	}
	if (ev->tail)
		ev->tail->next = q;
	else
		ev->head = q;
	ev->tail = q;
	ev->count++;
	shim_logf(ev->log, SHIM_LOG_DEBUG, "event %s queued (%zu pending)", topic, ev->count);
	send_head(ev);
	return;
oom:
	ev->stats.dropped++;
	shim_logf(ev->log, SHIM_LOG_ERROR, "event %s lost: out of memory", topic);
	return;
full:
	ev->stats.dropped++;
	shim_logf(ev->log, SHIM_LOG_ERROR, "event queue full: dropped %s", topic);
}

void shim_events_set_backoff(struct shim_events *ev, double first_s, double max_s)
{
	ev->backoff_first = first_s;
	ev->backoff_max = max_s;
}

void shim_events_get_stats(const struct shim_events *ev, struct shim_events_stats *out)
{
	*out = ev->stats;
}

size_t shim_events_pending(const struct shim_events *ev)
{
	return ev ? ev->count : 0;
}

void shim_events_flush(struct shim_events *ev, double timeout_s)
{
	if (!ev)
		return;
	ev_now_update(ev->loop);
	ev_tstamp end = ev_now(ev->loop) + timeout_s;
	ev_timer guard;
	ev_timer_init(&guard, on_retry, timeout_s, 0.);
	guard.data = ev;
	ev_timer_start(ev->loop, &guard);
	while (ev->count > 0 && ev_now(ev->loop) < end)
		ev_run(ev->loop, EVRUN_ONCE);
	ev_timer_stop(ev->loop, &guard);
	if (ev->count)
		shim_logf(ev->log, SHIM_LOG_WARN, "exiting with %zu events not delivered", ev->count);
}

void shim_events_free(struct shim_events *ev)
{
	if (!ev)
		return;
	/* Freeing a client completes its call in flight (UNAVAILABLE) right here:
	 * forwarded() must not move the client to dead_client (freed twice) nor
	 * start the retry timer on memory about to go. */
	ev->closing = true;
	ev_timer_stop(ev->loop, &ev->retry);
	ttrpc_client_free(ev->client);
	ttrpc_client_free(ev->dead_client);
	while (ev->head)
		pop(ev);
	free(ev->path);
	free(ev->ns);
	free(ev);
}
