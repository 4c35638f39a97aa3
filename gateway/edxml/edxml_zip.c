/*
 * The ZIP rule of domain.md §2 and bounded unwrapping. Sniffing reads magic bytes; the rule looks
 * at the Attachment's own ContentType and name; unwrapping opens the archive with libzip and
 * streams its one entry through SHA-256, counting the bytes actually inflated against the entry
 * and ratio limits, so a declared size is never trusted (zip bombs stop at the limit).
 */
#include "edxml/edxml_zip.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zip.h>

#include "util/common.h"
#include "util/error.h"

#define ZIP_READ_CHUNK 65536

/* ---- sniffing ---- */

static bool starts(const uint8_t *h, size_t n, const void *magic, size_t m)
{
    return n >= m && memcmp(h, magic, m) == 0;
}

/* Printable text: valid UTF-8 without control bytes other than tab, CR, LF, FF; a sequence cut
 * by the end of the head is allowed. */
static bool looks_text(const uint8_t *h, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return false;
    if (starts(h, n, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < n) {
        uint8_t c = h[i];
        size_t len, j;

        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f')
                return false;
            if (c == 0x7F)
                return false;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return false;
        for (j = 1; j < len && i + j < n; j++)
            if ((h[i + j] & 0xC0) != 0x80)
                return false;
        if (j < len)
            return true; /* cut at the end of the head */
        if (len == 3 && ((c == 0xE0 && h[i + 1] < 0xA0) || (c == 0xED && h[i + 1] >= 0xA0)))
            return false; /* overlong, surrogate */
        if (len == 4 && ((c == 0xF0 && h[i + 1] < 0x90) || (c == 0xF4 && h[i + 1] >= 0x90)))
            return false;
        i += len;
    }
    return true;
}

/* "<?xml" after an optional UTF-8 BOM, or in UTF-16 with or without its BOM. */
static bool looks_xml(const uint8_t *h, size_t n)
{
    if (starts(h, n, "\xEF\xBB\xBF", 3)) {
        h += 3;
        n -= 3;
    }
    if (starts(h, n, "<?xml", 5))
        return true;
    if (starts(h, n, "\xFF\xFE<\0?\0x\0m\0l\0", 12) || starts(h, n, "\xFE\xFF\0<\0?\0x\0m\0l", 12))
        return true;
    return starts(h, n, "<\0?\0x\0m\0l\0", 10) || starts(h, n, "\0<\0?\0x\0m\0l", 10);
}

const char *gw_edxml_sniff(const uint8_t *head, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *type;
    } tab[] = {
        {"%PDF-", 5, "application/pdf"},
        {"PK\3\4", 4, "application/zip"},
        {"PK\5\6", 4, "application/zip"},   /* empty archive */
        {"PK\7\x08", 4, "application/zip"}, /* spanned archive */
        {"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8, "application/x-ole-storage"},
        {"\x89PNG\r\n\x1A\n", 8, "image/png"},
        {"\xFF\xD8\xFF", 3, "image/jpeg"},
        {"GIF87a", 6, "image/gif"},
        {"GIF89a", 6, "image/gif"},
        {"II*\0", 4, "image/tiff"},
        {"MM\0*", 4, "image/tiff"},
        {"{\\rtf", 5, "application/rtf"},
        {"Rar!\x1A\x07", 6, "application/vnd.rar"},
        {"7z\xBC\xAF\x27\x1C", 6, "application/x-7z-compressed"},
        {"\x1F\x8B", 2, "application/gzip"},
    };

    if (!head)
        return "application/octet-stream";
    for (size_t i = 0; i < GW_ARRAY_LEN(tab); i++)
        if (starts(head, n, tab[i].magic, tab[i].len))
            return tab[i].type;
    if (looks_xml(head, n))
        return "application/xml";
    if (looks_text(head, n))
        return "text/plain";
    return "application/octet-stream";
}

/* ---- ZIP-based formats ---- */

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool name_is(const uint8_t *name, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(name, s, n) == 0;
}

static bool name_starts(const uint8_t *name, size_t n, const char *s)
{
    return n >= strlen(s) && memcmp(name, s, strlen(s)) == 0;
}

/* ODF and EPUB: a first entry "mimetype", stored, whose bytes are the type. */
static const char *odf_type(const uint8_t *data, size_t n)
{
    static const char *const types[] = {
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.text-template",
        "application/vnd.oasis.opendocument.text-master",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.spreadsheet-template",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.presentation-template",
        "application/vnd.oasis.opendocument.graphics",
        "application/vnd.oasis.opendocument.graphics-template",
        "application/vnd.oasis.opendocument.formula",
        "application/vnd.oasis.opendocument.chart",
        "application/vnd.oasis.opendocument.database",
        "application/epub+zip",
    };
    for (size_t i = 0; i < GW_ARRAY_LEN(types); i++)
        if (name_is(data, n, types[i]))
            return types[i];
    return NULL;
}

const char *gw_edxml_zip_kind(const uint8_t *head, size_t n)
{
    size_t off = 0;

    for (int entry = 0; entry < 64 && off + 30 <= n && le32(head + off) == 0x04034B50; entry++) {
        const uint8_t *h = head + off, *name = h + 30;
        unsigned flags = le16(h + 6), method = le16(h + 8);
        uint32_t csize = le32(h + 18);
        size_t nlen = le16(h + 26), elen = le16(h + 28);

        if (off + 30 + nlen > n)
            break;
        if (entry == 0 && name_is(name, nlen, "mimetype") && method == 0 && !(flags & 8)) {
            size_t data = off + 30 + nlen + elen;
            return data + csize <= n ? odf_type(head + data, csize) : NULL;
        }
        if (name_starts(name, nlen, "word/"))
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        if (name_starts(name, nlen, "xl/"))
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        if (name_starts(name, nlen, "ppt/"))
            return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
        if ((flags & 8) || (uint64_t)off + 30 + nlen + elen + csize > n)
            break; /* sizes in a data descriptor, or the next header is beyond the head */
        off += 30 + nlen + elen + csize;
    }
    return NULL;
}

/* ---- the rule ---- */

/* The media type without parameters and surrounding blanks, lower-cased, into buf. */
static const char *media_type(const char *ct, char *buf, size_t n)
{
    size_t len = 0;

    if (!ct)
        return "";
    while (*ct == ' ' || *ct == '\t' || *ct == '\r' || *ct == '\n')
        ct++;
    while (ct[len] && ct[len] != ';')
        len++;
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t' || ct[len - 1] == '\r' ||
                       ct[len - 1] == '\n'))
        len--;
    if (len >= n)
        len = n - 1; /* longer than any type we compare with: will not match */
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)ct[i]);
    buf[len] = '\0';
    return buf;
}

static bool prefixed(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool suffixed(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool is_zip_type(const char *t)
{
    static const char *const zips[] = {
        "application/zip",
        "application/x-zip",
        "application/x-zip-compressed",
        "application/zip-compressed",
        "multipart/x-zip",
    };
    for (size_t i = 0; i < GW_ARRAY_LEN(zips); i++)
        if (strcmp(t, zips[i]) == 0)
            return true;
    return false;
}

/* OOXML, ODF and the other formats that are ZIP archives by design (never unwrapped). */
static bool is_container_type(const char *t)
{
    static const char *const types[] = {
        "application/java-archive",
        "application/x-java-archive",
        "application/oxps",
        "application/vnd.ms-xpsdocument",
        "application/vnd.android.package-archive",
    };
    if (prefixed(t, "application/vnd.openxmlformats-officedocument.") ||
        prefixed(t, "application/vnd.oasis.opendocument.") || suffixed(t, "+zip"))
        return true;
    if (prefixed(t, "application/vnd.ms-") && strstr(t, "macroenabled"))
        return true; /* docm, xlsm, pptm... */
    for (size_t i = 0; i < GW_ARRAY_LEN(types); i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

/* The extension of name after its last dot, lower-cased, into buf ("" when none). */
static const char *extension(const char *name, char *buf, size_t n)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    size_t len;

    if (!dot || strchr(dot, '/') || strchr(dot, '\\'))
        return "";
    dot++;
    len = strlen(dot);
    while (len > 0 && (dot[len - 1] == ' ' || dot[len - 1] == '\t'))
        len--;
    if (len >= n)
        return "";
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)dot[i]);
    buf[len] = '\0';
    return buf;
}

static bool is_container_ext(const char *ext)
{
    static const char *const exts[] = {
        "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xlsb", "xltx", "xltm", "xlam", "pptx",
        "pptm", "potx", "potm", "ppsx", "ppsm", "vsdx", "odt",  "ods",  "odp",  "odg",  "odf",
        "odc",  "odb",  "ott",  "ots",  "otp",  "otg",  "epub", "jar",  "apk",  "xps",  "oxps",
    };
    for (size_t i = 0; i < GW_ARRAY_LEN(exts); i++)
        if (strcmp(ext, exts[i]) == 0)
            return true;
    return false;
}

bool gw_edxml_zip_natural(const char *content_type, const char *name)
{
    char tbuf[128], ebuf[16];
    const char *t = media_type(content_type, tbuf, sizeof(tbuf));

    return is_zip_type(t) || is_container_type(t) ||
           is_container_ext(extension(name, ebuf, sizeof(ebuf)));
}

bool gw_edxml_zip_should_unwrap(const uint8_t *head, size_t n, const char *content_type,
                                const char *name)
{
    char tbuf[128], ebuf[16];
    const char *t = media_type(content_type, tbuf, sizeof(tbuf));
    const char *ext = extension(name, ebuf, sizeof(ebuf));

    if (!head || !starts(head, n, "PK\3\4", 4))
        return false;
    if (is_container_type(t) || is_container_ext(ext) || gw_edxml_zip_kind(head, n))
        return false; /* a docx, xlsx, odt...: a ZIP by nature (by type, name or content) */
    if (is_zip_type(t))
        return strcmp(ext, "zip") != 0; /* the vendor library's convention */
    return true;
}

/* ---- unwrapping ---- */

static int fail(struct gw_edxml_zip_result *res, const char *code, int rc)
{
    res->error = code;
    return rc;
}

/* Maps a libzip error met while opening or reading to our codes. */
static int zip_error_rc(int ze, struct gw_edxml_zip_result *res)
{
    switch (ze) {
    case ZIP_ER_MEMORY:
        return fail(res, NULL, GW_ENOMEM);
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_OPEN:
        return fail(res, NULL, GW_EIO);
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
    case ZIP_ER_ENCRNOTSUPP:
        return fail(res, "zip_encrypted", GW_EPARSE);
    default:
        return fail(res, "zip_corrupt", GW_EPARSE);
    }
}

/* Streams entry 0 through SHA-256 within the limits. */
static int stream_entry(zip_t *za, uint64_t archive_bytes, const struct gw_edxml_zip_limits *lim,
                        struct gw_edxml_zip_result *res)
{
    uint64_t ratio_cap = archive_bytes * lim->max_ratio;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(ZIP_READ_CHUNK);
    uint8_t head[64];
    size_t head_n = 0;
    uint64_t total = 0;
    unsigned mdlen = 0;
    zip_file_t *zf = NULL;
    int rc = 0;

    if (archive_bytes != 0 && ratio_cap / archive_bytes != lim->max_ratio)
        ratio_cap = UINT64_MAX;
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = fail(res, NULL, GW_ENOMEM);
        goto out;
    }
    zf = zip_fopen_index(za, 0, 0);
    if (!zf) {
        rc = zip_error_rc(zip_error_code_zip(zip_get_error(za)), res);
        goto out;
    }
    for (;;) {
        zip_int64_t got = zip_fread(zf, buf, ZIP_READ_CHUNK);

        if (got < 0) {
            rc = zip_error_rc(zip_error_code_zip(zip_file_get_error(zf)), res);
            goto out;
        }
        if (got == 0)
            break;
        total += (uint64_t)got;
        if (total > lim->max_entry_bytes) {
            rc = fail(res, "zip_entry_too_large", GW_ELIMIT);
            goto out;
        }
        if (total > ratio_cap) {
            rc = fail(res, "zip_bomb", GW_ELIMIT);
            goto out;
        }
        if (head_n < sizeof(head)) {
            size_t take = sizeof(head) - head_n;
            if (take > (size_t)got)
                take = (size_t)got;
            memcpy(head + head_n, buf, take);
            head_n += take;
        }
        if (EVP_DigestUpdate(md, buf, (size_t)got) != 1 ||
            (lim->sink && lim->sink(lim->sink_ud, buf, (size_t)got) != 0)) {
            rc = fail(res, NULL, GW_ENOMEM);
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, res->sha256, &mdlen) != 1 || mdlen != 32) {
        rc = fail(res, NULL, GW_ENOMEM);
        goto out;
    }
    res->size = total;
    snprintf(res->detected_type, sizeof(res->detected_type), "%s", gw_edxml_sniff(head, head_n));
out:
    if (zf && zip_fclose(zf) != 0 && rc == 0)
        rc = fail(res, "zip_corrupt", GW_EPARSE); /* a CRC error is reported on close */
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}

int gw_edxml_zip_unwrap(int fd, const struct gw_edxml_zip_limits *lim,
                        struct gw_edxml_zip_result *res)
{
    struct stat st;
    zip_stat_t zs;
    zip_t *za;
    int ze = 0, dfd, rc;

    memset(res, 0, sizeof(*res));
    if (fd < 0 || !lim || lim->max_entry_bytes == 0 || lim->max_ratio == 0)
        return GW_EINVAL;
    if (fstat(fd, &st) != 0)
        return GW_EIO;
    dfd = dup(fd); /* libzip owns (and closes) the descriptor it is given */
    if (dfd < 0)
        return GW_EIO;
    za = zip_fdopen(dfd, 0, &ze);
    if (!za) {
        close(dfd); /* on failure libzip leaves it open */
        if (ze == ZIP_ER_NOZIP || ze == ZIP_ER_INCONS)
            return fail(res, "zip_corrupt", GW_EPARSE);
        return zip_error_rc(ze, res);
    }
    if (zip_get_num_entries(za, 0) != 1) {
        rc = fail(res, "zip_not_one_entry", GW_EPARSE);
        goto out;
    }
    zip_stat_init(&zs);
    if (zip_stat_index(za, 0, 0, &zs) != 0) {
        rc = zip_error_rc(zip_error_code_zip(zip_get_error(za)), res);
        goto out;
    }
    if (!(zs.valid & ZIP_STAT_NAME) || !zs.name || zs.name[0] == '\0' ||
        zs.name[strlen(zs.name) - 1] == '/') {
        rc = fail(res, "zip_not_one_entry", GW_EPARSE); /* a directory is not a file entry */
        goto out;
    }
    if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE) {
        rc = fail(res, "zip_encrypted", GW_EPARSE);
        goto out;
    }
    if ((zs.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(zs.comp_method, 0)) {
        rc = fail(res, "zip_corrupt", GW_EPARSE);
        goto out;
    }
    rc = stream_entry(za, (uint64_t)st.st_size, lim, res);
    if (rc == 0) {
        res->entry_name = strdup(zs.name);
        if (!res->entry_name)
            rc = fail(res, NULL, GW_ENOMEM);
    }
out:
    zip_discard(za);
    if (rc != 0) {
        const char *code = res->error;
        free(res->entry_name);
        memset(res, 0, sizeof(*res));
        res->error = code;
    }
    return rc;
}

void gw_edxml_zip_result_free(struct gw_edxml_zip_result *res)
{
    if (!res)
        return;
    free(res->entry_name);
    res->entry_name = NULL;
}
