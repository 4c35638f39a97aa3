/*
 * libFuzzer harness for the edXML extractor: any byte string goes through the structural
 * pre-scan and gw_edxml_parse with the default limits; results are read back and freed so
 * ASan/UBSan see every path, and a refusal always carries its stable code.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edxml/edxml.h"
#include "edxml/edxml_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    struct gw_edxml_scan_result scan;
    char msg[128];
    size_t total = 0;
    int rc;

    int scan_rc = gw_edxml_scan(data, size, &scan);

    if (scan_rc != 0 && !scan.code)
        __builtin_trap(); /* every refusal has its stable code */
    gw_edxml_limits_default(&lim);
    rc = gw_edxml_parse(data, size, &lim, &info, msg, sizeof(msg));
    if (rc != 0 && !info.error_code)
        __builtin_trap(); /* every refusal has its stable code */
    /* libxml2 saw more attributes than the cap on an element the pre-scan passed as complete:
     * the scan was walked round (an encoding it did not see, say) and its cost bound is void. */
    if (scan_rc == 0 && scan.complete && rc != 0 &&
        strcmp(info.error_code, "too_many_attributes") == 0)
        __builtin_trap();
    if (rc == 0) {
        total += strlen(info.document_id);
        total += info.from ? strlen(info.from) : 0;
        for (size_t i = 0; i < info.n_to; i++)
            total += strlen(info.to[i]);
        total += info.status_code ? strlen(info.status_code) : 0;
        gw_edxml_info_free(&info);
    } else {
        total += strlen(msg);
    }
    return total == (size_t)-1;
}
