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

static void decide(struct rd *r, struct gw_edxml_attachment *a, struct rd_att *p)
{
    p->decided = true;
    if (!gw_edxml_zip_should_unwrap(p->head, p->nhead, a->content_type, a->name))
        return;
    a->unwrap_tried = true;
    p->fd = open_spool(r->o.tmpdir);
    if (p->fd < 0) {
        rd_fail(r, GW_EIO, "tmpfile", "cannot create a temporary file for an attachment");
        return;
    }
    if (write_all(p->fd, p->head, p->nhead) != 0)
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
        size_t k = sizeof(p->head) - p->nhead < n ? sizeof(p->head) - p->nhead : n;
        memcpy(p->head + p->nhead, b, k);
        p->nhead += k;
        b += k;
        n -= k;
        if (p->nhead < sizeof(p->head))
            return;
        decide(r, a, p);
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

    if (!p || r->st[r->depth - 1].role != R_ATT || p->cte_done)
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
    if (r->end_ok && f->tagged && !f->start.empty && r->end_lt >= a->b64_offset)
        a->b64_len = r->end_lt - a->b64_offset;
}

void rd_att_end(struct rd *r)
{
    struct gw_edxml_attachment *a;
    struct rd_att *p = cur(r, &a);
    unsigned len = 32;

    if (!p)
        return;
    if (!p->decided)
        decide(r, a, p);
    EVP_DigestFinal_ex(p->sha, a->sha256, &len);
    snprintf(a->detected_type, sizeof(a->detected_type), "%s",
             a->size ? gw_edxml_sniff(p->head, p->nhead) : "application/octet-stream");
    if (p->fd >= 0 && !r->err) {
        int rc = unwrap(r, r->doc->n_attachments - 1);
        if (rc != 0)
            rd_fail(r, rc, rc == GW_ENOMEM ? "out_of_memory" : "io_error", "%s", gw_strerror(rc));
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

static bool same_cid(const char *a, const char *b)
{
    a = strip_cid(a);
    b = strip_cid(b);
    size_t na = strcspn(a, ">"), nb = strcspn(b, ">");
    return na == nb && na > 0 && memcmp(a, b, na) == 0;
}

/* The ZIP rule's unwrap of attachment i, spooled: done as soon as the attachment ends, so that at
 * most one temporary file is open whatever the number of attachments. */
static int unwrap(struct rd *r, size_t i)
{
    struct gw_edxml_doc *d = r->doc;
    struct gw_edxml_attachment *a = &d->attachments[i];
    struct rd_att *p = &r->att[i];
    struct gw_edxml_zip_limits lim = {r->o.max_unzipped_bytes, r->o.max_zip_ratio};
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

    for (size_t i = 0; i < d->n_attachments; i++) {
        struct gw_edxml_attachment *a = &d->attachments[i];
        int rc;

        for (size_t k = 0; k < d->n_references; k++) {
            if (!a->manifest_type && same_cid(a->content_id, d->references[k].content_id) &&
                d->references[k].content_type) {
                a->manifest_type = strdup(d->references[k].content_type);
                if (!a->manifest_type)
                    return GW_ENOMEM;
            }
        }
        if (r->att[i].fd >= 0 && (rc = unwrap(r, i)) != 0)
            return rc;
    }
    return 0;
}
