/*
 * fuzz_common.h: helpers shared by the libFuzzer targets.
 *
 * The targets link the bridge's and the extension's real source files; the
 * only seam is req_header(), which the bridge reads from libmicrohttpd. The
 * targets that need it are linked with -Wl,--wrap=req_header so that calls
 * from the other object files land in __wrap_req_header below, which
 * answers from a header table the fuzz input fills.
 */
#ifndef AGENTIDP_FUZZ_COMMON_H
#define AGENTIDP_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of data[0..len), so targets can use C strings. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/*
 * Split the input at the first occurrence of byte sep: *a gets the part
 * before (NUL-terminated copy), *b the rest. Without sep, *a is everything
 * and *b is empty.
 */
static inline void
fuzz_split(const uint8_t *data, size_t len, uint8_t sep, char **a, size_t *alen, char **b,
		   size_t *blen)
{
	const uint8_t *p = memchr(data, sep, len);
	size_t n = p ? (size_t)(p - data) : len;

	*a = fuzz_strndup(data, n);
	*alen = n;
	if (p) {
		*b = fuzz_strndup(p + 1, len - n - 1);
		*blen = len - n - 1;
	} else {
		*b = fuzz_strndup(data, 0);
		*blen = 0;
	}
}

#endif
