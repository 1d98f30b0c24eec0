/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes from a client into the session engine of a server.
 * Input: one chunking byte (see fuzz_feed), then the byte stream. Every other
 * request is answered at once, the rest stay open; what the server queued must
 * be well-formed Response frames. */
#include <stdint.h>
#include <string.h>

#include "session_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_request(struct ttrpc__session *s, uint32_t id, const struct ttrpc__request_in *req, void *user)
{
	(void)user;
	/* touch what the engine hands out so ASan sees bad pointers */
	volatile size_t sum = strlen(req->service) + strlen(req->method);
	for (size_t i = 0; i < req->len; i++)
		sum += req->payload[i];
	(void)sum;
	struct ttrpc_md md = { 0 };
	ttrpc__request_in_md(req, &md);
	ttrpc__md_clear(&md);
	if (req->len % 3 == 0) {
		/* an empty payload gets an error status, others are echoed (the
		 * echo of a payload near the limit takes the RESOURCE_EXHAUSTED path) */
		int rc = ttrpc__session_respond(s, id, req->len ? 0 : 5, "x", req->payload, req->len);
		if (rc && rc != TTRPC_ETOOBIG)
			__builtin_trap();
	} else if (req->len % 3 == 1) {
		/* a stream: answered with a Data frame, left open for data */
		int rc = ttrpc__session_send_data(s, id, 0, req->payload, req->len);
		if (rc && rc != TTRPC_ETOOBIG)
			__builtin_trap();
		ttrpc__session_set_stream_data(s, id, (void *)(uintptr_t)id);
	}
}

/* Stream data: every third message is refused (closed stream), every
 * fifth overruns the bound; others are echoed. */
static int on_data(struct ttrpc__session *s, uint32_t id, void *data, const uint8_t *msg, size_t len, void *user)
{
	(void)user;
	if (data && (uintptr_t)data != id)
		__builtin_trap();
	volatile size_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += msg[i];
	(void)sum;
	if (len % 3 == 2)
		return TTRPC_ESTATE;
	if (len % 5 == 4)
		return TTRPC_ETOOBIG;
	int rc = ttrpc__session_send_data(s, id, len % 7 == 6 ? TTRPC__FLAG_REMOTE_CLOSED : 0, msg, len);
	if (rc && rc != TTRPC_ETOOBIG)
		__builtin_trap();
	return 0;
}

static void on_close_send(struct ttrpc__session *s, uint32_t id, void *data, void *user)
{
	(void)user;
	(void)data;
	ttrpc__session_send_data(s, id, TTRPC__FLAG_REMOTE_CLOSED, NULL, 0);
}

static void on_reset(struct ttrpc__session *s, uint32_t id, void *data, int code, const char *message, void *user)
{
	(void)user;
	int found;
	ttrpc__session_stream_data(s, id, &found);
	if (found || (data && (uintptr_t)data != id) || code == 0 || !message)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct ttrpc__session s;
	struct ttrpc__session_cbs cbs = {
		.on_request = on_request, .on_data = on_data, .on_close_send = on_close_send, .on_reset = on_reset
	};
	ttrpc__session_init(&s, TTRPC__ROLE_SERVER, &cbs, NULL);
	s.max_message = 1u << 16; /* small limit: reach the oversized paths cheaply */
	fuzz_feed(&s, data + 1, size - 1, data[0]);
	fuzz_check_out(&s, TTRPC__FRAME_RESPONSE);
	/* the rest answered late, after more input could have arrived */
	void *d;
	uint32_t id;
	while ((id = ttrpc__session_pop_stream(&s, &d)))
		ttrpc__session_respond(&s, id, 0, "", NULL, 0);
	ttrpc__session_destroy(&s);
	return 0;
}
