#!/usr/bin/env python3
"""Self-test of the REST v2.2 style provincial axis simulator (tests/sim/lgsp_rest_sim.py), driven
over real HTTP(S) by a client written here from domain.md section 5. Run:
    python3 -m unittest tests/sim/test_lgsp_rest_sim.py -v    (or: python3 tests/sim/test_lgsp_rest_sim.py)
"""

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "lgsp_rest_sim.py")
FIXTURES = os.path.join(HERE, "..", "fixtures", "edxml")
H49 = "000.00.00.H49"
STC_H49 = "000.00.12.H49"
G22 = "000.00.00.G22"
H44 = "000.00.24.H44"
VN = timezone(timedelta(hours=7))

SYSTEMS = [
    {"systemid": "gw-h49", "secret": "q3Vh0aQ2mR8xZ1n4b7T9c2E5f8H1j4K7m0P3s6V9y2A=", "username": "gw",
     "password": "pw", "application_code": "QLVB", "organ_ids": [H49, STC_H49]},
    {"systemid": "vpcp", "secret": "Khóa bí mật", "username": "vpcp", "password": "mật khẩu",
     "application_code": "QLVB", "organ_ids": [G22]},
    {"systemid": "h44", "secret": "h44-secret", "username": "h44", "password": "pw44",
     "application_code": "OTHER", "organ_ids": [H44]},
]
SYS = {s["systemid"]: s for s in SYSTEMS}


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def edoc(marker, to=(G22, H49), sender=STC_H49, receivers=()):
    tos = "".join("<To><OrganId>%s</OrganId></To>" % t for t in to)
    recv = ""
    if receivers:
        recv = ("<TraceHeaderList><Bussiness><BussinessDocType>2</BussinessDocType>"
                "<BussinessDocumentInfo><ReceiverList>%s</ReceiverList></BussinessDocumentInfo>"
                "</Bussiness></TraceHeaderList>" % "".join(
                    "<Receiver><OrganId>%s</OrganId><ReceiverType>1</ReceiverType></Receiver>" % r
                    for r in receivers))
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>%s</OrganId><OrganName>Sở Tài chính</OrganName></From>%s
<DocumentId>%s,2024/05/15,%s/STC-NS</DocumentId><Code><CodeNumber>%s</CodeNumber>
<CodeNotation>STC-NS</CodeNotation></Code><Subject>Trích yếu %s</Subject>
</MessageHeader>%s</edXMLHeader></edXMLEnvelope></edXML>""" % (
        sender, tos, sender, marker, marker, marker, recv)).encode("utf-8")


def multipart(fields, boundary=None, quote_boundary=False, preamble=b"", epilogue=b""):
    """A multipart/form-data body (RFC 7578): fields = [(name, filename or None, bytes, ctype)]."""
    boundary = boundary or "----------------------------" + secrets.token_hex(12)
    out = [preamble]
    for name, filename, data, ctype in fields:
        disp = 'form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        head = "--%s\r\nContent-Disposition: %s\r\n" % (boundary, disp)
        if ctype:
            head += "Content-Type: %s\r\n" % ctype
        out += [head.encode("utf-8"), b"\r\n", data, b"\r\n"]
    out.append(("--%s--\r\n" % boundary).encode())
    out.append(epilogue)
    b = '"%s"' % boundary if quote_boundary else boundary
    return "multipart/form-data; boundary=%s" % b, b"".join(out)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Client:
    """A REST v2.2 client written from domain.md 5, over one keep-alive connection."""

    def __init__(self, port, system=None, tls=None):
        self.port = port
        self.system = system
        self.tls = tls  # ssl.SSLContext or None
        self.token = None
        self.conn = None

    def connect(self):
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls,
                                               timeout=20)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def raw(self, method, path, body=None, headers=None, auth=True):
        h = {}
        if auth and self.system is not None:
            h["X-SystemId"] = self.system["systemid"].encode("utf-8")
            h["X-SecretKey"] = self.system["secret"].encode("utf-8")
            if self.token is not None:
                h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        if self.conn is None:
            self.conn = self.connect()
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.close()
            raise
        if r.getheader("Content-Length") is None:
            raise AssertionError("answer without Content-Length")
        if r.will_close:
            self.close()
        return Answer(r.status, r.headers, data)

    def login(self, username=None, password=None, app=None, extra=None, query="?allow_anonymous=true"):
        body = {"username": username or self.system["username"],
                "password": password or self.system["password"],
                "applicationCode": app or self.system["application_code"], "otp": None,
                "twoFactorProvider": None, "typeObjs": [0, 1]}
        body.update(extra or {})
        r = self.raw("POST", "/v1/auth/login" + query, json.dumps(body).encode(),
                     {"Content-Type": "application/json"}, auth=True)
        if r.status == 200 and r.json().get("success"):
            self.token = r.json()["data"]["token"]
        return r

    def send(self, data, message_type="edoc", filename="goi_tin.edxml", **kw):
        ctype, body = multipart([("edocFile", filename, data, "application/xml"),
                                 ("messageType", None, message_type.encode(), None)], **kw)
        return self.raw("POST", "/v1/sendEdoc", body, {"Content-Type": ctype})

    def sync(self, message_type="edoc", lo=None, hi=None):
        today = datetime.now(VN).strftime("%Y/%m/%d")
        q = urllib.parse.urlencode({"messageType": message_type, "fromDate": lo or today,
                                    "toDate": hi or today})
        return self.raw("GET", "/v1/syncReceivedEdocList?" + q)

    def get(self, doc_id):
        return self.raw("GET", "/v1/getEdoc?docId=" + urllib.parse.quote(doc_id))

    def ack(self, doc_id, status="done"):
        return self.raw("POST", "/v1/updateStatus",
                        json.dumps({"docId": doc_id, "status": status}).encode(),
                        {"Content-Type": "application/json"})


def control(port, method, path, obj=None, tls=None):
    c = Client(port, tls=tls)
    try:
        r = c.raw(method, path, None if obj is None else json.dumps(obj).encode(),
                  {"Content-Type": "application/json"}, auth=False)
    finally:
        c.close()
    if r.status != 200:
        raise AssertionError("%s %s -> %d %r" % (method, path, r.status, r.body[:300]))
    return r.json()


class SimProcess:
    def __init__(self, spec, extra=()):
        self.dir = tempfile.mkdtemp(prefix="lgsp_rest_sim_test.")
        self.spec = os.path.join(self.dir, "spec.json")
        with open(self.spec, "w", encoding="utf-8") as f:
            json.dump(spec, f, ensure_ascii=False)
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "log.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--port", "0", "--port-file", self.port_file, "--spec",
             self.spec, "--log", self.log] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = self.proc.stdout.readline().strip()
        if not self.banner:
            raise AssertionError("simulator did not start: %s" % self.proc.stderr.read())
        with open(self.port_file) as f:
            self.port = int(f.read().strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        rc = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def spec(**kw):
    d = {"systems": SYSTEMS, "token_lifetime_s": 1800, "edxml_encoding": "raw"}
    d.update(kw)
    return d


class RestSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess(spec())
        cls.port = cls.sim.port

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.ctl("POST", "/_sim/reset", {})
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def ctl(self, method, path, obj=None):
        return control(self.port, method, path, obj)

    def client(self, systemid="gw-h49", login=True):
        c = Client(self.port, SYS[systemid])
        self.clients.append(c)
        if login:
            r = c.login()
            self.assertEqual(r.status, 200, r.body)
        return c

    def mailbox(self, organ):
        return self.ctl("GET", "/_sim/mailbox/" + urllib.parse.quote(organ))["items"]

    def assertFail(self, r, code, http=200):
        self.assertEqual(r.status, http, r.body)
        j = r.json()
        self.assertIs(j["success"], False)
        self.assertEqual(j["data"]["errorCode"], code, j)
        self.assertTrue(j["data"]["errorDesc"])
        return j

    def assertHttp(self, r, status):
        self.assertEqual(r.status, status, r.body)
        j = r.json()
        self.assertIs(j["success"], False)
        self.assertTrue(j["message"])
        return j

    # -- CLI -----------------------------------------------------------------------------------

    def test_banner_and_port_file(self):
        self.assertEqual(self.sim.banner, "lgsp_rest_sim listening on http://127.0.0.1:%d" % self.port)
        self.assertEqual(self.ctl("GET", "/_sim/ping"), {"ok": True})

    def test_bad_spec_and_flags_exit_2(self):
        d = tempfile.mkdtemp(prefix="lgsp_rest_sim_bad.")
        try:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                json.dump({"systems": [{"systemid": "x"}]}, f)
            for extra in (["--spec", bad], ["--spec", bad + ".missing"],
                          ["--spec", bad, "--tls-cert", bad]):
                p = subprocess.run([sys.executable, SIM, "--port", "0"] + extra,
                                   capture_output=True, timeout=30)
                self.assertEqual(p.returncode, 2, (extra, p.stderr))
        finally:
            shutil.rmtree(d)

    def test_sigterm_exits_0(self):
        other = SimProcess(spec())
        self.assertEqual(other.stop(), 0)

    # -- login and authentication ------------------------------------------------------------

    def test_login(self):
        c = self.client(login=False)
        r = c.login()
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertIs(j["success"], True)
        self.assertEqual(j["data"]["expiresIn"], 1800)
        self.assertRegex(j["data"]["token"], r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")
        self.assertEqual(r.headers.get("Content-Type"), "application/json; charset=utf-8")
        # Non-ASCII credentials travel as UTF-8 JSON.
        v = self.client("vpcp", login=False)
        self.assertEqual(v.login().status, 200)
        # Login without X-SystemId/X-SecretKey is accepted (the token goes to the user's system).
        anon = Client(self.port, dict(SYS["gw-h49"]))
        self.clients.append(anon)
        r = anon.raw("POST", "/v1/auth/login?allow_anonymous=true", json.dumps(
            {"username": "gw", "password": "pw", "applicationCode": "QLVB", "otp": None,
             "twoFactorProvider": None, "typeObjs": [0, 1]}).encode(),
            {"Content-Type": "application/json"}, auth=False)
        self.assertEqual(r.status, 200, r.body)
        anon.token = r.json()["data"]["token"]
        self.assertEqual(anon.sync().status, 200)
        self.assertEqual(self.ctl("GET", "/_sim/stats")["logins"], 3)

    def test_login_refusals(self):
        c = self.client(login=False)
        self.assertHttp(c.login(password="nope"), 401)
        self.assertHttp(c.login(app="OTHER"), 401)
        self.assertHttp(c.login(username="vpcp", password="mật khẩu"), 401)  # another system's user
        self.assertHttp(c.login(query=""), 400)
        self.assertHttp(c.login(query="?allow_anonymous=false"), 400)
        for missing in ("otp", "twoFactorProvider", "typeObjs"):
            body = {"username": "gw", "password": "pw", "applicationCode": "QLVB", "otp": None,
                    "twoFactorProvider": None, "typeObjs": [0, 1]}
            del body[missing]
            r = c.raw("POST", "/v1/auth/login?allow_anonymous=true", json.dumps(body).encode(),
                      {"Content-Type": "application/json"})
            self.assertHttp(r, 400)
        self.assertHttp(c.login(extra={"typeObjs": "0,1"}), 400)
        r = c.raw("POST", "/v1/auth/login?allow_anonymous=true", b"username=gw",
                  {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertHttp(r, 415)
        r = c.raw("GET", "/v1/auth/login?allow_anonymous=true")
        self.assertHttp(r, 405)
        bad = Client(self.port, dict(SYS["gw-h49"], secret="wrong"))
        self.clients.append(bad)
        self.assertFail(bad.login(), 15)
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual(st["logins"], 0)
        self.assertEqual(st["login_failed"], 3)
        self.assertIsNone(c.token)

    def test_calls_need_system_headers_and_token(self):
        c = self.client()
        self.assertEqual(c.sync().status, 200)
        token = c.token
        c.token = None
        self.assertHttp(c.sync(), 401)
        c.token = "not-a-token"
        self.assertHttp(c.sync(), 401)
        r = c.raw("GET", "/v1/syncReceivedEdocList?messageType=edoc&fromDate=2024/01/01&"
                  "toDate=2024/01/02", headers={"Authorization": "Basic " + token})
        self.assertHttp(r, 401)
        c.token = token
        # The right token with another system's headers: 401; a wrong secret: errorCode 15.
        v = self.client("vpcp")
        v.token = token
        self.assertHttp(v.sync(), 401)
        wrong = Client(self.port, dict(SYS["gw-h49"], secret="wrong"))
        wrong.token = token
        self.clients.append(wrong)
        for r in (wrong.sync(), wrong.get("x"), wrong.ack("x"), wrong.send(edoc("1"))):
            self.assertFail(r, 15)
        j = self.assertFail(wrong.send(edoc("2")), 15)
        self.assertIsNone(j["data"]["docId"])
        self.assertEqual(j["data"]["status"], "fail")
        nohdr = c.raw("GET", "/v1/getEdoc?docId=x", auth=False,
                      headers={"Authorization": "Bearer " + token})
        self.assertFail(nohdr, 15)
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual(st["unauthorized"], 4)
        self.assertEqual(st["credentials_refused"], 6)
        self.assertEqual(st["sent"], 0)
        self.assertEqual(self.mailbox(G22), [])

    # -- send, list, get, ack ------------------------------------------------------------------

    def test_send_list_get_ack(self):
        gw, vp = self.client(), self.client("vpcp")
        pkg = fixture("edoc_basic.xml")
        r = gw.send(pkg)
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertIs(j["success"], True)
        self.assertTrue(j["message"])
        doc = j["docId"]
        for organ in (G22, H49):
            items = self.mailbox(organ)
            self.assertEqual(len(items), 1)
            it = items[0]
            self.assertEqual(base64.b64decode(it["edxml_b64"]), pkg)
            self.assertEqual((it["docId"], it["from"], it["to"], it["messageType"], it["status"]),
                             (doc, STC_H49, organ, "edoc", "pending"))
            self.assertEqual(it["created"], datetime.now(VN).strftime("%Y-%m-%d"))
        lst = vp.sync().json()
        self.assertEqual(lst["count"], 1)
        row = lst["data"][0]
        self.assertEqual(set(row), {"docId", "from", "to", "status", "statusDesc", "createdTime",
                                    "updatedTime"})
        self.assertEqual((row["docId"], row["from"], row["to"], row["status"]),
                         (doc, STC_H49, G22, "pending"))
        self.assertEqual(vp.sync("status").json()["count"], 0)
        g = vp.get(doc).json()
        self.assertIs(g["success"], True)
        d = g["data"]
        self.assertEqual(d["edxml"].encode("utf-8"), pkg)
        self.assertEqual((d["docId"], d["from"], d["attachments"]), (doc, STC_H49, []))
        self.assertEqual(d["edocCode"], "1234/STC-NS")
        self.assertIn("kinh phí", d["edocAbstract"])
        self.assertEqual(d["fromName"], "Sở Tài chính")
        # base64 when the fault set asks for it.
        self.ctl("POST", "/_sim/faults", {"edxml_encoding": "base64"})
        self.assertEqual(base64.b64decode(vp.get(doc).json()["data"]["edxml"]), pkg)
        self.ctl("POST", "/_sim/faults", {})
        for _ in range(2):  # acking twice is fine
            j = vp.ack(doc).json()
            self.assertIs(j["success"], True)
            self.assertEqual(set(j), {"success", "message"})
        self.assertEqual(vp.sync().json()["data"][0]["status"], "done")  # still listed, done
        self.assertEqual(self.mailbox(G22)[0]["status"], "done")
        self.assertEqual(self.mailbox(H49)[0]["status"], "pending")  # another system's mailbox
        # h44 reads neither mailbox: not found.
        h44 = self.client("h44")
        self.assertHttp(h44.get(doc), 404)
        self.assertHttp(h44.ack(doc), 404)
        self.assertEqual(h44.sync().json()["count"], 0)
        self.assertHttp(vp.ack(doc, "received"), 400)
        self.assertHttp(vp.ack("", "done"), 400)
        gw.ack(doc, "fail")
        self.assertEqual(gw.sync().json()["data"][0]["status"], "pending")
        self.assertEqual(self.mailbox(H49)[0]["status"], "fail")
        r = gw.raw("POST", "/v1/updateStatus", b"docId=x", {"Content-Type": "text/plain"})
        self.assertHttp(r, 415)
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual(st["acks"], {doc: "fail"})
        self.assertEqual(st["sent"], 1)
        self.assertEqual(st["calls"]["sendEdoc"], 1)
        self.assertEqual(st["calls"]["getEdoc"], 3)

    def test_raw_spec_encoding_and_base64_spec(self):
        other = SimProcess(spec(edxml_encoding="base64", token_lifetime_s=60))
        try:
            c = Client(other.port, SYS["gw-h49"])
            self.assertEqual(c.login().json()["data"]["expiresIn"], 60)
            pkg = edoc("b64", to=(H49,))
            doc = c.send(pkg).json()["docId"]
            self.assertEqual(base64.b64decode(c.get(doc).json()["data"]["edxml"]), pkg)
            control(other.port, "POST", "/_sim/faults", {"edxml_encoding": "raw"})
            self.assertEqual(c.get(doc).json()["data"]["edxml"].encode(), pkg)
            c.close()
        finally:
            other.stop()

    def test_two_organs_of_one_system_one_ack(self):
        gw = self.client()
        doc = gw.send(edoc("7", to=(H49, STC_H49))).json()["docId"]
        rows = gw.sync().json()["data"]
        self.assertEqual(sorted(r["to"] for r in rows), sorted([H49, STC_H49]))
        self.assertEqual({r["docId"] for r in rows}, {doc})
        gw.ack(doc)
        self.assertEqual({r["status"] for r in gw.sync().json()["data"]}, {"done"})

    def test_status_goes_to_response_for(self):
        vp, gw = self.client("vpcp"), self.client()
        pkg = fixture("status_03.xml")
        doc = vp.send(pkg, "status").json()["docId"]
        self.assertEqual([i["docId"] for i in self.mailbox(STC_H49)], [doc])
        self.assertEqual(self.mailbox(G22), [])
        self.assertEqual(gw.sync("edoc").json()["count"], 0)
        row = gw.sync("status").json()["data"][0]
        self.assertEqual((row["docId"], row["from"], row["to"]), (doc, G22, STC_H49))
        self.assertEqual(gw.get(doc).json()["data"]["edxml"].encode(), pkg)

    def test_receiver_and_prefixed_packages(self):
        gw = self.client()
        doc = gw.send(edoc("r", to=(G22,), receivers=(H44,))).json()["docId"]
        self.assertEqual([i["docId"] for i in self.mailbox(H44)], [doc])
        pkg = fixture("edoc_prefixed.xml")
        doc2 = gw.send(pkg).json()["docId"]
        self.assertEqual(base64.b64decode(self.mailbox(H49)[-1]["edxml_b64"]), pkg)
        self.assertEqual(self.mailbox(H49)[-1]["docId"], doc2)

    def test_send_refusals(self):
        gw = self.client()
        j = self.assertFail(gw.send(edoc("u", to=(G22, "000.00.99.Z99"))), 18)
        self.assertIsNone(j["data"]["docId"])
        self.assertEqual(j["data"]["status"], "fail")
        self.assertIn("000.00.99.Z99", j["data"]["errorDesc"])
        self.assertEqual(self.mailbox(G22), [])  # nothing stored when one recipient is unknown
        self.assertFail(gw.send(b"<edXML><unclosed>"), 22)
        self.assertFail(gw.send(b"not xml at all"), 22)
        self.assertFail(gw.send(edoc("n", to=())), 22)
        self.assertFail(gw.send(edoc("n", to=("null",))), 22)
        self.assertFail(gw.send(fixture("edoc_basic.xml"), "status"), 22)  # no ResponseFor
        self.assertFail(gw.send(b""), 10)
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual((st["sent"], st["send_failed"]), (0, 7))

    def test_multipart_exact_bytes(self):
        gw = self.client()
        boundary = "XyZ" + secrets.token_hex(8)
        # Bytes that a sloppy parser would change: CRLF and bare LF/CR, trailing blanks, lines
        # that begin like the boundary, blank lines at the end of the file.
        tricky = edoc("x", to=(G22,)).replace(
            b"<Subject>", b"\r\n  \r\n\r<Content>\r\n--" + boundary[:-1].encode() + b"\r\n--"
            + boundary.encode() + b"x\r\n\n \t</Content><Subject>") + b"\r\n\r\n"
        cases = [
            dict(boundary=boundary),
            dict(boundary=boundary, quote_boundary=True),
            dict(preamble=b"preamble text\r\n", epilogue=b"\r\nepilogue"),
            dict(boundary="a'()+_,-./:=?b", quote_boundary=True),
        ]
        for kw in cases:
            r = gw.send(tricky, filename="Văn bản.edxml", **kw)
            self.assertEqual(r.status, 200, (kw, r.body))
            self.assertIs(r.json()["success"], True, (kw, r.body))
            self.assertEqual(base64.b64decode(self.mailbox(G22)[-1]["edxml_b64"]), tricky, kw)
        # Field order does not matter; a part Content-Type is optional.
        ctype, body = multipart([("messageType", None, b"edoc", None),
                                 ("edocFile", "a.edxml", tricky, None)])
        self.assertEqual(gw.raw("POST", "/v1/sendEdoc", body, {"Content-Type": ctype}).status, 200)
        self.assertEqual(base64.b64decode(self.mailbox(G22)[-1]["edxml_b64"]), tricky)
        # Chunked transfer encoding of the same body.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        conn.request("POST", "/v1/sendEdoc", body=iter([body[:100], body[100:]]),
                     headers={"Content-Type": ctype, "X-SystemId": "gw-h49",
                              "X-SecretKey": SYS["gw-h49"]["secret"],
                              "Authorization": "Bearer " + gw.token}, encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual(r.status, 200, r.read())
        r.read()
        conn.close()
        self.assertEqual(base64.b64decode(self.mailbox(G22)[-1]["edxml_b64"]), tricky)
        self.assertEqual(len(self.mailbox(G22)), 6)

    def test_large_package(self):
        gw, vp = self.client(), self.client("vpcp")
        blob = base64.b64encode(os.urandom(6 * 1024 * 1024))
        pkg = edoc("big", to=(G22,)).replace(b"</edXML>", b"<AttachmentEncoded><Attachment>"
                                             b"<ContentTransferEncoded>" + blob +
                                             b"</ContentTransferEncoded></Attachment>"
                                             b"</AttachmentEncoded></edXML>")
        r = gw.send(pkg)
        self.assertIs(r.json()["success"], True, r.body[:300])
        doc = r.json()["docId"]
        self.assertEqual(vp.get(doc).json()["data"]["edxml"].encode(), pkg)
        self.ctl("POST", "/_sim/faults", {"edxml_encoding": "base64"})
        self.assertEqual(base64.b64decode(vp.get(doc).json()["data"]["edxml"]), pkg)
        self.assertEqual(base64.b64decode(self.mailbox(G22)[0]["edxml_b64"]), pkg)

    def test_multipart_framing_errors(self):
        gw = self.client()
        pkg = edoc("f", to=(G22,))
        good_ctype, good = multipart([("edocFile", "a.edxml", pkg, "application/xml"),
                                      ("messageType", None, b"edoc", None)], boundary="BND")

        def post(body, ctype=good_ctype):
            return gw.raw("POST", "/v1/sendEdoc", body, {"Content-Type": ctype})

        bad = [
            (good, "multipart/form-data; boundary=OTHER"),
            (good, "multipart/form-data"),
            (good, "multipart/mixed; boundary=BND"),
            (good, "application/octet-stream"),
            (good.replace(b"\r\n", b"\n"), good_ctype),  # LF-only framing
            (good[:good.rindex(b"--BND--")], good_ctype),  # no closing boundary
            (good.replace(b'name="edocFile"', b'name="file"'), good_ctype),
            (good.replace(b'; filename="a.edxml"', b""), good_ctype),  # not a file part
            (good.replace(b'name="messageType"', b'name="type"'), good_ctype),
            (good.replace(b"\r\n\r\nedoc\r\n", b"\r\n\r\nEDOC\r\n"), good_ctype),
            (good.replace(b"form-data; name=\"messageType\"", b"attachment; name=\"messageType\""),
             good_ctype),
            (multipart([("edocFile", "a.edxml", pkg, None), ("edocFile", "b.edxml", pkg, None),
                        ("messageType", None, b"edoc", None)], boundary="BND")[1], good_ctype),
            (multipart([("edocFile", "a", pkg, None), ("messageType", "m.txt", b"edoc", None)],
                       boundary="BND")[1], good_ctype),
            (good.replace(b"Content-Type: application/xml",
                          b"Content-Transfer-Encoding: base64"), good_ctype),
        ]
        for body, ctype in bad:
            r = post(body, ctype)
            self.assertHttp(r, 400)
        self.assertEqual(self.mailbox(G22), [])
        self.assertEqual(post(good).status, 200)  # the unchanged body is fine
        self.assertEqual(len(self.mailbox(G22)), 1)
        self.assertHttp(gw.raw("GET", "/v1/sendEdoc"), 405)
        self.assertHttp(gw.raw("POST", "/v1/getEdoc?docId=x"), 405)
        self.assertHttp(gw.raw("GET", "/v1/nothing"), 404)

    # -- date windows --------------------------------------------------------------------------

    def test_windows_and_inject(self):
        gw = self.client()
        pkg = edoc("w", to=(H49,))
        days = ["2024-01-09", "2024-01-10", "2024-01-31", "2024-02-01"]
        ids = [self.ctl("POST", "/_sim/inject", {"to": H49, "from": G22, "messageType": "edoc",
                                                 "edxml_b64": base64.b64encode(pkg).decode(),
                                                 "created": d})["docId"] for d in days]
        st_id = self.ctl("POST", "/_sim/inject", {"to": STC_H49, "from": G22,
                                                   "messageType": "status", "created": "2024-01-10",
                                                   "edxml_b64": base64.b64encode(b"raw").decode()}
                         )["docId"]

        def window(lo, hi, mt="edoc"):
            j = gw.sync(mt, lo, hi).json()
            self.assertEqual(j["count"], len(j["data"]))
            return [r["docId"] for r in j["data"]]

        self.assertEqual(window("2024/01/10", "2024/01/31"), ids[1:3])  # inclusive at both ends
        self.assertEqual(window("2024/01/10", "2024/01/10"), ids[1:2])
        self.assertEqual(window("2023/12/01", "2024/12/31"), ids)
        self.assertEqual(window("2024/02/02", "2024/03/01"), [])
        self.assertEqual(window("2024/01/01", "2024/01/31", "status"), [st_id])
        self.assertEqual(self.mailbox(H49)[0]["created"], "2024-01-09")
        row = gw.sync("edoc", "2024/01/09", "2024/01/09").json()["data"][0]
        self.assertTrue(row["createdTime"].startswith("2024/01/09 "), row)
        self.assertEqual(row["from"], G22)
        # Injected bytes are served as they are, even when not XML.
        self.assertEqual(gw.get(st_id).json()["data"]["edxml"], "raw")
        # Today's window (UTC+7) holds an injection without a date.
        doc = self.ctl("POST", "/_sim/inject", {"to": H49, "from": G22, "messageType": "edoc",
                                                "edxml_b64": base64.b64encode(pkg).decode()})["docId"]
        self.assertEqual(window(None, None), [doc])
        for lo, hi in (("2024-01-10", "2024/01/31"), ("2024/1/10", "2024/01/31"),
                       ("2024/02/30", "2024/03/01"), ("2024/02/01", "2024/01/01"), ("", "")):
            q = urllib.parse.urlencode({"messageType": "edoc", "fromDate": lo, "toDate": hi})
            self.assertHttp(gw.raw("GET", "/v1/syncReceivedEdocList?" + q), 400)
        self.assertHttp(gw.raw("GET", "/v1/syncReceivedEdocList?fromDate=2024/01/01&"
                                      "toDate=2024/01/02"), 400)
        self.assertHttp(gw.sync("Edoc"), 400)
        self.assertEqual(self.ctl("GET", "/_sim/stats")["injected"], 6)
        # A package the axis no longer has: in no list, getEdoc answers 404; removed once only.
        self.assertEqual(self.ctl("POST", "/_sim/remove", {"docId": ids[1]}), {"ok": True})
        self.assertEqual(window("2023/12/01", "2024/12/31"), ids[:1] + ids[2:])
        self.assertHttp(gw.get(ids[1]), 404)
        self.assertEqual(gw.get(ids[2]).status, 200)
        with self.assertRaises(AssertionError):
            self.ctl("POST", "/_sim/remove", {"docId": ids[1]})

    # -- faults --------------------------------------------------------------------------------

    def test_fault_http_status_count_and_ops(self):
        gw = self.client()
        self.ctl("POST", "/_sim/faults", {"http_status": 503, "count": 2, "ops": ["sendEdoc"]})
        self.assertEqual(gw.sync().status, 200)  # another op
        self.assertHttp(gw.send(edoc("1", to=(G22,))), 503)
        self.assertHttp(gw.send(edoc("2", to=(G22,))), 503)
        self.assertEqual(gw.send(edoc("3", to=(G22,))).status, 200)
        self.assertEqual(len(self.mailbox(G22)), 1)  # faulted calls were not processed
        self.ctl("POST", "/_sim/faults", {"http_status": 500})  # count defaults to 1, all ops
        self.assertHttp(gw.login(), 500)
        self.assertEqual(gw.login().status, 200)
        f = self.ctl("GET", "/_sim/faults")
        self.assertEqual(f["remaining"], {"http_status": 0})
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual(st["faults_injected"], 3)
        self.assertEqual(st["calls"]["sendEdoc"], 3)

    def test_fault_drop_and_partial(self):
        gw = self.client()
        self.ctl("POST", "/_sim/faults", {"drop": True, "ops": ["sendEdoc"]})
        with self.assertRaises(http.client.RemoteDisconnected):
            gw.send(edoc("d", to=(G22,)))
        self.assertEqual(self.mailbox(G22), [])
        self.assertEqual(gw.send(edoc("d", to=(G22,))).status, 200)
        self.ctl("POST", "/_sim/faults", {"drop": 2})
        for _ in range(2):
            with self.assertRaises(http.client.RemoteDisconnected):
                gw.sync()
        self.assertEqual(gw.sync().status, 200)
        doc = self.mailbox(G22)[0]["docId"]
        vp = self.client("vpcp")
        self.ctl("POST", "/_sim/faults", {"partial": True, "ops": ["getEdoc"]})
        with self.assertRaises(http.client.IncompleteRead):
            vp.get(doc)
        self.assertEqual(vp.get(doc).status, 200)
        self.ctl("POST", "/_sim/faults", {"partial": True, "count": 2, "ops": ["syncReceivedEdocList"]})
        for _ in range(2):
            with self.assertRaises(http.client.IncompleteRead):
                vp.sync()
        self.assertEqual(vp.sync().json()["count"], 1)
        log = self.ctl("GET", "/_sim/log")["entries"]
        self.assertEqual([e["result"] for e in log if e.get("fault")],
                         ["drop", "drop", "drop", "partial", "partial", "partial"])

    def test_fault_error_codes(self):
        gw = self.client()
        self.ctl("POST", "/_sim/faults", {"error_code": 20, "count": 2})
        j = self.assertFail(gw.send(edoc("e", to=(G22,))), 20)
        self.assertIsNone(j["data"]["docId"])
        self.assertFail(gw.sync(), 20)
        self.assertEqual(gw.sync().status, 200)
        self.ctl("POST", "/_sim/faults", {"error_code": 99, "ops": ["updateStatus"]})
        j = self.assertFail(gw.ack("x"), 99)
        self.assertEqual(self.mailbox(G22), [])
        self.ctl("POST", "/_sim/faults", {"error_code": 18, "ops": ["sendEdoc"]})
        self.assertFail(gw.send(edoc("e", to=(G22,))), 18)
        self.assertEqual(self.mailbox(G22), [])
        self.assertEqual(gw.send(edoc("e", to=(G22,))).status, 200)

    def test_fault_refuse_credentials(self):
        gw = self.client()
        self.ctl("POST", "/_sim/faults", {"refuse_credentials": True})
        for _ in range(3):
            self.assertFail(gw.sync(), 15)
        self.assertFail(gw.login(), 15)
        self.assertFail(gw.send(edoc("c", to=(G22,))), 15)
        self.ctl("POST", "/_sim/faults", {})
        self.assertEqual(gw.sync().status, 200)  # the token is still good
        self.ctl("POST", "/_sim/faults", {"refuse_credentials": True, "ops": ["sendEdoc"]})
        self.assertEqual(gw.sync().status, 200)
        self.assertFail(gw.send(edoc("c", to=(G22,))), 15)
        self.assertEqual(self.ctl("GET", "/_sim/stats")["credentials_refused"], 6)

    def test_fault_expire_tokens_and_lifetime(self):
        gw, vp = self.client(), self.client("vpcp")
        self.ctl("POST", "/_sim/faults", {"expire_tokens": True})
        self.assertHttp(gw.sync(), 401)
        self.assertHttp(vp.sync(), 401)
        self.assertEqual(gw.login().status, 200)  # tokens issued afterwards are good
        self.assertEqual(gw.sync().status, 200)
        self.ctl("POST", "/_sim/faults", {"token_lifetime_s": 0})
        r = gw.login()
        self.assertEqual(r.json()["data"]["expiresIn"], 0)
        self.assertHttp(gw.sync(), 401)
        self.ctl("POST", "/_sim/faults", {})
        self.assertEqual(gw.login().json()["data"]["expiresIn"], 1800)
        self.assertEqual(gw.sync().status, 200)
        self.assertEqual(self.ctl("GET", "/_sim/stats")["unauthorized"], 3)

    def test_fault_delay_keeps_answers(self):
        gw = self.client()
        self.ctl("POST", "/_sim/faults", {"delay_ms": 50, "ops": ["syncReceivedEdocList"]})
        self.assertEqual(gw.sync().status, 200)
        self.assertEqual(gw.send(edoc("l", to=(G22,))).status, 200)

    def test_fault_config_errors(self):
        for bad in ({"nonsense": 1}, {"ops": ["send"]}, {"ops": "sendEdoc"}, {"count": -1},
                    {"http_status": "500"}, {"http_status": 42}, {"edxml_encoding": "hex"},
                    {"delay_ms": -5}, {"drop": "yes"}, [1]):
            c = Client(self.port)
            r = c.raw("POST", "/_sim/faults", json.dumps(bad).encode(), auth=False)
            c.close()
            self.assertEqual(r.status, 400, bad)

    def test_reset_and_log(self):
        gw = self.client()
        gw.send(edoc("z", to=(G22,)))
        gw.sync()
        self.ctl("POST", "/_sim/faults", {"http_status": 502, "count": 5})
        log = self.ctl("GET", "/_sim/log")["entries"]
        self.assertEqual([(e["op"], e["system"], e["result"]) for e in log],
                         [("login", "gw-h49", "ok"), ("sendEdoc", "gw-h49", "ok"),
                          ("syncReceivedEdocList", "gw-h49", "ok")])
        self.ctl("POST", "/_sim/reset", {})
        self.assertEqual(self.mailbox(G22), [])
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual((st["sent"], st["logins"], st["calls"]["sendEdoc"]), (0, 0, 0))
        self.assertEqual(self.ctl("GET", "/_sim/log")["entries"], [])
        self.assertEqual(gw.sync().status, 200)  # faults cleared; tokens survive a reset
        with open(self.sim.log, encoding="utf-8") as f:
            lines = [json.loads(x) for x in f]
        self.assertEqual(lines[-1]["op"], "syncReceivedEdocList")
        self.assertEqual(lines[-1]["result"], "ok")
        for line in lines:
            self.assertNotIn(SYS["gw-h49"]["secret"], json.dumps(line))

    def test_mailbox_query_form_and_keep_alive(self):
        gw = self.client()
        gw.send(edoc("k", to=(G22,)))
        q = self.ctl("GET", "/_sim/mailbox?organ=" + urllib.parse.quote(G22))["items"]
        self.assertEqual(q, self.mailbox(G22))
        conn = gw.conn
        for _ in range(5):
            self.assertEqual(gw.sync().status, 200)
        self.assertIs(gw.conn, conn)  # one connection for all of them

    def test_concurrent_senders_with_faults(self):
        self.ctl("POST", "/_sim/faults", {"http_status": 503, "count": 15, "drop": 10,
                                          "partial": 5, "delay_ms": 2,
                                          "ops": ["sendEdoc", "syncReceivedEdocList"]})
        per_thread, threads = 10, 20
        sent = {}
        lock = threading.Lock()

        def worker(n):
            c = Client(self.port, SYS["gw-h49" if n % 2 else "vpcp"])
            try:
                while True:
                    try:
                        if c.login().status == 200:
                            break
                    except (http.client.HTTPException, OSError):
                        pass
                for i in range(per_thread):
                    pkg = edoc("t%d-%d" % (n, i), to=(H44,))
                    while True:
                        try:
                            r = c.send(pkg)
                        except (http.client.HTTPException, OSError):
                            continue  # dropped or cut: not processed, send again
                        if r.status == 200 and r.json().get("success"):
                            with lock:
                                sent[r.json()["docId"]] = pkg
                            break
                        if r.status != 503:
                            raise AssertionError(r.body)
            finally:
                c.close()

        with ThreadPoolExecutor(threads) as ex:
            for f in [ex.submit(worker, n) for n in range(threads)]:
                f.result()
        box = self.mailbox(H44)
        log = self.ctl("GET", "/_sim/log")["entries"]
        # A cut answer (partial) comes after the work: the sender could not know and sent
        # again, so those packages are there twice. Dropped and refused calls were not stored.
        cut = [e["docId"] for e in log if e["op"] == "sendEdoc" and e["result"] == "partial"]
        self.assertEqual(len(sent), threads * per_thread)
        self.assertEqual(len(box), threads * per_thread + len(cut))
        stored = {i["docId"]: base64.b64decode(i["edxml_b64"]) for i in box}
        self.assertEqual({d: stored[d] for d in sent}, sent)
        self.assertEqual(sorted(stored[d] for d in cut),
                         sorted(p for p in sent.values() if list(stored.values()).count(p) == 2))
        st = self.ctl("GET", "/_sim/stats")
        self.assertEqual(st["sent"], threads * per_thread + len(cut))
        self.assertEqual(st["faults_injected"], 30)
        f = self.ctl("GET", "/_sim/faults")
        self.assertEqual(f["remaining"], {"http_status": 0, "drop": 0, "partial": 0})
        # The list of h44 sees every one of them in today's window.
        h44 = self.client("h44")
        self.assertEqual(h44.sync().json()["count"], threads * per_thread + len(cut))
        self.ctl("POST", "/_sim/faults", {})
        calls = self.ctl("GET", "/_sim/stats")["calls"]
        self.assertEqual(len(self.ctl("GET", "/_sim/log")["entries"]), sum(calls.values()))


def openssl(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))


def make_pki(d):
    """A test CA, a server certificate for 127.0.0.1, a client certificate from the CA and one
    from a second CA, all made with the openssl CLI."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "ca2"):
        openssl(["req", "-x509"] + ec + ["-keyout", ca + ".key", "-out", ca + ".pem", "-days", "2",
                 "-subj", "/CN=Test %s" % ca, "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    with open(os.path.join(d, "srv.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "cli.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("srv", "ca", "srv.ext"), ("cli", "ca", "cli.ext"),
                          ("cli2", "ca2", "cli.ext")):
        openssl(["req"] + ec + ["-keyout", name + ".key", "-out", name + ".csr", "-subj",
                                "/CN=%s" % name], d)
        openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", ext], d)


@unittest.skipUnless(shutil.which("openssl"), "no openssl CLI")
class RestSimTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="lgsp_rest_sim_pki.")
        make_pki(cls.pki)
        p = lambda n: os.path.join(cls.pki, n)  # noqa: E731
        cls.sim = SimProcess(spec(), ["--tls-cert", p("srv.pem"), "--tls-key", p("srv.key")])
        cls.mtls = SimProcess(spec(), ["--tls-cert", p("srv.pem"), "--tls-key", p("srv.key"),
                                       "--tls-client-ca", p("ca.pem")])

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        cls.mtls.stop()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def ctx(self, cert=None):
        c = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))
        if cert:
            c.load_cert_chain(os.path.join(self.pki, cert + ".pem"),
                              os.path.join(self.pki, cert + ".key"))
        return c

    def test_https_round_trip(self):
        self.assertEqual(self.sim.banner,
                         "lgsp_rest_sim listening on https://127.0.0.1:%d" % self.sim.port)
        c = Client(self.sim.port, SYS["gw-h49"], tls=self.ctx())
        try:
            self.assertEqual(c.login().status, 200)
            pkg = edoc("tls", to=(H49,))
            doc = c.send(pkg).json()["docId"]
            self.assertEqual(c.get(doc).json()["data"]["edxml"].encode(), pkg)
            self.assertEqual(c.ack(doc).json()["success"], True)
            self.assertEqual(c.conn.sock.version() in ("TLSv1.2", "TLSv1.3"), True)
        finally:
            c.close()
        # Plain HTTP to the TLS listener gets no HTTP answer.
        plain = Client(self.sim.port)
        with self.assertRaises((http.client.HTTPException, OSError)):
            plain.raw("GET", "/_sim/ping", auth=False)
        plain.close()
        # A client that does not trust the test CA refuses the server.
        with self.assertRaises(ssl.SSLCertVerificationError):
            control(self.sim.port, "GET", "/_sim/ping", tls=ssl.create_default_context())

    def test_client_certificate_required(self):
        ok = control(self.mtls.port, "GET", "/_sim/ping", tls=self.ctx("cli"))
        self.assertEqual(ok, {"ok": True})
        for cert in (None, "cli2"):
            with self.assertRaises((ssl.SSLError, OSError, http.client.HTTPException)):
                control(self.mtls.port, "GET", "/_sim/ping", tls=self.ctx(cert))
        st = control(self.mtls.port, "GET", "/_sim/stats", tls=self.ctx("cli"))
        self.assertEqual(st["tls_handshake_failed"], 2)

    def test_slow_and_stalled_handshakes_do_not_block_others(self):
        port = self.sim.port
        # A client that connects and never says hello: the handshake waits in that
        # connection's thread, others are answered.
        stalled = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            self.assertEqual(control(port, "GET", "/_sim/ping", tls=self.ctx()), {"ok": True})
            control(port, "POST", "/_sim/faults", {"slow_handshake_ms": 4000}, tls=self.ctx())
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            slow = self.ctx().wrap_socket(raw, server_hostname="127.0.0.1",
                                          do_handshake_on_connect=False)
            slow.settimeout(0.5)
            with self.assertRaises((TimeoutError, socket.timeout)):
                slow.do_handshake()  # the server waits before its handshake
            slow.close()
            # A connection made while the wait is set completes after it, the stalled client
            # still connected.
            self.assertEqual(control(port, "POST", "/_sim/faults", {}, tls=self.ctx()),
                             {"config": {}, "remaining": {}})
            self.assertEqual(control(port, "GET", "/_sim/ping", tls=self.ctx()), {"ok": True})
        finally:
            stalled.close()


if __name__ == "__main__":
    unittest.main()
