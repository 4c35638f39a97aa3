"""A concurrency-limited axis keeps sending at its limit beside another enabled axis
(engine/dispatch.c: each axis's room is claimed again when one of its sends ends, not only when
the claim as a whole was full). The scan is an hour, so only the dispatcher's own wake-ups can
move the backlog: national has max_concurrency 1 and every send takes 300 ms; with a second
axis enabled and nothing due on it, the claim asks national 1 + prov 2 and gets 1, which before
left the rest of national's backlog to the next scan."""

import os

import gwtest as t

N = 6


def states(env, prefix):
    return env.pg.query("SELECT string_agg(axis || ':' || state || ':' || n, ' ') FROM (SELECT d.axis, d.state, "
                        "count(*) AS n FROM delivery d JOIN package p ON p.id = d.package_id "
                        "WHERE p.document_id LIKE '%s%%' GROUP BY d.axis, d.state) x" % prefix)


def run(env, second):
    cfg = {"delivery:scan_interval_ms": "3600000", "delivery:batch": "2", "delivery:max_inflight": "4",
           "delivery:lease_ms": "15000", "axis.national:max_concurrency": "1",
           "axis.national:timeout_ms": "10000"}
    prov = None
    if second:
        root = os.path.join(env.root, "prov")
        os.makedirs(root)
        prov = t.Sim(root)
        cfg.update({"axis.prov:adapter": "vxp", "axis.prov:base_url": prov.url(),
                    "axis.prov:systemid": t.GW_SYSTEMID, "axis.prov:secret": t.GW_SECRET,
                    "axis.prov:poll_interval_ms": "300", "axis.prov:timeout_ms": "2000"})
    gw = env.gateway(cfg)
    env.sim.faults(latency_ms=300, ops=["sendEdoc"])
    prefix = "000.00.12.H49,2024/09/0%d," % (2 if second else 1)
    try:
        for i in range(N):
            r = gw.submit(t.edoc(prefix + "%d/LIMIT" % i))
            assert r.status == 202, r.body
        t.wait_until(lambda: states(env, prefix) == "national:SENT:%d" % N, 60,
                     what="every delivery sent one after the other (second axis: %s)" % second)
    finally:
        t.log("second axis %s: %s" % (second, states(env, prefix)))
        env.sim.faults()
        if prov:
            prov.close()
    assert gw.stop() == 0


def test_limited_axis_alone(env):
    run(env, False)


def test_limited_axis_beside_another(env):
    run(env, True)


if __name__ == "__main__":
    t.run([test_limited_axis_alone, test_limited_axis_beside_another])
