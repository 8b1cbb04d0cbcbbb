/*
 * db_pool.h: a fixed pool of libpq connections and the SQL calls of the
 * bridge, each one prepared statement and one round trip.
 *
 * Calls that act for a request run as
 *   WITH ctx AS MATERIALIZED (SELECT agentidp.set_request_context($1,$2,$3))
 *   SELECT <call> FROM ctx
 * so the audit trigger sees the caller's IP, user agent and agent id
 * (DESIGN.md §2). Every call returns rows of one text column (JSON).
 */
#ifndef AGENTIDP_DB_POOL_H
#define AGENTIDP_DB_POOL_H

#include <libpq-fe.h>
#include <stddef.h>

enum db_stmt {
	STMT_ISSUE_TOKENS,      /* JSON array of requests (db_batch.h) */
	STMT_REVOKE_TOKENS,     /* JSON array of requests (db_batch.h) */
	STMT_AUTH_CLIENT,       /* client_id, client_secret */
	STMT_INTROSPECT,        /* token */
	STMT_RECORD_FAILURE,    /* action, client_id, reason */
	STMT_REGISTER_AGENT,    /* name, owner, capabilities json, description, metadata json */
	STMT_GET_AGENT,         /* id */
	STMT_LIST_AGENTS,       /* status, owner, search, limit, cursor */
	STMT_UPDATE_AGENT,      /* id, patch json */
	STMT_DECOMMISSION,      /* id */
	STMT_CREATE_CREDENTIAL, /* agent id, expires_at */
	STMT_LIST_CREDENTIALS,  /* agent id */
	STMT_ROTATE_CREDENTIAL, /* agent id, credential id */
	STMT_REVOKE_CREDENTIAL, /* agent id, credential id; returns its client_id */
	STMT_LIST_AUDIT,        /* agent id, action, outcome, from, to, limit, cursor */
	STMT_GET_AUDIT,         /* id */
	STMT_KEYS_INFO,         /* (none): one row per signing key */
	STMT_JWKS,
	STMT_SNAPSHOT,
	STMT_ISSUER,
	STMT_PING,
	STMT_COUNT
};

/* Who is asking: the first three parameters of every request-context call. */
struct db_context {
	const char *ip;         /* textual IP address */
	const char *user_agent; /* may be NULL */
	const char *actor;      /* agent uuid of the bearer token, or NULL */
};

struct db_error {
	char sqlstate[6];
	char message[512];
	char detail[512];
	char hint[512];
};

struct db_result {
	char **rows; /* first column of each row as text; NULL for SQL NULL */
	size_t nrows;
};

int db_pool_init(const char *conninfo, size_t size, char **err);
void db_pool_shutdown(void);

/*
 * Run one statement. args are text or NULL (SQL NULL). Returns 0 with *res
 * filled, or -1 with *err filled (SQLSTATE 08006 when the database cannot
 * be reached, 53300 when no pooled connection freed up in time).
 */
int db_call(enum db_stmt stmt, const struct db_context *ctx, const char *const *args, int nargs,
			struct db_result *res, struct db_error *err);
void db_result_free(struct db_result *res);

size_t db_pool_in_use(void);
size_t db_pool_size(void);

/* A new connection outside the pool (the revocation listener's). */
PGconn *db_connect(char **err);

#endif
