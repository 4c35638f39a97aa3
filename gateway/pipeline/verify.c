/*
 * One package's signature check, driven on the loop: for each PDF attachment, read it back
 * (attach_load), check it on the thread pool (verify_pdf), ask its revocation questions, judge
 * it; then the envelope's XML-DSig when there is a real one; then the package's summary and
 * report.
 */
#include "pipeline/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/attach_load.h"
#include "sig/xmldsig.h"
#include "util/error.h"

struct gw_verify {
    struct gw_verify_deps deps;
    gw_verify_done_cb cb;
    void *ud;
    int64_t package_id, body_id, size;
    int64_t chunks; /* of the body, from the claim */
    bool xmldsig, envelope_done;
    json_t *atts;
    size_t next;
    struct gw_vdoc *docs;
    size_t n_docs;
    struct gw_vdoc *cur;
    uint8_t *buf;
    size_t len;
    struct gw_trust *trust;
    struct gw_verify_env env;
    json_t *findings;
    unsigned pending;
    bool asking;
    int err;
    uv_work_t work;
    STACK_OF(X509) * issuers; /* fetched at caIssuers URLs (env.issuers) */
    char aia_tried[GW_VERIFY_MAX_AIA][512];
    unsigned n_aia;
};

static void gw_verify_step(struct gw_verify *v);

static void gw_verify_free(struct gw_verify *v)
{
    for (size_t i = 0; i < v->n_docs; i++)
        gw_vdoc_clear(&v->docs[i]);
    free(v->docs);
    free(v->buf);
    json_decref(v->atts);
    json_decref(v->findings);
    if (v->trust)
        gw_trust_unref(v->trust);
    sk_X509_pop_free(v->issuers, X509_free);
    free(v);
}

static void gw_verify_end(struct gw_verify *v)
{
    struct gw_verify_result r;
    struct gw_pdf_summary *sums = NULL;
    json_t *docs = json_array(), *sigs = json_array(), *certs = json_array(), *rep = NULL;
    unsigned n = 0;
    int err = v->err;

    memset(&r, 0, sizeof(r));
    if (err == 0 && (!docs || !sigs || !certs))
        err = GW_ENOMEM;
    if (err == 0 && v->n_docs && !(sums = calloc(v->n_docs, sizeof(*sums))))
        err = GW_ENOMEM;
    for (size_t i = 0; err == 0 && i < v->n_docs; i++) {
        const struct gw_vdoc *d = &v->docs[i];
        if ((err = gw_vdoc_report(d, docs, sigs, certs)) != 0)
            break;
        r.n_signatures += d->n_sigs;
        if (d->sum.ind != GW_SIG_NO_SIGNATURE)
            sums[n++] = d->sum;
        else
            json_array_append_new(v->findings,
                                  json_pack("{s:s, s:i, s:s?}", "code", "unsigned_pdf",
                                            "attachment", d->attachment, "name", d->name));
    }
    if (err == 0) {
        gw_verdict_package(sums, n, &r.sum);
        r.try_later = r.sum.sub == GW_SUB_TRY_LATER;
        r.n_documents = (unsigned)v->n_docs;
        rep =
            json_pack("{s:O, s:O, s:O, s:O, s:s, s:s}", "documents", docs, "signatures", sigs,
                      "certificates", certs, "findings", v->findings, "summary",
                      gw_sig_indication_name(r.sum.ind), "summary_sub", gw_sig_sub_name(r.sum.sub));
        if (!rep || !(r.report_json = json_dumps(rep, JSON_COMPACT)))
            err = GW_ENOMEM;
    }
    json_decref(rep);
    json_decref(docs);
    json_decref(sigs);
    json_decref(certs);
    free(sums);
    v->cb(err, err == 0 ? &r : NULL, v->ud);
    free(r.report_json);
    gw_verify_free(v);
}

static void gw_verify_answered(void *ud)
{
    struct gw_verify *v = ud;

    if (--v->pending > 0 || v->asking)
        return;
    gw_vdoc_finish(v->cur);
    v->cur = NULL;
    gw_verify_step(v);
}

/* Asks every revocation question of the current file at once. */
static void gw_verify_ask(struct gw_verify *v)
{
    struct gw_vdoc *d = v->cur;

    v->pending = 1; /* held while asking, so an answer given at once cannot finish early */
    v->asking = true;
    gw_vdoc_link_questions(d);
    for (unsigned i = 0; v->deps.revoke && i < d->n_sigs; i++) {
        for (unsigned k = 0; k < d->sigs[i].n_revs; k++) {
            if (d->sigs[i].revs[k].same_as)
                continue;
            v->pending++;
            if (v->deps.revoke(v->deps.revoke_ud, &d->sigs[i].revs[k], v->env.now,
                               gw_verify_answered, v) != 0)
                v->pending--;
        }
    }
    v->asking = false;
    gw_verify_answered(v);
}

static void gw_verify_pdf_work(uv_work_t *w)
{
    struct gw_verify *v = w->data;
    v->err = gw_vdoc_check(v->cur, v->buf, v->len, &v->env);
}

/* Worker: the envelope's XML-DSig; a real one becomes a file with one signature. */
static void gw_verify_xml_work(uv_work_t *w)
{
    struct gw_verify *v = w->data;
    struct gw_xmldsig_result xr;
    struct gw_vdoc *d = v->cur;
    struct gw_vsig *s;
    int rc;

    memset(&xr, 0, sizeof(xr));
    rc = gw_xmldsig_check(v->buf, v->len, &xr);
    if (rc == GW_ENOMEM) {
        v->err = rc;
        return;
    }
    if (rc != 0 || xr.status == GW_XMLDSIG_ABSENT || xr.status == GW_XMLDSIG_PLACEHOLDER) {
        json_array_append_new(v->findings,
                              json_pack("{s:s, s:s}", "code", "no_usable_xml_signature", "message",
                                        rc        ? "the envelope could not be read"
                                        : xr.code ? xr.code
                                                  : "absent"));
        gw_xmldsig_result_clear(&xr);
        d->error = "no_signature";
        return;
    }
    if (!(d->sigs = calloc(1, sizeof(*d->sigs))) || !(d->findings = json_array())) {
        v->err = GW_ENOMEM;
        gw_xmldsig_result_clear(&xr);
        return;
    }
    d->n_sigs = 1;
    s = &d->sigs[0];
    if ((v->err = gw_vsig_init(s, 0, "xmldsig", &v->env)) != 0) {
        gw_xmldsig_result_clear(&xr);
        return;
    }
    json_object_set_new(s->details, "xmldsig", json_string(gw_xmldsig_status_name(xr.status)));
    json_object_set_new(s->details, "signature_method", json_string(xr.signature_method));
    json_object_set_new(s->details, "digest_method", json_string(xr.digest_method));
    s->in.format_ok = true;
    s->in.hash_ok = true;
    s->in.sig_ok = true;
    if (xr.status == GW_XMLDSIG_INVALID) {
        json_object_set_new(s->details, "code", json_string(xr.code ? xr.code : ""));
        if (xr.code && strcmp(xr.code, "digest_mismatch") == 0)
            s->in.hash_ok = false;
        else if (xr.code && strcmp(xr.code, "signature_invalid") == 0)
            s->in.sig_ok = false;
        else {
            s->in.format_ok = false;
            s->in.format_code = xr.code;
        }
    }
    s->in.weak_digest = xr.sha1;
    s->in.signer_cert_found = xr.signer != NULL;
    if (xr.signer)
        v->err = gw_vsig_paths(s, xr.signer, NULL, NULL, GW_PATH_SIGNING, &v->env);
    gw_xmldsig_result_clear(&xr);
}

static void gw_verify_worked(uv_work_t *w, int status);

/* A caIssuers URL of a signer that did not chain, not fetched yet for this package. */
static const char *gw_verify_aia_next(const struct gw_verify *v)
{
    if (!v->deps.issuer || v->n_aia >= GW_VERIFY_MAX_AIA || v->cur->attachment < 0)
        return NULL;
    for (unsigned i = 0; i < v->cur->n_sigs; i++) {
        const char *url = v->cur->sigs[i].aia_url;
        bool tried = !url[0];
        for (unsigned k = 0; k < v->n_aia && !tried; k++)
            tried = strcmp(v->aia_tried[k], url) == 0;
        if (!tried)
            return url;
    }
    return NULL;
}

/* The issuer fetched (or not): with one, the file is checked again with it. */
static void gw_verify_issuer_got(void *ud, X509 *cert)
{
    struct gw_verify *v = ud;

    if (cert && (v->issuers || (v->issuers = sk_X509_new_null())) &&
        sk_X509_push(v->issuers, cert)) {
        int att = v->cur->attachment;
        char *name = v->cur->name;
        v->cur->name = NULL;
        gw_vdoc_clear(v->cur);
        v->cur->attachment = att;
        v->cur->name = name;
        v->env.issuers = v->issuers;
        v->work.data = v;
        if (uv_queue_work(v->deps.loop, &v->work, gw_verify_pdf_work, gw_verify_worked) == 0)
            return;
        v->err = GW_EAGAIN;
        return gw_verify_end(v);
    }
    X509_free(cert); /* not kept (out of memory): the check stands as it is */
    free(v->buf);
    v->buf = NULL;
    gw_verify_ask(v);
}

static void gw_verify_worked(uv_work_t *w, int status)
{
    struct gw_verify *v = w->data;
    const char *url;

    if (status != 0 && v->err == 0)
        v->err = GW_ECANCELED;
    if (v->err == 0 && (url = gw_verify_aia_next(v)) != NULL) {
        snprintf(v->aia_tried[v->n_aia++], sizeof(v->aia_tried[0]), "%s", url);
        if (v->deps.issuer(v->deps.issuer_ud, url, gw_verify_issuer_got, v) == 0)
            return; /* the bytes are kept for the check again */
    }
    free(v->buf);
    v->buf = NULL;
    if (v->err != 0)
        return gw_verify_end(v);
    if (v->cur->attachment < 0 && v->cur->error) { /* no usable XML signature: no file */
        gw_vdoc_clear(v->cur);
        v->n_docs--;
        v->cur = NULL;
        return gw_verify_step(v);
    }
    gw_verify_ask(v);
}

static void gw_verify_loaded(int err, const char *code, uint8_t *bytes, size_t n, void *ud)
{
    struct gw_verify *v = ud;
    bool envelope = v->cur->attachment < 0;

    if (err == GW_EDB || err == GW_ENOMEM || err == GW_EAGAIN || err == GW_ECANCELED ||
        (err != 0 && code && strcmp(code, "database") == 0)) {
        v->err = err;
        return gw_verify_end(v); /* a local failure: nothing decided */
    }
    if (err != 0) { /* the file cannot be read back for a check: said in its row */
        v->cur->error = code ? code : "unreadable";
        if (envelope)
            json_array_append_new(v->findings,
                                  json_pack("{s:s, s:s}", "code", "no_usable_xml_signature",
                                            "message", v->cur->error));
        gw_vdoc_finish(v->cur);
        if (envelope) {
            gw_vdoc_clear(v->cur);
            v->n_docs--;
        }
        v->cur = NULL;
        return gw_verify_step(v);
    }
    v->buf = bytes;
    v->len = n;
    v->work.data = v;
    if (uv_queue_work(v->deps.loop, &v->work, envelope ? gw_verify_xml_work : gw_verify_pdf_work,
                      gw_verify_worked) != 0) {
        v->err = GW_EAGAIN;
        gw_verify_end(v);
    }
}

static void gw_verify_step(struct gw_verify *v)
{
    struct gw_attach_load_req req = {
        .loop = v->deps.loop,
        .db = v->deps.db,
        .cache = v->deps.cache,
        .body_id = v->body_id,
        .body_size = (uint64_t)v->size,
        .body_chunks = v->chunks,
        .max_bytes = v->deps.cfg->max_pdf_bytes,
        .max_zip_ratio = 200,
    };
    size_t n_atts = json_array_size(v->atts);
    int rc;

    if (v->next < n_atts) {
        json_t *a = json_array_get(v->atts, v->next++);
        const char *name = json_string_value(json_object_get(a, "name"));
        v->cur = &v->docs[v->n_docs++];
        v->cur->attachment = (int)json_integer_value(json_object_get(a, "idx"));
        v->cur->name = name ? strdup(name) : NULL;
        req.b64_offset = (uint64_t)json_integer_value(json_object_get(a, "b64_offset"));
        req.b64_len = (uint64_t)json_integer_value(json_object_get(a, "b64_len"));
        req.size = (uint64_t)json_integer_value(json_object_get(a, "size"));
        req.unwrapped = json_is_true(json_object_get(a, "unwrapped"));
        if (!req.unwrapped && req.size > req.max_bytes) {
            v->cur->error = "pdf_too_large";
            gw_vdoc_finish(v->cur);
            v->cur = NULL;
            return gw_verify_step(v);
        }
    } else if (v->xmldsig && !v->envelope_done) {
        v->envelope_done = true;
        v->cur = &v->docs[v->n_docs++];
        v->cur->attachment = -1;
        v->cur->name = strdup("envelope");
        req.b64_offset = 0;
        req.b64_len = (uint64_t)v->size;
        req.size = (uint64_t)v->size;
        req.raw = true;
        req.max_bytes = v->deps.cfg->max_envelope_bytes;
        if (req.size > req.max_bytes) {
            json_array_append_new(v->findings,
                                  json_pack("{s:s, s:s}", "code", "no_usable_xml_signature",
                                            "message", "envelope_too_large"));
            gw_vdoc_clear(v->cur);
            v->n_docs--;
            v->cur = NULL;
            return gw_verify_step(v);
        }
    } else {
        return gw_verify_end(v);
    }
    rc = gw_attach_load(&req, gw_verify_loaded, v);
    if (rc != 0)
        gw_verify_loaded(rc, rc == GW_ELIMIT ? "pdf_too_large" : "database", NULL, 0, v);
}

int gw_verify_package(const struct gw_verify_deps *deps, const struct gw_store_check_job *job,
                      gw_verify_done_cb cb, void *ud)
{
    struct gw_verify *v;
    json_error_t je;

    if (!deps || !job || !cb)
        return GW_EINVAL;
    if (!(v = calloc(1, sizeof(*v))))
        return GW_ENOMEM;
    v->deps = *deps;
    v->cb = cb;
    v->ud = ud;
    v->package_id = job->package_id;
    v->body_id = job->body_id;
    v->size = job->size;
    v->chunks = job->chunks;
    v->xmldsig = job->xmldsig && job->body_id > 0;
    v->atts = json_loads(job->attachments_json ? job->attachments_json : "[]", 0, &je);
    v->findings = json_array();
    if (!v->atts || !json_is_array(v->atts) || !v->findings ||
        !(v->docs = calloc(json_array_size(v->atts) + 1, sizeof(*v->docs)))) {
        gw_verify_free(v);
        return GW_ENOMEM;
    }
    if (job->body_id <= 0 && json_array_size(v->atts) > 0) {
        gw_verify_free(v);
        return GW_EDB; /* attachments without stored bytes */
    }
    v->trust = deps->trust ? deps->trust(deps->trust_ud) : NULL;
    v->env.trust = v->trust;
    v->env.path_opts = deps->path_opts;
    v->env.role_opts = deps->role_opts;
    gw_pdf_limits_default(&v->env.pdf_limits);
    v->env.now = time(NULL);
    v->env.sha1_cutoff = (time_t)deps->cfg->sha1_cutoff_t;
    gw_verify_step(v);
    return 0;
}
