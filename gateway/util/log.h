#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>

/*
 * JSON-lines logging to stdout (journald-friendly): one object per line with ts, level, event, msg
 * and, where known, package id and DocumentId. Thread-safe; each line is written with one write().
 */

enum gw_log_level { GW_LOG_DEBUG = 0, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR };

void gw_log_set_level(enum gw_log_level lvl);
int gw_log_parse_level(const char *s, enum gw_log_level *out);

/* event: short stable identifier ("http.listen", "delivery.sent"); msg: printf-style free text. */
void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with package context; pkg_id <= 0 or doc_id == NULL omit the field. */
void gw_log_pkg(enum gw_log_level lvl, const char *event, int64_t pkg_id, const char *doc_id,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define gw_debug(ev, ...) gw_log(GW_LOG_DEBUG, ev, __VA_ARGS__)
#define gw_info(ev, ...)  gw_log(GW_LOG_INFO, ev, __VA_ARGS__)
#define gw_warn(ev, ...)  gw_log(GW_LOG_WARN, ev, __VA_ARGS__)
#define gw_error(ev, ...) gw_log(GW_LOG_ERROR, ev, __VA_ARGS__)

#endif
