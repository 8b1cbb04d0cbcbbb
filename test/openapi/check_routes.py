#!/usr/bin/env python3
"""The bridge's route table serves exactly the routes bridge/openapi.yaml
describes.

    check_routes.py BUNDLED.json BRIDGE_DIR DATA.json

Builds a small program against the bridge's real sources (every bridge/*.c
but main.c) that asks the router itself, route_classify() in routes.c, which
route each documented method and path lands on, and compares it with the
operation's x-agentidp-route (the same names as the metrics' route label).
Then checks the other direction: every route of the table is documented, and
every policy route id is the one its handler asks the policy about.
Prints "ok"/"not ok" lines and "check_routes: N passed, M failed".
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

passed = 0
failed = 0

SAMPLES = {
    "credId": "5e1c9a2b-3d4f-4a6b-8c7d-9e0f1a2b3c4d",
    "asset": "assets/index.js",
}
AGENT_ID = "0b7d3c4e-8f4a-4c59-9d0e-2a6f1e3b5c7d"

HARNESS = r'''
#include "routes.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

/* Print the route label the router picks for each METHOD PATH on stdin. */
int
main(void)
{
	char method[16], path[512];

	while (scanf("%15s %511s", method, path) == 2) {
		struct request r;

		memset(&r, 0, sizeof(r));
		r.method = method;
		route_classify(&r, path);
		printf("%s %s %s\n", method, path, metrics_route_name(r.route));
	}
	printf("labels");
	for (int l = 0; l < RL_COUNT; l++)
		printf(" %s", metrics_route_name((enum route_label)l));
	printf("\n");
	return 0;
}
'''


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok" if ok else "not ok") + " - " + what + (": " + detail if detail and not ok else ""))


def concrete(path):
    def sub(m):
        name = m.group(1)
        if name == "id":
            return "42" if path.startswith("/api/v1/audit/") else AGENT_ID
        return SAMPLES[name]
    return re.sub(r"\{(\w+)\}", sub, path)


def main():
    doc = json.load(open(sys.argv[1]))
    bridge = sys.argv[2]
    data = json.load(open(sys.argv[3]))

    ops = []
    for path, item in doc["paths"].items():
        for method in ("get", "post", "patch", "delete", "put"):
            if method in item:
                ops.append((method.upper(), path, item[method].get("x-agentidp-route")))

    sources = [s for s in sorted(glob.glob(os.path.join(bridge, "*.c"))) if os.path.basename(s) != "main.c"]
    includedir = subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="agentidp-routes.") as tmp:
        harness = os.path.join(tmp, "route_harness.c")
        exe = os.path.join(tmp, "route_harness")
        with open(harness, "w") as f:
            f.write(HARNESS)
        cc = os.environ.get("CC", "cc")
        build = subprocess.run(
            [cc, "-std=c11", "-D_GNU_SOURCE", "-O0", "-w", "-pthread", "-I" + bridge, "-I" + includedir,
             "-o", exe, harness] + sources +
            ["-lmicrohttpd", "-lpq", "-ljansson", "-lhiredis", "-lcrypto", "-pthread"],
            capture_output=True, text=True)
        check(build.returncode == 0, "a program asking the bridge's router builds from bridge/*.c",
              build.stderr[-2000:])
        if build.returncode != 0:
            print("check_routes: %d passed, %d failed" % (passed, failed))
            return 1

        probes = [(m, concrete(p), route, p) for m, p, route in ops]
        # Paths and methods the document does not describe must not be served.
        negatives = [("PUT", "/api/v1/agents"), ("GET", "/api/v1/agents/%s/credentials/%s" % (AGENT_ID, SAMPLES["credId"])),
                     ("GET", "/api/v1/token"), ("POST", "/api/v1/audit"), ("GET", "/api/v1/agents/%s/secrets" % AGENT_ID),
                     ("GET", "/api/v2/agents"), ("GET", "/healthz")]
        stdin = "".join("%s %s\n" % (m, p) for m, p, _, _ in probes) + "".join("%s %s\n" % n for n in negatives)
        run = subprocess.run([exe], input=stdin, capture_output=True, text=True, timeout=30)
        check(run.returncode == 0, "the router answers every probe", run.stderr[-2000:])
        lines = run.stdout.splitlines()
        answers = {}
        labels = []
        for line in lines:
            parts = line.split()
            if parts and parts[0] == "labels":
                labels = parts[1:]
            elif len(parts) == 3:
                answers[(parts[0], parts[1])] = parts[2]

    documented = set()
    for method, path, route, template in probes:
        got = answers.get((method, path))
        check(got == route, "%s %s is served as route %s" % (method, template, route), "router says %s" % got)
        documented.add(route)
    for method, path in negatives:
        got = answers.get((method, path))
        check(got == "unmatched", "undocumented %s %s is not served" % (method, path), "router says %s" % got)

    table = [l for l in labels if l != "unmatched"]
    check(len(table) > 0, "the router reports its route labels")
    for label in table:
        check(label in documented, "route %s of the bridge is documented" % label)

    # Each policy route id is what its handler asks the policy about.
    handler_text = ""
    for src in glob.glob(os.path.join(bridge, "routes*.c")):
        handler_text += open(src).read()
    asked = set(re.findall(r'(?:guard|auth_allow)\([^;]*?"([a-z]+\.[a-z]+)"', handler_text, re.S))
    for route in sorted(data["agentidp"]["routes"]):
        check(route in asked, "the handler of %s asks the policy about \"%s\"" % (route, route))
    check(asked <= set(data["agentidp"]["routes"]), "handlers ask the policy only about routes data.json lists",
          str(sorted(asked - set(data["agentidp"]["routes"]))))

    print("check_routes: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
