/* SPDX-License-Identifier: Apache-2.0 */
/* Child reaping for a shim: the process becomes a child subreaper (orphaned
 * container processes are re-parented to it), SIGCHLD is blocked and read from a
 * signalfd watched on the libev loop, and every readable event runs
 * waitpid(-1, WNOHANG) until nothing is left. Never blocks the loop.
 *
 * How the runtime's own children coexist with waitpid(-1): everything goes
 * through this reaper. An exit nobody watches is recorded (pid, status, time) in
 * a bounded table, so an exit that happens before its watcher registers (a
 * container init that dies before runc's pid file is read) is not lost: watch()
 * reports it at once. A synchronous run of runc (shim_reaper_wait) first looks
 * in that table, then waits for that one pid only (pidfd + waitpid(pid)), never
 * for -1, so it cannot steal a container's exit; and since the loop is
 * single-threaded, the loop's waitpid(-1) cannot run while it waits.
 *
 * Use a loop from ev_loop_new(), never ev_default_loop(): libev's default loop
 * installs its own SIGCHLD handler that reaps every child. */
#ifndef SHIM_REAPER_H
#define SHIM_REAPER_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <ev.h>

#include "error.h"

#define SHIM_REAPER_RECORDS 512 /* unclaimed exits kept; the oldest goes first */
/* An unclaimed exit is forgotten after this long, so that a pid the kernel
 * has since reused can never be matched with its old exit (the exits that
 * matter, a container init dying before its pid file is read, are claimed
 * within milliseconds). */
#define SHIM_REAPER_RECORD_TTL_MS 60000

struct shim_exit {
	pid_t pid;
	int status;	    /* exit code, or 128 + signal number */
	struct timespec at; /* CLOCK_REALTIME when reaped */
};

/* Called on the loop when a watched pid exits; the watch is gone by then. */
typedef void (*shim_exit_fn)(const struct shim_exit *exit, void *data);

struct shim_reaper;

/* Become a subreaper, block SIGCHLD, watch a signalfd on loop. NULL on failure (err filled). */
struct shim_reaper *shim_reaper_new(struct ev_loop *loop, struct shim_error *err);

/* Stop watching, restore the signal mask. NULL is a no-op. Not from inside a callback. */
void shim_reaper_free(struct shim_reaper *r);

/* Call fn(data) when pid exits. Several watches per pid are fine. When pid has
 * already been reaped and nobody claimed it, returns 1 with *exit filled and
 * registers nothing (the record is consumed). 0 when registered, -ENOMEM. */
int shim_reaper_watch(struct shim_reaper *r, pid_t pid, shim_exit_fn fn, void *data, struct shim_exit *exit);

/* Remove a watch (same pid, fn, data); no-op when absent. */
void shim_reaper_unwatch(struct shim_reaper *r, pid_t pid, shim_exit_fn fn, void *data);

/* Change how long unclaimed exits are kept (ms; for tests). */
void shim_reaper_set_record_ttl(struct shim_reaper *r, int ttl_ms);

/* Claim a recorded, unwatched exit (younger than the record TTL): true with *exit filled, and the record is gone. */
bool shim_reaper_take(struct shim_reaper *r, pid_t pid, struct shim_exit *exit);

/* Reap everything that has exited now (what the signalfd callback does). Returns
 * the number of children reaped. */
int shim_reaper_reap(struct shim_reaper *r);

/* Wait synchronously, at most timeout_ms (< 0: no limit), for our child pid,
 * reaping only that pid. r may be NULL (no loop, e.g. the `delete` action).
 * -ETIMEDOUT when it is still running, -ECHILD when it is not our child. */
int shim_reaper_wait(struct shim_reaper *r, pid_t pid, int timeout_ms, struct shim_exit *exit, struct shim_error *err);

/* Exit status the way containerd reports it: code, or 128 + signal. */
int shim_wait_status_to_exit(int wstatus);

#endif
