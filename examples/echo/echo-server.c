/* SPDX-License-Identifier: Apache-2.0 */
/* echo-server SOCKET: serves example.echo.v1.Echo/Echo, answering every
 * request with its own bytes, until SIGINT or SIGTERM (then a graceful stop). */
#include <ev.h>
#include <stdio.h>

#include <ttrpc/ttrpc.h>

static void echo(ttrpc_call *call, const uint8_t *req, size_t len, void *user)
{
	(void)user;
	ttrpc_call_respond(call, req, len); /* may also be called later, from any loop iteration */
}

static void on_log(void *user, int level, const char *msg)
{
	(void)user;
	if (level <= TTRPC_LOG_WARN)
		fprintf(stderr, "%s\n", msg);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	ttrpc_server_shutdown(w->data, 5.0, NULL, NULL); /* calls in flight finish first */
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	struct ev_loop *loop = EV_DEFAULT;
	ttrpc_server *server = ttrpc_server_new(loop);
	ttrpc_server_set_log(server, on_log, NULL);
	ttrpc_server_register(server, "example.echo.v1.Echo", "Echo", echo, NULL);
	int rc = ttrpc_server_listen(server, argv[1]);
	if (rc) {
		fprintf(stderr, "echo-server: listen on %s: %s\n", argv[1], ttrpc_strerror(rc));
		return 1;
	}
	ev_signal sigint, sigterm;
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	sigint.data = sigterm.data = server;
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);
	ev_unref(loop); /* the signal watchers alone do not keep the loop running */
	ev_unref(loop);
	printf("echo-server: listening on %s\n", argv[1]);
	fflush(stdout);
	ev_run(loop, 0); /* returns once the shutdown closed everything */
	ttrpc_server_free(server);
	printf("echo-server: stopped\n");
	return 0;
}
