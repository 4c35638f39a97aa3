/*
 * The signature checks' part of the daemon: the trust store (loaded at start, reloaded on
 * SIGHUP on the thread pool and swapped on the loop; checks in flight keep the snapshot they
 * started with), the XML-DSig library, and the verifier engine with its dependencies.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "edxml/edxml_orgid.h"
#include "metrics/metrics.h"
#include "engine/dispatch.h"
#include "engine/revoke.h"
#include "engine/verifier.h"
#include "pipeline/answer.h"
#include "sig/trust.h"
#include "sig/crl.h"
#include "sig/ocsp.h"
#include "store/store_block.h"
#include "store/store_check.h"
#include "store/store_revoke.h"
#include <openssl/evp.h>
#include <stdio.h>
#include "sig/xmldsig.h"
#include "util/error.h"
#include "util/log.h"

static struct gw_trust *gw_app_trust_get(void *ud)
{
    struct gw_app *app = ud;
    return app->trust ? gw_trust_ref(app->trust) : NULL;
}

int gw_app_sig_init(struct gw_app *app)
{
    const char *dir = app->cfg->verify.trust_dir;
    char err[512] = "";
    int rc;

    app->path_opts = GW_PATH_OPTS_DEFAULT;
    /* SHA-1 in a certificate below the anchor is judged like a SHA-1 signature: refused
     * (CRYPTO_CONSTRAINTS_FAILURE_NO_POE) */
    app->path_opts.allow_sha1_certs = false;
    app->revoke_opts.timeout_ms = (long)app->cfg->verify.revocation_timeout_ms;
    app->path_opts.policy_oids = (const char *const *)app->cfg->verify.policy_oids;
    app->path_opts.n_policy_oids = app->cfg->verify.n_policy_oids;
    if ((rc = gw_xmldsig_global_init()) != 0) {
        gw_log(GW_LOG_ERROR, "sig.init_failed", "the XML signature library did not start");
        return rc;
    }
    if (!dir) {
        gw_log(GW_LOG_WARN, "sig.no_trust_store",
               "no [verify] trust_dir: no signature can chain to an anchor (INDETERMINATE)");
        return 0;
    }
    if ((rc = gw_trust_load(dir, &app->trust, err, sizeof(err))) != 0) {
        gw_log(GW_LOG_ERROR, "sig.trust_failed", "trust store %s: %s", dir, err);
        return rc;
    }
    gw_log(GW_LOG_INFO, "sig.trust_loaded", "trust store %s: %u anchors, %u intermediates (%.16s)",
           dir, gw_trust_anchors(app->trust), gw_trust_intermediates(app->trust),
           gw_trust_fingerprint(app->trust));
    return 0;
}

struct gw_trust_reload {
    uv_work_t work;
    struct gw_app *app;
    char *dir;
    struct gw_trust *trust;
    char err[512];
    int rc;
};

static void gw_trust_reload_work(uv_work_t *w)
{
    struct gw_trust_reload *r = w->data;
    r->rc = gw_trust_load(r->dir, &r->trust, r->err, sizeof(r->err));
}

static void gw_trust_reload_done(uv_work_t *w, int status)
{
    struct gw_trust_reload *r = w->data;
    struct gw_app *app = r->app;

    if (status == 0 && r->rc == 0 && !app->closing) {
        const char *before = app->trust ? gw_trust_fingerprint(app->trust) : "";
        bool same = strcmp(before, gw_trust_fingerprint(r->trust)) == 0;
        gw_log(GW_LOG_INFO, "sig.trust_reloaded",
               "trust store %s: %u anchors, %u intermediates (%.16s)%s", r->dir,
               gw_trust_anchors(r->trust), gw_trust_intermediates(r->trust),
               gw_trust_fingerprint(r->trust), same ? ", unchanged" : "");
        if (app->trust)
            gw_trust_unref(app->trust);
        app->trust = r->trust;
        r->trust = NULL;
    } else if (status == 0) {
        gw_log(GW_LOG_ERROR, "sig.trust_reload_failed",
               "trust store %s: %s; the previous one stays in force", r->dir,
               r->rc ? r->err : "shutting down");
    }
    if (r->trust)
        gw_trust_unref(r->trust);
    free(r->dir);
    free(r);
    gw_app_work_end(app);
}

void gw_app_sig_reload(struct gw_app *app)
{
    struct gw_trust_reload *r;

    if (!app->cfg->verify.trust_dir || app->draining)
        return;
    if (!(r = calloc(1, sizeof(*r))) || !(r->dir = strdup(app->cfg->verify.trust_dir))) {
        free(r);
        return;
    }
    r->app = app;
    r->work.data = r;
    gw_app_work_begin(app);
    if (uv_queue_work(app->loop, &r->work, gw_trust_reload_work, gw_trust_reload_done) != 0) {
        free(r->dir);
        free(r);
        gw_app_work_end(app);
    }
}

/* A revocation question: the local block list first (store/store_block.h), then the cache
 * (store/store_revoke.h), then OCSP and the CRL on the thread pool (engine/revoke.h); a fetched
 * answer is cached until its nextUpdate. */
struct gw_app_rq {
    struct gw_app *app;
    struct gw_vrev *q;
    time_t now;
    void (*done)(void *);
    void *dud;
    struct gw_ocsp_certid id;
    char crl_url[1024];
    struct gw_revoke_io io;
    uint8_t *cached; /* the cached DERs, one block */
};

/* gateway_revocation_answers_total{source, state}: where each question's answer came from
 * (block list, cache, OCSP, CRL, none) and what it said. */
static void gw_app_rq_count(struct gw_app *app, const struct gw_vrev *q)
{
    static const char *const states[] = {"good", "revoked", "unknown", "unavailable",
                                         "not_checked"};
    unsigned st = (unsigned)(q->state - GW_VIN_REV_GOOD);
    const char *source = q->blocked ? "block_list" : q->source[0] ? q->source : "none";
    struct gw_metric_family *f = gw_metrics_counter(
        app->metrics, "gateway_revocation_answers_total",
        "revocation questions answered, by where the answer came from and what it said", "source",
        "state", NULL);
    gw_metric_inc(gw_metric_series(f, source, st < 5 ? states[st] : "not_checked"));
}

static void gw_app_rq_end(struct gw_app_rq *r)
{
    gw_app_rq_count(r->app, r->q);
    r->done(r->dud);
    free(r->io.fetched_ocsp.p);
    free(r->io.fetched_crl.p);
    free(r->cached);
    free(r);
}

static void gw_app_revoke_fetched(void *ud)
{
    struct gw_app_rq *r = ud;
    struct gw_app *app = r->app;
    char issuer[512] = "";

    if (r->io.fetched_ocsp.n && r->io.next_update > 0 &&
        gw_store_revoke_put_ocsp(app->db, r->id.name_hash, r->id.key_hash, r->id.serial,
                                 r->io.fetched_ocsp.p, r->io.fetched_ocsp.n, r->io.this_update,
                                 r->io.next_update, NULL, NULL) != 0)
        gw_log(GW_LOG_WARN, "sig.cache_failed", "an OCSP response could not be cached");
    if (r->io.fetched_crl.n && r->io.next_update > 0) {
        X509_NAME_oneline(X509_get_subject_name(r->q->issuer), issuer, sizeof(issuer));
        if (gw_store_revoke_put_crl(app->db, r->io.crl_url, issuer, r->io.fetched_crl.p,
                                    r->io.fetched_crl.n, r->io.this_update, r->io.next_update, NULL,
                                    NULL) != 0)
            gw_log(GW_LOG_WARN, "sig.cache_failed", "a CRL could not be cached");
    }
    gw_app_rq_end(r);
}

static void gw_app_revoke_cached(int err, const uint8_t *ocsp, size_t ocsp_n, const uint8_t *crl,
                                 size_t crl_n, void *ud)
{
    struct gw_app_rq *r = ud;

    /* a cache that cannot be read is only a cache: the fetch still runs */
    if (err == 0 && ocsp_n + crl_n > 0 && (r->cached = malloc(ocsp_n + crl_n))) {
        if (ocsp_n)
            memcpy(r->cached, ocsp, ocsp_n);
        if (crl_n)
            memcpy(r->cached + ocsp_n, crl, crl_n);
        r->io.cached_ocsp = (struct gw_revoke_blob){ocsp_n ? r->cached : NULL, ocsp_n};
        r->io.cached_crl = (struct gw_revoke_blob){crl_n ? r->cached + ocsp_n : NULL, crl_n};
    }
    if (gw_revoker_check(r->app->loop, r->app->httpc, &r->app->revoke_opts, r->q, &r->io, r->now,
                         gw_app_revoke_fetched, r) != 0)
        gw_app_rq_end(r);
}

static void gw_app_revoke_blocked(int err, bool found, int64_t from, const char *reason, void *ud)
{
    struct gw_app_rq *r = ud;

    if (err != 0) { /* the block list cannot be read: no answer is trusted */
        r->q->state = GW_VIN_REV_UNAVAILABLE;
        snprintf(r->q->code, sizeof(r->q->code), "block_list_unavailable");
        return gw_app_rq_end(r);
    }
    if (found) {
        r->q->blocked = true;
        r->q->blocked_from = (time_t)from;
        snprintf(r->q->block_reason, sizeof(r->q->block_reason), "%s", reason ? reason : "");
    }
    if (gw_store_revoke_get(r->app->db, r->id.name_hash, r->id.key_hash, r->id.serial, r->crl_url,
                            r->now, gw_app_revoke_cached, r) != 0)
        gw_app_revoke_cached(GW_EDB, NULL, 0, NULL, 0, r);
}

static int gw_app_revoke(void *ud, struct gw_vrev *q, time_t now, void (*done)(void *), void *dud)
{
    struct gw_app *app = ud;
    struct gw_app_rq *r;
    uint8_t cert[32], issuer[32];
    unsigned n = 0;
    unsigned char *der = NULL;
    int len;

    if (X509_digest(q->cert, EVP_sha256(), cert, &n) != 1 || n != 32)
        return -1;
    len = i2d_X509_NAME(X509_get_issuer_name(q->cert), &der);
    if (len <= 0 || !EVP_Digest(der, (size_t)len, issuer, NULL, EVP_sha256(), NULL)) {
        OPENSSL_free(der);
        return -1;
    }
    OPENSSL_free(der);
    if (!(r = calloc(1, sizeof(*r))))
        return -1;
    r->app = app;
    r->q = q;
    r->now = now;
    r->done = done;
    r->dud = dud;
    if (gw_ocsp_certid(q->cert, q->issuer, &r->id) != 0 ||
        gw_crl_url(q->cert, r->crl_url, sizeof(r->crl_url)) != 0) {
        free(r);
        return -1;
    }
    if (gw_store_block_find(app->db, cert, issuer, r->id.serial, gw_app_revoke_blocked, r) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

/* Status 02 answers for one rejected package at most (one per recipient in the province). */
#define GW_APP_ANSWERS_MAX 64

static void gw_app_answered(int err, int64_t package_id, void *ud)
{
    struct gw_app *app = ud;

    if (err != 0)
        gw_log(GW_LOG_ERROR, "sig.answer_failed",
               "the status 02 for a rejected package could not be stored (%s)", gw_strerror(err));
    else
        gw_dispatch_kick(app->dispatch);
    (void)package_id;
    gw_app_work_end(app);
}

/* A rejected package to answer: what the answers need of its check job, kept while its
 * recipients are read. */
struct gw_app_reject {
    struct gw_app *app;
    int64_t package_id;
    char *sender, *document_id, *reason;
};

static void gw_app_answer_from(const struct gw_app_reject *rj, const char *from)
{
    struct gw_app *app = rj->app;
    struct gw_answer_spec spec = {
        .from = from,
        .to = rj->sender,
        .document_id = rj->document_id,
        .status_code = "02",
        .description = rj->reason,
        .axis = app->cfg->default_axis,
    };
    struct gw_ingest_deps deps = app->ingest;
    int rc;

    gw_log(GW_LOG_INFO, "sig.answer", "package %lld rejected: status 02 from %s to %s",
           (long long)rj->package_id, from, spec.to);
    deps.loop = app->loop;
    deps.db = app->db;
    gw_app_work_begin(app);
    rc = gw_answer_status(&deps, &spec, gw_app_answered, app);
    if (rc != 0)
        gw_app_answered(rc, 0, app);
}

static void gw_app_reject_free(struct gw_app_reject *rj)
{
    free(rj->sender);
    free(rj->document_id);
    free(rj->reason);
    free(rj);
}

/* The rejected package's recipients: a status 02 from each of them in the province (design.md
 * §5: the gateway answers for its agencies), once each. */
static void gw_app_reject_recipients(int err, const char *const *ids, size_t n, void *ud)
{
    struct gw_app_reject *rj = ud;
    struct gw_app *app = rj->app;
    char keys[GW_APP_ANSWERS_MAX][64];
    size_t answered = 0;

    if (err != 0)
        gw_log(GW_LOG_WARN, "sig.answer_recipients",
               "package %lld: its recipients could not be read (%s); answered from %s",
               (long long)rj->package_id, gw_strerror(err), app->cfg->organ_ids[0]);
    for (size_t i = 0; i < n && answered < GW_APP_ANSWERS_MAX; i++) {
        bool seen = false;
        if (!gw_orgid_lenient(ids[i], keys[answered], sizeof(keys[answered])) ||
            !gw_orgid_same_level1_any(ids[i], app->cfg->organ_ids, app->cfg->n_organ_ids))
            continue;
        for (size_t k = 0; k < answered && !seen; k++)
            seen = strcmp(keys[k], keys[answered]) == 0;
        if (seen)
            continue; /* the same agency named twice answers once */
        answered++;
        gw_app_answer_from(rj, ids[i]);
    }
    if (answered == 0)
        gw_app_answer_from(rj, app->cfg->organ_ids[0]);
    gw_app_reject_free(rj);
    gw_app_work_end(app);
}

/* An incoming package rejected by policy: the status 02 with the reason goes back to its sender
 * from each of its recipients in the province, each its own (domain.md §3: each recipient sends
 * its own statuses; a recipient of another province never answers through this gateway), or
 * from the gateway's first organ id when none of them is the province's. Before, only the first
 * To answered, whichever province it was of. */
static void gw_app_sig_rejected(void *ud, const struct gw_store_check_job *job, const char *reason)
{
    struct gw_app *app = ud;
    struct gw_app_reject *rj;

    if (!job->sender || !app->cfg->default_axis) {
        gw_log(GW_LOG_ERROR, "sig.answer_failed",
               "no status 02 for package %lld: its sender or the default axis is unknown",
               (long long)job->package_id);
        return;
    }
    if (!(rj = calloc(1, sizeof(*rj))) || !(rj->sender = strdup(job->sender)) ||
        !(rj->document_id = strdup(job->document_id)) ||
        (reason && !(rj->reason = strdup(reason)))) {
        gw_log(GW_LOG_ERROR, "sig.answer_failed", "no status 02 for package %lld: out of memory",
               (long long)job->package_id);
        if (rj)
            gw_app_reject_free(rj);
        return;
    }
    rj->app = app;
    rj->package_id = job->package_id;
    gw_app_work_begin(app);
    if (gw_store_check_recipients(app->db, job->package_id, gw_app_reject_recipients, rj) != 0)
        gw_app_reject_recipients(GW_EDB, NULL, 0, rj);
}

static void gw_app_sig_released(void *ud)
{
    struct gw_app *app = ud;
    gw_dispatch_kick(app->dispatch);
    gw_app_push_kick(app); /* an incoming package released is AVAILABLE now */
}

static void gw_app_sig_idle(void *ud)
{
    gw_app_maybe_finish(ud);
}

int gw_app_sig_start(struct gw_app *app)
{
    struct gw_verifier_deps deps = {
        .loop = app->loop,
        .db = app->db,
        .metrics = app->metrics,
        .cfg = &app->cfg->verify,
        .owner = app->owner,
        .verify =
            {
                .loop = app->loop,
                .db = app->db,
                .cache = app->body_cache,
                .cfg = &app->cfg->verify,
                .trust = gw_app_trust_get,
                .trust_ud = app,
                .revoke = gw_app_revoke,
                .revoke_ud = app,
                .issuer = gw_app_issuer,
                .issuer_ud = app,
                .path_opts = &app->path_opts,
                .role_opts = NULL,
            },
        .released = gw_app_sig_released,
        .rejected = gw_app_sig_rejected,
        .idle = gw_app_sig_idle,
        .ud = app,
    };
    return gw_verifier_start(&deps, &app->verifier);
}

void gw_app_sig_free(struct gw_app *app)
{
    gw_verifier_free(app->verifier);
    app->verifier = NULL;
    if (app->trust)
        gw_trust_unref(app->trust);
    app->trust = NULL;
}
