/* routes_audit.c: GET /api/v1/audit and /api/v1/audit/{id}. */
#include "http_auth.h"
#include "routes.h"

#include <string.h>

void
route_audit_list(struct request *r)
{
	static const char *const allowed[] = {"agentId", "action", "outcome", "from",
										  "to",      "limit",  "cursor",  NULL};
	struct principal p = {0};
	struct form q;
	const char *args[7], *agent;
	struct db_context ctx;
	struct db_result res;
	struct db_error err;

	if (req_query(r, &q) != 0)
		return;
	if (query_only(r, &q, allowed) != 0 || check_limit(r, form_get(&q, "limit")) != 0)
		goto done;
	agent = form_get(&q, "agentId");
	if (agent != NULL && !is_uuid(agent)) {
		reply_error(r, 400, "invalid_request", "agentId is not a valid UUID");
		goto done;
	}
	if (auth_bearer(r, &p) != 0)
		goto done;
	/* policy.h: audit routes have no agent in the path, so never the owner case. */
	if (!auth_allow(r, "audit.list", p.scopes, p.nscopes, p.claims.sub, NULL))
		goto done;
	args[0] = agent;
	args[1] = form_get(&q, "action");
	args[2] = form_get(&q, "outcome");
	args[3] = form_get(&q, "from");
	args[4] = form_get(&q, "to");
	args[5] = form_get(&q, "limit");
	args[6] = form_get(&q, "cursor");
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_LIST_AUDIT, &ctx, args, 7, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	reply_page(r, res.nrows == 1 ? res.rows[0] : NULL, args[5]);
	db_result_free(&res);
done:
	principal_free(&p);
	form_free(&q);
}

void
route_audit_get(struct request *r, const struct route_params *rp)
{
	struct principal p;
	const char *args[1] = {rp->event_id};
	struct db_context ctx;
	struct db_result res;
	struct db_error err;

	if (!is_decimal_id(rp->event_id)) {
		reply_error(r, 400, "invalid_request", "audit event id must be a positive integer");
		return;
	}
	if (auth_bearer(r, &p) != 0)
		return;
	if (!auth_allow(r, "audit.get", p.scopes, p.nscopes, p.claims.sub, NULL))
		goto done;
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_GET_AUDIT, &ctx, args, 1, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	if (res.nrows == 1 && res.rows[0] != NULL)
		reply_row_camel(r, 200, res.rows[0]);
	else
		reply_error(r, 404, "not_found", "no such audit event");
	db_result_free(&res);
done:
	principal_free(&p);
}
