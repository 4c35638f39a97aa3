#!/usr/bin/env python3
"""Simulator of the national document exchange axis (VNPT X-Road-style protocol, domain.md section 5).

Usage:
    python3 tests/sim/axis_sim.py --port 0 --port-file PATH --systems SPEC.json [--log PATH]
                                  [--secret SYSTEMID=TEXT ...] [--refuse-credentials HOW]
                                  [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]
                                   [--tls-max-version 1.1|1.2|1.3]]

With --tls-cert/--tls-key it speaks HTTPS only (TLS 1.2 at least; --tls-max-version 1.1 makes it
a TLS 1.1-only server, for refusal tests); with --tls-client-ca a client certificate issued by
that CA is required. Each connection's handshake runs in its own handler thread, after the fault
slow_handshake_ms, so a slow handshake holds up no other connection.

Standard library only. Binds to 127.0.0.1 only. See tests/sim/README.md for the control API.

WHAT THE VERIFIER CHECKS (what the real axis checks, as the vendor SDK 2.0.x signs; domain.md 5)
------------------------------------------------------------------------------------------------
A call carries signed pairs k: v, each also sent as the header XroadVnpt-<k>: <v>, then

    XroadVnpt-sign-header:     {"XroadVnpt-systemid":"gw-h49",...,"XroadVnpt-Content-Type":"application/json"}
    XroadVnpt-sign-header-key: systemid;...;Content-Type        (the member keys without the prefix)
    XroadVnpt-hash-header:     hex(HMAC-SHA256(key = the secret's characters as issued (UTF-8),
                                               msg = the sign-header bytes exactly as received))
    XroadVnpt-version:         3.0.201608     (unsigned)

The verifier HMACs the received string as is (member order and spacing are the client's business;
the SDK's is Java HashMap order). In order, failing with HTTP 200 {"status":"FAIL",ErrorCode,ErrorDesc}:
  400  the headers systemid, timestamp, version, sign-header, sign-header-key, hash-header present
  404  systemid registered ("systemid ... is not registered")
  401  hash-header == the HMAC, lowercase hex, constant time ("hash-header does not match")
  402  sign-header is a flat JSON object of strings, every member named XroadVnpt-<k>; sign-header-key
       lists exactly those <k> in the same order; every XroadVnpt-<k> header equals its signed value
       (and the plain Content-Type header equals the signed Content-Type); the call's keys are signed:
       systemid, timestamp, Content-Type always, plus sendEdoc: from, servicetype, messagetype,
       hash-file; getReceivedEdocList: servicetype, messagetype; getEdoc: docId; updateStatus: docId,
       status; getSentEdocList: servicetype, messagetype, docId (docId may be spelled docid)
  405  timestamp is ddMMyyyy'T'HHmmss+SSSS
  403  from (when present) == systemid ("Don vi gui <from> khong dung voi ma da dang ky: <systemid>")
  400  Content-Type is application/octet-stream for sendEdoc, application/json otherwise; the body is
       the edXML + CRLF (sendEdoc), the two bytes {} (getEdoc, updateStatus) or empty (list calls)
  23   sendEdoc: hash-file == SHA-256 of the body without its trailing CRLF, each byte in lowercase
       hex without zero padding (0x0a -> "a")
"""

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import ssl
import sys
import threading
import traceback
import uuid
import warnings
import xml.etree.ElementTree as ET
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
HDR = "XroadVnpt-"
PROTOCOL_OPS = (
    "sendEdoc",
    "getReceivedEdocList",
    "getEdoc",
    "updateStatus",
    "getSentEdocList",
    "getAgenciesList",
    "getAgenciesListQD20",
)
MESSAGE_TYPES = ("edoc", "status")
LIST_CAP = 100
MAX_BODY = 256 * 1024 * 1024
REQUIRED_HEADERS = ("systemid", "timestamp", "version", "sign-header", "sign-header-key",
                    "hash-header")
SIGNED_ALWAYS = ("systemid", "timestamp", "Content-Type")
SIGNED_PER_OP = {
    "sendEdoc": ("from", "servicetype", "messagetype", "hash-file"),
    "getReceivedEdocList": ("servicetype", "messagetype"),
    "getEdoc": ("docId",),
    "updateStatus": ("docId", "status"),
    "getSentEdocList": ("servicetype", "messagetype", "docId"),
    "getAgenciesList": (),
    "getAgenciesListQD20": ("level",),
}
BODY_KIND = {"sendEdoc": "edxml", "getEdoc": "braces", "updateStatus": "braces",
             "getReceivedEdocList": "empty", "getSentEdocList": "empty", "getAgenciesList": "empty",
             "getAgenciesListQD20": "empty"}
TIMESTAMP_RE = re.compile(r"^[0-9]{8}T[0-9]{6}\+[0-9]{4}$")
# The axis's own answer to a refused credential (domain.md 5), and the other refusals a test can ask for.
REFUSALS = {
    "fail": (200, "401", "hash-header does not match"),
    "from": (200, "403", "Don vi gui {sid} khong dung voi ma da dang ky: {sid}"),
    "http401": (401, "401", "Unauthorized"),
    "http403": (403, "403", "Forbidden"),
}


def hash_file_hex(data):
    """SHA-256 of data, each byte in lowercase hex without zero padding (the SDK's quirk)."""
    return "".join("%x" % b for b in hashlib.sha256(data).digest())


# How getEdoc answers are written (/_sim/getedoc): member order (data_last = status etc. first,
# as the axis does; data_first = data before status/ErrorCode), base64 line length (escaped CRLF
# between lines; 0 = one line), '/' escaped as '\/', and a count of answers that carry the data
# and then status FAIL.
EDOC_SHAPE_DEFAULT = {"order": "default", "wrap": 0, "escape_slash": False, "fail_after_data": 0}

FAULT_KINDS = ("latency_ms", "http500", "http500_after_store", "drop", "timeout", "duplicate_list",
               "fail_rate", "auth_fail", "slow_handshake_ms")
HANDSHAKE_TIMEOUT_S = 30  # a TLS client that never finishes its handshake is dropped after this
FAULT_KEYS = set(FAULT_KINDS) | {"ops", "timeout_ms", "seed"}


now_iso = simlib.now_utc_iso


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
        self.handshake_ms = 0
        if kind == "latency_ms":
            self.latency_ms = int(value)
        elif kind == "slow_handshake_ms":
            self.handshake_ms = int(value)
        elif kind == "fail_rate":
            self.rate = float(value)
            if not 0.0 <= self.rate <= 1.0:
                raise BadRequest(400, "fail_rate must be in [0, 1]")
            self.rng = random.Random(seed)
        else:
            self.remaining = int(value)
        if self.latency_ms < 0 or self.remaining < 0 or self.timeout_ms < 0 or self.handshake_ms < 0:
            raise BadRequest(400, "fault values must be >= 0")

    def matches(self, op):
        return self.ops is None or op in self.ops

    def describe(self):
        d = {"kind": self.kind, "ops": sorted(self.ops) if self.ops is not None else None}
        if self.kind == "latency_ms":
            d["latency_ms"] = self.latency_ms
        elif self.kind == "slow_handshake_ms":
            d["slow_handshake_ms"] = self.handshake_ms
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

    def handshake_delay_ms(self):
        """The delay before a TLS connection's handshake (sum of slow_handshake_ms rules; ops do
        not apply: the handshake comes before any request)."""
        with self.lock:
            return sum(r.handshake_ms for r in self.rules if r.kind == "slow_handshake_ms")

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
        self.proto_open = 0  # connections open now that carried a protocol request (not reset)
        self.systems = {}
        for s in systems:
            self.add_system(s)
        self.faults = Faults()
        self.refusal = None
        # What the list calls serve: None (no directory: empty lists, so a gateway routes every
        # recipient to its default axis), "spec" (the SPEC's organ ids), or
        # {"agencies": [...], "qd20": [...]}.
        self.directory = None
        self.levels = []  # the `level` of every getAgenciesListQD20 call, in order
        self.reset()

    def set_directory(self, cfg):
        """cfg: {"agencies": [{id, code, pid, name, mail, oldCode}], "qd20": [{id, code, name,
        mail, code102}]} (each optional), {"from_spec": true} to serve the SPEC's organ ids, or
        {"clear": true} for no directory (empty lists)."""
        if not isinstance(cfg, dict):
            raise BadRequest(400, "directory body must be a JSON object")
        extra = set(cfg) - {"agencies", "qd20", "clear", "from_spec"}
        if extra:
            raise BadRequest(400, "unknown keys: %s" % ", ".join(sorted(extra)))
        if cfg.get("clear") or cfg.get("from_spec"):
            with self.lock:
                self.directory = "spec" if cfg.get("from_spec") else None
            return
        d = {}
        for key in ("agencies", "qd20"):
            rows = cfg.get(key, [])
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise BadRequest(400, "%s must be a list of objects" % key)
            d[key] = rows
        with self.lock:
            self.directory = d

    def add_system(self, s):
        if not isinstance(s, dict) or not isinstance(s.get("systemid"), str):
            raise BadRequest(400, "system needs a string systemid")
        # The secret is the text as the axis issues it (44 characters that look like base64); its
        # UTF-8 bytes are the HMAC key, it is never decoded. "secret_b64" is the older name of it.
        secret = s.get("secret", s.get("secret_b64"))
        if not isinstance(secret, str) or not secret:
            raise BadRequest(400, "system %s needs a non-empty string secret" % s["systemid"])
        organs = s.get("organ_ids", [])
        if not isinstance(organs, list) or not all(isinstance(o, str) for o in organs):
            raise BadRequest(400, "organ_ids must be a list of strings")
        with self.lock:
            old = self.systems.get(s["systemid"])
            if "organ_ids" not in s and old is not None:
                organs = old["organ_ids"]
            self.systems[s["systemid"]] = {
                "secret": secret.encode("utf-8"),
                "organ_ids": list(dict.fromkeys(organs)),
                "names": s.get("names", {}) if isinstance(s.get("names"), dict) else {},
                "mails": s.get("mails", {}) if isinstance(s.get("mails"), dict) else {},
            }

    def set_refusal(self, cfg):
        """cfg: {"refuse": bool, "how": fail|from|http401|http403, "ops": [...], "desc": text}."""
        if not isinstance(cfg, dict):
            raise BadRequest(400, "credentials body must be a JSON object")
        extra = set(cfg) - {"refuse", "how", "ops", "desc"}
        if extra:
            raise BadRequest(400, "unknown keys: %s" % ", ".join(sorted(extra)))
        if not cfg.get("refuse", True):
            with self.lock:
                self.refusal = None
            return
        how = cfg.get("how", "fail")
        if how not in REFUSALS:
            raise BadRequest(400, "how must be one of: " + ", ".join(REFUSALS))
        ops = cfg.get("ops")
        if ops is not None and (not isinstance(ops, list) or any(o not in PROTOCOL_OPS
                                                                 for o in ops)):
            raise BadRequest(400, "ops must be a list of: " + ", ".join(PROTOCOL_OPS))
        desc = cfg.get("desc")
        if desc is not None and not isinstance(desc, str):
            raise BadRequest(400, "desc must be a string")
        with self.lock:
            self.refusal = {"how": how, "ops": None if ops is None else sorted(ops), "desc": desc}

    def refusal_for(self, op, systemid):
        """(http_status, answer) if credentials are being refused for op, else None."""
        with self.lock:
            r = self.refusal
            if r is None or (r["ops"] is not None and op not in r["ops"]):
                return None
            self.stats["credentials_refused"] += 1
            self.stats["auth_fail"] += 1
        status, code, desc = REFUSALS[r["how"]]
        desc = (r["desc"] or desc).replace("{sid}", systemid or "")
        return status, {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc}

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
                "credentials_refused": 0,
                "acks_done": 0,
                "acks_fail": 0,
                "injected": 0,
                "faults_injected": 0,
                "faults_by_kind": {k: 0 for k in FAULT_KINDS
                                   if k not in ("latency_ms", "slow_handshake_ms")},
                "tls_handshakes": 0,
                "tls_handshake_failures": 0,
                "tls_slow_handshakes": 0,
                "sent_by_document_id": {},
                "getEdoc_cut": 0,
                "getEdoc_written": {},
                "connections": 0,
                "protocol_connections": 0,
                "protocol_connections_peak": self.proto_open,
            }
            self.refusal = None
            self.edoc_shape = dict(EDOC_SHAPE_DEFAULT)
        self.faults.clear()

    def set_edoc_shape(self, cfg):
        if not isinstance(cfg, dict) or set(cfg) - set(EDOC_SHAPE_DEFAULT):
            raise BadRequest(400, "getedoc keys: " + ", ".join(EDOC_SHAPE_DEFAULT))
        shape = dict(EDOC_SHAPE_DEFAULT)
        shape.update(cfg)
        if shape["order"] not in ("default", "data_first", "data_last"):
            raise BadRequest(400, "order must be default, data_first or data_last")
        try:
            shape["wrap"] = int(shape["wrap"])
            shape["fail_after_data"] = int(shape["fail_after_data"])
        except (TypeError, ValueError):
            raise BadRequest(400, "wrap and fail_after_data are numbers")
        if shape["wrap"] < 0 or shape["fail_after_data"] < 0:
            raise BadRequest(400, "wrap and fail_after_data must be >= 0")
        shape["escape_slash"] = bool(shape["escape_slash"])
        with self.lock:
            self.edoc_shape = shape

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def protocol_connection(self, opened):
        """A connection carried its first protocol request (opened) or closed after one."""
        with self.lock:
            if opened:
                self.proto_open += 1
                self.stats["protocol_connections"] += 1
                if self.proto_open > self.stats["protocol_connections_peak"]:
                    self.stats["protocol_connections_peak"] = self.proto_open
            else:
                self.proto_open -= 1

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

    def __init__(self, addr, handler, axis, log_path, stop_event, tls_ctx=None):
        self.axis = axis
        self.tls_ctx = tls_ctx
        self.stop_event = stop_event
        self.jlog = simlib.JsonLog(log_path)
        super().__init__(addr, handler)

    def log(self, rec):
        self.jlog.write(rec)

    def process_request(self, request, client_address):
        self.axis.count("connections")  # every TCP connection accepted
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        """Runs in the connection's own thread: with TLS, the (possibly delayed) handshake first,
        so that one slow or failing handshake holds up no other connection."""
        if self.tls_ctx is None:
            return super().finish_request(request, client_address)
        delay = self.axis.faults.handshake_delay_ms()
        if delay:
            self.axis.count("tls_slow_handshakes")
            if self.stop_event.wait(delay / 1000.0):
                return
        try:
            request.settimeout(HANDSHAKE_TIMEOUT_S)
            tls = self.tls_ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError):
            return
        try:
            try:
                tls.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.axis.count("tls_handshake_failures")
                self.log({"event": "tls_handshake_failed", "error": str(e)[:200]})
                return
            self.axis.count("tls_handshakes")
            tls.settimeout(None)
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class EdocAnswer:
    """A getEdoc answer written in slices (the package can be tens of MB): the members in the
    configured order (/_sim/getedoc), the base64 optionally wrapped with escaped CRLFs and with
    '/' escaped as '\\/' (both legal JSON an axis may produce)."""

    SLICE = 3 * 1024 * 1024

    def __init__(self, doc_id, messagetype, data, shape):
        self.b64 = base64.b64encode(data)
        self.shape = dict(shape)
        fail = self.shape.get("fail_after_data")
        head = {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}
        if fail:
            head = {"status": "FAIL", "ErrorCode": "500", "ErrorDesc": "injected FAIL after data"}
        rest = {"docId": doc_id, "messagetype": messagetype}
        if fail or self.shape.get("order") == "data_first":
            self.before, self.after = {}, dict(rest, **head)
        else:
            self.before, self.after = dict(head, **rest), {}
        self.status = head["status"]

    def _members(self, d):
        return ",".join(json.dumps(k) + ":" + json.dumps(v, ensure_ascii=False)
                        for k, v in d.items()).encode("utf-8")

    def _data_len(self):
        n = len(self.b64)
        if self.shape.get("escape_slash"):
            n += self.b64.count(b"/")
        wrap = self.shape.get("wrap") or 0
        if wrap and len(self.b64) > wrap:
            n += 4 * ((len(self.b64) - 1) // wrap)
        return n

    def _data_slices(self):
        wrap = self.shape.get("wrap") or 0
        step = self.SLICE - self.SLICE % wrap if wrap else self.SLICE
        for off in range(0, len(self.b64), step):
            piece = self.b64[off:off + step]
            if wrap:
                piece = b"\\r\\n".join(piece[i:i + wrap] for i in range(0, len(piece), wrap))
                if off:
                    piece = b"\\r\\n" + piece
            if self.shape.get("escape_slash"):
                piece = piece.replace(b"/", b"\\/")
            yield piece

    def write(self, handler, axis=None, doc_id=None):
        """Writes the answer; with axis, records in its stats how many bytes of the answer were
        written (getEdoc_written[docId]) and counts answers the client cut off (getEdoc_cut)."""
        before = self._members(self.before)
        after = self._members(self.after)
        head = b"{" + before + (b"," if before else b"") + b'"data":"'
        tail = b'"' + (b"," if after else b"") + after + b"}"
        total = len(head) + self._data_len() + len(tail)
        written = 0
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            for piece in itertools.chain((head,), self._data_slices(), (tail,)):
                handler.wfile.write(piece)
                written += len(piece)
        except (ConnectionError, TimeoutError):
            if axis is not None:
                with axis.lock:
                    axis.stats["getEdoc_cut"] += 1
                    axis.stats["getEdoc_written"][doc_id] = written
            raise
        if axis is not None:
            with axis.lock:
                axis.stats["getEdoc_written"][doc_id] = written


def ok(**extra):
    d = {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}
    d.update(extra)
    return d


class Handler(simlib.DispatchHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK (about 40 ms) on every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "axis-sim/1.0"
    timeout = 300  # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):  # silence the default stderr access log
        pass

    def finish(self):
        if getattr(self, "proto_counted", False):
            self.proto_counted = False
            self.server.axis.protocol_connection(False)
        super().finish()

    # -- transport helpers --------------------------------------------------------------------

    def read_body(self):
        try:
            return simlib.read_body(self.rfile, self.headers, MAX_BODY)
        except simlib.BodyError as e:
            raise BadRequest(e.http_status, e.desc)

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
        if not getattr(self, "proto_counted", False):
            self.proto_counted = True  # this connection's first protocol request
            axis.protocol_connection(True)
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
        refused = axis.refusal_for(op, self.hdr("systemid"))
        if refused is not None:
            rec["http"], resp = refused
            rec["ErrorCode"] = resp["ErrorCode"]
            rec["ErrorDesc"] = resp["ErrorDesc"]
            rec["refused"] = True
            srv.log(rec)
            self.send_json(refused[0], resp)
            return
        http_status = 200
        try:
            systemid = self.authenticate(op, body)
            http_status, resp = getattr(self, "op_" + op)(systemid, body, rec)
        except AxisError as e:
            resp = {"status": "FAIL", "ErrorCode": e.code, "ErrorDesc": e.desc}
            axis.count("protocol_fail")
            if op == "sendEdoc":
                axis.count("sendEdoc_fail")
        rec["http"] = http_status
        if isinstance(resp, EdocAnswer):
            rec["status"] = resp.status
            srv.log(rec)
            resp.write(self, axis, rec.get("docId"))
            return
        rec["ErrorCode"] = resp.get("ErrorCode")
        if resp.get("ErrorDesc"):
            rec["ErrorDesc"] = resp["ErrorDesc"]
        srv.log(rec)
        self.send_json(http_status, resp)

    def authenticate(self, op, body):
        axis = self.server.axis
        try:
            systemid = self.verify_signature(op)
        except AxisError:
            axis.count("auth_fail")
            raise
        self.verify_call(op, systemid, body)
        return systemid

    def verify_signature(self, op):
        """The checks the axis makes of the signed headers; returns the caller's systemid."""
        axis = self.server.axis
        missing = [k for k in REQUIRED_HEADERS if not self.hdr(k)]
        if missing:
            raise AxisError("400", "missing header(s): " + ", ".join(HDR + k for k in missing))
        systemid = self.hdr("systemid")
        with axis.lock:
            system = axis.systems.get(systemid)
        if system is None:
            raise AxisError("404", "systemid %s is not registered" % systemid)
        sign_header = self.hdr_bytes("sign-header")
        expected = hmac.new(system["secret"], sign_header, hashlib.sha256).hexdigest()
        given = self.hdr("hash-header")
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise AxisError("401", "hash-header does not match")
        try:
            members = json.loads(sign_header.decode("utf-8"), object_pairs_hook=list)
        except (UnicodeDecodeError, ValueError):
            raise AxisError("402", "sign-header is not valid JSON")
        if not isinstance(members, list):
            raise AxisError("402", "sign-header is not a JSON object")
        keys = []
        signed = {}
        for name, value in members:
            if not name.startswith(HDR) or len(name) == len(HDR):
                raise AxisError("402", "sign-header member %r is not named %s<key>" % (name, HDR))
            if not isinstance(value, str):
                raise AxisError("402", "sign-header member %s is not a string" % name)
            k = name[len(HDR):]
            if k in signed:
                raise AxisError("402", "sign-header has %s twice" % name)
            keys.append(k)
            signed[k] = value
        listed = self.hdr("sign-header-key")
        if listed != ";".join(keys):
            raise AxisError("402", "sign-header-key %r does not list the sign-header members %r"
                            % (listed, ";".join(keys)))
        for k, v in signed.items():
            actual = self.hdr(k)
            if actual != v:
                raise AxisError("402", "sign-header %s%s=%r differs from header %s%s=%r"
                                % (HDR, k, v, HDR, k, actual))
        if "Content-Type" in signed:
            plain = self.headers.get("Content-Type")
            plain = None if plain is None else plain.strip()
            if plain != signed["Content-Type"]:
                raise AxisError("402", "sign-header %sContent-Type=%r differs from Content-Type=%r"
                                % (HDR, signed["Content-Type"], plain))
        if "docid" in signed and "docId" not in signed:
            signed["docId"] = signed["docid"]  # some clients spell it so; the axis accepts both
        for k in SIGNED_ALWAYS + SIGNED_PER_OP[op]:
            if k not in signed:
                raise AxisError("402", "sign-header lacks %s%s" % (HDR, k))
        if not TIMESTAMP_RE.match(signed["timestamp"]):
            raise AxisError("405", "timestamp %r is not ddMMyyyy'T'HHmmss+SSSS"
                            % signed["timestamp"])
        if "from" in signed and signed["from"] != systemid:
            raise AxisError("403", "Don vi gui %s khong dung voi ma da dang ky: %s"
                            % (signed["from"], systemid))
        self.signed = signed
        return systemid

    def verify_call(self, op, systemid, body):
        """Content-Type and body of the call (after the signature): refusals of the request."""
        want = "application/octet-stream" if op == "sendEdoc" else "application/json"
        if self.signed["Content-Type"] != want:
            raise AxisError("400", "Content-Type must be %s for %s, got %r"
                            % (want, op, self.signed["Content-Type"]))
        kind = BODY_KIND[op]
        if kind == "edxml":
            if not body.endswith(b"\r\n"):
                raise AxisError("400", "sendEdoc body must be the edXML followed by CRLF")
            if self.signed["hash-file"] != hash_file_hex(body[:-2]):
                raise AxisError("23", "hash-file does not match the file")
        elif kind == "braces" and body != b"{}":
            raise AxisError("400", "%s body must be {}, got %d bytes" % (op, len(body)))
        elif kind == "empty" and body:
            raise AxisError("400", "%s body must be empty, got %d bytes" % (op, len(body)))

    def messagetype(self):
        mt = self.signed.get("messagetype")
        if mt not in MESSAGE_TYPES:
            raise AxisError("400", "messagetype must be edoc or status, got %r" % mt)
        return mt

    def doc_id(self):
        d = self.signed.get("docId")
        if not d:
            raise AxisError("400", "missing %sdocId" % HDR)
        return d

    def op_sendEdoc(self, systemid, body, rec):
        axis = self.server.axis
        mt = self.messagetype()
        body = body[:-2]  # the trailing CRLF (checked with hash-file) is not part of the edXML
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
        with axis.lock:
            shape = dict(axis.edoc_shape)
            if axis.edoc_shape["fail_after_data"] > 0:
                axis.edoc_shape["fail_after_data"] -= 1
        rec["shape"] = shape
        return 200, EdocAnswer(doc_id, pkg.messagetype, pkg.data, shape)

    def op_updateStatus(self, systemid, body, rec):
        axis = self.server.axis
        doc_id = self.doc_id()
        status = self.signed.get("status")
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
            if axis.directory is None:
                return 200, ok(data=[])
            if axis.directory != "spec":
                return 200, ok(data=list(axis.directory["agencies"]))
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

    def op_getAgenciesListQD20(self, systemid, body, rec):
        """The QĐ 20 list: the directory's "qd20" rows (none when no directory is set)."""
        axis = self.server.axis
        rec["level"] = self.signed["level"]
        with axis.lock:
            axis.levels.append(self.signed["level"])
            d = axis.directory
            rows = list(d["qd20"]) if isinstance(d, dict) else []
        return 200, ok(data=rows)

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
        elif name == "getedoc":
            if self.command == "POST":
                axis.set_edoc_shape(json_body())
            with axis.lock:
                shape = dict(axis.edoc_shape)
            self.send_json(200, {"ok": True, "getedoc": shape})
        elif name == "credentials":
            if self.command == "POST":
                axis.set_refusal(json_body())
            with axis.lock:
                r = axis.refusal
            self.send_json(200, {"ok": True, "refusing": r is not None, "refusal": r})
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
        elif name == "directory":
            if self.command == "POST":
                axis.set_directory(json_body())
            with axis.lock:
                d = axis.directory
                levels = list(axis.levels)
            self.send_json(200, {"ok": True, "directory": d, "levels": levels})
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


TLS_VERSIONS = {"1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2,
                "1.3": ssl.TLSVersion.TLSv1_3}


def tls_context(args):
    """The server side: TLS 1.2 at least (or exactly 1.1 for --tls-max-version 1.1), the given
    certificate, and a required client certificate when --tls-client-ca is given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if args.tls_max_version == "1.1":
        # OpenSSL 3 offers TLS 1.1 only at security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1, on purpose
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if args.tls_max_version:
            ctx.maximum_version = TLS_VERSIONS[args.tls_max_version]
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    if args.tls_client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=args.tls_client_ca)
    return ctx


def main(argv=None):
    ap = argparse.ArgumentParser(description="National document exchange axis simulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--systems", required=True, help="JSON SPEC of registered systems")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--secret", action="append", default=[], metavar="SYSTEMID=TEXT",
                    help="set the secret (the text as issued) of a system of SPEC; repeatable")
    ap.add_argument("--directory", help="JSON file {agencies: [...], qd20: [...]} served by "
                    "getAgenciesList and getAgenciesListQD20 (default: the SPEC's organ ids)")
    ap.add_argument("--refuse-credentials", choices=sorted(REFUSALS), metavar="HOW",
                    help="start refusing every call's credentials: " + ", ".join(REFUSALS))
    ap.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain)")
    ap.add_argument("--tls-key", metavar="PEM", help="its private key")
    ap.add_argument("--tls-client-ca", metavar="PEM",
                    help="require a client certificate issued by this CA")
    ap.add_argument("--tls-max-version", choices=("1.1", "1.2", "1.3"),
                    help="highest TLS version offered (1.1: a TLS 1.1-only server; default: "
                    "OpenSSL's highest)")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_client_ca and not args.tls_cert):
        ap.error("--tls-cert and --tls-key go together; --tls-client-ca needs them")

    with open(args.systems, encoding="utf-8") as f:
        spec = json.load(f)
    try:
        systems = spec.get("systems", [])
        for item in args.secret:
            sid, eq, text = item.partition("=")
            match = [s for s in systems if isinstance(s, dict) and s.get("systemid") == sid]
            if not eq or not match:
                raise BadRequest(400, "--secret %r names no system of SPEC" % item)
            for s in match:
                s.pop("secret_b64", None)
                s["secret"] = text
        axis = Axis(systems)
        if args.refuse_credentials:
            axis.set_refusal({"how": args.refuse_credentials})
        if args.directory:
            with open(args.directory, encoding="utf-8") as f:
                axis.set_directory(json.load(f))
    except BadRequest as e:
        print("axis_sim: bad --systems/--secret: %s" % e.desc, file=sys.stderr)
        return 2

    tls_ctx = None
    if args.tls_cert:
        try:
            tls_ctx = tls_context(args)
        except (OSError, ssl.SSLError, ValueError) as e:
            print("axis_sim: TLS setup failed: %s" % e, file=sys.stderr)
            return 2
    stop = threading.Event()
    server = Server(("127.0.0.1", args.port), Handler, axis, args.log, stop, tls_ctx)
    port = server.server_address[1]
    if args.port_file:
        simlib.write_port_file(args.port_file, port)
    rc = simlib.serve_until_signal(
        server, "axis_sim listening on %s://127.0.0.1:%d (%d systems)"
        % ("https" if tls_ctx else "http", port, len(axis.systems)),
        stop)
    server.jlog.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
