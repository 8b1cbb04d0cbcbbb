/*
 * fuzz_jwt: the bridge's token verifier jwt_verify_with (bridge/jwt_verify.c)
 * and, differentially, the extension's parser jws_parse (extension/jws.c).
 *
 * The first input byte picks a mode:
 *  0: parse only (no key), as jwt_verify does before the key lookup;
 *  1: full verification of the raw input with a fixed RSA key;
 *  2: the rest is "<header JSON>\n<payload JSON>", which the target signs
 *     with that key, so the fuzzer reaches the header policy and the claim
 *     checks behind the signature (exp, nbf, iss, sub, jti, scope).
 *
 * Properties besides memory safety:
 *  - an accepted token's header is exactly {alg:RS256, typ:at+jwt, kid};
 *    its iss is the configured issuer, exp + leeway is in the future, nbf
 *    (if any) is not beyond the leeway, sub is a UUID;
 *  - whatever the extension's strict parser accepts, the bridge's parser
 *    accepts too, with the same kid (the two verifiers must agree on what
 *    a well-formed token is).
 */
#include "../../bridge/http_util.h"
#include "../../bridge/jwt_verify.h"
#include "../../extension/jws.h"
#include "fuzz_common.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>

#define FUZZ_ISSUER "http://127.0.0.1:8080"
#define FUZZ_NOW    1800000000LL

static EVP_PKEY *key;

static void
init_key(void)
{
	if (key == NULL) {
		key = EVP_RSA_gen(2048);
		if (key == NULL)
			abort();
	}
}

static char *
sign_token(const char *h, size_t hlen, const char *p, size_t plen)
{
	char *hb = b64url_encode((const unsigned char *)h, hlen);
	char *pb = b64url_encode((const unsigned char *)p, plen);
	size_t inlen = strlen(hb) + 1 + strlen(pb);
	char *input = malloc(inlen + 1);
	unsigned char sig[512];
	size_t siglen;
	char *sb, *tok;

	snprintf(input, inlen + 1, "%s.%s", hb, pb);
	siglen = jws_rs256_sign(key, (const unsigned char *)input, inlen, sig);
	if (siglen == 0)
		abort();
	sb = b64url_encode(sig, siglen);
	tok = malloc(inlen + 1 + strlen(sb) + 1);
	sprintf(tok, "%s.%s", input, sb);
	free(hb);
	free(pb);
	free(sb);
	free(input);
	return tok;
}

static void
check_accepted(const char *tok, const struct jwt_claims *c)
{
	json_t *iss = json_object_get(c->claims, "iss");
	json_t *nbf = json_object_get(c->claims, "nbf");

	if (!json_is_string(iss) || strcmp(json_string_value(iss), FUZZ_ISSUER) != 0)
		abort();
	/* Leeway on the clock side: exp/nbf may be INT64_MAX/INT64_MIN. */
	if (c->exp <= FUZZ_NOW - JWT_LEEWAY_SECONDS)
		abort();
	if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > FUZZ_NOW + JWT_LEEWAY_SECONDS))
		abort();
	if (!is_uuid(c->sub))
		abort();
	{
		/* The header of an accepted token is exactly what we issue. */
		const char *dot = strchr(tok, '.');
		unsigned char *raw;
		size_t rawlen;
		json_t *h;

		if (b64url_decode(tok, (size_t)(dot - tok), &raw, &rawlen) != 0)
			abort();
		h = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
		if (h == NULL || json_object_size(h) != 3 ||
			strcmp(json_string_value(json_object_get(h, "alg")), "RS256") != 0 ||
			strcmp(json_string_value(json_object_get(h, "typ")), "at+jwt") != 0)
			abort();
		json_decref(h);
		free(raw);
	}
}

static void
differential(const char *tok, size_t len)
{
	static JwsToken jt;
	struct jwt_claims c;
	char *kid = NULL;
	const char *why = NULL;
	int rb;

	if (jws_parse(tok, len, &jt) != 0)
		return;
	rb = jwt_verify_with(tok, NULL, FUZZ_ISSUER, FUZZ_NOW, &c, &kid, &why);
	if (rb < 0 || kid == NULL || strcmp(kid, jt.kid) != 0) {
		fprintf(stderr, "extension accepts a token the bridge refuses (%s)\n", why ? why : "?");
		abort();
	}
	free(kid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims c;
	const char *why = NULL;
	char *tok;

	if (len < 1)
		return 0;
	init_key();
	switch (data[0] % 3) {
	case 0: {
		char *kid = NULL;

		tok = fuzz_strndup(data + 1, len - 1);
		if (jwt_verify_with(tok, NULL, FUZZ_ISSUER, FUZZ_NOW, &c, &kid, &why) >= 0 && kid == NULL)
			abort();
		free(kid);
		if (strlen(tok) == len - 1)
			differential(tok, len - 1);
		free(tok);
		break;
	}
	case 1:
		tok = fuzz_strndup(data + 1, len - 1);
		if (jwt_verify_with(tok, key, FUZZ_ISSUER, FUZZ_NOW, &c, NULL, &why) == 0) {
			/* Only a signature by our key can pass: random input never should. */
			check_accepted(tok, &c);
			jwt_claims_free(&c);
		}
		free(tok);
		break;
	default: {
		char *h, *p;
		size_t hl, pl;

		if (len > 6000)
			return 0;
		fuzz_split(data + 1, len - 1, '\n', &h, &hl, &p, &pl);
		tok = sign_token(h, hl, p, pl);
		if (jwt_verify_with(tok, key, FUZZ_ISSUER, FUZZ_NOW, &c, NULL, &why) == 0) {
			check_accepted(tok, &c);
			jwt_claims_free(&c);
		}
		differential(tok, strlen(tok));
		free(tok);
		free(h);
		free(p);
		break;
	}
	}
	return 0;
}
