/* SPDX-License-Identifier: Apache-2.0 */
/* Container stdio URIs (fifo, file, binary) and logging binaries run the way
 * containerd-shim-runc-v2 runs them: arguments, environment, fds 3/4/5,
 * readiness, a logger that never gets ready, one that ignores SIGTERM, one
 * that does not exist. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/logger.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/shim-logger-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(logger, .init = setup, .fini = teardown, .timeout = 30);

Test(logger, parse)
{
	struct shim_log_uri u;
	struct shim_error err = { 0 };
	cr_assert_eq(shim_log_uri_parse("/run/x/stdout", &u, &err), 0);
	cr_assert_eq(u.kind, SHIM_LOG_URI_FIFO);
	cr_assert_null(u.path);
	cr_assert_eq(shim_log_uri_parse("", &u, &err), 0);
	cr_assert_eq(shim_log_uri_parse("fifo:///run/x/out", &u, &err), 0);
	cr_assert_eq(u.kind, SHIM_LOG_URI_FIFO);
	cr_assert_str_eq(u.path, "/run/x/out");
	shim_log_uri_free(&u);
	cr_assert_eq(shim_log_uri_parse("file:///var/log/c%201.log", &u, &err), 0, "%s", err.msg);
	cr_assert_eq(u.kind, SHIM_LOG_URI_FILE);
	cr_assert_str_eq(u.path, "/var/log/c 1.log");
	shim_log_uri_free(&u);
	cr_assert_eq(shim_log_uri_parse("binary:///usr/bin/logger?tag=a+b&flag&x=%2Fy", &u, &err), 0, "%s", err.msg);
	cr_assert_eq(u.kind, SHIM_LOG_URI_BINARY);
	cr_assert_eq(u.argc, 7);
	const char *want[] = { "/usr/bin/logger", "tag", "a b", "flag", "", "x", "/y" };
	for (size_t i = 0; i < 7; i++)
		cr_assert_str_eq(u.argv[i], want[i], "argv[%zu]", i);
	cr_assert_null(u.argv[7]);
	shim_log_uri_free(&u);
	const char *bad[] = { "http:///x",
			      "binary://host/usr/bin/l",
			      "binary:///usr/../bin/l",
			      "binary:///usr/bin/l%zz",
			      "binary:///usr/bin/l%00",
			      "file:///var/log/x?y=1",
			      "file://relative",
			      "binary:///usr/bin/l#f",
			      "file:///var//log" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct shim_error){ 0 };
		cr_assert_lt(shim_log_uri_parse(bad[i], &u, &err), 0, "%s accepted", bad[i]);
		cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT, "%s", bad[i]);
		cr_assert(strstr(err.msg, bad[i]), "%s: %s", bad[i], err.msg);
		cr_assert_null(u.path);
	}
	/* too many arguments */
	char many[2048] = "binary:///l?";
	for (int i = 0; i < 40; i++)
		strcat(many, "k=v&");
	err = (struct shim_error){ 0 };
	cr_assert_lt(shim_log_uri_parse(many, &u, &err), 0);
	cr_assert(strstr(err.msg, "too many"), "%s", err.msg);
}

Test(logger, file_uri_creates_and_appends)
{
	char uri[256], path[200];
	struct shim_log_uri u;
	struct shim_error err = { 0 };
	snprintf(path, sizeof(path), "%s/a/b/c.log", dir);
	snprintf(uri, sizeof(uri), "file://%s", path);
	cr_assert_eq(shim_log_uri_parse(uri, &u, &err), 0, "%s", err.msg);
	for (int i = 0; i < 2; i++) {
		int fd = shim_log_file_open(&u, &err);
		cr_assert_geq(fd, 0, "%s", err.msg);
		cr_assert_eq(write(fd, "x\n", 2), 2);
		close(fd);
	}
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 4);
	cr_assert_eq(st.st_mode & 0777, 0644);
	shim_log_uri_free(&u);
	/* a directory where the file should be */
	snprintf(uri, sizeof(uri), "file://%s/a", dir);
	cr_assert_eq(shim_log_uri_parse(uri, &u, &err), 0);
	err = (struct shim_error){ 0 };
	cr_assert_lt(shim_log_file_open(&u, &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
	shim_log_uri_free(&u);
}

/* The logging-binary tests: a loop and a reaper (the logger's exit is
 * reaped through it, as in the shim), besides the temp dir. */
static struct ev_loop *loop;
static struct shim_reaper *r;

static void with_loop(void)
{
	struct shim_error err = { 0 };
	setup();
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	r = shim_reaper_new(loop, &err);
	cr_assert_not_null(r, "%s", err.msg);
}

static void without_loop(void)
{
	shim_reaper_free(r);
	ev_loop_destroy(loop);
	teardown();
}

struct ctx {
	int calls, rc;
	struct shim_error err;
};

static void on_ready(struct shim_logger *lg, int rc, const struct shim_error *err, void *data)
{
	struct ctx *c = data;
	(void)lg;
	c->calls++;
	c->rc = rc;
	if (err)
		c->err = *err;
}

static void script(const char *name, const char *body)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

static struct shim_logger *start(const char *name, const char *query, int timeout_ms, struct ctx *c, int *o, int *e)
{
	char uri[256];
	struct shim_log_uri u;
	struct shim_error err = { 0 };
	snprintf(uri, sizeof(uri), "binary://%s/%s%s", dir, name, query);
	cr_assert_eq(shim_log_uri_parse(uri, &u, &err), 0, "%s", err.msg);
	struct shim_logger *lg = shim_logger_start(loop, r, &u, "c1", "k8s.io", timeout_ms, on_ready, c, o, e, &err);
	shim_log_uri_free(&u);
	cr_assert_not_null(lg, "%s", err.msg);
	return lg;
}

static void run_until(int *flag, int want, double seconds)
{
	for (int i = 0; i < (int)(seconds * 100) && *flag < want; i++)
		ev_run(loop, EVRUN_NOWAIT), usleep(10000);
}

static char *slurp(const char *name)
{
	static char buf[4096];
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int wait_gone(pid_t pid, double seconds)
{
	for (int i = 0; i < (int)(seconds * 100); i++) {
		if (kill(pid, 0) && errno == ESRCH)
			return 0;
		usleep(10000);
	}
	return -1;
}

Test(logger, binary_gets_args_env_and_fds, .init = with_loop, .fini = without_loop)
{
	char body[512];
	snprintf(
		body, sizeof(body),
		"cd %s\necho \"$# $*\" > args\nenv | sort > env\nls /proc/$$/fd > fds\n"
		"exec 5>&-\ncat <&3 > out.tmp &\ncat <&4 > err.tmp &\nexec 3<&- 4<&-\nwait\nmv out.tmp out; mv err.tmp err",
		dir);
	script("log", body);
	struct ctx c = { 0 };
	int o = -1, e = -1;
	struct shim_logger *lg = start("log", "?tag=t1&v", 0, &c, &o, &e);
	run_until(&c.calls, 1, 10);
	cr_assert_eq(c.calls, 1);
	cr_assert_eq(c.rc, 0, "%s", c.err.msg);
	cr_assert_eq(write(o, "to stdout\n", 10), 10);
	cr_assert_eq(write(e, "to stderr\n", 10), 10);
	close(o);
	close(e);
	int got = 0;
	for (int i = 0; i < 500 && !got; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		got = slurp("err") != NULL && slurp("out") != NULL;
		usleep(10000);
	}
	cr_assert(got, "the logger did not write out and err");
	cr_assert_str_eq(slurp("out"), "to stdout\n");
	cr_assert_str_eq(slurp("err"), "to stderr\n");
	/* a bare key is followed by an empty value, as runc-v2 passes it */
	cr_assert_str_eq(slurp("args"), "4 tag t1 v \n");
	char *env = slurp("env");
	cr_assert(strstr(env, "CONTAINER_ID=c1\n"), "%s", env);
	cr_assert(strstr(env, "CONTAINER_NAMESPACE=k8s.io\n"), "%s", env);
	cr_assert_null(strstr(env, "PATH=/usr"), "the environment is only the two variables: %s", env);
	char *fds = slurp("fds");
	cr_assert(strstr(fds, "3\n4\n5\n"), "fds 3, 4, 5 given: %s", fds);
	pid_t pid = shim_logger_pid(lg);
	shim_logger_stop(lg, 2000);
	for (int i = 0; i < 300 && wait_gone(pid, 0.01); i++)
		ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(wait_gone(pid, 1), 0);
}

Test(logger, ready_byte_then_stop_terms_it, .init = with_loop, .fini = without_loop)
{
	script("log", "printf r >&5\nexec 5>&- 3<&- 4<&-\nexec sleep 30");
	struct ctx c = { 0 };
	int o, e;
	struct shim_logger *lg = start("log", "", 0, &c, &o, &e);
	run_until(&c.calls, 1, 10);
	cr_assert_eq(c.rc, 0, "%s", c.err.msg);
	close(o);
	close(e);
	pid_t pid = shim_logger_pid(lg);
	cr_assert_eq(kill(pid, 0), 0, "still running after ready");
	shim_logger_stop(lg, 5000);
	for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
		ev_run(loop, EVRUN_NOWAIT), usleep(10000);
	cr_assert_neq(kill(pid, 0), 0, "SIGTERM ended it");
}

Test(logger, never_ready_times_out_and_is_killed, .init = with_loop, .fini = without_loop)
{
	script("log", "exec sleep 30");
	struct ctx c = { 0 };
	int o, e;
	struct shim_logger *lg = start("log", "", 200, &c, &o, &e);
	pid_t pid = shim_logger_pid(lg);
	run_until(&c.calls, 1, 5);
	cr_assert_eq(c.calls, 1);
	cr_assert_lt(c.rc, 0);
	cr_assert_eq(c.err.code, TTRPC_CODE_DEADLINE_EXCEEDED);
	cr_assert(strstr(c.err.msg, "did not signal ready in 0.2 s"), "%s", c.err.msg);
	close(o);
	close(e);
	for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
		ev_run(loop, EVRUN_NOWAIT), usleep(10000);
	cr_assert_neq(kill(pid, 0), 0, "killed and reaped");
	shim_logger_stop(lg, 1000); /* frees it */
}

Test(logger, ignores_term_gets_killed, .init = with_loop, .fini = without_loop)
{
	script("log", "trap '' TERM\nexec 5>&-\nwhile :; do :; done");
	struct ctx c = { 0 };
	int o, e;
	struct shim_logger *lg = start("log", "", 0, &c, &o, &e);
	run_until(&c.calls, 1, 10);
	cr_assert_eq(c.rc, 0, "%s", c.err.msg);
	close(o);
	close(e);
	pid_t pid = shim_logger_pid(lg);
	shim_logger_stop(lg, 300);
	usleep(100000);
	ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(kill(pid, 0), 0, "it ignores SIGTERM");
	for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
		ev_run(loop, EVRUN_NOWAIT), usleep(10000);
	cr_assert_neq(kill(pid, 0), 0, "SIGKILL after the term timeout");
}

Test(logger, missing_binary_is_a_clear_error, .init = with_loop, .fini = without_loop)
{
	struct shim_error err = { 0 };
	struct shim_log_uri u;
	cr_assert_eq(shim_log_uri_parse("binary:///nonexistent/logger", &u, &err), 0);
	int o = -1, e = -1;
	struct ctx c = { 0 };
	cr_assert_null(shim_logger_start(loop, r, &u, "c1", "ns", 0, on_ready, &c, &o, &e, &err));
	cr_assert(strstr(err.msg, "/nonexistent/logger"), "%s", err.msg);
	cr_assert(strstr(err.msg, "No such file"), "%s", err.msg);
	cr_assert_eq(o, -1);
	shim_log_uri_free(&u);
}
