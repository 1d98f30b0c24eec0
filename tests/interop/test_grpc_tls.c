/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC over TLS (ALPN h2) and mutual TLS: our client against our server
 * (ttrpc-grpc-c-server), python3-grpcio's (python_grpc_peer.py) and
 * grpc-go's (go/grpc-go-peer),
 * with certificates made for each test by make_test_certs.sh. Refusals: a
 * client without certificate under mutual TLS, a server certificate of
 * another CA or for another name, a peer without ALPN h2, unusable files;
 * a peer that never finishes its handshake does not stop the server. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ev.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ttrpc/client.h>
#include <ttrpc/grpc.h>
#include <ttrpc/server.h>
#include <unistd.h>

#include "interop_proc.h"

#define SVC "interop.Echo"

static struct interop_dir dir;
static char certs[128];
static struct interop_proc peer = { .pid = -1, .out_fd = -1 };
static int tls_port, mtls_port;

static char *cert(const char *name)
{
	static char paths[64][192]; /* more than one test uses */
	static int next;
	char *p = paths[next++ % 64];
	snprintf(p, sizeof(paths[0]), "%s/%s", certs, name);
	return p;
}

static void make_certs(void)
{
	cr_assert(interop_dir_make(&dir), "mkdtemp failed");
	snprintf(certs, sizeof(certs), "%s/certs", dir.dir);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir %s && bash %s %s", certs, TTRPC_INTEROP_MAKE_CERTS, certs);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static int port_after(const char *log, const char *key)
{
	const char *p = strstr(log, key);
	cr_assert_not_null(p, "no '%s' line in:\n%s", key, log);
	return atoi(p + strlen(key));
}

static void start_peer(char *const argv[])
{
	cr_assert(interop_spawn(&peer, argv, true), "cannot start %s", argv[0]);
	char log[4096] = "";
	cr_assert(interop_wait_ready(&peer, 20000, log, sizeof(log)), "%s did not get ready:\n%s", argv[0], log);
	tls_port = port_after(log, "\ntls-port ");
	mtls_port = port_after(log, "mtls-port ");
}

static void start_ours(void)
{
	make_certs();
	char ttrpc_sock[160], grpc_sock[160];
	snprintf(ttrpc_sock, sizeof(ttrpc_sock), "%s/ttrpc.sock", dir.dir);
	snprintf(grpc_sock, sizeof(grpc_sock), "%s/grpc.sock", dir.dir);
	char *argv[] = { TTRPC_INTEROP_BIN_DIR "/ttrpc-grpc-c-server",
			 "--socket",
			 ttrpc_sock,
			 "--grpc-socket",
			 grpc_sock,
			 "--tls-cert",
			 cert("server.pem"),
			 "--tls-key",
			 cert("server.key"),
			 "--tls-client-ca",
			 cert("ca.pem"),
			 "--grpc-tls",
			 "127.0.0.1:0",
			 "--grpc-mtls",
			 "127.0.0.1:0",
			 NULL };
	start_peer(argv);
}

static void start_python(void)
{
	make_certs();
	char *argv[] = {
		"/usr/bin/python3", TTRPC_INTEROP_PYTHON_PEER, "server", "--socket", dir.socket, "--certs", certs, NULL
	};
	start_peer(argv);
}

static void start_go(void)
{
	make_certs();
	char *argv[] = { TTRPC_INTEROP_GO_PEER, "server", "--socket", dir.socket, "--certs", certs, NULL };
	start_peer(argv);
}

static void stop_all(void)
{
	/* ours must shut down gracefully and exit 0 (a leak report in the ASan tree fails it) */
	bool had_peer = peer.pid > 0;
	int st = interop_stop(&peer, SIGTERM, 10000);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	cr_expect_eq(system(cmd), 0);
	interop_dir_remove(&dir);
	if (had_peer)
		cr_expect(st >= 0 && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) || WTERMSIG(st) == SIGTERM),
			  "peer status %#x", st);
}

TestSuite(tls_ours, .init = start_ours, .fini = stop_all, .timeout = 60);
TestSuite(tls_python, .init = start_python, .fini = stop_all, .timeout = 60);
TestSuite(tls_go, .init = start_go, .fini = stop_all, .timeout = 60);
TestSuite(tls_setup, .init = make_certs, .fini = stop_all, .timeout = 30);

static ttrpc_client *dial(int port, const struct ttrpc_grpc_tls *tls)
{
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	struct ttrpc_grpc_client_opts o = { .tls = tls };
	int err = 0;
	ttrpc_client *cl = ttrpc_client_connect_grpc(NULL, target, &o, &err);
	cr_assert_not_null(cl, "connect %s: %s %s", target, ttrpc_strerror(err), ttrpc_grpc_tls_error());
	return cl;
}

static int call(ttrpc_client *cl, const char *method, const void *req, size_t len, struct ttrpc_result *r)
{
	return ttrpc_client_call_sync(cl, SVC, method, req, len, NULL, r);
}

static void echo_works(int port, const struct ttrpc_grpc_tls *tls)
{
	ttrpc_client *cl = dial(port, tls);
	const size_t sizes[] = { 0, 1, 16384, 100000, 1 << 20, TTRPC_MAX_MESSAGE_SIZE };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *req = malloc(sizes[i] + 1);
		for (size_t j = 0; j < sizes[i]; j++)
			req[j] = (uint8_t)(j * 13 + i);
		struct ttrpc_result r;
		cr_assert_eq(call(cl, "Echo", req, sizes[i], &r), TTRPC_CODE_OK, "echo %zu: %d %s", sizes[i], r.code,
			     r.message);
		cr_assert_eq(r.len, sizes[i]);
		cr_assert(sizes[i] == 0 || memcmp(r.payload, req, sizes[i]) == 0, "echo %zu: bytes differ", sizes[i]);
		ttrpc_result_clear(&r);
		free(req);
	}
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Fail", "7:no entry", 10, &r), TTRPC_CODE_PERMISSION_DENIED, "%d %s", r.code, r.message);
	cr_assert_str_eq(r.message, "no entry");
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
}

/* The call fails UNAVAILABLE with a message naming the reason (or, when
 * why_too is set, that one: other servers send other alerts, grpcio's may
 * hang up without one). */
static void refused2(int port, const struct ttrpc_grpc_tls *tls, const char *why, const char *why_too)
{
	ttrpc_client *cl = dial(port, tls);
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Echo", "x", 1, &r), TTRPC_CODE_UNAVAILABLE, "%d %s", r.code, r.message);
	cr_assert(strstr(r.message, why) || (why_too && strstr(r.message, why_too)), "'%s' does not say '%s'",
		  r.message, why);
	ttrpc_result_clear(&r);
	cr_assert_not(ttrpc_client_connected(cl));
	ttrpc_client_free(cl);
}

static void refused(int port, const struct ttrpc_grpc_tls *tls, const char *why)
{
	refused2(port, tls, why, NULL);
}

static void tls_and_mtls(bool foreign)
{
	struct ttrpc_grpc_tls tls = { .ca_file = cert("ca.pem") };
	echo_works(tls_port, &tls);
	tls.server_name = "localhost"; /* DNS SAN instead of IP SAN */
	echo_works(tls_port, &tls);
	struct ttrpc_grpc_tls mtls = { .ca_file = cert("ca.pem"),
				       .cert_file = cert("client.pem"),
				       .key_file = cert("client.key") };
	echo_works(mtls_port, &mtls);
	/* without a client certificate: TLS 1.3 ends the handshake before the
	 * server has looked, so the refusal is the server's alert */
	refused2(mtls_port, &tls, "tls: tlsv13 alert certificate required", foreign ? "ttrpc: closed: tls: " : NULL);
	/* a server with a certificate of another CA, or for another name */
	struct ttrpc_grpc_tls wrong_ca = { .ca_file = cert("other-ca.pem") };
	refused(tls_port, &wrong_ca, "certificate verify failed");
	struct ttrpc_grpc_tls wrong_name = { .ca_file = cert("ca.pem"), .server_name = "example.com" };
	refused(tls_port, &wrong_name, "certificate verify failed");
	/* h2c against a TLS port: the server sees no TLS ClientHello */
	ttrpc_client *cl = dial(tls_port, NULL);
	struct ttrpc_result r;
	cr_assert_eq(call(cl, "Echo", "x", 1, &r), TTRPC_CODE_UNAVAILABLE, "%d %s", r.code, r.message);
	ttrpc_result_clear(&r);
	ttrpc_client_free(cl);
	/* still serving */
	echo_works(mtls_port, &mtls);
}

Test(tls_ours, tls_mtls_and_refusals)
{
	tls_and_mtls(false);
}

Test(tls_python, tls_mtls_and_refusals)
{
	tls_and_mtls(true);
}

Test(tls_go, tls_mtls_and_refusals)
{
	tls_and_mtls(true);
}

/* A raw TLS client of our server, blocking: alpn NULL offers none. Returns
 * SSL_connect's result; the connection is closed. */
static int raw_handshake(int port, const char *alpn, bool *server_hung_up)
{
	/* this raw client's writes may meet a closed socket: EPIPE, not SIGPIPE
	 * (blocked here only, so a SIGPIPE from the library still fails a test) */
	sigset_t pipe, old;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, cert("ca.pem"), NULL);
	if (alpn) {
		unsigned char wire[32] = { (unsigned char)strlen(alpn) };
		memcpy(wire + 1, alpn, strlen(alpn));
		SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)strlen(alpn) + 1);
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	int rc = SSL_connect(ssl);
	if (rc == 1) {
		char buf[64];
		/* the server hangs up instead of speaking HTTP/2 */
		*server_hung_up = SSL_read(ssl, buf, sizeof(buf)) <= 0;
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

Test(tls_ours, alpn_h2_required_of_clients)
{
	bool hung_up = false;
	cr_assert_neq(raw_handshake(tls_port, "http/1.1", &hung_up), 1, "a client offering only http/1.1 got in");
	hung_up = false;
	int rc = raw_handshake(tls_port, NULL, &hung_up);
	cr_assert(rc != 1 || hung_up, "a client offering no ALPN was served");
	hung_up = false;
	cr_assert_eq(raw_handshake(tls_port, "h2", &hung_up), 1, "h2 offered but refused");
	/* it got our SETTINGS, not a hang-up */
	cr_assert_not(hung_up);
	struct ttrpc_grpc_tls tls = { .ca_file = cert("ca.pem") };
	echo_works(tls_port, &tls);
}

Test(tls_ours, stalled_handshake_blocks_nobody)
{
	int fds[8];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tls_port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	for (int i = 0; i < 8; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert_eq(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	/* half a ClientHello on one: the server waits for the rest on its loop */
	cr_assert_eq(write(fds[0], "\x16\x03\x01\x02\x00\x01", 6), 6);
	long long t0 = interop_now_ms();
	struct ttrpc_grpc_tls tls = { .ca_file = cert("ca.pem") };
	echo_works(tls_port, &tls);
	cr_assert(interop_now_ms() - t0 < 5000);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
}

/* ---- a TLS server that negotiates no ALPN, for our client */

struct plain_tls_server {
	int lfd, port;
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct plain_tls_server *s = arg;
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL); /* its session tickets may meet a closed socket */
	int fd = accept(s->lfd, NULL, NULL);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate_chain_file(ctx, cert("server.pem"));
	SSL_CTX_use_PrivateKey_file(ctx, cert("server.key"), SSL_FILETYPE_PEM);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		char buf[256];
		while (SSL_read(ssl, buf, sizeof(buf)) > 0) /* until the client hangs up */
			;
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return NULL;
}

Test(tls_setup, client_requires_alpn_h2)
{
	struct plain_tls_server s = { .lfd = socket(AF_INET, SOCK_STREAM, 0) };
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s.lfd, 1), 0);
	getsockname(s.lfd, (struct sockaddr *)&a, &len);
	s.port = ntohs(a.sin_port);
	pthread_create(&s.thread, NULL, serve_one, &s);
	struct ttrpc_grpc_tls tls = { .ca_file = cert("ca.pem") };
	refused(s.port, &tls, "ALPN");
	pthread_join(s.thread, NULL);
	close(s.lfd);
}

Test(tls_setup, unusable_files_are_refused_with_the_reason)
{
	int err = 0;
	struct ttrpc_grpc_tls tls = { .ca_file = cert("ca.pem"),
				      .cert_file = cert("nope.pem"),
				      .key_file = cert("client.key") };
	/* nothing listens on port 1: the files are checked before dialling */
	cr_assert_null(
		ttrpc_client_connect_grpc(NULL, "127.0.0.1:1", &(struct ttrpc_grpc_client_opts){ .tls = &tls }, &err));
	cr_assert_eq(err, TTRPC_ETLS);
	cr_assert(strstr(ttrpc_grpc_tls_error(), "nope.pem"), "%s", ttrpc_grpc_tls_error());
	tls = (struct ttrpc_grpc_tls){ .ca_file = cert("client.key") }; /* not a certificate */
	cr_assert_null(
		ttrpc_client_connect_grpc(NULL, "127.0.0.1:1", &(struct ttrpc_grpc_client_opts){ .tls = &tls }, &err));
	cr_assert_eq(err, TTRPC_ETLS);
	cr_assert(strstr(ttrpc_grpc_tls_error(), "CA file"), "%s", ttrpc_grpc_tls_error());
	tls = (struct ttrpc_grpc_tls){ .cert_file = cert("client.pem") }; /* no key */
	cr_assert_null(
		ttrpc_client_connect_grpc(NULL, "127.0.0.1:1", &(struct ttrpc_grpc_client_opts){ .tls = &tls }, &err));
	cr_assert_eq(err, TTRPC_EINVAL);

	struct ev_loop *loop = ev_loop_new(0);
	ttrpc_server *srv = ttrpc_server_new(loop);
	/* key of another certificate */
	tls = (struct ttrpc_grpc_tls){ .cert_file = cert("server.pem"), .key_file = cert("client.key") };
	cr_assert_eq(ttrpc_server_listen_grpc_tls(srv, "127.0.0.1:0", &tls, NULL), TTRPC_ETLS);
	cr_assert(strstr(ttrpc_grpc_tls_error(), "mismatch"), "%s", ttrpc_grpc_tls_error());
	tls = (struct ttrpc_grpc_tls){ .cert_file = cert("ca.key"), .key_file = cert("ca.key") };
	cr_assert_eq(ttrpc_server_listen_grpc_tls(srv, "127.0.0.1:0", &tls, NULL), TTRPC_ETLS);
	cr_assert(strstr(ttrpc_grpc_tls_error(), "certificate"), "%s", ttrpc_grpc_tls_error());
	tls = (struct ttrpc_grpc_tls){ .ca_file = cert("ca.pem") }; /* no certificate of its own */
	cr_assert_eq(ttrpc_server_listen_grpc_tls(srv, "127.0.0.1:0", &tls, NULL), TTRPC_EINVAL);
	cr_assert_eq(ttrpc_server_listen_grpc_tls(srv, "127.0.0.1:0", NULL, NULL), TTRPC_EINVAL);
	tls = (struct ttrpc_grpc_tls){ .cert_file = cert("server.pem"), .key_file = cert("server.key") };
	int port = 0;
	cr_assert_eq(ttrpc_server_listen_grpc_tls(srv, "127.0.0.1:0", &tls, &port), 0);
	cr_assert_gt(port, 0);
	ttrpc_server_free(srv);
	ev_loop_destroy(loop);
}
