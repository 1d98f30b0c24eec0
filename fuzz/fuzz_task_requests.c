/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the containerd.task.v2 Task requests as the shim gets
 * them. Input: one selector byte (the request type, see requests[]), then the
 * encoded message. What unpacks (without unknown fields) must pack and unpack
 * again to the same bytes;
 * then what the service does before it needs a container: the id checks
 * (shim/ids.c, compared with the regex containerd documents), the lookup in
 * an empty shim (NOT_FOUND) and, for Create, the runtime options. */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "shim/container.h"
#include "shim/ids.h"
#include "shim_service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const ProtobufCMessageDescriptor *const requests[] = {
	&containerd__task__v2__create_task_request__descriptor,
	&containerd__task__v2__delete_request__descriptor,
	&containerd__task__v2__exec_process_request__descriptor,
	&containerd__task__v2__resize_pty_request__descriptor,
	&containerd__task__v2__state_request__descriptor,
	&containerd__task__v2__kill_request__descriptor,
	&containerd__task__v2__close_iorequest__descriptor,
	&containerd__task__v2__pids_request__descriptor,
	&containerd__task__v2__checkpoint_task_request__descriptor,
	&containerd__task__v2__update_task_request__descriptor,
	&containerd__task__v2__start_request__descriptor,
	&containerd__task__v2__wait_request__descriptor,
	&containerd__task__v2__stats_request__descriptor,
	&containerd__task__v2__connect_request__descriptor,
	&containerd__task__v2__shutdown_request__descriptor,
	&containerd__task__v2__pause_request__descriptor,
	&containerd__task__v2__resume_request__descriptor,
};
#define NREQUESTS (sizeof(requests) / sizeof(requests[0]))

static regex_t id_regex;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (regcomp(&id_regex, "^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$", REG_EXTENDED | REG_NOSUB))
		abort();
	fuzz_runtime_files_init();
	return 0;
}

static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return *(char *const *)((const char *)m + f->offset);
}

/* shim_id_validate must agree with containerd's identifier rule. */
static void check_id(const char *id)
{
	struct shim_error err = { 0 };
	int rc = shim_id_validate("container id", id, &err);
	bool want = *id && strlen(id) <= SHIM_ID_MAX && regexec(&id_regex, id, 0, NULL, 0) == 0;
	if ((rc == 0) != want || (rc && err.code != TTRPC_CODE_INVALID_ARGUMENT))
		__builtin_trap();
}

/* protobuf-c keeps unknown fields and packs them back verbatim, even an
 * invalid field number 0 (which then no longer unpacks): no round trip for those. */
static bool has_unknown(const ProtobufCMessage *m)
{
	if (m->n_unknown_fields)
		return true;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *at = (const char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)at;
			for (size_t j = 0; j < n; j++)
				if (has_unknown(v[j]))
					return true;
		} else {
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at;
			if (sub && has_unknown(sub))
				return true;
		}
	}
	return false;
}

static void round_trip(const ProtobufCMessage *m)
{
	if (has_unknown(m))
		return;
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *a = malloc(n + 1), *b = malloc(n + 1);
	if (!a || !b)
		abort();
	if (protobuf_c_message_pack(m, a) != n)
		__builtin_trap();
	ProtobufCMessage *again = protobuf_c_message_unpack(m->descriptor, NULL, n, a);
	if (!again || protobuf_c_message_get_packed_size(again) != n || protobuf_c_message_pack(again, b) != n ||
	    memcmp(a, b, n))
		__builtin_trap();
	protobuf_c_message_free_unpacked(again, NULL);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const ProtobufCMessageDescriptor *desc = requests[data[0] % NREQUESTS];
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
	if (!m)
		return 0;
	round_trip(m);

	const char *id = string_field(m, "id"), *exec_id = string_field(m, "exec_id");
	if (!id)
		__builtin_trap(); /* every Task request names its container */
	check_id(id);
	if (exec_id)
		check_id(exec_id);

	struct shim s = { 0 };
	struct shim_error err = { 0 };
	if (shim_process_find(&s, id, exec_id, &err) || err.code != TTRPC_CODE_NOT_FOUND)
		__builtin_trap();

	if (desc == &containerd__task__v2__create_task_request__descriptor) {
		const Containerd__Task__V2__CreateTaskRequest *req = (const void *)m;
		struct shim_runtime_options opts;
		int rc;
		shim_error_clear(&err);
		if (fuzz_runtime_options(req->options, &opts, &rc, &err) && rc && err.code == TTRPC_CODE_OK)
			__builtin_trap();
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
