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
 * finds a worker idle goes at once, alone if nobody else is waiting, so
 * batching adds no latency at low load.  Nobody blocks meanwhile: the HTTP
 * server parks the request (its connection suspended, its thread free for
 * others) and a worker's callback wakes it (http_server.c, req_park).
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
 * Start the workers: at most max_items requests per call (1..64, the SQL
 * limit), issue_concurrency issue_tokens and revoke_concurrency
 * revoke_tokens calls in the database at once (one worker thread each).
 * 0, or -1 when a thread could not be started.
 */
int db_batch_start(int max_items, int issue_concurrency, int revoke_concurrency);

/*
 * Called on a worker thread once the request's batch is done: rc 0 with
 * answer (a reference the callee owns) set to the request's result (the
 * RFC 6749 token body for BATCH_ISSUE; for BATCH_REVOKE the answer object
 * {agent_id, and jti, exp when this request revoked the token}), or rc -1
 * with *err filled when the request was refused or the database could not
 * be reached.
 */
typedef void (*db_batch_done)(void *ctx, int rc, json_t *answer, const struct db_error *err);

/*
 * Queue one request for the next batch of its kind; item is stolen. On 0,
 * done is called exactly once, on a worker thread, possibly before this
 * returns. -1 (done is never called, item is released) once db_batch_stop
 * has begun, or when out of memory.
 */
int db_batch_submit(enum batch_kind kind, json_t *item, db_batch_done done, void *ctx);

/*
 * Refuse new requests, answer every queued one (the workers go on calling
 * the database until the queues are empty), then join the workers.
 */
void db_batch_stop(void);

/*
 * A function the worker of a batch calls with the database's answer array
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
