#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of the dispatcher's claim (gw_claim_copies) and the verifier's
# (gw_check_claim) with a backlog, before and after migration 014, on a throwaway cluster.
# The schema is applied up to the migration before 014 and the tables analysed while empty (the
# statistics a fresh installation plans with); autovacuum is off, so they stay so. Then the
# backlog: GW_BACKLOG (100000) packages, each with a QUEUED delivery to axis 'national' and a
# package_check row, of which GW_BACKLOG_DUE (10) deliveries are due, 64 are SENDING under a
# live lease, 1% wait for a retry an hour ahead and the rest wait behind a closed signature gate
# (next_attempt_at = 'infinity'); GW_BACKLOG_DUE checks are due, the rest wait for a re-check an
# hour ahead. Fewer due rows than the batch (32) is the case where a claim that cannot stop early
# reads the whole backlog. Each claim runs in a transaction that is rolled back, twice (the plans
# of the second call, from the connection's plan cache, are printed by auto_explain).
#   tests/bench/claim_backlog.sh [before|after|both]   (default both)
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
which=${1:-both}
n=${GW_BACKLOG:-100000}
due=${GW_BACKLOG_DUE:-10}

tmp=$(mktemp -d /tmp/gw-backlog.XXXXXX)
chmod 755 "$tmp"
trap '"$root/tests/lib/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
pghost=$("$root/tests/lib/pg.sh" start "$tmp/pg")
psql -h "$pghost" -U postgres -qc "CREATE DATABASE gateway" >/dev/null
q() { psql -h "$pghost" -U postgres -d gateway -v ON_ERROR_STOP=1 -q "$@"; }
q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null

for f in schemas/sql/[0-9][0-9][0-9]_*.sql; do
  case $(basename "$f") in 014_* | 01[5-9]_* | 0[2-9][0-9]_*) continue ;; esac
  q -1 -f "$f" >/dev/null
done
q -c "ANALYZE" >/dev/null

q <<SQL
INSERT INTO body (size, chunks, complete) SELECT 27000, 1, true FROM generate_series(1, $n);
INSERT INTO package (direction, kind, document_id, sender, recipients, source, sha256, size, state,
                     body_id)
    SELECT 'out', 'edoc', 'backlog-' || g, '000.00.12.H49', '{000.00.00.G22}', 'qlvbdh',
           sha256(g::text::bytea), 27000, 'ROUTED', g
      FROM generate_series(1, $n) g;
INSERT INTO delivery (package_id, axis, recipients, state, next_attempt_at, lease_owner,
                      lease_until, created_at)
    SELECT g, 'national', '{000.00.00.G22}',
           CASE WHEN g <= 64 THEN 'SENDING' ELSE 'QUEUED' END,
           CASE WHEN g <= 64 + $due THEN now() - interval '1 minute' + g * interval '1 ms'
                WHEN g % 100 = 0 THEN now() + interval '1 hour'
                ELSE 'infinity' END,
           CASE WHEN g <= 64 THEN 'other-instance' END,
           CASE WHEN g <= 64 THEN now() + interval '1 minute' END,
           now() - interval '1 minute'
      FROM generate_series(1, $n) g;
INSERT INTO package_check (package_id, direction, next_check_at)
    SELECT g, 'out', CASE WHEN g <= $due THEN now() - interval '1 minute' + g * interval '1 ms'
                          ELSE now() + interval '1 hour' END
      FROM generate_series(1, $n) g;
CHECKPOINT;
SQL
echo "backlog: $(q -Atc "SELECT count(*) FILTER (WHERE state = 'QUEUED') || ' queued ('
  || count(*) FILTER (WHERE state = 'QUEUED' AND next_attempt_at <= now()) || ' due), '
  || count(*) FILTER (WHERE state = 'SENDING') || ' sending' FROM delivery"), $(q -Atc "SELECT count(*)
  FROM package_check WHERE next_check_at <= now()") checks due"

claims() { # label
  echo "== $1"
  # auto_explain's blocks of the second call: the statement reading the candidates and each
  # claim's whole call, each plan without its query text.
  q 2>&1 <<'SQL' | sed -n '/-- second call --/,$p' | awk '
    function flush() { if (keep) printf "%s", blk; blk = ""; keep = 0; plan = 0 }
    /^LOG:  duration/ { flush(); head = $0; next }
    /^Query Text:/ { what = $0; next }
    /\(cost=/ && !plan { plan = 1
      keep = what ~ /SELECT count|WITH due AS/ || prev ~ /FROM unnest\(p_axes|WITH due AS/
      blk = head "  " (what ~ /SELECT count/ ? substr(what, 13) : "(candidates)") "\n" }
    !plan { prev = prev $0; next }
    /^ *count *$|^-+$|^ *[0-9]+$|^\([0-9]+ rows?\)$|^$/ { next }
    { blk = blk $0 "\n"; prev = "" }
    END { flush() }'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_nested_statements = on;
BEGIN;
SELECT count(*) FROM gw_claim_copies('bench', 30000, 32, 33554432, 86400, '{national}', '{32}');
SELECT count(*) FROM gw_check_claim('bench', 30000, 32);
ROLLBACK;
SET client_min_messages = log;
DO $$ BEGIN RAISE LOG '-- second call --'; END $$;
BEGIN;
SELECT count(*) FROM gw_claim_copies('bench', 30000, 32, 33554432, 86400, '{national}', '{32}');
SELECT count(*) FROM gw_check_claim('bench', 30000, 32);
ROLLBACK;
SQL
}
case $which in before | both) claims "before 014" ;; esac
if [ "$which" != before ]; then
  q -1 -f schemas/sql/014_claim_cost.sql >/dev/null
  claims "after 014"
fi
