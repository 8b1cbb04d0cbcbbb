/*
 * cache_redis.h: the Redis revocation cache and the shared rate limiter.
 *
 * Redis is a cache, never the source of truth (DESIGN.md §2). Keys live
 * under a generation number: agentidp:gen names the generation that a
 * complete warm-up from agentidp.revocation_snapshot() filled. A check is
 * one MGET of gen and the token's jti, agent and client keys; when gen is
 * missing or unexpected, Redis fails, or Redis may evict keys
 * (maxmemory-policy other than noeviction), the caller must ask the
 * database. A listener thread LISTENs on agentidp_revocation, applies each
 * notification, and re-warms after any failure or a FLUSHALL.
 */
#ifndef AGENTIDP_CACHE_REDIS_H
#define AGENTIDP_CACHE_REDIS_H

#include <stddef.h>

enum cache_verdict {
	CACHE_UNKNOWN = -1, /* ask the database */
	CACHE_ACTIVE = 0,   /* nothing revoked */
	CACHE_REVOKED = 1   /* token, its agent or its client is revoked */
};

/* Parse redis://[:password@]host[:port][/db]; -1 with *err on a bad URL. */
int cache_init(const char *url, char **err);

/* Start and stop the revocation listener thread. */
int cache_start_listener(void);
void cache_stop_listener(void);

enum cache_verdict cache_check(const char *jti, const char *agent_id, const char *client_id);

/* The same for n tokens in one round trip; out[i] is token i's verdict. */
#define CACHE_CHECK_MAX 2
void cache_check_many(size_t n, const char *const *jti, const char *const *agent_id,
					  const char *const *client_id, enum cache_verdict *out);

/* Write revocations seen by this bridge now, ahead of their NOTIFY. */
void cache_note_tokens_revoked(size_t n, const char *const *jti, const long long *exp);
void cache_note_agent_status(const char *agent_id, const char *status);
void cache_note_client_revoked(const char *client_id);

/*
 * Count a request of ip in the current minute. Returns 0 when allowed (or
 * when Redis is unavailable: the limiter fails open), else the number of
 * seconds until the window ends.
 */
int cache_rate_limit(const char *ip, long limit);

/* PING with this thread's connection: 1 up, 0 down. */
int cache_ping(void);

/* Whether checks are currently answered from Redis (warm, trusted generation). */
int cache_is_warm(void);

#endif
