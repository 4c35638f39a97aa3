/*
 * `gatewayctl edxml check`: the file is read in 64 KiB chunks into the streaming reader (never
 * whole), then gw_edxml_check runs the XSD (--schema, else schemas/edxml/edxml.xsd found from the
 * working directory, the executable or the source tree) and the conformance checks. Text from the
 * package is printed with control characters replaced, so a package cannot drive the terminal.
 */
#include "cli/cli_edxml.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edxml/edxml_conform.h"
#include "edxml/edxml_json.h"
#include "edxml/edxml_reader.h"
#include "util/error.h"
#include "util/utf8.h"

#define CHUNK (64 * 1024)

static void usage(void)
{
    fprintf(stderr, "usage: gatewayctl edxml check FILE [--json] [--strict] [--schema XSD]\n");
}

static bool readable(const char *p)
{
    return access(p, R_OK) == 0;
}

const char *gw_cli_find_share(const char *rel, char *buf, size_t n)
{
    char exe[PATH_MAX];
    ssize_t k;

    if (readable(rel))
        return rel;
    k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (k > 0) {
        char *slash;
        exe[k] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, n, "%s/../%s", exe, rel);
            if (readable(buf))
                return buf;
            snprintf(buf, n, "%s/../share/gatewayd/%s", exe, rel);
            if (readable(buf))
                return buf;
        }
    }
#ifdef GW_SOURCE_DIR
    snprintf(buf, n, "%s/%s", GW_SOURCE_DIR, rel);
    if (readable(buf))
        return buf;
#endif
    return NULL;
}

/* Package text on one line: invalid UTF-8 repaired, control characters as spaces. */
static void pr(const char *s)
{
    char *c;

    if (!s) {
        fputs("-", stdout);
        return;
    }
    c = gw_utf8_sanitize(s, 4096);
    if (!c)
        return;
    for (char *p = c; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    fputs(c, stdout);
    free(c);
}

static void field(const char *label, const char *v)
{
    if (!v)
        return;
    printf("  %-18s ", label);
    pr(v);
    putchar('\n');
}

static void hex(const uint8_t h[32])
{
    for (int i = 0; i < 32; i++)
        printf("%02x", h[i]);
}

static void org(const char *label, const struct gw_edxml_org *o)
{
    printf("  %-18s ", label);
    pr(o->organ_id);
    if (o->organ_name) {
        fputs("  ", stdout);
        pr(o->organ_name);
    }
    putchar('\n');
}

static void print_header(const struct gw_edxml_doc *d)
{
    static const char *const bdt[] = {"new", "revoke", "update", "replace"};

    printf("header\n  %-18s %s\n", "kind", d->kind == GW_KIND_STATUS ? "status" : "edoc");
    field("DocumentId", d->document_id);
    if (d->document_id_norm && d->document_id && strcmp(d->document_id, d->document_id_norm))
        field("  normalised", d->document_id_norm);
    org("From", &d->sender);
    for (size_t i = 0; i < d->n_to; i++)
        org("To", &d->to[i]);
    if (d->kind == GW_KIND_STATUS) {
        field("StatusCode", d->status_code);
        field("Description", d->status_description);
        field("Timestamp", d->status_timestamp);
    }
    for (size_t i = 0; i < d->n_response_for; i++) {
        field("ResponseFor", d->response_for[i].organ_id);
        field("  DocumentId", d->response_for[i].document_id);
    }
    field("CodeNumber", d->code.number);
    field("CodeNotation", d->code.notation);
    field("PromulgationDate", d->promulgation_date);
    field("TypeName", d->document_type_name);
    field("Subject", d->subject);
    field("Signer", d->signer_full_name);
    field("DueDate", d->due_date);
    if (d->priority >= 0)
        printf("  %-18s %d\n", "Priority", d->priority);
    if (d->steering_type >= 0)
        printf("  %-18s %d\n", "SteeringType", d->steering_type);
    for (size_t i = 0; i < d->n_traces; i++) {
        printf("  %-18s ", "TraceHeader");
        pr(d->traces[i].organ_id);
        fputs("  ", stdout);
        pr(d->traces[i].timestamp);
        putchar('\n');
    }
    if (d->business.present) {
        int t = d->business.doc_type;
        printf("  %-18s %d (%s)\n", "BussinessDocType", t, t >= 0 && t <= 3 ? bdt[t] : "?");
        if (d->business.paper >= 0)
            printf("  %-18s %d\n", "Paper", d->business.paper);
        else
            printf("  %-18s absent\n", "Paper");
    }
    printf("  %-18s %llu bytes, sha256 ", "package", (unsigned long long)d->size);
    hex(d->sha256);
    putchar('\n');
}

static void print_attachments(const struct gw_edxml_doc *d)
{
    printf("attachments (%zu)\n", d->n_attachments);
    for (size_t i = 0; i < d->n_attachments; i++) {
        const struct gw_edxml_attachment *a = &d->attachments[i];
        printf("  [%zu] ", i + 1);
        pr(a->name);
        fputs("  (", stdout);
        pr(a->content_id);
        fputs(")\n      declared ", stdout);
        pr(a->content_type);
        if (a->manifest_type) {
            fputs(", manifest ", stdout);
            pr(a->manifest_type);
        }
        printf(", detected %s\n", a->detected_type[0] ? a->detected_type : "-");
        printf("      as sent   %llu bytes, sha256 ", (unsigned long long)a->size);
        hex(a->sha256);
        putchar('\n');
        if (a->unwrapped) {
            printf("      unwrapped %llu bytes, sha256 ", (unsigned long long)a->unwrapped_size);
            hex(a->unwrapped_sha256);
            fputs(", entry ", stdout);
            pr(a->entry_name);
            printf(", detected %s\n", a->unwrapped_type[0] ? a->unwrapped_type : "-");
        } else if (a->unwrap_error) {
            printf("      not unwrapped: %s\n", a->unwrap_error);
        }
    }
}

static void print_findings(const struct gw_edxml_doc *d)
{
    static const char *const sev[] = {"note", "strict", "REFUSE"};

    printf("findings (%zu)\n", d->n_findings);
    for (size_t i = 0; i < d->n_findings; i++) {
        const struct gw_edxml_finding *f = &d->findings[i];
        printf("  %-6s %s  ", (unsigned)f->severity < 3 ? sev[f->severity] : "?", f->code);
        pr(f->xpath);
        fputs("\n         ", stdout);
        pr(f->message);
        putchar('\n');
    }
}

static int refused(bool json, const char *code, const char *msg, int err)
{
    bool verdict = gw_edxml_is_verdict(err);

    if (json) {
        json_t *j = json_pack("{s:b,s:s,s:s,s:b}", "acceptable", false, "code",
                              code ? code : gw_errcode(err), "message", msg, "verdict", verdict);
        char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(j);
    } else {
        printf("%s: %s\n", verdict ? "refused" : "not processed (local limit)", msg);
    }
    return 1;
}

int gw_cli_edxml_read(const char *path, bool json, struct gw_edxml_doc **out)
{
    struct gw_edxml_reader_opts o;
    struct gw_edxml_reader *r;
    const char *code = NULL;
    char msg[512] = "", *buf;
    FILE *f = fopen(path, "rb");
    int rc = 0;

    *out = NULL;
    if (!f) {
        fprintf(stderr, "gatewayctl: %s: %s\n", path, strerror(errno));
        return 2;
    }
    buf = malloc(CHUNK);
    gw_edxml_reader_opts_default(&o);
    r = buf ? gw_edxml_reader_new(&o) : NULL;
    if (!r) {
        fclose(f);
        free(buf);
        fprintf(stderr, "gatewayctl: out of memory\n");
        return 2;
    }
    for (;;) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n > 0 && (rc = gw_edxml_reader_feed(r, buf, n)) != 0)
            break;
        if (n < CHUNK)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "gatewayctl: %s: read error\n", path);
        gw_edxml_reader_free(r);
        fclose(f);
        free(buf);
        return 2;
    }
    /* A feed error is sticky: finish reports it with its code and message. */
    rc = gw_edxml_reader_finish(r, out, &code, msg, sizeof(msg));
    gw_edxml_reader_free(r);
    fclose(f);
    free(buf);
    if (rc != 0)
        return refused(json, code, msg[0] ? msg : gw_strerror(rc), rc);
    return 0;
}

static int check(const char *path, bool json, bool strict_mode, const char *schema)
{
    char found[PATH_MAX + 64];
    struct gw_edxml_xsd *xsd = NULL;
    struct gw_edxml_doc *doc = NULL;
    int rc;

    if (!schema && !(schema = gw_cli_find_share("schemas/edxml/edxml.xsd", found, sizeof(found))))
        fprintf(stderr, "gatewayctl: schemas/edxml/edxml.xsd not found; header not validated "
                        "(give --schema)\n");
    if (schema && (rc = gw_edxml_xsd_load(schema, &xsd)) != 0) {
        fprintf(stderr, "gatewayctl: %s: %s\n", schema, gw_strerror(rc));
        return 2;
    }
    rc = gw_cli_edxml_read(path, json, &doc);
    if (rc == 0 && gw_edxml_check(doc, xsd, (int64_t)time(NULL)) != 0) {
        fprintf(stderr, "gatewayctl: out of memory\n");
        rc = 2;
    }
    if (rc == 0) {
        bool ok = gw_edxml_doc_acceptable(doc);
        size_t strict = 0;
        for (size_t i = 0; i < doc->n_findings; i++)
            strict += doc->findings[i].severity == GW_EDXML_STRICT;
        if (json) {
            json_t *j = gw_edxml_doc_json(doc);
            char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
            if (s)
                puts(s);
            else
                rc = 2;
            free(s);
            json_decref(j);
        } else {
            print_header(doc);
            print_attachments(doc);
            print_findings(doc);
            printf("verdict: %s (lenient mode); %zu strict finding%s%s\n",
                   ok ? "acceptable" : "refused", strict, strict == 1 ? "" : "s",
                   xsd ? "" : "; header not validated against the XSD");
        }
        /* Lenient mode is what the gateway accepts; --strict also fails on any strict finding
         * (the conformance report of QCVN 102 as written). */
        if (rc == 0 && (!ok || (strict_mode && strict > 0)))
            rc = 1;
    }
    gw_edxml_doc_free(doc);
    free(doc);
    gw_edxml_xsd_free(xsd);
    return rc;
}

int gw_cli_edxml(int argc, char **argv)
{
    const char *file = NULL, *schema = NULL;
    bool json = false, strict_mode = false;

    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict_mode = true;
        } else if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
            schema = argv[++i];
        } else if (strncmp(argv[i], "--schema=", 9) == 0) {
            schema = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "gatewayctl: unknown option %s\n", argv[i]);
            usage();
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (!file) {
        usage();
        return 2;
    }
    return check(file, json, strict_mode, schema);
}
