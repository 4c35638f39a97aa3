"""Routing by agency directory over two axes, each a simulator (`[axis.NAME] adapter = vxp`): the
provincial axis (role provincial) and the national axis. Covers domain.md §2 "Relaying across two
axes", §3 and Art. 10.3a:
- before every directory is synced, a recipient on no directory goes to the default axis;
- once both are synced, a document to an in-province recipient (listed by both directories), an
  out-of-province one and an unknown one becomes one delivery per axis with only its recipient,
  and the unknown recipient is marked without electronic means (no delivery, its own state, the
  gauge, the view);
- statuses 01, 03, 06 from each recipient, fetched from each axis, form two timelines in
  GET /v1/packages/{id} (one status written with a yyyy-MM-dd date in ResponseFor/DocumentId);
- a recall (13 to each recipient, their 15, then the BussinessDocType 1 edoc) crosses the round
  trip on both axes and shows on both timelines, without counting as a new document.
(The To filtering of each axis's copy is the relay's; here the delivery rows and which axis got
the package are checked.)"""

import os
import signal

import gwtest as t

pkg = t.package_read
timeline = t.timeline
codes = t.timeline_codes
synced = t.directory_synced

IN = "000.00.05.H49"      # in the province: listed by both directories, must go to the provincial axis
IN_QD20 = "H49.05"        # its QĐ 20 code, learned from the provincial QĐ 20 list
OUT = "000.00.00.G22"     # out of the province: national directory only
UNKNOWN = "000.00.99.H99"  # on no directory
DOC = "000.00.12.H49,2024/06/01,12/STC-NS"


def directory(codes, qd20=()):
    return {"agencies": [{"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": c + "@x"}
                         for i, c in enumerate(codes)],
            "qd20": [{"id": i, "code": q, "code102": c, "name": "Cơ quan " + c, "mail": ""}
                     for i, (q, c) in enumerate(qd20)]}


def test_two_axes(env):
    systems = [{"systemid": t.GW_SYSTEMID, "secret_b64": t.GW_SECRET, "organ_ids": [t.PROVINCE, t.AGENCY]}]
    root = os.path.join(env.root, "prov")
    os.makedirs(root)
    prov = t.Sim(root, systems)
    try:
        run_two_axes(env, prov)
    finally:
        prov.close()


def run_two_axes(env, prov):
    nat = env.sim
    nat.ctl("POST", "/_sim/directory", directory([OUT, IN, t.PROVINCE, t.AGENCY]))
    prov.ctl("POST", "/_sim/directory", directory([IN, t.PROVINCE, t.AGENCY], qd20=[(IN_QD20, IN)]))
    # The provincial directory cannot be fetched at first.
    prov.faults(http500=100000, ops=["getAgenciesList"])
    gw = env.gateway({
        "axis.national:role": "national",
        "axis.prov:adapter": "vxp", "axis.prov:base_url": prov.url(), "axis.prov:systemid": t.GW_SYSTEMID,
        "axis.prov:secret": t.GW_SECRET, "axis.prov:poll_interval_ms": "300", "axis.prov:timeout_ms": "2000",
        "axis.prov:role": "provincial",
        "routing:directory_retry_ms": "300", "routing:directory_interval_ms": "600000",
    })
    t.wait_until(lambda: synced(env, "national"), 20, what="national directory synced")
    assert not synced(env, "prov")
    assert env.pg.query("SELECT failures > 0 AND last_error LIKE '%%HTTP 500%%' FROM directory_sync "
                        "WHERE axis = 'prov'") == "t"

    # Before every directory is synced: the unknown recipient goes to the default axis.
    r = gw.submit(t.edoc("000.00.12.H49,2024/06/01,11/STC-NS", to=(UNKNOWN,)))
    assert r.status == 202, r.body
    early = pkg(gw, r.json()["id"])
    assert [(d["axis"], d["recipients"]) for d in early["deliveries"]] == [("national", [UNKNOWN])], early
    assert early["routes"][0]["route"] == "default" and early["no_electronic_means"] == [], early

    prov.faults()  # the provincial axis answers again; SIGUSR1 syncs every directory now
    gw.proc.send_signal(signal.SIGUSR1)
    t.wait_until(lambda: synced(env, "prov"), 20, what="provincial directory synced")
    assert env.pg.rows("SELECT axis, role, agencies, agencies_qd20, pairs FROM v_directory ORDER BY ord") == \
        [["national", "national", "4", "0", "0"], ["prov", "provincial", "3", "1", "1"]]
    t.wait_until(lambda: 'gateway_directory_synced{axis="prov"} 1\n' in
                 t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 30, what="synced gauge")

    # One document, three recipients: provincial, national, nowhere.
    r = gw.submit(t.edoc(DOC, to=(IN, OUT, UNKNOWN)))
    assert r.status == 202, r.body
    pid = r.json()["id"]
    doc = pkg(gw, pid)
    assert sorted((d["axis"], d["recipients"]) for d in doc["deliveries"]) == \
        [("national", [OUT]), ("prov", [IN])], doc["deliveries"]
    assert doc["no_electronic_means"] == [UNKNOWN], doc
    assert [(x["recipient"], x["route"], x["axis"], x["state"]) for x in doc["routes"]] == \
        [(IN, "directory", "prov", "ROUTED"), (OUT, "directory", "national", "ROUTED"),
         (UNKNOWN, "none", None, "NO_ELECTRONIC_MEANS")], doc["routes"]
    assert timeline(doc, UNKNOWN)["route"]["state"] == "NO_ELECTRONIC_MEANS"
    assert env.pg.rows("SELECT recipient FROM v_no_electronic_means WHERE package_id = %d" % pid) == [[UNKNOWN]]
    # Each axis got the package once (its delivery), and both deliveries were acknowledged.
    t.wait_until(lambda: all(d["state"] == "SENT" for d in pkg(gw, pid)["deliveries"]), 20, what="both SENT")
    assert nat.stats()["sent_by_document_id"].get(DOC) == 1
    assert prov.ctl("GET", "/_sim/stats").json()["sent_by_document_id"].get(DOC) == 1
    t.wait_until(lambda: "gateway_recipients_no_electronic_means 1\n" in
                 t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 10, what="NEM gauge")

    # A QĐ 20 code is recognised through the pair learned from the provincial QĐ 20 list.
    r = gw.submit(t.edoc("000.00.12.H49,2024/06/01,13/STC-NS", to=(IN_QD20,)))
    assert [d["axis"] for d in pkg(gw, r.json()["id"])["deliveries"]] == ["prov"]

    # Statuses from each recipient, each fetched from its own axis.
    for code in ("01", "03", "06"):
        prov.inject(t.AGENCY, t.status_pkg(DOC, t.AGENCY, code, sender=IN), messagetype="status", sender=IN)
        out_doc = DOC.replace("2024/06/01", "2024-06-01") if code == "03" else DOC  # normalised on the way
        nat.inject(t.AGENCY, t.status_pkg(out_doc, t.AGENCY, code, sender=OUT), messagetype="status", sender=OUT)
    doc = t.wait_until(lambda: (lambda d: d if codes(timeline(d, IN)) == ["01", "03", "06"] and
                                codes(timeline(d, OUT)) == ["01", "03", "06"] else None)(pkg(gw, pid)),
                       30, what="two timelines 01 03 06")
    assert timeline(doc, IN)["route"]["axis"] == "prov" and timeline(doc, OUT)["route"]["axis"] == "national"
    assert all(e["direction"] == "in" for e in timeline(doc, IN)["events"])
    assert codes(timeline(doc, UNKNOWN)) == []

    # Recall: 13 to each recipient (routed like an edoc to its one recipient), their 15, then the
    # revoke edoc (BussinessDocType 1, same DocumentId), which is not a new document.
    for rcpt, axis in ((IN, "prov"), (OUT, "national")):
        r = gw.submit(t.status_pkg(DOC, rcpt, "13", sender=t.AGENCY))
        assert r.status == 202, r.body
        assert [(d["axis"], d["recipients"]) for d in pkg(gw, r.json()["id"])["deliveries"]] == [(axis, [rcpt])]
    prov.inject(t.AGENCY, t.status_pkg(DOC, t.AGENCY, "15", sender=IN), messagetype="status", sender=IN)
    nat.inject(t.AGENCY, t.status_pkg(DOC, t.AGENCY, "15", sender=OUT), messagetype="status", sender=OUT)
    t.wait_until(lambda: all(codes(timeline(pkg(gw, pid), x))[-1:] == ["15"] for x in (IN, OUT)), 30,
                 what="15 on both timelines")
    r = gw.submit(t.edoc(DOC, to=(IN, OUT), bdt=1))
    assert r.status == 202, r.body
    revoke = r.json()["id"]
    assert revoke != pid
    assert sorted(d["axis"] for d in pkg(gw, revoke)["deliveries"]) == ["national", "prov"]
    doc = pkg(gw, pid)
    for x in (IN, OUT):
        assert codes(timeline(doc, x)) == ["01", "03", "06", "13", "15", "revoke"], (x, timeline(doc, x))
    assert [e["direction"] for e in timeline(doc, OUT)["events"]][-3:] == ["out", "in", "out"]
    # The revoke edoc's own read shows the same timelines; no second set was started.
    assert codes(timeline(pkg(gw, revoke), IN))[-1] == "revoke"
    assert env.pg.query("SELECT count(*) FROM recipient_status WHERE document_id = '%s'" % DOC) == "3"
    t.wait_until(lambda: all(d["state"] == "SENT" for d in pkg(gw, revoke)["deliveries"]), 20, what="revoke SENT")


def test_stop_during_sync(env):
    """SIGTERM while a directory call is in flight: the drain waits for it and the exit is clean;
    an empty directory is a failed sync, never stored."""
    env.sim.ctl("POST", "/_sim/directory", directory([]))
    gw = env.gateway({"routing:directory_retry_ms": "200"})
    t.wait_until(lambda: env.pg.query("SELECT last_error FROM directory_sync WHERE axis = 'national'")
                 .endswith("empty list"), 20, what="empty list refused")
    assert not synced(env, "national")
    env.sim.ctl("POST", "/_sim/directory", directory([OUT]))
    t.wait_until(lambda: synced(env, "national"), 20, what="synced after the retry")
    env.sim.faults(latency_ms=1500, ops=["getAgenciesList"])
    n = env.sim.stats()["requests"]["getAgenciesList"]
    gw.proc.send_signal(signal.SIGUSR1)  # a sync now, answered slowly
    t.wait_until(lambda: env.sim.stats()["requests"]["getAgenciesList"] > n, 10, what="a slow sync")
    assert gw.stop(30) == 0


if __name__ == "__main__":
    t.run([test_two_axes, test_stop_during_sync])
