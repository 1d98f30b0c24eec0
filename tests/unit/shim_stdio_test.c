/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "shim/stdio.h"

static char dir[64], in_path[96], out_path[96], err_path[96];

static void setup(void)
{
	strcpy(dir, "/tmp/shim-stdio-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(in_path, sizeof(in_path), "%s/stdin", dir);
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	cr_assert_eq(mkfifo(in_path, 0600), 0);
	cr_assert_eq(mkfifo(out_path, 0600), 0);
	cr_assert_eq(mkfifo(err_path, 0600), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	/* cleanup: what fails in .fini cannot fail the test, so only say it */
	if (system(cmd) != 0)
		cr_log_warn("could not run: %s", cmd);
}

TestSuite(shim_stdio, .init = setup, .fini = teardown, .timeout = 60);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define WAIT_MS 30000 /* a failure bound only: passing tests never wait for it */

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Run the loop until cond; a ticking timer wakes EVRUN_ONCE so the deadline is
 * checked even when nothing happens. */
#define RUN_UNTIL(loop, cond, ...)                                                    \
	do {                                                                          \
		int64_t deadline_ = now_ms() + WAIT_MS;                               \
		ev_timer tick_;                                                       \
		ev_timer_init(&tick_, on_tick, 0.01, 0.01);                           \
		ev_timer_start(loop, &tick_);                                         \
		while (!(cond)) {                                                     \
			cr_assert_lt(now_ms(), deadline_, "timed out: " __VA_ARGS__); \
			ev_run(loop, EVRUN_ONCE);                                     \
		}                                                                     \
		ev_timer_stop(loop, &tick_);                                          \
	} while (0)

/* The client's side of an fd, read on the same loop as the copies. */
struct reader {
	ev_io io;
	char *buf;
	size_t size, len;
};

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct reader *r = (struct reader *)w;
	ssize_t n = read(w->fd, r->buf + r->len, r->size - 1 - r->len);

	(void)revents;
	if (n > 0) {
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		ev_io_stop(loop, w); /* EOF (no writer left) or an error: nothing more comes */
	}
}

/* Run the loop until what fd delivers, appended to buf, contains want. */
static void read_until(struct ev_loop *loop, int fd, char *buf, size_t size, const char *want)
{
	struct reader r = { .buf = buf, .size = size, .len = strlen(buf) };

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&r.io, on_readable, fd, EV_READ);
	ev_io_start(loop, &r.io);
	RUN_UNTIL(loop, strstr(buf, want), "waiting for \"%s\", have \"%s\"", want, buf);
	ev_io_stop(loop, &r.io);
}

static void on_drained(struct shim_stdio *s, void *data)
{
	(void)s;
	(*(int *)data)++;
}

Test(shim_stdio, pipes_between_fifos_and_a_process)
{
	struct shim_stdio_paths paths = { in_path, out_path, err_path, false };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_stdio s;
	struct shim_error err;
	char out[256] = "", errbuf[256] = "";
	int client_out, client_err, client_in, drained = 0;
	pid_t pid;

	/* The client (ctr) reads stdout/stderr and writes stdin. */
	client_out = open(out_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	client_err = open(err_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_eq(shim_stdio_open(&s, loop, &paths, &err), 0, "%s", err.msg);
	client_in = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(client_in, 0);
	s.drained = on_drained;
	s.data = &drained;
	/* The "container": cat, then a line on stderr once stdin ends. */
	pid = fork();
	if (pid == 0) {
		dup2(s.child_in, 0);
		dup2(s.child_out, 1);
		dup2(s.child_err, 2);
		execl("/bin/sh", "sh", "-c", "cat; echo done >&2", (char *)NULL);
		_exit(127);
	}
	shim_stdio_close_child_ends(&s);
	cr_assert_eq(shim_stdio_start(&s, &err), 0, "%s", err.msg);
	cr_assert_eq(write(client_in, "hello\n", 6), 6);
	read_until(loop, client_out, out, sizeof(out), "hello\n");
	/* No EOF from the FIFO even if the client closes it: EOF comes with CloseIO.
	 * Were the FIFO left without a writer, its hangup would be ready at once
	 * and this pass of the loop would end the copy. */
	close(client_in);
	ev_run(loop, EVRUN_NOWAIT);
	cr_expect(s.in_running, "stdin copy ended when the client closed its end");
	/* ... and the container still reads: a client that comes back is heard. */
	client_in = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(client_in, 0, "stdin FIFO has no reader any more: %s", strerror(errno));
	cr_assert_eq(write(client_in, "again\n", 6), 6);
	close(client_in);
	read_until(loop, client_out, out, sizeof(out), "hello\nagain\n");
	cr_expect_eq(waitpid(pid, NULL, WNOHANG), 0, "cat saw EOF before CloseIO");
	shim_stdio_close_stdin(&s);
	read_until(loop, client_err, errbuf, sizeof(errbuf), "done\n");
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	RUN_UNTIL(loop, drained, "stdout and stderr not drained");
	cr_expect_eq(drained, 1);
	cr_expect_str_eq(out, "hello\nagain\n");
	shim_stdio_close(&s);
	close(client_out);
	close(client_err);
	ev_loop_destroy(loop);
}

/* Read everything fd has now; true (for use in a condition). */
static bool drain(int fd)
{
	char chunk[4096];

	while (read(fd, chunk, sizeof(chunk)) > 0)
		;
	return true;
}

Test(shim_stdio, vanished_reader_does_not_kill_the_shim)
{
	struct shim_stdio_paths paths = { NULL, out_path, NULL, false };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_stdio s;
	struct shim_error err;
	char chunk[4096];
	int client_out, i;

	/* SIGPIPE left at its default: a write to a FIFO without reader would kill us. */
	signal(SIGPIPE, SIG_DFL);
	client_out = open(out_path, O_RDONLY | O_NONBLOCK);
	cr_assert_eq(shim_stdio_open(&s, loop, &paths, &err), 0, "%s", err.msg);
	cr_expect_eq(s.child_in, -1);
	cr_expect_eq(s.child_err, -1);
	cr_assert_eq(shim_stdio_start(&s, &err), 0);
	close(client_out);
	memset(chunk, 'x', sizeof(chunk));
	fcntl(s.child_out, F_SETFL, O_NONBLOCK);
	/* Write more than the FIFO holds: the copy backs up instead of failing. */
	for (i = 0; i < 64; i++) {
		if (write(s.child_out, chunk, sizeof(chunk)) < 0)
			cr_assert_eq(errno, EAGAIN);
		ev_run(loop, EVRUN_NOWAIT);
	}
	cr_expect(s.out_running);
	cr_expect_gt(s.out_copy.bytes, 0);
	/* A new reader gets the backlog. */
	client_out = open(out_path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(client_out, 0);
	{
		unsigned long long before = s.out_copy.bytes;

		RUN_UNTIL(loop, drain(client_out) && s.out_copy.bytes > before, "no backlog reached the new reader");
	}
	shim_stdio_close(&s);
	close(client_out);
	ev_loop_destroy(loop);
}

/* What runc does with --console-socket: send the pty master over SCM_RIGHTS. */
static void send_master(const char *path, int master)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "/dev/pts/x", 10 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sun.sun_path, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	cr_assert_eq(sendmsg(fd, &msg, 0), 10);
	close(fd);
}

Test(shim_stdio, terminal_through_the_console_socket)
{
	struct shim_stdio_paths paths = { in_path, out_path, NULL, true };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_console_socket cs;
	struct shim_stdio s;
	struct shim_error err;
	struct winsize ws;
	char out[256] = "", buf[64] = "";
	int master, slave, received, client_out, client_in, drained = 0;
	char sock_dir[PATH_MAX];

	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	cr_assert_eq(shim_console_socket_new(&cs, dir, &err), 0, "%s", err.msg);
	cr_expect_eq(shim_console_socket_receive(&cs, 10, &received, &err), -ETIMEDOUT);
	send_master(cs.path, master);
	close(master);
	cr_assert_eq(shim_console_socket_receive(&cs, 1000, &received, &err), 0, "%s", err.msg);
	cr_expect(isatty(received));
	snprintf(sock_dir, sizeof(sock_dir), "%s", cs.dir);
	shim_console_socket_close(&cs);
	cr_expect_neq(access(sock_dir, F_OK), 0, "console socket dir left behind");

	client_out = open(out_path, O_RDONLY | O_NONBLOCK);
	cr_assert_eq(shim_stdio_open(&s, loop, &paths, &err), 0, "%s", err.msg);
	cr_expect_eq(s.child_out, -1); /* the runtime gets the console socket, not pipes */
	client_in = open(in_path, O_WRONLY | O_NONBLOCK);
	s.drained = on_drained;
	s.data = &drained;
	cr_assert_eq(shim_stdio_attach_pty(&s, received, &err), 0, "%s", err.msg);
	/* Container output through the pty to the stdout FIFO. */
	cr_assert_eq(write(slave, "from tty\n", 9), 9);
	read_until(loop, client_out, out, sizeof(out), "from tty\r\n");
	/* Client input to the container's terminal. */
	cr_assert_eq(write(client_in, "typed\n", 6), 6);
	read_until(loop, slave, buf, sizeof(buf), "typed\n");
	cr_assert_eq(shim_stdio_resize(&s, 132, 43, &err), 0, "%s", err.msg);
	cr_assert_eq(ioctl(slave, TIOCGWINSZ, &ws), 0);
	cr_expect_eq(ws.ws_col, 132);
	cr_expect_eq(ws.ws_row, 43);
	/* The container's side closes: the master reads EIO, the copy ends. */
	close(slave);
	RUN_UNTIL(loop, drained, "pty copy did not end after the slave closed");
	shim_stdio_close(&s);
	close(client_out);
	close(client_in);
	ev_loop_destroy(loop);
}

Test(shim_stdio, resize_without_terminal_and_missing_fifo)
{
	struct shim_stdio_paths paths = { NULL, NULL, NULL, false };
	struct shim_stdio_paths missing = { NULL, "/nonexistent-dir/stdout", NULL, false };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_stdio s;
	struct shim_error err;

	cr_assert_eq(shim_stdio_open(&s, loop, &paths, &err), 0);
	cr_expect_eq(shim_stdio_resize(&s, 80, 24, &err), -ENOTTY);
	cr_expect_eq(err.code, TTRPC_CODE_FAILED_PRECONDITION);
	shim_stdio_close(&s);
	cr_expect_eq(shim_stdio_open(&s, loop, &missing, &err), -ENOENT);
	cr_expect(strstr(err.msg, "/nonexistent-dir/stdout") != NULL, "%s", err.msg);
	ev_loop_destroy(loop);
}

Test(shim_stdio, regular_file_output_is_written_synchronously)
{
	struct shim_stdio_paths paths = { NULL, NULL, NULL, false };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_stdio s;
	struct shim_error err;
	char file[128], buf[64] = "";
	int drained = 0;
	FILE *f;

	snprintf(file, sizeof(file), "%s/out.log", dir);
	paths.stdout_path = file;
	cr_assert_eq(shim_stdio_open(&s, loop, &paths, &err), 0, "%s", err.msg);
	s.drained = on_drained;
	s.data = &drained;
	cr_assert_eq(shim_stdio_start(&s, &err), 0);
	cr_assert_eq(write(s.child_out, "to a file\n", 10), 10);
	shim_stdio_close_child_ends(&s);
	RUN_UNTIL(loop, drained, "file output not drained");
	f = fopen(file, "r");
	cr_assert_not_null(f);
	cr_expect_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_expect_str_eq(buf, "to a file\n");
	shim_stdio_close(&s);
	ev_loop_destroy(loop);
}

/* A stdio path that is a symlink is refused (ELOOP), for FIFOs and files,
 * input and output: nothing is opened or created where the link points. */
Test(shim_stdio, symlinked_paths_are_refused)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct shim_stdio s;
	struct shim_error err;
	char fifo[128], link_fifo[128], target[128], link_file[128];

	snprintf(fifo, sizeof(fifo), "%s/real.fifo", dir);
	snprintf(link_fifo, sizeof(link_fifo), "%s/link.fifo", dir);
	snprintf(target, sizeof(target), "%s/elsewhere.log", dir);
	snprintf(link_file, sizeof(link_file), "%s/link.log", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(symlink(fifo, link_fifo), 0);
	cr_assert_eq(symlink(target, link_file), 0);

	struct shim_stdio_paths out_fifo = { NULL, link_fifo, NULL, false };
	cr_expect_eq(shim_stdio_open(&s, loop, &out_fifo, &err), -ELOOP, "stdout through a link to a FIFO");
	struct shim_stdio_paths in_fifo = { link_fifo, NULL, NULL, false };
	cr_expect_eq(shim_stdio_open(&s, loop, &in_fifo, &err), -ELOOP, "stdin through a link to a FIFO");
	struct shim_stdio_paths out_file = { NULL, link_file, NULL, false };
	cr_expect_eq(shim_stdio_open(&s, loop, &out_file, &err), -ELOOP, "stdout through a link to a file");
	cr_expect(access(target, F_OK) != 0, "the link's target was created");
	ev_loop_destroy(loop);
}
