/*
 * http_proxy.h: which address a request comes from.
 *
 * Behind a load balancer the TCP peer is the balancer, so the rate limiter,
 * the audit log's ip_address and the logs would all see one address.
 * AGENTIDP_TRUSTED_PROXIES lists the proxies (IPs or CIDRs) whose
 * X-Forwarded-For header is believed. Only when the peer is one of them is
 * the header read, right to left: each proxy appends the address it saw, so
 * the right-most entry that is not a trusted proxy is the client. Entries to
 * its left were written by the client and are never believed. From any
 * other peer the header is ignored, so nobody can pick their own address.
 *
 * An entry that is not an address (a name, "unknown", a zone id, garbage)
 * ends the walk: the last trusted address reached is used, never an error.
 * Entries may be an IPv4 or IPv6 address, "[v6]", or either with ":port".
 * IPv4-mapped IPv6 addresses count as IPv4.
 */
#ifndef AGENTIDP_HTTP_PROXY_H
#define AGENTIDP_HTTP_PROXY_H

#include <stddef.h>

struct proxy_net {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address, host bits zero */
	int prefix;             /* 0..32 or 0..128 */
};

struct proxy_list {
	struct proxy_net *nets;
	size_t n;
};

/*
 * Parse "ip[/prefix], ..." (spaces around entries allowed; NULL or "" is an
 * empty list). Refuses an empty entry, a bad address or prefix, and host
 * bits set under the prefix (10.0.0.1/8 is more likely a typo than a
 * network). Returns 0, or -1 with a malloc'd *err naming the entry.
 */
int proxy_list_parse(const char *spec, struct proxy_list *out, char **err);
void proxy_list_free(struct proxy_list *l);

/* Whether the textual address ip lies in one of the list's networks. */
int proxy_list_contains(const struct proxy_list *l, const char *ip);

/*
 * The client address of a request from peer (textual) carrying xff, the
 * X-Forwarded-For value (several header lines joined by commas; NULL when
 * absent), written as canonical text to out. Pure: no global state.
 */
void proxy_client_address(const struct proxy_list *l, const char *peer, const char *xff, char *out,
						  size_t outlen);

/* Keep the list of AGENTIDP_TRUSTED_PROXIES for proxy_resolve(); -1 with *err. */
int proxy_init(const char *spec, char **err);

/*
 * Replace ip (the TCP peer, textual, size iplen) with the client address
 * per the list given to proxy_init(); conn is the MHD connection whose
 * X-Forwarded-For lines are read. Does nothing when the list is empty.
 */
struct MHD_Connection;
void proxy_resolve(struct MHD_Connection *conn, char *ip, size_t iplen);

#endif
