/* greeter-server SOCKET: serves example.greeter.v1.Greeter until SIGTERM. */
#include <ev.h>
#include <stdio.h>

#include "greeter.ttrpc-c.h"

static void say_hello(ttrpc_call *call, const Example__Greeter__V1__HelloRequest *req, void *user)
{
	Example__Greeter__V1__HelloReply reply = EXAMPLE__GREETER__V1__HELLO_REPLY__INIT;
	char text[256];

	(void)user;
	if (!*req->name) {
		ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "name is empty");
		return;
	}
	snprintf(text, sizeof(text), "Hello, %s", req->name);
	reply.message = text;
	/* Here at once; a handler may as well keep `call` and respond later. */
	example_greeter_v1_greeter_say_hello_respond(call, &reply);
}

static const struct example_greeter_v1_greeter_handlers handlers = {
	.say_hello = say_hello,
};

static void on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	struct ev_loop *loop = EV_DEFAULT;
	struct example_greeter_v1_greeter_service service = { .handlers = &handlers, .user = NULL };
	ttrpc_server *server;
	ev_signal sigterm;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: greeter-server SOCKET\n");
		return 2;
	}
	server = ttrpc_server_new(loop);
	if (!server)
		return 1;
	rc = example_greeter_v1_greeter_register(server, &service);
	if (rc == 0)
		rc = ttrpc_server_listen(server, argv[1]);
	if (rc < 0) {
		fprintf(stderr, "greeter-server: %s\n", ttrpc_strerror(rc));
		ttrpc_server_free(server);
		return 1;
	}
	ev_signal_init(&sigterm, on_sigterm, SIGTERM);
	ev_signal_start(loop, &sigterm);
	ev_run(loop, 0);
	ttrpc_server_free(server);
	return 0;
}
