/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the shim's command line (flags.c). Input: NUL-separated
 * words, argv[1..]. Parsed strings must point into argv. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim/flags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

static bool in_argv(const char *p, char *const argv[], int argc)
{
	if (!p)
		return true;
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[MAX_WORDS + 2];
	int argc = 0;
	argv[argc++] = "containerd-shim-tiny-v2";
	for (char *p = buf; p <= buf + size && argc <= MAX_WORDS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	struct shim_flags f;
	struct shim_error err = { 0 };
	if (shim_flags_parse(&f, argc, argv, &err) == 0) {
		const char *s[] = { f.namespace_, f.address, f.publish_binary, f.id, f.bundle, f.socket };
		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
			if (!in_argv(s[i], argv, argc))
				__builtin_trap();
		if (strcmp(shim_action_name(f.action), "start") && strcmp(shim_action_name(f.action), "delete") &&
		    strcmp(shim_action_name(f.action), "serve"))
			__builtin_trap();
	} else if (err.code != TTRPC_CODE_INVALID_ARGUMENT || !err.msg[0]) {
		__builtin_trap();
	}
	free(buf);
	return 0;
}
