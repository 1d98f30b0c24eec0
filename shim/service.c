/* SPDX-License-Identifier: Apache-2.0 */
/* The Task service: containerd.task.v2.Task over the generated stubs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/runc/v1/options.pb-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/logger.h"
#include "shim/ids.h"
#include "shim/metrics.h"
#include "shim/mount.h"
#include "shim/oom.h"
#include "shim/runtime.h"

/* Answer call with err (its code, or UNKNOWN) and log it. */
static void fail(struct shim *s, ttrpc_call *call, const struct shim_error *err)
{
	int code = err->code != TTRPC_CODE_OK ? err->code : TTRPC_CODE_UNKNOWN;
	shim_logf(&s->log, code == TTRPC_CODE_NOT_FOUND ? SHIM_LOG_DEBUG : SHIM_LOG_WARN, "%s: %s: %s",
		  ttrpc_call_method(call), ttrpc_code_name(code), err->msg);
	ttrpc_call_respond_error(call, code, "%s", err->msg);
}

static bool is_type(const Google__Protobuf__Any *any, const char *full_name)
{
	const char *url = any->type_url ? any->type_url : "";
	const char *slash = strrchr(url, '/');
	return !strcmp(slash ? slash + 1 : url, full_name);
}

/* Runtime options from CreateTaskRequest.options: containerd.runc.v1.Options
 * (what CRI sends) or runtimeoptions.v1.Options pointing at our JSON file
 * (what `ctr --runtime-config-path` sends). */
static int runtime_options(const Google__Protobuf__Any *any, struct shim_runtime_options *opts, struct shim_error *err)
{
	memset(opts, 0, sizeof(*opts));
	if (!any || !any->type_url || !*any->type_url)
		return 0;
	if (is_type(any, "containerd.runc.v1.Options")) {
		Containerd__Runc__V1__Options *o =
			containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
		if (!o)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "runtime options: bad containerd.runc.v1.Options");
		snprintf(opts->binary_name, sizeof(opts->binary_name), "%s", o->binary_name ? o->binary_name : "");
		snprintf(opts->root, sizeof(opts->root), "%s", o->root ? o->root : "");
		opts->systemd_cgroup = o->systemd_cgroup;
		containerd__runc__v1__options__free_unpacked(o, NULL);
		return 0;
	}
	if (is_type(any, "runtimeoptions.v1.Options")) {
		Runtimeoptions__V1__Options *o =
			runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
		if (!o)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "runtime options: bad runtimeoptions.v1.Options");
		int rc = 0;
		if (o->config_path && *o->config_path)
			rc = shim_runtime_config_load(o->config_path, opts, err);
		runtimeoptions__v1__options__free_unpacked(o, NULL);
		return rc;
	}
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "runtime options: unsupported type %s",
			      any->type_url);
}

/* The runtime a later `delete` action must use, saved in the bundle in the
 * format of our runtime-config file. */
static void save_runtime(struct shim *s, const struct shim_container *c, struct shim_runtime_options *opts)
{
	char path[PATH_MAX + 32];
	struct shim_error err = { 0 };
	snprintf(opts->binary_name, sizeof(opts->binary_name), "%s", c->rt.binary);
	snprintf(path, sizeof(path), "%s/" SHIM_RUNTIME_SAVED, c->bundle);
	if (shim_runtime_config_save(path, opts, &err))
		shim_logf(&s->log, SHIM_LOG_WARN, "save runtime for delete: %s", err.msg);
}

static int mount_rootfs(struct shim_container *c, const Containerd__Task__V2__CreateTaskRequest *req,
			struct shim_error *err)
{
	snprintf(c->rootfs, sizeof(c->rootfs), "%s/rootfs", c->bundle);
	if (req->n_rootfs == 0)
		return 0;
	struct shim_mount *m = calloc(req->n_rootfs, sizeof(*m));
	if (!m)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	for (size_t i = 0; i < req->n_rootfs; i++) {
		const Containerd__Types__Mount *rm = req->rootfs[i];
		m[i].type = rm->type;
		m[i].source = rm->source;
		m[i].target = rm->target;
		m[i].options = (const char *const *)rm->options;
		m[i].noptions = rm->n_options;
	}
	if (mkdir(c->rootfs, 0711) != 0 && errno != EEXIST) {
		free(m);
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "create %s", c->rootfs);
	}
	int rc = shim_mount_all(c->rootfs, m, req->n_rootfs, err);
	free(m);
	if (rc)
		return shim_error_wrap(err, rc, "mount rootfs");
	c->rootfs_mounted = true;
	return 0;
}

/* Start p with the OCI runtime (`create` for the init, `exec` for an exec
 * process) on its stdio: pipes, or a console socket for a terminal, whose pty
 * master is then copied. On success p->pid is set and watched. */
static int launch(struct shim_process *p, struct shim_error *err)
{
	struct shim_container *c = p->container;
	int rc = shim_process_open_stdio(p, err);
	if (rc)
		return rc;
	struct shim_console_socket cs = { .fd = -1 };
	if (p->terminal && (rc = shim_console_socket_new(&cs, NULL, err)))
		return rc;
	const char *console = p->terminal ? cs.path : NULL;
	int in = p->stdio.child_in, out = p->stdio.child_out, errfd = p->stdio.child_err;
	if (p->exec_id)
		rc = shim_runtime_exec(&c->rt, c->id, c->bundle, p->spec_json, console, in, out, errfd, &p->pid, err);
	else
		rc = shim_runtime_create(&c->rt, c->id, c->bundle, console, in, out, errfd, &p->pid, err);
	if (rc == 0 && p->terminal) {
		int master = -1;
		rc = shim_console_socket_receive(&cs, 10000, &master, err);
		if (rc == 0)
			rc = shim_stdio_attach_pty(&p->stdio, master, err);
	} else if (rc == 0) {
		shim_stdio_close_child_ends(&p->stdio);
		rc = shim_stdio_start(&p->stdio, err);
	}
	if (p->terminal)
		shim_console_socket_close(&cs);
	if (rc == 0)
		rc = shim_process_watch(p);
	return rc;
}

static void publish_create(struct shim *s, struct shim_container *c, const Containerd__Task__V2__CreateTaskRequest *req)
{
	Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
	io.stdin = req->stdin;
	io.stdout = req->stdout;
	io.stderr = req->stderr;
	io.terminal = req->terminal;
	Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
	ev.container_id = c->id;
	ev.bundle = c->bundle;
	ev.n_rootfs = req->n_rootfs;
	ev.rootfs = req->rootfs;
	ev.io = &io;
	ev.checkpoint = req->checkpoint;
	ev.pid = (uint32_t)c->init.pid;
	shim_events_publish(s->events, "/tasks/create", &ev.base);
}

static void on_oom(void *data)
{
	struct shim_container *c = data;
	shim_logf(&c->shim->log, SHIM_LOG_WARN, "container %s: OOM kill", c->id);
	Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
	ev.container_id = c->id;
	shim_events_publish(c->shim->events, "/tasks/oom", &ev.base);
}

/* A stdio path from a request: none, or an absolute clean path naming a FIFO
 * that exists (what containerd's clients make). The shim creates nothing at
 * such a path, follows no symlink there and writes no regular file. */
static int stdio_validate(const char *what, const char *path, struct shim_error *err)
{
	struct stat st;
	if (!path || !path[0])
		return 0;
	if (strstr(path, "://")) {
		/* stdio URIs (logger.c): file:// is an output file the shim
		 * creates, as runc-v2 does; fifo:///p is the FIFO p. */
		struct shim_log_uri u;
		struct shim_error perr = { 0 };
		int rc = shim_log_uri_parse(path, &u, &perr);
		if (rc)
			return shim_error_set(err, perr.code, rc, "%s %s", what, perr.msg);
		enum shim_log_uri_kind kind = u.kind;
		shim_log_uri_free(&u);
		if (kind == SHIM_LOG_URI_BINARY)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "%s \"%s\": binary:// stdio URIs are not supported by %s yet", what, path,
					      SHIM_RUNTIME_NAME);
		if (kind == SHIM_LOG_URI_FILE) {
			if (!strcmp(what, "stdin"))
				return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
						      "stdin \"%s\": a file:// URI is for stdout and stderr", path);
			return 0;
		}
		path += strlen("fifo://");
	}
	int rc = shim_abs_path_validate(what, path, err);
	if (rc)
		return rc;
	if (lstat(path, &st) != 0)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "%s \"%s\"", what, path);
	if (!S_ISFIFO(st.st_mode))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s \"%s\" is not a FIFO", what, path);
	return 0;
}

static int stdio_paths_validate(const char *in, const char *out, const char *errp, struct shim_error *e)
{
	int rc = stdio_validate("stdin", in, e);
	if (!rc)
		rc = stdio_validate("stdout", out, e);
	if (!rc)
		rc = stdio_validate("stderr", errp, e);
	return rc;
}

/* The bundle: an absolute clean path of a real directory (no symlink) that
 * holds a config.json file, as containerd makes it; nothing is written
 * anywhere before this holds. */
static int bundle_validate(const char *bundle, struct shim_error *err)
{
	struct stat st;
	char config[PATH_MAX + 16];
	int rc = shim_abs_path_validate("bundle", bundle, err);
	if (rc)
		return rc;
	if (lstat(bundle, &st) != 0)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "bundle \"%s\"", bundle);
	if (!S_ISDIR(st.st_mode))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENOTDIR,
				      "bundle \"%s\" is not a directory (symlinks are not followed)", bundle);
	snprintf(config, sizeof(config), "%s/config.json", bundle);
	if (lstat(config, &st) != 0 || !S_ISREG(st.st_mode))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENOENT,
				      "bundle \"%s\" has no config.json file", bundle);
	return 0;
}

/* Checkpoint paths are checked (so a bad one is named) even though restore
 * and checkpoint themselves are not supported. */
static int checkpoint_validate(const char *what, const char *path, struct shim_error *err)
{
	return path && path[0] ? shim_abs_path_validate(what, path, err) : 0;
}

static void create(ttrpc_call *call, const Containerd__Task__V2__CreateTaskRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	if (shim_id_validate("container id", req->id, &err))
		return fail(s, call, &err);
	if (shim_container_find(s, req->id)) {
		shim_error_set(&err, TTRPC_CODE_ALREADY_EXISTS, -EEXIST, "container %s: already exists", req->id);
		return fail(s, call, &err);
	}
	if (bundle_validate(req->bundle, &err))
		return fail(s, call, &err);
	for (size_t i = 0; i < req->n_rootfs; i++) {
		const Containerd__Types__Mount *rm = req->rootfs[i];
		struct shim_mount m = { rm->type, rm->source, rm->target, (const char *const *)rm->options,
					rm->n_options };
		if (shim_mount_validate(&m, i, &err))
			return fail(s, call, &err);
	}
	if (stdio_paths_validate(req->stdin, req->stdout, req->stderr, &err) ||
	    checkpoint_validate("checkpoint", req->checkpoint, &err) ||
	    checkpoint_validate("parent_checkpoint", req->parent_checkpoint, &err))
		return fail(s, call, &err);
	if (req->checkpoint && *req->checkpoint) {
		shim_error_set(&err, TTRPC_CODE_UNIMPLEMENTED, -ENOTSUP,
			       "restore from checkpoint is not supported by %s", SHIM_RUNTIME_NAME);
		return fail(s, call, &err);
	}
	struct shim_runtime_options opts;
	if (runtime_options(req->options, &opts, &err))
		return fail(s, call, &err);

	struct shim_container *c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(req->id)) || !(c->bundle = strdup(req->bundle))) {
		if (c) {
			free(c->id);
			free(c);
		}
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	c->shim = s;
	shim_process_init(&c->init, c, NULL);
	shim_process_set_paths(&c->init, req->stdin, req->stdout, req->stderr, req->terminal);
	int rc = shim_runtime_init(&c->rt, &opts, s->ns, c->bundle, NULL, s->reaper, &err);
	if (rc == 0)
		rc = mount_rootfs(c, req, &err);
	if (rc == 0) {
		save_runtime(s, c, &opts);
		rc = launch(&c->init, &err);
		if (rc) {
			struct shim_error ignored = { 0 };
			shim_runtime_delete(&c->rt, c->id, true, &ignored);
		}
	}
	if (rc) {
		struct shim_error ignored = { 0 };
		shim_container_unmount(c, &ignored);
		shim_container_free(c);
		return fail(s, call, &err);
	}
	struct shim_error oom_err = { 0 };
	if (shim_oom_watch(s->loop, c->init.pid, on_oom, c, &c->oom, &oom_err))
		shim_logf(&s->log, SHIM_LOG_DEBUG, "container %s: no OOM events: %s", c->id, oom_err.msg);
	c->next = s->containers;
	s->containers = c;
	s->ncontainers++;
	shim_logf(&s->log, SHIM_LOG_INFO, "created container %s (pid %d, runtime %s)", c->id, (int)c->init.pid,
		  c->rt.binary);
	publish_create(s, c, req);
	Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	resp.pid = (uint32_t)c->init.pid;
	containerd_task_v2_task_create_respond(call, &resp);
}

static void start(ttrpc_call *call, const Containerd__Task__V2__StartRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	if (p->status != SHIM_STATUS_CREATED) {
		shim_error_set(&err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "process %s: cannot start: already %s",
			       shim_process_name(p), p->status == SHIM_STATUS_STOPPED ? "stopped" : "started");
		return fail(s, call, &err);
	}
	struct shim_container *c = p->container;
	int rc = p->exec_id ? launch(p, &err) : shim_runtime_start(&c->rt, c->id, &err);
	if (rc) {
		shim_error_wrap(&err, rc, "start %s", shim_process_name(p));
		return fail(s, call, &err);
	}
	if (p->status == SHIM_STATUS_CREATED)
		p->status = SHIM_STATUS_RUNNING;
	if (p->exec_id) {
		Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
		ev.container_id = c->id;
		ev.exec_id = p->exec_id;
		ev.pid = (uint32_t)p->pid;
		shim_events_publish(s->events, "/tasks/exec-started", &ev.base);
	} else {
		Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
		ev.container_id = c->id;
		ev.pid = (uint32_t)p->pid;
		shim_events_publish(s->events, "/tasks/start", &ev.base);
	}
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	resp.pid = (uint32_t)p->pid;
	containerd_task_v2_task_start_respond(call, &resp);
}

static void delete_exec(ttrpc_call *call, struct shim_process *p)
{
	struct shim_container *c = p->container;
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&p->exited_at, &ts);
	resp.pid = (uint32_t)p->pid;
	resp.exit_status = (uint32_t)p->exit_status;
	resp.exited_at = &ts;
	for (struct shim_process **pp = &c->execs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	containerd_task_v2_task_delete_respond(call, &resp);
	shim_process_release(p);
	free(p);
}

static void delete (ttrpc_call *call, const Containerd__Task__V2__DeleteRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	if (p->status == SHIM_STATUS_RUNNING || p->status == SHIM_STATUS_PAUSED || p->status == SHIM_STATUS_PAUSING) {
		shim_error_set(&err, TTRPC_CODE_FAILED_PRECONDITION, -EBUSY,
			       "process %s: cannot delete a running process", shim_process_name(p));
		return fail(s, call, &err);
	}
	if (p->exec_id)
		return delete_exec(call, p);

	struct shim_container *c = p->container;
	/* execs die with the init's pid namespace; make sure of it */
	for (struct shim_process *e = c->execs; e; e = e->next)
		if (e->status != SHIM_STATUS_STOPPED && e->pid > 0)
			kill(e->pid, SIGKILL);
	int rc = shim_runtime_delete(&c->rt, c->id, p->status == SHIM_STATUS_CREATED, &err);
	if (rc) {
		shim_error_wrap(&err, rc, "delete %s", c->id);
		return fail(s, call, &err);
	}
	if (p->status == SHIM_STATUS_CREATED)
		shim_process_set_exited(p, 137, NULL); /* killed by delete --force before it ran */
	if (shim_container_unmount(c, &err)) {
		shim_logf(&s->log, SHIM_LOG_ERROR, "delete %s: %s", c->id, err.msg);
		shim_error_clear(&err);
	}
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&p->exited_at, &ts);
	Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	ev.container_id = c->id;
	ev.pid = (uint32_t)p->pid;
	ev.exit_status = (uint32_t)p->exit_status;
	ev.exited_at = &ts;
	ev.id = c->id;
	shim_events_publish(s->events, "/tasks/delete", &ev.base);

	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	resp.pid = (uint32_t)p->pid;
	resp.exit_status = (uint32_t)p->exit_status;
	resp.exited_at = &ts;
	containerd_task_v2_task_delete_respond(call, &resp);
	shim_logf(&s->log, SHIM_LOG_INFO, "deleted container %s", c->id);
	shim_container_unlink(s, c);
	shim_container_free(c);
}

static void state(ttrpc_call *call, const Containerd__Task__V2__StateRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts;
	resp.id = p->container->id;
	resp.bundle = p->container->bundle;
	resp.pid = (uint32_t)p->pid;
	resp.status = (Containerd__V1__Types__Status)p->status;
	resp.stdin = p->stdin_path ? p->stdin_path : "";
	resp.stdout = p->stdout_path ? p->stdout_path : "";
	resp.stderr = p->stderr_path ? p->stderr_path : "";
	resp.terminal = p->terminal;
	resp.exec_id = p->exec_id ? p->exec_id : "";
	if (p->status == SHIM_STATUS_STOPPED) {
		shim_timestamp(&p->exited_at, &ts);
		resp.exit_status = (uint32_t)p->exit_status;
		resp.exited_at = &ts;
	}
	containerd_task_v2_task_state_respond(call, &resp);
}

static void pids(ttrpc_call *call, const Containerd__Task__V2__PidsRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, NULL, &err);
	if (!p)
		return fail(s, call, &err);
	pid_t *list = NULL;
	size_t n = 0;
	if (shim_runtime_ps(&p->container->rt, p->container->id, &list, &n, &err))
		return fail(s, call, &err);
	Containerd__V1__Types__ProcessInfo *infos = calloc(n ? n : 1, sizeof(*infos));
	Containerd__V1__Types__ProcessInfo **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (!infos || !ptrs) {
		free(infos);
		free(ptrs);
		free(list);
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	for (size_t i = 0; i < n; i++) {
		containerd__v1__types__process_info__init(&infos[i]);
		infos[i].pid = (uint32_t)list[i];
		ptrs[i] = &infos[i];
	}
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	resp.n_processes = n;
	resp.processes = ptrs;
	containerd_task_v2_task_pids_respond(call, &resp);
	free(infos);
	free(ptrs);
	free(list);
}

static void pause_resume(ttrpc_call *call, const char *id, bool pause, struct shim *s)
{
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, id, NULL, &err);
	if (!p)
		return fail(s, call, &err);
	enum shim_status want = pause ? SHIM_STATUS_RUNNING : SHIM_STATUS_PAUSED;
	if (p->status != want) {
		shim_error_set(&err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "container %s: cannot %s: not %s", id,
			       pause ? "pause" : "resume", pause ? "running" : "paused");
		return fail(s, call, &err);
	}
	struct shim_container *c = p->container;
	int rc = pause ? shim_runtime_pause(&c->rt, c->id, &err) : shim_runtime_resume(&c->rt, c->id, &err);
	if (rc)
		return fail(s, call, &err);
	if (p->status != SHIM_STATUS_STOPPED)
		p->status = pause ? SHIM_STATUS_PAUSED : SHIM_STATUS_RUNNING;
	if (pause) {
		Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
		ev.container_id = c->id;
		shim_events_publish(s->events, "/tasks/paused", &ev.base);
	} else {
		Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
		ev.container_id = c->id;
		shim_events_publish(s->events, "/tasks/resumed", &ev.base);
	}
	ttrpc_call_respond(call, NULL, 0);
}

static void pause_(ttrpc_call *call, const Containerd__Task__V2__PauseRequest *req, void *user)
{
	pause_resume(call, req->id, true, user);
}

static void resume(ttrpc_call *call, const Containerd__Task__V2__ResumeRequest *req, void *user)
{
	pause_resume(call, req->id, false, user);
}

static void checkpoint(ttrpc_call *call, const Containerd__Task__V2__CheckpointTaskRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	if (!shim_process_find(s, req->id, NULL, &err) || checkpoint_validate("path", req->path, &err))
		return fail(s, call, &err);
	ttrpc_call_respond_error(call, TTRPC_CODE_UNIMPLEMENTED, "checkpoint is not supported by %s",
				 SHIM_RUNTIME_NAME);
}

static void kill_(ttrpc_call *call, const Containerd__Task__V2__KillRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	if (req->signal == 0 || req->signal >= 65) {
		shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "kill: bad signal %u", req->signal);
		return fail(s, call, &err);
	}
	struct shim_container *c = p->container;
	if (p->exec_id) {
		if (p->status != SHIM_STATUS_RUNNING || p->pid <= 0) {
			shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ESRCH, "process %s: process already finished",
				       p->exec_id);
			return fail(s, call, &err);
		}
		if (kill(p->pid, (int)req->signal) != 0) {
			shim_error_errno(&err, shim_error_code_from_errno(errno), errno, "kill process %s", p->exec_id);
			return fail(s, call, &err);
		}
		return (void)ttrpc_call_respond(call, NULL, 0);
	}
	if (p->status == SHIM_STATUS_STOPPED && !req->all) {
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ESRCH, "container %s: process already finished", c->id);
		return fail(s, call, &err);
	}
	if (shim_runtime_kill(&c->rt, c->id, (int)req->signal, req->all, &err)) {
		if (p->status == SHIM_STATUS_STOPPED) /* kill --all after exit: nothing left to signal */
			return (void)ttrpc_call_respond(call, NULL, 0);
		return fail(s, call, &err);
	}
	ttrpc_call_respond(call, NULL, 0);
}

static void exec_(ttrpc_call *call, const Containerd__Task__V2__ExecProcessRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_container *c = shim_container_find(s, req->id ? req->id : "");
	if (!c) {
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ENOENT, "container %s: not found", req->id);
		return fail(s, call, &err);
	}
	if (shim_id_validate("exec id", req->exec_id, &err) ||
	    stdio_paths_validate(req->stdin, req->stdout, req->stderr, &err))
		return fail(s, call, &err);
	for (struct shim_process *e = c->execs; e; e = e->next) {
		if (!strcmp(e->exec_id, req->exec_id)) {
			shim_error_set(&err, TTRPC_CODE_ALREADY_EXISTS, -EEXIST, "exec %s: already exists",
				       req->exec_id);
			return fail(s, call, &err);
		}
	}
	if (c->init.status != SHIM_STATUS_RUNNING) {
		shim_error_set(&err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "container %s: not running", c->id);
		return fail(s, call, &err);
	}
	if (!req->spec || !req->spec->value.len) {
		shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "exec %s: no process spec", req->exec_id);
		return fail(s, call, &err);
	}
	struct shim_process *p = calloc(1, sizeof(*p));
	if (!p) {
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	shim_process_init(p, c, req->exec_id);
	shim_process_set_paths(p, req->stdin, req->stdout, req->stderr, req->terminal);
	p->spec_json = malloc(req->spec->value.len + 1);
	if (!p->exec_id || !p->spec_json) {
		shim_process_release(p);
		free(p);
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	memcpy(p->spec_json, req->spec->value.data, req->spec->value.len);
	p->spec_json[req->spec->value.len] = '\0';
	p->spec_len = req->spec->value.len;
	p->next = c->execs;
	c->execs = p;
	Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
	ev.container_id = c->id;
	ev.exec_id = p->exec_id;
	shim_events_publish(s->events, "/tasks/exec-added", &ev.base);
	ttrpc_call_respond(call, NULL, 0);
}

static void resize_pty(ttrpc_call *call, const Containerd__Task__V2__ResizePtyRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	if (p->terminal && p->status == SHIM_STATUS_STOPPED) {
		/* ctr resizes as it starts; a short-lived process may be gone by then */
		ttrpc_call_respond(call, NULL, 0);
		return;
	}
	if (!p->stdio_open || !p->terminal) {
		shim_error_set(&err, TTRPC_CODE_FAILED_PRECONDITION, -ENOTTY, "process %s: no terminal",
			       shim_process_name(p));
		return fail(s, call, &err);
	}
	if (shim_stdio_resize(&p->stdio, req->width, req->height, &err))
		return fail(s, call, &err);
	ttrpc_call_respond(call, NULL, 0);
}

static void close_io(ttrpc_call *call, const Containerd__Task__V2__CloseIORequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	shim_logf(&s->log, SHIM_LOG_DEBUG, "close stdin of %s", shim_process_name(p));
	if (req->stdin && p->stdio_open)
		shim_stdio_close_stdin(&p->stdio);
	ttrpc_call_respond(call, NULL, 0);
}

static void update(ttrpc_call *call, const Containerd__Task__V2__UpdateTaskRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, NULL, &err);
	if (!p)
		return fail(s, call, &err);
	if (!req->resources || !req->resources->value.len) {
		shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "update %s: no resources", req->id);
		return fail(s, call, &err);
	}
	/* containerd marshals specs.LinuxResources as JSON inside the Any */
	char *json = strndup((const char *)req->resources->value.data, req->resources->value.len);
	int rc = json ? shim_runtime_update(&p->container->rt, req->id, json, &err) :
			shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	free(json);
	if (rc)
		return fail(s, call, &err);
	ttrpc_call_respond(call, NULL, 0);
}

static void wait_(ttrpc_call *call, const Containerd__Task__V2__WaitRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	shim_process_add_waiter(p, call);
}

/* The container's cgroup statistics (metrics.c), found from its init pid. */
static void stats(ttrpc_call *call, const Containerd__Task__V2__StatsRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	Google__Protobuf__Any any;
	struct shim_process *p = shim_process_find(s, req->id, NULL, &err);
	if (!p)
		return fail(s, call, &err);
	if (p->pid <= 0 || p->status == SHIM_STATUS_STOPPED) {
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ESRCH, "stats %s: cgroup does not exist (not running)",
			       req->id);
		return fail(s, call, &err);
	}
	if (shim_metrics_of_pid(p->pid, &any, &err))
		return fail(s, call, &err);
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	resp.stats = &any;
	containerd_task_v2_task_stats_respond(call, &resp);
	free(any.value.data);
}

static void connect_(ttrpc_call *call, const Containerd__Task__V2__ConnectRequest *req, void *user)
{
	struct shim *s = user;
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	resp.shim_pid = (uint32_t)getpid();
	resp.version = SHIM_VERSION;
	struct shim_container *c = req->id && *req->id ? shim_container_find(s, req->id) : NULL;
	if (req->id && *req->id && !c) {
		struct shim_error err = { 0 };
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ENOENT, "container %s: not found", req->id);
		return fail(s, call, &err);
	}
	if (c)
		resp.task_pid = (uint32_t)c->init.pid;
	containerd_task_v2_task_connect_respond(call, &resp);
}

static void shutdown_(ttrpc_call *call, const Containerd__Task__V2__ShutdownRequest *req, void *user)
{
	struct shim *s = user;
	if (s->ncontainers > 0 && !req->now) {
		shim_logf(&s->log, SHIM_LOG_DEBUG, "shutdown: %zu containers left, staying", s->ncontainers);
		ttrpc_call_respond(call, NULL, 0);
		return;
	}
	ttrpc_call_respond(call, NULL, 0);
	shim_logf(&s->log, SHIM_LOG_INFO, "shutdown%s: exiting", req->now ? " now" : "");
	shim_request_exit(s);
}

static const struct containerd_task_v2_task_handlers handlers = {
	.state = state,
	.create = create,
	.start = start,
	.delete = delete,
	.pids = pids,
	.pause = pause_,
	.resume = resume,
	.checkpoint = checkpoint,
	.kill = kill_,
	.exec = exec_,
	.resize_pty = resize_pty,
	.close_io = close_io,
	.update = update,
	.wait = wait_,
	.stats = stats,
	.connect = connect_,
	.shutdown = shutdown_,
};

int shim_service_register(struct shim *s)
{
	s->task_service.handlers = &handlers;
	s->task_service.user = s;
	return containerd_task_v2_task_register(s->server, &s->task_service);
}
