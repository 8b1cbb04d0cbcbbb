/* db_pool.c: the libpq connection pool and the prepared SQL calls. */
#include "db_pool.h"

#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTX                                                                                        \
	"WITH ctx AS MATERIALIZED (SELECT agentidp.set_request_context($1::inet, $2, $3::uuid)) "

struct stmt_def {
	const char *sql;
	int with_ctx; /* takes the three request-context parameters first */
};

/*
 * Set-returning functions are called in the select list so that they run in
 * the projection above the ctx scan, i.e. after set_request_context.
 * Credential routes check in the same statement that the credential belongs
 * to the agent of the path: zero rows means it does not.
 */
static const struct stmt_def stmts[STMT_COUNT] = {
	/* Batches (db_batch.c): each request carries its own context. */
	[STMT_ISSUE_TOKENS] = {"SELECT agentidp.issue_tokens($1::jsonb)::text", 0},
	[STMT_REVOKE_TOKENS] = {"SELECT agentidp.revoke_tokens($1::jsonb)::text", 0},
	[STMT_AUTH_CLIENT] = {CTX
						  "SELECT to_jsonb(agentidp.authenticate_client($4, $5))::text FROM ctx",
						  1},
	[STMT_INTROSPECT] = {CTX "SELECT agentidp.introspect_token($4)::text FROM ctx", 1},
	[STMT_RECORD_FAILURE] = {CTX "SELECT agentidp.record_failure($4, $5, $6)::text FROM ctx", 1},
	[STMT_REGISTER_AGENT] = {CTX "SELECT to_jsonb(agentidp.register_agent($4, $5, "
								 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text($6::jsonb)), "
								 "$7, coalesce($8::jsonb, '{}'::jsonb)))::text FROM ctx",
							 1},
	[STMT_GET_AGENT] = {CTX "SELECT to_jsonb(agentidp.get_agent($4::uuid))::text FROM ctx", 1},
	[STMT_LIST_AGENTS] = {CTX "SELECT agentidp.list_agents($4, $5, $6, coalesce($7::int, 50), "
							  "$8)::text FROM ctx",
						  1},
	[STMT_UPDATE_AGENT] = {CTX "SELECT to_jsonb(agentidp.update_agent($4::uuid, $5::jsonb))::text "
							   "FROM ctx",
						   1},
	[STMT_DECOMMISSION] = {CTX "SELECT to_jsonb(agentidp.decommission_agent($4::uuid))::text FROM "
							   "ctx",
						   1},
	/* The answer is the credential as listed plus its secret, shown this once.
	 * The subquery reads c, so it runs after the credential exists (and
	 * list_credentials is VOLATILE, so it sees it). */
	[STMT_CREATE_CREDENTIAL] = {CTX ", c AS MATERIALIZED (SELECT agentidp.create_credential("
									"$4::uuid, $5::timestamptz) AS r FROM ctx) "
									"SELECT ((SELECT to_jsonb(l) FROM agentidp.list_credentials("
									"$4::uuid) l WHERE l.id = (c.r).credential_id) || "
									"pg_catalog.jsonb_build_object('client_secret', "
									"(c.r).client_secret))::text FROM c",
								1},
	[STMT_LIST_CREDENTIALS] = {CTX "SELECT to_jsonb(agentidp.list_credentials($4::uuid))::text "
								   "FROM ctx",
							   1},
	[STMT_ROTATE_CREDENTIAL] = {CTX ", c AS MATERIALIZED (SELECT (agentidp.list_credentials("
									"$4::uuid)).id AS id FROM ctx), "
									"r AS MATERIALIZED (SELECT agentidp.rotate_credential(c.id) AS r "
									"FROM c WHERE c.id = $5::uuid) "
									"SELECT ((SELECT to_jsonb(l) FROM agentidp.list_credentials("
									"$4::uuid) l WHERE l.id = (r.r).credential_id) || "
									"pg_catalog.jsonb_build_object('client_secret', "
									"(r.r).client_secret))::text FROM r",
								1},
	[STMT_REVOKE_CREDENTIAL] = {CTX
								", c AS MATERIALIZED (SELECT to_jsonb(agentidp.list_credentials("
								"$4::uuid)) AS j FROM ctx) "
								"SELECT agentidp.revoke_credential((c.j->>'id')::uuid)::text "
								"|| (c.j->>'client_id') FROM c "
								"WHERE (c.j->>'id')::uuid = $5::uuid",
								1},
	[STMT_LIST_AUDIT] = {CTX "SELECT agentidp.list_audit($4::uuid, $5, $6, $7::timestamptz, "
							 "$8::timestamptz, coalesce($9::int, 50), $10)::text FROM ctx",
						 1},
	[STMT_GET_AUDIT] = {CTX "SELECT agentidp.get_audit_event($4::bigint)::text FROM ctx", 1},
	[STMT_KEYS_INFO] = {CTX "SELECT to_jsonb(agentidp.signing_keys_info())::text FROM ctx", 1},
	[STMT_JWKS] = {"SELECT agentidp.jwks()::text", 0},
	[STMT_SNAPSHOT] = {"SELECT agentidp.revocation_snapshot()::text", 0},
	/* Same rule as the extension's own issuer lookup; the ctx call loads the library. */
	[STMT_ISSUER] = {"WITH ctx AS MATERIALIZED (SELECT agentidp.set_request_context(NULL, NULL, "
					 "NULL)) SELECT COALESCE(NULLIF(pg_catalog.current_setting("
					 "'agentidp.issuer', true), ''), 'http://127.0.0.1:8080') FROM ctx",
					 0},
	[STMT_PING] = {"SELECT '1'", 0},
};

struct slot {
	PGconn *conn;
	int busy;
	unsigned char prepared[STMT_COUNT];
};

static struct slot *slots;
static size_t nslots;
static char *pool_conninfo;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static atomic_size_t in_use;

/* Server messages outside a query (shutdown notices) go to our log, not raw stderr. */
static void
notice_to_log(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	log_info("database says: %.*s", (int)(n > 0 && message[n - 1] == '\n' ? n - 1 : n), message);
}

/*
 * Our bind parameters carry client secrets and tokens. PostgreSQL writes
 * them in full into its log with every statement it logs (a slow one under
 * log_min_duration_statement, all under log_statement = all) or that fails:
 * not from this session. The extension grants agentidp_bridge the right to
 * set the first (superuser-only) parameter; the second is anyone's.
 */
static void
hide_parameters(PGconn *conn)
{
	static atomic_int warned;
	/* The second needs the grant: if it fails, the first has been done. */
	PGresult *res = PQexec(conn, "SET log_parameter_max_length_on_error = 0; "
								 "SET log_parameter_max_length = 0");

	if (PQresultStatus(res) != PGRES_COMMAND_OK && !atomic_exchange(&warned, 1)) {
		char why[256];
		size_t n;

		snprintf(why, sizeof(why), "%s", PQresultErrorMessage(res));
		n = strlen(why);
		while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0';
		log_warn("cannot stop PostgreSQL from logging query parameters (%s): a logged "
				 "statement may show client secrets; the bridge's database role must be a "
				 "member of agentidp_bridge, to which the extension grants SET on "
				 "log_parameter_max_length",
				 why);
	}
	PQclear(res);
}

PGconn *
db_connect(char **err)
{
	/* connect_timeout bounds a request's wait when the server is unreachable. */
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {pool_conninfo, "5", "agentidp-bridge", NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		if (err != NULL)
			*err = strdup(conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		metrics_set_db_up(0);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
	hide_parameters(conn);
	metrics_set_db_up(1);
	return conn;
}

int
db_pool_init(const char *conninfo, size_t size, char **err)
{
	pool_conninfo = strdup(conninfo);
	slots = calloc(size, sizeof(*slots));
	if (pool_conninfo == NULL || slots == NULL) {
		*err = strdup("out of memory");
		return -1;
	}
	nslots = size;
	/* One connection now, so that a wrong URL fails at start, not at the first request. */
	slots[0].conn = db_connect(err);
	return slots[0].conn ? 0 : -1;
}

void
db_pool_shutdown(void)
{
	pthread_mutex_lock(&pool_lock);
	for (size_t i = 0; i < nslots; i++) {
		PQfinish(slots[i].conn);
		slots[i].conn = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
}

size_t
db_pool_in_use(void)
{
	return atomic_load(&in_use);
}

size_t
db_pool_size(void)
{
	return nslots;
}

/* Borrow a slot, waiting up to 5 s; prefer one that already has a connection. */
static struct slot *
acquire(void)
{
	struct timespec deadline;
	struct slot *found = NULL;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		for (size_t i = 0; i < nslots; i++) {
			if (slots[i].busy)
				continue;
			if (found == NULL || (found->conn == NULL && slots[i].conn != NULL))
				found = &slots[i];
			if (found->conn != NULL)
				break;
		}
		if (found != NULL)
			break;
		if (pthread_cond_timedwait(&pool_cond, &pool_lock, &deadline) == ETIMEDOUT)
			break;
	}
	if (found != NULL) {
		found->busy = 1;
		atomic_fetch_add(&in_use, 1);
	}
	pthread_mutex_unlock(&pool_lock);
	return found;
}

static void
release(struct slot *s)
{
	pthread_mutex_lock(&pool_lock);
	s->busy = 0;
	atomic_fetch_sub(&in_use, 1);
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

static void
drop_connection(struct slot *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
	memset(s->prepared, 0, sizeof(s->prepared));
}

/*
 * An idle connection whose socket is readable has been closed by the server
 * (restart, idle timeout): reconnect before sending rather than fail the
 * request, because after sending we could not tell whether it committed.
 */
static int
ensure_connected(struct slot *s, struct db_error *err)
{
	if (s->conn != NULL) {
		struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};

		/*
		 * Readable while idle: the server has something to say between
		 * queries, almost always the FATAL "terminating connection" of a
		 * restart or pg_terminate_backend. libpq may still report the
		 * connection OK after reading that message (the EOF comes in a later
		 * read), so drop it rather than fail the next request with 503; the
		 * rare harmless message (ParameterStatus after a reload) costs one
		 * reconnect.
		 */
		if (PQstatus(s->conn) != CONNECTION_OK || poll(&pfd, 1, 0) != 0)
			drop_connection(s);
	}
	if (s->conn == NULL) {
		char *msg = NULL;

		s->conn = db_connect(&msg);
		if (s->conn == NULL) {
			/* The libpq message may hold the connection string; log only that it failed. */
			log_warn("database connection failed");
			free(msg);
			strcpy(err->sqlstate, "08006");
			snprintf(err->message, sizeof(err->message), "database unavailable");
			return -1;
		}
	}
	return 0;
}

static void
copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void
fill_error(const PGresult *r, PGconn *conn, struct db_error *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	copy_field(err->sqlstate, sizeof(err->sqlstate), state ? state : "08006");
	if (r != NULL && PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) != NULL) {
		copy_field(err->message, sizeof(err->message),
				   PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
		copy_field(err->detail, sizeof(err->detail), PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
		copy_field(err->hint, sizeof(err->hint), PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
	} else {
		(void)conn;
		copy_field(err->message, sizeof(err->message), "database unavailable");
	}
}

int
db_call(enum db_stmt stmt, const struct db_context *ctx, const char *const *args, int nargs,
		struct db_result *res, struct db_error *err)
{
	const char *params[16];
	char name[16];
	int nparams = 0;
	struct slot *s;
	PGresult *r = NULL;

	memset(err, 0, sizeof(*err));
	res->rows = NULL;
	res->nrows = 0;
	if (stmts[stmt].with_ctx) {
		params[nparams++] = ctx ? ctx->ip : NULL;
		params[nparams++] = ctx ? ctx->user_agent : NULL;
		params[nparams++] = ctx ? ctx->actor : NULL;
	}
	for (int i = 0; i < nargs && nparams < 16; i++)
		params[nparams++] = args[i];

	s = acquire();
	if (s == NULL) {
		strcpy(err->sqlstate, "53300");
		snprintf(err->message, sizeof(err->message), "all database connections are busy");
		return -1;
	}
	if (ensure_connected(s, err) != 0)
		goto fail;
	snprintf(name, sizeof(name), "aidp_%d", (int)stmt);
	if (!s->prepared[stmt]) {
		r = PQprepare(s->conn, name, stmts[stmt].sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fill_error(r, s->conn, err);
			goto fail_conn;
		}
		PQclear(r);
		s->prepared[stmt] = 1;
	}
	r = PQexecPrepared(s->conn, name, nparams, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fill_error(r, s->conn, err);
		goto fail_conn;
	}
	metrics_set_db_up(1);
	res->nrows = (size_t)PQntuples(r);
	res->rows = calloc(res->nrows ? res->nrows : 1, sizeof(char *));
	if (res->rows == NULL) {
		strcpy(err->sqlstate, "53200");
		snprintf(err->message, sizeof(err->message), "out of memory");
		goto fail_conn;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		if (PQgetisnull(r, (int)i, 0))
			continue;
		res->rows[i] = strdup(PQgetvalue(r, (int)i, 0));
		if (res->rows[i] == NULL) {
			db_result_free(res);
			strcpy(err->sqlstate, "53200");
			snprintf(err->message, sizeof(err->message), "out of memory");
			goto fail_conn;
		}
	}
	PQclear(r);
	release(s);
	return 0;

fail_conn:
	PQclear(r);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		drop_connection(s);
		metrics_set_db_up(0);
	}
fail:
	release(s);
	return -1;
}

void
db_result_free(struct db_result *res)
{
	for (size_t i = 0; i < res->nrows; i++)
		free(res->rows[i]);
	free(res->rows);
	res->rows = NULL;
	res->nrows = 0;
}
