/*
 * The [verify] and [policy] sections: the signature checks' settings and what is done with each
 * verdict class, per direction. Action names are read here (deliver, deliver_flagged, hold,
 * reject), the SHA-1 cut-off date is turned into a time, and the defaults of design.md §5 fill
 * what the file does not say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* Defaults: out, in. TOTAL-FAILED is held for an operator; INDETERMINATE and unsigned edocs go
 * on flagged; TRY_LATER waits for the re-check (and the fallback after the deadline). */
static const enum gw_policy_action default_action[GW_POLICY_NCLASS] = {
    [GW_POLICY_TOTAL_PASSED] = GW_POLICY_DELIVER,
    [GW_POLICY_TOTAL_FAILED] = GW_POLICY_HOLD,
    [GW_POLICY_INDETERMINATE] = GW_POLICY_DELIVER_FLAGGED,
    [GW_POLICY_TRY_LATER] = GW_POLICY_HOLD,
    [GW_POLICY_NO_SIGNATURE] = GW_POLICY_DELIVER_FLAGGED,
};

static const char *const action_names[] = {
    [GW_POLICY_DELIVER] = "deliver",
    [GW_POLICY_DELIVER_FLAGGED] = "deliver_flagged",
    [GW_POLICY_HOLD] = "hold",
    [GW_POLICY_REJECT] = "reject",
};

const char *gw_policy_action_name(enum gw_policy_action a)
{
    if ((unsigned)a >= GW_ARRAY_LEN(action_names))
        return "hold";
    return action_names[a];
}

static int key_line(struct gw_cfg_loader *ld, enum gw_cfg_sect_kind kind, const char *key)
{
    size_t ki = 0;

    for (size_t i = 0; i < ld->n_sects; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        if (s->kind != kind)
            continue;
        if (gw_cfg_find_key(kind, key, &ki) && s->key_line[ki])
            return s->key_line[ki];
        return s->line;
    }
    return 0;
}

static bool parse_action(const char *text, enum gw_policy_action *out)
{
    for (size_t i = 0; i < GW_ARRAY_LEN(action_names); i++) {
        if (strcmp(text, action_names[i]) == 0) {
            *out = (enum gw_policy_action)i;
            return true;
        }
    }
    return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone involved). */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD" as 00:00 Vietnam time (UTC+7); -1 when not a real date. */
int64_t gw_cfg_vn_date(const char *s)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y;
    unsigned m, d;
    char tail;

    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        return -1;
    if (s[4] != '-' || s[7] != '-' || y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    return days_from_civil(y, m, d) * 86400 - 7 * 3600;
}

void gw_cfg_check_verify(struct gw_cfg_loader *ld)
{
    struct gw_config_verify *v = &ld->cfg->verify;
    static const char *const dir[2] = {"out", "in"};
    static const char *const cls[GW_POLICY_NCLASS] = {"total_passed", "total_failed",
                                                      "indeterminate", "try_later", "no_signature"};
    char key[40];

    for (int d = 0; d < 2; d++) {
        for (int c = 0; c < GW_POLICY_NCLASS; c++) {
            v->action[d][c] = default_action[c];
            if (v->action_text[d][c] && !parse_action(v->action_text[d][c], &v->action[d][c])) {
                snprintf(key, sizeof(key), "%s_%s", dir[d], cls[c]);
                gw_cfg_fail(ld, key_line(ld, GW_CFG_POLICY, key),
                            "[policy] %s = %s: expected deliver, deliver_flagged, hold or reject",
                            key, v->action_text[d][c]);
                return;
            }
        }
    }
    v->fallback = GW_POLICY_DELIVER_FLAGGED;
    if (v->fallback_text && !parse_action(v->fallback_text, &v->fallback)) {
        gw_cfg_fail(ld, key_line(ld, GW_CFG_POLICY, "try_later_fallback"),
                    "[policy] try_later_fallback = %s: expected deliver, deliver_flagged, hold or "
                    "reject",
                    v->fallback_text);
        return;
    }
    v->sha1_cutoff_t = gw_cfg_vn_date(v->sha1_cutoff ? v->sha1_cutoff : "2024-01-01");
    if (v->sha1_cutoff_t < 0) {
        gw_cfg_fail(ld, key_line(ld, GW_CFG_VERIFY, "sha1_cutoff"),
                    "[verify] sha1_cutoff = %s: expected a date YYYY-MM-DD", v->sha1_cutoff);
        return;
    }
    if (v->recheck_max_ms < v->recheck_min_ms) {
        gw_cfg_fail(ld, key_line(ld, GW_CFG_VERIFY, "recheck_max_ms"),
                    "[verify] recheck_max_ms is below recheck_min_ms");
        return;
    }
    if (v->lease_ms > 2147483647ull || v->recheck_max_ms > 2147483647ull)
        gw_cfg_fail(ld, key_line(ld, GW_CFG_VERIFY, "lease_ms"),
                    "[verify] lease_ms and recheck_max_ms must fit a 32-bit count of ms");
}

void gw_cfg_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void gw_cfg_verify_free(struct gw_config_verify *v)
{
    free(v->trust_dir);
    gw_cfg_strv_free(v->policy_oids);
    free(v->sha1_cutoff);
    free(v->fallback_text);
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < GW_POLICY_NCLASS; c++)
            free(v->action_text[d][c]);
    memset(v, 0, sizeof(*v));
}
