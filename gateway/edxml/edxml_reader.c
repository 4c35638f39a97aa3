/*
 * Streaming edXML reader (edxml_reader.h): every chunk goes through the package SHA-256, the
 * resumable structural pre-scan (edxml_scan.c) and then the libxml2 SAX2 push parser
 * (edxml_fields.c fills the model). Inside ContentTransferEncoded the base64 text is decoded in
 * bulk, hashed, sniffed and, when the ZIP rule may unwrap it, spooled to an unlinked temporary
 * file that is unwrapped at finish. Memory is bounded by the buffers here whatever the size.
 */
#include "edxml/edxml_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parserInternals.h>

#include "edxml/edxml_rd.h"
#include "edxml/edxml_zip.h"
#include "util/error.h"

#define SLICE      (64 * 1024) /* bytes scanned, then parsed, at a time */
#define STOP_GUARD (64 * 1024) /* bytes libxml2 may see past where the scan stopped */

void gw_edxml_reader_opts_default(struct gw_edxml_reader_opts *o)
{
    memset(o, 0, sizeof(*o));
    gw_edxml_limits_default(&o->limits);
    o->max_attachment_bytes = 64ull * 1024 * 1024;
    o->max_unzipped_bytes = 128ull * 1024 * 1024;
    o->max_zip_ratio = 200;
}

void rd_fail(struct rd *r, int err, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (r->err == 0) {
        r->err = err;
        r->code = code;
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
        va_end(ap);
    }
    if (r->ctxt)
        xmlStopParser(r->ctxt);
}

void rd_finding(struct rd *r, const char *code, enum gw_edxml_severity sev, const char *leaf,
                const char *fmt, ...)
{
    char xp[512], msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rd_xpath(r, leaf, xp, sizeof(xp));
    if (gw_edxml_doc_finding(r->doc, code, sev, xp, "%s", msg) != 0)
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
}

/* ---- scanner tags, queued for the SAX callbacks ---- */

static int on_tag(void *ud, const struct gw_edxml_tag *t)
{
    struct rd *r = ud;

    if (r->qn == r->qcap) {
        size_t cap = r->qcap ? r->qcap * 2 : 256;
        struct gw_edxml_tag *q = malloc(cap * sizeof(*q));
        if (!q)
            return GW_ENOMEM;
        for (size_t i = 0; i < r->qn; i++)
            q[i] = r->q[(r->qh + i) % r->qcap];
        free(r->q);
        r->q = q;
        r->qh = 0;
        r->qcap = cap;
    }
    r->q[(r->qh + r->qn) % r->qcap] = *t;
    r->qn++;
    return 0;
}

/* ---- libxml2 ---- */

static void on_error(void *ud, xmlErrorPtr e)
{
    struct rd *r = ud;
    char text[120];
    size_t n;

    if (!e || e->level < XML_ERR_ERROR || r->err)
        return;
    /* Namespace errors (an undeclared prefix above all) are recovered: libxml2 goes on with the
     * element in no namespace; edxml_fields.c records the finding. */
    if (e->domain == XML_FROM_NAMESPACE)
        return;
    if (e->code == XML_ERR_NO_MEMORY) {
        r->err = GW_ENOMEM;
        r->code = "out_of_memory";
        snprintf(r->msg, sizeof(r->msg), "out of memory while parsing");
        return;
    }
    snprintf(text, sizeof(text), "%s", e->message ? e->message : "error");
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    r->err = GW_EPARSE;
    r->code = "not_well_formed";
    snprintf(r->msg, sizeof(r->msg), "XML not well-formed (line %d): %s", e->line, text);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

void gw_edxml_xml_init(void)
{
    pthread_once(&xml_once, xml_init);
}

/* One call into libxml2 (the caller has pointed this thread's structured error handler at r:
 * some encoding errors are raised without a context, and libxml2 must never print). */
void rd_parse_chunk(struct rd *r, const unsigned char *p, size_t n, bool terminate)
{
    xmlParseChunk(r->ctxt, (const char *)p, (int)n, terminate);
    if (r->err == 0 && r->ctxt->wellFormed == 0 && r->ctxt->errNo != 0 &&
        r->ctxt->errNo < XML_NS_ERR_XML_NAMESPACE)
        rd_fail(r, GW_EPARSE, "not_well_formed", "XML not well-formed");
}

static int start_parser(struct rd *r, const unsigned char *p, size_t n)
{
    size_t first = n < 4 ? n : 4; /* libxml2 detects the encoding from the first 4 bytes */

    gw_edxml_xml_init();
    rd_sax_init(&r->sax);
    r->ctxt = xmlCreatePushParserCtxt(&r->sax, r, (const char *)p, (int)first, NULL);
    if (!r->ctxt)
        return GW_ENOMEM;
    /* No NOENT, no DTDLOAD/DTDATTR/DTDVALID, no XINCLUDE. HUGE lifts libxml2's 10 MB cap on one
     * text node (real attachments exceed it); the gateway's own limits bound the work. */
    xmlCtxtUseOptions(r->ctxt, XML_PARSE_NONET | XML_PARSE_HUGE);
    r->ctxt->replaceEntities = 0;
    r->ctxt->loadsubset = 0;
    r->ctxt->validate = 0;
    r->xml_off = first;
    return 0;
}

/* Scans and parses the next n bytes of the package, at most SLICE at a time. */
static int slice(struct rd *r, const unsigned char *p, size_t n)
{
    while (n > 0 && r->err == 0) {
        size_t k = n < SLICE ? n : SLICE, give, skip = 0;
        uint64_t at = r->proc; /* absolute offset of p[0] */
        int rc = gw_edxml_scanner_feed(&r->scan, p, k);

        r->proc += k;

        if (rc != 0) {
            /* libxml2 first gets the bytes checked before the refusal: an error it finds in them
             * comes first in the document, and wins in every chunking */
            uint64_t upto = r->scan.off < at + k ? r->scan.off : at + k;
            if (rc == GW_EPARSE && upto > r->xml_off && r->xml_off >= at && r->ctxt) {
                rd_parse_chunk(r, p + (r->xml_off - at), (size_t)(upto - r->xml_off), false);
                r->xml_off = upto;
            }
            if (rc == GW_EPARSE)
                rd_fail(r, rc, r->scan.res.code, "%s", r->scan.res.msg);
            else
                rd_fail(r, rc, "out_of_memory", "out of memory");
            break;
        }
        /* bytes libxml2 already has (the first four, passed at creation) */
        if (r->xml_off > at)
            skip = (size_t)(r->xml_off - at < k ? r->xml_off - at : k);
        give = k - skip;
        if (r->scan.stopped && at + k > r->scan.stop_off + STOP_GUARD) {
            uint64_t lim = r->scan.stop_off + STOP_GUARD;
            give = lim > at + skip ? (size_t)(lim - at - skip) : 0;
        }
        if (give > 0) {
            rd_parse_chunk(r, p + skip, give, false);
            r->xml_off += give;
        }
        if (r->err == 0 && r->scan.stopped && r->xml_off >= r->scan.stop_off + STOP_GUARD)
            rd_fail(r, GW_EPARSE, "not_well_formed", "XML not well-formed");
        p += k;
        n -= k;
    }
    return r->err;
}

/* Hands the bytes after the head to slice() in pieces of SLICE bytes at fixed offsets, whatever
 * the caller's chunking: libxml2 sees the same sequence of calls (and converts, reports and calls
 * back in the same order) for any chunking. */
static int process(struct rd *r, const unsigned char *p, size_t n)
{
    while (n > 0 && r->err == 0) {
        size_t k;
        if (r->nslice == 0 && n >= SLICE) {
            slice(r, p, SLICE);
            p += SLICE;
            n -= SLICE;
            continue;
        }
        k = SLICE - r->nslice < n ? SLICE - r->nslice : n;
        memcpy(r->sbuf + r->nslice, p, k);
        r->nslice += k;
        p += k;
        n -= k;
        if (r->nslice == SLICE) {
            r->nslice = 0;
            slice(r, r->sbuf, SLICE);
        }
    }
    return r->err;
}

int rd_flush(struct rd *r)
{
    size_t n = r->nslice;

    r->nslice = 0;
    if (n > 0 && r->err == 0)
        slice(r, r->sbuf, n);
    return r->err;
}

int rd_begin(struct rd *r)
{
    int rc;

    r->begun = true;
    if (r->nhead == 0)
        return 0;
    rc = gw_edxml_scanner_begin(&r->scan, r->head, r->nhead);
    if (rc != 0) {
        rd_fail(r, rc, r->scan.res.code, "%s", r->scan.res.msg);
        return rc;
    }
    rc = start_parser(r, r->head, r->nhead);
    if (rc != 0) {
        rd_fail(r, rc, "out_of_memory", "out of memory");
        return rc;
    }
    rc = slice(r, r->head, r->nhead);
    free(r->head);
    r->head = NULL;
    return rc;
}

struct gw_edxml_reader *gw_edxml_reader_new(const struct gw_edxml_reader_opts *opts)
{
    struct rd *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (opts)
        r->o = *opts;
    else
        gw_edxml_reader_opts_default(&r->o);
    if (!r->o.max_attachment_bytes)
        r->o.max_attachment_bytes = 64ull * 1024 * 1024;
    if (!r->o.max_unzipped_bytes)
        r->o.max_unzipped_bytes = 128ull * 1024 * 1024;
    if (!r->o.max_zip_ratio)
        r->o.max_zip_ratio = 200;
    if (!r->o.limits.max_depth)
        r->o.limits.max_depth = GW_EDXML_MAX_DEPTH;
    if (!r->o.limits.max_bytes)
        r->o.limits.max_bytes = 64u * 1024 * 1024;
    if (!r->o.limits.max_recipients)
        r->o.limits.max_recipients = 1000;
    gw_edxml_scanner_init(&r->scan, on_tag, r);
    r->doc = calloc(1, sizeof(*r->doc));
    r->head = malloc(GW_EDXML_SCAN_HEAD);
    r->cap = malloc(64 * 1024 + 1);
    r->keep = malloc(64 * 1024);
    r->sbuf = malloc(SLICE);
    r->keep_cap = 64 * 1024;
    r->sha = EVP_MD_CTX_new();
    if (!r->doc || !r->head || !r->cap || !r->keep || !r->sbuf || !r->sha ||
        EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1) {
        gw_edxml_reader_free((struct gw_edxml_reader *)r);
        return NULL;
    }
    r->keeping = true;
    r->doc->priority = -1;
    r->doc->steering_type = -1;
    r->doc->business.paper = -1;
    r->doc->business.document_info = -1;
    r->doc->business.document_receiver = -1;
    return (struct gw_edxml_reader *)r;
}

static void keep_bytes(struct rd *r, const void *buf, size_t len)
{
    if (r->nkeep >= RD_KEEP_MAX) {
        r->keeping = false; /* the header is too large to copy */
        free(r->keep);
        r->keep = NULL;
        r->nkeep = 0;
        return;
    }
    if (len > RD_KEEP_MAX - r->nkeep)
        len = RD_KEEP_MAX - r->nkeep; /* the header ends within, or is too large */
    if (r->nkeep + len > r->keep_cap) {
        size_t cap = r->keep_cap ? r->keep_cap : 64 * 1024;
        unsigned char *k;
        while (cap < r->nkeep + len)
            cap *= 2;
        k = realloc(r->keep, cap);
        if (!k) {
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
            return;
        }
        r->keep = k;
        r->keep_cap = cap;
    }
    memcpy(r->keep + r->nkeep, buf, len);
    r->nkeep += len;
}

void rd_errors_to(struct rd *r, struct rd_saved *s)
{
    s->fn = xmlStructuredError;
    s->ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(r, on_error);
}

void rd_errors_back(const struct rd_saved *s)
{
    xmlSetStructuredErrorFunc(s->ctx, s->fn);
}

static int feed(struct rd *r, const unsigned char *p, size_t len);

int gw_edxml_reader_feed(struct gw_edxml_reader *rr, const void *buf, size_t len)
{
    struct rd *r = (struct rd *)rr;
    struct rd_saved s;
    int rc;

    rd_errors_to(r, &s);
    rc = feed(r, buf, len);
    rd_errors_back(&s);
    return rc;
}

static int feed(struct rd *r, const unsigned char *p, size_t len)
{
    const void *buf = p;

    if (r->err || len == 0)
        return r->err;
    if (r->finished)
        return GW_EINVAL;
    if (r->off + len > r->o.limits.max_bytes) {
        rd_fail(r, GW_E2BIG, "too_large", "package larger than %zu bytes", r->o.limits.max_bytes);
        return r->err;
    }
    r->off += len;
    if (!r->o.no_package_sha256)
        EVP_DigestUpdate(r->sha, buf, len);
    if (r->keeping)
        keep_bytes(r, buf, len);
    if (!r->begun) {
        size_t k = GW_EDXML_SCAN_HEAD - r->nhead < len ? GW_EDXML_SCAN_HEAD - r->nhead : len;
        memcpy(r->head + r->nhead, p, k);
        r->nhead += k;
        p += k;
        len -= k;
        if (r->nhead < GW_EDXML_SCAN_HEAD)
            return 0;
        if (rd_begin(r) != 0)
            return r->err;
    }
    return process(r, p, len);
}

uint64_t gw_edxml_reader_offset(const struct gw_edxml_reader *rr)
{
    return ((const struct rd *)rr)->off;
}

void gw_edxml_reader_free(struct gw_edxml_reader *rr)
{
    struct rd *r = (struct rd *)rr;

    if (!r)
        return;
    if (r->ctxt) {
        struct rd_saved s;
        rd_errors_to(r, &s);
        xmlFreeParserCtxt(r->ctxt);
        rd_errors_back(&s);
    }
    for (size_t i = 0; i < r->natt; i++) {
        if (r->att[i].fd >= 0)
            close(r->att[i].fd);
        EVP_MD_CTX_free(r->att[i].sha);
    }
    if (r->doc) {
        gw_edxml_doc_free(r->doc);
        free(r->doc);
    }
    free(r->att);
    free(r->dec);
    free(r->head);
    free(r->cap);
    free(r->keep);
    free(r->sbuf);
    free(r->q);
    for (size_t i = 0; i < r->nns; i++) {
        free(r->nsp[i]);
        free(r->nsu[i]);
    }
    free(r->nsp);
    free(r->nsu);
    free(r->list_prefix);
    free(r->trace_prefix);
    free(r->msg_prefix);
    gw_edxml_rcpt_free(&r->rcpt);
    EVP_MD_CTX_free(r->sha);
    free(r);
}
