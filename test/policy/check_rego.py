#!/usr/bin/env python3
"""Static consistency checks of policies/authz.rego, data.json and cases.json.

OPA cannot be installed here, so OPA never runs this Rego (rego_subset.py
interprets it; see there). What this script proves statically:
  - authz.rego declares package agentidp.authz and `default allow := false`;
  - it reads only input.route, input.scopes and input.subject_is_owner, the
    fields the bridge sends and cases.json uses;
  - every data reference (data.agentidp..., and variables or function
    parameters bound to one) names a field that exists in data.json, with
    `x in REF` pointing at arrays and `REF == true` at booleans;
  - every field of data.json is read by the Rego, so the native evaluator
    cannot depend on something OPA ignores;
  - cases.json covers every route x every scope x owner/non-owner, empty
    scopes, unknown routes, and admin.

Prints "ok"/"not ok" lines and "check_rego: N passed, M failed".
"""
import json
import re
import sys

INPUT_FIELDS = {"route", "scopes", "subject_is_owner"}

passed = 0
failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok" if ok else "not ok") + " - " + what + (": " + detail if detail and not ok else ""))


def strip_comments(text):
    """Drop # comments outside string literals (Rego has no block comments)."""
    out = []
    for line in text.splitlines():
        in_str = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif ch == "#" and not in_str:
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


REF_RE = re.compile(r"\b(data|input|[A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])+)")
STEP_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")


def walk(values, steps):
    """Follow ref steps through data.json values; returns (values, error)."""
    for field, index in steps:
        nxt = []
        for v in values:
            if field is not None:
                if not isinstance(v, dict) or field not in v:
                    return None, "no field %r" % field
                nxt.append(v[field])
            else:
                # An index by expression: any member of an object or array.
                if isinstance(v, dict):
                    nxt.extend(v.values())
                elif isinstance(v, list):
                    nxt.extend(v)
                else:
                    return None, "indexing a %s" % type(v).__name__
                if not nxt:
                    return None, "indexing an empty collection"
        values = nxt
    return values, None


def parse_steps(text):
    return [(m.group(1), m.group(2)) for m in STEP_RE.finditer(text)]


def main():
    rego_path, data_path, cases_path = sys.argv[1:4]
    rego = strip_comments(open(rego_path).read())
    data = json.load(open(data_path))
    cases = json.load(open(cases_path))["cases"]

    check(re.search(r"^package agentidp\.authz\s*$", rego, re.M) is not None,
          "authz.rego is package agentidp.authz")
    check(re.search(r"^default allow := false\s*$", rego, re.M) is not None,
          "authz.rego has default allow := false")
    check(rego.count("{") == rego.count("}") and rego.count("(") == rego.count(")")
          and rego.count("[") == rego.count("]"), "authz.rego brackets balance")

    # Variables bound to data: `x := data...` and function parameters whose
    # call site passes such a variable.
    bound = {}
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*:=\s*(data(?:\.\w+|\[[^\]]*\])+)", rego):
        vals, err = walk([data], parse_steps(m.group(2)[4:]))
        check(err is None, "binding %s := %s resolves in data.json" % (m.group(1), m.group(2)), err or "")
        if vals is not None:
            bound[m.group(1)] = vals
    for m in re.finditer(r"^([A-Za-z_]\w*)\(([A-Za-z_]\w*)\)\s+if\b", rego, re.M):
        func, param = m.group(1), m.group(2)
        calls = [c.group(1) for c in re.finditer(r"\b%s\(([A-Za-z_]\w*)\)" % func, rego)
                 if c.start() != m.start()]
        args = [a for a in calls if a in bound]
        check(calls and len(args) == len(calls),
              "every call of %s() passes a data-bound variable" % func, str(calls))
        if args:
            bound[param] = [v for a in args for v in bound[a]]

    input_fields = set()
    data_fields_read = set()
    for m in REF_RE.finditer(rego):
        head, rest = m.group(1), m.group(2)
        steps = parse_steps(rest)
        if head == "input":
            continue  # checked below, also inside index brackets
        if head == "data":
            check(steps[0][0] == "agentidp", "data reference %s is under data.agentidp" % (head + rest))
            vals, err = walk([data], steps)
            where = head + rest
        elif head in bound:
            vals, err = walk(bound[head], steps)
            where = head + rest
        else:
            continue  # a rego keyword chain or a package path
        check(err is None, "%s exists in data.json" % where, err or "")
        for field, _ in steps:
            if field is not None:
                data_fields_read.add(field)
        # How the value is used: membership needs arrays, == true booleans.
        after = rego[m.end():m.end() + 10]
        before = rego[max(0, m.start() - 4):m.start()]
        if vals is not None and before.endswith("in "):
            check(all(isinstance(v, list) for v in vals), "%s is an array in every route" % where)
        if vals is not None and re.match(r"\s*==\s*true", after):
            check(all(isinstance(v, bool) for v in vals), "%s is a boolean everywhere" % where)

    for m in re.finditer(r"\binput\b(\.([A-Za-z_]\w*)|\[|\b)", rego):
        name = m.group(2)
        check(name in INPUT_FIELDS, "input.%s is a field the bridge sends" % name,
              "input used as " + rego[m.start():m.start() + 30].split("\n")[0])
        input_fields.add(name)
    check(input_fields == INPUT_FIELDS, "authz.rego reads input.route, input.scopes and input.subject_is_owner",
          "reads " + ", ".join(sorted(str(f) for f in input_fields)))

    # Every field of the data document is read by the Rego.
    doc_fields = {"agentidp"} | set(data["agentidp"].keys())
    for rule in data["agentidp"]["routes"].values():
        doc_fields |= set(rule.keys())
    missing = doc_fields - data_fields_read
    check(not missing, "authz.rego reads every field of data.json", "unread: " + ", ".join(sorted(missing)))

    # cases.json coverage.
    routes = set(data["agentidp"]["routes"].keys())
    scopes = ["agents:read", "agents:write", "credentials:write", "tokens:introspect", "audit:read", "admin"]
    case_inputs = [c["input"] for c in cases]
    check(all(set(i.keys()) == INPUT_FIELDS for i in case_inputs),
          "every case input has exactly route, scopes and subject_is_owner")
    single = {(i["route"], i["scopes"][0], i["subject_is_owner"]) for i in case_inputs if len(i["scopes"]) == 1}
    gaps = [(r, s, o) for r in sorted(routes) for s in scopes for o in (False, True) if (r, s, o) not in single]
    check(not gaps, "cases cover every route x scope x owner (%d combinations)" % (len(routes) * len(scopes) * 2),
          str(gaps[:5]))
    empty = {(i["route"], i["subject_is_owner"]) for i in case_inputs if not i["scopes"]}
    check(all((r, o) in empty for r in routes for o in (False, True)),
          "cases cover empty scopes on every route")
    check(all(not c["allow"] for c in cases if not c["input"]["scopes"]), "empty scopes are always denied")
    unknown = [c for c in cases if c["input"]["route"] not in routes]
    check(len(unknown) > 0 and all(not c["allow"] for c in unknown), "unknown routes are covered and denied")
    admin = [c for c in cases if c["input"]["route"] in routes and "admin" in c["input"]["scopes"]]
    check(len(admin) >= len(routes) * 2 and all(c["allow"] for c in admin), "admin is covered on every route and allowed")
    names = [c["name"] for c in cases]
    check(len(names) == len(set(names)), "case names are unique")

    print("check_rego: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
