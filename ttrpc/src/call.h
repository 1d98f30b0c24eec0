/* SPDX-License-Identifier: Apache-2.0 */
/* The transport-neutral server call core: the method registry (unary and
 * streaming), interceptors, limits, and the life of one ttrpc_call (open,
 * deliver, close-send, send, finish, orphan). A transport (ttrpc's session in
 * server.c, later gRPC) owns the wire: it creates calls with
 * ttrpc__call_open, feeds them with ttrpc__call_deliver /
 * ttrpc__call_close_send / ttrpc__call_writable / ttrpc__call_orphan, and
 * implements ttrpc__call_ops for what a handler sends. */
#ifndef TTRPC_CALL_H
#define TTRPC_CALL_H

#include <stdbool.h>
#include <sys/socket.h>

#include <ttrpc/server.h>
#include <ttrpc/stream.h>

#include "md.h"

struct ttrpc__method {
	char *service;
	char *method;
	enum ttrpc_stream_kind kind;
	ttrpc_handler_fn fn;		/* UNARY */
	struct ttrpc_stream_handler sh; /* the streaming kinds */
	void *user;
};

struct ttrpc__registry {
	size_t refs; /* the server and each call: calls may outlive the server */
	struct ttrpc__method *methods;
	size_t n_methods;
	struct ttrpc_server_interceptor *ics;
	size_t n_ics;
	size_t stream_buffer; /* per-stream receive bound, bytes */
	uint32_t max_message; /* largest message taken and sent */
	ttrpc_log_fn log;
	void *log_user;
};

/* New registry with one reference; NULL when out of memory. */
struct ttrpc__registry *ttrpc__registry_new(void);
void ttrpc__registry_unref(struct ttrpc__registry *r);
/* TTRPC_EEXIST when the pair is taken (by either kind). */
int ttrpc__registry_add(struct ttrpc__registry *r, const char *service, const char *method,
			const struct ttrpc__method *m);
const struct ttrpc__method *ttrpc__registry_lookup(const struct ttrpc__registry *r, const char *service,
						   const char *method);
bool ttrpc__registry_has_service(const struct ttrpc__registry *r, const char *service);

/* What the core asks of the transport for one call. */
struct ttrpc__call_ops {
	/* Queue one message of a server or bidi stream. 0, TTRPC_ETOOBIG,
	 * TTRPC_ENOMEM. */
	int (*send)(ttrpc_call *call, const uint8_t *msg, size_t len);
	/* The call's end on the wire: for unary and client-streaming calls the
	 * response (payload when code is OK); for server/bidi streams, OK ends
	 * the stream, another code carries the status. The transport forgets
	 * the call. 0, TTRPC_ETOOBIG (the status replaced the payload). */
	int (*finish)(ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len);
	/* true while the call's unsent output is at or over the send window. */
	bool (*congested)(const ttrpc_call *call);
	/* The call waits for ttrpc__call_writable (optional). */
	void (*want_writable)(ttrpc_call *call);
	/* The call is not paused and holds no message: the handler took all it
	 * was given (optional; the transport may let the peer send more). */
	void (*drained)(ttrpc_call *call);
};

struct ttrpc__held; /* a message received while paused */

struct ttrpc_call {
	const struct ttrpc__call_ops *ops;
	void *tp;		      /* the transport's connection; NULL once orphaned */
	uint32_t stream_id;	      /* the transport's id of the call */
	uint64_t tp_mark;	      /* transport's use (ttrpc: end of the last frame queued) */
	struct ttrpc__registry *reg;  /* referenced */
	bool known;		      /* m below is the method's copy */
	bool service_cut, method_cut; /* see ttrpc__call_info */
	struct ttrpc__method m;	      /* names not copied (NULL) */
	char *service, *method;	      /* one allocation */
	struct ttrpc_md md;
	int64_t deadline_ns, start_ns;
	struct ucred cred;
	bool have_cred;
	enum ttrpc_stream_kind kind;
	void *user;
	bool remote_closed; /* no more messages from the peer */
	bool close_pending; /* on_close_send still to run (after held messages) */
	bool finished;	    /* the handler ended the call */
	bool paused;
	bool want_writable;
	int depth; /* callbacks of this call running */
	struct ttrpc__held *head, *tail;
	size_t held_bytes;
	size_t n_before; /* interceptors whose before ran */
	int final_code;
	void (*on_orphan)(ttrpc_call *call, void *user);
	void *orphan_user;
	ttrpc_call *orphan_next; /* transport's list while orphaning */
};

/* What the transport knows of a new call. */
struct ttrpc__call_info {
	const char *service, *method;
	bool service_cut, method_cut; /* the wire name held a NUL: it names no method */
	int64_t timeout_ns;	      /* 0: none */
	const struct ucred *cred;     /* NULL: unknown */
};

/* A new call (NULL when out of memory: the transport answers
 * RESOURCE_EXHAUSTED itself). Metadata is then added to call->md by the
 * transport, and ttrpc__call_start runs interceptors and the handler. */
ttrpc_call *ttrpc__call_new(struct ttrpc__registry *reg, const struct ttrpc__call_ops *ops, void *tp,
			    uint32_t stream_id, const struct ttrpc__call_info *info);
/* Look the method up, run interceptors, open the handler. payload is the
 * request (unary, server-streaming) or, when has_payload, a first message of
 * a client or bidi stream. The call may be finished and freed on return. */
void ttrpc__call_start(ttrpc_call *call, const uint8_t *payload, size_t len, bool has_payload);
/* One message from the peer. 0; TTRPC_ESTATE after close-send; TTRPC_ETOOBIG
 * over the receive bound (the transport then fails the stream and orphans
 * the call). Ignored (0) for unary and server-streaming calls. */
int ttrpc__call_deliver(ttrpc_call *call, const uint8_t *msg, size_t len);
/* The peer closed its sending side. */
void ttrpc__call_close_send(ttrpc_call *call);
/* The send window drained (after want_writable). */
void ttrpc__call_writable(ttrpc_call *call);
/* The transport lost the call (peer gone, stream failed): detach it now;
 * code is the status the call ended with for interceptors. Returns true when
 * an orphan hook must run: then call ttrpc__call_run_orphan (possibly later,
 * once the transport is consistent again). */
bool ttrpc__call_detach(ttrpc_call *call, int code);
void ttrpc__call_run_orphan(ttrpc_call *call);

#endif
