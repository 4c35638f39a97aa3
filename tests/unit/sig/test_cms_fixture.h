/*
 * Shared by the sig/cms and sig/tst unit tests: a temporary directory where the openssl CLI (the
 * independent oracle) makes keys, certificates, CMS signatures and time-stamp tokens, and a small
 * PDF-shaped buffer whose ByteRange leaves a /Contents hole for the DER.
 */
#ifndef GW_TEST_CMS_FIXTURE_H
#define GW_TEST_CMS_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    char dir[64];
    uint8_t *pdf; /* the PDF-shaped buffer */
    size_t len;
    uint64_t br[4];
};

/* Runs a shell command in the fixture directory (output to cmd.log); its exit status. */
__attribute__((format(printf, 2, 3))) static int fx_sh(const struct fx *f, const char *fmt, ...)
{
    char cmd[4096], full[4300];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd %s && ( %s ) >>cmd.log 2>&1", f->dir, cmd);
    rc = system(full);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static uint8_t *fx_read(const struct fx *f, const char *name, size_t *len)
{
    char path[256];
    FILE *fp;
    uint8_t *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf)
        buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static int fx_write(const struct fx *f, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *fp;
    size_t w;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "wb");
    if (!fp)
        return -1;
    w = fwrite(data, 1, len, fp);
    return fclose(fp) == 0 && w == len ? 0 : -1;
}

/* Writes the two ByteRange pieces, concatenated, to ranges.bin (what the signer signs). */
static int fx_write_ranges(const struct fx *f)
{
    uint8_t *cat = malloc(f->br[1] + f->br[3]);
    int rc;

    if (!cat)
        return -1;
    memcpy(cat, f->pdf + f->br[0], f->br[1]);
    memcpy(cat + f->br[1], f->pdf + f->br[2], f->br[3]);
    rc = fx_write(f, "ranges.bin", cat, f->br[1] + f->br[3]);
    free(cat);
    return rc;
}

/* A PDF-shaped buffer with a /Contents hole of hole_bytes DER bytes (hex in the file). */
static int fx_pdf(struct fx *f, const char *subfilter, size_t hole_bytes)
{
    char head[512];
    const char *tail = ">\n>>\nendobj\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\n"
                       "startxref\n9\n%%EOF\n";
    int hl = snprintf(head, sizeof(head),
                      "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Sig /Filter "
                      "/Adobe.PPKLite /SubFilter /%s /M (D:20240101000000+07'00') "
                      "/ByteRange [0 0000000000 0000000000 0000000000] /Contents <",
                      subfilter);
    size_t hole = 2 * hole_bytes;

    free(f->pdf);
    f->len = (size_t)hl + hole + strlen(tail);
    f->pdf = malloc(f->len);
    if (!f->pdf)
        return -1;
    f->br[0] = 0;
    f->br[1] = (uint64_t)hl - 1; /* the hole starts at '<' */
    f->br[2] = (uint64_t)hl + hole + 1;
    f->br[3] = f->len - f->br[2];
    memcpy(f->pdf, head, (size_t)hl);
    memset(f->pdf + hl, '0', hole);
    memcpy(f->pdf + hl + hole, tail, strlen(tail));
    /* Write the real ByteRange numbers over the placeholders (same width). */
    char nums[64];
    char *at = strstr((char *)f->pdf, "[0 ");
    snprintf(nums, sizeof(nums), "[0 %010llu %010llu %010llu]", (unsigned long long)f->br[1],
             (unsigned long long)f->br[2], (unsigned long long)f->br[3]);
    memcpy(at, nums, strlen(nums));
    return fx_write_ranges(f);
}

/* Puts der as hex into the /Contents hole (cosmetic: the hole is not hashed). */
static void fx_place(struct fx *f, const uint8_t *der, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    uint8_t *h = f->pdf + f->br[1] + 1;
    size_t room = (f->br[2] - f->br[1] - 2) / 2;

    for (size_t i = 0; i < len && i < room; i++) {
        h[2 * i] = (uint8_t)hx[der[i] >> 4];
        h[2 * i + 1] = (uint8_t)hx[der[i] & 15];
    }
}

static int fx_open(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/gw_cms_XXXXXX");
    return mkdtemp(f->dir) ? 0 : -1;
}

static void fx_close(struct fx *f)
{
    char cmd[128];

    if (f->dir[0] && !getenv("GW_TEST_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", f->dir);
    }
    free(f->pdf);
    memset(f, 0, sizeof(*f));
}

/* openssl cms -sign over ranges.bin with the given extra arguments; the DER (malloc'd) or NULL. */
__attribute__((format(printf, 3, 4))) static uint8_t *fx_sign(const struct fx *f, size_t *len,
                                                              const char *fmt, ...)
{
    char args[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    if (fx_sh(f,
              "rm -f sig.der && openssl cms -sign -binary -outform DER -in ranges.bin "
              "-out sig.der %s",
              args) != 0)
        return NULL;
    return fx_read(f, "sig.der", len);
}

#endif

#ifndef GW_TEST_CMS_FIXTURE_KEYS
#define GW_TEST_CMS_FIXTURE_KEYS
/*
 * Signer keys and certificates: rsa (serial 4097), ec, and two twins of rsa.pem with the same
 * issuer and serial: twin.pem with another key, twin2.pem with the same key (another validity).
 * The TSA: tsa.key/tsa.pem with a critical timeStamping EKU and tsa.cnf for `openssl ts -reply`.
 */
static int fx_keys(const struct fx *f)
{
    return fx_sh(f, "set -e; S='/CN=Signer RSA/O=Test Org';"
                    "openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem "
                    "  -subj \"$S\" -days 30 -set_serial 4097;"
                    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "  -keyout ec.key -out ec.pem -subj '/CN=Signer EC' -days 30;"
                    "openssl genrsa -out other.key 2048;"
                    "openssl req -x509 -new -key other.key -out twin.pem -subj \"$S\" -days 30 "
                    "  -set_serial 4097;"
                    "openssl req -x509 -new -key rsa.key -out twin2.pem -subj \"$S\" -days 31 "
                    "  -set_serial 4097;"
                    "openssl req -x509 -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.pem "
                    "  -subj '/CN=Test TSA/O=Test Org' -days 30 "
                    "  -addext 'extendedKeyUsage=critical,timeStamping';"
                    "echo 01 > tsaserial;"
                    "printf '%%s\\n' '[ tsa ]' 'default_tsa = tsa1' '[ tsa1 ]' "
                    "  'serial = ./tsaserial' 'signer_digest = sha256' "
                    "  'default_policy = 1.2.3.4.1' 'other_policies = 1.2.3.4.5' "
                    "  'digests = sha1, sha256, sha384, sha512' 'accuracy = secs:1' "
                    "  'ordering = yes' 'tsa_name = yes' 'ess_cert_id_chain = no' "
                    "  'ess_cert_id_alg = sha256' > tsa.cnf");
}
#endif
