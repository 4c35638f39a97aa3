#!/usr/bin/env bash
# Benchmark: many concurrent QLVBĐH submissions through gatewayd to the axis simulator on loopback.
# Prints documents/s, p50/p99 latency from submit (commit) to axis acknowledgement (recorded SENT),
# gatewayd's peak RSS, and the machine's ceiling measured in the same run: PostgreSQL insert rate
# for the same bytes (pgbench, same concurrency) and OpenSSL SHA-256 / RSA-2048 verify rates.
# Last line: docs_per_s=… p99_ms=… rss_mb=… ceiling_ratio=…
#   GW_BENCH_SECONDS (20)  GW_BENCH_CONNECTIONS (32)  GW_BENCH_PAD_BYTES (20000)
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
secs=${GW_BENCH_SECONDS:-20}
conns=${GW_BENCH_CONNECTIONS:-32}
pad=${GW_BENCH_PAD_BYTES:-20000}

./deploy/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target gatewayd >/dev/null

tmp=$(mktemp -d /tmp/gw-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/tests/lib/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pghost=$("$root/tests/lib/pg.sh" start "$tmp/pg")
psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway" >/dev/null

token="bench-token"
secret=$(printf 'bench-secret' | base64)
cat >"$tmp/spec.json" <<JSON
{"systems":[{"systemid":"gw-bench","secret_b64":"$secret","organ_ids":["000.00.00.H49"]}]}
JSON
python3 tests/sim/axis_sim.py --port 0 --port-file "$tmp/sim.port" --systems "$tmp/spec.json" \
  >"$tmp/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/sim.port" ] && break; sleep 0.1; done
simport=$(cat "$tmp/sim.port")

cat >"$tmp/gatewayd.ini" <<INI
[gateway]
instance_id = bench
organ_ids = 000.00.00.H49
log_level = warn
[server]
listen = 127.0.0.1:0
max_connections = 4096
[database]
conninfo = host=$pghost user=postgres dbname=gateway
pool_size = 8
migrations_dir = $root/schemas/sql
[client.qlvbdh]
token_sha256 = $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
[axis.national]
adapter = vxp
base_url = http://127.0.0.1:$simport
systemid = gw-bench
secret = $secret
poll_interval_ms = 5000
[delivery]
max_inflight = 64
batch = 32
scan_interval_ms = 100
[routing]
default_axis = national
INI
./build-bench/gatewayd -c "$tmp/gatewayd.ini" --port-file "$tmp/gw.port" >"$tmp/gw.log" 2>&1 &
gwpid=$!
pids+=($gwpid)
for _ in $(seq 100); do [ -s "$tmp/gw.port" ] && break; sleep 0.1; done
gwport=$(cat "$tmp/gw.port")

# One package template: a document with a pad-byte attachment.
python3 - "$tmp/package.xml" "$pad" <<'PY'
import base64, sys
pad = int(sys.argv[2])
att = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256)) * (pad // 256 + 1))[: pad * 4 // 3].decode()
ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
xml = ('<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="%s"><edXMLEnvelope><edXMLHeader><MessageHeader>'
       '<From><OrganId>000.00.12.H49</OrganId></From><To><OrganId>000.00.00.G22</OrganId></To>'
       '<To><OrganId>000.00.00.H44</OrganId></To><DocumentId>BENCHDOCID</DocumentId>'
       '<Subject>Đo tải</Subject></MessageHeader></edXMLHeader></edXMLEnvelope><AttachmentEncoded><Attachment>'
       '<ContentId>1</ContentId><ContentTransferEncoded>%s</ContentTransferEncoded></Attachment>'
       '</AttachmentEncoded></edXML>' % (ns, att))
open(sys.argv[1], "w").write(xml)
PY
pkgbytes=$(stat -c %s "$tmp/package.xml")

echo "== load: $conns connections for ${secs}s, package $pkgbytes bytes"
GW_BENCH_PACKAGE="$tmp/package.xml" GW_BENCH_TOKEN="$token" \
  wrk -t 2 -c "$conns" -d "${secs}s" --latency -s tests/bench/submit.lua "http://127.0.0.1:$gwport" \
  | tee "$tmp/wrk.out" | grep -E "Requests/sec|50%|99%|wrk:" || true

q() { psql -h "$pghost" -U postgres -d gateway -Atc "$1"; }
sleep 1 # submissions wrk abandoned at its deadline may still commit
for _ in $(seq 600); do
  [ "$(q "SELECT count(*) FROM delivery WHERE state <> 'SENT'")" = "0" ] && break
  sleep 0.5
done
total=$(q "SELECT count(*) FROM delivery")
read -r sent docs_per_s p50 p99 < <(q "SELECT count(*),
  round(count(*) / greatest(extract(epoch FROM max(d.sent_at) - min(p.created_at)), 0.001), 1),
  round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - p.created_at))::numeric, 1),
  round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - p.created_at))::numeric, 1)
  FROM delivery d JOIN package p ON p.id = d.package_id WHERE d.state = 'SENT'" | tr '|' ' ')
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$gwpid/status")
rss_mb=$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')
echo "gateway: $sent of $total deliveries SENT; ${docs_per_s} docs/s; p50 ${p50} ms; p99 ${p99} ms; peak RSS ${rss_mb} MB"
kill "$gwpid" 2>/dev/null || true

echo "== ceiling: PostgreSQL inserting the same bytes, $conns clients (pgbench)"
q "CREATE TABLE ceiling (id bigserial PRIMARY KEY, body bytea NOT NULL)" >/dev/null
printf "INSERT INTO ceiling (body) VALUES (convert_to(repeat('x', %d), 'UTF8'));\n" "$pkgbytes" >"$tmp/ceiling.sql"
pgbench -h "$pghost" -U postgres -n -c "$conns" -j 2 -T 10 -f "$tmp/ceiling.sql" gateway >"$tmp/pgbench.out" 2>&1
pg_tps=$(awk '/^tps/ {print $3; exit}' "$tmp/pgbench.out")
pg_tps=$(printf '%.1f' "$pg_tps")
echo "pgbench: ${pg_tps} inserts/s of ${pkgbytes} bytes"

echo "== ceiling: OpenSSL on this machine"
sha=$(openssl speed -seconds 2 -bytes "$pkgbytes" sha256 2>/dev/null | awk '/^sha256/ {print $2}')
rsa=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $7}')
echo "openssl: sha256 ${sha} per second on ${pkgbytes}-byte blocks; rsa2048 verify ${rsa}/s"

ratio=$(awk -v a="$docs_per_s" -v b="$pg_tps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
echo "docs_per_s=${docs_per_s} p99_ms=${p99} rss_mb=${rss_mb} ceiling_ratio=${ratio}"
