/*
 * unseal_key: print the PEM private key of an AgentIdP signing key, given
 * its sealed form (agentidp.signing_keys.private_enc, as hex on stdin) and
 * the key-encryption key (AGENTIDP_TEST_KEK).
 *
 * The attack suite needs the IdP's real key to build tokens that differ
 * from a genuine one in exactly one property (expired, wrong typ, duplicate
 * claim...), so that each refusal is proven to come from that property and
 * not from a bad signature. The format is the extension's: 'AIDP1' ||
 * nonce(12) || tag(16) || AES-256-GCM(PEM), key SHA-256(KEK), AAD 'AIDP1'.
 * Test use only: it reads the throwaway cluster of the suite.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	static char hex[65536];
	static unsigned char data[32768], plain[32768];
	const char *kek = getenv("AGENTIDP_TEST_KEK");
	unsigned char key[32];
	size_t n = 0, len;
	int n1 = 0, n2 = 0, ok;
	EVP_CIPHER_CTX *ctx;

	if (kek == NULL || fgets(hex, sizeof(hex), stdin) == NULL) {
		fprintf(stderr, "usage: echo <hex of private_enc> | AGENTIDP_TEST_KEK=... unseal_key\n");
		return 2;
	}
	/* psql prints bytea as \x<hex>. */
	for (char *p = strncmp(hex, "\\x", 2) == 0 ? hex + 2 : hex; p[0] && p[1] && p[0] != '\n'; p += 2) {
		unsigned int b;

		if (sscanf(p, "%2x", &b) != 1 || n >= sizeof(data))
			return 2;
		data[n++] = (unsigned char)b;
	}
	if (n <= 33 || memcmp(data, "AIDP1", 5) != 0) {
		fprintf(stderr, "not an AIDP1 sealed key\n");
		return 1;
	}
	EVP_Digest(kek, strlen(kek), key, NULL, EVP_sha256(), NULL);
	len = n - 33;
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		 EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
		 EVP_DecryptInit_ex(ctx, NULL, NULL, key, data + 5) == 1 &&
		 EVP_DecryptUpdate(ctx, NULL, &n1, (const unsigned char *)"AIDP1", 5) == 1 &&
		 EVP_DecryptUpdate(ctx, plain, &n1, data + 33, (int)len) == 1 &&
		 EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, data + 17) == 1 &&
		 EVP_DecryptFinal_ex(ctx, plain + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		fprintf(stderr, "cannot open the sealed key (wrong KEK?)\n");
		return 1;
	}
	fwrite(plain, 1, (size_t)(n1 + n2), stdout);
	return 0;
}
