/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc envelope (Request, Response, Status, KeyValue) over protobuf-c. */
#ifndef TTRPC_WIRE_H
#define TTRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "md.h"
#include "ttrpc_envelope.pb-c.h"

/* A request as it travels: the fields of ttrpc.Request. */
struct ttrpc__request_out {
	const char *service;
	const char *method;
	const uint8_t *payload;
	size_t len;
	int64_t timeout_ns;
	const ttrpc_md *md;
};

/* Where protobuf-c's allocations for one decoded envelope go: a block the
 * caller keeps on its stack for the time the decoded message lives, bumped
 * (aligned like malloc), malloc beyond it; freeing a piece inside the block
 * is a no-op. A small request or response is then decoded without a malloc
 * (it was four to five malloc/free pairs per call). Re-entrant: each decode
 * has its own block. */
#define TTRPC__SCRATCH_SIZE 1536u
struct ttrpc__scratch {
	ProtobufCAllocator alloc;
	size_t used;
	_Alignas(max_align_t) uint8_t mem[TTRPC__SCRATCH_SIZE];
};
void ttrpc__scratch_init(struct ttrpc__scratch *s);

/* A response as read from the wire; message and payload point into pb, or
 * (pb NULL, the common OK answer) payload into the decoded bytes. */
struct ttrpc__response_in {
	int code;
	const char *message;
	const uint8_t *payload;
	size_t len;
	Ttrpc__Response *pb;
	ProtobufCAllocator *alloc; /* pb's */
};

/* Append one frame (header + encoded Request) to out. TTRPC_ETOOBIG when the
 * encoded request is over max (nothing appended). */
int ttrpc__wire_put_request(struct ttrpc__buf *out, uint32_t stream_id, uint8_t flags,
			    const struct ttrpc__request_out *req, uint32_t max);

/* Append one Response frame. When the encoded response is over max, a
 * RESOURCE_EXHAUSTED status goes out instead and TTRPC_ETOOBIG is returned. */
int ttrpc__wire_put_response(struct ttrpc__buf *out, uint32_t stream_id, int code, const char *message,
			     const uint8_t *payload, size_t len, uint32_t max);

/* Append one Data frame carrying payload as it is. */
int ttrpc__wire_put_data(struct ttrpc__buf *out, uint32_t stream_id, uint8_t flags, const uint8_t *payload, size_t len);

/* Decode a Request; NULL when the bytes are not a valid one. Free with
 * ttrpc__request__free_unpacked(req, NULL). The _in form puts it in scratch
 * (the heap beyond it): free with ttrpc__request__free_unpacked(req,
 * &scratch->alloc) before scratch goes. */
Ttrpc__Request *ttrpc__wire_decode_request(const uint8_t *p, size_t len);
Ttrpc__Request *ttrpc__wire_decode_request_in(const uint8_t *p, size_t len, struct ttrpc__scratch *scratch);

/* Decode a Response into r; TTRPC_EPROTO when invalid. Release with
 * ttrpc__wire_response_free (for the _in form: before scratch goes). */
int ttrpc__wire_decode_response(const uint8_t *p, size_t len, struct ttrpc__response_in *r);
int ttrpc__wire_decode_response_in(const uint8_t *p, size_t len, struct ttrpc__response_in *r,
				   struct ttrpc__scratch *scratch);
void ttrpc__wire_response_free(struct ttrpc__response_in *r);

/* Copy the request's metadata into md. */
int ttrpc__wire_request_md(const Ttrpc__Request *req, struct ttrpc_md *md);

#endif
