"""The state-transition functions of schemas/sql, driven directly: claim fencing, stale outcomes,
give-up on expired leases, the claim's byte budget, group-commit recording and audit-chain
tamper detection. The schema is applied with `gatewayd --migrate`, twice (idempotent)."""

import os
import subprocess
import time

import gwtest as t


def migrate(env):
    gw = env.gateway(start=False)
    for _ in range(2):
        r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    files = [f for f in os.listdir(os.path.join(t.SRC, "schemas/sql")) if f.endswith(".sql")]
    assert env.pg.query("SELECT count(*) FROM schema_migrations") == str(len(files))


def submit(env, doc, size=10):
    return env.pg.query(
        "SELECT package_id FROM gw_submit('qlvbdh', 'edoc', '%s', 'S', ARRAY['A'], NULL, 0::smallint, "
        "sha256(convert_to(repeat('x', %d), 'UTF8')), convert_to(repeat('x', %d), 'UTF8'), 'national')"
        % (doc, size, size))


def claim(env, owner, lease_ms=1000, limit=10, max_bytes=1 << 30, give_up_s=3600):
    return env.pg.rows("SELECT delivery_id, attempts FROM gw_claim_deliveries('%s', %d, %d, %d, %d)"
                       % (owner, lease_ms, limit, max_bytes, give_up_s))


def test_claim_fencing(env):
    migrate(env)
    submit(env, "D1")
    assert claim(env, "A") == [["1", "1"]]
    assert claim(env, "B") == []  # leased
    time.sleep(1.2)
    assert claim(env, "A") == [["1", "2"]]  # the same owner re-claims an expired lease
    # The superseded attempt's failure changes nothing; the current one's is recorded.
    assert env.pg.query("SELECT gw_delivery_failed(1, 'A', 1, 'late', 100, 1000, 3600)") == ""
    assert env.pg.query("SELECT state FROM delivery") == "SENDING"
    assert env.pg.query("SELECT gw_delivery_failed(1, 'A', 2, 'now', 100, 1000, 3600)") == "QUEUED"
    # A success is the truth whatever attempt it came from, and recording it twice is harmless.
    assert env.pg.query("SELECT recorded FROM gw_deliveries_sent(ARRAY[1]::bigint[], 'A', ARRAY['X1'])") == "t"
    assert env.pg.query("SELECT recorded FROM gw_deliveries_sent(ARRAY[1]::bigint[], 'A', ARRAY['X1'])") == "t"
    assert env.pg.query("SELECT gw_delivery_sent(1, 'A', 'OTHER')") == "f"
    assert env.pg.rows("SELECT d.state, d.axis_doc_id, p.state FROM delivery d JOIN package p ON p.id = d.package_id") \
        == [["SENT", "X1", "SENT"]]


def test_give_up_and_budget(env):
    migrate(env)
    for i in range(3):
        submit(env, "D%d" % i, size=1000)
    # At most max_bytes per claim beyond the first package.
    assert len(claim(env, "A", max_bytes=1500)) == 1
    assert len(claim(env, "A", max_bytes=2500)) == 2
    # A lease that expires after the give-up age ends the delivery as DEAD instead of a re-claim.
    time.sleep(1.2)
    env.pg.query("UPDATE delivery SET created_at = now() - interval '2 hours'")
    assert claim(env, "B", give_up_s=3600) == []
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "3"
    assert env.pg.query("SELECT count(*) FROM package WHERE state = 'DEAD'") == "3"
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'dead'") == "3"


def test_audit_chain(env):
    migrate(env)
    for i in range(3):
        submit(env, "D%d" % i)
    assert env.pg.query("SELECT gw_event_seal(1000)") == "6"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    # Hashes cannot be blanked to hide an edit (NULLs would otherwise compare as unknown).
    try:
        env.pg.query("UPDATE event SET hash = NULL, prev_hash = NULL WHERE id = 1")
        raise AssertionError("blanking a hash was accepted")
    except subprocess.CalledProcessError:
        pass
    env.pg.query("UPDATE event SET detail = '{\"forged\": true}' WHERE id = 2")
    assert env.pg.query("SELECT gw_event_verify()") == env.pg.query("SELECT seq FROM event WHERE id = 2")


def test_changed_migration_refused(env):
    import shutil
    d = env.root + "/sql"
    shutil.copytree(t.SRC + "/schemas/sql", d)
    gw = env.gateway({"database:migrations_dir": d}, start=False)
    run = lambda: subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True,
                                 timeout=60)
    assert run().returncode == 0
    with open(d + "/001_core.sql", "a") as f:
        f.write("\n-- edited after it was applied\n")
    r = run()
    assert r.returncode != 0 and "db.migrate_changed" in r.stdout, r.stdout


def test_bad_configuration_refused(env):
    gw = env.gateway({"delivery:lease_msec": "5000"}, start=False)
    r = subprocess.run([t.GATEWAYD, "-c", gw.config], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown key 'lease_msec' in [delivery]" in r.stdout, r.stdout
    # Secrets come from the environment when the file leaves them out.
    gw = env.gateway({"axis.national:secret": None}, start=False)
    r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "secret is required" in r.stdout, r.stdout
    r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, GATEWAYD_AXIS_NATIONAL_SECRET=t.GW_SECRET))
    assert r.returncode == 0, r.stdout
    assert t.GW_SECRET not in r.stdout


if __name__ == "__main__":
    t.run([test_claim_fencing, test_give_up_and_budget, test_audit_chain, test_changed_migration_refused,
           test_bad_configuration_refused])
