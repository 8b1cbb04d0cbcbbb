/* routes_keys.c: GET /api/v1/keys, the signing keys' life cycle for administrators. */
#include "http_auth.h"
#include "routes.h"

void
route_keys_list(struct request *r)
{
	/* No filters: a misspelt one must not look as if it had been applied. */
	static const char *const allowed[] = {NULL};
	struct principal p = {0};
	struct form q;
	struct db_context ctx;
	struct db_result res;
	struct db_error err;
	json_t *data;

	if (req_query(r, &q) != 0)
		return;
	if (query_only(r, &q, allowed) != 0)
		goto done;
	if (auth_bearer(r, &p) != 0)
		goto done;
	/* Key states and dates are no secret, but they tell when keys change: admin only. */
	if (!auth_allow(r, "keys.list", p.scopes, p.nscopes, p.claims.sub, NULL))
		goto done;
	ctx = req_db_context(r, p.claims.sub);
	if (db_call(STMT_KEYS_INFO, &ctx, NULL, 0, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		goto done;
	}
	/* One row per key, in the extension's order (oldest first); never key material. */
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
	form_free(&q);
}
