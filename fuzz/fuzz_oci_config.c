/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: oci.c's parsers. Input: one selector byte (even: a
 * bundle's config.json, odd: an exec's process spec), then the JSON. What
 * parses must hold together: args NULL-terminated with nargs entries,
 * annotations with keys and values, each annotation found by its key. */
#include <stdint.h>
#include <string.h>

#include "shim/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_process(const struct shim_oci_process *p)
{
	if (!p->args) {
		if (p->nargs)
			__builtin_trap();
		return;
	}
	for (size_t i = 0; i < p->nargs; i++)
		if (!p->args[i])
			__builtin_trap();
	if (p->args[p->nargs])
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *json = (const char *)data + 1;
	struct shim_error err = { 0 };
	if (data[0] % 2) {
		struct shim_oci_process p;
		if (shim_oci_process_parse(json, size - 1, "spec", &p, &err) == 0)
			check_process(&p);
		else if (err.code != TTRPC_CODE_INVALID_ARGUMENT && err.code != TTRPC_CODE_RESOURCE_EXHAUSTED)
			__builtin_trap();
		shim_oci_process_free(&p);
		return 0;
	}
	struct shim_oci_config cfg;
	if (shim_oci_config_parse(json, size - 1, "config.json", &cfg, &err)) {
		if (err.code != TTRPC_CODE_INVALID_ARGUMENT && err.code != TTRPC_CODE_RESOURCE_EXHAUSTED)
			__builtin_trap();
		/* a failed parse leaves nothing to free behind */
		if (cfg.annotations || cfg.root_path || cfg.cgroups_path || cfg.process.args)
			__builtin_trap();
		return 0;
	}
	if (cfg.has_process)
		check_process(&cfg.process);
	else if (cfg.process.args)
		__builtin_trap();
	for (size_t i = 0; i < cfg.nannotations; i++) {
		const struct shim_kv *kv = &cfg.annotations[i];
		if (!kv->key || !kv->value)
			__builtin_trap();
		/* keys are unique (duplicates are rejected), so lookup finds this one */
		if (shim_oci_annotation(&cfg, kv->key) != kv->value)
			__builtin_trap();
	}
	shim_oci_config_free(&cfg);
	return 0;
}
