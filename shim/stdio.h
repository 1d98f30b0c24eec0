/* SPDX-License-Identifier: Apache-2.0 */
/* A process's stdio between the client's FIFOs (paths from CreateTaskRequest /
 * ExecProcessRequest) and the container, copied on the libev loop.
 *
 * - stdout/stderr FIFOs are opened for writing non-blocking, after a read end we
 *   hold ourselves: a client that goes away can never SIGPIPE the shim; output
 *   then waits in the pipe and the container feels back-pressure, as with
 *   containerd's runc shim.
 * - the stdin FIFO is opened for reading with a held write end, so "no writer
 *   yet" is never mistaken for EOF; EOF is delivered by CloseIO
 *   (shim_stdio_close_stdin), which is how ctr ends stdin.
 * - without a terminal the container gets pipes (child_* fds for the runtime);
 *   with one, runc sends the pty master over a console socket and the master is
 *   copied both ways (shim_stdio_attach_pty), resized with TIOCSWINSZ.
 * FIFO paths that are not FIFOs (a regular file, /dev/null) are written
 * synchronously. Empty paths mean /dev/null (child fd -1). */
#ifndef SHIM_STDIO_H
#define SHIM_STDIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "error.h"

#define SHIM_COPY_BUF 32768

struct shim_copy;
typedef void (*shim_copy_done_fn)(struct shim_copy *copy, void *data);

/* One direction: src -> dst, buffered; reading pauses while dst is full. Ends
 * (done is called once) at EOF of src (or EIO, what a pty master reads when the
 * slave side is gone) after the buffer is flushed, or on a write error. */
struct shim_copy {
	struct ev_loop *loop;
	ev_io rd, wr;
	int src, dst;
	bool dst_sync; /* dst cannot be polled (regular file, char device): plain writes */
	bool active, eof;
	char *buf; /* SHIM_COPY_BUF bytes while active */
	size_t start, len;
	unsigned long long bytes;
	shim_copy_done_fn done;
	void *data;
};

/* Start copying (fds stay the caller's; they are switched to non-blocking).
 * c must be zeroed before its first start. -ENOMEM without a buffer. */
int shim_copy_start(struct shim_copy *c, struct ev_loop *loop, int src, int dst, shim_copy_done_fn done, void *data);
/* Stop at once (pending data is dropped); no callback. */
void shim_copy_stop(struct shim_copy *c);

struct shim_stdio_paths {
	const char *stdin_path, *stdout_path, *stderr_path; /* NULL or "" for none */
	bool terminal;
};

struct shim_stdio {
	struct ev_loop *loop;
	bool terminal;
	int in_fifo, in_keep;	/* stdin FIFO read end + our held write end */
	int out_fifo, out_keep; /* stdout FIFO write end + our held read end */
	int err_fifo, err_keep;
	int child_in, child_out, child_err; /* for the runtime; -1 = /dev/null */
	int pipe_in, pipe_out, pipe_err;    /* our ends of the container's pipes */
	int pty_master;
	struct shim_copy in_copy, out_copy, err_copy;
	bool in_running, out_running, err_running;
	void (*drained)(struct shim_stdio *s, void *data); /* stdout and stderr reached EOF */
	void *data;
};

/* Open the client's FIFOs and, without a terminal, the container's pipes. */
int shim_stdio_open(struct shim_stdio *s, struct ev_loop *loop, const struct shim_stdio_paths *paths,
		    struct shim_error *err);
/* After the runtime started the process: close the container's pipe ends here. */
void shim_stdio_close_child_ends(struct shim_stdio *s);
/* Start the copy loops of the pipes (no terminal). */
int shim_stdio_start(struct shim_stdio *s, struct shim_error *err);
/* Terminal: take ownership of the pty master and copy it both ways. */
int shim_stdio_attach_pty(struct shim_stdio *s, int master, struct shim_error *err);
/* CloseIO: drop our held write end of the stdin FIFO; the container sees EOF
 * once the client closed its end too and everything it wrote was copied. */
void shim_stdio_close_stdin(struct shim_stdio *s);
/* ResizePty. -ENOTTY without a terminal. */
int shim_stdio_resize(struct shim_stdio *s, unsigned width, unsigned height, struct shim_error *err);
/* Stop everything and close every fd. */
void shim_stdio_close(struct shim_stdio *s);

/* The unix socket runc's --console-socket connects to, in a private temp dir. */
struct shim_console_socket {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int fd;
};

/* Create the socket under base (NULL: /tmp). */
int shim_console_socket_new(struct shim_console_socket *cs, const char *base, struct shim_error *err);
/* Accept runc's connection (waiting at most timeout_ms) and receive the pty
 * master passed with SCM_RIGHTS. */
int shim_console_socket_receive(struct shim_console_socket *cs, int timeout_ms, int *master, struct shim_error *err);
/* The same without waiting, for the loop (watch cs->fd, then the connection,
 * for EV_READ): accept runc's connection (non-blocking, close-on-exec), then
 * receive the master it sends. Each is -EAGAIN (err untouched) when there is
 * nothing yet. */
int shim_console_socket_accept(struct shim_console_socket *cs, int *conn, struct shim_error *err);
int shim_console_recv_master(int conn, int *master, struct shim_error *err);
/* Close, remove the socket and its directory. */
void shim_console_socket_close(struct shim_console_socket *cs);

#endif
