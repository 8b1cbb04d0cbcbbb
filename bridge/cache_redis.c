/* cache_redis.c: revocation cache, warm-up, NOTIFY listener, rate limiter. */
#include "cache_redis.h"

#include "db_pool.h"
#include "jwt_verify.h"
#include "log.h"
#include "metrics.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_GEN     "agentidp:gen"
#define KEY_GEN_SEQ "agentidp:genseq"
/* Keys outlive what they describe by a margin covering clock skew and leeway. */
#define TTL_MARGIN 120
/* How often the listener re-reads maxmemory-policy. */
#define EVICTION_CHECK_SECONDS 5
/*
 * How often the listener reads the revocation log without a notification.
 * Token revocations made by the bridges' batches come without one (see
 * agentidp._revoke): each bridge writes its own to the shared Redis before
 * answering, and this read applies them, and any lost notification, within
 * a second.
 */
#define LOG_READ_MS 1000

static char redis_host[256] = "127.0.0.1";
static int redis_port = 6379;
static char redis_socket[256]; /* unix:// URL: the socket path; else empty */
static int redis_db;
static char redis_password[256];

/* 0 = cold: every check goes to the database. */
static atomic_llong current_gen;
/*
 * The generation a warm-up is filling, 0 when none: revocations this bridge
 * confirms meanwhile are written there too, so they are in it when it is
 * published. A failed write zeroes it and the warm-up does not publish.
 */
static atomic_llong warming_gen;
/* 1 when maxmemory-policy is noeviction, so a missing key means "not revoked". */
static atomic_int trusted;
static atomic_llong max_ttl = 86400;
static atomic_int stop_listener;
static pthread_t listener_thread;
static int listener_started;

/* One connection per thread (hiredis contexts are not thread-safe). */
static _Thread_local redisContext *tl_redis;
static _Thread_local time_t tl_retry_at;

/*
 * The same context registered under a thread-specific key, whose destructor
 * closes it when the thread exits (thread-locals have no destructor, and
 * libmicrohttpd's pool threads end at shutdown).
 */
static pthread_key_t redis_key;
static pthread_once_t redis_key_once = PTHREAD_ONCE_INIT;

static void
redis_key_destroy(void *c)
{
	redisFree(c);
}

static void
redis_key_make(void)
{
	(void)pthread_key_create(&redis_key, redis_key_destroy);
}

/*
 * unix://[:password@]/path/to/redis.sock[?db=N]: a Redis on the same host
 * through its Unix socket, which costs the kernel less per round trip than
 * loopback TCP (one round trip per token check).
 */
static int
parse_unix_socket(const char *p, char **err)
{
	const char *q = strchr(p, '?');
	size_t len = q ? (size_t)(q - p) : strlen(p);

	if (len == 0 || p[0] != '/' || len >= sizeof(redis_socket)) {
		*err = strdup("AGENTIDP_REDIS_URL unix:// needs an absolute socket path");
		return -1;
	}
	memcpy(redis_socket, p, len);
	redis_socket[len] = '\0';
	if (q != NULL) {
		char *end;
		long db;

		if (strncmp(q, "?db=", 4) != 0) {
			*err = strdup("AGENTIDP_REDIS_URL unix:// takes only ?db=N");
			return -1;
		}
		db = strtol(q + 4, &end, 10);
		if (end == q + 4 || *end != '\0' || db < 0 || db > 1000) {
			*err = strdup("bad database number in AGENTIDP_REDIS_URL");
			return -1;
		}
		redis_db = (int)db;
	}
	return 0;
}

int
cache_init(const char *url, char **err)
{
	const char *p = url, *at, *slash, *colon;
	char hostport[256];
	int unix_socket = strncmp(p, "unix://", 7) == 0;

	if (strncmp(p, "redis://", 8) != 0 && !unix_socket) {
		*err = strdup("AGENTIDP_REDIS_URL must start with redis:// or unix://");
		return -1;
	}
	p += unix_socket ? 7 : 8;
	at = strrchr(p, '@');
	if (at != NULL) {
		const char *pw = memchr(p, ':', (size_t)(at - p));

		/* redis://user:password@ and redis://:password@; the user part is ignored. */
		pw = pw ? pw + 1 : p;
		if ((size_t)(at - pw) >= sizeof(redis_password)) {
			*err = strdup("Redis password too long");
			return -1;
		}
		memcpy(redis_password, pw, (size_t)(at - pw));
		redis_password[at - pw] = '\0';
		p = at + 1;
	}
	if (unix_socket)
		return parse_unix_socket(p, err);
	slash = strchr(p, '/');
	snprintf(hostport, sizeof(hostport), "%.*s", slash ? (int)(slash - p) : (int)strlen(p), p);
	colon = strrchr(hostport, ':');
	if (colon != NULL) {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (*end != '\0' || port <= 0 || port > 65535) {
			*err = strdup("bad port in AGENTIDP_REDIS_URL");
			return -1;
		}
		redis_port = (int)port;
		hostport[colon - hostport] = '\0';
	}
	if (hostport[0] != '\0')
		memcpy(redis_host, hostport, sizeof(redis_host));
	if (slash != NULL && slash[1] != '\0') {
		char *end;
		long db = strtol(slash + 1, &end, 10);

		if (*end != '\0' || db < 0 || db > 1000) {
			*err = strdup("bad database number in AGENTIDP_REDIS_URL");
			return -1;
		}
		redis_db = (int)db;
	}
	return 0;
}

static redisContext *
redis_open(void)
{
	struct timeval tv = {0, 300000};
	redisContext *c = redis_socket[0] != '\0'
						  ? redisConnectUnixWithTimeout(redis_socket, tv)
						  : redisConnectWithTimeout(redis_host, redis_port, tv);
	redisReply *r;

	if (c == NULL || c->err) {
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (redis_password[0] != '\0') {
		r = redisCommand(c, "AUTH %s", redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			log_warn("Redis refused the password from AGENTIDP_REDIS_URL");
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	if (redis_db != 0) {
		r = redisCommand(c, "SELECT %d", redis_db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	return c;
}

/*
 * This thread's connection, or NULL. After a failure the thread waits a
 * second before reconnecting so that a down Redis costs requests nothing.
 */
static redisContext *
thread_redis(void)
{
	time_t now;

	if (tl_redis != NULL)
		return tl_redis;
	now = time(NULL);
	if (now < tl_retry_at)
		return NULL;
	tl_redis = redis_open();
	if (tl_redis == NULL) {
		tl_retry_at = now + 1;
		metrics_set_redis_up(0);
	}
	pthread_once(&redis_key_once, redis_key_make);
	(void)pthread_setspecific(redis_key, tl_redis);
	return tl_redis;
}

static void
thread_redis_failed(void)
{
	(void)pthread_setspecific(redis_key, NULL);
	redisFree(tl_redis);
	tl_redis = NULL;
	tl_retry_at = time(NULL) + 1;
	metrics_set_redis_up(0);
}

int
cache_is_warm(void)
{
	return atomic_load(&current_gen) != 0 && atomic_load(&trusted);
}

/*
 * Verdicts for n tokens (n <= CACHE_CHECK_MAX) in one MGET of gen and each
 * token's jti, agent and client keys: one Redis round trip however many
 * tokens a request carries (introspection has two).
 */
void
cache_check_many(size_t n, const char *const *jti, const char *const *agent_id,
				 const char *const *client_id, enum cache_verdict *out)
{
	long long gen = atomic_load(&current_gen);
	char keys[1 + 3 * CACHE_CHECK_MAX][200], genstr[24];
	const char *argv[2 + 3 * CACHE_CHECK_MAX];
	size_t argc = 0, i, hits = 0;
	redisContext *c;
	redisReply *r;

	for (i = 0; i < n; i++)
		out[i] = CACHE_UNKNOWN;
	if (n == 0 || n > CACHE_CHECK_MAX || gen == 0 || !atomic_load(&trusted) ||
		(c = thread_redis()) == NULL) {
		for (i = 0; i < n; i++)
			metrics_cache_miss();
		return;
	}
	argv[argc++] = "MGET";
	argv[argc++] = KEY_GEN;
	for (i = 0; i < n; i++) {
		snprintf(keys[3 * i], sizeof(keys[0]), "agentidp:%lld:jti:%s", gen, jti[i]);
		snprintf(keys[3 * i + 1], sizeof(keys[0]), "agentidp:%lld:agent:%s", gen, agent_id[i]);
		snprintf(keys[3 * i + 2], sizeof(keys[0]), "agentidp:%lld:client:%s", gen, client_id[i]);
		argv[argc++] = keys[3 * i];
		argv[argc++] = keys[3 * i + 1];
		argv[argc++] = keys[3 * i + 2];
	}
	r = redisCommandArgv(c, (int)argc, argv, NULL);
	if (r == NULL) {
		thread_redis_failed();
		for (i = 0; i < n; i++)
			metrics_cache_miss();
		return;
	}
	snprintf(genstr, sizeof(genstr), "%lld", gen);
	if (r->type == REDIS_REPLY_ARRAY && r->elements == argc - 1 &&
		r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, genstr) == 0) {
		for (i = 0; i < n; i++) {
			redisReply **e = &r->element[1 + 3 * i];

			if (e[0]->type == REDIS_REPLY_STRING || e[2]->type == REDIS_REPLY_STRING ||
				(e[1]->type == REDIS_REPLY_STRING && strcmp(e[1]->str, "active") != 0))
				out[i] = CACHE_REVOKED;
			else
				out[i] = CACHE_ACTIVE;
		}
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == argc - 1 &&
			   r->element[0]->type == REDIS_REPLY_NIL) {
		/* FLUSHALL, restart or eviction of the generation key: warm up again. */
		atomic_store(&current_gen, 0);
	}
	freeReplyObject(r);
	metrics_set_redis_up(1);
	for (i = 0; i < n; i++) {
		if (out[i] == CACHE_UNKNOWN)
			metrics_cache_miss();
		else
			hits++;
	}
	while (hits-- > 0)
		metrics_cache_hit();
}

enum cache_verdict
cache_check(const char *jti, const char *agent_id, const char *client_id)
{
	enum cache_verdict v;

	cache_check_many(1, &jti, &agent_id, &client_id, &v);
	return v;
}

/*
 * Redis writes are pipelined: one round trip per batch rather than per key,
 * so a snapshot with many revoked tokens loads quickly; so are the
 * revocations of one revoke_tokens call and each page of the revocation log
 * (under a peak of revocations a catch-up brings a dozen rows, and a round
 * trip each cost the listener as much as all the rest).
 */
struct pipeline {
	redisContext *c;
	int pending;
	int failed;
};

static void
pipeline_drain(struct pipeline *p)
{
	while (p->pending > 0) {
		redisReply *r = NULL;
		int io_error = redisGetReply(p->c, (void **)&r) != REDIS_OK || r == NULL;

		if (io_error || r->type == REDIS_REPLY_ERROR)
			p->failed = 1;
		freeReplyObject(r);
		p->pending--;
		if (io_error)
			return;
	}
}

static void
pipeline_set(struct pipeline *p, long long gen, const char *kind, const char *id, const char *value,
			 long long ttl)
{
	if (p->failed || id == NULL || strlen(id) > 128 || strchr(id, ' ') != NULL || ttl <= 0)
		return;
	if (redisAppendCommand(p->c, "SET agentidp:%lld:%s:%s %s EX %lld", gen, kind, id, value, ttl) !=
		REDIS_OK) {
		p->failed = 1;
		return;
	}
	if (++p->pending >= 1000)
		pipeline_drain(p);
}

/*
 * Write revocations this bridge confirmed (n keys of one kind, pipelined:
 * one round trip for all) to the published generation, or to the one a
 * warm-up is filling (so that they are in it when published). A lost write
 * could hide a revocation: stop trusting the cache and make a running
 * warm-up start over.
 */
static void
note_revocations(const char *kind, size_t n, const char *const *id, const char *const *value,
				 const long long *ttl)
{
	long long gen = atomic_load(&current_gen);
	struct pipeline p = {0};

	if (n == 0)
		return;
	if (gen == 0)
		gen = atomic_load(&warming_gen);
	if (gen == 0)
		return;
	p.c = thread_redis();
	if (p.c != NULL) {
		for (size_t i = 0; i < n; i++) {
			/* pipeline_set skips a key it cannot write; here that is a loss. */
			if (id[i] == NULL || strlen(id[i]) > 128 || strchr(id[i], ' ') != NULL)
				p.failed = 1;
			pipeline_set(&p, gen, kind, id[i], value[i], ttl[i]);
		}
		pipeline_drain(&p);
	}
	if (p.c == NULL || p.failed || p.pending > 0) {
		atomic_store(&warming_gen, 0);
		atomic_store(&current_gen, 0);
		if (p.c != NULL)
			thread_redis_failed();
	}
}

void
cache_note_tokens_revoked(size_t n, const char *const *jti, const long long *exp)
{
	const char *one[64];
	long long ttl[64];
	long long now = (long long)time(NULL);

	for (size_t done = 0; done < n; done += 64) {
		size_t k = n - done < 64 ? n - done : 64;

		for (size_t i = 0; i < k; i++) {
			one[i] = "1";
			ttl[i] = exp[done + i] - now + TTL_MARGIN;
		}
		note_revocations("jti", k, jti + done, one, ttl);
	}
}

void
cache_note_agent_status(const char *agent_id, const char *status)
{
	long long ttl = atomic_load(&max_ttl) + TTL_MARGIN;

	note_revocations("agent", 1, &agent_id, &status, &ttl);
}

void
cache_note_client_revoked(const char *client_id)
{
	const char *one = "1";
	long long ttl = atomic_load(&max_ttl) + TTL_MARGIN;

	note_revocations("client", 1, &client_id, &one, &ttl);
}

int
cache_rate_limit(const char *ip, long limit)
{
	time_t now = time(NULL);
	redisContext *c;
	redisReply *r = NULL;
	long long count = 0;
	int ok;

	if (limit <= 0 || (c = thread_redis()) == NULL)
		return 0;
	/* INCR and EXPIRE pipelined: one round trip. */
	ok = redisAppendCommand(c, "INCR agentidp:rl:%s:%lld", ip, (long long)(now / 60)) == REDIS_OK &&
		 redisAppendCommand(c, "EXPIRE agentidp:rl:%s:%lld 61", ip, (long long)(now / 60)) ==
			 REDIS_OK;
	if (ok && redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL) {
		if (r->type == REDIS_REPLY_INTEGER)
			count = r->integer;
		freeReplyObject(r);
		r = NULL;
		ok = redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL;
		freeReplyObject(r);
	} else {
		ok = 0;
	}
	if (!ok) {
		thread_redis_failed();
		return 0;
	}
	metrics_set_redis_up(1);
	if (count > limit)
		return (int)(60 - now % 60);
	return 0;
}

int
cache_ping(void)
{
	redisContext *c = thread_redis();
	redisReply *r;
	int up;

	if (c == NULL)
		return 0;
	r = redisCommand(c, "PING");
	up = r != NULL && r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	if (r == NULL)
		thread_redis_failed();
	metrics_set_redis_up(up);
	return up;
}

/* ---- listener thread ---- */

struct listener {
	PGconn *pg;
	redisContext *redis;
	long long gen;
	/* revocations_since() cursor: the revocation log is applied up to here. */
	long long seq;
	time_t last_policy_check;
	struct timespec last_read; /* the last catch_up that succeeded */
};

/* Read maxmemory-policy: only noeviction makes a missing key meaningful. */
static void
check_eviction_policy(struct listener *l)
{
	redisReply *r = redisCommand(l->redis, "CONFIG GET maxmemory-policy");
	int ok = 0;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		r->element[1]->type == REDIS_REPLY_STRING)
		ok = strcmp(r->element[1]->str, "noeviction") == 0;
	if (!ok && atomic_load(&trusted))
		log_warn("Redis maxmemory-policy is not noeviction (or CONFIG is disabled): "
				 "revocation checks go to the database");
	atomic_store(&trusted, ok);
	freeReplyObject(r);
	l->last_policy_check = time(NULL);
}

/*
 * Queue the Redis write of one revocation_log row for generation gen on p
 * (pipeline_set skips a malformed subject: the database wrote it, and no
 * token can carry it).
 */
static void
apply_log_entry(struct pipeline *p, long long gen, json_t *e, int *keys_changed)
{
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const char *subject = json_string_value(json_object_get(e, "subject"));
	const char *status = json_string_value(json_object_get(e, "status"));
	long long now = (long long)time(NULL), ttl = atomic_load(&max_ttl) + TTL_MARGIN;

	if (kind == NULL || subject == NULL)
		return;
	if (strcmp(kind, "token") == 0) {
		json_t *exp = json_object_get(e, "exp");
		long long x = json_is_integer(exp) ? json_integer_value(exp) : now + ttl;

		pipeline_set(p, gen, "jti", subject, "1", x - now + TTL_MARGIN);
	} else if (strcmp(kind, "agent") == 0) {
		if (status != NULL)
			pipeline_set(p, gen, "agent", subject, status, ttl);
	} else if (strcmp(kind, "client") == 0) {
		pipeline_set(p, gen, "client", subject, "1", ttl);
	} else if (strcmp(kind, "key") == 0) {
		/* A retired key's tokens die now, even if the reload below fails. */
		if (status != NULL && strcmp(status, "retired") == 0)
			jwt_forget_key(subject);
		*keys_changed = 1;
	}
}

/*
 * Apply the revocation_log rows after l->seq to generation gen and advance
 * the cursor. This, never a NOTIFY payload, is what reaches the cache: any
 * role may pg_notify on the channel, so a notification only wakes the
 * listener up to call this (a forged one costs one harmless read). Key
 * changes reload the JWKS at once: a next key is known before it signs.
 * 0, or -1 on a database or Redis failure (the caller reconnects and
 * warms up again).
 */
static int
catch_up(struct listener *l, long long gen)
{
	int more = 1, keys_changed = 0, rc = 0;

	while (more && rc == 0) {
		char after[24];
		const char *params[1] = {after};
		PGresult *res;
		json_t *answer, *arr, *e;
		long long next;
		size_t i;
		struct pipeline pl = {.c = l->redis};

		snprintf(after, sizeof(after), "%lld", l->seq);
		res = PQexecParams(l->pg, "SELECT agentidp.revocations_since($1::bigint)::text", 1, NULL,
						   params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			log_warn("reading the revocation log failed: %s", PQresultErrorMessage(res));
			PQclear(res);
			rc = -1;
			break;
		}
		answer = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		PQclear(res);
		arr = json_object_get(answer, "entries");
		if (!json_is_array(arr) || !json_is_integer(json_object_get(answer, "next"))) {
			log_warn("agentidp.revocations_since() returned a malformed answer");
			json_decref(answer);
			rc = -1;
			break;
		}
		json_array_foreach (arr, i, e) {
			apply_log_entry(&pl, gen, e, &keys_changed);
		}
		/* The cursor moves only past rows whose writes Redis confirmed. */
		pipeline_drain(&pl);
		if (pl.failed || pl.pending > 0)
			rc = -1;
		next = json_integer_value(json_object_get(answer, "next"));
		more = json_is_true(json_object_get(answer, "more")) && next > l->seq;
		if (rc == 0)
			l->seq = next;
		json_decref(answer);
	}
	if (keys_changed && jwt_refresh_keys(1) != 0)
		log_warn("JWKS reload after a signing key change failed");
	if (rc == 0)
		clock_gettime(CLOCK_MONOTONIC, &l->last_read);
	return rc;
}

/* Milliseconds until the next read of the log is due (0: now). */
static int
ms_until_log_read(const struct listener *l)
{
	struct timespec now;
	long long since;

	clock_gettime(CLOCK_MONOTONIC, &now);
	since = (long long)(now.tv_sec - l->last_read.tv_sec) * 1000 +
			(now.tv_nsec - l->last_read.tv_nsec) / 1000000;
	return since >= LOG_READ_MS ? 0 : (int)(LOG_READ_MS - since);
}

/*
 * Fill a new generation from the database snapshot, replay the revocation
 * log written since the snapshot into it, then publish it. Revocations this
 * bridge confirms meanwhile go straight into it (warming_gen).
 */
static int
warm_up(struct listener *l)
{
	PGresult *res;
	json_t *snap = NULL, *arr, *item;
	redisReply *r;
	long long gen, now = (long long)time(NULL), ttl;
	struct pipeline pl = {0};
	size_t i;
	int rc = -1;

	atomic_store(&current_gen, 0);
	check_eviction_policy(l);
	res = PQexec(l->pg, "SELECT agentidp.revocation_snapshot()::text");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_warn("revocation snapshot failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	snap = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	if (!json_is_object(snap))
		goto done;
	if (json_is_integer(json_object_get(snap, "max_ttl")))
		atomic_store(&max_ttl, json_integer_value(json_object_get(snap, "max_ttl")));
	/* Without a cursor nothing committed after the snapshot could be replayed. */
	if (!json_is_integer(json_object_get(snap, "seq"))) {
		log_warn("revocation snapshot has no seq: is the extension up to date?");
		goto done;
	}
	l->seq = json_integer_value(json_object_get(snap, "seq"));
	ttl = atomic_load(&max_ttl) + TTL_MARGIN;
	r = redisCommand(l->redis, "INCR %s", KEY_GEN_SEQ);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		goto done;
	}
	gen = r->integer;
	freeReplyObject(r);
	atomic_store(&warming_gen, gen);
	pl.c = l->redis;
	arr = json_object_get(snap, "tokens");
	json_array_foreach (arr, i, item) {
		json_t *exp = json_object_get(item, "exp");
		long long e = json_is_integer(exp) ? json_integer_value(exp) : now + ttl;

		pipeline_set(&pl, gen, "jti", json_string_value(json_object_get(item, "jti")), "1",
					 e - now + TTL_MARGIN);
	}
	arr = json_object_get(snap, "agents");
	json_array_foreach (arr, i, item) {
		const char *status = json_string_value(json_object_get(item, "status"));

		if (status != NULL)
			pipeline_set(&pl, gen, "agent", json_string_value(json_object_get(item, "id")), status,
						 ttl);
	}
	arr = json_object_get(snap, "clients");
	json_array_foreach (arr, i, item) {
		pipeline_set(&pl, gen, "client", json_string_value(item), "1", ttl);
	}
	pipeline_drain(&pl);
	if (pl.failed)
		goto done;
	/* Everything committed since the snapshot (other bridges' revocations too). */
	if (catch_up(l, gen) != 0)
		goto done;
	r = redisCommand(l->redis, "SET %s %lld", KEY_GEN, gen);
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		goto done;
	}
	freeReplyObject(r);
	l->gen = gen;
	/*
	 * Publish before clearing warming_gen, so a request thread always sees
	 * one of the two; a request thread's failed write into the warming
	 * generation has zeroed warming_gen: then this generation is not trusted.
	 */
	atomic_store(&current_gen, gen);
	{
		long long expected = gen;

		if (!atomic_compare_exchange_strong(&warming_gen, &expected, 0)) {
			atomic_store(&current_gen, 0);
			goto done;
		}
	}
	/* Keys changed while the listener was away are not all in the log window. */
	if (jwt_refresh_keys(1) != 0)
		log_warn("JWKS reload after a cache warm-up failed");
	metrics_set_redis_up(1);
	log_info("revocation cache warmed: generation %lld", gen);
	rc = 0;
done:
	if (rc != 0)
		atomic_store(&warming_gen, 0);
	json_decref(snap);
	return rc;
}

/* Follow agentidp:gen: adopt another bridge's newer generation, re-warm after a flush. */
static int
follow_generation(struct listener *l)
{
	redisReply *r = redisCommand(l->redis, "GET %s", KEY_GEN);
	int rc = 0;

	if (r == NULL) {
		rc = -1;
	} else if (r->type == REDIS_REPLY_NIL) {
		log_warn("revocation cache generation vanished (flush or restart): warming up again");
		rc = -1;
	} else if (r->type == REDIS_REPLY_STRING) {
		long long g = atoll(r->str);

		if (g != l->gen && g > 0) {
			l->gen = g;
			atomic_store(&current_gen, g);
		}
	}
	freeReplyObject(r);
	return rc;
}

static void
listener_close(struct listener *l)
{
	atomic_store(&current_gen, 0);
	PQfinish(l->pg);
	l->pg = NULL;
	redisFree(l->redis);
	l->redis = NULL;
}

static void *
listener_main(void *arg)
{
	struct listener l = {0};

	(void)arg;
	while (!atomic_load(&stop_listener)) {
		PGnotify *note;
		struct pollfd pfd;
		int woke;

		if (l.pg == NULL || l.redis == NULL) {
			char *err = NULL;
			PGresult *res;

			listener_close(&l);
			l.pg = db_connect(&err);
			free(err);
			l.redis = redis_open();
			metrics_set_redis_up(l.redis != NULL);
			if (l.pg == NULL || l.redis == NULL) {
				listener_close(&l);
				sleep(1);
				continue;
			}
			/* LISTEN before the snapshot so that nothing committed in between is lost. */
			res = PQexec(l.pg, "LISTEN agentidp_revocation");
			if (PQresultStatus(res) != PGRES_COMMAND_OK || warm_up(&l) != 0) {
				PQclear(res);
				listener_close(&l);
				sleep(1);
				continue;
			}
			PQclear(res);
		}
		pfd.fd = PQsocket(l.pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, ms_until_log_read(&l)) < 0 || PQconsumeInput(l.pg) == 0) {
			log_warn("revocation listener lost its database connection");
			listener_close(&l);
			continue;
		}
		/* The payloads are not read: any role may send one (see catch_up). */
		woke = 0;
		while ((note = PQnotifies(l.pg)) != NULL) {
			woke = 1;
			PQfreemem(note);
		}
		/*
		 * On a notification, and at least once a second without one: rows
		 * behind a recent seq gap are read again, revocations logged without
		 * a notification are applied, and a lost one cannot leave a
		 * revocation out for long.
		 */
		if ((woke || ms_until_log_read(&l) == 0) && catch_up(&l, l.gen) != 0) {
			log_warn("revocation log not applied: revocation cache is cold until warmed again");
			listener_close(&l);
			continue;
		}
		if (follow_generation(&l) != 0 || atomic_load(&current_gen) == 0) {
			/* A flush or a request thread's failed write: take a fresh snapshot. */
			if (warm_up(&l) != 0)
				listener_close(&l);
			continue;
		}
		if (time(NULL) - l.last_policy_check >= EVICTION_CHECK_SECONDS) {
			int was_trusted = atomic_load(&trusted);

			check_eviction_policy(&l);
			/* Keys may have been evicted meanwhile: trust only a fresh generation. */
			if (!was_trusted && atomic_load(&trusted) && warm_up(&l) != 0)
				listener_close(&l);
		}
	}
	listener_close(&l);
	return NULL;
}

int
cache_start_listener(void)
{
	if (pthread_create(&listener_thread, NULL, listener_main, NULL) != 0)
		return -1;
	listener_started = 1;
	return 0;
}

void
cache_stop_listener(void)
{
	if (!listener_started)
		return;
	atomic_store(&stop_listener, 1);
	pthread_join(listener_thread, NULL);
	listener_started = 0;
}
