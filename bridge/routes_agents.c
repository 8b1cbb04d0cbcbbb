/*
 * routes_agents.c: /api/v1/agents and /api/v1/agents/{id}/credentials.
 * Authenticate, ask the policy, call one SQL function, shape the answer.
 */
#include "cache_redis.h"
#include "http_auth.h"
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bearer token plus policy decision; 0 when the request may proceed. */
static int
guard(struct request *r, struct principal *p, const char *route_id, const char *owner_id)
{
	if (auth_bearer(r, p) != 0)
		return -1;
	if (!auth_allow(r, route_id, p->scopes, p->nscopes, p->claims.sub, owner_id)) {
		principal_free(p);
		return -1;
	}
	return 0;
}

static int
check_uuid(struct request *r, const char *s, const char *what)
{
	char msg[96];

	if (is_uuid(s))
		return 0;
	snprintf(msg, sizeof(msg), "%s is not a valid UUID", what);
	reply_error(r, 400, "invalid_request", msg);
	return -1;
}

/* Run a statement whose single row is an agent/credential record; reply it camelCased. */
static void
call_and_reply_row(struct request *r, struct principal *p, enum db_stmt stmt,
				   const char *const *args, int nargs, int status, const char *not_found)
{
	struct db_context ctx = req_db_context(r, p->claims.sub);
	struct db_result res;
	struct db_error err;

	if (db_call(stmt, &ctx, args, nargs, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		return;
	}
	if (res.nrows == 0 && not_found != NULL)
		reply_error(r, 404, "not_found", not_found);
	else if (res.nrows != 1)
		reply_error(r, 500, "internal_error", "unexpected database result");
	else
		reply_row_camel(r, status, res.rows[0]);
	db_result_free(&res);
}

static json_t *
camelize_page(json_t *page, const char *limit_text)
{
	json_t *data = json_object_get(page, "data"), *out, *item, *camel, *next;
	size_t i;

	out = json_array();
	json_array_foreach (data, i, item) {
		camel = json_camelize(item);
		if (camel == NULL || json_array_append_new(out, camel) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	next = json_object_get(page, "next_cursor");
	if (next == NULL)
		next = json_null();
	return json_pack("{s:o, s:{s:I, s:O, s:b}}", "data", out, "pagination", "limit",
					 (json_int_t)(limit_text ? atoi(limit_text) : 50), "nextCursor", next,
					 "hasMore", !json_is_null(next));
}

void
reply_page(struct request *r, const char *page_json, const char *limit_text)
{
	json_t *page = page_json ? json_loads(page_json, 0, NULL) : NULL;
	json_t *out = page ? camelize_page(page, limit_text) : NULL;

	json_decref(page);
	if (out == NULL)
		reply_error(r, 500, "internal_error", "unexpected database result");
	else
		reply_json(r, 200, out);
}

int
check_limit(struct request *r, const char *limit)
{
	char *end;
	long n;

	if (limit == NULL)
		return 0;
	n = strtol(limit, &end, 10);
	if (*limit == '\0' || *end != '\0' || n < 1 || n > 100) {
		reply_error(r, 400, "invalid_request", "limit must be an integer from 1 to 100");
		return -1;
	}
	return 0;
}

int
query_only(struct request *r, const struct form *q, const char *const *allowed)
{
	for (size_t i = 0; i < q->n; i++) {
		int ok = 0;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, q->fields[i].name) == 0)
				ok = 1;
		if (!ok) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unknown query parameter: %.100s", q->fields[i].name);
			reply_error(r, 400, "invalid_request", msg);
			return -1;
		}
	}
	return 0;
}

void
route_agents_list(struct request *r)
{
	static const char *const allowed[] = {"limit", "cursor", "status", "owner", "search", NULL};
	struct principal p;
	struct form q;
	const char *args[5];
	struct db_context ctx;
	struct db_result res;
	struct db_error err;

	if (guard(r, &p, "agents.list", NULL) != 0)
		return;
	if (req_query(r, &q) != 0)
		goto done;
	if (query_only(r, &q, allowed) != 0 || check_limit(r, form_get(&q, "limit")) != 0)
		goto done;
	args[0] = form_get(&q, "status");
	args[1] = form_get(&q, "owner");
	args[2] = form_get(&q, "search");
	args[3] = form_get(&q, "limit");
	args[4] = form_get(&q, "cursor");
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_LIST_AGENTS, &ctx, args, 5, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	reply_page(r, res.nrows == 1 ? res.rows[0] : NULL, args[3]);
	db_result_free(&res);
done:
	form_free(&q);
	principal_free(&p);
}

static int
optional_string(struct request *r, json_t *obj, const char *name, int nullable)
{
	json_t *v = json_object_get(obj, name);
	char msg[96];

	if (v == NULL || json_is_string(v) || (nullable && json_is_null(v)))
		return 0;
	snprintf(msg, sizeof(msg), "%s must be a string%s", name, nullable ? " or null" : "");
	reply_error(r, 400, "invalid_request", msg);
	return -1;
}

static int
check_capabilities(struct request *r, json_t *obj)
{
	json_t *caps = json_object_get(obj, "capabilities"), *v;
	size_t i;

	if (caps == NULL)
		return 0;
	if (!json_is_array(caps))
		goto bad;
	json_array_foreach (caps, i, v) {
		if (!json_is_string(v))
			goto bad;
	}
	return 0;
bad:
	reply_error(r, 400, "invalid_request", "capabilities must be an array of strings");
	return -1;
}

void
route_agents_create(struct request *r)
{
	static const char *const allowed[] = {"name",        "owner",    "capabilities",
										  "description", "metadata", NULL};
	struct principal p;
	json_t *body = NULL, *v;
	char *caps = NULL, *meta = NULL;
	const char *args[5];
	struct db_context ctx;
	struct db_result res;
	struct db_error err;

	if (guard(r, &p, "agents.create", NULL) != 0)
		return;
	body = req_json_object(r, 0);
	if (body == NULL || json_only_fields(r, body, allowed) != 0)
		goto done;
	if (!json_is_string(json_object_get(body, "name")) ||
		!json_is_string(json_object_get(body, "owner"))) {
		reply_error(r, 400, "invalid_request", "name and owner are required strings");
		goto done;
	}
	if (optional_string(r, body, "description", 1) != 0 || check_capabilities(r, body) != 0)
		goto done;
	v = json_object_get(body, "metadata");
	if (v != NULL && !json_is_object(v)) {
		reply_error(r, 400, "invalid_request", "metadata must be an object");
		goto done;
	}
	if (json_object_get(body, "capabilities") != NULL)
		caps = json_dumps(json_object_get(body, "capabilities"), JSON_COMPACT);
	if (v != NULL)
		meta = json_dumps(v, JSON_COMPACT);
	args[0] = json_string_value(json_object_get(body, "name"));
	args[1] = json_string_value(json_object_get(body, "owner"));
	args[2] = caps;
	args[3] = json_string_value(json_object_get(body, "description"));
	args[4] = meta;
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_REGISTER_AGENT, &ctx, args, 5, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	if (res.nrows == 1 && res.rows[0] != NULL) {
		json_t *row = json_loads(res.rows[0], 0, NULL);
		const char *id = json_string_value(json_object_get(row, "id"));

		reply_row_camel(r, 201, res.rows[0]);
		if (id != NULL && is_uuid(id)) {
			char loc[80];

			snprintf(loc, sizeof(loc), "/api/v1/agents/%s", id);
			reply_header(r, "Location", loc);
		}
		json_decref(row);
	} else {
		reply_error(r, 500, "internal_error", "unexpected database result");
	}
	db_result_free(&res);
done:
	free(caps);
	free(meta);
	json_decref(body);
	principal_free(&p);
}

void
route_agents_get(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[1] = {rp->agent_id};

	if (check_uuid(r, rp->agent_id, "agent id") != 0)
		return;
	if (guard(r, &p, "agents.get", rp->agent_id) != 0)
		return;
	call_and_reply_row(r, &p, STMT_GET_AGENT, args, 1, 200, NULL);
	principal_free(&p);
}

/* After a status change, tell the cache now rather than when the NOTIFY arrives. */
static void
note_agent_status_from_reply(const char *agent_id, const char *row_json)
{
	json_t *row = json_loads(row_json, 0, NULL);
	const char *status = json_string_value(json_object_get(row, "status"));

	if (status != NULL)
		cache_note_agent_status(agent_id, status);
	json_decref(row);
}

static void
status_changing_call(struct request *r, struct principal *p, enum db_stmt stmt,
					 const char *const *args, int nargs, const char *agent_id)
{
	struct db_context ctx = req_db_context(r, p->claims.sub);
	struct db_result res;
	struct db_error err;

	if (db_call(stmt, &ctx, args, nargs, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		return;
	}
	if (res.nrows == 1 && res.rows[0] != NULL) {
		note_agent_status_from_reply(agent_id, res.rows[0]);
		reply_row_camel(r, 200, res.rows[0]);
	} else {
		reply_error(r, 500, "internal_error", "unexpected database result");
	}
	db_result_free(&res);
}

void
route_agents_update(struct request *r, const struct route_params *rp)
{
	static const char *const allowed[] = {"name",     "description", "owner", "capabilities",
										  "metadata", "status",      NULL};
	struct principal p;
	json_t *body = NULL, *v;
	char *patch = NULL;
	const char *args[2];

	if (check_uuid(r, rp->agent_id, "agent id") != 0)
		return;
	if (guard(r, &p, "agents.update", rp->agent_id) != 0)
		return;
	body = req_json_object(r, 0);
	if (body == NULL || json_only_fields(r, body, allowed) != 0)
		goto done;
	if (json_object_size(body) == 0) {
		reply_error(r, 400, "invalid_request", "the patch is empty");
		goto done;
	}
	if (optional_string(r, body, "name", 0) != 0 || optional_string(r, body, "owner", 0) != 0 ||
		optional_string(r, body, "description", 1) != 0 ||
		optional_string(r, body, "status", 0) != 0 || check_capabilities(r, body) != 0)
		goto done;
	v = json_object_get(body, "metadata");
	if (v != NULL && !json_is_object(v)) {
		reply_error(r, 400, "invalid_request", "metadata must be an object");
		goto done;
	}
	patch = json_dumps(body, JSON_COMPACT);
	args[0] = rp->agent_id;
	args[1] = patch;
	status_changing_call(r, &p, STMT_UPDATE_AGENT, args, 2, rp->agent_id);
done:
	free(patch);
	json_decref(body);
	principal_free(&p);
}

void
route_agents_delete(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[1] = {rp->agent_id};

	if (check_uuid(r, rp->agent_id, "agent id") != 0)
		return;
	if (guard(r, &p, "agents.delete", rp->agent_id) != 0)
		return;
	status_changing_call(r, &p, STMT_DECOMMISSION, args, 1, rp->agent_id);
	principal_free(&p);
}

void
route_credentials_list(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[1] = {rp->agent_id};
	struct db_context ctx;
	struct db_result res;
	struct db_error err;
	json_t *data;

	if (check_uuid(r, rp->agent_id, "agent id") != 0)
		return;
	if (guard(r, &p, "credentials.list", rp->agent_id) != 0)
		return;
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_LIST_CREDENTIALS, &ctx, args, 1, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	data = json_array();
	for (size_t i = 0; i < res.nrows; i++) {
		json_t *row = res.rows[i] ? json_loads(res.rows[i], 0, NULL) : NULL;

		if (row != NULL)
			json_array_append_new(data, json_camelize(row));
		json_decref(row);
	}
	db_result_free(&res);
	reply_json(r, 200, json_pack("{s:o}", "data", data));
done:
	principal_free(&p);
}

void
route_credentials_create(struct request *r, const struct route_params *rp)
{
	static const char *const allowed[] = {"expiresAt", NULL};
	struct principal p;
	json_t *body = NULL;
	const char *args[2];

	if (check_uuid(r, rp->agent_id, "agent id") != 0)
		return;
	if (guard(r, &p, "credentials.create", rp->agent_id) != 0)
		return;
	body = req_json_object(r, 1);
	if (body == NULL || json_only_fields(r, body, allowed) != 0 ||
		optional_string(r, body, "expiresAt", 1) != 0)
		goto done;
	args[0] = rp->agent_id;
	args[1] = json_string_value(json_object_get(body, "expiresAt"));
	call_and_reply_row(r, &p, STMT_CREATE_CREDENTIAL, args, 2, 201, NULL);
done:
	json_decref(body);
	principal_free(&p);
}

void
route_credentials_rotate(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[2] = {rp->agent_id, rp->credential_id};

	if (check_uuid(r, rp->agent_id, "agent id") != 0 ||
		check_uuid(r, rp->credential_id, "credential id") != 0)
		return;
	if (guard(r, &p, "credentials.rotate", rp->agent_id) != 0)
		return;
	call_and_reply_row(r, &p, STMT_ROTATE_CREDENTIAL, args, 2, 200,
					   "no such credential for this agent");
	principal_free(&p);
}

void
route_credentials_revoke(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[2] = {rp->agent_id, rp->credential_id};
	struct db_context ctx;
	struct db_result res;
	struct db_error err;

	if (check_uuid(r, rp->agent_id, "agent id") != 0 ||
		check_uuid(r, rp->credential_id, "credential id") != 0)
		return;
	if (guard(r, &p, "credentials.revoke", rp->agent_id) != 0)
		return;
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_REVOKE_CREDENTIAL, &ctx, args, 2, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	if (res.nrows == 0) {
		reply_error(r, 404, "not_found", "no such credential for this agent");
	} else {
		/* Its tokens die now on this bridge; the NOTIFY tells the others. */
		if (res.rows[0] != NULL && res.rows[0][0] != '\0')
			cache_note_client_revoked(res.rows[0]);
		reply_bytes(r, 204, NULL, "", 0);
	}
	db_result_free(&res);
done:
	principal_free(&p);
}
