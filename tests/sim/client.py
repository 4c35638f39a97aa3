"""Client helpers for the national axis simulator (tests/sim/axis_sim.py). Standard library only.

- sign_headers(): builds the XroadVnpt-* headers exactly like a real client (canonical form
  documented at the top of axis_sim.py and in tests/sim/README.md).
- AxisClient: the six protocol calls.
- SimControl: the /_sim/ control API.
- SimProcess: starts the simulator as a subprocess on an ephemeral port (context manager).

Timestamp rendering: ddMMyyyy'T'HHmmss+SSSS with SSSS = milliseconds zero-padded to 4 digits (the
Java SimpleDateFormat meaning of that pattern), local time, e.g. 15052024T093000+0123.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from urllib.parse import quote, urlsplit

PREFIX = "XroadVnpt-"
VERSION = "3.0.201608"
SIM_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axis_sim.py")


def format_timestamp(dt=None):
    dt = dt or datetime.now()
    return dt.strftime("%d%m%YT%H%M%S") + "+%04d" % (dt.microsecond // 1000)


def hmac_hex(secret_b64, message):
    key = base64.b64decode(secret_b64)
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_headers(systemid, secret_b64, params=None, timestamp=None, version=VERSION):
    """Returns the dict of HTTP headers for one protocol call.

    Signed keys, in this order: from, systemid, timestamp, servicetype ("eDoc"), then the entries of
    params in the order given (e.g. messagetype, docId, status). A params entry whose key is already
    present (from, servicetype, ...) overrides the value in place.
    """
    fields = {
        "from": systemid,
        "systemid": systemid,
        "timestamp": timestamp or format_timestamp(),
        "servicetype": "eDoc",
    }
    for k, v in (params or {}).items():
        fields[k] = str(v)
    sign_header = json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    headers = {PREFIX + k: v for k, v in fields.items()}
    headers[PREFIX + "version"] = version
    headers[PREFIX + "sign-header"] = sign_header
    headers[PREFIX + "sign-header-key"] = ";".join(fields)
    headers[PREFIX + "hash-header"] = hmac_hex(secret_b64, sign_header)
    return headers


def _request(base_url, method, path, body=b"", headers=None, timeout=10.0):
    """Returns (http_status, response_bytes). Raises OSError/http.client errors on transport
    failure (dropped connection, timeout)."""
    u = urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        h = {"Content-Type": "application/octet-stream", "Connection": "close"}
        h.update(headers or {})
        full = (u.path.rstrip("/") + path) if u.path else path
        conn.request(method, full, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class AxisClient:
    def __init__(self, base_url, systemid, secret_b64, timeout=10.0):
        self.base_url = base_url.rstrip("/")
        self.systemid = systemid
        self.secret_b64 = secret_b64
        self.timeout = timeout

    def call(self, op, params=None, body=b"", extra_headers=None, headers=None):
        """One protocol call. Returns (http_status, parsed JSON or raw bytes if not JSON)."""
        h = headers if headers is not None else sign_headers(self.systemid, self.secret_b64,
                                                             params)
        if extra_headers:
            h = dict(h)
            h.update(extra_headers)
        status, data = _request(self.base_url, "POST", "/" + op, body, h, self.timeout)
        try:
            return status, json.loads(data.decode("utf-8"))
        except ValueError:
            return status, data

    def send_edoc(self, package, messagetype="edoc"):
        return self.call("sendEdoc", {"messagetype": messagetype}, package)

    def received_list(self, messagetype="edoc"):
        return self.call("getReceivedEdocList", {"messagetype": messagetype})

    def get_edoc(self, doc_id):
        return self.call("getEdoc", {"docId": doc_id})

    def get_edoc_bytes(self, doc_id):
        status, r = self.get_edoc(doc_id)
        if status != 200 or r.get("status") != "OK":
            raise RuntimeError("getEdoc %s failed: %s %r" % (doc_id, status, r))
        return base64.b64decode(r["data"])

    def update_status(self, doc_id, status="done"):
        return self.call("updateStatus", {"docId": doc_id, "status": status})

    def sent_list(self, doc_id):
        return self.call("getSentEdocList", {"docId": doc_id})

    def agencies(self):
        return self.call("getAgenciesList", {})


class SimControl:
    def __init__(self, base_url, timeout=10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _json(self, method, path, obj=None, body=None):
        if obj is not None:
            body = json.dumps(obj).encode("utf-8")
        status, data = _request(self.base_url, method, "/_sim/" + path, body or b"",
                                {"Content-Type": "application/json"}, self.timeout)
        if status != 200:
            raise RuntimeError("/_sim/%s -> HTTP %d %r" % (path, status, data[:200]))
        return json.loads(data.decode("utf-8"))

    def faults(self, **cfg):
        """faults(http500=2, ops=["sendEdoc"]) replaces the fault configuration;
        faults() clears it. Pass add=True to append instead of replacing."""
        return self._json("POST", "faults", cfg)

    def clear_faults(self):
        return self._json("POST", "faults", {"clear": True})

    def mailbox(self, organ):
        return self._json("GET", "mailbox?organ=" + quote(organ))["entries"]

    def package(self, doc_id):
        status, data = _request(self.base_url, "GET", "/_sim/package?docId=" + quote(doc_id),
                                timeout=self.timeout)
        if status != 200:
            raise RuntimeError("package %s -> HTTP %d" % (doc_id, status))
        return data

    def inject(self, organ, package, messagetype="edoc", from_organ=None):
        path = "inject?organ=%s&messagetype=%s" % (quote(organ), quote(messagetype))
        if from_organ:
            path += "&from=" + quote(from_organ)
        return self._json("POST", path, body=package)["docId"]

    def stats(self):
        return self._json("GET", "stats")

    def reset(self):
        return self._json("POST", "reset", {})

    def add_system(self, systemid, secret_b64, organ_ids):
        return self._json("POST", "systems", {"systemid": systemid, "secret_b64": secret_b64,
                                              "organ_ids": organ_ids})


class SimProcess:
    """with SimProcess(systems) as sim: sim.url, sim.control, sim.client(systemid)

    systems: list of {"systemid", "secret_b64", "organ_ids"}."""

    def __init__(self, systems, log_path=None, python=None, startup_timeout=10.0):
        self.systems = systems
        self.log_path = log_path
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.proc = None
        self.url = None
        self._tmp = None

    def start(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="axis_sim.")
        spec = os.path.join(self._tmp.name, "systems.json")
        port_file = os.path.join(self._tmp.name, "port")
        with open(spec, "w", encoding="utf-8") as f:
            json.dump({"systems": self.systems}, f)
        cmd = [self.python, SIM_PATH, "--port", "0", "--port-file", port_file, "--systems", spec]
        if self.log_path:
            cmd += ["--log", self.log_path]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
        line = self.proc.stdout.readline()  # the "listening" line
        if not line:
            self.proc.wait(5)
            raise RuntimeError("axis_sim exited with %s before it was ready" % self.proc.returncode)
        deadline = time.monotonic() + self.startup_timeout
        while not os.path.exists(port_file):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("axis_sim did not write its port file")
            time.sleep(0.02)
        with open(port_file) as f:
            port = int(f.read().strip())
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.control = SimControl(self.url)
        return self

    def client(self, systemid, secret_b64=None, timeout=10.0):
        if secret_b64 is None:
            secret_b64 = next(s["secret_b64"] for s in self.systems if s["systemid"] == systemid)
        return AxisClient(self.url, systemid, secret_b64, timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
