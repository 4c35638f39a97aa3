/*
 * The national axis the benchmark (tests/bench/run.sh) relays to: a sink in C on libuv that
 * answers the calls gatewayd makes (sendEdoc; at start and while polling getReceivedEdocList and
 * getAgenciesList) after the checks the simulator makes of them (axis_sink_check.c), and keeps
 * nothing but counters, so the benchmark measures the gateway and not its peer.
 *   axis_sink --systems SPEC.json [--port N] [--port-file PATH] [--max-body-bytes N]
 *             [--tls-cert PEM --tls-key PEM]
 * SPEC is the simulator's: {"systems":[{"systemid":..., "secret" (or "secret_b64"):...}]}, the
 * secret used as text. HTTP/1.1 with keep-alive is the gateway's own server module (gateway/http),
 * on 127.0.0.1 only; with --tls-cert/--tls-key it speaks HTTPS only (TLS 1.2 at least).
 * Answers as the simulator does: sendEdoc {"status":"OK","ErrorCode":"0","ErrorDesc":"","DocId"}
 * with a fresh UUID-shaped docId; the list calls an empty data array (no mailbox ever holds
 * anything for the caller); getEdoc, updateStatus and getSentEdocList, after their checks, FAIL
 * 404 (the sink keeps no packages); a refused call HTTP 200 {"status":"FAIL",ErrorCode,ErrorDesc}.
 * GET /_sim/ping and /_sim/stats (request and refusal counters, the simulator's names). SIGTERM or
 * SIGINT prints the counters on stderr and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <uv.h>

#include "axis_sink_check.h"
#include "http/http_server.h"
#include "http/http_tls.h"
#include "util/file.h"
#include "util/log.h"

#define MAX_SPEC_BYTES   (1024 * 1024)
#define MAX_BODY_DEFAULT ((size_t)64 * 1024 * 1024)
#define MAX_BODY_CAP     ((size_t)1024 * 1024 * 1024)
#define LOGGED_FAILS     20 /* refusals written to stderr; the rest are only counted */
#define JSON_CT          "application/json; charset=utf-8"

struct sink {
    struct gw_sink_systems systems;
    uint8_t id_prefix[8]; /* random per process: docIds never repeat across sinks */
    uint64_t seq;
    uint64_t requests[GW_SINK_N_OPS];
    uint64_t send_ok, send_fail, protocol_fail, auth_fail;
    struct gw_http_server *srv;
    uv_signal_t sigterm, sigint;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "axis_sink: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---- answers ------------------------------------------------------------------------------- */

/* A JSON string of untrusted text: '"', '\' and controls escaped, non-ASCII bytes as '?'. */
static size_t json_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;

    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = c < 0x80 ? (char)c : '?';
        }
    }
    out[n] = '\0';
    return n;
}

static void answer_fail(struct sink *s, struct gw_http_req *req, int http, int op,
                        const struct gw_sink_fail *f)
{
    char desc[2 * GW_SINK_MAX_DESC], body[3 * GW_SINK_MAX_DESC];
    int n;

    if (op >= 0) {
        s->protocol_fail++;
        if (f->auth)
            s->auth_fail++;
        if (op == GW_SINK_SEND)
            s->send_fail++;
    }
    if (s->protocol_fail <= LOGGED_FAILS)
        fprintf(stderr, "axis_sink: %s %s: FAIL %s %s\n", req->method, req->path, f->code, f->desc);
    json_text(desc, sizeof(desc), f->desc);
    n = snprintf(body, sizeof(body),
                 "{\"status\":\"FAIL\",\"ErrorCode\":\"%s\",\"ErrorDesc\":\"%s\"}", f->code, desc);
    gw_http_respond(req, http, JSON_CT, body, (size_t)n);
}

static void answer_ok(struct gw_http_req *req, const char *extra)
{
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\"%s}", extra);
    gw_http_respond(req, 200, JSON_CT, body, (size_t)n);
}

static void next_doc_id(struct sink *s, char out[37])
{
    uint8_t b[16];
    uint64_t c = ++s->seq;

    memcpy(b, s->id_prefix, 8);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t)(c >> (56 - 8 * i));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* shaped as a version 4 UUID, like the simulator's */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* ---- the protocol -------------------------------------------------------------------------- */

static int messagetype(const struct gw_sink_signed *sg, bool *status, struct gw_sink_fail *f)
{
    const char *mt = gw_sink_signed_get(sg, "messagetype");

    if (mt && (strcmp(mt, "edoc") == 0 || strcmp(mt, "status") == 0)) {
        *status = strcmp(mt, "status") == 0;
        return 0;
    }
    snprintf(f->code, sizeof(f->code), "400");
    snprintf(f->desc, sizeof(f->desc), "messagetype must be edoc or status, got '%.40s'",
             mt ? mt : "");
    f->auth = false;
    return -1;
}

static void protocol(struct sink *s, struct gw_http_req *req, enum gw_sink_op op)
{
    struct gw_sink_signed sg;
    const struct gw_sink_system *sys = NULL;
    struct gw_sink_fail f = {.auth = false};
    char extra[64], id[37];
    bool status = false;

    s->requests[op]++;
    if (gw_sink_check_call(&s->systems, req, op, &sg, &sys, &f) != 0) {
        answer_fail(s, req, 200, (int)op, &f);
        return;
    }
    switch (op) {
    case GW_SINK_SEND:
        if (messagetype(&sg, &status, &f) != 0)
            break;
        if (req->body_len == 2) {
            snprintf(f.code, sizeof(f.code), "22");
            snprintf(f.desc, sizeof(f.desc), "empty body");
            break;
        }
        if (gw_sink_inspect_package(req->body, req->body_len - 2, status, &f) < 0)
            break;
        next_doc_id(s, id);
        snprintf(extra, sizeof(extra), ",\"DocId\":\"%s\"", id);
        s->send_ok++;
        answer_ok(req, extra);
        return;
    case GW_SINK_RECEIVED_LIST:
        if (messagetype(&sg, &status, &f) != 0)
            break;
        answer_ok(req, ",\"data\":[]");
        return;
    case GW_SINK_AGENCIES:
    case GW_SINK_AGENCIES_QD20: /* as the simulator without a directory */
        answer_ok(req, ",\"data\":[]");
        return;
    case GW_SINK_UPDATE_STATUS:
        if (strcmp(gw_sink_signed_get(&sg, "status"), "done") != 0 &&
            strcmp(gw_sink_signed_get(&sg, "status"), "fail") != 0) {
            snprintf(f.code, sizeof(f.code), "400");
            snprintf(f.desc, sizeof(f.desc), "status must be done or fail");
            break;
        }
        /* fall through */
    case GW_SINK_GET_EDOC: /* no mailbox of the caller holds anything */
        snprintf(f.code, sizeof(f.code), "404");
        snprintf(f.desc, sizeof(f.desc), "docId %.60s is not in a mailbox of %.60s",
                 gw_sink_signed_get(&sg, "docId"), sys->id);
        break;
    case GW_SINK_SENT_LIST:
        snprintf(f.code, sizeof(f.code), "404");
        snprintf(f.desc, sizeof(f.desc), "docId %.60s was not sent by %.60s",
                 gw_sink_signed_get(&sg, "docId"), sys->id);
        break;
    case GW_SINK_N_OPS:
        break;
    }
    answer_fail(s, req, 200, (int)op, &f);
}

static void control(struct sink *s, struct gw_http_req *req, const char *name)
{
    char body[1024];
    size_t n = 0;

    if (strcmp(name, "ping") == 0 || strcmp(name, "ping/") == 0) {
        gw_http_respond(req, 200, JSON_CT, "{\"ok\":true}", 11);
        return;
    }
    if (strcmp(name, "stats") != 0 && strcmp(name, "stats/") != 0) {
        gw_http_respond_error(req, 404, "not_found", "unknown control endpoint");
        return;
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"requests\":{");
    for (int i = 0; i < GW_SINK_N_OPS; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"%s\":%llu", i ? "," : "",
                              gw_sink_op_name((enum gw_sink_op)i),
                              (unsigned long long)s->requests[i]);
    n += (size_t)snprintf(body + n, sizeof(body) - n,
                          "},\"sendEdoc_ok\":%llu,\"sendEdoc_fail\":%llu,\"protocol_fail\":%llu,"
                          "\"auth_fail\":%llu}",
                          (unsigned long long)s->send_ok, (unsigned long long)s->send_fail,
                          (unsigned long long)s->protocol_fail, (unsigned long long)s->auth_fail);
    gw_http_respond(req, 200, JSON_CT, body, n);
}

static void on_request(struct gw_http_req *req, void *ud)
{
    struct sink *s = ud;
    const char *ctl = strstr(req->path, "/_sim/");
    size_t end = strlen(req->path), start;
    struct gw_sink_fail f = {.auth = false};
    int op;

    if (ctl) {
        control(s, req, ctl + 6);
        return;
    }
    while (end > 0 && req->path[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && req->path[start - 1] != '/')
        start--;
    op = gw_sink_op_find(req->path + start, end - start);
    if (op < 0) {
        snprintf(f.code, sizeof(f.code), "404");
        snprintf(f.desc, sizeof(f.desc), "unknown operation '%.*s'",
                 (int)(end - start < 80 ? end - start : 80), req->path + start);
        answer_fail(s, req, 404, -1, &f);
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        snprintf(f.code, sizeof(f.code), "405");
        snprintf(f.desc, sizeof(f.desc), "use POST");
        answer_fail(s, req, 405, -1, &f);
        return;
    }
    protocol(s, req, (enum gw_sink_op)op);
}

/* ---- set-up -------------------------------------------------------------------------------- */

static void load_systems(struct gw_sink_systems *out, const char *path)
{
    uint8_t *text = NULL;
    size_t len = 0;
    json_error_t jerr;
    json_t *root, *list, *item;
    size_t i;

    if (gw_file_read(path, MAX_SPEC_BYTES, &text, &len) != 0)
        die("cannot read --systems %s (at most 1 MiB)", path);
    root = json_loadb((const char *)text, len, 0, &jerr);
    free(text);
    list = root ? json_object_get(root, "systems") : NULL;
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > GW_SINK_MAX_SYSTEMS)
        die("--systems %s: expected {\"systems\":[...]} with 1 to 64 systems", path);
    json_array_foreach(list, i, item)
    {
        struct gw_sink_system *sys = &out->sys[out->n++];
        const char *id = json_string_value(json_object_get(item, "systemid"));
        json_t *sec = json_object_get(item, "secret");
        if (!sec)
            sec = json_object_get(item, "secret_b64"); /* the older name of the same text */
        if (!id || !*id || strlen(id) > GW_SINK_MAX_ID || !json_is_string(sec) ||
            json_string_length(sec) == 0 || json_string_length(sec) > GW_SINK_MAX_SECRET)
            die("--systems %s: each system needs a systemid and a non-empty secret", path);
        snprintf(sys->id, sizeof(sys->id), "%s", id);
        sys->secret_len = json_string_length(sec);
        memcpy(sys->secret, json_string_value(sec), sys->secret_len);
    }
    json_decref(root);
}

static void write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        die("--port-file too long: %s", path);
    if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0)
        die("cannot write --port-file %s", path);
}

static void on_drained(void *ud)
{
    struct sink *s = ud;
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct sink *s = h->data;
    (void)signum;
    uv_signal_stop(&s->sigterm);
    uv_signal_stop(&s->sigint);
    fprintf(
        stderr,
        "axis_sink: sendEdoc %llu (ok %llu, refused %llu), lists %llu, agencies %llu, "
        "refused %llu (signature %llu)\n",
        (unsigned long long)s->requests[GW_SINK_SEND], (unsigned long long)s->send_ok,
        (unsigned long long)s->send_fail, (unsigned long long)s->requests[GW_SINK_RECEIVED_LIST],
        (unsigned long long)(s->requests[GW_SINK_AGENCIES] + s->requests[GW_SINK_AGENCIES_QD20]),
        (unsigned long long)s->protocol_fail, (unsigned long long)s->auth_fail);
    gw_http_server_shutdown(s->srv, on_drained, s);
    gw_http_server_close_all(s->srv);
}

int main(int argc, char **argv)
{
    static struct sink s;
    const char *spec = NULL, *port_file = NULL;
    struct gw_tls_listener tls = {.client_auth = GW_TLS_CLIENT_NONE};
    struct gw_http_limits lim;
    int port = 0;
    char *end;
    uv_loop_t loop;

    gw_http_limits_default(&lim);
    lim.max_body_bytes = MAX_BODY_DEFAULT;
    lim.max_header_bytes = 64 * 1024;
    lim.idle_timeout_ms = 300000; /* as the simulator */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        if (strcmp(a, "--systems") == 0)
            spec = v;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--tls-cert") == 0)
            tls.cert_file = v;
        else if (strcmp(a, "--tls-key") == 0)
            tls.key_file = v;
        else if (strcmp(a, "--port") == 0) {
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535)
                die("bad --port %s", v);
            port = (int)p;
        } else if (strcmp(a, "--max-body-bytes") == 0) {
            unsigned long long b = strtoull(v, &end, 10);
            if (*end || b < 1024 || b > MAX_BODY_CAP)
                die("bad --max-body-bytes %s (1024 to 1 GiB)", v);
            lim.max_body_bytes = (size_t)b;
        } else
            die("unknown argument %s", a);
        i++;
    }
    if (!spec || !tls.cert_file != !tls.key_file)
        die("%s", "usage: axis_sink --systems SPEC.json [--port N] [--port-file PATH] "
                  "[--max-body-bytes N] [--tls-cert PEM --tls-key PEM]");
    load_systems(&s.systems, spec);
    if (RAND_bytes(s.id_prefix, sizeof(s.id_prefix)) != 1)
        die("%s", "no random bytes");
    xmlInitParser();
    gw_log_set_level(GW_LOG_WARN);
    if (uv_loop_init(&loop) != 0)
        die("%s", "uv_loop_init failed");
    if (gw_http_server_start(&loop, "127.0.0.1", port, &lim, on_request, &s, &s.srv) != 0)
        die("%s", "cannot listen on 127.0.0.1 (port taken?)");
    if (tls.cert_file) {
        struct gw_http_tls_ctx *ctx;
        char err[256];
        if (gw_http_tls_ctx_new(&tls, &ctx, err, sizeof(err)) != 0)
            die("TLS: %s", err);
        gw_http_server_set_tls(s.srv, ctx, NULL);
    }
    uv_signal_init(&loop, &s.sigterm);
    uv_signal_init(&loop, &s.sigint);
    s.sigterm.data = s.sigint.data = &s;
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    port = gw_http_server_port(s.srv);
    if (port_file)
        write_port_file(port_file, port);
    printf("axis_sink listening on %s://127.0.0.1:%d (%zu systems)\n",
           tls.cert_file ? "https" : "http", port, s.systems.n);
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    xmlCleanupParser();
    return 0;
}
