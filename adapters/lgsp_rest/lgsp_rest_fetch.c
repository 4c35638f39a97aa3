/*
 * The getEdoc answer, streamed: each piece of the JSON body goes through an incremental scanner
 * that checks the whole text is one JSON object (nesting at most GW_LR_FX_DEPTH), keeps the
 * envelope's members (success, message, errorCode, errorDesc, at the top level or in data), and
 * hands the unescaped bytes of data.edxml on as they arrive. The first of those bytes after an
 * optional BOM and whitespace decides: '<' is raw text (the bytes, BOM and blanks included, are
 * the package), anything else base64, decoded incrementally (whitespace ignored). The decoded
 * bytes of each piece go to the caller's sink in one write; a sink that pauses pauses the HTTP
 * transfer. The verdict is taken at the end, whatever the member order: a failure after the data
 * tells the caller to discard what its sink got. Memory: this struct and one piece's output,
 * whatever the size of the answer. Runs on the loop, piece by piece (at most 16 KiB each, a few
 * microseconds of work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lgsp_rest_internal.h"
#include "util/error.h"

#define GW_LR_FX_DEPTH  64
#define GW_LR_FX_PREFIX 4096 /* BOM and blanks held before raw/base64 is known */

enum {
    FX_VALUE,
    FX_VALUE_OR_END,
    FX_KEY_OR_END,
    FX_KEY,
    FX_COLON,
    FX_AFTER,
    FX_STRING,
    FX_LITERAL,
    FX_END
};
enum { T_NONE, T_KEY, T_SUCCESS, T_STATUS, T_MESSAGE, T_CODE, T_DESC, T_EDXML };
enum { E_UNDECIDED, E_RAW, E_B64 };

struct gw_lr_fetch {
    struct gw_axis_download dl; /* the sink, its pauses, a non-2xx answer's text */
    size_t max, total;
    int err; /* a local abort: GW_E2BIG, GW_EPARSE, the sink's code, GW_ENOMEM */
    /* scanner */
    int state;
    unsigned depth;
    uint64_t arrays; /* bit i: level i + 1 is an array */
    bool in_data;    /* level 2 is the object that is the top-level "data" */
    int target;      /* what the string or literal being read is */
    int esc;         /* 0, 1 after '\\', 2..5 reading \\u digits */
    uint32_t u, hi;  /* \\u value, pending high surrogate */
    char key1[16], key2[16], key[16];
    size_t key_len;
    bool key_over;
    char tok[40];
    size_t tok_len;
    /* results */
    int success;    /* -1 absent (or null), 0 false, 1 true, -2 neither */
    char succ[8];   /* success given as text */
    char stat[8];   /* a status member (top level or in data) being read */
    bool says_fail; /* one of them is "fail" */
    char code[40];
    bool has_code;
    char desc[256], message[256];
    size_t cap_len;
    int edxml_seen; /* 0, 1, 2: twice */
    bool edxml_string;
    /* edxml */
    int enc;
    uint8_t prefix[GW_LR_FX_PREFIX];
    size_t prefix_len;
    uint32_t acc;
    unsigned bits, pad;
    bool b64_bad;
    uint8_t *out;
    size_t out_len, out_cap;
};

int gw_lr_fetch_new(struct gw_axis_sink *sink, size_t max, struct gw_lr_fetch **out)
{
    struct gw_lr_fetch *f;

    *out = NULL;
    if (!sink || !sink->write)
        return GW_EINVAL;
    if (!(f = calloc(1, sizeof(*f))))
        return GW_ENOMEM;
    gw_axis_download_init(&f->dl, sink);
    f->max = max;
    f->success = -1;
    *out = f;
    return 0;
}

void gw_lr_fetch_free(struct gw_lr_fetch *f)
{
    if (!f)
        return;
    free(f->out);
    gw_axis_download_free(&f->dl);
    free(f);
}

static int gw_lr_fx_emit(struct gw_lr_fetch *f, uint8_t b)
{
    if (f->total + f->out_len >= f->max)
        return f->err = GW_E2BIG;
    f->out[f->out_len++] = b;
    return 0;
}

static int gw_lr_fx_b64(struct gw_lr_fetch *f, uint8_t c)
{
    int v;

    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || f->b64_bad)
        return 0;
    if (c == '=') {
        f->pad++;
        return 0;
    }
    if (f->pad || (v = gw_lr_b64_val(c)) < 0) {
        f->b64_bad = true; /* reported at the end, after the envelope's own verdict */
        return 0;
    }
    f->acc = (f->acc << 6) | (uint32_t)v;
    f->bits += 6;
    if (f->bits >= 8) {
        f->bits -= 8;
        return gw_lr_fx_emit(f, (uint8_t)(f->acc >> f->bits));
    }
    return 0;
}

/* One unescaped byte of data.edxml. */
static int gw_lr_fx_edxml(struct gw_lr_fetch *f, uint8_t c)
{
    if (f->success == 0)
        return 0; /* a refusal already: nothing of it is the package */
    if (f->enc == E_RAW)
        return gw_lr_fx_emit(f, c);
    if (f->enc == E_B64)
        return gw_lr_fx_b64(f, c);
    bool bom = f->prefix_len < 3 && c == (uint8_t) "\xEF\xBB\xBF"[f->prefix_len] &&
               (f->prefix_len == 0 || f->prefix[0] == 0xEF);
    bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if ((bom || blank) && f->prefix_len < GW_LR_FX_PREFIX) {
        f->prefix[f->prefix_len++] = c;
        return 0;
    }
    f->enc = c == '<' ? E_RAW : E_B64;
    for (size_t i = 0; i < f->prefix_len; i++) {
        int rc = f->enc == E_RAW ? gw_lr_fx_emit(f, f->prefix[i]) : gw_lr_fx_b64(f, f->prefix[i]);
        if (rc)
            return rc;
    }
    f->prefix_len = 0;
    return f->enc == E_RAW ? gw_lr_fx_emit(f, c) : gw_lr_fx_b64(f, c);
}

/* One unescaped byte of the string being read. */
static int gw_lr_fx_char(struct gw_lr_fetch *f, uint8_t c)
{
    char *dst = NULL;
    size_t cap = 0;

    switch (f->target) {
    case T_EDXML:
        return gw_lr_fx_edxml(f, c);
    case T_KEY:
        if (f->key_len + 1 < sizeof(f->key))
            f->key[f->key_len++] = (char)c;
        else
            f->key_over = true;
        return 0;
    case T_MESSAGE:
        dst = f->message, cap = sizeof(f->message);
        break;
    case T_DESC:
        dst = f->desc, cap = sizeof(f->desc);
        break;
    case T_CODE:
        dst = f->code, cap = sizeof(f->code);
        break;
    case T_SUCCESS:
        dst = f->succ, cap = sizeof(f->succ);
        break;
    case T_STATUS:
        dst = f->stat, cap = sizeof(f->stat);
        break;
    default:
        return 0;
    }
    if (f->cap_len + 1 < cap) {
        dst[f->cap_len++] = (char)(c < 0x20 ? ' ' : c);
        dst[f->cap_len] = '\0';
    }
    return 0;
}

static int gw_lr_fx_utf8(struct gw_lr_fetch *f, uint32_t cp)
{
    uint8_t b[4];
    int n, rc;

    if (cp < 0x80)
        b[0] = (uint8_t)cp, n = 1;
    else if (cp < 0x800)
        b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)),
        b[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
    for (int i = 0; i < n; i++)
        if ((rc = gw_lr_fx_char(f, b[i])) != 0)
            return rc;
    return 0;
}

/* A lone high surrogate before anything else: U+FFFD (the text is not valid UTF-16). */
static int gw_lr_fx_flush_hi(struct gw_lr_fetch *f)
{
    if (!f->hi)
        return 0;
    f->hi = 0;
    return gw_lr_fx_utf8(f, 0xFFFD);
}

/* What a value starting now is, from where it stands. */
static int gw_lr_fx_target(const struct gw_lr_fetch *f)
{
    const char *k = f->depth == 1 ? f->key1 : f->key2;

    if (f->depth == 1 || (f->depth == 2 && f->in_data)) {
        if (f->depth == 1 && strcmp(k, "success") == 0)
            return T_SUCCESS;
        if (f->depth == 1 && strcmp(k, "message") == 0)
            return T_MESSAGE;
        if (strcmp(k, "status") == 0)
            return T_STATUS;
        if (strcmp(k, "errorCode") == 0)
            return T_CODE;
        if (strcmp(k, "errorDesc") == 0)
            return T_DESC;
        if (f->depth == 2 && strcmp(k, "edxml") == 0)
            return T_EDXML;
    }
    return T_NONE;
}

static bool gw_lr_fx_in_array(const struct gw_lr_fetch *f)
{
    return f->depth > 0 && (f->arrays >> (f->depth - 1)) & 1;
}

static void gw_lr_fx_value_end(struct gw_lr_fetch *f)
{
    f->state = f->depth == 0 ? FX_END : FX_AFTER;
}

static void gw_lr_fx_literal_end(struct gw_lr_fetch *f)
{
    f->tok[f->tok_len] = '\0';
    if (f->target == T_SUCCESS)
        f->success = gw_lr_success_text(f->tok, false);
    else if (f->target == T_CODE && strcmp(f->tok, "null") != 0) {
        snprintf(f->code, sizeof(f->code), "%s", f->tok);
        f->has_code = true;
    }
    gw_lr_fx_value_end(f);
}

static int gw_lr_fx_open(struct gw_lr_fetch *f, bool array)
{
    if (f->depth >= GW_LR_FX_DEPTH)
        return f->err = GW_EPARSE;
    if (f->depth == 0 && array)
        return f->err = GW_EPARSE; /* not an object */
    if (f->depth == 1 && !array && strcmp(f->key1, "data") == 0)
        f->in_data = true;
    f->depth++;
    if (array)
        f->arrays |= 1ull << (f->depth - 1);
    else
        f->arrays &= ~(1ull << (f->depth - 1));
    f->state = array ? FX_VALUE_OR_END : FX_KEY_OR_END;
    if (array)
        f->target = T_NONE;
    return 0;
}

static int gw_lr_fx_close(struct gw_lr_fetch *f, bool array)
{
    if (f->depth == 0 || gw_lr_fx_in_array(f) != array)
        return f->err = GW_EPARSE;
    if (f->depth == 2)
        f->in_data = false;
    f->depth--;
    gw_lr_fx_value_end(f);
    return 0;
}

static int gw_lr_fx_byte(struct gw_lr_fetch *f, uint8_t c)
{
    bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';

    switch (f->state) {
    case FX_STRING:
        if (f->esc == 1) {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *p = c ? strchr(from, c) : NULL;
            if (c == 'u') {
                f->esc = 2;
                f->u = 0;
                return 0;
            }
            if (!p)
                return f->err = GW_EPARSE;
            f->esc = 0;
            if (gw_lr_fx_flush_hi(f))
                return f->err;
            return gw_lr_fx_char(f, (uint8_t)to[p - from]);
        }
        if (f->esc >= 2) {
            int v = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
            if (v < 0)
                return f->err = GW_EPARSE;
            f->u = f->u << 4 | (uint32_t)v;
            if (++f->esc < 6)
                return 0;
            f->esc = 0;
            if (f->u >= 0xD800 && f->u < 0xDC00) {
                if (gw_lr_fx_flush_hi(f))
                    return f->err;
                f->hi = f->u;
                return 0;
            }
            if (f->u >= 0xDC00 && f->u < 0xE000) {
                uint32_t hi = f->hi;
                f->hi = 0;
                return gw_lr_fx_utf8(f, hi ? 0x10000 + ((hi - 0xD800) << 10) + (f->u - 0xDC00)
                                           : 0xFFFD);
            }
            if (gw_lr_fx_flush_hi(f))
                return f->err;
            return gw_lr_fx_utf8(f, f->u);
        }
        if (c == '\\') {
            f->esc = 1;
            return 0;
        }
        if (gw_lr_fx_flush_hi(f))
            return f->err;
        if (c == '"') {
            if (f->target == T_KEY) {
                f->key[f->key_len] = '\0';
                snprintf(f->depth == 1 ? f->key1 : f->key2, sizeof(f->key1), "%s",
                         f->key_over ? "" : f->key);
                f->state = FX_COLON;
                return 0;
            }
            if (f->target == T_CODE)
                f->has_code = true;
            if (f->target == T_STATUS && strcasecmp(f->stat, "fail") == 0)
                f->says_fail = true;
            if (f->target == T_SUCCESS) /* "true" / "false" taken, as gw_lr_envelope does */
                f->success = gw_lr_success_text(f->succ, true);
            gw_lr_fx_value_end(f);
            return 0;
        }
        if (c < 0x20)
            return f->err = GW_EPARSE;
        return gw_lr_fx_char(f, c);
    case FX_LITERAL:
        if (ws || c == ',' || c == '}' || c == ']') {
            if (f->tok_len == 0) /* a value missing: "x":} or [1,,] */
                return f->err = GW_EPARSE;
            gw_lr_fx_literal_end(f);
            return gw_lr_fx_byte(f, c);
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
              c == '.' || c == 'E'))
            return f->err = GW_EPARSE;
        if (f->tok_len + 1 < sizeof(f->tok))
            f->tok[f->tok_len++] = (char)c;
        return 0;
    default:
        break;
    }
    if (ws)
        return 0;
    switch (f->state) {
    case FX_VALUE_OR_END: /* just after '[': an empty array may close */
        if (c == ']')
            return gw_lr_fx_close(f, true);
        /* fall through */
    case FX_VALUE:
        if (f->depth >= 1 && !gw_lr_fx_in_array(f))
            f->target = gw_lr_fx_target(f);
        else
            f->target = T_NONE;
        if (c == '{' || c == '[')
            return gw_lr_fx_open(f, c == '[');
        if (f->depth == 0)
            return f->err = GW_EPARSE;
        if (c == '"') {
            f->state = FX_STRING;
            f->esc = 0;
            f->cap_len = 0;
            if (f->target == T_EDXML) {
                if (f->edxml_seen++)
                    f->target = T_NONE; /* a second one: refused at the end */
                else
                    f->edxml_string = true;
            }
            if (f->target == T_CODE)
                f->code[0] = '\0';
            if (f->target == T_SUCCESS)
                f->succ[0] = '\0';
            if (f->target == T_STATUS)
                f->stat[0] = '\0';
            return 0;
        }
        if (f->target == T_EDXML)
            f->edxml_seen++; /* not a string */
        f->state = FX_LITERAL;
        f->tok_len = 0;
        return gw_lr_fx_byte(f, c);
    case FX_KEY_OR_END:
        if (c == '}')
            return gw_lr_fx_close(f, false);
        /* fall through */
    case FX_KEY:
        if (c != '"')
            return f->err = GW_EPARSE;
        f->state = FX_STRING;
        f->target = T_KEY;
        f->esc = 0;
        f->key_len = 0;
        f->key_over = false;
        return 0;
    case FX_COLON:
        if (c != ':')
            return f->err = GW_EPARSE;
        f->state = FX_VALUE;
        return 0;
    case FX_AFTER:
        if (c == ',') {
            f->state = gw_lr_fx_in_array(f) ? FX_VALUE : FX_KEY;
            return 0;
        }
        if (c == '}' || c == ']')
            return gw_lr_fx_close(f, c == ']');
        return f->err = GW_EPARSE;
    default: /* FX_END: only blanks after the object */
        return f->err = GW_EPARSE;
    }
}

static int gw_lr_fx_write(void *ud, long status, const char *data, size_t n)
{
    struct gw_lr_fetch *f = ud;
    int rc;

    if (gw_axis_download_error_piece(&f->dl, status, data, n))
        return 0;
    if (n + GW_LR_FX_PREFIX + 8 > f->out_cap) { /* a piece unescapes to at most this */
        size_t cap = n + GW_LR_FX_PREFIX + 8;
        uint8_t *o = realloc(f->out, cap);
        if (!o)
            return f->err = GW_ENOMEM;
        f->out = o;
        f->out_cap = cap;
    }
    f->out_len = 0;
    for (size_t i = 0; i < n; i++)
        if (gw_lr_fx_byte(f, (uint8_t)data[i]) != 0)
            return f->err;
    f->total += f->out_len;
    rc = gw_axis_download_put(&f->dl, f->out, f->out_len);
    return rc < 0 ? (f->err = rc) : rc;
}

int gw_lr_fetch_feed(struct gw_lr_fetch *f, const char *data, size_t n)
{
    return gw_lr_fx_write(f, 200, data, n);
}

void gw_lr_fetch_sink(struct gw_lr_fetch *f, struct gw_httpc_sink *hs)
{
    *hs = (struct gw_httpc_sink){.write = gw_lr_fx_write, .ud = f};
}

void gw_lr_fetch_attach(struct gw_lr_fetch *f, struct gw_httpc_xfer *xfer)
{
    gw_axis_download_attach(&f->dl, xfer);
}

const char *gw_lr_fetch_errbody(const struct gw_lr_fetch *f, size_t *len)
{
    return gw_axis_download_errbody(&f->dl, len);
}

bool gw_lr_fetch_aborted(const struct gw_lr_fetch *f)
{
    return f->err != 0;
}

int gw_lr_fetch_verdict(struct gw_lr_fetch *f, char *detail, size_t detail_len)
{
    if (f->err == GW_E2BIG) {
        snprintf(detail, detail_len, "package exceeds %zu bytes", f->max);
        return GW_E2BIG;
    }
    if (f->err == GW_EPARSE || (f->err == 0 && f->state != FX_END)) {
        snprintf(detail, detail_len, "unparsable response: not one JSON object");
        return GW_EHTTP;
    }
    if (f->err != 0)
        return f->err; /* the sink's own code, or memory */
    if (f->success == -2) {
        snprintf(detail, detail_len, "response whose success is not a boolean");
        return GW_EHTTP;
    }
    if (f->success != 1) {
        /* the envelope's verdict, by the same rules as every other answer */
        json_t *env = json_object();
        json_t *data = json_object();
        int rc;
        if (!env || !data) {
            json_decref(env);
            json_decref(data);
            return GW_ENOMEM;
        }
        if (f->success == 0)
            json_object_set_new(env, "success", json_false());
        if (f->has_code)
            json_object_set_new(data, "errorCode", json_string(f->code));
        if (f->desc[0])
            json_object_set_new(data, "errorDesc", json_string(f->desc));
        if (f->message[0])
            json_object_set_new(env, "message", json_string(f->message));
        if (f->says_fail)
            json_object_set_new(env, "status", json_string("fail"));
        json_object_set_new(env, "data", data);
        rc = gw_lr_envelope(env, detail, detail_len);
        json_decref(env);
        if (rc != 0)
            return rc;
        /* no success member and no error code: data.edxml decides, as below */
    }
    if (f->edxml_seen > 1) {
        snprintf(detail, detail_len, "response with data.edxml twice");
        return GW_EAXIS;
    }
    if (!f->edxml_string || (f->enc == E_UNDECIDED && f->prefix_len == 0)) {
        snprintf(detail, detail_len, "response without data.edxml");
        return GW_EAXIS;
    }
    if (f->enc != E_RAW && (f->enc == E_UNDECIDED || f->b64_bad || f->bits >= 6 || f->pad > 2 ||
                            (f->acc & ((1u << f->bits) - 1)) != 0)) {
        snprintf(detail, detail_len, "data.edxml is neither XML text nor base64");
        return GW_EAXIS;
    }
    return 0;
}

bool gw_lr_fetch_paused(struct gw_lr_fetch *f, void (*resumed)(void *ud), void *ud)
{
    return gw_axis_download_paused(&f->dl, resumed, ud);
}
