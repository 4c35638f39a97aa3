/*
 * Benchmark of the paper-copy stage (pipeline/paper.c) on one core:
 *   bench_rules CATALOGUE_DIR [--rules N] [--seconds S]
 * The catalogue is the shipped one plus N (default 500) province rules of clause 3 made here,
 * each a type name, two subject phrases and a sender, in the words of real trích yếu, so that
 * their first words collide as real ones do. One package (three recipients, a 150-character
 * subject, a 1 KB content) is parsed once by the daemon's streaming reader; then the stage as
 * the ingest's worker runs it (gw_classify, the JSON member with its due dates, the text the
 * store receives) is repeated for S seconds (default 3). The document must be classified under
 * clauses 1 and 2 and by one of the generated rules, so nothing is skipped.
 * Prints paper_rules=, paper_stage_us=.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml_reader.h"
#include "pipeline/paper.h"
#include "rules/catalog.h"
#include "rules/classify.h"
#include "util/file.h"

static const char *const words[] = {
    "quy hoạch",       "đầu tư công",   "thu hồi đất",   "giải phóng mặt bằng",
    "bồi thường",      "tái định cư",   "xây dựng",      "giao thông",
    "thủy lợi",        "giáo dục",      "y tế",          "môi trường",
    "khoáng sản",      "rừng phòng hộ", "nông thôn mới", "du lịch",
    "công nghiệp",     "khu kinh tế",   "biên giới",     "chuyển đổi số",
    "an ninh",         "quốc phòng",    "thanh tra",     "khiếu nại",
    "tố cáo",          "ngân sách",     "thuế",          "hải quan",
    "tài nguyên nước", "đê điều"};
static const char *const types[] = {"Tờ trình", "Báo cáo",  "Kế hoạch", "Quyết định",
                                    "Đề án",    "Công văn", "Kết luận"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_rules: %s\n", msg);
    exit(1);
}

static char *generated(size_t n)
{
    size_t cap = n * 300 + 64, w = 0;
    char *t = malloc(cap);
    if (!t)
        die("out of memory");
    w += (size_t)snprintf(t, cap, "[catalogue]\nversion = bench\n");
    for (size_t i = 0; i < n; i++) {
        size_t a = i % 30, b = (i / 30 + a + 1) % 30;
        w += (size_t)snprintf(
            t + w, cap - w,
            "[rule c3.bench%zu]\nclause = 3\neffective_from = 2021-01-01\n"
            "type_name = %s\nsubject = %s %zu | %s và %s\nsender = 000.00.%02zu.H49\n",
            i, types[i % 7], words[a], i, words[b], words[(b + 7) % 30], i % 100);
    }
    return t;
}

static char *package(void)
{
    static const char fmt[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>"
        "<MessageHeader><From><OrganId>000.00.07.H49</OrganId><OrganName>Sở Kế hoạch và Đầu tư"
        "</OrganName></From>"
        "<To><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></To>"
        "<To><OrganId>000.00.00.H44</OrganId><OrganName>UBND tỉnh Bình Dương</OrganName></To>"
        "<To><OrganId>000.00.03.H49</OrganId><OrganName>Sở Tài chính</OrganName></To>"
        "<DocumentId>000.00.07.H49,2026/12/01,812/TTr-SKHĐT</DocumentId>"
        "<Code><CodeNumber>812</CodeNumber><CodeNotation>TTr-SKHĐT</CodeNotation></Code>"
        "<PromulgationInfo><Place>Thủ Dầu Một</Place><PromulgationDate>2026/12/01"
        "</PromulgationDate></PromulgationInfo>"
        "<DocumentType><Type>1</Type><TypeName>Tờ trình</TypeName></DocumentType>"
        "<Subject>V/v đề nghị phê duyệt điều chỉnh kế hoạch đầu tư công trung hạn giai đoạn "
        "2026-2030 và bổ sung kinh phí giải phóng mặt bằng dự án giao thông 7 tuyến trọng "
        "điểm</Subject>"
        "<Content>%s</Content></MessageHeader>"
        "<TraceHeaderList><TraceHeader><OrganId>000.00.07.H49</OrganId>"
        "<Timestamp>2026/12/01 08:00:00</Timestamp></TraceHeader></TraceHeaderList>"
        "</edXMLHeader><edXMLBody><edXMLManifest/></edXMLBody></edXMLEnvelope></edXML>\n";
    char content[1200] = "";
    while (strlen(content) < 1000)
        strcat(content, "Căn cứ Luật Đầu tư công, Sở Kế hoạch và Đầu tư kính trình Ủy ban nhân "
                        "dân tỉnh xem xét, phê duyệt. ");
    size_t cap = sizeof(fmt) + sizeof(content);
    char *p = malloc(cap);
    if (!p)
        die("out of memory");
    snprintf(p, cap, fmt, content);
    return p;
}

int main(int argc, char **argv)
{
    size_t n = 500;
    double secs = 3;
    if (argc < 2)
        die("usage: bench_rules CATALOGUE_DIR [--rules N] [--seconds S]");
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rules") == 0)
            n = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            secs = atof(argv[i + 1]);
    }

    /* the shipped files and the generated province list, as one catalogue */
    const char *files[] = {"clause1_government.ini", "clause2_dossiers.ini"};
    const char *names[3];
    char *texts[3];
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", argv[1], files[i]);
        if (gw_file_read(path, 1 << 20, (uint8_t **)&texts[i], &len) != 0)
            die("cannot read the shipped catalogue");
        names[i] = files[i];
    }
    names[2] = "bench_province.ini";
    texts[2] = generated(n);
    struct gw_catalog *cat;
    struct gw_catalog_error e;
    if (gw_catalog_load_texts(names, (const char *const *)texts, 3, &cat, &e) != 0) {
        fprintf(stderr, "%s:%d: %s: %s\n", e.file, e.line, e.code, e.message);
        die("catalogue refused");
    }

    struct gw_edxml_reader_opts o;
    gw_edxml_reader_opts_default(&o);
    struct gw_edxml_reader *r = gw_edxml_reader_new(&o);
    char *pkg = package(), msg[256];
    const char *code;
    struct gw_edxml_doc *doc = NULL;
    if (!r || gw_edxml_reader_feed(r, pkg, strlen(pkg)) != 0 ||
        gw_edxml_reader_finish(r, &doc, &code, msg, sizeof(msg)) != 0)
        die("the package does not parse");
    gw_edxml_reader_free(r);

    struct gw_config_paper cfg = {.due_days = {0, 1, 3, 3, 3, 3, 3}};
    int32_t day;
    gw_catalog_day("2026-12-01", 10, &day);
    struct gw_classify_result res;
    if (gw_classify(cat, doc, day, false, &res) != 0)
        die("classify failed");
    bool generated_fired = false;
    for (size_t i = 0; i < res.n_hits; i++)
        generated_fired |= strncmp(res.hits[i].rule, "c3.bench", 8) == 0;
    if ((res.clauses & 0x6) != 0x6 || !generated_fired)
        die("the document was not classified under clauses 1, 2 and a generated rule");
    gw_classify_result_free(&res);

    size_t iters = 0;
    double t0 = now_s(), t1;
    do {
        for (int k = 0; k < 100; k++) {
            if (gw_classify(cat, doc, day, false, &res) != 0)
                die("classify failed");
            json_t *j = gw_paper_check_json(&res, cat, &cfg);
            char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
            if (!s)
                die("out of memory");
            free(s);
            json_decref(j);
            gw_classify_result_free(&res);
        }
        iters += 100;
        t1 = now_s();
    } while (t1 - t0 < secs);
    printf("paper_rules=%zu\n", cat->n_rules);
    printf("paper_stage_us=%.1f\n", (t1 - t0) / (double)iters * 1e6);
    gw_edxml_doc_free(doc);
    free(doc);
    gw_catalog_unref(cat);
    for (size_t i = 0; i < 3; i++)
        free(texts[i]);
    free(pkg);
    return 0;
}
