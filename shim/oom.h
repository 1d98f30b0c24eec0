/* SPDX-License-Identifier: Apache-2.0 */
/* OOM kills in a container's memory cgroup, found from /proc/PID/cgroup:
 * cgroup v1 through memory.oom_control + cgroup.event_control (an eventfd),
 * cgroup v2 through inotify on memory.events (its oom_kill count). Watched
 * on the loop; fn runs once per OOM kill. */
#ifndef SHIM_OOM_H
#define SHIM_OOM_H

#include <sys/types.h>

#include <ev.h>

#include "shim/error.h"

struct shim_oom;

typedef void (*shim_oom_fn)(void *data);

/* Watch the memory cgroup of pid. -ENOENT (NOT_FOUND) when it has none we
 * can watch (no memory controller, or no permission): not fatal. */
int shim_oom_watch(struct ev_loop *loop, pid_t pid, shim_oom_fn fn, void *data, struct shim_oom **out,
		   struct shim_error *err);

/* Watch the memory cgroup directory memcg (v2: its memory.events; v1: its
 * memory.oom_control through cgroup.event_control). What shim_oom_watch does
 * once it found the directory; callable on its own (tests point it at a fake
 * v2 directory). -ENOENT (NOT_FOUND) when memcg cannot be watched. */
int shim_oom_watch_dir(struct ev_loop *loop, const char *memcg, int v2, shim_oom_fn fn, void *data,
		       struct shim_oom **out, struct shim_error *err);

/* Stop watching. NULL is a no-op. */
void shim_oom_free(struct shim_oom *o);

/* The memory cgroup directory of pid (v1 memory hierarchy, else the v2
 * unified one) into out; *v2 says which. Exposed for tests. */
int shim_oom_memcg(pid_t pid, const char *proc, char *out, size_t size, int *v2);

#endif
