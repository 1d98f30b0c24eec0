/* SPDX-License-Identifier: Apache-2.0 */
/* The nanopb part of the codec runtime (<ttrpc/codec.h>), for stubs generated
 * with protoc-gen-ttrpc-c's nanopb backend.
 *
 * These are static inline functions on purpose: nanopb's configuration
 * macros (PB_ENABLE_MALLOC, PB_FIELD_32BIT, PB_BUFFER_ONLY, PB_NO_ERRMSG, ...)
 * change its types and functions, so this code must be compiled with the
 * application's nanopb settings, not with libttrpc's. libttrpc itself has no
 * nanopb dependency; the shared work (buffers, calls, statuses) is done by the
 * ttrpc_codec_* functions of the library. Include after nanopb is reachable
 * (<pb_encode.h>, <pb_decode.h>). */
#ifndef TTRPC_CODEC_NANOPB_H
#define TTRPC_CODEC_NANOPB_H

#include <pb_decode.h>
#include <pb_encode.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ttrpc/codec.h>

#ifdef __cplusplus
extern "C" {
#endif

/* struct ttrpc_codec_encoder size(): type is the message's pb_msgdesc_t. */
static inline int ttrpc_codec_nanopb_size(const void *type, const void *msg, size_t *len)
{
	return pb_get_encoded_size(len, (const pb_msgdesc_t *)type, msg) ? 0 : TTRPC_EINVAL;
}

/* struct ttrpc_codec_encoder encode(). */
static inline int ttrpc_codec_nanopb_encode(const void *type, const void *msg, uint8_t *out, size_t len)
{
	pb_ostream_t stream = pb_ostream_from_buffer(out, len);

	if (!pb_encode(&stream, (const pb_msgdesc_t *)type, msg) || stream.bytes_written != len)
		return TTRPC_EINVAL;
	return 0;
}

/* The encoder over the two functions above (one per translation unit). */
static inline const struct ttrpc_codec_encoder *ttrpc_codec_nanopb_encoder(void)
{
	static const struct ttrpc_codec_encoder encoder = { ttrpc_codec_nanopb_size, ttrpc_codec_nanopb_encode };

	return &encoder;
}

/* Free what decoding allocated into msg (only with PB_ENABLE_MALLOC). */
static inline void ttrpc_codec_nanopb_release(const pb_msgdesc_t *fields, void *msg)
{
#ifdef PB_ENABLE_MALLOC
	pb_release(fields, msg);
#else
	(void)fields;
	(void)msg;
#endif
}

/* ttrpc_codec_respond() for a nanopb message (NULL: the empty message). */
static inline int ttrpc_codec_nanopb_respond(ttrpc_call *call, const pb_msgdesc_t *fields, const void *msg)
{
	return ttrpc_codec_respond(call, ttrpc_codec_nanopb_encoder(), fields, msg);
}

/* Decode a request into msg; when it does not decode, answers the call
 * INVALID_ARGUMENT ("cannot decode <name>: <nanopb's reason>") and returns
 * false. */
static inline bool ttrpc_codec_nanopb_decode_request(ttrpc_call *call, const pb_msgdesc_t *fields, void *msg,
						     const char *name, const uint8_t *buf, size_t len)
{
	pb_istream_t stream = pb_istream_from_buffer(buf, len);

	if (pb_decode(&stream, fields, msg))
		return true;
	ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "cannot decode %s: %s", name,
				 PB_GET_ERROR(&stream));
	return false;
}

/* Decode the response of an async completion (status: its borrowed copy of
 * the result) into msg. false when status is not OK, or when the payload does
 * not decode: then status turns INTERNAL. */
static inline bool ttrpc_codec_nanopb_decode_response(struct ttrpc_result *status, const pb_msgdesc_t *fields,
						      void *msg)
{
	pb_istream_t stream;

	if (status->code != TTRPC_CODE_OK)
		return false;
	stream = pb_istream_from_buffer(status->payload, status->len);
	if (pb_decode(&stream, fields, msg))
		return true;
	ttrpc_codec_response_undecodable(status);
	return false;
}

/* ttrpc_codec_call() for a nanopb request. */
static inline int ttrpc_codec_nanopb_call(ttrpc_client *client, const char *service, const char *method,
					  const pb_msgdesc_t *fields, const void *req,
					  const struct ttrpc_call_opts *opts, ttrpc_done_fn done,
					  void (*typed_done)(void), void *user)
{
	return ttrpc_codec_call(client, service, method, ttrpc_codec_nanopb_encoder(), fields, req, opts, done,
				typed_done, user);
}

/* Blocking call; the response is decoded into *resp, which the caller
 * initialized. An undecodable response is INTERNAL; a NULL resp
 * INVALID_ARGUMENT. status (may be NULL) gets code and message, to be released
 * with ttrpc_result_clear(). Returns the code. */
static inline int ttrpc_codec_nanopb_call_sync(ttrpc_client *client, const char *service, const char *method,
					       const pb_msgdesc_t *req_fields, const void *req,
					       const struct ttrpc_call_opts *opts, const pb_msgdesc_t *resp_fields,
					       void *resp, struct ttrpc_result *status)
{
	struct ttrpc_result result = { 0, NULL, NULL, 0 };

	if (!resp) {
		ttrpc_codec_set_status(&result, TTRPC_CODE_INVALID_ARGUMENT, "no response storage");
	} else if (ttrpc_codec_call_sync(client, service, method, ttrpc_codec_nanopb_encoder(), req_fields, req, opts,
					 &result) == TTRPC_CODE_OK) {
		pb_istream_t stream = pb_istream_from_buffer(result.payload, result.len);

		if (!pb_decode(&stream, resp_fields, resp))
			ttrpc_codec_set_status(&result, TTRPC_CODE_INTERNAL, "cannot decode the response");
	}
	return ttrpc_codec_result_finish(&result, status);
}

#ifdef __cplusplus
}
#endif
#endif
