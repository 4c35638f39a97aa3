#ifndef GW_EDXML_ZIP_H
#define GW_EDXML_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The ZIP rule of domain.md §2 and bounded unwrapping with libzip, plus type sniffing from magic
 * bytes. Pure functions but for reading the file descriptor they are given.
 */

/* Detected type of bytes from their first n (>= 8 useful) bytes: "application/pdf",
 * "application/zip", "application/x-ole-storage" (doc/xls), "image/png", "image/jpeg",
 * "application/xml", "text/plain" or "application/octet-stream". For a ZIP whose first entry
 * names an OOXML/ODF part the caller may refine it with gw_edxml_zip_kind(). Static string. */
const char *gw_edxml_sniff(const uint8_t *head, size_t n);

/* The format of a ZIP-based document from its first local headers in head: an ODF or EPUB type
 * (first entry "mimetype", stored) or an OOXML type (an entry under word/, xl/ or ppt/ within
 * head; a few KiB are enough for files written by office suites), else NULL. Static string, up
 * to 73 bytes long (more than a detected_type[64] holds: store it in a larger field). */
const char *gw_edxml_zip_kind(const uint8_t *head, size_t n);

/* True when the declared type (and the attachment's name) says "a ZIP by nature": zip, OOXML
 * (docx, xlsx, pptx), ODF (odt, ods, odp), jar/epub... */
bool gw_edxml_zip_natural(const char *content_type, const char *name);

/* The rule: unwrap when head starts "PK\3\4" and (content_type is not a zip/OOXML/ODF type, or
 * content_type is application/zip and name's extension is not .zip); never for docx/xlsx/odt
 * (by type or by name), nor bytes gw_edxml_zip_kind() recognises. */
bool gw_edxml_zip_should_unwrap(const uint8_t *head, size_t n, const char *content_type,
                                const char *name);

struct gw_edxml_zip_limits {
    uint64_t max_entry_bytes; /* uncompressed size of the one entry */
    unsigned max_ratio;       /* uncompressed / compressed */
    /* Optional: receives the entry's bytes as they are inflated (within the limits); non-zero
     * stops the unwrap with GW_ENOMEM. */
    int (*sink)(void *ud, const uint8_t *bytes, size_t n);
    void *sink_ud;
};

struct gw_edxml_zip_result {
    char *entry_name; /* malloc'd */
    uint64_t size;
    uint8_t sha256[32];
    char detected_type[64];
    const char *error; /* stable code on failure: "zip_not_one_entry", "zip_bomb",
                          "zip_entry_too_large", "zip_corrupt", "zip_encrypted" */
};

/* Opens the archive in fd (decoded attachment bytes, any position; fd is not closed) and, when
 * it holds exactly one entry, streams it through SHA-256 within the limits (the declared sizes
 * are not trusted: the bytes actually inflated are counted). 0 with *res filled, or
 * GW_EPARSE/GW_ELIMIT with res->error set (not a verdict on the package: the attachment is
 * relayed as sent, with a finding), GW_ENOMEM, GW_EIO. */
int gw_edxml_zip_unwrap(int fd, const struct gw_edxml_zip_limits *lim,
                        struct gw_edxml_zip_result *res) __attribute__((warn_unused_result));

void gw_edxml_zip_result_free(struct gw_edxml_zip_result *res);

#endif
