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
#include <sys/mman.h>

/* Large buffers are released once drained so an idle connection does not
 * keep a 4 MiB message's worth of memory. */
#define KEEP_CAP (64u * 1024u)

/* Buffers of this size and above are mappings of their own, not malloc
 * chunks: glibc raises its mmap threshold after the first large free, so
 * later 4 MiB buffers would come from the heap and stay resident after
 * free (measured: 8-20 MiB kept after one 4 MiB echo). munmap returns them
 * to the system at once; mremap grows them without a copy. */
#define MAP_MIN (128u * 1024u)
#define PAGE (4096u)

static bool is_mapped(size_t cap)
{
	return cap >= MAP_MIN;
}

static size_t round_page(size_t n)
{
	return n > SIZE_MAX - (PAGE - 1) ? 0 : (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* Move storage to new_cap bytes, keeping the first b->len bytes. */
static int resize(struct ttrpc__buf *b, size_t new_cap)
{
	uint8_t *p;
	if (!is_mapped(new_cap)) {
		if (is_mapped(b->cap)) { /* shrinking out of a mapping */
			p = malloc(new_cap);
			if (!p)
				return -1;
			memcpy(p, b->data, b->len);
			munmap(b->data, b->cap);
		} else if (!(p = realloc(b->data, new_cap))) {
			return -1;
		}
	} else if (is_mapped(b->cap)) {
		p = mremap(b->data, b->cap, new_cap, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return -1;
	} else {
		p = mmap(NULL, new_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		if (b->len)
			memcpy(p, b->data, b->len);
		free(b->data);
	}
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
		if (is_mapped(cap) && !(cap = round_page(cap)))
			return NULL;
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
	if (b->off >= b->len) {
		b->off = b->len = 0;
		if (b->cap > KEEP_CAP)
			ttrpc__buf_free(b);
		return;
	}
	/* Mostly drained: a large buffer gives back what it no longer needs
	 * (the copy is at most an eighth of it, so this is amortised). */
	size_t pending = b->len - b->off;
	if (b->cap > KEEP_CAP && pending <= b->cap / 8) {
		size_t cap = pending * 2 < KEEP_CAP ? KEEP_CAP : pending * 2;
		if (is_mapped(cap))
			cap = round_page(cap);
		compact(b);
		resize(b, cap); /* on failure the larger buffer stays: still valid */
	}
}

void ttrpc__buf_free(struct ttrpc__buf *b)
{
	if (is_mapped(b->cap))
		munmap(b->data, b->cap);
	else
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

bool ttrpc__heap_trim_due(void)
{
	return atomic_load(&heap_freed) >= HEAP_TRIM_AFTER;
}

void ttrpc__heap_trim_if_due(void)
{
	if (!ttrpc__heap_trim_due())
		return;
	atomic_store(&heap_freed, 0);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
