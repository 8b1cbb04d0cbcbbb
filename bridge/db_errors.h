/*
 * db_errors.h: the one table that maps PostgreSQL SQLSTATEs to HTTP statuses
 * and error codes (DESIGN.md §1). The README quotes db_errors.c.
 */
#ifndef AGENTIDP_DB_ERRORS_H
#define AGENTIDP_DB_ERRORS_H

struct sqlstate_rule {
	const char *sqlstate; /* five characters, or a two-character class */
	int http_status;
	const char *error; /* the "error" member of the response body */
};

/* Find the rule for a SQLSTATE (exact code first, then its class, then 500). */
const struct sqlstate_rule *db_error_rule(const char *sqlstate);

/*
 * OAuth errors raised by the extension start with the RFC 6749 code
 * ("invalid_client: unknown client"). Return that code if message starts
 * with one of the known codes followed by ':', else NULL; *rest points to
 * the description after the prefix.
 */
const char *db_error_oauth_code(const char *message, const char **rest);

#endif
