#!/usr/bin/env python3
"""A small stand-in for OPA's data API, for the OPA client's tests.

    fake_opa.py PORT DATA.json

Serves POST /v1/data/agentidp/authz/allow (also under the prefix /opa, as
behind a reverse proxy) and answers {"result": bool} the way authz.rego
decides over DATA.json. It refuses, with 400, a request that is not exactly
{"input": {"route": str, "scopes": [str...], "subject_is_owner": bool}} sent
as application/json, so a client that encodes the input wrongly fails the
decision table. A scope named "x-fault:<kind>" makes it misbehave instead, to
prove the client fails closed (see FAULTS below).
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATHS = {"/v1/data/agentidp/authz/allow", "/opa/v1/data/agentidp/authz/allow"}


def decide(data, inp):
    """The decision of policies/authz.rego, written out in Python."""
    doc = data["agentidp"]
    rule = doc["routes"].get(inp["route"])
    if rule is None:
        return False
    held = set(inp["scopes"])
    owner = inp["subject_is_owner"] is True
    if held & set(doc["implies_all"]):
        return True
    if held & set(rule["scopes"]) and not (owner and rule["self_denied"] is True):
        return True
    return owner and bool(held & set(rule["self_scopes"]))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data = None

    def log_message(self, fmt, *args):
        pass  # the test prints its own lines

    def send_body(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, message):
        self.send_body(status, json.dumps({"code": "invalid_parameter", "message": message}).encode())

    def do_GET(self):
        self.refuse(405, "method not allowed")

    def do_POST(self):
        if self.path not in PATHS:
            return self.refuse(404, "unknown path " + self.path)
        if self.headers.get("Content-Type") != "application/json":
            return self.refuse(400, "content type must be application/json")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self.refuse(400, "missing Content-Length")
        raw = self.rfile.read(int(length))
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.refuse(400, "body is not JSON")
        inp = doc.get("input") if isinstance(doc, dict) else None
        if (not isinstance(doc, dict) or set(doc) != {"input"} or not isinstance(inp, dict)
                or set(inp) != {"route", "scopes", "subject_is_owner"}
                or not isinstance(inp["route"], str)
                or not isinstance(inp["scopes"], list)
                or not all(isinstance(s, str) for s in inp["scopes"])
                or not isinstance(inp["subject_is_owner"], bool)):
            return self.refuse(400, "input has the wrong shape: " + raw.decode(errors="replace"))

        faults = [s[len("x-fault:"):] for s in inp["scopes"] if s.startswith("x-fault:")]
        if faults:
            return FAULTS[faults[0]](self)
        result = decide(self.data, inp)
        self.send_body(200, json.dumps({"result": result}).encode())


def fault_slow(h):
    time.sleep(3)
    h.send_body(200, b'{"result": true}')


def fault_status500(h):
    h.send_body(500, b'{"code": "internal_error", "message": "boom"}')


def fault_badjson(h):
    h.send_body(200, b'{"result": tru')


def fault_undefined(h):
    h.send_body(200, b'{}')


def fault_string(h):
    h.send_body(200, b'{"result": "true"}')


def fault_dupkey(h):
    h.send_body(200, b'{"result": false, "result": true}')


def fault_chunked_true(h):
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    for piece in (b'{"resu', b'lt": ', b'true}'):
        h.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
        h.wfile.flush()
        time.sleep(0.05)
    h.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")


def fault_nolength_true(h):
    # An HTTP/1.0-style body that ends when the connection closes.
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"result\": true}")
    h.close_connection = True


def fault_close_early(h):
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"result\": true}")
    h.close_connection = True


def fault_huge(h):
    h.send_body(200, b'{"result": true, "pad": "' + b"x" * 100000 + b'"}')


def fault_garbage(h):
    h.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n")
    h.close_connection = True


def fault_silent(h):
    # Keep the connection open and say nothing.
    time.sleep(3)
    h.close_connection = True


FAULTS = {
    "slow": fault_slow,
    "status500": fault_status500,
    "badjson": fault_badjson,
    "undefined": fault_undefined,
    "string": fault_string,
    "dupkey": fault_dupkey,
    "chunked-true": fault_chunked_true,
    "nolength-true": fault_nolength_true,
    "close-early": fault_close_early,
    "huge": fault_huge,
    "garbage": fault_garbage,
    "silent": fault_silent,
}


def main():
    port = int(sys.argv[1])
    Handler.data = json.load(open(sys.argv[2]))
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
