/*
 * fuzz_form: the bridge's application/x-www-form-urlencoded parser (token
 * endpoint bodies) and query-string parser (req_query), and pct_decode.
 *
 * Properties checked besides memory safety (ASan/UBSan):
 *  - a parsed form never holds the same name twice (RFC 6749 §3.2);
 *  - no decoded name or value contains a NUL byte;
 *  - pct_decode never grows its input, and a refusal of the form implies
 *    that some field (or its shape) is bad, never an allocation quirk.
 */
#include "../../bridge/http_server.h"
#include "../../bridge/http_util.h"
#include "fuzz_common.h"

#include <microhttpd.h>
#include <stdio.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct form f;
	const char *err = NULL;
	char *out = NULL;

	/* The parser takes (pointer, length): pass the raw bytes, no terminator. */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	if (form_parse((const char *)copy, len, &f, &err) == 0) {
		for (size_t i = 0; i < f.n; i++) {
			if (f.fields[i].name[0] == '\0')
				abort(); /* empty names are refused by contract */
			for (size_t j = i + 1; j < f.n; j++)
				if (strcmp(f.fields[i].name, f.fields[j].name) == 0)
					abort(); /* repeated parameter accepted */
			if (form_get(&f, f.fields[i].name) != f.fields[i].value)
				abort();
		}
		form_free(&f);
	} else if (err == NULL) {
		abort(); /* a refusal must say why */
	}
	free(copy);

	for (int plus = 0; plus < 2; plus++) {
		if (pct_decode((const char *)data, len, plus, &out) == 0) {
			if (strlen(out) > len)
				abort();
			if (memchr(data, '%', len) == NULL && !plus && (strlen(out) != len || memcmp(out, data, len) != 0))
				abort(); /* nothing to decode must mean identity */
			free(out);
		}
	}

	/* The query-string path the routes use: the URI up to and after '?'. */
	{
		struct request r;
		struct form q;
		char *uri = malloc(len + 16);

		memset(&r, 0, sizeof(r));
		memcpy(uri, "/api/v1/agents?", 15);
		memcpy(uri + 15, data, len);
		uri[15 + len] = '\0';
		r.uri = uri;
		if (req_query(&r, &q) == 0) {
			form_free(&q);
		} else if (r.status != 400) {
			abort(); /* a bad query string is a 400, nothing else */
		}
		if (r.resp)
			MHD_destroy_response(r.resp);
		free(uri);
	}
	return 0;
}
