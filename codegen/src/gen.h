/* SPDX-License-Identifier: Apache-2.0 */
/* The generator proper: one .proto file in, <file>.ttrpc-c.h/.c out. */
#ifndef TTRPC_CODEGEN_GEN_H
#define TTRPC_CODEGEN_GEN_H

#include <stddef.h>

#include "google/protobuf/descriptor.pb-c.h"

enum gen_backend {
	GEN_BACKEND_PROTOBUF_C,
	GEN_BACKEND_NANOPB,
};

struct gen_file {
	char *name;    /* output path, relative to the --ttrpc-c_out directory */
	char *content; /* the text */
};

/* Generate the stubs for one file. Returns the number of files stored in out
 * (0 for a file without services, else 2), or -1 with a message in *err
 * (free() it). The strings in out belong to the caller. */
int gen_generate(const Google__Protobuf__FileDescriptorProto *file, enum gen_backend backend, struct gen_file out[2],
		 char **err);

#endif
