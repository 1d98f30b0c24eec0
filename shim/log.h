/* SPDX-License-Identifier: Apache-2.0 */
/* The serving shim's log: logrus text lines, as containerd's own shims write,
 *   time="2026-11-22T08:00:00.123456789Z" level=info msg="started" id=c1 runtime=io.containerd.tiny.v2
 * to the bundle's `log` FIFO, which containerd reads and copies to its output.
 *
 * Never blocks: the FIFO is opened O_WRONLY|O_NONBLOCK. While it has no reader
 * (containerd not attached yet, or restarted) lines go to the fallback fd (or are
 * dropped) and the FIFO is opened again at most every retry_ns; a full FIFO drops
 * the line and counts it. Lines are at most SHIM_LOG_LINE_MAX bytes, so each is
 * one atomic pipe write. The process must ignore SIGPIPE (the shim does). */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ttrpc/common.h>

#define SHIM_LOG_LINE_MAX 4096 /* == PIPE_BUF */
#define SHIM_LOG_MAX_FIELDS 16 /* key/value pairs per line, base fields included */

enum shim_log_level {
	SHIM_LOG_ERROR = 0,
	SHIM_LOG_WARN = 1,
	SHIM_LOG_INFO = 2,
	SHIM_LOG_DEBUG = 3,
};

struct shim_log {
	int fd;		 /* FIFO write end; -1 while it has no reader */
	int fallback_fd; /* used while fd is -1; -1 drops */
	char path[PATH_MAX];
	bool debug;		 /* write SHIM_LOG_DEBUG lines too */
	int64_t retry_ns;	 /* pause between attempts to open the FIFO (default 1 s) */
	int64_t next_open_ns;	 /* monotonic time of the next attempt */
	uint64_t dropped;	 /* lines lost since the last one that got through */
	const char *const *base; /* NULL-terminated key, value, ... on every line; not owned */
};

/* Set up log for the FIFO at fifo_path (NULL: fallback only) and try to open it
 * once. Never fails: a FIFO without reader is retried later. */
void shim_log_init(struct shim_log *log, const char *fifo_path, int fallback_fd, bool debug);

/* Close the FIFO (not the fallback fd, which the caller owns). */
void shim_log_close(struct shim_log *log);

/* Log msg with extra fields kv (NULL-terminated key, value, ...; may be NULL). */
void shim_log_kv(struct shim_log *log, int level, const char *msg, const char *const *kv);

/* printf-style message without extra fields. */
void shim_logf(struct shim_log *log, int level, const char *fmt, ...) TTRPC_PRINTF(3, 4);

/* A ttrpc_log_fn that forwards libttrpc's lines (user is a struct shim_log *). */
void shim_log_ttrpc(void *user, int level, const char *msg);

/* Format one line (with the trailing newline) into buf: time, level, msg, then the
 * fields sorted by key, values quoted as logrus does (Go %q when a value has
 * anything but [A-Za-z0-9-._/@^+]). Too long lines are cut, ending in `..."`.
 * Returns the length (< size). size must be at least 64. */
size_t shim_log_format(char *buf, size_t size, const struct timespec *when, int level, const char *msg,
		       const char *const *base, const char *const *kv);

/* "error", "warning", "info", "debug". */
const char *shim_log_level_name(int level);

#endif
