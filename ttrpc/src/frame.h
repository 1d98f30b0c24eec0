/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc frame header: pure functions, no I/O. */
#ifndef TTRPC_FRAME_H
#define TTRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTRPC__FRAME_HEADER_SIZE 10u

enum ttrpc__frame_type {
	TTRPC__FRAME_REQUEST = 0x1,
	TTRPC__FRAME_RESPONSE = 0x2,
	TTRPC__FRAME_DATA = 0x3,
};

enum ttrpc__frame_flag {
	TTRPC__FLAG_REMOTE_CLOSED = 0x1,
	TTRPC__FLAG_REMOTE_OPEN = 0x2,
	TTRPC__FLAG_NO_DATA = 0x4,
};

struct ttrpc__frame_header {
	uint32_t length; /* payload bytes after the header */
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

/* Write h as 10 big-endian header bytes to out. */
void ttrpc__frame_pack(uint8_t out[TTRPC__FRAME_HEADER_SIZE], const struct ttrpc__frame_header *h);

/* Read a header from in; TTRPC_EAGAIN if fewer than 10 bytes are given. */
int ttrpc__frame_unpack(const uint8_t *in, size_t len, struct ttrpc__frame_header *h);

/* true when the payload length exceeds max (exactly max is allowed). */
bool ttrpc__frame_oversized(const struct ttrpc__frame_header *h, uint32_t max);

#endif
