#ifndef GW_SIG_PDF_INTERNAL_H
#define GW_SIG_PDF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sig/pdf.h"

/*
 * What the pdf*.c files share: an arena for parsed values, the value model, the per-revision
 * object tables and the document context. Nothing here is public.
 */

#define PDF_NO_OFF UINT64_MAX /* a value not read from the file itself (object streams) */

struct pdf_blk {
    struct pdf_blk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

enum pdf_kind { PV_NULL, PV_BOOL, PV_INT, PV_REAL, PV_STR, PV_NAME, PV_ARRAY, PV_DICT, PV_REF };

struct pdf_kv;

struct pdf_val {
    enum pdf_kind kind;
    union {
        bool b;
        int64_t i;
        double r;
        struct {
            const uint8_t *raw; /* token text without delimiters */
            size_t len;
            bool hex;
            uint64_t off, end; /* file offsets of '<' / '(' and after '>' / ')', or PDF_NO_OFF */
        } s;
        struct {
            const char *p; /* decoded (#xx), NUL-terminated */
            size_t len;
        } name;
        struct {
            struct pdf_val **v;
            size_t n;
        } arr;
        struct {
            struct pdf_kv *kv;
            size_t n;
        } dict;
        struct {
            uint32_t num, gen;
        } ref;
    } u;
};

struct pdf_kv {
    const char *key;
    struct pdf_val *v;
};

/* One indirect object. */
struct pdf_obj {
    struct pdf_val *val;
    const uint8_t *data; /* raw stream data (in the file), NULL when not a stream */
    size_t data_len;
    uint64_t off; /* file offset of "N G obj", PDF_NO_OFF when compressed */
};

struct pdf_objstm {
    const uint8_t *data;
    size_t len, first;
    uint32_t n;
    uint32_t *nums;
    size_t *offs;
    struct pdf_obj **objs;
    bool bad;
};

/* One xref entry; type 0 free, 1 at an offset, 2 in an object stream. */
struct pdf_xent {
    uint32_t num, idx;
    uint16_t gen;
    uint8_t type;
    bool tried;  /* parse attempted (obj may still be NULL) */
    uint64_t f2; /* offset or object stream number */
    struct pdf_obj *obj;
    struct pdf_objstm *stm;
};

struct pdf_rev {
    struct pdf_xent *ents; /* sorted by num, one per num */
    size_t n;
    struct pdf_val *trailer;
    uint64_t xref_off;
    uint64_t end; /* after %%EOF and its EOL */
};

struct pdf_role_map; /* pdf_graph.c */

struct pdf_doc {
    const uint8_t *buf;
    size_t len;
    struct gw_pdf_limits lim;
    struct pdf_blk *arena;
    size_t mem;
    bool nomem;
    const char *error;
    char detail[256];
    struct pdf_rev *revs;
    unsigned nrev;
    uint32_t *nums; /* every object number in some section, sorted, unique */
    size_t nnums;
    size_t nents;
    struct gw_pdf_finding *findings;
    unsigned nfind;
    bool broken_noted;
    struct pdf_role_map **roles; /* per revision, computed on demand */
};

/* pdf.c */
/* The revisions of buf without signatures or changes (tests: xref cross-checks); NULL only on
 * memory. d->error tells whether they could be read. */
struct pdf_doc *pdf_doc_open(const uint8_t *buf, size_t len, const struct gw_pdf_limits *lim);
void pdf_doc_close(struct pdf_doc *d);
void *pdf_alloc(struct pdf_doc *d, size_t n);
void pdf_fail(struct pdf_doc *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pdf_finding(struct pdf_doc *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A big buffer in the arena (decoded streams), counted against max_memory. */
uint8_t *pdf_alloc_big(struct pdf_doc *d, size_t n);

/* pdf_lex.c */
bool pdf_is_ws(uint8_t c);
bool pdf_is_delim(uint8_t c);
void pdf_skip_ws(const uint8_t *s, size_t len, size_t *pos);
bool pdf_read_uint(const uint8_t *s, size_t len, size_t *pos, uint64_t *v);
bool pdf_keyword(const uint8_t *s, size_t len, size_t *pos, const char *kw);
/* Parses one value at *pos; base is the file offset of s[0] or PDF_NO_OFF. NULL on a syntax
 * error (or memory: d->nomem). */
struct pdf_val *pdf_parse_value(struct pdf_doc *d, const uint8_t *s, size_t len, size_t *pos,
                                uint64_t base, unsigned depth);
struct pdf_val *pdf_dget(const struct pdf_val *dict, const char *key);
bool pdf_is_name(const struct pdf_val *v, const char *name);
bool pdf_int(const struct pdf_val *v, int64_t *out);
/* Decoded bytes of a string value into the arena; false on memory. */
bool pdf_str_bytes(struct pdf_doc *d, const struct pdf_val *v, uint8_t **out, size_t *len);
/* malloc'd UTF-8 text of a string or name (PDFDocEncoding / UTF-16BE / UTF-8); NULL if not one
 * or on memory (d->nomem). */
char *pdf_text(struct pdf_doc *d, const struct pdf_val *v);
bool pdf_val_equal(struct pdf_doc *d, const struct pdf_val *a, const struct pdf_val *b,
                   unsigned depth);

/* pdf_stream.c */
/* Decodes an object's stream (none or FlateDecode, PNG predictors); false with d->error set
 * (stream_too_large, unsupported_filter, memory_limit) or *bad when the data is corrupt. */
bool pdf_stream_decode(struct pdf_doc *d, const struct pdf_val *dict, const uint8_t *data,
                       size_t len, uint8_t **out, size_t *outlen, bool *bad);

/* pdf_xref.c */
/* Reads the xref section at off (table or stream) into a new unsorted entry list. */
bool pdf_xref_read(struct pdf_doc *d, uint64_t off, struct pdf_xent **ents, size_t *n,
                   struct pdf_val **trailer, uint64_t *sect_end);

bool pdf_ents_sort(struct pdf_doc *d, struct pdf_xent *a, size_t *n, bool inuse_first);

/* pdf_rev.c */
bool pdf_revisions_read(struct pdf_doc *d);
struct pdf_xent *pdf_lookup(struct pdf_doc *d, unsigned rev, uint32_t num);
/* Parses the object at an offset (used for xref streams too). */
/* Parses "N G obj ... endobj" at off; num UINT32_MAX accepts any number. *end (may be NULL)
 * is set after endobj. rev is the revision for an indirect /Length, UINT32_MAX for none. */
struct pdf_obj *pdf_parse_at(struct pdf_doc *d, uint64_t off, uint32_t num, uint32_t gen,
                             unsigned rev, uint64_t *end);
/* Index of num among every object number of the file, or SIZE_MAX. */
size_t pdf_num_index(struct pdf_doc *d, uint32_t num);

/* pdf_obj.c */
struct pdf_obj *pdf_get(struct pdf_doc *d, unsigned rev, uint32_t num);
struct pdf_obj *pdf_get_ent(struct pdf_doc *d, unsigned rev, struct pdf_xent *e);
/* v itself, or the object a reference names, at revision rev. */
struct pdf_val *pdf_resolve(struct pdf_doc *d, unsigned rev, struct pdf_val *v);

/* pdf_range.c: the signature dictionary's fields and its strict /ByteRange checks. */
bool pdf_sig_read(struct pdf_doc *d, unsigned rev, struct pdf_xent *e, struct gw_pdf_sig *s);

/* pdf_field.c */
bool pdf_sigs_find(struct pdf_doc *d, struct gw_pdf_report *r);

/* pdf_graph.c: roles of the objects reachable in a revision. */
enum pdf_role {
    RO_NONE,
    RO_CATALOG,
    RO_PAGES,
    RO_PAGE,
    RO_CONTENT,
    RO_RESOURCES,
    RO_XOBJECT,
    RO_FONT,
    RO_PAGE_OTHER,
    RO_ANNOTS,
    RO_ANNOT,
    RO_ANNOT_PART,
    RO_ACROFORM,
    RO_FIELDS,
    RO_FIELD,
    RO_FIELD_PART,
    RO_SIG_FIELD,
    RO_SIG_AP,
    RO_SIG,
    RO_DSS,
    RO_PERMS,
    RO_INFO,
    RO_CATALOG_ITEM,
    RO_OBJSTM,
    RO_SIGNED_FIELD, /* a signature field with a value (/V, its own or its parent's) */
    RO_SIGNED_AP,    /* under it: its appearance, which no later revision may change */
    RO__COUNT
};
const char *pdf_role_name(enum pdf_role r);
/* Role of num in revision rev (RO_NONE when unreachable); false on a fatal error. */
bool pdf_role_get(struct pdf_doc *d, unsigned rev, uint32_t num, enum pdf_role *out);
void pdf_roles_free(struct pdf_doc *d);
/* Field type (/FT, inherited through /Parent) of a field dictionary, or NULL. */
const char *pdf_field_type(struct pdf_doc *d, unsigned rev, struct pdf_val *field);
/* A field's entry key, its own or inherited through /Parent (/FT, /V...), or NULL. */
struct pdf_val *pdf_field_inherited(struct pdf_doc *d, unsigned rev, struct pdf_val *field,
                                    const char *key);

/* pdf_change.c */
bool pdf_changes_classify(struct pdf_doc *d, struct gw_pdf_report *r);

#endif
