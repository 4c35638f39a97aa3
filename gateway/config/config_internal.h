#ifndef GW_CONFIG_INTERNAL_H
#define GW_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/common.h"
#include "config/config.h"

/*
 * Internals of the configuration loader, shared by config.c (INI reading, sections, environment,
 * cross-checks), config_keys.c (the key tables and how each value is stored) and config_values.c
 * (value syntax checks). Value checkers return NULL when the value is fine, else a short message.
 */

enum gw_cfg_sect_kind {
    GW_CFG_BAD = 0, /* unknown or invalid section: its keys are skipped, an error is already out */
    GW_CFG_GATEWAY,
    GW_CFG_SERVER,
    GW_CFG_DATABASE,
    GW_CFG_CLIENT,
    GW_CFG_AXIS,
    GW_CFG_DELIVERY,
    GW_CFG_ROUTING,
    GW_CFG_VERIFY,
    GW_CFG_POLICY,
    GW_CFG_PAPER,
    GW_CFG_PUSH,
};

#define GW_CFG_MAX_KEYS 32

/* How much longer than a send's timeout a lease must be: the attempt and its record end before
 * the lease does ([delivery] against each axis, [push] against its own timeout). */
#define GW_CFG_LEASE_MARGIN_MS 1000u

struct gw_cfg_key {
    const char *name;
    int type;      /* enum in config_keys.c */
    size_t offset; /* into gw_config, gw_config_client or gw_config_axis */
    uint64_t min, max;
    bool required;
    bool secret; /* value never echoed in messages */
};

struct gw_cfg_section {
    char *name; /* as written, e.g. "axis.national" */
    enum gw_cfg_sect_kind kind;
    int line;                      /* line of the [header] */
    size_t index;                  /* into clients / axes */
    int key_line[GW_CFG_MAX_KEYS]; /* where each key was set (0 = default) */
};

/* Loader state shared by config.c and config_check.c. */
struct gw_cfg_loader {
    struct gw_config *cfg;
    const char *file;
    FILE *fp;         /* source: file ... */
    const char *text; /* ... or string */
    int lineno;       /* lines handed to inih so far */
    bool key_in_sect; /* a key was seen since the last header (inih continuation rule) */
    struct gw_cfg_section *sects;
    size_t n_sects;
    struct gw_cfg_section *cur;
    const struct gw_config_opts *opts; /* may be NULL */
    int err;                           /* first error: GW_ECONFIG or GW_ENOMEM */
    int err_line;
    char *errbuf;
    size_t errlen;
};

/* Records the first error as "file:line: message" (line 0: "file: message"). */
void gw_cfg_fail(struct gw_cfg_loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a warning "file:line: message" to the configuration. */
void gw_cfg_warn(struct gw_cfg_loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Required keys, required sections and cross-key rules, after the file and the environment. */
void gw_cfg_final_checks(struct gw_cfg_loader *ld);

/* [verify] and [policy] (config_verify.c): action names, the SHA-1 cut-off, defaults. */
void gw_cfg_check_verify(struct gw_cfg_loader *ld);
void gw_cfg_verify_free(struct gw_config_verify *v);
void gw_cfg_check_paper(struct gw_cfg_loader *ld);
void gw_cfg_paper_free(struct gw_config_paper *p);
/* [push] (config_push.c): enabled when present, cross-key checks; free its strings. */
void gw_cfg_check_push(struct gw_cfg_loader *ld);
void gw_cfg_push_free(struct gw_config_push *p);
void gw_cfg_paper_holidays_set(struct gw_config_paper *p, char **list, size_t n);
const char *gw_cfgv_date(const char *v);
/* The TLS files of an outbound peer in section s ([axis.NAME], [push]; config_tls.c):
 * client_cert and client_key together, ca_file and client_cert each holding a PEM certificate,
 * client_key the unencrypted PEM private key of client_cert. Fails ld at the key's line with a
 * message that names the file and never shows its content. */
void gw_cfg_check_tls_peer(struct gw_cfg_loader *ld, const struct gw_cfg_section *s,
                           const struct gw_tls_peer *t);
/* Line of a key of s if it was set, else of its section header, else 0 (s NULL). */
int gw_cfg_line_of(const struct gw_cfg_section *s, const char *key);
/* Frees a NULL-terminated string vector. */
void gw_cfg_strv_free(char **v);

/* Keys of a section kind; *n receives the count. */
const struct gw_cfg_key *gw_cfg_keys(enum gw_cfg_sect_kind kind, size_t *n);
/* The key called name in a section of this kind (its index in *idx), or NULL. */
const struct gw_cfg_key *gw_cfg_find_key(enum gw_cfg_sect_kind kind, const char *name, size_t *idx);

/* Validates value and stores it for key k of section s; NULL on success, else a message (which
 * never contains a secret value). Sets *oom on allocation failure. */
const char *gw_cfg_apply(struct gw_config *cfg, const struct gw_cfg_section *s,
                         const struct gw_cfg_key *k, const char *value, char *msg, size_t msglen,
                         bool *oom);

/* Applies the built-in defaults (no allocation besides listen host / migrations_dir). */
int gw_cfg_defaults(struct gw_config *cfg);
void gw_cfg_axis_defaults(struct gw_config_axis *ax);

/* Value syntax. */
const char *gw_cfgv_bool(const char *v, bool *out);
const char *gw_cfgv_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out);
const char *gw_cfgv_listen(const char *v, char **host, int *port);
const char *gw_cfgv_hex32(const char *v, uint8_t out[32]);
const char *gw_cfgv_secret(const char *v);
const char *gw_cfgv_url(const char *v);
const char *gw_cfgv_text(const char *v);
const char *gw_cfgv_ident(const char *v);
const char *gw_cfgv_organ_id(const char *v);
const char *gw_cfgv_oid(const char *v);
/* A comma-separated list, white space around items trimmed, each item checked by check (NULL:
 * good, else the message), no item twice (else the message twice). *out malloc'd. */
const char *gw_cfgv_list(const char *v, const char *(*check)(const char *item), const char *twice,
                         char ***out, size_t *n);

/* "GATEWAYD_" + upper(section) + "_" + upper(key), non-alphanumerics as '_'. */
void gw_cfg_env_name(const char *section, const char *key, char *buf, size_t len);

#endif
