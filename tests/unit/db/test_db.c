/*
 * Tests for the PostgreSQL pool (gateway/db*.c) against a real server: results and parameters,
 * concurrency, SQL errors, queue limits and timeouts, connections killed under load, a hung server
 * (backend stopped with SIGSTOP) against the client-side query deadline, keepalive defaults,
 * orderly and forced shutdown, and migrations. Needs GW_TEST_PGHOST (socket directory, user
 * postgres, trust); skips (77) without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db/db.h"
#include "db/db_internal.h" /* white-box checks of the connection parameters */
#include "util/error.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_host[1024];
static char g_dbname[64];
static char g_conninfo[1200];

/* ---- blocking helpers (outside the loop, or from test timers only) ---- */

static void quiet_notice(void *arg, const char *msg)
{
}

static PGconn *admin_connect(const char *dbname)
{
    char ci[1200];
    PGconn *pg;

    snprintf(ci, sizeof(ci), "host=%s user=postgres dbname=%s", g_host, dbname);
    pg = PQconnectdb(ci);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("connect %s: %s", dbname, PQerrorMessage(pg));
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    return pg;
}

/* Runs sql on the test database; returns the first column of the first row as an int (or -1). */
static int admin_int(const char *dbname, const char *sql)
{
    PGconn *pg = admin_connect(dbname);
    PGresult *res = PQexec(pg, sql);
    int v = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(pg);
    return v;
}

/* ---- loop harness ---- */

struct ctx {
    uv_loop_t loop;
    uv_timer_t watchdog;
    uv_timer_t timer;
    struct gw_db *db;
    int closed;
    int ok, failed, canceled;
    int n;
    uint64_t t0;
    char last_state[8];
};

static void on_watchdog(uv_timer_t *t)
{
    fail_msg("test did not finish within the watchdog period");
}

static void on_closed(void *ud)
{
    struct ctx *x = ud;
    x->closed++;
}

static void base_config(struct gw_db_config *cfg)
{
    gw_db_config_default(cfg);
    cfg->conninfo = g_conninfo;
    cfg->reconnect_min_ms = 20;
    cfg->reconnect_max_ms = 500;
    cfg->queue_timeout_ms = 20000;
}

static void ctx_open(struct ctx *x, const struct gw_db_config *cfg)
{
    memset(x, 0, sizeof(*x));
    assert_int_equal(uv_loop_init(&x->loop), 0);
    uv_timer_init(&x->loop, &x->watchdog);
    uv_timer_start(&x->watchdog, on_watchdog, 60000, 0);
    uv_unref((uv_handle_t *)&x->watchdog);
    uv_timer_init(&x->loop, &x->timer);
    assert_int_equal(gw_db_open(&x->loop, cfg, &x->db), 0);
    x->t0 = uv_now(&x->loop);
}

static void ctx_close_db(struct ctx *x)
{
    uv_close((uv_handle_t *)&x->timer, NULL);
    gw_db_close(x->db, on_closed, x);
}

static void ctx_close_db_now(struct ctx *x)
{
    uv_close((uv_handle_t *)&x->timer, NULL);
    gw_db_close_now(x->db, on_closed, x);
}

/* Runs the loop until the pool has closed itself, then checks nothing is left open. */
static void ctx_run(struct ctx *x)
{
    uv_run(&x->loop, UV_RUN_DEFAULT);
    assert_int_equal(x->closed, 1);
    uv_close((uv_handle_t *)&x->watchdog, NULL);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&x->loop), 0);
}

/* ---- simple query ---- */

static void simple_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_non_null(res);
    assert_string_equal(sqlstate, "");
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "2");
    assert_string_equal(PQgetvalue(res, 0, 1), "hello");
    assert_true(gw_db_ready(x->db));
    x->ok++;
    ctx_close_db(x);
}

static void test_simple_query(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 2;
    ctx_open(&x, &cfg);
    assert_int_equal(
        gw_db_query(x.db, "SELECT 1 + 1, 'hello'::text", 0, NULL, NULL, NULL, simple_cb, &x), 0);
    assert_int_equal(gw_db_pending(x.db), 1);
    ctx_run(&x);
    assert_int_equal(x.ok, 1);
}

/* ---- parameters ---- */

#define BLOB_SIZE (1u << 20)
static unsigned char g_blob[BLOB_SIZE];

static void text_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 0), "hello w\xc3\xb6rld!");
    assert_string_equal(PQgetvalue(res, 0, 1), "t");
    x->ok++;
}

static void blob_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    unsigned char *bytes;
    size_t len = 0;

    assert_int_equal(err, 0);
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), BLOB_SIZE);
    bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
    assert_non_null(bytes);
    assert_int_equal(len, BLOB_SIZE);
    assert_memory_equal(bytes, g_blob, BLOB_SIZE);
    PQfreemem(bytes);
    assert_int_equal(strlen(PQgetvalue(res, 0, 2)), 64);
    x->ok++;
    ctx_close_db(x);
}

static void test_params_roundtrip(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;
    char text[32] = "hello w\xc3\xb6rld";
    const char *tv[2] = {text, NULL};
    unsigned char *copy = malloc(BLOB_SIZE);
    const char *bv[1] = {(const char *)copy};
    int blen[1] = {BLOB_SIZE}, bfmt[1] = {1};
    uint64_t s = 0x243f6a8885a308d3ull;

    for (size_t i = 0; i < BLOB_SIZE; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        g_blob[i] = (unsigned char)(s >> 24);
    }
    g_blob[0] = 0;
    g_blob[BLOB_SIZE / 2] = 0;
    memcpy(copy, g_blob, BLOB_SIZE);

    base_config(&cfg);
    ctx_open(&x, &cfg);
    assert_int_equal(gw_db_query(x.db, "SELECT $1::text || '!', $2::text IS NULL", 2, tv, NULL,
                                 NULL, text_cb, &x),
                     0);
    assert_int_equal(gw_db_query(x.db,
                                 "SELECT $1::bytea, length($1::bytea), "
                                 "encode(sha256($1::bytea), 'hex')",
                                 1, bv, blen, bfmt, blob_cb, &x),
                     0);
    /* The pool copied the parameters: scribbling over ours must not matter. */
    memset(text, 'x', sizeof(text) - 1);
    memset(copy, 0xa5, BLOB_SIZE);
    free(copy);
    ctx_run(&x);
    assert_int_equal(x.ok, 2);
}

#define NBORROW 6

static void borrow_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    unsigned char *bytes;
    size_t len = 0;

    (void)sqlstate;
    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 1), "tag!");
    for (int i = 0; i < 64; i++)
        assert_int_equal(PQgetvalue(res, 0, 2)[i], '1');
    bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
    assert_non_null(bytes);
    assert_int_equal(len, BLOB_SIZE);
    assert_memory_equal(bytes, g_blob, BLOB_SIZE);
    PQfreemem(bytes);
    if (++x->ok == NBORROW)
        ctx_close_db(x);
}

/* Borrowed binary parameters: more queries than connections, so some wait in the queue with the
 * caller's buffer referenced; the bytes arrive intact, and the text and the short binary
 * parameters were copied (scribbled over after the calls). */
static void test_params_borrowed(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;
    char text[8] = "tag";
    char small[32];
    const char *v[3] = {(const char *)g_blob, text, small};
    int len[3] = {BLOB_SIZE, 0, sizeof(small)}, fmt[3] = {1, 0, 1};

    (void)state;
    assert_true(BLOB_SIZE >= GW_DB_BORROW_MIN);
    memset(small, 0x11, sizeof(small));
    for (size_t i = 0; i < BLOB_SIZE; i++)
        g_blob[i] = (unsigned char)(i * 7 + (i >> 8));
    base_config(&cfg);
    ctx_open(&x, &cfg);
    for (int i = 0; i < NBORROW; i++)
        assert_int_equal(gw_db_query_borrow(x.db,
                                            "SELECT $1::bytea, $2::text || '!',"
                                            " encode($3::bytea, 'hex')",
                                            3, v, len, fmt, borrow_cb, &x),
                         0);
    memset(text, 'x', sizeof(text) - 1);
    memset(small, 0xee, sizeof(small));
    ctx_run(&x);
    assert_int_equal(x.ok, NBORROW);
}

/* ---- concurrency ---- */

#define NCONC 200

struct conc_slot {
    struct ctx *x;
    int i;
    char arg[16];
};

static void conc_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct conc_slot *s = ud;

    assert_int_equal(err, 0);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 2 * s->i);
    if (++s->x->ok == NCONC) {
        assert_int_equal(gw_db_pending(s->x->db), 0);
        ctx_close_db(s->x);
    }
}

static void test_concurrent_queries(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;
    static struct conc_slot slots[NCONC];

    base_config(&cfg);
    cfg.pool_size = 4;
    ctx_open(&x, &cfg);
    for (int i = 0; i < NCONC; i++) {
        const char *v[1] = {slots[i].arg};
        slots[i].x = &x;
        slots[i].i = i;
        snprintf(slots[i].arg, sizeof(slots[i].arg), "%d", i);
        assert_int_equal(gw_db_query(x.db, "SELECT $1::int * 2, pg_backend_pid()", 1, v, NULL, NULL,
                                     conc_cb, &slots[i]),
                         0);
    }
    assert_int_equal(gw_db_pending(x.db), NCONC);
    ctx_run(&x);
    assert_int_equal(x.ok, NCONC);
}

/* ---- SQL errors and re-entrant callbacks ---- */

static void after_error_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 0), "after");
    x->ok++;
    ctx_close_db(x);
}

static void error_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, GW_EDB);
    assert_null(res);
    assert_string_equal(sqlstate, "42P01");
    x->failed++;
    /* The connection stays usable and the callback may queue more work. */
    assert_int_equal(gw_db_query(x->db, "SELECT 'after'", 0, NULL, NULL, NULL, after_error_cb, x),
                     0);
}

static void test_sql_error(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    ctx_open(&x, &cfg);
    assert_int_equal(
        gw_db_query(x.db, "SELECT * FROM no_such_table", 0, NULL, NULL, NULL, error_cb, &x), 0);
    ctx_run(&x);
    assert_int_equal(x.failed, 1);
    assert_int_equal(x.ok, 1);
}

static void chain_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    const char *v[1];

    assert_int_equal(err, 0);
    x->n = atoi(PQgetvalue(res, 0, 0));
    if (x->n == 20) {
        ctx_close_db(x);
        return;
    }
    v[0] = PQgetvalue(res, 0, 0);
    assert_int_equal(gw_db_query(x->db, "SELECT $1::int + 1", 1, v, NULL, NULL, chain_cb, x), 0);
}

static void test_callback_chain(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    ctx_open(&x, &cfg);
    assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, chain_cb, &x), 0);
    ctx_run(&x);
    assert_int_equal(x.n, 20);
}

/* ---- statement_timeout ---- */

static void timeout_after_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    x->ok++;
    ctx_close_db(x);
}

static void timeout_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, GW_EDB);
    assert_string_equal(sqlstate, "57014");
    x->failed++;
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, timeout_after_cb, x), 0);
}

static void test_statement_timeout(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    cfg.query_timeout_ms = 200;
    ctx_open(&x, &cfg);
    assert_int_equal(gw_db_query(x.db, "SELECT pg_sleep(10)", 0, NULL, NULL, NULL, timeout_cb, &x),
                     0);
    ctx_run(&x);
    assert_int_equal(x.failed, 1);
    assert_int_equal(x.ok, 1);
}

/* ---- queue overflow ---- */

static void count_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    if (++x->ok == x->n)
        ctx_close_db(x);
}

/* max_queue 5: the sixth query waiting is refused; the intake queue is bounded on its own. */
static void test_queue_overflow(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    cfg.max_queue = 5;
    ctx_open(&x, &cfg);
    x.n = 8;
    for (int i = 0; i < 5; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, count_cb, &x), 0);
    assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, count_cb, &x), GW_EAGAIN);
    assert_int_equal(gw_db_pending(x.db), 5);
    /* The intake has a bound of its own: a full work queue does not refuse submissions. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            gw_db_query_ex(x.db, GW_DB_INTAKE, "SELECT 1", 0, NULL, NULL, NULL, count_cb, &x), 0);
    assert_int_equal(gw_db_pending(x.db), 8);
    ctx_run(&x);
    assert_int_equal(x.ok, 8);
}

/* ---- intake waits for the work in hand ---- */

struct order_ctx {
    struct ctx *x;
    int tag;
};

static int order_seen[8];
static int order_n;

static void order_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct order_ctx *o = ud;

    (void)sqlstate;
    assert_int_equal(err, 0);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), o->tag);
    order_seen[order_n++] = o->tag;
    if (order_n == 5)
        ctx_close_db(o->x);
}

/* One connection, busy with the first query: two intake queries queued before two others leave
 * the queue after them, each kind in its own order. */
static void test_intake_after_work(void **state)
{
    static const int tags[5] = {1, 10, 11, 2, 3};
    static const unsigned flags[5] = {0, GW_DB_INTAKE, GW_DB_INTAKE | GW_DB_BORROW, 0, 0};
    struct order_ctx o[5];
    struct gw_db_config cfg;
    struct ctx x;
    char sql[5][64];

    (void)state;
    base_config(&cfg);
    cfg.pool_size = 1;
    ctx_open(&x, &cfg);
    order_n = 0;
    for (int i = 0; i < 5; i++) {
        o[i] = (struct order_ctx){.x = &x, .tag = tags[i]};
        snprintf(sql[i], sizeof(sql[i]), "SELECT %d%s", tags[i],
                 i == 0 ? " FROM pg_sleep(0.2)" : "");
        assert_int_equal(
            gw_db_query_ex(x.db, flags[i], sql[i], 0, NULL, NULL, NULL, order_cb, &o[i]), 0);
    }
    assert_int_equal(gw_db_query_ex(x.db, 8u, "SELECT 1", 0, NULL, NULL, NULL, order_cb, &o[0]),
                     GW_EINVAL);
    assert_int_equal(gw_db_pending(x.db), 5);
    ctx_run(&x);
    assert_int_equal(order_n, 5);
    assert_int_equal(order_seen[0], 1);
    assert_int_equal(order_seen[1], 2);
    assert_int_equal(order_seen[2], 3);
    assert_int_equal(order_seen[3], 10);
    assert_int_equal(order_seen[4], 11);
}

/* ---- intake not starved by work that keeps coming ---- */

static int starve_work_ok, starve_intake_err = 1, starve_intake_done;
static struct ctx *starve_x;

static void starve_work_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    (void)res, (void)sqlstate, (void)ud;
    if (err != 0)
        return;
    starve_work_ok++;
    if (starve_intake_done) {
        if (gw_db_pending(starve_x->db) == 0)
            ctx_close_db(starve_x);
        return;
    }
    /* a poller that asks again as soon as it has its answer */
    assert_int_equal(
        gw_db_query(starve_x->db, "SELECT 1", 0, NULL, NULL, NULL, starve_work_cb, NULL), 0);
}

static void starve_intake_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    (void)res, (void)sqlstate, (void)ud;
    starve_intake_err = err;
    starve_intake_done = 1;
}

/* Two callers that query again from their callbacks on a pool of one keep the work in hand never
 * empty: the intake query still runs once it has waited a quarter of queue_timeout_ms, not
 * failed at its queue timeout. */
static void test_intake_not_starved(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    (void)state;
    base_config(&cfg);
    cfg.pool_size = 1;
    cfg.queue_timeout_ms = 2000;
    ctx_open(&x, &cfg);
    starve_x = &x;
    for (int i = 0; i < 2; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, starve_work_cb, NULL),
                         0);
    assert_int_equal(
        gw_db_query_ex(x.db, GW_DB_INTAKE, "SELECT 2", 0, NULL, NULL, NULL, starve_intake_cb, NULL),
        0);
    ctx_run(&x);
    assert_int_equal(starve_intake_err, 0);
    assert_true(starve_work_ok > 2); /* the work in hand went first meanwhile */
}

/* ---- connection killed under load ---- */

#define KILL_SLEEPS 4
#define KILL_QUICK  10

static void kill_check_done(struct ctx *x)
{
    if (x->failed == KILL_SLEEPS && x->ok == KILL_QUICK) {
        assert_true(gw_db_ready(x->db));
        ctx_close_db(x);
    }
}

static void kill_sleep_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, GW_EDB);
    assert_null(res);
    x->failed++;
    kill_check_done(x);
}

static void kill_quick_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 0), "42");
    /* Queued behind the sleeps, so they can only have run after the kill, on re-established
     * connections. */
    assert_int_equal(x->n, 1);
    x->ok++;
    kill_check_done(x);
}

static void kill_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND state = 'active' "
             "AND query LIKE 'SELECT pg_sleep(60)%%'",
             g_dbname);
    if (admin_int("postgres", sql) < KILL_SLEEPS)
        return;
    uv_timer_stop(t);
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = '%s' AND pid <> pg_backend_pid()",
             g_dbname);
    assert_true(admin_int("postgres", sql) >= KILL_SLEEPS);
    x->n = 1;
}

static void test_connection_killed(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;
    const char *v[1] = {"42"};

    base_config(&cfg);
    cfg.pool_size = KILL_SLEEPS;
    cfg.query_timeout_ms = 120000;
    ctx_open(&x, &cfg);
    for (int i = 0; i < KILL_SLEEPS; i++)
        assert_int_equal(
            gw_db_query(x.db, "SELECT pg_sleep(60)", 0, NULL, NULL, NULL, kill_sleep_cb, &x), 0);
    for (int i = 0; i < KILL_QUICK; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT $1::text", 1, v, NULL, NULL, kill_quick_cb, &x),
                         0);
    x.timer.data = &x;
    uv_timer_start(&x.timer, kill_tick, 50, 50);
    ctx_run(&x);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.failed, KILL_SLEEPS);
    assert_int_equal(x.ok, KILL_QUICK);
}

/* ---- idle connections killed ---- */

static char g_kill_ts[64];

static void idle_after_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_true(gw_db_ready(x->db));
    x->ok++;
    ctx_close_db(x);
}

/* Waits for the pool to have replaced both killed sessions, then uses it again. */
static void idle_wait_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND backend_start > '%s'",
             g_dbname, g_kill_ts);
    if (admin_int("postgres", sql) < 2)
        return;
    uv_timer_stop(t);
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, idle_after_cb, x), 0);
}

static void idle_first_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    char sql[512];
    PGconn *pg;
    PGresult *r;

    assert_int_equal(err, 0);
    x->n++;
    if (x->n < 2)
        return;
    /* Both connections are idle now: kill them from outside. */
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)), clock_timestamp()::text "
             "FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()",
             g_dbname);
    pg = admin_connect("postgres");
    r = PQexec(pg, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), 2);
    snprintf(g_kill_ts, sizeof(g_kill_ts), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    PQfinish(pg);
    x->timer.data = x;
    uv_timer_start(&x->timer, idle_wait_tick, 20, 20);
}

static void test_idle_connections_killed(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 2;
    cfg.query_timeout_ms = 0;
    ctx_open(&x, &cfg);
    /* Two overlapping sleeps make sure both connections have been up. */
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            gw_db_query(x.db, "SELECT pg_sleep(0.1)", 0, NULL, NULL, NULL, idle_first_cb, &x), 0);
    ctx_run(&x);
    assert_int_equal(x.ok, 1);
}

/* ---- argument checks ---- */

static void never_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    fail_msg("callback must not run");
}

static void test_invalid_arguments(void **state)
{
    struct gw_db_config cfg;
    struct gw_db *db = NULL;
    struct ctx x;
    const char *v[1] = {"abc"};
    int fmt[1] = {1};

    base_config(&cfg);
    cfg.conninfo = "host='unterminated";
    memset(&x, 0, sizeof(x));
    assert_int_equal(uv_loop_init(&x.loop), 0);
    assert_int_equal(gw_db_open(&x.loop, &cfg, &db), GW_EINVAL);
    assert_null(db);
    assert_int_equal(uv_loop_close(&x.loop), 0);

    base_config(&cfg);
    ctx_open(&x, &cfg);
    /* Binary parameters need their lengths. */
    assert_int_equal(gw_db_query(x.db, "SELECT $1::bytea", 1, v, NULL, fmt, never_cb, NULL),
                     GW_EINVAL);
    assert_int_equal(gw_db_query(x.db, "SELECT 1", -1, NULL, NULL, NULL, never_cb, NULL),
                     GW_EINVAL);
    assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, NULL, NULL), GW_EINVAL);
    assert_int_equal(gw_db_pending(x.db), 0);
    ctx_close_db(&x);
    ctx_run(&x);
}

/* ---- server unreachable ---- */

static void unreachable_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    uint64_t waited = uv_now(&x->loop) - x->t0;

    assert_int_equal(err, GW_EDB);
    assert_null(res);
    assert_string_equal(sqlstate, "");
    assert_false(gw_db_ready(x->db));
    assert_true(waited >= 250);
    assert_true(waited < 15000);
    if (++x->failed == 3)
        ctx_close_db(x);
}

static void test_unreachable_queue_timeout(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.conninfo = "host=/nonexistent/gw-db-test user=postgres dbname=postgres";
    cfg.pool_size = 2;
    cfg.queue_timeout_ms = 300;
    cfg.reconnect_min_ms = 10;
    cfg.reconnect_max_ms = 100;
    ctx_open(&x, &cfg);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, unreachable_cb, &x), 0);
    assert_false(gw_db_ready(x.db));
    ctx_run(&x);
    assert_int_equal(x.failed, 3);
}

/* ---- shutdown ---- */

static void close_sleep_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    /* In flight when gw_db_close ran: allowed to finish. */
    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 1), "slept");
    x->ok++;
}

static void close_cancel_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, GW_ECANCELED);
    assert_null(res);
    x->canceled++;
    /* Re-entrant call during shutdown is refused without running a callback. */
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, close_cancel_cb, x),
                     GW_ESHUTDOWN);
}

static void close_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;

    assert_int_equal(gw_db_pending(x->db), 4);
    ctx_close_db(x);
    assert_int_equal(x->canceled, 3);
}

static void close_first_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_int_equal(
        gw_db_query(x->db, "SELECT pg_sleep(0.3), 'slept'", 0, NULL, NULL, NULL, close_sleep_cb, x),
        0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_db_query(x->db, "SELECT 2", 0, NULL, NULL, NULL, close_cancel_cb, x),
                         0);
    x->timer.data = x;
    uv_timer_start(&x->timer, close_tick, 100, 0);
}

static void test_close_with_pending(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    ctx_open(&x, &cfg);
    assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, close_first_cb, &x), 0);
    ctx_run(&x);
    assert_int_equal(x.ok, 1);
    assert_int_equal(x.canceled, 3);
}

static void test_close_while_connecting(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    ctx_open(&x, &cfg);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, close_cancel_cb, &x),
                         0);
    ctx_close_db(&x);
    assert_int_equal(x.canceled, 3);
    ctx_run(&x);
}

/* ---- hung server: client-side query deadline ---- */

/* Backend stopped with SIGSTOP; resumed by the test, its teardown, or at exit if a test failed. */
static pid_t g_stopped_pid;

static void resume_backend(void)
{
    if (g_stopped_pid > 0) {
        kill(g_stopped_pid, SIGCONT);
        g_stopped_pid = 0;
    }
}

static int resume_teardown(void **state)
{
    resume_backend();
    return 0;
}

/* Stops the backend whose pid is in res; skips the test when not allowed to signal it. */
static void stop_backend(const PGresult *res)
{
    pid_t pid = (pid_t)atoi(PQgetvalue(res, 0, 0));

    assert_true(pid > 0);
    if (kill(pid, SIGSTOP) != 0) {
        fprintf(stderr, "cannot stop backend %d (not root?): skipping\n", (int)pid);
        skip();
    }
    g_stopped_pid = pid;
}

static void hung_after_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    /* Served by a new connection. */
    assert_int_equal(err, 0);
    assert_int_not_equal(atoi(PQgetvalue(res, 0, 0)), x->n);
    x->ok++;
    ctx_close_db(x);
}

static void hung_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    uint64_t waited = uv_now(&x->loop) - x->t0;

    /* Broken connection: outcome unknown, no SQLSTATE, after query_timeout_ms + 5 s. */
    assert_int_equal(err, GW_EDB);
    assert_null(res);
    assert_string_equal(sqlstate, "");
    assert_true(waited >= 4500);
    assert_true(waited < 30000);
    x->failed++;
    resume_backend();
    assert_int_equal(
        gw_db_query(x->db, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL, hung_after_cb, x), 0);
}

static void hung_pid_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    x->n = atoi(PQgetvalue(res, 0, 0));
    stop_backend(res);
    x->t0 = uv_now(&x->loop);
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, hung_cb, x), 0);
}

static void test_query_deadline_hung_server(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    cfg.query_timeout_ms = 100; /* client deadline 5.1 s */
    ctx_open(&x, &cfg);
    assert_int_equal(
        gw_db_query(x.db, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL, hung_pid_cb, &x), 0);
    ctx_run(&x);
    assert_int_equal(x.failed, 1);
    assert_int_equal(x.ok, 1);
}

static void hung_close_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    uint64_t waited = uv_now(&x->loop) - x->t0;

    assert_int_equal(err, GW_EDB);
    assert_string_equal(sqlstate, "");
    assert_true(waited >= 4500);
    assert_true(waited < 30000);
    assert_int_equal(x->closed, 0);
    x->failed++;
}

/* The query has been handed to the stopped backend: the orderly close waits for it, but no longer
 * than its deadline. */
static void hung_close_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;

    assert_int_equal(gw_db_pending(x->db), 1);
    ctx_close_db(x);
}

static void hung_close_pid_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    stop_backend(res);
    x->t0 = uv_now(&x->loop);
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, hung_close_cb, x), 0);
    x->timer.data = x;
    uv_timer_start(&x->timer, hung_close_tick, 300, 0);
}

static void test_close_bounded_by_deadline(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 1;
    cfg.query_timeout_ms = 100;
    ctx_open(&x, &cfg);
    assert_int_equal(
        gw_db_query(x.db, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL, hung_close_pid_cb, &x),
        0);
    ctx_run(&x);
    resume_backend();
    assert_int_equal(x.failed, 1);
}

/* ---- TCP keepalive defaults ---- */

static const char *conn_option(PGconn *pg, const char *key, char *buf, size_t cap)
{
    PQconninfoOption *opts = PQconninfo(pg);

    buf[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, key) == 0 && o->val)
            snprintf(buf, cap, "%s", o->val);
    }
    PQconninfoFree(opts);
    return buf;
}

static void keepalive_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;
    PGconn *pg = x->db->conns[0].pg;
    char v[64];

    assert_int_equal(err, 0);
    assert_non_null(pg);
    /* Set by the conninfo: kept. */
    assert_string_equal(conn_option(pg, "keepalives_idle", v, sizeof(v)), "45");
    /* Not set: the pool's defaults. */
    assert_string_equal(conn_option(pg, "keepalives", v, sizeof(v)), "1");
    assert_string_equal(conn_option(pg, "keepalives_interval", v, sizeof(v)), "10");
    assert_string_equal(conn_option(pg, "keepalives_count", v, sizeof(v)), "3");
    assert_string_equal(conn_option(pg, "tcp_user_timeout", v, sizeof(v)), "30000");
    /* The rest of the conninfo still applies. */
    assert_string_equal(conn_option(pg, "dbname", v, sizeof(v)), g_dbname);
    assert_string_equal(conn_option(pg, "application_name", v, sizeof(v)), "gw-keepalive-test");
    assert_string_equal(PQgetvalue(res, 0, 0), "gw-keepalive-test");
    x->ok++;
    ctx_close_db(x);
}

static void test_keepalive_defaults(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;
    char ci[1400];

    snprintf(ci, sizeof(ci), "%s keepalives_idle=45 application_name=gw-keepalive-test",
             g_conninfo);
    base_config(&cfg);
    cfg.conninfo = ci;
    cfg.pool_size = 1;
    ctx_open(&x, &cfg);
    assert_int_equal(gw_db_query(x.db, "SELECT current_setting('application_name')", 0, NULL, NULL,
                                 NULL, keepalive_cb, &x),
                     0);
    ctx_run(&x);
    assert_int_equal(x.ok, 1);
}

/* ---- forced close ---- */

#define NOW_SLEEPS 2
#define NOW_QUEUED 3

static void now_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;
    char sql[512];
    uint64_t t0;

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND state = 'active' "
             "AND query LIKE 'SELECT pg_sleep(30)%%'",
             g_dbname);
    if (admin_int("postgres", sql) < NOW_SLEEPS)
        return;
    assert_int_equal(gw_db_pending(x->db), NOW_SLEEPS + NOW_QUEUED);
    t0 = uv_hrtime();
    if (x->n == 1) {
        /* Escalation: an orderly close first, then the forced one without its own callback. */
        ctx_close_db(x);
        assert_int_equal(x->canceled, NOW_QUEUED);
        gw_db_close_now(x->db, NULL, NULL);
    } else {
        ctx_close_db_now(x);
    }
    /* Every query failed inside the call, in-flight ones included. */
    assert_int_equal(x->canceled, NOW_SLEEPS + NOW_QUEUED);
    assert_true(uv_hrtime() - t0 < 2000000000ull);
    assert_int_equal(gw_db_pending(x->db), 0);
    assert_false(gw_db_ready(x->db));
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, never_cb, NULL),
                     GW_ESHUTDOWN);
    assert_int_equal(x->closed, 0);
}

static void run_close_now(int escalate)
{
    struct gw_db_config cfg;
    struct ctx x;
    uint64_t t0 = uv_hrtime();

    base_config(&cfg);
    cfg.pool_size = NOW_SLEEPS;
    cfg.query_timeout_ms = 120000;
    ctx_open(&x, &cfg);
    x.n = escalate;
    for (int i = 0; i < NOW_SLEEPS; i++)
        assert_int_equal(
            gw_db_query(x.db, "SELECT pg_sleep(30)", 0, NULL, NULL, NULL, close_cancel_cb, &x), 0);
    for (int i = 0; i < NOW_QUEUED; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, close_cancel_cb, &x),
                         0);
    x.timer.data = &x;
    uv_timer_start(&x.timer, now_tick, 50, 50);
    ctx_run(&x); /* also checks closed_cb ran once and uv_loop_close() == 0 */
    assert_int_equal(x.canceled, NOW_SLEEPS + NOW_QUEUED);
    /* Far sooner than the 30 s sleeps. */
    assert_true(uv_hrtime() - t0 < 20000000000ull);
}

static void test_close_now(void **state)
{
    run_close_now(0);
}

static void test_close_then_close_now(void **state)
{
    run_close_now(1);
}

static void test_close_now_while_connecting(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    ctx_open(&x, &cfg);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, close_cancel_cb, &x),
                         0);
    ctx_close_db_now(&x);
    assert_int_equal(x.canceled, 3);
    ctx_run(&x);
}

/* ---- migrations ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1100];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_migrate(void **state)
{
    char dir[] = "/tmp/gw-db-migrate-XXXXXX";
    const char *names[] = {"001_first.sql", "002_second.sql", "003_broken.sql", "004_after.sql",
                           "README"};

    assert_non_null(mkdtemp(dir));
    write_file(dir, names[0],
               "CREATE TABLE mig_one (x int);\nINSERT INTO mig_one VALUES (1);\n"
               "INSERT INTO mig_one VALUES (2);\n");
    write_file(dir, names[1], "CREATE TABLE mig_two (y text);\n");
    write_file(dir, names[4], "not a migration");

    assert_int_equal(gw_db_migrate(g_conninfo, dir), 0);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM schema_migrations"), 2);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM mig_one"), 2);

    /* Second run: nothing new is applied. */
    assert_int_equal(gw_db_migrate(g_conninfo, dir), 0);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM mig_one"), 2);

    /* A broken file stops the run and leaves no trace; later files are not applied. */
    write_file(dir, names[2], "CREATE TABLE mig_three (z int);\nSELEC broken;\n");
    write_file(dir, names[3], "CREATE TABLE mig_four (z int);\n");
    assert_int_equal(gw_db_migrate(g_conninfo, dir), GW_EDB);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM schema_migrations"), 2);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM pg_tables WHERE tablename IN "
                                         "('mig_three', 'mig_four')"),
                     0);

    /* Fixed: the rest goes in. */
    write_file(dir, names[2], "CREATE TABLE mig_three (z int);\n");
    assert_int_equal(gw_db_migrate(g_conninfo, dir), 0);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM schema_migrations"), 4);
    assert_int_equal(admin_int(g_dbname, "SELECT count(*) FROM schema_migrations "
                                         "WHERE version = '004_after'"),
                     1);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* ---- durable commits on every session ---- */

static void sync_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 0), "on");
    assert_string_equal(PQgetvalue(res, 0, 1), x->n ? "0" : "7s");
    x->ok++;
    ctx_close_db(x);
}

/* The database's default and the conninfo both say synchronous_commit = off; every pool session
 * still runs with on (with and without a statement_timeout to set). */
static void test_synchronous_commit(void **state)
{
    char sql[256], ci[1400];
    struct gw_db_config cfg;
    struct ctx x;
    PGconn *pg;
    PGresult *res;

    snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET synchronous_commit = off", g_dbname);
    admin_int("postgres", sql);
    pg = admin_connect(g_dbname);
    res = PQexec(pg, "SHOW synchronous_commit");
    assert_string_equal(PQgetvalue(res, 0, 0), "off"); /* the server default really is off */
    PQclear(res);
    PQfinish(pg);

    snprintf(ci, sizeof(ci), "%s options='-c synchronous_commit=off'", g_conninfo);
    for (int timeout = 0; timeout < 2; timeout++) {
        base_config(&cfg);
        cfg.conninfo = ci;
        cfg.pool_size = 1;
        cfg.query_timeout_ms = timeout ? 0 : 7000;
        ctx_open(&x, &cfg);
        x.n = timeout;
        assert_int_equal(gw_db_query(x.db,
                                     "SELECT current_setting('synchronous_commit'), "
                                     "current_setting('statement_timeout')",
                                     0, NULL, NULL, NULL, sync_cb, &x),
                         0);
        ctx_run(&x);
        assert_int_equal(x.ok, 1);
    }
    snprintf(sql, sizeof(sql), "ALTER DATABASE %s RESET synchronous_commit", g_dbname);
    admin_int("postgres", sql);
}

/* ---- a pool held until the schema is ready ---- */

static void held_cb(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct ctx *x = ud;

    assert_int_equal(err, 0);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    x->ok++;
    ctx_close_db(x);
}

static void held_tick(uv_timer_t *t)
{
    struct ctx *x = t->data;

    /* Still held after a while: nothing connected, queries refused at once. */
    assert_false(gw_db_ready(x->db));
    assert_int_equal(x->db->conns[0].state, GW_DBC_DOWN);
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, never_cb, x), GW_EDB);
    gw_db_release(x->db);
    assert_int_equal(gw_db_query(x->db, "SELECT 1", 0, NULL, NULL, NULL, held_cb, x), 0);
}

static void test_held_pool(void **state)
{
    struct gw_db_config cfg;
    struct ctx x;

    base_config(&cfg);
    cfg.pool_size = 2;
    memset(&x, 0, sizeof(x));
    assert_int_equal(uv_loop_init(&x.loop), 0);
    uv_timer_init(&x.loop, &x.watchdog);
    uv_timer_start(&x.watchdog, on_watchdog, 60000, 0);
    uv_unref((uv_handle_t *)&x.watchdog);
    uv_timer_init(&x.loop, &x.timer);
    assert_int_equal(gw_db_open_held(&x.loop, &cfg, &x.db), 0);
    assert_false(gw_db_ready(x.db));
    assert_int_equal(gw_db_query(x.db, "SELECT 1", 0, NULL, NULL, NULL, never_cb, &x), GW_EDB);
    x.timer.data = &x;
    uv_timer_start(&x.timer, held_tick, 200, 0);
    ctx_run(&x);
    assert_int_equal(x.ok, 1);
}

/* One migration attempt tells a server that is not there (retry) from a broken file (do not). */
static void test_migrate_once(void **state)
{
    char dir[] = "/tmp/gw-db-migrate1-XXXXXX", why[512], path[1100];

    assert_non_null(mkdtemp(dir));
    write_file(dir, "001_a.sql", "CREATE TABLE mig1_a (x int);\n");
    assert_int_equal(
        gw_db_migrate_once("host=/nonexistent-gw-socket-dir user=postgres", dir, why, sizeof(why)),
        GW_EAGAIN);
    assert_non_null(strstr(why, "cannot connect"));
    assert_int_equal(gw_db_migrate_once(g_conninfo, dir, why, sizeof(why)), 0);
    write_file(dir, "002_b.sql", "SELEC broken;\n");
    assert_int_equal(gw_db_migrate_once(g_conninfo, dir, why, sizeof(why)), GW_EDB);
    assert_non_null(strstr(why, "002_b.sql"));
    assert_int_equal(gw_db_migrate_once(g_conninfo, "/nonexistent-gw-dir", NULL, 0), GW_ENOENT);
    snprintf(path, sizeof(path), "%s/001_a.sql", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/002_b.sql", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    char sql[128];

    snprintf(g_dbname, sizeof(g_dbname), "gwtest_db_%d", (int)getpid());
    snprintf(g_conninfo, sizeof(g_conninfo), "host=%s user=postgres dbname=%s", g_host, g_dbname);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_dbname);
    admin_int("postgres", sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_dbname);
    admin_int("postgres", sql);
    return 0;
}

static int group_teardown(void **state)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
    admin_int("postgres", sql);
    return 0;
}

int main(void)
{
    const char *host = getenv("GW_TEST_PGHOST");
    const char *lvl = getenv("GW_TEST_LOG");
    enum gw_log_level level = GW_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_query),
        cmocka_unit_test(test_params_roundtrip),
        cmocka_unit_test(test_concurrent_queries),
        cmocka_unit_test(test_params_borrowed),
        cmocka_unit_test(test_sql_error),
        cmocka_unit_test(test_callback_chain),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_queue_overflow),
        cmocka_unit_test(test_intake_after_work),
        cmocka_unit_test(test_intake_not_starved),
        cmocka_unit_test(test_connection_killed),
        cmocka_unit_test(test_idle_connections_killed),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_unreachable_queue_timeout),
        cmocka_unit_test(test_close_with_pending),
        cmocka_unit_test(test_close_while_connecting),
        cmocka_unit_test_teardown(test_query_deadline_hung_server, resume_teardown),
        cmocka_unit_test_teardown(test_close_bounded_by_deadline, resume_teardown),
        cmocka_unit_test(test_keepalive_defaults),
        cmocka_unit_test(test_close_now),
        cmocka_unit_test(test_close_then_close_now),
        cmocka_unit_test(test_close_now_while_connecting),
        cmocka_unit_test(test_migrate),
        cmocka_unit_test(test_synchronous_commit),
        cmocka_unit_test(test_held_pool),
        cmocka_unit_test(test_migrate_once),
    };

    if (!host || !*host) {
        fprintf(stderr, "GW_TEST_PGHOST not set: skipping database tests\n");
        return 77;
    }
    snprintf(g_host, sizeof(g_host), "%s", host);
    atexit(resume_backend); /* a failed test must not leave a backend stopped */
    if (lvl)
        gw_log_parse_level(lvl, &level);
    gw_log_set_level(level);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
