#!/usr/bin/env python3
"""The edXMLHeader schema (schemas/edxml/edxml.xsd) checked with an independent validator,
xmllint: it compiles, every valid_* header of tests/fixtures/edxml_xsd validates, and every
invalid_* header fails with its first error on the element cases.txt names."""
import os
import shutil
import subprocess
import sys

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
XSD = os.path.join(SRC, "schemas", "edxml", "edxml.xsd")
FIX = os.path.join(SRC, "tests", "fixtures", "edxml_xsd")


def main():
    if not shutil.which("xmllint"):
        print("xmllint not installed")
        return 77
    failures = 0
    n = 0
    for line in open(os.path.join(FIX, "cases.txt"), encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        name, verdict, xpath = line.split()
        n += 1
        p = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", XSD,
                            os.path.join(FIX, name)], capture_output=True, text=True)
        if verdict == "valid":
            ok = p.returncode == 0
        else:
            last = xpath.rsplit("/", 1)[-1]
            first = next((l for l in p.stderr.splitlines() if "validity error" in l), "")
            # xmllint names the element of the first error ("element Priority: ...").
            ok = p.returncode == 3 and f"element {last}:" in first
        if not ok:
            failures += 1
            print(f"FAIL {name}: want {verdict} ({xpath}), xmllint rc={p.returncode}: "
                  f"{p.stderr.strip()[:400]}")
    print(f"{n} headers, {failures} failures")
    return 1 if failures or n < 10 else 0


if __name__ == "__main__":
    sys.exit(main())
