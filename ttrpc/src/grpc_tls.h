/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL contexts of the gRPC transport: a server context per TLS
 * listener, a client SSL per connection; ALPN "h2" both ways. The record
 * layer itself runs in grpc_conn.c. */
#ifndef TTRPC_GRPC_TLS_H
#define TTRPC_GRPC_TLS_H

#include "grpc_ossl.h"

#include <ttrpc/grpc.h>

/* A server context from tls (certificate and key required; ca_file: mutual
 * TLS). TTRPC_EINVAL, TTRPC_ENOMEM, TTRPC_ETLS (reason kept for
 * ttrpc_grpc_tls_error). */
int ttrpc__tls_server_ctx(const struct ttrpc_grpc_tls *tls, SSL_CTX **out);
/* A client SSL (connect state) for one connection to host: SNI and the
 * verified name are tls->server_name, else host. Same errors. */
int ttrpc__tls_client_ssl(const struct ttrpc_grpc_tls *tls, const char *host, SSL **out);

/* ssl reads and writes fd from now on, without SIGPIPE when the peer has
 * gone (a library must not raise it). 0 or TTRPC_ENOMEM. */
int ttrpc__tls_attach(SSL *ssl, int fd);

#endif
