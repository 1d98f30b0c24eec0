/* SPDX-License-Identifier: Apache-2.0 */
/* Golden files: the generator's output for tests/codegen/proto/golden must
 * equal tests/codegen/golden byte for byte (regenerate with the
 * codegen-update-golden target, see update-golden.sh). Also the plugin's
 * answers to bad input. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/ttrpc-golden-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(golden, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

/* Run a shell command; returns its exit status and its combined output in out. */
static int run(const char *cmd, char *out, size_t out_size)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int status;

	cr_assert_not_null(p, "popen %s", cmd);
	while (n + 1 < out_size) {
		size_t got = fread(out + n, 1, out_size - n - 1, p);

		if (!got)
			break;
		n += got;
	}
	out[n] = '\0';
	while (fgetc(p) != EOF) /* drain what did not fit */
		;
	status = pclose(p);
	cr_assert(WIFEXITED(status), "%s did not exit", cmd);
	return WEXITSTATUS(status);
}

Test(golden, output_matches_golden_files)
{
	static char out[65536];
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "PROTOC='%s' TTRPC_PROTOBUF_INCLUDE='%s' '%s/update-golden.sh' '%s' '%s' 2>&1",
		 CG_PROTOC, CG_WKT, CG_SOURCE_DIR, CG_PLUGIN, tmp);
	rc = run(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "generating failed:\n%s", out);
	snprintf(cmd, sizeof(cmd), "diff -ruN '%s/golden' '%s' 2>&1", CG_SOURCE_DIR, tmp);
	rc = run(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0,
		     "generated output differs from tests/codegen/golden (if intended, run "
		     "`cmake --build BUILD --target codegen-update-golden` and commit):\n%s",
		     out);
}

Test(golden, golden_set_is_complete)
{
	static const char *const files[] = {
		"protobuf-c/acme/storage/v1beta2/store.ttrpc-c.h",
		"protobuf-c/acme/storage/v1beta2/store.ttrpc-c.c",
		"protobuf-c/mangle.ttrpc-c.h",
		"protobuf-c/mangle.ttrpc-c.c",
		"nanopb/acme/storage/v1beta2/store.ttrpc-c.h",
		"nanopb/acme/storage/v1beta2/store.ttrpc-c.c",
		"nanopb/mangle.ttrpc-c.h",
		"nanopb/mangle.ttrpc-c.c",
	};
	char path[1024];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/golden/%s", CG_SOURCE_DIR, files[i]);
		cr_assert_eq(access(path, R_OK), 0, "missing golden file %s", path);
	}
	/* types.proto has no service: no output for it. */
	snprintf(path, sizeof(path), "%s/golden/protobuf-c/acme/common", CG_SOURCE_DIR);
	cr_assert_neq(access(path, F_OK), 0, "%s should not exist", path);
}

/* Run protoc with our plugin on one file with a parameter string. */
static int plugin(const char *dir, const char *file, const char *param, char *out, size_t out_size)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s/proto/%s' && '%s' -I. -I'%s' --plugin=protoc-gen-ttrpc-c='%s' --ttrpc-c_out=%s%s'%s' %s 2>&1",
		 CG_SOURCE_DIR, dir, CG_PROTOC, CG_WKT, CG_PLUGIN, param, *param ? ":" : "", tmp, file);
	return run(cmd, out, out_size);
}

Test(golden, no_service_no_output)
{
	char out[4096];
	char cmd[256];

	cr_assert_eq(plugin("golden", "acme/common/types.proto", "", out, sizeof(out)), 0, "%s", out);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", tmp);
	cr_assert_eq(system(cmd), 0, "expected no files for a proto without services");
}

Test(golden, unknown_option_is_an_error)
{
	char out[4096];

	cr_assert_neq(plugin("golden", "acme/storage/v1beta2/store.proto", "colour=blue", out, sizeof(out)), 0);
	cr_assert(strstr(out, "unknown option 'colour'") != NULL, "protoc said: %s", out);
}

Test(golden, unknown_backend_is_an_error)
{
	char out[4096];

	cr_assert_neq(plugin("golden", "acme/storage/v1beta2/store.proto", "backend=upb", out, sizeof(out)), 0);
	cr_assert(strstr(out, "unknown backend 'upb'") != NULL, "protoc said: %s", out);
	cr_assert_neq(plugin("golden", "acme/storage/v1beta2/store.proto", "backend", out, sizeof(out)), 0);
	cr_assert(strstr(out, "needs a value") != NULL, "protoc said: %s", out);
}

Test(golden, colliding_names_are_an_error)
{
	char out[4096];

	cr_assert_neq(plugin("errors", "collide.proto", "", out, sizeof(out)), 0);
	cr_assert(strstr(out, "COLLIDE_S_METHOD_GET_X") != NULL && strstr(out, "defined twice") != NULL,
		  "protoc said: %s", out);
}

Test(golden, explicit_default_backend_matches_golden)
{
	char out[4096];
	char cmd[1024];

	cr_assert_eq(plugin("golden", "acme/storage/v1beta2/store.proto", "backend=protobuf-c", out, sizeof(out)), 0,
		     "%s", out);
	snprintf(cmd, sizeof(cmd), "diff -ru '%s/golden/protobuf-c/acme' '%s/acme' 2>&1", CG_SOURCE_DIR, tmp);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
}

Test(golden, refuses_to_run_outside_protoc)
{
	char out[4096];
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "'%s' --help 2>&1 </dev/null", CG_PLUGIN);
	cr_assert_eq(run(cmd, out, sizeof(out)), 2);
	cr_assert(strstr(out, "protoc plugin") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "printf 'garbage' | '%s' 2>&1", CG_PLUGIN);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1);
	cr_assert(strstr(out, "cannot decode") != NULL, "%s", out);
}
