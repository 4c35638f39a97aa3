/*
 * libFuzzer harness for rules/catalog and rules/classify: the input up to its first NUL byte is
 * a catalogue file, the rest the subject, content and type name of a document classified
 * against it (or against the shipped shape of rule when the catalogue is refused). A refusal
 * must carry a file, a line and a stable code; nothing may crash, leak or read outside the
 * buffers, whatever the text (invalid UTF-8, stacked marks, huge keywords).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/catalog.h"
#include "rules/classify.h"
#include "rules/classify_json.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fallback[] = "[rule c2.f]\nclause = 2\neffective_from = 2021-01-01\n"
                               "keyword = kinh phí | dự án\nwith = phê duyệt\n"
                               "[rule c3.f]\nclause = 3\neffective_from = 2021-01-01\n"
                               "subject = thu hồi đất\ntype_name = Tờ trình\n"
                               "[rule c1.f]\nclause = 1\neffective_from = 2021-01-01\n"
                               "organ_id = 000.00.00.G22\norgan_name = Chính phủ\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t clen = nul ? (size_t)(nul - data) : size;
    char *cat_text = malloc(clen + 1), *rest = malloc(size - clen + 1);
    if (!cat_text || !rest) {
        free(cat_text);
        free(rest);
        return 0;
    }
    memcpy(cat_text, data, clen);
    cat_text[clen] = '\0';
    size_t rlen = nul ? size - clen - 1 : 0;
    memcpy(rest, nul ? nul + 1 : data, rlen);
    rest[rlen] = '\0';

    const char *names[] = {"fuzz.ini"}, *texts[] = {cat_text};
    struct gw_catalog *c = NULL;
    struct gw_catalog_error e;
    int rc = gw_catalog_load_texts(names, texts, 1, &c, &e);
    if (rc == GW_ECONFIG && (!e.code || !e.message[0]))
        abort(); /* every refusal says why */
    if (rc != 0) {
        texts[0] = fallback;
        if (gw_catalog_load_texts(names, texts, 1, &c, &e) != 0)
            abort();
    }
    /* the rest: subject \n content \n type name */
    char *content = strchr(rest, '\n'), *type = NULL;
    if (content) {
        *content++ = '\0';
        if ((type = strchr(content, '\n')))
            *type++ = '\0';
    }
    struct gw_edxml_org to[2] = {{.organ_id = "000.00.00.G22", .organ_name = rest},
                                 {.organ_id = "000.01.12.H49", .organ_name = content}};
    struct gw_edxml_doc doc = {.kind = GW_KIND_EDOC,
                               .from = "000.00.12.H49",
                               .subject = rest,
                               .content = content,
                               .document_type_name = type,
                               .to = to,
                               .n_to = 2};
    doc.business.paper = (int)(size % 3) - 1;
    struct gw_classify_result r;
    if (gw_classify(c, &doc, 20000, true, &r) == 0) {
        json_t *j = gw_classify_json(&r, c, true);
        json_decref(j);
        gw_classify_result_free(&r);
    }
    gw_catalog_unref(c);
    free(cat_text);
    free(rest);
    return 0;
}
