/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes from a server into the session engine of a client
 * that has eight requests in flight (streams 1, 3, ..., 15; stream 5 forgotten
 * as after a deadline). Input: one chunking byte (see fuzz_feed), then the byte
 * stream. Each response must reach the stream's own callback once. */
#include <stdint.h>
#include <string.h>

#include "session_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCALLS 8

struct calls {
	int answered[NCALLS];
};

static void on_response(struct ttrpc__session *s, void *data, const struct ttrpc__response_in *r, void *user)
{
	(void)s;
	struct calls *c = user;
	int *slot = data;
	if (slot < c->answered || slot >= c->answered + NCALLS || (*slot)++)
		__builtin_trap(); /* unknown stream data, or a second answer */
	/* touch what the engine hands out so ASan sees bad pointers */
	volatile size_t sum = strlen(r->message);
	for (size_t i = 0; i < r->len; i++)
		sum += r->payload[i];
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct calls calls = { { 0 } };
	struct ttrpc__session s;
	struct ttrpc__session_cbs cbs = { .on_response = on_response };
	ttrpc__session_init(&s, TTRPC__ROLE_CLIENT, &cbs, &calls);
	s.max_message = 1u << 16;
	struct ttrpc__request_out r = { .service = "s", .method = "m" };
	for (int i = 0; i < NCALLS; i++) {
		uint32_t id;
		if (ttrpc__session_request(&s, &r, &calls.answered[i], &id) || id != 2u * (uint32_t)i + 1)
			__builtin_trap();
	}
	if (ttrpc__session_forget(&s, 5) != &calls.answered[2])
		__builtin_trap();
	fuzz_check_out(&s, TTRPC__FRAME_REQUEST);
	fuzz_feed(&s, data + 1, size - 1, data[0]);
	if (calls.answered[2])
		__builtin_trap(); /* a forgotten stream was answered */
	size_t open = 0;
	for (int i = 0; i < NCALLS; i++)
		open += i != 2 && !calls.answered[i];
	if (ttrpc__session_open_streams(&s) != open)
		__builtin_trap();
	void *d;
	while (ttrpc__session_pop_stream(&s, &d))
		;
	ttrpc__session_destroy(&s);
	return 0;
}
