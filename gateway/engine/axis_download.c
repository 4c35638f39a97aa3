/*
 * The shared half of an adapter's streamed fetch (engine/axis.h, gw_axis_download): the first
 * 64 KiB of a non-2xx answer kept for its detail, each piece's decoded bytes handed to the
 * caller's struct gw_axis_sink with its pause turned into the HTTP transfer's, and the sink's
 * resume turned back into the transfer's resume, or, once the transfer is over, into the call's
 * completion (exactly once). The decoding itself (JSON scanning, base64) is the adapter's.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/axis.h"
#include "util/error.h"

#define GW_AXIS_ERRBODY_MAX (64u * 1024)

static void gw_axis_dl_resume(void *ctx)
{
    struct gw_axis_download *d = ctx;

    if (!d->paused)
        return;
    d->paused = false;
    if (d->xfer) {
        gw_httpc_resume_sink(d->xfer);
    } else if (d->resumed) {
        void (*resumed)(void *) = d->resumed;
        d->resumed = NULL;
        resumed(d->resumed_ud);
    }
}

void gw_axis_download_init(struct gw_axis_download *d, struct gw_axis_sink *sink)
{
    memset(d, 0, sizeof(*d));
    d->sink = sink;
    sink->resume_fn = gw_axis_dl_resume;
    sink->resume_ctx = d;
}

void gw_axis_download_free(struct gw_axis_download *d)
{
    free(d->errbody);
    d->errbody = NULL;
}

bool gw_axis_download_error_piece(struct gw_axis_download *d, long status, const char *data,
                                  size_t n)
{
    if (status >= 200 && status <= 299)
        return false;
    size_t keep = GW_AXIS_ERRBODY_MAX - d->errlen < n ? GW_AXIS_ERRBODY_MAX - d->errlen : n;
    if (keep) {
        char *b = realloc(d->errbody, d->errlen + keep + 1);
        if (!b)
            return true; /* the detail is only text: go without it */
        memcpy(b + d->errlen, data, keep);
        d->errlen += keep;
        b[d->errlen] = '\0';
        d->errbody = b;
    }
    return true;
}

int gw_axis_download_put(struct gw_axis_download *d, const uint8_t *data, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    rc = d->sink->write(d->sink, data, n);
    if (rc == GW_AXIS_SINK_PAUSED) {
        d->paused = true;
        return GW_HTTPC_PAUSE;
    }
    return rc < 0 ? rc : 0;
}

void gw_axis_download_attach(struct gw_axis_download *d, struct gw_httpc_xfer *xfer)
{
    d->xfer = xfer;
}

const char *gw_axis_download_errbody(const struct gw_axis_download *d, size_t *len)
{
    *len = d->errlen;
    return d->errbody ? d->errbody : "";
}

bool gw_axis_download_paused(struct gw_axis_download *d, void (*resumed)(void *ud), void *ud)
{
    d->xfer = NULL;
    if (!d->paused)
        return false;
    d->resumed = resumed;
    d->resumed_ud = ud;
    return true;
}
