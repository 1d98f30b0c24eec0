/* SPDX-License-Identifier: Apache-2.0 */
#include "grpc_wire.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ttrpc/common.h>

#define MAX_TIMEOUT_DIGITS 99999999

static const struct {
	char unit;
	int64_t ns;
} timeout_units[] = {
	{ 'n', 1 },
	{ 'u', 1000 },
	{ 'm', 1000000 },
	{ 'S', 1000000000 },
	{ 'M', INT64_C(60000000000) },
	{ 'H', INT64_C(3600000000000) },
};

size_t ttrpc__grpc_timeout_encode(int64_t ns, char out[TTRPC__GRPC_TIMEOUT_MAX])
{
	if (ns < 1)
		ns = 1;
	size_t n = sizeof(timeout_units) / sizeof(timeout_units[0]);
	for (size_t i = 0; i < n; i++) {
		int64_t unit = timeout_units[i].ns;
		int64_t count = ns / unit + (ns % unit != 0);
		if (count <= MAX_TIMEOUT_DIGITS || i == n - 1) {
			if (count > MAX_TIMEOUT_DIGITS)
				count = MAX_TIMEOUT_DIGITS;
			int len = 0;
			char digits[9];
			do {
				digits[len++] = (char)('0' + count % 10);
				count /= 10;
			} while (count);
			for (int j = 0; j < len; j++)
				out[j] = digits[len - 1 - j];
			out[len] = timeout_units[i].unit;
			out[len + 1] = '\0';
			return (size_t)len + 1;
		}
	}
	return 0; /* not reached */
}

int ttrpc__grpc_timeout_decode(const char *s, size_t len, int64_t *ns)
{
	if (len < 2 || len > 9)
		return TTRPC_EPROTO;
	int64_t count = 0;
	for (size_t i = 0; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TTRPC_EPROTO;
		count = count * 10 + (s[i] - '0');
	}
	for (size_t i = 0; i < sizeof(timeout_units) / sizeof(timeout_units[0]); i++) {
		if (timeout_units[i].unit != s[len - 1])
			continue;
		int64_t unit = timeout_units[i].ns;
		*ns = count > INT64_MAX / unit ? INT64_MAX : count * unit;
		return 0;
	}
	return TTRPC_EPROTO;
}

static const char hex[] = "0123456789ABCDEF";

char *ttrpc__grpc_percent_encode(const char *msg)
{
	size_t n = strlen(msg);
	char *out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *ttrpc__grpc_percent_decode(const uint8_t *s, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = (char)s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *ttrpc__grpc_b64_encode(const uint8_t *in, size_t len)
{
	if (len > SIZE_MAX / 2)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64_alphabet[in[i] >> 2];
		out[o++] = b64_alphabet[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = b64_alphabet[v >> 10];
		out[o++] = b64_alphabet[(v >> 4) & 63];
		out[o++] = b64_alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

uint8_t *ttrpc__grpc_b64_decode(const char *in, size_t len, size_t *out_len)
{
	size_t pads = 0;
	while (len > 0 && in[len - 1] == '=' && pads < 2) {
		len--;
		pads++;
	}
	if (len % 4 == 1)
		return NULL;
	uint8_t *out = malloc(len / 4 * 3 + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out_len = o;
	out[o] = '\0';
	return out;
}

bool ttrpc__grpc_md_key_valid(const char *key, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

bool ttrpc__grpc_md_value_valid(const char *value, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return false;
	return true;
}

bool ttrpc__grpc_md_key_binary(const char *key, size_t len)
{
	return len >= 4 && memcmp(key + len - 4, "-bin", 4) == 0;
}

static bool key_is(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

bool ttrpc__grpc_md_key_reserved(const char *key, size_t len)
{
	return (len > 0 && key[0] == ':') || (len >= 5 && memcmp(key, "grpc-", 5) == 0) ||
	       key_is(key, len, "content-type") || key_is(key, len, "te") || key_is(key, len, "user-agent") ||
	       key_is(key, len, "connection") || key_is(key, len, "host");
}

void ttrpc__grpc_prefix_pack(uint8_t out[TTRPC__GRPC_PREFIX_SIZE], bool compressed, uint32_t len)
{
	out[0] = compressed ? 1 : 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

bool ttrpc__grpc_content_type_valid(const char *s, size_t len)
{
	static const char base[] = "application/grpc";
	size_t n = sizeof(base) - 1;
	if (len < n || strncasecmp(s, base, n) != 0)
		return false;
	return len == n || s[n] == '+' || s[n] == ';';
}

int ttrpc__grpc_code_from_http(int http_status)
{
	switch (http_status) {
	case 400:
		return TTRPC_CODE_INTERNAL;
	case 401:
		return TTRPC_CODE_UNAUTHENTICATED;
	case 403:
		return TTRPC_CODE_PERMISSION_DENIED;
	case 404:
		return TTRPC_CODE_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return TTRPC_CODE_UNAVAILABLE;
	default:
		return TTRPC_CODE_UNKNOWN;
	}
}

int ttrpc__grpc_code_from_h2_error(uint32_t error_code)
{
	switch (error_code) {
	case 0x7: /* REFUSED_STREAM */
		return TTRPC_CODE_UNAVAILABLE;
	case 0x8: /* CANCEL */
		return TTRPC_CODE_CANCELLED;
	case 0xb: /* ENHANCE_YOUR_CALM */
		return TTRPC_CODE_RESOURCE_EXHAUSTED;
	case 0xc: /* INADEQUATE_SECURITY */
		return TTRPC_CODE_PERMISSION_DENIED;
	default:
		return TTRPC_CODE_INTERNAL;
	}
}

int ttrpc__grpc_reader_feed(struct ttrpc__grpc_reader *r, const uint8_t *in, size_t len, ttrpc__grpc_msg_fn fn,
			    void *user)
{
	while (len > 0 && !r->failed) {
		if (!r->in_msg) {
			size_t take = TTRPC__GRPC_PREFIX_SIZE - r->hdr_have;
			if (take > len)
				take = len;
			memcpy(r->hdr + r->hdr_have, in, take);
			r->hdr_have += take;
			in += take;
			len -= take;
			if (r->hdr_have < TTRPC__GRPC_PREFIX_SIZE)
				break;
			r->hdr_have = 0;
			r->want = (uint32_t)r->hdr[1] << 24 | (uint32_t)r->hdr[2] << 16 | (uint32_t)r->hdr[3] << 8 |
				  r->hdr[4];
			if (r->hdr[0] != 0) {
				r->failed = true;
				return TTRPC_EPROTO;
			}
			if (r->want > r->max) {
				r->failed = true;
				return TTRPC_ETOOBIG;
			}
			r->in_msg = true;
		}
		size_t have = ttrpc__buf_pending(&r->msg);
		size_t take = r->want - have;
		if (take > len)
			take = len;
		const uint8_t *body = in;
		if (have == 0 && take == r->want) {
			/* the whole message in this chunk: no copy */
		} else {
			uint8_t *dst = ttrpc__buf_reserve(&r->msg, take ? take : 1);
			if (!dst) {
				r->failed = true;
				return TTRPC_ENOMEM;
			}
			memcpy(dst, in, take);
			ttrpc__buf_commit(&r->msg, take);
			body = NULL;
		}
		in += take;
		len -= take;
		if ((body ? take : ttrpc__buf_pending(&r->msg)) < r->want)
			break;
		r->in_msg = false;
		const uint8_t *msg = body ? body : ttrpc__buf_head(&r->msg);
		int rc = fn(user, msg, r->want);
		ttrpc__buf_consume(&r->msg, ttrpc__buf_pending(&r->msg));
		if (rc) {
			r->failed = true;
			return rc;
		}
	}
	return 0;
}

bool ttrpc__grpc_reader_partial(const struct ttrpc__grpc_reader *r)
{
	return r->in_msg || r->hdr_have > 0;
}

void ttrpc__grpc_reader_free(struct ttrpc__grpc_reader *r)
{
	ttrpc__buf_free(&r->msg);
}
