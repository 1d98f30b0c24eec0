/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>

#include "frame.h"
#include <ttrpc/common.h>

TestSuite(frame, .timeout = 30);

Test(frame, pack_is_big_endian)
{
	struct ttrpc__frame_header h = { .length = 0x01020304, .stream_id = 0x0a0b0c0d, .type = 2, .flags = 5 };
	uint8_t b[TTRPC__FRAME_HEADER_SIZE];
	ttrpc__frame_pack(b, &h);
	const uint8_t want[] = { 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 5 };
	cr_assert_arr_eq(b, want, sizeof(want));
}

Test(frame, round_trip)
{
	struct ttrpc__frame_header in = {
		.length = TTRPC_MAX_MESSAGE_SIZE, .stream_id = 0xffffffff, .type = 3, .flags = 0x7
	};
	uint8_t b[TTRPC__FRAME_HEADER_SIZE];
	ttrpc__frame_pack(b, &in);
	struct ttrpc__frame_header out;
	cr_assert_eq(ttrpc__frame_unpack(b, sizeof(b), &out), 0);
	cr_assert_eq(out.length, in.length);
	cr_assert_eq(out.stream_id, in.stream_id);
	cr_assert_eq(out.type, in.type);
	cr_assert_eq(out.flags, in.flags);
}

Test(frame, truncated_header_needs_more)
{
	uint8_t b[TTRPC__FRAME_HEADER_SIZE] = { 0 };
	struct ttrpc__frame_header out;
	for (size_t n = 0; n < sizeof(b); n++)
		cr_assert_eq(ttrpc__frame_unpack(b, n, &out), TTRPC_EAGAIN, "len %zu", n);
}

Test(frame, max_size_is_allowed_and_one_more_is_oversized)
{
	struct ttrpc__frame_header h = { .length = TTRPC_MAX_MESSAGE_SIZE };
	cr_assert_not(ttrpc__frame_oversized(&h, TTRPC_MAX_MESSAGE_SIZE));
	h.length++;
	cr_assert(ttrpc__frame_oversized(&h, TTRPC_MAX_MESSAGE_SIZE));
	h.length = UINT32_MAX;
	cr_assert(ttrpc__frame_oversized(&h, TTRPC_MAX_MESSAGE_SIZE));
	h.length = 0;
	cr_assert_not(ttrpc__frame_oversized(&h, TTRPC_MAX_MESSAGE_SIZE));
}
