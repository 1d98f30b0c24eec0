/* SPDX-License-Identifier: Apache-2.0 */
#include "grpc_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <ttrpc/common.h>

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

static _Thread_local char last_error[320];

const char *ttrpc_grpc_tls_error(void)
{
	return last_error;
}

void ttrpc__tls_set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

/* Record why (the first error OpenSSL queued says which step failed). */
static int tls_fail(SSL_CTX *ctx, const char *what, const char *file)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	snprintf(last_error, sizeof(last_error), "tls: %s%s%s: %s", what, file ? " " : "", file ? file : "",
		 reason ? reason : "failed");
	ERR_clear_error();
	if (ctx)
		SSL_CTX_free(ctx);
	return TTRPC_ETLS;
}

static int tls_invalid(SSL_CTX *ctx, const char *why)
{
	snprintf(last_error, sizeof(last_error), "tls: %s", why);
	if (ctx)
		SSL_CTX_free(ctx);
	return TTRPC_EINVAL;
}

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		     unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	unsigned char *sel = NULL;
	if (SSL_select_next_proto(&sel, outlen, alpn_h2, sizeof(alpn_h2), in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* The part both sides share: protocol floor, I/O modes, our certificate. */
static int ctx_new(const struct ttrpc_grpc_tls *tls, bool server, SSL_CTX **out)
{
	int rc = ttrpc__ossl_load();
	if (rc)
		return rc;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx)
		return TTRPC_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* grpc_conn.c writes what its buffer holds, which may move between tries */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	if (!tls->cert_file != !tls->key_file)
		return tls_invalid(ctx, "cert_file and key_file go together");
	if (tls->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1)
			return tls_fail(ctx, "certificate", tls->cert_file);
		if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1)
			return tls_fail(ctx, "private key", tls->key_file);
		if (SSL_CTX_check_private_key(ctx) != 1)
			return tls_fail(ctx, "private key does not match the certificate", tls->key_file);
	}
	if (tls->ca_file && SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1)
		return tls_fail(ctx, "CA file", tls->ca_file);
	*out = ctx;
	return 0;
}

int ttrpc__tls_server_ctx(const struct ttrpc_grpc_tls *tls, SSL_CTX **out)
{
	if (!tls || !tls->cert_file)
		return tls_invalid(NULL, "a TLS listener needs cert_file and key_file");
	SSL_CTX *ctx;
	int rc = ctx_new(tls, true, &ctx);
	if (rc)
		return rc;
	if (tls->ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(tls->ca_file);
		if (!names)
			return tls_fail(ctx, "CA file", tls->ca_file);
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
	*out = ctx;
	return 0;
}

int ttrpc__tls_client_ssl(const struct ttrpc_grpc_tls *tls, const char *host, SSL **out)
{
	SSL_CTX *ctx;
	int rc = ctx_new(tls, false, &ctx);
	if (rc)
		return rc;
	if (!tls->ca_file && SSL_CTX_set_default_verify_paths(ctx) != 1)
		return tls_fail(ctx, "system CAs", NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2)) != 0)
		return tls_fail(ctx, "ALPN", NULL);
	const char *name = tls->server_name ? tls->server_name : host;
	SSL *ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* ssl holds it */
	if (!ssl)
		return TTRPC_ENOMEM;
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
	/* an IP address is matched against the certificate's IP SANs and never sent as SNI */
	int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) :
		      SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
	if (ok != 1) {
		SSL_free(ssl);
		return tls_fail(NULL, "server name", name);
	}
	SSL_set_connect_state(ssl);
	*out = ssl;
	return 0;
}

/* ---- a socket BIO that sends with MSG_NOSIGNAL (OpenSSL's writes with write(2)) */

static int bio_write(BIO *b, const char *p, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n;
	do
		n = send(fd, p, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *p, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n;
	do
		n = recv(fd, p, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* writes are not buffered */
}

static BIO_METHOD *nosignal_method;
static pthread_once_t nosignal_once = PTHREAD_ONCE_INIT;

static void nosignal_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ttrpc socket");
	if (m && BIO_meth_set_write(m, bio_write) == 1 && BIO_meth_set_read(m, bio_read) == 1 &&
	    BIO_meth_set_ctrl(m, bio_ctrl) == 1)
		nosignal_method = m;
	else
		BIO_meth_free(m);
}

int ttrpc__tls_attach(SSL *ssl, int fd)
{
	pthread_once(&nosignal_once, nosignal_init);
	BIO *bio = nosignal_method ? BIO_new(nosignal_method) : NULL;
	if (!bio)
		return TTRPC_ENOMEM;
	BIO_set_data(bio, (void *)(intptr_t)fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio); /* one reference, both directions */
	return 0;
}
