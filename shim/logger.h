/* SPDX-License-Identifier: Apache-2.0 */
/* Container stdio URIs, as containerd-shim-runc-v2 takes them (containerd's
 * pkg/process/io.go):
 *   - a plain path or fifo://PATH: the FIFOs containerd's clients make;
 *   - file:///PATH: stdout and stderr appended to one regular file (its
 *     directory created 0755, the file 0644), copied by the shim;
 *   - binary:///PATH?k=v&k2: a logging binary. It runs with the environment
 *     CONTAINER_ID and CONTAINER_NAMESPACE only, arguments "k v k2" (the query
 *     in order; Go's map order is random, ours is the URI's), stdin, stdout
 *     and stderr on /dev/null, and fds 3 and 4 the read ends of the
 *     container's stdout and stderr pipes, fd 5 the write end of a readiness
 *     pipe it closes (or writes a byte to) once it is ready. The container
 *     gets the pipes' write ends; the shim copies nothing.
 * Readiness is waited for on the loop, bounded (runc-v2 waits for ever);
 * stopping a logger sends SIGTERM and SIGKILL 12 s later if it is still
 * there (runc-v2's binaryIOProcTermTimeout). */
#ifndef SHIM_LOGGER_H
#define SHIM_LOGGER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "shim/error.h"
#include "shim/reaper.h"

#define SHIM_LOGGER_READY_TIMEOUT_MS 10000
#define SHIM_LOGGER_TERM_TIMEOUT_MS 12000
#define SHIM_LOGGER_MAX_ARGS 64

enum shim_log_uri_kind {
	SHIM_LOG_URI_FIFO = 0, /* a path (or none): FIFOs as today */
	SHIM_LOG_URI_FILE,
	SHIM_LOG_URI_BINARY,
};

struct shim_log_uri {
	enum shim_log_uri_kind kind;
	char *path;  /* decoded absolute path (FILE, BINARY); NULL for FIFO */
	char **argv; /* BINARY: path, then the query's keys and values, NULL-terminated */
	size_t argc;
};

/* Parse a CreateTaskRequest/ExecProcessRequest stdout (or stderr) string.
 * INVALID_ARGUMENT for an unknown scheme, a host part, a relative or
 * unclean path, bad percent escapes, too many query arguments. */
int shim_log_uri_parse(const char *s, struct shim_log_uri *u, struct shim_error *err);
void shim_log_uri_free(struct shim_log_uri *u);

/* FILE: create the directory and the file (append), as runc-v2 does before
 * it starts the container. Returns an fd open for appending (O_CLOEXEC). */
int shim_log_file_open(const struct shim_log_uri *u, struct shim_error *err);

struct shim_logger;
/* rc 0: the logger is ready (it closed or wrote to fd 5). < 0: it failed to
 * become ready (err tells why; it has been killed). Runs once, on the loop. */
typedef void (*shim_logger_ready_fn)(struct shim_logger *lg, int rc, const struct shim_error *err, void *data);

/* Start the logging binary of u (kind BINARY) for container id in namespace
 * ns. On success *out_w and *err_w are the container's stdout and stderr
 * (write ends, O_CLOEXEC: give them to the runtime, then close them), and
 * ready runs later. NULL on failure (err filled, nothing left). */
struct shim_logger *shim_logger_start(struct ev_loop *loop, struct shim_reaper *reaper, const struct shim_log_uri *u,
				      const char *id, const char *ns, int ready_timeout_ms, shim_logger_ready_fn ready,
				      void *data, int *out_w, int *err_w, struct shim_error *err);

/* Drop the ready callback (its data is going away); the logger runs on. */
void shim_logger_forget_ready(struct shim_logger *lg);

/* The logger's pid (for logs and tests). */
int shim_logger_pid(const struct shim_logger *lg);

/* Stop it: SIGTERM now, SIGKILL after term_timeout_ms; the object frees
 * itself once the process is reaped. No ready callback runs after this.
 * NULL is a no-op. */
void shim_logger_stop(struct shim_logger *lg, int term_timeout_ms);

#endif
