#!/usr/bin/env python3
"""Self-test of the national axis simulator. Run:
    python3 -m unittest tests/sim/test_axis_sim.py -v      (or: python3 tests/sim/test_axis_sim.py)
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import client as sim  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "fixtures", "edxml")
H49 = "000.00.00.H49"
STC_H49 = "000.00.12.H49"
G22 = "000.00.00.G22"

# Secrets are the text as issued (44 characters that look like base64), used as characters.
GW_SECRET = "q3Vh0aQ2mR8xZ1n4b7T9c2E5f8H1j4K7m0P3s6V9y2A="
SYSTEMS = [
    {"systemid": "gw-h49", "secret": GW_SECRET, "organ_ids": [H49, STC_H49]},
    {"systemid": "vpcp", "secret": "Khóa bí mật vpcp", "organ_ids": [G22]},
    {"systemid": "h44", "secret_b64": "aDQ0", "organ_ids": ["000.00.24.H44", "000.46.24.H44"]},
    {"systemid": "000.00.00.H41", "secret": "TEST-ONLY-secret-not-a-real-key", "organ_ids": []},
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

    def signed(self, op="getReceivedEdocList", params=None, secret=GW_SECRET, systemid="gw-h49",
               content_type="application/json", body=b""):
        if params is None:
            params = sim.call_params(op, systemid, {"messagetype": "edoc"}, body)
        return sim.sign_headers(systemid, secret, params, content_type=content_type)

    def test_worked_example_of_domain_md(self):
        """domain.md 5, verbatim: the simulator accepts exactly these headers."""
        sh = ('{"XroadVnpt-systemid":"000.00.00.H41","XroadVnpt-servicetype":"eDoc",'
              '"XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"28092018T172511+0123",'
              '"XroadVnpt-Content-Type":"application/json"}')
        mac = "0930375de28ac64c40ae8aeb86cc6e7b8e46442720651ecc79f848bfe3162597"
        h = {"XroadVnpt-systemid": "000.00.00.H41", "XroadVnpt-servicetype": "eDoc",
             "XroadVnpt-messagetype": "edoc", "XroadVnpt-timestamp": "28092018T172511+0123",
             "XroadVnpt-Content-Type": "application/json", "Content-Type": "application/json",
             "XroadVnpt-sign-header": sh,
             "XroadVnpt-sign-header-key": "systemid;servicetype;messagetype;timestamp;Content-Type",
             "XroadVnpt-hash-header": mac, "XroadVnpt-version": "3.0.201608"}
        # the independent computations agree with the document
        self.assertEqual(hmac.new(b"TEST-ONLY-secret-not-a-real-key", sh.encode(),
                                  hashlib.sha256).hexdigest(), mac)
        mine = sim.sign_headers("000.00.00.H41", "TEST-ONLY-secret-not-a-real-key",
                                [("servicetype", "eDoc"), ("messagetype", "edoc")],
                                timestamp="28092018T172511+0123")
        for k, v in h.items():
            self.assertEqual(mine[k], v, k)
        h41 = self.proc.client("000.00.00.H41")
        self.assertOK(h41.call("getReceivedEdocList", headers=h))
        bad = dict(h, **{"XroadVnpt-hash-header": mac[:-1] + "8"})
        self.assertEqual(self.assertFail(h41.call("getReceivedEdocList", headers=bad), "401")
                         ["ErrorDesc"], "hash-header does not match")

    def test_java_hashmap_order(self):
        # Expected values printed by Java 17 (String.hashCode(), HashMap<String,String>.keySet()
        # after put() in this order)
        self.assertEqual(sim.java_string_hash("systemid"), 1976086410)
        self.assertEqual(sim.java_string_hash("servicetype") - (1 << 32), -1927416977)
        self.assertEqual(sim.java_string_hash("Tên"), 88088)
        self.assertEqual(sim.hashmap_order(["timestamp", "systemid", "Content-Type", "from",
                                            "servicetype", "messagetype", "hash-file"]),
                         ["systemid", "servicetype", "messagetype", "hash-file", "from",
                          "timestamp", "Content-Type"])
        self.assertEqual(sim.hashmap_order(["timestamp", "systemid", "Content-Type", "docId",
                                            "status"]),
                         ["systemid", "docId", "timestamp", "Content-Type", "status"])
        thirteen = ["timestamp", "systemid", "Content-Type"] + ["k%02d" % i for i in range(1, 11)]
        self.assertEqual(";".join(sim.hashmap_order(thirteen)),
                         "systemid;k10;k02;k01;k04;k03;k06;k05;k08;k07;k09;timestamp;Content-Type")
        twelve = ["timestamp", "systemid", "Content-Type", "Tên"] + ["k%02d" % i
                                                                    for i in range(2, 10)]
        self.assertEqual(";".join(sim.hashmap_order(twelve)),
                         "k06;k05;systemid;k08;k07;k09;Tên;k02;k04;timestamp;Content-Type;k03")
        # SHA-256("abc") = ba7816bf 8f01cfea ... b00361a3 ... f20015ad (FIPS 180-2 example):
        # 0x01, 0x03 and 0x00 lose their leading zero.
        self.assertEqual(sim.hash_file_hex(b"abc"),
                         "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad")
        self.assertEqual(sim.hash_file_hex(b""),
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        self.assertEqual(sim.format_timestamp(datetime(2018, 9, 28, 10, 25, 11, 123000,
                                                       tzinfo=timezone.utc)),
                         "28092018T172511+0123")

    def test_auth_rejections(self):
        h = self.signed()
        call = lambda hh, op="getReceivedEdocList", wire=b"": self.gw.call(op, headers=hh,
                                                                          wire=wire)
        self.assertOK(call(h))
        # wrong secret; the base64-decoded secret as key (the old misreading) is wrong too
        for key in ("wrong", base64.b64decode(GW_SECRET).decode("latin-1")):
            d = self.assertFail(call(self.signed(secret=key)), "401")
            self.assertEqual(d["ErrorDesc"], "hash-header does not match")
        up = dict(h, **{"XroadVnpt-hash-header": h["XroadVnpt-hash-header"].upper()})
        self.assertFail(call(up), "401")
        # the unprefixed members of the old misreading, correctly HMACed: refused
        fields = {"from": "gw-h49", "systemid": "gw-h49", "timestamp": sim.format_timestamp(),
                  "servicetype": "eDoc", "messagetype": "edoc"}
        old = json.dumps(fields, separators=(",", ":"))
        oldh = {"XroadVnpt-" + k: v for k, v in fields.items()}
        oldh.update({"XroadVnpt-sign-header": old, "XroadVnpt-version": "3.0.201608",
                     "XroadVnpt-sign-header-key": ";".join(fields),
                     "XroadVnpt-hash-header": sim.hmac_hex(GW_SECRET, old)})
        self.assertIn("is not named XroadVnpt-", self.assertFail(call(oldh), "402")["ErrorDesc"])
        # unknown system
        self.assertFail(call(self.signed(systemid="nobody")), "404")
        # from differs from systemid (correctly signed)
        body = edoc(1)
        frm = self.signed("sendEdoc", sim.call_params("sendEdoc", "gw-h49",
                                                      {"messagetype": "edoc", "from": "vpcp"},
                                                      body), content_type="application/octet-stream")
        d = self.assertFail(call(frm, "sendEdoc", body + b"\r\n"), "403")
        self.assertEqual(d["ErrorDesc"], "Don vi gui vpcp khong dung voi ma da dang ky: gw-h49")
        # a signed value differs from the header actually sent
        self.assertFail(call(dict(h, **{"XroadVnpt-messagetype": "status"})), "402")
        self.assertFail(call(dict(h, **{"Content-Type": "text/plain"})), "402")
        # sign-header-key: an extra key, a missing key, another order
        keys = h["XroadVnpt-sign-header-key"]
        self.assertFail(call(dict(h, **{"XroadVnpt-sign-header-key": keys + ";docId"})), "402")
        self.assertFail(call(dict(h, **{"XroadVnpt-sign-header-key": keys.rsplit(";", 1)[0]})),
                        "402")
        self.assertFail(call(dict(h, **{"XroadVnpt-sign-header-key":
                                        ";".join(reversed(keys.split(";")))})), "402")
        # an operation parameter that is not signed
        unsigned = self.signed(params=[("servicetype", "eDoc")])
        unsigned["XroadVnpt-messagetype"] = "edoc"
        self.assertIn("lacks XroadVnpt-messagetype",
                      self.assertFail(call(unsigned), "402")["ErrorDesc"])
        # missing header
        missing = dict(h)
        del missing["XroadVnpt-version"]
        self.assertFail(call(missing), "400")
        # a timestamp in another format, correctly signed
        iso = sim.sign_headers("gw-h49", GW_SECRET, [("servicetype", "eDoc"),
                                                     ("messagetype", "edoc")],
                               timestamp="2018-09-28T17:25:11+07:00")
        self.assertFail(call(iso), "405")
        # member order and spacing do not matter beyond the HMAC: the axis HMACs what it got
        members = json.loads(h["XroadVnpt-sign-header"], object_pairs_hook=list)
        alt = json.dumps(dict(reversed(members)), separators=(", ", ": "))
        h2 = dict(h, **{"XroadVnpt-sign-header": alt,
                        "XroadVnpt-sign-header-key": ";".join(k[10:] for k, _ in reversed(members)),
                        "XroadVnpt-hash-header": sim.hmac_hex(GW_SECRET, alt)})
        self.assertOK(call(h2))
        st = self.ctl.stats()
        self.assertEqual(st["auth_fail"], 14)
        self.assertEqual(st["requests"]["getReceivedEdocList"], 15)

    def test_bodies_content_type_and_hash_file(self):
        pkg = next(p for p in (edoc(i) for i in range(9, 99))  # a digest with a byte < 0x10
                   if len(sim.hash_file_hex(p)) < 64)
        sh = lambda body, **v: self.signed("sendEdoc", sim.call_params(
            "sendEdoc", "gw-h49", dict({"messagetype": "edoc"}, **v), body),
            content_type="application/octet-stream")
        # the edXML without CRLF is refused; CRLF is not part of what is stored or hashed
        self.assertFail(self.gw.call("sendEdoc", headers=sh(pkg), wire=pkg), "400")
        self.assertFail(self.gw.call("sendEdoc", headers=sh(pkg + b"\r\n"),
                                     wire=pkg + b"\r\n"), "23")
        # a zero-padded hex digest is not the SDK's hash-file
        padded = hashlib.sha256(pkg).hexdigest()
        self.assertEqual(self.assertFail(self.gw.call(
            "sendEdoc", headers=sh(pkg, **{"hash-file": padded}), wire=pkg + b"\r\n"), "23")
            ["ErrorDesc"], "hash-file does not match the file")
        doc = self.assertOK(self.gw.call("sendEdoc", headers=sh(pkg), wire=pkg + b"\r\n"))["DocId"]
        self.assertEqual(self.ctl.package(doc), pkg)
        # sendEdoc signed as application/json is refused
        js = self.signed("sendEdoc", sim.call_params("sendEdoc", "gw-h49", {"messagetype": "edoc"},
                                                     pkg))
        self.assertFail(self.gw.call("sendEdoc", headers=js, wire=pkg + b"\r\n"), "400")
        # getEdoc and updateStatus carry {}; lists carry nothing
        g = self.signed("getEdoc", [("docId", doc)])
        self.assertFail(self.gw.call("getEdoc", headers=g, wire=b""), "400")
        self.assertOK(self.gw.call("getEdoc", headers=g, wire=b"{}"))
        self.assertFail(self.gw.call("getReceivedEdocList", headers=self.signed(), wire=b"{}"),
                        "400")
        # docid spelled in lower case is accepted when serving
        low = self.signed("updateStatus", [("docid", doc), ("status", "done")])
        self.assertOK(self.gw.call("updateStatus", headers=low, wire=b"{}"))
        self.assertEqual(self.listed(self.gw), [])

    def test_non_ascii_values_and_secret(self):
        # vpcp's secret is non-ASCII text: its UTF-8 bytes are the key; a non-ASCII signed value
        # travels raw in the header and in sign-header
        h = sim.sign_headers("vpcp", SYSTEMS[1]["secret"], [("servicetype", "eDoc"),
                                                            ("messagetype", "edoc"),
                                                            ("note", "Văn thư Sở")])
        self.assertIn('"XroadVnpt-note":"Văn thư Sở"', h["XroadVnpt-sign-header"])
        self.assertOK(self.vpcp.call("getReceivedEdocList", headers=h))
        self.assertEqual(self.vpcp.received_list()[1]["status"], "OK")

    def test_refuse_credentials_control(self):
        self.assertOK(self.gw.received_list())
        self.ctl.refuse_credentials()
        for res in (self.gw.received_list(), self.gw.send_edoc(edoc(3)), self.vpcp.agencies()):
            d = self.assertFail(res, "401")
            self.assertEqual(d["ErrorDesc"], "hash-header does not match")
        self.ctl.refuse_credentials("from", ops=["sendEdoc"])
        self.assertOK(self.gw.received_list())
        self.assertEqual(self.assertFail(self.gw.send_edoc(edoc(3)), "403")["ErrorDesc"],
                         "Don vi gui gw-h49 khong dung voi ma da dang ky: gw-h49")
        self.ctl.refuse_credentials("http401")
        self.assertEqual(self.gw.received_list()[0], 401)
        self.ctl.refuse_credentials("http403")
        self.assertEqual(self.gw.received_list()[0], 403)
        st = self.ctl.stats()
        self.assertEqual(st["credentials_refused"], 6)
        self.assertEqual(st["packages"], 0)
        self.assertTrue(self.ctl._json("GET", "credentials")["refusing"])
        self.ctl.restore_credentials()
        self.assertFalse(self.ctl._json("GET", "credentials")["refusing"])
        self.assertOK(self.gw.send_edoc(edoc(3)))
        # a rotated secret is a genuine HMAC mismatch until the client has the new one
        self.ctl.add_system("gw-h49", "x" * 44)
        self.assertFail(self.gw.received_list(), "401")
        self.assertOK(self.proc.client("gw-h49", "x" * 44).received_list())
        self.ctl.add_system("gw-h49", GW_SECRET)
        self.assertEqual(len(self.listed(self.gw)), 1)  # organ ids were kept

    def test_cli_secret_and_refusal_flags(self):
        with tempfile.TemporaryDirectory() as d:
            spec = os.path.join(d, "spec.json")
            port = os.path.join(d, "port")
            with open(spec, "w") as f:
                json.dump({"systems": [{"systemid": "s1", "secret": "old", "organ_ids": []}]}, f)
            key = "A" * 43 + "="
            p = subprocess.Popen([sys.executable, sim.SIM_PATH, "--port", "0", "--port-file", port,
                                  "--systems", spec, "--secret", "s1=" + key,
                                  "--refuse-credentials", "fail"], stdout=subprocess.PIPE,
                                 text=True)
            try:
                p.stdout.readline()
                with open(port) as f:
                    url = "http://127.0.0.1:%d" % int(f.read())
                c = sim.AxisClient(url, "s1", key)
                self.assertEqual(c.agencies()[1]["ErrorDesc"], "hash-header does not match")
                sim.SimControl(url).restore_credentials()
                self.assertEqual(c.agencies()[1]["status"], "OK")
                self.assertEqual(sim.AxisClient(url, "s1", "old").agencies()[1]["ErrorCode"], "401")
            finally:
                p.terminate()
                p.wait(10)
                p.stdout.close()
            bad = subprocess.run([sys.executable, sim.SIM_PATH, "--systems", spec, "--secret",
                                  "nobody=x"], capture_output=True, text=True)
            self.assertEqual(bad.returncode, 2)

    def test_timestamp_format(self):
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

    def test_getedoc_shapes(self):
        """The getEdoc answer in each configured shape is the same JSON to a JSON parser: member
        order, wrapped base64 with escaped CRLFs, escaped '/', data followed by FAIL."""
        pkg = fixture("edoc_basic.xml") + b"<!--" + b"???" * 100 + b"x" * 5000 + b"-->"
        doc = self.send(self.gw, pkg)

        def raw():
            h = self.signed("getEdoc", [("docId", doc)])
            status, body = sim._request(self.gw.base_url, "POST", "/getEdoc", b"{}", h, 10)
            self.assertEqual(status, 200)
            return body

        plain = raw()
        self.assertTrue(plain.startswith(b'{"status":"OK"'))
        self.assertEqual(base64.b64decode(json.loads(plain)["data"]), pkg)
        self.ctl.getedoc(order="data_first")
        first = raw()
        self.assertTrue(first.startswith(b'{"data":"'))
        self.assertEqual(json.loads(first), json.loads(plain))
        self.ctl.getedoc(wrap=76, escape_slash=True)
        wrapped = raw()
        text = json.loads(wrapped)["data"]
        self.assertIn(b"\\r\\n", wrapped)
        self.assertEqual(max(len(line) for line in text.split("\r\n")), 76)
        self.assertIn(b"\\/", wrapped)
        self.assertEqual(base64.b64decode(text.replace("\r\n", "")), pkg)
        self.ctl.getedoc(fail_after_data=1)
        failed = json.loads(raw())
        self.assertEqual(list(failed)[0], "data")
        self.assertEqual(failed["status"], "FAIL")
        self.assertEqual(base64.b64decode(failed["data"]), pkg)
        self.assertEqual(json.loads(raw())["status"], "OK")  # the count is spent
        with self.assertRaises(RuntimeError):
            self.ctl.getedoc(order="sideways")
        self.ctl.getedoc()

    def test_large_package_both_ways(self):
        """A 50 MB package: sendEdoc (hash-file checked) and a getEdoc answer of ~67 MB, written
        in slices, that decodes to the same bytes (checked with hashlib)."""
        pkg = fixture("edoc_basic.xml") + b"<!--" + b"abcdefghij" * (5 * 1024 * 1024) + b"-->"
        doc = self.send(self.gw, pkg)
        self.ctl.getedoc(wrap=76)
        got = self.vpcp.get_edoc_bytes(doc)
        self.ctl.getedoc()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(pkg).hexdigest())

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
        prefixed = sim.AxisClient(self.proc.url + "/vxp/api/v1", "vpcp", SYSTEMS[1]["secret"])
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
        self.ctl.add_system("late", "late", ["000.99.99.Z99"])
        late = sim.AxisClient(self.proc.url, "late", "late")
        self.assertEqual(self.listed(late), [doc])

    def test_agencies(self):
        self.assertEqual(self.assertOK(self.gw.agencies())["data"], [])  # no directory by default
        self.ctl._json("POST", "directory", {"from_spec": True})
        try:
            data = self.assertOK(self.gw.agencies())["data"]
        finally:
            self.ctl._json("POST", "directory", {"clear": True})
        by_id = {d["id"]: d for d in data}
        self.assertEqual(set(by_id), {H49, STC_H49, G22, "000.00.24.H44", "000.46.24.H44"})
        self.assertEqual(by_id["000.46.24.H44"]["pid"], "000.00.24.H44")
        self.assertEqual(by_id[STC_H49]["pid"], H49)
        for d in data:
            self.assertEqual(set(d), {"id", "code", "pid", "name", "mail"})

    def test_directory_lists(self):
        rows = [{"id": 1, "code": "000.00.01.H49", "pid": "000.00.00.H49", "name": "Sở A",
                 "mail": "a@x", "oldCode": "H49.OLD"}]
        qd20 = [{"id": 7, "code": "H49.01", "name": "Sở A", "mail": "a@x", "code102": "000.00.01.H49"}]
        try:
            self.ctl.set_directory(rows, qd20)
            self.assertEqual(self.assertOK(self.gw.agencies())["data"], rows)
            self.assertEqual(self.assertOK(self.gw.agencies_qd20("2"))["data"], qd20)
            self.assertEqual(self.ctl.directory()["levels"][-1], "2")
            self.ctl.reset()  # the directory outlives a reset
            self.assertEqual(self.assertOK(self.gw.agencies())["data"], rows)
            # level is a signed key: a call without it is refused like any unsigned key
            r = self.gw.call("getAgenciesListQD20", {})
            self.assertEqual(r[1]["status"], "FAIL")
        finally:
            self.ctl._json("POST", "directory", {"clear": True})
        self.assertEqual(self.assertOK(self.gw.agencies_qd20())["data"], [])

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
        quick = sim.AxisClient(self.proc.url, "gw-h49", GW_SECRET, timeout=0.3)
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
                         headers=sim.sign_headers("gw-h49", GW_SECRET, {}))
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


class AxisSimTlsTest(unittest.TestCase):
    """--tls-cert/--tls-key (HTTPS only, TLS 1.2 at least), --tls-client-ca (a client certificate
    required), --tls-max-version 1.1, and the slow_handshake_ms fault; certificates made with the
    openssl CLI (tests/integration/gwtls.py)."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.join(HERE, "..", "integration"))
        import gwtls  # noqa: E402
        import gwtlsout  # noqa: E402
        cls.tl = gwtlsout
        cls.tmp = tempfile.TemporaryDirectory(prefix="axis_sim_tls.")
        pki = gwtls.Pki(cls.tmp.name)
        cls.ca = pki.ca("ca")
        cls.server = pki.leaf("server", cls.ca, cn="127.0.0.1")
        cls.client_cert = pki.leaf("client", cls.ca, client=True, cn="gw-h49")
        other = pki.ca("other")
        cls.stranger = pki.leaf("stranger", other, client=True, cn="gw-h49")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def context(self, client=None, max_version=None):
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca[0])
        if client:
            ctx.load_cert_chain(*client)
        if max_version:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1, on purpose
                ctx.minimum_version = ctx.maximum_version = max_version
        return ctx

    def start(self, client_ca=None, max_version=None, context=None):
        p = sim.SimProcess(SYSTEMS, args=self.tl.tls_args(self.server, client_ca, max_version),
                           context=context or self.context()).start()
        self.addCleanup(lambda: self.assertEqual(p.stop(), 0))
        return p

    def test_https_round_trip_and_tls12_minimum(self):
        import ssl
        p = self.start()
        self.assertTrue(p.url.startswith("https://"))
        gw = p.client("gw-h49")
        status, body = gw.send_edoc(edoc(9001))
        self.assertEqual((status, body["status"]), (200, "OK"), body)
        self.assertEqual(p.control.stats()["tls_handshakes"], 2)  # the send, this stats call
        # plain HTTP to the TLS port gets no answer
        with self.assertRaises((OSError, http.client.HTTPException)):
            sim._request(p.url.replace("https", "http"), "GET", "/_sim/ping", timeout=5)
        # a client that offers at most TLS 1.1 is refused (if this OpenSSL can offer it at all)
        try:
            old = self.context(max_version=ssl.TLSVersion.TLSv1_1)
        except (ssl.SSLError, ValueError):
            old = None
        if old is not None:
            with self.assertRaises(ssl.SSLError):
                sim.SimControl(p.url, context=old).stats()
        # an untrusted server certificate is refused by a verifying client
        with self.assertRaises(ssl.SSLError):
            sim.SimControl(p.url, context=ssl.create_default_context()).stats()
        self.assertGreaterEqual(p.control.stats()["tls_handshake_failures"], 2 if old else 1)

    def test_client_certificate_required(self):
        import ssl
        p = self.start(client_ca=self.ca[0], context=self.context(self.client_cert))
        self.assertEqual(p.control.stats()["tls_handshakes"], 1)
        for ctx in (self.context(), self.context(self.stranger)):
            with self.assertRaises((ssl.SSLError, OSError, http.client.HTTPException)):
                sim.SimControl(p.url, context=ctx).stats()
        self.assertEqual(p.control.stats()["tls_handshake_failures"], 2)

    def test_tls11_only_server(self):
        p = self.start(max_version="1.1", context=self.tl.control_context())
        if not self.tl.tls11_client_ok(p.port):
            self.skipTest("this Python's OpenSSL cannot offer TLS 1.1")
        import ssl
        with self.assertRaises(ssl.SSLError):  # a client with TLS 1.2 at least
            sim.SimControl(p.url, context=self.context()).stats()

    def test_slow_handshake_holds_up_no_other_connection(self):
        import socket
        p = self.start()
        # A client that connects and never starts its handshake: its thread waits, others go on.
        idle = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        self.addCleanup(idle.close)
        self.assertEqual(p.control.faults(slow_handshake_ms=300)["faults"],
                         [{"kind": "slow_handshake_ms", "ops": None, "slow_handshake_ms": 300}])
        status, body = p.client("gw-h49").received_list()
        self.assertEqual((status, body["status"]), (200, "OK"), body)
        p.control.clear_faults()
        stats = p.control.stats()
        self.assertGreaterEqual(stats["tls_slow_handshakes"], 2)  # the list, the clear
        self.assertEqual(stats["tls_handshakes"], 4)  # faults, list, clear, stats; not the idle one
        with self.assertRaises(RuntimeError):
            p.control.faults(slow_handshake_ms=-1)

    def test_bad_tls_arguments(self):
        bad = subprocess.run([sys.executable, sim.SIM_PATH, "--systems", "/nonexistent",
                              "--tls-cert", self.server[0]], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--tls-cert and --tls-key go together", bad.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
