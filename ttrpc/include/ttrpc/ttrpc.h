/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc: ttrpc (containerd's lightweight RPC protocol) for C. */
#ifndef TTRPC_TTRPC_H
#define TTRPC_TTRPC_H

#include <ttrpc/client.h>
#include <ttrpc/codec.h>
#include <ttrpc/common.h>
#include <ttrpc/grpc.h>
#include <ttrpc/server.h>
#include <ttrpc/stream.h>

#define TTRPC_VERSION "0.1.0"

#endif
