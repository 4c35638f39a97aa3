#!/usr/bin/env bash
# Cost of sealing the audit trail, 001's sealer (rewrites every event) against 013's (appends one
# seal row per batch) and 020's (the same, seal format 2). A throwaway cluster (tests/lib/pg.sh)
# holds three databases, migrated up to 012, 013 and 020; each gets N events written three per transaction, as a document's
# are (synchronous_commit off: the figure is CPU and WAL, not the disk's flush rate), then is
# sealed in batches of 5000 (the daemon's batch), one transaction per batch, then verified.
# Prints, per scheme, time and WAL bytes (pg_current_wal_lsn before and after) of the inserts and
# of the sealing, and the verification's time.
#   tests/bench/audit_seal.sh [N]      (default 30000)
set -euo pipefail

n=${1:-30000}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/gw-audit-bench.XXXXXX)
chmod 755 "$dir"
trap '"$src/tests/lib/pg.sh" stop "$dir/pg"; rm -rf "$dir"' EXIT
host=$("$src/tests/lib/pg.sh" start "$dir/pg")
psql_() { psql -h "$host" -U postgres -v ON_ERROR_STOP=1 -Atq "$@"; }

run() { # name, last migration
  local db=$1 last=$2 f batches
  psql_ -d postgres -c "CREATE DATABASE $db"
  for f in "$src"/schemas/sql/[0-9][0-9][0-9]_*.sql; do
    [[ $(basename "$f") > "$last" ]] && break
    psql_ -d "$db" -1 -f "$f" >/dev/null
  done
  psql_ -d "$db" -c "CHECKPOINT"
  read -r l0 t0 < <(psql_ -d "$db" -F ' ' -c "SELECT pg_current_wal_lsn(), extract(epoch FROM clock_timestamp())")
  psql_ -d "$db" -c "SET synchronous_commit = off" -c "DO \$\$ BEGIN
      FOR i IN 1..($n / 3) LOOP
        PERFORM gw_event(NULL, 'received', 'qlvbdh', jsonb_build_object('document_id',
                '000.00.00.G22,2026/12/03,' || i || '/VPCP', 'kind', 'edoc', 'size', 27000,
                'sha256', encode(sha256(int8send(i)), 'hex')));
        PERFORM gw_event(NULL, 'routed', 'gateway', jsonb_build_object('axis', 'national',
                'recipients', jsonb_build_array('000.00.00.H01')));
        PERFORM gw_event(NULL, 'sent', 'gw1', jsonb_build_object('delivery', i, 'axis_doc_id',
                md5(i::text)));
        COMMIT;
      END LOOP; END \$\$"
  read -r iwal ims < <(psql_ -d "$db" -F ' ' -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$l0'),
      round((extract(epoch FROM clock_timestamp()) - $t0) * 1000)")
  batches=$((n / 5000 + 2))
  {
    echo "\\o /dev/null"
    echo "SELECT pg_current_wal_lsn() AS l0, clock_timestamp() AS t0 \\gset"
    for _ in $(seq "$batches"); do echo "SELECT gw_event_seal(5000);"; done
    echo "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0') AS wal,"
    echo "       round(extract(epoch FROM clock_timestamp() - :'t0') * 1000) AS ms \\gset"
    echo "SELECT clock_timestamp() AS t1 \\gset"
    echo "SELECT gw_event_verify() IS NULL AS ok \\gset"
    echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t1') * 1000) AS vms,"
    echo "       (SELECT seq FROM event_head) AS sealed \\gset"
    echo "\\o"
    echo "\\echo $db events=$n sealed=:sealed insert_ms=$ims insert_wal_bytes=$iwal seal_ms=:ms seal_wal_bytes=:wal verify_ok=:ok verify_ms=:vms"
  } | psql_ -d "$db"
}

run old 012_push.sql
run new 013_audit_seal.sql
run v2 020_audit_seal_v2.sql
