/* SPDX-License-Identifier: Apache-2.0 */
#include "wire.h"

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

int ttrpc__wire_put_request(struct ttrpc__buf *out, uint32_t stream_id, uint8_t flags,
			    const struct ttrpc__request_out *req, uint32_t max)
{
	if (req->len > max)
		return TTRPC_ETOOBIG;
	Ttrpc__Request msg = TTRPC__REQUEST__INIT;
	msg.service = (char *)req->service;
	msg.method = (char *)req->method;
	msg.payload.data = (uint8_t *)req->payload;
	msg.payload.len = req->len;
	msg.timeout_nano = req->timeout_ns;

	size_t n = ttrpc_md_count(req->md);
	Ttrpc__KeyValue *kvs = NULL;
	Ttrpc__KeyValue **kvp = NULL;
	if (n) {
		kvs = calloc(n, sizeof(*kvs));
		kvp = calloc(n, sizeof(*kvp));
		if (!kvs || !kvp) {
			free(kvs);
			free(kvp);
			return TTRPC_ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			ttrpc__key_value__init(&kvs[i]);
			kvs[i].key = req->md->items[i].key;
			kvs[i].value = req->md->items[i].value;
			kvp[i] = &kvs[i];
		}
		msg.n_metadata = n;
		msg.metadata = kvp;
	}
	size_t size = protobuf_c_message_get_packed_size(&msg.base);
	int rc = size > max ? TTRPC_ETOOBIG : put_frame(out, stream_id, TTRPC__FRAME_REQUEST, flags, &msg.base, size);
	free(kvs);
	free(kvp);
	return rc;
}

int ttrpc__wire_put_response(struct ttrpc__buf *out, uint32_t stream_id, int code, const char *message,
			     const uint8_t *payload, size_t len, uint32_t max)
{
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

Ttrpc__Request *ttrpc__wire_decode_request(const uint8_t *p, size_t len)
{
	return ttrpc__request__unpack(NULL, len, p);
}

int ttrpc__wire_decode_response(const uint8_t *p, size_t len, struct ttrpc__response_in *r)
{
	memset(r, 0, sizeof(*r));
	r->pb = ttrpc__response__unpack(NULL, len, p);
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
		ttrpc__response__free_unpacked(r->pb, NULL);
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
