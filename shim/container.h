/* SPDX-License-Identifier: Apache-2.0 */
/* Containers and processes of a serving shim: lookup, exits and waiters,
 * stdio, teardown. The Task RPCs (service.c) drive these. */
#ifndef SHIM_CONTAINER_H
#define SHIM_CONTAINER_H

#include "google/protobuf/timestamp.pb-c.h"
#include "shim/shim.h"

struct shim_container *shim_container_find(struct shim *s, const char *id);
/* The process id/exec_id (exec_id NULL or "" = init); NULL with NOT_FOUND. */
struct shim_process *shim_process_find(struct shim *s, const char *id, const char *exec_id, struct shim_error *err);

/* p must be zeroed memory (from calloc). */
void shim_process_init(struct shim_process *p, struct shim_container *c, const char *exec_id);
void shim_process_set_paths(struct shim_process *p, const char *in, const char *out, const char *err, bool terminal);
/* Open the client's FIFOs (and the container's pipes); closed again by
 * itself once stdout and stderr reached EOF. */
int shim_process_open_stdio(struct shim_process *p, struct shim_error *err);
/* Watch p->pid with the reaper; an exit already reaped is handled at once. */
int shim_process_watch(struct shim_process *p);
/* Its Create or Start is answered (and its start event published): an exit
 * reaped meanwhile is recorded now, so events keep their order. */
void shim_process_started(struct shim_process *p);
/* Record an exit: status, time, /tasks/exit, every waiting Wait answered. */
void shim_process_set_exited(struct shim_process *p, int status, const struct timespec *at);
/* Answer call (a Wait) now if p has exited, else when it does. */
int shim_process_add_waiter(struct shim_process *p, ttrpc_call *call);
/* Answer every Wait pending on p with the error code and message now (the
 * shim is going away before p exits). Returns how many were answered. */
size_t shim_process_fail_waiters(struct shim_process *p, int code, const char *msg);
/* The id containerd knows the process by: exec id, or the container id for init. */
const char *shim_process_name(const struct shim_process *p);
/* Release everything p holds (not p itself). */
void shim_process_release(struct shim_process *p);

void shim_container_unlink(struct shim *s, struct shim_container *c);
/* Unmount the rootfs without blocking: busy mounts are retried by a timer
 * (every SHIM_UNMOUNT_RETRY_MS, SHIM_UNMOUNT_RETRIES times, then detached);
 * done runs once, possibly before this returns. */
void shim_container_unmount_async(struct shim_container *c, shim_unmount_fn done);
/* Free c now: queued operations are cancelled and answered UNAVAILABLE
 * (the shim is exiting). */
void shim_container_free(struct shim_container *c);
/* c is gone (deleted, or its Create failed): take it out of the shim's list,
 * answer the operations still queued with NOT_FOUND, free self (the caller's
 * own operation, already answered) and free c, once no operation of it is
 * being started. */
void shim_container_destroy(struct shim_container *c, struct shim_op *self);

/* Queue op on c (op->container is set); it runs at once when c is idle. */
void shim_op_enqueue(struct shim_container *c, struct shim_op *op);
/* The running op of its container is finished (its call answered): free it and
 * start the next one. */
void shim_op_done(struct shim_op *op);

void shim_timestamp(const struct timespec *ts, Google__Protobuf__Timestamp *out);

#endif
