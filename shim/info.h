/* SPDX-License-Identifier: Apache-2.0 */
/* `containerd-shim-tiny-v2 -info` (containerd 2.x runs it before the first
 * Create of a runtime, options on stdin): a containerd.types.RuntimeInfo, as
 * containerd-shim-runc-v2 writes it:
 *   name      io.containerd.tiny.v2
 *   version   our version
 *   options   the options Any read from stdin, echoed (absent when none)
 *   features  the OCI runtime's `<runtime> features` JSON in an Any of type
 *             types.containerd.io/opencontainers/runtime-spec/1/features/Features
 * The runtime is the one Create would use (binary_name of the options, else
 * runc). A runtime without a working `features` (crun 1.8, runc < 1.1, youki)
 * gives a RuntimeInfo without features and a warning naming the runtime and
 * why, as runc-v2 does (containerd only logs -info failures; its CRI then
 * reports "runtime info has no features"). */
#ifndef SHIM_INFO_H
#define SHIM_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "shim/error.h"

#define SHIM_INFO_FEATURES_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/features/Features"
/* How long `<runtime> features` may run before it is killed. */
#define SHIM_INFO_FEATURES_TIMEOUT_MS 5000
/* The largest `features` output taken. */
#define SHIM_INFO_FEATURES_MAX (1u << 20)

/* The packed RuntimeInfo for the options bytes in (in, len: a packed
 * google.protobuf.Any, or empty) into malloc'd *out, *out_len. path_env NULL
 * means getenv("PATH"). When features are left out, warning (size > 0) says
 * why; else it is "". Errors: options that do not decode or name a type we do
 * not take (INVALID_ARGUMENT), a runtime binary not found (FAILED_PRECONDITION). */
int shim_info(const uint8_t *in, size_t len, const char *path_env, int timeout_ms, uint8_t **out, size_t *out_len,
	      char *warning, size_t warning_size, struct shim_error *err);

#endif
