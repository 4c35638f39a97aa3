#ifndef GW_CLASSIFY_JSON_H
#define GW_CLASSIFY_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "rules/catalog.h"
#include "rules/classify.h"

/*
 * The JSON form of a classification, the same for the store, the API, the inbox and
 * gatewayctl: {date, catalogue {version, digest}, required, tracked, clauses [..], hits [..],
 * paper {declared, internal, declaration, mismatch}} and, with explain, an explanation of every
 * clause fired or not and the rules that came close. NULL on allocation failure.
 */
json_t *gw_classify_json(const struct gw_classify_result *r, const struct gw_catalog *cat,
                         bool explain);

#endif
