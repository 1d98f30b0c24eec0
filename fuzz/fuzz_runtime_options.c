/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: CreateTaskRequest.options as the shim decodes it
 * (service.c's runtime_options: containerd.runc.v1.Options or
 * runtimeoptions.v1.Options naming a runtime-config file), then the runtime
 * command lines built from the result (runtime.c). Input: an encoded
 * google.protobuf.Any. */
#include <stdint.h>
#include <string.h>

#include "shim_service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_runtime_files_init();
	return 0;
}

static void check_argv(const struct shim_argv *a, const char *command, const char *id)
{
	if (a->n == 0 || a->n >= SHIM_ARGV_MAX || a->v[a->n] || strcmp(a->v[a->n - 1], id) ||
	    strcmp(a->command, command))
		__builtin_trap();
	for (size_t i = 0; i < a->n; i++)
		if (!a->v[i])
			__builtin_trap();
}

static void command_lines(const struct shim_runtime_options *opts)
{
	struct shim_runtime rt;
	struct shim_error err = { 0 };
	/* bare names are looked up in the system's directories (runc, crun) */
	if (shim_runtime_init(&rt, opts, "default", FUZZ_RUNTIME_DIR "/bundle", "/usr/sbin:/usr/bin", NULL, &err))
		return;
	if (rt.binary[0] != '/' || rt.nglobal_args > SHIM_RUNTIME_GLOBAL_ARGS_MAX)
		__builtin_trap();
	struct shim_argv a;
	shim_runtime_argv_create(&rt, &a, "c1", "/b", "/b/init.pid", "/b/console.sock");
	check_argv(&a, "create", "c1");
	shim_runtime_argv_exec(&rt, &a, "c1", "/b/process.json", "/b/exec.pid", "/b/console.sock");
	check_argv(&a, "exec", "c1");
	shim_runtime_argv_kill(&rt, &a, "c1", 9, true);
	check_argv(&a, "kill", "9");
	shim_runtime_argv_update(&rt, &a, "c1");
	check_argv(&a, "update", "c1");
	shim_runtime_release(&rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, size, data);
	if (!any)
		return 0;
	struct shim_runtime_options opts;
	struct shim_error err = { 0 };
	int rc;
	if (fuzz_runtime_options(any, &opts, &rc, &err)) {
		if (rc == 0) {
			if (strnlen(opts.binary_name, sizeof(opts.binary_name)) == sizeof(opts.binary_name) ||
			    strnlen(opts.root, sizeof(opts.root)) == sizeof(opts.root) ||
			    opts.nglobal_args > SHIM_RUNTIME_GLOBAL_ARGS_MAX)
				__builtin_trap();
			command_lines(&opts);
		} else if (err.code == TTRPC_CODE_OK || !err.msg[0]) {
			__builtin_trap(); /* a failure must say why */
		}
	}
	google__protobuf__any__free_unpacked(any, NULL);
	return 0;
}
