/*
 * Tests for the ingest pipeline (gateway/pipeline/ingest.c) and the staged-body store calls
 * against a real PostgreSQL: a package with a 1 MB attachment written in odd pieces comes out
 * parsed, its bytes stored in 256 KiB chunks that concatenate to exactly what was written (read
 * back with plain libpq), its hashes equal OpenSSL's; the package row takes the body
 * (gw_store_submit), a duplicate's staged body is deleted; a refusal and an abort leave no staged
 * body; writes are pushed back while buffers are in flight. With a body cache every chunk stored
 * is kept, and a body past GW_BODY_CACHE_BODY_MAX keeps none; the one-statement submit names the
 * body it staged. Needs GW_TEST_PGHOST; skips (77) without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "pipeline/ingest.h"
#include "store/body_cache.h"
#include "store/store_body.h"
#include "store/store_incoming.h"
#include "store/store_submit.h"
#include "util/error.h"
#include "util/log.h"

static char g_host[1024];
static char g_conninfo[1300];
static PGconn *g_pg;

static const char *sql1(const char *sql)
{
    static char out[256];
    PGresult *res = PQexec(g_pg, sql);

    out[0] = 0;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(g_pg));
    PQclear(res);
    return out;
}

/* ---- a package built here ---- */

static uint8_t *g_pkg;
static size_t g_pkg_len;
static uint8_t g_att_sha[32];
#define ATT_LEN (1000 * 1000 + 3)

/* A package whose one attachment is att_len bytes; *sha is the attachment's SHA-256. */
static uint8_t *build_package_of(size_t att_len, size_t *len, uint8_t *sha)
{
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>"
        "<MessageHeader><From><OrganId>000.00.12.H49</OrganId></From>"
        "<To><OrganId>000.00.00.G22</OrganId></To>"
        "<DocumentId>000.00.12.H49,2024/10/01,1/STC</DocumentId>"
        "<Subject>Thử</Subject></MessageHeader></edXMLHeader><edXMLBody><edXMLManifest>"
        "<Reference><ContentId>cid:1</ContentId></Reference></edXMLManifest></edXMLBody>"
        "</edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>1</ContentId>"
        "<AttachmentName>a.bin</AttachmentName><ContentType>application/octet-stream</ContentType>"
        "<ContentTransferEncoded>";
    static const char tail[] = "</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>";
    uint8_t *att = malloc(att_len);
    size_t b64 = 4 * ((att_len + 2) / 3);
    uint8_t *pkg = malloc(sizeof(head) + b64 + sizeof(tail) + 1);

    assert_non_null(att);
    assert_non_null(pkg);
    for (size_t i = 0; i < att_len; i++)
        att[i] = (uint8_t)(i * 7 + (i >> 11));
    SHA256(att, att_len, sha);
    memcpy(pkg, head, sizeof(head) - 1);
    *len = sizeof(head) - 1;
    *len += (size_t)EVP_EncodeBlock(pkg + *len, att, (int)att_len);
    memcpy(pkg + *len, tail, sizeof(tail) - 1);
    *len += sizeof(tail) - 1;
    free(att);
    return pkg;
}

static void build_package(void)
{
    g_pkg = build_package_of(ATT_LEN, &g_pkg_len, g_att_sha);
}

/* ---- one ingest driven from the loop ---- */

struct run {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_ingest *in;
    const uint8_t *data;
    size_t len, off, step;
    size_t short_writes;
    size_t abort_at; /* 0: never */
    bool done;
    struct gw_ingest_result r;
    struct gw_edxml_doc *doc;
    char *json;
    uint8_t *bytes; /* taken from an inline result */
};

static void pump(struct run *u)
{
    while (u->off < u->len) {
        size_t n = u->len - u->off < u->step ? u->len - u->off : u->step;
        size_t took;
        if (u->abort_at && u->off >= u->abort_at) {
            gw_ingest_abort(u->in);
            u->in = NULL;
            return;
        }
        took = gw_ingest_write(u->in, u->data + u->off, n);
        u->off += took;
        if (took < n) {
            u->short_writes++;
            return; /* ready or done follows */
        }
    }
    gw_ingest_finish(u->in);
}

static void on_ready(void *ud)
{
    pump(ud);
}

static void on_done(struct gw_ingest_result *r, void *ud)
{
    struct run *u = ud;

    u->done = true;
    u->r = *r;
    u->doc = r->doc;
    u->json = r->doc_json;
    r->doc = NULL;
    r->doc_json = NULL;
    u->in = NULL;
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until *flag (if any) is set and the pool has nothing pending, then a little more
 * so that close callbacks and queued discards complete; at most 20 s. */
static void spin(uv_loop_t *loop, struct gw_db *db, const bool *flag)
{
    uv_timer_t t;
    uint64_t start = uv_now(loop), quiet = 0;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 5, 5);
    while (uv_now(loop) - start < 20000) {
        uv_run(loop, UV_RUN_ONCE);
        if ((!flag || *flag) && gw_db_pending(db) == 0) {
            if (!quiet)
                quiet = uv_now(loop);
            else if (uv_now(loop) - quiet > 100)
                break;
        } else {
            quiet = 0;
        }
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* The cache the ingests keep their chunks in (NULL: none). */
static struct gw_body_cache *g_cache;

static void run_ingest_with(struct run *u, struct gw_db *db, uv_loop_t *loop, bool inline_single,
                            gw_ingest_done_fn done)
{
    struct gw_ingest_deps deps = {
        .loop = loop, .db = db, .cache = g_cache, .inline_single = inline_single};

    gw_edxml_reader_opts_default(&deps.reader);
    u->loop = loop;
    u->db = db;
    u->in = gw_ingest_new(&deps, on_ready, done, u);
    assert_non_null(u->in);
    pump(u);
    spin(loop, db, u->abort_at ? NULL : &u->done);
}

static void run_ingest(struct run *u, struct gw_db *db, uv_loop_t *loop)
{
    struct gw_ingest_deps deps = {.loop = loop, .db = db, .cache = g_cache};

    gw_edxml_reader_opts_default(&deps.reader);
    u->loop = loop;
    u->db = db;
    u->in = gw_ingest_new(&deps, on_ready, on_done, u);
    assert_non_null(u->in);
    pump(u);
    spin(loop, db, u->abort_at ? NULL : &u->done);
}

static struct gw_db *open_db(uv_loop_t *loop)
{
    struct gw_db_config c;
    struct gw_db *db;

    gw_db_config_default(&c);
    c.conninfo = g_conninfo;
    c.pool_size = 2;
    assert_int_equal(gw_db_open(loop, &c, &db), 0);
    return db;
}

static void close_db(uv_loop_t *loop, struct gw_db *db)
{
    gw_db_close(db, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void free_run(struct run *u)
{
    if (u->doc) {
        gw_edxml_doc_free(u->doc);
        free(u->doc);
    }
    free(u->json);
    free(u->bytes);
}

static int g_submit_outcome = -1;
static int64_t g_submit_id, g_submit_body;

static void submitted(int err, const struct gw_store_submit_result *r, const char *sqlstate,
                      void *ud)
{
    (void)ud;
    if (err == 0) {
        g_submit_outcome = (int)r->outcome;
        g_submit_id = r->package_id;
        g_submit_body = r->body_id;
    } else {
        fprintf(stderr, "submit: %d %s\n", err, sqlstate);
    }
}

static void submit(struct gw_db *db, uv_loop_t *loop, struct run *u)
{
    struct gw_store_submit_args a = {
        .source = "test",
        .kind = u->doc->kind,
        .document_id = u->doc->document_id,
        .sender = u->doc->from,
        .recipients = (const char *const *)u->doc->recipients,
        .n_recipients = u->doc->n_recipients,
        .business_doc_type = u->doc->business.doc_type,
        .sha256 = u->r.sha256,
        .body_id = u->r.body_id,
        .size = u->r.size,
        .doc_json = u->json,
        .axis = "national",
    };
    g_submit_outcome = -1;
    assert_int_equal(gw_store_submit(db, &a, submitted, NULL), 0);
    spin(loop, db, NULL);
}

static void test_package_streamed_and_stored(void **state)
{
    uv_loop_t loop;
    struct gw_db *db;
    struct run u = {.data = g_pkg, .len = g_pkg_len, .step = 7777};
    struct run again = {.data = g_pkg, .len = g_pkg_len, .step = 1 << 20};
    uint8_t sha[32];
    char q[256], hex[65];
    PGresult *res;

    (void)state;
    uv_loop_init(&loop);
    db = open_db(&loop);
    g_cache = gw_body_cache_new(&loop, 64 << 20, 60000, NULL);
    run_ingest(&u, db, &loop);
    assert_true(u.done);
    assert_int_equal(u.r.outcome, GW_INGEST_OK);
    assert_true(u.r.body_id > 0);
    assert_int_equal(u.r.size, g_pkg_len);
    /* every chunk stored is kept for the readers that follow */
    assert_int_equal(gw_body_cache_bytes(g_cache), g_pkg_len);
    SHA256(g_pkg, g_pkg_len, sha);
    assert_memory_equal(u.r.sha256, sha, 32);
    assert_int_equal(u.doc->n_attachments, 1);
    assert_int_equal(u.doc->attachments[0].size, ATT_LEN);
    assert_memory_equal(u.doc->attachments[0].sha256, g_att_sha, 32);
    assert_non_null(strstr(u.json, "\"attachments\":[{"));

    /* The chunks: 256 KiB each but the last, concatenating to the bytes written. */
    snprintf(q, sizeof(q), "SELECT count(*) FROM body_chunk WHERE body_id = %lld",
             (long long)u.r.body_id);
    assert_int_equal(atoi(sql1(q)), (int)((g_pkg_len + GW_INGEST_CHUNK - 1) / GW_INGEST_CHUNK));
    snprintf(
        q, sizeof(q),
        "SELECT string_agg(bytes, ''::bytea ORDER BY seq) FROM body_chunk WHERE body_id = %lld",
        (long long)u.r.body_id);
    res = PQexecParams(g_pg, q, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQgetlength(res, 0, 0), (int)g_pkg_len);
    assert_memory_equal(PQgetvalue(res, 0, 0), g_pkg, g_pkg_len);
    PQclear(res);

    /* The package row takes the body; its attachment row is the slice of the stored bytes. */
    submit(db, &loop, &u);
    assert_int_equal(g_submit_outcome, GW_STORE_SUBMIT_CREATED);
    snprintf(q, sizeof(q), "SELECT encode(sha256, 'hex') FROM attachment WHERE package_id = %lld",
             (long long)g_submit_id);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", g_att_sha[i]);
    assert_string_equal(sql1(q), hex);
    snprintf(q, sizeof(q),
             "SELECT b.complete FROM package p JOIN body b ON b.id = p.body_id WHERE p.id = %lld",
             (long long)g_submit_id);
    assert_string_equal(sql1(q), "t");

    /* The same bytes again, in large writes: backpressure, then a duplicate whose staged body
     * is deleted in the storing transaction. */
    run_ingest(&again, db, &loop);
    assert_int_equal(again.r.outcome, GW_INGEST_OK);
    assert_true(again.short_writes > 0);
    submit(db, &loop, &again);
    assert_int_equal(g_submit_outcome, GW_STORE_SUBMIT_DUPLICATE);
    snprintf(q, sizeof(q), "SELECT count(*) FROM body WHERE id = %lld", (long long)again.r.body_id);
    assert_string_equal(sql1(q), "0");
    gw_body_cache_forget(g_cache, again.r.body_id);
    assert_int_equal(gw_body_cache_bytes(g_cache), g_pkg_len);

    /* A body above GW_BODY_CACHE_BODY_MAX keeps nothing once it has grown past it. */
    size_t big_len;
    uint8_t big_sha[32], *big_pkg = build_package_of(4 * 1000 * 1000, &big_len, big_sha);
    struct run big = {.data = big_pkg, .len = big_len, .step = 1 << 20};
    memcpy(strstr((char *)big_pkg, ",1/STC"), ",3/STC", 6);
    assert_true(big_len > GW_BODY_CACHE_BODY_MAX);
    run_ingest(&big, db, &loop);
    assert_int_equal(big.r.outcome, GW_INGEST_OK);
    assert_int_equal(gw_body_cache_bytes(g_cache), g_pkg_len);
    assert_int_equal(gw_store_body_discard(db, big.r.body_id, NULL, NULL), 0);
    spin(&loop, db, NULL);
    free_run(&big);
    free(big_pkg);
    free_run(&u);
    free_run(&again);
    gw_body_cache_close(g_cache);
    close_db(&loop, db);
    gw_body_cache_free(g_cache);
    g_cache = NULL;
}

/* inline_single, as the API stores: the bytes of a one-buffer package come with the result (no
 * staged body, the bytes handed over) and are staged and stored by one gw_store_submit. */
static void on_done_inline(struct gw_ingest_result *r, void *ud)
{
    struct run *u = ud;
    struct gw_store_submit_args a;
    uint8_t *bytes = r->bytes;

    on_done(r, ud);
    u->bytes = bytes; /* taken: the submit reads them in place until its callback */
    r->bytes = NULL;
    u->r.bytes = NULL;
    if (r->outcome != GW_INGEST_OK || r->body_id != 0)
        return;
    assert_non_null(bytes);
    assert_int_equal(r->size, u->len);
    assert_memory_equal(bytes, u->data, u->len);
    a = (struct gw_store_submit_args){
        .source = "test",
        .kind = u->doc->kind,
        .document_id = u->doc->document_id,
        .sender = u->doc->from,
        .recipients = (const char *const *)u->doc->recipients,
        .n_recipients = u->doc->n_recipients,
        .business_doc_type = u->doc->business.doc_type,
        .sha256 = r->sha256,
        .bytes = bytes,
        .len = (size_t)r->size,
        .stage_bytes = true,
        .doc_json = u->json,
        .axis = "national",
    };
    g_submit_outcome = -1;
    assert_int_equal(gw_store_submit(u->db, &a, submitted, NULL), 0);
}

static void test_single_buffer_inline(void **state)
{
    uv_loop_t loop;
    struct gw_db *db;
    uint8_t att_sha[32];
    size_t len;
    uint8_t *pkg = build_package_of(3000, &len, att_sha);
    struct run u = {.data = pkg, .len = len, .step = 1000};
    struct run again = {.data = pkg, .len = len, .step = 1 << 20};
    struct run big = {.data = g_pkg, .len = g_pkg_len, .step = 1 << 20};
    char q[320], bodies[32], hex[65];
    PGresult *res;

    (void)state;
    /* another DocumentId than the other tests' package */
    memcpy(strstr((char *)pkg, ",1/STC"), ",2/STC", 6);
    uv_loop_init(&loop);
    db = open_db(&loop);
    snprintf(bodies, sizeof(bodies), "%s", sql1("SELECT count(*) FROM body"));
    run_ingest_with(&u, db, &loop, true, on_done_inline);
    assert_int_equal(u.r.outcome, GW_INGEST_OK);
    assert_int_equal(u.r.body_id, 0);
    spin(&loop, db, NULL);
    assert_int_equal(g_submit_outcome, GW_STORE_SUBMIT_CREATED);
    /* One body more, complete, taken by the package, holding the bytes; the attachment row. */
    snprintf(q, sizeof(q), "SELECT count(*) - %s FROM body", bodies);
    assert_string_equal(sql1(q), "1");
    /* the submit names the body it staged */
    snprintf(q, sizeof(q), "SELECT body_id = %lld FROM package WHERE id = %lld",
             (long long)g_submit_body, (long long)g_submit_id);
    assert_string_equal(sql1(q), "t");
    snprintf(q, sizeof(q),
             "SELECT string_agg(c.bytes, ''::bytea ORDER BY c.seq) FROM package p"
             " JOIN body b ON b.id = p.body_id AND b.complete AND b.size = %zu AND b.chunks = 1"
             " JOIN body_chunk c ON c.body_id = b.id WHERE p.id = %lld",
             len, (long long)g_submit_id);
    res = PQexecParams(g_pg, q, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQgetlength(res, 0, 0), (int)len);
    assert_memory_equal(PQgetvalue(res, 0, 0), pkg, len);
    PQclear(res);
    snprintf(q, sizeof(q), "SELECT encode(sha256, 'hex') FROM attachment WHERE package_id = %lld",
             (long long)g_submit_id);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", att_sha[i]);
    assert_string_equal(sql1(q), hex);

    /* The same package again: a duplicate, and no body is left behind. */
    run_ingest_with(&again, db, &loop, true, on_done_inline);
    spin(&loop, db, NULL);
    assert_int_equal(g_submit_outcome, GW_STORE_SUBMIT_DUPLICATE);
    snprintf(q, sizeof(q), "SELECT count(*) - %s FROM body", bodies);
    assert_string_equal(sql1(q), "1");

    /* A package of several buffers is staged as without the option. */
    run_ingest_with(&big, db, &loop, true, on_done_inline);
    assert_int_equal(big.r.outcome, GW_INGEST_OK);
    assert_true(big.r.body_id > 0);
    assert_null(big.r.bytes);
    assert_int_equal(gw_store_body_discard(db, big.r.body_id, NULL, NULL), 0);
    spin(&loop, db, NULL);
    free_run(&u);
    free_run(&again);
    free_run(&big);
    free(pkg);
    close_db(&loop, db);
}

static int g_in_created = -1;

static void in_stored(int err, int64_t package_id, bool created, const char *sqlstate, void *ud)
{
    (void)package_id;
    (void)ud;
    if (err != 0)
        fprintf(stderr, "incoming: %d %s\n", err, sqlstate);
    g_in_created = err == 0 ? created : -1;
}

static void store_incoming(struct gw_db *db, uv_loop_t *loop, struct run *u, const char *doc_id)
{
    struct gw_store_package pkg = {
        .kind = u->doc->kind,
        .document_id = u->doc->document_id,
        .sender = u->doc->from,
        .recipients = u->doc->recipients,
        .n_recipients = u->doc->n_recipients,
        .business_doc_type = u->doc->business.doc_type,
        .sha256 = u->r.sha256,
        .body_id = u->r.body_id,
        .size = u->r.size,
        .doc_json = u->json,
    };
    g_in_created = -1;
    assert_int_equal(gw_store_incoming_store(db, "national", doc_id, &pkg, in_stored, NULL), 0);
    spin(loop, db, NULL);
}

/* The poller's store with a staged body: the first takes it; the same document under another
 * axis doc id is a receipt of the first, and its staged body is deleted. */
static void test_incoming_takes_body(void **state)
{
    uv_loop_t loop;
    struct gw_db *db;
    struct run a = {.data = g_pkg, .len = g_pkg_len, .step = 300000};
    struct run b = {.data = g_pkg, .len = g_pkg_len, .step = 300000};
    char q[256];

    (void)state;
    uv_loop_init(&loop);
    db = open_db(&loop);
    run_ingest(&a, db, &loop);
    run_ingest(&b, db, &loop);
    assert_int_equal(a.r.outcome, GW_INGEST_OK);
    assert_int_equal(b.r.outcome, GW_INGEST_OK);
    store_incoming(db, &loop, &a, "axis-doc-1");
    assert_int_equal(g_in_created, 1);
    store_incoming(db, &loop, &b, "axis-doc-2");
    assert_int_equal(g_in_created, 0);
    snprintf(q, sizeof(q), "SELECT count(*) FROM body WHERE id = %lld", (long long)b.r.body_id);
    assert_string_equal(sql1(q), "0");
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM package p JOIN attachment t ON t.package_id = p.id"
             " WHERE p.direction = 'in' AND p.body_id = %lld",
             (long long)a.r.body_id);
    assert_string_equal(sql1(q), "1");
    assert_string_equal(sql1("SELECT count(*) FROM axis_receipt"), "2");
    free_run(&a);
    free_run(&b);
    close_db(&loop, db);
}

static void test_refused_leaves_nothing(void **state)
{
    uv_loop_t loop;
    struct gw_db *db;
    size_t n = 700 * 1000;
    uint8_t *junk = malloc(n);
    struct run u = {.data = junk, .step = 50000};

    (void)state;
    memset(junk, 'a', n);
    u.len = n;
    uv_loop_init(&loop);
    db = open_db(&loop);
    sql1("DELETE FROM body WHERE NOT complete");
    run_ingest(&u, db, &loop);
    assert_true(u.done);
    assert_int_equal(u.r.outcome, GW_INGEST_REFUSED);
    assert_int_equal(u.r.err, GW_EPARSE);
    assert_true(u.off < n); /* stopped before taking the whole package */
    assert_string_equal(sql1("SELECT count(*) FROM body WHERE NOT complete"), "0");
    close_db(&loop, db);
    free(junk);
}

static void test_abort_leaves_nothing(void **state)
{
    uv_loop_t loop;
    struct gw_db *db;
    struct run u = {.data = g_pkg, .len = g_pkg_len, .step = 100000, .abort_at = 600000};

    (void)state;
    uv_loop_init(&loop);
    db = open_db(&loop);
    sql1("DELETE FROM body WHERE NOT complete");
    run_ingest(&u, db, &loop);
    assert_false(u.done);
    assert_string_equal(sql1("SELECT count(*) FROM body WHERE NOT complete"), "0");
    close_db(&loop, db);
}

static int calls;

static void put_cb(int err, bool staged, void *ud)
{
    (void)err;
    (void)staged;
    (void)ud;
    calls++;
}

static void count_cb(int err, int64_t n, void *ud)
{
    (void)err;
    (void)n;
    (void)ud;
    calls++;
}

/* Values outside their SQL types are refused before anything is sent (no database needed). */
static void test_store_body_ranges(void **state)
{
    static uint8_t big[GW_STORE_BODY_CHUNK_MAX + 1];

    (void)state;
    calls = 0;
    assert_int_equal(gw_store_body_put(NULL, 0, 0, "x", 1, put_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_body_put(NULL, 1, -1, "x", 1, put_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_body_put(NULL, 1, (int64_t)INT32_MAX + 1, "x", 1, put_cb, NULL),
                     GW_ERANGE);
    assert_int_equal(gw_store_body_put(NULL, 1, 0, "x", 0, put_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_body_put(NULL, 1, 0, big, sizeof(big), put_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_body_discard(NULL, -5, count_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_body_janitor(NULL, (uint64_t)INT32_MAX + 1, 10, count_cb, NULL),
                     GW_ERANGE);
    assert_int_equal(gw_store_body_janitor(NULL, 1000, 0, count_cb, NULL), GW_ERANGE);
    assert_int_equal(calls, 0);
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
    PQclear(PQexec(admin, "DROP DATABASE IF EXISTS gw_test_ingest"));
    PQclear(PQexec(admin, "CREATE DATABASE gw_test_ingest"));
    PQfinish(admin);
    snprintf(g_conninfo, sizeof(g_conninfo), "host=%s user=postgres dbname=gw_test_ingest", g_host);
    if (gw_db_migrate(g_conninfo, GW_SOURCE_DIR "/schemas/sql") != 0)
        return -1;
    g_pg = PQconnectdb(g_conninfo);
    build_package();
    return PQstatus(g_pg) == CONNECTION_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(g_pg);
    free(g_pkg);
    return 0;
}

int main(void)
{
    const char *host = getenv("GW_TEST_PGHOST");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_body_ranges),
        cmocka_unit_test(test_package_streamed_and_stored),
        cmocka_unit_test(test_incoming_takes_body),
        cmocka_unit_test(test_refused_leaves_nothing),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_single_buffer_inline),
    };

    if (!host || !*host) {
        fprintf(stderr, "GW_TEST_PGHOST not set: skipping ingest tests\n");
        return 77;
    }
    snprintf(g_host, sizeof(g_host), "%s", host);
    gw_log_set_level(GW_LOG_ERROR);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
