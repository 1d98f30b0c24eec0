/* SPDX-License-Identifier: Apache-2.0 */
/* Processes of a container (its init, exec_id NULL, and its execs): one
 * explicit state machine per process, exits and who waits for them, stdio.
 * Nothing here answers an RPC: a Wait registers a callback. */
#ifndef SHIM_PROCESS_H
#define SHIM_PROCESS_H

#include "google/protobuf/timestamp.pb-c.h"
#include "shim/shim.h"

/* What happened to a process (shim_process_transition). */
enum shim_process_event {
	SHIM_PROCESS_STARTED, /* its runtime start (init) or exec succeeded */
	SHIM_PROCESS_PAUSED,
	SHIM_PROCESS_RESUMED,
	SHIM_PROCESS_EXITED, /* reaped, or killed by a force delete before it ran */
	SHIM_PROCESS_DELETED,
};

/* Apply ev: created -> running (started) -> paused <-> running; any state
 * but stopped/deleted -> stopped (exited); created or stopped -> deleted.
 * Returns whether the state changed (an exit reported twice changes nothing). */
bool shim_process_transition(struct shim_process *p, enum shim_process_event ev);

/* What a request wants to do with a process (shim_process_check). */
enum shim_process_op {
	SHIM_PROCESS_START,   /* created only */
	SHIM_PROCESS_PAUSE,   /* running only (the init) */
	SHIM_PROCESS_RESUME,  /* paused only (the init) */
	SHIM_PROCESS_DELETE,  /* created or stopped */
	SHIM_PROCESS_KILL,    /* init: not stopped (kill --all may follow an exit); exec: running */
	SHIM_PROCESS_EXEC_IN, /* a new exec in p's container: p (the init) running */
};

/* 0 when op is allowed in p's state, else err says why (FAILED_PRECONDITION,
 * NOT_FOUND for a kill of a finished process). */
int shim_process_check(const struct shim_process *p, enum shim_process_op op, struct shim_error *err);

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
/* Record an exit: status, time, /tasks/exit, every waiter called. */
void shim_process_set_exited(struct shim_process *p, int status, const struct timespec *at);

/* Call fn(p, NULL, data) once p has exited (p->exit_status, p->exited_at
 * set), or fn(p, err, data) when it will not be seen exiting (the shim goes,
 * its Create failed). Returns 0 (*out: the waiter, until fn ran), 1 when p
 * has exited already (nothing registered, *out NULL), or -ENOMEM. */
int shim_process_add_waiter(struct shim_process *p, shim_wait_fn fn, void *data, struct shim_waiter **out);
/* Forget w before its callback ran (the caller went away). */
void shim_process_cancel_waiter(struct shim_waiter *w);
/* Call every waiter of p with an error (code, msg) now. Returns how many. */
size_t shim_process_fail_waiters(struct shim_process *p, int code, const char *msg);
/* The id containerd knows the process by: exec id, or the container id for init. */
const char *shim_process_name(const struct shim_process *p);
/* Release everything p holds (not p itself); waiters left learn exit 137. */
void shim_process_release(struct shim_process *p);

void shim_timestamp(const struct timespec *ts, Google__Protobuf__Timestamp *out);

#endif
