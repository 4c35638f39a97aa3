/*
 * The REST v2.2 axis has no directory call: the organisation ids it serves are listed in the file
 * named by directory_file (one a line, '#' comments), read and parsed on the thread pool at each
 * directory sync (engine/directory.c: at start, every interval and on SIGHUP), bounded in size.
 * The QCVN 102 list holds the ids; the QĐ 20 list is empty (the file has no QĐ 20 forms).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgsp_rest_internal.h"
#include "util/error.h"

void gw_lr_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

static int gw_lr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int gw_lr_dir_parse(const char *text, size_t len, char ***ids_out, size_t *n_out, char *detail,
                    size_t detail_len)
{
    char **ids = NULL;
    size_t n = 0, cap = 0, line = 0;
    const char *p = text, *end = text + len;

    *ids_out = NULL;
    *n_out = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *hash = memchr(p, '#', (size_t)(le - p));
        const char *a = p, *b = hash ? hash : le;
        line++;
        p = eol ? eol + 1 : end;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (a == b)
            continue;
        for (const char *q = a; q < b; q++) {
            if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
                snprintf(detail, detail_len, "line %zu: an id with a blank or control character",
                         line);
                gw_lr_ids_free(ids, n);
                return GW_EPARSE;
            }
        }
        if ((size_t)(b - a) > GW_LR_MAX_ID) {
            snprintf(detail, detail_len, "line %zu: an id longer than %d bytes", line,
                     GW_LR_MAX_ID);
            gw_lr_ids_free(ids, n);
            return GW_EPARSE;
        }
        if (n == GW_LR_MAX_DIR_IDS) {
            snprintf(detail, detail_len, "more than %d ids", GW_LR_MAX_DIR_IDS);
            gw_lr_ids_free(ids, n);
            return GW_E2BIG;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **g = realloc(ids, nc * sizeof(*ids));
            if (!g) {
                gw_lr_ids_free(ids, n);
                return GW_ENOMEM;
            }
            ids = g;
            cap = nc;
        }
        if (!(ids[n] = strndup(a, (size_t)(b - a)))) {
            gw_lr_ids_free(ids, n);
            return GW_ENOMEM;
        }
        n++;
    }
    if (n > 1) {
        size_t k = 1;
        qsort(ids, n, sizeof(*ids), gw_lr_cmp);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(ids[i], ids[k - 1]) == 0)
                free(ids[i]);
            else
                ids[k++] = ids[i];
        }
        n = k;
    }
    *ids_out = ids;
    *n_out = n;
    return 0;
}

struct gw_lr_dir_job {
    uv_work_t work;
    char *path;
    bool qd20;
    gw_axis_agencies_cb cb;
    void *ud;
    int rc;
    char **ids;
    size_t n;
    char detail[GW_LR_DETAIL_LEN];
};

static void gw_lr_dir_work(uv_work_t *w)
{
    struct gw_lr_dir_job *j = w->data;
    FILE *fp;
    char *buf = NULL;
    size_t len = 0;

    if (j->qd20)
        return; /* no QĐ 20 forms in the file: an empty list */
    if (!(fp = fopen(j->path, "rb"))) {
        snprintf(j->detail, sizeof(j->detail), "directory_file %s: %s", j->path, strerror(errno));
        j->rc = GW_EIO;
        return;
    }
    buf = malloc(GW_LR_MAX_DIR_FILE + 1);
    if (!buf) {
        fclose(fp);
        j->rc = GW_ENOMEM;
        return;
    }
    len = fread(buf, 1, GW_LR_MAX_DIR_FILE + 1, fp);
    if (ferror(fp)) {
        snprintf(j->detail, sizeof(j->detail), "directory_file %s: read error", j->path);
        j->rc = GW_EIO;
    } else if (len > GW_LR_MAX_DIR_FILE) {
        snprintf(j->detail, sizeof(j->detail), "directory_file %s: larger than %u bytes", j->path,
                 GW_LR_MAX_DIR_FILE);
        j->rc = GW_E2BIG;
    } else {
        j->rc = gw_lr_dir_parse(buf, len, &j->ids, &j->n, j->detail, sizeof(j->detail));
        if (j->rc == GW_EPARSE || j->rc == GW_E2BIG) {
            char why[200];
            snprintf(why, sizeof(why), "%.199s", j->detail);
            snprintf(j->detail, sizeof(j->detail), "directory_file %.200s: %s", j->path, why);
        }
    }
    fclose(fp);
    free(buf);
}

static void gw_lr_dir_after(uv_work_t *w, int status)
{
    struct gw_lr_dir_job *j = w->data;
    struct gw_axis_agency *a = NULL;

    if (status == UV_ECANCELED)
        j->rc = GW_ECANCELED;
    if (j->rc == 0 && j->n && !(a = calloc(j->n, sizeof(*a))))
        j->rc = GW_ENOMEM;
    if (j->rc != 0) {
        j->cb(j->rc, NULL, 0, j->detail[0] ? j->detail : NULL, j->ud);
    } else {
        for (size_t i = 0; i < j->n; i++)
            a[i].code = j->ids[i];
        j->cb(0, a, j->n, NULL, j->ud);
    }
    free(a);
    gw_lr_ids_free(j->ids, j->n);
    free(j->path);
    free(j);
}

int gw_lr_list_agencies(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud)
{
    struct gw_lr *st = state;
    struct gw_lr_dir_job *j;

    if (!st || !cb)
        return GW_EINVAL;
    if (!(j = calloc(1, sizeof(*j))))
        return GW_ENOMEM;
    j->qd20 = qd20;
    j->cb = cb;
    j->ud = ud;
    j->work.data = j;
    if (!(j->path = strdup(st->directory_file))) {
        free(j);
        return GW_ENOMEM;
    }
    if (uv_queue_work(st->loop, &j->work, gw_lr_dir_work, gw_lr_dir_after) != 0) {
        free(j->path);
        free(j);
        return GW_ENOMEM;
    }
    return 0;
}
