/*-------------------------------------------------------------------------
 *
 * keys.c
 *		RSA signing keys: generation and sealing of the private key under
 *		the key-encryption key.
 *
 * A private key never leaves the database in clear: it is stored as
 * 'AIDP1' || nonce(12) || tag(16) || AES-256-GCM(PKCS#8 PEM), the AES key
 * being SHA-256 of agentidp.key_encryption_key (a SIGHUP, superuser-only,
 * hidden setting).  The magic is authenticated as associated data so a
 * blob of a future format cannot be opened as this one.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"

#define SEAL_MAGIC		"AIDP1"
#define SEAL_MAGIC_LEN	5
#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_HEADER_LEN (SEAL_MAGIC_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN)

PG_FUNCTION_INFO_V1(agentidp__generate_key);

/* AES-256 key = SHA-256 of the configured KEK; AIK01 when there is none. */
static void
KeysDeriveKek(uint8 key[32])
{
	if (agentidp_key_encryption_key == NULL || agentidp_key_encryption_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("no key-encryption key is configured"),
				 errdetail("Signing keys are sealed under agentidp.key_encryption_key, which is not set."),
				 errhint("Set agentidp.key_encryption_key in postgresql.conf and reload the server.")));
	if (EVP_Digest(agentidp_key_encryption_key, strlen(agentidp_key_encryption_key),
				   key, NULL, EVP_sha256(), NULL) != 1)
		elog(ERROR, "SHA-256 failed");
}

/* Seal plaintext under the KEK; returns the bytea of the AIDP1 format. */
static bytea *
KeysSeal(const char *plain, size_t len)
{
	uint8		key[32];
	uint8		nonce[SEAL_NONCE_LEN];
	uint8		tag[SEAL_TAG_LEN];
	bytea	   *out;
	uint8	   *ct;
	EVP_CIPHER_CTX *ctx;
	int			n1 = 0,
				n2 = 0;
	bool		ok;

	KeysDeriveKek(key);
	if (!pg_strong_random(nonce, sizeof(nonce)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not generate random bytes")));
	out = palloc(VARHDRSZ + SEAL_HEADER_LEN + len + 16);
	ct = (uint8 *) VARDATA(out) + SEAL_HEADER_LEN;

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &n1, (const uint8 *) SEAL_MAGIC, SEAL_MAGIC_LEN) == 1 &&
		EVP_EncryptUpdate(ctx, ct, &n1, (const uint8 *) plain, (int) len) == 1 &&
		EVP_EncryptFinal_ex(ctx, ct + n1, &n2) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(key, sizeof(key));
	if (!ok)
	{
		ERR_clear_error();
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("could not seal the private key")));
	}
	memcpy(VARDATA(out), SEAL_MAGIC, SEAL_MAGIC_LEN);
	memcpy(VARDATA(out) + SEAL_MAGIC_LEN, nonce, SEAL_NONCE_LEN);
	memcpy(VARDATA(out) + SEAL_MAGIC_LEN + SEAL_NONCE_LEN, tag, SEAL_TAG_LEN);
	SET_VARSIZE(out, VARHDRSZ + SEAL_HEADER_LEN + n1 + n2);
	return out;
}

/*
 * Open a sealed private key and return its PEM (palloc'd, NUL-terminated).
 * AIK01 when no KEK is set, the blob is malformed, or the tag does not
 * verify (the KEK is not the one the key was sealed under).
 */
char *
KeysOpenPrivatePem(const bytea *sealed, size_t *pemlen)
{
	uint8		key[32];
	const uint8 *data = (const uint8 *) VARDATA_ANY(sealed);
	size_t		len = VARSIZE_ANY_EXHDR(sealed);
	size_t		ctlen;
	char	   *plain;
	EVP_CIPHER_CTX *ctx;
	int			n1 = 0,
				n2 = 0;
	bool		ok;

	if (len <= SEAL_HEADER_LEN || memcmp(data, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("signing key is unusable"),
				 errdetail("The stored private key is not in the AIDP1 sealed format.")));
	KeysDeriveKek(key);
	ctlen = len - SEAL_HEADER_LEN;
	plain = palloc(ctlen + 1);

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key, data + SEAL_MAGIC_LEN) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &n1, (const uint8 *) SEAL_MAGIC, SEAL_MAGIC_LEN) == 1 &&
		EVP_DecryptUpdate(ctx, (uint8 *) plain, &n1, data + SEAL_HEADER_LEN, (int) ctlen) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
							(void *) (data + SEAL_MAGIC_LEN + SEAL_NONCE_LEN)) == 1 &&
		EVP_DecryptFinal_ex(ctx, (uint8 *) plain + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(key, sizeof(key));
	if (!ok)
	{
		ERR_clear_error();
		explicit_bzero(plain, ctlen);
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("signing key cannot be decrypted"),
				 errdetail("The authentication tag does not verify under the configured key-encryption key."),
				 errhint("agentidp.key_encryption_key must be the value the key was created under.")));
	}
	plain[n1 + n2] = '\0';
	*pemlen = (size_t) (n1 + n2);
	return plain;
}

/* Copy a memory BIO's contents into a palloc'd NUL-terminated string. */
static char *
KeysBioToString(BIO *bio, size_t *len)
{
	char	   *data;
	long		n = BIO_get_mem_data(bio, &data);
	char	   *out = palloc(n + 1);

	memcpy(out, data, n);
	out[n] = '\0';
	*len = (size_t) n;
	return out;
}

/*
 * Generate an RSA key pair; return the SubjectPublicKeyInfo PEM and the
 * sealed PKCS#8 private PEM.
 */
Datum
agentidp__generate_key(PG_FUNCTION_ARGS)
{
	int32		bits = PG_GETARG_INT32(0);
	TupleDesc	tupdesc;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY   *pkey = NULL;
	BIO		   *pubbio = NULL;
	BIO		   *privbio = NULL;
	char	   *pub = NULL;
	char	   *priv = NULL;
	size_t		publen = 0,
				privlen = 0;
	bool		ok;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	uint8		probe[32];

	if (bits < 2048 || bits > 4096 || bits % 8 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("RSA key size must be a multiple of 8 between 2048 and 4096 bits"),
				 errdetail("Requested size: %d bits.", bits)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("_generate_key must be declared to return a record")));
	/* Refuse before the expensive keygen if the key could not be sealed. */
	KeysDeriveKek(probe);
	explicit_bzero(probe, sizeof(probe));

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	ok = ctx != NULL &&
		EVP_PKEY_keygen_init(ctx) == 1 &&
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 &&
		EVP_PKEY_generate(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (ok)
	{
		pubbio = BIO_new(BIO_s_mem());
		privbio = BIO_new(BIO_s_mem());
		ok = pubbio != NULL && privbio != NULL &&
			PEM_write_bio_PUBKEY(pubbio, pkey) == 1 &&
			PEM_write_bio_PrivateKey(privbio, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	}
	/* Copy out with palloc, then free every OpenSSL object before raising. */
	if (ok)
	{
		pub = KeysBioToString(pubbio, &publen);
		priv = KeysBioToString(privbio, &privlen);
	}
	if (privbio != NULL)
	{
		char	   *data;
		long		n = BIO_get_mem_data(privbio, &data);

		if (n > 0)
			OPENSSL_cleanse(data, n);
	}
	BIO_free(pubbio);
	BIO_free(privbio);
	EVP_PKEY_free(pkey);
	if (!ok)
	{
		ERR_clear_error();
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_KEY),
				 errmsg("RSA key generation failed")));
	}

	values[0] = PointerGetDatum(cstring_to_text_with_len(pub, publen));
	values[1] = PointerGetDatum(KeysSeal(priv, privlen));
	explicit_bzero(priv, privlen);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
