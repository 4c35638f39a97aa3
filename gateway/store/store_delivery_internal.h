#ifndef GW_STORE_DELIVERY_INTERNAL_H
#define GW_STORE_DELIVERY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Shared by store_delivery.c and store_delivery_lease.c only. */

typedef void (*gw_store_fn)(void);

/* The caller's callback for one query in flight. */
struct gw_store_job {
    gw_store_fn cb;
    void *ud;
    int64_t *ids; /* the ids sent, in order, where the answer is matched against them */
    size_t n;
};

struct gw_store_job *gw_store_job_new(gw_store_fn cb, void *ud);

int gw_store_check_ms(uint64_t ms);
int gw_store_check_owner(const char *owner);

/* "{1,2,3}" from n int64 values stride bytes apart; malloc'd, NULL on OOM. */
char *gw_store_int_array(const int64_t *v, size_t n, size_t stride);

#endif
