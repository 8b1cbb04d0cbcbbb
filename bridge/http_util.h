/*
 * http_util.h: pure parsing and encoding helpers (no I/O, no global state),
 * unit-tested by test/bridge/unit_tests.c.
 */
#ifndef AGENTIDP_HTTP_UTIL_H
#define AGENTIDP_HTTP_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* One decoded name=value pair of a form body or a query string. */
struct form_field {
	char *name;
	char *value;
};

struct form {
	struct form_field *fields;
	size_t n;
};

/*
 * Parse application/x-www-form-urlencoded text (also used for query
 * strings). Strict: malformed percent-encoding, an encoded or raw NUL, a
 * field without '=' that is not empty, and a repeated name are refused
 * (RFC 6749 §3.2: parameters MUST NOT be included more than once).
 * Returns 0, or -1 with *err set to a static description.
 */
int form_parse(const char *text, size_t len, struct form *out, const char **err);
const char *form_get(const struct form *f, const char *name);
void form_free(struct form *f);

/* Decode percent-escapes ('+' is a space when plus_is_space); -1 on malformed or NUL. */
int pct_decode(const char *in, size_t len, int plus_is_space, char **out);

/*
 * base64url without padding (RFC 7515 §2). Canonical only: unused trailing
 * bits must be zero, so one token has exactly one encoding.
 */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);
char *b64url_encode(const unsigned char *in, size_t len);

/* Standard base64 with padding (HTTP Basic credentials). */
int b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* "created_at" -> "createdAt"; a malloc'd string. */
char *snake_to_camel(const char *s);

/* New object with the top-level keys of obj renamed to camelCase (values shared). */
json_t *json_camelize(json_t *obj);

/* Canonical textual UUID (8-4-4-4-12 hex). */
int is_uuid(const char *s);

/* Positive decimal integer of at most 18 digits without sign or leading zeros. */
int is_decimal_id(const char *s);

/*
 * Split "a b  c" (space-separated scope list) into a malloc'd array of
 * malloc'd strings; returns the count, or -1 on allocation failure.
 */
long split_scopes(const char *s, char ***out);
void free_strings(char **v, size_t n);

#endif
