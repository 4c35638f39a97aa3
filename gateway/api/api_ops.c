/*
 * Operations endpoints without authentication: /healthz (the process answers) and /readyz (it
 * can do its job: database up, not draining, an axis able to take deliveries), from the
 * readiness report the daemon fills (struct gw_api_ready). /metrics is api_metrics.c.
 */
#include <string.h>

#include "api/api_internal.h"
#include "util/error.h"

void gw_api_healthz(struct gw_api *api, struct gw_http_req *req)
{
    static const char body[] = "{\"status\":\"alive\"}";
    gw_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

void gw_api_readyz(struct gw_api *api, struct gw_http_req *req)
{
    struct gw_api_ready r;
    bool ready = gw_api_ready_get(api, &r);
    json_t *axes = json_array();
    json_t *obj;

    for (size_t i = 0; i < r.n_axes; i++) {
        const struct gw_api_axis_ready *a = &r.axes[i];
        json_t *ax = json_pack("{s:s,s:s,s:b}", "name", a->name ? a->name : "", "state",
                               a->state ? a->state : "unknown", "ok", a->ok);
        if (ax && !a->ok && a->retry_in_ms >= 0)
            json_object_set_new(ax, "retry_in_ms", json_integer((json_int_t)a->retry_in_ms));
        if (ax && a->reason[0])
            json_object_set_new(ax, "reason", json_string(a->reason));
        json_array_append_new(axes, ax);
    }
    obj = json_pack("{s:b,s:{s:s,s:b,s:o},s:I}", "ready", ready, "checks", "database",
                    r.database ? "ok" : "unavailable", "draining", r.draining, "axes", axes,
                    "db_pending", (json_int_t)gw_db_pending(api->deps.db));
    if (!obj) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return;
    }
    gw_api_json(req, ready ? 200 : 503, obj);
}
