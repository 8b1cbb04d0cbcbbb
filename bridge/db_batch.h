/*
 * db_batch.h: group commit for the token endpoints.
 *
 * Every token issued or revoked is one durable commit, and on a small
 * machine the commit (WAL flush, context switches) costs as much as the
 * work.  Requests of the same kind that arrive while earlier ones are in
 * the database are therefore gathered and sent as one call of
 * agentidp.issue_tokens / agentidp.revoke_tokens: one transaction, one
 * flush, one round trip, each request still with its own answer (DESIGN.md
 * section 5).  There is no timer: a request that
 * finds a batch slot free goes at once, alone if nobody else is waiting, so
 * batching adds no latency at low load.
 */
#ifndef AGENTIDP_DB_BATCH_H
#define AGENTIDP_DB_BATCH_H

#include "db_pool.h"

#include <jansson.h>

enum batch_kind {
	BATCH_ISSUE,  /* item {client_id, client_secret, scope, audience, ip, user_agent} */
	BATCH_REVOKE, /* item {token, client_id, client_secret, ip, user_agent} */
	BATCH_KINDS
};

/*
 * Settings: at most max_items requests per call (1..64, the SQL limit), at
 * most issue_concurrency issue_tokens and revoke_concurrency revoke_tokens
 * calls in the database at once.
 */
void db_batch_init(int max_items, int issue_concurrency, int revoke_concurrency);

/*
 * Run one request as part of a batch. item is borrowed. Returns 0 with
 * *answer (a new reference) set to the request's result: the RFC 6749 token
 * body for BATCH_ISSUE, the answer object {agent_id, and jti, exp when this
 * request revoked the token} for BATCH_REVOKE. Returns -1 with *err filled
 * when the request was refused or the database could not be reached.
 */
int db_batch_call(enum batch_kind kind, json_t *item, json_t **answer, struct db_error *err);

/*
 * A function the leader of a batch calls with the database's answer array
 * (one entry per request, borrowed) before it answers any request of the
 * batch; set once at start-up, before the server runs.
 */
typedef void (*db_batch_hook)(json_t *answers);
void db_batch_set_hook(enum batch_kind kind, db_batch_hook hook);

/* Counters for /metrics: calls made and requests carried, per kind. */
void db_batch_stats(enum batch_kind kind, unsigned long long *calls,
					unsigned long long *requests);
const char *db_batch_kind_name(enum batch_kind kind);

#endif
