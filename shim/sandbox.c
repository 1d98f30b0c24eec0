/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <string.h>

#include "ids.h"

static const char *lookup(const struct shim_kv *ann, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ann[i].key && !strcmp(ann[i].key, key))
			return ann[i].value;
	return NULL;
}

static int set(struct shim_group *group, enum shim_group_mode mode, const char *group_id, const char *reason,
	       struct shim_error *err)
{
	int ret = shim_id_validate(reason, group_id, err);

	if (ret < 0)
		return ret;
	group->mode = mode;
	group->group_id = group_id;
	group->reason = reason;
	return 0;
}

static int hcsshim(const char *id, const char *type, const char *sandbox_id, struct shim_group *group,
		   struct shim_error *err)
{
	if (!sandbox_id)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s=%s requires the annotation " SHIM_ANN_SANDBOX_ID, SHIM_ANN_CONTAINER_TYPE,
				      type);
	if (!strcmp(type, "sandbox")) {
		if (strcmp(sandbox_id, id) != 0)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "sandbox \"%s\" has " SHIM_ANN_SANDBOX_ID "=\"%s\": a sandbox's id must "
					      "equal its sandbox id",
					      id, sandbox_id);
		return set(group, SHIM_GROUP_SANDBOX, sandbox_id, SHIM_ANN_SANDBOX_ID, err);
	}
	if (!strcmp(type, "container")) {
		if (!strcmp(sandbox_id, id))
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "container \"%s\" names itself as its sandbox (" SHIM_ANN_CONTAINER_TYPE
					      "=container)",
					      id);
		return set(group, SHIM_GROUP_JOIN_SANDBOX, sandbox_id, SHIM_ANN_SANDBOX_ID, err);
	}
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
			      "unknown " SHIM_ANN_CONTAINER_TYPE " \"%s\" (want sandbox or container)", type);
}

int shim_sandbox_group(const char *id, const struct shim_kv *ann, size_t n, struct shim_group *group,
		       struct shim_error *err)
{
	const char *runc_group = lookup(ann, n, SHIM_ANN_RUNC_GROUP);
	const char *type = lookup(ann, n, SHIM_ANN_CONTAINER_TYPE);
	const char *sandbox_id = lookup(ann, n, SHIM_ANN_SANDBOX_ID);
	int ret;

	memset(group, 0, sizeof(*group));
	ret = shim_id_validate("container id", id, err);
	if (ret < 0)
		return ret;
	if (runc_group)
		return set(group, SHIM_GROUP_REUSE_OR_NEW, runc_group, SHIM_ANN_RUNC_GROUP, err);
	if (type)
		return hcsshim(id, type, sandbox_id, group, err);
	if (sandbox_id)
		return set(group, SHIM_GROUP_REUSE_OR_NEW, sandbox_id, SHIM_ANN_SANDBOX_ID, err);
	return set(group, SHIM_GROUP_REUSE_OR_NEW, id, "container id", err);
}

const char *shim_group_mode_name(enum shim_group_mode mode)
{
	switch (mode) {
	case SHIM_GROUP_REUSE_OR_NEW:
		return "runc-v2";
	case SHIM_GROUP_SANDBOX:
		return "sandbox";
	case SHIM_GROUP_JOIN_SANDBOX:
		return "join-sandbox";
	default:
		return "unknown";
	}
}
