/*
 * The paper-copy stage (paper.h): one classification per edoc, its due dates in working days
 * from the day it arrived, and the JSON member the store takes.
 */
#include "pipeline/paper.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml_orgid.h"
#include "rules/classify.h"
#include "rules/classify_json.h"
#include "rules/workdays.h"
#include "util/error.h"

static void put_day(json_t *o, const char *key, int32_t day)
{
    char iso[11];
    gw_catalog_day_iso(day, iso);
    json_object_set_new(o, key, json_string(iso));
}

json_t *gw_paper_check_json(const struct gw_classify_result *r, const struct gw_catalog *cat,
                            const struct gw_config_paper *cfg)
{
    json_t *o = gw_classify_json(r, cat, false);
    int32_t due = INT32_MAX;

    if (!o)
        return NULL;
    for (int c = 1; c <= 4; c++)
        if (r->clauses & (1u << c)) {
            int32_t d =
                gw_workdays_add(r->day, cfg->due_days[c], cfg->holiday_days, cfg->n_holidays);
            due = d < due ? d : due;
        }
    if (r->declaration) {
        int32_t d = gw_workdays_add(r->day, cfg->due_days[GW_PAPER_DUE_DECLARED], cfg->holiday_days,
                                    cfg->n_holidays);
        due = d < due ? d : due;
    }
    if (due != INT32_MAX)
        put_day(o, "due_on", due);
    else
        json_object_set_new(o, "due_on", json_null());
    put_day(o, "due_no_means",
            gw_workdays_add(r->day, cfg->due_days[GW_PAPER_DUE_NO_MEANS], cfg->holiday_days,
                            cfg->n_holidays));
    return o;
}

struct gw_paper_aliases *gw_paper_aliases_new(const char *const *alias, const char *const *id,
                                              size_t n)
{
    struct gw_paper_aliases *a = calloc(1, sizeof(*a));
    if (!a || !(a->v = calloc(n + 1, sizeof(*a->v)))) {
        free(a);
        return NULL;
    }
    a->refs = 1;
    for (size_t i = 0; i < n; i++) {
        char *x = strdup(alias[i]), *y = strdup(id[i]);
        if (!x || !y) {
            free(x);
            free(y);
            gw_paper_aliases_unref(a);
            return NULL;
        }
        a->v[a->n++] = (struct gw_classify_alias){x, y};
    }
    return a;
}

struct gw_paper_aliases *gw_paper_aliases_ref(struct gw_paper_aliases *a)
{
    if (a)
        atomic_fetch_add_explicit((_Atomic int *)&a->refs, 1, memory_order_relaxed);
    return a;
}

void gw_paper_aliases_unref(struct gw_paper_aliases *a)
{
    if (!a || atomic_fetch_sub_explicit((_Atomic int *)&a->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free((char *)a->v[i].alias);
        free((char *)a->v[i].id);
    }
    free(a->v);
    free(a);
}

/* o with province_recipients: the package's recipients in the province (an incoming package
 * tracks paper copies for those only: before, a ministry's circular to every province made one
 * copy per province, all but one overdue for ever). NULL (o freed) when out of memory. */
static json_t *gw_paper_province(json_t *o, const struct gw_edxml_doc *doc,
                                 const struct gw_paper_deps *d)
{
    json_t *ids = json_array();

    for (size_t i = 0; ids && i < doc->n_to; i++) {
        bool ours = gw_orgid_same_level1_any(doc->to[i].organ_id, d->organ_ids, d->n_organ_ids);
        if (ours && json_array_append_new(ids, json_string(doc->to[i].organ_id)) != 0) {
            json_decref(ids);
            ids = NULL;
        }
    }
    if (!ids || json_object_set_new(o, "province_recipients", ids) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int gw_paper_annotate(const struct gw_edxml_doc *doc, json_t *form, void *ud)
{
    const struct gw_paper_deps *d = ud;
    struct gw_classify_result r;

    if (doc->kind != GW_KIND_EDOC)
        return 0;
    struct gw_catalog *cat = d->catalogue ? d->catalogue(d->ud) : NULL;
    struct gw_paper_aliases *al = d->aliases ? d->aliases(d->ud) : NULL;
    int64_t now = d->now ? d->now() : (int64_t)time(NULL);
    int rc = gw_classify_ex(cat, al ? al->v : NULL, al ? al->n : 0, doc, gw_catalog_day_vn(now),
                            false, &r);
    if (rc == 0) {
        json_t *o = gw_paper_check_json(&r, cat, d->cfg);
        if (o && d->n_organ_ids)
            o = gw_paper_province(o, doc, d);
        rc = o && json_object_set_new(form, "paper_check", o) == 0 ? 0 : GW_ENOMEM;
        gw_classify_result_free(&r);
    }
    gw_paper_aliases_unref(al); /* after the JSON: hits point into it (alias_of) */
    gw_catalog_unref(cat);
    return rc;
}
