/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-conform client: a checking server. For each case it starts the client
 * under test as `COMMAND... --socket PATH --call NAME`, accepts its connection,
 * checks the frames it sends and answers them as the case says (normally, out
 * of order, with garbage, oversized, or by leaving). The client performs the
 * named list of scripted calls (docs/conformance.md, "Client mode") of
 * ttrpc.bench.v1.Bench/Echo and prints one line per call, in call order:
 *   CALL <i> OK <payload>          the call succeeded with that payload
 *   CALL <i> ERR <code> <message>  it failed: a status code, or -1 for a local error
 * then exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conform.h"

#define CL_SERVICE "ttrpc.bench.v1.Bench"
#define CL_ACCEPT_MS 10000 /* the client process starts and connects */
#define CL_REQ_MS 5000	   /* the next request comes */
#define CL_EXIT_MS 10000   /* the client exits after its calls ended */
#define CL_MAX_CALLS 8

struct cl_call {
	bool present, ok;
	int code;
	char text[200];
};

/* One run of the client under test. */
struct cl_run {
	pid_t pid;
	int out_fd;
	struct cf_conn conn;
	struct cf_buf out;
	int wait_status;
	bool hung;
	int64_t started_ms;
	struct cl_call calls[CL_MAX_CALLS];
	char said[160]; /* the first line of its output that is not a CALL line */
	char msgs[256]; /* stream call lists: the messages received, "[a][b]" */
};

/* A decoded Request. */
struct cl_req {
	char service[128], method[128];
	const uint8_t *payload; /* EchoMessage payload (inner bytes) */
	size_t payload_len;
	bool payload_ok;
	int64_t timeout_nano;
	int n_md;
	char md[8][2][64];
	bool md_ok;
};

static void copy_str(char *dst, size_t n, const uint8_t *p, size_t len)
{
	size_t m = len < n - 1 ? len : n - 1;
	memcpy(dst, p, m);
	dst[m] = 0;
}

static int decode_kv(const uint8_t *p, size_t n, char key[64], char value[64])
{
	const uint8_t *end = p + n;
	struct cf_pb_field f;
	int rc;
	key[0] = value[0] = 0;
	while ((rc = cf_pb_next(&p, end, &f)) == 1) {
		if (f.wire_type != 2)
			return -1;
		if (f.number == 1)
			copy_str(key, 64, f.ptr, f.len);
		else if (f.number == 2)
			copy_str(value, 64, f.ptr, f.len);
	}
	return rc;
}

static int decode_request(const struct cf_frame *fr, struct cl_req *q)
{
	memset(q, 0, sizeof(*q));
	q->md_ok = true;
	const uint8_t *p = fr->payload, *end = p + fr->length;
	struct cf_pb_field f;
	int rc;
	bool saw_payload = false;
	while ((rc = cf_pb_next(&p, end, &f)) == 1) {
		if (f.number == 1 && f.wire_type == 2) {
			copy_str(q->service, sizeof(q->service), f.ptr, f.len);
		} else if (f.number == 2 && f.wire_type == 2) {
			copy_str(q->method, sizeof(q->method), f.ptr, f.len);
		} else if (f.number == 3 && f.wire_type == 2) {
			saw_payload = true;
			q->payload_ok = cf_decode_echo(f.ptr, f.len, &q->payload, &q->payload_len) == 0;
		} else if (f.number == 4 && f.wire_type == 0) {
			q->timeout_nano = (int64_t)f.value;
		} else if (f.number == 5 && f.wire_type == 2) {
			if (q->n_md < 8 && !decode_kv(f.ptr, f.len, q->md[q->n_md][0], q->md[q->n_md][1]))
				q->n_md++;
			else
				q->md_ok = false;
		} else {
			return -1;
		}
	}
	if (!saw_payload) /* no field 3: the empty message */
		q->payload_ok = true;
	return rc;
}

static bool payload_is(const struct cl_req *q, const char *text)
{
	return q->payload_ok && q->payload_len == strlen(text) &&
	       (!q->payload_len || !memcmp(q->payload, text, q->payload_len));
}

/* --- starting and ending the client --- */

static bool cl_start(const struct cf_ctx *ctx, const char *call, struct cl_run *run, struct cf_result *r)
{
	memset(run, 0, sizeof(*run));
	run->conn.fd = -1;
	run->pid = -1;
	int argc = 0;
	while (ctx->client_argv[argc])
		argc++;
	char **argv = calloc((size_t)argc + 5, sizeof(*argv));
	int pfd[2];
	if (!argv || pipe2(pfd, O_CLOEXEC)) {
		free(argv);
		cf_fail(r, "pipe: %s", strerror(errno));
		return false;
	}
	memcpy(argv, ctx->client_argv, (size_t)argc * sizeof(*argv));
	argv[argc] = "--socket";
	argv[argc + 1] = (char *)ctx->socket;
	argv[argc + 2] = "--call";
	argv[argc + 3] = (char *)call;
	run->started_ms = cf_now_ms();
	run->pid = fork();
	if (run->pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	free(argv);
	close(pfd[1]);
	run->out_fd = pfd[0];
	if (run->pid < 0) {
		cf_fail(r, "fork: %s", strerror(errno));
		return false;
	}
	/* its output closing first means it exited without connecting */
	struct pollfd p[2] = { { .fd = ctx->listen_fd, .events = POLLIN }, { .fd = run->out_fd, .events = 0 } };
	int64_t deadline = run->started_ms + CL_ACCEPT_MS;
	while (!(p[0].revents & POLLIN)) {
		int64_t left = deadline - cf_now_ms();
		if (left <= 0 || (p[1].revents & POLLHUP)) {
			cf_fail(r, "the client (call '%s') did not connect %s", call,
				left <= 0 ? "within 10 s" : "(it exited)");
			return false;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR) {
			cf_fail(r, "poll: %s", strerror(errno));
			return false;
		}
	}
	run->conn.fd = accept4(ctx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (run->conn.fd < 0) {
		cf_fail(r, "accept: %s", strerror(errno));
		return false;
	}
	return true;
}

static void parse_calls(struct cl_run *run)
{
	cf_buf_put(&run->out, "", 1);
	char *save = NULL;
	for (char *line = strtok_r((char *)run->out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int i, n = 0;
		if (!strncmp(line, "MSG", 3) && (line[3] == ' ' || !line[3])) {
			size_t k = strlen(run->msgs);
			snprintf(run->msgs + k, sizeof(run->msgs) - k, "[%s]", line[3] ? line + 4 : "");
			continue;
		}
		if (sscanf(line, "CALL %d %n", &i, &n) != 1 || i < 0 || i >= CL_MAX_CALLS) {
			if (!run->said[0])
				snprintf(run->said, sizeof(run->said), "%s", line);
			continue;
		}
		struct cl_call *c = &run->calls[i];
		const char *rest = line + n;
		c->present = true;
		if (!strncmp(rest, "OK", 2)) {
			c->ok = true;
			snprintf(c->text, sizeof(c->text), "%s", rest[2] == ' ' ? rest + 3 : "");
		} else if (sscanf(rest, "ERR %d %n", &c->code, &n) == 1) {
			snprintf(c->text, sizeof(c->text), "%s", rest + n);
		} else {
			c->present = false;
		}
	}
}

/* Closes our side (unless keep_open), waits for the client to exit (killing
 * it after CL_EXIT_MS), and parses its CALL lines. */
static void cl_end(struct cl_run *run, bool keep_open)
{
	if (!keep_open)
		cf_close(&run->conn);
	int64_t deadline = cf_now_ms() + CL_EXIT_MS;
	while (run->out_fd >= 0) {
		int64_t left = deadline - cf_now_ms();
		struct pollfd p = { .fd = run->out_fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			run->hung = true;
			break;
		}
		char tmp[4096];
		ssize_t n = read(run->out_fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (run->out.len < 65536)
			cf_buf_put(&run->out, tmp, (size_t)n);
	}
	if (run->pid > 0) {
		if (run->hung)
			kill(run->pid, SIGKILL);
		while (waitpid(run->pid, &run->wait_status, 0) < 0 && errno == EINTR)
			;
	}
	if (run->out_fd >= 0)
		close(run->out_fd);
	run->out_fd = -1;
	cf_close(&run->conn);
	parse_calls(run);
	cf_buf_free(&run->out);
}

/* true when the client ran to its end and exited 0; else r says why. */
static bool cl_exited_ok(struct cl_run *run, struct cf_result *r)
{
	if (run->hung) {
		cf_fail(r, "the client did not exit within %d ms after its calls (killed)", CL_EXIT_MS);
		return false;
	}
	if (!WIFEXITED(run->wait_status) || WEXITSTATUS(run->wait_status)) {
		if (WIFSIGNALED(run->wait_status))
			cf_fail(r, "the client died of signal %d (it said: %s)", WTERMSIG(run->wait_status), run->said);
		else
			cf_fail(r, "the client exited %d (it said: %s)", WEXITSTATUS(run->wait_status), run->said);
		return false;
	}
	return true;
}

static const char *call_text(const struct cl_call *c)
{
	static char buf[4][260];
	static int k;
	char *b = buf[k++ % 4];
	if (!c->present)
		snprintf(b, sizeof(buf[0]), "no result");
	else if (c->ok)
		snprintf(b, sizeof(buf[0]), "OK '%.200s'", c->text);
	else
		snprintf(b, sizeof(buf[0]), "ERR %d '%.200s'", c->code, c->text);
	return b;
}

static bool call_ok(const struct cl_call *c, const char *payload)
{
	return c->present && c->ok && !strcmp(c->text, payload);
}

static bool call_failed(const struct cl_call *c)
{
	return c->present && !c->ok;
}

/* --- reading requests, answering --- */

/* Reads the next frame, which must be a Request. */
static bool cl_request(struct cl_run *run, struct cf_frame *f, struct cl_req *q, struct cf_result *r, const char *what)
{
	int rc = cf_recv(&run->conn, f, CL_REQ_MS);
	if (rc != 1) {
		cf_fail(r, "%s: %s", what,
			rc == 0	 ? "no Request within 5 s" :
			rc == -1 ? "the client closed the connection" :
				   "the client announced a frame over 16 MiB");
		return false;
	}
	if (f->type != CF_REQUEST) {
		char d[200];
		cf_describe(f, d, sizeof(d));
		cf_frame_free(f);
		cf_fail(r, "%s: the client sent %s, not a Request", what, d);
		return false;
	}
	if (decode_request(f, q)) {
		cf_fail(r, "%s: undecodable Request (%u bytes)", what, f->length);
		cf_frame_free(f);
		return false;
	}
	return true;
}

static void encode_response(struct cf_buf *b, int code, const char *msg, const char *payload)
{
	if (code || (msg && *msg)) {
		struct cf_buf st = { 0 };
		if (code)
			cf_pb_uint(&st, 1, (uint64_t)code);
		if (msg && *msg)
			cf_pb_string(&st, 2, msg);
		cf_pb_bytes(b, 1, st.data, st.len);
		cf_buf_free(&st);
	}
	if (payload) {
		struct cf_buf m = { 0 };
		cf_encode_echo(&m, payload, strlen(payload));
		cf_pb_bytes(b, 2, m.data, m.len);
		cf_buf_free(&m);
	}
}

/* Appends one whole Response frame to out. */
static void put_response(struct cf_buf *out, uint32_t sid, uint8_t flags, int code, const char *msg,
			 const char *payload)
{
	struct cf_buf b = { 0 };
	encode_response(&b, code, msg, payload);
	uint8_t h[CF_HEADER];
	cf_put_header(h, (uint32_t)b.len, sid, CF_RESPONSE, flags);
	cf_buf_put(out, h, sizeof(h));
	cf_buf_put(out, b.data, b.len);
	cf_buf_free(&b);
}

static void answer(struct cl_run *run, uint32_t sid, const char *payload)
{
	struct cf_buf out = { 0 };
	put_response(&out, sid, 0, 0, NULL, payload);
	cf_write(&run->conn, out.data, out.len);
	cf_buf_free(&out);
}

/* Starts the client on `call`, takes its first request and checks it is
 * Bench/Echo with payload want. */
static bool first_request(const struct cf_ctx *ctx, const char *call, const char *want, struct cl_run *run,
			  struct cf_frame *f, struct cl_req *q, struct cf_result *r)
{
	if (!cl_start(ctx, call, run, r))
		return false;
	if (!cl_request(run, f, q, r, "first call"))
		return false;
	if (strcmp(q->service, CL_SERVICE) || strcmp(q->method, "Echo") || !payload_is(q, want)) {
		cf_fail(r, "first call: want %s/Echo '%s', got %.60s/%.40s payload %zu bytes", CL_SERVICE, want,
			q->service, q->method, q->payload_len);
		cf_frame_free(f);
		return false;
	}
	return true;
}

/* Starts `call`, takes its first request (Echo `want`), answers it with want
 * and lets the client end by itself. hdr keeps the request's header (payload freed, and
 * q's payload pointer cleared). false: r says what went wrong. */
static bool answered_run(const struct cf_ctx *ctx, const char *call, const char *want, struct cl_run *run,
			 struct cl_req *q, struct cf_frame *hdr, struct cf_result *r)
{
	if (!first_request(ctx, call, want, run, hdr, q, r)) {
		cl_end(run, false);
		return false;
	}
	answer(run, hdr->stream_id, want);
	cf_frame_free(hdr);
	q->payload = NULL;
	cl_end(run, true);
	return true;
}

/* The common shape: one call 'one', the server does `act` with its request,
 * closes the connection if close_after (else the client ends by itself), then
 * the outcome of call 0 is checked by `verdict`. */
typedef void (*cl_act_fn)(struct cl_run *run, const struct cf_frame *f);
typedef void (*cl_verdict_fn)(struct cl_run *run, struct cf_result *r, int64_t took_ms);

static void one_call_case(const struct cf_ctx *ctx, struct cf_result *r, cl_act_fn act, bool close_after,
			  cl_verdict_fn verdict)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (first_request(ctx, "one", "conform", &run, &f, &q, r)) {
		int64_t t0 = cf_now_ms();
		act(&run, &f);
		cf_frame_free(&f);
		cl_end(&run, !close_after);
		if (cl_exited_ok(&run, r))
			verdict(&run, r, cf_now_ms() - t0);
	} else {
		cl_end(&run, false);
	}
}

/* --- the cases --- */

static void c_request_frame(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!answered_run(ctx, "one", "conform", &run, &q, &f, r) || !cl_exited_ok(&run, r))
		return;
	char seen[160];
	snprintf(seen, sizeof(seen), "sid=%u flags=0x%x len=%u", f.stream_id, f.flags, f.length);
	if (f.stream_id % 2 != 1 || f.flags != 0)
		cf_fail(r, "want an odd stream id and flags 0; got %s", seen);
	else if (!call_ok(&run.calls[0], "conform"))
		cf_fail(r, "%s answered; the client reported %s", seen, call_text(&run.calls[0]));
	else
		cf_pass(r, "%s, answer reported", seen);
}

static void c_first_id(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!answered_run(ctx, "one", "conform", &run, &q, &f, r))
		return;
	if (f.stream_id == 1)
		cf_pass(r, "first stream id 1");
	else
		cf_fail(r, "first stream id %u", f.stream_id);
}

static void c_ids_increasing(const struct cf_ctx *ctx, struct cf_result *r)
{
	static const char *const want[] = { "a", "b", "c" };
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	uint32_t ids[3] = { 0 };
	if (!first_request(ctx, "three", "a", &run, &f, &q, r)) {
		cl_end(&run, false);
		return;
	}
	int i = 0;
	for (;;) {
		ids[i] = f.stream_id;
		answer(&run, f.stream_id, want[i]);
		cf_frame_free(&f);
		if (++i == 3)
			break;
		if (!cl_request(&run, &f, &q, r, want[i]) || !payload_is(&q, want[i])) {
			if (r->verdict != CF_FAIL)
				cf_fail(r, "call %d: want payload '%s'", i, want[i]);
			cf_frame_free(&f);
			cl_end(&run, false);
			return;
		}
	}
	cl_end(&run, true);
	if (!cl_exited_ok(&run, r))
		return;
	bool ok = ids[0] % 2 && ids[1] % 2 && ids[2] % 2 && ids[0] < ids[1] && ids[1] < ids[2];
	if (!ok)
		cf_fail(r, "stream ids %u, %u, %u", ids[0], ids[1], ids[2]);
	else if (!call_ok(&run.calls[0], "a") || !call_ok(&run.calls[1], "b") || !call_ok(&run.calls[2], "c"))
		cf_fail(r, "ids %u,%u,%u; calls reported %s, %s, %s", ids[0], ids[1], ids[2], call_text(&run.calls[0]),
			call_text(&run.calls[1]), call_text(&run.calls[2]));
	else
		cf_pass(r, "stream ids %u, %u, %u", ids[0], ids[1], ids[2]);
}

static void c_no_timeout(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!answered_run(ctx, "one", "conform", &run, &q, &f, r))
		return;
	if (q.timeout_nano == 0)
		cf_pass(r, "no timeout_nano on a call without deadline");
	else
		cf_fail(r, "timeout_nano %lld on a call without deadline", (long long)q.timeout_nano);
}

static void c_timeout_nano(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!answered_run(ctx, "timeout", "t", &run, &q, &f, r))
		return;
	if (!cl_exited_ok(&run, r))
		return;
	if (q.timeout_nano <= 1000000000ll || q.timeout_nano > 2000000000ll)
		cf_fail(r, "a call with a 2 s deadline sent timeout_nano %lld", (long long)q.timeout_nano);
	else if (!call_ok(&run.calls[0], "t"))
		cf_fail(r, "timeout_nano %lld; the call reported %s", (long long)q.timeout_nano,
			call_text(&run.calls[0]));
	else
		cf_pass(r, "timeout_nano %lld for a 2 s deadline", (long long)q.timeout_nano);
}

static void c_metadata(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!answered_run(ctx, "metadata", "m", &run, &q, &f, r))
		return;
	char got[400] = "";
	size_t k = 0;
	int k1 = 0, k2 = 0;
	bool order = true;
	for (int i = 0; i < q.n_md; i++) {
		k += (size_t)snprintf(got + k, sizeof(got) - k, "%s%s=%s", i ? " " : "", q.md[i][0], q.md[i][1]);
		if (k >= sizeof(got))
			k = sizeof(got) - 1;
		if (!strcmp(q.md[i][0], "k1"))
			order = order && !strcmp(q.md[i][1], k1++ == 0 ? "v1" : "v2");
		else if (!strcmp(q.md[i][0], "k2") && !strcmp(q.md[i][1], "v3"))
			k2++;
		else
			order = false;
	}
	if (!q.md_ok || q.n_md != 3 || k1 != 2 || k2 != 1 || !order)
		cf_fail(r, "want KeyValue k1=v1 k1=v2 k2=v3 (a pair per value, in order); got %s%s", got,
			q.md_ok ? "" : " (undecodable KeyValue)");
	else if (!call_ok(&run.calls[0], "m"))
		cf_fail(r, "%s; the call reported %s", got, call_text(&run.calls[0]));
	else
		cf_pass(r, "%s", got);
}

static void c_oversized_refused(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	if (!cl_start(ctx, "oversized", &run, r)) {
		cl_end(&run, false);
		return;
	}
	struct cf_frame f;
	uint32_t big_len = 0;
	bool after = false;
	for (;;) {
		int rc = cf_recv(&run.conn, &f, CL_REQ_MS);
		if (rc == -2)
			big_len = UINT32_MAX;
		if (rc != 1)
			break;
		struct cl_req q;
		if (f.length > CF_MAX_PAYLOAD) {
			big_len = f.length;
			struct cf_buf out = { 0 };
			put_response(&out, f.stream_id, 0, CF_RESOURCE_EXHAUSTED, "message too large", NULL);
			cf_write(&run.conn, out.data, out.len);
			cf_buf_free(&out);
		} else if (f.type == CF_REQUEST && !decode_request(&f, &q)) {
			after = after || payload_is(&q, "after");
			answer(&run, f.stream_id, payload_is(&q, "after") ? "after" : "?");
		}
		cf_frame_free(&f);
		if (after)
			break;
	}
	cl_end(&run, after);
	if (!cl_exited_ok(&run, r))
		return;
	if (big_len)
		cf_fail(r, "the client sent a %u-byte frame (limit %u)", big_len, CF_MAX_PAYLOAD);
	else if (!call_failed(&run.calls[0]))
		cf_fail(r, "nothing over the limit was sent, but the call reported %s", call_text(&run.calls[0]));
	else if (!after || !call_ok(&run.calls[1], "after"))
		cf_fail(r, "refused (%s), but the next call: %s", call_text(&run.calls[0]), call_text(&run.calls[1]));
	else
		cf_pass(r, "refused before sending: %s; next call answered", call_text(&run.calls[0]));
}

static void act_error(struct cl_run *run, const struct cf_frame *f)
{
	struct cf_buf out = { 0 };
	put_response(&out, f->stream_id, 0, 5, "conform-nope", NULL);
	cf_write(&run->conn, out.data, out.len);
	cf_buf_free(&out);
}

static void v_error(struct cl_run *run, struct cf_result *r, int64_t took)
{
	(void)took;
	const struct cl_call *c = &run->calls[0];
	if (call_failed(c) && c->code == 5 && !strcmp(c->text, "conform-nope"))
		cf_pass(r, "reported %s", call_text(c));
	else
		cf_fail(r, "answered NOT_FOUND 'conform-nope'; the client reported %s", call_text(c));
}

static void c_error_status(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_error, false, v_error);
}

/* Takes the four requests of 'parallel'; sids[i] is the id of payload p<i>.
 * false: r says what went wrong, and the run has ended. */
static bool four_requests(const struct cf_ctx *ctx, struct cl_run *run, uint32_t sids[4], struct cf_result *r)
{
	if (!cl_start(ctx, "parallel", run, r)) {
		cl_end(run, false);
		return false;
	}
	for (int n = 0; n < 4; n++) {
		struct cf_frame f;
		struct cl_req q;
		if (!cl_request(run, &f, &q, r, "parallel calls")) {
			cl_end(run, false);
			return false;
		}
		int i = -1;
		if (q.payload_ok && q.payload_len == 2 && q.payload[0] == 'p' && q.payload[1] >= '0' &&
		    q.payload[1] <= '3')
			i = q.payload[1] - '0';
		uint32_t sid = f.stream_id;
		cf_frame_free(&f);
		if (i < 0 || sids[i]) {
			cf_fail(r, "parallel calls: unexpected payload");
			cl_end(run, false);
			return false;
		}
		sids[i] = sid;
	}
	return true;
}

static bool all_four(struct cl_run *run, struct cf_result *r, const char *how)
{
	static const char *const want[] = { "p0", "p1", "p2", "p3" };
	for (int i = 0; i < 4; i++)
		if (!call_ok(&run->calls[i], want[i])) {
			cf_fail(r, "%s; call p%d reported %s", how, i, call_text(&run->calls[i]));
			return false;
		}
	cf_pass(r, "%s; each call got its own answer", how);
	return true;
}

static void c_out_of_order(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	uint32_t sids[4] = { 0 };
	if (!four_requests(ctx, &run, sids, r))
		return;
	static const char *const p[] = { "p0", "p1", "p2", "p3" };
	for (int i = 3; i >= 0; i--) {
		answer(&run, sids[i], p[i]);
		usleep(20000);
	}
	cl_end(&run, true);
	if (cl_exited_ok(&run, r))
		all_four(&run, r, "4 calls in flight answered in reverse order");
}

static void c_answers_one_write(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	uint32_t sids[4] = { 0 };
	if (!four_requests(ctx, &run, sids, r))
		return;
	static const char *const p[] = { "p0", "p1", "p2", "p3" };
	struct cf_buf out = { 0 };
	for (int i = 0; i < 4; i++)
		put_response(&out, sids[(i + 2) % 4], 0, 0, NULL, p[(i + 2) % 4]);
	cf_write(&run.conn, out.data, out.len);
	cf_buf_free(&out);
	cl_end(&run, true);
	if (cl_exited_ok(&run, r))
		all_four(&run, r, "4 answers in one write");
}

static void c_disconnect_parallel(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	uint32_t sids[4] = { 0 };
	if (!four_requests(ctx, &run, sids, r))
		return;
	answer(&run, sids[0], "p0");
	answer(&run, sids[2], "p2");
	/* time for the answers to reach their calls: Go 1.1.1 can lose an answer
	 * that its caller has not taken yet when the close comes */
	usleep(300000);
	cl_end(&run, false);
	if (!cl_exited_ok(&run, r))
		return;
	const struct cl_call *c = run.calls;
	if (call_ok(&c[0], "p0") && call_ok(&c[2], "p2") && call_failed(&c[1]) && call_failed(&c[3]))
		cf_pass(r, "answered p0 p2 then closed: p1 %s, p3 %s", call_text(&c[1]), call_text(&c[3]));
	else
		cf_fail(r, "answered p0 p2 then closed: reported %s, %s, %s, %s", call_text(&c[0]), call_text(&c[1]),
			call_text(&c[2]), call_text(&c[3]));
}

static void act_split(struct cl_run *run, const struct cf_frame *f)
{
	struct cf_buf out = { 0 };
	put_response(&out, f->stream_id, 0, 0, NULL, "conform");
	for (size_t i = 0; i < out.len; i++) {
		cf_write(&run->conn, out.data + i, 1);
		usleep(2000);
	}
	cf_buf_free(&out);
}

static void v_conform(struct cl_run *run, struct cf_result *r, int64_t took)
{
	(void)took;
	if (call_ok(&run->calls[0], "conform"))
		cf_pass(r, "reported %s", call_text(&run->calls[0]));
	else
		cf_fail(r, "the client reported %s", call_text(&run->calls[0]));
}

static void c_split_response(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_split, false, v_conform);
}

static void act_stray_first(struct cl_run *run, const struct cf_frame *f)
{
	struct cf_buf out = { 0 };
	put_response(&out, f->stream_id + 98, 0, 0, NULL, "stray");
	cf_write(&run->conn, out.data, out.len);
	cf_buf_free(&out);
	usleep(50000);
	answer(run, f->stream_id, "conform");
}

static void v_not_stray(struct cl_run *run, struct cf_result *r, int64_t took)
{
	(void)took;
	const struct cl_call *c = &run->calls[0];
	if (call_ok(c, "stray"))
		cf_fail(r, "the answer for an unknown id was taken for the call");
	else if (!c->present)
		cf_fail(r, "the call reported nothing");
	else
		cf_pass(r, "reported %s", call_text(c));
}

static void c_unknown_id(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_stray_first, false, v_not_stray);
}

static void c_unknown_id_kept(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_stray_first, false, v_conform);
}

static void act_unknown_type(struct cl_run *run, const struct cf_frame *f)
{
	cf_send_frame(&run->conn, f->stream_id, 0x7f, 0, "\x01\x02\x03\x04\x05", 5);
	answer(run, f->stream_id, "conform");
}

static void c_unknown_type(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_unknown_type, false, v_conform);
}

static void act_flags(struct cl_run *run, const struct cf_frame *f)
{
	struct cf_buf out = { 0 };
	put_response(&out, f->stream_id, 0x80, 0, NULL, "conform");
	cf_write(&run->conn, out.data, out.len);
	cf_buf_free(&out);
}

static void c_response_flags(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_flags, false, v_conform);
}

static void act_empty(struct cl_run *run, const struct cf_frame *f)
{
	cf_send_frame(&run->conn, f->stream_id, CF_RESPONSE, 0, NULL, 0);
}

static void v_empty(struct cl_run *run, struct cf_result *r, int64_t took)
{
	(void)took;
	if (call_ok(&run->calls[0], ""))
		cf_pass(r, "a zero-length Response is OK with the empty message");
	else
		cf_fail(r, "a zero-length Response: the client reported %s", call_text(&run->calls[0]));
}

static void c_empty_response(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_empty, false, v_empty);
}

/* Outcomes where the call must fail (an error, reported, and the client exits). */
static void v_failed(struct cl_run *run, struct cf_result *r, int64_t took)
{
	const struct cl_call *c = &run->calls[0];
	if (call_failed(c))
		cf_pass(r, "reported %s after %lld ms", call_text(c), (long long)took);
	else
		cf_fail(r, "the client reported %s", call_text(c));
}

static void act_garbage(struct cl_run *run, const struct cf_frame *f)
{
	cf_send_frame(&run->conn, f->stream_id, CF_RESPONSE, 0, "\xff\xff\xff\xff\xff\xff", 6);
}

static void c_garbage_response(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_garbage, false, v_failed);
}

static void act_oversized(struct cl_run *run, const struct cf_frame *f)
{
	size_t n = CF_MAX_PAYLOAD + 1;
	uint8_t *body = calloc(1, n);
	if (!body)
		return;
	body[0] = 0x12; /* field 2 (payload), length-delimited: the rest is the length and zeros */
	body[1] = 0xfa;
	body[2] = 0xff;
	body[3] = 0xff;
	body[4] = 0x01;
	cf_send_frame(&run->conn, f->stream_id, CF_RESPONSE, 0, body, n);
	free(body);
}

static void c_oversized_response(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_oversized, false, v_failed);
}

static void act_huge(struct cl_run *run, const struct cf_frame *f)
{
	uint8_t h[CF_HEADER];
	cf_put_header(h, 0xf0000000u, f->stream_id, CF_RESPONSE, 0);
	cf_write(&run->conn, h, sizeof(h));
	cf_write(&run->conn, "\x12\x00", 2);
	usleep(1000000);
}

static void c_huge_length(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_huge, true, v_failed);
}

static void act_close(struct cl_run *run, const struct cf_frame *f)
{
	(void)run;
	(void)f;
}

static void c_disconnect_before_answer(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_close, true, v_failed);
}

static void act_half_header(struct cl_run *run, const struct cf_frame *f)
{
	uint8_t h[CF_HEADER];
	cf_put_header(h, 9, f->stream_id, CF_RESPONSE, 0);
	cf_write(&run->conn, h, 5);
	usleep(100000);
}

static void c_disconnect_mid_frame(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_half_header, true, v_failed);
}

static void act_reset(struct cl_run *run, const struct cf_frame *f)
{
	(void)f;
	cf_reset(&run->conn);
}

static void c_reset(const struct cf_ctx *ctx, struct cf_result *r)
{
	one_call_case(ctx, r, act_reset, true, v_failed);
}

/* No answer: the connection stays open; the call must end at its 2 s deadline. */
static void c_deadline_local(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cf_frame f = { 0 };
	struct cl_req q;
	if (!first_request(ctx, "timeout", "t", &run, &f, &q, r)) {
		cl_end(&run, false);
		return;
	}
	cf_frame_free(&f);
	int64_t t0 = cf_now_ms();
	/* keep the connection open while the client waits */
	struct pollfd p = { .fd = run.out_fd, .events = POLLIN };
	while (cf_now_ms() - t0 < 6000 && poll(&p, 1, 100) == 0)
		;
	int64_t took = cf_now_ms() - t0;
	cl_end(&run, false);
	if (!cl_exited_ok(&run, r))
		return;
	const struct cl_call *c = &run.calls[0];
	if (call_failed(c) && took >= 1500 && took < 4000)
		cf_pass(r, "no answer: %s after %lld ms", call_text(c), (long long)took);
	else
		cf_fail(r, "no answer to a call with a 2 s deadline: %s after %lld ms", call_text(c), (long long)took);
}

/* --- stream cases (ttrpc-conform client --streams): Go 1.2's client framing --- */

#define RC CF_REMOTE_CLOSED
#define RO CF_REMOTE_OPEN
#define ND CF_NO_DATA

static void send_msg(struct cl_run *run, uint32_t sid, uint8_t flags, const char *text)
{
	struct cf_buf m = { 0 };
	cf_encode_echo(&m, text, strlen(text));
	cf_send_frame(&run->conn, sid, CF_DATA, flags, m.data, m.len);
	cf_buf_free(&m);
}

/* Starts a stream call list; its first frame must be a Request for method with
 * flags `flags` and the request message want ("": none). */
static bool stream_start(const struct cf_ctx *ctx, const char *call, const char *method, uint8_t flags,
			 const char *want, struct cl_run *run, uint32_t *sid, struct cl_req *q, struct cf_result *r)
{
	struct cf_frame f;
	if (!cl_start(ctx, call, run, r) || !cl_request(run, &f, q, r, method)) {
		cl_end(run, false);
		return false;
	}
	*sid = f.stream_id;
	uint8_t got = f.flags;
	bool payload_ok = payload_is(q, want);
	cf_frame_free(&f);
	q->payload = NULL;
	if (strcmp(q->service, CL_SERVICE) || strcmp(q->method, method) || got != flags || !payload_ok) {
		cf_fail(r,
			"want a Request for %s flags 0x%x message '%s'; got %.60s/%.40s flags 0x%x, %zu-byte message",
			method, flags, want, q->service, q->method, got, q->payload_len);
		cl_end(run, false);
		return false;
	}
	return true;
}

/* Download "3": the server's messages, then its end as the case says. */
static void download_case(const struct cf_ctx *ctx, struct cf_result *r, int variant)
{
	struct cl_run run;
	struct cl_req q;
	uint32_t sid;
	if (!stream_start(ctx, "download", "Download", RC, "3", &run, &sid, &q, r))
		return;
	const char *want_msgs = "[0][1][2]";
	if (variant == 3) /* a Data frame on a stream never opened, first */
		send_msg(&run, sid + 98, 0, "stray");
	if (variant == 2) { /* an empty message: a zero-length Data frame */
		cf_send_frame(&run.conn, sid, CF_DATA, 0, NULL, 0);
		want_msgs = "[][0][1][2]";
	}
	send_msg(&run, sid, 0, "0");
	if (variant == 1 || variant == 4) {
		struct cf_buf out = { 0 };
		if (variant == 1)
			put_response(&out, sid, 0, 5, "gone", NULL);
		cf_write(&run.conn, out.data, out.len);
		cf_buf_free(&out);
		usleep(100000);
		cl_end(&run, variant == 1); /* 4: the server leaves mid-stream */
		if (!cl_exited_ok(&run, r))
			return;
		const struct cl_call *c = &run.calls[0];
		bool ok = !strcmp(run.msgs, "[0]") && call_failed(c) && (variant == 4 || c->code == 5);
		if (ok)
			cf_pass(r, "messages %s, then %s", run.msgs, call_text(c));
		else
			cf_fail(r, "sent '0' then %s; the client reported messages %s, %s",
				variant == 1 ? "Response NOT_FOUND 'gone'" : "closed", run.msgs, call_text(c));
		return;
	}
	send_msg(&run, sid, 0, "1");
	send_msg(&run, sid, 0, "2");
	cf_send_frame(&run.conn, sid, CF_DATA, RC | ND, NULL, 0);
	cl_end(&run, true);
	if (!cl_exited_ok(&run, r))
		return;
	if (!strcmp(run.msgs, want_msgs) && call_ok(&run.calls[0], ""))
		cf_pass(r, "Request flags remote-closed, payload '3'; messages %s, end OK", run.msgs);
	else
		cf_fail(r, "want messages %s and the end OK; the client reported %s, %s", want_msgs, run.msgs,
			call_text(&run.calls[0]));
}

static void c_str_download(const struct cf_ctx *ctx, struct cf_result *r)
{
	download_case(ctx, r, 0);
}

static void c_str_download_error(const struct cf_ctx *ctx, struct cf_result *r)
{
	download_case(ctx, r, 1);
}

static void c_str_empty_message(const struct cf_ctx *ctx, struct cf_result *r)
{
	download_case(ctx, r, 2);
}

static void c_str_data_unknown(const struct cf_ctx *ctx, struct cf_result *r)
{
	download_case(ctx, r, 3);
}

static void c_str_disconnect(const struct cf_ctx *ctx, struct cf_result *r)
{
	download_case(ctx, r, 4);
}

/* Reads Data frames of sid until close-send; "[x][yy]" into got. false: r set. */
static bool read_sent(struct cl_run *run, uint32_t sid, char *got, size_t n, bool echo, struct cf_result *r)
{
	got[0] = 0;
	for (;;) {
		struct cf_frame f;
		int rc = cf_recv(&run->conn, &f, CL_REQ_MS);
		if (rc != 1) {
			cf_fail(r, "after %s: %s", *got ? got : "the Request",
				rc == 0 ? "no close-send within 5 s" : "the connection ended");
			return false;
		}
		char d[200];
		cf_describe(&f, d, sizeof(d));
		const uint8_t *p;
		size_t len;
		bool bad = f.type != CF_DATA || f.stream_id != sid;
		if (!bad && f.flags == (RC | ND)) {
			bad = f.length != 0;
			cf_frame_free(&f);
			if (bad) {
				cf_fail(r, "a close-send with %s", d);
				return false;
			}
			return true;
		}
		if (bad || f.flags != 0 || cf_decode_echo(f.payload, f.length, &p, &len)) {
			cf_frame_free(&f);
			cf_fail(r, "after %s: want Data flags 0 or a close-send, got %s", *got ? got : "the Request",
				d);
			return false;
		}
		size_t k = strlen(got);
		snprintf(got + k, n - k, "[%.*s]", (int)len, p ? (const char *)p : "");
		if (echo) {
			char text[64];
			snprintf(text, sizeof(text), "%.*s", (int)len, p ? (const char *)p : "");
			send_msg(run, sid, 0, text);
		}
		cf_frame_free(&f);
	}
}

static void c_str_upload(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cl_req q;
	uint32_t sid;
	char got[128];
	if (!stream_start(ctx, "upload", "Upload", RO, "", &run, &sid, &q, r))
		return;
	if (!read_sent(&run, sid, got, sizeof(got), false, r)) {
		cl_end(&run, false);
		return;
	}
	struct cf_buf out = { 0 };
	put_response(&out, sid, 0, 0, NULL, "3:3");
	cf_write(&run.conn, out.data, out.len);
	cf_buf_free(&out);
	cl_end(&run, true);
	if (!cl_exited_ok(&run, r))
		return;
	if (strcmp(got, "[x][yy][]"))
		cf_fail(r, "want Data 'x' 'yy' '' (zero-length) then close-send; got %s", got);
	else if (!call_ok(&run.calls[0], "3:3"))
		cf_fail(r, "sent %s; the answer '3:3': the client reported %s", got, call_text(&run.calls[0]));
	else
		cf_pass(r, "Request remote-open, Data %s, close-send; answer reported", got);
}

static void c_str_chat(const struct cf_ctx *ctx, struct cf_result *r)
{
	struct cl_run run;
	struct cl_req q;
	uint32_t sid;
	char got[128];
	if (!stream_start(ctx, "chat", "Chat", RO, "", &run, &sid, &q, r))
		return;
	if (!read_sent(&run, sid, got, sizeof(got), true, r)) {
		cl_end(&run, false);
		return;
	}
	cf_send_frame(&run.conn, sid, CF_DATA, RC | ND, NULL, 0);
	cl_end(&run, true);
	if (!cl_exited_ok(&run, r))
		return;
	if (strcmp(got, "[a][b]") || strcmp(run.msgs, "[a][b]") || !call_ok(&run.calls[0], ""))
		cf_fail(r, "sent %s (each echoed at once); the client received %s, %s", got, run.msgs,
			call_text(&run.calls[0]));
	else
		cf_pass(r, "Data %s each echoed, close-send both ways, end OK", got);
}

const struct cf_case cf_client_cases[] = {
	{ "cl.request-frame", true,
	  "a unary call is one Request frame: odd stream id, flags 0, service/method, payload", "PROTOCOL.md Request",
	  c_request_frame },
	{ "cl.first-id", false, "the first stream id of a connection is 1", "client.go (streamID starts at 1)",
	  c_first_id },
	{ "cl.ids-increasing", true, "stream ids of successive calls are odd and increase", "PROTOCOL.md Stream ID",
	  c_ids_increasing },
	{ "cl.no-timeout", true, "a call without deadline sends no timeout_nano (0)", "client.go v1.2.7 dispatch",
	  c_no_timeout },
	{ "cl.timeout-nano", true, "a call with a 2 s deadline sends timeout_nano in (1 s, 2 s]",
	  "client.go v1.2.7 dispatch (deadline)", c_timeout_nano },
	{ "cl.metadata", true, "metadata is one KeyValue{key,value} per value, repeated keys in order",
	  "metadata.go setRequest", c_metadata },
	{ "cl.oversized-refused", true,
	  "a request over 4 MiB is refused before sending (error), the connection stays usable",
	  "channel.go send (messageLengthMax)", c_oversized_refused },
	{ "cl.error-status", true, "an error Response is reported with its code and message",
	  "client.go v1.2.7 Call (status)", c_error_status },
	{ "cl.out-of-order", true, "answers in another order than the calls reach the right calls",
	  "PROTOCOL.md Streaming", c_out_of_order },
	{ "cl.answers-one-write", true, "several Responses in one write are all delivered", "PROTOCOL.md Message Frame",
	  c_answers_one_write },
	{ "cl.split-response", true, "a Response arriving byte by byte is reassembled", "channel.go recv (io.ReadFull)",
	  c_split_response },
	{ "cl.unknown-id", true, "a Response on an id never used is not taken for a call",
	  "client.go v1.2.7 receiveLoop", c_unknown_id },
	{ "cl.unknown-id-kept", false, "a Response on an id never used is ignored, the connection kept",
	  "client.go v1.2.7 receiveLoop", c_unknown_id_kept },
	{ "cl.unknown-type", false, "a frame of unknown type is ignored", "server.go v1.2.7 L386 (future compat)",
	  c_unknown_type },
	{ "cl.response-flags", false, "undefined Response flag bits do not fail a unary call",
	  "PROTOCOL.md Response Flags", c_response_flags },
	{ "cl.empty-response", true, "a zero-length Response is success with the empty message",
	  "PROTOCOL.md (zero length = empty object)", c_empty_response },
	{ "cl.garbage-response", true, "an undecodable Response fails the call by itself (no crash, no hang)",
	  "client.go v1.2.7 receiveLoop", c_garbage_response },
	{ "cl.oversized-response", true, "a Response over 4 MiB fails the call by itself (no crash, no hang)",
	  "channel.go recv (messageLengthMax)", c_oversized_response },
	{ "cl.huge-length", true, "a 4 GiB length announcement fails the call without allocating it",
	  "PROTOCOL.md Message Frame", c_huge_length },
	{ "cl.disconnect-before-answer", true, "the server leaving before answering fails the call at once",
	  "client.go v1.2.7 (ErrClosed)", c_disconnect_before_answer },
	{ "cl.disconnect-mid-frame", true, "the server leaving mid-header fails the call at once",
	  "channel.go recv (io.ErrUnexpectedEOF)", c_disconnect_mid_frame },
	{ "cl.reset", true, "a reset connection fails the call at once", "client.go v1.2.7 (ECONNRESET)", c_reset },
	{ "cl.disconnect-partial", true, "answered calls keep their answers, the others fail when the server leaves",
	  "client.go v1.2.7 (ErrClosed)", c_disconnect_parallel },
	{ "cl.str-download", true,
	  "server stream: Request remote-closed with the request; Data messages delivered in order, end OK",
	  "client.go v1.2.7 NewStream, PROTOCOL.md Non-Unary", c_str_download },
	{ "cl.str-download-error", true, "a stream ended by an error Response reports it after the messages",
	  "client.go v1.2.7 stream RecvMsg", c_str_download_error },
	{ "cl.str-empty-message", true, "a zero-length Data frame is an empty message, delivered",
	  "PROTOCOL.md Data (zero length)", c_str_empty_message },
	{ "cl.str-data-unknown-stream", false, "Data on a stream the client never opened is ignored",
	  "client.go v1.2.7 receiveLoop", c_str_data_unknown },
	{ "cl.str-disconnect", true, "the server leaving mid-stream ends the stream with an error",
	  "client.go v1.2.7 (ErrClosed)", c_str_disconnect },
	{ "cl.str-upload", true,
	  "client stream: Request remote-open without payload, Data flags 0 (empty message: zero length), "
	  "close-send Data remote-closed|no-data, the Response reported",
	  "client.go v1.2.7 NewStream/CloseSend", c_str_upload },
	{ "cl.str-chat", true, "bidi stream: each message sent and received in turn, close-send, end OK",
	  "client.go v1.2.7 stream", c_str_chat },
	{ "cl.deadline-local", false, "a call with a 2 s deadline and no answer ends near 2 s with an error",
	  "client.go v1.2.7 Call (ctx deadline)", c_deadline_local },
};
const size_t cf_n_client_cases = sizeof(cf_client_cases) / sizeof(cf_client_cases[0]);
