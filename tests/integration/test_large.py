"""Large packages (tens of MB, as provincial rules allow 50 MB per file) through the whole relay,
both ways, byte for byte."""

import hashlib
import re

import gwtest as t


def test_large_both_ways(env):
    gw = env.gateway({"server:max_body_bytes": str(40 * 1024 * 1024), "server:body_timeout_ms": "60000"})
    big = t.edoc("000.00.12.H49,2024/10/01,1/STC", pad=20 * 1024 * 1024)
    assert len(big) > 26 * 1024 * 1024
    r = gw.submit(big)
    assert r.status == 202, r.body
    entries = t.wait_until(lambda: env.sim.mailbox("000.00.00.G22"), 60, what="large package at the axis")
    # The copy sent is the package with our TraceHeader appended.
    sent = env.sim.ctl("GET", "/_sim/package?docId=" + entries[0]["docId"]).body
    assert entries[0]["sha256"] == hashlib.sha256(sent).hexdigest()
    assert re.sub(rb"<TraceHeader><OrganId>%s</OrganId><Timestamp>[0-9/ :]{19}</Timestamp></TraceHeader>"
                  % t.PROVINCE.encode(), b"", sent) == big
    # Over the configured limit: a client that asks first (Expect: 100-continue) gets 413 before
    # sending the body; nothing is stored.
    head = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (t.TOKEN, 45 * 1024 * 1024)).encode()
    answer = t.raw_exchange(gw.port, head)
    assert answer.startswith(b"HTTP/1.1 413") and b"payload_too_large" in answer, answer[:200]
    assert env.pg.query("SELECT count(*) FROM package WHERE direction = 'out'") == "1"
    # Incoming large package: stored, acked, served back identical.
    incoming = t.edoc("000.00.00.G22,2024/10/01,3/VPCP", to=(t.PROVINCE,), sender="000.00.00.G22",
                      pad=20 * 1024 * 1024)
    env.sim.inject(t.PROVINCE, incoming)
    items = t.wait_until(lambda: gw.get("/v1/inbox").json()["items"], 60, what="large package in inbox")
    content = gw.get(items[0]["content_url"])
    assert content.status == 200 and hashlib.sha256(content.body).hexdigest() == hashlib.sha256(incoming).hexdigest()
    t.wait_until(lambda: all(e["acked"] for e in env.sim.mailbox(t.PROVINCE)), 20, what="axis ack")


if __name__ == "__main__":
    t.run([test_large_both_ways])
