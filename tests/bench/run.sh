#!/usr/bin/env bash
# Benchmark: many concurrent QLVBĐH submissions through gatewayd to the national axis on loopback,
# here tests/bench/axis_sink.c (C on libuv, the simulator's protocol checks, nothing stored), so the
# machine's CPU goes to gatewayd and PostgreSQL rather than to the peer.
# Phase 1 saturates it (32 connections) for documents/s end to end and, per relayed document,
# gatewayd CPU, PostgreSQL CPU (the postmaster and all its processes, exited ones included),
# top-level statements (pg_stat_statements), commits (pg_stat_database) and WAL; and the backlog
# when submissions stop (deliveries not yet SENT, against one second of arrivals). Phase 2 paces it
# at half of phase 1's rate (8 connections on a fixed schedule, after 3 s at that pace not counted)
# for p50/p99 latency from submit (commit) to axis acknowledgement (recorded SENT), once phase 1's
# writes are on disk (settle, below); then gatewayd's peak RSS, and the machine's
# ceiling measured in the same run: PostgreSQL insert rate for rows of the package's size made of
# incompressible (random) bytes (pgbench, same concurrency) and OpenSSL SHA-256 / RSA-2048 verify
# rates. The package's attachment is random too, so neither side gains from TOAST compression.
# Phase 3 uses 1 MB packages: parse + store alone (a second gatewayd whose axis is disabled, on its
# own database) in MB per gatewayd CPU-second, then end to end in documents/s, with the same figures
# per document as phase 1, against pgbench inserting rows of 1 MB of random bytes at the same
# concurrency.
# Phase 4: the signature check of a 1 MB PDF with two signatures (person, then organisation) on
# one core (tests/bench/bench_verify.c: the daemon's check, revocation offline from fresh CRLs)
# against OpenSSL alone in the same run (SHA-256 over each ByteRange, the CMS, certificate and CRL
# signature verifications the check needs).
# Phase 5: the paper-copy stage (Art. 10.3 classification, tests/bench/bench_rules.c) with a
# 500-rule province catalogue on one core, beside the whole CPU a relayed document costs in
# phase 1 (gatewayd and PostgreSQL together).
# Phase 6: phases 1 and 2 again with TLS on the northbound listener and towards the axis (a CA of
# the run's own, pinned for the axis; the sink terminates TLS with the gateway's own server code).
# Last line: docs_per_s=… p99_ms=… rss_mb=… ceiling_ratio=… mb_per_cpu_s=… docs_per_s_1mb=…
# ceiling_ratio_1mb=… verify_pdfs_per_s=… verify_ceiling_ratio=… paper_stage_us=… paper_stage_pct=…
# docs_per_s_tls=… p99_ms_tls=… gw_cpu_ms=… pg_cpu_ms=… stmts_per_doc=… commits_per_doc=…
# wal_kb_per_doc=… backlog=… backlog_s=… lat_docs_per_s=… gw_cpu_ms_1mb=… pg_cpu_ms_1mb=…
# stmts_per_doc_1mb=… commits_per_doc_1mb=… wal_kb_per_doc_1mb=… backlog_1mb=… backlog_s_1mb=…
# lat_docs_per_s_tls=… writes_per_doc=… writes_per_doc_1mb=…
#   GW_BENCH_SECONDS (20)  GW_BENCH_CONNECTIONS (32)  GW_BENCH_PAD_BYTES (20000)
#   GW_BENCH_LAT_CONNECTIONS (8)  GW_BENCH_LAT_RATE (half of the saturated phase's documents/s)
#   GW_BENCH_LAT_DELAY_MS (unset; set: that pause between requests on each connection instead of a rate)
#   GW_BENCH_1MB_SECONDS (15)  GW_BENCH_1MB_CONNECTIONS (8)  GW_BENCH_VERIFY_SECONDS (5)
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
secs=${GW_BENCH_SECONDS:-20}
conns=${GW_BENCH_CONNECTIONS:-32}
pad=${GW_BENCH_PAD_BYTES:-20000}

./deploy/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target gatewayd bench_verify bench_rules axis_sink >/dev/null

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

pghost=$("$root/tests/lib/pg.sh" start "$tmp/pg" shared_preload_libraries=pg_stat_statements \
  pg_stat_statements.track=top)
pgpm=$(head -n 1 "$tmp/pg/data/postmaster.pid")
# gatewayd connects as postgres; the benchmark's own queries run as gwbench, so that
# pg_stat_statements can tell them apart.
psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway" -c "CREATE ROLE gwbench SUPERUSER LOGIN" >/dev/null
psql -h "$pghost" -U postgres -d postgres -qc "CREATE EXTENSION pg_stat_statements" >/dev/null

token="bench-token"
secret=$(printf 'bench-secret' | base64)
cat >"$tmp/spec.json" <<JSON
{"systems":[{"systemid":"gw-bench","secret_b64":"$secret","organ_ids":["000.00.00.H49"]}]}
JSON
./build-bench/tests/axis_sink --port 0 --port-file "$tmp/sim.port" --systems "$tmp/spec.json" \
  >"$tmp/sink.log" 2>&1 &
simpid=$!
pids+=($simpid)
for _ in $(seq 100); do [ -s "$tmp/sim.port" ] && break; sleep 0.1; done
simport=$(cat "$tmp/sim.port")

write_config() { # file database axis-enabled
  cat >"$1" <<INI
[gateway]
instance_id = bench
organ_ids = 000.00.00.H49, 000.00.12.H49
log_level = warn
[server]
listen = 127.0.0.1:0
max_connections = 4096
max_body_bytes = 8388608
[database]
conninfo = host=$pghost user=postgres dbname=$2
pool_size = 8
migrations_dir = $root/schemas/sql
[client.qlvbdh]
token_sha256 = $(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
[axis.national]
adapter = vxp
enabled = $3
base_url = http://127.0.0.1:$simport
; the local sink speaks plain HTTP: allowed for tests only
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
INI
}
start_gateway() { # config port-file log -> sets gwpid, gwport
  rm -f "$2"
  ./build-bench/gatewayd -c "$1" --migrate >"$3" 2>&1 # the schema first: no 503 while it migrates
  ./build-bench/gatewayd -c "$1" --port-file "$2" >>"$3" 2>&1 &
  gwpid=$!
  pids+=($gwpid)
  for _ in $(seq 100); do [ -s "$2" ] && break; sleep 0.1; done
  gwport=$(cat "$2")
}
write_config "$tmp/gatewayd.ini" gateway true

# Package templates: a document with a pad-byte attachment of random bytes.
make_package() { # file pad-bytes
  python3 - "$1" "$2" <<'PY'
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
}
make_package "$tmp/package.xml" "$pad"
pkgbytes=$(stat -c %s "$tmp/package.xml")

# The benchmark's queries; each one into the database gateway is counted (qcalls), since its
# connection's commits show in pg_stat_database too.
q() {
  [ "${qdb:-gateway}" = gateway ] && echo >>"$tmp/qcalls"
  psql -h "$pghost" -U gwbench -d "${qdb:-gateway}" -Atc "$1"
}
qcalls() { [ -f "$tmp/qcalls" ] && wc -l <"$tmp/qcalls" || echo 0; }
qpg() { psql -h "$pghost" -U gwbench -d postgres -Atc "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# CPU ticks of the whole cluster: the postmaster's own and those of the children it has reaped
# (backends and workers that exited), plus every live child's.
pg_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pgpm" '
    $2 == "(postgres)" && $1 == pm {s += $14 + $15 + $16 + $17}
    $2 == "(postgres)" && $4 == pm {s += $14 + $15}
    END {print s + 0}'
}
# PostgreSQL's counters for database gateway: CPU ticks, top-level statements of user postgres
# (gatewayd), commits, WAL bytes, the next transaction id (this reading takes one), and the
# benchmark's own queries so far. Read from database
# postgres: the reading adds nothing to them. "pg_snap reset" empties pg_stat_statements first.
gw_statements="pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
  WHERE d.datname = 'gateway' AND r.rolname = 'postgres'"
pg_snap() {
  [ "${1:-}" = reset ] && qpg "SELECT pg_stat_statements_reset()" >/dev/null
  echo "$(pg_ticks) $(qpg "SELECT
    (SELECT coalesce(sum(s.calls), 0) FROM $gw_statements),
    (SELECT xact_commit FROM pg_stat_database WHERE datname = 'gateway'),
    pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'),
    pg_current_xact_id()::text::bigint" | tr '|' ' ') $(qcalls)"
}
# A backend's commit counts reach pg_stat_database when it exits (or some seconds later), so a
# phase's figures are read once gatewayd has stopped and its connections are gone (gatewayd's:
# an autovacuum worker may stay on the database much longer after the 1 MB phases).
gw_backends_gone() {
  for _ in $(seq 300); do
    [ "$(qpg "SELECT count(*) FROM pg_stat_activity WHERE datname IN ('gateway', 'gateway_store')
               AND backend_type = 'client backend'")" = 0 ] &&
      return 0
    sleep 0.1
  done
  echo "connections to database gateway remain:" >&2
  qpg "SELECT datname, backend_type, state, now() - query_start, left(query, 120)
         FROM pg_stat_activity WHERE datname IN ('gateway', 'gateway_store')" >&2
  return 1
}
stop_gateway() {
  kill "$gwpid" 2>/dev/null || true
  wait "$gwpid" 2>/dev/null || true
  gw_backends_gone
}
# Commits of one benchmark query's connection (its start-up transaction and its query), measured.
gw_backends_gone
c0=$(pg_snap | cut -d' ' -f3)
for _ in 1 2 3 4; do q "SELECT 1" >/dev/null; done
gw_backends_gone
c1=$(pg_snap | cut -d' ' -f3)
commits_per_query=$(((c1 - c0) / 4))
# Per relayed document between two pg_snap (before, after) for n documents and gatewayd's CPU
# ticks: sets pg_ms, stmts, commits, wal_kb, and writes (commits of transactions that wrote,
# i.e. took a transaction id; the benchmark's queries only read).
per_doc() {
  read -r p0 s0 x0 w0 i0 q0 <<<"$1"
  read -r p1 s1 x1 w1 i1 q1 <<<"$2"
  read -r pg_ms stmts commits wal_kb writes < <(awk -v n="$3" -v hz="$hz" -v p=$((p1 - p0)) -v s=$((s1 - s0)) \
    -v x=$((x1 - x0 - commits_per_query * (q1 - q0))) -v w="$w0" -v w1="$w1" -v i=$((i1 - i0 - 1)) 'BEGIN {
      if (!n) {print "0 0 0 0 0"; exit}
      printf "%.3f %.2f %.2f %.1f %.2f\n", 1000 * p / hz / n, s / n, x / n, (w1 - w) / 1024 / n, i / n}')
}
# The statements that took most of PostgreSQL's time since the last reset, per document.
top_statements() { # documents
  echo "  top statements (per document: calls, execution ms; query):"
  qpg "SELECT to_char(s.calls::numeric / $1, 'FM990.00'), to_char(s.total_exec_time / $1, 'FM990.000'),
         left(regexp_replace(s.query, '\s+', ' ', 'g'), 90)
       FROM $gw_statements ORDER BY s.total_exec_time DESC LIMIT 6" | tr '|' ' ' | sed 's/^/    /'
}
# Before a latency phase: a checkpoint and the kernel's writeback of what the saturated phase before
# it wrote, so that they happen between the phases and not inside the measured one. A server that
# has run for a while checkpoints every few minutes and reuses its WAL segments; a fresh cluster
# just after a saturated phase creates a new 16 MB segment for every 16 MB of WAL (PostgreSQL
# zero-fills it, every commit waits: about 70 ms every 2 s at half rate) while the kernel writes
# out the saturated phase's pages (stalls of up to 1 s on this disk): p99 80-95 ms instead of
# about 20 ms in three runs each.
settle() {
  q "CHECKPOINT" >/dev/null
  sync
}
sink_stats() { curl -s --max-time 5 "${1:-http://127.0.0.1:$simport}/_sim/stats" ${2:+--cacert "$2"}; }
drained() {
  sleep 1 # submissions wrk abandoned at its deadline may still commit
  for _ in $(seq 1200); do
    [ "$(q "SELECT count(*) FROM delivery WHERE state <> 'SENT'")" = "0" ] && return 0
    sleep 0.5
  done
  echo "deliveries did not drain" >&2
  return 1
}
load() { # phase connections seconds [delay-ms]; rate=documents/s paces it
  GW_BENCH_PACKAGE="${pkgfile:-$tmp/package.xml}" GW_BENCH_TOKEN="$token" GW_BENCH_PHASE="$1" \
    GW_BENCH_DELAY_MS="${4:-0}" GW_BENCH_RATE="${rate:-0}" GW_BENCH_THREADS="$(($2 < 2 ? $2 : 2))" \
    wrk -t "$(($2 < 2 ? $2 : 2))" -c "$2" -d "${3}s" --latency -s tests/bench/submit.lua "${scheme:-http}://127.0.0.1:$gwport" \
    >"$tmp/wrk-$1.out"
  grep -E "Requests/sec|wrk:" "$tmp/wrk-$1.out" | sed 's/^/  /'
}
phase_sql() { # phase -> count|docs/s|p50|p99 over submit commit -> axis ack recorded
  q "SELECT count(*),
    round(count(*) / greatest(extract(epoch FROM max(d.sent_at) - min(p.created_at)), 0.001), 1),
    round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - p.created_at))::numeric, 1),
    round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - p.created_at))::numeric, 1)
    FROM delivery d JOIN package p ON p.id = d.package_id
    WHERE d.state = 'SENT' AND p.document_id LIKE '%,$1-%'" | tr '|' ' '
}

# The backlog when submissions stop (right after wrk): deliveries of the phase not yet SENT,
# against one second of its arrivals (packages accepted / seconds). Sets backlog, backlog_s, arrivals.
backlog_at_stop() { # phase seconds
  read -r backlog accepted < <(q "SELECT count(*) FILTER (WHERE d.state <> 'SENT'), count(*)
    FROM delivery d JOIN package p ON p.id = d.package_id WHERE p.document_id LIKE '%,$1-%'" | tr '|' ' ')
  read -r arrivals backlog_s < <(awk -v b="$backlog" -v a="$accepted" -v t="$2" \
    'BEGIN {r = a / t; printf "%.1f %.2f\n", r, (r > 0 ? b / r : 0)}')
  echo "  backlog when submissions stopped: $backlog deliveries not yet SENT = ${backlog_s} s of arrivals" \
    "(${arrivals} accepted/s)"
  # Where it waits: for the signature check (gate closed), for a send (due), in a send.
  read -r b_check b_due b_send < <(q "SELECT count(*) FILTER (WHERE c.gate = 'closed'),
      count(*) FILTER (WHERE c.gate IS DISTINCT FROM 'closed' AND d.state = 'QUEUED'),
      count(*) FILTER (WHERE d.state = 'SENDING')
    FROM delivery d JOIN package p ON p.id = d.package_id LEFT JOIN package_check c ON c.package_id = p.id
    WHERE p.document_id LIKE '%,$1-%' AND d.state <> 'SENT'" | tr '|' ' ')
  echo "  of which: $b_check awaiting the signature check, $b_due queued for a send, $b_send in a send"
}
sink_check() { # [url cacert]: the sink refused nothing
  local st
  st=$(sink_stats "$@")
  if ! grep -q '"protocol_fail":0[,}]' <<<"$st"; then
    echo "  the axis sink refused calls: $st (its log: the first refusals)" >&2
    sed 's/^/    /' "$tmp"/sink*.log >&2
  fi
}

echo "== throughput: $conns connections for ${secs}s, package $pkgbytes bytes"
start_gateway "$tmp/gatewayd.ini" "$tmp/gw.port" "$tmp/gw.log"
snap0=$(pg_snap reset)
cpu0=$(cpu_ticks "$gwpid")
sim0=$(cpu_ticks "$simpid")
t0=$(date +%s.%N)
load sat "$conns" "$secs"
backlog_at_stop sat "$secs"
drained
t1=$(date +%s.%N)
cpu1=$(cpu_ticks "$gwpid")
sim1=$(cpu_ticks "$simpid")
hwm1=$(awk '/VmHWM/ {print $2}' "/proc/$gwpid/status")
stop_gateway # its connections' counters reach pg_stat_database as they close
snap1=$(pg_snap)
read -r sat_n docs_per_s sat_p50 sat_p99 < <(phase_sql sat)
cpu_ms=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$sat_n" 'BEGIN {printf "%.3f", n ? 1000 * t / hz / n : 0}')
per_doc "$snap0" "$snap1" "$sat_n"
pg_cpu_ms=$pg_ms sat_stmts=$stmts sat_commits=$commits sat_wal_kb=$wal_kb sat_writes=$writes
echo "  $sat_n documents relayed at ${docs_per_s} docs/s end to end (backlog latency p50 ${sat_p50} ms)"
echo "  CPU per relayed document: gatewayd ${cpu_ms} ms, PostgreSQL ${pg_cpu_ms} ms"
echo "  per relayed document: ${sat_stmts} statements (top level), ${sat_commits} commits (${sat_writes} that" \
  "wrote), ${sat_wal_kb} KB of WAL"
[ "$sat_n" -gt 0 ] && top_statements "$sat_n"
awk -v g=$((cpu1 - cpu0)) -v s=$((sim1 - sim0)) -v p=$(($(cut -d' ' -f1 <<<"$snap1") - $(cut -d' ' -f1 <<<"$snap0"))) \
  -v hz="$hz" -v a="$t0" -v b="$t1" \
  'BEGIN {w = b - a; printf "  CPU over %.1fs (100%% = one core): gatewayd %.0f%%, PostgreSQL %.0f%%, axis sink %.0f%%\n",
          w, 100 * g / hz / w, 100 * p / hz / w, 100 * s / hz / w}'
sink_check
sat_backlog=$backlog sat_backlog_s=$backlog_s

lat_conns=${GW_BENCH_LAT_CONNECTIONS:-8}
lat_delay=${GW_BENCH_LAT_DELAY_MS:-0}
# Half the saturated rate, unless given; a fixed pause per connection when GW_BENCH_LAT_DELAY_MS is set.
half_rate() { awk -v r="$1" 'BEGIN {printf "%.1f", r / 2}'; }
pacing() { # rate -> description
  if [ "$lat_delay" -gt 0 ]; then echo "${lat_delay} ms between requests"; else echo "paced at $1 docs/s"; fi
}
lat_rate_want=${GW_BENCH_LAT_RATE:-$(half_rate "$docs_per_s")}
settle
start_gateway "$tmp/gatewayd.ini" "$tmp/gw.port" "$tmp/gw.log"
echo "== latency below saturation: $lat_conns connections, $(pacing "$lat_rate_want") (half of ${docs_per_s}), for ${secs}s"
# The gateway was just started: 3 s at the same pace first, not counted (new database sessions
# compile their functions and plans, as they do once after every start), so the phase measures
# a running gateway, as the TLS latency phase (after its saturated phase) does.
rate=$lat_rate_want load latwarm "$lat_conns" 3 "$lat_delay" >/dev/null
drained
rate=$lat_rate_want load lat "$lat_conns" "$secs" "$lat_delay"
drained
read -r lat_n lat_rate p50 p99 < <(phase_sql lat)
echo "  $lat_n documents at ${lat_rate} docs/s; submit commit -> axis ack recorded: p50 ${p50} ms, p99 ${p99} ms"
rss_kb=$(awk -v a="$hwm1" '/VmHWM/ {print ($2 > a ? $2 : a)}' "/proc/$gwpid/status")
rss_mb=$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')
echo "  gatewayd peak RSS ${rss_mb} MB (phases 1 and 2)"
stop_gateway

echo "== ceiling: PostgreSQL inserting rows of $pkgbytes random bytes, $conns clients (pgbench)"
# 64 distinct random blobs of the package's size, made once; each pgbench insert copies one of them
# into a new row, so every row written is incompressible, as the packages are.
ceiling() { # table-suffix row-bytes clients blobs -> sets pg_tps, stored
  q "CREATE TABLE ceiling_src$1 (id int PRIMARY KEY, body bytea NOT NULL);
     CREATE TABLE ceiling$1 (id bigserial PRIMARY KEY, body bytea NOT NULL)" >/dev/null
  python3 -c 'import os, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
for i in range(k):
    print("%d\t\\\\x%s" % (i, os.urandom(n).hex()))' "$2" "$4" |
    psql -h "$pghost" -U postgres -d gateway -qc "COPY ceiling_src$1 FROM STDIN"
  printf '\\set r random(0, %d)\nINSERT INTO ceiling%s (body) SELECT body FROM ceiling_src%s WHERE id = :r;\n' \
    "$(($4 - 1))" "$1" "$1" >"$tmp/ceiling$1.sql"
  pgbench -h "$pghost" -U postgres -n -c "$3" -j 2 -T 10 -f "$tmp/ceiling$1.sql" gateway >"$tmp/pgbench$1.out" 2>&1
  pg_tps=$(awk '/^tps/ {print $3; exit}' "$tmp/pgbench$1.out")
  pg_tps=$(printf '%.1f' "$pg_tps")
  stored=$(q "SELECT round(avg(pg_column_size(body))) FROM ceiling$1")
}
ceiling "" "$pkgbytes" "$conns" 64
echo "pgbench: ${pg_tps} inserts/s of ${pkgbytes} random bytes (stored size ${stored} bytes: not compressed)"

echo "== ceiling: OpenSSL on this machine"
sha=$(openssl speed -seconds 2 -bytes "$pkgbytes" sha256 2>/dev/null | awk '/^sha256/ {printf "%.0f", $2 / 1000}')
rsa=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $7}')
echo "openssl: sha256 ${sha} MB/s on ${pkgbytes}-byte inputs; rsa2048 verify ${rsa}/s"

ratio=$(awk -v a="$docs_per_s" -v b="$pg_tps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')

secs1m=${GW_BENCH_1MB_SECONDS:-15}
conns1m=${GW_BENCH_1MB_CONNECTIONS:-8}
make_package "$tmp/package1m.xml" 750000
pkg1m=$(stat -c %s "$tmp/package1m.xml")
echo "== 1 MB packages ($pkg1m bytes): parse + store alone, $conns1m connections for ${secs1m}s (axis disabled)"
psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway_store" >/dev/null
write_config "$tmp/store.ini" gateway_store false
start_gateway "$tmp/store.ini" "$tmp/gw-store.port" "$tmp/gw-store.log"
cpu0=$(cpu_ticks "$gwpid")
pkgfile="$tmp/package1m.xml" load store1m "$conns1m" "$secs1m"
sleep 1
cpu1=$(cpu_ticks "$gwpid")
read -r store_n store_bytes < <(qdb=gateway_store q "SELECT count(*), coalesce(sum(size), 0) FROM package
                                    WHERE document_id LIKE '%,store1m-%'" | tr '|' ' ')
mb_per_cpu_s=$(awk -v b="$store_bytes" -v t=$((cpu1 - cpu0)) -v hz="$hz" \
  'BEGIN {printf "%.0f", t ? b / 1e6 / (t / hz) : 0}')
echo "  $store_n packages parsed and stored ($(awk -v b="$store_bytes" 'BEGIN {printf "%.0f", b / 1e6}') MB):" \
  "${mb_per_cpu_s} MB per gatewayd CPU-second"
stop_gateway

echo "== 1 MB packages end to end: $conns1m connections for ${secs1m}s"
start_gateway "$tmp/gatewayd.ini" "$tmp/gw.port" "$tmp/gw.log"
snap0=$(pg_snap reset)
cpu0=$(cpu_ticks "$gwpid")
pkgfile="$tmp/package1m.xml" load e2e1m "$conns1m" "$secs1m"
backlog_at_stop e2e1m "$secs1m"
drained
cpu1=$(cpu_ticks "$gwpid")
rss1m_mb=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$gwpid/status")
stop_gateway
snap1=$(pg_snap)
read -r e2e_n docs_per_s_1mb e2e_p50 e2e_p99 < <(phase_sql e2e1m)
e2e_cpu_ms=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$e2e_n" 'BEGIN {printf "%.1f", n ? 1000 * t / hz / n : 0}')
per_doc "$snap0" "$snap1" "$e2e_n"
echo "  $e2e_n documents relayed at ${docs_per_s_1mb} docs/s end to end; gatewayd CPU ${e2e_cpu_ms} ms per document;" \
  "peak RSS ${rss1m_mb} MB"
echo "  per relayed document: PostgreSQL CPU ${pg_ms} ms, ${stmts} statements (top level), ${commits} commits," \
  "${writes} that wrote, ${wal_kb} KB of WAL"
[ "$e2e_n" -gt 0 ] && top_statements "$e2e_n"
sink_check
e2e_pg_ms=$pg_ms e2e_stmts=$stmts e2e_commits=$commits e2e_wal_kb=$wal_kb e2e_writes=$writes
e2e_backlog=$backlog e2e_backlog_s=$backlog_s
echo "== ceiling: PostgreSQL inserting rows of $pkg1m random bytes, $conns1m clients (pgbench)"
ceiling _1m "$pkg1m" "$conns1m" 16
echo "pgbench: ${pg_tps} inserts/s of ${pkg1m} random bytes (stored size ${stored} bytes: not compressed)"
ratio1m=$(awk -v a="$docs_per_s_1mb" -v b="$pg_tps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')

echo "== TLS: the same 27 KB packages over TLS on the northbound listener and towards the axis"
# A CA of the run's own, a certificate for 127.0.0.1 used by both gatewayd's listener and the axis
# sink; gatewayd pins the CA for the axis. wrk keeps its connections (keep-alive), as QLVBĐH
# does, so the handshakes are a small part; the records' encryption is all of the rest.
mkdir -p "$tmp/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$tmp/tls/ca.key" -out "$tmp/tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$tmp/tls/server.key" -out "$tmp/tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tmp/tls/ext.cnf"
openssl x509 -req -in "$tmp/tls/server.csr" -CA "$tmp/tls/ca.pem" -CAkey "$tmp/tls/ca.key" -CAcreateserial \
  -days 2 -extfile "$tmp/tls/ext.cnf" -out "$tmp/tls/server.pem" 2>/dev/null
./build-bench/tests/axis_sink --port 0 --port-file "$tmp/simtls.port" --systems "$tmp/spec.json" \
  --tls-cert "$tmp/tls/server.pem" --tls-key "$tmp/tls/server.key" >"$tmp/sinktls.log" 2>&1 &
simtlspid=$!
pids+=($simtlspid)
for _ in $(seq 100); do [ -s "$tmp/simtls.port" ] && break; sleep 0.1; done
sed -e "s#^base_url = .*#base_url = https://127.0.0.1:$(cat "$tmp/simtls.port")\nca_file = $tmp/tls/ca.pem#" \
  -e '/^insecure = /d' \
  -e "s#^listen = .*#listen = 127.0.0.1:0\ntls_cert = $tmp/tls/server.pem\ntls_key = $tmp/tls/server.key#" \
  "$tmp/gatewayd.ini" >"$tmp/tls.ini"
start_gateway "$tmp/tls.ini" "$tmp/gw-tls.port" "$tmp/gw-tls.log"
cpu0=$(cpu_ticks "$gwpid")
sim0=$(cpu_ticks "$simtlspid")
scheme=https load tlssat "$conns" "$secs"
drained
cpu1=$(cpu_ticks "$gwpid")
sim1=$(cpu_ticks "$simtlspid")
read -r tls_n docs_per_s_tls tls_p50 tls_p99 < <(phase_sql tlssat)
tls_cpu_ms=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$tls_n" 'BEGIN {printf "%.3f", n ? 1000 * t / hz / n : 0}')
echo "  $tls_n documents relayed at ${docs_per_s_tls} docs/s end to end (plain HTTP: ${docs_per_s});" \
  "gatewayd CPU ${tls_cpu_ms} ms per document (plain: ${cpu_ms}); axis sink CPU" \
  "$(awk -v t=$((sim1 - sim0)) -v hz="$hz" -v n="$tls_n" 'BEGIN {printf "%.3f", n ? 1000 * t / hz / n : 0}') ms"
sink_check "https://127.0.0.1:$(cat "$tmp/simtls.port")" "$tmp/tls/ca.pem"
tls_rate_want=${GW_BENCH_LAT_RATE:-$(half_rate "$docs_per_s_tls")}
settle
echo "  latency: $lat_conns connections, $(pacing "$tls_rate_want") (half of ${docs_per_s_tls}), for ${secs}s"
scheme=https rate=$tls_rate_want load tlslat "$lat_conns" "$secs" "$lat_delay"
drained
read -r tlslat_n tlslat_rate tls_lat_p50 p99_tls < <(phase_sql tlslat)
echo "  $tlslat_n documents at ${tlslat_rate} docs/s; submit commit -> axis ack recorded: p50 ${tls_lat_p50} ms," \
  "p99 ${p99_tls} ms (plain HTTP: p50 ${p50} ms, p99 ${p99} ms)"
kill "$gwpid" "$simtlspid" 2>/dev/null || true

secsv=${GW_BENCH_VERIFY_SECONDS:-5}
echo "== signature check: 1 MB PDF with two signatures, one core for ${secsv}s each, against OpenSSL alone"
"$root/tests/lib/pki.sh" make "$tmp/pki" http://127.0.0.1:9
# A two-page base with an unreferenced stream of 1,000,000 random bytes (incompressible), signed
# by a person then by an organisation (incremental updates).
python3 - "$tmp/verify-base.pdf" <<'PY'
import os, sys
sys.path.insert(0, "tests/tools")
import pdfsign as ps
open(sys.argv[1], "wb").write(ps.make_base(2, extra={20: ps.Stream({}, os.urandom(1_000_000))}))
PY
for who in person org; do
  in=$([ "$who" = person ] && echo "$tmp/verify-base.pdf" || echo "$tmp/verify-person.pdf")
  python3 tests/tools/pdfsign.py sign "$in" "$tmp/verify-$who.pdf" --cert "$tmp/pki/leaf/$who.pem" \
    --key "$tmp/pki/leaf/$who.key" --chain "$tmp/pki/leaf/$who-chain.pem"
done
./build-bench/tests/bench_verify "$tmp/verify-org.pdf" "$tmp/pki/trust" "$tmp/pki/crl/sub.crl" \
  "$tmp/pki/crl/root.crl" --seconds "$secsv" >"$tmp/verify.out"
sed 's/^/  /' "$tmp/verify.out"
verify_rate=$(awk -F= '/^verify_pdfs_per_s=/ {print $2}' "$tmp/verify.out")
verify_ratio=$(awk -F= '/^verify_ceiling_ratio=/ {print $2}' "$tmp/verify.out")

echo "== paper-copy stage: classification with a 500-rule catalogue, one core"
./build-bench/tests/bench_rules schemas/rules --rules 500 --seconds 3 >"$tmp/rules.out"
sed 's/^/  /' "$tmp/rules.out"
paper_us=$(awk -F= '/^paper_stage_us=/ {print $2}' "$tmp/rules.out")
paper_pct=$(awk -v u="$paper_us" -v g="$cpu_ms" -v p="$pg_cpu_ms" \
  'BEGIN {printf "%.2f", ((g + p) > 0 ? 100 * u / 1000 / (g + p) : 0)}')
echo "  ${paper_us} us per document: ${paper_pct} % of the ${cpu_ms} + ${pg_cpu_ms} ms CPU" \
  "(gatewayd + PostgreSQL) a relayed document costs in phase 1"

echo "docs_per_s=${docs_per_s} p99_ms=${p99} rss_mb=${rss_mb} ceiling_ratio=${ratio}" \
  "mb_per_cpu_s=${mb_per_cpu_s} docs_per_s_1mb=${docs_per_s_1mb} ceiling_ratio_1mb=${ratio1m}" \
  "verify_pdfs_per_s=${verify_rate} verify_ceiling_ratio=${verify_ratio}" \
  "paper_stage_us=${paper_us} paper_stage_pct=${paper_pct}" \
  "docs_per_s_tls=${docs_per_s_tls} p99_ms_tls=${p99_tls}" \
  "gw_cpu_ms=${cpu_ms} pg_cpu_ms=${pg_cpu_ms} stmts_per_doc=${sat_stmts} commits_per_doc=${sat_commits}" \
  "wal_kb_per_doc=${sat_wal_kb} backlog=${sat_backlog} backlog_s=${sat_backlog_s} lat_docs_per_s=${lat_rate}" \
  "gw_cpu_ms_1mb=${e2e_cpu_ms} pg_cpu_ms_1mb=${e2e_pg_ms} stmts_per_doc_1mb=${e2e_stmts}" \
  "commits_per_doc_1mb=${e2e_commits} wal_kb_per_doc_1mb=${e2e_wal_kb} backlog_1mb=${e2e_backlog}" \
  "backlog_s_1mb=${e2e_backlog_s} lat_docs_per_s_tls=${tlslat_rate} writes_per_doc=${sat_writes}" \
  "writes_per_doc_1mb=${e2e_writes}"
