"""TLS helpers for the integration tests: a throwaway PKI made with the openssl CLI at test time
(CAs, server certificates for 127.0.0.1 or another name, client certificates, a directory laid
out like the system store), used by the inbound and outbound tests and the simulators'
self-tests; SHA-256 pins of certificates computed from the DER the openssl CLI writes, and
Python ssl client contexts.

Keys are P-256 (fast to make). Everything lives under one directory that the test's Env removes.
"""

import hashlib
import os
import shutil
import ssl
import subprocess
import uuid


def _openssl(*args):
    r = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


class Pki:
    """CAs and certificates under root/pki (P-256 keys, valid 30 days). Each returns paths."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pki")
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name, cn=None):
        """A self-signed CA: (cert.pem, key.pem). cn: its common name (default: name)."""
        cert, key = self.path(name + ".pem"), self.path(name + ".key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "30", "-subj", "/O=gatewayd tests/CN=" + (cn or name),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return cert, key

    def leaf(self, name, ca, client=False, cn=None, san=None):
        """A certificate issued by ca (cert, key) for a server or, with client, a TLS client:
        (cert.pem, key.pem). cn: its common name (default: name); san: a server's
        subjectAltName (default: 127.0.0.1 and localhost; a client certificate has none)."""
        cert, key, csr, ext = (self.path(name + s) for s in (".pem", ".key", ".csr", ".ext"))
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/O=gatewayd tests/CN=" + (cn or name))
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n")
            if client:
                f.write("extendedKeyUsage=clientAuth\n")
            else:
                f.write("extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % (san or "IP:127.0.0.1,DNS:localhost"))
        _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-days", "30",
                 "-set_serial", "0x" + uuid.uuid4().hex[:16], "-extfile", ext, "-out", cert)
        return cert, key

    def hashed_dir(self, name, certs):
        """A directory laid out like /etc/ssl/certs that trusts exactly certs: each under its
        OpenSSL subject hash (<hash>.0), and all of them in ca-certificates.crt."""
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "ca-certificates.crt"), "w") as bundle:
            for i, c in enumerate(certs):
                h = _openssl("x509", "-noout", "-subject_hash", "-in", c).decode().strip()
                shutil.copyfile(c, os.path.join(d, "%s.%d" % (h, i)))
                with open(c) as f:
                    bundle.write(f.read())
        return d


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
