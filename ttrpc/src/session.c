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

/* Every append to out goes through these, so out_total stays exact. */
static int put_response(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message,
			const uint8_t *payload, size_t len)
{
	size_t before = ttrpc__buf_pending(&s->out);
	int rc = ttrpc__wire_put_response(&s->out, stream_id, code, message, payload, len, s->max_message);
	s->out_total += ttrpc__buf_pending(&s->out) - before;
	return rc;
}

/* Server side: answer a stream that never opened (bad id, bad bytes). */
static int reject(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message)
{
	slog(s, TTRPC_LOG_DEBUG, "ttrpc: stream %u rejected: %s", stream_id, message);
	return put_response(s, stream_id, code, message, NULL, 0);
}

/* Server side: fail an open stream: the status goes out, the stream is
 * removed and its owner told. */
static int fail_stream(struct ttrpc__session *s, uint32_t stream_id, int code, const char *message)
{
	int found;
	void *data = ttrpc__streams_del(&s->streams, stream_id, &found);
	int rc = reject(s, stream_id, code, message);
	if (found && s->cbs.on_reset)
		s->cbs.on_reset(s, stream_id, data, code, message, s->user);
	return rc;
}

size_t ttrpc__request_in_md_count(const struct ttrpc__request_in *req)
{
	return req->pb ? req->pb->n_metadata : 0;
}

int ttrpc__request_in_md(const struct ttrpc__request_in *req, struct ttrpc_md *md)
{
	return req->pb ? ttrpc__wire_request_md(req->pb, md) : 0;
}

/* The wire lengths of the last occurrences of the length-delimited fields
 * 1..RAW_FIELDS of a message (found[f] tells whether field f was seen), for
 * what protobuf-c's decoding hides: an empty bytes field looks absent (Go
 * tells them apart: an empty first message of a client stream is still
 * delivered), and a string is cut at an embedded NUL. One pass for all of
 * them; it stops where the bytes stop making sense, keeping what it found. */
#define RAW_FIELDS 3
struct raw_fields {
	bool found[RAW_FIELDS + 1];
	size_t len[RAW_FIELDS + 1];
};

static void raw_field_lens(const uint8_t *p, size_t len, struct raw_fields *f)
{
	memset(f, 0, sizeof(*f));
	size_t i = 0;
	while (i < len) {
		uint64_t key = 0, v = 0;
		for (int shift = 0; i < len && shift < 64; shift += 7) {
			uint8_t c = p[i++];
			key |= (uint64_t)(c & 0x7f) << shift;
			if (!(c & 0x80))
				break;
		}
		switch (key & 7) {
		case 0:
			while (i < len && (p[i++] & 0x80))
				;
			break;
		case 1:
			i += 8;
			break;
		case 5:
			i += 4;
			break;
		case 2:
			for (int shift = 0; i < len && shift < 64; shift += 7) {
				uint8_t c = p[i++];
				v |= (uint64_t)(c & 0x7f) << shift;
				if (!(c & 0x80))
					break;
			}
			if (v > len - i)
				return;
			if (key >> 3 >= 1 && key >> 3 <= RAW_FIELDS) {
				f->found[key >> 3] = true;
				f->len[key >> 3] = (size_t)v;
			}
			i += (size_t)v;
			break;
		default:
			return;
		}
	}
}

/* A name that holds a NUL is not the C string protobuf-c hands us. */
static bool name_cut(const struct raw_fields *f, uint32_t field, const char *name)
{
	return f->found[field] && f->len[field] != strlen(name);
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
	struct ttrpc__scratch scratch;
	ttrpc__scratch_init(&scratch);
	Ttrpc__Request *req = ttrpc__wire_decode_request_in(p, h->length, &scratch);
	if (!req)
		return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
			      "unmarshal request error: invalid protobuf");
	int rc = ttrpc__streams_put(&s->streams, h->stream_id, NULL);
	if (rc) {
		ttrpc__request__free_unpacked(req, &scratch.alloc);
		return rc;
	}
	struct raw_fields raw;
	raw_field_lens(p, h->length, &raw);
	struct ttrpc__request_in in = {
		.service = req->service,
		.method = req->method,
		.payload = req->payload.data,
		.len = req->payload.len,
		.has_payload = req->payload.len > 0 || raw.found[3],
		.service_cut = name_cut(&raw, 1, req->service),
		.method_cut = name_cut(&raw, 2, req->method),
		.timeout_ns = req->timeout_nano,
		.flags = h->flags,
		.pb = req,
	};
	s->cbs.on_request(s, h->stream_id, &in, s->user);
	ttrpc__heap_note_free(req->payload.len);
	ttrpc__request__free_unpacked(req, &scratch.alloc);
	return 0;
}

/* Data on an open stream, as Go 1.2's server reads it: no-data frames carry
 * no message; remote-closed ends the client's side, and must not carry data. */
static int server_data(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	int found;
	void *data = ttrpc__streams_get(&s->streams, h->stream_id, &found);
	if (!found)
		return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT, "StreamID is no longer active");
	bool closing = h->flags & TTRPC__FLAG_REMOTE_CLOSED;
	if (closing && h->length > 0)
		return fail_stream(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
				   "data close message cannot include data");
	if (!(h->flags & TTRPC__FLAG_NO_DATA) && s->cbs.on_data) {
		int rc = s->cbs.on_data(s, h->stream_id, data, p, h->length, s->user);
		if (rc == TTRPC_ESTATE)
			return fail_stream(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
					   "data handling error: ttrpc: stream closed");
		if (rc == TTRPC_ETOOBIG)
			return fail_stream(s, h->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED,
					   "ttrpc: stream receive buffer full");
		if (rc)
			return rc;
		/* the callback may have finished the stream */
		data = ttrpc__streams_get(&s->streams, h->stream_id, &found);
		if (!found)
			return 0;
	}
	if (closing && s->cbs.on_close_send)
		s->cbs.on_close_send(s, h->stream_id, data, s->user);
	return 0;
}

static int server_frame(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	switch (h->type) {
	case TTRPC__FRAME_REQUEST:
		return server_request(s, h, p);
	case TTRPC__FRAME_DATA:
		if (h->stream_id % 2 != 1)
			return reject(s, h->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
				      "StreamID must be odd for client initiated streams");
		return server_data(s, h, p);
	default:
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: frame type %u on stream %u ignored", h->type, h->stream_id);
		return 0;
	}
}

static int client_data(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	if (!s->cbs.on_stream_data) {
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: data frame on stream %u ignored", h->stream_id);
		return 0;
	}
	int found;
	bool end = h->flags & TTRPC__FLAG_REMOTE_CLOSED;
	void *data = end ? ttrpc__streams_del(&s->streams, h->stream_id, &found) :
			   ttrpc__streams_get(&s->streams, h->stream_id, &found);
	if (!found) {
		slog(s, TTRPC_LOG_DEBUG, "ttrpc: data for unknown stream %u dropped", h->stream_id);
		return 0;
	}
	bool none = end && (h->flags & TTRPC__FLAG_NO_DATA);
	s->cbs.on_stream_data(s, data, none ? NULL : (p ? p : (const uint8_t *)""), none ? 0 : h->length, end, s->user);
	return 0;
}

static int client_frame(struct ttrpc__session *s, const struct ttrpc__frame_header *h, const uint8_t *p)
{
	if (h->type == TTRPC__FRAME_DATA)
		return client_data(s, h, p);
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
	struct ttrpc__scratch scratch;
	ttrpc__scratch_init(&scratch);
	if (ttrpc__wire_decode_response_in(p, h->length, &r, &scratch)) {
		struct ttrpc__response_in bad = { .code = TTRPC_CODE_INTERNAL,
						  .message = "ttrpc: undecodable response" };
		s->cbs.on_response(s, data, &bad, s->user);
		return 0;
	}
	s->cbs.on_response(s, data, &r, s->user);
	if (r.pb) /* a payload read in place was never allocated */
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
		if (h->type == TTRPC__FRAME_DATA) {
			/* Go answers any oversized frame with the status; an open
			 * stream that lost a message cannot go on. */
			int found;
			ttrpc__streams_get(&s->streams, h->stream_id, &found);
			return found ? fail_stream(s, h->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, text) :
				       reject(s, h->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, text);
		}
		if (h->type != TTRPC__FRAME_REQUEST)
			return 0;
		if (h->stream_id % 2 == 1 && h->stream_id > s->last_stream_id)
			s->last_stream_id = h->stream_id;
		return reject(s, h->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, text);
	}
	if (h->type != TTRPC__FRAME_RESPONSE && (h->type != TTRPC__FRAME_DATA || !s->cbs.on_stream_data))
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
	return ttrpc__session_request_flags(s, req, 0, stream_data, stream_id);
}

int ttrpc__session_request_flags(struct ttrpc__session *s, const struct ttrpc__request_out *req, uint8_t flags,
				 void *stream_data, uint32_t *stream_id)
{
	if (s->last_stream_id >= UINT32_MAX - 2)
		return TTRPC_ESTATE; /* ids are never reused: this connection is spent */
	uint32_t id = s->last_stream_id == 0 ? 1 : s->last_stream_id + 2;
	int rc = ttrpc__streams_put(&s->streams, id, stream_data);
	if (rc)
		return rc;
	size_t before = ttrpc__buf_pending(&s->out);
	rc = ttrpc__wire_put_request(&s->out, id, flags, req, s->max_message);
	s->out_total += ttrpc__buf_pending(&s->out) - before;
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
	return put_response(s, stream_id, code, message, payload, len);
}

int ttrpc__session_send_data(struct ttrpc__session *s, uint32_t stream_id, uint8_t flags, const uint8_t *payload,
			     size_t len)
{
	int found;
	ttrpc__streams_get(&s->streams, stream_id, &found);
	if (!found)
		return TTRPC_ENOTFOUND;
	if (len > s->max_message)
		return TTRPC_ETOOBIG;
	if (!len && (flags & TTRPC__FLAG_REMOTE_CLOSED))
		flags |= TTRPC__FLAG_NO_DATA;
	size_t before = ttrpc__buf_pending(&s->out);
	int rc = ttrpc__wire_put_data(&s->out, stream_id, flags, payload, len);
	s->out_total += ttrpc__buf_pending(&s->out) - before;
	if (!rc && (flags & TTRPC__FLAG_REMOTE_CLOSED) && s->role == TTRPC__ROLE_SERVER)
		ttrpc__streams_del(&s->streams, stream_id, NULL);
	return rc;
}

void *ttrpc__session_stream_data(const struct ttrpc__session *s, uint32_t stream_id, int *found)
{
	return ttrpc__streams_get(&s->streams, stream_id, found);
}

int ttrpc__session_set_stream_data(struct ttrpc__session *s, uint32_t stream_id, void *data)
{
	return ttrpc__streams_set(&s->streams, stream_id, data);
}

void ttrpc__session_each_stream(const struct ttrpc__session *s, void (*fn)(uint32_t id, void *data, void *arg),
				void *arg)
{
	const struct ttrpc__streams *t = &s->streams;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].id)
			fn(t->slots[i].id, t->slots[i].data, arg);
}

void ttrpc__session_sent(struct ttrpc__session *s, size_t n)
{
	ttrpc__buf_consume(&s->out, n);
	s->sent_total += n;
}

uint32_t ttrpc__session_pop_stream(struct ttrpc__session *s, void **stream_data)
{
	return ttrpc__streams_pop(&s->streams, stream_data);
}

size_t ttrpc__session_held(const struct ttrpc__session *s)
{
	return s->out.cap + s->payload.cap;
}

size_t ttrpc__session_spare(const struct ttrpc__session *s)
{
	const struct ttrpc__buf *o = &s->out, *p = &s->payload;
	return (ttrpc__buf_large(o) && !ttrpc__buf_pending(o) ? o->cap : 0) +
	       (ttrpc__buf_large(p) && !ttrpc__buf_pending(p) ? p->cap : 0);
}

size_t ttrpc__session_release_buffers(struct ttrpc__session *s)
{
	return ttrpc__buf_release(&s->out) + ttrpc__buf_release(&s->payload);
}

void ttrpc__session_drop_buffers(struct ttrpc__session *s)
{
	ttrpc__buf_free(&s->out);
	ttrpc__buf_free(&s->payload);
}
