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

    if (gw_edxml_scan(data, size, &scan) != 0 && (!scan.code || scan.scanned > size))
        __builtin_trap();
    gw_edxml_limits_default(&lim);
    rc = gw_edxml_parse(data, size, &lim, &info, msg, sizeof(msg));
    if (rc != 0 && !info.error_code)
        __builtin_trap(); /* every refusal has its stable code */
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
