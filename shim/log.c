/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_PER_SEC 1000000000LL

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

const char *shim_log_level_name(int level)
{
	switch (level) {
	case SHIM_LOG_ERROR:
		return "error";
	case SHIM_LOG_WARN:
		return "warning";
	case SHIM_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Output buffer that stops at its end, keeping room for the `..."` + newline tail. */
struct line {
	char *buf;
	size_t size, len;
	bool full;
};

#define LINE_TAIL 6

static void put(struct line *l, const char *s, size_t n)
{
	if (l->full)
		return;
	if (l->len + n + LINE_TAIL > l->size) {
		l->full = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static bool needs_quoting(const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+'))
			return true;
	}
	return false;
}

/* Length of the valid UTF-8 sequence at s (2-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned int cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Go's %q for the bytes of s: \" \\ \a \b \f \n \r \t \v, \xNN for other control
 * bytes and invalid UTF-8, \u00NN for C1 controls; valid UTF-8 stays as is. */
static void put_quoted(struct line *l, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];

	put(l, "\"", 1);
	while (*s && !l->full) {
		size_t n;

		switch (*s) {
		case '"':
			put(l, "\\\"", 2);
			break;
		case '\\':
			put(l, "\\\\", 2);
			break;
		case '\a':
			put(l, "\\a", 2);
			break;
		case '\b':
			put(l, "\\b", 2);
			break;
		case '\f':
			put(l, "\\f", 2);
			break;
		case '\n':
			put(l, "\\n", 2);
			break;
		case '\r':
			put(l, "\\r", 2);
			break;
		case '\t':
			put(l, "\\t", 2);
			break;
		case '\v':
			put(l, "\\v", 2);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				snprintf(esc, sizeof(esc), "\\x%02x", *s);
				put(l, esc, 4);
			} else if (*s < 0x80) {
				put(l, (const char *)s, 1);
			} else if ((n = utf8_len(s)) == 0) {
				snprintf(esc, sizeof(esc), "\\x%02x", *s);
				put(l, esc, 4);
			} else {
				if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0) {
					snprintf(esc, sizeof(esc), "\\u%04x", s[1]);
					put(l, esc, 6);
				} else {
					put(l, (const char *)s, n);
				}
				s += n;
				continue;
			}
		}
		s++;
	}
	put(l, "\"", 1);
}

static void put_value(struct line *l, const char *v)
{
	if (needs_quoting(v))
		put_quoted(l, v);
	else
		puts_(l, v);
}

struct field {
	const char *key, *value;
};

static int field_cmp(const void *a, const void *b)
{
	return strcmp(((const struct field *)a)->key, ((const struct field *)b)->key);
}

static size_t collect(struct field *fields, size_t n, const char *const *kv)
{
	for (; kv && kv[0] && kv[1] && n < SHIM_LOG_MAX_FIELDS; kv += 2) {
		fields[n].key = kv[0];
		fields[n].value = kv[1];
		n++;
	}
	return n;
}

size_t shim_log_format(char *buf, size_t size, const struct timespec *when, int level, const char *msg,
		       const char *const *base, const char *const *kv)
{
	struct field fields[SHIM_LOG_MAX_FIELDS];
	struct line l = { buf, size, 0, false };
	char stamp[64];
	struct tm tm;
	size_t n, i;

	gmtime_r(&when->tv_sec, &tm);
	n = strftime(stamp, sizeof(stamp), "time=\"%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%09ldZ\" level=", when->tv_nsec);
	puts_(&l, stamp);
	puts_(&l, shim_log_level_name(level));
	if (msg && msg[0]) {
		puts_(&l, " msg=");
		put_value(&l, msg);
	}
	n = collect(fields, collect(fields, 0, base), kv);
	qsort(fields, n, sizeof(fields[0]), field_cmp);
	for (i = 0; i < n; i++) {
		put(&l, " ", 1);
		puts_(&l, fields[i].key);
		put(&l, "=", 1);
		put_value(&l, fields[i].value);
	}
	if (l.full) {
		/* The tail room put() kept free always fits this. */
		memcpy(l.buf + l.len, "...\"", 4);
		l.len += 4;
	}
	l.buf[l.len++] = '\n';
	l.buf[l.len] = '\0';
	return l.len;
}

static void try_open(struct shim_log *log, int64_t now)
{
	if (log->fd >= 0 || !log->path[0] || now < log->next_open_ns)
		return;
	log->fd = open(log->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (log->fd < 0)
		log->next_open_ns = now + log->retry_ns;
}

void shim_log_init(struct shim_log *log, const char *fifo_path, int fallback_fd, bool debug)
{
	memset(log, 0, sizeof(*log));
	log->fd = -1;
	log->fallback_fd = fallback_fd;
	log->debug = debug;
	log->retry_ns = NS_PER_SEC;
	if (fifo_path)
		snprintf(log->path, sizeof(log->path), "%s", fifo_path);
	try_open(log, monotonic_ns());
}

void shim_log_close(struct shim_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	log->path[0] = '\0';
}

/* One write of a whole line: true when it went out. */
static bool emit(struct shim_log *log, const char *line, size_t len)
{
	ssize_t n;

	try_open(log, monotonic_ns());
	if (log->fd >= 0) {
		do
			n = write(log->fd, line, len);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)len)
			return true;
		if (n < 0 && errno != EAGAIN) {
			/* EPIPE: the reader went away (containerd restarted); reopen later. */
			close(log->fd);
			log->fd = -1;
		}
		return false;
	}
	if (log->fallback_fd >= 0) {
		do
			n = write(log->fallback_fd, line, len);
		while (n < 0 && errno == EINTR);
		return n == (ssize_t)len;
	}
	return false;
}

void shim_log_kv(struct shim_log *log, int level, const char *msg, const char *const *kv)
{
	char line[SHIM_LOG_LINE_MAX];
	struct timespec now;
	size_t len;

	if (!log || (level >= SHIM_LOG_DEBUG && !log->debug))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (log->dropped) {
		char count[32], notice[128];
		const char *fields[] = { "count", count, NULL };

		snprintf(count, sizeof(count), "%llu", (unsigned long long)log->dropped);
		len = shim_log_format(notice, sizeof(notice), &now, SHIM_LOG_WARN, "log lines dropped", log->base,
				      fields);
		if (len < sizeof(notice) - 1 && emit(log, notice, len))
			log->dropped = 0;
	}
	len = shim_log_format(line, sizeof(line), &now, level, msg, log->base, kv);
	if (!emit(log, line, len))
		log->dropped++;
}

void shim_logf(struct shim_log *log, int level, const char *fmt, ...)
{
	char msg[SHIM_LOG_LINE_MAX];
	va_list ap;

	if (!log || (level >= SHIM_LOG_DEBUG && !log->debug))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shim_log_kv(log, level, msg, NULL);
}

void shim_log_ttrpc(void *user, int level, const char *msg)
{
	static const int map[] = { SHIM_LOG_ERROR, SHIM_LOG_WARN, SHIM_LOG_INFO, SHIM_LOG_DEBUG };
	const char *const fields[] = { "component", "ttrpc", NULL };

	shim_log_kv(user, level >= 0 && level <= 3 ? map[level] : SHIM_LOG_DEBUG, msg, fields);
}
