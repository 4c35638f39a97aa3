/*
 * The sink a fetch writes the package into (struct gw_axis_sink), built in this one place. Today
 * it accumulates the decoded bytes in one growing buffer, which the item then parses, hashes and
 * stores as a whole. When the streaming ingest pipeline lands, this file becomes its front: each
 * write feeds the pipeline (which pauses the sink while a chunk is in flight) and the fetch's
 * outcome commits or discards the staged body; poller_item.c only calls open/take/close.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/poller_internal.h"
#include "util/common.h"
#include "util/error.h"

static int gw_poller_sink_write(struct gw_axis_sink *sink, const uint8_t *data, size_t n)
{
    struct gw_poller_sink *ps = gw_container_of(sink, struct gw_poller_sink, sink);

    if (n > SIZE_MAX / 2 - ps->len)
        return GW_E2BIG;
    if (ps->len + n > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 64 * 1024;
        while (cap < ps->len + n)
            cap *= 2;
        uint8_t *b = realloc(ps->buf, cap);
        if (!b)
            return GW_ENOMEM;
        ps->buf = b;
        ps->cap = cap;
    }
    memcpy(ps->buf + ps->len, data, n);
    ps->len += n;
    return 0;
}

struct gw_axis_sink *gw_poller_sink_open(struct gw_poller *p)
{
    struct gw_poller_sink *ps = &p->sink;

    gw_poller_sink_close(p);
    ps->sink = (struct gw_axis_sink){.write = gw_poller_sink_write, .ud = p};
    return &ps->sink;
}

int gw_poller_sink_take(struct gw_poller *p, uint8_t **bytes, size_t *len)
{
    struct gw_poller_sink *ps = &p->sink;

    if (!ps->buf && !(ps->buf = malloc(1))) /* an empty package is still a buffer */
        return GW_ENOMEM;
    *bytes = ps->buf;
    *len = ps->len;
    ps->buf = NULL;
    ps->len = ps->cap = 0;
    return 0;
}

void gw_poller_sink_close(struct gw_poller *p)
{
    free(p->sink.buf);
    memset(&p->sink, 0, sizeof(p->sink));
}
