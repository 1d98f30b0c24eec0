/* SPDX-License-Identifier: Apache-2.0 */
/* Go ttrpc client (ttrpc-go-peer client) against our server
 * (ttrpc-c-interop-server): one Criterion test per scenario. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "interop_proc.h"

static struct interop_dir dir;
static struct interop_proc server = { .pid = -1, .out_fd = -1 };

static void start_c_server(void)
{
	cr_assert(interop_dir_make(&dir), "mkdtemp failed");
	char *argv[] = { INTEROP_C_SERVER, "--socket", dir.socket, NULL };
	cr_assert(interop_spawn(&server, argv, false), "cannot start %s", INTEROP_C_SERVER);
	char log[4096] = "";
	cr_assert(interop_wait_ready(&server, 10000, log, sizeof(log)), "C server did not get ready; it said:\n%s",
		  log);
}

static void stop_c_server(void)
{
	interop_stop(&server, SIGKILL, 5000);
	interop_dir_remove(&dir);
}

TestSuite(go_client, .init = start_c_server, .fini = stop_c_server, .timeout = 180);

static void run_scenario(const char *name)
{
	char *argv[] = { INTEROP_GO_PEER, "client", "--socket", dir.socket, "--test", (char *)name, NULL };
	struct interop_proc client;
	cr_assert(interop_spawn(&client, argv, true), "cannot start %s", INTEROP_GO_PEER);
	char *out = NULL;
	int status = interop_collect(&client, 120000, &out);
	bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok)
		fprintf(stderr, "---- ttrpc-go-peer client --test %s (status %d):\n%s----\n", name, status,
			out ? out : "(no output)");
	free(out);
	cr_assert(ok, "Go client scenario %s failed (wait status %d, output above)", name, status);

	/* Our server survived the scenario and shuts down cleanly on SIGTERM. */
	int st = interop_stop(&server, SIGTERM, 5000);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "C server did not exit cleanly after scenario %s (wait status %d)", name, st);
}

Test(go_client, echo)
{
	run_scenario("echo");
}
Test(go_client, errors)
{
	run_scenario("errors");
}
Test(go_client, metadata)
{
	run_scenario("metadata");
}
Test(go_client, timeout)
{
	run_scenario("timeout");
}
Test(go_client, unimplemented)
{
	run_scenario("unimplemented");
}
Test(go_client, concurrent)
{
	run_scenario("concurrent");
}
Test(go_client, all)
{
	run_scenario("all");
}
