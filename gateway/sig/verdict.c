/*
 * Verdicts (domain.md §6): one ETSI EN 319 102-1 indication per signature from the partial
 * results of the locator, CMS, timestamp, path and revocation checks, with the time rule (a valid
 * timestamp's genTime is the validation time, else now), then the PDF and package summaries.
 * Reasons in Vietnamese and English; the precedence is in docs/internals/verdicts.md.
 */
#include "sig/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "sig/verdict_internal.h"
#include "util/utf8.h"

enum rid {
    R_FORMAT,
    R_HASH,
    R_SIG,
    R_SIGNER,
    R_NO_CHAIN,
    R_REVOKED,
    R_REVOKED_NO_POE,
    R_BLOCKED,
    R_EXPIRED,
    R_NOT_YET,
    R_CONSTRAINTS,
    R_CHAIN_CRYPTO,
    R_REV_UNAVAIL,
    R_REV_UNKNOWN,
    R_REV_NOT_CHECKED,
    R_WEAK,
    R_PASSED,
};

static const struct {
    const char *code;
    enum gw_sig_indication ind;
    enum gw_sig_sub sub;
} rules[] = {
    [R_FORMAT] = {"format", GW_SIG_TOTAL_FAILED, GW_SUB_FORMAT_FAILURE},
    [R_HASH] = {"hash", GW_SIG_TOTAL_FAILED, GW_SUB_HASH_FAILURE},
    [R_SIG] = {"sig_crypto", GW_SIG_TOTAL_FAILED, GW_SUB_SIG_CRYPTO_FAILURE},
    [R_SIGNER] = {"signer_cert", GW_SIG_INDETERMINATE, GW_SUB_NO_SIGNING_CERTIFICATE_FOUND},
    [R_NO_CHAIN] = {"no_chain", GW_SIG_INDETERMINATE, GW_SUB_NO_CERTIFICATE_CHAIN_FOUND},
    [R_REVOKED] = {"revoked", GW_SIG_TOTAL_FAILED, GW_SUB_REVOKED},
    [R_REVOKED_NO_POE] = {"revoked_no_poe", GW_SIG_INDETERMINATE, GW_SUB_REVOKED_NO_POE},
    [R_BLOCKED] = {"blocked", GW_SIG_TOTAL_FAILED, GW_SUB_REVOKED},
    [R_EXPIRED] = {"expired", GW_SIG_INDETERMINATE, GW_SUB_OUT_OF_BOUNDS_NO_POE},
    [R_NOT_YET] = {"not_yet_valid", GW_SIG_INDETERMINATE, GW_SUB_NOT_YET_VALID},
    [R_CONSTRAINTS] = {"chain_constraints", GW_SIG_INDETERMINATE, GW_SUB_CHAIN_CONSTRAINTS_FAILURE},
    [R_CHAIN_CRYPTO] = {"chain_crypto", GW_SIG_INDETERMINATE,
                        GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE},
    [R_REV_UNAVAIL] = {"rev_unavailable", GW_SIG_INDETERMINATE, GW_SUB_TRY_LATER},
    [R_REV_UNKNOWN] = {"rev_unknown", GW_SIG_INDETERMINATE, GW_SUB_TRY_LATER},
    [R_REV_NOT_CHECKED] = {"rev_not_checked", GW_SIG_INDETERMINATE, GW_SUB_TRY_LATER},
    [R_WEAK] = {"weak_digest", GW_SIG_INDETERMINATE, GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE},
    [R_PASSED] = {"passed", GW_SIG_TOTAL_PASSED, GW_SUB_NONE},
};

#define CODE_MAX 64
#define TEXT_MAX GW_VERDICT_TEXT_MAX

/* "yyyy-MM-ddTHH:mm:ss+07:00" (Vietnam time, whatever the process's TZ); "?" for -1. */
static void fmt_time(time_t t, char out[32])
{
    struct tm tm;
    time_t v = t + 7 * 3600;
    if (t == (time_t)-1 || !gmtime_r(&v, &tm) ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%S+07:00", &tm) == 0)
        snprintf(out, 32, "?");
}

/* " (code)" clipped on a character boundary, or "" without a code. */
static void fmt_code(const char *code, char out[CODE_MAX + 4])
{
    if (!code || !*code) {
        out[0] = '\0';
        return;
    }
    snprintf(out, CODE_MAX + 4, " (%.*s)", (int)gw_utf8_prefix(code, CODE_MAX), code);
}

void gw_verdict_finish(char *dst, const char *text)
{
    char *s = gw_utf8_sanitize(text, TEXT_MAX);
    utf8proc_uint8_t *n = s ? utf8proc_NFC((const utf8proc_uint8_t *)s) : NULL;
    const char *src = n ? (const char *)n : s ? s : "";
    size_t k = gw_utf8_prefix(src, GW_VERDICT_REASON_MAX - 1);
    memcpy(dst, src, k);
    dst[k] = '\0';
    free(n);
    free(s);
}

void gw_verdict_cat(char *buf, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len >= TEXT_MAX - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, TEXT_MAX - len, fmt, ap);
    va_end(ap);
}

static enum rid decide(const struct gw_verdict_in *in, time_t vt, bool ts)
{
    if (!in->format_ok)
        return R_FORMAT;
    if (!in->hash_ok)
        return R_HASH;
    if (!in->sig_ok)
        return R_SIG;
    if (!in->signer_cert_found)
        return R_SIGNER;
    if (in->path == GW_VIN_PATH_NO_CHAIN)
        return R_NO_CHAIN;
    if (in->rev == GW_VIN_REV_REVOKED) {
        /* An unknown revocation time cannot be placed after a timestamp's genTime. */
        if (in->revoked_at == (time_t)-1)
            return ts ? R_REVOKED_NO_POE : R_REVOKED;
        if (in->revoked_at <= vt)
            return R_REVOKED;
    }
    if (in->blocked && in->blocked_from <= vt)
        return R_BLOCKED;
    if (in->chain_not_after < vt)
        return R_EXPIRED;
    if (in->chain_not_before > vt)
        return R_NOT_YET;
    if (in->path == GW_VIN_PATH_CONSTRAINTS)
        return R_CONSTRAINTS;
    if (in->path == GW_VIN_PATH_CRYPTO)
        return R_CHAIN_CRYPTO;
    /* Revoked after the validation time: the rest of the path must still be proven good (before,
     * a CA whose status was unavailable passed beside a signer revoked after the timestamp). */
    enum gw_vin_rev rev = in->rev == GW_VIN_REV_REVOKED ? in->rev_rest : in->rev;
    if (rev == GW_VIN_REV_UNAVAILABLE)
        return R_REV_UNAVAIL;
    if (rev == GW_VIN_REV_UNKNOWN)
        return R_REV_UNKNOWN;
    if (rev == GW_VIN_REV_NOT_CHECKED)
        return R_REV_NOT_CHECKED;
    if (in->weak_digest && vt >= in->weak_cutoff)
        return R_WEAK;
    return R_PASSED;
}

/* The main sentence of each rule, in both languages. */
static void main_text(enum rid r, const struct gw_verdict_in *in, const struct gw_verdict *out,
                      char *vi, char *en)
{
    char vt[32], t1[32], code[CODE_MAX + 4];
    fmt_time(out->validation_time, vt);
    switch (r) {
    case R_FORMAT:
        fmt_code(in->format_code, code);
        gw_verdict_cat(vi, "Định dạng chữ ký không hợp lệ%s", code);
        gw_verdict_cat(en, "Malformed signature%s", code);
        break;
    case R_HASH:
        gw_verdict_cat(vi, "Dữ liệu đã ký bị thay đổi: giá trị băm không khớp");
        gw_verdict_cat(en, "Signed data altered: digest mismatch");
        break;
    case R_SIG:
        gw_verdict_cat(vi, "Giá trị chữ ký không khớp với khóa công khai của chứng thư số");
        gw_verdict_cat(en, "Signature value does not match the certificate's public key");
        break;
    case R_SIGNER:
        gw_verdict_cat(vi, "Không tìm thấy chứng thư số của người ký, hoặc chứng thư không khớp "
                           "thuộc tính signingCertificate");
        gw_verdict_cat(en,
                       "Signer certificate missing, or not the one named by signingCertificate");
        break;
    case R_NO_CHAIN:
        fmt_code(in->path_code, code);
        gw_verdict_cat(vi, "Không xây dựng được đường dẫn chứng thực tới chứng thư gốc tin cậy%s",
                       code);
        gw_verdict_cat(en, "No certification path to a trust anchor%s", code);
        break;
    case R_REVOKED:
        fmt_time(in->revoked_at, t1);
        fmt_code(in->rev_code, code);
        if (in->revoked_at == (time_t)-1) {
            gw_verdict_cat(vi, "Chứng thư số đã bị thu hồi (không rõ thời điểm thu hồi)%s", code);
            gw_verdict_cat(en, "Certificate revoked (revocation time unknown)%s", code);
            break;
        }
        gw_verdict_cat(vi, "Chứng thư số đã bị thu hồi lúc %s, không sau thời điểm kiểm tra %s%s",
                       t1, vt, code);
        gw_verdict_cat(en, "Certificate revoked at %s, at or before the validation time %s%s", t1,
                       vt, code);
        break;
    case R_REVOKED_NO_POE:
        fmt_code(in->rev_code, code);
        gw_verdict_cat(
            vi, "Chứng thư số đã bị thu hồi, không rõ thời điểm thu hồi so với dấu thời gian %s%s",
            vt, code);
        gw_verdict_cat(
            en, "Certificate revoked at an unknown time, not provably after the timestamp %s%s", vt,
            code);
        break;
    case R_BLOCKED:
        fmt_time(in->blocked_from, t1);
        fmt_code(in->block_reason, code);
        if (in->blocked_from == (time_t)-1) {
            gw_verdict_cat(vi, "Chứng thư số bị chặn theo danh sách chặn nội bộ%s", code);
            gw_verdict_cat(en, "Certificate on the local block list%s", code);
            break;
        }
        gw_verdict_cat(vi, "Chứng thư số bị chặn theo danh sách chặn nội bộ từ %s%s", t1, code);
        gw_verdict_cat(en, "Certificate on the local block list from %s%s", t1, code);
        break;
    case R_EXPIRED:
        fmt_time(in->chain_not_after, t1);
        gw_verdict_cat(vi, "Chứng thư số hết hiệu lực lúc %s, trước thời điểm kiểm tra %s", t1, vt);
        gw_verdict_cat(en, "Certificate expired at %s, before the validation time %s", t1, vt);
        if (out->time_from_ts) {
            gw_verdict_cat(vi, "; dấu thời gian có sau thời điểm hết hiệu lực");
            gw_verdict_cat(en, "; the timestamp is later than the expiry");
        } else {
            gw_verdict_cat(vi, "; không có dấu thời gian chứng minh chữ ký có trước");
            gw_verdict_cat(en, "; no timestamp proves the signature older");
        }
        break;
    case R_NOT_YET:
        fmt_time(in->chain_not_before, t1);
        gw_verdict_cat(
            vi, "Chứng thư số chưa có hiệu lực tại thời điểm kiểm tra %s (hiệu lực từ %s)", vt, t1);
        gw_verdict_cat(en, "Certificate not yet valid at the validation time %s (valid from %s)",
                       vt, t1);
        break;
    case R_CONSTRAINTS:
        fmt_code(in->path_code, code);
        gw_verdict_cat(
            vi, "Chứng thư số không phù hợp để ký (mục đích sử dụng khóa hoặc chính sách)%s", code);
        gw_verdict_cat(en, "Certificate not fit for signing (key usage or policy)%s", code);
        break;
    case R_CHAIN_CRYPTO:
        fmt_code(in->path_code, code);
        gw_verdict_cat(
            vi, "Thuật toán hoặc độ dài khóa trong chuỗi chứng thư không còn được chấp nhận%s",
            code);
        gw_verdict_cat(en, "Algorithm or key size in the certificate chain no longer accepted%s",
                       code);
        break;
    case R_REV_UNAVAIL:
        fmt_code(in->rev == GW_VIN_REV_REVOKED ? in->rev_rest_code : in->rev_code, code);
        gw_verdict_cat(vi, "Chưa lấy được thông tin thu hồi chứng thư số, cần kiểm tra lại sau%s",
                       code);
        gw_verdict_cat(en, "Revocation information unavailable now, try later%s", code);
        break;
    case R_REV_UNKNOWN:
        fmt_code(in->rev == GW_VIN_REV_REVOKED ? in->rev_rest_code : in->rev_code, code);
        gw_verdict_cat(vi, "Dịch vụ kiểm tra trạng thái không biết chứng thư số này%s", code);
        gw_verdict_cat(en, "Certificate status unknown to the revocation service%s", code);
        break;
    case R_REV_NOT_CHECKED:
        gw_verdict_cat(vi, "Trạng thái thu hồi của chứng thư số chưa được kiểm tra");
        gw_verdict_cat(en, "Revocation status not checked");
        break;
    case R_WEAK:
        fmt_time(in->weak_cutoff, t1);
        gw_verdict_cat(
            vi,
            "Thuật toán băm yếu (SHA-1) không còn được chấp nhận từ %s và không có dấu thời "
            "gian chứng minh chữ ký có trước",
            t1);
        gw_verdict_cat(
            en,
            "Weak digest (SHA-1) not accepted from %s and no timestamp proves the signature "
            "older",
            t1);
        break;
    case R_PASSED:
        if (out->time_from_ts) {
            gw_verdict_cat(vi, "Chữ ký hợp lệ tại thời điểm %s theo dấu thời gian", vt);
            gw_verdict_cat(en, "Signature valid at %s, the timestamp's time", vt);
        } else {
            gw_verdict_cat(
                vi, "Chữ ký hợp lệ tại thời điểm kiểm tra %s (không có dấu thời gian hợp lệ)", vt);
            gw_verdict_cat(en, "Signature valid at the validation time %s (no valid timestamp)",
                           vt);
        }
        if (out->weak_accepted) {
            fmt_time(in->weak_cutoff, t1);
            gw_verdict_cat(vi, "; dùng SHA-1, được chấp nhận vì trước %s", t1);
            gw_verdict_cat(en, "; uses SHA-1, accepted as older than %s", t1);
        }
        break;
    }
}

/* What was seen but did not decide: an invalid timestamp, a revocation or block after the
 * timestamp, the claimed time when the timestamp is missing. */
static void notes(enum rid r, const struct gw_verdict_in *in, const struct gw_verdict *out,
                  char *vi, char *en)
{
    char t1[32], code[CODE_MAX + 4];
    if (in->ts_present && !out->time_from_ts) {
        fmt_code(in->ts_code, code);
        gw_verdict_cat(vi, "; dấu thời gian không hợp lệ, không được dùng%s", code);
        gw_verdict_cat(en, "; timestamp invalid, not used%s", code);
    }
    if (r > R_REVOKED_NO_POE && in->rev == GW_VIN_REV_REVOKED) {
        fmt_time(in->revoked_at, t1);
        gw_verdict_cat(vi, "; thu hồi lúc %s, sau dấu thời gian nên không tính", t1);
        gw_verdict_cat(en, "; revoked at %s, after the timestamp: not counted", t1);
    }
    if (r > R_BLOCKED && in->blocked) {
        fmt_time(in->blocked_from, t1);
        gw_verdict_cat(vi, "; bị chặn từ %s, sau thời điểm kiểm tra nên không tính", t1);
        gw_verdict_cat(en, "; blocked from %s, after the validation time: not counted", t1);
    }
    if (r >= R_EXPIRED && !out->time_from_ts && in->claimed_time != (time_t)-1) {
        fmt_time(in->claimed_time, t1);
        gw_verdict_cat(vi, "; thời điểm ký tự khai %s không phải bằng chứng", t1);
        gw_verdict_cat(en, "; claimed signing time %s is no proof", t1);
    }
}

void gw_verdict_decide(const struct gw_verdict_in *in, struct gw_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->time_from_ts = in->ts_present && in->ts_valid;
    out->validation_time = out->time_from_ts ? in->ts_gen_time : in->now;
    enum rid r = decide(in, out->validation_time, out->time_from_ts);
    out->ind = rules[r].ind;
    out->sub = rules[r].sub;
    out->rule = rules[r].code;
    out->weak_accepted = r == R_PASSED && in->weak_digest;

    char vi[TEXT_MAX] = "", en[TEXT_MAX] = "";
    main_text(r, in, out, vi, en);
    notes(r, in, out, vi, en);
    gw_verdict_finish(out->reason_vi, vi);
    gw_verdict_finish(out->reason_en, en);
}
