"""Per-axis copies (domain.md §2 "Relaying across two axes"), over two simulators: the provincial
axis (role provincial) and the national axis.
- A document to one in-province and one out-of-province recipient arrives at each axis with only
  its own To: what each simulator stored (GET /_sim/package) is compared with the copy computed
  here from the submitted bytes by slicing (the other To removed with the white space before it,
  a TraceHeader of ours after the last TraceHeader, its Timestamp checked by pattern and as
  Vietnam time within 2 minutes); the simulator's own hash-file check passed (it stored it); the
  delivery's recorded copy_sha256/copy_len are hashlib's of what the simulator stored; the
  attachments Python decodes from each copy hash like the original's; an unknown element and an
  unknown attribute survive.
- A package with a real XML-DSig (structurally real Signature: SignedInfo with a real digest and a
  non-placeholder SignatureValue) spanning both axes goes to the national axis alone with every
  recipient, byte-identical to the submission, and the reason shows in GET /v1/packages/{id};
  likewise a package in Latin-1 (reason "encoding").
- A status package's copy is the TraceHeader insertion alone.
- A copy that is not faithful is never sent: copy_mismatch, counted and logged.
- The signature check and the copies of the first document read its bytes from the gateway's
  cache of stored chunks (gateway_body_cache_*: hits, no miss)."""

import base64
import datetime
import hashlib
import os
import re

import gwtest as t

pkg = t.package_read
synced = t.directory_synced

IN = "000.00.05.H49"   # in the province: listed by both directories, goes to the provincial axis
OUT = "000.00.00.G22"  # out of the province: national directory only
TS = re.compile(rb"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d")


def directory(codes):
    return {"agencies": [{"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": c + "@x"}
                         for i, c in enumerate(codes)], "qd20": []}


def signature():
    """A structurally real XML-DSig block (digest of real bytes, a random 2048-bit value)."""
    digest = base64.b64encode(hashlib.sha256(b"signed content").digest()).decode()
    value = base64.b64encode(os.urandom(256)).decode()
    ds = "http://www.w3.org/2000/09/xmldsig#"
    return ('\n      <Signature xmlns="%s"><SignedInfo>'
            '<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
            '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
            '<Reference URI=""><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
            '<DigestValue>%s</DigestValue></Reference></SignedInfo>'
            '<SignatureValue>%s</SignatureValue></Signature>' % (ds, digest, value))


def package(document_id, attachments, signed=False):
    """An indented package to IN and OUT with an unknown attribute and element, and attachments."""
    atts = "".join(
        "\n    <Attachment><ContentId>%d</ContentId><AttachmentName>vb%d.pdf</AttachmentName>"
        "<ContentType>application/pdf</ContentType>"
        "<ContentTransferEncoded>%s</ContentTransferEncoded></Attachment>"
        % (i + 1, i + 1, base64.b64encode(a).decode()) for i, a in enumerate(attachments))
    refs = "".join("<Reference><ContentId>cid:%d</ContentId></Reference>" % (i + 1)
                   for i in range(len(attachments)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<edXML xmlns="%s" xmlns:x="urn:example:unknown" x:relay="kept">\n'
            '  <edXMLEnvelope>\n'
            '    <edXMLHeader>\n'
            '      <MessageHeader>\n'
            '        <From><OrganId>%s</OrganId><OrganName>Sở Tài chính</OrganName></From>\n'
            '        <To><OrganId>%s</OrganId><OrganName>Sở Nội vụ</OrganName></To>\n'
            '        <To><OrganId>%s</OrganId><OrganName>Bộ Tài chính</OrganName></To>\n'
            '        <DocumentId>%s</DocumentId>\n'
            '        <Code><CodeNumber>1</CodeNumber><CodeNotation>STC-NS</CodeNotation></Code>\n'
            '        <Subject>Bản sao theo trục</Subject>\n'
            '      </MessageHeader>\n'
            '      <TraceHeaderList>\n'
            '        <TraceHeader><OrganId>%s</OrganId><Timestamp>2024/05/15 08:00:00</Timestamp></TraceHeader>\n'
            '        <Bussiness><BussinessDocType>0</BussinessDocType><Paper>0</Paper></Bussiness>\n'
            '      </TraceHeaderList>%s\n'
            '    </edXMLHeader>\n'
            '    <edXMLBody><edXMLManifest>%s</edXMLManifest>'
            '<x:Extra x:note="giữ nguyên">phần mở rộng</x:Extra></edXMLBody>\n'
            '  </edXMLEnvelope>\n'
            '  <AttachmentEncoded>%s\n  </AttachmentEncoded>\n'
            '</edXML>\n'
            % (t.NS, t.AGENCY, IN, OUT, document_id, t.AGENCY, signature() if signed else "", refs, atts)
            ).encode("utf-8")


def expected_parts(sub, other):
    """The copy without `other`, split around the TraceHeader the gateway inserts: (head, indent,
    tail); the copy must be head + indent + <TraceHeader>...ours...</TraceHeader> + tail."""
    m = re.search(rb"[ \t\r\n]*<To><OrganId>%s</OrganId>.*?</To>" % re.escape(other.encode()), sub, re.S)
    assert m, other
    cut = sub[:m.start()] + sub[m.end():]
    end = cut.rindex(b"</TraceHeader>") + len(b"</TraceHeader>")
    start = cut.rindex(b"<TraceHeader>")
    k = start
    while cut[k - 1:k] in (b" ", b"\t", b"\r", b"\n"):
        k -= 1
    return cut[:end], cut[k:start], cut[end:]


def check_copy(got, sub, other, own):
    head, indent, tail = expected_parts(sub, other)
    trace_open = indent + b"<TraceHeader><OrganId>" + own.encode() + b"</OrganId><Timestamp>"
    trace_close = b"</Timestamp></TraceHeader>"
    assert got.startswith(head + trace_open), (got[:len(head) + 200], head[-200:])
    rest = got[len(head + trace_open):]
    ts = rest[:19]
    assert TS.fullmatch(ts), ts
    assert rest[19:] == trace_close + tail, "the copy differs after the inserted TraceHeader"
    vn = datetime.datetime.strptime(ts.decode(), "%Y/%m/%d %H:%M:%S")
    now_vn = datetime.datetime.utcnow() + datetime.timedelta(hours=7)
    assert abs((now_vn - vn).total_seconds()) <= 120, (ts, now_vn)


def attachments_of(data):
    return [hashlib.sha256(base64.b64decode(m)).hexdigest()
            for m in re.findall(rb"<ContentTransferEncoded>(.*?)</ContentTransferEncoded>", data, re.S)]


def sim_package(sim, doc_id):
    r = sim.ctl("GET", "/_sim/package?docId=" + doc_id)
    assert r.status == 200, (r.status, r.body)
    return r.body


def test_copies(env):
    systems = [{"systemid": t.GW_SYSTEMID, "secret_b64": t.GW_SECRET, "organ_ids": [t.PROVINCE, t.AGENCY]}]
    root = os.path.join(env.root, "prov")
    os.makedirs(root)
    prov = t.Sim(root, systems)
    try:
        run_copies(env, prov)
    finally:
        prov.close()


def run_copies(env, prov):
    nat = env.sim
    nat.ctl("POST", "/_sim/directory", directory([OUT, IN, t.PROVINCE, t.AGENCY]))
    prov.ctl("POST", "/_sim/directory", directory([IN, t.PROVINCE, t.AGENCY]))
    gw = env.gateway({
        "axis.national:role": "national",
        "axis.prov:adapter": "vxp", "axis.prov:base_url": prov.url(), "axis.prov:systemid": t.GW_SYSTEMID,
        "axis.prov:secret": t.GW_SECRET, "axis.prov:poll_interval_ms": "300", "axis.prov:timeout_ms": "2000",
        "axis.prov:role": "provincial",
        "routing:directory_retry_ms": "300", "routing:directory_interval_ms": "600000",
    })
    t.wait_until(lambda: synced(env, "national") and synced(env, "prov"), 20, what="directories synced")
    sims = {"national": nat, "prov": prov}
    own = t.PROVINCE  # [gateway] organ_ids: the first

    # A document to IN (provincial) and OUT (national): each axis gets only its own To.
    blobs = [b"%PDF-1.4\n" + os.urandom(3000), b"%PDF-1.4\n" + os.urandom(70000)]
    sub = package("000.00.12.H49,2024/06/01,21/STC-NS", blobs)
    hits0 = t.metric(gw, "gateway_body_cache_hits_total") or 0
    misses0 = t.metric(gw, "gateway_body_cache_misses_total") or 0
    r = gw.submit(sub)
    assert r.status == 202, r.body
    pid = r.json()["id"]
    doc = t.wait_until(lambda: (lambda d: d if all(x["state"] == "SENT" for x in d["deliveries"]) else None)(
        pkg(gw, pid)), 30, what="both copies SENT")
    assert sorted((d["axis"], d["recipients"]) for d in doc["deliveries"]) == [("national", [OUT]), ("prov", [IN])]
    want_atts = [hashlib.sha256(b).hexdigest() for b in blobs]
    assert [a["sha256"] for a in doc["attachments"]] == want_atts
    for d in doc["deliveries"]:
        got = sim_package(sims[d["axis"]], d["axis_doc_id"])
        other = OUT if d["axis"] == "prov" else IN
        check_copy(got, sub, other, own)
        assert d["copy_sha256"] == hashlib.sha256(got).hexdigest() and d["copy_len"] == len(got), d
        assert attachments_of(got) == want_atts
        assert b'x:relay="kept"' in got and \
            '<x:Extra x:note="giữ nguyên">phần mở rộng</x:Extra>'.encode("utf-8") in got
        # The simulator checked hash-file against the body before storing it.
        assert sims[d["axis"]].stats()["sent_by_document_id"].get("000.00.12.H49,2024/06/01,21/STC-NS") == 1
    # The signature check (one read per PDF) and the two copies read the stored bytes from
    # memory, none from PostgreSQL; the copies above are byte-exact, so were those bytes.
    # (/metrics is a snapshot of at most a second ago.)
    t.wait_until(lambda: t.metric(gw, "gateway_body_cache_hits_total") - hits0 >= 4, 10,
                 what="the chunk reads answered from memory")
    assert t.metric(gw, "gateway_body_cache_misses_total") == misses0

    # A package with a real XML-DSig spanning both axes: national axis alone, unchanged.
    signed = package("000.00.12.H49,2024/06/01,22/STC-NS", blobs[:1], signed=True)
    r = gw.submit(signed)
    assert r.status == 202, r.body
    sid = r.json()["id"]
    doc = t.wait_until(lambda: (lambda d: d if d["deliveries"] and all(x["state"] == "SENT" for x in d["deliveries"])
                                else None)(pkg(gw, sid)), 30, what="signed package SENT")
    assert [(d["axis"], d["recipients"]) for d in doc["deliveries"]] == [("national", [IN, OUT])], doc["deliveries"]
    assert [(x["recipient"], x["axis"], x["unchanged_reason"]) for x in doc["routes"]] == \
        [(IN, "national", "xmldsig"), (OUT, "national", "xmldsig")], doc["routes"]
    ev = [e for e in doc["events"] if e["kind"] == "routed_unchanged"]
    assert ev and ev[0]["detail"]["reason"] == "xmldsig", doc["events"]
    got = sim_package(nat, doc["deliveries"][0]["axis_doc_id"])
    assert got == signed, "the signed package was altered"
    assert doc["deliveries"][0]["copy_sha256"] == hashlib.sha256(signed).hexdigest()
    assert prov.stats()["sent_by_document_id"].get("000.00.12.H49,2024/06/01,22/STC-NS") is None
    # A package in another encoding than UTF-8 (Latin-1 here) cannot be edited either.
    latin = package("000.00.12.H49,2024/06/01,24/STC-NS", blobs[:1]).decode("utf-8")
    for vi, plain in (("Sở Tài chính", "So Tai chinh"), ("Sở Nội vụ", "So Noi vu"), ("Bộ Tài chính", "Bo Tai chinh"),
                      ("Bản sao theo trục", "Ban sao ca phe"), ("giữ nguyên", "giu nguyen"), ("phần mở rộng", "mo rong")):
        latin = latin.replace(vi, plain)
    latin = latin.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("ca phe", "caf\u00e9").encode("latin-1")
    assert b"\xe9" in latin
    r = gw.submit(latin)
    assert r.status == 202, r.body
    lid = r.json()["id"]
    doc = t.wait_until(lambda: (lambda d: d if d["deliveries"] and all(x["state"] == "SENT" for x in d["deliveries"])
                                else None)(pkg(gw, lid)), 30, what="Latin-1 package SENT")
    assert [(d["axis"], d["recipients"]) for d in doc["deliveries"]] == [("national", [IN, OUT])], doc["deliveries"]
    assert {x["unchanged_reason"] for x in doc["routes"]} == {"encoding"}, doc["routes"]
    assert sim_package(nat, doc["deliveries"][0]["axis_doc_id"]) == latin

    # A status package (no To): its copy is the TraceHeader insertion alone, here a new
    # TraceHeaderList right after the MessageHeader, with the siblings' prefix.
    st = t.status_pkg("000.00.00.G22,2024/05/10,56/VPCP", OUT, code="03")
    r = gw.submit(st)
    assert r.status == 202, r.body
    stid = r.json()["id"]
    doc = t.wait_until(lambda: (lambda d: d if d["state"] == "SENT" else None)(pkg(gw, stid)), 30,
                       what="status SENT")
    got = sim_package(nat, doc["deliveries"][0]["axis_doc_id"])
    end = st.index(b"</edXML:MessageHeader>") + len(b"</edXML:MessageHeader>")
    m = re.fullmatch(re.escape(st[:end]) + rb"<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>"
                     + re.escape(own.encode()) + rb"</edXML:OrganId><edXML:Timestamp>(.{19})</edXML:Timestamp>"
                     rb"</edXML:TraceHeader></edXML:TraceHeaderList>" + re.escape(st[end:]), got, re.S)
    assert m and TS.fullmatch(m.group(1)), got
    assert doc["deliveries"][0]["copy_sha256"] == hashlib.sha256(got).hexdigest()

    # No copy mismatch on any axis: every series of the counter (if declared yet) reads 0.
    metrics = t.request(gw.port, "GET", "/metrics", token=None).body.decode()
    counts = re.findall(r"^gateway_copy_mismatch_total\{[^}]*\} (\S+)$", metrics, re.M)
    assert all(float(v) == 0 for v in counts), counts


def test_mismatch_never_sent(env):
    """A copy that does not check out (here: the stored attachment hash tampered with while the
    axis was disabled) fails with copy_mismatch, is counted and logged, and never reaches the axis."""
    gw = env.gateway({"axis.national:enabled": "false"}, ready=False)
    t.wait_until(lambda: t.request(gw.port, "GET", "/readyz", token=None).json()["checks"]["database"] == "ok",
                 30, what="database")
    sub = t.edoc("000.00.12.H49,2024/06/01,23/STC-NS", to=(OUT,))
    r = gw.submit(sub)
    assert r.status == 202, r.body
    pid = r.json()["id"]
    env.pg.query("UPDATE attachment SET sha256 = sha256(sha256) WHERE package_id = %d" % pid)
    assert gw.stop(30) == 0
    gw2 = env.gateway()
    d = t.wait_until(lambda: (lambda x: x if x["last_error"] else None)(pkg(gw2, pid)["deliveries"][0]), 30,
                     what="a failed attempt")
    assert d["last_error"].startswith("copy_mismatch: attachment 0 hashes differently"), d
    assert d["state"] == "QUEUED" and d["copy_sha256"] is None, d
    assert env.sim.stats()["requests"]["sendEdoc"] == 0
    assert 'gateway_copy_mismatch_total{axis="national"} ' in \
        t.request(gw2.port, "GET", "/metrics", token=None).body.decode()
    assert '"event":"delivery.copy_mismatch"' in gw2.tail(1000)


if __name__ == "__main__":
    t.run([test_copies, test_mismatch_never_sent])
