#!/usr/bin/env python3
"""The test PKI (tests/lib/pki.sh) and the signed-PDF fixtures (tests/fixtures/sig/make.sh),
checked against independent tools: openssl verify/crl/ocsp/cms/ts, qpdf --check, poppler's pdfsig
(tests/tools/pdfsig_oracle.sh) and the edXML packages' attachments against the PDF files. Where the
gateway is deliberately stricter than pdfsig the manifest says so (pdfsig_differs) and the test
asserts exactly pdfsig's recorded answer."""
import base64
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import pdfsign as ps  # noqa: E402

MAKE = os.path.join(SRC, "tests", "fixtures", "sig", "make.sh")
PKI_SH = os.path.join(SRC, "tests", "lib", "pki.sh")
ORACLE = os.path.join(SRC, "tests", "tools", "pdfsig_oracle.sh")
NS = "{http://www.mic.gov.vn/TBT/QCVN_102_2016}"
ENV = dict(os.environ, TZ="UTC")
failures = []
checks = [0]


def check(cond, msg):
    checks[0] += 1
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(args, inp=None):
    return subprocess.run(args, input=inp, capture_output=True, env=ENV)


def sig_class(text):
    return {"Signature is Valid.": "valid", "Digest Mismatch.": "digest_mismatch", "Signature is Invalid.": "invalid",
            "Unknown Validation Failure.": "failure",
            "Signature has not yet been verified.": "unverified"}.get(text, "other:%s" % text)


def cert_class(text):
    if text is None:
        return None
    return {"Certificate is Trusted.": "trusted", "Certificate has Expired": "expired",
            "Certificate issuer isn't Trusted.": "untrusted_issuer",
            "Unknown issue with Certificate or corrupted data.": "unknown_issue"}.get(text, "other:%s" % text)


def der_trim(b):
    _, _, end = ps.der_header(b, 0)
    return b[:end]


def unsigned_tst(cms):
    si, _ = ps._signer_info_path(cms)
    if si[-1][0] != 0xA1:
        return None
    for _, _, attr in ps.der_children(si[-1][2]):
        ch = ps.der_children(attr)
        if ch[0][1] == ps.OID_SIG_TST:
            return ps.der_children(ch[1][2])[0][1]
    return None


def gentime(tok_path):
    out = run(["openssl", "ts", "-reply", "-token_in", "-in", tok_path, "-token_out", "-text"]).stdout.decode()
    m = re.search(r"Time stamp: (.+ GMT)", out)
    return datetime.datetime.strptime(m.group(1), "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%dT%H:%M:%SZ")


def check_pki(pki_dir, pki):
    c = pki["certs"]
    p = lambda rel: os.path.join(pki_dir, rel)  # noqa: E731
    root, sub = p(c["root"]["cert"]), p(c["sub"]["cert"])
    check("Cơ quan chứng thực số chuyên dùng Chính phủ" in c["root"]["subject"], "root subject UTF-8")
    check("Cục Chứng thực số và Bảo mật thông tin" in c["sub"]["subject"], "sub CA subject")
    check("UID=CCCD:079123456789" in c["person"]["subject"] and "Nguyễn Văn An" in c["person"]["subject"],
          "person subject: %s" % c["person"]["subject"])
    for n in ("person", "person_rsa", "org", "org2", "tsa", "ocsp", "revoked_before", "revoked_after", "sha1"):
        r = run(["openssl", "verify", "-CAfile", root, "-untrusted", sub, p(c[n]["cert"])])
        check(r.returncode == 0, "openssl verify %s: %s" % (n, r.stdout + r.stderr))
    for n, why in (("expired", b"expired"), ("expired_valid_at_signing", b"expired"),
                   ("not_yet_valid", b"not yet valid"), ("unknown", b"unable to get")):
        r = run(["openssl", "verify", "-CAfile", root, "-untrusted", sub, p(c[n]["cert"])])
        check(r.returncode != 0 and why in r.stdout + r.stderr, "openssl verify %s should fail (%s)" % (n, why))
    txt = run(["openssl", "x509", "-in", p(c["person_rsa"]["cert"]), "-noout", "-text"]).stdout
    check(b"rsaEncryption" in txt and b"(2048 bit)" in txt, "person_rsa is RSA-2048")
    txt = run(["openssl", "x509", "-in", p(c["tsa"]["cert"]), "-noout", "-ext", "extendedKeyUsage"]).stdout
    check(b"critical" in txt and b"Time Stamping" in txt, "TSA EKU critical timeStamping")
    txt = run(["openssl", "x509", "-in", p(c["bad_ku"]["cert"]), "-noout", "-ext", "keyUsage"]).stdout
    check(b"Key Encipherment" in txt and b"Digital Signature" not in txt, "bad_ku key usage")
    txt = run(["openssl", "x509", "-in", p(c["sha1"]["cert"]), "-noout", "-text"]).stdout
    check(b"ecdsa-with-SHA1" in txt, "sha1 leaf signature algorithm")
    txt = run(["openssl", "x509", "-in", p(c["person"]["cert"]), "-noout", "-text"]).stdout.decode()
    base = pki["base_url"]
    for u in (base + "/ca/sub.der", base + "/ocsp", base + "/crl/sub.crl"):
        check(u in txt, "person AIA/CDP has %s" % u)
    now = datetime.datetime.utcnow()
    for name, fresh in (("sub", True), ("sub_stale", False), ("root", True)):
        f = p(pki["crls"][name]["file"])
        r = run(["openssl", "crl", "-inform", "DER", "-in", f, "-noout", "-nextupdate", "-CAfile",
                 root if name == "root" else os.path.join(pki_dir, "ca", "chain.pem")])
        out = r.stdout.decode() + r.stderr.decode()
        m = re.search(r"nextUpdate=(.+ GMT)", out)
        nu = datetime.datetime.strptime(m.group(1), "%b %d %H:%M:%S %Y GMT")
        check((nu > now) == fresh and "verify OK" in out, "CRL %s fresh=%s: %s" % (name, fresh, out))
    txt = run(["openssl", "crl", "-inform", "DER", "-in", p(pki["crls"]["sub"]["file"]), "-noout", "-text"]).stdout
    for n in ("revoked_before", "revoked_after"):
        check(("Serial Number: %s" % c[n]["serial"]).encode() in txt, "fresh CRL lists %s" % n)
    txt = run(["openssl", "crl", "-inform", "DER", "-in", p(pki["crls"]["sub_stale"]["file"]), "-noout",
               "-text"]).stdout
    check(("Serial Number: %s" % c["revoked_before"]["serial"]).encode() in txt
          and ("Serial Number: %s" % c["revoked_after"]["serial"]).encode() not in txt, "stale CRL content")
    check(c["revoked_before"]["revoked_at"] == "2023-01-01T00:00:00Z", "revoked_before time")
    check(c["revoked_after"]["revoked_at"] == "2024-06-01T00:00:00Z", "revoked_after time")
    with tempfile.TemporaryDirectory() as t:
        req, resp = os.path.join(t, "q"), os.path.join(t, "r")
        run(["openssl", "ocsp", "-issuer", sub, "-cert", p(c["revoked_before"]["cert"]), "-cert",
             p(c["person"]["cert"]), "-no_nonce", "-reqout", req])
        run(["openssl", "ocsp", "-index", p(pki["ocsp_index"]), "-CA", sub, "-rsigner", p(c["ocsp"]["cert"]),
             "-rkey", p(c["ocsp"]["key"]), "-reqin", req, "-respout", resp])
        r = run(["openssl", "ocsp", "-respin", resp, "-issuer", sub, "-cert", p(c["revoked_before"]["cert"]),
                 "-cert", p(c["person"]["cert"]), "-CAfile", os.path.join(pki_dir, "ca", "chain.pem")])
        out = r.stdout.decode() + r.stderr.decode()
        check("Response verify OK" in out and "revoked" in out and "Jan  1 00:00:00 2023 GMT" in out
              and ": good" in out, "OCSP answers: %s" % out)


def check_pdf(out, pki_dir, e, nss):
    path = os.path.join(out, e["file"])
    data = open(path, "rb").read()
    name = e["file"]
    if e["well_formed"] is not None:
        r = run(["qpdf", "--check", path])
        check((r.returncode == 0) == e["well_formed"], "qpdf --check %s rc=%d" % (name, r.returncode))
    r = run([ORACLE, path, nss])
    check(r.returncode == 0, "pdfsig oracle on %s: %s" % (name, r.stderr))
    got = [json.loads(ln) for ln in r.stdout.decode().splitlines() if ln.strip()]
    want_n = e.get("pdfsig_signatures", len(e["signatures"]))
    check(len(got) == want_n, "%s: pdfsig sees %d signatures, expected %d" % (name, len(got), want_n))
    if len(got) == len(e["signatures"]):
        for k, (g, s) in enumerate(zip(got, e["signatures"])):
            w = s["pdfsig"]
            cls = sig_class(g["signature"])
            ok = (cls != "valid") if w["signature"] == "not_valid" else (cls == w["signature"])
            check(ok, "%s#%d: pdfsig %r, manifest expects %s" % (name, k + 1, g["signature"], w["signature"]))
            if w["total"] is not None:
                check(g["total"] == w["total"], "%s#%d: pdfsig total %s" % (name, k + 1, g["total"]))
            if w["certificate"] is not None:
                check(cert_class(g["certificate"]) == w["certificate"],
                      "%s#%d: pdfsig certificate %r, expected %s" % (name, k + 1, g["certificate"], w["certificate"]))
    if not e.get("pdfsig_signatures", 1):
        return
    check_openssl(out, pki_dir, e, data)


def check_openssl(out, pki_dir, e, data):
    """Second oracle for the signature bytes: openssl cms/ts on the ranges the ByteRange names."""
    name = e["file"]
    root = os.path.join(pki_dir, "ca", "root.pem")
    sub = os.path.join(pki_dir, "ca", "sub.pem")
    tsa_chain = os.path.join(pki_dir, "tsa", "tsa-chain.pem")
    doc = ps.Pdf(data)
    sigs, seen = [], set()
    for f, sd in doc.signatures():  # a signature dictionary two fields name is one signature
        key = (sd.get("ByteRange") and tuple(sd["ByteRange"]), sd.get("Contents"))
        if key not in seen:
            seen.add(key)
            sigs.append((f, sd))
    check(len(sigs) == len(e["signatures"]), "%s: %d signature fields" % (name, len(sigs)))
    with tempfile.TemporaryDirectory() as t:
        for k, s in enumerate(e["signatures"][: len(sigs)]):
            sd = sigs[k][1]
            br = sd["ByteRange"]
            ranges = b"".join(data[br[j] : br[j] + br[j + 1]] for j in range(0, len(br), 2))
            rp, cp = os.path.join(t, "ranges%d" % k), os.path.join(t, "cms%d" % k)
            open(rp, "wb").write(ranges)
            raw = bytes(sd["Contents"])
            if s["integrity"] == "format" and s["pdfsig"]["signature"] == "failure":
                r = run(["openssl", "cms", "-cmsout", "-inform", "DER", "-in", "/dev/stdin"], inp=raw)
                check(r.returncode != 0, "%s#%d: garbage parses as CMS" % (name, k + 1))
                continue
            cms = der_trim(raw)
            open(cp, "wb").write(cms)
            if s["kind"] == "doc_timestamp":
                r = run(["openssl", "ts", "-verify", "-data", rp, "-in", cp, "-token_in", "-CAfile", root,
                         "-untrusted", tsa_chain])
                check(r.returncode == 0, "%s#%d: document timestamp: %s" % (name, k + 1, r.stdout + r.stderr))
                continue
            if s["subfilter"] == "adbe.pkcs7.sha1":
                r = run(["openssl", "cms", "-verify", "-inform", "DER", "-in", cp, "-noverify", "-out", rp + ".c"])
                check(r.returncode == 0 and open(rp + ".c", "rb").read() == hashlib.sha1(ranges).digest(),
                      "%s#%d: adbe.pkcs7.sha1 content is the SHA-1 of the ranges" % (name, k + 1))
            elif name == "nodetach.pdf":
                r = run(["openssl", "cms", "-verify", "-inform", "DER", "-in", cp, "-noverify", "-out", rp + ".c"])
                check(r.returncode == 0 and open(rp + ".c", "rb").read() == ranges,
                      "%s: SignedData carries the ranges as content" % name)
            else:
                r = run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", cp, "-content", rp,
                         "-noverify", "-out", os.devnull])
                want = s["integrity"] in ("ok", "modified", "format")
                check((r.returncode == 0) == want, "%s#%d: openssl cms -verify -noverify rc=%d (integrity %s)"
                      % (name, k + 1, r.returncode, s["integrity"]))
                if want and s["pdfsig"]["certificate"] == "trusted":
                    r = run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", cp, "-content", rp,
                             "-CAfile", root, "-certfile", sub, "-purpose", "any", "-out", os.devnull])
                    check(r.returncode == 0, "%s#%d: chain verification: %s" % (name, k + 1, r.stderr))
            printed = run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", cp]).stdout.decode()
            if s["subfilter"] == "ETSI.CAdES.detached":
                check("signingCertificateV2" in printed, "%s#%d: CAdES has signingCertificateV2" % (name, k + 1))
            if s["claimed_time"] != "now":
                # faketime starts its clock at the given time and lets it run: on a loaded machine
                # the signature is made a moment later, so allow two minutes
                ct = datetime.datetime.strptime(s["claimed_time"], "%Y-%m-%dT%H:%M:%SZ")
                seen = [datetime.datetime.strptime(" ".join(m.split()), "%b %d %H:%M:%S %Y")
                        for m in re.findall(r"UTCTIME:(\w{3} +\d+ \d\d:\d\d:\d\d \d{4}) GMT", printed)]
                check(any(0 <= (x - ct).total_seconds() <= 120 for x in seen),
                      "%s#%d: signingTime %s (seen %s)" % (name, k + 1, s["claimed_time"], seen))
            dig = re.search(r"digestAlgorithm:\s+algorithm: (\w+)", printed)
            check(dig and dig.group(1) == s["digest"], "%s#%d: digest %s" % (name, k + 1, dig and dig.group(1)))
            tok = unsigned_tst(cms)
            check((tok is not None) == (s["timestamp_time"] is not None), "%s#%d: timestamp present" % (name, k + 1))
            if tok is not None:
                tp = os.path.join(t, "tok%d" % k)
                open(tp, "wb").write(tok)
                h = hashlib.sha256(ps.cms_signature_value(cms)).hexdigest()
                r = run(["openssl", "ts", "-verify", "-digest", h, "-in", tp, "-token_in", "-CAfile", root,
                         "-untrusted", tsa_chain])
                check(r.returncode == 0, "%s#%d: signature timestamp: %s" % (name, k + 1, r.stdout + r.stderr))
                gt, want = gentime(tp), s["timestamp_time"]
                drift = (datetime.datetime.strptime(gt[:19], "%Y-%m-%dT%H:%M:%S") -
                         datetime.datetime.strptime(want[:19], "%Y-%m-%dT%H:%M:%S")).total_seconds()
                check(0 <= drift <= 120, "%s#%d: genTime %s, expected %s" % (name, k + 1, gt, want))


def check_revisions(out):
    def show(f, obj):
        return run(["qpdf", "--show-object=%d" % obj, "--filtered-stream-data", os.path.join(out, f)]).stdout
    check(b"500.000.000" in show("shadow_replace.pdf", 4), "shadow_replace: qpdf shows the replaced content")
    check(b"20 0 R" in run(["qpdf", "--show-object=3", os.path.join(out, "shadow_hide.pdf")]).stdout,
          "shadow_hide: the page now shows object 20")
    for f in ("modified_content.pdf", "shadow_hide.pdf", "shadow_replace.pdf", "isa_xref.pdf", "dss_added.pdf"):
        n = open(os.path.join(out, f), "rb").read().count(b"%%EOF")
        check(n == 3, "%s: %d revisions (base, signature, later)" % (f, n))
    d = open(os.path.join(out, "isa_no_xref.pdf"), "rb").read()
    check(not d.rstrip().endswith(b"%%EOF") and d.rstrip().endswith(b"endobj"), "isa_no_xref ends with an object")
    r = run(["qpdf", "--show-xref", os.path.join(out, "person_org_xrefstream.pdf")]).stdout
    check(b"compressed" in r, "xref-stream base has compressed objects")


def check_packages(out, m):
    for p in m["packages"]:
        root = ET.parse(os.path.join(out, p["file"])).getroot()
        check(root.tag == NS + "edXML", "%s root" % p["file"])
        mh = root.find("%sedXMLEnvelope/%sedXMLHeader/%sMessageHeader" % (NS, NS, NS))
        check(mh.find("%sFrom/%sOrganId" % (NS, NS)).text and mh.find("%sDocumentId" % NS).text,
              "%s header" % p["file"])
        atts = root.findall("%sAttachmentEncoded/%sAttachment" % (NS, NS))
        refs = root.findall("%sedXMLEnvelope/%sedXMLBody/%sedXMLManifest/%sReference" % (NS, NS, NS, NS))
        check(len(atts) == len(p["attachments"]) == len(refs), "%s attachment count" % p["file"])
        for a, want in zip(atts, p["attachments"]):
            raw = base64.b64decode(a.find(NS + "ContentTransferEncoded").text)
            if want["zip_wrapped"]:
                with zipfile.ZipFile(io.BytesIO(raw)) as z:
                    names = z.namelist()
                    check(len(names) == 1 and names[0].endswith(".pdf"), "%s zip entries" % p["file"])
                    raw = z.read(names[0])
            pdf = open(os.path.join(out, want["pdf"]), "rb").read()
            check(raw == pdf, "%s: %s is %s" % (p["file"], want["name"], want["pdf"]))


def check_manifest(m):
    rank = {"TOTAL-FAILED": 0, "INDETERMINATE": 1, "TOTAL-PASSED": 2}
    names = {p["file"]: p for p in m["pdfs"]}
    check(m["policy"]["sha1_cutoff"] == "2024-01-01T00:00:00Z", "policy cut-off stated")
    for p in m["pdfs"]:
        sigs = [s for s in p["signatures"] if s["kind"] == "signature"]
        roles = [s["role"] for s in sigs]
        order_ok = not ("organisation" in roles and "person" in roles[roles.index("organisation"):])
        if not p["signatures"]:
            want = ("NO_SIGNATURE", None)
        else:
            worst = min(p["signatures"], key=lambda s: rank[s["indication"]])
            if worst["indication"] != "TOTAL-PASSED":
                want = (worst["indication"], worst["subindication"])
            elif not order_ok:
                want = ("INDETERMINATE", "SIG_CONSTRAINTS_FAILURE")
            else:
                want = ("TOTAL-PASSED", None)
        check((p["summary"]["indication"], p["summary"]["subindication"]) == want, "%s summary" % p["file"])
        for s in p["signatures"]:
            check(s["integrity"] in m["integrity_values"], "%s integrity value" % p["file"])
            if s["indication"] != "TOTAL-PASSED":
                check(bool(s["subindication"]), "%s subindication" % p["file"])
    for p in m["packages"]:
        summ = [names[a["pdf"]]["summary"] for a in p["attachments"] if names[a["pdf"]]["signatures"]]
        want = min(summ, key=lambda s: rank[s["indication"]]) if summ else {"indication": "NO_SIGNATURE",
                                                                             "subindication": None}
        check(p["summary"] == want, "%s package summary" % p["file"])


def main():
    for tool in ("openssl", "faketime", "pdfsig", "qpdf", "certutil"):
        if not shutil.which(tool):
            print("skip: %s not installed" % tool)
            return 77
    with tempfile.TemporaryDirectory() as out:
        t0 = time.monotonic()
        r = run([MAKE, out, "http://127.0.0.1:18099"])
        took = time.monotonic() - t0
        check(r.returncode == 0, "make.sh: %s" % r.stderr.decode())
        if r.returncode:
            return 1
        print("make.sh: %.1f s" % took)
        check(took < 60, "fixtures take %.1f s (limit 60)" % took)
        pki_dir = os.path.join(out, "pki")
        before = os.stat(os.path.join(pki_dir, "pki.json")).st_mtime_ns
        t0 = time.monotonic()
        r = run([PKI_SH, "make", pki_dir, "http://127.0.0.1:18099"])
        check(r.returncode == 0 and time.monotonic() - t0 < 2
              and os.stat(os.path.join(pki_dir, "pki.json")).st_mtime_ns == before, "pki.sh is idempotent")
        pki = json.load(open(os.path.join(pki_dir, "pki.json"), encoding="utf-8"))
        m = json.load(open(os.path.join(out, "manifest.json"), encoding="utf-8"))
        check_pki(pki_dir, pki)
        check_manifest(m)
        nss = os.path.join(pki_dir, pki["nss"])
        for e in m["pdfs"]:
            check_pdf(out, pki_dir, e, nss)
        check_revisions(out)
        check_packages(out, m)
        print("%d PDFs, %d packages, %d checks" % (len(m["pdfs"]), len(m["packages"]), checks[0]))
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
