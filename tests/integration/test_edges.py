"""Edges shared by anonymous and authenticated clients: a body sent outside /v1/ is refused on the
request head and never charged to the shared body budget, and /metrics is served from a snapshot
that costs at most one database query a second however often it is scraped."""

import math
import socket
import time

import gwtest as t


def read_response(s, timeout=5):
    s.settimeout(timeout)
    raw = b""
    try:
        while b"\r\n\r\n" not in raw:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    except socket.timeout:
        pass
    return raw


def test_body_outside_v1_refused_on_head(env):
    # Room for two partial 480 kB bodies, not for a third request's body as well.
    gw = env.gateway({"server:max_inflight_body_bytes": "1000000", "server:max_body_bytes": "500000"})
    socks = []
    try:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 480000\r\n\r\n")
            try:
                s.sendall(b"a" * 470000)  # never completed
            except OSError:
                pass  # refused on the head and closed: the rest is not wanted
            socks.append(s)
        # While both stay open, an authenticated submit still has the whole budget.
        r = gw.submit(t.edoc("000.00.12.H49,2024/09/04,1/STC", pad=60000))
        assert r.status == 202, (r.status, r.body)
        for s in socks:
            raw = read_response(s)
            assert raw.startswith(b"HTTP/1.1 413 "), raw[:200]
            assert b'"code":"body_not_allowed"' in raw, raw[:400]
    finally:
        for s in socks:
            s.close()
    # GET with a body, and a chunked body, are refused the same way; without a body all is well.
    for head in (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                 b"POST /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"):
        raw = t.raw_exchange(gw.port, head)
        assert raw.startswith(b"HTTP/1.1 413 ") and b"body_not_allowed" in raw, raw[:300]
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200
    assert t.request(gw.port, "POST", "/healthz", token=None, body=b"").status == 200
    assert gw.stop() == 0  # SIGTERM: a clean drain (and the leak check of sanitizer builds)


def backlog_queries(env):
    with open(env.pg.dir + "/log", errors="replace") as f:
        return sum(1 for line in f if "state <> 'SENT'" in line and ("statement:" in line or "execute" in line))


def scrape(gw):
    r = t.request(gw.port, "GET", "/metrics", token=None)
    assert r.status == 200, r.body
    return r.body.decode()


def test_metrics_snapshot(env):
    env.pg.query("ALTER DATABASE gateway SET log_statement = 'all'")
    gw = env.gateway()
    first = scrape(gw)
    assert "gateway_backlog_ok 1\n" in first and "gateway_up 1\n" in first, first
    t.wait_until(lambda: backlog_queries(env) >= 1, 10, what="the first backlog query in the log")
    before = backlog_queries(env)
    started = time.monotonic()
    for _ in range(3):
        t.parallel(10, lambda i: scrape(gw))
    elapsed = time.monotonic() - started
    queries = backlog_queries(env) - before
    # 30 scrapes; refreshes start at least a second apart.
    assert queries <= math.floor(elapsed) + 1, (queries, elapsed)
    # The snapshot does get refreshed: a change shows within about a second.
    r = gw.submit(t.edoc("000.00.12.H49,2024/09/04,2/STC"))
    assert r.status == 202, r.body
    t.wait_until(lambda: "gateway_submit_created_total 1\n" in scrape(gw), 5, what="refreshed snapshot")
    ready = t.request(gw.port, "GET", "/readyz", token=None).json()
    assert ready["ready"] and ready["checks"]["axes"][0]["name"] == "national", ready
    assert gw.stop() == 0


if __name__ == "__main__":
    t.run([test_body_outside_v1_refused_on_head, test_metrics_snapshot])
