/* http_server.c: libmicrohttpd setup, request lifecycle, replies. */
#include "http_server.h"

#include "config.h"
#include "db_errors.h"
#include "http_proxy.h"
#include "log.h"
#include "routes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Request headers beyond this (MHD's per-connection buffer) are refused by MHD itself. */
#define HEADER_MEMORY_LIMIT (32 * 1024)

static struct MHD_Daemon *daemon_handle;
static atomic_int in_flight;

const char *
req_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int
req_query(struct request *r, struct form *q)
{
	const char *qs = strchr(r->uri, '?');
	const char *err = NULL;

	q->fields = NULL;
	q->n = 0;
	if (qs == NULL)
		return 0;
	qs++;
	if (form_parse(qs, strlen(qs), q, &err) != 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "query string: %s", err);
		reply_error(r, 400, "invalid_request", msg);
		return -1;
	}
	return 0;
}

struct db_context
req_db_context(struct request *r, const char *actor)
{
	struct db_context c = {r->ip, r->user_agent[0] ? r->user_agent : NULL, actor};

	return c;
}

static void
set_response(struct request *r, int status, struct MHD_Response *resp)
{
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	if (resp != NULL)
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

void
reply_bytes(struct request *r, int status, const char *content_type, const void *data, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

	set_response(r, status, resp);
	if (resp != NULL && content_type != NULL)
		MHD_add_response_header(resp, "Content-Type", content_type);
}

void
reply_json(struct request *r, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL) {
		static const char oom[] =
			"{\"error\":\"internal_error\",\"error_description\":\"out of memory\"}";

		reply_bytes(r, 500, "application/json", oom, sizeof(oom) - 1);
	} else {
		reply_bytes(r, status, "application/json", text, strlen(text));
		free(text);
	}
	/* API answers are per-caller and may carry secrets: never cache them. */
	reply_header(r, "Cache-Control", "no-store");
}

static json_t *
error_body(const char *error, const char *description)
{
	return json_pack("{s:s, s:s}", "error", error, "error_description", description);
}

void
reply_error(struct request *r, int status, const char *error, const char *description)
{
	reply_json(r, status, error_body(error, description));
}

void
reply_header(struct request *r, const char *name, const char *value)
{
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, name, value);
}

void
reply_db_error(struct request *r, const struct db_error *e, int oauth)
{
	const struct sqlstate_rule *rule = db_error_rule(e->sqlstate);
	const char *desc = e->message;
	const char *code = rule->error;
	const char *oauth_code = db_error_oauth_code(e->message, &desc);
	json_t *body;

	if (oauth && oauth_code != NULL)
		code = oauth_code;
	else if (oauth && rule->http_status >= 500)
		code = rule->http_status == 503 ? "temporarily_unavailable" : "server_error";
	if (rule->http_status == 500) {
		/* Internal details stay in the log (SQLSTATE and message carry no secrets). */
		log_error("unexpected database error SQLSTATE %s: %s", e->sqlstate, e->message);
		desc = "internal error";
	}
	body = error_body(code, desc);
	if (rule->http_status != 500) {
		if (e->detail[0])
			json_object_set_new(body, "detail", json_string(e->detail));
		if (e->hint[0])
			json_object_set_new(body, "hint", json_string(e->hint));
	}
	reply_json(r, rule->http_status, body);
	if (rule->http_status == 503)
		reply_header(r, "Retry-After", "5");
}

/* A worker's callback: keep the result, then let MHD run the request again. */
static void
on_batch_done(void *ctx, int rc, json_t *answer, const struct db_error *err)
{
	struct request *r = ctx;

	r->park_rc = rc;
	r->park_answer = answer;
	if (rc != 0)
		r->park_err = *err;
	MHD_resume_connection(r->conn);
}

void
req_park(struct request *r, enum batch_kind kind, json_t *item,
		 void (*finish)(struct request *r, int rc, json_t *answer, const struct db_error *err))
{
	r->finish = finish;
	r->parked = 1;
	/* Suspended before it is queued: a worker may resume it at once. */
	MHD_suspend_connection(r->conn);
	if (db_batch_submit(kind, item, on_batch_done, r) != 0) {
		struct db_error e = {.sqlstate = "57P01"};

		snprintf(e.message, sizeof(e.message), "the server is shutting down");
		on_batch_done(r, -1, NULL, &e);
	}
}

/* Keep only printable ASCII of the User-Agent: it is stored as text in the audit log. */
static void
copy_user_agent(struct request *r)
{
	const char *ua = req_header(r, "User-Agent");
	size_t o = 0;

	for (; ua != NULL && *ua && o < sizeof(r->user_agent) - 1; ua++)
		r->user_agent[o++] = (*ua >= 0x20 && *ua < 0x7f) ? *ua : '?';
	r->user_agent[o] = '\0';
}

static void
fill_client_ip(struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	strcpy(r->ip, "0.0.0.0");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof(r->ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->ip, sizeof(r->ip));
	/* Behind a trusted proxy, the client it forwards for (rate limit, audit, logs). */
	proxy_resolve(r->conn, r->ip, sizeof(r->ip));
}

/* Called by MHD with the raw request target before parsing: our per-request state. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof(*r));

	(void)cls;
	if (r == NULL)
		return NULL;
	r->conn = conn;
	r->uri = strdup(uri);
	r->route = RL_UNMATCHED;
	r->method_label = ML_OTHER;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	atomic_fetch_add(&in_flight, 1);
	return r;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	struct timespec t1;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r->status != 0) {
		double seconds =
			(double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;

		metrics_observe_request(r->route, r->method_label, r->status, seconds);
		/* The route name, not the URL: query strings are the caller's business. */
		log_debug("%s %s %s -> %d in %.1f ms", r->ip, r->method ? r->method : "-",
				  metrics_route_name(r->route), r->status, seconds * 1000);
	}
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	json_decref(r->park_answer); /* a client gone while its request was parked */
	free(r->uri);
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&in_flight, 1);
}

static enum MHD_Result
queue(struct request *r)
{
	enum MHD_Result rc;

	if (r->resp == NULL)
		reply_error(r, 500, "internal_error", "no response");
	if (r->resp == NULL)
		return MHD_NO;
	rc = MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
	return rc;
}

/* Count the headers that frame the body: cls is int[2] (Content-Length, Transfer-Encoding). */
static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	int *n = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, "Content-Length") == 0)
		n[0]++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0)
		n[1]++;
	return MHD_YES;
}

/*
 * libmicrohttpd 0.9.75 takes one of two Content-Length headers and ignores
 * the other; a proxy in front may pick the other one (request smuggling,
 * RFC 9112 §6.3). Such requests are refused outright.
 */
static int
framing_ambiguous(struct MHD_Connection *conn)
{
	int n[2] = {0, 0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, n);
	return n[0] > 1 || (n[0] > 0 && n[1] > 0);
}

/* A body still arriving this long after the request line is cut off (slowloris). */
#define BODY_DEADLINE_FACTOR 2L

static int
past_body_deadline(const struct request *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - r->t0.tv_sec > BODY_DEADLINE_FACTOR * cfg.conn_timeout;
}

/* 413 before routing; the token endpoint audits it like its other failures. */
static void
reply_too_large(struct request *r)
{
	if (r->route == RL_TOKEN)
		route_token_too_large(r);
	else
		reply_error(r, 413, "invalid_request", "request body too large");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
		   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)version;
	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		const char *cl;

		r->started = 1;
		r->conn = conn;
		r->method = method;
		r->method_label = metrics_method(method);
		fill_client_ip(r);
		copy_user_agent(r);
		if (framing_ambiguous(conn)) {
			/* Refuse before reading a body whose length we cannot be sure of. */
			route_classify(r, url);
			reply_error(r, 400, "invalid_request",
						"more than one Content-Length, or Content-Length with Transfer-Encoding");
			return queue(r);
		}
		cl = req_header(r, "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > (unsigned long long)cfg.max_body) {
			/* Refuse before reading: MHD closes the connection instead of draining it. */
			route_classify(r, url);
			reply_too_large(r);
			return queue(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (past_body_deadline(r)) {
			/* A trickled body (slowloris): MHD_NO closes the connection. */
			log_info("%s: request body not complete within %ld s, connection closed", r->ip,
					 BODY_DEADLINE_FACTOR * cfg.conn_timeout);
			return MHD_NO;
		}
		if (r->body_too_large || r->body_len + n > (size_t)cfg.max_body) {
			r->body_too_large = 1;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = (r->body_len + n + 1) * 2;
			char *grown;

			if (cap > (size_t)cfg.max_body + 1)
				cap = (size_t)cfg.max_body + 1;
			grown = realloc(r->body, cap);
			if (grown == NULL)
				return MHD_NO;
			r->body = grown;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	if (r->parked) {
		/* Resumed: its batch is done. */
		r->parked = 0;
		r->finish(r, r->park_rc, r->park_answer, &r->park_err);
		json_decref(r->park_answer);
		r->park_answer = NULL;
		return queue(r);
	}
	if (r->body_too_large) {
		route_classify(r, url);
		reply_too_large(r);
		return queue(r);
	}
	route_request(r, url);
	if (r->parked)
		return MHD_YES;
	return queue(r);
}

/* libmicrohttpd's own diagnostics (malformed requests, limits) in our log format. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_info("http: %s", line);
}

static int
parse_listen(const char *listen, struct sockaddr_storage *ss, int *ipv6)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	long port;
	char *end;

	if (colon == NULL || colon == listen)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*ipv6 = 1;
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*ipv6 = 0;
		return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
	}
}

int
http_start(void)
{
	struct sockaddr_storage ss;
	int ipv6 = 0;
	/* Suspend/resume: token requests wait for their batch without a thread (req_park). */
	unsigned flags =
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;

	if (parse_listen(cfg.listen, &ss, &ipv6) != 0) {
		log_error("AGENTIDP_LISTEN must be host:port with a numeric address");
		return -1;
	}
	if (ipv6)
		flags |= MHD_USE_IPv6;
	daemon_handle = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg.threads, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)cfg.conn_timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)cfg.max_conns_per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HEADER_MEMORY_LIMIT, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE,
		(unsigned int)1024, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (daemon_handle == NULL) {
		log_error("cannot listen on %s", cfg.listen);
		return -1;
	}
	log_info("listening on %s with %ld threads", cfg.listen, cfg.threads);
	return 0;
}

void
http_drain_and_stop(int grace_seconds)
{
	MHD_socket s;

	if (daemon_handle == NULL)
		return;
	s = MHD_quiesce_daemon(daemon_handle);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	for (int i = 0; i < grace_seconds * 20 && atomic_load(&in_flight) > 0; i++)
		usleep(50000);
	/*
	 * MHD must not be stopped with a connection suspended: answer whatever is
	 * still queued for a batch, and give the resumed requests a moment to go.
	 */
	db_batch_stop();
	for (int i = 0; i < 40 && atomic_load(&in_flight) > 0; i++)
		usleep(50000);
	if (atomic_load(&in_flight) > 0)
		log_warn("stopping with %d requests still in flight", atomic_load(&in_flight));
	MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
}
