"""Helpers of the push tests: the QLVBĐH webhook simulator (tests/sim/qlvbdh_sim.py) started in
a test's Env, the [push] settings that point a gateway at it, and read-outs of push state."""

import hashlib
import hmac
import json
import os
import subprocess
import sys

import gwtest as t

QLVBDH_SIM = os.path.join(t.SRC, "tests/sim/qlvbdh_sim.py")
SECRET = "qlvbdh-webhook-secret-ü-42"


class Webhook:
    """The QLVBĐH webhook simulator on 127.0.0.1, stopped with the Env (register with close)."""

    def __init__(self, env, secret=SECRET, args=(), ssl_context=None):
        """args: more command line (--tls-cert/--tls-key: HTTPS, and ssl_context is the tests'
        client context for its control API)."""
        self.secret = secret
        self.scheme = "https" if "--tls-cert" in args else "http"
        self.ssl_context = ssl_context
        self.port_file = os.path.join(env.root, "qlvbdh.port")
        self.log = open(os.path.join(env.root, "qlvbdh.log"), "w")
        self.proc = subprocess.Popen([sys.executable, QLVBDH_SIM, "--port", "0", "--port-file",
                                      self.port_file, "--secret", secret] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(t.wait_until(lambda: t._read(self.port_file), 20, what="webhook port"))

    def url(self):
        return "%s://127.0.0.1:%d/events" % (self.scheme, self.port)

    def ctl(self, method, path, body=None):
        r = t.request(self.port, method, path, body=None if body is None else json.dumps(body).encode(),
                      token=None, ssl_context=self.ssl_context)
        assert r.status == 200, (method, path, r.status, r.body[:200])
        return r.json()

    def faults(self, **kw):
        return self.ctl("POST", "/_sim/faults", kw)

    def events(self):
        return self.ctl("GET", "/_sim/events")["events"]

    def attempts(self):
        return self.ctl("GET", "/_sim/attempts")["attempts"]

    def stats(self):
        return self.ctl("GET", "/_sim/stats")

    def close(self):
        t.stop_process(self.proc, self.log)


def config(hook, **over):
    """Gateway `extra` settings for a [push] to hook with small timings (a test runs in seconds)."""
    kv = {"url": hook.url(), "secret": hook.secret, "insecure": "true",
          "content_base_url": "https://gateway.example.vn", "timeout_ms": "500",
          "max_inflight": "4", "batch": "8", "scan_interval_ms": "100", "lease_ms": "2000",
          "backoff_base_ms": "100", "backoff_max_ms": "400", "give_up_after_s": "3600"}
    kv.update({k: str(v) for k, v in over.items()})
    extra = {"push:" + k: v for k, v in kv.items()}
    # The webhook's breaker reopens quickly in tests.
    extra.update({"delivery:breaker_backoff_ms": "200", "delivery:breaker_backoff_max_ms": "500"})
    return extra


def pushes(env):
    """{package_id: (state, event_id, attempts, sent_at epoch or None)} of every push row."""
    rows = env.pg.rows("SELECT package_id, state, event_id, attempts,"
                       " coalesce(extract(epoch FROM sent_at)::text, '') FROM push ORDER BY id")
    return {int(r[0]): (r[1], r[2], int(r[3]), float(r[4]) if r[4] else None) for r in rows}


def incoming_ids(env):
    return [int(r[0]) for r in env.pg.rows("SELECT id FROM package WHERE direction = 'in' ORDER BY id")]


def signature(secret, ts, body):
    return hmac.new(secret.encode("utf-8"), ts.encode() + b"." + body, hashlib.sha256).hexdigest()


def metric(gw, line_start):
    """The value of one /metrics series, or None (gwtest.metric)."""
    return t.metric(gw, line_start)


def assert_secret_not_logged(env, secret=SECRET):
    for gw in env.gateways:
        text = gw.tail(10 ** 7)
        assert secret not in text, "the push secret appears in %s's log" % gw.name


def run(tests):
    """Runs test functions taking (env, hook), each in its own Env with its own webhook."""
    for fn in tests:
        t.log("running " + fn.__name__)
        with t.Env() as env:
            hook = Webhook(env)
            try:
                fn(env, hook)
            finally:
                hook.close()
        t.log("passed " + fn.__name__)
    print("%d passed, 0 failed" % len(tests))
