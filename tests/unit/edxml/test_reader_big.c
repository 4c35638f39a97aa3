/*
 * The reader's memory bound and speed: a generated package with a 50 MB attachment is fed in
 * 64 KiB chunks; its decoded size and SHA-256 must equal OpenSSL's one-shot SHA256 over the bytes
 * generated here, and the peak RSS may grow by less than 16 MB while reading. Also prints the
 * throughput (MB/s of feed + finish) on a 1 MB and the 50 MB package; timings are not asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "edxml/edxml_reader.h"

#define NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define HEAD                                                                                       \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML:edXML xmlns:edXML=\"" NS "\">\n"           \
    "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>"                                \
    "<edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From>"                        \
    "<edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:To>"                            \
    "<edXML:DocumentId>000.00.00.H41,2020/01/01,1/X</edXML:DocumentId>"                            \
    "</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope>\n"                           \
    "<edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentId>a</edXML:ContentId>"              \
    "<edXML:AttachmentName>big.bin</edXML:AttachmentName>"                                         \
    "<edXML:ContentType>application/octet-stream</edXML:ContentType>"                              \
    "<edXML:ContentTransferEncoded>"
#define TAIL                                                                                       \
    "</edXML:ContentTransferEncoded></edXML:Attachment></edXML:AttachmentEncoded></edXML:edXML>\n"

/* Deterministic incompressible bytes (xorshift64). */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

static long maxrss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Base64 of data in 76-character lines, fed in pieces of about 64 KiB; returns the seconds spent
 * in the reader and checks the result. */
static double run(const uint8_t *data, size_t n, bool check_rss)
{
    struct gw_edxml_reader_opts o;
    struct gw_edxml_reader *r;
    struct gw_edxml_doc *doc = NULL;
    static char enc[65536 + 4096];
    uint8_t md[32];
    char msg[200];
    double spent = 0, t;
    long before = maxrss_kb();
    const size_t per = 57 * 860; /* decoded bytes per piece: 860 lines of 76 characters */

    gw_edxml_reader_opts_default(&o);
    o.limits.max_bytes = 128u * 1024 * 1024; /* 50 MB decoded is 67.6 MB of base64 */
    r = gw_edxml_reader_new(&o);
    assert_non_null(r);
    assert_int_equal(gw_edxml_reader_feed(r, HEAD, strlen(HEAD)), 0);
    for (size_t off = 0; off < n; off += per) {
        size_t k = n - off < per ? n - off : per, e = 0;
        for (size_t l = 0; l < k; l += 57) {
            size_t m = k - l < 57 ? k - l : 57;
            e += (size_t)EVP_EncodeBlock((unsigned char *)enc + e, data + off + l, (int)m);
            enc[e++] = '\n';
        }
        t = now();
        assert_int_equal(gw_edxml_reader_feed(r, enc, e), 0);
        spent += now() - t;
    }
    t = now();
    assert_int_equal(gw_edxml_reader_feed(r, TAIL, strlen(TAIL)), 0);
    assert_int_equal(gw_edxml_reader_finish(r, &doc, NULL, msg, sizeof(msg)), 0);
    spent += now() - t;
    gw_edxml_reader_free(r);
    assert_int_equal(doc->n_attachments, 1);
    assert_non_null(doc->header_xml);
    assert_int_equal(doc->attachments[0].size, n);
    SHA256(data, n, md);
    assert_memory_equal(doc->attachments[0].sha256, md, 32);
    if (check_rss) {
        long grew = maxrss_kb() - before;
        printf("reader: peak RSS grew by %ld KiB reading a %zu-byte attachment\n", grew, n);
        assert_true(grew < 16 * 1024);
    }
    printf("reader: %.1f MB/s (%zu decoded bytes, %.3f s in feed + finish)\n",
           (double)doc->size / 1e6 / spent, n, spent);
    gw_edxml_doc_free(doc);
    free(doc);
    return spent;
}

static void test_50mb(void **state)
{
    size_t n = 50u * 1000 * 1000;
    uint8_t *data = malloc(n);

    assert_non_null(data);
    fill(data, n, 0x9e3779b97f4a7c15ull);
    run(data, 1000 * 1000 * 3 / 4, false); /* a 1 MB package */
    run(data, n, true);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_50mb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
