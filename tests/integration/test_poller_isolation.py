"""The poller handles each listed package on its own (issue 5, findings 4, 5, 6 and 7):

- a package that fails locally (over the 100 000-recipient cap) listed first does not keep the
  packages listed after it from being stored in the same cycle; it is counted per docId in the
  database, retried with backoff, exposed in gateway_fetch_failing, and never answered `fail`;
- only a verdict on the package (domain.md §2) is answered `updateStatus fail`, and it is recorded
  with its stable code: BussinessDocType 40000, 300 000 attributes on one element;
- a local size limit (max_package_bytes) leaves the package on the axis, counted, never `fail`;
- an 11 MB CDATA section (beyond libxml2's default 10 MB node limit) is accepted.
"""

import base64
import time

import gwtest as t

SENDER = "000.00.00.G22"


def entry(env, doc_id):
    return {e["docId"]: e for e in env.sim.mailbox(t.PROVINCE)}[doc_id]


def many_recipients(document_id, n):
    """An edoc with n distinct To/OrganId: beyond the reader's local cap of 10 000 To (and the
    poller's recipient cap when n > 100 000)."""
    tos = "".join("<To><OrganId>R.%d</OrganId></To>" % i for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="%s"><edXMLEnvelope><edXMLHeader>'
            "<MessageHeader><From><OrganId>%s</OrganId></From>%s<DocumentId>%s</DocumentId>"
            "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>" % (t.NS, SENDER, tos, document_id)).encode()


def test_local_failure_first_does_not_block(env):
    gw = env.gateway()
    bad = env.sim.inject(t.PROVINCE, many_recipients("000.00.00.G22,2024/07/01,1/VPCP", 100001))
    good = ["000.00.00.G22,2024/07/01,%d/VPCP" % i for i in range(2, 6)]
    for d in good:
        env.sim.inject(t.PROVINCE, t.edoc(d, to=(t.PROVINCE,), sender=SENDER))
    # Every package listed after the failing one is stored, in the first cycle that reaches them.
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package WHERE direction = 'in'") == "4", 30,
                 what="the good packages stored")
    assert sorted(r[0] for r in env.pg.rows("SELECT document_id FROM package")) == sorted(good)
    first = env.pg.rows("SELECT failures, last_error FROM incoming_failure WHERE axis_doc_id = '%s'" % bad)
    assert first and int(first[0][0]) >= 1 and "too_many_items" in first[0][1], first
    # The good ones were stored in the very cycle that first tried the bad one: before its first
    # retry was due (2 s after that failure).
    assert env.pg.query("SELECT count(*) FROM package p, incoming_failure f"
                        " WHERE p.created_at > f.first_seen + interval '2 s'") == "0"
    # Retried with backoff: a second failure, and far fewer fetches than poll cycles.
    t.wait_until(lambda: int(env.pg.query("SELECT failures FROM incoming_failure WHERE axis_doc_id = '%s'"
                                          % bad)) >= 2, 20, what="the failing package retried")
    t0 = time.monotonic()
    fetches0 = env.sim.stats()["requests"].get("getEdoc", 0)
    t.wait_until(lambda: time.monotonic() - t0 > 3, 5, what="a few poll cycles")
    fetches = env.sim.stats()["requests"].get("getEdoc", 0) - fetches0
    assert fetches <= 1, fetches  # ten poll cycles of 300 ms, at most one attempt is due (4 s wait)
    wait = env.pg.query("SELECT extract(epoch FROM next_attempt_at - updated_at) FROM incoming_failure")
    assert float(wait) >= 3.5, wait  # the second wait is twice the first (2 s)
    # Exposed, logged, never refused on our behalf, never acked.
    t.wait_until(lambda: t.metric(gw, 'gateway_fetch_failing{axis="national"}') == 1, 10, what="failing gauge")
    t.wait_until(lambda: (t.metric(gw, 'gateway_fetch_failed_total{axis="national"}') or 0) >= 2, 5,
                 what="failures counted")
    assert '"poll.local_failure"' in gw.tail(400) and bad in gw.tail(400)
    e = entry(env, bad)
    assert e["acked"] is False and e["status"] != "fail", e
    assert env.sim.stats()["acks_fail"] == 0
    assert env.pg.query("SELECT count(*) FROM incoming_refusal") == "0"


def test_business_doc_type_out_of_range_refused(env):
    gw = env.gateway()
    bad = env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/02,1/VPCP", to=(t.PROVINCE,), sender=SENDER,
                                            bdt=40000))
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/02,2/VPCP", to=(t.PROVINCE,), sender=SENDER))
    t.wait_until(lambda: entry(env, bad)["status"] == "fail", 20, what="the package refused on the axis")
    assert env.pg.query("SELECT code FROM incoming_refusal WHERE axis_doc_id = '%s'" % bad) == "bad_business_doc_type"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") == "1", 20, what="the other one stored")
    assert env.pg.query("SELECT document_id FROM package") == "000.00.00.G22,2024/07/02,2/VPCP"
    assert env.pg.query("SELECT count(*) FROM incoming_failure") == "0"
    t.wait_until(lambda: t.metric(gw, 'gateway_fetch_invalid_total{axis="national"}') == 1, 5,
                 what="refusal counted")
    # Answered once: the axis keeps listing it with status fail, and it is not answered again.
    t0 = time.monotonic()
    t.wait_until(lambda: time.monotonic() - t0 > 1.5, 3, what="a few poll cycles")
    assert env.sim.stats()["acks_fail"] == 1
    # The same verdict at the API: a 4xx with the code, never a 503; nothing stored.
    r = gw.submit(t.edoc("000.00.12.H49,2024/07/02,3/STC", bdt=40000))
    assert r.status == 422, (r.status, r.body)
    err = r.json()["error"]
    assert err["code"] == "not_edxml" and err["message"].startswith("bad_business_doc_type"), err
    assert env.pg.query("SELECT count(*) FROM package") == "1"


def test_hostile_attributes_refused(env):
    gw = env.gateway({"server:max_body_bytes": "8388608"})
    attrs = " ".join('a%d="1"' % i for i in range(300000))
    hostile = t.edoc("000.00.00.G22,2024/07/03,1/VPCP", to=(t.PROVINCE,), sender=SENDER).replace(
        b"<MessageHeader>", ("<MessageHeader %s>" % attrs).encode(), 1)
    assert len(hostile) > 3_000_000
    bad = env.sim.inject(t.PROVINCE, hostile)
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/03,2/VPCP", to=(t.PROVINCE,), sender=SENDER))
    t.wait_until(lambda: entry(env, bad)["status"] == "fail", 30, what="the hostile package refused")
    assert env.pg.query("SELECT code FROM incoming_refusal WHERE axis_doc_id = '%s'" % bad) == "too_many_attributes"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") == "1", 20, what="the other one stored")
    r = gw.submit(hostile)
    assert r.status == 400, (r.status, r.body)
    err = r.json()["error"]
    assert err["code"] == "malformed" and err["message"].startswith("too_many_attributes"), err
    assert env.pg.query("SELECT count(*) FROM package") == "1"


def test_local_size_limit_left_on_axis(env):
    gw = env.gateway({"axis.national:max_package_bytes": "200000"})
    big = env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/04,1/VPCP", to=(t.PROVINCE,), sender=SENDER,
                                            pad=300000))
    env.sim.inject(t.PROVINCE, t.edoc("000.00.00.G22,2024/07/04,2/VPCP", to=(t.PROVINCE,), sender=SENDER))
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package") == "1", 20, what="the small one stored")
    t.wait_until(lambda: env.pg.query("SELECT last_error FROM incoming_failure WHERE axis_doc_id = '%s'" % big),
                 10, what="the large one counted")
    assert "too_large" in env.pg.query("SELECT last_error FROM incoming_failure")
    t.wait_until(lambda: t.metric(gw, 'gateway_fetch_failing{axis="national"}') == 1, 10, what="failing gauge")
    e = entry(env, big)
    assert e["acked"] is False and e["status"] != "fail", e
    assert env.sim.stats()["acks_fail"] == 0


def test_huge_cdata_accepted(env):
    gw = env.gateway()
    payload = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256)) * (8 * 1024 * 1024 // 256)).decode()
    assert len(payload) > 11_000_000
    pkg = t.edoc("000.00.00.G22,2024/07/05,1/VPCP", to=(t.PROVINCE,), sender=SENDER)
    start = pkg.index(b"<ContentTransferEncoded>") + len(b"<ContentTransferEncoded>")
    end = pkg.index(b"</ContentTransferEncoded>")
    pkg = pkg[:start] + b"<![CDATA[" + payload.encode() + b"]]>" + pkg[end:]
    doc = env.sim.inject(t.PROVINCE, pkg)
    t.wait_until(lambda: entry(env, doc)["acked"], 60, what="the 11 MB CDATA package stored and acked")
    assert entry(env, doc)["status"] != "fail"
    assert env.pg.query("SELECT size FROM package") == str(len(pkg))


if __name__ == "__main__":
    t.run([test_local_failure_first_does_not_block, test_business_doc_type_out_of_range_refused,
           test_hostile_attributes_refused, test_local_size_limit_left_on_axis, test_huge_cdata_accepted])
