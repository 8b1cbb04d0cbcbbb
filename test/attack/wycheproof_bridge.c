/*
 * wycheproof_bridge: the Project Wycheproof JWS vectors against the BRIDGE's
 * verifier code (bridge/jwt_verify.c + bridge/http_util.c, linked as they
 * are). test/verifier/ runs the same file against the extension's jws.c;
 * this driver proves the bridge's own path: canonical base64url decoding
 * (b64url_decode), the key built from the JWK (jwt_rsa_key_from_jwk) and
 * the RS256 check (jwt_rs256_verify).
 *
 * RS256-relevant cases: every test whose protected header says "RS256" and
 * whose group has an RSA public key (kty RSA or n/e present). For those,
 * "valid" must verify and "invalid" must be refused (by decoding or by the
 * signature). Groups whose key is not usable for RS256 verification
 * ("use": "enc", key_ops without "verify") are counted as policy cases: the
 * bridge never takes keys from anywhere but its own JWKS, so they are
 * reported, not run. Prints one line per failure and a summary:
 *   wycheproof: N rs256 cases, V valid accepted, I invalid refused, F failed
 * Usage: wycheproof_bridge json_web_signature_test.json [rsa_signature_2048_sha256_test.json]
 */
#include "http_util.h"
#include "jwt_verify.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static int
header_alg_is_rs256(const char *jws, size_t hlen)
{
	unsigned char *raw;
	size_t rawlen;
	json_t *h;
	int rs = 0;

	if (b64url_decode(jws, hlen, &raw, &rawlen) != 0)
		return -1; /* undecodable header: the case is still RS256-relevant if the key is */
	h = json_loadb((const char *)raw, rawlen, 0, NULL);
	rs = h && json_is_string(json_object_get(h, "alg")) &&
		 strcmp(json_string_value(json_object_get(h, "alg")), "RS256") == 0;
	json_decref(h);
	free(raw);
	return rs;
}

static int
hexdecode(const char *hex, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(hex) / 2;
	unsigned char *b = malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			free(b);
			return -1;
		}
		b[i] = (unsigned char)v;
	}
	*out = b;
	*outlen = n;
	return 0;
}

/*
 * RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (rsa_signature_2048_sha256_test.json):
 * jwt_rs256_verify must accept "valid" and refuse "invalid"; "acceptable"
 * (legacy encodings) may go either way and is only counted.
 */
static int
pkcs1_file(const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr), *g, *t;
	size_t gi, ti;
	int total = 0, valid_ok = 0, invalid_ok = 0, acceptable = 0, failed = 0;

	if (doc == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return 1;
	}
	json_array_foreach (json_object_get(doc, "testGroups"), gi, g) {
		json_t *jwk = json_object_get(g, "keyJwk");
		EVP_PKEY *key = jwt_rsa_key_from_jwk(json_string_value(json_object_get(jwk, "n")),
											 json_string_value(json_object_get(jwk, "e")));

		json_array_foreach (json_object_get(g, "tests"), ti, t) {
			const char *result = json_string_value(json_object_get(t, "result"));
			unsigned char *msg = NULL, *sig = NULL;
			size_t msglen = 0, siglen = 0;
			int accepted = 0;

			total++;
			if (key != NULL &&
				hexdecode(json_string_value(json_object_get(t, "msg")), &msg, &msglen) == 0 &&
				hexdecode(json_string_value(json_object_get(t, "sig")), &sig, &siglen) == 0)
				accepted = jwt_rs256_verify(key, (const char *)msg, msglen, sig, siglen) == 1;
			free(msg);
			free(sig);
			if (strcmp(result, "acceptable") == 0)
				acceptable++;
			else if (accepted == (strcmp(result, "valid") == 0))
				accepted ? valid_ok++ : invalid_ok++;
			else {
				failed++;
				printf("pkcs1 tc %lld (%s): expected %s, bridge %s\n",
					   (long long)json_integer_value(json_object_get(t, "tcId")),
					   json_string_value(json_object_get(t, "comment")), result,
					   accepted ? "accepted" : "refused");
			}
		}
		EVP_PKEY_free(key);
	}
	printf("wycheproof rsa_signature_2048_sha256: %d cases, %d valid accepted, %d invalid refused, "
		   "%d acceptable, %d failed\n",
		   total, valid_ok, invalid_ok, acceptable, failed);
	json_decref(doc);
	return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *doc = json_load_file(argc > 1 ? argv[1] : "json_web_signature_test.json", 0, &jerr);
	json_t *groups, *g;
	size_t gi;
	int total = 0, valid_ok = 0, invalid_ok = 0, failed = 0, skipped_policy = 0;

	if (doc == NULL) {
		fprintf(stderr, "cannot read vectors: %s\n", jerr.text);
		return 2;
	}
	groups = json_object_get(doc, "testGroups");
	json_array_foreach (groups, gi, g) {
		json_t *pub = json_object_get(g, "public"), *t;
		const char *n = json_string_value(json_object_get(pub, "n"));
		const char *e = json_string_value(json_object_get(pub, "e"));
		const char *use = json_string_value(json_object_get(pub, "use"));
		json_t *ops = json_object_get(pub, "key_ops");
		const char *palg = json_string_value(json_object_get(pub, "alg"));
		int usable = 1;
		EVP_PKEY *key;
		size_t ti;

		if (n == NULL || e == NULL)
			continue;
		if (palg != NULL && strcmp(palg, "RS256") != 0)
			continue; /* a key pinned to another algorithm is never an RS256 key */
		if (use != NULL && strcmp(use, "sig") != 0)
			usable = 0;
		if (ops != NULL) {
			json_t *op;
			size_t oi;

			usable = 0;
			json_array_foreach (ops, oi, op)
				if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
					usable = 1;
		}
		key = jwt_rsa_key_from_jwk(n, e);
		json_array_foreach (json_object_get(g, "tests"), ti, t) {
			const char *jws = json_string_value(json_object_get(t, "jws"));
			const char *result = json_string_value(json_object_get(t, "result"));
			const char *tc = json_string_value(json_object_get(t, "tcId"));
			const char *d1, *d2;
			int want_valid, accepted = 0, rs;

			if (jws == NULL || result == NULL)
				continue;
			d1 = strchr(jws, '.');
			d2 = d1 ? strchr(d1 + 1, '.') : NULL;
			rs = d1 ? header_alg_is_rs256(jws, (size_t)(d1 - jws)) : -1;
			if (rs == 0)
				continue; /* another algorithm: the bridge refuses it by header policy */
			want_valid = strcmp(result, "valid") == 0;
			if (!usable) {
				/* Key-usage vectors (use=enc, key_ops=encrypt): expected invalid. */
				skipped_policy++;
				continue;
			}
			total++;
			if (key != NULL && d2 != NULL && strchr(d2 + 1, '.') == NULL) {
				unsigned char *sig = NULL;
				size_t siglen;

				{
					/* Each part must be canonical base64url, then RS256 over "header.payload". */
					unsigned char *hb = NULL, *pb = NULL;
					size_t hl, pl;

					if (b64url_decode(jws, (size_t)(d1 - jws), &hb, &hl) == 0 &&
						b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pb, &pl) == 0 &&
						b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &siglen) == 0)
						accepted = jwt_rs256_verify(key, jws, (size_t)(d2 - jws), sig, siglen) == 1;
					free(hb);
					free(pb);
					free(sig);
				}
			}
			if (accepted == want_valid) {
				if (want_valid)
					valid_ok++;
				else
					invalid_ok++;
			} else {
				failed++;
				printf("wycheproof tc %s (%s): expected %s, bridge %s\n", tc ? tc : "?",
					   json_string_value(json_object_get(t, "comment")), result,
					   accepted ? "accepted" : "refused");
			}
		}
		EVP_PKEY_free(key);
	}
	printf("wycheproof: %d rs256 cases, %d valid accepted, %d invalid refused, %d failed, "
		   "%d key-usage cases not applicable\n",
		   total, valid_ok, invalid_ok, failed, skipped_policy);
	json_decref(doc);
	if (argc > 2 && pkcs1_file(argv[2]) != 0)
		failed++;
	return failed ? 1 : 0;
}
