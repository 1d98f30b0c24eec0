/* SPDX-License-Identifier: Apache-2.0 */
/* Containers of a serving shim: lookup, the per-container operation queue,
 * rootfs unmount, teardown. The Task RPCs (service.c) drive these; their
 * processes are process.h's. */
#ifndef SHIM_CONTAINER_H
#define SHIM_CONTAINER_H

#include "shim/process.h"
#include "shim/shim.h"

struct shim_container *shim_container_find(struct shim *s, const char *id);
/* The process id/exec_id (exec_id NULL or "" = init); NULL with NOT_FOUND. */
struct shim_process *shim_process_find(struct shim *s, const char *id, const char *exec_id, struct shim_error *err);

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

#endif
