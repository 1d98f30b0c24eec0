/* SPDX-License-Identifier: Apache-2.0 */
#include "frame.h"

#include <ttrpc/common.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void ttrpc__frame_pack(uint8_t out[TTRPC__FRAME_HEADER_SIZE], const struct ttrpc__frame_header *h)
{
	put_be32(out, h->length);
	put_be32(out + 4, h->stream_id);
	out[8] = h->type;
	out[9] = h->flags;
}

int ttrpc__frame_unpack(const uint8_t *in, size_t len, struct ttrpc__frame_header *h)
{
	if (len < TTRPC__FRAME_HEADER_SIZE)
		return TTRPC_EAGAIN;
	h->length = get_be32(in);
	h->stream_id = get_be32(in + 4);
	h->type = in[8];
	h->flags = in[9];
	return 0;
}

bool ttrpc__frame_oversized(const struct ttrpc__frame_header *h, uint32_t max)
{
	return h->length > max;
}
