/* SPDX-License-Identifier: Apache-2.0 */
/* The server cases: ttrpc-conform server. References: containerd/ttrpc PROTOCOL.md,
 * server.go / channel.go / services.go of v1.2.7 (line numbers of that tag). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_util.h"

#define OK_ONLY ACCEPT(CF_OK)
#define INVALID ACCEPT(CF_INVALID_ARGUMENT)
#define UNIMPL ACCEPT(CF_UNIMPLEMENTED)
#define NOT_OK (~ACCEPT(CF_OK) & ~ACCEPT_CLOSE)

static const uint8_t echo_hi[] = { 0x0a, 0x02, 'h', 'i' };

static void echo_probe(const struct cf_ctx *ctx, struct cf_result *r, uint32_t sid, uint8_t flags)
{
	struct probe p = { .sid = sid, .flags = flags, .req = cf_echo_req("hello"), .accept = OK_ONLY, .echo = "hello" };
	cf_run_probe(ctx, r, &p);
}

static void raw_probe(const struct cf_ctx *ctx, struct cf_result *r, uint32_t sid, uint8_t type, uint8_t flags,
		      const void *data, size_t n, uint32_t accept)
{
	struct probe p = { .sid = sid,
			   .type = type,
			   .explicit_type = true,
			   .flags = flags,
			   .raw = true,
			   .raw_data = data,
			   .raw_len = n,
			   .accept = accept };
	cf_run_probe(ctx, r, &p);
}

static void req_probe(const struct cf_ctx *ctx, struct cf_result *r, const char *service, const char *method,
		      uint32_t accept)
{
	struct probe p = { .sid = 1, .accept = accept };
	p.req = cf_echo_req("hi");
	p.req.service = service;
	p.req.method = method;
	cf_run_probe(ctx, r, &p);
}

/* --- framing --- */

static void frm_echo(const struct cf_ctx *ctx, struct cf_result *r)
{
	echo_probe(ctx, r, 1, 0);
}

static void send_split(const struct cf_ctx *ctx, struct cf_result *r, size_t first, int delay_ms, bool bytewise)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_buf req = { 0 }, frame = { 0 };
	struct cf_req q = cf_echo_req("split");
	cf_encode_request(&req, &q);
	uint8_t h[CF_HEADER];
	cf_put_header(h, (uint32_t)req.len, 1, CF_REQUEST, 0);
	cf_buf_put(&frame, h, sizeof(h));
	cf_buf_put(&frame, req.data, req.len);
	struct timespec ts = { 0, (long)delay_ms * 1000000 };
	size_t step = bytewise ? 1 : first;
	for (size_t off = 0; off < frame.len;) {
		size_t n = off < first ? step : frame.len - off;
		if (off + n > frame.len)
			n = frame.len - off;
		cf_write(&c, frame.data + off, n);
		off += n;
		nanosleep(&ts, NULL);
	}
	cf_buf_free(&req);
	cf_buf_free(&frame);
	struct cf_resp resp;
	struct cf_frame f;
	if (cf_expect_response(&c, 1, &resp, &f, r, "split Echo")) {
		char d[300];
		cf_describe(&f, d, sizeof(d));
		if (resp.has_status && resp.code)
			cf_fail(r, "%s", d);
		else
			cf_pass(r, "%s", d);
		cf_frame_free(&f);
	}
	cf_close(&c);
}

static void frm_header_bytewise(const struct cf_ctx *ctx, struct cf_result *r)
{
	send_split(ctx, r, CF_HEADER, 5, true);
}

static void frm_split_body(const struct cf_ctx *ctx, struct cf_result *r)
{
	send_split(ctx, r, CF_HEADER + 7, 50, false);
}

static void frm_two_in_one_write(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_buf out = { 0 };
	for (uint32_t sid = 1; sid <= 3; sid += 2) {
		struct cf_buf req = { 0 };
		struct cf_req q = cf_echo_req("two");
		cf_encode_request(&req, &q);
		uint8_t h[CF_HEADER];
		cf_put_header(h, (uint32_t)req.len, sid, CF_REQUEST, 0);
		cf_buf_put(&out, h, sizeof(h));
		cf_buf_put(&out, req.data, req.len);
		cf_buf_free(&req);
	}
	struct cf_frame f[2];
	int got = cf_pump(&c, out.data, out.len, f, 2, CF_WAIT_MS);
	cf_buf_free(&out);
	bool seen1 = false, seen3 = false;
	for (int i = 0; i < got; i++) {
		seen1 |= f[i].stream_id == 1 && f[i].type == CF_RESPONSE;
		seen3 |= f[i].stream_id == 3 && f[i].type == CF_RESPONSE;
		cf_frame_free(&f[i]);
	}
	if (seen1 && seen3)
		cf_pass(r, "both answered (sid 1 and 3)");
	else
		cf_fail(r, "got %d answers (sid1=%d sid3=%d)", got, seen1, seen3);
	cf_close(&c);
}

static void frm_empty_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, CF_REQUEST, 0, "", 0, UNIMPL);
}

static void frm_unknown_type(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, 0x7f, 0, echo_hi, sizeof(echo_hi), ACCEPT_NONE);
}

static void frm_type_zero(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, 0x00, 0, "abc", 3, ACCEPT_NONE);
}

static void frm_response_from_client(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, CF_RESPONSE, 0, "", 0, ACCEPT_NONE);
}

static void frm_unknown_flags(const struct cf_ctx *ctx, struct cf_result *r)
{
	echo_probe(ctx, r, 1, 0xf0);
}

static void frm_remote_closed_unary(const struct cf_ctx *ctx, struct cf_result *r)
{
	echo_probe(ctx, r, 1, CF_REMOTE_CLOSED);
}

static void frm_unknown_type_big(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_t n = 1 << 20;
	uint8_t *junk = calloc(1, n);
	raw_probe(ctx, r, 1, 0x42, 0, junk, n, ACCEPT_NONE);
	free(junk);
}

/* --- stream ids --- */

static void sid_even(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct probe p = { .sid = 2, .req = cf_echo_req("even"), .accept = INVALID };
	cf_run_probe(ctx, r, &p);
}

static void sid_zero(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct probe p = { .sid = 0, .req = cf_echo_req("zero"), .accept = INVALID };
	cf_run_probe(ctx, r, &p);
}

static void sid_even_garbage(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 4, CF_REQUEST, 0, "\xff\xff\xff", 3, INVALID | ACCEPT_CLOSE);
}

/* Two requests in order; the second one's answer must be `accept`. */
static void sid_pair(const struct cf_ctx *ctx, struct cf_result *r, uint32_t first, uint32_t second, uint32_t accept,
		     uint32_t after)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_req q = cf_echo_req("first");
	cf_send_request(&c, first, 0, &q);
	struct cf_resp resp;
	struct cf_frame f;
	if (!cf_expect_response(&c, first, &resp, &f, r, "first request")) {
		cf_close(&c);
		return;
	}
	cf_frame_free(&f);
	q = cf_echo_req("second");
	cf_send_request(&c, second, 0, &q);
	if (cf_expect_response(&c, second, &resp, &f, r, "second request")) {
		char d[300];
		cf_describe(&f, d, sizeof(d));
		int code = resp.has_status ? resp.code : 0;
		if (accept & ACCEPT(code)) {
			cf_pass(r, "sid %u then %u: %s", first, second, d);
			if (after)
				cf_expect_usable(&c, after, r, "Echo on a higher id");
		} else {
			cf_fail(r, "sid %u then %u: want %s, got %s", first, second,
				accept == INVALID ? "INVALID_ARGUMENT" : "OK", d);
		}
		cf_frame_free(&f);
	}
	cf_close(&c);
}

static void sid_decrease(const struct cf_ctx *ctx, struct cf_result *r)
{
	sid_pair(ctx, r, 5, 3, INVALID, 7);
}

static void sid_reuse(const struct cf_ctx *ctx, struct cf_result *r)
{
	sid_pair(ctx, r, 1, 1, INVALID, 3);
}

static void sid_gap(const struct cf_ctx *ctx, struct cf_result *r)
{
	sid_pair(ctx, r, 1, 101, OK_ONLY, 103);
}

static void sid_max(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct probe p = {
		.sid = 0xffffffffu, .req = cf_echo_req("max"), .accept = OK_ONLY, .echo = "max", .skip_usable = true
	};
	cf_run_probe(ctx, r, &p);
}

static void sid_high_bit(const struct cf_ctx *ctx, struct cf_result *r)
{
	echo_probe(ctx, r, 0x80000001u, 0);
}

/* --- sizes --- */

/* An Echo Request frame whose payload is exactly total bytes. */
static void echo_frame_of_size(struct cf_buf *out, uint32_t sid, size_t total, uint32_t length_field)
{
	/* Request = service + method + payload(EchoMessage(bytes)); solve for the bytes. */
	size_t fixed = 2 + strlen(CF_SERVICE) + 2 + 4;
	size_t data = total - fixed - 10;
	for (;;) {
		struct cf_buf m = { 0 }, req = { 0 };
		uint8_t *fill = malloc(data);
		memset(fill, 'z', data);
		cf_encode_echo(&m, fill, data);
		free(fill);
		struct cf_req q = { .service = CF_SERVICE,
				    .method = "Echo",
				    .payload = m.data,
				    .payload_len = m.len,
				    .has_payload = true };
		cf_encode_request(&req, &q);
		cf_buf_free(&m);
		if (req.len < total) {
			data += total - req.len;
			cf_buf_free(&req);
			continue;
		}
		if (req.len > total) {
			data -= req.len - total;
			cf_buf_free(&req);
			continue;
		}
		uint8_t h[CF_HEADER];
		cf_put_header(h, length_field ? length_field : (uint32_t)req.len, sid, CF_REQUEST, 0);
		cf_buf_put(out, h, sizeof(h));
		cf_buf_put(out, req.data, req.len);
		cf_buf_free(&req);
		return;
	}
}

static void size_exact(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_buf out = { 0 };
	echo_frame_of_size(&out, 1, CF_MAX_PAYLOAD, 0);
	struct cf_frame f;
	int got = cf_pump(&c, out.data, out.len, &f, 1, 10000);
	cf_buf_free(&out);
	if (got != 1) {
		cf_fail(r, "no answer to a Request of exactly 4194304 bytes");
	} else {
		char d[300];
		cf_describe(&f, d, sizeof(d));
		struct cf_resp resp;
		const uint8_t *data;
		size_t n;
		if (f.type == CF_RESPONSE && f.stream_id == 1 && !cf_decode_response(f.payload, f.length, &resp) &&
		    (!resp.has_status || !resp.code) && !cf_decode_echo(resp.payload, resp.payload_len, &data, &n) &&
		    n > CF_MAX_PAYLOAD - 64)
			cf_pass(r, "4194304-byte Request answered: %s", d);
		else
			cf_fail(r, "4194304-byte Request: %s", d);
		cf_frame_free(&f);
	}
	cf_close(&c);
}

/* A frame of total+1 bytes (really sent), then optionally an Echo in the same write. */
static void size_over(const struct cf_ctx *ctx, struct cf_result *r, size_t total, bool same_write, bool want_text)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_buf out = { 0 };
	echo_frame_of_size(&out, 1, total, 0);
	if (same_write) {
		struct cf_buf req = { 0 };
		struct cf_req q = cf_echo_req("still-usable");
		cf_encode_request(&req, &q);
		uint8_t h[CF_HEADER];
		cf_put_header(h, (uint32_t)req.len, 3, CF_REQUEST, 0);
		cf_buf_put(&out, h, sizeof(h));
		cf_buf_put(&out, req.data, req.len);
		cf_buf_free(&req);
	}
	struct cf_frame f[2];
	int got = cf_pump(&c, out.data, out.len, f, same_write ? 2 : 1, 15000);
	cf_buf_free(&out);
	char d[300] = "nothing";
	if (got >= 1)
		cf_describe(&f[0], d, sizeof(d));
	struct cf_resp resp;
	if (got < 1 || f[0].type != CF_RESPONSE || f[0].stream_id != 1 ||
	    cf_decode_response(f[0].payload, f[0].length, &resp) || !resp.has_status ||
	    resp.code != CF_RESOURCE_EXHAUSTED) {
		cf_fail(r, "%zu-byte Request: want RESOURCE_EXHAUSTED on sid 1, got %s", total, d);
	} else if (want_text && !strstr(resp.message, "exceed")) {
		cf_fail(r, "message does not say the size was exceeded: %s", d);
	} else if (same_write) {
		char d2[300] = "nothing";
		if (got == 2)
			cf_describe(&f[1], d2, sizeof(d2));
		struct cf_resp r2;
		const uint8_t *data;
		size_t n;
		if (got == 2 && f[1].stream_id == 3 && !cf_decode_response(f[1].payload, f[1].length, &r2) &&
		    (!r2.has_status || !r2.code) && !cf_decode_echo(r2.payload, r2.payload_len, &data, &n) && n == 12)
			cf_pass(r, "%s; the Echo behind it in the same write: %s", d, d2);
		else
			cf_fail(r, "%s; the Echo behind it in the same write: %s", d, d2);
	} else {
		cf_pass(r, "%s", d);
		cf_expect_usable(&c, 3, r, "Echo after it");
	}
	for (int i = 0; i < got; i++)
		cf_frame_free(&f[i]);
	cf_close(&c);
}

static void size_plus_one(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_over(ctx, r, CF_MAX_PAYLOAD + 1, false, false);
}

static void size_plus_one_pipelined(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_over(ctx, r, CF_MAX_PAYLOAD + 1, true, false);
}

static void size_message(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_over(ctx, r, CF_MAX_PAYLOAD + 1, false, true);
}

static void size_16mib(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_over(ctx, r, 16u << 20, false, false);
}

static void size_huge_length(const struct cf_ctx *ctx, struct cf_result *r)
{
	long rss0 = cf_rss_kib(ctx->pid);
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	uint8_t h[CF_HEADER + 8];
	cf_put_header(h, 0xfffffff0u, 1, CF_REQUEST, 0);
	memcpy(h + CF_HEADER, "\x0a\x14ttrpc.", 8);
	cf_write(&c, h, sizeof(h));
	struct timespec ts = { 0, 300 * 1000000 };
	nanosleep(&ts, NULL);
	if (cf_fresh_echo(ctx, r, "a connection announced 4294967280 bytes")) {
		long rss1 = cf_rss_kib(ctx->pid);
		if (rss0 >= 0 && rss1 - rss0 > 65536)
			cf_fail(r, "server RSS grew by %ld KiB after the announcement", rss1 - rss0);
		else if (rss0 >= 0)
			cf_pass(r, "other connections served; RSS %ld -> %ld KiB", rss0, rss1);
		else
			cf_pass(r, "other connections served (no --pid: RSS not checked)");
	}
	cf_close(&c);
}

static void size_empty_echo(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct probe p = { .sid = 1, .req = cf_echo_req(""), .accept = OK_ONLY, .echo = "" };
	p.req.has_payload = false; /* Request.payload absent: the empty EchoMessage is zero bytes */
	cf_run_probe(ctx, r, &p);
}

/* --- undecodable payloads --- */

static void pl_garbage(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const uint8_t g[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	raw_probe(ctx, r, 1, CF_REQUEST, 0, g, sizeof(g), INVALID | ACCEPT_CLOSE);
}

static void pl_truncated_varint(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, CF_REQUEST, 0, "\x0a\x80", 2, INVALID | ACCEPT_CLOSE);
}

static void pl_truncated_length(const struct cf_ctx *ctx, struct cf_result *r)
{
	raw_probe(ctx, r, 1, CF_REQUEST, 0, "\x0a\x64ttr", 5, INVALID | ACCEPT_CLOSE);
}

static void pl_wrong_wire_type(const struct cf_ctx *ctx, struct cf_result *r)
{
	/* service (field 1, a string) sent as a varint */
	raw_probe(ctx, r, 1, CF_REQUEST, 0,
		  "\x08\x01\x12\x04"
		  "Echo",
		  8, INVALID | ACCEPT_CLOSE | UNIMPL);
}

static void pl_bad_group(const struct cf_ctx *ctx, struct cf_result *r)
{
	/* wire types 6 and 7 do not exist */
	raw_probe(ctx, r, 1, CF_REQUEST, 0, "\x0f\x00", 2, INVALID | ACCEPT_CLOSE);
}

static void pl_unknown_field(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_buf b = { 0 };
	struct cf_req q = cf_echo_req("hello");
	cf_encode_request(&b, &q);
	cf_pb_uint(&b, 99, 7);
	cf_pb_string(&b, 100, "unknown");
	raw_probe(ctx, r, 1, CF_REQUEST, 0, b.data, b.len, OK_ONLY);
	cf_buf_free(&b);
}

static void pl_duplicate_method(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_buf b = { 0 };
	cf_pb_string(&b, 2, "Nope");
	struct cf_req q = cf_echo_req("hello");
	cf_encode_request(&b, &q); /* a later method = "Echo": the last one wins */
	raw_probe(ctx, r, 1, CF_REQUEST, 0, b.data, b.len, OK_ONLY);
	cf_buf_free(&b);
}

static void nul_probe(const struct cf_ctx *ctx, struct cf_result *r, bool in_service)
{
	struct cf_buf b = { 0 };
	if (in_service)
		cf_pb_bytes(&b, 1, CF_SERVICE "\0x", strlen(CF_SERVICE) + 2);
	else
		cf_pb_string(&b, 1, CF_SERVICE);
	if (in_service)
		cf_pb_string(&b, 2, "Echo");
	else
		cf_pb_bytes(&b, 2, "Echo\0x", 6);
	cf_pb_bytes(&b, 3, echo_hi, sizeof(echo_hi));
	raw_probe(ctx, r, 1, CF_REQUEST, 0, b.data, b.len, NOT_OK | ACCEPT_CLOSE);
	cf_buf_free(&b);
}

static void pl_nul_in_method(const struct cf_ctx *ctx, struct cf_result *r)
{
	nul_probe(ctx, r, false);
}

static void pl_nul_in_service(const struct cf_ctx *ctx, struct cf_result *r)
{
	nul_probe(ctx, r, true);
}

static void pl_bad_echo_payload(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct probe p = { .sid = 1, .accept = NOT_OK };
	p.req = cf_echo_req("");
	p.req.payload = (const uint8_t *)"\x0a\x50short";
	p.req.payload_len = 7;
	cf_run_probe(ctx, r, &p);
}

static void pl_non_utf8_service(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "ttrpc.\xff\xfe.Bench", "Echo", NOT_OK | ACCEPT_CLOSE);
}

/* --- services and methods --- */

static void svc_unknown_service(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "ttrpc.nope.v1.Nope", "Echo", UNIMPL);
}

static void svc_unknown_method(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, CF_SERVICE, "Nope", UNIMPL);
}

static void svc_empty_names(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "", "", UNIMPL);
}

static void svc_method_case(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, CF_SERVICE, "echo", UNIMPL);
}

static void svc_service_case(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "ttrpc.bench.v1.bench", "Echo", UNIMPL);
}

static void svc_full_path(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "", "/" CF_SERVICE "/Echo", UNIMPL);
}

static void svc_split_differently(const struct cf_ctx *ctx, struct cf_result *r)
{
	req_probe(ctx, r, "ttrpc.bench.v1", "Bench.Echo", UNIMPL);
}

/* --- status codes and messages --- */

static void error_shape(const struct cf_ctx *ctx, struct cf_result *r, int what)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_req q = cf_echo_req("x");
	q.method = what == 3 ? "Echo" : "Nope";
	cf_send_request(&c, 1, 0, &q);
	struct cf_resp resp;
	struct cf_frame f;
	if (cf_expect_response(&c, 1, &resp, &f, r, "request")) {
		char d[300];
		cf_describe(&f, d, sizeof(d));
		bool ok;
		switch (what) {
		case 0: /* message */
			ok = resp.has_status && resp.code && resp.message[0];
			break;
		case 1: /* no payload with an error */
			ok = resp.has_status && resp.code && !resp.payload_len;
			break;
		case 2: /* flags */
		case 3:
			ok = f.flags == 0;
			break;
		default:
			ok = false;
		}
		if (what == 3 && resp.has_status && resp.code)
			ok = false;
		if (ok)
			cf_pass(r, "%s", d);
		else
			cf_fail(r, "%s%s", d, what == 1 && resp.payload_len ? " (carries a payload)" : "");
		cf_frame_free(&f);
	}
	cf_close(&c);
}

static void st_error_message(const struct cf_ctx *ctx, struct cf_result *r)
{
	error_shape(ctx, r, 0);
}

static void st_error_no_payload(const struct cf_ctx *ctx, struct cf_result *r)
{
	error_shape(ctx, r, 1);
}

static void st_error_flags(const struct cf_ctx *ctx, struct cf_result *r)
{
	error_shape(ctx, r, 2);
}

static void st_ok_flags(const struct cf_ctx *ctx, struct cf_result *r)
{
	error_shape(ctx, r, 3);
}

static void st_ok_status(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_req q = cf_echo_req("x");
	cf_send_request(&c, 1, 0, &q);
	struct cf_resp resp;
	struct cf_frame f;
	if (cf_expect_response(&c, 1, &resp, &f, r, "Echo")) {
		if (!resp.has_status)
			cf_pass(r, "status absent");
		else if (resp.code == 0 && !resp.message[0])
			cf_pass(r, "status present with code 0");
		else
			cf_fail(r, "status code=%d message='%s' on a success", resp.code, resp.message);
		cf_frame_free(&f);
	}
	cf_close(&c);
}

/* --- metadata --- */

static void md_probe(const struct cf_ctx *ctx, struct cf_result *r, const struct cf_kv *md, size_t n)
{
	struct probe p = { .sid = 1, .req = cf_echo_req("md"), .accept = OK_ONLY, .echo = "md" };
	p.req.md = md;
	p.req.n_md = n;
	cf_run_probe(ctx, r, &p);
}

static void md_one(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const struct cf_kv md[] = { { "containerd-namespace-ttrpc", "default" } };
	md_probe(ctx, r, md, 1);
}

static void md_repeated(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const struct cf_kv md[] = { { "key", "one" }, { "key", "two" }, { "key", "three" } };
	md_probe(ctx, r, md, 3);
}

static void md_case(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const struct cf_kv md[] = { { "Key-Upper", "A" }, { "key-upper", "b" }, { "KEY-UPPER", "c" } };
	md_probe(ctx, r, md, 3);
}

static void md_empty(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const struct cf_kv md[] = { { "", "" }, { "empty-value", "" } };
	md_probe(ctx, r, md, 2);
}

static void md_many(const struct cf_ctx *ctx, struct cf_result *r)
{
	enum {
		N = 1000
	};
	struct cf_kv *md = calloc(N, sizeof(*md));
	char(*keys)[16] = calloc(N, 16);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], 16, "k%d", i);
		md[i].key = keys[i];
		md[i].value = "v";
	}
	md_probe(ctx, r, md, N);
	free(keys);
	free(md);
}

static void md_big_value(const struct cf_ctx *ctx, struct cf_result *r)
{
	size_t n = 64 * 1024;
	char *v = malloc(n + 1);
	memset(v, 'v', n);
	v[n] = 0;
	struct cf_kv md[] = { { "big", v } };
	md_probe(ctx, r, md, 1);
	free(v);
}

static void md_binary_value(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const struct cf_kv md[] = { { "bin", "\x01\x7f\xc3\xa9" }, { "tab", "a\tb" } };
	md_probe(ctx, r, md, 2);
}

static void md_no_value_field(const struct cf_ctx *ctx, struct cf_result *r)
{
	/* KeyValue with only a key, and one with neither field */
	struct cf_buf b = { 0 };
	struct cf_req q = cf_echo_req("md");
	cf_encode_request(&b, &q);
	cf_pb_bytes(&b, 5, "\x0a\x03key", 5);
	cf_pb_bytes(&b, 5, "", 0);
	struct probe p = {
		.sid = 1, .raw = true, .raw_data = b.data, .raw_len = b.len, .accept = OK_ONLY, .echo = "md"
	};
	cf_run_probe(ctx, r, &p);
	cf_buf_free(&b);
}

/* --- timeouts --- */

static void to_probe(const struct cf_ctx *ctx, struct cf_result *r, int64_t timeout, uint32_t accept)
{
	struct probe p = { .sid = 1, .req = cf_echo_req("to"), .accept = accept, .echo = "to" };
	p.req.timeout_nano = timeout;
	cf_run_probe(ctx, r, &p);
}

static void to_zero(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, 0, OK_ONLY);
}

static void to_negative(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, -1, OK_ONLY | ACCEPT(CF_DEADLINE_EXCEEDED));
}

static void to_tiny(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, 1, OK_ONLY | ACCEPT(CF_DEADLINE_EXCEEDED));
}

static void to_int64_max(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, INT64_MAX, OK_ONLY);
}

static void to_int64_min(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, INT64_MIN, OK_ONLY | ACCEPT(CF_DEADLINE_EXCEEDED));
}

static void to_ten_seconds(const struct cf_ctx *ctx, struct cf_result *r)
{
	to_probe(ctx, r, 10ll * 1000 * 1000 * 1000, OK_ONLY);
}

/* --- pipelining --- */

/* n Echo requests of size bytes each on one connection, all written before reading. */
static void pipe_burst(const struct cf_ctx *ctx, struct cf_result *r, int n, size_t size, size_t big_first)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_buf out = { 0 };
	char *text = malloc((size > big_first ? size : big_first) + 16);
	for (int i = 0; i < n; i++) {
		size_t len = i == 0 && big_first ? big_first : size;
		memset(text, 'a' + i % 26, len);
		int k = snprintf(text, 16, "%d:", i);
		text[k] = ':';
		struct cf_buf m = { 0 }, req = { 0 };
		cf_encode_echo(&m, text, len);
		struct cf_req q = { .service = CF_SERVICE,
				    .method = "Echo",
				    .payload = m.data,
				    .payload_len = m.len,
				    .has_payload = true };
		cf_encode_request(&req, &q);
		uint8_t h[CF_HEADER];
		cf_put_header(h, (uint32_t)req.len, (uint32_t)(2 * i + 1), CF_REQUEST, 0);
		cf_buf_put(&out, h, sizeof(h));
		cf_buf_put(&out, req.data, req.len);
		cf_buf_free(&m);
		cf_buf_free(&req);
	}
	struct cf_frame *f = calloc((size_t)n, sizeof(*f));
	char *seen = calloc((size_t)n, 1);
	int got = cf_pump(&c, out.data, out.len, f, n, 30000);
	cf_buf_free(&out);
	int bad = 0, dup = 0, in_order = 1;
	char first_bad[300] = "";
	for (int i = 0; i < got; i++) {
		struct cf_resp resp;
		const uint8_t *data;
		size_t dn;
		uint32_t idx = (f[i].stream_id - 1) / 2;
		if (f[i].stream_id % 2 == 0 || idx >= (uint32_t)n || f[i].type != CF_RESPONSE ||
		    cf_decode_response(f[i].payload, f[i].length, &resp) || (resp.has_status && resp.code) ||
		    cf_decode_echo(resp.payload, resp.payload_len, &data, &dn)) {
			if (!bad++)
				cf_describe(&f[i], first_bad, sizeof(first_bad));
		} else {
			char prefix[16];
			int k = snprintf(prefix, sizeof(prefix), "%u:", idx);
			size_t want = idx == 0 && big_first ? big_first : size;
			if (dn != want || memcmp(data, prefix, (size_t)k)) {
				if (!bad++)
					snprintf(first_bad, sizeof(first_bad), "sid %u: wrong payload", f[i].stream_id);
			}
			if (seen[idx]++)
				dup++;
			if (idx != (uint32_t)i)
				in_order = 0;
		}
		cf_frame_free(&f[i]);
	}
	if (got == n && !bad && !dup)
		cf_pass(r, "%d answers, each its own payload (%s)", n, in_order ? "in order" : "out of order");
	else
		cf_fail(r, "%d of %d answers, %d wrong, %d duplicated%s%s", got, n, bad, dup, bad ? "; first: " : "",
			first_bad);
	free(seen);
	free(f);
	free(text);
	cf_close(&c);
}

static void pipe_100(const struct cf_ctx *ctx, struct cf_result *r)
{
	pipe_burst(ctx, r, 100, 32, 0);
}

static void pipe_mixed(const struct cf_ctx *ctx, struct cf_result *r)
{
	pipe_burst(ctx, r, 21, 16, 1 << 20);
}

static void pipe_unread(const struct cf_ctx *ctx, struct cf_result *r)
{
	pipe_burst(ctx, r, 16, 1 << 20, 0);
}

static void pipe_connections(const struct cf_ctx *ctx, struct cf_result *r)
{
	enum {
		CONNS = 16,
		PER = 8
	};
	struct cf_conn c[CONNS];
	int opened = 0, answered = 0;
	for (int i = 0; i < CONNS; i++) {
		if (cf_connect(&c[i], ctx->socket))
			break;
		opened++;
		for (int k = 0; k < PER; k++) {
			struct cf_req q = cf_echo_req("conn");
			cf_send_request(&c[i], (uint32_t)(2 * k + 1), 0, &q);
		}
	}
	for (int i = 0; i < opened; i++) {
		for (int k = 0; k < PER; k++) {
			struct cf_frame f;
			if (cf_recv(&c[i], &f, CF_WAIT_MS) == 1) {
				struct cf_resp resp;
				if (f.type == CF_RESPONSE && !cf_decode_response(f.payload, f.length, &resp) &&
				    (!resp.has_status || !resp.code))
					answered++;
				cf_frame_free(&f);
			}
		}
		cf_close(&c[i]);
	}
	if (answered == CONNS * PER)
		cf_pass(r, "%d connections x %d calls answered", CONNS, PER);
	else
		cf_fail(r, "%d of %d calls answered on %d connections", answered, CONNS * PER, opened);
}

/* --- half frames and disconnects --- */

static void half_frame(struct cf_conn *c, bool in_header)
{
	uint8_t h[CF_HEADER + 40];
	cf_put_header(h, 100, 1, CF_REQUEST, 0);
	memset(h + CF_HEADER, 0x0a, 40);
	cf_write(c, h, in_header ? 5 : sizeof(h));
}

static void disc_stalled_peer(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn stalled;
	if (!cf_open(ctx, &stalled, r))
		return;
	half_frame(&stalled, false);
	if (cf_fresh_echo(ctx, r, "a connection stalled mid-frame"))
		cf_pass(r, "another connection was served while one stalled mid-frame");
	cf_close(&stalled);
}

static void disc_survive(const struct cf_ctx *ctx, struct cf_result *r, int how)
{
	static const char *what[] = { "closed mid-header", "closed mid-body", "reset mid-body",
				      "closed after a request without reading" };
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	if (how == 3) {
		struct cf_req q = cf_echo_req("gone");
		cf_send_request(&c, 1, 0, &q);
	} else {
		half_frame(&c, how == 0);
	}
	if (how == 2)
		cf_reset(&c);
	else
		cf_close(&c);
	if (cf_fresh_echo(ctx, r, what[how]))
		cf_pass(r, "a peer %s; the server serves a new connection", what[how]);
}

static void disc_half_header(const struct cf_ctx *ctx, struct cf_result *r)
{
	disc_survive(ctx, r, 0);
}

static void disc_half_body(const struct cf_ctx *ctx, struct cf_result *r)
{
	disc_survive(ctx, r, 1);
}

static void disc_reset(const struct cf_ctx *ctx, struct cf_result *r)
{
	disc_survive(ctx, r, 2);
}

static void disc_after_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	disc_survive(ctx, r, 3);
}

static void disc_half_close_answered(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct cf_req q = cf_echo_req("half-closed");
	cf_send_request(&c, 1, 0, &q);
	shutdown(c.fd, SHUT_WR);
	struct cf_resp resp;
	struct cf_frame f;
	if (cf_expect_response(&c, 1, &resp, &f, r, "Echo then shutdown(SHUT_WR)")) {
		cf_pass(r, "answered after the client's half-close");
		cf_frame_free(&f);
	}
	cf_close(&c);
}

static void disc_half_body_closed(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	half_frame(&c, false);
	shutdown(c.fd, SHUT_WR);
	if (cf_wait_closed(&c, CF_WAIT_MS))
		cf_pass(r, "the server closed a connection whose peer sent EOF mid-frame");
	else
		cf_fail(r, "connection still open %d ms after EOF mid-frame", CF_WAIT_MS);
	cf_close(&c);
}

static void disc_idle_kept(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	struct timespec ts = { 1, 500 * 1000000 };
	nanosleep(&ts, NULL);
	cf_pass(r, "idle 1.5 s");
	cf_expect_usable(&c, 1, r, "then Echo");
	cf_close(&c);
}

/* --- resources of the server process (need --pid) --- */

static void res_fd(const struct cf_ctx *ctx, struct cf_result *r, int how, int conns)
{
	static const char *what[] = { "closed mid-header",    "closed mid-body",
				      "reset mid-body",	      "closed after a request without reading",
				      "connected and closed", "closed after announcing 4294967280 bytes" };
	if (ctx->pid <= 0) {
		cf_skip(r, "needs --pid");
		return;
	}
	int base = cf_fd_settle(ctx->pid);
	struct cf_conn *c = calloc((size_t)conns, sizeof(*c));
	int peak = base;
	for (int i = 0; i < conns; i++) {
		if (cf_connect(&c[i], ctx->socket)) {
			cf_fail(r, "connect %d failed", i);
			conns = i;
			break;
		}
		if (how == 3) {
			struct cf_req q = cf_echo_req("gone");
			cf_send_request(&c[i], 1, 0, &q);
		} else if (how == 5) {
			uint8_t h[CF_HEADER];
			cf_put_header(h, 0xfffffff0u, 1, CF_REQUEST, 0);
			cf_write(&c[i], h, sizeof(h));
		} else if (how != 4) {
			half_frame(&c[i], how == 0);
		}
	}
	struct timespec ts = { 0, 200 * 1000000 };
	nanosleep(&ts, NULL);
	int during = cf_fd_count(ctx->pid);
	if (during > peak)
		peak = during;
	for (int i = 0; i < conns; i++) {
		if (how == 2)
			cf_reset(&c[i]);
		else
			cf_close(&c[i]);
	}
	free(c);
	int after = cf_fd_wait_down(ctx->pid, base, CF_WAIT_MS);
	if (r->verdict == CF_FAIL)
		return;
	if (after <= base)
		cf_pass(r, "%d peer(s) %s: server fds %d -> %d -> %d", conns, what[how], base, peak, after);
	else
		cf_fail(r, "%d peer(s) %s: server fds %d -> %d -> %d after %d ms (kept %d)", conns, what[how], base,
			peak, after, CF_WAIT_MS, after - base);
}

static void res_fd_half_header(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 0, 1);
}

static void res_fd_half_body(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 1, 1);
}

static void res_fd_reset(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 2, 1);
}

static void res_fd_after_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 3, 1);
}

static void res_fd_idle(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 4, 8);
}

static void res_fd_huge_length(const struct cf_ctx *ctx, struct cf_result *r)
{
	res_fd(ctx, r, 5, 1);
}

static void disc_many_half_frames(const struct cf_ctx *ctx, struct cf_result *r)
{
	if (ctx->pid <= 0) {
		cf_skip(r, "needs --pid");
		return;
	}
	res_fd(ctx, r, 1, 50);
	if (r->verdict == CF_PASS)
		cf_fresh_echo(ctx, r, "after 50 half frames");
}

#define P "PROTOCOL.md"
#define S "server.go v1.2.7"
const struct cf_case cf_server_cases[] = {
	{ "frm.echo", true, "a unary Request is answered by one Response on its stream id with the Echo payload",
	  P " Unary State Diagram", frm_echo },
	{ "frm.header-bytewise", true, "a header arriving one byte at a time is reassembled",
	  "channel.go readMessageHeader (io.ReadFull)", frm_header_bytewise },
	{ "frm.split-body", true, "a body arriving in two writes is reassembled", "channel.go recv (io.ReadFull)",
	  frm_split_body },
	{ "frm.two-in-one-write", true, "two frames in one write are both handled", P " Message Frame",
	  frm_two_in_one_write },
	{ "frm.empty-request", true, "a zero-length Request (empty message) is decoded and answered UNIMPLEMENTED",
	  "services.go resolve", frm_empty_request },
	{ "frm.unknown-type", true, "a frame of unknown type is ignored, payload skipped, connection kept",
	  S " L386 (\"we must ignore this for future compat\")", frm_unknown_type },
	{ "frm.type-zero", true, "a frame of type 0 is ignored", S " L386", frm_type_zero },
	{ "frm.unknown-type-1mib", true, "a 1 MiB frame of unknown type is skipped exactly", S " L386",
	  frm_unknown_type_big },
	{ "frm.response-from-client", false, "a Response frame sent by a client is ignored", S " L386",
	  frm_response_from_client },
	{ "frm.request-unknown-flags", false, "undefined Request flag bits do not stop a unary call",
	  P " Request Flags", frm_unknown_flags },
	{ "frm.request-remote-closed", false, "a Request with remote-closed on a unary method is answered",
	  P " Request (remote closed)", frm_remote_closed_unary },

	{ "sid.even", true, "an even stream id is answered INVALID_ARGUMENT on that id", S " L404", sid_even },
	{ "sid.zero", true, "stream id 0 is answered INVALID_ARGUMENT", S " L404", sid_zero },
	{ "sid.even-garbage", true, "an even id with an undecodable payload: INVALID_ARGUMENT (or close)", S " L404",
	  sid_even_garbage },
	{ "sid.decrease", true, "a Request id lower than the last one is INVALID_ARGUMENT", S " L443", sid_decrease },
	{ "sid.reuse", true, "a Request reusing a finished id is INVALID_ARGUMENT", S " L443", sid_reuse },
	{ "sid.gap", true, "ids only need to increase: 1 then 101 both answered", S " L443", sid_gap },
	{ "sid.max", false, "stream id 0xffffffff is a valid odd id", P " Message Frame", sid_max },
	{ "sid.high-bit", true, "stream id 0x80000001 is answered on that id", P " Message Frame", sid_high_bit },

	{ "size.exact-limit", true, "a Request of exactly 4194304 bytes is accepted", "channel.go messageLengthMax",
	  size_exact },
	{ "size.limit-plus-one", true, "4194305 bytes: RESOURCE_EXHAUSTED on its id, connection kept",
	  "channel.go recv (Discard)", size_plus_one },
	{ "size.plus-one-pipelined", true, "the frame behind an oversized one in the same write is parsed",
	  "channel.go recv (Discard)", size_plus_one_pipelined },
	{ "size.message", false, "the oversize status message says the maximum was exceeded",
	  "channel.go recv (\"exceed maximum message size\")", size_message },
	{ "size.16mib", true, "a 16 MiB frame (first byte non-zero) is discarded with RESOURCE_EXHAUSTED",
	  P " Message Frame (first byte reserved)", size_16mib },
	{ "size.huge-length", true, "a 4 GiB length announcement does not allocate or block other connections",
	  P " Message Frame", size_huge_length },
	{ "size.empty-echo", true, "an empty message (zero bytes) is still delivered and answered",
	  P " Data (zero length = empty object)", size_empty_echo },

	{ "pl.garbage", true, "an undecodable Request is INVALID_ARGUMENT (or close), never a crash", S " L458",
	  pl_garbage },
	{ "pl.truncated-varint", true, "a truncated varint in a Request: INVALID_ARGUMENT (or close)", S " L458",
	  pl_truncated_varint },
	{ "pl.truncated-length", true, "a field longer than the frame: INVALID_ARGUMENT (or close)", S " L458",
	  pl_truncated_length },
	{ "pl.wrong-wire-type", true, "a string field sent as varint is rejected, not misread", S " L458",
	  pl_wrong_wire_type },
	{ "pl.bad-wire-type", true, "wire type 7 (does not exist) is rejected", S " L458", pl_bad_group },
	{ "pl.unknown-field", true, "unknown Request fields are skipped (proto3)", "request.proto", pl_unknown_field },
	{ "pl.duplicate-method", false, "a repeated scalar field: the last one wins (protobuf)", "request.proto",
	  pl_duplicate_method },
	{ "pl.nul-in-method", true, "method \"Echo\\0x\" is not method \"Echo\"", "services.go resolve",
	  pl_nul_in_method },
	{ "pl.nul-in-service", true, "a service name with a NUL inside is not the service", "services.go resolve",
	  pl_nul_in_service },
	{ "pl.bad-method-payload", true, "an undecodable method payload is an error status, connection kept",
	  "services.go dispatch (unmarshal)", pl_bad_echo_payload },
	{ "pl.non-utf8-service", true, "a service name that is not UTF-8 is not dispatched", "services.go resolve",
	  pl_non_utf8_service },

	{ "svc.unknown-service", true, "an unknown service is UNIMPLEMENTED", "services.go resolve",
	  svc_unknown_service },
	{ "svc.unknown-method", true, "an unknown method is UNIMPLEMENTED", "services.go resolve", svc_unknown_method },
	{ "svc.empty-names", true, "empty service and method are UNIMPLEMENTED", "services.go resolve",
	  svc_empty_names },
	{ "svc.method-case", true, "method names are case-sensitive (\"echo\")", "services.go resolve",
	  svc_method_case },
	{ "svc.service-case", true, "service names are case-sensitive", "services.go resolve", svc_service_case },
	{ "svc.full-path-as-method", true, "\"/pkg.Service/Method\" in method is not a route", "services.go resolve",
	  svc_full_path },
	{ "svc.split-differently", true, "service \"ttrpc.bench.v1\" + method \"Bench.Echo\" is not a route",
	  "services.go resolve", svc_split_differently },

	{ "st.ok-status", true, "a success carries no status or code 0 without message", "request.proto Response",
	  st_ok_status },
	{ "st.error-message", false, "an error status carries a message", "services.go call", st_error_message },
	{ "st.error-no-payload", false, "an error Response carries no payload", S " (Response{Status})",
	  st_error_no_payload },
	{ "st.error-flags", true, "Response flags are empty on an error", P " Response Flags", st_error_flags },
	{ "st.ok-flags", true, "Response flags are empty on success", P " Response Flags", st_ok_flags },

	{ "md.one", true, "a Request with metadata is served", "metadata.go", md_one },
	{ "md.repeated-key", true, "a key may repeat", "metadata.go MD (key -> values)", md_repeated },
	{ "md.key-case", true, "keys differing in case are accepted", "metadata.go", md_case },
	{ "md.empty", true, "empty key and empty value are accepted", "metadata.go", md_empty },
	{ "md.1000-pairs", true, "1000 metadata pairs are accepted", "metadata.go", md_many },
	{ "md.64k-value", true, "a 64 KiB value is accepted", "metadata.go", md_big_value },
	{ "md.binary-value", false, "control characters in a value are accepted", "metadata.go", md_binary_value },
	{ "md.missing-fields", true, "a KeyValue without value (or empty) decodes", "request.proto KeyValue",
	  md_no_value_field },

	{ "to.zero", true, "timeout_nano 0 means no deadline", S " getRequestContext", to_zero },
	{ "to.negative", true, "timeout_nano -1 is answered (OK or DEADLINE_EXCEEDED), never hangs",
	  S " getRequestContext", to_negative },
	{ "to.one-ns", true, "timeout_nano 1 is answered (OK or DEADLINE_EXCEEDED)", S " getRequestContext", to_tiny },
	{ "to.int64-max", true, "timeout_nano INT64_MAX does not overflow into an expired deadline",
	  S " getRequestContext", to_int64_max },
	{ "to.int64-min", true, "timeout_nano INT64_MIN is answered", S " getRequestContext", to_int64_min },
	{ "to.ten-seconds", true, "a generous deadline does not delay the answer", S " getRequestContext",
	  to_ten_seconds },

	{ "pipe.100-in-one-write", true, "100 requests in flight: each answered once on its id", P " Streaming",
	  pipe_100 },
	{ "pipe.mixed-sizes", true, "a 1 MiB call and 20 small ones in flight all answered correctly", P " Streaming",
	  pipe_mixed },
	{ "pipe.unread-16x1mib", true, "16 x 1 MiB sent before reading anything: all answered (no loss, no deadlock)",
	  P " Streaming", pipe_unread },
	{ "pipe.16-connections", true, "16 connections x 8 calls in flight all answered", S " Serve",
	  pipe_connections },

	{ "disc.stalled-peer", true, "a connection stalled mid-frame does not block others", S " serverConn",
	  disc_stalled_peer },
	{ "disc.half-header", true, "a peer closing mid-header costs the server nothing else", S " L386",
	  disc_half_header },
	{ "disc.half-body", true, "a peer closing mid-body costs the server nothing else", "channel.go recv",
	  disc_half_body },
	{ "disc.reset", true, "a peer resetting mid-body costs the server nothing else", S " run (ECONNRESET)",
	  disc_reset },
	{ "disc.after-request", true, "a peer closing before its answer costs the server nothing else", S " run",
	  disc_after_request },
	{ "disc.half-close-answered", false, "a request followed by shutdown(SHUT_WR) is still answered", S " run",
	  disc_half_close_answered },
	{ "disc.eof-mid-frame-closed", false, "EOF mid-frame: the server closes the connection",
	  "channel.go recv (io.ErrUnexpectedEOF)", disc_half_body_closed },
	{ "disc.idle-kept", false, "an idle connection (1.5 s) stays usable", S " (idle connections)", disc_idle_kept },
	{ "disc.many-half-frames", true, "50 peers closing mid-frame: fds come back, server still serves",
	  "WIRE.md connection-level", disc_many_half_frames },

	{ "res.fd-half-header", true, "fd of a peer that closed mid-header is released", "WIRE.md connection-level",
	  res_fd_half_header },
	{ "res.fd-half-body", true, "fd of a peer that closed mid-body is released", "WIRE.md connection-level",
	  res_fd_half_body },
	{ "res.fd-reset", true, "fd of a peer that reset mid-body is released", "WIRE.md connection-level",
	  res_fd_reset },
	{ "res.fd-after-request", true, "fd of a peer that left before its answer is released",
	  "WIRE.md connection-level", res_fd_after_request },
	{ "res.fd-idle", true, "fds of 8 connect+close peers are released", "WIRE.md connection-level", res_fd_idle },
	{ "res.fd-huge-length", true, "fd of a peer that announced 4 GiB and left is released",
	  "WIRE.md connection-level", res_fd_huge_length },
};
const size_t cf_n_server_cases = sizeof(cf_server_cases) / sizeof(cf_server_cases[0]);
