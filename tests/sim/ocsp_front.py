#!/usr/bin/env python3
"""Loopback front end for a test PKI: OCSP (openssl ocsp), CRLs (static files) and an RFC 3161
TSA (openssl ts), with fault injection. Python standard library and the openssl CLI only.

    python3 tests/sim/ocsp_front.py pki DIR --base http://127.0.0.1:PORT
        makes a test PKI in DIR (see make_pki); the certificates' AIA OCSP URL is BASE/ocsp and
        their CRL distribution point BASE/crl/ca.crl
    python3 tests/sim/ocsp_front.py serve DIR [--port 0] [--port-file PATH] [--nmin N]
        listens on 127.0.0.1 only and prints "ocsp_front listening on http://127.0.0.1:PORT"

Routes of serve:
    POST /ocsp                  one OCSP request (DER body) answered by
                                `openssl ocsp -index DIR/index.txt -CA DIR/ca.pem -rsigner
                                DIR/rsp.pem -rkey DIR/rsp.key -reqin REQ -respout RESP -nmin N`
                                (the files are read per request, so DIR may change meanwhile)
    GET  /crl/NAME              DIR/crl/NAME
    GET  /ca/NAME               DIR/ca/NAME (the issuers' certificates named by caIssuers)
    POST /tsa                   an RFC 3161 query answered by `openssl ts -reply` (DIR/tsa.*)
    POST /control/down?what=ocsp|crl|tsa|all&mode=503|reset
    POST /control/up?what=...   back to normal
    POST /control/delay?ms=N    every answer waits N ms first
    POST /control/nmin?n=N      nextUpdate of OCSP answers, minutes (0: none)
    POST /control/signer?name=rsp   answer OCSP with DIR/NAME.pem + DIR/NAME.key
    GET  /control/stats         JSON: requests served per kind
The server is deliberately simple: it holds no state beyond those switches.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_BODY = 1 << 20
KINDS = ("ocsp", "crl", "tsa", "ca")


def run(args, cwd, env=None):
    p = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


# Test PKI ---------------------------------------------------------------------------------------

CA_CNF = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 1
policy = pol_any
unique_subject = no
copy_extensions = none
[ pol_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, nonRepudiation
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:{base}/ocsp
crlDistributionPoints = URI:{base}/crl/ca.crl
[ v3_noaia ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
authorityKeyIdentifier = keyid
[ v3_ocsp ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
authorityKeyIdentifier = keyid
[ v3_tsa ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_cfg
[ tsa_cfg ]
dir = {dir}
serial = $dir/tsaserial
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
"""


def _key(d, name):
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", name + ".key"], d)


def _issue_x509(d, name, cn, ext, serial):
    """A certificate signed by the CA without going through `openssl ca`: not in index.txt."""
    _key(d, name)
    run(["openssl", "req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out",
         name + ".csr", "-config", "ca.cnf"], d)
    run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", serial, "-days", "365", "-extfile", "ca.cnf", "-extensions", ext,
         "-out", name + ".pem"], d)


def _issue_ca(d, name, cn, ext="v3_leaf"):
    """A certificate issued with `openssl ca`: recorded in index.txt (the OCSP database)."""
    _key(d, name)
    run(["openssl", "req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out",
         name + ".csr", "-config", "ca.cnf"], d)
    run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-extensions", ext, "-in",
         name + ".csr", "-out", name + ".pem", "-notext"], d)


def revoke(d, name, reason="keyCompromise", days_ago=3):
    """Revokes DIR/NAME.pem with a revocation time days_ago days in the past (faketime; without
    it the time is now)."""
    args = ["openssl", "ca", "-config", "ca.cnf", "-revoke", name + ".pem", "-crl_reason", reason]
    if days_ago and shutil_which("faketime"):
        args = ["faketime", "-f", "-%dd" % days_ago] + args
    run(args, d)


def shutil_which(prog):
    for p in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(os.path.join(p, prog), os.X_OK):
            return True
    return False


def _asn1(t):
    return t.strftime("%Y%m%d%H%M%SZ")


def gencrl(d, out, last=None, nxt=None, key="ca.key", cert="ca.pem"):
    """A CRL of the CA's index (thisUpdate/nextUpdate as datetimes; default now and now+1 day),
    signed by KEY/CERT (another key gives a CRL with a wrong signer)."""
    now = datetime.now(timezone.utc)
    last = last or now
    nxt = nxt or now + timedelta(days=1)
    os.makedirs(os.path.join(d, "crl"), exist_ok=True)
    run(["openssl", "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", key, "-cert", cert,
         "-crl_lastupdate", _asn1(last), "-crl_nextupdate", _asn1(nxt), "-out",
         os.path.join("crl", out + ".pem")], d)
    run(["openssl", "crl", "-in", os.path.join("crl", out + ".pem"), "-outform", "DER", "-out",
         os.path.join("crl", out)], d)


def make_pki(d, base):
    """CA (ca.pem), responder (rsp: EKU OCSPSigning), a CA-issued cert without that EKU (norsp),
    a self-signed cert with the CA's name (rogue), leaves good/revoked (in index.txt, revoked
    3 days ago for keyCompromise) and unknown (not in index.txt), a TSA (tsa), CRLs crl/ca.crl
    (fresh), crl/stale.crl (nextUpdate passed) and crl/rogue.crl (the CA's name, rogue's key)."""
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CNF.format(dir=d, base=base.rstrip("/")))
    for n, v in (("index.txt", ""), ("serial", "1000\n"), ("crlnumber", "01\n"),
                 ("tsaserial", "01\n")):
        with open(os.path.join(d, n), "w") as f:
            f.write(v)
    _key(d, "ca")
    run(["openssl", "req", "-new", "-x509", "-key", "ca.key", "-subj", "/CN=Test Root CA",
         "-days", "3650", "-config", "ca.cnf", "-extensions", "v3_ca", "-out", "ca.pem"], d)
    _issue_x509(d, "rsp", "Test OCSP Responder", "v3_ocsp", "0x7001")
    _issue_x509(d, "norsp", "Test Not A Responder", "v3_noaia", "0x7002")
    _issue_x509(d, "tsa", "Test TSA", "v3_tsa", "0x7003")
    _key(d, "rogue")
    run(["openssl", "req", "-new", "-x509", "-key", "rogue.key", "-subj", "/CN=Test Root CA",
         "-days", "365", "-config", "ca.cnf", "-extensions", "v3_ocsp", "-out", "rogue.pem"], d)
    _issue_ca(d, "good", "Nguyen Van Good")
    _issue_ca(d, "revoked", "Tran Thi Revoked")
    _issue_x509(d, "unknown", "Le Van Unknown", "v3_leaf", "0x7fff")
    _issue_ca(d, "noaia", "Pham Van NoAIA", "v3_noaia")
    revoke(d, "revoked")
    now = datetime.now(timezone.utc)
    gencrl(d, "ca.crl")
    gencrl(d, "stale.crl", now - timedelta(days=2), now - timedelta(days=1))
    gencrl(d, "rogue.crl", key="rogue.key", cert="rogue.pem")


# Server -----------------------------------------------------------------------------------------

class State:
    def __init__(self, d, nmin):
        self.dir = d
        self.nmin = nmin
        self.down = {}  # kind -> "503" | "reset"
        self.delay_ms = 0
        self.signer = "rsp"
        self.stats = {k: 0 for k in KINDS}
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ocsp_front/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def st(self):
        return self.server.state

    def _send(self, code, body=b"", ctype="application/octet-stream"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def _fault(self, kind):
        """True when the request was answered by an injected fault."""
        if self.st.delay_ms:
            time.sleep(self.st.delay_ms / 1000.0)
        mode = self.st.down.get(kind) or self.st.down.get("all")
        if not mode:
            return False
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        else:
            self._send(503, b"down\n", "text/plain")
        return True

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/control/stats":
            with self.st.lock:
                body = json.dumps(self.st.stats).encode()
            return self._send(200, body, "application/json")
        if u.path.startswith("/crl/"):
            if self._fault("crl"):
                return
            name = os.path.basename(u.path[5:])
            p = os.path.join(self.st.dir, "crl", name)
            if not name or not os.path.isfile(p):
                return self._send(404, b"no such CRL\n", "text/plain")
            with open(p, "rb") as f:
                body = f.read()
            with self.st.lock:
                self.st.stats["crl"] += 1
            return self._send(200, body, "application/pkix-crl")
        if u.path.startswith("/ca/"):
            if self._fault("crl"):
                return
            name = os.path.basename(u.path[4:])
            p = os.path.join(self.st.dir, "ca", name)
            if not name or not os.path.isfile(p):
                return self._send(404, b"no such certificate\n", "text/plain")
            with open(p, "rb") as f:
                body = f.read()
            with self.st.lock:
                self.st.stats["ca"] += 1
            return self._send(200, body, "application/pkix-cert")
        self._send(404, b"not found\n", "text/plain")

    def do_POST(self):
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        try:
            body = self._body()
        except ValueError:
            self.close_connection = True
            return self._send(413, b"too large\n", "text/plain")
        if u.path.startswith("/control/"):
            return self._control(u.path[9:], q)
        if u.path == "/ocsp":
            if self._fault("ocsp"):
                return
            return self._answer("ocsp", body)
        if u.path == "/tsa":
            if self._fault("tsa"):
                return
            return self._answer("tsa", body)
        self._send(404, b"not found\n", "text/plain")

    def _control(self, what, q):
        st = self.st
        with st.lock:
            if what == "down":
                mode = q.get("mode", "503")
                if mode not in ("503", "reset"):
                    return self._send(400, b"mode\n", "text/plain")
                st.down[q.get("what", "all")] = mode
            elif what == "up":
                k = q.get("what", "all")
                if k == "all":
                    st.down.clear()
                else:
                    st.down.pop(k, None)
            elif what == "delay":
                st.delay_ms = int(q.get("ms", "0"))
            elif what == "nmin":
                st.nmin = int(q.get("n", "0"))
            elif what == "signer":
                st.signer = os.path.basename(q.get("name", "rsp"))
            else:
                return self._send(404, b"no such control\n", "text/plain")
        self._send(200, b"ok\n", "text/plain")

    def _answer(self, kind, body):
        d = self.st.dir
        with tempfile.TemporaryDirectory() as t:
            req = os.path.join(t, "req")
            resp = os.path.join(t, "resp")
            with open(req, "wb") as f:
                f.write(body)
            if kind == "ocsp":
                args = ["openssl", "ocsp", "-index", "index.txt", "-CA", "ca.pem", "-rsigner",
                        self.st.signer + ".pem", "-rkey", self.st.signer + ".key", "-reqin", req,
                        "-respout", resp]
                if self.st.nmin:
                    args += ["-nmin", str(self.st.nmin)]
                ctype = "application/ocsp-response"
            else:
                args = ["openssl", "ts", "-reply", "-config", "ca.cnf", "-section", "tsa_cfg",
                        "-queryfile", req, "-inkey", "tsa.key", "-signer", "tsa.pem", "-out", resp]
                ctype = "application/timestamp-reply"
            p = subprocess.run(args, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0 or not os.path.exists(resp):
                return self._send(500, p.stderr, "text/plain")
            with open(resp, "rb") as f:
                out = f.read()
        with self.st.lock:
            self.st.stats[kind] += 1
        self._send(200, out, ctype)


def serve(d, port, port_file, nmin):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.state = State(os.path.abspath(d), nmin)
    real = srv.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % real)
        os.rename(tmp, port_file)
    print("ocsp_front listening on http://127.0.0.1:%d" % real, flush=True)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pki")
    p.add_argument("dir")
    p.add_argument("--base", required=True)
    s = sub.add_parser("serve")
    s.add_argument("dir")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--nmin", type=int, default=60)
    a = ap.parse_args(argv)
    if a.cmd == "pki":
        d = os.path.abspath(a.dir)
        os.makedirs(d, exist_ok=True)
        make_pki(d, a.base)
    else:
        serve(a.dir, a.port, a.port_file, a.nmin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
