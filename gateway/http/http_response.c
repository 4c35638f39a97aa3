/*
 * HTTP responses: formats the status line, Date/Content-Length/Connection/Content-Type and the
 * handler's extra headers into one buffer, builds the JSON error bodies, and implements
 * gw_http_respond*() on top of the connection code (http_conn.c).
 */
#include "http/http_server_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *gw_http_reason(int status)
{
    const char *s = http_status_str((enum http_status)status);
    return (s && s[0] != '<') ? s : "Unknown";
}

static void gw_http_date(char *out, size_t cap)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11) {
        snprintf(out, cap, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int gw_http_format_response(int status, const char *content_type, const void *body, size_t len,
                            bool keep_alive, bool head_only, const char *extra, size_t extra_len,
                            char **out, size_t *out_len)
{
    bool no_body, send_len;
    size_t ct_len, body_out, cap, n;
    char date[64], *buf;
    int w;

    *out = NULL;
    *out_len = 0;
    if (status < 100 || status > 599)
        status = 500;
    no_body = status < 200 || status == 204 || status == 304;
    send_len = !no_body;
    if (content_type && strpbrk(content_type, "\r\n"))
        content_type = NULL;
    ct_len = content_type ? strlen(content_type) : 0;
    body_out = (no_body || head_only || !body) ? 0 : len;
    cap = 320 + ct_len + extra_len;
    if (body_out > UINT_MAX - cap)
        return GW_E2BIG;
    cap += body_out;
    buf = malloc(cap);
    if (!buf)
        return GW_ENOMEM;
    gw_http_date(date, sizeof(date));
    w = snprintf(buf, cap, "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n", status,
                 gw_http_reason(status), date, keep_alive ? "keep-alive" : "close");
    n = (size_t)w;
    if (send_len) {
        w = snprintf(buf + n, cap - n, "Content-Length: %zu\r\n", body ? len : (size_t)0);
        n += (size_t)w;
    }
    if (content_type) {
        w = snprintf(buf + n, cap - n, "Content-Type: %s\r\n", content_type);
        n += (size_t)w;
    }
    if (extra_len) {
        memcpy(buf + n, extra, extra_len);
        n += extra_len;
    }
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    if (body_out) {
        memcpy(buf + n, body, body_out);
        n += body_out;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static size_t gw_http_json_escape(char *dst, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
        if (*s == '"' || *s == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)*s;
        } else if (*s < 0x20 || *s == 0x7f) {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[*s >> 4];
            dst[o + 5] = hex[*s & 15];
            o += 6;
        } else {
            dst[o++] = (char)*s;
        }
    }
    return o;
}

char *gw_http_json_error(const char *code, const char *message, size_t *len)
{
    static const char a[] = "{\"error\":{\"code\":\"", b[] = "\",\"message\":\"", c[] = "\"}}";
    size_t n = 0;
    char *buf;

    code = code ? code : "internal_error";
    message = message ? message : "";
    buf = malloc(sizeof(a) + sizeof(b) + sizeof(c) + 6 * (strlen(code) + strlen(message)));
    if (!buf)
        return NULL;
    memcpy(buf, a, sizeof(a) - 1);
    n = sizeof(a) - 1;
    n += gw_http_json_escape(buf + n, code);
    memcpy(buf + n, b, sizeof(b) - 1);
    n += sizeof(b) - 1;
    n += gw_http_json_escape(buf + n, message);
    memcpy(buf + n, c, sizeof(c));
    n += sizeof(c) - 1;
    *len = n;
    return buf;
}

static bool gw_http_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", ch)))
            return false;
    }
    return true;
}

int gw_http_add_header(struct gw_http_req *req, const char *name, const char *value)
{
    static const char *const reserved[] = {"content-length", "date", "connection",
                                           "transfer-encoding"};
    struct gw_http_req_priv *rp;
    size_t nlen, vlen, need;
    char *p;

    if (!req || !name || !value || !gw_http_is_token(name) || strpbrk(value, "\r\n"))
        return GW_EINVAL;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcasecmp(name, reserved[i]) == 0)
            return GW_EINVAL;
    }
    rp = gw_container_of(req, struct gw_http_req_priv, pub);
    nlen = strlen(name);
    vlen = strlen(value);
    if (nlen + vlen > GW_HTTP_EXTRA_HDR_MAX)
        return GW_E2BIG;
    need = rp->extra_len + nlen + vlen + 4;
    if (need > GW_HTTP_EXTRA_HDR_MAX)
        return GW_E2BIG;
    p = realloc(rp->extra, need);
    if (!p)
        return GW_ENOMEM;
    rp->extra = p;
    p += rp->extra_len;
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 2);
    rp->extra_len = need;
    return 0;
}

void gw_http_respond(struct gw_http_req *req, int status, const char *content_type,
                     const void *body, size_t len)
{
    struct gw_http_req_priv *rp;
    struct gw_http_conn *c;
    char *resp = NULL;
    size_t resp_len = 0;
    bool keep;

    if (!req)
        return;
    rp = gw_container_of(req, struct gw_http_req_priv, pub);
    c = req->conn_;
    keep = req->keep_alive && (!c || gw_http_conn_keep_alive_ok(c));
    if (!req->detached &&
        gw_http_format_response(status, content_type, body, len, keep, rp->head_only, rp->extra,
                                rp->extra_len, &resp, &resp_len) != 0)
        resp = NULL;
    if (!c) { /* parsed without a connection (gw_http_parse_for_test) */
        free(resp);
        gw_http_req_free(req);
        return;
    }
    gw_http_conn_req_done(c, req, resp, resp_len, !keep);
}

void gw_http_respond_error(struct gw_http_req *req, int status, const char *code,
                           const char *message)
{
    size_t len = 0;
    char *body;

    if (!req)
        return;
    body = req->detached ? NULL : gw_http_json_error(code, message, &len);
    gw_http_respond(req, body || req->detached ? status : 500, "application/json", body, len);
    free(body);
}

int gw_http_respond_stream(struct gw_http_req *req, int status, const char *content_type,
                           uint64_t length, const struct gw_http_stream_ops *ops, void *ud)
{
    struct gw_http_req_priv *rp;
    struct gw_http_conn *c;
    char *head = NULL;
    size_t head_len = 0;
    bool keep;
    int rc;

    if (!req || !ops || !ops->pull || !ops->done || !req->conn_)
        return GW_EINVAL;
    if (req->detached)
        return GW_EIO;
    rp = gw_container_of(req, struct gw_http_req_priv, pub);
    c = req->conn_;
    keep = req->keep_alive && gw_http_conn_keep_alive_ok(c);
    /* A streamed body needs a status that carries one, and a length the head can state. */
    if (status < 200 || status > 599 || status == 204 || status == 304 || length > SIZE_MAX)
        return GW_EINVAL;
    /* head_only: the head of gw_http_format_response, Content-Length = length; no body copied
     * (the non-NULL "" only makes it write the length). */
    rc = gw_http_format_response(status, content_type, "", (size_t)length, keep, true, rp->extra,
                                 rp->extra_len, &head, &head_len);
    if (rc != 0)
        return rc;
    return gw_http_conn_stream_begin(c, req, head, head_len, !keep, rp->head_only ? 0 : length, ops,
                                     ud);
}
