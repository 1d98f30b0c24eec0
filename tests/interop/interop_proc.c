/* SPDX-License-Identifier: Apache-2.0 */
#include "interop_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long interop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool interop_dir_make(struct interop_dir *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/ttrpc-interop-XXXXXX");
	if (!mkdtemp(d->dir)) {
		d->dir[0] = d->socket[0] = '\0';
		return false;
	}
	snprintf(d->socket, sizeof(d->socket), "%s/peer.sock", d->dir);
	return true;
}

void interop_dir_remove(struct interop_dir *d)
{
	if (!d->dir[0])
		return;
	unlink(d->socket);
	rmdir(d->dir);
	d->dir[0] = d->socket[0] = '\0';
}

bool interop_spawn(struct interop_proc *p, char *const argv[], bool merge_stderr)
{
	p->pid = -1;
	p->out_fd = -1;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		errno = e;
		return false;
	}
	if (pid == 0) {
		/* A crashed test must not leave its peer behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(fds[1], STDOUT_FILENO);
		if (merge_stderr)
			dup2(fds[1], STDERR_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	p->out_fd = fds[0];
	return true;
}

/* Append what is readable within timeout_ms; 0 on EOF, 1 on data, -1 timeout/error. */
static int read_some(int fd, int timeout_ms, char *buf, size_t size, size_t *len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return -1;
	char tmp[4096];
	ssize_t r = read(fd, tmp, sizeof(tmp));
	if (r < 0)
		return errno == EINTR ? 1 : -1;
	if (r == 0)
		return 0;
	size_t room = size - 1 - *len;
	size_t take = (size_t)r < room ? (size_t)r : room;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = '\0';
	return 1;
}

bool interop_wait_ready(struct interop_proc *p, int timeout_ms, char *log, size_t log_size)
{
	long long end = interop_now_ms() + timeout_ms;
	size_t len = strlen(log);
	/* Read one byte at a time so nothing after "ready\n" is taken from the pipe. */
	char line[256];
	size_t ll = 0;
	while (interop_now_ms() < end) {
		struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)(end - interop_now_ms()));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		char c;
		ssize_t r = read(p->out_fd, &c, 1);
		if (r <= 0)
			return false;
		if (len + 1 < log_size) {
			log[len++] = c;
			log[len] = '\0';
		}
		if (c != '\n') {
			if (ll + 1 < sizeof(line))
				line[ll++] = c;
			continue;
		}
		line[ll] = '\0';
		ll = 0;
		if (!strcmp(line, "ready"))
			return true;
	}
	return false;
}

static int reap(pid_t pid, int timeout_ms)
{
	long long end = interop_now_ms() + timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (interop_now_ms() >= end)
			return -2;
		usleep(5000);
	}
}

int interop_stop(struct interop_proc *p, int sig, int timeout_ms)
{
	int status = -1;
	if (p->pid > 0) {
		kill(p->pid, sig);
		status = reap(p->pid, timeout_ms);
		if (status == -2) {
			kill(p->pid, SIGKILL);
			status = reap(p->pid, 5000);
			if (status >= 0)
				status = -1; /* it had to be killed: not a clean exit */
		}
		p->pid = -1;
	}
	if (p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	return status;
}

int interop_collect(struct interop_proc *p, int timeout_ms, char **out)
{
	size_t size = 1 << 20, len = 0;
	char *buf = malloc(size);
	if (buf)
		buf[0] = '\0';
	long long end = interop_now_ms() + timeout_ms;
	bool timed_out = false;
	char dummy[1];
	for (;;) {
		long long left = end - interop_now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int rc = buf ? read_some(p->out_fd, (int)left, buf, size, &len) :
			       read_some(p->out_fd, (int)left, dummy, 1, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			timed_out = interop_now_ms() >= end;
			break;
		}
	}
	*out = buf;
	if (timed_out) {
		interop_stop(p, SIGKILL, 5000);
		return -1;
	}
	int status = reap(p->pid, 5000);
	if (status == -2) {
		interop_stop(p, SIGKILL, 5000);
		return -1;
	}
	p->pid = -1;
	close(p->out_fd);
	p->out_fd = -1;
	return status;
}
