/* SPDX-License-Identifier: Apache-2.0 */
/* Container and exec ids: containerd's identifier rule, so an id can never be a
 * path trick ("../x", "a/b", ".") when joined into a directory. */
#ifndef SHIM_IDS_H
#define SHIM_IDS_H

#include "error.h"

/* containerd's identifiers.maxLength. */
#define SHIM_ID_MAX 76

/* 0 when id matches ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$ and is at most
 * SHIM_ID_MAX characters; else -EINVAL with INVALID_ARGUMENT naming what (e.g.
 * "container id", "exec id") and the id. */
int shim_id_validate(const char *what, const char *id, struct shim_error *err);

/* 0 when path is absolute, shorter than PATH_MAX, free of control characters
 * and already clean (no "//", "." or ".." component, no trailing "/"): a path
 * from a request then means exactly what it says. Else -EINVAL with
 * INVALID_ARGUMENT naming what (e.g. "bundle", "stdout") and the path. */
int shim_abs_path_validate(const char *what, const char *path, struct shim_error *err);

#endif
