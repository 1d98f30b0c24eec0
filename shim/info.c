/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "containerd/types/introspection.pb-c.h"
#include "shim/options.h"
#include "shim/runtime.h"
#include "shim/shim.h"

/* `<binary> features`, bounded in time and size, checked to be a JSON object
 * and compacted (runc-v2 re-marshals the parsed struct: compact JSON too). */
static int features(struct shim_runtime *rt, char **json, struct shim_error *err)
{
	struct shim_argv a;
	memset(&a, 0, sizeof(a));
	a.v[0] = rt->binary;
	a.v[1] = "features";
	a.n = 2;
	a.command = "features";
	struct shim_run_io io = SHIM_RUN_IO_INIT;
	io.output_size = SHIM_INFO_FEATURES_MAX;
	io.output = malloc(io.output_size);
	if (!io.output)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	int rc = shim_runtime_run(rt, &a, &io, err);
	if (rc) {
		free(io.output);
		return rc;
	}
	json_error_t jerr;
	json_t *root = json_loadb(io.output, io.output_len, 0, &jerr);
	free(io.output);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "%s features: not a JSON object%s%s",
				      rt->binary, root ? "" : ": ", root ? "" : jerr.text);
	}
	*json = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!*json)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	return 0;
}

int shim_info(const uint8_t *in, size_t len, const char *path_env, int timeout_ms, uint8_t **out, size_t *out_len,
	      char *warning, size_t warning_size, struct shim_error *err)
{
	if (warning_size)
		warning[0] = '\0';
	Google__Protobuf__Any *options = NULL;
	if (len) {
		options = google__protobuf__any__unpack(NULL, len, in);
		if (!options)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "failed to read runtime options: stdin is not a google.protobuf.Any");
	}
	struct shim_runtime_options opts;
	int rc = shim_runtime_options_from_any(options, &opts, err);
	if (rc) {
		google__protobuf__any__free_unpacked(options, NULL);
		return rc;
	}
	/* the runtime Create would use: not found fails -info as it would fail Create */
	struct shim_runtime rt;
	char binary[PATH_MAX];
	memset(&rt, 0, sizeof(rt));
	rt.timeout_ms = timeout_ms;
	rt.binary = binary;
	rc = shim_runtime_find_binary(opts.binary_name[0] ? opts.binary_name : NULL,
				      path_env ? path_env : getenv("PATH"), binary, sizeof(binary), err);
	if (rc) {
		google__protobuf__any__free_unpacked(options, NULL);
		return rc;
	}
	char *json = NULL;
	struct shim_error ferr = { 0 };
	rc = features(&rt, &json, &ferr);
	if (rc == -ENOMEM) {
		google__protobuf__any__free_unpacked(options, NULL);
		*err = ferr;
		return rc;
	}
	if (rc && warning_size)
		snprintf(warning, warning_size, "no OCI runtime features in the RuntimeInfo (%s): %s", rt.binary,
			 ferr.msg);

	Containerd__Types__RuntimeVersion version = CONTAINERD__TYPES__RUNTIME_VERSION__INIT;
	version.version = SHIM_VERSION;
	Containerd__Types__RuntimeInfo info = CONTAINERD__TYPES__RUNTIME_INFO__INIT;
	info.name = SHIM_RUNTIME_NAME;
	info.version = &version;
	info.options = options; /* echoed as read */
	Google__Protobuf__Any feat = GOOGLE__PROTOBUF__ANY__INIT;
	if (json) {
		feat.type_url = SHIM_INFO_FEATURES_TYPE_URL;
		feat.value.data = (uint8_t *)json;
		feat.value.len = strlen(json);
		info.features = &feat;
	}
	*out_len = containerd__types__runtime_info__get_packed_size(&info);
	*out = malloc(*out_len ? *out_len : 1);
	if (*out)
		containerd__types__runtime_info__pack(&info, *out);
	free(json);
	google__protobuf__any__free_unpacked(options, NULL);
	if (!*out)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	return 0;
}
