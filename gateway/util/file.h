#ifndef GW_FILE_H
#define GW_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A whole regular file read into memory, for small files read once (migrations, a document
 * given to gatewayctl): never more than max bytes.
 */

/* *out is malloc'd and NUL-terminated (not counted in *len). 0, GW_EIO (cannot open or read;
 * errno says why), GW_EINVAL (not a regular file), GW_ELIMIT (larger than max), GW_ENOMEM. */
int gw_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

#endif
