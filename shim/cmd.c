/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CMD_STDERR_MAX 4096
#define CMD_NAME_MAX 16

struct shim_cmd {
	struct shim_runtime *rt;
	struct ev_loop *loop;
	shim_cmd_done_fn done;
	void *data;
	char name[CMD_NAME_MAX];
	pid_t pid;
	long log_offset;
	int timeout_ms;
	bool watched, timed_out, finished;
	struct shim_exit exit;
	ev_io in_w, out_w, err_w;
	ev_timer timeout;
	ev_timer soon; /* finishes a run whose exit was already known at start */
	char *input;
	size_t input_len, input_done;
	char *output; /* output_max + 1 bytes, when captured */
	size_t output_max, output_len;
	bool output_overflow;
	char err_text[CMD_STDERR_MAX];
	size_t err_len;
};

static void close_io(struct shim_cmd *c, ev_io *w)
{
	if (w->fd < 0)
		return;
	ev_io_stop(c->loop, w);
	close(w->fd);
	ev_io_set(w, -1, 0);
}

/* Read what is there into buf (room: size - 1, kept NUL-terminated); the
 * excess is dropped and counted in *overflow. false at EOF or a hard error. */
static bool drain(int fd, char *buf, size_t size, size_t *len, bool *overflow)
{
	char scratch[4096];

	for (;;) {
		bool room = buf && *len + 1 < size;
		char *dst = room ? buf + *len : scratch;
		size_t want = room ? size - 1 - *len : sizeof(scratch);
		ssize_t n = read(fd, dst, want);

		if (n > 0) {
			if (room) {
				*len += (size_t)n;
				buf[*len] = '\0';
			} else if (overflow) {
				*overflow = true;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

static void release(struct shim_cmd *c)
{
	close_io(c, &c->in_w);
	close_io(c, &c->out_w);
	close_io(c, &c->err_w);
	ev_timer_stop(c->loop, &c->timeout);
	ev_timer_stop(c->loop, &c->soon);
	free(c->input);
	free(c->output);
	free(c);
}

static void finish(struct shim_cmd *c)
{
	struct shim_cmd_result res = { 0 };

	if (c->finished)
		return;
	c->finished = true;
	/* Whatever the runtime wrote is in the pipes now; a child that inherited
	 * them must not keep us waiting for EOF. */
	if (c->out_w.fd >= 0)
		drain(c->out_w.fd, c->output, c->output_max + 1, &c->output_len, &c->output_overflow);
	if (c->err_w.fd >= 0)
		drain(c->err_w.fd, c->err_text, sizeof(c->err_text), &c->err_len, NULL);
	close_io(c, &c->in_w);
	close_io(c, &c->out_w);
	close_io(c, &c->err_w);
	ev_timer_stop(c->loop, &c->timeout);
	res.status = c->exit.status;
	res.pid = c->pid;
	res.timed_out = c->timed_out;
	res.output = c->output ? c->output : "";
	res.output_len = c->output_len;
	if (c->timed_out) {
		res.rc = shim_error_set(&res.err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
					"%s %s timed out after %d ms (killed)", c->rt->binary, c->name, c->timeout_ms);
	} else if (c->exit.status != 0) {
		res.rc = shim_runtime_error(c->rt, c->name, c->log_offset, c->exit.status, c->err_text, &res.err);
	} else if (c->output_overflow) {
		res.rc = shim_error_set(&res.err, TTRPC_CODE_RESOURCE_EXHAUSTED, -E2BIG,
					"%s %s: output larger than %zu bytes", c->rt->binary, c->name, c->output_max);
	}
	c->done(c, &res, c->data);
	release(c);
}

static void on_exit_(const struct shim_exit *e, void *data)
{
	struct shim_cmd *c = data;

	c->watched = false;
	c->exit = *e;
	finish(c);
}

static void on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	finish(w->data);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct shim_cmd *c = w->data;

	(void)loop;
	(void)revents;
	/* The exit comes through the reaper as usual; finish() reports the timeout. */
	c->timed_out = true;
	kill(c->pid, SIGKILL);
}

static void on_input(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_cmd *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = send(w->fd, c->input + c->input_done, c->input_len - c->input_done, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		c->input_done += (size_t)n;
	if ((n < 0 && errno != EAGAIN && errno != EINTR) || c->input_done == c->input_len)
		close_io(c, &c->in_w);
}

static void on_output(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_cmd *c = w->data;

	(void)loop;
	(void)revents;
	if (!drain(w->fd, c->output, c->output_max + 1, &c->output_len, &c->output_overflow))
		close_io(c, &c->out_w);
}

static void on_stderr(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_cmd *c = w->data;

	(void)loop;
	(void)revents;
	if (!drain(w->fd, c->err_text, sizeof(c->err_text), &c->err_len, NULL))
		close_io(c, &c->err_w);
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int nonblocking_pipe(int fds[2], struct shim_error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return shim_error_errno(err, TTRPC_CODE_RESOURCE_EXHAUSTED, errno, "pipe");
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	return 0;
}

struct shim_cmd *shim_cmd_start(struct shim_runtime *rt, struct ev_loop *loop, const struct shim_argv *argv,
				const struct shim_cmd_opts *opts, shim_cmd_done_fn done, void *data,
				struct shim_error *err)
{
	static const struct shim_cmd_opts defaults = SHIM_CMD_OPTS_INIT;
	int in_pair[2] = { -1, -1 }, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	int child_in, child_out, child_err, timeout_ms, ret;
	struct shim_cmd *c;

	if (!opts)
		opts = &defaults;
	if (!rt->reaper || !loop || !done) {
		shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "runtime command without a reaper, loop or callback");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return NULL;
	}
	c->rt = rt;
	c->loop = loop;
	c->done = done;
	c->data = data;
	c->pid = -1;
	snprintf(c->name, sizeof(c->name), "%s", argv->command ? argv->command : "command");
	ev_io_init(&c->in_w, on_input, -1, EV_WRITE);
	ev_io_init(&c->out_w, on_output, -1, EV_READ);
	ev_io_init(&c->err_w, on_stderr, -1, EV_READ);
	c->in_w.data = c->out_w.data = c->err_w.data = c;
	ev_timer_init(&c->timeout, on_timeout, 0., 0.);
	ev_timer_init(&c->soon, on_soon, 0., 0.);
	c->timeout.data = c->soon.data = c;
	child_in = opts->stdin_fd;
	child_out = opts->stdout_fd;
	child_err = opts->stderr_fd;

	ret = 0;
	if (opts->input) {
		/* a socketpair: send(MSG_NOSIGNAL) cannot raise SIGPIPE */
		c->input = malloc(opts->input_len ? opts->input_len : 1);
		if (!c->input)
			ret = shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) < 0)
			ret = shim_error_errno(err, TTRPC_CODE_RESOURCE_EXHAUSTED, errno, "socketpair");
		if (!ret) {
			memcpy(c->input, opts->input, opts->input_len);
			c->input_len = opts->input_len;
			shutdown(in_pair[1], SHUT_WR);
			child_in = in_pair[1];
		}
	}
	if (!ret && opts->output_max) {
		c->output = malloc(opts->output_max + 1);
		c->output_max = opts->output_max;
		if (!c->output)
			ret = shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		else if (!(ret = nonblocking_pipe(out_pipe, err)))
			child_out = out_pipe[1];
		if (c->output)
			c->output[0] = '\0';
	}
	if (!ret && opts->capture_stderr && opts->stderr_fd < 0 && !(ret = nonblocking_pipe(err_pipe, err)))
		child_err = err_pipe[1];
	if (!ret)
		ret = shim_runtime_spawn(rt, argv, child_in, child_out, child_err, &c->pid, &c->log_offset, err);
	/* the child's ends are the child's now */
	if (in_pair[1] >= 0)
		close(in_pair[1]);
	if (out_pipe[1] >= 0)
		close(out_pipe[1]);
	if (err_pipe[1] >= 0)
		close(err_pipe[1]);
	in_pair[1] = out_pipe[1] = err_pipe[1] = -1;
	if (ret < 0) {
		close_pair(in_pair);
		close_pair(out_pipe);
		close_pair(err_pipe);
		release(c);
		return NULL;
	}
	ret = shim_reaper_watch(rt->reaper, c->pid, on_exit_, c, &c->exit);
	if (ret < 0) {
		/* cannot learn its exit: do not let it run unobserved */
		kill(c->pid, SIGKILL);
		close_pair(in_pair);
		close_pair(out_pipe);
		close_pair(err_pipe);
		release(c);
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory watching %s %s", rt->binary,
			       argv->command ? argv->command : "");
		return NULL;
	}
	if (in_pair[0] >= 0) {
		if (c->input_len) {
			ev_io_set(&c->in_w, in_pair[0], EV_WRITE);
			ev_io_start(loop, &c->in_w);
		} else {
			close(in_pair[0]);
		}
	}
	if (out_pipe[0] >= 0) {
		ev_io_set(&c->out_w, out_pipe[0], EV_READ);
		ev_io_start(loop, &c->out_w);
	}
	if (err_pipe[0] >= 0) {
		ev_io_set(&c->err_w, err_pipe[0], EV_READ);
		ev_io_start(loop, &c->err_w);
	}
	if (ret == 1) {
		/* already reaped (cannot happen between spawn and here in one loop
		 * iteration, but the reaper's contract allows it): finish from the loop */
		ev_timer_start(loop, &c->soon);
		return c;
	}
	c->watched = true;
	timeout_ms = opts->timeout_ms ? opts->timeout_ms : rt->timeout_ms;
	c->timeout_ms = timeout_ms;
	if (timeout_ms > 0) {
		/* From now: the loop's cached time may be older (time spent since
		 * the loop woke up), and the timeout would fire that much early. */
		ev_now_update(loop);
		ev_timer_set(&c->timeout, timeout_ms / 1000.0, 0.);
		ev_timer_start(loop, &c->timeout);
	}
	return c;
}

void shim_cmd_abort(struct shim_cmd *c)
{
	if (!c)
		return;
	if (c->watched) {
		shim_reaper_unwatch(c->rt->reaper, c->pid, on_exit_, c);
		kill(c->pid, SIGKILL);
	}
	release(c);
}

const char *shim_cmd_name(const struct shim_cmd *c)
{
	return c->name;
}

pid_t shim_cmd_pid(const struct shim_cmd *c)
{
	return c->pid;
}
