#!/usr/bin/env python3
"""`gatewayctl edxml check FILE [--json]` end to end on packages built here from domain.md §2-3
(and the edxml fixtures): exit codes (0 acceptable in lenient mode, 1 refused, 2 usage), the JSON
form's fields, findings of the real-traffic quirks, and every attachment's SHA-256 as sent and
unwrapped, checked against Python's hashlib over the base64-decoded text and zipfile's entry."""
import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("GW_BUILD_DIR") or os.path.join(SRC, "build")
CTL = os.path.join(BUILD, "gatewayctl")
XSD = os.path.join(SRC, "schemas", "edxml", "edxml.xsd")
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
MH = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
       b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
OLE = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + bytes(504)


def zipped(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


def attachment(cid, name, ctype, data, prefix=""):
    b64 = base64.b64encode(data).decode()
    # Line breaks every 76 characters, as MIME encoders write it.
    b64 = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    p = prefix
    return (f"<{p}Attachment><{p}ContentId>{cid}</{p}ContentId><{p}AttachmentName>{name}</{p}AttachmentName>"
            f"<{p}ContentType>{ctype}</{p}ContentType><{p}ContentTransferEncoded>{b64}"
            f"</{p}ContentTransferEncoded></{p}Attachment>")


def package(to=("000.00.00.G22",), document_id="000.00.12.H49,2024/05/15,1234/STC-NS", prom="2024/05/15",
            atts=(), refs=None, other="<Priority>1</Priority>", trace=None, before_msg="", ns=NS,
            sender="000.00.12.H49"):
    tos = "".join(f"<To><OrganId>{t}</OrganId><OrganName>Cơ quan {i}</OrganName></To>" for i, t in enumerate(to))
    if refs is None:
        refs = [(a[0], a[2], a[1]) for a in atts]
    manifest = "".join(f"<Reference><ContentId>cid:{c}</ContentId><ContentType>{t}</ContentType>"
                       f"<AttachmentName>{n}</AttachmentName></Reference>" for c, t, n in refs)
    if trace is None:
        trace = (f"<TraceHeader><OrganId>{sender}</OrganId><Timestamp>2024/05/15 09:30:00</Timestamp></TraceHeader>"
                 "<Bussiness><BussinessDocType>0</BussinessDocType><Paper>0</Paper></Bussiness>")
    did = f"<DocumentId>{document_id}</DocumentId>" if document_id is not None else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{before_msg}<edXML xmlns="{ns}"><edXMLEnvelope><edXMLHeader>'
            f"<MessageHeader><From><OrganId>{sender}</OrganId><OrganName>Sở Tài chính</OrganName></From>{tos}{did}"
            "<Code><CodeNumber>1234</CodeNumber><CodeNotation>STC-NS</CodeNotation></Code>"
            f"<PromulgationInfo><Place>Tỉnh lỵ</Place><PromulgationDate>{prom}</PromulgationDate></PromulgationInfo>"
            "<Subject>V/v thử nghiệm</Subject>"
            f"<OtherInfo>{other}</OtherInfo><SteeringType>0</SteeringType></MessageHeader>"
            f"<TraceHeaderList>{trace}</TraceHeaderList></edXMLHeader>"
            f"<edXMLBody><edXMLManifest>{manifest}</edXMLManifest></edXMLBody></edXMLEnvelope>"
            f"<edXML:AttachmentEncoded xmlns:edXML=\"{ns}\">"
            + "".join(attachment(*a, prefix="edXML:") for a in atts)
            + "</edXML:AttachmentEncoded></edXML>").encode()


def status(code="03"):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML:edXML xmlns:edXML="{NS}"><edXML:edXMLEnvelope>'
            "<edXML:edXMLHeader><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId>"
            "<edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName></edXML:From><edXML:ResponseFor>"
            "<edXML:OrganId>000.00.12.H49</edXML:OrganId><edXML:Code>1234/STC-NS</edXML:Code>"
            "<edXML:PromulgationDate>2024/05/15</edXML:PromulgationDate>"
            "<edXML:DocumentId>000.00.12.H49,2024-05-15,1234/STC-NS</edXML:DocumentId></edXML:ResponseFor>"
            f"<edXML:StatusCode>{code}</edXML:StatusCode><edXML:Description>Đã tiếp nhận</edXML:Description>"
            "<edXML:Timestamp>2024/05/16 08:00:00</edXML:Timestamp></edXML:MessageHeader></edXML:edXMLHeader>"
            "<edXML:edXMLBody/></edXML:edXMLEnvelope></edXML:edXML>").encode()


class Run:
    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    def file(self, data):
        self.n += 1
        p = os.path.join(self.tmp, f"p{self.n}.edxml")
        with open(p, "wb") as f:
            f.write(data)
        return p

    def ctl(self, *args):
        return subprocess.run([CTL, *args], capture_output=True, timeout=120)

    def check(self, data, want_rc=0):
        p = data if isinstance(data, str) else self.file(data)
        r = self.ctl("edxml", "check", p, "--json", "--schema", XSD)
        assert r.returncode == want_rc, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
        return json.loads(r.stdout)


def b64_texts(data):
    """The decoded payloads, independently of the code under test (regex over the bytes)."""
    out = []
    for m in re.finditer(rb"<(?:\w+:)?ContentTransferEncoded>(.*?)</(?:\w+:)?ContentTransferEncoded>", data, re.S):
        out.append(base64.b64decode(re.sub(rb"\s+", b"", m.group(1))))
    return out


def codes(j, code=None, xpath=None):
    return [f for f in j["findings"] if (code is None or f["code"] == code) and (xpath is None or f["xpath"] == xpath)]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_fixture(run):
    path = os.path.join(SRC, "tests", "fixtures", "edxml", "edoc_basic.xml")
    data = open(path, "rb").read()
    j = run.check(path)
    assert j["kind"] == "edoc" and j["from"] == "000.00.12.H49", j
    assert j["recipients"] == ["000.00.00.G22", "000.00.00.H49"], j["recipients"]
    assert j["size"] == len(data) and j["sha256"] == sha(data)
    payloads = b64_texts(data)
    assert [a["sha256"] for a in j["attachments"]] == [sha(p) for p in payloads]
    assert [a["size"] for a in j["attachments"]] == [len(p) for p in payloads]
    assert j["attachments"][0]["detected_type"] == "application/pdf"
    assert not [f for f in j["findings"] if f["severity"] == "refuse"]
    # Human form: the header, the hashes and the verdict.
    r = run.ctl("edxml", "check", path, "--schema", XSD)
    out = r.stdout.decode()
    assert r.returncode == 0 and "verdict: acceptable" in out and sha(payloads[0]) in out, out


def test_zip_rules(run):
    pdf_zip = zipped("6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b.pdf", PDF)
    doc_zip = zipped("to_trinh.doc", OLE)
    dx = docx()
    ooxml = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    data = package(atts=[("a1", "cong_van.pdf", "application/pdf", pdf_zip),
                         ("a2", "to_trinh.doc", "application/zip", doc_zip),
                         ("a3", "du_thao.docx", ooxml, dx),
                         ("a4", "phu_luc.pdf", "application/pdf", PDF)])
    j = run.check(data)
    a = j["attachments"]
    payloads = b64_texts(data)
    assert [x["sha256"] for x in a] == [sha(p) for p in payloads]
    assert a[0]["unwrapped"] and a[0]["unwrapped_sha256"] == sha(PDF) and a[0]["unwrapped_size"] == len(PDF)
    assert a[0]["entry_name"].endswith(".pdf") and a[0]["unwrapped_type"] == "application/pdf"
    with zipfile.ZipFile(io.BytesIO(payloads[1])) as z:
        entry = z.read(z.namelist()[0])
    assert a[1]["unwrapped"] and a[1]["unwrapped_sha256"] == sha(entry), a[1]
    assert not a[2]["unwrapped"] and a[2]["unwrapped_sha256"] is None, a[2]
    assert not a[3]["unwrapped"]
    # A ZIP-wrapped PDF counts as a PDF; a docx as its own type; nothing mismatched.
    assert not codes(j, "content_type_mismatch") and not codes(j, "manifest_type_mismatch"), j["findings"]


def test_quirks(run):
    """Real traffic of domain.md §2: accepted, each quirk a finding at its place."""
    trace = ("<Bussiness><BussinessDocType>0</BussinessDocType></Bussiness>"
             "<TraceHeader><OrganId>000.00.12.H49</OrganId><Timestamp>2014/02/28 09:30:00</Timestamp></TraceHeader>"
             "<TraceHeader><OrganId>null</OrganId><Timestamp>2014/02/28 10:00:00</Timestamp></TraceHeader>")
    data = package(to=("000.00.00.G22", "28.22.H17", "vxp.saas.03"), document_id="000.00.12.H49,2014/02/30,1234/STC-NS",
                   prom="2014/02/28", trace=trace,
                   atts=[("a1", "a.pdf", "application/pdf", PDF)],
                   refs=[("a1", "application/msword", "a.pdf"), ("a9", "application/pdf", "b.pdf")])
    j = run.check(data)
    assert j["recipients"] == ["000.00.00.G22", "28.22.H17", "VXP.SAAS.03"] or \
        j["recipients"] == ["000.00.00.G22", "28.22.H17", "vxp.saas.03"], j["recipients"]
    assert codes(j, "impossible_date", MH + "/DocumentId"), j["findings"]
    assert codes(j, "nonconforming_organ_id", MH + "/To[2]/OrganId")
    assert codes(j, "nonconforming_organ_id", MH + "/To[3]/OrganId")
    assert codes(j, "trace_without_organ_id")
    assert codes(j, "manifest_type_mismatch")
    assert codes(j, "reference_without_attachment")
    assert all(f["severity"] in ("note", "strict") for f in j["findings"])
    assert j["document_id_norm"] == "000.00.12.H49,2014/02/30,1234/STC-NS"
    # Strict mode: the same package fails on its strict findings; a clean one still passes.
    r = run.ctl("edxml", "check", run.file(data), "--strict", "--schema", XSD)
    assert r.returncode == 1 and b"strict finding" in r.stdout, (r.returncode, r.stdout[-500:])


def test_strict_ranges(run):
    j = run.check(package(other="<Priority>7</Priority>", prom="2999/01/01",
                          document_id="000.00.12.H49,2999/01/01,1234/STC-NS"))
    assert codes(j, "priority_out_of_range", MH + "/OtherInfo/Priority"), j["findings"]
    assert codes(j, "xsd", MH + "/OtherInfo/Priority"), j["findings"]
    assert codes(j, "future_promulgation_date", MH + "/PromulgationInfo/PromulgationDate")


def test_status(run):
    j = run.check(status("1"))
    assert j["kind"] == "status" and j["header"]["status_code"] == "01", j["header"]
    assert j["recipients"] == ["000.00.12.H49"]
    assert j["document_id_norm"] == "000.00.12.H49,2024/05/15,1234/STC-NS", j["document_id_norm"]
    assert codes(j, "status_code_one_digit"), j["findings"]


def test_refused(run):
    cases = [
        (package(document_id=None), "no_document_id"),
        (package()[:-40], None),  # truncated stream
        (package(before_msg='<!DOCTYPE edXML [<!ENTITY a "aaaa">]>\n'), "doctype"),
        (package(ns="http://www.inetcloud.vn/ns/edxml"), "inetcloud_format"),
        (package(atts=[("a1", "a.pdf", "application/pdf", PDF)]).replace(b"JVBER", b"J*BER"), "bad_base64"),
        (b"not xml at all", None),
    ]
    for data, code in cases:
        j = run.check(data, want_rc=1)
        assert j["acceptable"] is False and j["verdict"] is True, j
        if code:
            assert j["code"] == code, (code, j)
        r = run.ctl("edxml", "check", run.file(data), "--schema", XSD)
        assert r.returncode == 1 and r.stdout.startswith(b"refused: "), r.stdout


def test_large_streamed(run):
    blob = os.urandom(3 * 1024 * 1024 + 17)
    j = run.check(package(atts=[("big", "big.pdf", "application/pdf", PDF + blob)]))
    assert j["attachments"][0]["sha256"] == sha(PDF + blob)
    assert j["attachments"][0]["size"] == len(PDF) + len(blob)


def test_encodings(run):
    """A UTF-16 package and a windows-1258 one: the header validates in its own encoding."""
    path = os.path.join(SRC, "tests", "fixtures", "edxml", "edoc_basic.xml")
    text = open(path, encoding="utf-8").read()
    utf8 = run.check(path)
    wide = run.check(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert not codes(wide, "xsd"), wide["findings"]
    assert [a["sha256"] for a in wide["attachments"]] == [a["sha256"] for a in utf8["attachments"]]
    assert wide["header"]["subject"] == utf8["header"]["subject"]
    legacy = run.check(text.replace('encoding="UTF-8"', 'encoding="windows-1258"')
                       .replace("Sở Tài chính", "Sa Tai chinh").encode("cp1258", errors="replace"))
    assert not codes(legacy, "xsd"), legacy["findings"]


def test_reader_fixtures(run):
    """Every package of the reader's corpus: accepted (0) or refused (1) with valid JSON, never a
    crash; the real-traffic quirks are accepted."""
    d = os.path.join(SRC, "tests", "fixtures", "edxml", "reader")
    assert os.path.isdir(d), d
    names = [n for n in sorted(os.listdir(d)) if n.endswith(".xml")]
    assert names, d
    for name in names:
        r = run.ctl("edxml", "check", os.path.join(d, name), "--json", "--schema", XSD)
        assert r.returncode in (0, 1), (name, r.returncode, r.stderr[-500:])
        j = json.loads(r.stdout)
        if name.startswith("quirk_") or name.startswith("status_0"):
            assert r.returncode == 0, (name, j)
        if r.returncode == 0:
            assert all(f["severity"] != "refuse" for f in j["findings"])
        else:
            assert j["acceptable"] is False and j["code"], (name, j)


def test_usage(run):
    good = run.file(package())
    for args in ([], ["edxml"], ["edxml", "check"], ["edxml", "frobnicate", good],
                 ["edxml", "check", good, "--bogus"], ["edxml", "check", good, good],
                 ["edxml", "check", os.path.join(run.tmp, "missing.edxml")],
                 ["edxml", "check", good, "--schema", os.path.join(run.tmp, "none.xsd")],
                 ["edxml", "check", good, "--schema", good]):
        r = run.ctl(*args)
        assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    # Without --schema the in-tree schema is found.
    r = run.ctl("edxml", "check", good, "--json")
    assert r.returncode == 0 and b"not found" not in r.stderr, r.stderr


def main():
    if not os.path.exists(CTL):
        print("gatewayctl not built")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(tmp)
        failed = 0
        for name, fn in sorted(globals().items()):
            if name.startswith("test_") and callable(fn):
                try:
                    fn(run)
                    print(f"ok   {name}")
                except Exception as e:  # report every test, then fail
                    failed += 1
                    print(f"FAIL {name}: {e!r}"[:3000])
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
