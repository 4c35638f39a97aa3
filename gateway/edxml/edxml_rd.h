#ifndef GW_EDXML_RD_H
#define GW_EDXML_RD_H

/* Private state of the streaming reader, shared by edxml_reader.c (the stream: scan, libxml2,
 * hashes, attachments) and edxml_fields.c (the SAX callbacks that fill the model). */

#include <libxml/parser.h>
#include <openssl/evp.h>

#include "edxml/edxml_internal.h"
#include "edxml/edxml_reader.h"

#define RD_MAX_DEPTH  (GW_EDXML_MAX_DEPTH + 2)
#define RD_WS_MAX     64
#define RD_KEEP_MAX   (1024 * 1024 + 64 * 1024) /* package prefix kept for the header copy */
#define RD_HEADER_MAX (1024 * 1024)
/* Items kept per list (To, TraceHeader, Reference, Attachment, Place...): a local limit
 * (GW_ELIMIT "too_many_items"), so that memory stays bounded by buffers whatever the package. */
#define RD_MAX_ITEMS 10000
/* Fixed caps on repeated elements per package (rd_elem_cap): recipient lists a local limit
 * "too_many_items", the others a verdict "too_many_elements". */
#define RD_CAP_TO    2000 /* To, Receiver, OrganIdList/OrganId (all ReplacementInfo together) */
#define RD_CAP_ATT   500  /* Attachment, Reference, Appendix */
#define RD_CAP_SMALL 100  /* ResponseFor, TraceHeader, ReplacementInfo, ToPlaces/Place */
/* Attachments spooled for the ZIP rule per package; later PK-prefixed ones are not unwrapped
 * (strict finding "zip_not_unwrapped"). */
#define RD_MAX_SPOOLED 64
#define RD_NROLES      96 /* > the number of roles (enum role) */
/* Text of every captured field together (local limit, GW_ELIMIT "too_much_text"). */
#define RD_TEXT_MAX (8 * 1024 * 1024)

struct rd_frame {
    int role;
    const xmlChar *name; /* libxml2 dictionary string: lives as long as the context */
    const xmlChar *prefix;
    unsigned idx; /* position among its list siblings (1-based), 0 when not a list */
    struct gw_edxml_tag start;
    bool tagged;       /* start holds the scanner's tag */
    unsigned char nsn; /* namespace declarations it pushed on rd.nss */
};

/* Namespace declarations in scope (prefix, URI: libxml2 dictionary strings), the scanner's cap
 * of 64 and room to spare. */
#define RD_NS_STACK 128

struct rd_att {
    int fd; /* spooled decoded bytes (ZIP rule), -1 */
    bool decided, in_cte, cte_done;
    EVP_MD_CTX *sha; /* freed as soon as the attachment ends */
    struct gw_edxml_b64 b64;
};

/* Decoded bytes kept from the start of the attachment being read (one at a time): enough for
 * gw_edxml_zip_kind to tell an OOXML/ODF document from a wrapping ZIP. */
#define RD_ATT_HEAD 4096

struct rd {
    struct gw_edxml_reader_opts o;
    struct gw_edxml_scanner scan;
    xmlParserCtxtPtr ctxt;
    xmlSAXHandler sax;
    EVP_MD_CTX *sha;
    uint64_t off, xml_off, proc; /* fed, given to libxml2, scanned */
    unsigned char *head;
    unsigned char *sbuf; /* the slice being filled (edxml_reader.c process) */
    size_t nslice;
    size_t nhead;
    bool begun, finished;
    int err;
    const char *code;
    char msg[200];
    /* scanner tags not yet paired with a SAX callback (ring) */
    struct gw_edxml_tag *q;
    size_t qh, qn, qcap;
    bool tags_lost;
    uint64_t end_lt;    /* '<' of the end tag being handled */
    uint64_t end_marks; /* its gw_edxml_tag.marks */
    bool end_ok;
    /* package prefix kept until edXMLHeader ends */
    unsigned char *keep;
    size_t nkeep, keep_cap;
    bool keeping;
    struct gw_edxml_doc *doc;
    unsigned depth;
    struct rd_frame st[RD_MAX_DEPTH + 1];
    /* text capture */
    int cap_role;
    unsigned cap_depth;
    char *cap;
    size_t cap_len, cap_max;
    size_t text_total; /* bytes of field text kept */
    bool cap_over;
    /* white space just before the current point */
    char ws[RD_WS_MAX + 1];
    size_t nws;
    bool ws_broken;
    char ws_hdr_before[RD_WS_MAX + 1]; /* kept per landmark below */
    /* kind and verdicts */
    bool seen_root, seen_msghdr, seen_status, soap;
    bool empty_status; /* an empty StatusCode (absent for an edoc) */
    bool to_has_id;
    struct gw_edxml_rcpt rcpt;
    /* namespace declarations on the header's ancestors */
    char **nsp, **nsu;
    size_t nns;
    /* attachments (parallel to doc->attachments) */
    struct rd_att *att;
    size_t natt; /* initialised entries of att */
    uint8_t *dec;
    size_t dec_cap;
    uint8_t ahead[RD_ATT_HEAD]; /* head of the current attachment */
    size_t nahead;
    /* relay landmarks */
    bool have_list, list_empty_tag, have_trace, list_child_seen;
    uint64_t list_gt, last_trace_end, msg_end;
    char *list_prefix, *trace_prefix, *msg_prefix;
    char ind_list[RD_WS_MAX + 1], ind_trace[RD_WS_MAX + 1], ind_msg[RD_WS_MAX + 1],
        ind_child[RD_WS_MAX + 1];
    /* namespace declarations in scope, innermost last; at the landmarks: is the prefix the new
     * TraceHeader (or list) will use bound to the QCVN 102 namespace there? */
    const xmlChar *nss_p[RD_NS_STACK], *nss_u[RD_NS_STACK];
    unsigned nss;
    bool nss_over;
    bool list_bound, trace_bound, msg_bound;
    /* XML-DSig */
    bool sig_dsig, sig_signed_info, sig_value_seen, sig_value_real, sig_other;
    /* repeated elements seen, by role (rd_elem_cap) */
    unsigned nelem[RD_NROLES];
    unsigned nspooled;
};

/* Element roles (edxml_fields.c rules), leaves after L_FIRST. */
enum role {
    R_OTHER = 0,
    R_ROOT,
    R_ENV,
    R_HDR,
    R_MSG,
    R_TLIST,
    R_SIG,
    R_BODY,
    R_MANIFEST,
    R_REF,
    R_ATTENC,
    R_ATT,
    R_CTE,
    R_FROM,
    R_TO,
    R_CODE,
    R_PROMUL,
    R_DTYPE,
    R_SIGNER,
    R_TOPLACES,
    R_OTHERINFO,
    R_APPXS,
    R_RESPFOR,
    R_STAFF,
    R_TRACE,
    R_BUS,
    R_BDI,
    R_RLIST,
    R_RECV,
    R_REPLL,
    R_REPL,
    R_OIDL,
    R_DS_SI,
    R_DS_SV,
    /* leaves */
    L_FIRST,
    L_ORGANID = L_FIRST,
    L_OIC,
    L_ORGNAME,
    L_ORGADD,
    L_EMAIL,
    L_TEL,
    L_FAX,
    L_WEB,
    L_DOCID,
    L_CODENUM,
    L_CODENOT,
    L_PLACE,
    L_PDATE,
    L_TYPE,
    L_TYPEDETAIL,
    L_TYPENAME,
    L_SUBJECT,
    L_CONTENT,
    L_COMPETENCE,
    L_POSITION,
    L_FULLNAME,
    L_DUEDATE,
    L_PRIORITY,
    L_SPHERE,
    L_TYPER,
    L_PAMOUNT,
    L_PAGES,
    L_DIRECTION,
    L_APPENDIX,
    L_STEERING,
    L_RCODE,
    L_STATUS,
    L_DESC,
    L_TIMESTAMP,
    L_DEPT,
    L_STAFF,
    L_MOBILE,
    L_BDT,
    L_REASON,
    L_PAPER,
    L_DOCINFO,
    L_DOCRECV,
    L_RTYPE,
    L_CID,
    L_CTYPE,
    L_ANAME,
    L_LAST
};
_Static_assert(L_LAST <= RD_NROLES, "RD_NROLES too small");

/* Stores a captured leaf's text (edxml_leaf.c). */
void rd_leaf(struct rd *r, int parent, int role, char *v, bool over);

/* Records the first error (a refusal or a local limit) and stops the parser. */
void rd_fail(struct rd *r, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A finding at the current element (or its child leaf). */
void rd_finding(struct rd *r, const char *code, enum gw_edxml_severity sev, const char *leaf,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The XPath of the current element, with leaf appended when not NULL. */
void rd_xpath(const struct rd *r, const char *leaf, char *buf, size_t n);

/* edxml_reader.c: the first bytes (width, declaration), one libxml2 call */
int rd_begin(struct rd *r);
int rd_flush(struct rd *r); /* the last, partial slice */
void rd_parse_chunk(struct rd *r, const unsigned char *p, size_t n, bool terminate);

/* This thread's libxml2 structured error handler pointed at r for a call, and put back. */
struct rd_saved {
    xmlStructuredErrorFunc fn;
    void *ctx;
};
void rd_errors_to(struct rd *r, struct rd_saved *s);
void rd_errors_back(const struct rd_saved *s);

/* edxml_rules.c: the role of a child element, the text cap of a leaf, the namespace rule */
int rd_child_role(int parent, const char *name);
size_t rd_cap_of(int role);
bool rd_in_edxml_ns(const xmlChar *uri);
unsigned rd_elem_cap(int parent, int role, bool *local);

/* edxml_fields.c */
void rd_sax_init(xmlSAXHandler *sax);

/* edxml_reader.c: attachment bytes */
void rd_att_begin(struct rd *r, struct gw_edxml_attachment *a, struct rd_att *p);
void rd_att_text(struct rd *r, const char *s, size_t n);
void rd_att_cte_end(struct rd *r);
void rd_att_end(struct rd *r);
int rd_att_finish(struct rd *r);

#endif
