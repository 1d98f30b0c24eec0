/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server_util.h"

const char *cf_code_name(int code)
{
	static const char *names[] = {
		"OK",	     "CANCELLED",      "UNKNOWN",	    "INVALID_ARGUMENT",	  "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",	    "INTERNAL",		  "UNAVAILABLE",
		"DATA_LOSS", "UNAUTHENTICATED"
	};
	return code >= 0 && code <= 16 ? names[code] : "code?";
}

bool cf_open(const struct cf_ctx *ctx, struct cf_conn *c, struct cf_result *r)
{
	int rc = cf_connect(c, ctx->socket);
	if (rc)
		cf_fail(r, "connect %s: %s", ctx->socket, strerror(-rc));
	return rc == 0;
}

struct cf_req cf_echo_req(const char *text)
{
	static uint8_t msg[512];
	size_t n = strlen(text);
	if (n > sizeof(msg) - 3)
		n = sizeof(msg) - 3;
	size_t k = 0;
	if (n) { /* EchoMessage { bytes payload = 1; }, lengths < 128 here and below 512 */
		msg[k++] = 0x0a;
		if (n < 128) {
			msg[k++] = (uint8_t)n;
		} else {
			msg[k++] = (uint8_t)(n | 0x80);
			msg[k++] = (uint8_t)(n >> 7);
		}
		memcpy(msg + k, text, n);
		k += n;
	}
	struct cf_req req = {
		.service = CF_SERVICE, .method = "Echo", .payload = msg, .payload_len = k, .has_payload = true
	};
	return req;
}

static void note_append(struct cf_result *r, const char *fmt, const char *a, const char *b)
{
	size_t k = strlen(r->seen);
	if (k < sizeof(r->seen))
		snprintf(r->seen + k, sizeof(r->seen) - k, fmt, a, b);
}

bool cf_expect_response(struct cf_conn *c, uint32_t sid, struct cf_resp *resp, struct cf_frame *f, struct cf_result *r,
			const char *what)
{
	int rc = cf_recv(c, f, CF_WAIT_MS);
	if (rc == 0) {
		cf_fail(r, "%s: no answer within %d ms", what, CF_WAIT_MS);
		return false;
	}
	if (rc == -1) {
		cf_fail(r, "%s: the server closed the connection", what);
		return false;
	}
	if (rc == -2) {
		cf_fail(r, "%s: the server announced a frame over 16 MiB", what);
		return false;
	}
	char d[300];
	cf_describe(f, d, sizeof(d));
	if (f->type != CF_RESPONSE || f->stream_id != sid) {
		cf_fail(r, "%s: want a Response on sid %u, got %s", what, sid, d);
		cf_frame_free(f);
		return false;
	}
	if (cf_decode_response(f->payload, f->length, resp)) {
		cf_fail(r, "%s: %s", what, d);
		cf_frame_free(f);
		return false;
	}
	return true;
}

bool cf_expect_usable(struct cf_conn *c, uint32_t sid, struct cf_result *r, const char *what)
{
	struct cf_req req = cf_echo_req("still-usable");
	struct cf_result sub = { 0 };
	if (cf_send_request(c, sid, 0, &req)) {
		cf_fail(r, "%s; then sending Echo on sid %u failed (connection gone)", r->seen, sid);
		return false;
	}
	struct cf_resp resp;
	struct cf_frame f;
	if (!cf_expect_response(c, sid, &resp, &f, &sub, what)) {
		char prev[sizeof(r->seen)];
		snprintf(prev, sizeof(prev), "%s", r->seen);
		cf_fail(r, "%.200s; then %.300s", prev, sub.seen);
		return false;
	}
	const uint8_t *data;
	size_t n;
	bool ok = (!resp.has_status || resp.code == 0) &&
		  cf_decode_echo(resp.payload, resp.payload_len, &data, &n) == 0 && n == 12 &&
		  !memcmp(data, "still-usable", 12);
	cf_frame_free(&f);
	if (!ok) {
		char prev[sizeof(r->seen)];
		snprintf(prev, sizeof(prev), "%s", r->seen);
		cf_fail(r, "%.300s; then Echo on sid %u did not echo", prev, sid);
		return false;
	}
	note_append(r, "; %s%s", what, " OK");
	return true;
}

static bool accepted(uint32_t accept, int code)
{
	return code >= 0 && code < 31 && (accept & ACCEPT(code));
}

static void accept_text(uint32_t accept, char *out, size_t n)
{
	size_t k = 0;
	out[0] = 0;
	uint32_t errors = ~ACCEPT(0) & ~ACCEPT_CLOSE;
	if ((accept & errors) == errors) {
		k += (size_t)snprintf(out, n, "an error");
		accept &= ~errors;
	}
	for (int code = 0; code < 31; code++)
		if (accept & ACCEPT(code))
			k += (size_t)snprintf(out + k, n - k, "%s%s", k ? "|" : "", cf_code_name(code));
	if (accept & ACCEPT_CLOSE)
		snprintf(out + k, n - k, "%sclose", k ? "|" : "");
}

void cf_run_probe(const struct cf_ctx *ctx, struct cf_result *r, const struct probe *p)
{
	struct cf_conn c;
	if (!cf_open(ctx, &c, r))
		return;
	uint8_t type = p->explicit_type ? p->type : CF_REQUEST;
	int rc;
	if (p->raw) {
		rc = cf_send_frame(&c, p->sid, type, p->flags, p->raw_data, p->raw_len);
	} else {
		struct cf_buf b = { 0 };
		cf_encode_request(&b, &p->req);
		rc = cf_send_frame(&c, p->sid, type, p->flags, b.data, b.len);
		cf_buf_free(&b);
	}
	if (rc) {
		cf_fail(r, "sending the frame failed: %s", strerror(-rc));
		cf_close(&c);
		return;
	}
	uint32_t next = p->sid % 2 ? p->sid + 2 : p->sid + 1; /* the next valid (odd, higher) id */
	if (p->accept == ACCEPT_NONE) {
		/* Nothing may answer the frame: the following Echo's answer comes first. */
		cf_pass(r, "no answer to the frame");
		cf_expect_usable(&c, next, r, "Echo after it");
		cf_close(&c);
		return;
	}
	char want[160];
	accept_text(p->accept, want, sizeof(want));
	struct cf_frame f;
	rc = cf_recv(&c, &f, CF_WAIT_MS);
	if (rc == -1) {
		if (p->accept & ACCEPT_CLOSE)
			cf_pass(r, "connection closed (allowed)");
		else
			cf_fail(r, "want %s; the server closed the connection", want);
		cf_close(&c);
		return;
	}
	if (rc <= 0) {
		cf_fail(r, "want %s; %s", want,
			rc == 0 ? "no answer within 3 s" : "the server announced a frame > 16 MiB");
		cf_close(&c);
		return;
	}
	char d[300];
	cf_describe(&f, d, sizeof(d));
	struct cf_resp resp;
	if (f.type != CF_RESPONSE || f.stream_id != p->sid || cf_decode_response(f.payload, f.length, &resp)) {
		cf_fail(r, "want %s on sid %u; got %s", want, p->sid, d);
		cf_frame_free(&f);
		cf_close(&c);
		return;
	}
	int code = resp.has_status ? resp.code : 0;
	if (!accepted(p->accept, code)) {
		cf_fail(r, "want %s; got %s", want, d);
	} else if (code == 0 && p->echo) {
		const uint8_t *data;
		size_t n;
		if (cf_decode_echo(resp.payload, resp.payload_len, &data, &n) || n != strlen(p->echo) ||
		    (n && memcmp(data, p->echo, n)))
			cf_fail(r, "OK but the Echo payload is not the one sent: %s", d);
		else
			cf_pass(r, "%s", d);
	} else {
		cf_pass(r, "%s", d);
	}
	cf_frame_free(&f);
	if (r->verdict == CF_PASS && !p->skip_usable)
		cf_expect_usable(&c, next, r, "Echo after it");
	cf_close(&c);
}

int cf_pump(struct cf_conn *c, const uint8_t *out, size_t out_len, struct cf_frame *frames, int want, int timeout_ms)
{
	int64_t deadline = cf_now_ms() + timeout_ms;
	size_t sent = 0;
	int got = 0;
	while (got < want || sent < out_len) {
		int rc = got < want ? cf_recv(c, &frames[got], 0) : 0;
		if (rc == 1) {
			got++;
			continue;
		}
		if (rc < 0)
			break;
		int64_t left = deadline - cf_now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = { .fd = c->fd,
				      .events = (short)((got < want ? POLLIN : 0) | (sent < out_len ? POLLOUT : 0)) };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < out_len) {
			size_t chunk = out_len - sent < 65536 ? out_len - sent : 65536;
			ssize_t w = send(c->fd, out + sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && got < want) {
			rc = cf_recv(c, &frames[got], 1);
			if (rc == 1)
				got++;
			else if (rc < 0)
				break;
		}
	}
	return got;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

int cf_fd_settle(pid_t pid)
{
	int last = cf_fd_count(pid), same = 0;
	for (int i = 0; i < 40 && last >= 0 && same < 4; i++) {
		sleep_ms(50);
		int now = cf_fd_count(pid);
		same = now == last ? same + 1 : 0;
		last = now;
	}
	return last;
}

int cf_fd_wait_down(pid_t pid, int target, int timeout_ms)
{
	int64_t deadline = cf_now_ms() + timeout_ms;
	int now = cf_fd_count(pid);
	while (now > target && cf_now_ms() < deadline) {
		sleep_ms(20);
		now = cf_fd_count(pid);
	}
	return now;
}

bool cf_fresh_echo(const struct cf_ctx *ctx, struct cf_result *r, const char *what)
{
	struct cf_conn c;
	struct cf_result sub = { 0 };
	snprintf(sub.seen, sizeof(sub.seen), "%s", what);
	if (!cf_open(ctx, &c, &sub) || !cf_expect_usable(&c, 1, &sub, "Echo on a new connection")) {
		cf_close(&c);
		cf_fail(r, "%s", sub.seen);
		return false;
	}
	cf_close(&c);
	return true;
}
