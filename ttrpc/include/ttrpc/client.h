/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc client: many calls in flight on one connection, an async API on a
 * libev loop, and a blocking API built on it. */
#ifndef TTRPC_CLIENT_H
#define TTRPC_CLIENT_H

#include <ttrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

typedef struct ttrpc_client ttrpc_client;

/* Outcome of one call, handed to the completion callback (valid only during
 * it) or filled in by ttrpc_client_call_sync (then owned by the caller). */
struct ttrpc_result {
	int code;	  /* TTRPC_CODE_*; OK means payload holds the response */
	char *message;	  /* status message, "" when none; never NULL */
	uint8_t *payload; /* response bytes (may be NULL when len is 0) */
	size_t len;
};

/* Release what ttrpc_client_call_sync stored in a result; safe to call twice. */
TTRPC_API void ttrpc_result_clear(struct ttrpc_result *result);

/* Per-call options; a NULL pointer means none. */
struct ttrpc_call_opts {
	int64_t timeout_ns; /* 0 = no deadline; sent as timeout_nano, enforced locally; < 0 is EINVAL */
	const ttrpc_md *md; /* request metadata, copied at call time; may be NULL */
};

/* Completion callback; runs exactly once per accepted call, from the loop. */
typedef void (*ttrpc_done_fn)(const struct ttrpc_result *result, void *user);

/* Connect to a unix socket path. loop may be NULL: the client then owns a
 * private loop, fine for blocking calls. On failure returns NULL and stores a
 * TTRPC_E* code in *err (if err is not NULL); errno tells the system reason. */
TTRPC_API ttrpc_client *ttrpc_client_connect(struct ev_loop *loop, const char *path, int *err);

/* Wrap an already-connected socket fd (owned from now on). loop as above. */
TTRPC_API ttrpc_client *ttrpc_client_adopt(struct ev_loop *loop, int fd, int *err);

/* Close the connection and free. Every pending call's done (and every async
 * stream's on_done) runs exactly once before this returns, with UNAVAILABLE
 * "ttrpc: closed: closed by client" (its deadline timer stopped; a new call
 * from done gets TTRPC_ECLOSED); the on_close hook does not run. NULL is a
 * no-op. Allowed from inside one of this client's own callbacks (done,
 * on_msg, on_done, on_writable, on_close) as libuv's close is: the connection
 * closes and the callbacks run then, and the memory is freed from the loop
 * once the outermost callback returned (the loop must run once more: a
 * zero-delay timer); with a private loop (loop NULL), when the blocking call
 * that ran the callback returns (a private loop the application runs itself
 * cannot be destroyed from inside: free such a client after ev_run returned).
 * The client must not be used after the call. The same for gRPC clients
 * (ttrpc_client_connect_grpc). */
TTRPC_API void ttrpc_client_free(ttrpc_client *client);

/* Close the connection now: every pending call completes with UNAVAILABLE
 * ("ttrpc: closed: closed by client") before this returns. Further calls
 * fail with TTRPC_ECLOSED. */
TTRPC_API void ttrpc_client_close(ttrpc_client *client);

/* Route the library's log lines to fn (default: dropped). */
TTRPC_API void ttrpc_client_set_log(ttrpc_client *client, ttrpc_log_fn fn, void *user);

/* Be told once when the connection is lost or closed (after pending calls failed). */
TTRPC_API void ttrpc_client_on_close(ttrpc_client *client, void (*fn)(ttrpc_client *client, void *user), void *user);

/* true while the connection is usable. */
TTRPC_API int ttrpc_client_connected(const ttrpc_client *client);

/* The loop the client runs on (its private one if created with NULL). */
TTRPC_API struct ev_loop *ttrpc_client_loop(const ttrpc_client *client);

/* Start an async call of service/method with request bytes (copied). done runs
 * later from the loop, exactly once. Returns 0, or: TTRPC_ETOOBIG (nothing
 * sent: request over TTRPC_MAX_MESSAGE_SIZE), TTRPC_ECLOSED, TTRPC_EINVAL,
 * TTRPC_ENOMEM; on error done is never called. */
TTRPC_API int ttrpc_client_call(ttrpc_client *client, const char *service, const char *method, const uint8_t *req,
				size_t req_len, const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user);

/* Blocking call: runs the client's loop until the answer comes. The result is
 * always filled in (local failures become a status: RESOURCE_EXHAUSTED for an
 * oversized request, UNAVAILABLE when closed) and must be released with
 * ttrpc_result_clear. Returns result->code. Must not be called from a callback
 * running on the same loop. */
TTRPC_API int ttrpc_client_call_sync(ttrpc_client *client, const char *service, const char *method, const uint8_t *req,
				     size_t req_len, const struct ttrpc_call_opts *opts, struct ttrpc_result *result);

/* Number of calls waiting for an answer. */
TTRPC_API size_t ttrpc_client_pending(const ttrpc_client *client);

#ifdef __cplusplus
}
#endif
#endif
