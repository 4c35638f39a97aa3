/*
 * Incremental JSON scanner for the national axis's large answers (vxp_scan.h): a byte-driven
 * state machine over one JSON text that validates its grammar and routes the strings of the
 * top-level members "data", "status", "ErrorCode" and "ErrorDesc". The data string is handed on in
 * runs that point into the input (no copy); every escape (\" \\ \/ \b \f \n \r \t \uXXXX with
 * surrogate pairs) is decoded, so the bytes are exactly the JSON string's value.
 */
#include "vxp_scan.h"

#include <string.h>

#include "util/error.h"

enum {
    S_START, /* before the top-level '{' */
    S_OBJ_FIRST,
    S_OBJ_KEY,
    S_COLON,
    S_VALUE,
    S_ARR_FIRST,
    S_AFTER,
    S_STR,
    S_ESC,
    S_UHEX,
    S_NUM,
    S_LIT,
    S_END,
};

enum { M_OTHER, M_DATA, M_STATUS, M_CODE, M_DESC };

void gw_vxp_scan_init(struct gw_vxp_scan *s)
{
    memset(s, 0, sizeof(*s));
    s->state = S_START;
}

static int gw_scan_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The member (at the top level) whose value starts now. */
static int gw_scan_top_value(const struct gw_vxp_scan *s)
{
    return s->depth == 1 && !s->in_key ? s->member : M_OTHER;
}

/* Appends to a capture buffer, keeping at most cap - 1 bytes. */
static void gw_scan_keep(struct gw_vxp_scan *s, char *buf, size_t cap, const char *p, size_t n)
{
    size_t room = cap - 1 - s->cap_len;
    if (n > room) {
        n = room;
        s->cap_over = 1;
    }
    memcpy(buf + s->cap_len, p, n);
    s->cap_len += n;
    buf[s->cap_len] = '\0';
}

/* Bytes of the string being read (already un-escaped). */
static int gw_scan_emit(struct gw_vxp_scan *s, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (s->in_key) {
        if (s->depth == 1)
            gw_scan_keep(s, s->key, sizeof(s->key), p, n);
        return 0;
    }
    switch (gw_scan_top_value(s)) {
    case M_DATA:
        return s->data(s->ud, p, n);
    case M_STATUS:
        gw_scan_keep(s, s->status, sizeof(s->status), p, n);
        return 0;
    case M_CODE:
        gw_scan_keep(s, s->code, sizeof(s->code), p, n);
        return 0;
    case M_DESC:
        gw_scan_keep(s, s->desc, sizeof(s->desc), p, n);
        return 0;
    default:
        return 0;
    }
}

static int gw_scan_emit_cp(struct gw_vxp_scan *s, uint32_t cp)
{
    char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return gw_scan_emit(s, b, n);
}

/* A value is complete: back to its container (or the end of the text). */
static void gw_scan_value_done(struct gw_vxp_scan *s)
{
    if (s->depth == 1)
        s->member = M_OTHER;
    s->state = s->depth == 0 ? S_END : S_AFTER;
}

/* A value starts (first character c, already known to start one). */
static int gw_scan_value_start(struct gw_vxp_scan *s, unsigned char c)
{
    int m = s->depth == 1 ? s->member : M_OTHER;

    if (m == M_DATA && s->data_kind)
        return GW_ECONFLICT; /* a second data member: the first one was streamed already */
    if (c == '"') {
        s->state = S_STR;
        s->in_key = 0;
        s->cap_len = 0;
        s->cap_over = 0;
        if (m == M_DATA)
            s->data_kind = 1;
        else if (m == M_STATUS)
            s->status[0] = '\0';
        else if (m == M_CODE)
            s->code[0] = '\0';
        else if (m == M_DESC)
            s->desc[0] = '\0';
        return 0;
    }
    if (m == M_DATA)
        s->data_kind = 2;
    else if (m == M_STATUS)
        s->has_status = 0; /* a later non-string value replaces an earlier string */
    else if (m == M_CODE)
        s->code_kind = 0;
    else if (m == M_DESC)
        s->has_desc = 0;
    if (c == '{' || c == '[') {
        if (s->depth >= GW_VXP_SCAN_DEPTH)
            return GW_EPARSE;
        if (c == '[')
            s->arrays |= (uint64_t)1 << s->depth;
        else
            s->arrays &= ~((uint64_t)1 << s->depth);
        s->depth++;
        s->state = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        s->state = S_NUM;
    } else if (c >= 'a' && c <= 'z') {
        s->state = S_LIT;
    } else {
        return GW_EPARSE;
    }
    s->tok[0] = (char)c;
    s->tok_len = 1;
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int gw_scan_number_ok(const char *t, size_t n)
{
    size_t i = 0, d;

    if (i < n && t[i] == '-')
        i++;
    if (i < n && t[i] == '0') {
        i++;
    } else {
        for (d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++, d++) {
        }
        if (d == 0)
            return 0;
    }
    if (i < n && t[i] == '.') {
        for (i++, d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++, d++) {
        }
        if (d == 0)
            return 0;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        for (d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++, d++) {
        }
        if (d == 0)
            return 0;
    }
    return i == n;
}

/* The number or literal in tok has ended (the next character is not part of it). */
static int gw_scan_token_done(struct gw_vxp_scan *s)
{
    int m = s->depth == 1 ? s->member : M_OTHER;

    if (s->state == S_NUM) {
        if (!gw_scan_number_ok(s->tok, s->tok_len))
            return GW_EPARSE;
        if (m == M_CODE) {
            memcpy(s->code, s->tok,
                   s->tok_len < sizeof(s->code) ? s->tok_len : sizeof(s->code) - 1);
            s->code[s->tok_len < sizeof(s->code) ? s->tok_len : sizeof(s->code) - 1] = '\0';
            s->code_kind = 2;
        }
    } else {
        s->tok[s->tok_len] = '\0';
        if (strcmp(s->tok, "true") != 0 && strcmp(s->tok, "false") != 0 &&
            strcmp(s->tok, "null") != 0)
            return GW_EPARSE;
    }
    gw_scan_value_done(s);
    return 0;
}

/* The closing quote of a string. */
static void gw_scan_string_done(struct gw_vxp_scan *s)
{
    if (s->in_key) {
        s->in_key = 0;
        s->state = S_COLON;
        if (s->depth != 1)
            return;
        s->member = M_OTHER;
        if (!s->cap_over) {
            if (strcmp(s->key, "data") == 0)
                s->member = M_DATA;
            else if (strcmp(s->key, "status") == 0)
                s->member = M_STATUS;
            else if (strcmp(s->key, "ErrorCode") == 0)
                s->member = M_CODE;
            else if (strcmp(s->key, "ErrorDesc") == 0)
                s->member = M_DESC;
        }
        return;
    }
    switch (gw_scan_top_value(s)) {
    case M_STATUS:
        s->has_status = 1;
        if (s->cap_over)
            s->status[0] = '\0'; /* too long to be OK or FAIL */
        break;
    case M_CODE:
        s->code_kind = 1;
        break;
    case M_DESC:
        s->has_desc = 1;
        s->desc_len = s->cap_len;
        break;
    default:
        break;
    }
    gw_scan_value_done(s);
}

static int gw_scan_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One \uXXXX escape is complete. */
static int gw_scan_unicode(struct gw_vxp_scan *s)
{
    uint32_t cp = s->u;

    s->state = S_STR;
    if (s->hi) {
        if (cp < 0xdc00 || cp > 0xdfff)
            return GW_EPARSE;
        cp = 0x10000 + ((s->hi - 0xd800) << 10) + (cp - 0xdc00);
        s->hi = 0;
        return gw_scan_emit_cp(s, cp);
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        s->hi = cp; /* the low half must follow at once */
        return 0;
    }
    if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0)
        return GW_EPARSE; /* a lone low surrogate; NUL (refused as jansson does) */
    return gw_scan_emit_cp(s, cp);
}

static int gw_scan_escape(struct gw_vxp_scan *s, unsigned char c)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *k;

    if (s->hi && c != 'u')
        return GW_EPARSE;
    if (c == 'u') {
        s->state = S_UHEX;
        s->u = 0;
        s->u_n = 0;
        return 0;
    }
    if (c == '\0' || !(k = strchr(from, c)))
        return GW_EPARSE;
    s->state = S_STR;
    return gw_scan_emit(s, &to[k - from], 1);
}

/* Structural characters outside strings, numbers and literals. */
static int gw_scan_struct(struct gw_vxp_scan *s, unsigned char c)
{
    if (gw_scan_ws(c))
        return 0;
    switch (s->state) {
    case S_START:
        if (c != '{')
            return GW_EPARSE;
        return gw_scan_value_start(s, c);
    case S_OBJ_FIRST:
    case S_OBJ_KEY:
        if (c == '}' && s->state == S_OBJ_FIRST) {
            s->depth--;
            gw_scan_value_done(s);
            return 0;
        }
        if (c != '"')
            return GW_EPARSE;
        s->state = S_STR;
        s->in_key = 1;
        s->key[0] = '\0';
        s->cap_len = 0;
        s->cap_over = 0;
        return 0;
    case S_COLON:
        if (c != ':')
            return GW_EPARSE;
        s->state = S_VALUE;
        return 0;
    case S_ARR_FIRST:
        if (c == ']') {
            s->depth--;
            gw_scan_value_done(s);
            return 0;
        }
        return gw_scan_value_start(s, c);
    case S_VALUE:
        return gw_scan_value_start(s, c);
    case S_AFTER: {
        int is_array = (s->arrays >> (s->depth - 1)) & 1;
        if (c == ',') {
            s->state = is_array ? S_VALUE : S_OBJ_KEY;
            return 0;
        }
        if ((c == ']' && is_array) || (c == '}' && !is_array)) {
            s->depth--;
            gw_scan_value_done(s);
            return 0;
        }
        return GW_EPARSE;
    }
    default: /* S_END: only white space after the object */
        return GW_EPARSE;
    }
}

int gw_vxp_scan_feed(struct gw_vxp_scan *s, const char *p, size_t n)
{
    size_t i = 0;
    int rc;

    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        switch (s->state) {
        case S_STR: {
            size_t j = i;
            while (j < n && p[j] != '"' && p[j] != '\\' && (unsigned char)p[j] >= 0x20)
                j++;
            if (j > i) {
                if (s->hi)
                    return GW_EPARSE; /* a high surrogate not followed by its low half */
                if ((rc = gw_scan_emit(s, p + i, j - i)) != 0)
                    return rc;
                i = j;
                continue;
            }
            i++;
            if (c == '"') {
                if (s->hi)
                    return GW_EPARSE;
                gw_scan_string_done(s);
            } else if (c == '\\') {
                s->state = S_ESC;
            } else {
                return GW_EPARSE; /* a raw control character */
            }
            continue;
        }
        case S_ESC:
            i++;
            if ((rc = gw_scan_escape(s, c)) != 0)
                return rc;
            continue;
        case S_UHEX: {
            int h = gw_scan_hex(c);
            i++;
            if (h < 0)
                return GW_EPARSE;
            s->u = s->u << 4 | (uint32_t)h;
            if (++s->u_n == 4 && (rc = gw_scan_unicode(s)) != 0)
                return rc;
            continue;
        }
        case S_NUM:
        case S_LIT:
            if ((s->state == S_NUM && ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
                                       c == 'e' || c == 'E')) ||
                (s->state == S_LIT && c >= 'a' && c <= 'z')) {
                if (s->tok_len >= (s->state == S_NUM ? 64u : 5u))
                    return GW_EPARSE;
                s->tok[s->tok_len++] = (char)c;
                i++;
                continue;
            }
            if ((rc = gw_scan_token_done(s)) != 0)
                return rc;
            continue; /* c is read again in the new state */
        default:
            i++;
            if ((rc = gw_scan_struct(s, c)) != 0)
                return rc;
        }
    }
    return 0;
}

int gw_vxp_scan_end(const struct gw_vxp_scan *s)
{
    return s->state == S_END ? 0 : GW_EPARSE;
}
