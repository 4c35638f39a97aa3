#ifndef GW_LGSP_REST_INTERNAL_H
#define GW_LGSP_REST_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "engine/axis.h"

/* Shared by the files of adapters/lgsp_rest only; the pure parts are unit-tested. */

#define GW_LR_DETAIL_LEN   512
#define GW_LR_MAX_ID       256
#define GW_LR_MAX_ITEMS    10000
#define GW_LR_MAX_TOKEN    8192
#define GW_LR_MAX_RESP     (16u * 1024 * 1024) /* every answer but getEdoc's */
#define GW_LR_MAX_DIR_FILE (4u * 1024 * 1024)
#define GW_LR_MAX_DIR_IDS  100000
#define GW_LR_DEF_MAX_PKG  (64u * 1024 * 1024)
#define GW_LR_MAX_WAITING  4096 /* calls waiting for a login */
#define GW_LR_ACKED_MAX    4096 /* doc ids acked done by this process, remembered */
#define GW_LR_DATE_LEN     11   /* "YYYY/MM/DD" + NUL */

/* ---- lgsp_rest_resp.c: answers (pure) */

/* Parses body as a JSON object: 0 and *root, or GW_EHTTP with detail. */
int gw_lr_parse(const char *body, size_t len, json_t **root, char *detail, size_t detail_len);

/* The verdict of an envelope: 0 when success is true (a boolean, or the text "true"), and when
 * success is absent and nothing says the call failed (no errorCode other than 0, no status
 * "fail" at the top or in data): domain.md shows success only on sendEdoc and the list, so the
 * caller's reading of its payload (data.token, data.edxml, an ack's 2xx) decides (an errorCode
 * other than 0, readable or not, or status "fail" says it failed). Otherwise
 * gw_lr_classify of data.errorCode (or a top-level errorCode), detail "errorCode <n>: <errorDesc>"
 * (or the message); without a code GW_EAXIS. success of another type: GW_EHTTP. */
int gw_lr_envelope(const json_t *root, char *detail, size_t detail_len);

/* The envelope's success given as text: quoted (a JSON string), "true" / "false" in any case;
 * unquoted (a literal), true / false / null. 1, 0, -1 (null: absent), -2 (neither). */
int gw_lr_success_text(const char *text, bool quoted);

/* gw_lr_envelope for the calls whose success domain.md documents (sendEdoc, the list): an answer
 * without it is GW_EHTTP (the peer's, retried), never read as a success. Leniency there would
 * take a failed send for a delivery, or a failed list ({"message": "busy"}) for an empty one
 * whose window the cursor then moves past for good. */
int gw_lr_envelope_strict(const json_t *root, char *detail, size_t detail_len);

/* errorCode -> error (lgsp_rest.h): 0; 15, 19 GW_EAUTH; 10, 21, 22 GW_EREFUSED; 18, 23
 * GW_ERECIPIENT; 20 GW_EHTTP; anything else (undocumented) GW_EAXIS. */
int gw_lr_classify(long code);

/* An HTTP status outside 2xx: 401/403 GW_EAUTH; 5xx, 404, 405, 408, 429 GW_EHTTP; else
 * GW_EAXIS. */
int gw_lr_classify_status(long status);

/* The login answer: 0, *token (malloc'd) and *expires_s (0 when data.expiresIn is absent or not a
 * positive number); an envelope error as gw_lr_envelope (a refused login: GW_EAUTH); GW_EHTTP
 * without a usable token. */
int gw_lr_parse_login(const char *body, size_t len, char **token, uint64_t *expires_s, char *detail,
                      size_t detail_len);

/* The docId of a sendEdoc answer (top level, else data.docId), string or integer: 0, GW_ENOENT,
 * GW_EINVAL (empty, too long, control characters). */
int gw_lr_doc_id(const json_t *root, char out[GW_LR_MAX_ID + 1]);

/* The items of a list answer's data (absent or null: none; not an array: GW_EHTTP); done[i]
 * tells whether the axis lists item i as status "done". Invalid items are skipped; at most
 * GW_LR_MAX_ITEMS are kept, in this order whatever the list's: those not done before those
 * done, each oldest first (created date "createdTime"; none usable first), then as listed. *cut
 * tells whether more valid items were listed, and cut_from is the earliest created date among
 * those not kept, "" when one of them has none. Free with gw_lr_items_free. */
int gw_lr_items(const json_t *root, struct gw_axis_item **items, bool **done, size_t *n, bool *cut,
                char cut_from[GW_LR_DATE_LEN]);
void gw_lr_items_free(struct gw_axis_item *items, bool *done, size_t n);

/* data.edxml of a whole getEdoc answer, decoded (the reference the streamed scanner of
 * lgsp_rest_fetch.c is tested against): raw when it starts with '<' after an optional BOM and
 * whitespace (the string's bytes exactly), else base64 (whitespace ignored). 0 and *out, *out_len
 * (malloc'd); GW_E2BIG over max bytes; GW_EAXIS when absent, not a string, or not base64. */
int gw_lr_edxml(const json_t *root, size_t max, uint8_t **out, size_t *out_len, char *detail,
                size_t detail_len);
/* The value of a standard or URL-safe base64 character, -1 for any other (shared with the
 * streamed scanner of lgsp_rest_fetch.c). */
int gw_lr_b64_val(unsigned char c);

/* ---- lgsp_rest_window.c: list windows (pure) */

/* The Vietnam (UTC+7) civil date of t as "YYYY/MM/DD". */
void gw_lr_vn_date(time_t t, char out[GW_LR_DATE_LEN]);
/* Parses "YYYY/MM/DD" (a real date) into days since 1970-01-01; -1 if not one. */
long gw_lr_date_days(const char *s);
/* Days since 1970-01-01 -> "YYYY/MM/DD". */
void gw_lr_days_date(long days, char out[GW_LR_DATE_LEN]);
/* The window to list at now: to = today (Vietnam); from = cursor (a date, not after today) or
 * today - first_days without one (or an unusable one); next = the next window's start, today -
 * overlap_days but never before from. */
void gw_lr_window(time_t now, const char *cursor, unsigned first_days, unsigned overlap_days,
                  char from[GW_LR_DATE_LEN], char to[GW_LR_DATE_LEN], char next[GW_LR_DATE_LEN]);
/* The next window's start after a list cut at GW_LR_MAX_ITEMS in the window from..to: cut_from
 * (the earliest created date of the items not kept) within from..to; from when cut_from is not a
 * date. */
void gw_lr_window_cut(const char from[GW_LR_DATE_LEN], const char to[GW_LR_DATE_LEN],
                      const char *cut_from, char next[GW_LR_DATE_LEN]);

/* ---- lgsp_rest_dir.c: the directory file */

/* Parses the file's text: one organisation id a line, '#' starts a comment, blanks around ids
 * and blank lines ignored, duplicates dropped. 0 and ids (free with gw_lr_ids_free); GW_EPARSE
 * with "line N: ..." in detail for an id with blanks or control characters or over
 * GW_LR_MAX_ID bytes; GW_E2BIG over GW_LR_MAX_DIR_IDS ids. */
int gw_lr_dir_parse(const char *text, size_t len, char ***ids, size_t *n, char *detail,
                    size_t detail_len);
void gw_lr_ids_free(char **ids, size_t n);
/* ops.list_agencies: the file read and parsed on the thread pool. */
int gw_lr_list_agencies(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud);

/* ---- lgsp_rest_send.c: the multipart sendEdoc body, streamed */

/* kind_name "edoc"|"status": the upload (engine/axis.h) of the multipart body around the
 * package, and its "Content-Type: multipart/form-data; boundary=..." header (malloc'd); the
 * boundary is random. */
int gw_lr_upload_new(struct gw_axis_body *body, const char *kind_name, char **content_type,
                     struct gw_axis_upload **out);

/* ---- lgsp_rest_fetch.c: the getEdoc answer streamed into a struct gw_axis_sink (as vxp_fetch) */

struct gw_lr_fetch;
int gw_lr_fetch_new(struct gw_axis_sink *sink, size_t max_package_bytes, struct gw_lr_fetch **out);
void gw_lr_fetch_free(struct gw_lr_fetch *f);
/* The HTTP client's sink over it (the axis sink's resume_fn/resume_ctx are set by _new). */
void gw_lr_fetch_sink(struct gw_lr_fetch *f, struct gw_httpc_sink *hs);
void gw_lr_fetch_attach(struct gw_lr_fetch *f, struct gw_httpc_xfer *xfer);
/* The first 64 KiB of a non-2xx answer (NUL-terminated). */
const char *gw_lr_fetch_errbody(const struct gw_lr_fetch *f, size_t *len);
/* After the whole 2xx answer (or our own abort): 0 (the sink had the package, exactly) or the
 * error with detail, as for a buffered answer (lgsp_rest.h). */
int gw_lr_fetch_verdict(struct gw_lr_fetch *f, char *detail, size_t detail_len);
/* Whether this side aborted the transfer (cap, not JSON, the sink's code, memory). */
bool gw_lr_fetch_aborted(const struct gw_lr_fetch *f);
/* The transfer is over: true when the sink is paused, and resumed(ud) runs from its resume. */
bool gw_lr_fetch_paused(struct gw_lr_fetch *f, void (*resumed)(void *ud), void *ud);
/* Feeds one piece of a 2xx answer (for the tests: what the HTTP client's sink does). 0, or the
 * abort code; GW_HTTPC_PAUSE when the sink paused. */
int gw_lr_fetch_feed(struct gw_lr_fetch *f, const char *data, size_t n);

/* The configured axis (lgsp_rest.c). */
struct gw_lr_call;
struct gw_lr {
    struct gw_httpc *http;
    uv_loop_t *loop;
    const struct gw_tls_peer *tls; /* cfg->tls, passed on every request */
    char *name;
    char *base_url;              /* without trailing '/' */
    char *h_systemid, *h_secret; /* "X-SystemId: ...", "X-SecretKey: ..." */
    char *login_body;            /* the login JSON (holds the password) */
    size_t login_len;
    char *h_auth;           /* "Authorization: Bearer <token>", NULL without a token */
    uint64_t token_gen;     /* bumped at each login */
    uint64_t renew_at_ms;   /* uv_now() from which the next call logs in first */
    uint64_t expires_at_ms; /* uv_now() when the token is no longer used */
    uint64_t lifetime_s;
    bool logging_in;
    struct gw_lr_call *waiting, **waiting_tail;
    size_t n_waiting;
    uint64_t timeout_ms;
    size_t max_package_bytes;
    char *directory_file;
    unsigned first_window_days, window_overlap_days;
    struct gw_lr_acked *acked; /* doc ids acked done by this process */
    size_t n_calls;            /* calls not yet freed: destroy waits for them */
    bool dying;                /* destroy ran: freed with the last call (and login) */
    bool in_login_cb;
};

/* ---- lgsp_rest_acked.c: a bounded set of doc ids (two generations of GW_LR_ACKED_MAX / 2; the
 * older is dropped when the newer is full), O(1) per operation. */
struct gw_lr_acked;
struct gw_lr_acked *gw_lr_acked_new(void);
void gw_lr_acked_free(struct gw_lr_acked *a);
void gw_lr_acked_add(struct gw_lr_acked *a, const char *doc_id); /* best effort */
bool gw_lr_acked_has(const struct gw_lr_acked *a, const char *doc_id);

#endif
