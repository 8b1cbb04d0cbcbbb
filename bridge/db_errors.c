/* db_errors.c: SQLSTATE -> HTTP status, the single mapping table. */
#include "db_errors.h"

#include <string.h>

/*
 * Exact codes are listed before classes; the first match wins. The AIxxx
 * codes are raised by the agentidp extension; 08/40/53/57 mean that the
 * database could not run the call now, which a retry may fix.
 */
static const struct sqlstate_rule rules[] = {
	{"AIC01", 401, "invalid_client"},  {"AIR01", 400, "invalid_request"},
	{"AIS01", 400, "invalid_scope"},   {"AIU01", 400, "unauthorized_client"},
	{"AIQ01", 429, "quota_exceeded"},  {"AIQ02", 409, "conflict"},
	{"AIN01", 404, "not_found"},       {"AIT01", 409, "conflict"},
	{"AIV01", 400, "invalid_request"}, {"AIK01", 503, "unavailable"},
	{"23505", 409, "conflict"},        {"42501", 403, "forbidden"},
	{"22", 400, "invalid_request"},    {"23", 400, "invalid_request"},
	{"08", 503, "unavailable"},        {"40", 503, "unavailable"},
	{"53", 503, "unavailable"},        {"57", 503, "unavailable"},
};

static const struct sqlstate_rule fallback = {"", 500, "internal_error"};

const struct sqlstate_rule *
db_error_rule(const char *sqlstate)
{
	size_t n = sizeof(rules) / sizeof(rules[0]);

	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return &fallback;
	for (size_t i = 0; i < n; i++)
		if (strlen(rules[i].sqlstate) == 5 && strcmp(rules[i].sqlstate, sqlstate) == 0)
			return &rules[i];
	for (size_t i = 0; i < n; i++)
		if (strlen(rules[i].sqlstate) == 2 && strncmp(rules[i].sqlstate, sqlstate, 2) == 0)
			return &rules[i];
	return &fallback;
}

const char *
db_error_oauth_code(const char *message, const char **rest)
{
	static const char *const codes[] = {"invalid_request",        "invalid_client",
										"invalid_grant",          "unauthorized_client",
										"unsupported_grant_type", "invalid_scope"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		size_t n = strlen(codes[i]);

		if (strncmp(message, codes[i], n) == 0 && message[n] == ':') {
			const char *p = message + n + 1;

			while (*p == ' ')
				p++;
			*rest = p;
			return codes[i];
		}
	}
	*rest = message;
	return NULL;
}
