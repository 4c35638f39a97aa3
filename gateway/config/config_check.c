/*
 * Whole-configuration checks run once the file and the environment are applied: required
 * sections and keys, at least one client, distinct client tokens and certificate pins, TLS
 * files that go together and are readable, ordered backoff bounds, a body
 * budget that admits one largest body, delivery leases longer than every axis timeout, adapter
 * names known to the program, the routing default naming a configured axis, each axis's TLS
 * settings, and the computed instance_id default.
 */
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct gw_cfg_section *find_sect(const struct gw_cfg_loader *ld,
                                              enum gw_cfg_sect_kind kind)
{
    for (size_t i = 0; i < ld->n_sects; i++) {
        if (ld->sects[i].kind == kind)
            return &ld->sects[i];
    }
    return NULL;
}

int gw_cfg_line_of(const struct gw_cfg_section *s, const char *key)
{
    size_t ki = 0;
    int l;

    if (!s || !gw_cfg_find_key(s->kind, key, &ki))
        return s ? s->line : 0;
    l = s->key_line[ki];
    return l ? l : s->line;
}

static void check_required(struct gw_cfg_loader *ld)
{
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        size_t n;
        const struct gw_cfg_key *keys = gw_cfg_keys(s->kind, &n);

        for (size_t k = 0; k < n; k++) {
            if (keys[k].required && s->key_line[k] == 0) {
                gw_cfg_fail(ld, s->line, "[%s] %s is required", s->name, keys[k].name);
                return;
            }
        }
    }
    if (!find_sect(ld, GW_CFG_GATEWAY))
        gw_cfg_fail(ld, 0, "missing [gateway] section (organ_ids is required)");
    else if (!find_sect(ld, GW_CFG_DATABASE))
        gw_cfg_fail(ld, 0, "missing [database] section (conninfo is required)");
    else if (ld->cfg->n_clients == 0)
        gw_cfg_fail(ld, 0, "at least one [client.NAME] section is required");
}

/* A client is known by a bearer token, a pinned certificate or both; neither can be shared. */
static void check_clients(struct gw_cfg_loader *ld)
{
    struct gw_config *cfg = ld->cfg;
    size_t kt = 0, kc = 0;

    gw_cfg_find_key(GW_CFG_CLIENT, "token_sha256", &kt);
    gw_cfg_find_key(GW_CFG_CLIENT, "cert_sha256", &kc);
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        struct gw_config_client *c;
        if (s->kind != GW_CFG_CLIENT)
            continue;
        c = &cfg->clients[s->index];
        c->has_token = s->key_line[kt] != 0;
        c->has_cert = s->key_line[kc] != 0;
        if (!c->has_token && !c->has_cert) {
            gw_cfg_fail(ld, s->line, "[%s] token_sha256 or cert_sha256 is required", s->name);
            return;
        }
        for (size_t j = 0; j < s->index; j++) {
            const struct gw_config_client *o = &cfg->clients[j];
            if (c->has_token && o->has_token && memcmp(o->token_sha256, c->token_sha256, 32) == 0) {
                gw_cfg_fail(ld, gw_cfg_line_of(s, "token_sha256"),
                            "[%s] token_sha256 is the same as [client.%s]'s", s->name, o->name);
                return;
            }
            if (c->has_cert && o->has_cert && memcmp(o->cert_sha256, c->cert_sha256, 32) == 0) {
                gw_cfg_fail(ld, gw_cfg_line_of(s, "cert_sha256"),
                            "[%s] cert_sha256 is the same as [client.%s]'s", s->name, o->name);
                return;
            }
        }
    }
}

/* [server] tls_*: a certificate and its key together; client certificates need the CA bundle.
 * The files must be readable here; their contents are parsed with OpenSSL at start-up. */
static void check_listener_tls(struct gw_cfg_loader *ld)
{
    struct gw_tls_listener *t = &ld->cfg->tls;
    const struct gw_cfg_section *sv = find_sect(ld, GW_CFG_SERVER);
    size_t ka = 0;
    bool auth_set;
    const struct {
        const char *key, *path;
    } files[] = {
        {"tls_cert", t->cert_file}, {"tls_key", t->key_file}, {"tls_client_ca", t->client_ca_file}};

    gw_cfg_find_key(GW_CFG_SERVER, "tls_client_auth", &ka);
    auth_set = sv && sv->key_line[ka] != 0;
    if (!t->cert_file != !t->key_file) {
        gw_cfg_fail(ld, gw_cfg_line_of(sv, t->cert_file ? "tls_cert" : "tls_key"),
                    "[server] tls_cert and tls_key go together");
        return;
    }
    if (!t->cert_file && (t->client_ca_file || auth_set)) {
        gw_cfg_fail(ld, gw_cfg_line_of(sv, t->client_ca_file ? "tls_client_ca" : "tls_client_auth"),
                    "[server] %s needs tls_cert and tls_key",
                    t->client_ca_file ? "tls_client_ca" : "tls_client_auth");
        return;
    }
    if (!auth_set)
        t->client_auth = t->client_ca_file ? GW_TLS_CLIENT_OPTIONAL : GW_TLS_CLIENT_NONE;
    else if (t->client_auth != GW_TLS_CLIENT_NONE && !t->client_ca_file) {
        gw_cfg_fail(ld, gw_cfg_line_of(sv, "tls_client_auth"),
                    "[server] tls_client_auth = %s needs tls_client_ca",
                    t->client_auth == GW_TLS_CLIENT_REQUIRED ? "required" : "optional");
        return;
    }
    for (size_t i = 0; i < GW_ARRAY_LEN(files); i++) {
        if (files[i].path && access(files[i].path, R_OK) != 0) {
            gw_cfg_fail(ld, gw_cfg_line_of(sv, files[i].key), "[server] %s %s: %s", files[i].key,
                        files[i].path, strerror(errno));
            return;
        }
    }
}

static void check_bounds(struct gw_cfg_loader *ld)
{
    const struct gw_config *cfg = ld->cfg;
    const struct gw_cfg_section *db = find_sect(ld, GW_CFG_DATABASE);
    const struct gw_cfg_section *dl = find_sect(ld, GW_CFG_DELIVERY);

    if (cfg->db.reconnect_max_ms < cfg->db.reconnect_min_ms)
        gw_cfg_fail(ld, gw_cfg_line_of(db, "reconnect_max_ms"),
                    "[database] reconnect_max_ms (%llu) is below reconnect_min_ms (%llu)",
                    (unsigned long long)cfg->db.reconnect_max_ms,
                    (unsigned long long)cfg->db.reconnect_min_ms);
    else if (cfg->server.max_inflight_body_bytes &&
             cfg->server.max_inflight_body_bytes <= cfg->server.max_body_bytes)
        /* A body is buffered with its terminating NUL: max_body_bytes + 1 of the budget. */
        gw_cfg_fail(ld, gw_cfg_line_of(find_sect(ld, GW_CFG_SERVER), "max_inflight_body_bytes"),
                    "[server] max_inflight_body_bytes (%zu) is %s max_body_bytes (%zu): a "
                    "largest request could never be accepted",
                    cfg->server.max_inflight_body_bytes,
                    cfg->server.max_inflight_body_bytes < cfg->server.max_body_bytes
                        ? "below"
                        : "not above (a body is held with one more byte)",
                    cfg->server.max_body_bytes);
    else if (cfg->delivery.backoff_max_ms < cfg->delivery.backoff_base_ms)
        gw_cfg_fail(ld, gw_cfg_line_of(dl, "backoff_max_ms"),
                    "[delivery] backoff_max_ms (%llu) is below backoff_base_ms (%llu)",
                    (unsigned long long)cfg->delivery.backoff_max_ms,
                    (unsigned long long)cfg->delivery.backoff_base_ms);
    else if (cfg->delivery.breaker_backoff_max_ms < cfg->delivery.breaker_backoff_ms)
        gw_cfg_fail(ld, gw_cfg_line_of(dl, "breaker_backoff_max_ms"),
                    "[delivery] breaker_backoff_max_ms (%llu) is below breaker_backoff_ms (%llu)",
                    (unsigned long long)cfg->delivery.breaker_backoff_max_ms,
                    (unsigned long long)cfg->delivery.breaker_backoff_ms);
    for (size_t i = 0; i < cfg->n_axes && !ld->err; i++) {
        /* A send must end (answer or timeout) and be recorded well before its lease expires, or
         * the delivery is claimed again while the first copy is still on its way. */
        const struct gw_config_axis *a = &cfg->axes[i];
        if (a->enabled && cfg->delivery.lease_ms < a->axis.timeout_ms + GW_CFG_LEASE_MARGIN_MS)
            gw_cfg_fail(ld, gw_cfg_line_of(dl, "lease_ms"),
                        "[delivery] lease_ms (%llu) must exceed [axis.%s] timeout_ms (%llu) by at "
                        "least %u ms",
                        (unsigned long long)cfg->delivery.lease_ms, a->name,
                        (unsigned long long)a->axis.timeout_ms, GW_CFG_LEASE_MARGIN_MS);
    }
}

static bool adapter_known(const char *const *known, const char *name)
{
    for (; *known; known++) {
        if (strcmp(*known, name) == 0)
            return true;
    }
    return false;
}

/* Adapter names are checked here, at load, so a wrong one stops the start before anything
 * (migration, listening) has happened. */
static void check_adapters(struct gw_cfg_loader *ld)
{
    const char *const *known = ld->opts ? ld->opts->adapters : NULL;
    char list[256];
    size_t len = 0;

    if (!known)
        return;
    list[0] = '\0';
    for (const char *const *k = known; *k && len < sizeof(list); k++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", *k);
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        struct gw_config_axis *a;

        if (s->kind != GW_CFG_AXIS)
            continue;
        a = &ld->cfg->axes[s->index];
        if (adapter_known(known, a->adapter))
            continue;
        if (a->enabled) {
            gw_cfg_fail(ld, gw_cfg_line_of(s, "adapter"),
                        "[%s] adapter '%s' is not built into this gatewayd (known: %s)", s->name,
                        a->adapter, list);
            return;
        }
        a->adapter_known = false;
        gw_cfg_warn(ld, gw_cfg_line_of(s, "adapter"),
                    "[%s] adapter '%s' is not built into this gatewayd (known: %s); the axis is "
                    "disabled, so it is not started and its deliveries wait",
                    s->name, a->adapter, list);
    }
}

/* An enabled axis speaking the REST v2.2 provincial protocol logs in and reads its directory
 * file. */
static void check_lgsp_rest(struct gw_cfg_loader *ld)
{
    static const char *const need[] = {"username", "password", "directory_file"};

    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        size_t ki = 0;

        if (s->kind != GW_CFG_AXIS || !ld->cfg->axes[s->index].enabled ||
            strcmp(ld->cfg->axes[s->index].adapter, "lgsp_rest") != 0)
            continue; /* a disabled axis is never created: it may be prepared without them */
        for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
            if (gw_cfg_find_key(s->kind, need[k], &ki) && s->key_line[ki] == 0) {
                gw_cfg_fail(ld, s->line, "[%s] %s is required with adapter = lgsp_rest", s->name,
                            need[k]);
                return;
            }
        }
    }
}

static void check_routing(struct gw_cfg_loader *ld)
{
    struct gw_config *cfg = ld->cfg;
    const struct gw_cfg_section *rt = find_sect(ld, GW_CFG_ROUTING);

    if (!cfg->default_axis) {
        if (cfg->n_axes > 0)
            gw_cfg_fail(ld, rt ? rt->line : 0,
                        "[routing] default_axis is required when an [axis.NAME] section exists");
        return;
    }
    cfg->default_ax = gw_config_axis_find(cfg, cfg->default_axis);
    if (!cfg->default_ax)
        gw_cfg_fail(ld, gw_cfg_line_of(rt, "default_axis"),
                    "[routing] default_axis '%s' names no [axis.%s] section", cfg->default_axis,
                    cfg->default_axis);
}

/* [axis.NAME] role: national (the default) or provincial. Several axes may share a role: a
 * recipient goes to the first provincial axis in file order whose directory lists it, else to the
 * first national one that lists it (docs/internals/axes.md). */
static void check_roles(struct gw_cfg_loader *ld)
{
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        struct gw_config_axis *a;

        if (s->kind != GW_CFG_AXIS)
            continue;
        a = &ld->cfg->axes[s->index];
        if (!a->role || strcmp(a->role, "national") == 0)
            a->provincial = false;
        else if (strcmp(a->role, "provincial") == 0)
            a->provincial = true;
        else
            gw_cfg_fail(ld, gw_cfg_line_of(s, "role"), "[%s] role must be national or provincial",
                        s->name);
    }
    if (!ld->err && ld->cfg->directory_retry_ms > ld->cfg->directory_interval_ms)
        gw_cfg_fail(ld, gw_cfg_line_of(find_sect(ld, GW_CFG_ROUTING), "directory_retry_ms"),
                    "[routing] directory_retry_ms (%llu) is above directory_interval_ms (%llu)",
                    (unsigned long long)ld->cfg->directory_retry_ms,
                    (unsigned long long)ld->cfg->directory_interval_ms);
}

/* [axis.NAME] TLS: plain http:// only with insecure (warned), https:// with a pinned ca_file,
 * client_cert and client_key together, every named file readable PEM (config_tls.c). */
static void check_axis_tls(struct gw_cfg_loader *ld, const struct gw_cfg_section *s,
                           const struct gw_config_axis *a)
{
    const struct gw_tls_peer *t = &a->axis.tls;
    const char *url = a->axis.base_url;

    if (strncasecmp(url, "http://", 7) == 0 && !t->insecure) {
        gw_cfg_fail(ld, gw_cfg_line_of(s, "base_url"),
                    "[%s] plain HTTP to axis %s needs insecure = true (tests only)", s->name,
                    a->name);
        return;
    }
    if (strncasecmp(url, "https://", 8) == 0 && !t->ca_file) {
        gw_cfg_fail(ld, gw_cfg_line_of(s, "base_url"),
                    "[%s] an https:// base_url needs ca_file (the CA bundle the axis's "
                    "certificate must chain to; the system store is not used)",
                    s->name);
        return;
    }
    gw_cfg_check_tls_peer(ld, s, t);
    if (ld->err)
        return;
    if (t->insecure)
        gw_cfg_warn(ld, gw_cfg_line_of(s, "insecure"),
                    "[%s] insecure = true: plain HTTP to axis %s is allowed (tests only)", s->name,
                    a->name);
}

static void check_axes_tls(struct gw_cfg_loader *ld)
{
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        if (s->kind == GW_CFG_AXIS)
            check_axis_tls(ld, s, &ld->cfg->axes[s->index]);
    }
}

static void default_instance_id(struct gw_cfg_loader *ld)
{
    char host[256], id[320];

    if (ld->cfg->instance_id)
        return;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());
    ld->cfg->instance_id = strdup(id);
    if (!ld->cfg->instance_id)
        gw_cfg_fail(ld, 0, "out of memory");
}

void gw_cfg_final_checks(struct gw_cfg_loader *ld)
{
    check_required(ld);
    if (!ld->err)
        check_clients(ld);
    if (!ld->err)
        check_listener_tls(ld);
    if (!ld->err)
        check_bounds(ld);
    if (!ld->err)
        check_adapters(ld);
    if (!ld->err)
        check_lgsp_rest(ld);
    if (!ld->err)
        check_routing(ld);
    if (!ld->err)
        check_roles(ld);
    if (!ld->err)
        check_axes_tls(ld);
    if (!ld->err)
        gw_cfg_check_verify(ld);
    if (!ld->err)
        gw_cfg_check_paper(ld);
    if (!ld->err)
        gw_cfg_check_push(ld);
    if (!ld->err)
        default_instance_id(ld);
}
