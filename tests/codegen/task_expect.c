/* SPDX-License-Identifier: Apache-2.0 */
#include "task_expect.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

static const struct {
	const char *name;
	uint32_t value;
} u32_values[] = {
	{ "CreateTaskResponse.pid", 1001 },	{ "DeleteResponse.pid", 2001 },
	{ "DeleteResponse.exit_status", 2002 }, { "ResizePtyRequest.width", 3003 },
	{ "ResizePtyRequest.height", 3004 },	{ "StateResponse.pid", 4003 },
	{ "StateResponse.exit_status", 4009 },	{ "KillRequest.signal", 9 },
	{ "StartResponse.pid", 5001 },		{ "WaitResponse.exit_status", 6001 },
	{ "ConnectResponse.shim_pid", 7001 },	{ "ConnectResponse.task_pid", 7002 },
};

/* ---- an arena for what expect_fill allocates ---- */

static void **arena;
static size_t n_arena;

static void *alloc(size_t n)
{
	void **grown;
	void *p = calloc(1, n);

	cr_assert_not_null(p);
	grown = realloc(arena, (n_arena + 1) * sizeof(*arena));
	cr_assert_not_null(grown);
	arena = grown;
	arena[n_arena++] = p;
	return p;
}

static char *str(const char *fmt, ...)
{
	char tmp[256], *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	s = alloc(strlen(tmp) + 1);
	strcpy(s, tmp);
	return s;
}

void expect_free_all(void)
{
	size_t i;

	for (i = 0; i < n_arena; i++)
		free(arena[i]);
	free(arena);
	arena = NULL;
	n_arena = 0;
}

static uint32_t u32_value(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(u32_values) / sizeof(u32_values[0]); i++)
		if (strcmp(u32_values[i].name, name) == 0)
			return u32_values[i].value;
	cr_assert_fail("no expected value for uint32 field %s", name);
	return 0;
}

static int is(const ProtobufCMessageDescriptor *d, const char *full_name)
{
	return strcmp(d->name, full_name) == 0;
}

/* ---- fill ---- */

static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = alloc(desc->sizeof_message);

	desc->message_init(m);
	return m;
}

static ProtobufCMessage *any_of(const char *name)
{
	Google__Protobuf__Any *a = (Google__Protobuf__Any *)new_msg(&google__protobuf__any__descriptor);
	char *value = str("%s.value", name);

	a->type_url = str("%s", name);
	a->value.data = (uint8_t *)value;
	a->value.len = strlen(value);
	return &a->base;
}

static void fill_into(ProtobufCMessage *m);

/* The expected value of a message-typed field (index: position in a repeated field). */
static ProtobufCMessage *fill_message(const ProtobufCMessageDescriptor *d, const char *name, unsigned field_number,
				      size_t index)
{
	ProtobufCMessage *m;

	if (is(d, "google.protobuf.Any"))
		return any_of(name);
	m = new_msg(d);
	if (is(d, "google.protobuf.Timestamp")) {
		Google__Protobuf__Timestamp *t = (Google__Protobuf__Timestamp *)m;

		t->seconds = 1700000000 + (int64_t)field_number;
		t->nanos = (int32_t)field_number * 1000 + 7;
	} else if (is(d, "containerd.types.Mount")) {
		char **options = alloc(2 * sizeof(char *));
		char **fields[3];

		fields[0] = (char **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "type")->offset);
		fields[1] = (char **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "source")->offset);
		fields[2] = (char **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "target")->offset);
		*fields[0] = str("mt%zu", index);
		*fields[1] = str("ms%zu", index);
		*fields[2] = str("mtg%zu", index);
		options[0] = str("o%zua", index);
		options[1] = str("o%zub", index);
		*(char ***)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "options")->offset) =
			options;
		*(size_t *)((char *)m +
			    protobuf_c_message_descriptor_get_field_by_name(d, "options")->quantifier_offset) = 2;
	} else if (is(d, "containerd.v1.types.ProcessInfo")) {
		*(uint32_t *)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "pid")->offset) =
			100 + (uint32_t)index;
		*(ProtobufCMessage **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "info")->offset) =
			any_of(str("pi%zu", index));
	} else if (strstr(d->name, "AnnotationsEntry")) {
		*(char **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "key")->offset) =
			str("%s", index ? "b" : "a");
		*(char **)((char *)m + protobuf_c_message_descriptor_get_field_by_name(d, "value")->offset) =
			str("%s", index ? "2" : "1");
	} else {
		fill_into(m);
	}
	return m;
}

static void fill_into(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *name = str("%s.%s", d->short_name, f->name);
		void *member = (char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			ProtobufCMessage **items = alloc(2 * sizeof(*items));
			size_t k;

			cr_assert_eq(f->type, PROTOBUF_C_TYPE_MESSAGE, "repeated field %s: only messages covered",
				     name);
			for (k = 0; k < 2; k++)
				items[k] = fill_message(f->descriptor, name, f->id, k);
			*(ProtobufCMessage ***)member = items;
			*(size_t *)((char *)m + f->quantifier_offset) = 2;
			continue;
		}
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
			*(char **)member = name;
			break;
		case PROTOBUF_C_TYPE_BOOL:
			*(protobuf_c_boolean *)member = 1;
			break;
		case PROTOBUF_C_TYPE_UINT32:
			*(uint32_t *)member = u32_value(name);
			break;
		case PROTOBUF_C_TYPE_ENUM: {
			const ProtobufCEnumDescriptor *e = f->descriptor;

			*(int *)member = e->values[e->n_values - 1].value;
			break;
		}
		case PROTOBUF_C_TYPE_MESSAGE:
			*(ProtobufCMessage **)member = fill_message(f->descriptor, name, f->id, 0);
			break;
		default:
			cr_assert_fail("field %s: type %d not covered", name, (int)f->type);
		}
	}
}

ProtobufCMessage *expect_fill(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = new_msg(desc);

	fill_into(m);
	return m;
}

/* ---- check: compare against a freshly filled message ---- */

static char report[16384];
static size_t report_len;

static void differ(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (report_len >= sizeof(report) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(report + report_len, sizeof(report) - report_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		report_len += (size_t)n;
	if (report_len > sizeof(report) - 1)
		report_len = sizeof(report) - 1;
}

static void compare(const ProtobufCMessage *got, const ProtobufCMessage *want, const char *path);

static void compare_field(const ProtobufCFieldDescriptor *f, const void *g, const void *w, const char *path)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (strcmp(*(char *const *)g, *(char *const *)w) != 0)
			differ("%s: got \"%s\", want \"%s\"\n", path, *(char *const *)g, *(char *const *)w);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (*(const protobuf_c_boolean *)g != *(const protobuf_c_boolean *)w)
			differ("%s: got %d, want %d\n", path, *(const protobuf_c_boolean *)g,
			       *(const protobuf_c_boolean *)w);
		break;
	case PROTOBUF_C_TYPE_UINT32:
		if (*(const uint32_t *)g != *(const uint32_t *)w)
			differ("%s: got %" PRIu32 ", want %" PRIu32 "\n", path, *(const uint32_t *)g,
			       *(const uint32_t *)w);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM:
		if (*(const int32_t *)g != *(const int32_t *)w)
			differ("%s: got %" PRId32 ", want %" PRId32 "\n", path, *(const int32_t *)g,
			       *(const int32_t *)w);
		break;
	case PROTOBUF_C_TYPE_INT64:
		if (*(const int64_t *)g != *(const int64_t *)w)
			differ("%s: got %" PRId64 ", want %" PRId64 "\n", path, *(const int64_t *)g,
			       *(const int64_t *)w);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *a = g, *b = w;

		if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
			differ("%s: got %zu bytes \"%.*s\", want \"%.*s\"\n", path, a->len, (int)a->len,
			       (const char *)a->data, (int)b->len, (const char *)b->data);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *a = *(ProtobufCMessage *const *)g, *b = *(ProtobufCMessage *const *)w;

		if (!a)
			differ("%s: missing\n", path);
		else
			compare(a, b, path);
		break;
	}
	default:
		differ("%s: type %d not covered\n", path, (int)f->type);
	}
}

static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);

	return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2;
}

static const char *entry_string(const ProtobufCMessage *entry, const char *field)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(entry->descriptor, field);

	return *(char *const *)((const char *)entry + f->offset);
}

/* Map entries arrive in any order (Go iterates maps randomly): match by key. */
static void compare_map(ProtobufCMessage *const *got, ProtobufCMessage *const *want, size_t n, const char *path)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *key = entry_string(want[i], "key");

		for (j = 0; j < n; j++)
			if (strcmp(entry_string(got[j], "key"), key) == 0)
				break;
		if (j == n) {
			differ("%s: key \"%s\" missing\n", path, key);
			continue;
		}
		if (strcmp(entry_string(got[j], "value"), entry_string(want[i], "value")) != 0)
			differ("%s[\"%s\"]: got \"%s\", want \"%s\"\n", path, key, entry_string(got[j], "value"),
			       entry_string(want[i], "value"));
	}
}

static void compare(const ProtobufCMessage *got, const ProtobufCMessage *want, const char *path)
{
	const ProtobufCMessageDescriptor *d = want->descriptor;
	unsigned i;

	if (got->descriptor != d) {
		differ("%s: got a %s, want a %s\n", path, got->descriptor->name, d->name);
		return;
	}
	if (got->n_unknown_fields)
		differ("%s: %u unknown fields\n", path, got->n_unknown_fields);
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *g = (const char *)got + f->offset, *w = (const char *)want + f->offset;
		char sub[512];

		snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t ng = *(const size_t *)((const char *)got + f->quantifier_offset);
			size_t nw = *(const size_t *)((const char *)want + f->quantifier_offset);
			size_t size = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ?
					      sizeof(void *) :
					      sizeof(uint32_t);
			size_t k;

			if (ng != nw) {
				differ("%s: got %zu items, want %zu\n", sub, ng, nw);
				continue;
			}
			if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
				compare_map(*(ProtobufCMessage *const *const *)g, *(ProtobufCMessage *const *const *)w,
					    ng, sub);
				continue;
			}
			for (k = 0; k < ng; k++) {
				char item[600];

				snprintf(item, sizeof(item), "%s[%zu]", sub, k);
				compare_field(f, *(char *const *)g + k * size, *(char *const *)w + k * size, item);
			}
			continue;
		}
		compare_field(f, g, w, sub);
	}
}

const char *expect_check(const ProtobufCMessage *msg)
{
	ProtobufCMessage *want = expect_fill(msg->descriptor);

	report_len = 0;
	report[0] = '\0';
	compare(msg, want, msg->descriptor->short_name);
	return report_len ? report : NULL;
}
