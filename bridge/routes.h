/*
 * routes.h: URL routing and the handlers of each resource
 * (routes_token.c, routes_agents.c, routes_audit.c, routes_keys.c, routes_meta.c).
 * A handler always leaves a reply in the request.
 */
#ifndef AGENTIDP_ROUTES_H
#define AGENTIDP_ROUTES_H

#include "http_server.h"

/* Path parameters of a matched route (NUL-terminated copies). */
struct route_params {
	char agent_id[64];
	char credential_id[64];
	char event_id[64];
};

/* Set r->route from the path (used when refusing before routing, e.g. 413). */
void route_classify(struct request *r, const char *path);
/* Rate-limit, match, check the method and run the handler. */
void route_request(struct request *r, const char *path);

void route_token(struct request *r);
/* 413 for an oversized token request, audited as token.refused like every token failure. */
void route_token_too_large(struct request *r);
void route_token_introspect(struct request *r);
void route_token_revoke(struct request *r);
/* Start-up of the token routes: hooks them into db_batch. */
void routes_token_init(void);

void route_agents_list(struct request *r);
void route_agents_create(struct request *r);
void route_agents_get(struct request *r, const struct route_params *p);
void route_agents_update(struct request *r, const struct route_params *p);
void route_agents_delete(struct request *r, const struct route_params *p);
void route_credentials_list(struct request *r, const struct route_params *p);
void route_credentials_create(struct request *r, const struct route_params *p);
void route_credentials_rotate(struct request *r, const struct route_params *p);
void route_credentials_revoke(struct request *r, const struct route_params *p);

void route_audit_list(struct request *r);
void route_audit_get(struct request *r, const struct route_params *p);

void route_keys_list(struct request *r);

void route_jwks(struct request *r);
void route_oauth_metadata(struct request *r);
void route_health(struct request *r);
void route_metrics(struct request *r);
void route_dashboard(struct request *r, const char *path);

/*
 * Parse the body as one JSON object (Content-Type application/json,
 * duplicate keys refused). allow_empty: an absent body is an empty object.
 * Replies 400/415 and returns NULL on failure.
 */
json_t *req_json_object(struct request *r, int allow_empty);

/*
 * Refuse members of obj not in the NULL-terminated allowed list
 * (400 "unknown field"); 0 / -1.
 */
int json_only_fields(struct request *r, json_t *obj, const char *const *allowed);

/* Reply a {"data", "next_cursor"} page from the database as {"data", "pagination"}. */
void reply_page(struct request *r, const char *page_json, const char *limit_text);

/* limit must be 1..100 when given; replies 400 and returns -1 otherwise. */
int check_limit(struct request *r, const char *limit);

/* Refuse query parameters outside allowed: a misspelt filter must not silently match all. */
int query_only(struct request *r, const struct form *q, const char *const *allowed);

/* Reply with a database row (JSON text) renamed to camelCase. */
void reply_row_camel(struct request *r, int status, const char *row_json);

#endif
