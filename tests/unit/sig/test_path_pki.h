/*
 * Shared by unit.sig.path and unit.sig.trust: a throwaway directory with the test PKI made by
 * test_path_pki.sh (openssl CLI), certificate loading, and the openssl CLI as the oracle.
 */
#ifndef GW_TEST_PATH_PKI_H
#define GW_TEST_PATH_PKI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

static char pki_dir[64];

/* Runs a shell command line built like printf; returns its exit status (-1 if it died). */
static int pki_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int pki_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Makes the PKI once per test program; 0 on success. */
static int pki_make(void)
{
    snprintf(pki_dir, sizeof pki_dir, "/tmp/gwpkiXXXXXX");
    if (!mkdtemp(pki_dir))
        return -1;
    return pki_sh("sh '%s/tests/unit/sig/test_path_pki.sh' '%s' >'%s/make.log' 2>&1", GW_SOURCE_DIR,
                  pki_dir, pki_dir);
}

static void pki_remove(void)
{
    if (pki_dir[0] && !getenv("GW_KEEP_TMP"))
        (void)pki_sh("rm -rf '%s'", pki_dir);
}

/* NAME.pem of the PKI (NULL if missing). */
__attribute__((unused)) static X509 *pki_cert(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.pem", pki_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* A new directory DIR/sub under the PKI holding copies of the named files (space-separated,
 * "src:dst" to rename). */
__attribute__((unused)) static void pki_trust_dir(const char *sub, const char *files)
{
    char list[512];
    snprintf(list, sizeof list, "%s", files);
    (void)pki_sh("rm -rf '%s/%s' && mkdir -p '%s/%s'", pki_dir, sub, pki_dir, sub);
    for (char *tok = strtok(list, " "); tok; tok = strtok(NULL, " ")) {
        char *colon = strchr(tok, ':');
        const char *dst = colon ? colon + 1 : tok;
        if (colon)
            *colon = '\0';
        (void)pki_sh("cp '%s/%s' '%s/%s/%s'", pki_dir, tok, pki_dir, sub, dst);
    }
}

#endif
