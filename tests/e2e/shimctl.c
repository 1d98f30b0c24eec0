/* SPDX-License-Identifier: Apache-2.0 */
/* shimctl: call a running shim's Task service directly, for the e2e tests of
 * what ctr cannot reach (Update, Stats, Connect of an unknown id, Create
 * without Start, Delete of a running task, ...).
 *   shimctl SOCKET NAMESPACE connect ID
 *   shimctl SOCKET NAMESPACE update ID RESOURCES_JSON
 *   shimctl SOCKET NAMESPACE stats ID   (prints "type=T pids=N memory_usage=N memory_limit=N cpu_usage_ns=N")
 *   shimctl SOCKET NAMESPACE state ID [EXEC_ID]   (" exec_id=E" appended when the answer has one)
 *   shimctl SOCKET NAMESPACE pids ID   (a line per process: "pid=N", then " type=URL exec_id=E" when tagged)
 *   shimctl SOCKET NAMESPACE resize ID WIDTH HEIGHT [EXEC_ID]
 *   shimctl SOCKET NAMESPACE create ID BUNDLE [--mount TYPE SOURCE OPTS [--target T]]... [--config RUNTIME_JSON]
 *                                            [--runc-binary NAME] [--stdin PATH] [--stdout PATH] [--stderr PATH]
 *                                            [--checkpoint PATH] [--parent-checkpoint PATH]
 *       OPTS: comma-separated mount options, or "" for none; --target sets the last mount's target;
 *       --runc-binary sends containerd.runc.v1.Options{binary_name} (instead of --config's
 *       runtimeoptions.v1.Options{config_path})
 *   shimctl SOCKET NAMESPACE exec ID EXEC_ID [--stdin PATH] [--stdout PATH] [--stderr PATH] [--spec JSON]
 *   shimctl SOCKET NAMESPACE checkpoint ID PATH
 *   shimctl SOCKET NAMESPACE start ID [EXEC_ID]
 *   shimctl SOCKET NAMESPACE delete ID [EXEC_ID]
 *   shimctl SOCKET NAMESPACE kill ID SIGNAL [EXEC_ID] [--all]
 *   shimctl SOCKET NAMESPACE wait ID [EXEC_ID] [--announce]  (prints "pending" once the shim holds it)
 *   shimctl SOCKET NAMESPACE pause|resume ID
 *   shimctl SOCKET NAMESPACE shutdown ID [--now]
 * A first argument --as UID:GID[:dac] makes shimctl drop to that uid and gid
 * before it connects (":dac" keeps CAP_DAC_OVERRIDE, so file permissions do
 * not stop it and the shim's own credential check is what is tested).
 * Prints the answer, or "CODE: message" and exits 1 on an error status; 2 on
 * a usage or connection error (a connection the shim closes: "UNAVAILABLE: ...", 1). Every call is bounded:
 * SHIMCTL_TIMEOUT_S seconds (default 10; wait: 60). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ev.h>

#include "containerd/runc/v1/options.pb-c.h"
#include "io/containerd/cgroups/v1/metrics.pb-c.h"
#include "io/containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "runtimeoptions/v1/api.pb-c.h"

#define MAX_MOUNTS 8
#define MAX_OPTIONS 32

static int report(int code, const struct ttrpc_result *st)
{
	if (code == TTRPC_CODE_OK)
		return 0;
	printf("%s: %s\n", ttrpc_code_name(code), st->message ? st->message : "");
	return 1;
}

/* The few numbers the e2e tests compare with the cgroup's own files. */
static int print_stats(const Google__Protobuf__Any *any)
{
	if (!any || !any->type_url) {
		printf("stats: no Any in the answer\n");
		return -1;
	}
	if (!strcmp(any->type_url, "io.containerd.cgroups.v1.Metrics")) {
		Io__Containerd__Cgroups__V1__Metrics *m =
			io__containerd__cgroups__v1__metrics__unpack(NULL, any->value.len, any->value.data);
		if (!m) {
			printf("stats: %s does not decode\n", any->type_url);
			return -1;
		}
		printf("type=v1 pids=%llu memory_usage=%llu memory_limit=%llu cpu_usage_ns=%llu\n",
		       (unsigned long long)(m->pids ? m->pids->current : 0),
		       (unsigned long long)(m->memory && m->memory->usage ? m->memory->usage->usage : 0),
		       (unsigned long long)(m->memory && m->memory->usage ? m->memory->usage->limit : 0),
		       (unsigned long long)(m->cpu && m->cpu->usage ? m->cpu->usage->total : 0));
		io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
		return 0;
	}
	if (!strcmp(any->type_url, "io.containerd.cgroups.v2.Metrics")) {
		Io__Containerd__Cgroups__V2__Metrics *m =
			io__containerd__cgroups__v2__metrics__unpack(NULL, any->value.len, any->value.data);
		if (!m) {
			printf("stats: %s does not decode\n", any->type_url);
			return -1;
		}
		printf("type=v2 pids=%llu memory_usage=%llu memory_limit=%llu cpu_usage_ns=%llu\n",
		       (unsigned long long)(m->pids ? m->pids->current : 0),
		       (unsigned long long)(m->memory ? m->memory->usage : 0),
		       (unsigned long long)(m->memory ? m->memory->usage_limit : 0),
		       (unsigned long long)(m->cpu ? m->cpu->usage_usec * 1000 : 0));
		io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
		return 0;
	}
	printf("stats: unexpected type %s\n", any->type_url);
	return -1;
}

/* One process of a Pids answer; info, when there, must be a
 * containerd.runc.v1.ProcessDetails (whatever prefix its type URL has). */
static int print_process(const Containerd__V1__Types__ProcessInfo *pi)
{
	printf("pid=%u", pi->pid);
	if (!pi->info) {
		printf("\n");
		return 0;
	}
	const char *url = pi->info->type_url ? pi->info->type_url : "";
	const char *slash = strrchr(url, '/');
	if (strcmp(slash ? slash + 1 : url, "containerd.runc.v1.ProcessDetails")) {
		printf(" type=%s: not containerd.runc.v1.ProcessDetails\n", url);
		return -1;
	}
	Containerd__Runc__V1__ProcessDetails *d =
		containerd__runc__v1__process_details__unpack(NULL, pi->info->value.len, pi->info->value.data);
	if (!d) {
		printf(" type=%s: does not decode\n", url);
		return -1;
	}
	printf(" type=%s exec_id=%s\n", url, d->exec_id);
	containerd__runc__v1__process_details__free_unpacked(d, NULL);
	return 0;
}

/* --as UID:GID[:dac]: become uid:gid (no supplementary groups); with dac,
 * keep CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH effective. */
static int drop_to(const char *spec)
{
	unsigned uid, gid;
	char extra[8] = "";
	if (sscanf(spec, "%u:%u:%7s", &uid, &gid, extra) < 2 || (extra[0] && strcmp(extra, "dac"))) {
		fprintf(stderr, "shimctl: --as UID:GID[:dac], not %s\n", spec);
		return -1;
	}
	bool dac = !strcmp(extra, "dac");
	if (dac && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		perror("shimctl: prctl(PR_SET_KEEPCAPS)");
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		perror("shimctl: drop to --as");
		return -1;
	}
	if (dac) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof(d));
		d[0].permitted = d[0].effective = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
		if (syscall(SYS_capset, &h, d) != 0) {
			perror("shimctl: capset CAP_DAC_OVERRIDE");
			return -1;
		}
	}
	return 0;
}

static void print_exit(const char *prefix, uint32_t pid, uint32_t status, const Google__Protobuf__Timestamp *at)
{
	long long secs = at ? (long long)at->seconds : 0;
	int nanos = at ? at->nanos : 0;
	if (prefix)
		printf("%spid=%u ", prefix, pid);
	printf("exit_status=%u exited_at=%lld.%09d\n", status, secs, nanos);
}

static void free_resp(void *resp)
{
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
}

/* Split a comma-separated list in place into out[]; returns the count. */
static size_t split_options(char *list, char **out, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

static int do_create(ttrpc_client *c, const struct ttrpc_call_opts *opts, int argc, char **argv,
		     struct ttrpc_result *st)
{
	/* argv: ID BUNDLE [flags...] */
	if (argc < 2) {
		fprintf(stderr, "shimctl: create ID BUNDLE [--mount TYPE SOURCE OPTS]... [--config JSON]\n");
		return 2;
	}
	Containerd__Types__Mount mounts[MAX_MOUNTS], *mptrs[MAX_MOUNTS];
	char *options[MAX_MOUNTS][MAX_OPTIONS];
	size_t nmounts = 0;
	Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Runtimeoptions__V1__Options ro = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	uint8_t *packed = NULL;
	const char *runc_binary = NULL;
	req.id = argv[0];
	req.bundle = argv[1];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--mount")) {
			if (i + 3 >= argc || nmounts >= MAX_MOUNTS) {
				fprintf(stderr, "shimctl: --mount needs TYPE SOURCE OPTS (at most %d mounts)\n",
					MAX_MOUNTS);
				return 2;
			}
			Containerd__Types__Mount *m = &mounts[nmounts];
			containerd__types__mount__init(m);
			m->type = argv[i + 1];
			m->source = argv[i + 2];
			m->options = options[nmounts];
			m->n_options = split_options(argv[i + 3], options[nmounts], MAX_OPTIONS);
			mptrs[nmounts] = m;
			nmounts++;
			i += 3;
		} else if (!strcmp(argv[i], "--target") && i + 1 < argc && nmounts > 0) {
			mounts[nmounts - 1].target = argv[++i];
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			ro.config_path = argv[++i];
		} else if (!strcmp(argv[i], "--runc-binary") && i + 1 < argc) {
			runc_binary = argv[++i];
		} else if (!strcmp(argv[i], "--stdin") && i + 1 < argc) {
			req.stdin = argv[++i];
		} else if (!strcmp(argv[i], "--stdout") && i + 1 < argc) {
			req.stdout = argv[++i];
		} else if (!strcmp(argv[i], "--stderr") && i + 1 < argc) {
			req.stderr = argv[++i];
		} else if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) {
			req.checkpoint = argv[++i];
		} else if (!strcmp(argv[i], "--parent-checkpoint") && i + 1 < argc) {
			req.parent_checkpoint = argv[++i];
		} else {
			fprintf(stderr, "shimctl: create: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	req.n_rootfs = nmounts;
	req.rootfs = mptrs;
	if (ro.config_path && *ro.config_path) { /* (INIT makes it "", not NULL) */
		size_t n = runtimeoptions__v1__options__get_packed_size(&ro);
		packed = malloc(n ? n : 1);
		if (!packed)
			return 2;
		runtimeoptions__v1__options__pack(&ro, packed);
		any.type_url = "runtimeoptions.v1.Options";
		any.value.data = packed;
		any.value.len = n;
		req.options = &any;
	} else if (runc_binary) {
		Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
		o.binary_name = (char *)runc_binary;
		size_t n = containerd__runc__v1__options__get_packed_size(&o);
		packed = malloc(n ? n : 1);
		if (!packed)
			return 2;
		containerd__runc__v1__options__pack(&o, packed);
		any.type_url = "containerd.runc.v1.Options";
		any.value.data = packed;
		any.value.len = n;
		req.options = &any;
	}
	Containerd__Task__V2__CreateTaskResponse *resp = NULL;
	int rc = report(containerd_task_v2_task_create_call_sync(c, &req, opts, &resp, st), st);
	if (resp)
		printf("pid=%u\n", resp->pid);
	free_resp(resp);
	free(packed);
	return rc;
}

/* exec ID EXEC_ID [--stdin P] [--stdout P] [--stderr P] [--spec JSON] */
static int do_exec(ttrpc_client *c, const struct ttrpc_call_opts *opts, int argc, char **argv, struct ttrpc_result *st)
{
	if (argc < 2) {
		fprintf(stderr, "shimctl: exec ID EXEC_ID [--stdin P] [--stdout P] [--stderr P] [--spec JSON]\n");
		return 2;
	}
	Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
	Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
	const char *json = "{\"args\":[\"/bin/true\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"]}";
	req.id = argv[0];
	req.exec_id = argv[1];
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "shimctl: exec: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--stdin"))
			req.stdin = argv[++i];
		else if (!strcmp(argv[i], "--stdout"))
			req.stdout = argv[++i];
		else if (!strcmp(argv[i], "--stderr"))
			req.stderr = argv[++i];
		else if (!strcmp(argv[i], "--spec"))
			json = argv[++i];
		else {
			fprintf(stderr, "shimctl: exec: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
	spec.value.data = (uint8_t *)json;
	spec.value.len = strlen(json);
	req.spec = &spec;
	Google__Protobuf__Empty *resp = NULL;
	int rc = report(containerd_task_v2_task_exec_call_sync(c, &req, opts, &resp, st), st);
	free_resp(resp);
	return rc;
}

struct wait_state {
	bool done;
	int rc;
};

static void wait_done(const struct ttrpc_result *st, const Containerd__Task__V2__WaitResponse *resp, void *user)
{
	struct wait_state *w = user;
	w->done = true;
	w->rc = report(st->code, st);
	if (resp)
		print_exit(NULL, 0, resp->exit_status, resp->exited_at);
	fflush(stdout);
}

/* wait ID [EXEC_ID] [--announce]. With --announce the Wait goes out first and
 * a State call follows on the same connection: the shim reads a connection's
 * calls in order, so once State is answered the Wait is pending in the shim,
 * and "pending" is printed (for a test that must act only then). */
static int do_wait(ttrpc_client *c, const struct ttrpc_call_opts *opts, int argc, char **argv)
{
	Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
	bool announce = false;
	req.id = argv[0];
	req.exec_id = "";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--announce"))
			announce = true;
		else
			req.exec_id = argv[i];
	}
	struct wait_state w = { false, 2 };
	if (containerd_task_v2_task_wait_call(c, &req, opts, wait_done, &w) != 0) {
		fprintf(stderr, "shimctl: wait: cannot send the call\n");
		return 2;
	}
	if (announce) {
		Containerd__Task__V2__StateRequest sreq = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
		Containerd__Task__V2__StateResponse *sresp = NULL;
		struct ttrpc_result st = { 0 };
		sreq.id = req.id;
		sreq.exec_id = req.exec_id;
		int code = containerd_task_v2_task_state_call_sync(c, &sreq, opts, &sresp, &st);
		free_resp(sresp);
		ttrpc_result_clear(&st);
		if (code == TTRPC_CODE_OK && !w.done) {
			printf("pending\n");
			fflush(stdout);
		}
	}
	while (!w.done)
		ev_run(ttrpc_client_loop(c), EVRUN_ONCE);
	return w.rc;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--as")) {
		if (drop_to(argv[2]) != 0)
			return 2;
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: shimctl SOCKET NAMESPACE VERB ID [ARGS] (see the source)\n");
		return 2;
	}
	const char *path = strncmp(argv[1], "unix://", 7) ? argv[1] : argv[1] + 7;
	const char *verb = argv[3], *id = argv[4];
	const char *arg5 = argc > 5 ? argv[5] : "";
	double timeout_s = !strcmp(verb, "wait") ? 60 : 10;
	const char *env = getenv("SHIMCTL_TIMEOUT_S");
	if (env && atof(env) > 0)
		timeout_s = atof(env);
	int err;
	ttrpc_client *c = ttrpc_client_connect(NULL, path, &err);
	if (!c) {
		fprintf(stderr, "shimctl: connect %s: %s\n", path, ttrpc_strerror(err));
		return 2;
	}
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "containerd-namespace-ttrpc", argv[2]);
	struct ttrpc_call_opts opts = { .timeout_ns = (int64_t)(timeout_s * 1e9), .md = md };
	struct ttrpc_result st = { 0 };
	int rc = 2;
	if (!strcmp(verb, "connect")) {
		Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
		Containerd__Task__V2__ConnectResponse *resp = NULL;
		req.id = (char *)id;
		rc = report(containerd_task_v2_task_connect_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			printf("shim_pid=%u task_pid=%u version=%s\n", resp->shim_pid, resp->task_pid, resp->version);
		free_resp(resp);
	} else if (!strcmp(verb, "update") && argc == 6) {
		Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
		any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
		any.value.data = (uint8_t *)argv[5];
		any.value.len = strlen(argv[5]);
		Containerd__Task__V2__UpdateTaskRequest req = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.resources = &any;
		rc = report(containerd_task_v2_task_update_call_sync(c, &req, &opts, &resp, &st), &st);
		free_resp(resp);
	} else if (!strcmp(verb, "stats")) {
		Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
		Containerd__Task__V2__StatsResponse *resp = NULL;
		req.id = (char *)id;
		rc = report(containerd_task_v2_task_stats_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp && print_stats(resp->stats))
			rc = 1;
		free_resp(resp);
	} else if (!strcmp(verb, "state")) {
		Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
		Containerd__Task__V2__StateResponse *resp = NULL;
		req.id = (char *)id;
		req.exec_id = (char *)arg5;
		rc = report(containerd_task_v2_task_state_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			printf("id=%s pid=%u status=%d exit_status=%u%s%s\n", resp->id, resp->pid, resp->status,
			       resp->exit_status, resp->exec_id && *resp->exec_id ? " exec_id=" : "",
			       resp->exec_id ? resp->exec_id : "");
		free_resp(resp);
	} else if (!strcmp(verb, "pids")) {
		Containerd__Task__V2__PidsRequest req = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
		Containerd__Task__V2__PidsResponse *resp = NULL;
		req.id = (char *)id;
		rc = report(containerd_task_v2_task_pids_call_sync(c, &req, &opts, &resp, &st), &st);
		for (size_t i = 0; resp && i < resp->n_processes; i++)
			if (print_process(resp->processes[i]))
				rc = 1;
		free_resp(resp);
	} else if (!strcmp(verb, "resize") && argc >= 7) {
		Containerd__Task__V2__ResizePtyRequest req = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.width = (uint32_t)strtoul(argv[5], NULL, 10);
		req.height = (uint32_t)strtoul(argv[6], NULL, 10);
		req.exec_id = argc > 7 ? argv[7] : "";
		rc = report(containerd_task_v2_task_resize_pty_call_sync(c, &req, &opts, &resp, &st), &st);
		free_resp(resp);
	} else if (!strcmp(verb, "exec")) {
		rc = do_exec(c, &opts, argc - 4, argv + 4, &st);
	} else if (!strcmp(verb, "checkpoint") && argc == 6) {
		Containerd__Task__V2__CheckpointTaskRequest req = CONTAINERD__TASK__V2__CHECKPOINT_TASK_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.path = argv[5];
		rc = report(containerd_task_v2_task_checkpoint_call_sync(c, &req, &opts, &resp, &st), &st);
		free_resp(resp);
	} else if (!strcmp(verb, "create")) {
		rc = do_create(c, &opts, argc - 4, argv + 4, &st);
	} else if (!strcmp(verb, "start")) {
		Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
		Containerd__Task__V2__StartResponse *resp = NULL;
		req.id = (char *)id;
		req.exec_id = (char *)arg5;
		rc = report(containerd_task_v2_task_start_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			printf("pid=%u\n", resp->pid);
		free_resp(resp);
	} else if (!strcmp(verb, "delete")) {
		Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
		Containerd__Task__V2__DeleteResponse *resp = NULL;
		req.id = (char *)id;
		req.exec_id = (char *)arg5;
		rc = report(containerd_task_v2_task_delete_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			print_exit("", resp->pid, resp->exit_status, resp->exited_at);
		free_resp(resp);
	} else if (!strcmp(verb, "kill") && argc >= 6) {
		Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.signal = (uint32_t)strtoul(argv[5], NULL, 10);
		req.exec_id = "";
		for (int i = 6; i < argc; i++) {
			if (!strcmp(argv[i], "--all"))
				req.all = 1;
			else
				req.exec_id = argv[i];
		}
		rc = report(containerd_task_v2_task_kill_call_sync(c, &req, &opts, &resp, &st), &st);
		free_resp(resp);
	} else if (!strcmp(verb, "wait")) {
		rc = do_wait(c, &opts, argc - 4, argv + 4);
	} else if (!strcmp(verb, "pause") || !strcmp(verb, "resume")) {
		Google__Protobuf__Empty *resp = NULL;
		if (!strcmp(verb, "pause")) {
			Containerd__Task__V2__PauseRequest req = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
			req.id = (char *)id;
			rc = report(containerd_task_v2_task_pause_call_sync(c, &req, &opts, &resp, &st), &st);
		} else {
			Containerd__Task__V2__ResumeRequest req = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;
			req.id = (char *)id;
			rc = report(containerd_task_v2_task_resume_call_sync(c, &req, &opts, &resp, &st), &st);
		}
		free_resp(resp);
	} else if (!strcmp(verb, "shutdown")) {
		Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.now = !strcmp(arg5, "--now");
		rc = report(containerd_task_v2_task_shutdown_call_sync(c, &req, &opts, &resp, &st), &st);
		free_resp(resp);
	} else {
		fprintf(stderr, "shimctl: unknown verb or missing arguments: %s\n", verb);
	}
	ttrpc_result_clear(&st);
	ttrpc_md_free(md);
	ttrpc_client_free(c);
	return rc;
}
