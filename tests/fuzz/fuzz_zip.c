/*
 * libFuzzer harness for the ZIP path: any byte string is sniffed, put through the ZIP rule under
 * a few declared types, and unwrapped from a memory file with small limits, so that ASan/UBSan see
 * libzip's open, stat and inflate paths on hostile archives; a refusal always has its stable code.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "edxml/edxml_zip.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/pdf", "application/zip",
                                        "application/vnd.oasis.opendocument.text", NULL};
    struct gw_edxml_zip_limits lim = {.max_entry_bytes = 4u << 20, .max_ratio = 100};
    struct gw_edxml_zip_result res;
    const char *kind = gw_edxml_zip_kind(data, size);
    size_t total = strlen(gw_edxml_sniff(data, size)) + (kind ? strlen(kind) : 0);
    int fd, rc;

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        total += gw_edxml_zip_should_unwrap(data, size, types[i], "x.doc");
    fd = memfd_create("fuzz_zip", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    rc = gw_edxml_zip_unwrap(fd, &lim, &res);
    if (rc == GW_EPARSE || rc == GW_ELIMIT) {
        if (!res.error)
            __builtin_trap(); /* every refusal has its stable code */
        total += strlen(res.error);
    } else if (rc == 0) {
        if (!res.entry_name || res.size > lim.max_entry_bytes ||
            res.size > (uint64_t)size * lim.max_ratio)
            __builtin_trap(); /* a limit was walked round */
        total += strlen(res.entry_name) + strlen(res.detected_type);
        gw_edxml_zip_result_free(&res);
    }
    close(fd);
    return total == (size_t)-1;
}
