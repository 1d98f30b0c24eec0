/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shim/ids.h"

TestSuite(shim_ids, .timeout = 30);

Test(shim_ids, accepts_containerd_identifiers)
{
	static const char *const good[] = { "a",
					    "Z9",
					    "abc-def",
					    "a.b_c-d",
					    "0",
					    "pod1.ctr_2-x",
					    "4f1c0d3a9e8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d" };
	struct shim_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		shim_error_clear(&err);
		cr_expect_eq(shim_id_validate("container id", good[i], &err), 0, "%s: %s", good[i], err.msg);
	}
}

Test(shim_ids, rejects_path_tricks_and_bad_shapes)
{
	static const char *const bad[] = { "",	 ".",  "..",  "../x", "a/b",  "/abs", "a..b", "a-",  "-a",
					   "_a", "a.", "a b", "a\nb", "a--b", "a._b", "é",    "a:b", "a/../b" };
	struct shim_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		shim_error_clear(&err);
		cr_expect_eq(shim_id_validate("exec id", bad[i], &err), -EINVAL, "accepted \"%s\"", bad[i]);
		cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
		cr_expect(strstr(err.msg, "exec id") != NULL, "%s", err.msg);
	}
}

Test(shim_ids, length_limit_is_76)
{
	char id[80];
	struct shim_error err;

	memset(id, 'a', sizeof(id));
	id[76] = '\0';
	cr_expect_eq(shim_id_validate("id", id, &err), 0);
	id[76] = 'a';
	id[77] = '\0';
	cr_expect_eq(shim_id_validate("id", id, &err), -EINVAL);
	cr_expect(strstr(err.msg, "maximum length") != NULL, "%s", err.msg);
	cr_expect_eq(shim_id_validate("id", NULL, &err), -EINVAL);
}
