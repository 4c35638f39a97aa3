/*
 * Schema migrations, run blocking at start-up before the loop: applies dir/NNN_*.sql in lexical
 * order, each file once and in its own transaction, recorded in schema_migrations. An advisory
 * lock serialises gateways starting at the same time against one database.
 */
#include "db/db_internal.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/log.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_DB_MIGRATE_LOCK     "7168246251" /* pg_advisory_lock key, arbitrary but fixed */
#define GW_DB_MIGRATE_MAX_FILE (16u << 20)

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

/* Runs one statement batch; logs and returns GW_EDB on failure. */
static int gw_db_migrate_exec(PGconn *pg, const char *sql, const char *file)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        char msg[1024];
        gw_db_oneline(msg, sizeof(msg), res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
        gw_error("db.migrate_failed", "%s: %s", file, msg);
        rc = GW_EDB;
    }
    PQclear(res);
    return rc;
}

static char *gw_db_migrate_read(const char *dir, const char *name)
{
    char path[4096];
    char *buf = NULL;
    FILE *f;
    long size;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        (unsigned long)size > GW_DB_MIGRATE_MAX_FILE || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
out:
    fclose(f);
    return buf;
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
static int gw_db_migrate_apply(PGconn *pg, const char *name, const char *version, const char *sql,
                               const char *sha)
{
    const char *params[2] = {version, sha};
    PGresult *res;
    int rc;

    rc = gw_db_migrate_exec(pg, "BEGIN", name);
    if (rc == 0)
        rc = gw_db_migrate_exec(pg, sql, name);
    if (rc == 0) {
        res = PQexecParams(pg, "INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)", 2,
                           NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            char msg[1024];
            gw_error("db.migrate_failed", "%s: recording version: %s", name,
                     gw_db_oneline(msg, sizeof(msg), PQresultErrorMessage(res)));
            rc = GW_EDB;
        }
        PQclear(res);
    }
    if (rc == 0)
        rc = gw_db_migrate_exec(pg, "COMMIT", name);
    if (rc != 0) {
        PQclear(PQexec(pg, "ROLLBACK"));
        return rc;
    }
    gw_info("db.migrate_applied", "applied migration %s", name);
    return 0;
}

int gw_db_migrate(const char *conninfo, const char *dir)
{
    struct dirent **files = NULL;
    PGresult *done = NULL;
    PGconn *pg;
    int n, rc, applied = 0;

    pg = PQconnectdb(conninfo ? conninfo : "");
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        char msg[1024];
        gw_error("db.migrate_connect", "cannot connect: %s",
                 gw_db_oneline(msg, sizeof(msg), pg ? PQerrorMessage(pg) : "out of memory"));
        PQfinish(pg);
        return GW_EDB;
    }
    PQsetNoticeProcessor(pg, gw_db_migrate_notice, NULL);
    n = scandir(dir, &files, gw_db_migrate_filter, gw_db_migrate_cmp);
    if (n < 0) {
        gw_error("db.migrate_dir", "cannot read migrations directory %s", dir);
        PQfinish(pg);
        return GW_ENOENT;
    }
    rc = gw_db_migrate_exec(pg, "SELECT pg_advisory_lock(" GW_DB_MIGRATE_LOCK ")", "(lock)");
    if (rc == 0)
        rc = gw_db_migrate_exec(pg,
                                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                "version text PRIMARY KEY, "
                                "applied_at timestamptz NOT NULL DEFAULT now(), "
                                "sha256 text NOT NULL DEFAULT '')",
                                "(schema_migrations)");
    if (rc == 0) /* tables made before checksums were recorded */
        rc = gw_db_migrate_exec(pg,
                                "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS "
                                "sha256 text NOT NULL DEFAULT ''",
                                "(schema_migrations)");
    if (rc == 0) {
        done = PQexec(pg, "SELECT version, sha256 FROM schema_migrations");
        if (PQresultStatus(done) != PGRES_TUPLES_OK) {
            char msg[1024];
            gw_error("db.migrate_failed", "reading schema_migrations: %s",
                     gw_db_oneline(msg, sizeof(msg), PQresultErrorMessage(done)));
            rc = GW_EDB;
        }
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        char version[256], sha[65];
        const char *name = files[i]->d_name, *recorded;
        char *sql;

        snprintf(version, sizeof(version), "%.*s", (int)(strlen(name) - 4), name);
        sql = gw_db_migrate_read(dir, name);
        if (!sql) {
            gw_error("db.migrate_failed", "%s: cannot read file", name);
            rc = GW_EIO;
            break;
        }
        gw_digest_sha256_hex(sql, strlen(sql), sha);
        recorded = gw_db_migrate_applied(done, version);
        if (!recorded) {
            rc = gw_db_migrate_apply(pg, name, version, sql, sha);
            applied += rc == 0;
        } else if (recorded[0] && strcmp(recorded, sha) != 0) {
            /* An applied migration must never change: the database would silently differ
             * from what the code expects. Changes go into a new file. */
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
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" GW_DB_MIGRATE_LOCK ")"));
    PQfinish(pg);
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc == GW_EIO ? GW_EIO : rc ? GW_EDB : 0;
}
