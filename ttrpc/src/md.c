/* SPDX-License-Identifier: Apache-2.0 */
#include "md.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

ttrpc_md *ttrpc_md_new(void)
{
	return calloc(1, sizeof(ttrpc_md));
}

void ttrpc__md_clear(struct ttrpc_md *md)
{
	for (size_t i = 0; i < md->count; i++) {
		free(md->items[i].key);
		free(md->items[i].value);
	}
	free(md->items);
	md->items = NULL;
	md->count = md->cap = 0;
}

void ttrpc_md_free(ttrpc_md *md)
{
	if (!md)
		return;
	ttrpc__md_clear(md);
	free(md);
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int ttrpc__md_add_n(struct ttrpc_md *md, const char *key, size_t key_len, const char *value, size_t value_len)
{
	if (md->count == md->cap) {
		size_t cap = md->cap ? md->cap * 2 : 4;
		struct ttrpc__kv *items = realloc(md->items, cap * sizeof(*items));
		if (!items)
			return TTRPC_ENOMEM;
		md->items = items;
		md->cap = cap;
	}
	char *k = dup_n(key, key_len);
	char *v = dup_n(value, value_len);
	if (!k || !v) {
		free(k);
		free(v);
		return TTRPC_ENOMEM;
	}
	for (char *c = k; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	md->items[md->count].key = k;
	md->items[md->count].value = v;
	md->count++;
	return 0;
}

int ttrpc_md_add(ttrpc_md *md, const char *key, const char *value)
{
	if (!md || !key || !value)
		return TTRPC_EINVAL;
	return ttrpc__md_add_n(md, key, strlen(key), value, strlen(value));
}

size_t ttrpc_md_count(const ttrpc_md *md)
{
	return md ? md->count : 0;
}

int ttrpc_md_at(const ttrpc_md *md, size_t i, const char **key, const char **value)
{
	if (!md || i >= md->count)
		return TTRPC_ENOTFOUND;
	if (key)
		*key = md->items[i].key;
	if (value)
		*value = md->items[i].value;
	return 0;
}

const char *ttrpc_md_get(const ttrpc_md *md, const char *key)
{
	if (!md || !key)
		return NULL;
	for (size_t i = 0; i < md->count; i++)
		if (strcasecmp(md->items[i].key, key) == 0)
			return md->items[i].value;
	return NULL;
}
