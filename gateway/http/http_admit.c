/*
 * Admission of new connections to the HTTP server. Open connections are counted per client
 * address (an IPv4 address; an IPv6 /64, the block one host usually holds) in a small hash
 * table, and the connections that have not sent a complete request head are kept on intrusive
 * lists in the order they joined them, for the whole server and per address. When
 * max_connections or max_connections_per_address is reached, the oldest evictable connection of
 * that scope is closed to make room (never one whose request head is complete), so idle or slow
 * connections cannot lock out a client that sends requests; only when nothing is evictable is the
 * new connection refused. Every step is O(1) (amortised, for the table's growth).
 */
#include "http/http_server_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_HTTP_ADDRS_MIN 64 /* first bucket count; doubles when entries exceed buckets */

static const char *const gw_http_evclass_name[GW_HTTP_EV_N] = {"no_head", "lingering", "anonymous",
                                                               "keepalive"};
static const char *const gw_http_limit_name[GW_HTTP_LIM_N] = {"max_connections",
                                                              "max_connections_per_address"};

/* ---- lists ---- */

static void gw_http_clist_push(struct gw_http_clist *l, struct gw_http_conn *c, size_t link)
{
    struct gw_http_clink *k = (struct gw_http_clink *)((char *)c + link);

    k->prev = l->tail;
    k->next = NULL;
    if (l->tail)
        ((struct gw_http_clink *)((char *)l->tail + link))->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void gw_http_clist_unlink(struct gw_http_clist *l, struct gw_http_conn *c, size_t link)
{
    struct gw_http_clink *k = (struct gw_http_clink *)((char *)c + link);

    if (k->prev)
        ((struct gw_http_clink *)((char *)k->prev + link))->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        ((struct gw_http_clink *)((char *)k->next + link))->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
}

#define GW_LINK_ALL  offsetof(struct gw_http_conn, ev_all)
#define GW_LINK_ADDR offsetof(struct gw_http_conn, ev_addr)

static void gw_http_admit_unlist(struct gw_http_conn *c)
{
    if (c->ev == GW_HTTP_EV_NONE)
        return;
    gw_http_clist_unlink(&c->srv->ev[c->ev], c, GW_LINK_ALL);
    gw_http_clist_unlink(&c->addr->ev[c->ev], c, GW_LINK_ADDR);
    c->ev = GW_HTTP_EV_NONE;
}

/* ---- address table ---- */

void gw_http_admit_key(const struct sockaddr *sa, uint64_t *key, uint8_t *family)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint32_t v4;

    *key = 0;
    *family = 0;
    if (sa && sa->sa_family == AF_INET) {
        memcpy(&v4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *key = v4;
        *family = 4;
    } else if (sa && sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(b, mapped, sizeof(mapped)) == 0) {
            memcpy(&v4, b + 12, 4);
            *key = v4;
            *family = 4;
        } else {
            memcpy(key, b, 8);
            *family = 6;
        }
    }
}

static size_t gw_http_addr_slot(const struct gw_http_addrs *t, uint64_t key, uint8_t family)
{
    uint64_t h = (key ^ t->seed) + family; /* splitmix64 finaliser, keyed by the seed */

    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (size_t)h & (t->n_buckets - 1);
}

static void gw_http_addrs_grow(struct gw_http_addrs *t)
{
    size_t old = t->n_buckets;
    struct gw_http_addr **b = calloc(old * 2, sizeof(*b));

    if (!b)
        return; /* longer chains, still correct */
    t->n_buckets = old * 2;
    for (size_t i = 0; i < old; i++) {
        struct gw_http_addr *a = t->buckets[i], *next;
        for (; a; a = next) {
            size_t s = gw_http_addr_slot(t, a->key, a->family);
            next = a->next;
            a->next = b[s];
            b[s] = a;
        }
    }
    free(t->buckets);
    t->buckets = b;
}

static struct gw_http_addr *gw_http_addr_get(struct gw_http_addrs *t, const struct sockaddr *sa)
{
    uint64_t key;
    uint8_t family;
    struct gw_http_addr *a;
    size_t s;

    gw_http_admit_key(sa, &key, &family);
    s = gw_http_addr_slot(t, key, family);
    for (a = t->buckets[s]; a; a = a->next)
        if (a->key == key && a->family == family)
            return a;
    if (!(a = calloc(1, sizeof(*a))))
        return NULL;
    a->key = key;
    a->family = family;
    a->next = t->buckets[s];
    t->buckets[s] = a;
    if (++t->n > t->n_buckets)
        gw_http_addrs_grow(t);
    return a;
}

static void gw_http_addr_put(struct gw_http_addrs *t, struct gw_http_addr *a)
{
    struct gw_http_addr **p = &t->buckets[gw_http_addr_slot(t, a->key, a->family)];

    if (a->n > 0)
        return;
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    t->n--;
    free(a);
}

int gw_http_admit_init(struct gw_http_server *srv)
{
    struct gw_http_addrs *t = &srv->addrs;

    if (uv_random(NULL, NULL, &t->seed, sizeof(t->seed), 0, NULL) != 0)
        t->seed = uv_hrtime() ^ (uint64_t)(uintptr_t)srv;
    t->n_buckets = GW_HTTP_ADDRS_MIN;
    t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
    gw_logrl_init(&srv->admit_rl, 10000); /* one debug line per kind per 10 s */
    return t->buckets ? 0 : GW_ENOMEM;
}

void gw_http_admit_free(struct gw_http_server *srv)
{
    free(srv->addrs.buckets);
    srv->addrs.buckets = NULL;
}

/* ---- admission ---- */

static void gw_http_admit_gauges(struct gw_http_server *srv)
{
    if (srv->m_open)
        gw_metric_set(srv->m_open, srv->n_active);
    if (srv->m_addrs)
        gw_metric_set(srv->m_addrs, (double)srv->addrs.n);
}

static void gw_http_admit_log(struct gw_http_server *srv, const char *event, const char *peer,
                              const char *what, enum gw_http_limit_kind lim)
{
    unsigned suppressed = 0;
    char key[96];

    snprintf(key, sizeof(key), "%s %s %s", event, what, gw_http_limit_name[lim]);
    if (gw_logrl_allow(&srv->admit_rl, key, uv_now(srv->loop), &suppressed))
        gw_debug(event, "%s: %s, %s reached (%u alike before)", peer, what, gw_http_limit_name[lim],
                 suppressed);
}

/* Closes the oldest connection of lists (one per class, taken in class order); false if all
 * are empty. */
static bool gw_http_admit_evict(struct gw_http_server *srv, struct gw_http_clist *lists,
                                enum gw_http_limit_kind lim)
{
    for (int k = 0; k < GW_HTTP_EV_N; k++) {
        struct gw_http_conn *v = lists[k].head;
        if (!v)
            continue;
        if (srv->m_evicted[lim][k])
            gw_metric_inc(srv->m_evicted[lim][k]);
        gw_http_admit_log(srv, "http.evict", v->peer, gw_http_evclass_name[k], lim);
        gw_http_conn_close(v); /* releases its slot now */
        return true;
    }
    return false;
}

int gw_http_admit(struct gw_http_server *srv, struct gw_http_conn *c, const struct sockaddr *sa)
{
    struct gw_http_addr *a = gw_http_addr_get(&srv->addrs, sa);
    enum gw_http_limit_kind lim = GW_HTTP_LIM_ADDRESS;
    bool full;

    if (!a)
        return GW_ENOMEM;
    a->n++; /* held for c meanwhile: evicting the address's last other one must not free it */
    /* The address's own connections first: an address over its own limit never evicts
     * another address's connection. */
    while ((full = a->n > srv->limits.max_connections_per_address) &&
           gw_http_admit_evict(srv, a->ev, lim))
        ;
    if (!full) {
        lim = GW_HTTP_LIM_SERVER;
        while ((full = srv->n_active >= srv->limits.max_connections) &&
               gw_http_admit_evict(srv, srv->ev, lim))
            ;
    }
    if (full) {
        if (srv->m_refused[lim])
            gw_metric_inc(srv->m_refused[lim]);
        gw_http_admit_log(srv, "http.refuse", c->peer, "nothing evictable", lim);
        a->n--;
        gw_http_addr_put(&srv->addrs, a); /* freed if it has no connection left */
        gw_http_admit_gauges(srv);
        return GW_ELIMIT;
    }
    c->addr = a;
    c->ev = GW_HTTP_EV_NONE;
    srv->n_active++;
    gw_http_admit_gauges(srv);
    return 0;
}

static enum gw_http_evclass gw_http_admit_class(const struct gw_http_conn *c)
{
    switch (c->state) {
    case GW_HTTP_C_IDLE:
    case GW_HTTP_C_HEAD:
        return c->known ? GW_HTTP_EV_KEPT : c->served ? GW_HTTP_EV_ANON : GW_HTTP_EV_NEW;
    case GW_HTTP_C_WRITING:
        /* an anonymous client that does not read its answers must not hold a slot */
        return c->known ? GW_HTTP_EV_NONE : GW_HTTP_EV_ANON;
    case GW_HTTP_C_LINGER:
        return GW_HTTP_EV_LINGER;
    default:
        return GW_HTTP_EV_NONE;
    }
}

void gw_http_admit_track(struct gw_http_conn *c)
{
    enum gw_http_evclass k;

    if (!c->addr || c->state == GW_HTTP_C_CLOSING)
        return;
    if (c->state == GW_HTTP_C_BODY || c->state == GW_HTTP_C_STREAM || c->state == GW_HTTP_C_BUSY)
        c->served = true;
    k = gw_http_admit_class(c);
    if (k == c->ev)
        return; /* keeps its place: IDLE -> HEAD is the same wait */
    gw_http_admit_unlist(c);
    if (k == GW_HTTP_EV_NONE)
        return;
    c->ev = k;
    gw_http_clist_push(&c->srv->ev[k], c, GW_LINK_ALL);
    gw_http_clist_push(&c->addr->ev[k], c, GW_LINK_ADDR);
}

void gw_http_admit_release(struct gw_http_conn *c)
{
    struct gw_http_server *srv = c->srv;

    if (c->rejecting) {
        c->rejecting = false;
        srv->n_rejecting--;
    }
    if (!c->addr)
        return;
    gw_http_admit_unlist(c);
    c->addr->n--;
    srv->n_active--;
    gw_http_addr_put(&srv->addrs, c->addr);
    c->addr = NULL;
    gw_http_admit_gauges(srv);
}

/* ---- metrics ---- */

void gw_http_server_set_metrics(struct gw_http_server *srv, struct gw_metrics *metrics)
{
    struct gw_metric_family *ev, *ref, *open, *addrs;

    if (!srv || !metrics)
        return;
    ev = gw_metrics_counter(metrics, "gateway_http_evictions_total",
                            "connections without a complete request head closed to admit a new "
                            "one, by the limit reached and the class of the one closed",
                            "limit", "victim", NULL);
    ref = gw_metrics_counter(metrics, "gateway_http_refused_total",
                             "new connections refused: a limit reached and nothing evictable, "
                             "or no memory for their state (limit \"memory\")",
                             "limit", NULL);
    open = gw_metrics_gauge(metrics, "gateway_http_connections", "admitted connections open", NULL);
    addrs = gw_metrics_gauge(metrics, "gateway_http_client_addresses",
                             "client addresses (IPv4, IPv6 /64) with connections open", NULL);
    for (int l = 0; l < GW_HTTP_LIM_N; l++) {
        for (int k = 0; k < GW_HTTP_EV_N; k++)
            srv->m_evicted[l][k] =
                ev ? gw_metric_series(ev, gw_http_limit_name[l], gw_http_evclass_name[k]) : NULL;
        srv->m_refused[l] = ref ? gw_metric_series(ref, gw_http_limit_name[l]) : NULL;
    }
    srv->m_refused_memory = ref ? gw_metric_series(ref, "memory") : NULL;
    srv->m_open = open ? gw_metric_series(open) : NULL;
    srv->m_addrs = addrs ? gw_metric_series(addrs) : NULL;
    gw_http_admit_gauges(srv);
}
