/*
 * fuzz_basic_auth: client_auth_parse (bridge/http_auth.c), which reads an
 * Authorization header (Basic, RFC 7617 + RFC 6749 §2.3.1 form-encoding)
 * and/or client_id/client_secret from a form body.
 *
 * Input: "<Authorization header value>\n<form body>". req_header() is
 * wrapped (see fuzz_common.h) to return the header.
 *
 * Properties: a secret never comes back without a client id; credentials
 * given both in the Basic header and as client_secret in the body are
 * refused; every refusal says why.
 */
#include "../../bridge/http_auth.h"
#include "fuzz_common.h"

#include <strings.h>

static const char *fuzz_authorization;

const char *__wrap_req_header(struct request *r, const char *name);

const char *
__wrap_req_header(struct request *r, const char *name)
{
	(void)r;
	if (strcasecmp(name, "Authorization") == 0)
		return fuzz_authorization;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *hdr, *body;
	size_t hlen, blen;
	struct form f;
	const char *err = NULL, *why = NULL;
	struct client_auth ca;
	struct request r;

	fuzz_split(data, len, '\n', &hdr, &hlen, &body, &blen);
	/* A header value from libmicrohttpd never holds a NUL or a line break. */
	fuzz_authorization = strlen(hdr) == hlen ? hdr : NULL;
	memset(&r, 0, sizeof(r));
	if (form_parse(body, blen, &f, &err) == 0) {
		int rc = client_auth_parse(&r, &f, &ca, &why);

		if (rc == 0) {
			if (ca.client_secret != NULL && ca.client_id == NULL)
				abort();
			if (ca.basic && (form_get(&f, "client_secret") != NULL))
				abort(); /* both methods at once must be refused */
			client_auth_free(&ca);
		} else {
			if (why == NULL)
				abort();
			client_auth_free(&ca);
		}
		form_free(&f);
	}
	free(hdr);
	free(body);
	return 0;
}
