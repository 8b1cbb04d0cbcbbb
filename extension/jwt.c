/*-------------------------------------------------------------------------
 *
 * jwt.c
 *		Signing and verification of RS256 access tokens (RFC 9068).
 *
 * Parsing a PEM key costs more than the RSA operation it serves (signing
 * was 3x slower when the key was parsed per call), so each backend keeps
 * the parsed EVP_PKEY per kid: private keys keyed by kid and the digest of
 * the sealed blob, public keys by kid and PEM text.  Whether a key may
 * still verify is looked up in signing_keys on every call, because another
 * backend may retire it at any moment; only the parsing is cached.
 *
 * The token format itself (base64url, splitting, header policy, strict
 * JSON, the RSA calls) lives in jws.c, shared with the Wycheproof test.
 *
 * Token ids (_new_jti) are UUIDv7, and revocation matches a token by the
 * SHA-256 its row keeps instead of verifying it again (_token_digest,
 * _token_jti, _token_matches); both are explained where they are defined.
 *
 * _sign_jws/_verify_jws serve other signed documents (audit checkpoints)
 * under their own "typ": they never produce or accept an access token, so
 * the access-token verifier keeps its strict key-status policy while a
 * checkpoint, which outlives its key, verifies with a key of any status.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "jws.h"

typedef struct JwtKeyEntry
{
	char		kid[JWS_MAX_KID + 1];	/* hash key */
	uint8		digest[32];		/* SHA-256 of the sealed blob or the PEM */
	EVP_PKEY   *pkey;
} JwtKeyEntry;

static HTAB *privateKeys = NULL;
static HTAB *publicKeys = NULL;
static SPIPlanPtr publicKeyPlan = NULL;
static SPIPlanPtr anyPublicKeyPlan = NULL;

/* The access-token typ: _sign_jws/_verify_jws refuse it (see above). */
#define JWT_ACCESS_TYP "at+jwt"
/* A typ of _sign_jws: short, printable, nothing that needs JSON escaping. */
#define JWT_MAX_TYP 64

PG_FUNCTION_INFO_V1(agentidp__sign_jwt);
PG_FUNCTION_INFO_V1(agentidp__verify_jwt);
PG_FUNCTION_INFO_V1(agentidp__sign_jws);
PG_FUNCTION_INFO_V1(agentidp__verify_jws);
PG_FUNCTION_INFO_V1(agentidp__new_jti);
PG_FUNCTION_INFO_V1(agentidp__token_digest);
PG_FUNCTION_INFO_V1(agentidp__token_jti);
PG_FUNCTION_INFO_V1(agentidp__token_matches);

/* A kid-keyed cache of parsed keys, created on first use. */
static HTAB *
JwtKeyCache(HTAB **cache, const char *name)
{
	if (*cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = JWS_MAX_KID + 1;
		ctl.entrysize = sizeof(JwtKeyEntry);
		*cache = hash_create(name, 16, &ctl, HASH_ELEM | HASH_STRINGS);
	}
	return *cache;
}

/* SHA-256 of a buffer. */
static void
JwtDigest(const void *data, size_t len, uint8 out[32])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		elog(ERROR, "SHA-256 failed");
}

/*
 * Find the cached key of kid whose source has the given digest, or NULL.
 * A key of the same kid but another source is dropped (it cannot be right).
 */
static JwtKeyEntry *
JwtCacheLookup(HTAB *cache, const char *kid, const uint8 digest[32])
{
	JwtKeyEntry *entry = hash_search(cache, kid, HASH_FIND, NULL);

	if (entry == NULL)
		return NULL;
	if (memcmp(entry->digest, digest, 32) == 0)
		return entry;
	EVP_PKEY_free(entry->pkey);
	hash_search(cache, kid, HASH_REMOVE, NULL);
	return NULL;
}

/* Remember a parsed key; the cache owns it from now on. */
static void
JwtCacheStore(HTAB *cache, const char *kid, const uint8 digest[32], EVP_PKEY *pkey)
{
	bool		found;
	JwtKeyEntry *entry = hash_search(cache, kid, HASH_ENTER, &found);

	if (found)
		EVP_PKEY_free(entry->pkey);
	memcpy(entry->digest, digest, 32);
	entry->pkey = pkey;
}

/* Refuse a kid that is not of the jws_kid_valid alphabet. */
static void
JwtCheckKid(const char *kid)
{
	if (!jws_kid_valid(kid, strlen(kid)))
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("invalid key id \"%s\"", kid),
				 errdetail("A key id is 1 to %d characters of A-Z, a-z, 0-9, '.', '_' and '-'.",
						   JWS_MAX_KID)));
}

/* The private key of kid, parsed once per backend from its sealed blob. */
static EVP_PKEY *
JwtPrivateKey(const char *kid, const bytea *sealed)
{
	HTAB	   *cache = JwtKeyCache(&privateKeys, "agentidp private keys");
	uint8		digest[32];
	JwtKeyEntry *entry;
	char	   *pem;
	size_t		pemlen;
	BIO		   *bio;
	EVP_PKEY   *pkey = NULL;

	JwtDigest(VARDATA_ANY(sealed), VARSIZE_ANY_EXHDR(sealed), digest);
	entry = JwtCacheLookup(cache, kid, digest);
	if (entry != NULL)
		return entry->pkey;

	pem = KeysOpenPrivatePem(sealed, &pemlen);
	bio = BIO_new_mem_buf(pem, (int) pemlen);
	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	explicit_bzero(pem, pemlen);
	pfree(pem);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
	{
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("signing key \"%s\" is unusable", kid),
				 errdetail("The decrypted private key is not an RSA key in PEM.")));
	}
	JwtCacheStore(cache, kid, digest, pkey);
	return pkey;
}

/* Append a JSON string literal of len bytes (not NUL-terminated). */
static void
JwtAppendString(StringInfo out, const char *s, int len)
{
	char	   *copy = pnstrdup(s, len);

	escape_json(out, copy);
	pfree(copy);
}

/* Append one scalar JsonbValue in JSON syntax. */
static void
JwtAppendScalar(StringInfo out, const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(out, "null");
			break;
		case jbvString:
			JwtAppendString(out, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			/* numeric_out keeps integers as integers: exp stays 1700000000 */
			appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out,
																			NumericGetDatum(v->val.numeric))));
			break;
		case jbvBool:
			appendStringInfoString(out, v->val.boolean ? "true" : "false");
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/*
 * Compact JSON text of a jsonb object (no whitespace), walking the
 * container with JsonbIterator.
 */
static void
JwtCompactJson(StringInfo out, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	bool	   *needComma;
	int			cap = 16;
	int			depth = 0;
	bool		afterKey = false;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("token claims must be a JSON object")));
	needComma = palloc0(cap * sizeof(bool));
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (r)
		{
			case WJB_BEGIN_OBJECT:
			case WJB_BEGIN_ARRAY:
				if (!afterKey && depth > 0)
				{
					if (needComma[depth])
						appendStringInfoChar(out, ',');
					needComma[depth] = true;
				}
				afterKey = false;
				appendStringInfoChar(out, r == WJB_BEGIN_OBJECT ? '{' : '[');
				if (++depth >= cap)
				{
					needComma = repalloc(needComma, cap * 2 * sizeof(bool));
					memset(needComma + cap, 0, cap * sizeof(bool));
					cap *= 2;
				}
				needComma[depth] = false;
				break;
			case WJB_END_OBJECT:
			case WJB_END_ARRAY:
				appendStringInfoChar(out, r == WJB_END_OBJECT ? '}' : ']');
				depth--;
				break;
			case WJB_KEY:
				if (needComma[depth])
					appendStringInfoChar(out, ',');
				needComma[depth] = true;
				JwtAppendScalar(out, &v);
				appendStringInfoChar(out, ':');
				afterKey = true;
				break;
			case WJB_VALUE:
				JwtAppendScalar(out, &v);
				afterKey = false;
				break;
			case WJB_ELEM:
				if (needComma[depth])
					appendStringInfoChar(out, ',');
				needComma[depth] = true;
				JwtAppendScalar(out, &v);
				break;
			default:
				elog(ERROR, "unexpected jsonb iterator token %d", (int) r);
		}
	}
	pfree(needComma);
}

/* Append base64url(data) to out. */
static void
JwtAppendB64(StringInfo out, const void *data, size_t len)
{
	size_t		need = jws_b64url_len(len) + 1;

	enlargeStringInfo(out, (int) need);
	out->len += (int) jws_b64url_encode(data, len, out->data + out->len);
}

/*
 * The compact RS256 JWS of claims signed with the private key of kid, with
 * header {"alg":"RS256","typ":typ,"kid":kid}.  typ is one of ours (never
 * user text that would need escaping: the callers check it).
 */
static text *
JwtSign(const char *kid, const bytea *sealed, const char *typ, Jsonb *claims)
{
	EVP_PKEY   *pkey;
	StringInfoData header;
	StringInfoData payload;
	StringInfoData token;
	uint8	   *sig;
	size_t		siglen;

	JwtCheckKid(kid);
	initStringInfo(&payload);
	JwtCompactJson(&payload, claims);
	pkey = JwtPrivateKey(kid, sealed);

	initStringInfo(&header);
	appendStringInfo(&header, "{\"alg\":\"RS256\",\"typ\":\"%s\",\"kid\":\"%s\"}", typ, kid);

	initStringInfo(&token);
	JwtAppendB64(&token, header.data, header.len);
	appendStringInfoChar(&token, '.');
	JwtAppendB64(&token, payload.data, payload.len);

	sig = palloc(EVP_PKEY_get_size(pkey));
	siglen = jws_rs256_sign(pkey, (const uint8 *) token.data, token.len, sig);
	if (siglen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("signing with key \"%s\" failed", kid)));
	appendStringInfoChar(&token, '.');
	JwtAppendB64(&token, sig, siglen);
	return cstring_to_text_with_len(token.data, token.len);
}

/*
 * Sign claims with the private key of kid: header
 * {"alg":"RS256","typ":"at+jwt","kid":kid}, compact JSON claims, RS256.
 */
Datum
agentidp__sign_jwt(PG_FUNCTION_ARGS)
{
	char	   *kid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *sealed = PG_GETARG_BYTEA_PP(1);
	Jsonb	   *claims = PG_GETARG_JSONB_P(2);

	PG_RETURN_TEXT_P(JwtSign(kid, sealed, JWT_ACCESS_TYP, claims));
}

/*
 * Refuse a typ for _sign_jws/_verify_jws: the access-token typ (those
 * entry points must never mint or accept an access token, whose verifier
 * has a stricter key policy), and anything but 1..JWT_MAX_TYP characters
 * of [A-Za-z0-9.+_-] (it goes into the header unescaped).
 */
static void
JwtCheckTyp(const char *typ)
{
	size_t		n = strlen(typ);
	size_t		i;
	bool		ok = n >= 1 && n <= JWT_MAX_TYP;

	for (i = 0; ok && i < n; i++)
	{
		char		c = typ[i];

		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '+' || c == '_' || c == '-';
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("invalid JWS type \"%s\"", typ),
				 errdetail("A type is 1 to %d characters of A-Z, a-z, 0-9, '.', '+', '_' and '-'.",
						   JWT_MAX_TYP)));
	if (pg_strcasecmp(typ, JWT_ACCESS_TYP) == 0 || pg_strcasecmp(typ, "application/at+jwt") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("JWS type \"%s\" is reserved for access tokens", typ),
				 errhint("Use _sign_jwt and _verify_jwt for access tokens.")));
}

/*
 * Sign claims as a JWS of the given typ (not an access token) with the
 * private key of kid.
 */
Datum
agentidp__sign_jws(PG_FUNCTION_ARGS)
{
	char	   *kid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *sealed = PG_GETARG_BYTEA_PP(1);
	char	   *typ = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *claims = PG_GETARG_JSONB_P(3);

	JwtCheckTyp(typ);
	PG_RETURN_TEXT_P(JwtSign(kid, sealed, typ, claims));
}

/*
 * The public key of kid if that key may verify now (status active or
 * retiring; any status at all when anyStatus), else NULL.  The status is
 * read on every call; the parsed key is cached by kid and PEM digest.
 */
static EVP_PKEY *
JwtPublicKey(const char *kid, bool anyStatus)
{
	HTAB	   *cache = JwtKeyCache(&publicKeys, "agentidp public keys");
	Datum		arg = CStringGetTextDatum(kid);
	char	   *pem = NULL;
	int			rc;
	uint8		digest[32];
	JwtKeyEntry *entry;
	BIO		   *bio;
	EVP_PKEY   *pkey = NULL;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	if ((anyStatus ? anyPublicKeyPlan : publicKeyPlan) == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare(anyStatus ?
						   "SELECT public_pem FROM agentidp.signing_keys WHERE kid = $1" :
						   "SELECT public_pem FROM agentidp.signing_keys"
						   " WHERE kid = $1 AND status IN ('active', 'retiring')",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if ((rc = SPI_keepplan(plan)) != 0)
			elog(ERROR, "SPI_keepplan failed: %s", SPI_result_code_string(rc));
		if (anyStatus)
			anyPublicKeyPlan = plan;
		else
			publicKeyPlan = plan;
	}
	rc = SPI_execute_plan(anyStatus ? anyPublicKeyPlan : publicKeyPlan, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			/* Copy into the caller's context before SPI_finish frees it. */
			text	   *t = DatumGetTextPP(d);
			Size		len = VARSIZE_ANY_EXHDR(t);

			pem = SPI_palloc(len + 1);
			memcpy(pem, VARDATA_ANY(t), len);
			pem[len] = '\0';
		}
	}
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	if (pem == NULL)
		return NULL;

	JwtDigest(pem, strlen(pem), digest);
	entry = JwtCacheLookup(cache, kid, digest);
	if (entry != NULL)
		return entry->pkey;
	bio = BIO_new_mem_buf(pem, (int) strlen(pem));
	if (bio != NULL)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
	{
		/* A corrupt key verifies nothing; the token is simply not valid. */
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return NULL;
	}
	JwtCacheStore(cache, kid, digest, pkey);
	return pkey;
}

/*
 * Split, decode and check an access token (jws_parse: format, header
 * policy, strict JSON), or NULL when it is malformed.  Nothing is verified.
 */
static JwsToken *
JwtParse(text *token)
{
	size_t		len = VARSIZE_ANY_EXHDR(token);
	JwsToken   *tok;

	if (len == 0 || len > JWS_MAX_TOKEN)
		return NULL;
	tok = palloc(sizeof(JwsToken));
	if (jws_parse(VARDATA_ANY(token), len, tok) < 0)
	{
		pfree(tok);
		return NULL;
	}
	return tok;
}

/* The claims of a parsed token as jsonb (jws_parse refused all jsonb_in could). */
static Jsonb *
JwtClaims(const JwsToken *tok)
{
	char	   *claims = pnstrdup((const char *) tok->payload, tok->payload_len);

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims)));
}

/*
 * Verify a compact RS256 token and return its claims, or NULL for any bad
 * token (never an error: a token is untrusted input).  Expiry, revocation
 * and agent status are the caller's business.
 */
Datum
agentidp__verify_jwt(PG_FUNCTION_ARGS)
{
	JwsToken   *tok = JwtParse(PG_GETARG_TEXT_PP(0));
	EVP_PKEY   *pkey;

	if (tok == NULL)
		PG_RETURN_NULL();
	pkey = JwtPublicKey(tok->kid, false);
	if (pkey == NULL)
		PG_RETURN_NULL();
	if (!jws_rs256_verify(pkey, (const uint8 *) tok->signing_input,
						  tok->signing_input_len, tok->sig, tok->sig_len))
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JwtClaims(tok));
}

/* The string member key of a jsonb object, or NULL if absent or not a string. */
static JsonbValue *
JwtStringMember(Jsonb *jb, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
	return (v != NULL && v->type == jbvString) ? v : NULL;
}

/*
 * A token id: a UUIDv7 (RFC 9562), 48 bits of Unix milliseconds, then the
 * version, then 74 bits from the CSPRNG.  Ids issued close in time sort
 * together, so a new tokens row goes to the right-most page of the primary
 * key instead of a random one.  With random ids nearly every page of that
 * index took a full-page image in the WAL after each checkpoint (2,326 of
 * them for 15,000 tokens, 60 % of the WAL written), and revocations, which
 * mostly concern recent tokens, read pages scattered over all of it.  The
 * time is no secret: the iat claim says the same.
 */
Datum
agentidp__new_jti(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
	uint64		ms;

	if (!pg_strong_random(u->data + 6, UUID_LEN - 6))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a token id")));
	ms = (uint64) (GetCurrentTimestamp() / 1000) +
		(uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	for (int i = 5; i >= 0; i--, ms >>= 8)
		u->data[i] = (uint8) (ms & 0xFF);
	u->data[6] = 0x70 | (u->data[6] & 0x0F);	/* version 7 */
	u->data[8] = 0x80 | (u->data[8] & 0x3F);	/* variant 10 */
	PG_RETURN_UUID_P(u);
}

/*
 * Revocation identifies a token without verifying it again.  Each tokens
 * row keeps the SHA-256 of its token exactly as issued (_token_digest); a
 * presented token is the row's own when its jti claim (_token_jti, read
 * from the unverified payload) names the row and its digest matches
 * (_token_matches).  That proves at least what a signature check would
 * (only the issuer ever saw those bytes) for a hash instead of an RSA
 * verification, which was over half of a revocation's work in the
 * database.
 */

/* SHA-256 of a token's bytes, as stored in tokens.token_digest. */
Datum
agentidp__token_digest(PG_FUNCTION_ARGS)
{
	text	   *token = PG_GETARG_TEXT_PP(0);
	bytea	   *out = palloc(VARHDRSZ + 32);

	JwtDigest(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), (uint8 *) VARDATA(out));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

/*
 * The jti claim of a well-formed access token, NOT verified: the same
 * parser as _verify_jwt, so a malformed token has none; NULL also when jti
 * is missing or not a lowercase UUID (the only form _issue_write signs).
 */
Datum
agentidp__token_jti(PG_FUNCTION_ARGS)
{
	JwsToken   *tok = JwtParse(PG_GETARG_TEXT_PP(0));
	JsonbValue *jti;
	char		buf[37];

	if (tok == NULL)
		PG_RETURN_NULL();
	jti = JwtStringMember(JwtClaims(tok), "jti");
	if (jti == NULL || jti->val.string.len != 36)
		PG_RETURN_NULL();
	for (int i = 0; i < 36; i++)
	{
		char		c = jti->val.string.val[i];

		if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' :
			!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			PG_RETURN_NULL();
		buf[i] = c;
	}
	buf[36] = '\0';
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(buf)));
}

/* Whether token hashes to digest, compared in constant time. */
Datum
agentidp__token_matches(PG_FUNCTION_ARGS)
{
	text	   *token = PG_GETARG_TEXT_PP(0);
	bytea	   *digest = PG_GETARG_BYTEA_PP(1);
	uint8		mine[32];

	if (VARSIZE_ANY_EXHDR(digest) != 32)
		PG_RETURN_BOOL(false);
	JwtDigest(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), mine);
	PG_RETURN_BOOL(CRYPTO_memcmp(mine, VARDATA_ANY(digest), 32) == 0);
}

/*
 * Decode one base64url part of a compact JWS into a palloc'd buffer, or
 * return NULL.  Unlike jws_split this has no fixed size limit: a checkpoint
 * carries one head per audit stream and may exceed JWS_MAX_TOKEN.
 */
static uint8 *
JwtDecodePart(const char *part, size_t n, size_t *outlen)
{
	uint8	   *out;

	if (n == 0)
		return NULL;
	out = palloc(n / 4 * 3 + 2);
	if (jws_b64url_decode(part, n, out, outlen) < 0)
	{
		pfree(out);
		return NULL;
	}
	return out;
}

/*
 * Verify a compact RS256 JWS of the given typ (never at+jwt) and return its
 * claims, or NULL for any bad token: a malformed token, a header other than
 * exactly {alg: "RS256", typ, kid}, an unknown kid or a bad signature.  The
 * key may have any status, retired included: such documents outlive the
 * key that signed them, and the caller reports which key it was.
 */
Datum
agentidp__verify_jws(PG_FUNCTION_ARGS)
{
	text	   *token = PG_GETARG_TEXT_PP(0);
	char	   *typ = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *data = VARDATA_ANY(token);
	size_t		len = VARSIZE_ANY_EXHDR(token);
	const char *dot1;
	const char *dot2;
	uint8	   *hdr;
	uint8	   *payload;
	uint8	   *sig;
	size_t		hdrlen,
				payloadlen,
				siglen;
	Jsonb	   *header;
	JsonbValue *alg;
	JsonbValue *htyp;
	JsonbValue *kid;
	char		kidbuf[JWS_MAX_KID + 1];
	EVP_PKEY   *pkey;

	JwtCheckTyp(typ);
	/* Exactly three parts; the decoder refuses every byte outside base64url. */
	dot1 = memchr(data, '.', len);
	if (dot1 == NULL)
		PG_RETURN_NULL();
	dot2 = memchr(dot1 + 1, '.', len - (dot1 + 1 - data));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (dot2 + 1 - data)) != NULL)
		PG_RETURN_NULL();
	hdr = JwtDecodePart(data, dot1 - data, &hdrlen);
	payload = JwtDecodePart(dot1 + 1, dot2 - (dot1 + 1), &payloadlen);
	sig = JwtDecodePart(dot2 + 1, len - (dot2 + 1 - data), &siglen);
	if (hdr == NULL || payload == NULL || sig == NULL)
		PG_RETURN_NULL();
	/* Strict JSON first, so jsonb_in cannot fail and sees no duplicates. */
	if (jws_json_check_object((const char *) hdr, hdrlen) < 0 ||
		jws_json_check_object((const char *) payload, payloadlen) < 0)
		PG_RETURN_NULL();
	header = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												CStringGetDatum(pnstrdup((const char *) hdr, hdrlen))));
	/* Exactly three members: no jwk, jku, x5u, x5c or crit is considered. */
	if (JsonContainerSize(&header->root) != 3 ||
		(alg = JwtStringMember(header, "alg")) == NULL ||
		(htyp = JwtStringMember(header, "typ")) == NULL ||
		(kid = JwtStringMember(header, "kid")) == NULL)
		PG_RETURN_NULL();
	if (alg->val.string.len != 5 || memcmp(alg->val.string.val, "RS256", 5) != 0 ||
		htyp->val.string.len != (int) strlen(typ) ||
		memcmp(htyp->val.string.val, typ, strlen(typ)) != 0 ||
		!jws_kid_valid(kid->val.string.val, kid->val.string.len))
		PG_RETURN_NULL();
	memcpy(kidbuf, kid->val.string.val, kid->val.string.len);
	kidbuf[kid->val.string.len] = '\0';
	pkey = JwtPublicKey(kidbuf, true);
	if (pkey == NULL)
		PG_RETURN_NULL();
	if (!jws_rs256_verify(pkey, (const uint8 *) data, dot2 - data, sig, siglen))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(pnstrdup((const char *) payload, payloadlen))));
}
