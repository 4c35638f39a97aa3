"""The signature checks' byte budget ([verify] max_check_bytes, engine/verifier.c): claimed checks
start in claim order while the package bytes of the checks running fit the budget, one always
runs, and every claimed check ends with a verdict.

Four packages of about 200 KB are checked once, then set back to due (as after a restart with
checks pending) while gatewayd is stopped, so the next start claims all four in one claim. With a
budget that holds one package the log shows the checks one after the other (each started line
says one running, and a verdict comes between two starts); with a budget that holds them all,
four run at once. Both times all four are checked again."""

import json

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


if __name__ == "__main__":
    t.run([test_verify_budget])
