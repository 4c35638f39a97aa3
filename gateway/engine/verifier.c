/*
 * The signature check engine: a scan timer and kicks claim due packages; each is checked by
 * pipeline/verify and its verdict recorded with the policy's action; leases of checks in flight
 * are renewed.
 */
#include "engine/verifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "store/store_check.h"
#include "util/error.h"
#include "util/log.h"

/* A claim that failed (or could not be sent) is tried again after this, not only at the next
 * scan (scan_interval_ms may be up to an hour). */
#define GW_VERIFIER_CLAIM_RETRY_MS 1000

struct gw_vjob {
    struct gw_verifier *v;
    int64_t package_id;
    bool incoming;
    int attempts;
    int64_t deadline_at;
    char *document_id;
    uint64_t started_ms;
    struct gw_vjob *next;
    struct gw_vjob *wnext; /* claimed, waiting for room in the byte budget */
    bool started;
    uint64_t bytes; /* the package's size, counted in running_bytes once started */
    bool recording;
    const char *action;
    char reason[320];
    struct gw_store_check_job job; /* the claim, kept to run the check again */
    uv_timer_t retry;              /* a local failure: the check runs again after a backoff */
    unsigned failures;
};

struct gw_verifier {
    struct gw_verifier_deps deps;
    char *owner;
    uv_timer_t scan, renew;
    unsigned closing_handles;
    bool claiming, stopped, freeing, kicked;
    bool renewing;          /* a lease renewal is in flight (its callback uses the verifier) */
    size_t inflight;        /* claimed: running and waiting */
    size_t running;         /* started */
    uint64_t running_bytes; /* package bytes of the checks started */
    struct gw_vjob *jobs;
    struct gw_vjob *wait_head, *wait_tail;
    struct gw_metric_family *checks, *deadline, *failures, *seconds, *waiting, *bytes;
};

static void gw_verifier_claim(struct gw_verifier *v);
static void gw_verifier_scan(uv_timer_t *t);

static void gw_verifier_claim_later(struct gw_verifier *v)
{
    if (!v->stopped && !v->freeing && uv_timer_get_due_in(&v->scan) > GW_VERIFIER_CLAIM_RETRY_MS)
        uv_timer_start(&v->scan, gw_verifier_scan, GW_VERIFIER_CLAIM_RETRY_MS,
                       v->deps.cfg->scan_interval_ms);
}

static void gw_verifier_maybe_idle(struct gw_verifier *v)
{
    if (v->stopped && gw_verifier_idle(v) && v->deps.idle)
        v->deps.idle(v->deps.ud);
}

/* After gw_verifier_free: frees the verifier once nothing of it is left in flight. */
static bool gw_verifier_try_free(struct gw_verifier *v)
{
    if (!v->freeing || v->inflight > 0 || v->closing_handles > 0 || v->claiming || v->renewing)
        return false;
    free(v->owner);
    free(v);
    return true;
}

static void gw_vjob_closed(uv_handle_t *h)
{
    struct gw_vjob *j = h->data;
    gw_store_check_job_clear(&j->job);
    free(j->document_id);
    free(j);
}

static void gw_vjob_free(struct gw_vjob *j)
{
    struct gw_verifier *v = j->v;
    struct gw_vjob **pp = &v->jobs;

    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (*pp)
        *pp = j->next;
    if (j->started) {
        v->running--;
        v->running_bytes -= j->bytes;
    } else {
        struct gw_vjob *prev = NULL;
        for (struct gw_vjob *w = v->wait_head; w; prev = w, w = w->wnext)
            if (w == j) {
                if (prev)
                    prev->wnext = j->wnext;
                else
                    v->wait_head = j->wnext;
                if (v->wait_tail == j)
                    v->wait_tail = prev;
                break;
            }
    }
    uv_close((uv_handle_t *)&j->retry, gw_vjob_closed);
    v->inflight--;
    gw_metric_set(gw_metric_series(v->waiting), (double)v->inflight);
    gw_metric_set(gw_metric_series(v->bytes), (double)v->running_bytes);
}

static void gw_vjob_checked(int err, struct gw_verify_result *r, void *ud);

/* The bytes a check holds at most, charged to [verify] max_check_bytes: its package, or the PDF
 * a ZIP-wrapped attachment inflates to (up to max_pdf_bytes; unknown: max_pdf_bytes), whichever
 * is larger. Attachments are checked one after the other, so the largest counts. */
static uint64_t gw_vjob_charge(const struct gw_store_check_job *job, uint64_t max_pdf)
{
    uint64_t bytes = job->size > 0 ? (uint64_t)job->size : 0;
    uint64_t pdf = job->max_unwrapped < 0                   ? max_pdf
                   : (uint64_t)job->max_unwrapped < max_pdf ? (uint64_t)job->max_unwrapped
                                                            : max_pdf;

    return pdf > bytes ? pdf : bytes;
}

/* Starts the claimed checks that fit in [verify] max_check_bytes, in claim order; one always
 * starts when none runs, however large its package. */
static void gw_verifier_pump(struct gw_verifier *v)
{
    struct gw_vjob *j;

    while (!v->stopped && (j = v->wait_head) &&
           (v->running == 0 || v->running_bytes + j->bytes <= v->deps.cfg->max_check_bytes)) {
        int rc;
        v->wait_head = j->wnext;
        if (!v->wait_head)
            v->wait_tail = NULL;
        j->wnext = NULL;
        j->started = true;
        v->running++;
        v->running_bytes += j->bytes;
        gw_metric_set(gw_metric_series(v->bytes), (double)v->running_bytes);
        j->started_ms = uv_now(v->deps.loop);
        gw_log_pkg(GW_LOG_DEBUG, "verify.started", j->package_id, j->document_id,
                   "check started: %zu running, %llu package bytes", v->running,
                   (unsigned long long)v->running_bytes);
        rc = gw_verify_package(&v->deps.verify, &j->job, gw_vjob_checked, j);
        if (rc != 0)
            gw_vjob_checked(rc, NULL, j);
    }
}

static void gw_vjob_end(struct gw_vjob *j)
{
    struct gw_verifier *v = j->v;

    gw_vjob_free(j);
    if (v->freeing) {
        gw_verifier_try_free(v);
        return;
    }
    if (!v->stopped) {
        gw_verifier_pump(v);
        gw_verifier_claim(v);
    }
    gw_verifier_maybe_idle(v);
}

static void gw_vjob_rerun(uv_timer_t *t)
{
    struct gw_vjob *j = t->data;
    int rc;

    j->recording = false;
    j->started_ms = uv_now(j->v->deps.loop);
    rc = gw_verify_package(&j->v->deps.verify, &j->job, gw_vjob_checked, j);
    if (rc != 0)
        gw_vjob_checked(rc, NULL, j);
}

/* A local failure (database away, memory): the lease is still ours (renewed), so the check runs
 * again after 1 s, doubling up to 30 s, rather than waiting for the lease to expire. While the
 * verifier stops, the job ends and the lease expires instead. */
static bool gw_vjob_retry(struct gw_vjob *j)
{
    uint64_t ms = 1000;

    if (j->v->stopped || j->v->freeing)
        return false;
    for (unsigned i = 0; i < j->failures && ms < 30000; i++)
        ms *= 2;
    j->failures++;
    j->recording = false;
    uv_timer_start(&j->retry, gw_vjob_rerun, ms < 30000 ? ms : 30000, 0);
    return true;
}

static void gw_vjob_recorded(int err, bool recorded, void *ud)
{
    struct gw_vjob *j = ud;
    struct gw_verifier *v = j->v;

    if (err != 0) {
        gw_metric_inc(gw_metric_series(v->failures, "record"));
        gw_log_pkg(GW_LOG_WARN, "verify.record_failed", j->package_id, j->document_id,
                   "the verdict could not be recorded (%s); checked again shortly",
                   gw_strerror(err));
        if (gw_vjob_retry(j))
            return;
    } else if (!recorded) {
        gw_log_pkg(GW_LOG_WARN, "verify.lease_lost", j->package_id, j->document_id,
                   "the check's lease was lost; its result is not recorded");
    } else if (!v->freeing && v->deps.released && j->action &&
               strncmp(j->action, "deliver", 7) == 0) {
        v->deps.released(v->deps.ud);
    } else if (!v->freeing && v->deps.rejected && j->incoming && j->action &&
               strcmp(j->action, "reject") == 0) {
        v->deps.rejected(v->deps.ud, &j->job, j->reason);
    }
    gw_vjob_end(j);
}

/* The policy's class for a summary (config/sections.h). */
static enum gw_policy_class gw_verifier_class(const struct gw_pdf_summary *s)
{
    switch (s->ind) {
    case GW_SIG_TOTAL_PASSED:
        return GW_POLICY_TOTAL_PASSED;
    case GW_SIG_TOTAL_FAILED:
        return GW_POLICY_TOTAL_FAILED;
    case GW_SIG_NO_SIGNATURE:
        return GW_POLICY_NO_SIGNATURE;
    case GW_SIG_INDETERMINATE:
        break;
    }
    return s->sub == GW_SUB_TRY_LATER ? GW_POLICY_TRY_LATER : GW_POLICY_INDETERMINATE;
}

static void gw_vjob_checked(int err, struct gw_verify_result *r, void *ud)
{
    struct gw_vjob *j = ud;
    struct gw_verifier *v = j->v;
    const struct gw_config_verify *cfg = v->deps.cfg;
    struct gw_store_check_done_args a;
    enum gw_policy_class cls;
    enum gw_policy_action act;
    uint64_t now_ms = uv_now(v->deps.loop);
    int rc;

    if (err != 0 || v->freeing) {
        if (err != 0) {
            gw_metric_inc(gw_metric_series(v->failures, "check"));
            gw_log_pkg(GW_LOG_WARN, "verify.failed", j->package_id, j->document_id,
                       "the signature check could not run (%s); checked again shortly",
                       gw_strerror(err));
            if (gw_vjob_retry(j))
                return;
        }
        return gw_vjob_end(j);
    }
    cls = gw_verifier_class(&r->sum);
    act = cfg->action[j->incoming ? 1 : 0][cls];
    memset(&a, 0, sizeof(a));
    a.package_id = j->package_id;
    a.owner = v->owner;
    a.summary = gw_sig_indication_name(r->sum.ind);
    a.sub = gw_sig_sub_name(r->sum.sub);
    a.reason_vi = r->sum.reason_vi;
    a.reason_en = r->sum.reason_en;
    a.decided_by = "policy";
    a.retry_ms = -1;
    a.deadline_s = (int64_t)cfg->try_later_deadline_s;
    a.report_json = r->report_json;
    if (cls == GW_POLICY_TRY_LATER) {
        if (j->deadline_at > 0 && (int64_t)time(NULL) >= j->deadline_at) {
            act = cfg->fallback;
            a.decided_by = "fallback";
            gw_metric_inc(gw_metric_series(v->deadline, j->incoming ? "in" : "out"));
            gw_log_pkg(GW_LOG_WARN, "verify.deadline_passed", j->package_id, j->document_id,
                       "revocation data still unobtainable after %llu s: %s by the fallback",
                       (unsigned long long)cfg->try_later_deadline_s, gw_policy_action_name(act));
        } else {
            uint64_t ms = cfg->recheck_min_ms;
            for (int i = 1; i < j->attempts && ms < cfg->recheck_max_ms; i++)
                ms *= 2;
            a.retry_ms = (int64_t)(ms < cfg->recheck_max_ms ? ms : cfg->recheck_max_ms);
        }
    }
    a.action = gw_policy_action_name(act);
    j->action = a.action;
    snprintf(j->reason, sizeof(j->reason), "%s", r->sum.reason_vi);
    gw_metric_inc(gw_metric_series(v->checks, j->incoming ? "in" : "out", a.summary, a.action));
    gw_metric_observe(v->seconds, gw_metric_series(v->seconds),
                      (double)(now_ms - j->started_ms) / 1000.0);
    gw_log_pkg(act == GW_POLICY_DELIVER ? GW_LOG_INFO : GW_LOG_WARN, "verify.verdict",
               j->package_id, j->document_id, "%s%s%s: %s (%u signature(s) in %u file(s))%s",
               a.summary, a.sub[0] ? "/" : "", a.sub, a.action, r->n_signatures, r->n_documents,
               a.retry_ms >= 0 ? ", checked again later" : "");
    j->recording = true;
    rc = gw_store_check_done(v->deps.db, &a, gw_vjob_recorded, j);
    if (rc != 0)
        gw_vjob_recorded(rc, false, j);
}

static void gw_verifier_drop_waiting(struct gw_verifier *v);

static void gw_verifier_claimed(int err, struct gw_store_check_job *jobs, size_t n, void *ud)
{
    struct gw_verifier *v = ud;

    v->claiming = false;
    if (v->freeing) {
        gw_verifier_try_free(v);
        return; /* the claimed leases expire */
    }
    if (err != 0) {
        gw_metric_inc(gw_metric_series(v->failures, "claim"));
        if (v->kicked && !v->stopped) {
            /* new checks arrived meanwhile: claimed now, not at the next scan (one claim per
             * kick, so a database failing at once cannot make this spin) */
            v->kicked = false;
            gw_verifier_claim(v);
        } else {
            gw_verifier_claim_later(v);
        }
        gw_verifier_maybe_idle(v); /* stopped while it was in flight: the drain need not wait */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct gw_vjob *j = calloc(1, sizeof(*j));
        if (!j)
            break;
        j->v = v;
        uv_timer_init(v->deps.loop, &j->retry);
        j->retry.data = j;
        j->job = jobs[i];
        memset(&jobs[i], 0, sizeof(jobs[i])); /* taken */
        j->package_id = j->job.package_id;
        j->incoming = j->job.incoming;
        j->attempts = j->job.attempts;
        j->deadline_at = j->job.deadline_at;
        j->document_id = j->job.document_id ? strdup(j->job.document_id) : NULL;
        j->bytes = gw_vjob_charge(&j->job, v->deps.cfg->max_pdf_bytes);
        j->next = v->jobs;
        v->jobs = j;
        if (v->wait_tail)
            v->wait_tail->wnext = j;
        else
            v->wait_head = j;
        v->wait_tail = j;
        v->inflight++;
    }
    gw_metric_set(gw_metric_series(v->waiting), (double)v->inflight);
    if (v->stopped)
        gw_verifier_drop_waiting(v); /* claimed after the stop: they end, as waiting ones did */
    else
        gw_verifier_pump(v);
    /* a full claim: there may be more due */
    if (n > 0 && !v->stopped && v->inflight < v->deps.cfg->concurrency)
        gw_verifier_claim(v);
    else if (v->kicked && !v->stopped) {
        v->kicked = false;
        gw_verifier_claim(v);
    }
    gw_verifier_maybe_idle(v);
}

static void gw_verifier_claim(struct gw_verifier *v)
{
    unsigned room;
    int rc;

    if (v->stopped || v->freeing)
        return;
    if (v->claiming) {
        v->kicked = true;
        return;
    }
    if (v->inflight >= v->deps.cfg->concurrency || v->wait_head)
        return; /* full, or claimed checks wait for the byte budget: they are claimed first */
    room = v->deps.cfg->concurrency - (unsigned)v->inflight;
    v->claiming = true;
    v->kicked = false;
    rc = gw_store_check_claim(v->deps.db, v->owner, v->deps.cfg->lease_ms, room,
                              gw_verifier_claimed, v);
    if (rc != 0) {
        v->claiming = false;
        gw_verifier_claim_later(v);
    }
}

static void gw_verifier_scan(uv_timer_t *t)
{
    gw_verifier_claim(t->data);
}

/* The claimed check of package_id that has not started (waiting for the byte budget, or for
 * its rerun after a local failure), or NULL. */
static struct gw_vjob *gw_verifier_idle_job(struct gw_verifier *v, int64_t package_id)
{
    for (struct gw_vjob *j = v->jobs; j; j = j->next)
        if (j->package_id == package_id && !j->recording &&
            (!j->started || uv_is_active((uv_handle_t *)&j->retry)))
            return j;
    return NULL;
}

/* A lease another instance took over (it had passed: a long stall) is that instance's check now:
 * a check of it that has not started here is dropped, one running goes on (its result is fenced
 * by gw_check_done). */
static void gw_verifier_renewed(int err, const int64_t *gone, size_t n, void *ud)
{
    struct gw_verifier *v = ud;

    (void)err;
    v->renewing = false;
    if (gw_verifier_try_free(v) || v->freeing)
        return;
    for (size_t i = 0; i < n; i++) {
        struct gw_vjob *j = gw_verifier_idle_job(v, gone[i]);
        gw_log_pkg(GW_LOG_WARN, "verify.lease_lost", gone[i], NULL,
                   "the lease of a check in flight was taken over%s",
                   j ? ": the check, not started, is dropped" : "");
        if (j) {
            uv_timer_stop(&j->retry);
            gw_vjob_end(j);
        }
    }
}

static void gw_verifier_renew(uv_timer_t *t)
{
    struct gw_verifier *v = t->data;
    int64_t ids[64];
    size_t n = 0;

    if (v->renewing)
        return;
    for (struct gw_vjob *j = v->jobs; j && n < 64; j = j->next)
        if (!j->recording)
            ids[n++] = j->package_id;
    if (n == 0)
        return;
    v->renewing = true;
    if (gw_store_check_renew(v->deps.db, v->owner, ids, n, v->deps.cfg->lease_ms,
                             gw_verifier_renewed, v) != 0) {
        v->renewing = false;
        gw_metric_inc(gw_metric_series(v->failures, "renew"));
    }
}

int gw_verifier_start(const struct gw_verifier_deps *deps, struct gw_verifier **out)
{
    static const double bounds[] = {0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};
    struct gw_verifier *v;

    *out = NULL;
    if (!deps || !deps->cfg || !deps->owner)
        return GW_EINVAL;
    if (!(v = calloc(1, sizeof(*v))) || !(v->owner = strdup(deps->owner))) {
        free(v);
        return GW_ENOMEM;
    }
    v->deps = *deps;
    v->checks = gw_metrics_counter(deps->metrics, "gateway_verify_total",
                                   "Signature checks recorded, by direction, summary and action",
                                   "direction", "summary", "action", NULL);
    v->deadline = gw_metrics_counter(
        deps->metrics, "gateway_verify_deadline_passed_total",
        "TRY_LATER packages whose deadline passed: the fallback action was applied", "direction",
        NULL);
    v->failures =
        gw_metrics_counter(deps->metrics, "gateway_verify_failures_total",
                           "Local failures of the signature checker, by step", "step", NULL);
    v->seconds = gw_metrics_histogram(deps->metrics, "gateway_verify_seconds",
                                      "Time to check one package's signatures", bounds,
                                      sizeof(bounds) / sizeof(bounds[0]), NULL);
    v->waiting = gw_metrics_gauge(deps->metrics, "gateway_verify_inflight",
                                  "Packages claimed for a check: running or waiting for room in "
                                  "[verify] max_check_bytes",
                                  NULL);
    v->bytes = gw_metrics_gauge(deps->metrics, "gateway_verify_bytes",
                                "Package bytes of the checks running", NULL);
    uv_timer_init(deps->loop, &v->scan);
    uv_timer_init(deps->loop, &v->renew);
    v->scan.data = v;
    v->renew.data = v;
    uv_timer_start(&v->scan, gw_verifier_scan, 0, deps->cfg->scan_interval_ms);
    uv_timer_start(&v->renew, gw_verifier_renew, deps->cfg->lease_ms / 3, deps->cfg->lease_ms / 3);
    *out = v;
    return 0;
}

void gw_verifier_kick(struct gw_verifier *v)
{
    if (v)
        gw_verifier_claim(v);
}

size_t gw_verifier_inflight(const struct gw_verifier *v)
{
    return v ? v->inflight : 0;
}

/* Jobs waiting to run again after a local failure, or for room in the byte budget, end now
 * (their leases expire). */
static void gw_verifier_drop_waiting(struct gw_verifier *v)
{
    struct gw_vjob *j = v->jobs, *next;

    for (; j; j = next) {
        next = j->next;
        if (!j->started) {
            gw_vjob_end(j);
        } else if (uv_is_active((uv_handle_t *)&j->retry)) {
            uv_timer_stop(&j->retry);
            gw_vjob_end(j);
        }
    }
}

void gw_verifier_stop(struct gw_verifier *v)
{
    if (!v || v->stopped)
        return;
    v->stopped = true;
    uv_timer_stop(&v->scan);
    gw_verifier_drop_waiting(v);
    gw_verifier_maybe_idle(v);
}

bool gw_verifier_idle(const struct gw_verifier *v)
{
    return !v || (v->stopped && v->inflight == 0 && !v->claiming);
}

static void gw_verifier_closed(uv_handle_t *h)
{
    struct gw_verifier *v = h->data;

    v->closing_handles--;
    gw_verifier_try_free(v);
}

void gw_verifier_free(struct gw_verifier *v)
{
    if (!v)
        return;
    v->stopped = true;
    v->freeing = true;
    v->closing_handles = 2;
    gw_verifier_drop_waiting(v);
    uv_close((uv_handle_t *)&v->scan, gw_verifier_closed);
    uv_close((uv_handle_t *)&v->renew, gw_verifier_closed);
}
