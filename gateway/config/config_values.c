/*
 * Syntax checks for configuration values: booleans, strict decimal integers with ranges,
 * listen addresses, hex digests, secrets, URLs, identifiers and organisation ids. Each returns
 * NULL when the value is acceptable, else a short static message for the loader to prefix.
 */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *gw_cfgv_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1", "on"};
    static const char *const no[] = {"false", "no", "0", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return NULL;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return NULL;
        }
    }
    return "expected a boolean (true/false, yes/no, on/off, 1/0)";
}

const char *gw_cfgv_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;

    if (*v == '\0')
        return "expected a non-negative decimal integer";
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return "expected a non-negative decimal integer";
        if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return "out of range";
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (n < min || n > max)
        return "out of range";
    *out = n;
    return NULL;
}

static bool host_name_ok(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
            return false;
    }
    return true;
}

const char *gw_cfgv_listen(const char *v, char **host, int *port)
{
    const char *colon, *hs = v;
    size_t hl;
    uint64_t p;
    char buf[256];
    unsigned char addr[16];

    if (*v == '[') {
        const char *end = strchr(v, ']');
        if (!end || end[1] != ':')
            return "expected host:port or [ipv6]:port";
        hs = v + 1;
        hl = (size_t)(end - hs);
        colon = end + 1;
        if (hl == 0 || hl >= sizeof(buf))
            return "invalid IPv6 address";
        memcpy(buf, hs, hl);
        buf[hl] = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return "invalid IPv6 address";
    } else {
        colon = strrchr(v, ':');
        if (!colon)
            return "expected host:port or [ipv6]:port";
        hl = (size_t)(colon - v);
        if (memchr(v, ':', hl))
            return "IPv6 addresses must be written in brackets: [addr]:port";
        if (!host_name_ok(v, hl))
            return "invalid host";
    }
    if (gw_cfgv_uint(colon + 1, 0, 65535, &p) != NULL)
        return "port must be 0..65535";
    *host = strndup(hs, hl);
    if (!*host)
        return "out of memory";
    *port = (int)p;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

const char *gw_cfgv_hex32(const char *v, uint8_t out[32])
{
    if (strlen(v) != 64)
        return "expected 64 hex characters (a SHA-256)";
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return "expected 64 hex characters (a SHA-256)";
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return NULL;
}

/* An axis secret is used as text exactly as issued (domain.md 5: the HMAC key is its characters),
 * so any printable value is accepted; blanks at either end are refused because an INI line would
 * lose them and the environment would keep them. */
const char *gw_cfgv_secret(const char *v)
{
    const char *bad = gw_cfgv_text(v);
    size_t len = strlen(v);

    if (bad)
        return bad;
    if (v[0] == ' ' || v[len - 1] == ' ')
        return "must not begin or end with a blank";
    return NULL;
}

const char *gw_cfgv_text(const char *v)
{
    size_t len = strlen(v);

    if (len == 0)
        return "must not be empty";
    if (len > 4096)
        return "too long";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            return "contains control characters";
    }
    return NULL;
}

const char *gw_cfgv_url(const char *v)
{
    const char *host;
    const char *bad = gw_cfgv_text(v);

    if (bad)
        return bad;
    if (strncasecmp(v, "http://", 7) == 0)
        host = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        host = v + 8;
    else
        return "expected an http:// or https:// URL";
    if (*host == '\0' || *host == '/' || *host == ':')
        return "URL has no host";
    if (strpbrk(v, " \"<>\\^`{|}"))
        return "URL contains invalid characters";
    return NULL;
}

const char *gw_cfgv_ident(const char *v)
{
    size_t len = strlen(v);

    if (len == 0 || len > 64)
        return "expected 1..64 characters of [A-Za-z0-9_-]";
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-')
            return "expected 1..64 characters of [A-Za-z0-9_-]";
    }
    return NULL;
}

/* Lenient organisation id (QCVN 102 and QĐ 20/2020 forms plus the non-conforming ones seen in
 * traffic): 1..64 characters of [A-Za-z0-9._-]. */
const char *gw_cfgv_organ_id(const char *v)
{
    size_t len = strlen(v);

    if (len == 0 || len > 64)
        return "expected an organisation id of 1..64 characters [A-Za-z0-9._-]";
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)v[i]) && v[i] != '.' && v[i] != '_' && v[i] != '-')
            return "expected an organisation id of 1..64 characters [A-Za-z0-9._-]";
    }
    return NULL;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A dotted certificate policy OID: at least two arcs of digits. */
const char *gw_cfgv_oid(const char *v)
{
    size_t arcs = 0, len = strlen(v);

    if (len == 0 || len > 128)
        return "expected a dotted OID (1.2.840...), at most 128 characters";
    for (const char *p = v; *p;) {
        if (!isdigit((unsigned char)*p))
            return "expected a dotted OID (1.2.840...), at most 128 characters";
        while (isdigit((unsigned char)*p))
            p++;
        arcs++;
        if (*p == '.' && p[1] != '\0')
            p++;
        else if (*p)
            return "expected a dotted OID (1.2.840...), at most 128 characters";
    }
    return arcs >= 2 ? NULL : "expected a dotted OID (1.2.840...), at most 128 characters";
}

const char *gw_cfgv_list(const char *v, const char *(*check)(const char *item), const char *twice,
                         char ***out, size_t *n)
{
    char **list = NULL;
    size_t cnt = 0;
    const char *p = v, *msg = NULL;

    while (msg == NULL) {
        const char *end = strchr(p, ','), *b = p, *e;
        char *item, **grown;

        e = end ? end : p + strlen(p);
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        item = strndup(b, (size_t)(e - b));
        grown = item ? realloc(list, (cnt + 1) * sizeof(*list)) : NULL;
        if (!grown) {
            free(item);
            msg = "out of memory";
            break;
        }
        list = grown;
        list[cnt++] = item;
        if (*item == '\0')
            msg = "empty item in comma-separated list";
        else
            msg = check(item);
        for (size_t i = 0; msg == NULL && i + 1 < cnt; i++) {
            if (strcmp(list[i], item) == 0)
                msg = twice;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (msg) {
        free_list(list, cnt);
        return msg;
    }
    *out = list;
    *n = cnt;
    return NULL;
}

void gw_cfg_env_name(const char *section, const char *key, char *buf, size_t len)
{
    size_t pos = 0;
    const char *parts[2] = {section, key};

    if (len == 0)
        return;
    for (const char *p = "GATEWAYD_"; *p && pos + 1 < len; p++)
        buf[pos++] = *p;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && pos + 1 < len)
            buf[pos++] = '_';
        for (const char *p = parts[i]; *p && pos + 1 < len; p++)
            buf[pos++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    }
    buf[pos] = '\0';
}
