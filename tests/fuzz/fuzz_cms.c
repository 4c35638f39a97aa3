/*
 * libFuzzer harness for sig/cms and sig/tst: any byte string is the /Contents DER of a signature
 * over a fixed small PDF buffer under each /SubFilter, an ETSI.RFC3161 document timestamp over it
 * and a time-stamp token over a fixed imprint; every refusal must carry its stable code and
 * nothing may crash, leak or read outside the buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sig/cms.h"
#include "sig/tst.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds in corpus/cms were signed over HEAD followed by TAIL (the hole is not covered). */
#define HEAD "%PDF-1.7\n1 0 obj\n<< /Type /Sig /ByteRange [0 67 131 40] /Contents <"
#define HOLE "0000000000000000000000000000000000000000000000000000000000000000"
#define TAIL ">\n>>\nendobj\ntrailer\n<< /Size 1 >>\n%%EOF\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char pdf[] = HEAD HOLE TAIL;
    static const char *const subfilters[] = {"adbe.pkcs7.detached", "ETSI.CAdES.detached",
                                             "adbe.pkcs7.sha1"};
    const uint64_t br[4] = {0, sizeof(HEAD) - 1, sizeof(HEAD) - 1 + sizeof(HOLE) - 1,
                            sizeof(TAIL) - 1};
    struct gw_cms_result r;
    struct gw_tst_result t;
    size_t total = 0;

    for (size_t i = 0; i < sizeof(subfilters) / sizeof(subfilters[0]); i++) {
        if (gw_cms_verify((const uint8_t *)pdf, sizeof(pdf) - 1, br, data, size, subfilters[i],
                          &r) == 0) {
            if ((r.status == GW_CMS_OK) != (r.code == NULL) || r.n_findings > GW_CMS_MAX_FINDINGS)
                __builtin_trap(); /* every refusal has its code, a pass has none */
            if (r.ts.present && !r.ts.valid && !r.ts.code)
                __builtin_trap();
            total += r.code ? strlen(r.code) : 0;
        }
        gw_cms_result_clear(&r);
    }
    if (gw_cms_doc_timestamp((const uint8_t *)pdf, sizeof(pdf) - 1, br, data, size, &t) == 0 &&
        t.valid == (t.code != NULL))
        __builtin_trap();
    gw_tst_result_clear(&t);
    if (gw_tst_verify(data, size, (const uint8_t *)HOLE, 32, &t) == 0 &&
        t.valid == (t.code != NULL))
        __builtin_trap();
    gw_tst_result_clear(&t);
    return total == (size_t)-1;
}
