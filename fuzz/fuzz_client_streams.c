/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes from a server into a client (client.c and
 * client_stream.c over a socketpair, the client's private loop) that has
 * streams of every kind open (1 server-stream, 3 client-stream, 5 bidi, 9
 * bidi paused from the start, 11 server-stream) and a unary call (7), with a
 * small receive bound (512 bytes) and message limit (4096). Input: one seed
 * byte, then the byte stream; the peer then closes. From on_msg, the seed and
 * the message's first byte choose what the callback does to the client:
 * cancel its stream, pause it, resume every other, send a message back,
 * close its send side, or close the client. Checks: every stream's on_done and
 * the call's done run exactly once (also when the connection goes), no
 * message after on_done, nothing left pending. */
#include <ev.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/stream.h>
#include <ttrpc/ttrpc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NST 5

static struct {
	ttrpc_client *cl;
	ttrpc_stream *st[NST]; /* NULL once done */
	int done[NST];
	int unary_done;
	uint8_t seed;
} f;

static volatile size_t sink;

static void touch(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sink += p[i];
}

static void on_msg(ttrpc_stream *st, const uint8_t *msg, size_t len, void *user)
{
	int i = (int)(intptr_t)user;
	if (f.st[i] != st || f.done[i])
		__builtin_trap(); /* a message after on_done, or for another stream */
	touch(msg, len);
	switch ((f.seed + (len ? msg[0] : 0)) % 8) {
	case 0:
		ttrpc_stream_cancel(st);
		if (!f.done[i])
			__builtin_trap(); /* on_done runs inside cancel */
		break;
	case 1:
		ttrpc_stream_pause(st, true);
		break;
	case 2:
		for (int k = 0; k < NST; k++)
			if (k != i && f.st[k])
				ttrpc_stream_pause(f.st[k], false);
		break;
	case 3:
		ttrpc_stream_send(st, msg, len);
		break;
	case 4:
		ttrpc_stream_close_send(st);
		break;
	case 5:
		if (len > 1 && msg[1] == 'C')
			ttrpc_client_close(f.cl);
		break;
	default:
		break;
	}
}

static void on_done(ttrpc_stream *st, const struct ttrpc_result *r, void *user)
{
	int i = (int)(intptr_t)user;
	if (f.st[i] != st || f.done[i]++)
		__builtin_trap(); /* a second on_done */
	f.st[i] = NULL;
	sink += strlen(r->message);
	touch(r->payload, r->len);
}

static void unary_done(const struct ttrpc_result *r, void *user)
{
	(void)user;
	if (f.unary_done++)
		__builtin_trap();
	sink += strlen(r->message);
	touch(r->payload, r->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	f.seed = data[0];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	f.cl = ttrpc_client_adopt(NULL, sv[0], NULL);
	if (!f.cl)
		__builtin_trap();
	struct ev_loop *loop = ttrpc_client_loop(f.cl);
	ttrpc_client_set_stream_buffer(f.cl, 512);
	ttrpc_client_set_max_message(f.cl, 4096);
	static const enum ttrpc_stream_kind kinds[NST] = { TTRPC_KIND_SERVER_STREAM, TTRPC_KIND_CLIENT_STREAM,
							   TTRPC_KIND_BIDI_STREAM, TTRPC_KIND_BIDI_STREAM,
							   TTRPC_KIND_SERVER_STREAM };
	struct ttrpc_stream_cbs cbs = { .on_msg = on_msg, .on_done = on_done };
	for (int i = 0; i < NST; i++) {
		if (i == 3 && ttrpc_client_call(f.cl, "s", "u", (const uint8_t *)"u", 1, NULL, unary_done, NULL))
			__builtin_trap(); /* stream 7 */
		int srv = kinds[i] == TTRPC_KIND_SERVER_STREAM;
		if (ttrpc_client_stream_open(f.cl, "s", "m", kinds[i], srv ? (const uint8_t *)"r" : NULL, srv, NULL,
					     &cbs, (void *)(intptr_t)i, &f.st[i]))
			__builtin_trap();
	}
	ttrpc_stream_pause(f.st[3], true); /* stream 9 */
	ttrpc_stream_send(f.st[1], (const uint8_t *)"up", 2);

	/* the peer: write the input, read and drop what the client sends, close */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	size_t off = 1;
	uint8_t junk[4096];
	for (int spins = 0; off < size && spins < 100000; spins++) {
		ssize_t w = write(sv[1], data + off, size - off);
		if (w > 0)
			off += (size_t)w;
		while (read(sv[1], junk, sizeof(junk)) > 0)
			;
		ev_run(loop, EVRUN_NOWAIT);
	}
	shutdown(sv[1], SHUT_WR);
	for (int spins = 0; spins < 100000 && (ttrpc_client_pending(f.cl) || f.unary_done == 0); spins++) {
		while (read(sv[1], junk, sizeof(junk)) > 0)
			;
		ev_run(loop, EVRUN_NOWAIT);
	}
	if (f.unary_done != 1 || ttrpc_client_pending(f.cl))
		__builtin_trap();
	/* streams paused behind held messages end at the latest now */
	ttrpc_client_free(f.cl);
	for (int i = 0; i < NST; i++)
		if (f.done[i] != 1)
			__builtin_trap(); /* a stream never ended */
	close(sv[1]);
	return 0;
}
