/* jwt_verify.c: RS256 access-token verification with a cached JWKS. */
#include "jwt_verify.h"

#include "db_pool.h"
#include "http_util.h"
#include "log.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jwk_entry {
	char *kid;
	EVP_PKEY *key;
};

static char *issuer;
static struct jwk_entry *keys;
static size_t nkeys;
static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_llong last_refresh;
/* Bumped whenever the key set is replaced: memo entries of older sets are dead. */
static atomic_llong keys_gen = 1;

/*
 * Verified-token memo. The RSA signature check is the dearest step of every
 * bearer request, and a client presents the same token again and again. A
 * token that passed jwt_verify under the current key set is remembered (the
 * exact bytes are compared, never only a hash), so that the next time only
 * the clock is checked again. Revocation is not memoised: callers still ask
 * the cache or the database on every request. Entries die with the key set
 * (any refresh) and are overwritten by other tokens (two-way set
 * associative: a token can sit in either slot of its set, so two busy
 * tokens that hash alike no longer evict each other on every request; with
 * one way, 1,000 tokens in turn cost ~10 % of introspection throughput); only
 * tokens that verified can enter, so junk cannot evict anything.
 */
#define MEMO_SLOTS 4096 /* power of two; about 1.5 kB each when used */
#define MEMO_WAYS 2
#define MEMO_SETS (MEMO_SLOTS / MEMO_WAYS)
#define MEMO_LOCKS 64

struct memo_entry {
	char *token;
	size_t len;
	long long gen;
	long long nbf;
	int has_nbf;
	struct jwt_claims c;
};

static struct memo_entry memo[MEMO_SLOTS];
static pthread_mutex_t memo_locks[MEMO_LOCKS];
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void
memo_init_locks(void)
{
	for (int i = 0; i < MEMO_LOCKS; i++)
		pthread_mutex_init(&memo_locks[i], NULL);
}

/* FNV-1a: only picks the set; the whole token is compared. */
static size_t
memo_set(const char *token, size_t len)
{
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)token[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32)) & (MEMO_SETS - 1);
}

static int
claims_copy(struct jwt_claims *dst, const struct jwt_claims *src)
{
	*dst = *src;
	dst->scope = strdup(src->scope);
	if (dst->scope == NULL) {
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	json_incref(dst->claims);
	return 0;
}

/* Copy the remembered claims of token into *out if they still hold at now; 1 / 0. */
static int
memo_get(const char *token, size_t len, long long now, struct jwt_claims *out)
{
	size_t set = memo_set(token, len);
	int hit = 0;

	pthread_once(&memo_once, memo_init_locks);
	pthread_mutex_lock(&memo_locks[set % MEMO_LOCKS]);
	for (int w = 0; w < MEMO_WAYS; w++) {
		struct memo_entry *e = &memo[set * MEMO_WAYS + w];

		if (e->token == NULL || e->len != len || e->gen != atomic_load(&keys_gen) ||
			memcmp(e->token, token, len) != 0)
			continue;
		/* The same checks as jwt_verify_with: expiry and nbf with the leeway. */
		if (e->c.exp > now - JWT_LEEWAY_SECONDS &&
			(!e->has_nbf || e->nbf <= now + JWT_LEEWAY_SECONDS))
			hit = claims_copy(out, &e->c) == 0;
		break;
	}
	pthread_mutex_unlock(&memo_locks[set % MEMO_LOCKS]);
	return hit;
}

/* Remember a token that verified under key set gen (best effort). */
static void
memo_put(const char *token, size_t len, long long gen, const struct jwt_claims *c)
{
	size_t set = memo_set(token, len);
	struct memo_entry *ways = &memo[set * MEMO_WAYS], fresh = {0}, old;
	json_t *nbf = json_object_get(c->claims, "nbf");
	int w;

	fresh.token = malloc(len);
	if (fresh.token == NULL || claims_copy(&fresh.c, c) != 0) {
		free(fresh.token);
		return;
	}
	memcpy(fresh.token, token, len);
	fresh.len = len;
	fresh.gen = gen;
	fresh.has_nbf = nbf != NULL;
	fresh.nbf = nbf != NULL ? json_integer_value(nbf) : 0;
	pthread_once(&memo_once, memo_init_locks);
	pthread_mutex_lock(&memo_locks[set % MEMO_LOCKS]);
	/* A free or dead way, or this token's own; else the older way goes. */
	for (w = 0; w < MEMO_WAYS; w++)
		if (ways[w].token == NULL || ways[w].gen != atomic_load(&keys_gen) ||
			(ways[w].len == len && memcmp(ways[w].token, token, len) == 0))
			break;
	if (w == MEMO_WAYS) {
		/* Way 0 holds the newest entry: shift down, the last one leaves. */
		old = ways[MEMO_WAYS - 1];
		memmove(&ways[1], &ways[0], (MEMO_WAYS - 1) * sizeof(ways[0]));
		ways[0] = fresh;
	} else {
		old = ways[w];
		ways[w] = fresh;
	}
	pthread_mutex_unlock(&memo_locks[set % MEMO_LOCKS]);
	free(old.token);
	if (old.token != NULL)
		jwt_claims_free(&old.c);
}

void
jwt_init(const char *iss)
{
	issuer = strdup(iss);
}

EVP_PKEY *
jwt_rsa_key_from_jwk(const char *n_b64, const char *e_b64)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;

	if (b64url_decode(n_b64, strlen(n_b64), &n, &nlen) != 0 ||
		b64url_decode(e_b64, strlen(e_b64), &e, &elen) != 0)
		goto done;
	/* Refuse toy or absurd moduli: the extension makes 2048..4096-bit keys. */
	if (nlen < 256 || nlen > 512 || elen == 0 || elen > 8)
		goto done;
	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL ||
		!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
		!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto done;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
		EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		key = NULL;
done:
	free(n);
	free(e);
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int
jwt_rs256_verify(EVP_PKEY *key, const char *data, size_t len, const unsigned char *sig,
				 size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (md == NULL)
		return 0;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
		EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, len) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Decode one base64url JSON object, refusing duplicate keys. */
static json_t *
decode_part(const char *p, size_t len)
{
	unsigned char *raw;
	size_t rawlen;
	json_t *obj;

	if (b64url_decode(p, len, &raw, &rawlen) != 0)
		return NULL;
	obj = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (obj != NULL && !json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int
copy_string_claim(json_t *payload, const char *name, char *dst, size_t cap, int required)
{
	json_t *v = json_object_get(payload, name);

	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
jwt_verify_with(const char *token, EVP_PKEY *key, const char *iss, long long now,
				struct jwt_claims *out, char **kid_out, const char **why)
{
	const char *dot1, *dot2;
	size_t len = strlen(token);
	json_t *header = NULL, *payload = NULL, *v;
	unsigned char *sig = NULL;
	size_t siglen;

	memset(out, 0, sizeof(*out));
	*why = "malformed token";
	if (len == 0 || len > JWT_MAX_LEN)
		goto fail;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL || dot1 == token ||
		dot2 == dot1 + 1 || dot2[1] == '\0')
		goto fail;
	header = decode_part(token, (size_t)(dot1 - token));
	if (header == NULL)
		goto fail;
	/* Exactly the three members we issue: no jwk/jku/x5u/x5c/crit tricks. */
	*why = "unsupported token header";
	if (json_object_size(header) != 3 || !json_is_string(v = json_object_get(header, "alg")) ||
		strcmp(json_string_value(v), "RS256") != 0 ||
		!json_is_string(v = json_object_get(header, "typ")) ||
		strcmp(json_string_value(v), "at+jwt") != 0 ||
		!json_is_string(v = json_object_get(header, "kid")) || json_string_length(v) == 0 ||
		json_string_length(v) > 128)
		goto fail;
	if (kid_out != NULL)
		*kid_out = strdup(json_string_value(v));
	if (key == NULL) {
		json_decref(header);
		return 1;
	}
	*why = "malformed token";
	if (b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen) != 0)
		goto fail;
	*why = "bad signature";
	if (!jwt_rs256_verify(key, token, (size_t)(dot2 - token), sig, siglen))
		goto fail;
	payload = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	*why = "malformed claims";
	if (payload == NULL)
		goto fail;
	*why = "wrong issuer";
	if (!json_is_string(v = json_object_get(payload, "iss")) ||
		strcmp(json_string_value(v), iss) != 0)
		goto fail;
	*why = "malformed claims";
	if (!json_is_integer(v = json_object_get(payload, "exp")))
		goto fail;
	out->exp = json_integer_value(v);
	/*
	 * The leeway goes on now (a clock reading, far from the limits), never on
	 * the claims: exp near INT64_MAX or nbf near INT64_MIN would overflow.
	 */
	*why = "token expired";
	if (out->exp <= now - JWT_LEEWAY_SECONDS)
		goto fail;
	/* Every token we issue has nbf: one without is not ours (as exp above). */
	*why = "malformed claims";
	if (!json_is_integer(v = json_object_get(payload, "nbf")))
		goto fail;
	*why = "token not yet valid";
	if (json_integer_value(v) > now + JWT_LEEWAY_SECONDS)
		goto fail;
	*why = "malformed claims";
	if (copy_string_claim(payload, "sub", out->sub, sizeof(out->sub), 1) != 0 ||
		!is_uuid(out->sub) ||
		copy_string_claim(payload, "jti", out->jti, sizeof(out->jti), 1) != 0 ||
		copy_string_claim(payload, "client_id", out->client_id, sizeof(out->client_id), 1) != 0)
		goto fail;
	v = json_object_get(payload, "scope");
	if (v != NULL && !json_is_string(v))
		goto fail;
	out->scope = strdup(v ? json_string_value(v) : "");
	if (out->scope == NULL)
		goto fail;
	out->claims = payload;
	json_decref(header);
	free(sig);
	return 0;
fail:
	json_decref(header);
	json_decref(payload);
	free(sig);
	free(out->scope);
	out->scope = NULL;
	return -1;
}

void
jwt_claims_free(struct jwt_claims *c)
{
	free(c->scope);
	json_decref(c->claims);
	c->scope = NULL;
	c->claims = NULL;
}

int
jwt_aud_is(const struct jwt_claims *c, const char *audience)
{
	json_t *aud = json_object_get(c->claims, "aud");

	/* issue_token writes aud as one string; anything else is not for us. */
	return audience != NULL && json_is_string(aud) && strcmp(json_string_value(aud), audience) == 0;
}

int
jwt_aud_is_issuer(const struct jwt_claims *c)
{
	return jwt_aud_is(c, issuer);
}

/* Take a reference to the key with this kid, or NULL. */
static EVP_PKEY *
find_key(const char *kid)
{
	EVP_PKEY *key = NULL;

	pthread_rwlock_rdlock(&keys_lock);
	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].kid, kid) == 0) {
			key = keys[i].key;
			EVP_PKEY_up_ref(key);
			break;
		}
	}
	pthread_rwlock_unlock(&keys_lock);
	return key;
}

int
jwt_refresh_keys(int force)
{
	struct db_result res;
	struct db_error err;
	json_t *jwks = NULL, *arr, *jwk;
	struct jwk_entry *fresh = NULL, *old;
	size_t nfresh = 0, nold, i;
	long long now = (long long)time(NULL);
	int rc = -1;

	pthread_mutex_lock(&refresh_lock);
	if (!force && now - atomic_load(&last_refresh) < 10) {
		pthread_mutex_unlock(&refresh_lock);
		return -1;
	}
	/* Only refreshes caused by unknown kids count against the 10 s budget. */
	if (!force)
		atomic_store(&last_refresh, now);
	if (db_call(STMT_JWKS, NULL, NULL, 0, &res, &err) != 0) {
		log_warn("cannot load the JWKS: SQLSTATE %s: %s", err.sqlstate, err.message);
		goto done;
	}
	if (res.nrows == 1 && res.rows[0] != NULL)
		jwks = json_loads(res.rows[0], 0, NULL);
	db_result_free(&res);
	arr = json_object_get(jwks, "keys");
	if (!json_is_array(arr)) {
		log_warn("agentidp.jwks() returned no key array");
		goto done;
	}
	fresh = calloc(json_array_size(arr) + 1, sizeof(*fresh));
	if (fresh == NULL)
		goto done;
	json_array_foreach (arr, i, jwk) {
		const char *kid = json_string_value(json_object_get(jwk, "kid"));
		const char *kty = json_string_value(json_object_get(jwk, "kty"));
		const char *n = json_string_value(json_object_get(jwk, "n"));
		const char *e = json_string_value(json_object_get(jwk, "e"));
		EVP_PKEY *key;

		if (kid == NULL || kty == NULL || strcmp(kty, "RSA") != 0 || n == NULL || e == NULL)
			continue;
		key = jwt_rsa_key_from_jwk(n, e);
		if (key == NULL) {
			log_warn("JWKS key %s is not a usable RSA key", kid);
			continue;
		}
		fresh[nfresh].kid = strdup(kid);
		fresh[nfresh].key = key;
		nfresh++;
	}
	pthread_rwlock_wrlock(&keys_lock);
	old = keys;
	nold = nkeys;
	keys = fresh;
	nkeys = nfresh;
	atomic_fetch_add(&keys_gen, 1);
	pthread_rwlock_unlock(&keys_lock);
	/* Requests still verifying with an old key hold their own reference. */
	for (i = 0; i < nold; i++) {
		free(old[i].kid);
		EVP_PKEY_free(old[i].key);
	}
	free(old);
	log_debug("JWKS loaded: %zu keys", nfresh);
	rc = 0;
done:
	json_decref(jwks);
	pthread_mutex_unlock(&refresh_lock);
	return rc;
}

int
jwt_verify(const char *token, struct jwt_claims *out, const char **why)
{
	char *kid = NULL;
	EVP_PKEY *key;
	int rc;
	long long now = (long long)time(NULL), gen;
	size_t len = strlen(token);

	memset(out, 0, sizeof(*out));
	if (len > 0 && len <= JWT_MAX_LEN && memo_get(token, len, now, out))
		return 0;
	/* Read before the key: a refresh in between only makes the entry stale. */
	gen = atomic_load(&keys_gen);
	if (jwt_verify_with(token, NULL, issuer, 0, out, &kid, why) < 0 || kid == NULL) {
		free(kid);
		return -1;
	}
	key = find_key(kid);
	/*
	 * Look again whatever the refresh answers: when many threads meet a new
	 * kid at once (the first tokens after a rotation), one refreshes and the
	 * others, refused by the 10 s budget, find the key it loaded.
	 */
	if (key == NULL) {
		jwt_refresh_keys(0);
		key = find_key(kid);
	}
	free(kid);
	if (key == NULL) {
		*why = "unknown signing key";
		return -1;
	}
	rc = jwt_verify_with(token, key, issuer, now, out, NULL, why);
	EVP_PKEY_free(key);
	if (rc == 0)
		memo_put(token, len, gen, out);
	return rc;
}

void
jwt_forget_key(const char *kid)
{
	pthread_rwlock_wrlock(&keys_lock);
	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].kid, kid) == 0) {
			free(keys[i].kid);
			EVP_PKEY_free(keys[i].key);
			keys[i] = keys[--nkeys];
			break;
		}
	}
	/* Memoised tokens of the dropped key must be verified again (and fail). */
	atomic_fetch_add(&keys_gen, 1);
	pthread_rwlock_unlock(&keys_lock);
}
