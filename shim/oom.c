/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/oom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct shim_oom {
	struct ev_loop *loop;
	ev_io io;
	int fd; /* eventfd (v1) or inotify (v2) */
	bool v2;
	char *events_path;	  /* v2: memory.events */
	char *control_path;	  /* v1: memory.oom_control, to tell removal from OOM */
	unsigned long long kills; /* v2: last oom_kill count */
	shim_oom_fn fn;
	void *data;
};

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int shim_oom_memcg(pid_t pid, const char *proc, char *out, size_t size, int *v2)
{
	char path[64], line[PATH_MAX + 64], unified[PATH_MAX] = "";
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc ? proc : "/proc", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int rc = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctrls = strchr(line, ':');
		char *cg = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		ctrls++;
		if (!*ctrls) {
			snprintf(unified, sizeof(unified), "%s", cg);
			continue;
		}
		for (char *save = NULL, *c = strtok_r(ctrls, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (!strcmp(c, "memory") && snprintf(out, size, "/sys/fs/cgroup/memory%s", cg) < (int)size &&
			    is_dir(out)) {
				*v2 = 0;
				rc = 0;
			}
		}
	}
	fclose(f);
	if (rc == 0 || !unified[0])
		return rc;
	/* cgroup v2: the unified hierarchy is /sys/fs/cgroup, or .../unified on a hybrid host */
	const char *roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	for (size_t i = 0; i < 2; i++) {
		char events[PATH_MAX + 32];
		if (snprintf(out, size, "%s%s", roots[i], unified) >= (int)size)
			continue;
		snprintf(events, sizeof(events), "%s/memory.events", out);
		if (access(events, R_OK) == 0) {
			*v2 = 1;
			return 0;
		}
	}
	return -ENOENT;
}

static unsigned long long read_kills(const char *events_path)
{
	unsigned long long n = 0;
	char key[64];
	unsigned long long v;
	FILE *f = fopen(events_path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", key, &v) == 2)
		if (!strcmp(key, "oom_kill"))
			n = v;
	fclose(f);
	return n;
}

static void on_event(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct shim_oom *o = w->data;
	if (!o->v2) {
		uint64_t count;
		if (read(o->fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
			return;
		/* the eventfd also fires when the cgroup goes away */
		if (access(o->control_path, F_OK) != 0) {
			ev_io_stop(loop, w);
			return;
		}
		o->fn(o->data);
		return;
	}
	char buf[4096];
	ssize_t n = read(o->fd, buf, sizeof(buf));
	if (n <= 0)
		return;
	for (char *p = buf; p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		if (ev->mask & IN_IGNORED) {
			ev_io_stop(loop, w); /* the cgroup is gone */
			return;
		}
		p += sizeof(*ev) + ev->len;
	}
	unsigned long long kills = read_kills(o->events_path);
	for (; o->kills < kills; o->kills++)
		o->fn(o->data);
}

/* <dir>/<name>, sized to fit; NULL without memory. */
static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	if (path)
		snprintf(path, n, "%s/%s", dir, name);
	return path;
}

static int watch_v1(struct shim_oom *o, const char *memcg, struct shim_error *err)
{
	char path[PATH_MAX + 32], line[64];
	if (!(o->control_path = join(memcg, "memory.oom_control")))
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	int ofd = open(o->control_path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0)
		return shim_error_errno(err, TTRPC_CODE_NOT_FOUND, errno, "open %s", o->control_path);
	o->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", memcg);
	int cfd = open(path, O_WRONLY | O_CLOEXEC);
	int n = snprintf(line, sizeof(line), "%d %d", o->fd, ofd);
	int rc = 0;
	if (o->fd < 0 || cfd < 0 || write(cfd, line, (size_t)n) != n)
		rc = shim_error_errno(err, TTRPC_CODE_NOT_FOUND, errno, "register OOM eventfd in %s", memcg);
	if (cfd >= 0)
		close(cfd);
	close(ofd); /* the kernel keeps its own reference */
	return rc;
}

static int watch_v2(struct shim_oom *o, const char *memcg, struct shim_error *err)
{
	if (!(o->events_path = join(memcg, "memory.events")))
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	o->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (o->fd < 0 || inotify_add_watch(o->fd, o->events_path, IN_MODIFY) < 0)
		return shim_error_errno(err, TTRPC_CODE_NOT_FOUND, errno, "watch %s", o->events_path);
	o->kills = read_kills(o->events_path);
	return 0;
}

int shim_oom_watch(struct ev_loop *loop, pid_t pid, shim_oom_fn fn, void *data, struct shim_oom **out,
		   struct shim_error *err)
{
	char memcg[PATH_MAX];
	int v2 = 0;
	*out = NULL;
	if (shim_oom_memcg(pid, NULL, memcg, sizeof(memcg), &v2) < 0)
		return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "pid %d: no memory cgroup to watch",
				      (int)pid);
	return shim_oom_watch_dir(loop, memcg, v2, fn, data, out, err);
}

int shim_oom_watch_dir(struct ev_loop *loop, const char *memcg, int v2, shim_oom_fn fn, void *data,
		       struct shim_oom **out, struct shim_error *err)
{
	*out = NULL;
	struct shim_oom *o = calloc(1, sizeof(*o));
	if (!o)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
	o->loop = loop;
	o->fd = -1;
	o->v2 = v2;
	o->fn = fn;
	o->data = data;
	int rc = v2 ? watch_v2(o, memcg, err) : watch_v1(o, memcg, err);
	if (rc) {
		shim_oom_free(o);
		return rc;
	}
	ev_io_init(&o->io, on_event, o->fd, EV_READ);
	o->io.data = o;
	ev_io_start(loop, &o->io);
	*out = o;
	return 0;
}

void shim_oom_free(struct shim_oom *o)
{
	if (!o)
		return;
	if (o->fd >= 0) {
		ev_io_stop(o->loop, &o->io);
		close(o->fd);
	}
	free(o->events_path);
	free(o->control_path);
	free(o);
}
