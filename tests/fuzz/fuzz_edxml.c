/*
 * libFuzzer harness for the edXML extractor: any byte string goes through gw_edxml_parse with
 * the default limits; results are read back and freed so ASan/UBSan see every path.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edxml/edxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    char msg[128];
    size_t total = 0;

    gw_edxml_limits_default(&lim);
    if (gw_edxml_parse(data, size, &lim, &info, msg, sizeof(msg)) == 0) {
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
