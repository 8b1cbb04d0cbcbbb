# Who may call which route of the AgentIdP bridge.
#
# Deployments that run OPA load this file with policies/data.json (which puts
# the rules under data.agentidp) and set AGENTIDP_OPA_URL; the bridge then asks
#   POST /v1/data/agentidp/authz/allow  {"input": {"route": "agents.get",
#        "scopes": ["agents:read"], "subject_is_owner": false}}
# Without OPA the bridge evaluates the same data natively (bridge/policy.c).
# Both must decide the same way: policies/cases.json is the table both follow.
#
# Input:
#   route             the bridge's route id
#   scopes            the bearer token's scopes (unknown names are ignored)
#   subject_is_owner  true when the token's subject is the agent the route
#                     acts on (the {id} of /api/v1/agents/{id}/...)
package agentidp.authz

import rego.v1

default allow := false

# Scopes such as admin grant every route the document lists, never an
# unknown one, so a typo in a route id denies.
allow if {
	data.agentidp.routes[input.route]
	some scope in input.scopes
	scope in data.agentidp.implies_all
}

# A route's own scopes grant it on any agent, except on the caller itself
# when the route sets self_denied (agents:write must not edit its own
# capabilities).
allow if {
	rule := data.agentidp.routes[input.route]
	some scope in input.scopes
	scope in rule.scopes
	not owner_denied(rule)
}

# Narrower scopes that grant a route only on the caller's own agent.
allow if {
	input.subject_is_owner == true
	rule := data.agentidp.routes[input.route]
	some scope in input.scopes
	scope in rule.self_scopes
}

owner_denied(rule) if {
	input.subject_is_owner == true
	rule.self_denied == true
}
