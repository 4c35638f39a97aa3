/*
 * The configuration schema: for each section kind, its keys with type, range, whether required
 * or secret, and where the value lands in struct gw_config (or the client/axis entry). Also the
 * built-in defaults. Adding a key means adding one table line here and a field in config.h.
 */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_BOOL,
    T_UNS,    /* unsigned */
    T_U64,    /* uint64_t */
    T_SIZE,   /* size_t */
    T_TEXT,   /* char *, printable */
    T_CTEXT,  /* const char * in an embedded struct, printable */
    T_IDENT,  /* char *, [A-Za-z0-9_-] */
    T_URL,    /* const char *, http(s) URL */
    T_SECRET, /* const char *, printable text used as issued */
    T_ORGAN,  /* char *, one organisation id */
    T_ORGANS, /* gateway organ_ids list */
    T_OIDS,   /* [verify] policy_oids list */
    T_DATES,  /* [paper] holidays list */
    T_LISTEN, /* server listen_host/listen_port */
    T_LOGLEVEL,
    T_TOKEN,      /* client token_sha256, cert_sha256 */
    T_CLIENTAUTH, /* server tls_client_auth */
};

/* Values that reach PostgreSQL as integer (int4) parameters: lease_ms, backoff_base_ms,
 * backoff_max_ms and give_up_after_s (gw_claim_deliveries, gw_delivery_failed), five
 * poll_interval_ms (gw_poller_lease), query_timeout_ms (statement_timeout, an int of ms), batch
 * (a LIMIT). Their maxima stay at or below INT4_MAX, so a value that passes here is never refused
 * by the SQL type later (tests/unit/config checks each one). */
#define INT4_MAX 2147483647ull
#define MS_DAY   86400000ull
#define MS_HOUR  3600000ull
#define GIB      (1024ull * 1024 * 1024)
/* A package is one bytea value and one protocol message: PostgreSQL caps both near 1 GB. */
#define GW_CFG_MAX_PACKAGE (512ull * 1024 * 1024)
#define C(f)               offsetof(struct gw_config, f)
#define CL(f)              offsetof(struct gw_config_client, f)
#define AX(f)              offsetof(struct gw_config_axis, f)

_Static_assert(MS_DAY <= INT4_MAX, "lease_ms, backoff_base_ms, query_timeout_ms fit int4");
_Static_assert(5 * MS_DAY <= INT4_MAX, "the poll lease (5 poll intervals) fits int4");
_Static_assert(366ull * 86400 <= INT4_MAX, "give_up_after_s fits int4");

static const struct gw_cfg_key gateway_keys[] = {
    {"instance_id", T_TEXT, C(instance_id), 0, 0, false, false},
    {"organ_ids", T_ORGANS, 0, 0, 0, true, false},
    {"log_level", T_LOGLEVEL, C(log_level), 0, 0, false, false},
    {"edxml_schema", T_TEXT, C(edxml_schema), 0, 0, false, false},
};

static const struct gw_cfg_key server_keys[] = {
    {"listen", T_LISTEN, 0, 0, 0, false, false},
    {"max_connections", T_UNS, C(server.max_connections), 1, 1000000, false, false},
    {"max_connections_per_address", T_UNS, C(server.max_connections_per_address), 1, 1000000, false,
     false},
    /* http-parser (Debian's build) stops any request head past its own 80 KiB. */
    {"max_header_bytes", T_SIZE, C(server.max_header_bytes), 1024, 81920, false, false},
    {"max_headers", T_UNS, C(server.max_headers), 1, 10000, false, false},
    {"max_body_bytes", T_SIZE, C(server.max_body_bytes), 1024, GW_CFG_MAX_PACKAGE, false, false},
    {"max_inflight_body_bytes", T_SIZE, C(server.max_inflight_body_bytes), 0, 64 * GIB, false,
     false},
    {"header_timeout_ms", T_U64, C(server.header_timeout_ms), 1, MS_HOUR, false, false},
    {"body_timeout_ms", T_U64, C(server.body_timeout_ms), 1, MS_DAY, false, false},
    {"idle_timeout_ms", T_U64, C(server.idle_timeout_ms), 1, MS_DAY, false, false},
    {"drain_timeout_ms", T_U64, C(drain_timeout_ms), 0, MS_HOUR, false, false},
    {"tls_cert", T_CTEXT, C(tls.cert_file), 0, 0, false, false},
    {"tls_key", T_CTEXT, C(tls.key_file), 0, 0, false, false},
    {"tls_client_ca", T_CTEXT, C(tls.client_ca_file), 0, 0, false, false},
    {"tls_client_auth", T_CLIENTAUTH, C(tls.client_auth), 0, 0, false, false},
};

static const struct gw_cfg_key database_keys[] = {
    {"conninfo", T_CTEXT, C(db.conninfo), 0, 0, true, true},
    {"pool_size", T_UNS, C(db.pool_size), 1, 1000, false, false},
    {"max_queue", T_UNS, C(db.max_queue), 1, 10000000, false, false},
    {"queue_timeout_ms", T_U64, C(db.queue_timeout_ms), 1, MS_HOUR, false, false},
    {"query_timeout_ms", T_U64, C(db.query_timeout_ms), 0, MS_DAY, false, false},
    {"reconnect_min_ms", T_U64, C(db.reconnect_min_ms), 1, MS_HOUR, false, false},
    {"reconnect_max_ms", T_U64, C(db.reconnect_max_ms), 1, MS_DAY, false, false},
    {"body_cache_bytes", T_SIZE, C(db.body_cache_bytes), 0, 64 * GIB, false, false},
    {"migrate_on_start", T_BOOL, C(migrate_on_start), 0, 0, false, false},
    {"migrations_dir", T_TEXT, C(migrations_dir), 0, 0, false, false},
};

static const struct gw_cfg_key client_keys[] = {
    /* at least one of token_sha256 and cert_sha256 (config_check.c) */
    {"token_sha256", T_TOKEN, CL(token_sha256), 0, 0, false, true},
    {"cert_sha256", T_TOKEN, CL(cert_sha256), 0, 0, false, false},
    {"organ_id", T_ORGAN, CL(organ_id), 0, 0, false, false},
};

static const struct gw_cfg_key axis_keys[] = {
    {"adapter", T_IDENT, AX(adapter), 0, 0, true, false},
    {"base_url", T_URL, AX(axis.base_url), 0, 0, true, false},
    {"systemid", T_CTEXT, AX(axis.systemid), 0, 0, true, false},
    {"secret", T_SECRET, AX(axis.secret), 0, 0, true, true},
    {"enabled", T_BOOL, AX(enabled), 0, 0, false, false},
    {"poll_interval_ms", T_U64, AX(poll_interval_ms), 10, MS_DAY, false, false},
    {"timeout_ms", T_U64, AX(axis.timeout_ms), 1, MS_HOUR, false, false},
    {"max_concurrency", T_UNS, AX(max_concurrency), 0, 100000, false, false},
    {"max_package_bytes", T_SIZE, AX(axis.max_package_bytes), 1024, GW_CFG_MAX_PACKAGE, false,
     false},
    {"role", T_IDENT, AX(role), 0, 0, false, false},
    {"max_directory_bytes", T_SIZE, AX(axis.max_directory_bytes), 1024, GW_CFG_MAX_PACKAGE, false,
     false},
    /* TLS to the axis (config_check.c, config_tls.c): the CA set pinned to ca_file, an optional
     * client certificate, plain http:// only with insecure. */
    {"ca_file", T_CTEXT, AX(axis.tls.ca_file), 0, 0, false, false},
    {"client_cert", T_CTEXT, AX(axis.tls.client_cert), 0, 0, false, false},
    {"client_key", T_CTEXT, AX(axis.tls.client_key), 0, 0, false, false},
    {"insecure", T_BOOL, AX(axis.tls.insecure), 0, 0, false, false},

    /* lgsp_rest (required there: config_check.c) */
    {"username", T_CTEXT, AX(axis.username), 0, 0, false, false},
    {"password", T_SECRET, AX(axis.password), 0, 0, false, true},
    {"application_code", T_CTEXT, AX(axis.application_code), 0, 0, false, false},
    {"directory_file", T_CTEXT, AX(axis.directory_file), 0, 0, false, false},
    {"token_lifetime_s", T_U64, AX(axis.token_lifetime_s), 10, 86400, false, false},
    {"first_window_days", T_UNS, AX(axis.first_window_days), 0, 366, false, false},
    {"window_overlap_days", T_UNS, AX(axis.window_overlap_days), 0, 366, false, false},
};

static const struct gw_cfg_key delivery_keys[] = {
    {"max_inflight", T_UNS, C(delivery.max_inflight), 1, 100000, false, false},
    {"max_inflight_bytes", T_U64, C(delivery.max_inflight_bytes), 1048576, 64 * GIB, false, false},
    {"batch", T_UNS, C(delivery.batch), 1, 10000, false, false},
    {"lease_ms", T_U64, C(delivery.lease_ms), 1000, MS_DAY, false, false},
    {"scan_interval_ms", T_U64, C(delivery.scan_interval_ms), 10, MS_HOUR, false, false},
    {"backoff_base_ms", T_U64, C(delivery.backoff_base_ms), 1, MS_DAY, false, false},
    {"backoff_max_ms", T_U64, C(delivery.backoff_max_ms), 1, INT4_MAX, false, false},
    {"give_up_after_s", T_U64, C(delivery.give_up_after_s), 1, 366ull * 86400, false, false},
    {"breaker_failures", T_UNS, C(delivery.breaker_failures), 1, 1000, false, false},
    {"breaker_backoff_ms", T_U64, C(delivery.breaker_backoff_ms), 10, MS_HOUR, false, false},
    {"breaker_backoff_max_ms", T_U64, C(delivery.breaker_backoff_max_ms), 10, MS_DAY, false, false},
    {"backpressure_age_s", T_U64, C(delivery.backpressure_age_s), 0, 86400, false, false},
};

static const struct gw_cfg_key routing_keys[] = {
    {"default_axis", T_IDENT, C(default_axis), 0, 0, false, false},
    {"directory_interval_ms", T_U64, C(directory_interval_ms), 1000, 7 * MS_DAY, false, false},
    {"directory_retry_ms", T_U64, C(directory_retry_ms), 100, 7 * MS_DAY, false, false},
};

static const struct gw_cfg_key verify_keys[] = {
    {"trust_dir", T_TEXT, C(verify.trust_dir), 0, 0, false, false},
    {"policy_oids", T_OIDS, 0, 0, 0, false, false},
    {"concurrency", T_UNS, C(verify.concurrency), 1, 64, false, false},
    {"max_check_bytes", T_U64, C(verify.max_check_bytes), 65536, 64 * GIB, false, false},
    {"max_pdf_bytes", T_U64, C(verify.max_pdf_bytes), 1024, GW_CFG_MAX_PACKAGE, false, false},
    {"max_envelope_bytes", T_U64, C(verify.max_envelope_bytes), 1024, GW_CFG_MAX_PACKAGE, false,
     false},
    {"lease_ms", T_U64, C(verify.lease_ms), 1000, MS_DAY, false, false},
    {"scan_interval_ms", T_U64, C(verify.scan_interval_ms), 10, MS_HOUR, false, false},
    {"recheck_min_ms", T_U64, C(verify.recheck_min_ms), 100, MS_DAY, false, false},
    {"recheck_max_ms", T_U64, C(verify.recheck_max_ms), 100, MS_DAY, false, false},
    {"try_later_deadline_s", T_U64, C(verify.try_later_deadline_s), 1, 30ull * 86400, false, false},
    {"revocation_timeout_ms", T_U64, C(verify.revocation_timeout_ms), 100, MS_HOUR, false, false},
    {"sha1_cutoff", T_TEXT, C(verify.sha1_cutoff), 0, 0, false, false},
};

#define PA(d, k) C(verify.action_text[d][k])
static const struct gw_cfg_key policy_keys[] = {
    {"out_total_passed", T_IDENT, PA(0, GW_POLICY_TOTAL_PASSED), 0, 0, false, false},
    {"out_total_failed", T_IDENT, PA(0, GW_POLICY_TOTAL_FAILED), 0, 0, false, false},
    {"out_indeterminate", T_IDENT, PA(0, GW_POLICY_INDETERMINATE), 0, 0, false, false},
    {"out_try_later", T_IDENT, PA(0, GW_POLICY_TRY_LATER), 0, 0, false, false},
    {"out_no_signature", T_IDENT, PA(0, GW_POLICY_NO_SIGNATURE), 0, 0, false, false},
    {"in_total_passed", T_IDENT, PA(1, GW_POLICY_TOTAL_PASSED), 0, 0, false, false},
    {"in_total_failed", T_IDENT, PA(1, GW_POLICY_TOTAL_FAILED), 0, 0, false, false},
    {"in_indeterminate", T_IDENT, PA(1, GW_POLICY_INDETERMINATE), 0, 0, false, false},
    {"in_try_later", T_IDENT, PA(1, GW_POLICY_TRY_LATER), 0, 0, false, false},
    {"in_no_signature", T_IDENT, PA(1, GW_POLICY_NO_SIGNATURE), 0, 0, false, false},
    {"try_later_fallback", T_IDENT, C(verify.fallback_text), 0, 0, false, false},
};

static const struct gw_cfg_key paper_keys[] = {
    {"rules_dir", T_TEXT, C(paper.rules_dir), 0, 0, false, false},
    {"due_days_clause1", T_UNS, C(paper.due_days[1]), 0, 90, false, false},
    {"due_days_clause2", T_UNS, C(paper.due_days[2]), 0, 90, false, false},
    {"due_days_clause3", T_UNS, C(paper.due_days[3]), 0, 90, false, false},
    {"due_days_clause4", T_UNS, C(paper.due_days[4]), 0, 90, false, false},
    {"due_days_declared", T_UNS, C(paper.due_days[GW_PAPER_DUE_DECLARED]), 0, 90, false, false},
    {"due_days_no_means", T_UNS, C(paper.due_days[GW_PAPER_DUE_NO_MEANS]), 0, 90, false, false},
    {"holidays", T_DATES, 0, 0, 0, false, false},
    {"metrics_interval_ms", T_U64, C(paper.metrics_interval_ms), 1000, MS_HOUR, false, false},
};

static const struct gw_cfg_key push_keys[] = {
    {"url", T_URL, C(push.url), 0, 0, true, false},
    {"secret", T_SECRET, C(push.secret), 0, 0, true, true},
    {"content_base_url", T_URL, C(push.content_base_url), 0, 0, false, false},
    {"timeout_ms", T_U64, C(push.timeout_ms), 100, MS_HOUR, false, false},
    {"max_inflight", T_UNS, C(push.max_inflight), 1, 10000, false, false},
    {"batch", T_UNS, C(push.batch), 1, 10000, false, false},
    {"scan_interval_ms", T_U64, C(push.scan_interval_ms), 10, MS_HOUR, false, false},
    {"lease_ms", T_U64, C(push.lease_ms), 1000, MS_DAY, false, false},
    {"backoff_base_ms", T_U64, C(push.backoff_base_ms), 1, MS_DAY, false, false},
    {"backoff_max_ms", T_U64, C(push.backoff_max_ms), 1, INT4_MAX, false, false},
    {"give_up_after_s", T_U64, C(push.give_up_after_s), 1, 366ull * 86400, false, false},
    {"ca_file", T_CTEXT, C(push.tls.ca_file), 0, 0, false, false},
    {"client_cert", T_CTEXT, C(push.tls.client_cert), 0, 0, false, false},
    {"client_key", T_CTEXT, C(push.tls.client_key), 0, 0, false, false},
    {"insecure", T_BOOL, C(push.tls.insecure), 0, 0, false, false},
};

const struct gw_cfg_key *gw_cfg_keys(enum gw_cfg_sect_kind kind, size_t *n)
{
    switch (kind) {
    case GW_CFG_GATEWAY:
        *n = GW_ARRAY_LEN(gateway_keys);
        return gateway_keys;
    case GW_CFG_SERVER:
        *n = GW_ARRAY_LEN(server_keys);
        return server_keys;
    case GW_CFG_DATABASE:
        *n = GW_ARRAY_LEN(database_keys);
        return database_keys;
    case GW_CFG_CLIENT:
        *n = GW_ARRAY_LEN(client_keys);
        return client_keys;
    case GW_CFG_AXIS:
        *n = GW_ARRAY_LEN(axis_keys);
        return axis_keys;
    case GW_CFG_DELIVERY:
        *n = GW_ARRAY_LEN(delivery_keys);
        return delivery_keys;
    case GW_CFG_ROUTING:
        *n = GW_ARRAY_LEN(routing_keys);
        return routing_keys;
    case GW_CFG_VERIFY:
        *n = GW_ARRAY_LEN(verify_keys);
        return verify_keys;
    case GW_CFG_POLICY:
        *n = GW_ARRAY_LEN(policy_keys);
        return policy_keys;
    case GW_CFG_PAPER:
        *n = GW_ARRAY_LEN(paper_keys);
        return paper_keys;
    case GW_CFG_PUSH:
        *n = GW_ARRAY_LEN(push_keys);
        return push_keys;
    default:
        *n = 0;
        return NULL;
    }
}

int gw_cfg_defaults(struct gw_config *cfg)
{
    cfg->log_level = GW_LOG_INFO;
    cfg->server.max_connections = 1024;
    cfg->server.max_connections_per_address = 256;
    cfg->server.max_header_bytes = 16384;
    cfg->server.max_headers = 100;
    cfg->server.max_body_bytes = 67108864;
    cfg->server.max_inflight_body_bytes = 512ull * 1024 * 1024;
    cfg->server.header_timeout_ms = 10000;
    cfg->server.body_timeout_ms = 120000;
    cfg->server.idle_timeout_ms = 60000;
    cfg->drain_timeout_ms = 30000;
    cfg->listen_port = 8080;
    cfg->db.pool_size = 4;
    cfg->db.max_queue = 10000;
    cfg->db.queue_timeout_ms = 10000;
    cfg->db.query_timeout_ms = 60000;
    cfg->db.reconnect_min_ms = 200;
    cfg->db.reconnect_max_ms = 10000;
    cfg->db.body_cache_bytes = 32ull * 1024 * 1024;
    cfg->migrate_on_start = true;
    cfg->delivery.max_inflight = 32;
    cfg->delivery.max_inflight_bytes = 256ull * 1024 * 1024;
    cfg->delivery.batch = 16;
    cfg->delivery.lease_ms = 60000;
    cfg->delivery.scan_interval_ms = 500;
    cfg->delivery.backoff_base_ms = 1000;
    cfg->delivery.backoff_max_ms = 300000;
    cfg->delivery.give_up_after_s = 86400;
    cfg->delivery.breaker_failures = 5;
    cfg->delivery.breaker_backoff_ms = 1000;
    cfg->delivery.breaker_backoff_max_ms = 60000;
    cfg->delivery.backpressure_age_s = 30;
    cfg->directory_interval_ms = 3600000;
    cfg->directory_retry_ms = 30000;
    cfg->verify.concurrency = 32;
    cfg->verify.max_check_bytes = 256ull * 1024 * 1024;
    cfg->verify.max_pdf_bytes = 128ull * 1024 * 1024;
    cfg->verify.max_envelope_bytes = 64ull * 1024 * 1024;
    cfg->verify.lease_ms = 120000;
    cfg->verify.scan_interval_ms = 500;
    cfg->verify.recheck_min_ms = 30000;
    cfg->verify.recheck_max_ms = 600000;
    cfg->verify.try_later_deadline_s = 4 * 3600;
    cfg->verify.revocation_timeout_ms = 10000;
    for (size_t i = 1; i < GW_PAPER_NDUE; i++)
        cfg->paper.due_days[i] = 3;
    cfg->paper.due_days[1] = 1; /* the Government's working rules: with the electronic copy */
    cfg->paper.metrics_interval_ms = 30000;
    cfg->push.timeout_ms = 10000;
    cfg->push.max_inflight = 8;
    cfg->push.batch = 16;
    cfg->push.scan_interval_ms = 1000;
    cfg->push.lease_ms = 60000;
    cfg->push.backoff_base_ms = 1000;
    cfg->push.backoff_max_ms = 300000;
    cfg->push.give_up_after_s = 86400;
    cfg->listen_host = strdup("127.0.0.1");
    cfg->migrations_dir = strdup("schemas/sql");
    return cfg->listen_host && cfg->migrations_dir ? 0 : -1;
}

void gw_cfg_axis_defaults(struct gw_config_axis *ax)
{
    ax->enabled = true;
    ax->adapter_known = true;
    ax->poll_interval_ms = 2000;
    ax->axis.timeout_ms = 30000;
    ax->axis.max_package_bytes = 67108864;
    ax->axis.max_directory_bytes = 33554432;
    ax->axis.token_lifetime_s = 1800;
    ax->axis.first_window_days = 7;
    ax->axis.window_overlap_days = 1;
}

/* Replaces an owned string slot (char * or const char *, same representation). */
static bool set_str(void *slot, const char *v, bool is_const)
{
    char *copy = strdup(v);

    if (!copy)
        return false;
    if (is_const) {
        const char **p = slot;
        free((void *)*p);
        *p = copy;
    } else {
        char **p = slot;
        free(*p);
        *p = copy;
    }
    return true;
}

/* A list from gw_cfgv_list with a NULL after its n items; on allocation failure the list is
 * freed, *oom set and NULL returned. */
static char **strv_terminate(char **list, size_t n, bool *oom)
{
    char **v = realloc(list, (n + 1) * sizeof(*list));
    if (!v) {
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
        *oom = true;
        return NULL;
    }
    v[n] = NULL;
    return v;
}

static const char *store_special(struct gw_config *cfg, const struct gw_cfg_key *k,
                                 const char *value, void *slot, bool *oom)
{
    const char *bad;

    switch (k->type) {
    case T_ORGANS: {
        char **list;
        size_t n;
        if ((bad = gw_cfgv_list(value, gw_cfgv_organ_id, "organisation id listed twice", &list,
                                &n)) != NULL)
            return bad;
        for (size_t i = 0; i < cfg->n_organ_ids; i++)
            free(cfg->organ_ids[i]);
        free(cfg->organ_ids);
        cfg->organ_ids = list;
        cfg->n_organ_ids = n;
        return NULL;
    }
    case T_OIDS: {
        char **list;
        size_t n;
        if ((bad = gw_cfgv_list(value, gw_cfgv_oid, "policy OID listed twice", &list, &n)) != NULL)
            return bad;
        char **v = strv_terminate(list, n, oom); /* NULL-terminated for sig/path */
        if (!v)
            return "out of memory";
        gw_cfg_strv_free(cfg->verify.policy_oids);
        cfg->verify.policy_oids = v;
        cfg->verify.n_policy_oids = n;
        return NULL;
    }
    case T_DATES: {
        char **list;
        size_t n;
        if ((bad = gw_cfgv_list(value, gw_cfgv_date, "date listed twice", &list, &n)) != NULL)
            return bad;
        char **v = strv_terminate(list, n, oom); /* freed as a NULL-terminated list */
        if (!v)
            return "out of memory";
        gw_cfg_paper_holidays_set(&cfg->paper, v, n);
        return NULL;
    }
    case T_LISTEN: {
        char *host;
        int port;
        if ((bad = gw_cfgv_listen(value, &host, &port)) != NULL)
            return bad;
        free(cfg->listen_host);
        cfg->listen_host = host;
        cfg->listen_port = port;
        return NULL;
    }
    case T_LOGLEVEL:
        if (gw_log_parse_level(value, slot) != 0)
            return "expected debug, info, warn or error";
        return NULL;
    case T_TOKEN:
        return gw_cfgv_hex32(value, slot);
    case T_CLIENTAUTH: {
        static const char *const modes[] = {"none", "optional", "required"};
        for (size_t i = 0; i < GW_ARRAY_LEN(modes); i++) {
            if (strcmp(value, modes[i]) == 0) {
                *(enum gw_tls_client_auth *)slot = (enum gw_tls_client_auth)i;
                return NULL;
            }
        }
        return "expected none, optional or required";
    }
    default:
        *oom = false;
        return "internal error: unknown key type";
    }
}

const char *gw_cfg_apply(struct gw_config *cfg, const struct gw_cfg_section *s,
                         const struct gw_cfg_key *k, const char *value, char *msg, size_t msglen,
                         bool *oom)
{
    char *base = (char *)cfg;
    const char *bad = NULL;
    uint64_t n;
    bool b;
    void *slot;

    if (s->kind == GW_CFG_CLIENT)
        base = (char *)&cfg->clients[s->index];
    else if (s->kind == GW_CFG_AXIS)
        base = (char *)&cfg->axes[s->index];
    slot = base + k->offset;
    *oom = false;

    switch (k->type) {
    case T_BOOL:
        if ((bad = gw_cfgv_bool(value, &b)) == NULL)
            *(bool *)slot = b;
        break;
    case T_UNS:
    case T_U64:
    case T_SIZE:
        bad = gw_cfgv_uint(value, k->min, k->max, &n);
        if (bad && strcmp(bad, "out of range") == 0) {
            snprintf(msg, msglen, "out of range (%llu..%llu)", (unsigned long long)k->min,
                     (unsigned long long)k->max);
            bad = msg;
        }
        if (bad)
            break;
        if (k->type == T_UNS)
            *(unsigned *)slot = (unsigned)n;
        else if (k->type == T_U64)
            *(uint64_t *)slot = n;
        else
            *(size_t *)slot = (size_t)n;
        break;
    case T_TEXT:
    case T_CTEXT:
        bad = gw_cfgv_text(value);
        break;
    case T_IDENT:
        bad = gw_cfgv_ident(value);
        break;
    case T_URL:
        bad = gw_cfgv_url(value);
        break;
    case T_SECRET:
        bad = gw_cfgv_secret(value);
        break;
    case T_ORGAN:
        bad = gw_cfgv_organ_id(value);
        break;
    default:
        bad = store_special(cfg, k, value, slot, oom);
        break;
    }
    if (bad || k->type <= T_SIZE || k->type >= T_ORGANS)
        return bad;
    if (!set_str(slot, value, k->type == T_CTEXT || k->type == T_URL || k->type == T_SECRET)) {
        *oom = true;
        return "out of memory";
    }
    return NULL;
}
