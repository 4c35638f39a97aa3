/*
 * Attachment bytes on the way through the reader: ContentTransferEncoded text decoded in bulk
 * (edxml_b64.c), the decoded size against the local limit, SHA-256 (OpenSSL EVP), the first 16
 * bytes for sniffing, the ZIP rule's spool (an unlinked temporary file) and, at finish, the
 * bounded unwrap (edxml_zip.h) and the link to the manifest Reference by ContentId.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "edxml/edxml_rd.h"
#include "edxml/edxml_zip.h"
#include "util/error.h"

static int unwrap(struct rd *r, size_t i);

void rd_att_begin(struct rd *r, struct gw_edxml_attachment *a, struct rd_att *p)
{
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    r->nahead = 0;
    p->sha = EVP_MD_CTX_new();
    if (!p->sha || EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL) != 1)
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
}

static struct rd_att *cur(struct rd *r, struct gw_edxml_attachment **a)
{
    if (r->doc->n_attachments == 0)
        return NULL;
    *a = &r->doc->attachments[r->doc->n_attachments - 1];
    return &r->att[r->doc->n_attachments - 1];
}

static int open_spool(const char *dir)
{
    char path[4096];
    int fd;

    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    snprintf(path, sizeof(path), "%s/gw-edxml-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return GW_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static bool pk_head(const struct rd *r)
{
    return r->nahead >= 4 && memcmp(r->ahead, "PK\3\4", 4) == 0;
}

/* Once the head is known: a PK-prefixed attachment is spooled whatever its metadata says so far
 * (the ZIP rule is applied when the attachment ends, with all of its ContentType and name,
 * whatever the element order), up to RD_MAX_SPOOLED per package. */
static void decide(struct rd *r, struct rd_att *p)
{
    p->decided = true;
    if (!pk_head(r) || r->nspooled >= RD_MAX_SPOOLED)
        return;
    r->nspooled++;
    p->fd = open_spool(r->o.tmpdir);
    if (p->fd < 0) {
        rd_fail(r, GW_EIO, "tmpfile", "cannot create a temporary file for an attachment");
        return;
    }
    if (write_all(p->fd, r->ahead, r->nahead) != 0)
        rd_fail(r, GW_EIO, "tmpfile", "cannot write an attachment's temporary file");
}

static void bytes(struct rd *r, struct gw_edxml_attachment *a, struct rd_att *p, const uint8_t *b,
                  size_t n)
{
    if (n == 0)
        return;
    a->size += n;
    if (a->size > r->o.max_attachment_bytes) {
        rd_fail(r, GW_E2BIG, "attachment_too_large",
                "an attachment decodes to more than %llu bytes",
                (unsigned long long)r->o.max_attachment_bytes);
        return;
    }
    EVP_DigestUpdate(p->sha, b, n);
    if (!p->decided) {
        size_t k = RD_ATT_HEAD - r->nahead < n ? RD_ATT_HEAD - r->nahead : n;
        memcpy(r->ahead + r->nahead, b, k);
        r->nahead += k;
        b += k;
        n -= k;
        if (r->nahead < RD_ATT_HEAD)
            return;
        decide(r, p);
    }
    if (p->fd >= 0 && n > 0 && write_all(p->fd, b, n) != 0)
        rd_fail(r, GW_EIO, "tmpfile", "cannot write an attachment's temporary file");
}

static void bad_base64(struct rd *r)
{
    char xp[512];

    rd_xpath(r, NULL, xp, sizeof(xp));
    rd_fail(r, GW_ENOTEDXML, "bad_base64", "attachment text is not base64 (%s)", xp);
}

/* s == NULL: the start of ContentTransferEncoded. */
void rd_att_text(struct rd *r, const char *s, size_t n)
{
    struct gw_edxml_attachment *a;
    struct rd_att *p = cur(r, &a);
    size_t w;

    if (!p || r->st[r->depth - 1].role != R_ATT)
        return;
    if (!s && (p->cte_done || p->in_cte)) {
        /* which of the two would a recipient decode? */
        rd_fail(r, GW_ENOTEDXML, "bad_base64",
                "a second ContentTransferEncoded in one Attachment: the attachment is ambiguous");
        return;
    }
    if (p->cte_done)
        return;
    if (!s) {
        struct rd_frame *f = &r->st[r->depth];
        p->in_cte = true;
        a->b64_offset = f->tagged ? f->start.gt : 0;
        return;
    }
    if (!p->in_cte)
        return;
    if (r->dec_cap < n / 4 * 3 + 8) {
        size_t cap = n / 4 * 3 + 8 < 96 * 1024 ? 96 * 1024 : n / 4 * 3 + 8;
        uint8_t *d = realloc(r->dec, cap);
        if (!d) {
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
            return;
        }
        r->dec = d;
        r->dec_cap = cap;
    }
    w = gw_edxml_b64_decode(&p->b64, s, n, r->dec);
    if (w == (size_t)-1) {
        bad_base64(r);
        return;
    }
    bytes(r, a, p, r->dec, w);
}

void rd_att_cte_end(struct rd *r)
{
    struct gw_edxml_attachment *a;
    struct rd_att *p = cur(r, &a);
    struct rd_frame *f = &r->st[r->depth];
    uint8_t tail[3];
    size_t n;
    int rc;

    if (!p || !p->in_cte)
        return;
    p->in_cte = false;
    p->cte_done = true;
    rc = gw_edxml_b64_end(&p->b64, tail, &n);
    if (rc < 0) {
        bad_base64(r);
        return;
    }
    if (rc > 0)
        rd_finding(r, "base64_unpadded", GW_EDXML_STRICT, NULL, "attachment base64 has no padding");
    bytes(r, a, p, tail, n);
    if (r->end_ok && f->tagged && !f->start.empty && r->end_lt >= a->b64_offset) {
        a->b64_len = r->end_lt - a->b64_offset;
        a->b64_plain = r->end_marks == f->start.marks; /* UTF-8 checked at finish */
    }
    if (!a->b64_plain && a->b64_len > 0)
        rd_finding(r, "base64_not_plain", GW_EDXML_STRICT, NULL,
                   "references, comments or CDATA inside the base64: the stored slice is not "
                   "the base64 text");
}

void rd_att_end(struct rd *r)
{
    struct gw_edxml_attachment *a;
    struct rd_att *p = cur(r, &a);
    unsigned len = 32;

    if (!p || !p->sha)
        return;
    if (!p->decided)
        decide(r, p);
    EVP_DigestFinal_ex(p->sha, a->sha256, &len);
    EVP_MD_CTX_free(p->sha);
    p->sha = NULL;
    snprintf(a->detected_type, sizeof(a->detected_type), "%s",
             a->size ? gw_edxml_sniff(r->ahead, r->nahead) : "application/octet-stream");
    if (r->err)
        return;
    a->unwrap_tried = gw_edxml_zip_should_unwrap(r->ahead, r->nahead, a->content_type, a->name);
    if (a->unwrap_tried && p->fd < 0) {
        char xp[96];
        snprintf(xp, sizeof(xp), "/edXML/AttachmentEncoded/Attachment[%zu]", r->doc->n_attachments);
        a->unwrap_error = "zip_not_unwrapped";
        if (gw_edxml_doc_finding(r->doc, "zip_not_unwrapped", GW_EDXML_STRICT, xp,
                                 "more than %d ZIP-wrapped attachments: not unwrapped",
                                 RD_MAX_SPOOLED) != 0)
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
    } else if (a->unwrap_tried) {
        int rc = unwrap(r, r->doc->n_attachments - 1);
        if (rc != 0)
            rd_fail(r, rc, rc == GW_ENOMEM ? "out_of_memory" : "io_error", "%s", gw_strerror(rc));
    } else if (p->fd >= 0) {
        close(p->fd); /* a ZIP by nature (docx, .zip...): kept as sent */
        p->fd = -1;
    }
}

static const char *strip_cid(const char *s)
{
    if (!s)
        return "";
    while (*s == ' ' || *s == '<')
        s++;
    return strncasecmp(s, "cid:", 4) == 0 ? s + 4 : s;
}

/* A ContentId without its "cid:" prefix and angle brackets: the span compared. */
struct cid_key {
    const char *s;
    size_t n, idx;
};

static struct cid_key cid_key(const char *s, size_t idx)
{
    struct cid_key k;

    k.s = strip_cid(s);
    k.n = strcspn(k.s, ">");
    k.idx = idx;
    return k;
}

static int cid_cmp(const struct cid_key *a, const struct cid_key *b)
{
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    if (c != 0)
        return c;
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

static int key_order(const void *x, const void *y)
{
    const struct cid_key *a = x, *b = y;
    int c = cid_cmp(a, b);
    return c != 0 ? c : a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

/* The manifest type of each attachment: the first Reference with its ContentId and a
 * ContentType, found in references sorted once (O(n log n) whatever the counts). */
static int link_references(struct gw_edxml_doc *d)
{
    struct cid_key *keys;
    size_t n = 0;

    if (d->n_references == 0 || d->n_attachments == 0)
        return 0;
    keys = malloc(d->n_references * sizeof(*keys));
    if (!keys)
        return GW_ENOMEM;
    for (size_t k = 0; k < d->n_references; k++) {
        if (!d->references[k].content_type)
            continue;
        keys[n] = cid_key(d->references[k].content_id, k);
        if (keys[n].n > 0)
            n++;
    }
    qsort(keys, n, sizeof(*keys), key_order);
    for (size_t i = 0; i < d->n_attachments; i++) {
        struct gw_edxml_attachment *a = &d->attachments[i];
        struct cid_key want = cid_key(a->content_id, 0);
        size_t lo = 0, hi = n;

        if (a->manifest_type || want.n == 0)
            continue;
        while (lo < hi) { /* first key >= want */
            size_t mid = lo + (hi - lo) / 2;
            if (cid_cmp(&keys[mid], &want) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n && cid_cmp(&keys[lo], &want) == 0) {
            a->manifest_type = strdup(d->references[keys[lo].idx].content_type);
            if (!a->manifest_type) {
                free(keys);
                return GW_ENOMEM;
            }
        }
    }
    free(keys);
    return 0;
}

/* The ZIP rule's unwrap of attachment i, spooled: done as soon as the attachment ends, so that at
 * most one temporary file is open whatever the number of attachments. */
static int unwrap(struct rd *r, size_t i)
{
    struct gw_edxml_doc *d = r->doc;
    struct gw_edxml_attachment *a = &d->attachments[i];
    struct rd_att *p = &r->att[i];
    struct gw_edxml_zip_limits lim = {.max_entry_bytes = r->o.max_unzipped_bytes,
                                      .max_ratio = r->o.max_zip_ratio};
    struct gw_edxml_zip_result res;
    char xp[96];
    int rc;

    snprintf(xp, sizeof(xp), "/edXML/AttachmentEncoded/Attachment[%zu]", i + 1);
    memset(&res, 0, sizeof(res));
    rc = gw_edxml_zip_unwrap(p->fd, &lim, &res);
    close(p->fd);
    p->fd = -1;
    if (rc == GW_ENOMEM || rc == GW_EIO) {
        gw_edxml_zip_result_free(&res);
        return rc;
    }
    if (rc == 0) {
        a->unwrapped = true;
        a->entry_name = res.entry_name;
        res.entry_name = NULL;
        a->unwrapped_size = res.size;
        memcpy(a->unwrapped_sha256, res.sha256, 32);
        memcpy(a->unwrapped_type, res.detected_type, sizeof(a->unwrapped_type));
        a->unwrapped_type[sizeof(a->unwrapped_type) - 1] = '\0';
        rc = gw_edxml_doc_finding(d, "zip_unwrapped", GW_EDXML_NOTE, xp,
                                  "a one-entry ZIP was unwrapped (%s)",
                                  a->entry_name ? a->entry_name : "");
    } else if (res.error && strcmp(res.error, "zip_bomb") == 0) {
        /* A fixed cap, not configuration: an archive that inflates beyond it is a hostile
         * structure aimed at whoever unwraps it, like the XML caps (domain.md §2). */
        rd_fail(r, GW_ENOTEDXML, "zip_bomb",
                "attachment %zu is a ZIP that inflates to more than %u times its size", i + 1,
                r->o.max_zip_ratio);
        rc = 0;
    } else {
        a->unwrap_error = res.error ? res.error : "zip_corrupt";
        rc = gw_edxml_doc_finding(d, a->unwrap_error, GW_EDXML_STRICT, xp,
                                  "the attachment looks like a ZIP but was not unwrapped (%s)",
                                  a->unwrap_error);
    }
    gw_edxml_zip_result_free(&res);
    return rc;
}

/* At finish: what is still spooled (an attachment cut short), and the Reference <-> Attachment
 * link. GW_ENOMEM/GW_EIO. */
int rd_att_finish(struct rd *r)
{
    struct gw_edxml_doc *d = r->doc;

    for (size_t i = 0; i < r->natt; i++) {
        if (r->att[i].fd >= 0) { /* an attachment that never ended */
            close(r->att[i].fd);
            r->att[i].fd = -1;
        }
    }
    return link_references(d);
}
