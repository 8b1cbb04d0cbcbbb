/*
 * jwt_verify.h: local verification of AgentIdP access tokens (RFC 9068
 * profile, RS256 only) against the JWKS published by agentidp.jwks().
 *
 * The algorithm is pinned: the token's header must say exactly
 * {"alg":"RS256","typ":"at+jwt","kid":...} and nothing else. The key set is
 * cached and refreshed on an unknown kid at most once per 10 seconds, so a
 * flood of made-up kids cannot turn into a flood of database queries.
 */
#ifndef AGENTIDP_JWT_VERIFY_H
#define AGENTIDP_JWT_VERIFY_H

#include <jansson.h>

#define JWT_MAX_LEN        8192
#define JWT_LEEWAY_SECONDS 30

struct jwt_claims {
	char sub[37];
	char jti[37];
	char client_id[128];
	char *scope; /* malloc'd, "" when absent */
	long long exp;
	json_t *claims; /* the whole payload, for introspection responses */
};

/* Remember the issuer that every token's iss must equal. */
void jwt_init(const char *issuer);

/* Reload the key set from the database; rate-limited unless force. 0 / -1. */
int jwt_refresh_keys(int force);

/*
 * Drop the key with this kid from the cached set now (an emergency-retired
 * key, announced through the revocation log), before any reload: its tokens
 * must not verify even if the database cannot be reached.
 */
void jwt_forget_key(const char *kid);

/*
 * Verify signature and claims. Returns 0 with *out filled (free with
 * jwt_claims_free), or -1 with *why set to a static reason that is safe to
 * log and to return to the client.
 */
int jwt_verify(const char *token, struct jwt_claims *out, const char **why);
void jwt_claims_free(struct jwt_claims *c);

/*
 * 1 when the verified token's aud is exactly audience (jwt_aud_is) or the
 * issuer (jwt_aud_is_issuer), else 0. A token minted for another resource
 * server is valid for introspection but must not open the IdP's own API
 * (RFC 9068 §4, RFC 8725 §3.9): tokens for the IdP carry aud = issuer.
 */
int jwt_aud_is(const struct jwt_claims *c, const char *audience);
int jwt_aud_is_issuer(const struct jwt_claims *c);

/*
 * Build an RSA public key from the base64url n and e of a JWK. Exposed for
 * the unit tests. Returns NULL on malformed input.
 */
struct evp_pkey_st;
struct evp_pkey_st *jwt_rsa_key_from_jwk(const char *n_b64url, const char *e_b64url);

/* Verify an RS256 signature over data with key (1 = valid). */
int jwt_rs256_verify(struct evp_pkey_st *key, const char *data, size_t len,
					 const unsigned char *sig, size_t siglen);

/*
 * Parse and check a token against one given key and time, without the
 * database (for the unit tests and jwt_verify itself). key may be NULL to
 * parse only: then *kid_out receives the header's kid (malloc'd).
 */
int jwt_verify_with(const char *token, struct evp_pkey_st *key, const char *issuer, long long now,
					struct jwt_claims *out, char **kid_out, const char **why);

#endif
