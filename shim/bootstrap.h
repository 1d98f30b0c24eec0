/* SPDX-License-Identifier: Apache-2.0 */
/* What `start` reads from containerd and answers, for every generation:
 *   containerd 1.6      no MAX_SHIM_VERSION; stdin = runtime options Any;
 *                       answer the plain address
 *   containerd 1.7-2.2  MAX_SHIM_VERSION=2; stdin = runtime options Any;
 *                       answer JSON {"version":N,"address":..,"protocol":"ttrpc"}
 *                       (1.7 rejects N > 2; 2.0+ needs 3 for Task v3 + Sandbox)
 *   containerd 2.3+     stdin = binary containerd.runtime.bootstrap.v1
 *                       BootstrapParams (trusted only when instance_id and
 *                       namespace equal -id and -namespace, as containerd's
 *                       pkg/shim/compat.go does); answer a binary BootstrapResult */
#ifndef SHIM_BOOTSTRAP_H
#define SHIM_BOOTSTRAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The highest shim protocol version we serve: 3 needs containerd.task.v3.Task
 * and containerd.runtime.sandbox.v1.Sandbox on the socket. */
#ifndef SHIM_BOOTSTRAP_MAX_VERSION
#define SHIM_BOOTSTRAP_MAX_VERSION 3
#endif

/* containerd's own pkg/shim reads at most this much of stdin. */
#define SHIM_BOOTSTRAP_INPUT_MAX (10u << 20)

/* How long `<publish-binary> --version` may take before we answer 2. */
#define SHIM_BOOTSTRAP_VERSION_TIMEOUT_MS 2000

enum shim_bootstrap_format {
	SHIM_BOOTSTRAP_PLAIN = 0, /* containerd 1.6 */
	SHIM_BOOTSTRAP_JSON,	  /* containerd 1.7-2.2 */
	SHIM_BOOTSTRAP_BINARY,	  /* containerd 2.3+ */
};

struct shim_bootstrap {
	enum shim_bootstrap_format format;
	bool debug;		      /* BootstrapParams.log_level <= LOG_LEVEL_DEBUG */
	char socket_dir[PATH_MAX];    /* BootstrapParams.socket_dir, "" = default */
	char containerd_version[128]; /* BootstrapParams.containerd_version */
	/* The runtime options as a packed google.protobuf.Any (legacy stdin, or
	 * the options extension of BootstrapParams); NULL when none. Owned. */
	uint8_t *options;
	size_t options_len;
};

/* Classify what `start` read from stdin (in, len) with the command line's id
 * and namespace and the environment's MAX_SHIM_VERSION (NULL when unset).
 * Fills *b (free with shim_bootstrap_free). A BootstrapParams whose identity
 * does not match is taken as legacy options bytes. -EINVAL when
 * BootstrapParams' socket_dir does not fit. */
int shim_bootstrap_read(const uint8_t *in, size_t len, const char *id, const char *ns, const char *max_shim_version,
			struct shim_bootstrap *b, struct shim_error *err);

/* Release what shim_bootstrap_read allocated; NULL is a no-op. */
void shim_bootstrap_free(struct shim_bootstrap *b);

/* Major and minor of a containerd version: "v2.1.3", "2.0.0-rc.1", "1.6.20~ds1",
 * or `containerd --version`'s line ("containerd github.com/containerd/containerd/v2
 * v2.1.0 <revision>"). -EINVAL when no version is found. */
int shim_bootstrap_parse_daemon_version(const char *text, int *major, int *minor);

/* The version to put in the JSON answer for a daemon of that version (major < 0:
 * unknown): 3 only for 2.0+ and when we serve it, else 2 (1.7 rejects more). */
int shim_bootstrap_json_version(int daemon_major);

/* Run `<binary> --version` (stdin /dev/null, at most timeout_ms, then SIGKILL
 * and reap) and parse its output. -ETIMEDOUT, -EINVAL (no version) or
 * -errno. */
int shim_bootstrap_daemon_version(const char *binary, int timeout_ms, int *major, int *minor);

/* Ask the daemon itself: containerd.services.version.v1.Version/Version over
 * gRPC at address (containerd's -address: a unix socket path, or
 * "unix://path"), at most timeout_ms, and parse VersionResponse.version.
 * -ETIMEDOUT, -ECONNREFUSED (nobody serves there, or not gRPC), -EINVAL (no
 * version in the answer). */
int shim_bootstrap_daemon_version_grpc(const char *address, int timeout_ms, int *major, int *minor);

/* The answer for address in b's format: malloc'd bytes in *out, *out_len.
 * The binary form ends with the protocol string and begins with the version's
 * tag, so it neither begins nor ends with a whitespace byte (containerd 2.3.0
 * trims before decoding); INTERNAL if it ever would. */
int shim_bootstrap_answer(const struct shim_bootstrap *b, int version, const char *address, uint8_t **out,
			  size_t *out_len, struct shim_error *err);

#endif
