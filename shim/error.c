/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void shim_error_clear(struct shim_error *err)
{
	if (!err)
		return;
	err->code = TTRPC_CODE_OK;
	err->msg[0] = '\0';
}

static void set_msg(struct shim_error *err, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);

	if (n < 0)
		err->msg[0] = '\0';
}

int shim_error_set(struct shim_error *err, int code, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return ret;
	err->code = code;
	va_start(ap, fmt);
	set_msg(err, fmt, ap);
	va_end(ap);
	return ret;
}

int shim_error_errno(struct shim_error *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (errnum < 0)
		errnum = -errnum;
	if (!err)
		return -errnum;
	err->code = code;
	va_start(ap, fmt);
	set_msg(err, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return -errnum;
}

/* Copy s at out[len], truncating; returns the new length. */
static size_t append(char *out, size_t size, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (len >= size)
		return len;
	if (n > size - 1 - len)
		n = size - 1 - len;
	memcpy(out + len, s, n);
	out[len + n] = '\0';
	return len + n;
}

int shim_error_wrap(struct shim_error *err, int ret, const char *fmt, ...)
{
	char prefix[SHIM_ERROR_MSG_MAX];
	char old[SHIM_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return ret;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Concatenate by hand: "<prefix>: <old>", truncated to the buffer. */
	append(err->msg, sizeof(err->msg), 0, prefix);
	if (old[0])
		append(err->msg, sizeof(err->msg), append(err->msg, sizeof(err->msg), strlen(err->msg), ": "), old);
	if (err->code == TTRPC_CODE_OK)
		err->code = TTRPC_CODE_UNKNOWN;
	return ret;
}

int shim_error_code_from_errno(int errnum)
{
	if (errnum < 0)
		errnum = -errnum;
	switch (errnum) {
	case 0:
		return TTRPC_CODE_OK;
	case ENOENT:
	case ESRCH:
		return TTRPC_CODE_NOT_FOUND;
	case EEXIST:
		return TTRPC_CODE_ALREADY_EXISTS;
	case EINVAL:
	case ENAMETOOLONG:
	case E2BIG:
		return TTRPC_CODE_INVALID_ARGUMENT;
	case EACCES:
	case EPERM:
		return TTRPC_CODE_PERMISSION_DENIED;
	case EBUSY:
		return TTRPC_CODE_FAILED_PRECONDITION;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
		return TTRPC_CODE_RESOURCE_EXHAUSTED;
	case ETIMEDOUT:
		return TTRPC_CODE_DEADLINE_EXCEEDED;
	case ENOSYS:
	case EOPNOTSUPP:
		return TTRPC_CODE_UNIMPLEMENTED;
	case ECONNREFUSED:
	case EAGAIN:
		return TTRPC_CODE_UNAVAILABLE;
	default:
		return TTRPC_CODE_UNKNOWN;
	}
}
