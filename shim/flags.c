/* SPDX-License-Identifier: Apache-2.0 */
#include "flags.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct flag_def {
	const char *name;
	size_t string_offset; /* offset of the const char * field, for string flags */
	size_t bool_offset;   /* offset of the bool field, for bool flags */
	bool is_bool;
};

#define STRING_FLAG(n, field)                                   \
	{                                                       \
		n, offsetof(struct shim_flags, field), 0, false \
	}
#define BOOL_FLAG(n, field)                                    \
	{                                                      \
		n, 0, offsetof(struct shim_flags, field), true \
	}

static const struct flag_def flag_defs[] = {
	STRING_FLAG("namespace", namespace_),
	STRING_FLAG("address", address),
	STRING_FLAG("publish-binary", publish_binary),
	STRING_FLAG("id", id),
	STRING_FLAG("bundle", bundle),
	STRING_FLAG("socket", socket),
	BOOL_FLAG("debug", debug),
	BOOL_FLAG("v", version),
	BOOL_FLAG("info", info),
	BOOL_FLAG("h", help),
	BOOL_FLAG("help", help),
};

static const struct flag_def *find_flag(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++)
		if (strlen(flag_defs[i].name) == len && !strncmp(flag_defs[i].name, name, len))
			return &flag_defs[i];
	return NULL;
}

/* strconv.ParseBool's accepted spellings. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_action(struct shim_flags *flags, const char *word, struct shim_error *err)
{
	if (!strcmp(word, "start"))
		flags->action = SHIM_ACTION_START;
	else if (!strcmp(word, "delete"))
		flags->action = SHIM_ACTION_DELETE;
	else
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "unknown action \"%s\" (want start, delete or none to serve)", word);
	return 0;
}

/* One flag at argv[*i]; advances *i past a separate value. */
static int parse_one(struct shim_flags *flags, int argc, char *const argv[], int *i, struct shim_error *err)
{
	const char *arg = argv[*i];
	const char *name = arg + 1, *eq, *value = NULL;
	const struct flag_def *def;
	size_t name_len;

	if (name[0] == '-')
		name++;
	if (!name[0] || name[0] == '-' || name[0] == '=')
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "bad flag syntax: %s", arg);
	eq = strchr(name, '=');
	name_len = eq ? (size_t)(eq - name) : strlen(name);
	if (eq)
		value = eq + 1;
	def = find_flag(name, name_len);
	if (!def)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "flag provided but not defined: -%.*s",
				      (int)name_len, name);
	if (def->is_bool) {
		bool b = true;

		if (value && parse_bool(value, &b) < 0)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "invalid boolean value \"%s\" for -%s: parse error", value, def->name);
		*(bool *)((char *)flags + def->bool_offset) = b;
		return 0;
	}
	if (!value) {
		/* Go takes the next word whatever it looks like. */
		if (*i + 1 >= argc)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "flag needs an argument: -%s",
					      def->name);
		value = argv[++*i];
	}
	*(const char **)((char *)flags + def->string_offset) = value;
	return 0;
}

int shim_flags_parse(struct shim_flags *flags, int argc, char *const argv[], struct shim_error *err)
{
	int i, ret;

	memset(flags, 0, sizeof(*flags));
	flags->action = SHIM_ACTION_SERVE;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		ret = parse_one(flags, argc, argv, &i, err);
		if (ret < 0)
			return ret;
	}
	if (i < argc)
		return parse_action(flags, argv[i], err);
	return 0;
}

const char *shim_action_name(enum shim_action action)
{
	switch (action) {
	case SHIM_ACTION_START:
		return "start";
	case SHIM_ACTION_DELETE:
		return "delete";
	case SHIM_ACTION_SERVE:
	default:
		return "serve";
	}
}
