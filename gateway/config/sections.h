#ifndef GW_CONFIG_SECTIONS_H
#define GW_CONFIG_SECTIONS_H

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
    unsigned max_connections;   /* further accepts get 503 and are closed */
    unsigned max_headers;       /* number of header fields; 431 beyond */
    /* Sum of request body buffers over all connections, from the first body byte until the
     * request is freed; 0 = unlimited. A request whose Content-Length or body growth would
     * exceed what is left gets 503 "server_busy" with Retry-After: 5 and is closed. */
    size_t max_inflight_body_bytes;
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
};

#endif
