/*
 * One signature's checks after its cryptography: the signature timestamp's TSA path at genTime
 * (a timestamp that does not verify is no proof, domain.md §6), the signer's path at the
 * validation time, the revocation questions of that path, the signer's role; then, once the
 * revocation answers are in, the verdict; and the rows the store keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/verify_pdf.h"
#include "sig/tst.h"
#include "util/error.h"

json_t *gw_verify_time_json(time_t t)
{
    struct tm tm;
    char buf[32];

    if (t < 0 || !gmtime_r(&t, &tm))
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

int gw_vsig_init(struct gw_vsig *s, unsigned idx, const char *format,
                 const struct gw_verify_env *env)
{
    s->idx = idx;
    s->format = format;
    s->in.claimed_time = -1;
    s->in.now = env->now;
    s->in.weak_cutoff = env->sha1_cutoff;
    s->in.revoked_at = -1;
    s->in.rev = GW_VIN_REV_NOT_CHECKED;
    if (!(s->details = json_object()) || !(s->certs = json_array()))
        return GW_ENOMEM;
    return 0;
}

/* The inventory entry of a certificate (008's gw_certificate_seen reads these keys); its
 * SHA-256 (hex) into sha and, when subject is given and unset, its subject. */
static int gw_vsig_cert(json_t *certs, X509 *c, const char *usage, char sha[65], char **subject)
{
    struct gw_cert_info ci;
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der), rc;
    json_t *e = NULL;
    char *b64;

    if (n <= 0)
        return GW_ENOMEM;
    if ((rc = gw_cert_info_get(c, &ci)) != 0) {
        OPENSSL_free(der);
        return rc == GW_ENOMEM ? rc : 0; /* undecodable facts: kept out of the inventory */
    }
    memcpy(sha, ci.sha256, 65);
    if ((b64 = malloc(4 * (((size_t)n + 2) / 3) + 1))) {
        EVP_EncodeBlock((unsigned char *)b64, der, n);
        e = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "sha256", ci.sha256, "subject",
                      ci.subject ? ci.subject : "", "issuer", ci.issuer ? ci.issuer : "", "serial",
                      ci.serial, "not_before", gw_verify_time_json(ci.not_before), "not_after",
                      gw_verify_time_json(ci.not_after), "der", b64, "usage", usage);
    }
    OPENSSL_free(der);
    if (subject && !*subject && ci.subject && !(*subject = strdup(ci.subject)))
        rc = GW_ENOMEM;
    gw_cert_info_clear(&ci);
    free(b64);
    if (!e || json_array_append_new(certs, e) != 0)
        return GW_ENOMEM;
    return rc;
}

static enum gw_vin_path gw_vsig_path_in(const struct gw_path_result *p)
{
    switch (p->status) {
    case GW_PATH_OK:
    case GW_PATH_EXPIRED: /* the time rule is the verdict's */
    case GW_PATH_NOT_YET_VALID:
        return GW_VIN_PATH_OK;
    case GW_PATH_CONSTRAINTS:
        return GW_VIN_PATH_CONSTRAINTS;
    case GW_PATH_CRYPTO:
        return strcmp(p->code, "weak_algorithm") == 0 ? GW_VIN_PATH_CRYPTO : GW_VIN_PATH_NO_CHAIN;
    case GW_PATH_NO_CHAIN:
        break;
    }
    return GW_VIN_PATH_NO_CHAIN;
}

static int gw_vsig_build(const struct gw_verify_env *env, X509 *leaf, STACK_OF(X509) * certs,
                         time_t at, enum gw_path_purpose purpose, struct gw_path_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!env->trust) {
        out->status = GW_PATH_NO_CHAIN;
        out->code = "no_trust_store";
        out->failed_depth = -1;
        snprintf(out->detail, sizeof(out->detail), "no trust store is configured");
        return 0;
    }
    if (!env->issuers || sk_X509_num(env->issuers) == 0)
        return gw_path_build(env->trust, leaf, certs, at, purpose, env->path_opts, out);
    /* the signature's own certificates, then the issuers fetched for the package */
    STACK_OF(X509) *all = sk_X509_new_null();
    for (int i = 0; all && certs && i < sk_X509_num(certs); i++)
        if (!sk_X509_push(all, sk_X509_value(certs, i)))
            break;
    for (int i = 0; all && i < sk_X509_num(env->issuers); i++)
        if (!sk_X509_push(all, sk_X509_value(env->issuers, i)))
            break;
    if (!all)
        return GW_ENOMEM;
    int rc = gw_path_build(env->trust, leaf, all, at, purpose, env->path_opts, out);
    sk_X509_free(all); /* the certificates are borrowed */
    return rc;
}

int gw_vsig_paths(struct gw_vsig *s, X509 *signer, STACK_OF(X509) * certs,
                  const struct gw_tst_result *ts, enum gw_path_purpose purpose,
                  const struct gw_verify_env *env)
{
    struct gw_path_result pr;
    time_t at = env->now;
    int rc;

    /* the signature timestamp: a proof of existence only when its TSA chains at genTime */
    if (ts && ts->present) {
        s->in.ts_present = true;
        s->in.ts_gen_time = ts->gen_time;
        s->in.ts_valid = ts->valid;
        s->in.ts_code = ts->code;
        if (ts->valid && ts->tsa) {
            if ((rc = gw_vsig_build(env, ts->tsa, ts->tsa_certs, ts->gen_time, GW_PATH_TIMESTAMPING,
                                    &pr)) != 0)
                return rc;
            if (pr.status != GW_PATH_OK) {
                s->in.ts_valid = false;
                s->in.ts_code = "tst_tsa_path";
                json_object_set_new(s->details, "tsa_path", json_string(pr.code));
            }
            gw_path_result_clear(&pr);
            if (X509_up_ref(ts->tsa) != 1)
                return GW_ENOMEM;
            s->tsa = ts->tsa;
            if ((rc = gw_vsig_cert(s->certs, ts->tsa, "tsa", s->tsa_sha256, NULL)) != 0)
                return rc;
        }
        if (s->in.ts_valid)
            at = ts->gen_time;
    }
    if (purpose == GW_PATH_TIMESTAMPING)
        at = s->in.ts_gen_time; /* a document timestamp: its own genTime */
    if (!signer) {
        s->in.signer_cert_found = false;
        return 0;
    }
    if (X509_up_ref(signer) != 1)
        return GW_ENOMEM;
    s->signer = signer;
    if ((rc = gw_vsig_cert(s->certs, signer, purpose == GW_PATH_TIMESTAMPING ? "tsa" : "signer",
                           s->signer_sha256, &s->signer_subject)) != 0)
        return rc;
    if ((rc = gw_vsig_build(env, signer, certs, at, purpose, &pr)) != 0)
        return rc;
    s->in.path = gw_vsig_path_in(&pr);
    s->in.path_code = pr.code;
    s->in.chain_not_before = pr.not_before;
    s->in.chain_not_after = pr.not_after;
    json_object_set_new(s->details, "path", json_string(pr.code ? pr.code : ""));
    if (pr.status != GW_PATH_OK)
        json_object_set_new(s->details, "path_detail", json_string(pr.detail));
    if (pr.status == GW_PATH_NO_CHAIN && pr.aia_url[0])
        snprintf(s->aia_url, sizeof(s->aia_url), "%s", pr.aia_url);
    if (s->in.path == GW_VIN_PATH_OK && pr.chain && sk_X509_num(pr.chain) >= 2) {
        unsigned n = (unsigned)sk_X509_num(pr.chain) - 1;
        if (!(s->revs = calloc(n, sizeof(*s->revs))))
            return GW_ENOMEM;
        s->n_revs = n;
        for (unsigned i = 0; i < n; i++) {
            s->revs[i].cert = sk_X509_value(pr.chain, (int)i);
            s->revs[i].issuer = sk_X509_value(pr.chain, (int)i + 1);
            s->revs[i].state = GW_VIN_REV_NOT_CHECKED;
            s->revs[i].revoked_at = -1;
        }
        s->chain = pr.chain; /* the revocation questions borrow from it */
        pr.chain = NULL;
    } else if (s->in.path == GW_VIN_PATH_OK) {
        s->in.rev = GW_VIN_REV_GOOD; /* the signer is itself an anchor: nothing to revoke */
    }
    gw_path_result_clear(&pr);
    s->role = gw_role_of(signer, env->role_opts, &s->role_rule);
    return 0;
}

void gw_vdoc_link_questions(struct gw_vdoc *d)
{
    for (unsigned i = 0; i < d->n_sigs; i++) {
        for (unsigned k = 0; k < d->sigs[i].n_revs; k++) {
            struct gw_vrev *q = &d->sigs[i].revs[k];
            q->same_as = NULL;
            for (unsigned j = 0; j <= i && !q->same_as; j++) {
                unsigned end = j < i ? d->sigs[j].n_revs : k;
                for (unsigned m = 0; m < end; m++) {
                    const struct gw_vrev *p = &d->sigs[j].revs[m];
                    if (!p->same_as && X509_cmp(p->cert, q->cert) == 0 &&
                        X509_cmp(p->issuer, q->issuer) == 0) {
                        q->same_as = p;
                        break;
                    }
                }
            }
        }
    }
}

/* A repeated question takes its first's answer (the certificates stay its own). */
static void gw_vrev_copy_answer(struct gw_vrev *q)
{
    X509 *cert = q->cert, *issuer = q->issuer;
    const struct gw_vrev *p = q->same_as;

    *q = *p;
    q->cert = cert;
    q->issuer = issuer;
    q->same_as = p;
}

/* The worst answer over the chain: revoked (earliest), else unavailable/unknown, else good. */
static void gw_vsig_rev_fold(struct gw_vsig *s)
{
    if (s->n_revs == 0)
        return;
    s->in.rev = GW_VIN_REV_GOOD;
    s->in.rev_rest = GW_VIN_REV_GOOD;
    for (unsigned i = 0; i < s->n_revs; i++) {
        const struct gw_vrev *r = &s->revs[i];
        if (r->blocked && (!s->in.blocked || r->blocked_from < s->in.blocked_from)) {
            s->in.blocked = true;
            s->in.blocked_from = r->blocked_from;
            s->in.block_reason = r->block_reason;
        }
        if (r->state == GW_VIN_REV_REVOKED) {
            if (s->in.rev != GW_VIN_REV_REVOKED || r->revoked_at < s->in.revoked_at)
                s->in.revoked_at = r->revoked_at;
            s->in.rev = GW_VIN_REV_REVOKED;
            s->in.rev_code = r->code;
        } else if (r->state != GW_VIN_REV_GOOD &&
                   (s->in.rev_rest == GW_VIN_REV_GOOD || r->state == GW_VIN_REV_UNAVAILABLE)) {
            s->in.rev_rest = r->state; /* the worst of the certificates not revoked */
            s->in.rev_rest_code = r->code;
        }
    }
    if (s->in.rev != GW_VIN_REV_REVOKED) {
        s->in.rev = s->in.rev_rest;
        s->in.rev_code = s->in.rev_rest_code;
    }
}

void gw_vdoc_finish(struct gw_vdoc *d)
{
    struct gw_verdict *v = NULL;
    enum gw_sig_role *roles = NULL;
    unsigned n = 0;

    if (d->n_sigs) {
        v = calloc(d->n_sigs, sizeof(*v));
        roles = calloc(d->n_sigs, sizeof(*roles));
    }
    for (unsigned i = 0; i < d->n_sigs; i++) {
        struct gw_vsig *s = &d->sigs[i];
        for (unsigned k = 0; k < s->n_revs; k++)
            if (s->revs[k].same_as)
                gw_vrev_copy_answer(&s->revs[k]);
        gw_vsig_rev_fold(s);
        gw_verdict_decide(&s->in, &s->v);
        if (v && roles && strcmp(s->format, "pades") == 0) {
            v[n] = s->v;
            roles[n] = s->role;
            n++;
        }
    }
    if (d->error) {
        memset(&d->sum, 0, sizeof(d->sum));
        d->sum.ind = GW_SIG_INDETERMINATE;
        snprintf(d->sum.reason_en, sizeof(d->sum.reason_en), "the file could not be checked (%s)",
                 d->error);
        snprintf(d->sum.reason_vi, sizeof(d->sum.reason_vi), "không kiểm tra được tệp (%s)",
                 d->error);
    } else if (d->n_sigs && !v) {
        memset(&d->sum, 0, sizeof(d->sum));
        d->sum.ind = GW_SIG_INDETERMINATE;
    } else {
        gw_verdict_pdf(v, roles, n, d->disallowed, false, &d->sum);
        /* The file's other signatures count too: a document timestamp that fails, the
         * envelope's XML-DSig whatever its verdict (before, neither reached the summary: a
         * tampered XML-DSig or a corrupt timestamp token beside valid signatures passed). */
        for (unsigned i = 0; i < d->n_sigs; i++) {
            bool xml = strcmp(d->sigs[i].format, "xmldsig") == 0;
            /* a document timestamp only when it fails outright: one INDETERMINATE for want of
             * proof today (an archive timestamp's TSA certificate expired since, its status not
             * checked) says nothing against the signatures it covers */
            if (xml || (strcmp(d->sigs[i].format, "doc_timestamp") == 0 &&
                        d->sigs[i].v.ind == GW_SIG_TOTAL_FAILED))
                gw_verdict_fold(&d->sum, &d->sigs[i].v, i, d->n_sigs, xml);
        }
    }
    free(v);
    free(roles);
}

static const char *gw_vrev_state_name(int state)
{
    switch (state) {
    case GW_VIN_REV_GOOD:
        return "good";
    case GW_VIN_REV_REVOKED:
        return "revoked";
    case GW_VIN_REV_UNKNOWN:
        return "unknown";
    case GW_VIN_REV_UNAVAILABLE:
        return "unavailable";
    }
    return "not_checked";
}

static int gw_vsig_row(const struct gw_vdoc *d, const struct gw_vsig *s, json_t *signatures)
{
    json_t *e, *revs;

    e = json_pack("{s:i, s:i, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, "
                  "s:s, s:s?, s:s?, s:s?, s:O?, s:b}",
                  "attachment", d->attachment, "idx", (int)s->idx, "format", s->format, "subfilter",
                  s->subfilter, "field", s->field, "signer", s->signer_subject, "role",
                  gw_sig_role_name(s->role), "role_rule", s->role_rule ? s->role_rule : "",
                  "claimed_time", gw_verify_time_json(s->in.claimed_time), "ts_time",
                  gw_verify_time_json(s->in.ts_present && s->in.ts_valid ? s->in.ts_gen_time : -1),
                  "validation_time", gw_verify_time_json(s->v.validation_time), "indication",
                  gw_sig_indication_name(s->v.ind), "sub_indication", gw_sig_sub_name(s->v.sub),
                  "reason_vi", s->v.reason_vi, "reason_en", s->v.reason_en, "rule", s->v.rule,
                  "signer_sha256", s->signer_sha256[0] ? s->signer_sha256 : NULL, "tsa_sha256",
                  s->tsa_sha256[0] ? s->tsa_sha256 : NULL, "checks", s->details, "weak_accepted",
                  s->v.weak_accepted);
    if (!e)
        return GW_ENOMEM;
    if (s->n_revs) {
        if (!(revs = json_array()) || json_object_set_new(e, "revocation", revs) != 0) {
            json_decref(e);
            return GW_ENOMEM;
        }
        for (unsigned i = 0; i < s->n_revs; i++)
            json_array_append_new(revs, json_pack("{s:s, s:s, s:o, s:b}", "state",
                                                  gw_vrev_state_name(s->revs[i].state), "source",
                                                  s->revs[i].source, "revoked_at",
                                                  gw_verify_time_json(s->revs[i].revoked_at),
                                                  "blocked", s->revs[i].blocked));
    }
    return json_array_append_new(signatures, e) == 0 ? 0 : GW_ENOMEM;
}

int gw_vdoc_report(const struct gw_vdoc *d, json_t *documents, json_t *signatures, json_t *certs)
{
    json_t *doc;
    int rc;

    doc = json_pack("{s:i, s:s?, s:s, s:s, s:i, s:s, s:s, s:b, s:s?, s:O?}", "attachment",
                    d->attachment, "name", d->name, "summary", gw_sig_indication_name(d->sum.ind),
                    "summary_sub", gw_sig_sub_name(d->sum.sub), "signatures", (int)d->n_sigs,
                    "reason_vi", d->sum.reason_vi, "reason_en", d->sum.reason_en,
                    "modified_after_signing", d->disallowed, "error", d->error, "findings",
                    d->findings);
    if (!doc || json_array_append_new(documents, doc) != 0)
        return GW_ENOMEM;
    for (unsigned i = 0; i < d->n_sigs; i++) {
        if ((rc = gw_vsig_row(d, &d->sigs[i], signatures)) != 0)
            return rc;
        if (d->sigs[i].certs && json_array_extend(certs, d->sigs[i].certs) != 0)
            return GW_ENOMEM;
    }
    return 0;
}

void gw_vdoc_clear(struct gw_vdoc *d)
{
    for (unsigned i = 0; i < d->n_sigs; i++) {
        struct gw_vsig *s = &d->sigs[i];
        free(s->subfilter);
        free(s->field);
        free(s->m);
        free(s->signer_subject);
        free(s->revs);
        X509_free(s->signer);
        X509_free(s->tsa);
        sk_X509_pop_free(s->chain, X509_free);
        json_decref(s->details);
        json_decref(s->certs);
    }
    free(d->sigs);
    free(d->name);
    json_decref(d->findings);
    memset(d, 0, sizeof(*d));
}
