/* SPDX-License-Identifier: Apache-2.0 */
/* Processes (a container's init and its execs): the state machine, exits
 * and their waiters, stdio. */
#include "shim/process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/logger.h"

/* ---- the state machine ----
 *   created --started--> running --paused--> paused --resumed--> running
 *   created | running | paused | pausing --exited--> stopped
 *   created | stopped --deleted--> deleted
 * Every other (state, event) pair changes nothing. */
bool shim_process_transition(struct shim_process *p, enum shim_process_event ev)
{
	enum shim_status from = p->status, to = from;
	switch (ev) {
	case SHIM_PROCESS_STARTED:
		to = from == SHIM_STATUS_CREATED ? SHIM_STATUS_RUNNING : from;
		break;
	case SHIM_PROCESS_PAUSED:
		to = from == SHIM_STATUS_RUNNING || from == SHIM_STATUS_PAUSING ? SHIM_STATUS_PAUSED : from;
		break;
	case SHIM_PROCESS_RESUMED:
		to = from == SHIM_STATUS_PAUSED ? SHIM_STATUS_RUNNING : from;
		break;
	case SHIM_PROCESS_EXITED:
		to = from == SHIM_STATUS_STOPPED || from == SHIM_STATUS_DELETED ? from : SHIM_STATUS_STOPPED;
		break;
	case SHIM_PROCESS_DELETED:
		to = from == SHIM_STATUS_CREATED || from == SHIM_STATUS_STOPPED ? SHIM_STATUS_DELETED : from;
		break;
	}
	p->status = to;
	return to != from;
}

int shim_process_check(const struct shim_process *p, enum shim_process_op op, struct shim_error *err)
{
	const char *name = shim_process_name(p);
	switch (op) {
	case SHIM_PROCESS_START:
		if (p->status == SHIM_STATUS_CREATED)
			return 0;
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL,
				      "process %s: cannot start: already %s", name,
				      p->status == SHIM_STATUS_STOPPED ? "stopped" : "started");
	case SHIM_PROCESS_PAUSE:
	case SHIM_PROCESS_RESUME: {
		bool pause = op == SHIM_PROCESS_PAUSE;
		if (p->status == (pause ? SHIM_STATUS_RUNNING : SHIM_STATUS_PAUSED))
			return 0;
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "container %s: cannot %s: not %s",
				      p->container->id, pause ? "pause" : "resume", pause ? "running" : "paused");
	}
	case SHIM_PROCESS_DELETE:
		if (p->status == SHIM_STATUS_CREATED || p->status == SHIM_STATUS_STOPPED)
			return 0;
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EBUSY,
				      "process %s: cannot delete a running process", name);
	case SHIM_PROCESS_KILL:
		/* an exec is signalled by the shim itself: only while it runs */
		if (p->exec_id ? p->status == SHIM_STATUS_RUNNING && p->pid > 0 : p->status != SHIM_STATUS_STOPPED)
			return 0;
		return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ESRCH, "%s %s: process already finished",
				      p->exec_id ? "process" : "container", name);
	case SHIM_PROCESS_EXEC_IN:
		if (p->status == SHIM_STATUS_RUNNING)
			return 0;
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "container %s: not running",
				      p->container->id);
	}
	return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "process %s: unknown operation %d", name, (int)op);
}

void shim_timestamp(const struct timespec *ts, Google__Protobuf__Timestamp *out)
{
	google__protobuf__timestamp__init(out);
	out->seconds = ts->tv_sec;
	out->nanos = (int32_t)ts->tv_nsec;
}

/* Waits: the model knows nothing of RPCs; a waiter is a callback the
 * service registered. */
static void waiters_run(struct shim_process *p, const struct shim_error *err)
{
	while (p->waiters) {
		struct shim_waiter *w = p->waiters;
		p->waiters = w->next;
		w->fn(p, err, w->data);
		free(w);
	}
}

int shim_process_add_waiter(struct shim_process *p, shim_wait_fn fn, void *data, struct shim_waiter **out)
{
	*out = NULL;
	if (p->status == SHIM_STATUS_STOPPED)
		return 1;
	struct shim_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->data = data;
	w->proc = p;
	w->next = p->waiters;
	p->waiters = w;
	*out = w;
	return 0;
}

void shim_process_cancel_waiter(struct shim_waiter *w)
{
	struct shim_waiter **pp = &w->proc->waiters;
	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	free(w);
}

size_t shim_process_fail_waiters(struct shim_process *p, int code, const char *msg)
{
	struct shim_error err;
	size_t n = 0;
	shim_error_set(&err, code, -ECANCELED, "%s", msg);
	for (struct shim_waiter *w = p->waiters; w; w = w->next)
		n++;
	waiters_run(p, &err);
	return n;
}

const char *shim_process_name(const struct shim_process *p)
{
	return p->exec_id ? p->exec_id : p->container->id;
}

void shim_process_set_exited(struct shim_process *p, int status, const struct timespec *at)
{
	if (!shim_process_transition(p, SHIM_PROCESS_EXITED))
		return; /* stopped already */
	struct shim *s = p->container->shim;
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
	waiters_run(p, NULL);
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
		if (shim_process_transition(p, SHIM_PROCESS_EXITED)) {
			p->exit_status = 137;
			clock_gettime(CLOCK_REALTIME, &p->exited_at);
		}
		waiters_run(p, NULL);
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
