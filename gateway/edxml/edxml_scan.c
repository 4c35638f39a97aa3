/*
 * Structural pre-scan of an edXML package, run on every byte before libxml2 sees it: a resumable
 * state machine over the markup that enforces the fixed structural caps (attributes per element,
 * attribute value length, name length, namespace declarations in scope, nesting) and refuses a
 * DOCTYPE and encodings whose markup is not plain ASCII code units. libxml2's start-tag parsing is
 * quadratic in the number of attributes, so a hostile tag must be refused here, in time
 * proportional to its size. It also reports every tag with its byte offsets (edxml_internal.h).
 */
#include <stdio.h>
#include <string.h>

#include "edxml/edxml.h"
#include "edxml/edxml_internal.h"
#include "util/common.h"
#include "util/error.h"

enum {
    S_TEXT = 0,
    S_LT,      /* after '<' */
    S_BANG,    /* after "<!": matching "--", "[CDATA[", "DOCTYPE" */
    S_COMMENT, /* len = '-' matched of "-->" */
    S_CDATA,   /* len = ']' matched of "]]>" */
    S_PI,      /* len = 1 after '?' */
    S_SNAME,   /* start tag name */
    S_TAG,     /* inside a start tag, between attributes */
    S_SLASH,   /* "/" in a start tag: '>' must follow */
    S_ANAME,   /* attribute name */
    S_AEQ,     /* after the attribute name: '=' */
    S_AQ,      /* after '=': a quote */
    S_AVAL,    /* attribute value */
    S_ENAME,   /* end tag name */
    S_EWS,     /* after the end tag name: '>' */
};

#define REFUSE(s, id, ...)                                                                         \
    (snprintf((s)->res.msg, sizeof((s)->res.msg), __VA_ARGS__), (s)->res.code = (id),              \
     (s)->err = GW_EPARSE)

static bool is_ws(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool name_end(uint32_t c)
{
    return is_ws(c) || c == '/' || c == '>' || c == '=' || c == '"' || c == '\'' || c == '<';
}

void gw_edxml_scanner_init(struct gw_edxml_scanner *s, gw_edxml_tag_fn on_tag, void *ud)
{
    memset(s, 0, sizeof(*s));
    s->w = 1;
    s->on_tag = on_tag;
    s->ud = ud;
}

static void stop(struct gw_edxml_scanner *s, uint64_t at)
{
    s->stopped = true;
    s->stop_off = at;
}

static int emit(struct gw_edxml_scanner *s)
{
    s->tag.marks = s->marks;
    return s->on_tag ? s->on_tag(s->ud, &s->tag) : 0;
}

/* A start tag is complete at its '>' (gt = the byte after it). */
static int start_done(struct gw_edxml_scanner *s, uint64_t gt, bool empty)
{
    s->tag.gt = gt;
    s->tag.end = false;
    s->tag.empty = empty;
    if (!empty) {
        if (s->depth >= GW_EDXML_MAX_DEPTH)
            return REFUSE(s, "too_deep", "elements nested deeper than %d", GW_EDXML_MAX_DEPTH);
        s->depth++;
        s->ns_at[s->depth] = s->ns;
        s->ns_in_scope += s->ns;
    }
    s->state = S_TEXT;
    s->ws_start = gt;
    return emit(s);
}

/* One code unit c at byte offset o (the unit ends at o + w). */
static int step(struct gw_edxml_scanner *s, uint32_t c, uint64_t o)
{
    uint64_t next = o + s->w;

    switch (s->state) {
    case S_TEXT:
        if (c == '<') {
            s->tag.lt = o;
            s->tag.ws = s->ws_start;
            s->state = S_LT;
        } else if (!is_ws(c)) {
            s->ws_start = next;
            if (c == '&')
                s->marks++;
        }
        return 0;
    case S_LT:
        if (c == '!') {
            s->state = S_BANG;
            s->len = 0;
            s->marks++;
        } else if (c == '?') {
            s->marks++;
            s->state = S_PI;
            s->len = 0;
        } else if (c == '/') {
            s->state = S_ENAME;
            s->len = 0;
        } else if (name_end(c)) {
            stop(s, o);
        } else {
            s->state = S_SNAME;
            s->len = 1;
            s->attrs = s->ns = 0;
        }
        return 0;
    case S_BANG: {
        static const char *const lits[] = {"--", "[CDATA[", "DOCTYPE"};
        bool any = false;
        s->abuf[s->len++] = (char)(c < 0x80 ? c : '?');
        for (size_t i = 0; i < GW_ARRAY_LEN(lits); i++) {
            if (s->len <= strlen(lits[i]) && memcmp(s->abuf, lits[i], s->len) == 0) {
                any = true;
                if (s->len == strlen(lits[i])) {
                    if (i == 2)
                        return REFUSE(s, "doctype", "DOCTYPE not allowed");
                    s->state = i == 0 ? S_COMMENT : S_CDATA;
                    s->len = 0;
                }
            }
        }
        if (!any)
            stop(s, o);
        return 0;
    }
    case S_COMMENT:
    case S_CDATA: {
        uint32_t t = s->state == S_COMMENT ? '-' : ']';
        if (c == t)
            s->len = s->len < 2 ? s->len + 1 : 2;
        else if (c == '>' && s->len == 2) {
            s->state = S_TEXT;
            s->ws_start = next;
        } else
            s->len = 0;
        return 0;
    }
    case S_PI:
        if (c == '>' && s->len == 1) {
            s->state = S_TEXT;
            s->ws_start = next;
        } else
            s->len = c == '?';
        return 0;
    case S_SNAME:
        if (!name_end(c)) {
            if (++s->len > GW_EDXML_MAX_NAME)
                return REFUSE(s, "name_too_long", "an element name is longer than %d characters",
                              GW_EDXML_MAX_NAME);
            return 0;
        }
        s->state = S_TAG;
        /* fall through */
    case S_TAG:
        if (is_ws(c))
            return 0;
        if (c == '>')
            return start_done(s, next, false);
        if (c == '/') {
            s->state = S_SLASH;
            return 0;
        }
        if (name_end(c)) {
            stop(s, o);
            return 0;
        }
        if (++s->attrs > GW_EDXML_MAX_ATTRS)
            return REFUSE(s, "too_many_attributes", "an element carries more than %d attributes",
                          GW_EDXML_MAX_ATTRS);
        s->state = S_ANAME;
        s->len = 1;
        s->alen = 1;
        s->abuf[0] = (char)(c < 0x80 ? c : '?');
        return 0;
    case S_SLASH:
        if (c == '>')
            return start_done(s, next, true);
        stop(s, o);
        return 0;
    case S_ANAME:
        if (!name_end(c)) {
            if (++s->len > GW_EDXML_MAX_NAME)
                return REFUSE(s, "name_too_long", "an attribute name is longer than %d characters",
                              GW_EDXML_MAX_NAME);
            if (s->alen < 6)
                s->abuf[s->alen++] = (char)(c < 0x80 ? c : '?');
            return 0;
        }
        if ((s->len == 5 && memcmp(s->abuf, "xmlns", 5) == 0) ||
            (s->len > 6 && memcmp(s->abuf, "xmlns:", 6) == 0)) {
            s->ns++;
            if (s->ns_in_scope + s->ns > GW_EDXML_MAX_NS)
                return REFUSE(s, "too_many_namespaces",
                              "more than %d namespace declarations in scope", GW_EDXML_MAX_NS);
        }
        s->state = S_AEQ;
        /* fall through */
    case S_AEQ:
        if (is_ws(c))
            return 0;
        if (c == '=')
            s->state = S_AQ;
        else
            stop(s, o);
        return 0;
    case S_AQ:
        if (is_ws(c))
            return 0;
        if (c == '"' || c == '\'') {
            s->quote = c;
            s->len = 0;
            s->state = S_AVAL;
        } else
            stop(s, o);
        return 0;
    case S_AVAL:
        if (c == s->quote) {
            s->state = S_TAG;
        } else if (c == '<') {
            stop(s, o);
        } else if (++s->len > GW_EDXML_MAX_ATTR_VALUE) {
            return REFUSE(s, "attribute_too_long",
                          "an attribute value is longer than %d characters",
                          GW_EDXML_MAX_ATTR_VALUE);
        }
        return 0;
    case S_ENAME:
        if (!name_end(c)) {
            if (++s->len > GW_EDXML_MAX_NAME)
                return REFUSE(s, "name_too_long", "an element name is longer than %d characters",
                              GW_EDXML_MAX_NAME);
            return 0;
        }
        if (s->len == 0) {
            stop(s, o);
            return 0;
        }
        s->state = S_EWS;
        /* fall through */
    case S_EWS:
        if (is_ws(c))
            return 0;
        if (c != '>' || s->depth == 0) {
            stop(s, o);
            return 0;
        }
        s->ns_in_scope -= s->ns_at[s->depth];
        s->depth--;
        s->tag.gt = next;
        s->tag.end = true;
        s->tag.empty = false;
        s->state = S_TEXT;
        s->ws_start = next;
        return emit(s);
    default:
        return 0;
    }
}

/* Single-byte units, with memchr fast paths for text, values, comments and CDATA. */
static int feed8(struct gw_edxml_scanner *s, const unsigned char *p, size_t n)
{
    size_t i = 0;
    int rc;

    while (i < n && !s->stopped) {
        if (s->state == S_TEXT) {
            const unsigned char *lt = memchr(p + i, '<', n - i);
            size_t k = lt ? (size_t)(lt - p) : n, j = k;
            while (j > i && is_ws(p[j - 1]))
                j--;
            if (j > i)
                s->ws_start = s->off + (j - i);
            for (const unsigned char *a = p + i; (a = memchr(a, '&', (size_t)(p + k - a))); a++)
                s->marks++;
            s->off += k - i;
            i = k;
            if (!lt)
                break;
        } else if (s->state == S_AVAL) {
            const unsigned char *q = memchr(p + i, (int)s->quote, n - i);
            size_t k = q ? (size_t)(q - p) : n;
            const unsigned char *lt = memchr(p + i, '<', k - i);
            if (lt)
                k = (size_t)(lt - p);
            if (s->len + (k - i) > GW_EDXML_MAX_ATTR_VALUE) {
                s->off += GW_EDXML_MAX_ATTR_VALUE - s->len + 1;
                return REFUSE(s, "attribute_too_long",
                              "an attribute value is longer than %d characters",
                              GW_EDXML_MAX_ATTR_VALUE);
            }
            s->len += k - i;
            s->off += k - i;
            i = k;
            if (i == n)
                break;
        } else if ((s->state == S_COMMENT || s->state == S_CDATA) && s->len == 0) {
            const unsigned char *q = memchr(p + i, s->state == S_COMMENT ? '-' : ']', n - i);
            size_t k = q ? (size_t)(q - p) : n;
            s->off += k - i;
            i = k;
            if (i == n)
                break;
        }
        rc = step(s, p[i], s->off);
        if (rc != 0)
            return rc;
        i++;
        s->off++;
    }
    return 0;
}

int gw_edxml_scanner_feed(struct gw_edxml_scanner *s, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    int rc = 0;

    if (s->err)
        return s->err;
    if (s->stopped)
        return 0;
    if (s->skip) {
        size_t k = len < s->skip ? len : (size_t)s->skip;
        s->skip -= k;
        s->off += k;
        p += k;
        len -= k;
    }
    if (s->w == 1) {
        uint64_t before = s->off;
        rc = feed8(s, p, len);
        (void)before;
        return rc;
    }
    for (size_t i = 0; i < len && !s->stopped; i++) {
        uint32_t c = 0;
        s->carry[s->ncarry++] = p[i];
        if (s->ncarry < s->w)
            continue;
        for (unsigned k = 0; k < s->w; k++)
            c = s->big ? c << 8 | s->carry[k] : c | (uint32_t)s->carry[k] << (8 * k);
        s->ncarry = 0;
        rc = step(s, c, s->off);
        if (rc != 0)
            return rc;
        s->off += s->w;
    }
    return 0;
}

/* ---- head: width, byte order mark, declared encoding ---- */

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

/* Encodings libxml2 may switch to from a 16- or 32-bit start: the same width. */
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

#define GW_SCAN_DECL_MAX 1024

struct head {
    const unsigned char *p;
    size_t n; /* units */
    unsigned w;
    bool big;
};

static uint32_t hunit(const struct head *h, size_t i)
{
    const unsigned char *q = h->p + i * h->w;
    uint32_t c = 0;

    for (unsigned k = 0; k < h->w; k++)
        c = h->big ? c << 8 | q[k] : c | (uint32_t)q[k] << (8 * k);
    return c;
}

static bool hlooking(const struct head *h, size_t i, const char *lit)
{
    size_t len = strlen(lit);

    if (i + len > h->n)
        return false;
    for (size_t k = 0; k < len; k++) {
        if (hunit(h, i + k) != (unsigned char)lit[k])
            return false;
    }
    return true;
}

static int check_declared_encoding(struct gw_edxml_scanner *s, const struct head *h, size_t i)
{
    size_t k = 0, j;
    uint32_t q, c;

    if (!hlooking(h, i, "<?xml"))
        return 0;
    for (j = i; j + 1 < h->n && j < i + GW_SCAN_DECL_MAX; j++) {
        if (hunit(h, j) == '?' && hunit(h, j + 1) == '>')
            return 0;
        if (!hlooking(h, j, "encoding"))
            continue;
        j += 8;
        while (j < h->n && (is_ws(hunit(h, j)) || hunit(h, j) == '='))
            j++;
        if (j >= h->n || ((q = hunit(h, j)) != '"' && q != '\''))
            return 0;
        for (j++; j < h->n && (c = hunit(h, j)) != q && k + 1 < sizeof(s->encoding); j++)
            s->encoding[k++] = c > 0x20 && c < 0x7f ? (char)c : '?';
        s->encoding[k] = '\0';
        if (h->w == 1 ? !ascii_transparent(s->encoding) : !wide_transparent(s->encoding))
            return REFUSE(s, "unsupported_encoding", "the declared encoding %s is not supported",
                          s->encoding);
        return 0;
    }
    if (j + 1 >= h->n)
        return 0; /* a truncated document: libxml2 refuses it */
    return REFUSE(s, "unsupported_encoding", "the XML declaration is longer than %d characters",
                  GW_SCAN_DECL_MAX);
}

int gw_edxml_scanner_begin(struct gw_edxml_scanner *s, const void *head, size_t len)
{
    const unsigned char *b = head;
    struct head h;

    s->w = 1;
    s->big = false;
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
        return REFUSE(s, "unsupported_encoding", "EBCDIC is not supported");
    }
    h.p = b;
    h.w = s->w;
    h.big = s->big;
    h.n = len / s->w;
    if (s->w == 1 && len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        s->skip = 3;
        s->bom = true;
    } else if (s->w > 1 && h.n > 0 && hunit(&h, 0) == 0xFEFF) {
        s->skip = s->w;
        s->bom = true;
    }
    return check_declared_encoding(s, &h, (size_t)(s->skip / s->w));
}

int gw_edxml_scan(const void *buf, size_t len, struct gw_edxml_scan_result *res)
{
    struct gw_edxml_scanner s;
    int rc;

    gw_edxml_scanner_init(&s, NULL, NULL);
    rc = gw_edxml_scanner_begin(&s, buf, len);
    if (rc == 0)
        rc = gw_edxml_scanner_feed(&s, buf, len);
    *res = s.res;
    res->scanned = (size_t)((s.stopped ? s.stop_off : s.off) / s.w);
    res->complete = !s.stopped && rc == 0;
    return rc;
}
