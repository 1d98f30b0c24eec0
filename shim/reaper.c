/* SPDX-License-Identifier: Apache-2.0 */
#include "reaper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct watch {
	pid_t pid;
	shim_exit_fn fn;
	void *data;
};

struct shim_reaper {
	struct ev_loop *loop;
	ev_io sigchld;
	int sfd;
	sigset_t old_mask;
	struct watch *watches;
	size_t nwatches, cap_watches;
	struct shim_exit records[SHIM_REAPER_RECORDS]; /* ring; pid 0 = free slot */
	int64_t recorded_ms[SHIM_REAPER_RECORDS];      /* CLOCK_MONOTONIC */
	size_t next_record;
	int ttl_ms;
};

int shim_wait_status_to_exit(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void shim_reaper_set_record_ttl(struct shim_reaper *r, int ttl_ms)
{
	r->ttl_ms = ttl_ms;
}

static void record(struct shim_reaper *r, const struct shim_exit *e)
{
	r->recorded_ms[r->next_record] = mono_ms();
	r->records[r->next_record] = *e;
	r->next_record = (r->next_record + 1) % SHIM_REAPER_RECORDS;
}

bool shim_reaper_take(struct shim_reaper *r, pid_t pid, struct shim_exit *exit)
{
	int64_t now;
	size_t i;

	if (!r || pid <= 0)
		return false;
	now = mono_ms();
	for (i = 0; i < SHIM_REAPER_RECORDS; i++) {
		if (r->records[i].pid && now - r->recorded_ms[i] > r->ttl_ms)
			r->records[i].pid = 0; /* expired: the pid may be someone else's now */
		if (r->records[i].pid == pid) {
			if (exit)
				*exit = r->records[i];
			r->records[i].pid = 0;
			return true;
		}
	}
	return false;
}

/* Hand e to every watch of its pid (removing them first, so callbacks may watch
 * and unwatch freely), or record it when nobody watches. */
static void dispatch(struct shim_reaper *r, const struct shim_exit *e)
{
	struct watch local[8], *fire = local;
	size_t n = 0, i, kept = 0, matches = 0;

	for (i = 0; i < r->nwatches; i++)
		matches += r->watches[i].pid == e->pid;
	if (!matches) {
		record(r, e);
		return;
	}
	if (matches > sizeof(local) / sizeof(local[0])) {
		fire = malloc(matches * sizeof(*fire));
		if (!fire) {
			record(r, e);
			return;
		}
	}
	for (i = 0; i < r->nwatches; i++) {
		if (r->watches[i].pid == e->pid)
			fire[n++] = r->watches[i];
		else
			r->watches[kept++] = r->watches[i];
	}
	r->nwatches = kept;
	for (i = 0; i < n; i++)
		fire[i].fn(e, fire[i].data);
	if (fire != local)
		free(fire);
}

int shim_reaper_reap(struct shim_reaper *r)
{
	struct shim_exit e;
	int wstatus, count = 0;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &wstatus, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		memset(&e, 0, sizeof(e));
		e.pid = pid;
		e.status = shim_wait_status_to_exit(wstatus);
		clock_gettime(CLOCK_REALTIME, &e.at);
		count++;
		dispatch(r, &e);
	}
	return count;
}

static void on_sigchld(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shim_reaper *r = w->data;
	struct signalfd_siginfo si[16];

	(void)loop;
	(void)revents;
	/* Drain: SIGCHLDs coalesce, so the count says nothing; waitpid does. */
	while (read(r->sfd, si, sizeof(si)) > 0)
		;
	shim_reaper_reap(r);
}

struct shim_reaper *shim_reaper_new(struct ev_loop *loop, struct shim_error *err)
{
	struct shim_reaper *r;
	sigset_t mask;

	if (!loop || ev_is_default_loop(loop)) {
		shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL,
			       "reaper needs a loop from ev_loop_new (the default loop reaps children itself)");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->ttl_ms = SHIM_REAPER_RECORD_TTL_MS;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
		free(r);
		return NULL;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &r->old_mask) < 0) {
		shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "block SIGCHLD");
		free(r);
		return NULL;
	}
	r->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sfd < 0) {
		shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "signalfd(SIGCHLD)");
		sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
		free(r);
		return NULL;
	}
	ev_io_init(&r->sigchld, on_sigchld, r->sfd, EV_READ);
	r->sigchld.data = r;
	ev_io_start(loop, &r->sigchld);
	/* Children that exited before the signalfd existed raised no event. */
	shim_reaper_reap(r);
	return r;
}

void shim_reaper_free(struct shim_reaper *r)
{
	if (!r)
		return;
	ev_io_stop(r->loop, &r->sigchld);
	close(r->sfd);
	sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
	free(r->watches);
	free(r);
}

int shim_reaper_watch(struct shim_reaper *r, pid_t pid, shim_exit_fn fn, void *data, struct shim_exit *exit)
{
	if (shim_reaper_take(r, pid, exit))
		return 1;
	if (r->nwatches == r->cap_watches) {
		size_t cap = r->cap_watches ? 2 * r->cap_watches : 16;
		struct watch *w = realloc(r->watches, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		r->watches = w;
		r->cap_watches = cap;
	}
	r->watches[r->nwatches++] = (struct watch){ pid, fn, data };
	return 0;
}

void shim_reaper_unwatch(struct shim_reaper *r, pid_t pid, shim_exit_fn fn, void *data)
{
	size_t i;

	for (i = 0; i < r->nwatches; i++) {
		if (r->watches[i].pid == pid && r->watches[i].fn == fn && r->watches[i].data == data) {
			r->watches[i] = r->watches[--r->nwatches];
			return;
		}
	}
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int shim_reaper_wait(struct shim_reaper *r, pid_t pid, int timeout_ms, struct shim_exit *exit, struct shim_error *err)
{
	struct pollfd pfd;
	int wstatus, ret;
	pid_t got;

	if (shim_reaper_take(r, pid, exit))
		return 0;
	pfd.fd = pidfd_open_(pid);
	if (pfd.fd < 0) {
		if (errno == ESRCH)
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, ECHILD, "wait for %d", (int)pid);
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "pidfd_open %d", (int)pid);
	}
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	close(pfd.fd);
	if (ret == 0)
		return shim_error_set(err, TTRPC_CODE_DEADLINE_EXCEEDED, -ETIMEDOUT,
				      "process %d still running after %d ms", (int)pid, timeout_ms);
	do
		got = waitpid(pid, &wstatus, WNOHANG);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "waitpid %d", (int)pid);
	if (got == 0)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EAGAIN, "process %d exited but is not reapable",
				      (int)pid);
	if (exit) {
		exit->pid = pid;
		exit->status = shim_wait_status_to_exit(wstatus);
		clock_gettime(CLOCK_REALTIME, &exit->at);
	}
	return 0;
}
