#ifndef GW_SIG_PDF_H
#define GW_SIG_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Sans-I/O PDF signature locator and change-after-signing classifier (docs/internals/pdf.md).
 * gw_pdf_inspect() reads the revisions of a PDF held in memory (startxref, the /Prev chain, xref
 * tables and streams, object streams), finds the signature dictionaries through each revision's
 * /AcroForm fields, checks every /ByteRange strictly and says what the revisions after each
 * signature changed. It does no cryptography: the CMS in /Contents is handed over as bytes.
 */

struct gw_pdf_limits {
    size_t max_objects;     /* xref entries over all sections */
    unsigned max_revisions; /* xref sections in the /Prev chain */
    size_t max_contents;    /* decoded /Contents of one signature */
    unsigned max_sigs;      /* signature dictionaries reported */
    unsigned max_depth;     /* nesting of arrays/dictionaries, /Kids and /Parent chains */
    size_t max_stream;      /* one decoded stream (xref stream, object stream) */
    size_t max_memory;      /* parsed objects and decoded streams together */
};

/* 500000 objects, 64 revisions, 1 MiB /Contents, 64 signatures, depth 32, 64 MiB per decoded
 * stream, 512 MiB in all. */
void gw_pdf_limits_default(struct gw_pdf_limits *l);

enum gw_pdf_change {
    GW_PDF_UNCHANGED = 0,
    GW_PDF_ALLOWED = 1,
    GW_PDF_DISALLOWED = 2,
};

/* "unchanged", "allowed", "disallowed". */
const char *gw_pdf_change_name(enum gw_pdf_change c);

struct gw_pdf_finding {
    const char *code; /* stable: trailing_bytes, encrypted, object_broken, too_many_sigs, ... */
    char *message;    /* English, UTF-8 */
};

struct gw_pdf_sig {
    unsigned revision;         /* 0-based revision this signature closes */
    unsigned obj_num, obj_gen; /* the signature dictionary */
    char *type;                /* "Sig" or "DocTimeStamp" */
    char *subfilter, *filter, *m, *name, *reason, *location, *field; /* UTF-8, NULL when absent */
    uint64_t byte_range[4];
    bool byte_range_ok;           /* every strict check passed */
    const char *byte_range_error; /* stable code when not ok, NULL when ok */
    uint8_t *contents;            /* hex-decoded /Contents (whole, with padding) */
    size_t contents_len;
    size_t der_len;           /* length of the DER TLV at the start of contents, 0 if none */
    enum gw_pdf_change after; /* what the revisions after this signature did */
    char *changes;            /* English, one change a line; NULL when unchanged */
    int docmdp_p;             /* 1..3 for a certification signature (DocMDP), else 0 */
    unsigned first_revision;  /* revision whose object table first shows this dictionary */
};

struct gw_pdf_report {
    const char *error;      /* NULL when the file could be read; stable code otherwise */
    char error_detail[256]; /* English detail for error */
    unsigned n_revisions;
    uint64_t *revision_end;  /* offset just after each revision's %%EOF (and its EOL) */
    struct gw_pdf_sig *sigs; /* in order of their signed length (first signed first) */
    unsigned n_sigs;
    struct gw_pdf_finding *findings; /* file-level */
    unsigned n_findings;
};

/*
 * Inspects buf[0..len). Returns 0 with *out set, or GW_ENOMEM. Malformed input still returns 0,
 * with (*out)->error set to one of: not_pdf, truncated, xref_broken, xref_loop,
 * too_many_revisions, too_many_objects, stream_too_large, memory_limit, unsupported_filter.
 * lim may be NULL for the defaults. buf is only read and may be freed after the call.
 */
int gw_pdf_inspect(const uint8_t *buf, size_t len, const struct gw_pdf_limits *lim,
                   struct gw_pdf_report **out);

void gw_pdf_report_free(struct gw_pdf_report *r);

#endif
