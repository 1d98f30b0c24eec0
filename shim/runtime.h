/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI runtime (runc, crun or another runc-compatible binary): command lines
 * as argv arrays, and running them without a shell.
 *
 * Every command carries the global flags containerd's runc shim uses:
 *   <binary> --root <root>/<ns> --log <bundle>/log.json --log-format json [--systemd-cgroup] ...
 * and failures report the runtime's own words: the last level=error entry it
 * appended to log.json during the run, else its stderr, else the exit status.
 *
 * Runs are synchronous (runc create/start/kill return in tens of milliseconds)
 * and bounded by timeout_ms; the child is waited for with shim_reaper_wait,
 * which reaps that pid only (see reaper.h for how this coexists with the
 * subreaper's waitpid(-1)). shim_runtime_spawn is the asynchronous form: watch
 * the pid with the reaper and call shim_runtime_error on a failed exit. */
#ifndef SHIM_RUNTIME_H
#define SHIM_RUNTIME_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "reaper.h"

#define SHIM_RUNTIME_DEFAULT_BINARY "runc"
#define SHIM_RUNTIME_DEFAULT_ROOT "/run/containerd/runc"
#define SHIM_RUNTIME_TIMEOUT_MS 30000
#define SHIM_RUNTIME_TIMEOUT_MAX_MS 600000
#define SHIM_ARGV_MAX 40

/* What the user chose: containerd.runc.v1.Options (binary_name, root,
 * systemd_cgroup) or our runtime-config JSON file. Empty strings mean default. */
#define SHIM_RUNTIME_GLOBAL_ARGS_MAX 8
#define SHIM_RUNTIME_GLOBAL_ARG_LEN 256

struct shim_runtime_options {
	char binary_name[PATH_MAX];
	char root[PATH_MAX];
	bool systemd_cgroup;
	/* extra global flags placed before the subcommand, e.g. crun's
	 * "--cgroup-manager=disabled" on a host whose cgroups it cannot drive */
	char global_args[SHIM_RUNTIME_GLOBAL_ARGS_MAX][SHIM_RUNTIME_GLOBAL_ARG_LEN];
	size_t nglobal_args;
	int timeout_ms; /* each runtime command's bound; 0: SHIM_RUNTIME_TIMEOUT_MS */
};

/* Read our runtime-config file (the path in runtimeoptions.v1.Options.config_path),
 * e.g. {"binary_name": "crun", "root": "/run/crun", "systemd_cgroup": false,
 *       "global_args": ["--cgroup-manager=disabled"], "timeout_ms": 60000}
 * (timeout_ms: how long one runtime command may run before it is killed).
 * Unknown keys and wrong types are INVALID_ARGUMENT, naming the file. */
int shim_runtime_config_load(const char *path, struct shim_runtime_options *opts, struct shim_error *err);

/* Resolve name (a bare name searched in path_env, or a path with a slash) to an
 * absolute executable. FAILED_PRECONDITION "runtime binary ... not found". */
int shim_runtime_find_binary(const char *name, const char *path_env, char *out, size_t out_size,
			     struct shim_error *err);

/* Every container has one: its strings live in one block sized to what they
 * hold (no PATH_MAX arrays per container). */
struct shim_runtime {
	const char *binary;   /* absolute path */
	const char *root;     /* <root>/<namespace> */
	const char *log_path; /* <bundle>/log.json */
	bool systemd_cgroup;
	const char *global_args[SHIM_RUNTIME_GLOBAL_ARGS_MAX];
	size_t nglobal_args;
	int timeout_ms;		    /* per synchronous command */
	struct shim_reaper *reaper; /* may be NULL (no loop: the delete action) */
	char *strings;		    /* the block the strings above point into */
};

/* Fill rt for namespace ns and bundle; opts may be NULL (runc, default root).
 * path_env NULL means getenv("PATH"). On success rt holds memory that
 * shim_runtime_release frees; on failure it holds none. */
int shim_runtime_init(struct shim_runtime *rt, const struct shim_runtime_options *opts, const char *ns,
		      const char *bundle, const char *path_env, struct shim_reaper *reaper, struct shim_error *err);
/* Free what shim_runtime_init allocated (rt itself is the caller's); a zeroed
 * or released rt is a no-op. */
void shim_runtime_release(struct shim_runtime *rt);

/* An argv: pointers into rt, the caller's strings and string constants, so it
 * lives no longer than those. v[n] is NULL. */
struct shim_argv {
	const char *v[SHIM_ARGV_MAX + 1];
	size_t n;
	char number[16];     /* room for the signal number of kill */
	const char *command; /* the subcommand ("create", ...), for messages */
};

void shim_runtime_argv_create(const struct shim_runtime *rt, struct shim_argv *a, const char *id, const char *bundle,
			      const char *pid_file, const char *console_socket);
void shim_runtime_argv_start(const struct shim_runtime *rt, struct shim_argv *a, const char *id);
void shim_runtime_argv_kill(const struct shim_runtime *rt, struct shim_argv *a, const char *id, int signal, bool all);
void shim_runtime_argv_delete(const struct shim_runtime *rt, struct shim_argv *a, const char *id, bool force);
void shim_runtime_argv_exec(const struct shim_runtime *rt, struct shim_argv *a, const char *id,
			    const char *process_file, const char *pid_file, const char *console_socket);
void shim_runtime_argv_pause(const struct shim_runtime *rt, struct shim_argv *a, const char *id);
void shim_runtime_argv_resume(const struct shim_runtime *rt, struct shim_argv *a, const char *id);
void shim_runtime_argv_update(const struct shim_runtime *rt, struct shim_argv *a, const char *id);
void shim_runtime_argv_ps(const struct shim_runtime *rt, struct shim_argv *a, const char *id);

/* Stdio of one run. fds < 0 mean /dev/null, except that with stderr_fd < 0 the
 * runtime's stderr is captured for error messages. input is written to stdin
 * (then stdin_fd is ignored); with output set, stdout is captured (at most
 * output_size - 1 bytes, NUL-terminated; more is an error). */
struct shim_run_io {
	int stdin_fd, stdout_fd, stderr_fd;
	const char *input;
	size_t input_len;
	char *output;
	size_t output_size;
	size_t output_len;
};

#define SHIM_RUN_IO_INIT                        \
	{                                       \
		-1, -1, -1, NULL, 0, NULL, 0, 0 \
	}

/* Run argv to completion. 0 when it exited 0; otherwise -EIO (or -ETIMEDOUT,
 * after killing it) with the runtime's error text, code UNKNOWN. */
int shim_runtime_run(struct shim_runtime *rt, const struct shim_argv *argv, struct shim_run_io *io,
		     struct shim_error *err);

/* Start argv without waiting; stdio as in shim_run_io (input and output unused).
 * *log_offset receives the size of log.json before the run, for shim_runtime_error. */
int shim_runtime_spawn(struct shim_runtime *rt, const struct shim_argv *argv, int stdin_fd, int stdout_fd,
		       int stderr_fd, pid_t *pid, long *log_offset, struct shim_error *err);

/* Fill err for a run of argv[...] (what: "create", ...) that ended with status:
 * the last error entry of log.json after log_offset, else stderr_text, else
 * "exit status N". Returns -EIO. */
int shim_runtime_error(const struct shim_runtime *rt, const char *what, long log_offset, int status,
		       const char *stderr_text, struct shim_error *err);

/* Convenience wrappers over the argv builders and shim_runtime_run. */
int shim_runtime_create(struct shim_runtime *rt, const char *id, const char *bundle, const char *console_socket,
			int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid, struct shim_error *err);
int shim_runtime_start(struct shim_runtime *rt, const char *id, struct shim_error *err);
int shim_runtime_kill(struct shim_runtime *rt, const char *id, int signal, bool all, struct shim_error *err);
int shim_runtime_delete(struct shim_runtime *rt, const char *id, bool force, struct shim_error *err);
int shim_runtime_pause(struct shim_runtime *rt, const char *id, struct shim_error *err);
int shim_runtime_resume(struct shim_runtime *rt, const char *id, struct shim_error *err);
/* resources_json: the LinuxResources JSON from UpdateTaskRequest, fed on stdin. */
int shim_runtime_update(struct shim_runtime *rt, const char *id, const char *resources_json, struct shim_error *err);
/* Parse `ps --format json` output (a JSON array of pids); *pids is malloc'ed. */
#define SHIM_RUNTIME_PS_MAX 65536
int shim_runtime_parse_ps(const struct shim_runtime *rt, const char *out, size_t len, pid_t **pids, size_t *n,
			  struct shim_error *err);
/* Pids of the container's processes; *pids is malloc'ed (free it), *n its length. */
int shim_runtime_ps(struct shim_runtime *rt, const char *id, pid_t **pids, size_t *n, struct shim_error *err);
/* Exec process_json (an OCI process spec) in container id; it is written to a
 * temp file in dir, removed afterwards. Returns the new process's pid. */
int shim_runtime_exec(struct shim_runtime *rt, const char *id, const char *dir, const char *process_json,
		      const char *console_socket, int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid,
		      struct shim_error *err);

/* Write opts as a runtime-config file at path (atomically), so that a later
 * `delete` action runs the same runtime the same way. */
int shim_runtime_config_save(const char *path, const struct shim_runtime_options *opts, struct shim_error *err);

/* Read a decimal pid file (runc's --pid-file). */
int shim_read_pid_file(const char *path, pid_t *pid, struct shim_error *err);

#endif
