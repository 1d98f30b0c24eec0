/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: our runtime-config file (runtime.c). Input: the file's
 * contents. What loads must save and load again to the same options. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char in_path[128], out_path[128];

static void cleanup(void)
{
	unlink(in_path);
	unlink(out_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-runtime-config-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(in_path, sizeof(in_path), "%s/in.json", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.json", dir);
	atexit(cleanup);
	return 0;
}

static bool same(const struct shim_runtime_options *a, const struct shim_runtime_options *b)
{
	if (strcmp(a->binary_name, b->binary_name) || strcmp(a->root, b->root) ||
	    a->systemd_cgroup != b->systemd_cgroup || a->nglobal_args != b->nglobal_args)
		return false;
	for (size_t i = 0; i < a->nglobal_args; i++)
		if (strcmp(a->global_args[i], b->global_args[i]))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(in_path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	struct shim_runtime_options opts, again;
	struct shim_error err = { 0 };
	if (shim_runtime_config_load(in_path, &opts, &err)) {
		if (err.code != TTRPC_CODE_INVALID_ARGUMENT || !strstr(err.msg, in_path))
			__builtin_trap(); /* errors name the file */
		return 0;
	}
	if (opts.nglobal_args > SHIM_RUNTIME_GLOBAL_ARGS_MAX || (opts.root[0] && opts.root[0] != '/'))
		__builtin_trap();
	for (size_t i = 0; i < opts.nglobal_args; i++)
		if (!opts.global_args[i][0])
			__builtin_trap();
	if (shim_runtime_config_save(out_path, &opts, &err) || shim_runtime_config_load(out_path, &again, &err) ||
	    !same(&opts, &again))
		__builtin_trap();
	return 0;
}
