/*
 * Missing intermediates from the certificates' caIssuers URLs (AIA): fetched on the loop through
 * the daemon's libcurl multi client, at most GW_AIA_MAX_BYTES, read as DER, PEM or a PKCS#7
 * bundle, and kept in memory by URL (an answer for a day, a failure for a minute), so a CA
 * certificate that signers omit is fetched once, not per package. The URL comes from a
 * certificate a peer sent: only http and https are asked (sig/path reads no other scheme).
 */
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "http/http_client.h"
#include "util/log.h"

#define GW_AIA_MAX_BYTES (64 * 1024)
#define GW_AIA_SLOTS     64
#define GW_AIA_TTL_MS    (24ull * 3600 * 1000)
#define GW_AIA_FAIL_MS   (60ull * 1000)

struct gw_aia_slot {
    char url[512];
    uint8_t *der; /* NULL: the last fetch failed */
    size_t n;
    uint64_t at_ms;
};

struct gw_app_aia {
    struct gw_aia_slot slots[GW_AIA_SLOTS];
};

struct gw_aia_fetch {
    struct gw_app *app;
    char url[512];
    void (*done)(void *, X509 *);
    void *ud;
};

static X509 *gw_aia_parse(const uint8_t *p, size_t n)
{
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    if (x)
        return x;
    BIO *b = BIO_new_mem_buf(p, (int)n);
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x)
        return x;
    q = p; /* a certs-only PKCS#7 (.p7c): its first certificate */
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)n);
    if (p7 && OBJ_obj2nid(p7->type) == NID_pkcs7_signed && p7->d.sign && p7->d.sign->cert &&
        sk_X509_num(p7->d.sign->cert) > 0) {
        x = sk_X509_value(p7->d.sign->cert, 0);
        if (X509_up_ref(x) != 1)
            x = NULL;
    }
    PKCS7_free(p7);
    return x;
}

static struct gw_aia_slot *gw_aia_find(struct gw_app_aia *a, const char *url, uint64_t now)
{
    for (size_t i = 0; i < GW_AIA_SLOTS; i++) {
        struct gw_aia_slot *s = &a->slots[i];
        if (s->url[0] && strcmp(s->url, url) == 0 &&
            now - s->at_ms < (s->der ? GW_AIA_TTL_MS : GW_AIA_FAIL_MS))
            return s;
    }
    return NULL;
}

static void gw_aia_keep(struct gw_app_aia *a, const char *url, uint8_t *der, size_t n, uint64_t now)
{
    struct gw_aia_slot *s = &a->slots[0];
    for (size_t i = 0; i < GW_AIA_SLOTS; i++) { /* the same URL, else the oldest slot */
        if (strcmp(a->slots[i].url, url) == 0) {
            s = &a->slots[i];
            break;
        }
        if (a->slots[i].at_ms < s->at_ms)
            s = &a->slots[i];
    }
    free(s->der);
    snprintf(s->url, sizeof(s->url), "%s", url);
    s->der = der;
    s->n = n;
    s->at_ms = now;
}

static void gw_aia_fetched(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_aia_fetch *f = ud;
    struct gw_app *app = f->app;
    X509 *x = err == 0 && status == 200 ? gw_aia_parse((const uint8_t *)body, len) : NULL;
    uint8_t *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;

    if (n <= 0) {
        der = NULL;
        n = 0;
    }
    if (app->aia)
        gw_aia_keep(app->aia, f->url, der, (size_t)n, uv_now(app->loop));
    else
        free(der);
    if (x)
        gw_log(GW_LOG_INFO, "sig.aia_fetched", "issuer certificate fetched from %s", f->url);
    else
        gw_log(GW_LOG_WARN, "sig.aia_failed", "no issuer certificate at %s (%s)", f->url,
               err             ? "transport"
               : status != 200 ? "HTTP status"
                               : "not a certificate");
    f->done(f->ud, x);
    free(f);
    gw_app_work_end(app);
}

int gw_app_issuer(void *ud, const char *url, void (*done)(void *done_ud, X509 *cert), void *done_ud)
{
    struct gw_app *app = ud;
    uint64_t now = uv_now(app->loop);

    if (!app->aia && !(app->aia = calloc(1, sizeof(*app->aia))))
        return -1;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return -1;
    struct gw_aia_slot *s = gw_aia_find(app->aia, url, now);
    if (s && !s->der)
        return -1; /* failed a moment ago */
    if (s) {
        const unsigned char *q = s->der;
        X509 *x = d2i_X509(NULL, &q, (long)s->n);
        if (!x)
            return -1;
        done(done_ud, x);
        return 0;
    }
    struct gw_aia_fetch *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->app = app;
    snprintf(f->url, sizeof(f->url), "%s", url);
    f->done = done;
    f->ud = done_ud;
    struct gw_httpc_request rq = {
        .method = "GET",
        .url = f->url,
        .timeout_ms = app->cfg->verify.revocation_timeout_ms,
        .connect_timeout_ms = app->cfg->verify.revocation_timeout_ms,
        .max_response_bytes = GW_AIA_MAX_BYTES,
    };
    gw_app_work_begin(app);
    if (gw_httpc_request(app->httpc, &rq, gw_aia_fetched, f) != 0) {
        free(f);
        gw_app_work_end(app);
        return -1;
    }
    return 0;
}

void gw_app_aia_free(struct gw_app *app)
{
    if (!app->aia)
        return;
    for (size_t i = 0; i < GW_AIA_SLOTS; i++)
        free(app->aia->slots[i].der);
    free(app->aia);
    app->aia = NULL;
}
