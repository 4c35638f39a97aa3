/*
 * The sendEdoc request body, multipart/form-data, streamed by the shared upload (engine/axis.h,
 * gw_axis_upload): a preamble (the messageType field and the head of the edocFile part), the
 * package pulled from its struct gw_axis_body, and the closing delimiter, with an exact
 * Content-Length. The boundary is "gwrest" and 32 random hex characters, fresh per request: the
 * body is never held whole, so it cannot be checked not to contain the boundary; a 128-bit random
 * boundary makes that a 2^-128 chance per line.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgsp_rest_internal.h"
#include "util/error.h"

int gw_lr_upload_new(struct gw_axis_body *body, const char *kind_name, char **content_type,
                     struct gw_axis_upload **out)
{
    unsigned char rnd[16];
    char boundary[40], pre[512], post[64];
    int n, pre_len, post_len, rc;

    *out = NULL;
    *content_type = NULL;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return GW_EIO;
    n = snprintf(boundary, sizeof(boundary), "gwrest");
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(boundary + n, sizeof(boundary) - (size_t)n, "%02x", rnd[i]);
    pre_len = snprintf(pre, sizeof(pre),
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"messageType\"\r\n"
                       "\r\n"
                       "%s\r\n"
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"edocFile\"; "
                       "filename=\"edoc.edxml\"\r\n"
                       "Content-Type: application/xml\r\n"
                       "\r\n",
                       boundary, kind_name, boundary);
    post_len = snprintf(post, sizeof(post), "\r\n--%s--\r\n", boundary);
    if (pre_len < 0 || (size_t)pre_len >= sizeof(pre) || post_len < 0 ||
        (size_t)post_len >= sizeof(post))
        return GW_EINVAL;
    rc = gw_axis_upload_new(body, pre, (size_t)pre_len, post, (size_t)post_len, out);
    if (rc != 0)
        return rc;
    if (asprintf(content_type, "Content-Type: multipart/form-data; boundary=%s", boundary) < 0) {
        *content_type = NULL;
        gw_axis_upload_free(*out);
        *out = NULL;
        return GW_ENOMEM;
    }
    return 0;
}
