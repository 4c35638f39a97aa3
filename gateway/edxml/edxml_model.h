#ifndef GW_EDXML_MODEL_H
#define GW_EDXML_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pkgkind.h"

/*
 * The whole QCVN 102:2016 package as the gateway understands it (domain.md §2–3): every
 * MessageHeader field of an edoc or a status package, TraceHeaderList and Bussiness, the manifest
 * and the attachments (with their place in the stream and their hashes, never their bytes), the
 * conformance findings, and the landmarks a faithful relay needs to make one copy per axis.
 *
 * Every string is NUL-terminated UTF-8 owned by the document (gw_edxml_doc_free), trimmed of
 * surrounding XML white space; NULL when the element is absent, "" when present but empty.
 * Byte offsets are absolute positions in the package bytes as received.
 */

/* From, To and the organisation blocks of ResponseFor. */
struct gw_edxml_org {
    char *organ_id; /* cleaned; NULL when absent, empty or the text "null" */
    char *organization_in_charge;
    char *organ_name;
    char *organ_add;
    char *email;
    char *telephone;
    char *fax;
    char *website;
};

struct gw_edxml_code {
    char *number;   /* CodeNumber (số) */
    char *notation; /* CodeNotation (ký hiệu) */
};

struct gw_edxml_response_for {
    char *organ_id;
    char *code; /* the text of ResponseFor/Code (a plain string in status packages) */
    char *promulgation_date;
    char *document_id;
};

struct gw_edxml_trace {
    char *organ_id; /* NULL when absent or "null" (real traffic appends such TraceHeaders) */
    char *timestamp;
};

struct gw_edxml_receiver {
    char *organ_id;
    char *receiver_type;
};

struct gw_edxml_replacement {
    char *document_id;
    char **organ_ids;
    size_t n_organ_ids;
};

struct gw_edxml_staff {
    char *department;
    char *staff;
    char *email;
    char *mobile;
};

/* TraceHeaderList/Bussiness (sic; "Business" is accepted too). */
struct gw_edxml_business {
    bool present;
    char *document_id;
    int doc_type; /* BussinessDocType 0 new, 1 revoke, 2 update, 3 replace; 0 when absent */
    char *reason; /* BussinessDocReason */
    int paper;    /* Paper: 0, 1, or -1 when absent */
    struct gw_edxml_staff staff;
    bool has_document_info;              /* BussinessDocumentInfo present */
    int document_info;                   /* DocumentInfo 0|1 (content changed), -1 absent */
    int document_receiver;               /* DocumentReceiver 0|1 (recipients changed), -1 absent */
    struct gw_edxml_receiver *receivers; /* ReceiverList/Receiver* */
    size_t n_receivers;
    struct gw_edxml_replacement *replacements; /* ReplacementInfoList/ReplacementInfo* */
    size_t n_replacements;
};

/* edXMLManifest/Reference. */
struct gw_edxml_reference {
    char *content_id; /* as written ("cid:X") */
    char *content_type;
    char *description;
    char *attachment_name;
};

/* AttachmentEncoded/Attachment: metadata, place in the stream, hashes; never the bytes. */
struct gw_edxml_attachment {
    char *content_id; /* as written */
    char *name;       /* AttachmentName */
    char *description;
    char *content_type;  /* the Attachment's own ContentType */
    char *manifest_type; /* the ContentType of its manifest Reference (NULL: none) */
    uint64_t b64_offset; /* first byte of the ContentTransferEncoded text in the package */
    uint64_t b64_len;    /* its length in bytes, markup of the element excluded */
    bool b64_plain;      /* the slice is exactly the base64 text: no character or entity reference,
                            comment, CDATA section or PI inside, a UTF-8/ASCII package. Otherwise the
                            slice must not be decoded as it stands (size and sha256 are those of the
                            text an XML parser delivers) */
    uint64_t size;       /* decoded bytes */
    uint8_t sha256[32];  /* SHA-256 of the decoded bytes ("as sent") */
    char detected_type[64]; /* from the decoded bytes' magic ("application/pdf", ...) */
    /* The ZIP rule of domain.md §2 (edxml_zip.h): */
    bool unwrap_tried; /* the rule said to unwrap */
    bool unwrapped;    /* a one-entry archive was unwrapped */
    char *entry_name;  /* the entry's name when unwrapped */
    uint64_t unwrapped_size;
    uint8_t unwrapped_sha256[32];
    char unwrapped_type[64];  /* detected type of the entry */
    const char *unwrap_error; /* stable code when the rule applied but unwrapping failed */
};

enum gw_edxml_severity {
    GW_EDXML_NOTE = 0,   /* informational: what the gateway did (e.g. unwrapped a ZIP) */
    GW_EDXML_STRICT = 1, /* non-conformance reported in strict mode, accepted in lenient mode */
    GW_EDXML_REFUSE = 2, /* the reason a package is refused (also its error code) */
};

/* A conformance finding: stable code, where, and a human message. */
struct gw_edxml_finding {
    const char *code; /* static string, e.g. "bad_date", "reference_without_attachment" */
    enum gw_edxml_severity severity;
    char *xpath;   /* e.g. "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganId" */
    char *message; /* one sentence, may quote the offending value (sanitised UTF-8) */
};

/* One To element as it appears in the bytes, for the per-axis copies. */
struct gw_edxml_to_span {
    char *organ_id; /* cleaned organ id (NULL when it has none: such a To is never kept) */
    uint64_t start; /* first byte of the white space run just before <To ...> */
    uint64_t end;   /* byte after </To> (or after "/>") */
};

enum gw_edxml_trace_mode {
    GW_EDXML_TRACE_AFTER_LAST = 0, /* insert after the last TraceHeader */
    GW_EDXML_TRACE_FIRST_IN_LIST,  /* TraceHeaderList without TraceHeader: first child */
    GW_EDXML_TRACE_NEW_LIST,       /* no TraceHeaderList: a new one right after MessageHeader */
    GW_EDXML_TRACE_IN_EMPTY_LIST,  /* <TraceHeaderList/>: its "/>" (at trace_at, 2 bytes) becomes
                                      ">" TraceHeader "</TraceHeaderList>" */
};

/* What a faithful relay needs (domain.md §2 "Relaying across two axes"). */
struct gw_edxml_relay {
    bool editable;               /* false: copies cannot be made (see reason) */
    const char *not_editable;    /* stable reason: "xmldsig" (a real XML-DSig), "encoding" (not
                                    UTF-8/ASCII), "no_landmarks", ... */
    struct gw_edxml_to_span *to; /* every MessageHeader/To, in document order */
    size_t n_to;
    enum gw_edxml_trace_mode trace_mode;
    uint64_t trace_at;  /* where the new TraceHeader (or TraceHeaderList) goes */
    char *trace_prefix; /* the prefix its siblings use ("edXML"), "" for none */
    char *trace_indent; /* the white space to put before it (copied from a sibling) */
    bool trace_declare; /* trace_prefix (or the default namespace when "") is not bound to the
                           QCVN 102 namespace where the new element goes: it carries its own
                           xmlns[:prefix] declaration */
    bool xmldsig;       /* Signature block is a real XML-DSig (xmldsig ns, SignedInfo, a
                           SignatureValue that is not a placeholder) */
};

struct gw_edxml_doc {
    enum gw_pkg_kind kind;
    /* Routing summary (what the store and the engine use). */
    char *document_id;      /* edoc: MessageHeader/DocumentId; status: ResponseFor/DocumentId */
    char *document_id_norm; /* document_id with dates inside normalised to yyyy/MM/dd */
    char *from;             /* From/OrganId */
    char **recipients;      /* edoc: distinct To/OrganId in order; status: ResponseFor/OrganId */
    size_t n_recipients;

    /* MessageHeader of an edoc. */
    struct gw_edxml_org sender; /* From block */
    struct gw_edxml_org *to;    /* every To block, in order (also those without OrganId) */
    size_t n_to;
    struct gw_edxml_code code;
    char *promulgation_place;
    char *promulgation_date; /* as written */
    char *document_type;     /* DocumentType/Type */
    char *document_type_detail;
    char *document_type_name;
    char *subject;
    char *content;
    char *signer_competence;
    char *signer_position;
    char *signer_full_name;
    char *due_date;
    char **to_places;
    size_t n_to_places;
    int priority; /* OtherInfo/Priority 0..4; -1 absent or unreadable */
    char *sphere_of_promulgation;
    char *typer_notation;
    char *promulgation_amount;
    char *page_amount;
    char *direction;
    char **appendixes;
    size_t n_appendixes;
    struct gw_edxml_response_for *response_for; /* edoc: ResponseFor*; status: exactly one */
    size_t n_response_for;
    int steering_type; /* 0..2; -1 absent or unreadable */

    /* MessageHeader of a status package. */
    char *status_code; /* two digits ("1" reads "01") */
    char *status_description;
    char *status_timestamp;
    struct gw_edxml_staff status_staff;

    /* TraceHeaderList. */
    struct gw_edxml_trace *traces;
    size_t n_traces;
    struct gw_edxml_business business;

    /* Manifest and attachments. */
    struct gw_edxml_reference *references;
    size_t n_references;
    struct gw_edxml_attachment *attachments;
    size_t n_attachments;

    /* Header bytes (edXMLHeader, start tag to end tag) for XSD validation: offsets in the
     * package and the namespace declarations in scope at its start ("prefix" "" = default). */
    uint64_t header_start, header_end;
    char *header_xml; /* a copy of those bytes (NUL-terminated), NULL when absent or beyond
                         1 MiB (finding "header_too_large") */
    size_t header_xml_len;
    char **header_ns_prefixes;
    char **header_ns_uris;
    size_t n_header_ns;

    struct gw_edxml_relay relay;

    struct gw_edxml_finding *findings;
    size_t n_findings;

    uint64_t size;      /* package bytes */
    uint8_t sha256[32]; /* SHA-256 of the package bytes */
};

void gw_edxml_doc_free(struct gw_edxml_doc *doc);

/* Findings kept per package: past it one note "findings_truncated" ends the list; refusals
 * (GW_EDXML_REFUSE) are never dropped. */
#define GW_EDXML_MAX_FINDINGS 1000

/* Appends a finding (xpath and message are copied; message is printf-style). GW_ENOMEM. */
int gw_edxml_doc_finding(struct gw_edxml_doc *doc, const char *code,
                         enum gw_edxml_severity severity, const char *xpath, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* True when the package is acceptable in lenient mode (no GW_EDXML_REFUSE finding). */
bool gw_edxml_doc_acceptable(const struct gw_edxml_doc *doc);

#endif
