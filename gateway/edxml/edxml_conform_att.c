/*
 * Conformance of the manifest and the attachments: every Reference has its Attachment and every
 * Attachment its Reference (by ContentId, "cid:" stripped; sorted, so linear-logarithmic in their
 * number), names present, and the declared types agree with each other and with the bytes (a
 * ZIP-wrapped PDF counts as its entry's type).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxml/edxml_conform.h"
#include "edxml/edxml_conform_internal.h"
#include "util/common.h"
#include "util/error.h"

struct cid {
    const char *s; /* into the document, "cid:" and surrounding space/brackets stripped */
    size_t len;
    size_t index; /* 0-based */
    bool ref;     /* a Reference (else an Attachment) */
};

static void strip_cid(const char *in, const char **s, size_t *len)
{
    const char *b = in, *e;

    while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
        b++;
    if (strncasecmp(b, "cid:", 4) == 0)
        b += 4;
    e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    if (e - b >= 2 && *b == '<' && e[-1] == '>') {
        b++;
        e--;
    }
    *s = b;
    *len = (size_t)(e - b);
}

static int cid_cmp(const void *pa, const void *pb)
{
    const struct cid *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);

    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->ref != b->ref)
        return a->ref ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The stripped id, quoted. */
static const char *quote_cid(const struct cid *c, char *out, size_t n)
{
    char tmp[96];
    size_t k = c->len < sizeof(tmp) - 1 ? c->len : sizeof(tmp) - 1;

    memcpy(tmp, c->s, k);
    tmp[k] = '\0';
    return gw_conform_quote(tmp, out, n);
}

static int item_path(char *xp, size_t n, const struct cid *c)
{
    return snprintf(xp, n, "%s[%zu]/ContentId", c->ref ? GW_XP_REF : GW_XP_ATT, c->index + 1);
}

/* Groups equal ids: a group without a Reference or without an Attachment is a finding, and so is
 * a second Reference or Attachment with the same id. */
static int check_groups(struct gw_edxml_doc *doc, struct cid *v, size_t n)
{
    char xp[160], q[96];
    size_t i = 0;
    int rc = 0;

    while (i < n && rc == 0) {
        size_t j = i, refs = 0, atts = 0;
        while (j < n && v[j].len == v[i].len && memcmp(v[j].s, v[i].s, v[i].len) == 0)
            j++;
        for (size_t k = i; k < j && rc == 0; k++) {
            bool dup = v[k].ref ? refs++ > 0 : atts++ > 0;
            item_path(xp, sizeof(xp), &v[k]);
            if (dup)
                rc = gw_conform_add(doc, "duplicate_content_id", GW_EDXML_STRICT, xp,
                                    "ContentId '%s' is used by more than one %s",
                                    quote_cid(&v[k], q, sizeof(q)),
                                    v[k].ref ? "Reference" : "Attachment");
        }
        if (rc == 0 && atts == 0) {
            item_path(xp, sizeof(xp), &v[i]);
            rc = gw_conform_add(doc, "reference_without_attachment", GW_EDXML_STRICT, xp,
                                "manifest Reference '%s' has no Attachment with that ContentId",
                                quote_cid(&v[i], q, sizeof(q)));
        } else if (rc == 0 && refs == 0) {
            item_path(xp, sizeof(xp), &v[i]);
            rc = gw_conform_add(doc, "attachment_without_reference", GW_EDXML_STRICT, xp,
                                "Attachment '%s' has no manifest Reference",
                                quote_cid(&v[i], q, sizeof(q)));
        }
        i = j;
    }
    return rc;
}

static int check_links(struct gw_edxml_doc *doc)
{
    size_t n = doc->n_references + doc->n_attachments, m = 0;
    struct cid *v;
    char xp[160];
    int rc = 0;

    if (n == 0)
        return 0;
    v = calloc(n, sizeof(*v));
    if (!v)
        return GW_ENOMEM;
    for (size_t i = 0; i < doc->n_references + doc->n_attachments && rc == 0; i++) {
        bool ref = i < doc->n_references;
        size_t idx = ref ? i : i - doc->n_references;
        const char *id = ref ? doc->references[idx].content_id : doc->attachments[idx].content_id;
        struct cid c = {.index = idx, .ref = ref};

        if (id)
            strip_cid(id, &c.s, &c.len);
        if (!id || c.len == 0) {
            snprintf(xp, sizeof(xp), "%s[%zu]", ref ? GW_XP_REF : GW_XP_ATT, idx + 1);
            rc = gw_conform_add(doc, "missing_content_id", GW_EDXML_STRICT, xp,
                                "%s without a ContentId", ref ? "Reference" : "Attachment");
            continue;
        }
        v[m++] = c;
    }
    if (rc == 0) {
        qsort(v, m, sizeof(*v), cid_cmp);
        rc = check_groups(doc, v, m);
    }
    free(v);
    return rc;
}

/* Lower-cased media type without parameters; "" for NULL. */
static void norm_type(const char *in, char *out, size_t n)
{
    size_t k = 0;

    if (!in)
        in = "";
    while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
        in++;
    for (; *in && *in != ';' && k + 1 < n; in++) {
        char c = *in;
        out[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    while (k > 0 &&
           (out[k - 1] == ' ' || out[k - 1] == '\t' || out[k - 1] == '\n' || out[k - 1] == '\r'))
        k--;
    out[k] = '\0';
}

static const char *alias(const char *t)
{
    static const char *const map[][2] = {
        {"application/x-pdf", "application/pdf"},
        {"application/acrobat", "application/pdf"},
        {"application/x-zip-compressed", "application/zip"},
        {"application/x-zip", "application/zip"},
        {"application/zip-compressed", "application/zip"},
        {"text/rtf", "application/rtf"},
        {"multipart/x-zip", "application/zip"},
        {"image/jpg", "image/jpeg"},
        {"image/pjpeg", "image/jpeg"},
        {"text/xml", "application/xml"},
        {"image/x-png", "image/png"},
    };
    for (size_t i = 0; i < GW_ARRAY_LEN(map); i++)
        if (strcmp(t, map[i][0]) == 0)
            return map[i][1];
    return t;
}

static bool zip_family(const char *t)
{
    return strcmp(t, "application/zip") == 0 ||
           strncmp(t, "application/vnd.openxmlformats-officedocument.", 46) == 0 ||
           strncmp(t, "application/vnd.oasis.opendocument.", 35) == 0 ||
           strncmp(t, "application/vnd.ms-", 19) == 0 ||
           (strlen(t) > 4 && strcmp(t + strlen(t) - 4, "+zip") == 0) ||
           strcmp(t, "application/java-archive") == 0;
}

static bool ole_family(const char *t)
{
    return strcmp(t, "application/msword") == 0 || strncmp(t, "application/vnd.ms-", 19) == 0 ||
           strcmp(t, "application/x-ole-storage") == 0 || strcmp(t, "application/x-cfb") == 0 ||
           strcmp(t, "application/vnd.visio") == 0;
}

/* Whether two types name the same kind of bytes; b may be a detected type. */
static bool same_type(const char *a_in, const char *b_in)
{
    char a[96], b[96];

    norm_type(a_in, a, sizeof(a));
    norm_type(b_in, b, sizeof(b));
    if (!a[0] || !b[0] || strcmp(a, "application/octet-stream") == 0 ||
        strcmp(b, "application/octet-stream") == 0)
        return true; /* unknown on one side: nothing to compare */
    if (strcmp(alias(a), alias(b)) == 0)
        return true;
    /* An OOXML/ODF file is a zip by nature; an OLE detector does not tell doc from xls. */
    if ((strcmp(alias(b), "application/zip") == 0 && zip_family(alias(a))) ||
        (strcmp(alias(a), "application/zip") == 0 && zip_family(alias(b))))
        return true;
    if ((strcmp(b, "application/x-ole-storage") == 0 || strcmp(b, "application/x-cfb") == 0) &&
        ole_family(a))
        return true;
    if (strncmp(a, "text/", 5) == 0 && strcmp(b, "text/plain") == 0)
        return true;
    return false;
}

static int check_attachment(struct gw_edxml_doc *doc, size_t i)
{
    const struct gw_edxml_attachment *a = &doc->attachments[i];
    char xp[160], q1[96], q2[96], q3[96];
    const char *actual = a->unwrapped ? a->unwrapped_type : a->detected_type;
    int rc = 0;

    if (!a->name || !a->name[0]) {
        snprintf(xp, sizeof(xp), GW_XP_ATT "[%zu]/AttachmentName", i + 1);
        rc = gw_conform_add(doc, "missing_attachment_name", GW_EDXML_STRICT, xp,
                            "Attachment without an AttachmentName");
    }
    snprintf(xp, sizeof(xp), GW_XP_ATT "[%zu]/ContentType", i + 1);
    if (rc == 0 && (!a->content_type || !a->content_type[0]))
        rc = gw_conform_add(doc, "missing_content_type", GW_EDXML_STRICT, xp,
                            "Attachment without a ContentType");
    if (rc == 0 && a->content_type && a->content_type[0] && a->manifest_type &&
        a->manifest_type[0] && !same_type(a->manifest_type, a->content_type))
        rc = gw_conform_add(doc, "manifest_type_mismatch", GW_EDXML_STRICT, xp,
                            "the manifest declares '%s' but the Attachment declares '%s'",
                            gw_conform_quote(a->manifest_type, q1, sizeof(q1)),
                            gw_conform_quote(a->content_type, q2, sizeof(q2)));
    /* The declared type must match the bytes as sent, or the entry of an unwrapped archive. */
    if (rc == 0 && a->content_type && a->content_type[0] &&
        !same_type(a->content_type, a->detected_type) &&
        !(a->unwrapped && same_type(a->content_type, a->unwrapped_type)))
        rc = gw_conform_add(doc, "content_type_mismatch", GW_EDXML_STRICT, xp,
                            "declared '%s' but the bytes are '%s'%s%s",
                            gw_conform_quote(a->content_type, q1, sizeof(q1)),
                            gw_conform_quote(actual, q2, sizeof(q2)),
                            a->unwrapped ? " inside a ZIP holding " : "",
                            a->unwrapped ? gw_conform_quote(a->entry_name, q3, sizeof(q3)) : "");
    return rc;
}

int gw_conform_attachments(struct gw_edxml_doc *doc)
{
    char xp[160];
    int rc = check_links(doc);

    for (size_t i = 0; i < doc->n_references && rc == 0; i++) {
        const struct gw_edxml_reference *r = &doc->references[i];
        if (!r->attachment_name || !r->attachment_name[0]) {
            snprintf(xp, sizeof(xp), GW_XP_REF "[%zu]/AttachmentName", i + 1);
            rc = gw_conform_add(doc, "missing_attachment_name", GW_EDXML_STRICT, xp,
                                "manifest Reference without an AttachmentName");
        }
    }
    for (size_t i = 0; i < doc->n_attachments && rc == 0; i++)
        rc = check_attachment(doc, i);
    return rc;
}
