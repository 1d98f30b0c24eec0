/* SPDX-License-Identifier: Apache-2.0 */
/* The libev glue shared by server and client: one socket, its read and write
 * watchers, and the session engine that speaks ttrpc over it. */
#ifndef TTRPC_CONN_H
#define TTRPC_CONN_H

#include <ev.h>
#include <stdbool.h>

#include "session.h"

struct ttrpc__conn;

/* The socket is gone (EOF, error, or ttrpc__conn_close). reason is static
 * text. The owner fails what is pending; it must not free the conn here. */
typedef void (*ttrpc__conn_closed_fn)(struct ttrpc__conn *c, const char *reason);

/* Memory shared by the connections of one server: what their queued output
 * and partial input buffers hold together. Over the limit, a connection that
 * holds at least its share (limit / connections) stops being read; one that
 * stays so without any output progress for grace_s is handed to expired. */
struct ttrpc__budget {
	size_t used;  /* bytes held by all the connections */
	size_t limit; /* 0: no limit */
	size_t n_conns;
	size_t n_paused; /* connections stopped for the budget */
	double grace_s;	 /* <= 0: never expire */
	/* used fell to the low mark with connections paused: re-settle them */
	void (*relieved)(struct ttrpc__budget *b);
	/* a connection stayed over its share past grace_s: log and close it */
	void (*expired)(struct ttrpc__budget *b, struct ttrpc__conn *c);
	/* over the limit while spare > 0: every connection sheds (ttrpc__conn_shed) */
	void (*pressure)(struct ttrpc__budget *b);
	size_t spare; /* of used: empty large buffers kept for reuse */
	bool relieving, pressing;
};

struct ttrpc__conn {
	struct ev_loop *loop;
	int fd;
	ev_io rio;
	ev_io wio;
	struct ttrpc__session session;
	ttrpc__conn_closed_fn on_closed;
	/* Optional: queued bytes were written (streams waiting to send may go on). */
	void (*on_progress)(struct ttrpc__conn *c);
	bool in_recv; /* writes are batched until the read callback ends */
	bool closed;
	bool close_when_flushed;
	bool out_paused;	      /* too many unread answers queued: not reading */
	bool budget_paused;	      /* over its share of the budget: not reading */
	struct ttrpc__budget *budget; /* NULL: unbounded (clients) */
	size_t held;		      /* bytes counted in budget->used */
	size_t spare;		      /* of held: empty large buffers */
	ev_timer over_timer;	      /* budget_paused for too long */
	ev_timer fail_soon;	      /* a write from an API call failed: close from the loop */
	const char *fail_reason;
	ev_tstamp last_progress; /* last output written while budget_paused */
	bool active;		 /* read or wrote since the last idle sweep */
};

/* Take over fd (made non-blocking) and start reading. */
void ttrpc__conn_init(struct ttrpc__conn *c, struct ev_loop *loop, int fd, enum ttrpc__role role,
		      const struct ttrpc__session_cbs *cbs, ttrpc__conn_closed_fn on_closed);

/* Count this conn's buffers in budget (call right after init). */
void ttrpc__conn_set_budget(struct ttrpc__conn *c, struct ttrpc__budget *budget);

/* Re-check the read/write watchers against the queues and the budget. */
void ttrpc__conn_settle(struct ttrpc__conn *c);

/* Bytes this conn holds in buffers (queued output and partial input). */
size_t ttrpc__conn_held(const struct ttrpc__conn *c);

/* Idle sweep, called about once a second: a connection that neither read nor
 * wrote since the last call gives back its large empty buffers. */
void ttrpc__conn_release_idle(struct ttrpc__conn *c);

/* Give back empty large buffers now (memory pressure). */
void ttrpc__conn_shed(struct ttrpc__conn *c);

/* A repeating timer (TTRPC__SWEEP_S) for idle sweeps that does not keep the
 * loop alive on its own; stop is a no-op when it is not running. */
#define TTRPC__SWEEP_S 1.0
void ttrpc__sweep_start(struct ev_loop *loop, ev_timer *t);
void ttrpc__sweep_stop(struct ev_loop *loop, ev_timer *t);

/* Queued bytes go out: now if possible, else when the socket is writable. */
void ttrpc__conn_kick(struct ttrpc__conn *c);

/* Close the socket now and report on_closed once. Idempotent. */
void ttrpc__conn_close(struct ttrpc__conn *c, const char *reason);

/* Close once every queued byte is written. */
void ttrpc__conn_close_when_flushed(struct ttrpc__conn *c);

/* Release the session (after close). */
void ttrpc__conn_destroy(struct ttrpc__conn *c);

/* Ids of streams to wake once output was written (server calls, client
 * streams): add grows the array; out of memory, the id counts as waiting
 * (retried on the next progress). */
struct ttrpc__wake_scan {
	uint32_t *ids;
	size_t n, cap, waiting;
};
void ttrpc__wake_scan_add(struct ttrpc__wake_scan *w, uint32_t id);

/* service and method in one allocation (free the returned service only). */
char *ttrpc__names_dup(const char *service, const char *method, char **method_copy);

/* Log helper shared by server and client. */
void ttrpc__logf(ttrpc_log_fn fn, void *user, int level, const char *fmt, ...) TTRPC_PRINTF(4, 5);

#endif
