/*
 * unit_tests.c: the bridge's pure parts without a server: form and query
 * parsing, base64url, camelCase renaming, SQLSTATE mapping, RS256 token
 * verification against a key generated here, Prometheus text, trusted
 * proxies and X-Forwarded-For.
 * Built and run by `make -C bridge unit`.
 */
#include "db_errors.h"
#include "http_proxy.h"
#include "http_util.h"
#include "jwt_verify.h"
#include "metrics.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(name, cond)                                                                          \
	do {                                                                                           \
		if (cond) {                                                                                \
			passed++;                                                                              \
		} else {                                                                                   \
			failed++;                                                                              \
			printf("FAIL %s (%s:%d)\n", name, __FILE__, __LINE__);                                 \
		}                                                                                          \
	} while (0)

static int
parses(const char *text, struct form *f)
{
	const char *err;

	return form_parse(text, strlen(text), f, &err) == 0;
}

static void
test_forms(void)
{
	struct form f;

	CHECK("form decodes plus and percent", parses("a=b+c&d=%41%2b", &f) &&
												 strcmp(form_get(&f, "a"), "b c") == 0 &&
												 strcmp(form_get(&f, "d"), "A+") == 0);
	form_free(&f);
	CHECK("form refuses a repeated parameter", !parses("grant_type=x&grant_type=y", &f));
	CHECK("form refuses %00", !parses("a=%00", &f));
	CHECK("form refuses malformed percent", !parses("a=%4", &f));
	CHECK("form refuses non-hex percent", !parses("a=%zz", &f));
	CHECK("form refuses a name without '='", !parses("a", &f));
	CHECK("form accepts an empty value", parses("a=", &f) && strcmp(form_get(&f, "a"), "") == 0);
	form_free(&f);
	CHECK("form tolerates empty pairs", parses("&a=1&&", &f) && f.n == 1);
	form_free(&f);
	CHECK("form accepts empty text", parses("", &f) && f.n == 0);
}

static void
test_base64(void)
{
	unsigned char *out;
	size_t n;
	char *enc;

	CHECK("b64url decodes", b64url_decode("aGk", 3, &out, &n) == 0 && n == 2 &&
								memcmp(out, "hi", 2) == 0);
	free(out);
	CHECK("b64url refuses padding", b64url_decode("aGk=", 4, &out, &n) != 0);
	CHECK("b64url refuses non-canonical trailing bits", b64url_decode("aGl", 3, &out, &n) != 0);
	CHECK("b64url refuses '+'", b64url_decode("a+k", 3, &out, &n) != 0);
	CHECK("b64url refuses a 4n+1 length", b64url_decode("aGkaa", 5, &out, &n) != 0);
	enc = b64url_encode((const unsigned char *)"\xfb\xff", 2);
	CHECK("b64url encodes with - and _", strcmp(enc, "-_8") == 0);
	free(enc);
	CHECK("base64 decodes Basic credentials",
		  b64_decode("aWQ6c2VjcmV0", 12, &out, &n) == 0 && n == 9 &&
			  memcmp(out, "id:secret", 9) == 0);
	free(out);
	CHECK("base64 refuses bad length", b64_decode("aWQ6c2VjcmV", 11, &out, &n) != 0);
}

static void
test_naming(void)
{
	char *s = snake_to_camel("created_at");
	json_t *row = json_pack("{s:s, s:{s:i}}", "agent_id", "x", "metadata", "inner_key", 1);
	json_t *camel = json_camelize(row);

	CHECK("snake_to_camel", strcmp(s, "createdAt") == 0);
	free(s);
	s = snake_to_camel("id");
	CHECK("snake_to_camel leaves single words", strcmp(s, "id") == 0);
	free(s);
	CHECK("camelize renames top-level keys", json_object_get(camel, "agentId") != NULL &&
												 json_object_get(camel, "agent_id") == NULL);
	CHECK("camelize leaves nested values",
		  json_object_get(json_object_get(camel, "metadata"), "inner_key") != NULL);
	json_decref(row);
	json_decref(camel);
	CHECK("uuid accepted", is_uuid("0d9f4bd7-5d40-4c3a-a1a5-2b7c2b8f7a10"));
	CHECK("uuid refused without dashes", !is_uuid("0d9f4bd75d404c3aa1a52b7c2b8f7a10"));
	CHECK("uuid refused when too long", !is_uuid("0d9f4bd7-5d40-4c3a-a1a5-2b7c2b8f7a100"));
	CHECK("decimal id", is_decimal_id("42") && !is_decimal_id("0") && !is_decimal_id("4a"));
}

static void
test_sqlstates(void)
{
	const char *rest;

	CHECK("AIC01 -> 401", db_error_rule("AIC01")->http_status == 401);
	CHECK("AIQ01 -> 429", db_error_rule("AIQ01")->http_status == 429);
	CHECK("AIN01 -> 404", db_error_rule("AIN01")->http_status == 404);
	CHECK("AIT01 -> 409", db_error_rule("AIT01")->http_status == 409);
	CHECK("AIK01 -> 503", db_error_rule("AIK01")->http_status == 503);
	CHECK("23505 -> 409", db_error_rule("23505")->http_status == 409);
	CHECK("23502 -> 400 by class", db_error_rule("23502")->http_status == 400);
	CHECK("22P02 -> 400 by class", db_error_rule("22P02")->http_status == 400);
	CHECK("42501 -> 403", db_error_rule("42501")->http_status == 403);
	CHECK("XX000 -> 500", db_error_rule("XX000")->http_status == 500);
	CHECK("oauth code prefix",
		  strcmp(db_error_oauth_code("invalid_client: unknown client", &rest), "invalid_client") ==
				  0 &&
			  strcmp(rest, "unknown client") == 0);
	CHECK("no oauth code", db_error_oauth_code("agent not found", &rest) == NULL);
}

/* Sign header.payload with key and return the compact token. */
static char *
make_token(EVP_PKEY *key, const char *header, const char *payload)
{
	char *h = b64url_encode((const unsigned char *)header, strlen(header));
	char *p = b64url_encode((const unsigned char *)payload, strlen(payload));
	size_t len = strlen(h) + strlen(p) + 2;
	char *signing = malloc(len);
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *s, *token;

	snprintf(signing, len, "%s.%s", h, p);
	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
	EVP_DigestSign(md, sig, &siglen, (unsigned char *)signing, strlen(signing));
	EVP_MD_CTX_free(md);
	s = b64url_encode(sig, siglen);
	token = malloc(strlen(signing) + strlen(s) + 2);
	sprintf(token, "%s.%s", signing, s);
	free(h);
	free(p);
	free(signing);
	free(s);
	return token;
}

static int
verifies(const char *token, EVP_PKEY *pub, long long now, const char **why)
{
	struct jwt_claims c;
	int rc = jwt_verify_with(token, pub, "https://idp.test", now, &c, NULL, why);

	if (rc == 0)
		jwt_claims_free(&c);
	return rc == 0;
}

static void
test_jwt(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *pub;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char nb[512], eb[8];
	char *n64, *e64, *tok;
	const char *why;
	const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
	const char *claims = "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
						 "2b7c2b8f7a10\",\"client_id\":\"aidp_ci_x\",\"scope\":\"agents:read\","
						 "\"iat\":1000,\"nbf\":1000,\"exp\":2000,\"jti\":\"j1\"}";

	EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
	n64 = b64url_encode(nb, (size_t)BN_bn2bin(n, nb));
	e64 = b64url_encode(eb, (size_t)BN_bn2bin(e, eb));
	pub = jwt_rsa_key_from_jwk(n64, e64);
	CHECK("JWK to RSA key", pub != NULL);

	tok = make_token(key, hdr, claims);
	CHECK("valid token verifies", verifies(tok, pub, 1500, &why));
	CHECK("expired token refused", !verifies(tok, pub, 2031, &why));
	CHECK("expiry has 30 s leeway", verifies(tok, pub, 2029, &why));
	CHECK("not-yet-valid token refused", !verifies(tok, pub, 960, &why));
	CHECK("nbf has 30 s leeway", verifies(tok, pub, 975, &why));
	tok[strlen(tok) - 3] ^= 1;
	CHECK("tampered signature refused", !verifies(tok, pub, 1500, &why));
	free(tok);

	tok = make_token(key, "{\"alg\":\"RS512\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", claims);
	CHECK("other alg refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", claims);
	CHECK("typ other than at+jwt refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"jku\":\"x\"}",
					 claims);
	CHECK("extra header member refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k\"}",
					 claims);
	CHECK("duplicate header key refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://evil.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"exp\":2000,\"jti\":\"j\"}");
	CHECK("wrong issuer refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	/* Every token we issue carries exp and nbf: one without either is refused. */
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"nbf\":1000,\"jti\":\"j\"}");
	CHECK("missing exp refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"exp\":2000,\"jti\":\"j\"}");
	CHECK("missing nbf refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"nbf\":\"1000\",\"exp\":2000,"
					 "\"jti\":\"j\"}");
	CHECK("string nbf refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", claims);
	*strrchr(tok, '.') = '\0';
	CHECK("alg none without signature refused", !verifies(tok, pub, 1500, &why));
	free(tok);
	CHECK("garbage refused", !verifies("a.b.c", pub, 1500, &why));
	CHECK("two-part token refused", !verifies("abc.def", pub, 1500, &why));

	/* Extreme times: the leeway must not overflow (exp + 30, nbf - 30 were UB). */
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"exp\":9223372036854775807,"
					 "\"nbf\":-9223372036854775808,\"jti\":\"j\"}");
	CHECK("exp at INT64_MAX and nbf at INT64_MIN verify without overflow",
		  verifies(tok, pub, 1500, &why));
	free(tok);
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"exp\":-9223372036854775808,"
					 "\"jti\":\"j\"}");
	CHECK("exp at INT64_MIN refused as expired",
		  !verifies(tok, pub, 1500, &why) && strcmp(why, "token expired") == 0);
	free(tok);
	tok = make_token(key, hdr,
					 "{\"iss\":\"https://idp.test\",\"sub\":\"0d9f4bd7-5d40-4c3a-a1a5-"
					 "2b7c2b8f7a10\",\"client_id\":\"c\",\"exp\":2000,"
					 "\"nbf\":9223372036854775807,\"jti\":\"j\"}");
	CHECK("nbf at INT64_MAX refused as not yet valid",
		  !verifies(tok, pub, 1500, &why) && strcmp(why, "token not yet valid") == 0);
	free(tok);

	/* Audience: only a token whose aud is exactly the given audience matches. */
	{
		struct jwt_claims c;
		int own, other, none;

		tok = make_token(key, hdr,
						 "{\"iss\":\"https://idp.test\",\"aud\":\"https://idp.test\",\"sub\":"
						 "\"0d9f4bd7-5d40-4c3a-a1a5-2b7c2b8f7a10\",\"client_id\":\"c\","
						 "\"nbf\":1000,\"exp\":2000,\"jti\":\"j\"}");
		own = jwt_verify_with(tok, pub, "https://idp.test", 1500, &c, NULL, &why) == 0 &&
			  jwt_aud_is(&c, "https://idp.test") && !jwt_aud_is(&c, "https://rs.example");
		jwt_claims_free(&c);
		free(tok);
		tok = make_token(key, hdr,
						 "{\"iss\":\"https://idp.test\",\"aud\":[\"https://idp.test\"],\"sub\":"
						 "\"0d9f4bd7-5d40-4c3a-a1a5-2b7c2b8f7a10\",\"client_id\":\"c\","
						 "\"nbf\":1000,\"exp\":2000,\"jti\":\"j\"}");
		other = jwt_verify_with(tok, pub, "https://idp.test", 1500, &c, NULL, &why) == 0 &&
				!jwt_aud_is(&c, "https://idp.test");
		jwt_claims_free(&c);
		free(tok);
		tok = make_token(key, hdr, claims);
		none = jwt_verify_with(tok, pub, "https://idp.test", 1500, &c, NULL, &why) == 0 &&
			   !jwt_aud_is(&c, "https://idp.test");
		jwt_claims_free(&c);
		free(tok);
		CHECK("aud equal to the audience matches, another does not", own);
		CHECK("aud as an array does not match (we issue one string)", other);
		CHECK("missing aud does not match", none);
	}

	BN_free(n);
	BN_free(e);
	free(n64);
	free(e64);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

static void
test_metrics(void)
{
	char *text;

	metrics_observe_request(RL_AGENTS_LIST, ML_GET, 200, 0.003);
	metrics_observe_request(RL_AGENTS_LIST, ML_GET, 404, 20.0);
	metrics_token_refused(RR_INVALID_CLIENT);
	text = metrics_render(1, 16);
	CHECK("metrics counts by status class",
		  strstr(text, "agentidp_http_requests_total{route=\"agents.list\",method=\"GET\","
					   "status=\"2xx\"} 1") != NULL);
	CHECK("histogram +Inf counts slow requests",
		  strstr(text, "agentidp_http_request_duration_seconds_bucket{route=\"agents.list\","
					   "method=\"GET\",le=\"+Inf\"} 2") != NULL);
	CHECK("histogram bucket is cumulative",
		  strstr(text, "agentidp_http_request_duration_seconds_bucket{route=\"agents.list\","
					   "method=\"GET\",le=\"10\"} 1") != NULL);
	CHECK("refusals by reason",
		  strstr(text, "agentidp_tokens_refused_total{reason=\"invalid_client\"} 1") != NULL);
	CHECK("pool gauges", strstr(text, "agentidp_db_pool_size 16") != NULL);
	free(text);
}

/* The client address of a request from peer with X-Forwarded-For xff, under list spec. */
static int
client_is(const char *spec, const char *peer, const char *xff, const char *want)
{
	struct proxy_list l;
	char *err = NULL, out[64];
	int ok;

	if (proxy_list_parse(spec, &l, &err) != 0) {
		printf("parse %s: %s\n", spec, err);
		free(err);
		return 0;
	}
	proxy_client_address(&l, peer, xff, out, sizeof(out));
	ok = strcmp(out, want) == 0;
	if (!ok)
		printf("peer %s xff %s: got %s, want %s\n", peer, xff ? xff : "(none)", out, want);
	proxy_list_free(&l);
	return ok;
}

static int
spec_refused(const char *spec)
{
	struct proxy_list l;
	char *err = NULL;
	int refused = proxy_list_parse(spec, &l, &err) != 0 && err != NULL;

	free(err);
	if (!refused)
		proxy_list_free(&l);
	return refused;
}

static void
test_proxies(void)
{
	struct proxy_list l;
	char *err = NULL;

	CHECK("proxy list parses IPs and CIDRs of both families",
		  proxy_list_parse(" 10.0.0.0/8,35.191.0.0/16 ,130.211.0.0/22,::1,2001:db8::/32", &l,
						   &err) == 0 &&
			  l.n == 5);
	CHECK("an address inside a CIDR is trusted", proxy_list_contains(&l, "130.211.3.255"));
	CHECK("an address just outside a CIDR is not", !proxy_list_contains(&l, "130.211.4.0"));
	CHECK("an IPv4-mapped peer counts as IPv4", proxy_list_contains(&l, "::ffff:10.1.2.3"));
	CHECK("IPv6 CIDR", proxy_list_contains(&l, "2001:db8:ffff::1") &&
						   !proxy_list_contains(&l, "2001:db9::1"));
	proxy_list_free(&l);
	CHECK("unset and empty lists are empty",
		  proxy_list_parse(NULL, &l, &err) == 0 && l.n == 0 &&
			  proxy_list_parse("", &l, &err) == 0 && l.n == 0);
	CHECK("a name is refused", spec_refused("lb.internal"));
	CHECK("an empty entry is refused", spec_refused("10.0.0.1,,10.0.0.2"));
	CHECK("a prefix too long is refused", spec_refused("10.0.0.0/33"));
	CHECK("a malformed prefix is refused", spec_refused("10.0.0.0/") && spec_refused("10.0.0.0/x"));
	CHECK("host bits under the prefix are refused", spec_refused("10.0.0.1/8"));

	CHECK("without trusted proxies the header is ignored",
		  client_is("", "127.0.0.1", "203.0.113.7", "127.0.0.1"));
	CHECK("from an untrusted peer the header is ignored",
		  client_is("10.0.0.0/8", "192.0.2.1", "203.0.113.7", "192.0.2.1"));
	CHECK("a trusted peer without the header is the client",
		  client_is("127.0.0.1", "127.0.0.1", NULL, "127.0.0.1"));
	CHECK("from a trusted peer the forwarded address is the client",
		  client_is("127.0.0.1", "127.0.0.1", "203.0.113.7", "203.0.113.7"));
	CHECK("the right-most untrusted entry wins over what the client wrote",
		  client_is("10.0.0.0/8", "10.0.0.5", "1.1.1.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"));
	CHECK("junk left of the client's address is never read",
		  client_is("10.0.0.0/8", "10.0.0.5", "not-an-ip, 203.0.113.7", "203.0.113.7"));
	CHECK("a malformed right-most entry keeps the proxy's address",
		  client_is("10.0.0.0/8", "10.0.0.5", "203.0.113.7, unknown", "10.0.0.5"));
	CHECK("a malformed entry after trusted hops keeps the last trusted one",
		  client_is("10.0.0.0/8", "10.0.0.5", "x, 10.0.0.9", "10.0.0.9"));
	CHECK("only trusted hops: the left-most of them",
		  client_is("10.0.0.0/8", "10.0.0.5", "10.0.0.7,10.0.0.8", "10.0.0.7"));
	CHECK("empty elements are skipped", client_is("10.0.0.0/8", "10.0.0.5", "203.0.113.7, ,", "203.0.113.7"));
	CHECK("ports and brackets are accepted",
		  client_is("10.0.0.0/8", "10.0.0.5", "203.0.113.7:4711", "203.0.113.7") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "[2001:db8::7]:443", "2001:db8::7") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "2001:DB8:0::7", "2001:db8::7"));
	CHECK("malformed forms are refused, keeping the proxy",
		  client_is("10.0.0.0/8", "10.0.0.5", "[203.0.113.7]", "10.0.0.5") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "203.0.113.7:", "10.0.0.5") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "[2001:db8::7", "10.0.0.5") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "fe80::1%eth0", "10.0.0.5") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "999.1.1.1", "10.0.0.5") &&
			  client_is("10.0.0.0/8", "10.0.0.5", "", "10.0.0.5"));
	CHECK("an overlong entry is refused without overflow",
		  client_is("10.0.0.0/8", "10.0.0.5",
					"2001:0db8:0000:0000:0000:0000:0000:0007:0000:0000:0000:0000:0000:0000:0000",
					"10.0.0.5"));
}

int
main(void)
{
	test_forms();
	test_base64();
	test_naming();
	test_sqlstates();
	test_jwt();
	test_metrics();
	test_proxies();
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
