/*
 * Per-axis copies of a package (domain.md §2 "Relaying across two axes"): a plan of sorted edits
 * over the bytes as received (the To elements of other axes' recipients removed with the white
 * space before them, one TraceHeader inserted) and its streaming application, chunk by chunk,
 * so a copy is produced from the stored chunks without holding the package in memory.
 */
#include "edxml/edxml_relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml.h"
#include "util/error.h"
#include "util/utf8.h"

/* ---- building the plan ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->err = GW_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_escaped(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_str(b, "&amp;");
            break;
        case '<':
            sb_str(b, "&lt;");
            break;
        case '>':
            sb_str(b, "&gt;");
            break;
        default:
            sb_add(b, s, 1);
        }
    }
}

/* "<p:name>" or "</p:name>" with the siblings' prefix; "<p:name xmlns:p=...>" when declare. */
static void sb_tag_ns(struct sbuf *b, const char *prefix, const char *name, bool close,
                      bool declare)
{
    sb_str(b, close ? "</" : "<");
    if (prefix[0]) {
        sb_str(b, prefix);
        sb_str(b, ":");
    }
    sb_str(b, name);
    if (declare && !close) {
        sb_str(b, prefix[0] ? " xmlns:" : " xmlns");
        sb_str(b, prefix);
        sb_str(b, "=\"" GW_EDXML_NS "\"");
    }
    sb_str(b, ">");
}

static void sb_tag(struct sbuf *b, const char *prefix, const char *name, bool close)
{
    sb_tag_ns(b, prefix, name, close, false);
}

static void sb_leaf(struct sbuf *b, const char *prefix, const char *name, const char *value)
{
    sb_tag(b, prefix, name, false);
    sb_escaped(b, value);
    sb_tag(b, prefix, name, true);
}

/* Text without control characters (tab aside) that is valid UTF-8. */
static bool clean_text(const char *s)
{
    if (!s || !gw_utf8_valid(s, strlen(s)))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

/* The prefix is an NCName's worth of ASCII name characters, or "". */
static bool plain_prefix(const char *s)
{
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (p != s && ((c >= '0' && c <= '9') || c == '-' || c == '.'))))
            return false;
    }
    return true;
}

static int trace_text(const struct gw_edxml_relay *r, const char *organ, const char *ts, char **out,
                      size_t *len)
{
    const char *prefix = r->trace_prefix ? r->trace_prefix : "";
    const char *indent = r->trace_indent ? r->trace_indent : "";
    struct sbuf b = {0};

    if (!clean_text(organ) || !organ[0] || !clean_text(ts) || !plain_prefix(prefix) ||
        !is_blank(indent))
        return GW_EINVAL;
    if (r->trace_mode == GW_EDXML_TRACE_IN_EMPTY_LIST)
        sb_str(&b, ">"); /* the "/>" of <TraceHeaderList/> replaced */
    sb_str(&b, indent);
    if (r->trace_mode == GW_EDXML_TRACE_NEW_LIST)
        sb_tag_ns(&b, prefix, "TraceHeaderList", false, r->trace_declare);
    sb_tag_ns(&b, prefix, "TraceHeader", false,
              r->trace_declare && r->trace_mode != GW_EDXML_TRACE_NEW_LIST);
    sb_leaf(&b, prefix, "OrganId", organ);
    sb_leaf(&b, prefix, "Timestamp", ts);
    sb_tag(&b, prefix, "TraceHeader", true);
    if (r->trace_mode == GW_EDXML_TRACE_NEW_LIST || r->trace_mode == GW_EDXML_TRACE_IN_EMPTY_LIST)
        sb_tag(&b, prefix, "TraceHeaderList", true);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

static bool kept(const char *id, const char *const *keep, size_t n_keep)
{
    if (!id)
        return false;
    for (size_t i = 0; i < n_keep; i++)
        if (strcmp(id, keep[i]) == 0)
            return true;
    return false;
}

/* Every keep id names a recipient present in the package (a copy never silently drops one). */
static bool keep_matches(const struct gw_edxml_relay *r, const char *const *keep, size_t n_keep)
{
    for (size_t k = 0; k < n_keep; k++) {
        bool found = false;
        if (!keep[k] || !keep[k][0])
            return false;
        for (size_t i = 0; i < r->n_to && !found; i++)
            found = r->to[i].organ_id && strcmp(r->to[i].organ_id, keep[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* The removals of the To elements not kept, in order; GW_EINVAL for spans out of order, out of
 * the package, around the trace point, or a copy left without any recipient. */
static int removals(const struct gw_edxml_relay *r, uint64_t in_len, const char *const *keep,
                    size_t n_keep, struct gw_edxml_plan *plan, uint64_t *removed)
{
    uint64_t prev_end = 0;
    size_t n_kept = 0;

    for (size_t i = 0; i < r->n_to; i++) {
        const struct gw_edxml_to_span *s = &r->to[i];

        if (s->start < prev_end || s->end < s->start || s->end > in_len)
            return GW_EINVAL;
        if (r->trace_at > s->start && r->trace_at < s->end)
            return GW_EINVAL; /* the TraceHeader cannot go inside a To */
        prev_end = s->end;
        if (kept(s->organ_id, keep, n_keep)) {
            n_kept++;
        } else if (s->end > s->start) {
            plan->edits[plan->n++] = (struct gw_edxml_edit){s->start, s->end - s->start, NULL, 0};
            *removed += s->end - s->start;
        }
    }
    return r->n_to > 0 && n_kept == 0 ? GW_EINVAL : 0;
}

/* Puts the insertion among the removals, sorted; one at the start of a removal joins it. */
static void place_trace(struct gw_edxml_plan *plan, uint64_t at, uint64_t del, char *text,
                        size_t len)
{
    size_t i = 0;

    while (i < plan->n && plan->edits[i].at < at)
        i++;
    if (i < plan->n && plan->edits[i].at == at) {
        plan->edits[i].insert = text;
        plan->edits[i].insert_len = len;
        return;
    }
    memmove(plan->edits + i + 1, plan->edits + i, (plan->n - i) * sizeof(*plan->edits));
    plan->edits[i] = (struct gw_edxml_edit){at, del, text, len};
    plan->n++;
}

int gw_edxml_plan_copy(const struct gw_edxml_relay *relay, uint64_t in_len, const char *const *keep,
                       size_t n_keep, const char *own_organ_id, const char *ts,
                       struct gw_edxml_plan *plan)
{
    uint64_t removed = 0;
    char *text = NULL;
    size_t text_len = 0;
    uint64_t del = relay && relay->trace_mode == GW_EDXML_TRACE_IN_EMPTY_LIST ? 2 : 0;
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (!relay || !relay->editable || (unsigned)relay->trace_mode > GW_EDXML_TRACE_IN_EMPTY_LIST ||
        relay->trace_at > in_len || in_len - relay->trace_at < del || (n_keep && !keep) ||
        (relay->n_to && !relay->to))
        return GW_EINVAL;
    if (relay->n_to > 0 && !keep_matches(relay, keep, n_keep))
        return GW_EINVAL;
    plan->edits = calloc(relay->n_to + 1, sizeof(*plan->edits));
    if (!plan->edits)
        return GW_ENOMEM;
    rc = removals(relay, in_len, keep, n_keep, plan, &removed);
    if (rc == 0)
        rc = trace_text(relay, own_organ_id, ts, &text, &text_len);
    if (rc != 0) {
        free(plan->edits);
        memset(plan, 0, sizeof(*plan));
        return rc;
    }
    place_trace(plan, relay->trace_at, del, text, text_len);
    plan->in_len = in_len;
    plan->out_len = in_len - removed - del + text_len;
    return 0;
}

void gw_edxml_plan_free(struct gw_edxml_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n; i++)
        free(plan->edits[i].insert);
    free(plan->edits);
    memset(plan, 0, sizeof(*plan));
}

void gw_edxml_trace_time(int64_t t, char *buf, size_t n)
{
    time_t vn = (time_t)(t + 7 * 3600);
    struct tm tm;

    if (n == 0)
        return;
    if (!gmtime_r(&vn, &tm)) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "%04d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- streaming application ---- */

void gw_edxml_apply_init(struct gw_edxml_apply *a, const struct gw_edxml_plan *plan)
{
    memset(a, 0, sizeof(*a));
    a->plan = plan;
}

/* Emits the insertions due at a->pos and starts their removals. */
static int due_edits(struct gw_edxml_apply *a, gw_edxml_emit_fn emit, void *ud)
{
    const struct gw_edxml_plan *p = a->plan;

    while (a->skip == 0 && a->next < p->n && p->edits[a->next].at == a->pos) {
        const struct gw_edxml_edit *e = &p->edits[a->next++];
        if (e->insert_len) {
            int rc = emit(e->insert, e->insert_len, ud);
            if (rc != 0)
                return rc;
        }
        a->skip = e->del;
    }
    return 0;
}

int gw_edxml_apply_feed(struct gw_edxml_apply *a, const void *buf, size_t len,
                        gw_edxml_emit_fn emit, void *ud)
{
    const struct gw_edxml_plan *p = a->plan;
    const char *s = buf;

    if (len > p->in_len - a->pos)
        return GW_EINVAL; /* more bytes than the plan was made for */
    while (len > 0) {
        uint64_t run;
        int rc = due_edits(a, emit, ud);

        if (rc != 0)
            return rc;
        if (a->skip > 0) {
            run = a->skip < len ? a->skip : len;
            a->skip -= run;
        } else {
            run = a->next < p->n ? p->edits[a->next].at - a->pos : len;
            if (run > len)
                run = len;
            rc = emit(s, (size_t)run, ud);
            if (rc != 0)
                return rc;
        }
        s += run;
        len -= (size_t)run;
        a->pos += run;
    }
    return 0;
}

int gw_edxml_apply_end(struct gw_edxml_apply *a, gw_edxml_emit_fn emit, void *ud)
{
    int rc;

    if (a->pos != a->plan->in_len)
        return GW_EINVAL; /* fewer bytes than the plan was made for */
    rc = due_edits(a, emit, ud);
    if (rc != 0)
        return rc;
    return a->skip == 0 && a->next == a->plan->n ? 0 : GW_EINVAL;
}
