/* SPDX-License-Identifier: Apache-2.0 */
/* Our client against our server in one process (socketpair, one loop):
 * client interceptors, the client's message limit, and freeing a client from
 * inside its own callback. */
#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/stream.h>
#include <ttrpc/ttrpc.h>

#define SVC "test.v1.Ic"

static struct {
	struct ev_loop *loop;
	ttrpc_server *server;
	ttrpc_client *client;
	char order[64];
	int after_code[4];
	int64_t after_ns[4];
	int n_after, n_done, last_code;
	char last_payload[256];
} t;

static void md_echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	char out[256] = "";
	const ttrpc_md *md = ttrpc_call_metadata(call);
	for (size_t i = 0; i < ttrpc_md_count(md); i++) {
		const char *k, *v;
		ttrpc_md_at(md, i, &k, &v);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s=%s;", k, v);
	}
	ttrpc_call_respond(call, (const uint8_t *)out, strlen(out));
}

static void sized(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)user;
	char out[32];
	int k = snprintf(out, sizeof(out), "%zu", len);
	ttrpc_call_respond(call, (const uint8_t *)out, (size_t)k);
}

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	t.loop = ev_loop_new(EVFLAG_AUTO);
	t.server = ttrpc_server_new(t.loop);
	cr_assert_eq(ttrpc_server_register(t.server, SVC, "Md", md_echo, NULL), 0);
	cr_assert_eq(ttrpc_server_register(t.server, SVC, "Size", sized, NULL), 0);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ttrpc_server_adopt_conn(t.server, sv[1]), 0);
	t.client = ttrpc_client_adopt(t.loop, sv[0], NULL);
	cr_assert_not_null(t.client);
}

static void teardown(void)
{
	ttrpc_client_free(t.client);
	ttrpc_server_free(t.server);
	ev_run(t.loop, EVRUN_NOWAIT);
	ev_loop_destroy(t.loop);
}

TestSuite(client_ic, .init = setup, .fini = teardown, .timeout = 60);

static void done(const struct ttrpc_result *r, void *user)
{
	(void)user;
	t.n_done++;
	t.last_code = r->code;
	snprintf(t.last_payload, sizeof(t.last_payload), "%.*s", (int)r->len, (const char *)r->payload);
}

static void wait_done(int n)
{
	for (int i = 0; i < 5000 && t.n_done < n; i++)
		ev_run(t.loop, EVRUN_ONCE);
	cr_assert_eq(t.n_done, n);
}

static int before(const char *service, const char *method, enum ttrpc_stream_kind kind, ttrpc_md *md, char **message,
		  void *user)
{
	const char *name = user;
	cr_assert_str_eq(service, SVC);
	cr_assert_eq(kind, TTRPC_KIND_UNARY);
	strcat(t.order, name);
	char key[16];
	snprintf(key, sizeof(key), "ic-%s", name);
	cr_assert_eq(ttrpc_md_add(md, key, method), 0);
	if (ttrpc_md_get(md, "deny") && !strcmp(name, "b")) {
		*message = strdup("denied by b");
		return TTRPC_CODE_PERMISSION_DENIED;
	}
	return TTRPC_CODE_OK;
}

static void after(const char *service, const char *method, enum ttrpc_stream_kind kind, int code, int64_t duration_ns,
		  void *user)
{
	(void)service;
	(void)method;
	(void)kind;
	const char *name = user;
	strcat(t.order, name);
	strcat(t.order, "'");
	t.after_code[t.n_after] = code;
	t.after_ns[t.n_after++] = duration_ns;
}

static void add_chain(void)
{
	static char a[] = "a", b[] = "b", c[] = "c";
	struct ttrpc_client_interceptor ia = { before, after, a }, ib = { before, after, b }, ic = { before, after, c };
	cr_assert_eq(ttrpc_client_add_interceptor(t.client, &ia), 0);
	cr_assert_eq(ttrpc_client_add_interceptor(t.client, &ib), 0);
	cr_assert_eq(ttrpc_client_add_interceptor(t.client, &ic), 0);
	struct ttrpc_client_interceptor none = { 0 };
	cr_assert_eq(ttrpc_client_add_interceptor(t.client, &none), TTRPC_EINVAL);
}

Test(client_ic, chain_order_metadata_and_completion)
{
	add_chain();
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "user", "x");
	struct ttrpc_call_opts o = { .md = md };
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Md", NULL, 0, &o, done, NULL), 0);
	ttrpc_md_free(md);
	wait_done(1);
	cr_assert_eq(t.last_code, 0);
	cr_assert_str_eq(t.last_payload, "user=x;ic-a=Md;ic-b=Md;ic-c=Md;");
	cr_assert_str_eq(t.order, "abcc'b'a'");
	cr_assert_eq(t.n_after, 3);
	cr_assert_eq(t.after_code[0], 0);
	cr_assert_gt(t.after_ns[0], 0);
}

Test(client_ic, rejection_sends_nothing_and_reports_the_status)
{
	add_chain();
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "deny", "1");
	struct ttrpc_call_opts o = { .md = md };
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Md", NULL, 0, &o, done, NULL), 0);
	ttrpc_md_free(md);
	cr_assert_eq(t.n_done, 1);
	cr_assert_eq(t.last_code, TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_str_eq(t.order, "abb'a'", "c never runs, after of a and b does");
	cr_assert_eq(t.after_code[0], TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_eq(ttrpc_client_pending(t.client), 0, "nothing was sent");
	/* the blocking API sees the same */
	struct ttrpc_result r = { 0 };
	ttrpc_md *md2 = ttrpc_md_new();
	ttrpc_md_add(md2, "deny", "1");
	struct ttrpc_call_opts o2 = { .md = md2 };
	cr_assert_eq(ttrpc_client_call_sync(t.client, SVC, "Md", NULL, 0, &o2, &r), TTRPC_CODE_PERMISSION_DENIED);
	cr_assert_str_eq(r.message, "denied by b");
	ttrpc_result_clear(&r);
	ttrpc_md_free(md2);
}

Test(client_ic, message_limit_per_client_and_server)
{
	cr_assert_eq(ttrpc_client_set_max_message(t.client, 0), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_client_set_max_message(t.client, TTRPC_MAX_MESSAGE_LIMIT + 1), TTRPC_EINVAL);
	size_t n = 6u << 20;
	uint8_t *big = calloc(1, n);
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", big, n, NULL, done, NULL), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc_client_set_max_message(t.client, TTRPC_MAX_MESSAGE_LIMIT), 0);
	/* the server still has the 4 MiB default: it refuses the frame */
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", big, n, NULL, done, NULL), 0);
	wait_done(1);
	cr_assert_eq(t.last_code, TTRPC_CODE_RESOURCE_EXHAUSTED);
	cr_assert_eq(ttrpc_server_set_max_message(t.server, TTRPC_MAX_MESSAGE_LIMIT), 0);
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", big, n, NULL, done, NULL), 0);
	wait_done(2);
	cr_assert_eq(t.last_code, 0);
	cr_assert_str_eq(t.last_payload, "6291456");
	/* a smaller client limit refuses before sending */
	cr_assert_eq(ttrpc_client_set_max_message(t.client, 100), 0);
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", big, 101, NULL, done, NULL), TTRPC_ETOOBIG);
	cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", big, 50, NULL, done, NULL), 0);
	wait_done(3);
	cr_assert_str_eq(t.last_payload, "50");
	free(big);
}

static void free_from_done(const struct ttrpc_result *r, void *user)
{
	(void)user;
	t.n_done++;
	t.last_code = r->code;
	if (t.client) {
		ttrpc_client *cl = t.client;
		t.client = NULL;
		ttrpc_client_free(cl); /* from inside its own callback */
	}
}

Test(client_ic, free_from_inside_a_callback_is_safe)
{
	for (int i = 0; i < 4; i++)
		cr_assert_eq(ttrpc_client_call(t.client, SVC, "Size", (const uint8_t *)"abc", 3, NULL, free_from_done,
					       NULL),
			     0);
	wait_done(4);
	/* the first answer freed the client: the others completed as closed */
	cr_assert_eq(t.last_code, TTRPC_CODE_UNAVAILABLE);
	for (int i = 0; i < 10; i++)
		ev_run(t.loop, EVRUN_NOWAIT);
}
