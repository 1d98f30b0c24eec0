/* SPDX-License-Identifier: Apache-2.0 */
#include "address.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#define UNIX_PREFIX "unix://"

int shim_path_clean(const char *in, char *out, size_t out_size)
{
	/* Go's path/filepath.Clean, step by step: w is the output length, dotdot the
	 * prefix a ".." cannot backtrack into. */
	size_t n = strlen(in), r = 0, w = 0, dotdot = 0;
	bool rooted = n > 0 && in[0] == '/';

#define IS_SEP(i) (in[i] == '/')
#define APPEND(c)                             \
	do {                                  \
		if (w + 1 >= out_size)        \
			return -ENAMETOOLONG; \
		out[w++] = (c);               \
	} while (0)
	if (out_size < 2)
		return -ENAMETOOLONG;
	if (rooted) {
		APPEND('/');
		r = dotdot = 1;
	}
	while (r < n) {
		if (IS_SEP(r)) {
			r++;
		} else if (in[r] == '.' && (r + 1 == n || IS_SEP(r + 1))) {
			r++;
		} else if (in[r] == '.' && in[r + 1] == '.' && (r + 2 == n || IS_SEP(r + 2))) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					APPEND('/');
				APPEND('.');
				APPEND('.');
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				APPEND('/');
			for (; r < n && !IS_SEP(r); r++)
				APPEND(in[r]);
		}
	}
#undef IS_SEP
#undef APPEND
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return 0;
}

int shim_path_join(char *out, size_t out_size, ...)
{
	char joined[PATH_MAX * 2];
	size_t len = 0;
	const char *part;
	va_list ap;

	joined[0] = '\0';
	va_start(ap, out_size);
	while ((part = va_arg(ap, const char *))) {
		size_t part_len = strlen(part);

		if (!part_len)
			continue;
		if (len + 1 + part_len >= sizeof(joined)) {
			va_end(ap);
			return -ENAMETOOLONG;
		}
		if (len)
			joined[len++] = '/';
		memcpy(joined + len, part, part_len + 1);
		len += part_len;
	}
	va_end(ap);
	if (!len) {
		if (out_size < 1)
			return -ENAMETOOLONG;
		out[0] = '\0';
		return 0;
	}
	return shim_path_clean(joined, out, out_size);
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LIBCRYPTO_VERSION STRINGIFY(OPENSSL_SHLIB_VERSION)

/* SHA-256 through OpenSSL's libcrypto, loaded only when needed: the serving
 * shim never hashes, and a libcrypto linked at start-up costs ~1.4 MiB of
 * private RSS (its relocated tables) in every shim process. */
static int sha256(const void *data, size_t len, unsigned char *digest, unsigned int *digest_len)
{
	typedef const EVP_MD *(*sha256_fn)(void);
	typedef int (*digest_fn)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *, ENGINE *);
	void *lib = dlopen("libcrypto.so." LIBCRYPTO_VERSION, RTLD_NOW | RTLD_LOCAL);
	*digest_len = 0;
	if (!lib)
		return -1;
	sha256_fn md = (sha256_fn)dlsym(lib, "EVP_sha256");
	digest_fn fn = (digest_fn)dlsym(lib, "EVP_Digest");
	int rc = md && fn && fn(data, len, digest, digest_len, md(), NULL) ? 0 : -1;
	if (rc)
		*digest_len = 1; /* loaded, but the digest failed */
	/* stays loaded: OpenSSL does not support being unloaded */
	return rc;
}

int shim_socket_address(const char *socket_dir, const char *containerd_address, const char *ns, const char *group_id,
			char *out, size_t out_size, struct shim_error *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	char hex[2 * 32 + 1];
	char key[PATH_MAX * 2];
	unsigned int digest_len = 0, i;
	int n;

	if (!ns || !ns[0])
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "namespace is required");
	if (!group_id || !group_id[0])
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "shim id is required");
	if (shim_path_join(key, sizeof(key), containerd_address ? containerd_address : "", ns, group_id, NULL) < 0)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "socket key too long");
	if (sha256(key, strlen(key), digest, &digest_len) != 0 || digest_len != 32)
		return shim_error_set(err, TTRPC_CODE_INTERNAL, -EIO, "sha256 of \"%s\" failed: %s", key,
				      digest_len ? "bad digest" : "libcrypto.so." LIBCRYPTO_VERSION " not loadable");
	for (i = 0; i < digest_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	n = snprintf(out, out_size, UNIX_PREFIX "%s/%s", socket_dir ? socket_dir : SHIM_SOCKET_DIR, hex);
	if (n < 0 || (size_t)n >= out_size ||
	    (size_t)n - strlen(UNIX_PREFIX) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "socket address too long: %s/%s",
				      socket_dir ? socket_dir : SHIM_SOCKET_DIR, hex);
	return 0;
}

const char *shim_address_path(const char *address)
{
	if (!address || strncmp(address, UNIX_PREFIX, strlen(UNIX_PREFIX)) != 0)
		return NULL;
	address += strlen(UNIX_PREFIX);
	return address[0] == '/' ? address : NULL;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int shim_address_write(const char *bundle, const char *address, struct shim_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(path, sizeof(path), "%s/address", bundle) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.address.XXXXXX", bundle) >= (int)sizeof(tmp))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "bundle path too long: %s",
				      bundle);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "create %s", tmp);
	ret = write_all(fd, address, strlen(address));
	if (!ret && fchmod(fd, 0644) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		return shim_error_errno(err, shim_error_code_from_errno(ret), -ret, "write %s", path);
	}
	return 0;
}

int shim_address_read(const char *bundle, char *out, size_t out_size, struct shim_error *err)
{
	char path[PATH_MAX];
	ssize_t n;
	size_t got = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/address", bundle) >= (int)sizeof(path))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "bundle path too long: %s",
				      bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "open %s", path);
	while (got + 1 < out_size && (n = read(fd, out + got, out_size - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			close(fd);
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "read %s", path);
		}
		got += (size_t)n;
	}
	close(fd);
	if (got + 1 >= out_size)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "%s: address too long", path);
	while (got && (out[got - 1] == '\n' || out[got - 1] == ' ' || out[got - 1] == '\r' || out[got - 1] == '\t'))
		got--;
	out[got] = '\0';
	return 0;
}

static int fill_sockaddr(const char *address, struct sockaddr_un *sun, struct shim_error *err)
{
	const char *path = shim_address_path(address);

	if (!path)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "address \"%s\" is not a unix:// socket path", address ? address : "");
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "socket path too long: %s",
				      path);
	strcpy(sun->sun_path, path);
	return 0;
}

bool shim_socket_can_connect(const char *address)
{
	struct sockaddr_un sun;
	bool ok;
	int fd;

	if (fill_sockaddr(address, &sun, NULL) < 0)
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* A listening unix socket completes connect() from its backlog without the
	 * server's help, so a blocking connect does not wait on a busy shim. */
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/* mkdir -p of dir's parents with 0711 and dir itself with 0700. */
static int make_socket_dir(const char *dir, struct shim_error *err)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(dir);

	if (len >= sizeof(buf))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "path too long: %s", dir);
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, i == len ? 0700 : 0711) < 0 && errno != EEXIST)
			return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "mkdir %s", buf);
		if (i < len)
			buf[i] = '/';
	}
	/* An existing directory must be as private as one we would make: a
	 * socket dir others can write to lets them plant a socket under a shim's
	 * name, which `start` would hand to containerd as that shim. */
	struct stat st;
	if (lstat(dir, &st) < 0)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOTDIR,
				      "socket directory %s is not a directory (a symlink?)", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EPERM,
				      "socket directory %s: owner uid %u mode %04o; it must be owned by uid %u and "
				      "writable by nobody else",
				      dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	return 0;
}

static int socket_dir_of(const char *address, char *dir, size_t dir_size, struct shim_error *err)
{
	const char *path = shim_address_path(address);
	const char *slash;

	if (!path)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "address \"%s\" is not a unix:// socket path", address ? address : "");
	slash = strrchr(path, '/');
	if ((size_t)(slash - path) + 1 > dir_size)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "path too long: %s", path);
	if (slash == path) {
		strcpy(dir, "/");
		return 0;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

int shim_socket_listen(const char *address, int *fd_out, struct shim_error *err)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX];
	int fd, ret;

	*fd_out = -1;
	ret = fill_sockaddr(address, &sun, err);
	if (ret < 0)
		return ret;
	ret = socket_dir_of(address, dir, sizeof(dir), err);
	if (ret < 0)
		return ret;
	ret = make_socket_dir(dir, err);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		return shim_error_errno(err, e == EADDRINUSE ? TTRPC_CODE_ALREADY_EXISTS : TTRPC_CODE_INTERNAL, e,
					"bind %s", sun.sun_path);
	}
	if (chmod(sun.sun_path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		close(fd);
		unlink(sun.sun_path);
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "listen %s", sun.sun_path);
	}
	*fd_out = fd;
	return 0;
}

int shim_socket_remove(const char *address, struct shim_error *err)
{
	const char *path = shim_address_path(address);

	if (!path)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "address \"%s\" is not a unix:// socket path", address ? address : "");
	if (unlink(path) < 0 && errno != ENOENT)
		return shim_error_errno(err, shim_error_code_from_errno(errno), errno, "remove %s", path);
	return 0;
}

int shim_socket_acquire(const char *address, int *fd_out, struct shim_error *err)
{
	char dir[PATH_MAX];
	int lock_fd, ret;

	*fd_out = -1;
	ret = socket_dir_of(address, dir, sizeof(dir), err);
	if (ret < 0)
		return ret;
	ret = make_socket_dir(dir, err);
	if (ret < 0)
		return ret;
	lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, errno, "open %s", dir);
	while (flock(lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(lock_fd);
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, e, "lock %s", dir);
		}
	}
	ret = shim_socket_listen(address, fd_out, err);
	if (ret == -EADDRINUSE) {
		if (shim_socket_can_connect(address)) {
			shim_error_clear(err);
			ret = 1;
		} else {
			ret = shim_socket_remove(address, err);
			if (ret == 0)
				ret = shim_socket_listen(address, fd_out, err);
			if (ret < 0)
				shim_error_wrap(err, ret, "replace stale socket");
		}
	}
	close(lock_fd); /* releases the lock */
	return ret;
}
