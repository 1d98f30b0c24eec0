/* SPDX-License-Identifier: Apache-2.0 */
/* The I/O-free ttrpc protocol engine: bytes in -> events out, calls in ->
 * bytes queued out. Owns the frame parser, the stream table and the
 * stream-id rules. Used by both ends of a connection. */
#ifndef TTRPC_SESSION_H
#define TTRPC_SESSION_H

#include <stdbool.h>

#include "buf.h"
#include "streams.h"
#include "wire.h"

enum ttrpc__role {
	TTRPC__ROLE_CLIENT,
	TTRPC__ROLE_SERVER,
};

struct ttrpc__session;

/* A request as read from the wire; valid during the on_request callback. */
struct ttrpc__request_in {
	const char *service;
	const char *method;
	const uint8_t *payload;
	size_t len;
	bool has_payload;	      /* the payload field was on the wire (maybe empty) */
	bool service_cut, method_cut; /* the name held a NUL: service/method is only its start */
	int64_t timeout_ns;
	uint8_t flags;		  /* frame flags (TTRPC__FLAG_REMOTE_OPEN / _CLOSED) */
	const Ttrpc__Request *pb; /* private: use ttrpc__request_in_md */
};

/* Number of metadata pairs of req, and a copy of them into md. */
size_t ttrpc__request_in_md_count(const struct ttrpc__request_in *req);
int ttrpc__request_in_md(const struct ttrpc__request_in *req, struct ttrpc_md *md);

struct ttrpc__session_cbs {
	/* Server: a valid request opened stream_id (its stream data is NULL: set
	 * it with ttrpc__session_set_stream_data). Answer with
	 * ttrpc__session_respond or, for streaming methods, ttrpc__session_send_data. */
	void (*on_request)(struct ttrpc__session *s, uint32_t stream_id, const struct ttrpc__request_in *req,
			   void *user);
	/* Server: one message (a Data frame without no-data) on an open stream.
	 * Returns 0; TTRPC_ESTATE when the stream takes no more data (the session
	 * fails it with INVALID_ARGUMENT, as Go); TTRPC_ETOOBIG when the stream's
	 * receive bound is exceeded (the session fails it with
	 * RESOURCE_EXHAUSTED). A failed stream is reported with on_reset. */
	int (*on_data)(struct ttrpc__session *s, uint32_t stream_id, void *stream_data, const uint8_t *msg, size_t len,
		       void *user);
	/* Server: the client closed its sending side (Data remote-closed). */
	void (*on_close_send)(struct ttrpc__session *s, uint32_t stream_id, void *stream_data, void *user);
	/* Server: the session failed an open stream and removed it; the status
	 * (code, message) is queued to the peer. */
	void (*on_reset)(struct ttrpc__session *s, uint32_t stream_id, void *stream_data, int code, const char *message,
			 void *user);
	/* Client: the answer of the stream opened with stream_data; r and its
	 * pointers are valid during the callback only. The stream is closed. */
	void (*on_response)(struct ttrpc__session *s, void *stream_data, const struct ttrpc__response_in *r,
			    void *user);
	/* Client: a Data frame on a stream opened with stream_data, as Go 1.2's
	 * client reads it: msg/len is a message unless the frame is the end
	 * without data (remote-closed|no-data: msg NULL); end says the server
	 * closed the stream (it is removed). */
	void (*on_stream_data)(struct ttrpc__session *s, void *stream_data, const uint8_t *msg, size_t len, bool end,
			       void *user);
	/* Diagnostics (optional). */
	void (*on_log)(void *user, int level, const char *msg);
};

struct ttrpc__session {
	enum ttrpc__role role;
	struct ttrpc__session_cbs cbs;
	void *user;
	uint32_t max_message;

	/* receive state */
	uint8_t hdr[TTRPC__FRAME_HEADER_SIZE];
	size_t hdr_have;
	bool in_frame; /* header read, payload pending */
	struct ttrpc__frame_header cur;
	uint32_t payload_have;	   /* bytes of cur's payload seen */
	struct ttrpc__buf payload; /* partial payload (unless discarding) */
	bool discarding;	   /* oversized: skip the payload */
	bool halted;		   /* the owner closed: ignore further input */

	uint32_t last_stream_id; /* server: highest accepted; client: last used */
	struct ttrpc__streams streams;
	struct ttrpc__buf out; /* bytes to send */
	uint64_t out_total;    /* bytes ever queued to out */
	uint64_t sent_total;   /* of them, bytes consumed by ttrpc__session_sent */
};

void ttrpc__session_init(struct ttrpc__session *s, enum ttrpc__role role, const struct ttrpc__session_cbs *cbs,
			 void *user);
/* Release buffers and the stream table (its data pointers are not touched:
 * drain them with ttrpc__session_pop_stream first). */
void ttrpc__session_destroy(struct ttrpc__session *s);

/* Feed received bytes; every byte is consumed. Callbacks run from inside.
 * Returns 0, or TTRPC_ENOMEM (the session is then unusable). */
int ttrpc__session_recv(struct ttrpc__session *s, const uint8_t *in, size_t len);

/* Client: queue a request on a fresh stream, remembered with stream_data.
 * TTRPC_ETOOBIG (nothing queued) when it is over max_message. */
int ttrpc__session_request(struct ttrpc__session *s, const struct ttrpc__request_out *req, void *stream_data,
			   uint32_t *stream_id);

/* Client: as ttrpc__session_request with frame flags (streams: REMOTE_OPEN
 * when the client will send, REMOTE_CLOSED when it will not). */
int ttrpc__session_request_flags(struct ttrpc__session *s, const struct ttrpc__request_out *req, uint8_t flags,
				 void *stream_data, uint32_t *stream_id);

/* Client: forget a stream (e.g. its deadline passed); a late answer is
 * dropped. Returns the stream's data or NULL. */
void *ttrpc__session_forget(struct ttrpc__session *s, uint32_t stream_id);

/* Server: queue the answer of an open stream and close it. code != 0 sends
 * the status (message) and no payload. TTRPC_ENOTFOUND for a stream that is
 * not open; TTRPC_ETOOBIG when the payload was replaced by RESOURCE_EXHAUSTED. */
int ttrpc__session_respond(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message,
			   const uint8_t *payload, size_t len);

/* Queue one Data frame (flags TTRPC__FLAG_*; NO_DATA is added for an empty
 * payload with REMOTE_CLOSED). On a server, REMOTE_CLOSED ends and removes
 * the stream; a client's (CloseSend) keeps it open for the answer.
 * TTRPC_ENOTFOUND for a stream that is not open; TTRPC_ETOOBIG (nothing
 * queued) over max_message. */
int ttrpc__session_send_data(struct ttrpc__session *s, uint32_t stream_id, uint8_t flags, const uint8_t *payload,
			     size_t len);

/* The data pointer of an open stream; *found says whether it is open. */
void *ttrpc__session_stream_data(const struct ttrpc__session *s, uint32_t stream_id, int *found);
/* Set the data pointer of an open stream; TTRPC_ENOTFOUND when not open. */
int ttrpc__session_set_stream_data(struct ttrpc__session *s, uint32_t stream_id, void *data);
/* Call fn for every open stream; fn must not open or close streams. */
void ttrpc__session_each_stream(const struct ttrpc__session *s, void (*fn)(uint32_t id, void *data, void *arg),
				void *arg);

/* Output: the queued bytes, and how many of them were written. */
static inline const uint8_t *ttrpc__session_out(const struct ttrpc__session *s, size_t *len)
{
	*len = ttrpc__buf_pending(&s->out);
	return ttrpc__buf_head(&s->out);
}
static inline size_t ttrpc__session_out_pending(const struct ttrpc__session *s)
{
	return ttrpc__buf_pending(&s->out);
}
void ttrpc__session_sent(struct ttrpc__session *s, size_t n);
/* Position just past the last queued byte, and of the last written one, as
 * counts since the session began (for per-stream send windows). */
static inline uint64_t ttrpc__session_out_total(const struct ttrpc__session *s)
{
	return s->out_total;
}
static inline uint64_t ttrpc__session_sent_total(const struct ttrpc__session *s)
{
	return s->sent_total;
}

/* Buffer memory: bytes held (queued output and partial input storage), of
 * them empty large buffers kept for reuse; give those back (returns the
 * bytes freed); free every buffer (the session is closed). */
size_t ttrpc__session_held(const struct ttrpc__session *s);
size_t ttrpc__session_spare(const struct ttrpc__session *s);
size_t ttrpc__session_release_buffers(struct ttrpc__session *s);
void ttrpc__session_drop_buffers(struct ttrpc__session *s);

/* Remove and return any open stream; 0 when none is left. */
uint32_t ttrpc__session_pop_stream(struct ttrpc__session *s, void **stream_data);

static inline void ttrpc__session_set_max_message(struct ttrpc__session *s, uint32_t max)
{
	s->max_message = max;
}

static inline uint32_t ttrpc__session_max_message(const struct ttrpc__session *s)
{
	return s->max_message;
}

/* The owner closed: input already buffered or arriving is ignored. */
static inline void ttrpc__session_halt(struct ttrpc__session *s)
{
	s->halted = true;
}

/* Number of open streams. */
static inline size_t ttrpc__session_open_streams(const struct ttrpc__session *s)
{
	return s->streams.count;
}

#endif
