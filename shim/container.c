/* SPDX-License-Identifier: Apache-2.0 */
/* Containers: lookup, the per-container operation queue, rootfs unmount,
 * teardown. Their processes are process.c's. */
#include "shim/container.h"

#include <errno.h>
#include <stdio.h>
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

/* Waits still pending when the shim goes would only see the connection
 * close: answer them first, saying the process outlives this shim. */
static void fail_waiters(struct shim *s)
{
	char msg[256];
	size_t n = 0;
	for (struct shim_container *c = s->containers; c; c = c->next) {
		for (struct shim_process *p = &c->init; p; p = p == &c->init ? c->execs : p->next) {
			if (!p->waiters)
				continue;
			snprintf(msg, sizeof(msg), "shim exiting before process %s of container %s exited",
				 shim_process_name(p), c->id);
			n += shim_process_fail_waiters(p, TTRPC_CODE_UNAVAILABLE, msg);
		}
	}
	if (n)
		shim_logf(&s->log, SHIM_LOG_INFO, "exiting: answered %zu pending Wait calls with UNAVAILABLE", n);
}

void shim_request_exit(struct shim *s)
{
	if (!s->exiting) {
		fail_waiters(s);
		shim_sandbox_service_close(s);
	}
	s->exiting = true;
	/* let the answer already queued go out first: break from an idle watcher */
	ev_idle_start(s->loop, &s->exit_idle);
}
