/*
 * http_server.h: the libmicrohttpd daemon, per-request state and the reply
 * helpers every route uses. Every reply is JSON unless a route says
 * otherwise; errors have the body {"error", "error_description"[, "detail",
 * "hint"]} (DESIGN.md §2).
 */
#ifndef AGENTIDP_HTTP_SERVER_H
#define AGENTIDP_HTTP_SERVER_H

#include "db_batch.h"
#include "db_pool.h"
#include "http_util.h"
#include "metrics.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <time.h>

struct request {
	struct MHD_Connection *conn;
	char *uri; /* raw request target, query string included */
	const char *method;
	enum method_label method_label;
	enum route_label route;
	char *body;
	size_t body_len;
	size_t body_cap;
	int body_too_large;
	int started;
	struct timespec t0;
	char ip[64];
	char user_agent[257]; /* sanitised for the audit log */
	struct MHD_Response *resp;
	int status;
	/* Parked (req_park): the connection is suspended until its batch is done. */
	int parked;
	void (*finish)(struct request *r, int rc, json_t *answer, const struct db_error *err);
	int park_rc;
	json_t *park_answer;
	struct db_error park_err;
};

/*
 * Hand the request to a database batch (item stolen) and free this thread
 * for other connections meanwhile: the connection is suspended, and once
 * the batch is done finish runs on an HTTP thread with the result (answer
 * borrowed) and leaves the reply, like any handler.
 */
void req_park(struct request *r, enum batch_kind kind, json_t *item,
			  void (*finish)(struct request *r, int rc, json_t *answer,
							 const struct db_error *err));

int http_start(void);
/* Stop accepting, wait up to grace_seconds for in-flight requests, stop. */
void http_drain_and_stop(int grace_seconds);

const char *req_header(struct request *r, const char *name);
/* Parse the query string strictly into q; on error replies 400 and returns -1. */
int req_query(struct request *r, struct form *q);
/* The request context passed to SQL (ip, user agent, actor). */
struct db_context req_db_context(struct request *r, const char *actor);

void reply_json(struct request *r, int status, json_t *body); /* steals body */
void reply_error(struct request *r, int status, const char *error, const char *description);
void reply_bytes(struct request *r, int status, const char *content_type, const void *data,
				 size_t len);
void reply_header(struct request *r, const char *name, const char *value);
/* Map a database error through db_errors.c; oauth selects RFC 6749 codes. */
void reply_db_error(struct request *r, const struct db_error *e, int oauth);

#endif
