#!/usr/bin/env python3
"""QLVBĐH webhook simulator: receives the gateway's pushed events (POST /events), checks the
timestamp and the HMAC-SHA256 signature with Python's hmac (independently of the C code),
deduplicates on event_id, records every raw attempt and every distinct event, and injects
faults. Standard library only; listens on 127.0.0.1 only. See tests/sim/README.md.

    python3 tests/sim/qlvbdh_sim.py --port 0 --port-file PATH --secret TEXT [--log PATH]
                                    [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
"""

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024
SKEW_S = 300
FAULT_KEYS = ("http_status", "count", "delay_ms", "drop", "partial", "wrong_answer",
              "slow_handshake_ms", "then")


def signature(secret, timestamp, body):
    """Lowercase hex HMAC-SHA256(key = secret as UTF-8, timestamp "." body)."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                    hashlib.sha256).hexdigest()


class State:
    def __init__(self, secret, log_path):
        self.secret = secret
        self.log_path = log_path
        self.lock = threading.Lock()
        self.faults = {}
        self.attempts = []  # every POST /events, in arrival order
        self.events = []  # distinct accepted events, in order
        self.seen = {}  # event_id -> index in events
        self.stats = {"attempts": 0, "accepted": 0, "duplicates": 0, "refused": 0,
                      "invalid": 0, "faulted": 0}

    def take_fault(self):
        """The fault for this request (a copy), counting down its count; when the count is spent
        the fault under "then" (if any) comes next."""
        with self.lock:
            f = dict(self.faults)
            if not f:
                return {}
            if "count" in self.faults:
                self.faults["count"] -= 1
                if self.faults["count"] <= 0:
                    self.faults = dict(self.faults.get("then") or {})
            f.pop("then", None)
            return f

    def log(self, rec):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qlvbdh_sim/1"

    def log_message(self, fmt, *args):  # quiet: --log has the JSON lines
        pass

    @property
    def st(self):
        return self.server.state

    def answer(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def do_GET(self):
        st = self.st
        with st.lock:
            if self.path == "/_sim/events":
                return self.answer(200, {"events": list(st.events)})
            if self.path == "/_sim/attempts":
                return self.answer(200, {"attempts": list(st.attempts)})
            if self.path == "/_sim/stats":
                return self.answer(200, dict(st.stats))
        self.answer(404, {"error": "not_found"})

    def do_POST(self):
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.answer(413, {"error": "too_large"})
        if self.path == "/_sim/faults":
            return self.set_faults(body)
        if self.path == "/_sim/reset":
            with self.st.lock:
                self.st.faults = {}
            return self.answer(200, {"ok": True})
        if self.path != "/events":
            return self.answer(404, {"error": "not_found"})
        self.event(body)

    def set_faults(self, body):
        try:
            f = json.loads(body or b"{}")
            g = f
            while g:
                if not isinstance(g, dict) or any(k not in FAULT_KEYS for k in g):
                    raise ValueError("unknown fault")
                g = g.get("then")
        except ValueError as e:
            return self.answer(400, {"error": "bad_fault", "message": str(e)})
        with self.st.lock:
            self.st.faults = f
        self.answer(200, {"faults": f})

    def check(self, body):
        """(status, error code, event) of a request to /events before faults."""
        ts = self.headers.get("X-Gateway-Timestamp", "")
        sig = self.headers.get("X-Gateway-Signature", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > SKEW_S:
            return 401, "bad_timestamp", None
        if not hmac.compare_digest(signature(self.st.secret, ts, body), sig):
            return 401, "bad_signature", None
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return 415, "not_json", None
        try:
            ev = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, "invalid_json", None
        if not isinstance(ev, dict) or not isinstance(ev.get("event_id"), str) or \
                ev.get("kind") not in ("edoc", "status"):
            return 400, "invalid_event", None
        return 200, None, ev

    def event(self, body):
        st = self.st
        status, code, ev = self.check(body)
        fault = st.take_fault() if status == 200 else {}
        rec = {"at": time.time(), "event_id": ev.get("event_id") if ev else None,
               "timestamp": self.headers.get("X-Gateway-Timestamp"), "check": code or "ok",
               "fault": fault or None}
        with st.lock:
            st.stats["attempts"] += 1
            st.attempts.append(rec)
            if status == 401:
                st.stats["refused"] += 1
            elif status != 200:
                st.stats["invalid"] += 1
            elif fault:
                st.stats["faulted"] += 1
        st.log({"op": "event", **rec})
        if status != 200:
            return self.answer(status, {"error": code})
        if fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)
        if fault.get("drop"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.get("partial"):
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"ok":')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.get("http_status"):
            return self.answer(int(fault["http_status"]), {"error": "injected"})
        if fault.get("wrong_answer"):
            w = int(fault["wrong_answer"])
            return self.answer(w, {"error": "wrong_answer"},
                               {"Location": "http://127.0.0.1:9/elsewhere"} if 300 <= w < 400
                               else None)
        with st.lock:
            eid = ev["event_id"]
            if eid in st.seen:
                st.stats["duplicates"] += 1
                dup = True
            else:
                st.seen[eid] = len(st.events)
                st.events.append(ev)
                st.stats["accepted"] += 1
                dup = False
            rec["answered"] = 200
        self.answer(200, {"ok": True, "duplicate": dup})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, tls):
        self.state = state
        self.tls = tls
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        f = dict(self.state.faults)
        if f.get("slow_handshake_ms"):
            time.sleep(f["slow_handshake_ms"] / 1000.0)
        if self.tls:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="QLVBĐH webhook simulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--secret", required=True, help="the shared secret, as text")
    ap.add_argument("--log", help="append one JSON line per event attempt to this file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca", help="require a client certificate issued by this CA")
    args = ap.parse_args(argv)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            ap.error("--tls-cert and --tls-key go together")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            tls.load_verify_locations(args.tls_client_ca)
            tls.verify_mode = ssl.CERT_REQUIRED
    elif args.tls_client_ca:
        ap.error("--tls-client-ca needs --tls-cert and --tls-key")
    srv = Server(("127.0.0.1", args.port), State(args.secret, args.log), tls)
    port = srv.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("qlvbdh_sim listening on %s://127.0.0.1:%d" % ("https" if tls else "http", port),
          flush=True)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
