/*
 * fuzz_base64: the bridge's base64url and standard base64 decoders, and the
 * extension's jws_b64url_decode, differentially.
 *
 * Both base64url decoders promise canonical input only (no padding, zero
 * trailing bits), so:
 *  - they must accept exactly the same strings and produce the same bytes;
 *  - an accepted string re-encodes to itself (one token, one spelling).
 */
#include "../../bridge/http_util.h"
#include "../../extension/jws.h"
#include "fuzz_common.h"

#include <stdio.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char *a = NULL;
	size_t alen = 0;
	int ra;

	if (len > JWS_MAX_TOKEN)
		return 0;
	ra = b64url_decode((const char *)data, len, &a, &alen);

	{
		unsigned char *b = malloc(len / 4 * 3 + 3);
		size_t blen = 0;
		int rb = jws_b64url_decode((const char *)data, len, b, &blen);

		if ((ra == 0) != (rb == 0)) {
			fprintf(stderr, "base64url decoders disagree: bridge %d, extension %d on %zu bytes\n",
					ra, rb, len);
			abort();
		}
		if (ra == 0 && (alen != blen || memcmp(a, b, alen) != 0)) {
			fprintf(stderr, "base64url decoders return different bytes\n");
			abort();
		}
		if (rb == 0) {
			char *enc = malloc(jws_b64url_len(blen) + 1);
			size_t n = jws_b64url_encode(b, blen, enc);

			if (n != len || memcmp(enc, data, len) != 0) {
				fprintf(stderr, "accepted base64url is not canonical\n");
				abort();
			}
			free(enc);
		}
		free(b);
	}
	if (ra == 0) {
		char *enc = b64url_encode(a, alen);

		if (enc == NULL || strlen(enc) != len || memcmp(enc, data, len) != 0) {
			fprintf(stderr, "bridge base64url round trip differs\n");
			abort();
		}
		free(enc);
		free(a);
	}

	/* Standard base64 (Basic credentials): memory safety and a sane length. */
	{
		unsigned char *s = NULL;
		size_t slen = 0;

		if (b64_decode((const char *)data, len, &s, &slen) == 0) {
			if (slen > len)
				abort();
			free(s);
		}
	}
	return 0;
}
