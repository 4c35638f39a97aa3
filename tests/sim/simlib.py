"""Helpers shared by the loopback simulators in tests/sim (standard library only): reading a
request body (Content-Length or chunked) under a size limit, the port file, the JSON-lines
request log, Vietnam time, a handler that sends every method to one dispatch, and running a
server until SIGTERM/SIGINT."""

import json
import os
import signal
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

VN_TZ = timezone(timedelta(hours=7))


class DispatchHandler(BaseHTTPRequestHandler):
    """A request handler whose every method goes to self.dispatch(), which reads the method
    from self.command."""

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()


class BodyError(Exception):
    """A request body that cannot be read: the HTTP status to answer and why."""

    def __init__(self, http_status, desc):
        super().__init__(desc)
        self.http_status = http_status
        self.desc = desc


def read_body(rfile, headers, max_body):
    """The request body, from Content-Length or a chunked Transfer-Encoding, at most max_body
    bytes; raises BodyError on a malformed, truncated or oversized body."""
    te = (headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        chunks, total = [], 0
        while True:
            line = rfile.readline(65537)
            if not line:
                raise BodyError(400, "truncated chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "bad chunk size")
            if size == 0:
                while True:  # trailers
                    t = rfile.readline(65537)
                    if t in (b"\r\n", b"\n", b""):
                        break
                return b"".join(chunks)
            total += size
            if total > max_body:
                raise BodyError(413, "body too large")
            chunk = rfile.read(size)
            if len(chunk) != size:
                raise BodyError(400, "truncated chunk")
            chunks.append(chunk)
            rfile.readline(3)
    cl = headers.get("Content-Length")
    if cl is None:
        return b""
    try:
        n = int(cl)
    except ValueError:
        raise BodyError(400, "bad Content-Length")
    if n < 0:
        raise BodyError(400, "bad Content-Length")
    if n > max_body:
        raise BodyError(413, "body too large")
    data = rfile.read(n)
    if len(data) != n:
        raise BodyError(400, "truncated body")
    return data


def write_port_file(path, port):
    """Writes the port to path atomically (a temporary file, then a rename)."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


class JsonLog:
    """Appends one compact JSON object per line to a file (no file: does nothing)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else None

    def write(self, rec):
        if self.file is None:
            return
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self.file.write(line + "\n")

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None


def now_utc_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_vn():
    return datetime.now(VN_TZ)


def serve_until_signal(server, banner, stop=None):
    """Serves in a thread, prints banner once serving, returns 0 after SIGTERM or SIGINT (which
    set stop, an Event the server's handlers may wait on)."""
    stop = stop or threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="serve", daemon=True)
    t.start()
    print(banner, flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0
