/*
 * Registry of built-in axis adapters, looked up by the name used in configuration. This is the
 * one place in the core that names adapters; everything else sees only struct gw_axis_ops.
 */
#include "engine/axis.h"

#include <string.h>

#include "adapters/lgsp_rest/lgsp_rest.h"
#include "adapters/vxp/vxp.h"
#include "daemon/adapters.h"
#include "util/common.h"

static const struct gw_axis_ops *const gw_axis_registry[] = {
    &gw_vxp_ops,
    &gw_lgsp_rest_ops,
};

const struct gw_axis_ops *gw_axis_find(const char *adapter_name)
{
    if (!adapter_name)
        return NULL;
    for (size_t i = 0; i < GW_ARRAY_LEN(gw_axis_registry); i++)
        if (strcmp(gw_axis_registry[i]->name, adapter_name) == 0)
            return gw_axis_registry[i];
    return NULL;
}

const char *const *gw_adapter_names(void)
{
    static const char *names[GW_ARRAY_LEN(gw_axis_registry) + 1];

    if (!names[0]) {
        for (size_t i = 0; i < GW_ARRAY_LEN(gw_axis_registry); i++)
            names[i] = gw_axis_registry[i]->name;
    }
    return names;
}
