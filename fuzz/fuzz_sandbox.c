/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the grouping decision `start` makes (main.c: config.json's
 * annotations, then sandbox.c). Input: the container id, a newline, then the
 * bundle's config.json. A decision must name a valid group id that is the
 * container id or one of the grouping annotations' values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim/ids.h"
#include "shim/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	char *id = strndup((const char *)data, (size_t)(nl - data));
	if (!id)
		return 0;
	const char *json = (const char *)nl + 1;
	size_t len = size - (size_t)(nl + 1 - data);
	struct shim_oci_config cfg;
	struct shim_error err = { 0 };
	if (shim_oci_config_parse(json, len, "config.json", &cfg, &err) == 0) {
		struct shim_group g;
		if (shim_sandbox_group(id, cfg.annotations, cfg.nannotations, &g, &err) == 0) {
			bool from_ann = g.group_id == shim_oci_annotation(&cfg, SHIM_ANN_RUNC_GROUP) ||
					g.group_id == shim_oci_annotation(&cfg, SHIM_ANN_SANDBOX_ID);
			if ((g.group_id != id && !from_ann) || shim_id_validate("group", g.group_id, NULL) ||
			    shim_id_validate("id", id, NULL) || !g.reason ||
			    !strcmp(shim_group_mode_name(g.mode), "unknown"))
				__builtin_trap();
			if (g.mode == SHIM_GROUP_JOIN_SANDBOX && !strcmp(g.group_id, id))
				__builtin_trap(); /* a container cannot join itself */
		} else if (err.code != TTRPC_CODE_INVALID_ARGUMENT) {
			__builtin_trap();
		}
		shim_oci_config_free(&cfg);
	}
	free(id);
	return 0;
}
