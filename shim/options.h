/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime options containerd hands a shim as a google.protobuf.Any (in
 * CreateTaskRequest.options, on `-info`'s stdin, in 2.3+'s BootstrapParams):
 * containerd.runc.v1.Options (what CRI sends) or runtimeoptions.v1.Options
 * pointing at our runtime-config JSON file (what `ctr --runtime-config-path`
 * sends). */
#ifndef SHIM_OPTIONS_H
#define SHIM_OPTIONS_H

#include <stdbool.h>

#include "google/protobuf/any.pb-c.h"
#include "shim/error.h"
#include "shim/runtime.h"

/* Whether any's type URL names full_name ("containerd.runc.v1.Options"),
 * bare or after a '/' ("types.example.com/x.y.Z"). */
bool shim_any_is(const Google__Protobuf__Any *any, const char *full_name);

/* Fill *opts from any (NULL or an empty type URL: defaults). Other types and
 * undecodable values are INVALID_ARGUMENT. */
int shim_runtime_options_from_any(const Google__Protobuf__Any *any, struct shim_runtime_options *opts,
				  struct shim_error *err);

#endif
