"""Crash and restart behaviour: PostgreSQL restarted under load, gatewayd killed with SIGKILL right
after answering 202, two instances sharing one database, and a graceful SIGTERM drain."""

import os
import signal
import threading
import time

import gwtest as t


def delivered_ids(env, prefix):
    return {k for k in env.sim.stats()["sent_by_document_id"] if k.startswith(prefix)}


def submit_retrying(gw, body, deadline=60):
    """A well-behaved client: retries 503s and transport errors until a 202 or a hard error."""
    end = time.monotonic() + deadline
    while True:
        try:
            r = gw.submit(body)
            if r.status != 503:
                return r
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError("gave up resubmitting")
        time.sleep(0.2)  # a retrying client's pacing, not a synchronisation


def test_postgres_restart_under_load(env):
    gw = env.gateway()
    prefix = "000.00.12.H49,2024/07/01,"
    accepted = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        j = 0
        while not stop.is_set() or j < 10:
            d = "%s%d-%d/STC" % (prefix, i, j)
            r = submit_retrying(gw, t.edoc(d))
            assert r.status == 202, (r.status, r.body)
            with lock:
                accepted.append(d)
            j += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    t.wait_until(lambda: len(accepted) >= 20, 30, what="load running")
    env.pg.restart()
    t.wait_until(lambda: len(accepted) >= 60, 60, what="load resumed")
    env.pg.restart()
    stop.set()
    for th in threads:
        th.join()
    t.wait_until(lambda: delivered_ids(env, prefix) >= set(accepted), 60, what="every accepted package delivered")
    assert gw.alive()
    assert env.pg.query("SELECT count(*) FROM package") == str(len(accepted))
    # The pool really lost its connections and re-established them (4 at start).
    assert gw.tail(100000).count('"db.connected"') > 4
    # Incoming still works after the restarts, without restarting gatewayd.
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/01,9/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22"))
    t.wait_until(lambda: gw.get("/v1/inbox").json()["items"], 20, what="incoming after restart")


def test_database_down(env):
    gw = env.gateway({"database:queue_timeout_ms": "1000"})
    env.pg.stop()
    ready = t.wait_until(lambda: (lambda r: r if r.status == 503 else None)(
        t.request(gw.port, "GET", "/readyz", token=None)), 15, what="not ready")
    assert ready.json()["checks"]["database"] == "unavailable", ready.body
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200
    t.wait_until(lambda: (lambda m: m.status == 200 and b"gateway_backlog_ok 0\n" in m.body)(
        t.request(gw.port, "GET", "/metrics", token=None)), 5, what="backlog gauges marked stale")
    r = gw.submit(t.edoc("000.00.12.H49,2024/07/05,1/STC"))
    assert r.status == 503 and r.json()["error"]["code"] == "database_unavailable", r.body
    assert r.headers.get("retry-after") == "5"
    env.pg.start()
    t.wait_until(lambda: t.request(gw.port, "GET", "/readyz", token=None).status == 200, 20, what="ready again")
    r = submit_retrying(gw, t.edoc("000.00.12.H49,2024/07/05,1/STC"))
    assert r.status == 202, r.body
    t.wait_until(lambda: "000.00.12.H49,2024/07/05,1/STC" in delivered_ids(env, "000.00.12.H49,2024/07/05,"), 20,
                 what="delivered after the database returned")


def test_kill_after_202(env):
    gw = env.gateway()
    prefix = "000.00.12.H49,2024/07/02,"
    # Sends hang for a while so the package is certainly not delivered when the process dies.
    env.sim.faults(latency_ms=1500, ops=["sendEdoc"])
    accepted = []
    for i in range(5):
        d = "%s%d/STC" % (prefix, i)
        r = gw.submit(t.edoc(d))
        assert r.status == 202
        accepted.append(d)
    gw.kill()
    env.sim.faults()
    gw.start()
    t.wait_until(lambda: delivered_ids(env, prefix) >= set(accepted), 30, what="delivered after restart")
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "5", 20,
                 what="recorded SENT")
    # Kill immediately after a 202, with a healthy axis.
    d = prefix + "last/STC"
    assert gw.submit(t.edoc(d)).status == 202
    gw.kill()
    gw.start()
    t.wait_until(lambda: d in delivered_ids(env, prefix), 30, what="last delivered after restart")


def test_two_instances_share_work(env):
    a = env.gateway()
    b = env.gateway()
    prefix = "000.00.12.H49,2024/07/03,"
    n = 120

    def submit(i):
        gw = a if i % 2 == 0 else b
        r = gw.submit(t.edoc("%s%d/STC" % (prefix, i)))
        assert r.status == 202, r.body
        return r.json()["id"]

    t.parallel(8, lambda k: [submit(i) for i in range(k, n, 8)])
    t.wait_until(lambda: len(delivered_ids(env, prefix)) == n, 60, what="all delivered")
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == str(n), 20,
                 what="all recorded")
    counts = {k: v for k, v in env.sim.stats()["sent_by_document_id"].items() if k.startswith(prefix)}
    assert all(v == 1 for v in counts.values()), [k for k, v in counts.items() if v != 1]
    owners = env.pg.rows("SELECT split_part(actor, ':', 1), count(*) FROM event WHERE kind = 'sent' GROUP BY 1")
    assert {o[0] for o in owners} == {a.name, b.name}, owners
    # Only one instance polls the axis at a time.
    assert env.pg.query("SELECT count(*) FROM poller_lease") == "1"


def test_sigterm_drains(env):
    gw = env.gateway()
    env.sim.faults(latency_ms=1500, ops=["sendEdoc"])
    d = "000.00.12.H49,2024/07/04,1/STC"
    assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM delivery") == "SENDING", 10, what="send started")
    rc = gw.stop()
    assert rc == 0, gw.tail()
    assert env.pg.query("SELECT state FROM delivery") == "SENT"
    assert "app.stopped" in gw.tail(20)
    assert "handles still open" not in gw.tail(20), gw.tail(20)


def test_drain_timeout_cuts_short(env):
    gw = env.gateway({"server:drain_timeout_ms": "1000"})
    env.sim.faults(timeout=5, timeout_ms=5000, ops=["sendEdoc"])
    d = "000.00.12.H49,2024/07/06,1/STC"
    assert gw.submit(t.edoc(d)).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM delivery") == "SENDING", 10, what="send started")
    started = time.monotonic()
    assert gw.stop() == 0, gw.tail()
    assert time.monotonic() - started < 5
    assert "app.drain_timeout" in gw.tail(30)
    # Nothing is lost: the lease expires and the next start delivers it.
    env.sim.faults()
    gw.start()
    t.wait_until(lambda: d in delivered_ids(env, "000.00.12.H49,2024/07/06,"), 30, what="delivered after restart")


if __name__ == "__main__":
    t.run([test_postgres_restart_under_load, test_database_down, test_kill_after_202, test_two_instances_share_work,
           test_sigterm_drains, test_drain_timeout_cuts_short])
