/*
 * http_auth.h: who is calling. Bearer tokens (local RS256 verification,
 * revocation via the Redis cache or the database), OAuth client
 * credentials (Basic or body), and the policy decision with the policy
 * swapped atomically on SIGHUP.
 */
#ifndef AGENTIDP_HTTP_AUTH_H
#define AGENTIDP_HTTP_AUTH_H

#include "http_server.h"
#include "jwt_verify.h"

struct principal {
	struct jwt_claims claims;
	char **scopes;
	size_t nscopes;
};

/*
 * Authenticate the request's bearer token. Returns 0 with *p filled, or -1
 * after replying 401 (missing/invalid/inactive token) or 503.
 */
int auth_bearer(struct request *r, struct principal *p);
void principal_free(struct principal *p);

/*
 * Ask the policy whether scopes may use route_id; owner_id is the agent id
 * the route acts on (NULL if none). Returns 1 allowed, else replies 403.
 */
int auth_allow(struct request *r, const char *route_id, char *const *scopes, size_t nscopes,
			   const char *subject, const char *owner_id);

/*
 * Whether a token is active now: local verification, then the revocation
 * cache, then the database when the cache cannot answer. Returns 1 / 0, or
 * -1 with *err filled when the database was needed and failed. With
 * db_answer non-NULL, the database's introspection document is returned
 * there when it was consulted.
 */
int auth_token_active(struct request *r, const char *token, struct jwt_claims *claims,
					  json_t **db_answer, struct db_error *err);

/* The database's part of auth_token_active alone (the cache could not answer). */
int auth_token_db(struct request *r, const char *token, json_t **db_answer, struct db_error *err);

/*
 * auth_bearer for a request that carries a second token to check (the
 * introspection endpoint): both tokens are verified locally and the
 * revocation cache is asked about both in one Redis round trip. Returns
 * like auth_bearer. On 0, *second_active is the second token's state
 * without the database: 1 active, 0 inactive (or no second token), -2 the
 * cache could not answer (call auth_token_db once the policy allows it);
 * *claims holds its claims when it verified (free with jwt_claims_free).
 */
int auth_bearer_pair(struct request *r, struct principal *p, const char *second,
					 struct jwt_claims *claims, int *second_active);

struct client_auth {
	char *client_id;
	char *client_secret;
	int basic; /* credentials came in an Authorization: Basic header */
};

/*
 * Client credentials per RFC 6749 §2.3.1 from the Basic header or the form.
 * Returns 0 (client_id NULL when none were given), or -1 with *why set
 * (both methods used, malformed Basic header).
 */
int client_auth_parse(struct request *r, const struct form *f, struct client_auth *ca,
					  const char **why);
void client_auth_free(struct client_auth *ca);

/* Delegate every decision to the OPA server at url; -1 on a bad URL (logged). */
int policy_init_opa(const char *url);
/* Load the policy file at start; -1 on failure (logged). */
int policy_init(const char *path);
/* SIGHUP: load the file again; a broken file keeps the previous policy. */
void policy_reload(const char *path);
void policy_shutdown(void);

#endif
