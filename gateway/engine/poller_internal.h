#ifndef GW_POLLER_INTERNAL_H
#define GW_POLLER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "edxml/edxml.h"

/* Shared by poller.c (the cycle) and poller_item.c (one listed package) only. */

struct gw_app;
struct gw_axis_inst;

#define GW_POLLER_MAX_RECIPIENTS 100000
#define GW_POLLER_SKIP           64 /* oversized docIds remembered, oldest forgotten first */

struct gw_poller {
    struct gw_app *app;
    struct gw_axis_inst *axis;
    uv_timer_t timer;
    bool busy;
    bool stopping;
    bool again;
    bool closed;                /* timer closed: free once the cycle in progress ends */
    uint64_t lease_at;          /* uv_now() when the lease was last taken or renewed */
    char *skip[GW_POLLER_SKIP]; /* docIds not to fetch again (too large) */
    unsigned skip_next;
    enum gw_pkg_kind kind;
    char **ids; /* docIds of the current list */
    size_t n_ids;
    size_t next;
    /* the item in progress */
    uv_work_t work;
    uint8_t *bytes;
    size_t len;
    int parse_err;
    char errmsg[200];
    struct gw_edxml_info info;
    uint8_t sha[32];
    int64_t package_id;
};

/* poller.c */
void gw_poller_next_item(struct gw_poller *p);
void gw_poller_cycle_end(struct gw_poller *p);
void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail);
const char *gw_poller_current(const struct gw_poller *p);
const char *gw_poller_kind_name(enum gw_pkg_kind k);
void gw_poller_skip_add(struct gw_poller *p, const char *doc_id);

/* poller_item.c */
/* Processes the current docId; ends by calling gw_poller_next_item or gw_poller_cycle_end. */
void gw_poller_item_start(struct gw_poller *p);
/* Frees what the item in progress holds. */
void gw_poller_clear_item(struct gw_poller *p);

#endif
