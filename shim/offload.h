/* SPDX-License-Identifier: Apache-2.0 */
/* Work that may block on files (cgroup statistics on a loaded host, files on
 * slow filesystems) runs on one worker thread, so the loop that serves every
 * container of the sandbox never waits for it; its completion runs back on
 * the loop. The worker has every signal blocked (SIGCHLD and SIGTERM stay
 * the loop's) and touches nothing but what its job hands it. */
#ifndef SHIM_OFFLOAD_H
#define SHIM_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct shim_offload;

/* work runs on the worker thread; done runs on the loop afterwards, exactly
 * once per accepted job, with ran false when the job was dropped unrun
 * (shim_offload_free with jobs still queued). */
typedef void (*shim_offload_work_fn)(void *arg);
typedef void (*shim_offload_done_fn)(void *arg, bool ran);

/* max_queued bounds the jobs waiting or running (> 0). The thread starts
 * with the first job. NULL when out of memory. */
struct shim_offload *shim_offload_new(struct ev_loop *loop, size_t max_queued);

/* Queue a job. 0, or -EAGAIN when max_queued jobs are in (nothing queued),
 * -ENOMEM, or the error of creating the thread (negative errno). */
int shim_offload_run(struct shim_offload *o, shim_offload_work_fn work, shim_offload_done_fn done, void *arg);

/* Jobs queued or running. */
size_t shim_offload_pending(const struct shim_offload *o);

/* Wait for the job running now, join the thread, run done(arg, false) for
 * the jobs that never ran and done(arg, true) for finished ones whose
 * completion had not run yet; then free. NULL is a no-op. On the loop's
 * thread, not from a done callback. */
void shim_offload_free(struct shim_offload *o);

#endif
