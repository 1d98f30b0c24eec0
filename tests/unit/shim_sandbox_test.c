/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shim/sandbox.h"

TestSuite(shim_sandbox, .timeout = 30);

/* Every combination of the three grouping annotations for container "c1":
 * absent, a value, or empty; expected mode (0 = INVALID_ARGUMENT) and group id. */
struct row {
	const char *group, *type, *sandbox_id;
	int mode;
	const char *group_id;
};

static const struct row rows[] = {
	{ NULL, NULL, NULL, SHIM_GROUP_REUSE_OR_NEW, "c1" },
	{ NULL, NULL, "c1", SHIM_GROUP_REUSE_OR_NEW, "c1" },
	{ NULL, NULL, "sb1", SHIM_GROUP_REUSE_OR_NEW, "sb1" },
	{ NULL, NULL, "", 0, NULL },
	{ NULL, "sandbox", NULL, 0, NULL },
	{ NULL, "sandbox", "c1", SHIM_GROUP_SANDBOX, "c1" },
	{ NULL, "sandbox", "sb1", 0, NULL },
	{ NULL, "sandbox", "", 0, NULL },
	{ NULL, "container", NULL, 0, NULL },
	{ NULL, "container", "c1", 0, NULL },
	{ NULL, "container", "sb1", SHIM_GROUP_JOIN_SANDBOX, "sb1" },
	{ NULL, "container", "", 0, NULL },
	{ NULL, "pod", NULL, 0, NULL },
	{ NULL, "pod", "c1", 0, NULL },
	{ NULL, "pod", "sb1", 0, NULL },
	{ NULL, "pod", "", 0, NULL },
	{ "grp", NULL, NULL, SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", NULL, "c1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", NULL, "sb1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", NULL, "", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "sandbox", NULL, SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "sandbox", "c1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "sandbox", "sb1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "sandbox", "", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "container", NULL, SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "container", "c1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "container", "sb1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "container", "", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "pod", NULL, SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "pod", "c1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "pod", "sb1", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "grp", "pod", "", SHIM_GROUP_REUSE_OR_NEW, "grp" },
	{ "", NULL, NULL, 0, NULL },
	{ "", NULL, "c1", 0, NULL },
	{ "", NULL, "sb1", 0, NULL },
	{ "", NULL, "", 0, NULL },
	{ "", "sandbox", NULL, 0, NULL },
	{ "", "sandbox", "c1", 0, NULL },
	{ "", "sandbox", "sb1", 0, NULL },
	{ "", "sandbox", "", 0, NULL },
	{ "", "container", NULL, 0, NULL },
	{ "", "container", "c1", 0, NULL },
	{ "", "container", "sb1", 0, NULL },
	{ "", "container", "", 0, NULL },
	{ "", "pod", NULL, 0, NULL },
	{ "", "pod", "c1", 0, NULL },
	{ "", "pod", "sb1", 0, NULL },
	{ "", "pod", "", 0, NULL },
};

static size_t build(const struct row *r, struct shim_kv *ann)
{
	size_t n = 0;

	ann[n++] = (struct shim_kv){ "io.kubernetes.cri.image-name", "busybox" };
	if (r->group)
		ann[n++] = (struct shim_kv){ SHIM_ANN_RUNC_GROUP, (char *)r->group };
	if (r->type)
		ann[n++] = (struct shim_kv){ SHIM_ANN_CONTAINER_TYPE, (char *)r->type };
	if (r->sandbox_id)
		ann[n++] = (struct shim_kv){ SHIM_ANN_SANDBOX_ID, (char *)r->sandbox_id };
	return n;
}

Test(shim_sandbox, every_annotation_combination)
{
	struct shim_kv ann[4];
	struct shim_group group;
	struct shim_error err;
	size_t i, n;
	int ret;

	cr_assert_eq(sizeof(rows) / sizeof(rows[0]), 48);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		n = build(r, ann);
		shim_error_clear(&err);
		ret = shim_sandbox_group("c1", ann, n, &group, &err);
		if (!r->mode) {
			cr_expect_eq(ret, -EINVAL, "row %zu (%s,%s,%s) accepted: %s %s", i, r->group, r->type,
				     r->sandbox_id, shim_group_mode_name(group.mode), group.group_id);
			cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
			cr_expect_neq(err.msg[0], '\0');
			continue;
		}
		cr_expect_eq(ret, 0, "row %zu (%s,%s,%s): %s", i, r->group, r->type, r->sandbox_id, err.msg);
		cr_expect_eq((int)group.mode, r->mode, "row %zu", i);
		cr_expect_str_eq(group.group_id, r->group_id, "row %zu", i);
	}
}

Test(shim_sandbox, annotation_order_in_the_spec_does_not_matter)
{
	struct shim_kv ann[] = { { SHIM_ANN_SANDBOX_ID, "sb" }, { SHIM_ANN_RUNC_GROUP, "g" } };
	struct shim_group group;
	struct shim_error err;

	cr_assert_eq(shim_sandbox_group("c1", ann, 2, &group, &err), 0);
	cr_expect_str_eq(group.group_id, "g");
	cr_expect_str_eq(group.reason, SHIM_ANN_RUNC_GROUP);
	cr_expect_str_eq(shim_group_mode_name(group.mode), "runc-v2");
	cr_assert_eq(shim_sandbox_group("c1", ann, 1, &group, &err), 0);
	cr_expect_str_eq(group.group_id, "sb");
	cr_assert_eq(shim_sandbox_group("c1", NULL, 0, &group, &err), 0);
	cr_expect_str_eq(group.reason, "container id");
}

Test(shim_sandbox, errors_say_what_is_wrong)
{
	struct shim_kv sandbox_mismatch[] = { { SHIM_ANN_CONTAINER_TYPE, "sandbox" },
					      { SHIM_ANN_SANDBOX_ID, "other" } };
	struct shim_kv no_sandbox[] = { { SHIM_ANN_CONTAINER_TYPE, "container" } };
	struct shim_kv bad_type[] = { { SHIM_ANN_CONTAINER_TYPE, "pod" }, { SHIM_ANN_SANDBOX_ID, "c1" } };
	struct shim_kv path_trick[] = { { SHIM_ANN_RUNC_GROUP, "../../etc" } };
	struct shim_group group;
	struct shim_error err;

	cr_expect_eq(shim_sandbox_group("c1", sandbox_mismatch, 2, &group, &err), -EINVAL);
	cr_expect(strstr(err.msg, "must equal its sandbox id") != NULL, "%s", err.msg);
	cr_expect_eq(shim_sandbox_group("c1", no_sandbox, 1, &group, &err), -EINVAL);
	cr_expect(strstr(err.msg, "requires the annotation io.kubernetes.cri.sandbox-id") != NULL, "%s", err.msg);
	cr_expect_eq(shim_sandbox_group("c1", bad_type, 2, &group, &err), -EINVAL);
	cr_expect(strstr(err.msg, "unknown io.kubernetes.cri.container-type \"pod\"") != NULL, "%s", err.msg);
	cr_expect_eq(shim_sandbox_group("c1", path_trick, 1, &group, &err), -EINVAL);
	cr_expect(strstr(err.msg, "io.containerd.runc.v2.group \"../../etc\"") != NULL, "%s", err.msg);
	cr_expect_eq(shim_sandbox_group("../c1", NULL, 0, &group, &err), -EINVAL);
	cr_expect(strstr(err.msg, "container id") != NULL, "%s", err.msg);
}
