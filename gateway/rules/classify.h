#ifndef GW_CLASSIFY_H
#define GW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml_model.h"
#include "rules/catalog.h"

/*
 * Art. 10.3b classification of one edoc (domain.md §7): which clauses fired, under which rule,
 * in which field and on which text as the sender wrote it; the sender's Paper declaration and
 * whether it is clause 4 (an internal document), a declaration between agencies, or a mismatch.
 * Pure: safe on a pool worker with a catalogue reference held. With explain, the rules that came
 * close are listed too (gatewayctl rules test).
 */

struct gw_classify_hit {
    int clause;             /* 1..4 */
    const char *rule;       /* rule id (catalogue-owned, or static for clause 4) */
    const char *rule_title; /* may be NULL */
    char field[40];         /* "Subject", "To[2]/OrganId", "Bussiness/Paper"... */
    char *text;             /* the matched span as written (malloc'd) */
    const char *keyword;    /* the catalogue alternative that matched (catalogue-owned) */
    const char *with;       /* clause 2: the approval word that went with it, or NULL */
    char *with_text;        /* its span as written, or NULL */
    int recipient;          /* 1-based To index the hit is about (clause 1), 0 none */
    const char *organ_id;   /* that recipient's OrganId (the document's), or NULL */
    const char *alias_of;   /* matched through the directory: the id the rule names, or NULL */
};

struct gw_classify_near {
    int clause;
    const char *rule;
    char field[40];
    char *text;      /* malloc'd; may be NULL */
    const char *why; /* no_approval_word, name_contains, outside_dates, partial, inside_word,
                        diacritics_differ (static) */
};

struct gw_classify_result {
    int32_t day;      /* the date the rules' effective dates were judged on */
    unsigned clauses; /* bit c set: clause c fired */
    bool required;    /* a clause fired */
    bool tracked;     /* required, or a declaration: a paper copy is expected */
    int declared;     /* Bussiness/Paper: 0, 1, -1 absent ("not declared") */
    bool internal;    /* sender and every recipient: one agency and its units */
    bool declaration; /* Paper = 1 between different agencies */
    bool mismatch;    /* a clause fired and the sender declared Paper = 0 */
    bool cut;         /* a field was longer than GW_RTEXT_MAX: only its beginning was read */
    struct gw_classify_hit *hits;
    size_t n_hits;
    struct gw_classify_near *near;
    size_t n_near;
    size_t rules_in_force; /* with explain: the rules in force on day */
};

/* The other form of an organisation id, from the agency directories: a QĐ 20 code (alias) that
 * the directory pairs with a QCVN 102 code (id), so that a rule naming one also sees the other
 * (clause 1: "the Government Office and its QĐ 20 form"). */
struct gw_classify_alias {
    const char *alias;
    const char *id;
};

/* 0 or GW_ENOMEM (r is then empty). doc: an edoc. */
int gw_classify(const struct gw_catalog *cat, const struct gw_edxml_doc *doc, int32_t day,
                bool explain, struct gw_classify_result *r);
/* The same with the directories' id pairs (aliases[0..n)). */
int gw_classify_ex(const struct gw_catalog *cat, const struct gw_classify_alias *aliases,
                   size_t n_aliases, const struct gw_edxml_doc *doc, int32_t day, bool explain,
                   struct gw_classify_result *r);

/* The organisation ids that clause-1 rules in force on day name (catalogue-owned), for the
 * directory lookup of their other forms; *n of them in a malloc'd array, NULL when none. */
const char **gw_classify_government_ids(const struct gw_catalog *cat, int32_t day, size_t *n);
void gw_classify_result_free(struct gw_classify_result *r);

/* True when both are QCVN 102 ids of the same agency or its units: the same level-1 code and the
 * same non-zero level-2 code. */
bool gw_classify_same_agency(const char *a, const char *b);

#endif
