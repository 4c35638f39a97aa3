#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/sections.h"
#include "util/log.h"

/*
 * gatewayd configuration: one INI file (libinih), every value validated, errors reported as
 * "file:line: message". For every known key of every section present in the file, the
 * environment variable GATEWAYD_<SECTION>_<KEY> (section with non-alphanumerics turned into '_',
 * upper-cased, e.g. GATEWAYD_AXIS_NATIONAL_SECRET) overrides the file. Unknown sections and keys
 * are errors. The configuration owns every string, including those the embedded gw_http_limits,
 * gw_db_config and gw_axis_config structs point to. Secret values never appear in messages.
 * See docs/internals/config.md and deploy/gatewayd.ini.example.
 */

struct gw_config_client {
    char *name;               /* [client.NAME] */
    uint8_t token_sha256[32]; /* SHA-256 of the bearer token (has_token) */
    uint8_t cert_sha256[32];  /* SHA-256 of the client certificate's DER (has_cert) */
    bool has_token;           /* at least one of the two is set */
    bool has_cert;
    char *organ_id; /* the only From this client may use, or NULL (any own organ id) */
};

struct gw_config_axis {
    char *name;    /* [axis.NAME] */
    char *adapter; /* adapter name, e.g. "vxp"; checked against gw_config_opts.adapters */
    bool enabled;
    bool adapter_known; /* false only for a disabled axis whose adapter is not built in */
    uint64_t poll_interval_ms;
    unsigned max_concurrency; /* sends in flight to this axis at once; 0 = delivery.max_inflight */
    struct gw_axis_config axis; /* name/base_url/systemid/secret point into this config */
    char *role;      /* "national" (default) or "provincial": routing by directory (axes.md) */
    bool provincial; /* role == "provincial" */
};

struct gw_config_delivery {
    unsigned max_inflight;
    uint64_t max_inflight_bytes; /* package bytes held by sends in flight (one claim may exceed) */
    unsigned batch;
    uint64_t lease_ms;
    uint64_t scan_interval_ms;
    uint64_t backoff_base_ms;
    uint64_t backoff_max_ms;
    uint64_t give_up_after_s;
    /* Peer health (engine/peer.h): a run of this many transport failures, or identical FAIL
     * answers for different packages, opens an axis's breaker for breaker_backoff_ms, doubled
     * after each failed probe up to breaker_backoff_max_ms. */
    unsigned breaker_failures;
    uint64_t breaker_backoff_ms;
    uint64_t breaker_backoff_max_ms;
    /* Back-pressure: submissions get 503 while the oldest due delivery of an axis whose breaker
     * is closed has waited longer than this (0: never). */
    uint64_t backpressure_age_s;
};

/* [push]: received packages and statuses pushed to QLVBĐH's webhook (docs/internals/push.md).
 * Strings point into the configuration. */
struct gw_config_push {
    bool enabled;                 /* the [push] section is present */
    const char *url;              /* the webhook */
    const char *secret;           /* HMAC-SHA256 key (its characters as UTF-8); never logged */
    const char *content_base_url; /* prefix of content_url; NULL: the API's own path alone */
    uint64_t timeout_ms;          /* one attempt, whole transfer */
    unsigned max_inflight;        /* attempts in flight at once */
    unsigned batch;               /* pushes claimed (and inbox items enqueued) per step */
    uint64_t scan_interval_ms;
    uint64_t lease_ms; /* >= timeout_ms + 1 s: an attempt ends before its lease */
    uint64_t backoff_base_ms;
    uint64_t backoff_max_ms;
    uint64_t give_up_after_s;
    struct gw_tls_peer tls;
};

struct gw_config {
    /* [gateway] */
    char *instance_id;
    char **organ_ids; /* the province's own organisation ids, at least one */
    size_t n_organ_ids;
    enum gw_log_level log_level;
    /* XSD of the edXML header (schemas/edxml/edxml.xsd); NULL: edxml/edxml.xsd beside the
     * migrations directory (<migrations_dir>/../edxml/edxml.xsd) */
    char *edxml_schema;

    /* [server] */
    struct gw_http_limits server;
    char *listen_host; /* without brackets for IPv6 */
    int listen_port;   /* 0 = ephemeral */
    uint64_t drain_timeout_ms;
    struct gw_tls_listener tls; /* tls_cert, tls_key, tls_client_ca, tls_client_auth */

    /* [database] */
    struct gw_db_config db; /* db.conninfo points into this config */
    bool migrate_on_start;
    char *migrations_dir;

    /* [client.*], at least one */
    struct gw_config_client *clients;
    size_t n_clients;

    /* [axis.*], zero or more, in file order */
    struct gw_config_axis *axes;
    size_t n_axes;

    struct gw_config_delivery delivery;

    /* [routing] */
    char *default_axis;                      /* NULL when there is no axis */
    const struct gw_config_axis *default_ax; /* the axis named by default_axis, or NULL */
    /* Agency directory sync period per axis, and the first retry after a failed sync (doubled
     * up to the period). */
    uint64_t directory_interval_ms;
    uint64_t directory_retry_ms;

    /* [verify] and [policy]: signature checks and what is done with their verdicts */
    struct gw_config_verify verify;

    /* [paper]: paper-copy catalogue and due dates */
    struct gw_config_paper paper;

    /* [push]: the webhook push to QLVBĐH (absent: no push) */
    struct gw_config_push push;

    /* Accepted but doubtful settings, each "file:line: message", for the caller to log. */
    char **warnings;
    size_t n_warnings;
};

/* What the loader cannot know by itself. */
struct gw_config_opts {
    /* NULL-terminated names of the axis adapters built into the program, or NULL to leave
     * adapter names unchecked. An enabled axis naming another adapter is an error; a disabled
     * one is accepted with a warning (adapter_known = false) so that a configuration can
     * prepare an axis whose adapter comes in a later release. */
    const char *const *adapters;
};

/* Loads and validates path. On error returns GW_ECONFIG (GW_ENOMEM on allocation failure),
 * leaves *out NULL and writes "file:line: message" into err. */
int gw_config_load(const char *path, struct gw_config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Same from a NUL-terminated string; messages use the file name "<string>". */
int gw_config_parse_string(const char *text, struct gw_config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The same two with options (opts may be NULL: as above). */
int gw_config_load_opts(const char *path, const struct gw_config_opts *opts, struct gw_config **out,
                        char *err, size_t errlen) __attribute__((warn_unused_result));
int gw_config_parse_string_opts(const char *text, const struct gw_config_opts *opts,
                                struct gw_config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Looks up an axis by name; NULL if absent. */
const struct gw_config_axis *gw_config_axis_find(const struct gw_config *cfg, const char *name);

/* The age past which a staged body is no upload or fetch still in progress (the janitor's
 * threshold): twice the longest a body may take to arrive (server body_timeout_ms, each axis's
 * timeout_ms), at least GW_CONFIG_STAGED_BODY_AGE_MIN_MS. */
#define GW_CONFIG_STAGED_BODY_AGE_MIN_MS ((uint64_t)3600 * 1000)
uint64_t gw_config_staged_body_age_ms(const struct gw_config *cfg);

void gw_config_free(struct gw_config *cfg);

/* "deliver", "deliver_flagged", "hold", "reject". */
const char *gw_policy_action_name(enum gw_policy_action a);

/* "YYYY-MM-DD" as 00:00 Vietnam time (UTC+7) in Unix seconds; -1 when not a real date. */
int64_t gw_cfg_vn_date(const char *s);

#endif
