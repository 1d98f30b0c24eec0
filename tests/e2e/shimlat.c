/* SPDX-License-Identifier: Apache-2.0 */
/* shimlat: how long a shim's Task calls take, for the e2e test of a group
 * whose runtime hangs creating one container (issue 11). Any shim: ours or
 * containerd-shim-runc-v2.
 *   shimlat SOCKET NAMESPACE setup ID...
 *       in each container, an exec "lat-w" (/bin/true, no stdio) started and
 *       waited for: a process whose Wait answers at once
 *   shimlat SOCKET NAMESPACE measure STOP_FILE MAX_SECONDS ID...
 *       round after round over the ids until STOP_FILE exists or MAX_SECONDS
 *       passed (at least one round): State of the init, Exec of a new
 *       process (then its Delete, not counted), Kill of the init with
 *       SIGWINCH (ignored by a shell), Wait of lat-w; prints a line per call
 *       "VERB n=N p50=MS p99=MS max=MS"; exits 1 if a call failed
 *   shimlat SOCKET NAMESPACE cleanup ID...
 *       Delete of lat-w in each container
 * Every call is bounded by 60 s (runc-v2 holds calls behind its Create). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task/v2/shim.ttrpc-c.h"

#define SPEC "{\"args\":[\"/bin/true\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"]}"
#define MAX_SAMPLES 100000

enum verb {
	V_STATE,
	V_EXEC,
	V_KILL,
	V_WAIT,
	NVERBS
};
static const char *const verb_names[NVERBS] = { "State", "Exec", "Kill", "Wait" };

struct samples {
	double *ms;
	size_t n;
};

struct ctx {
	ttrpc_client *client;
	struct ttrpc_call_opts opts;
	struct samples s[NVERBS];
	int failures;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A call's status: 0, or 1 with "VERB ID: CODE: message" on stderr. */
static int check(struct ctx *x, const char *what, const char *id, int code, struct ttrpc_result *st)
{
	if (code != TTRPC_CODE_OK) {
		fprintf(stderr, "shimlat: %s %s: %s: %s\n", what, id, ttrpc_code_name(code),
			st->message ? st->message : "");
		x->failures++;
	}
	ttrpc_result_clear(st);
	return code == TTRPC_CODE_OK ? 0 : 1;
}

static void record(struct ctx *x, enum verb v, double t0)
{
	struct samples *s = &x->s[v];
	if (s->n < MAX_SAMPLES)
		s->ms[s->n++] = now_ms() - t0;
}

static void free_resp(void *resp)
{
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
}

static int call_exec(struct ctx *x, const char *id, const char *exec_id)
{
	Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
	Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
	Google__Protobuf__Empty *resp = NULL;
	struct ttrpc_result st = { 0 };
	spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
	spec.value.data = (uint8_t *)SPEC;
	spec.value.len = strlen(SPEC);
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.spec = &spec;
	int code = containerd_task_v2_task_exec_call_sync(x->client, &req, &x->opts, &resp, &st);
	free_resp(resp);
	return check(x, "Exec", id, code, &st);
}

static int call_delete(struct ctx *x, const char *id, const char *exec_id)
{
	Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	Containerd__Task__V2__DeleteResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	int code = containerd_task_v2_task_delete_call_sync(x->client, &req, &x->opts, &resp, &st);
	free_resp(resp);
	return check(x, "Delete", id, code, &st);
}

static int call_wait(struct ctx *x, const char *id, const char *exec_id)
{
	Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
	Containerd__Task__V2__WaitResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	int code = containerd_task_v2_task_wait_call_sync(x->client, &req, &x->opts, &resp, &st);
	free_resp(resp);
	return check(x, "Wait", id, code, &st);
}

static int setup(struct ctx *x, char **ids, int n)
{
	for (int i = 0; i < n; i++) {
		Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
		Containerd__Task__V2__StartResponse *resp = NULL;
		struct ttrpc_result st = { 0 };
		if (call_exec(x, ids[i], "lat-w"))
			return 1;
		req.id = ids[i];
		req.exec_id = "lat-w";
		int code = containerd_task_v2_task_start_call_sync(x->client, &req, &x->opts, &resp, &st);
		free_resp(resp);
		if (check(x, "Start", ids[i], code, &st) || call_wait(x, ids[i], "lat-w"))
			return 1;
	}
	return 0;
}

static void one_round(struct ctx *x, char **ids, int n, unsigned round)
{
	for (int i = 0; i < n; i++) {
		const char *id = ids[i];
		struct ttrpc_result st = { 0 };
		char exec_id[32];
		double t0 = now_ms();
		{
			Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
			Containerd__Task__V2__StateResponse *resp = NULL;
			req.id = (char *)id;
			int code = containerd_task_v2_task_state_call_sync(x->client, &req, &x->opts, &resp, &st);
			free_resp(resp);
			if (check(x, "State", id, code, &st) == 0)
				record(x, V_STATE, t0);
		}
		snprintf(exec_id, sizeof(exec_id), "lat-%u", round);
		t0 = now_ms();
		if (call_exec(x, id, exec_id) == 0) {
			record(x, V_EXEC, t0);
			call_delete(x, id, exec_id);
		}
		t0 = now_ms();
		{
			Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
			Google__Protobuf__Empty *resp = NULL;
			req.id = (char *)id;
			req.signal = SIGWINCH;
			int code = containerd_task_v2_task_kill_call_sync(x->client, &req, &x->opts, &resp, &st);
			free_resp(resp);
			if (check(x, "Kill", id, code, &st) == 0)
				record(x, V_KILL, t0);
		}
		t0 = now_ms();
		if (call_wait(x, id, "lat-w") == 0)
			record(x, V_WAIT, t0);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile. */
static double pct(const struct samples *s, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	return s->ms[(rank > s->n ? s->n : rank) - 1];
}

static int measure(struct ctx *x, const char *stop_file, double max_s, char **ids, int n)
{
	double end = now_ms() + max_s * 1e3;
	unsigned round = 0;
	do
		one_round(x, ids, n, round++);
	while (access(stop_file, F_OK) != 0 && now_ms() < end && !x->failures);
	for (int v = 0; v < NVERBS; v++) {
		struct samples *s = &x->s[v];
		if (!s->n) {
			printf("%s n=0\n", verb_names[v]);
			continue;
		}
		qsort(s->ms, s->n, sizeof(double), cmp_double);
		printf("%s n=%zu p50=%.1f p99=%.1f max=%.1f\n", verb_names[v], s->n, pct(s, 50), pct(s, 99),
		       s->ms[s->n - 1]);
	}
	return x->failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: shimlat SOCKET NAMESPACE setup|measure|cleanup ... (see the source)\n");
		return 2;
	}
	const char *path = strncmp(argv[1], "unix://", 7) ? argv[1] : argv[1] + 7;
	const char *verb = argv[3];
	int err;
	struct ctx x;
	memset(&x, 0, sizeof(x));
	x.client = ttrpc_client_connect(NULL, path, &err);
	if (!x.client) {
		fprintf(stderr, "shimlat: connect %s: %s\n", path, ttrpc_strerror(err));
		return 2;
	}
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "containerd-namespace-ttrpc", argv[2]);
	x.opts.timeout_ns = 60 * (int64_t)1000000000;
	x.opts.md = md;
	int rc = 2;
	if (!strcmp(verb, "setup")) {
		rc = setup(&x, argv + 4, argc - 4);
	} else if (!strcmp(verb, "cleanup")) {
		for (int i = 4; i < argc; i++)
			call_delete(&x, argv[i], "lat-w");
		rc = x.failures ? 1 : 0;
	} else if (!strcmp(verb, "measure") && argc > 6) {
		for (int v = 0; v < NVERBS; v++)
			if (!(x.s[v].ms = malloc(MAX_SAMPLES * sizeof(double))))
				return 2;
		rc = measure(&x, argv[4], atof(argv[5]), argv + 6, argc - 6);
		for (int v = 0; v < NVERBS; v++)
			free(x.s[v].ms);
	} else {
		fprintf(stderr, "shimlat: unknown verb or missing arguments: %s\n", verb);
	}
	ttrpc_md_free(md);
	ttrpc_client_free(x.client);
	return rc;
}
