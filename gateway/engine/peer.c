/*
 * Circuit breaker per axis: tells a condition of the peer (refused credentials, the axis
 * unreachable, one FAIL answer for every package) from a failure of one package, so that an
 * outage costs a bounded number of sends and log lines and no delivery any attempt.
 */
#include "engine/peer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/log.h"
#include "util/logrl.h"
#include "util/utf8.h"

#define GW_PEER_TEXT            256
#define GW_PEER_LOG_INTERVAL_MS 60000

struct gw_peer {
    char *axis;
    struct gw_peer_config cfg;
    gw_peer_change_cb on_change;
    void *ud;
    enum gw_peer_state state;
    uint64_t since_ms;
    uint64_t open_until;
    uint64_t backoff_cur;
    char reason[GW_PEER_TEXT];
    char open_detail[GW_PEER_TEXT]; /* the FAIL answer that opened it, "" otherwise */
    unsigned failures;              /* transport failures in a row */
    char same_detail[GW_PEER_TEXT]; /* the last FAIL answer ... */
    unsigned same_run;              /* ... and for how many different packages in a row */
    int64_t same_last_pkg;
    unsigned inflight;
    bool probing;
    struct gw_logrl rl;
};

/* Formats into a GW_PEER_TEXT buffer and cuts on a character boundary: the text comes from the
 * peer, ends up in peer_health and logs, and a cut UTF-8 sequence would be refused there. */
__attribute__((format(printf, 2, 3))) static void gw_peer_text(char *dst, const char *fmt, ...)
{
    char tmp[2 * GW_PEER_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    size_t n = gw_utf8_prefix(tmp, GW_PEER_TEXT - 1);
    memcpy(dst, tmp, n);
    dst[n] = '\0';
}

const char *gw_peer_state_name(enum gw_peer_state s)
{
    switch (s) {
    case GW_PEER_OPEN:
        return "open";
    case GW_PEER_HALF_OPEN:
        return "half_open";
    default:
        return "closed";
    }
}

int gw_peer_new(const char *axis, const struct gw_peer_config *cfg, uint64_t now_ms,
                gw_peer_change_cb on_change, void *ud, struct gw_peer **out)
{
    struct gw_peer *p = calloc(1, sizeof(*p));

    if (!p || !(p->axis = strdup(axis))) {
        free(p);
        return GW_ENOMEM;
    }
    p->cfg = *cfg;
    if (p->cfg.failures == 0)
        p->cfg.failures = 1;
    if (p->cfg.backoff_ms == 0)
        p->cfg.backoff_ms = 1;
    if (p->cfg.backoff_max_ms < p->cfg.backoff_ms)
        p->cfg.backoff_max_ms = p->cfg.backoff_ms;
    p->on_change = on_change;
    p->ud = ud;
    p->since_ms = now_ms;
    p->same_last_pkg = -1;
    gw_logrl_init(&p->rl, GW_PEER_LOG_INTERVAL_MS);
    *out = p;
    return 0;
}

void gw_peer_free(struct gw_peer *p)
{
    if (!p)
        return;
    free(p->axis);
    free(p);
}

static void gw_peer_set(struct gw_peer *p, enum gw_peer_state st, uint64_t now_ms)
{
    char key[GW_PEER_TEXT + 32];
    unsigned dropped = 0;
    uint64_t was = now_ms - p->since_ms;

    p->state = st;
    p->since_ms = now_ms;
    snprintf(key, sizeof(key), "%s|%s", gw_peer_state_name(st), p->reason);
    if (gw_logrl_allow(&p->rl, key, now_ms, &dropped)) {
        if (st == GW_PEER_OPEN)
            gw_log(GW_LOG_WARN, "peer.open",
                   "axis %s: breaker open, nothing is sent for %" PRIu64
                   " ms: %s (%u similar changes not logged)",
                   p->axis, p->backoff_cur, p->reason, dropped);
        else if (st == GW_PEER_HALF_OPEN)
            gw_log(GW_LOG_INFO, "peer.half_open",
                   "axis %s: breaker half-open, probing (%u similar "
                   "changes not logged)",
                   p->axis, dropped);
        else
            gw_log(GW_LOG_INFO, "peer.closed",
                   "axis %s: breaker closed, the axis answers again (after %" PRIu64
                   " ms; %u similar changes not logged)",
                   p->axis, was, dropped);
    }
    if (p->on_change)
        p->on_change(p, p->ud);
}

static void gw_peer_open(struct gw_peer *p, const char *reason, const char *fail_detail,
                         uint64_t now_ms)
{
    if (p->state == GW_PEER_HALF_OPEN) {
        p->backoff_cur =
            p->backoff_cur * 2 > p->cfg.backoff_max_ms ? p->cfg.backoff_max_ms : p->backoff_cur * 2;
    } else {
        p->backoff_cur = p->cfg.backoff_ms;
    }
    gw_peer_text(p->reason, "%s", reason);
    gw_peer_text(p->open_detail, "%s", fail_detail ? fail_detail : "");
    p->open_until = now_ms + p->backoff_cur;
    p->probing = false;
    gw_peer_set(p, GW_PEER_OPEN, now_ms);
}

static void gw_peer_close(struct gw_peer *p, uint64_t now_ms)
{
    p->reason[0] = p->open_detail[0] = '\0';
    p->failures = p->same_run = 0;
    p->same_detail[0] = '\0';
    p->probing = false;
    p->backoff_cur = 0;
    gw_peer_set(p, GW_PEER_CLOSED, now_ms);
}

unsigned gw_peer_room(struct gw_peer *p, uint64_t now_ms)
{
    unsigned lim = p->cfg.max_concurrency ? p->cfg.max_concurrency : UINT32_MAX;

    if (p->state == GW_PEER_OPEN && now_ms >= p->open_until)
        gw_peer_set(p, GW_PEER_HALF_OPEN, now_ms);
    if (p->state == GW_PEER_OPEN)
        return 0;
    if (p->state == GW_PEER_HALF_OPEN)
        return p->probing || p->inflight > 0 ? 0 : 1;
    return p->inflight >= lim ? 0 : lim - p->inflight;
}

void gw_peer_started(struct gw_peer *p)
{
    p->inflight++;
    if (p->state == GW_PEER_HALF_OPEN)
        p->probing = true;
}

static bool gw_peer_transport(int err)
{
    return err == GW_EHTTP || err == GW_ETIMEDOUT || err == GW_EIO;
}

enum gw_peer_verdict gw_peer_done(struct gw_peer *p, int err, const char *detail,
                                  int64_t package_id, uint64_t now_ms)
{
    char reason[GW_PEER_TEXT];
    bool probe = p->state == GW_PEER_HALF_OPEN && p->probing;
    bool peer = false;
    const char *fail_detail = NULL;

    if (p->inflight > 0)
        p->inflight--;
    if (probe)
        p->probing = false;
    if (err == 0) {
        p->failures = p->same_run = 0;
        p->same_detail[0] = '\0';
        if (p->state != GW_PEER_CLOSED)
            gw_peer_close(p, now_ms);
        return GW_PEER_DELIVERED;
    }
    if (err == GW_EREFUSED || err == GW_ERECIPIENT) {
        /* The axis answered, refusing this one package for good or for a recipient it does not
         * serve now (the same answer for every package to that recipient): says nothing bad of
         * the peer. */
        p->failures = 0;
        if (p->state == GW_PEER_OPEN)
            return GW_PEER_HELD;
        if (probe)
            gw_peer_close(p, now_ms);
        return GW_PEER_PACKAGE;
    }
    if (err == GW_EAUTH) {
        gw_peer_text(reason, "credentials refused: %s", detail ? detail : "");
        peer = true;
    } else if (gw_peer_transport(err)) {
        p->failures++;
        p->same_run = 0;
        p->same_detail[0] = '\0';
        peer = probe || p->failures >= p->cfg.failures;
        gw_peer_text(reason, "%u transport failures in a row, the last: %s%s%s", p->failures,
                     gw_errcode(err), detail ? ": " : "", detail ? detail : "");
    } else if (err == GW_EAXIS && detail) {
        p->failures = 0;
        if (strncmp(detail, p->same_detail, sizeof(p->same_detail) - 1) == 0) {
            if (package_id != p->same_last_pkg)
                p->same_run++;
        } else {
            gw_peer_text(p->same_detail, "%s", detail);
            p->same_run = 1;
        }
        p->same_last_pkg = package_id;
        fail_detail = p->same_detail;
        if (probe)
            peer = strcmp(p->same_detail, p->open_detail) == 0;
        else
            peer = p->same_run >= p->cfg.failures;
        gw_peer_text(reason, "the same answer for %u packages in a row: %s", p->same_run, detail);
    } else {
        /* A local failure (memory, cancelled, too large) says nothing about the peer. */
        return p->state == GW_PEER_CLOSED ? GW_PEER_PACKAGE : GW_PEER_HELD;
    }
    if (p->state == GW_PEER_OPEN)
        return GW_PEER_HELD; /* sent before the breaker opened: the peer's failure too */
    if (peer && (p->state == GW_PEER_CLOSED || probe)) {
        gw_peer_open(p, reason, fail_detail, now_ms);
        return GW_PEER_HELD;
    }
    if (probe) {
        gw_peer_close(p, now_ms); /* the axis answered, for a reason of this package's own */
        return GW_PEER_PACKAGE;
    }
    return p->state == GW_PEER_CLOSED ? GW_PEER_PACKAGE : GW_PEER_HELD;
}

uint64_t gw_peer_retry_ms(const struct gw_peer *p, uint64_t now_ms)
{
    uint64_t left = p->state == GW_PEER_OPEN && p->open_until > now_ms ? p->open_until - now_ms : 0;
    return left > p->cfg.backoff_ms ? left : p->cfg.backoff_ms;
}

void gw_peer_view(const struct gw_peer *p, uint64_t now_ms, struct gw_peer_view *out)
{
    out->axis = p->axis;
    out->state = p->state;
    out->reason = p->reason;
    out->since_ms = p->since_ms;
    out->retry_in_ms =
        p->state == GW_PEER_OPEN && p->open_until > now_ms ? p->open_until - now_ms : 0;
    out->failures = p->state == GW_PEER_CLOSED
                        ? (p->failures > p->same_run ? p->failures : p->same_run)
                        : p->failures;
    out->inflight = p->inflight;
}
