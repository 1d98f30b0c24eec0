/* SPDX-License-Identifier: Apache-2.0 */
#include "streams.h"

#include <stdlib.h>

#include <ttrpc/common.h>

static size_t slot_of(uint32_t id, size_t cap)
{
	return (size_t)(id * 2654435761u) & (cap - 1);
}

static int grow(struct ttrpc__streams *t)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	struct ttrpc__stream_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return TTRPC_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].id)
			continue;
		size_t j = slot_of(t->slots[i].id, cap);
		while (slots[j].id)
			j = (j + 1) & (cap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static struct ttrpc__stream_slot *find(const struct ttrpc__streams *t, uint32_t id)
{
	if (!t->cap || !id)
		return NULL;
	for (size_t j = slot_of(id, t->cap);; j = (j + 1) & (t->cap - 1)) {
		if (t->slots[j].id == id)
			return &t->slots[j];
		if (!t->slots[j].id)
			return NULL;
	}
}

int ttrpc__streams_put(struct ttrpc__streams *t, uint32_t id, void *data)
{
	if (!id)
		return TTRPC_EINVAL;
	if (find(t, id))
		return TTRPC_EEXIST;
	if ((t->count + 1) * 4 > t->cap * 3) {
		int rc = grow(t);
		if (rc)
			return rc;
	}
	size_t j = slot_of(id, t->cap);
	while (t->slots[j].id)
		j = (j + 1) & (t->cap - 1);
	t->slots[j].id = id;
	t->slots[j].data = data;
	t->count++;
	return 0;
}

void *ttrpc__streams_get(const struct ttrpc__streams *t, uint32_t id, int *found)
{
	struct ttrpc__stream_slot *s = find(t, id);
	if (found)
		*found = s != NULL;
	return s ? s->data : NULL;
}

int ttrpc__streams_set(struct ttrpc__streams *t, uint32_t id, void *data)
{
	struct ttrpc__stream_slot *s = find(t, id);
	if (!s)
		return TTRPC_ENOTFOUND;
	s->data = data;
	return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void remove_slot(struct ttrpc__streams *t, size_t hole)
{
	size_t mask = t->cap - 1;
	for (size_t j = (hole + 1) & mask; t->slots[j].id; j = (j + 1) & mask) {
		size_t home = slot_of(t->slots[j].id, t->cap);
		/* move j into the hole unless its home lies cyclically in (hole, j] */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	t->slots[hole].id = 0;
	t->slots[hole].data = NULL;
	t->count--;
}

void *ttrpc__streams_del(struct ttrpc__streams *t, uint32_t id, int *found)
{
	struct ttrpc__stream_slot *s = find(t, id);
	if (found)
		*found = s != NULL;
	if (!s)
		return NULL;
	void *data = s->data;
	remove_slot(t, (size_t)(s - t->slots));
	return data;
}

uint32_t ttrpc__streams_pop(struct ttrpc__streams *t, void **data)
{
	for (size_t i = 0; t->count && i < t->cap; i++) {
		if (t->slots[i].id) {
			uint32_t id = t->slots[i].id;
			*data = t->slots[i].data;
			remove_slot(t, i);
			return id;
		}
	}
	return 0;
}

void ttrpc__streams_free(struct ttrpc__streams *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = 0;
}
