/*
 * policy.h - who may call which route of the bridge.
 *
 * The decision is made over three inputs:
 *   route             the bridge's route id ("agents.get", see the list below)
 *   scopes            the scopes of the caller's bearer token (its "scope"
 *                     claim split on spaces); unknown names are ignored
 *   subject_is_owner  1 when the token's subject (`sub`, an agent id) is the
 *                     agent the route acts on, i.e. the {id} in
 *                     /api/v1/agents/{id}[/credentials[/{credId}[/rotate]]];
 *                     0 for routes without an agent in the path
 *                     (agents.list, agents.create, audit.*, token.introspect,
 *                     keys.list).
 *                     This is not the agents.owner column (a team name).
 *
 * and one data document, policies/data.json (AGENTIDP_POLICY_FILE), the single
 * source of truth for the decision. Its shape:
 *
 *   {"agentidp": {
 *      "implies_all": ["admin"],           scopes that grant every known route
 *      "routes": {
 *        "<route id>": {
 *          "scopes":      [...],   any of these grants the route on any agent
 *          "self_scopes": [...],   any of these grants it only when
 *                                  subject_is_owner
 *          "self_denied": bool     when true and subject_is_owner, "scopes"
 *                                  do not grant (only implies_all and
 *                                  self_scopes do): an agent holding
 *                                  agents:write must not edit its own
 *                                  capabilities, which would let it mint
 *                                  itself an admin token
 *        }, ... every route id below, no other ...}}}
 *
 * The decision, identical to policies/authz.rego (package agentidp.authz):
 *   allow = route is listed
 *           and (  some scope in implies_all
 *               or (some scope in route.scopes
 *                   and not (subject_is_owner and route.self_denied))
 *               or (subject_is_owner and some scope in route.self_scopes))
 * No scopes, or an unknown route, is always a denial.
 *
 * Route ids: agents.list agents.get agents.create agents.update agents.delete
 * credentials.list credentials.create credentials.rotate credentials.revoke
 * audit.list audit.get token.introspect keys.list.
 * Scope names: agents:read agents:write credentials:write tokens:introspect
 * audit:read admin.
 *
 * Thread safety: a loaded policy is immutable, so any number of threads may
 * call policy_allow() on it at once. Reloading (SIGHUP) means loading a new
 * policy and swapping the pointer; the old one may be freed only once no
 * thread still reads it (the caller's job, e.g. a read-write lock or a
 * reference count). A failed load leaves nothing behind, so the caller keeps
 * serving with the previous policy.
 */
#ifndef AGENTIDP_POLICY_H
#define AGENTIDP_POLICY_H

#include <stddef.h>

typedef struct policy policy;

/*
 * Load and validate the data document at path. On failure returns NULL and,
 * when err is not NULL, a malloc'd message the caller frees: missing or
 * unreadable file, invalid JSON or a duplicate key, an unknown or missing
 * field, a value of the wrong type, an unknown route or scope name, a route
 * missing from the document, or a scope listed twice in one array.
 */
policy *policy_load(const char *path, char **err);

/* Free a policy from policy_load(); NULL is allowed. */
void policy_free(policy *p);

/*
 * Decide whether a caller may use route_id. Returns 1 to allow, 0 to deny
 * (also for a NULL policy or route). When reason is not NULL it receives a
 * static string saying why, fit for a log line or an error_description.
 */
int policy_allow(const policy *p, const char *route_id,
				 const char *const *scopes, size_t nscopes,
				 int subject_is_owner, const char **reason);

/* The route ids and scope names the evaluator knows, NULL-terminated. */
extern const char *const policy_route_ids[];
extern const char *const policy_scope_names[];

/*
 * OPA client (policy_opa.c), used instead of policy_allow() when
 * AGENTIDP_OPA_URL is set. It asks OPA's data API
 *   POST <url>/v1/data/agentidp/authz/allow  {"input": {"route": ...,
 *        "scopes": [...], "subject_is_owner": true|false}}
 * and allows only on HTTP 200 with {"result": true}. Everything else (refused
 * or timed-out connection, another status, a body that is not that JSON, an
 * undefined result) is a denial: the client fails closed. Only http:// URLs
 * (host[:port][/prefix]); each decision opens its own connection, so the
 * client has no mutable state and is safe to share between threads.
 */
typedef struct policy_opa policy_opa;

/* Deadline for one OPA decision (connect, send and receive together). */
#define POLICY_OPA_DEFAULT_TIMEOUT_MS 2000

/*
 * Parse url ("http://host[:port][/prefix]", port 80 by default) and keep it.
 * Does not connect. Returns NULL with a malloc'd *err for anything else
 * (https, credentials in the URL, a query or fragment, a bad port, a
 * timeout_ms outside 1..60000).
 */
policy_opa *policy_opa_new(const char *url, int timeout_ms, char **err);

/* Free a client from policy_opa_new(); NULL is allowed. */
void policy_opa_free(policy_opa *o);

/* Same contract as policy_allow(), decided by the OPA server. */
int policy_opa_allow(const policy_opa *o, const char *route_id,
					 const char *const *scopes, size_t nscopes,
					 int subject_is_owner, const char **reason);

#endif							/* AGENTIDP_POLICY_H */
