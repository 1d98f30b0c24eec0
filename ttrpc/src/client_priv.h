/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the client: what client.c (unary calls, the connection) and
 * client_stream.c (client streams) share. Every entry of the session's
 * stream table starts with its type byte. */
#ifndef TTRPC_CLIENT_PRIV_H
#define TTRPC_CLIENT_PRIV_H

#include <ttrpc/client.h>
#include <ttrpc/stream.h>

#include "conn.h"

enum {
	TTRPC__CL_UNARY = 1,  /* struct pending (client.c) */
	TTRPC__CL_STREAM = 2, /* ttrpc_stream (client_stream.c) */
};

struct ttrpc_client {
	struct ttrpc__conn c; /* first: the session's user pointer is &c */
	struct ev_loop *own_loop;
	void (*on_close)(ttrpc_client *client, void *user);
	void *on_close_user;
	ttrpc_log_fn log;
	void *log_user;
	ev_timer sweep;			 /* idle: give back large buffers */
	struct ttrpc__grpc_client *grpc; /* set: calls go over gRPC, c is unused */
	struct ttrpc_client_interceptor *ics;
	size_t n_ics;
	int depth;	   /* user callbacks running */
	bool free_pending; /* ttrpc_client_free from a callback: freed from the loop */
	ev_timer reaper;
	size_t stream_buffer; /* per-stream receive bound, bytes */
	size_t n_blocked;     /* streams waiting for on_writable (a hint) */
	bool scanning;
	ttrpc_stream *streams; /* every stream not freed yet (client_stream.c) */
};

/* Interceptors' before, in order, on md (the call's own copy, filled from
 * opts first). Returns the first code that is not OK (*message from it,
 * malloc'd or NULL) or OK, TTRPC_ENOMEM (< 0) when md could not be filled;
 * *n_before is how many ran (their after runs). */
int ttrpc__client_ic_before(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
			    const struct ttrpc_call_opts *opts, ttrpc_md *md, char **message, size_t *n_before);
/* The after of the n_before first interceptors, in reverse order. */
void ttrpc__client_ic_after(ttrpc_client *cl, const char *service, const char *method, enum ttrpc_stream_kind kind,
			    size_t n_before, int64_t start_ns, int code);

/* After a blocking call's loop returned: a client with a private loop that
 * was freed from a callback run meanwhile is freed now (true). */
bool ttrpc__client_reap_if_freed(ttrpc_client *cl);

/* Session events for a stream entry (client_stream.c). */
void ttrpc__client_stream_response(ttrpc_stream *st, const struct ttrpc__response_in *r);
void ttrpc__client_stream_data(ttrpc_stream *st, const uint8_t *msg, size_t len, bool end);
/* gRPC: the stream's end from the transport (code OK: the server's end,
 * payload the answer of a CLIENT_STREAM), and its send queue drained. */
void ttrpc__client_stream_grpc_end(ttrpc_stream *st, int code, const char *message, const uint8_t *payload, size_t len);
void ttrpc__client_stream_wake(ttrpc_stream *st);
/* The connection is gone: the stream ends with UNAVAILABLE (message). */
void ttrpc__client_stream_lost(ttrpc_stream *st, const char *message);
/* ttrpc_client_free: every stream still waiting to run on_done (its end
 * is known, messages held by a pause are not delivered) runs it now with
 * UNAVAILABLE; every stream forgets the client (a sync one may be finished
 * later). The connection is closed already. */
void ttrpc__client_streams_release(ttrpc_client *cl, const char *message);
/* Queued bytes were written: wake the streams whose send window drained. */
void ttrpc__client_progress(struct ttrpc__conn *c);

#endif
