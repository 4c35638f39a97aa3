#!/usr/bin/env python3
"""Self-test of the loopback OCSP/CRL/TSA front end (tests/sim/ocsp_front.py): answers checked
with the openssl CLI. Run: python3 tests/sim/test_ocsp_front.py"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FRONT = os.path.join(HERE, "ocsp_front.py")


def sh(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, shell=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)


class FrontTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("no openssl")
        cls.dir = tempfile.mkdtemp(prefix="gw-front.")
        cls.proc = subprocess.Popen([sys.executable, FRONT, "serve", cls.dir],
                                    stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, line
        cls.base = "http://127.0.0.1:%s" % m.group(1)
        subprocess.run([sys.executable, FRONT, "pki", cls.dir, "--base", cls.base], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def post(self, path, body=b"", ctype="application/octet-stream"):
        req = urllib.request.Request(self.base + path, data=body, method="POST",
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()

    def ocsp(self, cert):
        sh("openssl ocsp -issuer ca.pem -cert %s.pem -reqout q.der" % cert, self.dir)
        with open(os.path.join(self.dir, "q.der"), "rb") as f:
            st, body = self.post("/ocsp", f.read(), "application/ocsp-request")
        self.assertEqual(st, 200)
        with open(os.path.join(self.dir, "r.der"), "wb") as f:
            f.write(body)
        out = sh("openssl ocsp -respin r.der -no_nonce -CAfile ca.pem -issuer ca.pem"
                 " -cert %s.pem" % cert, self.dir).stdout.decode()
        return out

    def test_ocsp_statuses(self):
        self.assertIn("good.pem: good", self.ocsp("good"))
        out = self.ocsp("revoked")
        self.assertIn("revoked.pem: revoked", out)
        self.assertIn("Reason: keyCompromise", out)
        self.assertIn("unknown.pem: unknown", self.ocsp("unknown"))
        self.assertIn("Response verify OK", out)

    def test_down_up(self):
        self.post("/control/down?what=ocsp&mode=503")
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.post("/ocsp", b"x")
        self.assertEqual(e.exception.code, 503)
        self.post("/control/down?what=ocsp&mode=reset")
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            self.post("/ocsp", b"x")
        # CRLs still served while only OCSP is down.
        with urllib.request.urlopen(self.base + "/crl/ca.crl", timeout=10) as r:
            self.assertEqual(r.status, 200)
        self.post("/control/up?what=ocsp")
        self.assertIn("good.pem: good", self.ocsp("good"))

    def test_crl(self):
        with urllib.request.urlopen(self.base + "/crl/stale.crl", timeout=10) as r:
            body = r.read()
        with open(os.path.join(self.dir, "got.crl"), "wb") as f:
            f.write(body)
        out = sh("openssl crl -inform DER -in got.crl -CAfile ca.pem -noout -nextupdate",
                 self.dir).stdout.decode()
        self.assertIn("verify OK", out)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(self.base + "/crl/none.crl", timeout=10)
        self.assertEqual(e.exception.code, 404)

    def test_tsa(self):
        with open(os.path.join(self.dir, "data.bin"), "wb") as f:
            f.write(b"hello")
        sh("openssl ts -query -data data.bin -sha256 -cert -out q.tsq", self.dir)
        with open(os.path.join(self.dir, "q.tsq"), "rb") as f:
            st, body = self.post("/tsa", f.read(), "application/timestamp-query")
        self.assertEqual(st, 200)
        with open(os.path.join(self.dir, "r.tsr"), "wb") as f:
            f.write(body)
        out = sh("openssl ts -verify -data data.bin -in r.tsr -CAfile ca.pem -untrusted tsa.pem",
                 self.dir).stdout.decode()
        self.assertIn("Verification: OK", out)


if __name__ == "__main__":
    unittest.main()
