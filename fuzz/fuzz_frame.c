/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the frame header parser. Input: a header's bytes, or
 * fewer. A whole header must survive unpack -> pack byte for byte, and the
 * size limit must mean "length > max". */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "ttrpc/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttrpc__frame_header h;
	int rc = ttrpc__frame_unpack(data, size, &h);
	if (size < TTRPC__FRAME_HEADER_SIZE) {
		if (rc != TTRPC_EAGAIN)
			__builtin_trap();
		return 0;
	}
	if (rc != 0)
		__builtin_trap();
	uint8_t out[TTRPC__FRAME_HEADER_SIZE];
	ttrpc__frame_pack(out, &h);
	if (memcmp(out, data, sizeof(out)))
		__builtin_trap();
	/* the bytes after the header, if any, are a limit to test against */
	uint32_t max = 0;
	for (size_t i = TTRPC__FRAME_HEADER_SIZE; i < size && i < TTRPC__FRAME_HEADER_SIZE + 4; i++)
		max = max << 8 | data[i];
	if (ttrpc__frame_oversized(&h, max) != (h.length > max))
		__builtin_trap();
	return 0;
}
