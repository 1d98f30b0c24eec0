/* SPDX-License-Identifier: Apache-2.0 */
/* containerd.task.v3.Task, served next to containerd.task.v2.Task on the same
 * socket by the same handlers (service.c). The v3 messages are the v2 ones
 * under a new package name, field for field (task/proto/containerd/task/v3),
 * so each v3 request is re-read as its v2 twin and handed to the v2 handler,
 * whose answer (packed from the v2 response type) is byte for byte the v3
 * answer. The extra pack and unpack costs a few microseconds per call. */
#include <stdlib.h>

#include "containerd/task/v3/shim.ttrpc-c.h"
#include "shim/shim.h"

/* The v2 twin of a decoded v3 request (same fields, same numbers): NULL when
 * out of memory. Free with protobuf_c_message_free_unpacked. */
static ProtobufCMessage *as_v2(const ProtobufCMessage *v3, const ProtobufCMessageDescriptor *v2)
{
	size_t n = protobuf_c_message_get_packed_size(v3);
	uint8_t stack[1024];
	uint8_t *buf = n <= sizeof(stack) ? stack : malloc(n);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(v3, buf);
	ProtobufCMessage *m = protobuf_c_message_unpack(v2, NULL, n, buf);
	if (buf != stack)
		free(buf);
	return m;
}

/* One v3 method: its v2 request type, descriptor and handler slot. */
#define TASK_V3(method, Req, req_lower)                                                                     \
	static void v3_##method(ttrpc_call *call, const Containerd__Task__V3__##Req *req, void *user)       \
	{                                                                                                   \
		struct shim *s = user;                                                                      \
		const struct containerd_task_v2_task_handlers *h = s->task_service.handlers;                \
		if (!h->method) {                                                                           \
			ttrpc_call_respond_error(call, TTRPC_CODE_UNIMPLEMENTED, "%s not implemented",      \
						 ttrpc_call_method(call));                                  \
			return;                                                                             \
		}                                                                                           \
		ProtobufCMessage *v2 = as_v2(&req->base, &containerd__task__v2__##req_lower##__descriptor); \
		if (!v2) {                                                                                  \
			ttrpc_call_respond_error(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory");     \
			return;                                                                             \
		}                                                                                           \
		h->method(call, (const Containerd__Task__V2__##Req *)v2, s->task_service.user);             \
		protobuf_c_message_free_unpacked(v2, NULL);                                                 \
	}

TASK_V3(state, StateRequest, state_request)
TASK_V3(create, CreateTaskRequest, create_task_request)
TASK_V3(start, StartRequest, start_request)
TASK_V3(delete, DeleteRequest, delete_request)
TASK_V3(pids, PidsRequest, pids_request)
TASK_V3(pause, PauseRequest, pause_request)
TASK_V3(resume, ResumeRequest, resume_request)
TASK_V3(checkpoint, CheckpointTaskRequest, checkpoint_task_request)
TASK_V3(kill, KillRequest, kill_request)
TASK_V3(exec, ExecProcessRequest, exec_process_request)
TASK_V3(resize_pty, ResizePtyRequest, resize_pty_request)
TASK_V3(close_io, CloseIORequest, close_iorequest)
TASK_V3(update, UpdateTaskRequest, update_task_request)
TASK_V3(wait, WaitRequest, wait_request)
TASK_V3(stats, StatsRequest, stats_request)
TASK_V3(connect, ConnectRequest, connect_request)
TASK_V3(shutdown, ShutdownRequest, shutdown_request)

static const struct containerd_task_v3_task_handlers handlers_v3 = {
	.state = v3_state,
	.create = v3_create,
	.start = v3_start,
	.delete = v3_delete,
	.pids = v3_pids,
	.pause = v3_pause,
	.resume = v3_resume,
	.checkpoint = v3_checkpoint,
	.kill = v3_kill,
	.exec = v3_exec,
	.resize_pty = v3_resize_pty,
	.close_io = v3_close_io,
	.update = v3_update,
	.wait = v3_wait,
	.stats = v3_stats,
	.connect = v3_connect,
	.shutdown = v3_shutdown,
};

int shim_task_v3_register(struct shim *s)
{
	s->task_v3_service.handlers = &handlers_v3;
	s->task_v3_service.user = s;
	return containerd_task_v3_task_register(s->server, &s->task_v3_service);
}
