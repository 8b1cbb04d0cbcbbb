"""Shared harness of the attack and fault suites: a throwaway PostgreSQL,
Redis and bridge on this suite's own ports, HTTP helpers, token forging and
the case table.

Python standard library only; RSA signing goes through the `openssl` CLI.
Ports: PostgreSQL 55460, Redis 56460, bridge 18460, helpers 18461-18469.
Folders under /tmp/attack/.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("AGENTIDP_ATTACK_DIR", "/tmp/attack/run")
BUILD = "/tmp/attack/build"
PG_PORT, REDIS_PORT, PORT = 55460, 56460, 18460
PG_DIR, REDIS_DIR = WORK + "/pg", WORK + "/redis"
ISSUER = "http://127.0.0.1:%d" % PORT
# AGENTIDP_BRIDGE_BIN runs the suites against another build (the sanitizer build of
# test/attack/sanitizers); AGENTIDP_BRIDGE_WRAPPER prefixes a command (valgrind ...).
BRIDGE = os.environ.get("AGENTIDP_BRIDGE_BIN") or os.path.join(ROOT, "bridge", "agentidp-bridge")
WRAPPER = os.environ.get("AGENTIDP_BRIDGE_WRAPPER", "").split()
KEK = "attack-suite-key-encryption-key-0123456789"
CONN_TIMEOUT = 3
STRICT = os.environ.get("AGENTIDP_STRICT") == "1"
LONG = os.environ.get("AGENTIDP_LONG") == "1"


# ---- processes -------------------------------------------------------------

def sh(script):
    """bash with the shared cluster helpers sourced."""
    env = dict(os.environ, AGENTIDP_TEST_KEK=KEK)
    return subprocess.run(["bash", "-c", "source %s/test/lib/cluster.sh\n%s" % (ROOT, script)],
                          capture_output=True, text=True, env=env)


def psql(sql, user="postgres", vars=None, check=True, db="agentidp"):
    """Run SQL (stdin, so :'var' interpolation works); returns (rc, stdout, stderr)."""
    cmd = ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", user, "-d", db, "-Atq",
           "-v", "ON_ERROR_STOP=1"]
    for k, v in (vars or {}).items():
        cmd += ["-v", "%s=%s" % (k, v)]
    r = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql[:200], r.stderr))
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def q(sql, **vars):
    return psql(sql, vars=vars)[1]


def redis(*args):
    r = subprocess.run(["redis-cli", "-p", str(REDIS_PORT)] + list(args),
                       capture_output=True, text=True)
    return r.stdout.strip()


def raise_nofile(n=8192):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        pass


class Bridge:
    def __init__(self, extra=None, binary=None, log=None, wrapper=None, port=None):
        self.extra = extra or {}
        self.port = port or PORT
        self.binary = binary or BRIDGE
        self.log = log or WORK + "/bridge.log"
        self.wrapper = wrapper or WRAPPER
        self.proc = None

    def env(self):
        env = dict(os.environ)
        env.update({
            "AGENTIDP_DATABASE_URL": "host=127.0.0.1 port=%d user=postgres dbname=agentidp" % PG_PORT,
            "AGENTIDP_REDIS_URL": "redis://127.0.0.1:%d/0" % REDIS_PORT,
            "AGENTIDP_LISTEN": "127.0.0.1:%d" % self.port,
            "AGENTIDP_THREADS": "8",
            "AGENTIDP_DB_POOL_SIZE": "4",
            "AGENTIDP_RATE_LIMIT": "0",
            "AGENTIDP_POLICY_FILE": WORK + "/policy.json",
            "AGENTIDP_DASHBOARD_DIR": WORK + "/dashboard",
            "AGENTIDP_CONN_TIMEOUT": str(CONN_TIMEOUT),
            "AGENTIDP_LOG_LEVEL": "info",
        })
        for k in ("AGENTIDP_ISSUER", "AGENTIDP_OPA_URL"):
            env.pop(k, None)
        env.update(self.extra)
        return env

    def start(self, wait_warm=True, timeout=30):
        log = open(self.log, "a")
        self.proc = subprocess.Popen(self.wrapper + [self.binary], env=self.env(), stdout=log,
                                     stderr=log, cwd=ROOT, preexec_fn=lambda: raise_nofile(8192))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("bridge exited with %s; see %s" % (self.proc.returncode, self.log))
            try:
                st, b = health(self.port)
                if st == 200 and (not wait_warm or
                                  b["checks"]["redis"].get("revocationCacheWarm", True)):
                    return
            except (OSError, ValueError, KeyError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError("bridge did not become healthy; see %s" % self.log)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc


def build_helpers():
    """Compile the small C helpers of the suite (into /tmp/attack/build)."""
    os.makedirs(BUILD, exist_ok=True)
    out = BUILD + "/unseal_key"
    r = subprocess.run(["cc", "-O1", "-o", out, HERE + "/unseal_key.c", "-lcrypto"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("building unseal_key failed:\n" + r.stderr)


def setup_cluster(pg_conf=()):
    """Fresh PostgreSQL + Redis + database with the extension; returns the admin credentials."""
    sharedir = subprocess.run(["pg_config", "--sharedir"], capture_output=True,
                              text=True).stdout.strip()
    if not os.path.exists(sharedir + "/extension/agentidp.control"):
        raise RuntimeError("the agentidp extension is not installed (run make install)")
    if not os.access(BRIDGE, os.X_OK):
        raise RuntimeError("bridge/agentidp-bridge is not built (run make -C bridge)")
    sh("pg_stop %s immediate; redis_stop %s %d" % (PG_DIR, REDIS_DIR, REDIS_PORT))
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    conf = ["shared_preload_libraries = 'agentidp'", "agentidp.issuer = '%s'" % ISSUER,
            "agentidp.monthly_token_quota = 0", "max_connections = 300",
            "track_functions = 'all'"] + list(pg_conf)
    r = sh("pg_start %s %d %s" % (PG_DIR, PG_PORT, " ".join('"%s"' % c for c in conf)))
    if r.returncode != 0:
        raise RuntimeError("pg_start failed: " + r.stderr)
    r = sh("redis_start %s %d" % (REDIS_DIR, REDIS_PORT))
    if r.returncode != 0:
        raise RuntimeError("redis_start failed: " + r.stderr)
    psql("CREATE DATABASE agentidp", db="postgres")
    psql("CREATE EXTENSION agentidp CASCADE")
    row = q("SELECT client_id || ' ' || client_secret FROM agentidp.bootstrap_admin('admin')")
    shutil.copy(os.path.join(ROOT, "policies", "data.json"), WORK + "/policy.json")
    os.makedirs(WORK + "/dashboard", exist_ok=True)
    with open(WORK + "/dashboard/index.html", "w") as f:
        f.write("<!doctype html><title>x</title>")
    return row.split()


def teardown_cluster(bridge=None):
    if bridge is not None:
        bridge.stop()
    sh("redis_stop %s %d; pg_stop %s" % (REDIS_DIR, REDIS_PORT, PG_DIR))


# ---- HTTP ------------------------------------------------------------------

def req(method, path, form=None, js=None, raw_body=None, headers=None, bearer=None, basic=None,
        timeout=15, source=None, port=None):
    h = dict(headers or {})
    data = None
    if form is not None:
        data = (form if isinstance(form, str) else urllib.parse.urlencode(form)).encode()
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if js is not None:
        data = json.dumps(js).encode()
        h.setdefault("Content-Type", "application/json")
    if raw_body is not None:
        data = raw_body if isinstance(raw_body, bytes) else raw_body.encode()
    if bearer is not None:
        h["Authorization"] = "Bearer " + bearer
    if basic is not None:
        h["Authorization"] = "Basic " + base64.b64encode(
            ("%s:%s" % basic).encode() if isinstance(basic, tuple) else basic).decode()
    c = http.client.HTTPConnection("127.0.0.1", port or PORT, timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        parsed = None
        if hdrs.get("content-type", "").startswith("application/json") and payload:
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = None
        return r.status, hdrs, parsed
    finally:
        c.close()


def health(port=None):
    st, _, b = req("GET", "/health", timeout=5, port=port)
    return st, b


def get_token(cid, secret, scope=None, audience=None):
    f = {"grant_type": "client_credentials"}
    if scope:
        f["scope"] = scope
    if audience:
        f["audience"] = audience
    st, _, b = req("POST", "/api/v1/token", form=f, basic=(cid, secret))
    if st != 200:
        raise RuntimeError("token request failed: %s %s" % (st, b))
    return b["access_token"]


# ---- JOSE ------------------------------------------------------------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jdump(o):
    return json.dumps(o, separators=(",", ":"))


def parts(tok):
    h, p, s = tok.split(".")
    return json.loads(b64u_dec(h)), json.loads(b64u_dec(p)), s


def rs256(pem_path, data):
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", pem_path], input=data,
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl sign failed: " + r.stderr.decode())
    return r.stdout


def forge(pem_path, header, payload):
    """Sign raw header/payload JSON text (str) or objects with an RSA key."""
    h = header if isinstance(header, str) else jdump(header)
    p = payload if isinstance(payload, str) else jdump(payload)
    si = b64u(h.encode()) + "." + b64u(p.encode())
    return si + "." + b64u(rs256(pem_path, si.encode()))


def hs256(secret, header, payload):
    si = b64u(jdump(header).encode()) + "." + b64u(jdump(payload).encode())
    return si + "." + b64u(hmac.new(secret, si.encode(), hashlib.sha256).digest())


def new_rsa_key(path):
    subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True, capture_output=True)
    return path


def idp_key(kid, path):
    """The IdP's private key for kid, unsealed with the suite's KEK (test clusters only)."""
    enc = q("SELECT private_enc FROM agentidp.signing_keys WHERE kid = :'kid'", kid=kid)
    r = subprocess.run([BUILD + "/unseal_key"], input=enc + "\n", capture_output=True, text=True,
                       env=dict(os.environ, AGENTIDP_TEST_KEK=KEK))
    if r.returncode != 0:
        raise RuntimeError("unseal failed: " + r.stderr)
    with open(path, "w") as f:
        f.write(r.stdout)
    os.chmod(path, 0o600)
    return path


# ---- the case table -----------------------------------------------------------

class Table:
    """Rows of case -> expected -> observed; known product failures kept apart."""

    def __init__(self, known_file=None):
        self.rows = []
        self.known = {}
        if known_file and os.path.exists(known_file):
            for line in open(known_file):
                line = line.strip()
                if line and not line.startswith("#") and "|" in line:
                    name, why = line.split("|", 1)
                    self.known[name.strip()] = why.strip()

    def add(self, case, expected, observed, ok):
        status = "pass" if ok else ("KNOWN" if case in self.known and not STRICT else "FAIL")
        if ok and case in self.known:
            observed = "%s  [listed in known_failures.txt but passes now: remove the line]" % observed
        self.rows.append((case, expected, observed, status))
        print("%-5s %-58s | expected %-34s | observed %s" % (status, case[:58], str(expected)[:34],
                                                             str(observed)[:160]), flush=True)

    def check(self, case, expected, fn):
        """Run fn() -> (ok, observed); an exception is a failure with its text."""
        try:
            ok, observed = fn()
        except Exception as e:  # a crash of the case is a failed case, not a crashed suite
            ok, observed = False, "error: %s" % str(e)[:300]
        self.add(case, expected, observed, ok)
        return ok

    def summary(self):
        passed = sum(1 for r in self.rows if r[3] == "pass")
        failed = sum(1 for r in self.rows if r[3] == "FAIL")
        known = [r for r in self.rows if r[3] == "KNOWN"]
        print()
        print("%-60s | %-36s | %s" % ("case", "expected", "observed"))
        print("-" * 140)
        for case, exp, obs, st in self.rows:
            print("%-5s %-54s | %-36s | %s" % (st, case[:54], str(exp)[:36], str(obs)[:120]))
        if known:
            print()
            print("!" * 78)
            print("!!! %d KNOWN PRODUCT FAILURES (not counted; AGENTIDP_STRICT=1 fails them):" % len(known))
            for case, exp, obs, st in known:
                print("!!!   %s: %s" % (case, self.known.get(case, "")))
            print("!" * 78)
        return passed, failed
