/*
 * Range checks of C values against the SQL types they are sent as (smallint, integer, text,
 * bytea). Kept apart from the calls that use them so that the limits are written once.
 */
#include "store/pgtype.h"

#include <string.h>

#include "util/error.h"
#include "util/utf8.h"

int gw_pgtype_range(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo || v > hi ? GW_ERANGE : 0;
}

int gw_pgtype_int2(int64_t v)
{
    return gw_pgtype_range(v, INT16_MIN, INT16_MAX);
}

int gw_pgtype_int4(int64_t v)
{
    return gw_pgtype_range(v, INT32_MIN, INT32_MAX);
}

int gw_pgtype_ms(uint64_t ms)
{
    return ms > (uint64_t)INT32_MAX ? GW_ERANGE : 0;
}

int gw_pgtype_text(const char *s, bool nullable, size_t max_bytes)
{
    size_t len;

    if (!s)
        return nullable ? 0 : GW_EINVAL;
    len = strlen(s);
    if (len > GW_PG_FIELD_MAX || (max_bytes && len > max_bytes))
        return GW_ERANGE;
    return gw_utf8_valid(s, len) ? 0 : GW_EINVAL;
}

int gw_pgtype_bytea(size_t len)
{
    return len > GW_PG_FIELD_MAX ? GW_ERANGE : 0;
}
