#ifndef GW_EDXML_B64_H
#define GW_EDXML_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Incremental base64 decoder (edxml_b64.c): white space ignored; '=' only as the padding of the
 * last quantum. */
struct gw_edxml_b64 {
    uint32_t acc;
    unsigned n;   /* sextets in acc */
    unsigned pad; /* '=' seen */
    bool bad;
};

/* Decodes in[0..len) into out (room for len * 3 / 4 + 3 bytes); returns the bytes written, or
 * (size_t)-1 on a bad character or a stray '='. */
size_t gw_edxml_b64_decode(struct gw_edxml_b64 *b, const char *in, size_t len, uint8_t *out);

/* End of the text: 0 complete, 1 unpadded but decodable (bytes of the tail written to out, *n),
 * -1 bad (one sextet left, or bad padding). */
int gw_edxml_b64_end(struct gw_edxml_b64 *b, uint8_t *out, size_t *n);

#endif
