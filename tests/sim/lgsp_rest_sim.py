#!/usr/bin/env python3
"""Simulator of a REST v2.2 style provincial document exchange axis (domain.md section 5).

Usage:
    python3 tests/sim/lgsp_rest_sim.py --port 0 --port-file PATH --spec SPEC.json [--log PATH]
            [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

Standard library only. Binds to 127.0.0.1 only. See tests/sim/README.md for the protocol checks,
the control API (/_sim/...) and the faults.

Protocol (every answer is JSON with a Content-Length, HTTP/1.1 keep-alive):
    POST /v1/auth/login?allow_anonymous=true   JSON {username, password, applicationCode, otp,
                                               twoFactorProvider, typeObjs} -> data {token, expiresIn}
    POST /v1/sendEdoc                          multipart/form-data: file part edocFile, field
                                               messageType edoc|status -> {success, message, docId}
    GET  /v1/syncReceivedEdocList?messageType=&fromDate=YYYY/MM/DD&toDate=YYYY/MM/DD
    GET  /v1/getEdoc?docId=
    POST /v1/updateStatus                      JSON {docId, status done|fail|processing}
Every call but login carries X-SystemId, X-SecretKey (wrong: HTTP 200 errorCode 15) and
Authorization: Bearer <token> issued to that system (unknown, expired, revoked: HTTP 401).
"""

import argparse
import base64
import email.message
import email.parser
import email.policy
import email.utils
import hmac
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
OPS = ("login", "sendEdoc", "syncReceivedEdocList", "getEdoc", "updateStatus")
METHODS = {"login": "POST", "sendEdoc": "POST", "syncReceivedEdocList": "GET", "getEdoc": "GET",
           "updateStatus": "POST"}
MESSAGE_TYPES = ("edoc", "status")
ACK_STATUSES = ("done", "fail", "processing")
ENCODINGS = ("raw", "base64")
MAX_BODY = 256 * 1024 * 1024
MAX_JSON_BODY = 1024 * 1024
MAX_BOUNDARY = 70  # RFC 2046
MAX_PART_HEADERS = 16 * 1024
HANDSHAKE_TIMEOUT_S = 30
LOG_CAP = 100000
DATE_RE = re.compile(r"^([0-9]{4})/([0-9]{2})/([0-9]{2})$")
ERROR_DESC = {
    10: "File không hợp lệ",
    15: "SystemId hoặc SecretKey không đúng",
    18: "Đơn vị nhận không tồn tại",
    19: "Đơn vị gửi chưa được đăng ký",
    20: "Lỗi hệ thống trục",
    21: "Lỗi xử lý file",
    22: "Gói tin edXML không đúng chuẩn",
    23: "Đơn vị nhận đang bị khóa",
}
STATUS_DESC = {"pending": "Chưa nhận", "done": "Đã nhận"}
ONE_SHOT = ("drop", "partial", "http_status", "error_code")  # in order of precedence
FAULT_KEYS = {"http_status", "count", "ops", "delay_ms", "drop", "partial", "error_code",
              "refuse_credentials", "expire_tokens", "token_lifetime_s", "slow_handshake_ms",
              "edxml_encoding", "clear"}


class ApiError(Exception):
    """An answer other than success: HTTP status and JSON body."""

    def __init__(self, http_status, body, result):
        super().__init__(result)
        self.http_status = http_status
        self.body = body
        self.result = result


def http_error(status, message):
    return ApiError(status, {"success": False, "message": message}, "http:%d" % status)


def axis_error(code, desc=None, op=None, doc_id=None):
    desc = desc or ERROR_DESC.get(code, "Lỗi không xác định")
    data = {"errorCode": code, "errorDesc": desc}
    if op == "sendEdoc":
        data = {"docId": doc_id, "status": "fail", "errorCode": code, "errorDesc": desc}
    return ApiError(200, {"success": False, "message": desc, "data": data}, "error:%d" % code)


# -- multipart/form-data (RFC 7578 over RFC 2046 framing), parsed by hand for the exact bytes --


class Part:
    def __init__(self, headers, data):
        self.headers = headers  # {lowercase name: value}
        self.data = data
        self.name = None
        self.filename = None
        cd = headers.get("content-disposition")
        if cd is None:
            raise http_error(400, "multipart part without Content-Disposition")
        m = email.message.Message()
        m["Content-Disposition"] = cd
        if m.get_content_disposition() != "form-data":
            raise http_error(400, "multipart part disposition is not form-data: %r" % cd)
        name = m.get_param("name", header="content-disposition")
        filename = m.get_param("filename", header="content-disposition")
        self.name = email.utils.collapse_rfc2231_value(name) if name is not None else None
        self.filename = (email.utils.collapse_rfc2231_value(filename)
                         if filename is not None else None)
        if not self.name:
            raise http_error(400, "multipart part without a name")
        cte = headers.get("content-transfer-encoding")
        if cte is not None and cte.strip().lower() not in ("7bit", "8bit", "binary"):
            raise http_error(400, "multipart part %r: Content-Transfer-Encoding %r not supported"
                             % (self.name, cte))


def multipart_boundary(ctype):
    if not ctype:
        raise http_error(400, "sendEdoc needs Content-Type multipart/form-data")
    msg = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(
        "Content-Type: %s\r\n\r\n" % ctype)
    if msg.get_content_type() != "multipart/form-data":
        raise http_error(400, "sendEdoc needs Content-Type multipart/form-data, not %r" % ctype)
    boundary = msg.get_param("boundary")
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise http_error(400, "multipart/form-data without a valid boundary")
    return boundary.encode("latin-1", "replace")


def _find_delimiter(body, delim, start):
    """Position of the next CRLF--boundary that is a delimiter line (followed by '--', or by
    optional blanks and CRLF), or -1."""
    probe = b"\r\n" + delim
    while True:
        i = body.find(probe, start)
        if i < 0:
            return -1
        j = i + len(probe)
        if body[j:j + 2] == b"--":
            return i
        k = j
        while body[k:k + 1] in (b" ", b"\t"):
            k += 1
        if body[k:k + 2] == b"\r\n":
            return i
        start = i + 1


def _part_headers(block):
    headers = {}
    for line in block.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            raise http_error(400, "folded multipart part header")
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise http_error(400, "bad multipart part header %r" % line[:80])
        key = name.strip().decode("latin-1").lower()
        headers[key] = value.strip().decode("utf-8", "replace")
    return headers


def parse_multipart(ctype, body):
    """The parts of a multipart/form-data body, each with its exact bytes."""
    delim = b"--" + multipart_boundary(ctype)
    if body.startswith(delim):
        pos = len(delim)
    else:
        i = _find_delimiter(body, delim, 0)
        if i < 0:
            raise http_error(400, "multipart body does not contain its boundary")
        pos = i + 2 + len(delim)
    parts = []
    while True:
        if body[pos:pos + 2] == b"--":
            break  # close delimiter; the epilogue is ignored
        while body[pos:pos + 1] in (b" ", b"\t"):
            pos += 1
        if body[pos:pos + 2] != b"\r\n":
            raise http_error(400, "multipart boundary line not ended by CRLF")
        pos += 2
        if body[pos:pos + 2] == b"\r\n":
            hblock, data_start = b"", pos + 2
        else:
            hend = body.find(b"\r\n\r\n", pos, pos + MAX_PART_HEADERS)
            if hend < 0:
                raise http_error(400, "multipart part headers not ended by an empty line")
            hblock, data_start = body[pos:hend], hend + 4
        nxt = _find_delimiter(body, delim, data_start)
        if nxt < 0:
            raise http_error(400, "multipart body without its closing boundary")
        parts.append(Part(_part_headers(hblock), body[data_start:nxt]))
        pos = nxt + 2 + len(delim)
    if not parts:
        raise http_error(400, "multipart body without parts")
    return parts


# -- edXML -------------------------------------------------------------------------------------


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns_ok(tag):
    return isinstance(tag, str) and (tag.startswith("{%s}" % NS) or not tag.startswith("{"))


def _child(el, name):
    if el is None:
        return None
    for c in el:
        if _ns_ok(c.tag) and _local(c.tag) == name:
            return c
    return None


def _children(el, name):
    return [] if el is None else [c for c in el if _ns_ok(c.tag) and _local(c.tag) == name]


def _text(el):
    return (el.text or "").strip() if el is not None else ""


def inspect_package(data, message_type):
    """(recipients, info) of a package, info = from, fromName, edocCode, edocAbstract; raises
    errorCode 22 when it is not XML or names no recipient."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise axis_error(22, "Gói tin không phải XML hợp lệ: %s" % e, "sendEdoc")
    header = _child(_child(_child(root, "edXMLEnvelope"), "edXMLHeader"), "MessageHeader")
    frm = _child(header, "From")
    info = {"from": _text(_child(frm, "OrganId")), "fromName": _text(_child(frm, "OrganName")),
            "edocCode": "", "edocAbstract": ""}
    recipients = []
    if message_type == "edoc":
        for to in _children(header, "To"):
            recipients.append(_text(_child(to, "OrganId")))
        for el in root.iter():
            if _ns_ok(el.tag) and _local(el.tag) == "Receiver":
                recipients.append(_text(_child(el, "OrganId")))
        code = _child(header, "Code")
        number, notation = _text(_child(code, "CodeNumber")), _text(_child(code, "CodeNotation"))
        info["edocCode"] = "%s/%s" % (number, notation) if notation else number
        info["edocAbstract"] = _text(_child(header, "Subject"))
    else:
        for rf in _children(header, "ResponseFor"):
            recipients.append(_text(_child(rf, "OrganId")))
        info["edocAbstract"] = _text(_child(header, "Description"))
    out = []
    for r in recipients:
        if r and r != "null" and r not in out:
            out.append(r)
    if not out:
        raise axis_error(22, "Gói tin không có đơn vị nhận", "sendEdoc")
    return out, info


# -- state -------------------------------------------------------------------------------------


class Token:
    def __init__(self, value, systemid, expires):
        self.value = value
        self.systemid = systemid
        self.expires = expires
        self.revoked = False


class Package:
    def __init__(self, doc_id, data, message_type, info, created_vn):
        self.doc_id = doc_id
        self.data = data
        self.message_type = message_type
        self.info = info
        self.created = created_vn  # aware datetime in UTC+7
        self.updated = created_vn


class Entry:
    """One package in one organ's mailbox."""

    def __init__(self, pkg, organ):
        self.pkg = pkg
        self.organ = organ
        self.status = "pending"  # the last updateStatus of the system reading the organ
        self.updated = pkg.created


class Faults:
    def __init__(self):
        self.cfg = {}
        self.left = {}

    def configure(self, cfg):
        if not isinstance(cfg, dict):
            raise http_error(400, "faults must be a JSON object")
        unknown = set(cfg) - FAULT_KEYS
        if unknown:
            raise http_error(400, "unknown fault keys: %s" % ", ".join(sorted(unknown)))
        if cfg.get("clear"):
            cfg = {}
        ops = cfg.get("ops")
        if ops is not None and (not isinstance(ops, list) or set(ops) - set(OPS)):
            raise http_error(400, "ops must be a list of %s" % ", ".join(OPS))
        enc = cfg.get("edxml_encoding")
        if enc is not None and enc not in ENCODINGS:
            raise http_error(400, "edxml_encoding must be raw or base64")
        count = cfg.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise http_error(400, "count must be a non-negative integer")
        left = {}
        for kind in ONE_SHOT:
            v = cfg.get(kind)
            if v is None or v is False:
                continue
            if kind in ("drop", "partial") and not isinstance(v, (bool, int)):
                raise http_error(400, "%s must be true or a count" % kind)
            if kind in ("drop", "partial") and not isinstance(v, bool):
                if v < 0:
                    raise http_error(400, "%s must be true or a count" % kind)
                left[kind] = v
            elif kind in ("http_status", "error_code") and (
                    not isinstance(v, int) or isinstance(v, bool)):
                raise http_error(400, "%s must be an integer" % kind)
            else:
                left[kind] = count
        if "http_status" in left and not 100 <= cfg["http_status"] <= 599:
            raise http_error(400, "http_status must be in 100..599")
        for key in ("delay_ms", "token_lifetime_s", "slow_handshake_ms"):
            v = cfg.get(key)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
                raise http_error(400, "%s must be a non-negative number" % key)
        self.cfg = dict(cfg)
        self.left = left

    def matches(self, op):
        ops = self.cfg.get("ops")
        return ops is None or op in ops

    def take(self, op):
        """The one-shot fault this call gets (kind, value) or None; decrements its count."""
        if not self.matches(op):
            return None
        for kind in ONE_SHOT:
            if self.left.get(kind, 0) > 0:
                self.left[kind] -= 1
                return kind, self.cfg[kind]
        return None

    def describe(self):
        return {"config": self.cfg, "remaining": self.left}


class State:
    def __init__(self, spec):
        systems = spec.get("systems")
        if not isinstance(systems, list) or not systems:
            raise ValueError("SPEC needs a non-empty systems list")
        self.systems = {}
        for s in systems:
            for key in ("systemid", "secret", "username", "password"):
                if not isinstance(s.get(key), str) or not s[key]:
                    raise ValueError("system %r: %s must be a non-empty string"
                                     % (s.get("systemid"), key))
            organs = s.get("organ_ids", [])
            if not isinstance(organs, list) or not all(isinstance(o, str) for o in organs):
                raise ValueError("system %r: organ_ids must be a list of strings" % s["systemid"])
            self.systems[s["systemid"]] = dict(s, organ_ids=list(organs))
        self.lifetime = spec.get("token_lifetime_s", 1800)
        self.encoding = spec.get("edxml_encoding", "raw")
        if self.encoding not in ENCODINGS:
            raise ValueError("edxml_encoding must be raw or base64")
        self.lock = threading.Lock()
        self.tokens = {}
        self.reset()

    def reset(self):
        self.mailboxes = {}  # organ -> [Entry] in arrival order
        self.packages = {}
        self.faults = Faults()
        self.log = []
        self.stats = {"logins": 0, "login_failed": 0, "calls": {op: 0 for op in OPS},
                      "unauthorized": 0, "credentials_refused": 0, "acks": {}, "sent": 0,
                      "send_failed": 0, "injected": 0, "bad_requests": 0, "faults_injected": 0,
                      "tls_handshake_failed": 0}

    def organ_owner(self, organ):
        return [s for s in self.systems.values() if organ in s["organ_ids"]]

    def issue_token(self, systemid):
        lifetime = self.faults.cfg.get("token_lifetime_s", self.lifetime)
        now = time.time()
        head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(
            {"sub": systemid, "iat": int(now), "exp": int(now + lifetime),
             "jti": uuid.uuid4().hex}).encode()).rstrip(b"=").decode()
        value = "%s.%s.%s" % (head, body, secrets.token_urlsafe(32))
        self.tokens[value] = Token(value, systemid, now + lifetime)
        return value, lifetime

    def store(self, data, message_type, info, recipients, created):
        doc_id = str(uuid.uuid4())
        pkg = Package(doc_id, data, message_type, info, created)
        self.packages[doc_id] = pkg
        for organ in recipients:
            self.mailboxes.setdefault(organ, []).append(Entry(pkg, organ))
        return doc_id

    def caller_entries(self, system, doc_id=None, message_type=None):
        out = []
        for organ in system["organ_ids"]:
            for e in self.mailboxes.get(organ, []):
                if doc_id is not None and e.pkg.doc_id != doc_id:
                    continue
                if message_type is not None and e.pkg.message_type != message_type:
                    continue
                out.append(e)
        return out

    def record(self, rec):
        if len(self.log) < LOG_CAP:
            self.log.append(rec)


def vn_time_text(dt):
    return dt.strftime("%Y/%m/%d %H:%M:%S")


def parse_window_date(text, name):
    m = DATE_RE.match(text or "")
    if not m:
        raise http_error(400, "%s must be YYYY/MM/DD, not %r" % (name, text))
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise http_error(400, "%s is not a date: %r" % (name, text))


def json_body(handler, body, what):
    ctype = (handler.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, {"success": False,
                             "message": "%s needs Content-Type application/json" % what},
                       "http:415")
    if len(body) > MAX_JSON_BODY:
        raise http_error(413, "%s body too large" % what)
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise http_error(400, "%s body is not JSON" % what)
    if not isinstance(obj, dict):
        raise http_error(400, "%s body must be a JSON object" % what)
    return obj


# -- server ------------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, handler, state, log, ssl_ctx):
        self.state = state
        self.jlog = log
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            # The handshake is done by the handler thread (Handler.setup), never by the
            # accepting thread, so one slow client does not hold up the others.
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # includes ssl.SSLError and timeouts
            return
        super().handle_error(request, client_address)


class Handler(simlib.DispatchHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "lgsp-rest-sim/1.0"
    timeout = 300  # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            st = self.server.state
            with st.lock:
                wait_ms = st.faults.cfg.get("slow_handshake_ms", 0)
            if wait_ms:
                time.sleep(wait_ms / 1000.0)
            self.request.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                self.request.do_handshake()
            except OSError as e:
                with st.lock:
                    st.stats["tls_handshake_failed"] += 1
                    rec = {"t": simlib.now_utc_iso(), "op": "tls", "system": None,
                           "result": "handshake_failed", "error": str(e)[:200]}
                    st.record(rec)
                self.server.jlog.write(rec)
                raise
        super().setup()

    # -- answers ---------------------------------------------------------------------------

    def send_json(self, code, obj, partial=False):
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if partial:
            self.close_connection = True
            self.send_header("Content-Length", str(len(body) + 1024))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            return
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def header_text(self, name):
        """A header's value as the UTF-8 text sent (http.server decodes headers as latin-1)."""
        v = self.headers.get(name)
        return None if v is None else v.encode("latin-1", "replace").decode("utf-8", "replace")

    def dispatch(self):
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = simlib.read_body(self.rfile, self.headers, MAX_BODY)
        except simlib.BodyError as e:
            self.close_connection = True
            self.send_json(e.http_status, {"success": False, "message": e.desc})
            return
        except OSError:
            self.close_connection = True
            return
        try:
            i = path.find("/_sim/")
            if i >= 0:
                self.control(path[i + len("/_sim/"):].strip("/"), query, body)
                return
            p = path.rstrip("/")
            op = "login" if p.endswith("/auth/login") else p.rsplit("/", 1)[-1]
            if op not in OPS:
                self.send_json(404, {"success": False, "message": "no such endpoint %s" % path})
                return
            self.protocol(op, query, body)
        except ApiError as e:
            self.send_json(e.http_status, e.body)
        except OSError:
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            try:
                self.send_json(500, {"success": False, "message": "simulator internal error"})
            except OSError:
                pass

    # -- protocol --------------------------------------------------------------------------

    def protocol(self, op, query, body):
        st = self.server.state
        rec = {"t": simlib.now_utc_iso(), "op": op, "system": self.header_text("X-SystemId")}
        with st.lock:
            st.stats["calls"][op] += 1
            fault = st.faults.take(op)
            delay = st.faults.cfg.get("delay_ms", 0) if st.faults.matches(op) else 0
            if fault:
                st.stats["faults_injected"] += 1
        if delay:
            time.sleep(delay / 1000.0)
        partial = False
        out = None
        try:
            if fault:
                rec["fault"] = fault[0]
                kind, value = fault
                if kind == "drop":
                    self.close_connection = True
                    rec["result"] = "drop"
                    return
                if kind == "partial":
                    partial = True
                elif kind == "http_status":
                    raise http_error(value, "injected HTTP %d" % value)
                elif kind == "error_code":
                    raise axis_error(value, None, op)
            if self.command != METHODS[op]:
                raise http_error(405, "%s needs %s" % (op, METHODS[op]))
            with st.lock:
                answer = self.call(st, op, query, body, rec)
            rec["result"] = "ok"
            out = (200, answer)
        except ApiError as e:
            rec["result"] = e.result
            with st.lock:
                if e.http_status == 401:
                    st.stats["unauthorized"] += 1
                elif e.http_status in (400, 404, 405, 413, 415):
                    st.stats["bad_requests"] += 1
                if op == "sendEdoc":
                    st.stats["send_failed"] += 1
                rec["message"] = str(e.body.get("message", ""))[:200]
            out = (e.http_status, e.body)
        finally:
            # Recorded before the answer goes out: a caller that has its answer finds the call
            # in /_sim/log, and a reset it sends next cannot be overtaken by this call's entry.
            if partial:
                rec["result"] = "partial"
            with st.lock:
                st.record(rec)
            self.server.jlog.write(rec)
        if out:
            self.send_json(out[0], out[1], partial)

    def credentials(self, st, op):
        """The caller's system after the X-SystemId/X-SecretKey check (errorCode 15)."""
        sid = self.header_text("X-SystemId")
        key = self.headers.get("X-SecretKey")
        system = st.systems.get(sid) if sid else None
        if st.faults.cfg.get("refuse_credentials") and st.faults.matches(op):
            st.stats["credentials_refused"] += 1
            raise axis_error(15, None, op)
        if sid is None and key is None and op == "login":
            return None
        if system is None or key is None or not hmac.compare_digest(
                key.encode("latin-1", "replace"), system["secret"].encode("utf-8")):
            st.stats["credentials_refused"] += 1
            raise axis_error(15, None, op)
        return system

    def call(self, st, op, query, body, rec):
        system = self.credentials(st, op)
        if op == "login":
            return self.op_login(st, system, query, body, rec)
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.strip().partition(" ")
        token = st.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise http_error(401, "Unauthorized: missing or unknown token")
        if token.revoked or time.time() >= token.expires:
            raise http_error(401, "Unauthorized: token expired")
        if token.systemid != system["systemid"]:
            raise http_error(401, "Unauthorized: token issued to another system")
        return getattr(self, "op_" + op)(st, system, query, body, rec)

    def op_login(self, st, system, query, body, rec):
        if query.get("allow_anonymous") != ["true"]:
            raise http_error(400, "login needs ?allow_anonymous=true")
        req = json_body(self, body, "login")
        for key in ("username", "password", "applicationCode"):
            if not isinstance(req.get(key), str):
                raise http_error(400, "login needs %s (a string)" % key)
        for key in ("otp", "twoFactorProvider"):
            if key not in req or not (req[key] is None or isinstance(req[key], str)):
                raise http_error(400, "login needs %s (null or a string)" % key)
        t = req.get("typeObjs")
        if not isinstance(t, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                              for x in t):
            raise http_error(400, "login needs typeObjs (a list of integers)")
        match = None
        for s in st.systems.values():
            if (hmac.compare_digest(s["username"].encode(), req["username"].encode("utf-8"))
                    and hmac.compare_digest(s["password"].encode(),
                                            req["password"].encode("utf-8"))
                    and s.get("application_code", req["applicationCode"]) ==
                    req["applicationCode"]):
                match = s
                break
        if match is None or (system is not None and system is not match):
            st.stats["login_failed"] += 1
            raise http_error(401, "Sai tên đăng nhập, mật khẩu hoặc mã ứng dụng")
        rec["system"] = match["systemid"]
        token, lifetime = st.issue_token(match["systemid"])
        st.stats["logins"] += 1
        return {"success": True, "message": "Đăng nhập thành công",
                "data": {"token": token, "expiresIn": lifetime}}

    def op_sendEdoc(self, st, system, query, body, rec):
        parts = parse_multipart(self.headers.get("Content-Type"), body)
        by_name = {}
        for p in parts:
            if p.name in by_name:
                raise http_error(400, "multipart part %r appears twice" % p.name)
            by_name[p.name] = p
        f = by_name.get("edocFile")
        if f is None:
            raise http_error(400, "sendEdoc needs the file part edocFile (parts: %s)"
                             % ", ".join(sorted(by_name)))
        if not f.filename:
            raise http_error(400, "part edocFile is not a file (no filename)")
        mt = by_name.get("messageType")
        if mt is None:
            raise http_error(400, "sendEdoc needs the field messageType")
        if mt.filename is not None:
            raise http_error(400, "messageType must be a plain field, not a file")
        message_type = mt.data.decode("utf-8", "replace")
        if message_type not in MESSAGE_TYPES:
            raise http_error(400, "messageType must be edoc or status, not %r" % message_type)
        if not f.data:
            raise axis_error(10, None, op="sendEdoc")
        recipients, info = inspect_package(f.data, message_type)
        unknown = [r for r in recipients if not st.organ_owner(r)]
        if unknown:
            raise axis_error(18, "Đơn vị nhận không tồn tại: %s" % ", ".join(unknown), "sendEdoc")
        doc_id = st.store(f.data, message_type, info, recipients, simlib.now_vn())
        st.stats["sent"] += 1
        rec["docId"] = doc_id
        rec["to"] = recipients
        return {"success": True, "message": "Gửi văn bản thành công", "docId": doc_id}

    def op_syncReceivedEdocList(self, st, system, query, body, rec):
        message_type = (query.get("messageType") or [""])[0]
        if message_type not in MESSAGE_TYPES:
            raise http_error(400, "messageType must be edoc or status, not %r" % message_type)
        lo = parse_window_date((query.get("fromDate") or [""])[0], "fromDate")
        hi = parse_window_date((query.get("toDate") or [""])[0], "toDate")
        if lo > hi:
            raise http_error(400, "fromDate is after toDate")
        rows = []
        for e in st.caller_entries(system, message_type=message_type):
            if lo <= e.pkg.created.date() <= hi:
                status = "done" if e.status == "done" else "pending"
                rows.append({"docId": e.pkg.doc_id, "from": e.pkg.info["from"], "to": e.organ,
                             "status": status, "statusDesc": STATUS_DESC[status],
                             "createdTime": vn_time_text(e.pkg.created),
                             "updatedTime": vn_time_text(e.updated)})
        rows.sort(key=lambda r: r["createdTime"])
        rec["count"] = len(rows)
        return {"success": True, "message": "", "count": len(rows), "data": rows}

    def op_getEdoc(self, st, system, query, body, rec):
        doc_id = (query.get("docId") or [""])[0]
        if not doc_id:
            raise http_error(400, "getEdoc needs docId")
        rec["docId"] = doc_id
        if not st.caller_entries(system, doc_id=doc_id):
            raise http_error(404, "docId %s not found" % doc_id)
        pkg = st.packages[doc_id]
        enc = st.faults.cfg.get("edxml_encoding", st.encoding)
        if enc == "base64":
            edxml = base64.b64encode(pkg.data).decode("ascii")
        else:
            edxml = pkg.data.decode("utf-8", "replace")
        return {"success": True, "message": "",
                "data": {"docId": doc_id, "from": pkg.info["from"],
                         "fromName": pkg.info["fromName"], "edocCode": pkg.info["edocCode"],
                         "edocAbstract": pkg.info["edocAbstract"], "edxml": edxml,
                         "attachments": []}}

    def op_updateStatus(self, st, system, query, body, rec):
        req = json_body(self, body, "updateStatus")
        doc_id, status = req.get("docId"), req.get("status")
        if not isinstance(doc_id, str) or not doc_id:
            raise http_error(400, "updateStatus needs docId (a string)")
        if status not in ACK_STATUSES:
            raise http_error(400, "status must be done, fail or processing, not %r" % (status,))
        rec["docId"] = doc_id
        entries = st.caller_entries(system, doc_id=doc_id)
        if not entries:
            raise http_error(404, "docId %s not found" % doc_id)
        now = simlib.now_vn()
        for e in entries:
            e.status = status
            e.updated = now
        st.stats["acks"][doc_id] = status
        rec["status"] = status
        return {"success": True, "message": "Cập nhật trạng thái thành công"}

    # -- control API -----------------------------------------------------------------------

    def control(self, name, query, body):
        st = self.server.state
        try:
            req = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise http_error(400, "control body is not JSON")
        with st.lock:
            if name == "ping":
                out = {"ok": True}
            elif name == "reset" and self.command == "POST":
                st.reset()
                out = {"ok": True}
            elif name == "faults" and self.command == "POST":
                st.faults.configure(req)
                if st.faults.cfg.get("expire_tokens"):
                    for t in st.tokens.values():
                        t.revoked = True
                out = st.faults.describe()
            elif name == "faults":
                out = st.faults.describe()
            elif name == "stats":
                out = json.loads(json.dumps(st.stats))
            elif name == "log":
                out = {"entries": list(st.log)}
            elif name == "inject" and self.command == "POST":
                out = self.inject(st, req)
            elif name == "remove" and self.command == "POST":
                out = self.remove(st, req)
            elif name == "mailbox" or name.startswith("mailbox/"):
                organ = unquote(name[len("mailbox/"):]) if "/" in name else (
                    query.get("organ") or [""])[0]
                out = {"items": [self.item(e) for e in st.mailboxes.get(organ, [])]}
            else:
                raise http_error(404, "no such control %s %s" % (self.command, name))
        self.send_json(200, out)

    @staticmethod
    def item(e):
        return {"docId": e.pkg.doc_id, "from": e.pkg.info["from"], "to": e.organ,
                "messageType": e.pkg.message_type,
                "edxml_b64": base64.b64encode(e.pkg.data).decode("ascii"),
                "created": e.pkg.created.strftime("%Y-%m-%d"),
                "createdTime": vn_time_text(e.pkg.created), "status": e.status}

    @staticmethod
    def remove(st, req):
        """The axis no longer has docId: gone from every mailbox (getEdoc answers 404)."""
        doc_id = req.get("docId")
        if not isinstance(doc_id, str) or doc_id not in st.packages:
            raise http_error(404, "remove needs the docId of a package")
        del st.packages[doc_id]
        for organ, entries in st.mailboxes.items():
            st.mailboxes[organ] = [e for e in entries if e.pkg.doc_id != doc_id]
        return {"ok": True}

    @staticmethod
    def inject(st, req):
        to = req.get("to")
        organs = to if isinstance(to, list) else [to]
        if not organs or not all(isinstance(o, str) and o for o in organs):
            raise http_error(400, "inject needs to (an organ id)")
        message_type = req.get("messageType", "edoc")
        if message_type not in MESSAGE_TYPES:
            raise http_error(400, "messageType must be edoc or status")
        try:
            data = base64.b64decode(req.get("edxml_b64") or "", validate=True)
        except ValueError:
            raise http_error(400, "edxml_b64 is not base64")
        now = simlib.now_vn()
        created = now
        if req.get("created") is not None:
            try:
                d = datetime.strptime(req["created"], "%Y-%m-%d")
            except (TypeError, ValueError):
                raise http_error(400, "created must be YYYY-MM-DD")
            created = now.replace(year=d.year, month=d.month, day=d.day)
        frm = req.get("from")
        info = {"from": "", "fromName": "", "edocCode": "", "edocAbstract": ""}
        try:
            info = inspect_package(data, message_type)[1]
        except ApiError:
            pass
        if frm:
            info["from"] = frm
        doc_id = st.store(data, message_type, info, organs, created)
        st.stats["injected"] += 1
        return {"docId": doc_id}


def server_context(cert, key, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=client_ca)
    return ctx


def main(argv=None):
    ap = argparse.ArgumentParser(description="REST v2.2 style provincial axis simulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--spec", required=True, help="JSON SPEC of the registered systems")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--tls-cert", help="PEM certificate (chain) of the listener")
    ap.add_argument("--tls-key", help="PEM private key of the listener")
    ap.add_argument("--tls-client-ca", help="require a client certificate issued by this CA")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_client_ca and not args.tls_cert):
        print("lgsp_rest_sim: --tls-cert and --tls-key go together; --tls-client-ca needs them",
              file=sys.stderr)
        return 2
    try:
        with open(args.spec, encoding="utf-8") as f:
            state = State(json.load(f))
        ctx = server_context(args.tls_cert, args.tls_key, args.tls_client_ca) \
            if args.tls_cert else None
    except (OSError, ValueError, ssl.SSLError) as e:
        print("lgsp_rest_sim: %s" % e, file=sys.stderr)
        return 2
    log = simlib.JsonLog(args.log)
    server = Server(("127.0.0.1", args.port), Handler, state, log, ctx)
    port = server.server_address[1]
    if args.port_file:
        simlib.write_port_file(args.port_file, port)
    scheme = "https" if ctx else "http"
    rc = simlib.serve_until_signal(server, "lgsp_rest_sim listening on %s://127.0.0.1:%d"
                                   % (scheme, port))
    log.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
