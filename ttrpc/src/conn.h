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

struct ttrpc__conn {
	struct ev_loop *loop;
	int fd;
	ev_io rio;
	ev_io wio;
	struct ttrpc__session session;
	ttrpc__conn_closed_fn on_closed;
	bool in_recv; /* writes are batched until the read callback ends */
	bool closed;
	bool close_when_flushed;
};

/* Take over fd (made non-blocking) and start reading. */
void ttrpc__conn_init(struct ttrpc__conn *c, struct ev_loop *loop, int fd, enum ttrpc__role role,
		      const struct ttrpc__session_cbs *cbs, ttrpc__conn_closed_fn on_closed);

/* Queued bytes go out: now if possible, else when the socket is writable. */
void ttrpc__conn_kick(struct ttrpc__conn *c);

/* Close the socket now and report on_closed once. Idempotent. */
void ttrpc__conn_close(struct ttrpc__conn *c, const char *reason);

/* Close once every queued byte is written. */
void ttrpc__conn_close_when_flushed(struct ttrpc__conn *c);

/* Release the session (after close). */
void ttrpc__conn_destroy(struct ttrpc__conn *c);

/* Log helper shared by server and client. */
void ttrpc__logf(ttrpc_log_fn fn, void *user, int level, const char *fmt, ...) TTRPC_PRINTF(4, 5);

#endif
