/* SPDX-License-Identifier: Apache-2.0 */
/* The codec runtime of the generated stubs (see <ttrpc/codec.h>). */
#include <ttrpc/codec.h>

#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

/* An encoded message: `data` points at exactly `len` written bytes (into
 * `stack` or a malloc'd buffer), or is NULL when len is 0. Nothing unwritten
 * is ever handed on. */
struct encoded {
	uint8_t *data;
	size_t len;
	uint8_t stack[TTRPC_CODEC_STACK_BUFFER];
};

static int encode(struct encoded *out, const struct ttrpc_codec_encoder *enc, const void *type, const void *msg)
{
	size_t len = 0;
	uint8_t *buf;
	int rc;

	out->data = NULL;
	out->len = 0;
	if (!msg)
		return 0;
	rc = enc->size(type, msg, &len);
	if (rc < 0 || len == 0)
		return rc;
	buf = len <= sizeof(out->stack) ? out->stack : malloc(len);
	if (!buf)
		return TTRPC_ENOMEM;
	rc = enc->encode(type, msg, buf, len);
	if (rc < 0) {
		if (buf != out->stack)
			free(buf);
		return rc;
	}
	out->data = buf;
	out->len = len;
	return 0;
}

static void encoded_free(struct encoded *e)
{
	if (e->data != e->stack)
		free(e->data);
	e->data = NULL;
	e->len = 0;
}

void ttrpc_codec_unimplemented(ttrpc_call *call)
{
	ttrpc_call_respond_error(call, TTRPC_CODE_UNIMPLEMENTED, "%s/%s is not implemented", ttrpc_call_service(call),
				 ttrpc_call_method(call));
}

int ttrpc_codec_respond(ttrpc_call *call, const struct ttrpc_codec_encoder *enc, const void *type, const void *msg)
{
	struct encoded e;
	int rc;

	if (!call || !enc)
		return TTRPC_EINVAL;
	rc = encode(&e, enc, type, msg);
	if (rc < 0) {
		if (rc == TTRPC_ENOMEM)
			ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED,
						 "out of memory encoding the response");
		else
			ttrpc_call_respond_error(call, TTRPC_CODE_INTERNAL, "cannot encode the response");
		return rc;
	}
	rc = ttrpc_call_respond(call, e.data, e.len);
	encoded_free(&e);
	return rc;
}

int ttrpc_codec_call(ttrpc_client *client, const char *service, const char *method,
		     const struct ttrpc_codec_encoder *enc, const void *type, const void *req,
		     const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void (*typed_done)(void), void *user)
{
	struct ttrpc_codec_pending *pending;
	struct encoded e;
	int rc;

	if (!client || !enc || !typed_done)
		return TTRPC_EINVAL;
	rc = encode(&e, enc, type, req);
	if (rc < 0)
		return rc;
	pending = malloc(sizeof(*pending));
	if (!pending) {
		encoded_free(&e);
		return TTRPC_ENOMEM;
	}
	pending->done = typed_done;
	pending->user = user;
	rc = ttrpc_client_call(client, service, method, e.data, e.len, opts, done, pending);
	if (rc < 0)
		free(pending);
	encoded_free(&e);
	return rc;
}

struct ttrpc_codec_pending ttrpc_codec_pending_take(void *pending)
{
	struct ttrpc_codec_pending taken = *(struct ttrpc_codec_pending *)pending;

	free(pending);
	return taken;
}

void ttrpc_codec_set_status(struct ttrpc_result *result, int code, const char *message)
{
	size_t n = strlen(message) + 1;

	free(result->message);
	result->code = code;
	result->message = malloc(n);
	if (result->message)
		memcpy(result->message, message, n);
}

int ttrpc_codec_call_sync(ttrpc_client *client, const char *service, const char *method,
			  const struct ttrpc_codec_encoder *enc, const void *type, const void *req,
			  const struct ttrpc_call_opts *opts, struct ttrpc_result *result)
{
	struct encoded e;
	int rc;

	memset(result, 0, sizeof(*result));
	if (!client || !enc) {
		ttrpc_codec_set_status(result, TTRPC_CODE_INVALID_ARGUMENT, "no client");
		return result->code;
	}
	rc = encode(&e, enc, type, req);
	if (rc < 0) {
		if (rc == TTRPC_ENOMEM)
			ttrpc_codec_set_status(result, TTRPC_CODE_RESOURCE_EXHAUSTED,
					       "out of memory encoding the request");
		else
			ttrpc_codec_set_status(result, TTRPC_CODE_INVALID_ARGUMENT, "cannot encode the request");
		return result->code;
	}
	rc = ttrpc_client_call_sync(client, service, method, e.data, e.len, opts, result);
	encoded_free(&e);
	return rc;
}

void ttrpc_codec_response_undecodable(struct ttrpc_result *status)
{
	static char decode_error[] = "cannot decode the response";

	status->code = TTRPC_CODE_INTERNAL;
	status->message = decode_error;
}

int ttrpc_codec_result_finish(struct ttrpc_result *result, struct ttrpc_result *status)
{
	int code = result->code;

	free(result->payload);
	result->payload = NULL;
	result->len = 0;
	if (status)
		*status = *result;
	else
		ttrpc_result_clear(result);
	return code;
}

/* ---- protobuf-c ---- */

static int pbc_size(const void *type, const void *msg, size_t *len)
{
	(void)type;
	*len = protobuf_c_message_get_packed_size(msg);
	return 0;
}

static int pbc_encode(const void *type, const void *msg, uint8_t *out, size_t len)
{
	(void)type;
	return protobuf_c_message_pack(msg, out) == len ? 0 : TTRPC_EINVAL;
}

static const struct ttrpc_codec_encoder pbc_encoder = { .size = pbc_size, .encode = pbc_encode };

int ttrpc_codec_pbc_respond(ttrpc_call *call, const ProtobufCMessage *msg)
{
	return ttrpc_codec_respond(call, &pbc_encoder, NULL, msg);
}

ProtobufCMessage *ttrpc_codec_pbc_decode_request(ttrpc_call *call, const ProtobufCMessageDescriptor *desc,
						 const uint8_t *buf, size_t len)
{
	ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, buf);

	if (!msg)
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "cannot decode %s", desc->name);
	return msg;
}

ProtobufCMessage *ttrpc_codec_pbc_decode_response(struct ttrpc_result *status, const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *msg;

	if (status->code != TTRPC_CODE_OK)
		return NULL;
	msg = protobuf_c_message_unpack(desc, NULL, status->len, status->payload);
	if (!msg)
		ttrpc_codec_response_undecodable(status);
	return msg;
}

int ttrpc_codec_pbc_call(ttrpc_client *client, const char *service, const char *method, const ProtobufCMessage *req,
			 const struct ttrpc_call_opts *opts, ttrpc_done_fn done, void (*typed_done)(void), void *user)
{
	return ttrpc_codec_call(client, service, method, &pbc_encoder, NULL, req, opts, done, typed_done, user);
}

int ttrpc_codec_pbc_call_sync(ttrpc_client *client, const char *service, const char *method,
			      const ProtobufCMessage *req, const struct ttrpc_call_opts *opts,
			      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
			      struct ttrpc_result *status)
{
	struct ttrpc_result result;

	*resp = NULL;
	if (ttrpc_codec_call_sync(client, service, method, &pbc_encoder, NULL, req, opts, &result) == TTRPC_CODE_OK) {
		*resp = protobuf_c_message_unpack(resp_desc, NULL, result.len, result.payload);
		if (!*resp)
			ttrpc_codec_set_status(&result, TTRPC_CODE_INTERNAL, "cannot decode the response");
	}
	return ttrpc_codec_result_finish(&result, status);
}
