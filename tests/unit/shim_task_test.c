/* SPDX-License-Identifier: Apache-2.0 */
/* The Task service (service.c over container.c, cmd.c, the reaper, ...)
 * without containerd: a ttrpc client on one end of a socketpair, the service
 * on the other, one loop, and a fake OCI runtime (a shell script) that is
 * told, per subcommand, to succeed, fail, hang, die or write garbage. The
 * fake's "containers" are sleep processes it leaves behind; this process is
 * the subreaper that reaps them, as the shim is. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runc/v1/options.pb-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/shim.h"

static char dir[64];
static struct shim s;
static ttrpc_client *client;
static bool exit_requested;
static const char *runtime_json = "runtime.json"; /* which runtime config Create sends */

static const char fake_script[] =
	"#!/bin/sh\n"
	"# fake OCI runtime: global flags, the subcommand, its arguments (id last,\n"
	"# or before the signal of kill); $D/behave.<cmd> says what to do\n"
	"D=$(dirname \"$(dirname \"$0\")\")\n"
	"log=/dev/null\n"
	"while [ $# -gt 0 ]; do\n"
	"  case \"$1\" in\n"
	"  --root|--log-format) shift ;;\n"
	"  --log) log=$2; shift ;;\n"
	"  --systemd-cgroup) ;;\n"
	"  *) break ;;\n"
	"  esac\n"
	"  shift\n"
	"done\n"
	"cmd=$1; shift\n"
	"echo \"$cmd $*\" >>\"$D/calls\"\n"
	"b=$(cat \"$D/behave.$cmd\" 2>/dev/null || echo ok)\n"
	"case $b in\n"
	"fail) echo \"{\\\"level\\\":\\\"error\\\",\\\"msg\\\":\\\"fake $cmd failed\\\"}\" >>\"$log\"; exit 1 ;;\n"
	"hang) echo $$ >\"$D/hung.pid\"; exec sleep 600 ;;\n"
	"die) kill -9 $$ ;;\n"
	"esac\n"
	"pidf=\"\"\n"
	"while [ $# -gt 1 ]; do\n"
	"  case $1 in --pid-file) pidf=$2; shift ;; --process|--bundle|--console-socket|--format) shift ;;\n"
	"  --all|--force|--detach) ;; *) break ;; esac\n"
	"  shift\n"
	"done\n"
	"id=$1\n"
	"case $cmd in\n"
	"create|exec)\n"
	"  if [ \"$b\" = garbage ]; then echo notapid >\"$pidf\"; exit 0; fi\n"
	"  sleep 600 </dev/null >/dev/null 2>&1 &\n"
	"  echo $! >\"$pidf\"; echo $! >>\"$D/pids.$id\" ;;\n"
	"kill) kill -\"$2\" \"$(head -n1 \"$D/pids.$id\")\" ;;\n"
	"delete) rm -f \"$D/pids.$id\" ;;\n"
	"ps)\n"
	"  if [ \"$b\" = garbage ]; then echo 'not json'; exit 0; fi\n"
	"  printf '['; sep=''; for p in $(cat \"$D/pids.$id\"); do printf '%s%s' \"$sep\" \"$p\"; sep=,; done; echo ']' ;;\n"
	"esac\n"
	"exit 0\n";

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void behave(const char *cmd, const char *how)
{
	char name[64];
	snprintf(name, sizeof(name), "behave.%s", cmd);
	write_file(name, how, 0644);
}

static void on_exit_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
	exit_requested = true;
}

static void setup(void)
{
	struct shim_error err = { 0 };
	char path[160], json[256];
	int sv[2], rc;

	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/shim-task-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bin", dir);
	mkdir(path, 0755);
	write_file("bin/fake-runc", fake_script, 0755);
	snprintf(path, sizeof(path), "%s/bundle", dir);
	mkdir(path, 0755);
	write_file("bundle/config.json", "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"]}}", 0644);
	snprintf(json, sizeof(json), "{\"binary_name\": \"%s/bin/fake-runc\", \"root\": \"%s/root\"}", dir, dir);
	write_file("runtime.json", json, 0644);
	snprintf(json, sizeof(json),
		 "{\"binary_name\": \"%s/bin/fake-runc\", \"root\": \"%s/root\", \"timeout_ms\": 300}", dir, dir);
	write_file("runtime-300ms.json", json, 0644);
	runtime_json = "runtime.json";

	memset(&s, 0, sizeof(s));
	exit_requested = false;
	s.ns = "testns";
	shim_log_init(&s.log, NULL, -1, false);
	s.loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(s.loop);
	s.reaper = shim_reaper_new(s.loop, &err);
	cr_assert_not_null(s.reaper, "%s", err.msg);
	s.events = shim_events_new(s.loop, NULL, s.ns, &s.log);
	s.server = ttrpc_server_new(s.loop);
	cr_assert(s.events && s.server);
	ev_idle_init(&s.exit_idle, on_exit_idle);
	cr_assert_eq(shim_service_register(&s), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ttrpc_server_adopt_conn(s.server, sv[0]), 0);
	client = ttrpc_client_adopt(s.loop, sv[1], &rc);
	cr_assert_not_null(client, "%s", ttrpc_strerror(rc));
}

static void teardown(void)
{
	char cmd[512];

	/* a test that ended early may leave Waits: answered while their calls live */
	for (struct shim_container *c = s.containers; c; c = c->next)
		for (struct shim_process *p = &c->init; p; p = p == &c->init ? c->execs : p->next)
			shim_process_fail_waiters(p, TTRPC_CODE_UNAVAILABLE, "test ends");
	ttrpc_client_free(client);
	ttrpc_server_free(s.server);
	while (s.containers) {
		struct shim_container *c = s.containers;
		s.containers = c->next;
		shim_container_free(c);
	}
	shim_events_free(s.events);
	shim_reaper_free(s.reaper);
	ev_loop_destroy(s.loop);
	shim_log_close(&s.log);
	/* the fake's sleeps and a hung fake, if a test ended early */
	snprintf(cmd, sizeof(cmd), "cat %s/pids.* %s/hung.pid 2>/dev/null | xargs -r kill -9 2>/dev/null; rm -rf '%s'",
		 dir, dir, dir);
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_task, .init = setup, .fini = teardown, .timeout = 60);

/* ---- calls: async on the one loop, run until answered ---- */

struct reply {
	bool done;
	int code;
	char msg[512];
	ProtobufCMessage *resp; /* a copy, freed by reply_clear */
};

static ProtobufCMessage *dup_msg(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	cr_assert_not_null(buf);
	protobuf_c_message_pack(m, buf);
	ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	free(buf);
	return copy;
}

static void got(struct reply *r, const struct ttrpc_result *st, const ProtobufCMessage *resp)
{
	r->done = true;
	r->code = st->code;
	snprintf(r->msg, sizeof(r->msg), "%s", st->message ? st->message : "");
	r->resp = resp ? dup_msg(resp) : NULL;
}

static void reply_clear(struct reply *r)
{
	if (r->resp)
		protobuf_c_message_free_unpacked(r->resp, NULL);
	memset(r, 0, sizeof(*r));
}

#define DONE(method, Resp)                                                                     \
	static void method##_done(const struct ttrpc_result *st, const Resp *resp, void *user) \
	{                                                                                      \
		got(user, st, resp ? &resp->base : NULL);                                      \
	}
DONE(create, Containerd__Task__V2__CreateTaskResponse)
DONE(start, Containerd__Task__V2__StartResponse)
DONE(state, Containerd__Task__V2__StateResponse)
DONE(delete, Containerd__Task__V2__DeleteResponse)
DONE(pids, Containerd__Task__V2__PidsResponse)
DONE(wait, Containerd__Task__V2__WaitResponse)
DONE(connect, Containerd__Task__V2__ConnectResponse)
DONE(empty, Google__Protobuf__Empty)

static const struct ttrpc_call_opts call_opts = { .timeout_ns = 30 * (int64_t)1000000000 };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_until_done(struct reply *r)
{
	double deadline = now_s() + 30;
	while (!r->done) {
		cr_assert_lt(now_s(), deadline, "no answer within 30 s");
		ev_run(s.loop, EVRUN_ONCE);
	}
}

static bool file_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Run the loop (serving) until name exists in dir. */
static void run_until_file(const char *name)
{
	double deadline = now_s() + 20;
	while (!file_exists(name)) {
		cr_assert_lt(now_s(), deadline, "no %s within 20 s", name);
		ev_run(s.loop, EVRUN_NOWAIT);
		usleep(2000);
	}
}

/* Send Create of id with the fake runtime; answered into r later. */
static void create_async(const char *id, struct reply *r)
{
	char config[128], bundle[128];
	snprintf(config, sizeof(config), "%s/%s", dir, runtime_json);
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	Runtimeoptions__V1__Options ro = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
	ro.config_path = config;
	uint8_t packed[256];
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = "runtimeoptions.v1.Options";
	any.value.data = packed;
	any.value.len = runtimeoptions__v1__options__pack(&ro, packed);
	Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	req.id = (char *)id;
	req.bundle = bundle;
	req.options = &any;
	cr_assert_eq(containerd_task_v2_task_create_call(client, &req, &call_opts, create_done, r), 0);
}

static void create(const char *id, struct reply *r)
{
	create_async(id, r);
	run_until_done(r);
}

static void start(const char *id, const char *exec_id, struct reply *r)
{
	Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	cr_assert_eq(containerd_task_v2_task_start_call(client, &req, &call_opts, start_done, r), 0);
	run_until_done(r);
}

static void state(const char *id, const char *exec_id, struct reply *r)
{
	Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	cr_assert_eq(containerd_task_v2_task_state_call(client, &req, &call_opts, state_done, r), 0);
	run_until_done(r);
}

static void delete_(const char *id, const char *exec_id, struct reply *r)
{
	Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	cr_assert_eq(containerd_task_v2_task_delete_call(client, &req, &call_opts, delete_done, r), 0);
	run_until_done(r);
}

static void kill_(const char *id, const char *exec_id, unsigned sig, struct reply *r)
{
	Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.signal = sig;
	cr_assert_eq(containerd_task_v2_task_kill_call(client, &req, &call_opts, empty_done, r), 0);
	run_until_done(r);
}

static void wait_async(const char *id, const char *exec_id, struct reply *r)
{
	Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	cr_assert_eq(containerd_task_v2_task_wait_call(client, &req, &call_opts, wait_done, r), 0);
}

static void exec_(const char *id, const char *exec_id, struct reply *r)
{
	static const char spec[] = "{\"args\": [\"sleep\", \"600\"], \"cwd\": \"/\"}";
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
	any.value.data = (uint8_t *)spec;
	any.value.len = strlen(spec);
	Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.spec = &any;
	cr_assert_eq(containerd_task_v2_task_exec_call(client, &req, &call_opts, empty_done, r), 0);
	run_until_done(r);
}

static void pids(const char *id, struct reply *r)
{
	Containerd__Task__V2__PidsRequest req = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
	req.id = (char *)id;
	cr_assert_eq(containerd_task_v2_task_pids_call(client, &req, &call_opts, pids_done, r), 0);
	run_until_done(r);
}

static void connect_(const char *id, struct reply *r)
{
	Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
	req.id = (char *)id;
	cr_assert_eq(containerd_task_v2_task_connect_call(client, &req, &call_opts, connect_done, r), 0);
	run_until_done(r);
}

#define RESP(r, T) ((const T *)(r).resp)
#define EXPECT_OK(r, what) cr_assert_eq((r).code, TTRPC_CODE_OK, "%s: %s: %s", what, ttrpc_code_name((r).code), (r).msg)

static uint32_t state_status(const char *id, const char *exec_id)
{
	struct reply r = { 0 };
	state(id, exec_id, &r);
	EXPECT_OK(r, "State");
	uint32_t st = RESP(r, Containerd__Task__V2__StateResponse)->status;
	reply_clear(&r);
	return st;
}

/* Create and Start c with the fake runtime succeeding; returns the pid. */
static uint32_t run_container(const char *id)
{
	struct reply r = { 0 };
	create(id, &r);
	EXPECT_OK(r, "Create");
	uint32_t pid = RESP(r, Containerd__Task__V2__CreateTaskResponse)->pid;
	reply_clear(&r);
	cr_assert_gt(pid, 0);
	start(id, "", &r);
	EXPECT_OK(r, "Start");
	reply_clear(&r);
	return pid;
}

static void kill_wait_delete(const char *id)
{
	struct reply w = { 0 }, r = { 0 };
	wait_async(id, "", &w);
	kill_(id, "", SIGKILL, &r);
	EXPECT_OK(r, "Kill");
	reply_clear(&r);
	run_until_done(&w);
	EXPECT_OK(w, "Wait");
	cr_expect_eq(RESP(w, Containerd__Task__V2__WaitResponse)->exit_status, 128 + SIGKILL);
	reply_clear(&w);
	delete_(id, "", &r);
	EXPECT_OK(r, "Delete");
	cr_expect_eq(RESP(r, Containerd__Task__V2__DeleteResponse)->exit_status, 128 + SIGKILL);
	reply_clear(&r);
}

/* Open fds of this process (the shim's, here): nothing may leak. */
static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- tests ---- */

Test(shim_task, lifecycle_with_an_exec)
{
	struct reply r = { 0 }, w = { 0 };
	uint32_t pid = run_container("c1");
	cr_expect_eq(state_status("c1", ""), SHIM_STATUS_RUNNING);

	exec_("c1", "x1", &r);
	EXPECT_OK(r, "Exec");
	reply_clear(&r);
	cr_expect_eq(state_status("c1", "x1"), SHIM_STATUS_CREATED);
	start("c1", "x1", &r);
	EXPECT_OK(r, "Start x1");
	uint32_t xpid = RESP(r, Containerd__Task__V2__StartResponse)->pid;
	reply_clear(&r);
	cr_assert(xpid > 0 && xpid != pid);
	state("c1", "x1", &r);
	EXPECT_OK(r, "State x1");
	cr_expect_str_eq(RESP(r, Containerd__Task__V2__StateResponse)->id, "x1");
	cr_expect_str_eq(RESP(r, Containerd__Task__V2__StateResponse)->exec_id, "");
	reply_clear(&r);

	/* Pids: the exec's pid carries its exec id */
	pids("c1", &r);
	EXPECT_OK(r, "Pids");
	const Containerd__Task__V2__PidsResponse *pr = RESP(r, Containerd__Task__V2__PidsResponse);
	cr_assert_eq(pr->n_processes, 2);
	for (size_t i = 0; i < 2; i++) {
		const Containerd__V1__Types__ProcessInfo *pi = pr->processes[i];
		if (pi->pid == pid) {
			cr_expect_null(pi->info);
			continue;
		}
		cr_assert_eq(pi->pid, xpid);
		cr_assert_not_null(pi->info);
		cr_expect_str_eq(pi->info->type_url, "containerd.runc.v1.ProcessDetails");
		Containerd__Runc__V1__ProcessDetails *d =
			containerd__runc__v1__process_details__unpack(NULL, pi->info->value.len, pi->info->value.data);
		cr_assert_not_null(d);
		cr_expect_str_eq(d->exec_id, "x1");
		containerd__runc__v1__process_details__free_unpacked(d, NULL);
	}
	reply_clear(&r);

	/* the exec killed straight by the shim: its Wait answers */
	wait_async("c1", "x1", &w);
	kill_("c1", "x1", SIGTERM, &r);
	EXPECT_OK(r, "Kill x1");
	reply_clear(&r);
	run_until_done(&w);
	EXPECT_OK(w, "Wait x1");
	cr_expect_eq(RESP(w, Containerd__Task__V2__WaitResponse)->exit_status, 128 + SIGTERM);
	reply_clear(&w);
	delete_("c1", "x1", &r);
	EXPECT_OK(r, "Delete x1");
	reply_clear(&r);

	kill_wait_delete("c1");
	state("c1", "", &r);
	cr_expect_eq(r.code, TTRPC_CODE_NOT_FOUND);
	reply_clear(&r);
	cr_expect_eq(s.ncontainers, 0);
}

/* A runtime that fails, dies or writes garbage at create: a clear error,
 * the container is forgotten (the id can be created again), the runtime's
 * leftovers are force-deleted, and the shim serves on. */
Test(shim_task, create_fails_dies_or_writes_garbage)
{
	static const struct {
		const char *how, *want;
	} cases[] = {
		{ "fail", "fake create failed" },
		{ "die", "exit status 137" },
		{ "garbage", "bad pid" },
	};
	struct reply r = { 0 };
	int fds = count_fds();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		behave("create", cases[i].how);
		write_file("calls", "", 0644);
		create("c1", &r);
		cr_expect_neq(r.code, TTRPC_CODE_OK, "%s", cases[i].how);
		cr_expect(strstr(r.msg, cases[i].want) != NULL, "%s: %s", cases[i].how, r.msg);
		reply_clear(&r);
		state("c1", "", &r);
		cr_expect_eq(r.code, TTRPC_CODE_NOT_FOUND, "%s: State after the failed Create: %s", cases[i].how,
			     r.msg);
		reply_clear(&r);
		cr_expect_eq(s.ncontainers, 0, "%s", cases[i].how);
		/* the rollback deleted what the runtime may have made */
		FILE *f = fopen(strcat(strcpy((char[128]){ 0 }, dir), "/calls"), "r");
		char calls[512] = "";
		cr_assert_not_null(f);
		calls[fread(calls, 1, sizeof(calls) - 1, f)] = '\0';
		fclose(f);
		cr_expect(strstr(calls, "delete --force c1") != NULL, "%s: runtime calls: %s", cases[i].how, calls);
		cr_expect_eq(count_fds(), fds, "%s: %d fds open, %d before", cases[i].how, count_fds(), fds);
	}
	behave("create", "ok");
	run_container("c1");
	kill_wait_delete("c1");
}

/* One container's runtime hangs in create: the shim keeps answering for
 * the others (State, Exec, Kill, Connect) and for the hung one what it knows;
 * once the hung runtime dies, that Create fails and the rest carry on. */
Test(shim_task, a_hung_create_blocks_no_other_container)
{
	struct reply hung = { 0 }, r = { 0 };
	uint32_t pid = run_container("a");
	behave("create", "hang");
	create_async("b", &hung);
	run_until_file("hung.pid");

	double t0 = now_s();
	cr_expect_eq(state_status("a", ""), SHIM_STATUS_RUNNING);
	exec_("a", "x1", &r);
	EXPECT_OK(r, "Exec into a");
	reply_clear(&r);
	kill_("a", "", SIGWINCH, &r);
	EXPECT_OK(r, "Kill a");
	reply_clear(&r);
	connect_("a", &r);
	EXPECT_OK(r, "Connect a");
	cr_expect_eq(RESP(r, Containerd__Task__V2__ConnectResponse)->task_pid, pid);
	reply_clear(&r);
	connect_("b", &r);
	EXPECT_OK(r, "Connect b");
	cr_expect_eq(RESP(r, Containerd__Task__V2__ConnectResponse)->task_pid, 0);
	reply_clear(&r);
	state("b", "", &r);
	cr_expect_eq(r.code, TTRPC_CODE_NOT_FOUND, "State of b while it is created: %s", r.msg);
	reply_clear(&r);
	cr_expect_lt(now_s() - t0, 5.0, "calls beside the hung create took %.1f s", now_s() - t0);
	cr_expect(!hung.done, "the hung Create was answered early: %s", hung.msg);

	/* the hung runtime dies: Create b fails, a is untouched */
	behave("create", "ok");
	FILE *f = fopen(strcat(strcpy((char[128]){ 0 }, dir), "/hung.pid"), "r");
	int hpid = 0;
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &hpid), 1);
	fclose(f);
	cr_assert_eq(kill(hpid, SIGKILL), 0);
	run_until_done(&hung);
	cr_expect_neq(hung.code, TTRPC_CODE_OK);
	cr_expect(strstr(hung.msg, "exit status 137") != NULL, "%s", hung.msg);
	reply_clear(&hung);
	cr_expect_eq(s.ncontainers, 1);
	delete_("a", "x1", &r); /* created, never started */
	EXPECT_OK(r, "Delete x1");
	reply_clear(&r);
	kill_wait_delete("a");
}

/* Failing runtime commands after create: the error is the runtime's own,
 * the process keeps its state. */
Test(shim_task, start_and_pids_fail_cleanly)
{
	struct reply r = { 0 };
	create("c1", &r);
	EXPECT_OK(r, "Create");
	reply_clear(&r);
	behave("start", "fail");
	start("c1", "", &r);
	cr_expect_neq(r.code, TTRPC_CODE_OK);
	cr_expect(strstr(r.msg, "fake start failed") != NULL, "%s", r.msg);
	reply_clear(&r);
	cr_expect_eq(state_status("c1", ""), SHIM_STATUS_CREATED);
	behave("start", "ok");
	start("c1", "", &r);
	EXPECT_OK(r, "Start");
	reply_clear(&r);
	behave("ps", "garbage");
	pids("c1", &r);
	cr_expect_neq(r.code, TTRPC_CODE_OK, "Pids of garbage answered OK");
	reply_clear(&r);
	behave("kill", "fail");
	kill_("c1", "", SIGTERM, &r);
	cr_expect(strstr(r.msg, "fake kill failed") != NULL, "%s", r.msg);
	reply_clear(&r);
	cr_expect_eq(state_status("c1", ""), SHIM_STATUS_RUNNING);
	behave("kill", "ok");
	kill_wait_delete("c1");
}

/* Shutdown: stays while a container lives, asks to exit once none is left. */
Test(shim_task, shutdown_waits_for_the_last_container)
{
	struct reply r = { 0 };
	run_container("c1");
	Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
	req.id = "c1";
	cr_assert_eq(containerd_task_v2_task_shutdown_call(client, &req, &call_opts, empty_done, &r), 0);
	run_until_done(&r);
	EXPECT_OK(r, "Shutdown");
	reply_clear(&r);
	ev_run(s.loop, EVRUN_NOWAIT);
	cr_expect(!exit_requested, "Shutdown with a container left asked to exit");
	kill_wait_delete("c1");
	cr_assert_eq(containerd_task_v2_task_shutdown_call(client, &req, &call_opts, empty_done, &r), 0);
	run_until_done(&r);
	EXPECT_OK(r, "Shutdown");
	reply_clear(&r);
	ev_run(s.loop, EVRUN_NOWAIT);
	cr_expect(exit_requested, "Shutdown of the last container did not ask to exit");
}

/* A runtime that hangs past its timeout (timeout_ms 300 in its runtime
 * config): killed, a clear error, no process or fd left, and a container of
 * the other runtime is served meanwhile and after. */
Test(shim_task, a_runtime_past_its_timeout_is_killed)
{
	struct reply hung = { 0 }, r = { 0 };
	run_container("a");
	int fds = count_fds();
	behave("create", "hang");
	runtime_json = "runtime-300ms.json";
	double t0 = now_s();
	create_async("b", &hung);
	run_until_file("hung.pid");
	cr_expect_eq(state_status("a", ""), SHIM_STATUS_RUNNING);
	run_until_done(&hung);
	double took = now_s() - t0;
	cr_expect_neq(hung.code, TTRPC_CODE_OK);
	cr_expect(strstr(hung.msg, "timed out after 300 ms") != NULL, "%s", hung.msg);
	cr_expect(took < 10, "the timed-out Create took %.1f s", took);
	reply_clear(&hung);
	FILE *f = fopen(strcat(strcpy((char[128]){ 0 }, dir), "/hung.pid"), "r");
	int hpid = 0;
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &hpid), 1);
	fclose(f);
	cr_expect(kill(hpid, 0) != 0, "the hung runtime %d is still there", hpid);
	cr_expect_eq(count_fds(), fds, "%d fds open, %d before", count_fds(), fds);
	state("b", "", &r);
	cr_expect_eq(r.code, TTRPC_CODE_NOT_FOUND, "%s", r.msg);
	reply_clear(&r);
	behave("create", "ok");
	kill_wait_delete("a");
}
