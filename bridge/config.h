/*
 * config.h: settings from environment variables (DESIGN.md §2), read once at
 * start. `agentidp-bridge --help` prints the same list.
 */
#ifndef AGENTIDP_CONFIG_H
#define AGENTIDP_CONFIG_H

#include <limits.h>
#include <stdio.h>

struct config {
	const char *database_url;
	const char *redis_url;
	const char *listen;
	const char *issuer_env; /* AGENTIDP_ISSUER or NULL */
	const char *policy_file;
	const char *opa_url;
	const char *dashboard_dir;
	const char *log_level;
	const char *trusted_proxies; /* AGENTIDP_TRUSTED_PROXIES or NULL; parsed by http_proxy.c */
	long threads;
	long db_pool_size;
	long batch_max;
	long batch_concurrency;
	long revoke_concurrency;
	long rate_limit;
	long max_body;
	long conn_timeout;
	long max_conns_per_ip;
	char issuer[512]; /* resolved at start: the tokens' iss and our public URL */
};

extern struct config cfg;

/* Read and validate the environment; -1 with a malloc'd *err. */
int config_load(char **err);
void config_usage(FILE *out);

#endif
