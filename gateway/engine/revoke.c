/*
 * Revocation answers: CRL files given by the caller first; then, unless offline, OCSP (POST to
 * the certificate's AIA responder, nonce checked) and the CRL of its distribution point,
 * fetched with libcurl's easy interface. It blocks, so the daemon runs it on the thread pool
 * (gw_revoker_check) and gatewayctl calls it directly. Nothing usable: UNAVAILABLE (the
 * verdict's TRY_LATER).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/revoke.h"
#include "sig/crl.h"
#include "sig/ocsp.h"
#include "sig/verdict.h"

struct gw_rev_buf {
    uint8_t *p;
    size_t n, max;
};

static size_t gw_rev_sink(char *d, size_t sz, size_t nm, void *ud)
{
    struct gw_rev_buf *b = ud;
    size_t n = sz * nm;
    uint8_t *p;

    if (b->n + n > b->max || !(p = realloc(b->p, b->n + n + 1)))
        return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    return n;
}

/* GET (body NULL) or POST of an OCSP request; 0 when a 200 answer of at most max bytes is in
 * out. */
static int gw_rev_fetch(const char *url, const uint8_t *body, size_t len, size_t max,
                        long timeout_ms, struct gw_rev_buf *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    CURLcode rc;

    if (!c)
        return -1;
    out->max = max;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gw_rev_sink);
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

static void gw_rev_answer(struct gw_vrev *q, const struct gw_rev_status *st)
{
    q->state = st->state == GW_REV_GOOD      ? GW_VIN_REV_GOOD
               : st->state == GW_REV_REVOKED ? GW_VIN_REV_REVOKED
               : st->state == GW_REV_UNKNOWN ? GW_VIN_REV_UNKNOWN
                                             : GW_VIN_REV_UNAVAILABLE;
    q->revoked_at = st->state == GW_REV_REVOKED ? st->revoked_at : -1;
    snprintf(q->code, sizeof(q->code), "%s", st->code ? st->code : "");
    snprintf(q->source, sizeof(q->source), "%s", st->source ? st->source : "");
}

static bool gw_rev_usable(const struct gw_rev_status *st)
{
    return st->state == GW_REV_GOOD || st->state == GW_REV_REVOKED || st->state == GW_REV_UNKNOWN;
}

void gw_revoke_blocking(const struct gw_revoke_opts *o, struct gw_vrev *q, time_t now,
                        struct gw_revoke_io *io)
{
    struct gw_rev_status st, last;
    char url[1024];

    memset(&last, 0, sizeof(last));
    last.state = GW_REV_UNAVAILABLE;
    last.code = "no_revocation_source";
    last.source = "none";
    if (io && io->cached_ocsp.n &&
        gw_ocsp_response_check(io->cached_ocsp.p, io->cached_ocsp.n, q->cert, q->issuer, NULL, now,
                               &st) == 0 &&
        gw_rev_usable(&st)) {
        gw_rev_answer(q, &st);
        snprintf(q->source, sizeof(q->source), "ocsp_cache");
        return;
    }
    if (io && io->cached_crl.n &&
        gw_crl_check(io->cached_crl.p, io->cached_crl.n, q->cert, q->issuer, now, &st) == 0 &&
        gw_rev_usable(&st)) {
        gw_rev_answer(q, &st);
        snprintf(q->source, sizeof(q->source), "crl_cache");
        return;
    }
    for (size_t i = 0; i < o->n_crls; i++) {
        if (gw_crl_check(o->crls[i].p, o->crls[i].n, q->cert, q->issuer, now, &st) != 0)
            continue;
        if (gw_rev_usable(&st))
            return gw_rev_answer(q, &st);
        if (strcmp(st.code ? st.code : "", "crl_wrong_issuer") != 0)
            last = st;
    }
    if (!o->offline) {
        uint8_t nonce[GW_OCSP_NONCE_LEN], *req = NULL;
        size_t req_n = 0;
        if (gw_ocsp_request_new(q->cert, q->issuer, nonce, &req, &req_n, url, sizeof(url)) == 0 &&
            url[0]) {
            struct gw_rev_buf b = {0};
            if (gw_rev_fetch(url, req, req_n, GW_OCSP_MAX_DER, o->timeout_ms, &b) == 0 &&
                gw_ocsp_response_check(b.p, b.n, q->cert, q->issuer, nonce, now, &st) == 0) {
                if (gw_rev_usable(&st)) {
                    free(req);
                    if (io) {
                        io->fetched_ocsp = (struct gw_revoke_blob){b.p, b.n};
                        io->this_update = st.this_update;
                        io->next_update = st.next_update;
                    } else {
                        free(b.p);
                    }
                    return gw_rev_answer(q, &st);
                }
                last = st;
            }
            free(b.p);
        }
        free(req);
        if (gw_crl_url(q->cert, url, sizeof(url)) == 0 && url[0]) {
            struct gw_rev_buf b = {0};
            if (gw_rev_fetch(url, NULL, 0, GW_CRL_MAX_DER, o->timeout_ms, &b) == 0 &&
                gw_crl_check(b.p, b.n, q->cert, q->issuer, now, &st) == 0) {
                if (gw_rev_usable(&st) && io) {
                    io->fetched_crl = (struct gw_revoke_blob){b.p, b.n};
                    snprintf(io->crl_url, sizeof(io->crl_url), "%s", url);
                    io->this_update = st.this_update;
                    io->next_update = st.next_update;
                } else {
                    free(b.p);
                }
                if (gw_rev_usable(&st))
                    return gw_rev_answer(q, &st);
                last = st;
            } else {
                free(b.p);
            }
        }
    }
    gw_rev_answer(q, &last);
}

struct gw_revoke_job {
    uv_work_t work;
    const struct gw_revoke_opts *o;
    struct gw_vrev *q;
    struct gw_revoke_io *io;
    time_t now;
    void (*done)(void *ud);
    void *ud;
};

static void gw_revoke_work(uv_work_t *w)
{
    struct gw_revoke_job *j = w->data;
    gw_revoke_blocking(j->o, j->q, j->now, j->io);
}

static void gw_revoke_after(uv_work_t *w, int status)
{
    struct gw_revoke_job *j = w->data;

    if (status != 0) {
        j->q->state = GW_VIN_REV_UNAVAILABLE;
        snprintf(j->q->code, sizeof(j->q->code), "cancelled");
    }
    j->done(j->ud);
    free(j);
}

int gw_revoker_check(uv_loop_t *loop, const struct gw_revoke_opts *o, struct gw_vrev *q,
                     struct gw_revoke_io *io, time_t now, void (*done)(void *ud), void *ud)
{
    struct gw_revoke_job *j = calloc(1, sizeof(*j));

    if (!j)
        return -1;
    j->o = o;
    j->q = q;
    j->io = io;
    j->now = now;
    j->done = done;
    j->ud = ud;
    j->work.data = j;
    if (uv_queue_work(loop, &j->work, gw_revoke_work, gw_revoke_after) != 0) {
        free(j);
        return -1;
    }
    return 0;
}
