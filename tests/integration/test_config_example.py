"""The shipped deploy/gatewayd.ini.example starts as is (finding 11): copied unchanged, with only the
database conninfo and the listen port given through environment overrides, gatewayd starts, applies
its migrations, answers /healthz and /readyz, and drains on SIGTERM. Its disabled [axis.province]
names an adapter this build does not have (lgsp_rest): that is a warning, not a refusal."""

import os
import shutil
import subprocess

import gwtest as t


def test_example_starts_as_is(env):
    gw = env.gateway(start=False)
    shutil.copyfile(os.path.join(t.SRC, "deploy/gatewayd.ini.example"), gw.config)
    gw.environ = dict(os.environ, GATEWAYD_DATABASE_CONNINFO=env.pg.conninfo(),
                      GATEWAYD_SERVER_LISTEN="127.0.0.1:0")
    gw.cwd = t.SRC  # migrations_dir = schemas/sql, relative as shipped
    # A delivery already waiting for the disabled axis (not due yet, so no dispatcher touches it
    # before it is counted): start-up reports it as held.
    r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], env=gw.environ, cwd=gw.cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    env.pg.query("SELECT gw_submit('qlvbdh', 'edoc', 'D-held', 'S', ARRAY['A'], NULL, 0::smallint, "
                 "sha256('x'::bytea), 'x'::bytea, 'province')")
    env.pg.query("UPDATE delivery SET next_attempt_at = now() + interval '1 hour'")
    gw.start()  # waits for /readyz 200
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200
    ready = t.request(gw.port, "GET", "/readyz", token=None)
    assert ready.status == 200 and ready.json()["ready"], ready.body
    axes = {a["name"]: a for a in ready.json()["checks"]["axes"]}
    assert axes["national"]["ok"] and axes["national"]["state"] == "closed", ready.body
    assert not axes["province"]["ok"] and axes["province"]["state"].startswith("disabled"), ready.body
    log = gw.tail(1000)
    assert "[axis.province] adapter 'lgsp_rest'" not in log, log  # built in: no unknown-adapter warning
    t.wait_until(lambda: "axis province disabled: 1 deliveries held" in gw.tail(1000), 15,
                 what="held deliveries reported")
    ready = t.request(gw.port, "GET", "/readyz", token=None).json()
    province = [a for a in ready["checks"]["axes"] if a["name"] == "province"]
    assert province and province[0]["state"] == "disabled: 1 deliveries held", ready
    assert env.pg.query("SELECT count(*) FROM schema_migrations") != "0"
    assert gw.stop() == 0, gw.tail()


def test_enabled_unknown_adapter_refused_before_anything(env):
    # The same axis enabled with an adapter that is not built in: refused at load with its line, before any migration ran.
    gw = env.gateway(start=False)
    with open(os.path.join(t.SRC, "deploy/gatewayd.ini.example")) as f:
        lines = f.read().splitlines(True)
    start = lines.index("[axis.province]\n")
    at = next(i for i in range(start, len(lines)) if lines[i].startswith("enabled = "))
    lines[at] = "enabled = true\n"
    adapter_at = next(i for i in range(start, len(lines)) if lines[i].startswith("adapter = "))
    lines[adapter_at] = "adapter = lgsp_soap\n"  # an adapter this gatewayd does not have
    with open(gw.config, "w") as f:
        f.writelines(lines)
    adapter_line = next(i for i in range(start, len(lines)) if lines[i].startswith("adapter = ")) + 1
    gw.environ = dict(os.environ, GATEWAYD_DATABASE_CONNINFO=env.pg.conninfo(),
                      GATEWAYD_SERVER_LISTEN="127.0.0.1:0", GATEWAYD_AXIS_PROVINCE_TIMEOUT_MS="5000")
    gw.cwd = t.SRC
    gw.start(wait=False)
    assert gw.wait_exit(30) == 2, gw.tail()
    assert "%s:%d: [axis.province] adapter 'lgsp_soap' is not built into this gatewayd" % (
        gw.config, adapter_line) in gw.tail(), gw.tail()
    assert env.pg.query("SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'") == "0"


if __name__ == "__main__":
    t.run([test_example_starts_as_is, test_enabled_unknown_adapter_refused_before_anything])
