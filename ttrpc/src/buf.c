/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Large buffers are released once drained so an idle connection does not
 * keep a 4 MiB message's worth of memory. */
#define KEEP_CAP (64u * 1024u)

uint8_t *ttrpc__buf_reserve(struct ttrpc__buf *b, size_t n)
{
	if (b->off > 0 && (b->off == b->len || b->cap - b->len < n)) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (n > SIZE_MAX - b->len)
		return NULL;
	if (b->cap - b->len < n) {
		size_t want = b->len + n;
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < want)
			cap = cap > SIZE_MAX / 2 ? want : cap * 2;
		uint8_t *p = realloc(b->data, cap);
		if (!p)
			return NULL;
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

void ttrpc__buf_commit(struct ttrpc__buf *b, size_t n)
{
	b->len += n;
}

void ttrpc__buf_consume(struct ttrpc__buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len) {
		b->off = b->len = 0;
		if (b->cap > KEEP_CAP)
			ttrpc__buf_free(b);
	}
}

void ttrpc__buf_free(struct ttrpc__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
