/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "streams.h"
#include <ttrpc/common.h>

TestSuite(streams, .timeout = 30);

Test(streams, put_get_del)
{
	struct ttrpc__streams t = { 0 };
	int found;
	cr_assert_eq(ttrpc__streams_put(&t, 0, NULL), TTRPC_EINVAL);
	cr_assert_eq(ttrpc__streams_put(&t, 1, (void *)1), 0);
	cr_assert_eq(ttrpc__streams_put(&t, 1, (void *)2), TTRPC_EEXIST);
	cr_assert_eq(ttrpc__streams_get(&t, 1, &found), (void *)1);
	cr_assert(found);
	ttrpc__streams_get(&t, 3, &found);
	cr_assert_not(found);
	cr_assert_eq(ttrpc__streams_set(&t, 1, (void *)9), 0);
	cr_assert_eq(ttrpc__streams_set(&t, 5, (void *)9), TTRPC_ENOTFOUND);
	cr_assert_eq(ttrpc__streams_del(&t, 1, &found), (void *)9);
	cr_assert(found);
	cr_assert_eq(t.count, 0);
	ttrpc__streams_free(&t);
}

/* Many ids, deleted in a scrambled order, against a plain array model. */
Test(streams, matches_model_under_churn)
{
	enum {
		N = 5000
	};
	struct ttrpc__streams t = { 0 };
	static unsigned char present[2 * N + 2];
	srand(7);
	for (uint32_t id = 1; id < 2 * N; id += 2) {
		cr_assert_eq(ttrpc__streams_put(&t, id, (void *)(uintptr_t)id), 0);
		present[id] = 1;
	}
	for (int i = 0; i < 3 * N; i++) {
		uint32_t id = (uint32_t)(rand() % N) * 2 + 1;
		int found;
		void *d = ttrpc__streams_del(&t, id, &found);
		cr_assert_eq(found, present[id]);
		if (found)
			cr_assert_eq((uintptr_t)d, id);
		present[id] = 0;
		if (rand() % 2) {
			cr_assert_eq(ttrpc__streams_put(&t, id, (void *)(uintptr_t)id), 0);
			present[id] = 1;
		}
	}
	size_t count = 0;
	for (uint32_t id = 1; id < 2 * N; id += 2) {
		int found;
		ttrpc__streams_get(&t, id, &found);
		cr_assert_eq(found, present[id], "id %u", id);
		count += present[id];
	}
	cr_assert_eq(t.count, count);
	void *d;
	while (ttrpc__streams_pop(&t, &d))
		count--;
	cr_assert_eq(count, 0);
	ttrpc__streams_free(&t);
}
