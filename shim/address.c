/* SPDX-License-Identifier: Apache-2.0 */
#include "address.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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

/* SHA-256 (FIPS 180-4), our own: the address is the only hash the shim
 * needs, and loading libcrypto for it cost `start` ~2 ms (its relocations and
 * openssl.cnf) and every shim that did ~400 KiB of private memory. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 =
			hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void shim_sha256(const void *data, size_t len, uint8_t digest[32])
{
	uint32_t h[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};
	const uint8_t *p = data;
	size_t left = len;
	for (; left >= 64; left -= 64, p += 64)
		sha256_block(h, p);
	uint8_t tail[128] = { 0 };
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tail_len = left + 9 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(h, tail);
	if (tail_len == 128)
		sha256_block(h, tail + 64);
	for (int i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(h[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
		digest[4 * i + 3] = (uint8_t)h[i];
	}
}

int shim_socket_address(const char *socket_dir, const char *containerd_address, const char *ns, const char *group_id,
			char *out, size_t out_size, struct shim_error *err)
{
	uint8_t digest[32];
	char hex[2 * 32 + 1];
	char key[PATH_MAX * 2];
	int n;

	if (!ns || !ns[0])
		return shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -EINVAL, "namespace is required");
	if (!group_id || !group_id[0])
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "shim id is required");
	if (shim_path_join(key, sizeof(key), containerd_address ? containerd_address : "", ns, group_id, NULL) < 0)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "socket key too long");
	shim_sha256(key, strlen(key), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
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
