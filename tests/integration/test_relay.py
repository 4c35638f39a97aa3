"""End-to-end relay: QLVBĐH -> gatewayd -> national axis mailboxes, and axis -> gatewayd -> inbox,
with the transport ack sent only after the package is stored."""

import hashlib
import re

import gwtest as t


def test_outgoing_reaches_every_recipient(env):
    gw = env.gateway()
    body = t.edoc("000.00.12.H49,2024/05/15,1/STC-NS", to=("000.00.00.G22", "000.00.00.H44"))
    r = gw.submit(body)
    assert r.status == 202, (r.status, r.body)
    pkg = r.json()
    assert pkg["document_id"] == "000.00.12.H49,2024/05/15,1/STC-NS" and not pkg["duplicate"]
    # The 202 came after the commit: the package and its bytes are already in the database.
    assert env.pg.query("SELECT count(*) FROM package_body WHERE package_id = %d" % pkg["id"]) == "1"
    state = t.wait_until(lambda: (lambda j: j if j["state"] == "SENT" else None)(
        gw.get("/v1/packages/%d" % pkg["id"]).json()), 20, what="state SENT")
    # The axis got the package with our TraceHeader appended (test_copies.py checks copies in full).
    digest = state["deliveries"][0]["copy_sha256"]
    sent = env.sim.ctl("GET", "/_sim/package?docId=" + state["deliveries"][0]["axis_doc_id"]).body
    assert hashlib.sha256(sent).hexdigest() == digest
    assert re.sub(rb"<TraceHeader><OrganId>%s</OrganId><Timestamp>[0-9/ :]{19}</Timestamp></TraceHeader>"
                  % t.PROVINCE.encode(), b"", sent) == body
    for organ in ("000.00.00.G22", "000.00.00.H44"):
        entries = t.wait_until(lambda: env.sim.mailbox(organ), 20, what="mailbox " + organ)
        assert len(entries) == 1 and entries[0]["sha256"] == digest, entries
    assert state["deliveries"][0]["state"] == "SENT" and state["deliveries"][0]["axis_doc_id"]
    # stored, routed, classified for a paper copy (it goes to the Government Office: Art. 10.3b
    # clause 1), its signatures checked (the gate opens), then sent
    assert [e["kind"] for e in state["events"]][:5] == ["received", "routed", "paper_classified",
                                                        "verified", "sent"], state["events"]
    assert state["paper"]["required"] and state["paper"]["clauses"] == [1], state["paper"]
    # A status package goes back to the original sender named in ResponseFor.
    st = t.status_pkg("000.00.00.G22,2024/05/10,55/VPCP", "000.00.00.G22", code="03")
    r = gw.submit(st)
    assert r.status == 202 and r.json()["kind"] == "status", r.body
    t.wait_until(lambda: [e for e in env.sim.mailbox("000.00.00.G22") if e["messagetype"] == "status"],
                 20, what="status in mailbox")
    metrics = t.request(gw.port, "GET", "/metrics", token=None).body.decode()
    assert "gateway_submit_created_total 2\n" in metrics and "gateway_up 1\n" in metrics, metrics
    t.wait_until(lambda: "gateway_send_ok_total{axis=\"national\"} 2\n" in
                 t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 10, what="metrics")
    metrics = t.request(gw.port, "GET", "/metrics", token=None).body.decode()
    assert "gateway_backlog_ok 1\n" in metrics and 'gateway_deliveries{state="dead"} 0\n' in metrics, metrics
    ready = t.request(gw.port, "GET", "/readyz", token=None)
    assert ready.status == 200 and ready.json()["ready"], ready.body
    t.wait_until(lambda: env.pg.query("SELECT gw_event_unsealed()") == "0", 10, what="sealed")
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    # The sealer logs the trail's head (its anchor outside the database): a seal's end and hash.
    head = t.wait_until(lambda: re.findall(r"audit trail head: position (\d+), hash ([0-9a-f]{64})",
                                           open(gw.log_path).read()), 10, what="the head logged")
    seq, hexhash = head[-1]
    assert env.pg.query("SELECT count(*) FROM event_seal WHERE first_pos + events - 1 = %s "
                        "AND encode(hash, 'hex') = '%s'" % (seq, hexhash)) == "1", head
    env.pg.query("UPDATE event SET actor = 'forged' WHERE id = 1")
    # the first position of the seal covering event 1 (013_audit_seal.sql)
    assert env.pg.query("SELECT gw_event_verify()") == env.pg.query(
        "SELECT s.first_pos FROM event_seal s, event e WHERE e.id = 1 AND (e.xid, e.id) >= (s.from_xid, s.from_id)"
        " AND (e.xid, e.id) < (s.to_xid, s.to_id)")


def test_incoming_stored_before_ack(env):
    gw = env.gateway()
    body = t.edoc("000.00.00.G22,2024/05/20,77/VPCP-TH", to=(t.PROVINCE,), sender="000.00.00.G22")
    doc_id = env.sim.inject(t.PROVINCE, body)
    inbox = t.wait_until(lambda: gw.get("/v1/inbox?after=0&limit=10").json()["items"], 20, what="inbox")
    assert len(inbox) == 1, inbox
    item = inbox[0]
    # its signature check came first; the test package's PDF attachment is not a readable PDF,
    # so the summary is INDETERMINATE and the default policy delivers it flagged
    assert item["signature_summary"] == "INDETERMINATE" and item["signature_flagged"], item
    assert item["axis_doc_id"] == doc_id and item["document_id"] == "000.00.00.G22,2024/05/20,77/VPCP-TH"
    content = gw.get(item["content_url"])
    assert content.status == 200 and content.body == body
    # Acked on the axis, and the ack was recorded after the store committed.
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 10, what="axis ack")
    t.wait_until(lambda: "gateway_inbox_waiting 1\n" in t.request(gw.port, "GET", "/metrics", token=None).body.decode(),
                 5, what="inbox gauge (a snapshot at most a second old)")
    order = t.wait_until(lambda: (lambda k: k if len(k) >= 2 else None)(
        [o[0] for o in env.pg.rows("SELECT kind FROM event WHERE package_id = %d ORDER BY id" % item["id"])]),
        10, what="ack recorded")
    assert order[:2] == ["fetched", "axis_acked"], order
    # Cursor paging and ack by QLVBĐH.
    page = gw.get("/v1/inbox?after=%s" % item["seq"]).json()
    assert page["items"] == [] and page["next_cursor"] == str(item["seq"])
    r = gw.post("/v1/inbox/%d/ack" % item["id"])
    assert r.status == 200 and r.json()["state"] == "DELIVERED"
    assert gw.get("/v1/inbox").json()["items"] == []
    assert gw.post("/v1/inbox/%d/ack" % item["id"]).status == 200  # acking twice is harmless
    assert gw.post("/v1/inbox/999999/ack").status == 404
    # A status package waiting on the axis reaches the inbox too.
    env.sim.inject(t.AGENCY, t.status_pkg("000.00.12.H49,2024/05/15,1/STC-NS", t.AGENCY, "01",
                                          sender="000.00.00.G22"), messagetype="status")
    items = t.wait_until(lambda: gw.get("/v1/inbox").json()["items"], 20, what="status in inbox")
    assert items[0]["kind"] == "status" and items[0]["status_code"] == "01", items


def test_duplicate_listing_stored_once(env):
    gw = env.gateway()
    env.sim.faults(duplicate_list=5)
    for i in range(3):
        env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/05/20,%d/VPCP" % i, to=(t.PROVINCE,),
                                          sender="000.00.00.G22"))
    t.wait_until(lambda: len(gw.get("/v1/inbox").json()["items"]) == 3, 20, what="three in inbox")
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 10, what="acks")
    assert env.pg.query("SELECT count(*) FROM package WHERE direction = 'in'") == "3"


def test_same_document_resent_once_in_inbox(env):
    gw = env.gateway()
    body = t.edoc("000.00.00.G22,2024/05/21,8/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22")
    first = env.sim.inject(t.PROVINCE, body)
    t.wait_until(lambda: gw.get("/v1/inbox").json()["items"], 20, what="first copy")
    # The sender resends the same document (its answer was lost): a new axis doc id, same bytes.
    second = env.sim.inject(t.PROVINCE, body)
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 20, what="both acked")
    items = gw.get("/v1/inbox").json()["items"]
    assert len(items) == 1 and items[0]["axis_doc_id"] == first, items
    assert env.pg.rows("SELECT axis_doc_id FROM axis_receipt ORDER BY received_at") == [[first], [second]]
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'fetched_again'") == "1"
    # A different document with the same DocumentId (an update) is a new inbox item.
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/05/21,8/VPCP", to=(t.PROVINCE,),
                                      sender="000.00.00.G22", subject="Bản sửa đổi"))
    t.wait_until(lambda: len(gw.get("/v1/inbox").json()["items"]) == 2, 20, what="update stored")


def test_unsealed_events_gauged(env):
    """A write transaction left open holds sealing back (its xid keeps xmin below every later
    event): /metrics shows the events waiting and the age of the oldest; once it ends they are
    sealed and both gauges go back to 0."""
    import time
    gw = env.gateway()
    t.wait_until(lambda: t.metric(gw, "gateway_audit_unsealed_events") == 0, 10, what="nothing unsealed")
    with t.open_transaction(env.pg, "SELECT 1"):
        r = gw.submit(t.edoc("000.00.12.H49,2024/05/16,1/UNSEALED"))
        assert r.status == 202, r.body
        t.wait_until(lambda: (t.metric(gw, "gateway_audit_unsealed_events") or 0) >= 3, 20,
                     what="events waiting")
        time.sleep(2.5)
        assert t.metric(gw, "gateway_audit_unsealed_oldest_seconds") >= 2
    t.wait_until(lambda: t.metric(gw, "gateway_audit_unsealed_events") == 0, 20, what="sealed again")
    assert t.metric(gw, "gateway_audit_unsealed_oldest_seconds") == 0
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"


if __name__ == "__main__":
    t.run([test_outgoing_reaches_every_recipient, test_incoming_stored_before_ack,
           test_duplicate_listing_stored_once, test_same_document_resent_once_in_inbox,
           test_unsealed_events_gauged])
