/* SPDX-License-Identifier: Apache-2.0 */
#include "names.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

char *names_snake(const char *name)
{
	struct sb sb = { 0 };
	size_t i;

	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (is_upper(c) && i > 0 && name[i - 1] != '_' &&
		    (is_lower_or_digit(name[i - 1]) || (is_upper(name[i - 1]) && is_lower_or_digit(name[i + 1]))))
			sb_puts(&sb, "_");
		sb_printf(&sb, "%c", (char)tolower((unsigned char)c));
	}
	return sb_take(&sb);
}

char *names_prefix(const char *package, const char *service)
{
	struct sb sb = { 0 };
	char *svc = names_snake(service);
	const char *p = package ? package : "";

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char *part = xmalloc(n + 1);
		char *snake;

		memcpy(part, p, n);
		part[n] = '\0';
		snake = names_snake(part);
		sb_printf(&sb, "%s_", snake);
		free(snake);
		free(part);
		p += n;
		if (*p == '.')
			p++;
	}
	sb_puts(&sb, svc);
	free(svc);
	return sb_take(&sb);
}

char *names_upper(const char *name)
{
	char *s = xstrdup(name);
	char *p;

	for (p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return s;
}

/* C11 keywords, plus lower-case names the standard headers we include may
 * define as macros. */
static const char *const reserved[] = {
	"auto",		 "break",    "case",	  "char",	  "const", "continue", "default", "do",	     "double",
	"else",		 "enum",     "extern",	  "float",	  "for",   "goto",     "if",	  "inline",  "int",
	"long",		 "register", "restrict",  "return",	  "short", "signed",   "sizeof",  "static",  "struct",
	"switch",	 "typedef",  "union",	  "unsigned",	  "void",  "volatile", "while",	  "bool",    "true",
	"false",	 "errno",    "assert",	  "linux",	  "unix",  "offsetof", "alignas", "alignof", "noreturn",
	"static_assert", "complex",  "imaginary", "thread_local", NULL,
};

char *names_member(const char *snake)
{
	size_t i;

	for (i = 0; reserved[i]; i++)
		if (strcmp(reserved[i], snake) == 0)
			return xasprintf("%s_", snake);
	return xstrdup(snake);
}

/* Calls fn on each dot-separated component of a full name, skipping the
 * leading dot, joining the results with sep. */
static char *map_components(const char *full_name, const char *sep, void (*fn)(struct sb *sb, const char *s, size_t n))
{
	struct sb sb = { 0 };
	const char *p = full_name;
	bool first = true;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n) {
			if (!first)
				sb_puts(&sb, sep);
			fn(&sb, p, n);
			first = false;
		}
		p += n;
		if (*p == '.')
			p++;
	}
	return sb_take(&sb);
}

/* protobuf-c's ToCamel: upper-case the first letter and each letter after an
 * underscore, drop the underscores. */
static void pbc_camel(struct sb *sb, const char *s, size_t n)
{
	bool up = true;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '_') {
			up = true;
			continue;
		}
		sb_printf(sb, "%c", up ? (char)toupper((unsigned char)s[i]) : s[i]);
		up = false;
	}
}

/* protobuf-c's CamelToLower: an underscore before each upper-case letter that
 * does not follow another upper-case letter, everything lower-cased. */
static void pbc_lower(struct sb *sb, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && is_upper(s[i]) && !is_upper(s[i - 1]))
			sb_puts(sb, "_");
		sb_printf(sb, "%c", (char)tolower((unsigned char)s[i]));
	}
}

static void verbatim(struct sb *sb, const char *s, size_t n)
{
	sb_printf(sb, "%.*s", (int)n, s);
}

char *names_pbc_type(const char *full_name)
{
	return map_components(full_name, "__", pbc_camel);
}

char *names_pbc_lower(const char *full_name)
{
	return map_components(full_name, "__", pbc_lower);
}

char *names_nanopb_type(const char *full_name)
{
	return map_components(full_name, "_", verbatim);
}

char *names_guard(const char *proto_path)
{
	struct sb sb = { 0 };
	const char *p;

	sb_puts(&sb, "TTRPC_C_");
	for (p = proto_path; *p; p++)
		sb_printf(&sb, "%c", isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
	sb_puts(&sb, "_H");
	return sb_take(&sb);
}

char *names_strip_proto(const char *proto_path)
{
	size_t n = strlen(proto_path);
	char *s = xstrdup(proto_path);

	if (n > 6 && strcmp(proto_path + n - 6, ".proto") == 0)
		s[n - 6] = '\0';
	return s;
}

bool names_is_ident(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}
