/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim/log.h"

static char tmpdir[64];
static char fifo[128];

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(tmpdir, "/tmp/shim-log-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(fifo, sizeof(fifo), "%s/log", tmpdir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
}

static void teardown(void)
{
	unlink(fifo);
	rmdir(tmpdir);
}

TestSuite(shim_log, .init = setup, .fini = teardown, .timeout = 30);

static const struct timespec when = { 1795334400, 123456789 }; /* 2026-11-22T08:00:00.123456789Z */

Test(shim_log, format_like_logrus)
{
	const char *const base[] = { "runtime", "io.containerd.tiny.v2", "namespace", "default", NULL };
	const char *const kv[] = { "id", "c1", "error", "exit status 1", "a", "", NULL };
	char line[512];
	size_t n;

	n = shim_log_format(line, sizeof(line), &when, SHIM_LOG_INFO, "starting shim", base, kv);
	cr_expect_str_eq(line, "time=\"2026-11-22T08:00:00.123456789Z\" level=info msg=\"starting shim\" a= "
			       "error=\"exit status 1\" id=c1 namespace=default runtime=io.containerd.tiny.v2\n");
	cr_expect_eq(n, strlen(line));
	shim_log_format(line, sizeof(line), &when, SHIM_LOG_WARN, "plain/ok-1.2_x@y^z+w", NULL, NULL);
	cr_expect_str_eq(line, "time=\"2026-11-22T08:00:00.123456789Z\" level=warning msg=plain/ok-1.2_x@y^z+w\n");
	shim_log_format(line, sizeof(line), &when, SHIM_LOG_ERROR, "", NULL, NULL);
	cr_expect_str_eq(line, "time=\"2026-11-22T08:00:00.123456789Z\" level=error\n");
}

Test(shim_log, quotes_like_go_percent_q)
{
	char line[512];

	shim_log_format(line, sizeof(line), &when, SHIM_LOG_DEBUG,
			"q\"b\\s\n\t\r\a\b\f\v\x01\x7f caf\xc3\xa9 \xff \xc2\x85 \xe2\x82\xac", NULL, NULL);
	cr_expect_str_eq(line,
			 "time=\"2026-11-22T08:00:00.123456789Z\" level=debug "
			 "msg=\"q\\\"b\\\\s\\n\\t\\r\\a\\b\\f\\v\\x01\\x7f caf\xc3\xa9 \\xff \\u0085 \xe2\x82\xac\"\n");
}

Test(shim_log, long_lines_are_cut_and_stay_quoted)
{
	char msg[10000], line[SHIM_LOG_LINE_MAX];
	size_t n;

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	msg[5] = ' ';
	n = shim_log_format(line, sizeof(line), &when, SHIM_LOG_INFO, msg, NULL, NULL);
	cr_expect_lt(n, sizeof(line));
	cr_expect_eq(n, strlen(line));
	cr_expect_str_eq(line + n - 5, "x...\"\n" + 1);
	cr_expect(strstr(line, "msg=\"xxxxx xxx") != NULL);
}

static size_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

Test(shim_log, writes_lines_to_the_fifo_and_honours_debug)
{
	const char *const base[] = { "id", "c1", NULL };
	struct shim_log log;
	char buf[4096];
	int reader;

	reader = open(fifo, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(reader, 0);
	shim_log_init(&log, fifo, -1, false);
	log.base = base;
	cr_assert_geq(log.fd, 0);
	shim_logf(&log, SHIM_LOG_INFO, "hello %d", 42);
	shim_logf(&log, SHIM_LOG_DEBUG, "hidden");
	log.debug = true;
	shim_log_kv(&log, SHIM_LOG_DEBUG, "shown", (const char *const[]){ "pid", "7", NULL });
	shim_log_ttrpc(&log, TTRPC_LOG_ERROR, "conn reset");
	read_all(reader, buf, sizeof(buf));
	cr_expect(strstr(buf, "level=info msg=\"hello 42\" id=c1\n") != NULL, "%s", buf);
	cr_expect(strstr(buf, "hidden") == NULL, "%s", buf);
	cr_expect(strstr(buf, "level=debug msg=shown id=c1 pid=7\n") != NULL, "%s", buf);
	cr_expect(strstr(buf, "level=error msg=\"conn reset\" component=ttrpc id=c1\n") != NULL, "%s", buf);
	cr_expect(strncmp(buf, "time=\"", 6) == 0);
	shim_log_close(&log);
	close(reader);
}

Test(shim_log, no_reader_falls_back_then_attaches)
{
	struct shim_log log;
	char buf[4096];
	int fallback[2], reader;

	cr_assert_eq(pipe2(fallback, O_NONBLOCK), 0);
	shim_log_init(&log, fifo, fallback[1], false);
	cr_expect_eq(log.fd, -1);
	shim_logf(&log, SHIM_LOG_INFO, "early");
	read_all(fallback[0], buf, sizeof(buf));
	cr_expect(strstr(buf, "msg=early") != NULL, "%s", buf);
	/* containerd attaches: the next line after the retry pause goes to the FIFO. */
	reader = open(fifo, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(reader, 0);
	log.retry_ns = 0;
	log.next_open_ns = 0;
	shim_logf(&log, SHIM_LOG_INFO, "attached");
	cr_expect_geq(log.fd, 0);
	read_all(reader, buf, sizeof(buf));
	cr_expect(strstr(buf, "msg=attached") != NULL, "%s", buf);
	/* The reader goes away: EPIPE, not SIGPIPE; the line falls back, the FIFO is reopened later. */
	close(reader);
	shim_logf(&log, SHIM_LOG_INFO, "lost");
	cr_expect_eq(log.fd, -1);
	shim_logf(&log, SHIM_LOG_INFO, "after");
	read_all(fallback[0], buf, sizeof(buf));
	cr_expect(strstr(buf, "msg=after") != NULL, "%s", buf);
	cr_expect(strstr(buf, "level=warning msg=\"log lines dropped\" count=1") != NULL, "%s", buf);
	shim_log_close(&log);
	close(fallback[0]);
	close(fallback[1]);
}

Test(shim_log, full_fifo_never_blocks)
{
	struct shim_log log;
	char buf[4096];
	int reader, i;

	reader = open(fifo, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(reader, 0);
	shim_log_init(&log, fifo, -1, true);
	cr_assert_geq(log.fd, 0);
	cr_expect(fcntl(log.fd, F_GETFL) & O_NONBLOCK, "the FIFO is written blocking");
	/* Nobody reads while this runs: a blocking write would hang here until
	 * the suite's timeout fails the test (no clock needed to tell). */
	for (i = 0; i < 5000; i++)
		shim_logf(&log, SHIM_LOG_INFO, "line %d with some padding to fill the pipe faster", i);
	cr_expect_gt(log.dropped, 0);
	/* Drain, and the next line carries the drop count first. */
	while (read(reader, buf, sizeof(buf)) > 0)
		;
	shim_logf(&log, SHIM_LOG_INFO, "recovered");
	cr_expect_eq(log.dropped, 0);
	read_all(reader, buf, sizeof(buf));
	cr_expect(strstr(buf, "msg=\"log lines dropped\"") != NULL, "%s", buf);
	cr_expect(strstr(buf, "msg=recovered") != NULL, "%s", buf);
	shim_log_close(&log);
	close(reader);
}
