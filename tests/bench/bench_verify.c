/*
 * Benchmark of the signature check of one PDF on one core, against OpenSSL alone in the same run.
 *   bench_verify PDF TRUST_DIR CRL... [--seconds N]
 * The gateway side is the daemon's own sequence (pipeline/verify_pdf): gw_vdoc_check, every
 * revocation question answered offline from the CRL files (gw_revoke_blocking), gw_vdoc_finish,
 * gw_vdoc_clear, repeated for N seconds (default 3); the summary must be TOTAL-PASSED.
 * The ceiling is what OpenSSL alone must do for the same check: per signature, SHA-256 over the
 * two ranges of its ByteRange, the CMS signature value verified with the signer's key, one
 * certificate signature per certificate of its path below the anchor (X509_verify with its
 * issuer's key) and one CRL signature per revocation question (X509_CRL_verify).
 * Prints verify_pdfs_per_s=, verify_ceiling_per_s= and verify_ceiling_ratio=.
 */
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/revoke.h"
#include "pipeline/verify_pdf.h"
#include "sig/pdf.h"
#include "sig/sig.h"
#include "sig/trust.h"
#include "util/file.h"

#define MAX_FILE ((size_t)256 * 1024 * 1024)

static int read_file(const char *path, struct gw_revoke_blob *out)
{
    return gw_file_read(path, MAX_FILE, &out->p, &out->n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_verify: %s\n", msg);
    exit(1);
}

/* One gateway check of the PDF; returns the file's summary indication. */
static int gateway_once(const struct gw_revoke_blob *pdf, const struct gw_verify_env *env,
                        const struct gw_revoke_opts *ro, struct gw_vdoc *keep)
{
    struct gw_vdoc d = {0};
    int ind;

    if (gw_vdoc_check(&d, pdf->p, pdf->n, env) != 0)
        die("gw_vdoc_check: out of memory");
    gw_vdoc_link_questions(&d); /* as pipeline/verify.c: a repeated certificate is asked once */
    for (unsigned i = 0; i < d.n_sigs; i++)
        for (unsigned k = 0; k < d.sigs[i].n_revs; k++)
            if (!d.sigs[i].revs[k].same_as)
                gw_revoke_blocking(ro, &d.sigs[i].revs[k], env->now, NULL);
    gw_vdoc_finish(&d);
    ind = (int)d.sum.ind;
    if (keep)
        *keep = d;
    else
        gw_vdoc_clear(&d);
    return ind;
}

/* What OpenSSL alone verifies for one signature. */
struct ceil_sig {
    const uint8_t *r1, *r2;
    size_t n1, n2;
    CMS_ContentInfo *cms;
    CMS_SignerInfo *si;
    X509 *certs[8], *issuers[8];
    unsigned n_certs;
    X509_CRL *crls[8];
    X509 *crl_issuers[8];
    unsigned n_crls;
};

static X509_CRL *crl_of(X509_CRL **crls, size_t n, X509 *issuer)
{
    for (size_t i = 0; i < n; i++)
        if (X509_NAME_cmp(X509_CRL_get_issuer(crls[i]), X509_get_subject_name(issuer)) == 0)
            return crls[i];
    return NULL;
}

static void ceiling_once(struct ceil_sig *cs, unsigned n)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen;

    for (unsigned i = 0; i < n; i++) {
        struct ceil_sig *s = &cs[i];
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, s->r1, s->n1) != 1 || EVP_DigestUpdate(ctx, s->r2, s->n2) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
            die("SHA-256 failed");
        EVP_MD_CTX_free(ctx);
        if (CMS_SignerInfo_verify(s->si) != 1)
            die("CMS signature value does not verify");
        for (unsigned k = 0; k < s->n_certs; k++)
            if (X509_verify(s->certs[k], X509_get0_pubkey(s->issuers[k])) != 1)
                die("certificate signature does not verify");
        for (unsigned k = 0; k < s->n_crls; k++)
            if (X509_CRL_verify(s->crls[k], X509_get0_pubkey(s->crl_issuers[k])) != 1)
                die("CRL signature does not verify");
    }
}

int main(int argc, char **argv)
{
    struct gw_revoke_opts ro = {.offline = true, .timeout_ms = 10000};
    struct gw_path_opts popts = GW_PATH_OPTS_DEFAULT;
    struct gw_verify_env env;
    struct gw_trust *trust = NULL;
    struct gw_revoke_blob pdf = {0};
    const char *pdf_path = NULL, *trust_dir = NULL;
    double seconds = 3;
    char err[512];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!pdf_path) {
            pdf_path = argv[i];
        } else if (!trust_dir) {
            trust_dir = argv[i];
        } else {
            struct gw_revoke_blob *c = realloc(ro.crls, (ro.n_crls + 1) * sizeof(*c));
            if (!c)
                die("out of memory");
            ro.crls = c;
            if (read_file(argv[i], &ro.crls[ro.n_crls]) != 0)
                die("cannot read a CRL file");
            ro.n_crls++;
        }
    }
    if (!pdf_path || !trust_dir || ro.n_crls == 0 || seconds <= 0) {
        fprintf(stderr, "usage: bench_verify PDF TRUST_DIR CRL... [--seconds N]\n");
        return 2;
    }
    if (read_file(pdf_path, &pdf) != 0)
        die("cannot read the PDF");
    if (gw_trust_load(trust_dir, &trust, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_verify: trust store %s: %s\n", trust_dir, err);
        return 1;
    }
    popts.allow_sha1_certs = false;
    memset(&env, 0, sizeof(env));
    env.trust = trust;
    env.path_opts = &popts;
    gw_pdf_limits_default(&env.pdf_limits);
    env.now = time(NULL);
    env.sha1_cutoff = 1704042000; /* 2024-01-01 00:00 +07:00, the gateway's default */

    /* The check once, kept: the summary, and the chains the ceiling verifies. */
    struct gw_vdoc ref = {0};
    if (gateway_once(&pdf, &env, &ro, &ref) != GW_SIG_TOTAL_PASSED)
        die("the PDF's summary is not TOTAL-PASSED");

    /* The gateway's rate. */
    unsigned long n_gw = 0;
    double t0 = now_s(), t1;
    do {
        if (gateway_once(&pdf, &env, &ro, NULL) != GW_SIG_TOTAL_PASSED)
            die("summary changed during the run");
        n_gw++;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double gw_rate = (double)n_gw / (t1 - t0);

    /* The ceiling's objects: ranges from sig/pdf, CMS parsed once, the chains of the check. */
    struct gw_pdf_report *rep = NULL;
    if (gw_pdf_inspect(pdf.p, pdf.n, &env.pdf_limits, &rep) != 0 || !rep || rep->error)
        die("gw_pdf_inspect failed");
    if (rep->n_sigs != ref.n_sigs || rep->n_sigs == 0)
        die("signature count differs between sig/pdf and the check");
    X509_CRL **crls = calloc(ro.n_crls, sizeof(*crls));
    if (!crls)
        die("out of memory");
    for (size_t i = 0; i < ro.n_crls; i++) {
        const unsigned char *p = ro.crls[i].p;
        if (!(crls[i] = d2i_X509_CRL(NULL, &p, (long)ro.crls[i].n)))
            die("a CRL file is not DER");
    }
    struct ceil_sig *cs = calloc(rep->n_sigs, sizeof(*cs));
    if (!cs)
        die("out of memory");
    for (unsigned i = 0; i < rep->n_sigs; i++) {
        const struct gw_pdf_sig *ps = &rep->sigs[i];
        const struct gw_vsig *vs = &ref.sigs[i];
        struct ceil_sig *s = &cs[i];
        const unsigned char *p = ps->contents;
        const uint64_t *br = ps->byte_range;
        if (!ps->byte_range_ok || br[0] + br[1] > pdf.n || br[2] + br[3] > pdf.n)
            die("bad ByteRange");
        s->r1 = pdf.p + br[0];
        s->n1 = (size_t)br[1];
        s->r2 = pdf.p + br[2];
        s->n2 = (size_t)br[3];
        if (!(s->cms = d2i_CMS_ContentInfo(NULL, &p, (long)ps->der_len)))
            die("CMS does not parse");
        STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(s->cms);
        if (!sis || sk_CMS_SignerInfo_num(sis) != 1 || !vs->signer || !vs->chain)
            die("unexpected CMS shape");
        s->si = sk_CMS_SignerInfo_value(sis, 0);
        CMS_SignerInfo_set1_signer_cert(s->si, vs->signer);
        /* The path below its anchor: chain[k] signed by chain[k + 1]; one CRL per question the
         * check asks (a certificate already asked for an earlier signature is not asked again). */
        int n = sk_X509_num(vs->chain);
        unsigned asked = 0;
        for (int k = 0; k + 1 < n && s->n_certs < 8; k++) {
            X509 *c = sk_X509_value(vs->chain, k), *iss = sk_X509_value(vs->chain, k + 1);
            X509_CRL *crl = crl_of(crls, ro.n_crls, iss);
            bool repeated = (unsigned)k < vs->n_revs && vs->revs[k].same_as;
            s->certs[s->n_certs] = c;
            s->issuers[s->n_certs++] = iss;
            asked += !repeated;
            if (crl && !repeated) {
                s->crls[s->n_crls] = crl;
                s->crl_issuers[s->n_crls++] = iss;
            }
        }
        if (s->n_certs != vs->n_revs || s->n_crls != asked)
            die("path or CRLs differ from the check's revocation questions");
    }
    ceiling_once(cs, rep->n_sigs); /* everything verifies before timing */

    unsigned long n_ceil = 0;
    t0 = now_s();
    do {
        ceiling_once(cs, rep->n_sigs);
        n_ceil++;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double ceil_rate = (double)n_ceil / (t1 - t0);

    unsigned ops = 0;
    for (unsigned i = 0; i < rep->n_sigs; i++)
        ops += 1 + cs[i].n_certs + cs[i].n_crls;
    printf("pdf_bytes=%zu signatures=%u openssl_verifications_per_pdf=%u\n", pdf.n, rep->n_sigs,
           ops);
    printf("verify_pdfs_per_s=%.1f\n", gw_rate);
    printf("verify_ceiling_per_s=%.1f\n", ceil_rate);
    printf("verify_ceiling_ratio=%.2f\n", ceil_rate > 0 ? gw_rate / ceil_rate : 0);

    for (unsigned i = 0; i < rep->n_sigs; i++)
        CMS_ContentInfo_free(cs[i].cms);
    free(cs);
    for (size_t i = 0; i < ro.n_crls; i++) {
        X509_CRL_free(crls[i]);
        free(ro.crls[i].p);
    }
    free(crls);
    free(ro.crls);
    gw_pdf_report_free(rep);
    gw_vdoc_clear(&ref);
    gw_trust_unref(trust);
    free(pdf.p);
    return 0;
}
