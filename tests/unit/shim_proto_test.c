/* SPDX-License-Identifier: Apache-2.0 */
/* Wire identity of the containerd 2.x messages and services the shim speaks
 * (RuntimeInfo of -info, containerd.task.v3.Task, containerd.runtime.sandbox.v1
 * .Sandbox) with containerd's own definitions. Debian ships containerd 1.6,
 * whose Go packages have none of them, so there is no Go peer to talk to: the
 * expectations below were transcribed by hand from containerd 2.x's
 * api/types/introspection.proto, api/types/platform.proto, api/types/metrics.proto,
 * api/runtime/task/v3/shim.proto and api/runtime/sandbox/v1/sandbox.proto, and are
 * compared with the descriptors compiled into ttrpc_task from our own protos:
 * full message names, every field's name, number, label and type, the service
 * names, and every method with its request and response types. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "containerd/runtime/sandbox/v1/sandbox.pb-c.h"
#include "containerd/task/v3/shim.pb-c.h"
#include "containerd/types/introspection.pb-c.h"

TestSuite(shim_proto, .timeout = 30);

/* "name=number:type" per field, in declaration order, space separated;
 * "repeated " before repeated fields; message and enum types as ".full.name";
 * maps as the repeated entry message they are on the wire. */
static void render_message(const ProtobufCMessageDescriptor *d, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s {", d->name);
	for (unsigned i = 0; i < d->n_fields && n < size; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		static const char *const scalar[] = {
			[PROTOBUF_C_TYPE_INT32] = "int32",	 [PROTOBUF_C_TYPE_SINT32] = "sint32",
			[PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
			[PROTOBUF_C_TYPE_SINT64] = "sint64",	 [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
			[PROTOBUF_C_TYPE_UINT32] = "uint32",	 [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
			[PROTOBUF_C_TYPE_UINT64] = "uint64",	 [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
			[PROTOBUF_C_TYPE_FLOAT] = "float",	 [PROTOBUF_C_TYPE_DOUBLE] = "double",
			[PROTOBUF_C_TYPE_BOOL] = "bool",	 [PROTOBUF_C_TYPE_STRING] = "string",
			[PROTOBUF_C_TYPE_BYTES] = "bytes",
		};
		const char *type;
		char named[256];
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			snprintf(named, sizeof(named), ".%s",
				 ((const ProtobufCMessageDescriptor *)f->descriptor)->name);
			type = named;
		} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
			snprintf(named, sizeof(named), ".%s", ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
			type = named;
		} else {
			type = scalar[f->type];
		}
		n += (size_t)snprintf(out + n, size - n, " %s=%u:%s%s", f->name, f->id,
				      f->label == PROTOBUF_C_LABEL_REPEATED ? "repeated " : "", type);
	}
	if (n < size)
		snprintf(out + n, size - n, " }");
}

static void check_message(const ProtobufCMessageDescriptor *d, const char *expect)
{
	char got[2048];
	render_message(d, got, sizeof(got));
	cr_expect_str_eq(got, expect);
}

/* Every message containerd 2.x defines in api/runtime/task/v3/shim.proto,
 * api/runtime/sandbox/v1/sandbox.proto, api/types/platform.proto and
 * api/types/metrics.proto, and the api/types/mount.proto and
 * api/types/task/task.proto messages they use (converted from those files to
 * the renderer's format; comments dropped). */
static const char *const expected_messages[] = {
	"containerd.task.v3.CreateTaskRequest { id=1:string bundle=2:string rootfs=3:repeated .containerd.types.Mount terminal=4:bool stdin=5:string stdout=6:string stderr=7:string checkpoint=8:string parent_checkpoint=9:string options=10:.google.protobuf.Any }",
	"containerd.task.v3.CreateTaskResponse { pid=1:uint32 }",
	"containerd.task.v3.DeleteRequest { id=1:string exec_id=2:string }",
	"containerd.task.v3.DeleteResponse { pid=1:uint32 exit_status=2:uint32 exited_at=3:.google.protobuf.Timestamp }",
	"containerd.task.v3.ExecProcessRequest { id=1:string exec_id=2:string terminal=3:bool stdin=4:string stdout=5:string stderr=6:string spec=7:.google.protobuf.Any }",
	"containerd.task.v3.ExecProcessResponse { }",
	"containerd.task.v3.ResizePtyRequest { id=1:string exec_id=2:string width=3:uint32 height=4:uint32 }",
	"containerd.task.v3.StateRequest { id=1:string exec_id=2:string }",
	"containerd.task.v3.StateResponse { id=1:string bundle=2:string pid=3:uint32 status=4:.containerd.v1.types.Status stdin=5:string stdout=6:string stderr=7:string terminal=8:bool exit_status=9:uint32 exited_at=10:.google.protobuf.Timestamp exec_id=11:string }",
	"containerd.task.v3.KillRequest { id=1:string exec_id=2:string signal=3:uint32 all=4:bool }",
	"containerd.task.v3.CloseIORequest { id=1:string exec_id=2:string stdin=3:bool }",
	"containerd.task.v3.PidsRequest { id=1:string }",
	"containerd.task.v3.PidsResponse { processes=1:repeated .containerd.v1.types.ProcessInfo }",
	"containerd.task.v3.CheckpointTaskRequest { id=1:string path=2:string options=3:.google.protobuf.Any }",
	"containerd.task.v3.UpdateTaskRequest.AnnotationsEntry { key=1:string value=2:string }",
	"containerd.task.v3.UpdateTaskRequest { id=1:string resources=2:.google.protobuf.Any annotations=3:repeated .containerd.task.v3.UpdateTaskRequest.AnnotationsEntry }",
	"containerd.task.v3.StartRequest { id=1:string exec_id=2:string }",
	"containerd.task.v3.StartResponse { pid=1:uint32 }",
	"containerd.task.v3.WaitRequest { id=1:string exec_id=2:string }",
	"containerd.task.v3.WaitResponse { exit_status=1:uint32 exited_at=2:.google.protobuf.Timestamp }",
	"containerd.task.v3.StatsRequest { id=1:string }",
	"containerd.task.v3.StatsResponse { stats=1:.google.protobuf.Any }",
	"containerd.task.v3.ConnectRequest { id=1:string }",
	"containerd.task.v3.ConnectResponse { shim_pid=1:uint32 task_pid=2:uint32 version=3:string }",
	"containerd.task.v3.ShutdownRequest { id=1:string now=2:bool }",
	"containerd.task.v3.PauseRequest { id=1:string }",
	"containerd.task.v3.ResumeRequest { id=1:string }",
	"containerd.runtime.sandbox.v1.CreateSandboxRequest.AnnotationsEntry { key=1:string value=2:string }",
	"containerd.runtime.sandbox.v1.CreateSandboxRequest { sandbox_id=1:string bundle_path=2:string rootfs=3:repeated .containerd.types.Mount options=4:.google.protobuf.Any netns_path=5:string annotations=6:repeated .containerd.runtime.sandbox.v1.CreateSandboxRequest.AnnotationsEntry }",
	"containerd.runtime.sandbox.v1.CreateSandboxResponse { }",
	"containerd.runtime.sandbox.v1.StartSandboxRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.StartSandboxResponse { pid=1:uint32 created_at=2:.google.protobuf.Timestamp spec=3:.google.protobuf.Any }",
	"containerd.runtime.sandbox.v1.PlatformRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.PlatformResponse { platform=1:.containerd.types.Platform }",
	"containerd.runtime.sandbox.v1.StopSandboxRequest { sandbox_id=1:string timeout_secs=2:uint32 }",
	"containerd.runtime.sandbox.v1.StopSandboxResponse { }",
	"containerd.runtime.sandbox.v1.UpdateSandboxRequest.AnnotationsEntry { key=1:string value=2:string }",
	"containerd.runtime.sandbox.v1.UpdateSandboxRequest { sandbox_id=1:string resources=2:.google.protobuf.Any annotations=3:repeated .containerd.runtime.sandbox.v1.UpdateSandboxRequest.AnnotationsEntry }",
	"containerd.runtime.sandbox.v1.WaitSandboxRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.WaitSandboxResponse { exit_status=1:uint32 exited_at=2:.google.protobuf.Timestamp }",
	"containerd.runtime.sandbox.v1.UpdateSandboxResponse { }",
	"containerd.runtime.sandbox.v1.SandboxStatusRequest { sandbox_id=1:string verbose=2:bool }",
	"containerd.runtime.sandbox.v1.SandboxStatusResponse.InfoEntry { key=1:string value=2:string }",
	"containerd.runtime.sandbox.v1.SandboxStatusResponse { sandbox_id=1:string pid=2:uint32 state=3:string info=4:repeated .containerd.runtime.sandbox.v1.SandboxStatusResponse.InfoEntry created_at=5:.google.protobuf.Timestamp exited_at=6:.google.protobuf.Timestamp extra=7:.google.protobuf.Any }",
	"containerd.runtime.sandbox.v1.PingRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.PingResponse { }",
	"containerd.runtime.sandbox.v1.ShutdownSandboxRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.ShutdownSandboxResponse { }",
	"containerd.runtime.sandbox.v1.SandboxMetricsRequest { sandbox_id=1:string }",
	"containerd.runtime.sandbox.v1.SandboxMetricsResponse { metrics=1:.containerd.types.Metric }",
	"containerd.types.Platform { os=1:string architecture=2:string variant=3:string os_version=4:string os_features=5:repeated string }",
	"containerd.types.Metric { timestamp=1:.google.protobuf.Timestamp id=2:string data=3:.google.protobuf.Any }",
	"containerd.types.Mount { type=1:string source=2:string target=3:string options=4:repeated string }",
	"containerd.v1.types.ProcessInfo { pid=1:uint32 info=2:.google.protobuf.Any }",
};

/* service containerd.task.v3.Task, in declaration order */
static const char *const expected_task_v3[] = {
	"State(containerd.task.v3.StateRequest)->containerd.task.v3.StateResponse",
	"Create(containerd.task.v3.CreateTaskRequest)->containerd.task.v3.CreateTaskResponse",
	"Start(containerd.task.v3.StartRequest)->containerd.task.v3.StartResponse",
	"Delete(containerd.task.v3.DeleteRequest)->containerd.task.v3.DeleteResponse",
	"Pids(containerd.task.v3.PidsRequest)->containerd.task.v3.PidsResponse",
	"Pause(containerd.task.v3.PauseRequest)->google.protobuf.Empty",
	"Resume(containerd.task.v3.ResumeRequest)->google.protobuf.Empty",
	"Checkpoint(containerd.task.v3.CheckpointTaskRequest)->google.protobuf.Empty",
	"Kill(containerd.task.v3.KillRequest)->google.protobuf.Empty",
	"Exec(containerd.task.v3.ExecProcessRequest)->google.protobuf.Empty",
	"ResizePty(containerd.task.v3.ResizePtyRequest)->google.protobuf.Empty",
	"CloseIO(containerd.task.v3.CloseIORequest)->google.protobuf.Empty",
	"Update(containerd.task.v3.UpdateTaskRequest)->google.protobuf.Empty",
	"Wait(containerd.task.v3.WaitRequest)->containerd.task.v3.WaitResponse",
	"Stats(containerd.task.v3.StatsRequest)->containerd.task.v3.StatsResponse",
	"Connect(containerd.task.v3.ConnectRequest)->containerd.task.v3.ConnectResponse",
	"Shutdown(containerd.task.v3.ShutdownRequest)->google.protobuf.Empty",
};

/* service containerd.runtime.sandbox.v1.Sandbox, in declaration order */
static const char *const expected_sandbox_v1[] = {
	"CreateSandbox(containerd.runtime.sandbox.v1.CreateSandboxRequest)->containerd.runtime.sandbox.v1.CreateSandboxResponse",
	"StartSandbox(containerd.runtime.sandbox.v1.StartSandboxRequest)->containerd.runtime.sandbox.v1.StartSandboxResponse",
	"Platform(containerd.runtime.sandbox.v1.PlatformRequest)->containerd.runtime.sandbox.v1.PlatformResponse",
	"StopSandbox(containerd.runtime.sandbox.v1.StopSandboxRequest)->containerd.runtime.sandbox.v1.StopSandboxResponse",
	"WaitSandbox(containerd.runtime.sandbox.v1.WaitSandboxRequest)->containerd.runtime.sandbox.v1.WaitSandboxResponse",
	"SandboxStatus(containerd.runtime.sandbox.v1.SandboxStatusRequest)->containerd.runtime.sandbox.v1.SandboxStatusResponse",
	"PingSandbox(containerd.runtime.sandbox.v1.PingRequest)->containerd.runtime.sandbox.v1.PingResponse",
	"ShutdownSandbox(containerd.runtime.sandbox.v1.ShutdownSandboxRequest)->containerd.runtime.sandbox.v1.ShutdownSandboxResponse",
	"SandboxMetrics(containerd.runtime.sandbox.v1.SandboxMetricsRequest)->containerd.runtime.sandbox.v1.SandboxMetricsResponse",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_MESSAGES 128

/* Every message reachable from d through message fields, except the
 * well-known google.protobuf ones; added to set[0..*n). */
static void collect(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **set, size_t *n)
{
	if (!strncmp(d->name, "google.protobuf.", 16))
		return;
	for (size_t i = 0; i < *n; i++)
		if (set[i] == d)
			return;
	cr_assert_lt(*n, MAX_MESSAGES);
	set[(*n)++] = d;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
			collect(d->fields[i].descriptor, set, n);
}

static const char *expected_for(const char *full_name)
{
	size_t len = strlen(full_name);
	for (size_t i = 0; i < COUNT(expected_messages); i++)
		if (!strncmp(expected_messages[i], full_name, len) && !strncmp(expected_messages[i] + len, " {", 2))
			return expected_messages[i];
	return NULL;
}

/* The service: its full name, every method in order with its request and
 * response types; then every message those reach, field by field. */
static size_t check_service(const ProtobufCServiceDescriptor *sd, const char *name, const char *const *methods,
			    size_t nmethods, const ProtobufCMessageDescriptor **set, size_t *n)
{
	cr_expect_str_eq(sd->name, name);
	cr_expect_eq(sd->n_methods, nmethods, "%s: %u methods", name, sd->n_methods);
	for (unsigned i = 0; i < sd->n_methods && i < nmethods; i++) {
		char got[512];
		const ProtobufCMethodDescriptor *m = &sd->methods[i];
		snprintf(got, sizeof(got), "%s(%s)->%s", m->name, m->input->name, m->output->name);
		cr_expect_str_eq(got, methods[i]);
		collect(m->input, set, n);
		collect(m->output, set, n);
	}
	return *n;
}

static void check_all(const ProtobufCMessageDescriptor **set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *expect = expected_for(set[i]->name);
		cr_expect_not_null(expect, "%s: not a message of containerd's definitions", set[i]->name);
		if (expect)
			check_message(set[i], expect);
	}
}

/* containerd 2.x api/runtime/task/v3/shim.proto */
Test(shim_proto, task_v3)
{
	const ProtobufCMessageDescriptor *set[MAX_MESSAGES];
	size_t n = 0;
	check_service(&containerd__task__v3__task__descriptor, "containerd.task.v3.Task", expected_task_v3,
		      COUNT(expected_task_v3), set, &n);
	check_all(set, n);
	/* 17 requests, 8 responses other than Empty, Mount, ProcessInfo,
	 * UpdateTaskRequest's map entry */
	cr_expect_eq(n, 28, "%zu messages reached", n);
	/* defined but used by no method */
	check_message(&containerd__task__v3__exec_process_response__descriptor,
		      expected_for("containerd.task.v3.ExecProcessResponse"));
}

/* containerd 2.x api/runtime/sandbox/v1/sandbox.proto (with Platform, Metric) */
Test(shim_proto, sandbox_v1)
{
	const ProtobufCMessageDescriptor *set[MAX_MESSAGES];
	size_t n = 0;
	check_service(&containerd__runtime__sandbox__v1__sandbox__descriptor, "containerd.runtime.sandbox.v1.Sandbox",
		      expected_sandbox_v1, COUNT(expected_sandbox_v1), set, &n);
	check_all(set, n);
	/* 18 requests and responses, 2 map entries, Mount, Platform, Metric */
	cr_expect_eq(n, 23, "%zu messages reached", n);
	/* defined but used by no method */
	check_message(&containerd__runtime__sandbox__v1__update_sandbox_request__descriptor,
		      expected_for("containerd.runtime.sandbox.v1.UpdateSandboxRequest"));
	check_message(&containerd__runtime__sandbox__v1__update_sandbox_response__descriptor,
		      expected_for("containerd.runtime.sandbox.v1.UpdateSandboxResponse"));
}

/* containerd 2.x api/types/introspection.proto */
Test(shim_proto, runtime_info)
{
	check_message(&containerd__types__runtime_info__descriptor,
		      "containerd.types.RuntimeInfo { name=1:string version=2:.containerd.types.RuntimeVersion "
		      "options=3:.google.protobuf.Any features=4:.google.protobuf.Any "
		      "annotations=5:repeated .containerd.types.RuntimeInfo.AnnotationsEntry }");
	check_message(&containerd__types__runtime_info__annotations_entry__descriptor,
		      "containerd.types.RuntimeInfo.AnnotationsEntry { key=1:string value=2:string }");
	check_message(&containerd__types__runtime_version__descriptor,
		      "containerd.types.RuntimeVersion { version=1:string revision=2:string }");
}

/* The renderer sees what the comparison relies on: a wrong number, type,
 * label or name gives a different string. */
Test(shim_proto, differences_are_detected)
{
	char got[2048];
	render_message(&containerd__types__runtime_version__descriptor, got, sizeof(got));
	cr_assert_str_neq(got, "containerd.types.RuntimeVersion { version=1:string revision=3:string }");
	cr_assert_str_neq(got, "containerd.types.RuntimeVersion { version=1:bytes revision=2:string }");
	cr_assert_str_neq(got, "containerd.types.RuntimeVersion { version=1:repeated string revision=2:string }");
	cr_assert_str_neq(got, "containerd.v1.types.RuntimeVersion { version=1:string revision=2:string }");
	render_message(&containerd__types__runtime_info__descriptor, got, sizeof(got));
	cr_assert(strstr(got, "annotations=5:repeated .containerd.types.RuntimeInfo.AnnotationsEntry"), "%s", got);
}
