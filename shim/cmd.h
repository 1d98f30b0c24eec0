/* SPDX-License-Identifier: Apache-2.0 */
/* One run of the OCI runtime on the loop, never blocking it.
 *
 * shim_cmd_start spawns argv (built by the shim_runtime_argv_* builders) with
 * the runtime's signal state (nothing blocked, default dispositions) and the
 * given fds, then returns at once. While it runs, its stdout and stderr (when
 * captured) are read through ev_io and its stdin is fed through ev_io; its
 * exit is learnt through the shim's reaper (so the loop's waitpid(-1) and this
 * object never compete for the pid); an ev_timer enforces the timeout, after
 * which it is killed (SIGKILL) and reaped like any other exit. Exactly one
 * completion callback follows, from the loop, never from inside
 * shim_cmd_start, carrying the exit status and, on failure, the runtime's own
 * error text (the last level=error entry it appended to log.json, else its
 * stderr, else "exit status N"; see shim_runtime_error). The object frees
 * itself after the callback returns. */
#ifndef SHIM_CMD_H
#define SHIM_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#include "error.h"
#include "runtime.h"

struct shim_cmd;

struct shim_cmd_opts {
	/* The runtime's stdio: -1 means /dev/null, except that stderr_fd -1 with
	 * capture_stderr set captures stderr for the error text (never for
	 * create or exec: the container inherits the runtime's stdio). */
	int stdin_fd, stdout_fd, stderr_fd;
	bool capture_stderr;
	/* Written to the runtime's stdin (copied; stdin_fd is then ignored). */
	const char *input;
	size_t input_len;
	/* > 0: capture stdout, at most this many bytes (more is an error). */
	size_t output_max;
	/* Kill the run after this long; 0 means the runtime's timeout_ms, < 0 none. */
	int timeout_ms;
};

#define SHIM_CMD_OPTS_INIT                      \
	{                                       \
		-1, -1, -1, true, NULL, 0, 0, 0 \
	}

struct shim_cmd_result {
	int rc;	    /* 0 when it exited 0; else negative (-EIO, -ETIMEDOUT, ...) and err is filled */
	int status; /* exit status (code, or 128 + signal) */
	pid_t pid;  /* of the runtime process */
	struct shim_error err;
	const char *output; /* captured stdout, NUL-terminated ("" when none); valid during the callback */
	size_t output_len;
	bool timed_out;
};

typedef void (*shim_cmd_done_fn)(struct shim_cmd *cmd, const struct shim_cmd_result *res, void *data);

/* Start argv with rt (whose reaper must be set, on loop). NULL with err filled
 * when it could not be started (no callback then). rt must outlive the run. */
struct shim_cmd *shim_cmd_start(struct shim_runtime *rt, struct ev_loop *loop, const struct shim_argv *argv,
				const struct shim_cmd_opts *opts, shim_cmd_done_fn done, void *data,
				struct shim_error *err);

/* Kill the run (SIGKILL), stop watching it and free it now: no callback. Its
 * exit is then reaped by the loop like an orphan's. NULL is a no-op. Not from
 * inside its own callback. */
void shim_cmd_abort(struct shim_cmd *cmd);

/* The subcommand ("create", ...) of a run, for messages. */
const char *shim_cmd_name(const struct shim_cmd *cmd);
/* The runtime process's pid. */
pid_t shim_cmd_pid(const struct shim_cmd *cmd);

#endif
