/*
 * gatewayctl rules (cli_rules.h): the paper-copy catalogue checked and one package classified
 * by the same code the daemon runs (rules/catalog, rules/classify), for a clerk who wants to
 * know why a document was flagged and a province that edits its list.
 */
#include "cli/cli_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_edxml.h"
#include "edxml/edxml.h"
#include "rules/catalog.h"
#include "rules/classify.h"
#include "rules/classify_json.h"
#include "util/error.h"

static int usage(void)
{
    fprintf(stderr, "usage: gatewayctl rules test FILE [--json] [--rules DIR] [--date YYYY-MM-DD]\n"
                    "       gatewayctl rules check DIR\n");
    return 2;
}

static int load(const char *dir, struct gw_catalog **cat)
{
    struct gw_catalog_error err;
    int rc = gw_catalog_load_dir(dir, cat, &err);
    if (rc == GW_ECONFIG) {
        if (err.line)
            fprintf(stderr, "%s/%s:%d: %s: %s\n", dir, err.file, err.line, err.code, err.message);
        else if (strcmp(err.file, dir) == 0 || !err.file[0])
            fprintf(stderr, "%s: %s: %s\n", dir, err.code, err.message);
        else
            fprintf(stderr, "%s/%s: %s: %s\n", dir, err.file, err.code, err.message);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "gatewayctl: %s: %s\n", dir, gw_strerror(rc));
        return 1;
    }
    return 0;
}

static int check(const char *dir)
{
    struct gw_catalog *cat;
    if (load(dir, &cat) != 0)
        return 1;
    printf("catalogue valid: %zu rule(s) in %zu file(s), digest %s (%s)\n", cat->n_rules,
           cat->n_files, cat->digest, cat->version);
    gw_catalog_unref(cat);
    return 0;
}

/* Text quoted from a package, on one line. */
static void quoted(const char *s)
{
    putchar('"');
    for (; s && *s; s++)
        putchar((unsigned char)*s < 0x20 ? ' ' : *s);
    putchar('"');
}

static void print_text(const struct gw_edxml_doc *doc, const struct gw_classify_result *r,
                       const struct gw_catalog *cat, json_t *j)
{
    char day[11];
    gw_catalog_day_iso(r->day, day);
    printf("document %s, judged on %s under catalogue %s\n",
           doc->document_id ? doc->document_id : "(none)", day, cat->digest);
    printf("paper copy: %s\n", r->required      ? "REQUIRED"
                               : r->declaration ? "declared by the sender (tracked)"
                                                : "not required");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "explain"), i, e)
    {
        printf("  clause %d: %s: ", (int)json_integer_value(json_object_get(e, "clause")),
               json_is_true(json_object_get(e, "fired")) ? "FIRED" : "no");
        quoted(json_string_value(json_object_get(e, "why")));
        putchar('\n');
    }
    for (i = 0; i < r->n_hits; i++) {
        const struct gw_classify_hit *h = &r->hits[i];
        printf("  evidence: clause %d, rule %s, %s: ", h->clause, h->rule, h->field);
        quoted(h->text);
        if (h->with) {
            printf(" with ");
            quoted(h->with_text);
        }
        putchar('\n');
    }
    for (i = 0; i < r->n_near; i++)
        printf("  came close: clause %d, rule %s, %s: %s%s%s%s\n", r->near[i].clause,
               r->near[i].rule, r->near[i].field, r->near[i].why, r->near[i].text ? " (\"" : "",
               r->near[i].text ? r->near[i].text : "", r->near[i].text ? "\")" : "");
    if (r->declared < 0)
        printf("  Bussiness/Paper: not declared\n");
    else
        printf("  Bussiness/Paper: %d%s%s\n", r->declared,
               r->internal ? " (internal document)" : "",
               r->mismatch ? " - MISMATCH: a clause requires paper" : "");
}

static int test(const char *file, const char *dir, const char *date, bool json)
{
    struct gw_catalog *cat = NULL;
    struct gw_edxml_doc *doc = NULL;
    struct gw_classify_result r;
    int32_t day = gw_catalog_day_vn((int64_t)time(NULL));
    char found[4096];

    if (date && !gw_catalog_day(date, strlen(date), &day)) {
        fprintf(stderr, "gatewayctl: --date %s is not a date YYYY-MM-DD\n", date);
        return 2;
    }
    if (!dir && !(dir = gw_cli_find_share("schemas/rules", found, sizeof(found)))) {
        fprintf(stderr, "gatewayctl: schemas/rules not found (give --rules DIR)\n");
        return 2;
    }
    if (load(dir, &cat) != 0)
        return 2;
    int rc = gw_cli_edxml_read(file, json, &doc);
    if (rc != 0) {
        gw_catalog_unref(cat);
        return rc;
    }
    if (doc->kind != GW_KIND_EDOC) {
        fprintf(stderr, "gatewayctl: %s is a status package: only documents are classified\n",
                file);
        gw_edxml_doc_free(doc);
        free(doc);
        gw_catalog_unref(cat);
        return 1;
    }
    rc = gw_classify(cat, doc, day, true, &r);
    json_t *j = rc == 0 ? gw_classify_json(&r, cat, true) : NULL;
    if (j) {
        json_object_set_new(j, "document_id",
                            json_string(doc->document_id ? doc->document_id : ""));
        if (json) {
            char *s = json_dumps(j, JSON_INDENT(2));
            if (s)
                puts(s);
            free(s);
        } else {
            print_text(doc, &r, cat, j);
        }
    } else {
        fprintf(stderr, "gatewayctl: out of memory\n");
    }
    json_decref(j);
    if (rc == 0)
        gw_classify_result_free(&r);
    gw_edxml_doc_free(doc);
    free(doc);
    gw_catalog_unref(cat);
    return j ? 0 : 2;
}

int gw_cli_rules(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "check") == 0)
        return argc == 3 ? check(argv[2]) : usage();
    if (argc < 3 || strcmp(argv[1], "test") != 0)
        return usage();
    const char *file = NULL, *dir = NULL, *date = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--date") == 0 && i + 1 < argc)
            date = argv[++i];
        else if (argv[i][0] == '-' || file)
            return usage();
        else
            file = argv[i];
    }
    return file ? test(file, dir, date, json) : usage();
}
