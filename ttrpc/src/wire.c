/* SPDX-License-Identifier: Apache-2.0 */
#include "wire.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reserve header + body, let pack() fill the body, then write the header. */
static int put_frame(struct ttrpc__buf *out, uint32_t stream_id, uint8_t type, uint8_t flags,
		     const ProtobufCMessage *msg, size_t size)
{
	uint8_t *p = ttrpc__buf_reserve(out, TTRPC__FRAME_HEADER_SIZE + size);
	if (!p)
		return TTRPC_ENOMEM;
	struct ttrpc__frame_header h = {
		.length = (uint32_t)size, .stream_id = stream_id, .type = type, .flags = flags
	};
	ttrpc__frame_pack(p, &h);
	protobuf_c_message_pack(msg, p + TTRPC__FRAME_HEADER_SIZE);
	ttrpc__buf_commit(out, TTRPC__FRAME_HEADER_SIZE + size);
	return 0;
}

/* The envelope's two hot messages, Request and an OK Response, are encoded
 * here byte for byte as protobuf-c (and Go) write them: fields in number
 * order, proto3 zero values left out, each metadata pair a KeyValue even when
 * both its strings are empty. protobuf-c's get_packed_size + pack walk the
 * descriptors twice per message, and the metadata needed two callocs per
 * request (tests/unit/test_wire.c compares both encoders). */
static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* A length-delimited field of len bytes; 0 when empty (left out). */
static size_t ld_size(size_t len)
{
	return len ? 1 + varint_size(len) + len : 0;
}

static uint8_t *put_ld(uint8_t *p, uint8_t tag, const void *data, size_t len)
{
	if (!len)
		return p;
	*p++ = tag;
	p = put_varint(p, len);
	memcpy(p, data, len);
	return p + len;
}

static size_t str_len(const char *s)
{
	return s ? strlen(s) : 0;
}

/* KeyValue{key = 1, value = 2}, as the body of a metadata field. */
static size_t kv_body_size(const struct ttrpc__kv *kv)
{
	return ld_size(strlen(kv->key)) + ld_size(strlen(kv->value));
}

#define TAG_LD(field) ((uint8_t)((field) << 3 | 2))
#define TAG_VARINT(field) ((uint8_t)((field) << 3))

int ttrpc__wire_put_request(struct ttrpc__buf *out, uint32_t stream_id, uint8_t flags,
			    const struct ttrpc__request_out *req, uint32_t max)
{
	if (req->len > max)
		return TTRPC_ETOOBIG;
	size_t ls = str_len(req->service), lm = str_len(req->method);
	size_t size = ld_size(ls) + ld_size(lm) + ld_size(req->len);
	if (req->timeout_ns)
		size += 1 + varint_size((uint64_t)req->timeout_ns);
	size_t n = ttrpc_md_count(req->md);
	for (size_t i = 0; i < n; i++) {
		size_t body = kv_body_size(&req->md->items[i]);
		size += 1 + varint_size(body) + body;
	}
	if (size > max)
		return TTRPC_ETOOBIG;
	uint8_t *p = ttrpc__buf_reserve(out, TTRPC__FRAME_HEADER_SIZE + size);
	if (!p)
		return TTRPC_ENOMEM;
	struct ttrpc__frame_header h = {
		.length = (uint32_t)size, .stream_id = stream_id, .type = TTRPC__FRAME_REQUEST, .flags = flags
	};
	ttrpc__frame_pack(p, &h);
	p += TTRPC__FRAME_HEADER_SIZE;
	p = put_ld(p, TAG_LD(1), req->service, ls);
	p = put_ld(p, TAG_LD(2), req->method, lm);
	p = put_ld(p, TAG_LD(3), req->payload, req->len);
	if (req->timeout_ns) {
		*p++ = TAG_VARINT(4);
		p = put_varint(p, (uint64_t)req->timeout_ns);
	}
	for (size_t i = 0; i < n; i++) {
		const struct ttrpc__kv *kv = &req->md->items[i];
		*p++ = TAG_LD(5);
		p = put_varint(p, kv_body_size(kv));
		p = put_ld(p, TAG_LD(1), kv->key, strlen(kv->key));
		p = put_ld(p, TAG_LD(2), kv->value, strlen(kv->value));
	}
	ttrpc__buf_commit(out, TTRPC__FRAME_HEADER_SIZE + size);
	return 0;
}

/* Response{payload = 2}: the answer of every call that succeeded. */
static int put_ok_response(struct ttrpc__buf *out, uint32_t stream_id, const uint8_t *payload, size_t len)
{
	size_t size = ld_size(len);
	uint8_t *p = ttrpc__buf_reserve(out, TTRPC__FRAME_HEADER_SIZE + size);
	if (!p)
		return TTRPC_ENOMEM;
	struct ttrpc__frame_header h = {
		.length = (uint32_t)size, .stream_id = stream_id, .type = TTRPC__FRAME_RESPONSE, .flags = 0
	};
	ttrpc__frame_pack(p, &h);
	put_ld(p + TTRPC__FRAME_HEADER_SIZE, TAG_LD(2), payload, len);
	ttrpc__buf_commit(out, TTRPC__FRAME_HEADER_SIZE + size);
	return 0;
}

int ttrpc__wire_put_response(struct ttrpc__buf *out, uint32_t stream_id, int code, const char *message,
			     const uint8_t *payload, size_t len, uint32_t max)
{
	if (code == 0 && ld_size(len) <= max)
		return put_ok_response(out, stream_id, payload, len);
	Ttrpc__Response msg = TTRPC__RESPONSE__INIT;
	Ttrpc__Status st = TTRPC__STATUS__INIT;
	if (code != 0) {
		st.code = code;
		st.message = (char *)(message ? message : "");
		msg.status = &st;
	} else {
		msg.payload.data = (uint8_t *)payload;
		msg.payload.len = len;
	}
	size_t size = protobuf_c_message_get_packed_size(&msg.base);
	if (size <= max)
		return put_frame(out, stream_id, TTRPC__FRAME_RESPONSE, 0, &msg.base, size);

	char text[128];
	snprintf(text, sizeof(text), "message length %zu exceed maximum message size of %u", size, max);
	int rc = ttrpc__wire_put_response(out, stream_id, 8 /* RESOURCE_EXHAUSTED */, text, NULL, 0, max);
	return rc ? rc : TTRPC_ETOOBIG;
}

int ttrpc__wire_put_data(struct ttrpc__buf *out, uint32_t stream_id, uint8_t flags, const uint8_t *payload, size_t len)
{
	uint8_t *p = ttrpc__buf_reserve(out, TTRPC__FRAME_HEADER_SIZE + len);
	if (!p)
		return TTRPC_ENOMEM;
	struct ttrpc__frame_header h = {
		.length = (uint32_t)len, .stream_id = stream_id, .type = TTRPC__FRAME_DATA, .flags = flags
	};
	ttrpc__frame_pack(p, &h);
	if (len)
		memcpy(p + TTRPC__FRAME_HEADER_SIZE, payload, len);
	ttrpc__buf_commit(out, TTRPC__FRAME_HEADER_SIZE + len);
	return 0;
}

static void *scratch_alloc(void *data, size_t size)
{
	struct ttrpc__scratch *s = data;
	const size_t align = _Alignof(max_align_t);
	size_t need = (size + align - 1) & ~(align - 1);
	if (size && need >= size && need <= sizeof(s->mem) - s->used) {
		void *p = s->mem + s->used;
		s->used += need;
		return p;
	}
	return malloc(size);
}

static void scratch_free(void *data, void *p)
{
	struct ttrpc__scratch *s = data;
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->mem;
	if (a >= lo && a < lo + sizeof(s->mem))
		return; /* the block goes with the caller's frame */
	free(p);
}

void ttrpc__scratch_init(struct ttrpc__scratch *s)
{
	s->alloc.alloc = scratch_alloc;
	s->alloc.free = scratch_free;
	s->alloc.allocator_data = s;
	s->used = 0;
}

Ttrpc__Request *ttrpc__wire_decode_request(const uint8_t *p, size_t len)
{
	return ttrpc__request__unpack(NULL, len, p);
}

Ttrpc__Request *ttrpc__wire_decode_request_in(const uint8_t *p, size_t len, struct ttrpc__scratch *scratch)
{
	return ttrpc__request__unpack(&scratch->alloc, len, p);
}

/* The answer of a call that succeeded with a non-empty message has one shape,
 * Response{payload = 2} and nothing else: tag, length (up to 5 varint bytes)
 * covering exactly the rest. protobuf-c reads those bytes as that payload and
 * no status; it is read here in place (no allocation, no copy of the
 * payload: r->payload points into p, for as long as p lives). Any other
 * bytes (a status, unknown fields, an empty payload, odd varints) go to
 * protobuf-c. */
static bool ok_in_place(const uint8_t *p, size_t len, struct ttrpc__response_in *r)
{
	if (len < 3 || p[0] != TAG_LD(2))
		return false;
	uint64_t v = 0;
	size_t i = 1;
	for (int shift = 0;; shift += 7) {
		if (i >= len || i > 5)
			return false;
		uint8_t c = p[i++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	if (v == 0 || v != len - i)
		return false;
	r->code = 0;
	r->message = "";
	r->payload = p + i;
	r->len = (size_t)v;
	return true;
}

int ttrpc__wire_decode_response(const uint8_t *p, size_t len, struct ttrpc__response_in *r)
{
	return ttrpc__wire_decode_response_in(p, len, r, NULL);
}

int ttrpc__wire_decode_response_in(const uint8_t *p, size_t len, struct ttrpc__response_in *r,
				   struct ttrpc__scratch *scratch)
{
	memset(r, 0, sizeof(*r));
	if (ok_in_place(p, len, r))
		return 0;
	r->alloc = scratch ? &scratch->alloc : NULL;
	r->pb = ttrpc__response__unpack(r->alloc, len, p);
	if (!r->pb)
		return TTRPC_EPROTO;
	r->message = "";
	if (r->pb->status) {
		r->code = r->pb->status->code;
		if (r->pb->status->message)
			r->message = r->pb->status->message;
	}
	r->payload = r->pb->payload.data;
	r->len = r->pb->payload.len;
	return 0;
}

void ttrpc__wire_response_free(struct ttrpc__response_in *r)
{
	if (r->pb)
		ttrpc__response__free_unpacked(r->pb, r->alloc);
	r->pb = NULL;
}

int ttrpc__wire_request_md(const Ttrpc__Request *req, struct ttrpc_md *md)
{
	for (size_t i = 0; i < req->n_metadata; i++) {
		const Ttrpc__KeyValue *kv = req->metadata[i];
		int rc = ttrpc__md_add_n(md, kv->key, strlen(kv->key), kv->value, strlen(kv->value));
		if (rc)
			return rc;
	}
	return 0;
}
