/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc streams (ttrpc 1.2: server, client and bidirectional streaming),
 * interceptors and limits. The contract shared by the library, the generated
 * stubs and the gRPC transport: a server stream is a ttrpc_call (every
 * ttrpc_call_* accessor works on it); a client stream is a ttrpc_stream.
 *
 * Flow control. Receiving: messages are handed to on_msg as they arrive.
 * A receiver that cannot take more pauses the stream (ttrpc_call_pause /
 * ttrpc_stream_pause); messages that arrive meanwhile are held for that
 * stream only, up to its receive bound (ttrpc_*_set_stream_buffer, default
 * TTRPC_STREAM_BUFFER_DEFAULT). A stream that goes over its bound fails at
 * once with RESOURCE_EXHAUSTED; the connection and its other streams go on.
 * On a server both ends learn it (the status goes to the client); on a
 * client only the client does (ttrpc has no frame a client could say it
 * with: see ttrpc_stream_cancel, whose wire behaviour it shares).
 * Sending: *_send copies the message into the stream's send queue and
 * returns TTRPC_EAGAIN (nothing queued) once that queue holds
 * TTRPC_STREAM_SEND_WINDOW bytes or more that the peer has not read; the
 * on_writable callback runs when it has drained below half of it. A message
 * is always accepted when the queue is empty, whatever its size (up to the
 * message limit). */
#ifndef TTRPC_STREAM_H
#define TTRPC_STREAM_H

#include <stdbool.h>
#include <ttrpc/client.h>
#include <ttrpc/common.h>
#include <ttrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest message limit that may be configured (16 MiB). */
#define TTRPC_MAX_MESSAGE_LIMIT 16777216u
/* Default per-stream receive bound: 4 MiB held for a paused stream. */
#define TTRPC_STREAM_BUFFER_DEFAULT 4194304u
/* Bytes of unread messages one stream may queue before *_send says EAGAIN. */
#define TTRPC_STREAM_SEND_WINDOW 1048576u

/* What a method streams. */
enum ttrpc_stream_kind {
	TTRPC_KIND_UNARY = 0,	      /* one request, one response */
	TTRPC_KIND_SERVER_STREAM = 1, /* one request, many responses */
	TTRPC_KIND_CLIENT_STREAM = 2, /* many requests, one response */
	TTRPC_KIND_BIDI_STREAM = 3,   /* many each way */
};

/* ---------------------------------------------------------------- server */

/* Handlers of one streaming method; all run from the loop. The call is
 * valid until it is finished (ttrpc_call_finish or, for client-streaming,
 * ttrpc_call_respond/ttrpc_call_respond_error), exactly once, also after the
 * peer went away (then ttrpc_call_orphaned is true, on_orphan ran, and
 * finishing just frees it). */
struct ttrpc_stream_handler {
	enum ttrpc_stream_kind kind; /* SERVER_STREAM, CLIENT_STREAM or BIDI_STREAM */
	/* The stream opened. For SERVER_STREAM, req/len is the request (valid
	 * during the callback). For CLIENT_STREAM and BIDI_STREAM, req is NULL
	 * and len 0; messages come through on_msg. Required. */
	void (*on_open)(ttrpc_call *call, const uint8_t *req, size_t len, void *user);
	/* One message from the client (valid during the callback; len may be 0:
	 * an empty message is still a message). CLIENT_STREAM/BIDI_STREAM only. */
	void (*on_msg)(ttrpc_call *call, const uint8_t *msg, size_t len, void *user);
	/* The client closed its sending side (CloseSend); no more on_msg. */
	void (*on_close_send)(ttrpc_call *call, void *user);
	/* The send queue drained below half of TTRPC_STREAM_SEND_WINDOW after a
	 * ttrpc_call_send returned TTRPC_EAGAIN. Optional. */
	void (*on_writable)(ttrpc_call *call, void *user);
};

/* Register a streaming method next to unary ones (same name space: a pair
 * registered either way gives TTRPC_EEXIST). h is copied. */
TTRPC_API int ttrpc_server_register_stream(ttrpc_server *server, const char *service, const char *method,
					   const struct ttrpc_stream_handler *h, void *user);

/* Kind of the call (TTRPC_KIND_UNARY for unary calls). */
TTRPC_API enum ttrpc_stream_kind ttrpc_call_kind(const ttrpc_call *call);
/* A pointer the handler keeps with the call (NULL until set). */
TTRPC_API void ttrpc_call_set_user(ttrpc_call *call, void *user);
TTRPC_API void *ttrpc_call_user(const ttrpc_call *call);

/* Send one message to the client (SERVER_STREAM, BIDI_STREAM). Copied.
 * TTRPC_EAGAIN: the send queue is full, wait for on_writable. TTRPC_ETOOBIG
 * over the message limit (nothing sent, the stream stays open). TTRPC_ECLOSED
 * when the peer is gone or the stream failed. TTRPC_ESTATE on a unary or
 * client-streaming call or after finish. */
TTRPC_API int ttrpc_call_send(ttrpc_call *call, const uint8_t *msg, size_t len);
/* true when ttrpc_call_send would accept a message now. */
TTRPC_API bool ttrpc_call_writable(const ttrpc_call *call);
/* End a SERVER_STREAM or BIDI_STREAM call and free it. OK ends the stream
 * the way Go 1.2 does (a Data frame with remote-closed|no-data); any other
 * code sends a Response carrying the status and fmt message. Also valid on
 * unary and client-streaming calls with a code != OK (same as
 * ttrpc_call_respond_error). */
TTRPC_API int ttrpc_call_finish(ttrpc_call *call, int code, const char *fmt, ...) TTRPC_PRINTF(3, 4);
/* Stop (true) or resume (false) delivering on_msg for this call; while
 * paused, messages are held up to the server's stream buffer bound. */
TTRPC_API void ttrpc_call_pause(ttrpc_call *call, bool paused);
/* Per-stream receive bound of the server's streams, bytes (> 0). */
TTRPC_API int ttrpc_server_set_stream_buffer(ttrpc_server *server, size_t bytes);
/* Largest message the server accepts and sends, bytes: 1 ..
 * TTRPC_MAX_MESSAGE_LIMIT (else TTRPC_EINVAL). Default TTRPC_MAX_MESSAGE_SIZE. */
TTRPC_API int ttrpc_server_set_max_message(ttrpc_server *server, size_t bytes);
/* Metadata of the call that interceptors may add to (the handler then sees
 * it through ttrpc_call_metadata). */
TTRPC_API ttrpc_md *ttrpc_call_metadata_mut(ttrpc_call *call);

/* Server interceptors run in the order added, for unary calls and streams
 * alike. before runs when a call or stream arrives, before the handler; it
 * may read and add metadata (ttrpc_call_metadata_mut) and returns
 * TTRPC_CODE_OK to go on or a status code to reject the call with, the
 * message then being *message (malloc'd, taken by the library; may stay
 * NULL). A rejected call runs no further before and no handler. after runs
 * once the call or stream is finished (also when rejected or orphaned), with
 * the status sent and the time since it arrived, in reverse order. */
struct ttrpc_server_interceptor {
	int (*before)(ttrpc_call *call, char **message, void *user);
	void (*after)(const ttrpc_call *call, int code, int64_t duration_ns, void *user);
	void *user;
};
TTRPC_API int ttrpc_server_add_interceptor(ttrpc_server *server, const struct ttrpc_server_interceptor *ic);

/* ---------------------------------------------------------------- client */
/* Client streams are framed as Go 1.2's client frames them: a Request with
 * remote-closed for SERVER_STREAM (the request is the only message) or
 * remote-open (CLIENT_STREAM, BIDI_STREAM: no payload, messages follow as
 * Data frames), CloseSend as Data remote-closed|no-data. On a gRPC client
 * (ttrpc_client_connect_grpc) the same API opens an HTTP/2 stream: the
 * request HEADERS, the messages as 5-byte-prefixed DATA, CloseSend as
 * END_STREAM, the end from the grpc-status trailers; a local end
 * (ttrpc_stream_cancel, the deadline, a receive bound overrun) resets the
 * HTTP/2 stream (RST_STREAM CANCEL), so there the server IS told. */

typedef struct ttrpc_stream ttrpc_stream;

/* Callbacks of one client stream; all run from the loop. */
struct ttrpc_stream_cbs {
	/* One message from the server (valid during the callback; may be empty). */
	void (*on_msg)(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user);
	/* The stream ended, exactly once: OK after the server's end of stream (for
	 * CLIENT_STREAM result carries the response payload), or the error status
	 * (from the server, the deadline, cancellation, a lost connection or a
	 * receive bound overrun). Messages the server sent before its end are
	 * delivered first (also after a pause); a local end drops held ones. An
	 * OK Response ending a SERVER/BIDI stream (Go's server never sends one)
	 * is read as Go's RecvMsg reads it: its payload, if not empty, is a last
	 * message. The stream is freed when this returns. */
	void (*on_done)(ttrpc_stream *st, const struct ttrpc_result *result, void *user);
	/* The send queue drained below half of TTRPC_STREAM_SEND_WINDOW after a
	 * ttrpc_stream_send returned TTRPC_EAGAIN. Optional. */
	void (*on_writable)(ttrpc_stream *st, void *user);
};

/* Open a stream of kind on service/method. For SERVER_STREAM, req/len is the
 * request (copied), for the other kinds len must be 0. opts as for
 * ttrpc_client_call (deadline for the whole stream, enforced locally too;
 * metadata). On success *out (out may be NULL) is the stream, valid until
 * on_done returns. A stream a client interceptor rejects is not sent: its
 * on_done runs before this returns 0, and *out is NULL. Errors as
 * ttrpc_client_call (TTRPC_EINVAL also for a bad kind or a missing on_done);
 * on error on_done is never called. */
TTRPC_API int ttrpc_client_stream_open(ttrpc_client *client, const char *service, const char *method,
				       enum ttrpc_stream_kind kind, const uint8_t *req, size_t len,
				       const struct ttrpc_call_opts *opts, const struct ttrpc_stream_cbs *cbs,
				       void *user, ttrpc_stream **out);
/* Send one message (CLIENT_STREAM, BIDI_STREAM); copied. TTRPC_EAGAIN when
 * the send queue is full (wait for on_writable); TTRPC_ETOOBIG over the
 * limit; TTRPC_ESTATE after close_send; TTRPC_ECLOSED once done. */
TTRPC_API int ttrpc_stream_send(ttrpc_stream *st, const uint8_t *msg, size_t len);
TTRPC_API bool ttrpc_stream_writable(const ttrpc_stream *st);
/* Close the sending side (CloseSend: Data remote-closed|no-data). */
TTRPC_API int ttrpc_stream_close_send(ttrpc_stream *st);
/* Cancel the stream. Locally it ends now: on_done runs before this returns,
 * with CANCELLED "context canceled" (messages held for it are dropped; from
 * inside one of its own callbacks on_done runs nested and the stream is freed
 * once that callback returns), and whatever the server still sends for it is
 * read and dropped. Over gRPC the HTTP/2 stream is reset (RST_STREAM
 * CANCEL: the server's call is orphaned). Over ttrpc NOTHING is sent: ttrpc has no frame that
 * resets one stream, and Go 1.2's client sends nothing either when a
 * stream's context is cancelled (RecvMsg just returns ctx.Err()). So the
 * server is not told: its call goes on (not orphaned) until its handler ends
 * it, its own deadline passes (the timeout_ns sent when the stream opened),
 * or the connection closes. No CloseSend is sent in its place: a
 * client-streaming handler would take the input it got so far as complete.
 * To free the server's end at once, close the connection
 * (ttrpc_client_close): every call of this connection is orphaned there. A
 * no-op once the stream ended (before on_done returned). */
TTRPC_API void ttrpc_stream_cancel(ttrpc_stream *st);
/* Stop (true) or resume (false) delivering on_msg; while paused, messages
 * are held up to the client's stream buffer bound. */
TTRPC_API void ttrpc_stream_pause(ttrpc_stream *st, bool paused);
/* The user pointer the callbacks get (initially open's user). */
TTRPC_API void ttrpc_stream_set_user(ttrpc_stream *st, void *user);
TTRPC_API void *ttrpc_stream_user(const ttrpc_stream *st);
/* Per-stream receive bound of the client's streams, bytes (> 0); counts
 * each held message as its size plus 32 bytes. */
TTRPC_API int ttrpc_client_set_stream_buffer(ttrpc_client *client, size_t bytes);
/* Largest message the client sends and accepts; as ttrpc_server_set_max_message. */
TTRPC_API int ttrpc_client_set_max_message(ttrpc_client *client, size_t bytes);

/* Blocking streams: run the client's (private) loop; not from a callback on
 * the same loop. A sync stream keeps received messages in its own queue
 * (bounded by the stream buffer: a reader that falls behind gets
 * RESOURCE_EXHAUSTED) instead of calling back. It is freed only by
 * ttrpc_stream_finish_sync, which may come after the client was freed (the
 * stream then ended with UNAVAILABLE). A stream a client interceptor rejects
 * is returned too, already ended with the interceptor's status. */
TTRPC_API int ttrpc_client_stream_open_sync(ttrpc_client *client, const char *service, const char *method,
					    enum ttrpc_stream_kind kind, const uint8_t *req, size_t len,
					    const struct ttrpc_call_opts *opts, ttrpc_stream **out);
/* Send, waiting while the send queue is full. 0 or a TTRPC_E* code (the
 * stream's status then comes from ttrpc_stream_finish_sync). */
TTRPC_API int ttrpc_stream_send_sync(ttrpc_stream *st, const uint8_t *msg, size_t len);
/* Next message: 1 with *msg (malloc'd, caller frees; not NULL even when
 * *len is 0) and *len; 0 at the end of the stream when it ended with OK,
 * TTRPC_ECLOSED when it ended with an error status (then call
 * ttrpc_stream_finish_sync for it); TTRPC_EINVAL on a bad argument. */
TTRPC_API int ttrpc_stream_recv_sync(ttrpc_stream *st, uint8_t **msg, size_t *len);
/* Wait for the end, fill result (release with ttrpc_result_clear), free the
 * stream. Messages not yet received are dropped; a send side still open is
 * closed first (CloseSend: a client-streaming server answers only then).
 * Returns result->code. */
TTRPC_API int ttrpc_stream_finish_sync(ttrpc_stream *st, struct ttrpc_result *result);

/* Client interceptors, for unary calls and streams, in the order added.
 * before may read and add outgoing metadata (md is the call's own copy) and
 * returns TTRPC_CODE_OK or a status code: the call then fails locally with
 * it (done/on_done runs with that code and *message, nothing is sent). after
 * runs on completion with the status and the time since the call started. */
struct ttrpc_client_interceptor {
	int (*before)(const char *service, const char *method, enum ttrpc_stream_kind kind, ttrpc_md *md,
		      char **message, void *user);
	void (*after)(const char *service, const char *method, enum ttrpc_stream_kind kind, int code,
		      int64_t duration_ns, void *user);
	void *user;
};
TTRPC_API int ttrpc_client_add_interceptor(ttrpc_client *client, const struct ttrpc_client_interceptor *ic);

#ifdef __cplusplus
}
#endif

#endif
