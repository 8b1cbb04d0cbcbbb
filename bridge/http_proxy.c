/* http_proxy.c: trusted proxies and X-Forwarded-For (see http_proxy.h). */
#include "http_proxy.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Longer than any textual address with brackets and a port: anything longer is junk. */
#define MAX_ENTRY 64

/* The AGENTIDP_TRUSTED_PROXIES list, set once at start and read-only afterwards. */
static struct proxy_list trusted;

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse exactly one plain IPv4 or IPv6 address of len bytes; mapped IPv6 becomes IPv4. */
static int
parse_plain(const char *s, size_t len, int *family, unsigned char addr[16])
{
	char buf[MAX_ENTRY];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		if (memcmp(addr, v4_mapped_prefix, 12) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
		}
		return 0;
	}
	return -1;
}

static int
all_digits(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * One X-Forwarded-For entry: "v4", "v4:port", "v6", "[v6]" or "[v6]:port"
 * (proxies differ in whether they add the port).
 */
static int
parse_entry(const char *s, size_t len, int *family, unsigned char addr[16])
{
	const char *colon;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t rest;

		if (close == NULL)
			return -1;
		rest = len - (size_t)(close + 1 - s);
		if (rest != 0 && (close[1] != ':' || !all_digits(close + 2, rest - 1)))
			return -1;
		if (parse_plain(s + 1, (size_t)(close - s - 1), family, addr) != 0)
			return -1;
		/* Brackets are for IPv6 only; a bracketed IPv4 is not an address form. */
		return memchr(s + 1, ':', (size_t)(close - s - 1)) != NULL ? 0 : -1;
	}
	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL) {
		/* Exactly one colon: an IPv4 address with a port. */
		if (!all_digits(colon + 1, len - (size_t)(colon + 1 - s)))
			return -1;
		if (parse_plain(s, (size_t)(colon - s), family, addr) != 0 || *family != AF_INET)
			return -1;
		return memchr(s, '.', (size_t)(colon - s)) != NULL ? 0 : -1;
	}
	return parse_plain(s, len, family, addr);
}

static int
net_contains(const struct proxy_net *n, int family, const unsigned char addr[16])
{
	int full = n->prefix / 8, bits = n->prefix % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, (size_t)full) != 0)
		return 0;
	if (bits == 0)
		return 1;
	return ((n->addr[full] ^ addr[full]) & (unsigned char)(0xff << (8 - bits))) == 0;
}

static int
list_contains(const struct proxy_list *l, int family, const unsigned char addr[16])
{
	for (size_t i = 0; i < l->n; i++)
		if (net_contains(&l->nets[i], family, addr))
			return 1;
	return 0;
}

static void
set_err(char **err, const char *what, const char *entry, size_t len)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "AGENTIDP_TRUSTED_PROXIES: %s: \"%.*s\"", what,
			 (int)(len > 80 ? 80 : len), entry);
	*err = strdup(buf);
}

/* One "ip[/prefix]" entry of the setting. */
static int
parse_net(const char *s, size_t len, struct proxy_net *n, char **err)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	int max;

	if (parse_plain(s, alen, &n->family, n->addr) != 0) {
		set_err(err, "not an IP address or CIDR", s, len);
		return -1;
	}
	max = n->family == AF_INET ? 32 : 128;
	n->prefix = max;
	if (slash != NULL) {
		size_t plen = len - alen - 1;
		long p = 0;

		if (plen == 0 || plen > 3 || !all_digits(slash + 1, plen)) {
			set_err(err, "bad prefix length", s, len);
			return -1;
		}
		for (size_t i = 0; i < plen; i++)
			p = p * 10 + (slash[1 + i] - '0');
		/* A mapped IPv6 network was turned into IPv4: its prefix loses 96 bits. */
		if (n->family == AF_INET && memchr(s, ':', alen) != NULL)
			p -= 96;
		if (p < 0 || p > max) {
			set_err(err, "bad prefix length", s, len);
			return -1;
		}
		n->prefix = (int)p;
	}
	for (int b = n->prefix; b < max; b++) {
		if (n->addr[b / 8] & (0x80 >> (b % 8))) {
			set_err(err, "address has bits set beyond the prefix length", s, len);
			return -1;
		}
	}
	return 0;
}

int
proxy_list_parse(const char *spec, struct proxy_list *out, char **err)
{
	const char *p = spec;

	out->nets = NULL;
	out->n = 0;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	for (;;) {
		const char *end = strchr(p, ',');
		const char *stop = end ? end : p + strlen(p);
		const char *a = p, *b = stop;
		struct proxy_net *grown;

		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		if (a == b) {
			set_err(err, "empty entry", spec, strlen(spec));
			goto fail;
		}
		grown = realloc(out->nets, (out->n + 1) * sizeof(*grown));
		if (grown == NULL) {
			*err = strdup("AGENTIDP_TRUSTED_PROXIES: out of memory");
			goto fail;
		}
		out->nets = grown;
		if (parse_net(a, (size_t)(b - a), &out->nets[out->n], err) != 0)
			goto fail;
		out->n++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
fail:
	proxy_list_free(out);
	return -1;
}

void
proxy_list_free(struct proxy_list *l)
{
	free(l->nets);
	l->nets = NULL;
	l->n = 0;
}

int
proxy_list_contains(const struct proxy_list *l, const char *ip)
{
	int family;
	unsigned char addr[16];

	if (ip == NULL || parse_plain(ip, strlen(ip), &family, addr) != 0)
		return 0;
	return list_contains(l, family, addr);
}

static void
format_addr(int family, const unsigned char addr[16], char *out, size_t outlen)
{
	if (inet_ntop(family, addr, out, (socklen_t)outlen) == NULL && outlen > 0)
		out[0] = '\0';
}

void
proxy_client_address(const struct proxy_list *l, const char *peer, const char *xff, char *out,
					 size_t outlen)
{
	int family;
	unsigned char addr[16];
	const char *end;

	snprintf(out, outlen, "%s", peer);
	if (l->n == 0 || xff == NULL || parse_plain(peer, strlen(peer), &family, addr) != 0 ||
		!list_contains(l, family, addr))
		return;
	/* The peer itself, as canonical text (a mapped IPv6 peer reads as IPv4). */
	format_addr(family, addr, out, outlen);
	end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end;
		const char *a, *b = end;

		while (start > xff && start[-1] != ',')
			start--;
		a = start;
		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		end = start > xff ? start - 1 : xff;
		if (a == b)
			continue; /* an empty list element (RFC 9110 §5.6.1) */
		if (parse_entry(a, (size_t)(b - a), &family, addr) != 0)
			return; /* not an address: keep the last trusted hop */
		format_addr(family, addr, out, outlen);
		if (!list_contains(l, family, addr))
			return; /* the first hop no trusted proxy vouches for */
	}
}

int
proxy_init(const char *spec, char **err)
{
	return proxy_list_parse(spec, &trusted, err);
}

struct xff_collect {
	char *text;
	size_t len;
	int failed;
};

/* Join every X-Forwarded-For line in order, as RFC 9110 §5.3 reads repeated fields. */
static enum MHD_Result
collect_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct xff_collect *c = cls;
	size_t vlen;
	char *grown;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	vlen = strlen(value);
	grown = realloc(c->text, c->len + vlen + 2);
	if (grown == NULL) {
		c->failed = 1;
		return MHD_NO;
	}
	c->text = grown;
	if (c->len > 0)
		c->text[c->len++] = ',';
	memcpy(c->text + c->len, value, vlen + 1);
	c->len += vlen;
	return MHD_YES;
}

void
proxy_resolve(struct MHD_Connection *conn, char *ip, size_t iplen)
{
	struct xff_collect c = {NULL, 0, 0};
	char peer[64];

	/* The common case costs one comparison; the header is read only from a trusted peer. */
	if (trusted.n == 0 || !proxy_list_contains(&trusted, ip))
		return;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_xff, &c);
	snprintf(peer, sizeof(peer), "%s", ip);
	/* Out of memory: the proxy's own address is still a true answer. */
	proxy_client_address(&trusted, peer, c.failed ? NULL : c.text, ip, iplen);
	free(c.text);
}
