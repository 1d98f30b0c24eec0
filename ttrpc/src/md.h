/* SPDX-License-Identifier: Apache-2.0 */
#ifndef TTRPC_MD_H
#define TTRPC_MD_H

#include <ttrpc/common.h>

struct ttrpc__kv {
	char *key;
	char *value;
};

struct ttrpc_md {
	struct ttrpc__kv *items;
	size_t count;
	size_t cap;
};

/* Release the pairs of an embedded (not heap-allocated) list. */
void ttrpc__md_clear(struct ttrpc_md *md);
/* Append a pair of n-byte strings, copied, the key lower-cased. */
int ttrpc__md_add_n(struct ttrpc_md *md, const char *key, size_t key_len, const char *value, size_t value_len);

#endif
