#ifndef GW_CONFIG_SECTIONS_H
#define GW_CONFIG_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The settings of the lower subsystems as plain data: the HTTP server's limits, the database
 * pool and one axis's connection. They live here, below http/, db/ and engine/, so that the
 * configuration can hold them without including the code that uses them; each subsystem reads
 * its own struct and knows nothing of the INI file.
 */

struct gw_http_limits {
    size_t max_header_bytes;    /* request line + headers; 431 beyond */
    size_t max_body_bytes;      /* decoded body; 413 beyond */
    uint64_t header_timeout_ms; /* whole request head must arrive in this time; 408 beyond */
    uint64_t body_timeout_ms;   /* whole body must arrive in this time; 408 beyond */
    uint64_t idle_timeout_ms;   /* keep-alive connection with nothing in flight is closed */
    unsigned max_connections;   /* open connections; beyond, one without a head is evicted */
    /* Open connections from one client address (IPv4 address, IPv6 /64); beyond, that
     * address's oldest connection without a complete head is evicted (http.md "Connections"). */
    unsigned max_connections_per_address;
    unsigned max_headers; /* number of header fields; 431 beyond */
    /* Sum of request body buffers over all connections, from the first body byte until the
     * request is freed; 0 = unlimited. A request whose Content-Length or body growth would
     * exceed what is left gets 503 "server_busy" with Retry-After: 5 and is closed. */
    size_t max_inflight_body_bytes;
};

/* TLS on the northbound listener ([server] tls_*); cert_file NULL: plain HTTP. */
enum gw_tls_client_auth {
    GW_TLS_CLIENT_NONE,     /* no certificate is asked for */
    GW_TLS_CLIENT_OPTIONAL, /* asked for; one that does not chain to client_ca_file fails */
    GW_TLS_CLIENT_REQUIRED, /* and a connection without one fails */
};

struct gw_tls_listener {
    const char *cert_file;      /* PEM chain, leaf first */
    const char *key_file;       /* its PEM private key */
    const char *client_ca_file; /* PEM bundle client certificates must chain to, or NULL */
    enum gw_tls_client_auth client_auth;
};

struct gw_db_config {
    const char *conninfo;      /* libpq connection string */
    unsigned pool_size;        /* connections, default 4 */
    unsigned max_queue;        /* queued queries beyond which gw_db_query fails GW_EAGAIN */
    uint64_t queue_timeout_ms; /* how long a query may wait for a connection */
    uint64_t query_timeout_ms; /* statement_timeout on every connection (0 = none); the client
                                  gives up on a query 5 s later (300 s when 0) */
    uint64_t reconnect_min_ms; /* backoff start */
    uint64_t reconnect_max_ms; /* backoff cap */
    size_t body_cache_bytes;   /* stored body chunks kept in memory for the signature check and
                                  the copies that follow (store/body_cache.h); 0 = none */
};

/*
 * How an outbound peer (an axis, QLVBĐH's webhook) is reached over TLS. The CA set is pinned per
 * peer: ca_file only, the system store adds nothing. TLS 1.2 is the minimum. An http:// URL is
 * refused unless insecure is set (tests on loopback only).
 */
struct gw_tls_peer {
    const char *ca_file;     /* PEM bundle the peer's chain must end in; NULL: https refused */
    const char *client_cert; /* PEM certificate for mTLS, or NULL */
    const char *client_key;  /* its PEM private key (required with client_cert) */
    bool insecure;           /* plain http:// allowed */
};

struct gw_axis_config {
    const char *name;     /* configuration name, e.g. "national" */
    const char *base_url; /* e.g. "http://127.0.0.1:9000" */
    const char *systemid; /* credentials */
    const char *secret;
    uint64_t timeout_ms;
    size_t max_package_bytes; /* cap on a fetched package */
    /* cap on an agency directory answer (getAgenciesList...) */
    size_t max_directory_bytes;
    struct gw_tls_peer tls; /* strings point into the configuration */
    /* adapter lgsp_rest (REST v2.2 provincial axis; docs/internals/axes.md) */
    const char *username;
    const char *password; /* secret */
    const char *application_code;
    const char *directory_file; /* organisation ids served by the axis, one a line */
    uint64_t token_lifetime_s;  /* when the login answer gives no expiresIn */
    unsigned first_window_days; /* the first list window starts this many days back */
    unsigned window_overlap_days;
};

/* What is done with a package by the summary of its signature check ([policy], design.md §5). */
enum gw_policy_action {
    GW_POLICY_DELIVER = 0,
    GW_POLICY_DELIVER_FLAGGED,
    GW_POLICY_HOLD,
    GW_POLICY_REJECT,
};

/* The verdict classes a policy names: the summaries of domain.md §6, INDETERMINATE/TRY_LATER
 * apart (it is re-checked). */
enum gw_policy_class {
    GW_POLICY_TOTAL_PASSED = 0,
    GW_POLICY_TOTAL_FAILED,
    GW_POLICY_INDETERMINATE,
    GW_POLICY_TRY_LATER,
    GW_POLICY_NO_SIGNATURE,
    GW_POLICY_NCLASS,
};

/* [verify] and [policy] */
struct gw_config_verify {
    char *trust_dir;    /* trust anchors and intermediates; NULL: none (no path ends) */
    char **policy_oids; /* certificate policy OIDs a signer must carry (NULL-terminated) */
    size_t n_policy_oids;
    unsigned concurrency;     /* packages claimed for a check at once */
    uint64_t max_check_bytes; /* package bytes of the checks running (one always runs) */
    uint64_t max_pdf_bytes;   /* a larger PDF is not checked (INDETERMINATE, a finding) */
    uint64_t
        max_envelope_bytes; /* a package with a real XML-DSig larger than this is not checked */
    uint64_t lease_ms;
    uint64_t scan_interval_ms;
    uint64_t recheck_min_ms; /* TRY_LATER: first re-check, doubled up to recheck_max_ms */
    uint64_t recheck_max_ms;
    uint64_t try_later_deadline_s; /* then the fallback action applies and an alert fires */
    uint64_t revocation_timeout_ms;
    char *sha1_cutoff;     /* YYYY-MM-DD: SHA-1 signatures younger than this fail */
    int64_t sha1_cutoff_t; /* the same, Unix time (00:00 Vietnam time) */
    enum gw_policy_action action[2][GW_POLICY_NCLASS]; /* [0] out, [1] in */
    enum gw_policy_action fallback;                    /* after the TRY_LATER deadline */
    char *action_text[2][GW_POLICY_NCLASS];            /* as written; NULL: the default */
    char *fallback_text;
};

/* [paper]: the Art. 10.3 paper-copy catalogue and how long a paper copy may take. */
enum { GW_PAPER_DUE_DECLARED = 5, GW_PAPER_DUE_NO_MEANS = 6, GW_PAPER_NDUE = 7 };

struct gw_config_paper {
    char *rules_dir; /* the catalogue; NULL: rules/ beside the migrations directory */
    /* working days from arrival: [1..4] per clause, then a declaration between agencies and a
     * recipient without electronic means (Art. 10.3a); [0] unused */
    unsigned due_days[GW_PAPER_NDUE];
    char **holidays; /* YYYY-MM-DD public holidays (not working days), as written */
    size_t n_holidays;
    int32_t *holiday_days;        /* the same as days since 1970-01-01, sorted */
    uint64_t metrics_interval_ms; /* pending and overdue copies counted this often */
};

#endif
