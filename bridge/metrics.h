/*
 * metrics.h: process-wide counters rendered in the Prometheus text format
 * (names fixed by DESIGN.md §2). Lock-free: every counter is an atomic.
 */
#ifndef AGENTIDP_METRICS_H
#define AGENTIDP_METRICS_H

#include <stddef.h>

/* Route labels; the order matches metrics_route_name(). */
enum route_label {
	RL_TOKEN,
	RL_TOKEN_INTROSPECT,
	RL_TOKEN_REVOKE,
	RL_AGENTS_LIST,
	RL_AGENTS_GET,
	RL_AGENTS_CREATE,
	RL_AGENTS_UPDATE,
	RL_AGENTS_DELETE,
	RL_CREDENTIALS_LIST,
	RL_CREDENTIALS_CREATE,
	RL_CREDENTIALS_ROTATE,
	RL_CREDENTIALS_REVOKE,
	RL_AUDIT_LIST,
	RL_AUDIT_GET,
	RL_KEYS_LIST,
	RL_JWKS,
	RL_OAUTH_METADATA,
	RL_HEALTH,
	RL_METRICS,
	RL_DASHBOARD,
	RL_UNMATCHED,
	RL_COUNT
};

enum method_label { ML_GET, ML_POST, ML_PATCH, ML_DELETE, ML_HEAD, ML_OTHER, ML_COUNT };

/* Reasons for agentidp_tokens_refused_total. */
enum refuse_reason {
	RR_INVALID_REQUEST,
	RR_INVALID_CLIENT,
	RR_INVALID_SCOPE,
	RR_UNAUTHORIZED_CLIENT,
	RR_UNSUPPORTED_GRANT_TYPE,
	RR_QUOTA_EXCEEDED,
	RR_RATE_LIMITED,
	RR_SERVER_ERROR,
	RR_COUNT
};

const char *metrics_route_name(enum route_label r);
enum method_label metrics_method(const char *method);
enum refuse_reason metrics_refuse_reason(const char *oauth_error);

void metrics_observe_request(enum route_label r, enum method_label m, int status, double seconds);
void metrics_token_issued(void);
void metrics_token_refused(enum refuse_reason why);
void metrics_introspection(int active);
void metrics_revocation(void);
void metrics_cache_hit(void);
void metrics_cache_miss(void);
void metrics_rate_limited(void);
void metrics_policy_reload(int ok);
void metrics_set_db_up(int up);
void metrics_set_redis_up(int up);
int metrics_redis_up(void);

/* Render the exposition text; malloc'd, NUL-terminated. */
char *metrics_render(size_t pool_in_use, size_t pool_size);

#endif
