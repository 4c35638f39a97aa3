"""The signature checks' byte budget ([verify] max_check_bytes, engine/verifier.c): claimed checks
start in claim order while the package bytes of the checks running fit the budget, one always
runs, and every claimed check ends with a verdict.

Four packages of about 200 KB are checked once, then set back to due (as after a restart with
checks pending) while gatewayd is stopped, so the next start claims all four in one claim. With a
budget that holds one package the log shows the checks one after the other (each started line
says one running, and a verdict comes between two starts); with a budget that holds them all,
four run at once. Both times all four are checked again."""

import base64
import io
import json
import os
import subprocess
import time
import zipfile

import gwtest as t

N = 4
PAD = 150000  # a PDF of 150 KB: packages of about 200 KB


def checked_since(env, since):
    return int(env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE' AND checked_at > '%s'"
                            % since))


def recheck(env, extra):
    """Sets the four checks due, starts a gateway with extra, waits for the four verdicts and
    returns the verifier's log events (started: checks running; verdict) in order."""
    since = env.pg.query("SELECT now()")
    env.pg.query("UPDATE package_check SET state = 'PENDING', next_check_at = now(), lease_owner = NULL, "
                 "lease_until = NULL")
    gw = env.gateway(dict({"gateway:log_level": "debug", "verify:concurrency": "8"}, **extra))
    t.wait_until(lambda: checked_since(env, since) == N, 60, what="four checks recorded again")
    gw.stop()
    events = []
    with open(gw.log_path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            if e.get("event") == "verify.started":
                events.append(("started", int(e["msg"].split(" running")[0].split(": ")[-1])))
            elif e.get("event") == "verify.verdict":
                events.append(("verdict", 0))
    return events


def test_verify_budget(env):
    gw = env.gateway()
    ids = []
    for i in range(N):
        r = gw.submit(t.edoc("000.00.12.H49,2024/05/15,%d/BUDGET" % (i + 1), pad=PAD))
        assert r.status == 202, r.body
        ids.append(r.json()["id"])
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE'") == str(N), 60,
                 what="first checks")
    gw.stop()
    size = int(env.pg.query("SELECT max(b.size) FROM package p JOIN body b ON b.id = p.body_id"))
    assert 150000 < size < 300000, size

    # Room for one package: one check at a time, in claim order.
    ev = recheck(env, {"verify:max_check_bytes": str(size + size // 2)})
    starts = [n for k, n in ev if k == "started"]
    assert len(starts) == N and set(starts) == {1}, ev
    assert [k for k, _ in ev] == ["started", "verdict"] * N, ev

    # Room for all: the four claimed together run together.
    ev = recheck(env, {"verify:max_check_bytes": str(64 * size)})
    starts = [n for k, n in ev if k == "started"]
    assert starts == [1, 2, 3, 4], ev
    t.log("one claim of %d checks of %d-byte packages: run one by one with a budget of 1.5 packages, "
          "all at once with 64" % (N, size))


def zip_wrapped(document_id, pdf_bytes):
    """A package whose attachment is a one-entry ZIP of a PDF of pdf_bytes, declared
    application/pdf (unwrapped by the ZIP rule): small on the wire, pdf_bytes once inflated. The
    PDF is runs of one byte between random ones, so it inflates at a ratio far below the cap."""
    pdf = bytearray(b"%PDF-1.4\n")
    while len(pdf) < pdf_bytes:
        pdf += os.urandom(16) + b"x" * 1008
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("vb.pdf", bytes(pdf[:pdf_bytes]))
    plain = base64.b64encode(b"%PDF-1.4\n")
    return t.edoc(document_id).replace(plain, base64.b64encode(buf.getvalue()))


def test_budget_counts_inflated_pdfs(env):
    """A ZIP-wrapped PDF is held inflated: the check is charged its inflated size, not its package's.
    Four packages of about 100 KB, each a 3 MiB PDF, with a budget of 1.5 such PDFs, room for all
    four packages: one check at a time."""
    gw = env.gateway()
    for i in range(N):
        r = gw.submit(zip_wrapped("000.00.12.H49,2024/05/15,%d/ZIPBUDGET" % (i + 1), 3 << 20))
        assert r.status == 202, r.body
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE'") == str(N), 60,
                 what="first checks")
    gw.stop()
    size = int(env.pg.query("SELECT max(b.size) FROM package p JOIN body b ON b.id = p.body_id"))
    inflated = env.pg.query("SELECT min(unwrapped_size) || ' ' || count(*) FROM attachment WHERE unwrapped")
    assert inflated == "%d %d" % (3 << 20, N), inflated
    budget = (3 << 20) * 3 // 2
    assert N * size <= budget, size
    ev = recheck(env, {"verify:max_check_bytes": str(budget)})
    assert [k for k, _ in ev] == ["started", "verdict"] * N, ev


def test_stop_while_claiming(env):
    """Checks claimed after the stop (the claim was in flight) end at once: the drain completes
    instead of waiting for checks that will never start."""
    gw = env.gateway()
    for i in range(3):
        r = gw.submit(t.edoc("000.00.12.H49,2024/05/15,%d/STOPCLAIM" % (i + 1)))
        assert r.status == 202, r.body
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE'") == "3", 60,
                 what="first checks")
    gw.stop()
    env.pg.query("UPDATE package_check SET state = 'PENDING', next_check_at = now(), lease_owner = NULL, "
                 "lease_until = NULL")
    # The next gateway's first claim waits behind this lock, and is still waiting at SIGTERM.
    locker = subprocess.Popen(["psql", "-h", env.pg.host, "-U", "postgres", "-d", env.pg.dbname, "-Atq", "-c",
                               "BEGIN; LOCK TABLE package_check IN EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"],
                              stdout=subprocess.DEVNULL)
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                      "WHERE c.relname = 'package_check' AND l.mode = 'ExclusiveLock' "
                                      "AND l.granted") == "1", 10, what="table locked")
    gw2 = env.gateway({"gateway:log_level": "debug", "server:drain_timeout_ms": "30000", "verify:lease_ms": "2000"})
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                      "WHERE c.relname = 'package_check' AND NOT l.granted") != "0", 10,
                 what="the verifier's claim waiting for the lock")
    rc = gw2.stop(timeout=60)
    locker.wait(30)
    with open(gw2.log_path) as f:
        log = f.read()
    assert rc == 0 and "drain cut short" not in log, rc
    assert '"verify.started"' not in log
    # The claimed checks' leases expire, and a later gateway checks them.
    gw3 = env.gateway()
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM package_check WHERE state = 'DONE'") == "3", 60,
                 what="the checks done after the leases expired")
    assert gw3.stop() == 0


CHECK_CLAIM = ("gw_check_claim", "p_owner text, p_lease_ms integer, p_limit integer",
               "TABLE (package_id bigint, direction text, sender text, document_id text, attempts integer, "
               "deadline_at timestamptz, body_id bigint, size bigint, chunks integer, xmldsig boolean, "
               "attachments json, first_recipient text)")


def failing_claim(env, before):
    """gw_check_claim failing as `before` says; the calls it lets through are plain (counted in
    the sequence claim_calls, which before may use)."""
    env.pg.query("CREATE SEQUENCE claim_calls")
    t.wrap_function(env.pg, *CHECK_CLAIM, before)


def failing_first_claim(env, seconds):
    """gw_check_claim whose first call waits `seconds` and then fails; later calls are plain."""
    failing_claim(env, "IF nextval('claim_calls') = 1 THEN PERFORM pg_sleep(%g); "
                       "RAISE EXCEPTION 'claim failed'; END IF;" % seconds)


def migrated_gateway(env, extra):
    gw = env.gateway(extra, start=False)
    gw.migrate()
    return gw


def test_kick_during_failed_claim(env):
    """With a scan of an hour, a submission's kick that arrives while the verifier's claim is in
    flight is kept when that claim fails (before, it was dropped and the check waited for the
    scan)."""
    gw = migrated_gateway(env, {"verify:scan_interval_ms": "3600000"})
    failing_first_claim(env, 3)
    gw.start()
    t.wait_until(lambda: env.pg.query("SELECT is_called FROM claim_calls") == "t", 10, what="the first claim")
    assert gw.submit(t.edoc("000.00.12.H49,2024/05/15,1/REKICK")).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM package_check") == "DONE", 20,
                 what="checked after the failed claim")


def test_failed_claim_tried_again(env):
    """With a scan of an hour and no further kick, a claim that failed is tried again a second
    later (before, the check waited for the scan)."""
    gw = migrated_gateway(env, {"verify:scan_interval_ms": "3600000"})
    failing_claim(env, "IF EXISTS (SELECT 1 FROM package_check c WHERE c.state = 'PENDING') "
                       "AND nextval('claim_calls') = 1 THEN RAISE EXCEPTION 'claim failed'; END IF;")
    gw.start()
    assert gw.submit(t.edoc("000.00.12.H49,2024/05/15,1/RETRY")).status == 202
    t.wait_until(lambda: env.pg.query("SELECT state FROM package_check") == "DONE", 20,
                 what="checked after the failed claim")
    assert int(env.pg.query("SELECT last_value FROM claim_calls")) >= 2  # the failed one, then more


def test_stop_during_failed_claim(env):
    """A stop while the verifier's claim is in flight, the claim then failing: the drain ends when
    it fails, not at drain_timeout_ms (before, the failure did not tell the drain)."""
    gw = migrated_gateway(env, {"server:drain_timeout_ms": "30000"})
    failing_first_claim(env, 3)
    gw.start()
    t.wait_until(lambda: env.pg.query("SELECT is_called FROM claim_calls") == "t", 10, what="the first claim")
    began = time.monotonic()
    assert gw.stop(timeout=60) == 0
    took = time.monotonic() - began
    with open(gw.log_path) as f:
        log = f.read()
    assert "drain cut short" not in log, log[-2000:]
    t.log("stop during a failing claim took %.1f s (drain_timeout_ms 30 000)" % took)


def test_lease_taken_while_waiting(env):
    """A claimed check waiting for the byte budget whose lease another instance has taken over is
    dropped, not started. The revocation server accepts connections and never answers, so the
    first check runs for revocation_timeout_ms while the second waits (a budget of one package);
    the second's lease is then given to another owner. Before, the renewal only logged it and the
    check started once the budget had room."""
    import shutil
    import socket
    import tempfile
    import test_signatures as sig
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    work = tempfile.mkdtemp(prefix="gw-lease-")
    try:
        subprocess.run([os.path.join(t.SRC, "tests/fixtures/sig/make.sh"), work,
                        "http://127.0.0.1:%d" % hole.getsockname()[1]], check=True, capture_output=True,
                       timeout=300)
        gw = env.gateway({"verify:trust_dir": os.path.join(work, "pki", "trust"),
                          "verify:revocation_timeout_ms": "6000", "verify:max_check_bytes": "65536",
                          "verify:lease_ms": "1500", "gateway:log_level": "debug"})
        pdf = open(os.path.join(work, "person_org.pdf"), "rb").read()
        ids = []
        for i in (1, 2):
            r = gw.submit(sig.package("000.00.12.H49,2024/05/15,%d/LEASE" % i, pdf))
            assert r.status == 202, r.body
            ids.append(r.json()["id"])

        def events(kind, pid):
            with open(gw.log_path) as f:
                return [ln for ln in f if '"event":"%s"' % kind in ln and '"package_id":%d,' % pid in ln]

        t.wait_until(lambda: events("verify.started", ids[0]), 10, what="the first check running")
        t.wait_until(lambda: env.pg.query("SELECT state FROM package_check WHERE package_id = %d" % ids[1])
                     == "CHECKING", 10, what="the second check claimed")
        assert events("verify.started", ids[1]) == []  # waits for the budget
        env.pg.query("UPDATE package_check SET lease_owner = 'another-instance', "
                     "lease_until = now() + interval '1 hour' WHERE package_id = %d" % ids[1])
        t.wait_until(lambda: events("verify.verdict", ids[0]), 20, what="the first check's verdict")
        time.sleep(1)  # the budget has had room since the verdict
        assert events("verify.started", ids[1]) == []
        assert [ln for ln in events("verify.lease_lost", ids[1]) if "is dropped" in ln]
        assert env.pg.query("SELECT lease_owner FROM package_check WHERE package_id = %d" % ids[1]) == \
            "another-instance"
    finally:
        hole.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    t.run([test_verify_budget, test_budget_counts_inflated_pdfs, test_stop_while_claiming,
           test_kick_during_failed_claim, test_failed_claim_tried_again, test_stop_during_failed_claim,
           test_lease_taken_while_waiting])
