/*
 * POST /v1/packages/{id}/paper-copy: QLVBĐH records that a package's paper copy went out (or,
 * for a document received, came in): who, when, under which reference, for one recipient or
 * for every copy still pending. Scoped like the reads: outside the client's organisations the
 * package does not exist.
 *
 * Body: {"recipient": "000.00.00.G22" (optional), "by": "Nguyễn Văn A" (required),
 *        "dispatched_at": "2026-12-02T09:30:00+07:00" (optional: now; no zone reads as Vietnam
 *        time), "reference": "125/VP-HC" (optional)}.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "rules/catalog.h"
#include "store/store_paper.h"
#include "util/error.h"
#include "util/log.h"

static bool digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* RFC 3339 date-time (fractions ignored, no zone: Vietnam time) to Unix seconds; -1 if not. */
static int64_t gw_paper_time(const char *s)
{
    int32_t day;
    int h, mi, sec, zh = 7, zm = 0, sign = 1;
    size_t n = strlen(s), i = 19;

    if (n < 19 || !gw_catalog_day(s, 10, &day) || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (i < n && s[i] == '.')
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            ;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        zh = 0;
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &zh) ||
            !digits(s + i + 4, 2, &zm) || zh > 23 || zm > 59)
            return -1;
        i += 6;
    }
    if (i != n)
        return -1;
    return (int64_t)day * 86400 + h * 3600 + mi * 60 + sec - sign * (zh * 3600 + zm * 60);
}

static void gw_paper_recorded(int err, int recorded, void *ud)
{
    struct gw_read_job *job = ud;

    if (err != 0)
        gw_api_error(job->req, GW_EDB, NULL);
    else if (recorded == -2)
        gw_api_error(job->req, GW_ENOENT, "no such package");
    else if (recorded == -1)
        gw_http_respond_error(job->req, 409, "no_paper_copy",
                              "this package (or this recipient) has no paper copy to record");
    else
        gw_api_json(job->req, 200,
                    json_pack("{sI si}", "id", (json_int_t)job->id, "recorded", recorded));
    gw_read_job_free(job);
}

static const char *opt_text(json_t *body, const char *key, bool *bad)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

void gw_api_paper_copy(struct gw_api *api, struct gw_http_req *req, int64_t id,
                       const struct gw_api_client *c)
{
    json_error_t jerr;
    bool bad = false;

    if (req->body_len > GW_PAPER_BODY_MAX) {
        gw_api_error(req, GW_E2BIG, "a paper-copy record is at most 16 KiB of JSON");
        return;
    }
    json_t *body = req->body ? json_loadb((const char *)req->body, req->body_len, 0, &jerr) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        gw_api_error(req, GW_EPARSE, "the body must be a JSON object");
        return;
    }
    const char *recipient = opt_text(body, "recipient", &bad);
    const char *by = opt_text(body, "by", &bad);
    const char *reference = opt_text(body, "reference", &bad);
    const char *at_text = opt_text(body, "dispatched_at", &bad);
    int64_t at = at_text ? gw_paper_time(at_text) : 0;
    if (bad || !by || at < 0) {
        json_decref(body);
        gw_http_respond_error(req, 422, "invalid_paper_copy",
                              !by      ? "\"by\" (who sent the paper copy) is required"
                              : at < 0 ? "\"dispatched_at\" must be an RFC 3339 date-time"
                                       : "recipient, by and reference must be non-empty strings");
        return;
    }
    struct gw_store_paper_dispatch_args a = {
        .package_id = id,
        .recipient = recipient,
        .at = at,
        .by = by,
        .reference = reference,
        .actor = c->name,
        .scope = c->scope,
    };
    struct gw_read_job *job = gw_read_job_new(api, req, c, id);
    if (!job) {
        json_decref(body);
        return;
    }
    int rc = gw_store_paper_dispatch(api->deps.db, &a, gw_paper_recorded, job);
    json_decref(body);
    if (rc != 0) {
        if (rc == GW_ERANGE || rc == GW_EINVAL)
            gw_http_respond_error(req, 422, "invalid_paper_copy",
                                  "a value is too long or not valid text");
        else
            gw_api_error(req, rc == GW_EAGAIN ? GW_EAGAIN : GW_EDB, NULL);
        gw_read_job_free(job);
    }
}
