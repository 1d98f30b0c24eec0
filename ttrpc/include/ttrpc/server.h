/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc server: listens on unix sockets, dispatches "service/method" calls
 * to handlers on a libev loop. Handlers may answer at once or much later. */
#ifndef TTRPC_SERVER_H
#define TTRPC_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <ttrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

typedef struct ttrpc_server ttrpc_server;

/* One incoming call. It stays valid until the handler answers it with
 * ttrpc_call_respond() or ttrpc_call_respond_error(), exactly once, from the
 * handler itself or from any later loop iteration. If the connection goes away
 * first, the call stays valid; answering it then just frees it. */
typedef struct ttrpc_call ttrpc_call;

/* A method handler. req/req_len is the request payload (protobuf bytes), valid
 * only during this callback. user is the pointer given at registration. */
typedef void (*ttrpc_handler_fn)(ttrpc_call *call, const uint8_t *req, size_t req_len, void *user);

/* Called when a graceful shutdown has finished (every connection closed). */
typedef void (*ttrpc_shutdown_fn)(ttrpc_server *server, void *user);

/* New server on loop (not owned). NULL when out of memory. */
TTRPC_API ttrpc_server *ttrpc_server_new(struct ev_loop *loop);

/* Stop everything at once (ttrpc_server_close) and free. NULL is a no-op.
 * Calls still held by handlers stay valid until answered. */
TTRPC_API void ttrpc_server_free(ttrpc_server *server);

/* Route the library's log lines to fn (default: dropped). */
TTRPC_API void ttrpc_server_set_log(ttrpc_server *server, ttrpc_log_fn fn, void *user);

/* Accept only peers whose SO_PEERCRED matches: uid and gid, each -1 for "any"
 * (Go's UnixSocketRequireUidGid). Others are closed on accept and logged. */
TTRPC_API void ttrpc_server_require_creds(ttrpc_server *server, int uid, int gid);

/* Backlog of the sockets later ttrpc_server_listen() calls create: how many
 * connections may wait to be accepted before a connect fails (EAGAIN for a
 * non-blocking client). 0 (the default) is the system maximum,
 * /proc/sys/net/core/somaxconn (4096 on current kernels), as Go uses; larger
 * values are capped by the kernel. Accepted connections are taken up to 64 per
 * loop wake-up. TTRPC_EINVAL for a negative backlog. */
TTRPC_API int ttrpc_server_set_backlog(ttrpc_server *server, int backlog);

/* Default of ttrpc_server_set_memory_budget: 32 MiB. */
#define TTRPC_SERVER_MEMORY_BUDGET_DEFAULT (32u * 1024u * 1024u)
/* Default of ttrpc_server_set_budget_grace: 10 seconds. */
#define TTRPC_SERVER_BUDGET_GRACE_DEFAULT 10.0

/* Memory budget of the whole server, in bytes: what all its connections hold
 * together in queued answers (written when their peer reads) and partially
 * received requests. Once it is exceeded, every connection holding at least
 * its share (budget / open connections) stops being read (its requests wait
 * in the kernel) until the total is back under three quarters of the budget
 * or its own hold under half its share. Independently, one connection stops
 * being read while more than 12 MiB of answers wait for its peer. 0 means no
 * server-wide limit. Default TTRPC_SERVER_MEMORY_BUDGET_DEFAULT (32 MiB). The
 * budget bounds buffers, not what handlers hold for deferred answers. */
TTRPC_API int ttrpc_server_set_memory_budget(ttrpc_server *server, size_t bytes);

/* A connection kept from reading by the budget whose peer takes none of its
 * answers for this long is closed, with a WARN log line naming its pid and
 * what it held; a peer that reads, however slowly, is not. 0 means never.
 * Default TTRPC_SERVER_BUDGET_GRACE_DEFAULT (10 s). TTRPC_EINVAL when
 * negative or not finite. */
TTRPC_API int ttrpc_server_set_budget_grace(ttrpc_server *server, double seconds);

/* Bytes the server's connections hold now in buffers, as counted against the
 * memory budget (for monitoring and tests). */
TTRPC_API size_t ttrpc_server_memory_held(const ttrpc_server *server);

/* Register handler for "service" (e.g. "containerd.task.v2.Task") and method
 * ("Create"). Strings are copied. TTRPC_EEXIST if the pair is registered. */
TTRPC_API int ttrpc_server_register(ttrpc_server *server, const char *service, const char *method,
				    ttrpc_handler_fn handler, void *user);

/* Create a unix socket at path (mode 0600 via umask-independent fchmod) and
 * listen on it. A stale socket file nobody listens on is replaced; a live one
 * gives TTRPC_EEXIST. The file is removed on close. TTRPC_ESTATE (and no
 * file created) while a graceful shutdown is in progress. */
TTRPC_API int ttrpc_server_listen(ttrpc_server *server, const char *path);

/* Serve on an already-listening socket fd. The server owns fd from now on,
 * also when this fails: then fd is closed. TTRPC_ESTATE while a graceful
 * shutdown is in progress. */
TTRPC_API int ttrpc_server_adopt_listener(ttrpc_server *server, int fd);

/* Serve one already-connected socket fd (e.g. one end of a socketpair). The
 * server owns fd from now on, also when this fails: then fd is closed.
 * TTRPC_ESTATE while a graceful shutdown is in progress. */
TTRPC_API int ttrpc_server_adopt_conn(ttrpc_server *server, int fd);

/* Graceful shutdown: stop accepting (listeners closed, socket files removed),
 * let calls in flight be answered, close connections as they become idle. A
 * new request on a connection that is draining is answered at once with
 * UNAVAILABLE "ttrpc: server shutting down" (Go ttrpc would still serve it;
 * refusing lets the shutdown end). After timeout_s seconds whatever is left
 * is closed hard (pending calls orphaned). timeout_s <= 0 (or not finite)
 * means no deadline: the shutdown waits for every call, however long; use
 * ttrpc_server_close() to stop at once. done (may be NULL) runs once from the
 * loop, never from inside this function, once no connection is left; until
 * then listen and adopt give TTRPC_ESTATE. */
TTRPC_API void ttrpc_server_shutdown(ttrpc_server *server, double timeout_s, ttrpc_shutdown_fn done, void *user);

/* Hard close: listeners and connections closed now; pending calls are orphaned
 * (answering them frees them). */
TTRPC_API void ttrpc_server_close(ttrpc_server *server);

/* Number of open connections (for tests and graceful-shutdown logic). */
TTRPC_API size_t ttrpc_server_conn_count(const ttrpc_server *server);

/* --- calls --- */

/* Service and method names of the call. */
TTRPC_API const char *ttrpc_call_service(const ttrpc_call *call);
TTRPC_API const char *ttrpc_call_method(const ttrpc_call *call);

/* Request metadata (never NULL; may be empty). Owned by the call. */
TTRPC_API const ttrpc_md *ttrpc_call_metadata(const ttrpc_call *call);

/* Absolute deadline on the ttrpc_now_ns() clock, from the request's
 * timeout_nano (a negative one is a deadline already passed); 0 means none. */
TTRPC_API int64_t ttrpc_call_deadline_ns(const ttrpc_call *call);

/* Credentials of the connected peer (SO_PEERCRED); TTRPC_ENOTFOUND if unknown. */
TTRPC_API int ttrpc_call_peer(const ttrpc_call *call, pid_t *pid, uid_t *uid, gid_t *gid);

/* true once the connection this call came from is gone; an answer is dropped. */
TTRPC_API bool ttrpc_call_orphaned(const ttrpc_call *call);

/* Be told when the connection goes away before the call is answered (e.g. to
 * stop waiting for something). fn runs once from the loop; the call must still
 * be answered (or freed by answering) afterwards. */
TTRPC_API void ttrpc_call_on_orphan(ttrpc_call *call, void (*fn)(ttrpc_call *call, void *user), void *user);

/* Answer with status OK and payload (copied). Frees the call. If the payload is
 * larger than TTRPC_MAX_MESSAGE_SIZE the peer gets RESOURCE_EXHAUSTED instead
 * and TTRPC_ETOOBIG is returned. TTRPC_ECLOSED if the peer is gone. */
TTRPC_API int ttrpc_call_respond(ttrpc_call *call, const uint8_t *payload, size_t len);

/* Answer with an error status (code != OK) and a printf-style message. Frees
 * the call. */
TTRPC_API int ttrpc_call_respond_error(ttrpc_call *call, int code, const char *fmt, ...) TTRPC_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif
#endif
