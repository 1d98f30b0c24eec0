/* SPDX-License-Identifier: Apache-2.0 */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void slog(struct ttrpc__session *s, int level, const char *fmt, ...) TTRPC_PRINTF(3, 4);
static void slog(struct ttrpc__session *s, int level, const char *fmt, ...)
{
	if (!s->cbs.on_log)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->cbs.on_log(s->user, level, msg);
}

void ttrpc__session_init(struct ttrpc__session *s, enum ttrpc__role role, const struct ttrpc__session_cbs *cbs,
			 void *user)
{
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->cbs = *cbs;
	s->user = user;
	s->max_message = TTRPC_MAX_MESSAGE_SIZE;
}

void ttrpc__session_destroy(struct ttrpc__session *s)
{
	ttrpc__buf_free(&s->payload);
	ttrpc__buf_free(&s->out);
	ttrpc__streams_free(&s->streams);
}

/* Server side: answer a stream that never opened (bad id, bad bytes). */
static int reject(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message)
{
	slog(s, TTRPC_LOG_DEBUG, "ttrpc: stream %u rejected: %s", stream_id, message);
	return ttrpc__wire_put_response(&s->out, stream_id, code, message, NULL, 0, s->max_message);
}

static int server_request(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	if (h->stream_id % 2 != 1)
		return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
			      "StreamID must be odd for client initiated streams");
	if (h->stream_id <= s->last_stream_id)
		return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
			      "StreamID cannot be re-used and must increment");
	s->last_stream_id = h->stream_id;
	Ttrpc__Request *req = ttrpc__wire_decode_request(p, h->length);
	if (!req)
		return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
			      "unmarshal request error: invalid protobuf");
	int rc = ttrpc__streams_put(&s->streams, h->stream_id, NULL);
	if (rc) {
		ttrpc__request__free_unpacked(req, NULL);
		return rc;
	}
	s->cbs.on_request(s, h->stream_id, req, s->user);
	return 0;
}

static int server_frame(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	int found;
	switch (h->type) {
	case TTRPC__FRAME_REQUEST:
		return server_request(s, h, p);
	case TTRPC__FRAME_DATA:
		ttrpc__streams_get(&s->streams, h->stream_id, &found);
		if (!found)
			return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active");
		/* Unary streams take no data; streaming methods will route it here. */
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: data frame on unary stream %u ignored", h->stream_id);
		return 0;
	default:
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: frame type %u on stream %u ignored", h->type, h->stream_id);
		return 0;
	}
}

static int client_frame(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	if (h->type != TTRPC__FRAME_RESPONSE) {
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: frame type %u on stream %u ignored", h->type, h->stream_id);
		return 0;
	}
	int found;
	void *data = ttrpc__streams_del(&s->streams, h->stream_id, &found);
	if (!found) {
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: response for unknown stream %u dropped", h->stream_id);
		return 0;
	}
	struct ttrpc__response_in r;
	if (ttrpc__wire_decode_response(p, h->length, &r)) {
		struct ttrpc__response_in bad = { .code = TTRPC_CODE_INTERNAL,
						  .message = "ttrpc: undecodable response" };
		s->cbs.on_response(s, data, &bad, s->user);
		return 0;
	}
	s->cbs.on_response(s, data, &r, s->user);
	ttrpc__heap_note_free(r.len);
	ttrpc__wire_response_free(&r);
	return 0;
}

static int dispatch(struct ttrpc__session *s, const uint8_t *p)
{
	const struct ttrpc__frame_header *h = &s->cur;
	return s->role == TTRPC__ROLE_SERVER ? server_frame(s, h, p) : client_frame(s, h, p);
}

/* The frame's payload is over the limit: it is skipped, and the stream it
 * belongs to learns why. */
static int oversized(struct ttrpc__session *s)
{
	const struct ttrpc__frame_header *h = &s->cur;
	char text[128];
	snprintf(text, sizeof(text), "message length %u exceed maximum message size of %u", h->length, s->max_message);
	slog(s, TTRPC_LOG_WARN, "ttrpc: stream %u: %s", h->stream_id, text);
	if (s->role == TTRPC__ROLE_SERVER) {
		if (h->type != TTRPC__FRAME_REQUEST)
			return 0;
		if (h->stream_id % 2 == 1 && h->stream_id > s->last_stream_id)
			s->last_stream_id = h->stream_id;
		return reject(s, h->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, text);
	}
	if (h->type != TTRPC__FRAME_RESPONSE)
		return 0;
	int found;
	void *data = ttrpc__streams_del(&s->streams, h->stream_id, &found);
	if (found) {
		struct ttrpc__response_in r = { .code = TTRPC_CODE_RESOURCE_EXHAUSTED, .message = text };
		s->cbs.on_response(s, data, &r, s->user);
	}
	return 0;
}

static int begin_frame(struct ttrpc__session *s, const uint8_t *hdr)
{
	ttrpc__frame_unpack(hdr, TTRPC__FRAME_HEADER_SIZE, &s->cur);
	s->in_frame = true;
	s->payload_have = 0;
	s->discarding = ttrpc__frame_oversized(&s->cur, s->max_message);
	if (s->discarding)
		return oversized(s);
	return 0;
}

static void end_frame(struct ttrpc__session *s)
{
	s->in_frame = false;
	s->hdr_have = 0;
	ttrpc__buf_consume(&s->payload, ttrpc__buf_pending(&s->payload));
}

int ttrpc__session_recv(struct ttrpc__session *s, const uint8_t *in, size_t len)
{
	int rc = 0;
	while (!s->halted && (len > 0 || (s->in_frame && s->payload_have == s->cur.length))) {
		if (!s->in_frame) {
			const uint8_t *hdr = in;
			if (s->hdr_have > 0 || len < TTRPC__FRAME_HEADER_SIZE) {
				size_t n = TTRPC__FRAME_HEADER_SIZE - s->hdr_have;
				if (n > len)
					n = len;
				memcpy(s->hdr + s->hdr_have, in, n);
				s->hdr_have += n;
				in += n;
				len -= n;
				if (s->hdr_have < TTRPC__FRAME_HEADER_SIZE)
					return 0;
				hdr = s->hdr;
			} else {
				in += TTRPC__FRAME_HEADER_SIZE;
				len -= TTRPC__FRAME_HEADER_SIZE;
			}
			if ((rc = begin_frame(s, hdr)))
				return rc;
			continue;
		}
		uint32_t want = s->cur.length - s->payload_have;
		if (s->discarding) {
			size_t n = len < want ? len : want;
			in += n;
			len -= n;
			s->payload_have += (uint32_t)n;
			if (s->payload_have == s->cur.length)
				end_frame(s);
			continue;
		}
		if (s->payload_have == 0 && len >= want) {
			/* Whole payload in this chunk: no copy. */
			in += want;
			len -= want;
			s->payload_have = want;
			end_frame(s);
			if ((rc = dispatch(s, in - want)))
				return rc;
			continue;
		}
		size_t n = len < want ? len : want;
		if (n > 0) {
			uint8_t *dst = ttrpc__buf_reserve(&s->payload, n);
			if (!dst)
				return TTRPC_ENOMEM;
			memcpy(dst, in, n);
			ttrpc__buf_commit(&s->payload, n);
			in += n;
			len -= n;
			s->payload_have += (uint32_t)n;
		}
		if (s->payload_have == s->cur.length) {
			/* dispatch from the buffer, then release it */
			s->in_frame = false;
			s->hdr_have = 0;
			rc = dispatch(s, ttrpc__buf_head(&s->payload));
			ttrpc__buf_consume(&s->payload, ttrpc__buf_pending(&s->payload));
			if (rc)
				return rc;
		}
	}
	return 0;
}

int ttrpc__session_request(struct ttrpc__session *s, const struct ttrpc__request_out *req, void *stream_data,
			   uint32_t *stream_id)
{
	if (s->last_stream_id >= UINT32_MAX - 2)
		return TTRPC_ESTATE; /* ids are never reused: this connection is spent */
	uint32_t id = s->last_stream_id == 0 ? 1 : s->last_stream_id + 2;
	int rc = ttrpc__streams_put(&s->streams, id, stream_data);
	if (rc)
		return rc;
	rc = ttrpc__wire_put_request(&s->out, id, 0, req, s->max_message);
	if (rc) {
		ttrpc__streams_del(&s->streams, id, NULL);
		return rc;
	}
	s->last_stream_id = id;
	*stream_id = id;
	return 0;
}

void *ttrpc__session_forget(struct ttrpc__session *s, uint32_t stream_id)
{
	return ttrpc__streams_del(&s->streams, stream_id, NULL);
}

int ttrpc__session_respond(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message,
			   const uint8_t *payload, size_t len)
{
	int found;
	ttrpc__streams_del(&s->streams, stream_id, &found);
	if (!found)
		return TTRPC_ENOTFOUND;
	return ttrpc__wire_put_response(&s->out, stream_id, code, message, payload, len, s->max_message);
}

uint32_t ttrpc__session_pop_stream(struct ttrpc__session *s, void **stream_data)
{
	return ttrpc__streams_pop(&s->streams, stream_data);
}
