/* SPDX-License-Identifier: Apache-2.0 */
/* A growable string the generator writes its output into. */
#ifndef TTRPC_CODEGEN_SB_H
#define TTRPC_CODEGEN_SB_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define SB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SB_PRINTF(fmt, args)
#endif

struct sb {
	char *data; /* always NUL-terminated once anything was written */
	size_t len;
	size_t cap;
};

/* Append printf-style text. Out of memory ends the plugin (exit 1). */
void sb_printf(struct sb *sb, const char *fmt, ...) SB_PRINTF(2, 3);
void sb_vprintf(struct sb *sb, const char *fmt, va_list ap) SB_PRINTF(2, 0);
/* Append a string as is. */
void sb_puts(struct sb *sb, const char *s);
/* Hand the text over to the caller (free() it) and reset sb. Never NULL. */
char *sb_take(struct sb *sb);
void sb_free(struct sb *sb);

/* malloc/strdup that end the plugin when memory runs out. */
void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) SB_PRINTF(1, 2);

#endif
