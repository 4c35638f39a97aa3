"""gatewayctl verify over every signed-PDF fixture (tests/fixtures/sig/make.sh): the summary and
each signature's indication and sub-indication must be those the manifest derives from
domain.md §6, and the exit status 0 exactly for TOTAL-PASSED. Revocation comes from the test
PKI's fresh CRLs (--offline --crl); with only the stale CRL, every signature that needs
revocation data is INDETERMINATE/TRY_LATER. The edXML packages are checked whole."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import gwtest  # noqa: E402

CTL = os.path.join(gwtest.BUILD, "gatewayctl")


def verify(path, pki, crls):
    args = [CTL, "verify", path, "--trust", os.path.join(pki, "trust"), "--json", "--offline"]
    for c in crls:
        args += ["--crl", os.path.join(pki, "crl", c)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1), (path, p.returncode, p.stderr)
    return p.returncode, json.loads(p.stdout)


def main():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.path.join(gwtest.SRC, "tests/fixtures/sig/make.sh"), d,
                        "http://127.0.0.1:9"], check=True, capture_output=True, timeout=300)
        m = json.load(open(os.path.join(d, "manifest.json")))
        pki = os.path.join(d, "pki")
        bad = []
        for pdf in m["pdfs"]:
            rc, rep = verify(os.path.join(d, pdf["file"]), pki, ["sub.crl", "root.crl"])
            want = pdf["summary"]
            got = (rep["summary"], rep["summary_sub"] or None)
            if got != (want["indication"], want["subindication"]):
                bad.append("%s: summary %s, manifest %s" % (pdf["file"], got, want))
            if rc != (0 if want["indication"] == "TOTAL-PASSED" else 1):
                bad.append("%s: exit %d" % (pdf["file"], rc))
            sigs = rep["signatures"]
            if len(sigs) != len(pdf["signatures"]):
                bad.append("%s: %d signatures, manifest %d" % (pdf["file"], len(sigs),
                                                               len(pdf["signatures"])))
                continue
            for s, w in zip(sigs, pdf["signatures"]):
                if (s["indication"], s["sub_indication"] or None) != (w["indication"],
                                                                      w["subindication"]):
                    bad.append("%s sig %d: %s/%s, manifest %s/%s" % (
                        pdf["file"], s["idx"], s["indication"], s["sub_indication"],
                        w["indication"], w["subindication"]))
                # a signature that fails before its signer is known has no role
                known = s["sub_indication"] not in ("FORMAT_FAILURE", "HASH_FAILURE")
                if known and w.get("role") in ("person", "organisation") and s["role"] != w["role"]:
                    bad.append("%s sig %d: role %s, manifest %s" % (pdf["file"], s["idx"],
                                                                    s["role"], w["role"]))
        # Only a stale CRL: revocation data unobtainable now -> TRY_LATER, never a pass.
        rc, rep = verify(os.path.join(d, "person.pdf"), pki, ["sub-stale.crl"])
        assert rc == 1 and rep["summary_sub"] == "TRY_LATER", rep
        # The packages: the worst of their signed PDFs.
        for pkg in m["packages"]:
            rc, rep = verify(os.path.join(d, pkg["file"]), pki, ["sub.crl", "root.crl"])
            want = pkg["summary"]
            if (rep["summary"], rep["summary_sub"] or None) != (want["indication"],
                                                              want["subindication"]):
                bad.append("%s: package %s/%s, manifest %s" % (pkg["file"], rep["summary"],
                                                              rep["summary_sub"], want))
        assert not bad, "\n".join(bad)
        gwtest.log("%d PDFs and %d packages agree with the manifest" % (len(m["pdfs"]),
                                                                        len(m["packages"])))


if __name__ == "__main__":
    main()
