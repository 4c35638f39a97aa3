/*
 * Stream decoding for the streams the inspector itself must read (xref streams and object
 * streams): no filter or FlateDecode, with the PNG predictors of /DecodeParms. Output is capped
 * at max_stream; anything else is refused rather than guessed.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static bool inflate_capped(struct pdf_doc *d, const uint8_t *in, size_t len, uint8_t **out,
                           size_t *outlen, bool *bad)
{
    size_t cap = len < 4096 ? 16384 : len * 4, n = 0;
    uint8_t *buf, *nb;
    z_stream z;
    int rc;

    if (cap > d->lim.max_stream)
        cap = d->lim.max_stream + 1;
    if (!(buf = malloc(cap))) {
        d->nomem = true;
        return false;
    }
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK) {
        free(buf);
        d->nomem = true;
        return false;
    }
    z.next_in = (Bytef *)in;
    for (;;) {
        size_t chunk = len - (size_t)((const uint8_t *)z.next_in - in);

        z.avail_in = chunk > UINT32_MAX ? UINT32_MAX : (uInt)chunk;
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n > UINT32_MAX ? UINT32_MAX : cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = (size_t)(z.next_out - buf);
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out > 0)
            break; /* input ends without the zlib trailer: take what there is */
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            if (n > 0)
                break; /* a damaged tail: keep the decoded prefix, checked by the caller */
            inflateEnd(&z);
            free(buf);
            *bad = true;
            return false;
        }
        if (n == cap) {
            if (cap > d->lim.max_stream) {
                inflateEnd(&z);
                free(buf);
                pdf_fail(d, "stream_too_large", "a stream decodes to more than %zu bytes",
                         d->lim.max_stream);
                return false;
            }
            cap = cap * 2 > d->lim.max_stream ? d->lim.max_stream + 1 : cap * 2;
            if (!(nb = realloc(buf, cap))) {
                inflateEnd(&z);
                free(buf);
                d->nomem = true;
                return false;
            }
            buf = nb;
        }
    }
    inflateEnd(&z);
    if (n > d->lim.max_stream) {
        free(buf);
        pdf_fail(d, "stream_too_large", "a stream decodes to more than %zu bytes",
                 d->lim.max_stream);
        return false;
    }
    *out = pdf_alloc_big(d, n);
    if (*out)
        memcpy(*out, buf, n);
    free(buf);
    *outlen = n;
    return *out != NULL;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* PNG row filters, undone in place; the output drops the filter bytes. */
static bool unpredict(const struct pdf_val *parms, uint8_t *buf, size_t *len)
{
    int64_t pred = 1, cols = 1, colors = 1, bpc = 8;
    size_t row, bpp, nrows, o = 0;
    uint8_t *prev = NULL;

    pdf_int(pdf_dget(parms, "Predictor"), &pred);
    if (pred == 1)
        return true;
    if (pred < 10 || pred > 15)
        return false;
    pdf_int(pdf_dget(parms, "Columns"), &cols);
    pdf_int(pdf_dget(parms, "Colors"), &colors);
    pdf_int(pdf_dget(parms, "BitsPerComponent"), &bpc);
    if (cols < 1 || cols > 1 << 20 || colors < 1 || colors > 32 || bpc < 1 || bpc > 16)
        return false;
    row = (size_t)((cols * colors * bpc + 7) / 8);
    bpp = (size_t)((colors * bpc + 7) / 8);
    nrows = *len / (row + 1);
    for (size_t r = 0; r < nrows; r++) {
        uint8_t type = buf[r * (row + 1)];
        uint8_t *src = buf + r * (row + 1) + 1, *dst = buf + o;

        memmove(dst, src, row); /* dst <= src: rows only move down */
        for (size_t i = 0; i < row; i++) {
            int a = i >= bpp ? dst[i - bpp] : 0, b = prev ? prev[i] : 0;
            int c = prev && i >= bpp ? prev[i - bpp] : 0;

            switch (type) {
            case 0:
                break;
            case 1:
                dst[i] = (uint8_t)(dst[i] + a);
                break;
            case 2:
                dst[i] = (uint8_t)(dst[i] + b);
                break;
            case 3:
                dst[i] = (uint8_t)(dst[i] + (a + b) / 2);
                break;
            case 4:
                dst[i] = (uint8_t)(dst[i] + paeth(a, b, c));
                break;
            default:
                return false;
            }
        }
        prev = dst;
        o += row;
    }
    *len = o;
    return true;
}

static const struct pdf_val *first_of(const struct pdf_val *v)
{
    if (v && v->kind == PV_ARRAY)
        return v->u.arr.n == 1 ? v->u.arr.v[0] : v->u.arr.n == 0 ? NULL : v;
    return v;
}

bool pdf_stream_decode(struct pdf_doc *d, const struct pdf_val *dict, const uint8_t *data,
                       size_t len, uint8_t **out, size_t *outlen, bool *bad)
{
    const struct pdf_val *f = first_of(pdf_dget(dict, "Filter"));
    const struct pdf_val *parms = first_of(pdf_dget(dict, "DecodeParms"));

    *bad = false;
    if (!f) {
        if (len > d->lim.max_stream) {
            pdf_fail(d, "stream_too_large", "a stream is longer than %zu bytes", d->lim.max_stream);
            return false;
        }
        *out = (uint8_t *)data;
        *outlen = len;
        return true;
    }
    if (!pdf_is_name(f, "FlateDecode") && !pdf_is_name(f, "Fl")) {
        *bad = true;
        return false;
    }
    if (!inflate_capped(d, data, len, out, outlen, bad))
        return false;
    if (parms && !unpredict(parms, *out, outlen)) {
        *bad = true;
        return false;
    }
    return true;
}
