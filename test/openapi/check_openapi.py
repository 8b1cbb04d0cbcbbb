#!/usr/bin/env python3
"""Checks of bridge/openapi.yaml beyond what a linter knows: the promises
the API makes in DESIGN.md and issue 3, and its agreement with the policy.

    check_openapi.py BUNDLED.json policies/data.json

BUNDLED.json is the document dereferenced by `redocly bundle --dereferenced`
(so this script needs no YAML parser). Prints "ok"/"not ok" lines and
"check_openapi: N passed, M failed".
"""
import json
import re
import sys

passed = 0
failed = 0

# Routes without a policy decision: OAuth client authentication, public
# discovery and operations endpoints.
UNPOLICED_ROUTES = {"token", "token.revoke", "jwks", "oauth.metadata", "health", "metrics", "dashboard"}
# Probes, scrapes and static files are not rate-limited (bridge/routes.c).
NOT_RATE_LIMITED = {"health", "metrics", "dashboard"}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# Schemas whose field names are fixed by an RFC, not by our camelCase rule.
RFC_SCHEMAS = {"TokenRequest", "TokenResponse", "IntrospectionRequest", "IntrospectionResponse",
               "RevocationRequest", "AuthorizationServerMetadata", "Jwks", "Error", "OAuthError"}


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok" if ok else "not ok") + " - " + what + (": " + detail if detail and not ok else ""))


def operations(doc):
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "delete", "patch", "head", "options"):
            if method in item:
                yield path, method, item[method]


def object_schemas(schema):
    """The object schemas a (dereferenced) schema is made of."""
    if "allOf" in schema:
        for s in schema["allOf"]:
            yield from object_schemas(s)
    elif schema.get("type") == "object" or "properties" in schema:
        yield schema


def main():
    doc = json.load(open(sys.argv[1]))
    data = json.load(open(sys.argv[2]))
    policy_routes = set(data["agentidp"]["routes"])

    check(doc.get("openapi") == "3.0.3", "the document is OpenAPI 3.0.3")
    schemes = doc["components"]["securitySchemes"]
    check(schemes.get("bearerAuth", {}).get("scheme") == "bearer"
          and schemes["bearerAuth"].get("bearerFormat") == "JWT", "bearer JWT security scheme")
    check(schemes.get("clientSecretBasic", {}).get("scheme") == "basic", "client_secret_basic security scheme")

    expected = {
        ("/api/v1/token", "post"), ("/api/v1/token/introspect", "post"), ("/api/v1/token/revoke", "post"),
        ("/api/v1/agents", "get"), ("/api/v1/agents", "post"),
        ("/api/v1/agents/{id}", "get"), ("/api/v1/agents/{id}", "patch"), ("/api/v1/agents/{id}", "delete"),
        ("/api/v1/agents/{id}/credentials", "get"), ("/api/v1/agents/{id}/credentials", "post"),
        ("/api/v1/agents/{id}/credentials/{credId}", "delete"),
        ("/api/v1/agents/{id}/credentials/{credId}/rotate", "post"),
        ("/api/v1/audit", "get"), ("/api/v1/audit/{id}", "get"), ("/api/v1/keys", "get"),
        ("/.well-known/jwks.json", "get"), ("/.well-known/oauth-authorization-server", "get"),
        ("/health", "get"), ("/metrics", "get"), ("/dashboard", "get"),
    }
    present = {(p, m) for p, m, _ in operations(doc)}
    check(expected <= present, "every route of issue 3 is described",
          "missing " + str(sorted(expected - present)))

    seen_policy_routes = {}
    for path, method, op in operations(doc):
        name = "%s %s" % (method.upper(), path)
        responses = op["responses"]
        codes = set(responses)
        route = op.get("x-agentidp-route")
        check(route in policy_routes | UNPOLICED_ROUTES,
              "%s names a known route id in x-agentidp-route" % name, str(route))
        if route in policy_routes:
            seen_policy_routes.setdefault(route, []).append(name)
        security = op.get("security")
        check(security is not None, "%s states its security" % name)
        security = security or []
        bearer = any("bearerAuth" in s for s in security)
        client = any("clientSecretBasic" in s for s in security)
        if route in policy_routes:
            check(bearer, "%s (policy route %s) takes a bearer token" % (name, route))
            check({"401", "403"} <= codes, "%s can answer 401 and 403" % name)
        if client:
            check("401" in codes, "%s answers a failed client authentication with 401" % name)
        if bearer or client:
            www = responses.get("401", {}).get("headers", {})
            check(any(h.lower() == "www-authenticate" for h in www),
                  "%s's 401 carries WWW-Authenticate" % name)
        if route in NOT_RATE_LIMITED:
            check("429" not in codes, "%s is not rate-limited" % name)
        else:
            check("429" in codes and any(h.lower() == "retry-after" for h in responses["429"].get("headers", {})),
                  "%s can answer 429 with Retry-After" % name)
        if "{" in path and route not in ("dashboard",):
            check({"400", "404"} <= codes, "%s answers 400 for a malformed id and 404 for an unknown one" % name)
        if route in ("agents.create", "credentials.create"):
            check("201" in codes, "%s answers 201" % name)
        if method == "delete":
            check("200" in codes or "204" in codes, "%s answers 200 or 204" % name)
        if path.startswith("/api/"):
            check("503" in codes, "%s can answer 503" % name)

        body = op.get("requestBody")
        if body:
            check("413" in codes, "%s can answer 413" % name)
            if "application/json" in body["content"]:
                check("415" in codes, "%s answers a wrong Content-Type with 415" % name)
            else:
                # RFC 6749 §5.2: a malformed OAuth request is invalid_request (400).
                check("415" not in codes and "400" in codes,
                      "%s answers a wrong Content-Type with 400 invalid_request" % name)
            for media, content in body["content"].items():
                for s in object_schemas(content["schema"]):
                    check(s.get("additionalProperties") is False,
                          "%s request body (%s) has additionalProperties: false" % (name, media))

        # Error responses carry the error body (/health's 503 is its report).
        for code, resp in responses.items():
            if route == "health":
                continue
            if code.startswith(("4", "5")) and "content" in resp and "application/json" in resp["content"]:
                props = resp["content"]["application/json"]["schema"].get("properties", {})
                check({"error", "error_description", "detail", "hint"} <= set(props)
                      and {"error", "error_description"} <= set(resp["content"]["application/json"]["schema"].get("required", [])),
                      "%s %s has the error body" % (name, code))

        # OAuth endpoints use RFC 6749 codes in their 400/401 answers.
        if path.startswith("/api/v1/token"):
            for code in ("400", "401"):
                enum = responses[code]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
                allowed = {"invalid_request", "invalid_client", "invalid_grant", "invalid_scope",
                           "unauthorized_client", "unsupported_grant_type", "unsupported_token_type"}
                if route == "token.introspect" and code == "401":
                    allowed.add("unauthorized")  # a bad bearer token (RFC 6750 caller)
                check(set(enum) <= allowed, "%s %s uses RFC 6749 error codes" % (name, code), str(enum))

    for route in sorted(policy_routes):
        ops = seen_policy_routes.get(route, [])
        check(len(ops) == 1, "policy route %s is exactly one operation" % route, str(ops))

    # Resource fields are camelCase.
    for sname, schema in doc["components"]["schemas"].items():
        if sname in RFC_SCHEMAS:
            continue
        for s in object_schemas(schema):
            bad = [p for p in s.get("properties", {}) if not CAMEL.match(p)]
            check(not bad, "schema %s has camelCase fields" % sname, str(bad))

    # The fields issue 3 and DESIGN.md promise.
    sch = doc["components"]["schemas"]

    def fields(name):
        out = set()
        for s in object_schemas(sch[name]):
            out |= set(s.get("properties", {}))
        return out
    check(fields("Agent") == {"id", "name", "description", "owner", "capabilities", "metadata", "status",
                              "createdAt", "updatedAt"}, "Agent has exactly its fields", str(fields("Agent")))
    check(fields("Credential") == {"id", "agentId", "clientId", "status", "createdAt", "rotatedAt",
                                   "revokedAt", "expiresAt"}, "Credential has exactly its fields (no secret)",
          str(fields("Credential")))
    check(fields("CredentialWithSecret") == fields("Credential") | {"clientSecret"},
          "the create/rotate answer adds clientSecret")
    secret_in = [n for n in sch if n != "CredentialWithSecret" and "clientSecret" in fields(n)]
    check(not secret_in, "clientSecret appears in no other schema", str(secret_in))
    # agentName comes from the extension's audit_log view, beyond the brief's list.
    check(fields("AuditEvent") == {"id", "occurredAt", "agentId", "agentName", "actorAgentId", "dbUser", "action", "outcome",
                                   "ipAddress", "userAgent", "metadata", "chainStream", "chainSeq", "rowHash"},
          "AuditEvent has exactly its fields", str(fields("AuditEvent")))
    check(fields("Pagination") == {"limit", "nextCursor", "hasMore"}, "Pagination is limit/nextCursor/hasMore")
    # The columns of agentidp.signing_keys_info(), camelCased; no key material.
    check(fields("SigningKey") == {"kid", "status", "createdAt", "activatedAt", "retiringAt", "retiredAt",
                                   "publishUntil"}, "SigningKey has exactly its fields", str(fields("SigningKey")))
    for page in ("AgentPage", "AuditPage"):
        check(fields(page) == {"data", "pagination"}, "%s is {data, pagination}" % page)
    params = {p["name"] for p in doc["paths"]["/api/v1/agents"]["get"].get("parameters", [])}
    check(params == {"limit", "cursor", "status", "owner", "search"}, "agent list filters", str(params))
    params = {p["name"] for p in doc["paths"]["/api/v1/audit"]["get"].get("parameters", [])}
    check(params == {"agentId", "action", "outcome", "from", "to", "limit", "cursor"}, "audit list filters",
          str(params))
    scopes = set(sch["Scope"]["enum"])
    check(sch["Agent"]["properties"]["capabilities"]["items"].get("pattern") is not None,
          "capabilities are scope tokens")
    check(scopes == {"agents:read", "agents:write", "credentials:write", "tokens:introspect", "audit:read",
                     "admin"}, "the Scope enum is the six scopes")

    print("check_openapi: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
