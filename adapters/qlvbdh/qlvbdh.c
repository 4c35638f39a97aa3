/*
 * QLVBĐH webhook adapter: builds the event JSON of one inbox item from the store's facts, signs
 * it (HMAC-SHA256 over timestamp "." body, fresh on every attempt) and POSTs it through the
 * shared HTTP client with a bounded answer. It decides nothing: the pusher records outcomes.
 */
#include "adapters/qlvbdh/qlvbdh.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/digest.h"
#include "util/error.h"
#include "util/utf8.h"

struct gw_qlvbdh {
    struct gw_httpc *httpc;
    struct gw_qlvbdh_config cfg;
};

struct gw_qlvbdh_attempt {
    gw_qlvbdh_cb cb;
    void *ud;
    char *body;
};

int gw_qlvbdh_new(struct gw_httpc *httpc, const struct gw_qlvbdh_config *cfg,
                  struct gw_qlvbdh **out)
{
    struct gw_qlvbdh *q;

    *out = NULL;
    if (!httpc || !cfg || !cfg->url || !cfg->secret)
        return GW_EINVAL;
    if (!(q = calloc(1, sizeof(*q))))
        return GW_ENOMEM;
    q->httpc = httpc;
    q->cfg = *cfg;
    *out = q;
    return 0;
}

void gw_qlvbdh_free(struct gw_qlvbdh *q)
{
    free(q);
}

static bool gw_qlvbdh_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

int gw_qlvbdh_event_json(const char *content_base_url, const struct gw_qlvbdh_event *ev, char **out,
                         size_t *len)
{
    const char *base = content_base_url ? content_base_url : "";
    size_t blen = strlen(base), cap;
    char *buf;
    int n;

    *out = NULL;
    *len = 0;
    /* The facts are one JSON object made by PostgreSQL: its members follow ours. */
    if (!gw_qlvbdh_uuid(ev->event_id) || ev->package_id < 1 || ev->facts_len < 2 ||
        ev->facts[0] != '{' || ev->facts[ev->facts_len - 1] != '}')
        return GW_EINVAL;
    /* A configured URL holds no '"' nor '\\' (config_values.c), so it is a JSON string as is. */
    if (strpbrk(base, "\"\\"))
        return GW_EINVAL;
    if (blen > 0 && base[blen - 1] == '/')
        blen--;
    cap = ev->facts_len + blen + 160;
    if (!(buf = malloc(cap)))
        return GW_ENOMEM;
    n = snprintf(buf, cap,
                 "{\"event_id\":\"%s\",\"content_url\":\"%.*s/v1/packages/%" PRId64 "/content\"%s",
                 ev->event_id, (int)blen, base, ev->package_id,
                 ev->facts_len > 2 && ev->facts[1] != '}' ? "," : "");
    if (n < 0 || (size_t)n + ev->facts_len > cap) {
        free(buf);
        return GW_EINVAL;
    }
    memcpy(buf + n, ev->facts + 1, ev->facts_len - 1);
    *len = (size_t)n + ev->facts_len - 1;
    buf[*len] = '\0';
    if (!gw_utf8_valid(buf, *len)) {
        free(buf);
        *len = 0;
        return GW_EINVAL;
    }
    *out = buf;
    return 0;
}

int gw_qlvbdh_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[65])
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", ts);
    char *msg = malloc((size_t)plen + len + 1);
    int rc;

    if (!msg)
        return GW_ENOMEM;
    memcpy(msg, prefix, (size_t)plen);
    memcpy(msg + plen, body, len);
    rc = gw_digest_hmac_sha256_hex(secret, strlen(secret), msg, (size_t)plen + len, out);
    free(msg);
    return rc;
}

static void gw_qlvbdh_answered(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_qlvbdh_attempt *a = ud;
    char detail[64];

    if (err == 0 && (status < 200 || status > 299))
        snprintf(detail, sizeof(detail), "webhook answered HTTP %ld", status);
    else if (err != 0)
        snprintf(detail, sizeof(detail), "webhook not reached: %s", gw_errcode(err));
    else
        detail[0] = '\0';
    a->cb(err, err ? 0 : status, detail, a->ud);
    free(a->body);
    free(a);
}

int gw_qlvbdh_send(struct gw_qlvbdh *q, const struct gw_qlvbdh_event *ev, gw_qlvbdh_cb cb, void *ud)
{
    struct gw_qlvbdh_attempt *a = calloc(1, sizeof(*a));
    char ts_h[64], sig_h[96], sig[65];
    const char *headers[4] = {"Content-Type: application/json", ts_h, sig_h, NULL};
    int64_t ts = (int64_t)time(NULL);
    size_t len = 0;
    int rc;

    if (!a)
        return GW_ENOMEM;
    a->cb = cb;
    a->ud = ud;
    if ((rc = gw_qlvbdh_event_json(q->cfg.content_base_url, ev, &a->body, &len)) != 0 ||
        (rc = gw_qlvbdh_sign(q->cfg.secret, ts, a->body, len, sig)) != 0) {
        free(a->body);
        free(a);
        return rc;
    }
    snprintf(ts_h, sizeof(ts_h), "X-Gateway-Timestamp: %" PRId64, ts);
    snprintf(sig_h, sizeof(sig_h), "X-Gateway-Signature: %s", sig);
    struct gw_httpc_request req = {
        .method = "POST",
        .url = q->cfg.url,
        .headers = headers,
        .body = a->body,
        .body_len = len,
        .borrow_body = true,
        .timeout_ms = q->cfg.timeout_ms,
        .max_response_bytes = GW_QLVBDH_MAX_ANSWER,
        .tls = q->cfg.tls,
    };
    rc = gw_httpc_request(q->httpc, &req, gw_qlvbdh_answered, a);
    if (rc != 0) {
        free(a->body);
        free(a);
    }
    return rc;
}
