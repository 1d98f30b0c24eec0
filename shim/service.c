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
#include "shim/cmd.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/logger.h"
#include "shim/ids.h"
#include "shim/metrics.h"
#include "shim/offload.h"
#include "shim/mount.h"
#include "shim/oom.h"
#include "shim/options.h"
#include "shim/runtime.h"

/* Answer call with err (its code, or UNKNOWN) and log it. */
static void fail(struct shim *s, ttrpc_call *call, const struct shim_error *err)
{
	int code = err->code != TTRPC_CODE_OK ? err->code : TTRPC_CODE_UNKNOWN;
	shim_logf(&s->log, code == TTRPC_CODE_NOT_FOUND ? SHIM_LOG_DEBUG : SHIM_LOG_WARN, "%s: %s: %s",
		  ttrpc_call_method(call), ttrpc_code_name(code), err->msg);
	ttrpc_call_respond_error(call, code, "%s", err->msg);
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

/* ---- operations: a request kept until its container's turn ---- */

struct launch;
struct op;
typedef void (*op_cmd_fn)(struct op *op, const struct shim_cmd_result *res);

struct op {
	struct shim_op base; /* first: the queue hands back &op->base */
	struct shim *s;
	ProtobufCMessage *req; /* our copy of the request */
	struct shim_cmd *cmd;  /* the runtime command in flight */
	op_cmd_fn then;	       /* what follows it */
	struct launch *launch; /* create, or start of an exec, in flight */
	struct shim_error err; /* Create's failure, answered after the rollback */
};

static struct op *op_of(struct shim_op *base)
{
	return (struct op *)base;
}

static void launch_cancel(struct launch *l);

static void op_cancel(struct shim_op *base)
{
	struct op *op = op_of(base);
	if (op->launch)
		launch_cancel(op->launch);
	op->launch = NULL;
	shim_cmd_abort(op->cmd);
	op->cmd = NULL;
}

static void op_free(struct shim_op *base)
{
	struct op *op = op_of(base);
	op_cancel(base);
	if (op->req)
		protobuf_c_message_free_unpacked(op->req, NULL);
	free(op);
}

/* A copy of a request that outlives the handler (the generated stub frees its
 * own when the handler returns). */
static ProtobufCMessage *dup_msg(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	free(buf);
	return copy;
}

/* Queue call on c: run(op) when c's earlier operations are done. */
static void queue(struct shim *s, ttrpc_call *call, struct shim_container *c, const ProtobufCMessage *req,
		  void (*run)(struct shim_op *))
{
	struct op *op = calloc(1, sizeof(*op));
	ProtobufCMessage *copy = op ? dup_msg(req) : NULL;
	if (!copy) {
		free(op);
		struct shim_error err = { 0 };
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	op->s = s;
	op->req = copy;
	op->base.call = call;
	op->base.run = run;
	op->base.cancel = op_cancel;
	op->base.free = op_free;
	shim_op_enqueue(c, &op->base);
}

/* Answer the op's call with err and go on with the container's next op. */
static void op_fail(struct op *op, const struct shim_error *err)
{
	fail(op->s, op->base.call, err);
	op->base.call = NULL;
	shim_op_done(&op->base);
}

/* The call was answered: go on with the next op. */
static void op_answered(struct op *op)
{
	op->base.call = NULL;
	shim_op_done(&op->base);
}

static void on_op_cmd(struct shim_cmd *cmd, const struct shim_cmd_result *res, void *data)
{
	struct op *op = data;
	(void)cmd;
	op->cmd = NULL;
	op->then(op, res);
}

/* Run a for op; then(op, result) follows from the loop. -1 with err filled
 * when it could not be started. */
static int op_run_cmd(struct op *op, const struct shim_argv *a, const struct shim_cmd_opts *opts, op_cmd_fn then,
		      struct shim_error *err)
{
	struct shim_container *c = op->base.container;
	op->then = then;
	op->cmd = shim_cmd_start(&c->rt, op->s->loop, a, opts, on_op_cmd, op, err);
	return op->cmd ? 0 : -1;
}

/* ---- launching a process: runtime `create` (init) or `exec` ---- */

#define CONSOLE_TIMEOUT_S 10.0

typedef void (*launch_done_fn)(struct op *op, int rc, struct shim_error *err);

/* Start p with the OCI runtime on its stdio: pipes, or a console socket for
 * a terminal, through which the runtime sends the pty master (accepted and
 * received through ev_io). Done once the runtime exited, its pid file was
 * read and (with a terminal) the master arrived; then p->pid is set and
 * watched. */
struct launch {
	struct op *op;
	struct shim_process *p;
	launch_done_fn done;
	struct shim_console_socket cs; /* fd -1 without a terminal */
	ev_io accept_w, conn_w;
	ev_timer console_timer;
	int master;
	bool cmd_done;
	int console_rc;
	struct shim_error console_err;
	char *pid_file, *process_file; /* process_file: exec only, removed afterwards */
	bool logger_wait;	       /* waiting for a binary:// logger to be ready */
};

static void launch_release(struct launch *l)
{
	struct ev_loop *loop = l->op->s->loop;
	if (l->logger_wait)
		shim_logger_forget_ready(l->p->logger);
	ev_io_stop(loop, &l->accept_w);
	if (l->conn_w.fd >= 0) {
		ev_io_stop(loop, &l->conn_w);
		close(l->conn_w.fd);
	}
	ev_timer_stop(loop, &l->console_timer);
	if (l->cs.fd >= 0 || l->cs.dir[0])
		shim_console_socket_close(&l->cs);
	if (l->master >= 0)
		close(l->master);
	if (l->process_file) {
		unlink(l->process_file);
		unlink(l->pid_file);
	}
	free(l->pid_file);
	free(l->process_file);
	free(l);
}

static void launch_cancel(struct launch *l)
{
	launch_release(l);
}

static void launch_complete(struct launch *l, int rc, struct shim_error *err)
{
	struct shim_process *p = l->p;
	struct op *op = l->op;
	launch_done_fn done = l->done;
	if (rc == 0 && p->terminal) {
		rc = shim_stdio_attach_pty(&p->stdio, l->master, err);
		l->master = -1; /* the stdio's now, or closed by it */
	} else if (rc == 0) {
		shim_stdio_close_child_ends(&p->stdio);
		rc = shim_stdio_start(&p->stdio, err);
	}
	if (rc == 0 && (rc = shim_process_watch(p)) < 0)
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, rc, "watch process %s: out of memory",
			       shim_process_name(p));
	if (rc && p->exec_id && p->pid > 0) {
		/* started but unusable: do not leave it running unobserved */
		kill(p->pid, SIGKILL);
		p->pid = 0;
	}
	op->launch = NULL;
	launch_release(l);
	done(op, rc, err);
}

static void on_console_conn(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct launch *l = w->data;
	int master = -1;
	int rc = shim_console_recv_master(w->fd, &master, &l->console_err);
	if (rc == -EAGAIN)
		return;
	ev_io_stop(loop, w);
	close(w->fd);
	ev_io_set(w, -1, EV_READ);
	if (rc < 0)
		l->console_rc = rc;
	else
		l->master = master;
	if (l->cmd_done) {
		ev_timer_stop(loop, &l->console_timer);
		launch_complete(l, l->console_rc, &l->console_err);
	}
}

static void on_console_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct launch *l = w->data;
	int conn = -1;
	int rc = shim_console_socket_accept(&l->cs, &conn, &l->console_err);
	if (rc == -EAGAIN)
		return;
	ev_io_stop(loop, w);
	if (rc < 0) {
		l->console_rc = rc;
		if (l->cmd_done) {
			ev_timer_stop(loop, &l->console_timer);
			launch_complete(l, rc, &l->console_err);
		}
		return;
	}
	ev_io_set(&l->conn_w, conn, EV_READ);
	ev_io_start(loop, &l->conn_w);
}

static void on_console_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct launch *l = w->data;
	shim_error_set(&l->console_err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
		       "no console from the runtime within %d ms", (int)(CONSOLE_TIMEOUT_S * 1000));
	launch_complete(l, -ETIMEDOUT, &l->console_err);
}

static void launch_cmd_done(struct op *op, const struct shim_cmd_result *res)
{
	struct launch *l = op->launch;
	struct shim_error err = res->err;
	int rc = res->rc;
	l->cmd_done = true;
	if (rc == 0)
		rc = shim_read_pid_file(l->pid_file, &l->p->pid, &err);
	if (rc == 0 && l->console_rc < 0) {
		rc = l->console_rc;
		err = l->console_err;
	}
	if (rc == 0 && l->p->terminal && l->master < 0) {
		/* the runtime has exited; its message should be queued already */
		ev_timer_set(&l->console_timer, CONSOLE_TIMEOUT_S, 0.);
		ev_timer_start(op->s->loop, &l->console_timer);
		return;
	}
	launch_complete(l, rc, &err);
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	if (path)
		snprintf(path, n, "%s/%s", dir, name);
	return path;
}

/* The exec's OCI process spec, in a temp file of the bundle. */
static int write_process_file(struct launch *l, const struct shim_process *p, struct shim_error *err)
{
	const char *bundle = p->container->bundle;
	l->process_file = path_join(bundle, ".exec-XXXXXX");
	l->pid_file = l->process_file ? malloc(strlen(l->process_file) + 5) : NULL;
	if (!l->pid_file)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	int fd = mkostemp(l->process_file, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(l->process_file);
		l->process_file = NULL;
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "create exec process file in %s", bundle);
	}
	ssize_t w = write(fd, p->spec_json, p->spec_len);
	close(fd);
	strcpy(l->pid_file, l->process_file);
	strcat(l->pid_file, ".pid");
	if (w != (ssize_t)p->spec_len)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EIO, "write %s", l->process_file);
	return 0;
}

static int launch_run(struct launch *l, struct shim_error *err);

static void on_logger_ready(struct shim_logger *lg, int rc, const struct shim_error *lerr, void *data)
{
	struct launch *l = data;
	struct shim_error err = { 0 };
	l->logger_wait = false;
	if (rc) {
		err = *lerr;
		return launch_complete(l, rc, &err);
	}
	shim_logf(&l->op->s->log, SHIM_LOG_DEBUG, "%s: logger %s (pid %d) ready", shim_process_name(l->p),
		  l->p->stdout_path, shim_logger_pid(lg));
	struct op *op = l->op;
	launch_done_fn done = l->done;
	op->launch = NULL;
	if ((rc = launch_run(l, &err)))
		done(op, rc, &err); /* launch_run released l */
}

/* binary:// stdout: start the logging binary; the container's stdout and
 * stderr are the write ends of its pipes. */
static int launch_logger(struct launch *l, struct shim_error *err)
{
	struct shim_process *p = l->p;
	struct shim *s = l->op->s;
	struct shim_log_uri u;
	int rc = shim_log_uri_parse(p->stdout_path, &u, err);
	if (rc)
		return rc;
	int ow = -1, ew = -1;
	p->logger = shim_logger_start(s->loop, s->reaper, &u, p->container->id, s->ns, 0, on_logger_ready, l, &ow, &ew,
				      err);
	shim_log_uri_free(&u);
	if (!p->logger)
		return shim_error_wrap(err, -EIO, "stdout \"%s\"", p->stdout_path);
	p->stdio.child_out = ow;
	p->stdio.child_err = ew;
	l->logger_wait = true;
	return 0;
}

static int launch_start(struct op *op, struct shim_process *p, launch_done_fn done, struct shim_error *err)
{
	struct launch *l = calloc(1, sizeof(*l));
	if (!l)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	l->op = op;
	l->p = p;
	l->done = done;
	l->master = -1;
	l->cs.fd = -1;
	ev_io_init(&l->accept_w, on_console_accept, -1, EV_READ);
	ev_io_init(&l->conn_w, on_console_conn, -1, EV_READ);
	ev_timer_init(&l->console_timer, on_console_timeout, 0., 0.);
	l->accept_w.data = l->conn_w.data = l->console_timer.data = l;

	int rc = shim_process_open_stdio(p, err);
	if (rc == 0 && p->stdout_path && !strncmp(p->stdout_path, "binary://", 9)) {
		if (p->terminal) {
			rc = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					    "stdout \"%s\": a binary:// logger needs terminal false", p->stdout_path);
		} else if ((rc = launch_logger(l, err)) == 0) {
			op->launch = l; /* launch_run once the logger is ready */
			return 0;
		}
	}
	if (rc) {
		launch_release(l);
		return rc;
	}
	return launch_run(l, err);
}

/* The rest of a launch: console socket, pid file, the runtime command. On
 * an error l is released. */
static int launch_run(struct launch *l, struct shim_error *err)
{
	struct op *op = l->op;
	struct shim_process *p = l->p;
	struct shim_container *c = p->container;
	int rc = 0;
	if (p->terminal && (rc = shim_console_socket_new(&l->cs, NULL, err)) == 0) {
		ev_io_set(&l->accept_w, l->cs.fd, EV_READ);
		ev_io_start(op->s->loop, &l->accept_w);
	}
	if (rc == 0 && p->exec_id) {
		rc = write_process_file(l, p, err);
	} else if (rc == 0) {
		l->pid_file = path_join(c->bundle, "init.pid");
		if (!l->pid_file)
			rc = shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		else
			unlink(l->pid_file);
	}
	if (rc) {
		launch_release(l);
		return rc;
	}
	const char *console = p->terminal ? l->cs.path : NULL;
	struct shim_argv a;
	if (p->exec_id)
		shim_runtime_argv_exec(&c->rt, &a, c->id, l->process_file, l->pid_file, console);
	else
		shim_runtime_argv_create(&c->rt, &a, c->id, c->bundle, l->pid_file, console);
	/* The process inherits the runtime's stdio: never a capture pipe of ours. */
	struct shim_cmd_opts o = SHIM_CMD_OPTS_INIT;
	o.stdin_fd = p->stdio.child_in;
	o.stdout_fd = p->stdio.child_out;
	o.stderr_fd = p->stdio.child_err;
	o.capture_stderr = false;
	op->launch = l;
	if (op_run_cmd(op, &a, &o, launch_cmd_done, err)) {
		op->launch = NULL;
		launch_release(l);
		return -EIO;
	}
	return 0;
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
		if (kind == SHIM_LOG_URI_BINARY && access(u.path, X_OK)) {
			rc = shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "%s \"%s\": logging binary %s",
					      what, path, u.path);
			shim_log_uri_free(&u);
			return rc;
		}
		shim_log_uri_free(&u);
		if (kind == SHIM_LOG_URI_FILE || kind == SHIM_LOG_URI_BINARY) {
			if (!strcmp(what, "stdin"))
				return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
						      "stdin \"%s\": a %s URI is for stdout and stderr", path,
						      kind == SHIM_LOG_URI_FILE ? "file://" : "binary://");
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

/* ---- Create ---- */

static void create_destroyed(struct shim_container *c, int rc, struct shim_error *uerr)
{
	struct op *op = op_of(c->ops);
	if (rc)
		shim_logf(&op->s->log, SHIM_LOG_ERROR, "create %s: rollback: %s", c->id, uerr->msg);
	fail(op->s, op->base.call, &op->err);
	op->base.call = NULL;
	/* Waits on a process that never existed */
	shim_process_fail_waiters(&c->init, TTRPC_CODE_NOT_FOUND, op->err.msg);
	shim_container_destroy(c, &op->base);
}

static void create_rollback_deleted(struct op *op, const struct shim_cmd_result *res)
{
	(void)res; /* gone already is fine */
	shim_container_unmount_async(op->base.container, create_destroyed);
}

/* Create failed with err: delete whatever the runtime made, unmount, then
 * answer err and forget the container. */
static void create_rollback(struct op *op, const struct shim_error *err, bool runtime_delete)
{
	struct shim_container *c = op->base.container;
	op->err = *err;
	if (runtime_delete) {
		struct shim_argv a;
		struct shim_error ignored = { 0 };
		shim_runtime_argv_delete(&c->rt, &a, c->id, true);
		if (op_run_cmd(op, &a, NULL, create_rollback_deleted, &ignored) == 0)
			return;
	}
	shim_container_unmount_async(c, create_destroyed);
}

static void create_launched(struct op *op, int rc, struct shim_error *err)
{
	struct shim *s = op->s;
	struct shim_container *c = op->base.container;
	const Containerd__Task__V2__CreateTaskRequest *req = (const void *)op->req;
	if (rc)
		return create_rollback(op, err, true);
	struct shim_error oom_err = { 0 };
	if (shim_oom_watch(s->loop, c->init.pid, on_oom, c, &c->oom, &oom_err))
		shim_logf(&s->log, SHIM_LOG_DEBUG, "container %s: no OOM events: %s", c->id, oom_err.msg);
	c->creating = false;
	shim_logf(&s->log, SHIM_LOG_INFO, "created container %s (pid %d, runtime %s)", c->id, (int)c->init.pid,
		  c->rt.binary);
	publish_create(s, c, req);
	shim_process_started(&c->init);
	Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	resp.pid = (uint32_t)c->init.pid;
	containerd_task_v2_task_create_respond(op->base.call, &resp);
	op_answered(op);
}

static void create_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	struct shim_container *c = base->container;
	const Containerd__Task__V2__CreateTaskRequest *req = (const void *)op->req;
	struct shim_error err = { 0 };
	if (mount_rootfs(c, req, &err))
		return create_rollback(op, &err, false);
	c->init.starting = true;
	if (launch_start(op, &c->init, create_launched, &err))
		create_rollback(op, &err, true);
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
	if (shim_runtime_options_from_any(req->options, &opts, &err))
		return fail(s, call, &err);

	struct shim_container *c = calloc(1, sizeof(*c));
	size_t rootfs_len = strlen(req->bundle) + sizeof("/rootfs");
	if (!c || !(c->id = strdup(req->id)) || !(c->bundle = strdup(req->bundle)) ||
	    !(c->rootfs = malloc(rootfs_len))) {
		if (c) {
			free(c->id);
			free(c->bundle);
			free(c);
		}
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return fail(s, call, &err);
	}
	snprintf(c->rootfs, rootfs_len, "%s/rootfs", c->bundle);
	c->shim = s;
	c->creating = true;
	ev_timer_init(&c->unmount_timer, NULL, 0., 0.);
	shim_process_init(&c->init, c, NULL);
	shim_process_set_paths(&c->init, req->stdin, req->stdout, req->stderr, req->terminal);
	if (shim_runtime_init(&c->rt, &opts, s->ns, c->bundle, NULL, s->reaper, &err)) {
		shim_container_free(c);
		return fail(s, call, &err);
	}
	save_runtime(s, c, &opts);
	/* Listed from now on (a second Create of the id is ALREADY_EXISTS, and
	 * calls for it queue behind this one); the runtime runs off the loop. */
	c->next = s->containers;
	s->containers = c;
	s->ncontainers++;
	queue(s, call, c, &req->base, create_run);
}

/* ---- Start ---- */

static void publish_started(struct shim *s, struct shim_process *p)
{
	struct shim_container *c = p->container;
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
}

static void start_finish(struct op *op, struct shim_process *p, int rc, struct shim_error *err)
{
	if (rc) {
		/* an exit that came meanwhile still counts */
		shim_process_started(p);
		shim_error_wrap(err, rc, "start %s", shim_process_name(p));
		return op_fail(op, err);
	}
	shim_process_transition(p, SHIM_PROCESS_STARTED);
	publish_started(op->s, p);
	/* start is published before exit: an exit reaped meanwhile goes out now */
	shim_process_started(p);
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	resp.pid = (uint32_t)p->pid;
	containerd_task_v2_task_start_respond(op->base.call, &resp);
	op_answered(op);
}

static struct shim_process *op_process(struct op *op, const char *exec_id, struct shim_error *err)
{
	return shim_process_find(op->s, op->base.container->id, exec_id, err);
}

static void start_init_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_error err = res->err;
	start_finish(op, &op->base.container->init, res->rc, &err);
}

static void start_exec_launched(struct op *op, int rc, struct shim_error *err)
{
	const Containerd__Task__V2__StartRequest *req = (const void *)op->req;
	struct shim_error e = { 0 };
	struct shim_process *p = op_process(op, req->exec_id, &e);
	if (!p) /* cannot happen: deleting it queues behind us */
		return op_fail(op, &e);
	start_finish(op, p, rc, err);
}

static void start_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	const Containerd__Task__V2__StartRequest *req = (const void *)op->req;
	struct shim_container *c = base->container;
	struct shim_error err = { 0 };
	struct shim_process *p = op_process(op, req->exec_id, &err);
	if (!p)
		return op_fail(op, &err);
	if (shim_process_check(p, SHIM_PROCESS_START, &err))
		return op_fail(op, &err);
	p->starting = true;
	int rc;
	if (p->exec_id) {
		rc = launch_start(op, p, start_exec_launched, &err);
	} else {
		struct shim_argv a;
		shim_runtime_argv_start(&c->rt, &a, c->id);
		rc = op_run_cmd(op, &a, NULL, start_init_done, &err);
	}
	if (rc)
		start_finish(op, p, rc, &err);
}

/* A call for container id: queued behind its earlier ones, or NOT_FOUND. */
static struct shim_container *container_for(struct shim *s, ttrpc_call *call, const char *id)
{
	struct shim_container *c = shim_container_find(s, id ? id : "");
	if (!c) {
		struct shim_error err = { 0 };
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ENOENT, "container %s: not found", id ? id : "");
		fail(s, call, &err);
	}
	return c;
}

static void start(ttrpc_call *call, const Containerd__Task__V2__StartRequest *req, void *user)
{
	struct shim_container *c = container_for(user, call, req->id);
	if (c)
		queue(user, call, c, &req->base, start_run);
}

/* ---- Delete ---- */

static void delete_exec(struct op *op, struct shim_process *p)
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
	containerd_task_v2_task_delete_respond(op->base.call, &resp);
	shim_process_transition(p, SHIM_PROCESS_DELETED);
	shim_process_release(p);
	free(p);
	op_answered(op);
}

static void delete_unmounted(struct shim_container *c, int rc, struct shim_error *uerr)
{
	struct op *op = op_of(c->ops);
	struct shim *s = op->s;
	struct shim_process *p = &c->init;
	if (rc)
		shim_logf(&s->log, SHIM_LOG_ERROR, "delete %s: %s", c->id, uerr->msg);
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
	containerd_task_v2_task_delete_respond(op->base.call, &resp);
	op->base.call = NULL;
	shim_process_transition(p, SHIM_PROCESS_DELETED);
	shim_logf(&s->log, SHIM_LOG_INFO, "deleted container %s", c->id);
	shim_container_destroy(c, &op->base);
}

static void delete_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_container *c = op->base.container;
	struct shim_error err = res->err;
	if (res->rc) {
		shim_error_wrap(&err, res->rc, "delete %s", c->id);
		return op_fail(op, &err);
	}
	if (c->init.status == SHIM_STATUS_CREATED)
		shim_process_set_exited(&c->init, 137, NULL); /* killed by delete --force before it ran */
	shim_container_unmount_async(c, delete_unmounted);
}

static void delete_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	const Containerd__Task__V2__DeleteRequest *req = (const void *)op->req;
	struct shim_container *c = base->container;
	struct shim_error err = { 0 };
	struct shim_process *p = op_process(op, req->exec_id, &err);
	if (!p)
		return op_fail(op, &err);
	if (shim_process_check(p, SHIM_PROCESS_DELETE, &err))
		return op_fail(op, &err);
	if (p->exec_id)
		return delete_exec(op, p);
	/* execs die with the init's pid namespace; make sure of it */
	for (struct shim_process *e = c->execs; e; e = e->next)
		if (e->status != SHIM_STATUS_STOPPED && e->pid > 0)
			kill(e->pid, SIGKILL);
	struct shim_argv a;
	shim_runtime_argv_delete(&c->rt, &a, c->id, p->status == SHIM_STATUS_CREATED);
	if (op_run_cmd(op, &a, NULL, delete_done, &err)) {
		shim_error_wrap(&err, -EIO, "delete %s", c->id);
		op_fail(op, &err);
	}
}

static void delete (ttrpc_call *call, const Containerd__Task__V2__DeleteRequest *req, void *user)
{
	struct shim_container *c = container_for(user, call, req->id);
	if (c)
		queue(user, call, c, &req->base, delete_run);
}

/* ---- State ---- */

static void answer_state(ttrpc_call *call, const struct shim_process *p)
{
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts;
	/* as runc-v2: the process's own id (exec id, or the container id for
	 * init), and exec_id left empty */
	resp.id = (char *)shim_process_name(p);
	resp.bundle = p->container->bundle;
	resp.pid = (uint32_t)p->pid;
	resp.status = (Containerd__V1__Types__Status)p->status;
	resp.stdin = p->stdin_path ? p->stdin_path : "";
	resp.stdout = p->stdout_path ? p->stdout_path : "";
	resp.stderr = p->stderr_path ? p->stderr_path : "";
	resp.terminal = p->terminal;
	if (p->status == SHIM_STATUS_STOPPED) {
		shim_timestamp(&p->exited_at, &ts);
		resp.exit_status = (uint32_t)p->exit_status;
		resp.exited_at = &ts;
	}
	containerd_task_v2_task_state_respond(call, &resp);
}

/* State answers at once from what the shim knows, behind nothing. A
 * container whose Create is still running is not there yet: NOT_FOUND at
 * once, which containerd's task List skips (it lists the shim's ids as soon
 * as the shim started, and would hold every `ctr task ls` for its 2 s State
 * timeout behind a slow create). */
static void state(ttrpc_call *call, const Containerd__Task__V2__StateRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_container *c = container_for(s, call, req->id);
	if (!c)
		return;
	if (c->creating) {
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ENOENT, "container %s: not created yet (its Create runs)",
			       c->id);
		return fail(s, call, &err);
	}
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	answer_state(call, p);
}

/* ---- Pids ---- */

/* Pids tags an exec's pid with its exec id, as runc-v2 does: info is an Any
 * of containerd.runc.v1.ProcessDetails. *any stays empty for other pids. */
static int exec_details(const struct shim_container *c, pid_t pid, Google__Protobuf__Any *any)
{
	google__protobuf__any__init(any);
	for (const struct shim_process *p = c->execs; p; p = p->next) {
		if (p->pid != pid || pid <= 0)
			continue;
		Containerd__Runc__V1__ProcessDetails d = CONTAINERD__RUNC__V1__PROCESS_DETAILS__INIT;
		d.exec_id = p->exec_id;
		size_t len = containerd__runc__v1__process_details__get_packed_size(&d);
		any->value.data = malloc(len ? len : 1);
		if (!any->value.data)
			return -ENOMEM;
		any->value.len = containerd__runc__v1__process_details__pack(&d, any->value.data);
		any->type_url = "containerd.runc.v1.ProcessDetails";
		return 0;
	}
	return 0;
}

static void pids_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_error err = res->err;
	pid_t *list = NULL;
	size_t n = 0;
	if (res->rc)
		return op_fail(op, &err);
	if (shim_runtime_parse_ps(&op->base.container->rt, res->output, res->output_len, &list, &n, &err))
		return op_fail(op, &err);
	Containerd__V1__Types__ProcessInfo *infos = calloc(n ? n : 1, sizeof(*infos));
	Containerd__V1__Types__ProcessInfo **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	Google__Protobuf__Any *anys = calloc(n ? n : 1, sizeof(*anys));
	int rc = infos && ptrs && anys ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		containerd__v1__types__process_info__init(&infos[i]);
		infos[i].pid = (uint32_t)list[i];
		ptrs[i] = &infos[i];
		rc = exec_details(op->base.container, list[i], &anys[i]);
		if (anys[i].value.data)
			infos[i].info = &anys[i];
	}
	if (rc == 0) {
		Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
		resp.n_processes = n;
		resp.processes = ptrs;
		containerd_task_v2_task_pids_respond(op->base.call, &resp);
	}
	for (size_t i = 0; anys && i < n; i++)
		free(anys[i].value.data);
	free(anys);
	free(infos);
	free(ptrs);
	free(list);
	if (rc) {
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return op_fail(op, &err);
	}
	op_answered(op);
}

static void pids_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	struct shim_container *c = base->container;
	struct shim_error err = { 0 };
	struct shim_argv a;
	struct shim_cmd_opts o = SHIM_CMD_OPTS_INIT;
	o.output_max = SHIM_RUNTIME_PS_MAX;
	shim_runtime_argv_ps(&c->rt, &a, c->id);
	if (op_run_cmd(op, &a, &o, pids_done, &err))
		op_fail(op, &err);
}

static void pids(ttrpc_call *call, const Containerd__Task__V2__PidsRequest *req, void *user)
{
	struct shim_container *c = container_for(user, call, req->id);
	if (c)
		queue(user, call, c, &req->base, pids_run);
}

/* ---- Pause, Resume ---- */

static void pause_resume_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_container *c = op->base.container;
	struct shim *s = op->s;
	struct shim_error err = res->err;
	bool pause = op->req->descriptor == &containerd__task__v2__pause_request__descriptor;
	if (res->rc)
		return op_fail(op, &err);
	shim_process_transition(&c->init, pause ? SHIM_PROCESS_PAUSED : SHIM_PROCESS_RESUMED);
	if (pause) {
		Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
		ev.container_id = c->id;
		shim_events_publish(s->events, "/tasks/paused", &ev.base);
	} else {
		Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
		ev.container_id = c->id;
		shim_events_publish(s->events, "/tasks/resumed", &ev.base);
	}
	ttrpc_call_respond(op->base.call, NULL, 0);
	op_answered(op);
}

static void pause_resume_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	struct shim_container *c = base->container;
	bool pause = op->req->descriptor == &containerd__task__v2__pause_request__descriptor;
	struct shim_error err = { 0 };
	if (shim_process_check(&c->init, pause ? SHIM_PROCESS_PAUSE : SHIM_PROCESS_RESUME, &err))
		return op_fail(op, &err);
	struct shim_argv a;
	if (pause)
		shim_runtime_argv_pause(&c->rt, &a, c->id);
	else
		shim_runtime_argv_resume(&c->rt, &a, c->id);
	if (op_run_cmd(op, &a, NULL, pause_resume_done, &err))
		op_fail(op, &err);
}

static void pause_(ttrpc_call *call, const Containerd__Task__V2__PauseRequest *req, void *user)
{
	struct shim_container *c = container_for(user, call, req->id);
	if (c)
		queue(user, call, c, &req->base, pause_resume_run);
}

static void resume(ttrpc_call *call, const Containerd__Task__V2__ResumeRequest *req, void *user)
{
	struct shim_container *c = container_for(user, call, req->id);
	if (c)
		queue(user, call, c, &req->base, pause_resume_run);
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

/* ---- Kill ---- */

static void kill_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_error err = res->err;
	/* kill --all after exit: nothing left to signal */
	if (res->rc && op->base.container->init.status != SHIM_STATUS_STOPPED)
		return op_fail(op, &err);
	ttrpc_call_respond(op->base.call, NULL, 0);
	op_answered(op);
}

static void kill_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	const Containerd__Task__V2__KillRequest *req = (const void *)op->req;
	struct shim_container *c = base->container;
	struct shim_error err = { 0 };
	struct shim_process *p = op_process(op, req->exec_id, &err);
	if (!p)
		return op_fail(op, &err);
	/* kill --all of a stopped init still reaches what is left in its cgroup */
	if ((p->exec_id || !req->all) && shim_process_check(p, SHIM_PROCESS_KILL, &err))
		return op_fail(op, &err);
	if (p->exec_id) {
		if (kill(p->pid, (int)req->signal) != 0) {
			shim_error_errno(&err, shim_error_code_from_errno(errno), errno, "kill process %s", p->exec_id);
			return op_fail(op, &err);
		}
		ttrpc_call_respond(op->base.call, NULL, 0);
		return op_answered(op);
	}
	struct shim_argv a;
	shim_runtime_argv_kill(&c->rt, &a, c->id, (int)req->signal, req->all);
	if (op_run_cmd(op, &a, NULL, kill_done, &err))
		op_fail(op, &err);
}

static void kill_(ttrpc_call *call, const Containerd__Task__V2__KillRequest *req, void *user)
{
	struct shim *s = user;
	if (req->signal == 0 || req->signal >= 65) {
		struct shim_error err = { 0 };
		struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
		if (p)
			shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "kill: bad signal %u", req->signal);
		return fail(s, call, &err);
	}
	struct shim_container *c = container_for(s, call, req->id);
	if (c)
		queue(s, call, c, &req->base, kill_run);
}

/* ---- Exec (registers the process; Start runs it) ---- */

static void exec_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	const Containerd__Task__V2__ExecProcessRequest *req = (const void *)op->req;
	struct shim_container *c = base->container;
	struct shim *s = op->s;
	struct shim_error err = { 0 };
	for (struct shim_process *e = c->execs; e; e = e->next) {
		if (!strcmp(e->exec_id, req->exec_id)) {
			shim_error_set(&err, TTRPC_CODE_ALREADY_EXISTS, -EEXIST, "exec %s: already exists",
				       req->exec_id);
			return op_fail(op, &err);
		}
	}
	if (shim_process_check(&c->init, SHIM_PROCESS_EXEC_IN, &err))
		return op_fail(op, &err);
	if (!req->spec || !req->spec->value.len) {
		shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "exec %s: no process spec", req->exec_id);
		return op_fail(op, &err);
	}
	struct shim_process *p = calloc(1, sizeof(*p));
	if (!p) {
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return op_fail(op, &err);
	}
	shim_process_init(p, c, req->exec_id);
	shim_process_set_paths(p, req->stdin, req->stdout, req->stderr, req->terminal);
	p->spec_json = malloc(req->spec->value.len + 1);
	if (!p->exec_id || !p->spec_json) {
		shim_process_release(p);
		free(p);
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return op_fail(op, &err);
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
	ttrpc_call_respond(op->base.call, NULL, 0);
	op_answered(op);
}

static void exec_(ttrpc_call *call, const Containerd__Task__V2__ExecProcessRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_container *c = container_for(s, call, req->id);
	if (!c)
		return;
	if (shim_id_validate("exec id", req->exec_id, &err) ||
	    stdio_paths_validate(req->stdin, req->stdout, req->stderr, &err))
		return fail(s, call, &err);
	queue(s, call, c, &req->base, exec_run);
}

static void resize_pty(ttrpc_call *call, const Containerd__Task__V2__ResizePtyRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	/* Nothing to resize is not an error (runc-v2: a process without a console
	 * answers OK); nor is a terminal already closed: ctr resizes as it starts,
	 * and a short-lived process may be gone by then. */
	if (!p->terminal || !p->stdio_open || p->status == SHIM_STATUS_STOPPED) {
		ttrpc_call_respond(call, NULL, 0);
		return;
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

static void update_done(struct op *op, const struct shim_cmd_result *res)
{
	struct shim_error err = res->err;
	if (res->rc)
		return op_fail(op, &err);
	ttrpc_call_respond(op->base.call, NULL, 0);
	op_answered(op);
}

static void update_run(struct shim_op *base)
{
	struct op *op = op_of(base);
	const Containerd__Task__V2__UpdateTaskRequest *req = (const void *)op->req;
	struct shim_container *c = base->container;
	struct shim_error err = { 0 };
	struct shim_argv a;
	struct shim_cmd_opts o = SHIM_CMD_OPTS_INIT;
	/* containerd marshals specs.LinuxResources as JSON inside the Any; fed on stdin */
	o.input = (const char *)req->resources->value.data;
	o.input_len = req->resources->value.len;
	shim_runtime_argv_update(&c->rt, &a, c->id);
	if (op_run_cmd(op, &a, &o, update_done, &err))
		op_fail(op, &err);
}

static void update(ttrpc_call *call, const Containerd__Task__V2__UpdateTaskRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_container *c = container_for(s, call, req->id);
	if (!c)
		return;
	if (!req->resources || !req->resources->value.len) {
		shim_error_set(&err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "update %s: no resources", req->id);
		return fail(s, call, &err);
	}
	queue(s, call, c, &req->base, update_run);
}

/* ---- Wait: a callback on the process, answered when it runs ---- */

struct wait_call {
	ttrpc_call *call;
	struct shim_waiter *waiter;
};

static void answer_wait(ttrpc_call *call, const struct shim_process *p)
{
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&p->exited_at, &ts);
	resp.exit_status = (uint32_t)p->exit_status;
	resp.exited_at = &ts;
	containerd_task_v2_task_wait_respond(call, &resp);
}

static void on_waited(struct shim_process *p, const struct shim_error *err, void *data)
{
	struct wait_call *wc = data;
	ttrpc_call_on_orphan(wc->call, NULL, NULL);
	if (err)
		ttrpc_call_respond_error(wc->call, err->code, "%s", err->msg);
	else
		answer_wait(wc->call, p);
	free(wc);
}

/* The client went away before the exit: forget the waiter. */
static void on_wait_orphaned(ttrpc_call *call, void *user)
{
	struct wait_call *wc = user;
	shim_process_cancel_waiter(wc->waiter);
	ttrpc_call_respond_error(call, TTRPC_CODE_CANCELLED, "client went away"); /* frees the orphan */
	free(wc);
}

static void wait_(ttrpc_call *call, const Containerd__Task__V2__WaitRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, req->exec_id, &err);
	if (!p)
		return fail(s, call, &err);
	struct wait_call *wc = calloc(1, sizeof(*wc));
	int rc = wc ? shim_process_add_waiter(p, on_waited, wc, &wc->waiter) : -ENOMEM;
	if (rc == 1) { /* exited already */
		free(wc);
		return answer_wait(call, p);
	}
	if (rc < 0) {
		free(wc);
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, rc, "out of memory");
		return fail(s, call, &err);
	}
	wc->call = call;
	ttrpc_call_on_orphan(call, on_wait_orphaned, wc);
}

/* The container's cgroup statistics (metrics.c), found from its init pid,
 * read on the offload thread: the loop serves the sandbox's other containers
 * meanwhile, however slow the cgroup files are. */
struct stats_job {
	struct shim *s;
	ttrpc_call *call;
	pid_t pid;
	int rc;
	Google__Protobuf__Any any;
	struct shim_error err;
};

/* Jobs in flight at most; more Stats calls wait for them (UNAVAILABLE). */
#define STATS_MAX_QUEUED 256

static void stats_work(void *arg)
{
	struct stats_job *j = arg;
	j->rc = shim_metrics_of_pid(j->pid, &j->any, &j->err);
}

static void stats_done(void *arg, bool ran)
{
	struct stats_job *j = arg;
	if (!ran) {
		shim_error_set(&j->err, TTRPC_CODE_UNAVAILABLE, -ECANCELED, "stats: the shim is exiting");
		fail(j->s, j->call, &j->err);
	} else if (j->rc) {
		fail(j->s, j->call, &j->err);
	} else {
		Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
		resp.stats = &j->any;
		containerd_task_v2_task_stats_respond(j->call, &resp);
		free(j->any.value.data);
	}
	free(j);
}

static void stats(ttrpc_call *call, const Containerd__Task__V2__StatsRequest *req, void *user)
{
	struct shim *s = user;
	struct shim_error err = { 0 };
	struct shim_process *p = shim_process_find(s, req->id, NULL, &err);
	if (!p)
		return fail(s, call, &err);
	if (p->pid <= 0 || p->status == SHIM_STATUS_STOPPED) {
		shim_error_set(&err, TTRPC_CODE_NOT_FOUND, -ESRCH, "stats %s: cgroup does not exist (not running)",
			       req->id);
		return fail(s, call, &err);
	}
	if (!s->offload && !(s->offload = shim_offload_new(s->loop, STATS_MAX_QUEUED))) {
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "stats %s: out of memory", req->id);
		return fail(s, call, &err);
	}
	struct stats_job *j = calloc(1, sizeof(*j));
	if (!j) {
		shim_error_set(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "stats %s: out of memory", req->id);
		return fail(s, call, &err);
	}
	*j = (struct stats_job){ .s = s, .call = call, .pid = p->pid };
	int rc = shim_offload_run(s->offload, stats_work, stats_done, j);
	if (rc) {
		free(j);
		if (rc == -EAGAIN)
			shim_error_set(&err, TTRPC_CODE_UNAVAILABLE, rc, "stats %s: %d Stats calls already in flight",
				       req->id, STATS_MAX_QUEUED);
		else
			shim_error_errno(&err, TTRPC_CODE_RESOURCE_EXHAUSTED, -rc, "stats %s: start the stats thread",
					 req->id);
		return fail(s, call, &err);
	}
}

static void connect_(ttrpc_call *call, const Containerd__Task__V2__ConnectRequest *req, void *user)
{
	struct shim *s = user;
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	resp.shim_pid = (uint32_t)getpid();
	resp.version = SHIM_VERSION;
	/* An id this shim does not know (yet) is no error: runc-v2 answers
	 * task_pid 0, and containerd uses Connect as its liveness check of a
	 * shim when it reloads shims after a restart. */
	struct shim_container *c = req->id && *req->id ? shim_container_find(s, req->id) : NULL;
	if (c)
		resp.task_pid = (uint32_t)c->init.pid;
	containerd_task_v2_task_connect_respond(call, &resp);
}

static void shutdown_(ttrpc_call *call, const Containerd__Task__V2__ShutdownRequest *req, void *user)
{
	struct shim *s = user;
	if ((s->ncontainers > 0 || s->pod) && !req->now) {
		shim_logf(&s->log, SHIM_LOG_DEBUG, "shutdown: %zu containers left%s, staying", s->ncontainers,
			  s->pod ? " and a sandbox" : "");
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
