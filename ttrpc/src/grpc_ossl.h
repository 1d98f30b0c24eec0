/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL for the gRPC transport's TLS, loaded with dlopen at the first TLS
 * listener or connection: a process that never speaks TLS maps no libssl or
 * libcrypto (their relocated tables cost ~400 KiB of private memory in every
 * process that links them). Including this header makes the OpenSSL calls
 * below go through the loaded table; call ttrpc__ossl_load() first. */
#ifndef TTRPC_GRPC_OSSL_H
#define TTRPC_GRPC_OSSL_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TTRPC__OSSL_FUNCS(X)                  \
	X(SSL_CTX_new)                        \
	X(TLS_server_method)                  \
	X(TLS_client_method)                  \
	X(SSL_CTX_free)                       \
	X(SSL_CTX_ctrl)                       \
	X(SSL_CTX_set_options)                \
	X(SSL_CTX_use_certificate_chain_file) \
	X(SSL_CTX_use_PrivateKey_file)        \
	X(SSL_CTX_check_private_key)          \
	X(SSL_CTX_load_verify_locations)      \
	X(SSL_CTX_set_default_verify_paths)   \
	X(SSL_load_client_CA_file)            \
	X(SSL_CTX_set_client_CA_list)         \
	X(SSL_CTX_set_verify)                 \
	X(SSL_CTX_set_alpn_select_cb)         \
	X(SSL_CTX_set_alpn_protos)            \
	X(SSL_select_next_proto)              \
	X(SSL_new)                            \
	X(SSL_free)                           \
	X(SSL_ctrl)                           \
	X(SSL_set1_host)                      \
	X(SSL_get0_param)                     \
	X(SSL_set_connect_state)              \
	X(SSL_set_accept_state)               \
	X(SSL_set_bio)                        \
	X(SSL_do_handshake)                   \
	X(SSL_read)                           \
	X(SSL_write)                          \
	X(SSL_shutdown)                       \
	X(SSL_get_error)                      \
	X(SSL_get_verify_result)              \
	X(SSL_get0_alpn_selected)             \
	X(ERR_get_error)                      \
	X(ERR_peek_error)                     \
	X(ERR_clear_error)                    \
	X(ERR_reason_error_string)            \
	X(X509_verify_cert_error_string)      \
	X(X509_VERIFY_PARAM_set1_ip_asc)      \
	X(BIO_meth_new)                       \
	X(BIO_meth_free)                      \
	X(BIO_meth_set_write)                 \
	X(BIO_meth_set_read)                  \
	X(BIO_meth_set_ctrl)                  \
	X(BIO_get_new_index)                  \
	X(BIO_new)                            \
	X(BIO_get_data)                       \
	X(BIO_set_data)                       \
	X(BIO_set_init)                       \
	X(BIO_set_flags)                      \
	X(BIO_clear_flags)

struct ttrpc__ossl {
#define TTRPC__OSSL_MEMBER(f) __typeof__(&f) f;
	TTRPC__OSSL_FUNCS(TTRPC__OSSL_MEMBER)
#undef TTRPC__OSSL_MEMBER
};

extern struct ttrpc__ossl ttrpc__ossl;

/* Load libssl (once per process, thread-safe): 0, or TTRPC_ETLS with the
 * reason for ttrpc_grpc_tls_error. */
int ttrpc__ossl_load(void);
/* Record the reason of a TTRPC_ETLS for ttrpc_grpc_tls_error (grpc_tls.c). */
void ttrpc__tls_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifndef TTRPC__OSSL_TABLE
#define SSL_CTX_new ttrpc__ossl.SSL_CTX_new
#define TLS_server_method ttrpc__ossl.TLS_server_method
#define TLS_client_method ttrpc__ossl.TLS_client_method
#define SSL_CTX_free ttrpc__ossl.SSL_CTX_free
#define SSL_CTX_ctrl ttrpc__ossl.SSL_CTX_ctrl
#define SSL_CTX_set_options ttrpc__ossl.SSL_CTX_set_options
#define SSL_CTX_use_certificate_chain_file ttrpc__ossl.SSL_CTX_use_certificate_chain_file
#define SSL_CTX_use_PrivateKey_file ttrpc__ossl.SSL_CTX_use_PrivateKey_file
#define SSL_CTX_check_private_key ttrpc__ossl.SSL_CTX_check_private_key
#define SSL_CTX_load_verify_locations ttrpc__ossl.SSL_CTX_load_verify_locations
#define SSL_CTX_set_default_verify_paths ttrpc__ossl.SSL_CTX_set_default_verify_paths
#define SSL_load_client_CA_file ttrpc__ossl.SSL_load_client_CA_file
#define SSL_CTX_set_client_CA_list ttrpc__ossl.SSL_CTX_set_client_CA_list
#define SSL_CTX_set_verify ttrpc__ossl.SSL_CTX_set_verify
#define SSL_CTX_set_alpn_select_cb ttrpc__ossl.SSL_CTX_set_alpn_select_cb
#define SSL_CTX_set_alpn_protos ttrpc__ossl.SSL_CTX_set_alpn_protos
#define SSL_select_next_proto ttrpc__ossl.SSL_select_next_proto
#define SSL_new ttrpc__ossl.SSL_new
#define SSL_free ttrpc__ossl.SSL_free
#define SSL_ctrl ttrpc__ossl.SSL_ctrl
#define SSL_set1_host ttrpc__ossl.SSL_set1_host
#define SSL_get0_param ttrpc__ossl.SSL_get0_param
#define SSL_set_connect_state ttrpc__ossl.SSL_set_connect_state
#define SSL_set_accept_state ttrpc__ossl.SSL_set_accept_state
#define SSL_set_bio ttrpc__ossl.SSL_set_bio
#define SSL_do_handshake ttrpc__ossl.SSL_do_handshake
#define SSL_read ttrpc__ossl.SSL_read
#define SSL_write ttrpc__ossl.SSL_write
#define SSL_shutdown ttrpc__ossl.SSL_shutdown
#define SSL_get_error ttrpc__ossl.SSL_get_error
#define SSL_get_verify_result ttrpc__ossl.SSL_get_verify_result
#define SSL_get0_alpn_selected ttrpc__ossl.SSL_get0_alpn_selected
#define ERR_get_error ttrpc__ossl.ERR_get_error
#define ERR_peek_error ttrpc__ossl.ERR_peek_error
#define ERR_clear_error ttrpc__ossl.ERR_clear_error
#define ERR_reason_error_string ttrpc__ossl.ERR_reason_error_string
#define X509_verify_cert_error_string ttrpc__ossl.X509_verify_cert_error_string
#define X509_VERIFY_PARAM_set1_ip_asc ttrpc__ossl.X509_VERIFY_PARAM_set1_ip_asc
#define BIO_meth_new ttrpc__ossl.BIO_meth_new
#define BIO_meth_free ttrpc__ossl.BIO_meth_free
#define BIO_meth_set_write ttrpc__ossl.BIO_meth_set_write
#define BIO_meth_set_read ttrpc__ossl.BIO_meth_set_read
#define BIO_meth_set_ctrl ttrpc__ossl.BIO_meth_set_ctrl
#define BIO_get_new_index ttrpc__ossl.BIO_get_new_index
#define BIO_new ttrpc__ossl.BIO_new
#define BIO_get_data ttrpc__ossl.BIO_get_data
#define BIO_set_data ttrpc__ossl.BIO_set_data
#define BIO_set_init ttrpc__ossl.BIO_set_init
#define BIO_set_flags ttrpc__ossl.BIO_set_flags
#define BIO_clear_flags ttrpc__ossl.BIO_clear_flags
#endif

#endif
