/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte queue: append at the end, consume from the front. */
#ifndef TTRPC_BUF_H
#define TTRPC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ttrpc__buf {
	uint8_t *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of valid bytes */
	size_t cap;
};

/* Make room for n more bytes and return where they go (not yet counted). */
uint8_t *ttrpc__buf_reserve(struct ttrpc__buf *b, size_t n);
/* Count n bytes written after ttrpc__buf_reserve. */
void ttrpc__buf_commit(struct ttrpc__buf *b, size_t n);
/* Drop n bytes from the front (the storage is kept when it empties). */
void ttrpc__buf_consume(struct ttrpc__buf *b, size_t n);
/* An empty buffer above 64 KiB frees its storage; returns the bytes freed. */
size_t ttrpc__buf_release(struct ttrpc__buf *b);
/* Holds storage that ttrpc__buf_release would free once empty. */
bool ttrpc__buf_large(const struct ttrpc__buf *b);
/* Bytes waiting to be consumed. */
static inline size_t ttrpc__buf_pending(const struct ttrpc__buf *b)
{
	return b->len - b->off;
}
static inline const uint8_t *ttrpc__buf_head(const struct ttrpc__buf *b)
{
	return b->data + b->off;
}
/* Free the storage; the buffer is empty and reusable afterwards. */
void ttrpc__buf_free(struct ttrpc__buf *b);

/* Note that a large block (a decoded message) went back to malloc; once
 * enough did, ttrpc__heap_trim_if_due hands free heap pages back to the
 * system (glibc keeps them otherwise). */
void ttrpc__heap_note_free(size_t bytes);
/* Trim now if due. */
void ttrpc__heap_trim_if_due(void);

#endif
