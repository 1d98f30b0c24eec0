/* SPDX-License-Identifier: Apache-2.0 */
/* Rootfs mounts from CreateTaskRequest (overlay of an imported image, bind
 * mounts) onto <bundle>/rootfs, and their removal on delete. Options follow
 * containerd's mount.parseMountOptions: known words become MS_* flags, the rest
 * is the filesystem's data string. */
#ifndef SHIM_MOUNT_H
#define SHIM_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SHIM_MOUNT_DATA_MAX 4096 /* the kernel copies one page of data */
#define SHIM_UNMOUNT_RETRIES 50	 /* x SHIM_UNMOUNT_RETRY_MS of EBUSY before MNT_DETACH */
#define SHIM_UNMOUNT_RETRY_MS 50

struct shim_mount {
	const char *type; /* "overlay", "bind", ... */
	const char *source;
	const char *target;	    /* inside rootfs; NULL or "" is rootfs itself */
	const char *const *options; /* noptions words */
	size_t noptions;
};

/* Split options into MS_* flags and a comma-joined data string (NUL-terminated in
 * data[0..data_size)). -E2BIG (INVALID_ARGUMENT) when data does not fit or is
 * longer than the kernel takes; "loop" is UNIMPLEMENTED. */
int shim_mount_options(const char *const *options, size_t n, unsigned long *flags, char *data, size_t data_size,
		       struct shim_error *err);

/* 0 when m's fields are sane for mounts[index] of a request: a type of
 * [A-Za-z0-9._+-], at most 64 characters; a source with no control
 * characters, shorter than PATH_MAX (required unless "remount"); a target
 * with no control characters; options that are non-empty and free of control
 * characters. Else -EINVAL (INVALID_ARGUMENT) naming the field, e.g.
 * "rootfs[1].target". */
int shim_mount_validate(const struct shim_mount *m, size_t index, struct shim_error *err);

/* Mount each of mounts[0..n) in order on rootfs (joined with its target, which
 * may not climb out, lexically or through a symlink: a target that crosses
 * one is INVALID_ARGUMENT). On failure the ones already mounted are unmounted again. */
int shim_mount_all(const char *rootfs, const struct shim_mount *mounts, size_t n, struct shim_error *err);

/* Unmount everything stacked on target: EBUSY is retried every 50 ms up to
 * retries times, then the mount is detached (MNT_DETACH). A target that is not a
 * mount point (or does not exist) is fine. Returns the number of mounts removed. */
int shim_unmount_all(const char *target, int retries, struct shim_error *err);

/* One pass of that without waiting: unmount everything on target that is not
 * busy, adding to *count. -EBUSY (err untouched) when a mount is busy and
 * detach is false: try again later; with detach, a busy mount is detached.
 * 0 once nothing is mounted there. */
int shim_unmount_try(const char *target, bool detach, int *count, struct shim_error *err);

#endif
