/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc over gRPC (HTTP/2, h2c with prior knowledge): the same
 * ttrpc_client API, and so the same generated stubs, calling gRPC servers.
 * The transport is chosen at connect time; ttrpc_client_call,
 * ttrpc_client_call_sync and every other ttrpc_client_* function then work
 * unchanged. Mapping: service "pkg.Svc" + method "M" is :path /pkg.Svc/M; a
 * call's timeout is sent as grpc-timeout (and enforced locally); metadata
 * goes out as headers, keys ending in "-bin" base64-encoded (their value is
 * the raw bytes, as a C string); a status is grpc-status + the
 * percent-decoded grpc-message, also from trailers-only answers. Streams
 * (ttrpc/stream.h, every kind) work over gRPC too: client streams are
 * HTTP/2 streams, ttrpc_stream_cancel resets one (RST_STREAM CANCEL). */
#ifndef TTRPC_GRPC_H
#define TTRPC_GRPC_H

#include <ttrpc/client.h>
#include <ttrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

/* TLS of a gRPC connection or listener (OpenSSL; TLS 1.2 or later; ALPN
 * "h2" is required of the peer, as gRPC requires it). Files are PEM, read
 * when the connection or listener is made; the strings need not outlive
 * that call. The handshake runs on the loop: a failed handshake (an
 * unverified certificate, no certificate under mutual TLS, no ALPN "h2")
 * closes the connection, and a client's calls fail with UNAVAILABLE and
 * the reason ("ttrpc: closed: tls handshake: certificate verify failed
 * (...)"); a server logs it. */
struct ttrpc_grpc_tls {
	/* Certificate chain: the server's (required on listeners) or the
	 * client's (for mutual TLS; NULL: none). */
	const char *cert_file;
	const char *key_file; /* private key of cert_file; required with it */
	/* Client: CAs that verify the server (NULL: the system's CAs).
	 * Server: CAs of client certificates; set, a client must present a
	 * certificate they verify (mutual TLS); NULL: none is asked for. */
	const char *ca_file;
	/* Client: the name sent (SNI) and verified in the server's certificate
	 * (a DNS name or an IP address); NULL: the target's host ("localhost"
	 * for unix targets). Unused on servers. */
	const char *server_name;
};

/* Why the last call in this thread that returned TTRPC_ETLS failed (which
 * file, what OpenSSL said). Never NULL. */
TTRPC_API const char *ttrpc_grpc_tls_error(void);

/* Options of a gRPC client connection; a NULL pointer means all defaults. */
struct ttrpc_grpc_client_opts {
	/* :authority of every request; NULL: host:port of a TCP target,
	 * "localhost" for a unix one. */
	const char *authority;
	/* Largest message sent or accepted, bytes; 0: TTRPC_MAX_MESSAGE_SIZE. A
	 * larger response fails the call with RESOURCE_EXHAUSTED (the stream is
	 * reset), a larger request is refused (TTRPC_ETOOBIG). */
	size_t max_message;
	/* NULL: h2c (HTTP/2 in the clear, prior knowledge). Set: TLS. */
	const struct ttrpc_grpc_tls *tls;
};

/* Connect to a gRPC server. target is "unix:/abs/path", "unix:///abs/path",
 * "unix:rel/path", "unix-abstract:name", or "host:port" / "[v6addr]:port"
 * (TCP, resolved now, blocking). loop as for ttrpc_client_connect (NULL: a
 * private one). The result is an ordinary ttrpc_client: free it with
 * ttrpc_client_free. On failure NULL and *err (if not NULL) is TTRPC_EINVAL
 * (bad target or options), TTRPC_ESYS (errno tells), TTRPC_ETLS (opts->tls
 * unusable: ttrpc_grpc_tls_error tells) or TTRPC_ENOMEM. With TLS the
 * handshake runs on the loop: calls made meanwhile wait for it, and fail
 * with its reason if it fails. */
TTRPC_API ttrpc_client *ttrpc_client_connect_grpc(struct ev_loop *loop, const char *target,
						  const struct ttrpc_grpc_client_opts *opts, int *err);

/* true when client speaks gRPC (made by ttrpc_client_connect_grpc). */
TTRPC_API int ttrpc_client_is_grpc(const ttrpc_client *client);

/* ---------------------------------------------------------------- server
 * The services registered on a ttrpc_server are served on its gRPC
 * listeners too; a handler cannot tell the transport: its metadata (keys
 * ending in "-bin" base64-decoded), deadline (from grpc-timeout), peer
 * credentials (SO_PEERCRED on unix sockets) and call handle are the same.
 * Unknown methods and an unsupported grpc-encoding get UNIMPLEMENTED; a
 * content-type that is not application/grpc gets HTTP 415; a bad prefix, a
 * truncated or missing message gets INTERNAL; a message over the limit
 * RESOURCE_EXHAUSTED. Streaming methods (ttrpc_server_register_stream) are
 * served too: client and bidi streams open at the request headers, each
 * message goes to on_msg as it completes (empty ones too), END_STREAM is
 * close-send; ttrpc_call_send queues DATA, ttrpc_call_finish sends the
 * trailers. HTTP/2 flow control carries the backpressure both ways: a
 * stream's window opens only for bytes its handler took (a paused stream's
 * stays shut), ttrpc_call_send says TTRPC_EAGAIN once
 * TTRPC_STREAM_SEND_WINDOW bytes wait for the peer's window; a stream over
 * its receive bound ends RESOURCE_EXHAUSTED alone; a client's RST_STREAM
 * orphans its call. ttrpc_server_shutdown sends GOAWAY and closes each
 * gRPC connection once its streams are answered; ttrpc_server_close and
 * ttrpc_server_conn_count cover gRPC connections too. */

#define TTRPC_GRPC_MAX_STREAMS_DEFAULT 1024u
#define TTRPC_GRPC_MAX_HEADER_LIST_DEFAULT 16384u

struct ttrpc_grpc_server_opts {
	uint32_t max_concurrent_streams; /* per connection; 0: TTRPC_GRPC_MAX_STREAMS_DEFAULT */
	uint32_t max_header_list_size;	 /* bytes of a request's headers; 0: TTRPC_GRPC_MAX_HEADER_LIST_DEFAULT */
	size_t max_message;		 /* bytes; 0: TTRPC_MAX_MESSAGE_SIZE; at most 16 MiB */
};

/* Limits of connections accepted from now on. TTRPC_EINVAL for bad values. */
TTRPC_API int ttrpc_server_set_grpc_opts(ttrpc_server *server, const struct ttrpc_grpc_server_opts *opts);

/* Listen for gRPC (h2c with prior knowledge) on target: "unix:/path" (made
 * as ttrpc_server_listen makes its sockets: mode 0600, stale file replaced,
 * removed on close) or "host:port" / "[v6]:port" on TCP (port 0: any; the
 * port bound is stored in *port when port is not NULL). TTRPC_EINVAL,
 * TTRPC_EEXIST, TTRPC_ESYS, TTRPC_ESTATE while shutting down. */
TTRPC_API int ttrpc_server_listen_grpc(ttrpc_server *server, const char *target, int *port);

/* ttrpc_server_listen_grpc with TLS: every connection accepted on target
 * is a TLS server connection with tls->cert_file and tls->key_file (and
 * mutual TLS when tls->ca_file is set). TTRPC_ETLS when they are unusable
 * (ttrpc_grpc_tls_error tells), else as ttrpc_server_listen_grpc. */
TTRPC_API int ttrpc_server_listen_grpc_tls(ttrpc_server *server, const char *target, const struct ttrpc_grpc_tls *tls,
					   int *port);

/* Response metadata of a call: gRPC's headers (initial metadata, sent
 * before the response message) and trailers (after it, beside grpc-status;
 * an error answer sends both in its one trailers-only block). Either may be
 * NULL. Copied; a later call replaces both; call it before answering. Keys
 * ending in "-bin" are sent base64-encoded. On a ttrpc call it is accepted
 * and dropped (ttrpc's Response carries no metadata), so handlers need not
 * know the transport. TTRPC_EINVAL for keys or values HTTP/2 cannot carry,
 * reserved keys (grpc-*, content-type, te, :pseudo) or more than 60
 * entries; TTRPC_ENOMEM. */
TTRPC_API int ttrpc_call_set_response_md(ttrpc_call *call, const ttrpc_md *headers, const ttrpc_md *trailers);

/* Serve gRPC on one connected socket (owned from now on, also on failure). */
TTRPC_API int ttrpc_server_adopt_grpc_conn(ttrpc_server *server, int fd);

#ifdef __cplusplus
}
#endif
#endif
