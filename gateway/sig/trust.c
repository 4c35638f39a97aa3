/*
 * Trust snapshot: reads the anchors and intermediates of a trust directory once into immutable
 * certificate stacks shared by every worker, with a fingerprint that tells a reload whether
 * anything changed. Certificates have their extensions cached at load so that concurrent readers
 * never make OpenSSL fill its lazy per-certificate caches.
 */
#include "sig/trust.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "util/digest.h"

struct gw_trust {
    atomic_uint refs;
    STACK_OF(X509) * anchors;
    STACK_OF(X509) * intermediates;
    char fingerprint[65];
    time_t loaded_at;
};

/* What a load collects before it becomes a snapshot. */
struct loader {
    struct gw_trust *t;
    char (*fps)[65]; /* fingerprints of every certificate kept, for duplicates and the total */
    size_t n_fps;
    char *err;
    size_t errlen;
};

static int fail(struct loader *l, int rc, const char *file, const char *what)
{
    if (l->errlen)
        snprintf(l->err, l->errlen, "%s: %s", file, what);
    return rc;
}

static bool wanted_name(const char *name)
{
    static const char *const exts[] = {".pem", ".crt", ".cer", ".der"};
    size_t n = strlen(name);
    if (name[0] == '.' || n < 5)
        return false;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(name + n - 4, exts[i]) == 0)
            return true;
    return false;
}

static void cert_fp(X509 *x, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32) {
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* Classifies one certificate and keeps it (reference taken), or says why it cannot be. */
static int keep_cert(struct loader *l, const char *file, X509 *x)
{
    char fp[65];
    X509_check_purpose(x, -1, 0); /* fills the extension cache now, single-threaded */
    uint32_t flags = X509_get_extension_flags(x);
    if (flags & EXFLAG_INVALID)
        return fail(l, GW_EPARSE, file, "certificate with malformed extensions");
    int ca = X509_check_ca(x);
    bool self = X509_self_signed(x, 1) == 1;
    /* basicConstraints CA:TRUE, or an X.509 v1 self-signed root (X509_check_ca gives 3). */
    if (!((flags & EXFLAG_BCONS) && (flags & EXFLAG_CA)) && !(ca == 3 && self))
        return fail(l, GW_ECONFIG, file, "certificate is not a CA (no basicConstraints CA:TRUE)");
    if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
        return fail(l, GW_ECONFIG, file, "CA certificate without keyCertSign key usage");
    cert_fp(x, fp);
    for (size_t i = 0; i < l->n_fps; i++)
        if (strcmp(l->fps[i], fp) == 0)
            return 0; /* the same certificate in another file */
    if (l->n_fps >= GW_TRUST_MAX_CERTS)
        return fail(l, GW_ELIMIT, file, "too many certificates in the trust directory");
    if (l->n_fps % 64 == 0) {
        void *p = realloc(l->fps, (l->n_fps + 64) * sizeof *l->fps);
        if (!p)
            return fail(l, GW_ENOMEM, file, "out of memory");
        l->fps = p;
    }
    STACK_OF(X509) *dst = self ? l->t->anchors : l->t->intermediates;
    if (!X509_up_ref(x))
        return fail(l, GW_ENOMEM, file, "out of memory");
    if (!sk_X509_push(dst, x)) {
        X509_free(x);
        return fail(l, GW_ENOMEM, file, "out of memory");
    }
    memcpy(l->fps[l->n_fps++], fp, 65);
    return 0;
}

static int parse_pem(struct loader *l, const char *file, const unsigned char *buf, size_t len)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (!bio)
        return fail(l, GW_ENOMEM, file, "out of memory");
    int rc = 0, n = 0;
    for (;;) {
        ERR_clear_error();
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x) {
            unsigned long e = ERR_peek_last_error();
            if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break; /* no further certificate */
            rc = fail(l, GW_EPARSE, file,
                      n ? "malformed PEM certificate after the first" : "no PEM certificate");
            break;
        }
        n++;
        rc = keep_cert(l, file, x);
        X509_free(x);
        if (rc)
            break;
    }
    ERR_clear_error();
    BIO_free(bio);
    return rc;
}

static int parse_der(struct loader *l, const char *file, const unsigned char *buf, size_t len)
{
    const unsigned char *p = buf;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    if (!x)
        return fail(l, GW_EPARSE, file, "neither a PEM nor a DER certificate");
    if (p != buf + len) {
        X509_free(x);
        return fail(l, GW_EPARSE, file, "bytes after the DER certificate");
    }
    int rc = keep_cert(l, file, x);
    X509_free(x);
    return rc;
}

static int load_file(struct loader *l, const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return fail(l, GW_ERANGE, name, "path too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        fd = open(path, O_RDONLY | O_CLOEXEC); /* a symlink to a file is fine */
    if (fd < 0)
        return fail(l, GW_EIO, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fail(l, GW_EIO, path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? 0 : fail(l, GW_EIO, path, "not a regular file");
    }
    if (st.st_size > (off_t)GW_TRUST_MAX_FILE) {
        close(fd);
        return fail(l, GW_ELIMIT, path, "file larger than 1 MiB");
    }
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(len + 1);
    if (!buf) {
        close(fd);
        return fail(l, GW_ENOMEM, path, "out of memory");
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    int rc;
    if (got != len)
        rc = fail(l, GW_EIO, path, "short read");
    else if (len == 0)
        rc = fail(l, GW_EPARSE, path, "empty file");
    else {
        buf[len] = '\0';
        bool pem = memmem(buf, len, "-----BEGIN", 10) != NULL;
        rc = pem ? parse_pem(l, path, buf, len) : parse_der(l, path, buf, len);
    }
    free(buf);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(a, b, 64);
}

/* Sorted file names of the directory that look like certificates (*names freed by the caller). */
static int list_dir(struct loader *l, const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return fail(l, e == ENOENT ? GW_ENOENT : -e, dir, strerror(e));
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!wanted_name(de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = cap <= GW_TRUST_MAX_CERTS ? realloc(*names, cap * sizeof **names) : NULL;
            if (!p) {
                rc = fail(l, cap > GW_TRUST_MAX_CERTS ? GW_ELIMIT : GW_ENOMEM, dir,
                          "too many files");
                break;
            }
            *names = p;
        }
        if (!((*names)[*n] = strdup(de->d_name))) {
            rc = fail(l, GW_ENOMEM, dir, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_name);
    return rc;
}

int gw_trust_load(const char *dir, struct gw_trust **out, char *err, size_t errlen)
{
    struct loader l = {.err = err, .errlen = errlen};
    char **names = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    l.t = calloc(1, sizeof *l.t);
    if (!l.t || !(l.t->anchors = sk_X509_new_null()) ||
        !(l.t->intermediates = sk_X509_new_null())) {
        rc = fail(&l, GW_ENOMEM, dir, "out of memory");
        goto done;
    }
    atomic_init(&l.t->refs, 1);
    rc = list_dir(&l, dir, &names, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = load_file(&l, dir, names[i]);
    if (rc == 0 && sk_X509_num(l.t->anchors) == 0)
        rc = fail(&l, GW_ECONFIG, dir, "no trust anchor (self-signed CA certificate)");
    if (rc == 0) {
        /* Sorted hex fingerprints, one per line, hashed: independent of file names and order. */
        qsort(l.fps, l.n_fps, sizeof *l.fps, cmp_fp);
        for (size_t i = 0; i < l.n_fps; i++)
            l.fps[i][64] = '\n';
        gw_digest_sha256_hex(l.fps, l.n_fps * sizeof *l.fps, l.t->fingerprint);
        l.t->loaded_at = time(NULL);
        *out = l.t;
        l.t = NULL;
    }
done:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(l.fps);
    gw_trust_unref(l.t);
    return rc;
}

struct gw_trust *gw_trust_ref(struct gw_trust *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void gw_trust_unref(struct gw_trust *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    sk_X509_pop_free(t->anchors, X509_free);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t);
}

unsigned gw_trust_anchors(const struct gw_trust *t)
{
    return (unsigned)sk_X509_num(t->anchors);
}

unsigned gw_trust_intermediates(const struct gw_trust *t)
{
    return (unsigned)sk_X509_num(t->intermediates);
}

const char *gw_trust_fingerprint(const struct gw_trust *t)
{
    return t->fingerprint;
}

time_t gw_trust_loaded_at(const struct gw_trust *t)
{
    return t->loaded_at;
}

STACK_OF(X509) * gw_trust_anchor_certs(const struct gw_trust *t)
{
    return t->anchors;
}

STACK_OF(X509) * gw_trust_intermediate_certs(const struct gw_trust *t)
{
    return t->intermediates;
}
