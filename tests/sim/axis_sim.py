#!/usr/bin/env python3
"""Simulator of the national document exchange axis (VNPT X-Road-style protocol, domain.md section 5).

Usage:
    python3 tests/sim/axis_sim.py --port 0 --port-file PATH --systems SPEC.json [--log PATH]

Standard library only. Binds to 127.0.0.1 only. See tests/sim/README.md for the control API.

CANONICAL SIGNING FORM (what this simulator verifies; a real client must produce it)
-----------------------------------------------------------------------------------
Every protocol call carries these HTTP headers:

    XroadVnpt-systemid:        <registered systemid>
    XroadVnpt-from:            <same value as systemid>
    XroadVnpt-timestamp:       ddMMyyyy'T'HHmmss+SSSS   e.g. 15052024T093000+0123
                               (tests/sim/client.py renders SSSS as the milliseconds, zero-padded to
                               4 digits, i.e. Java SimpleDateFormat semantics of that pattern; the
                               simulator only requires a non-empty, signed value)
    XroadVnpt-version:         3.0.201608   (presence required, value not checked)
    XroadVnpt-servicetype:     eDoc
    XroadVnpt-messagetype:     edoc | status           (sendEdoc, getReceivedEdocList)
    XroadVnpt-docId:           <axis docId>            (getEdoc, updateStatus, getSentEdocList)
    XroadVnpt-status:          done | fail             (updateStatus)
    XroadVnpt-sign-header:     {"from":"gw-h49","systemid":"gw-h49","timestamp":"15052024T093000+0123","servicetype":"eDoc","messagetype":"edoc"}
    XroadVnpt-sign-header-key: from;systemid;timestamp;servicetype;messagetype
    XroadVnpt-hash-header:     lowercase hex of HMAC-SHA256(key = base64decode(secret),
                                                        msg = the exact sign-header value bytes)

sign-header is a JSON object whose keys are the XroadVnpt-* parameter names WITHOUT the "XroadVnpt-"
prefix (case as shown: "docId" has a capital I) and whose values are the header values as strings.
The client writes it compactly (separators "," and ":", no spaces, ASCII) with the keys in the order
listed in sign-header-key. sign-header-key is those keys joined by ";".

The verifier:
  1. all of systemid, from, timestamp, version, sign-header, sign-header-key, hash-header present
     (else ErrorCode "400");
  2. systemid is registered (else "404");
  3. hash-header == hex(HMAC-SHA256(secret, sign-header bytes exactly as received)) compared in
     constant time; HTTP strips leading/trailing blanks of a header value, nothing else is
     normalised (else "401");
  4. sign-header parses as a JSON object (key order and whitespace do not matter beyond the HMAC);
     every key listed in sign-header-key is in the object; every key of the object has a string value
     equal to the actual XroadVnpt-<key> header (else "402");
  5. the keys the operation depends on are signed (listed and in the object): always from, systemid,
     timestamp; plus messagetype (sendEdoc, getReceivedEdocList), docId (getEdoc, updateStatus,
     getSentEdocList), docId and status (updateStatus) (else "402");
  6. from == systemid (else "403").
Failures are HTTP 200 with {"status":"FAIL","ErrorCode":"<code>","ErrorDesc":"..."}.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import itertools
import json
import os
import random
import signal
import sys
import threading
import traceback
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
HDR = "XroadVnpt-"
PROTOCOL_OPS = (
    "sendEdoc",
    "getReceivedEdocList",
    "getEdoc",
    "updateStatus",
    "getSentEdocList",
    "getAgenciesList",
)
MESSAGE_TYPES = ("edoc", "status")
LIST_CAP = 100
MAX_BODY = 256 * 1024 * 1024
REQUIRED_HEADERS = ("systemid", "from", "timestamp", "version", "sign-header", "sign-header-key",
                    "hash-header")
SIGNED_ALWAYS = ("from", "systemid", "timestamp")
SIGNED_PER_OP = {
    "sendEdoc": ("messagetype",),
    "getReceivedEdocList": ("messagetype",),
    "getEdoc": ("docId",),
    "updateStatus": ("docId", "status"),
    "getSentEdocList": ("docId",),
    "getAgenciesList": (),
}
FAULT_KINDS = ("latency_ms", "http500", "http500_after_store", "drop", "timeout", "duplicate_list",
               "fail_rate", "auth_fail")
FAULT_KEYS = set(FAULT_KINDS) | {"ops", "timeout_ms", "seed"}


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def q(local):
    return "{%s}%s" % (NS, local)


def qpath(*parts):
    return "/".join(q(p) for p in parts)


class AxisError(Exception):
    """A protocol failure answered as HTTP 200 {"status":"FAIL",...}."""

    def __init__(self, code, desc):
        super().__init__(desc)
        self.code = code
        self.desc = desc


class BadRequest(Exception):
    """A control API or transport error answered with an HTTP error status."""

    def __init__(self, http_status, desc):
        super().__init__(desc)
        self.http_status = http_status
        self.desc = desc


# ----------------------------------------------------------------------------------------------
# edXML inspection


def _text(el):
    if el is None or el.text is None:
        return ""
    return el.text.strip()


def inspect_package(data, messagetype):
    """Returns (recipients, from_organ, document_id). Raises AxisError("22") if unusable."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise AxisError("22", "edXML is not well-formed: %s" % e)
    if root.tag == q("edXML"):
        env = root.find(q("edXMLEnvelope"))
    elif root.tag == q("edXMLEnvelope"):
        env = root
    else:
        raise AxisError("22", "root element is %s, expected {%s}edXML" % (root.tag, NS))
    mh = None if env is None else env.find(qpath("edXMLHeader", "MessageHeader"))
    if mh is None:
        raise AxisError("22", "no edXMLEnvelope/edXMLHeader/MessageHeader in namespace " + NS)
    from_organ = _text(mh.find(qpath("From", "OrganId")))
    recipients = []
    if messagetype == "edoc":
        ids = [_text(e) for e in mh.findall(qpath("To", "OrganId"))]
        document_id = _text(mh.find(q("DocumentId")))
    else:
        ids = [_text(e) for e in mh.findall(qpath("ResponseFor", "OrganId"))]
        document_id = _text(mh.find(qpath("ResponseFor", "DocumentId")))
    for organ in ids:
        if organ and organ not in recipients:
            recipients.append(organ)
    if not recipients:
        where = "To/OrganId" if messagetype == "edoc" else "ResponseFor/OrganId"
        raise AxisError("22", "no recipient: MessageHeader/%s missing or empty" % where)
    return recipients, from_organ, document_id


def parent_organ(organ):
    """Parent per QCVN 102 V1V2V3.Z1Z2.Y1Y2.MX1X2: zero the lowest-level non-zero group."""
    parts = organ.split(".")
    if len(parts) != 4 or not all(parts[:3]):
        return ""
    for i in range(3):
        if parts[i].strip("0"):
            parent = list(parts)
            parent[i] = "0" * len(parts[i])
            return ".".join(parent)
    return ""


# ----------------------------------------------------------------------------------------------
# Fault injection


class FaultRule:
    def __init__(self, kind, value, ops, timeout_ms, seed):
        self.kind = kind
        self.ops = ops  # None = every protocol op
        self.remaining = 0
        self.latency_ms = 0
        self.rate = 0.0
        self.rng = None
        self.timeout_ms = timeout_ms
        if kind == "latency_ms":
            self.latency_ms = int(value)
        elif kind == "fail_rate":
            self.rate = float(value)
            if not 0.0 <= self.rate <= 1.0:
                raise BadRequest(400, "fail_rate must be in [0, 1]")
            self.rng = random.Random(seed)
        else:
            self.remaining = int(value)
        if self.latency_ms < 0 or self.remaining < 0 or self.timeout_ms < 0:
            raise BadRequest(400, "fault values must be >= 0")

    def matches(self, op):
        return self.ops is None or op in self.ops

    def describe(self):
        d = {"kind": self.kind, "ops": sorted(self.ops) if self.ops is not None else None}
        if self.kind == "latency_ms":
            d["latency_ms"] = self.latency_ms
        elif self.kind == "fail_rate":
            d["fail_rate"] = self.rate
        else:
            d["remaining"] = self.remaining
        if self.kind == "timeout":
            d["timeout_ms"] = self.timeout_ms
        return d


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def clear(self):
        with self.lock:
            self.rules = []

    def configure(self, cfg):
        if not isinstance(cfg, dict):
            raise BadRequest(400, "faults body must be a JSON object")
        if not cfg or cfg.get("clear"):
            self.clear()
            return
        add = bool(cfg.get("add", False))
        sources = cfg["rules"] if "rules" in cfg else [cfg]
        if not isinstance(sources, list):
            raise BadRequest(400, "rules must be a list")
        new_rules = []
        for src in sources:
            if not isinstance(src, dict):
                raise BadRequest(400, "each rule must be a JSON object")
            extra = set(src) - FAULT_KEYS - {"add", "clear", "rules"}
            if extra:
                raise BadRequest(400, "unknown fault keys: %s" % ", ".join(sorted(extra)))
            ops = src.get("ops")
            if ops is not None:
                if not isinstance(ops, list) or any(o not in PROTOCOL_OPS for o in ops):
                    raise BadRequest(400, "ops must be a list of: " + ", ".join(PROTOCOL_OPS))
                ops = frozenset(ops)
            try:
                timeout_ms = int(src.get("timeout_ms", 5000))
                for kind in FAULT_KINDS:
                    if kind in src:
                        new_rules.append(FaultRule(kind, src[kind], ops, timeout_ms,
                                                   src.get("seed")))
            except (TypeError, ValueError) as e:
                raise BadRequest(400, "bad fault value: %s" % e)
        with self.lock:
            if add:
                self.rules.extend(new_rules)
            else:
                self.rules = new_rules

    def describe(self):
        with self.lock:
            return [r.describe() for r in self.rules]

    def pre(self, op):
        """Faults decided before processing: returns (latency_ms, action, timeout_ms, kind) where
        action is None, "http500", "drop" or "timeout" and kind the rule kind that fired."""
        with self.lock:
            latency = sum(r.latency_ms for r in self.rules
                          if r.kind == "latency_ms" and r.matches(op))
            for r in self.rules:
                if not r.matches(op):
                    continue
                if r.kind in ("drop", "timeout", "http500", "auth_fail") and r.remaining > 0:
                    r.remaining -= 1
                    return latency, r.kind, r.timeout_ms, r.kind
                if r.kind == "fail_rate" and r.rate > 0 and r.rng.random() < r.rate:
                    return latency, "http500", 0, "fail_rate"
            return latency, None, 0, None

    def take(self, kind, op):
        """Consumes one count of a post-processing fault (http500_after_store, duplicate_list)."""
        with self.lock:
            for r in self.rules:
                if r.kind == kind and r.matches(op) and r.remaining > 0:
                    r.remaining -= 1
                    return True
            return False


# ----------------------------------------------------------------------------------------------
# Axis state


class Entry:
    __slots__ = ("seq", "doc_id", "from_organ", "to", "messagetype", "acked", "status", "created",
                 "updated", "received_at")

    def __init__(self, seq, doc_id, from_organ, to, messagetype):
        self.seq = seq
        self.doc_id = doc_id
        self.from_organ = from_organ
        self.to = to
        self.messagetype = messagetype
        self.acked = False
        self.status = "initial"
        self.created = now_iso()
        self.updated = self.created
        self.received_at = self.created


class Package:
    __slots__ = ("doc_id", "data", "sha256", "messagetype", "from_organ", "sender_system",
                 "document_id", "recipients", "created")

    def __init__(self, doc_id, data, messagetype, from_organ, sender_system, document_id,
                 recipients):
        self.doc_id = doc_id
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.messagetype = messagetype
        self.from_organ = from_organ
        self.sender_system = sender_system
        self.document_id = document_id
        self.recipients = recipients
        self.created = now_iso()


class Axis:
    def __init__(self, systems):
        self.lock = threading.RLock()
        self.systems = {}
        for s in systems:
            self.add_system(s)
        self.faults = Faults()
        self.reset()

    def add_system(self, s):
        if not isinstance(s, dict) or not isinstance(s.get("systemid"), str):
            raise BadRequest(400, "system needs a string systemid")
        try:
            secret = base64.b64decode(s.get("secret_b64", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise BadRequest(400, "secret_b64 of %s is not valid base64" % s.get("systemid"))
        organs = s.get("organ_ids", [])
        if not isinstance(organs, list) or not all(isinstance(o, str) for o in organs):
            raise BadRequest(400, "organ_ids must be a list of strings")
        with self.lock:
            self.systems[s["systemid"]] = {
                "secret": secret,
                "organ_ids": list(dict.fromkeys(organs)),
                "names": s.get("names", {}) if isinstance(s.get("names"), dict) else {},
                "mails": s.get("mails", {}) if isinstance(s.get("mails"), dict) else {},
            }

    def reset(self):
        with self.lock:
            self.seq = itertools.count(1)
            self.packages = {}  # docId -> Package
            self.mailboxes = {}  # organ -> [Entry] (all, FIFO)
            self.pending = {}  # (organ, messagetype) -> {docId: Entry} not yet acked, FIFO
            self.index = {}  # (organ, docId) -> Entry
            self.stats = {
                "sendEdoc_ok": 0,
                "sendEdoc_fail": 0,
                "sendEdoc_stored": 0,
                "requests": {op: 0 for op in PROTOCOL_OPS},
                "protocol_fail": 0,
                "auth_fail": 0,
                "acks_done": 0,
                "acks_fail": 0,
                "injected": 0,
                "faults_injected": 0,
                "faults_by_kind": {k: 0 for k in FAULT_KINDS if k != "latency_ms"},
                "sent_by_document_id": {},
            }
        self.faults.clear()

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def count_fault(self, kind):
        with self.lock:
            self.stats["faults_injected"] += 1
            self.stats["faults_by_kind"][kind] += 1

    def store(self, data, messagetype, from_organ, sender_system, document_id, recipients):
        doc_id = str(uuid.uuid4())
        pkg = Package(doc_id, data, messagetype, from_organ, sender_system, document_id,
                      recipients)
        with self.lock:
            self.packages[doc_id] = pkg
            for organ in recipients:
                e = Entry(next(self.seq), doc_id, from_organ, organ, messagetype)
                self.mailboxes.setdefault(organ, []).append(e)
                self.pending.setdefault((organ, messagetype), {})[doc_id] = e
                self.index[(organ, doc_id)] = e
        return pkg

    def caller_entries(self, systemid, doc_id):
        organs = self.systems[systemid]["organ_ids"]
        return [e for e in (self.index.get((o, doc_id)) for o in organs) if e is not None]

    def list_received(self, systemid, messagetype):
        with self.lock:
            found = []
            for organ in self.systems[systemid]["organ_ids"]:
                box = self.pending.get((organ, messagetype))
                if box:
                    found.extend(itertools.islice(box.values(), LIST_CAP))
            found.sort(key=lambda e: e.seq)
            return [{
                "docId": e.doc_id,
                "from": e.from_organ,
                "to": e.to,
                "status": e.status,
                "status_desc": "Chưa nhận" if e.status == "initial" else "Nhận lỗi",
                "created_time": e.created,
                "updated_time": e.updated,
            } for e in found[:LIST_CAP]]


# ----------------------------------------------------------------------------------------------
# HTTP layer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, handler, axis, log_path, stop_event):
        self.axis = axis
        self.stop_event = stop_event
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else None
        super().__init__(addr, handler)

    def log(self, rec):
        if self.log_file is None:
            return
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        with self.log_lock:
            self.log_file.write(line + "\n")

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def ok(**extra):
    d = {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}
    d.update(extra)
    return d


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK (about 40 ms) on every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "axis-sim/1.0"
    timeout = 300  # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):  # silence the default stderr access log
        pass

    # -- transport helpers --------------------------------------------------------------------

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BadRequest(400, "truncated chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequest(400, "bad chunk size")
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise BadRequest(413, "body too large")
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise BadRequest(400, "truncated chunk")
                chunks.append(chunk)
                self.rfile.readline(3)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise BadRequest(400, "bad Content-Length")
        if n < 0:
            raise BadRequest(400, "bad Content-Length")
        if n > MAX_BODY:
            raise BadRequest(413, "body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BadRequest(400, "truncated body")
        return data

    def send_bytes(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj):
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_bytes(code, body, "application/json; charset=utf-8")

    def hdr(self, key):
        v = self.headers.get(HDR + key)
        if v is None:
            return None
        # http.client decodes header bytes as latin-1: recover the exact bytes received.
        return v.encode("latin-1", "replace").decode("utf-8", "replace").strip()

    def hdr_bytes(self, key):
        v = self.headers.get(HDR + key)
        return None if v is None else v.strip().encode("latin-1", "replace")

    # -- dispatch -----------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = self.read_body()
        except BadRequest as e:
            self.close_connection = True
            self.send_json(e.http_status, {"error": e.desc})
            return
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        try:
            i = path.find("/_sim/")
            if i >= 0:
                self.control(path[i + len("/_sim/"):].strip("/"), query, body)
                return
            op = path.rstrip("/").rsplit("/", 1)[-1]
            if op not in PROTOCOL_OPS:
                self.send_json(404, {"status": "FAIL", "ErrorCode": "404",
                                     "ErrorDesc": "unknown operation %r" % op})
                return
            if self.command != "POST":
                self.send_json(405, {"status": "FAIL", "ErrorCode": "405",
                                     "ErrorDesc": "use POST"})
                return
            self.protocol(op, body)
        except BadRequest as e:
            self.send_json(e.http_status, {"error": e.desc})
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            try:
                self.send_json(500, {"status": "FAIL", "ErrorCode": "500",
                                     "ErrorDesc": "simulator internal error"})
            except OSError:
                pass

    # -- protocol -----------------------------------------------------------------------------

    def protocol(self, op, body):
        srv = self.server
        axis = srv.axis
        with axis.lock:
            axis.stats["requests"][op] += 1
        rec = {"t": now_iso(), "op": op, "system": self.hdr("systemid"), "len": len(body)}
        latency, action, timeout_ms, kind = axis.faults.pre(op)
        if latency:
            srv.stop_event.wait(latency / 1000.0)
        if action is not None:
            axis.count_fault(kind)
            rec["fault"] = kind
            srv.log(rec)
            if action == "http500":
                self.send_json(500, {"status": "FAIL", "ErrorCode": "500",
                                     "ErrorDesc": "injected HTTP 500"})
            elif action == "auth_fail":  # what the axis answers a refused credential
                self.send_json(200, {"status": "FAIL", "ErrorCode": "401",
                                     "ErrorDesc": "hash-header does not match"})
            elif action == "drop":
                self.close_connection = True
            else:  # timeout: hang, then close without answering
                srv.stop_event.wait(timeout_ms / 1000.0)
                self.close_connection = True
            return
        http_status = 200
        try:
            systemid = self.authenticate(op)
            http_status, resp = getattr(self, "op_" + op)(systemid, body, rec)
        except AxisError as e:
            resp = {"status": "FAIL", "ErrorCode": e.code, "ErrorDesc": e.desc}
            axis.count("protocol_fail")
            if op == "sendEdoc":
                axis.count("sendEdoc_fail")
        rec["http"] = http_status
        rec["ErrorCode"] = resp.get("ErrorCode")
        if resp.get("ErrorDesc"):
            rec["ErrorDesc"] = resp["ErrorDesc"]
        srv.log(rec)
        self.send_json(http_status, resp)

    def authenticate(self, op):
        axis = self.server.axis
        try:
            missing = [k for k in REQUIRED_HEADERS if not self.hdr(k)]
            if missing:
                raise AxisError("400", "missing header(s): " +
                                ", ".join(HDR + k for k in missing))
            systemid = self.hdr("systemid")
            with axis.lock:
                system = axis.systems.get(systemid)
            if system is None:
                raise AxisError("404", "unknown systemid %r" % systemid)
            sign_header = self.hdr_bytes("sign-header")
            expected = hmac.new(system["secret"], sign_header, hashlib.sha256).hexdigest()
            given = self.hdr("hash-header")
            if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
                desc = "hash-header does not match HMAC-SHA256 of sign-header"
                if given.lower() == expected:
                    desc += " (hash-header must be lowercase hex)"
                raise AxisError("401", desc)
            try:
                signed = json.loads(sign_header.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise AxisError("402", "sign-header is not valid JSON")
            if not isinstance(signed, dict):
                raise AxisError("402", "sign-header is not a JSON object")
            listed = [k.strip() for k in self.hdr("sign-header-key").split(";") if k.strip()]
            for k in listed:
                if k not in signed:
                    raise AxisError("402", "key %r listed in sign-header-key is not in sign-header"
                                    % k)
            for k, v in signed.items():
                actual = self.hdr(k)
                if not isinstance(v, str) or actual is None or v != actual:
                    raise AxisError("402", "signed %r=%r does not match header %s%s=%r"
                                    % (k, v, HDR, k, actual))
            for k in SIGNED_ALWAYS + SIGNED_PER_OP[op]:
                if k not in signed or k not in listed:
                    raise AxisError("402", "%s%s must be signed (in sign-header and "
                                    "sign-header-key)" % (HDR, k))
            if self.hdr("from") != systemid:
                raise AxisError("403", "from %r differs from systemid %r"
                                % (self.hdr("from"), systemid))
            return systemid
        except AxisError:
            axis.count("auth_fail")
            raise

    def messagetype(self):
        mt = self.hdr("messagetype")
        if mt not in MESSAGE_TYPES:
            raise AxisError("400", "messagetype must be edoc or status, got %r" % mt)
        return mt

    def doc_id(self):
        d = self.hdr("docId")
        if not d:
            raise AxisError("400", "missing %sdocId" % HDR)
        return d

    def op_sendEdoc(self, systemid, body, rec):
        axis = self.server.axis
        mt = self.messagetype()
        if not body:
            raise AxisError("22", "empty body")
        recipients, from_organ, document_id = inspect_package(body, mt)
        pkg = axis.store(body, mt, from_organ or systemid, systemid, document_id, recipients)
        with axis.lock:
            axis.stats["sendEdoc_stored"] += 1
            sbd = axis.stats["sent_by_document_id"]
            sbd[document_id] = sbd.get(document_id, 0) + 1
        rec["docId"] = pkg.doc_id
        rec["to"] = recipients
        if axis.faults.take("http500_after_store", "sendEdoc"):
            axis.count_fault("http500_after_store")
            rec["fault"] = "http500_after_store"
            return 500, {"status": "FAIL", "ErrorCode": "500", "ErrorDesc": "injected HTTP 500"}
        axis.count("sendEdoc_ok")
        return 200, ok(DocId=pkg.doc_id)

    def op_getReceivedEdocList(self, systemid, body, rec):
        axis = self.server.axis
        mt = self.messagetype()
        data = axis.list_received(systemid, mt)
        if axis.faults.take("duplicate_list", "getReceivedEdocList"):
            axis.count_fault("duplicate_list")
            rec["fault"] = "duplicate_list"
            data = data + data
        rec["n"] = len(data)
        return 200, ok(data=data)

    def op_getEdoc(self, systemid, body, rec):
        axis = self.server.axis
        doc_id = self.doc_id()
        rec["docId"] = doc_id
        with axis.lock:
            entries = axis.caller_entries(systemid, doc_id)
            pkg = axis.packages.get(doc_id)
        if not entries or pkg is None:
            raise AxisError("404", "docId %s is not in a mailbox of %s" % (doc_id, systemid))
        return 200, ok(docId=doc_id, messagetype=pkg.messagetype,
                       data=base64.b64encode(pkg.data).decode("ascii"))

    def op_updateStatus(self, systemid, body, rec):
        axis = self.server.axis
        doc_id = self.doc_id()
        status = self.hdr("status")
        rec["docId"] = doc_id
        rec["status"] = status
        if status not in ("done", "fail"):
            raise AxisError("400", "status must be done or fail, got %r" % status)
        with axis.lock:
            entries = axis.caller_entries(systemid, doc_id)
            if not entries:
                raise AxisError("404", "docId %s is not in a mailbox of %s" % (doc_id, systemid))
            t = now_iso()
            for e in entries:
                if e.acked:
                    continue  # acking twice is fine; fail after done changes nothing
                e.status = status
                e.updated = t
                if status == "done":
                    e.acked = True
                    axis.pending.get((e.to, e.messagetype), {}).pop(doc_id, None)
            axis.stats["acks_done" if status == "done" else "acks_fail"] += 1
        return 200, ok()

    def op_getSentEdocList(self, systemid, body, rec):
        axis = self.server.axis
        doc_id = self.doc_id()
        rec["docId"] = doc_id
        with axis.lock:
            pkg = axis.packages.get(doc_id)
            if pkg is None or pkg.sender_system != systemid:
                raise AxisError("404", "docId %s was not sent by %s" % (doc_id, systemid))
            data = []
            for organ in pkg.recipients:
                e = axis.index.get((organ, doc_id))
                data.append({
                    "docId": doc_id,
                    "to": organ,
                    "acked": e.acked,
                    "status": e.status,
                    "created_time": e.created,
                    "updated_time": e.updated,
                })
        return 200, ok(docId=doc_id, data=data)

    def op_getAgenciesList(self, systemid, body, rec):
        axis = self.server.axis
        data, seen = [], set()
        with axis.lock:
            for sid, s in axis.systems.items():
                for organ in s["organ_ids"]:
                    if organ in seen:
                        continue
                    seen.add(organ)
                    data.append({
                        "id": organ,
                        "code": organ,
                        "pid": parent_organ(organ),
                        "name": s["names"].get(organ, "Cơ quan " + organ),
                        "mail": s["mails"].get(organ, organ.lower() + "@axis-sim.local"),
                    })
        return 200, ok(data=data)

    # -- control API --------------------------------------------------------------------------

    def control(self, name, query, body):
        axis = self.server.axis

        def arg(key, required=True):
            v = query.get(key, [None])[0]
            if required and not v:
                raise BadRequest(400, "missing query parameter " + key)
            return v

        def json_body():
            if not body.strip():
                return {}
            try:
                return json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise BadRequest(400, "body is not JSON")

        if name == "ping":
            self.send_json(200, {"ok": True})
        elif name == "faults":
            if self.command == "POST":
                axis.faults.configure(json_body())
            self.send_json(200, {"ok": True, "faults": axis.faults.describe()})
        elif name == "mailbox":
            organ = arg("organ")
            with axis.lock:
                entries = [{
                    "docId": e.doc_id,
                    "from": e.from_organ,
                    "to": e.to,
                    "acked": e.acked,
                    "status": e.status,
                    "messagetype": e.messagetype,
                    "sha256": axis.packages[e.doc_id].sha256,
                    "received_at": e.received_at,
                    "updated_at": e.updated,
                } for e in axis.mailboxes.get(organ, [])]
            self.send_json(200, {"organ": organ, "entries": entries})
        elif name == "package":
            doc_id = arg("docId")
            with axis.lock:
                pkg = axis.packages.get(doc_id)
            if pkg is None:
                raise BadRequest(404, "unknown docId")
            self.send_bytes(200, pkg.data, "application/octet-stream")
        elif name == "inject":
            if self.command != "POST":
                raise BadRequest(405, "use POST")
            organs = [o for o in query.get("organ", []) if o]
            if not organs:
                raise BadRequest(400, "missing query parameter organ")
            mt = arg("messagetype", required=False) or "edoc"
            if mt not in MESSAGE_TYPES:
                raise BadRequest(400, "messagetype must be edoc or status")
            from_organ = arg("from", required=False)
            if not from_organ:
                try:  # best effort: injected bytes may be deliberately broken
                    root = ET.fromstring(body)
                    from_organ = _text(root.find(".//" + qpath("MessageHeader", "From",
                                                                 "OrganId")))
                except ET.ParseError:
                    pass
            pkg = axis.store(body, mt, from_organ or "", "_sim", "", list(dict.fromkeys(organs)))
            axis.count("injected")
            self.server.log({"t": now_iso(), "op": "_sim/inject", "docId": pkg.doc_id,
                             "to": organs, "len": len(body)})
            self.send_json(200, {"docId": pkg.doc_id, "sha256": pkg.sha256})
        elif name == "stats":
            with axis.lock:
                s = json.loads(json.dumps(axis.stats))
                s["packages"] = len(axis.packages)
                s["pending"] = sum(len(v) for v in axis.pending.values())
            s["faults"] = axis.faults.describe()
            self.send_json(200, s)
        elif name == "reset":
            if self.command != "POST":
                raise BadRequest(405, "use POST")
            axis.reset()
            self.send_json(200, {"ok": True})
        elif name == "systems":
            if self.command == "POST":
                cfg = json_body()
                for s in cfg.get("systems", [cfg]) if isinstance(cfg, dict) else []:
                    axis.add_system(s)
            with axis.lock:
                out = [{"systemid": k, "organ_ids": v["organ_ids"]}
                       for k, v in axis.systems.items()]
            self.send_json(200, {"systems": out})
        else:
            raise BadRequest(404, "unknown control endpoint /_sim/" + name)


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="National document exchange axis simulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--systems", required=True, help="JSON SPEC of registered systems")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    args = ap.parse_args(argv)

    with open(args.systems, encoding="utf-8") as f:
        spec = json.load(f)
    try:
        axis = Axis(spec.get("systems", []))
    except BadRequest as e:
        print("axis_sim: bad --systems: %s" % e.desc, file=sys.stderr)
        return 2

    stop = threading.Event()
    server = Server(("127.0.0.1", args.port), Handler, axis, args.log, stop)
    port = server.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="serve", daemon=True)
    t.start()
    print("axis_sim listening on http://127.0.0.1:%d (%d systems)" % (port, len(axis.systems)),
          flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if server.log_file:
        server.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
