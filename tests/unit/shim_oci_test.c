/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/oci.h"

static char bundle[64];

static void setup(void)
{
	strcpy(bundle, "/tmp/shim-oci-XXXXXX");
	cr_assert_not_null(mkdtemp(bundle));
}

static void teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	unlink(path);
	rmdir(bundle);
}

TestSuite(shim_oci, .init = setup, .fini = teardown, .timeout = 30);

static void write_config(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(shim_oci, reads_what_the_shim_needs)
{
	struct shim_oci_config cfg;
	struct shim_error err;

	write_config("{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},"
		     "\"args\":[\"/bin/sh\",\"-c\",\"echo hi; exit 3\"],\"cwd\":\"/\"},"
		     "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"linux\":{\"cgroupsPath\":\"/default/c1\","
		     "\"namespaces\":[{\"type\":\"pid\"}]},\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"sb\","
		     "\"x\":\"caf\\u00e9\"}}");
	cr_assert_eq(shim_oci_config_load(bundle, &cfg, &err), 0, "%s", err.msg);
	cr_expect(cfg.has_process);
	cr_expect(cfg.process.terminal);
	cr_assert_eq(cfg.process.nargs, 3);
	cr_expect_str_eq(cfg.process.args[0], "/bin/sh");
	cr_expect_str_eq(cfg.process.args[2], "echo hi; exit 3");
	cr_expect_null(cfg.process.args[3]);
	cr_expect_str_eq(cfg.root_path, "rootfs");
	cr_expect(cfg.root_readonly);
	cr_expect_str_eq(cfg.cgroups_path, "/default/c1");
	cr_expect_eq(cfg.nannotations, 2);
	cr_expect_str_eq(shim_oci_annotation(&cfg, "io.kubernetes.cri.sandbox-id"), "sb");
	cr_expect_str_eq(shim_oci_annotation(&cfg, "x"), "caf\xc3\xa9");
	cr_expect_null(shim_oci_annotation(&cfg, "y"));
	shim_oci_config_free(&cfg);
	shim_oci_config_free(&cfg); /* idempotent */
}

Test(shim_oci, optional_parts_may_be_missing)
{
	struct shim_oci_config cfg;
	struct shim_error err;

	write_config("{\"ociVersion\":\"1.0.2\", \"annotations\": null}");
	cr_assert_eq(shim_oci_config_load(bundle, &cfg, &err), 0, "%s", err.msg);
	cr_expect_not(cfg.has_process);
	cr_expect_null(cfg.root_path);
	cr_expect_null(cfg.cgroups_path);
	cr_expect_eq(cfg.nannotations, 0);
	shim_oci_config_free(&cfg);
}

Test(shim_oci, missing_file_names_the_path)
{
	struct shim_oci_config cfg;
	struct shim_error err;
	char expected[128];

	cr_expect_eq(shim_oci_config_load(bundle, &cfg, &err), -ENOENT);
	cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	snprintf(expected, sizeof(expected), "open %s/config.json: No such file or directory", bundle);
	cr_expect_str_eq(err.msg, expected);
	cr_expect_eq(shim_oci_config_load("", &cfg, &err), -EINVAL);
}

Test(shim_oci, bad_json_and_wrong_types_are_invalid_argument)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"process\": {\"args\": [\"a\",]}}", "invalid JSON at line 1 column" },
		{ "", "invalid JSON" },
		{ "[1,2]", "the document must be a JSON object" },
		{ "{\"process\": {\"args\": \"/bin/sh\"}}", "process.args must be an array of strings" },
		{ "{\"process\": {\"args\": [\"a\", 1]}}", "process.args must be an array of strings" },
		{ "{\"process\": {\"terminal\": \"yes\"}}", "process.terminal must be a boolean" },
		{ "{\"process\": 3}", "process must be an object" },
		{ "{\"root\": {\"path\": 7}}", "root.path must be a string" },
		{ "{\"linux\": {\"cgroupsPath\": []}}", "linux.cgroupsPath must be a string" },
		{ "{\"annotations\": {\"a\": \"b\", \"c\": 1}}", "annotation \"c\" must be a string" },
		{ "{\"annotations\": []}", "annotations must be an object of strings" },
		{ "{\"a\": 1, \"a\": 2}", "invalid JSON" },
		{ "{\"annotations\": {\"a\": \"x\\u0000y\"}}", "invalid JSON" },
	};
	struct shim_oci_config cfg;
	struct shim_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_config(cases[i].json);
		shim_error_clear(&err);
		cr_expect_eq(shim_oci_config_load(bundle, &cfg, &err), -EINVAL, "accepted %s", cases[i].json);
		cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
		cr_expect(strstr(err.msg, cases[i].want) != NULL, "%s: %s", cases[i].json, err.msg);
		cr_expect(strstr(err.msg, "/config.json: ") != NULL, "%s", err.msg);
		cr_expect_eq(cfg.nannotations, 0);
	}
}

Test(shim_oci, exec_process_spec)
{
	const char *spec = "{\"args\":[\"ls\",\"-l\"],\"terminal\":false,\"cwd\":\"/\"}";
	struct shim_oci_process proc;
	struct shim_error err;

	cr_assert_eq(shim_oci_process_parse(spec, strlen(spec), "exec e1", &proc, &err), 0, "%s", err.msg);
	cr_expect_eq(proc.nargs, 2);
	cr_expect_str_eq(proc.args[1], "-l");
	cr_expect_not(proc.terminal);
	shim_oci_process_free(&proc);
	cr_expect_eq(shim_oci_process_parse("{", 1, "exec e1", &proc, &err), -EINVAL);
	cr_expect(strncmp(err.msg, "exec e1: invalid JSON", 21) == 0, "%s", err.msg);
}
