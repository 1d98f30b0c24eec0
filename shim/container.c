/* SPDX-License-Identifier: Apache-2.0 */
/* Containers and their processes: lookup, exits, waiters, teardown. */
#include "shim/container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "shim/events.h"
#include "shim/logger.h"
#include "shim/mount.h"
#include "shim/oom.h"

struct shim_container *shim_container_find(struct shim *s, const char *id)
{
	for (struct shim_container *c = s->containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

struct shim_process *shim_process_find(struct shim *s, const char *id, const char *exec_id, struct shim_error *err)
{
	struct shim_container *c = shim_container_find(s, id ? id : "");
	if (!c)
		return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "container %s: not found", id ? id : ""),
		       NULL;
	if (!exec_id || !*exec_id)
		return &c->init;
	for (struct shim_process *p = c->execs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "process %s of container %s: not found", exec_id, id);
	return NULL;
}

void shim_timestamp(const struct timespec *ts, Google__Protobuf__Timestamp *out)
{
	google__protobuf__timestamp__init(out);
	out->seconds = ts->tv_sec;
	out->nanos = (int32_t)ts->tv_nsec;
}

/* Answer one Wait call with p's exit. */
static void answer_wait(ttrpc_call *call, const struct shim_process *p)
{
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&p->exited_at, &ts);
	resp.exit_status = (uint32_t)p->exit_status;
	resp.exited_at = &ts;
	containerd_task_v2_task_wait_respond(call, &resp);
}

static void waiter_orphaned(ttrpc_call *call, void *user)
{
	struct shim_waiter *w = user;
	struct shim_waiter **pp = &w->proc->waiters;
	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	ttrpc_call_respond_error(call, TTRPC_CODE_CANCELLED, "client went away"); /* frees the orphan */
	free(w);
}

int shim_process_add_waiter(struct shim_process *p, ttrpc_call *call)
{
	if (p->status == SHIM_STATUS_STOPPED) {
		answer_wait(call, p);
		return 0;
	}
	struct shim_waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return -ENOMEM;
	}
	w->call = call;
	w->proc = p;
	w->next = p->waiters;
	p->waiters = w;
	ttrpc_call_on_orphan(call, waiter_orphaned, w);
	return 0;
}

static void answer_waiters(struct shim_process *p)
{
	while (p->waiters) {
		struct shim_waiter *w = p->waiters;
		p->waiters = w->next;
		ttrpc_call_on_orphan(w->call, NULL, NULL);
		answer_wait(w->call, p);
		free(w);
	}
}

size_t shim_process_fail_waiters(struct shim_process *p, int code, const char *msg)
{
	size_t n = 0;
	while (p->waiters) {
		struct shim_waiter *w = p->waiters;
		p->waiters = w->next;
		ttrpc_call_on_orphan(w->call, NULL, NULL);
		ttrpc_call_respond_error(w->call, code, "%s", msg);
		free(w);
		n++;
	}
	return n;
}

const char *shim_process_name(const struct shim_process *p)
{
	return p->exec_id ? p->exec_id : p->container->id;
}

void shim_process_set_exited(struct shim_process *p, int status, const struct timespec *at)
{
	if (p->status == SHIM_STATUS_STOPPED)
		return;
	struct shim *s = p->container->shim;
	p->status = SHIM_STATUS_STOPPED;
	p->exit_status = status;
	if (at)
		p->exited_at = *at;
	else
		clock_gettime(CLOCK_REALTIME, &p->exited_at);
	shim_logf(&s->log, SHIM_LOG_INFO, "process %s of %s (pid %d) exited with status %d", shim_process_name(p),
		  p->container->id, (int)p->pid, status);

	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts;
	shim_timestamp(&p->exited_at, &ts);
	ev.container_id = p->container->id;
	ev.id = (char *)shim_process_name(p);
	ev.pid = (uint32_t)p->pid;
	ev.exit_status = (uint32_t)status;
	ev.exited_at = &ts;
	shim_events_publish(s->events, "/tasks/exit", &ev.base);
	answer_waiters(p);
}

static void exited(struct shim_process *p, const struct shim_exit *e)
{
	if (p->starting) {
		p->exit_pending = true;
		p->pending_exit = *e;
		return;
	}
	shim_process_set_exited(p, e->status, &e->at);
}

void shim_process_started(struct shim_process *p)
{
	p->starting = false;
	if (p->exit_pending) {
		p->exit_pending = false;
		shim_process_set_exited(p, p->pending_exit.status, &p->pending_exit.at);
	}
}

static void on_process_exit(const struct shim_exit *e, void *data)
{
	struct shim_process *p = data;
	p->watched = false;
	exited(p, e);
}

int shim_process_watch(struct shim_process *p)
{
	struct shim_exit e;
	int rc = shim_reaper_watch(p->container->shim->reaper, p->pid, on_process_exit, p, &e);
	if (rc == 1) {
		/* it died before we looked: report it from here */
		exited(p, &e);
		return 0;
	}
	if (rc == 0)
		p->watched = true;
	return rc;
}

/* stdout and stderr reached EOF: close the FIFOs so the client's reader ends
 * too (ctr waits for that before it deletes the task). Not from inside the
 * copy's own callback: from an idle watcher. */
static void close_stdio_later(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	struct shim_process *p = w->data;
	ev_idle_stop(loop, w);
	if (p->stdio_open) {
		shim_stdio_close(&p->stdio);
		p->stdio_open = false;
	}
}

static void stdio_drained(struct shim_stdio *st, void *data)
{
	(void)st;
	struct shim_process *p = data;
	ev_idle_start(p->container->shim->loop, &p->close_idle);
}

int shim_process_open_stdio(struct shim_process *p, struct shim_error *err)
{
	struct shim *s = p->container->shim;
	struct shim_stdio_paths paths = {
		.stdin_path = p->stdin_path,
		.stdout_path = p->stdout_path,
		.stderr_path = p->stderr_path,
		.terminal = p->terminal,
	};
	/* stdio URIs (validated by the service): fifo:///p is p; file:///p
	 * takes stdout and stderr both, as runc-v2 does, created here. */
	struct shim_log_uri u[3] = { 0 };
	const char **slot[3] = { &paths.stdin_path, &paths.stdout_path, &paths.stderr_path };
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		if (!*slot[i] || !strstr(*slot[i], "://"))
			continue;
		if ((rc = shim_log_uri_parse(*slot[i], &u[i], err)))
			break;
		if (u[i].kind == SHIM_LOG_URI_FIFO) {
			*slot[i] = u[i].path;
		} else if (u[i].kind == SHIM_LOG_URI_FILE && i == 1) {
			int fd = shim_log_file_open(&u[i], err);
			if (fd < 0)
				rc = fd;
			else
				close(fd);
			paths.stdout_path = paths.stderr_path = u[i].path;
			break; /* stderr follows stdout */
		} else if (u[i].kind == SHIM_LOG_URI_BINARY && i == 1) {
			/* the logging binary (started by the launch) takes
			 * stdout and stderr both, as runc-v2 does */
			paths.stdout_path = paths.stderr_path = NULL;
			break;
		} else {
			static const char *const names[] = { "stdin", "stdout", "stderr" };
			rc = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					    "%s \"%s\": file:// and binary:// are given as stdout (stderr follows it)",
					    names[i], *slot[i]);
		}
	}
	if (!rc)
		rc = shim_stdio_open(&p->stdio, s->loop, &paths, err);
	for (int i = 0; i < 3; i++)
		shim_log_uri_free(&u[i]);
	if (rc)
		return shim_error_wrap(err, rc, "open stdio");
	p->stdio_open = true;
	p->stdio.drained = stdio_drained;
	p->stdio.data = p;
	ev_idle_init(&p->close_idle, close_stdio_later);
	p->close_idle.data = p;
	return 0;
}

void shim_process_init(struct shim_process *p, struct shim_container *c, const char *exec_id)
{
	/* p comes zeroed from calloc: no memset, so untouched pages of it stay
	 * out of the RSS (a shim hosting many containers counts them) */
	p->container = c;
	p->exec_id = exec_id ? strdup(exec_id) : NULL;
	p->status = SHIM_STATUS_CREATED;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

void shim_process_set_paths(struct shim_process *p, const char *in, const char *out, const char *errp, bool terminal)
{
	p->stdin_path = dup_or_null(in);
	p->stdout_path = dup_or_null(out);
	p->stderr_path = dup_or_null(errp);
	p->terminal = terminal;
}

/* Release what p holds; p itself belongs to its owner. Waiters still
 * pending learn the last known exit (137 = killed, when it never exited). */
void shim_process_release(struct shim_process *p)
{
	struct shim *s = p->container->shim;
	if (p->watched)
		shim_reaper_unwatch(s->reaper, p->pid, on_process_exit, p);
	p->watched = false;
	if (p->waiters) {
		if (p->status != SHIM_STATUS_STOPPED) {
			p->status = SHIM_STATUS_STOPPED;
			p->exit_status = 137;
			clock_gettime(CLOCK_REALTIME, &p->exited_at);
		}
		answer_waiters(p);
	}
	if (p->stdio_open) {
		ev_idle_stop(s->loop, &p->close_idle);
		shim_stdio_close(&p->stdio);
		p->stdio_open = false;
	}
	shim_logger_stop(p->logger, 0);
	p->logger = NULL;
	free(p->exec_id);
	free(p->stdin_path);
	free(p->stdout_path);
	free(p->stderr_path);
	free(p->spec_json);
	p->exec_id = p->stdin_path = p->stdout_path = p->stderr_path = p->spec_json = NULL;
}

static void drop_ops(struct shim_container *c, struct shim_op *self, int code, const char *why)
{
	bool running = c->op_running;

	while (c->ops) {
		struct shim_op *op = c->ops;
		c->ops = op->next;
		if (op != self && running && op->cancel)
			op->cancel(op);
		running = false;
		if (op->call && op != self) {
			ttrpc_call_respond_error(op->call, code, "container %s: %s", c->id, why);
			op->call = NULL;
		}
		op->free(op);
	}
	c->ops_tail = NULL;
	c->op_running = false;
}

static void free_now(struct shim_container *c, struct shim_op *self, int code, const char *why)
{
	drop_ops(c, self, code, why);
	ev_timer_stop(c->shim->loop, &c->unmount_timer);
	while (c->execs) {
		struct shim_process *p = c->execs;
		c->execs = p->next;
		shim_process_release(p);
		free(p);
	}
	shim_process_release(&c->init);
	shim_oom_free(c->oom);
	shim_runtime_release(&c->rt);
	free(c->id);
	free(c->bundle);
	free(c->rootfs);
	free(c);
}

void shim_container_free(struct shim_container *c)
{
	if (!c)
		return;
	free_now(c, NULL, TTRPC_CODE_UNAVAILABLE, "shim exiting before this operation ran");
}

static void pump(struct shim_container *c)
{
	if (c->pumping)
		return;
	c->pumping = true;
	while (!c->doomed && c->ops && !c->op_running) {
		c->op_running = true;
		c->ops->run(c->ops);
	}
	c->pumping = false;
	if (c->doomed)
		free_now(c, NULL, TTRPC_CODE_NOT_FOUND, "not found");
}

void shim_op_enqueue(struct shim_container *c, struct shim_op *op)
{
	op->container = c;
	op->next = NULL;
	if (c->ops_tail)
		c->ops_tail->next = op;
	else
		c->ops = op;
	c->ops_tail = op;
	pump(c);
}

void shim_op_done(struct shim_op *op)
{
	struct shim_container *c = op->container;

	if (c->ops == op) {
		c->ops = op->next;
		if (!c->ops)
			c->ops_tail = NULL;
		c->op_running = false;
	}
	op->free(op);
	pump(c);
}

void shim_container_destroy(struct shim_container *c, struct shim_op *self)
{
	shim_container_unlink(c->shim, c);
	if (self && c->ops == self) {
		c->ops = self->next;
		if (!c->ops)
			c->ops_tail = NULL;
		c->op_running = false;
		self->free(self);
	}
	if (c->pumping) {
		/* an operation is being started: free once pump() unwinds */
		c->doomed = true;
		return;
	}
	free_now(c, NULL, TTRPC_CODE_NOT_FOUND, "not found");
}
void shim_container_unlink(struct shim *s, struct shim_container *c)
{
	for (struct shim_container **pp = &s->containers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			s->ncontainers--;
			return;
		}
	}
}

static void unmount_step(struct shim_container *c)
{
	struct shim_error err = { 0 };
	int rc = shim_unmount_try(c->rootfs, c->unmount_tries >= SHIM_UNMOUNT_RETRIES, &c->unmount_count, &err);

	if (rc == -EBUSY) {
		c->unmount_tries++;
		ev_timer_set(&c->unmount_timer, SHIM_UNMOUNT_RETRY_MS / 1000.0, 0.);
		ev_timer_start(c->shim->loop, &c->unmount_timer);
		return;
	}
	if (rc < 0)
		shim_error_wrap(&err, rc, "unmount %s", c->rootfs);
	else
		c->rootfs_mounted = false;
	shim_unmount_fn done = c->unmount_done;
	c->unmount_done = NULL;
	done(c, rc < 0 ? rc : 0, &err);
}

static void on_unmount_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	unmount_step(w->data);
}

void shim_container_unmount_async(struct shim_container *c, shim_unmount_fn done)
{
	if (!c->rootfs_mounted) {
		struct shim_error err = { 0 };
		done(c, 0, &err);
		return;
	}
	c->unmount_done = done;
	c->unmount_tries = c->unmount_count = 0;
	ev_timer_init(&c->unmount_timer, on_unmount_timer, 0., 0.);
	c->unmount_timer.data = c;
	unmount_step(c);
}
