/* SPDX-License-Identifier: Apache-2.0 */
/* shimctl: call a running shim's Task service directly, for the e2e tests of
 * what ctr cannot reach (Update, Stats, Connect of an unknown id, ...).
 *   shimctl SOCKET NAMESPACE connect ID
 *   shimctl SOCKET NAMESPACE update ID RESOURCES_JSON
 *   shimctl SOCKET NAMESPACE stats ID
 *   shimctl SOCKET NAMESPACE state ID [EXEC_ID]
 * Prints the answer, or "CODE: message" and exits 1 on an error status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/task/v2/shim.ttrpc-c.h"

static int report(int code, const struct ttrpc_result *st)
{
	if (code == TTRPC_CODE_OK)
		return 0;
	printf("%s: %s\n", ttrpc_code_name(code), st->message ? st->message : "");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: shimctl SOCKET NAMESPACE connect|update|stats|state ID [ARG]\n");
		return 2;
	}
	const char *path = strncmp(argv[1], "unix://", 7) ? argv[1] : argv[1] + 7;
	int err;
	ttrpc_client *c = ttrpc_client_connect(NULL, path, &err);
	if (!c) {
		fprintf(stderr, "shimctl: connect %s: %s\n", path, ttrpc_strerror(err));
		return 2;
	}
	ttrpc_md *md = ttrpc_md_new();
	ttrpc_md_add(md, "containerd-namespace-ttrpc", argv[2]);
	struct ttrpc_call_opts opts = { .timeout_ns = 10000000000, .md = md };
	struct ttrpc_result st = { 0 };
	const char *verb = argv[3], *id = argv[4];
	int rc = 2;
	if (!strcmp(verb, "connect")) {
		Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
		Containerd__Task__V2__ConnectResponse *resp = NULL;
		req.id = (char *)id;
		rc = report(containerd_task_v2_task_connect_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp) {
			printf("shim_pid=%u task_pid=%u version=%s\n", resp->shim_pid, resp->task_pid, resp->version);
			protobuf_c_message_free_unpacked(&resp->base, NULL);
		}
	} else if (!strcmp(verb, "update") && argc == 6) {
		Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
		any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
		any.value.data = (uint8_t *)argv[5];
		any.value.len = strlen(argv[5]);
		Containerd__Task__V2__UpdateTaskRequest req = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
		Google__Protobuf__Empty *resp = NULL;
		req.id = (char *)id;
		req.resources = &any;
		rc = report(containerd_task_v2_task_update_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			protobuf_c_message_free_unpacked(&resp->base, NULL);
	} else if (!strcmp(verb, "stats")) {
		Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
		Containerd__Task__V2__StatsResponse *resp = NULL;
		req.id = (char *)id;
		rc = report(containerd_task_v2_task_stats_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp)
			protobuf_c_message_free_unpacked(&resp->base, NULL);
	} else if (!strcmp(verb, "state")) {
		Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
		Containerd__Task__V2__StateResponse *resp = NULL;
		req.id = (char *)id;
		req.exec_id = argc > 5 ? argv[5] : "";
		rc = report(containerd_task_v2_task_state_call_sync(c, &req, &opts, &resp, &st), &st);
		if (resp) {
			printf("id=%s pid=%u status=%d exit_status=%u\n", resp->id, resp->pid, resp->status,
			       resp->exit_status);
			protobuf_c_message_free_unpacked(&resp->base, NULL);
		}
	} else {
		fprintf(stderr, "shimctl: unknown verb %s\n", verb);
	}
	ttrpc_result_clear(&st);
	ttrpc_md_free(md);
	ttrpc_client_free(c);
	return rc;
}
