/* SPDX-License-Identifier: Apache-2.0 */
/* The gRPC client transport behind a ttrpc_client (client.c forwards to it
 * when the client was made by ttrpc_client_connect_grpc). */
#ifndef TTRPC_GRPC_CLIENT_H
#define TTRPC_GRPC_CLIENT_H

#include <stdbool.h>
#include <ttrpc/client.h>
#include <ttrpc/stream.h>

struct ev_loop;
struct ssl_st;
struct ttrpc__grpc_client;

/* client.c: a ttrpc_client whose calls go over gRPC on fd (taken, also on
 * failure), over TLS when ssl is set (taken too). loop NULL: a private loop. */
ttrpc_client *ttrpc__client_new_grpc(struct ev_loop *loop, int fd, const char *authority, size_t max_message,
				     struct ssl_st *ssl, int *err);

/* grpc_client.c, called by client.c only. owner is handed to on_close. */
struct ttrpc__grpc_client *ttrpc__grpc_client_new(ttrpc_client *owner, struct ev_loop *loop, int fd,
						  const char *authority, size_t max_message, struct ssl_st *ssl,
						  int *err);
int ttrpc__grpc_client_call(struct ttrpc__grpc_client *g, const char *service, const char *method, const uint8_t *req,
			    size_t req_len, const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void *user);
/* Client streams over gRPC (client_stream.c). open: the stream's HTTP/2
 * stream (request HEADERS with opts' metadata and grpc-timeout; for
 * SERVER_STREAM the request and END_STREAM); its messages and end go to st
 * (ttrpc__client_stream_data / ttrpc__client_stream_grpc_end), on_writable
 * through ttrpc__client_stream_wake. send: TTRPC_EAGAIN while
 * TTRPC_STREAM_SEND_WINDOW bytes are queued (the wake follows). forget: a
 * local end; the stream is reset (CANCEL) and st never hears of it again. */
struct gcall;
int ttrpc__grpc_client_stream_open(struct ttrpc__grpc_client *g, const char *service, const char *method,
				   enum ttrpc_stream_kind kind, const uint8_t *req, size_t len,
				   const struct ttrpc_call_opts *opts, ttrpc_stream *st, struct gcall **out);
int ttrpc__grpc_client_stream_send(struct gcall *c, const uint8_t *msg, size_t len);
bool ttrpc__grpc_client_stream_writable(const struct gcall *c);
int ttrpc__grpc_client_stream_close_send(struct gcall *c);
void ttrpc__grpc_client_stream_forget(struct gcall *c);
/* Fail every pending call with UNAVAILABLE "ttrpc: closed: <reason>", run on_close. */
void ttrpc__grpc_client_close(struct ttrpc__grpc_client *g, const char *reason);
/* Close without on_close and free (not from a callback). */
void ttrpc__grpc_client_free(struct ttrpc__grpc_client *g);
/* SSL_free, for client.c (which needs no OpenSSL headers). */
void ttrpc__grpc_ssl_free(struct ssl_st *ssl);
bool ttrpc__grpc_client_connected(const struct ttrpc__grpc_client *g);
size_t ttrpc__grpc_client_pending(const struct ttrpc__grpc_client *g);
void ttrpc__grpc_client_set_log(struct ttrpc__grpc_client *g, ttrpc_log_fn fn, void *user);
void ttrpc__grpc_client_on_close(struct ttrpc__grpc_client *g, void (*fn)(ttrpc_client *client, void *user),
				 void *user);

#endif
