/*
 * JSON-lines logger. Every line is built in a local buffer and emitted with a single write(2) so
 * lines from the loop thread and thread-pool workers never interleave.
 */
#include "util/log.h"
#include "util/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum gw_log_level gw_log_min = GW_LOG_INFO;
static const char *const gw_level_names[] = {"debug", "info", "warn", "error"};

void gw_log_set_level(enum gw_log_level lvl)
{
    gw_log_min = lvl;
}

int gw_log_parse_level(const char *s, enum gw_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, gw_level_names[i]) == 0) {
            *out = (enum gw_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s to buf as JSON string content (without quotes). Invalid UTF-8 (a message cut in the
 * middle of a character, say) becomes U+FFFD, so every line stays valid JSON; stops safely
 * before cap. */
static size_t gw_log_escape(char *buf, size_t pos, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p && pos + 7 < cap) {
        size_t n = gw_utf8_seq_len(p);
        if (n == 0) {
            memcpy(buf + pos, "\\ufffd", 6);
            pos += 6;
            p++;
        } else if (n > 1) {
            memcpy(buf + pos, p, n);
            pos += n;
            p += n;
        } else if (*p == '"' || *p == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)*p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", *p++);
        } else {
            buf[pos++] = (char)*p++;
        }
    }
    return pos;
}

static void gw_log_emit(enum gw_log_level lvl, const char *event, int64_t pkg_id,
                        const char *doc_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void gw_log_emit(enum gw_log_level lvl, const char *event, int64_t pkg_id,
                        const char *doc_id, const char *fmt, va_list ap)
{
    char msg[2048], line[4096];
    struct timespec ts;
    struct tm tm;
    size_t pos;

    if (lvl < gw_log_min)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    pos = (size_t)snprintf(line, sizeof(line),
                           "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                           "\"event\":\"",
                           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec, ts.tv_nsec / 1000000, gw_level_names[lvl]);
    pos = gw_log_escape(line, pos, sizeof(line) - 64, event);
    if (pkg_id > 0)
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"package_id\":%lld",
                                (long long)pkg_id);
    else
        line[pos++] = '"';
    if (doc_id) {
        memcpy(line + pos, ",\"document_id\":\"", 16);
        pos = gw_log_escape(line, pos + 16, sizeof(line) - 64, doc_id);
        line[pos++] = '"';
    }
    memcpy(line + pos, ",\"msg\":\"", 8);
    pos = gw_log_escape(line, pos + 8, sizeof(line) - 4, msg);
    memcpy(line + pos, "\"}\n", 3);
    pos += 3;
    if (write(STDOUT_FILENO, line, pos) < 0) {
        /* Nowhere left to report a failing stdout. */
    }
}

void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_log_emit(lvl, event, 0, NULL, fmt, ap);
    va_end(ap);
}

void gw_log_pkg(enum gw_log_level lvl, const char *event, int64_t pkg_id, const char *doc_id,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_log_emit(lvl, event, pkg_id, doc_id, fmt, ap);
    va_end(ap);
}
