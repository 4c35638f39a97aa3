"""Helpers for the outbound TLS tests (their PKI is gwtls.Pki): the axis simulator started over
HTTPS (gwtest.Sim with --tls-* arguments and an https:// url, its control API reached over TLS),
and a way to run gatewayd with a system certificate store of the
test's choosing (a private mount namespace over /etc/ssl/certs) to show that it adds nothing.

Standard library only. Also imported by the simulator's self-test (tests/sim/test_axis_sim.py).
"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import warnings

import gwtest as t


def control_context(client=None):
    """The TLS context of the tests' own control calls to the simulator: no verification (the
    control API is not under test, and some tests give the simulator a certificate on purpose
    that nothing trusts), any version the simulator may be limited to, a client certificate
    when it requires one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1, on purpose
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    except (ssl.SSLError, ValueError):
        pass
    if client:
        ctx.load_cert_chain(client[0], client[1])
    return ctx


def tls_args(server, client_ca=None, max_version=None):
    """The simulator's command line for a server (cert, key) pair."""
    args = ["--tls-cert", server[0], "--tls-key", server[1]]
    if client_ca:
        args += ["--tls-client-ca", client_ca]
    if max_version:
        args += ["--tls-max-version", max_version]
    return args


class TlsSim(t.Sim):
    """gwtest.Sim over HTTPS: url() is https://127.0.0.1:PORT, control calls go over TLS (with the
    client certificate when the simulator requires one). port: a fixed port (a restart on the
    same port), 0 for an ephemeral one."""

    def __init__(self, root, server, client_ca=None, client=None, max_version=None, port=0, systems=None):
        os.makedirs(root, exist_ok=True)
        pf = os.path.join(root, "sim.port")
        if os.path.exists(pf):
            os.unlink(pf)  # a restart in the same folder: wait for the new port file
        self.context = control_context(client)
        super().__init__(root, systems, args=tls_args(server, client_ca, max_version), port=port)

    def ctl(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=self.context)
        try:
            conn.request(method, path, body=data)
            r = conn.getresponse()
            resp = t.Response(r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
        finally:
            conn.close()
        if resp.status != 200:
            raise AssertionError("sim %s %s -> %d %r" % (method, path, resp.status, resp.body[:200]))
        return resp


def replace_sim(env, sim):
    """Makes sim the env's simulator (the plain one is stopped); gateways started afterwards point
    at sim.url()."""
    if env.sim is not None:
        env.sim.close()
    env.sim = sim
    return sim


def axis_tls(ca_file=None, client=None, insecure=None):
    """The [axis.national] keys for a gateway's extra config."""
    extra = {"axis.national:insecure": insecure}
    if ca_file:
        extra["axis.national:ca_file"] = ca_file
    if client:
        extra["axis.national:client_cert"] = client[0]
        extra["axis.national:client_key"] = client[1]
    return extra


def can_unshare():
    """Whether a private mount namespace can be made here (root, CAP_SYS_ADMIN)."""
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return r.returncode == 0


def system_store_prefix(certs_dir):
    """A gwtest.Gateway prefix that runs gatewayd with certs_dir mounted over /etc/ssl/certs (the
    Debian libcurl's built-in CA path and bundle), in a mount namespace of its own."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/ssl/certs && exec "$@"', certs_dir]


def tls11_client_ok(port):
    """Whether this Python's OpenSSL completes a TLS 1.1 handshake with the server on port."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1, on purpose
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s) as tls:
                return tls.version() == "TLSv1.1"
    except (ssl.SSLError, OSError, ValueError):
        return False
