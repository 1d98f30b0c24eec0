/* SPDX-License-Identifier: Apache-2.0 */
/* echo-client SOCKET [MESSAGE]: one blocking call to example.echo.v1.Echo/Echo. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ttrpc/ttrpc.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SOCKET [MESSAGE]\n", argv[0]);
		return 2;
	}
	const char *msg = argc == 3 ? argv[2] : "hello, ttrpc";
	int err;
	ttrpc_client *client = ttrpc_client_connect(NULL, argv[1], &err); /* NULL: a private loop */
	if (!client) {
		fprintf(stderr, "echo-client: connect %s: %s (%s)\n", argv[1], ttrpc_strerror(err), strerror(errno));
		return 1;
	}
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "example-client", "echo-client");
	struct ttrpc_call_opts opts = { .timeout_ns = 5000000000, .md = md };
	struct ttrpc_result r;
	ttrpc_client_call_sync(client, "example.echo.v1.Echo", "Echo", (const uint8_t *)msg, strlen(msg), &opts, &r);
	if (r.code != TTRPC_CODE_OK)
		fprintf(stderr, "echo-client: %s: %s\n", ttrpc_code_name(r.code), r.message);
	else
		printf("%.*s\n", (int)r.len, (const char *)r.payload);
	int rc = r.code == TTRPC_CODE_OK ? 0 : 1;
	ttrpc_result_clear(&r);
	ttrpc_md_free(md);
	ttrpc_client_free(client);
	return rc;
}
