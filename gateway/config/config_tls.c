/*
 * The PEM files of an outbound peer's TLS settings ([axis.NAME], [push]), read once at load so that
 * a missing, unreadable or wrong file stops the start with a message naming it: the pinned CA
 * bundle (at least one certificate), the client certificate and its private key (unencrypted,
 * matching). Messages name the file only; nothing read from it is ever shown.
 */
#include "config/config_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* An encrypted key is refused rather than prompted for: the daemon has no terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static FILE *open_pem(const char *path, const char *what, char *msg, size_t len)
{
    FILE *f = fopen(path, "r");

    if (!f)
        snprintf(msg, len, "%s %s cannot be opened: %s", what, path, strerror(errno));
    return f;
}

/* NULL when path holds at least one certificate, else a message into msg (what names the file
 * in it, e.g. "CA file"). */
static const char *gw_cfg_pem_certs(const char *path, const char *what, char *msg, size_t len)
{
    FILE *f = open_pem(path, what, msg, len);
    X509 *x;
    unsigned n = 0;

    if (!f)
        return msg;
    while ((x = PEM_read_X509(f, NULL, no_passphrase, NULL)) != NULL) {
        X509_free(x);
        n++;
    }
    fclose(f);
    ERR_clear_error(); /* the end of the file reads as an error */
    if (n == 0) {
        snprintf(msg, len, "%s holds no PEM certificate", path);
        return msg;
    }
    return NULL;
}

/* NULL when path holds one unencrypted private key (when cert is not NULL, the key of that
 * certificate file's first certificate), else a message into msg. */
static const char *gw_cfg_pem_key(const char *path, const char *cert, char *msg, size_t len)
{
    FILE *f = open_pem(path, "client_key", msg, len);
    EVP_PKEY *key;
    X509 *x = NULL;
    const char *bad = NULL;

    if (!f)
        return msg;
    key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!key) {
        snprintf(msg, len, "%s holds no unencrypted PEM private key", path);
        bad = msg;
    } else if (cert && (f = open_pem(cert, "client_cert", msg, len)) == NULL) {
        bad = msg;
    } else if (cert) {
        x = PEM_read_X509(f, NULL, no_passphrase, NULL);
        fclose(f);
        if (!x) {
            snprintf(msg, len, "%s holds no PEM certificate", cert);
            bad = msg;
        } else if (X509_check_private_key(x, key) != 1) {
            snprintf(msg, len, "%s is not the private key of %s", path, cert);
            bad = msg;
        }
    }
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return bad;
}

void gw_cfg_check_tls_peer(struct gw_cfg_loader *ld, const struct gw_cfg_section *s,
                           const struct gw_tls_peer *t)
{
    char msg[512];
    const char *bad;

    if (!t->client_cert != !t->client_key)
        gw_cfg_fail(ld, gw_cfg_line_of(s, t->client_cert ? "client_cert" : "client_key"),
                    "[%s] client_cert and client_key go together", s->name);
    else if (t->ca_file &&
             (bad = gw_cfg_pem_certs(t->ca_file, "CA file", msg, sizeof(msg))) != NULL)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "ca_file"), "[%s] ca_file: %s", s->name, bad);
    else if (t->client_cert &&
             (bad = gw_cfg_pem_certs(t->client_cert, "client_cert", msg, sizeof(msg))) != NULL)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "client_cert"), "[%s] client_cert: %s", s->name, bad);
    else if (t->client_key &&
             (bad = gw_cfg_pem_key(t->client_key, t->client_cert, msg, sizeof(msg))) != NULL)
        gw_cfg_fail(ld, gw_cfg_line_of(s, "client_key"), "[%s] client_key: %s", s->name, bad);
}
