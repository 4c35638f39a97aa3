#!/usr/bin/env bash
# Runs the gateway locally with everything it needs: installs packages (Debian 12), builds, starts a
# private PostgreSQL under ./var, the national axis simulator and gatewayd, then submits a sample
# package and prints its journey to the axis and back.
#   ./deploy/quickstart.sh        start (or restart) and run the demo
#   ./deploy/quickstart.sh stop   stop everything started here
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
var="$root/var"
mkdir -p "$var"

stop_all() {
  for name in gatewayd sim; do
    if [ -f "$var/$name.pid" ]; then
      kill "$(cat "$var/$name.pid")" 2>/dev/null || true
      rm -f "$var/$name.pid"
    fi
  done
  "$root/tests/lib/pg.sh" stop "$var/pg" >/dev/null 2>&1 || true
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  echo "stopped"
  exit 0
fi
stop_all

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
  echo "quickstart: $*; last lines of var/gatewayd.log:" >&2
  tail -n 15 "$var/gatewayd.log" >&2
  exit 1
}

step "Installing dependencies and building"
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target gatewayd >/dev/null
echo "built build/gatewayd"

step "Starting PostgreSQL under var/pg"
pghost=$("$root/tests/lib/pg.sh" start "$var/pg")
psql -h "$pghost" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'gateway'" | grep -q 1 ||
  psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway"
echo "socket directory $pghost"

step "Starting the national axis simulator"
token=${GATEWAY_TOKEN:-quickstart-token}
secret=$(printf 'quickstart-secret' | base64)
cat >"$var/sim-spec.json" <<JSON
{"systems":[{"systemid":"gw-h49","secret_b64":"$secret","organ_ids":["000.00.00.H49","000.00.12.H49"]}]}
JSON
rm -f "$var/sim.port"
nohup python3 tests/sim/axis_sim.py --port 0 --port-file "$var/sim.port" --systems "$var/sim-spec.json" \
  >"$var/sim.log" 2>&1 &
echo $! >"$var/sim.pid"
for _ in $(seq 100); do [ -s "$var/sim.port" ] && break; sleep 0.1; done
simport=$(cat "$var/sim.port")
echo "simulator on http://127.0.0.1:$simport"

step "Starting gatewayd"
cat >"$var/gatewayd.ini" <<INI
[gateway]
instance_id = quickstart
organ_ids = 000.00.00.H49, 000.00.12.H49
[server]
listen = 127.0.0.1:${GATEWAY_PORT:-8080}
[database]
conninfo = host=$pghost user=postgres dbname=gateway
migrations_dir = $root/schemas/sql
[client.qlvbdh]
token_sha256 = $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
[axis.national]
adapter = vxp
base_url = http://127.0.0.1:$simport
; the local simulator speaks plain HTTP: allowed for tests only
insecure = true
systemid = gw-h49
secret = $secret
poll_interval_ms = 1000
[delivery]
scan_interval_ms = 200
[routing]
default_axis = national
INI
rm -f "$var/gatewayd.port"
nohup ./build/gatewayd -c "$var/gatewayd.ini" --port-file "$var/gatewayd.port" >"$var/gatewayd.log" 2>&1 &
echo $! >"$var/gatewayd.pid"
for _ in $(seq 100); do [ -s "$var/gatewayd.port" ] && break; sleep 0.1; done
if [ ! -s "$var/gatewayd.port" ]; then
  echo "gatewayd did not start; see var/gatewayd.log:" >&2
  tail -n 20 "$var/gatewayd.log" >&2
  exit 1
fi
port=$(cat "$var/gatewayd.port")
api="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $token")
# Listening comes first; ready once the migrations are applied and the database pool is up.
for _ in $(seq 300); do curl -fsS -o /dev/null "$api/readyz" 2>/dev/null && break; sleep 0.1; done
curl -fsS "$api/readyz"; echo

step "1. QLVBĐH submits a document (tests/fixtures/edxml/edoc_basic.xml) to two recipients"
doc=$(sed "s|1234/STC-NS</DocumentId>|$(date +%s)/STC-NS</DocumentId>|" tests/fixtures/edxml/edoc_basic.xml)
answer=$(printf '%s' "$doc" | curl -sS "${auth[@]}" -H 'Content-Type: application/xml' --data-binary @- "$api/v1/packages")
echo "$answer"
id=$(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
docid=$(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["document_id"])')

step "2. The gateway delivers it to the national axis"
for _ in $(seq 50); do
  state=$(curl -sS "${auth[@]}" "$api/v1/packages/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" = "SENT" ] && break
  sleep 0.2
done
[ "$state" = "SENT" ] || die "the package did not reach the axis (state $state)"
curl -sS "${auth[@]}" "$api/v1/packages/$id" | python3 -c '
import json, sys
p = json.load(sys.stdin)
print("package %d  state %s  DocumentId %s" % (p["id"], p["state"], p["document_id"]))
for d in p["deliveries"]:
    print("  delivery via %s to %s: %s, axis DocId %s, attempts %d" % (d["axis"], ", ".join(d["recipients"]), d["state"], d["axis_doc_id"], d["attempts"]))
for e in p["events"]:
    print("  %s  %-9s by %s" % (e["at"], e["kind"], e["actor"]))'
for organ in 000.00.00.G22 000.00.00.H49; do
  n=$(curl -sS "http://127.0.0.1:$simport/_sim/mailbox?organ=$organ" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
  echo "  axis mailbox of $organ holds $n package(s)"
done

step "3. A recipient answers with status 03 (registered); the gateway fetches it from the axis"
status=$(sed "s|<edXML:DocumentId>[^<]*</edXML:DocumentId>|<edXML:DocumentId>$docid</edXML:DocumentId>|" tests/fixtures/edxml/status_03.xml)
printf '%s' "$status" | curl -sS -X POST --data-binary @- \
  "http://127.0.0.1:$simport/_sim/inject?organ=000.00.12.H49&messagetype=status&from=000.00.00.G22"; echo
for _ in $(seq 50); do
  items=$(curl -sS "${auth[@]}" "$api/v1/inbox")
  printf '%s' "$items" | grep -q '"kind":"status"' && break
  sleep 0.2
done
printf '%s' "$items" | grep -q '"kind":"status"' || die "the status package did not reach the inbox"

step "4. QLVBĐH reads its inbox and acknowledges"
printf '%s' "$items" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["items"]:
    print("inbox #%s: package %d, %s %s for %s, status %s, from axis %s (%s)" % (i["seq"], i["id"], i["kind"], i["axis_doc_id"], i["document_id"], i["status_code"], i["axis"], i["content_url"]))'
inid=$(printf '%s' "$items" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][-1]["id"])')
curl -sS -X POST "${auth[@]}" "$api/v1/inbox/$inid/ack"; echo

step "Running"
cat <<TXT
gatewayd   $api   (token: $token)   log: var/gatewayd.log
simulator  http://127.0.0.1:$simport   PostgreSQL socket: $pghost (psql -h $pghost -U postgres gateway)
metrics    $api/metrics
stop with  ./deploy/quickstart.sh stop
TXT
