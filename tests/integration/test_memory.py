"""Bounded memory for large packages, both directions of issue 6's Must-show:
- northbound: submitting a package with a 50 MB attachment (random bytes, base64 in the package)
  and reading it back from the content endpoint each raise gatewayd's peak resident set (VmHWM)
  by less than 32 MB, since the body is streamed through the parser into stored chunks and
  served back chunk by chunk;
- from the axis: the same kind of package injected into the simulator's mailbox is fetched by
  the poller (getEdoc's JSON answer, the package in base64, parsed as a stream and decoded into
  the ingest) and then read by QLVBĐH from the content endpoint; the fetch and the read each
  raise VmHWM by less than 32 MB.
The packages are built here with os.urandom and Python's base64; what comes back is compared
with hashlib.

Skipped (77) for sanitizer builds, whose shadow memory and quarantine make RSS meaningless.
Run alone:  GW_BUILD_DIR=build python3 tests/integration/test_memory.py"""

import base64
import hashlib
import http.client
import os
import re
import sys

import gwtest as t

LIMIT = 32 * 1024 * 1024
ATTACHMENT = 50 * 1000 * 1000


sanitized_build = t.sanitized_build


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux: 5 > clear_refs); returns the baseline to compare
    the next peak with: the RSS now, or the old peak when the reset is not allowed."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return status_kb(pid, "VmRSS")
    except OSError:
        return status_kb(pid, "VmHWM")


def big_package(document_id):
    payload = os.urandom(ATTACHMENT)
    b64 = base64.b64encode(payload)
    template = t.edoc(document_id, pad=0)
    small = base64.b64encode(b"%PDF-1.4\n")
    assert template.count(small) == 1
    return template.replace(small, b64), hashlib.sha256(payload).hexdigest()


def test_memory_northbound(env):
    gw = env.gateway({"server:max_body_bytes": str(80 * 1024 * 1024), "server:body_timeout_ms": "120000",
                      "axis.national:enabled": "false"}, ready=False)
    pid = gw.proc.pid
    t.wait_until(lambda: t.request(gw.port, "GET", "/readyz", token=None).json()["checks"]["database"] == "ok",
                 30, what="database")
    # Warm-up: pools, thread pool, first allocations.
    r = gw.submit(t.edoc("000.00.12.H49,2024/10/01,1/STC", pad=300000))
    assert r.status == 202, r.body
    assert gw.get("/v1/packages/%d/content" % r.json()["id"]).status == 200

    body, attachment_sha = big_package("000.00.12.H49,2024/10/01,2/STC")
    start = status_kb(pid, "VmHWM")  # the whole run's peak so far (start-up, warm-up)
    base = reset_peak(pid)
    t.log("before: RSS %.1f MB, peak so far %.1f MB" % (base / 1e6, start / 1e6))
    r = gw.submit(body)
    assert r.status == 202, r.body
    rise_in = status_kb(pid, "VmHWM") - base
    t.log("submit of %d bytes: peak RSS rose by %.1f MB" % (len(body), rise_in / 1e6))
    pkg_id = r.json()["id"]
    info = gw.get("/v1/packages/%d" % pkg_id).json()
    assert info["size"] == len(body) and info["sha256"] == hashlib.sha256(body).hexdigest()
    assert len(info["attachments"]) == 1, info["attachments"]
    att = info["attachments"][0]
    assert att["size"] == ATTACHMENT and att["sha256"] == attachment_sha, att
    assert body[att["b64_offset"]:att["b64_offset"] + att["b64_len"]] == base64.b64encode(
        base64.b64decode(body[att["b64_offset"]:att["b64_offset"] + att["b64_len"]]))
    chunks = env.pg.query("SELECT count(*) FROM body_chunk c JOIN package p ON p.body_id = c.body_id"
                          " WHERE p.id = %d" % pkg_id)
    assert int(chunks) > 100, chunks  # stored in chunks, not as one value

    base = reset_peak(pid)
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=120)
    conn.request("GET", "/v1/packages/%d/content" % pkg_id, headers={"Authorization": "Bearer " + t.TOKEN})
    resp = conn.getresponse()
    assert resp.status == 200 and int(resp.getheader("content-length")) == len(body)
    h = hashlib.sha256()
    n = 0
    while True:
        piece = resp.read(1 << 20)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    conn.close()
    rise_out = status_kb(pid, "VmHWM") - base
    t.log("content of %d bytes: peak RSS rose by %.1f MB" % (n, rise_out / 1e6))
    assert n == len(body) and h.hexdigest() == hashlib.sha256(body).hexdigest()
    peak = status_kb(pid, "VmRSS")
    t.log("after: RSS %.1f MB" % (peak / 1e6))
    assert rise_in < LIMIT, "submit raised peak RSS by %d bytes" % rise_in
    assert rise_out < LIMIT, "content raised peak RSS by %d bytes" % rise_out


def read_content(gw, pkg_id):
    """Streams GET /v1/packages/{id}/content; returns (bytes read, sha256 hex)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=120)
    conn.request("GET", "/v1/packages/%d/content" % pkg_id, headers={"Authorization": "Bearer " + t.TOKEN})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    length = int(resp.getheader("content-length"))
    h = hashlib.sha256()
    n = 0
    while True:
        piece = resp.read(1 << 20)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    conn.close()
    assert n == length, (n, length)
    return n, h.hexdigest()


def test_memory_from_axis(env):
    sender = "000.00.00.G22"
    gw = env.gateway({"axis.national:max_package_bytes": str(80 * 1024 * 1024),
                      "axis.national:timeout_ms": "120000", "delivery:lease_ms": "240000"})
    pid = gw.proc.pid

    def acked(doc):
        return {e["docId"]: e for e in env.sim.mailbox(t.PROVINCE)}[doc]["acked"]

    def package_id(document_id):
        return int(env.pg.query("SELECT id FROM package WHERE document_id = '%s'" % document_id))

    # Warm-up: a first fetch, store and read (pools, thread pool, first allocations).
    warm_id = "000.00.00.G22,2024/10/02,1/VPCP"
    warm = env.sim.inject(t.PROVINCE, t.edoc(warm_id, to=(t.PROVINCE,), sender=sender, pad=300000))
    t.wait_until(lambda: acked(warm), 60, what="the warm-up package fetched")
    assert gw.get("/v1/packages/%d/content" % package_id(warm_id)).status == 200

    document_id = "000.00.00.G22,2024/10/02,2/VPCP"
    payload = os.urandom(ATTACHMENT)
    attachment_sha = hashlib.sha256(payload).hexdigest()
    template = t.edoc(document_id, to=(t.PROVINCE,), sender=sender)
    small = base64.b64encode(b"%PDF-1.4\n")
    assert template.count(small) == 1
    body = template.replace(small, base64.b64encode(payload))
    del payload
    body_sha = hashlib.sha256(body).hexdigest()
    start = status_kb(pid, "VmHWM")
    base = reset_peak(pid)
    t.log("before: RSS %.1f MB, peak so far %.1f MB" % (base / 1e6, start / 1e6))
    doc = env.sim.inject(t.PROVINCE, body)
    t.wait_until(lambda: acked(doc), 240, interval=0.5, what="the 50 MB package fetched, stored and acked")
    rise_fetch = status_kb(pid, "VmHWM") - base
    t.log("fetch of %d bytes (getEdoc answer of about %d): peak RSS rose by %.1f MB"
          % (len(body), len(body) * 4 // 3, rise_fetch / 1e6))
    pkg_id = package_id(document_id)
    info = gw.get("/v1/packages/%d" % pkg_id).json()
    assert info["size"] == len(body) and info["sha256"] == body_sha, (info["size"], info["sha256"])
    assert len(info["attachments"]) == 1, info["attachments"]
    att = info["attachments"][0]
    assert att["size"] == ATTACHMENT and att["sha256"] == attachment_sha, att
    chunks = env.pg.query("SELECT count(*) FROM body_chunk c JOIN package p ON p.body_id = c.body_id"
                          " WHERE p.id = %d" % pkg_id)
    assert int(chunks) > 100, chunks  # stored in chunks, not as one value

    base = reset_peak(pid)
    n, digest = read_content(gw, pkg_id)
    rise_read = status_kb(pid, "VmHWM") - base
    t.log("content of %d bytes: peak RSS rose by %.1f MB" % (n, rise_read / 1e6))
    assert n == len(body) and digest == body_sha
    t.log("after: RSS %.1f MB" % (status_kb(pid, "VmRSS") / 1e6))
    assert rise_fetch < LIMIT, "the fetch raised peak RSS by %d bytes" % rise_fetch
    assert rise_read < LIMIT, "the content raised peak RSS by %d bytes" % rise_read


if __name__ == "__main__":
    if sanitized_build():
        print("sanitizer build: RSS is not meaningful, skipped")
        sys.exit(77)
    t.run([test_memory_northbound, test_memory_from_axis])
