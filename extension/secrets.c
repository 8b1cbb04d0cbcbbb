/*-------------------------------------------------------------------------
 *
 * secrets.c
 *		Client ids, client secrets, their bcrypt hashes and the check of a
 *		presented secret.
 *
 * bcrypt at cost 10 takes about 50 ms, which would cap token issuance near
 * 20 per second per core.  So only the first verification of a secret in a
 * backend pays bcrypt: on success we remember the SHA-256 of the secret,
 * keyed by credential id and its secret_version (bumped by every rotation),
 * and later presentations compare SHA-256 digests in constant time.  A
 * rotation or a changed hash misses the cache, so an old secret fails at
 * once in every backend.  Every refusal path does one bcrypt of the same
 * cost, so an unknown client cannot be told from a wrong secret by timing.
 *
 * bcrypt comes from pgcrypto, found in pgcrypto's own schema through
 * pg_extension, never through the caller's search_path.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "jws.h"

#define SECRET_DIGEST_LEN	32
/* Forget every cached secret past this many credentials (memory bound). */
#define SECRET_CACHE_MAX	100000

typedef struct SecretCacheEntry
{
	pg_uuid_t	credential_id;	/* hash key */
	int32		secret_version;
	uint8		hash_digest[SECRET_DIGEST_LEN];	/* SHA-256 of the bcrypt hash */
	uint8		secret_digest[SECRET_DIGEST_LEN];	/* SHA-256 of the secret */
} SecretCacheEntry;

static HTAB *secretCache = NULL;
static bool pgcryptoReady = false;
static FmgrInfo cryptFn;
static FmgrInfo genSaltFn;
/* One random bcrypt setting per cost, for the dummy work of refusals. */
static char *dummySetting[32];

PG_FUNCTION_INFO_V1(agentidp__new_client_id);
PG_FUNCTION_INFO_V1(agentidp__new_client_secret);
PG_FUNCTION_INFO_V1(agentidp__hash_secret);
PG_FUNCTION_INFO_V1(agentidp__check_secret);

/* Return prefix + base64url(nbytes from the CSPRNG) as text. */
static text *
SecretsRandomToken(const char *prefix, int nbytes)
{
	uint8		buf[32];
	char		out[64];
	size_t		plen = strlen(prefix);

	Assert(nbytes <= (int) sizeof(buf));
	if (!pg_strong_random(buf, nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not generate random bytes")));
	memcpy(out, prefix, plen);
	jws_b64url_encode(buf, nbytes, out + plen);
	explicit_bzero(buf, sizeof(buf));
	return cstring_to_text(out);
}

/* Client id: aidp_ci_ + base64url(16 CSPRNG bytes). */
Datum
agentidp__new_client_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(SecretsRandomToken("aidp_ci_", 16));
}

/* Client secret: aidp_sk_ + base64url(32 CSPRNG bytes), 256 bits. */
Datum
agentidp__new_client_secret(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(SecretsRandomToken("aidp_sk_", 32));
}

/* Look up pgcrypto's schema in pg_extension (no search_path involved). */
static Oid
SecretsPgcryptoSchema(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("pgcrypto"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pgcrypto\" is not installed"),
				 errhint("agentidp requires pgcrypto for bcrypt.")));
	return nsp;
}

/* Resolve pgcrypto's crypt(text, text) and gen_salt(text, int4) once. */
static void
SecretsLoadPgcrypto(void)
{
	char	   *nspname;
	Oid			cryptArgs[2] = {TEXTOID, TEXTOID};
	Oid			saltArgs[2] = {TEXTOID, INT4OID};
	Oid			cryptOid;
	Oid			saltOid;

	if (pgcryptoReady)
		return;
	nspname = get_namespace_name(SecretsPgcryptoSchema());
	cryptOid = LookupFuncName(list_make2(makeString(nspname), makeString("crypt")),
							  2, cryptArgs, false);
	saltOid = LookupFuncName(list_make2(makeString(nspname), makeString("gen_salt")),
							 2, saltArgs, false);
	fmgr_info_cxt(cryptOid, &cryptFn, TopMemoryContext);
	fmgr_info_cxt(saltOid, &genSaltFn, TopMemoryContext);
	pgcryptoReady = true;
}

/* pgcrypto crypt(): a bcrypt hash of secret with the given setting. */
static char *
SecretsCrypt(const char *secret, const char *setting)
{
	Datum		result;

	SecretsLoadPgcrypto();
	result = FunctionCall2(&cryptFn,
						   PointerGetDatum(cstring_to_text(secret)),
						   PointerGetDatum(cstring_to_text(setting)));
	return text_to_cstring(DatumGetTextPP(result));
}

/* pgcrypto gen_salt('bf', cost): a fresh $2a$ setting. */
static char *
SecretsGenSalt(int cost)
{
	Datum		result;

	SecretsLoadPgcrypto();
	result = FunctionCall2(&genSaltFn,
						   PointerGetDatum(cstring_to_text("bf")),
						   Int32GetDatum(cost));
	return text_to_cstring(DatumGetTextPP(result));
}

/*
 * Cost of a well-formed $2a$ hash (60 characters), or -1.  PostgreSQL 15's
 * pgcrypto silently falls back to DES for $2b$/$2y$, so those never count
 * as bcrypt here.
 */
static int
SecretsHashCost(const char *hash, size_t len)
{
	int			cost;

	if (len != 60 || strncmp(hash, "$2a$", 4) != 0 ||
		hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' ||
		hash[6] != '$')
		return -1;
	cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	return (cost >= 4 && cost <= 31) ? cost : -1;
}

/* One bcrypt of the given cost whose result is thrown away. */
static void
SecretsDummyWork(const char *presented, int cost)
{
	char		bounded[AIDP_BCRYPT_MAX_SECRET + 1];

	if (cost < 4 || cost > 31)
		cost = agentidp_bcrypt_cost;
	if (dummySetting[cost] == NULL)
		dummySetting[cost] = MemoryContextStrdup(TopMemoryContext, SecretsGenSalt(cost));
	/* bcrypt reads 72 bytes at most: hash a bounded copy, same time. */
	strlcpy(bounded, presented ? presented : "", sizeof(bounded));
	(void) SecretsCrypt(bounded, dummySetting[cost]);
	explicit_bzero(bounded, sizeof(bounded));
}

/* SHA-256 of a buffer. */
static void
SecretsDigest(const char *data, size_t len, uint8 out[SECRET_DIGEST_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		elog(ERROR, "SHA-256 failed");
}

/* The per-backend cache of verified secrets, created on first use. */
static HTAB *
SecretsCache(void)
{
	if (secretCache != NULL && hash_get_num_entries(secretCache) >= SECRET_CACHE_MAX)
	{
		hash_destroy(secretCache);
		secretCache = NULL;
	}
	if (secretCache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(SecretCacheEntry);
		secretCache = hash_create("agentidp verified secrets", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	return secretCache;
}

/* bcrypt hash ($2a$) of a new client secret at agentidp.bcrypt_cost. */
Datum
agentidp__hash_secret(PG_FUNCTION_ARGS)
{
	text	   *secret = PG_GETARG_TEXT_PP(0);
	char	   *plain;
	char	   *hash;

	if (VARSIZE_ANY_EXHDR(secret) > AIDP_BCRYPT_MAX_SECRET)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_REQUEST),
				 errmsg("invalid_request: client secret is longer than %d bytes",
						AIDP_BCRYPT_MAX_SECRET),
				 errdetail("bcrypt ignores everything after %d bytes, so a longer secret would be silently truncated.",
						   AIDP_BCRYPT_MAX_SECRET)));
	plain = text_to_cstring(secret);
	hash = SecretsCrypt(plain, SecretsGenSalt(agentidp_bcrypt_cost));
	explicit_bzero(plain, strlen(plain));
	if (SecretsHashCost(hash, strlen(hash)) < 0)
		elog(ERROR, "pgcrypto returned a hash that is not $2a$ bcrypt");
	PG_RETURN_TEXT_P(cstring_to_text(hash));
}

/*
 * Check a presented client secret against a credential's hash.  NULL
 * credential/hash means an unknown client: same bcrypt work, false.
 */
Datum
agentidp__check_secret(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *credential;
	int32		version;
	text	   *hash_t;
	text	   *presented_t;
	char	   *hash;
	char	   *presented;
	size_t		hash_len;
	size_t		presented_len;
	int			cost;
	uint8		secret_digest[SECRET_DIGEST_LEN];
	uint8		hash_digest[SECRET_DIGEST_LEN];
	SecretCacheEntry *entry;
	bool		found;
	char	   *computed;
	bool		ok;

	presented_t = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	hash_t = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	presented = presented_t ? text_to_cstring(presented_t) : NULL;
	presented_len = presented ? strlen(presented) : 0;
	hash = hash_t ? text_to_cstring(hash_t) : NULL;
	hash_len = hash ? strlen(hash) : 0;
	cost = hash ? SecretsHashCost(hash, hash_len) : -1;

	/* Unknown client, missing or oversized secret, unusable hash. */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || hash == NULL || presented == NULL ||
		presented_len > AIDP_BCRYPT_MAX_SECRET || cost < 0)
	{
		SecretsDummyWork(presented, cost);
		if (presented)
			explicit_bzero(presented, presented_len);
		PG_RETURN_BOOL(false);
	}
	credential = PG_GETARG_UUID_P(0);
	version = PG_GETARG_INT32(1);

	SecretsDigest(presented, presented_len, secret_digest);
	SecretsDigest(hash, hash_len, hash_digest);

	entry = hash_search(SecretsCache(), credential, HASH_FIND, NULL);
	if (entry != NULL && entry->secret_version == version &&
		CRYPTO_memcmp(entry->hash_digest, hash_digest, SECRET_DIGEST_LEN) == 0 &&
		CRYPTO_memcmp(entry->secret_digest, secret_digest, SECRET_DIGEST_LEN) == 0)
	{
		explicit_bzero(presented, presented_len);
		PG_RETURN_BOOL(true);
	}

	/*
	 * Miss, or a hit whose digest differs: pay the real bcrypt, which costs
	 * exactly what a refusal of an unknown client costs.
	 */
	computed = SecretsCrypt(presented, hash);
	explicit_bzero(presented, presented_len);
	ok = strlen(computed) == hash_len &&
		CRYPTO_memcmp(computed, hash, hash_len) == 0;
	if (ok)
	{
		entry = hash_search(SecretsCache(), credential, HASH_ENTER, &found);
		entry->secret_version = version;
		memcpy(entry->hash_digest, hash_digest, SECRET_DIGEST_LEN);
		memcpy(entry->secret_digest, secret_digest, SECRET_DIGEST_LEN);
	}
	explicit_bzero(secret_digest, sizeof(secret_digest));
	PG_RETURN_BOOL(ok);
}
