/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc over gRPC (HTTP/2, h2c with prior knowledge): the same
 * ttrpc_client API, and so the same generated stubs, calling gRPC servers.
 * The transport is chosen at connect time; ttrpc_client_call,
 * ttrpc_client_call_sync and every other ttrpc_client_* function then work
 * unchanged. Mapping: service "pkg.Svc" + method "M" is :path /pkg.Svc/M; a
 * call's timeout is sent as grpc-timeout (and enforced locally); metadata
 * goes out as headers, keys ending in "-bin" base64-encoded (their value is
 * the raw bytes, as a C string); a status is grpc-status + the
 * percent-decoded grpc-message, also from trailers-only answers. */
#ifndef TTRPC_GRPC_H
#define TTRPC_GRPC_H

#include <ttrpc/client.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

/* Options of a gRPC client connection; a NULL pointer means all defaults. */
struct ttrpc_grpc_client_opts {
	/* :authority of every request; NULL: host:port of a TCP target,
	 * "localhost" for a unix one. */
	const char *authority;
	/* Largest message sent or accepted, bytes; 0: TTRPC_MAX_MESSAGE_SIZE. A
	 * larger response fails the call with RESOURCE_EXHAUSTED (the stream is
	 * reset), a larger request is refused (TTRPC_ETOOBIG). */
	size_t max_message;
};

/* Connect to a gRPC server. target is "unix:/abs/path", "unix:///abs/path",
 * "unix:rel/path", "unix-abstract:name", or "host:port" / "[v6addr]:port"
 * (TCP, resolved now, blocking). loop as for ttrpc_client_connect (NULL: a
 * private one). The result is an ordinary ttrpc_client: free it with
 * ttrpc_client_free. On failure NULL and *err (if not NULL) is TTRPC_EINVAL
 * (bad target or options), TTRPC_ESYS (errno tells) or TTRPC_ENOMEM. */
TTRPC_API ttrpc_client *ttrpc_client_connect_grpc(struct ev_loop *loop, const char *target,
						  const struct ttrpc_grpc_client_opts *opts, int *err);

/* true when client speaks gRPC (made by ttrpc_client_connect_grpc). */
TTRPC_API int ttrpc_client_is_grpc(const ttrpc_client *client);

#ifdef __cplusplus
}
#endif
#endif
