/* metrics.c: counters and histograms in the Prometheus text format 0.0.4. */
#include "metrics.h"

#include "db_batch.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 14

static const double bucket_bounds[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
											   0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static atomic_uint_fast64_t requests[RL_COUNT][ML_COUNT][5];
static atomic_uint_fast64_t buckets[RL_COUNT][ML_COUNT][NBUCKETS];
static atomic_uint_fast64_t dur_count[RL_COUNT][ML_COUNT];
/* Sum kept in nanoseconds so that it can be an integer atomic. */
static atomic_uint_fast64_t dur_sum_ns[RL_COUNT][ML_COUNT];
static atomic_uint_fast64_t tokens_issued, revocations, cache_hits, cache_misses, rate_limited;
static atomic_uint_fast64_t tokens_refused[RR_COUNT];
static atomic_uint_fast64_t introspections[2];
static atomic_uint_fast64_t policy_reloads[2];
static atomic_int db_up, redis_up;

static const char *const route_names[RL_COUNT] = {"token",
												  "token.introspect",
												  "token.revoke",
												  "agents.list",
												  "agents.get",
												  "agents.create",
												  "agents.update",
												  "agents.delete",
												  "credentials.list",
												  "credentials.create",
												  "credentials.rotate",
												  "credentials.revoke",
												  "audit.list",
												  "audit.get",
												  "keys.list",
												  "jwks",
												  "oauth.metadata",
												  "health",
												  "metrics",
												  "dashboard",
												  "unmatched"};

static const char *const method_names[ML_COUNT] = {"GET",    "POST", "PATCH",
												   "DELETE", "HEAD", "OTHER"};

static const char *const refuse_names[RR_COUNT] = {
	"invalid_request",        "invalid_client", "invalid_scope", "unauthorized_client",
	"unsupported_grant_type", "quota_exceeded", "rate_limited",  "server_error"};

const char *
metrics_route_name(enum route_label r)
{
	return route_names[r];
}

enum method_label
metrics_method(const char *method)
{
	for (int i = 0; i < ML_OTHER; i++)
		if (strcmp(method, method_names[i]) == 0)
			return (enum method_label)i;
	return ML_OTHER;
}

enum refuse_reason
metrics_refuse_reason(const char *oauth_error)
{
	for (int i = 0; i < RR_COUNT; i++)
		if (strcmp(oauth_error, refuse_names[i]) == 0)
			return (enum refuse_reason)i;
	return RR_SERVER_ERROR;
}

void
metrics_observe_request(enum route_label r, enum method_label m, int status, double seconds)
{
	int cls = status / 100 - 1;

	if (cls < 0 || cls > 4)
		cls = 4;
	atomic_fetch_add_explicit(&requests[r][m][cls], 1, memory_order_relaxed);
	for (int b = 0; b < NBUCKETS; b++) {
		if (seconds <= bucket_bounds[b]) {
			/* Stored non-cumulatively; rendering accumulates. */
			atomic_fetch_add_explicit(&buckets[r][m][b], 1, memory_order_relaxed);
			break;
		}
	}
	atomic_fetch_add_explicit(&dur_count[r][m], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&dur_sum_ns[r][m], (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

void
metrics_token_issued(void)
{
	atomic_fetch_add(&tokens_issued, 1);
}
void
metrics_token_refused(enum refuse_reason why)
{
	atomic_fetch_add(&tokens_refused[why], 1);
}
void
metrics_introspection(int active)
{
	atomic_fetch_add(&introspections[active ? 1 : 0], 1);
}
void
metrics_revocation(void)
{
	atomic_fetch_add(&revocations, 1);
}
void
metrics_cache_hit(void)
{
	atomic_fetch_add_explicit(&cache_hits, 1, memory_order_relaxed);
}
void
metrics_cache_miss(void)
{
	atomic_fetch_add_explicit(&cache_misses, 1, memory_order_relaxed);
}
void
metrics_rate_limited(void)
{
	atomic_fetch_add(&rate_limited, 1);
}
void
metrics_policy_reload(int ok)
{
	atomic_fetch_add(&policy_reloads[ok ? 1 : 0], 1);
}
void
metrics_set_db_up(int up)
{
	atomic_store(&db_up, up);
}
void
metrics_set_redis_up(int up)
{
	atomic_store(&redis_up, up);
}
int
metrics_redis_up(void)
{
	return atomic_load(&redis_up);
}

/* A growable text buffer; on allocation failure it stays truncated-but-valid. */
struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *grown = realloc(b->p, b->cap * 2 + (size_t)n);
		if (grown == NULL) {
			b->failed = 1;
			b->p[b->len] = '\0';
			return;
		}
		b->p = grown;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void
counter(struct sbuf *b, const char *name, const char *help, uint64_t v)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
			  (unsigned long long)v);
}

static void
gauge(struct sbuf *b, const char *name, const char *help, double v)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v);
}

char *
metrics_render(size_t pool_in_use, size_t pool_size)
{
	static const char *const classes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
	struct sbuf b = {malloc(16384), 0, 16384, 0};

	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	sb_printf(&b, "# HELP agentidp_http_requests_total HTTP requests by route, method and "
				  "status class.\n# TYPE agentidp_http_requests_total counter\n");
	for (int r = 0; r < RL_COUNT; r++)
		for (int m = 0; m < ML_COUNT; m++)
			for (int c = 0; c < 5; c++) {
				uint64_t v = atomic_load_explicit(&requests[r][m][c], memory_order_relaxed);

				if (v)
					sb_printf(&b,
							  "agentidp_http_requests_total{route=\"%s\",method=\"%s\","
							  "status=\"%s\"} %llu\n",
							  route_names[r], method_names[m], classes[c], (unsigned long long)v);
			}
	sb_printf(&b, "# HELP agentidp_http_request_duration_seconds HTTP request latency.\n"
				  "# TYPE agentidp_http_request_duration_seconds histogram\n");
	for (int r = 0; r < RL_COUNT; r++)
		for (int m = 0; m < ML_COUNT; m++) {
			uint64_t count = atomic_load_explicit(&dur_count[r][m], memory_order_relaxed);
			uint64_t cum = 0;

			if (count == 0)
				continue;
			for (int k = 0; k < NBUCKETS; k++) {
				cum += atomic_load_explicit(&buckets[r][m][k], memory_order_relaxed);
				sb_printf(&b,
						  "agentidp_http_request_duration_seconds_bucket{route=\"%s\","
						  "method=\"%s\",le=\"%g\"} %llu\n",
						  route_names[r], method_names[m], bucket_bounds[k],
						  (unsigned long long)cum);
			}
			/* Counters are read one by one, so +Inf must never be below a bucket. */
			if (count < cum)
				count = cum;
			sb_printf(&b,
					  "agentidp_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
					  "le=\"+Inf\"} %llu\n"
					  "agentidp_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
					  "%.9f\n"
					  "agentidp_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} "
					  "%llu\n",
					  route_names[r], method_names[m], (unsigned long long)count, route_names[r],
					  method_names[m],
					  (double)atomic_load_explicit(&dur_sum_ns[r][m], memory_order_relaxed) / 1e9,
					  route_names[r], method_names[m], (unsigned long long)count);
		}
	counter(&b, "agentidp_tokens_issued_total", "Access tokens issued.",
			atomic_load(&tokens_issued));
	sb_printf(&b, "# HELP agentidp_tokens_refused_total Token requests refused, by OAuth error.\n"
				  "# TYPE agentidp_tokens_refused_total counter\n");
	for (int i = 0; i < RR_COUNT; i++)
		sb_printf(&b, "agentidp_tokens_refused_total{reason=\"%s\"} %llu\n", refuse_names[i],
				  (unsigned long long)atomic_load(&tokens_refused[i]));
	sb_printf(&b,
			  "# HELP agentidp_introspections_total Token introspections by result.\n"
			  "# TYPE agentidp_introspections_total counter\n"
			  "agentidp_introspections_total{active=\"false\"} %llu\n"
			  "agentidp_introspections_total{active=\"true\"} %llu\n",
			  (unsigned long long)atomic_load(&introspections[0]),
			  (unsigned long long)atomic_load(&introspections[1]));
	counter(&b, "agentidp_revocations_total", "Token revocations through this bridge.",
			atomic_load(&revocations));
	counter(&b, "agentidp_revocation_cache_hits_total",
			"Revocation checks answered by the Redis cache.", atomic_load(&cache_hits));
	counter(&b, "agentidp_revocation_cache_misses_total",
			"Revocation checks that had to ask the database.", atomic_load(&cache_misses));
	counter(&b, "agentidp_rate_limited_total", "Requests refused by the per-IP rate limit.",
			atomic_load(&rate_limited));
	gauge(&b, "agentidp_db_pool_in_use", "Database connections currently lent to requests.",
		  (double)pool_in_use);
	gauge(&b, "agentidp_db_pool_size", "Database connections in the pool.", (double)pool_size);
	sb_printf(&b, "# HELP agentidp_db_batches_total Calls of issue_tokens/revoke_tokens (one "
				  "transaction each).\n# TYPE agentidp_db_batches_total counter\n");
	for (int k = 0; k < BATCH_KINDS; k++) {
		unsigned long long calls, reqs;

		db_batch_stats((enum batch_kind)k, &calls, &reqs);
		sb_printf(&b, "agentidp_db_batches_total{kind=\"%s\"} %llu\n",
				  db_batch_kind_name((enum batch_kind)k), calls);
	}
	sb_printf(&b, "# HELP agentidp_db_batched_requests_total Token requests carried by those "
				  "calls.\n# TYPE agentidp_db_batched_requests_total counter\n");
	for (int k = 0; k < BATCH_KINDS; k++) {
		unsigned long long calls, reqs;

		db_batch_stats((enum batch_kind)k, &calls, &reqs);
		sb_printf(&b, "agentidp_db_batched_requests_total{kind=\"%s\"} %llu\n",
				  db_batch_kind_name((enum batch_kind)k), reqs);
	}
	gauge(&b, "agentidp_db_up", "1 if the last database operation succeeded.",
		  (double)atomic_load(&db_up));
	gauge(&b, "agentidp_redis_up", "1 if the last Redis operation succeeded.",
		  (double)atomic_load(&redis_up));
	sb_printf(&b,
			  "# HELP agentidp_policy_reloads_total Policy reloads on SIGHUP by result.\n"
			  "# TYPE agentidp_policy_reloads_total counter\n"
			  "agentidp_policy_reloads_total{result=\"failure\"} %llu\n"
			  "agentidp_policy_reloads_total{result=\"success\"} %llu\n",
			  (unsigned long long)atomic_load(&policy_reloads[0]),
			  (unsigned long long)atomic_load(&policy_reloads[1]));
	return b.p;
}
