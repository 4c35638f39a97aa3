"""Every hop over real TLS on loopback, with one CA of the test's own:
- QLVBĐH submits over TLS with a pinned client certificate and no token;
- a document to one recipient on the REST provincial axis (lgsp_rest over HTTPS) and one on the
  national axis (vxp over HTTPS), each axis's CA pinned, reaches the two axes once each;
- statuses 01, 03, 06 come back from both recipients, each over its own axis, and form two
  timelines; the recall 13 -> 15 crosses the two axes;
- every received status is pushed to QLVBĐH's webhook (HTTPS, CA pinned), which fails for a
  while (500s, a dropped connection, a cut answer) and then takes them: one distinct event per
  received package, nothing lost, nothing resent after its 2xx, every signature checked by the
  webhook with Python's hmac;
- the pushed statuses have left the pull inbox."""

import os

import gwpush
import gwrest
import gwtest as t
import gwtls
import gwtlsout

pkg = t.package_read
timeline = t.timeline
codes = t.timeline_codes
delivered = t.deliveries_sent
synced = t.directory_synced

IN = "000.00.05.H49"   # on the REST provincial axis (directory_file)
OUT = "000.00.00.G22"  # on the national directory
DOC = "000.00.12.H49,2026/12/03,31/UBND-VP"


def test_everything_over_tls(env):
    pki = gwtls.Pki(env.root)
    ca = pki.ca("hop-ca")
    server = pki.leaf("hop-server", ca)
    qlvbdh = pki.leaf("qlvbdh-client", ca, client=True)
    tls_args = gwtlsout.tls_args(server)

    nat = gwtlsout.replace_sim(env, gwtlsout.TlsSim(os.path.join(env.root, "nat"), server))
    nat.ctl("POST", "/_sim/directory", {"agencies": [
        {"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": ""}
        for i, c in enumerate([OUT, t.PROVINCE, t.AGENCY])], "qd20": []})
    rest = gwrest.RestSim(os.path.join(env.root, "rest"), [
        gwrest.system(t.GW_SYSTEMID, [t.PROVINCE, t.AGENCY]),
        gwrest.system("h49-05", [IN], secret="s5", username="u5", password="p5"),
    ], args=tls_args, ssl_context=gwtlsout.control_context())
    hook = gwpush.Webhook(env, args=tls_args, ssl_context=gwtlsout.control_context())
    try:
        run(env, pki, ca, server, qlvbdh, nat, rest, hook)
    finally:
        rest.close()
        hook.close()


def run(env, pki, ca, server, qlvbdh, nat, rest, hook):
    dir_file = os.path.join(env.root, "rest-directory.txt")
    with open(dir_file, "w") as f:
        f.write("%s\n" % IN)
    assert nat.url().startswith("https://") and rest.url().startswith("https://")
    assert hook.url().startswith("https://")
    # The webhook fails for a while: four 500s, a dropped connection, a cut answer.
    hook.faults(http_status=500, count=4, then={"drop": True, "count": 1, "then": {"partial": True, "count": 1}})
    cfg = {
        "server:tls_cert": server[0], "server:tls_key": server[1], "server:tls_client_ca": ca[0],
        "client.qlvbdh:cert_sha256": gwtls.cert_sha256(qlvbdh[0]),
        "axis.national:role": "national", "axis.national:ca_file": ca[0],
        "routing:directory_retry_ms": "300", "routing:directory_interval_ms": "600000",
    }
    cfg.update(gwrest.axis_config("prov", rest, dir_file, ca_file=ca[0]))
    cfg.update(gwpush.config(hook, ca_file=ca[0]))
    del cfg["push:insecure"]
    gw = env.gateway(cfg, start=False)
    gw.ssl_context = gwtls.client_context(ca[0], cert=qlvbdh)
    gw.start()
    for sec in ("axis.national", "axis.prov", "push"):
        assert "insecure" not in open(gw.config).read().split("[%s]" % sec)[1].split("[")[0], sec
    t.wait_until(lambda: synced(env, "national") and synced(env, "prov"), 20, what="directories synced")

    # QLVBĐH, known by its certificate alone, sends one document to both axes.
    r = gw.submit(t.edoc(DOC, to=(IN, OUT)), token=None)
    assert r.status == 202, r.body
    pid = r.json()["id"]
    assert env.pg.query("SELECT source FROM package WHERE id = %d" % pid) == "qlvbdh"
    assert sorted((d["axis"], d["recipients"]) for d in pkg(gw, pid)["deliveries"]) == \
        [("national", [OUT]), ("prov", [IN])]
    t.wait_until(lambda: delivered(gw, pid), 30, what="both deliveries SENT over TLS")
    assert [i["messageType"] for i in rest.mailbox(IN)] == ["edoc"] and rest.mailbox(OUT) == []
    assert nat.stats()["sent_by_document_id"].get(DOC) == 1
    assert nat.stats()["tls_handshakes"] >= 1

    # Statuses from each recipient, each over its own axis: two timelines.
    for code in ("01", "03", "06"):
        rest.inject(t.AGENCY, IN, t.status_pkg(DOC, t.AGENCY, code, sender=IN), message_type="status")
        nat.inject(t.AGENCY, t.status_pkg(DOC, t.AGENCY, code, sender=OUT), messagetype="status", sender=OUT)
    doc = t.wait_until(lambda: (lambda d: d if codes(timeline(d, IN)) == ["01", "03", "06"] and
                                codes(timeline(d, OUT)) == ["01", "03", "06"] else None)(pkg(gw, pid)),
                       40, what="two timelines 01 03 06")
    assert timeline(doc, IN)["route"]["axis"] == "prov" and timeline(doc, OUT)["route"]["axis"] == "national"

    # The recall handshake across the two axes.
    for rcpt, axis in ((IN, "prov"), (OUT, "national")):
        r = gw.submit(t.status_pkg(DOC, rcpt, "13", sender=t.AGENCY), token=None)
        assert r.status == 202, r.body
        sid = r.json()["id"]
        assert [(d["axis"], d["recipients"]) for d in pkg(gw, sid)["deliveries"]] == [(axis, [rcpt])]
        t.wait_until(lambda: delivered(gw, sid), 30, what="13 SENT")
    assert [i["messageType"] for i in rest.mailbox(IN)] == ["edoc", "status"]
    rest.inject(t.AGENCY, IN, t.status_pkg(DOC, t.AGENCY, "15", sender=IN), message_type="status")
    nat.inject(t.AGENCY, t.status_pkg(DOC, t.AGENCY, "15", sender=OUT), messagetype="status", sender=OUT)
    t.wait_until(lambda: all(codes(timeline(pkg(gw, pid), x)) == ["01", "03", "06", "13", "15"]
                             for x in (IN, OUT)), 40, what="13, 15 on both timelines")

    # Every received status reached the webhook once, through its failures.
    received = gwpush.incoming_ids(env)
    assert len(received) == 8, received
    rows = t.wait_until(lambda: (lambda rs: rs if len(rs) == 8 and all(x[0] == "sent" for x in rs.values())
                                 else None)(gwpush.pushes(env)), 40, what="every push sent")
    events = hook.events()
    assert sorted(e["package_id"] for e in events) == received, events
    assert len({e["event_id"] for e in events}) == 8 == len(events)
    assert {e["event_id"] for e in events} == {x[1] for x in rows.values()}
    assert all(e["kind"] == "status" for e in events)
    stats = hook.stats()
    assert stats["refused"] == 0 and stats["invalid"] == 0 and stats["faulted"] == 6, stats
    sent_at = {x[1]: x[3] for x in rows.values()}
    for a in hook.attempts():
        assert a["at"] <= sent_at[a["event_id"]] + 0.001, ("an attempt after the ack", a)
    # Pushed and acknowledged: nothing left in the pull inbox.
    assert gw.get("/v1/inbox?after=0", token=None).json()["items"] == []


if __name__ == "__main__":
    t.run([test_everything_over_tls])
