/*
 * Reads one catalogue file (catalog.h) line by line into rules: sections [catalogue] and
 * [rule ID], "key = value" lines whose values list alternatives separated by "|", comments
 * starting with ';' or '#'. The first error stops the file with its line and a stable code.
 */
#include "rules/catalog_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "rules/rtext.h"
#include "util/error.h"
#include "util/utf8.h"

struct key_def {
    const char *key;
    unsigned clauses; /* bit c: allowed for clause c */
    unsigned fields;
    enum gw_rule_match match;
    bool separate; /* each line is its own condition (clause 3) */
};

static const struct key_def cond_keys[] = {
    {"organ_id", 1u << 1, GW_RF_TO_ID, GW_RM_WHOLE, false},
    {"organ_name", 1u << 1, GW_RF_TO_NAME, GW_RM_WHOLE, false},
    {"keyword", 1u << 2, GW_RF_SUBJECT | GW_RF_CONTENT | GW_RF_TYPE_NAME, GW_RM_WORDS, false},
    {"with", 1u << 2, GW_RF_SUBJECT | GW_RF_CONTENT | GW_RF_TYPE_NAME, GW_RM_WORDS, false},
    {"type_name", 1u << 3, GW_RF_TYPE_NAME, GW_RM_WHOLE, true},
    {"subject", 1u << 3, GW_RF_SUBJECT, GW_RM_WORDS, true},
    {"sender", 1u << 3, GW_RF_FROM_ID, GW_RM_WHOLE, true},
    {"recipient", 1u << 3, GW_RF_TO_ID, GW_RM_WHOLE, true},
};

int gw_catalog_fail(struct gw_catalog_error *err, const char *file, int line, const char *code,
                    const char *fmt, ...)
{
    va_list ap;
    snprintf(err->file, sizeof(err->file), "%s", file);
    err->line = line;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return GW_ECONFIG;
}

bool gw_catalog_day(const char *s, size_t len, int32_t *day)
{
    char buf[11];
    if (len != 10)
        return false;
    memcpy(buf, s, 10);
    buf[10] = '\0';
    /* 00:00 Vietnam time of a real date, or -1 (1970-01-01 is -25200, never -1) */
    int64_t t = gw_cfg_vn_date(buf);
    if (t == -1)
        return false;
    *day = (int32_t)((t + 7 * 3600) / 86400);
    return true;
}

void gw_catalog_day_iso(int32_t day, char out[11])
{
    int z = day + 719468, era = z / 146097, doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    unsigned yy = (unsigned)(y + (m <= 2)) % 10000u, mm = (unsigned)m % 13u, dd = (unsigned)d % 32u;
    snprintf(out, 11, "%04u-%02u-%02u", yy, mm, dd);
}

int32_t gw_catalog_day_vn(int64_t unix_time)
{
    int64_t t = unix_time + 7 * 3600;
    return (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* The section being read. */
struct section {
    bool rule; /* [rule ...]; false: [catalogue] */
    int line;
    struct gw_rule r;
    bool has_clause, has_from;
    int key_lines[sizeof(cond_keys) / sizeof(cond_keys[0])]; /* first line of each key */
    unsigned fields; /* "fields" of a clause-2 rule, 0: not given */
    int fields_line;
};

static int add_alts(struct gw_rule_cond *c, char *value, const char *file, int line,
                    struct gw_catalog_error *err)
{
    for (char *p = value;;) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        char *alt = trim(p);
        if (c->n_alts >= GW_CATALOG_MAX_ALTS)
            return gw_catalog_fail(err, file, line, "limit", "more than %d alternatives",
                                   GW_CATALOG_MAX_ALTS);
        struct gw_rule_alt a = {strdup(alt), gw_rtext_norm(alt, false), gw_rtext_norm(alt, true)};
        if (!a.text || !a.norm || !a.bare) {
            free(a.text);
            free(a.norm);
            free(a.bare);
            return GW_ENOMEM;
        }
        if (!*a.norm) {
            free(a.text);
            free(a.norm);
            free(a.bare);
            return gw_catalog_fail(err, file, line, "empty_keyword", "%s has an empty alternative",
                                   c->key);
        }
        if (c->match == GW_RM_WORDS &&
            (!gw_rtext_word_at(a.norm) || !gw_rtext_word_before(a.norm, strlen(a.norm)))) {
            int rc = gw_catalog_fail(err, file, line, "bad_value",
                                     "%s \"%s\" must begin and end with a letter or a digit",
                                     c->key, a.text);
            free(a.text);
            free(a.norm);
            free(a.bare);
            return rc;
        }
        struct gw_rule_alt *v = realloc(c->alts, (c->n_alts + 1) * sizeof(*v));
        if (!v) {
            free(a.text);
            free(a.norm);
            free(a.bare);
            return GW_ENOMEM;
        }
        c->alts = v;
        c->alts[c->n_alts++] = a;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

static int cond_line(struct section *sec, size_t k, char *value, const char *file, int line,
                     struct gw_catalog_error *err)
{
    const struct key_def *d = &cond_keys[k];
    struct gw_rule *r = &sec->r;
    struct gw_rule_cond *c = NULL;

    if (!d->separate)
        for (size_t i = 0; i < r->n_conds; i++)
            if (r->conds[i].key == d->key)
                c = &r->conds[i];
    if (!c) {
        if (r->n_conds >= GW_CATALOG_MAX_CONDS)
            return gw_catalog_fail(err, file, line, "limit", "more than %d conditions",
                                   GW_CATALOG_MAX_CONDS);
        struct gw_rule_cond *v = realloc(r->conds, (r->n_conds + 1) * sizeof(*v));
        if (!v)
            return GW_ENOMEM;
        r->conds = v;
        c = &r->conds[r->n_conds++];
        *c = (struct gw_rule_cond){
            .key = d->key, .fields = d->fields, .match = d->match, .line = line};
    }
    if (!sec->key_lines[k])
        sec->key_lines[k] = line;
    return add_alts(c, value, file, line, err);
}

static int parse_fields(struct section *sec, char *value, const char *file, int line,
                        struct gw_catalog_error *err)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"subject", GW_RF_SUBJECT}, {"content", GW_RF_CONTENT}, {"type_name", GW_RF_TYPE_NAME}};
    sec->fields_line = line;
    for (char *tok = strtok(value, ",| \t"); tok; tok = strtok(NULL, ",| \t")) {
        size_t i = 0;
        while (i < 3 && strcmp(tok, names[i].name) != 0)
            i++;
        if (i == 3)
            return gw_catalog_fail(err, file, line, "bad_value",
                                   "fields: \"%s\" is not subject, content or type_name", tok);
        sec->fields |= names[i].bit;
    }
    if (!sec->fields)
        return gw_catalog_fail(err, file, line, "empty_keyword", "fields is empty");
    return 0;
}

static int rule_key(struct section *sec, const char *key, char *value, const char *file, int line,
                    struct gw_catalog_error *err)
{
    struct gw_rule *r = &sec->r;
    if (strcmp(key, "clause") == 0) {
        if (strcmp(value, "1") != 0 && strcmp(value, "2") != 0 && strcmp(value, "3") != 0)
            return gw_catalog_fail(err, file, line, "unknown_clause",
                                   "clause \"%s\": catalogues hold clauses 1, 2 and 3 (clause 4 is "
                                   "the sender's request)",
                                   value);
        r->clause = value[0] - '0';
        sec->has_clause = true;
        return 0;
    }
    if (strcmp(key, "title") == 0) {
        free(r->title);
        return (r->title = strdup(value)) ? 0 : GW_ENOMEM;
    }
    if (strcmp(key, "effective_from") == 0 || strcmp(key, "effective_until") == 0) {
        int32_t day;
        if (!gw_catalog_day(value, strlen(value), &day))
            return gw_catalog_fail(err, file, line, "bad_date",
                                   "%s \"%s\" is not a date YYYY-MM-DD", key, value);
        if (key[10] == 'f') {
            r->from = day;
            sec->has_from = true;
        } else {
            r->until = day;
        }
        return 0;
    }
    if (strcmp(key, "fields") == 0)
        return parse_fields(sec, value, file, line, err);
    for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++)
        if (strcmp(key, cond_keys[k].key) == 0)
            return cond_line(sec, k, value, file, line, err);
    return gw_catalog_fail(err, file, line, "unknown_key", "unknown key \"%s\" in a rule", key);
}

/* Checks a finished [rule] section against its clause; moves it into the catalogue. */
static int rule_end(struct gw_catalog *c, struct section *sec, const char *file,
                    struct gw_catalog_error *err)
{
    struct gw_rule *r = &sec->r;
    if (!sec->has_clause)
        return gw_catalog_fail(err, file, sec->line, "missing_key", "rule %s has no clause", r->id);
    if (!sec->has_from)
        return gw_catalog_fail(err, file, sec->line, "missing_key", "rule %s has no effective_from",
                               r->id);
    if (r->until < r->from)
        return gw_catalog_fail(err, file, sec->line, "bad_date", "rule %s ends before it begins",
                               r->id);
    for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++)
        if (sec->key_lines[k] && !(cond_keys[k].clauses & (1u << r->clause)))
            return gw_catalog_fail(err, file, sec->key_lines[k], "key_not_for_clause",
                                   "%s is not a condition of clause %d", cond_keys[k].key,
                                   r->clause);
    if (sec->fields_line && r->clause != 2)
        return gw_catalog_fail(err, file, sec->fields_line, "key_not_for_clause",
                               "fields is not a setting of clause %d", r->clause);
    bool has_keyword = false;
    for (size_t i = 0; i < r->n_conds; i++) {
        if (sec->fields)
            r->conds[i].fields = sec->fields;
        has_keyword |= strcmp(r->conds[i].key, "keyword") == 0;
    }
    if (r->clause == 2 && !has_keyword)
        return gw_catalog_fail(err, file, sec->line, "missing_key", "rule %s has no keyword",
                               r->id);
    if (r->n_conds == 0)
        return gw_catalog_fail(err, file, sec->line, "missing_key", "rule %s has no condition",
                               r->id);
    if (c->n_rules >= GW_CATALOG_MAX_RULES)
        return gw_catalog_fail(err, file, sec->line, "limit", "more than %d rules",
                               GW_CATALOG_MAX_RULES);
    struct gw_rule *v = realloc(c->rules, (c->n_rules + 1) * sizeof(*v));
    if (!v)
        return GW_ENOMEM;
    c->rules = v;
    r->file = file;
    r->line = sec->line;
    c->rules[c->n_rules++] = *r;
    memset(r, 0, sizeof(*r));
    return 0;
}

static int section_end(struct gw_catalog *c, struct section *sec, const char *file, char **version,
                       struct gw_catalog_error *err)
{
    if (!sec->line)
        return 0;
    int rc = sec->rule ? rule_end(c, sec, file, err) : 0;
    if (!sec->rule && !*version)
        rc = gw_catalog_fail(err, file, sec->line, "missing_key", "[catalogue] has no version");
    gw_catalog_rule_clear(&sec->r);
    memset(sec, 0, sizeof(*sec));
    return rc;
}

static int header(struct gw_catalog *c, struct section *sec, char *line, const char *file, int n,
                  char **version, struct gw_catalog_error *err)
{
    int rc = section_end(c, sec, file, version, err);
    if (rc != 0)
        return rc;
    size_t len = strlen(line);
    if (line[len - 1] != ']')
        return gw_catalog_fail(err, file, n, "syntax", "a section header ends with ']'");
    line[len - 1] = '\0';
    char *name = trim(line + 1);
    if (strcmp(name, "catalogue") == 0) {
        *sec = (struct section){.rule = false, .line = n};
        return 0;
    }
    if (strncmp(name, "rule", 4) != 0 || (name[4] != ' ' && name[4] != '\t'))
        return gw_catalog_fail(err, file, n, "syntax",
                               "unknown section [%s]: [catalogue] or [rule ID]", name);
    char *id = trim(name + 5);
    if (!valid_id(id))
        return gw_catalog_fail(err, file, n, "syntax",
                               "rule id \"%s\": 1 to 64 of letters, digits, '.', '_', '-'", id);
    *sec = (struct section){.rule = true, .line = n};
    sec->r.until = INT32_MAX;
    return (sec->r.id = strdup(id)) ? 0 : GW_ENOMEM;
}

int gw_catalog_parse(struct gw_catalog *c, const char *file, char *text, char **version,
                     struct gw_catalog_error *err)
{
    struct section sec = {0};
    int n = 0, rc = 0;

    *version = NULL;
    for (char *p = text; p && rc == 0; n++) {
        char *eol = strchr(p, '\n'), *line = p;
        if (eol)
            *eol = '\0';
        p = eol ? eol + 1 : NULL;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!gw_utf8_valid(line, len)) {
            rc = gw_catalog_fail(err, file, n + 1, "syntax", "not valid UTF-8");
            break;
        }
        line = trim(line);
        if (!*line || *line == ';' || *line == '#')
            continue;
        if (*line == '[') {
            rc = header(c, &sec, line, file, n + 1, version, err);
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = gw_catalog_fail(err, file, n + 1, "syntax", "expected \"key = value\"");
            break;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        if (!sec.line) {
            rc = gw_catalog_fail(err, file, n + 1, "syntax", "\"%s\" outside a section", key);
        } else if (!*key) {
            rc = gw_catalog_fail(err, file, n + 1, "syntax", "a line without a key");
        } else if (!sec.rule) {
            if (strcmp(key, "version") == 0 && *value && !*version)
                rc = (*version = strdup(value)) ? 0 : GW_ENOMEM;
            else if (strcmp(key, "version") == 0)
                rc = gw_catalog_fail(err, file, n + 1, "bad_value",
                                     *value ? "version given twice" : "version is empty");
            else if (strcmp(key, "name") != 0)
                rc = gw_catalog_fail(err, file, n + 1, "unknown_key",
                                     "unknown key \"%s\" in [catalogue]", key);
        } else if (!*value && strcmp(key, "title") != 0) {
            rc = gw_catalog_fail(err, file, n + 1, "empty_keyword", "%s has no value", key);
        } else {
            rc = rule_key(&sec, key, value, file, n + 1, err);
        }
    }
    if (rc == 0)
        rc = section_end(c, &sec, file, version, err);
    gw_catalog_rule_clear(&sec.r);
    return rc;
}
