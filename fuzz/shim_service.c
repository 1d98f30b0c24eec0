/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/service.c"

#include "runtimeoptions/v1/api.pb-c.h"
#include "shim/options.h"
#include "shim_service.h"

static const struct {
	const char *name, *text;
} runtime_files[] = {
	{ "crun.json", "{\"binary_name\": \"crun\", \"root\": \"/run/crun\", \"systemd_cgroup\": false,\n"
		       " \"global_args\": [\"--cgroup-manager=disabled\"]}\n" },
	{ "systemd.json", "{\"systemd_cgroup\": true}\n" },
	{ "relative-root.json", "{\"root\": \"run/x\"}\n" },
	{ "unknown-key.json", "{\"binary\": \"runc\"}\n" },
	{ "not-json.json", "{\"root\": \n" },
};

void fuzz_runtime_files_init(void)
{
	char path[256], tmp[300];
	mkdir(FUZZ_RUNTIME_DIR, 0755);
	for (size_t i = 0; i < sizeof(runtime_files) / sizeof(runtime_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", FUZZ_RUNTIME_DIR, runtime_files[i].name);
		snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f)
			continue;
		fputs(runtime_files[i].text, f);
		if (fclose(f) == 0)
			rename(tmp, path);
		unlink(tmp);
	}
}

static bool safe_config_path(const Google__Protobuf__Any *any)
{
	if (!any || !any->type_url || !shim_any_is(any, "runtimeoptions.v1.Options"))
		return true;
	Runtimeoptions__V1__Options *o = runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
	if (!o)
		return true;
	const char *p = o->config_path ? o->config_path : "";
	bool ok = !*p || (!strncmp(p, FUZZ_RUNTIME_DIR "/", strlen(FUZZ_RUNTIME_DIR "/")) && !strstr(p, ".."));
	runtimeoptions__v1__options__free_unpacked(o, NULL);
	return ok;
}

bool fuzz_runtime_options(const Google__Protobuf__Any *any, struct shim_runtime_options *opts, int *rc,
			  struct shim_error *err)
{
	if (!safe_config_path(any))
		return false;
	*rc = shim_runtime_options_from_any(any, opts, err);
	return true;
}
