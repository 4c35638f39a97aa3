/*
 * Revocation answers for `gatewayctl verify`, where blocking is fine: CRL files given with
 * --crl first; then, unless --offline, OCSP (POST to the certificate's AIA responder, nonce
 * checked) and the CRL of its distribution point, fetched with libcurl. Nothing usable:
 * UNAVAILABLE (the verdict's TRY_LATER).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_verify.h"
#include "sig/crl.h"
#include "sig/ocsp.h"
#include "sig/verdict.h"

struct gw_cli_buf {
    uint8_t *p;
    size_t n, max;
};

static size_t gw_cli_sink(char *d, size_t sz, size_t nm, void *ud)
{
    struct gw_cli_buf *b = ud;
    size_t n = sz * nm;
    uint8_t *p;

    if (b->n + n > b->max || !(p = realloc(b->p, b->n + n + 1)))
        return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    return n;
}

/* GET (body NULL) or POST of an OCSP request; 0 when a 200 answer is in out. */
static int gw_cli_fetch(const char *url, const uint8_t *body, size_t len, long timeout_ms,
                        struct gw_cli_buf *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    CURLcode rc;

    if (!c)
        return -1;
    out->max = GW_CRL_MAX_DER;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gw_cli_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/ocsp-request");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 200 ? 0 : -1;
}

static void gw_cli_answer(struct gw_vrev *q, const struct gw_rev_status *st)
{
    q->state = st->state == GW_REV_GOOD      ? GW_VIN_REV_GOOD
               : st->state == GW_REV_REVOKED ? GW_VIN_REV_REVOKED
               : st->state == GW_REV_UNKNOWN ? GW_VIN_REV_UNKNOWN
                                             : GW_VIN_REV_UNAVAILABLE;
    q->revoked_at = st->state == GW_REV_REVOKED ? st->revoked_at : -1;
    snprintf(q->code, sizeof(q->code), "%s", st->code ? st->code : "");
    snprintf(q->source, sizeof(q->source), "%s", st->source ? st->source : "");
}

static bool gw_cli_usable(const struct gw_rev_status *st)
{
    return st->state == GW_REV_GOOD || st->state == GW_REV_REVOKED || st->state == GW_REV_UNKNOWN;
}

void gw_cli_verify_revoke(const struct gw_cli_verify_opts *o, struct gw_vrev *q, time_t now)
{
    struct gw_rev_status st, last;
    char url[1024];

    memset(&last, 0, sizeof(last));
    last.state = GW_REV_UNAVAILABLE;
    last.code = "no_revocation_source";
    last.source = "none";
    for (size_t i = 0; i < o->n_crls; i++) {
        if (gw_crl_check(o->crls[i].p, o->crls[i].n, q->cert, q->issuer, now, &st) != 0)
            continue;
        if (gw_cli_usable(&st))
            return gw_cli_answer(q, &st);
        if (strcmp(st.code ? st.code : "", "crl_wrong_issuer") != 0)
            last = st;
    }
    if (!o->offline) {
        uint8_t nonce[GW_OCSP_NONCE_LEN], *req = NULL;
        size_t req_n = 0;
        if (gw_ocsp_request_new(q->cert, q->issuer, nonce, &req, &req_n, url, sizeof(url)) == 0 &&
            url[0]) {
            struct gw_cli_buf b = {0};
            if (gw_cli_fetch(url, req, req_n, o->timeout_ms, &b) == 0 &&
                gw_ocsp_response_check(b.p, b.n, q->cert, q->issuer, nonce, now, &st) == 0) {
                if (gw_cli_usable(&st)) {
                    free(b.p);
                    free(req);
                    return gw_cli_answer(q, &st);
                }
                last = st;
            }
            free(b.p);
        }
        free(req);
        if (gw_crl_url(q->cert, url, sizeof(url)) == 0 && url[0]) {
            struct gw_cli_buf b = {0};
            if (gw_cli_fetch(url, NULL, 0, o->timeout_ms, &b) == 0 &&
                gw_crl_check(b.p, b.n, q->cert, q->issuer, now, &st) == 0) {
                free(b.p);
                if (gw_cli_usable(&st))
                    return gw_cli_answer(q, &st);
                last = st;
            } else {
                free(b.p);
            }
        }
    }
    gw_cli_answer(q, &last);
}
