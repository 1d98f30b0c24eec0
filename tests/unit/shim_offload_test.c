/* SPDX-License-Identifier: Apache-2.0 */
/* The offload thread (shim/offload.c): jobs run off the loop's thread with
 * every signal blocked, completions come back on the loop in order, the
 * queue is bounded, the loop stays alive exactly while jobs are out, and
 * freeing with jobs queued completes each of them once. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "shim/offload.h"

static struct ev_loop *loop;

static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
}

static void teardown(void)
{
	ev_loop_destroy(loop);
}

TestSuite(shim_offload, .init = setup, .fini = teardown, .timeout = 30);

struct job {
	int id;
	pthread_t ran_on, done_on;
	bool all_blocked;
	int runs, dones;
	bool ran;
	atomic_bool *gate; /* work waits until it is true (NULL: no wait) */
	int *order, *n_order;
};

static void work(void *arg)
{
	struct job *j = arg;
	j->ran_on = pthread_self();
	sigset_t mask;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	j->all_blocked = sigismember(&mask, SIGCHLD) && sigismember(&mask, SIGTERM) && sigismember(&mask, SIGINT);
	while (j->gate && !atomic_load(j->gate))
		usleep(1000);
	j->runs++;
}

static void done(void *arg, bool ran)
{
	struct job *j = arg;
	j->done_on = pthread_self();
	j->dones++;
	j->ran = ran;
	if (j->order)
		j->order[(*j->n_order)++] = j->id;
}

Test(shim_offload, runs_off_the_loop_and_completes_on_it_in_order)
{
	struct shim_offload *o = shim_offload_new(loop, 8);
	cr_assert_not_null(o);
	int order[5], n = 0;
	struct job jobs[5];
	for (int i = 0; i < 5; i++) {
		jobs[i] = (struct job){ .id = i, .order = order, .n_order = &n };
		cr_assert_eq(shim_offload_run(o, work, done, &jobs[i]), 0);
	}
	cr_assert_eq(shim_offload_pending(o), 5);
	/* ev_run returns only once every completion ran: the jobs keep the loop alive. */
	ev_run(loop, 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(shim_offload_pending(o), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(order[i], i, "completion %d was job %d", i, order[i]);
		cr_assert_eq(jobs[i].runs, 1);
		cr_assert_eq(jobs[i].dones, 1);
		cr_assert(jobs[i].ran);
		cr_assert(!pthread_equal(jobs[i].ran_on, pthread_self()), "job %d ran on the loop's thread", i);
		cr_assert(pthread_equal(jobs[i].done_on, pthread_self()), "job %d completed off the loop", i);
		cr_assert(jobs[i].all_blocked, "job %d ran with signals deliverable", i);
	}
	shim_offload_free(o);
	/* Nothing keeps the loop alive once idle (the async watcher is unref'd). */
	cr_assert_eq(ev_run(loop, 0), 0);
}

Test(shim_offload, bounded_queue)
{
	struct shim_offload *o = shim_offload_new(loop, 2);
	cr_assert_not_null(o);
	atomic_bool gate = false;
	struct job a = { .gate = &gate }, b = { 0 }, c = { 0 };
	cr_assert_eq(shim_offload_run(o, work, done, &a), 0);
	cr_assert_eq(shim_offload_run(o, work, done, &b), 0);
	cr_assert_eq(shim_offload_run(o, work, done, &c), -EAGAIN);
	atomic_store(&gate, true);
	ev_run(loop, 0);
	cr_assert_eq(a.dones + b.dones, 2);
	cr_assert_eq(c.dones + c.runs, 0);
	/* Room again once completed. */
	cr_assert_eq(shim_offload_run(o, work, done, &c), 0);
	ev_run(loop, 0);
	cr_assert_eq(c.dones, 1);
	shim_offload_free(o);
}

static void *open_gate_later(void *p)
{
	usleep(100 * 1000);
	atomic_store((atomic_bool *)p, true);
	return NULL;
}

Test(shim_offload, free_with_jobs_queued_completes_each_once)
{
	struct shim_offload *o = shim_offload_new(loop, 8);
	cr_assert_not_null(o);
	atomic_bool gate = false;
	struct job running = { .gate = &gate }, queued[3] = { 0 };
	cr_assert_eq(shim_offload_run(o, work, done, &running), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shim_offload_run(o, work, done, &queued[i]), 0);
	/* Wait until the first job is running on the worker. */
	while (!running.all_blocked && !running.runs)
		usleep(1000);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, open_gate_later, &gate), 0);
	shim_offload_free(o); /* waits for the running job */
	pthread_join(t, NULL);
	cr_assert_eq(running.runs, 1);
	cr_assert_eq(running.dones, 1);
	cr_assert(running.ran);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(queued[i].runs, 0, "queued job %d ran after free", i);
		cr_assert_eq(queued[i].dones, 1);
		cr_assert(!queued[i].ran);
	}
	cr_assert_eq(ev_run(loop, 0), 0);
}

Test(shim_offload, no_thread_until_the_first_job)
{
	struct shim_offload *o = shim_offload_new(loop, 1);
	cr_assert_not_null(o);
	cr_assert_eq(shim_offload_pending(o), 0);
	shim_offload_free(o); /* joins nothing */
	shim_offload_free(NULL);
}
