/*
 * routes_token.c: the OAuth endpoints. POST /api/v1/token (RFC 6749 §4.4
 * client credentials), /api/v1/token/introspect (RFC 7662) and
 * /api/v1/token/revoke (RFC 7009). Errors use RFC 6749 §5.2 codes.
 */
#include "cache_redis.h"
#include "db_batch.h"
#include "db_errors.h"
#include "http_auth.h"
#include "log.h"
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void
reply_oauth_error(struct request *r, int status, const char *error, const char *description)
{
	reply_error(r, status, error, description);
	reply_header(r, "Pragma", "no-cache");
	/* A 401 must name a scheme (RFC 9110 §15.5.2); Basic is the one clients can retry with. */
	if (status == 401)
		reply_header(r, "WWW-Authenticate", "Basic realm=\"agentidp\", charset=\"UTF-8\"");
}

/* Record a refusal the bridge decided itself, so the audit log sees every failure. */
static void
record_failure(struct request *r, const char *action, const char *client_id, const char *reason)
{
	struct db_context ctx = req_db_context(r, NULL);
	char id[129];
	const char *args[3] = {NULL, reason, NULL};
	struct db_result res;
	struct db_error err;

	args[0] = action;
	args[1] = NULL;
	if (client_id != NULL) {
		/* Bounded: an attacker-chosen string goes into the audit log. */
		snprintf(id, sizeof(id), "%s", client_id);
		args[1] = id;
	}
	args[2] = reason;
	if (db_call(STMT_RECORD_FAILURE, &ctx, args, 3, &res, &err) == 0)
		db_result_free(&res);
	else
		log_warn("could not record a %s failure: SQLSTATE %s", action, err.sqlstate);
}

static void
refuse(struct request *r, int status, const char *error, const char *description,
	   const char *client_id)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s: %s", error, description);
	record_failure(r, strcmp(error, "invalid_client") == 0 ? "client.auth_failed" : "token.refused",
				   client_id, reason);
	metrics_token_refused(metrics_refuse_reason(error));
	reply_oauth_error(r, status, error, description);
}

void
route_token_too_large(struct request *r)
{
	struct form none = {0};
	struct client_auth ca = {0};
	const char *why;

	/* The body is never read; a Basic header still names the client for the audit. */
	if (client_auth_parse(r, &none, &ca, &why) != 0)
		memset(&ca, 0, sizeof(ca));
	refuse(r, 413, "invalid_request", "request body too large", ca.client_id);
	client_auth_free(&ca);
}

/* Parse the form body of an OAuth endpoint; replies 400 and returns -1 on error. */
static int
read_form(struct request *r, struct form *f, const char **why)
{
	const char *ct = req_header(r, "Content-Type");

	f->fields = NULL;
	f->n = 0;
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
		(ct[33] != '\0' && ct[33] != ';' && ct[33] != ' ')) {
		*why = "Content-Type must be application/x-www-form-urlencoded";
		return -1;
	}
	if (strchr(r->uri, '?') != NULL) {
		/* Credentials in a URL end up in logs and proxies. */
		*why = "parameters must be sent in the body, not the query string";
		return -1;
	}
	if (form_parse(r->body ? r->body : "", r->body_len, f, why) != 0)
		return -1;
	return 0;
}

/* Set a string member of o, JSON null for NULL; -1 when s is not UTF-8. */
static int
set_str(json_t *o, const char *key, const char *s)
{
	json_t *v = s != NULL ? json_string(s) : json_null();

	if (v == NULL)
		return -1;
	json_object_set_new(o, key, v);
	return 0;
}

/* Seconds until the first day of next month (UTC), when the quota resets. */
static long
seconds_to_next_month(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mon += 1;
	return (long)(timegm(&tm) - now);
}

/* The end of a token request, once its batch is done (req_park). */
static void
token_finish(struct request *r, int rc, json_t *answer, const struct db_error *err)
{
	if (rc != 0) {
		/* The extension audited this refusal itself. */
		reply_db_error(r, err, 1);
		reply_header(r, "Pragma", "no-cache");
		if (r->status == 401)
			reply_header(r, "WWW-Authenticate", "Basic realm=\"agentidp\", charset=\"UTF-8\"");
		if (strcmp(err->sqlstate, "AIQ01") == 0) {
			char buf[24];

			snprintf(buf, sizeof(buf), "%ld", seconds_to_next_month());
			reply_header(r, "Retry-After", buf);
			metrics_token_refused(RR_QUOTA_EXCEEDED);
		} else {
			const char *desc;
			const char *code = db_error_oauth_code(err->message, &desc);

			metrics_token_refused(code ? metrics_refuse_reason(code) : RR_SERVER_ERROR);
		}
		return;
	}
	if (!json_is_object(answer)) {
		reply_oauth_error(r, 500, "server_error", "unexpected database result");
		return;
	}
	reply_json(r, 200, json_incref(answer)); /* with Cache-Control: no-store */
	reply_header(r, "Pragma", "no-cache");
	metrics_token_issued();
}

void
route_token(struct request *r)
{
	struct form f;
	struct client_auth ca = {0};
	const char *why, *grant, *aud, *res_param;
	struct db_context ctx = req_db_context(r, NULL);
	json_t *item = NULL;

	if (read_form(r, &f, &why) != 0) {
		refuse(r, 400, "invalid_request", why, NULL);
		return;
	}
	if (client_auth_parse(r, &f, &ca, &why) != 0) {
		refuse(r, 400, "invalid_request", why, form_get(&f, "client_id"));
		goto done;
	}
	grant = form_get(&f, "grant_type");
	if (grant == NULL) {
		refuse(r, 400, "invalid_request", "grant_type is required", ca.client_id);
		goto done;
	}
	if (strcmp(grant, "client_credentials") != 0) {
		refuse(r, 400, "unsupported_grant_type", "only client_credentials is supported",
			   ca.client_id);
		goto done;
	}
	if (ca.client_id == NULL || ca.client_secret == NULL) {
		refuse(r, 401, "invalid_client", "client authentication is required", ca.client_id);
		goto done;
	}
	aud = form_get(&f, "audience");
	res_param = form_get(&f, "resource");
	if (aud != NULL && res_param != NULL && strcmp(aud, res_param) != 0) {
		refuse(r, 400, "invalid_request", "audience and resource disagree", ca.client_id);
		goto done;
	}
	item = json_object();
	if (item == NULL || set_str(item, "client_id", ca.client_id) != 0 ||
		set_str(item, "client_secret", ca.client_secret) != 0 ||
		set_str(item, "scope", form_get(&f, "scope")) != 0 ||
		set_str(item, "audience", aud ? aud : res_param) != 0 ||
		set_str(item, "ip", ctx.ip) != 0 || set_str(item, "user_agent", ctx.user_agent) != 0) {
		refuse(r, 400, "invalid_request", "parameters and User-Agent must be valid UTF-8", NULL);
		goto done;
	}
	/* Batched with concurrent requests: one commit for all (db_batch.h). */
	req_park(r, BATCH_ISSUE, item, token_finish);
	item = NULL;
done:
	json_decref(item);
	client_auth_free(&ca);
	form_free(&f);
}

/* RFC 7662 §2.2 response for a token this bridge verified itself. */
static json_t *
introspection_from_claims(const struct jwt_claims *c)
{
	json_t *doc = json_pack("{s:b, s:s}", "active", 1, "token_type", "Bearer");
	static const char *const copy[] = {"scope", "client_id", "sub", "aud", "iss",
									   "exp",   "iat",       "nbf", "jti", NULL};

	for (const char *const *k = copy; *k; k++) {
		json_t *v = json_object_get(c->claims, *k);

		if (v != NULL)
			json_object_set(doc, *k, v);
	}
	return doc;
}

void
route_token_introspect(struct request *r)
{
	struct form f;
	struct client_auth ca = {0};
	struct principal caller = {0};
	const char *why, *token, *h = req_header(r, "Authorization");
	struct db_context ctx;
	struct db_result res;
	struct db_error err;
	struct jwt_claims claims = {0};
	json_t *db_doc = NULL;
	int active, known = -3; /* the token's state from auth_bearer_pair; -3 not asked */

	if (read_form(r, &f, &why) != 0) {
		reply_oauth_error(r, 400, "invalid_request", why);
		return;
	}
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		if (form_get(&f, "client_secret") != NULL) {
			reply_oauth_error(r, 400, "invalid_request",
							  "bearer token and client secret both given");
			goto done;
		}
		/* Caller and token in one Redis round trip. */
		if (auth_bearer_pair(r, &caller, form_get(&f, "token"), &claims, &known) != 0)
			goto done;
		if (!auth_allow(r, "token.introspect", caller.scopes, caller.nscopes, caller.claims.sub,
						NULL))
			goto done;
	} else {
		char **caps = NULL;
		long ncaps = 0;
		const char *args[2];
		json_t *row, *arr, *v;
		size_t i;

		if (client_auth_parse(r, &f, &ca, &why) != 0) {
			reply_oauth_error(r, 400, "invalid_request", why);
			goto done;
		}
		if (ca.client_id == NULL || ca.client_secret == NULL) {
			reply_oauth_error(r, 401, "invalid_client",
							  "authenticate with client credentials or a bearer token");
			goto done;
		}
		args[0] = ca.client_id;
		args[1] = ca.client_secret;
		ctx = req_db_context(r, NULL);
		if (db_call(STMT_AUTH_CLIENT, &ctx, args, 2, &res, &err) != 0) {
			reply_db_error(r, &err, 1);
			if (r->status == 401)
				reply_header(r, "WWW-Authenticate", "Basic realm=\"agentidp\", charset=\"UTF-8\"");
			goto done;
		}
		row = (res.nrows == 1 && res.rows[0]) ? json_loads(res.rows[0], 0, NULL) : NULL;
		db_result_free(&res);
		arr = json_object_get(row, "capabilities");
		caps = calloc(json_array_size(arr) + 1, sizeof(char *));
		json_array_foreach (arr, i, v) {
			if (caps != NULL && json_is_string(v))
				caps[ncaps++] = strdup(json_string_value(v));
		}
		active =
			caps != NULL && auth_allow(r, "token.introspect", caps, (size_t)ncaps,
									   json_string_value(json_object_get(row, "agent_id")), NULL);
		free_strings(caps, (size_t)ncaps);
		json_decref(row);
		if (!active) {
			if (r->resp == NULL)
				reply_error(r, 500, "internal_error", "out of memory");
			goto done;
		}
	}
	token = form_get(&f, "token");
	if (token == NULL || token[0] == '\0') {
		reply_oauth_error(r, 400, "invalid_request", "token is required");
		goto done;
	}
	if (known == -3)
		active = auth_token_active(r, token, &claims, &db_doc, &err);
	else if (known == -2)
		active = auth_token_db(r, token, &db_doc, &err);
	else
		active = known;
	if (active < 0) {
		reply_db_error(r, &err, 1);
		goto done;
	}
	metrics_introspection(active);
	if (!active)
		reply_json(r, 200, json_pack("{s:b}", "active", 0));
	else if (db_doc != NULL)
		reply_json(r, 200, json_incref(db_doc));
	else
		reply_json(r, 200, introspection_from_claims(&claims));
done:
	json_decref(db_doc);
	jwt_claims_free(&claims);
	principal_free(&caller);
	client_auth_free(&ca);
	form_free(&f);
}

/*
 * db_batch hook of revocations, run before any request of the batch is
 * answered: write the tokens the database just revoked to the cache (the
 * NOTIFY follows), so that this bridge says "inactive" from the moment it
 * says "revoked". The database names them (jti, exp) only for a genuine
 * token of the authenticated agent, so nobody can poison the cache with
 * someone else's jti; one Redis round trip for the whole batch.
 */
static void
revoked_to_cache(json_t *answers)
{
	const char *jti[64];
	long long exp[64];
	size_t n = 0, i;
	json_t *e;

	json_array_foreach(answers, i, e)
	{
		json_t *j = json_object_get(e, "jti"), *x = json_object_get(e, "exp");

		if (!json_is_string(j) || !json_is_integer(x))
			continue;
		jti[n] = json_string_value(j);
		exp[n++] = (long long)json_integer_value(x);
		if (n == sizeof(jti) / sizeof(jti[0])) {
			cache_note_tokens_revoked(n, jti, exp);
			n = 0;
		}
	}
	cache_note_tokens_revoked(n, jti, exp);
}

void
routes_token_init(void)
{
	db_batch_set_hook(BATCH_REVOKE, revoked_to_cache);
}

/* The end of a revocation, once its batch is done (req_park). */
static void
revoke_finish(struct request *r, int rc, json_t *answer, const struct db_error *err)
{
	(void)answer;
	if (rc != 0) {
		reply_db_error(r, err, 1);
		if (r->status == 401)
			reply_header(r, "WWW-Authenticate", "Basic realm=\"agentidp\", charset=\"UTF-8\"");
		return;
	}
	/* The cache already holds the revocation: see revoked_to_cache. */
	metrics_revocation();
	reply_bytes(r, 200, "application/json", "{}", 2);
	reply_header(r, "Cache-Control", "no-store");
}

void
route_token_revoke(struct request *r)
{
	struct form f;
	struct client_auth ca = {0};
	const char *why, *token;
	struct db_context ctx = req_db_context(r, NULL);
	json_t *item = NULL;

	if (read_form(r, &f, &why) != 0) {
		reply_oauth_error(r, 400, "invalid_request", why);
		return;
	}
	if (client_auth_parse(r, &f, &ca, &why) != 0) {
		reply_oauth_error(r, 400, "invalid_request", why);
		goto done;
	}
	if (ca.client_id == NULL || ca.client_secret == NULL) {
		reply_oauth_error(r, 401, "invalid_client", "client authentication is required");
		goto done;
	}
	token = form_get(&f, "token");
	if (token == NULL || token[0] == '\0') {
		reply_oauth_error(r, 400, "invalid_request", "token is required");
		goto done;
	}
	item = json_object();
	if (item == NULL || set_str(item, "token", token) != 0 ||
		set_str(item, "client_id", ca.client_id) != 0 ||
		set_str(item, "client_secret", ca.client_secret) != 0 || set_str(item, "ip", ctx.ip) != 0 ||
		set_str(item, "user_agent", ctx.user_agent) != 0) {
		reply_oauth_error(r, 400, "invalid_request",
						  "parameters and User-Agent must be valid UTF-8");
		goto done;
	}
	/* Batched with concurrent revocations: one commit for all (db_batch.h). */
	req_park(r, BATCH_REVOKE, item, revoke_finish);
	item = NULL;
done:
	json_decref(item);
	client_auth_free(&ca);
	form_free(&f);
}
