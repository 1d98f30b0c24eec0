/* SPDX-License-Identifier: Apache-2.0 */
#include "gen.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "sb.h"

struct method {
	const char *name;    /* proto name, the wire method name */
	char *member;	     /* handler struct member */
	char *fn;	     /* <prefix>_<snake> base of its functions */
	char *upper;	     /* upper-case snake name for the constant */
	const char *in_full; /* ".pkg.Msg" */
	const char *out_full;
	char *in_type; /* C type names of the backend */
	char *out_type;
	char *in_desc; /* protobuf-c descriptor / nanopb fields macro */
	char *out_desc;
	bool streaming;
	bool client_streaming;
	bool server_streaming;
};

struct service {
	const char *name;
	char *wire;   /* "package.Service" */
	char *prefix; /* "package_service" */
	char *upper;
	struct method *methods;
	size_t n_methods;
	size_t n_unary;
};

struct gen {
	enum gen_backend backend;
	const Google__Protobuf__FileDescriptorProto *file;
	struct service *services;
	size_t n_services;
	char **idents; /* every identifier the output declares, to catch collisions */
	size_t n_idents;
	char *err;
};

static void fail(struct gen *g, char *msg)
{
	if (g->err)
		free(msg);
	else
		g->err = msg;
}

/* Record an identifier of the output; two equal ones are an error. */
static void claim(struct gen *g, char *ident)
{
	size_t i;

	for (i = 0; i < g->n_idents; i++) {
		if (strcmp(g->idents[i], ident) == 0) {
			fail(g, xasprintf("%s: generated identifier '%s' would be defined twice; rename a service or "
					  "method",
					  g->file->name, ident));
			free(ident);
			return;
		}
	}
	if (g->n_idents % 32 == 0) {
		char **p = realloc(g->idents, (g->n_idents + 32) * sizeof(*p));

		if (!p)
			abort();
		g->idents = p;
	}
	g->idents[g->n_idents++] = ident;
}

static char *type_name(const struct gen *g, const char *full)
{
	return g->backend == GEN_BACKEND_NANOPB ? names_nanopb_type(full) : names_pbc_type(full);
}

static char *desc_name(const struct gen *g, const char *full)
{
	char *base, *s;

	if (g->backend == GEN_BACKEND_NANOPB) {
		base = names_nanopb_type(full);
		s = xasprintf("%s_fields", base);
	} else {
		base = names_pbc_lower(full);
		s = xasprintf("%s__descriptor", base);
	}
	free(base);
	return s;
}

/* The identifiers of a streaming method's stubs. */
static void claim_stream(struct gen *g, const struct method *m)
{
	static const char *const common[] = { "_stream_handlers", "_stream_cbs", "_open",     "_open_sync",
					      "__open",		  "__handler",	 "__on_done", "__cbs" };
	static const char *const sends[] = { "_send", "__writable", "_stream_recv_sync", "__on_msg" };
	static const char *const receives[] = { "_stream_send", "_stream_send_sync", "__msg", "__close_send",
						"__on_writable" };
	size_t i;

	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		claim(g, xasprintf("%s%s", m->fn, common[i]));
	for (i = 0; m->server_streaming && i < sizeof(sends) / sizeof(sends[0]); i++)
		claim(g, xasprintf("%s%s", m->fn, sends[i]));
	for (i = 0; m->client_streaming && i < sizeof(receives) / sizeof(receives[0]); i++)
		claim(g, xasprintf("%s%s", m->fn, receives[i]));
	if (!m->server_streaming) {
		claim(g, xasprintf("%s_respond", m->fn));
		claim(g, xasprintf("%s_stream_finish_sync", m->fn));
	}
}

static void method_init(struct gen *g, struct service *svc, struct method *m,
			const Google__Protobuf__MethodDescriptorProto *md)
{
	char *snake;

	m->name = md->name;
	if (!md->name || !names_is_ident(md->name) || !md->input_type || !md->output_type || md->input_type[0] != '.' ||
	    md->output_type[0] != '.') {
		fail(g, xasprintf("%s: service %s: method '%s' has no valid name or fully-qualified types",
				  g->file->name, svc->wire, md->name ? md->name : ""));
		return;
	}
	snake = names_snake(md->name);
	m->member = names_member(snake);
	m->fn = xasprintf("%s_%s", svc->prefix, snake);
	m->upper = names_upper(snake);
	free(snake);
	m->in_full = md->input_type;
	m->out_full = md->output_type;
	m->in_type = type_name(g, m->in_full);
	m->out_type = type_name(g, m->out_full);
	m->in_desc = desc_name(g, m->in_full);
	m->out_desc = desc_name(g, m->out_full);
	m->client_streaming = md->has_client_streaming && md->client_streaming;
	m->server_streaming = md->has_server_streaming && md->server_streaming;
	m->streaming = m->client_streaming || m->server_streaming;
	if (!m->streaming)
		svc->n_unary++;

	claim(g, xasprintf("%s_METHOD_%s", svc->upper, m->upper));
	claim(g, xasprintf("%s.%s", svc->prefix, m->member)); /* member names within the service */
	if (m->streaming) {
		claim_stream(g, m);
		return;
	}
	claim(g, xasprintf("%s_respond", m->fn));
	claim(g, xasprintf("%s_done_fn", m->fn));
	claim(g, xasprintf("%s_call", m->fn));
	claim(g, xasprintf("%s_call_sync", m->fn));
	claim(g, xasprintf("%s__dispatch", m->fn));
	claim(g, xasprintf("%s__done", m->fn));
}

static void service_init(struct gen *g, struct service *svc, const Google__Protobuf__ServiceDescriptorProto *sd)
{
	const char *pkg = g->file->package ? g->file->package : "";
	size_t i;

	svc->name = sd->name;
	if (!sd->name || !names_is_ident(sd->name)) {
		fail(g, xasprintf("%s: a service has no valid name", g->file->name));
		return;
	}
	svc->wire = *pkg ? xasprintf("%s.%s", pkg, sd->name) : xstrdup(sd->name);
	svc->prefix = names_prefix(pkg, sd->name);
	svc->upper = names_upper(svc->prefix);
	claim(g, xasprintf("%s_SERVICE", svc->upper));
	claim(g, xasprintf("%s_handlers", svc->prefix));
	claim(g, xasprintf("%s_service", svc->prefix));
	claim(g, xasprintf("%s_register", svc->prefix));
	svc->methods = calloc(sd->n_method ? sd->n_method : 1, sizeof(*svc->methods));
	if (!svc->methods)
		abort();
	svc->n_methods = sd->n_method;
	for (i = 0; i < sd->n_method; i++)
		method_init(g, svc, &svc->methods[i], sd->method[i]);
}

static void gen_free(struct gen *g)
{
	size_t i, j;

	for (i = 0; i < g->n_services; i++) {
		struct service *svc = &g->services[i];

		for (j = 0; j < svc->n_methods; j++) {
			struct method *m = &svc->methods[j];

			free(m->member);
			free(m->fn);
			free(m->upper);
			free(m->in_type);
			free(m->out_type);
			free(m->in_desc);
			free(m->out_desc);
		}
		free(svc->methods);
		free(svc->wire);
		free(svc->prefix);
		free(svc->upper);
	}
	free(g->services);
	for (i = 0; i < g->n_idents; i++)
		free(g->idents[i]);
	free(g->idents);
}

static const char *streaming_kind(const struct method *m)
{
	if (m->client_streaming && m->server_streaming)
		return "bidirectional streaming";
	return m->client_streaming ? "client streaming" : "server streaming";
}

static void emit_rpc_comment(struct sb *out, const char *indent, const struct method *m)
{
	sb_printf(out, "%s/* rpc %s(%s%s) returns (%s%s) */\n", indent, m->name, m->client_streaming ? "stream " : "",
		  m->in_full + 1, m->server_streaming ? "stream " : "", m->out_full + 1);
}

/* The typed server handlers of one streaming method (a member of the
 * service's handler table). */
static void emit_header_stream_handlers(struct sb *h, const struct method *m)
{
	emit_rpc_comment(h, "", m);
	sb_printf(h,
		  "/* Server side of %s (%s).\n"
		  " * The handlers run from the loop; call stays valid until it is\n"
		  " * finished exactly once: %s.\n"
		  " * A NULL on_open answers UNIMPLEMENTED. */\n"
		  "struct %s_stream_handlers {\n",
		  m->name, streaming_kind(m),
		  m->server_streaming ? "send with _send, end with ttrpc_call_finish()" :
					"answer with _respond or\n * ttrpc_call_respond_error()",
		  m->fn);
	if (m->client_streaming) {
		sb_puts(h, "\t/* The stream opened; messages follow through on_msg. */\n"
			   "\tvoid (*on_open)(ttrpc_call *call, void *user);\n");
		sb_printf(h,
			  "\t/* One decoded message (valid during the callback); NULL when it did\n"
			  "\t * not decode (finish the call, e.g. INVALID_ARGUMENT, or go on). */\n"
			  "\tvoid (*on_msg)(ttrpc_call *call, const %s *msg, void *user);\n"
			  "\t/* The client closed its side: no more on_msg. */\n"
			  "\tvoid (*on_close_send)(ttrpc_call *call, void *user);\n",
			  m->in_type);
	} else {
		sb_printf(h,
			  "\t/* The stream opened with the decoded request (valid during the\n"
			  "\t * callback); one that does not decode is answered INVALID_ARGUMENT. */\n"
			  "\tvoid (*on_open)(ttrpc_call *call, const %s *req, void *user);\n",
			  m->in_type);
	}
	if (m->server_streaming)
		sb_puts(h, "\t/* _send may send again after it returned TTRPC_EAGAIN. Optional. */\n"
			   "\tvoid (*on_writable)(ttrpc_call *call, void *user);\n");
	sb_puts(h, "};\n\n");
}

/* The functions of one streaming method: server send/respond, client open,
 * send, receive, finish. */
static void emit_header_stream_funcs(const struct gen *g, struct sb *h, const struct method *m)
{
	bool pbc = g->backend == GEN_BACKEND_PROTOBUF_C;
	const char *ptr = pbc ? "*" : "";

	emit_rpc_comment(h, "", m);
	if (m->server_streaming)
		sb_printf(h,
			  "/* Send msg (NULL: the empty message) on the stream; ttrpc_call_send()'s\n"
			  " * codes (TTRPC_EAGAIN: wait for on_writable) or the encoder's. */\n"
			  "int %s_send(ttrpc_call *call, const %s *msg);\n",
			  m->fn, m->out_type);
	else
		sb_printf(h,
			  "/* Answer the stream with resp (NULL: the empty message); frees the call.\n"
			  " * As the unary _respond functions. */\n"
			  "int %s_respond(ttrpc_call *call, const %s *resp);\n",
			  m->fn, m->out_type);
	sb_printf(h,
		  "/* Client side: the callbacks of one stream, from the client's loop. The\n"
		  " * table is not copied: it stays valid until on_done returned. */\n"
		  "struct %s_stream_cbs {\n",
		  m->fn);
	if (m->server_streaming)
		sb_printf(h,
			  "\t/* One decoded message (valid during the callback); NULL when it did\n"
			  "\t * not decode. */\n"
			  "\tvoid (*on_msg)(ttrpc_stream *st, const %s *msg, void *user);\n",
			  m->out_type);
	if (m->server_streaming)
		sb_puts(h, "\t/* The end, exactly once (status: see struct ttrpc_stream_cbs); the stream\n"
			   "\t * is freed when this returns. */\n"
			   "\tvoid (*on_done)(ttrpc_stream *st, const struct ttrpc_result *status, void *user);\n");
	else
		sb_printf(h,
			  "\t/* The end, exactly once: resp is the decoded response when\n"
			  "\t * status->code is TTRPC_CODE_OK, else NULL (both valid during the\n"
			  "\t * callback); the stream is freed when this returns. */\n"
			  "\tvoid (*on_done)(ttrpc_stream *st, const struct ttrpc_result *status, const %s *resp,\n"
			  "\t\t\tvoid *user);\n",
			  m->out_type);
	if (m->client_streaming)
		sb_puts(h, "\t/* _stream_send may send again after TTRPC_EAGAIN. Optional. */\n"
			   "\tvoid (*on_writable)(ttrpc_stream *st, void *user);\n");
	sb_puts(h, "};\n");
	sb_printf(h,
		  "/* Open a stream%s; as ttrpc_client_stream_open(): 0 or a\n"
		  " * TTRPC_E* code (then no callback runs). out may be NULL. */\n"
		  "int %s_open(ttrpc_client *client, ",
		  m->server_streaming && !m->client_streaming ? " with req (NULL: the empty message)" : "", m->fn);
	if (!m->client_streaming)
		sb_printf(h, "const %s *req, ", m->in_type);
	sb_printf(h,
		  "const struct ttrpc_call_opts *opts,\n"
		  "\t\tconst struct %s_stream_cbs *cbs, void *user, ttrpc_stream **out);\n",
		  m->fn);
	if (m->client_streaming)
		sb_printf(h,
			  "/* Send msg (NULL: the empty message); ttrpc_stream_send()'s codes. Close\n"
			  " * the sending side with ttrpc_stream_close_send(). */\n"
			  "int %s_stream_send(ttrpc_stream *st, const %s *msg);\n",
			  m->fn, m->in_type);
	sb_printf(h,
		  "/* Blocking variants (not from a callback of the client's loop). */\n"
		  "int %s_open_sync(ttrpc_client *client, ",
		  m->fn);
	if (!m->client_streaming)
		sb_printf(h, "const %s *req, ", m->in_type);
	sb_puts(h, "const struct ttrpc_call_opts *opts,\n\t\tttrpc_stream **out);\n");
	if (m->client_streaming)
		sb_printf(h, "int %s_stream_send_sync(ttrpc_stream *st, const %s *msg);\n", m->fn, m->in_type);
	if (m->server_streaming)
		sb_printf(h,
			  "/* 1 with the next message in *msg%s, 0 at the end\n"
			  " * (OK), or a TTRPC_E* code (TTRPC_ECLOSED: an error status; TTRPC_EPROTO:\n"
			  " * it did not decode). ttrpc_stream_finish_sync() ends and frees it. */\n"
			  "int %s_stream_recv_sync(ttrpc_stream *st, %s %s*msg);\n",
			  pbc ? " (free with protobuf_c_message_free_unpacked)" : " (initialized by the caller)", m->fn,
			  m->out_type, ptr);
	else
		sb_printf(h,
			  "/* Wait for the end and free the stream; the response as for the unary\n"
			  " * _call_sync functions. Returns the status code. */\n"
			  "int %s_stream_finish_sync(ttrpc_stream *st, %s %s*resp, struct ttrpc_result *status);\n",
			  m->fn, m->out_type, ptr);
	sb_puts(h, "\n");
}

/* The declarations of one service in the header. */
static void emit_header_service(const struct gen *g, struct sb *h, const struct service *svc)
{
	bool pbc = g->backend == GEN_BACKEND_PROTOBUF_C;
	size_t i;

	sb_printf(h, "/* ---- service %s ---- */\n\n", svc->wire);
	sb_printf(h, "#define %s_SERVICE \"%s\"\n", svc->upper, svc->wire);
	for (i = 0; i < svc->n_methods; i++)
		sb_printf(h, "#define %s_METHOD_%s \"%s\"\n", svc->upper, svc->methods[i].upper, svc->methods[i].name);
	sb_puts(h, "\n");
	if (!svc->n_methods)
		return;
	for (i = 0; i < svc->n_methods; i++)
		if (svc->methods[i].streaming)
			emit_header_stream_handlers(h, &svc->methods[i]);

	sb_printf(h,
		  "/* Server side. Each handler gets the call and the decoded request, which\n"
		  " * is valid only until the handler returns (copy what a later answer\n"
		  " * needs). The handler answers the call exactly once, now or from a later\n"
		  " * loop iteration, with the method's _respond function or with\n"
		  " * ttrpc_call_respond_error(). A NULL handler answers UNIMPLEMENTED; a\n"
		  " * request that cannot be decoded is answered INVALID_ARGUMENT.%s */\n"
		  "struct %s_handlers {\n",
		  svc->n_unary < svc->n_methods ? "\n * Streaming methods have a table of handlers each (see above)." :
						  "",
		  svc->prefix);
	for (i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		emit_rpc_comment(h, "\t", m);
		if (m->streaming)
			sb_printf(h, "\tstruct %s_stream_handlers %s;\n", m->fn, m->member);
		else
			sb_printf(h, "\tvoid (*%s)(ttrpc_call *call, const %s *req, void *user);\n", m->member,
				  m->in_type);
	}
	sb_puts(h, "};\n\n");
	sb_printf(h,
		  "/* One registration of the service: the handler table (not copied) and\n"
		  " * the user pointer passed to every handler. Both must stay valid while\n"
		  " * the server may dispatch calls. */\n"
		  "struct %s_service {\n"
		  "\tconst struct %s_handlers *handlers;\n"
		  "\tvoid *user;\n"
		  "};\n\n",
		  svc->prefix, svc->prefix);
	sb_printf(h,
		  "/* Register every method of %s on server. Returns 0 or a\n"
		  " * TTRPC_E* code (TTRPC_EEXIST: a method is registered already). */\n"
		  "int %s_register(ttrpc_server *server,\n\t\tconst struct %s_service *service);\n\n",
		  svc->wire, svc->prefix, svc->prefix);

	for (i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		if (m->streaming) {
			emit_header_stream_funcs(g, h, m);
			continue;
		}
		emit_rpc_comment(h, "", m);
		sb_printf(h,
			  "/* Answer call with resp (NULL: the empty message); frees the call. Returns\n"
			  " * what ttrpc_call_respond() returns; when resp cannot be encoded the peer\n"
			  " * gets an error status and a TTRPC_E* code is returned. */\n"
			  "int %s_respond(ttrpc_call *call, const %s *resp);\n",
			  m->fn, m->out_type);
		sb_printf(h,
			  "/* Completion of an async call: resp is the decoded response when\n"
			  " * status->code is TTRPC_CODE_OK, else NULL; both are valid only during\n"
			  " * the callback. */\n"
			  "typedef void (*%s_done_fn)(const struct ttrpc_result *status, const %s *resp,\n"
			  "\t\tvoid *user);\n",
			  m->fn, m->out_type);
		sb_printf(h,
			  "/* Async call (req NULL: the empty message). done runs exactly once from\n"
			  " * the client's loop. Returns 0, or a TTRPC_E* code and done never runs. */\n"
			  "int %s_call(ttrpc_client *client, const %s *req,\n"
			  "\t\tconst struct ttrpc_call_opts *opts, %s_done_fn done, void *user);\n",
			  m->fn, m->in_type, m->fn);
		if (pbc)
			sb_printf(
				h,
				"/* Blocking call; returns the status code. On TTRPC_CODE_OK *resp is the\n"
				" * decoded response, else NULL; free it with\n"
				" * protobuf_c_message_free_unpacked(&resp->base, NULL). status (may be NULL) receives code and message;\n"
				" * release it with ttrpc_result_clear(). */\n"
				"int %s_call_sync(ttrpc_client *client, const %s *req,\n"
				"\t\tconst struct ttrpc_call_opts *opts, %s **resp, struct ttrpc_result *status);\n\n",
				m->fn, m->in_type, m->out_type);
		else
			sb_printf(h,
				  "/* Blocking call; returns the status code. The response is decoded into\n"
				  " * *resp, which the caller initialized (e.g. with _init_zero, or with\n"
				  " * callbacks set). status (may be NULL) receives code and message;\n"
				  " * release it with ttrpc_result_clear(). */\n"
				  "int %s_call_sync(ttrpc_client *client, const %s *req,\n"
				  "\t\tconst struct ttrpc_call_opts *opts, %s *resp, struct ttrpc_result *status);\n\n",
				  m->fn, m->in_type, m->out_type);
	}
}

/* The body of a handler trampoline that decodes the request (answering
 * INVALID_ARGUMENT when it does not decode) and calls service->handlers->
 * <handler> with it, or answers UNIMPLEMENTED when that is NULL. */
static void emit_decode_request(const struct gen *g, struct sb *c, const struct method *m, const char *handler)
{
	if (g->backend == GEN_BACKEND_PROTOBUF_C) {
		sb_printf(c,
			  "\tProtobufCMessage *req;\n\n"
			  "\tif (!service->handlers->%s) {\n"
			  "\t\tttrpc_codec_unimplemented(call);\n"
			  "\t\treturn;\n"
			  "\t}\n"
			  "\treq = ttrpc_codec_pbc_decode_request(call, &%s, buf, len);\n"
			  "\tif (!req)\n"
			  "\t\treturn;\n"
			  "\tservice->handlers->%s(call, (const %s *)req, service->user);\n"
			  "\tprotobuf_c_message_free_unpacked(req, NULL);\n"
			  "}\n\n",
			  handler, m->in_desc, handler, m->in_type);
	} else {
		sb_printf(c,
			  "\t%s req = %s_init_zero;\n\n"
			  "\tif (!service->handlers->%s) {\n"
			  "\t\tttrpc_codec_unimplemented(call);\n"
			  "\t\treturn;\n"
			  "\t}\n"
			  "\tif (!ttrpc_codec_nanopb_decode_request(call, %s, &req,\n"
			  "\t\t\t\t\t\t\t\"%s\", buf, len))\n"
			  "\t\treturn;\n"
			  "\tservice->handlers->%s(call, &req, service->user);\n"
			  "\tttrpc_codec_nanopb_release(%s, &req);\n"
			  "}\n\n",
			  m->in_type, m->in_type, handler, m->in_desc, m->in_full + 1, handler, m->in_desc);
	}
}

static void emit_dispatch(const struct gen *g, struct sb *c, const struct service *svc, const struct method *m)
{
	sb_printf(c,
		  "static void %s__dispatch(ttrpc_call *call, const uint8_t *buf, size_t len,\n"
		  "\t\tvoid *user)\n"
		  "{\n"
		  "\tconst struct %s_service *service = user;\n",
		  m->fn, svc->prefix);
	emit_decode_request(g, c, m, m->member);
}

static void emit_client(const struct gen *g, struct sb *c, const struct service *svc, const struct method *m)
{
	if (g->backend == GEN_BACKEND_PROTOBUF_C) {
		sb_printf(c,
			  "int %s_respond(ttrpc_call *call, const %s *resp)\n"
			  "{\n"
			  "\treturn ttrpc_codec_pbc_respond(call, resp ? &resp->base : NULL);\n"
			  "}\n\n",
			  m->fn, m->out_type);
		sb_printf(c,
			  "static void %s__done(const struct ttrpc_result *result, void *user)\n"
			  "{\n"
			  "\tstruct ttrpc_codec_pending pending = ttrpc_codec_pending_take(user);\n"
			  "\tstruct ttrpc_result status = *result;\n"
			  "\tProtobufCMessage *resp = ttrpc_codec_pbc_decode_response(&status, &%s);\n\n"
			  "\t((%s_done_fn)pending.done)(&status, (const %s *)resp, pending.user);\n"
			  "\tif (resp)\n"
			  "\t\tprotobuf_c_message_free_unpacked(resp, NULL);\n"
			  "}\n\n",
			  m->fn, m->out_desc, m->fn, m->out_type);
		sb_printf(c,
			  "int %s_call(ttrpc_client *client, const %s *req,\n"
			  "\t\tconst struct ttrpc_call_opts *opts, %s_done_fn done, void *user)\n"
			  "{\n"
			  "\treturn ttrpc_codec_pbc_call(client, %s_SERVICE, %s_METHOD_%s,\n"
			  "\t\t\t\t    req ? &req->base : NULL, opts, %s__done, (void (*)(void))done, user);\n"
			  "}\n\n",
			  m->fn, m->in_type, m->fn, svc->upper, svc->upper, m->upper, m->fn);
		sb_printf(c,
			  "int %s_call_sync(ttrpc_client *client, const %s *req,\n"
			  "\t\tconst struct ttrpc_call_opts *opts, %s **resp, struct ttrpc_result *status)\n"
			  "{\n"
			  "\tProtobufCMessage *msg;\n"
			  "\tint code = ttrpc_codec_pbc_call_sync(client, %s_SERVICE, %s_METHOD_%s,\n"
			  "\t\t\t\t\t\t     req ? &req->base : NULL, opts, &%s, &msg, status);\n\n"
			  "\t*resp = (%s *)msg;\n"
			  "\treturn code;\n"
			  "}\n\n",
			  m->fn, m->in_type, m->out_type, svc->upper, svc->upper, m->upper, m->out_desc, m->out_type);
		return;
	}
	sb_printf(c,
		  "int %s_respond(ttrpc_call *call, const %s *resp)\n"
		  "{\n"
		  "\treturn ttrpc_codec_nanopb_respond(call, %s, resp);\n"
		  "}\n\n",
		  m->fn, m->out_type, m->out_desc);
	sb_printf(c,
		  "static void %s__done(const struct ttrpc_result *result, void *user)\n"
		  "{\n"
		  "\tstruct ttrpc_codec_pending pending = ttrpc_codec_pending_take(user);\n"
		  "\tstruct ttrpc_result status = *result;\n"
		  "\t%s resp = %s_init_zero;\n"
		  "\tbool ok = ttrpc_codec_nanopb_decode_response(&status, %s, &resp);\n\n"
		  "\t((%s_done_fn)pending.done)(&status, ok ? &resp : NULL, pending.user);\n"
		  "\tif (ok)\n"
		  "\t\tttrpc_codec_nanopb_release(%s, &resp);\n"
		  "}\n\n",
		  m->fn, m->out_type, m->out_type, m->out_desc, m->fn, m->out_desc);
	sb_printf(c,
		  "int %s_call(ttrpc_client *client, const %s *req,\n"
		  "\t\tconst struct ttrpc_call_opts *opts, %s_done_fn done, void *user)\n"
		  "{\n"
		  "\treturn ttrpc_codec_nanopb_call(client, %s_SERVICE, %s_METHOD_%s,\n"
		  "\t\t\t\t       %s, req, opts, %s__done, (void (*)(void))done, user);\n"
		  "}\n\n",
		  m->fn, m->in_type, m->fn, svc->upper, svc->upper, m->upper, m->in_desc, m->fn);
	sb_printf(c,
		  "int %s_call_sync(ttrpc_client *client, const %s *req,\n"
		  "\t\tconst struct ttrpc_call_opts *opts, %s *resp, struct ttrpc_result *status)\n"
		  "{\n"
		  "\treturn ttrpc_codec_nanopb_call_sync(client, %s_SERVICE, %s_METHOD_%s,\n"
		  "\t\t\t\t\t    %s, req, opts, %s, resp, status);\n"
		  "}\n\n",
		  m->fn, m->in_type, m->out_type, svc->upper, svc->upper, m->upper, m->in_desc, m->out_desc);
}

static const char *kind_constant(const struct method *m)
{
	if (m->client_streaming && m->server_streaming)
		return "TTRPC_KIND_BIDI_STREAM";
	return m->client_streaming ? "TTRPC_KIND_CLIENT_STREAM" : "TTRPC_KIND_SERVER_STREAM";
}

/* "encoder, type, message" arguments of a codec_stream.h function for the
 * message variable var of C type desc. */
static char *encode_args(const struct gen *g, const char *desc, const char *var)
{
	if (g->backend == GEN_BACKEND_PROTOBUF_C)
		return xasprintf("ttrpc_codec_pbc_encoder(), NULL, %s ? &%s->base : NULL", var, var);
	return xasprintf("ttrpc_codec_nanopb_encoder(), %s, %s", desc, var);
}

/* Decode buf/len of type (type, desc) into a local `msg`, call `callee`
 * with it (NULL when it does not decode) and release it. */
static void emit_decode_and_call(const struct gen *g, struct sb *c, const char *type, const char *desc,
				 const char *callee)
{
	if (g->backend == GEN_BACKEND_PROTOBUF_C) {
		sb_printf(c,
			  "\tmsg = ttrpc_codec_pbc_decode_msg(&%s, buf, len);\n"
			  "\t%s(const %s *)msg, user);\n"
			  "\tif (msg)\n"
			  "\t\tprotobuf_c_message_free_unpacked(msg, NULL);\n"
			  "}\n\n",
			  desc, callee, type);
		return;
	}
	sb_printf(c,
		  "\tok = ttrpc_codec_nanopb_decode_msg(%s, &msg, buf, len);\n"
		  "\t%sok ? &msg : NULL, user);\n"
		  "\tif (ok)\n"
		  "\t\tttrpc_codec_nanopb_release(%s, &msg);\n"
		  "}\n\n",
		  desc, callee, desc);
}

static void emit_msg_locals(const struct gen *g, struct sb *c, const char *type)
{
	if (g->backend == GEN_BACKEND_PROTOBUF_C)
		sb_puts(c, "\tProtobufCMessage *msg;\n\n");
	else
		sb_printf(c, "\t%s msg = %s_init_zero;\n\tbool ok;\n\n", type, type);
}

/* Server side of a streaming method: the trampolines between libttrpc's
 * byte-level stream handler and the typed table, the handler, send/respond. */
static void emit_stream_server(const struct gen *g, struct sb *c, const struct service *svc, const struct method *m)
{
	bool pbc = g->backend == GEN_BACKEND_PROTOBUF_C;
	char *args;

	sb_printf(c,
		  "static void %s__open(ttrpc_call *call, const uint8_t *buf, size_t len, void *user)\n"
		  "{\n"
		  "\tconst struct %s_service *service = user;\n",
		  m->fn, svc->prefix);
	if (m->client_streaming) {
		sb_printf(c,
			  "\n\t(void)buf;\n\t(void)len;\n"
			  "\tif (!service->handlers->%s.on_open)\n"
			  "\t\tttrpc_codec_unimplemented(call);\n"
			  "\telse\n"
			  "\t\tservice->handlers->%s.on_open(call, service->user);\n"
			  "}\n\n",
			  m->member, m->member);
		sb_printf(c,
			  "static void %s__msg(ttrpc_call *call, const uint8_t *buf, size_t len, void *user)\n"
			  "{\n"
			  "\tconst struct %s_service *service = user;\n",
			  m->fn, svc->prefix);
		emit_msg_locals(g, c, m->in_type);
		sb_printf(c, "\tif (!service->handlers->%s.on_msg)\n\t\treturn;\n\tuser = service->user;\n", m->member);
		args = xasprintf("service->handlers->%s.on_msg(call, ", m->member);
		emit_decode_and_call(g, c, m->in_type, m->in_desc, args);
		free(args);
		sb_printf(c,
			  "static void %s__close_send(ttrpc_call *call, void *user)\n"
			  "{\n"
			  "\tconst struct %s_service *service = user;\n\n"
			  "\tif (service->handlers->%s.on_close_send)\n"
			  "\t\tservice->handlers->%s.on_close_send(call, service->user);\n"
			  "}\n\n",
			  m->fn, svc->prefix, m->member, m->member);
	} else {
		char *on_open = xasprintf("%s.on_open", m->member);

		emit_decode_request(g, c, m, on_open);
		free(on_open);
	}
	if (m->server_streaming)
		sb_printf(c,
			  "static void %s__writable(ttrpc_call *call, void *user)\n"
			  "{\n"
			  "\tconst struct %s_service *service = user;\n\n"
			  "\tif (service->handlers->%s.on_writable)\n"
			  "\t\tservice->handlers->%s.on_writable(call, service->user);\n"
			  "}\n\n",
			  m->fn, svc->prefix, m->member, m->member);
	sb_printf(c,
		  "static const struct ttrpc_stream_handler %s__handler = {\n"
		  "\t%s, %s__open, %s%s, %s%s, %s%s\n"
		  "};\n\n",
		  m->fn, kind_constant(m), m->fn, m->client_streaming ? m->fn : "NULL",
		  m->client_streaming ? "__msg" : "", m->client_streaming ? m->fn : "NULL",
		  m->client_streaming ? "__close_send" : "", m->server_streaming ? m->fn : "NULL",
		  m->server_streaming ? "__writable" : "");
	if (m->server_streaming) {
		args = encode_args(g, m->out_desc, "msg");
		sb_printf(c,
			  "int %s_send(ttrpc_call *call, const %s *msg)\n"
			  "{\n"
			  "\treturn ttrpc_codec_call_send(call, %s);\n"
			  "}\n\n",
			  m->fn, m->out_type, args);
		free(args);
	} else if (pbc) {
		sb_printf(c,
			  "int %s_respond(ttrpc_call *call, const %s *resp)\n"
			  "{\n"
			  "\treturn ttrpc_codec_pbc_respond(call, resp ? &resp->base : NULL);\n"
			  "}\n\n",
			  m->fn, m->out_type);
	} else {
		sb_printf(c,
			  "int %s_respond(ttrpc_call *call, const %s *resp)\n"
			  "{\n"
			  "\treturn ttrpc_codec_nanopb_respond(call, %s, resp);\n"
			  "}\n\n",
			  m->fn, m->out_type, m->out_desc);
	}
}

/* The on_done trampoline of a client stream. */
static void emit_stream_on_done(const struct gen *g, struct sb *c, const struct method *m)
{
	sb_printf(c,
		  "static void %s__on_done(ttrpc_stream *st, const struct ttrpc_result *result, void *user)\n"
		  "{\n"
		  "\tstruct ttrpc_codec_stream_ctx ctx = ttrpc_codec_stream_ctx_take(user);\n"
		  "\tconst struct %s_stream_cbs *cbs = (const struct %s_stream_cbs *)ctx.cbs;\n",
		  m->fn, m->fn, m->fn);
	if (m->server_streaming) {
		sb_puts(c, "\n\tif (cbs->on_done)\n\t\tcbs->on_done(st, result, ctx.user);\n}\n\n");
		return;
	}
	sb_puts(c, "\tstruct ttrpc_result status = *result;\n");
	if (g->backend == GEN_BACKEND_PROTOBUF_C)
		sb_printf(c,
			  "\tProtobufCMessage *resp = ttrpc_codec_pbc_decode_response(&status, &%s);\n\n"
			  "\tif (cbs->on_done)\n"
			  "\t\tcbs->on_done(st, &status, (const %s *)resp, ctx.user);\n"
			  "\tif (resp)\n"
			  "\t\tprotobuf_c_message_free_unpacked(resp, NULL);\n"
			  "}\n\n",
			  m->out_desc, m->out_type);
	else
		sb_printf(c,
			  "\t%s resp = %s_init_zero;\n"
			  "\tbool ok = ttrpc_codec_nanopb_decode_response(&status, %s, &resp);\n\n"
			  "\tif (cbs->on_done)\n"
			  "\t\tcbs->on_done(st, &status, ok ? &resp : NULL, ctx.user);\n"
			  "\tif (ok)\n"
			  "\t\tttrpc_codec_nanopb_release(%s, &resp);\n"
			  "}\n\n",
			  m->out_type, m->out_type, m->out_desc, m->out_desc);
}

/* Client side of a streaming method: trampolines, open, send, blocking variants. */
static void emit_stream_client(const struct gen *g, struct sb *c, const struct service *svc, const struct method *m)
{
	bool pbc = g->backend == GEN_BACKEND_PROTOBUF_C;
	const char *no_req = pbc ? "ttrpc_codec_pbc_encoder(), NULL, NULL" : "ttrpc_codec_nanopb_encoder(), NULL, NULL";
	char *args;

	if (m->server_streaming) {
		sb_printf(c,
			  "static void %s__on_msg(ttrpc_stream *st, const uint8_t *buf, size_t len, void *user)\n"
			  "{\n"
			  "\tconst struct ttrpc_codec_stream_ctx *ctx = ttrpc_codec_stream_ctx(user);\n"
			  "\tconst struct %s_stream_cbs *cbs = (const struct %s_stream_cbs *)ctx->cbs;\n",
			  m->fn, m->fn, m->fn);
		emit_msg_locals(g, c, m->out_type);
		sb_puts(c, "\tif (!cbs->on_msg)\n\t\treturn;\n\tuser = ctx->user;\n");
		emit_decode_and_call(g, c, m->out_type, m->out_desc, "cbs->on_msg(st, ");
	}
	emit_stream_on_done(g, c, m);
	if (m->client_streaming)
		sb_printf(c,
			  "static void %s__on_writable(ttrpc_stream *st, void *user)\n"
			  "{\n"
			  "\tconst struct ttrpc_codec_stream_ctx *ctx = ttrpc_codec_stream_ctx(user);\n"
			  "\tconst struct %s_stream_cbs *cbs = (const struct %s_stream_cbs *)ctx->cbs;\n\n"
			  "\tif (cbs->on_writable)\n"
			  "\t\tcbs->on_writable(st, ctx->user);\n"
			  "}\n\n",
			  m->fn, m->fn, m->fn);
	sb_printf(c, "static const struct ttrpc_stream_cbs %s__cbs = {\n\t%s%s, %s__on_done, %s%s\n};\n\n", m->fn,
		  m->server_streaming ? m->fn : "NULL", m->server_streaming ? "__on_msg" : "", m->fn,
		  m->client_streaming ? m->fn : "NULL", m->client_streaming ? "__on_writable" : "");

	args = encode_args(g, m->in_desc, "req");
	sb_printf(c, "int %s_open(ttrpc_client *client, ", m->fn);
	if (!m->client_streaming)
		sb_printf(c, "const %s *req, ", m->in_type);
	sb_printf(c,
		  "const struct ttrpc_call_opts *opts,\n"
		  "\t\tconst struct %s_stream_cbs *cbs, void *user, ttrpc_stream **out)\n"
		  "{\n"
		  "\treturn ttrpc_codec_stream_open(client, %s_SERVICE, %s_METHOD_%s, %s,\n"
		  "\t\t\t\t       %s, opts, &%s__cbs, cbs, user, out);\n"
		  "}\n\n",
		  m->fn, svc->upper, svc->upper, m->upper, kind_constant(m), m->client_streaming ? no_req : args,
		  m->fn);
	sb_printf(c, "int %s_open_sync(ttrpc_client *client, ", m->fn);
	if (!m->client_streaming)
		sb_printf(c, "const %s *req, ", m->in_type);
	sb_printf(c,
		  "const struct ttrpc_call_opts *opts,\n"
		  "\t\tttrpc_stream **out)\n"
		  "{\n"
		  "\treturn ttrpc_codec_stream_open_sync(client, %s_SERVICE, %s_METHOD_%s, %s,\n"
		  "\t\t\t\t\t    %s, opts, out);\n"
		  "}\n\n",
		  svc->upper, svc->upper, m->upper, kind_constant(m), m->client_streaming ? no_req : args);
	free(args);
	if (m->client_streaming) {
		args = encode_args(g, m->in_desc, "msg");
		sb_printf(c,
			  "int %s_stream_send(ttrpc_stream *st, const %s *msg)\n"
			  "{\n"
			  "\treturn ttrpc_codec_stream_send(st, %s, 0);\n"
			  "}\n\n"
			  "int %s_stream_send_sync(ttrpc_stream *st, const %s *msg)\n"
			  "{\n"
			  "\treturn ttrpc_codec_stream_send(st, %s, 1);\n"
			  "}\n\n",
			  m->fn, m->in_type, args, m->fn, m->in_type, args);
		free(args);
	}
	if (m->server_streaming && pbc)
		sb_printf(c,
			  "int %s_stream_recv_sync(ttrpc_stream *st, %s **msg)\n"
			  "{\n"
			  "\tProtobufCMessage *m;\n"
			  "\tint rc = ttrpc_codec_pbc_recv_sync(st, &%s, &m);\n\n"
			  "\t*msg = (%s *)m;\n"
			  "\treturn rc;\n"
			  "}\n\n",
			  m->fn, m->out_type, m->out_desc, m->out_type);
	else if (m->server_streaming)
		sb_printf(c,
			  "int %s_stream_recv_sync(ttrpc_stream *st, %s *msg)\n"
			  "{\n"
			  "\treturn ttrpc_codec_nanopb_recv_sync(st, %s, msg);\n"
			  "}\n\n",
			  m->fn, m->out_type, m->out_desc);
	else if (pbc)
		sb_printf(c,
			  "int %s_stream_finish_sync(ttrpc_stream *st, %s **resp, struct ttrpc_result *status)\n"
			  "{\n"
			  "\tProtobufCMessage *m;\n"
			  "\tint code = ttrpc_codec_pbc_finish_sync(st, &%s, &m, status);\n\n"
			  "\t*resp = (%s *)m;\n"
			  "\treturn code;\n"
			  "}\n\n",
			  m->fn, m->out_type, m->out_desc, m->out_type);
	else
		sb_printf(c,
			  "int %s_stream_finish_sync(ttrpc_stream *st, %s *resp, struct ttrpc_result *status)\n"
			  "{\n"
			  "\treturn ttrpc_codec_nanopb_finish_sync(st, %s, resp, status);\n"
			  "}\n\n",
			  m->fn, m->out_type, m->out_desc);
}

static void emit_source_service(const struct gen *g, struct sb *c, const struct service *svc)
{
	size_t i;

	if (!svc->n_methods)
		return;
	sb_printf(c, "/* ---- service %s ---- */\n\n", svc->wire);
	for (i = 0; i < svc->n_methods; i++) {
		if (svc->methods[i].streaming)
			emit_stream_server(g, c, svc, &svc->methods[i]);
		else
			emit_dispatch(g, c, svc, &svc->methods[i]);
	}
	sb_printf(c,
		  "int %s_register(ttrpc_server *server,\n\t\tconst struct %s_service *service)\n"
		  "{\n"
		  "\tint rc;\n\n"
		  "\tif (!server || !service || !service->handlers)\n"
		  "\t\treturn TTRPC_EINVAL;\n",
		  svc->prefix, svc->prefix);
	for (i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		if (m->streaming)
			sb_printf(c,
				  "\trc = ttrpc_server_register_stream(server, %s_SERVICE, %s_METHOD_%s,\n"
				  "\t\t\t\t\t  &%s__handler, (void *)service);\n",
				  svc->upper, svc->upper, m->upper, m->fn);
		else
			sb_printf(c,
				  "\trc = ttrpc_server_register(server, %s_SERVICE, %s_METHOD_%s,\n"
				  "\t\t\t\t   %s__dispatch, (void *)service);\n",
				  svc->upper, svc->upper, m->upper, m->fn);
		sb_puts(c, "\tif (rc < 0)\n\t\treturn rc;\n");
	}
	sb_puts(c, "\treturn 0;\n}\n\n");
	for (i = 0; i < svc->n_methods; i++) {
		if (svc->methods[i].streaming)
			emit_stream_client(g, c, svc, &svc->methods[i]);
		else
			emit_client(g, c, svc, &svc->methods[i]);
	}
}

static const char *backend_name(enum gen_backend backend)
{
	return backend == GEN_BACKEND_NANOPB ? "nanopb" : "protobuf-c";
}

static void emit_banner(const struct gen *g, struct sb *out)
{
	sb_printf(out,
		  "/* Code generated by protoc-gen-ttrpc-c from %s (backend %s). DO NOT EDIT. */\n"
		  "/* Edit the .proto file instead; this file is regenerated at build time. */\n\n",
		  g->file->name, backend_name(g->backend));
}

static bool has_streams(const struct gen *g)
{
	size_t i;

	for (i = 0; i < g->n_services; i++)
		if (g->services[i].n_unary < g->services[i].n_methods)
			return true;
	return false;
}

static char *emit_header(const struct gen *g, const char *base)
{
	struct sb h = { 0 };
	char *guard = names_guard(g->file->name);
	size_t i;

	emit_banner(g, &h);
	sb_printf(&h, "#ifndef %s\n#define %s\n\n", guard, guard);
	sb_puts(&h, "#include <ttrpc/client.h>\n#include <ttrpc/server.h>\n");
	sb_puts(&h, has_streams(g) ? "#include <ttrpc/stream.h>\n\n" : "\n");
	sb_printf(&h, "#include \"%s%s\"\n\n", base, g->backend == GEN_BACKEND_NANOPB ? ".pb.h" : ".pb-c.h");
	sb_puts(&h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	for (i = 0; i < g->n_services; i++)
		emit_header_service(g, &h, &g->services[i]);
	sb_printf(&h, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard);
	free(guard);
	return sb_take(&h);
}

static char *emit_source(const struct gen *g, const char *base)
{
	struct sb c = { 0 };
	size_t i, n_methods = 0;
	bool streams = has_streams(g);

	for (i = 0; i < g->n_services; i++)
		n_methods += g->services[i].n_methods;
	emit_banner(g, &c);
	sb_printf(&c, "#include \"%s.ttrpc-c.h\"\n\n", base);
	if (!n_methods) {
		sb_puts(&c, "/* No methods here: nothing to generate. */\n");
		return sb_take(&c);
	}
	/* The shared code is libttrpc's codec runtime; only per-method code here. */
	sb_puts(&c, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
	sb_puts(&c,
		g->backend == GEN_BACKEND_NANOPB ? "#include <ttrpc/codec_nanopb.h>\n" : "#include <ttrpc/codec.h>\n");
	sb_puts(&c, streams ? "#include <ttrpc/codec_stream.h>\n\n" : "\n");
	for (i = 0; i < g->n_services; i++)
		emit_source_service(g, &c, &g->services[i]);
	/* One trailing newline, not two. */
	if (c.len >= 2 && c.data[c.len - 1] == '\n' && c.data[c.len - 2] == '\n')
		c.data[--c.len] = '\0';
	return sb_take(&c);
}

int gen_generate(const Google__Protobuf__FileDescriptorProto *file, enum gen_backend backend, struct gen_file out[2],
		 char **err)
{
	struct gen g = { .backend = backend, .file = file };
	char *base;
	size_t i;

	*err = NULL;
	if (!file->n_service)
		return 0;
	if (!file->name) {
		*err = xstrdup("a file without a name");
		return -1;
	}
	g.services = calloc(file->n_service, sizeof(*g.services));
	if (!g.services)
		abort();
	g.n_services = file->n_service;
	for (i = 0; i < file->n_service; i++)
		service_init(&g, &g.services[i], file->service[i]);
	if (g.err) {
		*err = g.err;
		gen_free(&g);
		return -1;
	}
	base = names_strip_proto(file->name);
	out[0].name = xasprintf("%s.ttrpc-c.h", base);
	out[0].content = emit_header(&g, base);
	out[1].name = xasprintf("%s.ttrpc-c.c", base);
	out[1].content = emit_source(&g, base);
	free(base);
	gen_free(&g);
	return 2;
}
