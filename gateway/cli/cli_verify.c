/*
 * `gatewayctl verify`: the gateway's own signature check (pipeline/verify_pdf) on one PDF or on
 * every PDF attachment of an edXML package, offline from a trust directory, with revocation
 * from --crl files and, unless --offline, fetched live. Prints what a clerk can read (or the
 * JSON report with --json); exit 0 only when the summary is TOTAL-PASSED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_verify.h"
#include "engine/revoke.h"
#include "pipeline/attach_load.h"
#include "edxml/edxml_reader.h"
#include "sig/trust.h"
#include "util/error.h"
#include "util/file.h"

#define GW_CLI_MAX_FILE ((size_t)512 * 1024 * 1024)

static void usage(void)
{
    fprintf(stderr, "usage: gatewayctl verify FILE [--trust DIR] [--json] [--offline] "
                    "[--crl FILE]... [--timeout-ms N]\n");
}

static int read_file(const char *path, struct gw_revoke_blob *out)
{
    return gw_file_read(path, GW_CLI_MAX_FILE, &out->p, &out->n);
}

/* One attachment's bytes (decoded, and inflated when the ZIP rule unwrapped it). */
static const char *attachment_bytes(const struct gw_revoke_blob *pkg,
                                    const struct gw_edxml_attachment *a, struct gw_revoke_blob *out)
{
    const char *code = NULL;

    if (!a->b64_plain)
        return "attachment_not_plain";
    if (a->b64_offset > pkg->n || a->b64_len > pkg->n - a->b64_offset)
        return "attachment_unreadable";
    if (gw_attach_decode((const char *)pkg->p + a->b64_offset, a->b64_len, a->unwrapped,
                         GW_CLI_MAX_FILE, 200, &out->p, &out->n, &code) != 0)
        return code ? code : "attachment_unreadable";
    return NULL;
}

static void answer_all(const struct gw_revoke_opts *o, struct gw_vdoc *d, time_t now)
{
    gw_vdoc_link_questions(d);
    for (unsigned i = 0; i < d->n_sigs; i++)
        for (unsigned k = 0; k < d->sigs[i].n_revs; k++)
            if (!d->sigs[i].revs[k].same_as)
                gw_revoke_blocking(o, &d->sigs[i].revs[k], now, NULL);
    gw_vdoc_finish(d);
}

static void print_text(const char *file, json_t *rep)
{
    size_t i;
    json_t *d, *s, *f;

    printf("%s\n", file);
    json_array_foreach(json_object_get(rep, "documents"), i, d)
    {
        const char *sub = json_string_value(json_object_get(d, "summary_sub"));
        int att = (int)json_integer_value(json_object_get(d, "attachment"));
        size_t k;
        printf("  file %s: %s%s%s\n", json_string_value(json_object_get(d, "name")),
               json_string_value(json_object_get(d, "summary")), sub && *sub ? "/" : "",
               sub ? sub : "");
        printf("    %s\n    %s\n", json_string_value(json_object_get(d, "reason_vi")),
               json_string_value(json_object_get(d, "reason_en")));
        json_array_foreach(json_object_get(rep, "signatures"), k, s)
        {
            const char *ssub = json_string_value(json_object_get(s, "sub_indication"));
            const char *signer = json_string_value(json_object_get(s, "signer"));
            const char *ts = json_string_value(json_object_get(s, "ts_time"));
            const char *claimed = json_string_value(json_object_get(s, "claimed_time"));
            if (json_integer_value(json_object_get(s, "attachment")) != att)
                continue;
            printf("    signature %d (%s, %s): %s%s%s\n",
                   (int)json_integer_value(json_object_get(s, "idx")) + 1,
                   json_string_value(json_object_get(s, "format")),
                   json_string_value(json_object_get(s, "subfilter"))
                       ? json_string_value(json_object_get(s, "subfilter"))
                       : "-",
                   json_string_value(json_object_get(s, "indication")), ssub && *ssub ? "/" : "",
                   ssub ? ssub : "");
            printf("      signer      %s (%s, rule %s)\n", signer ? signer : "-",
                   json_string_value(json_object_get(s, "role")),
                   json_string_value(json_object_get(s, "role_rule")));
            printf("      claimed     %s\n      timestamp   %s\n      validated   %s\n",
                   claimed ? claimed : "-", ts ? ts : "-",
                   json_string_value(json_object_get(s, "validation_time")));
            printf("      %s\n      %s\n", json_string_value(json_object_get(s, "reason_vi")),
                   json_string_value(json_object_get(s, "reason_en")));
        }
    }
    json_array_foreach(json_object_get(rep, "findings"), i, f)
    {
        printf("  finding %s %s\n", json_string_value(json_object_get(f, "code")),
               json_string_value(json_object_get(f, "message"))
                   ? json_string_value(json_object_get(f, "message"))
                   : "");
    }
    printf("summary: %s%s%s\n", json_string_value(json_object_get(rep, "summary")),
           *json_string_value(json_object_get(rep, "summary_sub")) ? "/" : "",
           json_string_value(json_object_get(rep, "summary_sub")));
}

static bool is_pdf(const struct gw_revoke_blob *b)
{
    size_t lim = b->n < 1024 ? b->n : 1024;
    return lim >= 5 && memmem(b->p, lim, "%PDF-", 5) != NULL;
}

int gw_cli_verify(int argc, char **argv)
{
    struct gw_revoke_opts o = {.timeout_ms = 10000};
    struct gw_path_opts popts = GW_PATH_OPTS_DEFAULT;
    struct gw_verify_env env;
    struct gw_trust *trust = NULL;
    struct gw_revoke_blob file = {0};
    struct gw_vdoc *docs = NULL;
    struct gw_pdf_summary *sums = NULL, total;
    size_t n_docs = 0;
    const char *path = NULL, *trust_dir = NULL;
    bool json = false;
    json_t *jd = json_array(), *js = json_array(), *jc = json_array(), *jf = json_array(), *rep;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--offline") == 0)
            o.offline = true;
        else if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc)
            trust_dir = argv[++i];
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            o.timeout_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--crl") == 0 && i + 1 < argc) {
            struct gw_revoke_blob *c = realloc(o.crls, (o.n_crls + 1) * sizeof(*c));
            if (!c)
                return 1;
            o.crls = c;
            if (read_file(argv[++i], &o.crls[o.n_crls]) != 0) {
                fprintf(stderr, "gatewayctl verify: cannot read CRL %s\n", argv[i]);
                return 2;
            }
            o.n_crls++;
        } else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (!path || o.timeout_ms <= 0) {
        usage();
        return 2;
    }
    if (read_file(path, &file) != 0) {
        fprintf(stderr, "gatewayctl verify: cannot read %s\n", path);
        return 2;
    }
    if (trust_dir) {
        char err[512];
        if (gw_trust_load(trust_dir, &trust, err, sizeof(err)) != 0) {
            fprintf(stderr, "gatewayctl verify: trust store %s: %s\n", trust_dir, err);
            return 2;
        }
    }
    popts.allow_sha1_certs = false;
    memset(&env, 0, sizeof(env));
    env.trust = trust;
    env.path_opts = &popts;
    gw_pdf_limits_default(&env.pdf_limits);
    env.now = time(NULL);
    env.sha1_cutoff = 1704042000; /* 2024-01-01 00:00 +07:00, the gateway's default */

    if (is_pdf(&file)) {
        docs = calloc(1, sizeof(*docs));
        n_docs = 1;
        docs[0].name = strdup(path);
        if (gw_vdoc_check(&docs[0], file.p, file.n, &env) != 0)
            goto out;
        answer_all(&o, &docs[0], env.now);
    } else {
        struct gw_edxml_reader_opts ro;
        struct gw_edxml_doc *doc = NULL;
        const char *code = NULL;
        char msg[256] = "";
        gw_edxml_reader_opts_default(&ro);
        ro.limits.max_bytes = GW_CLI_MAX_FILE;
        ro.max_attachment_bytes = GW_CLI_MAX_FILE;
        if (gw_edxml_read(file.p, file.n, &ro, &doc, &code, msg, sizeof(msg)) != 0 || !doc) {
            fprintf(stderr, "gatewayctl verify: %s is neither a PDF nor a readable package: %s\n",
                    path, msg);
            goto out;
        }
        docs = calloc(doc->n_attachments + 1, sizeof(*docs));
        for (size_t i = 0; docs && i < doc->n_attachments; i++) {
            const struct gw_edxml_attachment *a = &doc->attachments[i];
            const char *type = a->unwrapped ? a->unwrapped_type : a->detected_type;
            struct gw_revoke_blob pdf = {0};
            struct gw_vdoc *d;
            if (strcmp(type, "application/pdf") != 0) {
                json_array_append_new(
                    jf, json_pack("{s:s, s:s?}", "code", "not_a_pdf", "message", a->name));
                continue;
            }
            d = &docs[n_docs++];
            d->attachment = (int)i;
            d->name = a->name ? strdup(a->name) : NULL;
            d->error = attachment_bytes(&file, a, &pdf);
            if (!d->error && gw_vdoc_check(d, pdf.p, pdf.n, &env) != 0) {
                free(pdf.p);
                gw_edxml_doc_free(doc);
                free(doc);
                goto out;
            }
            free(pdf.p);
            answer_all(&o, d, env.now);
        }
        gw_edxml_doc_free(doc);
        free(doc);
    }
    sums = calloc(n_docs + 1, sizeof(*sums));
    size_t n_signed = 0;
    for (size_t i = 0; sums && i < n_docs; i++) {
        if (gw_vdoc_report(&docs[i], jd, js, jc) != 0)
            goto out;
        if (docs[i].sum.ind != GW_SIG_NO_SIGNATURE)
            sums[n_signed++] = docs[i].sum;
    }
    gw_verdict_package(sums, (unsigned)n_signed, &total);
    rep = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:O}", "file", path, "summary",
                    gw_sig_indication_name(total.ind), "summary_sub", gw_sig_sub_name(total.sub),
                    "reason_vi", total.reason_vi, "reason_en", total.reason_en, "documents", jd,
                    "signatures", js, "findings", jf);
    if (!rep)
        goto out;
    if (json) {
        json_dumpf(rep, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_text(path, rep);
    }
    json_decref(rep);
    rc = total.ind == GW_SIG_TOTAL_PASSED ? 0 : 1;
out:
    for (size_t i = 0; docs && i < n_docs; i++)
        gw_vdoc_clear(&docs[i]);
    free(docs);
    free(sums);
    free(file.p);
    for (size_t i = 0; i < o.n_crls; i++)
        free(o.crls[i].p);
    free(o.crls);
    json_decref(jd);
    json_decref(js);
    json_decref(jc);
    json_decref(jf);
    if (trust)
        gw_trust_unref(trust);
    return rc;
}
