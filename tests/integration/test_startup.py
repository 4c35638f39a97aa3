"""Start-up without PostgreSQL (finding 3): gatewayd starts while the database is down or restarting,
answers /healthz, says not ready on /readyz, refuses submits with 503 + Retry-After, and applies
its migrations and starts relaying once the database is back. A migration that retrying cannot fix
still stops it, with exit status 1."""

import os
import shutil
import subprocess

import gwtest as t

MIGRATE_LOCK = 7168246251  # the advisory lock gw_db_migrate serialises instances with


def readyz(gw):
    return t.request(gw.port, "GET", "/readyz", token=None)


def migration_files():
    return sorted(f for f in os.listdir(os.path.join(t.SRC, "schemas/sql")) if f.endswith(".sql"))


def assert_waiting(gw):
    r = readyz(gw)
    assert r.status == 503 and not r.json()["ready"], r.body
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200
    s = gw.submit(t.edoc("000.00.12.H49,2024/08/01,0/STC"))
    assert s.status == 503 and s.json()["error"]["code"] == "database_unavailable", s.body
    assert s.headers.get("retry-after") == "5", s.headers


def assert_relays(env, gw, doc):
    t.wait_until(lambda: readyz(gw).status == 200, 30, what="ready")
    r = gw.submit(t.edoc(doc))
    assert r.status == 202, r.body
    t.wait_until(lambda: doc in env.sim.stats()["sent_by_document_id"], 30, what="delivered")
    versions = env.pg.query("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations")
    assert versions == ",".join(f[:-4] for f in migration_files()), versions


def test_starts_while_database_down(env):
    env.pg.stop()
    gw = env.gateway(ready=False)  # the old code exited here (db.migrate_connect)
    assert_waiting(gw)
    # It keeps trying with backoff (reconnect_max_ms = 1 s here) and stays up.
    t.wait_until(lambda: gw.tail(1000).count('"app.waiting_for_database"') >= 2, 20,
                 what="repeated migration attempts")
    assert gw.alive()
    assert_waiting(gw)
    assert '"app.ready"' not in gw.tail(1000)
    env.pg.start()
    assert_relays(env, gw, "000.00.12.H49,2024/08/01,1/STC")
    assert gw.tail(1000).count('"app.ready"') == 1


def test_database_restarted_during_start(env):
    # Another session holds the migration lock, so gatewayd's migration is in flight (waiting on
    # the lock) when PostgreSQL restarts: the report of finding 3, db.migrate_failed on a restart.
    holder = subprocess.Popen(["psql", "-h", env.pg.host, "-U", "postgres", "-d", env.pg.dbname, "-Atq"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        holder.stdin.write("SELECT pg_advisory_lock(%d);\n" % MIGRATE_LOCK)
        holder.stdin.flush()
        t.wait_until(lambda: env.pg.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                          "AND granted") == "1", 10, what="lock held")
        gw = env.gateway(start=False)
        gw.start(wait=False)
        t.wait_until(lambda: env.pg.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                          "AND NOT granted") == "1", 20, what="migration waiting on the lock")
        env.pg.restart()  # fast shutdown: both sessions are terminated
    finally:
        holder.kill()
        holder.wait()
    gw.port = int(t.wait_until(gw._port_or_exit, 30, what="gatewayd port"))
    assert_relays(env, gw, "000.00.12.H49,2024/08/02,1/STC")
    assert gw.alive()


def test_unfixable_migration_stops(env):
    d = os.path.join(env.root, "sql")
    shutil.copytree(os.path.join(t.SRC, "schemas/sql"), d)
    with open(os.path.join(d, "999_broken.sql"), "w") as f:
        f.write("SELEC broken;\n")
    gw = env.gateway({"database:migrations_dir": d}, start=False)
    gw.start(wait=False)
    assert gw.wait_exit(60) == 1, gw.tail()
    assert '"app.start_failed"' in gw.tail() and "999_broken.sql" in gw.tail(), gw.tail()
    assert env.pg.query("SELECT count(*) FROM schema_migrations WHERE version = '999_broken'") == "0"


if __name__ == "__main__":
    t.run([test_starts_while_database_down, test_database_restarted_during_start, test_unfixable_migration_stops])
