/* SPDX-License-Identifier: Apache-2.0 */
/* Wire identity of our generated Task and Events stubs with containerd's own
 * Go types (ttrpc-task-gopeer, built from containerd 1.6's Go packages):
 *  - the Go TaskService client calls every RPC on a C server built from the
 *    generated stubs; the C server checks every request field and answers
 *    with every response field set; the Go side compares the responses;
 *  - our generated client calls every RPC on a Go server registered with
 *    task.RegisterTaskService; the Go server compares every request, we
 *    compare every response;
 *  - the same for containerd.services.events.ttrpc.v1.Events/Forward. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/services/events/ttrpc/v1/events.ttrpc-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "task_expect.h"

extern char **environ;

static char dir[64];
static char sock[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ttrpc-wire-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/peer.sock", dir);
}

static void teardown(void)
{
	unlink(sock);
	rmdir(dir);
	expect_free_all();
}

TestSuite(task_wire, .init = setup, .fini = teardown, .timeout = 120);

static pid_t spawn_peer(const char *mode)
{
	char *argv[] = { (char *)TTRPC_GO_PEER, (char *)mode, sock, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, TTRPC_GO_PEER, NULL, NULL, argv, environ);

	cr_assert_eq(rc, 0, "spawning %s: %s", TTRPC_GO_PEER, strerror(rc));
	return pid;
}

/* ---- Go client -> C server ---- */

#define TASK_METHODS(X)                                                                             \
	X(state, StateRequest, state_request, StateResponse, state_response)                        \
	X(create, CreateTaskRequest, create_task_request, CreateTaskResponse, create_task_response) \
	X(start, StartRequest, start_request, StartResponse, start_response)                        \
	X(delete, DeleteRequest, delete_request, DeleteResponse, delete_response)                   \
	X(pids, PidsRequest, pids_request, PidsResponse, pids_response)                             \
	X(wait, WaitRequest, wait_request, WaitResponse, wait_response)                             \
	X(stats, StatsRequest, stats_request, StatsResponse, stats_response)                        \
	X(connect, ConnectRequest, connect_request, ConnectResponse, connect_response)

#define TASK_EMPTY_METHODS(X)                                         \
	X(pause, PauseRequest, pause_request)                         \
	X(resume, ResumeRequest, resume_request)                      \
	X(checkpoint, CheckpointTaskRequest, checkpoint_task_request) \
	X(kill, KillRequest, kill_request)                            \
	X(exec, ExecProcessRequest, exec_process_request)             \
	X(resize_pty, ResizePtyRequest, resize_pty_request)           \
	X(close_io, CloseIORequest, close_iorequest)                  \
	X(update, UpdateTaskRequest, update_task_request)             \
	X(shutdown, ShutdownRequest, shutdown_request)

struct served {
#define COUNTER(m, ...) int m;
	TASK_METHODS(COUNTER) TASK_EMPTY_METHODS(COUNTER) int forward;
#undef COUNTER
};

static struct served served;

/* Check a request; answer INVALID_ARGUMENT (and say why on stderr) if it differs. */
static int request_ok(ttrpc_call *call, const ProtobufCMessage *req)
{
	const char *diff = expect_check(req);

	if (!diff)
		return 1;
	fprintf(stderr, "C server: %s differs:\n%s", req->descriptor->name, diff);
	ttrpc_call_respond_error(call, TTRPC_CODE_INVALID_ARGUMENT, "%s", diff);
	return 0;
}

#define HANDLER(m, Req, req_lower, Resp, resp_lower)                                                            \
	static void on_##m(ttrpc_call *call, const Containerd__Task__V2__##Req *req, void *user)                \
	{                                                                                                       \
		(void)user;                                                                                     \
		served.m++;                                                                                     \
		if (request_ok(call, &req->base))                                                               \
			cr_assert_eq(containerd_task_v2_task_##m##_respond(                                     \
					     call, (const Containerd__Task__V2__##Resp *)expect_fill(           \
							   &containerd__task__v2__##resp_lower##__descriptor)), \
				     0);                                                                        \
	}
TASK_METHODS(HANDLER)
#undef HANDLER

#define EMPTY_HANDLER(m, Req, req_lower)                                                         \
	static void on_##m(ttrpc_call *call, const Containerd__Task__V2__##Req *req, void *user) \
	{                                                                                        \
		(void)user;                                                                      \
		served.m++;                                                                      \
		if (request_ok(call, &req->base))                                                \
			cr_assert_eq(containerd_task_v2_task_##m##_respond(call, NULL), 0);      \
	}
TASK_EMPTY_METHODS(EMPTY_HANDLER)
#undef EMPTY_HANDLER

static void on_forward(ttrpc_call *call, const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req, void *user)
{
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	(void)user;
	served.forward++;
	if (request_ok(call, &req->base))
		cr_assert_eq(containerd_services_events_ttrpc_v1_events_forward_respond(call, &empty), 0);
}

static const struct containerd_task_v2_task_handlers task_handlers = {
#define MEMBER(m, ...) .m = on_##m,
	TASK_METHODS(MEMBER) TASK_EMPTY_METHODS(MEMBER)
#undef MEMBER
};

static const struct containerd_services_events_ttrpc_v1_events_handlers events_handlers = {
	.forward = on_forward,
};

struct child_wait {
	ev_timer timer;
	pid_t pid;
	int status;
	int exited;
	double deadline; /* ev_time() after which the child is killed */
};

static void poll_child(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child_wait *cw = (struct child_wait *)w;

	(void)revents;
	if (waitpid(cw->pid, &cw->status, WNOHANG) == cw->pid) {
		cw->exited = 1;
	} else if (ev_time() > cw->deadline) {
		kill(cw->pid, SIGKILL);
		waitpid(cw->pid, &cw->status, 0);
	} else {
		return;
	}
	ev_timer_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

Test(task_wire, go_client_calls_c_server)
{
	struct containerd_task_v2_task_service task_service = { &task_handlers, NULL };
	struct containerd_services_events_ttrpc_v1_events_service events_service = { &events_handlers, NULL };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	ttrpc_server *server = ttrpc_server_new(loop);
	struct child_wait cw = { 0 };

	memset(&served, 0, sizeof(served));
	cr_assert_not_null(server);
	cr_assert_eq(containerd_task_v2_task_register(server, &task_service), 0);
	cr_assert_eq(containerd_services_events_ttrpc_v1_events_register(server, &events_service), 0);
	cr_assert_eq(ttrpc_server_listen(server, sock), 0);

	cw.pid = spawn_peer("client");
	cw.deadline = ev_time() + 60;
	ev_timer_init(&cw.timer, poll_child, 0.01, 0.01);
	ev_timer_start(loop, &cw.timer);
	ev_run(loop, 0);
	cr_assert(cw.exited, "the Go client did not finish within 60 s");
	cr_assert(WIFEXITED(cw.status) && WEXITSTATUS(cw.status) == 0,
		  "the Go client found differences (status 0x%x); see its output", cw.status);

#define ONCE(m, ...) cr_assert_eq(served.m, 1, #m " served %d times", served.m);
	TASK_METHODS(ONCE)
	TASK_EMPTY_METHODS(ONCE)
#undef ONCE
	cr_assert_eq(served.forward, 1);
	ttrpc_server_free(server);
	ev_loop_destroy(loop);
}

/* ---- C client -> Go server ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connect once the Go server listens: a bounded wait on that condition. */
static ttrpc_client *connect_peer(void)
{
	struct timespec step = { 0, 5 * 1000 * 1000 };
	double end = now_s() + 10;
	int err = 0;

	do {
		ttrpc_client *c = ttrpc_client_connect(NULL, sock, &err);

		if (c)
			return c;
		nanosleep(&step, NULL);
	} while (now_s() < end);
	cr_assert_fail("cannot connect to the Go server at %s within 10 s: %s", sock, ttrpc_strerror(err));
	return NULL;
}

/* SIGTERM, then a clean exit within 10 s. */
static void stop_peer(pid_t pid)
{
	struct timespec step = { 0, 5 * 1000 * 1000 };
	double end = now_s() + 10;
	int status = 0;
	pid_t r;

	cr_assert_eq(kill(pid, SIGTERM), 0);
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_s() < end)
		nanosleep(&step, NULL);
	if (r != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("the Go server did not exit within 10 s of SIGTERM");
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Go server status 0x%x", status);
}

static void wake(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

static void check_response(const char *method, int code, const struct ttrpc_result *status,
			   const ProtobufCMessage *resp)
{
	const char *diff;

	cr_assert_eq(code, TTRPC_CODE_OK, "%s: %s: %s", method, ttrpc_code_name(code),
		     status->message ? status->message : "");
	cr_assert_not_null(resp, "%s: no response", method);
	diff = expect_check(resp);
	cr_assert_null(diff, "%s: response differs:\n%s", method, diff);
}

#define SYNC_CALL(m, Req, req_lower, Resp, resp_lower)                                                             \
	{                                                                                                          \
		const ProtobufCMessage *req = expect_fill(&containerd__task__v2__##req_lower##__descriptor);       \
		Containerd__Task__V2__##Resp *resp = NULL;                                                         \
		int rc = containerd_task_v2_task_##m##_call_sync(client, (const Containerd__Task__V2__##Req *)req, \
								 NULL, &resp, &status);                            \
		check_response(#m, rc, &status, resp ? &resp->base : NULL);                                        \
		protobuf_c_message_free_unpacked(&resp->base, NULL);                                               \
		ttrpc_result_clear(&status);                                                                       \
	}

#define SYNC_EMPTY_CALL(m, Req, req_lower)                                                                         \
	{                                                                                                          \
		const ProtobufCMessage *req = expect_fill(&containerd__task__v2__##req_lower##__descriptor);       \
		Google__Protobuf__Empty *resp = NULL;                                                              \
		int rc = containerd_task_v2_task_##m##_call_sync(client, (const Containerd__Task__V2__##Req *)req, \
								 NULL, &resp, &status);                            \
		check_response(#m, rc, &status, resp ? &resp->base : NULL);                                        \
		protobuf_c_message_free_unpacked(&resp->base, NULL);                                               \
		ttrpc_result_clear(&status);                                                                       \
	}

struct async_done {
	int done;
	int code;
	char diff[4096];
};

static void on_wait_done(const struct ttrpc_result *status, const Containerd__Task__V2__WaitResponse *resp, void *user)
{
	struct async_done *d = user;
	const char *diff = resp ? expect_check(&resp->base) : "no response";

	d->done++;
	d->code = status->code;
	snprintf(d->diff, sizeof(d->diff), "%s", diff ? diff : "");
}

static void on_forward_done(const struct ttrpc_result *status, const Google__Protobuf__Empty *resp, void *user)
{
	struct async_done *d = user;

	d->done++;
	d->code = status->code;
	snprintf(d->diff, sizeof(d->diff), "%s", resp ? "" : "no response");
}

Test(task_wire, c_client_calls_go_server)
{
	pid_t pid = spawn_peer("server");
	ttrpc_client *client = connect_peer();
	struct ttrpc_result status = { 0 };
	struct async_done waited = { 0 }, forwarded = { 0 };
	Google__Protobuf__Empty *empty = NULL;
	int code;

	TASK_METHODS(SYNC_CALL)
	TASK_EMPTY_METHODS(SYNC_EMPTY_CALL)

	code = containerd_services_events_ttrpc_v1_events_forward_call_sync(
		client,
		(const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *)expect_fill(
			&containerd__services__events__ttrpc__v1__forward_request__descriptor),
		NULL, &empty, &status);
	check_response("forward", code, &status, empty ? &empty->base : NULL);
	protobuf_c_message_free_unpacked(&empty->base, NULL);
	ttrpc_result_clear(&status);

	/* The async stubs, both in flight at once. */
	cr_assert_eq(containerd_task_v2_task_wait_call(client,
						       (const Containerd__Task__V2__WaitRequest *)expect_fill(
							       &containerd__task__v2__wait_request__descriptor),
						       NULL, on_wait_done, &waited),
		     0);
	cr_assert_eq(containerd_services_events_ttrpc_v1_events_forward_call(
			     client,
			     (const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *)expect_fill(
				     &containerd__services__events__ttrpc__v1__forward_request__descriptor),
			     NULL, on_forward_done, &forwarded),
		     0);
	{
		struct ev_loop *cl_loop = ttrpc_client_loop(client);
		double end = now_s() + 10;
		ev_timer tick;

		ev_timer_init(&tick, wake, 0.05, 0.05); /* bounds each wait for an event */
		ev_timer_start(cl_loop, &tick);
		while ((!waited.done || !forwarded.done) && now_s() < end)
			ev_run(cl_loop, EVRUN_ONCE);
		ev_timer_stop(cl_loop, &tick);
	}
	cr_assert(waited.done && forwarded.done, "async calls not answered within 10 s");
	cr_assert_eq(waited.code, TTRPC_CODE_OK);
	cr_assert_str_empty(waited.diff, "Wait (async): %s", waited.diff);
	cr_assert_eq(forwarded.code, TTRPC_CODE_OK);
	cr_assert_str_empty(forwarded.diff);

	ttrpc_client_free(client);
	stop_peer(pid);
}

/* The comparisons can fail: a request with one field off is refused by the
 * Go server, naming the field; our checker names a wrong response field. */
Test(task_wire, differences_are_detected)
{
	pid_t pid = spawn_peer("server");
	ttrpc_client *client = connect_peer();
	struct ttrpc_result status = { 0 };
	Containerd__Task__V2__KillRequest *kill_req =
		(Containerd__Task__V2__KillRequest *)expect_fill(&containerd__task__v2__kill_request__descriptor);
	Containerd__Task__V2__ConnectResponse *connect_resp = (Containerd__Task__V2__ConnectResponse *)expect_fill(
		&containerd__task__v2__connect_response__descriptor);
	Google__Protobuf__Empty *empty = NULL;
	const char *diff;

	kill_req->signal = 15;
	cr_assert_eq(containerd_task_v2_task_kill_call_sync(client, kill_req, NULL, &empty, &status),
		     TTRPC_CODE_INVALID_ARGUMENT);
	cr_assert_null(empty);
	cr_assert(strstr(status.message, "Signal:15") != NULL, "Go said: %s", status.message);
	ttrpc_result_clear(&status);
	ttrpc_client_free(client);
	stop_peer(pid);

	connect_resp->task_pid = 1;
	diff = expect_check(&connect_resp->base);
	cr_assert_not_null(diff);
	cr_assert(strstr(diff, "ConnectResponse.task_pid: got 1, want 7002") != NULL, "%s", diff);
}
