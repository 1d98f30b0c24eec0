/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <ttrpc/common.h>

#include "grpc_wire.h"

TestSuite(grpc_wire, .timeout = 30);

static void timeout_is(int64_t ns, const char *want)
{
	char buf[TTRPC__GRPC_TIMEOUT_MAX];
	size_t n = ttrpc__grpc_timeout_encode(ns, buf);
	cr_assert_str_eq(buf, want, "%lld ns", (long long)ns);
	cr_assert_eq(n, strlen(want));
}

Test(grpc_wire, timeout_encode_picks_the_finest_unit_that_fits)
{
	timeout_is(1, "1n");
	timeout_is(99999999, "99999999n");
	timeout_is(100000000, "100000u");
	timeout_is(100000001, "100001u"); /* rounded up: never earlier than asked */
	timeout_is(INT64_C(5000000000), "5000000u");
	timeout_is(INT64_C(200000000000), "200000m");
	timeout_is(INT64_C(100000000000000), "100000S");
	timeout_is(INT64_MAX, "2562048H");
	timeout_is(0, "1n");
}

Test(grpc_wire, timeout_decode)
{
	int64_t ns;
	cr_assert_eq(ttrpc__grpc_timeout_decode("1S", 2, &ns), 0);
	cr_assert_eq(ns, 1000000000);
	cr_assert_eq(ttrpc__grpc_timeout_decode("250m", 4, &ns), 0);
	cr_assert_eq(ns, 250000000);
	cr_assert_eq(ttrpc__grpc_timeout_decode("7u", 2, &ns), 0);
	cr_assert_eq(ns, 7000);
	cr_assert_eq(ttrpc__grpc_timeout_decode("3M", 2, &ns), 0);
	cr_assert_eq(ns, INT64_C(180000000000));
	cr_assert_eq(ttrpc__grpc_timeout_decode("99999999H", 9, &ns), 0);
	cr_assert_eq(ns, INT64_MAX);
	cr_assert_eq(ttrpc__grpc_timeout_decode("S", 1, &ns), TTRPC_EPROTO);
	cr_assert_eq(ttrpc__grpc_timeout_decode("123456789S", 10, &ns), TTRPC_EPROTO);
	cr_assert_eq(ttrpc__grpc_timeout_decode("12x", 3, &ns), TTRPC_EPROTO);
	cr_assert_eq(ttrpc__grpc_timeout_decode("1-S", 3, &ns), TTRPC_EPROTO);
	cr_assert_eq(ttrpc__grpc_timeout_decode("12", 2, &ns), TTRPC_EPROTO);
	/* round trip */
	char buf[TTRPC__GRPC_TIMEOUT_MAX];
	size_t n = ttrpc__grpc_timeout_encode(1234567891, buf);
	cr_assert_eq(ttrpc__grpc_timeout_decode(buf, n, &ns), 0);
	cr_assert_geq(ns, 1234567891);
	cr_assert_lt(ns, 1234567891 + 1000);
}

Test(grpc_wire, percent_round_trip)
{
	const char *msg = "a 100% ok\n\xc3\xa9~";
	char *enc = ttrpc__grpc_percent_encode(msg);
	cr_assert_str_eq(enc, "a 100%25 ok%0A%C3%A9~");
	char *dec = ttrpc__grpc_percent_decode((const uint8_t *)enc, strlen(enc));
	cr_assert_str_eq(dec, msg);
	free(enc);
	free(dec);
	/* bad escapes pass through; a short one at the end too */
	dec = ttrpc__grpc_percent_decode((const uint8_t *)"%zz%4", 5);
	cr_assert_str_eq(dec, "%zz%4");
	free(dec);
	dec = ttrpc__grpc_percent_decode((const uint8_t *)"%41%", 4);
	cr_assert_str_eq(dec, "A%");
	free(dec);
}

Test(grpc_wire, base64_unpadded_out_both_in)
{
	const char *cases[][2] = { { "", "" },	      { "f", "Zg" },	    { "fo", "Zm8" },
				   { "foo", "Zm9v" }, { "foob", "Zm9vYg" }, { "\xff\x01\x02\x03\x04", "/wECAwQ" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = ttrpc__grpc_b64_encode((const uint8_t *)cases[i][0], strlen(cases[i][0]));
		cr_assert_str_eq(enc, cases[i][1]);
		size_t n;
		uint8_t *dec = ttrpc__grpc_b64_decode(enc, strlen(enc), &n);
		cr_assert_not_null(dec);
		cr_assert_eq(n, strlen(cases[i][0]));
		cr_assert_arr_eq(dec, cases[i][0], n);
		free(dec);
		free(enc);
	}
	size_t n;
	uint8_t *dec = ttrpc__grpc_b64_decode("Zm8=", 4, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq((char *)dec, "fo");
	free(dec);
	dec = ttrpc__grpc_b64_decode("Zg==", 4, &n);
	cr_assert_eq(n, 1);
	free(dec);
	cr_assert_null(ttrpc__grpc_b64_decode("Z", 1, &n));
	cr_assert_null(ttrpc__grpc_b64_decode("Zm 9", 4, &n));
	cr_assert_null(ttrpc__grpc_b64_decode("Z=g=", 4, &n));
}

/* Every byte value and every length remainder survive a round trip, and the
 * alphabet is the standard one (the 64 values of 0x00..0xff in order). */
Test(grpc_wire, base64_all_bytes)
{
	uint8_t all[258];
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	char *enc = ttrpc__grpc_b64_encode(all, 3);
	cr_assert_str_eq(enc, "AAEC");
	free(enc);
	enc = ttrpc__grpc_b64_encode((const uint8_t *)"\xfb\xff\xbf", 3);
	cr_assert_str_eq(enc, "+/+/");
	free(enc);
	for (size_t len = 255; len <= sizeof(all); len++) {
		enc = ttrpc__grpc_b64_encode(all, len);
		cr_assert_not_null(enc);
		cr_assert_eq(strlen(enc), (len * 4 + 2) / 3);
		size_t n;
		uint8_t *dec = ttrpc__grpc_b64_decode(enc, strlen(enc), &n);
		cr_assert_not_null(dec);
		cr_assert_eq(n, len);
		cr_assert_arr_eq(dec, all, len);
		free(dec);
		free(enc);
	}
}

Test(grpc_wire, metadata_keys)
{
	cr_assert(ttrpc__grpc_md_key_valid("containerd-namespace", 20));
	cr_assert(ttrpc__grpc_md_key_valid("a_b.c-1", 7));
	cr_assert_not(ttrpc__grpc_md_key_valid("Upper", 5));
	cr_assert_not(ttrpc__grpc_md_key_valid("sp ace", 6));
	cr_assert_not(ttrpc__grpc_md_key_valid("", 0));
	cr_assert(ttrpc__grpc_md_key_binary("trace-bin", 9));
	cr_assert_not(ttrpc__grpc_md_key_binary("bin", 3));
	cr_assert(ttrpc__grpc_md_key_reserved(":path", 5));
	cr_assert(ttrpc__grpc_md_key_reserved("grpc-timeout", 12));
	cr_assert(ttrpc__grpc_md_key_reserved("content-type", 12));
	cr_assert(ttrpc__grpc_md_key_reserved("te", 2));
	cr_assert_not(ttrpc__grpc_md_key_reserved("tea", 3));
	cr_assert(ttrpc__grpc_md_value_valid("v 1~", 4));
	cr_assert_not(ttrpc__grpc_md_value_valid("a\nb", 3));
	cr_assert_not(ttrpc__grpc_md_value_valid("\xc3\xa9", 2));
}

Test(grpc_wire, content_type)
{
	cr_assert(ttrpc__grpc_content_type_valid("application/grpc", 16));
	cr_assert(ttrpc__grpc_content_type_valid("application/grpc+proto", 22));
	cr_assert(ttrpc__grpc_content_type_valid("Application/GRPC;charset=x", 27));
	cr_assert_not(ttrpc__grpc_content_type_valid("application/grpcx", 17));
	cr_assert_not(ttrpc__grpc_content_type_valid("application/json", 16));
	cr_assert_not(ttrpc__grpc_content_type_valid("application/grp", 15));
}

Test(grpc_wire, status_mappings)
{
	cr_assert_eq(ttrpc__grpc_code_from_http(404), TTRPC_CODE_UNIMPLEMENTED);
	cr_assert_eq(ttrpc__grpc_code_from_http(503), TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(ttrpc__grpc_code_from_http(401), TTRPC_CODE_UNAUTHENTICATED);
	cr_assert_eq(ttrpc__grpc_code_from_http(400), TTRPC_CODE_INTERNAL);
	cr_assert_eq(ttrpc__grpc_code_from_http(200), TTRPC_CODE_UNKNOWN);
	cr_assert_eq(ttrpc__grpc_code_from_h2_error(0x8), TTRPC_CODE_CANCELLED);
	cr_assert_eq(ttrpc__grpc_code_from_h2_error(0x7), TTRPC_CODE_UNAVAILABLE);
	cr_assert_eq(ttrpc__grpc_code_from_h2_error(0xb), TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert_eq(ttrpc__grpc_code_from_h2_error(0x0), TTRPC_CODE_INTERNAL);
}

struct got {
	int n;
	size_t lens[8];
	uint8_t first[8];
};

static int on_msg(void *user, const uint8_t *msg, size_t len)
{
	struct got *g = user;
	g->lens[g->n] = len;
	g->first[g->n] = len ? msg[0] : 0;
	g->n++;
	return 0;
}

Test(grpc_wire, reader_splits_and_joins)
{
	uint8_t stream[64];
	size_t n = 0;
	ttrpc__grpc_prefix_pack(stream + n, false, 3);
	n += 5;
	memcpy(stream + n, "abc", 3);
	n += 3;
	ttrpc__grpc_prefix_pack(stream + n, false, 0);
	n += 5;
	ttrpc__grpc_prefix_pack(stream + n, false, 2);
	n += 5;
	memcpy(stream + n, "xy", 2);
	n += 2;
	cr_assert_arr_eq(stream, ((uint8_t[]){ 0, 0, 0, 0, 3 }), 5);
	/* every split point, byte by byte and whole */
	for (size_t cut = 0; cut <= n; cut++) {
		struct ttrpc__grpc_reader r = { .max = 16 };
		struct got g = { 0 };
		cr_assert_eq(ttrpc__grpc_reader_feed(&r, stream, cut, on_msg, &g), 0);
		cr_assert_eq(ttrpc__grpc_reader_feed(&r, stream + cut, n - cut, on_msg, &g), 0);
		cr_assert_eq(g.n, 3, "cut %zu", cut);
		cr_assert_eq(g.lens[0], 3);
		cr_assert_eq(g.first[0], 'a');
		cr_assert_eq(g.lens[1], 0);
		cr_assert_eq(g.lens[2], 2);
		cr_assert_eq(g.first[2], 'x');
		cr_assert_not(ttrpc__grpc_reader_partial(&r));
		ttrpc__grpc_reader_free(&r);
	}
	struct ttrpc__grpc_reader r = { .max = 16 };
	struct got g = { 0 };
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ttrpc__grpc_reader_feed(&r, stream + i, 1, on_msg, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_eq(ttrpc__grpc_reader_feed(&r, stream, 7, on_msg, &g), 0);
	cr_assert(ttrpc__grpc_reader_partial(&r)); /* truncated */
	ttrpc__grpc_reader_free(&r);
}

Test(grpc_wire, reader_rejects_oversized_and_compressed)
{
	uint8_t hdr[5];
	struct got g = { 0 };
	struct ttrpc__grpc_reader r = { .max = 16 };
	ttrpc__grpc_prefix_pack(hdr, false, 17);
	cr_assert_eq(ttrpc__grpc_reader_feed(&r, hdr, 5, on_msg, &g), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc__grpc_reader_feed(&r, hdr, 5, on_msg, &g), 0); /* ignored from now on */
	cr_assert_eq(g.n, 0);
	ttrpc__grpc_reader_free(&r);

	struct ttrpc__grpc_reader c = { .max = 16 };
	ttrpc__grpc_prefix_pack(hdr, true, 1);
	cr_assert_eq(ttrpc__grpc_reader_feed(&c, hdr, 5, on_msg, &g), TTRPC_EPROTO);
	ttrpc__grpc_reader_free(&c);
	/* exactly the limit is fine */
	struct ttrpc__grpc_reader l = { .max = 4 };
	uint8_t m[9];
	ttrpc__grpc_prefix_pack(m, false, 4);
	memcpy(m + 5, "abcd", 4);
	cr_assert_eq(ttrpc__grpc_reader_feed(&l, m, 9, on_msg, &g), 0);
	cr_assert_eq(g.n, 1);
	ttrpc__grpc_reader_free(&l);
}
