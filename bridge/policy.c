/*
 * policy.c - native evaluator of policies/data.json (see policy.h).
 *
 * The document is compiled into bit masks at load time: one bit per known
 * scope, three masks per known route. A decision is then a route lookup and
 * a few AND operations, with no allocation and no shared mutable state.
 */
/* strdup; the bridge's build may already ask for more. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "policy.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The order of these arrays defines the bit and index numbers below. */
const char *const policy_route_ids[] = {
	"agents.list",
	"agents.get",
	"agents.create",
	"agents.update",
	"agents.delete",
	"credentials.list",
	"credentials.create",
	"credentials.rotate",
	"credentials.revoke",
	"audit.list",
	"audit.get",
	"token.introspect",
	"keys.list",
	NULL
};

const char *const policy_scope_names[] = {
	"agents:read",
	"agents:write",
	"credentials:write",
	"tokens:introspect",
	"audit:read",
	"admin",
	NULL
};

#define NROUTES (sizeof(policy_route_ids) / sizeof(policy_route_ids[0]) - 1)
#define NSCOPES (sizeof(policy_scope_names) / sizeof(policy_scope_names[0]) - 1)

typedef uint32_t scope_mask;

_Static_assert(NSCOPES <= 32, "a scope_mask has one bit per known scope");

struct route_rule
{
	scope_mask	scopes;			/* grant on any agent */
	scope_mask	self_scopes;	/* grant when the subject is the target */
	int			self_denied;	/* "scopes" do not apply to the subject itself */
};

struct policy
{
	scope_mask	implies_all;
	struct route_rule routes[NROUTES];
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

/* Index of name in a NULL-terminated table, or -1. */
static int
lookup(const char *const *table, const char *name)
{
	for (int i = 0; table[i] != NULL; i++)
		if (strcmp(table[i], name) == 0)
			return i;
	return -1;
}

/*
 * Refuse every key of obj not in the NULL-terminated allowed list and require
 * each of them: a misspelt key would otherwise be silently ignored and change
 * a decision without anyone noticing.
 */
static int
check_keys(json_t *obj, const char *const *allowed, const char *where,
		   char **err)
{
	const char *key;
	json_t	   *val;

	json_object_foreach(obj, key, val)
	{
		if (lookup(allowed, key) < 0)
		{
			set_err(err, "%s: unknown field \"%s\"", where, key);
			return -1;
		}
	}
	for (int i = 0; allowed[i] != NULL; i++)
	{
		if (json_object_get(obj, allowed[i]) == NULL)
		{
			set_err(err, "%s: missing field \"%s\"", where, allowed[i]);
			return -1;
		}
	}
	return 0;
}

/* Turn a JSON array of scope names into a mask. */
static int
parse_scopes(const json_t *arr, const char *where, scope_mask *out, char **err)
{
	size_t		i;
	json_t	   *item;
	scope_mask	mask = 0;

	if (!json_is_array(arr))
	{
		set_err(err, "%s: must be an array of scope names", where);
		return -1;
	}
	json_array_foreach(arr, i, item)
	{
		int			bit;

		if (!json_is_string(item))
		{
			set_err(err, "%s[%zu]: must be a string", where, i);
			return -1;
		}
		bit = lookup(policy_scope_names, json_string_value(item));
		if (bit < 0)
		{
			set_err(err, "%s[%zu]: unknown scope \"%s\"", where, i,
					json_string_value(item));
			return -1;
		}
		if (mask & (1u << bit))
		{
			set_err(err, "%s[%zu]: scope \"%s\" listed twice", where, i,
					json_string_value(item));
			return -1;
		}
		mask |= 1u << bit;
	}
	*out = mask;
	return 0;
}

/* Compile one route object into its rule. */
static int
parse_route(const char *id, json_t *obj, struct route_rule *rule,
			char **err)
{
	static const char *const fields[] = {"scopes", "self_scopes", "self_denied", NULL};
	char		where[128];
	json_t	   *denied;

	snprintf(where, sizeof(where), "agentidp.routes.%s", id);
	if (!json_is_object(obj))
	{
		set_err(err, "%s: must be an object", where);
		return -1;
	}
	if (check_keys(obj, fields, where, err) < 0)
		return -1;

	snprintf(where, sizeof(where), "agentidp.routes.%s.scopes", id);
	if (parse_scopes(json_object_get(obj, "scopes"), where, &rule->scopes, err) < 0)
		return -1;
	snprintf(where, sizeof(where), "agentidp.routes.%s.self_scopes", id);
	if (parse_scopes(json_object_get(obj, "self_scopes"), where,
					 &rule->self_scopes, err) < 0)
		return -1;

	denied = json_object_get(obj, "self_denied");
	if (!json_is_boolean(denied))
	{
		set_err(err, "agentidp.routes.%s.self_denied: must be true or false", id);
		return -1;
	}
	rule->self_denied = json_is_true(denied);
	return 0;
}

/* Load, validate and compile the data document at path. */
policy *
policy_load(const char *path, char **err)
{
	static const char *const top_fields[] = {"agentidp", NULL};
	static const char *const doc_fields[] = {"implies_all", "routes", NULL};
	json_error_t jerr;
	json_t	   *root = NULL;
	json_t	   *doc;
	json_t	   *routes;
	json_t	   *val;
	const char *key;
	policy	   *p = NULL;
	int			seen[NROUTES] = {0};

	if (err != NULL)
		*err = NULL;
	if (path == NULL)
	{
		set_err(err, "no policy file given");
		goto fail;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		if (jerr.line > 0)
			set_err(err, "%s: line %d, column %d: %s", path, jerr.line,
					jerr.column, jerr.text);
		else
			set_err(err, "%s: %s", path, jerr.text);
		goto fail;
	}
	if (!json_is_object(root))
	{
		set_err(err, "%s: the document must be a JSON object", path);
		goto fail;
	}
	if (check_keys(root, top_fields, "document", err) < 0)
		goto fail;
	doc = json_object_get(root, "agentidp");
	if (!json_is_object(doc))
	{
		set_err(err, "agentidp: must be an object");
		goto fail;
	}
	if (check_keys(doc, doc_fields, "agentidp", err) < 0)
		goto fail;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
	{
		set_err(err, "out of memory");
		goto fail;
	}
	if (parse_scopes(json_object_get(doc, "implies_all"), "agentidp.implies_all",
					 &p->implies_all, err) < 0)
		goto fail;

	routes = json_object_get(doc, "routes");
	if (!json_is_object(routes))
	{
		set_err(err, "agentidp.routes: must be an object");
		goto fail;
	}
	json_object_foreach(routes, key, val)
	{
		int			idx = lookup(policy_route_ids, key);

		if (idx < 0)
		{
			set_err(err, "agentidp.routes: unknown route \"%s\"", key);
			goto fail;
		}
		if (parse_route(key, val, &p->routes[idx], err) < 0)
			goto fail;
		seen[idx] = 1;
	}
	/* A route left out would deny silently; say so at load time instead. */
	for (size_t i = 0; i < NROUTES; i++)
	{
		if (!seen[i])
		{
			set_err(err, "agentidp.routes: route \"%s\" is missing",
					policy_route_ids[i]);
			goto fail;
		}
	}

	json_decref(root);
	return p;

fail:
	free(p);
	json_decref(root);
	return NULL;
}

/* Free a loaded policy. */
void
policy_free(policy *p)
{
	free(p);
}

/* Decide one request; see policy.h for the rule. */
int
policy_allow(const policy *p, const char *route_id,
			 const char *const *scopes, size_t nscopes,
			 int subject_is_owner, const char **reason)
{
	const struct route_rule *rule;
	scope_mask	held = 0;
	int			idx;
	const char *why;
	int			allow = 0;

	if (p == NULL)
	{
		why = "no policy loaded";
		goto done;
	}
	idx = route_id != NULL ? lookup(policy_route_ids, route_id) : -1;
	if (idx < 0)
	{
		why = "unknown route";
		goto done;
	}
	rule = &p->routes[idx];

	for (size_t i = 0; i < nscopes; i++)
	{
		int			bit;

		if (scopes == NULL || scopes[i] == NULL)
			continue;
		bit = lookup(policy_scope_names, scopes[i]);
		if (bit >= 0)
			held |= 1u << bit;
	}
	if (held == 0)
	{
		why = "the token carries no known scope";
		goto done;
	}

	if (held & p->implies_all)
	{
		why = "granted by a scope that implies every route";
		allow = 1;
	}
	else if (subject_is_owner && (held & rule->self_scopes))
	{
		why = "granted to an agent acting on itself";
		allow = 1;
	}
	else if (held & rule->scopes)
	{
		if (subject_is_owner && rule->self_denied)
			why = "this route's scope does not let an agent act on itself";
		else
		{
			why = "granted by the route's scope";
			allow = 1;
		}
	}
	else
		why = "no scope of the token grants this route";

done:
	if (reason != NULL)
		*reason = why;
	return allow;
}
