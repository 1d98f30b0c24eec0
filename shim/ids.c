/* SPDX-License-Identifier: Apache-2.0 */
#include "ids.h"

#include "address.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_separator(char c)
{
	return c == '.' || c == '_' || c == '-';
}

int shim_id_validate(const char *what, const char *id, struct shim_error *err)
{
	size_t len, i;

	if (!what)
		what = "identifier";
	if (!id || !id[0])
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s must not be empty", what);
	len = strnlen(id, SHIM_ID_MAX + 1);
	if (len > SHIM_ID_MAX)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s %.*s... greater than maximum length (%d characters)", what, SHIM_ID_MAX, id,
				      SHIM_ID_MAX);
	/* Every separator must sit between two alphanumerics. */
	for (i = 0; i < len; i++) {
		if (is_alnum(id[i]))
			continue;
		if (is_separator(id[i]) && i > 0 && is_alnum(id[i - 1]) && i + 1 < len && is_alnum(id[i + 1]))
			continue;
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s \"%s\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$", what, id);
	}
	return 0;
}

int shim_abs_path_validate(const char *what, const char *path, struct shim_error *err)
{
	char clean[PATH_MAX];
	size_t len, i;

	if (!what)
		what = "path";
	if (!path || !path[0])
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s must not be empty", what);
	len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG,
				      "%s is longer than %d characters", what, PATH_MAX - 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x20 || c == 0x7f)
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "%s \"%.*s\": control character 0x%02x at offset %zu", what, (int)i, path,
					      c, i);
	}
	if (path[0] != '/')
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s \"%s\" must be an absolute path",
				      what, path);
	if (shim_path_clean(path, clean, sizeof(clean)) < 0 || strcmp(clean, path) != 0)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s \"%s\" must be a clean path (no \"//\", \".\" or \"..\" component, no "
				      "trailing \"/\")",
				      what, path);
	return 0;
}
