/*
 * PDF lexer and object parser: tokens, numbers, strings, names, arrays, dictionaries and
 * references, parsed into arena values that point back into the source bytes. Strings keep their
 * file offsets so that a /ByteRange gap can be compared with the /Contents token itself.
 */
#include "sig/pdf_internal.h"

#include <string.h>

bool pdf_is_ws(uint8_t c)
{
    return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

bool pdf_is_delim(uint8_t c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '/' || c == '%';
}

void pdf_skip_ws(const uint8_t *s, size_t len, size_t *pos)
{
    size_t p = *pos;

    while (p < len) {
        if (pdf_is_ws(s[p])) {
            p++;
        } else if (s[p] == '%') {
            while (p < len && s[p] != '\n' && s[p] != '\r')
                p++;
        } else {
            break;
        }
    }
    *pos = p;
}

bool pdf_read_uint(const uint8_t *s, size_t len, size_t *pos, uint64_t *v)
{
    size_t p = *pos;
    uint64_t x = 0;

    if (p >= len || s[p] < '0' || s[p] > '9')
        return false;
    while (p < len && s[p] >= '0' && s[p] <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(s[p] - '0');
        p++;
    }
    *v = x;
    *pos = p;
    return true;
}

/* Matches kw at *pos followed by a delimiter, whitespace or the end. */
bool pdf_keyword(const uint8_t *s, size_t len, size_t *pos, const char *kw)
{
    size_t n = strlen(kw);

    if (*pos > len || len - *pos < n || memcmp(s + *pos, kw, n) != 0)
        return false;
    if (*pos + n < len && !pdf_is_ws(s[*pos + n]) && !pdf_is_delim(s[*pos + n]))
        return false;
    *pos += n;
    return true;
}

static struct pdf_val *newval(struct pdf_doc *d, enum pdf_kind k)
{
    struct pdf_val *v = pdf_alloc(d, sizeof(*v));

    if (v)
        v->kind = k;
    return v;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static struct pdf_val *parse_name(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos)
{
    size_t p = *pos + 1, start = p, n = 0;
    struct pdf_val *v;
    char *out;

    while (p < len && !pdf_is_ws(s[p]) && !pdf_is_delim(s[p]))
        p++;
    v = newval(d, PV_NAME);
    out = pdf_alloc(d, p - start + 1);
    if (!v || !out)
        return NULL;
    for (size_t i = start; i < p; i++) {
        if (s[i] == '#' && i + 2 < p && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[n++] = (char)s[i];
        }
    }
    out[n] = 0;
    v->u.name.p = out;
    v->u.name.len = n;
    *pos = p;
    return v;
}

static struct pdf_val *parse_literal(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                     uint64_t base)
{
    size_t p = *pos + 1;
    unsigned nest = 1;
    struct pdf_val *v;

    while (p < len) {
        if (s[p] == '\\') {
            p += 2;
            continue;
        }
        if (s[p] == '(')
            nest++;
        else if (s[p] == ')' && --nest == 0)
            break;
        p++;
    }
    if (p >= len)
        return NULL;
    if (!(v = newval(d, PV_STR)))
        return NULL;
    v->u.s.raw = s + *pos + 1;
    v->u.s.len = p - *pos - 1;
    v->u.s.off = base == PDF_NO_OFF ? PDF_NO_OFF : base + *pos;
    v->u.s.end = base == PDF_NO_OFF ? PDF_NO_OFF : base + p + 1;
    *pos = p + 1;
    return v;
}

static struct pdf_val *parse_hex(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                 uint64_t base)
{
    size_t p = *pos + 1;
    struct pdf_val *v;

    while (p < len && s[p] != '>') {
        if (hexval(s[p]) < 0 && !pdf_is_ws(s[p]))
            return NULL;
        p++;
    }
    if (p >= len || !(v = newval(d, PV_STR)))
        return NULL;
    v->u.s.raw = s + *pos + 1;
    v->u.s.len = p - *pos - 1;
    v->u.s.hex = true;
    v->u.s.off = base == PDF_NO_OFF ? PDF_NO_OFF : base + *pos;
    v->u.s.end = base == PDF_NO_OFF ? PDF_NO_OFF : base + p + 1;
    *pos = p + 1;
    return v;
}

/* Grows a pointer vector in the arena (doubling; old blocks are left to the arena). */
static bool push(struct pdf_doc *d, void ***vec, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        void **nv = pdf_alloc(d, nc * sizeof(void *));

        if (!nv)
            return false;
        if (*n)
            memcpy(nv, *vec, *n * sizeof(void *));
        *vec = nv;
        *cap = nc;
    }
    (*vec)[(*n)++] = item;
    return true;
}

static struct pdf_val *parse_array(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                   uint64_t base, unsigned depth)
{
    struct pdf_val *v = newval(d, PV_ARRAY), *it;
    void **items = NULL;
    size_t n = 0, cap = 0;

    if (!v)
        return NULL;
    (*pos)++;
    for (;;) {
        pdf_skip_ws(s, len, pos);
        if (*pos >= len)
            return NULL;
        if (s[*pos] == ']') {
            (*pos)++;
            break;
        }
        if (!(it = pdf_parse_value(d, s, len, pos, base, depth + 1)))
            return NULL;
        if (!push(d, &items, &n, &cap, it))
            return NULL;
    }
    v->u.arr.v = (struct pdf_val **)items;
    v->u.arr.n = n;
    return v;
}

static struct pdf_val *parse_dict(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                  uint64_t base, unsigned depth)
{
    struct pdf_val *v = newval(d, PV_DICT), *k, *it;
    void **items = NULL;
    size_t n = 0, cap = 0;

    if (!v)
        return NULL;
    *pos += 2;
    for (;;) {
        pdf_skip_ws(s, len, pos);
        if (*pos + 1 < len && s[*pos] == '>' && s[*pos + 1] == '>') {
            *pos += 2;
            break;
        }
        if (*pos >= len || s[*pos] != '/')
            return NULL;
        if (!(k = parse_name(d, s, len, pos)))
            return NULL;
        pdf_skip_ws(s, len, pos);
        if (!(it = pdf_parse_value(d, s, len, pos, base, depth + 1)))
            return NULL;
        if (!push(d, &items, &n, &cap, k) || !push(d, &items, &n, &cap, it))
            return NULL;
    }
    v->u.dict.n = n / 2;
    v->u.dict.kv = pdf_alloc(d, (n / 2 + 1) * sizeof(struct pdf_kv));
    if (!v->u.dict.kv)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        v->u.dict.kv[i].key = ((struct pdf_val *)items[2 * i])->u.name.p;
        v->u.dict.kv[i].v = items[2 * i + 1];
    }
    return v;
}

/* A number, or "N G R" when two unsigned integers are followed by R. */
static struct pdf_val *parse_number(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos)
{
    size_t p = *pos, q;
    bool neg = false, dot = false, digits = false;
    uint64_t a, b;
    double r = 0, scale = 1;
    int64_t iv = 0;
    struct pdf_val *v;

    q = p;
    if (pdf_read_uint(s, len, &q, &a) && a <= UINT32_MAX) {
        size_t q2 = q;

        pdf_skip_ws(s, len, &q2);
        if (pdf_read_uint(s, len, &q2, &b) && b <= 65535) {
            pdf_skip_ws(s, len, &q2);
            if (pdf_keyword(s, len, &q2, "R")) {
                if (!(v = newval(d, PV_REF)))
                    return NULL;
                v->u.ref.num = (uint32_t)a;
                v->u.ref.gen = (uint32_t)b;
                *pos = q2;
                return v;
            }
        }
    }
    if (p < len && (s[p] == '+' || s[p] == '-'))
        neg = s[p++] == '-';
    while (p < len && ((s[p] >= '0' && s[p] <= '9') || s[p] == '.')) {
        if (s[p] == '.') {
            if (dot)
                return NULL;
            dot = true;
        } else {
            digits = true;
            if (dot) {
                scale /= 10;
                r += (s[p] - '0') * scale;
            } else {
                if (iv > (INT64_MAX - 9) / 10)
                    return NULL;
                iv = iv * 10 + (s[p] - '0');
            }
        }
        p++;
    }
    if (!digits)
        return NULL;
    if (!(v = newval(d, dot ? PV_REAL : PV_INT)))
        return NULL;
    if (dot)
        v->u.r = (neg ? -1 : 1) * ((double)iv + r);
    else
        v->u.i = neg ? -iv : iv;
    *pos = p;
    return v;
}

struct pdf_val *pdf_parse_value(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                uint64_t base, unsigned depth)
{
    struct pdf_val *v;
    uint8_t c;

    if (depth > d->lim.max_depth)
        return NULL;
    pdf_skip_ws(s, len, pos);
    if (*pos >= len)
        return NULL;
    c = s[*pos];
    if (c == '/')
        return parse_name(d, s, len, pos);
    if (c == '(')
        return parse_literal(d, s, len, pos, base);
    if (c == '<')
        return *pos + 1 < len && s[*pos + 1] == '<' ? parse_dict(d, s, len, pos, base, depth)
                                                    : parse_hex(d, s, len, pos, base);
    if (c == '[')
        return parse_array(d, s, len, pos, base, depth);
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')
        return parse_number(d, s, len, pos);
    if (pdf_keyword(s, len, pos, "true") || pdf_keyword(s, len, pos, "false")) {
        if ((v = newval(d, PV_BOOL)))
            v->u.b = s[*pos - 1] == 'e' && s[*pos - 2] == 'u';
        return v;
    }
    if (pdf_keyword(s, len, pos, "null"))
        return newval(d, PV_NULL);
    return NULL;
}

struct pdf_val *pdf_dget(const struct pdf_val *dict, const char *key)
{
    if (!dict || dict->kind != PV_DICT)
        return NULL;
    for (size_t i = 0; i < dict->u.dict.n; i++)
        if (strcmp(dict->u.dict.kv[i].key, key) == 0)
            return dict->u.dict.kv[i].v->kind == PV_NULL ? NULL : dict->u.dict.kv[i].v;
    return NULL;
}

bool pdf_is_name(const struct pdf_val *v, const char *name)
{
    return v && v->kind == PV_NAME && strcmp(v->u.name.p, name) == 0;
}

bool pdf_int(const struct pdf_val *v, int64_t *out)
{
    if (!v || v->kind != PV_INT)
        return false;
    *out = v->u.i;
    return true;
}
