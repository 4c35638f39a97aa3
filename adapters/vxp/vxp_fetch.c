/*
 * The getEdoc answer, streamed: each piece of the JSON body goes through the envelope scanner
 * (vxp_scan.c), the bytes of its "data" string through the incremental base64 decoder, and the
 * decoded bytes of that piece to the caller's struct gw_axis_sink in one write. A sink that
 * pauses pauses the HTTP transfer. The verdict (status, ErrorCode) is taken at the end, whatever
 * the member order; a FAIL tells the caller to discard what its sink got.
 *
 * Where the work runs: on the loop, piece by piece. libcurl hands the body over in pieces of at
 * most 16 KiB (CURL_MAX_WRITE_SIZE); scanning and decoding one costs about 10-20 us (the
 * decoder's fast path runs four characters at a time), the order of what libcurl itself spends
 * on the loop receiving (and, with TLS, decrypting) the piece. A thread-pool job per piece would
 * cost as much in hand-offs as the work and hold the piece meanwhile; the per-piece budget keeps
 * the loop responsive (a 67 MB answer is ~4 200 pieces, ~60 ms in all, never more than one piece
 * at a time). The caller's sink decides where its own heavier work (parsing, hashing, storing)
 * runs, and pauses the transfer while it does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "vxp_internal.h"
#include "vxp_scan.h"
#include "vxp_sign.h"

struct gw_vxp_fetch {
    struct gw_axis_download dl; /* the sink, its pauses, a non-2xx answer's text */
    size_t max;                 /* max_package_bytes */
    size_t total;
    struct gw_vxp_scan scan;
    struct gw_vxp_b64 b64;
    int b64_bad;
    uint8_t *out;
    size_t out_cap, out_len;
    int err; /* a local abort: GW_E2BIG, the sink's code, GW_ENOMEM, GW_EPARSE/GW_ECONFLICT */
};

static int gw_vxp_fx_fail_seen(const struct gw_vxp_scan *s)
{
    return s->has_status && strcasecmp(s->status, "FAIL") == 0;
}

static int gw_vxp_fx_data(void *ud, const char *p, size_t n)
{
    struct gw_vxp_fetch *f = ud;
    size_t got = 0;

    if (f->b64_bad || gw_vxp_fx_fail_seen(&f->scan))
        return 0; /* nothing of it will be the package: skip the work */
    if (gw_vxp_b64_feed(&f->b64, p, n, f->out + f->out_len, &got) != 0) {
        f->b64_bad = 1; /* reported at the end, after the envelope's own verdict */
        return 0;
    }
    f->out_len += got;
    return 0;
}

int gw_vxp_fetch_new(struct gw_axis_sink *sink, size_t max, struct gw_vxp_fetch **out)
{
    struct gw_vxp_fetch *f;

    *out = NULL;
    if (!sink || !sink->write)
        return GW_EINVAL;
    if (!(f = calloc(1, sizeof(*f))))
        return GW_ENOMEM;
    gw_axis_download_init(&f->dl, sink);
    f->max = max;
    gw_vxp_scan_init(&f->scan);
    f->scan.data = gw_vxp_fx_data;
    f->scan.ud = f;
    gw_vxp_b64_init(&f->b64);
    *out = f;
    return 0;
}

void gw_vxp_fetch_free(struct gw_vxp_fetch *f)
{
    if (!f)
        return;
    free(f->out);
    gw_axis_download_free(&f->dl);
    free(f);
}

static int gw_vxp_fx_write(void *ud, long status, const char *data, size_t n)
{
    struct gw_vxp_fetch *f = ud;
    int rc;

    if (gw_axis_download_error_piece(&f->dl, status, data, n))
        return 0;
    if (n / 4 * 3 + 3 > f->out_cap) { /* a piece decodes to at most this */
        size_t cap = n / 4 * 3 + 3;
        uint8_t *o = realloc(f->out, cap);
        if (!o)
            return f->err = GW_ENOMEM;
        f->out = o;
        f->out_cap = cap;
    }
    f->out_len = 0;
    if ((rc = gw_vxp_scan_feed(&f->scan, data, n)) != 0)
        return f->err = rc;
    if (f->out_len == 0)
        return 0;
    if (f->out_len > f->max - f->total)
        return f->err = GW_E2BIG;
    f->total += f->out_len;
    rc = gw_axis_download_put(&f->dl, f->out, f->out_len);
    return rc < 0 ? (f->err = rc) : rc;
}

void gw_vxp_fetch_sink(struct gw_vxp_fetch *f, struct gw_httpc_sink *hs)
{
    *hs = (struct gw_httpc_sink){.write = gw_vxp_fx_write, .ud = f};
}

void gw_vxp_fetch_attach(struct gw_vxp_fetch *f, struct gw_httpc_xfer *xfer)
{
    gw_axis_download_attach(&f->dl, xfer);
}

const char *gw_vxp_fetch_errbody(const struct gw_vxp_fetch *f, size_t *len)
{
    return gw_axis_download_errbody(&f->dl, len);
}

int gw_vxp_fetch_verdict(struct gw_vxp_fetch *f, char *detail, size_t detail_len)
{
    const struct gw_vxp_scan *s = &f->scan;
    int rc;

    if (f->err == GW_E2BIG) {
        snprintf(detail, detail_len, "package exceeds %zu bytes", f->max);
        return GW_E2BIG;
    }
    if (f->err == GW_ECONFLICT) {
        snprintf(detail, detail_len, "response with data twice");
        return GW_EAXIS;
    }
    if (f->err == GW_EPARSE || (f->err == 0 && gw_vxp_scan_end(s) != 0)) {
        snprintf(detail, detail_len, "unparsable response: not one JSON object");
        return GW_EHTTP;
    }
    if (f->err != 0)
        return f->err; /* the sink's own code, or memory */
    int code_zero = 0;
    if (s->code_kind == 1)
        code_zero = strcmp(s->code, "0") == 0;
    else if (s->code_kind == 2)
        code_zero = strtod(s->code, NULL) == 0;
    rc = gw_vxp_envelope(s->has_status ? s->status : NULL, s->code_kind ? s->code : NULL, code_zero,
                         s->has_desc ? s->desc : NULL, detail, detail_len);
    if (rc != 0)
        return rc;
    if (s->data_kind != 1) {
        snprintf(detail, detail_len, "response without data");
        return GW_EAXIS;
    }
    if (f->b64_bad || gw_vxp_b64_end(&f->b64) != 0) {
        snprintf(detail, detail_len, "invalid base64 in data");
        return GW_EAXIS;
    }
    return 0;
}

int gw_vxp_fetch_aborted(const struct gw_vxp_fetch *f)
{
    return f->err != 0;
}

bool gw_vxp_fetch_paused(struct gw_vxp_fetch *f, void (*resumed)(void *ud), void *ud)
{
    return gw_axis_download_paused(&f->dl, resumed, ud);
}
