/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "wire.h"

TestSuite(wire, .timeout = 30);

static struct ttrpc__frame_header header_of(const struct ttrpc__buf *b)
{
	struct ttrpc__frame_header h;
	cr_assert_eq(ttrpc__frame_unpack(ttrpc__buf_head(b), ttrpc__buf_pending(b), &h), 0);
	cr_assert_eq(h.length + TTRPC__FRAME_HEADER_SIZE, ttrpc__buf_pending(b));
	return h;
}

Test(wire, request_round_trip)
{
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "Containerd-Namespace-TTRPC", "default");
	ttrpc_md_add(md, "k", "v1");
	ttrpc_md_add(md, "k", "v2");
	const uint8_t payload[] = { 0, 1, 2, 0xff };
	struct ttrpc__request_out out = { .service = "pkg.Svc",
					  .method = "Do",
					  .payload = payload,
					  .len = sizeof(payload),
					  .timeout_ns = 1500000000,
					  .md = md };
	struct ttrpc__buf b = { 0 };
	cr_assert_eq(ttrpc__wire_put_request(&b, 7, 0, &out, TTRPC_MAX_MESSAGE_SIZE), 0);
	struct ttrpc__frame_header h = header_of(&b);
	cr_assert_eq(h.stream_id, 7);
	cr_assert_eq(h.type, TTRPC__FRAME_REQUEST);
	cr_assert_eq(h.flags, 0);

	Ttrpc__Request *req = ttrpc__wire_decode_request(ttrpc__buf_head(&b) + 10, h.length);
	cr_assert_not_null(req);
	cr_assert_str_eq(req->service, "pkg.Svc");
	cr_assert_str_eq(req->method, "Do");
	cr_assert_eq(req->payload.len, sizeof(payload));
	cr_assert_arr_eq(req->payload.data, payload, sizeof(payload));
	cr_assert_eq(req->timeout_nano, 1500000000);
	struct ttrpc_md got = { 0 };
	cr_assert_eq(ttrpc__wire_request_md(req, &got), 0);
	cr_assert_eq(ttrpc_md_count(&got), 3);
	cr_assert_str_eq(ttrpc_md_get(&got, "containerd-namespace-ttrpc"), "default");
	const char *k, *v;
	ttrpc_md_at(&got, 2, &k, &v);
	cr_assert_str_eq(k, "k");
	cr_assert_str_eq(v, "v2");
	ttrpc__md_clear(&got);
	ttrpc__request__free_unpacked(req, NULL);
	ttrpc__buf_free(&b);
	ttrpc_md_free(md);
}

/* Bytes as Go's protobuf encoder writes them for Request{service:"a",method:"b",payload:"c"}. */
Test(wire, request_bytes_match_go_encoding)
{
	const uint8_t want[] = { 0x0a, 1, 'a', 0x12, 1, 'b', 0x1a, 1, 'c' };
	struct ttrpc__request_out out = { .service = "a", .method = "b", .payload = (const uint8_t *)"c", .len = 1 };
	struct ttrpc__buf b = { 0 };
	cr_assert_eq(ttrpc__wire_put_request(&b, 1, 0, &out, TTRPC_MAX_MESSAGE_SIZE), 0);
	cr_assert_eq(ttrpc__buf_pending(&b), 10 + sizeof(want));
	cr_assert_arr_eq(ttrpc__buf_head(&b) + 10, want, sizeof(want));
	ttrpc__buf_free(&b);
}

Test(wire, ok_response_has_no_status)
{
	struct ttrpc__buf b = { 0 };
	cr_assert_eq(ttrpc__wire_put_response(&b, 3, 0, NULL, (const uint8_t *)"xy", 2, TTRPC_MAX_MESSAGE_SIZE), 0);
	const uint8_t want[] = { 0x12, 2, 'x', 'y' };
	cr_assert_eq(ttrpc__buf_pending(&b), 10 + sizeof(want));
	cr_assert_arr_eq(ttrpc__buf_head(&b) + 10, want, sizeof(want));
	struct ttrpc__response_in r;
	cr_assert_eq(ttrpc__wire_decode_response(ttrpc__buf_head(&b) + 10, sizeof(want), &r), 0);
	cr_assert_eq(r.code, 0);
	cr_assert_eq(r.len, 2);
	ttrpc__wire_response_free(&r);
	ttrpc__buf_free(&b);
}

Test(wire, empty_ok_response_is_empty)
{
	struct ttrpc__buf b = { 0 };
	cr_assert_eq(ttrpc__wire_put_response(&b, 3, 0, NULL, NULL, 0, TTRPC_MAX_MESSAGE_SIZE), 0);
	cr_assert_eq(header_of(&b).length, 0);
	ttrpc__buf_free(&b);
}

Test(wire, error_response_round_trip)
{
	struct ttrpc__buf b = { 0 };
	cr_assert_eq(ttrpc__wire_put_response(&b, 5, 5, "no such thing", (const uint8_t *)"ignored", 7,
					      TTRPC_MAX_MESSAGE_SIZE),
		     0);
	struct ttrpc__frame_header h = header_of(&b);
	cr_assert_eq(h.type, TTRPC__FRAME_RESPONSE);
	struct ttrpc__response_in r;
	cr_assert_eq(ttrpc__wire_decode_response(ttrpc__buf_head(&b) + 10, h.length, &r), 0);
	cr_assert_eq(r.code, 5);
	cr_assert_str_eq(r.message, "no such thing");
	cr_assert_eq(r.len, 0);
	ttrpc__wire_response_free(&r);
	ttrpc__buf_free(&b);
}

Test(wire, oversized_request_is_refused_and_nothing_written)
{
	struct ttrpc__buf b = { 0 };
	static uint8_t big[TTRPC_MAX_MESSAGE_SIZE];
	struct ttrpc__request_out out = { .service = "s", .method = "m", .payload = big, .len = sizeof(big) };
	cr_assert_eq(ttrpc__wire_put_request(&b, 1, 0, &out, TTRPC_MAX_MESSAGE_SIZE), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc__buf_pending(&b), 0);
	out.len = TTRPC_MAX_MESSAGE_SIZE - 64;
	cr_assert_eq(ttrpc__wire_put_request(&b, 1, 0, &out, TTRPC_MAX_MESSAGE_SIZE), 0);
	ttrpc__buf_free(&b);
}

Test(wire, oversized_response_becomes_resource_exhausted)
{
	struct ttrpc__buf b = { 0 };
	static uint8_t big[TTRPC_MAX_MESSAGE_SIZE];
	cr_assert_eq(ttrpc__wire_put_response(&b, 9, 0, NULL, big, sizeof(big), TTRPC_MAX_MESSAGE_SIZE), TTRPC_ETOOBIG);
	struct ttrpc__frame_header h = header_of(&b);
	struct ttrpc__response_in r;
	cr_assert_eq(ttrpc__wire_decode_response(ttrpc__buf_head(&b) + 10, h.length, &r), 0);
	cr_assert_eq(r.code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert(strstr(r.message, "exceed maximum message size of 4194304"));
	ttrpc__wire_response_free(&r);
	ttrpc__buf_free(&b);
}

Test(wire, garbage_does_not_decode)
{
	const uint8_t junk[] = { 0x0a, 0x7f, 'a' }; /* string length past the end */
	cr_assert_null(ttrpc__wire_decode_request(junk, sizeof(junk)));
	struct ttrpc__response_in r;
	cr_assert_eq(ttrpc__wire_decode_response(junk, sizeof(junk), &r), TTRPC_EPROTO);
}

/* protobuf-c's encoding of the same Request, as the library wrote it before
 * it encoded the envelope itself. */
static size_t pbc_request(const struct ttrpc__request_out *r, uint8_t *buf)
{
	Ttrpc__Request msg = TTRPC__REQUEST__INIT;
	msg.service = (char *)r->service;
	msg.method = (char *)r->method;
	msg.payload.data = (uint8_t *)r->payload;
	msg.payload.len = r->len;
	msg.timeout_nano = r->timeout_ns;
	size_t n = ttrpc_md_count(r->md);
	Ttrpc__KeyValue kvs[8];
	Ttrpc__KeyValue *kvp[8];
	cr_assert_leq(n, 8);
	for (size_t i = 0; i < n; i++) {
		ttrpc__key_value__init(&kvs[i]);
		kvs[i].key = r->md->items[i].key;
		kvs[i].value = r->md->items[i].value;
		kvp[i] = &kvs[i];
	}
	msg.n_metadata = n;
	msg.metadata = kvp;
	return protobuf_c_message_pack(&msg.base, buf);
}

/* The hand-written encoders write exactly protobuf-c's bytes: empty and long
 * strings, multi-byte lengths, negative and large timeouts, metadata pairs
 * with empty keys and values. */
Test(wire, encoders_match_protobuf_c)
{
	static uint8_t big[300000], want[400000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	const char *names[] = { "", "a", "containerd.task.v2.Task",
				"a name longer than one hundred and twenty-seven bytes, so that its length "
				"takes two bytes of varint in the encoded message (128 and up)....." };
	const size_t lens[] = { 0, 1, 127, 128, 16383, 16384, sizeof(big) };
	const int64_t timeouts[] = { 0, 1, 127, 128, -1, INT64_MIN, INT64_MAX, 1500000000 };
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "", "");
	ttrpc_md_add(md, "k", "");
	ttrpc_md_add(md, "", "v");
	ttrpc_md_add(md, "containerd-namespace-ttrpc", names[3]);
	size_t cases = 0;
	for (size_t s = 0; s < 4; s++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (size_t t = 0; t < sizeof(timeouts) / sizeof(timeouts[0]); t++)
				for (int m = 0; m < 2; m++) {
					struct ttrpc__request_out out = { .service = names[s],
									  .method = names[3 - s],
									  .payload = big,
									  .len = lens[l],
									  .timeout_ns = timeouts[t],
									  .md = m ? md : NULL };
					struct ttrpc__buf b = { 0 };
					cr_assert_eq(ttrpc__wire_put_request(&b, 3, 0, &out, TTRPC_MAX_MESSAGE_SIZE),
						     0);
					struct ttrpc__frame_header h = header_of(&b);
					size_t n = pbc_request(&out, want);
					cr_assert_eq(h.length, n, "request %zu/%zu/%zu/%d: %u vs %zu", s, l, t, m,
						     h.length, n);
					cr_assert_arr_eq(ttrpc__buf_head(&b) + 10, want, n);
					ttrpc__buf_free(&b);
					cases++;
				}
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		struct ttrpc__buf b = { 0 };
		cr_assert_eq(ttrpc__wire_put_response(&b, 5, 0, NULL, big, lens[l], TTRPC_MAX_MESSAGE_SIZE), 0);
		struct ttrpc__frame_header h = header_of(&b);
		Ttrpc__Response msg = TTRPC__RESPONSE__INIT;
		msg.payload.data = big;
		msg.payload.len = lens[l];
		size_t n = protobuf_c_message_pack(&msg.base, want);
		cr_assert_eq(h.length, n);
		cr_assert_arr_eq(ttrpc__buf_head(&b) + 10, want, n);
		ttrpc__buf_free(&b);
		cases++;
	}
	cr_assert_eq(cases, 4 * 7 * 8 * 2 + 7);
	ttrpc_md_free(md);
}

/* A decode into a stack scratch block: small messages stay in it, a large
 * payload goes to the heap, both decode as from the heap. */
Test(wire, decode_in_scratch)
{
	static uint8_t big[5000];
	memset(big, 0x5a, sizeof(big));
	const size_t lens[] = { 0, 32, sizeof(big) };
	for (size_t l = 0; l < 3; l++) {
		ttrpc_md *md = ttrpc_md_new();
		ttrpc_md_add(md, "k", "v");
		struct ttrpc__request_out out = {
			.service = "s.S", .method = "M", .payload = big, .len = lens[l], .timeout_ns = -5, .md = md
		};
		struct ttrpc__buf b = { 0 };
		cr_assert_eq(ttrpc__wire_put_request(&b, 1, 0, &out, TTRPC_MAX_MESSAGE_SIZE), 0);
		struct ttrpc__frame_header h = header_of(&b);
		struct ttrpc__scratch scratch;
		ttrpc__scratch_init(&scratch);
		Ttrpc__Request *req = ttrpc__wire_decode_request_in(ttrpc__buf_head(&b) + 10, h.length, &scratch);
		cr_assert_not_null(req);
		cr_assert_str_eq(req->service, "s.S");
		cr_assert_str_eq(req->method, "M");
		cr_assert_eq(req->timeout_nano, -5);
		cr_assert_eq(req->payload.len, lens[l]);
		if (lens[l])
			cr_assert_arr_eq(req->payload.data, big, lens[l]);
		cr_assert_eq(req->n_metadata, 1);
		cr_assert_str_eq(req->metadata[0]->value, "v");
		bool in_block = (uint8_t *)req >= scratch.mem && (uint8_t *)req < scratch.mem + sizeof(scratch.mem);
		cr_assert(in_block);
		if (lens[l] > sizeof(scratch.mem))
			cr_assert(req->payload.data < scratch.mem ||
				  req->payload.data >= scratch.mem + sizeof(scratch.mem));
		ttrpc__request__free_unpacked(req, &scratch.alloc);
		ttrpc__buf_free(&b);

		cr_assert_eq(ttrpc__wire_put_response(&b, 1, 0, NULL, big, lens[l], TTRPC_MAX_MESSAGE_SIZE), 0);
		h = header_of(&b);
		ttrpc__scratch_init(&scratch);
		struct ttrpc__response_in r;
		cr_assert_eq(ttrpc__wire_decode_response_in(ttrpc__buf_head(&b) + 10, h.length, &r, &scratch), 0);
		cr_assert_eq(r.code, 0);
		cr_assert_eq(r.len, lens[l]);
		if (lens[l])
			cr_assert_arr_eq(r.payload, big, lens[l]);
		ttrpc__wire_response_free(&r);
		ttrpc__buf_free(&b);
		ttrpc_md_free(md);
	}
}

/* Responses decoded in place (the OK shape) or by protobuf-c read exactly as
 * protobuf-c alone reads them, valid or not. */
Test(wire, response_decode_matches_protobuf_c)
{
	static const struct {
		const char *name;
		size_t len;
		uint8_t b[16];
	} cases[] = {
		{ "ok", 5, { 0x12, 3, 'a', 'b', 'c' } },
		{ "ok, non-minimal length", 6, { 0x12, 0x83, 0x00, 'a', 'b', 'c' } },
		{ "ok, 6-byte length", 9, { 0x12, 0x83, 0x80, 0x80, 0x80, 0x80, 0x00, 'a', 'b' } },
		{ "empty payload", 2, { 0x12, 0 } },
		{ "empty", 0, { 0 } },
		{ "length past the end", 4, { 0x12, 3, 'a', 'b' } },
		{ "bytes after the payload", 6, { 0x12, 3, 'a', 'b', 'c', 0x08 } },
		{ "two payloads: the last wins", 8, { 0x12, 2, 'a', 'b', 0x12, 2, 'c', 'd' } },
		{ "payload and an unknown field", 7, { 0x12, 3, 'a', 'b', 'c', 0x18, 1 } },
		{ "status then payload", 10, { 0x0a, 4, 0x08, 5, 0x12, 0, 0x12, 2, 'x', 'y' } },
		{ "payload with the wrong wire type", 2, { 0x10, 3 } },
		{ "truncated varint", 2, { 0x12, 0x83 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Ttrpc__Response *want = ttrpc__response__unpack(NULL, cases[i].len, cases[i].b);
		struct ttrpc__scratch scratch;
		ttrpc__scratch_init(&scratch);
		struct ttrpc__response_in r;
		int rc = ttrpc__wire_decode_response_in(cases[i].b, cases[i].len, &r, &scratch);
		cr_assert_eq(rc == 0, want != NULL, "%s", cases[i].name);
		if (want) {
			cr_assert_eq(r.code, want->status ? want->status->code : 0, "%s", cases[i].name);
			cr_assert_eq(r.len, want->payload.len, "%s", cases[i].name);
			if (r.len)
				cr_assert_arr_eq(r.payload, want->payload.data, r.len, "%s", cases[i].name);
			ttrpc__response__free_unpacked(want, NULL);
		}
		ttrpc__wire_response_free(&r);
	}
}
