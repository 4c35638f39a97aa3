#ifndef GW_SIG_PDF_CHANGE_H
#define GW_SIG_PDF_CHANGE_H

#include "sig/pdf_internal.h"

/* Shared by pdf_change.c (which objects changed) and pdf_rules.c (whether a change is allowed). */

struct pdf_chg {
    struct pdf_doc *d;
    struct gw_pdf_report *sigs;
    unsigned r; /* the signed revision */
    unsigned j; /* the later revision being compared */
    int p;      /* DocMDP level in force: 1..3 (2 without a certification signature) */
    enum gw_pdf_change worst;
    char *text;
    size_t tlen;
    unsigned lines;
};

/* Records one change line ("revision J ...") and raises the worst class. */
void pdf_note(struct pdf_chg *c, enum gw_pdf_change cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool pdf_obj_equal(struct pdf_doc *d, const struct pdf_obj *a, const struct pdf_obj *b);
/* Whether num (a signature field or dictionary in revision j) is a document timestamp. */
bool pdf_is_doc_timestamp(struct pdf_chg *c, uint32_t num, enum pdf_role role);
/* Judges the redefinition of num, whose role when signed was role, from o (signed) to n. */
void pdf_rule(struct pdf_chg *c, uint32_t num, uint32_t gen, enum pdf_role role, struct pdf_obj *o,
              struct pdf_obj *n);

#endif
