/*
 * Unit tests for gateway/engine/body_source.c, the chunk-backed source a send pulls, over a real
 * PostgreSQL (GW_TEST_PGHOST; skips with 77 without): bodies are written here as body_chunk rows
 * with plain libpq in chunk sizes of our choosing; the measuring pass gives the length and the
 * SHA-256 OpenSSL computes over the expected bytes; reads of any size give exactly those bytes,
 * end with n == 0, and give them again after rewind; a per-axis plan whose edits straddle chunk
 * boundaries gives the copy built here by slicing the package (the other To removed with the
 * white space before it, our TraceHeader after the last one), and the reader fed by the pass sees
 * one recipient and our TraceHeader last; a missing chunk or chunks that do not add up to the
 * size fail with GW_ESTORED; freeing with a chunk query in flight is safe (ASan builds check).
 * Kept chunks: with the body_chunk rows deleted after the measure, a source that kept them still
 * gives the same bytes (and again after rewind), while one above the per-send bound or without
 * room in the budget fails with GW_ESTORED as it re-reads; the budget is back to zero once the
 * sources are freed, and after a measure that failed. Through a plan, a changed stored byte the
 * copy keeps as it is fails the measure when the package's SHA-256 is expected (GW_ESTORED).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "edxml/edxml_reader.h"
#include "edxml/edxml_relay.h"
#include "engine/body_source.h"
#include "util/error.h"
#include "util/log.h"

static char g_host[1024];
static char g_conninfo[1300];
static PGconn *g_pg;

/* Stores bytes as a complete body cut in chunks of `chunk` bytes; n_chunks / size written as
 * given (to make bodies that lie). Returns the body id. */
static int64_t put_body(const uint8_t *bytes, size_t len, size_t chunk, int64_t claim_chunks,
                        int64_t claim_size, size_t skip_seq)
{
    char sql[256];
    PGresult *res;
    int64_t id;
    int64_t n = (int64_t)((len + chunk - 1) / chunk);

    snprintf(sql, sizeof(sql),
             "INSERT INTO body (size, chunks, complete) VALUES (%lld, %lld, true) RETURNING id",
             (long long)(claim_size >= 0 ? claim_size : (int64_t)len),
             (long long)(claim_chunks >= 0 ? claim_chunks : n));
    res = PQexec(g_pg, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    id = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    for (int64_t s = 0; s < n; s++) {
        char ids[24], seqs[24];
        size_t off = (size_t)s * chunk, m = len - off < chunk ? len - off : chunk;
        const char *vals[3] = {ids, seqs, (const char *)bytes + off};
        int lens[3] = {0, 0, (int)m}, fmts[3] = {0, 0, 1};
        if ((size_t)s == skip_seq)
            continue;
        snprintf(ids, sizeof(ids), "%lld", (long long)id);
        snprintf(seqs, sizeof(seqs), "%lld", (long long)s);
        res = PQexecParams(g_pg, "INSERT INTO body_chunk VALUES ($1::bigint, $2::integer, $3)", 3,
                           NULL, vals, lens, fmts, 0);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    return id;
}

/* The proof that a send reads no chunk: there are none left to read. */
static void delete_chunks(int64_t id)
{
    char sql[128];
    PGresult *res;

    snprintf(sql, sizeof(sql), "DELETE FROM body_chunk WHERE body_id = %lld", (long long)id);
    res = PQexec(g_pg, sql);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    assert_true(atoi(PQcmdTuples(res)) > 0);
    PQclear(res);
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

struct env {
    uv_loop_t loop;
    struct gw_db *db;
};

static void env_open(struct env *e)
{
    struct gw_db_config c;

    uv_loop_init(&e->loop);
    gw_db_config_default(&c);
    c.conninfo = g_conninfo;
    c.pool_size = 1;
    assert_int_equal(gw_db_open(&e->loop, &c, &e->db), 0);
}

static void env_close(struct env *e)
{
    gw_db_close(e->db, NULL, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void set_true(void *ud)
{
    *(bool *)ud = true;
}

/* ---- measuring ---- */

struct measured {
    bool done;
    int err;
    uint64_t len;
    uint8_t sha[32];
    int n_recipients, n_traces;
    char last_trace[64];
};

static void on_measured(int err, uint64_t len, const uint8_t sha256[32],
                        const struct gw_edxml_doc *doc, const char *why, void *ud)
{
    struct measured *m = ud;

    (void)why;
    m->done = true;
    m->err = err;
    m->len = len;
    memcpy(m->sha, sha256, 32);
    if (doc) {
        m->n_recipients = (int)doc->n_recipients;
        m->n_traces = (int)doc->n_traces;
        if (doc->n_traces && doc->traces[doc->n_traces - 1].organ_id)
            snprintf(m->last_trace, sizeof(m->last_trace), "%s",
                     doc->traces[doc->n_traces - 1].organ_id);
    }
}

static void measure(struct env *e, struct gw_body_source *src, struct gw_edxml_reader *r,
                    struct measured *m)
{
    memset(m, 0, sizeof(*m));
    assert_int_equal(gw_body_source_measure(src, r, on_measured, m), 0);
    spin(&e->loop, &m->done);
}

/* ---- reading ---- */

struct reading {
    struct gw_axis_body *b;
    uint8_t *got;
    size_t n, cap_read;
    bool done, at_end;
    int err;
    int reads;
};

static void on_read(int err, const uint8_t *data, size_t n, void *ud);

static void next_read(struct reading *r)
{
    size_t cap = r->cap_read + (size_t)(r->reads % 3) * 1000; /* varying slices */
    r->reads++;
    assert_int_equal(r->b->read(r->b, cap, on_read, r), 0);
}

static void on_read(int err, const uint8_t *data, size_t n, void *ud)
{
    struct reading *r = ud;

    if (err != 0 || n == 0) {
        r->err = err;
        r->at_end = err == 0;
        r->done = true;
        return;
    }
    assert_true(n <= r->cap_read + 2000);
    r->got = realloc(r->got, r->n + n);
    memcpy(r->got + r->n, data, n);
    r->n += n;
    next_read(r); /* the next read may come from inside done: the contract allows it */
}

static void read_all(struct env *e, struct gw_axis_body *b, size_t cap, struct reading *r)
{
    memset(r, 0, sizeof(*r));
    r->b = b;
    r->cap_read = cap;
    next_read(r);
    spin(&e->loop, &r->done);
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static void test_identity(void **st)
{
    (void)st;
    struct env e;
    struct gw_body_source *src;
    struct measured m;
    struct reading r;
    size_t len = 1000 * 1000 + 17;
    uint8_t *bytes = random_bytes(len), sha[32];
    int64_t id = put_body(bytes, len, 65536, -1, -1, SIZE_MAX);

    SHA256(bytes, len, sha);
    env_open(&e);
    assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len,
                                        (int64_t)((len + 65535) / 65536), NULL, &src),
                     0);
    measure(&e, src, NULL, &m);
    assert_int_equal(m.err, 0);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.sha, sha, 32);
    assert_int_equal(gw_body_source_body(src)->len, len);
    assert_memory_equal(gw_body_source_body(src)->sha256, sha, 32);
    assert_int_equal(gw_body_source_kept_bytes(), len);
    delete_chunks(id); /* within the bounds: the reads come from the kept bytes */
    for (int pass = 0; pass < 2; pass++) {
        read_all(&e, gw_body_source_body(src), pass ? 100000 : 4096, &r);
        assert_int_equal(r.err, 0);
        assert_true(r.at_end);
        assert_int_equal(r.n, len);
        assert_memory_equal(r.got, bytes, len);
        free(r.got);
        assert_int_equal(gw_body_source_body(src)->rewind(gw_body_source_body(src)), 0);
    }
    gw_body_source_free(src);
    assert_int_equal(gw_body_source_kept_bytes(), 0);
    env_close(&e);
    free(bytes);
}

#define NS   "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define OWN  "000.00.00.H49"
#define TS   "2024/06/01 10:11:12"
#define TO_B "\n      <To><OrganId>000.00.00.G22</OrganId><OrganName>B</OrganName></To>"
#define LAST "</TraceHeader>"

static char *package(size_t *len)
{
    static const char fmt[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"" NS "\">\n"
        "  <edXMLEnvelope>\n    <edXMLHeader>\n    <MessageHeader>\n"
        "      <From><OrganId>000.00.12.H49</OrganId></From>\n"
        "      <To><OrganId>000.00.05.H49</OrganId><OrganName>A</OrganName></To>" TO_B "\n"
        "      <DocumentId>000.00.12.H49,2024/06/01,1/STC</DocumentId>\n"
        "      <Subject>Thử</Subject>\n    </MessageHeader>\n    <TraceHeaderList>\n"
        "      <TraceHeader><OrganId>000.00.12.H49</OrganId><Timestamp>2024/05/15 08:00:00"
        "</Timestamp>" LAST "\n    </TraceHeaderList>\n    </edXMLHeader>\n"
        "    <edXMLBody><edXMLManifest><Reference><ContentId>cid:1</ContentId></Reference>"
        "</edXMLManifest></edXMLBody>\n  </edXMLEnvelope>\n  <AttachmentEncoded><Attachment>"
        "<ContentId>1</ContentId><AttachmentName>a.pdf</AttachmentName>"
        "<ContentType>application/pdf</ContentType><ContentTransferEncoded>%s"
        "</ContentTransferEncoded></Attachment></AttachmentEncoded>\n</edXML>\n";
    static const char b64[] = "JVBERi0xLjQKeHh4eHh4eHh4eHh4eHh4eHh4eHh4";
    char *p = malloc(sizeof(fmt) + sizeof(b64));
    *len = (size_t)sprintf(p, fmt, b64);
    return p;
}

/* The copy for A alone, by slicing: TO_B removed, our TraceHeader after the last one. */
static char *expected_copy(const char *pkg, size_t *len)
{
    static const char trace[] = "\n      <TraceHeader><OrganId>" OWN "</OrganId><Timestamp>" TS
                                "</Timestamp></TraceHeader>";
    size_t n = strlen(pkg);
    char *out = malloc(n + sizeof(trace)), *cut;
    const char *to = strstr(pkg, TO_B), *last = strstr(pkg, LAST) + strlen(LAST);

    assert_non_null(to);
    memcpy(out, pkg, (size_t)(to - pkg));
    cut = out + (to - pkg);
    memcpy(cut, to + strlen(TO_B), (size_t)(last - to - (ptrdiff_t)strlen(TO_B)));
    cut += last - to - (ptrdiff_t)strlen(TO_B);
    memcpy(cut, trace, sizeof(trace) - 1);
    cut += sizeof(trace) - 1;
    memcpy(cut, last, n - (size_t)(last - pkg));
    *len = (size_t)(cut - out) + n - (size_t)(last - pkg);
    return out;
}

static void test_plan_across_chunks(void **st)
{
    (void)st;
    size_t len, want_len;
    char *pkg = package(&len), *want = expected_copy(pkg, &want_len);
    struct gw_edxml_doc *doc = NULL;
    struct gw_edxml_plan plan = {0};
    const char *keep[1] = {"000.00.05.H49"};
    char msg[256];
    uint8_t sha[32];

    assert_int_equal(gw_edxml_read(pkg, len, NULL, &doc, NULL, msg, sizeof(msg)), 0);
    assert_true(doc->relay.editable);
    assert_int_equal(gw_edxml_plan_copy(&doc->relay, len, keep, 1, OWN, TS, &plan), 0);
    assert_int_equal(plan.out_len, want_len);
    SHA256((const uint8_t *)want, want_len, sha);
    for (size_t chunk = 7; chunk <= 4096; chunk *= 9) {
        struct env e;
        struct gw_body_source *src;
        struct measured m;
        struct reading r;
        int64_t id = put_body((const uint8_t *)pkg, len, chunk, -1, -1, SIZE_MAX);

        env_open(&e);
        assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len,
                                            (int64_t)((len + chunk - 1) / chunk), &plan, &src),
                         0);
        measure(&e, src, gw_edxml_reader_new(NULL), &m);
        assert_int_equal(m.err, 0);
        assert_int_equal(m.len, want_len);
        assert_memory_equal(m.sha, sha, 32);
        assert_int_equal(m.n_recipients, 1);
        assert_int_equal(m.n_traces, 2);
        assert_string_equal(m.last_trace, OWN);
        delete_chunks(id); /* the copy is made from the kept bytes */
        read_all(&e, gw_body_source_body(src), 5, &r);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.n, want_len);
        assert_memory_equal(r.got, want, want_len);
        free(r.got);
        gw_body_source_free(src);
        env_close(&e);
    }
    gw_edxml_plan_free(&plan);
    gw_edxml_doc_free(doc);
    free(doc);
    free(pkg);
    free(want);
}

/* A stored byte the plan copies as it is (in the Subject) changed after the package was
 * received: the copy reads and is faithful by every check of its own, so only the stored bytes'
 * SHA-256 tells. Measured with the package's SHA-256 expected it fails (GW_ESTORED), with the
 * right bytes it passes. */
static void test_stored_bytes_checked_through_a_plan(void **st)
{
    (void)st;
    size_t len, want_len;
    char *pkg = package(&len), *want = expected_copy(pkg, &want_len);
    char *subject = strstr(pkg, "<Subject>");
    struct gw_edxml_doc *doc = NULL;
    struct gw_edxml_plan plan = {0};
    const char *keep[1] = {"000.00.05.H49"};
    char msg[256];
    uint8_t sha[32];

    assert_non_null(subject);
    assert_int_equal(gw_edxml_read(pkg, len, NULL, &doc, NULL, msg, sizeof(msg)), 0);
    assert_int_equal(gw_edxml_plan_copy(&doc->relay, len, keep, 1, OWN, TS, &plan), 0);
    SHA256((const uint8_t *)pkg, len, sha);
    for (int damaged = 0; damaged < 2; damaged++) {
        struct env e;
        struct gw_body_source *src;
        struct measured m;

        subject[strlen("<Subject>")] ^= damaged ? 0x01 : 0x00;
        int64_t id = put_body((const uint8_t *)pkg, len, 100, -1, -1, SIZE_MAX);
        env_open(&e);
        assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len,
                                            (int64_t)((len + 99) / 100), &plan, &src),
                         0);
        assert_int_equal(gw_body_source_expect(src, sha), 0);
        measure(&e, src, gw_edxml_reader_new(NULL), &m);
        assert_int_equal(m.err, damaged ? GW_ESTORED : 0);
        assert_int_equal(gw_body_source_kept_bytes(), damaged ? 0 : len);
        gw_body_source_free(src);
        env_close(&e);
        assert_int_equal(gw_body_source_kept_bytes(), 0);
    }
    gw_edxml_plan_free(&plan);
    gw_edxml_doc_free(doc);
    free(doc);
    free(pkg);
    free(want);
}

static void plan_released(void *ud)
{
    struct gw_edxml_plan *plan = ud;

    gw_edxml_plan_free(plan);
    free(plan);
}

/* Freed mid-pass through a plan the caller frees: the plan is freed only once the source is gone
 * (its worker may be reading it; ASan builds check), never before. */
static void test_free_then_releases_the_plan(void **st)
{
    (void)st;
    size_t len;
    char *pkg = package(&len);
    struct gw_edxml_doc *doc = NULL;
    struct gw_edxml_plan *plan = calloc(1, sizeof(*plan));
    const char *keep[1] = {"000.00.05.H49"};
    char msg[256];
    struct env e;
    struct gw_body_source *src;
    bool gone = false;

    assert_int_equal(gw_edxml_read(pkg, len, NULL, &doc, NULL, msg, sizeof(msg)), 0);
    assert_int_equal(gw_edxml_plan_copy(&doc->relay, len, keep, 1, OWN, TS, plan), 0);
    int64_t id = put_body((const uint8_t *)pkg, len, 50, -1, -1, SIZE_MAX);
    env_open(&e);
    for (int turns = 0; turns < 40; turns++) {
        struct measured m = {0};
        assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len,
                                            (int64_t)((len + 49) / 50), plan, &src),
                         0);
        assert_int_equal(gw_body_source_measure(src, gw_edxml_reader_new(NULL), on_measured, &m),
                         0);
        for (int i = 0; i < turns; i++) /* freed at a different point of the pass each time */
            uv_run(&e.loop, UV_RUN_NOWAIT);
        if (m.done) {
            gw_body_source_free(src);
            continue;
        }
        gone = false;
        gw_body_source_free_then(src, set_true, &gone);
        spin(&e.loop, &gone);
        assert_true(gone);
        assert_false(m.done); /* the measured callback never runs once freed */
    }
    src = NULL;
    assert_int_equal(
        gw_body_source_new(&e.loop, e.db, NULL, id, len, (int64_t)((len + 49) / 50), plan, &src),
        0);
    struct measured m2 = {0};
    assert_int_equal(gw_body_source_measure(src, NULL, on_measured, &m2), 0);
    gw_body_source_free_then(src, plan_released, plan); /* the plan goes with the source */
    env_close(&e);
    assert_int_equal(gw_body_source_kept_bytes(), 0);
    gw_edxml_doc_free(doc);
    free(doc);
    free(pkg);
}

static void test_bodies_that_lie(void **st)
{
    (void)st;
    size_t len = 10000;
    uint8_t *bytes = random_bytes(len);
    struct {
        int64_t chunks, size;
        size_t skip;
    } cases[] = {
        {-1, -1, 3},           /* chunk 3 missing */
        {12, -1, SIZE_MAX},    /* more chunks announced than stored */
        {-1, 9000, SIZE_MAX},  /* the chunks hold more than the size */
        {-1, 11000, SIZE_MAX}, /* ... or less */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct env e;
        struct gw_body_source *src;
        struct measured m;
        struct reading r;
        uint64_t size = cases[i].size >= 0 ? (uint64_t)cases[i].size : len;
        int64_t id = put_body(bytes, len, 1000, cases[i].chunks, cases[i].size, cases[i].skip);

        env_open(&e);
        assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, size,
                                            cases[i].chunks >= 0 ? cases[i].chunks : 10, NULL,
                                            &src),
                         0);
        measure(&e, src, NULL, &m);
        assert_int_equal(m.err, GW_ESTORED);
        assert_int_equal(gw_body_source_kept_bytes(), 0); /* a failed pass keeps nothing */
        read_all(&e, gw_body_source_body(src), 3000, &r);
        assert_int_equal(r.err, GW_ESTORED);
        free(r.got);
        gw_body_source_free(src);
        env_close(&e);
    }
    free(bytes);
}

static void never(int err, const uint8_t *data, size_t n, void *ud)
{
    (void)err;
    (void)data;
    (void)n;
    (void)ud;
    fail_msg("done ran after the source was freed");
}

static void test_free_in_flight(void **st)
{
    (void)st;
    struct env e;
    struct gw_body_source *src;
    struct gw_axis_body *b;
    size_t len = 5000;
    uint8_t *bytes = random_bytes(len);
    int64_t id = put_body(bytes, len, 1000, -1, -1, SIZE_MAX);

    env_open(&e);
    assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len, 5, NULL, &src), 0);
    b = gw_body_source_body(src);
    assert_int_equal(b->read(b, 100, never, NULL), 0); /* a chunk query in flight */
    gw_body_source_free(src);
    assert_int_equal(gw_body_source_new(&e.loop, e.db, NULL, id, len, 5, NULL, &src), 0);
    assert_int_equal(gw_body_source_measure(src, NULL, NULL, NULL), 0);
    gw_body_source_free(src); /* freed mid-pass: the measured callback never runs */
    env_close(&e);
    assert_int_equal(gw_body_source_kept_bytes(), 0);
    free(bytes);
}

/* A measured source over body id (4 chunks); it keeps or not as the bounds say. */
static struct gw_body_source *measured_source(struct env *e, int64_t id, size_t len)
{
    struct gw_body_source *src;
    struct measured m;

    assert_int_equal(gw_body_source_new(&e->loop, e->db, NULL, id, len, 4, NULL, &src), 0);
    measure(e, src, NULL, &m);
    assert_int_equal(m.err, 0);
    assert_int_equal(m.len, len);
    return src;
}

static void test_keep_bounds(void **st)
{
    (void)st;
    struct env e;
    struct gw_body_source *fits, *no_room, *too_big;
    struct reading r;
    size_t len = 4 * 70000 - 5;
    uint8_t *bytes = random_bytes(len);
    int64_t id = put_body(bytes, len, 70000, -1, -1, SIZE_MAX);

    env_open(&e);
    gw_body_source_keep_limits(len, len);
    fits = measured_source(&e, id, len); /* exactly both bounds */
    assert_int_equal(gw_body_source_kept_bytes(), len);
    no_room = measured_source(&e, id, len); /* the budget is taken */
    gw_body_source_keep_limits(len - 1, 10 * len);
    too_big = measured_source(&e, id, len); /* one byte above the per-send bound */
    assert_int_equal(gw_body_source_kept_bytes(), len);
    delete_chunks(id);
    for (int pass = 0; pass < 2; pass++) {
        read_all(&e, gw_body_source_body(fits), 50000, &r);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.n, len);
        assert_memory_equal(r.got, bytes, len);
        free(r.got);
        assert_int_equal(gw_body_source_body(fits)->rewind(gw_body_source_body(fits)), 0);
    }
    read_all(&e, gw_body_source_body(no_room), 50000, &r);
    assert_int_equal(r.err, GW_ESTORED); /* it re-reads: the chunks are gone */
    free(r.got);
    read_all(&e, gw_body_source_body(too_big), 50000, &r);
    assert_int_equal(r.err, GW_ESTORED);
    free(r.got);
    gw_body_source_free(no_room);
    gw_body_source_free(too_big);
    assert_int_equal(gw_body_source_kept_bytes(), len);
    gw_body_source_free(fits);
    assert_int_equal(gw_body_source_kept_bytes(), 0);
    gw_body_source_keep_limits(GW_BODY_SOURCE_KEEP_MAX, GW_BODY_SOURCE_KEEP_BUDGET);
    env_close(&e);
    free(bytes);
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
    PQclear(PQexec(admin, "DROP DATABASE IF EXISTS gw_test_body_source"));
    PQclear(PQexec(admin, "CREATE DATABASE gw_test_body_source"));
    PQfinish(admin);
    snprintf(g_conninfo, sizeof(g_conninfo), "host=%s user=postgres dbname=gw_test_body_source",
             g_host);
    if (gw_db_migrate(g_conninfo, GW_SOURCE_DIR "/schemas/sql") != 0)
        return -1;
    g_pg = PQconnectdb(g_conninfo);
    return PQstatus(g_pg) == CONNECTION_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(g_pg);
    return 0;
}

int main(void)
{
    const char *host = getenv("GW_TEST_PGHOST");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_plan_across_chunks),
        cmocka_unit_test(test_bodies_that_lie),
        cmocka_unit_test(test_free_in_flight),
        cmocka_unit_test(test_keep_bounds),
        cmocka_unit_test(test_stored_bytes_checked_through_a_plan),
        cmocka_unit_test(test_free_then_releases_the_plan),
    };

    if (!host || !*host) {
        fprintf(stderr, "GW_TEST_PGHOST not set: skipping body source tests\n");
        return 77;
    }
    snprintf(g_host, sizeof(g_host), "%s", host);
    gw_log_set_level(GW_LOG_ERROR);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
