"""Signature checks end to end, with the test PKI of tests/fixtures/sig/make.sh, a real OCSP
responder (openssl ocsp behind tests/sim/ocsp_front.py on loopback) and the CRLs it serves:
- a package whose PDF is signed by a person and an organisation is delivered, its verdict
  (TOTAL-PASSED, each signature with its signer and role) in GET /v1/packages/{id};
- a package with a forged PDF (its bytes changed after signing) is rejected by policy: nothing
  is sent, and QLVBĐH reads REJECTED and the reason;
- with the responder and the CRL server down, a valid package is INDETERMINATE/TRY_LATER and
  held; once they are back it is checked again and released;
- with the default policy a forged package is held for an operator: `gatewayctl held release`
  delivers it, `gatewayctl held reject` refuses the next one, a second decision changes nothing;
- a signature that carries only its signer's certificate, checked against a trust store
  holding only the root, chains once the gateway fetched the subordinate CA at the signer's
  caIssuers URL (once: a second package is answered from memory);
- while a package with a signed 50 MB PDF is read back, decoded and checked, the same gatewayd
  keeps answering /healthz (every probe answered, several of them between the package's store
  and its verdict; the worst probe latency is printed, not asserted).
"""

import base64
import hashlib
import json
import datetime
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import gwtest as t  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def package(document_id, pdf_bytes, name="vb.pdf"):
    b64 = base64.b64encode(pdf_bytes).decode()
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>"""
            """<From><OrganId>%s</OrganId><OrganName>Sở Thông tin và Truyền thông</OrganName></From>"""
            """<To><OrganId>000.00.00.H44</OrganId><OrganName>Cơ quan nhận</OrganName></To>"""
            """<DocumentId>%s</DocumentId><Code><CodeNumber>1</CodeNumber><CodeNotation>STTTT</CodeNotation></Code>"""
            """<Subject>Văn bản có chữ ký số</Subject></MessageHeader><TraceHeaderList><Bussiness>"""
            """<BussinessDocType>0</BussinessDocType></Bussiness></TraceHeaderList></edXMLHeader><edXMLBody>"""
            """<edXMLManifest><Reference><ContentId>cid:1</ContentId><ContentType>application/pdf</ContentType>"""
            """<AttachmentName>%s</AttachmentName></Reference></edXMLManifest></edXMLBody></edXMLEnvelope>"""
            """<AttachmentEncoded><Attachment><ContentId>1</ContentId><AttachmentName>%s</AttachmentName>"""
            """<ContentType>application/pdf</ContentType><ContentTransferEncoded>%s</ContentTransferEncoded>"""
            """</Attachment></AttachmentEncoded></edXML>""" % (t.AGENCY, document_id, name, name, b64)).encode()


class Front:
    """tests/sim/ocsp_front.py serving the fixture PKI: OCSP for the subordinate CA, its CRLs."""

    def __init__(self, pki, port, work):
        self.dir = os.path.join(work, "front")
        os.makedirs(os.path.join(self.dir, "crl"))
        links = {"index.txt": "ca/db-sub/index.txt", "ca.pem": "ca/sub.pem",
                 "rsp.pem": "ocsp/ocsp.pem", "rsp.key": "ocsp/ocsp.key",
                 "crl/sub.crl": "www/crl/sub.crl", "crl/root.crl": "www/crl/root.crl"}
        for k, v in links.items():
            os.symlink(os.path.join(pki, v), os.path.join(self.dir, k))
        for extra in ("ca/root.der", "ca/sub.der"):
            os.makedirs(os.path.join(self.dir, "ca"), exist_ok=True)
            os.symlink(os.path.join(pki, "www", extra), os.path.join(self.dir, extra))
        self.port = port
        self.proc = subprocess.Popen([sys.executable, os.path.join(t.SRC, "tests/sim/ocsp_front.py"),
                                      "serve", self.dir, "--port", str(port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert "listening" in line, line

    def control(self, what):
        r = t.request(self.port, "POST", "/control/" + what, token=None)
        assert r.status == 200, (what, r.status, r.body)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def check_of(gw, pid):
    r = gw.get("/v1/packages/%d" % pid)
    assert r.status == 200, r.body
    return r.json()


def test_signatures(env):
    work = tempfile.mkdtemp(prefix="gw-sig-")
    port = free_port()
    subprocess.run([os.path.join(t.SRC, "tests/fixtures/sig/make.sh"), work,
                    "http://127.0.0.1:%d" % port], check=True, capture_output=True, timeout=300)
    pki = os.path.join(work, "pki")
    front = Front(pki, port, work)
    try:
        gw = env.gateway({"verify:trust_dir": os.path.join(pki, "trust"),
                          "verify:revocation_timeout_ms": "2000",
                          "policy:out_total_failed": "reject",
                          "policy:in_total_failed": "reject",
                          "policy:try_later_fallback": "hold"})
        pdf = lambda n: open(os.path.join(work, n), "rb").read()

        # A valid package: delivered, with its verdict.
        r = gw.submit(package("000.00.12.H49,2024/05/15,1/STTTT", pdf("person_org.pdf")))
        assert r.status == 202, r.body
        pid = r.json()["id"]
        t.wait_until(lambda: env.sim.mailbox("000.00.00.H44"), 30, what="valid package delivered")
        st = check_of(gw, pid)
        sig = st["signatures"]
        assert sig["summary"] == "TOTAL-PASSED" and sig["action"] == "deliver", sig
        roles = [(s["role"], s["indication"]) for s in sig["signatures"]]
        assert roles == [("person", "TOTAL-PASSED"), ("organisation", "TOTAL-PASSED")], roles
        assert sig["signatures"][0]["signer"] and "CCCD" in sig["signatures"][0]["signer"]
        assert sig["documents"][0]["name"] == "vb.pdf"
        # One question per certificate of the file: each leaf by OCSP, the subordinate CA both
        # signatures share by the root's CRL, fetched once.
        stats = json.loads(t.request(front.port, "GET", "/control/stats", token=None).body)
        assert (stats["ocsp"], stats["crl"]) == (2, 1), stats
        t.wait_until(lambda: 'gateway_revocation_answers_total{source="ocsp",state="good"} 2\n' in
                     t.request(gw.port, "GET", "/metrics", token=None).body.decode(), 5,
                     what="revocation answers counted")
        assert env.pg.query("SELECT count(*) FROM certificate") != "0"

        # A forged one (a byte inside the signed range changed): rejected, nothing sent.
        forged = bytearray(pdf("person.pdf"))
        i = forged.index(b"BT")
        forged[i + 3:i + 4] = b"9" if forged[i + 3:i + 4] != b"9" else b"8"
        r = gw.submit(package("000.00.12.H49,2024/05/15,2/STTTT", bytes(forged)))
        assert r.status == 202, r.body
        fid = r.json()["id"]
        t.wait_until(lambda: check_of(gw, fid)["state"] == "REJECTED", 30, what="forged rejected")
        st = check_of(gw, fid)
        assert st["signatures"]["summary"] == "TOTAL-FAILED", st["signatures"]
        assert st["signatures"]["summary_sub"] == "HASH_FAILURE", st["signatures"]
        assert st["deliveries"][0]["state"] == "DEAD" and "rejected" in st["deliveries"][0]["last_error"]
        assert len(env.sim.mailbox("000.00.00.H44")) == 1

        # The local block list (Art. 15.4): the organisation's key device is reported lost from
        # a time in the past; the CA has not revoked it. Its signature is now REVOKED.
        der = subprocess.run(["openssl", "x509", "-in", os.path.join(pki, "leaf", "org.pem"),
                              "-outform", "DER"], capture_output=True, check=True).stdout
        env.pg.query("SELECT gw_cert_block_add(decode('%s', 'hex'), NULL, NULL, NULL,"
                     " '2025-01-01T00:00:00Z', 'thiết bị ký bị mất', 'test')"
                     % hashlib.sha256(der).hexdigest())
        r = gw.submit(package("000.00.12.H49,2024/05/15,4/STTTT", pdf("person_org.pdf")))
        bid = r.json()["id"]
        t.wait_until(lambda: check_of(gw, bid)["state"] == "REJECTED", 30, what="blocked rejected")
        sigs = check_of(gw, bid)["signatures"]["signatures"]
        assert [(s["indication"], s["sub_indication"]) for s in sigs] == [
            ("TOTAL-PASSED", None), ("TOTAL-FAILED", "REVOKED")], sigs
        assert len(env.sim.mailbox("000.00.00.H44")) == 1

        # Revocation data unobtainable: TRY_LATER, held; released when the responder is back.
        # The answers fetched so far are cached until their nextUpdate: with the responder
        # down, a signer already checked is answered from PostgreSQL.
        assert env.pg.query("SELECT count(*) FROM ocsp_response") != "0"
        assert env.pg.query("SELECT count(*) FROM crl") != "0"
        front.control("down?what=all&mode=503")
        r = gw.submit(package("000.00.12.H49,2024/05/15,5/STTTT", pdf("person.pdf")))
        cid = r.json()["id"]
        t.wait_until(lambda: check_of(gw, cid)["signatures"]["state"] == "DONE", 30, what="cached")
        st = check_of(gw, cid)["signatures"]
        assert st["summary"] == "TOTAL-PASSED", st
        sources = {r["source"] for s in st["signatures"] for r in s["revocation"]}
        assert sources <= {"ocsp_cache", "crl_cache"}, sources
        t.wait_until(lambda: len(env.sim.mailbox("000.00.00.H44")) == 2, 30, what="cached delivered")
        env.pg.query("DELETE FROM ocsp_response")
        env.pg.query("DELETE FROM crl")
        r = gw.submit(package("000.00.12.H49,2024/05/15,3/STTTT", pdf("person.pdf")))
        tid = r.json()["id"]
        t.wait_until(lambda: (check_of(gw, tid)["signatures"] or {}).get("summary_sub") == "TRY_LATER",
                     30, what="TRY_LATER")
        st = check_of(gw, tid)
        assert st["signatures"]["gate"] == "held" and st["signatures"]["next_check_at"], st["signatures"]
        assert st["deliveries"][0]["state"] == "QUEUED" and len(env.sim.mailbox("000.00.00.H44")) == 2
        front.control("up?what=all")
        t.wait_until(lambda: len(env.sim.mailbox("000.00.00.H44")) == 3, 30,
                     what="released after the responder came back")
        st = check_of(gw, tid)
        assert st["signatures"]["summary"] == "TOTAL-PASSED", st["signatures"]
        kinds = [e["kind"] for e in st["events"]]
        assert "verify_later" in kinds and "verified" in kinds, kinds

        # An incoming package with a forged PDF, to another province's agency and two of ours:
        # rejected, and its sender gets a status 02 with the reason from each of our two, none
        # from the other province's (before: one, From = the first To, H44 here).
        body = package("000.00.00.G22,2024/05/15,9/VPCP", bytes(forged)).replace(
            b"<OrganId>%s</OrganId><OrganName>S" % t.AGENCY.encode(),
            b"<OrganId>000.00.00.G22</OrganId><OrganName>S").replace(
            b"<OrganId>000.00.00.H44</OrganId>",
            b"<OrganId>000.00.00.H44</OrganId><OrganName>Tinh khac</OrganName></To><To><OrganId>%s</OrganId>"
            b"<OrganName>UBND tinh</OrganName></To><To><OrganId>%s</OrganId>"
            % (t.PROVINCE.encode(), t.AGENCY.encode()))
        env.sim.inject(t.PROVINCE, body)
        st = t.wait_until(lambda: [e for e in env.sim.mailbox("000.00.00.G22")
                                   if e["messagetype"] == "status"], 30, what="status 02 sent back")
        time.sleep(1)  # a further 02, had one been made, is sent by now
        st = [e for e in env.sim.mailbox("000.00.00.G22") if e["messagetype"] == "status"]
        froms = set()
        for e in st:
            data = env.sim.ctl("GET", "/_sim/package?docId=" + e["docId"]).body.decode()
            assert "<edXML:StatusCode>02</edXML:StatusCode>" in data, data
            assert "000.00.00.G22,2024/05/15,9/VPCP" in data, data
            froms.add(re.search(r"<edXML:From>\s*<edXML:OrganId>([^<]+)<", data).group(1))
        assert len(st) == 2 and froms == {t.PROVINCE, t.AGENCY}, (len(st), froms)
        rej = env.pg.query("SELECT state FROM package WHERE direction = 'in'")
        assert rej == "REJECTED", rej
        assert gw.get("/v1/inbox?limit=100").json()["items"] == []

        gw.stop()
        operator_decides(env, pki, bytes(forged))
        missing_issuer_from_aia(env, pki, work, front)
        big_pdf_keeps_loop_serving(env, pki, work)
    finally:
        front.close()
        shutil.rmtree(work, ignore_errors=True)


def operator_decides(env, pki, forged):
    gw = env.gateway({"verify:trust_dir": os.path.join(pki, "trust"),
                      "verify:revocation_timeout_ms": "2000"})  # [policy] defaults: hold
    ctl = os.path.join(t.BUILD, "gatewayctl")
    before = len(env.sim.mailbox("000.00.00.H44"))
    held = []
    for n in (70, 71):
        r = gw.submit(package("000.00.12.H49,2024/05/15,%d/STTTT" % n, forged))
        held.append(r.json()["id"])
        t.wait_until(lambda: (check_of(gw, held[-1])["signatures"] or {}).get("gate") == "held", 30,
                     what="forged package held")
    out = subprocess.run([ctl, "held", "release", str(held[0]), "-c", gw.config, "--by", "Trực ca",
                          "--reason", "đã xác minh với đơn vị gửi"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "released" in out.stdout, out
    t.wait_until(lambda: len(env.sim.mailbox("000.00.00.H44")) == before + 1, 30, what="released delivered")
    out = subprocess.run([ctl, "held", "reject", str(held[1]), "-c", gw.config, "--reason", "giả mạo"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out
    t.wait_until(lambda: check_of(gw, held[1])["state"] == "REJECTED", 30, what="operator rejected")
    st = check_of(gw, held[1])
    assert st["signatures"]["decided_by"] == "operator", st["signatures"]
    assert any(e["kind"] == "rejected" and e["detail"]["reason"] == "giả mạo" for e in st["events"])
    again = subprocess.run([ctl, "held", "release", str(held[1]), "-c", gw.config],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1, again
    assert subprocess.run([ctl, "held", "keep", "1"], capture_output=True).returncode == 2
    assert len(env.sim.mailbox("000.00.00.H44")) == before + 1
    gw.stop()


def missing_issuer_from_aia(env, pki, work, front):
    trust = os.path.join(work, "trust-root-only")
    os.makedirs(trust)
    shutil.copy(os.path.join(pki, "trust", "root.pem"), trust)
    leaf = os.path.join(pki, "leaf")
    lone = os.path.join(work, "person-alone.pdf")
    base = os.path.join(work, "aia-base.pdf")
    subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, %r); import pdfsign as ps; open(%r, 'wb').write(ps.make_base(1))")
        % (os.path.join(t.SRC, "tests/tools"), base)], check=True, timeout=60)
    subprocess.run([sys.executable, os.path.join(t.SRC, "tests/tools/pdfsign.py"), "sign", base, lone,
                    "--cert", os.path.join(leaf, "person.pem"), "--key", os.path.join(leaf, "person.key")],
                   check=True, timeout=60)
    gw = env.gateway({"verify:trust_dir": trust, "verify:revocation_timeout_ms": "2000"})
    before = json.loads(t.request(front.port, "GET", "/control/stats", token=None).body)["ca"]
    ids = []
    for n in (60, 61):
        r = gw.submit(package("000.00.12.H49,2024/05/15,%d/STTTT" % n, open(lone, "rb").read()))
        assert r.status == 202, r.body
        ids.append(r.json()["id"])
        t.wait_until(lambda: (check_of(gw, ids[-1])["signatures"] or {}).get("state") == "DONE", 30,
                     what="checked with the fetched issuer")
        sig = check_of(gw, ids[-1])["signatures"]
        assert sig["summary"] == "TOTAL-PASSED", sig
    stats = json.loads(t.request(front.port, "GET", "/control/stats", token=None).body)
    assert stats["ca"] - before == 1, stats  # fetched once, then from memory
    gw.stop()


def big_pdf_keeps_loop_serving(env, pki, work):
    base, signed = os.path.join(work, "big-base.pdf"), os.path.join(work, "big.pdf")
    subprocess.run([sys.executable, "-c", (
        "import os, sys; sys.path.insert(0, %r); import pdfsign as ps; "
        "open(%r, 'wb').write(ps.make_base(2, extra={20: ps.Stream({}, os.urandom(50_000_000))}))")
        % (os.path.join(t.SRC, "tests/tools"), base)], check=True, timeout=120)
    leaf = os.path.join(pki, "leaf")
    subprocess.run([sys.executable, os.path.join(t.SRC, "tests/tools/pdfsign.py"), "sign", base, signed,
                    "--cert", os.path.join(leaf, "person.pem"), "--key", os.path.join(leaf, "person.key"),
                    "--chain", os.path.join(leaf, "person-chain.pem")], check=True, timeout=120)
    body = package("000.00.12.H49,2024/05/15,50/STTTT", open(signed, "rb").read())
    gw = env.gateway({"verify:trust_dir": os.path.join(pki, "trust"),
                      "verify:revocation_timeout_ms": "2000",
                      "server:max_body_bytes": str(len(body) + 1024), "server:body_timeout_ms": "120000"})
    probes, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            t0 = time.time()
            r = t.request(gw.port, "GET", "/healthz", token=None, timeout=60)
            probes.append((t0, time.time(), r.status))
            time.sleep(0.005)

    th = threading.Thread(target=probe)
    th.start()
    try:
        r = t.request(gw.port, "POST", "/v1/packages", body=body, timeout=300,
                      headers={"Content-Type": "application/xml"})
        assert r.status == 202, r.body[:300]
        pid = r.json()["id"]
        t.wait_until(lambda: (check_of(gw, pid)["signatures"] or {}).get("state") == "DONE", 180,
                     what="50 MB PDF checked")
    finally:
        stop.set()
        th.join()
    st = check_of(gw, pid)
    assert st["signatures"]["summary"] == "TOTAL-PASSED", st["signatures"]
    at = {e["kind"]: datetime.datetime.fromisoformat(e["at"]).timestamp() for e in st["events"]}
    inside = [p for p in probes if at["received"] <= p[0] and p[1] <= at["verified"]]
    worst = max(p[1] - p[0] for p in probes)
    t.log("50 MB PDF: stored to verdict %.2f s; %d /healthz probes answered meanwhile; worst probe %.0f ms"
          % (at["verified"] - at["received"], len(inside), worst * 1000))
    assert all(p[2] == 200 for p in probes), probes
    assert len(inside) >= 3, (len(inside), at, probes[:5])


if __name__ == "__main__":
    t.run([test_signatures])
