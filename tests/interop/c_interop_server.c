/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-c-interop-server: the C side of the interop tests. It serves
 * ttrpc.interop.v1.Test and ttrpc.bench.v1.Bench/Echo with libttrpc's public
 * server API, with the same semantics as the Go peer (ttrpc-go-peer server):
 *   Echo      payload back
 *   Fail      payload "<code>:<message>" -> that status
 *   Metadata  request metadata as sorted "key=value\n" lines
 *   Sleep     payload = milliseconds; "slept", or DEADLINE_EXCEEDED at the
 *             call's deadline; never blocks the loop
 *   Deadline  "deadline=no" or "deadline=yes remaining_ms=N"
 * Usage: ttrpc-c-interop-server --socket PATH [--verbose]
 * Prints "ready" once listening; SIGTERM/SIGINT shut it down cleanly. */
#include <ev.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/server.h>

#include "interop.pb-c.h"

struct app {
	struct ev_loop *loop;
	ttrpc_server *server;
	struct sleeper *sleepers;
	ev_signal sigterm, sigint;
};

/* A Sleep call waiting for its timer. */
struct sleeper {
	ev_timer timer;
	struct app *app;
	ttrpc_call *call;
	int code; /* what to answer when the timer fires */
	struct sleeper *prev, *next;
};

/* Decode the request message; on failure the call is answered. */
static Ttrpc__Interop__V1__Bytes *decode(ttrpc_call *call, const uint8_t *req, size_t len)
{
	Ttrpc__Interop__V1__Bytes *m = ttrpc__interop__v1__bytes__unpack(NULL, len, req);
	if (!m)
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "unmarshal request: invalid protobuf");
	return m;
}

static void respond_bytes(ttrpc_call *call, const uint8_t *data, size_t len)
{
	Ttrpc__Interop__V1__Bytes m = TTRPC__INTEROP__V1__BYTES__INIT;
	m.payload.data = (uint8_t *)data;
	m.payload.len = len;
	size_t n = ttrpc__interop__v1__bytes__get_packed_size(&m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ttrpc__interop__v1__bytes__pack(&m, buf);
	ttrpc_call_respond(call, buf, n);
	free(buf);
}

static void respond_text(ttrpc_call *call, const char *text)
{
	respond_bytes(call, (const uint8_t *)text, strlen(text));
}

/* The payload as a NUL-terminated string (caller frees), or NULL. */
static char *payload_text(const Ttrpc__Interop__V1__Bytes *m)
{
	char *s = malloc(m->payload.len + 1);
	if (s) {
		if (m->payload.len)
			memcpy(s, m->payload.data, m->payload.len);
		s[m->payload.len] = '\0';
	}
	return s;
}

static void h_echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	Ttrpc__Interop__V1__Bytes *m = decode(call, req, len);
	if (!m)
		return;
	respond_bytes(call, m->payload.data, m->payload.len);
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
}

static void h_fail(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	Ttrpc__Interop__V1__Bytes *m = decode(call, req, len);
	if (!m)
		return;
	char *text = payload_text(m);
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
	if (!text) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	char *end;
	long code = strtol(text, &end, 10);
	if (end == text || *end != ':' || code < 0 || code > 16)
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "Fail wants \"<code>:<message>\", got %s",
					 text);
	else if (code == TTRPC_CODE_OK)
		respond_bytes(call, NULL, 0);
	else
		ttrpc_call_respond_error(call, (int)code, "%s", end + 1);
	free(text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void h_metadata(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	Ttrpc__Interop__V1__Bytes *m = decode(call, req, len);
	if (!m)
		return;
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);

	const ttrpc_md *md = ttrpc_call_metadata(call);
	size_t count = ttrpc_md_count(md), total = 0, i;
	char **lines = calloc(count ? count : 1, sizeof(*lines));
	bool ok = lines != NULL;
	for (i = 0; ok && i < count; i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		ok = asprintf(&lines[i], "%s=%s\n", k, v) >= 0;
		if (!ok)
			lines[i] = NULL;
		else
			total += strlen(lines[i]);
	}
	char *text = ok ? malloc(total + 1) : NULL;
	if (text) {
		qsort(lines, count, sizeof(*lines), cmp_str);
		text[0] = '\0';
		char *p = text;
		for (i = 0; i < count; i++)
			p = stpcpy(p, lines[i]);
		respond_text(call, text);
	} else {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
	}
	free(text);
	for (i = 0; lines && i < count; i++)
		free(lines[i]);
	free(lines);
}

static void sleeper_unlink(struct sleeper *s)
{
	struct app *app = s->app;
	if (s->prev)
		s->prev->next = s->next;
	else
		app->sleepers = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ev_timer_stop(app->loop, &s->timer);
}

/* Answer a sleeping call: its timer fired, its peer left, or we exit. */
static void sleeper_finish(struct sleeper *s)
{
	sleeper_unlink(s);
	if (s->code == TTRPC_CODE_OK)
		respond_text(s->call, "slept");
	else
		ttrpc_call_respond_error(s->call, s->code, "context deadline exceeded");
	free(s);
}

static void on_sleep_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	sleeper_finish(w->data);
}

static void on_sleep_orphan(ttrpc_call *call, void *user)
{
	(void)call;
	sleeper_finish(user);
}

static void h_sleep(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	struct app *app = user;
	Ttrpc__Interop__V1__Bytes *m = decode(call, req, len);
	if (!m)
		return;
	char *text = payload_text(m);
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
	char *end = NULL;
	long long ms = text ? strtoll(text, &end, 10) : -1;
	if (!text || end == text || *end != '\0' || ms < 0) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "Sleep wants milliseconds, got %s",
					 text ? text : "?");
		free(text);
		return;
	}
	free(text);
	struct sleeper *s = calloc(1, sizeof(*s));
	if (!s) {
		ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->app = app;
	s->call = call;
	s->code = TTRPC_CODE_OK;
	int64_t wait_ns = ms * 1000000;
	int64_t deadline_ns = ttrpc_call_deadline_ns(call);
	if (deadline_ns != 0) {
		int64_t left_ns = deadline_ns - ttrpc_now_ns();
		if (left_ns < 0)
			left_ns = 0;
		if (left_ns < wait_ns) {
			wait_ns = left_ns;
			s->code = TTRPC_CODE_DEADLINE_EXCEEDED;
		}
	}
	ev_timer_init(&s->timer, on_sleep_timer, (double)wait_ns / 1e9, 0.);
	s->timer.data = s;
	ev_now_update(app->loop);
	ev_timer_start(app->loop, &s->timer);
	s->next = app->sleepers;
	if (s->next)
		s->next->prev = s;
	app->sleepers = s;
	ttrpc_call_on_orphan(call, on_sleep_orphan, s);
}

static void h_deadline(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	Ttrpc__Interop__V1__Bytes *m = decode(call, req, len);
	if (!m)
		return;
	ttrpc__interop__v1__bytes__free_unpacked(m, NULL);
	int64_t deadline_ns = ttrpc_call_deadline_ns(call);
	if (deadline_ns == 0) {
		respond_text(call, "deadline=no");
		return;
	}
	char text[64];
	snprintf(text, sizeof(text), "deadline=yes remaining_ms=%lld",
		 (long long)((deadline_ns - ttrpc_now_ns()) / 1000000));
	respond_text(call, text);
}

static void log_stderr(void *user, int level, const char *msg)
{
	(void)user;
	fprintf(stderr, "ttrpc-c-interop-server: [%d] %s\n", level, msg);
}

static void on_shutdown_done(ttrpc_server *server, void *user)
{
	(void)server;
	struct app *app = user;
	ev_break(app->loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct app *app = w->data;
	ev_signal_stop(app->loop, &app->sigterm);
	ev_signal_stop(app->loop, &app->sigint);
	/* Pending sleeps would hold the graceful shutdown: answer them now. */
	while (app->sleepers)
		sleeper_finish(app->sleepers);
	ttrpc_server_shutdown(app->server, 2.0, on_shutdown_done, app);
}

static const struct {
	const char *service, *method;
	ttrpc_handler_fn fn;
} methods[] = {
	{ "ttrpc.bench.v1.Bench", "Echo", h_echo },    { "ttrpc.interop.v1.Test", "Echo", h_echo },
	{ "ttrpc.interop.v1.Test", "Fail", h_fail },   { "ttrpc.interop.v1.Test", "Metadata", h_metadata },
	{ "ttrpc.interop.v1.Test", "Sleep", h_sleep }, { "ttrpc.interop.v1.Test", "Deadline", h_deadline },
};

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --socket PATH [--verbose]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else
			return usage(argv[0]);
	}
	if (!path)
		return usage(argv[0]);

	struct app app = { .loop = ev_default_loop(EVFLAG_AUTO) };
	app.server = app.loop ? ttrpc_server_new(app.loop) : NULL;
	if (!app.server) {
		fprintf(stderr, "ttrpc-c-interop-server: out of memory\n");
		return 1;
	}
	if (verbose)
		ttrpc_server_set_log(app.server, log_stderr, NULL);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int rc = ttrpc_server_register(app.server, methods[i].service, methods[i].method, methods[i].fn, &app);
		if (rc) {
			fprintf(stderr, "ttrpc-c-interop-server: register %s/%s: %s\n", methods[i].service,
				methods[i].method, ttrpc_strerror(rc));
			return 1;
		}
	}
	int rc = ttrpc_server_listen(app.server, path);
	if (rc) {
		fprintf(stderr, "ttrpc-c-interop-server: listen %s: %s\n", path, ttrpc_strerror(rc));
		ttrpc_server_free(app.server);
		return 1;
	}
	ev_signal_init(&app.sigterm, on_signal, SIGTERM);
	ev_signal_init(&app.sigint, on_signal, SIGINT);
	app.sigterm.data = app.sigint.data = &app;
	ev_signal_start(app.loop, &app.sigterm);
	ev_signal_start(app.loop, &app.sigint);

	printf("ready\n");
	fflush(stdout);
	ev_run(app.loop, 0);

	while (app.sleepers)
		sleeper_finish(app.sleepers);
	ttrpc_server_free(app.server);
	ev_loop_destroy(app.loop);
	return 0;
}
