/* SPDX-License-Identifier: Apache-2.0 */
/* The stream table: open streams of a session by stream id (never 0). */
#ifndef TTRPC_STREAMS_H
#define TTRPC_STREAMS_H

#include <stddef.h>
#include <stdint.h>

struct ttrpc__stream_slot {
	uint32_t id; /* 0 = empty */
	void *data;
};

struct ttrpc__streams {
	struct ttrpc__stream_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t count;
};

/* Add id -> data. TTRPC_EEXIST when id is present, TTRPC_EINVAL for id 0. */
int ttrpc__streams_put(struct ttrpc__streams *t, uint32_t id, void *data);
/* Look id up; *found says whether it is present (data may be NULL). */
void *ttrpc__streams_get(const struct ttrpc__streams *t, uint32_t id, int *found);
/* Replace the data of a present id; TTRPC_ENOTFOUND when absent. */
int ttrpc__streams_set(struct ttrpc__streams *t, uint32_t id, void *data);
/* Remove id; returns its data (NULL if absent), *found as above. */
void *ttrpc__streams_del(struct ttrpc__streams *t, uint32_t id, int *found);
/* Remove and return any one entry; 0 when empty. */
uint32_t ttrpc__streams_pop(struct ttrpc__streams *t, void **data);
void ttrpc__streams_free(struct ttrpc__streams *t);

#endif
