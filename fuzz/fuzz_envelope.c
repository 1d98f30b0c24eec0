/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the envelope decoders of wire.c. Input: one selector byte
 * (even: ttrpc.Request, odd: ttrpc.Response), then the message bytes. What
 * decodes is encoded again with the wire.c encoders and must decode to the
 * same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX (1u << 20)

static void check_frame(const struct ttrpc__buf *out, uint8_t type, const uint8_t **body, size_t *len)
{
	struct ttrpc__frame_header h;
	if (ttrpc__frame_unpack(ttrpc__buf_head(out), ttrpc__buf_pending(out), &h) || h.type != type ||
	    h.stream_id != 7 || h.length != ttrpc__buf_pending(out) - TTRPC__FRAME_HEADER_SIZE)
		__builtin_trap();
	*body = ttrpc__buf_head(out) + TTRPC__FRAME_HEADER_SIZE;
	*len = h.length;
}

static void request(const uint8_t *data, size_t size)
{
	Ttrpc__Request *req = ttrpc__wire_decode_request(data, size);
	if (!req)
		return;
	struct ttrpc_md md = { 0 };
	if (ttrpc__wire_request_md(req, &md) == 0 && md.count != req->n_metadata)
		__builtin_trap();
	struct ttrpc__request_out out = {
		.service = req->service,
		.method = req->method,
		.payload = req->payload.data,
		.len = req->payload.len,
		.timeout_ns = req->timeout_nano,
		.md = &md,
	};
	struct ttrpc__buf buf = { 0 };
	if (ttrpc__wire_put_request(&buf, 7, 0, &out, MAX) == 0) {
		const uint8_t *body;
		size_t len;
		check_frame(&buf, TTRPC__FRAME_REQUEST, &body, &len);
		Ttrpc__Request *again = ttrpc__wire_decode_request(body, len);
		if (!again || strcmp(again->service, req->service) || strcmp(again->method, req->method) ||
		    again->timeout_nano != req->timeout_nano || again->payload.len != req->payload.len ||
		    (req->payload.len && memcmp(again->payload.data, req->payload.data, req->payload.len)) ||
		    again->n_metadata != md.count)
			__builtin_trap();
		/* keys were lower-cased on the way in, values kept */
		for (size_t i = 0; i < md.count; i++)
			if (strcmp(again->metadata[i]->value, req->metadata[i]->value) ||
			    strcasecmp(again->metadata[i]->key, req->metadata[i]->key))
				__builtin_trap();
		ttrpc__request__free_unpacked(again, NULL);
	}
	ttrpc__buf_free(&buf);
	ttrpc__md_clear(&md);
	ttrpc__request__free_unpacked(req, NULL);
}

static void response(const uint8_t *data, size_t size)
{
	struct ttrpc__response_in r;
	if (ttrpc__wire_decode_response(data, size, &r))
		return;
	struct ttrpc__buf buf = { 0 };
	if (ttrpc__wire_put_response(&buf, 7, r.code, r.message, r.payload, r.len, MAX) == 0) {
		const uint8_t *body;
		size_t len;
		check_frame(&buf, TTRPC__FRAME_RESPONSE, &body, &len);
		struct ttrpc__response_in again;
		if (ttrpc__wire_decode_response(body, len, &again) || again.code != r.code ||
		    (r.code && strcmp(again.message, r.message)) || again.len != (r.code ? 0 : r.len) ||
		    (again.len && memcmp(again.payload, r.payload, r.len)))
			__builtin_trap();
		ttrpc__wire_response_free(&again);
	}
	ttrpc__buf_free(&buf);
	ttrpc__wire_response_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		request(data + 1, size - 1);
	else
		response(data + 1, size - 1);
	return 0;
}
