/*
 * Revocation answers: the cache's and the CRL files given by the caller first; then, unless
 * offline, OCSP (POST to the certificate's AIA responder, nonce checked) and the CRL of its
 * distribution point. The daemon's question (gw_revoker_check) checks on the thread pool and
 * fetches on the loop through the shared libcurl multi client (http/http_client.h), so a slow
 * responder holds no worker; gatewayctl calls gw_revoke_blocking, which fetches with libcurl's
 * easy interface. Nothing usable: UNAVAILABLE (the verdict's TRY_LATER).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/revoke.h"
#include "http/http_client.h"
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

/* The answers that need no network: the cache's, then the CRL files given. true: answered. */
static bool gw_rev_local(const struct gw_revoke_opts *o, struct gw_vrev *q, time_t now,
                         struct gw_revoke_io *io, struct gw_rev_status *last)
{
    struct gw_rev_status st;

    memset(last, 0, sizeof(*last));
    last->state = GW_REV_UNAVAILABLE;
    last->code = "no_revocation_source";
    last->source = "none";
    if (io && io->cached_ocsp.n &&
        gw_ocsp_response_check(io->cached_ocsp.p, io->cached_ocsp.n, q->cert, q->issuer, NULL, now,
                               &st) == 0 &&
        gw_rev_usable(&st)) {
        gw_rev_answer(q, &st);
        snprintf(q->source, sizeof(q->source), "ocsp_cache");
        return true;
    }
    if (io && io->cached_crl.n &&
        gw_crl_check(io->cached_crl.p, io->cached_crl.n, q->cert, q->issuer, now, &st) == 0 &&
        gw_rev_usable(&st)) {
        gw_rev_answer(q, &st);
        snprintf(q->source, sizeof(q->source), "crl_cache");
        return true;
    }
    for (size_t i = 0; i < o->n_crls; i++) {
        if (gw_crl_check(o->crls[i].p, o->crls[i].n, q->cert, q->issuer, now, &st) != 0)
            continue;
        if (gw_rev_usable(&st)) {
            gw_rev_answer(q, &st);
            return true;
        }
        if (strcmp(st.code ? st.code : "", "crl_wrong_issuer") != 0)
            *last = st;
    }
    return false;
}

/* The result of checking a fetched answer der[0..n) (taken over): a usable one answers q and is
 * kept in *keep for the cache (or freed without io); otherwise it is freed and a checked but
 * unusable status becomes *last. true: answered. */
static bool gw_rev_take(struct gw_vrev *q, int check_rc, const struct gw_rev_status *st,
                        uint8_t *der, size_t n, struct gw_revoke_io *io,
                        struct gw_revoke_blob *keep, struct gw_rev_status *last)
{
    if (check_rc != 0 || !gw_rev_usable(st)) {
        if (check_rc == 0)
            *last = *st;
        free(der);
        return false;
    }
    if (io) {
        *keep = (struct gw_revoke_blob){der, n};
        io->this_update = st->this_update;
        io->next_update = st->next_update;
    } else {
        free(der);
    }
    gw_rev_answer(q, st);
    return true;
}

/* A fetched OCSP response (taken over). true: answered. */
static bool gw_rev_ocsp(struct gw_vrev *q, uint8_t *der, size_t n, const uint8_t *nonce, time_t now,
                        struct gw_revoke_io *io, struct gw_rev_status *last)
{
    struct gw_rev_status st;
    int rc = der ? gw_ocsp_response_check(der, n, q->cert, q->issuer, nonce, now, &st) : -1;
    return gw_rev_take(q, rc, &st, der, n, io, io ? &io->fetched_ocsp : NULL, last);
}

/* A fetched CRL (taken over). true: answered. */
static bool gw_rev_crl(struct gw_vrev *q, uint8_t *der, size_t n, const char *url, time_t now,
                       struct gw_revoke_io *io, struct gw_rev_status *last)
{
    struct gw_rev_status st;
    int rc = der ? gw_crl_check(der, n, q->cert, q->issuer, now, &st) : -1;
    bool answered = gw_rev_take(q, rc, &st, der, n, io, io ? &io->fetched_crl : NULL, last);
    if (answered && io)
        snprintf(io->crl_url, sizeof(io->crl_url), "%s", url);
    return answered;
}

void gw_revoke_blocking(const struct gw_revoke_opts *o, struct gw_vrev *q, time_t now,
                        struct gw_revoke_io *io)
{
    struct gw_rev_status last;
    char url[1024];

    if (gw_rev_local(o, q, now, io, &last))
        return;
    if (!o->offline) {
        uint8_t nonce[GW_OCSP_NONCE_LEN], *req = NULL;
        size_t req_n = 0;
        if (gw_ocsp_request_new(q->cert, q->issuer, nonce, &req, &req_n, url, sizeof(url)) == 0 &&
            url[0]) {
            struct gw_rev_buf b = {0};
            int frc = gw_rev_fetch(url, req, req_n, GW_OCSP_MAX_DER, o->timeout_ms, &b);
            if (frc != 0) {
                free(b.p);
                b.p = NULL;
            }
            if (gw_rev_ocsp(q, b.p, b.n, nonce, now, io, &last)) {
                free(req);
                return;
            }
        }
        free(req);
        if (gw_crl_url(q->cert, url, sizeof(url)) == 0 && url[0]) {
            struct gw_rev_buf b = {0};
            if (gw_rev_fetch(url, NULL, 0, GW_CRL_MAX_DER, o->timeout_ms, &b) != 0) {
                free(b.p);
                b.p = NULL;
            }
            if (gw_rev_crl(q, b.p, b.n, url, now, io, &last))
                return;
        }
    }
    gw_rev_answer(q, &last);
}

/* ---- the daemon's question: checks on the thread pool, fetches on the loop ---- */

enum gw_rev_step { STEP_LOCAL, STEP_OCSP, STEP_CRL, STEP_END };

struct gw_revoke_job {
    uv_work_t work;
    uv_loop_t *loop;
    struct gw_httpc *httpc;
    const struct gw_revoke_opts *o;
    struct gw_vrev *q;
    struct gw_revoke_io *io;
    time_t now;
    void (*done)(void *ud);
    void *ud;
    enum gw_rev_step step; /* what the pool does next */
    bool answered;
    struct gw_rev_status last;
    uint8_t nonce[GW_OCSP_NONCE_LEN];
    uint8_t *req; /* the OCSP request */
    size_t req_n;
    char ocsp_url[1024], crl_url[1024];
    uint8_t *body; /* fetched, for the pool to check */
    size_t body_n;
};

static void gw_revoke_next(struct gw_revoke_job *j);
static void gw_revoke_after(uv_work_t *w, int status);

static void gw_revoke_finish(struct gw_revoke_job *j)
{
    if (!j->answered)
        gw_rev_answer(j->q, &j->last);
    free(j->req);
    free(j->body);
    j->done(j->ud);
    free(j);
}

static void gw_revoke_work(uv_work_t *w)
{
    struct gw_revoke_job *j = w->data;

    switch (j->step) {
    case STEP_LOCAL:
        j->answered = gw_rev_local(j->o, j->q, j->now, j->io, &j->last);
        if (!j->answered && !j->o->offline) {
            if (gw_ocsp_request_new(j->q->cert, j->q->issuer, j->nonce, &j->req, &j->req_n,
                                    j->ocsp_url, sizeof(j->ocsp_url)) != 0)
                j->ocsp_url[0] = '\0';
            if (gw_crl_url(j->q->cert, j->crl_url, sizeof(j->crl_url)) != 0)
                j->crl_url[0] = '\0';
        }
        break;
    case STEP_OCSP:
        j->answered = gw_rev_ocsp(j->q, j->body, j->body_n, j->nonce, j->now, j->io, &j->last);
        j->body = NULL;
        break;
    case STEP_CRL:
        j->answered = gw_rev_crl(j->q, j->body, j->body_n, j->crl_url, j->now, j->io, &j->last);
        j->body = NULL;
        break;
    case STEP_END:
        break;
    }
}

static void gw_revoke_fetched(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_revoke_job *j = ud;

    (void)body;
    j->body = err == 0 && status == 200 ? (uint8_t *)gw_httpc_take_body(j->httpc) : NULL;
    j->body_n = j->body ? len : 0;
    if (!j->body) /* nothing to check: the next source */
        return gw_revoke_next(j);
    /* the check (signature verification, a CRL's revoked list) runs on the pool */
    if (uv_queue_work(j->loop, &j->work, gw_revoke_work, gw_revoke_after) != 0) {
        free(j->body);
        j->body = NULL;
        gw_revoke_next(j);
    }
}

/* Starts the fetch of the next source; false when none is left. */
static bool gw_revoke_fetch_next(struct gw_revoke_job *j)
{
    struct gw_httpc_request rq = {.timeout_ms = (uint64_t)j->o->timeout_ms,
                                  .connect_timeout_ms = (uint64_t)j->o->timeout_ms};
    static const char *const ocsp_headers[] = {"Content-Type: application/ocsp-request", NULL};

    if (j->step == STEP_LOCAL && j->ocsp_url[0]) {
        j->step = STEP_OCSP;
        rq.method = "POST";
        rq.url = j->ocsp_url;
        rq.headers = ocsp_headers;
        rq.body = j->req;
        rq.body_len = j->req_n;
        rq.borrow_body = true;
        rq.max_response_bytes = GW_OCSP_MAX_DER;
        if (gw_httpc_request(j->httpc, &rq, gw_revoke_fetched, j) == 0)
            return true;
    }
    if ((j->step == STEP_LOCAL || j->step == STEP_OCSP) && j->crl_url[0]) {
        j->step = STEP_CRL;
        rq = (struct gw_httpc_request){.method = "GET",
                                       .url = j->crl_url,
                                       .timeout_ms = (uint64_t)j->o->timeout_ms,
                                       .connect_timeout_ms = (uint64_t)j->o->timeout_ms,
                                       .max_response_bytes = GW_CRL_MAX_DER};
        if (gw_httpc_request(j->httpc, &rq, gw_revoke_fetched, j) == 0)
            return true;
    }
    j->step = STEP_END;
    return false;
}

/* After a pool step: answered, or the next source. */
static void gw_revoke_next(struct gw_revoke_job *j)
{
    if (j->answered || j->o->offline || !gw_revoke_fetch_next(j))
        gw_revoke_finish(j);
}

static void gw_revoke_after(uv_work_t *w, int status)
{
    struct gw_revoke_job *j = w->data;

    if (status != 0) {
        j->q->state = GW_VIN_REV_UNAVAILABLE;
        snprintf(j->q->code, sizeof(j->q->code), "cancelled");
        j->answered = true;
        free(j->req);
        free(j->body);
        j->done(j->ud);
        free(j);
        return;
    }
    gw_revoke_next(j);
}

static void gw_revoke_blocking_work(uv_work_t *w)
{
    struct gw_revoke_job *j = w->data;
    gw_revoke_blocking(j->o, j->q, j->now, j->io);
    j->answered = true;
}

int gw_revoker_check(uv_loop_t *loop, struct gw_httpc *httpc, const struct gw_revoke_opts *o,
                     struct gw_vrev *q, struct gw_revoke_io *io, time_t now, void (*done)(void *ud),
                     void *ud)
{
    struct gw_revoke_job *j = calloc(1, sizeof(*j));

    if (!j)
        return -1;
    j->loop = loop;
    j->httpc = httpc;
    j->o = o;
    j->q = q;
    j->io = io;
    j->now = now;
    j->done = done;
    j->ud = ud;
    j->work.data = j;
    j->step = STEP_LOCAL;
    if (uv_queue_work(loop, &j->work, httpc ? gw_revoke_work : gw_revoke_blocking_work,
                      gw_revoke_after) != 0) {
        free(j);
        return -1;
    }
    return 0;
}
