/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes into the session engine, as a server and
 * as a client, in chunk sizes chosen by the input itself. */
#include <stdint.h>
#include <string.h>

#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_request(struct ttrpc__session *s, uint32_t id, Ttrpc__Request *req, void *user)
{
	(void)user;
	/* answer every other request at once; the rest stay open */
	if (req->payload.len % 2 == 0)
		ttrpc__session_respond(s, id, req->payload.len ? 0 : 5, "x", req->payload.data, req->payload.len);
	ttrpc__request__free_unpacked(req, NULL);
}

static void on_response(struct ttrpc__session *s, void *data, const struct ttrpc__response_in *r, void *user)
{
	(void)s;
	(void)data;
	(void)user;
	/* touch what the engine hands out so ASan sees bad pointers */
	volatile size_t sum = strlen(r->message);
	for (size_t i = 0; i < r->len; i++)
		sum += r->payload[i];
}

static void feed(struct ttrpc__session *s, const uint8_t *data, size_t size, uint8_t chunk_seed)
{
	size_t off = 0;
	uint32_t x = chunk_seed | 1u;
	while (off < size) {
		x = x * 1103515245u + 12345u;
		size_t n = 1 + (x >> 16) % (chunk_seed % 4 == 0 ? size : 64u);
		if (n > size - off)
			n = size - off;
		if (ttrpc__session_recv(s, data + off, n))
			return;
		off += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t seed = data[0];
	data++;
	size--;

	struct ttrpc__session s;
	struct ttrpc__session_cbs scbs = { .on_request = on_request };
	ttrpc__session_init(&s, TTRPC__ROLE_SERVER, &scbs, NULL);
	s.max_message = 1u << 16; /* small limit: reach the oversized paths cheaply */
	feed(&s, data, size, seed);
	void *d;
	while (ttrpc__session_pop_stream(&s, &d))
		;
	ttrpc__session_destroy(&s);

	struct ttrpc__session c;
	struct ttrpc__session_cbs ccbs = { .on_response = on_response };
	ttrpc__session_init(&c, TTRPC__ROLE_CLIENT, &ccbs, NULL);
	c.max_message = 1u << 16;
	struct ttrpc__request_out r = { .service = "s", .method = "m" };
	uint32_t id;
	for (int i = 0; i < 8; i++)
		ttrpc__session_request(&c, &r, NULL, &id);
	feed(&c, data, size, (uint8_t)(seed + 1));
	while (ttrpc__session_pop_stream(&c, &d))
		;
	ttrpc__session_destroy(&c);
	return 0;
}
