/* http_util.c: form, percent, base64 and naming helpers. */
#include "http_util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pct_decode(const char *in, size_t len, int plus_is_space, char **out)
{
	char *buf = malloc(len + 1);
	size_t o = 0;

	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto fail;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				goto fail;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		/* A NUL would silently truncate the value in every C API downstream. */
		if (c == 0)
			goto fail;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	*out = buf;
	return 0;
fail:
	free(buf);
	return -1;
}

int
form_parse(const char *text, size_t len, struct form *out, const char **err)
{
	size_t start = 0;

	out->fields = NULL;
	out->n = 0;
	while (start < len) {
		size_t end = start, eq;
		char *name = NULL, *value = NULL;
		struct form_field *grown;

		while (end < len && text[end] != '&')
			end++;
		if (end == start) {
			/* Tolerate "a=1&&b=2" and a trailing '&'. */
			start = end + 1;
			continue;
		}
		for (eq = start; eq < end && text[eq] != '='; eq++)
			;
		if (eq == end) {
			*err = "parameter without '='";
			goto fail;
		}
		if (eq == start) {
			*err = "parameter with an empty name";
			goto fail;
		}
		if (pct_decode(text + start, eq - start, 1, &name) != 0 ||
			pct_decode(text + eq + 1, end - eq - 1, 1, &value) != 0) {
			free(name);
			*err = "malformed percent-encoding or NUL byte";
			goto fail;
		}
		if (form_get(out, name) != NULL) {
			free(name);
			free(value);
			*err = "repeated parameter";
			goto fail;
		}
		grown = realloc(out->fields, (out->n + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(name);
			free(value);
			*err = "out of memory";
			goto fail;
		}
		out->fields = grown;
		out->fields[out->n].name = name;
		out->fields[out->n].value = value;
		out->n++;
		start = end + 1;
	}
	return 0;
fail:
	form_free(out);
	return -1;
}

const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	return NULL;
}

void
form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	free(f->fields);
	f->fields = NULL;
	f->n = 0;
}

static int
b64_index(int c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Decode len symbols without padding; canonical trailing bits required. */
static int
b64_decode_core(const char *in, size_t len, int url, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len % 4 == 1)
		return -1;
	buf = malloc(len * 3 / 4 + 1);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_index((unsigned char)in[i], url);

		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) {
		free(buf);
		return -1;
	}
	buf[o] = 0;
	*out = buf;
	*outlen = o;
	return 0;
}

int
b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	return b64_decode_core(in, len, 1, out, outlen);
}

int
b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return -1;
	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	return b64_decode_core(in, len - pad, 0, out, outlen);
}

char *
b64url_encode(const unsigned char *in, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(len * 4 / 3 + 4);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return out;
}

char *
snake_to_camel(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t o = 0;
	int upper = 0;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '_' && o > 0) {
			upper = 1;
			continue;
		}
		out[o++] = upper ? (char)toupper((unsigned char)*s) : *s;
		upper = 0;
	}
	out[o] = '\0';
	return out;
}

json_t *
json_camelize(json_t *obj)
{
	json_t *res;
	const char *key;
	json_t *value;

	if (!json_is_object(obj))
		return json_incref(obj);
	res = json_object();
	if (res == NULL)
		return NULL;
	json_object_foreach (obj, key, value) {
		char *camel = snake_to_camel(key);

		if (camel == NULL || json_object_set(res, camel, value) != 0) {
			free(camel);
			json_decref(res);
			return NULL;
		}
		free(camel);
	}
	return res;
}

int
is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (hexval((unsigned char)s[i]) < 0) {
			return 0;
		}
	}
	return s[36] == '\0';
}

int
is_decimal_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 18 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

long
split_scopes(const char *s, char ***out)
{
	char **v = NULL;
	size_t n = 0;

	while (s != NULL && *s) {
		const char *end;
		char **grown;

		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		end = strchr(s, ' ');
		if (end == NULL)
			end = s + strlen(s);
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (grown == NULL)
			goto fail;
		v = grown;
		v[n] = strndup(s, (size_t)(end - s));
		if (v[n] == NULL)
			goto fail;
		n++;
		s = end;
	}
	*out = v;
	return (long)n;
fail:
	free_strings(v, n);
	return -1;
}

void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
