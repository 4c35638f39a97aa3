/*
 * libFuzzer harness for the HTTP request parser: runs gw_http_parse_for_test with small limits,
 * then the same input split into small reads, and aborts if the outcome depends on how the bytes
 * were split (the server must behave the same whatever the TCP segmentation). Only the error code
 * may differ when one input has several faults: a streaming parser meets them in another order.
 */
#include "http/http_server.h"
#include "http/http_server_internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t steps[] = {1, 3, 7, 64};
    struct gw_http_limits l;
    int whole;

    gw_http_limits_default(&l);
    l.max_header_bytes = 512;
    l.max_headers = 8;
    l.max_body_bytes = 256;
    whole = gw_http_parse_for_test(data, size, &l);
    if (size > 4096)
        return 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int split = gw_http_parse_split_for_test(data, size, &l, steps[i]);
        if ((split < 0) != (whole < 0) || (whole >= 0 && split != whole))
            abort();
    }
    return 0;
}
