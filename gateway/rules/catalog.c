/*
 * The catalogue as a whole (catalog.h): its files read in name order, each parsed
 * (catalog_parse.c), the versions of one rule id checked for overlapping dates, the digest that
 * names this exact catalogue, and the indexes the classifier looks phrases up in.
 */
#include "rules/catalog_internal.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rules/rtext.h"
#include "util/error.h"
#include "util/file.h"

void gw_catalog_rule_clear(struct gw_rule *r)
{
    for (size_t i = 0; i < r->n_conds; i++) {
        for (size_t j = 0; j < r->conds[i].n_alts; j++) {
            free(r->conds[i].alts[j].text);
            free(r->conds[i].alts[j].norm);
            free(r->conds[i].alts[j].bare);
        }
        free(r->conds[i].alts);
    }
    free(r->conds);
    free(r->id);
    free(r->title);
    memset(r, 0, sizeof(*r));
}

static void catalog_free(struct gw_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_rules; i++)
        gw_catalog_rule_clear(&c->rules[i]);
    free(c->rules);
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i]);
    free(c->files);
    free(c->phrases);
    free(c->version);
    gw_rindex_free(&c->words_norm);
    gw_rindex_free(&c->words_bare);
    gw_rindex_free(&c->whole_norm);
    gw_rindex_free(&c->whole_bare);
    free(c);
}

struct gw_catalog *gw_catalog_ref(struct gw_catalog *c)
{
    if (c)
        atomic_fetch_add_explicit((_Atomic int *)&c->refs, 1, memory_order_relaxed);
    return c;
}

void gw_catalog_unref(struct gw_catalog *c)
{
    if (c && atomic_fetch_sub_explicit((_Atomic int *)&c->refs, 1, memory_order_acq_rel) == 1)
        catalog_free(c);
}

/* for cmp_by_id (qsort has no context argument); per thread, as reloads run on pool workers */
static _Thread_local const struct gw_rule *sort_rules;

static int cmp_by_id(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = strcmp(sort_rules[a].id, sort_rules[b].id);
    return c ? c : (a > b) - (a < b);
}

/* Whether version b clashes with the earlier version a of one rule id (0: not). */
static int clash(const struct gw_rule *a, const struct gw_rule *b, struct gw_catalog_error *err)
{
    if (a->clause != b->clause)
        return gw_catalog_fail(err, b->file, b->line, "bad_value",
                               "rule %s is clause %d here and clause %d at %s:%d", b->id, b->clause,
                               a->clause, a->file, a->line);
    if (a->from <= b->until && b->from <= a->until)
        return gw_catalog_fail(err, b->file, b->line, "overlapping_dates",
                               "rule %s is also in force on these dates at %s:%d", b->id, a->file,
                               a->line);
    return 0;
}

/* Two versions of one rule id may not be in force on the same day, nor change clause. The
 * versions of an id are found by sorting, so a large catalogue costs n log n; the error named is
 * the one a pass in catalogue order meets first. */
static int check_overlaps(const struct gw_catalog *c, struct gw_catalog_error *err)
{
    size_t *ix = malloc((c->n_rules + 1) * sizeof(*ix)), bad_i = SIZE_MAX, bad_j = 0;
    if (!ix)
        return GW_ENOMEM;
    for (size_t i = 0; i < c->n_rules; i++)
        ix[i] = i;
    sort_rules = c->rules;
    qsort(ix, c->n_rules, sizeof(*ix), cmp_by_id);
    for (size_t s = 0; s < c->n_rules;) {
        size_t e = s + 1;
        while (e < c->n_rules && strcmp(c->rules[ix[e]].id, c->rules[ix[s]].id) == 0)
            e++;
        for (size_t k = s + 1; k < e; k++) /* each later version against the earlier ones */
            for (size_t m = s; m < k; m++) {
                struct gw_catalog_error scratch;
                if (ix[k] < bad_i && clash(&c->rules[ix[m]], &c->rules[ix[k]], &scratch) != 0) {
                    bad_i = ix[k];
                    bad_j = ix[m];
                    break;
                }
            }
        s = e;
    }
    free(ix);
    return bad_i == SIZE_MAX ? 0 : clash(&c->rules[bad_j], &c->rules[bad_i], err);
}

static size_t first_word(const char *s)
{
    size_t i = 0;
    while (s[i] && gw_rtext_word_at(s + i)) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static int build_indexes(struct gw_catalog *c)
{
    size_t n = 0;
    for (size_t r = 0; r < c->n_rules; r++)
        for (size_t k = 0; k < c->rules[r].n_conds; k++)
            n += c->rules[r].conds[k].n_alts;
    struct gw_rindex_pair *wn = calloc(n + 1, sizeof(*wn)), *wb = calloc(n + 1, sizeof(*wb));
    struct gw_rindex_pair *hn = calloc(n + 1, sizeof(*hn)), *hb = calloc(n + 1, sizeof(*hb));
    c->phrases = calloc(n + 1, sizeof(*c->phrases));
    if (!wn || !wb || !hn || !hb || !c->phrases) {
        free(wn);
        free(wb);
        free(hn);
        free(hb);
        return GW_ENOMEM;
    }
    size_t nw = 0, nh = 0;
    for (size_t r = 0; r < c->n_rules; r++)
        for (size_t k = 0; k < c->rules[r].n_conds; k++) {
            const struct gw_rule_cond *cd = &c->rules[r].conds[k];
            for (size_t a = 0; a < cd->n_alts; a++) {
                uint32_t id = (uint32_t)c->n_phrases++;
                c->phrases[id] = (struct gw_catalog_phrase){(uint32_t)r, (uint32_t)k, (uint32_t)a};
                const char *sn = cd->alts[a].norm, *sb = cd->alts[a].bare;
                if (cd->match == GW_RM_WORDS) {
                    wn[nw] = (struct gw_rindex_pair){sn, first_word(sn), id};
                    wb[nw++] = (struct gw_rindex_pair){sb, first_word(sb), id};
                } else {
                    hn[nh] = (struct gw_rindex_pair){sn, strlen(sn), id};
                    hb[nh++] = (struct gw_rindex_pair){sb, strlen(sb), id};
                }
            }
        }
    int rc = gw_rindex_build(&c->words_norm, wn, nw);
    int rc2 = gw_rindex_build(&c->words_bare, wb, nw);
    int rc3 = gw_rindex_build(&c->whole_norm, hn, nh);
    int rc4 = gw_rindex_build(&c->whole_bare, hb, nh);
    return rc ? rc : rc2 ? rc2 : rc3 ? rc3 : rc4;
}

static int append_version(struct gw_catalog *c, const char *file, const char *version)
{
    size_t old = c->version ? strlen(c->version) : 0;
    size_t add = strlen(file) + 1 + strlen(version) + 2;
    char *v = realloc(c->version, old + add + 1);
    if (!v)
        return GW_ENOMEM;
    snprintf(v + old, add + 1, "%s%s@%s", old ? ", " : "", file, version);
    c->version = v;
    return 0;
}

int gw_catalog_load_texts(const char *const *names, const char *const *texts, size_t n,
                          struct gw_catalog **out, struct gw_catalog_error *err)
{
    struct gw_catalog *c = calloc(1, sizeof(*c));
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    int rc = 0;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (!c || !sha || !(c->files = calloc(n + 1, sizeof(*c->files))) ||
        EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1) {
        free(c ? c->files : NULL);
        free(c);
        EVP_MD_CTX_free(sha);
        return GW_ENOMEM;
    }
    c->refs = 1;
    if (n > GW_CATALOG_MAX_FILES)
        rc = gw_catalog_fail(err, "", 0, "limit", "more than %d catalogue files",
                             GW_CATALOG_MAX_FILES);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *text = strdup(texts[i]), *version = NULL;
        if (!text || !(c->files[c->n_files] = strdup(names[i]))) {
            free(text);
            rc = GW_ENOMEM;
            break;
        }
        const char *file = c->files[c->n_files++];
        EVP_DigestUpdate(sha, file, strlen(file) + 1);
        EVP_DigestUpdate(sha, texts[i], strlen(texts[i]) + 1);
        rc = gw_catalog_parse(c, file, text, &version, err);
        if (rc == 0)
            rc = append_version(c, file, version ? version : "-");
        free(version);
        free(text);
    }
    if (rc == 0)
        rc = check_overlaps(c, err);
    if (rc == 0)
        rc = build_indexes(c);
    if (rc == 0 && !c->version)
        rc = (c->version = strdup("")) ? 0 : GW_ENOMEM;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_DigestFinal_ex(sha, md, &md_len);
    EVP_MD_CTX_free(sha);
    for (size_t i = 0; i < 8; i++)
        snprintf(c->digest + 2 * i, 3, "%02x", md[i]);
    if (rc != 0) {
        catalog_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int gw_catalog_load_dir(const char *dir, struct gw_catalog **out, struct gw_catalog_error *err)
{
    DIR *d = opendir(dir);
    char **names = NULL, **texts = NULL;
    size_t n = 0;
    int rc = 0;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (!d)
        return gw_catalog_fail(err, dir, 0, "io", "cannot open the catalogue directory");
    for (struct dirent *e; (e = readdir(d)) && rc == 0;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        if (n >= GW_CATALOG_MAX_FILES) {
            rc = gw_catalog_fail(err, dir, 0, "limit", "more than %d catalogue files",
                                 GW_CATALOG_MAX_FILES);
            break;
        }
        char **v = realloc(names, (n + 1) * sizeof(*v));
        if (!v || !(v[n] = strdup(e->d_name))) {
            names = v ? v : names;
            rc = GW_ENOMEM;
            break;
        }
        names = v;
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = gw_catalog_fail(err, dir, 0, "io", "no *.ini file in the catalogue directory");
    if (rc == 0) {
        qsort(names, n, sizeof(*names), cmp_name);
        rc = (texts = calloc(n, sizeof(*texts))) ? 0 : GW_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int frc = gw_file_read(path, GW_CATALOG_MAX_FILE, (uint8_t **)&texts[i], &len);
        if (frc == GW_ELIMIT)
            rc = gw_catalog_fail(err, names[i], 0, "limit", "larger than %zu bytes",
                                 GW_CATALOG_MAX_FILE);
        else if (frc == GW_ENOMEM)
            rc = frc;
        else if (frc != 0)
            rc = gw_catalog_fail(err, names[i], 0, "io", "cannot be read");
        else if (strlen(texts[i]) != len)
            rc = gw_catalog_fail(err, names[i], 0, "syntax", "holds a NUL byte");
    }
    if (rc == 0)
        rc = gw_catalog_load_texts((const char *const *)names, (const char *const *)texts, n, out,
                                   err);
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        if (texts)
            free(texts[i]);
    }
    free(names);
    free(texts);
    return rc;
}
