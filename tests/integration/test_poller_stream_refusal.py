"""A fetched package is parsed as it streams in (getEdoc's base64 decoded into the ingest): a
verdict of domain.md §2 seen in the middle of the stream stops the transfer at once instead of
downloading the rest, nothing of it is stored (no package, no staged body or chunk), and it is
answered `updateStatus fail` once, with its stable code in incoming_refusal. The simulator says
independently how much of its answer it wrote before the gateway hung up (getEdoc_written,
getEdoc_cut); a well-formed package listed after it is stored as usual."""

import base64
import time

import gwtest as t

SENDER = "000.00.00.G22"
ATTACHMENT = 40 * 1000 * 1000


def entry(env, doc_id):
    return {e["docId"]: e for e in env.sim.mailbox(t.PROVINCE)}[doc_id]


def test_refusal_mid_stream_stops_the_transfer(env):
    gw = env.gateway({"axis.national:timeout_ms": "60000", "delivery:lease_ms": "120000"})
    pkg = t.edoc("000.00.00.G22,2024/11/01,1/VPCP", to=(t.PROVINCE,), sender=SENDER)
    small = base64.b64encode(b"%PDF-1.4\n")
    assert pkg.count(small) == 1
    # Not well-formed near the start (an unclosed tag inside MessageHeader), then 40 MB of
    # attachment the gateway never needs to read.
    pkg = pkg.replace(b"<Subject>", b"<Subject><<", 1).replace(small, base64.b64encode(b"\x00" * ATTACHMENT))
    answer_len = len(pkg) * 4 // 3  # the base64 alone, a lower bound of the answer's size
    bad = env.sim.inject(t.PROVINCE, pkg)
    good_id = "000.00.00.G22,2024/11/01,2/VPCP"
    good = env.sim.inject(t.PROVINCE, t.edoc(good_id, to=(t.PROVINCE,), sender=SENDER))

    t.wait_until(lambda: entry(env, bad)["status"] == "fail", 60, what="the package refused on the axis")
    code = env.pg.query("SELECT code FROM incoming_refusal WHERE axis_doc_id = '%s'" % bad)
    assert code == "not_well_formed", code
    size = int(env.pg.query("SELECT size FROM incoming_refusal WHERE axis_doc_id = '%s'" % bad))
    stats = env.sim.stats()
    written = stats["getEdoc_written"].get(bad)
    t.log("refused package: %d bytes, answer >= %d bytes; the simulator wrote %s before the cut, "
          "the gateway read %d" % (len(pkg), answer_len, written, size))
    assert stats["getEdoc_cut"] >= 1, stats
    assert written is not None and written < answer_len // 4, (written, answer_len)
    assert size < len(pkg) // 4, size

    # Nothing of it stored; the good one is.
    t.wait_until(lambda: entry(env, good)["acked"], 30, what="the good package stored and acked")
    assert env.pg.query("SELECT document_id FROM package") == good_id
    assert env.pg.query("SELECT count(*) FROM body") == "1"
    assert env.pg.query("SELECT count(*) FROM body b JOIN package p ON p.body_id = b.id") == "1"
    assert env.pg.query("SELECT count(*) FROM body_chunk c WHERE NOT EXISTS"
                        " (SELECT 1 FROM package p WHERE p.body_id = c.body_id)") == "0"
    assert env.pg.query("SELECT count(*) FROM incoming_failure") == "0"
    # Answered once, fetched once: the axis keeps listing it with status fail.
    t0 = time.monotonic()
    t.wait_until(lambda: time.monotonic() - t0 > 1.5, 3, what="a few poll cycles")
    stats = env.sim.stats()
    assert stats["acks_fail"] == 1, stats
    assert stats["requests"]["getEdoc"] == 2, stats["requests"]
    assert '"poll.invalid"' in gw.tail(200)


if __name__ == "__main__":
    t.run([test_refusal_mid_stream_stops_the_transfer])
