/*
 * Schema migrations over one blocking libpq connection (gatewayd --migrate, or a thread-pool job
 * at start-up): applies dir/NNN_*.sql in lexical order, each file once and in its own transaction,
 * recorded in schema_migrations. An advisory lock serialises gateways starting at the same time
 * against one database. A server that is unavailable or goes away meanwhile is told apart from a
 * failure that retrying cannot fix, so start-up can wait for the database.
 */
#include "db/db_internal.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_DB_MIGRATE_LOCK      "7168246251" /* pg_advisory_lock key, arbitrary but fixed */
#define GW_DB_MIGRATE_MAX_FILE  (16u << 20)
#define GW_DB_MIGRATE_LOCK_WAIT "10s"

/* NNN_*.sql: at least three digits, an underscore, and the .sql suffix. */
static int gw_db_migrate_filter(const struct dirent *d)
{
    const char *n = d->d_name;
    size_t len = strlen(n), digits = 0;

    while (isdigit((unsigned char)n[digits]))
        digits++;
    return digits >= 3 && n[digits] == '_' && len > digits + 5 && strcmp(n + len - 4, ".sql") == 0;
}

static int gw_db_migrate_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void gw_db_migrate_notice(void *arg, const char *msg)
{
    char line[512];

    gw_debug("db.notice", "%s", gw_db_oneline(line, sizeof(line), msg));
}

/* One migration run: the connection and what made it fail. */
struct gw_mig {
    PGconn *pg;
    bool transient; /* the server was unavailable or went away: worth another attempt */
    char *why;
    size_t why_cap;
};

/* SQLSTATEs of a server that is unavailable, shutting down or overloaded, or of a conflict with
 * another session: the same migration can succeed later. */
static bool gw_db_sqlstate_transient(const char *st)
{
    static const char *const classes[] = {"08", "53", "57", "58", "40"};

    if (!st || strlen(st) != 5)
        return false;
    for (size_t i = 0; i < GW_ARRAY_LEN(classes); i++) {
        if (strncmp(st, classes[i], 2) == 0)
            return true;
    }
    return strcmp(st, "55P03") == 0; /* lock_not_available */
}

/* Records a failure: transient ones are returned to the caller to retry (not logged), others are
 * logged as db.migrate_failed. */
static int gw_db_migrate_failed(struct gw_mig *m, const PGresult *res, const char *file,
                                const char *what)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[1024];

    gw_db_oneline(msg, sizeof(msg), res ? PQresultErrorMessage(res) : PQerrorMessage(m->pg));
    m->transient = PQstatus(m->pg) == CONNECTION_BAD || gw_db_sqlstate_transient(st);
    if (m->why && m->why_cap)
        snprintf(m->why, m->why_cap, "%s: %s%s", file, what, msg);
    if (!m->transient)
        gw_error("db.migrate_failed", "%s: %s%s", file, what, msg);
    return m->transient ? GW_EAGAIN : GW_EDB;
}

/* Runs one statement batch. */
static int gw_db_migrate_exec(struct gw_mig *m, const char *sql, const char *file)
{
    PGresult *res = PQexec(m->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = gw_db_migrate_failed(m, res, file, "");
    PQclear(res);
    return rc;
}

static char *gw_db_migrate_read(const char *dir, const char *name)
{
    char path[4096];
    uint8_t *buf;
    size_t len;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
        gw_file_read(path, GW_DB_MIGRATE_MAX_FILE, &buf, &len) != 0)
        return NULL;
    return (char *)buf;
}

/* The recorded checksum of an applied version ("" when recorded without one), or NULL. */
static const char *gw_db_migrate_applied(const PGresult *done, const char *version)
{
    for (int i = 0; i < PQntuples(done); i++) {
        if (strcmp(PQgetvalue(done, i, 0), version) == 0)
            return PQgetvalue(done, i, 1);
    }
    return NULL;
}

/* Applies one file inside BEGIN ... COMMIT together with its schema_migrations row. */
static int gw_db_migrate_apply(struct gw_mig *m, const char *name, const char *version,
                               const char *sql, const char *sha)
{
    const char *params[2] = {version, sha};
    PGresult *res;
    int rc;

    rc = gw_db_migrate_exec(m, "BEGIN", name);
    if (rc == 0)
        rc = gw_db_migrate_exec(m, sql, name);
    if (rc == 0) {
        res = PQexecParams(m->pg, "INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)",
                           2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = gw_db_migrate_failed(m, res, name, "recording version: ");
        PQclear(res);
    }
    if (rc == 0)
        rc = gw_db_migrate_exec(m, "COMMIT", name);
    if (rc != 0) {
        if (PQstatus(m->pg) == CONNECTION_OK)
            PQclear(PQexec(m->pg, "ROLLBACK"));
        return rc;
    }
    gw_info("db.migrate_applied", "applied migration %s", name);
    return 0;
}

/* Connects with a bounded connect time and TCP keepalives unless the conninfo sets them (later
 * expanded dbname fields override earlier entries), and makes commits durable. */
static int gw_db_migrate_connect(struct gw_mig *m, const char *conninfo)
{
    const char *keys[] = {"connect_timeout",  "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "dbname",          NULL};
    const char *vals[] = {"10", "30", "10", "3", conninfo ? conninfo : "", NULL};

    m->pg = PQconnectdbParams(keys, vals, 1);
    if (!m->pg) {
        snprintf(m->why, m->why_cap, "cannot connect: out of memory");
        return GW_ENOMEM;
    }
    if (PQstatus(m->pg) != CONNECTION_OK) {
        char msg[1024];
        /* A server that refuses the connection now (down, starting, shutting down, too many
         * clients) may accept it later; a bad conninfo shows up the same way and is reported on
         * every retry. */
        m->transient = true;
        snprintf(m->why, m->why_cap, "cannot connect: %s",
                 gw_db_oneline(msg, sizeof(msg), PQerrorMessage(m->pg)));
        return GW_EAGAIN;
    }
    PQsetNoticeProcessor(m->pg, gw_db_migrate_notice, NULL);
    return gw_db_migrate_exec(m, "SET synchronous_commit = on", "(session)");
}

/* bounded_lock: wait at most GW_DB_MIGRATE_LOCK_WAIT for the advisory lock (55P03 beyond, which
 * is transient), so a start-up attempt, and with it a drain, never waits without end on another
 * instance. */
static int gw_db_migrate_run(const char *conninfo, const char *dir, char *why, size_t why_cap,
                             bool bounded_lock)
{
    char whybuf[1];
    struct gw_mig m = {.why = why && why_cap ? why : whybuf,
                       .why_cap = why && why_cap ? why_cap : sizeof(whybuf)};
    struct dirent **files = NULL;
    PGresult *done = NULL;
    int n = 0, rc, applied = 0;

    m.why[0] = '\0';
    rc = gw_db_migrate_connect(&m, conninfo);
    if (rc != 0) {
        PQfinish(m.pg);
        return rc;
    }
    n = scandir(dir, &files, gw_db_migrate_filter, gw_db_migrate_cmp);
    if (n < 0) {
        snprintf(m.why, m.why_cap, "cannot read migrations directory %s", dir);
        gw_error("db.migrate_dir", "cannot read migrations directory %s", dir);
        PQfinish(m.pg);
        return GW_ENOENT;
    }
    if (bounded_lock)
        rc = gw_db_migrate_exec(&m, "SET lock_timeout = '" GW_DB_MIGRATE_LOCK_WAIT "'", "(lock)");
    if (rc == 0)
        rc = gw_db_migrate_exec(&m, "SELECT pg_advisory_lock(" GW_DB_MIGRATE_LOCK ")", "(lock)");
    if (rc == 0 && bounded_lock)
        rc = gw_db_migrate_exec(&m, "SET lock_timeout = 0", "(lock)");
    if (rc == 0)
        rc = gw_db_migrate_exec(&m,
                                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                "version text PRIMARY KEY, "
                                "applied_at timestamptz NOT NULL DEFAULT now(), "
                                "sha256 text NOT NULL DEFAULT '')",
                                "(schema_migrations)");
    if (rc == 0) /* tables made before checksums were recorded */
        rc = gw_db_migrate_exec(&m,
                                "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS "
                                "sha256 text NOT NULL DEFAULT ''",
                                "(schema_migrations)");
    if (rc == 0) {
        done = PQexec(m.pg, "SELECT version, sha256 FROM schema_migrations");
        if (PQresultStatus(done) != PGRES_TUPLES_OK)
            rc = gw_db_migrate_failed(&m, done, "(schema_migrations)", "reading: ");
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        char version[256], sha[65];
        const char *name = files[i]->d_name, *recorded;
        char *sql;

        snprintf(version, sizeof(version), "%.*s", (int)(strlen(name) - 4), name);
        sql = gw_db_migrate_read(dir, name);
        if (!sql) {
            snprintf(m.why, m.why_cap, "%s: cannot read file", name);
            gw_error("db.migrate_failed", "%s: cannot read file", name);
            rc = GW_EIO;
            break;
        }
        gw_digest_sha256_hex(sql, strlen(sql), sha);
        recorded = gw_db_migrate_applied(done, version);
        if (!recorded) {
            rc = gw_db_migrate_apply(&m, name, version, sql, sha);
            applied += rc == 0;
        } else if (recorded[0] && strcmp(recorded, sha) != 0) {
            /* An applied migration must never change: the database would silently differ
             * from what the code expects. Changes go into a new file. */
            snprintf(m.why, m.why_cap, "%s was changed after it was applied", name);
            gw_error("db.migrate_changed",
                     "%s was changed after it was applied (recorded sha256 %s, file %s); put "
                     "schema changes in a new migration file",
                     name, recorded, sha);
            rc = GW_EDB;
        }
        free(sql);
    }
    if (rc == 0)
        gw_info("db.migrate_done", "%d migration(s) applied, %d file(s) known", applied, n);
    PQclear(done);
    if (PQstatus(m.pg) == CONNECTION_OK)
        PQclear(PQexec(m.pg, "SELECT pg_advisory_unlock(" GW_DB_MIGRATE_LOCK ")"));
    PQfinish(m.pg);
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc;
}

int gw_db_migrate_once(const char *conninfo, const char *dir, char *why, size_t why_cap)
{
    return gw_db_migrate_run(conninfo, dir, why, why_cap, true);
}

int gw_db_migrate(const char *conninfo, const char *dir)
{
    char why[1024];
    int rc = gw_db_migrate_run(conninfo, dir, why, sizeof(why), false);

    if (rc == GW_EAGAIN) {
        gw_error("db.migrate_failed", "%s", why);
        return GW_EDB;
    }
    return rc == GW_EIO ? GW_EIO : rc ? GW_EDB : 0;
}
