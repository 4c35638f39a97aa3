/*
 * Signer roles (domain.md §6): a certificate's subject tells a person from an organisation, so
 * that the PDF summary can check that the organisation signed after the person (seed Art. 16.5).
 * Vietnamese text arrives in NFC or NFD, with or without diacritics: every comparison is made on
 * a normalised form built with utf8proc.
 */
#include "sig/role.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/utf8.h"

#define TEXT_MAX      1024 /* bytes of one subject value considered */
#define ID_MIN_DIGITS 6

static const char *const default_prefixes[] = {
    "Sở",  "UBND",    "Ủy ban",    "Văn phòng", "Bộ",       "Ban",
    "Cục", "Chi cục", "Trung tâm", "Phòng",     "Tổng cục", "Hội đồng",
};

char *gw_role_normalise(const char *s)
{
    char *clean = gw_utf8_sanitize(s ? s : "", TEXT_MAX);
    if (!clean)
        return NULL;
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)clean, 0, &m,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                          UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
    free(clean);
    if (n < 0)
        return NULL;
    /* đ (U+0111, c4 91) has no decomposition: fold it by hand; collapse white space. */
    char *out = (char *)m;
    size_t w = 0;
    bool space = true; /* drops leading white space */
    for (size_t r = 0; r < (size_t)n;) {
        unsigned char ch = (unsigned char)out[r];
        if (ch == 0xc4 && r + 1 < (size_t)n && (unsigned char)out[r + 1] == 0x91) {
            out[w++] = 'd';
            r += 2;
            space = false;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            if (!space)
                out[w++] = ' ';
            space = true;
            r++;
        } else {
            out[w++] = (char)ch;
            r++;
            space = false;
        }
    }
    if (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
    return out;
}

/* CMND, CCCD or HC as a whole word, then separators, then a value with enough digits. */
static bool personal_id(const char *raw)
{
    char *s = gw_role_normalise(raw);
    if (!s)
        return false;
    static const char *const kinds[] = {"cmnd", "cccd", "hc"};
    bool found = false;
    for (const char *p = s; *p && !found; p++) {
        if (p != s && isalnum((unsigned char)p[-1]))
            continue;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !found; k++) {
            size_t len = strlen(kinds[k]);
            if (strncmp(p, kinds[k], len) != 0 || isalpha((unsigned char)p[len]))
                continue;
            const char *q = p + len;
            while (*q == ':' || *q == '-' || *q == ' ' || *q == '.' || *q == '=' || *q == '#')
                q++;
            unsigned digits = 0;
            while (isalnum((unsigned char)*q))
                digits += isdigit((unsigned char)*q++) ? 1 : 0;
            found = digits >= ID_MIN_DIGITS;
        }
    }
    free(s);
    return found;
}

/* True when the normalised CN begins with the normalised word w as whole words. */
static bool starts_with_word(const char *cn, const char *w)
{
    char *nw = gw_role_normalise(w);
    if (!nw)
        return false;
    size_t len = strlen(nw);
    bool ok = len > 0 && strncmp(cn, nw, len) == 0 && !isalnum((unsigned char)cn[len]) &&
              (unsigned char)cn[len] < 0x80;
    free(nw);
    return ok;
}

static bool equals_normalised(const char *ncn, const char *v)
{
    if (!v)
        return false;
    char *nv = gw_role_normalise(v);
    bool eq = nv && *nv && strcmp(ncn, nv) == 0;
    free(nv);
    return eq;
}

enum gw_sig_role gw_role_of_subject(const struct gw_role_subject *s, const struct gw_role_opts *o,
                                    const char **rule)
{
    const char *dummy;
    if (!rule)
        rule = &dummy;
    for (int i = 0; i < GW_ROLE_SUBJECT_MAX; i++) {
        if (s->ids[i] && personal_id(s->ids[i])) {
            *rule = "personal_id";
            return GW_ROLE_PERSON;
        }
    }
    char *ncn = gw_role_normalise(s->cn);
    enum gw_sig_role role = GW_ROLE_PERSON;
    *rule = "default";
    if (ncn && *ncn) {
        for (int i = 0; i < GW_ROLE_SUBJECT_MAX && role == GW_ROLE_PERSON; i++) {
            if (equals_normalised(ncn, s->o[i]) || equals_normalised(ncn, s->ou[i])) {
                role = GW_ROLE_ORGANISATION;
                *rule = "cn_is_o";
            }
        }
        const char *const *pre = default_prefixes;
        size_t np = sizeof(default_prefixes) / sizeof(default_prefixes[0]);
        if (o && o->n_prefixes > 0 && o->prefixes) {
            pre = o->prefixes;
            np = o->n_prefixes;
        }
        for (size_t i = 0; i < np && role == GW_ROLE_PERSON; i++) {
            if (pre[i] && starts_with_word(ncn, pre[i])) {
                role = GW_ROLE_ORGANISATION;
                *rule = "cn_agency_prefix";
            }
        }
    }
    free(ncn);
    return role;
}

/* Up to GW_ROLE_SUBJECT_MAX UTF-8 values of attribute nid, into vals (to be freed). */
static void collect(X509_NAME *name, int nid, char **vals, int max)
{
    int at = -1, k = 0;
    while (k < max && (at = X509_NAME_get_index_by_NID(name, nid, at)) >= 0) {
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
        unsigned char *u = NULL;
        if (d && ASN1_STRING_to_UTF8(&u, d) >= 0 && u)
            vals[k++] = (char *)u;
    }
}

enum gw_sig_role gw_role_of(X509 *c, const struct gw_role_opts *o, const char **rule)
{
    if (!c) {
        if (rule)
            *rule = "no_certificate";
        return GW_ROLE_UNKNOWN;
    }
    X509_NAME *name = X509_get_subject_name(c);
    char *cn[1] = {NULL}, *org[GW_ROLE_SUBJECT_MAX] = {0}, *ou[GW_ROLE_SUBJECT_MAX] = {0};
    char *ids[GW_ROLE_SUBJECT_MAX] = {0};
    collect(name, NID_commonName, cn, 1);
    collect(name, NID_organizationName, org, GW_ROLE_SUBJECT_MAX);
    collect(name, NID_organizationalUnitName, ou, GW_ROLE_SUBJECT_MAX);
    collect(name, NID_userId, ids, GW_ROLE_SUBJECT_MAX / 2);
    int k = 0;
    while (k < GW_ROLE_SUBJECT_MAX && ids[k])
        k++;
    collect(name, NID_serialNumber, ids + k, GW_ROLE_SUBJECT_MAX - k);

    struct gw_role_subject s = {.cn = cn[0]};
    for (int i = 0; i < GW_ROLE_SUBJECT_MAX; i++) {
        s.o[i] = org[i];
        s.ou[i] = ou[i];
        s.ids[i] = ids[i];
    }
    enum gw_sig_role role = gw_role_of_subject(&s, o, rule);
    OPENSSL_free(cn[0]);
    for (int i = 0; i < GW_ROLE_SUBJECT_MAX; i++) {
        OPENSSL_free(org[i]);
        OPENSSL_free(ou[i]);
        OPENSSL_free(ids[i]);
    }
    return role;
}

bool gw_role_order_violation(const enum gw_sig_role *roles, unsigned n, unsigned *org_idx,
                             unsigned *person_idx)
{
    bool seen_org = false;
    unsigned org = 0;
    for (unsigned i = 0; roles && i < n; i++) {
        if (roles[i] == GW_ROLE_ORGANISATION && !seen_org) {
            seen_org = true;
            org = i;
        } else if (roles[i] == GW_ROLE_PERSON && seen_org) {
            if (org_idx)
                *org_idx = org;
            if (person_idx)
                *person_idx = i;
            return true;
        }
    }
    return false;
}
