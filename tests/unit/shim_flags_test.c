/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shim/flags.h"

TestSuite(shim_flags, .timeout = 30);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

Test(shim_flags, containerd_start_command_line)
{
	char *argv[] = { "shim",
			 "-namespace",
			 "k8s.io",
			 "-address",
			 "/run/containerd/containerd.sock",
			 "-publish-binary",
			 "/usr/bin/containerd",
			 "-id",
			 "c1",
			 "-debug",
			 "start" };
	struct shim_flags f;
	struct shim_error err;

	cr_assert_eq(shim_flags_parse(&f, ARGC(argv), argv, &err), 0, "%s", err.msg);
	cr_expect_str_eq(f.namespace_, "k8s.io");
	cr_expect_str_eq(f.address, "/run/containerd/containerd.sock");
	cr_expect_str_eq(f.publish_binary, "/usr/bin/containerd");
	cr_expect_str_eq(f.id, "c1");
	cr_expect(f.debug);
	cr_expect_null(f.bundle);
	cr_expect_eq(f.action, SHIM_ACTION_START);
	cr_expect_str_eq(shim_action_name(f.action), "start");
}

Test(shim_flags, every_go_syntax)
{
	char *argv[] = { "shim",   "--namespace=ns", "-address=a=b", "--id",	"x",  "-bundle",
			 "-weird", "-debug=false",   "delete",	     "ignored", "-id" };
	struct shim_flags f;
	struct shim_error err;

	cr_assert_eq(shim_flags_parse(&f, ARGC(argv), argv, &err), 0, "%s", err.msg);
	cr_expect_str_eq(f.namespace_, "ns");
	cr_expect_str_eq(f.address, "a=b");
	cr_expect_str_eq(f.id, "x");
	cr_expect_str_eq(f.bundle, "-weird");
	cr_expect_not(f.debug);
	cr_expect_eq(f.action, SHIM_ACTION_DELETE);
}

Test(shim_flags, no_action_means_serve_and_bools)
{
	char *argv[] = { "shim", "-debug=1", "-v", "--debug=F", "-h" };
	char *argv2[] = { "shim", "-id", "a", "--", "start" };
	char *argv3[] = { "shim", "-id", "a", "-" };
	struct shim_flags f;
	struct shim_error err;

	cr_assert_eq(shim_flags_parse(&f, ARGC(argv), argv, &err), 0, "%s", err.msg);
	cr_expect_eq(f.action, SHIM_ACTION_SERVE);
	cr_expect_not(f.debug);
	cr_expect(f.version);
	cr_expect(f.help);
	cr_assert_eq(shim_flags_parse(&f, ARGC(argv2), argv2, &err), 0, "%s", err.msg);
	cr_expect_eq(f.action, SHIM_ACTION_START);
	cr_expect_eq(shim_flags_parse(&f, ARGC(argv3), argv3, &err), -EINVAL);
	cr_expect(strstr(err.msg, "unknown action \"-\"") != NULL, "%s", err.msg);
}

Test(shim_flags, errors_are_clear)
{
	char *unknown[] = { "shim", "-namespace", "n", "-frobnicate", "start" };
	char *unknown_eq[] = { "shim", "--frob=1" };
	char *missing[] = { "shim", "-id" };
	char *badbool[] = { "shim", "-debug=yes" };
	char *syntax[] = { "shim", "---id", "x" };
	char *action[] = { "shim", "-id", "x", "stop" };
	struct shim_flags f;
	struct shim_error err;

	cr_expect_eq(shim_flags_parse(&f, ARGC(unknown), unknown, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "flag provided but not defined: -frobnicate");
	cr_expect_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	cr_expect_eq(shim_flags_parse(&f, ARGC(unknown_eq), unknown_eq, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "flag provided but not defined: -frob");
	cr_expect_eq(shim_flags_parse(&f, ARGC(missing), missing, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "flag needs an argument: -id");
	cr_expect_eq(shim_flags_parse(&f, ARGC(badbool), badbool, &err), -EINVAL);
	cr_expect(strstr(err.msg, "invalid boolean value \"yes\" for -debug") != NULL, "%s", err.msg);
	cr_expect_eq(shim_flags_parse(&f, ARGC(syntax), syntax, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "bad flag syntax: ---id");
	cr_expect_eq(shim_flags_parse(&f, ARGC(action), action, &err), -EINVAL);
	cr_expect(strstr(err.msg, "\"stop\"") != NULL, "%s", err.msg);
}
