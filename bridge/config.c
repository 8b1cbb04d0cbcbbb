/* config.c: environment variables, their defaults and limits. */
#include "config.h"

#include "http_proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct config cfg;

struct env_var {
	const char *name;
	const char *def; /* NULL: unset by default */
	const char *help;
};

static const struct env_var vars[] = {
	{"AGENTIDP_DATABASE_URL", "dbname=agentidp", "libpq connection string or URL"},
	{"AGENTIDP_REDIS_URL", "redis://127.0.0.1:6379/0",
	 "redis://[:password@]host[:port][/db] or unix://[:password@]/path/redis.sock[?db=N]"},
	{"AGENTIDP_LISTEN", "127.0.0.1:8080", "address:port to listen on ([::1]:8080 for IPv6)"},
	{"AGENTIDP_ISSUER", NULL,
	 "public URL; default: the database's agentidp.issuer (must match if set)"},
	/*
	 * Sixteen, the default pool size: a token request waiting for its batch
	 * is parked without a thread (db_batch.h), so threads only wait on
	 * Redis and on the other routes' database calls, which the pool bounds
	 * anyway. More threads than that only switch more: 8-16 gave 20-25 %
	 * more introspections and tokens per second than 128 on 2 cores.
	 */
	{"AGENTIDP_THREADS", "16", "HTTP worker threads (1..1024)"},
	{"AGENTIDP_DB_POOL_SIZE", "16", "PostgreSQL connections (1..1000)"},
	{"AGENTIDP_BATCH_MAX", "32",
	 "token requests (issue or revoke) sent to the database in one transaction (1..64)"},
	{"AGENTIDP_BATCH_CONCURRENCY", "4",
	 "issue_tokens calls in the database at once (1..1000; at most the pool size)"},
	/*
	 * Two by default: one call's commit is flushed while the next one runs.
	 * revoke_tokens sends no NOTIFY (whose lock, held until the commit is
	 * flushed, let only one revoking call through at a time); four calls
	 * revoked fewer tokens per second than two here (bench/RESULTS.md).
	 */
	{"AGENTIDP_REVOKE_CONCURRENCY", "2",
	 "revoke_tokens calls in the database at once (1..1000; at most the pool size)"},
	{"AGENTIDP_RATE_LIMIT", "100", "requests per minute per client IP, 0 = off"},
	{"AGENTIDP_POLICY_FILE", "policies/data.json", "authorization policy data, reloaded on SIGHUP"},
	{"AGENTIDP_OPA_URL", NULL, "ask this OPA server instead of the native evaluator"},
	{"AGENTIDP_DASHBOARD_DIR", "dashboard/dist", "static files served under /dashboard"},
	{"AGENTIDP_MAX_BODY", "65536", "largest request body in bytes (413 above)"},
	{"AGENTIDP_CONN_TIMEOUT", "10",
	 "seconds an idle connection is kept; a request body must be complete within twice that"},
	{"AGENTIDP_MAX_CONNS_PER_IP", "256", "concurrent connections per client IP, 0 = no limit"},
	{"AGENTIDP_TRUSTED_PROXIES", NULL,
	 "comma-separated IPs/CIDRs of proxies whose X-Forwarded-For gives the client address"},
	{"AGENTIDP_LOG_LEVEL", "info", "debug, info, warn or error"},
};

static const char *
env(const char *name)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strcmp(vars[i].name, name) == 0) {
			const char *v = getenv(name);

			return (v != NULL && v[0] != '\0') ? v : vars[i].def;
		}
	}
	return NULL;
}

static int
env_long(const char *name, long min, long max, long *out, char **err)
{
	const char *v = env(name);
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		char buf[256];

		snprintf(buf, sizeof(buf), "%s must be an integer between %ld and %ld", name, min, max);
		*err = strdup(buf);
		return -1;
	}
	*out = n;
	return 0;
}

int
config_load(char **err)
{
	cfg.database_url = env("AGENTIDP_DATABASE_URL");
	cfg.redis_url = env("AGENTIDP_REDIS_URL");
	cfg.listen = env("AGENTIDP_LISTEN");
	cfg.issuer_env = env("AGENTIDP_ISSUER");
	cfg.policy_file = env("AGENTIDP_POLICY_FILE");
	cfg.opa_url = env("AGENTIDP_OPA_URL");
	cfg.dashboard_dir = env("AGENTIDP_DASHBOARD_DIR");
	cfg.log_level = env("AGENTIDP_LOG_LEVEL");
	cfg.trusted_proxies = env("AGENTIDP_TRUSTED_PROXIES");
	if (env_long("AGENTIDP_THREADS", 1, 1024, &cfg.threads, err) != 0 ||
		env_long("AGENTIDP_DB_POOL_SIZE", 1, 1000, &cfg.db_pool_size, err) != 0 ||
		env_long("AGENTIDP_BATCH_MAX", 1, 64, &cfg.batch_max, err) != 0 ||
		env_long("AGENTIDP_BATCH_CONCURRENCY", 1, 1000, &cfg.batch_concurrency, err) != 0 ||
		env_long("AGENTIDP_REVOKE_CONCURRENCY", 1, 1000, &cfg.revoke_concurrency, err) != 0 ||
		env_long("AGENTIDP_RATE_LIMIT", 0, 100000000, &cfg.rate_limit, err) != 0 ||
		env_long("AGENTIDP_MAX_BODY", 1024, 64L * 1024 * 1024, &cfg.max_body, err) != 0 ||
		env_long("AGENTIDP_CONN_TIMEOUT", 1, 3600, &cfg.conn_timeout, err) != 0 ||
		env_long("AGENTIDP_MAX_CONNS_PER_IP", 0, 1000000, &cfg.max_conns_per_ip, err) != 0)
		return -1;
	/* A typo must stop the start: silently trusting nobody would count every client as the proxy. */
	if (proxy_init(cfg.trusted_proxies, err) != 0)
		return -1;
	return 0;
}

void
config_usage(FILE *out)
{
	fprintf(out, "Usage: agentidp-bridge [--help]\n\n"
				 "AgentIdP's HTTP API over the agentidp PostgreSQL extension.\n"
				 "Signals: SIGHUP reloads the policy file; SIGTERM/SIGINT drain and stop.\n\n"
				 "Environment:\n");
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		fprintf(out, "  %-26s %s (default: %s)\n", vars[i].name, vars[i].help,
				vars[i].def ? vars[i].def : "unset");
}
