/* SPDX-License-Identifier: Apache-2.0 */
/* Shim errors: functions return 0 or a negative errno-style code and fill a
 * struct shim_error with the gRPC code for the wire and a message that gathers
 * context as it travels up ("create: mount rootfs: overlay: No such device"). */
#ifndef SHIM_ERROR_H
#define SHIM_ERROR_H

#include <ttrpc/common.h>

#define SHIM_ERROR_MSG_MAX 512

struct shim_error {
	int code; /* TTRPC_CODE_* (gRPC status code); TTRPC_CODE_OK when clear */
	char msg[SHIM_ERROR_MSG_MAX];
};

/* Reset to "no error". NULL is a no-op. */
void shim_error_clear(struct shim_error *err);

/* Set code and message (printf style); returns ret so callers can write
 * `return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "...")`.
 * err may be NULL (the error is then only the return value). */
int shim_error_set(struct shim_error *err, int code, int ret, const char *fmt, ...) TTRPC_PRINTF(4, 5);

/* Like shim_error_set with ": <strerror(errnum)>" appended; returns -errnum. */
int shim_error_errno(struct shim_error *err, int code, int errnum, const char *fmt, ...) TTRPC_PRINTF(4, 5);

/* Prefix the existing message with "<context>: " (truncating at the end if
 * needed); keeps the code. Returns ret. */
int shim_error_wrap(struct shim_error *err, int ret, const char *fmt, ...) TTRPC_PRINTF(3, 4);

/* gRPC code a plain errno most likely means (ENOENT -> NOT_FOUND, ...). */
int shim_error_code_from_errno(int errnum);

#endif
