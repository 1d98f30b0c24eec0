/* SPDX-License-Identifier: Apache-2.0 */
/* Raw frames and the few protobuf messages of ttrpc, written from PROTOCOL.md and
 * request.proto; deliberately shares no code with libttrpc. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conform.h"

int64_t cf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cf_buf_put(struct cf_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			perror("ttrpc-conform: realloc");
			exit(2);
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void cf_buf_free(struct cf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void cf_pb_varint(struct cf_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	cf_buf_put(b, tmp, n);
}

void cf_pb_bytes(struct cf_buf *b, uint32_t field, const void *p, size_t n)
{
	cf_pb_varint(b, (uint64_t)field << 3 | 2);
	cf_pb_varint(b, n);
	cf_buf_put(b, p, n);
}

void cf_pb_string(struct cf_buf *b, uint32_t field, const char *s)
{
	cf_pb_bytes(b, field, s, strlen(s));
}

void cf_pb_uint(struct cf_buf *b, uint32_t field, uint64_t v)
{
	cf_pb_varint(b, (uint64_t)field << 3);
	cf_pb_varint(b, v);
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t out = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t byte = *(*p)++;
		out |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*v = out;
			return 0;
		}
	}
	return -1;
}

int cf_pb_next(const uint8_t **p, const uint8_t *end, struct cf_pb_field *f)
{
	if (*p >= end)
		return 0;
	uint64_t key;
	if (read_varint(p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
		return -1;
	memset(f, 0, sizeof(*f));
	f->number = (uint32_t)(key >> 3);
	f->wire_type = (int)(key & 7);
	switch (f->wire_type) {
	case 0:
		return read_varint(p, end, &f->value) ? -1 : 1;
	case 1:
	case 5: {
		size_t n = f->wire_type == 1 ? 8 : 4;
		if ((size_t)(end - *p) < n)
			return -1;
		*p += n;
		return 1;
	}
	case 2: {
		uint64_t n;
		if (read_varint(p, end, &n) || n > (uint64_t)(end - *p))
			return -1;
		f->ptr = *p;
		f->len = (size_t)n;
		*p += n;
		return 1;
	}
	default:
		return -1;
	}
}

void cf_encode_request(struct cf_buf *b, const struct cf_req *r)
{
	if (r->service)
		cf_pb_string(b, 1, r->service);
	if (r->method)
		cf_pb_string(b, 2, r->method);
	if (r->has_payload || r->payload_len)
		cf_pb_bytes(b, 3, r->payload, r->payload_len);
	if (r->timeout_nano)
		cf_pb_uint(b, 4, (uint64_t)r->timeout_nano); /* int64: two's complement, 10 bytes if negative */
	for (size_t i = 0; i < r->n_md; i++) {
		struct cf_buf kv = { 0 };
		cf_pb_string(&kv, 1, r->md[i].key);
		cf_pb_string(&kv, 2, r->md[i].value);
		cf_pb_bytes(b, 5, kv.data, kv.len);
		cf_buf_free(&kv);
	}
}

void cf_encode_echo(struct cf_buf *b, const void *p, size_t n)
{
	if (n) /* proto3: an empty bytes field is not written */
		cf_pb_bytes(b, 1, p, n);
}

int cf_decode_echo(const uint8_t *p, size_t n, const uint8_t **data, size_t *data_len)
{
	const uint8_t *end = p + n;
	struct cf_pb_field f;
	int rc;
	*data = NULL;
	*data_len = 0;
	while ((rc = cf_pb_next(&p, end, &f)) == 1) {
		if (f.number == 1 && f.wire_type == 2) {
			*data = f.ptr;
			*data_len = f.len;
		}
	}
	return rc;
}

static int decode_status(const uint8_t *p, size_t n, struct cf_resp *r)
{
	const uint8_t *end = p + n;
	struct cf_pb_field f;
	int rc;
	while ((rc = cf_pb_next(&p, end, &f)) == 1) {
		if (f.number == 1 && f.wire_type == 0)
			r->code = (int32_t)f.value;
		if (f.number == 2 && f.wire_type == 2) {
			size_t m = f.len < sizeof(r->message) - 1 ? f.len : sizeof(r->message) - 1;
			memcpy(r->message, f.ptr, m);
			r->message[m] = 0;
		}
	}
	return rc;
}

int cf_decode_response(const uint8_t *p, size_t n, struct cf_resp *r)
{
	memset(r, 0, sizeof(*r));
	const uint8_t *end = p + n;
	struct cf_pb_field f;
	int rc;
	while ((rc = cf_pb_next(&p, end, &f)) == 1) {
		if (f.number == 1 && f.wire_type == 2) {
			r->has_status = true;
			if (decode_status(f.ptr, f.len, r))
				return -1;
		} else if (f.number == 2 && f.wire_type == 2) {
			r->has_payload = true;
			r->payload = f.ptr;
			r->payload_len = f.len;
		}
	}
	return rc;
}

void cf_frame_free(struct cf_frame *f)
{
	free(f->payload);
	f->payload = NULL;
}

size_t cf_put_header(uint8_t *out, uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags)
{
	out[0] = (uint8_t)(length >> 24);
	out[1] = (uint8_t)(length >> 16);
	out[2] = (uint8_t)(length >> 8);
	out[3] = (uint8_t)length;
	out[4] = (uint8_t)(stream_id >> 24);
	out[5] = (uint8_t)(stream_id >> 16);
	out[6] = (uint8_t)(stream_id >> 8);
	out[7] = (uint8_t)stream_id;
	out[8] = type;
	out[9] = flags;
	return CF_HEADER;
}

int cf_connect(struct cf_conn *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;
		close(c->fd);
		c->fd = -1;
		return -err;
	}
	return 0;
}

int cf_listen(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

void cf_close(struct cf_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	cf_buf_free(&c->in);
}

void cf_reset(struct cf_conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	if (c->fd >= 0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cf_close(c);
}

int cf_write(struct cf_conn *c, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t w = send(c->fd, q, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int cf_send_frame(struct cf_conn *c, uint32_t stream_id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
	struct cf_buf b = { 0 };
	uint8_t h[CF_HEADER];
	cf_put_header(h, (uint32_t)n, stream_id, type, flags);
	cf_buf_put(&b, h, sizeof(h));
	cf_buf_put(&b, p, n);
	int rc = cf_write(c, b.data, b.len);
	cf_buf_free(&b);
	return rc;
}

int cf_send_request(struct cf_conn *c, uint32_t stream_id, uint8_t flags, const struct cf_req *r)
{
	struct cf_buf b = { 0 };
	cf_encode_request(&b, r);
	int rc = cf_send_frame(c, stream_id, CF_REQUEST, flags, b.data, b.len);
	cf_buf_free(&b);
	return rc;
}

int cf_send_echo(struct cf_conn *c, uint32_t stream_id, const void *p, size_t n)
{
	struct cf_buf m = { 0 };
	cf_encode_echo(&m, p, n);
	struct cf_req r = { .service = "ttrpc.bench.v1.Bench",
			    .method = "Echo",
			    .payload = m.data,
			    .payload_len = m.len,
			    .has_payload = true };
	int rc = cf_send_request(c, stream_id, 0, &r);
	cf_buf_free(&m);
	return rc;
}

/* Takes one whole frame out of c->in if there is one. */
static int take_frame(struct cf_conn *c, struct cf_frame *f)
{
	if (c->in.len < CF_HEADER)
		return 0;
	const uint8_t *h = c->in.data;
	uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (len > 4 * CF_MAX_PAYLOAD)
		return -2;
	if (c->in.len < CF_HEADER + (size_t)len)
		return 0;
	f->length = len;
	f->stream_id = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	f->type = h[8];
	f->flags = h[9];
	f->payload = malloc(len ? len : 1);
	if (!f->payload) {
		perror("ttrpc-conform: malloc");
		exit(2);
	}
	memcpy(f->payload, h + CF_HEADER, len);
	memmove(c->in.data, c->in.data + CF_HEADER + len, c->in.len - CF_HEADER - len);
	c->in.len -= CF_HEADER + len;
	return 1;
}

int cf_recv(struct cf_conn *c, struct cf_frame *f, int timeout_ms)
{
	int64_t deadline = cf_now_ms() + timeout_ms;
	memset(f, 0, sizeof(*f));
	for (;;) {
		int rc = take_frame(c, f);
		if (rc)
			return rc;
		if (c->fd < 0)
			return -1;
		int64_t left = deadline - cf_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr <= 0)
			continue;
		uint8_t tmp[65536];
		ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		cf_buf_put(&c->in, tmp, (size_t)n);
	}
}

bool cf_wait_closed(struct cf_conn *c, int timeout_ms)
{
	int64_t deadline = cf_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - cf_now_ms();
		if (left <= 0)
			return false;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr <= 0)
			continue;
		uint8_t tmp[65536];
		ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			return true;
	}
}
