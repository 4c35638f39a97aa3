/*
 * For the unit tests of the checks on hand-built documents: a weak gw_edxml_doc_finding that the
 * model's own (edxml_model.c) replaces once it is linked, and a cleanup of what the checks add
 * (findings, document_id_norm), since the test documents hold string literals.
 */
#ifndef GW_TEST_DOC_STUB_H
#define GW_TEST_DOC_STUB_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxml/edxml_model.h"
#include "util/error.h"

__attribute__((weak)) int gw_edxml_doc_finding(struct gw_edxml_doc *doc, const char *code,
                                               enum gw_edxml_severity severity, const char *xpath,
                                               const char *fmt, ...)
{
    struct gw_edxml_finding *v = realloc(doc->findings, (doc->n_findings + 1) * sizeof(*v));
    char msg[1024];
    va_list ap;

    if (!v)
        return GW_ENOMEM;
    doc->findings = v;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v[doc->n_findings].code = code;
    v[doc->n_findings].severity = severity;
    v[doc->n_findings].xpath = strdup(xpath ? xpath : "");
    v[doc->n_findings].message = strdup(msg);
    doc->n_findings++;
    return 0;
}

static inline void test_doc_clear_findings(struct gw_edxml_doc *doc)
{
    for (size_t i = 0; i < doc->n_findings; i++) {
        free(doc->findings[i].xpath);
        free(doc->findings[i].message);
    }
    free(doc->findings);
    doc->findings = NULL;
    doc->n_findings = 0;
    free(doc->document_id_norm);
    doc->document_id_norm = NULL;
}

/* Number of findings with code (and xpath, unless NULL). */
static inline size_t test_doc_count(const struct gw_edxml_doc *doc, const char *code,
                                    const char *xpath)
{
    size_t n = 0;

    for (size_t i = 0; i < doc->n_findings; i++)
        if (strcmp(doc->findings[i].code, code) == 0 &&
            (!xpath || strcmp(doc->findings[i].xpath, xpath) == 0))
            n++;
    return n;
}

static inline void test_doc_print(const struct gw_edxml_doc *doc)
{
    for (size_t i = 0; i < doc->n_findings; i++)
        fprintf(stderr, "  %s %d %s: %s\n", doc->findings[i].code, doc->findings[i].severity,
                doc->findings[i].xpath, doc->findings[i].message);
}

#endif
