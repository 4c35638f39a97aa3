"""The national axis failing for a while, then recovering: everything is delivered, and nothing is
stored twice on the axis beyond the sends the axis accepted without acknowledging them."""

import datetime

import time

import gwtest as t


def sent_counts(env, prefix):
    return {k: v for k, v in env.sim.stats()["sent_by_document_id"].items() if k.startswith(prefix)}


def test_outage_then_recovery(env):
    gw = env.gateway()
    # Faults that leave nothing stored on the axis: every package must arrive exactly once.
    env.sim.faults(http500=6, ops=["sendEdoc"])
    ids = ["000.00.12.H49,2024/06/01,%d/STC" % i for i in range(12)]
    for d in ids[:4]:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.sim.stats()["faults_injected"] >= 6, 20, what="500s consumed")
    env.sim.faults(drop=3, ops=["sendEdoc"])
    for d in ids[4:8]:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.sim.stats()["faults_injected"] >= 9, 20, what="drops consumed")
    env.sim.faults(timeout=2, timeout_ms=5000, ops=["sendEdoc"])
    for d in ids[8:]:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: len(sent_counts(env, "000.00.12.H49,2024/06/01")) == 12, 60, what="all delivered")
    counts = sent_counts(env, "000.00.12.H49,2024/06/01")
    assert all(v == 1 for v in counts.values()), counts
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "12", 20,
                 what="all recorded SENT")
    retried = int(env.pg.query("SELECT count(*) FROM delivery WHERE attempts > 1"))
    assert retried >= 3, retried
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'send_failed'") != "0"


def test_lost_acks_bounded_duplicates(env):
    gw = env.gateway()
    # The axis stores the package but the answer is lost: a resend is the only safe choice, so
    # duplicates are bounded by the number of lost answers.
    env.sim.faults(http500_after_store=3, ops=["sendEdoc"])
    ids = ["000.00.12.H49,2024/06/02,%d/STC" % i for i in range(6)]
    for d in ids:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "6", 60,
                 what="all SENT")
    counts = sent_counts(env, "000.00.12.H49,2024/06/02")
    assert len(counts) == 6 and sum(counts.values()) <= 6 + 3, counts


def commit_times(env):
    """axis doc id -> commit time of the transaction that stored the package (its first receipt)."""
    rows = env.pg.rows("SELECT axis_doc_id, to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS.US') FROM axis_receipt")
    return {r[0]: datetime.datetime.strptime(r[1], "%Y-%m-%dT%H:%M:%S.%f") for r in rows}


def sim_time(iso):
    return datetime.datetime.strptime(iso.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")


def test_poll_faults(env):
    # Commit timestamps tell when each package was durably stored, to compare with the moment the
    # axis heard updateStatus done.
    env.pg.psql("postgres", "ALTER SYSTEM SET track_commit_timestamp = on")
    env.pg.restart()
    gw = env.gateway()
    env.sim.faults(fail_rate=0.4, seed=7, ops=["getReceivedEdocList", "getEdoc", "updateStatus"])
    for i in range(8):
        env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/06/03,%d/VPCP" % i, to=(t.PROVINCE,),
                                          sender="000.00.00.G22"))
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 60, what="all acked")
    env.sim.faults()
    assert env.pg.query("SELECT count(*) FROM package WHERE direction = 'in'") == "8"
    # an incoming edoc joins the inbox once its signatures are checked
    t.wait_until(lambda: len(gw.get("/v1/inbox?limit=100").json()["items"]) == 8, 30,
                 what="8 packages in the inbox")
    # Every ack on the axis follows the commit of the package it acknowledges: the simulator's
    # record of when updateStatus done arrived (its first one; later ones change nothing) against
    # the commit time of the transaction that stored the package. The simulator's clock is cut to
    # the millisecond, so the commit must be before the end of that millisecond. A gateway that
    # acked before (or while) storing fails this.
    committed = commit_times(env)
    box = env.sim.mailbox(t.PROVINCE)
    assert len(committed) == len(box) == 8, (committed, box)
    for e in box:
        assert e["status"] == "done"
        acked = sim_time(e["updated_at"]) + datetime.timedelta(milliseconds=1)
        assert committed[e["docId"]] < acked, (e["docId"], committed[e["docId"]], e["updated_at"])


def test_long_cycle_renews_poll_lease(env):
    gw = env.gateway()  # poll_interval 300 ms: lease 15 s, renewed after 5 s of one cycle
    env.sim.faults(latency_ms=600, ops=["getEdoc"])
    for i in range(14):
        env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/06/05,%d/VPCP" % i, to=(t.PROVINCE,),
                                          sender="000.00.00.G22"))
    until = lambda: env.pg.query("SELECT lease_until FROM poller_lease")
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") != "0", 20, what="cycle started")
    first = until()
    # Still inside the same cycle (items left, each fetch takes 600 ms) after the renewal point.
    t.wait_until(lambda: until() != first, 12, what="lease renewed mid-cycle")
    assert env.pg.query("SELECT count(*) FROM package") != "14", "the cycle ended before renewing"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") == "14", 30, what="all stored")


def test_slow_item_keeps_the_poll_lease(env):
    # One package whose fetch takes 17 s, longer than the 15 s poll lease, with a second instance
    # on the same database: the first renews its lease during the fetch, so the second never polls
    # the axis meanwhile. Before, the lease was renewed between items only: it ran out in the middle
    # of the fetch and the second instance fetched the same package again.
    cfg = {"axis.national:timeout_ms": "25000", "delivery:lease_ms": "26000"}
    gw1 = env.gateway(cfg)
    env.sim.faults(latency_ms=17000, ops=["getEdoc"])
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/06/06,1/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22"))
    t.wait_until(lambda: env.sim.stats()["requests"].get("getEdoc", 0) == 1, 10, what="the fetch started")
    gw2 = env.gateway(cfg)
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") == "1", 40, what="stored")
    time.sleep(1)
    assert env.sim.stats()["requests"].get("getEdoc", 0) == 1, env.sim.stats()["requests"]
    assert gw1.alive() and gw2.alive()


def test_oversized_left_on_axis(env):
    gw = env.gateway({"axis.national:max_package_bytes": "200000"})
    big = env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/06/04,1/VPCP", to=(t.PROVINCE,),
                                            sender="000.00.00.G22", pad=300000))
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/06/04,2/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22"))
    items = t.wait_until(lambda: gw.get("/v1/inbox").json()["items"], 20, what="small package stored")
    assert [i["document_id"] for i in items] == ["000.00.00.G22,2024/06/04,2/VPCP"]
    t.wait_until(lambda: 'gateway_fetch_oversized_total{axis="national"} 1\n' in
                 t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 10, what="oversized counted")
    # Several more poll cycles (each lists the mailbox): it is not fetched again.
    lists = env.sim.stats()["requests"]["getReceivedEdocList"]
    t.wait_until(lambda: env.sim.stats()["requests"]["getReceivedEdocList"] >= lists + 6, 20, what="more poll cycles")
    assert 'gateway_fetch_oversized_total{axis="national"} 1\n' in t.request(gw.port, "GET", "/metrics", token=None).body.decode()
    assert env.sim.stats()["requests"].get("getEdoc", 0) == 2, env.sim.stats()["requests"]
    box = {e["docId"]: e["acked"] for e in env.sim.mailbox(t.PROVINCE)}
    assert box[big] is False  # left on the axis for an operator, never refused on our behalf


if __name__ == "__main__":
    t.run([test_outage_then_recovery, test_lost_acks_bounded_duplicates, test_poll_faults,
           test_long_cycle_renews_poll_lease, test_slow_item_keeps_the_poll_lease, test_oversized_left_on_axis])
