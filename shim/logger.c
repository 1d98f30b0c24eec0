/* SPDX-License-Identifier: Apache-2.0 */
/* Container stdio URIs and logging binaries (see logger.h). */
#include "shim/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttrpc/common.h>

/* ---- URIs ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into a new string; plus_space for query parts
 * (application/x-www-form-urlencoded, as Go's url.ParseQuery). NULL on a bad
 * escape or an embedded NUL; *nomem set when out of memory. */
static char *decode(const char *s, size_t n, bool plus_space, bool *nomem)
{
	char *out = malloc(n + 1), *w = out;
	if (!out) {
		*nomem = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*w++ = (char)(h * 16 + l);
			i += 2;
		} else if (plus_space && s[i] == '+') {
			*w++ = ' ';
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return out;
}

static bool clean_abs_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c; c++) {
		if (c[0] == '/' && (c[1] == '/' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0')) ||
				    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return false;
	}
	size_t n = strlen(p);
	return n == 1 || p[n - 1] != '/';
}

void shim_log_uri_free(struct shim_log_uri *u)
{
	if (!u)
		return;
	for (size_t i = 0; u->argv && i < u->argc; i++)
		free(u->argv[i]);
	free(u->argv);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

static int bad(struct shim_error *err, const char *s, const char *why)
{
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "stdio URI \"%s\": %s", s, why);
}

static int push_arg(struct shim_log_uri *u, char *a)
{
	char **n = realloc(u->argv, (u->argc + 2) * sizeof(*n));
	if (!n) {
		free(a);
		return -ENOMEM;
	}
	u->argv = n;
	u->argv[u->argc++] = a;
	u->argv[u->argc] = NULL;
	return 0;
}

int shim_log_uri_parse(const char *s, struct shim_log_uri *u, struct shim_error *err)
{
	memset(u, 0, sizeof(*u));
	const char *sep = s ? strstr(s, "://") : NULL;
	if (!s || !sep)
		return 0; /* none, or a plain path: FIFOs */
	size_t slen = (size_t)(sep - s);
	if (slen == 4 && !strncmp(s, "fifo", 4)) {
		u->kind = SHIM_LOG_URI_FIFO;
	} else if (slen == 4 && !strncmp(s, "file", 4)) {
		u->kind = SHIM_LOG_URI_FILE;
	} else if (slen == 6 && !strncmp(s, "binary", 6)) {
		u->kind = SHIM_LOG_URI_BINARY;
	} else {
		return bad(err, s, "unknown scheme (fifo, file and binary are known)");
	}
	const char *p = sep + 3;
	if (*p != '/')
		return bad(err, s, "a host part is not supported: write scheme:///absolute/path");
	const char *q = strchr(p, '?');
	if (strchr(p, '#'))
		return bad(err, s, "a fragment is not supported");
	size_t plen = q ? (size_t)(q - p) : strlen(p);
	bool nomem = false;
	u->path = decode(p, plen, false, &nomem);
	if (!u->path) {
		int rc = nomem ? shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory") :
				 bad(err, s, "bad percent escape in the path");
		shim_log_uri_free(u);
		return rc;
	}
	if (!clean_abs_path(u->path)) {
		shim_log_uri_free(u);
		return bad(err, s, "the path must be absolute and clean (no //, . or ..)");
	}
	if (u->kind == SHIM_LOG_URI_FIFO) {
		/* fifo:///p is the path p */
		return 0;
	}
	if (q && u->kind == SHIM_LOG_URI_FILE) {
		shim_log_uri_free(u);
		return bad(err, s, "file URIs take no query");
	}
	if (u->kind != SHIM_LOG_URI_BINARY)
		return 0;
	char *path0 = strdup(u->path);
	if (!path0 || push_arg(u, path0)) {
		shim_log_uri_free(u);
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	}
	for (const char *part = q ? q + 1 : NULL; part && *part;) {
		const char *amp = strchr(part, '&');
		size_t n = amp ? (size_t)(amp - part) : strlen(part);
		if (n) {
			const char *eq = memchr(part, '=', n);
			size_t kn = eq ? (size_t)(eq - part) : n;
			if (u->argc + 2 > SHIM_LOGGER_MAX_ARGS) {
				shim_log_uri_free(u);
				return bad(err, s, "too many query arguments");
			}
			char *k = decode(part, kn, true, &nomem);
			char *v = eq ? decode(eq + 1, n - kn - 1, true, &nomem) : NULL;
			if (!k || (eq && !v)) {
				free(k);
				free(v);
				int rc = nomem ? shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM,
								"out of memory") :
						 bad(err, s, "bad percent escape in the query");
				shim_log_uri_free(u);
				return rc;
			}
			/* Go: the key, then its first value; a bare key "k"
			 * has the value "" (url.Query gives [""]), so an
			 * empty argument follows it. */
			if (!v)
				v = strdup("");
			if (!v) {
				free(k);
				shim_log_uri_free(u);
				return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
			}
			if (push_arg(u, k)) {
				free(v);
				shim_log_uri_free(u);
				return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
			}
			if (push_arg(u, v)) {
				shim_log_uri_free(u);
				return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
			}
		}
		part = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* mkdir -p of path's directory, 0755 */
static int mkdir_parents(char *path)
{
	for (char *c = path + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		int rc = mkdir(path, 0755);
		*c = '/';
		if (rc && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int shim_log_file_open(const struct shim_log_uri *u, struct shim_error *err)
{
	char *p = strdup(u->path);
	if (!p)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	int rc = mkdir_parents(p);
	free(p);
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, -rc, "log file %s: creating its directory",
					u->path);
	int fd = open(u->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "log file %s", u->path);
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "log file %s is not a regular file",
				      u->path);
	}
	return fd;
}

/* ---- logging binaries ---- */

struct shim_logger {
	struct ev_loop *loop;
	struct shim_reaper *reaper;
	pid_t pid;
	int ready_fd; /* read end of the readiness pipe, -1 once done */
	ev_io ready_io;
	ev_timer timer; /* readiness timeout, then the SIGKILL timer */
	shim_logger_ready_fn ready;
	void *data;
	bool exited, stopping;
	double ready_timeout_s;
	char *path;
};

static void logger_free(struct shim_logger *lg)
{
	ev_io_stop(lg->loop, &lg->ready_io);
	ev_timer_stop(lg->loop, &lg->timer);
	if (lg->ready_fd >= 0)
		close(lg->ready_fd);
	free(lg->path);
	free(lg);
}

static void on_exit_(const struct shim_exit *ex, void *data)
{
	struct shim_logger *lg = data;
	(void)ex;
	lg->exited = true;
	if (lg->stopping)
		logger_free(lg);
	/* else: the readiness pipe reports EOF (ready, as runc-v2 reads it), and
	 * stop frees it later. */
}

static void ready_done(struct shim_logger *lg, int rc, const struct shim_error *err)
{
	ev_io_stop(lg->loop, &lg->ready_io);
	ev_timer_stop(lg->loop, &lg->timer);
	close(lg->ready_fd);
	lg->ready_fd = -1;
	shim_logger_ready_fn fn = lg->ready;
	lg->ready = NULL;
	if (fn)
		fn(lg, rc, err, lg->data);
}

static void on_ready_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_logger *lg = (struct shim_logger *)((char *)w - offsetof(struct shim_logger, ready_io));
	char b;
	(void)loop;
	(void)revents;
	ssize_t n = read(lg->ready_fd, &b, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		struct shim_error err = { 0 };
		int rc = shim_error_errno(&err, TTRPC_CODE_INTERNAL, errno, "reading the readiness pipe of logger %s",
					  lg->path);
		kill(lg->pid, SIGKILL);
		return ready_done(lg, rc, &err);
	}
	ready_done(lg, 0, NULL);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct shim_logger *lg = (struct shim_logger *)((char *)w - offsetof(struct shim_logger, timer));
	(void)loop;
	(void)revents;
	if (lg->stopping) {
		if (!lg->exited)
			kill(lg->pid, SIGKILL);
		return;
	}
	struct shim_error err = { 0 };
	int rc = shim_error_set(&err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
				"logging binary %s (pid %d) did not signal ready in %.1f s: killed", lg->path,
				(int)lg->pid, lg->ready_timeout_s);
	kill(lg->pid, SIGKILL);
	ready_done(lg, rc, &err);
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

struct shim_logger *shim_logger_start(struct ev_loop *loop, struct shim_reaper *reaper, const struct shim_log_uri *u,
				      const char *id, const char *ns, int ready_timeout_ms, shim_logger_ready_fn ready,
				      void *data, int *out_w, int *err_w, struct shim_error *err)
{
	int out[2] = { -1, -1 }, er[2] = { -1, -1 }, rd[2] = { -1, -1 }, hi[3] = { -1, -1, -1 };
	struct shim_logger *lg = NULL;
	char *env_id = NULL, *env_ns = NULL;
	if (u->kind != SHIM_LOG_URI_BINARY || !u->argv) {
		shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "not a binary:// URI");
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC) || pipe2(rd, O_CLOEXEC)) {
		shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "pipes for logger %s", u->path);
		goto fail;
	}
	/* the child's fds 3, 4, 5 come from copies above them, so no dup2 can
	 * overwrite a source that is still to be copied */
	int src[3] = { out[0], er[0], rd[1] };
	for (int i = 0; i < 3; i++)
		if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10)) < 0) {
			shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "fds for logger %s", u->path);
			goto fail;
		}
	lg = calloc(1, sizeof(*lg));
	if (!lg || !(lg->path = strdup(u->path)) || !(env_id = concat("CONTAINER_ID=", id)) ||
	    !(env_ns = concat("CONTAINER_NAMESPACE=", ns))) {
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		goto fail;
	}
	char *envp[] = { env_id, env_ns, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, hi[i], 3 + i);
	pid_t pid;
	int rc = posix_spawn(&pid, u->path, &fa, &attr, u->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, rc, "starting logging binary %s", u->path);
		goto fail;
	}
	free(env_id);
	free(env_ns);
	env_id = env_ns = NULL;
	close_all(hi, 3);
	close(out[0]);
	close(er[0]);
	close(rd[1]);
	lg->loop = loop;
	lg->reaper = reaper;
	lg->pid = pid;
	lg->ready_fd = rd[0];
	lg->ready = ready;
	lg->data = data;
	fcntl(lg->ready_fd, F_SETFL, O_NONBLOCK);
	struct shim_exit ex;
	int w = shim_reaper_watch(reaper, pid, on_exit_, lg, &ex);
	if (w < 0) {
		/* unwatched, its exit would never free lg: do not run it */
		kill(pid, SIGKILL);
		close(lg->ready_fd);
		close(out[1]);
		close(er[1]);
		free(lg->path);
		free(lg);
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "watching logger %s: out of memory",
			       u->path);
		return NULL;
	}
	lg->exited = w == 1;
	ev_io_init(&lg->ready_io, on_ready_io, lg->ready_fd, EV_READ);
	ev_io_start(loop, &lg->ready_io);
	double t = (ready_timeout_ms > 0 ? ready_timeout_ms : SHIM_LOGGER_READY_TIMEOUT_MS) / 1000.0;
	lg->ready_timeout_s = t;
	ev_timer_init(&lg->timer, on_timer, t, 0.);
	ev_timer_start(loop, &lg->timer);
	*out_w = out[1];
	*err_w = er[1];
	return lg;
fail:
	free(env_id);
	free(env_ns);
	if (lg) {
		free(lg->path);
		free(lg);
	}
	close_all(hi, 3);
	close_all(out, 2);
	close_all(er, 2);
	close_all(rd, 2);
	return NULL;
}

void shim_logger_forget_ready(struct shim_logger *lg)
{
	if (lg)
		lg->ready = NULL;
}

int shim_logger_pid(const struct shim_logger *lg)
{
	return lg ? (int)lg->pid : -1;
}

void shim_logger_stop(struct shim_logger *lg, int term_timeout_ms)
{
	if (!lg || lg->stopping)
		return;
	lg->stopping = true;
	lg->ready = NULL;
	ev_io_stop(lg->loop, &lg->ready_io);
	ev_timer_stop(lg->loop, &lg->timer);
	if (lg->ready_fd >= 0) {
		close(lg->ready_fd);
		lg->ready_fd = -1;
	}
	if (lg->exited) {
		shim_reaper_unwatch(lg->reaper, lg->pid, on_exit_, lg);
		logger_free(lg);
		return;
	}
	kill(lg->pid, SIGTERM);
	double t = (term_timeout_ms > 0 ? term_timeout_ms : SHIM_LOGGER_TERM_TIMEOUT_MS) / 1000.0;
	ev_timer_init(&lg->timer, on_timer, t, 0.);
	ev_timer_start(lg->loop, &lg->timer);
}
