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
