"""Starter for the REST v2.2 provincial axis simulator (tests/sim/lgsp_rest_sim.py), like gwtest.Sim
for the national one: start on an ephemeral port, control API, stop. Standard library only."""

import base64
import json
import os
import subprocess
import sys
import urllib.parse

import gwtest as t

SIM = os.path.join(t.SRC, "tests/sim/lgsp_rest_sim.py")
SECRET = "rest-secret-for-tests"
USERNAME = "gw"
PASSWORD = "pw-for-tests"
APP_CODE = "QLVB"


def system(systemid, organ_ids, secret=SECRET, username=USERNAME, password=PASSWORD):
    return {"systemid": systemid, "secret": secret, "username": username, "password": password,
            "application_code": APP_CODE, "organ_ids": list(organ_ids)}


class RestSim:
    def __init__(self, root, systems, encoding="raw", token_lifetime_s=1800, args=(), ssl_context=None):
        """args: more command line (--tls-cert/--tls-key: the simulator speaks HTTPS, and
        ssl_context is the tests' client context for its control API)."""
        os.makedirs(root, exist_ok=True)
        self.spec = os.path.join(root, "rest-spec.json")
        with open(self.spec, "w") as f:
            json.dump({"systems": systems, "token_lifetime_s": token_lifetime_s,
                       "edxml_encoding": encoding}, f)
        self.port_file = os.path.join(root, "rest-sim.port")
        self.log = open(os.path.join(root, "rest-sim.log"), "w")
        self.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--port-file", self.port_file,
                                      "--spec", self.spec, "--log", os.path.join(root, "rest-sim.jsonl")]
                                     + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.scheme = "https" if "--tls-cert" in args else "http"
        self.ssl_context = ssl_context
        self.port = int(t.wait_until(lambda: self._port(), 20, what="REST simulator port"))

    def _port(self):
        if self.proc.poll() is not None:
            raise AssertionError("REST simulator exited with %s" % self.proc.returncode)
        return t._read(self.port_file)

    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def ctl(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        r = t.request(self.port, method, path, body=data, token=None,
                      headers={"Content-Type": "application/json"} if data else None,
                      ssl_context=self.ssl_context)
        if r.status != 200:
            raise AssertionError("REST sim %s %s -> %d %r" % (method, path, r.status, r.body[:200]))
        return r.json()

    def faults(self, **kw):
        return self.ctl("POST", "/_sim/faults", kw)

    def stats(self):
        return self.ctl("GET", "/_sim/stats")

    def calls(self, op):
        return self.stats()["calls"].get(op, 0)

    def mailbox(self, organ):
        items = self.ctl("GET", "/_sim/mailbox/" + urllib.parse.quote(organ, safe=""))["items"]
        for i in items:
            i["edxml"] = base64.b64decode(i["edxml_b64"])
        return items

    def inject(self, to, sender, data, message_type="edoc", created=None):
        req = {"to": to, "from": sender, "messageType": message_type,
               "edxml_b64": base64.b64encode(data).decode()}
        if created:
            req["created"] = created
        return self.ctl("POST", "/_sim/inject", req)["docId"]

    def close(self):
        t.stop_process(self.proc, self.log)


def axis_config(name, sim, directory_file, **extra):
    """gwtest.Gateway extra keys for an [axis.NAME] on the REST simulator."""
    kv = {"adapter": "lgsp_rest", "base_url": sim.url(), "systemid": t.GW_SYSTEMID, "secret": SECRET,
          "username": USERNAME, "password": PASSWORD, "application_code": APP_CODE,
          "directory_file": directory_file, "role": "provincial", "poll_interval_ms": "300",
          "timeout_ms": "2000"}
    kv.update(extra)
    return {"axis.%s:%s" % (name, k): v for k, v in kv.items()}
