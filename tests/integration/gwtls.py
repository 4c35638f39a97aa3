"""TLS helpers for the integration tests: a throwaway PKI made with the openssl CLI at test time
(CAs, a server certificate for 127.0.0.1, client certificates), SHA-256 pins of certificates
computed from the DER the openssl CLI writes, and Python ssl client contexts.

Keys are P-256 (fast to make). Everything lives under one directory that the test's Env removes.
"""

import hashlib
import os
import ssl
import subprocess
import uuid


def _openssl(*args, stdin=None):
    r = subprocess.run(["openssl"] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


class Pki:
    def __init__(self, root):
        self.dir = os.path.join(root, "pki")
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        """A self-signed CA: (cert.pem, key.pem)."""
        cert, key = self.path(name + ".pem"), self.path(name + ".key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "30", "-subj", "/O=gatewayd tests/CN=" + name,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return cert, key

    def leaf(self, name, ca, client=False):
        """A certificate issued by ca (cert, key) for a server on 127.0.0.1 or a TLS client:
        (cert.pem, key.pem)."""
        cert, key, csr, ext = (self.path(name + s) for s in (".pem", ".key", ".csr", ".ext"))
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/O=gatewayd tests/CN=" + name)
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n")
            if client:
                f.write("extendedKeyUsage=clientAuth\n")
            else:
                f.write("extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-days", "30",
                 "-set_serial", "0x" + uuid.uuid4().hex[:16], "-extfile", ext, "-out", cert)
        return cert, key


def cert_sha256(cert_pem):
    """`openssl x509 -in c.pem -outform DER | sha256sum`: the pin of [client.NAME] cert_sha256."""
    return hashlib.sha256(_openssl("x509", "-in", cert_pem, "-outform", "DER")).hexdigest()


def der_sha256(der):
    return hashlib.sha256(der).hexdigest()


def client_context(ca_cert, cert=None, verify=True):
    """A client context trusting only ca_cert; cert: (cert.pem, key.pem) presented to the server."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify:
        ctx.load_verify_locations(ca_cert)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def client_hello():
    """The bytes of a real TLS ClientHello (Python's ssl over memory BIOs, nothing sent)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()
