"""TLS on the hop to an axis: the national axis simulator over HTTPS, its CA pinned per axis
(`[axis.national] ca_file`), certificates made with the openssl CLI at test time
(tests/integration/gwtls.py, gwtlsout.py).

- the pinned CA: a submitted package is delivered, an injected one fetched and acked;
- a simulator that requires a client certificate: delivery with client_cert/client_key;
- a certificate from another CA: sends fail as transport failures (the handshake never gets to a
  request), the breaker opens, its reason and /readyz say tls_verify_failed, no delivery spends
  its attempts or goes DEAD; the simulator restarted on the same port with the right certificate
  gets each package once;
- a certificate for another host name (example.org), and a TLS 1.1-only server: refused;
- a handshake slower than the axis timeout: a timeout, retried, delivered once the fault clears;
- a CA that only the system store holds (mounted over /etc/ssl/certs for gatewayd alone) is not
  trusted, while curl with the default store does trust it;
- at load: http:// without insecure and https:// without ca_file stop gatewayd with the message.
"""

import os
import subprocess
import sys

import gwtest as t
import gwtls
import gwtlsout as tl

FAST = {"delivery:breaker_failures": "3", "delivery:breaker_backoff_ms": "300",
        "delivery:breaker_backoff_max_ms": "1000"}


def pki(env):
    p = gwtls.Pki(env.root)
    ca = p.ca("ca")
    return p, ca, p.leaf("server", ca, cn="127.0.0.1")


def tls_sim(env, name, server, **kw):
    return tl.replace_sim(env, tl.TlsSim(os.path.join(env.root, name), server, **kw))


def peer(env):
    rows = env.pg.rows("SELECT state, reason FROM peer_health WHERE axis = 'national'")
    return tuple(rows[0]) if rows else ("", "")


def metrics(gw):
    return t.request(gw.port, "GET", "/metrics", token=None).body.decode()


def deliveries(env):
    return env.pg.rows("SELECT state, attempts, coalesce(last_error, '') FROM delivery ORDER BY id")


def submit(gw, n, tag):
    ids = ["000.00.12.H49,2024/08/%s,%d/STC" % (tag, i) for i in range(n)]
    for d in ids:
        r = gw.submit(t.edoc(d))
        assert r.status == 202, (r.status, r.body)
    return ids


def all_sent(env, n):
    return env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == str(n)


def sent_once(env, ids):
    counts = env.sim.stats()["sent_by_document_id"]
    return all(counts.get(d) == 1 for d in ids)


def assert_refused_by_tls(env, gw, code, tag="09"):
    """Sends fail at the handshake: the breaker opens with code in its reason (in peer_health and
    /readyz), nothing reached the axis, nothing spent its attempts or died."""
    sends = env.sim.stats()["requests"]["sendEdoc"]
    sent = env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'")
    ids = submit(gw, 5, tag)
    t.wait_until(lambda: peer(env)[0] in ("open", "half_open") and code in peer(env)[1], 30,
                 what="breaker open for " + code + ", now: " + repr(peer(env)))
    reason = peer(env)[1]
    assert "transport" in reason, reason

    def readyz_says():
        axes = t.request(gw.port, "GET", "/readyz", token=None).json()["checks"]["axes"]
        return any(a["name"] == "national" and code in a.get("reason", "") for a in axes)
    t.wait_until(readyz_says, 10, what="/readyz reason " + code)
    t.wait_until(lambda: any('gateway_axis_breaker_state{axis="national"} %d\n' % v in metrics(gw) for v in (1, 2)),
                 10, what="breaker gauge open")
    assert env.sim.stats()["requests"]["sendEdoc"] == sends
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    assert int(env.pg.query("SELECT max(attempts) FROM delivery")) <= 3, deliveries(env)
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == sent
    return ids


def test_pinned_ca_round_trip(env):
    _, ca, server = pki(env)
    tls_sim(env, "sim-tls", server)
    gw = env.gateway(tl.axis_tls(ca_file=ca[0]))
    assert env.sim.url().startswith("https://")
    ids = submit(gw, 2, "01")
    t.wait_until(lambda: all_sent(env, 2), 30, what="delivered over TLS")
    assert sent_once(env, ids)
    assert len(env.sim.mailbox("000.00.00.G22")) == 2
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/08/01,1/VPCP", to=(t.PROVINCE,),
                                      sender="000.00.00.G22"))
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 30, what="fetched and acked")
    assert env.pg.query("SELECT count(*) FROM package WHERE direction = 'in'") == "1"
    assert env.sim.stats()["tls_handshakes"] >= 1
    assert "insecure = true" not in gw.tail(1000)


def test_client_certificate(env):
    p, ca, server = pki(env)
    client = p.leaf("client", ca, client=True, cn=t.GW_SYSTEMID)
    tls_sim(env, "sim-mtls", server, client_ca=ca[0], client=client)
    gw = env.gateway(tl.axis_tls(ca_file=ca[0], client=client))
    ids = submit(gw, 2, "02")
    t.wait_until(lambda: all_sent(env, 2), 30, what="delivered with a client certificate")
    assert sent_once(env, ids)
    # The same axis without the client certificate: the handshake is refused. Under TLS 1.3 the
    # client hears of it only on its first read or write after the handshake, by an alert or a
    # closed connection: a transport failure, whatever libcurl calls it.
    gw.stop()
    failures = env.sim.stats()["tls_handshake_failures"]
    gw2 = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])))
    assert_refused_by_tls(env, gw2, "transport", tag="03")
    assert env.sim.stats()["tls_handshake_failures"] > failures


def test_other_ca_then_right_certificate(env):
    p, ca, server = pki(env)
    other = p.ca("other")
    wrong = p.leaf("wrong", other, cn="127.0.0.1")
    sim = tls_sim(env, "sim-wrong", wrong)
    port = sim.port
    gw = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])))
    ids = assert_refused_by_tls(env, gw, "tls_verify_failed")
    # The axis comes back on the same port with the right certificate: each package once.
    sim.close()
    tls_sim(env, "sim-right", server, port=port)
    t.wait_until(lambda: all_sent(env, 5), 60, what="delivered after the certificate was fixed")
    assert sent_once(env, ids)
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    t.wait_until(lambda: peer(env)[0] == "closed", 10, what="breaker closed")


def test_wrong_host_name(env):
    p, ca, _ = pki(env)
    elsewhere = p.leaf("elsewhere", ca, cn="example.org", san="DNS:example.org")
    tls_sim(env, "sim-host", elsewhere)
    gw = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])))
    assert_refused_by_tls(env, gw, "tls_verify_failed")
    t.log("wrong host name: %s" % peer(env)[1])
    assert "host name" in peer(env)[1], peer(env)


def test_tls11_server_refused(env):
    _, ca, server = pki(env)
    sim = tls_sim(env, "sim-tls11", server, max_version="1.1")
    if not tl.tls11_client_ok(sim.port):
        t.log("SKIP test_tls11_server_refused: this Python's OpenSSL cannot offer TLS 1.1")
        return
    gw = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])))
    assert_refused_by_tls(env, gw, "tls_handshake_failed")


def test_slow_handshake_times_out(env):
    _, ca, server = pki(env)
    tls_sim(env, "sim-slow", server)
    env.sim.faults(slow_handshake_ms=4000)  # beyond the axis's timeout_ms (2000)
    gw = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])))
    ids = submit(gw, 1, "06")
    t.wait_until(lambda: "timeout" in peer(env)[1] or any("timeout" in r[2] for r in deliveries(env)),
                 40, what="a send timed out in the handshake")
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state IN ('SENT', 'DEAD')") == "0"
    env.sim.faults()
    t.wait_until(lambda: all_sent(env, 1), 60, what="delivered after the fault cleared")
    assert sent_once(env, ids)
    assert env.sim.stats()["tls_slow_handshakes"] >= 1


def test_system_store_adds_nothing(env):
    if not tl.can_unshare():
        t.log("SKIP test_system_store_adds_nothing: no private mount namespace here")
        return
    p, ca, _ = pki(env)
    system_ca = p.ca("system", cn="system store test CA")
    trusted_by_system = p.leaf("sysleaf", system_ca, cn="127.0.0.1")
    store = p.hashed_dir("fake-system-store", [system_ca[0]])
    sim = tls_sim(env, "sim-sys", trusted_by_system)
    prefix = tl.system_store_prefix(store)
    # The control: with the default store (that mount), curl trusts the simulator ...
    r = subprocess.run(prefix + ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                 "https://127.0.0.1:%d/_sim/ping" % sim.port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "200", (r.returncode, r.stdout, r.stderr)
    # ... and so does gatewayd's libcurl with the stock settings: pinned, it must not.
    gw = env.gateway(dict(FAST, **tl.axis_tls(ca_file=ca[0])), start=False)
    gw.prefix = prefix
    gw.start()
    assert_refused_by_tls(env, gw, "tls_verify_failed")


def refused_at_load(env, extra, message):
    gw = env.gateway(extra, start=False)
    r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--port-file", gw.port_file],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, (r.returncode, r.stdout, r.stderr)
    assert message in r.stdout + r.stderr, r.stdout + r.stderr


def test_config_refusals(env):
    _, ca, _ = pki(env)
    refused_at_load(env, {"axis.national:base_url": "http://127.0.0.1:9", "axis.national:insecure": "false"},
                    "[axis.national] plain HTTP to axis national needs insecure = true (tests only)")
    refused_at_load(env, {"axis.national:base_url": "https://127.0.0.1:9"},
                    "[axis.national] an https:// base_url needs ca_file")
    refused_at_load(env, {"axis.national:base_url": "https://127.0.0.1:9",
                          "axis.national:ca_file": os.path.join(env.root, "nothing.pem")},
                    "nothing.pem cannot be opened")
    refused_at_load(env, {"axis.national:base_url": "https://127.0.0.1:9", "axis.national:ca_file": ca[0],
                          "axis.national:client_cert": ca[0]},
                    "client_cert and client_key go together")
    # the key file's content never shows in the message
    refused_at_load(env, {"axis.national:base_url": "https://127.0.0.1:9", "axis.national:ca_file": ca[1]},
                    "holds no PEM certificate")
    gw = env.gateway({"axis.national:insecure": "true"})  # plain HTTP simulator: a warning
    assert "insecure = true: plain HTTP to axis national is allowed (tests only)" in gw.tail(1000)


TESTS = [test_pinned_ca_round_trip, test_client_certificate, test_other_ca_then_right_certificate,
         test_wrong_host_name, test_tls11_server_refused, test_slow_handshake_times_out,
         test_system_store_adds_nothing, test_config_refusals]

if __name__ == "__main__":
    only = sys.argv[1:]
    t.run([f for f in TESTS if not only or f.__name__ in only])
