/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "containerd/runc/v1/options.pb-c.h"
#include "runtimeoptions/v1/api.pb-c.h"

bool shim_any_is(const Google__Protobuf__Any *any, const char *full_name)
{
	const char *url = any->type_url ? any->type_url : "";
	const char *slash = strrchr(url, '/');
	return !strcmp(slash ? slash + 1 : url, full_name);
}

int shim_runtime_options_from_any(const Google__Protobuf__Any *any, struct shim_runtime_options *opts,
				  struct shim_error *err)
{
	memset(opts, 0, sizeof(*opts));
	if (!any || !any->type_url || !*any->type_url)
		return 0;
	if (shim_any_is(any, "containerd.runc.v1.Options")) {
		Containerd__Runc__V1__Options *o =
			containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
		if (!o)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "runtime options: bad containerd.runc.v1.Options");
		snprintf(opts->binary_name, sizeof(opts->binary_name), "%s", o->binary_name ? o->binary_name : "");
		snprintf(opts->root, sizeof(opts->root), "%s", o->root ? o->root : "");
		opts->systemd_cgroup = o->systemd_cgroup;
		containerd__runc__v1__options__free_unpacked(o, NULL);
		return 0;
	}
	if (shim_any_is(any, "runtimeoptions.v1.Options")) {
		Runtimeoptions__V1__Options *o =
			runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
		if (!o)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "runtime options: bad runtimeoptions.v1.Options");
		int rc = 0;
		if (o->config_path && *o->config_path)
			rc = shim_runtime_config_load(o->config_path, opts, err);
		runtimeoptions__v1__options__free_unpacked(o, NULL);
		return rc;
	}
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "runtime options: unsupported type %s",
			      any->type_url);
}
