/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/offload.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct job {
	struct job *next;
	shim_offload_work_fn work;
	shim_offload_done_fn done;
	void *arg;
};

struct shim_offload {
	struct ev_loop *loop;
	ev_async wake;
	size_t max_queued, n; /* n: jobs accepted and not completed */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, **todo_tail; /* waiting for the worker */
	struct job *finished;	       /* run, completion not yet called (LIFO) */
	bool started, stopping;
	pthread_t thread;
};

static void *worker(void *p)
{
	struct shim_offload *o = p;
	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (!o->todo && !o->stopping)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->stopping)
			break;
		struct job *j = o->todo;
		o->todo = j->next;
		if (!o->todo)
			o->todo_tail = &o->todo;
		pthread_mutex_unlock(&o->mu);
		j->work(j->arg);
		pthread_mutex_lock(&o->mu);
		j->next = o->finished;
		o->finished = j;
		ev_async_send(o->loop, &o->wake);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static struct job *reversed(struct job *list)
{
	struct job *out = NULL;
	while (list) {
		struct job *j = list;
		list = j->next;
		j->next = out;
		out = j;
	}
	return out;
}

/* Run the completions of a list, in its order. */
static void complete(struct shim_offload *o, struct job *in_order, bool ran)
{
	while (in_order) {
		struct job *j = in_order;
		in_order = j->next;
		if (--o->n == 0)
			ev_unref(o->loop);
		j->done(j->arg, ran);
		free(j);
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	struct shim_offload *o = w->data;
	pthread_mutex_lock(&o->mu);
	struct job *done = o->finished;
	o->finished = NULL;
	pthread_mutex_unlock(&o->mu);
	complete(o, reversed(done), true); /* in the order they finished */
}

struct shim_offload *shim_offload_new(struct ev_loop *loop, size_t max_queued)
{
	if (!max_queued)
		return NULL;
	struct shim_offload *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->loop = loop;
	o->max_queued = max_queued;
	o->todo_tail = &o->todo;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	ev_async_init(&o->wake, on_wake);
	o->wake.data = o;
	ev_async_start(loop, &o->wake);
	/* The loop stays alive for the async watcher only while jobs are out. */
	ev_unref(loop);
	return o;
}

static int start_thread(struct shim_offload *o)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Reading cgroup files and packing protobufs needs little stack. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&o->thread, &attr, worker, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc)
		return -rc;
	o->started = true;
	return 0;
}

int shim_offload_run(struct shim_offload *o, shim_offload_work_fn work, shim_offload_done_fn done, void *arg)
{
	if (o->n >= o->max_queued)
		return -EAGAIN;
	if (!o->started) {
		int rc = start_thread(o);
		if (rc)
			return rc;
	}
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (struct job){ .work = work, .done = done, .arg = arg };
	pthread_mutex_lock(&o->mu);
	*o->todo_tail = j;
	o->todo_tail = &j->next;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	if (o->n++ == 0)
		ev_ref(o->loop);
	return 0;
}

size_t shim_offload_pending(const struct shim_offload *o)
{
	return o->n;
}

void shim_offload_free(struct shim_offload *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	if (o->started)
		pthread_join(o->thread, NULL);
	/* The thread is gone: no lock needed from here. */
	struct job *finished = o->finished, *todo = o->todo;
	o->finished = o->todo = NULL;
	complete(o, reversed(finished), true);
	complete(o, todo, false);
	ev_ref(o->loop); /* balances the ev_unref of shim_offload_new */
	ev_async_stop(o->loop, &o->wake);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
