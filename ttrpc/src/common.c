/* SPDX-License-Identifier: Apache-2.0 */
#include <ttrpc/common.h>

#include <time.h>

const char *ttrpc_strerror(int err)
{
	switch (err) {
	case TTRPC_OK:
		return "success";
	case TTRPC_EINVAL:
		return "invalid argument";
	case TTRPC_ENOMEM:
		return "out of memory";
	case TTRPC_ESYS:
		return "system call failed";
	case TTRPC_ECLOSED:
		return "connection closed";
	case TTRPC_ETOOBIG:
		return "message exceeds maximum message size";
	case TTRPC_EPROTO:
		return "protocol error";
	case TTRPC_EEXIST:
		return "already exists";
	case TTRPC_ENOTFOUND:
		return "not found";
	case TTRPC_ESTATE:
		return "not allowed in this state";
	case TTRPC_EAGAIN:
		return "need more data";
	case TTRPC_ETLS:
		return "TLS setup failed";
	default:
		return "unknown error";
	}
}

static const char *const code_names[] = {
	"OK",	     "CANCELLED",	"UNKNOWN",	     "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS",	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED",   "OUT_OF_RANGE",	"UNIMPLEMENTED",     "INTERNAL",	   "UNAVAILABLE",
	"DATA_LOSS", "UNAUTHENTICATED",
};

const char *ttrpc_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
		return "UNKNOWN_CODE";
	return code_names[code];
}

int64_t ttrpc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
