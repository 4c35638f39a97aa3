#ifndef GW_QLVBDH_H
#define GW_QLVBDH_H

#include <stddef.h>
#include <stdint.h>

#include "http/http_client.h" /* and struct gw_tls_peer */

/*
 * QLVBĐH's webhook: one pushed inbox item is a POST of a JSON event to the configured URL with
 * Content-Type application/json, X-Gateway-Timestamp (Unix seconds) and X-Gateway-Signature =
 * lowercase hex HMAC-SHA256(key = the secret's characters as UTF-8, timestamp "." body), signed
 * afresh on every attempt. Any 2xx is the acknowledgement. The event members are listed in
 * docs/internals/push.md. Only gateway/daemon includes this header.
 */

#define GW_QLVBDH_MAX_ANSWER (64 * 1024) /* a longer answer fails the attempt (GW_E2BIG) */

struct gw_qlvbdh_config {
    const char *url;
    const char *secret;
    const char *content_base_url; /* NULL: content_url is the API's path alone */
    uint64_t timeout_ms;
    const struct gw_tls_peer *tls; /* NULL: libcurl's defaults */
};

/* One event: the store's facts (a JSON object: kind, package_id, document_id, ...) plus the
 * members the adapter adds (event_id, content_url). */
struct gw_qlvbdh_event {
    const char *event_id; /* uuid text */
    int64_t package_id;
    const char *facts;
    size_t facts_len;
};

struct gw_qlvbdh;

/* Strings of cfg are borrowed and must outlive the adapter. */
int gw_qlvbdh_new(struct gw_httpc *httpc, const struct gw_qlvbdh_config *cfg,
                  struct gw_qlvbdh **out) __attribute__((warn_unused_result));
void gw_qlvbdh_free(struct gw_qlvbdh *q);

/* The event body, malloc'd and NUL-terminated. GW_EINVAL when the facts are not one JSON
 * object, the event id is not a uuid or the result is not valid UTF-8; GW_ENOMEM. */
int gw_qlvbdh_event_json(const char *content_base_url, const struct gw_qlvbdh_event *ev, char **out,
                         size_t *len) __attribute__((warn_unused_result));

/* Lowercase hex HMAC-SHA256(secret, "<ts>.<body>") into out. 0, GW_ENOMEM or GW_EIO. */
int gw_qlvbdh_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[65])
    __attribute__((warn_unused_result));

/* err 0 and status 2xx: acknowledged. err 0 and another status: refused (detail says which).
 * err < 0: transport failure (GW_EHTTP, GW_ETIMEDOUT, GW_E2BIG) or GW_ECANCELED at close. */
typedef void (*gw_qlvbdh_cb)(int err, long status, const char *detail, void *ud);

/* One attempt. If this returns an error the callback never runs. */
int gw_qlvbdh_send(struct gw_qlvbdh *q, const struct gw_qlvbdh_event *ev, gw_qlvbdh_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
