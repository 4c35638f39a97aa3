#!/usr/bin/env python3
"""Self-test of the national axis simulator. Run:
    python3 -m unittest tests/sim/test_axis_sim.py -v      (or: python3 tests/sim/test_axis_sim.py)
"""

import base64
import hashlib
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import client as sim  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "fixtures", "edxml")
H49 = "000.00.00.H49"
STC_H49 = "000.00.12.H49"
G22 = "000.00.00.G22"

SYSTEMS = [
    {"systemid": "gw-h49", "secret_b64": base64.b64encode(b"gateway-h49-secret").decode(),
     "organ_ids": [H49, STC_H49]},
    {"systemid": "vpcp", "secret_b64": base64.b64encode(b"vpcp secret \x00\xff").decode(),
     "organ_ids": [G22]},
    {"systemid": "h44", "secret_b64": base64.b64encode(b"h44").decode(),
     "organ_ids": ["000.00.24.H44", "000.46.24.H44"]},
]


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def edoc(doc_number, to=(G22, H49), sender=STC_H49):
    """A small edXML package with a unique DocumentId."""
    tos = "".join("<To><OrganId>%s</OrganId></To>" % t for t in to)
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>%s</OrganId><OrganName>Sở Tài chính</OrganName></From>%s
<DocumentId>%s,2024/05/15,%s/STC-NS</DocumentId><Subject>Trích yếu số %s</Subject>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>""" % (
        sender, tos, sender, doc_number, doc_number)).encode("utf-8")


class AxisSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.logdir = tempfile.TemporaryDirectory(prefix="axis_sim_test.")
        cls.log_path = os.path.join(cls.logdir.name, "sim.log")
        cls.proc = sim.SimProcess(SYSTEMS, log_path=cls.log_path).start()
        cls.ctl = cls.proc.control
        cls.gw = cls.proc.client("gw-h49")
        cls.vpcp = cls.proc.client("vpcp")
        cls.h44 = cls.proc.client("h44")

    @classmethod
    def tearDownClass(cls):
        rc = cls.proc.stop()
        cls.logdir.cleanup()
        assert rc == 0, "simulator exit code %r after SIGTERM" % rc

    def setUp(self):
        self.ctl.reset()

    # -- helpers ------------------------------------------------------------------------------

    def assertOK(self, res):
        status, body = res
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "OK", body)
        self.assertEqual(body["ErrorCode"], "0", body)
        return body

    def assertFail(self, res, code):
        status, body = res
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "FAIL", body)
        self.assertEqual(body["ErrorCode"], code, body)
        return body

    def send(self, client, pkg, mt="edoc"):
        return self.assertOK(client.send_edoc(pkg, mt))["DocId"]

    def listed(self, client, mt="edoc"):
        return [d["docId"] for d in self.assertOK(client.received_list(mt))["data"]]

    # -- authentication -----------------------------------------------------------------------

    def test_auth_rejections(self):
        secret = SYSTEMS[0]["secret_b64"]
        h = sim.sign_headers("gw-h49", secret, {"messagetype": "edoc"})
        # valid
        self.assertOK(self.gw.call("getReceivedEdocList", headers=h))
        # bad HMAC (wrong secret)
        bad = sim.sign_headers("gw-h49", base64.b64encode(b"wrong").decode(),
                               {"messagetype": "edoc"})
        self.assertFail(self.gw.call("getReceivedEdocList", headers=bad), "401")
        # uppercase hex is not the canonical form
        up = dict(h)
        up["XroadVnpt-hash-header"] = h["XroadVnpt-hash-header"].upper()
        self.assertFail(self.gw.call("getReceivedEdocList", headers=up), "401")
        # unknown system
        unk = sim.sign_headers("nobody", secret, {"messagetype": "edoc"})
        self.assertFail(self.gw.call("getReceivedEdocList", headers=unk), "404")
        # from differs from systemid (correctly signed)
        frm = sim.sign_headers("gw-h49", secret, {"from": "vpcp", "messagetype": "edoc"})
        self.assertFail(self.gw.call("getReceivedEdocList", headers=frm), "403")
        # a signed value differs from the header actually sent
        tampered = dict(h)
        tampered["XroadVnpt-messagetype"] = "status"
        self.assertFail(self.gw.call("getReceivedEdocList", headers=tampered), "402")
        # listed key absent from sign-header
        listed = dict(h)
        listed["XroadVnpt-sign-header-key"] += ";docId"
        self.assertFail(self.gw.call("getReceivedEdocList", headers=listed), "402")
        # an operation parameter that is not signed
        unsigned = sim.sign_headers("gw-h49", secret, {})
        unsigned["XroadVnpt-messagetype"] = "edoc"
        self.assertFail(self.gw.call("getReceivedEdocList", headers=unsigned), "402")
        # missing header
        missing = dict(h)
        del missing["XroadVnpt-version"]
        self.assertFail(self.gw.call("getReceivedEdocList", headers=missing), "400")
        # key order and whitespace in sign-header do not matter (HMAC is over the exact bytes)
        fields = json.loads(h["XroadVnpt-sign-header"])
        alt = json.dumps(dict(reversed(list(fields.items()))), separators=(", ", ": "))
        h2 = dict(h)
        h2["XroadVnpt-sign-header"] = alt
        h2["XroadVnpt-hash-header"] = sim.hmac_hex(secret, alt)
        self.assertOK(self.gw.call("getReceivedEdocList", headers=h2))
        st = self.ctl.stats()
        self.assertEqual(st["auth_fail"], 8)
        self.assertEqual(st["requests"]["getReceivedEdocList"], 10)

    def test_timestamp_format(self):
        from datetime import datetime
        ts = sim.format_timestamp(datetime(2024, 5, 15, 9, 30, 0, 123000))
        self.assertEqual(ts, "15052024T093000+0123")

    # -- routing ------------------------------------------------------------------------------

    def test_send_list_get_ack_two_recipients(self):
        pkg = fixture("edoc_basic.xml")
        doc = self.send(self.gw, pkg)
        # both recipients see it
        self.assertEqual(self.listed(self.vpcp), [doc])
        self.assertEqual(self.listed(self.gw), [doc])
        self.assertEqual(self.listed(self.vpcp, "status"), [])
        item = self.assertOK(self.vpcp.received_list())["data"][0]
        self.assertEqual(item["from"], STC_H49)
        self.assertEqual(item["to"], G22)
        for k in ("status", "status_desc", "created_time", "updated_time"):
            self.assertIn(k, item)
        # exact bytes
        self.assertEqual(self.vpcp.get_edoc_bytes(doc), pkg)
        self.assertEqual(self.ctl.package(doc), pkg)
        # a system that is not a recipient cannot fetch it
        self.assertFail(self.h44.get_edoc(doc), "404")
        self.assertFail(self.h44.update_status(doc, "done"), "404")
        # vpcp acks: gone for vpcp, still listed for gw
        self.assertOK(self.vpcp.update_status(doc, "done"))
        self.assertEqual(self.listed(self.vpcp), [])
        self.assertEqual(self.listed(self.gw), [doc])
        self.assertOK(self.vpcp.update_status(doc, "done"))  # acking twice is fine
        # fail leaves it listed
        self.assertOK(self.gw.update_status(doc, "fail"))
        self.assertEqual(self.listed(self.gw), [doc])
        self.assertEqual(self.assertOK(self.gw.received_list())["data"][0]["status"], "fail")
        # sender view
        sent = self.assertOK(self.gw.sent_list(doc))["data"]
        self.assertEqual({(d["to"], d["acked"]) for d in sent}, {(G22, True), (H49, False)})
        self.assertFail(self.vpcp.sent_list(doc), "404")
        self.assertOK(self.gw.update_status(doc, "done"))
        self.assertEqual(self.listed(self.gw), [])
        # getEdoc still works after ack
        self.assertEqual(self.gw.get_edoc_bytes(doc), pkg)
        # control view
        box = self.ctl.mailbox(G22)
        self.assertEqual(len(box), 1)
        self.assertEqual(box[0]["docId"], doc)
        self.assertTrue(box[0]["acked"])
        self.assertEqual(box[0]["messagetype"], "edoc")
        self.assertEqual(box[0]["from"], STC_H49)
        self.assertEqual(box[0]["sha256"], hashlib.sha256(pkg).hexdigest())
        self.assertIn("received_at", box[0])
        st = self.ctl.stats()
        self.assertEqual(st["sendEdoc_ok"], 1)
        self.assertEqual(st["acks_done"], 3)
        self.assertEqual(st["acks_fail"], 1)
        self.assertEqual(st["sent_by_document_id"],
                         {"000.00.12.H49,2024/05/15,1234/STC-NS": 1})

    def test_status_routes_to_response_for(self):
        doc = self.send(self.vpcp, fixture("status_03.xml"), "status")
        self.assertEqual(self.listed(self.gw, "status"), [doc])
        self.assertEqual(self.listed(self.gw, "edoc"), [])
        self.assertEqual(self.listed(self.vpcp, "status"), [])
        box = self.ctl.mailbox(STC_H49)
        self.assertEqual([(e["docId"], e["messagetype"]) for e in box], [(doc, "status")])
        self.assertEqual(self.ctl.stats()["sent_by_document_id"],
                         {"000.00.12.H49,2024/05/15,1234/STC-NS": 1})
        self.assertOK(self.gw.update_status(doc, "done"))
        self.assertEqual(self.listed(self.gw, "status"), [])

    def test_prefixed_package_and_base_prefix(self):
        pkg = fixture("edoc_prefixed.xml")
        prefixed = sim.AxisClient(self.proc.url + "/vxp/api/v1", "vpcp",
                                  SYSTEMS[1]["secret_b64"])
        doc = self.assertOK(prefixed.send_edoc(pkg))["DocId"]
        self.assertEqual(self.listed(self.gw), [doc])
        self.assertEqual(self.ctl.mailbox(G22), [])
        self.assertEqual(self.ctl.stats()["sent_by_document_id"],
                         {"000.00.00.G22,2015/09/30,7816/VPCP-TTĐT": 1})

    def test_bad_packages(self):
        self.assertFail(self.gw.send_edoc(b"<edXML><oops"), "22")
        self.assertFail(self.gw.send_edoc(b""), "22")
        # elements outside the QCVN namespace do not count as recipients
        nons = b"<edXML><edXMLEnvelope><edXMLHeader><MessageHeader><To><OrganId>X</OrganId>" \
               b"</To></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"
        self.assertFail(self.gw.send_edoc(nons), "22")
        self.assertFail(self.gw.send_edoc(edoc(1, to=())), "22")
        # an edoc has no ResponseFor: as a status package it has no recipient
        self.assertFail(self.gw.send_edoc(fixture("edoc_basic.xml"), "status"), "22")
        self.assertFail(self.gw.send_edoc(edoc(1), "other"), "400")
        st = self.ctl.stats()
        self.assertEqual(st["sendEdoc_fail"], 6)
        self.assertEqual(st["sendEdoc_ok"], 0)
        self.assertEqual(st["packages"], 0)

    def test_unknown_recipient_gets_mailbox(self):
        doc = self.send(self.gw, edoc(7, to=("000.99.99.Z99",)))
        self.assertEqual([e["docId"] for e in self.ctl.mailbox("000.99.99.Z99")], [doc])
        self.ctl.add_system("late", base64.b64encode(b"late").decode(), ["000.99.99.Z99"])
        late = sim.AxisClient(self.proc.url, "late", base64.b64encode(b"late").decode())
        self.assertEqual(self.listed(late), [doc])

    def test_agencies(self):
        data = self.assertOK(self.gw.agencies())["data"]
        by_id = {d["id"]: d for d in data}
        self.assertEqual(set(by_id), {H49, STC_H49, G22, "000.00.24.H44", "000.46.24.H44"})
        self.assertEqual(by_id["000.46.24.H44"]["pid"], "000.00.24.H44")
        self.assertEqual(by_id[STC_H49]["pid"], H49)
        for d in data:
            self.assertEqual(set(d), {"id", "code", "pid", "name", "mail"})

    # -- control API --------------------------------------------------------------------------

    def test_inject_and_stats(self):
        pkg = fixture("edoc_prefixed.xml")
        doc = self.ctl.inject(H49, pkg, "edoc", from_organ=G22)
        self.assertEqual(self.listed(self.gw), [doc])
        self.assertEqual(self.gw.get_edoc_bytes(doc), pkg)
        sdoc = self.ctl.inject(STC_H49, fixture("status_03.xml"), "status")
        self.assertEqual(self.listed(self.gw, "status"), [sdoc])
        self.assertEqual(self.ctl.mailbox(STC_H49)[0]["from"], G22)  # taken from the package
        # broken bytes can be injected too (to test the gateway's handling)
        bdoc = self.ctl.inject(H49, b"\x00not xml", "edoc")
        self.assertEqual(self.listed(self.gw), [doc, bdoc])
        st = self.ctl.stats()
        self.assertEqual(st["injected"], 3)
        self.assertEqual(st["sendEdoc_ok"], 0)
        self.assertEqual(st["sent_by_document_id"], {})  # injected packages are not "sent"
        self.assertEqual(st["requests"]["getReceivedEdocList"], 3)
        self.assertEqual(st["requests"]["getEdoc"], 1)
        self.ctl.reset()
        self.assertEqual(self.ctl.mailbox(H49), [])
        self.assertEqual(self.ctl.stats()["injected"], 0)

    def test_list_cap_and_fifo(self):
        docs = [self.ctl.inject(H49 if i % 2 else STC_H49, edoc(i)) for i in range(130)]
        first = self.listed(self.gw)
        self.assertEqual(first, docs[:100])
        for d in first:
            self.assertOK(self.gw.update_status(d, "done"))
        self.assertEqual(self.listed(self.gw), docs[100:])

    # -- faults -------------------------------------------------------------------------------

    def test_fault_http500_with_ops_filter(self):
        self.ctl.faults(http500=2, ops=["sendEdoc"])
        self.assertOK(self.gw.received_list())  # not filtered in
        for _ in range(2):
            status, body = self.gw.send_edoc(edoc(1))
            self.assertEqual(status, 500)
        self.assertEqual(self.ctl.stats()["packages"], 0)  # not processed
        self.send(self.gw, edoc(1))
        st = self.ctl.stats()
        self.assertEqual(st["faults_injected"], 2)
        self.assertEqual(st["faults_by_kind"]["http500"], 2)
        self.assertEqual(st["sent_by_document_id"], {"000.00.12.H49,2024/05/15,1/STC-NS": 1})

    def test_fault_http500_after_store(self):
        self.ctl.faults(http500_after_store=1)
        status, _ = self.gw.send_edoc(edoc(5))
        self.assertEqual(status, 500)
        self.assertEqual(len(self.ctl.mailbox(G22)), 1)  # stored despite the 500
        self.send(self.gw, edoc(5))  # a naive retry stores it a second time
        st = self.ctl.stats()
        self.assertEqual(st["sent_by_document_id"], {"000.00.12.H49,2024/05/15,5/STC-NS": 2})
        self.assertEqual(st["sendEdoc_stored"], 2)
        self.assertEqual(st["sendEdoc_ok"], 1)
        self.assertEqual(st["faults_by_kind"]["http500_after_store"], 1)

    def test_fault_drop(self):
        self.ctl.faults(drop=1, ops=["getEdoc", "sendEdoc"])
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.gw.send_edoc(edoc(2))
        self.assertEqual(self.ctl.stats()["packages"], 0)
        self.send(self.gw, edoc(2))
        self.assertEqual(self.ctl.stats()["faults_by_kind"]["drop"], 1)

    def test_fault_timeout(self):
        self.ctl.faults(timeout=1, timeout_ms=400)
        t0 = time.monotonic()
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.gw.received_list()
        self.assertGreaterEqual(time.monotonic() - t0, 0.35)
        # a client with a shorter timeout gives up first
        self.ctl.faults(timeout=1, timeout_ms=3000)
        quick = sim.AxisClient(self.proc.url, "gw-h49", SYSTEMS[0]["secret_b64"], timeout=0.3)
        with self.assertRaises(OSError):  # socket.timeout is an OSError
            quick.send_edoc(edoc(3))
        self.assertEqual(self.ctl.stats()["packages"], 0)
        self.assertEqual(self.ctl.stats()["faults_by_kind"]["timeout"], 2)

    def test_fault_latency(self):
        self.ctl.faults(latency_ms=250, ops=["getReceivedEdocList"])
        t0 = time.monotonic()
        self.assertOK(self.gw.received_list())
        self.assertGreaterEqual(time.monotonic() - t0, 0.24)
        t0 = time.monotonic()
        self.assertOK(self.gw.agencies())
        self.assertLess(time.monotonic() - t0, 0.2)
        self.ctl.clear_faults()
        t0 = time.monotonic()
        self.assertOK(self.gw.received_list())
        self.assertLess(time.monotonic() - t0, 0.2)

    def test_fault_duplicate_list(self):
        a = self.send(self.vpcp, edoc(1, to=(H49,)))
        b = self.send(self.vpcp, edoc(2, to=(H49,)))
        self.ctl.faults(duplicate_list=1)
        self.assertEqual(sorted(self.listed(self.gw)), sorted([a, a, b, b]))
        self.assertEqual(self.listed(self.gw), [a, b])
        self.assertEqual(self.ctl.stats()["faults_by_kind"]["duplicate_list"], 1)

    def test_fault_fail_rate(self):
        self.ctl.faults(fail_rate=0.5, seed=1, ops=["getAgenciesList"])
        codes = [self.gw.agencies()[0] for _ in range(40)]
        self.assertIn(500, codes)
        self.assertIn(200, codes)
        self.ctl.faults(fail_rate=0.5, seed=1, ops=["getAgenciesList"])
        again = [self.gw.agencies()[0] for _ in range(40)]
        self.assertEqual(codes, again)  # seeded: reproducible
        st = self.ctl.stats()
        self.assertEqual(st["faults_by_kind"]["fail_rate"], 2 * codes.count(500))
        self.assertEqual(st["faults_by_kind"]["http500"], 0)
        self.ctl.faults(clear=True)
        self.assertEqual({self.gw.agencies()[0] for _ in range(10)}, {200})

    def test_fault_config_errors_and_rules(self):
        with self.assertRaises(RuntimeError):
            self.ctl.faults(http5000=1)
        with self.assertRaises(RuntimeError):
            self.ctl.faults(http500=1, ops=["nope"])
        # several rules with different filters at once
        self.ctl._json("POST", "faults", {"rules": [
            {"http500": 1, "ops": ["getEdoc"]},
            {"duplicate_list": 1},
        ]})
        self.assertEqual(len(self.ctl._json("GET", "faults")["faults"]), 2)
        self.ctl.faults()
        self.assertEqual(self.ctl._json("GET", "faults")["faults"], [])

    # -- load ---------------------------------------------------------------------------------

    def test_concurrent_load(self):
        n = 300

        def one(i):
            return self.gw.send_edoc(edoc(1000 + i, to=(G22,)))

        with ThreadPoolExecutor(max_workers=64) as ex:
            results = list(ex.map(one, range(n)))
        ids = [self.assertOK(r)["DocId"] for r in results]
        self.assertEqual(len(set(ids)), n)
        st = self.ctl.stats()
        self.assertEqual(st["sendEdoc_ok"], n)
        self.assertEqual(len(st["sent_by_document_id"]), n)
        self.assertTrue(all(v == 1 for v in st["sent_by_document_id"].values()))
        # drain concurrently, the way a poller with several workers would
        seen = []
        lock = threading.Lock()
        while True:
            batch = self.listed(self.vpcp)
            if not batch:
                break

            def fetch_ack(d):
                self.vpcp.get_edoc_bytes(d)
                self.assertOK(self.vpcp.update_status(d, "done"))
                with lock:
                    seen.append(d)

            with ThreadPoolExecutor(max_workers=32) as ex:
                list(ex.map(fetch_ack, batch))
        self.assertEqual(sorted(seen), sorted(ids))

    def test_keep_alive_and_many_connections(self):
        # one persistent connection carries several calls, including an injected 500
        self.ctl.faults(http500=1, ops=["getAgenciesList"])
        conn = http.client.HTTPConnection("127.0.0.1", self.proc.port, timeout=5)
        statuses = []
        for _ in range(3):
            conn.request("POST", "/getAgenciesList",
                         headers=sim.sign_headers("gw-h49", SYSTEMS[0]["secret_b64"], {}))
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
        conn.close()
        self.assertEqual(statuses, [500, 200, 200])
        # 400 simultaneous connections held open by slow (latency) requests
        self.ctl.faults(latency_ms=300, ops=["getReceivedEdocList"])
        with ThreadPoolExecutor(max_workers=400) as ex:
            res = list(ex.map(lambda _: self.gw.received_list(), range(400)))
        self.assertTrue(all(r[0] == 200 for r in res))

    def test_log_file(self):
        self.assertOK(self.gw.agencies())
        with open(self.log_path, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f]
        self.assertTrue(any(r.get("op") == "getAgenciesList" for r in lines))


if __name__ == "__main__":
    unittest.main(verbosity=2)
