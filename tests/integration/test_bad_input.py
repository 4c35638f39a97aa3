"""Bad input on the northbound API: each case gets a JSON error with a stable code, nothing is
stored for it, and gatewayd keeps serving other clients."""

import json
import socket
import time

import gwtest as t


def expect_error(r, status, code):
    assert r.status == status, (r.status, r.body)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    err = r.json()["error"]
    assert err["code"] == code and err["message"], err


def parse_raw(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body.decode()) if body else None


def nothing_stored(env):
    assert env.pg.query("SELECT count(*) FROM package") == "0"
    assert env.pg.query("SELECT count(*) FROM package_body") == "0"
    # Staged chunks of refused or aborted uploads are discarded (asynchronously, just after the
    # answer).
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM body") == "0", 5, what="staged bodies discarded")


def still_serving(gw):
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200


def test_auth(env):
    gw = env.gateway()
    body = t.edoc("000.00.12.H49,2024/05/15,2/STC")
    expect_error(gw.submit(body, token=None), 401, "unauthorized")
    expect_error(gw.submit(body, token="wrong-token"), 401, "unauthorized")
    expect_error(t.request(gw.port, "GET", "/v1/inbox", headers={"Authorization": "Basic abc"}, token=None),
                 401, "unauthorized")
    # Refused on its head: no body byte is read (nor buffered) for an unauthenticated client.
    head = (b"POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n"
            b"Expect: 100-continue\r\n\r\n")
    status, body = parse_raw(t.raw_exchange(gw.port, head))
    assert status == 401 and body["error"]["code"] == "unauthorized", body
    expect_error(gw.get("/v1/nothing-here"), 404, "not_found")
    expect_error(gw.get("/v1/packages"), 405, "method_not_allowed")
    expect_error(gw.get("/v1/packages/123456"), 404, "not_found")
    expect_error(gw.get("/v1/inbox?limit=100000"), 400, "invalid_argument")
    expect_error(gw.get("/v1/inbox?after=" + "9" * 40), 400, "invalid_argument")
    nothing_stored(env)
    still_serving(gw)


def test_sender_restriction(env):
    import hashlib
    gw = env.gateway({"client.agency:token_sha256": hashlib.sha256(b"agency-token").hexdigest(),
                      "client.agency:organ_id": t.AGENCY})
    ok = gw.submit(t.edoc("000.00.12.H49,2024/05/15,9/STC"), token="agency-token")
    assert ok.status == 202, ok.body
    expect_error(gw.submit(t.edoc("000.00.13.H49,2024/05/15,9/SXD", sender="000.00.13.H49"),
                           token="agency-token"), 403, "forbidden_sender")
    expect_error(gw.submit(t.status_pkg("000.00.00.G22,2024/05/10,5/VPCP", "000.00.00.G22", sender="000.00.13.H49"),
                           token="agency-token"), 403, "forbidden_sender")
    assert env.pg.query("SELECT count(*) FROM package") == "1"


def test_bad_packages(env):
    gw = env.gateway()
    expect_error(gw.submit(b"<edXML><unclosed>"), 400, "malformed")
    expect_error(gw.submit(b""), 400, "empty_body")
    expect_error(gw.submit(b"<html xmlns='x'><body/></html>"), 422, "not_edxml")
    no_rcpt = t.edoc("000.00.12.H49,2024/05/15,3/STC", to=())
    expect_error(gw.submit(no_rcpt), 422, "no_recipient")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&b;</edXML>')
    r = gw.submit(bomb)
    assert r.status in (400, 422), r.body
    nothing_stored(env)
    still_serving(gw)


def test_business_doc_type_out_of_range(env):
    """A BussinessDocType the SQL smallint cannot hold is the package's fault: a 4xx with a stable
    code, every time, nothing stored; the service keeps serving."""
    gw = env.gateway()
    for bdt in (40000, 32768, 100000):
        body = t.edoc("000.00.12.H49,2024/05/15,11/STC", bdt=bdt)
        codes = set()
        for _ in range(2):
            r = gw.submit(body)
            assert 400 <= r.status < 500, (bdt, r.status, r.body)
            err = r.json()["error"]
            assert err["code"] and err["message"], err
            codes.add((r.status, err["code"]))
        assert len(codes) == 1, codes
    nothing_stored(env)
    still_serving(gw)
    ok = gw.submit(t.edoc("000.00.12.H49,2024/05/15,11/STC", bdt=1))
    assert ok.status == 202, ok.body


def test_http_limits(env):
    gw = env.gateway()
    # Malformed request line.
    status, body = parse_raw(t.raw_exchange(gw.port, b"NOT HTTP AT ALL\r\n\r\n"))
    assert status == 400 and body["error"]["code"] == "malformed_http", body
    # Oversized headers (limit 8 KiB in the test configuration).
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    status, body = parse_raw(t.raw_exchange(gw.port, big))
    assert status == 431 and body["error"]["code"] == "headers_too_large", body
    # Oversized body by Content-Length (limit 1 MiB).
    head = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Length: %d\r\n\r\n" % (t.TOKEN, 5 * 1024 * 1024)).encode()
    status, body = parse_raw(t.raw_exchange(gw.port, head))
    assert status == 413 and body["error"]["code"] == "payload_too_large", body
    # Oversized chunked body (a package that parses well until the limit: the body is streamed
    # into the parser, so bytes it refuses would be answered by that refusal first).
    pkg = t.edoc("000.00.12.H49,2024/05/15,8/STC", pad=1200000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(pkg[i:i + 600000]), pkg[i:i + 600000])
                      for i in range(0, len(pkg), 600000))
    req = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" % t.TOKEN).encode() + chunks + b"0\r\n\r\n"
    status, body = parse_raw(t.raw_exchange(gw.port, req))
    assert status == 413, body
    # Garbage streamed: refused as soon as the parser sees it.
    chunk = b"%x\r\n%s\r\n" % (600000, b"a" * 600000)
    req = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" % t.TOKEN).encode() + chunk + chunk + b"0\r\n\r\n"
    status, body = parse_raw(t.raw_exchange(gw.port, req))
    assert status == 400 and body["error"]["code"] == "malformed", body
    # An empty chunked body is empty_body, as an empty one of Content-Length 0 is (before:
    # malformed, the reader's empty document).
    req = ("POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % t.TOKEN).encode()
    status, body = parse_raw(t.raw_exchange(gw.port, req))
    assert status == 400 and body["error"]["code"] == "empty_body", body
    # Slow client: half a request head, then silence; the header timeout (2 s) answers 408.
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=15)
    s.sendall(b"POST /v1/packages HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    other = t.request(gw.port, "GET", "/healthz", token=None)  # others are served meanwhile
    assert other.status == 200
    raw = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        raw += chunk
    s.close()
    status, body = parse_raw(raw)
    assert status == 408 and body["error"]["code"] == "request_timeout", body
    assert time.monotonic() - started < 14
    nothing_stored(env)
    still_serving(gw)


def test_idempotent_submission(env):
    gw = env.gateway()
    body = t.edoc("000.00.12.H49,2024/05/15,4/STC")
    first = gw.submit(body)
    assert first.status == 202, first.body
    again = gw.submit(body)
    assert again.status == 202 and again.json()["id"] == first.json()["id"] and again.json()["duplicate"]
    other = gw.submit(t.edoc("000.00.12.H49,2024/05/15,4/STC", subject="Nội dung khác"))
    expect_error(other, 409, "conflict")
    # Concurrent identical submissions: one package.
    body2 = t.edoc("000.00.12.H49,2024/05/15,5/STC")
    ids = t.parallel(8, lambda i: gw.submit(body2).json()["id"])
    assert len(set(ids)) == 1, ids
    assert env.pg.query("SELECT count(*) FROM package") == "2"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENT'") == "2", 20,
                 what="both sent")
    stats = env.sim.stats()["sent_by_document_id"]
    assert stats.get("000.00.12.H49,2024/05/15,4/STC") == 1 and stats.get("000.00.12.H49,2024/05/15,5/STC") == 1


if __name__ == "__main__":
    t.run([test_auth, test_sender_restriction, test_bad_packages, test_business_doc_type_out_of_range,
           test_http_limits, test_idempotent_submission])
