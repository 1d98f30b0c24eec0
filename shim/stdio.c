/* SPDX-License-Identifier: Apache-2.0 */
#include "stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* ---- copy ---- */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool can_poll(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd));
}

static void copy_finish(struct shim_copy *c)
{
	shim_copy_done_fn done = c->done;

	shim_copy_stop(c);
	/* c may be gone once done returns. */
	if (done)
		done(c, c->data);
}

static size_t tail_room(struct shim_copy *c)
{
	if (c->len == 0)
		c->start = 0;
	if (c->start + c->len == SHIM_COPY_BUF && c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->len);
		c->start = 0;
	}
	return SHIM_COPY_BUF - c->start - c->len;
}

/* Keep the watchers matching the state: read while there is room, write while data waits. */
static void copy_arm(struct shim_copy *c)
{
	if (!c->eof && tail_room(c) > 0)
		ev_io_start(c->loop, &c->rd);
	else
		ev_io_stop(c->loop, &c->rd);
	if (c->len > 0 && !c->dst_sync)
		ev_io_start(c->loop, &c->wr);
	else
		ev_io_stop(c->loop, &c->wr);
}

/* Write what we can; false when the copy finished (c may be gone). */
static bool copy_flush(struct shim_copy *c)
{
	while (c->len > 0) {
		ssize_t n = write(c->dst, c->buf + c->start, c->len);

		if (n > 0) {
			c->start += (size_t)n;
			c->len -= (size_t)n;
			c->bytes += (unsigned long long)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		copy_finish(c); /* EPIPE and friends: nobody can take the data */
		return false;
	}
	if (c->len == 0 && c->eof) {
		copy_finish(c);
		return false;
	}
	copy_arm(c);
	return true;
}

static void on_copy_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_copy *c = w->data;
	size_t room = tail_room(c);
	ssize_t n;

	(void)loop;
	(void)revents;
	if (room == 0) {
		copy_arm(c);
		return;
	}
	n = read(c->src, c->buf + c->start + c->len, room);
	if (n > 0) {
		c->len += (size_t)n;
	} else if (n == 0 || errno == EIO) {
		c->eof = true;
	} else if (errno != EAGAIN && errno != EINTR) {
		copy_finish(c);
		return;
	}
	copy_flush(c);
}

static void on_copy_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	copy_flush(w->data);
}

int shim_copy_start(struct shim_copy *c, struct ev_loop *loop, int src, int dst, shim_copy_done_fn done, void *data)
{
	/* Allocated per running copy: an idle container costs no buffer, and
	 * pages never written stay out of the RSS. */
	if (!c->buf && !(c->buf = malloc(SHIM_COPY_BUF)))
		return -ENOMEM;
	c->loop = loop;
	c->src = src;
	c->dst = dst;
	c->dst_sync = !can_poll(dst);
	c->eof = false;
	c->start = c->len = 0;
	c->bytes = 0;
	c->done = done;
	c->data = data;
	set_nonblock(src);
	if (!c->dst_sync)
		set_nonblock(dst);
	ev_io_init(&c->rd, on_copy_read, src, EV_READ);
	ev_io_init(&c->wr, on_copy_write, dst, EV_WRITE);
	c->rd.data = c;
	c->wr.data = c;
	c->active = true;
	copy_arm(c);
	return 0;
}

void shim_copy_stop(struct shim_copy *c)
{
	if (!c->active)
		return;
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	c->active = false;
	free(c->buf);
	c->buf = NULL;
}

/* ---- stdio ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool given(const char *path)
{
	return path && path[0];
}

static bool is_fifo(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Output side: FIFO write end behind a held read end; other files plainly.
 * Never through a symlink (O_NOFOLLOW): a path checked by the service layer
 * cannot be swapped for a link to somewhere else before it is opened. */
static int open_output(const char *path, int *fd, int *keep, struct shim_error *err)
{
	if (is_fifo(path)) {
		*keep = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (*keep < 0)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "open %s", path);
		*fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	} else {
		*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (*fd < 0)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "open %s", path);
	return 0;
}

static int open_input(const char *path, int *fd, int *keep, struct shim_error *err)
{
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "open %s", path);
	if (is_fifo(path)) {
		*keep = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (*keep < 0)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "open %s", path);
	}
	return 0;
}

/* A pipe whose `ours` end is CLOEXEC + non-blocking and `theirs` is for the runtime. */
static int make_pipe(bool we_read, int *ours, int *theirs, struct shim_error *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return shim_error_errno(err, TTRPC_CODE_RESOURCE_EXHAUSTED, errno, "pipe");
	*ours = we_read ? p[0] : p[1];
	*theirs = we_read ? p[1] : p[0];
	set_nonblock(*ours);
	return 0;
}

int shim_stdio_open(struct shim_stdio *s, struct ev_loop *loop, const struct shim_stdio_paths *paths,
		    struct shim_error *err)
{
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->terminal = paths->terminal;
	s->in_fifo = s->in_keep = s->out_fifo = s->out_keep = s->err_fifo = s->err_keep = -1;
	s->child_in = s->child_out = s->child_err = -1;
	s->pipe_in = s->pipe_out = s->pipe_err = -1;
	s->pty_master = -1;
	if (given(paths->stdin_path))
		ret = open_input(paths->stdin_path, &s->in_fifo, &s->in_keep, err);
	if (!ret && given(paths->stdout_path))
		ret = open_output(paths->stdout_path, &s->out_fifo, &s->out_keep, err);
	if (!ret && given(paths->stderr_path) && !s->terminal)
		ret = open_output(paths->stderr_path, &s->err_fifo, &s->err_keep, err);
	if (!ret && !s->terminal) {
		if (s->in_fifo >= 0)
			ret = make_pipe(false, &s->pipe_in, &s->child_in, err);
		if (!ret && s->out_fifo >= 0)
			ret = make_pipe(true, &s->pipe_out, &s->child_out, err);
		if (!ret && s->err_fifo >= 0)
			ret = make_pipe(true, &s->pipe_err, &s->child_err, err);
	}
	if (ret < 0)
		shim_stdio_close(s);
	return ret;
}

void shim_stdio_close_child_ends(struct shim_stdio *s)
{
	close_fd(&s->child_in);
	close_fd(&s->child_out);
	close_fd(&s->child_err);
}

static void maybe_drained(struct shim_stdio *s)
{
	if (!s->out_running && !s->err_running && s->drained)
		s->drained(s, s->data);
}

static void on_out_done(struct shim_copy *c, void *data)
{
	struct shim_stdio *s = data;

	(void)c;
	s->out_running = false;
	maybe_drained(s);
}

static void on_err_done(struct shim_copy *c, void *data)
{
	struct shim_stdio *s = data;

	(void)c;
	s->err_running = false;
	maybe_drained(s);
}

static void on_in_done(struct shim_copy *c, void *data)
{
	struct shim_stdio *s = data;

	(void)c;
	s->in_running = false;
	/* The container's stdin reaches EOF; a pty master stays (it is stdout too). */
	close_fd(&s->pipe_in);
	close_fd(&s->in_fifo);
	close_fd(&s->in_keep);
}

/* Start one direction; running tells the stdio it is on. */
static int start_copy(struct shim_stdio *s, struct shim_copy *c, bool *running, int src, int dst,
		      shim_copy_done_fn done, struct shim_error *err)
{
	if (shim_copy_start(c, s->loop, src, dst, done, s) < 0)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "stdio: out of memory");
	*running = true;
	return 0;
}

int shim_stdio_start(struct shim_stdio *s, struct shim_error *err)
{
	int ret = 0;

	if (s->terminal)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "terminal stdio starts with the pty master");
	if (s->pipe_out >= 0)
		ret = start_copy(s, &s->out_copy, &s->out_running, s->pipe_out, s->out_fifo, on_out_done, err);
	if (!ret && s->pipe_err >= 0)
		ret = start_copy(s, &s->err_copy, &s->err_running, s->pipe_err, s->err_fifo, on_err_done, err);
	if (!ret && s->pipe_in >= 0)
		ret = start_copy(s, &s->in_copy, &s->in_running, s->in_fifo, s->pipe_in, on_in_done, err);
	return ret;
}

int shim_stdio_attach_pty(struct shim_stdio *s, int master, struct shim_error *err)
{
	int ret = 0;

	if (!s->terminal || s->pty_master >= 0) {
		close(master);
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "unexpected pty master");
	}
	s->pty_master = master;
	if (s->out_fifo >= 0)
		ret = start_copy(s, &s->out_copy, &s->out_running, master, s->out_fifo, on_out_done, err);
	if (!ret && s->in_fifo >= 0)
		ret = start_copy(s, &s->in_copy, &s->in_running, s->in_fifo, master, on_in_done, err);
	return ret;
}

void shim_stdio_close_stdin(struct shim_stdio *s)
{
	/* Drop only the write end we hold: the copy then reads what the client
	 * wrote up to its own close and ends at EOF, so nothing written before
	 * CloseIO is lost (ctr may send CloseIO before we read its last bytes).
	 * Without a copy running there is nothing to drain. */
	close_fd(&s->in_keep);
	if (!s->in_running) {
		close_fd(&s->pipe_in);
		close_fd(&s->in_fifo);
	}
}

int shim_stdio_resize(struct shim_stdio *s, unsigned width, unsigned height, struct shim_error *err)
{
	struct winsize ws = { 0 };

	if (s->pty_master < 0)
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOTTY, "process has no terminal");
	if (width > 0xffff || height > 0xffff)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "terminal size %ux%u too large", width,
				      height);
	ws.ws_col = (unsigned short)width;
	ws.ws_row = (unsigned short)height;
	if (ioctl(s->pty_master, TIOCSWINSZ, &ws) < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "resize terminal");
	return 0;
}

void shim_stdio_close(struct shim_stdio *s)
{
	shim_copy_stop(&s->in_copy);
	shim_copy_stop(&s->out_copy);
	shim_copy_stop(&s->err_copy);
	s->in_running = s->out_running = s->err_running = false;
	shim_stdio_close_child_ends(s);
	close_fd(&s->in_fifo);
	close_fd(&s->in_keep);
	close_fd(&s->out_fifo);
	close_fd(&s->out_keep);
	close_fd(&s->err_fifo);
	close_fd(&s->err_keep);
	close_fd(&s->pipe_in);
	close_fd(&s->pipe_out);
	close_fd(&s->pipe_err);
	close_fd(&s->pty_master);
}

/* ---- console socket ---- */

int shim_console_socket_new(struct shim_console_socket *cs, const char *base, struct shim_error *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(cs, 0, sizeof(*cs));
	cs->fd = -1;
	if (snprintf(cs->dir, sizeof(cs->dir), "%s/pty-XXXXXX", base ? base : "/tmp") >= (int)sizeof(cs->dir))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "console socket dir too long");
	if (!mkdtemp(cs->dir)) {
		cs->dir[0] = '\0';
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "create console socket dir");
	}
	if (snprintf(cs->path, sizeof(cs->path), "%s/pty.sock", cs->dir) >= (int)sizeof(sun.sun_path)) {
		shim_console_socket_close(cs);
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "console socket path too long");
	}
	strcpy(sun.sun_path, cs->path);
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cs->fd < 0 || bind(cs->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(cs->fd, 1) < 0) {
		int e = errno;

		shim_console_socket_close(cs);
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "console socket");
	}
	return 0;
}

int shim_console_socket_accept(struct shim_console_socket *cs, int *conn, struct shim_error *err)
{
	int fd;

	*conn = -1;
	do
		fd = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "accept console connection");
	*conn = fd;
	return 0;
}

int shim_console_recv_master(int conn, int *master, struct shim_error *err)
{
	char name[256], control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { name, sizeof(name) };
	struct msghdr msg = { 0 };
	struct cmsghdr *cmsg;
	ssize_t n;

	*master = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "receive console");
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EPROTO, "console message carries no file descriptor");
	memcpy(master, CMSG_DATA(cmsg), sizeof(int));
	return 0;
}

/* The blocking form, for tests and tools without a loop. */
int shim_console_socket_receive(struct shim_console_socket *cs, int timeout_ms, int *master, struct shim_error *err)
{
	struct pollfd p = { cs->fd, POLLIN, 0 };
	int conn, ret;

	*master = -1;
	do
		ret = poll(&p, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return shim_error_set(err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
				      "no console from the runtime within %d ms", timeout_ms);
	ret = shim_console_socket_accept(cs, &conn, err);
	if (ret == -EAGAIN)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EAGAIN, "accept console connection: none pending");
	if (ret < 0)
		return ret;
	p = (struct pollfd){ conn, POLLIN, 0 };
	poll(&p, 1, timeout_ms);
	ret = shim_console_recv_master(conn, master, err);
	close(conn);
	if (ret == -EAGAIN)
		return shim_error_set(err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
				      "no console from the runtime within %d ms", timeout_ms);
	return ret;
}

void shim_console_socket_close(struct shim_console_socket *cs)
{
	if (cs->fd >= 0)
		close(cs->fd);
	cs->fd = -1;
	if (cs->path[0])
		unlink(cs->path);
	if (cs->dir[0])
		rmdir(cs->dir);
	cs->path[0] = cs->dir[0] = '\0';
}
