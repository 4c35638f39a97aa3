"""TLS on the northbound listener ([server] tls_cert, tls_key, tls_client_ca) and clients known by
a pinned certificate ([client.NAME] cert_sha256), against a test PKI made with the openssl CLI:
- a client certificate from the configured CA pinned by a client submits without a token (Python
  ssl and curl as independent clients); a token client over TLS works; no certificate and no
  token is 401; a certificate from another CA fails the handshake; a certificate from the right
  CA pinned by nobody is 401 without a token; a token of another client over a pinned
  certificate is 401; nothing refused is stored (PostgreSQL row counts);
- a plain-HTTP request to the TLS port gets the connection closed and the gateway keeps serving;
  a TLS 1.1-only client is refused; failures are counted by reason and logged at debug without a
  line per failure; no token or key material reaches the log;
- 50 connections stalled mid-ClientHello do not stop a good client, are closed by the header
  timeout (counted as "timeout") and give their connection slots back;
- SIGHUP after the server certificate is replaced: new connections see the new one, an open
  keep-alive connection goes on with the old; SIGHUP with a broken key keeps the certificate and
  counts result="failed"; a broken key at start stops the start naming the file;
- close_notify before the FIN after a final response, after the keep-alive idle timeout and for
  idle connections at shutdown (a Python client refusing ragged EOFs reads a clean end);
- 12 MB up and 12 MB down (streamed request and response bodies) over TLS, byte for byte;
- bad chunk framing read while a chunk is held (slow body puts) answers the upload and the
  gateway keeps serving; the staged body is dropped;
- tls_client_auth = required: the pinned certificate is accepted, a connection without one fails
  its handshake (a token does not help).
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import http.client
import warnings

import gwtest as t
import gwtls

OTHER_TOKEN = "test-token-other-client"


def metric(gw, ctx, name, labels):
    body = t.request(gw.port, "GET", "/metrics", token=None, ssl_context=ctx).body.decode()
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), body, re.M)
    return float(m.group(1)) if m else 0.0


def metric_becomes(gw, ctx, name, labels, value):
    """/metrics is a snapshot refreshed at most once a second: wait for the value."""
    t.wait_until(lambda: metric(gw, ctx, name, labels) == value, 15, interval=0.3,
                 what="%s{%s} == %s (is %s)" % (name, labels, value, metric(gw, ctx, name, labels)))


def packages(env):
    return int(env.pg.query("SELECT count(*) FROM package"))


def tls_gateway(env, pki, extra=None):
    ca = pki.ca("clients-ca")
    server_ca = pki.ca("server-ca")
    server = pki.leaf("server", server_ca)
    pinned = pki.leaf("client-pinned", ca, client=True)
    config = {
        "server:tls_cert": server[0], "server:tls_key": server[1], "server:tls_client_ca": ca[0],
        "client.bycert:cert_sha256": gwtls.cert_sha256(pinned[0]),
        "client.other:token_sha256": hashlib.sha256(OTHER_TOKEN.encode()).hexdigest(),
    }
    config.update(extra or {})
    gw = env.gateway(config, start=False)
    # the harness's own requests (readiness) need the pinned certificate when one is required
    required = config.get("server:tls_client_auth") == "required"
    gw.ssl_context = gwtls.client_context(server_ca[0], pinned if required else None)
    gw.start()
    return gw, {"ca": ca, "server_ca": server_ca, "server": server, "pinned": pinned}


def refused(port, ctx, body, token=None):
    """A request whose handshake or answer the server refuses: True when no HTTP answer came."""
    try:
        r = t.request(port, "POST", "/v1/packages", body=body, token=token, ssl_context=ctx, timeout=10,
                      headers={"Content-Type": "application/xml"})
        return "answered %d" % r.status
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
        return True


def test_auth_and_refusals(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"gateway:log_level": "debug"})
    port = gw.port
    anon = gwtls.client_context(p["server_ca"][0])

    # pinned certificate, no token: that client
    ctx = gwtls.client_context(p["server_ca"][0], p["pinned"])
    r = t.request(port, "POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,1/TLS"), token=None,
                  ssl_context=ctx, headers={"Content-Type": "application/xml"})
    assert r.status == 202, (r.status, r.body)
    assert packages(env) == 1
    assert env.pg.query("SELECT source FROM package WHERE document_id = '000.00.12.H49,2024/06/01,1/TLS'") \
        == "bycert"
    # the same over one keep-alive connection, two requests
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    for i in (2, 3):
        conn.request("POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,%d/TLS" % i),
                     headers={"Content-Type": "application/xml"})
        r = conn.getresponse()
        assert r.status == 202, r.status
        r.read()
    conn.close()
    # a token client over TLS, no certificate
    assert gw.submit(t.edoc("000.00.12.H49,2024/06/01,4/TLS")).status == 202
    assert packages(env) == 4
    assert env.pg.query("SELECT source FROM package WHERE document_id = '000.00.12.H49,2024/06/01,4/TLS'") \
        == "qlvbdh"
    # a body of many records, streamed in: stored byte for byte
    big = t.edoc("000.00.12.H49,2024/06/01,BIG/TLS", pad=700000)
    r = t.request(port, "POST", "/v1/packages", body=big, token=None, ssl_context=ctx,
                  headers={"Content-Type": "application/xml"})
    assert r.status == 202, (r.status, r.body)
    assert env.pg.query("SELECT size || ' ' || encode(sha256, 'hex') FROM package "
                        "WHERE document_id = '000.00.12.H49,2024/06/01,BIG/TLS'") \
        == "%d %s" % (len(big), hashlib.sha256(big).hexdigest())
    assert packages(env) == 5
    # neither certificate nor token: 401, nothing stored
    r = t.request(port, "POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,5/TLS"), token=None,
                  ssl_context=anon, headers={"Content-Type": "application/xml"})
    assert r.status == 401 and r.headers.get("www-authenticate") == "Bearer", (r.status, r.headers)
    # right CA, pinned by nobody, no token: 401; with a valid token: that token's client
    unpinned = pki.leaf("client-unpinned", p["ca"], client=True)
    uctx = gwtls.client_context(p["server_ca"][0], unpinned)
    r = t.request(port, "POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,6/TLS"), token=None,
                  ssl_context=uctx, headers={"Content-Type": "application/xml"})
    assert r.status == 401, r.status
    assert t.request(port, "GET", "/v1/inbox", token=t.TOKEN, ssl_context=uctx).status == 200
    # a pinned certificate with another client's token: 401
    r = t.request(port, "POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,7/TLS"),
                  token=OTHER_TOKEN, ssl_context=ctx, headers={"Content-Type": "application/xml"})
    assert r.status == 401, r.status
    assert packages(env) == 5
    # a certificate from another CA: the handshake is refused
    rogue_ca = pki.ca("rogue-ca")
    rogue = pki.leaf("client-rogue", rogue_ca, client=True)
    res = refused(port, gwtls.client_context(p["server_ca"][0], rogue), t.edoc("000.00.12.H49,2024/06/01,8/TLS"))
    assert res is True, res
    metric_becomes(gw, anon, "gateway_tls_handshake_failures_total", 'reason="bad_client_cert"', 1)
    assert packages(env) == 5

    # plain HTTP to the TLS port: closed without an HTTP answer; the gateway keeps serving
    out = t.raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"HTTP/1." not in out, out
    metric_becomes(gw, anon, "gateway_tls_handshake_failures_total", 'reason="not_tls"', 1)
    assert t.request(port, "GET", "/healthz", token=None, ssl_context=anon).status == 200

    # a TLS 1.1-only client
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0/1.1 on purpose
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    res = refused(port, old, b"")
    assert res is True, res
    metric_becomes(gw, anon, "gateway_tls_handshake_failures_total", 'reason="protocol_version"', 1)

    # curl as an independent client with the pinned certificate
    pkg = os.path.join(env.root, "pkg.xml")
    with open(pkg, "wb") as f:
        f.write(t.edoc("000.00.12.H49,2024/06/01,9/TLS"))
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", p["server_ca"][0],
                        "--cert", p["pinned"][0], "--key", p["pinned"][1], "-H", "Content-Type: application/xml",
                        "--data-binary", "@" + pkg, "https://127.0.0.1:%d/v1/packages" % port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.stdout == b"202", (r.stdout, r.stderr)
    assert packages(env) == 6

    # many failures of one kind: counted each, logged at debug far less often
    for _ in range(20):
        t.raw_exchange(port, b"\x16\x03\x01\x00\x05garbage-not-a-hello" + b"x" * 64)
    t.wait_until(lambda: metric(gw, anon, "gateway_tls_handshake_failures_total", 'reason="protocol"') >= 20
                 or metric(gw, anon, "gateway_tls_handshake_failures_total", 'reason="not_tls"') >= 21, 10,
                 what="garbage handshakes counted")
    lines = [ln for ln in gw.tail(1000000).splitlines() if "http.tls_handshake_failed" in ln]
    assert 0 < len(lines) < 20, len(lines)
    assert gw.alive()

    # nothing secret in the log
    text = gw.tail(1000000)
    assert t.TOKEN not in text and OTHER_TOKEN not in text
    for key in (p["server"][1], p["pinned"][1]):
        with open(key) as f:
            body = [ln for ln in f.read().splitlines() if ln and not ln.startswith("-----")]
        assert not any(ln in text for ln in body)
    assert "PRIVATE KEY" not in text


def test_slow_handshakes(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"server:max_connections": "60", "server:header_timeout_ms": "1500",
                                          "server:idle_timeout_ms": "120000"})
    anon = gwtls.client_context(p["server_ca"][0])
    hello = gwtls.client_hello()
    assert len(hello) > 100 and hello[0] == 0x16
    n_doc = [0]

    def stall(n):
        socks = []
        for _ in range(n):
            # far below idle_timeout_ms: only the header timer can close them in time
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
            s.sendall(hello[: len(hello) // 2])
            socks.append(s)
        return socks

    def good_client():
        for _ in range(3):
            n_doc[0] += 1
            r = gw.submit(t.edoc("000.00.12.H49,2024/06/01,%d/SLOW" % n_doc[0]))
            assert r.status == 202, (r.status, r.body)

    def closed(socks):
        for s in socks:
            try:
                assert s.recv(4096) == b""  # closed by the gateway, no byte sent
            except ConnectionResetError:
                pass
            s.close()

    for round_ in range(2):  # the second round proves the slots were given back
        socks = stall(50)
        good_client()
        closed(socks)
    assert packages(env) == n_doc[0] == 6
    metric_becomes(gw, anon, "gateway_tls_handshake_failures_total", 'reason="timeout"', 100)


def test_client_cert_required(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"server:tls_client_auth": "required"})
    # the pinned certificate: accepted without a token
    r = gw.submit(t.edoc("000.00.12.H49,2024/06/01,1/REQ"), token=None)
    assert r.status == 202, (r.status, r.body)
    # no certificate, even with a valid token: the handshake fails
    res = refused(gw.port, gwtls.client_context(p["server_ca"][0]), t.edoc("000.00.12.H49,2024/06/01,2/REQ"),
                  token=t.TOKEN)
    assert res is True, res
    metric_becomes(gw, gw.ssl_context, "gateway_tls_handshake_failures_total", 'reason="no_client_cert"', 1)
    assert packages(env) == 1


def test_large_over_tls(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"server:max_body_bytes": str(40 * 1024 * 1024),
                                   "server:body_timeout_ms": "60000"})
    ctx = gwtls.client_context(p["server_ca"][0], p["pinned"])
    # a streamed upload of many records, stored byte for byte
    big = t.edoc("000.00.12.H49,2024/10/01,1/BIG", pad=12 * 1024 * 1024)
    r = t.request(gw.port, "POST", "/v1/packages", body=big, token=None, ssl_context=ctx, timeout=60,
                  headers={"Content-Type": "application/xml"})
    assert r.status == 202, (r.status, r.body)
    assert env.pg.query("SELECT encode(sha256, 'hex') FROM package WHERE direction = 'out'") \
        == hashlib.sha256(big).hexdigest()
    # a streamed download (pieces of a few MiB, each encrypted on its way out)
    incoming = t.edoc("000.00.00.G22,2024/10/01,3/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22",
                      pad=12 * 1024 * 1024)
    env.sim.inject(t.PROVINCE, incoming)
    items = t.wait_until(lambda: t.request(gw.port, "GET", "/v1/inbox", token=None, ssl_context=ctx)
                         .json()["items"], 60, what="large package in inbox")
    content = t.request(gw.port, "GET", items[0]["content_url"], token=None, ssl_context=ctx, timeout=60)
    assert content.status == 200 and hashlib.sha256(content.body).hexdigest() == hashlib.sha256(incoming).hexdigest()


def held_then_bad_framing(gw, ctx, i):
    """A chunked upload whose chunk the gateway holds (its body puts are slow) while the TLS
    records behind it are already read: the body ends on a record boundary and bad chunk framing
    follows in a record of its own. The answer's first bytes, or what ended the connection."""
    head = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n" % t.TOKEN).encode()
    base = t.edoc("000.00.12.H49,2024/06/01,%d/HELD" % i, pad=3 * 190000)
    size_line_len = len(b"%x\r\n" % (3 * 262144 + 8000))
    n = 3 * 262144 + 16384 - (len(head) + size_line_len) % 16384
    body = base + b"\n" * (n - len(base))
    first = head + b"%x\r\n" % n + body
    assert len(first) % 16384 == 0
    ss = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw.port), timeout=20),
                         server_hostname="127.0.0.1")
    out = b""
    try:
        ss.sendall(first)
        ss.sendall(b"\r\nzz\r\n")
        while True:
            chunk = ss.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ssl.SSLError, OSError) as e:
        out += (" %r" % e).encode()
    finally:
        ss.close()
    return out[:40]


def test_error_while_chunk_held(env):
    # Before, the framing error parsed while the held chunk was given back ended the upload
    # inside the submit pump, which freed its job and read it again: gatewayd died (ASan:
    # heap-use-after-free in gw_submit_pump).
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"server:max_body_bytes": str(8 * 1024 * 1024)})
    t.wrap_function(env.pg, "gw_body_put", "p_body bigint, p_seq integer, p_bytes bytea", "boolean",
                    "PERFORM pg_sleep(0.3);")
    ctx = gwtls.client_context(p["server_ca"][0])
    for i in range(3):
        got = held_then_bad_framing(gw, ctx, i)
        assert gw.alive(), (i, got)
        assert not got.startswith(b"HTTP/1.1 2"), got
    r = gw.submit(t.edoc("000.00.12.H49,2024/06/01,9/HELD"))
    assert r.status == 202, (r.status, r.body)
    assert env.pg.query("SELECT count(*) FROM package") == "1"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM body b WHERE NOT EXISTS "
                                      "(SELECT 1 FROM package p WHERE p.body_id = b.id)") == "0",
                 20, what="the refused uploads' staged bodies dropped")


def read_to_close(ss):
    """Everything until the server ends the session; a TCP close without close_notify raises
    (suppress_ragged_eofs=False)."""
    out = b""
    while True:
        chunk = ss.recv(65536)
        if not chunk:
            return out
        out += chunk


def test_close_notify(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki, {"server:idle_timeout_ms": "1000"})
    ctx = gwtls.client_context(p["server_ca"][0], p["pinned"])

    def session(close):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
        ss = ctx.wrap_socket(s, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
        ss.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n" % (b"Connection: close\r\n" if close else b""))
        return ss

    # after a final response
    ss = session(True)
    assert read_to_close(ss).startswith(b"HTTP/1.1 200"), "no clean close after Connection: close"
    ss.close()
    # after the keep-alive idle timeout
    ss = session(False)
    assert read_to_close(ss).startswith(b"HTTP/1.1 200")
    ss.close()
    # idle at shutdown: close_notify, and the drain ends cleanly
    ss = session(False)
    first = ss.recv(65536)
    assert first.startswith(b"HTTP/1.1 200"), first
    gw.proc.send_signal(signal.SIGTERM)
    assert read_to_close(ss) == b""
    ss.close()
    assert gw.wait_exit(30) == 0


def peer_sha256(conn):
    return gwtls.der_sha256(conn.sock.getpeercert(binary_form=True))


def test_reload(env):
    pki = gwtls.Pki(env.root)
    gw, p = tls_gateway(env, pki)
    ctx = gwtls.client_context(p["server_ca"][0], p["pinned"])
    first = gwtls.cert_sha256(p["server"][0])

    old = http.client.HTTPSConnection("127.0.0.1", gw.port, context=ctx, timeout=10)
    old.request("GET", "/v1/inbox")
    r = old.getresponse()
    r.read()
    assert r.status == 200 and peer_sha256(old) == first
    assert "(sha256 %s)" % first in gw.tail(1000000), "the start names the certificate's SHA-256"

    # a new server certificate from the same CA replaces the files
    fresh = pki.leaf("server-2", p["server_ca"])
    shutil.copy(fresh[0], p["server"][0] + ".new")
    shutil.copy(fresh[1], p["server"][1] + ".new")
    os.replace(p["server"][1] + ".new", p["server"][1])
    os.replace(p["server"][0] + ".new", p["server"][0])
    second = gwtls.cert_sha256(p["server"][0])
    assert second != first
    gw.proc.send_signal(signal.SIGHUP)
    metric_becomes(gw, ctx, "gateway_tls_reloads_total", 'result="ok"', 1)
    new = http.client.HTTPSConnection("127.0.0.1", gw.port, context=ctx, timeout=10)
    new.request("GET", "/v1/inbox")
    r = new.getresponse()
    r.read()
    assert r.status == 200 and peer_sha256(new) == second
    assert "(sha256 %s)" % second in gw.tail(1000000), "the reload names the new certificate's SHA-256"
    new.close()
    # the connection opened before keeps its session
    old.request("POST", "/v1/packages", body=t.edoc("000.00.12.H49,2024/06/01,1/RELOAD"),
                headers={"Content-Type": "application/xml"})
    r = old.getresponse()
    r.read()
    assert r.status == 202 and peer_sha256(old) == first
    old.close()

    # a broken key: the certificate in force stays, the failure is counted and logged once
    with open(p["server"][1], "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    gw.proc.send_signal(signal.SIGHUP)
    metric_becomes(gw, ctx, "gateway_tls_reloads_total", 'result="failed"', 1)
    assert metric(gw, ctx, "gateway_tls_reloads_total", 'result="ok"') == 1
    conn = http.client.HTTPSConnection("127.0.0.1", gw.port, context=ctx, timeout=10)
    conn.request("GET", "/v1/inbox")
    r = conn.getresponse()
    r.read()
    assert r.status == 200 and peer_sha256(conn) == second
    conn.close()
    text = gw.tail(1000000)
    failed = [ln for ln in text.splitlines() if "tls.reload_failed" in ln]
    assert len(failed) == 1 and p["server"][1] in failed[0], failed
    assert "bm90IGEga2V5" not in text and "PRIVATE KEY" not in text
    assert packages(env) == 1

    # a broken key at start stops the start, naming the file
    bad = env.gateway({"server:tls_cert": p["server"][0], "server:tls_key": p["server"][1]}, start=False)
    bad.start(wait=False)
    assert bad.wait_exit(30) != 0
    text = bad.tail(100)
    assert "tls_key " + p["server"][1] in text, text
    assert "bm90IGEga2V5" not in text


if __name__ == "__main__":
    t.run([test_auth_and_refusals, test_slow_handshakes, test_reload, test_client_cert_required,
           test_close_notify, test_large_over_tls, test_error_while_chunk_held])
