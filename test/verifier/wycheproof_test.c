/*
 * wycheproof_test.c
 *		Prove the extension's JWS verifier (extension/jws.c, linked as is)
 *		against Google's Wycheproof vectors and a table of strict-parser
 *		cases.  Prints one line per failure and ends with
 *		"RESULT: N passed, M failed".
 *
 * Usage: wycheproof_test VECTOR_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jws.h"

static int	passed;
static int	failed;

/* Record one expectation. */
static void
check(int ok, const char *suite, const char *what)
{
	if (ok)
		passed++;
	else
	{
		failed++;
		printf("FAIL %s: %s\n", suite, what);
	}
}

/* Decode a hex string into a malloc'd buffer. */
static unsigned char *
unhex(const char *hex, size_t *len)
{
	size_t		n = strlen(hex) / 2;
	unsigned char *out = malloc(n + 1);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (unsigned char) b;
	}
	*len = n;
	return out;
}

/* RSASSA-PKCS1-v1_5 SHA-256 vectors straight into jws_rs256_verify. */
static void
run_rsa_signature(const char *dir)
{
	char		path[1024];
	json_error_t err;
	json_t	   *root;
	json_t	   *groups;
	size_t		gi;

	snprintf(path, sizeof(path), "%s/rsa_signature_2048_sha256_test.json", dir);
	root = json_load_file(path, 0, &err);
	if (root == NULL)
	{
		printf("FAIL cannot read %s: %s\n", path, err.text);
		failed++;
		return;
	}
	groups = json_object_get(root, "testGroups");
	for (gi = 0; gi < json_array_size(groups); gi++)
	{
		json_t	   *g = json_array_get(groups, gi);
		size_t		derlen,
					ti;
		unsigned char *der = unhex(json_string_value(json_object_get(g, "publicKeyDer")), &derlen);
		const unsigned char *p = der;
		EVP_PKEY   *pkey = d2i_PUBKEY(NULL, &p, (long) derlen);
		json_t	   *tests = json_object_get(g, "tests");

		if (pkey == NULL)
		{
			check(0, "rsa_signature", "public key does not parse");
			free(der);
			continue;
		}
		for (ti = 0; ti < json_array_size(tests); ti++)
		{
			json_t	   *t = json_array_get(tests, ti);
			const char *result = json_string_value(json_object_get(t, "result"));
			size_t		mlen,
						slen;
			unsigned char *msg = unhex(json_string_value(json_object_get(t, "msg")), &mlen);
			unsigned char *sig = unhex(json_string_value(json_object_get(t, "sig")), &slen);
			int			ok = jws_rs256_verify(pkey, msg, mlen, sig, slen);
			char		what[256];

			snprintf(what, sizeof(what), "tcId %d (%s) expected %s, verifier %s",
					 (int) json_integer_value(json_object_get(t, "tcId")),
					 json_string_value(json_object_get(t, "comment")),
					 result, ok ? "accepted" : "refused");
			if (strcmp(result, "valid") == 0)
				check(ok == 1, "rsa_signature", what);
			else if (strcmp(result, "invalid") == 0)
				check(ok == 0, "rsa_signature", what);
			else				/* "acceptable": a legacy form; we refuse it */
				check(ok == 0, "rsa_signature (acceptable, refused by policy)", what);
			free(msg);
			free(sig);
		}
		EVP_PKEY_free(pkey);
		free(der);
	}
	json_decref(root);
}

/* Build an RSA public key from a JWK's base64url n and e. */
static EVP_PKEY *
jwk_rsa_public(json_t *jwk)
{
	const char *n64 = json_string_value(json_object_get(jwk, "n"));
	const char *e64 = json_string_value(json_object_get(jwk, "e"));
	unsigned char n[1024],
				e[16];
	size_t		nlen,
				elen;
	BIGNUM	   *bn_n,
			   *bn_e;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY   *pkey = NULL;

	if (n64 == NULL || e64 == NULL || strlen(n64) > 1300 || strlen(e64) > 16 ||
		jws_b64url_decode(n64, strlen(n64), n, &nlen) < 0 ||
		jws_b64url_decode(e64, strlen(e64), e, &elen) < 0)
		return NULL;
	bn_n = BN_bin2bn(n, (int) nlen, NULL);
	bn_e = BN_bin2bn(e, (int) elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

/*
 * Wycheproof's JWS RS256 groups: compact tokens through the same split,
 * canonical base64url decoding and signature check as the server.  Their
 * headers carry no typ, so the at+jwt policy is exercised separately.
 */
static void
run_jws(const char *dir)
{
	char		path[1024];
	json_error_t err;
	json_t	   *root;
	json_t	   *groups;
	size_t		gi;
	JwsToken   *tok = malloc(sizeof(JwsToken));

	snprintf(path, sizeof(path), "%s/json_web_signature_test.json", dir);
	root = json_load_file(path, 0, &err);
	if (root == NULL)
	{
		printf("FAIL cannot read %s: %s\n", path, err.text);
		failed++;
		free(tok);
		return;
	}
	groups = json_object_get(root, "testGroups");
	for (gi = 0; gi < json_array_size(groups); gi++)
	{
		json_t	   *g = json_array_get(groups, gi);
		json_t	   *pub = json_object_get(g, "public");
		const char *alg = json_string_value(json_object_get(pub, "alg"));
		json_t	   *tests = json_object_get(g, "tests");
		EVP_PKEY   *pkey;
		size_t		ti;

		if (alg == NULL || strcmp(alg, "RS256") != 0)
			continue;
		pkey = jwk_rsa_public(pub);
		if (pkey == NULL)
		{
			check(0, "jws", "JWK does not load");
			continue;
		}
		for (ti = 0; ti < json_array_size(tests); ti++)
		{
			json_t	   *t = json_array_get(tests, ti);
			const char *result = json_string_value(json_object_get(t, "result"));
			const char *jws = json_string_value(json_object_get(t, "jws"));
			int			ok = 0;
			char		what[256];

			if (jws != NULL && jws_split(jws, strlen(jws), tok) == 0)
				ok = jws_rs256_verify(pkey, (const unsigned char *) tok->signing_input,
									  tok->signing_input_len, tok->sig, tok->sig_len);
			snprintf(what, sizeof(what), "tcId %d (%s) expected %s, verifier %s",
					 (int) json_integer_value(json_object_get(t, "tcId")),
					 json_string_value(json_object_get(t, "comment")),
					 result, ok ? "accepted" : "refused");
			/* Policy: every part must be non-empty, so this valid JWS is refused. */
			if (strcmp(json_string_value(json_object_get(t, "comment")), "emptyPayload") == 0)
				check(ok == 0, "jws (valid, refused by the non-empty-part policy)", what);
			else if (strcmp(result, "valid") == 0)
				check(ok == 1, "jws", what);
			else
				check(ok == 0, "jws", what);
		}
		EVP_PKEY_free(pkey);
	}
	json_decref(root);
	free(tok);
}

/* Sign header.payload with key and return a malloc'd compact token. */
static char *
make_token(EVP_PKEY *key, const char *header, const char *payload)
{
	char	   *tok = malloc(3 * JWS_MAX_TOKEN);
	unsigned char sig[1024];
	size_t		n,
				siglen;

	n = jws_b64url_encode((const unsigned char *) header, strlen(header), tok);
	tok[n++] = '.';
	n += jws_b64url_encode((const unsigned char *) payload, strlen(payload), tok + n);
	siglen = jws_rs256_sign(key, (const unsigned char *) tok, n, sig);
	tok[n++] = '.';
	jws_b64url_encode(sig, siglen, tok + n);
	return tok;
}

/* Full server path: parse (header policy, strict JSON) then signature. */
static int
full_verify(EVP_PKEY *key, const char *token, char *kid_out)
{
	JwsToken   *tok = malloc(sizeof(JwsToken));
	int			ok = 0;

	if (jws_parse(token, strlen(token), tok) == 0)
	{
		ok = jws_rs256_verify(key, (const unsigned char *) tok->signing_input,
							  tok->signing_input_len, tok->sig, tok->sig_len);
		if (kid_out)
			strcpy(kid_out, tok->kid);
	}
	free(tok);
	return ok;
}

#define GOOD_HEADER "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}"
#define GOOD_CLAIMS "{\"sub\":\"a\",\"exp\":1700000000,\"scope\":\"x y\"}"

/* Header and payload variants: expected outcome of the full verifier. */
static const struct
{
	const char *name;
	const char *header;
	const char *payload;
	int			accept;
}			parser_cases[] = {
	{"well-formed token", GOOD_HEADER, GOOD_CLAIMS, 1},
	{"members in another order", "{\"kid\":\"k1\",\"typ\":\"at+jwt\",\"alg\":\"RS256\"}", GOOD_CLAIMS, 1},
	{"whitespace in JSON", " { \"alg\" : \"RS256\" ,\n\"typ\":\"at+jwt\",\"kid\":\"k1\" } ", "{ \"a\" : [ 1 , { } ] }", 1},
	{"nested objects may reuse a name", GOOD_HEADER, "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", 1},
	{"unicode escapes", GOOD_HEADER, "{\"n\":\"\\u00e9\\ud83d\\ude00\"}", 1},
	{"alg none", "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg HS256", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg RS384", "{\"alg\":\"RS384\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg PS256", "{\"alg\":\"PS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg lower case", "{\"alg\":\"rs256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg escaped", "{\"alg\":\"RS\\u0032\\u0035\\u0036\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg missing", "{\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"alg not a string", "{\"alg\":1,\"typ\":\"at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"typ missing", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"typ JWT", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"typ application/at+jwt", "{\"alg\":\"RS256\",\"typ\":\"application/at+jwt\",\"kid\":\"k1\"}", GOOD_CLAIMS, 0},
	{"kid missing", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", GOOD_CLAIMS, 0},
	{"kid empty", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"\"}", GOOD_CLAIMS, 0},
	{"kid path traversal", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"../k1\"}", GOOD_CLAIMS, 0},
	{"kid with quote escape", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k\\\"1\"}", GOOD_CLAIMS, 0},
	{"kid with space", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k 1\"}", GOOD_CLAIMS, 0},
	{"kid 65 characters", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", GOOD_CLAIMS, 0},
	{"kid not a string", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":7}", GOOD_CLAIMS, 0},
	{"jwk header", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"jwk\":{\"kty\":\"RSA\"}}", GOOD_CLAIMS, 0},
	{"jku header", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"jku\":\"http://x\"}", GOOD_CLAIMS, 0},
	{"x5u header", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"x5u\":\"http://x\"}", GOOD_CLAIMS, 0},
	{"x5c header", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"x5c\":[\"MIIB\"]}", GOOD_CLAIMS, 0},
	{"crit header", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", GOOD_CLAIMS, 0},
	{"unknown header member", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"cty\":\"x\"}", GOOD_CLAIMS, 0},
	{"duplicate alg", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"alg\":\"RS256\"}", GOOD_CLAIMS, 0},
	{"duplicate kid", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"kid\":\"k2\"}", GOOD_CLAIMS, 0},
	{"header is an array", "[\"RS256\"]", GOOD_CLAIMS, 0},
	{"header trailing garbage", GOOD_HEADER "x", GOOD_CLAIMS, 0},
	{"duplicate claim", GOOD_HEADER, "{\"sub\":\"a\",\"sub\":\"b\"}", 0},
	{"duplicate claim spelled with an escape", GOOD_HEADER, "{\"sub\":\"a\",\"s\\u0075b\":\"b\"}", 0},
	{"duplicate nested member", GOOD_HEADER, "{\"m\":{\"x\":1,\"x\":2}}", 0},
	{"payload is an array", GOOD_HEADER, "[1,2]", 0},
	{"payload is a string", GOOD_HEADER, "\"sub\"", 0},
	{"payload not JSON", GOOD_HEADER, "foo", 0},
	{"payload trailing comma", GOOD_HEADER, "{\"a\":1,}", 0},
	{"payload two objects", GOOD_HEADER, "{}{}", 0},
	{"payload NUL escape", GOOD_HEADER, "{\"a\":\"\\u0000\"}", 0},
	{"payload lone low surrogate", GOOD_HEADER, "{\"a\":\"\\udc00\"}", 0},
	{"payload lone high surrogate", GOOD_HEADER, "{\"a\":\"\\ud800x\"}", 0},
	{"payload invalid UTF-8", GOOD_HEADER, "{\"a\":\"\xc3\x28\"}", 0},
	{"payload overlong UTF-8", GOOD_HEADER, "{\"a\":\"\xc0\xaf\"}", 0},
	{"payload control character", GOOD_HEADER, "{\"a\":\"\x01\"}", 0},
	{"payload leading zero", GOOD_HEADER, "{\"a\":01}", 0},
	{"payload huge exponent", GOOD_HEADER, "{\"a\":1e1000000}", 0},
	{"payload NaN", GOOD_HEADER, "{\"a\":NaN}", 0},
	{"payload single quotes", GOOD_HEADER, "{'a':1}", 0},
	{"payload too deep", GOOD_HEADER, "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0},
};

/* Mutate a good token's encoding; expected outcome per mutation. */
static void
run_encoding_cases(EVP_PKEY *key, EVP_PKEY *other)
{
	char	   *good = make_token(key, GOOD_HEADER, GOOD_CLAIMS);
	char	   *foreign = make_token(other, GOOD_HEADER, GOOD_CLAIMS);
	size_t		n = strlen(good);
	char	   *buf = malloc(2 * JWS_MAX_TOKEN + 16);
	char		kid[JWS_MAX_KID + 1] = "";
	char	   *lastdot = strrchr(good, '.');
	char	   *firstdot = strchr(good, '.');
	char		c;

	check(full_verify(key, good, kid) == 1 && strcmp(kid, "k1") == 0, "encoding", "good token accepted with kid k1");
	check(full_verify(key, foreign, NULL) == 0, "encoding", "signature by another key refused");

	snprintf(buf, 2 * JWS_MAX_TOKEN, "%s=", good);
	check(full_verify(key, buf, NULL) == 0, "encoding", "padding '=' on signature refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%.*s=%s", (int) (firstdot - good), good, firstdot);
	check(full_verify(key, buf, NULL) == 0, "encoding", "padding '=' on header refused");
	strcpy(buf, good);
	buf[n - 1] = (buf[n - 1] == 'A') ? 'B' : 'A';
	check(full_verify(key, buf, NULL) == 0, "encoding", "last signature character changed refused");
	/* 256-byte signature = 342 chars + 2 unused bits: flipping one is non-canonical. */
	strcpy(buf, good);
	c = buf[n - 1];
	buf[n - 1] = (char) ((c == 'A') ? 'B' : (c == 'Q') ? 'R' : c + 1);
	check(full_verify(key, buf, NULL) == 0, "encoding", "non-zero trailing bits refused");
	strcpy(buf, good);
	{
		char	   *sigpart = buf + (lastdot + 1 - good);
		char	   *u = strchr(sigpart, '_');
		char	   *d = strchr(sigpart, '-');

		if (u)
			*u = '/';
		else if (d)
			*d = '+';
		else
			buf[n - 2] = '+';
		check(full_verify(key, buf, NULL) == 0, "encoding", "standard base64 alphabet refused");
	}
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%.*s", (int) (lastdot - good), good);
	check(full_verify(key, buf, NULL) == 0, "encoding", "two parts refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%s.", good);
	check(full_verify(key, buf, NULL) == 0, "encoding", "four parts (trailing dot) refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%s.%s", good, lastdot + 1);
	check(full_verify(key, buf, NULL) == 0, "encoding", "four parts refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%.*s..%s", (int) (firstdot - good), good, lastdot + 1);
	check(full_verify(key, buf, NULL) == 0, "encoding", "empty payload refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%.*s.", (int) (lastdot - good), good);
	check(full_verify(key, buf, NULL) == 0, "encoding", "empty signature refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, "%s", firstdot);
	check(full_verify(key, buf, NULL) == 0, "encoding", "empty header refused");
	snprintf(buf, 2 * JWS_MAX_TOKEN, " %s", good);
	check(full_verify(key, buf, NULL) == 0, "encoding", "leading space refused");
	check(full_verify(key, "", NULL) == 0, "encoding", "empty string refused");
	free(good);

	/* Size limit: a valid token of 8192 bytes passes, one of 8193 does not. */
	{
		char		claims[JWS_MAX_TOKEN];
		char	   *tok;
		int			pad = 5000;
		int			i;

		for (i = 0; i < 4; i++)
		{
			size_t		len;

			snprintf(claims, sizeof(claims), "{\"p\":\"%0*d\"}", pad, 0);
			tok = make_token(key, GOOD_HEADER, claims);
			len = strlen(tok);
			if (len == JWS_MAX_TOKEN || len == JWS_MAX_TOKEN + 1)
			{
				check(full_verify(key, tok, NULL) == (len == JWS_MAX_TOKEN),
					  "encoding", len == JWS_MAX_TOKEN ? "8192-byte token accepted" : "8193-byte token refused");
			}
			free(tok);
			pad += 1;
		}
		/* Walk to the exact boundary lengths. */
		for (pad = 5500; pad < 6200; pad++)
		{
			size_t		len;

			snprintf(claims, sizeof(claims), "{\"p\":\"%0*d\"}", pad, 0);
			tok = make_token(key, GOOD_HEADER, claims);
			len = strlen(tok);
			if (len == JWS_MAX_TOKEN)
				check(full_verify(key, tok, NULL) == 1, "encoding", "8192-byte token accepted");
			else if (len > JWS_MAX_TOKEN)
			{
				check(full_verify(key, tok, NULL) == 0, "encoding", "token over 8192 bytes refused");
				free(tok);
				break;
			}
			free(tok);
		}
	}
	free(foreign);
	free(buf);
}

/* The header/payload policy table, through the full verifier. */
static void
run_parser_cases(EVP_PKEY *key)
{
	size_t		i;

	for (i = 0; i < sizeof(parser_cases) / sizeof(parser_cases[0]); i++)
	{
		char	   *tok = make_token(key, parser_cases[i].header, parser_cases[i].payload);
		char		what[256];
		int			ok = full_verify(key, tok, NULL);

		snprintf(what, sizeof(what), "%s: expected %s, verifier %s", parser_cases[i].name,
				 parser_cases[i].accept ? "accept" : "refuse", ok ? "accepted" : "refused");
		check(ok == parser_cases[i].accept, "parser", what);
		free(tok);
	}
}

/* Generate an RSA key for the self-made cases. */
static EVP_PKEY *
new_key(void)
{
	EVP_PKEY   *key = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 ||
		EVP_PKEY_generate(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* Run every suite; exit status 1 if anything failed. */
int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/work/shared/testvectors/wycheproof";
	EVP_PKEY   *key = new_key();
	EVP_PKEY   *other = new_key();
	int			before;

	before = passed + failed;
	run_rsa_signature(dir);
	printf("wycheproof rsa_signature_2048_sha256: %d vectors\n", passed + failed - before);
	before = passed + failed;
	run_jws(dir);
	printf("wycheproof json_web_signature (RS256 groups): %d vectors\n", passed + failed - before);
	before = passed + failed;
	if (key == NULL || other == NULL)
		check(0, "setup", "RSA key generation failed");
	else
	{
		run_parser_cases(key);
		run_encoding_cases(key, other);
	}
	printf("strict parser and encoding cases: %d\n", passed + failed - before);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	printf("RESULT: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
