/*
 * Test PKI for the OCSP and CRL unit tests: made at test time by tests/sim/ocsp_front.py (the
 * openssl CLI), never by the code under test. Included by test_ocsp.c and test_crl.c only.
 */
#ifndef GW_TEST_OCSP_PKI_H
#define GW_TEST_OCSP_PKI_H

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_pki[256];

/* 0 when the PKI is made; 77 (skip) when python3 or openssl is missing. */
static int pki_make(const char *base)
{
    char cmd[1024];
    char tmpl[] = "/tmp/gw-revpki.XXXXXX";

    if (system("command -v python3 >/dev/null && command -v openssl >/dev/null") != 0)
        return 77;
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(g_pki, sizeof(g_pki), "%s", tmpl);
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/sim/ocsp_front.py pki %s --base %s", GW_SOURCE_DIR,
             g_pki, base);
    return system(cmd) == 0 ? 0 : 1;
}

static void pki_remove(void)
{
    char cmd[512];
    if (!g_pki[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_pki);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_pki);
}

/* Runs a shell command inside the PKI directory; its exit status. */
static int pki_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int pki_sh(const char *fmt, ...)
{
    char body[2048], cmd[2400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "cd %s && { %s ; } 2>/dev/null >/dev/null", g_pki, body);
    return system(cmd);
}

static X509 *pki_cert(const char *name)
{
    char path[512];
    FILE *f;
    X509 *x;

    snprintf(path, sizeof(path), "%s/%s.pem", g_pki, name);
    if (!(f = fopen(path, "r")))
        return NULL;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* A whole file of the PKI directory (malloc'd), or NULL. */
static uint8_t *pki_file(const char *name, size_t *len)
{
    char path[512];
    uint8_t *buf = NULL;
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/%s", g_pki, name);
    if (!(f = fopen(path, "rb")))
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

__attribute__((unused)) static int pki_write(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", g_pki, name);
    if (!(f = fopen(path, "wb")))
        return -1;
    ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
