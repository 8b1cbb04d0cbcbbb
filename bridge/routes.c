/* routes.c: the route table, method checks, rate limiting, JSON body helpers. */
#include "routes.h"

#include "cache_redis.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGMENTS 8

struct match {
	enum route_label get, post, patch, del; /* RL_COUNT: method not allowed */
	const char *allow;
};

static int
split_path(const char *path, char segs[MAX_SEGMENTS][64], int *n)
{
	*n = 0;
	while (*path == '/')
		path++;
	while (*path) {
		const char *end = strchr(path, '/');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (*n == MAX_SEGMENTS || len >= 64)
			return -1;
		memcpy(segs[*n], path, len);
		segs[*n][len] = '\0';
		(*n)++;
		path += len;
		while (*path == '/')
			path++;
	}
	return 0;
}

/* Find the route family of a path; fills params. 0 if none matches. */
static int
match_path(const char *path, struct match *m, struct route_params *p)
{
	char s[MAX_SEGMENTS][64];
	int n;
	const enum route_label X = RL_COUNT;

	memset(p, 0, sizeof(*p));
	*m = (struct match){X, X, X, X, ""};
	if (strcmp(path, "/health") == 0) {
		*m = (struct match){RL_HEALTH, X, X, X, "GET, HEAD"};
		return 1;
	}
	if (strcmp(path, "/metrics") == 0) {
		*m = (struct match){RL_METRICS, X, X, X, "GET, HEAD"};
		return 1;
	}
	if (strcmp(path, "/.well-known/jwks.json") == 0) {
		*m = (struct match){RL_JWKS, X, X, X, "GET, HEAD"};
		return 1;
	}
	if (strcmp(path, "/.well-known/oauth-authorization-server") == 0) {
		*m = (struct match){RL_OAUTH_METADATA, X, X, X, "GET, HEAD"};
		return 1;
	}
	if (strcmp(path, "/dashboard") == 0 || strncmp(path, "/dashboard/", 11) == 0) {
		*m = (struct match){RL_DASHBOARD, X, X, X, "GET, HEAD"};
		return 1;
	}
	if (split_path(path, s, &n) != 0 || n < 3 || strcmp(s[0], "api") != 0 ||
		strcmp(s[1], "v1") != 0)
		return 0;
	if (strcmp(s[2], "token") == 0) {
		if (n == 3)
			*m = (struct match){X, RL_TOKEN, X, X, "POST"};
		else if (n == 4 && strcmp(s[3], "introspect") == 0)
			*m = (struct match){X, RL_TOKEN_INTROSPECT, X, X, "POST"};
		else if (n == 4 && strcmp(s[3], "revoke") == 0)
			*m = (struct match){X, RL_TOKEN_REVOKE, X, X, "POST"};
		else
			return 0;
		return 1;
	}
	if (strcmp(s[2], "agents") == 0) {
		if (n >= 4)
			strcpy(p->agent_id, s[3]);
		if (n >= 6)
			strcpy(p->credential_id, s[5]);
		if (n == 3)
			*m = (struct match){RL_AGENTS_LIST, RL_AGENTS_CREATE, X, X, "GET, POST"};
		else if (n == 4)
			*m = (struct match){RL_AGENTS_GET, X, RL_AGENTS_UPDATE, RL_AGENTS_DELETE,
								"GET, PATCH, DELETE"};
		else if (n == 5 && strcmp(s[4], "credentials") == 0)
			*m = (struct match){RL_CREDENTIALS_LIST, RL_CREDENTIALS_CREATE, X, X, "GET, POST"};
		else if (n == 6 && strcmp(s[4], "credentials") == 0)
			*m = (struct match){X, X, X, RL_CREDENTIALS_REVOKE, "DELETE"};
		else if (n == 7 && strcmp(s[4], "credentials") == 0 && strcmp(s[6], "rotate") == 0)
			*m = (struct match){X, RL_CREDENTIALS_ROTATE, X, X, "POST"};
		else
			return 0;
		return 1;
	}
	if (strcmp(s[2], "keys") == 0 && n == 3) {
		*m = (struct match){RL_KEYS_LIST, X, X, X, "GET"};
		return 1;
	}
	if (strcmp(s[2], "audit") == 0) {
		if (n == 3)
			*m = (struct match){RL_AUDIT_LIST, X, X, X, "GET"};
		else if (n == 4) {
			strcpy(p->event_id, s[3]);
			*m = (struct match){RL_AUDIT_GET, X, X, X, "GET"};
		} else
			return 0;
		return 1;
	}
	return 0;
}

static enum route_label
pick(const struct match *m, const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return m->get;
	if (strcmp(method, "POST") == 0)
		return m->post;
	if (strcmp(method, "PATCH") == 0)
		return m->patch;
	if (strcmp(method, "DELETE") == 0)
		return m->del;
	return RL_COUNT;
}

void
route_classify(struct request *r, const char *path)
{
	struct match m;
	struct route_params p;

	r->route = RL_UNMATCHED;
	if (match_path(path, &m, &p)) {
		enum route_label l = pick(&m, r->method);

		if (l != RL_COUNT)
			r->route = l;
	}
}

void
route_request(struct request *r, const char *path)
{
	struct match m;
	struct route_params p;
	enum route_label l;

	if (!match_path(path, &m, &p)) {
		reply_error(r, 404, "not_found", "no such route");
		return;
	}
	l = pick(&m, r->method);
	if (l == RL_COUNT) {
		reply_error(r, 405, "invalid_request", "method not allowed on this route");
		reply_header(r, "Allow", m.allow);
		return;
	}
	r->route = l;
	/* Probes and scrapes are not counted: a busy client must not blind monitoring. */
	if (l != RL_HEALTH && l != RL_METRICS && l != RL_DASHBOARD) {
		int retry = cache_rate_limit(r->ip, cfg.rate_limit);

		if (retry > 0) {
			char buf[16];

			metrics_rate_limited();
			if (l == RL_TOKEN)
				metrics_token_refused(RR_RATE_LIMITED);
			snprintf(buf, sizeof(buf), "%d", retry);
			reply_error(r, 429, "rate_limited", "too many requests from this address");
			reply_header(r, "Retry-After", buf);
			return;
		}
	}
	switch (l) {
	case RL_TOKEN: route_token(r); break;
	case RL_TOKEN_INTROSPECT: route_token_introspect(r); break;
	case RL_TOKEN_REVOKE: route_token_revoke(r); break;
	case RL_AGENTS_LIST: route_agents_list(r); break;
	case RL_AGENTS_CREATE: route_agents_create(r); break;
	case RL_AGENTS_GET: route_agents_get(r, &p); break;
	case RL_AGENTS_UPDATE: route_agents_update(r, &p); break;
	case RL_AGENTS_DELETE: route_agents_delete(r, &p); break;
	case RL_CREDENTIALS_LIST: route_credentials_list(r, &p); break;
	case RL_CREDENTIALS_CREATE: route_credentials_create(r, &p); break;
	case RL_CREDENTIALS_ROTATE: route_credentials_rotate(r, &p); break;
	case RL_CREDENTIALS_REVOKE: route_credentials_revoke(r, &p); break;
	case RL_AUDIT_LIST: route_audit_list(r); break;
	case RL_AUDIT_GET: route_audit_get(r, &p); break;
	case RL_KEYS_LIST: route_keys_list(r); break;
	case RL_JWKS: route_jwks(r); break;
	case RL_OAUTH_METADATA: route_oauth_metadata(r); break;
	case RL_HEALTH: route_health(r); break;
	case RL_METRICS: route_metrics(r); break;
	case RL_DASHBOARD: route_dashboard(r, path); break;
	default: reply_error(r, 404, "not_found", "no such route"); break;
	}
}

json_t *
req_json_object(struct request *r, int allow_empty)
{
	const char *ct = req_header(r, "Content-Type");
	json_error_t jerr;
	json_t *obj;

	if (r->body_len == 0 && allow_empty)
		return json_object();
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
		(ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		reply_error(r, 415, "invalid_request", "Content-Type must be application/json");
		return NULL;
	}
	if (r->body_len == 0) {
		reply_error(r, 400, "invalid_request", "request body required");
		return NULL;
	}
	obj = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		char msg[256];

		snprintf(msg, sizeof(msg), "malformed JSON: %s", jerr.text);
		reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		reply_error(r, 400, "invalid_request", "the body must be a JSON object");
		return NULL;
	}
	return obj;
}

int
json_only_fields(struct request *r, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *value;

	json_object_foreach (obj, key, value) {
		int ok = 0;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = 1;
		if (!ok) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unknown field: %.100s", key);
			reply_error(r, 400, "invalid_request", msg);
			return -1;
		}
	}
	return 0;
}

void
reply_row_camel(struct request *r, int status, const char *row_json)
{
	json_t *row = row_json ? json_loads(row_json, 0, NULL) : NULL;
	json_t *camel = row ? json_camelize(row) : NULL;

	json_decref(row);
	if (camel == NULL) {
		reply_error(r, 500, "internal_error", "unexpected database result");
		return;
	}
	reply_json(r, status, camel);
}
