/* SPDX-License-Identifier: Apache-2.0 */
/* Raw-socket helpers for the hardening suites: hand-written frames and
 * protobuf, and /proc readings of a process. Nothing here asserts: the
 * helpers run in forked peers too, and return -1 on failure. Header-only. */
#ifndef TTRPC_TEST_RAWPEER_H
#define TTRPC_TEST_RAWPEER_H

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Connect to a unix socket path; -1 on failure. */
static inline int rp_dial(const char *path, int nonblock)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline int64_t rp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write everything, waiting at most timeout_ms for the socket in total. */
static inline int rp_send_all(int fd, const void *p, size_t n, int timeout_ms)
{
	const uint8_t *b = p;
	int64_t end = rp_now_ms() + timeout_ms;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		int64_t left = end - rp_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (left <= 0 || poll(&pfd, 1, (int)left) < 0)
			return -1;
	}
	return 0;
}

/* Read exactly n bytes within timeout_ms; -1 on EOF, error or timeout. */
static inline int rp_recv_all(int fd, void *p, size_t n, int timeout_ms)
{
	uint8_t *b = p;
	int64_t end = rp_now_ms() + timeout_ms;
	while (n) {
		int64_t left = end - rp_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return -1;
		ssize_t r = recv(fd, b, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static inline void rp_header(uint8_t h[10], uint32_t len, uint32_t id, uint8_t type, uint8_t flags)
{
	uint8_t v[10] = {
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, (uint8_t)(id >> 24),
		(uint8_t)(id >> 16),  (uint8_t)(id >> 8),   (uint8_t)id,	 type,	       flags
	};
	memcpy(h, v, 10);
}

static inline int rp_send_frame(int fd, uint32_t id, uint8_t type, const void *payload, size_t len)
{
	uint8_t h[10];
	rp_header(h, (uint32_t)len, id, type, 0);
	if (rp_send_all(fd, h, 10, 5000))
		return -1;
	return len ? rp_send_all(fd, payload, len, 5000) : 0;
}

/* A tiny protobuf writer: enough for ttrpc.Request and ttrpc.Response. */
struct rp_pb {
	uint8_t *p;
	size_t len, cap;
};

static inline void rp_pb_room(struct rp_pb *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	b->cap = (b->len + n) * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		abort();
}

static inline void rp_pb_varint(struct rp_pb *b, uint64_t v)
{
	rp_pb_room(b, 10);
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		b->p[b->len++] = c | (v ? 0x80 : 0);
	} while (v);
}

static inline void rp_pb_bytes(struct rp_pb *b, int field, const void *data, size_t n)
{
	rp_pb_varint(b, (uint64_t)field << 3 | 2);
	rp_pb_varint(b, n);
	rp_pb_room(b, n);
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline struct rp_pb rp_request(const char *service, const char *method, const void *payload, size_t n)
{
	struct rp_pb b = { 0 };
	rp_pb_bytes(&b, 1, service, strlen(service));
	rp_pb_bytes(&b, 2, method, strlen(method));
	if (n)
		rp_pb_bytes(&b, 3, payload, n);
	return b;
}

/* Response{status{code, message}} or Response{payload}. */
static inline struct rp_pb rp_response(int code, const char *message, const void *payload, size_t n)
{
	struct rp_pb b = { 0 };
	if (code) {
		struct rp_pb st = { 0 };
		rp_pb_varint(&st, 1 << 3 | 0);
		rp_pb_varint(&st, (uint64_t)code);
		rp_pb_bytes(&st, 2, message, strlen(message));
		rp_pb_bytes(&b, 1, st.p, st.len);
		free(st.p);
	} else if (n) {
		rp_pb_bytes(&b, 2, payload, n);
	}
	return b;
}

static inline uint32_t rp_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline int rp_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

struct rp_reply {
	uint32_t id;
	uint8_t type;
	int code;
	char message[256];
	uint8_t *payload; /* malloc'd, or NULL */
	size_t len;
};

/* Decode a ttrpc.Response body by hand; -1 when malformed. */
static inline int rp_decode_reply(const uint8_t *body, uint32_t len, struct rp_reply *r)
{
	const uint8_t *p = body, *end = body + len;
	while (p < end) {
		uint64_t key, n;
		if (rp_varint(&p, end, &key) || (key & 7) != 2 || rp_varint(&p, end, &n) || n > (uint64_t)(end - p))
			return -1;
		if (key >> 3 == 1) {
			const uint8_t *q = p, *qend = p + n;
			while (q < qend) {
				uint64_t k, v;
				if (rp_varint(&q, qend, &k) || rp_varint(&q, qend, &v))
					return -1;
				if (k == (1 << 3 | 0)) {
					r->code = (int)v;
				} else if ((k & 7) == 2 && v <= (uint64_t)(qend - q)) {
					if (k >> 3 == 2)
						snprintf(r->message, sizeof(r->message), "%.*s", (int)v,
							 (const char *)q);
					q += v;
				} else {
					return -1;
				}
			}
		} else if (key >> 3 == 2) {
			free(r->payload);
			r->payload = malloc(n + 1);
			memcpy(r->payload, p, n);
			r->len = n;
		}
		p += n;
	}
	return 0;
}

/* Read one frame within timeout_ms and decode it as a Response. */
static inline int rp_read_reply(int fd, struct rp_reply *r, int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	uint8_t h[10];
	if (rp_recv_all(fd, h, 10, timeout_ms))
		return -1;
	uint32_t len = rp_be32(h);
	if (len > (4u << 20))
		return -1;
	r->id = rp_be32(h + 4);
	r->type = h[8];
	uint8_t *body = malloc(len + 1);
	int rc = rp_recv_all(fd, body, len, timeout_ms) || rp_decode_reply(body, len, r) ? -1 : 0;
	free(body);
	return rc;
}

/* One frame taken off the front of a receive buffer. */
struct rp_frame {
	uint32_t id;
	uint8_t type, flags;
	uint8_t *body; /* malloc'd, NUL-terminated */
	uint32_t len;
};

/* Take the first whole frame of in[0..*in_len) into f (the rest moves to
 * the front); 0 when no whole frame is there yet. */
static inline int rp_take_frame(uint8_t *in, size_t *in_len, struct rp_frame *f)
{
	if (*in_len < 10)
		return 0;
	uint32_t len = rp_be32(in);
	if (*in_len < 10 + (size_t)len)
		return 0;
	memset(f, 0, sizeof(*f));
	f->len = len;
	f->id = rp_be32(in + 4);
	f->type = in[8];
	f->flags = in[9];
	f->body = malloc(len + 1);
	if (!f->body)
		abort();
	memcpy(f->body, in + 10, len);
	f->body[len] = 0;
	memmove(in, in + 10 + len, *in_len - 10 - len);
	*in_len -= 10 + len;
	return 1;
}

/* A peer's receive side: bytes read from fd, not yet taken as frames. */
struct rp_in {
	int fd;
	uint8_t *buf;
	size_t len, cap;
};

/* Next whole frame from in->fd within timeout_ms (0 when none came); pump
 * (may be NULL) runs between reads, e.g. one turn of the loop under test. */
static inline int rp_next_frame(struct rp_in *in, struct rp_frame *f, int timeout_ms, void (*pump)(void *), void *arg)
{
	int64_t end = rp_now_ms() + timeout_ms;
	for (;;) {
		if (rp_take_frame(in->buf, &in->len, f))
			return 1;
		if (pump)
			pump(arg);
		ssize_t r = recv(in->fd, in->buf + in->len, in->cap - in->len, MSG_DONTWAIT);
		if (r > 0) {
			in->len += (size_t)r;
			continue;
		}
		if (rp_now_ms() >= end)
			return 0;
		poll(NULL, 0, 1);
	}
}

/* Resident set size (VmRSS) or its peak (VmHWM) of pid in KiB; -1 if gone. */
static inline long rp_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long kib = -1;
	size_t flen = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':')
			kib = atol(line + flen + 1);
	fclose(f);
	return kib;
}

/* Open file descriptors of pid; -1 if gone. */
static inline int rp_fd_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif
