/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzzers reach of shim/service.c (its helpers are static: the file
 * is compiled inside shim_service.c). */
#ifndef FUZZ_SHIM_SERVICE_H
#define FUZZ_SHIM_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/any.pb-c.h"
#include "shim/runtime.h"

/* Runtime-config files the inputs may name in runtimeoptions.v1.Options.config_path. */
#define FUZZ_RUNTIME_DIR "/tmp/ttrpc-fuzz"

/* Write the runtime-config files under FUZZ_RUNTIME_DIR (idempotent). */
void fuzz_runtime_files_init(void);

/* service.c's runtime_options() on any, the decoding CreateTaskRequest.options
 * gets. Returns false, without calling it, for an Any that would make it read
 * a file outside FUZZ_RUNTIME_DIR (a fuzzer must not read the host's files). */
bool fuzz_runtime_options(const Google__Protobuf__Any *any, struct shim_runtime_options *opts, int *rc,
			  struct shim_error *err);

#endif
