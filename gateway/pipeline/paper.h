#ifndef GW_PAPER_H
#define GW_PAPER_H

#include <jansson.h>
#include <stdint.h>

#include "config/sections.h"
#include "edxml/edxml_model.h"
#include "rules/catalog.h"
#include "rules/classify.h"

/*
 * The paper-copy stage of every edoc (Art. 10.3, domain.md §7): classified on the ingest's
 * worker against the catalogue in force when it arrives, with the due dates of the copies it
 * needs, and added to the package's JSON form as "paper_check", which the store's package
 * stages turn into the paper_check and paper_copy rows in the transaction that stores the
 * package (schemas/sql/010_paper.sql).
 */

/* The directories' other forms of the ids clause-1 rules name, shared by reference like the
 * catalogue (refreshed by the daemon from the agency directories). */
struct gw_paper_aliases {
    int refs; /* atomic */
    struct gw_classify_alias *v;
    size_t n;
};

/* Copies the pairs. NULL on allocation failure. */
struct gw_paper_aliases *gw_paper_aliases_new(const char *const *alias, const char *const *id,
                                              size_t n);
struct gw_paper_aliases *gw_paper_aliases_ref(struct gw_paper_aliases *a);
void gw_paper_aliases_unref(struct gw_paper_aliases *a);

struct gw_paper_deps {
    /* A reference to the catalogue in force, taken on the worker and released after; NULL when
     * none is loaded (only clause 4 and the declarations can then fire). */
    struct gw_catalog *(*catalogue)(void *ud);
    /* The same for the directory aliases; NULL, or returning NULL: none. */
    struct gw_paper_aliases *(*aliases)(void *ud);
    void *ud;
    const struct gw_config_paper *cfg;
    int64_t (*now)(void); /* Unix time; NULL: time() */
    /* The province's own organ ids ([gateway] organ_ids; may be none): the recipients that share
     * one's level-1 group are listed in paper_check's province_recipients, the only ones an
     * incoming package tracks copies for. */
    char *const *organ_ids;
    size_t n_organ_ids;
};

/* The ingest's annotate hook (ingest.h); ud is a struct gw_paper_deps. Status packages get
 * nothing. 0 or GW_ENOMEM. */
int gw_paper_annotate(const struct gw_edxml_doc *doc, json_t *form, void *ud);

/* The "paper_check" member for one classification made on day: the classification's JSON with
 * due_on (the earliest due date of what fired, null when nothing is tracked) and due_no_means
 * (for recipients the directories say have no electronic means). NULL on allocation failure. */
json_t *gw_paper_check_json(const struct gw_classify_result *r, const struct gw_catalog *cat,
                            const struct gw_config_paper *cfg);

#endif
