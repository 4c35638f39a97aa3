/*
 * Unit tests for gateway/sig/xmldsig.c: edXML envelopes signed at test time by the xmlsec1 CLI
 * from the templates in tests/fixtures/xmldsig/, with `xmlsec1 --verify` as the oracle for the
 * cryptography; attacks (content changed after signing, wrapping, duplicate Id, two references,
 * XPath and XSLT transforms, external URIs, HMAC, another key) and the placeholders seen in real
 * traffic (QCVN namespace, "AAAA" values, truncated certificate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sig/xmldsig.h"
#include "util/error.h"

#define FIX GW_SOURCE_DIR "/tests/fixtures/xmldsig/"

static char dir[] = "/tmp/gw_xmldsig_XXXXXX";
static char path_buf[512];

static const char *at(const char *name)
{
    snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
    return path_buf;
}

/* Runs argv (NULL-terminated) without a shell, output discarded; its exit status. */
static int run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return b;
}

static void spit(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

/* s with the first occurrence of from replaced by to (malloc'd); from must occur. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    assert_non_null(p);
    size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), rest = strlen(p + fl);
    char *o = malloc(a + tl + rest + 1);
    assert_non_null(o);
    memcpy(o, s, a);
    memcpy(o + a, to, tl);
    memcpy(o + a + tl, p + fl, rest + 1);
    return o;
}

static void sign(const char *tmpl, const char *out, bool id_attr)
{
    char src[512], key[600], dst[512];
    snprintf(src, sizeof(src), FIX "%s", tmpl);
    snprintf(key, sizeof(key), "%s/key.pem,%s/cert.pem", dir, dir);
    snprintf(dst, sizeof(dst), "%s/%s", dir, out);
    const char *a1[] = {"xmlsec1", "--sign", "--privkey-pem", key, "--output", dst, src, NULL};
    const char *a2[] = {
        "xmlsec1", "--sign", "--privkey-pem", key, "--id-attr:Id", "edXML", "--output", dst,
        src,       NULL};
    assert_int_equal(run(id_attr ? a2 : a1), 0);
}

/* The oracle: xmlsec1 verifies with the KeyInfo certificate, same-document references only. */
static bool oracle(const char *text)
{
    spit(at("oracle.xml"), text);
    const char *a[] = {"xmlsec1",
                       "--verify",
                       "--enabled-reference-uris",
                       "empty,same-doc",
                       "--enabled-key-data",
                       "x509",
                       "--insecure",
                       "--id-attr:Id",
                       "edXML",
                       at("oracle.xml"),
                       NULL};
    return run(a) == 0;
}

static struct gw_xmldsig_result check_text(const char *text)
{
    struct gw_xmldsig_result r;
    assert_int_equal(gw_xmldsig_check((const uint8_t *)text, strlen(text), &r), 0);
    return r;
}

static void expect(const char *text, enum gw_xmldsig_status st, const char *code)
{
    struct gw_xmldsig_result r = check_text(text);
    print_message("  -> %s %s\n", gw_xmldsig_status_name(r.status), r.code ? r.code : "");
    assert_int_equal(r.status, st);
    if (code)
        assert_string_equal(r.code, code);
    else
        assert_null(r.code);
    gw_xmldsig_result_clear(&r);
}

static char *signed_text(const char *name)
{
    char *s = slurp(at(name), NULL);
    return s;
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    char subj[] = "/C=VN/O=Văn phòng Chính phủ/CN=Văn phòng Chính phủ";
    char key[512], crt[512], key2[512], crt2[512];
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(crt, sizeof(crt), "%s/cert.pem", dir);
    snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
    snprintf(crt2, sizeof(crt2), "%s/cert2.pem", dir);
    const char *a[] = {"openssl", "req",     "-x509", "-utf8", "-newkey", "rsa:2048",
                       "-nodes",  "-keyout", key,     "-subj", subj,      "-days",
                       "30",      "-out",    crt,     NULL};
    const char *b[] = {"openssl", "req",     "-x509", "-utf8", "-newkey", "rsa:2048",
                       "-nodes",  "-keyout", key2,    "-subj", subj,      "-days",
                       "30",      "-out",    crt2,    NULL};
    if (run(a) != 0 || run(b) != 0)
        return -1;
    if (gw_xmldsig_global_init() != 0 || gw_xmldsig_global_init() != 0)
        return -1;
    sign("tmpl_uri_empty.xml", "uri_empty.xml", false);
    sign("tmpl_uri_id.xml", "uri_id.xml", true);
    sign("tmpl_sha1.xml", "sha1.xml", false);
    sign("tmpl_two_refs.xml", "two_refs.xml", true);
    sign("tmpl_xpath.xml", "xpath.xml", false);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_valid(void **state)
{
    const char *names[] = {"uri_empty.xml", "uri_id.xml", "sha1.xml"};
    FILE *f = fopen(at("cert.pem"), "r");
    assert_non_null(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    for (size_t i = 0; i < 3; i++) {
        char *s = signed_text(names[i]);
        assert_true(oracle(s));
        struct gw_xmldsig_result r = check_text(s);
        print_message("%s -> %s %s\n", names[i], gw_xmldsig_status_name(r.status),
                      r.code ? r.code : "");
        assert_int_equal(r.status, GW_XMLDSIG_VALID);
        assert_null(r.code);
        assert_non_null(r.signer);
        assert_int_equal(X509_cmp(r.signer, cert), 0);
        assert_int_equal(r.sha1, i == 2);
        assert_non_null(strstr(r.signature_method, i == 2 ? "rsa-sha1" : "rsa-sha256"));
        gw_xmldsig_result_clear(&r);
        assert_null(r.signer);
        free(s);
    }
    X509_free(cert);
}

static void test_modified(void **state)
{
    char *s = signed_text("uri_empty.xml");
    char *m = replace(s, "Công văn", "Quyết định");
    assert_false(oracle(m));
    expect(m, GW_XMLDSIG_INVALID, "digest_mismatch");
    free(m);
    m = replace(s, "JVBERi0x", "JVBERi0y"); /* the attachment, outside the envelope */
    assert_false(oracle(m));
    expect(m, GW_XMLDSIG_INVALID, "digest_mismatch");
    free(m);
    /* One character of the signature value changed. */
    const char *v = strstr(s, "<SignatureValue>") + strlen("<SignatureValue>");
    char c[2] = {v[0], 0}, d[2] = {v[0] == 'A' ? 'B' : 'A', 0};
    char from[40], to[40];
    snprintf(from, sizeof(from), "<SignatureValue>%s", c);
    snprintf(to, sizeof(to), "<SignatureValue>%s", d);
    m = replace(s, from, to);
    assert_false(oracle(m));
    expect(m, GW_XMLDSIG_INVALID, "signature_invalid");
    free(m);
    free(s);
}

static void test_other_key(void **state)
{
    /* The KeyInfo certificate replaced by another key's: the value no longer verifies. */
    char *s = signed_text("uri_empty.xml");
    char *c1 = slurp(at("cert.pem"), NULL), *c2 = slurp(at("cert2.pem"), NULL);
    const char *hdr = "-----BEGIN CERTIFICATE-----\n";
    char *b1 = strstr(c1, hdr) + strlen(hdr), *b2 = strstr(c2, hdr) + strlen(hdr);
    *strstr(b1, "\n-----END") = '\0';
    *strstr(b2, "\n-----END") = '\0';
    char *m = replace(s, b1, b2);
    assert_false(oracle(m));
    expect(m, GW_XMLDSIG_INVALID, "signature_invalid");
    free(m);
    free(c1);
    free(c2);
    free(s);
}

static void test_wrapping(void **state)
{
    char *s = signed_text("uri_id.xml");
    /* The signed edXML element moved under a new root whose envelope is the attacker's. */
    char *body = strstr(s, "<edXML:edXML");
    assert_non_null(body);
    size_t n = strlen(body) + 1024;
    char *w = malloc(n);
    snprintf(w, n,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<edXML:edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
             "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>"
             "<edXML:Subject>Văn bản giả mạo</edXML:Subject></edXML:MessageHeader>"
             "</edXML:edXMLHeader></edXML:edXMLEnvelope><edXML:Wrapper>%s</edXML:Wrapper>"
             "</edXML:edXML>",
             body);
    assert_true(oracle(w)); /* the cryptography holds: only the rule catches it */
    expect(w, GW_XMLDSIG_INVALID, "wrapping");
    free(w);

    /* A second element with the same Id, placed before the signed one. */
    char *d = replace(s, "<edXML:edXMLEnvelope>", "<edXML:Note Id=\"pkg\"/><edXML:edXMLEnvelope>");
    expect(d, GW_XMLDSIG_INVALID, "duplicate_id");
    free(d);
    d = replace(s, "<edXML:edXMLEnvelope>", "<edXML:edXMLEnvelope xml:id=\"pkg\">");
    expect(d, GW_XMLDSIG_INVALID, "duplicate_id");
    free(d);
    free(s);
}

static void test_references(void **state)
{
    char *s = signed_text("two_refs.xml");
    assert_true(oracle(s));
    expect(s, GW_XMLDSIG_INVALID, "reference_count");
    free(s);

    s = signed_text("xpath.xml");
    assert_true(oracle(s));
    expect(s, GW_XMLDSIG_INVALID, "transform_not_allowed");
    free(s);

    s = signed_text("uri_empty.xml");
    const char *env = "#enveloped-signature\"/>";
    char *m = replace(s, env,
                      "#enveloped-signature\"/><Transform "
                      "Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"><xsl:stylesheet "
                      "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\"/>"
                      "</Transform>");
    expect(m, GW_XMLDSIG_INVALID, "transform_not_allowed");
    free(m);
    m = replace(
        s, "<CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"",
        "<CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"");
    expect(m, GW_XMLDSIG_INVALID, "transform_not_allowed");
    free(m);
    const char *uris[] = {"URI=\"http://127.0.0.1:9/x.xml\"", "URI=\"#xpointer(/)\"",
                          "URI=\"#nowhere\"", "Id=\"x\""};
    for (size_t i = 0; i < 4; i++) {
        m = replace(s, "URI=\"\"", uris[i]);
        expect(m, GW_XMLDSIG_INVALID, "reference_uri");
        free(m);
    }
    m = replace(s, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256");
    expect(m, GW_XMLDSIG_INVALID, "verify_error"); /* no HMAC with a certificate's key */
    free(m);

    /* Two Signature blocks. */
    char *sig = strstr(s, "      <Signature"), *end = strstr(s, "</Signature>");
    size_t sl = (size_t)(end + strlen("</Signature>") - sig);
    char *block = strndup(sig, sl), *dbl = malloc(2 * sl + 2);
    snprintf(dbl, 2 * sl + 2, "%s\n%s", block, block);
    m = replace(s, block, dbl);
    expect(m, GW_XMLDSIG_INVALID, "signature_count");
    free(m);
    free(block);
    free(dbl);
    free(s);
}

static void test_placeholders(void **state)
{
    const struct {
        const char *file, *code;
    } ph[] = {
        {"placeholder_qcvn.xml", "wrong_namespace"},
        {"placeholder_aaaa.xml", "placeholder_value"}, /* with an undeclared xlink prefix */
        {"placeholder_no_signed_info.xml", "no_signed_info"},
    };
    for (size_t i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof(p), FIX "%s", ph[i].file);
        char *s = slurp(p, NULL);
        print_message("%s\n", ph[i].file);
        expect(s, GW_XMLDSIG_PLACEHOLDER, ph[i].code);
        free(s);
    }
    char *u = slurp(FIX "unsigned.xml", NULL);
    expect(u, GW_XMLDSIG_ABSENT, NULL);
    free(u);

    /* A real signature whose certificate is truncated, or missing. */
    char *s = signed_text("uri_empty.xml");
    char *c = strstr(s, "<X509Certificate>") + strlen("<X509Certificate>");
    char *e = strstr(c, "</X509Certificate>");
    memmove(c + 200, e, strlen(e) + 1);
    assert_false(oracle(s));
    expect(s, GW_XMLDSIG_PLACEHOLDER, "undecodable_cert");
    free(s);
    s = signed_text("uri_empty.xml");
    char *x = strstr(s, "<X509Data>"), *xe = strstr(s, "</X509Data>") + strlen("</X509Data>");
    memmove(x, xe, strlen(xe) + 1);
    expect(s, GW_XMLDSIG_PLACEHOLDER, "no_certificate");
    free(s);
    /* A signed block whose DigestValue is the vendor's filler. */
    s = signed_text("uri_empty.xml");
    char *d = strstr(s, "<DigestValue>") + strlen("<DigestValue>");
    for (char *q = d; *q != '<'; q++)
        *q = *q == '=' ? '=' : 'A';
    expect(s, GW_XMLDSIG_PLACEHOLDER, "placeholder_value");
    free(s);
}

static void test_bad_input(void **state)
{
    struct gw_xmldsig_result r;
    const char *bad = "<edXML:edXML xmlns:edXML=\"x\"><a></edXML:edXML>";
    assert_int_equal(gw_xmldsig_check((const uint8_t *)bad, strlen(bad), &r), GW_EPARSE);
    assert_null(r.signer);
    const char *dt = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
    expect(dt, GW_XMLDSIG_INVALID, "doctype");
    assert_int_equal(gw_xmldsig_check((const uint8_t *)"", 0, &r), GW_EPARSE);
    gw_xmldsig_result_clear(NULL);
}

static void *worker(void *arg)
{
    const char *s = arg;
    for (int i = 0; i < 20; i++) {
        struct gw_xmldsig_result r;
        if (gw_xmldsig_check((const uint8_t *)s, strlen(s), &r) != 0 ||
            r.status != GW_XMLDSIG_VALID)
            return (void *)1;
        gw_xmldsig_result_clear(&r);
    }
    return NULL;
}

static void test_threads(void **state)
{
    char *s = signed_text("uri_id.xml");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, s), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),      cmocka_unit_test(test_modified),
        cmocka_unit_test(test_other_key),  cmocka_unit_test(test_wrapping),
        cmocka_unit_test(test_references), cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_bad_input),  cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
