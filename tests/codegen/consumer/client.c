/* greeter-client SOCKET NAME: one blocking and one async SayHello. */
#include <ev.h>
#include <stdio.h>

#include "greeter.ttrpc-c.h"

static void hello_done(const struct ttrpc_result *status, const Example__Greeter__V1__HelloReply *reply, void *user)
{
	int *done = user;

	if (status->code == TTRPC_CODE_OK)
		printf("async: %s\n", reply->message);
	else
		fprintf(stderr, "async: %s: %s\n", ttrpc_code_name(status->code), status->message);
	*done = status->code == TTRPC_CODE_OK ? 1 : -1;
}

int main(int argc, char **argv)
{
	Example__Greeter__V1__HelloRequest req = EXAMPLE__GREETER__V1__HELLO_REQUEST__INIT;
	Example__Greeter__V1__HelloReply *reply = NULL;
	struct ttrpc_result status = { 0 };
	ttrpc_client *client;
	int err = 0, code, done = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: greeter-client SOCKET NAME\n");
		return 2;
	}
	client = ttrpc_client_connect(NULL, argv[1], &err); /* NULL: the client owns a private loop */
	if (!client) {
		fprintf(stderr, "connect %s: %s\n", argv[1], ttrpc_strerror(err));
		return 1;
	}
	req.name = argv[2];

	/* Blocking: runs the client's loop until the answer is in. */
	code = example_greeter_v1_greeter_say_hello_call_sync(client, &req, NULL, &reply, &status);
	if (code != TTRPC_CODE_OK) {
		fprintf(stderr, "sync: %s: %s\n", ttrpc_code_name(code), status.message);
		ttrpc_result_clear(&status);
		ttrpc_client_free(client);
		return 1;
	}
	printf("sync: %s\n", reply->message);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	ttrpc_result_clear(&status);

	/* Async: the callback runs from the loop. */
	if (example_greeter_v1_greeter_say_hello_call(client, &req, NULL, hello_done, &done) == 0)
		while (!done)
			ev_run(ttrpc_client_loop(client), EVRUN_ONCE);
	ttrpc_client_free(client);
	return done == 1 ? 0 : 1;
}
