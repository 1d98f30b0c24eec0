/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes from a client into the session engine of a server.
 * Input: one chunking byte (see fuzz_feed), then the byte stream. Every other
 * request is answered at once, the rest stay open; what the server queued must
 * be well-formed Response frames. */
#include <stdint.h>
#include <string.h>

#include "session_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_request(struct ttrpc__session *s, uint32_t id, Ttrpc__Request *req, void *user)
{
	(void)user;
	/* touch what the engine hands out so ASan sees bad pointers */
	volatile size_t sum = strlen(req->service) + strlen(req->method);
	for (size_t i = 0; i < req->n_metadata; i++)
		sum += strlen(req->metadata[i]->key) + strlen(req->metadata[i]->value);
	(void)sum;
	struct ttrpc_md md = { 0 };
	ttrpc__wire_request_md(req, &md);
	ttrpc__md_clear(&md);
	if (req->payload.len % 2 == 0) {
		/* an empty payload gets an error status, others are echoed (the
		 * echo of a payload near the limit takes the RESOURCE_EXHAUSTED path) */
		int rc = ttrpc__session_respond(s, id, req->payload.len ? 0 : 5, "x", req->payload.data,
						req->payload.len);
		if (rc && rc != TTRPC_ETOOBIG)
			__builtin_trap();
	}
	ttrpc__request__free_unpacked(req, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct ttrpc__session s;
	struct ttrpc__session_cbs cbs = { .on_request = on_request };
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
