/*
 * routes_meta.c: discovery (/.well-known/...), /health, /metrics and the
 * dashboard's static files.
 */
#include "cache_redis.h"
#include "config.h"
#include "log.h"
#include "routes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
route_jwks(struct request *r)
{
	struct db_result res;
	struct db_error err;

	if (db_call(STMT_JWKS, NULL, NULL, 0, &res, &err) != 0) {
		reply_db_error(r, &err, 0);
		return;
	}
	if (res.nrows == 1 && res.rows[0] != NULL) {
		reply_bytes(r, 200, "application/json", res.rows[0], strlen(res.rows[0]));
		/* Short: a retired key must disappear from verifiers' caches quickly. */
		reply_header(r, "Cache-Control", "public, max-age=60");
	} else {
		reply_error(r, 500, "internal_error", "unexpected database result");
	}
	db_result_free(&res);
}

void
route_oauth_metadata(struct request *r)
{
	char token[600], introspect[600], revoke[600], jwks[600];
	json_t *doc;

	snprintf(token, sizeof(token), "%s/api/v1/token", cfg.issuer);
	snprintf(introspect, sizeof(introspect), "%s/api/v1/token/introspect", cfg.issuer);
	snprintf(revoke, sizeof(revoke), "%s/api/v1/token/revoke", cfg.issuer);
	snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json", cfg.issuer);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[], s:[s,s], s:[s,s], s:[s,s], "
					"s:[s,s,s,s,s,s]}",
					"issuer", cfg.issuer, "token_endpoint", token, "introspection_endpoint",
					introspect, "revocation_endpoint", revoke, "jwks_uri", jwks,
					"grant_types_supported", "client_credentials", "response_types_supported",
					"token_endpoint_auth_methods_supported", "client_secret_basic",
					"client_secret_post", "introspection_endpoint_auth_methods_supported",
					"client_secret_basic", "client_secret_post",
					"revocation_endpoint_auth_methods_supported", "client_secret_basic",
					"client_secret_post", "scopes_supported", "agents:read", "agents:write",
					"credentials:write", "tokens:introspect", "audit:read", "admin");
	if (doc == NULL) {
		reply_error(r, 500, "internal_error", "out of memory");
		return;
	}
	reply_json(r, 200, doc);
	reply_header(r, "Cache-Control", "public, max-age=300");
}

void
route_health(struct request *r)
{
	struct db_result res;
	struct db_error err;
	int db_up = db_call(STMT_PING, NULL, NULL, 0, &res, &err) == 0;
	int redis_up = cache_ping();
	const char *status = db_up ? (redis_up ? "ok" : "degraded") : "unavailable";

	if (db_up)
		db_result_free(&res);
	reply_json(r, db_up && redis_up ? 200 : 503,
			   json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:b}}}", "status", status, "checks", "database",
						 "status", db_up ? "up" : "down", "redis", "status",
						 redis_up ? "up" : "down", "revocationCacheWarm", cache_is_warm()));
}

void
route_metrics(struct request *r)
{
	char *text = metrics_render(db_pool_in_use(), db_pool_size());

	if (text == NULL) {
		reply_error(r, 500, "internal_error", "out of memory");
		return;
	}
	reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
	reply_header(r, "Cache-Control", "no-store");
	free(text);
}

static const char *
content_type_of(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"},
		{".map", "application/json"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Read a regular file inside root into a reply; -1 if it is not one. */
static int
serve_file(struct request *r, const char *root, const char *rel)
{
	char joined[PATH_MAX], real[PATH_MAX];
	struct stat st;
	char *buf;
	int fd;
	ssize_t n;
	size_t rootlen = strlen(root);

	if (snprintf(joined, sizeof(joined), "%s/%s", root, rel) >= (int)sizeof(joined))
		return -1;
	/* Symlinks may not lead out of the dashboard directory either. */
	if (realpath(joined, real) == NULL || strncmp(real, root, rootlen) != 0 ||
		(real[rootlen] != '/' && real[rootlen] != '\0'))
		return -1;
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024 * 1024) {
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return -1;
	}
	reply_bytes(r, 200, content_type_of(real), buf, (size_t)n);
	free(buf);
	/*
	 * The dashboard holds admin tokens: no framing, no foreign scripts.
	 * Inline styles stay allowed for the UI library.
	 */
	reply_header(r, "Content-Security-Policy",
				 "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
				 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	reply_header(r, "X-Frame-Options", "DENY");
	reply_header(r, "Referrer-Policy", "no-referrer");
	/* Vite names assets by content hash: cache them; always revalidate the HTML. */
	if (strncmp(rel, "assets/", 7) == 0)
		reply_header(r, "Cache-Control", "public, max-age=31536000, immutable");
	else
		reply_header(r, "Cache-Control", "no-cache");
	return 0;
}

void
route_dashboard(struct request *r, const char *path)
{
	char root[PATH_MAX];
	const char *rel = path + strlen("/dashboard");
	const char *seg;

	if (strcmp(path, "/dashboard") == 0) {
		reply_bytes(r, 308, NULL, "", 0);
		reply_header(r, "Location", "/dashboard/");
		return;
	}
	while (*rel == '/')
		rel++;
	/* MHD has already percent-decoded the path, so "%2e%2e" arrives here as "..". */
	for (seg = rel; seg != NULL; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0')) {
			reply_error(r, 400, "invalid_request", "path traversal refused");
			return;
		}
	}
	if (strchr(rel, '\\') != NULL) {
		reply_error(r, 400, "invalid_request", "path traversal refused");
		return;
	}
	if (realpath(cfg.dashboard_dir, root) == NULL) {
		reply_error(r, 404, "not_found", "the dashboard is not installed");
		return;
	}
	if (*rel != '\0' && serve_file(r, root, rel) == 0)
		return;
	/*
	 * Client-side routes (/dashboard/agents/...) get index.html; a missing
	 * asset (a name with an extension) is a plain 404.
	 */
	if (strchr(strrchr(rel, '/') ? strrchr(rel, '/') : rel, '.') != NULL) {
		reply_error(r, 404, "not_found", "no such file");
		return;
	}
	if (serve_file(r, root, "index.html") != 0)
		reply_error(r, 404, "not_found", "the dashboard is not installed");
}
