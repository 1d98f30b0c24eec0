/* SPDX-License-Identifier: Apache-2.0 */
/* The static helpers every generated .c file with unary methods starts with,
 * one set per message backend. */
#ifndef TTRPC_CODEGEN_PRELUDE_H
#define TTRPC_CODEGEN_PRELUDE_H

extern const char prelude_common[];
extern const char prelude_protobuf_c[];
extern const char prelude_nanopb[];

#endif
