/*
 * Status packages (QĐ 28/2018, domain.md §3): the nine codes, their meaning, whose timeline a
 * status belongs to, and the package the gateway builds when it answers for one of the
 * province's agencies. Strict in what it sends: the QCVN 102 namespace under the edXML prefix,
 * the fields in schema order, every value checked as XML-safe UTF-8 and escaped.
 */
#include "edxml/edxml_status.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/error.h"
#include "util/utf8.h"

#define NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"

static const struct {
    const char *code;
    const char *meaning;
} codes[] = {
    {"01", "Đã đến"},
    {"02", "Từ chối tiếp nhận"},
    {"03", "Đã tiếp nhận"},
    {"04", "Phân công"},
    {"05", "Đang xử lý"},
    {"06", "Hoàn thành"},
    {"13", "Lấy lại"},
    {"15", "Đồng ý lấy lại, cập nhật"},
    {"16", "Từ chối lấy lại, cập nhật"},
};

bool gw_edxml_status_known(const char *code)
{
    return gw_edxml_status_meaning(code) != NULL;
}

const char *gw_edxml_status_meaning(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < GW_ARRAY_LEN(codes); i++)
        if (strcmp(code, codes[i].code) == 0)
            return codes[i].meaning;
    return NULL;
}

const char *gw_edxml_status_timeline_recipient(const struct gw_edxml_doc *status)
{
    if (!status || !gw_edxml_status_known(status->status_code))
        return NULL;
    if (strcmp(status->status_code, "13") == 0) /* the recipient asked to give it back */
        return status->n_response_for > 0 ? status->response_for[0].organ_id : NULL;
    return status->from ? status->from : status->sender.organ_id; /* the one answering */
}

/* ---- building ---- */

struct out {
    char *p;
    size_t len, cap;
    int err;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 2048;
        char *p;
        while (cap < o->len + n + 1)
            cap *= 2;
        p = realloc(o->p, cap);
        if (!p) {
            o->err = GW_ENOMEM;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Character data: & < > escaped, and CR as a reference so a parser's line-end normalisation
 * keeps it. */
static void put_text(struct out *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            puts_(o, "&amp;");
            break;
        case '<':
            puts_(o, "&lt;");
            break;
        case '>':
            puts_(o, "&gt;");
            break;
        case '\r':
            puts_(o, "&#13;");
            break;
        default:
            put(o, s, 1);
        }
    }
}

/* Valid UTF-8 made only of XML 1.0 characters (no C0 control but tab, LF, CR; no U+FFFE/FFFF). */
static bool xml_text(const char *s)
{
    size_t n;

    if (!s)
        return true;
    n = strlen(s);
    if (!gw_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return false;
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))
            return false;
    }
    return true;
}

/* Present with something other than white space. */
static bool given(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return true;
    return false;
}

static bool digits(const char *s, const char *shape)
{
    for (; *shape; s++, shape++) {
        if (*shape == 'd' ? (*s < '0' || *s > '9') : *s != *shape)
            return false;
    }
    return *s == '\0';
}

/* "    <edXML:name>value</edXML:name>\n" at the given depth. */
static void leaf(struct out *o, int depth, const char *name, const char *value)
{
    for (int i = 0; i < depth; i++)
        puts_(o, "  ");
    puts_(o, "<edXML:");
    puts_(o, name);
    puts_(o, ">");
    put_text(o, value);
    puts_(o, "</edXML:");
    puts_(o, name);
    puts_(o, ">\n");
}

static void open_tag(struct out *o, int depth, const char *name, bool close)
{
    for (int i = 0; i < depth; i++)
        puts_(o, "  ");
    puts_(o, close ? "</edXML:" : "<edXML:");
    puts_(o, name);
    puts_(o, ">\n");
}

static int check_spec(const struct gw_edxml_status_spec *s)
{
    const char *const fields[] = {
        s->from_organ_id,
        s->from_organ_name,
        s->response_organ_id,
        s->response_code,
        s->response_promulgation_date,
        s->response_document_id,
        s->status_code,
        s->description,
        s->timestamp,
        s->staff,
    };

    if (!gw_edxml_status_known(s->status_code))
        return GW_EINVAL;
    if (!given(s->from_organ_id) || !given(s->response_organ_id) ||
        !given(s->response_document_id) || !s->timestamp)
        return GW_EINVAL;
    if (!digits(s->timestamp, "dddd/dd/dd dd:dd:dd"))
        return GW_EINVAL;
    /* A refusal (02) and a recall request (13) carry their reason. */
    if ((strcmp(s->status_code, "02") == 0 || strcmp(s->status_code, "13") == 0) &&
        !given(s->description))
        return GW_EINVAL;
    for (size_t i = 0; i < GW_ARRAY_LEN(fields); i++)
        if (!xml_text(fields[i]))
            return GW_EINVAL;
    return 0;
}

int gw_edxml_status_build(const struct gw_edxml_status_spec *s, char **out, size_t *len)
{
    struct out o = {0};
    char date[11];
    int rc;

    *out = NULL;
    *len = 0;
    if (!s)
        return GW_EINVAL;
    rc = check_spec(s);
    if (rc != 0)
        return rc;
    puts_(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<edXML:edXML xmlns:edXML=\"" NS "\">\n");
    open_tag(&o, 1, "edXMLEnvelope", false);
    open_tag(&o, 2, "edXMLHeader", false);
    open_tag(&o, 3, "MessageHeader", false);
    open_tag(&o, 4, "From", false);
    leaf(&o, 5, "OrganId", s->from_organ_id);
    if (given(s->from_organ_name))
        leaf(&o, 5, "OrganName", s->from_organ_name);
    open_tag(&o, 4, "From", true);
    open_tag(&o, 4, "ResponseFor", false);
    leaf(&o, 5, "OrganId", s->response_organ_id);
    if (given(s->response_code))
        leaf(&o, 5, "Code", s->response_code);
    /* The original's date as yyyy/MM/dd (some senders write dashes); another form is left out
     * rather than sent non-conforming: the DocumentId identifies the document. */
    if (s->response_promulgation_date && (digits(s->response_promulgation_date, "dddd/dd/dd") ||
                                          digits(s->response_promulgation_date, "dddd-dd-dd"))) {
        memcpy(date, s->response_promulgation_date, sizeof(date));
        date[4] = date[7] = '/';
        leaf(&o, 5, "PromulgationDate", date);
    }
    leaf(&o, 5, "DocumentId", s->response_document_id);
    open_tag(&o, 4, "ResponseFor", true);
    if (given(s->staff)) {
        open_tag(&o, 4, "StaffInfo", false);
        leaf(&o, 5, "Staff", s->staff);
        open_tag(&o, 4, "StaffInfo", true);
    }
    leaf(&o, 4, "StatusCode", s->status_code);
    if (given(s->description))
        leaf(&o, 4, "Description", s->description);
    leaf(&o, 4, "Timestamp", s->timestamp);
    open_tag(&o, 3, "MessageHeader", true);
    /* An empty list with both tags, so a relay can put its TraceHeader inside. */
    puts_(&o, "      <edXML:TraceHeaderList>\n      </edXML:TraceHeaderList>\n");
    open_tag(&o, 2, "edXMLHeader", true);
    open_tag(&o, 2, "edXMLBody", false);
    puts_(&o, "      <edXML:edXMLManifest/>\n");
    open_tag(&o, 2, "edXMLBody", true);
    open_tag(&o, 1, "edXMLEnvelope", true);
    puts_(&o, "</edXML:edXML>\n");
    if (o.err) {
        free(o.p);
        return o.err;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}
