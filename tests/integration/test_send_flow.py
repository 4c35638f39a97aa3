"""Sending keeps up with accepting (issue 10, item 4): the sends to an axis reuse a pool of
keep-alive connections no larger than the axis's concurrency limit plus the poller's few, and
back-pressure refuses new submissions (503 delivery_backlog, Retry-After, nothing stored) while
the oldest due delivery to an axis whose breaker is closed waits longer than
[delivery] backpressure_age_s, but not while the axis's breaker is open (a peer down is not the
gateway falling behind), and likewise while the oldest due signature check waits longer than the
bound (an edoc's deliveries are not due before its check).

The simulator counts the connections that carried protocol requests (stats
protocol_connections, and protocol_connections_peak: the most open at once). The dispatcher runs
with a scan of an hour: every claim follows a kick, a full claim or a breaker's probe."""


import subprocess

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


def test_connections_are_reused(env):
    gw = env.gateway(REUSE)
    # Sequential sends: each waits for the previous one's SENT.
    for i in range(8):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/01,%d/SEQ" % i)).status == 202
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/01,") == i + 1, 20,
                     what="sequential send %d" % i)
    # Counted from the start: the poller's first requests may have opened the connection.
    seq = env.sim.stats()["protocol_connections"]
    t.log("8 sequential sends: %d connections" % seq)
    # One each at most for the sends, the poller and the directory sync at start, when they overlap.
    assert 1 <= seq <= 3, seq
    # Concurrent sends: bursts of submissions from 8 clients while the axis takes 100 ms a send,
    # so that 8 sends are in flight at once, then only the last few of the burst. libcurl's
    # default cache (four times the transfers in flight) closed idle connections in each burst's
    # tail and the next burst opened them again (14 to 16 connections for 9 open at most).
    env.sim.faults(latency_ms=100, ops=["sendEdoc"])
    n = 0
    for burst in range(2):
        def submit(k, burst=burst):
            for i in range(k, 40, 8):
                d = "000.00.12.H49,2024/08/02,%d-%d/PAR" % (burst, i)
                assert gw.submit(t.edoc(d)).status == 202

        t.parallel(8, submit)
        n += 40
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/02,") == n, 60,
                     what="burst %d SENT" % burst)
    st = env.sim.stats()
    total, peak = st["protocol_connections"], st["protocol_connections_peak"]
    t.log("%d concurrent sends in 2 bursts: %d connections in all, at most %d open at once"
          % (n, total, peak))
    assert st["requests"]["sendEdoc"] >= 8 + n
    assert peak >= 4  # the sends did overlap
    assert peak <= POOL, peak
    assert total <= POOL, total
    assert total <= peak + 1, (total, peak)  # none closed and opened again


# No scan to fall back on: every claim below follows a kick, a full batch or a breaker's probe.
# Back-pressure past 1 s; the axis takes one send at a time.
FLOW = {"delivery:scan_interval_ms": "3600000", "delivery:batch": "2", "delivery:max_inflight": "4",
        "delivery:breaker_failures": "2", "delivery:breaker_backoff_ms": "300",
        "delivery:breaker_backoff_max_ms": "1000", "delivery:backpressure_age_s": "1",
        "axis.national:max_concurrency": "1", "axis.national:timeout_ms": "10000",
        "delivery:lease_ms": "15000"}


def breaker(env):
    return env.pg.query("SELECT state FROM peer_health WHERE axis = 'national'")


def test_claims_and_backpressure(env):
    gw = env.gateway(FLOW)
    # Each submission kicks the dispatcher: sent long before any scan.
    for i in range(4):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/03,%d/KICK" % i)).status == 202
        t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/03,") == i + 1, 30,
                     what="kicked send %d" % i)

    # The axis answers every send after 600 ms, one at a time: the queue ages past the bound and
    # a submission is refused before its body is stored.
    env.sim.faults(latency_ms=600, ops=["sendEdoc"])
    seq = iter(range(1000))
    refused = {}

    def submit_until_refused():
        d = "000.00.12.H49,2024/08/04,%d/SLOW" % next(seq)
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
    t.wait_until(lambda: (t.metric(gw, "gateway_submit_backpressure_total") or 0) >= 1, 10,
                 what="refusal counted")
    # The axis recovers: the backlog drains and submissions are accepted again, the refused one
    # included (resubmitting is always safe).
    env.sim.faults()
    t.wait_until(lambda: gw.submit(t.edoc(refused["doc"])).status == 202, 60,
                 what="submissions accepted again")
    assert stored(env, refused["doc"]) == 1
    accepted = int(env.pg.query("SELECT count(*) FROM package WHERE document_id LIKE"
                                " '000.00.12.H49,2024/08/04,%'"))
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/04,") == accepted, 60,
                 what="slow backlog drained")

    # The axis refuses (HTTP 500): its breaker opens and its queue ages far past the bound, as
    # the dispatcher sees it, yet submissions are accepted: the peer is away, the gateway is not
    # behind.
    env.sim.faults(http500=1000000, ops=["sendEdoc"])
    for i in range(6):
        assert gw.submit(t.edoc("000.00.12.H49,2024/08/05,%d/OPEN" % i)).status == 202
    t.wait_until(lambda: breaker(env) in ("open", "half_open"), 30, what="breaker open")
    t.wait_until(lambda: (t.metric(gw, 'gateway_delivery_due_age_seconds{axis="national"}') or 0)
                 > 2, 30, what="due age past the bound")
    for i in range(6, 12):
        r = gw.submit(t.edoc("000.00.12.H49,2024/08/05,%d/OPEN" % i))
        assert r.status == 202, (r.status, r.body)
    assert breaker(env) in ("open", "half_open")

    # The axis answers again: the probe is woken at its time and full claims follow one another
    # until the backlog is gone, with no scan and no submission arriving meanwhile.
    env.sim.faults()
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/05,") == 12, 60,
                 what="backlog drained without a scan")


def test_kick_during_failed_claim(env):
    """With a scan of an hour: the claim at start is made once the pool is up (before, the first
    tick found no connection yet and the next claim came with the scan or a kick: "timed out
    waiting for the first claim"); and a kick that arrives while a claim is in flight is kept for
    when the claim ends even when it fails (before, a failed claim dropped it and the package
    waited for the scan). The claim at start waits 3 s, then fails; the package's check ends (and
    kicks) meanwhile."""
    gw = env.gateway(FLOW, start=False)
    gw.migrate()
    env.pg.query("CREATE SEQUENCE claim_calls")
    t.wrap_function(env.pg, "gw_claim_copies",
                    "p_owner text, p_lease_ms integer, p_limit integer, p_max_bytes bigint, p_give_up_s integer, "
                    "p_axes text[], p_limits integer[]",
                    "TABLE (delivery_id bigint, package_id bigint, axis text, kind text, document_id text, "
                    "attempts integer, body_id bigint, size bigint, chunks integer, sha256 bytea, relay jsonb, "
                    "recipients text[], attachments json)",
                    "IF nextval('claim_calls') = 1 THEN PERFORM pg_sleep(3); RAISE EXCEPTION 'claim failed'; END IF;")
    gw.start()
    t.wait_until(lambda: env.pg.query("SELECT is_called FROM claim_calls") == "t", 10, what="the first claim")
    doc = "000.00.12.H49,2024/08/06,1/REKICK"
    assert gw.submit(t.edoc(doc)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM package_check") == "DONE", 10, what="checked")
    assert env.pg.query("SELECT last_value FROM claim_calls") == "1"  # the failing claim still runs
    t.wait_until(lambda: sent_count(env, doc) == 1, 20, what="sent after the failed claim")
    with open(gw.log_path) as f:
        assert '"event":"delivery.claim_failed"' in f.read()


def test_checks_behind(env):
    gw = env.gateway({"delivery:backpressure_age_s": "1"})
    doc = "000.00.12.H49,2024/08/06,1/CHECK"
    assert gw.submit(t.edoc(doc)).status == 202
    t.wait_until(lambda: sent_count(env, doc) == 1, 30, what="checked and sent")
    pkg = env.pg.query("SELECT id FROM package WHERE document_id = '%s'" % doc)
    # A check due for an hour that the verifier cannot claim: a session of the test holds a KEY
    # SHARE lock on its row (the claim locks FOR UPDATE SKIP LOCKED); the update below, which
    # changes no key, does not wait for that lock, and the lock stays on the new row version.
    held = subprocess.Popen(["psql", "-h", env.pg.host, "-U", "postgres", "-d", env.pg.dbname,
                             "-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        held.stdin.write("BEGIN;\nSELECT 'locked' FROM package_check WHERE package_id = %s"
                         " FOR KEY SHARE;\n" % pkg)
        held.stdin.flush()
        assert held.stdout.readline()  # the header line: the lock is taken
        env.pg.query("UPDATE package_check SET state = 'PENDING',"
                     " next_check_at = now() - interval '1 hour' WHERE package_id = %s" % pkg)
        seq = iter(range(2, 1000))
        refused = {}

        def refused_for_checks():
            d = "000.00.12.H49,2024/08/06,%d/CHECK" % next(seq)
            r = gw.submit(t.edoc(d))
            refused["doc"], refused["r"] = d, r
            return r.status == 503

        t.wait_until(refused_for_checks, 30, interval=0.1, what="a submission refused")
        r = refused["r"]
        assert r.json()["error"]["code"] == "delivery_backlog", r.body
        assert "signature checks" in r.json()["error"]["message"], r.body
        assert stored(env, refused["doc"]) == 0
        assert (t.metric(gw, "gateway_verify_due_age_seconds") or 0) > 1000
        # The check is done again: nothing is due, submissions are accepted.
        env.pg.query("UPDATE package_check SET state = 'DONE', next_check_at = now()"
                     " WHERE package_id = %s" % pkg)
    finally:
        held.stdin.write("ROLLBACK;\n")
        held.stdin.close()
        held.wait(10)
    t.wait_until(lambda: gw.submit(t.edoc(refused["doc"])).status == 202, 30,
                 what="accepted again")
    accepted = int(env.pg.query("SELECT count(*) FROM package WHERE document_id LIKE"
                                " '000.00.12.H49,2024/08/06,%'"))
    t.wait_until(lambda: sent_count(env, "000.00.12.H49,2024/08/06,") == accepted, 30,
                 what="every accepted one sent")


if __name__ == "__main__":
    t.run([test_connections_are_reused, test_claims_and_backpressure, test_kick_during_failed_claim,
           test_checks_behind])
