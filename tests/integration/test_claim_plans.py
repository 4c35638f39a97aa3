"""The claims' cost does not grow with the backlog, whatever statistics the plans were made with.

The whole schema is applied (`gatewayd --migrate`) and analysed while empty, autovacuum off on the
tables the claims read, so every plan is made with the statistics of a fresh installation. Then
a backlog of 20,000 packages, each with a queued delivery and a signature check, of which 10 are
due (fewer than a batch: the case where a claim that cannot stop early reads everything). Each
claim is called seven times in one session, every call rolled back, so the last calls run the
function's generic plans (plpgsql makes one after five calls). auto_explain reports the plans of
the statements nested in the last call; the test reads the candidates' scans and the shared
buffers the whole call touched. Buffers are counted, not timed: the same on any machine."""

import re
import subprocess

import gwtest as t
from test_state_sql import migrate

BACKLOG = 20000
DUE = 10
# Rows read per claim with the index that stops after the batch: the due rows, their packages and
# bodies, the leases checked. A claim that walked the backlog touched thousands of buffers per
# call (3,273 rows, 9,961 buffers with 11 due in the profile).
MAX_BUFFERS = 400

CLAIMS = {
    "gw_claim_copies": "SELECT count(*) FROM gw_claim_copies('plans', 30000, 32, 33554432, 86400, "
                       "'{national}', '{32}')",
    "gw_check_claim": "SELECT count(*) FROM gw_check_claim('plans', 30000, 32)",
}

# The per-document functions whose nested statements must keep one generic plan (017).
GENERIC = ["gw_submit_staged", "gw_check_claim", "gw_check_done", "gw_claim_copies",
           "gw_deliveries_sent_copy", "gw_delivery_failed"]


def backlog(env):
    env.pg.query("ANALYZE")
    for table in ("package", "delivery", "package_check", "body"):
        env.pg.query("ALTER TABLE %s SET (autovacuum_enabled = off)" % table)
    env.pg.query("""
INSERT INTO body (size, chunks, complete) SELECT 27000, 1, true FROM generate_series(1, %(n)d);
INSERT INTO package (direction, kind, document_id, sender, recipients, source, sha256, size, state, body_id)
    SELECT 'out', 'edoc', 'backlog-' || g, '000.00.12.H49', '{000.00.00.G22}', 'qlvbdh',
           sha256(g::text::bytea), 27000, 'ROUTED', g
      FROM generate_series(1, %(n)d) g;
INSERT INTO delivery (package_id, axis, recipients, state, next_attempt_at, created_at)
    SELECT g, 'national', '{000.00.00.G22}', 'QUEUED',
           CASE WHEN g <= %(due)d THEN now() - interval '1 minute' + g * interval '1 ms'
                WHEN g %% 100 = 0 THEN now() + interval '1 hour'
                ELSE 'infinity' END,
           now() - interval '1 minute'
      FROM generate_series(1, %(n)d) g;
INSERT INTO package_check (package_id, direction, next_check_at)
    SELECT g, 'out', CASE WHEN g <= %(due)d THEN now() - interval '1 minute' + g * interval '1 ms'
                          ELSE now() + interval '1 hour' END
      FROM generate_series(1, %(n)d) g;
""" % {"n": BACKLOG, "due": DUE})
    # The statistics are still those of the empty tables.
    assert env.pg.query("SELECT reltuples FROM pg_class WHERE relname = 'delivery'") in ("0", "-1")


def last_call_plans(env, call):
    """auto_explain's report of the seventh call: (nested plans, the call's own plan)."""
    script = "\n".join([
        "LOAD 'auto_explain';",
        "SET auto_explain.log_min_duration = 0;",
        "SET auto_explain.log_analyze = on;",
        "SET auto_explain.log_buffers = on;",
        "SET auto_explain.log_timing = off;",
        "SET auto_explain.log_nested_statements = on;",
        "SET auto_explain.log_level = notice;",
    ] + ["BEGIN; %s; ROLLBACK;" % call] * 6 + [
        "DO $$ BEGIN RAISE NOTICE 'last call'; END $$;",
        "BEGIN; %s; ROLLBACK;" % call,
    ]) + "\n"
    r = subprocess.run(["psql", "-h", env.pg.host, "-U", "postgres", "-d", "gateway", "-v", "ON_ERROR_STOP=1",
                        "-Atq", "-f", "-"], input=script, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    counts = r.stdout.split()
    assert counts == [str(DUE)] * 7, counts  # every call claims the due rows, and only them
    report = r.stderr.split("NOTICE:  last call", 1)[1]
    blocks = re.split(r"NOTICE:  duration: ", report)[1:]
    assert blocks, report
    return blocks[:-1], blocks[-1]


def shared_buffers(plan):
    """Shared buffers (hit + read) of a plan's top node."""
    m = re.search(r"Buffers: shared ((?:hit|read|dirtied|written)=\d+(?: (?:hit|read|dirtied|written)=\d+)*)", plan)
    if not m:
        return 0
    parts = dict(p.split("=") for p in m.group(1).split())
    return int(parts.get("hit", 0)) + int(parts.get("read", 0))


def test_claims_stop_after_the_due_rows(env):
    migrate(env)
    backlog(env)
    for name, call in CLAIMS.items():
        nested, whole = last_call_plans(env, call)
        scans = "\n".join(nested)
        for table in ("delivery", "package_check", "package"):
            assert not re.search(r"(Seq Scan|Bitmap Heap Scan) on %s\b" % table, scans), (name, scans)
        assert "Index Scan" in scans, (name, scans)
        used = shared_buffers(whole)
        t.log("%s: %d shared buffers with %d queued, %d due" % (name, used, BACKLOG, DUE))
        assert 0 < used <= MAX_BUFFERS, (name, used, whole)


def test_per_document_functions_keep_generic_plans(env):
    migrate(env)
    rows = dict(env.pg.rows("SELECT p.proname, array_to_string(p.proconfig, ',') FROM pg_proc p "
                            "WHERE p.proname IN (%s)" % ", ".join("'%s'" % f for f in GENERIC)))
    for f in GENERIC:
        assert "plan_cache_mode=force_generic_plan" in rows.get(f, ""), (f, rows.get(f))
    for f in ("gw_claim_copies", "gw_check_claim"):
        assert "enable_seqscan=off" in rows[f] and "enable_bitmapscan=off" in rows[f], (f, rows[f])


if __name__ == "__main__":
    t.run([test_claims_stop_after_the_due_rows, test_per_document_functions_keep_generic_plans])
