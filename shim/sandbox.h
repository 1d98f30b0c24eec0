/* SPDX-License-Identifier: Apache-2.0 */
/* Which shim serves a container: the grouping decision `start` makes from the
 * bundle's annotations and the container id. A pure function, no I/O.
 *
 * Two conventions, checked in this order:
 * 1. io.containerd.runc.v2.group = G          -> runc-v2, group G
 * 2. io.kubernetes.cri.container-type present -> hcsshim:
 *      "sandbox":   io.kubernetes.cri.sandbox-id must equal the id; a new shim for
 *                   group = id (SHIM_GROUP_SANDBOX)
 *      "container": io.kubernetes.cri.sandbox-id = S (S != id) names the sandbox
 *                   whose shim must already run; start asks it with a ttrpc Connect
 *                   and returns its address (SHIM_GROUP_JOIN_SANDBOX)
 * 3. io.kubernetes.cri.sandbox-id = S          -> runc-v2, group S
 * 4. otherwise                                 -> runc-v2, group = id
 * runc-v2 (SHIM_GROUP_REUSE_OR_NEW): serve the group's socket, or hand back the
 * address of the shim already accepting connections there.
 * Empty or malformed ids in these annotations are INVALID_ARGUMENT. */
#ifndef SHIM_SANDBOX_H
#define SHIM_SANDBOX_H

#include <stddef.h>

#include "error.h"
#include "oci.h"

#define SHIM_ANN_RUNC_GROUP "io.containerd.runc.v2.group"
#define SHIM_ANN_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define SHIM_ANN_CONTAINER_TYPE "io.kubernetes.cri.container-type"

enum shim_group_mode {
	SHIM_GROUP_REUSE_OR_NEW = 1,
	SHIM_GROUP_SANDBOX = 2,
	SHIM_GROUP_JOIN_SANDBOX = 3,
};

struct shim_group {
	enum shim_group_mode mode;
	const char *group_id; /* the socket's group id; points into id or the annotations */
	const char *reason;   /* what decided, for logs: an annotation name or "container id" */
};

/* Decide for container id with annotations ann[0..n). 0 or -EINVAL (INVALID_ARGUMENT). */
int shim_sandbox_group(const char *id, const struct shim_kv *ann, size_t n, struct shim_group *group,
		       struct shim_error *err);

/* "runc-v2", "sandbox", "join-sandbox". */
const char *shim_group_mode_name(enum shim_group_mode mode);

#endif
