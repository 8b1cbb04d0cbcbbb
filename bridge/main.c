/*
 * main.c: agentidp-bridge start-up, signal handling and shutdown.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait, so handlers can do real work (reload the policy,
 * drain the server) without async-signal-safety concerns.
 */
#include "cache_redis.h"
#include "config.h"
#include "db_batch.h"
#include "db_pool.h"
#include "http_auth.h"
#include "http_server.h"
#include "jwt_verify.h"
#include "log.h"
#include "routes.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The issuer is the database's agentidp.issuer; AGENTIDP_ISSUER may only confirm it. */
static int
resolve_issuer(void)
{
	struct db_result res;
	struct db_error err;
	const char *db_issuer;

	if (db_call(STMT_ISSUER, NULL, NULL, 0, &res, &err) != 0) {
		log_error("cannot read agentidp.issuer (is the extension installed?): SQLSTATE %s: %s",
				  err.sqlstate, err.message);
		return -1;
	}
	db_issuer = res.nrows == 1 ? res.rows[0] : NULL;
	if (db_issuer == NULL || db_issuer[0] == '\0') {
		log_error("agentidp.issuer is empty");
		db_result_free(&res);
		return -1;
	}
	if (cfg.issuer_env != NULL && strcmp(cfg.issuer_env, db_issuer) != 0) {
		log_error("AGENTIDP_ISSUER (%s) differs from the database's agentidp.issuer (%s): "
				  "tokens would carry the wrong iss",
				  cfg.issuer_env, db_issuer);
		db_result_free(&res);
		return -1;
	}
	snprintf(cfg.issuer, sizeof(cfg.issuer), "%s", db_issuer);
	db_result_free(&res);
	/* Discovery documents append paths: store the issuer without a trailing slash. */
	while (strlen(cfg.issuer) > 0 && cfg.issuer[strlen(cfg.issuer) - 1] == '/')
		cfg.issuer[strlen(cfg.issuer) - 1] = '\0';
	return 0;
}

/* Calls of one kind in the database at once: never more than the pool holds. */
static int
at_most_pool(long concurrency)
{
	return (int)(concurrency < cfg.db_pool_size ? concurrency : cfg.db_pool_size);
}

int
main(int argc, char **argv)
{
	sigset_t set;
	char *err = NULL;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			config_usage(stdout);
			return 0;
		}
		fprintf(stderr, "unknown argument: %s (try --help)\n", argv[i]);
		return 2;
	}
	if (config_load(&err) != 0) {
		fprintf(stderr, "agentidp-bridge: %s\n", err);
		return 2;
	}
	if (log_set_level(cfg.log_level) != 0) {
		fprintf(stderr, "agentidp-bridge: AGENTIDP_LOG_LEVEL must be debug, info, warn or error\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client closing its socket mid-reply must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	if (cache_init(cfg.redis_url, &err) != 0) {
		log_error("%s", err);
		return 2;
	}
	if (db_pool_init(cfg.database_url, (size_t)cfg.db_pool_size, &err) != 0) {
		/* libpq's message can echo the connection string, which may hold a password. */
		log_error("cannot connect to the database given by AGENTIDP_DATABASE_URL");
		free(err);
		return 1;
	}
	/* Two kinds share the pool: leave room for the other routes. */
	if (db_batch_start((int)cfg.batch_max, at_most_pool(cfg.batch_concurrency),
					   at_most_pool(cfg.revoke_concurrency)) != 0)
		return 1;
	routes_token_init();
	if (resolve_issuer() != 0)
		return 1;
	jwt_init(cfg.issuer);
	if (jwt_refresh_keys(1) != 0)
		log_warn("no signing keys yet: bearer tokens will be refused until agentidp.jwks() "
				 "returns keys");
	if (cfg.opa_url != NULL ? policy_init_opa(cfg.opa_url) != 0 : policy_init(cfg.policy_file) != 0)
		return 1;
	if (cache_start_listener() != 0) {
		log_error("cannot start the revocation listener thread");
		return 1;
	}
	if (http_start() != 0)
		return 1;
	log_info("agentidp-bridge ready, issuer %s", cfg.issuer);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			policy_reload(cfg.policy_file);
			continue;
		}
		break;
	}
	log_info("signal %d: draining in-flight requests", sig);
	http_drain_and_stop(10);
	cache_stop_listener();
	db_pool_shutdown();
	policy_shutdown();
	log_info("stopped");
	return 0;
}
