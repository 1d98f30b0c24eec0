/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the server cases: one probe (a frame, the answers it may get,
 * then a check that the connection is still usable), pumping many frames, /proc. */
#ifndef TTRPC_CONFORM_SERVER_UTIL_H
#define TTRPC_CONFORM_SERVER_UTIL_H

#include "conform.h"

#define CF_SERVICE "ttrpc.bench.v1.Bench"
#define CF_WAIT_MS 3000
#define ACCEPT(code) (1u << (code))
#define ACCEPT_CLOSE (1u << 31) /* the server may close the connection instead */
#define ACCEPT_NONE 0u		/* no answer at all: the next Echo's answer must come first */

struct probe {
	uint32_t sid;
	uint8_t type, flags;
	bool explicit_type; /* else type is Request */
	bool raw;	    /* send raw_data as the frame payload instead of encoding req */
	const void *raw_data;
	size_t raw_len;
	struct cf_req req;
	uint32_t accept;  /* set of acceptable status codes (ACCEPT()), ACCEPT_CLOSE */
	const char *echo; /* with an OK answer: the Echo payload that must come back */
	bool skip_usable; /* do not check the connection afterwards */
};

const char *cf_code_name(int code);
bool cf_open(const struct cf_ctx *ctx, struct cf_conn *c, struct cf_result *r);
void cf_run_probe(const struct cf_ctx *ctx, struct cf_result *r, const struct probe *p);
/* Waits for the Response on sid. false: r is set to a failure naming what. */
bool cf_expect_response(struct cf_conn *c, uint32_t sid, struct cf_resp *resp, struct cf_frame *f, struct cf_result *r,
			const char *what);
/* Echo on sid must come back with its payload; appends to note. */
bool cf_expect_usable(struct cf_conn *c, uint32_t sid, struct cf_result *r, const char *what);
/* The Echo request payload (EchoMessage) for text, in a static buffer. */
struct cf_req cf_echo_req(const char *text);

/* Writes out while reading; collects frames until `want` frames came or timeout. */
int cf_pump(struct cf_conn *c, const uint8_t *out, size_t out_len, struct cf_frame *frames, int want, int timeout_ms);

/* fd count of the server once it stopped changing (or -1 without --pid). */
int cf_fd_settle(pid_t pid);
/* Waits until the server's fd count is <= target; returns the last count. */
int cf_fd_wait_down(pid_t pid, int target, int timeout_ms);
/* A fresh connection gets its Echo answered. */
bool cf_fresh_echo(const struct cf_ctx *ctx, struct cf_result *r, const char *what);

#endif
