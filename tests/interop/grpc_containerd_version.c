/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc-grpc-version TARGET: calls containerd's gRPC Version service with
 * our generated stub over ttrpc_client_connect_grpc and prints
 *   version <version>
 *   revision <revision>
 *   unknown <status name of a method containerd does not have>
 * Exit 0, or 1 with the reason on stderr. */
#include <stdio.h>
#include <ttrpc/client.h>
#include <ttrpc/grpc.h>

#include "containerd/services/version/v1/version.pb-c.h"
#include "containerd/services/version/v1/version.ttrpc-c.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s TARGET\n", argv[0]);
		return 2;
	}
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect_grpc(NULL, argv[1], NULL, &err);
	if (!cl) {
		fprintf(stderr, "connect %s: %s\n", argv[1], ttrpc_strerror(err));
		return 1;
	}
	Containerd__Services__Version__V1__VersionResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	struct ttrpc_call_opts opts = { .timeout_ns = 10000000000 };
	int code = containerd_services_version_v1_version_version_call_sync(cl, NULL, &opts, &resp, &st);
	if (code != TTRPC_CODE_OK) {
		fprintf(stderr, "Version: %s: %s\n", ttrpc_code_name(code), st.message);
		ttrpc_result_clear(&st);
		ttrpc_client_free(cl);
		return 1;
	}
	printf("version %s\nrevision %s\n", resp->version, resp->revision);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_result_clear(&st);

	struct ttrpc_result r;
	code = ttrpc_client_call_sync(cl, "containerd.services.version.v1.Version", "NoSuchMethod", NULL, 0, &opts, &r);
	printf("unknown %s\n", ttrpc_code_name(code));
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
	return 0;
}
