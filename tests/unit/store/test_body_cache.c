/*
 * Unit tests for gateway/store/body_cache.c over a real PostgreSQL (GW_TEST_PGHOST; skips with 77
 * without). A chunk kept is answered from memory: the proof is a (body, seq) that PostgreSQL does
 * not have (gw_store_body_chunk says GW_ENOENT for it) coming back with its bytes, and never
 * inside the read call. A miss with fill reads PostgreSQL and keeps what it read: the next read
 * still has the bytes after the body is deleted in PostgreSQL; a miss without fill keeps nothing.
 * Bounds: the kept bytes never exceed max_bytes (the oldest go first), a chunk above a quarter of
 * it is not kept, an entry older than max_age_ms is dropped; forget drops one body's chunks only;
 * close answers the reads in hand with GW_ECANCELED and sends later reads to PostgreSQL. ASan
 * builds check that nothing leaks or is read after free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "store/body_cache.h"
#include "store/store_body.h"
#include "util/error.h"
#include "util/log.h"

static char g_host[1024];
static char g_conninfo[1300];

struct env {
    uv_loop_t loop;
    struct gw_db *db;
    struct gw_body_cache *c;
};

static void env_open(struct env *e, uint64_t max_bytes, uint64_t max_age_ms)
{
    struct gw_db_config cfg;

    uv_loop_init(&e->loop);
    gw_db_config_default(&cfg);
    cfg.conninfo = g_conninfo;
    cfg.pool_size = 1;
    assert_int_equal(gw_db_open(&e->loop, &cfg, &e->db), 0);
    assert_non_null(e->c = gw_body_cache_new(&e->loop, max_bytes, max_age_ms, NULL));
}

static void env_close(struct env *e)
{
    gw_body_cache_close(e->c);
    gw_db_close(e->db, NULL, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    gw_body_cache_free(e->c);
    assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

static void spin(uv_loop_t *loop, const bool *flag)
{
    uv_timer_t t;
    uint64_t start = uv_now(loop);

    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 5, 5);
    while (!*flag && uv_now(loop) - start < 20000)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(*flag);
}

struct got {
    bool done;
    int err;
    uint8_t *bytes;
    size_t len;
};

static void on_chunk(int err, const uint8_t *bytes, size_t len, void *ud)
{
    struct got *g = ud;

    g->done = true;
    g->err = err;
    free(g->bytes);
    g->bytes = NULL;
    g->len = len;
    if (err == 0) {
        g->bytes = malloc(len ? len : 1);
        memcpy(g->bytes, bytes, len);
    }
}

/* Reads (body, seq) through the cache and waits for the answer. */
static void read_chunk(struct env *e, int64_t body, int64_t seq, bool fill, struct got *g)
{
    g->done = false;
    assert_int_equal(gw_body_cache_read(e->c, e->db, body, seq, fill, on_chunk, g), 0);
    assert_false(g->done); /* never inside the call */
    spin(&e->loop, &g->done);
}

static void expect_bytes(const struct got *g, const uint8_t *want, size_t len)
{
    assert_int_equal(g->err, 0);
    assert_int_equal(g->len, len);
    assert_memory_equal(g->bytes, want, len);
}

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
}

/* Body ids PostgreSQL does not have (its sequence starts at 1). */
#define NO_BODY ((int64_t)1 << 50)

static void test_hit_from_memory(void **state)
{
    struct env e;
    struct got g = {0};
    uint8_t b[3000];

    (void)state;
    env_open(&e, 1 << 20, 60000);
    fill_pattern(b, sizeof(b), 1);
    gw_body_cache_put(e.c, NO_BODY, 2, b, sizeof(b));
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));
    read_chunk(&e, NO_BODY, 2, false, &g);
    expect_bytes(&g, b, sizeof(b));
    /* a second put of the same chunk changes nothing */
    gw_body_cache_put(e.c, NO_BODY, 2, b, 10);
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));
    /* PostgreSQL has no such chunk: a miss says so */
    read_chunk(&e, NO_BODY, 3, false, &g);
    assert_int_equal(g.err, GW_ENOENT);
    /* many hits for one entry in the same turn, each answered */
    struct got many[5] = {{0}};
    for (int i = 0; i < 5; i++)
        assert_int_equal(gw_body_cache_read(e.c, e.db, NO_BODY, 2, false, on_chunk, &many[i]), 0);
    spin(&e.loop, &many[4].done);
    for (int i = 0; i < 5; i++) {
        expect_bytes(&many[i], b, sizeof(b));
        free(many[i].bytes);
    }
    free(g.bytes);
    env_close(&e);
}

struct staged {
    bool done;
    int err;
    int64_t id;
};

static void on_begun(int err, int64_t id, void *ud)
{
    struct staged *s = ud;
    s->done = true;
    s->err = err;
    s->id = id;
}

static void on_count(int err, int64_t n, void *ud)
{
    bool *done = ud;
    (void)err;
    (void)n;
    *done = true;
}

static void test_miss_fills(void **state)
{
    struct env e;
    struct got g = {0};
    struct staged s = {0}, s2 = {0};
    uint8_t b[5000], b2[700];
    bool gone = false;

    (void)state;
    env_open(&e, 1 << 20, 60000);
    fill_pattern(b, sizeof(b), 2);
    fill_pattern(b2, sizeof(b2), 3);
    assert_int_equal(gw_store_body_start(e.db, b, sizeof(b), on_begun, &s), 0);
    spin(&e.loop, &s.done);
    assert_int_equal(s.err, 0);
    assert_int_equal(gw_store_body_start(e.db, b2, sizeof(b2), on_begun, &s2), 0);
    spin(&e.loop, &s2.done);
    assert_int_equal(s2.err, 0);
    assert_int_equal(gw_body_cache_bytes(e.c), 0);

    read_chunk(&e, s.id, 0, true, &g); /* from PostgreSQL, kept */
    expect_bytes(&g, b, sizeof(b));
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));
    read_chunk(&e, s2.id, 0, false, &g); /* from PostgreSQL, not kept */
    expect_bytes(&g, b2, sizeof(b2));
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));

    assert_int_equal(gw_store_body_discard(e.db, s.id, on_count, &gone), 0);
    spin(&e.loop, &gone);
    gone = false;
    assert_int_equal(gw_store_body_discard(e.db, s2.id, on_count, &gone), 0);
    spin(&e.loop, &gone);
    read_chunk(&e, s.id, 0, false, &g); /* still in memory */
    expect_bytes(&g, b, sizeof(b));
    read_chunk(&e, s2.id, 0, false, &g); /* was never kept: gone */
    assert_int_equal(g.err, GW_ENOENT);
    free(g.bytes);
    env_close(&e);
}

/* Dropping a staged body no package takes forgets its kept chunks too, and deletes it. */
static void test_drop_forgets(void **state)
{
    struct env e;
    struct got g = {0};
    struct staged s = {0};
    uint8_t b[3000];

    (void)state;
    env_open(&e, 1 << 20, 60000);
    fill_pattern(b, sizeof(b), 5);
    assert_int_equal(gw_store_body_start(e.db, b, sizeof(b), on_begun, &s), 0);
    spin(&e.loop, &s.done);
    assert_int_equal(s.err, 0);
    read_chunk(&e, s.id, 0, true, &g); /* from PostgreSQL, kept */
    expect_bytes(&g, b, sizeof(b));
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));
    assert_int_equal(gw_store_body_drop(e.db, e.c, s.id), 0);
    assert_int_equal(gw_body_cache_bytes(e.c), 0);
    while (gw_db_pending(e.db) > 0) /* the discard done */
        uv_run(&e.loop, UV_RUN_ONCE);
    read_chunk(&e, s.id, 0, false, &g); /* gone from both */
    assert_int_equal(g.err, GW_ENOENT);
    free(g.bytes);
    env_close(&e);
}

static void test_bounds(void **state)
{
    struct env e;
    struct got g = {0};
    uint8_t b[1000];

    (void)state;
    env_open(&e, 4000, 60000);
    fill_pattern(b, sizeof(b), 4);
    gw_body_cache_put(e.c, NO_BODY, 0, b, 1001); /* above a quarter: not kept */
    assert_int_equal(gw_body_cache_bytes(e.c), 0);
    for (int64_t s = 0; s < 10; s++) {
        gw_body_cache_put(e.c, NO_BODY + 1, s, b, sizeof(b));
        assert_true(gw_body_cache_bytes(e.c) <= 4000);
    }
    assert_int_equal(gw_body_cache_bytes(e.c), 4000);
    for (int64_t s = 0; s < 6; s++) { /* the oldest went first */
        read_chunk(&e, NO_BODY + 1, s, false, &g);
        assert_int_equal(g.err, GW_ENOENT);
    }
    for (int64_t s = 6; s < 10; s++) {
        read_chunk(&e, NO_BODY + 1, s, false, &g);
        expect_bytes(&g, b, sizeof(b));
    }
    /* forget drops one body's chunks only */
    gw_body_cache_put(e.c, NO_BODY + 2, 0, b, 500);
    gw_body_cache_forget(e.c, NO_BODY + 1);
    assert_int_equal(gw_body_cache_bytes(e.c), 500);
    read_chunk(&e, NO_BODY + 2, 0, false, &g);
    expect_bytes(&g, b, 500);
    free(g.bytes);
    env_close(&e);
}

static void test_age(void **state)
{
    struct env e;
    struct got g = {0};
    uint8_t b[100];

    (void)state;
    env_open(&e, 1 << 20, 20);
    fill_pattern(b, sizeof(b), 5);
    gw_body_cache_put(e.c, NO_BODY, 0, b, sizeof(b));
    usleep(60 * 1000);
    uv_update_time(&e.loop);
    gw_body_cache_put(e.c, NO_BODY, 1, b, sizeof(b)); /* a put drops what is past its age */
    assert_int_equal(gw_body_cache_bytes(e.c), sizeof(b));
    read_chunk(&e, NO_BODY, 0, false, &g);
    assert_int_equal(g.err, GW_ENOENT);
    read_chunk(&e, NO_BODY, 1, false, &g);
    expect_bytes(&g, b, sizeof(b));
    free(g.bytes);
    env_close(&e);
}

static void test_close(void **state)
{
    struct env e;
    struct got g = {0}, pending = {0};
    uint8_t b[100];

    (void)state;
    env_open(&e, 1 << 20, 60000);
    fill_pattern(b, sizeof(b), 6);
    gw_body_cache_put(e.c, NO_BODY, 0, b, sizeof(b));
    assert_int_equal(gw_body_cache_read(e.c, e.db, NO_BODY, 0, false, on_chunk, &pending), 0);
    gw_body_cache_close(e.c);
    assert_true(pending.done);
    assert_int_equal(pending.err, GW_ECANCELED);
    assert_int_equal(gw_body_cache_bytes(e.c), 0);
    gw_body_cache_put(e.c, NO_BODY, 0, b, sizeof(b)); /* nothing is kept any more */
    assert_int_equal(gw_body_cache_bytes(e.c), 0);
    read_chunk(&e, NO_BODY, 0, true, &g);
    assert_int_equal(g.err, GW_ENOENT);
    free(g.bytes);
    env_close(&e);
}

/* A cache of no bytes keeps nothing; a NULL cache is gw_store_body_chunk. */
static void test_disabled(void **state)
{
    struct env e;
    struct got g = {0};
    uint8_t b[100];

    (void)state;
    env_open(&e, 0, 60000);
    fill_pattern(b, sizeof(b), 7);
    gw_body_cache_put(e.c, NO_BODY, 0, b, sizeof(b));
    assert_int_equal(gw_body_cache_bytes(e.c), 0);
    read_chunk(&e, NO_BODY, 0, true, &g);
    assert_int_equal(g.err, GW_ENOENT);
    g.done = false;
    assert_int_equal(gw_body_cache_read(NULL, e.db, NO_BODY, 0, true, on_chunk, &g), 0);
    spin(&e.loop, &g.done);
    assert_int_equal(g.err, GW_ENOENT);
    assert_int_equal(gw_body_cache_read(NULL, e.db, 0, 0, true, on_chunk, &g), GW_ERANGE);
    free(g.bytes);
    env_close(&e);
}

static int group_setup(void **state)
{
    char ci[1200];
    PGconn *admin;

    (void)state;
    snprintf(ci, sizeof(ci), "host=%s user=postgres dbname=postgres", g_host);
    admin = PQconnectdb(ci);
    if (PQstatus(admin) != CONNECTION_OK)
        return -1;
    PQclear(PQexec(admin, "DROP DATABASE IF EXISTS gw_test_body_cache"));
    PQclear(PQexec(admin, "CREATE DATABASE gw_test_body_cache"));
    PQfinish(admin);
    snprintf(g_conninfo, sizeof(g_conninfo), "host=%s user=postgres dbname=gw_test_body_cache",
             g_host);
    return gw_db_migrate(g_conninfo, GW_SOURCE_DIR "/schemas/sql") == 0 ? 0 : -1;
}

int main(void)
{
    const char *host = getenv("GW_TEST_PGHOST");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_from_memory),
        cmocka_unit_test(test_miss_fills),
        cmocka_unit_test(test_drop_forgets),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_disabled),
    };

    if (!host || !*host) {
        fprintf(stderr, "GW_TEST_PGHOST not set: skipping body cache tests\n");
        return 77;
    }
    snprintf(g_host, sizeof(g_host), "%s", host);
    gw_log_set_level(GW_LOG_ERROR);
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
