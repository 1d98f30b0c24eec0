/* SPDX-License-Identifier: Apache-2.0 */
/* containerd.runtime.sandbox.v1.Sandbox: the pod, for containerd 2.x's shim
 * sandbox controller (CRI with sandboxer = "shim"), on the socket that serves
 * Task v2 and v3. One sandbox per shim: the shim `start` made for it.
 *
 * The sandbox is a process of ours, the holder: forked at StartSandbox, it
 * joins CreateSandbox's netns_path (CRI's pod network namespace) when one is
 * given, takes new IPC and UTS namespaces, and sleeps until StopSandbox kills
 * it. Its pid is StartSandbox's pid, which CRI (and NRI) use as the pod's
 * process: containers of the pod join /proc/<pid>/ns/{net,ipc,uts}. It dies
 * with the shim (PR_SET_PDEATHSIG), so nothing outlives a shim that crashed.
 *
 * What containerd relies on (core/runtime/v2, plugins/sandbox, internal/cri):
 * StartSandbox returns created_at; WaitSandbox is called right after it and
 * blocks until the sandbox has stopped, then returns exit_status and
 * exited_at; SandboxStatus echoes sandbox_id, state SANDBOX_READY or
 * SANDBOX_NOTREADY; StopSandbox arrives with timeout_secs 0; ShutdownSandbox
 * ends the shim (once the pod's containers are gone: Task Shutdown keeps the
 * shim while the sandbox lives, see service.c); a sandbox id that is not ours
 * is NOT_FOUND. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "shim/container.h"
#include "shim/ids.h"
#include "shim/metrics.h"
#include "shim/shim.h"

#define POD_READY "SANDBOX_READY"
#define POD_NOTREADY "SANDBOX_NOTREADY"
/* How long StartSandbox waits for the holder to report its namespaces. */
#define POD_HOLDER_READY_MS 5000
/* The pod cgroup's rmdir after the holder is reaped: EBUSY retried this
 * often, this many times. */
#define POD_CGROUP_RETRY_MS 50
#define POD_CGROUP_TRIES 100
/* CRI's PodSandboxConfig: what containerd 2.x's CRI passes as
 * CreateSandboxRequest.options (sandbox.WithOptions(config), typeurl: the
 * bare message name). */
#define POD_CONFIG_TYPE "runtime.v1.PodSandboxConfig"

enum pod_state {
	POD_CREATED,
	POD_RUNNING,
	POD_STOPPING, /* holder reaped, its cgroup not removed yet */
	POD_STOPPED
};

struct pod_call {
	ttrpc_call *call;
	struct pod_call *next;
};

struct shim_pod {
	struct shim *s;
	char *id, *bundle, *netns;
	char *cgroup_parent;  /* PodSandboxConfig.linux.cgroup_parent, cgroupfs style; NULL: none */
	struct shim_podcg cg; /* "<cgroup_parent>/<id>" while it exists */
	ev_timer cg_retry;    /* EBUSY retries of its removal */
	int cg_tries;
	struct shim_exit holder_exit; /* while POD_STOPPING */
	enum pod_state state;
	pid_t pid; /* the holder while it runs, else 0 */
	int exit_status;
	struct timespec created_at, exited_at;
	struct pod_call *waiters;  /* WaitSandbox: answered once stopped */
	struct pod_call *stoppers; /* StopSandbox: answered once the holder is reaped */
	bool shutdown;		   /* ShutdownSandbox seen: exit once no container is left */
};

static void fail(struct shim *s, ttrpc_call *call, int code, const char *msg)
{
	shim_logf(&s->log, code == TTRPC_CODE_NOT_FOUND ? SHIM_LOG_DEBUG : SHIM_LOG_WARN, "%s: %s: %s",
		  ttrpc_call_method(call), ttrpc_code_name(code), msg);
	ttrpc_call_respond_error(call, code, "%s", msg);
}

/* The sandbox a request names: NOT_FOUND (answered) when it is not ours. */
static struct shim_pod *pod_for(struct shim *s, ttrpc_call *call, const char *id)
{
	if (s->pod && id && !strcmp(s->pod->id, id))
		return s->pod;
	char msg[SHIM_ID_MAX + 64];
	snprintf(msg, sizeof(msg), "sandbox %s: not found", id ? id : "");
	fail(s, call, TTRPC_CODE_NOT_FOUND, msg);
	return NULL;
}

static int add_call(struct pod_call **list, ttrpc_call *call)
{
	struct pod_call *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->call = call;
	pc->next = *list;
	*list = pc;
	return 0;
}

static void answer_wait(ttrpc_call *call, const struct shim_pod *pod)
{
	Google__Protobuf__Timestamp at;
	shim_timestamp(&pod->exited_at, &at);
	Containerd__Runtime__Sandbox__V1__WaitSandboxResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_RESPONSE__INIT;
	resp.exit_status = (uint32_t)pod->exit_status;
	resp.exited_at = &at;
	containerd_runtime_sandbox_v1_sandbox_wait_sandbox_respond(call, &resp);
}

/* Stopped (holder reaped, or stopped before it ever started): answer every
 * WaitSandbox and StopSandbox. */
static void pod_stopped(struct shim_pod *pod, int status, const struct timespec *at)
{
	pod->state = POD_STOPPED;
	pod->pid = 0;
	pod->exit_status = status;
	pod->exited_at = *at;
	shim_logf(&pod->s->log, SHIM_LOG_INFO, "sandbox %s stopped (exit status %d)", pod->id, status);
	while (pod->waiters) {
		struct pod_call *pc = pod->waiters;
		pod->waiters = pc->next;
		answer_wait(pc->call, pod);
		free(pc);
	}
	while (pod->stoppers) {
		struct pod_call *pc = pod->stoppers;
		pod->stoppers = pc->next;
		Containerd__Runtime__Sandbox__V1__StopSandboxResponse resp =
			CONTAINERD__RUNTIME__SANDBOX__V1__STOP_SANDBOX_RESPONSE__INIT;
		containerd_runtime_sandbox_v1_sandbox_stop_sandbox_respond(pc->call, &resp);
		free(pc);
	}
}

/* Remove the pod cgroup: 0 when gone (or given up on: logged), -EBUSY to
 * retry. */
static int cgroup_remove(struct shim_pod *pod, bool last_try)
{
	if (!pod->cg.n)
		return 0;
	struct shim_error err = { 0 };
	int rc = shim_podcg_remove(&pod->cg, &err);
	if (rc == -EBUSY && !last_try)
		return rc;
	if (rc)
		shim_logf(&pod->s->log, SHIM_LOG_WARN, "sandbox %s: %s (left behind)", pod->id, err.msg);
	else
		shim_logf(&pod->s->log, SHIM_LOG_DEBUG, "sandbox %s: cgroup removed", pod->id);
	shim_podcg_free(&pod->cg);
	return 0;
}

/* The holder is reaped: the sandbox stops once its cgroup is gone, so that
 * StopSandbox answers after the removal. */
static void cgroup_step(struct shim_pod *pod)
{
	if (cgroup_remove(pod, ++pod->cg_tries >= POD_CGROUP_TRIES) == -EBUSY) {
		ev_timer_set(&pod->cg_retry, POD_CGROUP_RETRY_MS / 1000.0, 0.);
		ev_timer_start(pod->s->loop, &pod->cg_retry);
		return;
	}
	pod_stopped(pod, pod->holder_exit.status, &pod->holder_exit.at);
}

static void on_cgroup_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	cgroup_step(w->data);
}

static void on_holder_exit(const struct shim_exit *exit, void *data)
{
	struct shim_pod *pod = data;
	pod->state = POD_STOPPING;
	pod->pid = 0;
	pod->holder_exit = *exit;
	pod->cg_tries = 0;
	cgroup_step(pod);
}

/* The holder: namespaces, then sleep until killed. Reports 0 or an errno on
 * report_fd, then closes it. Never returns. */
static void holder_main(const char *netns, const struct shim_podcg *cg, int report_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1); /* the shim is gone already */
	prctl(PR_SET_NAME, "tiny-sandbox");
	int rc = shim_podcg_join_self(cg), what = rc ? 1 : 0;
	if (!rc && netns && *netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			rc = errno;
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && unshare(CLONE_NEWIPC | CLONE_NEWUTS) != 0)
		rc = errno;
	int report[2] = { rc, what };
	ssize_t n;
	do
		n = write(report_fd, report, sizeof(report));
	while (n < 0 && errno == EINTR);
	if (rc)
		_exit(1);
	/* nothing of the shim's (sockets, pipes, the listener) stays open in
	 * it, however many fds the shim holds */
	if (close_range(0, ~0U, 0) != 0)
		for (int fd = 0; fd < 65536; fd++)
			close(fd);
	for (;;)
		pause();
}

/* Fork the holder and wait (bounded) for its report. */
static int holder_start(struct shim_pod *pod, pid_t *pid_out, char *msg, size_t msg_size)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(msg, msg_size, "pipe: %s", strerror(errno));
		return TTRPC_CODE_INTERNAL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, msg_size, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return TTRPC_CODE_INTERNAL;
	}
	if (pid == 0) {
		close(p[0]);
		holder_main(pod->netns, &pod->cg, p[1]);
	}
	close(p[1]);
	int report[2] = { -1, 0 };
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	int pr;
	do
		pr = poll(&pfd, 1, POD_HOLDER_READY_MS);
	while (pr < 0 && errno == EINTR);
	if (pr > 0 && read(p[0], report, sizeof(report)) != (ssize_t)sizeof(report))
		report[0] = -1;
	close(p[0]);
	int rc = report[0];
	if (rc != 0) {
		kill(pid, SIGKILL);
		struct shim_exit ex;
		shim_reaper_wait(pod->s->reaper, pid, 1000, &ex, NULL);
		if (rc > 0 && report[1])
			snprintf(msg, msg_size, "sandbox %s: join cgroup %s: %s", pod->id, pod->cg.dirs[0],
				 strerror(rc));
		else if (rc > 0 && pod->netns)
			snprintf(msg, msg_size, "sandbox %s: join netns %s, new ipc and uts namespaces: %s", pod->id,
				 pod->netns, strerror(rc));
		else if (rc > 0)
			snprintf(msg, msg_size, "sandbox %s: new ipc and uts namespaces: %s", pod->id, strerror(rc));
		else
			snprintf(msg, msg_size, "sandbox %s: its process did not start in %d ms", pod->id,
				 POD_HOLDER_READY_MS);
		return TTRPC_CODE_FAILED_PRECONDITION;
	}
	*pid_out = pid;
	return TTRPC_CODE_OK;
}

static void pod_free(struct shim_pod *pod)
{
	if (!pod)
		return;
	free(pod->id);
	free(pod->bundle);
	free(pod->netns);
	free(pod->cgroup_parent);
	shim_podcg_free(&pod->cg);
	free(pod);
}

/* Protobuf wire reading, for the one field of PodSandboxConfig we need (the
 * shim does not link the whole CRI API for it). */
static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The next field of [*p, end): its number, and for length-delimited ones
 * the bytes (*val, *len); other wire types are skipped. false when the
 * message does not parse. */
static bool pb_field(const uint8_t **p, const uint8_t *end, uint64_t *num, const uint8_t **val, size_t *len)
{
	uint64_t key, v;
	if (!pb_varint(p, end, &key) || key >> 3 == 0)
		return false;
	*num = key >> 3;
	*val = NULL;
	*len = 0;
	switch (key & 7) {
	case 0:
		return pb_varint(p, end, &v);
	case 1:
	case 5: {
		size_t n = (key & 7) == 1 ? 8 : 4;
		if ((size_t)(end - *p) < n)
			return false;
		*p += n;
		return true;
	}
	case 2:
		if (!pb_varint(p, end, &v) || v > (uint64_t)(end - *p))
			return false;
		*val = *p;
		*len = (size_t)v;
		*p += v;
		return true;
	default:
		return false; /* groups: not in proto3 */
	}
}

/* PodSandboxConfig.linux (8) .cgroup_parent (1); the last one wins, as
 * protobuf merges repeated occurrences. */
static bool pod_config_cgroup_parent(const uint8_t *p, size_t n, const uint8_t **parent, size_t *parent_len)
{
	const uint8_t *end = p + n;
	*parent = NULL;
	*parent_len = 0;
	while (p < end) {
		uint64_t num;
		const uint8_t *val;
		size_t len;
		if (!pb_field(&p, end, &num, &val, &len))
			return false;
		if (num != 8 || !val)
			continue;
		for (const uint8_t *q = val, *qend = val + len; q < qend;) {
			const uint8_t *v2;
			size_t l2;
			if (!pb_field(&q, qend, &num, &v2, &l2))
				return false;
			if (num == 1 && v2) {
				*parent = v2;
				*parent_len = l2;
			}
		}
	}
	return true;
}

/* The cgroup parent CRI gives in CreateSandboxRequest.options, cgroupfs style
 * (*out NULL: none). A systemd slice ("x.slice") is not created by us: the
 * pod then stays in the shim's cgroup (logged). 0, -EINVAL (msg filled) or
 * -ENOMEM. */
static int options_cgroup_parent(struct shim *s, const Containerd__Runtime__Sandbox__V1__CreateSandboxRequest *req,
				 char **out, char *msg, size_t msg_size)
{
	*out = NULL;
	const Google__Protobuf__Any *o = req->options;
	if (!o || !o->type_url || !*o->type_url)
		return 0;
	const char *slash = strrchr(o->type_url, '/');
	if (strcmp(slash ? slash + 1 : o->type_url, POD_CONFIG_TYPE)) {
		shim_logf(&s->log, SHIM_LOG_INFO, "sandbox %s: options of type %s ignored", req->sandbox_id,
			  o->type_url);
		return 0;
	}
	const uint8_t *parent;
	size_t len;
	if (!pod_config_cgroup_parent(o->value.data, o->value.len, &parent, &len)) {
		snprintf(msg, msg_size, "sandbox %s: options: a %s that does not parse", req->sandbox_id,
			 POD_CONFIG_TYPE);
		return -EINVAL;
	}
	if (!len)
		return 0;
	if (memchr(parent, '\0', len) || len >= PATH_MAX) {
		snprintf(msg, msg_size, "sandbox %s: cgroup parent: a NUL or too long", req->sandbox_id);
		return -EINVAL;
	}
	char *p = strndup((const char *)parent, len);
	if (!p)
		return -ENOMEM;
	size_t pl = strlen(p);
	if (!shim_cgroup_path_clean(p)) {
		snprintf(msg, msg_size, "sandbox %s: cgroup parent %s: not an absolute path of plain components",
			 req->sandbox_id, p);
		free(p);
		return -EINVAL;
	}
	if (pl > 6 && !strcmp(p + pl - 6, ".slice")) {
		shim_logf(&s->log, SHIM_LOG_WARN,
			  "sandbox %s: cgroup parent %s is a systemd slice: not supported (no D-Bus client), the "
			  "sandbox's process stays in the shim's cgroup",
			  req->sandbox_id, p);
		free(p);
		return 0;
	}
	*out = p;
	return 0;
}

static void create_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__CreateSandboxRequest *req,
			   void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	if (shim_id_validate("sandbox id", req->sandbox_id, &err))
		return fail(s, call, TTRPC_CODE_INVALID_ARGUMENT, err.msg);
	char msg[SHIM_ERROR_MSG_MAX];
	if (s->pod) {
		snprintf(msg, sizeof(msg), "sandbox %s: this shim serves sandbox %s already", req->sandbox_id,
			 s->pod->id);
		return fail(s, call, TTRPC_CODE_ALREADY_EXISTS, msg);
	}
	if (req->n_rootfs) {
		snprintf(msg, sizeof(msg), "sandbox %s: a rootfs for the sandbox itself is not supported",
			 req->sandbox_id);
		return fail(s, call, TTRPC_CODE_INVALID_ARGUMENT, msg);
	}
	struct stat st;
	if (req->netns_path && *req->netns_path && stat(req->netns_path, &st) != 0) {
		snprintf(msg, sizeof(msg), "sandbox %s: netns %s: %s", req->sandbox_id, req->netns_path,
			 strerror(errno));
		return fail(s, call, TTRPC_CODE_FAILED_PRECONDITION, msg);
	}
	char *cgroup_parent = NULL;
	int rc = options_cgroup_parent(s, req, &cgroup_parent, msg, sizeof(msg));
	if (rc)
		return fail(s, call, rc == -ENOMEM ? TTRPC_CODE_RESOURCE_EXHAUSTED : TTRPC_CODE_INVALID_ARGUMENT, msg);
	struct shim_pod *pod = calloc(1, sizeof(*pod));
	if (pod) {
		pod->s = s;
		pod->cgroup_parent = cgroup_parent;
		ev_timer_init(&pod->cg_retry, on_cgroup_retry, 0., 0.);
		pod->cg_retry.data = pod;
		pod->id = strdup(req->sandbox_id);
		pod->bundle = strdup(req->bundle_path ? req->bundle_path : "");
		pod->netns = req->netns_path && *req->netns_path ? strdup(req->netns_path) : NULL;
	}
	if (!pod || !pod->id || !pod->bundle || (req->netns_path && *req->netns_path && !pod->netns)) {
		if (!pod)
			free(cgroup_parent);
		pod_free(pod);
		return fail(s, call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
	}
	pod->state = POD_CREATED;
	s->pod = pod;
	shim_logf(&s->log, SHIM_LOG_INFO, "sandbox %s created (bundle %s, netns %s, cgroup parent %s)", pod->id,
		  pod->bundle, pod->netns ? pod->netns : "none", pod->cgroup_parent ? pod->cgroup_parent : "none");
	Containerd__Runtime__Sandbox__V1__CreateSandboxResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__CREATE_SANDBOX_RESPONSE__INIT;
	containerd_runtime_sandbox_v1_sandbox_create_sandbox_respond(call, &resp);
}

static void start_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__StartSandboxRequest *req,
			  void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	char msg[SHIM_ERROR_MSG_MAX];
	if (pod->state != POD_CREATED) {
		snprintf(msg, sizeof(msg), "sandbox %s: %s", pod->id,
			 pod->state == POD_RUNNING ? "started already" : "stopped");
		return fail(s, call, TTRPC_CODE_FAILED_PRECONDITION, msg);
	}
	if (pod->cgroup_parent) {
		struct shim_error err = { 0 };
		if (shim_podcg_create(NULL, NULL, pod->cgroup_parent, pod->id, &pod->cg, &err))
			return fail(s, call, err.code ? err.code : TTRPC_CODE_INTERNAL, err.msg);
	}
	pid_t pid = 0;
	int code = holder_start(pod, &pid, msg, sizeof(msg));
	if (code != TTRPC_CODE_OK) {
		cgroup_remove(pod, true); /* the holder is reaped */
		return fail(s, call, code, msg);
	}
	struct shim_exit ex;
	int w = shim_reaper_watch(s->reaper, pid, on_holder_exit, pod, &ex);
	if (w < 0) {
		kill(pid, SIGKILL);
		shim_reaper_wait(s->reaper, pid, 1000, &ex, NULL);
		cgroup_remove(pod, true);
		return fail(s, call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
	}
	clock_gettime(CLOCK_REALTIME, &pod->created_at);
	pod->state = POD_RUNNING;
	pod->pid = pid;
	shim_logf(&s->log, SHIM_LOG_INFO, "sandbox %s started (pid %d, cgroup %s)", pod->id, (int)pid,
		  pod->cg.n ? pod->cg.dirs[0] : "the shim's");
	Google__Protobuf__Timestamp created;
	shim_timestamp(&pod->created_at, &created);
	Containerd__Runtime__Sandbox__V1__StartSandboxResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__START_SANDBOX_RESPONSE__INIT;
	resp.pid = (uint32_t)pid;
	resp.created_at = &created;
	containerd_runtime_sandbox_v1_sandbox_start_sandbox_respond(call, &resp);
	if (w == 1)
		on_holder_exit(&ex, pod); /* died at once */
}

/* Go's GOARCH for uname's machine, and the variant containerd's platforms
 * package reports. */
static void go_arch(const char *machine, const char **arch, const char **variant)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", "" },    { "aarch64", "arm64", "v8" }, { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },    { "i686", "386", "" },	    { "i386", "386", "" },
		{ "ppc64le", "ppc64le", "" }, { "s390x", "s390x", "" },	    { "riscv64", "riscv64", "" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(machine, map[i].machine)) {
			*arch = map[i].arch;
			*variant = map[i].variant;
			return;
		}
	}
	*arch = machine;
	*variant = "";
}

static void platform(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__PlatformRequest *req, void *user)
{
	struct shim *s = user;
	if (!pod_for(s, call, req->sandbox_id))
		return;
	struct utsname u;
	if (uname(&u) != 0)
		return fail(s, call, TTRPC_CODE_INTERNAL, "uname failed");
	const char *arch, *variant;
	go_arch(u.machine, &arch, &variant);
	Containerd__Types__Platform p = CONTAINERD__TYPES__PLATFORM__INIT;
	p.os = "linux";
	p.architecture = (char *)arch;
	p.variant = (char *)variant;
	Containerd__Runtime__Sandbox__V1__PlatformResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__PLATFORM_RESPONSE__INIT;
	resp.platform = &p;
	containerd_runtime_sandbox_v1_sandbox_platform_respond(call, &resp);
}

/* Kill the holder: its exit stops the sandbox (on_holder_exit). */
static void holder_kill(struct shim_pod *pod)
{
	if (pod->state == POD_RUNNING && pod->pid > 0 && kill(pod->pid, SIGKILL) != 0 && errno != ESRCH)
		shim_logf(&pod->s->log, SHIM_LOG_WARN, "sandbox %s: kill %d: %s", pod->id, (int)pod->pid,
			  strerror(errno));
}

static void stop_now(struct shim_pod *pod)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	pod_stopped(pod, 0, &now);
}

static void stop_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__StopSandboxRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	if (pod->state == POD_CREATED || pod->state == POD_STOPPED) {
		if (pod->state == POD_CREATED)
			stop_now(pod); /* never started: nothing to kill */
		Containerd__Runtime__Sandbox__V1__StopSandboxResponse resp =
			CONTAINERD__RUNTIME__SANDBOX__V1__STOP_SANDBOX_RESPONSE__INIT;
		containerd_runtime_sandbox_v1_sandbox_stop_sandbox_respond(call, &resp);
		return;
	}
	if (add_call(&pod->stoppers, call))
		return fail(s, call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
	/* The holder only sleeps: nothing to flush, no grace period to give. */
	holder_kill(pod);
}

static void wait_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__WaitSandboxRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	if (pod->state == POD_STOPPED)
		return answer_wait(call, pod);
	if (add_call(&pod->waiters, call))
		fail(s, call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
}

static void sandbox_status(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__SandboxStatusRequest *req,
			   void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	Google__Protobuf__Timestamp created, exited;
	Containerd__Runtime__Sandbox__V1__SandboxStatusResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_STATUS_RESPONSE__INIT;
	resp.sandbox_id = pod->id;
	resp.pid = (uint32_t)pod->pid;
	resp.state = pod->state == POD_RUNNING ? POD_READY : POD_NOTREADY;
	if (pod->created_at.tv_sec) {
		shim_timestamp(&pod->created_at, &created);
		resp.created_at = &created;
	}
	if (pod->state == POD_STOPPED) {
		shim_timestamp(&pod->exited_at, &exited);
		resp.exited_at = &exited;
	}
	Containerd__Runtime__Sandbox__V1__SandboxStatusResponse__InfoEntry e[2], *info[2];
	char shim_pid[16];
	size_t n = 0;
	if (req->verbose) {
		snprintf(shim_pid, sizeof(shim_pid), "%d", (int)getpid());
		const char *keys[] = { "shim_pid", "netns_path" };
		const char *vals[] = { shim_pid, pod->netns ? pod->netns : "" };
		for (size_t i = 0; i < 2; i++) {
			containerd__runtime__sandbox__v1__sandbox_status_response__info_entry__init(&e[i]);
			e[i].key = (char *)keys[i];
			e[i].value = (char *)vals[i];
			info[n++] = &e[i];
		}
	}
	resp.n_info = n;
	resp.info = info;
	containerd_runtime_sandbox_v1_sandbox_sandbox_status_respond(call, &resp);
}

static void ping_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__PingRequest *req, void *user)
{
	struct shim *s = user;
	if (!pod_for(s, call, req->sandbox_id))
		return;
	Containerd__Runtime__Sandbox__V1__PingResponse resp = CONTAINERD__RUNTIME__SANDBOX__V1__PING_RESPONSE__INIT;
	containerd_runtime_sandbox_v1_sandbox_ping_sandbox_respond(call, &resp);
}

/* Answer what still waits (the shim goes, or the sandbox is shut down). */
static void fail_calls(struct shim_pod *pod, const char *why)
{
	char msg[SHIM_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), "sandbox %s: %s", pod->id, why);
	for (struct pod_call **list = &pod->waiters; list; list = list == &pod->waiters ? &pod->stoppers : NULL) {
		while (*list) {
			struct pod_call *pc = *list;
			*list = pc->next;
			ttrpc_call_respond_error(pc->call, TTRPC_CODE_UNAVAILABLE, "%s", msg);
			free(pc);
		}
	}
}

/* Drop the sandbox: its holder is killed (and reaped by the reaper as an
 * unwatched exit), calls still waiting fail. */
static void pod_drop(struct shim *s, const char *why)
{
	struct shim_pod *pod = s->pod;
	if (!pod)
		return;
	if (pod->state == POD_RUNNING) {
		shim_reaper_unwatch(s->reaper, pod->pid, on_holder_exit, pod);
		holder_kill(pod);
		if (pod->cg.n) {
			/* its cgroup goes once it is reaped: a SIGKILLed pause() is
			 * gone at once, the wait is a bound, not a delay */
			struct shim_exit ex;
			shim_reaper_wait(s->reaper, pod->pid, 1000, &ex, NULL);
		}
	}
	ev_timer_stop(s->loop, &pod->cg_retry);
	cgroup_remove(pod, true);
	fail_calls(pod, why);
	s->pod = NULL;
	pod_free(pod);
}

static void shutdown_sandbox(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__ShutdownSandboxRequest *req,
			     void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	shim_logf(&s->log, SHIM_LOG_INFO, "sandbox %s: shutdown (%zu containers left)", pod->id, s->ncontainers);
	pod_drop(s, "shut down");
	Containerd__Runtime__Sandbox__V1__ShutdownSandboxResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__SHUTDOWN_SANDBOX_RESPONSE__INIT;
	containerd_runtime_sandbox_v1_sandbox_shutdown_sandbox_respond(call, &resp);
	/* containers still there keep the shim until their Task Shutdown */
	if (s->ncontainers == 0)
		shim_request_exit(s);
}

static void sandbox_metrics(ttrpc_call *call, const Containerd__Runtime__Sandbox__V1__SandboxMetricsRequest *req,
			    void *user)
{
	struct shim *s = user;
	struct shim_pod *pod = pod_for(s, call, req->sandbox_id);
	if (!pod)
		return;
	char msg[SHIM_ERROR_MSG_MAX];
	if (pod->state != POD_RUNNING) {
		snprintf(msg, sizeof(msg), "sandbox %s: not running", pod->id);
		return fail(s, call, TTRPC_CODE_FAILED_PRECONDITION, msg);
	}
	Google__Protobuf__Any data = GOOGLE__PROTOBUF__ANY__INIT;
	struct shim_error err = { 0 };
	if (shim_metrics_of_pid(pod->pid, &data, &err))
		return fail(s, call, err.code ? err.code : TTRPC_CODE_INTERNAL, err.msg);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&now, &ts);
	Containerd__Types__Metric m = CONTAINERD__TYPES__METRIC__INIT;
	m.timestamp = &ts;
	m.id = pod->id;
	m.data = &data;
	Containerd__Runtime__Sandbox__V1__SandboxMetricsResponse resp =
		CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_METRICS_RESPONSE__INIT;
	resp.metrics = &m;
	containerd_runtime_sandbox_v1_sandbox_sandbox_metrics_respond(call, &resp);
	free(data.value.data);
}

static const struct containerd_runtime_sandbox_v1_sandbox_handlers handlers = {
	.create_sandbox = create_sandbox,
	.start_sandbox = start_sandbox,
	.platform = platform,
	.stop_sandbox = stop_sandbox,
	.wait_sandbox = wait_sandbox,
	.sandbox_status = sandbox_status,
	.ping_sandbox = ping_sandbox,
	.shutdown_sandbox = shutdown_sandbox,
	.sandbox_metrics = sandbox_metrics,
};

int shim_sandbox_service_register(struct shim *s)
{
	s->sandbox_service.handlers = &handlers;
	s->sandbox_service.user = s;
	return containerd_runtime_sandbox_v1_sandbox_register(s->server, &s->sandbox_service);
}

void shim_sandbox_service_close(struct shim *s)
{
	pod_drop(s, "shim exiting");
}
