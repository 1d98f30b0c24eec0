/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc: shared definitions (errors, status codes, metadata, logging). */
#ifndef TTRPC_COMMON_H
#define TTRPC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TTRPC_BUILDING) && defined(__GNUC__)
#define TTRPC_API __attribute__((visibility("default")))
#else
#define TTRPC_API
#endif

#if defined(__GNUC__)
#define TTRPC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TTRPC_PRINTF(fmt, args)
#endif

/* Largest message payload ttrpc accepts on the wire (4 MiB, as Go ttrpc). */
#define TTRPC_MAX_MESSAGE_SIZE 4194304u

/* Library error codes: functions return 0 on success or one of these (< 0). */
enum ttrpc_error {
	TTRPC_OK = 0,
	TTRPC_EINVAL = -1,    /* bad argument */
	TTRPC_ENOMEM = -2,    /* out of memory */
	TTRPC_ESYS = -3,      /* system call failed; errno tells more */
	TTRPC_ECLOSED = -4,   /* connection or server closed */
	TTRPC_ETOOBIG = -5,   /* message larger than TTRPC_MAX_MESSAGE_SIZE */
	TTRPC_EPROTO = -6,    /* malformed bytes from the peer */
	TTRPC_EEXIST = -7,    /* already registered / already done */
	TTRPC_ENOTFOUND = -8, /* no such entry */
	TTRPC_ESTATE = -9,    /* not allowed in the current state */
	TTRPC_EAGAIN = -10,   /* need more input */
	TTRPC_ETLS = -11,     /* TLS: certificate, key or CA file unusable (ttrpc_grpc_tls_error tells) */
};

/* Human-readable text for a TTRPC_E* code. Never NULL. */
TTRPC_API const char *ttrpc_strerror(int err);

/* gRPC status codes, the ones that travel on the wire. */
enum ttrpc_code {
	TTRPC_CODE_OK = 0,
	TTRPC_CODE_CANCELLED = 1,
	TTRPC_CODE_UNKNOWN = 2,
	TTRPC_CODE_INVALID_ARGUMENT = 3,
	TTRPC_CODE_DEADLINE_EXCEEDED = 4,
	TTRPC_CODE_NOT_FOUND = 5,
	TTRPC_CODE_ALREADY_EXISTS = 6,
	TTRPC_CODE_PERMISSION_DENIED = 7,
	TTRPC_CODE_RESOURCE_EXHAUSTED = 8,
	TTRPC_CODE_FAILED_PRECONDITION = 9,
	TTRPC_CODE_ABORTED = 10,
	TTRPC_CODE_OUT_OF_RANGE = 11,
	TTRPC_CODE_UNIMPLEMENTED = 12,
	TTRPC_CODE_INTERNAL = 13,
	TTRPC_CODE_UNAVAILABLE = 14,
	TTRPC_CODE_DATA_LOSS = 15,
	TTRPC_CODE_UNAUTHENTICATED = 16,
};

/* Upper-case gRPC name of a status code ("NOT_FOUND"); "CODE(n)" style for unknown. */
TTRPC_API const char *ttrpc_code_name(int code);

/* Log levels passed to a ttrpc_log_fn. */
enum ttrpc_log_level {
	TTRPC_LOG_ERROR = 0,
	TTRPC_LOG_WARN = 1,
	TTRPC_LOG_INFO = 2,
	TTRPC_LOG_DEBUG = 3,
};

/* The library never prints; it hands log lines (no trailing newline) to this. */
typedef void (*ttrpc_log_fn)(void *user, int level, const char *msg);

/* Metadata: an ordered list of key/value pairs; a key may repeat. Keys are
 * stored lower-cased, as on the wire. */
typedef struct ttrpc_md ttrpc_md;

/* New empty metadata list, or NULL when out of memory. */
TTRPC_API ttrpc_md *ttrpc_md_new(void);
/* Free a list and every string in it. NULL is a no-op. */
TTRPC_API void ttrpc_md_free(ttrpc_md *md);
/* Append a pair; both strings are copied, the key lower-cased. */
TTRPC_API int ttrpc_md_add(ttrpc_md *md, const char *key, const char *value);
/* Number of pairs. NULL counts as empty. */
TTRPC_API size_t ttrpc_md_count(const ttrpc_md *md);
/* Pair number i; the strings belong to md. TTRPC_ENOTFOUND past the end. */
TTRPC_API int ttrpc_md_at(const ttrpc_md *md, size_t i, const char **key, const char **value);
/* First value stored under key (matched case-insensitively), or NULL. */
TTRPC_API const char *ttrpc_md_get(const ttrpc_md *md, const char *key);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the clock of every deadline. */
TTRPC_API int64_t ttrpc_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
