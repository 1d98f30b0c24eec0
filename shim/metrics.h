/* SPDX-License-Identifier: Apache-2.0 */
/* Container statistics for Task.Stats: the cgroup of a process found from
 * /proc/PID/cgroup and the mount table (cgroupfs or systemd layout alike), its
 * files read into io.containerd.cgroups.v1.Metrics (cgroup v1 and hybrid
 * hosts) or io.containerd.cgroups.v2.Metrics (unified hosts), the messages
 * containerd-shim-runc-v2 answers with.
 *
 * The files are kernel pseudo-files: a read computes the answer and never
 * waits on a device, so they are read synchronously on the loop, each bounded
 * to SHIM_METRICS_FILE_MAX bytes. */
#ifndef SHIM_METRICS_H
#define SHIM_METRICS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "google/protobuf/any.pb-c.h"
#include "io/containerd/cgroups/v1/metrics.pb-c.h"
#include "io/containerd/cgroups/v2/metrics.pb-c.h"
#include "shim/error.h"

#define SHIM_METRICS_FILE_MAX (256 * 1024)
#define SHIM_METRICS_V1_TYPE "io.containerd.cgroups.v1.Metrics"
#define SHIM_METRICS_V2_TYPE "io.containerd.cgroups.v2.Metrics"

/* Where a process's cgroup lives: the v1 controllers' directories ("" when
 * the controller is not mounted or the process has none), or the unified
 * directory for v2. */
struct shim_cgroup {
	bool v2;
	char unified[PATH_MAX];
	char cpu[PATH_MAX], cpuacct[PATH_MAX], memory[PATH_MAX], pids[PATH_MAX], blkio[PATH_MAX], hugetlb[PATH_MAX],
		rdma[PATH_MAX];
};

/* True when the host is unified (cgroup2 mounted at root, normally
 * /sys/fs/cgroup): Stats answers v2 Metrics there, v1 Metrics otherwise
 * (legacy and hybrid hosts), as containerd does. */
bool shim_cgroup_unified(const char *root);

/* Resolve the cgroup from a /proc/PID/cgroup file and a mountinfo file
 * (normally /proc/self/mountinfo): v2 picks the unified hierarchy, else the
 * v1 controllers. NOT_FOUND when the process (file) is gone or has no cgroup
 * in the wanted hierarchy; INVALID_ARGUMENT for a file that does not parse. */
int shim_cgroup_resolve(const char *proc_cgroup, const char *mountinfo, bool v2, struct shim_cgroup *cg,
			struct shim_error *err);

/* Same for a live pid under proc (NULL = "/proc"). */
int shim_cgroup_of_pid(pid_t pid, const char *proc, bool v2, struct shim_cgroup *cg, struct shim_error *err);

/* The statistics of cg. v1: partitions names block devices (normally
 * /proc/partitions, NULL for none). Files a controller lacks are skipped (the
 * fields stay zero, as containerd/cgroups' IgnoreNotExist does); a file that
 * does not parse is an error. Free the result with the matching _free. */
int shim_metrics_v1_read(const struct shim_cgroup *cg, const char *partitions,
			 Io__Containerd__Cgroups__V1__Metrics **out, struct shim_error *err);
void shim_metrics_v1_free(Io__Containerd__Cgroups__V1__Metrics *m);
int shim_metrics_v2_read(const char *dir, Io__Containerd__Cgroups__V2__Metrics **out, struct shim_error *err);
void shim_metrics_v2_free(Io__Containerd__Cgroups__V2__Metrics *m);

/* Everything Stats does for a container whose init process is pid: resolve,
 * read, pack into any (type_url the bare message name, value malloc'ed: free
 * with free(any->value.data)). */
int shim_metrics_of_pid(pid_t pid, Google__Protobuf__Any *any, struct shim_error *err);

/* ---- the pod's cgroup (Sandbox API) ---- */

/* The directories of a pod cgroup "<parent>/<id>", cgroupfs layout: one per
 * mounted hierarchy (the unified one on a unified host; every v1 hierarchy,
 * and the cgroup2 one of a hybrid host, otherwise), as runc's cgroupfs driver
 * places a container. procs[i] is dirs[i]/cgroup.procs. */
struct shim_podcg {
	size_t n;
	char **dirs, **procs;
};

/* Create the directories (missing parents too; a new cpuset directory gets
 * its parent's cpuset.cpus and cpuset.mems, as runc does), mountinfo normally
 * /proc/self/mountinfo and root the cgroup mount root (NULL: /sys/fs/cgroup).
 * parent must be absolute, without "." or ".." components
 * (INVALID_ARGUMENT). On failure what was made is removed again. */
/* An absolute cgroup path without empty, "." or ".." components. */
bool shim_cgroup_path_clean(const char *path);
int shim_podcg_create(const char *mountinfo, const char *root, const char *parent, const char *id,
		      struct shim_podcg *cg, struct shim_error *err);
/* Move the calling process into every directory: only open/write/close, so a
 * child forked from a threaded process may call it. 0 or an errno. */
int shim_podcg_join_self(const struct shim_podcg *cg);
/* rmdir every directory still there (gone ones are dropped from cg): 0 when
 * none is left, -EBUSY while one is still populated (retry later), another
 * -errno on failure (err filled). */
int shim_podcg_remove(struct shim_podcg *cg, struct shim_error *err);
void shim_podcg_free(struct shim_podcg *cg);

#endif
