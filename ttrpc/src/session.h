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

struct ttrpc__session_cbs {
	/* Server: a valid request opened stream_id. req is handed over (free with
	 * ttrpc__request__free_unpacked). Answer with ttrpc__session_respond. */
	void (*on_request)(struct ttrpc__session *s, uint32_t stream_id, Ttrpc__Request *req, void *user);
	/* Client: the answer of the stream opened with stream_data; r and its
	 * pointers are valid during the callback only. The stream is closed. */
	void (*on_response)(struct ttrpc__session *s, void *stream_data, const struct ttrpc__response_in *r,
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

/* Client: forget a stream (e.g. its deadline passed); a late answer is
 * dropped. Returns the stream's data or NULL. */
void *ttrpc__session_forget(struct ttrpc__session *s, uint32_t stream_id);

/* Server: queue the answer of an open stream and close it. code != 0 sends
 * the status (message) and no payload. TTRPC_ENOTFOUND for a stream that is
 * not open; TTRPC_ETOOBIG when the payload was replaced by RESOURCE_EXHAUSTED. */
int ttrpc__session_respond(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message,
			   const uint8_t *payload, size_t len);

/* Remove and return any open stream; 0 when none is left. */
uint32_t ttrpc__session_pop_stream(struct ttrpc__session *s, void **stream_data);

/* Number of open streams. */
static inline size_t ttrpc__session_open_streams(const struct ttrpc__session *s)
{
	return s->streams.count;
}

#endif
