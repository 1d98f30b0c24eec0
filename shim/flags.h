/* SPDX-License-Identifier: Apache-2.0 */
/* Command line of the shim binary, parsed with Go's flag package rules (what
 * containerd and its shims use): "-x v", "-x=v", "--x v", "--x=v"; bool flags
 * as "-debug" or "-debug=true|false|1|0|t|f"; parsing stops at "--" or at the
 * first non-flag word, which is the action. */
#ifndef SHIM_FLAGS_H
#define SHIM_FLAGS_H

#include <stdbool.h>

#include "error.h"

enum shim_action {
	SHIM_ACTION_SERVE = 0, /* no action word: serve on the socket start handed over */
	SHIM_ACTION_START,
	SHIM_ACTION_DELETE,
};

struct shim_flags {
	/* Strings point into argv. NULL when not given. */
	const char *namespace_;
	const char *address;
	const char *publish_binary;
	const char *id;
	const char *bundle;
	const char *socket; /* -socket: accepted for compatibility with containerd's shim flags */
	bool debug;
	bool version; /* -v: print the version and exit */
	bool info;    /* -info: options on stdin, a RuntimeInfo on stdout */
	bool help;    /* -h / -help */
	enum shim_action action;
};

/* Parse argv[1..argc-1] into flags. Unknown flags, missing values, bad bool
 * values and unknown action words give -EINVAL with INVALID_ARGUMENT and a
 * message in Go's words ("flag provided but not defined: -x"). */
int shim_flags_parse(struct shim_flags *flags, int argc, char *const argv[], struct shim_error *err);

/* "start", "delete" or "serve". */
const char *shim_action_name(enum shim_action action);

#endif
