"""Authorisation on the northbound API (docs/internals/api.md, "Who may do what"): a client sends
only as the organisations it acts for, the submission identity includes the sender, and inbox
reads, package reads and acks are scoped to the client's organisations."""

import hashlib

import gwtest as t

OUTSIDER = "000.00.99.H49"      # not one of [gateway] organ_ids
FAR = "000.00.13.H49"           # a client's own organ_id outside the province list


def clients():
    return {
        "client.agency:token_sha256": hashlib.sha256(b"agency-token").hexdigest(),
        "client.agency:organ_id": t.AGENCY,
        "client.far:token_sha256": hashlib.sha256(b"far-token").hexdigest(),
        "client.far:organ_id": FAR,
    }


def expect_error(r, status, code):
    assert r.status == status, (r.status, r.body)
    err = r.json()["error"]
    assert err["code"] == code and err["message"], err


def test_send_only_as_own_organisations(env):
    gw = env.gateway(clients())
    # A client without organ_id acts for the province's organ_ids, and only for them.
    ok = gw.submit(t.edoc("000.00.00.H49,2024/09/01,1/UBND", sender=t.PROVINCE))
    assert ok.status == 202, ok.body
    expect_error(gw.submit(t.edoc("000.00.99.H49,2024/09/01,1/X", sender=OUTSIDER)), 403, "forbidden_sender")
    expect_error(gw.submit(t.status_pkg("000.00.00.G22,2024/09/01,5/VPCP", "000.00.00.G22", sender=OUTSIDER)),
                 403, "forbidden_sender")
    # A client with organ_id acts for that one only, even if it is one of the province's.
    expect_error(gw.submit(t.edoc("000.00.00.H49,2024/09/01,2/UBND", sender=t.PROVINCE), token="agency-token"),
                 403, "forbidden_sender")
    expect_error(gw.submit(t.status_pkg("000.00.00.G22,2024/09/01,6/VPCP", "000.00.00.G22", sender=t.PROVINCE),
                           token="agency-token"), 403, "forbidden_sender")
    ok = gw.submit(t.status_pkg("000.00.00.G22,2024/09/01,6/VPCP", "000.00.00.G22", sender=t.AGENCY),
                   token="agency-token")
    assert ok.status == 202, ok.body
    # A refused package's staged chunks are dropped from those kept in memory too: a package of
    # three 256 KiB chunks, whose first two are stored (and kept) before the refusal.
    expect_error(gw.submit(t.edoc("000.00.99.H49,2024/09/01,2/X", sender=OUTSIDER, pad=600000)), 403,
                 "forbidden_sender")
    assert env.pg.query("SELECT count(*) FROM package") == "2"
    t.wait_until(lambda: 'gateway_submit_rejected_total{code="forbidden_sender"} 5\n' in
                 t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 5,
                 what="rejections counted (a snapshot at most a second old)")
    # What stays kept in memory is at most the two accepted packages' bytes (in a snapshot taken
    # after the fifth refusal).
    accepted = int(env.pg.query("SELECT sum(b.size) FROM package p JOIN body b ON b.id = p.body_id"))
    kept = t.metric(gw, "gateway_body_cache_bytes")
    assert kept is not None and kept <= accepted, (kept, accepted)
    assert gw.stop() == 0  # SIGTERM: a clean drain (and the leak check of sanitizer builds)


def test_identity_includes_sender(env):
    gw = env.gateway(clients())
    doc = "000.00.00.G22,2024/09/02,7/VPCP"  # the same DocumentId used by two organisations
    a = gw.submit(t.edoc(doc, sender=t.AGENCY, subject="Văn bản của Sở"), token="agency-token")
    assert a.status == 202 and not a.json()["duplicate"], a.body
    b = gw.submit(t.edoc(doc, sender=t.PROVINCE, subject="Văn bản của UBND"))
    assert b.status == 202 and not b.json()["duplicate"], b.body
    assert a.json()["id"] != b.json()["id"]
    # Each identity still has its own idempotency and conflict.
    again = gw.submit(t.edoc(doc, sender=t.AGENCY, subject="Văn bản của Sở"), token="agency-token")
    assert again.status == 202 and again.json()["duplicate"] and again.json()["id"] == a.json()["id"]
    expect_error(gw.submit(t.edoc(doc, sender=t.PROVINCE, subject="Khác")), 409, "conflict")
    # Statuses too: the same status about the same document from two organisations.
    sa = gw.submit(t.status_pkg(doc, "000.00.00.G22", sender=t.AGENCY), token="agency-token")
    sb = gw.submit(t.status_pkg(doc, "000.00.00.G22", sender=t.PROVINCE))
    assert sa.status == 202 and sb.status == 202 and sa.json()["id"] != sb.json()["id"], (sa.body, sb.body)
    rows = env.pg.rows("SELECT sender, kind FROM package WHERE document_id = '%s' ORDER BY id" % doc)
    assert rows == [[t.AGENCY, "edoc"], [t.PROVINCE, "edoc"], [t.AGENCY, "status"], [t.PROVINCE, "status"]], rows
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "4", 20,
                 what="all four sent")


def inbox_ids(gw, token):
    r = gw.get("/v1/inbox?limit=500", token=token)
    assert r.status == 200, r.body
    return sorted(i["id"] for i in r.json()["items"])


def test_inbox_scoped(env):
    gw = env.gateway(clients())
    to_agency = t.edoc("000.00.00.G22,2024/09/03,1/VPCP", to=(t.AGENCY,), sender="000.00.00.G22")
    to_province = t.edoc("000.00.00.G22,2024/09/03,2/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22")
    env.sim.inject(t.AGENCY, to_agency)
    env.sim.inject(t.PROVINCE, to_province)
    both = t.wait_until(lambda: (lambda ids: ids if len(ids) == 2 else None)(inbox_ids(gw, t.TOKEN)), 20,
                        what="both in the province-wide inbox")
    agency_pkg = int(env.pg.query("SELECT id FROM package WHERE document_id = '000.00.00.G22,2024/09/03,1/VPCP'"))
    province_pkg = int(env.pg.query("SELECT id FROM package WHERE document_id = '000.00.00.G22,2024/09/03,2/VPCP'"))
    assert both == sorted([agency_pkg, province_pkg])
    # The agency's client sees only what is addressed to the agency; the far client nothing.
    assert inbox_ids(gw, "agency-token") == [agency_pkg]
    assert inbox_ids(gw, "far-token") == []
    # Reads of a package outside the scope answer like an unknown package.
    expect_error(gw.get("/v1/packages/%d" % province_pkg, token="agency-token"), 404, "not_found")
    expect_error(gw.get("/v1/packages/%d/content" % province_pkg, token="agency-token"), 404, "not_found")
    expect_error(gw.get("/v1/packages/%d/content" % agency_pkg, token="far-token"), 404, "not_found")
    content = gw.get("/v1/packages/%d/content" % agency_pkg, token="agency-token")
    assert content.status == 200 and content.body == to_agency
    # Acks are scoped the same way: refused ones change nothing.
    expect_error(gw.post("/v1/inbox/%d/ack" % province_pkg, token="agency-token"), 404, "not_found")
    expect_error(gw.post("/v1/inbox/%d/ack" % agency_pkg, token="far-token"), 404, "not_found")
    assert env.pg.query("SELECT count(*) FROM package WHERE state = 'AVAILABLE'") == "2"
    r = gw.post("/v1/inbox/%d/ack" % agency_pkg, token="agency-token")
    assert r.status == 200 and r.json()["state"] == "DELIVERED", r.body
    assert inbox_ids(gw, "agency-token") == []
    assert inbox_ids(gw, t.TOKEN) == [province_pkg]
    # Acking again is harmless for its owner, still not found for others.
    assert gw.post("/v1/inbox/%d/ack" % agency_pkg, token="agency-token").status == 200
    expect_error(gw.post("/v1/inbox/%d/ack" % agency_pkg, token="far-token"), 404, "not_found")
    actor = env.pg.query("SELECT actor FROM event WHERE package_id = %d AND kind = 'delivered'" % agency_pkg)
    assert actor == "agency", actor
    # Outgoing packages: readable by the organisations that sent them only.
    sent = gw.submit(t.edoc("000.00.12.H49,2024/09/03,3/STC"), token="agency-token")
    assert sent.status == 202, sent.body
    pid = sent.json()["id"]
    assert gw.get("/v1/packages/%d" % pid, token="agency-token").status == 200
    assert gw.get("/v1/packages/%d" % pid, token=t.TOKEN).status == 200
    expect_error(gw.get("/v1/packages/%d" % pid, token="far-token"), 404, "not_found")
    assert gw.stop() == 0


if __name__ == "__main__":
    t.run([test_send_only_as_own_organisations, test_identity_includes_sender, test_inbox_scoped])
