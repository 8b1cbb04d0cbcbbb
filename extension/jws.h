/*-------------------------------------------------------------------------
 *
 * jws.h
 *		Compact JWS (RFC 7515) with RS256 only: strict base64url, token
 *		splitting, a strict JSON checker and the OpenSSL signature calls.
 *
 * This module deliberately includes no PostgreSQL header and allocates no
 * memory: the extension (jwt.c) and the standalone Wycheproof test
 * (test/verifier/wycheproof_test.c) link the very same code, so what the
 * test proves is what the server runs.  All buffers are supplied by the
 * caller and bounded by JWS_MAX_TOKEN.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AGENTIDP_JWS_H
#define AGENTIDP_JWS_H

#include <stddef.h>
#include <openssl/evp.h>

/* Longest token we look at; anything longer is refused before parsing. */
#define JWS_MAX_TOKEN		8192
/* Decoded parts can never exceed 3/4 of the token. */
#define JWS_MAX_DECODED		(JWS_MAX_TOKEN / 4 * 3)
/* Longest key id, and its alphabet (see jws_kid_valid). */
#define JWS_MAX_KID			64
/* Deepest JSON nesting accepted (recursion bound). */
#define JWS_MAX_DEPTH		32

/* A parsed (not yet verified) compact JWS. */
typedef struct JwsToken
{
	char		kid[JWS_MAX_KID + 1];
	size_t		signing_input_len;	/* bytes of "header.payload" */
	const char *signing_input;	/* points into the caller's token */
	unsigned char header[JWS_MAX_DECODED];
	size_t		header_len;
	unsigned char payload[JWS_MAX_DECODED];
	size_t		payload_len;
	unsigned char sig[JWS_MAX_DECODED];
	size_t		sig_len;
} JwsToken;

/* Characters base64url(n bytes) takes, without padding. */
extern size_t jws_b64url_len(size_t n);

/* Encode without padding; out must hold jws_b64url_len(n) + 1 bytes. */
extern size_t jws_b64url_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decode canonical base64url: no padding, no '+' or '/', no whitespace, no
 * non-zero trailing bits.  out must hold n / 4 * 3 + 2 bytes.  0 or -1.
 */
extern int	jws_b64url_decode(const char *in, size_t n, unsigned char *out,
							  size_t *outlen);

/*
 * Strict JSON check: one top-level object, RFC 8259 grammar, valid UTF-8,
 * no duplicate member names at any depth (after unescaping), no \u0000 or
 * unpaired surrogate, exponents within +-1000.  Returns 0 or -1.
 */
extern int	jws_json_check_object(const char *json, size_t len);

/* A key id is 1..JWS_MAX_KID characters of [A-Za-z0-9._-]. */
extern int	jws_kid_valid(const char *kid, size_t len);

/*
 * Check a decoded JOSE header: exactly the members alg = "RS256",
 * typ = "at+jwt" and kid (valid per jws_kid_valid), all strings; anything
 * else (jwk, jku, x5u, x5c, crit, unknown members) is refused.  The header
 * must already have passed jws_json_check_object.  kid is copied out.
 */
extern int	jws_header_check(const char *json, size_t len,
							 char kid[JWS_MAX_KID + 1]);

/*
 * Split a compact JWS into exactly three non-empty parts of canonical
 * base64url (at most JWS_MAX_TOKEN bytes in all) and decode them into tok.
 * No JSON is looked at.  0 or -1.
 */
extern int	jws_split(const char *token, size_t len, JwsToken *tok);

/*
 * Split and decode a compact JWS (jws_split), check its header and that its payload is
 * a strict JSON object.  Does not check the signature.  0 or -1.
 */
extern int	jws_parse(const char *token, size_t len, JwsToken *tok);

/* RS256 over msg: 1 if sig is valid for pkey (an RSA key), else 0. */
extern int	jws_rs256_verify(EVP_PKEY *pkey, const unsigned char *msg,
							 size_t msglen, const unsigned char *sig,
							 size_t siglen);

/*
 * RS256 signature of msg into sig (which holds EVP_PKEY_get_size(pkey)
 * bytes).  Returns the signature length, or 0 on failure.
 */
extern size_t jws_rs256_sign(EVP_PKEY *pkey, const unsigned char *msg,
							 size_t msglen, unsigned char *sig);

#endif							/* AGENTIDP_JWS_H */
