/*
 * Structural pre-scan of an edXML package, run before libxml2 sees it: one linear pass over the
 * markup that enforces the fixed structural caps (attributes per element, attribute value length,
 * name length, namespace declarations in scope, nesting) and refuses a DOCTYPE and encodings whose
 * markup is not plain ASCII code units. libxml2's start-tag parsing is quadratic in the number of
 * attributes, so a hostile tag must be refused here, in time proportional to its size.
 */
#include <stdio.h>
#include <string.h>

#include "edxml/edxml.h"
#include "edxml/edxml_internal.h"
#include "util/common.h"
#include "util/error.h"

/* The input seen as a sequence of code units of 1, 2 or 4 bytes (UTF-8 and 8-bit encodings,
 * UTF-16, UCS-4); every markup character is ASCII, so a unit is compared to ASCII directly. */
struct scan {
    const unsigned char *p;
    size_t n;   /* units */
    unsigned w; /* bytes per unit */
    bool big;   /* big-endian units */
    size_t i;   /* current unit */
    unsigned depth;
    unsigned ns_in_scope;
    unsigned ns_at[GW_EDXML_MAX_DEPTH + 1]; /* namespace declarations opened at each depth */
    struct gw_edxml_scan_result *res;
};

static uint32_t unit(const struct scan *s, size_t i)
{
    const unsigned char *q = s->p + i * s->w;

    switch (s->w) {
    case 1:
        return q[0];
    case 2:
        return s->big ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
    default:
        return s->big ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                      : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
    }
}

/* Records a refusal (its stable code and a printf-style message) and evaluates to err. */
#define REFUSE(s, err, id, ...)                                                                    \
    (snprintf((s)->res->msg, sizeof((s)->res->msg), __VA_ARGS__), (s)->res->code = (id), (err))

static bool is_ws(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Ends a name: white space, '/', '>', '=', or a quote. */
static bool name_end(uint32_t c)
{
    return is_ws(c) || c == '/' || c == '>' || c == '=' || c == '"' || c == '\'' || c == '<';
}

/* True when the units at i spell the ASCII string lit. */
static bool looking_at(const struct scan *s, size_t i, const char *lit)
{
    size_t len = strlen(lit);

    if (i + len > s->n)
        return false;
    for (size_t k = 0; k < len; k++) {
        if (unit(s, i + k) != (unsigned char)lit[k])
            return false;
    }
    return true;
}

/* Moves past the first occurrence of lit at or after i; false when there is none. */
static bool skip_past(struct scan *s, const char *lit)
{
    uint32_t first = (unsigned char)lit[0];

    if (s->w == 1) { /* the common case, at memchr/memmem speed */
        const unsigned char *hit = memmem(s->p + s->i, s->n - s->i, lit, strlen(lit));
        if (!hit) {
            s->i = s->n;
            return false;
        }
        s->i = (size_t)(hit - s->p) + strlen(lit);
        return true;
    }
    for (; s->i < s->n; s->i++) {
        if (unit(s, s->i) == first && looking_at(s, s->i, lit)) {
            s->i += strlen(lit);
            return true;
        }
    }
    return false;
}

/* Length of the name at s->i (advanced past it). */
static size_t scan_name(struct scan *s)
{
    size_t start = s->i;

    while (s->i < s->n && !name_end(unit(s, s->i)))
        s->i++;
    return s->i - start;
}

static void skip_ws(struct scan *s)
{
    while (s->i < s->n && is_ws(unit(s, s->i)))
        s->i++;
}

/* True when the attribute name at [start, start + len) declares a namespace. */
static bool is_xmlns(const struct scan *s, size_t start, size_t len)
{
    return (len == 5 || (len > 6 && unit(s, start + 5) == ':')) && looking_at(s, start, "xmlns");
}

/* A start tag, s->i just after '<'. 1: stop scanning (malformed: libxml2 reports it), 0: go on,
 * <0: refused. */
static int scan_start_tag(struct scan *s)
{
    unsigned attrs = 0, ns = 0;
    size_t len = scan_name(s);

    if (len == 0)
        return 1;
    if (len > GW_EDXML_MAX_NAME)
        return REFUSE(s, GW_EPARSE, "name_too_long", "an element name is longer than %d characters",
                      GW_EDXML_MAX_NAME);
    for (;;) {
        size_t start, vstart;
        uint32_t c, q;

        skip_ws(s);
        if (s->i >= s->n)
            return 1;
        c = unit(s, s->i);
        if (c == '>' || c == '/') {
            bool empty = c == '/';
            if (empty && (s->i + 1 >= s->n || unit(s, s->i + 1) != '>'))
                return 1;
            s->i += empty ? 2 : 1;
            if (empty)
                break;
            if (s->depth >= GW_EDXML_MAX_DEPTH)
                return REFUSE(s, GW_EPARSE, "too_deep", "elements nested deeper than %d",
                              GW_EDXML_MAX_DEPTH);
            s->depth++;
            s->ns_at[s->depth] = ns;
            s->ns_in_scope += ns;
            return 0;
        }
        start = s->i;
        len = scan_name(s);
        if (len == 0)
            return 1;
        if (len > GW_EDXML_MAX_NAME)
            return REFUSE(s, GW_EPARSE, "name_too_long",
                          "an attribute name is longer than %d characters", GW_EDXML_MAX_NAME);
        if (++attrs > GW_EDXML_MAX_ATTRS)
            return REFUSE(s, GW_EPARSE, "too_many_attributes",
                          "an element carries more than %d attributes", GW_EDXML_MAX_ATTRS);
        if (is_xmlns(s, start, len)) {
            ns++;
            if (s->ns_in_scope + ns > GW_EDXML_MAX_NS)
                return REFUSE(s, GW_EPARSE, "too_many_namespaces",
                              "more than %d namespace declarations in scope", GW_EDXML_MAX_NS);
        }
        skip_ws(s);
        if (s->i >= s->n || unit(s, s->i) != '=')
            return 1;
        s->i++;
        skip_ws(s);
        if (s->i >= s->n)
            return 1;
        q = unit(s, s->i);
        if (q != '"' && q != '\'')
            return 1;
        vstart = ++s->i;
        if (s->w == 1) {
            const unsigned char *end = memchr(s->p + s->i, (int)q, s->n - s->i);
            size_t stop = end ? (size_t)(end - s->p) : s->n;
            if (memchr(s->p + s->i, '<', stop - s->i))
                return 1;
            s->i = stop;
        }
        while (s->i < s->n && (c = unit(s, s->i)) != q) {
            if (c == '<')
                return 1;
            s->i++;
        }
        if (s->i >= s->n)
            return 1;
        if (s->i - vstart > GW_EDXML_MAX_ATTR_VALUE)
            return REFUSE(s, GW_EPARSE, "attribute_too_long",
                          "an attribute value is longer than %d characters",
                          GW_EDXML_MAX_ATTR_VALUE);
        s->i++;
    }
    return 0; /* an empty element's declarations end with it */
}

/* An end tag, s->i just after "</". */
static int scan_end_tag(struct scan *s)
{
    size_t len = scan_name(s);

    if (len > GW_EDXML_MAX_NAME)
        return REFUSE(s, GW_EPARSE, "name_too_long", "an element name is longer than %d characters",
                      GW_EDXML_MAX_NAME);
    skip_ws(s);
    if (len == 0 || s->i >= s->n || unit(s, s->i) != '>' || s->depth == 0)
        return 1;
    s->i++;
    s->ns_in_scope -= s->ns_at[s->depth];
    s->depth--;
    return 0;
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool has_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (ascii_upper(*s) != *prefix)
            return false;
    }
    return true;
}

/* Encodings in which every ASCII character is one byte of the same value and no other character
 * uses such a byte, so the byte scan sees the markup libxml2 sees. */
static bool ascii_transparent(const char *enc)
{
    static const char *const ok[] = {"UTF-8",       "UTF8",     "US-ASCII",  "ASCII",
                                     "ISO-8859-",   "ISO8859-", "ISO_8859-", "LATIN",
                                     "WINDOWS-125", "CP125",    "VISCII"};

    for (size_t i = 0; i < GW_ARRAY_LEN(ok); i++) {
        if (has_prefix(enc, ok[i]))
            return true;
    }
    return false;
}

/* Encodings libxml2 may switch to from a 16- or 32-bit start: the same width, so the scan's
 * units stay what libxml2 reads. */
static bool wide_transparent(const char *enc)
{
    static const char *const ok[] = {"UTF-16", "UTF16", "UCS-2",         "UCS2",
                                     "UCS-4",  "UCS4",  "ISO-10646-UCS", "UTF-32"};

    for (size_t i = 0; i < GW_ARRAY_LEN(ok); i++) {
        if (has_prefix(enc, ok[i]))
            return true;
    }
    return false;
}

/* A declaration longer than this is refused: a real one is well under 100 characters, and one
 * padded past the scan's reach could declare an encoding the scan never saw. */
#define GW_SCAN_DECL_MAX 1024

/* Checks the encoding named in the XML declaration: libxml2 switches to it, so the scan must see
 * the document in the same units. Read up to the declaration's own end, in any width. */
static int check_declared_encoding(struct scan *s)
{
    char enc[48];
    size_t k = 0, j;
    uint32_t q, c;

    if (!looking_at(s, s->i, "<?xml"))
        return 0;
    for (j = s->i; j + 1 < s->n && j < s->i + GW_SCAN_DECL_MAX; j++) {
        if (unit(s, j) == '?' && unit(s, j + 1) == '>')
            return 0;
        if (!looking_at(s, j, "encoding"))
            continue;
        j += 8;
        while (j < s->n && (is_ws(unit(s, j)) || unit(s, j) == '='))
            j++;
        if (j >= s->n || ((q = unit(s, j)) != '"' && q != '\''))
            return 0;
        for (j++; j < s->n && (c = unit(s, j)) != q && k + 1 < sizeof(enc); j++)
            enc[k++] = c > 0x20 && c < 0x7f ? (char)c : '?';
        enc[k] = '\0';
        if (s->w == 1 ? !ascii_transparent(enc) : !wide_transparent(enc))
            return REFUSE(s, GW_EPARSE, "unsupported_encoding",
                          "the declared encoding %s is not supported", enc);
        return 0;
    }
    if (j + 1 >= s->n)
        return 0; /* a truncated document: libxml2 refuses it */
    return REFUSE(s, GW_EPARSE, "unsupported_encoding",
                  "the XML declaration is longer than %d characters", GW_SCAN_DECL_MAX);
}

/* Unit width and byte order from the first bytes, as libxml2 detects them. */
static int detect(struct scan *s, const unsigned char *b, size_t len)
{
    s->w = 1;
    if (len >= 4 && ((b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == '<') ||
                     (b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF))) {
        s->w = 4;
        s->big = true;
    } else if (len >= 4 && ((b[0] == '<' && b[1] == 0 && b[2] == 0 && b[3] == 0) ||
                            (b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0))) {
        s->w = 4;
    } else if (len >= 2 && ((b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0 && b[1] == '<'))) {
        s->w = 2;
        s->big = true;
    } else if (len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == '<' && b[1] == 0))) {
        s->w = 2;
    } else if (len >= 4 && b[0] == 0x4C && b[1] == 0x6F && b[2] == 0xA7 && b[3] == 0x94) {
        return REFUSE(s, GW_EPARSE, "unsupported_encoding", "EBCDIC is not supported");
    }
    s->p = b;
    s->n = len / s->w;
    /* Skip a byte order mark (one unit U+FEFF in any width; three bytes in UTF-8). */
    if (s->w == 1 && len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        s->i = 3;
    else if (s->w > 1 && s->n > 0 && unit(s, 0) == 0xFEFF)
        s->i = 1;
    return check_declared_encoding(s);
}

int gw_edxml_scan(const void *buf, size_t len, struct gw_edxml_scan_result *res)
{
    struct scan s;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(res, 0, sizeof(*res));
    s.res = res;
    rc = detect(&s, buf, len);
    if (rc != 0)
        return rc;
    while (s.i < s.n) {
        if (s.w == 1) { /* text up to the next markup, at memchr speed */
            const unsigned char *lt = memchr(s.p + s.i, '<', s.n - s.i);
            s.i = lt ? (size_t)(lt - s.p) : s.n;
            if (!lt)
                break;
        } else if (unit(&s, s.i) != '<') {
            s.i++;
            continue;
        }
        s.i++;
        if (looking_at(&s, s.i, "!--")) {
            s.i += 3;
            if (!skip_past(&s, "-->"))
                break;
        } else if (looking_at(&s, s.i, "![CDATA[")) {
            s.i += 8;
            if (!skip_past(&s, "]]>"))
                break;
        } else if (looking_at(&s, s.i, "!DOCTYPE")) {
            return REFUSE(&s, GW_EPARSE, "doctype", "DOCTYPE not allowed");
        } else if (looking_at(&s, s.i, "?")) {
            s.i++;
            if (!skip_past(&s, "?>"))
                break;
        } else if (looking_at(&s, s.i, "/")) {
            s.i++;
            rc = scan_end_tag(&s);
            if (rc != 0)
                break;
        } else {
            rc = scan_start_tag(&s);
            if (rc != 0)
                break;
        }
    }
    res->scanned = s.i;
    res->complete = s.i >= s.n;
    return rc < 0 ? rc : 0;
}
