/*
 * policy_opa.c - ask an OPA server for the decision (see policy.h).
 *
 * libcurl is not available here, so this is a deliberately small HTTP/1.1
 * client: http:// only, one connection per decision with "Connection:
 * close", a single deadline covering connect, send and receive, a bounded
 * response size, and Content-Length or chunked bodies. Every failure denies.
 */
/* getaddrinfo, clock_gettime; the bridge's build may already ask for more. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "policy.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define OPA_DECISION_PATH "/v1/data/agentidp/authz/allow"

/* OPA answers {"result": true}; anything near this size is not a decision. */
#define OPA_MAX_RESPONSE 65536

struct policy_opa
{
	char	   *host;			/* without brackets, for getaddrinfo */
	char	   *host_header;	/* as written in the URL, for Host: */
	char		port[8];
	char	   *path;			/* prefix + OPA_DECISION_PATH */
	int			timeout_ms;
};

/*
 * Store a formatted, malloc'd message in *err (when err is not NULL). The
 * messages name a path or a field at most, so a fixed buffer is enough;
 * a longer one is cut rather than lost.
 */
static void set_err(char **err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

static void
set_err(char **err, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*err = strdup(buf);
}

/* malloc'd copy of n bytes of s. */
static char *
dup_n(const char *s, size_t n)
{
	char	   *d = malloc(n + 1);

	if (d != NULL)
	{
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Parse and keep an http:// URL of an OPA server. */
policy_opa *
policy_opa_new(const char *url, int timeout_ms, char **err)
{
	policy_opa *o = NULL;
	const char *p;
	const char *hostport_end;
	const char *host_start;
	const char *host_end;
	const char *port_start = NULL;
	size_t		prefix_len;

	if (err != NULL)
		*err = NULL;
	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
	{
		set_err(err, "OPA URL must start with http:// (https is not supported)");
		goto fail;
	}
	if (timeout_ms < 1 || timeout_ms > 60000)
	{
		set_err(err, "OPA timeout must be between 1 and 60000 ms");
		goto fail;
	}
	p = url + 7;
	hostport_end = p + strcspn(p, "/?#");
	if (*hostport_end == '?' || *hostport_end == '#' ||
		strpbrk(hostport_end, "?#") != NULL)
	{
		set_err(err, "OPA URL must not have a query or fragment");
		goto fail;
	}
	if (memchr(p, '@', (size_t) (hostport_end - p)) != NULL)
	{
		set_err(err, "OPA URL must not carry credentials");
		goto fail;
	}

	if (*p == '[')
	{
		/* IPv6 literal: [addr]:port */
		host_start = p + 1;
		host_end = memchr(host_start, ']', (size_t) (hostport_end - host_start));
		if (host_end == NULL)
		{
			set_err(err, "OPA URL has an unterminated IPv6 address");
			goto fail;
		}
		if (host_end + 1 < hostport_end)
		{
			if (host_end[1] != ':')
			{
				set_err(err, "OPA URL has garbage after the IPv6 address");
				goto fail;
			}
			port_start = host_end + 2;
		}
	}
	else
	{
		host_start = p;
		host_end = memchr(p, ':', (size_t) (hostport_end - p));
		if (host_end != NULL)
			port_start = host_end + 1;
		else
			host_end = hostport_end;
	}
	if (host_end == host_start)
	{
		set_err(err, "OPA URL has no host");
		goto fail;
	}

	o = calloc(1, sizeof(*o));
	if (o == NULL)
	{
		set_err(err, "out of memory");
		goto fail;
	}
	o->timeout_ms = timeout_ms;

	if (port_start != NULL)
	{
		size_t		n = (size_t) (hostport_end - port_start);
		long		port = 0;

		if (n == 0 || n > 5)
		{
			set_err(err, "OPA URL has a bad port");
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
		{
			if (port_start[i] < '0' || port_start[i] > '9')
			{
				set_err(err, "OPA URL has a bad port");
				goto fail;
			}
			port = port * 10 + (port_start[i] - '0');
		}
		if (port < 1 || port > 65535)
		{
			set_err(err, "OPA URL port must be between 1 and 65535");
			goto fail;
		}
		snprintf(o->port, sizeof(o->port), "%ld", port);
	}
	else
		snprintf(o->port, sizeof(o->port), "80");

	o->host = dup_n(host_start, (size_t) (host_end - host_start));
	o->host_header = dup_n(p, (size_t) (hostport_end - p));

	/* Keep a path prefix (OPA behind a reverse proxy), minus trailing '/'. */
	prefix_len = strlen(hostport_end);
	while (prefix_len > 0 && hostport_end[prefix_len - 1] == '/')
		prefix_len--;
	o->path = malloc(prefix_len + sizeof(OPA_DECISION_PATH));
	if (o->host == NULL || o->host_header == NULL || o->path == NULL)
	{
		set_err(err, "out of memory");
		goto fail;
	}
	memcpy(o->path, hostport_end, prefix_len);
	memcpy(o->path + prefix_len, OPA_DECISION_PATH, sizeof(OPA_DECISION_PATH));
	return o;

fail:
	policy_opa_free(o);
	return NULL;
}

/* Free a client. */
void
policy_opa_free(policy_opa *o)
{
	if (o == NULL)
		return;
	free(o->host);
	free(o->host_header);
	free(o->path);
	free(o);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes: 1, 0 timeout, -1. */
static int
wait_fd(int fd, short events, long long deadline)
{
	for (;;)
	{
		struct pollfd pfd = {.fd = fd,.events = events};
		long long	left = deadline - now_ms();
		int			rc;

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int) left);
		if (rc > 0)
			return 1;
		if (rc == 0)
			continue;			/* re-check the deadline */
		if (errno != EINTR)
			return -1;
	}
}

/*
 * Connect to the first address of host:port that answers before the
 * deadline. Returns a non-blocking socket, or -1 with *timed_out set when
 * the deadline was the reason.
 */
static int
connect_deadline(const policy_opa *o, long long deadline, int *timed_out)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int			fd = -1;

	*timed_out = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(o->host, o->port, &hints, &res) != 0)
		return -1;

	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		int			soerr = 0;
		socklen_t	len = sizeof(soerr);
		int			rc;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
					ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS)
		{
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0
				&& soerr == 0)
				break;
			if (rc == 0)
				*timed_out = 1;
		}
		close(fd);
		fd = -1;
		if (*timed_out)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

/* Send all of buf before the deadline: 0, or -1. */
static int
send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0)
	{
		ssize_t		n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0)
		{
			buf += n;
			len -= (size_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		{
			if (wait_fd(fd, POLLOUT, deadline) != 1)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Find the end of the header block; returns its length including CRLFCRLF. */
static size_t
header_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' &&
			buf[i] == '\n')
			return i + 1;
	return 0;
}

/*
 * Look up a header's value in the header block (case-insensitive name).
 * Returns a pointer into hdr and its length in *vlen, or NULL.
 */
static const char *
find_header(const char *hdr, size_t hlen, const char *name, size_t *vlen)
{
	size_t		nlen = strlen(name);
	const char *line = memchr(hdr, '\n', hlen);	/* skip the status line */
	const char *end = hdr + hlen;

	while (line != NULL && ++line < end)
	{
		const char *eol = memchr(line, '\n', (size_t) (end - line));

		if (eol == NULL)
			break;
		if ((size_t) (eol - line) > nlen && line[nlen] == ':' &&
			strncasecmp(line, name, nlen) == 0)
		{
			const char *v = line + nlen + 1;
			const char *ve = eol;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t) (ve - v);
			return v;
		}
		line = eol;
	}
	return NULL;
}

/*
 * Decode a chunked body in place. Returns 1 when complete (body length in
 * *out_len), 0 when more bytes are needed, -1 when malformed.
 */
static int
dechunk(char *body, size_t len, size_t *out_len)
{
	size_t		in = 0;
	size_t		out = 0;

	for (;;)
	{
		size_t		size = 0;
		size_t		digits = 0;
		const char *eol;

		eol = memchr(body + in, '\n', len - in);
		if (eol == NULL)
			return 0;
		while (in < len && body[in] != ';' && body[in] != '\r' && body[in] != '\n')
		{
			char		c = body[in];
			int			v;

			if (c >= '0' && c <= '9')
				v = c - '0';
			else if (c >= 'a' && c <= 'f')
				v = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v = c - 'A' + 10;
			else
				return -1;
			if (++digits > 8)
				return -1;
			size = size * 16 + (size_t) v;
			in++;
		}
		if (digits == 0)
			return -1;
		in = (size_t) (eol - body) + 1;
		if (size == 0)
		{
			/* Trailers (ignored) end with an empty line. */
			for (;;)
			{
				eol = memchr(body + in, '\n', len - in);
				if (eol == NULL)
					return 0;
				if (eol == body + in || (eol == body + in + 1 && body[in] == '\r'))
				{
					*out_len = out;
					return 1;
				}
				in = (size_t) (eol - body) + 1;
			}
		}
		if (len - in < size + 2)
			return 0;
		memmove(body + out, body + in, size);
		out += size;
		in += size;
		if (body[in] == '\r')
			in++;
		if (body[in] != '\n')
			return -1;
		in++;
	}
}

/*
 * Is the response in buf complete? 1 yes (status, body and its length set),
 * 0 need more, -1 malformed. With eof set, a body without a length ends here.
 * May decode a chunked body in place, so call it again only on a fresh copy:
 * the caller stops reading as soon as this returns 1.
 */
static int
parse_response(char *buf, size_t len, int eof, int *status, char **body,
			   size_t *body_len)
{
	size_t		hlen = header_end(buf, len);
	const char *v;
	size_t		vlen;

	if (hlen == 0)
		return eof ? -1 : 0;
	if (hlen < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -1;
	if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
		buf[11] < '0' || buf[11] > '9')
		return -1;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	*body = buf + hlen;

	v = find_header(buf, hlen, "Transfer-Encoding", &vlen);
	if (v != NULL)
	{
		char	   *copy;
		size_t		dlen = 0;
		int			rc;

		if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
			return -1;
		/* Decode a copy so a partial body can be retried after more bytes. */
		copy = dup_n(buf + hlen, len - hlen);
		if (copy == NULL)
			return -1;
		rc = dechunk(copy, len - hlen, &dlen);
		if (rc == 1)
		{
			memcpy(buf + hlen, copy, dlen);
			*body_len = dlen;
		}
		free(copy);
		if (rc == 0 && eof)
			return -1;
		return rc;
	}

	v = find_header(buf, hlen, "Content-Length", &vlen);
	if (v != NULL)
	{
		size_t		cl = 0;

		if (vlen == 0 || vlen > 7)
			return -1;
		for (size_t i = 0; i < vlen; i++)
		{
			if (v[i] < '0' || v[i] > '9')
				return -1;
			cl = cl * 10 + (size_t) (v[i] - '0');
		}
		if (len - hlen < cl)
			return eof ? -1 : 0;
		*body_len = cl;
		return 1;
	}

	if (!eof)
		return 0;
	*body_len = len - hlen;
	return 1;
}

/* Build the request: headers and {"input": ...} as one buffer. */
static char *
build_request(const policy_opa *o, const char *route_id,
			  const char *const *scopes, size_t nscopes, int subject_is_owner,
			  size_t *out_len)
{
	json_t	   *doc = NULL;
	json_t	   *arr = NULL;
	char	   *body = NULL;
	char	   *req = NULL;
	int			len;

	arr = json_array();
	if (arr == NULL)
		goto fail;
	for (size_t i = 0; i < nscopes; i++)
	{
		if (scopes == NULL || scopes[i] == NULL)
			continue;
		if (json_array_append_new(arr, json_string(scopes[i])) < 0)
			goto fail;
	}
	doc = json_pack("{s:{s:s,s:O,s:b}}", "input", "route", route_id,
					"scopes", arr, "subject_is_owner", subject_is_owner ? 1 : 0);
	if (doc == NULL)
		goto fail;
	body = json_dumps(doc, JSON_COMPACT);
	if (body == NULL)
		goto fail;

	len = snprintf(NULL, 0,
				   "POST %s HTTP/1.1\r\nHost: %s\r\n"
				   "Content-Type: application/json\r\nAccept: application/json\r\n"
				   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				   o->path, o->host_header, strlen(body), body);
	if (len < 0)
		goto fail;
	req = malloc((size_t) len + 1);
	if (req == NULL)
		goto fail;
	snprintf(req, (size_t) len + 1,
			 "POST %s HTTP/1.1\r\nHost: %s\r\n"
			 "Content-Type: application/json\r\nAccept: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 o->path, o->host_header, strlen(body), body);
	*out_len = (size_t) len;

fail:
	free(body);
	json_decref(doc);
	json_decref(arr);
	return req;
}

/* Ask OPA; see policy.h. */
int
policy_opa_allow(const policy_opa *o, const char *route_id,
				 const char *const *scopes, size_t nscopes,
				 int subject_is_owner, const char **reason)
{
	long long	deadline;
	char	   *req = NULL;
	size_t		req_len = 0;
	char	   *buf = NULL;
	size_t		len = 0;
	int			fd = -1;
	int			timed_out = 0;
	int			status = 0;
	char	   *body = NULL;
	size_t		body_len = 0;
	int			complete = 0;
	json_t	   *answer = NULL;
	json_t	   *result;
	const char *why;
	int			allow = 0;

	if (o == NULL || route_id == NULL)
	{
		why = "no OPA client or route";
		goto done;
	}
	deadline = now_ms() + o->timeout_ms;

	req = build_request(o, route_id, scopes, nscopes, subject_is_owner, &req_len);
	buf = malloc(OPA_MAX_RESPONSE + 1);
	if (req == NULL || buf == NULL)
	{
		why = "could not encode the OPA request";
		goto done;
	}

	fd = connect_deadline(o, deadline, &timed_out);
	if (fd < 0)
	{
		why = timed_out ? "OPA did not answer in time" : "OPA is unreachable";
		goto done;
	}
	if (send_all(fd, req, req_len, deadline) < 0)
	{
		why = now_ms() >= deadline ? "OPA did not answer in time"
			: "sending the request to OPA failed";
		goto done;
	}

	while (!complete)
	{
		ssize_t		n;
		int			rc;

		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 1)
		{
			why = rc == 0 ? "OPA did not answer in time" : "reading from OPA failed";
			goto done;
		}
		n = recv(fd, buf + len, OPA_MAX_RESPONSE - len, 0);
		if (n < 0)
		{
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			why = "reading from OPA failed";
			goto done;
		}
		len += (size_t) n;
		rc = parse_response(buf, len, n == 0, &status, &body, &body_len);
		if (rc < 0)
		{
			why = "OPA sent a malformed HTTP response";
			goto done;
		}
		complete = rc == 1;
		if (!complete && len == OPA_MAX_RESPONSE)
		{
			why = "OPA's response is too large";
			goto done;
		}
	}

	if (status != 200)
	{
		why = "OPA answered with an error status";
		goto done;
	}
	answer = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(answer))
	{
		why = "OPA's answer is not a JSON object";
		goto done;
	}
	result = json_object_get(answer, "result");
	if (result == NULL)
		why = "OPA has no decision (is the policy loaded?)";
	else if (json_is_true(result))
	{
		why = "allowed by OPA";
		allow = 1;
	}
	else if (json_is_false(result))
		why = "denied by OPA";
	else
		why = "OPA's decision is not a boolean";

done:
	if (fd >= 0)
		close(fd);
	json_decref(answer);
	free(buf);
	free(req);
	if (reason != NULL)
		*reason = why;
	return allow;
}
