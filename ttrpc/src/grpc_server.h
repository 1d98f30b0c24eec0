/* SPDX-License-Identifier: Apache-2.0 */
/* The gRPC server transport of a ttrpc_server, and the narrow hooks server.c
 * offers it. Calls are made with the transport-neutral call core (call.h),
 * so lookup, interceptors, metadata, deadline, peer credentials and
 * orphaning are those of ttrpc calls. */
#ifndef TTRPC_GRPC_SERVER_H
#define TTRPC_GRPC_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <ttrpc/server.h>

#include "md.h"

struct ttrpc__grpc_server;

/* ---- server.c, for grpc_server.c */

/* The registry calls are made against (call.c). */
struct ttrpc__registry *ttrpc__server_registry(const ttrpc_server *s);
/* The peer of fd as ttrpc_server_require_creds wants it; false: reject (logged). */
bool ttrpc__server_peer_ok(ttrpc_server *s, int fd, struct ucred *cred, bool *have_cred);
/* A listening unix socket at path, the way ttrpc_server_listen makes one. */
int ttrpc__server_bind_unix(ttrpc_server *s, const char *path, int *fd);
struct ev_loop *ttrpc__server_loop(const ttrpc_server *s);
bool ttrpc__server_shutting_down(const ttrpc_server *s);
/* A gRPC connection went: a graceful shutdown may be done. */
void ttrpc__server_ext_conn_gone(ttrpc_server *s);
/* The server's gRPC side, created on first use. NULL when out of memory. */
struct ttrpc__grpc_server *ttrpc__server_grpc(ttrpc_server *s);

/* ---- grpc_server.c, for server.c */

struct ttrpc__grpc_server *ttrpc__grpc_server_new(ttrpc_server *s);
/* Graceful: listeners closed, GOAWAY on every connection; each closes once
 * its streams are done. */
void ttrpc__grpc_server_shutdown(struct ttrpc__grpc_server *g);
/* Hard: listeners and connections closed now (calls orphaned). */
void ttrpc__grpc_server_close(struct ttrpc__grpc_server *g);
size_t ttrpc__grpc_server_conn_count(const struct ttrpc__grpc_server *g);
/* After close. */
void ttrpc__grpc_server_free(struct ttrpc__grpc_server *g);

#endif
