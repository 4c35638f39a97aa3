/*
 * The [paper] section: where the Art. 10.3 catalogue lives, how many working days each kind of
 * paper copy may take, and the public holidays that are not working days.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define MAX_HOLIDAYS 2000

const char *gw_cfgv_date(const char *v)
{
    return gw_cfg_vn_date(v) < 0 ? "expected a date YYYY-MM-DD" : NULL;
}

void gw_cfg_paper_holidays_set(struct gw_config_paper *p, char **list, size_t n)
{
    gw_cfg_strv_free(p->holidays);
    p->holidays = list;
    p->n_holidays = n;
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void gw_cfg_check_paper(struct gw_cfg_loader *ld)
{
    struct gw_config_paper *p = &ld->cfg->paper;

    free(p->holiday_days);
    p->holiday_days = NULL;
    if (p->n_holidays > MAX_HOLIDAYS) {
        gw_cfg_fail(ld, 0, "[paper] holidays: more than %d dates", MAX_HOLIDAYS);
        return;
    }
    if (!(p->holiday_days = calloc(p->n_holidays + 1, sizeof(*p->holiday_days)))) {
        gw_cfg_fail(ld, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < p->n_holidays; i++)
        p->holiday_days[i] = (int32_t)((gw_cfg_vn_date(p->holidays[i]) + 7 * 3600) / 86400);
    qsort(p->holiday_days, p->n_holidays, sizeof(*p->holiday_days), cmp_day);
}

void gw_cfg_paper_free(struct gw_config_paper *p)
{
    free(p->rules_dir);
    gw_cfg_strv_free(p->holidays);
    free(p->holiday_days);
    memset(p, 0, sizeof(*p));
}
