"""Client helpers for the national axis simulator (tests/sim/axis_sim.py). Standard library only.

- sign_headers(): the XroadVnpt-* headers exactly as the vendor's Java SDK 2.0.x writes them
  (domain.md 5): pairs in Java HashMap iteration order, members "XroadVnpt-<k>":"<v>", HMAC-SHA256
  keyed with the secret's characters. Written from domain.md, independently of the C adapter, so
  that each can check the other.
- AxisClient: the six protocol calls, with the SDK's bodies (edXML + CRLF, {} or empty).
- SimControl: the /_sim/ control API.
- SimProcess: starts the simulator as a subprocess on an ephemeral port (context manager).
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
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

PREFIX = "XroadVnpt-"
VERSION = "3.0.201608"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
SIM_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axis_sim.py")
VN = timezone(timedelta(hours=7))

# The call's own keys, in the SDK's insertion order (after timestamp, systemid, Content-Type).
OP_KEYS = {
    "sendEdoc": ("from", "servicetype", "messagetype", "hash-file"),
    "getReceivedEdocList": ("servicetype", "messagetype"),
    "getEdoc": ("docId",),
    "updateStatus": ("docId", "status"),
    "getSentEdocList": ("servicetype", "messagetype", "docId"),
    "getAgenciesList": (),
    "getAgenciesListQD20": ("level",),
}


def format_timestamp(dt=None):
    """ddMMyyyy'T'HHmmss in UTC+7, '+', milliseconds zero-padded to 4 digits."""
    dt = (dt or datetime.now(timezone.utc)).astimezone(VN) if (dt is None or dt.tzinfo) else dt
    return dt.strftime("%d%m%YT%H%M%S") + "+%04d" % (dt.microsecond // 1000)


def java_string_hash(s):
    """Java String.hashCode(): over UTF-16 code units, 32-bit wrapping; returned unsigned."""
    h = 0
    units = s.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i:i + 2], "big")) & 0xFFFFFFFF
    return h


def hashmap_order(keys):
    """Java 8 HashMap<String,String> iteration order of keys put in this order."""
    cap = 16
    while len(keys) > cap * 3 // 4:  # resize once size exceeds the 0.75 load factor
        cap *= 2

    def bucket(k):
        h = java_string_hash(k)
        return (h ^ (h >> 16)) & (cap - 1)

    return [k for _, k in sorted(enumerate(keys), key=lambda ik: (bucket(ik[1]), ik[0]))]


def json_string(s):
    """A JSON string: only ", \ and control characters escaped, non-ASCII raw."""
    return json.dumps(s, ensure_ascii=False)


def hash_file_hex(data):
    """SHA-256 printed byte by byte in lowercase hex without zero padding (0x0a -> "a")."""
    return "".join("%x" % b for b in hashlib.sha256(data).digest())


def hmac_hex(secret, message):
    """HMAC-SHA256 keyed with the secret's characters (UTF-8), never base64-decoded."""
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_headers(systemid, secret, params=None, timestamp=None, content_type="application/json",
                 version=VERSION):
    """The HTTP headers of one call. params: the call's own pairs in insertion order (a list of
    pairs or a dict), e.g. [("docId", "x")]; a key given again overrides in place, as in a map."""
    pairs = {"timestamp": timestamp or format_timestamp(), "systemid": systemid,
             "Content-Type": content_type}
    for k, v in (params.items() if isinstance(params, dict) else (params or [])):
        pairs[k] = str(v)
    order = hashmap_order(list(pairs))
    sign_header = "{" + ",".join("%s:%s" % (json_string(PREFIX + k), json_string(pairs[k]))
                                 for k in order) + "}"
    headers = {PREFIX + k: pairs[k] for k in order}
    headers["Content-Type"] = content_type
    headers[PREFIX + "sign-header"] = sign_header
    headers[PREFIX + "sign-header-key"] = ";".join(order)
    headers[PREFIX + "hash-header"] = hmac_hex(secret, sign_header)
    headers[PREFIX + "version"] = version
    headers["User-Agent"] = USER_AGENT
    return headers


def call_params(op, systemid, values, body):
    """The op's pairs in SDK order; values supplies servicetype/messagetype/docId/status."""
    out = []
    for k in OP_KEYS[op]:
        if k == "from":
            out.append((k, values.get("from", systemid)))
        elif k == "servicetype":
            out.append((k, values.get("servicetype", "eDoc")))
        elif k == "hash-file":
            out.append((k, values.get("hash-file", hash_file_hex(body))))
        elif k in values:
            out.append((k, values[k]))
    return out


def _request(base_url, method, path, body=b"", headers=None, timeout=10.0, context=None):
    """Returns (http_status, response_bytes). Raises OSError/http.client errors on transport
    failure (dropped connection, timeout). An https:// base_url uses context (an ssl.SSLContext:
    the CA to trust, a client certificate)."""
    u = urlsplit(base_url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        h = {"Connection": "close"}
        h.update(headers or {})
        h = {k: (v.encode("utf-8") if isinstance(v, str) else v) for k, v in h.items()}
        full = (u.path.rstrip("/") + path) if u.path else path
        conn.request(method, full, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class AxisClient:
    def __init__(self, base_url, systemid, secret, timeout=10.0, context=None):
        self.base_url = base_url.rstrip("/")
        self.systemid = systemid
        self.secret = secret
        self.timeout = timeout
        self.context = context  # for an https:// base_url

    def call(self, op, params=None, body=None, extra_headers=None, headers=None, wire=None):
        """One protocol call signed as the SDK signs it. params: the op's values (messagetype,
        docId, status, ...); body defaults to the SDK's ({} for getEdoc/updateStatus, empty for
        lists); for sendEdoc pass the edXML: CRLF is appended and hash-file computed from it.
        wire: the exact body bytes to send instead (for tests of refusals).
        Returns (http_status, parsed JSON or raw bytes if not JSON)."""
        params = dict(params or {})
        if op == "sendEdoc":
            edxml = body or b""
            out = edxml + b"\r\n"
        else:
            edxml = b""
            out = body if body is not None else (b"{}" if op in ("getEdoc", "updateStatus")
                                                 else b"")
        if headers is not None:
            h = headers
        else:
            ct = "application/octet-stream" if op == "sendEdoc" else "application/json"
            h = sign_headers(self.systemid, self.secret,
                             call_params(op, self.systemid, params, edxml), content_type=ct)
        if extra_headers:
            h = dict(h)
            h.update(extra_headers)
        if wire is not None:
            out = bytes(wire)
        status, data = _request(self.base_url, "POST", "/" + op, out, h, self.timeout, self.context)
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

    def sent_list(self, doc_id, messagetype="edoc"):
        return self.call("getSentEdocList", {"messagetype": messagetype, "docId": doc_id})

    def agencies(self):
        return self.call("getAgenciesList", {})

    def agencies_qd20(self, level="1"):
        return self.call("getAgenciesListQD20", {"level": level})


class SimControl:
    def __init__(self, base_url, timeout=10.0, context=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.context = context

    def _json(self, method, path, obj=None, body=None):
        if obj is not None:
            body = json.dumps(obj).encode("utf-8")
        status, data = _request(self.base_url, method, "/_sim/" + path, body or b"",
                                {"Content-Type": "application/json"}, self.timeout, self.context)
        if status != 200:
            raise RuntimeError("/_sim/%s -> HTTP %d %r" % (path, status, data[:200]))
        return json.loads(data.decode("utf-8"))

    def faults(self, **cfg):
        """faults(http500=2, ops=["sendEdoc"]) replaces the fault configuration;
        faults() clears it. Pass add=True to append instead of replacing."""
        return self._json("POST", "faults", cfg)

    def getedoc(self, **shape):
        """getedoc(order="data_first", wrap=76, escape_slash=True, fail_after_data=1) sets how
        getEdoc answers are written; getedoc() restores the default."""
        return self._json("POST", "getedoc", shape)["getedoc"]

    def clear_faults(self):
        return self._json("POST", "faults", {"clear": True})

    def mailbox(self, organ):
        return self._json("GET", "mailbox?organ=" + quote(organ))["entries"]

    def package(self, doc_id):
        status, data = _request(self.base_url, "GET", "/_sim/package?docId=" + quote(doc_id),
                                timeout=self.timeout, context=self.context)
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

    def set_directory(self, agencies=None, qd20=None):
        """Serves these rows from getAgenciesList / getAgenciesListQD20 (None: empty list)."""
        return self._json("POST", "directory", {"agencies": agencies or [], "qd20": qd20 or []})

    def directory(self):
        return self._json("GET", "directory")

    def reset(self):
        return self._json("POST", "reset", {})

    def add_system(self, systemid, secret, organ_ids=None):
        spec = {"systemid": systemid, "secret": secret}
        if organ_ids is not None:
            spec["organ_ids"] = organ_ids
        return self._json("POST", "systems", spec)

    def refuse_credentials(self, how="fail", ops=None, desc=None):
        """Answers every (matching) call with the axis's credentials refusal until restored."""
        cfg = {"refuse": True, "how": how}
        if ops is not None:
            cfg["ops"] = ops
        if desc is not None:
            cfg["desc"] = desc
        return self._json("POST", "credentials", cfg)

    def restore_credentials(self):
        return self._json("POST", "credentials", {"refuse": False})


class SimProcess:
    """with SimProcess(systems) as sim: sim.url, sim.control, sim.client(systemid)

    systems: list of {"systemid", "secret" (the text as issued), "organ_ids"}."""

    def __init__(self, systems, log_path=None, python=None, startup_timeout=10.0, args=(),
                 context=None):
        """args: more command line (--tls-cert ... makes it https); context: the ssl.SSLContext
        the control and protocol clients use then."""
        self.args = list(args)
        self.context = context
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
        cmd += self.args
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
        self.url = "%s://127.0.0.1:%d" % ("https" if "--tls-cert" in self.args else "http", port)
        self.control = SimControl(self.url, context=self.context)
        return self

    def client(self, systemid, secret=None, timeout=10.0):
        if secret is None:
            secret = next(s.get("secret", s.get("secret_b64")) for s in self.systems
                          if s["systemid"] == systemid)
        return AxisClient(self.url, systemid, secret, timeout, self.context)

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
