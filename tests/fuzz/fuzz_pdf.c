/*
 * libFuzzer harness for the PDF signature locator (sig/pdf) and the gateway's whole check of one
 * PDF (pipeline/verify_pdf: every located signature's CMS, paths without a trust store, the
 * verdicts): any byte string is a PDF; a malformed one must give a report with a stable code or
 * verdicts, never a crash, a leak, a hang or a read outside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pipeline/verify_pdf.h"
#include "sig/pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_pdf_limits lim;
    struct gw_pdf_report *rep = NULL;
    struct gw_path_opts popts = GW_PATH_OPTS_DEFAULT;
    struct gw_verify_env env;
    struct gw_vdoc d;

    gw_pdf_limits_default(&lim);
    lim.max_stream = 4u << 20; /* keep each run small */
    if (gw_pdf_inspect(data, size, &lim, &rep) == 0) {
        if (!rep->error) {
            for (unsigned i = 0; i < rep->n_sigs; i++) {
                const struct gw_pdf_sig *s = &rep->sigs[i];
                if (s->byte_range_ok && (s->byte_range[0] + s->byte_range[1] > size ||
                                         s->byte_range[2] + s->byte_range[3] > size))
                    __builtin_trap(); /* a checked ByteRange is inside the file */
            }
        } else if (!rep->error[0]) {
            __builtin_trap(); /* an error always has a code */
        }
        gw_pdf_report_free(rep);
    }
    memset(&env, 0, sizeof(env));
    memset(&d, 0, sizeof(d));
    env.path_opts = &popts;
    env.pdf_limits = lim;
    env.now = 1764633600; /* fixed: runs are reproducible */
    env.sha1_cutoff = 1704042000;
    if (gw_vdoc_check(&d, data, size, &env) == 0)
        gw_vdoc_finish(&d);
    gw_vdoc_clear(&d);
    return 0;
}
