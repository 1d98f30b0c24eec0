/* SPDX-License-Identifier: Apache-2.0 */
/* The shim binary's `start` as each containerd generation runs it: 1.6 (no
 * MAX_SHIM_VERSION, plain address), 1.7-2.2 (MAX_SHIM_VERSION=2, JSON) and
 * 2.3+ (BootstrapParams on stdin, binary BootstrapResult). The daemon `start`
 * leaves behind is stopped by its pid (the bundle's shim.pid). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runc/v1/options.pb-c.h"
#include "containerd/runtime/bootstrap/v1/bootstrap.pb-c.h"
#include "google/protobuf/any.pb-c.h"

static char dir[64];
static char bundle[128];
static char daemon_address[128];

static void setup(void)
{
	strcpy(dir, "/tmp/shim-start-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	cr_assert_eq(mkdir(bundle, 0700), 0);
	char path[192];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"}}",
	      f);
	fclose(f);
	/* the socket name hashes containerd's address: a fresh one per test */
	snprintf(daemon_address, sizeof(daemon_address), "%s/containerd.sock", dir);
}

static pid_t read_pid(void)
{
	char path[192];
	snprintf(path, sizeof(path), "%s/shim.pid", bundle);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		int pid = 0;
		if (f) {
			int n = fscanf(f, "%d", &pid);
			fclose(f);
			if (n == 1 && pid > 0)
				return pid;
		}
		usleep(10000);
	}
	return -1;
}

/* Stop the serving daemon by its pid: SIGTERM (it removes its socket), then
 * SIGKILL if it lingers. */
static void stop_daemon(void)
{
	pid_t pid = read_pid();
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
		usleep(10000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

static void teardown(void)
{
	stop_daemon();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(shim_start, .init = setup, .fini = teardown, .timeout = 60);

struct run {
	int status;
	uint8_t out[4096];
	size_t len;
};

/* Run `shim -namespace NS -address A -publish-binary P -id ID start` in the
 * bundle with stdin = in and MAX_SHIM_VERSION = max (NULL: unset). */
static void run_start(const char *id, const char *ns, const char *max, const uint8_t *in, size_t in_len, struct run *r)
{
	char in_path[192], out_path[192];
	snprintf(in_path, sizeof(in_path), "%s/stdin", dir);
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	FILE *f = fopen(in_path, "w");
	cr_assert_not_null(f);
	if (in_len)
		cr_assert_eq(fwrite(in, 1, in_len, f), in_len);
	fclose(f);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ifd = open(in_path, O_RDONLY);
		int ofd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (ifd < 0 || ofd < 0 || dup2(ifd, 0) < 0 || dup2(ofd, 1) < 0 || dup2(ofd, 2) < 0 ||
		    chdir(bundle) != 0)
			_exit(120);
		unsetenv("TTRPC_ADDRESS");
		if (max)
			setenv("MAX_SHIM_VERSION", max, 1);
		else
			unsetenv("MAX_SHIM_VERSION");
		execl(SHIM_BINARY, SHIM_BINARY, "-namespace", ns, "-address", daemon_address, "-publish-binary",
		      "/bin/false", "-id", id, "start", (char *)NULL);
		_exit(121);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(out_path, "r");
	cr_assert_not_null(f);
	r->len = fread(r->out, 1, sizeof(r->out) - 1, f);
	r->out[r->len] = '\0';
	fclose(f);
}

static void expect_address_file(const char *address)
{
	char path[192], buf[256] = "";
	snprintf(path, sizeof(path), "%s/address", bundle);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert_str_eq(buf, address);
}

static void expect_socket(const char *address)
{
	struct stat st;
	cr_assert_eq(strncmp(address, "unix:///", 8), 0, "%s", address);
	cr_assert_eq(stat(address + 7, &st), 0, "%s: %s", address + 7, strerror(errno));
	cr_assert(S_ISSOCK(st.st_mode));
}

Test(shim_start, containerd_1_6_plain_address)
{
	struct run r;
	run_start("c1", "default", NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 0, "%s", (char *)r.out);
	cr_assert_eq(strncmp((char *)r.out, "unix:///run/containerd/s/", 25), 0, "%s", (char *)r.out);
	cr_assert_eq(strlen((char *)r.out), 25 + 64, "no newline, nothing else: %s", (char *)r.out);
	expect_address_file((char *)r.out);
	expect_socket((char *)r.out);
}

static uint8_t *runc_options_any(size_t *len)
{
	Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
	o.binary_name = "runc";
	uint8_t ov[64];
	size_t olen = containerd__runc__v1__options__pack(&o, ov);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = "containerd.runc.v1.Options";
	any.value.data = ov;
	any.value.len = olen;
	*len = google__protobuf__any__get_packed_size(&any);
	uint8_t *out = malloc(*len);
	google__protobuf__any__pack(&any, out);
	return out;
}

Test(shim_start, containerd_1_7_to_2_2_json)
{
	size_t len;
	uint8_t *opts = runc_options_any(&len);
	struct run r;
	run_start("c1", "default", "2", opts, len, &r);
	free(opts);
	cr_assert_eq(r.status, 0, "%s", (char *)r.out);
	json_error_t jerr;
	json_t *o = json_loads((char *)r.out, 0, &jerr);
	cr_assert_not_null(o, "not JSON: %s", (char *)r.out);
	/* publish-binary /bin/false: the daemon's version is unknown, so 2 */
	cr_assert_eq(json_integer_value(json_object_get(o, "version")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(o, "protocol")), "ttrpc");
	const char *address = json_string_value(json_object_get(o, "address"));
	cr_assert_not_null(address);
	cr_assert_eq(strncmp(address, "unix:///run/containerd/s/", 25), 0, "%s", address);
	expect_address_file(address);
	expect_socket(address);
	json_decref(o);
}

static uint8_t *params(const char *id, const char *ns, const char *socket_dir, size_t *len)
{
	size_t olen;
	uint8_t *opts = runc_options_any(&olen);
	Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, olen, opts);
	Containerd__Runtime__Bootstrap__V1__Extension ext = CONTAINERD__RUNTIME__BOOTSTRAP__V1__EXTENSION__INIT;
	Containerd__Runtime__Bootstrap__V1__Extension *exts[] = { &ext };
	ext.value = any;
	Containerd__Runtime__Bootstrap__V1__BootstrapParams p =
		CONTAINERD__RUNTIME__BOOTSTRAP__V1__BOOTSTRAP_PARAMS__INIT;
	p.instance_id = (char *)id;
	p.namespace_ = (char *)ns;
	p.containerd_version = "v2.3.0";
	p.containerd_binary = "/bin/false";
	p.socket_dir = (char *)socket_dir;
	p.n_extensions = 1;
	p.extensions = exts;
	*len = containerd__runtime__bootstrap__v1__bootstrap_params__get_packed_size(&p);
	uint8_t *out = malloc(*len);
	containerd__runtime__bootstrap__v1__bootstrap_params__pack(&p, out);
	google__protobuf__any__free_unpacked(any, NULL);
	free(opts);
	return out;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

Test(shim_start, containerd_2_3_binary)
{
	char sockdir[128];
	snprintf(sockdir, sizeof(sockdir), "%s/s", dir);
	size_t len;
	uint8_t *in = params("c1", "k8s.io", sockdir, &len);
	struct run r;
	run_start("c1", "k8s.io", "2", in, len, &r);
	cr_assert_eq(r.status, 0, "%s", (char *)r.out);
	cr_assert_gt(r.len, 0);
	cr_assert_not(is_space(r.out[0]) || is_space(r.out[r.len - 1]), "containerd 2.3.0 trims whitespace");
	Containerd__Runtime__Bootstrap__V1__BootstrapResult *res =
		containerd__runtime__bootstrap__v1__bootstrap_result__unpack(NULL, r.len, r.out);
	cr_assert_not_null(res, "not a BootstrapResult: %s", (char *)r.out);
	/* Task v3 and the Sandbox API are served: 2.3+ gets version 3 */
	cr_assert_eq(res->version, 3, "%d", res->version);
	cr_assert_str_eq(res->protocol, "ttrpc");
	char want[160];
	snprintf(want, sizeof(want), "unix://%s/", sockdir);
	cr_assert_eq(strncmp(res->address, want, strlen(want)), 0, "socket_dir honoured: %s", res->address);
	expect_address_file(res->address);
	expect_socket(res->address);

	/* a second start for the same group finds the serving shim */
	struct run again;
	run_start("c1", "k8s.io", "2", in, len, &again);
	cr_assert_eq(again.status, 0, "%s", (char *)again.out);
	Containerd__Runtime__Bootstrap__V1__BootstrapResult *res2 =
		containerd__runtime__bootstrap__v1__bootstrap_result__unpack(NULL, again.len, again.out);
	cr_assert_not_null(res2);
	cr_assert_str_eq(res2->address, res->address);
	containerd__runtime__bootstrap__v1__bootstrap_result__free_unpacked(res2, NULL);
	containerd__runtime__bootstrap__v1__bootstrap_result__free_unpacked(res, NULL);
	free(in);
}

/* Params for another instance are legacy options bytes: with 2.x's
 * MAX_SHIM_VERSION the answer is JSON and socket_dir is not used. */
Test(shim_start, untrusted_params_are_options)
{
	char sockdir[128];
	snprintf(sockdir, sizeof(sockdir), "%s/s", dir);
	size_t len;
	uint8_t *in = params("other", "k8s.io", sockdir, &len);
	struct run r;
	run_start("c1", "k8s.io", "2", in, len, &r);
	free(in);
	cr_assert_eq(r.status, 0, "%s", (char *)r.out);
	json_t *o = json_loads((char *)r.out, 0, NULL);
	cr_assert_not_null(o, "not JSON: %s", (char *)r.out);
	const char *address = json_string_value(json_object_get(o, "address"));
	cr_assert_eq(strncmp(address, "unix:///run/containerd/s/", 25), 0, "%s", address);
	json_decref(o);
}

Test(shim_start, bad_socket_dir_fails)
{
	size_t len;
	uint8_t *in = params("c1", "k8s.io", "relative/dir", &len);
	struct run r;
	run_start("c1", "k8s.io", "2", in, len, &r);
	free(in);
	cr_assert_neq(r.status, 0);
	cr_assert(strstr((char *)r.out, "relative/dir"), "%s", (char *)r.out);
}

/* containerd 1.7+'s shim sandbox controller starts the sandbox's shim on a
 * bundle without config.json: its group is its id. Under 1.6 (no
 * MAX_SHIM_VERSION) a missing config.json stays an error naming it. */
Test(shim_start, sandbox_bundle_without_config)
{
	char path[192];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	cr_assert_eq(unlink(path), 0);
	struct run r;
	run_start("sb1", "k8s.io", NULL, NULL, 0, &r);
	cr_assert_neq(r.status, 0, "1.6: %s", (char *)r.out);
	cr_assert(strstr((char *)r.out, "config.json"), "%s", (char *)r.out);
	snprintf(path, sizeof(path), "%s/address", bundle);
	cr_assert_neq(access(path, F_OK), 0, "1.6: no address written");

	run_start("sb1", "k8s.io", "2", NULL, 0, &r);
	cr_assert_eq(r.status, 0, "%s", (char *)r.out);
	json_error_t e;
	json_t *o = json_loads((char *)r.out, 0, &e);
	cr_assert_not_null(o, "%s", (char *)r.out);
	const char *address = json_string_value(json_object_get(o, "address"));
	cr_assert_not_null(address);
	expect_address_file(address);
	expect_socket(address);
	json_decref(o);
}
