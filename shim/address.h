/* SPDX-License-Identifier: Apache-2.0 */
/* Where a shim listens: the socket name containerd's shims derive, the bundle's
 * `address` file, and the "is a shim already serving this group" check. */
#ifndef SHIM_ADDRESS_H
#define SHIM_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* containerd 1.6 (runtime/v2/shim/util_unix.go SocketAddress): the socket is
 * "<defaults.DefaultStateDir>/s/<hex sha256(filepath.Join(address, ns, id))>"
 * with DefaultStateDir = /run/containerd, returned as "unix://<path>". */
#define SHIM_SOCKET_DIR "/run/containerd/s"
#define SHIM_ADDRESS_MAX 256

/* Go's filepath.Clean on in into out: one slash between elements, no "." elements,
 * ".." folded into its parent (or dropped at the root), "" becomes ".". -ENAMETOOLONG
 * when out is too small. */
int shim_path_clean(const char *in, char *out, size_t out_size);

/* Go's filepath.Join of the non-NULL, non-empty parts (NULL-terminated list), cleaned. */
int shim_path_join(char *out, size_t out_size, ...);

/* SHA-256 of data (FIPS 180-4). */
void shim_sha256(const void *data, size_t len, uint8_t digest[32]);

/* "unix://<socket_dir>/<hex sha256 of Join(containerd_address, ns, group_id)>".
 * socket_dir NULL means SHIM_SOCKET_DIR (tests pass a temp dir). */
int shim_socket_address(const char *socket_dir, const char *containerd_address, const char *ns, const char *group_id,
			char *out, size_t out_size, struct shim_error *err);

/* The filesystem path inside a "unix://" address, or NULL for anything else
 * (we never use abstract sockets: CVE-2020-15257). Points into address. */
const char *shim_address_path(const char *address);

/* Write address to "<bundle>/address" atomically (temp file in the bundle, fsync, rename). */
int shim_address_write(const char *bundle, const char *address, struct shim_error *err);

/* Read "<bundle>/address" into out (NUL-terminated, trailing whitespace trimmed). */
int shim_address_read(const char *bundle, char *out, size_t out_size, struct shim_error *err);

/* True when something accepts connections on the unix:// address (the connect
 * succeeds; the connection is closed at once). */
bool shim_socket_can_connect(const char *address);

/* Create the socket's directory (parents 0711, the socket directory itself 0700),
 * bind and listen (CLOEXEC, non-blocking), chmod the socket 0600. *fd_out gets the
 * listening fd. -EADDRINUSE (with the error filled) when the path exists. */
int shim_socket_listen(const char *address, int *fd_out, struct shim_error *err);

/* Remove the socket file; a missing file is not an error. */
int shim_socket_remove(const char *address, struct shim_error *err);

/* What `start` does with the group's socket, serialised against other `start`s
 * by an flock on the socket directory (so concurrent starts of one group end with
 * one listener): listen on it and return 0 with *fd_out set; or, when a shim
 * already accepts connections there, return 1 (*fd_out = -1); a stale socket file
 * nobody serves is removed and replaced. */
int shim_socket_acquire(const char *address, int *fd_out, struct shim_error *err);

#endif
