#!/usr/bin/env bash
# Where PostgreSQL's time goes per relayed document: gatewayd and the axis simulator on loopback (as
# tests/bench/run.sh starts them), a PostgreSQL cluster of its own with pg_stat_statements
# (track = all: statements nested in the SQL functions are counted too), wrk submitting 27 KB
# packages for a while, then the drain of every delivery. Prints, divided by the documents relayed:
# the cluster's CPU (postmaster and every backend, live or exited), commits (xact_commit), WAL bytes,
# statements sent by gatewayd (top level), the top statements by total time, top level and nested,
# and the WAL by record type (pg_walinspect).
#   tests/bench/pgprofile.sh [BUILD_DIR]    (default build; gatewayd must be built there)
#   GW_PROF_SECONDS (10)  GW_PROF_CONNECTIONS (8)  GW_PROF_PAD_BYTES (20000)  GW_PROF_TOP (25)
#   GW_PROF_MIGRATIONS (schemas/sql): the migrations to run, e.g. a copy without the newest ones
#   to compare a schema with its predecessor.
#   GW_PROF_KEEP=1 leaves the cluster running and prints its socket directory (stop it with
#   tests/lib/pg.sh stop DIR/pg).
# Figures are for comparing two builds on the same machine; the machine's other load moves them.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
build=${1:-build}
secs=${GW_PROF_SECONDS:-10}
conns=${GW_PROF_CONNECTIONS:-8}
pad=${GW_PROF_PAD_BYTES:-20000}
top=${GW_PROF_TOP:-25}
[ -x "$build/gatewayd" ] || {
  echo "no $build/gatewayd: build it first" >&2
  exit 2
}

tmp=$(mktemp -d /tmp/gw-pgprof.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${GW_PROF_KEEP:-0}" = 1 ]; then
    echo "cluster kept: socket $tmp/pg (stop: tests/lib/pg.sh stop $tmp/pg)"
    return
  fi
  "$root/tests/lib/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pghost=$("$root/tests/lib/pg.sh" start "$tmp/pg")
q() { psql -h "$pghost" -U postgres -d gateway -Atc "$1"; }
cat >>"$tmp/pg/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 5000
track_functions = all
CONF
"$root/tests/lib/pg.sh" restart "$tmp/pg" >/dev/null
psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway" >/dev/null
q "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_walinspect" >/dev/null

token="bench-token"
secret=$(printf 'bench-secret' | base64)
cat >"$tmp/spec.json" <<JSON
{"systems":[{"systemid":"gw-bench","secret_b64":"$secret","organ_ids":["000.00.00.H49"]}]}
JSON
python3 tests/sim/axis_sim.py --port 0 --port-file "$tmp/sim.port" --systems "$tmp/spec.json" \
  >"$tmp/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/sim.port" ] && break; sleep 0.1; done
cat >"$tmp/gatewayd.ini" <<INI
[gateway]
instance_id = prof
organ_ids = 000.00.00.H49, 000.00.12.H49
log_level = warn
[server]
listen = 127.0.0.1:0
max_connections = 4096
max_body_bytes = 8388608
[database]
conninfo = host=$pghost user=postgres dbname=gateway
pool_size = 8
migrations_dir = ${GW_PROF_MIGRATIONS:-$root/schemas/sql}
[client.qlvbdh]
token_sha256 = $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
[axis.national]
adapter = vxp
enabled = true
base_url = http://127.0.0.1:$(cat "$tmp/sim.port")
; the local simulator speaks plain HTTP: allowed for tests only
insecure = true
systemid = gw-bench
secret = $secret
poll_interval_ms = 5000
[delivery]
max_inflight = 64
batch = 32
scan_interval_ms = 100
[routing]
default_axis = national
${GW_PROF_EXTRA_INI:-}
INI
"$build/gatewayd" -c "$tmp/gatewayd.ini" --migrate >"$tmp/gw.log" 2>&1
"$build/gatewayd" -c "$tmp/gatewayd.ini" --port-file "$tmp/gw.port" >>"$tmp/gw.log" 2>&1 &
gwpid=$!
pids+=($gwpid)
for _ in $(seq 100); do [ -s "$tmp/gw.port" ] && break; sleep 0.1; done

python3 - "$tmp/package.xml" "$pad" <<'PY'
import base64, os, sys
pad = int(sys.argv[2])
att = base64.b64encode(b"%PDF-1.4\n" + os.urandom(pad))[: pad * 4 // 3 // 4 * 4].decode()  # whole base64 quanta
ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
xml = ('<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="%s"><edXMLEnvelope><edXMLHeader><MessageHeader>'
       '<From><OrganId>000.00.12.H49</OrganId></From><To><OrganId>000.00.00.G22</OrganId></To>'
       '<To><OrganId>000.00.00.H44</OrganId></To><DocumentId>BENCHDOCID</DocumentId>'
       '<Subject>Đo tải</Subject></MessageHeader></edXMLHeader></edXMLEnvelope><AttachmentEncoded><Attachment>'
       '<ContentId>1</ContentId><ContentTransferEncoded>%s</ContentTransferEncoded></Attachment>'
       '</AttachmentEncoded></edXML>' % (ns, att))
open(sys.argv[1], "w").write(xml)
PY

# CPU of the cluster in clock ticks: the postmaster, its exited children (cutime, cstime) and the
# live ones.
pg_ticks() {
  local pm
  pm=$(head -n 1 "$tmp/pg/data/postmaster.pid")
  {
    awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done
  } | awk '{s += $1} END {print s}'
}
drained() {
  sleep 1
  for _ in $(seq 1200); do
    [ "$(q "SELECT count(*) FROM delivery WHERE state <> 'SENT'")" = "0" ] && return 0
    sleep 0.25
  done
  echo "deliveries did not drain" >&2
  return 1
}
load() { # phase seconds
  GW_BENCH_PACKAGE="$tmp/package.xml" GW_BENCH_TOKEN="$token" GW_BENCH_PHASE="$1" \
    wrk -t 2 -c "$conns" -d "${2}s" -s tests/bench/submit.lua "http://127.0.0.1:$(cat "$tmp/gw.port")" \
    >"$tmp/wrk-$1.out"
  grep -E "Requests/sec|wrk:" "$tmp/wrk-$1.out" | sed 's/^/  /'
}

echo "== warm-up: $conns connections for 2s"
load warm 2
drained; [ -n "${td0:-}" ] && echo "  drain $(echo "$(date +%s.%N) - $td0" | bc) s"
q "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset(); SELECT pg_stat_reset_shared('wal')" >/dev/null
n0=$(q "SELECT count(*) FROM delivery WHERE state = 'SENT'")
sleep 0.6 # pg_stat_database is flushed by each backend at most every 0.5 s
c0=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'gateway'")
w0=$(q "SELECT pg_current_wal_lsn()")
t0=$(pg_ticks)
g0=$(awk '{print $14 + $15}' "/proc/$gwpid/stat")

echo "== profile: $conns connections for ${secs}s, package $(stat -c %s "$tmp/package.xml") bytes"
load prof "$secs"; td0=$(date +%s.%N); echo "  not sent at stop: $(q "SELECT count(*) FROM delivery WHERE state <> 'SENT'")"
drained; [ -n "${td0:-}" ] && echo "  drain $(echo "$(date +%s.%N) - $td0" | bc) s"
sleep 0.6
t1=$(pg_ticks)
g1=$(awk '{print $14 + $15}' "/proc/$gwpid/stat")
n1=$(q "SELECT count(*) FROM delivery WHERE state = 'SENT'")
c1=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'gateway'")
w1=$(q "SELECT pg_current_wal_lsn()")
n=$((n1 - n0))
hz=$(getconf CLK_TCK)
wal=$(q "SELECT pg_wal_lsn_diff('$w1', '$w0')")
echo "  $n documents relayed"
awk -v t=$((t1 - t0)) -v g=$((g1 - g0)) -v hz="$hz" -v n="$n" -v c=$((c1 - c0)) -v w="$wal" 'BEGIN {
  printf "per document: PostgreSQL CPU %.2f ms, gatewayd CPU %.2f ms, commits %.2f, WAL %.1f KB\n",
         1000 * t / hz / n, 1000 * g / hz / n, c / n, w / 1024 / n }'
# The profiling queries themselves (this script's psql) are left out.
filter="query NOT LIKE '%pg_stat%' AND query NOT LIKE 'SELECT count(*) FROM delivery WHERE state <> %'
        AND query NOT LIKE '%pg_current_wal_lsn%'"
echo "statements sent by gatewayd per document: $(q "SELECT round(sum(calls)::numeric / $n, 2)
  FROM pg_stat_statements WHERE toplevel AND $filter")"
echo "== top statements by total time (per document: calls, ms; per call: ms, rows, buffers hit)"
q "SELECT CASE WHEN toplevel THEN 'top ' ELSE 'nest' END,
          round(calls::numeric / $n, 2), round((total_exec_time / $n)::numeric, 3),
          round((total_exec_time / greatest(calls, 1))::numeric, 3),
          round(rows::numeric / greatest(calls, 1), 1),
          round(shared_blks_hit::numeric / greatest(calls, 1)),
          left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
     FROM pg_stat_statements WHERE $filter ORDER BY total_exec_time DESC LIMIT $top" |
  awk -F'|' '{printf "  %s %6s calls %8s ms %8s ms/call %5s rows %5s hit  %s\n", $1, $2, $3, $4, $5, $6, $7}'
echo "== functions by self time (per document: calls, self ms, total ms)"
q "SELECT round(calls::numeric / $n, 2), round((self_time / $n)::numeric, 3),
          round((total_time / $n)::numeric, 3), funcname
     FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 15" |
  awk -F'|' '{printf "  %6s calls %8s ms self %8s ms total  %s\n", $1, $2, $3, $4}'
echo "== WAL by record type (per document: records, bytes, of which full-page images)"
q "SELECT round(count::numeric / $n, 2), round(combined_size::numeric / $n), round(fpi_size::numeric / $n),
          \"resource_manager/record_type\"
     FROM pg_get_wal_stats('$w0', '$w1', true) WHERE count > 0 ORDER BY combined_size DESC LIMIT 12" |
  awk -F'|' '{printf "  %6s records %7s bytes %7s fpi  %s\n", $1, $2, $3, $4}'
