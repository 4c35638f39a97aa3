/*
 * Entry point of the PDF signature inspection: limits, the arena that holds every parsed value
 * for one call, file-level findings, and the report's life cycle. The work itself is in
 * pdf_rev.c (revisions), pdf_field.c (signatures) and pdf_change.c (changes after signing).
 */
#include "sig/pdf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

void gw_pdf_limits_default(struct gw_pdf_limits *l)
{
    l->max_objects = 500000;
    l->max_revisions = 64;
    l->max_contents = 1u << 20;
    l->max_sigs = 64;
    l->max_depth = 32;
    l->max_stream = 64u << 20;
    l->max_memory = 512u << 20;
}

const char *gw_pdf_change_name(enum gw_pdf_change c)
{
    return c == GW_PDF_DISALLOWED ? "disallowed" : c == GW_PDF_ALLOWED ? "allowed" : "unchanged";
}

static struct pdf_blk *new_blk(struct pdf_doc *d, size_t size)
{
    struct pdf_blk *b;

    if (d->mem + size > d->lim.max_memory) {
        pdf_fail(d, "memory_limit", "parsed objects exceed %zu bytes", d->lim.max_memory);
        return NULL;
    }
    if (!(b = malloc(sizeof(*b) + size))) {
        d->nomem = true;
        return NULL;
    }
    d->mem += size;
    b->size = size;
    b->used = 0;
    return b;
}

void *pdf_alloc(struct pdf_doc *d, size_t n)
{
    struct pdf_blk *b = d->arena;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (!n)
        n = 16;
    if (n > (64u << 10)) {
        if (!(b = new_blk(d, n)))
            return NULL;
        if (d->arena) { /* keep the current block on top */
            b->next = d->arena->next;
            d->arena->next = b;
        } else {
            b->next = NULL;
            d->arena = b;
        }
        b->used = n;
        memset(b->data, 0, n);
        return b->data;
    }
    if (!b || b->size - b->used < n) {
        if (!(b = new_blk(d, 256u << 10)))
            return NULL;
        b->next = d->arena;
        d->arena = b;
    }
    p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

uint8_t *pdf_alloc_big(struct pdf_doc *d, size_t n)
{
    return pdf_alloc(d, n ? n : 1);
}

void pdf_fail(struct pdf_doc *d, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (d->error)
        return;
    d->error = code;
    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
    va_end(ap);
}

void pdf_finding(struct pdf_doc *d, const char *code, const char *fmt, ...)
{
    struct gw_pdf_finding *nf;
    char buf[512];
    va_list ap;

    if (d->nfind >= 64)
        return;
    for (unsigned i = 0; i < d->nfind; i++)
        if (strcmp(d->findings[i].code, code) == 0 && strcmp(code, "trailing_bytes") != 0)
            return; /* one of each kind is enough */
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    nf = realloc(d->findings, (d->nfind + 1) * sizeof(*nf));
    if (!nf) {
        d->nomem = true;
        return;
    }
    d->findings = nf;
    nf[d->nfind].code = code;
    if (!(nf[d->nfind].message = strdup(buf))) {
        d->nomem = true;
        return;
    }
    d->nfind++;
}

static void sig_free(struct gw_pdf_sig *s)
{
    free(s->type);
    free(s->subfilter);
    free(s->filter);
    free(s->m);
    free(s->name);
    free(s->reason);
    free(s->location);
    free(s->field);
    free(s->contents);
    free(s->changes);
}

void gw_pdf_report_free(struct gw_pdf_report *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->n_sigs; i++)
        sig_free(&r->sigs[i]);
    for (unsigned i = 0; i < r->n_findings; i++)
        free(r->findings[i].message);
    free(r->sigs);
    free(r->findings);
    free(r->revision_end);
    free(r);
}

static void doc_free(struct pdf_doc *d)
{
    pdf_roles_free(d);
    while (d->arena) {
        struct pdf_blk *b = d->arena;

        d->arena = b->next;
        free(b);
    }
    for (unsigned i = 0; i < d->nfind; i++)
        free(d->findings[i].message);
    free(d->findings);
    free(d->revs);
    free(d);
}

static bool has_header(const uint8_t *buf, size_t len)
{
    size_t n = len < 1024 ? len : 1024;

    for (size_t i = 0; i + 5 <= n; i++)
        if (memcmp(buf + i, "%PDF-", 5) == 0)
            return true;
    return false;
}

struct pdf_doc *pdf_doc_open(const uint8_t *buf, size_t len, const struct gw_pdf_limits *lim)
{
    struct pdf_doc *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->buf = buf;
    d->len = len;
    if (lim)
        d->lim = *lim;
    else
        gw_pdf_limits_default(&d->lim);
    if (buf && has_header(buf, len))
        pdf_revisions_read(d);
    else
        pdf_fail(d, "not_pdf", "no %%PDF- header in the first 1024 bytes");
    return d;
}

void pdf_doc_close(struct pdf_doc *d)
{
    if (d)
        doc_free(d);
}

int gw_pdf_inspect(const uint8_t *buf, size_t len, const struct gw_pdf_limits *lim,
                   struct gw_pdf_report **out)
{
    struct pdf_doc *d = calloc(1, sizeof(*d));
    struct gw_pdf_report *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (!d || !r) {
        free(d);
        free(r);
        return GW_ENOMEM;
    }
    d->buf = buf;
    d->len = len;
    if (lim)
        d->lim = *lim;
    else
        gw_pdf_limits_default(&d->lim);
    if (!buf || !has_header(buf, len)) {
        pdf_fail(d, "not_pdf", "no %%PDF- header in the first 1024 bytes");
        goto done;
    }
    if (!pdf_revisions_read(d) || d->nomem)
        goto done;
    r->revision_end = malloc(d->nrev * sizeof(uint64_t));
    if (!r->revision_end) {
        d->nomem = true;
        goto done;
    }
    r->n_revisions = d->nrev;
    for (unsigned i = 0; i < d->nrev; i++)
        r->revision_end[i] = d->revs[i].end;
    if (pdf_sigs_find(d, r) && !d->nomem)
        pdf_changes_classify(d, r);
done:
    if (d->nomem) {
        gw_pdf_report_free(r);
        doc_free(d);
        return GW_ENOMEM;
    }
    r->error = d->error;
    if (d->error)
        memcpy(r->error_detail, d->detail, sizeof(r->error_detail));
    r->findings = d->findings;
    r->n_findings = d->nfind;
    d->findings = NULL;
    d->nfind = 0;
    doc_free(d);
    *out = r;
    return 0;
}
