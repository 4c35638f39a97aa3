/*
 * The [push] section: the webhook that received packages and statuses are pushed to. Present
 * means enabled; the checks here are the ones that span keys (backoff bounds, a lease that
 * outlasts an attempt, TLS settings that fit the URL's scheme, readable PEM files).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

void gw_cfg_check_push(struct gw_cfg_loader *ld)
{
    struct gw_config_push *p = &ld->cfg->push;
    const struct gw_cfg_section *s = NULL;

    for (size_t i = 0; i < ld->n_sects && !s; i++) {
        if (ld->sects[i].kind == GW_CFG_PUSH)
            s = &ld->sects[i];
    }
    p->enabled = s != NULL;
    if (!s)
        return;
    if (p->backoff_base_ms > p->backoff_max_ms)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "backoff_base_ms"),
                    "[push] backoff_base_ms is above backoff_max_ms");
    else if (p->lease_ms < p->timeout_ms + GW_CFG_LEASE_MARGIN_MS)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "lease_ms"),
                    "[push] lease_ms must exceed timeout_ms by 1 s at least (an attempt and its "
                    "record end before the lease)");
    else if (strncasecmp(p->url, "http://", 7) == 0 && !p->tls.insecure)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "url"),
                    "[push] url is plain http://: set insecure = true (loopback tests only) or "
                    "use https://");
    else if (strncasecmp(p->url, "https://", 8) == 0 && !p->tls.ca_file)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "ca_file"),
                    "[push] ca_file is required for an https:// url");
    else
        gw_cfg_check_tls_peer(ld, s, &p->tls);
}

static void gw_cfg_push_free_str(const char *s, bool secret)
{
    if (s && secret)
        explicit_bzero((void *)s, strlen(s));
    free((void *)s);
}

void gw_cfg_push_free(struct gw_config_push *p)
{
    gw_cfg_push_free_str(p->url, false);
    gw_cfg_push_free_str(p->secret, true);
    gw_cfg_push_free_str(p->content_base_url, false);
    gw_cfg_push_free_str(p->tls.ca_file, false);
    gw_cfg_push_free_str(p->tls.client_cert, false);
    gw_cfg_push_free_str(p->tls.client_key, false);
    memset(p, 0, sizeof(*p));
}
