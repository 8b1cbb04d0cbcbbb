/* http_auth.c: bearer tokens, client credentials and the policy decision. */
#include "http_auth.h"

#include "cache_redis.h"
#include "log.h"
#include "policy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Atomic(policy *) current_policy;
/* Set when AGENTIDP_OPA_URL is: decisions go to OPA, the data file is not used. */
static policy_opa *opa;
/*
 * Replaced policies are kept until exit: a request may still be reading one,
 * and reloads are rare enough that the memory does not matter.
 */
static policy **retired;
static size_t nretired;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

int
policy_init_opa(const char *url)
{
	char *err = NULL;

	opa = policy_opa_new(url, POLICY_OPA_DEFAULT_TIMEOUT_MS, &err);
	if (opa == NULL) {
		log_error("AGENTIDP_OPA_URL: %s", err ? err : "invalid URL");
		free(err);
		return -1;
	}
	log_info("policy decisions are delegated to OPA");
	return 0;
}

int
policy_init(const char *path)
{
	char *err = NULL;
	policy *p = policy_load(path, &err);

	if (p == NULL) {
		log_error("cannot load policy %s: %s", path, err ? err : "unknown error");
		free(err);
		return -1;
	}
	atomic_store(&current_policy, p);
	log_info("policy loaded from %s", path);
	return 0;
}

void
policy_reload(const char *path)
{
	char *err = NULL;
	policy *p, *old, **grown;

	if (opa != NULL) {
		log_info("SIGHUP ignored for the policy: decisions come from OPA");
		return;
	}
	p = policy_load(path, &err);
	if (p == NULL) {
		log_error("policy reload refused, keeping the previous policy: %s",
				  err ? err : "unknown error");
		free(err);
		metrics_policy_reload(0);
		return;
	}
	pthread_mutex_lock(&reload_lock);
	grown = realloc(retired, (nretired + 1) * sizeof(*retired));
	if (grown == NULL) {
		pthread_mutex_unlock(&reload_lock);
		policy_free(p);
		log_error("policy reload refused: out of memory");
		metrics_policy_reload(0);
		return;
	}
	retired = grown;
	old = atomic_exchange(&current_policy, p);
	retired[nretired++] = old;
	pthread_mutex_unlock(&reload_lock);
	log_info("policy reloaded from %s", path);
	metrics_policy_reload(1);
}

void
policy_shutdown(void)
{
	for (size_t i = 0; i < nretired; i++)
		policy_free(retired[i]);
	free(retired);
	retired = NULL;
	nretired = 0;
	policy_free(atomic_exchange(&current_policy, NULL));
	policy_opa_free(opa);
	opa = NULL;
}

int
auth_allow(struct request *r, const char *route_id, char *const *scopes, size_t nscopes,
		   const char *subject, const char *owner_id)
{
	const char *reason = "denied";
	int owner = subject != NULL && owner_id != NULL && strcasecmp(subject, owner_id) == 0;
	policy *p = atomic_load(&current_policy);

	if (opa != NULL) {
		if (policy_opa_allow(opa, route_id, (const char *const *)scopes, nscopes, owner, &reason) ==
			1)
			return 1;
	} else if (p != NULL && policy_allow(p, route_id, (const char *const *)scopes, nscopes, owner,
										 &reason) == 1) {
		return 1;
	}
	{
		char msg[200];

		snprintf(msg, sizeof(msg), "the token may not call %s: %s", route_id,
				 reason ? reason : "denied");
		reply_error(r, 403, "forbidden", msg);
	}
	return 0;
}

int
auth_token_active(struct request *r, const char *token, struct jwt_claims *claims,
				  json_t **db_answer, struct db_error *err)
{
	const char *why;

	if (db_answer != NULL)
		*db_answer = NULL;
	if (jwt_verify(token, claims, &why) != 0) {
		log_debug("token refused: %s", why);
		return 0;
	}
	switch (cache_check(claims->jti, claims->sub, claims->client_id)) {
	case CACHE_ACTIVE: return 1;
	case CACHE_REVOKED: return 0;
	case CACHE_UNKNOWN: break;
	}
	/* The cache cannot vouch for this token: the database decides. */
	return auth_token_db(r, token, db_answer, err);
}

int
auth_token_db(struct request *r, const char *token, json_t **db_answer, struct db_error *err)
{
	struct db_context ctx = req_db_context(r, NULL);
	struct db_result res;
	json_t *doc;
	int active;

	if (db_answer != NULL)
		*db_answer = NULL;
	if (db_call(STMT_INTROSPECT, &ctx, &token, 1, &res, err) != 0)
		return -1;
	doc = (res.nrows == 1 && res.rows[0]) ? json_loads(res.rows[0], 0, NULL) : NULL;
	db_result_free(&res);
	active = json_is_true(json_object_get(doc, "active"));
	if (db_answer != NULL)
		*db_answer = doc;
	else
		json_decref(doc);
	return active;
}

static void
reply_unauthorized(struct request *r, const char *description, int invalid_token)
{
	reply_error(r, 401, "unauthorized", description);
	reply_header(r, "WWW-Authenticate",
				 invalid_token ? "Bearer realm=\"agentidp\", error=\"invalid_token\""
							   : "Bearer realm=\"agentidp\"");
}

/* The bearer token of the Authorization header, or NULL after replying 401. */
static const char *
bearer_token(struct request *r)
{
	const char *h = req_header(r, "Authorization");
	const char *token;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		reply_unauthorized(r, "a bearer token is required", 0);
		return NULL;
	}
	token = h + 7;
	while (*token == ' ')
		token++;
	return token;
}

static int bearer_finish(struct request *r, struct principal *p, int active, struct db_error *err);

int
auth_bearer(struct request *r, struct principal *p)
{
	const char *token;
	struct db_error err;

	memset(p, 0, sizeof(*p));
	if ((token = bearer_token(r)) == NULL)
		return -1;
	return bearer_finish(r, p, auth_token_active(r, token, &p->claims, NULL, &err), &err);
}

int
auth_bearer_pair(struct request *r, struct principal *p, const char *second,
				 struct jwt_claims *claims, int *second_active)
{
	const char *token, *why;
	const char *jti[2], *sub[2], *client[2];
	enum cache_verdict v[2];
	struct db_error err;
	int active, n = 1, rc;

	memset(p, 0, sizeof(*p));
	memset(claims, 0, sizeof(*claims));
	*second_active = 0;
	if ((token = bearer_token(r)) == NULL)
		return -1;
	if (jwt_verify(token, &p->claims, &why) != 0) {
		log_debug("token refused: %s", why);
		return bearer_finish(r, p, 0, &err);
	}
	jti[0] = p->claims.jti;
	sub[0] = p->claims.sub;
	client[0] = p->claims.client_id;
	/* Local work only: nothing reaches the database before the policy allows it. */
	if (second != NULL && second[0] != '\0') {
		if (jwt_verify(second, claims, &why) == 0) {
			jti[1] = claims->jti;
			sub[1] = claims->sub;
			client[1] = claims->client_id;
			n = 2;
		} else {
			log_debug("introspected token refused: %s", why);
		}
	}
	cache_check_many((size_t)n, jti, sub, client, v);
	if (n == 2)
		*second_active = v[1] == CACHE_ACTIVE ? 1 : v[1] == CACHE_REVOKED ? 0 : -2;
	active = v[0] == CACHE_ACTIVE    ? 1
			 : v[0] == CACHE_REVOKED ? 0
									 : auth_token_db(r, token, NULL, &err);
	rc = bearer_finish(r, p, active, &err);
	if (rc != 0) {
		jwt_claims_free(claims);
		*second_active = 0;
	}
	return rc;
}

/* Reply to an inactive or unverifiable bearer token, or fill in its scopes. */
static int
bearer_finish(struct request *r, struct principal *p, int active, struct db_error *err)
{
	long n;

	/*
	 * A genuine token for another resource server (aud = that server) must
	 * not open the IdP's own API: token confusion (RFC 8725 §3.9). Checked
	 * first, so a database outage cannot turn the refusal into a 503.
	 */
	if (p->claims.claims != NULL && !jwt_aud_is_issuer(&p->claims)) {
		jwt_claims_free(&p->claims);
		reply_unauthorized(r, "the token's audience is not this API", 1);
		return -1;
	}
	if (active < 0) {
		jwt_claims_free(&p->claims);
		reply_db_error(r, err, 0);
		return -1;
	}
	if (!active) {
		jwt_claims_free(&p->claims);
		reply_unauthorized(r, "the token is invalid, expired or revoked", 1);
		return -1;
	}
	n = split_scopes(p->claims.scope, &p->scopes);
	if (n < 0) {
		jwt_claims_free(&p->claims);
		reply_error(r, 500, "internal_error", "out of memory");
		return -1;
	}
	p->nscopes = (size_t)n;
	return 0;
}

void
principal_free(struct principal *p)
{
	jwt_claims_free(&p->claims);
	free_strings(p->scopes, p->nscopes);
	p->scopes = NULL;
	p->nscopes = 0;
}

int
client_auth_parse(struct request *r, const struct form *f, struct client_auth *ca, const char **why)
{
	const char *h = req_header(r, "Authorization");
	const char *body_id = form_get(f, "client_id");
	const char *body_secret = form_get(f, "client_secret");

	memset(ca, 0, sizeof(*ca));
	if (h != NULL && strncasecmp(h, "Basic ", 6) == 0) {
		unsigned char *raw = NULL;
		size_t rawlen;
		const char *b64 = h + 6;
		char *colon;

		while (*b64 == ' ')
			b64++;
		if (b64_decode(b64, strlen(b64), &raw, &rawlen) != 0 || memchr(raw, '\0', rawlen) != NULL ||
			(colon = strchr((char *)raw, ':')) == NULL) {
			free(raw);
			*why = "malformed Basic credentials";
			return -1;
		}
		/* RFC 6749 §2.3.1: both parts are form-urlencoded before base64. */
		if (pct_decode((char *)raw, (size_t)(colon - (char *)raw), 1, &ca->client_id) != 0 ||
			pct_decode(colon + 1, strlen(colon + 1), 1, &ca->client_secret) != 0) {
			free(raw);
			client_auth_free(ca);
			*why = "malformed percent-encoding in Basic credentials";
			return -1;
		}
		free(raw);
		ca->basic = 1;
		if (body_secret != NULL || (body_id != NULL && strcmp(body_id, ca->client_id) != 0)) {
			client_auth_free(ca);
			ca->basic = 1;
			*why = "client credentials given both in the Authorization header and in the body";
			return -1;
		}
		return 0;
	}
	if (body_id != NULL) {
		ca->client_id = strdup(body_id);
		ca->client_secret = body_secret ? strdup(body_secret) : NULL;
	} else if (body_secret != NULL) {
		*why = "client_secret without client_id";
		return -1;
	}
	return 0;
}

void
client_auth_free(struct client_auth *ca)
{
	free(ca->client_id);
	if (ca->client_secret != NULL) {
		/* Do not leave the secret lying in freed heap memory. */
		volatile char *s = ca->client_secret;

		while (*s)
			*s++ = 0;
	}
	free(ca->client_secret);
	ca->client_id = NULL;
	ca->client_secret = NULL;
}
