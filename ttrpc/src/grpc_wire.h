/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC over HTTP/2, the parts that are not HTTP/2 (PROTOCOL-HTTP2.md):
 * grpc-timeout, percent-encoded grpc-message, base64 "-bin" metadata, the
 * 5-byte message prefix and the status mappings. Pure functions, no I/O. */
#ifndef TTRPC_GRPC_WIRE_H
#define TTRPC_GRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TTRPC__GRPC_PREFIX_SIZE 5
/* Longest grpc-timeout value: 8 digits and a unit, plus NUL. */
#define TTRPC__GRPC_TIMEOUT_MAX 10

/* Write ns (> 0) as a grpc-timeout value into out, rounded up to the finest
 * unit whose count fits in 8 digits. Returns the length. */
size_t ttrpc__grpc_timeout_encode(int64_t ns, char out[TTRPC__GRPC_TIMEOUT_MAX]);
/* Parse a grpc-timeout value; 0 and *ns, or TTRPC_EPROTO. Huge values clamp
 * to INT64_MAX. */
int ttrpc__grpc_timeout_decode(const char *s, size_t len, int64_t *ns);

/* grpc-message: bytes outside 0x20..0x7e and '%' become %XX. malloc'd. */
char *ttrpc__grpc_percent_encode(const char *msg);
/* The reverse; a '%' not followed by two hex digits stays as it is. malloc'd, NUL-terminated. */
char *ttrpc__grpc_percent_decode(const uint8_t *s, size_t len);

/* Base64 without padding (what gRPC emits for "-bin" values). malloc'd. */
char *ttrpc__grpc_b64_encode(const uint8_t *in, size_t len);
/* Base64, padded or not, into malloc'd bytes (NUL-terminated, *out_len
 * without the NUL). NULL when the input is not base64. */
uint8_t *ttrpc__grpc_b64_decode(const char *in, size_t len, size_t *out_len);

/* A metadata key that is a valid HTTP/2 header name (lower-case token). */
bool ttrpc__grpc_md_key_valid(const char *key, size_t len);
/* An ASCII metadata value (printable, 0x20..0x7e). */
bool ttrpc__grpc_md_value_valid(const char *value, size_t len);
/* A key that ends in "-bin" (its value travels base64-encoded). */
bool ttrpc__grpc_md_key_binary(const char *key, size_t len);
/* Keys gRPC itself uses (pseudo-headers, grpc-*, content-type, te,
 * user-agent): never metadata. */
bool ttrpc__grpc_md_key_reserved(const char *key, size_t len);

/* The 5-byte prefix: compressed flag and big-endian length. */
void ttrpc__grpc_prefix_pack(uint8_t out[TTRPC__GRPC_PREFIX_SIZE], bool compressed, uint32_t len);

/* "application/grpc", optionally followed by '+' or ';' and more. */
bool ttrpc__grpc_content_type_valid(const char *s, size_t len);

/* Status for a response without grpc-status, from its HTTP status. */
int ttrpc__grpc_code_from_http(int http_status);
/* Status for a stream reset with an HTTP/2 error code. */
int ttrpc__grpc_code_from_h2_error(uint32_t error_code);

/* Reassembles length-prefixed messages from DATA chunks. */
struct ttrpc__grpc_reader {
	uint8_t hdr[TTRPC__GRPC_PREFIX_SIZE];
	size_t hdr_have;
	bool in_msg;   /* prefix read, body pending */
	uint32_t want; /* body length */
	struct ttrpc__buf msg;
	uint32_t max; /* largest body accepted */
	bool failed;  /* a message was too big or compressed: feed ignores input */
};
/* One complete message; msg is valid during the call. Return 0 to go on. */
typedef int (*ttrpc__grpc_msg_fn)(void *user, const uint8_t *msg, size_t len);
/* Feed bytes. 0, or TTRPC_ETOOBIG (a message over max), TTRPC_EPROTO (a
 * compressed message: we never accept an encoding), TTRPC_ENOMEM, or what
 * fn returned; after an error the reader ignores further input. */
int ttrpc__grpc_reader_feed(struct ttrpc__grpc_reader *r, const uint8_t *in, size_t len, ttrpc__grpc_msg_fn fn,
			    void *user);
/* Bytes of an unfinished message are held (the stream ended mid-message). */
bool ttrpc__grpc_reader_partial(const struct ttrpc__grpc_reader *r);
void ttrpc__grpc_reader_free(struct ttrpc__grpc_reader *r);

#endif
