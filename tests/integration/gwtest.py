"""Shared harness for the integration tests: a throwaway PostgreSQL cluster, the national axis
simulator and one or more gatewayd processes, all on loopback with ephemeral ports.

Standard library only. Every resource is torn down by Env.close() (also on failure, via the
context manager), so a failing test leaves no process running. A gatewayd still running at the end
of a test is stopped with SIGTERM, as an operator would: it must drain and exit with status 0, and
no gatewayd log may hold a sanitizer report, so that LeakSanitizer (ASan builds) sees the whole
life of every process. Tests that SIGKILL a gatewayd on purpose do so with Gateway.kill().
"""

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("GW_BUILD_DIR") or os.path.join(SRC, "build")


def sanitized_build(build=None):
    """True when the build under test is instrumented (ASan, UBSan, libFuzzer): its RSS and
    speed say nothing about the code's."""
    try:
        with open(os.path.join(build or BUILD, "CMakeCache.txt")) as f:
            cache = f.read()
    except OSError:
        return False
    return bool(re.search(r"^GW_(ASAN|UBSAN|FUZZ):BOOL=ON$", cache, re.M)) or "-fsanitize" in cache
GATEWAYD = os.path.join(BUILD, "gatewayd")
PG_SH = os.path.join(SRC, "tests/lib/pg.sh")
SIM = os.path.join(SRC, "tests/sim/axis_sim.py")

TOKEN = "test-token-qlvbdh"
GW_SYSTEMID = "gw-h49"
GW_SECRET = base64.b64encode(b"gateway-secret-for-tests-32bytes").decode()  # 44 characters, as issued
PROVINCE = "000.00.00.H49"
AGENCY = "000.00.12.H49"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "AddressSanitizer", "LeakSanitizer",
                     "runtime error:")


def wait_until(pred, timeout=30.0, interval=0.1, what="condition"):
    """Polls pred until it returns a true value (returned) or timeout seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def edoc(document_id, to=("000.00.00.G22", "000.00.00.H44"), sender=AGENCY, subject="Công văn thử nghiệm", pad=0, bdt=0):
    """An edXML document package as bytes (unprefixed names, default namespace)."""
    tos = "".join("<To><OrganId>%s</OrganId><OrganName>Cơ quan nhận</OrganName></To>" % t for t in to)
    attachment = base64.b64encode(b"%PDF-1.4\n" + b"x" * pad).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edXML xmlns="%s"><edXMLEnvelope><edXMLHeader><MessageHeader>'
        "<From><OrganId>%s</OrganId><OrganName>Sở Tài chính</OrganName></From>%s"
        "<DocumentId>%s</DocumentId><Code><CodeNumber>1</CodeNumber><CodeNotation>STC-NS</CodeNotation></Code>"
        "<Subject>%s</Subject></MessageHeader>"
        "<TraceHeaderList><TraceHeader><OrganId>%s</OrganId><Timestamp>2024/05/15 08:00:00</Timestamp></TraceHeader>"
        "<Bussiness><BussinessDocType>%d</BussinessDocType><Paper>0</Paper></Bussiness></TraceHeaderList>"
        "</edXMLHeader><edXMLBody><edXMLManifest><Reference><ContentId>cid:1</ContentId></Reference>"
        "</edXMLManifest></edXMLBody></edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>1</ContentId>"
        "<AttachmentName>vb.pdf</AttachmentName><ContentType>application/pdf</ContentType>"
        "<ContentTransferEncoded>%s</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>"
        % (NS, sender, tos, document_id, subject, sender, bdt, attachment)
    ).encode("utf-8")


def status_pkg(document_id, original_sender, code="03", sender=AGENCY):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edXML:edXML xmlns:edXML="%s"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>'
        "<edXML:From><edXML:OrganId>%s</edXML:OrganId></edXML:From>"
        "<edXML:ResponseFor><edXML:OrganId>%s</edXML:OrganId><edXML:DocumentId>%s</edXML:DocumentId></edXML:ResponseFor>"
        "<edXML:StatusCode>%s</edXML:StatusCode><edXML:Description>Đã tiếp nhận</edXML:Description>"
        "<edXML:Timestamp>2024/05/15 09:00:00</edXML:Timestamp>"
        "</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML:edXML>"
        % (NS, sender, original_sender, document_id, code)
    ).encode("utf-8")


def package_read(gw, pid):
    """GET /v1/packages/{pid} of a gateway, which must answer 200: the package as JSON."""
    r = gw.get("/v1/packages/%d" % pid)
    assert r.status == 200, (r.status, r.body)
    return r.json()


def timeline(doc, recipient):
    """The status timeline of one recipient in a package read, or None."""
    return next((tl for tl in doc["timelines"] if tl["recipient"] == recipient), None)


def timeline_codes(tl):
    """A timeline's events as status codes (statuses) and kinds (revoke, update, ...)."""
    return [e["code"] if e["kind"] == "status" else e["kind"] for e in tl["events"]] if tl else []


def deliveries_sent(gw, pid):
    """True when every delivery of the package was acknowledged by its axis."""
    return all(d["state"] == "SENT" for d in package_read(gw, pid)["deliveries"])


def directory_synced(env, axis):
    """True once the agency directory of the axis was synced at least once."""
    return env.pg.query("SELECT last_success_at IS NOT NULL FROM directory_sync WHERE axis = '%s'" % axis) == "t"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def request(port, method, path, body=None, headers=None, token=TOKEN, timeout=30, ssl_context=None):
    """ssl_context: an ssl.SSLContext for a TLS listener (https), None for plain HTTP."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if ssl_context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ssl_context)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Response(r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
    finally:
        conn.close()


def wrap_function(pg, name, params, returns, before):
    """Replaces the SQL function name(params) by a plpgsql one that runs the statements `before`
    (they may RAISE or RETURN) and then answers as the original, renamed name_real, does: a fault
    injected into one of the gateway's calls. params as declared ("p_a text, p_b integer");
    returns "TABLE (...)" or a type."""
    types = ", ".join(p.split(" ", 1)[1] for p in params.split(", "))
    args = ", ".join(p.split(" ", 1)[0] for p in params.split(", "))
    call = "%s_real(%s)" % (name, args)
    pg.query("ALTER FUNCTION %s(%s) RENAME TO %s_real" % (name, types, name))
    pg.query("CREATE FUNCTION %s(%s) RETURNS %s LANGUAGE plpgsql AS $$ BEGIN %s %s; END $$"
             % (name, params, returns, before,
                ("RETURN QUERY SELECT * FROM " if returns.startswith("TABLE") else "RETURN ") + call))


@contextlib.contextmanager
def open_transaction(pg, sql):
    """A psql session that runs BEGIN and sql and keeps the transaction open (it holds a
    transaction id, so it holds back every snapshot's xmin) while the block runs; committed when
    the block ends. Yields the transaction's id."""
    p = subprocess.Popen(["psql", "-h", pg.host, "-U", "postgres", "-d", pg.dbname, "-Atq", "-v", "ON_ERROR_STOP=1"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        p.stdin.write("BEGIN;\n%s;\nSELECT pg_current_xact_id();\n" % sql)
        p.stdin.flush()
        yield wait_until(lambda: pg.query("SELECT backend_xid FROM pg_stat_activity WHERE state = "
                                          "'idle in transaction' AND backend_xid IS NOT NULL"), 10,
                         what="transaction open")
        p.stdin.write("COMMIT;\n")
        p.stdin.close()
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def metric(gw, series):
    """The value of one /metrics series (its name and labels as printed, e.g.
    'gateway_fetch_failing{axis="prov"}'), or None when it is not there."""
    text = request(gw.port, "GET", "/metrics", token=None).body.decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def raw_exchange(port, data, timeout=10, half_close=False):
    """Sends raw bytes and returns everything the server answers until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


class Postgres:
    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        out = subprocess.run([PG_SH, "start", self.dir], check=True, capture_output=True, text=True)
        self.host = out.stdout.strip()
        self.dbname = "gateway"
        self.psql("postgres", "CREATE DATABASE gateway")

    def conninfo(self):
        return "host=%s user=postgres dbname=%s" % (self.host, self.dbname)

    def psql(self, db, sql):
        out = subprocess.run(["psql", "-h", self.host, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
                              "-Atq", "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def query(self, sql):
        return self.psql(self.dbname, sql)

    def rows(self, sql):
        out = self.query(sql)
        return [line.split("|") for line in out.splitlines()] if out else []

    def restart(self):
        subprocess.run([PG_SH, "restart", self.dir], check=True, capture_output=True)

    def stop(self):
        subprocess.run([PG_SH, "stop", self.dir], capture_output=True)

    def start(self):
        subprocess.run([PG_SH, "start", self.dir], check=True, capture_output=True)


class Sim:
    def __init__(self, root, systems=None, args=(), port=0):
        self.root = root
        spec = {"systems": systems or [
            {"systemid": GW_SYSTEMID, "secret_b64": GW_SECRET, "organ_ids": [PROVINCE, AGENCY]},
        ]}
        self.spec = os.path.join(root, "sim-spec.json")
        with open(self.spec, "w") as f:
            json.dump(spec, f)
        self.port_file = os.path.join(root, "sim.port")
        self.log = open(os.path.join(root, "sim.log"), "w")
        # args: more command line, e.g. --tls-cert/--tls-key (tests/integration/gwtlsout.py)
        self.scheme = "https" if "--tls-cert" in args else "http"
        self.proc = subprocess.Popen([sys.executable, SIM, "--port", str(port), "--port-file", self.port_file,
                                      "--systems", self.spec] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(wait_until(lambda: _read(self.port_file), 20, what="simulator port"))

    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def ctl(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        r = request(self.port, method, path, body=data, token=None)
        if r.status != 200:
            raise AssertionError("sim %s %s -> %d %r" % (method, path, r.status, r.body[:200]))
        return r

    def faults(self, **kw):
        return self.ctl("POST", "/_sim/faults", kw or {"clear": True}).json()

    def mailbox(self, organ):
        return self.ctl("GET", "/_sim/mailbox?organ=" + urllib.parse.quote(organ)).json()["entries"]

    def stats(self):
        return self.ctl("GET", "/_sim/stats").json()

    def inject(self, organ, body, messagetype="edoc", sender="000.00.00.G22"):
        q = urllib.parse.urlencode({"organ": organ, "messagetype": messagetype, "from": sender})
        return self.ctl("POST", "/_sim/inject?" + q, body).json()["docId"]

    def close(self):
        stop_process(self.proc, self.log)


def stop_process(proc, logf):
    """Stops a simulator started by a test (SIGTERM, then SIGKILL after 10 s) and closes its log."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    logf.close()


def _read(path):
    try:
        with open(path) as f:
            v = f.read().strip()
            return v or None
    except OSError:
        return None


class Gateway:
    count = 0

    def __init__(self, env, extra=None, name=None):
        Gateway.count += 1
        self.env = env
        self.name = name or "gw%d" % Gateway.count
        self.dir = os.path.join(env.root, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "gatewayd.ini")
        self.port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "gatewayd.log")
        self.write_config(extra or {})
        self.proc = None
        self.port = None
        self.environ = None  # environment of the process (None: inherited)
        self.ssl_context = None  # client context when the listener speaks TLS (request())
        self.cwd = None
        self.prefix = []  # command that execs gatewayd's command line (e.g. in a mount namespace)

    def write_config(self, extra):
        token_hash = hashlib.sha256(TOKEN.encode()).hexdigest()
        sections = {
            "gateway": {"instance_id": self.name, "organ_ids": PROVINCE + ", " + AGENCY, "log_level": "info"},
            "server": {"listen": "127.0.0.1:0", "max_body_bytes": "1048576", "max_header_bytes": "8192",
                       "header_timeout_ms": "2000", "body_timeout_ms": "4000", "idle_timeout_ms": "10000",
                       "drain_timeout_ms": "10000"},
            "database": {"conninfo": self.env.pg.conninfo(), "pool_size": "4", "queue_timeout_ms": "5000",
                         "reconnect_min_ms": "100", "reconnect_max_ms": "1000", "migrate_on_start": "true",
                         "migrations_dir": os.path.join(SRC, "schemas/sql")},
            "client.qlvbdh": {"token_sha256": token_hash},
            "axis.national": {"adapter": "vxp", "base_url": self.env.sim.url(), "systemid": GW_SYSTEMID,
                              "secret": GW_SECRET, "poll_interval_ms": "300", "timeout_ms": "2000"},
            "delivery": {"scan_interval_ms": "200", "lease_ms": "3500", "backoff_base_ms": "200",
                         "backoff_max_ms": "1000", "give_up_after_s": "3600"},
            "routing": {"default_axis": "national"},
            "verify": {"scan_interval_ms": "200", "lease_ms": "3500", "recheck_min_ms": "500",
                       "recheck_max_ms": "2000"},
        }
        for key, value in extra.items():
            sec, _, k = key.partition(":")
            if value is None:
                sections.get(sec, {}).pop(k, None)
            else:
                sections.setdefault(sec, {})[k] = value
        # The simulators speak plain HTTP unless started with TLS: allowed for tests only.
        for sec, kv in sections.items():
            if sec.startswith("axis.") and kv.get("base_url", "").startswith("http://"):
                kv.setdefault("insecure", "true")
        for kv in sections.values():
            for k, v in kv.items():
                self.env.note_secret(k, v)
        with open(self.config, "w") as f:
            for sec, kv in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")

    def migrate(self):
        """Applies the schema (gatewayd --migrate) without starting the daemon."""
        r = subprocess.run([GATEWAYD, "-c", self.config, "--migrate"], capture_output=True, text=True,
                           timeout=60, env=self.environ, cwd=self.cwd)
        assert r.returncode == 0, r.stdout + r.stderr

    def start(self, wait=True, ready=True):
        """Starts gatewayd; wait: until it listens (port file); ready: also until /readyz says 200
        (migrations applied, database pool up)."""
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.prefix + [GATEWAYD, "-c", self.config, "--port-file", self.port_file],
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=self.environ, cwd=self.cwd)
        if wait:
            self.port = int(wait_until(lambda: self._port_or_exit(), 30, what="gatewayd port"))
            if ready:
                self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        def ready():
            self._port_or_exit()
            return request(self.port, "GET", "/readyz", token=None, ssl_context=self.ssl_context).status == 200
        wait_until(ready, timeout, what="gatewayd ready")

    def _port_or_exit(self):
        if self.proc.poll() is not None:
            raise AssertionError("gatewayd exited with %s; log:\n%s" % (self.proc.returncode, self.tail()))
        return _read(self.port_file)

    def tail(self, n=40):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def submit(self, body, token=TOKEN, headers=None):
        return request(self.port, "POST", "/v1/packages", body=body, token=token,
                    headers=dict({"Content-Type": "application/xml"}, **(headers or {})),
                    ssl_context=self.ssl_context)

    def get(self, path, token=TOKEN):
        return request(self.port, "GET", path, token=token, ssl_context=self.ssl_context)

    def post(self, path, body=b"", token=TOKEN):
        return request(self.port, "POST", path, body=body, token=token, ssl_context=self.ssl_context)

    def kill(self):
        """SIGKILL on purpose (crash tests): this process is not checked for leaks."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()

    def stop(self, timeout=30):
        """SIGTERM and wait for the exit; returns the exit status (negative: killed by a signal)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            finally:
                self.logf.close()
        return self.proc.returncode if self.proc else None

    def wait_exit(self, timeout=30):
        """Waits for a process expected to exit by itself; returns its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Env:
    """One test's world: PostgreSQL, the simulator and gateways, torn down on exit."""

    def __init__(self, sim_systems=None):
        if not os.path.exists(GATEWAYD):
            raise SystemExit("gatewayd not built at " + GATEWAYD)
        self.root = tempfile.mkdtemp(prefix="gwit-")
        os.chmod(self.root, 0o755)
        self.gateways = []
        self.pg = None
        self.sim = None
        self.secrets = {TOKEN, GW_SECRET}
        try:
            self.pg = Postgres(self.root)
            self.sim = Sim(self.root, sim_systems)
        except BaseException:
            self.close()
            raise

    def gateway(self, extra=None, start=True, ready=True):
        gw = Gateway(self, extra)
        self.gateways.append(gw)
        if start:
            gw.start(ready=ready)
        return gw

    def secret(self, value):
        """Registers a secret (a token, a password) that no gatewayd log may contain."""
        if value and len(value) >= 6:
            self.secrets.add(value)

    def note_secret(self, key, value):
        """Registers what a configuration key holds if it is secret: the value of a secret or a
        password, and the body lines of the PEM key a *_key setting names."""
        key = key.lower()
        if key in ("secret", "password") or key.endswith("_secret") or key.endswith("_password"):
            self.secret(str(value))
        elif key.endswith("_key") and os.path.isfile(str(value)):
            with open(str(value), errors="replace") as f:
                for line in f:
                    line = line.strip()
                    if len(line) >= 40 and not line.startswith("-----"):
                        self.secret(line)

    def leaked_secrets(self):
        """Every configured secret, token and key line found in a gatewayd log (by gateway)."""
        found = []
        for gw in self.gateways:
            text = gw.tail(10 ** 9)
            env = gw.environ or {}
            secrets = self.secrets | {v for k, v in env.items() if k.startswith("GATEWAYD_") and
                                      re.search(r"(SECRET|PASSWORD|TOKEN)$", k)}
            for s in sorted(secrets):
                if s and s in text:
                    found.append("%s: a configured secret of %d characters is in its log" % (gw.name, len(s)))
        return found

    def sanitizer_reports(self):
        """Sanitizer findings in any gatewayd log (ASan/UBSan/LSan builds print them there)."""
        found = []
        for gw in self.gateways:
            text = gw.tail(1000000)
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    found.append("%s: %s" % (gw.name, text[text.index(marker):][:4000]))
                    break
        return found

    def stop_gateways(self):
        """SIGTERM every gatewayd still running and wait for it; returns the problems found (an
        exit status other than 0, a drain that does not end)."""
        problems = []
        for gw in self.gateways:
            if not gw.alive():
                continue
            try:
                rc = gw.stop(60)
            except subprocess.TimeoutExpired:
                gw.kill()
                problems.append("%s: no exit within 60 s of SIGTERM" % gw.name)
                continue
            if rc != 0:
                problems.append("%s: exit status %s after SIGTERM" % (gw.name, rc))
        return problems

    def close(self, failed=False):
        for gw in self.gateways:
            if failed:
                log("---- %s log tail ----\n%s" % (gw.name, gw.tail(60)))
            try:
                gw.kill()
            except Exception:
                pass
        if self.sim:
            self.sim.close()
        if self.pg:
            self.pg.stop()
        if not failed or os.environ.get("GW_KEEP_TMP") is None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        problems = []
        if exc_type is None:
            problems = self.stop_gateways()
            problems += ["sanitizer report in " + r for r in self.sanitizer_reports()]
            problems += self.leaked_secrets()
        self.close(failed=exc_type is not None or bool(problems))
        if problems:
            raise AssertionError("gatewayd teardown:\n" + "\n".join(problems))
        return False


def run(tests):
    """Runs test functions (each taking an Env) and exits non-zero on the first failure."""
    for t in tests:
        log("running " + t.__name__)
        with Env() as env:
            t(env)
        log("passed " + t.__name__)
    print("%d passed, 0 failed" % len(tests))


def parallel(n, fn):
    """Runs fn(i) for i in range(n) on n threads; returns the results in order."""
    results = [None] * n
    errors = []

    def worker(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
