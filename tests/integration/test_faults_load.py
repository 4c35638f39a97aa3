"""Faults of every simulator in turn, under load, with nothing lost.

Three rounds, each with a stream of submissions (every document to a recipient on the REST
provincial axis and one on the national axis, four QLVBĐH connections at once) and packages
arriving on both axes, while one peer misbehaves:
1. the national axis: HTTP 500s, dropped connections, answers lost after the package was stored,
   hung requests beyond the timeout;
2. the REST provincial axis: revoked tokens, HTTP 503s, errorCode 20, dropped connections, cut
   answers (the package stored, its docId lost), and one package refused for good (errorCode 22);
3. QLVBĐH's webhook: 500s, dropped connections, cut answers.
At the end every accepted document has reached both axes (a resend after a lost answer may
deliver it twice, never more), except the one the REST axis refused, which is DEAD and shown by
the gauge the GatewayDeliveryDead alert reads; nothing is left queued or sending; every package
that arrived on an axis is stored once, pushed once (one event each) and gone from the pull
inbox."""

import os
import threading

import gwpush
import gwrest
import gwtest as t

IN = "000.00.05.H49"   # REST provincial axis
OUT = "000.00.00.G22"  # national axis
PER_ROUND = 24         # documents submitted per round
ARRIVALS = 4           # packages arriving per axis per round


def submit_many(gw, tag, n, accepted, lock):
    def one(i):
        doc = "000.00.12.H49,2026/12/03,%d/%s" % (i + 1, tag)
        r = gw.submit(t.edoc(doc, to=(IN, OUT)))
        assert r.status == 202, (r.status, r.body)
        with lock:
            accepted[doc] = r.json()["id"]
    threads = []
    for k in range(4):
        th = threading.Thread(target=lambda k=k: [one(i) for i in range(k, n, 4)])
        th.start()
        threads.append(th)
    return threads


def arrive(env, rest, tag):
    for i in range(ARRIVALS):
        env.sim.inject(t.PROVINCE, t.edoc("%s,2026/12/03,%d/%s-N" % (OUT, i + 1, tag), to=(t.PROVINCE,),
                                          sender=OUT), sender=OUT)
        rest.inject(t.AGENCY, IN, t.edoc("%s,2026/12/03,%d/%s-R" % (IN, i + 1, tag), to=(t.AGENCY,),
                                         sender=IN))


def settled(env):
    return env.pg.query("SELECT count(*) FROM delivery WHERE state NOT IN ('SENT', 'DEAD')") == "0"


def test_faults_in_turn(env):
    rest = gwrest.RestSim(os.path.join(env.root, "rest"), [
        gwrest.system(t.GW_SYSTEMID, [t.PROVINCE, t.AGENCY]),
        gwrest.system("h49-05", [IN], secret="s5", username="u5", password="p5")])
    hook = gwpush.Webhook(env)
    try:
        run(env, rest, hook)
    finally:
        rest.close()
        hook.close()


def run(env, rest, hook):
    dir_file = os.path.join(env.root, "rest-directory.txt")
    with open(dir_file, "w") as f:
        f.write("%s\n" % IN)
    env.sim.ctl("POST", "/_sim/directory", {"agencies": [
        {"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": ""}
        for i, c in enumerate([OUT, t.PROVINCE, t.AGENCY])], "qd20": []})
    cfg = {"axis.national:role": "national", "routing:directory_retry_ms": "300",
           "delivery:breaker_backoff_ms": "300", "delivery:breaker_backoff_max_ms": "600",
           "delivery:backoff_base_ms": "100", "delivery:backoff_max_ms": "500"}
    cfg.update(gwrest.axis_config("prov", rest, dir_file))
    cfg.update(gwpush.config(hook))
    gw = env.gateway(cfg)
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM directory_sync WHERE last_success_at IS NOT NULL")
                 == "2", 20, what="both directories synced")
    accepted, lock = {}, threading.Lock()

    # 1. The national axis misbehaves.
    env.sim.ctl("POST", "/_sim/faults", {"rules": [
        {"http500": 6, "ops": ["sendEdoc"]}, {"drop": 3}, {"http500_after_store": 3},
        {"timeout": 2, "timeout_ms": 2500, "ops": ["sendEdoc", "getEdoc"]}]})
    threads = submit_many(gw, "ROUND1", PER_ROUND, accepted, lock)
    arrive(env, rest, "ROUND1")
    for th in threads:
        th.join()
    t.wait_until(lambda: env.sim.stats()["faults_injected"] >= 14, 60, what="national faults spent")
    env.sim.faults()

    # 2. The REST provincial axis misbehaves.
    rest.faults(expire_tokens=True, http_status=503, error_code=20, drop=True, partial=True, count=3)
    threads = submit_many(gw, "ROUND2", PER_ROUND, accepted, lock)
    arrive(env, rest, "ROUND2")
    for th in threads:
        th.join()
    t.wait_until(lambda: rest.stats()["faults_injected"] >= 12, 60, what="REST faults spent")
    rest.faults()
    # Nothing in flight, so that the one refusal meets the one package meant for it.
    t.wait_until(lambda: settled(env), 90, what="rounds 1 and 2 delivered")
    rest.faults(error_code=22, count=1, ops=["sendEdoc"])
    refused_doc = "000.00.12.H49,2026/12/03,1/REFUSED"
    r = gw.submit(t.edoc(refused_doc, to=(IN,)))
    assert r.status == 202, r.body
    refused = r.json()["id"]
    t.wait_until(lambda: env.pg.query("SELECT state FROM delivery WHERE package_id = %d" % refused) == "DEAD",
                 30, what="the refused package DEAD")
    rest.faults()

    # 3. QLVBĐH's webhook misbehaves.
    hook.faults(http_status=500, count=5, then={"drop": True, "count": 2, "then": {"partial": True, "count": 2}})
    threads = submit_many(gw, "ROUND3", PER_ROUND, accepted, lock)
    arrive(env, rest, "ROUND3")
    for th in threads:
        th.join()
    t.wait_until(lambda: hook.stats()["faulted"] >= 9, 60, what="webhook faults spent")

    # Nothing silently stuck: every delivery ends SENT, or DEAD for the one refused package.
    assert len(accepted) == 3 * PER_ROUND
    t.wait_until(lambda: settled(env), 90, what="every delivery SENT or DEAD")
    assert env.pg.rows("SELECT package_id, axis FROM delivery WHERE state = 'DEAD'") == [[str(refused), "prov"]]
    t.wait_until(lambda: gwpush.metric(gw, 'gateway_deliveries{state="dead"}') == 1, 20,
                 what="the gauge of GatewayDeliveryDead")
    for doc, pid in accepted.items():
        assert env.pg.rows("SELECT axis, state FROM delivery WHERE package_id = %d ORDER BY axis" % pid) == \
            [["national", "SENT"], ["prov", "SENT"]], doc
    # Each document reached each axis; a resend after a lost answer may make it twice.
    sent = env.sim.stats()["sent_by_document_id"]
    rest_box = [i["edxml"] for i in rest.mailbox(IN)]
    for doc in accepted:
        assert 1 <= sent.get(doc, 0) <= 2, (doc, sent.get(doc))
        n = sum(1 for x in rest_box if ("<DocumentId>%s</DocumentId>" % doc).encode() in x)
        assert 1 <= n <= 2, (doc, n)

    # Every arrival stored once, pushed once, and gone from the pull inbox.
    arrivals = 3 * 2 * ARRIVALS
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package WHERE direction = 'in'") == str(arrivals),
                 60, what="every arrival stored")
    assert env.pg.query("SELECT count(DISTINCT document_id) FROM package WHERE direction = 'in'") == str(arrivals)
    rows = t.wait_until(lambda: (lambda rs: rs if len(rs) == arrivals and all(x[0] == "sent" for x in rs.values())
                                 else None)(gwpush.pushes(env)), 60, what="every arrival pushed")
    events = hook.events()
    assert len(events) == arrivals == len({e["event_id"] for e in events})
    assert {e["event_id"] for e in events} == {x[1] for x in rows.values()}
    assert hook.stats()["refused"] == 0
    assert gw.get("/v1/inbox?after=0").json()["items"] == []


if __name__ == "__main__":
    t.run([test_faults_in_turn])
