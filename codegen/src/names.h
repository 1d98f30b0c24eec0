/* SPDX-License-Identifier: Apache-2.0 */
/* Name mangling: proto names to the C identifiers we, protobuf-c and nanopb use.
 * Every function returns a new string the caller frees. */
#ifndef TTRPC_CODEGEN_NAMES_H
#define TTRPC_CODEGEN_NAMES_H

#include <stdbool.h>

/* "ResizePty" -> "resize_pty", "CloseIO" -> "close_io", "HTTPGet" -> "http_get". */
char *names_snake(const char *name);

/* Package and service to our identifier prefix: "containerd.task.v2" + "Task"
 * -> "containerd_task_v2_task". An empty package gives just the service. */
char *names_prefix(const char *package, const char *service);

/* Upper-case copy ("containerd_task_v2_task" -> "CONTAINERD_TASK_V2_TASK"). */
char *names_upper(const char *name);

/* A struct member name safe from C keywords and common lower-case macros:
 * "register" -> "register_". */
char *names_member(const char *snake);

/* protobuf-c's names for a message given its full name (".pkg.Outer.Inner"):
 * the type ("Pkg__Outer__Inner") and the lower-case base of its functions and
 * descriptor ("pkg__outer__inner"). */
char *names_pbc_type(const char *full_name);
char *names_pbc_lower(const char *full_name);

/* nanopb's type name for a message: ".pkg.Outer.Inner" -> "pkg_Outer_Inner". */
char *names_nanopb_type(const char *full_name);

/* Include guard for a generated header from the .proto path. */
char *names_guard(const char *proto_path);

/* "dir/x.proto" -> "dir/x" (a name not ending in .proto is kept whole). */
char *names_strip_proto(const char *proto_path);

/* true when s is a valid C identifier. */
bool names_is_ident(const char *s);

#endif
