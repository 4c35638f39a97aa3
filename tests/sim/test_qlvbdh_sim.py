#!/usr/bin/env python3
"""Self-test of the QLVBĐH webhook simulator. Run:
    python3 tests/sim/test_qlvbdh_sim.py -v
The signatures here are made with Python's hmac and checked once against the openssl CLI.
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
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "qlvbdh_sim.py")
SECRET = "Khóa bí mật QLVBĐH 44 ký tự"


def sign(secret, ts, body):
    return hmac.new(secret.encode("utf-8"), str(ts).encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def event(kind="edoc"):
    return {"event_id": str(uuid.uuid4()), "kind": kind, "package_id": 1,
            "document_id": "000.00.00.G22,2026/12/03,1/UBND", "content_url": "/v1/packages/1/content"}


class Sim:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="qlvbdh_sim_")
        pf = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--port-file", pf,
                                      "--secret", SECRET, "--log",
                                      os.path.join(self.dir, "log")] + list(extra),
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert "listening" in line, line
        with open(pf) as f:
            self.port = int(f.read())

    def close(self):
        self.proc.terminate()
        self.assert_rc = self.proc.wait(10)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def conn(self, timeout=10, ctx=None):
        if ctx:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def post(self, body, ts=None, sig=None, timeout=10, ctx=None):
        ts = int(time.time()) if ts is None else ts
        sig = sign(SECRET, ts, body) if sig is None else sig
        c = self.conn(timeout, ctx)
        try:
            c.request("POST", "/events", body, {"Content-Type": "application/json",
                                                 "X-Gateway-Timestamp": str(ts),
                                                 "X-Gateway-Signature": sig})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def ctl(self, method, path, obj=None):
        c = self.conn()
        c.request(method, path, json.dumps(obj).encode() if obj is not None else None)
        r = c.getresponse()
        data = json.loads(r.read())
        c.close()
        return data


class TestSignature(unittest.TestCase):
    def test_hmac_matches_openssl(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        body = json.dumps(event()).encode()
        ts = 1764720000
        out = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", SECRET],
                             input=str(ts).encode() + b"." + body, capture_output=True,
                             check=True).stdout.decode()
        self.assertEqual(out.strip().split()[-1], sign(SECRET, ts, body))
        sys.path.insert(0, HERE)
        import qlvbdh_sim
        self.assertEqual(qlvbdh_sim.signature(SECRET, str(ts), body), sign(SECRET, ts, body))


class TestSim(unittest.TestCase):
    def setUp(self):
        self.sim = Sim()

    def tearDown(self):
        self.sim.close()
        self.assertEqual(self.sim.assert_rc, 0)

    def test_accept_and_dedup(self):
        ev = event()
        body = json.dumps(ev).encode()
        st, ans = self.sim.post(body)
        self.assertEqual(st, 200)
        self.assertFalse(json.loads(ans)["duplicate"])
        st, ans = self.sim.post(body)  # a fresh timestamp and signature, same event
        self.assertEqual(st, 200)
        self.assertTrue(json.loads(ans)["duplicate"])
        self.assertEqual(self.sim.ctl("GET", "/_sim/events")["events"], [ev])
        stats = self.sim.ctl("GET", "/_sim/stats")
        self.assertEqual((stats["attempts"], stats["accepted"], stats["duplicates"]), (2, 1, 1))
        self.assertEqual(len(self.sim.ctl("GET", "/_sim/attempts")["attempts"]), 2)

    def test_refusals(self):
        body = json.dumps(event()).encode()
        self.assertEqual(self.sim.post(body, sig="0" * 64)[0], 401)
        self.assertEqual(self.sim.post(body, sig=sign("other", int(time.time()), body))[0], 401)
        old = int(time.time()) - 301
        self.assertEqual(self.sim.post(body, ts=old)[0], 401)
        self.assertEqual(self.sim.post(body + b" ", sig=sign(SECRET, int(time.time()), body))[0],
                         401)
        self.assertEqual(self.sim.post(b"[1]")[0], 400)
        stats = self.sim.ctl("GET", "/_sim/stats")
        self.assertEqual((stats["refused"], stats["invalid"], stats["accepted"]), (4, 1, 0))
        self.assertEqual(self.sim.ctl("GET", "/_sim/events")["events"], [])

    def test_status_faults(self):
        self.sim.ctl("POST", "/_sim/faults", {"http_status": 500, "count": 2})
        body = json.dumps(event()).encode()
        self.assertEqual(self.sim.post(body)[0], 500)
        self.assertEqual(self.sim.post(body)[0], 500)
        self.assertEqual(self.sim.post(body)[0], 200)
        self.sim.ctl("POST", "/_sim/faults", {"wrong_answer": 302, "count": 1,
                                              "then": {"http_status": 503, "count": 1}})
        self.assertEqual(self.sim.post(json.dumps(event()).encode())[0], 302)
        self.assertEqual(self.sim.post(json.dumps(event()).encode())[0], 503)
        self.assertEqual(self.sim.post(json.dumps(event()).encode())[0], 200)
        self.assertEqual(self.sim.ctl("GET", "/_sim/stats")["faulted"], 4)
        self.assertEqual(len(self.sim.ctl("GET", "/_sim/events")["events"]), 2)

    def test_drop_partial_delay(self):
        body = json.dumps(event()).encode()
        self.sim.ctl("POST", "/_sim/faults", {"drop": True, "count": 1})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.sim.post(body)
        self.sim.ctl("POST", "/_sim/faults", {"partial": True, "count": 1})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.sim.post(body)
        self.sim.ctl("POST", "/_sim/faults", {"delay_ms": 3000, "count": 1})
        with self.assertRaises(OSError):  # socket.timeout
            self.sim.post(body, timeout=0.5)
        self.sim.ctl("POST", "/_sim/faults", {})
        self.assertEqual(len(self.sim.ctl("GET", "/_sim/events")["events"]), 0)
        time.sleep(3)  # the delayed attempt is then accepted by the simulator
        self.assertEqual(self.sim.post(body)[0], 200)
        self.assertEqual(self.sim.ctl("GET", "/_sim/stats")["duplicates"], 1)

    def test_bad_fault(self):
        self.assertEqual(self.sim.ctl("POST", "/_sim/faults", {"nonsense": 1})["error"],
                         "bad_fault")


class TestTls(unittest.TestCase):
    def test_https(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        d = tempfile.mkdtemp(prefix="qlvbdh_tls_")
        try:
            cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            sim = Sim("--tls-cert", cert, "--tls-key", key)
            try:
                ctx = ssl.create_default_context(cafile=cert)
                self.assertEqual(sim.post(json.dumps(event()).encode(), ctx=ctx)[0], 200)
                with self.assertRaises(ssl.SSLError):
                    sim.post(b"{}", ctx=ssl.create_default_context())
            finally:
                sim.close()
        finally:
            shutil.rmtree(d, ignore_errors=True)


class TestMutualTls(unittest.TestCase):
    def test_client_certificate_required(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        d = tempfile.mkdtemp(prefix="qlvbdh_mtls_")
        try:
            f = lambda n: os.path.join(d, n)  # noqa: E731
            run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            run("openssl", "req", "-x509", *ec, "-keyout", f("ca.key"), "-out", f("ca.pem"),
                "-days", "2", "-subj", "/CN=test client CA")
            run("openssl", "req", "-x509", *ec, "-keyout", f("srv.key"), "-out", f("srv.pem"),
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
            run("openssl", "req", *ec, "-keyout", f("cli.key"), "-out", f("cli.csr"),
                "-subj", "/CN=gateway")
            run("openssl", "x509", "-req", "-in", f("cli.csr"), "-CA", f("ca.pem"), "-CAkey",
                f("ca.key"), "-CAcreateserial", "-out", f("cli.pem"), "-days", "2")
            sim = Sim("--tls-cert", f("srv.pem"), "--tls-key", f("srv.key"),
                      "--tls-client-ca", f("ca.pem"))
            try:
                ctx = ssl.create_default_context(cafile=f("srv.pem"))
                with self.assertRaises((ssl.SSLError, ConnectionError)):
                    sim.post(json.dumps(event()).encode(), ctx=ctx)  # no client certificate
                ctx.load_cert_chain(f("cli.pem"), f("cli.key"))
                self.assertEqual(sim.post(json.dumps(event()).encode(), ctx=ctx)[0], 200)
            finally:
                sim.close()
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
