"""Bounded memory for large packages, southbound: sending a package with a 50 MB attachment to the
axis raises gatewayd's peak resident set (VmHWM) by less than 32 MB, since the per-axis copy is
measured and sent by streaming the stored chunks from PostgreSQL one at a time (the measuring
pass reads the copy back with the edXML reader on the thread pool). What the simulator received
is checked with hashlib: the submitted bytes with our TraceHeader appended, the attachment
decoded by Python hashing like the original, the delivery's copy_sha256 that of the bytes stored.

The send is held back (the simulator answers sendEdoc with HTTP 500 until the breaker opens) while
the package is submitted, so the peak is measured over the send alone.
Skipped (77) for sanitizer builds, whose shadow memory and quarantine make RSS meaningless.
Run alone:  GW_BUILD_DIR=build python3 tests/integration/test_memory_send.py"""

import base64
import hashlib
import re
import sys

import gwtest as t
from test_memory import LIMIT, big_package, reset_peak, sanitized_build, status_kb

TRACE = rb"<TraceHeader><OrganId>%s</OrganId><Timestamp>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d</Timestamp></TraceHeader>"


def pkg(gw, pid):
    return gw.get("/v1/packages/%d" % pid).json()


def test_memory_send(env):
    env.sim.faults(http500=1000000, ops=["sendEdoc"])
    gw = env.gateway({"server:max_body_bytes": str(80 * 1024 * 1024), "server:body_timeout_ms": "120000",
                      "delivery:breaker_failures": "1", "delivery:breaker_backoff_ms": "500",
                      "delivery:breaker_backoff_max_ms": "1000", "axis.national:timeout_ms": "60000",
                      "delivery:lease_ms": "62000"},
                     ready=False)
    pid = gw.proc.pid
    t.wait_until(lambda: t.request(gw.port, "GET", "/readyz", token=None).json()["checks"]["database"] == "ok",
                 30, what="database")
    # Warm-up: a first package through the whole path (pools, thread pool, curl, first allocations).
    env.sim.faults()
    r = gw.submit(t.edoc("000.00.12.H49,2024/10/01,1/STC", pad=300000))
    assert r.status == 202, r.body
    warm = r.json()["id"]
    t.wait_until(lambda: pkg(gw, warm)["state"] == "SENT", 30, what="warm-up sent")
    env.sim.faults(http500=1000000, ops=["sendEdoc"])

    body, attachment_sha = big_package("000.00.12.H49,2024/10/01,2/STC")
    r = gw.submit(body)
    assert r.status == 202, r.body
    pkg_id = r.json()["id"]
    t.wait_until(lambda: pkg(gw, pkg_id)["deliveries"][0]["attempts"] >= 1 or
                 env.sim.stats()["requests"]["sendEdoc"] >= 2, 60, what="a refused attempt")
    base = reset_peak(pid)
    t.log("before the send: RSS %.1f MB" % (base / 1e6))
    env.sim.faults()
    doc = t.wait_until(lambda: (lambda d: d if d["state"] == "SENT" else None)(pkg(gw, pkg_id)), 120,
                       what="large package sent")
    rise = status_kb(pid, "VmHWM") - base
    t.log("send of %d bytes: peak RSS rose by %.1f MB" % (len(body), rise / 1e6))

    d = doc["deliveries"][0]
    sent = env.sim.ctl("GET", "/_sim/package?docId=" + d["axis_doc_id"]).body
    assert d["copy_sha256"] == hashlib.sha256(sent).hexdigest() and d["copy_len"] == len(sent)
    entries = [e for e in env.sim.mailbox("000.00.00.G22") if e["docId"] == d["axis_doc_id"]]
    assert entries and entries[0]["sha256"] == d["copy_sha256"], entries
    assert re.sub(TRACE % t.PROVINCE.encode(), b"", sent) == body
    b64 = re.findall(rb"<ContentTransferEncoded>(.*?)</ContentTransferEncoded>", sent, re.S)
    assert [hashlib.sha256(base64.b64decode(x)).hexdigest() for x in b64] == [attachment_sha]
    assert rise < LIMIT, "the send raised peak RSS by %d bytes" % rise


if __name__ == "__main__":
    if sanitized_build():
        print("sanitizer build: RSS is not meaningful, skipped")
        sys.exit(77)
    t.run([test_memory_send])
