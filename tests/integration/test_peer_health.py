"""Peer health of an axis (issue 5, findings 2 and 11): a refused credential or a run of transport
failures opens the axis's circuit breaker, so a backlog costs a bounded number of axis calls and
log lines instead of one retry per package; deliveries wait without spending attempts and none
dies; half-open probes close it again once the axis answers. A disabled axis, or one this instance
does not serve, has its deliveries held: never claimed, never killed.

Checked against the code before peer health: 200 packages under a refused credential made
hundreds of sendEdoc calls and delivery.failed lines within seconds, and the disabled axis's
delivery was claimed and failed ("axis_not_configured") with its attempts counting up."""

import time

import gwtest as t

BREAKER = {"delivery:breaker_backoff_ms": "500", "delivery:breaker_backoff_max_ms": "2000"}


def sends(env):
    return env.sim.stats()["requests"].get("sendEdoc", 0)


def log_lines(gw, event):
    with open(gw.log_path) as f:
        return sum(1 for line in f if '"event":"%s"' % event in line)


def metrics(gw):
    return t.request(gw.port, "GET", "/metrics", token=None).body.decode()


def breaker(env, axis="national"):
    return env.pg.query("SELECT state FROM peer_health WHERE axis = '%s'" % axis)


def test_refused_credential_is_a_peer_condition(env):
    gw = env.gateway(BREAKER)
    env.sim.faults(auth_fail=1000000, ops=["sendEdoc"])
    ids = ["000.00.12.H49,2024/07/01,%d/STC" % i for i in range(200)]
    for d in ids:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: breaker(env) in ("open", "half_open"), 20, what="breaker open")
    reason = env.pg.query("SELECT reason FROM peer_health WHERE axis = 'national'")
    assert "hash-header does not match" in reason, reason
    # An observation window under the refusal: probes only, with a growing backoff.
    before = sends(env)
    time.sleep(6)
    during = sends(env) - before
    t.log("refused credential: %d sends in all, %d in the 6 s window, %d delivery.failed lines"
          % (sends(env), during, log_lines(gw, "delivery.failed")))
    assert during <= 8, during
    assert sends(env) <= 40, sends(env)
    assert log_lines(gw, "delivery.failed") <= 10, log_lines(gw, "delivery.failed")
    assert log_lines(gw, "delivery.held") <= 10, log_lines(gw, "delivery.held")
    assert log_lines(gw, "peer.open") <= 6, log_lines(gw, "peer.open")
    # Waiting costs no attempt: only the failures before the breaker opened were counted.
    assert int(env.pg.query("SELECT count(*) FROM delivery WHERE attempts > 0")) <= 5
    assert int(env.pg.query("SELECT max(attempts) FROM delivery WHERE state = 'QUEUED'")) <= 2
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    # /metrics is a snapshot at most a second old: await the gauge rather than read it once.
    t.wait_until(lambda: any('gateway_axis_breaker_state{axis="national"} %d\n' % v in metrics(gw)
                             for v in (1, 2)), 5, what="breaker gauge open")
    # The axis accepts the credential again: a probe closes the breaker and the backlog drains.
    env.sim.faults()
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "200", 60,
                 what="all SENT")
    assert breaker(env) == "closed"
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    assert int(env.pg.query("SELECT max(attempts) FROM delivery")) <= 3
    assert log_lines(gw, "peer.closed") >= 1
    t.wait_until(lambda: 'gateway_axis_breaker_state{axis="national"} 0\n' in metrics(gw), 5,
                 what="breaker gauge closed")
    counts = {k: v for k, v in env.sim.stats()["sent_by_document_id"].items() if k in ids}
    assert len(counts) == 200 and all(v == 1 for v in counts.values()), counts


def test_damaged_body_is_the_package_not_the_peer(env):
    # A package whose stored chunks are gone (a bad restore, say) fails each send before a byte
    # reaches the axis: its own failure, its attempts spent, never the peer's. Before, the read
    # error counted as a transport failure: two opened the breaker, the delivery was then held
    # (the attempt given back, never DEAD) and, the oldest due, became every probe.
    cfg = dict(BREAKER, **{"delivery:breaker_failures": "2"})
    gw = env.gateway(cfg)
    env.sim.faults(auth_fail=1000000, ops=["sendEdoc"])  # held: nothing is sent yet
    damaged = "000.00.12.H49,2024/07/05,1/STC"
    assert gw.submit(t.edoc(damaged)).status == 202
    t.wait_until(lambda: breaker(env) in ("open", "half_open"), 20, what="breaker open")
    gw.stop()  # its body cache goes with it
    env.sim.faults()
    env.pg.query("DELETE FROM body_chunk WHERE body_id = (SELECT body_id FROM package)")
    env.pg.query("UPDATE peer_health SET state = 'closed', failures = 0")
    gw = env.gateway(cfg)
    t.wait_until(lambda: int(env.pg.query("SELECT attempts FROM delivery")) >= 4, 30,
                 what="the damaged package's attempts spent")
    assert breaker(env) == "closed"
    assert log_lines(gw, "peer.open") == 0
    errors = env.pg.query("SELECT string_agg(DISTINCT detail->>'error', '|') FROM event "
                          "WHERE kind = 'send_failed'")
    assert errors.startswith("stored_body_damaged"), errors
    # other packages to the axis go on being sent
    others = ["000.00.12.H49,2024/07/05,%d/STC" % i for i in (2, 3)]
    for d in others:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "2", 20,
                 what="the other packages SENT")
    assert damaged not in env.sim.stats()["sent_by_document_id"]


def test_transport_outage_opens_and_recovers(env):
    gw = env.gateway(dict(BREAKER, **{"delivery:breaker_failures": "3"}))
    env.sim.faults(http500=1000000, ops=["sendEdoc"])
    ids = ["000.00.12.H49,2024/07/02,%d/STC" % i for i in range(30)]
    for d in ids:
        assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: breaker(env) == "open", 20, what="breaker open")
    # Half-open probes fail and open it again.
    t.wait_until(lambda: log_lines(gw, "peer.half_open") >= 1, 10, what="a probe")
    before = sends(env)
    time.sleep(4)
    assert sends(env) - before <= 6, sends(env) - before
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    assert int(env.pg.query("SELECT count(*) FROM delivery WHERE attempts > 0")) <= 3
    env.sim.faults()
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "30", 60,
                 what="all SENT")
    assert breaker(env) == "closed"
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"
    assert int(env.pg.query("SELECT max(attempts) FROM delivery")) <= 3


def test_disabled_and_unknown_axes_hold(env):
    gw = env.gateway({"axis.prov:adapter": "vxp", "axis.prov:base_url": env.sim.url(),
                      "axis.prov:systemid": t.GW_SYSTEMID, "axis.prov:secret": t.GW_SECRET,
                      "axis.prov:enabled": "false"})
    assert gw.submit(t.edoc("000.00.12.H49,2024/07/03,1/STC")).status == 202
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "1", 20,
                 what="first SENT")
    # Deliveries of the same package to an axis configured but disabled here, and to an axis this
    # instance does not know (another instance's), both due now.
    env.pg.query("INSERT INTO delivery (package_id, axis, recipients, state) "
                 "SELECT package_id, a, recipients, 'QUEUED' FROM delivery, "
                 "unnest(ARRAY['prov', 'elsewhere']) AS a")
    # Later claims happen (a second package is sent) and leave them alone.
    assert gw.submit(t.edoc("000.00.12.H49,2024/07/03,2/STC")).status == 202
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "2", 20,
                 what="second SENT")
    assert env.pg.rows("SELECT axis, state, attempts, coalesce(last_error, '') FROM delivery "
                       "WHERE axis <> 'national' ORDER BY axis") == \
        [["elsewhere", "QUEUED", "0", ""], ["prov", "QUEUED", "0", ""]]


if __name__ == "__main__":
    t.run([test_refused_credential_is_a_peer_condition, test_damaged_body_is_the_package_not_the_peer,
           test_transport_outage_opens_and_recovers, test_disabled_and_unknown_axes_hold])
