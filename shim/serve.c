/* SPDX-License-Identifier: Apache-2.0 */
/* Serving mode: the daemon `start` left behind, on the socket it handed over. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/address.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/offload.h"
#include "shim/shim.h"

static void on_exit_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ALL);
}

/* SIGTERM: stop serving and exit; the containers keep running (containerd
 * can clean up with the `delete` action). */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct shim *s = w->data;
	shim_logf(&s->log, SHIM_LOG_INFO, "signal %d: exiting, %zu containers keep running", w->signum, s->ncontainers);
	shim_request_exit(s);
}

static void server_drained(ttrpc_server *server, void *user)
{
	(void)server;
	*(bool *)user = true;
}

int shim_serve(struct shim *s, int listen_fd)
{
	struct shim_error err = { 0 };
	signal(SIGPIPE, SIG_IGN);
	s->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!s->loop) {
		shim_logf(&s->log, SHIM_LOG_ERROR, "cannot create an event loop");
		return 1;
	}
	s->reaper = shim_reaper_new(s->loop, &err);
	if (!s->reaper) {
		shim_logf(&s->log, SHIM_LOG_ERROR, "reaper: %s", err.msg);
		return 1;
	}
	s->events = shim_events_new(s->loop, s->ttrpc_address, s->ns, &s->log);
	s->server = ttrpc_server_new(s->loop);
	if (!s->events || !s->server) {
		shim_logf(&s->log, SHIM_LOG_ERROR, "out of memory");
		return 1;
	}
	ttrpc_server_set_log(s->server, shim_log_ttrpc, &s->log);
	/* Only containerd's user may call: the peer's SO_PEERCRED uid and gid must
	 * be ours (containerd's shims: ttrpc.UnixSocketRequireSameUser). Others
	 * are closed on accept, with a log line naming them. */
	ttrpc_server_require_creds(s->server, (int)geteuid(), (int)getegid());
	int rc = shim_service_register(s);
	if (rc == 0)
		rc = shim_task_v3_register(s);
	if (rc == 0)
		rc = shim_sandbox_service_register(s);
	if (rc == 0)
		rc = ttrpc_server_adopt_listener(s->server, listen_fd);
	if (rc) {
		shim_logf(&s->log, SHIM_LOG_ERROR, "serve: %s", ttrpc_strerror(rc));
		return 1;
	}
	ev_idle_init(&s->exit_idle, on_exit_idle);
	ev_signal_init(&s->sigterm, on_signal, SIGTERM);
	ev_signal_init(&s->sigint, on_signal, SIGINT);
	s->sigterm.data = s->sigint.data = s;
	ev_signal_start(s->loop, &s->sigterm);
	ev_signal_start(s->loop, &s->sigint);
	shim_logf(&s->log, SHIM_LOG_INFO, "serving on %s (pid %d)", s->socket_address, (int)getpid());

	ev_run(s->loop, 0);

	/* Stop taking calls; what was answered is flushed by a short graceful
	 * shutdown; then the events still queued get a bounded chance. */
	bool drained = false;
	ttrpc_server_shutdown(s->server, 0.5, server_drained, &drained);
	while (!drained)
		ev_run(s->loop, EVRUN_ONCE);
	shim_socket_remove(s->socket_address, NULL);
	shim_offload_free(s->offload); /* answers Stats calls still queued */
	s->offload = NULL;
	shim_events_flush(s->events, 2.0);
	shim_logf(&s->log, SHIM_LOG_INFO, "exited");
	ttrpc_server_free(s->server);
	while (s->containers) {
		struct shim_container *c = s->containers;
		s->containers = c->next;
		shim_container_free(c);
	}
	shim_events_free(s->events);
	shim_reaper_free(s->reaper);
	ev_loop_destroy(s->loop);
	return 0;
}
