/*
 * A classification as JSON (classify_json.h), and the sentence that explains each clause to a
 * clerk: which rule fired on what, or why none did.
 */
#include "rules/classify_json.h"

#include <stdio.h>
#include <string.h>

static json_t *hit_json(const struct gw_classify_hit *h, bool explain)
{
    json_t *o = json_pack("{si ss ss ss}", "clause", h->clause, "rule", h->rule, "field", h->field,
                          "text", h->text);
    if (!o)
        return NULL;
    if (explain && h->rule_title) /* stored hits name the rule; its title is in the catalogue */
        json_object_set_new(o, "title", json_string(h->rule_title));
    if (h->keyword)
        json_object_set_new(o, "keyword", json_string(h->keyword));
    if (h->with) {
        json_object_set_new(o, "with", json_string(h->with));
        json_object_set_new(o, "with_text", json_string(h->with_text));
    }
    if (h->recipient)
        json_object_set_new(o, "recipient", json_integer(h->recipient));
    if (h->organ_id)
        json_object_set_new(o, "organ_id", json_string(h->organ_id));
    if (h->alias_of)
        json_object_set_new(o, "alias_of", json_string(h->alias_of));
    return o;
}

static const struct gw_classify_hit *first_hit(const struct gw_classify_result *r, int clause)
{
    for (size_t i = 0; i < r->n_hits; i++)
        if (r->hits[i].clause == clause)
            return &r->hits[i];
    return NULL;
}

static json_t *explain_clause(const struct gw_classify_result *r, int clause)
{
    const struct gw_classify_hit *h = first_hit(r, clause);
    char why[512];

    if (h) {
        snprintf(why, sizeof(why), "rule %s: %s \"%s\"", h->rule, h->field, h->text);
    } else if (clause == 1) {
        snprintf(why, sizeof(why),
                 "no recipient is the Government, the Prime Minister or the Government Office");
    } else if (clause == 2) {
        snprintf(why, sizeof(why),
                 "no funding, budget, legal normative or individual decision wording, and no "
                 "scheme or project with an appraisal or approval word in one field");
    } else if (clause == 3) {
        snprintf(why, sizeof(why), "none of the province's list applies (%zu rule(s) in force)",
                 r->rules_in_force);
    } else if (r->declared == 1) {
        snprintf(why, sizeof(why),
                 "Paper = 1 between different agencies: the sender's declaration, not clause 4");
    } else {
        snprintf(why, sizeof(why), "%s",
                 r->declared == 0 ? "Paper = 0: the sender asks for no paper copy"
                                  : "Paper is not declared");
    }
    return json_pack("{si sb ss}", "clause", clause, "fired", h != NULL, "why", why);
}

json_t *gw_classify_json(const struct gw_classify_result *r, const struct gw_catalog *cat,
                         bool explain)
{
    char day[11];
    gw_catalog_day_iso(r->day, day);
    json_t *clauses = json_array(), *hits = json_array();
    json_t *o =
        json_pack("{ss s{ss ss} sb sb so so s{so sb sb sb}}", "date", day, "catalogue", "version",
                  cat ? cat->version : "", "digest", cat ? cat->digest : "", "required",
                  r->required, "tracked", r->tracked, "clauses", clauses, "hits", hits, "paper",
                  "declared", r->declared < 0 ? json_null() : json_integer(r->declared), "internal",
                  r->internal, "declaration", r->declaration, "mismatch", r->mismatch);
    if (!o)
        return NULL;
    for (int c = 1; c <= 4; c++)
        if (r->clauses & (1u << c))
            json_array_append_new(clauses, json_integer(c));
    for (size_t i = 0; i < r->n_hits; i++)
        json_array_append_new(hits, hit_json(&r->hits[i], explain));
    if (r->cut)
        json_object_set_new(o, "cut", json_true());
    if (explain) {
        json_t *ex = json_array(), *near = json_array();
        for (int c = 1; c <= 4; c++)
            json_array_append_new(ex, explain_clause(r, c));
        for (size_t i = 0; i < r->n_near; i++) {
            const struct gw_classify_near *n = &r->near[i];
            json_array_append_new(near, json_pack("{si ss ss ss* ss}", "clause", n->clause, "rule",
                                                  n->rule, "field", n->field, "text", n->text,
                                                  "why", n->why));
        }
        json_object_set_new(o, "explain", ex);
        json_object_set_new(o, "near", near);
    }
    return o;
}
