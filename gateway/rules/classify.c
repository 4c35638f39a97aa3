/*
 * The Art. 10.3b classifier (classify.h). Every field a rule can read is normalised once; its
 * words are looked up in the catalogue's first-word index and whole fields in its value index,
 * so the cost follows the document's words, not the catalogue's size. The rules that matched
 * something are then judged on their clause's logic (domain.md §7): clause 1 any recipient,
 * clause 2 a keyword (with its approval word when the rule has one) within one field, clause 3
 * every condition. A field without any diacritic is compared with the catalogue's text without
 * diacritics; a field with them, as written.
 */
#include "rules/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxml/edxml_orgid.h"
#include "rules/rtext.h"
#include "util/error.h"

struct field {
    unsigned bit;
    char name[40];
    int to; /* 1-based To index, 0 */
    struct gw_rtext t;
    const char *src;
};

struct match {
    uint32_t rule, field, cond, at, len, phrase;
    uint32_t alias; /* 1 + index of the directory alias it went through, 0 none */
};

struct ctx {
    const struct gw_catalog *cat;
    const struct gw_edxml_doc *doc;
    struct gw_classify_result *r;
    bool explain;
    struct field *f;
    size_t nf;
    struct match *m;
    size_t nm, mcap;
    const struct gw_classify_alias *aliases;
    size_t n_aliases;
};

static int add_field(struct ctx *c, unsigned bit, const char *name, int to, const char *src)
{
    if (!src || !*src)
        return 0;
    struct field *f = &c->f[c->nf];
    *f = (struct field){.bit = bit, .to = to, .src = src};
    if (to)
        snprintf(f->name, sizeof(f->name), "To[%d]/%s", to, name);
    else
        snprintf(f->name, sizeof(f->name), "%s", name);
    if (gw_rtext_init(&f->t, src, false) != 0)
        return GW_ENOMEM;
    c->r->cut |= f->t.cut;
    c->nf++;
    return 0;
}

static const struct gw_rule_alt *alt_of(const struct gw_catalog *cat, uint32_t phrase,
                                        const struct gw_rule **rule,
                                        const struct gw_rule_cond **cond)
{
    const struct gw_catalog_phrase *p = &cat->phrases[phrase];
    *rule = &cat->rules[p->rule];
    *cond = &(*rule)->conds[p->cond];
    return &(*cond)->alts[p->alt];
}

static int add_match(struct ctx *c, uint32_t phrase, size_t field, size_t at, size_t len)
{
    if (c->nm == c->mcap) {
        size_t cap = c->mcap ? c->mcap * 2 : 16;
        struct match *v = realloc(c->m, cap * sizeof(*v));
        if (!v)
            return GW_ENOMEM;
        c->m = v;
        c->mcap = cap;
    }
    const struct gw_catalog_phrase *p = &c->cat->phrases[phrase];
    c->m[c->nm++] =
        (struct match){p->rule, (uint32_t)field, p->cond, (uint32_t)at, (uint32_t)len, phrase, 0};
    return 0;
}

static size_t cp_len(const char *s)
{
    size_t k = 1;
    while (((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k;
}

/* An id field that is a directory alias: the values of the id it stands for. */
static int scan_aliases(struct ctx *c, size_t fi)
{
    const struct field *f = &c->f[fi];
    char id[96];
    size_t count;

    for (size_t a = 0; a < c->n_aliases; a++) {
        const struct gw_classify_alias *al = &c->aliases[a];
        size_t n = strlen(al->id);
        if (strcasecmp(al->alias, f->t.s) != 0 || n >= sizeof(id))
            continue;
        for (size_t i = 0; i <= n; i++) /* ids are ASCII: folded as rtext folds them */
            id[i] = (char)(al->id[i] >= 'A' && al->id[i] <= 'Z' ? al->id[i] + 32 : al->id[i]);
        const struct gw_rindex_pair *p = gw_rindex_find(&c->cat->whole_norm, id, n, &count);
        for (size_t k = 0; k < count; k++) {
            const struct gw_rule *rule;
            const struct gw_rule_cond *cond;
            alt_of(c->cat, p[k].value, &rule, &cond);
            if (!(cond->fields & f->bit))
                continue;
            if (add_match(c, p[k].value, fi, 0, f->t.n) != 0)
                return GW_ENOMEM;
            c->m[c->nm - 1].alias = (uint32_t)a + 1;
        }
    }
    return 0;
}

/* Whole-field values and phrases of one field. */
static int scan_field(struct ctx *c, size_t fi)
{
    const struct field *f = &c->f[fi];
    const struct gw_catalog *cat = c->cat;
    bool bare = !f->t.marks;
    const char *s = f->t.s;
    size_t n = f->t.n, count;
    const struct gw_rindex_pair *p;

    p = gw_rindex_find(bare ? &cat->whole_bare : &cat->whole_norm, s, n, &count);
    for (size_t k = 0; k < count; k++) {
        const struct gw_rule *rule;
        const struct gw_rule_cond *cond;
        alt_of(cat, p[k].value, &rule, &cond);
        if ((cond->fields & f->bit) && add_match(c, p[k].value, fi, 0, n) != 0)
            return GW_ENOMEM;
    }
    if (f->bit & (GW_RF_TO_ID | GW_RF_FROM_ID))
        return scan_aliases(c, fi);
    if (!(f->bit & (GW_RF_SUBJECT | GW_RF_CONTENT | GW_RF_TYPE_NAME)))
        return 0;
    for (size_t i = 0; i < n;) {
        if (!gw_rtext_word_at(s + i)) {
            i += cp_len(s + i);
            continue;
        }
        size_t w = i;
        while (w < n && gw_rtext_word_at(s + w))
            w += cp_len(s + w);
        p = gw_rindex_find(bare ? &cat->words_bare : &cat->words_norm, s + i, w - i, &count);
        for (size_t k = 0; k < count; k++) {
            const struct gw_rule *rule;
            const struct gw_rule_cond *cond;
            const struct gw_rule_alt *a = alt_of(cat, p[k].value, &rule, &cond);
            const char *key = bare ? a->bare : a->norm;
            size_t len = strlen(key);
            if (!(cond->fields & f->bit) || i + len > n || memcmp(s + i, key, len) != 0 ||
                gw_rtext_word_at(s + i + len))
                continue;
            if (add_match(c, p[k].value, fi, i, len) != 0)
                return GW_ENOMEM;
        }
        i = w;
    }
    return 0;
}

/* The source span of a match, as written. */
static char *span(const struct field *f, size_t at, size_t len)
{
    if (len == 0 || at + len > f->t.n)
        return strdup("");
    size_t a = f->t.from[at], b = f->t.to[at + len - 1];
    return strndup(f->src + a, b - a);
}

static int add_hit(struct ctx *c, int clause, const struct gw_rule *rule, const struct match *m,
                   const struct match *with)
{
    struct gw_classify_result *r = c->r;
    const struct field *f = &c->f[m->field];
    const struct gw_rule *ru;
    const struct gw_rule_cond *cd;
    const struct gw_rule_alt *a = alt_of(c->cat, m->phrase, &ru, &cd);
    struct gw_classify_hit *v = realloc(r->hits, (r->n_hits + 1) * sizeof(*v));
    if (!v)
        return GW_ENOMEM;
    r->hits = v;
    struct gw_classify_hit *h = &r->hits[r->n_hits];
    *h = (struct gw_classify_hit){.clause = clause,
                                  .rule = rule->id,
                                  .rule_title = rule->title,
                                  .keyword = a->text,
                                  .recipient = f->to,
                                  .organ_id = f->to ? c->doc->to[f->to - 1].organ_id : NULL};
    snprintf(h->field, sizeof(h->field), "%s", f->name);
    h->alias_of = m->alias ? c->aliases[m->alias - 1].id : NULL;
    h->text = span(f, m->at, m->len);
    if (with) {
        h->with = alt_of(c->cat, with->phrase, &ru, &cd)->text;
        h->with_text = span(&c->f[with->field], with->at, with->len);
    }
    if (!h->text || (with && !h->with_text)) {
        free(h->text);
        free(h->with_text);
        return GW_ENOMEM;
    }
    r->n_hits++;
    r->clauses |= 1u << clause;
    return 0;
}

static int add_near(struct ctx *c, int clause, const char *rule, const char *field,
                    const char *text, size_t text_len, const char *why)
{
    struct gw_classify_result *r = c->r;
    for (size_t i = 0; i < r->n_near; i++) /* one entry per rule, field and reason */
        if (strcmp(r->near[i].rule, rule) == 0 && strcmp(r->near[i].field, field) == 0 &&
            strcmp(r->near[i].why, why) == 0)
            return 0;
    struct gw_classify_near *v = realloc(r->near, (r->n_near + 1) * sizeof(*v));
    if (!v)
        return GW_ENOMEM;
    r->near = v;
    struct gw_classify_near *n = &r->near[r->n_near];
    *n = (struct gw_classify_near){.clause = clause, .rule = rule, .why = why};
    snprintf(n->field, sizeof(n->field), "%s", field);
    if (text && !(n->text = strndup(text, text_len)))
        return GW_ENOMEM;
    r->n_near++;
    return 0;
}

static int near_match(struct ctx *c, int clause, const struct gw_rule *rule, const struct match *m,
                      const char *why)
{
    const struct field *f = &c->f[m->field];
    char *t = span(f, m->at, m->len);
    if (!t)
        return GW_ENOMEM;
    int rc = add_near(c, clause, rule->id, f->name, t, strlen(t), why);
    free(t);
    return rc;
}

/* First match of condition k in field fi (any field when fi is SIZE_MAX) among one rule's
 * matches m[0..n), which are in field order. */
static const struct match *first(const struct match *m, size_t n, size_t k, size_t fi)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].cond == k && (fi == SIZE_MAX || m[i].field == fi))
            return &m[i];
    return NULL;
}

static int cmp_match(const void *x, const void *y)
{
    const struct match *a = x, *b = y;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    if (a->field != b->field)
        return a->field < b->field ? -1 : 1;
    if (a->cond != b->cond)
        return a->cond < b->cond ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

static size_t cond_index(const struct gw_rule *r, const char *key)
{
    for (size_t k = 0; k < r->n_conds; k++)
        if (strcmp(r->conds[k].key, key) == 0)
            return k;
    return SIZE_MAX;
}

/* One rule, on its matches m[0..n). */
static int judge(struct ctx *c, size_t ri, bool in_force, const struct match *m, size_t n)
{
    const struct gw_rule *r = &c->cat->rules[ri];
    int rc = 0;

    if (r->clause == 1) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = in_force     ? add_hit(c, 1, r, &m[i], NULL)
                 : c->explain ? near_match(c, 1, r, &m[i], "outside_dates")
                              : 0;
        return rc;
    }
    if (r->clause == 2) {
        size_t kw = cond_index(r, "keyword"), wk = cond_index(r, "with");
        for (size_t fi = 0; fi < c->nf && rc == 0; fi++) {
            const struct match *k = kw == SIZE_MAX ? NULL : first(m, n, kw, fi);
            const struct match *w = wk == SIZE_MAX ? NULL : first(m, n, wk, fi);
            if (!k)
                continue;
            if (wk != SIZE_MAX && !w)
                rc = c->explain ? near_match(c, 2, r, k, "no_approval_word") : 0;
            else if (in_force)
                rc = add_hit(c, 2, r, k, w);
            else if (c->explain)
                rc = near_match(c, 2, r, k, "outside_dates");
        }
        return rc;
    }
    /* clause 3: every condition */
    const struct match *got[GW_CATALOG_MAX_CONDS];
    size_t met = 0;
    for (size_t k = 0; k < r->n_conds; k++)
        met += (got[k] = first(m, n, k, SIZE_MAX)) != NULL;
    if (met == r->n_conds && in_force) {
        for (size_t k = 0; k < r->n_conds && rc == 0; k++)
            rc = add_hit(c, 3, r, got[k], NULL);
    } else if (met > 0 && c->explain) {
        for (size_t k = 0; k < r->n_conds; k++)
            if (got[k])
                return near_match(c, 3, r, got[k], met == r->n_conds ? "outside_dates" : "partial");
    }
    return rc;
}

/* A phrase present in text, where it does not stand as whole words; true when some occurrence
 * does. */
static bool find_words(const char *text, const char *key, bool *inside)
{
    size_t len = strlen(key);
    for (const char *p = strstr(text, key); p && len; p = strstr(p + 1, key)) {
        bool before = p > text && gw_rtext_word_before(text, (size_t)(p - text));
        if (!before && !gw_rtext_word_at(p + len))
            return true;
        *inside = true;
    }
    return false;
}

/* A To/OrganName equal to one of the condition's names. */
static bool whole_name(const struct gw_rule_cond *cd, const struct field *f)
{
    for (size_t a = 0; a < cd->n_alts; a++)
        if (strcmp(f->t.s, f->t.marks ? cd->alts[a].norm : cd->alts[a].bare) == 0)
            return true;
    return false;
}

/* explain only: the near misses no index lookup sees (names containing a clause-1 name,
 * keywords inside longer words, text that matches only once its diacritics are dropped). */
static int near_scan(struct ctx *c, int32_t day)
{
    int rc = 0;
    for (size_t fi = 0; fi < c->nf && rc == 0; fi++) {
        const struct field *f = &c->f[fi];
        char *bare = f->t.marks ? gw_rtext_norm(f->src, true) : NULL;
        if (f->t.marks && !bare)
            return GW_ENOMEM;
        for (size_t ri = 0; ri < c->cat->n_rules && rc == 0; ri++) {
            const struct gw_rule *r = &c->cat->rules[ri];
            if (day < r->from || day > r->until)
                continue;
            for (size_t k = 0; k < r->n_conds && rc == 0; k++) {
                const struct gw_rule_cond *cd = &r->conds[k];
                bool names = r->clause == 1 && (f->bit & GW_RF_TO_NAME) &&
                             strcmp(cd->key, "organ_name") == 0;
                if (!names && (cd->match != GW_RM_WORDS || !(cd->fields & f->bit)))
                    continue;
                if (names && whole_name(cd, f))
                    continue; /* the name counts: not a near miss */
                for (size_t a = 0; a < cd->n_alts && rc == 0; a++) {
                    const char *key = f->t.marks ? cd->alts[a].norm : cd->alts[a].bare;
                    bool inside = false, whole = find_words(f->t.s, key, &inside);
                    if (names && whole && strcmp(f->t.s, key) != 0)
                        rc =
                            add_near(c, 1, r->id, f->name, f->src, strlen(f->src), "name_contains");
                    else if (!names && !whole && inside)
                        rc = add_near(c, r->clause, r->id, f->name, cd->alts[a].text,
                                      strlen(cd->alts[a].text), "inside_word");
                    else if (!names && !whole && bare) {
                        bool in2 = false;
                        if (find_words(bare, cd->alts[a].bare, &in2))
                            rc = add_near(c, r->clause, r->id, f->name, cd->alts[a].text,
                                          strlen(cd->alts[a].text), "diacritics_differ");
                    }
                }
            }
        }
        free(bare);
    }
    return rc;
}

bool gw_classify_same_agency(const char *a, const char *b)
{
    char la[32], lb[32];

    /* the lenient forms, as routing reads ids (000.00.12.h49 is 000.00.12.H49) */
    if (!gw_orgid_lenient(a, la, sizeof(la)) || !gw_orgid_lenient(b, lb, sizeof(lb)) ||
        !gw_orgid_is_qcvn102(la) || !gw_orgid_is_qcvn102(lb))
        return false;
    /* V1V2V3.Z1Z2.Y1Y2.MX1X2: level 2 is Y1Y2 (offset 7), level 1 MX1X2 (offset 10) */
    return strlen(la) == 13 && strlen(lb) == 13 && strncmp(la + 7, "00", 2) != 0 &&
           strncmp(la + 7, lb + 7, 6) == 0;
}

static void paper(const struct gw_edxml_doc *doc, struct gw_classify_result *r)
{
    r->declared = doc->business.paper == 0 || doc->business.paper == 1 ? doc->business.paper : -1;
    r->internal = false;
    for (size_t i = 0; i < doc->n_to; i++) {
        if (!doc->to[i].organ_id)
            continue;
        if (!gw_classify_same_agency(doc->from, doc->to[i].organ_id)) {
            r->internal = false;
            break;
        }
        r->internal = true;
    }
    r->declaration = r->declared == 1 && !r->internal;
}

int gw_classify(const struct gw_catalog *cat, const struct gw_edxml_doc *doc, int32_t day,
                bool explain, struct gw_classify_result *r)
{
    return gw_classify_ex(cat, NULL, 0, doc, day, explain, r);
}

const char **gw_classify_government_ids(const struct gw_catalog *cat, int32_t day, size_t *n)
{
    const char **v = NULL;
    *n = 0;
    for (size_t i = 0; cat && i < cat->n_rules; i++) {
        const struct gw_rule *r = &cat->rules[i];
        if (r->clause != 1 || day < r->from || day > r->until)
            continue;
        for (size_t k = 0; k < r->n_conds; k++) {
            if (strcmp(r->conds[k].key, "organ_id") != 0)
                continue;
            for (size_t a = 0; a < r->conds[k].n_alts; a++) {
                const char **g = realloc(v, (*n + 1) * sizeof(*v));
                if (!g) {
                    free(v);
                    *n = 0;
                    return NULL;
                }
                v = g;
                v[(*n)++] = r->conds[k].alts[a].text;
            }
        }
    }
    return v;
}

int gw_classify_ex(const struct gw_catalog *cat, const struct gw_classify_alias *aliases,
                   size_t n_aliases, const struct gw_edxml_doc *doc, int32_t day, bool explain,
                   struct gw_classify_result *r)
{
    struct ctx c = {.cat = cat,
                    .doc = doc,
                    .r = r,
                    .explain = explain,
                    .aliases = aliases,
                    .n_aliases = n_aliases};
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->day = day;
    paper(doc, r);
    if (r->declared == 1 && r->internal) {
        static const char *const c4 = "c4.head_request";
        struct gw_classify_hit *h = calloc(1, sizeof(*h));
        if (!h || !(h->text = strdup("1"))) {
            free(h);
            return GW_ENOMEM;
        }
        h->clause = 4;
        h->rule = c4;
        h->rule_title = "Văn bản nội bộ, thủ trưởng cơ quan yêu cầu gửi kèm bản giấy";
        snprintf(h->field, sizeof(h->field), "Bussiness/Paper");
        r->hits = h;
        r->n_hits = 1;
        r->clauses |= 1u << 4;
    }
    if (cat) {
        for (size_t i = 0; explain && i < cat->n_rules; i++) /* for the explanation only */
            r->rules_in_force += day >= cat->rules[i].from && day <= cat->rules[i].until;
        if (!(c.f = calloc(6 + 2 * doc->n_to, sizeof(*c.f))))
            rc = GW_ENOMEM;
        if (rc == 0)
            rc = add_field(&c, GW_RF_SUBJECT, "Subject", 0, doc->subject);
        if (rc == 0)
            rc = add_field(&c, GW_RF_CONTENT, "Content", 0, doc->content);
        if (rc == 0)
            rc =
                add_field(&c, GW_RF_TYPE_NAME, "DocumentType/TypeName", 0, doc->document_type_name);
        if (rc == 0)
            rc = add_field(&c, GW_RF_FROM_ID, "From/OrganId", 0, doc->from);
        for (size_t i = 0; i < doc->n_to && rc == 0; i++) {
            if (!doc->to[i].organ_id)
                continue; /* a To without an OrganId is dropped (domain.md §2): no recipient */
            rc = add_field(&c, GW_RF_TO_ID, "OrganId", (int)i + 1, doc->to[i].organ_id);
            if (rc == 0)
                rc = add_field(&c, GW_RF_TO_NAME, "OrganName", (int)i + 1, doc->to[i].organ_name);
        }
        for (size_t i = 0; i < c.nf && rc == 0; i++)
            rc = scan_field(&c, i);
        /* the rules that matched something, each judged once, in catalogue order */
        if (c.nm > 1)
            qsort(c.m, c.nm, sizeof(*c.m), cmp_match);
        for (size_t i = 0; i < c.nm && rc == 0;) {
            size_t j = i, ri = c.m[i].rule;
            while (j < c.nm && c.m[j].rule == ri)
                j++;
            rc = judge(&c, ri, day >= cat->rules[ri].from && day <= cat->rules[ri].until, &c.m[i],
                       j - i);
            i = j;
        }
        if (rc == 0 && explain)
            rc = near_scan(&c, day);
    }
    for (size_t i = 0; i < c.nf; i++)
        gw_rtext_free(&c.f[i].t);
    free(c.f);
    free(c.m);
    if (rc != 0) {
        gw_classify_result_free(r);
        return rc;
    }
    r->required = r->clauses != 0;
    r->tracked = r->required || r->declaration;
    r->mismatch = r->required && r->declared == 0;
    return 0;
}

void gw_classify_result_free(struct gw_classify_result *r)
{
    for (size_t i = 0; i < r->n_hits; i++) {
        free(r->hits[i].text);
        free(r->hits[i].with_text);
    }
    free(r->hits);
    for (size_t i = 0; i < r->n_near; i++)
        free(r->near[i].text);
    free(r->near);
    memset(r, 0, sizeof(*r));
}
