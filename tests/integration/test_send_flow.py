"""Sending keeps up with accepting (issue 10, item 4): the sends to an axis reuse a pool of
keep-alive connections no larger than the axis's concurrency limit plus the poller's few, and
back-pressure refuses new submissions (503 delivery_backlog, Retry-After, nothing stored) while
the oldest due delivery to an axis whose breaker is closed waits longer than
[delivery] backpressure_age_s, but not while the axis's breaker is open (a peer down is not the
gateway falling behind).

The simulator counts the connections that carried protocol requests (stats
protocol_connections, and protocol_connections_peak: the most open at once)."""

import re

import gwtest as t

# max_concurrency 8 (sends) + 4 (poller, directory, credentials): the axis's pool in
# gateway/daemon/app.c.
POOL = 12
REUSE = {"axis.national:max_concurrency": "8", "delivery:max_inflight": "16"}


def sent_count(env, prefix):
    return int(env.pg.query("SELECT count(*) FROM delivery d JOIN package p ON p.id = d.package_id"
                            " WHERE d.state = 'SENT' AND p.document_id LIKE '%s%%'" % prefix))


def stored(env, document_id):
    return int(env.pg.query("SELECT count(*) FROM package WHERE document_id = '%s'" % document_id))


def metric(gw, name, labels=""):
    text = t.request(gw.port, "GET", "/metrics", token=None).body.decode()
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def test_connections_are_reused(env):
    gw = env.gateway(REUSE)
    # Sequential sends: each waits for the previous one's SENT.
    for i in range(12):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/01,%d/SEQ" % i)).status == 202
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/01,") == i + 1, 20,
                     what="sequential send %d" % i)
    # Counted from the start: the poller's first requests may have opened the connection.
    seq = env.sim.stats()["protocol_connections"]
    t.log("12 sequential sends: %d connections" % seq)
    assert 1 <= seq <= POOL, seq
    # Concurrent sends: bursts of submissions from 8 clients while the axis takes 100 ms a send,
    # so that 8 sends are in flight at once, then only the last few of the burst. libcurl's
    # default cache (four times the transfers in flight) closed the idle connections in each
    # burst's tail and the next burst opened them again.
    env.sim.faults(latency_ms=100, ops=["sendEdoc"])
    n = 0
    for burst in range(3):
        def submit(k, burst=burst):
            for i in range(k, 48, 8):
                d = "000.00.12.H49,2024/08/02,%d-%d/PAR" % (burst, i)
                assert gw.submit(t.edoc(d)).status == 202

        t.parallel(8, submit)
        n += 48
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/02,") == n, 60,
                     what="burst %d SENT" % burst)
    st = env.sim.stats()
    total = st["protocol_connections"]
    t.log("%d concurrent sends in 3 bursts: %d connections in all, at most %d open at once"
          % (n, total, st["protocol_connections_peak"]))
    assert st["requests"]["sendEdoc"] >= 12 + n
    assert st["protocol_connections_peak"] >= 4  # the sends did overlap
    assert st["protocol_connections_peak"] <= POOL, st["protocol_connections_peak"]
    assert total <= POOL, total


# No scan to fall back on: every claim below follows a kick, a full batch or a breaker's probe.
NO_SCAN = {"delivery:scan_interval_ms": "3600000", "delivery:batch": "2", "delivery:max_inflight": "4",
           "delivery:breaker_failures": "2", "delivery:breaker_backoff_ms": "300",
           "delivery:breaker_backoff_max_ms": "1000"}


def test_claims_follow_kicks_batches_and_probes(env):
    gw = env.gateway(NO_SCAN)
    # Each submission kicks the dispatcher: sent long before any scan.
    for i in range(6):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/05,%d/KICK" % i)).status == 202
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/05,") == i + 1, 30,
                     what="kicked send %d" % i)
    # A backlog built while the axis refuses: its breaker opens, the probe is woken at its time,
    # and once it succeeds full batches of 2 follow one another until the backlog is gone, with
    # no submission arriving meanwhile.
    env.sim.faults(http500=1000000, ops=["sendEdoc"])
    for i in range(12):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/06,%d/BATCH" % i)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM peer_health WHERE axis = 'national'")
                 in ("open", "half_open"), 30, what="breaker open")
    env.sim.faults()
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/06,") == 12, 60,
                 what="backlog drained without a scan")


BACKPRESSURE = {"delivery:backpressure_age_s": "1", "axis.national:max_concurrency": "1",
                "axis.national:timeout_ms": "10000", "delivery:lease_ms": "15000"}


def test_backpressure_while_the_axis_is_slow(env):
    gw = env.gateway(BACKPRESSURE)
    assert gw.submit(t.edoc("000.00.12.H49,2024/08/03,0/BP")).status == 202
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/03,") == 1, 20, what="first SENT")
    # The axis answers every send after 600 ms, one at a time: the queue ages past the bound.
    env.sim.faults(latency_ms=600, ops=["sendEdoc"])
    seq = iter(range(1, 1000))
    refused = {}

    def submit_until_refused():
        d = "000.00.12.H49,2024/08/03,%d/BP" % next(seq)
        r = gw.submit(t.edoc(d))
        if r.status == 503:
            refused["doc"], refused["r"] = d, r
            return True
        assert r.status == 202, (r.status, r.body)
        return False

    t.wait_until(submit_until_refused, 60, interval=0.05, what="a submission refused")
    r = refused["r"]
    assert r.json()["error"]["code"] == "delivery_backlog", r.body
    assert "national" in r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) > 0
    assert stored(env, refused["doc"]) == 0
    assert metric(gw, "gateway_submit_backpressure_total") >= 1
    # The axis recovers: the backlog drains and submissions are accepted again, the refused one
    # included (resubmitting is always safe).
    env.sim.faults()
    t.wait_until(lambda: gw.submit(t.edoc(refused["doc"])).status == 202, 60,
                 what="submissions accepted again")
    assert stored(env, refused["doc"]) == 1
    accepted = int(env.pg.query("SELECT count(*) FROM package WHERE document_id LIKE"
                                " '000.00.12.H49,2024/08/03,%'"))
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/03,") == accepted, 60,
                 what="backlog drained")


def test_no_backpressure_while_the_breaker_is_open(env):
    gw = env.gateway(dict(BACKPRESSURE, **{"delivery:breaker_failures": "2",
                                           "delivery:breaker_backoff_ms": "500",
                                           "delivery:breaker_backoff_max_ms": "2000"}))
    env.sim.faults(http500=1000000, ops=["sendEdoc"])
    for i in range(6):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/04,%d/OPEN" % i)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM peer_health WHERE axis = 'national'")
                 in ("open", "half_open"), 20, what="breaker open")
    # The dispatcher sees the queue waiting far beyond the bound ...
    t.wait_until(lambda: (metric(gw, "gateway_delivery_due_age_seconds", '{axis="national"}') or 0)
                 > 3, 30, what="due age past the bound")
    # ... and still accepts: the peer is away, the gateway is not behind.
    for i in range(6, 12):
        r = gw.submit(t.edoc("000.00.12.H49,2024/08/04,%d/OPEN" % i))
        assert r.status == 202, (r.status, r.body)
    assert env.pg.query("SELECT state FROM peer_health WHERE axis = 'national'") in ("open", "half_open")
    assert metric(gw, "gateway_submit_backpressure_total") == 0


if __name__ == "__main__":
    t.run([test_connections_are_reused, test_claims_follow_kicks_batches_and_probes,
           test_backpressure_while_the_axis_is_slow,
           test_no_backpressure_while_the_breaker_is_open])
