/* SPDX-License-Identifier: Apache-2.0 */
/* An out-of-tree program using the installed libttrpc: a server and a client
 * joined by a socketpair on one libev loop, one blocking call. Exit status 0
 * only when the answer is the one the handler computed. */
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#define SERVICE "consumer.v1.Reverse"
#define METHOD "Reverse"

/* Answers with the request bytes in reverse order. */
static void reverse(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	int *calls = user;
	uint8_t out[256];

	(*calls)++;
	if (len > sizeof(out)) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "request of %zu bytes too long", len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = req[len - 1 - i];
	ttrpc_call_respond(call, out, len);
}

int main(void)
{
	static const char request[] = "installed libttrpc";
	static const char expected[] = "cprttbil dellatsni";
	struct ttrpc_result result = { 0 };
	ttrpc_server *server = NULL;
	ttrpc_client *client = NULL;
	int sv[2] = { -1, -1 };
	int calls = 0, err = 0, rc, status = 1;

	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	if (!loop || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("consumer: setup");
		goto out;
	}
	server = ttrpc_server_new(loop);
	if (!server) {
		fprintf(stderr, "consumer: ttrpc_server_new failed\n");
		goto out;
	}
	rc = ttrpc_server_register(server, SERVICE, METHOD, reverse, &calls);
	if (rc == 0)
		rc = ttrpc_server_adopt_conn(server, sv[0]);
	if (rc) {
		fprintf(stderr, "consumer: server setup: %s\n", ttrpc_strerror(rc));
		goto out;
	}
	sv[0] = -1;
	client = ttrpc_client_adopt(loop, sv[1], &err);
	if (!client) {
		fprintf(stderr, "consumer: ttrpc_client_adopt: %s\n", ttrpc_strerror(err));
		goto out;
	}
	sv[1] = -1;

	rc = ttrpc_client_call_sync(client, SERVICE, METHOD, (const uint8_t *)request, strlen(request), NULL, &result);
	if (rc != TTRPC_CODE_OK) {
		fprintf(stderr, "consumer: call failed: %s: %s\n", ttrpc_code_name(rc), result.message);
		goto out;
	}
	if (calls != 1 || result.len != strlen(expected) || memcmp(result.payload, expected, result.len) != 0) {
		fprintf(stderr, "consumer: wrong answer after %d handler call(s): \"%.*s\"\n", calls, (int)result.len,
			(const char *)result.payload);
		goto out;
	}
	printf("consumer: %s/%s(\"%s\") = \"%.*s\"\n", SERVICE, METHOD, request, (int)result.len,
	       (const char *)result.payload);
	status = 0;
out:
	ttrpc_result_clear(&result);
	ttrpc_client_free(client);
	ttrpc_server_free(server);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (loop)
		ev_loop_destroy(loop);
	return status;
}
