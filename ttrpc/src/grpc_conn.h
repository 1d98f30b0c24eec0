/* SPDX-License-Identifier: Apache-2.0 */
/* The libev glue of the gRPC transport: one socket, its watchers, and the
 * nghttp2 session (which does no I/O) that speaks HTTP/2 over it. Shared by
 * the gRPC client and server; all HTTP/2 is nghttp2's. */
#ifndef TTRPC_GRPC_CONN_H
#define TTRPC_GRPC_CONN_H

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>

#include "buf.h"

struct ttrpc__h2conn;
struct ttrpc_md;
struct ssl_st;

/* The connection is gone (EOF, error, protocol error, both sides done, or
 * ttrpc__h2conn_close). reason is static text. Must not free the conn. */
typedef void (*ttrpc__h2conn_closed_fn)(struct ttrpc__h2conn *h, const char *reason);

struct ttrpc__h2conn {
	struct ev_loop *loop;
	int fd;
	ev_io rio;
	ev_io wio;
	nghttp2_session *ngh;
	struct ttrpc__buf out; /* serialized frames not yet written */
	uint8_t *rbuf;
	ttrpc__h2conn_closed_fn on_closed;
	bool in_recv; /* inside nghttp2_session_mem_recv: flush afterwards */
	bool closed;
	struct ssl_st *ssl; /* set: TLS over fd */
	bool handshaking;   /* nothing goes to nghttp2 or from it until done */
	bool tls_failed;    /* no close_notify after a TLS error */
	char reason[256];   /* of a TLS failure, for on_closed */
};

/* A header block being put together for nghttp2_submit_* (which copies
 * it): names and values point to the caller's strings, or to owned[]
 * (base64 of -bin metadata) until ttrpc__h2_hdrs_free. */
struct ttrpc__h2_hdrs {
	nghttp2_nv nv[64];
	size_t n;
	char *owned[32];
	size_t n_owned;
};

/* Add one header (silently dropped past the capacity: for our fixed headers). */
void ttrpc__h2_hdrs_add(struct ttrpc__h2_hdrs *h, const char *name, size_t namelen, const char *value, size_t valuelen);
#define TTRPC__H2_ADD_LIT(h, name, value) ttrpc__h2_hdrs_add(h, name, sizeof(name) - 1, value, strlen(value))
/* Metadata as headers ("-bin" values base64-encoded): TTRPC_EINVAL for keys
 * or values HTTP/2 cannot carry, reserved keys, or too many. */
int ttrpc__h2_hdrs_add_md(struct ttrpc__h2_hdrs *h, const struct ttrpc_md *md);
void ttrpc__h2_hdrs_free(struct ttrpc__h2_hdrs *h);

/* Take over fd (made non-blocking) and ngh; start reading. TTRPC_ENOMEM. */
int ttrpc__h2conn_init(struct ttrpc__h2conn *h, struct ev_loop *loop, int fd, nghttp2_session *ngh,
		       ttrpc__h2conn_closed_fn on_closed);
/* Speak TLS over the conn from now on (right after init, before any
 * flush); ssl is owned from now on and freed with the conn. Its state
 * (connect or accept) is set by the caller. The handshake starts now and
 * continues on the loop; a failure closes the conn with the reason. */
void ttrpc__h2conn_start_tls(struct ttrpc__h2conn *h, struct ssl_st *ssl);
/* Serialize what nghttp2 has queued and write it (now, or when writable).
 * Deferred while input is being processed. Closes the conn when the session
 * wants neither to read nor to write any more. */
void ttrpc__h2conn_flush(struct ttrpc__h2conn *h);
/* Close the socket now and report on_closed once. Idempotent. */
void ttrpc__h2conn_close(struct ttrpc__h2conn *h, const char *reason);
/* Free the session and buffers (after close; not from an nghttp2 callback). */
void ttrpc__h2conn_destroy(struct ttrpc__h2conn *h);

#endif
