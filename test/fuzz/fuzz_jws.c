/*
 * fuzz_jws: the extension's PostgreSQL-free verifier (extension/jws.c):
 * jws_parse, jws_json_check_object, jws_header_check, jws_kid_valid.
 *
 * Properties besides memory safety:
 *  - a parsed token's parts are within JWS_MAX_DECODED and its signing input
 *    is the token's prefix up to the second dot;
 *  - an object jws_json_check_object accepts is never one that jansson
 *    refuses for a duplicate key (duplicates after unescaping included);
 *  - a header jws_header_check accepts has a kid that jws_kid_valid accepts.
 */
#include "../../extension/jws.h"
#include "fuzz_common.h"

#include <jansson.h>
#include <stdio.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static JwsToken tok;
	char kid[JWS_MAX_KID + 1];

	if (len <= JWS_MAX_TOKEN && jws_parse((const char *)data, len, &tok) == 0) {
		const char *d1 = memchr(data, '.', len);
		const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - (const char *)data)) : NULL;

		if (d2 == NULL || tok.signing_input != (const char *)data ||
			tok.signing_input_len != (size_t)(d2 - (const char *)data))
			abort();
		if (tok.header_len > JWS_MAX_DECODED || tok.payload_len > JWS_MAX_DECODED ||
			tok.sig_len > JWS_MAX_DECODED || tok.sig_len == 0 || tok.payload_len == 0)
			abort();
		if (!jws_kid_valid(tok.kid, strlen(tok.kid)))
			abort();
	}
	if (jws_json_check_object((const char *)data, len) == 0) {
		json_error_t err;
		json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);

		if (j == NULL && strstr(err.text, "duplicate") != NULL) {
			fprintf(stderr, "jws_json_check_object accepted a duplicate key: %s\n", err.text);
			abort();
		}
		json_decref(j);
		if (jws_header_check((const char *)data, len, kid) == 0 &&
			!jws_kid_valid(kid, strlen(kid)))
			abort();
	}
	return 0;
}
