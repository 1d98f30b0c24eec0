/* SPDX-License-Identifier: Apache-2.0 */
/* shim/info.c and the binary's -info: the RuntimeInfo containerd 2.x reads
 * (name, version, options echoed, the OCI runtime's features in an Any), with
 * fake runtimes: features JSON, no `features` command (crun 1.8 here), output
 * that is not JSON, a runtime that hangs (bounded), no runtime at all. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runc/v1/options.pb-c.h"
#include "containerd/types/introspection.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "shim/info.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/shim-info-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(shim_info, .init = setup, .fini = teardown, .timeout = 60);

static const char *fake_runtime(const char *name, const char *body)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
	return path;
}

/* A packed Any of containerd.runc.v1.Options{binary_name, root}. */
static uint8_t *options_any(const char *type_url, const char *binary, size_t *len)
{
	Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
	o.binary_name = (char *)binary;
	o.root = "/run/x";
	uint8_t ov[512];
	size_t olen = containerd__runc__v1__options__pack(&o, ov);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)type_url;
	any.value.data = ov;
	any.value.len = olen;
	*len = google__protobuf__any__get_packed_size(&any);
	uint8_t *out = malloc(*len);
	cr_assert_not_null(out);
	google__protobuf__any__pack(&any, out);
	return out;
}

static Containerd__Types__RuntimeInfo *info_for(const char *binary, int timeout_ms, char *warning, size_t wsize)
{
	size_t in_len, out_len;
	uint8_t *in = options_any("containerd.runc.v1.Options", binary, &in_len), *out = NULL;
	struct shim_error err = { 0 };
	cr_assert_eq(shim_info(in, in_len, "/nonexistent", timeout_ms, &out, &out_len, warning, wsize, &err), 0, "%s",
		     err.msg);
	free(in);
	Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, out_len, out);
	free(out);
	cr_assert_not_null(info);
	return info;
}

static void check_options_echoed(const Containerd__Types__RuntimeInfo *info, const char *binary)
{
	cr_assert_not_null(info->options);
	cr_assert_str_eq(info->options->type_url, "containerd.runc.v1.Options");
	Containerd__Runc__V1__Options *o =
		containerd__runc__v1__options__unpack(NULL, info->options->value.len, info->options->value.data);
	cr_assert_not_null(o);
	cr_assert_str_eq(o->binary_name, binary);
	cr_assert_str_eq(o->root, "/run/x");
	containerd__runc__v1__options__free_unpacked(o, NULL);
}

Test(shim_info, features_of_the_runtime)
{
	const char *rt = fake_runtime("runc",
				      "[ \"$1\" = features ] || exit 3\n"
				      "printf '{\\n  \"ociVersionMin\": \"1.0.0\",\\n  \"ociVersionMax\": "
				      "\"1.1.0\",\\n  \"hooks\": [\"prestart\"],\\n  \"linux\": {\"namespaces\": "
				      "[\"user\", \"net\"]}\\n}\\n'");
	char warning[600] = "x";
	Containerd__Types__RuntimeInfo *info = info_for(rt, 5000, warning, sizeof(warning));
	cr_assert_str_eq(warning, "");
	cr_assert_str_eq(info->name, "io.containerd.tiny.v2");
	cr_assert_not_null(info->version);
	cr_assert_str_eq(info->version->version, "0.1.0");
	check_options_echoed(info, rt);
	cr_assert_not_null(info->features);
	cr_assert_str_eq(info->features->type_url,
			 "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
	char json[512];
	snprintf(json, sizeof(json), "%.*s", (int)info->features->value.len, (const char *)info->features->value.data);
	cr_assert_str_eq(json, "{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.1.0\",\"hooks\":[\"prestart\"],"
			       "\"linux\":{\"namespaces\":[\"user\",\"net\"]}}");
	cr_assert_eq(info->n_annotations, 0);
	containerd__types__runtime_info__free_unpacked(info, NULL);
}

Test(shim_info, runtime_without_features)
{
	/* crun 1.8.1's answer, on stderr, exit 1 */
	const char *rt = fake_runtime("crun", "echo 'unknown command features' >&2; exit 1");
	char warning[600] = "";
	Containerd__Types__RuntimeInfo *info = info_for(rt, 5000, warning, sizeof(warning));
	cr_assert_null(info->features);
	cr_assert_str_eq(info->name, "io.containerd.tiny.v2");
	check_options_echoed(info, rt);
	cr_assert(strstr(warning, "no OCI runtime features") && strstr(warning, rt) &&
			  strstr(warning, "unknown command features"),
		  "%s", warning);
	containerd__types__runtime_info__free_unpacked(info, NULL);

	rt = fake_runtime("garbage", "echo 'features: none'");
	info = info_for(rt, 5000, warning, sizeof(warning));
	cr_assert_null(info->features);
	cr_assert(strstr(warning, "not a JSON object"), "%s", warning);
	containerd__types__runtime_info__free_unpacked(info, NULL);

	rt = fake_runtime("array", "echo '[1, 2]'");
	info = info_for(rt, 5000, warning, sizeof(warning));
	cr_assert_null(info->features);
	cr_assert(strstr(warning, "not a JSON object"), "%s", warning);
	containerd__types__runtime_info__free_unpacked(info, NULL);
}

Test(shim_info, features_are_bounded_in_time)
{
	const char *rt = fake_runtime("hang", "exec sleep 30");
	char warning[600] = "";
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	Containerd__Types__RuntimeInfo *info = info_for(rt, 300, warning, sizeof(warning));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_lt(s, 5.0, "took %.2f s", s);
	cr_assert_null(info->features);
	cr_assert(strstr(warning, "timed out"), "%s", warning);
	containerd__types__runtime_info__free_unpacked(info, NULL);
}

Test(shim_info, errors)
{
	struct shim_error err = { 0 };
	uint8_t *out = NULL;
	size_t out_len = 0, len;
	char warning[600];
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/no-runtime", dir);
	uint8_t *in = options_any("containerd.runc.v1.Options", missing, &len);
	cr_assert_lt(shim_info(in, len, "/nonexistent", 5000, &out, &out_len, warning, sizeof(warning), &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_FAILED_PRECONDITION, "%s", err.msg);
	cr_assert_null(out);
	free(in);

	shim_error_clear(&err);
	in = options_any("example.com/other.Options", "runc", &len);
	cr_assert_eq(shim_info(in, len, "/nonexistent", 5000, &out, &out_len, warning, sizeof(warning), &err), -EINVAL);
	cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert(strstr(err.msg, "other.Options"), "%s", err.msg);
	free(in);

	shim_error_clear(&err);
	const uint8_t junk[] = { 0xff, 0xff, 0xff };
	cr_assert_eq(shim_info(junk, sizeof(junk), "/nonexistent", 5000, &out, &out_len, warning, sizeof(warning),
			       &err),
		     -EINVAL);
	cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert_null(out);

	/* no options: the default runtime, runc, searched in PATH */
	shim_error_clear(&err);
	fake_runtime("runc", "echo '{}'");
	cr_assert_eq(shim_info(NULL, 0, dir, 5000, &out, &out_len, warning, sizeof(warning), &err), 0, "%s", err.msg);
	Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, out_len, out);
	cr_assert_not_null(info);
	cr_assert_null(info->options, "no options read, none echoed");
	cr_assert_not_null(info->features);
	cr_assert_eq(info->features->value.len, 2);
	containerd__types__runtime_info__free_unpacked(info, NULL);
	free(out);
}

/* The binary: `-info` with the options on stdin writes only the RuntimeInfo
 * on stdout; the warning goes to stderr. */
Test(shim_info, binary)
{
	const char *rt = fake_runtime("crun", "echo 'unknown command features' >&2; exit 1");
	size_t len;
	uint8_t *in = options_any("containerd.runc.v1.Options", rt, &len);
	char in_path[128], out_path[128], err_path[128], cmd[512];
	snprintf(in_path, sizeof(in_path), "%s/in", dir);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	FILE *f = fopen(in_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(in, 1, len, f), len);
	fclose(f);
	free(in);
	snprintf(cmd, sizeof(cmd), "'%s' -info < '%s' > '%s' 2> '%s'", SHIM_BINARY, in_path, out_path, err_path);
	int st = system(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	uint8_t buf[4096];
	f = fopen(out_path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, n, buf);
	cr_assert_not_null(info, "stdout is a RuntimeInfo and nothing else");
	cr_assert_str_eq(info->name, "io.containerd.tiny.v2");
	check_options_echoed(info, rt);
	cr_assert_null(info->features);
	containerd__types__runtime_info__free_unpacked(info, NULL);
	f = fopen(err_path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert(strstr((char *)buf, "unknown command features"), "%s", buf);

	/* a missing runtime fails -info, with the reason */
	snprintf(cmd, sizeof(cmd), "printf '' | PATH=/nonexistent '%s' -info > '%s' 2> '%s'", SHIM_BINARY, out_path,
		 err_path);
	st = system(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	f = fopen(err_path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert(strstr((char *)buf, "info: ") && strstr((char *)buf, "runc"), "%s", buf);
}
