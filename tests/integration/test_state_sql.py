"""The state-transition functions of schemas/sql, driven directly: claim fencing, stale outcomes,
give-up on expired leases, the claim's byte budget, group-commit recording, audit sealing (late
commits, batch limits, a database sealed by 001 migrated to 013) and tamper detection. The schema is applied with `gatewayd --migrate`, twice (idempotent)."""

import datetime
import hashlib
import json
import os
import shutil
import struct
import subprocess

import gwtest as t


def migrate(env):
    gw = env.gateway(start=False)
    for _ in range(2):
        r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    known = [n for n in os.listdir(os.path.join(t.SRC, "schemas/sql")) if n[:3].isdigit() and n.endswith(".sql")]
    assert env.pg.query("SELECT count(*) FROM schema_migrations") == str(len(known))


def submit(env, doc, size=10):
    return env.pg.query(
        "SELECT package_id FROM gw_submit('qlvbdh', 'edoc', '%s', 'S', ARRAY['A'], NULL, 0::smallint, "
        "sha256(convert_to(repeat('x', %d), 'UTF8')), convert_to(repeat('x', %d), 'UTF8'), 'national')"
        % (doc, size, size))


def claim(env, owner, lease_ms=1000, limit=10, max_bytes=1 << 30, give_up_s=3600):
    return env.pg.rows("SELECT delivery_id, attempts FROM gw_claim_deliveries('%s', %d, %d, %d, %d)"
                       % (owner, lease_ms, limit, max_bytes, give_up_s))


def wait_leases_expired(env):
    """Until the database's clock is past every lease (what a claim compares against)."""
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM delivery WHERE state = 'SENDING' "
                                      "AND lease_until >= clock_timestamp()") == "0", 10, what="leases expired")


def test_claim_fencing(env):
    migrate(env)
    submit(env, "D1")
    assert claim(env, "A") == [["1", "1"]]
    assert claim(env, "B") == []  # leased
    wait_leases_expired(env)
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
    wait_leases_expired(env)
    env.pg.query("UPDATE delivery SET created_at = now() - interval '2 hours'")
    assert claim(env, "B", give_up_s=3600) == []
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "3"
    assert env.pg.query("SELECT count(*) FROM package WHERE state = 'DEAD'") == "3"
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'dead'") == "3"


def seal_of(env, event_id):
    """The trail position gw_event_verify reports for a fault in an event: the first position of
    the seal covering it (013_audit_seal.sql), or its 001 seq."""
    return env.pg.query(
        "SELECT coalesce((SELECT s.first_pos FROM event_seal s WHERE (e.xid, e.id) >= (s.from_xid, s.from_id)"
        " AND (e.xid, e.id) < (s.to_xid, s.to_id)), e.seq) FROM event e WHERE e.id = %d" % event_id)


def tampered(env, sql):
    """What gw_event_verify answers with sql applied, in a transaction then rolled back."""
    return env.pg.query("BEGIN; %s; SELECT coalesce(gw_event_verify()::text, 'ok'); ROLLBACK" % sql)


def refused(env, sql):
    try:
        env.pg.query(sql)
    except subprocess.CalledProcessError:
        return True
    return False


UTC_US = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"


def seal_hash_py(env, seq):
    """A seal's hash recomputed in Python (hashlib, struct, datetime) from the rows' text, not by the
    SQL functions under test. Format 1 (013): sha256(prev_hash || seq|first_pos|from_xid|from_id|
    to_xid|to_id|events|sealed_at || the digests of its events in (xid, id) order), an event's
    digest being sha256(id|package_id|kind|actor|detail|at|xid). Format 2 (020): every field
    framed as a 4-byte big-endian UTF-8 length and its bytes (NULL: length -1 alone), times as
    microseconds since 1970 UTC, the seal's fields after the tag "gw-event-seal/2"."""
    seal = env.pg.rows("SELECT encode(prev_hash, 'hex'), seq, first_pos, from_xid, from_id, to_xid, to_id, "
                       "events, to_char(sealed_at AT TIME ZONE 'UTC', %s), version FROM event_seal WHERE seq = %d"
                       % (UTC_US, seq))[0]
    version = seal.pop()
    # each field as the hex of its UTF-8 text ('-' for NULL), so that no separator can be confused
    # with content
    fields = ["e.id::text", "e.package_id::text", "e.kind", "e.actor", "e.detail::text",
              "to_char(e.at AT TIME ZONE 'UTC', %s)" % UTC_US, "e.xid::text"]
    events = env.pg.rows("SELECT " + ", ".join("coalesce(encode(convert_to(%s, 'UTF8'), 'hex'), '-')" % f
                                               for f in fields) +
                         " FROM event e, event_seal s "
                         "WHERE s.seq = %d AND e.seq IS NULL AND (e.xid, e.id) >= (s.from_xid, s.from_id) "
                         "AND (e.xid, e.id) < (s.to_xid, s.to_id) ORDER BY e.xid, e.id" % seq)
    assert len(events) == int(seal[7])
    events = [[None if f == "-" else bytes.fromhex(f) for f in e] for e in events]
    prev = bytes.fromhex(seal[0])
    if version == "1":
        digests = b"".join(hashlib.sha256(b"|".join(f or b"" for f in e)).digest() for e in events)
        return hashlib.sha256(prev + "|".join(seal[1:]).encode("utf-8") + digests).hexdigest()
    assert version == "2", version

    def framed(b):
        return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b

    def micros(text):  # "YYYY-MM-DDTHH:MM:SS.ffffff" in UTC
        d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
        return str((d - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) //
                   datetime.timedelta(microseconds=1)).encode()

    digests = b""
    for e in events:
        e[5] = micros(e[5].decode())
        digests += hashlib.sha256(b"".join(framed(f) for f in e)).digest()
    head = [f.encode() for f in seal[1:8]] + [micros(seal[8])]
    return hashlib.sha256(prev + framed(b"gw-event-seal/2") + b"".join(framed(f) for f in head) +
                          digests).hexdigest()


def test_audit_chain(env):
    migrate(env)
    for i in range(3):
        submit(env, "D%d" % i)
    rows = "SELECT string_agg(id || ':' || ctid::text || ':' || xmin::text, ',' ORDER BY id) FROM event"
    before = env.pg.query(rows)
    assert env.pg.query("SELECT gw_event_seal(1000)") == "6"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    assert env.pg.query("SELECT gw_event_unsealed()") == "0"
    # Sealing appends a seal row; no event row is written again (same row versions).
    assert env.pg.query(rows) == before
    assert env.pg.rows("SELECT seq, first_pos, events FROM event_seal") == [["1", "1", "6"]]
    assert seal_hash_py(env, 1) == env.pg.query("SELECT encode(hash, 'hex') FROM event_seal WHERE seq = 1")
    # Beyond the batch limit, a seal covers an exact sub-range and the next one the rest.
    for i in range(3, 5):
        submit(env, "D%d" % i)
    assert [env.pg.query("SELECT gw_event_seal(3)") for _ in range(3)] == ["3", "1", "0"]
    assert env.pg.rows("SELECT first_pos, events FROM event_seal ORDER BY seq") == [["1", "6"], ["7", "3"],
                                                                                   ["10", "1"]]
    assert env.pg.query("SELECT seq FROM event_head") == "10"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    # A transaction that commits late (its event id taken before the others') is sealed after it
    # commits, in a later seal; events of transactions that started after it wait for it too.
    # Its event is written in a subtransaction (an EXCEPTION block) and carries the top-level id.
    with t.open_transaction(env.pg, "DO $$ BEGIN BEGIN PERFORM gw_event(NULL, 'late', 'test', '{}'); "
                            "EXCEPTION WHEN others THEN NULL; END; BEGIN PERFORM gw_event(NULL, 'undone', "
                            "'test', '{}'); RAISE EXCEPTION 'undo'; EXCEPTION WHEN others THEN NULL; END; "
                            "END $$") as xid:
        submit(env, "D5")
        assert env.pg.query("SELECT gw_event_seal(1000)") == "0"
        assert env.pg.query("SELECT gw_event_unsealed()") == "2"
    assert env.pg.query("SELECT gw_event_seal(1000)") == "3"
    assert env.pg.query("SELECT xid::text FROM event WHERE kind = 'late'") == xid
    assert env.pg.query("SELECT count(*) FROM event WHERE kind = 'undone'") == "0"
    late_id = int(env.pg.query("SELECT id FROM event WHERE kind = 'late'"))
    assert late_id < int(env.pg.query("SELECT max(id) FROM event")) and seal_of(env, late_id) == "11"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    # Tampering: each change alone makes the check fail at the seal that covers it.
    assert tampered(env, "UPDATE event SET detail = '{\"forged\": true}' WHERE id = 2") == seal_of(env, 2) == "1"
    assert tampered(env, "UPDATE event SET actor = 'forged' WHERE id = 8") == seal_of(env, 8) == "7"
    assert tampered(env, "DELETE FROM event WHERE id = 10") == "10"
    assert tampered(env, "INSERT INTO event (kind, actor, xid) SELECT 'sent', 'forged', xid FROM event "
                         "WHERE id = 1") == "1"
    assert tampered(env, "UPDATE event SET xid = (SELECT xid FROM event WHERE id = 1) WHERE id = 7") == "1"
    assert tampered(env, "UPDATE event_seal SET events = events - 1 WHERE seq = 2") == "7"
    assert tampered(env, "UPDATE event_seal SET sealed_at = sealed_at + interval '1 s' WHERE seq = 3") == "10"
    assert tampered(env, "DELETE FROM event_seal WHERE seq = 4") == "11"
    assert tampered(env, "UPDATE event_head SET seq = seq - 1") == "14"
    # The head set back to an earlier seal's end and hash (019): the later seals, and an event
    # forged under them, are not hidden behind it.
    assert tampered(env, "UPDATE event_head SET seq = 9, hash = (SELECT hash FROM event_seal WHERE seq = 2); "
                         "UPDATE event SET actor = 'forged' WHERE id = 10") == "10"
    # An event before the first seal's range (an id below 1) is covered by no seal (019).
    assert tampered(env, "INSERT INTO event (id, kind, actor, xid) VALUES (-1, 'delivered', 'forged', '0')") == "1"
    # Format 2 (020): text moved with a '|' across the kind/actor boundary, and a time moved to
    # the same date BC, each kept 013's digest; both now fail at the seal concerned.
    assert env.pg.query("SELECT version FROM event_seal WHERE seq = 1") == "2"
    env.pg.query("SELECT gw_event(NULL, 'note', 'ops|night', '{}')")
    assert env.pg.query("SELECT gw_event_seal(1000)") == "1"
    assert seal_hash_py(env, 5) == env.pg.query("SELECT encode(hash, 'hex') FROM event_seal WHERE seq = 5")
    note = int(env.pg.query("SELECT id FROM event WHERE kind = 'note'"))
    shift = "UPDATE event SET kind = 'note|ops', actor = 'night' WHERE id = %d" % note
    bc = "UPDATE event SET at = (to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' BC')::timestamp " \
         "AT TIME ZONE 'UTC' WHERE id = %d" % note
    digest1 = "SELECT encode(gw_event_hash(e), 'hex') FROM event e WHERE id = %d" % note
    for sql in (shift, bc):
        assert env.pg.query("BEGIN; %s; %s; ROLLBACK" % (sql, digest1)) == env.pg.query(digest1)
        assert tampered(env, sql) == seal_of(env, note) == "14"
    # A seal's format is covered by its hash: set back to 1, it no longer verifies.
    assert tampered(env, "UPDATE event_seal SET version = 1 WHERE seq = 5") == "14"
    # A new event is no tampering: it waits for the next seal.
    assert tampered(env, "SELECT gw_event(NULL, 'new', 'test', '{}')") == "ok"
    # Hashes cannot be blanked to hide an edit (NULLs would otherwise compare as unknown).
    assert refused(env, "UPDATE event_seal SET hash = NULL WHERE seq = 1")
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"


def test_unsealed_stats(env):
    """gw_event_unsealed_stats (020), read by every /metrics refresh: its count is a range of the
    sealer's index, however long the sealed trail (with the seal's bound joined in, it read every
    event ever sealed); an event stamped 'infinity' neither stops the sealer nor the gauges."""
    migrate(env)
    env.pg.query("DO $$ BEGIN FOR i IN 1..20000 LOOP PERFORM gw_event(NULL, 'bulk', 'test', '{}'); "
                 "END LOOP; END $$")
    assert env.pg.query("SELECT gw_event_seal(100000)") == "20000"
    env.pg.query("SELECT gw_event(NULL, 'new', 'test', '{}')")
    # the second call of a session: the first also reads the catalogues to plan
    out = env.pg.query("SELECT * FROM gw_event_unsealed_stats(); "
                       "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM gw_event_unsealed_stats()")
    plan = json.loads(out[out.index("["):])
    hit = plan[0]["Plan"]["Shared Hit Blocks"] + plan[0]["Plan"]["Shared Read Blocks"]
    pages = int(env.pg.query("SELECT pg_relation_size('event') / 8192"))
    t.log("gw_event_unsealed_stats: %d buffers with 20 000 events sealed (the table: %d pages)" % (hit, pages))
    assert hit < 50 < pages, (hit, pages)
    assert env.pg.rows("SELECT * FROM gw_event_unsealed_stats()")[0][0] == "1"
    env.pg.query("INSERT INTO event (kind, actor, detail, at) VALUES ('odd', 'test', '{}', 'infinity')")
    assert env.pg.rows("SELECT events FROM gw_event_unsealed_stats()") == [["2"]]
    assert env.pg.query("SELECT gw_event_seal(1000)") == "2"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    assert env.pg.rows("SELECT * FROM gw_event_unsealed_stats()") == [["0", "0"]]
    assert tampered(env, "UPDATE event SET at = '-infinity' WHERE kind = 'odd'") == "20001"


class StagedMigrations:
    """A migrations directory filled in two steps: the files before `first_later` now (migrate()
    applies them), the rest when later() is called, to test an upgrade of a database in use."""

    def __init__(self, env, first_later):
        self.src = os.path.join(t.SRC, "schemas/sql")
        self.dir = env.root + "/sql"
        self.first_later = first_later
        self.files = sorted(n for n in os.listdir(self.src) if n[:3].isdigit())
        os.mkdir(self.dir)
        for n in self.files:
            if n < first_later:
                shutil.copy(os.path.join(self.src, n), self.dir)
        self.gw = env.gateway({"database:migrations_dir": self.dir}, start=False)

    def migrate(self):
        r = subprocess.run([t.GATEWAYD, "-c", self.gw.config, "--migrate"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def later(self):
        for n in self.files:
            if n >= self.first_later:
                shutil.copy(os.path.join(self.src, n), self.dir)
        self.migrate()


def test_audit_migration(env):
    """A database at 012 with events 001's sealer sealed and events it had not sealed yet, then 013
    applied: the old chain keeps verifying, the new one continues from it and covers the unsealed
    events once."""
    m = StagedMigrations(env, "013")
    m.migrate()
    for i in range(3):
        submit(env, "D%d" % i)
    assert env.pg.query("SELECT gw_event_seal(4)") == "4"  # 001's sealer: events 1-4; 5 and 6 unsealed
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    old_hash = env.pg.query("SELECT encode(hash, 'hex') FROM event WHERE seq = 4")
    m.later()
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    assert env.pg.query("SELECT gw_event_unsealed()") == "2"
    submit(env, "D3")
    assert env.pg.query("SELECT gw_event_seal(1000)") == "4"
    assert env.pg.query("SELECT gw_event_seal(1000)") == "0"
    assert env.pg.rows("SELECT first_pos, events, encode(prev_hash, 'hex') FROM event_seal") == [["5", "4", old_hash]]
    assert env.pg.rows("SELECT id, seq FROM event WHERE seq IS NOT NULL ORDER BY id") == [[str(i), str(i)]
                                                                                        for i in range(1, 5)]
    assert env.pg.query("SELECT seq FROM event_head") == "8"
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    assert tampered(env, "UPDATE event SET detail = '{\"forged\": true}' WHERE id = 2") == "2"
    assert tampered(env, "UPDATE event SET detail = '{\"forged\": true}' WHERE id = 6") == seal_of(env, 6) == "5"
    assert tampered(env, "DELETE FROM event WHERE id = 4") == "4"
    assert tampered(env, "INSERT INTO event (kind, actor) VALUES ('sent', 'forged'); UPDATE event SET seq = 5, "
                         "prev_hash = '\\x%s', hash = gw_event_digest('\\x%s', event) WHERE kind = 'sent' AND "
                         "actor = 'forged'" % (old_hash, old_hash)) == "6"
    assert refused(env, "UPDATE event SET hash = NULL, prev_hash = NULL WHERE id = 1")


def test_audit_format_upgrade(env):
    """Seals made in format 1 (a database at 019) keep verifying once 020 is applied; the next
    seal is format 2 and chains to them."""
    m = StagedMigrations(env, "020")
    m.migrate()
    for i in range(2):
        submit(env, "D%d" % i)
    assert env.pg.query("SELECT gw_event_seal(1000)") == "4"
    m.later()
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    submit(env, "D2")
    assert env.pg.query("SELECT gw_event_seal(1000)") == "2"
    assert env.pg.rows("SELECT seq, version, first_pos FROM event_seal ORDER BY seq") == [["1", "1", "1"],
                                                                                        ["2", "2", "5"]]
    assert env.pg.query("SELECT (SELECT prev_hash FROM event_seal WHERE seq = 2) = "
                        "(SELECT hash FROM event_seal WHERE seq = 1)") == "t"
    for seq in (1, 2):
        assert seal_hash_py(env, seq) == env.pg.query("SELECT encode(hash, 'hex') FROM event_seal WHERE seq = %d"
                                                      % seq)
    assert env.pg.query("SELECT gw_event_verify() IS NULL") == "t"
    assert tampered(env, "UPDATE event SET actor = 'forged' WHERE id = 2") == "1"
    assert tampered(env, "UPDATE event SET actor = 'forged' WHERE id = 6") == "5"
    assert tampered(env, "UPDATE event_seal SET version = 2 WHERE seq = 1") == "1"


def test_changed_migration_refused(env):
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
    t.run([test_claim_fencing, test_give_up_and_budget, test_audit_chain, test_audit_migration,
           test_audit_format_upgrade, test_unsealed_stats, test_changed_migration_refused,
           test_bad_configuration_refused])
