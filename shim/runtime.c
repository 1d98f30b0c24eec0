/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

#define STDERR_CAPTURE 4096

/* ---- options and binary ---- */

static int trusted_file(const char *what, const char *path, struct shim_error *err);

static int copy_string(char *out, size_t size, json_t *v, const char *path, const char *key, struct shim_error *err)
{
	if (!json_is_string(v))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s: \"%s\" must be a string", path,
				      key);
	if (strlen(json_string_value(v)) >= size)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "%s: \"%s\" is too long", path,
				      key);
	strcpy(out, json_string_value(v));
	return 0;
}

static int load_global_args(struct shim_runtime_options *opts, json_t *v, const char *path, struct shim_error *err)
{
	size_t i;
	json_t *arg;

	if (!json_is_array(v) || json_array_size(v) > SHIM_RUNTIME_GLOBAL_ARGS_MAX)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s: \"global_args\" must be an array of at most %d strings", path,
				      SHIM_RUNTIME_GLOBAL_ARGS_MAX);
	json_array_foreach(v, i, arg)
	{
		const char *text = json_string_value(arg);

		if (!text || !text[0] || strlen(text) >= SHIM_RUNTIME_GLOBAL_ARG_LEN)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "%s: \"global_args\"[%zu] must be a non-empty string shorter than %d",
					      path, i, SHIM_RUNTIME_GLOBAL_ARG_LEN);
		snprintf(opts->global_args[i], sizeof(opts->global_args[i]), "%s", text);
	}
	opts->nglobal_args = json_array_size(v);
	return 0;
}

int shim_runtime_config_save(const char *path, const struct shim_runtime_options *opts, struct shim_error *err)
{
	char tmp[PATH_MAX + 8];
	json_t *root = json_object(), *args = json_array();
	int ret = 0;

	if (!root || !args) {
		json_decref(root);
		json_decref(args);
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	}
	json_object_set_new(root, "binary_name", json_string(opts->binary_name));
	if (opts->root[0])
		json_object_set_new(root, "root", json_string(opts->root));
	json_object_set_new(root, "systemd_cgroup", json_boolean(opts->systemd_cgroup));
	for (size_t i = 0; i < opts->nglobal_args; i++)
		json_array_append_new(args, json_string(opts->global_args[i]));
	json_object_set_new(root, "global_args", args);
	if (opts->timeout_ms > 0)
		json_object_set_new(root, "timeout_ms", json_integer(opts->timeout_ms));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		ret = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "path too long: %s", path);
	else if (json_dump_file(root, tmp, JSON_INDENT(1)) != 0)
		ret = shim_error_errno(err, TTRPC_CODE_INTERNAL, errno ? errno : EIO, "write %s", tmp);
	else if (rename(tmp, path) != 0)
		ret = shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "rename %s", tmp);
	json_decref(root);
	return ret;
}

int shim_runtime_config_load(const char *path, struct shim_runtime_options *opts, struct shim_error *err)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	int ret = 0;

	memset(opts, 0, sizeof(*opts));
	/* it names a binary the shim will run: only a file root controls */
	if (!path || path[0] != '/')
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "runtime config \"%s\" must be an absolute path", path ? path : "");
	ret = trusted_file("runtime config", path, err);
	if (ret < 0)
		return ret;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (access(path, R_OK) < 0)
			return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "runtime config %s", path);
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "runtime config %s: invalid JSON at line %d column %d: %s", path, jerr.line,
				      jerr.column, jerr.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "runtime config %s: must be a JSON object", path);
	}
	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "binary_name")) {
			ret = copy_string(opts->binary_name, sizeof(opts->binary_name), v, path, key, err);
		} else if (!strcmp(key, "root")) {
			ret = copy_string(opts->root, sizeof(opts->root), v, path, key, err);
		} else if (!strcmp(key, "systemd_cgroup")) {
			if (!json_is_boolean(v))
				ret = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
						     "%s: \"systemd_cgroup\" must be a boolean", path);
			opts->systemd_cgroup = json_is_true(v);
		} else if (!strcmp(key, "global_args")) {
			ret = load_global_args(opts, v, path, err);
		} else if (!strcmp(key, "timeout_ms")) {
			json_int_t ms = json_is_integer(v) ? json_integer_value(v) : 0;
			if (ms < 1 || ms > SHIM_RUNTIME_TIMEOUT_MAX_MS)
				ret = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
						     "%s: \"timeout_ms\" must be an integer from 1 to %d", path,
						     SHIM_RUNTIME_TIMEOUT_MAX_MS);
			opts->timeout_ms = (int)ms;
		} else {
			ret = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					     "%s: unknown key \"%s\" (known: binary_name, root, systemd_cgroup, "
					     "global_args, timeout_ms)",
					     path, key);
		}
		if (ret < 0)
			break;
	}
	json_decref(root);
	if (ret == 0 && opts->root[0] && opts->root[0] != '/')
		ret = shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s: \"root\" must be an absolute path",
				     path);
	return ret;
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* A file the shim trusts to say what it executes (the runtime binary, a
 * runtime config naming one) must be one only root (or our own user) can have
 * written: owned by uid 0 or ours, not writable by group or others, in a
 * directory likewise (a sticky one, like /tmp, keeps others from replacing it). */
static int trusted_file(const char *what, const char *path, struct shim_error *err)
{
	struct stat st;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (stat(path, &st) != 0)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "%s \"%s\"", what, path);
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EPERM,
				      "%s \"%s\" is not trusted: owner uid %u, mode %04o (it must be owned by root "
				      "and writable by nobody else)",
				      what, path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) != 0)
		return shim_error_errno(err, TTRPC_CODE_FAILED_PRECONDITION, errno, "%s directory \"%s\"", what, dir);
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EPERM,
				      "%s \"%s\" is not trusted: its directory %s has owner uid %u, mode %04o (it "
				      "must be owned by root and writable by nobody else)",
				      what, path, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

int shim_runtime_find_binary(const char *name, const char *path_env, char *out, size_t out_size, struct shim_error *err)
{
	const char *p, *end;

	if (!name || !name[0])
		name = SHIM_RUNTIME_DEFAULT_BINARY;
	if (strchr(name, '/')) {
		if (name[0] != '/')
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "runtime binary \"%s\" must be a bare name or an absolute path", name);
		if (!executable(name))
			return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOENT,
					      "runtime binary \"%s\" not found or not executable", name);
		if (strlen(name) >= out_size)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "path too long: %s",
					      name);
		int ret = trusted_file("runtime binary", name, err);
		if (ret < 0)
			return ret;
		strcpy(out, name);
		return 0;
	}
	if (!path_env)
		path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path_env; *p; p = *end ? end + 1 : end) {
		int n;

		end = strchrnul(p, ':');
		if (end == p || p[0] != '/')
			continue; /* relative PATH entries would depend on the bundle cwd */
		n = snprintf(out, out_size, "%.*s/%s", (int)(end - p), p, name);
		if (n > 0 && (size_t)n < out_size && executable(out)) {
			int ret = trusted_file("runtime binary", out, err);
			if (ret < 0)
				out[0] = '\0';
			return ret;
		}
	}
	out[0] = '\0';
	return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOENT,
			      "runtime binary \"%s\" not found in PATH %s", name, path_env);
}

/* Copy src into the block at *at, return where it went. */
static const char *put(char **at, const char *src)
{
	char *dst = *at;
	size_t n = strlen(src) + 1;
	memcpy(dst, src, n);
	*at += n;
	return dst;
}

int shim_runtime_init(struct shim_runtime *rt, const struct shim_runtime_options *opts, const char *ns,
		      const char *bundle, const char *path_env, struct shim_reaper *reaper, struct shim_error *err)
{
	const char *root = opts && opts->root[0] ? opts->root : SHIM_RUNTIME_DEFAULT_ROOT;
	char binary[PATH_MAX];
	int ret;

	memset(rt, 0, sizeof(*rt));
	rt->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : SHIM_RUNTIME_TIMEOUT_MS;
	rt->reaper = reaper;
	rt->systemd_cgroup = opts && opts->systemd_cgroup;
	if (!ns || !ns[0] || strchr(ns, '/') || !strcmp(ns, "..") || !strcmp(ns, "."))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "invalid namespace \"%s\"",
				      ns ? ns : "");
	ret = shim_runtime_find_binary(opts ? opts->binary_name : NULL, path_env ? path_env : getenv("PATH"), binary,
				       sizeof(binary), err);
	if (ret < 0)
		return ret;
	size_t nargs = opts ? opts->nglobal_args : 0;
	if (nargs > SHIM_RUNTIME_GLOBAL_ARGS_MAX)
		nargs = SHIM_RUNTIME_GLOBAL_ARGS_MAX;
	size_t size = strlen(binary) + 1 + strlen(root) + 1 + strlen(ns) + 1 + strlen(bundle) + sizeof("/log.json");
	for (size_t i = 0; i < nargs; i++)
		size += strnlen(opts->global_args[i], SHIM_RUNTIME_GLOBAL_ARG_LEN - 1) + 1;
	if (strlen(root) + 1 + strlen(ns) >= PATH_MAX || strlen(bundle) + sizeof("/log.json") > PATH_MAX)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG,
				      "runtime root or bundle path too long");
	char *at = rt->strings = malloc(size);
	if (!at)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	rt->binary = put(&at, binary);
	rt->root = at;
	at += sprintf(at, "%s/%s", root, ns) + 1;
	rt->log_path = at;
	at += sprintf(at, "%s/log.json", bundle) + 1;
	for (size_t i = 0; i < nargs; i++) {
		size_t n = strnlen(opts->global_args[i], SHIM_RUNTIME_GLOBAL_ARG_LEN - 1);
		memcpy(at, opts->global_args[i], n);
		at[n] = '\0';
		rt->global_args[i] = at;
		at += n + 1;
	}
	rt->nglobal_args = nargs;
	return 0;
}

void shim_runtime_release(struct shim_runtime *rt)
{
	free(rt->strings);
	rt->strings = NULL;
	rt->binary = rt->root = rt->log_path = NULL;
	rt->nglobal_args = 0;
}

/* ---- argv ---- */

static void add(struct shim_argv *a, const char *s)
{
	/* Builders add at most ~20 words; the bound is a guard, not a limit users meet. */
	if (a->n < SHIM_ARGV_MAX)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void begin(const struct shim_runtime *rt, struct shim_argv *a, const char *command)
{
	memset(a, 0, sizeof(*a));
	add(a, rt->binary);
	add(a, "--root");
	add(a, rt->root);
	add(a, "--log");
	add(a, rt->log_path);
	add(a, "--log-format");
	add(a, "json");
	if (rt->systemd_cgroup)
		add(a, "--systemd-cgroup");
	for (size_t i = 0; i < rt->nglobal_args; i++)
		add(a, rt->global_args[i]);
	add(a, command);
	a->command = command;
}

void shim_runtime_argv_create(const struct shim_runtime *rt, struct shim_argv *a, const char *id, const char *bundle,
			      const char *pid_file, const char *console_socket)
{
	begin(rt, a, "create");
	add(a, "--bundle");
	add(a, bundle);
	add(a, "--pid-file");
	add(a, pid_file);
	if (console_socket) {
		add(a, "--console-socket");
		add(a, console_socket);
	}
	add(a, id);
}

void shim_runtime_argv_start(const struct shim_runtime *rt, struct shim_argv *a, const char *id)
{
	begin(rt, a, "start");
	add(a, id);
}

void shim_runtime_argv_kill(const struct shim_runtime *rt, struct shim_argv *a, const char *id, int signal, bool all)
{
	begin(rt, a, "kill");
	if (all)
		add(a, "--all");
	add(a, id);
	snprintf(a->number, sizeof(a->number), "%d", signal);
	add(a, a->number);
}

void shim_runtime_argv_delete(const struct shim_runtime *rt, struct shim_argv *a, const char *id, bool force)
{
	begin(rt, a, "delete");
	if (force)
		add(a, "--force");
	add(a, id);
}

void shim_runtime_argv_exec(const struct shim_runtime *rt, struct shim_argv *a, const char *id,
			    const char *process_file, const char *pid_file, const char *console_socket)
{
	begin(rt, a, "exec");
	add(a, "--process");
	add(a, process_file);
	add(a, "--detach");
	add(a, "--pid-file");
	add(a, pid_file);
	if (console_socket) {
		add(a, "--console-socket");
		add(a, console_socket);
	}
	add(a, id);
}

void shim_runtime_argv_pause(const struct shim_runtime *rt, struct shim_argv *a, const char *id)
{
	begin(rt, a, "pause");
	add(a, id);
}

void shim_runtime_argv_resume(const struct shim_runtime *rt, struct shim_argv *a, const char *id)
{
	begin(rt, a, "resume");
	add(a, id);
}

void shim_runtime_argv_update(const struct shim_runtime *rt, struct shim_argv *a, const char *id)
{
	begin(rt, a, "update");
	add(a, "--resources");
	add(a, "-");
	add(a, id);
}

void shim_runtime_argv_ps(const struct shim_runtime *rt, struct shim_argv *a, const char *id)
{
	begin(rt, a, "ps");
	add(a, "--format");
	add(a, "json");
	add(a, id);
}

/* ---- running ---- */

static long log_size(const struct shim_runtime *rt)
{
	struct stat st;

	/* no log (a runtime run outside a bundle: -info's `features`) */
	return rt->log_path && stat(rt->log_path, &st) == 0 ? (long)st.st_size : 0;
}

static int setup_fd(posix_spawn_file_actions_t *fa, int fd, int target)
{
	if (fd >= 0)
		return posix_spawn_file_actions_adddup2(fa, fd, target);
	return posix_spawn_file_actions_addopen(fa, target, "/dev/null", O_RDWR, 0);
}

int shim_runtime_spawn(struct shim_runtime *rt, const struct shim_argv *argv, int stdin_fd, int stdout_fd,
		       int stderr_fd, pid_t *pid, long *log_offset, struct shim_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int ret;

	*pid = -1;
	if (log_offset)
		*log_offset = log_size(rt);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The shim blocks SIGCHLD and ignores SIGPIPE; the runtime (and through it
	 * the container) must start with neither. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	ret = setup_fd(&fa, stdin_fd, 0);
	if (!ret)
		ret = setup_fd(&fa, stdout_fd, 1);
	if (!ret)
		ret = setup_fd(&fa, stderr_fd, 2);
	if (!ret)
		ret = posix_spawn(pid, rt->binary, &fa, &attr, (char *const *)argv->v, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (ret)
		return shim_error_errno(err, TTRPC_CODE_FAILED_PRECONDITION, ret, "run %s %s", rt->binary,
					argv->command ? argv->command : "");
	return 0;
}

int shim_runtime_error(const struct shim_runtime *rt, const char *what, long log_offset, int status,
		       const char *stderr_text, struct shim_error *err)
{
	char msg[SHIM_ERROR_MSG_MAX] = "";
	char line[8192];
	const char *base = strrchr(rt->binary, '/');
	FILE *f;

	base = base ? base + 1 : rt->binary;
	f = rt->log_path ? fopen(rt->log_path, "re") : NULL;
	if (f) {
		fseek(f, 0, SEEK_END);
		/* A runtime that truncated the log starts over at 0. */
		fseek(f, ftell(f) >= log_offset ? log_offset : 0, SEEK_SET);
		while (fgets(line, sizeof(line), f)) {
			json_t *entry = json_loads(line, 0, NULL);
			const char *level = json_string_value(json_object_get(entry, "level"));
			const char *text = json_string_value(json_object_get(entry, "msg"));

			if (level && text && !strcmp(level, "error"))
				snprintf(msg, sizeof(msg), "%s", text);
			json_decref(entry);
		}
		fclose(f);
	}
	if (!msg[0] && stderr_text)
		snprintf(msg, sizeof(msg), "%s", stderr_text);
	/* Trim the newline runc's messages end with. */
	for (size_t n = strlen(msg); n && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
		msg[n - 1] = '\0';
	if (msg[0])
		/* runc's own words already say "runc create failed: ...": prefix as Go's shim does */
		return shim_error_set(err, TTRPC_CODE_UNKNOWN, -EIO, "OCI runtime %s failed: %s", what, msg);
	return shim_error_set(err, TTRPC_CODE_UNKNOWN, -EIO, "%s %s failed: exit status %d", base, what, status);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what is there; returns false at EOF or error. Data past size is counted in *overflow. */
static bool drain(int fd, char *buf, size_t size, size_t *len, bool *overflow)
{
	char scratch[4096];

	for (;;) {
		char *dst = size && *len + 1 < size ? buf + *len : scratch;
		size_t room = size && *len + 1 < size ? size - 1 - *len : sizeof(scratch);
		ssize_t n = read(fd, dst, room);

		if (n > 0) {
			if (dst == scratch)
				*overflow = true;
			else
				*len += (size_t)n;
			if (size)
				buf[*len] = '\0';
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

struct run {
	int in, out, errfd, pidfd; /* our ends; -1 when closed */
	const char *input;
	size_t input_len, input_done;
	char *output;
	size_t output_size, output_len;
	bool output_overflow;
	char err_text[STDERR_CAPTURE];
	size_t err_len;
	bool err_overflow;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Poll the pipes and the pidfd until the process exits (then drain) or the deadline. */
static bool pump(struct run *r, int64_t deadline)
{
	for (;;) {
		struct pollfd p[4];
		int n = 0, ready, timeout = -1;
		bool exited = false;

		if (r->in >= 0)
			p[n++] = (struct pollfd){ r->in, POLLOUT, 0 };
		if (r->out >= 0)
			p[n++] = (struct pollfd){ r->out, POLLIN, 0 };
		if (r->errfd >= 0)
			p[n++] = (struct pollfd){ r->errfd, POLLIN, 0 };
		p[n++] = (struct pollfd){ r->pidfd, POLLIN, 0 };
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return false;
			timeout = (int)left;
		}
		ready = poll(p, (nfds_t)n, timeout);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0)
			return false;
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == r->pidfd) {
				exited = true;
			} else if (p[i].fd == r->in) {
				ssize_t w = send(r->in, r->input + r->input_done, r->input_len - r->input_done,
						 MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w > 0)
					r->input_done += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || r->input_done == r->input_len)
					close_fd(&r->in);
			} else if (p[i].fd == r->out) {
				if (!drain(r->out, r->output, r->output_size, &r->output_len, &r->output_overflow))
					close_fd(&r->out);
			} else if (p[i].fd == r->errfd) {
				if (!drain(r->errfd, r->err_text, sizeof(r->err_text), &r->err_len, &r->err_overflow))
					close_fd(&r->errfd);
			}
		}
		if (exited) {
			/* Whatever the runtime wrote is in the pipes now; a container that
			 * inherited them must not keep us waiting for EOF. */
			if (r->out >= 0)
				drain(r->out, r->output, r->output_size, &r->output_len, &r->output_overflow);
			if (r->errfd >= 0)
				drain(r->errfd, r->err_text, sizeof(r->err_text), &r->err_len, &r->err_overflow);
			return true;
		}
	}
}

static int make_pipe(int fds[2], struct shim_error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return shim_error_errno(err, TTRPC_CODE_RESOURCE_EXHAUSTED, errno, "pipe");
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	return 0;
}

/* capture_stderr: only for commands whose children do not inherit stderr. */
static int run(struct shim_runtime *rt, const struct shim_argv *argv, struct shim_run_io *io, bool capture_stderr,
	       struct shim_error *err)
{
	struct run r = { .in = -1, .out = -1, .errfd = -1, .pidfd = -1 };
	int child_in = io->stdin_fd, child_out = io->stdout_fd, child_err = io->stderr_fd;
	int in_pair[2] = { -1, -1 }, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	struct shim_exit exit;
	long offset = 0;
	pid_t pid;
	int ret;

	/* stdin as a socketpair: send(MSG_NOSIGNAL) cannot raise SIGPIPE. */
	if (io->input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) < 0)
		return shim_error_errno(err, TTRPC_CODE_RESOURCE_EXHAUSTED, errno, "socketpair");
	ret = io->output ? make_pipe(out_pipe, err) : 0;
	if (!ret && capture_stderr && io->stderr_fd < 0)
		ret = make_pipe(err_pipe, err);
	if (ret < 0)
		goto out;
	if (io->input) {
		shutdown(in_pair[1], SHUT_WR);
		child_in = in_pair[1];
		r.in = in_pair[0];
		in_pair[0] = -1;
		r.input = io->input;
		r.input_len = io->input_len;
		if (!r.input_len)
			close_fd(&r.in);
	}
	if (io->output) {
		child_out = out_pipe[1];
		r.out = out_pipe[0];
		out_pipe[0] = -1;
		r.output = io->output;
		r.output_size = io->output_size;
		io->output[0] = '\0';
	}
	if (err_pipe[1] >= 0) {
		child_err = err_pipe[1];
		r.errfd = err_pipe[0];
		err_pipe[0] = -1;
	}
	ret = shim_runtime_spawn(rt, argv, child_in, child_out, child_err, &pid, &offset, err);
	close_fd(&in_pair[1]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	if (ret < 0)
		goto out;
	r.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r.pidfd < 0) {
		ret = shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "pidfd_open");
		kill(pid, SIGKILL);
		shim_reaper_wait(rt->reaper, pid, -1, &exit, NULL);
		goto out;
	}
	if (!pump(&r, rt->timeout_ms >= 0 ? now_ms() + rt->timeout_ms : -1)) {
		kill(pid, SIGKILL);
		shim_reaper_wait(rt->reaper, pid, -1, &exit, NULL);
		ret = shim_error_set(err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
				     "%s %s timed out after %d ms (killed)", rt->binary,
				     argv->command ? argv->command : "", rt->timeout_ms);
		goto out;
	}
	ret = shim_reaper_wait(rt->reaper, pid, -1, &exit, err);
	if (ret < 0)
		goto out;
	if (exit.status != 0) {
		ret = shim_runtime_error(rt, argv->command ? argv->command : "command", offset, exit.status, r.err_text,
					 err);
		goto out;
	}
	if (r.output_overflow) {
		ret = shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -E2BIG, "%s %s: output larger than %zu bytes",
				     rt->binary, argv->command ? argv->command : "", io->output_size);
		goto out;
	}
	io->output_len = r.output_len;
out:
	close_fd(&r.in);
	close_fd(&r.out);
	close_fd(&r.errfd);
	close_fd(&r.pidfd);
	close_fd(&in_pair[0]);
	close_fd(&in_pair[1]);
	close_fd(&out_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[0]);
	close_fd(&err_pipe[1]);
	return ret;
}

int shim_runtime_run(struct shim_runtime *rt, const struct shim_argv *argv, struct shim_run_io *io,
		     struct shim_error *err)
{
	struct shim_run_io none = SHIM_RUN_IO_INIT;

	return run(rt, argv, io ? io : &none, true, err);
}

/* ---- commands ---- */

int shim_read_pid_file(const char *path, pid_t *pid, struct shim_error *err)
{
	char buf[32];
	ssize_t n;
	long v;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "open pid file %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "pid file %s is empty", path);
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 0 || v > 0x3fffffff)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "pid file %s: bad pid \"%s\"", path, buf);
	*pid = (pid_t)v;
	return 0;
}

static int simple(struct shim_runtime *rt, const struct shim_argv *a, struct shim_error *err)
{
	return shim_runtime_run(rt, a, NULL, err);
}

int shim_runtime_create(struct shim_runtime *rt, const char *id, const char *bundle, const char *console_socket,
			int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid, struct shim_error *err)
{
	struct shim_run_io io = { stdin_fd, stdout_fd, stderr_fd, NULL, 0, NULL, 0, 0 };
	char pid_file[PATH_MAX];
	struct shim_argv a;
	int ret;

	if (snprintf(pid_file, sizeof(pid_file), "%s/init.pid", bundle) >= (int)sizeof(pid_file))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "bundle path too long");
	unlink(pid_file);
	shim_runtime_argv_create(rt, &a, id, bundle, pid_file, console_socket);
	/* The container inherits the runtime's stdio: never our capture pipe. */
	ret = run(rt, &a, &io, false, err);
	if (ret == 0)
		ret = shim_read_pid_file(pid_file, pid, err);
	return ret;
}

int shim_runtime_start(struct shim_runtime *rt, const char *id, struct shim_error *err)
{
	struct shim_argv a;

	shim_runtime_argv_start(rt, &a, id);
	return simple(rt, &a, err);
}

int shim_runtime_kill(struct shim_runtime *rt, const char *id, int signal, bool all, struct shim_error *err)
{
	struct shim_argv a;

	shim_runtime_argv_kill(rt, &a, id, signal, all);
	return simple(rt, &a, err);
}

int shim_runtime_delete(struct shim_runtime *rt, const char *id, bool force, struct shim_error *err)
{
	struct shim_argv a;

	shim_runtime_argv_delete(rt, &a, id, force);
	return simple(rt, &a, err);
}

int shim_runtime_pause(struct shim_runtime *rt, const char *id, struct shim_error *err)
{
	struct shim_argv a;

	shim_runtime_argv_pause(rt, &a, id);
	return simple(rt, &a, err);
}

int shim_runtime_resume(struct shim_runtime *rt, const char *id, struct shim_error *err)
{
	struct shim_argv a;

	shim_runtime_argv_resume(rt, &a, id);
	return simple(rt, &a, err);
}

int shim_runtime_update(struct shim_runtime *rt, const char *id, const char *resources_json, struct shim_error *err)
{
	struct shim_run_io io = SHIM_RUN_IO_INIT;
	struct shim_argv a;

	io.input = resources_json;
	io.input_len = strlen(resources_json);
	shim_runtime_argv_update(rt, &a, id);
	return shim_runtime_run(rt, &a, &io, err);
}

int shim_runtime_parse_ps(const struct shim_runtime *rt, const char *out, size_t len, pid_t **pids, size_t *n,
			  struct shim_error *err)
{
	json_error_t jerr;
	json_t *root, *v;
	size_t i;

	*pids = NULL;
	*n = 0;
	root = json_loadb(out, len, 0, &jerr);
	if (!json_is_array(root)) {
		json_decref(root);
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EPROTO, "%s ps: output is not a JSON array of pids",
				      rt->binary);
	}
	*pids = calloc(json_array_size(root) + 1, sizeof(pid_t));
	if (!*pids) {
		json_decref(root);
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	}
	json_array_foreach(root, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			json_decref(root);
			free(*pids);
			*pids = NULL;
			return shim_error_set(err, TTRPC_CODE_INTERNAL, -EPROTO, "%s ps: bad pid in output",
					      rt->binary);
		}
		(*pids)[i] = (pid_t)json_integer_value(v);
	}
	*n = json_array_size(root);
	json_decref(root);
	return 0;
}

int shim_runtime_ps(struct shim_runtime *rt, const char *id, pid_t **pids, size_t *n, struct shim_error *err)
{
	struct shim_run_io io = SHIM_RUN_IO_INIT;
	char *out = malloc(SHIM_RUNTIME_PS_MAX);
	struct shim_argv a;
	int ret;

	*pids = NULL;
	*n = 0;
	if (!out)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	io.output = out;
	io.output_size = SHIM_RUNTIME_PS_MAX;
	shim_runtime_argv_ps(rt, &a, id);
	ret = shim_runtime_run(rt, &a, &io, err);
	if (ret == 0)
		ret = shim_runtime_parse_ps(rt, out, io.output_len, pids, n, err);
	free(out);
	return ret;
}

int shim_runtime_exec(struct shim_runtime *rt, const char *id, const char *dir, const char *process_json,
		      const char *console_socket, int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid,
		      struct shim_error *err)
{
	struct shim_run_io io = { stdin_fd, stdout_fd, stderr_fd, NULL, 0, NULL, 0, 0 };
	char process_file[PATH_MAX], pid_file[PATH_MAX];
	struct shim_argv a;
	size_t len = strlen(process_json);
	ssize_t w;
	int fd, ret;

	if (snprintf(process_file, sizeof(process_file), "%s/.exec-XXXXXX", dir) >= (int)sizeof(process_file) ||
	    snprintf(pid_file, sizeof(pid_file), "%s/.exec-XXXXXX.pid", dir) >= (int)sizeof(pid_file))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "exec dir path too long");
	fd = mkostemp(process_file, O_CLOEXEC);
	if (fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "create %s", process_file);
	w = write(fd, process_json, len);
	close(fd);
	if (w != (ssize_t)len) {
		unlink(process_file);
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EIO, "write %s", process_file);
	}
	/* The pid file sits next to the process file, under the same random name. */
	/* Fits: checked with the same template above. */
	strcpy(pid_file, process_file);
	strcat(pid_file, ".pid");
	shim_runtime_argv_exec(rt, &a, id, process_file, pid_file, console_socket);
	ret = run(rt, &a, &io, false, err);
	if (ret == 0)
		ret = shim_read_pid_file(pid_file, pid, err);
	unlink(process_file);
	unlink(pid_file);
	return ret;
}
