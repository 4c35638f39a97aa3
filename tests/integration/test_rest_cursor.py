"""A package that keeps failing locally does not hold back the REST axis's list window (adapter
lgsp_rest, docs/internals/axes.md "Failing packages and the window"):

- two packages over a small max_package_bytes, listed in the first window with others that fit:
  the others are stored, and the list cursor advances past the failing ones (axis_cursor);
- the failing ones stay recorded in incoming_failure (v_incoming_failing, gateway_fetch_failing)
  and are retried by id although no window lists them any more: their failures grow;
- a package arriving in a later window is stored meanwhile;
- restarted with a larger max_package_bytes, the gateway stores one of them without any list
  naming it (fetched by id, acked done, its record gone);
- the other was removed from the axis meanwhile: getEdoc answers 404, and its record stays,
  visible with that answer and retried, never dropped nor answered `fail`;
- failure records of doc ids stored and acked since are dropped (021), so 100 of them do not
  crowd out of the fetch by id the one package still failing;
- a listed package whose getEdoc keeps failing with HTTP 500 is recorded: the cursor moves on,
  and the package is stored by id once the axis serves it."""

import contextlib
import hashlib
import os
from datetime import datetime, timedelta, timezone

import gwrest
import gwtest as t

IN = "000.00.05.H49"  # on the REST axis (directory_file)
VN = timezone(timedelta(hours=7))


def vn_day(offset=0):
    return datetime.now(VN).date() + timedelta(days=offset)


def cursor(env):
    return env.pg.query("SELECT cursor FROM axis_cursor WHERE axis = 'prov' AND kind = 'edoc'")


def stored(env, axis_doc_id):
    return env.pg.rows("SELECT encode(p.sha256, 'hex') FROM axis_receipt r JOIN package p ON p.id = r.package_id"
                       " WHERE r.axis = 'prov' AND r.axis_doc_id = '%s'" % axis_doc_id)


def failing(env, axis_doc_id):
    """(failures, last_error, listed) of the doc id in v_incoming_failing, None when absent."""
    rows = env.pg.rows("SELECT failures, last_error, listed_at IS NOT NULL FROM v_incoming_failing"
                       " WHERE axis = 'prov' AND axis_doc_id = '%s'" % axis_doc_id)
    return (int(rows[0][0]), rows[0][1], rows[0][2]) if rows else None


def fetches(rest, doc_id):
    return sum(1 for e in rest.ctl("GET", "/_sim/log")["entries"]
               if e.get("op") == "getEdoc" and e.get("docId") == doc_id)


@contextlib.contextmanager
def rest_axis(env):
    """The REST axis's simulator and a directory_file naming IN; yields (sim, directory file)."""
    rest = gwrest.RestSim(os.path.join(env.root, "rest"), [gwrest.system(t.GW_SYSTEMID, [t.PROVINCE, t.AGENCY])])
    try:
        dir_file = os.path.join(env.root, "rest-directory.txt")
        with open(dir_file, "w") as f:
            f.write("%s\n" % IN)
        yield rest, dir_file
    finally:
        rest.close()


def rest_doc(day, n, pad=0):
    """An edoc from IN to the agency, DocumentId of that day and number."""
    return t.edoc("000.00.05.H49,%s,%d/UB" % (day, n), to=(t.AGENCY,), sender=IN, pad=pad)


def failing_package_does_not_hold_the_window(env):
    with rest_axis(env) as (rest, dir_file):

        def doc(n, pad=0):
            return rest_doc("2026/12/03", n, pad)

        old = vn_day(-3).isoformat()  # in the first window (7 days), before the next one (1 day)
        big_data, gone_data = doc(1, pad=20000), doc(2, pad=20000)
        big = rest.inject(t.AGENCY, IN, big_data, created=old)
        gone = rest.inject(t.AGENCY, IN, gone_data, created=old)
        first = [(rest.inject(t.AGENCY, IN, d, created=c), d) for d, c in ((doc(3), old), (doc(4), None))]
        cfg = gwrest.axis_config("prov", rest, dir_file, max_package_bytes="8192")
        gw = env.gateway(cfg)

        for d, data in first:
            rows = t.wait_until(lambda: stored(env, d), 20, what="stored " + d)
            assert rows[0][0] == hashlib.sha256(data).hexdigest()
        # The window moved past the failing packages: the next one starts a day back.
        t.wait_until(lambda: cursor(env) == vn_day(-1).strftime("%Y/%m/%d"), 20, what="cursor advanced")
        # Still recorded, and retried by id: no list names them any more, yet their failures grow.
        for d in (big, gone):
            t.wait_until(lambda: (failing(env, d) or (0,))[0] >= 2, 20, what="retried by id " + d)
            n, err, listed = failing(env, d)
            assert "larger than max_package_bytes" in err and listed, (n, err, listed)
        assert fetches(rest, big) >= 2 and stored(env, big) == []
        t.wait_until(lambda: t.metric(gw, 'gateway_fetch_failing{axis="prov"}') == 2, 10, what="failing gauge")
        # A package of a later window is stored meanwhile.
        later = rest.inject(t.AGENCY, IN, doc(5))
        t.wait_until(lambda: stored(env, later), 20, what="stored " + later)
        acks = rest.stats()["acks"]
        assert big not in acks and gone not in acks, acks  # never answered, neither done nor fail

        # The fault removed (a larger limit) while the axis lost one of them.
        rest.ctl("POST", "/_sim/remove", {"docId": gone})
        assert gw.stop() == 0
        before = failing(env, gone)[0]
        # The stopped process's poll lease would hold the axis for 15 s more: let it go now.
        env.pg.query("UPDATE poller_lease SET lease_until = now() WHERE axis = 'prov'")
        gw.write_config(gwrest.axis_config("prov", rest, dir_file))
        gw.start()
        rows = t.wait_until(lambda: stored(env, big), 20, what="stored by id " + big)
        assert rows[0][0] == hashlib.sha256(big_data).hexdigest()
        t.wait_until(lambda: rest.stats()["acks"].get(big) == "done", 20, what="acked " + big)
        assert failing(env, big) is None
        assert cursor(env) == vn_day(-1).strftime("%Y/%m/%d")  # no window since lists the package
        # The one the axis no longer has: recorded with the axis's answer, kept, still retried.
        t.wait_until(lambda: failing(env, gone)[0] > before, 20, what="retried after removal " + gone)
        n, err, _ = failing(env, gone)
        assert "404" in err and "not found" in err, err
        assert stored(env, gone) == [] and gone not in rest.stats()["acks"]
        assert env.pg.query("SELECT count(*) FROM incoming_refusal") == "0"
        assert env.pg.query("SELECT count(*) FROM axis_receipt WHERE axis = 'prov'") == "4"


def stale_records_do_not_crowd_out_a_failing_one(env):
    # 100 failure records of doc ids stored and acked since (a store whose answer was lost gets a
    # failure recorded after it committed), due before the one package still failing, which only
    # a fetch by id reaches now. Before (021), gw_incoming_due returned the 100 stale ones first,
    # at most 100 a list: the failing package was never fetched again, and the stale ones were
    # fetched and acked again on every poll.
    with rest_axis(env) as (rest, dir_file):

        def doc(n, pad=0):
            return rest_doc("2026/12/04", n, pad)

        old = vn_day(-3).isoformat()
        big_data = doc(1, pad=20000)
        big = rest.inject(t.AGENCY, IN, big_data, created=old)
        ok = rest.inject(t.AGENCY, IN, doc(2), created=old)
        cfg = gwrest.axis_config("prov", rest, dir_file, max_package_bytes="8192")
        gw = env.gateway(cfg)
        t.wait_until(lambda: stored(env, ok), 20, what="stored " + ok)
        t.wait_until(lambda: rest.stats()["acks"].get(ok) == "done", 20, what="acked " + ok)
        t.wait_until(lambda: cursor(env) == vn_day(-1).strftime("%Y/%m/%d"), 20, what="cursor advanced")
        t.wait_until(lambda: failing(env, big), 20, what="failure recorded " + big)
        assert gw.stop() == 0
        env.pg.query("INSERT INTO axis_receipt (axis, axis_doc_id, package_id) SELECT 'prov', 'stale-' || i, "
                     "(SELECT package_id FROM axis_receipt WHERE axis = 'prov' AND axis_doc_id = '%s') "
                     "FROM generate_series(1, 100) i" % ok)
        env.pg.query("INSERT INTO incoming_failure (axis, axis_doc_id, kind, failures, last_error, next_attempt_at) "
                     "SELECT 'prov', 'stale-' || i, 'edoc', 1, 'storing: database_unavailable', "
                     "now() - interval '1 hour' FROM generate_series(1, 100) i")
        env.pg.query("UPDATE incoming_failure SET next_attempt_at = now() WHERE axis_doc_id = '%s'" % big)
        env.pg.query("UPDATE poller_lease SET lease_until = now() WHERE axis = 'prov'")
        gw.write_config(gwrest.axis_config("prov", rest, dir_file))
        gw.start()
        rows = t.wait_until(lambda: stored(env, big), 30, what="stored by id " + big)
        assert rows[0][0] == hashlib.sha256(big_data).hexdigest()
        assert env.pg.query("SELECT count(*) FROM incoming_failure") == "0"
        assert not [e for e in rest.ctl("GET", "/_sim/log")["entries"]
                    if e.get("op") == "getEdoc" and str(e.get("docId", "")).startswith("stale-")]


def transport_failure_of_one_fetch_does_not_hold_the_window(env):
    # The list answers, one package's getEdoc keeps failing with HTTP 500 (a transport failure,
    # the peer's kind): recorded with backoff, so the cursor moves on and the package comes back
    # by id once the axis serves it. Before, it was never recorded: the cursor stayed at the first
    # window for ever, the window grew every day and the package was fetched on every poll.
    with rest_axis(env) as (rest, dir_file):
        data = rest_doc("2026/12/05", 1)
        bad = rest.inject(t.AGENCY, IN, data, created=vn_day(-3).isoformat())
        rest.faults(http_status=500, count=1000000, ops=["getEdoc"])
        gw = env.gateway(gwrest.axis_config("prov", rest, dir_file))
        t.wait_until(lambda: cursor(env) == vn_day(-1).strftime("%Y/%m/%d"), 20, what="cursor advanced")
        n, err, listed = t.wait_until(lambda: failing(env, bad), 20, what="failure recorded")
        assert "peer_unreachable" in err and "500" in err, err
        assert stored(env, bad) == []
        rest.faults()
        rows = t.wait_until(lambda: stored(env, bad), 30, what="stored by id " + bad)
        assert rows[0][0] == hashlib.sha256(data).hexdigest()
        t.wait_until(lambda: rest.stats()["acks"].get(bad) == "done", 20, what="acked " + bad)
        assert gw.alive()


if __name__ == "__main__":
    t.run([failing_package_does_not_hold_the_window, stale_records_do_not_crowd_out_a_failing_one,
           transport_failure_of_one_fetch_does_not_hold_the_window])
