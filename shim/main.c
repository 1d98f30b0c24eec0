/* SPDX-License-Identifier: Apache-2.0 */
/* containerd-shim-tiny-v2: the binary containerd runs for io.containerd.tiny.v2.
 *   start   decide which shim serves the container, start one if needed,
 *           print its address
 *   delete  clean up after a shim that is gone, print a DeleteResponse
 *   (none)  serve: the daemon `start` left behind */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task/v2/shim.ttrpc-c.h"
#include "shim/address.h"
#include "shim/bootstrap.h"
#include "shim/flags.h"
#include "shim/ids.h"
#include "shim/info.h"
#include "shim/mount.h"
#include "shim/oci.h"
#include "shim/runtime.h"
#include "shim/sandbox.h"
#include "shim/shim.h"

#define LISTEN_FD 3 /* where `start` hands the listening socket to the daemon */

static int die(const char *what, const struct shim_error *err)
{
	fprintf(stderr, "%s: %s\n", what, err->msg);
	return 1;
}

static int need(const char *name, const char *value)
{
	if (value && *value)
		return 0;
	fprintf(stderr, "containerd-shim-tiny-v2: -%s is required\n", name);
	return 1;
}

static const char *bundle_dir(const struct shim_flags *f, char *buf, size_t size)
{
	if (f->bundle && *f->bundle)
		return f->bundle;
	return getcwd(buf, size);
}

/* Everything containerd wrote on stdin (runtime options, or 2.3+'s
 * BootstrapParams), at most SHIM_BOOTSTRAP_INPUT_MAX bytes. */
static int read_stdin(uint8_t **out, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= SHIM_BOOTSTRAP_INPUT_MAX)
				break;
			uint8_t *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(0, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF, or no usable stdin: no options */
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* Fork the serving daemon: new session, the bundle as cwd, no stdio of
 * ours (containerd reads start's output to EOF), the socket as fd 3. */
static int spawn_daemon(const struct shim_flags *f, bool debug, const char *bundle, const char *address, int listen_fd,
			struct shim_error *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "readlink /proc/self/exe");
	self[n] = '\0';
	pid_t pid = fork();
	if (pid < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "fork");
	if (pid > 0)
		return 0;

	setsid();
	if (chdir(bundle) != 0)
		_exit(127);
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	if (listen_fd != LISTEN_FD) {
		if (dup2(listen_fd, LISTEN_FD) < 0)
			_exit(127);
	} else {
		fcntl(LISTEN_FD, F_SETFD, 0);
	}
	for (int fd = LISTEN_FD + 1; fd < 1024; fd++)
		close(fd);
	const char *argv[16];
	int i = 0;
	argv[i++] = self;
	argv[i++] = "-namespace";
	argv[i++] = f->namespace_;
	argv[i++] = "-address";
	argv[i++] = f->address;
	argv[i++] = "-publish-binary";
	argv[i++] = f->publish_binary ? f->publish_binary : "";
	argv[i++] = "-id";
	argv[i++] = f->id;
	argv[i++] = "-socket";
	argv[i++] = address;
	if (debug)
		argv[i++] = "-debug";
	argv[i] = NULL;
	execv(self, (char *const *)argv);
	_exit(127);
}

/* hcsshim convention: a container joins its sandbox's shim, which must be
 * serving; ask it with a ttrpc Connect. */
static int join_sandbox(const char *address, const char *sandbox_id, struct shim_error *err)
{
	const char *path = shim_address_path(address);
	int rc = 0;
	ttrpc_client *c = path ? ttrpc_client_connect(NULL, path, &rc) : NULL;
	if (!c)
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOENT,
				      "sandbox %s: its shim is not running (%s)", sandbox_id, address);
	Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
	req.id = (char *)sandbox_id;
	Containerd__Task__V2__ConnectResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	struct ttrpc_call_opts opts = { .timeout_ns = 5000000000 };
	int code = containerd_task_v2_task_connect_call_sync(c, &req, &opts, &resp, &st);
	if (code != TTRPC_CODE_OK)
		rc = shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EIO, "sandbox %s: connect to its shim: %s",
				    sandbox_id, st.message ? st.message : "");
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_result_clear(&st);
	ttrpc_client_free(c);
	return rc;
}

/* The protocol version to announce: 2.3+ (binary) gets what we serve; the
 * JSON of 1.7-2.2 carries 3 only to a daemon known to be 2.0+: asked over
 * gRPC (its Version service at -address), else `<publish-binary> --version`,
 * each bounded; 2 when in doubt (1.7 rejects 3). */
static int bootstrap_version(const struct shim_flags *f, const struct shim_bootstrap *b)
{
	if (b->format == SHIM_BOOTSTRAP_BINARY)
		return SHIM_BOOTSTRAP_MAX_VERSION;
	if (SHIM_BOOTSTRAP_MAX_VERSION < 3)
		return 2;
	/* the daemon at -address first, then the binary it says it is */
	int major = -1, minor = -1;
	if (shim_bootstrap_daemon_version_grpc(f->address, SHIM_BOOTSTRAP_VERSION_TIMEOUT_MS, &major, &minor) &&
	    shim_bootstrap_daemon_version(f->publish_binary, SHIM_BOOTSTRAP_VERSION_TIMEOUT_MS, &major, &minor))
		major = -1;
	return shim_bootstrap_json_version(major);
}

/* Which shim serves the container (its group's, started now if needed);
 * the address it listens on in *address. */
static int start_or_join(const struct shim_flags *f, const struct shim_bootstrap *b, const char *bundle, char *address,
			 size_t address_size, struct shim_error *err)
{
	struct shim_oci_config cfg;
	int rc = shim_oci_config_load(bundle, &cfg, err);
	if (rc == -ENOENT && b->format != SHIM_BOOTSTRAP_PLAIN) {
		/* containerd 1.7+'s shim sandbox controller starts the sandbox's
		 * shim on a bundle without config.json (the pod's config comes
		 * with CreateSandbox): no annotations, the group is the id. 1.6
		 * has no such controller: there a missing config.json is an error. */
		shim_error_clear(err);
		memset(&cfg, 0, sizeof(cfg));
	} else if (rc) {
		return -1;
	}
	struct shim_group group;
	rc = shim_sandbox_group(f->id, cfg.annotations, cfg.nannotations, &group, err);
	char group_id[SHIM_ID_MAX + 1] = "";
	if (rc == 0)
		snprintf(group_id, sizeof(group_id), "%s", group.group_id);
	enum shim_group_mode mode = rc == 0 ? group.mode : SHIM_GROUP_REUSE_OR_NEW;
	shim_oci_config_free(&cfg);
	if (rc)
		return -1;

	const char *socket_dir = b->socket_dir[0] ? b->socket_dir : NULL;
	if (shim_socket_address(socket_dir, f->address, f->namespace_, group_id, address, address_size, err))
		return -1;
	if (mode == SHIM_GROUP_JOIN_SANDBOX)
		return join_sandbox(address, group_id, err) ? -1 : 0;
	int fd = -1;
	rc = shim_socket_acquire(address, &fd, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		rc = spawn_daemon(f, f->debug || b->debug, bundle, address, fd, err);
		close(fd);
		if (rc) {
			shim_socket_remove(address, NULL);
			return -1;
		}
	}
	return 0;
}

static int cmd_start(const struct shim_flags *f)
{
	if (need("namespace", f->namespace_) || need("address", f->address) || need("id", f->id))
		return 1;
	struct shim_error err = { 0 };
	if (shim_id_validate("container id", f->id, &err))
		return die("start", &err);
	uint8_t *input = NULL;
	size_t input_len = 0;
	if (read_stdin(&input, &input_len)) {
		fprintf(stderr, "start: read stdin: out of memory\n");
		return 1;
	}
	struct shim_bootstrap b;
	int rc = shim_bootstrap_read(input, input_len, f->id, f->namespace_, getenv("MAX_SHIM_VERSION"), &b, &err);
	free(input);
	if (rc)
		return die("start", &err);
	char cwd[PATH_MAX];
	const char *bundle = bundle_dir(f, cwd, sizeof(cwd));
	char address[SHIM_ADDRESS_MAX];
	if (!bundle) {
		shim_error_errno(&err, TTRPC_CODE_INTERNAL, errno, "cannot determine the bundle directory");
		rc = -1;
	} else {
		rc = start_or_join(f, &b, bundle, address, sizeof(address), &err);
	}
	if (rc == 0)
		rc = shim_address_write(bundle, address, &err);
	uint8_t *answer = NULL;
	size_t answer_len = 0;
	if (rc == 0)
		rc = shim_bootstrap_answer(&b, bootstrap_version(f, &b), address, &answer, &answer_len, &err);
	shim_bootstrap_free(&b);
	if (rc)
		return die("start", &err);
	fwrite(answer, 1, answer_len, stdout);
	free(answer);
	return 0;
}

/* A shim that was killed leaves its socket behind (containerd's runc shim
 * too: "the address socket might be leaking"). The delete action removes it
 * when nobody serves it any more, under the lock `start` takes on the socket
 * directory: a shim starting meanwhile for the same group keeps its socket,
 * and a group's shim still serving others is left alone. */
static void remove_stale_socket(const char *bundle, const char *id)
{
	char address[SHIM_ADDRESS_MAX], dir[PATH_MAX];
	struct shim_error err = { 0 };
	if (shim_address_read(bundle, address, sizeof(address), &err))
		return; /* no address: no socket was made for this bundle */
	const char *path = shim_address_path(address);
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0)
		return;
	while (flock(lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(lock_fd);
			return;
		}
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && !shim_socket_can_connect(address)) {
		if (unlink(path) == 0)
			fprintf(stderr, "delete %s: removed the stale socket %s\n", id, path);
		else if (errno != ENOENT)
			fprintf(stderr, "delete %s: remove the stale socket %s: %s\n", id, path, strerror(errno));
	}
	close(lock_fd);
}

static int cmd_delete(const struct shim_flags *f)
{
	if (need("namespace", f->namespace_) || need("id", f->id))
		return 1;
	struct shim_error err = { 0 };
	if (shim_id_validate("container id", f->id, &err))
		return die("delete", &err);
	char cwd[PATH_MAX];
	const char *bundle = bundle_dir(f, cwd, sizeof(cwd));
	if (!bundle)
		return 1;
	/* the runtime Create used (absent when Create never got that far) */
	struct shim_runtime_options opts = { 0 };
	char saved[PATH_MAX + 32];
	snprintf(saved, sizeof(saved), "%s/" SHIM_RUNTIME_SAVED, bundle);
	if (access(saved, F_OK) == 0 && shim_runtime_config_load(saved, &opts, &err))
		fprintf(stderr, "delete %s: %s\n", f->id, err.msg);
	struct shim_runtime rt;
	if (shim_runtime_init(&rt, &opts, f->namespace_, bundle, NULL, NULL, &err) == 0) {
		if (shim_runtime_delete(&rt, f->id, true, &err))
			fprintf(stderr, "delete %s: %s\n", f->id, err.msg); /* gone already is fine */
		shim_runtime_release(&rt);
	} else {
		fprintf(stderr, "delete %s: %s\n", f->id, err.msg);
	}
	char rootfs[PATH_MAX + 8];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	shim_error_clear(&err);
	if (shim_unmount_all(rootfs, SHIM_UNMOUNT_RETRIES, &err) < 0)
		fprintf(stderr, "delete %s: %s\n", f->id, err.msg);
	remove_stale_socket(bundle, f->id);
	/* The init pid, as runc-v2 reports it: containerd puts it into the exit
	 * and delete events it publishes for a shim that died. */
	pid_t pid = 0;
	char pid_file[PATH_MAX + 16];
	snprintf(pid_file, sizeof(pid_file), "%s/init.pid", bundle);
	shim_error_clear(&err);
	if (shim_read_pid_file(pid_file, &pid, &err))
		fprintf(stderr, "delete %s: %s\n", f->id, err.msg);

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	resp.pid = (uint32_t)pid;
	resp.exit_status = 128 + SIGKILL;
	resp.exited_at = &ts;
	size_t n = containerd__task__v2__delete_response__get_packed_size(&resp);
	uint8_t buf[256];
	containerd__task__v2__delete_response__pack(&resp, buf);
	fwrite(buf, 1, n, stdout);
	return 0;
}

/* -info: the options on stdin, a RuntimeInfo on stdout (containerd 2.x). */
static int cmd_info(void)
{
	uint8_t *input = NULL, *out = NULL;
	size_t input_len = 0, out_len = 0;
	if (read_stdin(&input, &input_len)) {
		fprintf(stderr, "info: read stdin: out of memory\n");
		return 1;
	}
	struct shim_error err = { 0 };
	char warning[SHIM_ERROR_MSG_MAX + 64];
	int rc = shim_info(input, input_len, NULL, SHIM_INFO_FEATURES_TIMEOUT_MS, &out, &out_len, warning,
			   sizeof(warning), &err);
	free(input);
	if (rc)
		return die("info", &err);
	if (warning[0])
		fprintf(stderr, "info: %s\n", warning);
	fwrite(out, 1, out_len, stdout);
	free(out);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_serve(const struct shim_flags *f)
{
	if (need("namespace", f->namespace_) || need("id", f->id) || need("socket", f->socket))
		return 1;
	struct shim s;
	memset(&s, 0, sizeof(s));
	s.ns = f->namespace_;
	s.containerd_address = f->address;
	s.ttrpc_address = getenv("TTRPC_ADDRESS");
	snprintf(s.socket_address, sizeof(s.socket_address), "%s", f->socket);
	static const char *base[] = { "runtime", SHIM_RUNTIME_NAME, NULL };
	shim_log_init(&s.log, "log", -1, f->debug);
	s.log.base = base;
	FILE *pidf = fopen("shim.pid", "we");
	if (pidf) {
		fprintf(pidf, "%d", (int)getpid());
		fclose(pidf);
	}
	int rc = shim_serve(&s, LISTEN_FD);
	shim_log_close(&s.log);
	return rc;
}

int main(int argc, char **argv)
{
	struct shim_flags f;
	struct shim_error err = { 0 };
	if (shim_flags_parse(&f, argc, argv, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	if (f.version) {
		printf("containerd-shim-tiny-v2:\n  Version:  %s\n  Runtime:  %s\n", SHIM_VERSION, SHIM_RUNTIME_NAME);
		return 0;
	}
	if (f.info)
		return cmd_info();
	if (f.help) {
		printf("usage: containerd-shim-tiny-v2 -namespace NS -address ADDR -publish-binary BIN -id ID "
		       "[-bundle DIR] [-debug] [start|delete]\n       containerd-shim-tiny-v2 -info < options\n");
		return 0;
	}
	switch (f.action) {
	case SHIM_ACTION_START:
		return cmd_start(&f);
	case SHIM_ACTION_DELETE:
		return cmd_delete(&f);
	default:
		return cmd_serve(&f);
	}
}
