/*-------------------------------------------------------------------------
 *
 * jws.c
 *		Compact JWS with RS256: strict base64url, splitting, a strict JSON
 *		checker and the OpenSSL sign/verify calls.
 *
 * No PostgreSQL header and no allocation here (see jws.h): the verifier the
 * Wycheproof test exercises is byte for byte the one the server runs.
 *
 *-------------------------------------------------------------------------
 */
#include "jws.h"

#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

static const char b64url_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Map a base64url character to its 6-bit value, -1 if not in the alphabet. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Characters base64url(n bytes) takes, without padding. */
size_t
jws_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* Encode without padding, NUL-terminate, return the length written. */
size_t
jws_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		i;
	size_t		o = 0;

	for (i = 0; i + 3 <= n; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	}
	else if (n - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/*
 * Decode canonical base64url.  Every encoding has exactly one accepted
 * spelling, so a token cannot be altered without changing its signature
 * input: padding, the standard alphabet's '+' and '/', a dangling single
 * character and non-zero unused trailing bits are all refused.
 */
int
jws_b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
	size_t		i;
	size_t		o = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++)
	{
		int			v = b64url_value((unsigned char) in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (unsigned char) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits (2 or 4) must be zero in the canonical encoding. */
	if (acc != 0)
		return -1;
	*outlen = o;
	return 0;
}

/* A key id is 1..JWS_MAX_KID characters of [A-Za-z0-9._-]. */
int
jws_kid_valid(const char *kid, size_t len)
{
	size_t		i;

	if (len == 0 || len > JWS_MAX_KID)
		return 0;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) kid[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------------
 * Strict JSON checker
 * ---------------------------------------------------------------------
 */

/* Member names currently open on the nesting path, for duplicate checks. */
#define JSON_MAX_OPEN_KEYS	1024

typedef struct JsonSpan
{
	const unsigned char *start;	/* first byte after the opening quote */
	const unsigned char *stop;	/* the closing quote */
} JsonSpan;

typedef struct JsonState
{
	const unsigned char *p;
	const unsigned char *end;
	int			depth;
	int			nkeys;
	JsonSpan	keys[JSON_MAX_OPEN_KEYS];
} JsonState;

static int	json_value(JsonState *st);

/* Skip the four JSON whitespace characters. */
static void
json_ws(JsonState *st)
{
	while (st->p < st->end &&
		   (*st->p == ' ' || *st->p == '\t' || *st->p == '\n' || *st->p == '\r'))
		st->p++;
}

/* Read four hex digits at p (bounds already checked). */
static int
hex4(const unsigned char *p, uint32_t *v)
{
	int			i;

	*v = 0;
	for (i = 0; i < 4; i++)
	{
		unsigned char c = p[i];
		uint32_t	d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = (*v << 4) | d;
	}
	return 0;
}

/* Validate one UTF-8 sequence at p; return its length or -1. */
static int
utf8_seq(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	unsigned char c = p[0];
	int			len;
	uint32_t	v;
	int			i;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	else if (c >= 0xC2 && c <= 0xDF)
	{
		len = 2;
		v = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		len = 3;
		v = c & 0x0F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		len = 4;
		v = c & 0x07;
	}
	else
		return -1;
	if (end - p < len)
		return -1;
	for (i = 1; i < len; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		v = (v << 6) | (p[i] & 0x3F);
	}
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
		(v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*cp = v;
	return len;
}

/*
 * Decode the next code point of an already validated string literal body,
 * advancing *p.  Used to compare member names after unescaping.
 */
static uint32_t
json_next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t	cp;

	if (*s != '\\')
	{
		int			n = utf8_seq(s, s + 4, &cp);

		*p = s + (n > 0 ? n : 1);
		return cp;
	}
	switch (s[1])
	{
		case 'b':
			*p = s + 2;
			return '\b';
		case 'f':
			*p = s + 2;
			return '\f';
		case 'n':
			*p = s + 2;
			return '\n';
		case 'r':
			*p = s + 2;
			return '\r';
		case 't':
			*p = s + 2;
			return '\t';
		case 'u':
			{
				uint32_t	hi,
							lo;

				hex4(s + 2, &hi);
				if (hi >= 0xD800 && hi <= 0xDBFF)
				{
					hex4(s + 8, &lo);
					*p = s + 12;
					return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
				}
				*p = s + 6;
				return hi;
			}
		default:				/* '"', '\\', '/' stand for themselves */
			*p = s + 2;
			return s[1];
	}
}

/* Do two validated string literal bodies spell the same string? */
static int
json_same_string(const JsonSpan *a, const JsonSpan *b)
{
	const unsigned char *pa = a->start;
	const unsigned char *pb = b->start;

	if (a->stop - a->start == b->stop - b->start &&
		memcmp(a->start, b->start, a->stop - a->start) == 0)
		return 1;
	if (memchr(a->start, '\\', a->stop - a->start) == NULL &&
		memchr(b->start, '\\', b->stop - b->start) == NULL)
		return 0;
	while (pa < a->stop && pb < b->stop)
	{
		if (json_next_cp(&pa) != json_next_cp(&pb))
			return 0;
	}
	return pa == a->stop && pb == b->stop;
}

/*
 * Validate a string literal starting at the opening quote; on success the
 * span covers its body and st->p is past the closing quote.  Refuses what
 * PostgreSQL's jsonb input would refuse (\u0000, bad surrogates), so that
 * converting a checked payload to jsonb never raises.
 */
static int
json_string(JsonState *st, JsonSpan *span)
{
	const unsigned char *p = st->p;

	if (p >= st->end || *p != '"')
		return -1;
	p++;
	span->start = p;
	while (p < st->end && *p != '"')
	{
		uint32_t	cp;

		if (*p < 0x20)
			return -1;
		if (*p == '\\')
		{
			if (st->end - p < 2)
				return -1;
			switch (p[1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					p += 2;
					break;
				case 'u':
					if (st->end - p < 6 || hex4(p + 2, &cp) < 0 || cp == 0)
						return -1;
					if (cp >= 0xDC00 && cp <= 0xDFFF)
						return -1;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						uint32_t	lo;

						if (st->end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
							hex4(p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
							return -1;
						p += 12;
					}
					else
						p += 6;
					break;
				default:
					return -1;
			}
		}
		else
		{
			int			n = utf8_seq(p, st->end, &cp);

			if (n < 0)
				return -1;
			p += n;
		}
	}
	if (p >= st->end)
		return -1;
	span->stop = p;
	st->p = p + 1;
	return 0;
}

/*
 * Validate a number per RFC 8259.  The exponent is bounded so that the
 * value always fits PostgreSQL's numeric type.
 */
static int
json_number(JsonState *st)
{
	const unsigned char *p = st->p;
	const unsigned char *e = st->end;

	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return -1;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	if (p < e && *p == '.')
	{
		p++;
		if (p >= e || *p < '0' || *p > '9')
			return -1;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E'))
	{
		long		exp = 0;

		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			return -1;
		while (p < e && *p >= '0' && *p <= '9')
		{
			exp = exp * 10 + (*p - '0');
			if (exp > 1000)
				return -1;
			p++;
		}
	}
	st->p = p;
	return 0;
}

/* Validate an object at '{', refusing duplicate member names. */
static int
json_object(JsonState *st)
{
	int			base = st->nkeys;

	if (++st->depth > JWS_MAX_DEPTH)
		return -1;
	st->p++;					/* '{' */
	json_ws(st);
	if (st->p < st->end && *st->p == '}')
	{
		st->p++;
		st->depth--;
		return 0;
	}
	for (;;)
	{
		JsonSpan	key;
		int			i;

		json_ws(st);
		if (json_string(st, &key) < 0)
			return -1;
		for (i = base; i < st->nkeys; i++)
			if (json_same_string(&st->keys[i], &key))
				return -1;
		if (st->nkeys >= JSON_MAX_OPEN_KEYS)
			return -1;
		st->keys[st->nkeys++] = key;
		json_ws(st);
		if (st->p >= st->end || *st->p != ':')
			return -1;
		st->p++;
		if (json_value(st) < 0)
			return -1;
		json_ws(st);
		if (st->p >= st->end)
			return -1;
		if (*st->p == ',')
		{
			st->p++;
			continue;
		}
		if (*st->p == '}')
		{
			st->p++;
			break;
		}
		return -1;
	}
	/* Names of a closed object no longer constrain its siblings. */
	st->nkeys = base;
	st->depth--;
	return 0;
}

/* Validate an array at '['. */
static int
json_array(JsonState *st)
{
	if (++st->depth > JWS_MAX_DEPTH)
		return -1;
	st->p++;					/* '[' */
	json_ws(st);
	if (st->p < st->end && *st->p == ']')
	{
		st->p++;
		st->depth--;
		return 0;
	}
	for (;;)
	{
		if (json_value(st) < 0)
			return -1;
		json_ws(st);
		if (st->p >= st->end)
			return -1;
		if (*st->p == ',')
		{
			st->p++;
			continue;
		}
		if (*st->p == ']')
		{
			st->p++;
			break;
		}
		return -1;
	}
	st->depth--;
	return 0;
}

/* Validate one value, with surrounding whitespace. */
static int
json_value(JsonState *st)
{
	JsonSpan	span;
	int			rc;

	json_ws(st);
	if (st->p >= st->end)
		return -1;
	switch (*st->p)
	{
		case '{':
			rc = json_object(st);
			break;
		case '[':
			rc = json_array(st);
			break;
		case '"':
			rc = json_string(st, &span);
			break;
		case 't':
			rc = (st->end - st->p >= 4 && memcmp(st->p, "true", 4) == 0) ? 0 : -1;
			st->p += 4;
			break;
		case 'f':
			rc = (st->end - st->p >= 5 && memcmp(st->p, "false", 5) == 0) ? 0 : -1;
			st->p += 5;
			break;
		case 'n':
			rc = (st->end - st->p >= 4 && memcmp(st->p, "null", 4) == 0) ? 0 : -1;
			st->p += 4;
			break;
		default:
			rc = json_number(st);
			break;
	}
	json_ws(st);
	return rc;
}

/* Strict check of a JSON text that must be a single object. */
int
jws_json_check_object(const char *json, size_t len)
{
	JsonState	st;

	st.p = (const unsigned char *) json;
	st.end = st.p + len;
	st.depth = 0;
	st.nkeys = 0;
	json_ws(&st);
	if (st.p >= st.end || *st.p != '{')
		return -1;
	if (json_value(&st) < 0)
		return -1;
	return st.p == st.end ? 0 : -1;
}

/* Does the string literal body in span equal the ASCII text s exactly? */
static int
span_equals(const JsonSpan *span, const char *s)
{
	size_t		n = strlen(s);

	/* Escaped spellings are refused: a header is plain ASCII. */
	return (size_t) (span->stop - span->start) == n &&
		memcmp(span->start, s, n) == 0;
}

/*
 * Check a decoded JOSE header (already validated by jws_json_check_object):
 * exactly alg = "RS256", typ = "at+jwt" and a plain kid.  Every other
 * member, including jwk, jku, x5u, x5c and crit, is refused, so no
 * attacker-supplied key or critical extension can ever be considered.
 */
int
jws_header_check(const char *json, size_t len, char kid[JWS_MAX_KID + 1])
{
	JsonState	st;
	int			have_alg = 0,
				have_typ = 0,
				have_kid = 0;

	st.p = (const unsigned char *) json;
	st.end = st.p + len;
	st.depth = 0;
	st.nkeys = 0;
	json_ws(&st);
	if (st.p >= st.end || *st.p != '{')
		return -1;
	st.p++;
	for (;;)
	{
		JsonSpan	key,
					val;

		json_ws(&st);
		if (json_string(&st, &key) < 0)
			return -1;
		json_ws(&st);
		if (st.p >= st.end || *st.p != ':')
			return -1;
		st.p++;
		json_ws(&st);
		/* Every accepted member has a string value. */
		if (json_string(&st, &val) < 0)
			return -1;
		if (span_equals(&key, "alg") && !have_alg)
		{
			if (!span_equals(&val, "RS256"))
				return -1;
			have_alg = 1;
		}
		else if (span_equals(&key, "typ") && !have_typ)
		{
			if (!span_equals(&val, "at+jwt"))
				return -1;
			have_typ = 1;
		}
		else if (span_equals(&key, "kid") && !have_kid)
		{
			size_t		n = val.stop - val.start;

			if (!jws_kid_valid((const char *) val.start, n))
				return -1;
			memcpy(kid, val.start, n);
			kid[n] = '\0';
			have_kid = 1;
		}
		else
			return -1;
		json_ws(&st);
		if (st.p >= st.end)
			return -1;
		if (*st.p == ',')
		{
			st.p++;
			continue;
		}
		if (*st.p == '}')
		{
			st.p++;
			break;
		}
		return -1;
	}
	json_ws(&st);
	if (st.p != st.end)
		return -1;
	return (have_alg && have_typ && have_kid) ? 0 : -1;
}

/*
 * Split a compact JWS into its three parts and decode them.  Every part must
 * be non-empty canonical base64url, so there is exactly one spelling of a
 * given token.
 */
int
jws_split(const char *token, size_t len, JwsToken *tok)
{
	const char *dot1;
	const char *dot2;
	size_t		hlen,
				plen,
				slen;

	if (len == 0 || len > JWS_MAX_TOKEN)
		return -1;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return -1;
	dot2 = memchr(dot1 + 1, '.', len - (dot1 + 1 - token));
	if (dot2 == NULL)
		return -1;
	if (memchr(dot2 + 1, '.', len - (dot2 + 1 - token)) != NULL)
		return -1;
	hlen = dot1 - token;
	plen = dot2 - (dot1 + 1);
	slen = len - (dot2 + 1 - token);
	if (hlen == 0 || plen == 0 || slen == 0)
		return -1;
	/* The decoder refuses every byte outside the alphabet, NUL included. */
	if (jws_b64url_decode(token, hlen, tok->header, &tok->header_len) < 0 ||
		jws_b64url_decode(dot1 + 1, plen, tok->payload, &tok->payload_len) < 0 ||
		jws_b64url_decode(dot2 + 1, slen, tok->sig, &tok->sig_len) < 0)
		return -1;
	tok->signing_input = token;
	tok->signing_input_len = dot2 - token;
	return 0;
}

/*
 * Split and decode a compact JWS and check everything but the signature:
 * the header policy of jws_header_check and a payload that is a strict JSON
 * object.
 */
int
jws_parse(const char *token, size_t len, JwsToken *tok)
{
	if (jws_split(token, len, tok) < 0)
		return -1;
	if (jws_json_check_object((const char *) tok->header, tok->header_len) < 0 ||
		jws_header_check((const char *) tok->header, tok->header_len, tok->kid) < 0)
		return -1;
	if (jws_json_check_object((const char *) tok->payload, tok->payload_len) < 0)
		return -1;
	return 0;
}

/*
 * RS256 (RSASSA-PKCS1-v1_5 with SHA-256) verification.  The signature must
 * be exactly the modulus length: shorter or longer encodings are refused
 * before OpenSSL sees them.
 */
int
jws_rs256_verify(EVP_PKEY *pkey, const unsigned char *msg, size_t msglen,
				 const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int			ok = 0;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
		return 0;
	if (EVP_PKEY_get_size(pkey) <= 0 || siglen != (size_t) EVP_PKEY_get_size(pkey))
		return 0;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return 0;
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	/* A refused signature leaves errors queued; they belong to nobody. */
	ERR_clear_error();
	return ok;
}

/* RS256 signature of msg into sig; returns its length, 0 on failure. */
size_t
jws_rs256_sign(EVP_PKEY *pkey, const unsigned char *msg, size_t msglen,
			   unsigned char *sig)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	size_t		siglen = (size_t) EVP_PKEY_get_size(pkey);
	size_t		result = 0;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return 0;
	if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, msg, msglen) == 1)
		result = siglen;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return result;
}
