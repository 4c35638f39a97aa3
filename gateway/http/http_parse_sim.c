/*
 * Socket-free run of the HTTP server's read loop (gw_http_parse_for_test): feeds a byte buffer to
 * the same parser as http_conn.c, in reads of a chosen size, and formats a response for every
 * complete request, so that the fuzz harness exercises the parsing, limit and response code.
 */
#include "http/http_server_internal.h"

#include <stdlib.h>

static int gw_http_status_to_err(int status)
{
    switch (status) {
    case 413:
    case 414:
    case 431:
        return GW_E2BIG;
    case 500:
        return GW_ENOMEM;
    default:
        return GW_EPARSE;
    }
}

/* What a handler might do with a request: look at headers, add one, answer. */
static void gw_http_sim_handle(struct gw_http_req *req)
{
    const char *ct = gw_http_req_header(req, "content-type");
    const char *echo = req->n_headers > 0 ? req->headers[0].value : req->path;

    (void)gw_http_add_header(req, "X-Echo", echo);
    if (req->body_len % 2)
        gw_http_respond_error(req, 400, "echo", req->path);
    else
        gw_http_respond(req, 200, ct, req->body, req->body_len);
}

int gw_http_parse_split_for_test(const uint8_t *data, size_t len,
                                 const struct gw_http_limits *limits, size_t step)
{
    struct gw_http_limits lim;
    struct gw_http_pctx pc;
    size_t off = 0, end;
    int count = 0, rc = 0;

    if (!data && len > 0)
        return GW_EINVAL;
    if (limits)
        lim = *limits;
    else
        gw_http_limits_default(&lim);
    if (gw_http_limits_check(&lim) != 0)
        return GW_EINVAL;
    gw_http_pctx_init(&pc, &lim);
    end = (step == 0 || step > len) ? len : step;
    while (off < len) {
        size_t n = gw_http_pctx_feed(&pc, (const char *)data + off, end - off);
        struct gw_http_req *req;

        off += n;
        if (pc.err_status) {
            rc = gw_http_status_to_err(pc.err_status);
            break;
        }
        req = gw_http_pctx_take(&pc);
        if (req) {
            gw_http_sim_handle(req);
            count++;
            continue;
        }
        if (pc.closed || off < end)
            break; /* the server would close here */
        end = (len - end > step && step) ? end + step : len;
    }
    gw_http_pctx_free(&pc);
    return rc ? rc : count;
}

int gw_http_parse_for_test(const uint8_t *data, size_t len, const struct gw_http_limits *limits)
{
    return gw_http_parse_split_for_test(data, len, limits, 0);
}
