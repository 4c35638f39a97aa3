#ifndef GW_COMMON_H
#define GW_COMMON_H

#include <stddef.h>

/* Small helpers every module may use. */

/* The struct that embeds member `field` at address ptr (libuv handles embedded in owners). */
#define gw_container_of(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

#define GW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
