/* SPDX-License-Identifier: Apache-2.0 */
/* Our generated runtime.v1 (CRI) code against bytes encoded by hand from the
 * field numbers and types of kubernetes/cri-api's api.proto: requests packed
 * by protobuf-c are exactly these bytes, responses made of these bytes
 * (with fields our subset leaves out) decode to the values. The names the
 * gRPC transport puts in :path are checked too. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/v1/api.pb-c.h"
#include "runtime/v1/api.ttrpc-c.h"

TestSuite(cri_wire, .timeout = 30);

static void expect_packed(const ProtobufCMessage *m, const uint8_t *want, size_t want_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	cr_assert_not_null(buf);
	cr_assert_eq(protobuf_c_message_pack(m, buf), len);
	cr_assert_eq(len, want_len, "%s: packed %zu bytes, want %zu", m->descriptor->name, len, want_len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(buf[i], want[i], "%s: byte %zu is 0x%02x, want 0x%02x", m->descriptor->name, i, buf[i],
			     want[i]);
	free(buf);
}

Test(cri_wire, names)
{
	cr_assert_str_eq(RUNTIME_V1_RUNTIME_SERVICE_SERVICE, "runtime.v1.RuntimeService");
	cr_assert_str_eq(RUNTIME_V1_RUNTIME_SERVICE_METHOD_EXEC_SYNC, "ExecSync");
	cr_assert_str_eq(RUNTIME_V1_RUNTIME_SERVICE_METHOD_LIST_CONTAINER_STATS, "ListContainerStats");
	cr_assert_str_eq(RUNTIME_V1_RUNTIME_SERVICE_METHOD_UPDATE_CONTAINER_RESOURCES, "UpdateContainerResources");
	cr_assert_str_eq(runtime__v1__exec_sync_request__descriptor.name, "runtime.v1.ExecSyncRequest");
}

Test(cri_wire, exec_sync_request)
{
	char *cmd[] = { "sh", "-c" };
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	/* container_id = 1 (string), cmd = 2 (repeated string), timeout = 3 (int64) */
	static const uint8_t want[] = { 0x0a, 0x02, 'c', '1', 0x12, 0x02, 's', 'h', 0x12, 0x02, '-', 'c', 0x18, 0x05 };

	req.container_id = "c1";
	req.n_cmd = 2;
	req.cmd = cmd;
	req.timeout = 5;
	expect_packed(&req.base, want, sizeof(want));
}

Test(cri_wire, stop_container_request)
{
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	/* container_id = 1, timeout = 2 (int64, 10 s) */
	static const uint8_t want[] = { 0x0a, 0x03, 'a', 'b', 'c', 0x10, 0x0a };

	req.container_id = "abc";
	req.timeout = 10;
	expect_packed(&req.base, want, sizeof(want));
}

Test(cri_wire, run_pod_sandbox_request)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry label = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[] = { &label };
	Runtime__V1__LinuxPodSandboxConfig linux = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__LinuxSandboxSecurityContext sc = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	static const uint8_t want[] = {
		0x0a, 0x15,		     /* config = 1, 21 bytes */
		0x0a, 0x03, 0x0a, 0x01, 'p', /*   metadata = 1 { name = 1 } */
		0x32, 0x06, 0x0a, 0x01, 'k',  0x12,
		0x01, 'v', /*   labels = 6 { key = 1, value = 2 } */
		0x42, 0x06, 0x12, 0x04, 0x0a, 0x02,
		0x08, 0x02,			   /*   linux = 8 { security_context = 2 {
						    *     namespace_options = 1 { network = 1: NODE } } } */
		0x12, 0x04, 't',  'i',	'n',  'y', /* runtime_handler = 2 */
	};

	md.name = "p";
	label.key = "k";
	label.value = "v";
	ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sc.namespace_options = &ns;
	linux.security_context = &sc;
	cfg.metadata = &md;
	cfg.n_labels = 1;
	cfg.labels = labels;
	cfg.linux = &linux;
	req.config = &cfg;
	req.runtime_handler = "tiny";
	expect_packed(&req.base, want, sizeof(want));
}

Test(cri_wire, update_container_resources_request)
{
	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	/* container_id = 1; linux = 2 { memory_limit_in_bytes = 4: 64 MiB = 0x4000000 } */
	static const uint8_t want[] = { 0x0a, 0x01, 'c', 0x12, 0x05, 0x20, 0x80, 0x80, 0x80, 0x20 };

	res.memory_limit_in_bytes = 64 << 20;
	req.container_id = "c";
	req.linux = &res;
	expect_packed(&req.base, want, sizeof(want));
}

Test(cri_wire, container_stats_response)
{
	static const uint8_t in[] = {
		0x0a, 0x19,		     /* stats = 1, 25 bytes */
		0x0a, 0x03, 0x0a, 0x01, 'c', /*   attributes = 1 { id = 1 } */
		0x12, 0x07, 0x08, 0x01, 0x12, 0x03, 0x08,
		0xac, 0x02,				  /* cpu = 2 { timestamp = 1, usage_core_nano_seconds
							   * = 2 { value = 300 } } */
		0x1a, 0x05, 0x12, 0x03, 0x08, 0x80, 0x20, /*   memory = 3 { working_set_bytes = 2 { 4096 } } */
		0x2a, 0x02, 0x08, 0x09,			  /*   swap = 5: not in our subset */
	};
	Runtime__V1__ContainerStatsResponse *r = runtime__v1__container_stats_response__unpack(NULL, sizeof(in), in);

	cr_assert_not_null(r);
	cr_assert_not_null(r->stats);
	cr_assert_str_eq(r->stats->attributes->id, "c");
	cr_assert_eq(r->stats->cpu->timestamp, 1);
	cr_assert_not_null(r->stats->cpu->usage_core_nano_seconds);
	cr_assert_eq(r->stats->cpu->usage_core_nano_seconds->value, 300);
	cr_assert_null(r->stats->cpu->usage_nano_cores);
	cr_assert_eq(r->stats->memory->working_set_bytes->value, 4096);
	cr_assert_null(r->stats->writable_layer);
	cr_assert_eq(r->stats->base.n_unknown_fields, 1);
	cr_assert_eq(r->stats->base.unknown_fields[0].tag, 5);
	runtime__v1__container_stats_response__free_unpacked(r, NULL);
}

Test(cri_wire, exec_sync_response)
{
	/* stdout = 1 (bytes, with a NUL), stderr = 2, exit_code = 3 (int32) */
	static const uint8_t in[] = { 0x0a, 0x03, 'h', 0x00, '\n', 0x12, 0x01, 'e', 0x18, 0x03 };
	Runtime__V1__ExecSyncResponse *r = runtime__v1__exec_sync_response__unpack(NULL, sizeof(in), in);

	cr_assert_not_null(r);
	cr_assert_eq(r->stdout.len, 3);
	cr_assert_eq(memcmp(r->stdout.data, "h\0\n", 3), 0);
	cr_assert_eq(r->stderr.len, 1);
	cr_assert_eq(r->exit_code, 3);
	runtime__v1__exec_sync_response__free_unpacked(r, NULL);
}

Test(cri_wire, container_status_response)
{
	static const uint8_t in[] = {
		0x0a, 0x13,				       /* status = 1, 19 bytes */
		0x0a, 0x01, 'x',			       /*   id = 1 */
		0x18, 0x02,				       /*   state = 3: CONTAINER_EXITED */
		0x38, 0x89, 0x01,			       /*   exit_code = 7: 137 */
		0x7a, 0x04, '/',  'l',	'/',  'x',	       /*   log_path = 15 */
		0x82, 0x01, 0x02, 0x0a, 0x00,		       /*   resources = 16 (not in our subset) */
		0x12, 0x06, 0x0a, 0x01, 'k',  0x12, 0x01, 'v', /* info = 2 { "k": "v" } */
	};
	Runtime__V1__ContainerStatusResponse *r = runtime__v1__container_status_response__unpack(NULL, sizeof(in), in);

	cr_assert_not_null(r);
	cr_assert_str_eq(r->status->id, "x");
	cr_assert_eq(r->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	cr_assert_eq(r->status->exit_code, 137);
	cr_assert_str_eq(r->status->log_path, "/l/x");
	cr_assert_eq(r->n_info, 1);
	cr_assert_str_eq(r->info[0]->key, "k");
	cr_assert_str_eq(r->info[0]->value, "v");
	runtime__v1__container_status_response__free_unpacked(r, NULL);
}
