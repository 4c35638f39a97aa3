/*
 * What the benchmark's axis sink checks of a national-axis call before it answers: the verifier
 * of tests/sim/axis_sim.py, check for check and ErrorCode for ErrorCode, written over the
 * gateway's parsed HTTP request (signed headers, HMAC-SHA256 with OpenSSL, sign-header parsed
 * with jansson in member order, hash-file, body shape) and the edXML recipients read with
 * libxml2. Every peer-controlled value is bounded before it is copied.
 */
#include "axis_sink_check.h"

#include <ctype.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define NS         "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define PREFIX_LEN (sizeof(GW_SINK_PREFIX) - 1)
#define MAX_RCPT   1000

enum body_kind { BODY_EDXML, BODY_BRACES, BODY_EMPTY };

static const struct {
    const char *name;
    const char *keys[5]; /* signed besides systemid, timestamp, Content-Type; NULL-terminated */
    enum body_kind body;
} ops[GW_SINK_N_OPS] = {
    [GW_SINK_SEND] = {"sendEdoc", {"from", "servicetype", "messagetype", "hash-file"}, BODY_EDXML},
    [GW_SINK_RECEIVED_LIST] = {"getReceivedEdocList", {"servicetype", "messagetype"}, BODY_EMPTY},
    [GW_SINK_GET_EDOC] = {"getEdoc", {"docId"}, BODY_BRACES},
    [GW_SINK_UPDATE_STATUS] = {"updateStatus", {"docId", "status"}, BODY_BRACES},
    [GW_SINK_SENT_LIST] = {"getSentEdocList", {"servicetype", "messagetype", "docId"}, BODY_EMPTY},
    [GW_SINK_AGENCIES] = {"getAgenciesList", {NULL}, BODY_EMPTY},
    [GW_SINK_AGENCIES_QD20] = {"getAgenciesListQD20", {"level"}, BODY_EMPTY},
};

static const char *const required[] = {"systemid",    "timestamp",       "version",
                                       "sign-header", "sign-header-key", "hash-header"};
static const char *const signed_always[] = {"systemid", "timestamp", "Content-Type"};

int gw_sink_op_find(const char *name, size_t len)
{
    for (int i = 0; i < GW_SINK_N_OPS; i++)
        if (strlen(ops[i].name) == len && memcmp(ops[i].name, name, len) == 0)
            return i;
    return -1;
}

const char *gw_sink_op_name(enum gw_sink_op op)
{
    return ops[op].name;
}

static int fail_with(struct gw_sink_fail *f, const char *code, bool auth, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_with(struct gw_sink_fail *f, const char *code, bool auth, const char *fmt, ...)
{
    va_list ap;

    snprintf(f->code, sizeof(f->code), "%s", code);
    f->auth = auth;
    va_start(ap, fmt);
    vsnprintf(f->desc, sizeof(f->desc), fmt, ap);
    va_end(ap);
    return -1;
}

/* The header XroadVnpt-<key> (the first of that name, trimmed by the HTTP parser), or NULL. */
static const char *xhdr(const struct gw_http_req *req, const char *key)
{
    char name[128];

    if (snprintf(name, sizeof(name), GW_SINK_PREFIX "%s", key) >= (int)sizeof(name))
        return NULL;
    return gw_http_req_header(req, name);
}

const char *gw_sink_signed_get(const struct gw_sink_signed *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0)
            return s->value[i];
    return NULL;
}

static bool hmac_matches(const struct gw_sink_system *sys, const char *msg, const char *given)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (!HMAC(EVP_sha256(), sys->secret, (int)sys->secret_len, (const uint8_t *)msg, strlen(msg),
              md, &mdlen))
        return false;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return strlen(given) == 2 * (size_t)mdlen && CRYPTO_memcmp(hex, given, 2 * (size_t)mdlen) == 0;
}

/* sign-header: a flat JSON object of strings, members XroadVnpt-<k>, in order, into *out. */
static int parse_signed(const char *text, struct gw_sink_signed *out, struct gw_sink_fail *fail)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    const char *name;
    json_t *v;
    int rc = 0;

    out->n = 0;
    if (!root)
        return fail_with(fail, "402", true, "sign-header is not valid JSON: %.120s", jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail_with(fail, "402", true, "sign-header is not a JSON object");
    }
    json_object_foreach(root, name, v)
    {
        size_t klen;
        if (strlen(name) <= PREFIX_LEN || strncmp(name, GW_SINK_PREFIX, PREFIX_LEN) != 0) {
            rc = fail_with(fail, "402", true, "sign-header member '%.80s' is not named %s<key>",
                           name, GW_SINK_PREFIX);
            break;
        }
        if (!json_is_string(v)) {
            rc = fail_with(fail, "402", true, "sign-header member %.80s is not a string", name);
            break;
        }
        klen = strlen(name) - PREFIX_LEN;
        if (out->n == GW_SINK_MAX_PAIRS || klen >= sizeof(out->key[0]) ||
            json_string_length(v) > GW_SINK_MAX_VALUE) {
            rc = fail_with(fail, "402", true, "sign-header has more or longer members than %d",
                           GW_SINK_MAX_PAIRS);
            break;
        }
        memcpy(out->key[out->n], name + PREFIX_LEN, klen + 1);
        memcpy(out->value[out->n], json_string_value(v), json_string_length(v) + 1);
        out->n++;
    }
    json_decref(root);
    return rc;
}

static bool timestamp_ok(const char *t)
{
    static const char shape[] = "99999999T999999+9999";

    if (strlen(t) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == '9' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i])
            return false;
    return true;
}

/* axis_sim.py verify_signature, in its order. */
static int check_signature(const struct gw_sink_systems *systems, const struct gw_http_req *req,
                           enum gw_sink_op op, struct gw_sink_signed *s,
                           const struct gw_sink_system **sys_out, struct gw_sink_fail *fail)
{
    char missing[256] = "";
    const struct gw_sink_system *sys = NULL;
    const char *sid, *listed, *plain, *ts, *from;
    char keys[GW_SINK_MAX_PAIRS * 65] = "";
    size_t at = 0;

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = xhdr(req, required[i]);
        if (!v || !*v)
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s%s",
                     missing[0] ? ", " : "", GW_SINK_PREFIX, required[i]);
    }
    if (missing[0])
        return fail_with(fail, "400", true, "missing header(s): %s", missing);
    sid = xhdr(req, "systemid");
    for (size_t i = 0; i < systems->n && !sys; i++)
        if (strcmp(systems->sys[i].id, sid) == 0)
            sys = &systems->sys[i];
    if (!sys)
        return fail_with(fail, "404", true, "systemid %.100s is not registered", sid);
    if (!hmac_matches(sys, xhdr(req, "sign-header"), xhdr(req, "hash-header")))
        return fail_with(fail, "401", true, "hash-header does not match");
    if (parse_signed(xhdr(req, "sign-header"), s, fail) != 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        at += (size_t)snprintf(keys + at, sizeof(keys) - at, "%s%s", i ? ";" : "", s->key[i]);
    listed = xhdr(req, "sign-header-key");
    if (strcmp(listed, keys) != 0)
        return fail_with(fail, "402", true,
                         "sign-header-key '%.100s' does not list the sign-header members '%.100s'",
                         listed, keys);
    for (size_t i = 0; i < s->n; i++) {
        const char *actual = xhdr(req, s->key[i]);
        if (!actual || strcmp(actual, s->value[i]) != 0)
            return fail_with(fail, "402", true, "sign-header %s%.60s differs from its header",
                             GW_SINK_PREFIX, s->key[i]);
    }
    if (gw_sink_signed_get(s, "Content-Type")) {
        plain = gw_http_req_header(req, "content-type");
        if (!plain || strcmp(plain, gw_sink_signed_get(s, "Content-Type")) != 0)
            return fail_with(fail, "402", true,
                             "sign-header " GW_SINK_PREFIX
                             "Content-Type differs from Content-Type");
    }
    if (gw_sink_signed_get(s, "docid") && !gw_sink_signed_get(s, "docId")) {
        if (s->n == GW_SINK_MAX_PAIRS) /* the alias needs a slot: the bound, as above */
            return fail_with(fail, "402", true, "sign-header has more members than %d",
                             GW_SINK_MAX_PAIRS - 1);
        strcpy(s->key[s->n], "docId"); /* some clients spell it docid; the axis takes both */
        strcpy(s->value[s->n], gw_sink_signed_get(s, "docid"));
        s->n++;
    }
    for (size_t i = 0; i < 3 + 5; i++) {
        const char *k = i < 3 ? signed_always[i] : ops[op].keys[i - 3];
        if (!k)
            break;
        if (!gw_sink_signed_get(s, k))
            return fail_with(fail, "402", true, "sign-header lacks %s%s", GW_SINK_PREFIX, k);
    }
    ts = gw_sink_signed_get(s, "timestamp");
    if (!timestamp_ok(ts))
        return fail_with(fail, "405", true, "timestamp '%.40s' is not ddMMyyyy'T'HHmmss+SSSS", ts);
    from = gw_sink_signed_get(s, "from");
    if (from && strcmp(from, sid) != 0)
        return fail_with(fail, "403", true,
                         "Don vi gui %.100s khong dung voi ma da dang ky: %.100s", from, sid);
    *sys_out = sys;
    return 0;
}

void gw_sink_hash_file_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    size_t at = 0;

    SHA256(data, len, md);
    for (size_t i = 0; i < sizeof(md); i++)
        at += (size_t)snprintf(out + at, 65 - at, "%x", md[i]);
}

/* axis_sim.py verify_call: the Content-Type and body the call must have. */
static int check_body(const struct gw_http_req *req, enum gw_sink_op op,
                      const struct gw_sink_signed *s, struct gw_sink_fail *fail)
{
    const char *want = op == GW_SINK_SEND ? "application/octet-stream" : "application/json";
    const char *ct = gw_sink_signed_get(s, "Content-Type");
    const uint8_t *b = req->body;
    size_t n = req->body ? req->body_len : 0;
    char hash[65];

    if (strcmp(ct, want) != 0)
        return fail_with(fail, "400", false, "Content-Type must be %s for %s, got '%.60s'", want,
                         ops[op].name, ct);
    switch (ops[op].body) {
    case BODY_EDXML:
        if (n < 2 || b[n - 2] != '\r' || b[n - 1] != '\n')
            return fail_with(fail, "400", false,
                             "sendEdoc body must be the edXML followed by CRLF");
        gw_sink_hash_file_hex(b, n - 2, hash);
        if (strcmp(gw_sink_signed_get(s, "hash-file"), hash) != 0)
            return fail_with(fail, "23", false, "hash-file does not match the file");
        break;
    case BODY_BRACES:
        if (n != 2 || b[0] != '{' || b[1] != '}')
            return fail_with(fail, "400", false, "%s body must be {}, got %zu bytes", ops[op].name,
                             n);
        break;
    case BODY_EMPTY:
        if (n != 0)
            return fail_with(fail, "400", false, "%s body must be empty, got %zu bytes",
                             ops[op].name, n);
        break;
    }
    return 0;
}

int gw_sink_check_call(const struct gw_sink_systems *systems, const struct gw_http_req *req,
                       enum gw_sink_op op, struct gw_sink_signed *out,
                       const struct gw_sink_system **sys, struct gw_sink_fail *fail)
{
    if (check_signature(systems, req, op, out, sys, fail) != 0)
        return -1;
    return check_body(req, op, out, fail);
}

/* ---- edXML recipients ---------------------------------------------------------------------- */

static bool is_el(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, NS) == 0 && strcmp((const char *)n->name, local) == 0;
}

/* The first child element of parent named {NS}local (ElementTree's find), or NULL. */
static xmlNode *child(const xmlNode *parent, const char *local)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (is_el(c, local))
            return c;
    return NULL;
}

/* The element's text before its first child element, without surrounding blanks, into buf. */
static void text_of(const xmlNode *el, char *buf, size_t cap)
{
    size_t n = 0, start = 0;

    for (const xmlNode *c = el->children; c && c->type != XML_ELEMENT_NODE; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        for (const char *p = (const char *)c->content; *p && n + 1 < cap; p++)
            buf[n++] = *p;
    }
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    while (isspace((unsigned char)buf[start]))
        start++;
    memmove(buf, buf + start, n - start + 1);
}

int gw_sink_inspect_package(const uint8_t *xml, size_t len, bool status, struct gw_sink_fail *fail)
{
    static char seen[MAX_RCPT][64];
    const char *group = status ? "ResponseFor" : "To";
    xmlDoc *doc;
    xmlNode *root, *env, *mh;
    int n = 0, rc = 0;

    if (len > INT_MAX)
        return fail_with(fail, "22", false, "edXML larger than the parser takes");
    doc = xmlReadMemory((const char *)xml, (int)len, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        return fail_with(fail, "22", false, "edXML is not well-formed: %.120s",
                         e && e->message ? e->message : "parse error");
    }
    root = xmlDocGetRootElement(doc);
    if (!is_el(root, "edXML") && !is_el(root, "edXMLEnvelope")) {
        rc = fail_with(fail, "22", false, "root element is not {%s}edXML", NS);
        goto out;
    }
    env = is_el(root, "edXML") ? child(root, "edXMLEnvelope") : root;
    mh = child(child(env, "edXMLHeader"), "MessageHeader");
    if (!mh) {
        rc = fail_with(fail, "22", false, "no edXMLEnvelope/edXMLHeader/MessageHeader in " NS);
        goto out;
    }
    for (xmlNode *g = mh->children; g; g = g->next) {
        if (!is_el(g, group))
            continue;
        for (xmlNode *o = g->children; o; o = o->next) {
            char id[64];
            bool dup = false;
            if (!is_el(o, "OrganId"))
                continue;
            text_of(o, id, sizeof(id));
            for (int i = 0; i < n && !dup; i++)
                dup = strcmp(seen[i], id) == 0;
            if (!id[0] || dup)
                continue;
            if (n == MAX_RCPT) {
                rc = fail_with(fail, "22", false, "more than %d recipients", MAX_RCPT);
                goto out;
            }
            memcpy(seen[n++], id, sizeof(id));
        }
    }
    if (n == 0)
        rc = fail_with(fail, "22", false, "no recipient: MessageHeader/%s/OrganId missing or empty",
                       group);
out:
    xmlFreeDoc(doc);
    return rc != 0 ? rc : n;
}
