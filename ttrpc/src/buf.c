/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Buffers above this are given back by ttrpc__buf_release (an idle
 * connection does not keep a 4 MiB message's worth of memory). */
#define KEEP_CAP (64u * 1024u)

/* Plain heap storage: a buffer is kept while its connection is busy and
 * given back (ttrpc__buf_release) once it is idle; ttrpc__heap_trim_if_due
 * then returns the freed pages to the system. Buffers as mappings of their
 * own (mmap/munmap) were tried and cost two thirds of the 1 MiB echo
 * throughput (ttrpc-bench client, 1 MiB, one call in flight, same run: 261
 * vs 755 calls/s), for no memory
 * gain once buffers are released when idle and the heap trimmed. */
static int resize(struct ttrpc__buf *b, size_t new_cap)
{
	uint8_t *p = realloc(b->data, new_cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = new_cap;
	return 0;
}

static void compact(struct ttrpc__buf *b)
{
	if (b->off == 0)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

uint8_t *ttrpc__buf_reserve(struct ttrpc__buf *b, size_t n)
{
	if (b->off > 0 && (b->off == b->len || b->cap - b->len < n))
		compact(b);
	if (n > SIZE_MAX - b->len)
		return NULL;
	if (b->cap - b->len < n) {
		size_t want = b->len + n;
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < want)
			cap = cap > SIZE_MAX / 2 ? want : cap * 2;
		if (resize(b, cap))
			return NULL;
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
	/* Drained: the storage stays for the next message (a busy connection
	 * would otherwise map, fault in and unmap a large buffer per message:
	 * measured at half the 1 MiB throughput); ttrpc__buf_release gives it
	 * back once the connection has been idle. */
	if (b->off >= b->len)
		b->off = b->len = 0;
}

size_t ttrpc__buf_release(struct ttrpc__buf *b)
{
	size_t cap = b->cap;
	if (ttrpc__buf_pending(b) || cap <= KEEP_CAP)
		return 0;
	ttrpc__buf_free(b);
	return cap;
}

bool ttrpc__buf_large(const struct ttrpc__buf *b)
{
	return b->cap > KEEP_CAP;
}

void ttrpc__buf_free(struct ttrpc__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

static _Atomic size_t heap_freed; /* large blocks freed since the last trim */

#define HEAP_NOTE_MIN (64u * 1024u)
#define HEAP_TRIM_AFTER (1u << 20)

void ttrpc__heap_note_free(size_t bytes)
{
	if (bytes >= HEAP_NOTE_MIN)
		atomic_fetch_add(&heap_freed, bytes);
}

static bool heap_trim_due(void)
{
	return atomic_load(&heap_freed) >= HEAP_TRIM_AFTER;
}

void ttrpc__heap_trim_if_due(void)
{
	if (!heap_trim_due())
		return;
	atomic_store(&heap_freed, 0);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
