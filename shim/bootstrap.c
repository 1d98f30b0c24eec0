/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/bootstrap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runtime/bootstrap/v1/bootstrap.pb-c.h"
#include "containerd/services/version/v1/version.ttrpc-c.h"
#include "ttrpc/grpc.h"

static bool is_options_type(const char *type_url)
{
	static const char *const known[] = { "containerd.runc.v1.Options", "runtimeoptions.v1.Options" };
	const char *slash = type_url ? strrchr(type_url, '/') : NULL;
	const char *name = slash ? slash + 1 : type_url;
	for (size_t i = 0; name && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i]))
			return true;
	return false;
}

static int copy_bytes(struct shim_bootstrap *b, const uint8_t *data, size_t len, struct shim_error *err)
{
	if (len == 0)
		return 0;
	b->options = malloc(len);
	if (!b->options)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "bootstrap: out of memory");
	memcpy(b->options, data, len);
	b->options_len = len;
	return 0;
}

/* The runtime options are one of the extensions: the first of a type we
 * know, else the first one there is (Create rejects it if it is not ours). */
static int take_extension_options(struct shim_bootstrap *b,
				  const Containerd__Runtime__Bootstrap__V1__BootstrapParams *p, struct shim_error *err)
{
	const Google__Protobuf__Any *pick = NULL;
	for (size_t i = 0; i < p->n_extensions; i++) {
		const Google__Protobuf__Any *v = p->extensions[i] ? p->extensions[i]->value : NULL;
		if (!v || !v->type_url || !*v->type_url)
			continue;
		if (is_options_type(v->type_url)) {
			pick = v;
			break;
		}
		if (!pick)
			pick = v;
	}
	if (!pick)
		return 0;
	size_t len = google__protobuf__any__get_packed_size(pick);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "bootstrap: out of memory");
	google__protobuf__any__pack(pick, buf);
	b->options = buf;
	b->options_len = len;
	return 0;
}

static int read_params(const Containerd__Runtime__Bootstrap__V1__BootstrapParams *p, struct shim_bootstrap *b,
		       struct shim_error *err)
{
	b->format = SHIM_BOOTSTRAP_BINARY;
	b->debug = p->log_level <= CONTAINERD__RUNTIME__BOOTSTRAP__V1__LOG_LEVEL__LOG_LEVEL_DEBUG;
	if (p->socket_dir && *p->socket_dir) {
		const char *dir = p->socket_dir;
		if (strlen(dir) >= sizeof(b->socket_dir))
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "bootstrap: socket_dir is too long (%zu bytes)", strlen(dir));
		if (dir[0] != '/')
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "bootstrap: socket_dir %s is not absolute", dir);
		snprintf(b->socket_dir, sizeof(b->socket_dir), "%s", dir);
	}
	snprintf(b->containerd_version, sizeof(b->containerd_version), "%s",
		 p->containerd_version ? p->containerd_version : "");
	return take_extension_options(b, p, err);
}

int shim_bootstrap_read(const uint8_t *in, size_t len, const char *id, const char *ns, const char *max_shim_version,
			struct shim_bootstrap *b, struct shim_error *err)
{
	memset(b, 0, sizeof(*b));
	if (len > 0) {
		Containerd__Runtime__Bootstrap__V1__BootstrapParams *p =
			containerd__runtime__bootstrap__v1__bootstrap_params__unpack(NULL, len, in);
		bool trusted = p && p->instance_id && p->namespace_ && id && ns && !strcmp(p->instance_id, id) &&
			       !strcmp(p->namespace_, ns);
		int rc = trusted ? read_params(p, b, err) : 0;
		if (p)
			containerd__runtime__bootstrap__v1__bootstrap_params__free_unpacked(p, NULL);
		if (trusted) {
			if (rc)
				shim_bootstrap_free(b);
			return rc;
		}
	}
	b->format = max_shim_version && *max_shim_version ? SHIM_BOOTSTRAP_JSON : SHIM_BOOTSTRAP_PLAIN;
	return copy_bytes(b, in, len, err);
}

void shim_bootstrap_free(struct shim_bootstrap *b)
{
	if (!b)
		return;
	free(b->options);
	b->options = NULL;
	b->options_len = 0;
}

/* "v2.1.3" / "2.1.3..." at s: digits '.' digits. */
static bool version_at(const char *s, int *major, int *minor)
{
	if (*s == 'v')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	char *end;
	long ma = strtol(s, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]) || ma > 1000)
		return false;
	long mi = strtol(end + 1, &end, 10);
	if (mi > 1000)
		return false;
	*major = (int)ma;
	*minor = (int)mi;
	return true;
}

int shim_bootstrap_parse_daemon_version(const char *text, int *major, int *minor)
{
	if (!text)
		return -EINVAL;
	/* the first whitespace-separated word that is a version */
	const char *p = text;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p && version_at(p, major, minor))
			return 0;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	return -EINVAL;
}

int shim_bootstrap_json_version(int daemon_major)
{
	if (daemon_major >= 2 && SHIM_BOOTSTRAP_MAX_VERSION >= 3)
		return 3;
	return 2;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the child's output until EOF or the deadline. */
static int read_until(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t used = 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		char scratch[256];
		char *dst = used + 1 < size ? buf + used : scratch;
		size_t room = used + 1 < size ? size - 1 - used : sizeof(scratch);
		ssize_t r = read(fd, dst, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (dst != scratch)
			used += (size_t)r;
	}
	buf[used] = '\0';
	return 0;
}

int shim_bootstrap_daemon_version(const char *binary, int timeout_ms, int *major, int *minor)
{
	if (!binary || !*binary)
		return -EINVAL;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	int64_t deadline = now_ms() + timeout_ms;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execl(binary, binary, "--version", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char out[512];
	int rc = read_until(pfd[0], out, sizeof(out), deadline);
	close(pfd[0]);
	if (rc)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc)
		return rc;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EINVAL;
	return shim_bootstrap_parse_daemon_version(out, major, minor);
}

static int answer_binary(int version, const char *address, uint8_t **out, size_t *out_len, struct shim_error *err)
{
	Containerd__Runtime__Bootstrap__V1__BootstrapResult r =
		CONTAINERD__RUNTIME__BOOTSTRAP__V1__BOOTSTRAP_RESULT__INIT;
	r.version = version;
	r.address = (char *)address;
	r.protocol = "ttrpc";
	size_t len = containerd__runtime__bootstrap__v1__bootstrap_result__get_packed_size(&r);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "bootstrap: out of memory");
	containerd__runtime__bootstrap__v1__bootstrap_result__pack(&r, buf);
	if (len == 0 || isspace(buf[0]) || isspace(buf[len - 1])) {
		free(buf);
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL,
				      "bootstrap: the BootstrapResult would begin or end with whitespace");
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int answer_json(int version, const char *address, uint8_t **out, size_t *out_len, struct shim_error *err)
{
	json_t *o = json_pack("{s:i, s:s, s:s}", "version", version, "address", address, "protocol", "ttrpc");
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "bootstrap: cannot encode the JSON answer");
	*out = (uint8_t *)text;
	*out_len = strlen(text);
	return 0;
}

int shim_bootstrap_answer(const struct shim_bootstrap *b, int version, const char *address, uint8_t **out,
			  size_t *out_len, struct shim_error *err)
{
	*out = NULL;
	*out_len = 0;
	switch (b->format) {
	case SHIM_BOOTSTRAP_BINARY:
		return answer_binary(version, address, out, out_len, err);
	case SHIM_BOOTSTRAP_JSON:
		return answer_json(version, address, out, out_len, err);
	default:
		*out = (uint8_t *)strdup(address);
		if (!*out)
			return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "bootstrap: out of memory");
		*out_len = strlen(address);
		return 0;
	}
}

int shim_bootstrap_daemon_version_grpc(const char *address, int timeout_ms, int *major, int *minor)
{
	if (!address || !*address || timeout_ms <= 0)
		return -EINVAL;
	if (!strncmp(address, "unix://", 7))
		address += 7;
	char target[PATH_MAX + 8];
	if (snprintf(target, sizeof(target), "unix:%s", address) >= (int)sizeof(target))
		return -ENAMETOOLONG;
	int rc = 0;
	ttrpc_client *c = ttrpc_client_connect_grpc(NULL, target, NULL, &rc);
	if (!c)
		return -ECONNREFUSED;
	Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
	Containerd__Services__Version__V1__VersionResponse *resp = NULL;
	struct ttrpc_result st = { 0 };
	struct ttrpc_call_opts opts = { .timeout_ns = (int64_t)timeout_ms * 1000000 };
	int code = containerd_services_version_v1_version_version_call_sync(c, &req, &opts, &resp, &st);
	if (code == TTRPC_CODE_OK && resp)
		rc = shim_bootstrap_parse_daemon_version(resp->version, major, minor);
	else
		rc = code == TTRPC_CODE_DEADLINE_EXCEEDED ? -ETIMEDOUT : -ECONNREFUSED;
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_result_clear(&st);
	ttrpc_client_free(c);
	return rc;
}
