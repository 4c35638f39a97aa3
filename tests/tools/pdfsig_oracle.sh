#!/usr/bin/env bash
# Independent PDF signature oracle: runs poppler's pdfsig on FILE with the NSS database NSSDIR
# (made by tests/lib/pki.sh: the test root and sub CA trusted, "C,C,C") and prints one JSON line
# per signature:
#   {"index": 1, "field": ..., "signer": ..., "type": ..., "signing_time": ..., "ranges": [[a, b], ...],
#    "total": true|false, "signature": "Signature is Valid.", "certificate": "Certificate is Trusted."|null}
# No line when the file has no signature. Exit 0 when pdfsig ran, 1 otherwise.
# OCSP is off (-no-ocsp): revocation is not part of what this oracle checks. pdfsig 22.12 has no
# option to validate at another time than now, and it does not verify ETSI.RFC3161 timestamps.
#   tests/tools/pdfsig_oracle.sh FILE NSSDIR
set -uo pipefail
file=${1:?usage: pdfsig_oracle.sh FILE NSSDIR}
nss=${2:?usage: pdfsig_oracle.sh FILE NSSDIR}
out=$(timeout 60 pdfsig -nssdir "sql:$nss" -no-ocsp "$file" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  case "$out" in
  *"does not contain any signatures"*) exit 0 ;;
  *) echo "pdfsig failed ($rc): $out" >&2; exit 1 ;;
  esac
fi
printf '%s\n' "$out" | python3 -c '
import json, re, sys
sigs, cur = [], None
for line in sys.stdin.read().splitlines():
    m = re.match(r"Signature #(\d+):", line)
    if m:
        cur = {"index": int(m.group(1)), "field": None, "signer": None, "type": None, "signing_time": None,
               "ranges": [], "total": None, "signature": None, "certificate": None}
        sigs.append(cur)
        continue
    if cur is None:
        continue
    s = line.strip()
    kv = s[2:].split(": ", 1) if s.startswith("- ") else [s]
    k, v = kv[0], (kv[1] if len(kv) > 1 else "")
    if k == "Signature Field Name": cur["field"] = v
    elif k == "Signer Certificate Common Name": cur["signer"] = v
    elif k == "Signature Type": cur["type"] = v
    elif k == "Signing Time": cur["signing_time"] = v
    elif k == "Signed Ranges":
        cur["ranges"] = [[int(a), int(b)] for a, b in re.findall(r"\[(\d+) - (\d+)\]", v)]
    elif k == "Total document signed": cur["total"] = True
    elif k == "Not total document signed": cur["total"] = False
    elif k == "Signature Validation": cur["signature"] = v
    elif k == "Certificate Validation": cur["certificate"] = v
for s in sigs:
    print(json.dumps(s, ensure_ascii=False))
'
