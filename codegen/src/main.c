/* SPDX-License-Identifier: Apache-2.0 */
/* protoc-gen-ttrpc-c: a protoc plugin. protoc writes a CodeGeneratorRequest
 * on stdin and reads a CodeGeneratorResponse from stdout; errors in the input
 * travel back in CodeGeneratorResponse.error, which protoc prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "google/protobuf/compiler/plugin.pb-c.h"
#include "sb.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest Request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse Response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File ResponseFile;

static uint8_t *read_all(int fd, size_t *len)
{
	size_t cap = 65536;
	uint8_t *buf = xmalloc(cap);

	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			uint8_t *p = realloc(buf, cap * 2);

			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			return buf;
		*len += (size_t)n;
	}
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Parse "backend=nanopb,..." into *backend. Returns NULL or an error text. */
static char *parse_parameter(const char *parameter, enum gen_backend *backend)
{
	char *copy, *item, *save = NULL;
	char *err = NULL;

	*backend = GEN_BACKEND_PROTOBUF_C;
	if (!parameter || !*parameter)
		return NULL;
	copy = xstrdup(parameter);
	for (item = strtok_r(copy, ",", &save); item && !err; item = strtok_r(NULL, ",", &save)) {
		char *value = strchr(item, '=');

		if (value)
			*value++ = '\0';
		if (strcmp(item, "backend") != 0) {
			err = xasprintf("unknown option '%s' (known options: backend=protobuf-c|nanopb)", item);
		} else if (!value) {
			err = xstrdup("option 'backend' needs a value: backend=protobuf-c or backend=nanopb");
		} else if (strcmp(value, "protobuf-c") == 0) {
			*backend = GEN_BACKEND_PROTOBUF_C;
		} else if (strcmp(value, "nanopb") == 0) {
			*backend = GEN_BACKEND_NANOPB;
		} else {
			err = xasprintf("unknown backend '%s' (known backends: protobuf-c, nanopb)", value);
		}
	}
	free(copy);
	return err;
}

static const Google__Protobuf__FileDescriptorProto *find_file(const Request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->n_proto_file; i++)
		if (req->proto_file[i]->name && strcmp(req->proto_file[i]->name, name) == 0)
			return req->proto_file[i];
	return NULL;
}

static void add_file(Response *resp, struct gen_file *f)
{
	ResponseFile *rf = xmalloc(sizeof(*rf));
	ResponseFile **files = realloc(resp->file, (resp->n_file + 1) * sizeof(*files));

	if (!files)
		abort();
	google__protobuf__compiler__code_generator_response__file__init(rf);
	rf->name = f->name;
	rf->content = f->content;
	files[resp->n_file++] = rf;
	resp->file = files;
}

/* Fill resp from req; returns an error text or NULL. */
static char *generate(const Request *req, Response *resp)
{
	enum gen_backend backend;
	char *err = parse_parameter(req->parameter, &backend);
	size_t i;

	for (i = 0; i < req->n_file_to_generate && !err; i++) {
		const Google__Protobuf__FileDescriptorProto *file = find_file(req, req->file_to_generate[i]);
		struct gen_file out[2];
		int n, j;

		if (!file) {
			err = xasprintf("%s: not among the files protoc sent", req->file_to_generate[i]);
			break;
		}
		n = gen_generate(file, backend, out, &err);
		for (j = 0; j < n; j++)
			add_file(resp, &out[j]);
	}
	return err;
}

static void free_response(Response *resp)
{
	size_t i;

	for (i = 0; i < resp->n_file; i++) {
		free(resp->file[i]->name);
		free(resp->file[i]->content);
		free(resp->file[i]);
	}
	free(resp->file);
	free(resp->error);
}

int main(int argc, char **argv)
{
	Response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
	Request *req;
	uint8_t *in, *out;
	size_t in_len, out_len;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
		puts("protoc-gen-ttrpc-c " TTRPC_CODEGEN_VERSION);
		return 0;
	}
	if (argc > 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"protoc-gen-ttrpc-c is a protoc plugin; run it through protoc:\n"
			"  protoc --plugin=protoc-gen-ttrpc-c=%s --ttrpc-c_out=[backend=protobuf-c|nanopb:]OUT_DIR "
			"--c_out=OUT_DIR -I... file.proto\n",
			argv[0]);
		return 2;
	}
	in = read_all(STDIN_FILENO, &in_len);
	if (!in) {
		perror("protoc-gen-ttrpc-c: reading the request");
		return 1;
	}
	req = google__protobuf__compiler__code_generator_request__unpack(NULL, in_len, in);
	free(in);
	if (!req) {
		fputs("protoc-gen-ttrpc-c: cannot decode the CodeGeneratorRequest on stdin\n", stderr);
		return 1;
	}
	resp.error = generate(req, &resp);
	if (resp.error) {
		/* protoc ignores files when error is set; send none. */
		size_t i;

		for (i = 0; i < resp.n_file; i++) {
			free(resp.file[i]->name);
			free(resp.file[i]->content);
			free(resp.file[i]);
		}
		resp.n_file = 0;
	}
	resp.has_supported_features = 1;
	resp.supported_features = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
	google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);

	out_len = google__protobuf__compiler__code_generator_response__get_packed_size(&resp);
	out = xmalloc(out_len);
	google__protobuf__compiler__code_generator_response__pack(&resp, out);
	free_response(&resp);
	rc = write_all(STDOUT_FILENO, out, out_len);
	free(out);
	if (rc < 0) {
		perror("protoc-gen-ttrpc-c: writing the response");
		return 1;
	}
	return 0;
}
