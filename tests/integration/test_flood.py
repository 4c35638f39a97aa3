"""The northbound listener holds load under a connection flood (issue 10, item 6): with
max_connections 200 and max_connections_per_address 100, a flood of idle connections and of
slow ones (a request head sent a byte at a time, never finished) keeps more connections open than
either limit, from 127.0.0.2 and then from QLVBĐH's own address 127.0.0.1, while QLVBĐH submits
packages both over a keep-alive connection (as the flood goes on) and over new connections
(between two waves of the flood): every submission is accepted and stored, the flood's
connections are closed by eviction (gateway_http_evictions_total), nothing is refused, and the
gateway still answers /healthz. The header and idle timeouts are set far beyond the test's length,
so only eviction can free a slot: without eviction the first new connection after the flood
gets 503 too_many_connections."""

import http.client
import json
import re
import select
import socket
import threading

import gwtest as t

MAX_CONN = 200
PER_ADDR = 100
TARGET = 250  # flood connections kept open at once: more than both limits
WAVE = 110    # more flood connections allowed before each submission (the test stays short)
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 2000  # never ends


class Flood(threading.Thread):
    """Keeps TARGET connections from src open (every other one slow), opening a new one for each
    the server closes while it has allowance left; paused, it opens none but keeps trickling."""

    def __init__(self, port, src):
        super().__init__(daemon=True)
        self.port, self.src = port, src
        self.socks = {}  # fileno -> [socket, slow, bytes sent]
        self.opened = self.closed_by_server = self.answered = 0
        self.allowance = TARGET
        self.errors = []
        self.run_ev, self.paused, self.halt = threading.Event(), threading.Event(), threading.Event()
        self.run_ev.set()

    def _open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind((self.src, 0))
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        self.socks[s.fileno()] = [s, self.opened % 2 == 1, 0]
        self.opened += 1

    def _gone(self, fd, answered):
        s = self.socks.pop(fd)[0]
        s.close()
        if answered:
            self.answered += 1
        else:
            self.closed_by_server += 1

    def run(self):
        try:
            while not self.halt.is_set():
                if self.run_ev.is_set():
                    while len(self.socks) < TARGET and self.opened < self.allowance:
                        self._open()
                else:
                    self.paused.set()
                for fd, (s, slow, sent) in list(self.socks.items()):
                    if slow and sent < len(SLOW_HEAD):
                        try:
                            self.socks[fd][2] += s.send(SLOW_HEAD[sent:sent + 1])
                        except BlockingIOError:
                            pass
                        except OSError:
                            self._gone(fd, False)
                p = select.poll()
                for fd in self.socks:
                    p.register(fd, select.POLLIN)
                for fd, _ in p.poll(10):
                    if fd not in self.socks:
                        continue
                    try:
                        data = self.socks[fd][0].recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    self._gone(fd, bool(data))
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
            self.paused.set()

    def wave(self):
        """Allows WAVE more connections and returns at once."""
        self.allowance += WAVE

    def wave_done(self):
        return self.opened >= self.allowance or self.errors

    def pause(self):
        self.paused.clear()
        self.run_ev.clear()
        assert self.paused.wait(30), "flood thread did not pause"

    def resume(self):
        self.run_ev.set()

    def stop(self):
        self.halt.set()
        self.join(30)
        for s, _, _ in self.socks.values():
            s.close()
        self.socks.clear()
        assert not self.errors, self.errors


def metric(text, name, **labels):
    want = name + ("{%s}" % ",".join('%s="%s"' % kv for kv in labels.items()) if labels else "")
    m = re.search(r"^%s (\S+)$" % re.escape(want), text, re.M)
    assert m, (want, text[-2000:])
    return float(m.group(1))


def scrape(gw):
    """/metrics, a snapshot at most a second old."""
    r = t.request(gw.port, "GET", "/metrics", token=None)
    assert r.status == 200, r.body
    return r.body.decode()


def evictions(gw):
    text = scrape(gw)
    return sum(metric(text, "gateway_http_evictions_total", limit=lim, victim="no_head")
               for lim in ("max_connections", "max_connections_per_address"))


class KeepAlive:
    """QLVBĐH's keep-alive connection from 127.0.0.1: a server that closes it fails the test."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                               source_address=("127.0.0.1", 0))
        self.sock_before = None

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + t.TOKEN, "Content-Type": "application/xml"}
        self.conn.request(method, path, body=body, headers=h)
        if self.sock_before is not None:
            assert self.conn.sock is self.sock_before, "keep-alive connection was reopened"
        self.sock_before = self.conn.sock
        r = self.conn.getresponse()
        return r.status, r.read(), r.getheader("Connection")

    def close(self):
        self.conn.close()


def flood_run(env, gw, src, first, n=6):
    """One run: the flood from src while QLVBĐH submits n packages; returns their ids and how
    many flood connections the server closed."""
    ka = KeepAlive(gw.port)
    status, body, _ = ka.call("GET", "/healthz")  # open before the flood starts
    assert status == 200, body
    flood = Flood(gw.port, src)
    flood.start()
    ids = []
    try:
        for i in range(n):
            doc = t.edoc("000.00.12.H49,2024/12/03,%d/FLOOD" % (first + i))
            flood.wave()
            if i % 2 == 0:  # on the keep-alive connection, while a wave of the flood comes in
                status, body, conn_hdr = ka.call("POST", "/v1/packages", doc)
                assert conn_hdr != "close", conn_hdr
            else:  # a new connection, made once a wave of the flood has come in
                t.wait_until(flood.wave_done, 60, what="a wave of the flood")
                flood.pause()
                r = gw.submit(doc)
                status, body = r.status, r.body
                flood.resume()
            assert 200 <= status < 300, (src, i, status, body)
            ids.append(json.loads(body)["id"])
        t.wait_until(flood.wave_done, 60, what="the whole flood")
        flood.pause()
        t.wait_until(lambda: len(flood.socks) <= PER_ADDR, 30, what="the flood held to its address's limit")
    finally:
        flood.stop()
        ka.close()
    assert flood.answered == 0, "a flood connection got an answer (503?) instead of being evicted"
    t.log("%s: %d flood connections opened, %d closed by the server" %
          (src, flood.opened, flood.closed_by_server))
    assert flood.closed_by_server >= flood.opened - PER_ADDR, (flood.opened, flood.closed_by_server)
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200
    return ids, flood.closed_by_server


def test_flood(env):
    gw = env.gateway({"server:max_connections": str(MAX_CONN),
                      "server:max_connections_per_address": str(PER_ADDR),
                      "server:header_timeout_ms": "600000", "server:idle_timeout_ms": "600000"})
    ids, closed = flood_run(env, gw, "127.0.0.2", 1)
    # the connections the server closed were evicted (the snapshot catches up within a second)
    t.wait_until(lambda: evictions(gw) >= closed, 10, what="%d evictions counted" % closed)
    more, closed2 = flood_run(env, gw, "127.0.0.1", 100)
    ids += more
    t.wait_until(lambda: evictions(gw) >= closed + closed2, 10,
                 what="%d evictions counted" % (closed + closed2))
    text = scrape(gw)
    t.log("evictions: %s" % re.findall(r"^gateway_http_(?:evictions|refused)_total\S* \S+$", text, re.M))
    for lim in ("max_connections", "max_connections_per_address"):
        assert metric(text, "gateway_http_refused_total", limit=lim) == 0, text
    stored = env.pg.query("SELECT count(*) FROM package WHERE id IN (%s)" % ",".join(map(str, ids)))
    assert stored == str(len(ids)), (stored, ids)
    # the flood is gone: its slots are free again
    t.wait_until(lambda: metric(scrape(gw), "gateway_http_connections") <= 2, 30, what="flood closed")
    assert gw.stop() == 0


if __name__ == "__main__":
    t.run([test_flood])
