/*
 * Unit tests for adapters/vxp against the national axis simulator (tests/sim/axis_sim.py) run as a
 * child process on an ephemeral port. The simulator verifies the wire format of domain.md §5 (HMAC
 * keyed with the secret's characters, prefixed sign-header, signed Content-Type, from = systemid,
 * hash-file, the SDK's bodies) and refuses anything else, so every successful call here is one
 * the real axis would accept (hash-file is checked there with Python's hashlib). Covered: send ->
 * list -> fetch -> ack through gw_vxp_ops (found with gw_axis_find) with a 44-character secret;
 * bodies pulled from a source that answers at once or later on the loop, in small slices; fetches
 * into a sink that pauses after every write and resumes from a timer; getEdoc answers with the
 * data member first or last, wrapped base64, escaped '/', and data followed by a FAIL (discarded);
 * caps, the adapter destroyed and the HTTP client closed in flight, and the error classes
 * (GW_EAUTH for refused credentials, GW_EAXIS for a refused package, GW_EHTTP for 5xx). Skipped
 * (77) when python3 or the simulator is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "engine/axis.h"
#include "util/error.h"

#define SIM_PATH   GW_SOURCE_DIR "/tests/sim/axis_sim.py"
#define FIXTURE    GW_SOURCE_DIR "/tests/fixtures/edxml/edoc_basic.xml"
#define SENDER     "gw-h49"
#define SENDER_KEY "c2VuZGVyLXNlY3JldC1rZXktb2YtNDQtY2hhcmFjdGU=" /* 44 chars, used as text */
#define RECV       "gw-g22"
#define RECV_KEY   "cmVjZWl2ZXItc2VjcmV0LWtleQ=="
#define FROM_ORGAN "000.00.12.H49"

static const char inline_pkg[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>"
    "<MessageHeader><From><OrganId>000.00.12.H49</OrganId></From>"
    "<To><OrganId>000.00.00.G22</OrganId></To><DocumentId>000.00.12.H49,2024/01/01,1</DocumentId>"
    "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>\n";

struct sim {
    pid_t pid;
    char dir[64];
    char base_url[64];
    unsigned char *pkg;
    size_t pkg_len;
    uv_loop_t loop;
    struct gw_httpc *http;
    const struct gw_axis_ops *ops;
};

static struct sim S;

/* --- simulator process ------------------------------------------------------------------ */

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int sim_start(void)
{
    char spec[128], portf[128];
    size_t plen;
    char *port;

    snprintf(S.dir, sizeof(S.dir), "/tmp/gw-test-vxp.XXXXXX");
    if (!mkdtemp(S.dir))
        return -1;
    snprintf(spec, sizeof(spec), "%s/systems.json", S.dir);
    snprintf(portf, sizeof(portf), "%s/port", S.dir);
    if (write_file(spec, "{\"systems\":[{\"systemid\":\"" SENDER "\",\"secret\":\"" SENDER_KEY
                         "\",\"organ_ids\":[\"" FROM_ORGAN "\"]},"
                         "{\"systemid\":\"" RECV "\",\"secret\":\"" RECV_KEY
                         "\",\"organ_ids\":[\"000.00.00.G22\"]}]}") != 0)
        return -1;
    S.pid = fork();
    if (S.pid < 0)
        return -1;
    if (S.pid == 0) {
        execlp("python3", "python3", SIM_PATH, "--port", "0", "--port-file", portf, "--systems",
               spec, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && !file_exists(portf); i++)
        sleep_ms(50);
    port = (char *)read_all(portf, &plen);
    if (!port)
        return -1;
    port[plen] = '\0';
    snprintf(S.base_url, sizeof(S.base_url), "http://127.0.0.1:%d/", atoi(port));
    free(port);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (sim_start() != 0)
        return -1;
    S.pkg = read_all(FIXTURE, &S.pkg_len);
    if (!S.pkg) {
        S.pkg_len = sizeof(inline_pkg) - 1;
        S.pkg = malloc(S.pkg_len);
        memcpy(S.pkg, inline_pkg, S.pkg_len);
    }
    S.ops = gw_axis_find("vxp");
    return S.ops ? 0 : -1;
}

static int group_teardown(void **state)
{
    char path[128];
    (void)state;
    if (S.pid > 0) {
        kill(S.pid, SIGTERM);
        waitpid(S.pid, NULL, 0);
    }
    snprintf(path, sizeof(path), "%s/systems.json", S.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/port", S.dir);
    unlink(path);
    rmdir(S.dir);
    free(S.pkg);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    if (uv_loop_init(&S.loop) != 0 || gw_httpc_open(&S.loop, &S.http) != 0)
        return -1;
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    gw_httpc_close(S.http);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&S.loop), 0);
    return 0;
}

/* --- synchronous wrappers over the async ops --------------------------------------------- */

struct res {
    int done, err;
    char id[300];
    char detail[600];
    unsigned char *bytes;
    size_t len;
    struct gw_axis_item items[64];
    size_t n;
};

static void save_detail(struct res *r, int err, const char *detail)
{
    r->done = 1;
    r->err = err;
    snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
}

static void on_send(int err, const char *id, const char *detail, void *ud)
{
    struct res *r = ud;
    save_detail(r, err, detail);
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
}

static void on_list(int err, const struct gw_axis_item *items, size_t n, const char *cursor,
                    const char *detail, void *ud)
{
    struct res *r = ud;
    assert_null(cursor); /* vxp lists by pending state */
    save_detail(r, err, detail);
    for (size_t i = 0; i < n && r->n < 64; i++, r->n++) {
        r->items[r->n].doc_id = strdup(items[i].doc_id);
        r->items[r->n].from = items[i].from ? strdup(items[i].from) : NULL;
    }
}

/* --- body source and sink over memory, with the asynchrony the contract allows ------------- */

struct src {
    struct gw_axis_body body;
    const unsigned char *p;
    size_t off, slice; /* slice: the most one read gives (0: as asked) */
    int async;         /* done later from a timer, else before read returns */
    uv_timer_t t;
    int timer_open;
    gw_axis_body_done_cb done;
    void *done_ud;
    size_t want;
    int reads, pending;
};

static void src_give(struct src *x)
{
    size_t n = x->body.len - x->off < x->want ? x->body.len - x->off : x->want;
    size_t at = x->off;
    x->off += n;
    x->pending = 0;
    x->done(0, x->p + at, n, x->done_ud);
}

static void src_timer(uv_timer_t *t)
{
    src_give(t->data);
}

static int src_read(struct gw_axis_body *b, size_t cap, gw_axis_body_done_cb done, void *ud)
{
    struct src *x = b->ud;
    assert_true(cap > 0);
    assert_int_equal(x->pending, 0); /* one read at a time */
    x->pending = 1;
    x->reads++;
    x->done = done;
    x->done_ud = ud;
    x->want = x->slice && x->slice < cap ? x->slice : cap;
    if (!x->async) {
        src_give(x);
        return 0;
    }
    if (!x->timer_open) {
        uv_timer_init(&S.loop, &x->t);
        x->t.data = x;
        x->timer_open = 1;
    }
    uv_timer_start(&x->t, src_timer, 0, 0);
    return 0;
}

static int src_rewind(struct gw_axis_body *b)
{
    ((struct src *)b->ud)->off = 0;
    return 0;
}

static void src_init(struct src *x, const unsigned char *p, size_t len, int async, size_t slice)
{
    memset(x, 0, sizeof(*x));
    x->p = p;
    x->async = async;
    x->slice = slice;
    x->body.len = len;
    x->body.read = src_read;
    x->body.rewind = src_rewind;
    x->body.ud = x;
    SHA256(p, len, x->body.sha256); /* the owner hashes; the simulator checks with hashlib */
}

static void src_fini(struct src *x)
{
    if (x->timer_open) {
        uv_close((uv_handle_t *)&x->t, NULL);
        uv_run(&S.loop, UV_RUN_NOWAIT);
    }
}

struct snk {
    struct gw_axis_sink sink;
    unsigned char *buf;
    size_t len;
    int pause; /* answer PAUSED to every write, resume from a timer */
    int hold;  /* ... but never resume */
    int paused, writes, resumes;
    uv_timer_t t;
    int timer_open;
};

static void snk_timer(uv_timer_t *t)
{
    struct snk *k = t->data;
    assert_int_equal(k->paused, 1);
    k->paused = 0;
    k->resumes++;
    gw_axis_sink_resume(&k->sink);
}

static int snk_write(struct gw_axis_sink *sink, const uint8_t *data, size_t n)
{
    struct snk *k = sink->ud;
    assert_true(n > 0);
    assert_int_equal(k->paused, 0); /* nothing is written while paused */
    k->buf = realloc(k->buf, k->len + n);
    memcpy(k->buf + k->len, data, n);
    k->len += n;
    k->writes++;
    if (!k->pause)
        return 0;
    if (!k->timer_open && !k->hold) {
        uv_timer_init(&S.loop, &k->t);
        k->t.data = k;
        k->timer_open = 1;
    }
    k->paused = 1;
    if (!k->hold)
        uv_timer_start(&k->t, snk_timer, 1, 0);
    return GW_AXIS_SINK_PAUSED;
}

static void on_fetch(int err, const char *detail, void *ud)
{
    struct res *r = ud;
    save_detail(r, err, detail);
}

static void on_ack(int err, const char *detail, void *ud)
{
    save_detail(ud, err, detail);
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

/* A callback run from a timer (the adapter defers some) is followed, in UV_RUN_ONCE, by a poll
 * that could block for ever: a ticking timer bounds it. */
static void wait_flag(const int *flag)
{
    uv_timer_t t;
    uv_timer_init(&S.loop, &t);
    uv_timer_start(&t, tick, 10, 10);
    while (!*flag)
        uv_run(&S.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&S.loop, UV_RUN_NOWAIT);
}

static void wait_done(struct res *r)
{
    wait_flag(&r->done);
}

static void res_free(struct res *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].doc_id);
        free(r->items[i].from);
    }
    free(r->bytes);
    memset(r, 0, sizeof(*r));
}

static int g_async = 1;    /* how do_send's source answers */
static size_t g_slice = 0; /* and in what slices */
static int g_pause = 0;    /* whether do_fetch's sink pauses */

static void *axis_open(const char *systemid, const char *secret, size_t max_pkg)
{
    struct gw_axis_config cfg = {
        .name = "national",
        .base_url = S.base_url,
        .systemid = systemid,
        .secret = secret,
        .timeout_ms = 10000,
        .max_package_bytes = max_pkg,
        .tls = {.insecure = true}, /* the simulator on loopback, plain HTTP */
    };
    void *st = NULL;
    assert_int_equal(S.ops->create(S.http, &cfg, &st), 0);
    return st;
}

static void do_send(void *st, enum gw_pkg_kind kind, const unsigned char *p, size_t len,
                    struct res *r)
{
    struct src x;
    memset(r, 0, sizeof(*r));
    src_init(&x, p, len, g_async, g_slice);
    assert_int_equal(S.ops->send(st, kind, &x.body, on_send, r), 0);
    wait_done(r);
    assert_int_equal(x.pending, 0); /* no read outlives the callback */
    if (r->err == 0)
        assert_int_equal(x.off, len);
    src_fini(&x);
}

static void do_list(void *st, enum gw_pkg_kind kind, struct res *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(S.ops->list_received(st, kind, NULL, on_list, r), 0);
    wait_done(r);
}

static void do_fetch(void *st, const char *id, struct res *r)
{
    struct snk k;
    memset(r, 0, sizeof(*r));
    memset(&k, 0, sizeof(k));
    k.sink.write = snk_write;
    k.sink.ud = &k;
    k.pause = g_pause;
    assert_int_equal(S.ops->fetch(st, id, &k.sink, on_fetch, r), 0);
    wait_done(r);
    assert_int_equal(k.paused, 0); /* the callback never runs while the sink is paused */
    if (g_pause && r->err == 0 && k.len > 0)
        assert_int_equal(k.resumes, k.writes);
    if (r->err == 0) {
        r->bytes = k.buf; /* what the sink got is the package */
        r->len = k.len;
    } else {
        free(k.buf); /* discarded */
    }
    if (k.timer_open) {
        uv_close((uv_handle_t *)&k.t, NULL);
        uv_run(&S.loop, UV_RUN_NOWAIT);
    }
}

static void do_ack(void *st, const char *id, bool ok, struct res *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(S.ops->ack(st, id, ok, on_ack, r), 0);
    wait_done(r);
}

static const struct gw_axis_item *find_item(const struct res *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].doc_id, id) == 0)
            return &r->items[i];
    return NULL;
}

/* Sends pkg as SENDER, then list -> fetch (exact bytes) -> ack done as RECV. */
static void roundtrip(const unsigned char *pkg, size_t len)
{
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    struct res r;
    char id[300];

    do_send(snd, GW_KIND_EDOC, pkg, len, &r);
    assert_int_equal(r.err, 0);
    assert_true(strlen(r.id) > 0);
    snprintf(id, sizeof(id), "%s", r.id);

    do_list(rcv, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, 0);
    const struct gw_axis_item *it = find_item(&r, id);
    assert_non_null(it);
    assert_string_equal(it->from, FROM_ORGAN);
    res_free(&r);

    do_fetch(rcv, id, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.bytes, pkg, len);
    res_free(&r);

    do_ack(rcv, id, true, &r);
    assert_int_equal(r.err, 0);
    do_list(rcv, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, 0);
    assert_null(find_item(&r, id)); /* acked: no longer listed */
    res_free(&r);
    S.ops->destroy(snd);
    S.ops->destroy(rcv);
}

static void test_roundtrip(void **state)
{
    (void)state;
    roundtrip(S.pkg, S.pkg_len);
}

/* The fixture followed by a comment of pad bytes. */
static unsigned char *big_pkg(size_t pad, size_t *len)
{
    unsigned char *big = malloc(S.pkg_len + pad + 8);
    size_t n;

    assert_non_null(big);
    memcpy(big, S.pkg, S.pkg_len);
    n = S.pkg_len;
    memcpy(big + n, "<!--", 4);
    n += 4;
    for (size_t i = 0; i < pad; i++)
        big[n++] = (unsigned char)('a' + i * 7 % 26);
    memcpy(big + n, "-->\n", 4);
    *len = n + 4;
    return big;
}

/* An answer over 64 KiB, a body over the adapter's read-ahead buffer. */
static void test_roundtrip_large(void **state)
{
    size_t n;
    unsigned char *big = big_pkg(300000, &n);

    (void)state;
    roundtrip(big, n);
    free(big);
}

static void test_fetch_cap_and_unknown(void **state)
{
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *small = axis_open(RECV, RECV_KEY, 100);
    struct res r;
    char id[300];

    (void)state;
    do_send(snd, GW_KIND_EDOC, S.pkg, S.pkg_len, &r);
    assert_int_equal(r.err, 0);
    snprintf(id, sizeof(id), "%s", r.id);
    do_fetch(small, id, &r);
    assert_int_equal(r.err, GW_E2BIG);
    do_ack(small, id, false, &r); /* ack fail: stays listed */
    assert_int_equal(r.err, 0);
    do_list(small, GW_KIND_EDOC, &r);
    assert_non_null(find_item(&r, id));
    res_free(&r);
    do_ack(small, id, true, &r);
    assert_int_equal(r.err, 0);

    do_fetch(small, "no-such-doc", &r);
    assert_int_equal(r.err, GW_EAXIS);
    assert_true(strncmp(r.detail, "404: ", 5) == 0);
    res_free(&r);
    S.ops->destroy(snd);
    S.ops->destroy(small);
}

/* The base64-decoded secret as HMAC key (the old misreading): refused as a credential. */
static const char decoded_key[] = "sender-secret-key-of-44-characte";

static void test_wrong_secret(void **state)
{
    void *bad = axis_open(SENDER, RECV_KEY, 0);
    void *decoded = axis_open(SENDER, decoded_key, 0);
    void *unknown = axis_open("nobody", SENDER_KEY, 0);
    struct res r;

    (void)state;
    do_send(bad, GW_KIND_EDOC, S.pkg, S.pkg_len, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "401: hash-header does not match");
    do_list(decoded, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "401: hash-header does not match");
    do_list(unknown, GW_KIND_STATUS, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "404: systemid nobody is not registered");
    S.ops->destroy(bad);
    S.ops->destroy(decoded);
    S.ops->destroy(unknown);
}

static void on_raw(int err, long status, const char *body, size_t len, void *ud)
{
    int *done = ud;
    (void)body;
    (void)len;
    assert_int_equal(err, 0);
    assert_int_equal(status, 200);
    *done = 1;
}

static void test_http_500_and_config(void **state)
{
    static const char fault[] = "{\"http500\":1,\"ops\":[\"getReceivedEdocList\"]}";
    char url[128];
    int done = 0;
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    void *st = NULL;
    struct res r;
    struct gw_axis_config cfg = {
        .base_url = S.base_url, .systemid = RECV, .secret = "", .tls = {.insecure = true}};

    (void)state;
    snprintf(url, sizeof(url), "%s_sim/faults", S.base_url);
    struct gw_httpc_request req = {
        .method = "POST", .url = url, .body = fault, .body_len = sizeof(fault) - 1};
    assert_int_equal(gw_httpc_request(S.http, &req, on_raw, &done), 0);
    while (!done)
        uv_run(&S.loop, UV_RUN_ONCE);
    do_list(rcv, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, GW_EHTTP);
    assert_string_equal(r.detail, "HTTP 500: 500: injected HTTP 500");
    do_list(rcv, GW_KIND_EDOC, &r); /* the fault fired once */
    assert_int_equal(r.err, 0);
    res_free(&r);

    assert_int_equal(S.ops->create(S.http, &cfg, &st), GW_ECONFIG);
    assert_null(st);
    cfg.secret = " padded";
    assert_int_equal(S.ops->create(S.http, &cfg, &st), GW_ECONFIG);
    cfg.secret = "!!"; /* not base64: fine, the secret is text */
    assert_int_equal(S.ops->create(S.http, &cfg, &st), 0);
    S.ops->destroy(st);
    /* The axis's TLS settings go with every request: without insecure, plain HTTP is refused at
     * once (the callback never runs). */
    cfg.tls.insecure = false;
    assert_int_equal(S.ops->create(S.http, &cfg, &st), 0);
    assert_int_equal(S.ops->list_received(st, GW_KIND_EDOC, NULL, on_list, &r), GW_EINVAL);
    assert_int_equal(S.ops->ack(st, "id", true, on_ack, &r), GW_EINVAL);
    S.ops->destroy(st);
    struct snk k = {.sink = {.write = snk_write}};
    assert_int_equal(S.ops->fetch(rcv, "bad\r\nid", &k.sink, on_fetch, &r), GW_EINVAL);
    assert_int_equal(S.ops->fetch(rcv, "id", NULL, on_fetch, &r), GW_EINVAL);
    assert_null(gw_axis_find("nope"));
    S.ops->destroy(rcv);
}

/* POSTs body to the simulator's control endpoint /_sim/<name>. */
static void sim_control(const char *name, const char *body)
{
    char url[128];
    int done = 0;

    snprintf(url, sizeof(url), "%s_sim/%s", S.base_url, name);
    struct gw_httpc_request req = {
        .method = "POST", .url = url, .body = body, .body_len = strlen(body)};
    assert_int_equal(gw_httpc_request(S.http, &req, on_raw, &done), 0);
    while (!done)
        uv_run(&S.loop, UV_RUN_ONCE);
}

/* Credentials refused (FAIL answers naming them, HTTP 401/403) -> GW_EAUTH for every call; a
 * refusal of the package -> GW_EAXIS; detail is always the axis's text. */
static void test_error_classes(void **state)
{
    static const char no_rcpt[] =
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>"
        "<MessageHeader><From><OrganId>000.00.12.H49</OrganId></From></MessageHeader>"
        "</edXMLHeader></edXMLEnvelope></edXML>";
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    struct res r;

    (void)state;
    do_send(snd, GW_KIND_EDOC, (const unsigned char *)no_rcpt, sizeof(no_rcpt) - 1, &r);
    assert_int_equal(r.err, GW_EAXIS);
    assert_string_equal(r.detail, "22: no recipient: MessageHeader/To/OrganId missing or empty");

    sim_control("credentials", "{\"refuse\":true}");
    do_send(snd, GW_KIND_EDOC, S.pkg, S.pkg_len, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "401: hash-header does not match");
    do_list(snd, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, GW_EAUTH);
    do_fetch(snd, "some-doc", &r);
    assert_int_equal(r.err, GW_EAUTH);
    do_ack(snd, "some-doc", true, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "401: hash-header does not match");

    sim_control("credentials", "{\"refuse\":true,\"how\":\"from\"}");
    do_send(snd, GW_KIND_STATUS, S.pkg, S.pkg_len, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail,
                        "403: Don vi gui " SENDER " khong dung voi ma da dang ky: " SENDER);
    sim_control("credentials", "{\"refuse\":true,\"how\":\"http401\"}");
    do_list(snd, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "HTTP 401: 401: Unauthorized");
    sim_control("credentials", "{\"refuse\":true,\"how\":\"http403\"}");
    do_list(snd, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, GW_EAUTH);
    assert_string_equal(r.detail, "HTTP 403: 403: Forbidden");

    sim_control("credentials", "{\"refuse\":false}");
    do_list(snd, GW_KIND_EDOC, &r);
    assert_int_equal(r.err, 0);
    res_free(&r);
    S.ops->destroy(snd);
}

static void test_destroy_then_close_in_flight(void **state)
{
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    struct res r;
    struct src x;

    (void)state;
    memset(&r, 0, sizeof(r));
    src_init(&x, S.pkg, S.pkg_len, 0, 0);
    assert_int_equal(S.ops->send(snd, GW_KIND_EDOC, &x.body, on_send, &r), 0);
    S.ops->destroy(snd); /* the call survives its adapter state */
    gw_httpc_close(S.http);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.err, GW_ECANCELED);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    assert_int_equal(gw_httpc_open(&S.loop, &S.http), 0); /* for test_teardown */
}

/*
 * A 3 MB package (4 MB of JSON) both ways: the body pulled in 1000-byte slices given at once and
 * in 64 KiB slices given later on the loop; the answer into a sink that pauses after every write
 * (the fetch completes only after the last resume); over max_package_bytes once decoded.
 */
static void test_large_streamed(void **state)
{
    size_t n;
    unsigned char *big = big_pkg(3u * 1024 * 1024, &n);
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    void *capped = axis_open(RECV, RECV_KEY, n - 1000);
    struct res r;
    char id[300];

    (void)state;
    g_async = 0;
    g_slice = 1000;
    g_pause = 1;
    roundtrip(big, n);
    g_async = 1;
    g_slice = 65536;
    roundtrip(big, n);
    g_slice = 0;

    do_send(snd, GW_KIND_EDOC, big, n, &r);
    assert_int_equal(r.err, 0);
    snprintf(id, sizeof(id), "%s", r.id);
    do_fetch(capped, id, &r); /* within the response cap, over max_package_bytes decoded */
    assert_int_equal(r.err, GW_E2BIG);
    assert_true(strncmp(r.detail, "package exceeds ", 16) == 0);
    do_fetch(rcv, id, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, n);
    assert_memory_equal(r.bytes, big, n);
    res_free(&r);
    g_pause = 0;
    do_ack(rcv, id, true, &r);
    assert_int_equal(r.err, 0);
    S.ops->destroy(capped);
    S.ops->destroy(snd);
    S.ops->destroy(rcv);
    free(big);
}

/* getEdoc answers in every shape an axis may write: the scanner finds data wherever it is. */
static void test_fetch_shapes(void **state)
{
    static const char *const shapes[] = {
        "{\"order\":\"data_first\"}",
        "{\"order\":\"data_last\"}",
        "{\"order\":\"data_first\",\"wrap\":76,\"escape_slash\":true}",
        "{\"wrap\":64,\"escape_slash\":true}",
    };
    size_t n;
    unsigned char *big = big_pkg(200000, &n);
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    struct res r;
    char id[300];

    (void)state;
    for (int k = 0; k < 2; k++) {
        const unsigned char *p = k ? big : S.pkg;
        size_t len = k ? n : S.pkg_len;
        do_send(snd, GW_KIND_EDOC, p, len, &r);
        assert_int_equal(r.err, 0);
        snprintf(id, sizeof(id), "%s", r.id);
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            sim_control("getedoc", shapes[i]);
            g_pause = (int)i % 2;
            do_fetch(rcv, id, &r);
            assert_int_equal(r.err, 0);
            assert_int_equal(r.len, len);
            assert_memory_equal(r.bytes, p, len);
            res_free(&r);
        }
        /* the data, then status FAIL: the sink's bytes are not the package */
        sim_control("getedoc", "{\"fail_after_data\":1}");
        do_fetch(rcv, id, &r);
        assert_int_equal(r.err, GW_EAXIS);
        assert_string_equal(r.detail, "500: injected FAIL after data");
        do_ack(rcv, id, true, &r);
        assert_int_equal(r.err, 0);
    }
    sim_control("getedoc", "{}");
    g_pause = 0;
    S.ops->destroy(snd);
    S.ops->destroy(rcv);
    free(big);
}

static void resume_soon(uv_timer_t *t)
{
    struct snk *k = t->data;
    k->paused = 0;
    gw_axis_sink_resume(&k->sink);
}

/* The client closes while the sink is paused: the callback (GW_ECANCELED) waits for the resume. */
static void test_close_while_paused(void **state)
{
    size_t n;
    unsigned char *big = big_pkg(1u * 1024 * 1024, &n);
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    struct res r;
    struct snk k;
    char id[300];

    (void)state;
    do_send(snd, GW_KIND_EDOC, big, n, &r);
    assert_int_equal(r.err, 0);
    snprintf(id, sizeof(id), "%s", r.id);
    memset(&k, 0, sizeof(k));
    k.sink.write = snk_write;
    k.sink.ud = &k;
    k.pause = 1;
    k.hold = 1; /* it stays paused */
    memset(&r, 0, sizeof(r));
    assert_int_equal(S.ops->fetch(rcv, id, &k.sink, on_fetch, &r), 0);
    while (k.writes == 0)
        uv_run(&S.loop, UV_RUN_ONCE); /* a write comes from the socket's poll */
    S.ops->destroy(rcv);
    gw_httpc_close(S.http);
    for (int i = 0; i < 5; i++)
        uv_run(&S.loop, UV_RUN_NOWAIT);
    assert_int_equal(r.done, 0); /* still paused: no callback yet */
    uv_timer_init(&S.loop, &k.t);
    k.t.data = &k;
    uv_timer_start(&k.t, resume_soon, 1, 0);
    wait_flag(&r.done);
    assert_int_equal(r.err, GW_ECANCELED);
    uv_close((uv_handle_t *)&k.t, NULL);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    free(k.buf);
    S.ops->destroy(snd);
    free(big);
    assert_int_equal(gw_httpc_open(&S.loop, &S.http), 0); /* for test_teardown */
}

/* --- 67 MB both ways in bounded memory ---------------------------------------------------- */

/* Resident set now, in KiB (/proc/self/statm), and the most seen while the transfers ran. */
static long rss_kb(void)
{
    long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long rss_peak;
static unsigned rss_calls;

static void rss_sample(void)
{
    if (rss_calls++ % 16 == 0) {
        long r = rss_kb();
        if (r > rss_peak)
            rss_peak = r;
    }
}

/* The package is generated as it is read: the fixture, a comment of `pad` pattern bytes, "-->". */
struct gen {
    struct gw_axis_body body;
    uint64_t off, pad;
    int timer_open, pending;
    uv_timer_t t;
    gw_axis_body_done_cb done;
    void *done_ud;
    size_t want;
    unsigned char buf[65536];
};

static size_t gen_fill(uint64_t pad, uint64_t off, unsigned char *out, size_t cap)
{
    size_t n = 0;
    uint64_t total = S.pkg_len + 4 + pad + 4;

    while (n < cap && off < total) {
        if (off < S.pkg_len)
            out[n] = S.pkg[off];
        else if (off < S.pkg_len + 4)
            out[n] = (unsigned char)"<!--"[off - S.pkg_len];
        else if (off < S.pkg_len + 4 + pad)
            out[n] = (unsigned char)('a' + (off * 7) % 26);
        else
            out[n] = (unsigned char)"-->\n"[off - S.pkg_len - 4 - pad];
        n++;
        off++;
    }
    return n;
}

static void gen_give(uv_timer_t *t)
{
    struct gen *g = t->data;
    rss_sample();
    size_t n =
        gen_fill(g->pad, g->off, g->buf, g->want < sizeof(g->buf) ? g->want : sizeof(g->buf));
    g->off += n;
    g->pending = 0;
    g->done(0, g->buf, n, g->done_ud);
}

static int gen_read(struct gw_axis_body *b, size_t cap, gw_axis_body_done_cb done, void *ud)
{
    struct gen *g = b->ud;
    assert_int_equal(g->pending, 0);
    g->pending = 1;
    g->done = done;
    g->done_ud = ud;
    g->want = cap;
    uv_timer_start(&g->t, gen_give, 0, 0); /* always later, as a database would */
    return 0;
}

static void gen_init(struct gen *g, uint64_t pad)
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    uint64_t off = 0;
    size_t n;

    memset(g, 0, sizeof(*g));
    g->pad = pad;
    g->body.len = S.pkg_len + 4 + pad + 4;
    g->body.read = gen_read;
    g->body.ud = g;
    EVP_DigestInit_ex(h, EVP_sha256(), NULL); /* the owner's pass over the bytes, before */
    while ((n = gen_fill(pad, off, g->buf, sizeof(g->buf))) > 0) {
        EVP_DigestUpdate(h, g->buf, n);
        off += n;
    }
    EVP_DigestFinal_ex(h, g->body.sha256, NULL);
    EVP_MD_CTX_free(h);
    uv_timer_init(&S.loop, &g->t);
    g->t.data = g;
}

struct hsink {
    struct gw_axis_sink sink;
    EVP_MD_CTX *h;
    uint64_t len;
};

static int hsink_write(struct gw_axis_sink *sink, const uint8_t *data, size_t n)
{
    struct hsink *k = sink->ud;
    rss_sample();
    EVP_DigestUpdate(k->h, data, n);
    k->len += n;
    return 0;
}

/* sendEdoc of a 67 MB package and getEdoc of its 89 MB answer raise this process's resident set
 * (sampled while the bytes flow) by a few buffers, not by the package (the simulator, another
 * process, holds it). */
static void test_67mb_bounded(void **state)
{
    const uint64_t pad = 67u * 1000 * 1000;
    void *snd = axis_open(SENDER, SENDER_KEY, 0);
    void *rcv = axis_open(RECV, RECV_KEY, 0);
    struct gen *g = malloc(sizeof(*g));
    struct hsink k;
    struct res r;
    uint8_t md[32];
    char id[300];
    long before;

    (void)state;
    roundtrip(S.pkg, S.pkg_len); /* warm up: every code path has run once */
    gen_init(g, pad);
    before = rss_peak = rss_kb();
    memset(&r, 0, sizeof(r));
    assert_int_equal(S.ops->send(snd, GW_KIND_EDOC, &g->body, on_send, &r), 0);
    wait_done(&r);
    assert_int_equal(r.err, 0); /* the simulator checked hash-file against the bytes (hashlib) */
    assert_int_equal(g->off, g->body.len);
    snprintf(id, sizeof(id), "%s", r.id);

    memset(&k, 0, sizeof(k));
    k.h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(k.h, EVP_sha256(), NULL);
    k.sink.write = hsink_write;
    k.sink.ud = &k;
    memset(&r, 0, sizeof(r));
    assert_int_equal(S.ops->fetch(rcv, id, &k.sink, on_fetch, &r), 0);
    wait_done(&r);
    assert_int_equal(r.err, 0);
    EVP_DigestFinal_ex(k.h, md, NULL);
    EVP_MD_CTX_free(k.h);
    assert_int_equal(k.len, g->body.len);
    assert_memory_equal(md, g->body.sha256, 32);
    long grown = rss_peak - before;
    fprintf(stderr, "67 MB send + fetch: resident set grew by at most %ld KiB (%u samples)\n",
            grown, rss_calls / 16);
    assert_true(grown < 8 * 1024);
    do_ack(rcv, id, true, &r);
    assert_int_equal(r.err, 0);
    uv_close((uv_handle_t *)&g->t, NULL);
    uv_run(&S.loop, UV_RUN_NOWAIT);
    free(g);
    S.ops->destroy(snd);
    S.ops->destroy(rcv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_large, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_large_streamed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_shapes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_paused, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_67mb_bounded, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_cap_and_unknown, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_secret, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_http_500_and_config, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_error_classes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_then_close_in_flight, test_setup,
                                        test_teardown),
    };
    if (!file_exists(SIM_PATH) || system("command -v python3 >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skip: python3 or %s missing\n", SIM_PATH);
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
