#!/usr/bin/env python3
"""Run policies/cases.json through policies/authz.rego with a small
interpreter of the Rego subset that file uses.

    rego_subset.py AUTHZ.rego DATA.json CASES.json

This is NOT OPA, and passing here does not prove OPA decides the same way:
OPA cannot be installed on this machine. What it does prove is that the
rules as written in authz.rego (not a hand-made copy of them) give every
expected decision under the usual Rego meaning of the few constructs used:

    package / import rego.v1 / default NAME := literal
    NAME if { body }            NAME(param) if { body }
    body expressions, one per line:
        some VAR in TERM        VAR := TERM        not NAME(TERM)
        TERM in TERM            TERM == TERM       TERM   (defined and not false)
    terms: refs (a.b, a[term]), true/false/null, numbers, strings, NAME(TERM)

Anything else is refused with an error naming it, so an edit that uses more
of Rego fails here loudly instead of being misread. Undefined refs make an
expression fail (as in Rego); a rule whose bodies all fail is undefined, or
its default. Prints "ok"/"not ok" lines and "rego_subset: N passed, M failed".
"""
import json
import re
import sys

TOKEN = re.compile(r'[ \t\r]*(?:(\n)|("(?:[^"\\]|\\.)*")|(:=|==|!=)|([A-Za-z_][A-Za-z0-9_]*)|(-?\d+(?:\.\d+)?)|([.\[\](){},;]))')


class Unsupported(Exception):
    pass


def strip_comments(text):
    """Drop # comments outside string literals."""
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


def tokenize(text):
    text = strip_comments(text)
    out = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].strip()
            if not rest:
                break
            raise Unsupported("cannot read %r" % text[pos:pos + 20])
        pos = m.end()
        nl, string, op, name, num, punct = m.groups()
        if nl:
            out.append(("nl", "\n"))
        elif string:
            out.append(("str", json.loads(string)))
        elif op:
            out.append(("op", op))
        elif name:
            out.append(("name", name))
        elif num:
            out.append(("num", json.loads(num)))
        elif punct:
            out.append(("punct", punct))
    return out


class Parser:
    def __init__(self, tokens):
        self.t = tokens
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else ("eof", None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise Unsupported("expected %s %s, found %r" % (kind, value, tok))
        self.i += 1
        return tok

    def skip_nl(self):
        while self.peek()[0] == "nl" or self.peek() == ("punct", ";"):
            self.i += 1

    def module(self):
        mod = {"package": None, "defaults": {}, "rules": {}, "functions": {}}
        self.skip_nl()
        self.take("name", "package")
        parts = [self.take("name")[1]]
        while self.peek() == ("punct", "."):
            self.take()
            parts.append(self.take("name")[1])
        mod["package"] = ".".join(parts)
        while True:
            self.skip_nl()
            tok = self.peek()
            if tok[0] == "eof":
                return mod
            if tok == ("name", "import"):
                self.take()
                path = [self.take("name")[1]]
                while self.peek() == ("punct", "."):
                    self.take()
                    path.append(self.take("name")[1])
                if path != ["rego", "v1"]:
                    raise Unsupported("import %s" % ".".join(path))
                continue
            if tok == ("name", "default"):
                self.take()
                name = self.take("name")[1]
                self.take("op", ":=")
                mod["defaults"][name] = self.literal()
                continue
            name = self.take("name")[1]
            if self.peek() == ("punct", "("):
                self.take()
                param = self.take("name")[1]
                self.take("punct", ")")
                self.take("name", "if")
                mod["functions"].setdefault(name, []).append((param, self.body()))
            else:
                self.take("name", "if")
                mod["rules"].setdefault(name, []).append(self.body())

    def literal(self):
        tok = self.take()
        if tok[0] in ("str", "num"):
            return tok[1]
        if tok[0] == "name" and tok[1] in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok[1]]
        raise Unsupported("literal %r" % (tok,))

    def body(self):
        self.take("punct", "{")
        exprs = []
        while True:
            self.skip_nl()
            if self.peek() == ("punct", "}"):
                self.take()
                return exprs
            exprs.append(self.expr())
            if self.peek()[0] not in ("nl",) and self.peek() != ("punct", ";") and self.peek() != ("punct", "}"):
                raise Unsupported("more than one expression on a line near %r" % (self.peek(),))

    def expr(self):
        tok = self.peek()
        if tok == ("name", "some"):
            self.take()
            var = self.take("name")[1]
            self.take("name", "in")
            return ("some", var, self.term())
        if tok == ("name", "not"):
            self.take()
            t = self.term()
            if t[0] != "call":
                raise Unsupported("not applies only to a function call here")
            return ("not", t)
        if tok[0] == "name" and self.peek(1) == ("op", ":="):
            self.take()
            self.take()
            return ("assign", tok[1], self.term())
        left = self.term()
        nxt = self.peek()
        if nxt == ("name", "in"):
            self.take()
            return ("member", left, self.term())
        if nxt == ("op", "=="):
            self.take()
            return ("eq", left, self.term())
        if nxt[0] == "op":
            raise Unsupported("operator %s" % nxt[1])
        return ("truthy", left)

    def term(self):
        tok = self.peek()
        if tok[0] in ("str", "num") or (tok[0] == "name" and tok[1] in ("true", "false", "null")):
            return ("lit", self.literal())
        if tok[0] != "name":
            raise Unsupported("term %r" % (tok,))
        name = self.take()[1]
        if name in ("some", "not", "in", "if", "every", "else", "with", "contains"):
            raise Unsupported("keyword %s inside a term" % name)
        if self.peek() == ("punct", "("):
            self.take()
            arg = self.term()
            self.take("punct", ")")
            return ("call", name, arg)
        steps = []
        while True:
            if self.peek() == ("punct", "."):
                self.take()
                steps.append(("lit", self.take("name")[1]))
            elif self.peek() == ("punct", "["):
                self.take()
                steps.append(self.term())
                self.take("punct", "]")
            else:
                return ("ref", name, steps)


UNDEFINED = object()


class Evaluator:
    def __init__(self, mod, data, inp):
        self.mod = mod
        self.data = data
        self.input = inp

    def term(self, t, env):
        kind = t[0]
        if kind == "lit":
            return t[1]
        if kind == "call":
            return self.call(t[1], self.term(t[2], env))
        _, head, steps = t
        if head == "data":
            value = self.data
        elif head == "input":
            value = self.input
        elif head in env:
            value = env[head]
        elif head in self.mod["rules"] or head in self.mod["defaults"]:
            value = self.rule(head)
        else:
            raise Unsupported("unbound variable %s" % head)
        for step in steps:
            key = self.term(step, env)
            if key is UNDEFINED or value is UNDEFINED:
                return UNDEFINED
            if isinstance(value, dict) and isinstance(key, str):
                value = value.get(key, UNDEFINED)
            elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
                value = value[key] if 0 <= key < len(value) else UNDEFINED
            else:
                return UNDEFINED
        return value

    def call(self, name, arg):
        if name not in self.mod["functions"]:
            raise Unsupported("function %s" % name)
        if arg is UNDEFINED:
            return UNDEFINED
        for param, body in self.mod["functions"][name]:
            for _ in self.body(body, 0, {param: arg}):
                return True
        return UNDEFINED

    def rule(self, name):
        for body in self.mod["rules"].get(name, []):
            for _ in self.body(body, 0, {}):
                return True
        return self.mod["defaults"].get(name, UNDEFINED)

    def body(self, exprs, i, env):
        if i == len(exprs):
            yield env
            return
        e = exprs[i]
        kind = e[0]
        if kind == "some":
            coll = self.term(e[2], env)
            members = coll if isinstance(coll, list) else list(coll.values()) if isinstance(coll, dict) else []
            for m in members:
                yield from self.body(exprs, i + 1, dict(env, **{e[1]: m}))
            return
        if kind == "assign":
            if e[1] in env:
                raise Unsupported("reassigning %s" % e[1])
            v = self.term(e[2], env)
            if v is not UNDEFINED:
                yield from self.body(exprs, i + 1, dict(env, **{e[1]: v}))
            return
        if kind == "not":
            v = self.term(e[1], env)
            if v is UNDEFINED or v is False:
                yield from self.body(exprs, i + 1, env)
            return
        if kind == "member":
            x, coll = self.term(e[1], env), self.term(e[2], env)
            members = coll if isinstance(coll, list) else list(coll.values()) if isinstance(coll, dict) else None
            if x is not UNDEFINED and members is not None and any(same(x, m) for m in members):
                yield from self.body(exprs, i + 1, env)
            return
        if kind == "eq":
            a, b = self.term(e[1], env), self.term(e[2], env)
            if a is not UNDEFINED and b is not UNDEFINED and same(a, b):
                yield from self.body(exprs, i + 1, env)
            return
        if kind == "truthy":
            v = self.term(e[1], env)
            if v is not UNDEFINED and v is not False:
                yield from self.body(exprs, i + 1, env)
            return
        raise Unsupported(kind)


def same(a, b):
    """Rego equality: no true == 1 confusion as in Python."""
    return type(a) is type(b) and a == b


def main():
    rego_path, data_path, cases_path = sys.argv[1:4]
    passed = failed = 0
    try:
        mod = Parser(tokenize(open(rego_path).read())).module()
    except Unsupported as e:
        print("not ok - authz.rego is within the interpreted subset: %s" % e)
        print("rego_subset: 0 passed, 1 failed")
        return 1
    data = json.load(open(data_path))
    ok = mod["package"] == "agentidp.authz" and mod["defaults"].get("allow") is False
    print(("ok" if ok else "not ok") + " - authz.rego parses as package agentidp.authz with default allow := false")
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    for case in json.load(open(cases_path))["cases"]:
        try:
            got = Evaluator(mod, data, case["input"]).rule("allow")
        except Unsupported as e:
            got = "error: %s" % e
        good = got is case["allow"]
        print(("ok" if good else "not ok") + " - rego: " + case["name"] + ("" if good else ": got %s" % got))
        passed, failed = (passed + 1, failed) if good else (passed, failed + 1)
    print("rego_subset: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
