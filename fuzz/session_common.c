/* SPDX-License-Identifier: Apache-2.0 */
#include "session_common.h"

#include <stdlib.h>

void fuzz_feed(struct ttrpc__session *s, const uint8_t *data, size_t size, uint8_t chunk_seed)
{
	size_t off = 0;
	uint32_t x = chunk_seed | 1u;
	while (off < size) {
		x = x * 1103515245u + 12345u;
		size_t n = 1 + (x >> 16) % (chunk_seed % 4 == 0 ? size : 64u);
		if (n > size - off)
			n = size - off;
		if (ttrpc__session_recv(s, data + off, n))
			return;
		off += n;
	}
}

void fuzz_check_out(const struct ttrpc__session *s, uint8_t want_type)
{
	size_t left = ttrpc__buf_pending(&s->out);
	if (s->out_total - s->sent_total != left)
		abort();
	if (!left)
		return; /* an empty buffer may have no storage: no head */
	const uint8_t *p = ttrpc__buf_head(&s->out);
	while (left) {
		struct ttrpc__frame_header h;
		if (ttrpc__frame_unpack(p, left, &h))
			abort();
		/* a server also sends Data frames on streams */
		bool data = want_type == TTRPC__FRAME_RESPONSE && h.type == TTRPC__FRAME_DATA;
		if ((h.type != want_type && !data) || h.length > s->max_message ||
		    h.length > left - TTRPC__FRAME_HEADER_SIZE)
			abort();
		const uint8_t *body = p + TTRPC__FRAME_HEADER_SIZE;
		if (data) {
			if ((h.flags & TTRPC__FLAG_NO_DATA) && h.length)
				abort();
		} else if (want_type == TTRPC__FRAME_RESPONSE) {
			struct ttrpc__response_in r;
			if (ttrpc__wire_decode_response(body, h.length, &r))
				abort();
			ttrpc__wire_response_free(&r);
		} else {
			Ttrpc__Request *req = ttrpc__wire_decode_request(body, h.length);
			if (!req)
				abort();
			ttrpc__request__free_unpacked(req, NULL);
		}
		p = body + h.length;
		left -= TTRPC__FRAME_HEADER_SIZE + h.length;
	}
}
