#ifndef GW_CATALOG_H
#define GW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rindex.h"

/*
 * The Art. 10.3b paper-copy catalogue (the *.ini files of schemas/rules, domain.md §7): rules of
 * clauses 1-3, each with an id, a clause, effective dates and its conditions; clause 4 is the
 * sender's request and needs no catalogue. A catalogue is read whole from a directory, checked, and
 * refused with the file and line of its first error; once built it is immutable and shared
 * by reference between the loop and the workers that classify.
 */

enum gw_rule_field {
    GW_RF_SUBJECT = 1 << 0,
    GW_RF_CONTENT = 1 << 1,
    GW_RF_TYPE_NAME = 1 << 2,
    GW_RF_TO_ID = 1 << 3,
    GW_RF_TO_NAME = 1 << 4,
    GW_RF_FROM_ID = 1 << 5,
};

enum gw_rule_match {
    GW_RM_WORDS, /* a phrase anywhere in the field, on word boundaries */
    GW_RM_WHOLE, /* the whole field */
};

struct gw_rule_alt {
    char *text; /* as written in the catalogue */
    char *norm; /* normalised (rtext.h) */
    char *bare; /* normalised without diacritics, for fields that carry none */
};

struct gw_rule_cond {
    const char *key; /* "keyword", "with", "subject", "organ_id"... (static) */
    unsigned fields; /* enum gw_rule_field bits */
    enum gw_rule_match match;
    struct gw_rule_alt *alts;
    size_t n_alts;
    int line;
};

struct gw_rule {
    char *id;
    int clause; /* 1..3 */
    char *title;
    int32_t from, until; /* Vietnam dates as days since 1970-01-01; until INT32_MAX: open */
    struct gw_rule_cond *conds;
    size_t n_conds;
    const char *file; /* the catalogue file's name */
    int line;         /* of its section header */
};

/* Where a condition's alternative sits: phrase ids are what the indexes hold. */
struct gw_catalog_phrase {
    uint32_t rule, cond, alt;
};

struct gw_catalog {
    int refs;        /* atomic */
    char *version;   /* "file@version" of every file, comma-separated */
    char digest[17]; /* the first 16 hex digits of SHA-256 over every file's name and bytes */
    struct gw_rule *rules;
    size_t n_rules;
    char **files;
    size_t n_files;
    struct gw_catalog_phrase *phrases;
    size_t n_phrases;
    struct gw_rindex words_norm, words_bare; /* WORDS phrases by their first word */
    struct gw_rindex whole_norm, whole_bare; /* WHOLE values by their text */
};

struct gw_catalog_error {
    char file[256];
    int line;         /* 0: the file or the directory as a whole */
    const char *code; /* syntax, unknown_clause, empty_keyword, overlapping_dates, bad_date,
                         unknown_key, missing_key, key_not_for_clause, bad_value, io, limit */
    char message[256];
};

#define GW_CATALOG_MAX_FILES 64
#define GW_CATALOG_MAX_FILE  ((size_t)1 << 20)
#define GW_CATALOG_MAX_RULES 20000
#define GW_CATALOG_MAX_ALTS  200 /* alternatives of one condition */
#define GW_CATALOG_MAX_CONDS 16  /* conditions of one rule */

/* Every *.ini of dir, in name order. 0 (*out holds one reference), GW_ECONFIG (err says where),
 * GW_ENOMEM. */
int gw_catalog_load_dir(const char *dir, struct gw_catalog **out, struct gw_catalog_error *err);

/* The same from texts in memory (names[i] is texts[i]'s file name), for tests. */
int gw_catalog_load_texts(const char *const *names, const char *const *texts, size_t n,
                          struct gw_catalog **out, struct gw_catalog_error *err);

struct gw_catalog *gw_catalog_ref(struct gw_catalog *c);
void gw_catalog_unref(struct gw_catalog *c);

/* Dates: "YYYY-MM-DD" (a real calendar date) to days since 1970-01-01; false when not one. */
bool gw_catalog_day(const char *s, size_t len, int32_t *day);
/* The day as "YYYY-MM-DD". */
void gw_catalog_day_iso(int32_t day, char out[11]);
/* Today in Vietnam (UTC+7) for a Unix time. */
int32_t gw_catalog_day_vn(int64_t unix_time);

#endif
