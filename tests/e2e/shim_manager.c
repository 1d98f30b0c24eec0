/* SPDX-License-Identifier: Apache-2.0 */
/* shim-manager: plays containerd's shim manager and shim sandbox controller
 * against containerd-shim-tiny-v2, with no containerd, for the generations
 * that cannot run here (Debian ships 1.6):
 *
 *   shim-manager MODE SHIM DIR NAMESPACE ADDRESS PUBLISH_BINARY ROOTFS
 *
 * MODE   binary  containerd 2.3+: BootstrapParams on stdin, BootstrapResult back
 *                (version 3: Task v3 + Sandbox API)
 *        json3   containerd 2.0-2.2: MAX_SHIM_VERSION=2, JSON back; the daemon says
 *                v2.1.0 over gRPC while PUBLISH_BINARY (Debian's 1.6) says 1.6:
 *                version 3 shows the daemon itself was asked (Task v3 + Sandbox API)
 *        json2   containerd 1.7: the daemon says v1.7.27: JSON with version 2;
 *                Task v2 + Sandbox API (1.7's experimental sandbox controller)
 *        plain   containerd 1.6: the plain address; Task v2, no Sandbox API
 *        errors  (2.3+ bootstrap) what the Sandbox API refuses: every method of
 *                an unknown sandbox, bad CreateSandbox requests, a second
 *                sandbox or StartSandbox; a pending WaitSandbox answered
 *                UNAVAILABLE when the shim is told to exit (SIGTERM), the
 *                sandbox's process gone with it; a sandbox stopped before it
 *                started (WaitSandbox at once, Start/Metrics refused)
 * SHIM   the shim binary; DIR a scratch directory (bundles, outputs); ADDRESS
 *        where this program plays containerd (a child serving Version over
 *        gRPC there and Events/Forward over ttrpc at ADDRESS.ttrpc, noting
 *        every event); ROOTFS a busybox rootfs shared read-only by the
 *        containers.
 *
 * What runs, over one connection:
 *   start for the sandbox (a bundle without config.json, as containerd 2.x's
 *   sandbox controller makes it); CreateSandbox with a network namespace of
 *   ours; StartSandbox (pid, created_at; the pid holds that netns and its own
 *   ipc/uts namespaces); CreateSandbox's options are CRI's PodSandboxConfig
 *   with cgroup_parent /<ns>/pods: the sandbox's process is in /<ns>/pods/sb in
 *   every hierarchy; WaitSandbox left pending; Platform; SandboxStatus;
 *   PingSandbox (ours and someone else's); start for container c1 of the
 *   sandbox returns the same address (c2 has no start: containerd 2.1+ reuses
 *   the sandbox's endpoint); Task Create/Start/Wait/Delete/Shutdown of c1
 *   (prints its ipc/uts/net namespaces: the sandbox's) and c2 (exit 5); the
 *   shim stays after their Task Shutdown; SandboxMetrics (of the pod's cgroup:
 *   one process in it); StopSandbox, and the pending WaitSandbox answers 137,
 *   the pod's cgroup is gone in every hierarchy; SandboxStatus NOTREADY; ShutdownSandbox
 *   ends the shim; every container's create/start/exit/delete event reached
 *   containerd in our namespace; `delete` for each id answers a DeleteResponse.
 * Exit status 0 when everything held, 1 with the reason on stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <ttrpc/grpc.h>
#include <ttrpc/server.h>

#include "containerd/runtime/bootstrap/v1/bootstrap.pb-c.h"
#include "containerd/runtime/sandbox/v1/sandbox.ttrpc-c.h"
#include "containerd/services/events/ttrpc/v1/events.ttrpc-c.h"
#include "containerd/services/version/v1/version.ttrpc-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h" /* DeleteResponse of the delete action */
#include "containerd/task/v3/shim.ttrpc-c.h"
#include "io/containerd/cgroups/v1/metrics.pb-c.h"
#include "io/containerd/cgroups/v2/metrics.pb-c.h"
#include "runtime/v1/api.pb-c.h" /* CRI's PodSandboxConfig, CreateSandbox's options */

#define CALL_TIMEOUT_NS 10000000000LL

static const char *mode, *shim, *dir, *ns, *address, *publish, *rootfs;
static bool v3, sandbox_api;
static pid_t netns_holder = -1, fake_containerd = -1;

static void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

static void cleanup(void)
{
	stop_child(&netns_holder);
	stop_child(&fake_containerd);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "shim-manager %s: ", mode);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("shim-manager %s: ", mode);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ok(int code, const struct ttrpc_result *st, const char *what)
{
	if (code != TTRPC_CODE_OK)
		die("%s: %s: %s", what, ttrpc_code_name(code), st->message ? st->message : "");
}

/* ---- containerd, as far as the shim reaches it ---- */

/* Version over gRPC at ADDRESS (what the shim asks to choose the bootstrap
 * version of 1.7-2.2) and Events/Forward over ttrpc at ADDRESS.ttrpc (what
 * it publishes), each event noted in DIR/events as "namespace topic". */
static const char *daemon_version(void)
{
	if (!strcmp(mode, "json2"))
		return "v1.7.27";
	if (!strcmp(mode, "plain"))
		return "1.6.20~ds1";
	return !strcmp(mode, "binary") ? "v2.3.0" : "v2.1.0";
}

static void on_version(ttrpc_call *call, const Google__Protobuf__Empty *req, void *user)
{
	(void)req;
	(void)user;
	Containerd__Services__Version__V1__VersionResponse resp =
		CONTAINERD__SERVICES__VERSION__V1__VERSION_RESPONSE__INIT;
	resp.version = (char *)daemon_version();
	resp.revision = "0123456789abcdef";
	containerd_services_version_v1_version_version_respond(call, &resp);
}

static FILE *events_log;

static void on_forward(ttrpc_call *call, const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req, void *user)
{
	(void)user;
	const char *md_ns = ttrpc_md_get(ttrpc_call_metadata(call), "containerd-namespace-ttrpc");
	if (req->envelope)
		fprintf(events_log, "%s %s %s\n", md_ns ? md_ns : "-", req->envelope->namespace_, req->envelope->topic);
	fflush(events_log);
	Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
	containerd_services_events_ttrpc_v1_events_forward_respond(call, &e);
}

static void start_fake_containerd(void)
{
	int ready[2];
	if (pipe(ready))
		die("pipe: %s", strerror(errno));
	fake_containerd = fork();
	if (fake_containerd < 0)
		die("fork: %s", strerror(errno));
	if (fake_containerd == 0) {
		close(ready[0]);
		char path[600], target[620];
		snprintf(path, sizeof(path), "%s/events", dir);
		events_log = fopen(path, "a");
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		ttrpc_server *srv = loop ? ttrpc_server_new(loop) : NULL;
		static const struct containerd_services_version_v1_version_handlers vh = { .version = on_version };
		static const struct containerd_services_events_ttrpc_v1_events_handlers eh = { .forward = on_forward };
		static struct containerd_services_version_v1_version_service vs = { .handlers = &vh };
		static struct containerd_services_events_ttrpc_v1_events_service es = { .handlers = &eh };
		snprintf(target, sizeof(target), "unix:%s", address);
		snprintf(path, sizeof(path), "%s.ttrpc", address);
		if (!events_log || !srv || containerd_services_version_v1_version_register(srv, &vs) ||
		    containerd_services_events_ttrpc_v1_events_register(srv, &es) ||
		    ttrpc_server_listen_grpc(srv, target, NULL) || ttrpc_server_listen(srv, path))
			_exit(1);
		if (write(ready[1], "y", 1) != 1)
			_exit(1);
		ev_run(loop, 0);
		_exit(0);
	}
	close(ready[1]);
	char c = 0;
	if (read(ready[0], &c, 1) != 1)
		die("the fake containerd did not start");
	close(ready[0]);
}

/* Every container's create, start, exit and delete reached "containerd",
 * in our namespace (metadata and envelope). */
static void expect_events(int containers)
{
	char path[600], line[512], want[256];
	snprintf(path, sizeof(path), "%s/events", dir);
	const char *topics[] = { "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete" };
	for (size_t t = 0; t < 4; t++) {
		int n = 0;
		snprintf(want, sizeof(want), "%s %s %s\n", ns, ns, topics[t]);
		for (int i = 0; i < 300 && n < containers; i++) {
			FILE *f = fopen(path, "r");
			n = 0;
			while (f && fgets(line, sizeof(line), f))
				n += !strcmp(line, want);
			if (f)
				fclose(f);
			if (n < containers)
				usleep(10000);
		}
		if (n < containers)
			die("%d %s events of namespace %s reached containerd, want %d", n, topics[t], ns, containers);
	}
	step("events: create, start, exit, delete of %d containers", containers);
}

/* ---- start / delete: the shim binary as containerd runs it ---- */

struct run_out {
	uint8_t buf[8192];
	size_t len;
	int status;
};

/* Run SHIM with the manager's flags, -id id, the action, cwd bundle; stdin
 * input; stdout and stderr together (as containerd reads start's output)
 * unless split, then stdout only; bounded at 20 s. */
static void run_shim(const char *id, const char *bundle, const char *action, const uint8_t *input, size_t input_len,
		     struct run_out *out)
{
	int in[2], o[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(bundle) || dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0)
			_exit(126);
		if (!strcmp(action, "start") && dup2(o[1], 2) < 0)
			_exit(126);
		char ttrpc[512];
		snprintf(ttrpc, sizeof(ttrpc), "%s.ttrpc", address);
		setenv("TTRPC_ADDRESS", ttrpc, 1);
		if (strcmp(mode, "plain") != 0) { /* 1.7+ */
			setenv("GRPC_ADDRESS", address, 1);
			setenv("NAMESPACE", ns, 1);
			setenv("MAX_SHIM_VERSION", "2", 1);
		}
		execl(shim, shim, "-namespace", ns, "-address", address, "-publish-binary", publish, "-id", id,
		      "-bundle", bundle, action, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	if (input_len && write(in[1], input, input_len) != (ssize_t)input_len)
		die("%s %s: write stdin: %s", action, id, strerror(errno));
	close(in[1]);
	out->len = 0;
	double deadline = now_s() + 20;
	for (;;) {
		struct pollfd p = { .fd = o[0], .events = POLLIN };
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			die("%s %s: no EOF on its output after 20 s (the daemon kept the pipe?)", action, id);
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(o[0], out->buf + out->len, sizeof(out->buf) - out->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out->len += (size_t)n;
		if (out->len == sizeof(out->buf))
			die("%s %s: too much output", action, id);
	}
	close(o[0]);
	if (waitpid(pid, &out->status, 0) != pid)
		die("waitpid: %s", strerror(errno));
}

/* `start` for id: the address it answers, in the mode's format. */
static void start(const char *id, const char *bundle, char *addr, size_t addr_size)
{
	uint8_t *params = NULL;
	size_t params_len = 0;
	if (!strcmp(mode, "binary") || !strcmp(mode, "errors")) {
		Containerd__Runtime__Bootstrap__V1__BootstrapParams p =
			CONTAINERD__RUNTIME__BOOTSTRAP__V1__BOOTSTRAP_PARAMS__INIT;
		char ttrpc[512];
		snprintf(ttrpc, sizeof(ttrpc), "%s.ttrpc", address);
		p.instance_id = (char *)id;
		p.namespace_ = (char *)ns;
		p.containerd_version = "v2.3.0";
		p.containerd_ttrpc_address = ttrpc;
		p.containerd_grpc_address = (char *)address;
		p.containerd_binary = (char *)publish;
		p.socket_dir = "/run/containerd/s";
		params_len = containerd__runtime__bootstrap__v1__bootstrap_params__get_packed_size(&p);
		params = malloc(params_len);
		if (!params)
			die("out of memory");
		containerd__runtime__bootstrap__v1__bootstrap_params__pack(&p, params);
	}
	struct run_out out;
	run_shim(id, bundle, "start", params, params_len, &out);
	free(params);
	if (!WIFEXITED(out.status) || WEXITSTATUS(out.status) != 0)
		die("start %s: status %d: %.*s", id, out.status, (int)out.len, (const char *)out.buf);
	int version = 2;
	const char *protocol = "ttrpc";
	char text[sizeof(out.buf) + 1];
	memcpy(text, out.buf, out.len);
	text[out.len] = '\0';
	json_t *j = NULL;
	if (!strcmp(mode, "binary") || !strcmp(mode, "errors")) {
		/* containerd 2.3.0 trims whitespace before decoding */
		if (out.len == 0 || strchr(" \t\r\n\v\f", out.buf[0]) || strchr(" \t\r\n\v\f", out.buf[out.len - 1]))
			die("start %s: a BootstrapResult must neither begin nor end with whitespace", id);
		Containerd__Runtime__Bootstrap__V1__BootstrapResult *r =
			containerd__runtime__bootstrap__v1__bootstrap_result__unpack(NULL, out.len, out.buf);
		if (!r)
			die("start %s: output is not a BootstrapResult: %s", id, text);
		version = r->version;
		snprintf(addr, addr_size, "%s", r->address);
		protocol = strcmp(r->protocol, "ttrpc") ? "other" : "ttrpc";
		containerd__runtime__bootstrap__v1__bootstrap_result__free_unpacked(r, NULL);
	} else if (!strcmp(mode, "plain")) {
		if (strncmp(text, "unix://", 7) || strpbrk(text, " \n{"))
			die("start %s: not a plain address: '%s'", id, text);
		if (strlen(text) >= addr_size)
			die("start %s: address too long", id);
		memcpy(addr, text, strlen(text) + 1);
	} else {
		json_error_t e;
		j = json_loads(text, 0, &e);
		if (!j || !json_is_integer(json_object_get(j, "version")) ||
		    !json_is_string(json_object_get(j, "address")) || !json_is_string(json_object_get(j, "protocol")))
			die("start %s: not the JSON bootstrap: '%s'", id, text);
		version = (int)json_integer_value(json_object_get(j, "version"));
		snprintf(addr, addr_size, "%s", json_string_value(json_object_get(j, "address")));
		protocol = strcmp(json_string_value(json_object_get(j, "protocol")), "ttrpc") ? "other" : "ttrpc";
	}
	json_decref(j);
	int want = v3 ? 3 : 2;
	if (version != want)
		die("start %s: version %d, want %d", id, version, want);
	if (strcmp(protocol, "ttrpc"))
		die("start %s: protocol is not ttrpc", id);
	if (strncmp(addr, "unix:///run/containerd/s/", 25))
		die("start %s: address %s", id, addr);
	step("start %s: version %d address %s", id, version, addr);
}

static void delete_action(const char *id, const char *bundle)
{
	struct run_out out;
	run_shim(id, bundle, "delete", NULL, 0, &out);
	if (!WIFEXITED(out.status) || WEXITSTATUS(out.status) != 0)
		die("delete %s: status %d", id, out.status);
	Containerd__Task__V2__DeleteResponse *r = containerd__task__v2__delete_response__unpack(NULL, out.len, out.buf);
	if (!r || !r->exited_at)
		die("delete %s: stdout is not a DeleteResponse with exited_at", id);
	containerd__task__v2__delete_response__free_unpacked(r, NULL);
	step("delete %s: DeleteResponse", id);
}

/* ---- bundles ---- */

static void ns_link(pid_t pid, const char *which, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, which);
	ssize_t n = readlink(path, out, size - 1);
	if (n < 0)
		die("readlink %s: %s", path, strerror(errno));
	out[n] = '\0';
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("write %s: %s", path, strerror(errno));
}

/* A container of the sandbox: its namespaces are the sandbox process's
 * (holder > 0), as CRI writes them from StartSandbox's pid. */
static void container_bundle(const char *id, const char *type, pid_t holder, const char *script, char *bundle,
			     size_t size)
{
	snprintf(bundle, size, "%s/%s", dir, id);
	if (mkdir(bundle, 0711) && errno != EEXIST)
		die("mkdir %s: %s", bundle, strerror(errno));
	char joined[512] = "";
	if (holder > 0)
		snprintf(
			joined, sizeof(joined),
			",{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"},{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"},"
			"{\"type\":\"uts\",\"path\":\"/proc/%d/ns/uts\"}",
			(int)holder, (int)holder, (int)holder);
	else
		snprintf(joined, sizeof(joined), ",{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}");
	json_t *args = json_pack("[sss]", "/bin/sh", "-c", script);
	char *args_s = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	char config[4096];
	snprintf(config, sizeof(config),
		 "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":%s,"
		 "\"env\":[\"PATH=/bin\"],\"cwd\":\"/\",\"noNewPrivileges\":true},"
		 "\"root\":{\"path\":\"%s\",\"readonly\":true},\"hostname\":\"\","
		 "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
		 "\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"sb\",\"io.kubernetes.cri.container-type\":"
		 "\"%s\"},"
		 "\"linux\":{\"cgroupsPath\":\"/%s/%s\",\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}%s]}}",
		 args_s, rootfs, type, ns, id, joined);
	free(args_s);
	char path[600];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	write_file(path, config);
	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	if (mkdir(path, 0711) && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

/* A network namespace of ours, held by a child, like CRI's pod netns. */
static void make_netns(char *path, size_t size)
{
	int p[2];
	if (pipe(p))
		die("pipe: %s", strerror(errno));
	netns_holder = fork();
	if (netns_holder < 0)
		die("fork: %s", strerror(errno));
	if (netns_holder == 0) {
		close(p[0]);
		char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c = 0;
	if (read(p[0], &c, 1) != 1 || c != 'y')
		die("unshare(CLONE_NEWNET) failed");
	close(p[0]);
	snprintf(path, size, "/proc/%d/ns/net", (int)netns_holder);
}

/* ---- calls ---- */

static ttrpc_client *client;
static const struct ttrpc_call_opts opts = { .timeout_ns = CALL_TIMEOUT_NS };

struct wait_result {
	bool done;
	int code;
	uint32_t exit_status;
	double exited_at;
};

static double ts_s(const Google__Protobuf__Timestamp *ts)
{
	return ts ? (double)ts->seconds + (double)ts->nanos / 1e9 : 0;
}

static void on_wait_sandbox(const struct ttrpc_result *st,
			    const Containerd__Runtime__Sandbox__V1__WaitSandboxResponse *resp, void *user)
{
	struct wait_result *w = user;
	w->done = true;
	w->code = st->code;
	if (resp) {
		w->exit_status = resp->exit_status;
		w->exited_at = ts_s(resp->exited_at);
	}
}

/* Task calls go to containerd.task.v3.Task or, for a version 2 shim,
 * containerd.task.v2.Task with the same bytes: the v3 messages are the v2
 * ones under a new package name, so one set of messages serves both. */
static const char *task_service(void)
{
	return v3 ? CONTAINERD_TASK_V3_TASK_SERVICE : CONTAINERD_TASK_V2_TASK_SERVICE;
}

/* A blocking Task call: req packed, the answer unpacked as resp_d (NULL for
 * Empty). Returns the code; *resp owned by the caller. */
static int task_call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_d,
		     ProtobufCMessage **resp, struct ttrpc_result *st)
{
	uint8_t buf[4096];
	size_t n = protobuf_c_message_get_packed_size(req);
	if (n > sizeof(buf))
		die("%s: request too large", method);
	protobuf_c_message_pack(req, buf);
	int code = ttrpc_client_call_sync(client, task_service(), method, buf, n, &opts, st);
	if (resp)
		*resp = NULL;
	if (code == TTRPC_CODE_OK && resp_d) {
		*resp = protobuf_c_message_unpack(resp_d, NULL, st->len, st->payload);
		if (!*resp)
			die("%s: undecodable answer", method);
	}
	return code;
}

static void on_task_wait(const struct ttrpc_result *st, void *user)
{
	struct wait_result *w = user;
	w->done = true;
	w->code = st->code;
	Containerd__Task__V3__WaitResponse *resp =
		st->code == TTRPC_CODE_OK ? containerd__task__v3__wait_response__unpack(NULL, st->len, st->payload) :
					    NULL;
	if (resp) {
		w->exit_status = resp->exit_status;
		w->exited_at = ts_s(resp->exited_at);
		containerd__task__v3__wait_response__free_unpacked(resp, NULL);
	}
}

/* Run the client's loop until w is answered, at most timeout_s. */
static void await(struct wait_result *w, double timeout_s, const char *what)
{
	double deadline = now_s() + timeout_s;
	while (!w->done) {
		if (now_s() > deadline)
			die("%s: no answer in %.0f s", what, timeout_s);
		ev_run(ttrpc_client_loop(client), EVRUN_ONCE | EVRUN_NOWAIT);
		usleep(2000);
	}
	if (w->code != TTRPC_CODE_OK)
		die("%s: %s", what, ttrpc_code_name(w->code));
}

static uint32_t task_create(const char *id, const char *bundle, const char *out_path)
{
	Containerd__Task__V3__CreateTaskRequest req = CONTAINERD__TASK__V3__CREATE_TASK_REQUEST__INIT;
	req.id = (char *)id;
	req.bundle = (char *)bundle;
	req.stdout = (char *)out_path;
	struct ttrpc_result st = { 0 };
	ProtobufCMessage *resp;
	ok(task_call("Create", &req.base, &containerd__task__v3__create_task_response__descriptor, &resp, &st), &st,
	   "Task Create");
	ttrpc_result_clear(&st);
	uint32_t pid = ((Containerd__Task__V3__CreateTaskResponse *)resp)->pid;
	protobuf_c_message_free_unpacked(resp, NULL);
	if (!pid)
		die("Task Create %s: pid 0", id);
	return pid;
}

static void task_start(const char *id)
{
	Containerd__Task__V3__StartRequest req = CONTAINERD__TASK__V3__START_REQUEST__INIT;
	req.id = (char *)id;
	struct ttrpc_result st = { 0 };
	ProtobufCMessage *resp;
	ok(task_call("Start", &req.base, &containerd__task__v3__start_response__descriptor, &resp, &st), &st,
	   "Task Start");
	ttrpc_result_clear(&st);
	protobuf_c_message_free_unpacked(resp, NULL);
}

static void task_wait(const char *id, struct wait_result *w)
{
	memset(w, 0, sizeof(*w));
	Containerd__Task__V3__WaitRequest req = CONTAINERD__TASK__V3__WAIT_REQUEST__INIT;
	req.id = (char *)id;
	uint8_t buf[512];
	size_t n = containerd__task__v3__wait_request__pack(&req, buf);
	int rc = ttrpc_client_call(client, task_service(), "Wait", buf, n, NULL, on_task_wait, w);
	if (rc)
		die("Task Wait %s: %s", id, ttrpc_strerror(rc));
}

static uint32_t task_delete(const char *id)
{
	Containerd__Task__V3__DeleteRequest req = CONTAINERD__TASK__V3__DELETE_REQUEST__INIT;
	req.id = (char *)id;
	struct ttrpc_result st = { 0 };
	ProtobufCMessage *resp;
	ok(task_call("Delete", &req.base, &containerd__task__v3__delete_response__descriptor, &resp, &st), &st,
	   "Task Delete");
	ttrpc_result_clear(&st);
	uint32_t status = ((Containerd__Task__V3__DeleteResponse *)resp)->exit_status;
	protobuf_c_message_free_unpacked(resp, NULL);
	return status;
}

static void task_kill(const char *id, int signal)
{
	Containerd__Task__V3__KillRequest req = CONTAINERD__TASK__V3__KILL_REQUEST__INIT;
	req.id = (char *)id;
	req.signal = (uint32_t)signal;
	struct ttrpc_result st = { 0 };
	ok(task_call("Kill", &req.base, NULL, NULL, &st), &st, "Task Kill");
	ttrpc_result_clear(&st);
}

static void task_shutdown(const char *id)
{
	Containerd__Task__V3__ShutdownRequest req = CONTAINERD__TASK__V3__SHUTDOWN_REQUEST__INIT;
	req.id = (char *)id;
	struct ttrpc_result st = { 0 };
	int code = task_call("Shutdown", &req.base, NULL, NULL, &st);
	/* containerd takes the connection closing as success */
	if (code != TTRPC_CODE_UNAVAILABLE)
		ok(code, &st, "Task Shutdown");
	ttrpc_result_clear(&st);
}

/* The serving shim's pid: it writes shim.pid in its bundle once it runs,
 * which may be just after start has answered. */
static pid_t shim_pid_of(const char *bundle)
{
	char path[600], buf[32];
	snprintf(path, sizeof(path), "%s/shim.pid", bundle);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		buf[0] = '\0';
		bool got = f && fgets(buf, sizeof(buf), f) && atoi(buf) > 0;
		if (f)
			fclose(f);
		if (got)
			return (pid_t)atoi(buf);
		usleep(10000);
	}
	die("no shim.pid in %s after 5 s", bundle);
}

static void expect_alive(pid_t pid, const char *when)
{
	if (kill(pid, 0) != 0)
		die("the shim (pid %d) is gone %s", (int)pid, when);
}

static void expect_gone(pid_t pid, const char *when)
{
	for (int i = 0; i < 500; i++) {
		if (kill(pid, 0) != 0 && errno == ESRCH)
			return;
		usleep(10000);
	}
	die("the shim (pid %d) is still running 5 s %s", (int)pid, when);
}

/* A process's Pss, kB (smaps_rollup), -1 when unreadable. */
static long pss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* ---- errors: what the Sandbox API refuses, and how it ends ---- */

/* A raw Sandbox call: every request of the service begins with
 * string sandbox_id = 1, so a PingRequest's bytes fit any method. */
static int sandbox_raw(const char *method, const char *sandbox_id)
{
	Containerd__Runtime__Sandbox__V1__PingRequest req = CONTAINERD__RUNTIME__SANDBOX__V1__PING_REQUEST__INIT;
	req.sandbox_id = (char *)sandbox_id;
	uint8_t buf[256];
	size_t n = containerd__runtime__sandbox__v1__ping_request__pack(&req, buf);
	struct ttrpc_result st = { 0 };
	int code = ttrpc_client_call_sync(client, CONTAINERD_RUNTIME_SANDBOX_V1_SANDBOX_SERVICE, method, buf, n, &opts,
					  &st);
	ttrpc_result_clear(&st);
	return code;
}

static void expect_code(int code, int want, const char *what)
{
	if (code != want)
		die("%s: %s, want %s", what, ttrpc_code_name(code), ttrpc_code_name(want));
}

/* ---- the pod's cgroup ---- */

static char pod_cgroup[256]; /* "/<ns>/pods/sb" */

/* Every line of /proc/PID/cgroup names pod_cgroup. */
static void expect_pod_cgroup(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	char *text = slurp(path), *save = NULL;
	int n = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		char *colon = strchr(line, ':');
		char *cg = colon ? strchr(colon + 1, ':') : NULL;
		if (!cg || strcmp(cg + 1, pod_cgroup))
			die("the sandbox's process: cgroup line \"%s\", want %s in every hierarchy", line, pod_cgroup);
	}
	if (!n)
		die("the sandbox's process: no cgroup");
}

/* Mount points of the cgroup hierarchies (fstype cgroup or cgroup2). */
static int cgroup_mounts(char mounts[][256], int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		die("mountinfo: %s", strerror(errno));
	char line[1024];
	int n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char point[256], *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", point) != 1)
			continue;
		if (!strncmp(dash, " - cgroup ", 10) || !strncmp(dash, " - cgroup2 ", 11))
			snprintf(mounts[n++], sizeof(mounts[0]), "%s", point);
	}
	fclose(f);
	return n;
}

/* After StopSandbox: <mount>/<ns>/pods/sb is gone everywhere; the test's own
 * parent /<ns>/pods is removed (e2e_cleanup removes /<ns>). */
static void expect_pod_cgroup_gone(const char *when)
{
	char mounts[32][256], path[600];
	int n = cgroup_mounts(mounts, 32);
	for (int i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s%s", mounts[i], pod_cgroup) >= (int)sizeof(path))
			die("%s%s: too long", mounts[i], pod_cgroup);
		struct stat st;
		if (stat(path, &st) == 0)
			die("%s is still there %s", path, when);
		*strrchr(path, '/') = '\0';
		if (rmdir(path) && errno != ENOENT)
			die("rmdir %s: %s", path, strerror(errno));
	}
}

/* SandboxMetrics' data: the pod cgroup's, whose only process is the holder. */
static void expect_pod_metrics(const Google__Protobuf__Any *data)
{
	uint64_t pids = 0;
	if (!strcmp(data->type_url, "io.containerd.cgroups.v1.Metrics")) {
		Io__Containerd__Cgroups__V1__Metrics *m =
			io__containerd__cgroups__v1__metrics__unpack(NULL, data->value.len, data->value.data);
		if (!m)
			die("SandboxMetrics: v1 Metrics do not parse");
		pids = m->pids ? m->pids->current : 0;
		io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
	} else {
		Io__Containerd__Cgroups__V2__Metrics *m =
			io__containerd__cgroups__v2__metrics__unpack(NULL, data->value.len, data->value.data);
		if (!m)
			die("SandboxMetrics: v2 Metrics do not parse");
		pids = m->pids ? m->pids->current : 0;
		io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
	}
	if (pids != 1)
		die("SandboxMetrics: pids.current %llu, want 1 (the sandbox's process alone in %s)",
		    (unsigned long long)pids, pod_cgroup);
}

/* CRI's PodSandboxConfig with linux.cgroup_parent, packed into buf, as
 * containerd 2.x's CRI puts it in CreateSandbox's options. */
static Google__Protobuf__Any pod_config(const char *cgroup_parent, uint8_t *buf, size_t size)
{
	Runtime__V1__LinuxPodSandboxConfig lcfg = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	lcfg.cgroup_parent = (char *)cgroup_parent;
	Runtime__V1__PodSandboxConfig pcfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	pcfg.hostname = "sb-host";
	pcfg.log_directory = "/var/log/pods/x";
	pcfg.linux = &lcfg;
	if (runtime__v1__pod_sandbox_config__get_packed_size(&pcfg) > size)
		die("PodSandboxConfig: too big");
	Google__Protobuf__Any cfg = GOOGLE__PROTOBUF__ANY__INIT;
	cfg.type_url = "runtime.v1.PodSandboxConfig";
	cfg.value.len = runtime__v1__pod_sandbox_config__pack(&pcfg, buf);
	cfg.value.data = buf;
	return cfg;
}

static int create_sandbox_with(const char *id, const char *netns_path, bool with_rootfs,
			       const Google__Protobuf__Any *options)
{
	Containerd__Runtime__Sandbox__V1__CreateSandboxRequest req =
		CONTAINERD__RUNTIME__SANDBOX__V1__CREATE_SANDBOX_REQUEST__INIT;
	req.sandbox_id = (char *)id;
	req.bundle_path = (char *)dir;
	req.netns_path = (char *)netns_path;
	req.options = (Google__Protobuf__Any *)options;
	Containerd__Types__Mount m = CONTAINERD__TYPES__MOUNT__INIT, *mp = &m;
	m.type = "bind";
	m.source = "/tmp";
	if (with_rootfs) {
		req.n_rootfs = 1;
		req.rootfs = &mp;
	}
	Containerd__Runtime__Sandbox__V1__CreateSandboxResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	int code = containerd_runtime_sandbox_v1_sandbox_create_sandbox_call_sync(client, &req, &opts, &resp, &st);
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_result_clear(&st);
	return code;
}

static int create_sandbox(const char *id, const char *netns_path, bool with_rootfs)
{
	return create_sandbox_with(id, netns_path, with_rootfs, NULL);
}

static void errors_mode(void)
{
	static const char *const methods[] = { "StartSandbox",	"Platform",    "StopSandbox",	  "WaitSandbox",
					       "SandboxStatus", "PingSandbox", "ShutdownSandbox", "SandboxMetrics" };
	char sb_bundle[512], addr[512], what[128];

	/* shim 1: refusals, then a running sandbox whose shim gets SIGTERM */
	snprintf(sb_bundle, sizeof(sb_bundle), "%s/sb", dir);
	if (mkdir(sb_bundle, 0711))
		die("mkdir %s: %s", sb_bundle, strerror(errno));
	start("sb", sb_bundle, addr, sizeof(addr));
	pid_t shim_pid = shim_pid_of(sb_bundle);
	int rc = 0;
	client = ttrpc_client_connect(NULL, addr + 7, &rc);
	if (!client)
		die("connect %s: %s", addr, ttrpc_strerror(rc));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(what, sizeof(what), "%s before any CreateSandbox", methods[i]);
		expect_code(sandbox_raw(methods[i], "sb"), TTRPC_CODE_NOT_FOUND, what);
	}
	expect_code(create_sandbox("../sb", "", false), TTRPC_CODE_INVALID_ARGUMENT, "CreateSandbox of a path-like id");
	expect_code(create_sandbox("", "", false), TTRPC_CODE_INVALID_ARGUMENT, "CreateSandbox of an empty id");
	expect_code(create_sandbox("sb", "/nonexistent/netns", false), TTRPC_CODE_FAILED_PRECONDITION,
		    "CreateSandbox with a netns that does not exist");
	expect_code(create_sandbox("sb", "", true), TTRPC_CODE_INVALID_ARGUMENT, "CreateSandbox with a rootfs");
	uint8_t pbuf[512];
	Google__Protobuf__Any cfg = pod_config("relative/pods", pbuf, sizeof(pbuf));
	expect_code(create_sandbox_with("sb", "", false, &cfg), TTRPC_CODE_INVALID_ARGUMENT,
		    "CreateSandbox with a relative cgroup parent");
	cfg = pod_config("/a/../b", pbuf, sizeof(pbuf));
	expect_code(create_sandbox_with("sb", "", false, &cfg), TTRPC_CODE_INVALID_ARGUMENT,
		    "CreateSandbox with a cgroup parent holding ..");
	cfg.value.len = 3; /* linux (8), 40 bytes long, cut after 1 */
	memcpy(pbuf, "\x42\x28\x0a", 3);
	expect_code(create_sandbox_with("sb", "", false, &cfg), TTRPC_CODE_INVALID_ARGUMENT,
		    "CreateSandbox with a PodSandboxConfig that does not parse");
	char parent[200];
	snprintf(parent, sizeof(parent), "/%s/pods", ns);
	snprintf(pod_cgroup, sizeof(pod_cgroup), "%s/sb", parent);
	cfg = pod_config(parent, pbuf, sizeof(pbuf));
	expect_code(create_sandbox_with("sb", "", false, &cfg), TTRPC_CODE_OK, "CreateSandbox");
	expect_code(create_sandbox("sb2", "", false), TTRPC_CODE_ALREADY_EXISTS, "a second sandbox in one shim");
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(what, sizeof(what), "%s of another sandbox", methods[i]);
		expect_code(sandbox_raw(methods[i], "other"), TTRPC_CODE_NOT_FOUND, what);
	}
	expect_code(sandbox_raw("SandboxMetrics", "sb"), TTRPC_CODE_FAILED_PRECONDITION, "SandboxMetrics before start");
	Containerd__Runtime__Sandbox__V1__StartSandboxRequest sreq =
		CONTAINERD__RUNTIME__SANDBOX__V1__START_SANDBOX_REQUEST__INIT;
	sreq.sandbox_id = "sb";
	Containerd__Runtime__Sandbox__V1__StartSandboxResponse *sresp = NULL;
	struct ttrpc_result st = { 0 };
	ok(containerd_runtime_sandbox_v1_sandbox_start_sandbox_call_sync(client, &sreq, &opts, &sresp, &st), &st,
	   "StartSandbox");
	ttrpc_result_clear(&st);
	pid_t holder = (pid_t)sresp->pid;
	protobuf_c_message_free_unpacked(&sresp->base, NULL);
	expect_pod_cgroup(holder);
	expect_code(sandbox_raw("StartSandbox", "sb"), TTRPC_CODE_FAILED_PRECONDITION, "a second StartSandbox");
	struct wait_result w = { 0 };
	Containerd__Runtime__Sandbox__V1__WaitSandboxRequest wreq =
		CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_REQUEST__INIT;
	wreq.sandbox_id = "sb";
	if (containerd_runtime_sandbox_v1_sandbox_wait_sandbox_call(client, &wreq, NULL, on_wait_sandbox, &w))
		die("WaitSandbox: not sent");
	/* a Task Shutdown (not now) leaves a shim whose sandbox lives */
	v3 = true;
	task_shutdown("sb");
	expect_code(sandbox_raw("PingSandbox", "sb"), TTRPC_CODE_OK, "PingSandbox after Task Shutdown");
	/* the shim told to go: the pending WaitSandbox is answered, not dropped,
	 * and the sandbox's process goes with it */
	if (kill(shim_pid, SIGTERM))
		die("kill the shim: %s", strerror(errno));
	double deadline = now_s() + 10;
	while (!w.done && now_s() < deadline) {
		ev_run(ttrpc_client_loop(client), EVRUN_ONCE | EVRUN_NOWAIT);
		usleep(2000);
	}
	if (!w.done || w.code != TTRPC_CODE_UNAVAILABLE)
		die("WaitSandbox when the shim exits: %s", w.done ? ttrpc_code_name(w.code) : "no answer");
	expect_gone(shim_pid, "after SIGTERM");
	for (int i = 0; i < 500 && kill(holder, 0) == 0; i++)
		usleep(10000);
	if (kill(holder, 0) == 0)
		die("the sandbox's process %d outlived its shim", (int)holder);
	expect_pod_cgroup_gone("after the shim's exit");
	ttrpc_client_free(client);
	step("refusals; pending WaitSandbox answered UNAVAILABLE on SIGTERM; the sandbox's process and its cgroup %s "
	     "went with the shim",
	     pod_cgroup);

	/* shim 2: a sandbox stopped before it started */
	snprintf(sb_bundle, sizeof(sb_bundle), "%s/sb3", dir);
	if (mkdir(sb_bundle, 0711))
		die("mkdir %s: %s", sb_bundle, strerror(errno));
	start("sb3", sb_bundle, addr, sizeof(addr));
	shim_pid = shim_pid_of(sb_bundle);
	client = ttrpc_client_connect(NULL, addr + 7, &rc);
	if (!client)
		die("connect %s: %s", addr, ttrpc_strerror(rc));
	Google__Protobuf__Any other = GOOGLE__PROTOBUF__ANY__INIT;
	other.type_url = "types.example.com/example.Other"; /* not CRI's: ignored */
	other.value.len = 3;
	other.value.data = (uint8_t *)"\x42\x28\x0a";
	expect_code(create_sandbox_with("sb3", "", false, &other), TTRPC_CODE_OK,
		    "CreateSandbox, options of another type");
	expect_code(sandbox_raw("StopSandbox", "sb3"), TTRPC_CODE_OK, "StopSandbox before start");
	memset(&w, 0, sizeof(w));
	wreq.sandbox_id = "sb3";
	if (containerd_runtime_sandbox_v1_sandbox_wait_sandbox_call(client, &wreq, NULL, on_wait_sandbox, &w))
		die("WaitSandbox: not sent");
	await(&w, 5, "WaitSandbox of a stopped sandbox");
	if (w.exit_status != 0 || w.exited_at <= 0)
		die("WaitSandbox of a sandbox never started: %u at %.3f", w.exit_status, w.exited_at);
	expect_code(sandbox_raw("StartSandbox", "sb3"), TTRPC_CODE_FAILED_PRECONDITION, "StartSandbox once stopped");
	expect_code(sandbox_raw("SandboxMetrics", "sb3"), TTRPC_CODE_FAILED_PRECONDITION,
		    "SandboxMetrics once stopped");
	expect_code(sandbox_raw("ShutdownSandbox", "sb3"), TTRPC_CODE_OK, "ShutdownSandbox");
	expect_gone(shim_pid, "after ShutdownSandbox");
	ttrpc_client_free(client);
	client = NULL;
	step("stopped before started: WaitSandbox at once, Start and Metrics refused, Shutdown ends the shim");
	delete_action("sb3", sb_bundle);

	/* shim 3: a systemd slice parent is not created by the shim (no D-Bus
	 * client): the sandbox runs in the shim's cgroup; ShutdownSandbox of the
	 * running sandbox ends both */
	snprintf(sb_bundle, sizeof(sb_bundle), "%s/sb4", dir);
	if (mkdir(sb_bundle, 0711))
		die("mkdir %s: %s", sb_bundle, strerror(errno));
	start("sb4", sb_bundle, addr, sizeof(addr));
	shim_pid = shim_pid_of(sb_bundle);
	client = ttrpc_client_connect(NULL, addr + 7, &rc);
	if (!client)
		die("connect %s: %s", addr, ttrpc_strerror(rc));
	cfg = pod_config("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice", pbuf,
			 sizeof(pbuf));
	expect_code(create_sandbox_with("sb4", "", false, &cfg), TTRPC_CODE_OK, "CreateSandbox, a slice parent");
	sreq.sandbox_id = "sb4";
	ok(containerd_runtime_sandbox_v1_sandbox_start_sandbox_call_sync(client, &sreq, &opts, &sresp, &st), &st,
	   "StartSandbox");
	ttrpc_result_clear(&st);
	holder = (pid_t)sresp->pid;
	protobuf_c_message_free_unpacked(&sresp->base, NULL);
	char path[64], shim_cg[4096];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)shim_pid);
	snprintf(shim_cg, sizeof(shim_cg), "%s", slurp(path));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)holder);
	if (!*shim_cg || strcmp(shim_cg, slurp(path)))
		die("sandbox with a slice parent: its process's cgroups\n%sare not the shim's\n%s", slurp(path),
		    shim_cg);
	expect_code(sandbox_raw("ShutdownSandbox", "sb4"), TTRPC_CODE_OK, "ShutdownSandbox of a running sandbox");
	expect_gone(shim_pid, "after ShutdownSandbox");
	for (int i = 0; i < 500 && kill(holder, 0) == 0; i++)
		usleep(10000);
	if (kill(holder, 0) == 0)
		die("the sandbox's process %d outlived ShutdownSandbox", (int)holder);
	ttrpc_client_free(client);
	client = NULL;
	step("a slice parent: the sandbox ran in the shim's cgroups; ShutdownSandbox while running ended both");
	delete_action("sb4", sb_bundle);
	snprintf(sb_bundle, sizeof(sb_bundle), "%s/sb", dir);
	delete_action("sb", sb_bundle);
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: shim-manager binary|json3|json2|plain|errors SHIM DIR NAMESPACE ADDRESS "
				"PUBLISH_BINARY ROOTFS\n");
		return 2;
	}
	mode = argv[1];
	shim = argv[2];
	dir = argv[3];
	ns = argv[4];
	address = argv[5];
	publish = argv[6];
	rootfs = argv[7];
	v3 = !strcmp(mode, "binary") || !strcmp(mode, "json3");
	sandbox_api = strcmp(mode, "plain") != 0;
	if (!v3 && strcmp(mode, "json2") && strcmp(mode, "plain") && strcmp(mode, "errors"))
		die("unknown mode");
	signal(SIGPIPE, SIG_IGN);
	start_fake_containerd();
	if (!strcmp(mode, "errors")) {
		v3 = true;
		errors_mode();
		cleanup();
		step("done");
		return 0;
	}

	char sb_bundle[512], c1_bundle[512], c2_bundle[512], addr[512], addr2[512], netns[64] = "";
	snprintf(sb_bundle, sizeof(sb_bundle), "%s/sb", dir);
	if (mkdir(sb_bundle, 0711))
		die("mkdir %s: %s", sb_bundle, strerror(errno));
	pid_t holder = 0;
	double t_create = now_s();
	struct wait_result sb_wait = { 0 };
	struct ttrpc_result st = { 0 };
	int code;

	if (!sandbox_api) {
		/* 1.6: the pod is its first container, whose bundle has config.json */
		container_bundle("sb", "sandbox", 0, "exec sleep 1000", sb_bundle, sizeof(sb_bundle));
	}
	start("sb", sb_bundle, addr, sizeof(addr));
	pid_t shim_pid = shim_pid_of(sb_bundle);
	int rc = 0;
	client = ttrpc_client_connect(NULL, addr + 7, &rc);
	if (!client)
		die("connect %s: %s", addr, ttrpc_strerror(rc));

	if (!sandbox_api) {
		/* 1.6: the pod's first container keeps the shim while the others come and go */
		task_create("sb", sb_bundle, "");
		task_wait("sb", &sb_wait);
		task_start("sb");
		step("Task v2 Create+Wait+Start sb");
	} else {
		make_netns(netns, sizeof(netns));
		Containerd__Runtime__Sandbox__V1__CreateSandboxRequest creq =
			CONTAINERD__RUNTIME__SANDBOX__V1__CREATE_SANDBOX_REQUEST__INIT;
		creq.sandbox_id = "sb";
		creq.bundle_path = sb_bundle;
		creq.netns_path = netns;
		/* what containerd 2.x's CRI passes: typeurl.MarshalAny(config) */
		char parent[200];
		snprintf(parent, sizeof(parent), "/%s/pods", ns);
		snprintf(pod_cgroup, sizeof(pod_cgroup), "%s/sb", parent);
		uint8_t pbuf[512];
		Google__Protobuf__Any cfg = pod_config(parent, pbuf, sizeof(pbuf));
		creq.options = &cfg;
		Containerd__Runtime__Sandbox__V1__CreateSandboxResponse *cresp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_create_sandbox_call_sync(client, &creq, &opts, &cresp,
										      &st);
		ok(code, &st, "CreateSandbox");
		protobuf_c_message_free_unpacked(&cresp->base, NULL);
		ttrpc_result_clear(&st);
		code = containerd_runtime_sandbox_v1_sandbox_create_sandbox_call_sync(client, &creq, &opts, &cresp,
										      &st);
		if (code != TTRPC_CODE_ALREADY_EXISTS)
			die("a second CreateSandbox: %s, want ALREADY_EXISTS", ttrpc_code_name(code));
		ttrpc_result_clear(&st);

		Containerd__Runtime__Sandbox__V1__StartSandboxRequest sreq =
			CONTAINERD__RUNTIME__SANDBOX__V1__START_SANDBOX_REQUEST__INIT;
		sreq.sandbox_id = "sb";
		Containerd__Runtime__Sandbox__V1__StartSandboxResponse *sresp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_start_sandbox_call_sync(client, &sreq, &opts, &sresp, &st);
		ok(code, &st, "StartSandbox");
		ttrpc_result_clear(&st);
		holder = (pid_t)sresp->pid;
		double created = ts_s(sresp->created_at);
		protobuf_c_message_free_unpacked(&sresp->base, NULL);
		if (holder <= 0 || holder == shim_pid)
			die("StartSandbox: pid %d", (int)holder);
		if (created < t_create - 1 || created > now_s() + 1)
			die("StartSandbox: created_at %.3f, not now (%.3f)", created, now_s());
		char a[128], b[128];
		ns_link(holder, "net", a, sizeof(a));
		ns_link(netns_holder, "net", b, sizeof(b));
		if (strcmp(a, b))
			die("the sandbox's process is in %s, not the netns given (%s)", a, b);
		for (const char *const *w = (const char *const[]){ "ipc", "uts", NULL }; *w; w++) {
			ns_link(holder, *w, a, sizeof(a));
			ns_link(getpid(), *w, b, sizeof(b));
			if (!strcmp(a, b))
				die("the sandbox's process shares our %s namespace", *w);
		}
		/* it holds nothing of the shim's: no fd at all */
		char fddir[64];
		snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)holder);
		int nfd = -1;
		for (int i = 0; i < 200 && nfd != 0; i++) {
			DIR *d = opendir(fddir);
			if (!d)
				die("opendir %s: %s", fddir, strerror(errno));
			nfd = 0;
			for (struct dirent *e; (e = readdir(d));)
				nfd += e->d_name[0] != '.';
			closedir(d);
			if (nfd)
				usleep(10000);
		}
		if (nfd)
			die("the sandbox's process keeps %d fds open", nfd);
		expect_pod_cgroup(holder);
		step("StartSandbox: pid %d, own ipc/uts, netns %s, cgroup %s, no fd open; Pss: sandbox process %ld kB, "
		     "shim %ld kB",
		     (int)holder, netns, pod_cgroup, pss_kb(holder), pss_kb(shim_pid));

		/* CRI waits right after StartSandbox */
		Containerd__Runtime__Sandbox__V1__WaitSandboxRequest wreq =
			CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_REQUEST__INIT;
		wreq.sandbox_id = "sb";
		if (containerd_runtime_sandbox_v1_sandbox_wait_sandbox_call(client, &wreq, NULL, on_wait_sandbox,
									    &sb_wait))
			die("WaitSandbox: not sent");

		Containerd__Runtime__Sandbox__V1__PlatformRequest preq =
			CONTAINERD__RUNTIME__SANDBOX__V1__PLATFORM_REQUEST__INIT;
		preq.sandbox_id = "sb";
		Containerd__Runtime__Sandbox__V1__PlatformResponse *presp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_platform_call_sync(client, &preq, &opts, &presp, &st);
		ok(code, &st, "Platform");
		ttrpc_result_clear(&st);
		if (!presp->platform || strcmp(presp->platform->os, "linux") || !*presp->platform->architecture)
			die("Platform: not linux/<arch>");
#if defined(__x86_64__)
		if (strcmp(presp->platform->architecture, "amd64"))
			die("Platform: architecture %s, want amd64", presp->platform->architecture);
#endif
		step("Platform: %s/%s", presp->platform->os, presp->platform->architecture);
		protobuf_c_message_free_unpacked(&presp->base, NULL);

		Containerd__Runtime__Sandbox__V1__SandboxStatusRequest streq =
			CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_STATUS_REQUEST__INIT;
		streq.sandbox_id = "sb";
		streq.verbose = true;
		Containerd__Runtime__Sandbox__V1__SandboxStatusResponse *stresp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_sandbox_status_call_sync(client, &streq, &opts, &stresp,
										      &st);
		ok(code, &st, "SandboxStatus");
		ttrpc_result_clear(&st);
		if (strcmp(stresp->sandbox_id, "sb") || stresp->pid != (uint32_t)holder ||
		    strcmp(stresp->state, "SANDBOX_READY") || ts_s(stresp->created_at) != created || stresp->exited_at)
			die("SandboxStatus: id %s pid %u state %s", stresp->sandbox_id, stresp->pid, stresp->state);
		protobuf_c_message_free_unpacked(&stresp->base, NULL);
		step("SandboxStatus: SANDBOX_READY");

		expect_code(sandbox_raw("PingSandbox", "sb"), TTRPC_CODE_OK, "PingSandbox");
		expect_code(sandbox_raw("PingSandbox", "someone-else"), TTRPC_CODE_NOT_FOUND,
			    "PingSandbox of another sandbox");
	}

	/* the pod's containers: c1 prints its namespaces, c2 exits 5 */
	container_bundle("c1", "container", holder,
			 "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; exit 3",
			 c1_bundle, sizeof(c1_bundle));
	container_bundle("c2", "container", holder, "exit 5", c2_bundle, sizeof(c2_bundle));
	start("c1", c1_bundle, addr2, sizeof(addr2));
	if (strcmp(addr, addr2))
		die("start c1: address %s, the sandbox's is %s", addr2, addr);
	if (!sandbox_api) {
		/* 1.6 and 2.0 run start for every container */
		start("c2", c2_bundle, addr2, sizeof(addr2));
		if (strcmp(addr, addr2))
			die("start c2: address %s, the sandbox's is %s", addr2, addr);
	}
	char c1_out[600], c1_uri[620];
	snprintf(c1_out, sizeof(c1_out), "%s/c1.out", dir);
	snprintf(c1_uri, sizeof(c1_uri), "file://%s", c1_out); /* a file the shim appends to */
	const char *ids[2] = { "c1", "c2" }, *bundles[2] = { c1_bundle, c2_bundle }, *outs[2] = { c1_uri, "" };
	struct wait_result waits[2];
	for (int i = 0; i < 2; i++) {
		uint32_t pid = task_create(ids[i], bundles[i], outs[i]);
		task_wait(ids[i], &waits[i]);
		task_start(ids[i]);
		step("Task%s Create+Wait+Start %s: pid %u", v3 ? " v3" : " v2", ids[i], pid);
	}
	const uint32_t want[2] = { 3, 5 };
	for (int i = 0; i < 2; i++) {
		await(&waits[i], 20, "Task Wait");
		if (waits[i].exit_status != want[i])
			die("Task Wait %s: exit status %u, want %u", ids[i], waits[i].exit_status, want[i]);
		uint32_t d = task_delete(ids[i]);
		if (d != want[i])
			die("Task Delete %s: exit status %u, want %u", ids[i], d, want[i]);
		task_shutdown(ids[i]);
		step("Task Wait+Delete+Shutdown %s: exit status %u", ids[i], d);
	}
	if (sandbox_api) {
		/* c1 ran in the sandbox's namespaces */
		char expect[512], a[128], b[128], c[128];
		ns_link(holder, "net", a, sizeof(a));
		ns_link(holder, "ipc", b, sizeof(b));
		ns_link(holder, "uts", c, sizeof(c));
		snprintf(expect, sizeof(expect), "%s\n%s\n%s\n", a, b, c);
		if (strcmp(slurp(c1_out), expect))
			die("c1's namespaces:\n%swant the sandbox's:\n%s", slurp(c1_out), expect);
		step("c1 ran in the sandbox's net/ipc/uts namespaces");
		/* its containers' Task Shutdown did not end the shim: the sandbox lives */
		expect_alive(shim_pid, "after the containers' Task Shutdown, with the sandbox alive");

		Containerd__Runtime__Sandbox__V1__SandboxMetricsRequest mreq =
			CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_METRICS_REQUEST__INIT;
		mreq.sandbox_id = "sb";
		Containerd__Runtime__Sandbox__V1__SandboxMetricsResponse *mresp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_sandbox_metrics_call_sync(client, &mreq, &opts, &mresp,
										       &st);
		ok(code, &st, "SandboxMetrics");
		ttrpc_result_clear(&st);
		if (!mresp->metrics || strcmp(mresp->metrics->id, "sb") || !mresp->metrics->timestamp ||
		    !mresp->metrics->data ||
		    (strcmp(mresp->metrics->data->type_url, "io.containerd.cgroups.v1.Metrics") &&
		     strcmp(mresp->metrics->data->type_url, "io.containerd.cgroups.v2.Metrics")) ||
		    mresp->metrics->data->value.len == 0)
			die("SandboxMetrics: not a Metric of sb with cgroup metrics");
		expect_pod_metrics(mresp->metrics->data);
		step("SandboxMetrics: %s, %zu bytes, of %s (pids.current 1)", mresp->metrics->data->type_url,
		     mresp->metrics->data->value.len, pod_cgroup);
		protobuf_c_message_free_unpacked(&mresp->base, NULL);

		if (sb_wait.done)
			die("WaitSandbox answered before StopSandbox");
		expect_code(sandbox_raw("StopSandbox", "sb"), TTRPC_CODE_OK, "StopSandbox");
		await(&sb_wait, 10, "WaitSandbox");
		if (sb_wait.exit_status != 128 + SIGKILL || sb_wait.exited_at < t_create - 1 ||
		    sb_wait.exited_at > now_s() + 1)
			die("WaitSandbox: exit status %u exited_at %.3f", sb_wait.exit_status, sb_wait.exited_at);
		if (kill(holder, 0) == 0)
			die("the sandbox's process %d still runs after StopSandbox", (int)holder);
		expect_pod_cgroup_gone("after StopSandbox");
		step("StopSandbox; WaitSandbox: exit status %u; %s gone in every hierarchy", sb_wait.exit_status,
		     pod_cgroup);

		Containerd__Runtime__Sandbox__V1__SandboxStatusRequest streq =
			CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_STATUS_REQUEST__INIT;
		streq.sandbox_id = "sb";
		Containerd__Runtime__Sandbox__V1__SandboxStatusResponse *stresp = NULL;
		code = containerd_runtime_sandbox_v1_sandbox_sandbox_status_call_sync(client, &streq, &opts, &stresp,
										      &st);
		ok(code, &st, "SandboxStatus");
		ttrpc_result_clear(&st);
		if (strcmp(stresp->state, "SANDBOX_NOTREADY") || ts_s(stresp->exited_at) != sb_wait.exited_at)
			die("SandboxStatus after stop: state %s", stresp->state);
		protobuf_c_message_free_unpacked(&stresp->base, NULL);
		expect_alive(shim_pid, "after StopSandbox");

		expect_code(sandbox_raw("ShutdownSandbox", "sb"), TTRPC_CODE_OK, "ShutdownSandbox");
		step("ShutdownSandbox");
	} else {
		/* 1.6: the pod's first container ends the group */
		task_kill("sb", SIGKILL);
		await(&sb_wait, 10, "Task Wait sb");
		if (task_delete("sb") != 128 + SIGKILL)
			die("Task Delete sb: not killed");
		task_shutdown("sb");
		step("Task v2 of sb: killed, deleted, shut down");
	}
	expect_gone(shim_pid, "after the last shutdown");
	expect_events(sandbox_api ? 2 : 3);
	ttrpc_client_free(client);
	step("the shim exited");
	delete_action("c1", c1_bundle);
	delete_action("c2", c2_bundle);
	delete_action("sb", sb_bundle);
	cleanup();
	step("done");
	return 0;
}
