/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-conform: checks a ttrpc peer by speaking raw frames. Everything here is
 * independent of libttrpc (own frames, own protobuf), so it checks us too. */
#ifndef TTRPC_CONFORM_H
#define TTRPC_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CF_HEADER 10
#define CF_MAX_PAYLOAD (4u << 20) /* PROTOCOL.md: 4 MB; Go channel.go messageLengthMax */

enum {
	CF_REQUEST = 1,
	CF_RESPONSE = 2,
	CF_DATA = 3
};
enum {
	CF_REMOTE_CLOSED = 1,
	CF_REMOTE_OPEN = 2,
	CF_NO_DATA = 4
};
enum {
	CF_OK = 0,
	CF_INVALID_ARGUMENT = 3,
	CF_DEADLINE_EXCEEDED = 4,
	CF_RESOURCE_EXHAUSTED = 8,
	CF_UNIMPLEMENTED = 12
};

/* --- growable byte buffer and protobuf writing --- */
struct cf_buf {
	uint8_t *data;
	size_t len, cap;
};
void cf_buf_put(struct cf_buf *b, const void *p, size_t n);
void cf_buf_free(struct cf_buf *b);
void cf_pb_varint(struct cf_buf *b, uint64_t v);
void cf_pb_bytes(struct cf_buf *b, uint32_t field, const void *p, size_t n);
void cf_pb_string(struct cf_buf *b, uint32_t field, const char *s);
void cf_pb_uint(struct cf_buf *b, uint32_t field, uint64_t v);

/* One field read from a protobuf message. */
struct cf_pb_field {
	uint32_t number;
	int wire_type;
	uint64_t value;	    /* varint and fixed */
	const uint8_t *ptr; /* length-delimited */
	size_t len;
};
/* 1: a field, 0: end of message, -1: malformed. */
int cf_pb_next(const uint8_t **p, const uint8_t *end, struct cf_pb_field *f);

struct cf_kv {
	const char *key, *value;
};
/* A ttrpc Request (request.proto). Fields left NULL / 0 are not written. */
struct cf_req {
	const char *service, *method;
	const uint8_t *payload;
	size_t payload_len;
	bool has_payload;
	int64_t timeout_nano;
	const struct cf_kv *md;
	size_t n_md;
};
void cf_encode_request(struct cf_buf *b, const struct cf_req *r);
/* ttrpc.bench.v1.EchoMessage { bytes payload = 1; } */
void cf_encode_echo(struct cf_buf *b, const void *p, size_t n);
int cf_decode_echo(const uint8_t *p, size_t n, const uint8_t **data, size_t *data_len);

struct cf_resp {
	bool has_status;
	int32_t code;
	char message[256];
	const uint8_t *payload;
	size_t payload_len;
	bool has_payload;
};
int cf_decode_response(const uint8_t *p, size_t n, struct cf_resp *r);

/* --- frames over a unix socket --- */
struct cf_frame {
	uint32_t length, stream_id;
	uint8_t type, flags;
	uint8_t *payload; /* malloc'd, length bytes */
};
void cf_frame_free(struct cf_frame *f);
size_t cf_put_header(uint8_t *out, uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags);

struct cf_conn {
	int fd;
	struct cf_buf in;
};
int cf_connect(struct cf_conn *c, const char *path); /* 0 or -errno */
int cf_listen(const char *path);		     /* a listening socket at path, or -errno */
void cf_close(struct cf_conn *c);
void cf_reset(struct cf_conn *c);			  /* close with RST (SO_LINGER 0) */
int cf_write(struct cf_conn *c, const void *p, size_t n); /* 0 or -errno */
int cf_send_frame(struct cf_conn *c, uint32_t stream_id, uint8_t type, uint8_t flags, const void *p, size_t n);
int cf_send_request(struct cf_conn *c, uint32_t stream_id, uint8_t flags, const struct cf_req *r);
int cf_send_echo(struct cf_conn *c, uint32_t stream_id, const void *p, size_t n);
/* 1: a frame, 0: timed out, -1: connection closed by the peer (EOF/reset), -2: frame
 * longer than 16 MiB announced. */
int cf_recv(struct cf_conn *c, struct cf_frame *f, int timeout_ms);
/* 1 when the peer closed the connection within timeout_ms (frames meanwhile are dropped). */
bool cf_wait_closed(struct cf_conn *c, int timeout_ms);
int64_t cf_now_ms(void);

/* --- cases --- */
enum cf_verdict {
	CF_PASS,
	CF_FAIL,
	CF_SKIP
};
struct cf_ctx {
	const char *socket;
	pid_t pid;		  /* 0: unknown (resource cases are skipped) */
	int listen_fd;		  /* client mode: our listening socket at `socket` */
	char *const *client_argv; /* client mode: the client under test (NULL-terminated) */
};
struct cf_result {
	enum cf_verdict verdict;
	char seen[512];
};
typedef void (*cf_case_fn)(const struct cf_ctx *ctx, struct cf_result *r);
struct cf_case {
	const char *id;
	bool must; /* MUST (else SHOULD) */
	const char *rule;
	const char *ref;
	cf_case_fn fn;
};
extern const struct cf_case cf_server_cases[];
extern const size_t cf_n_server_cases;
extern const struct cf_case cf_stream_cases[];
extern const size_t cf_n_stream_cases;
extern const struct cf_case cf_client_cases[];
extern const size_t cf_n_client_cases;

void cf_pass(struct cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_fail(struct cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_skip(struct cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Short text of a frame: "Response sid=1 flags=0x0 code=12 'method Nope'". */
void cf_describe(const struct cf_frame *f, char *out, size_t n);

/* /proc of the process under test */
int cf_fd_count(pid_t pid); /* -1 when unknown */
long cf_rss_kib(pid_t pid); /* -1 when unknown */
bool cf_alive(pid_t pid);

#endif
