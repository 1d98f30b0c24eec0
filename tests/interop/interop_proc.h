/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the interop suites: temp dirs, peer processes started with
 * fork/exec and stopped by pid, output captured through a pipe. */
#ifndef TTRPC_INTEROP_PROC_H
#define TTRPC_INTEROP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifndef TTRPC_INTEROP_BIN_DIR
#error "TTRPC_INTEROP_BIN_DIR must name build/bin"
#endif

#define INTEROP_GO_PEER TTRPC_INTEROP_BIN_DIR "/ttrpc-go-peer"
#define INTEROP_C_SERVER TTRPC_INTEROP_BIN_DIR "/ttrpc-c-interop-server"

/* A private directory for one test and the socket path inside it. */
struct interop_dir {
	char dir[64];
	char socket[96];
};

/* mkdtemp under /tmp; false (errno set) on failure. */
bool interop_dir_make(struct interop_dir *d);
/* Remove the socket (if still there) and the directory. */
void interop_dir_remove(struct interop_dir *d);

/* A child process; out_fd reads its stdout (and stderr when merged). */
struct interop_proc {
	pid_t pid;
	int out_fd;
};

/* fork/exec argv[0] with argv. stdout goes to a pipe (out_fd); stderr too when
 * merge_stderr, else it is inherited. The child is killed (SIGKILL) if the
 * process that started it dies. false (errno set) on failure. */
bool interop_spawn(struct interop_proc *p, char *const argv[], bool merge_stderr);

/* Read lines from p->out_fd until one equals "ready" or timeout_ms passes.
 * What was read is appended to log (NUL-terminated, truncated to log_size). */
bool interop_wait_ready(struct interop_proc *p, int timeout_ms, char *log, size_t log_size);

/* Read everything the child writes until EOF or timeout_ms, into a malloc'd
 * NUL-terminated string (*out), then reap it; returns its wait status, or -1
 * on timeout (the child is then killed and reaped). */
int interop_collect(struct interop_proc *p, int timeout_ms, char **out);

/* Send sig, wait up to timeout_ms for the child to exit (SIGKILL after that),
 * reap it and close out_fd. Returns the wait status. Safe to call on a proc
 * with pid <= 0 (returns -1). */
int interop_stop(struct interop_proc *p, int sig, int timeout_ms);

/* Monotonic milliseconds. */
long long interop_now_ms(void);

#endif
