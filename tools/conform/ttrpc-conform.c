/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-conform: a conformance checker for ttrpc implementations.
 *   ttrpc-conform server --socket PATH [--pid PID] [--json] [--only ID,...] [--skip ID,...] [--list]
 * checks a server that serves ttrpc.bench.v1.Bench (Echo) by speaking raw frames;
 *   ttrpc-conform client --socket PATH [--json] [--only ID,...] [--skip ID,...] [--no-streams] -- COMMAND [ARGS...]
 * serves a checking server at PATH and runs `COMMAND ARGS... --socket PATH --call NAME`
 * once per case (client_cases.c says what the client must do).
 * Each case has an id, the rule it checks, a level (MUST/SHOULD) and a verdict with
 * what was seen. Exit status: 0 when every MUST passed, 1 when one failed, 2 usage. */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conform.h"

static void set(struct cf_result *r, enum cf_verdict v, const char *fmt, va_list ap)
{
	r->verdict = v;
	vsnprintf(r->seen, sizeof(r->seen), fmt, ap);
}

void cf_pass(struct cf_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set(r, CF_PASS, fmt, ap);
	va_end(ap);
}

void cf_fail(struct cf_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set(r, CF_FAIL, fmt, ap);
	va_end(ap);
}

void cf_skip(struct cf_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set(r, CF_SKIP, fmt, ap);
	va_end(ap);
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case CF_REQUEST:
		return "Request";
	case CF_RESPONSE:
		return "Response";
	case CF_DATA:
		return "Data";
	default:
		return "type?";
	}
}

void cf_describe(const struct cf_frame *f, char *out, size_t n)
{
	int k = snprintf(out, n, "%s(0x%x) sid=%u flags=0x%x len=%u", type_name(f->type), f->type, f->stream_id,
			 f->flags, f->length);
	if (k < 0 || (size_t)k >= n || f->type != CF_RESPONSE)
		return;
	struct cf_resp r;
	if (cf_decode_response(f->payload, f->length, &r)) {
		snprintf(out + k, n - (size_t)k, " (undecodable Response)");
		return;
	}
	if (r.has_status && r.code)
		snprintf(out + k, n - (size_t)k, " code=%d '%.120s'", r.code, r.message);
	else
		snprintf(out + k, n - (size_t)k, " OK payload=%zu", r.payload_len);
}

int cf_fd_count(pid_t pid)
{
	if (pid <= 0)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long cf_rss_kib(pid_t pid)
{
	if (pid <= 0)
		return -1;
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool cf_alive(pid_t pid)
{
	return pid <= 0 || kill(pid, 0) == 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static bool selected(const char *only, const char *id)
{
	if (!only)
		return true;
	size_t n = strlen(id);
	for (const char *p = only; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && !strncmp(p, id, n))
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

static const char *verdict_name(enum cf_verdict v)
{
	return v == CF_PASS ? "PASS" : v == CF_FAIL ? "FAIL" : "SKIP";
}

static int run_cases(const struct cf_case *cases, size_t n, const struct cf_ctx *ctx, bool json, const char *only,
		     const char *skip, bool list)
{
	int must_failed = 0, should_failed = 0, passed = 0, skipped = 0, ran = 0;
	if (json)
		printf("{\"cases\":[");
	else if (!list)
		printf("%-28s %-6s %-4s %s\n", "ID", "LEVEL", "", "SEEN");
	for (size_t i = 0; i < n; i++) {
		const struct cf_case *c = &cases[i];
		if (!selected(only, c->id) || (skip && selected(skip, c->id)))
			continue;
		struct cf_result r = { .verdict = CF_SKIP };
		if (list) {
			printf("%s\t%s\t%s\t%s\n", c->id, c->must ? "MUST" : "SHOULD", c->rule, c->ref);
			continue;
		}
		if (!cf_alive(ctx->pid))
			cf_fail(&r, "the server process %d is gone", (int)ctx->pid);
		else
			c->fn(ctx, &r);
		if (r.verdict == CF_PASS)
			passed++;
		else if (r.verdict == CF_SKIP)
			skipped++;
		else if (c->must)
			must_failed++;
		else
			should_failed++;
		if (json) {
			printf("%s\n{\"id\":", ran ? "," : "");
			json_string(c->id);
			printf(",\"level\":\"%s\",\"verdict\":\"%s\",\"rule\":", c->must ? "MUST" : "SHOULD",
			       verdict_name(r.verdict));
			json_string(c->rule);
			printf(",\"ref\":");
			json_string(c->ref);
			printf(",\"seen\":");
			json_string(r.seen);
			printf("}");
		} else {
			printf("%-28s %-6s %-4s %s\n", c->id, c->must ? "MUST" : "SHOULD", verdict_name(r.verdict),
			       r.seen);
		}
		fflush(stdout);
		ran++;
	}
	if (list)
		return 0;
	if (json)
		printf("\n],\"passed\":%d,\"must_failed\":%d,\"should_failed\":%d,\"skipped\":%d}\n", passed,
		       must_failed, should_failed, skipped);
	else
		printf("\n%d cases: %d passed, %d MUST failed, %d SHOULD failed, %d skipped\n", ran, passed,
		       must_failed, should_failed, skipped);
	if (!ran) {
		fprintf(stderr, "ttrpc-conform: no case selected\n");
		return 2;
	}
	return must_failed ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ttrpc-conform server --socket PATH [--pid PID] [--json] [--only ID,...] [--skip ID,...]\n"
		"       ttrpc-conform client --socket PATH [--json] [--only ID,...] [--skip ID,...] [--no-streams]\n"
		"                            -- COMMAND [ARGS...]\n"
		"       ttrpc-conform server|client --list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	struct cf_ctx ctx = { 0 };
	bool json = false, list = false, no_streams = false;
	const char *only = NULL, *skip = NULL;
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' }, { "pid", required_argument, 0, 'p' },
		{ "json", no_argument, 0, 'j' },	 { "only", required_argument, 0, 'o' },
		{ "skip", required_argument, 0, 'k' },	 { "list", no_argument, 0, 'l' },
		{ "no-streams", no_argument, 0, 'n' },	 { 0, 0, 0, 0 }
	};
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			ctx.socket = optarg;
			break;
		case 'p':
			ctx.pid = (pid_t)atoi(optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			only = optarg;
			break;
		case 'k':
			skip = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'n':
			no_streams = true;
			break;
		default:
			usage();
		}
	}
	bool client = !strcmp(mode, "client");
	if ((!client && strcmp(mode, "server")) || (!ctx.socket && !list))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (client) {
		ctx.client_argv = argv + optind;
		if (!list && (optind >= argc || ctx.pid))
			usage();
		if (!list && (ctx.listen_fd = cf_listen(ctx.socket)) < 0) {
			fprintf(stderr, "ttrpc-conform: listen %s: %s\n", ctx.socket, strerror(-ctx.listen_fd));
			return 2;
		}
		/* --no-streams: a client without streams (Go 1.1.1, Rust 0.5.2) */
		struct cf_case *cases = calloc(cf_n_client_cases, sizeof(*cases));
		size_t n = 0;
		if (!cases)
			return 2;
		for (size_t i = 0; i < cf_n_client_cases; i++)
			if (!no_streams || strncmp(cf_client_cases[i].id, "cl.str-", 7))
				cases[n++] = cf_client_cases[i];
		int rc = run_cases(cases, n, &ctx, json, only, skip, list);
		free(cases);
		if (!list) {
			close(ctx.listen_fd);
			unlink(ctx.socket);
		}
		return rc;
	}
	size_t n = cf_n_server_cases + cf_n_stream_cases;
	struct cf_case *cases = calloc(n, sizeof(*cases));
	if (!cases)
		return 2;
	memcpy(cases, cf_server_cases, cf_n_server_cases * sizeof(*cases));
	memcpy(cases + cf_n_server_cases, cf_stream_cases, cf_n_stream_cases * sizeof(*cases));
	int rc = run_cases(cases, n, &ctx, json, only, skip, list);
	free(cases);
	return rc;
}
