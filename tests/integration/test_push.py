"""Push to QLVBĐH's webhook: every received package and status pushed once acknowledged, through
500s, drops and slow answers; the pull inbox as the fallback while the webhook is down; give-up;
a gateway killed mid-push. The webhook simulator checks every signature with Python's hmac."""

import hashlib
import os

import gwpush as p
import gwtest as t

G22 = "000.00.00.G22"


def inject_mix(env, n_edocs, tag):
    """n_edocs documents to the province and one status to the agency, on the national axis."""
    for i in range(n_edocs):
        env.sim.inject(t.PROVINCE, t.edoc("%s,2026/12/03,%d/%s" % (G22, i + 1, tag), to=(t.PROVINCE,),
                                          sender=G22))
    env.sim.inject(t.AGENCY, t.status_pkg("000.00.12.H49,2026/12/01,9/%s" % tag, t.AGENCY, "03",
                                          sender=G22), messagetype="status")
    return n_edocs + 1


def all_sent(env, n):
    rows = p.pushes(env)
    return rows if len(rows) == n and all(r[0] == "sent" for r in rows.values()) else None


def check_no_attempt_after_ack(hook, rows):
    """No attempt of an event reached the webhook after the gateway recorded its 2xx."""
    sent_at = {r[1]: r[3] for r in rows.values()}
    for a in hook.attempts():
        if a["event_id"] in sent_at:
            assert a["at"] <= sent_at[a["event_id"]] + 0.001, ("attempt after the ack", a)


def test_pushed_through_faults(env, hook):
    # 500s first, then dropped connections, a cut answer, then answers slower than timeout_ms.
    hook.faults(http_status=500, count=4,
                then={"drop": True, "count": 2, "then": {"partial": True, "count": 1, "then": {
                    "delay_ms": 1500, "count": 2}}})
    gw = env.gateway(p.config(hook))
    n = inject_mix(env, 5, "UBND")
    rows = t.wait_until(lambda: all_sent(env, n), 40, what="every push sent")
    assert hook.stats()["faulted"] == 9, hook.stats()
    events = hook.events()
    stats = hook.stats()
    assert stats["refused"] == 0 and stats["invalid"] == 0, stats
    # one distinct event per received package, none lost, none doubled after its 2xx
    assert sorted(e["package_id"] for e in events) == p.incoming_ids(env), events
    assert len({e["event_id"] for e in events}) == n == len(events)
    assert {e["event_id"] for e in events} == {r[1] for r in rows.values()}
    check_no_attempt_after_ack(hook, rows)
    assert max(r[2] for r in rows.values()) >= 2, rows  # some were retried
    # the event carries the documented members, and content_url serves the package's bytes
    for e in events:
        pkg = env.pg.rows("SELECT kind, document_id, encode(sha256, 'hex'), size FROM package"
                          " WHERE id = %d" % e["package_id"])[0]
        assert [e["kind"], e["document_id"], e["sha256"], str(e["size"])] == pkg, (e, pkg)
        assert e["content_url"] == "https://gateway.example.vn/v1/packages/%d/content" % e["package_id"]
        body = gw.get(e["content_url"][len("https://gateway.example.vn"):])
        assert body.status == 200 and hashlib.sha256(body.body).hexdigest() == e["sha256"]
        for k in ("sender", "recipients", "status_code", "received_at", "signature_summary",
                  "signature_flagged", "paper_required", "axis", "axis_doc_id", "inbox_seq"):
            assert k in e, (k, e)
        if e["kind"] == "status":
            assert e["status_code"] == "03" and e["recipients"] == [t.AGENCY], e
    # pushed and acknowledged: gone from the pull inbox, with the audit of an API ack by "push"
    assert gw.get("/v1/inbox?after=0").json()["items"] == []
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'delivered' AND actor = 'push'") == str(n)
    assert env.pg.query("SELECT count(DISTINCT state) || state FROM package WHERE direction = 'in'"
                        " GROUP BY state") == "1DELIVERED"
    t.wait_until(lambda: p.metric(gw, "gateway_push_sent_total") == n, 10, what="sent metric")
    assert p.metric(gw, 'gateway_push_failures_total{reason="status_5xx"}') >= 4
    assert p.metric(gw, 'gateway_push_failures_total{reason="timeout"}') >= 2
    t.wait_until(lambda: p.metric(gw, "gateway_push_backlog") == 0, 10, what="backlog gauge")
    p.assert_secret_not_logged(env)


def test_webhook_down_pull_inbox_fallback(env, hook):
    hook.faults(http_status=503)  # down until cleared
    gw = env.gateway(p.config(hook, secret="not-the-secret"), start=False)
    gw.environ = dict(os.environ, GATEWAYD_PUSH_SECRET=p.SECRET)  # the override wins
    gw.start()
    n = inject_mix(env, 2, "SXD")
    items = t.wait_until(lambda: (lambda i: i if len(i) == n else None)(
        gw.get("/v1/inbox?after=0").json()["items"]), 30, what="items in the pull inbox")
    t.wait_until(lambda: len(p.pushes(env)) == n, 30, what="push rows")
    # the webhook's breaker opens and /readyz names it, the gateway stays ready for pull
    ready = t.wait_until(lambda: (lambda r: r if any(a["name"] == "qlvbdh_push" for a in
                                                     r.json()["checks"]["axes"]) else None)(
        t.request(gw.port, "GET", "/readyz", token=None)), 20, what="push breaker in /readyz")
    assert ready.status == 200, ready.body
    assert p.metric(gw, "gateway_push_breaker_state") in (1, 2)  # open, or probing
    # QLVBĐH pulls and acknowledges one item itself: its push is dropped, never delivered
    pulled = items[0]
    assert gw.post("/v1/inbox/%d/ack" % pulled["id"]).status == 200
    hook.faults()
    rows = t.wait_until(lambda: (lambda r: r if all(v[0] in ("sent", "dropped") for v in r.values())
                                 else None)(p.pushes(env)), 30, what="pushes settled")
    assert rows[pulled["id"]][0] == "dropped", rows
    got = sorted(e["package_id"] for e in hook.events())
    assert got == sorted(i["id"] for i in items[1:]), (got, items, rows)
    assert hook.stats()["refused"] == 0  # the environment's secret signed them
    t.wait_until(lambda: p.metric(gw, "gateway_push_breaker_state") == 0, 10, what="breaker gauge")
    assert gw.get("/v1/inbox?after=0").json()["items"] == []
    assert env.pg.query("SELECT actor FROM event WHERE kind = 'delivered' AND package_id = %d"
                        % pulled["id"]) == "qlvbdh"
    p.assert_secret_not_logged(env)
    p.assert_secret_not_logged(env, "not-the-secret")


def test_give_up_dead(env, hook):
    hook.faults(wrong_answer=400)  # refused for good, the breaker stays closed for one package
    gw = env.gateway(p.config(hook, give_up_after_s=1))
    env.sim.inject(t.PROVINCE, t.edoc(G22 + ",2026/12/03,7/VPCP", to=(t.PROVINCE,), sender=G22))
    t.wait_until(lambda: [r for r in p.pushes(env).values() if r[0] == "dead"], 30, what="dead push")
    t.wait_until(lambda: p.metric(gw, "gateway_push_dead_total") == 1, 10, what="dead counter")
    t.wait_until(lambda: p.metric(gw, "gateway_push_dead") == 1, 10, what="dead gauge")
    assert p.metric(gw, 'gateway_push_failures_total{reason="status_4xx"}') >= 2
    # the item stays in the pull inbox
    items = gw.get("/v1/inbox?after=0").json()["items"]
    assert len(items) == 1 and hook.events() == [], items
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'push_dead'") == "1"


def test_largest_batch(env, hook):
    # batch at its configured maximum: the enqueue's look-ahead stays within what the store takes
    gw = env.gateway(p.config(hook, batch=10000))
    n = inject_mix(env, 1, "BTC")
    t.wait_until(lambda: all_sent(env, n), 30, what="every push sent")
    assert sorted(e["package_id"] for e in hook.events()) == p.incoming_ids(env)
    assert p.metric(gw, "gateway_push_sent_total") == n


def test_pushed_on_release(env, hook):
    # the scan interval is far away: a document released by its signature check wakes the pusher
    gw = env.gateway(p.config(hook, scan_interval_ms=60000))
    env.sim.inject(t.PROVINCE, t.edoc(G22 + ",2026/12/03,8/KICK", to=(t.PROVINCE,), sender=G22))
    t.wait_until(lambda: all_sent(env, 1), 15, what="the push sent before the next scan")
    assert p.metric(gw, "gateway_push_sent_total") == 1


def test_kick_during_step(env, hook):
    # A document released while a step is in flight (its enqueue held 3 s after it read nothing):
    # the kick is kept for the step's end; before, it was dropped and the push waited for the scan.
    gw = env.gateway(p.config(hook, scan_interval_ms=60000), start=False)
    gw.migrate()
    env.pg.query("CREATE SEQUENCE enqueue_calls")
    env.pg.query("ALTER FUNCTION gw_push_enqueue(text[], integer) RENAME TO gw_push_enqueue_real")
    env.pg.query("CREATE FUNCTION gw_push_enqueue(p_organs text[], p_limit integer) RETURNS integer "
                 "LANGUAGE plpgsql AS $$ DECLARE n integer := gw_push_enqueue_real(p_organs, p_limit); "
                 "BEGIN IF nextval('enqueue_calls') = 1 THEN PERFORM pg_sleep(3); END IF; RETURN n; END $$")
    gw.start()
    t.wait_until(lambda: env.pg.query("SELECT is_called FROM enqueue_calls") == "t", 10, what="the first step")
    env.sim.inject(t.PROVINCE, t.edoc(G22 + ",2026/12/03,9/REKICK", to=(t.PROVINCE,), sender=G22))
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE'") == "1", 10,
                 what="released during the step")
    assert env.pg.query("SELECT last_value FROM enqueue_calls") == "1"  # still the first step
    t.wait_until(lambda: all_sent(env, 1), 15, what="the push sent after the step")


def test_failed_claim_tried_again(env, hook):
    # The claim of the step that has the document to push fails; no kick follows. Before, the
    # push waited for the scan (60 s); now the step is tried again a second later.
    gw = env.gateway(p.config(hook, scan_interval_ms=60000), start=False)
    gw.migrate()
    env.pg.query("CREATE SEQUENCE failed_claims")
    t.wrap_function(env.pg, "gw_push_claim", "p_owner text, p_lease_ms integer, p_limit integer, p_give_up_s integer",
                    "TABLE (push_id bigint, package_id bigint, event_id uuid, attempts integer, facts json)",
                    "IF EXISTS (SELECT 1 FROM push q WHERE q.state = 'queued') "
                    "AND nextval('failed_claims') = 1 THEN RAISE EXCEPTION 'claim failed'; END IF;")
    gw.start()
    env.sim.inject(t.PROVINCE, t.edoc(G22 + ",2026/12/03,10/RETRY", to=(t.PROVINCE,), sender=G22))
    t.wait_until(lambda: all_sent(env, 1), 15, what="the push sent after the failed claim")
    assert int(env.pg.query("SELECT last_value FROM failed_claims")) >= 2  # the failed one, then more


def test_killed_mid_push_resumes(env, hook):
    hook.faults(delay_ms=1500)  # every answer slow: attempts are in flight when the kill comes
    gw = env.gateway(p.config(hook, timeout_ms=3000, lease_ms=4000))
    n = inject_mix(env, 3, "STP")
    t.wait_until(lambda: hook.stats()["attempts"] >= 1, 30, what="a push in flight")
    gw.kill()
    hook.faults()
    gw.start()
    rows = t.wait_until(lambda: all_sent(env, n), 40, what="every push sent after the restart")
    events = hook.events()
    assert sorted(e["package_id"] for e in events) == p.incoming_ids(env)
    assert len({e["event_id"] for e in events}) == n == len(events)
    check_no_attempt_after_ack(hook, rows)
    # the attempt cut by the kill (taken by the webhook, its answer never heard) was sent again
    # under the same event_id, and the webhook told it apart as a duplicate
    ids = [a["event_id"] for a in hook.attempts()]
    assert set(ids) == {r[1] for r in rows.values()}
    assert max(ids.count(i) for i in set(ids)) >= 2 and hook.stats()["duplicates"] >= 1, \
        (ids, hook.stats())
    assert gw.get("/v1/inbox?after=0").json()["items"] == []
    p.assert_secret_not_logged(env)


def test_push_sql(env, hook):
    """The 012_push.sql functions driven directly: cursor and scope, fencing, held, give-up, drop."""
    gw = env.gateway(start=False)
    gw.migrate()
    q = env.pg.query

    def pkg(seq, recipients, state="AVAILABLE"):
        return int(q("INSERT INTO package (direction, kind, document_id, recipients, source, sha256,"
                     " size, state, inbox_seq) VALUES ('in', 'edoc', 'D%d', ARRAY[%s], 'national',"
                     " sha256('x'), 1, '%s', %d) RETURNING id"
                     % (seq, ",".join("'%s'" % x for x in recipients), state, seq)))

    mine, other, acked, later = pkg(1, [t.PROVINCE]), pkg(2, [G22]), pkg(3, [t.AGENCY], "DELIVERED"), \
        pkg(4, [G22, t.AGENCY])
    organs = "ARRAY['%s','%s']" % (t.PROVINCE, t.AGENCY)
    assert q("SELECT gw_push_enqueue(%s, 2)" % organs) == "1"  # seq 1, 2: only the province's
    assert q("SELECT last_seq FROM push_cursor") == "2"
    assert q("SELECT gw_push_enqueue(%s, 10)" % organs) == "1"  # seq 3 acked by pull, seq 4 ours
    assert q("SELECT gw_push_enqueue(%s, 10)" % organs) == "0"
    assert q("SELECT string_agg(package_id::text, ',' ORDER BY id) FROM push") == "%d,%d" % (mine, later)
    assert other and acked
    # claim, a stale outcome is fenced off, a real one backs off
    claim = "SELECT push_id, attempts FROM gw_push_claim('%s', 60000, 10, 3600) ORDER BY push_id"
    rows = env.pg.rows(claim % "A")
    assert [r[1] for r in rows] == ["1", "1"], rows
    pid = rows[0][0]
    fail = "SELECT gw_push_failed(%s, '%s', %d, 'webhook answered HTTP 500', 500, %s, 0, 100, 400, %d)"
    assert q(fail % (pid, "A", 2, "false", 3600)) == ""  # wrong attempt
    assert q(fail % (pid, "B", 1, "false", 3600)) == ""  # wrong owner
    assert q(fail % (pid, "A", 1, "false", 3600)) == "queued"
    # held: the attempt is given back
    q("UPDATE push SET next_attempt_at = now() WHERE id = %s" % pid)
    assert env.pg.rows(claim % "A") == [[pid, "2"]]
    assert q(fail % (pid, "A", 2, "true", 3600)) == "queued"
    assert q("SELECT attempts FROM push WHERE id = %s" % pid) == "1"
    # an expired lease is claimed by another instance; the first one's late failure changes
    # nothing, its late success is the truth and acknowledges the item once
    q("UPDATE push SET next_attempt_at = now() WHERE id = %s" % pid)
    assert env.pg.rows(claim % "A") == [[pid, "2"]]
    q("UPDATE push SET lease_until = now() - interval '1 s' WHERE id = %s" % pid)
    assert env.pg.rows(claim % "B") == [[pid, "3"]]
    assert q(fail % (pid, "A", 2, "false", 3600)) == ""
    assert q("SELECT gw_push_sent(%s, 'A', 200)" % pid) == "t"
    assert q("SELECT gw_push_sent(%s, 'B', 204)" % pid) == "t"
    assert q(fail % (pid, "B", 3, "false", 3600)) == ""  # sent stays sent
    assert q("SELECT state FROM push WHERE id = %s" % pid) == "sent"
    assert q("SELECT state FROM package WHERE id = %d" % mine) == "DELIVERED"
    assert q("SELECT count(*) FROM event WHERE kind = 'delivered' AND actor = 'push' AND package_id = %d"
             % mine) == "1"
    # give-up: dead, the item stays in the pull inbox
    other_pid = rows[1][0]
    q("UPDATE push SET created_at = now() - interval '2 hours' WHERE id = %s" % other_pid)
    assert q(fail % (other_pid, "A", 1, "false", 3600)) == "dead"
    assert q("SELECT state FROM package WHERE id = %d" % later) == "AVAILABLE"
    assert q("SELECT waiting || ',' || dead FROM gw_push_stats()") == "0,1"
    # acknowledged by pull before its push was due: dropped at the claim, never handed out
    third = pkg(5, [t.PROVINCE])
    assert q("SELECT gw_push_enqueue(%s, 10)" % organs) == "1"
    assert q("SELECT gw_inbox_ack(%d, 'qlvbdh')" % third) == "t"
    assert env.pg.rows(claim % "A") == []
    assert q("SELECT state FROM push WHERE package_id = %d" % third) == "dropped"
    # a lease that expires past the give-up age ends dead in the claim
    fourth = pkg(6, [t.PROVINCE])
    assert q("SELECT gw_push_enqueue(%s, 10)" % organs) == "1"
    assert len(env.pg.rows(claim % "A")) == 1
    q("UPDATE push SET lease_until = now() - interval '1 s', created_at = now() - interval '2 h'"
      " WHERE package_id = %d" % fourth)
    assert env.pg.rows(claim % "B") == []
    assert q("SELECT state FROM push WHERE package_id = %d" % fourth) == "dead"
    # event ids are distinct uuids
    assert q("SELECT count(DISTINCT event_id) = count(*) FROM push") == "t"


if __name__ == "__main__":
    p.run([test_push_sql, test_pushed_through_faults, test_webhook_down_pull_inbox_fallback,
           test_give_up_dead, test_largest_batch, test_pushed_on_release, test_kick_during_step,
           test_failed_claim_tried_again,
           test_killed_mid_push_resumes])
