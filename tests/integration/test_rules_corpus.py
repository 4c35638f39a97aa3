#!/usr/bin/env python3
"""Table-driven corpus for `gatewayctl rules test FILE --json --rules DIR [--date D]` and
`gatewayctl rules check DIR`: which documents need a paper copy under Art. 10.3b clauses 1-4
(docs/domain.md §7), on packages built by tests/fixtures/rules/cases.py. Every case's fired clauses,
required/tracked, paper flags and hits (clause, rule, field, normalised text) are compared with the
table; an unexpected hit is a failure. Then the shipped catalogue and tests/fixtures/rules/dates
must pass `rules check`, every catalogue under tests/fixtures/rules/bad must fail with the recorded
PATH:LINE: CODE, and usage errors exit 2. Prints a table of failures; exit 1 if any."""
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("GW_BUILD_DIR") or os.path.join(SRC, "build")
CTL = os.path.join(BUILD, "gatewayctl")
FIX = os.path.join(SRC, "tests", "fixtures", "rules")
RULES = {"default": os.path.join(SRC, "schemas", "rules"), "dates": os.path.join(FIX, "dates")}
VERSIONS = {"default": "2026.12.1", "dates": "test-dates-1"}

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, FIX)
import cases  # noqa: E402

# Bad catalogues: directory -> (file, accepted lines, code). A range is accepted where the error is
# about a whole section (a missing key, a version that overlaps another): any line of that section.
BAD = {
    "syntax": ("rules.ini", {15}, "syntax"),
    "syntax_section": ("rules.ini", {12}, "syntax"),
    "unknown_clause": ("rules.ini", {13}, "unknown_clause"),
    "clause4_in_catalogue": ("rules.ini", {13}, "unknown_clause"),
    "empty_keyword": ("rules.ini", {15}, "empty_keyword"),
    "overlapping_dates": ("rules.ini", set(range(18, 22)), "overlapping_dates"),
    "bad_date_format": ("rules.ini", {14}, "bad_date"),
    "bad_date_impossible": ("rules.ini", {14}, "bad_date"),
    "bad_date_until": ("rules.ini", {15}, "bad_date"),
    "unknown_key": ("rules.ini", {15}, "unknown_key"),
    "missing_effective_from": ("rules.ini", set(range(12, 16)), "missing_key"),
    "missing_keyword": ("rules.ini", set(range(12, 16)), "missing_key"),
    "missing_clause3_condition": ("rules.ini", set(range(12, 16)), "missing_key"),
    "missing_catalogue_version": ("rules.ini", {3, 4}, "missing_key"),
    "key_not_for_clause": ("rules.ini", {16}, "key_not_for_clause"),
    "key_not_for_clause2": ("rules.ini", {16}, "key_not_for_clause"),
}

FAILS = []  # (case, check, expected, got)


def fail(name, check, want, got):
    FAILS.append((name, check, want, got))


def norm(s):
    """NFC, case folding, white-space runs (line breaks, no-break space) collapsed to one space."""
    if s is None:
        return None
    s = unicodedata.normalize("NFC", str(s)).casefold()
    return re.sub(r"[\s\u00a0\u202f\u2007\ufeff]+", " ", s).strip()


def ctl(*args):
    return subprocess.run([CTL, *args], capture_output=True, timeout=120)


def hit_key(h):
    return (h.get("clause"), h.get("rule"), h.get("field"), norm(h.get("text")))


QCVN_ID = re.compile(r"^\d{3}\.\d{2}\.(\d{2})\.([A-Z]\d{2})$")


def _internal(sender, recipients):
    """domain.md §7 clause 4: sender and every recipient share level-1 (MX1X2) and the same non-zero
    level-2 (Y1Y2) code of a QCVN 102 id (V1V2V3.Z1Z2.Y1Y2.MX1X2), each id in its lenient form
    (§4: trimmed, letters upper-cased)."""
    ms = [QCVN_ID.match(x.strip().upper()) for x in [sender, *recipients]]
    if not recipients or not all(ms):
        return False
    keys = {(m[2], m[1]) for m in ms}
    return len(keys) == 1 and ms[0][1] != "00"


def self_check(c):
    """The table against domain.md's definitions, so that a slip in the table is not blamed on the
    program: tracked/mismatch follow from clauses and Paper."""
    pf = c["paper_flags"]
    declared = None if c["paper"] is None else int(c["paper"].strip())
    problems = []
    if pf["internal"] != _internal(c["sender"], [t[0] for t in c["to"]]):
        problems.append("internal")
    if pf["declared"] != declared:
        problems.append("declared")
    if pf["mismatch"] != (bool(c["clauses"]) and declared == 0):
        problems.append("mismatch")
    if pf["declaration"] != (declared == 1 and not pf["internal"]):
        problems.append("declaration")
    if (4 in c["clauses"]) != (declared == 1 and pf["internal"]):
        problems.append("clause 4")
    if sorted(set(c["clauses"])) != c["clauses"] or sorted({h[0] for h in c["hits"]}) != c["clauses"]:
        problems.append("clauses vs hits")
    if problems:
        fail(c["name"], "TABLE", "consistent", ",".join(problems))
        return False
    return True


def run_case(c, tmp):
    if not self_check(c):
        return
    name = c["name"]
    path = os.path.join(tmp, name + ".edxml")
    with open(path, "wb") as f:
        f.write(cases.build_package(c))
    r = ctl("rules", "test", path, "--json", "--rules", RULES[c["rules"]], "--date", c["date"])
    if r.returncode != 0:
        fail(name, "exit", 0, f"{r.returncode} {r.stderr.decode(errors='replace')[-200:]!r}")
        return
    try:
        j = json.loads(r.stdout)
    except ValueError as e:
        fail(name, "json", "one JSON object", f"{e}: {r.stdout[:200]!r}")
        return
    if j.get("document_id") != cases.document_id(c):
        fail(name, "document_id", cases.document_id(c), j.get("document_id"))
    if j.get("date") != c["date"]:
        fail(name, "date", c["date"], j.get("date"))
    cat = j.get("catalogue") or {}
    # The version string's form is not specified (one per file, e.g. "clause1_government.ini@2026.12.1,
    # ..." is fine): it must name the catalogue's version; the digest must be there.
    if VERSIONS[c["rules"]] not in str(cat.get("version")) or not isinstance(cat.get("digest"), str) \
            or not cat.get("digest"):
        fail(name, "catalogue", {"version": "~" + VERSIONS[c["rules"]], "digest": "non-empty"}, cat)
    if j.get("clauses") != c["clauses"]:
        fail(name, "clauses", c["clauses"], j.get("clauses"))
    required = bool(c["clauses"])
    tracked = required or c["paper_flags"]["declaration"]
    if j.get("required") is not required:
        fail(name, "required", required, j.get("required"))
    if j.get("tracked") is not tracked:
        fail(name, "tracked", tracked, j.get("tracked"))
    got_paper = j.get("paper") or {}
    for k, v in c["paper_flags"].items():
        if k not in got_paper or got_paper[k] != v or type(got_paper[k]) is not type(v):
            fail(name, "paper." + k, v, got_paper.get(k, "<absent>"))
    # Hits: every expected one present, nothing else.
    got = list(j.get("hits") or [])
    used = [False] * len(got)
    for h in c["hits"]:
        want = (h[0], h[1], h[2], norm(h[3]))
        for i, g in enumerate(got):
            if not used[i] and hit_key(g) == want:
                used[i] = True
                if len(h) > 4 and norm(g.get("with_text")) != norm(h[4]):
                    fail(name, "hit.with_text", (want, h[4]), g.get("with_text"))
                break
        else:
            fail(name, "hit missing", want, [hit_key(g) for g in got])
    for i, g in enumerate(got):
        if not used[i]:
            fail(name, "hit unexpected", None, hit_key(g))
    # explain: one entry per clause 1..4, fired as the clauses say.
    ex = j.get("explain") or []
    if [e.get("clause") for e in ex] != [1, 2, 3, 4] or \
            [bool(e.get("fired")) for e in ex] != [k in c["clauses"] for k in (1, 2, 3, 4)]:
        fail(name, "explain", [(k, k in c["clauses"]) for k in (1, 2, 3, 4)],
             [(e.get("clause"), e.get("fired")) for e in ex])
    near = {(n.get("rule"), n.get("why")) for n in (j.get("near") or [])}
    for n in c["near"]:
        if n not in near:
            fail(name, "near", n, sorted(near))


def vn_today():
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date().isoformat()


def run_default_date(tmp):
    """Without --date, the date is today in Vietnam time (UTC+7)."""
    c = next(x for x in cases.CASES if x["name"] == "c2_funding_subject")
    path = os.path.join(tmp, "default_date.edxml")
    with open(path, "wb") as f:
        f.write(cases.build_package(c))
    before = vn_today()
    r = ctl("rules", "test", path, "--json", "--rules", RULES["default"])
    after = vn_today()
    try:
        j = json.loads(r.stdout) if r.returncode == 0 else {}
    except ValueError:
        j = {}
    if r.returncode != 0 or j.get("date") not in (before, after) or j.get("clauses") != [2]:
        fail("default_date", "date today (UTC+7)", (0, before, [2]), (r.returncode, j.get("date"), j.get("clauses")))


def run_checks(tmp):
    for label, d in (("check schemas/rules", RULES["default"]), ("check fixtures dates", RULES["dates"])):
        r = ctl("rules", "check", d)
        lines = r.stdout.decode(errors="replace").strip().splitlines()
        if r.returncode != 0 or len(lines) != 1:
            fail(label, "exit 0, one line", (0, 1), (r.returncode, lines, r.stderr.decode(errors="replace")[-300:]))
    bad_root = os.path.join(FIX, "bad")
    present = sorted(d for d in os.listdir(bad_root) if os.path.isdir(os.path.join(bad_root, d)))
    if present != sorted(BAD):
        fail("bad/", "table covers every directory", sorted(BAD), present)
    line_re = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<code>[a-z_]+): .*$")
    for d, (fname, lines, code) in sorted(BAD.items()):
        r = ctl("rules", "check", os.path.join(bad_root, d))
        err = r.stderr.decode(errors="replace")
        found = []
        for ln in err.splitlines():
            m = line_re.match(ln.strip())
            if m:
                found.append((os.path.basename(m["path"]), int(m["line"]), m["code"]))
        ok = r.returncode == 1 and any(f == fname and ln in lines and cd == code for f, ln, cd in found)
        if not ok:
            fail("bad/" + d, "exit 1 + PATH:LINE: CODE",
                 (1, f"{fname}:{'|'.join(map(str, sorted(lines)))}: {code}"), (r.returncode, found or err[-200:]))


def run_usage(tmp):
    good = os.path.join(tmp, "usage.edxml")
    with open(good, "wb") as f:
        f.write(cases.build_package(cases.CASES[0]))
    rules = RULES["default"]
    for args in (["rules"],
                 ["rules", "frobnicate"],
                 ["rules", "test"],
                 ["rules", "test", good, "--json", "--rules"],
                 ["rules", "test", good, "--json", "--rules", rules, "--date"],
                 ["rules", "test", good, "--json", "--rules", rules, "--date", "yesterday"],
                 ["rules", "test", good, "--json", "--rules", rules, "--date", "2026-13-01"],
                 ["rules", "test", good, "--json", "--rules", rules, "--bogus"],
                 ["rules", "check"]):
        r = ctl(*args)
        if r.returncode != 2:
            fail("usage", " ".join(a if a not in (good, rules) else os.path.basename(a) for a in args), 2, r.returncode)
    junk = os.path.join(tmp, "junk.edxml")
    with open(junk, "wb") as f:
        f.write(b"<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'><edXMLEnvelope>not closed")
    r = ctl("rules", "test", junk, "--json", "--rules", rules, "--date", cases.DEFAULT_DATE)
    if r.returncode != 1:
        fail("unparseable package", "exit", 1, r.returncode)


def main():
    if not os.path.exists(CTL):
        print("gatewayctl not built")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases.CASES:
            run_case(c, tmp)
        run_default_date(tmp)
        run_checks(tmp)
        run_usage(tmp)
    failed_cases = sorted({f[0] for f in FAILS})
    if FAILS:
        print(f"{'case':38} {'check':24} expected | got")
        for name, check, want, got in FAILS:
            print(f"{name:38} {check:24} {want!r} | {got!r}"[:600])
    print(f"{len(cases.CASES)} cases, {len(BAD)} bad catalogues: "
          f"{len(FAILS)} failed checks in {len(failed_cases)} cases/groups")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
