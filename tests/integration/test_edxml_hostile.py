#!/usr/bin/env python3
"""Hostile edXML packages through `gatewayctl edxml check --json`, each built here: floods of
repeated elements (empty and self-closing ones included) against the fixed caps, with the peak
resident set and time of the check measured (memory per package is bounded by buffers and caps,
never by the input); PK-prefixed attachments under a small descriptor limit (one spool at a time);
the ZIP rule whatever the element order; markup and a second ContentTransferEncoded inside an
Attachment (the recipient must decode the bytes the gateway hashed: domain.md §2); and the stored
base64 slice checked against Python's own decoding. Expected results come from domain.md §2."""
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import gwtest as t

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("GW_BUILD_DIR") or os.path.join(SRC, "build")
CTL = os.path.join(BUILD, "gatewayctl")
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
GOOD_TO = "<To><OrganId>000.00.00.G22</OrganId></To>"

# Under a sanitizer the tool is several times slower and larger: the bounds are relaxed.
SAN = os.environ.get("GW_SANITIZE") == "1" or t.sanitized_build(BUILD)
RSS_MB = 400 if SAN else 32
SECONDS = 60 if SAN else 10


def package(to=GOOD_TO, msg_extra="", trace="", manifest="", atts="", root_ns=True):
    xmlns = f' xmlns="{NS}"' if root_ns else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML{xmlns}><edXMLEnvelope><edXMLHeader>'
            f"<MessageHeader><From><OrganId>000.00.12.H49</OrganId><OrganName>S</OrganName></From>{to}"
            "<DocumentId>000.00.12.H49,2024/05/15,1/STC</DocumentId><Code><CodeNumber>1</CodeNumber>"
            "<CodeNotation>STC</CodeNotation></Code><PromulgationInfo><Place>P</Place>"
            "<PromulgationDate>2024/05/15</PromulgationDate></PromulgationInfo><Subject>S</Subject>"
            f"{msg_extra}</MessageHeader>{trace}</edXMLHeader><edXMLBody><edXMLManifest>{manifest}"
            f"</edXMLManifest></edXMLBody></edXMLEnvelope><AttachmentEncoded>{atts}</AttachmentEncoded>"
            "</edXML>").encode()


def attachment(cid, name, ctype, data, order=("cid", "name", "type", "cte"), cte=None):
    parts = {"cid": f"<ContentId>{cid}</ContentId>", "name": f"<AttachmentName>{name}</AttachmentName>",
             "type": f"<ContentType>{ctype}</ContentType>",
             "cte": f"<ContentTransferEncoded>{cte if cte is not None else base64.b64encode(data).decode()}"
                    "</ContentTransferEncoded>"}
    return "<Attachment>" + "".join(parts[k] for k in order) + "</Attachment>"


def zipped(name, data, extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in extra:
            z.writestr(n, d)
        z.writestr(name, data)
    return buf.getvalue()


LAUNCHER = """
import os, resource, sys
n = int(sys.argv[1])
if n:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, st, ru = os.wait4(pid, 0)
sys.stderr.write("MAXRSS %d\\n" % ru.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(st))
"""


class Run:
    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    def check(self, data, nofile=None):
        """(exit code, JSON answer, peak RSS in MB, wall seconds) of one check."""
        self.n += 1
        path = os.path.join(self.tmp, f"p{self.n}.xml")
        with open(path, "wb") as f:
            f.write(data)
        out = open(os.path.join(self.tmp, "out.json"), "w+b")

        # The peak RSS of a child started from this process would include this process's own
        # (the package built here): a small launcher starts the check and reports its peak.
        cmd = [sys.executable, "-c", LAUNCHER, str(nofile or 0), CTL, "edxml", "check", path, "--json"]
        err = open(os.path.join(self.tmp, "err.txt"), "w+")
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        p.wait()
        err.seek(0)
        ru_kb = int(err.read().split("MAXRSS ")[1].split()[0])
        err.close()
        status = p.returncode
        wall = time.monotonic() - t0
        out.seek(0)
        body = out.read()
        out.close()
        os.unlink(path)
        return status, json.loads(body), ru_kb / 1024.0, wall


def refused(run, data, code, verdict):
    rc, j, rss, wall = run.check(data)
    assert rc == 1 and j["acceptable"] is False, (rc, j)
    assert j["code"] == code and j["verdict"] is verdict, j
    assert rss < RSS_MB and wall < SECONDS, (code, rss, wall)
    return j


def test_floods_of_repeated_elements(run):
    n = 1_000_000
    # Recipient lists are a local limit (left on the axis, never answered fail: domain.md §2).
    refused(run, package(to=GOOD_TO + "<To/>" * n), "too_many_items", False)
    refused(run, package(to="<To><OrganId>A</OrganId></To>" * 300_000), "too_many_items", False)
    bus = ("<TraceHeaderList><Bussiness><BussinessDocType>3</BussinessDocType><ReplacementInfoList>"
           "<ReplacementInfo><DocumentId>d</DocumentId><OrganIdList>%s</OrganIdList></ReplacementInfo>"
           "</ReplacementInfoList></Bussiness></TraceHeaderList>")
    refused(run, package(trace=bus % ("<OrganId/>" * n)), "too_many_items", False)
    recv = ("<TraceHeaderList><Bussiness><BussinessDocType>2</BussinessDocType><BussinessDocumentInfo>"
            "<ReceiverList>%s</ReceiverList></BussinessDocumentInfo></Bussiness></TraceHeaderList>")
    refused(run, package(trace=recv % ("<Receiver/>" * n)), "too_many_items", False)
    # Everything else is hostile structure beyond the fixed caps: a verdict.
    refused(run, package(atts="<Attachment/>" * n), "too_many_elements", True)
    refused(run, package(manifest="<Reference/>" * n), "too_many_elements", True)
    refused(run, package(trace="<TraceHeaderList>" + "<TraceHeader/>" * n + "</TraceHeaderList>"),
            "too_many_elements", True)
    refused(run, package(msg_extra="<ToPlaces>" + "<Place/>" * n + "</ToPlaces>"), "too_many_elements", True)
    refused(run, package(msg_extra="<OtherInfo><Appendixes>" + "<Appendix/>" * n + "</Appendixes></OtherInfo>"),
            "too_many_elements", True)
    refused(run, package(msg_extra="<ResponseFor/>" * n), "too_many_elements", True)
    refused(run, package(trace="<TraceHeaderList><Bussiness><ReplacementInfoList>" + "<ReplacementInfo/>" * n
                         + "</ReplacementInfoList></Bussiness></TraceHeaderList>"), "too_many_elements", True)


def test_sixty_megabyte_flood_small(run):
    # The review's worst case: 12 000 000 <To/> (60 MB, under the 64 MiB package limit), JSON form.
    rc, j, rss, wall = run.check(package(to=GOOD_TO + "<To/>" * 12_000_000))
    assert rc == 1 and j["code"] == "too_many_items" and j["verdict"] is False and "To" in j["message"], j
    assert rss < RSS_MB and wall < SECONDS, (rss, wall)
    print(f"     60 MB flood of <To/>: peak RSS {rss:.0f} MB, {wall:.2f} s")


def test_worst_case_under_the_caps(run):
    """Every list just under its cap, every item filled: accepted, and the model plus its JSON form
    stay small."""
    blk = "".join(f"<{k}>{'x' * 100}</{k}>" for k in ("OrganizationInCharge", "OrganName", "OrganAdd",
                                                     "Email", "Telephone", "Fax", "Website"))
    tos = "".join(f"<To><OrganId>000.00.{i // 100:02d}.H{i % 100:02d}</OrganId>{blk}</To>" for i in range(1000))
    tos += "<To/>" * 999
    places = "<ToPlaces>" + "<Place>p</Place>" * 99 + "</ToPlaces>"
    other = "<OtherInfo><Priority>1</Priority><Appendixes>" + "<Appendix>a</Appendix>" * 499 + "</Appendixes></OtherInfo>"
    trace = ("<TraceHeaderList>" + "<TraceHeader><OrganId>000.00.00.G22</OrganId><Timestamp>2024/05/15 09:30:00"
             "</Timestamp></TraceHeader>" * 99 + "</TraceHeaderList>")
    atts = "".join(attachment(f"a{i}", f"f{i}.pdf", "application/pdf", PDF) for i in range(499))
    # references in the reverse order: each attachment still finds its own (linking by ContentId)
    refs = "".join(f"<Reference><ContentId>cid:a{i}</ContentId><ContentType>application/x-{i}</ContentType>"
                   "</Reference>" for i in reversed(range(499)))
    rc, j, rss, wall = run.check(package(to=tos, msg_extra=places + other, trace=trace, manifest=refs, atts=atts))
    assert rc == 0 and len(j["recipients"]) == 1000, (rc, j.get("code"))
    assert len(j["attachments"]) == 499 and len(j["references"]) == 499
    for i, a in enumerate(j["attachments"]):
        assert a["manifest_type"] == f"application/x-{i}", a
        assert a["sha256"] == hashlib.sha256(PDF).hexdigest() and a["b64_plain"] is True
    assert rss < RSS_MB and wall < SECONDS, (rss, wall)
    print(f"     worst case under the caps: {len(atts) // 1024} KiB of attachments, peak RSS {rss:.0f} MB, {wall:.2f} s")


def test_links_are_not_quadratic(run):
    # 499 attachments and 499 references that all share one ContentId: one match each, fast.
    atts = "".join(attachment("same", "f.pdf", "application/pdf", b"") for _ in range(499))
    refs = "<Reference><ContentId>cid:same</ContentId><ContentType>application/pdf</ContentType></Reference>" * 499
    rc, j, rss, wall = run.check(package(manifest=refs, atts=atts))
    assert rc == 0 and all(a["manifest_type"] == "application/pdf" for a in j["attachments"]), rc
    assert wall < SECONDS / 5, wall


def test_zip_spools_one_at_a_time(run):
    """60 one-entry ZIPs declared application/pdf (to be unwrapped, domain.md §2) under a limit of
    24 descriptors: one temporary file at a time, every one unwrapped."""
    z = zipped("x.pdf", PDF)
    atts = "".join(attachment(f"a{i}", f"f{i}.pdf", "application/pdf", z) for i in range(60))
    rc, j, _, _ = run.check(package(atts=atts), nofile=24)
    assert rc == 0, j
    assert all(a["unwrapped"] and a["unwrapped_sha256"] == hashlib.sha256(PDF).hexdigest()
               for a in j["attachments"]), j["attachments"][0]
    # Beyond 64 spooled attachments per package, the rest are not unwrapped, each with a finding.
    atts = "".join(attachment(f"a{i}", f"f{i}.pdf", "application/pdf", z) for i in range(70))
    rc, j, _, _ = run.check(package(atts=atts), nofile=24)
    assert rc == 0, j
    assert sum(a["unwrapped"] for a in j["attachments"]) == 64
    assert sum(f["code"] == "zip_not_unwrapped" for f in j["findings"]) == 6, j["findings"]


def test_zip_rule_whatever_the_order(run):
    z = zipped("x.pdf", PDF)
    late = ("cte", "cid", "name", "type")
    cases = [  # (name, ctype, bytes, unwrapped) from domain.md §2
        ("bundle.zip", "application/zip", z, False),       # application/zip with a .zip name: kept
        ("report.doc", "application/zip", z, True),        # the vendor's convention: unwrapped
        ("x.pdf", "application/pdf", z, True),
    ]
    for name, ctype, data, want in cases:
        for order in (("cid", "name", "type", "cte"), late):
            rc, j, _, _ = run.check(package(atts=attachment("a", name, ctype, data, order=order)))
            assert rc == 0 and j["attachments"][0]["unwrapped"] is want, (name, order, j["attachments"])
    # A docx is a zip by nature, never unwrapped even when declared application/pdf (its first
    # entry is [Content_Types].xml; word/ comes later in the head).
    docx = zipped("word/document.xml", "<w:document/>", extra=(("[Content_Types].xml", "<Types>" + "t" * 300 + "</Types>"),))
    rc, j, _, _ = run.check(package(atts=attachment("a", "x.pdf", "application/pdf", docx)))
    assert rc == 0 and j["attachments"][0]["unwrapped"] is False, j["attachments"]


def test_ambiguous_base64_refused(run):
    b = base64.b64encode(PDF).decode()
    two = ("<Attachment><ContentId>a</ContentId><ContentType>application/pdf</ContentType>"
           f"<ContentTransferEncoded>{b}</ContentTransferEncoded>"
           "<ContentTransferEncoded>!!!notbase64!!!</ContentTransferEncoded></Attachment>")
    refused(run, package(atts=two), "bad_base64", True)
    two_valid = two.replace("!!!notbase64!!!", b)
    refused(run, package(atts=two_valid), "bad_base64", True)
    child = attachment("a", "x.pdf", "application/pdf", b"", cte=b[:4] + "<x>QUFB</x>" + b[4:])
    refused(run, package(atts=child), "bad_base64", True)
    empty_child = attachment("a", "x.pdf", "application/pdf", b"", cte=b[:4] + "<x/>" + b[4:])
    refused(run, package(atts=empty_child), "bad_base64", True)


def test_base64_slice(run):
    raw_b64 = base64.b64encode(PDF).decode()
    crlf = "\r\n".join(raw_b64[i:i + 16] for i in range(0, len(raw_b64), 16))
    cases = [  # (text inside ContentTransferEncoded, plain)
        (raw_b64, True),
        (crlf, True),
        ("&#" + str(ord(raw_b64[0])) + ";" + raw_b64[1:], False),
        (raw_b64[:8] + "<![CDATA[" + raw_b64[8:20] + "]]>" + raw_b64[20:], False),
        (raw_b64[:8] + "<!-- c -->" + raw_b64[8:], False),
        (raw_b64[:8] + "<?pi x?>" + raw_b64[8:], False),
    ]
    for text, plain in cases:
        data = package(atts=attachment("a", "x.pdf", "application/pdf", b"", cte=text))
        rc, j, _, _ = run.check(data)
        a = j["attachments"][0]
        assert rc == 0 and a["sha256"] == hashlib.sha256(PDF).hexdigest(), (text, j)
        assert a["b64_plain"] is plain, (text, a)
        codes = [f["code"] for f in j["findings"]]
        assert ("base64_not_plain" in codes) is not plain, codes
        if plain:
            sl = data[a["b64_offset"]:a["b64_offset"] + a["b64_len"]]
            assert hashlib.sha256(base64.b64decode(b"".join(sl.split()))).hexdigest() == a["sha256"]


def codes(j):
    return [f["code"] for f in j.get("findings", [])]


def test_domain_alignment(run):
    """domain.md §2: refuse only what cannot be relayed or answered."""
    # No namespace at all: accepted (real senders omit it), with a strict finding.
    rc, j, _, _ = run.check(package(root_ns=False))
    assert rc == 0 and "no_namespace" in codes(j), (rc, j)
    rc, j, _, _ = run.check(package())
    assert rc == 0 and "no_namespace" not in codes(j), codes(j)
    # A To whose OrganId is over-long or dirty is dropped with a finding when other To remain...
    for bad, code in (("9" * 300, "to_organ_id_too_long"), ("000.00.00.H&#9;49", "to_organ_id_control_characters")):
        rc, j, _, _ = run.check(package(to=GOOD_TO + f"<To><OrganId>{bad}</OrganId></To>"))
        assert rc == 0 and j["recipients"] == ["000.00.00.G22"] and code in codes(j), (rc, j)
        # ... and is the same "no To/OrganId" refusal when it was the only one.
        rc, j, _, _ = run.check(package(to=f"<To><OrganId>{bad}</OrganId></To>"))
        assert rc == 1 and j["code"] == "no_recipient" and j["verdict"] is True, j
    # An empty StatusCode in an edoc counts as absent: still an edoc.
    rc, j, _, _ = run.check(package(msg_extra="<StatusCode/>"))
    assert rc == 0 and j["kind"] == "edoc", j
    rc, j, _, _ = run.check(package(msg_extra="<StatusCode>  </StatusCode>"))
    assert rc == 0 and j["kind"] == "edoc", j
    # "null" in any case counts as missing.
    for null in ("null", "NULL", "Null"):
        rc, j, _, _ = run.check(package(to=GOOD_TO + f"<To><OrganId>{null}</OrganId></To>"))
        assert rc == 0 and j["recipients"] == ["000.00.00.G22"] and "to_without_organ_id" in codes(j), j
        rc, j, _, _ = run.check(package(to=f"<To><OrganId>{null}</OrganId></To>"))
        assert rc == 1 and j["code"] == "no_recipient", j
    # The recipients are exactly the organ ids of the relay's To spans (the ids a copy keeps).
    two = "<To><OrganId>000.00.00.G22</OrganId><OrganId>000.00.01.H49</OrganId></To>"
    lower = "<To><OrganId>000.00.00.g22</OrganId></To><To><OrganId>000.00.00.G22</OrganId></To>"
    for to in (two, lower, GOOD_TO + "<To/>" + GOOD_TO):
        rc, j, _, _ = run.check(package(to=to))
        spans = [s["organ_id"] for s in j["relay"]["to"] if s["organ_id"]]
        assert rc == 0 and sorted(set(spans)) == sorted(j["recipients"]), (to, spans, j["recipients"])
    rc, j, _, _ = run.check(package(to=two))
    assert j["recipients"] == ["000.00.00.G22"] and "to_second_organ_id" in codes(j), j


def test_misplaced_attachments(run):
    b = base64.b64encode(PDF).decode()
    att = attachment("a", "x.pdf", "application/pdf", PDF)
    # AttachmentEncoded is a sibling of the envelope (domain.md §2): inside it, read, with a finding
    data = package().replace(b"</edXMLEnvelope><AttachmentEncoded></AttachmentEncoded>",
                             f"<AttachmentEncoded>{att}</AttachmentEncoded></edXMLEnvelope>".encode())
    rc, j, _, _ = run.check(data)
    assert rc == 0 and len(j["attachments"]) == 1 and "attachments_in_envelope" in codes(j), (rc, codes(j))
    # an Attachment directly under the root is not read: a finding says so
    data = package().replace(b"<AttachmentEncoded></AttachmentEncoded>", att.replace(b, "!!").encode())
    rc, j, _, _ = run.check(data)
    assert rc == 0 and "attachment_outside_attachment_encoded" in codes(j), (rc, codes(j))


def main():
    if not os.path.exists(CTL):
        print("gatewayctl not built")
        return 77
    only = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(tmp)
        failed = 0
        for name, fn in sorted(globals().items()):
            if name.startswith("test_") and callable(fn) and (not only or name in only):
                try:
                    fn(run)
                    print(f"ok   {name}")
                except Exception as e:  # report every test, then fail
                    failed += 1
                    print(f"FAIL {name}: {e!r}"[:3000])
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
