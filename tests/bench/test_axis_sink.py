#!/usr/bin/env python3
"""Self-test of the benchmark's national axis sink (tests/bench/axis_sink.c), ctest bench.axis_sink.

The requests are signed here with Python's hmac and hashlib, independently of the gateway's
signer (adapters/vxp) and of the sink's checker; the worked example of domain.md section 5 is
checked with Python's hmac and `openssl dgst -hmac`, then replayed byte for byte. A correctly signed sendEdoc is answered OK with a docId; a bad signature,
a wrong secret, an uppercase digest, a zero-padded hash-file, a tampered signed header, a foreign
sender, a missing header, an unknown systemid, a bad timestamp and a package without recipient are
each refused with the simulator's ErrorCode, and the sink's counters say so. One sendEdoc goes
over TLS (a CA and certificate made for the run with the openssl CLI).
"""

import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("GW_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SINK = os.path.join(BUILD, "tests", "axis_sink")
PREFIX = "XroadVnpt-"
SECRET = "q3Vh0aQ2mR8xZ1n4b7T9c2E5f8H1j4K7m0P3s6V9y2A="
SYSTEMS = [
    {"systemid": "gw-bench", "secret": SECRET},
    {"systemid": "vpcp", "secret": "Khóa bí mật vpcp"},  # the key is the text's UTF-8 bytes
    {"systemid": "000.00.00.H41", "secret_b64": "TEST-ONLY-secret-not-a-real-key"},
]
# domain.md section 5, worked example (getReceivedEdocList of 000.00.00.H41).
EXAMPLE_KEYS = "systemid;servicetype;messagetype;timestamp;Content-Type"
EXAMPLE_SIGN = ('{"XroadVnpt-systemid":"000.00.00.H41","XroadVnpt-servicetype":"eDoc",'
                '"XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"28092018T172511+0123",'
                '"XroadVnpt-Content-Type":"application/json"}')
EXAMPLE_HASH = "0930375de28ac64c40ae8aeb86cc6e7b8e46442720651ecc79f848bfe3162597"


def edxml(to=("000.00.00.G22", "000.00.00.H44")):
    tos = "".join("<To><OrganId>%s</OrganId></To>" % t for t in to)
    return ('<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="http://www.mic.gov.vn/TBT/'
            'QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>'
            '000.00.12.H49</OrganId></From>%s<DocumentId>000.00.12.H49,2024/08/01,1/T</DocumentId>'
            '</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>' % tos).encode("utf-8")


def hash_file(data):
    return "".join("%x" % b for b in hashlib.sha256(data).digest())


def signed_headers(pairs, secret, digest=None):
    """Headers of a call signing pairs [(k, v)] in the given order, as domain.md section 5 says."""
    sign = "{%s}" % ",".join('"%s%s":"%s"' % (PREFIX, k, v) for k, v in pairs)
    mac = hmac.new(secret.encode("utf-8"), sign.encode("utf-8"), hashlib.sha256).hexdigest()
    h = {PREFIX + k: v for k, v in pairs}
    h["Content-Type"] = dict(pairs)["Content-Type"]
    h.update({PREFIX + "sign-header": sign, PREFIX + "sign-header-key": ";".join(k for k, _ in pairs),
              PREFIX + "hash-header": mac if digest is None else digest(mac),
              PREFIX + "version": "3.0.201608"})
    return h


def send_pairs(body, systemid="gw-bench", sender=None, hf=None):
    return [("systemid", systemid), ("from", sender or systemid), ("servicetype", "eDoc"),
            ("messagetype", "edoc"), ("hash-file", hf or hash_file(body)),
            ("timestamp", "03122026T120000+0042"), ("Content-Type", "application/octet-stream")]


class AxisSinkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SINK):
            if os.environ.get("GW_BUILD_DIR"):  # under ctest the target is built: its loss fails
                raise AssertionError("no %s (the axis_sink target)" % SINK)
            raise unittest.SkipTest("no %s (build the axis_sink target)" % SINK)
        cls.tmp = tempfile.mkdtemp(prefix="axis-sink-test.")
        spec = os.path.join(cls.tmp, "spec.json")
        with open(spec, "w", encoding="utf-8") as f:
            json.dump({"systems": SYSTEMS}, f, ensure_ascii=False)
        cls.procs = []
        cls.port = cls.start(spec, [])

    @classmethod
    def start(cls, spec, extra):
        pf = os.path.join(cls.tmp, "port%d" % len(cls.procs))
        p = subprocess.Popen([SINK, "--systems", spec, "--port", "0", "--port-file", pf] + extra,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cls.procs.append(p)
        deadline = time.monotonic() + 10
        while not os.path.exists(pf):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("axis_sink did not start: %s" % p.stderr.read().decode())
            time.sleep(0.02)
        with open(pf) as f:
            return int(f.read())

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
            _, err = p.communicate(timeout=10)
            assert p.returncode == 0, "axis_sink exited %d: %s" % (p.returncode, err.decode())
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def tearDown(self):
        self.conn.close()

    def call(self, op, headers, body=b"", conn=None):
        c = conn or self.conn
        c.request("POST", "/" + op, body=body, headers=headers)
        r = c.getresponse()
        return r.status, json.loads(r.read())

    def send(self, body, pairs=None, secret=SECRET, digest=None):
        pairs = pairs or send_pairs(body)
        return self.call("sendEdoc", signed_headers(pairs, secret, digest), body + b"\r\n")

    def refused(self, answer, code):
        status, doc = answer
        self.assertEqual(status, 200)
        self.assertEqual((doc["status"], doc["ErrorCode"]), ("FAIL", code), doc)
        return doc["ErrorDesc"]

    def stats(self):
        self.conn.request("GET", "/_sim/stats")
        return json.loads(self.conn.getresponse().read())

    def test_worked_example_of_domain_md(self):
        mac = hmac.new(b"TEST-ONLY-secret-not-a-real-key", EXAMPLE_SIGN.encode(), hashlib.sha256)
        self.assertEqual(mac.hexdigest(), EXAMPLE_HASH)  # the document's vector, by Python's hmac
        if shutil.which("openssl"):  # and by OpenSSL's command line
            out = subprocess.run(["openssl", "dgst", "-sha256", "-hmac",
                                  "TEST-ONLY-secret-not-a-real-key"], input=EXAMPLE_SIGN.encode(),
                                 capture_output=True, check=True).stdout.decode()
            self.assertEqual(out.split()[-1], EXAMPLE_HASH)
        h = {PREFIX + "systemid": "000.00.00.H41", PREFIX + "servicetype": "eDoc",
             PREFIX + "messagetype": "edoc", PREFIX + "timestamp": "28092018T172511+0123",
             PREFIX + "Content-Type": "application/json", "Content-Type": "application/json",
             PREFIX + "sign-header": EXAMPLE_SIGN, PREFIX + "sign-header-key": EXAMPLE_KEYS,
             PREFIX + "hash-header": EXAMPLE_HASH, PREFIX + "version": "3.0.201608"}
        self.assertEqual(self.call("getReceivedEdocList", h), (200, {
            "status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": []}))
        h[PREFIX + "hash-header"] = EXAMPLE_HASH[:-1] + "8"
        self.assertIn("hash-header", self.refused(self.call("getReceivedEdocList", h), "401"))

    def test_signed_send_gets_fresh_doc_ids(self):
        before = self.stats()
        ids = []
        for _ in range(2):
            status, doc = self.send(edxml())
            self.assertEqual((status, doc["status"], doc["ErrorCode"]), (200, "OK", "0"), doc)
            self.assertRegex(doc["DocId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                             r"[0-9a-f]{12}$")
            ids.append(doc["DocId"])
        self.assertNotEqual(ids[0], ids[1])
        # a non-ASCII secret is used as its UTF-8 characters
        status, doc = self.send(edxml(), send_pairs(edxml(), "vpcp"), secret="Khóa bí mật vpcp")
        self.assertEqual(doc["status"], "OK", doc)
        after = self.stats()
        self.assertEqual(after["sendEdoc_ok"] - before["sendEdoc_ok"], 3)
        self.assertEqual(after["auth_fail"], before["auth_fail"])

    def test_bad_signatures_are_refused(self):
        before = self.stats()
        flip = {"0": "1"}
        bad = lambda mac: mac[:10] + flip.get(mac[10], "0") + mac[11:]  # noqa: E731
        self.assertIn("hash-header", self.refused(self.send(edxml(), digest=bad), "401"))
        self.refused(self.send(edxml(), secret=SECRET[:-1]), "401")
        self.refused(self.send(edxml(), digest=str.upper), "401")  # lowercase hex only
        body = edxml()
        h = signed_headers(send_pairs(body), SECRET)
        h[PREFIX + "messagetype"] = "status"  # a header that differs from its signed value
        self.refused(self.call("sendEdoc", h, body + b"\r\n"), "402")
        h = signed_headers(send_pairs(body), SECRET)
        h[PREFIX + "sign-header-key"] = "systemid;from"
        self.refused(self.call("sendEdoc", h, body + b"\r\n"), "402")
        h = signed_headers(send_pairs(body), SECRET)
        del h[PREFIX + "version"]
        self.refused(self.call("sendEdoc", h, body + b"\r\n"), "400")
        self.refused(self.send(body, send_pairs(body, "nobody"), secret=SECRET), "404")
        pairs = [(k, "3122026T120000+0042" if k == "timestamp" else v) for k, v in send_pairs(body)]
        self.refused(self.send(body, pairs), "405")
        self.assertIn("khong dung", self.refused(
            self.send(body, send_pairs(body, sender="000.00.12.H49")), "403"))
        after = self.stats()
        self.assertEqual(after["auth_fail"] - before["auth_fail"], 9)
        self.assertEqual(after["sendEdoc_ok"], before["sendEdoc_ok"])

    def test_bad_calls_are_refused(self):
        body = edxml()
        padded = "".join("%02x" % b for b in hashlib.sha256(body).digest())
        self.assertNotEqual(padded, hash_file(body), "the digest must have a byte below 0x10")
        self.refused(self.send(body, send_pairs(body, hf=padded)), "23")
        self.refused(self.send(body, send_pairs(body, hf="ab" * 20)), "23")
        nobody = edxml(to=())
        self.assertIn("recipient", self.refused(self.send(nobody), "22"))
        self.refused(self.send(b"<edXML"), "22")
        h = signed_headers(send_pairs(body), SECRET)
        self.refused(self.call("sendEdoc", h, body), "400")  # no CRLF after the edXML
        pairs = [("systemid", "gw-bench"), ("servicetype", "eDoc"), ("messagetype", "edoc"),
                 ("timestamp", "03122026T120000+0042"), ("Content-Type", "application/json")]
        self.refused(self.call("getReceivedEdocList", signed_headers(pairs, SECRET), b"{}"), "400")
        status, doc = self.call("getReceivedEdocList", signed_headers(pairs, SECRET))
        self.assertEqual((status, doc["status"], doc["data"]), (200, "OK", []))

    def test_tls(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl CLI")
        d = os.path.join(self.tmp, "tls")
        os.makedirs(d, exist_ok=True)

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True, cwd=d, capture_output=True)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "1", "-subj", "/CN=sink test CA", "-keyout", "ca.key", "-out", "ca.pem")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "server.pem")
        port = self.start(os.path.join(self.tmp, "spec.json"),
                          ["--tls-cert", os.path.join(d, "server.pem"),
                           "--tls-key", os.path.join(d, "server.key")])
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
        try:
            body = edxml()
            status, doc = self.call("sendEdoc", signed_headers(send_pairs(body), SECRET),
                                    body + b"\r\n", conn)
            self.assertEqual((status, doc["status"]), (200, "OK"), doc)
            status, doc = self.call("sendEdoc", signed_headers(send_pairs(body), "x" * 44),
                                    body + b"\r\n", conn)
            self.assertEqual((doc["status"], doc["ErrorCode"]), ("FAIL", "401"))
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] if len(sys.argv) == 1 else sys.argv)
