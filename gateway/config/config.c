/*
 * Configuration loader: reads the INI file with libinih through a line-counting reader (the
 * installed inih does not pass line numbers to handlers), tracks sections, applies environment
 * overrides GATEWAYD_<SECTION>_<KEY>, then checks required keys and cross-key rules. Every error
 * is "file:line: message"; only the first is reported.
 */
#include "config/config.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "util/error.h"

void gw_cfg_fail(struct gw_cfg_loader *ld, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (ld->err)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ld->err = GW_ECONFIG;
    ld->err_line = line;
    if (!ld->errbuf || !ld->errlen)
        return;
    if (line > 0)
        snprintf(ld->errbuf, ld->errlen, "%s:%d: %s", ld->file, line, msg);
    else
        snprintf(ld->errbuf, ld->errlen, "%s: %s", ld->file, msg);
}

void gw_cfg_warn(struct gw_cfg_loader *ld, int line, const char *fmt, ...)
{
    struct gw_config *cfg = ld->cfg;
    char msg[512], full[640];
    char **grown;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(full, sizeof(full), "%s:%d: %s", ld->file, line, msg);
    else
        snprintf(full, sizeof(full), "%s: %s", ld->file, msg);
    grown = realloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(*grown));
    if (!grown || !(grown[cfg->n_warnings] = strdup(full))) {
        if (grown)
            cfg->warnings = grown;
        gw_cfg_fail(ld, 0, "out of memory");
        ld->err = GW_ENOMEM;
        return;
    }
    cfg->warnings = grown;
    cfg->n_warnings++;
}

static void loom(struct gw_cfg_loader *ld)
{
    gw_cfg_fail(ld, 0, "out of memory");
    ld->err = GW_ENOMEM;
}

static int next_char(struct gw_cfg_loader *ld)
{
    if (ld->fp)
        return fgetc(ld->fp);
    return *ld->text ? (unsigned char)*ld->text++ : EOF;
}

static void section_begin(struct gw_cfg_loader *ld, const char *name, int line);

/* inih reader: one line per call, counted; over-long lines are an error, not silently split. */
static char *reader(char *str, int num, void *stream)
{
    struct gw_cfg_loader *ld = stream;
    int c = EOF, len = 0;
    const char *p;

    while (len < num - 1 && (c = next_char(ld)) != EOF) {
        str[len++] = (char)c;
        if (c == '\n')
            break;
    }
    if (len == 0)
        return NULL;
    str[len] = '\0';
    ld->lineno++;
    if (str[len - 1] != '\n' && c != EOF) {
        c = next_char(ld);
        if (c != EOF && c != '\n') {
            gw_cfg_fail(ld, ld->lineno, "line longer than %d bytes", num - 3);
            while (c != EOF && c != '\n')
                c = next_char(ld);
            str[0] = '\n';
            str[1] = '\0';
            return str;
        }
    }
    /* Section headers are noted here so empty sections are seen and errors name the header
     * line. An indented line after a key is a continuation for inih, never a header. */
    p = str + strspn(str, " \t");
    if (*p == '[' && !(p > str && ld->key_in_sect && INI_ALLOW_MULTILINE)) {
        const char *end = strchr(p, ']');
        if (end) {
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
            section_begin(ld, name, ld->lineno);
        }
    }
    return str;
}

static enum gw_cfg_sect_kind classify(struct gw_cfg_loader *ld, const char *name, int line)
{
    static const struct {
        const char *name;
        enum gw_cfg_sect_kind kind;
    } fixed[] = {{"gateway", GW_CFG_GATEWAY},   {"server", GW_CFG_SERVER},
                 {"database", GW_CFG_DATABASE}, {"delivery", GW_CFG_DELIVERY},
                 {"routing", GW_CFG_ROUTING},   {"verify", GW_CFG_VERIFY},
                 {"policy", GW_CFG_POLICY},     {"paper", GW_CFG_PAPER}};
    const char *sub = NULL, *bad;
    enum gw_cfg_sect_kind kind = GW_CFG_BAD;

    for (size_t i = 0; i < GW_ARRAY_LEN(fixed); i++) {
        if (strcmp(name, fixed[i].name) == 0)
            return fixed[i].kind;
    }
    if (strcmp(name, "push") == 0)
        return GW_CFG_PUSH;
    if (strlen(name) > 40) { /* inih truncates section names at 49 bytes */
        gw_cfg_fail(ld, line, "section name [%.40s...] longer than 40 characters", name);
        return GW_CFG_BAD;
    }
    if (strncmp(name, "client.", 7) == 0 || strcmp(name, "client") == 0) {
        kind = GW_CFG_CLIENT;
        sub = name[6] ? name + 7 : "";
    } else if (strncmp(name, "axis.", 5) == 0 || strcmp(name, "axis") == 0) {
        kind = GW_CFG_AXIS;
        sub = name[4] ? name + 5 : "";
    } else {
        gw_cfg_fail(ld, line, "unknown section [%s]", name);
        return GW_CFG_BAD;
    }
    if ((bad = gw_cfgv_ident(sub)) != NULL) {
        gw_cfg_fail(ld, line, "section [%s]: name after '%s.' %s", name,
                    kind == GW_CFG_CLIENT ? "client" : "axis", bad);
        return GW_CFG_BAD;
    }
    return kind;
}

/* Client and axis names must stay distinct once mapped to environment variable names. */
static bool name_clash(struct gw_cfg_loader *ld, const char *name, enum gw_cfg_sect_kind kind,
                       int line)
{
    char a[160], b[160];

    gw_cfg_env_name(name, "", a, sizeof(a));
    for (size_t i = 0; i < ld->n_sects; i++) {
        const struct gw_cfg_section *s = &ld->sects[i];
        if (s->kind != kind)
            continue;
        gw_cfg_env_name(s->name, "", b, sizeof(b));
        if (strcmp(a, b) == 0) {
            gw_cfg_fail(ld, line, "duplicate %s name: [%s] clashes with [%s] at line %d",
                        kind == GW_CFG_CLIENT ? "client" : "axis", name, s->name, s->line);
            return true;
        }
    }
    return false;
}

static int add_entry(struct gw_cfg_loader *ld, struct gw_cfg_section *s)
{
    struct gw_config *cfg = ld->cfg;
    const char *sub = strchr(s->name, '.') + 1;

    if (s->kind == GW_CFG_CLIENT) {
        struct gw_config_client *v = realloc(cfg->clients, (cfg->n_clients + 1) * sizeof(*v));
        if (!v)
            return -1;
        cfg->clients = v;
        memset(&v[cfg->n_clients], 0, sizeof(*v));
        s->index = cfg->n_clients++;
        return (v[s->index].name = strdup(sub)) ? 0 : -1;
    }
    struct gw_config_axis *v = realloc(cfg->axes, (cfg->n_axes + 1) * sizeof(*v));
    if (!v)
        return -1;
    cfg->axes = v;
    memset(&v[cfg->n_axes], 0, sizeof(*v));
    s->index = cfg->n_axes++;
    gw_cfg_axis_defaults(&v[s->index]);
    v[s->index].name = strdup(sub);
    v[s->index].axis.name = v[s->index].name;
    return v[s->index].name ? 0 : -1;
}

static void section_begin(struct gw_cfg_loader *ld, const char *name, int line)
{
    struct gw_cfg_section *s, *grown;
    enum gw_cfg_sect_kind kind;

    ld->key_in_sect = false;
    for (size_t i = 0; i < ld->n_sects; i++) {
        if (strcmp(ld->sects[i].name, name) == 0) {
            gw_cfg_fail(ld, line, "duplicate section [%s] (first at line %d)", name,
                        ld->sects[i].line);
            ld->cur = &ld->sects[i];
            ld->cur->kind = GW_CFG_BAD;
            return;
        }
    }
    kind = classify(ld, name, line);
    if ((kind == GW_CFG_CLIENT || kind == GW_CFG_AXIS) && name_clash(ld, name, kind, line))
        kind = GW_CFG_BAD;
    grown = realloc(ld->sects, (ld->n_sects + 1) * sizeof(*grown));
    if (!grown) {
        loom(ld);
        ld->cur = NULL;
        return;
    }
    ld->sects = grown;
    s = &ld->sects[ld->n_sects];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->line = line;
    s->name = strdup(name);
    if (!s->name) {
        loom(ld);
        ld->cur = NULL;
        return;
    }
    ld->n_sects++;
    ld->cur = s;
    if ((kind == GW_CFG_CLIENT || kind == GW_CFG_AXIS) && add_entry(ld, s) != 0)
        loom(ld);
}

const struct gw_cfg_key *gw_cfg_find_key(enum gw_cfg_sect_kind kind, const char *name, size_t *idx)
{
    size_t n;
    const struct gw_cfg_key *keys = gw_cfg_keys(kind, &n);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            *idx = i;
            return &keys[i];
        }
    }
    return NULL;
}

/* Validates and stores one value; src names the environment variable, or NULL for the file. */
static void apply(struct gw_cfg_loader *ld, struct gw_cfg_section *s, size_t ki, const char *value,
                  int line, const char *src)
{
    size_t n;
    const struct gw_cfg_key *k = &gw_cfg_keys(s->kind, &n)[ki];
    char buf[160];
    bool oom;
    const char *bad = gw_cfg_apply(ld->cfg, s, k, value, buf, sizeof(buf), &oom);

    if (oom) {
        loom(ld);
    } else if (bad && src) {
        gw_cfg_fail(ld, line, "[%s] %s from environment %s: %s", s->name, k->name, src, bad);
    } else if (bad && k->secret) {
        gw_cfg_fail(ld, line, "[%s] %s: %s", s->name, k->name, bad);
    } else if (bad) {
        gw_cfg_fail(ld, line, "[%s] %s = '%.60s': %s", s->name, k->name, value, bad);
    } else {
        s->key_line[ki] = line;
    }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct gw_cfg_loader *ld = user;
    const struct gw_cfg_key *k;
    size_t ki;
    int line = ld->lineno;

    if (section[0] == '\0') {
        gw_cfg_fail(ld, line, "key '%s' outside of any [section]", name);
        return 1;
    }
    if (!ld->cur || strcmp(ld->cur->name, section) != 0)
        section_begin(ld, section, line); /* header not seen by the reader: be safe */
    ld->key_in_sect = true;
    if (!ld->cur || ld->cur->kind == GW_CFG_BAD)
        return 1; /* already reported */
    k = gw_cfg_find_key(ld->cur->kind, name, &ki);
    if (!k) {
        gw_cfg_fail(ld, line, "unknown key '%s' in [%s]", name, section);
        return 1;
    }
    if (ld->cur->key_line[ki]) {
        gw_cfg_fail(ld, line,
                    "key '%s' set twice in [%s] (first at line %d; an indented line continues "
                    "the previous value)",
                    name, section, ld->cur->key_line[ki]);
        return 1;
    }
    apply(ld, ld->cur, ki, value, line, NULL);
    return 1;
}

static void apply_env(struct gw_cfg_loader *ld)
{
    for (size_t i = 0; i < ld->n_sects && !ld->err; i++) {
        struct gw_cfg_section *s = &ld->sects[i];
        size_t n;
        const struct gw_cfg_key *keys = gw_cfg_keys(s->kind, &n);

        for (size_t ki = 0; ki < n && !ld->err; ki++) {
            char env[192];
            const char *v;

            gw_cfg_env_name(s->name, keys[ki].name, env, sizeof(env));
            v = getenv(env);
            if (v)
                apply(ld, s, ki, v, s->line, env);
        }
    }
}

static int load(struct gw_cfg_loader *ld, struct gw_config **out)
{
    int rc;

    *out = NULL;
    if (ld->errbuf && ld->errlen)
        ld->errbuf[0] = '\0';
    ld->cfg = calloc(1, sizeof(*ld->cfg));
    if (!ld->cfg || gw_cfg_defaults(ld->cfg) != 0) {
        loom(ld);
        goto done;
    }
    rc = ini_parse_stream(reader, ld, handler, ld);
    if (rc > 0 && (!ld->err || rc < ld->err_line)) {
        ld->err = 0;
        gw_cfg_fail(ld, rc, "syntax error (expected [section] or key = value)");
    } else if (rc < 0 && !ld->err) {
        loom(ld);
    }
    if (!ld->err)
        apply_env(ld);
    if (!ld->err)
        gw_cfg_final_checks(ld);
done:
    for (size_t i = 0; i < ld->n_sects; i++)
        free(ld->sects[i].name);
    free(ld->sects);
    if (ld->err) {
        gw_config_free(ld->cfg);
        return ld->err;
    }
    *out = ld->cfg;
    return 0;
}

int gw_config_parse_string_opts(const char *text, const struct gw_config_opts *opts,
                                struct gw_config **out, char *err, size_t errlen)
{
    struct gw_cfg_loader ld = {.file = "<string>",
                               .text = text ? text : "",
                               .opts = opts,
                               .errbuf = err,
                               .errlen = errlen};

    return load(&ld, out);
}

int gw_config_parse_string(const char *text, struct gw_config **out, char *err, size_t errlen)
{
    return gw_config_parse_string_opts(text, NULL, out, err, errlen);
}

int gw_config_load(const char *path, struct gw_config **out, char *err, size_t errlen)
{
    return gw_config_load_opts(path, NULL, out, err, errlen);
}

int gw_config_load_opts(const char *path, const struct gw_config_opts *opts, struct gw_config **out,
                        char *err, size_t errlen)
{
    struct gw_cfg_loader ld = {.file = path, .opts = opts, .errbuf = err, .errlen = errlen};
    int rc;

    *out = NULL;
    ld.fp = fopen(path, "r");
    if (!ld.fp) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return GW_ECONFIG;
    }
    rc = load(&ld, out);
    fclose(ld.fp);
    return rc;
}

uint64_t gw_config_staged_body_age_ms(const struct gw_config *cfg)
{
    uint64_t longest = cfg->server.body_timeout_ms;

    for (size_t i = 0; i < cfg->n_axes; i++)
        if (cfg->axes[i].axis.timeout_ms > longest)
            longest = cfg->axes[i].axis.timeout_ms;
    return 2 * longest > GW_CONFIG_STAGED_BODY_AGE_MIN_MS ? 2 * longest
                                                          : GW_CONFIG_STAGED_BODY_AGE_MIN_MS;
}

const struct gw_config_axis *gw_config_axis_find(const struct gw_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_axes; i++) {
        if (strcmp(cfg->axes[i].name, name) == 0)
            return &cfg->axes[i];
    }
    return NULL;
}

/* Secrets are wiped before their memory goes back to the allocator. */
static void free_secret(const char *s)
{
    if (s) {
        explicit_bzero((void *)s, strlen(s));
        free((void *)s);
    }
}

void gw_config_free(struct gw_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->instance_id);
    for (size_t i = 0; i < cfg->n_organ_ids; i++)
        free(cfg->organ_ids[i]);
    free(cfg->organ_ids);
    free(cfg->listen_host);
    free((void *)cfg->tls.cert_file);
    free((void *)cfg->tls.key_file);
    free((void *)cfg->tls.client_ca_file);
    free_secret(cfg->db.conninfo);
    free(cfg->migrations_dir);
    free(cfg->edxml_schema);
    for (size_t i = 0; i < cfg->n_clients; i++) {
        free(cfg->clients[i].name);
        free(cfg->clients[i].organ_id);
    }
    if (cfg->clients)
        explicit_bzero(cfg->clients, cfg->n_clients * sizeof(*cfg->clients));
    free(cfg->clients);
    for (size_t i = 0; i < cfg->n_axes; i++) {
        struct gw_config_axis *ax = &cfg->axes[i];
        free(ax->name);
        free(ax->adapter);
        free(ax->role);
        free((void *)ax->axis.base_url);
        free((void *)ax->axis.systemid);
        free_secret(ax->axis.secret);
        free((void *)ax->axis.tls.ca_file);
        free((void *)ax->axis.tls.client_cert);
        free((void *)ax->axis.tls.client_key);

        free((void *)ax->axis.username);
        free_secret(ax->axis.password);
        free((void *)ax->axis.application_code);
        free((void *)ax->axis.directory_file);
    }
    free(cfg->axes);
    free(cfg->default_axis);
    gw_cfg_verify_free(&cfg->verify);
    gw_cfg_paper_free(&cfg->paper);
    gw_cfg_push_free(&cfg->push);
    for (size_t i = 0; i < cfg->n_warnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg);
}
