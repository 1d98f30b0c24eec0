/* SPDX-License-Identifier: Apache-2.0 */
/* The stream cases of ttrpc-conform server (Go ttrpc >= 1.2 streams): Bench's
 * Download (server-streaming), Upload (client-streaming) and Chat (bidi), with the
 * semantics docs/conformance.md gives, plus Data-frame rules any server must keep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_util.h"

#define RC CF_REMOTE_CLOSED
#define RO CF_REMOTE_OPEN
#define ND CF_NO_DATA
#define MAX_FRAMES 512

struct seen {
	struct cf_frame f[MAX_FRAMES];
	int n;
	bool closed; /* the server closed the connection */
	char text[400];
};

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		cf_frame_free(&s->f[i]);
	s->n = 0;
}

static bool is_end(const struct cf_frame *f)
{
	return f->type == CF_RESPONSE || (f->type == CF_DATA && (f->flags & RC));
}

/* Short text of one frame: D1'0' (Data on 1, payload "0"), D1[RC|ND], R1:OK'2:3', R1:INVALID_ARGUMENT. */
static void frame_text(const struct cf_frame *f, char *out, size_t n)
{
	const uint8_t *data = NULL;
	size_t dn = 0;
	if (f->type == CF_DATA) {
		int k = snprintf(out, n, "D%u", f->stream_id);
		if (f->flags)
			k += snprintf(out + k, n - (size_t)k, "[%s%s%s%s]", f->flags & RC ? "RC" : "",
				      (f->flags & RC) && (f->flags & ND) ? "|" : "", f->flags & ND ? "ND" : "",
				      f->flags & ~(RC | ND) ? "|?" : "");
		if (f->length && !cf_decode_echo(f->payload, f->length, &data, &dn))
			snprintf(out + k, n - (size_t)k, "'%.*s'", (int)(dn > 12 ? 12 : dn), (const char *)data);
		else if (f->length)
			snprintf(out + k, n - (size_t)k, "<%u bytes>", f->length);
		return;
	}
	if (f->type == CF_RESPONSE) {
		struct cf_resp r;
		if (cf_decode_response(f->payload, f->length, &r)) {
			snprintf(out, n, "R%u:undecodable", f->stream_id);
			return;
		}
		int code = r.has_status ? r.code : 0;
		int k = snprintf(out, n, "R%u:%s", f->stream_id, cf_code_name(code));
		if (code)
			snprintf(out + k, n - (size_t)k, "('%.60s')", r.message);
		else if (!cf_decode_echo(r.payload, r.payload_len, &data, &dn) && dn)
			snprintf(out + k, n - (size_t)k, "'%.*s'", (int)(dn > 12 ? 12 : dn), (const char *)data);
		return;
	}
	snprintf(out, n, "T%u/%u", f->type, f->stream_id);
}

/* Collects frames until `ends` stream ends were seen (or silence for wait_ms). */
static void collect(struct cf_conn *c, struct seen *s, int ends, int wait_ms)
{
	int got_ends = 0;
	while (s->n < MAX_FRAMES && got_ends < ends) {
		int rc = cf_recv(c, &s->f[s->n], wait_ms);
		if (rc == -1)
			s->closed = true;
		if (rc != 1)
			break;
		if (is_end(&s->f[s->n]))
			got_ends++;
		s->n++;
	}
	size_t k = 0;
	s->text[0] = 0;
	for (int i = 0; i < s->n && k < sizeof(s->text) - 40; i++) {
		char t[96];
		frame_text(&s->f[i], t, sizeof(t));
		k += (size_t)snprintf(s->text + k, sizeof(s->text) - k, "%s%s", i ? " " : "", t);
	}
	if (s->n > 12 && k < sizeof(s->text) - 20)
		snprintf(s->text + k, sizeof(s->text) - k, " (%d frames)", s->n);
	if (s->closed)
		snprintf(s->text + strlen(s->text), sizeof(s->text) - strlen(s->text), "%sconnection closed",
			 s->n ? "; " : "");
	if (!s->n && !s->closed)
		snprintf(s->text, sizeof(s->text), "nothing within %d ms", wait_ms);
}

static int send_req(struct cf_conn *c, uint32_t sid, uint8_t flags, const char *method, const char *text)
{
	struct cf_req q = cf_echo_req(text ? text : "");
	q.method = method;
	if (!text) { /* no Request.payload at all */
		q.payload_len = 0;
		q.has_payload = false;
	}
	return cf_send_request(c, sid, flags, &q);
}

static int send_data(struct cf_conn *c, uint32_t sid, uint8_t flags, const char *text)
{
	struct cf_buf m = { 0 };
	if (text)
		cf_encode_echo(&m, text, strlen(text));
	int rc = cf_send_frame(c, sid, CF_DATA, flags, m.data, m.len);
	cf_buf_free(&m);
	return rc;
}

static int close_send(struct cf_conn *c, uint32_t sid)
{
	return cf_send_frame(c, sid, CF_DATA, RC | ND, NULL, 0);
}

/* Checks the frames on sid against the expected text exactly ("D1'0' D1[RC|ND]"). */
static void expect_text(struct cf_result *r, const struct seen *s, const char *want)
{
	if (!strcmp(s->text, want))
		cf_pass(r, "%s", s->text);
	else
		cf_fail(r, "want %s; got %s", want, s->text);
}

static void run_simple(const struct cf_ctx *ctx, struct cf_result *r, void (*send)(struct cf_conn *), int ends,
		       const char *want, bool usable)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send(&c);
	struct seen s = { 0 };
	collect(&c, &s, ends, CF_WAIT_MS);
	expect_text(r, &s, want);
	seen_free(&s);
	if (usable && r->verdict == CF_PASS)
		cf_expect_usable(&c, 101, r, "Echo on sid 101");
	cf_close(&c);
}

/* --- Download: server-streaming --- */

static void s_download(struct cf_conn *c)
{
	send_req(c, 1, RC, "Download", "3");
}

static void str_download(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_download, 1, "D1'0' D1'1' D1'2' D1[RC|ND]", true);
}

static void s_download_zero(struct cf_conn *c)
{
	send_req(c, 1, RC, "Download", "0");
}

static void str_download_zero(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_download_zero, 1, "D1[RC|ND]", true);
}

static void s_download_unary_flags(struct cf_conn *c)
{
	send_req(c, 1, 0, "Download", "2");
}

static void str_download_unary_flags(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_download_unary_flags, 1, "D1'0' D1'1' D1[RC|ND]", true);
}

static void s_download_empty(struct cf_conn *c)
{
	send_req(c, 1, RC, "Download", NULL);
}

static void str_download_empty_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_download_empty, 1, "D1'0' D1[RC|ND]", true);
}

static void s_download_error(struct cf_conn *c)
{
	send_req(c, 1, RC, "Download", "bogus");
}

static void str_download_error(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	s_download_error(&c);
	struct seen s = { 0 };
	collect(&c, &s, 1, CF_WAIT_MS);
	if (s.n == 1 && !strncmp(s.text, "R1:INVALID_ARGUMENT", 19))
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want one Response R1:INVALID_ARGUMENT; got %s", s.text);
	seen_free(&s);
	cf_close(&c);
}

/* --- Upload: client-streaming --- */

static void s_upload(struct cf_conn *c)
{
	send_req(c, 1, RO, "Upload", NULL);
	send_data(c, 1, 0, "a");
	send_data(c, 1, 0, "bb");
	close_send(c, 1);
}

static void str_upload(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_upload, 1, "R1:OK'2:3'", true);
}

static void s_upload_empty(struct cf_conn *c)
{
	send_req(c, 1, RO, "Upload", NULL);
	send_data(c, 1, 0, NULL);
	send_data(c, 1, 0, NULL);
	close_send(c, 1);
}

static void str_upload_empty_messages(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_upload_empty, 1, "R1:OK'2:0'", true);
}

static void s_upload_no_data(struct cf_conn *c)
{
	send_req(c, 1, RO, "Upload", NULL);
	cf_send_frame(c, 1, CF_DATA, ND, NULL, 0);
	close_send(c, 1);
}

static void str_upload_no_data_flag(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_upload_no_data, 1, "R1:OK'0:0'", true);
}

static void s_upload_nothing(struct cf_conn *c)
{
	send_req(c, 1, RC, "Upload", NULL);
}

static void str_upload_closed_at_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_upload_nothing, 1, "R1:OK'0:0'", true);
}

static void s_upload_first_in_request(struct cf_conn *c)
{
	send_req(c, 1, RO, "Upload", "xyz");
	send_data(c, 1, 0, "a");
	close_send(c, 1);
}

static void str_upload_payload_in_request(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_upload_first_in_request, 1, "R1:OK'2:4'", true);
}

/* A close frame carrying data: INVALID_ARGUMENT on the stream (server.go L437). */
static void str_close_with_data(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Upload", NULL);
	send_data(&c, 1, RC, "late");
	struct seen s = { 0 };
	collect(&c, &s, 1, CF_WAIT_MS);
	if (s.n >= 1 && !strncmp(s.text, "R1:INVALID_ARGUMENT", 19))
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want R1:INVALID_ARGUMENT first; got %s", s.text);
	seen_free(&s);
	if (r->verdict == CF_PASS)
		cf_expect_usable(&c, 101, r, "Echo on sid 101");
	cf_close(&c);
}

/* Data after the client's close: the stream answers OK for what it got, the late Data
 * is INVALID_ARGUMENT (stream closed or no longer active), in either order. */
static void str_data_after_close(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Upload", NULL);
	send_data(&c, 1, 0, "a");
	close_send(&c, 1);
	send_data(&c, 1, 0, "b");
	struct seen s = { 0 };
	collect(&c, &s, 2, CF_WAIT_MS);
	bool ok = !strcmp(s.text, "R1:OK'1:1' R1:INVALID_ARGUMENT") ||
		  !strncmp(s.text, "R1:OK'1:1' R1:INVALID_ARGUMENT(", 31) ||
		  (!strncmp(s.text, "R1:INVALID_ARGUMENT(", 20) && strstr(s.text, ") R1:OK'1:1'"));
	if (ok)
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want R1:OK'1:1' and R1:INVALID_ARGUMENT; got %s", s.text);
	seen_free(&s);
	if (ok)
		cf_expect_usable(&c, 101, r, "Echo on sid 101");
	cf_close(&c);
}

/* --- Data frames any server must judge --- */

static void data_probe(const struct cf_ctx *ctx, struct cf_result *r, bool after_unary, uint32_t sid, uint8_t flags)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	if (after_unary) {
		struct cf_req q = cf_echo_req("first");
		cf_send_request(&c, sid, 0, &q);
		struct cf_resp resp;
		struct cf_frame f;
		if (!cf_expect_response(&c, sid, &resp, &f, r, "the unary Echo")) {
			cf_close(&c);
			return;
		}
		cf_frame_free(&f);
	}
	send_data(&c, sid, flags, "orphan");
	/* the answer on sid, then an Echo on a higher odd id must be answered */
	struct cf_req q = cf_echo_req("still-usable");
	cf_send_request(&c, 101, 0, &q);
	struct seen s = { 0 };
	collect(&c, &s, 2, CF_WAIT_MS);
	char want[64];
	snprintf(want, sizeof(want), "R%u:INVALID_ARGUMENT(", sid);
	if (!strncmp(s.text, want, strlen(want)) && strstr(s.text, ") R101:OK'still-usable"))
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want %s...) then R101:OK; got %s", want, s.text);
	seen_free(&s);
	cf_close(&c);
}

static void str_data_unknown_stream(const struct cf_ctx *ctx, struct cf_result *r)
{
	data_probe(ctx, r, false, 1, 0);
}

static void str_data_after_unary(const struct cf_ctx *ctx, struct cf_result *r)
{
	data_probe(ctx, r, true, 1, 0);
}

static void str_close_unknown_stream(const struct cf_ctx *ctx, struct cf_result *r)
{
	data_probe(ctx, r, false, 3, RC);
}

static void str_data_even_id(const struct cf_ctx *ctx, struct cf_result *r)
{
	data_probe(ctx, r, false, 2, 0);
}

static void s_unknown_stream_method(struct cf_conn *c)
{
	send_req(c, 1, RO, "Nope", NULL);
}

static void str_unknown_method_open(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	s_unknown_stream_method(&c);
	struct seen s = { 0 };
	collect(&c, &s, 1, CF_WAIT_MS);
	if (s.n == 1 && !strncmp(s.text, "R1:UNIMPLEMENTED", 16))
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want R1:UNIMPLEMENTED; got %s", s.text);
	seen_free(&s);
	if (r->verdict == CF_PASS)
		cf_expect_usable(&c, 101, r, "Echo on sid 101");
	cf_close(&c);
}

static void s_unary_remote_open(struct cf_conn *c)
{
	struct cf_req q = cf_echo_req("ro");
	cf_send_request(c, 1, RO, &q);
}

static void str_unary_remote_open(const struct cf_ctx *ctx, struct cf_result *r)
{
	run_simple(ctx, r, s_unary_remote_open, 1, "R1:OK'ro'", true);
}

/* --- Chat: bidi --- */

static void str_chat(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Chat", NULL);
	struct seen s = { 0 };
	send_data(&c, 1, 0, "a");
	/* each answer before the next message: a real conversation */
	struct cf_frame f;
	char t[96] = "nothing";
	bool ok = true;
	const char *msgs[] = { "a", "b" };
	for (int i = 0; i < 2 && ok; i++) {
		if (i)
			send_data(&c, 1, 0, msgs[i]);
		if (cf_recv(&c, &f, CF_WAIT_MS) != 1) {
			cf_fail(r, "no echo of message %d ('%s')", i, msgs[i]);
			ok = false;
			break;
		}
		frame_text(&f, t, sizeof(t));
		char want[32];
		snprintf(want, sizeof(want), "D1'%s'", msgs[i]);
		if (strcmp(t, want)) {
			cf_fail(r, "message %d: want %s, got %s", i, want, t);
			ok = false;
		}
		cf_frame_free(&f);
	}
	if (ok) {
		close_send(&c, 1);
		collect(&c, &s, 1, CF_WAIT_MS);
		if (!strcmp(s.text, "D1[RC|ND]"))
			cf_pass(r, "D1'a' D1'b' %s", s.text);
		else
			cf_fail(r, "after close-send want D1[RC|ND]; got %s", s.text);
	}
	seen_free(&s);
	cf_close(&c);
}

static void s_chat_empty(struct cf_conn *c)
{
	send_req(c, 1, RO, "Chat", NULL);
	send_data(c, 1, 0, NULL);
	close_send(c, 1);
}

static void str_chat_empty_message(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	s_chat_empty(&c);
	struct seen s = { 0 };
	collect(&c, &s, 1, CF_WAIT_MS);
	/* the empty message comes back as an empty Data frame (flags 0 or no-data) */
	if (!strcmp(s.text, "D1 D1[RC|ND]") || !strcmp(s.text, "D1[ND] D1[RC|ND]"))
		cf_pass(r, "%s", s.text);
	else
		cf_fail(r, "want D1 (empty) then D1[RC|ND]; got %s", s.text);
	seen_free(&s);
	cf_close(&c);
}

static void str_chat_interleaved(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Chat", NULL);
	send_req(&c, 3, RO, "Chat", NULL);
	char msg[16];
	for (int i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "%c%d", i % 2 ? 'y' : 'x', i);
		send_data(&c, i % 2 ? 3 : 1, 0, msg);
	}
	close_send(&c, 3);
	close_send(&c, 1);
	struct seen s = { 0 };
	collect(&c, &s, 2, CF_WAIT_MS);
	/* per stream: its own messages in order, then its end */
	char per[2][200] = { "", "" };
	for (int i = 0; i < s.n; i++) {
		char t[96];
		frame_text(&s.f[i], t, sizeof(t));
		int k = s.f[i].stream_id == 3;
		snprintf(per[k] + strlen(per[k]), sizeof(per[k]) - strlen(per[k]), "%s%s", per[k][0] ? " " : "", t);
	}
	if (!strcmp(per[0], "D1'x0' D1'x2' D1'x4' D1'x6' D1'x8' D1[RC|ND]") &&
	    !strcmp(per[1], "D3'y1' D3'y3' D3'y5' D3'y7' D3'y9' D3[RC|ND]"))
		cf_pass(r, "two Chats interleaved, each in order: %d frames", s.n);
	else
		cf_fail(r, "sid 1: %s | sid 3: %s", per[0], per[1]);
	seen_free(&s);
	cf_close(&c);
}

/* An Upload left open with nothing more to come, while a Chat on the same
 * connection does 200 round trips; then the Upload is finished. */
static void str_stalled_beside_busy(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Upload", NULL);
	send_data(&c, 1, 0, "stalled");
	send_req(&c, 3, RO, "Chat", NULL);
	int echoed = 0;
	char t[96] = "nothing";
	for (int i = 0; i < 200; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "m%d", i);
		send_data(&c, 3, 0, msg);
		struct cf_frame f;
		if (cf_recv(&c, &f, CF_WAIT_MS) != 1)
			break;
		frame_text(&f, t, sizeof(t));
		char want[32];
		snprintf(want, sizeof(want), "D3'%s'", msg);
		cf_frame_free(&f);
		if (strcmp(t, want))
			break;
		echoed++;
	}
	close_send(&c, 3);
	close_send(&c, 1);
	struct seen s = { 0 };
	collect(&c, &s, 2, CF_WAIT_MS);
	bool ends = strstr(s.text, "D3[RC|ND]") && strstr(s.text, "R1:OK'1:7'");
	if (echoed == 200 && ends)
		cf_pass(r, "200 Chat round trips beside a stalled Upload; then %s", s.text);
	else
		cf_fail(r, "%d of 200 Chat round trips (last: %s); then %s", echoed, t, s.text);
	seen_free(&s);
	cf_close(&c);
}

/* A big Download is streaming while an Echo goes on the same connection: the
 * Echo's answer must not wait for the whole download. */
static void str_echo_beside_download(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RC, "Download", "2000:4096");
	struct cf_req q = cf_echo_req("beside");
	cf_send_request(&c, 3, 0, &q);
	int data = 0, echo_at = -1, end_at = -1;
	for (int i = 0; i < 5000 && (echo_at < 0 || end_at < 0); i++) {
		struct cf_frame f;
		if (cf_recv(&c, &f, CF_WAIT_MS) != 1)
			break;
		if (f.stream_id == 3 && f.type == CF_RESPONSE)
			echo_at = data;
		else if (f.stream_id == 1 && is_end(&f))
			end_at = data;
		else if (f.stream_id == 1 && f.type == CF_DATA)
			data++;
		cf_frame_free(&f);
	}
	if (echo_at >= 0 && end_at >= 0 && data == 2000 && echo_at < 2000)
		cf_pass(r, "Echo answered after %d of 2000 Download messages", echo_at);
	else
		cf_fail(r, "Download messages %d, Echo answered after %d, end after %d", data, echo_at, end_at);
	cf_close(&c);
}

static void str_disconnect_mid_stream(const struct cf_ctx *ctx, struct cf_result *r)
{
	int base = cf_fd_settle(ctx->pid);
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	send_req(&c, 1, RO, "Chat", NULL);
	send_data(&c, 1, 0, "bye");
	send_req(&c, 3, RC, "Download", "100000:64");
	usleep(100 * 1000);
	cf_close(&c);
	if (!cf_fresh_echo(ctx, r, "a peer left with a Chat and a Download open"))
		return;
	if (ctx->pid <= 0) {
		cf_pass(r, "the server serves a new connection (no --pid: fds not counted)");
		return;
	}
	int after = cf_fd_wait_down(ctx->pid, base, CF_WAIT_MS);
	if (after <= base)
		cf_pass(r, "server fds %d -> %d", base, after);
	else
		cf_fail(r, "server fds %d -> %d after %d ms", base, after, CF_WAIT_MS);
}

#define P "PROTOCOL.md"
#define S "server.go v1.2.7"
#define V "services.go v1.2.7"
const struct cf_case cf_stream_cases[] = {
	{ "str.download", true, "server-streaming: Data frames (flags 0), ended by Data remote-closed|no-data",
	  S " L532-539", str_download },
	{ "str.download-zero", true, "a stream with no message ends with Data remote-closed|no-data only",
	  S " L532-539", str_download_zero },
	{ "str.download-unary-flags", true, "Request flags 0 on a server-streaming method: the stream is served",
	  V " handle", str_download_unary_flags },
	{ "str.download-empty-request", true, "an empty request message is delivered (zero bytes, issue #126)",
	  V " handle (#126)", str_download_empty_request },
	{ "str.download-error", true, "a stream that fails ends with a Response carrying the status", S " L524",
	  str_download_error },
	{ "str.upload", true, "client-streaming: Data frames then close-send; one Response with the result",
	  P " Non-Unary (RO)", str_upload },
	{ "str.upload-empty-messages", true, "zero-length Data frames are empty messages, delivered",
	  P " Data (zero length)", str_upload_empty_messages },
	{ "str.upload-no-data-flag", true, "a Data frame with no-data carries no message", P " Data Flags",
	  str_upload_no_data_flag },
	{ "str.upload-closed-at-request", true, "Request remote-closed on a client-streaming method: zero messages",
	  P " Request Flags", str_upload_closed_at_request },
	{ "str.upload-payload-in-request", false, "a Request payload on a client-streaming method is the first message",
	  V " handle", str_upload_payload_in_request },
	{ "str.close-with-data", true, "a close frame carrying data is INVALID_ARGUMENT", S " L437",
	  str_close_with_data },
	{ "str.data-after-close", true, "Data after close-send is INVALID_ARGUMENT; the stream still answers",
	  V " data (ErrStreamClosed)", str_data_after_close },
	{ "str.data-unknown-stream", true, "Data on a stream never opened is INVALID_ARGUMENT on that id", S " L413",
	  str_data_unknown_stream },
	{ "str.data-after-unary", true, "Data on a finished unary stream is INVALID_ARGUMENT", S " L413",
	  str_data_after_unary },
	{ "str.close-unknown-stream", true, "a close frame on an unknown stream is INVALID_ARGUMENT", S " L413",
	  str_close_unknown_stream },
	{ "str.data-even-id", true, "Data on an even id is INVALID_ARGUMENT", S " L404", str_data_even_id },
	{ "str.unknown-method-open", true, "a streaming Request for an unknown method is UNIMPLEMENTED", V " handle",
	  str_unknown_method_open },
	{ "str.unary-remote-open", false, "Request remote-open on a unary method is answered as unary", V " handle",
	  str_unary_remote_open },
	{ "str.chat", true, "bidi: each message echoed as it comes, ended by Data remote-closed|no-data",
	  P " Non-Unary (RO)", str_chat },
	{ "str.chat-empty-message", true, "an empty message on a bidi stream is a message", P " Data (zero length)",
	  str_chat_empty_message },
	{ "str.chat-interleaved", true, "two streams interleaved on one connection keep their own order",
	  P " Streaming", str_chat_interleaved },
	{ "str.stalled-beside-busy", true, "a stalled stream does not block a busy one on the same connection",
	  "WIRE.md Streaming (head-of-line)", str_stalled_beside_busy },
	{ "str.echo-beside-download", false, "a unary answer is not queued behind a long stream",
	  "WIRE.md Streaming (head-of-line)", str_echo_beside_download },
	{ "str.disconnect-mid-stream", true, "a peer leaving with open streams costs nothing (fds with --pid)",
	  "WIRE.md connection-level", str_disconnect_mid_stream },
};
const size_t cf_n_stream_cases = sizeof(cf_stream_cases) / sizeof(cf_stream_cases[0]);
