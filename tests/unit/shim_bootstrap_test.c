/* SPDX-License-Identifier: Apache-2.0 */
/* shim/bootstrap.c: what `start` reads (legacy options, 2.3+'s BootstrapParams)
 * and answers (plain address, JSON, binary BootstrapResult), and the daemon
 * version learned from `<publish-binary> --version` with fake binaries. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runc/v1/options.pb-c.h"
#include <ev.h>

#include "containerd/runtime/bootstrap/v1/bootstrap.pb-c.h"
#include "containerd/services/version/v1/version.ttrpc-c.h"
#include "google/protobuf/any.pb-c.h"
#include "shim/bootstrap.h"
#include "ttrpc/grpc.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/shim-bootstrap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(shim_bootstrap, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	cr_assert_not_null(buf);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* A packed Any of containerd.runc.v1.Options{binary_name = name}. */
static uint8_t *runc_options_any(const char *type_url, const char *name, size_t *len)
{
	Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
	o.binary_name = (char *)name;
	size_t olen;
	uint8_t *ov = pack(&o.base, &olen);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)type_url;
	any.value.data = ov;
	any.value.len = olen;
	uint8_t *out = pack(&any.base, len);
	free(ov);
	return out;
}

static const char *options_binary_name(const struct shim_bootstrap *b)
{
	static char name[64];
	cr_assert_not_null(b->options);
	Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, b->options_len, b->options);
	cr_assert_not_null(any);
	Containerd__Runc__V1__Options *o = containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
	cr_assert_not_null(o);
	snprintf(name, sizeof(name), "%s", o->binary_name);
	containerd__runc__v1__options__free_unpacked(o, NULL);
	google__protobuf__any__free_unpacked(any, NULL);
	return name;
}

Test(shim_bootstrap, empty_stdin_by_generation)
{
	struct shim_bootstrap b;
	struct shim_error err = { 0 };

	cr_assert_eq(shim_bootstrap_read(NULL, 0, "c1", "default", NULL, &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_PLAIN);
	cr_assert_null(b.options);
	shim_bootstrap_free(&b);

	cr_assert_eq(shim_bootstrap_read(NULL, 0, "c1", "default", "", &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_PLAIN, "an empty MAX_SHIM_VERSION is 1.6's world");
	shim_bootstrap_free(&b);

	cr_assert_eq(shim_bootstrap_read(NULL, 0, "c1", "default", "2", &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_JSON);
	cr_assert_null(b.options);
	shim_bootstrap_free(&b);
}

/* An Any is field 1 string + field 2 bytes: it decodes as a BootstrapParams
 * with instance_id = type_url and namespace = value. Only the identity check
 * tells them apart. */
Test(shim_bootstrap, legacy_options_are_not_taken_for_params)
{
	size_t len;
	uint8_t *in = runc_options_any("containerd.runc.v1.Options", "crun", &len);
	Containerd__Runtime__Bootstrap__V1__BootstrapParams *p =
		containerd__runtime__bootstrap__v1__bootstrap_params__unpack(NULL, len, in);
	cr_assert_not_null(p, "the premise: legacy options parse as BootstrapParams");
	cr_assert_str_eq(p->instance_id, "containerd.runc.v1.Options");
	containerd__runtime__bootstrap__v1__bootstrap_params__free_unpacked(p, NULL);

	struct shim_bootstrap b;
	struct shim_error err = { 0 };
	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "default", "2", &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_JSON);
	cr_assert_eq(b.options_len, len);
	cr_assert_eq(memcmp(b.options, in, len), 0, "legacy options are kept byte for byte");
	cr_assert_str_eq(options_binary_name(&b), "crun");
	shim_bootstrap_free(&b);

	/* even when the id happens to equal the type URL, the namespace differs */
	cr_assert_eq(shim_bootstrap_read(in, len, "containerd.runc.v1.Options", "default", NULL, &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_PLAIN);
	shim_bootstrap_free(&b);
	free(in);
}

static uint8_t *params(const char *id, const char *ns, int log_level, const char *socket_dir,
		       Google__Protobuf__Any **exts, size_t nexts, size_t *len)
{
	Containerd__Runtime__Bootstrap__V1__BootstrapParams p =
		CONTAINERD__RUNTIME__BOOTSTRAP__V1__BOOTSTRAP_PARAMS__INIT;
	Containerd__Runtime__Bootstrap__V1__Extension e[4];
	Containerd__Runtime__Bootstrap__V1__Extension *ep[4];
	cr_assert_leq(nexts, 4);
	for (size_t i = 0; i < nexts; i++) {
		containerd__runtime__bootstrap__v1__extension__init(&e[i]);
		e[i].value = exts[i];
		ep[i] = &e[i];
	}
	p.instance_id = (char *)id;
	p.namespace_ = (char *)ns;
	p.log_level = log_level;
	p.containerd_version = "v2.3.0";
	p.containerd_ttrpc_address = "/run/containerd/containerd.sock.ttrpc";
	p.containerd_grpc_address = "/run/containerd/containerd.sock";
	p.containerd_binary = "/usr/bin/containerd";
	p.socket_dir = (char *)(socket_dir ? socket_dir : "");
	p.n_extensions = nexts;
	p.extensions = ep;
	return pack(&p.base, len);
}

Test(shim_bootstrap, params_trusted)
{
	size_t olen, len;
	uint8_t *opt = runc_options_any("containerd.runc.v1.Options", "crun", &olen);
	Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, olen, opt);
	Google__Protobuf__Any other = GOOGLE__PROTOBUF__ANY__INIT;
	other.type_url = "containerd.io/cri.v1.PodSandboxConfig";
	Google__Protobuf__Any *exts[] = { &other, any };
	uint8_t *in = params("c1", "k8s.io", CONTAINERD__RUNTIME__BOOTSTRAP__V1__LOG_LEVEL__LOG_LEVEL_DEBUG,
			     "/run/containerd/s", exts, 2, &len);

	struct shim_bootstrap b;
	struct shim_error err = { 0 };
	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "k8s.io", "2", &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_BINARY, "2.3 sets MAX_SHIM_VERSION too: the params win");
	cr_assert(b.debug);
	cr_assert_str_eq(b.socket_dir, "/run/containerd/s");
	cr_assert_str_eq(b.containerd_version, "v2.3.0");
	cr_assert_str_eq(options_binary_name(&b), "crun", "the options extension, not the first one");
	shim_bootstrap_free(&b);
	free(in);

	/* INFO: not debug; no socket_dir: the default; no extension: no options */
	in = params("c1", "k8s.io", 0, NULL, NULL, 0, &len);
	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "k8s.io", NULL, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_BINARY);
	cr_assert_not(b.debug);
	cr_assert_str_eq(b.socket_dir, "");
	cr_assert_null(b.options);
	shim_bootstrap_free(&b);
	free(in);

	/* TRACE is more verbose than DEBUG */
	in = params("c1", "k8s.io", CONTAINERD__RUNTIME__BOOTSTRAP__V1__LOG_LEVEL__LOG_LEVEL_TRACE, NULL, NULL, 0,
		    &len);
	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "k8s.io", NULL, &b, &err), 0, "%s", err.msg);
	cr_assert(b.debug);
	shim_bootstrap_free(&b);
	free(in);
	google__protobuf__any__free_unpacked(any, NULL);
	free(opt);
}

Test(shim_bootstrap, params_of_someone_else)
{
	size_t len;
	uint8_t *in = params("c2", "k8s.io", 0, "/run/containerd/s", NULL, 0, &len);
	struct shim_bootstrap b;
	struct shim_error err = { 0 };

	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "k8s.io", "2", &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_JSON, "another id: legacy bytes");
	cr_assert_str_eq(b.socket_dir, "");
	cr_assert_eq(b.options_len, len);
	shim_bootstrap_free(&b);

	cr_assert_eq(shim_bootstrap_read(in, len, "c2", "default", NULL, &b, &err), 0);
	cr_assert_eq(b.format, SHIM_BOOTSTRAP_PLAIN, "another namespace: legacy bytes");
	shim_bootstrap_free(&b);
	free(in);
}

Test(shim_bootstrap, bad_socket_dir)
{
	size_t len;
	struct shim_bootstrap b;
	struct shim_error err = { 0 };
	uint8_t *in = params("c1", "default", 0, "run/s", NULL, 0, &len);

	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "default", NULL, &b, &err), -EINVAL);
	cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert(strstr(err.msg, "run/s"), "%s", err.msg);
	free(in);

	char *longdir = malloc(PATH_MAX + 2);
	longdir[0] = '/';
	memset(longdir + 1, 'a', PATH_MAX);
	longdir[PATH_MAX + 1] = '\0';
	in = params("c1", "default", 0, longdir, NULL, 0, &len);
	cr_assert_eq(shim_bootstrap_read(in, len, "c1", "default", NULL, &b, &err), -EINVAL);
	cr_assert(strstr(err.msg, "too long"), "%s", err.msg);
	free(in);
	free(longdir);
}

Test(shim_bootstrap, parse_daemon_version)
{
	int ma = -1, mi = -1;

	cr_assert_eq(shim_bootstrap_parse_daemon_version(
			     "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1\n", &ma, &mi),
		     0);
	cr_assert(ma == 1 && mi == 6);
	cr_assert_eq(
		shim_bootstrap_parse_daemon_version(
			"containerd github.com/containerd/containerd/v2 v2.1.3 c787fb98911740dd3ff2d0e45ce88cdf01410486\n",
			&ma, &mi),
		0);
	cr_assert(ma == 2 && mi == 1);
	cr_assert_eq(shim_bootstrap_parse_daemon_version("v2.0.0-rc.1", &ma, &mi), 0);
	cr_assert(ma == 2 && mi == 0);
	cr_assert_eq(shim_bootstrap_parse_daemon_version("containerd github.com/containerd/containerd v1.7.27 x", &ma,
							 &mi),
		     0);
	cr_assert(ma == 1 && mi == 7);
	cr_assert_eq(shim_bootstrap_parse_daemon_version("", &ma, &mi), -EINVAL);
	cr_assert_eq(shim_bootstrap_parse_daemon_version("containerd dev", &ma, &mi), -EINVAL);
	cr_assert_eq(shim_bootstrap_parse_daemon_version("containerd v2 v.1", &ma, &mi), -EINVAL);
	cr_assert_eq(shim_bootstrap_parse_daemon_version(NULL, &ma, &mi), -EINVAL);
}

Test(shim_bootstrap, json_version)
{
	/* Task v3 and the Sandbox API are served: 2.0+ gets 3 */
	int want2 = 3;
	cr_assert_eq(SHIM_BOOTSTRAP_MAX_VERSION, 3);
	cr_assert_eq(shim_bootstrap_json_version(-1), 2, "unknown daemon: 2");
	cr_assert_eq(shim_bootstrap_json_version(1), 2, "1.7 rejects more than 2");
	cr_assert_eq(shim_bootstrap_json_version(2), want2);
	cr_assert_eq(shim_bootstrap_json_version(3), want2);
}

static const char *fake_binary(const char *name, const char *body)
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

Test(shim_bootstrap, daemon_version_from_binary)
{
	int ma = -1, mi = -1;
	const char *bin = fake_binary("containerd",
				      "[ \"$1\" = --version ] || exit 3\n"
				      "echo 'containerd github.com/containerd/containerd/v2 v2.2.1 0123456789abcdef'");
	cr_assert_eq(shim_bootstrap_daemon_version(bin, 5000, &ma, &mi), 0);
	cr_assert(ma == 2 && mi == 2, "%d.%d", ma, mi);

	bin = fake_binary("failing", "echo 'containerd v2.1.0'; exit 1");
	cr_assert_eq(shim_bootstrap_daemon_version(bin, 5000, &ma, &mi), -EINVAL, "a failing binary: in doubt");
	bin = fake_binary("garbage", "echo 'no idea'");
	cr_assert_eq(shim_bootstrap_daemon_version(bin, 5000, &ma, &mi), -EINVAL);
	/* much output: read to the end, the version is on the first line */
	bin = fake_binary("chatty", "echo 'containerd x v1.7.2 r'; i=0; while [ $i -lt 200 ]; do "
				    "echo 'filler filler filler filler filler'; i=$((i+1)); done");
	cr_assert_eq(shim_bootstrap_daemon_version(bin, 5000, &ma, &mi), 0);
	cr_assert(ma == 1 && mi == 7);
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nothing-here", dir);
	cr_assert_eq(shim_bootstrap_daemon_version(missing, 5000, &ma, &mi), -EINVAL);
	cr_assert_eq(shim_bootstrap_daemon_version("", 5000, &ma, &mi), -EINVAL);
}

Test(shim_bootstrap, daemon_version_is_bounded)
{
	int ma = -1, mi = -1;
	/* exec so the shell itself is the sleeper that gets the SIGKILL */
	const char *bin = fake_binary("hang", "exec sleep 30");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(shim_bootstrap_daemon_version(bin, 300, &ma, &mi), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_lt(s, 5.0, "took %.2f s", s);
}

Test(shim_bootstrap, answers)
{
	const char *addr = "unix:///run/containerd/s/0123abcd";
	struct shim_bootstrap b = { .format = SHIM_BOOTSTRAP_PLAIN };
	struct shim_error err = { 0 };
	uint8_t *out;
	size_t len;

	cr_assert_eq(shim_bootstrap_answer(&b, 2, addr, &out, &len, &err), 0);
	cr_assert_eq(len, strlen(addr));
	cr_assert_eq(memcmp(out, addr, len), 0);
	free(out);

	b.format = SHIM_BOOTSTRAP_JSON;
	cr_assert_eq(shim_bootstrap_answer(&b, 2, addr, &out, &len, &err), 0);
	const char *want = "{\"version\":2,\"address\":\"unix:///run/containerd/s/0123abcd\",\"protocol\":\"ttrpc\"}";
	cr_assert_eq(len, strlen(want));
	cr_assert_eq(memcmp(out, want, len), 0, "%.*s", (int)len, out);
	free(out);

	b.format = SHIM_BOOTSTRAP_BINARY;
	cr_assert_eq(shim_bootstrap_answer(&b, 3, "unix:///s/ab", &out, &len, &err), 0);
	/* version = 1 (int32), address = 2, protocol = 3, by hand */
	static const uint8_t bytes[] = { 0x08, 0x03, 0x12, 0x0c, 'u',  'n',  'i', 'x', ':', '/', '/', '/',
					 's',  '/',  'a',  'b',	 0x1a, 0x05, 't', 't', 'r', 'p', 'c' };
	cr_assert_eq(len, sizeof(bytes));
	cr_assert_eq(memcmp(out, bytes, len), 0);
	free(out);
}

/* ---- the daemon's version over gRPC: a fake containerd Version service ---- */

static void on_version(ttrpc_call *call, const Google__Protobuf__Empty *req, void *user)
{
	(void)req;
	if (!user)
		return; /* never answers: the caller's bound must hold */
	Containerd__Services__Version__V1__VersionResponse resp =
		CONTAINERD__SERVICES__VERSION__V1__VERSION_RESPONSE__INIT;
	resp.version = user;
	resp.revision = "0123456789abcdef";
	containerd_services_version_v1_version_version_respond(call, &resp);
}

/* A child serving containerd.services.version.v1.Version over gRPC on path,
 * answering version (NULL: never); stopped with SIGKILL by the caller. */
static pid_t version_server(const char *path, const char *version)
{
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		ttrpc_server *srv = loop ? ttrpc_server_new(loop) : NULL;
		static const struct containerd_services_version_v1_version_handlers h = { .version = on_version };
		static struct containerd_services_version_v1_version_service svc;
		svc.handlers = &h;
		svc.user = (void *)version;
		char target[160];
		snprintf(target, sizeof(target), "unix:%s", path);
		if (!srv || containerd_services_version_v1_version_register(srv, &svc) ||
		    ttrpc_server_listen_grpc(srv, target, NULL))
			_exit(1);
		if (write(ready[1], "y", 1) != 1)
			_exit(1);
		ev_run(loop, 0);
		_exit(0);
	}
	close(ready[1]);
	char c = 0;
	cr_assert_eq(read(ready[0], &c, 1), 1, "the fake containerd did not start");
	close(ready[0]);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(shim_bootstrap, daemon_version_over_grpc)
{
	char path[128], uri[140];
	snprintf(path, sizeof(path), "%s/containerd.sock", dir);
	snprintf(uri, sizeof(uri), "unix://%s", path);
	int ma = -1, mi = -1;
	pid_t srv = version_server(path, "v2.1.0");
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(path, 2000, &ma, &mi), 0);
	cr_assert(ma == 2 && mi == 1, "%d.%d", ma, mi);
	ma = mi = -1;
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(uri, 2000, &ma, &mi), 0, "unix:// address");
	cr_assert(ma == 2 && mi == 1, "%d.%d", ma, mi);
	stop_server(srv);

	srv = version_server(path, "1.7.27");
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(path, 2000, &ma, &mi), 0);
	cr_assert(ma == 1 && mi == 7, "%d.%d", ma, mi);
	stop_server(srv);

	srv = version_server(path, "dev");
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(path, 2000, &ma, &mi), -EINVAL, "no version: in doubt");
	stop_server(srv);

	unlink(path);
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(path, 2000, &ma, &mi), -ECONNREFUSED, "nobody there");
	cr_assert_eq(shim_bootstrap_daemon_version_grpc("", 2000, &ma, &mi), -EINVAL);
}

Test(shim_bootstrap, daemon_version_over_grpc_is_bounded)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/containerd.sock", dir);
	pid_t srv = version_server(path, NULL);
	int ma = -1, mi = -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(shim_bootstrap_daemon_version_grpc(path, 300, &ma, &mi), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stop_server(srv);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_lt(s, 2.0, "took %.2f s", s);
	cr_assert_geq(s, 0.25, "answered before the bound: %.2f s", s);
}
