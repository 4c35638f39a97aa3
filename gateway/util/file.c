/* Reads a whole regular file into memory within a size limit (util/file.h). */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

int gw_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0, size;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return GW_EIO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int rc = S_ISREG(st.st_mode) ? GW_EIO : GW_EINVAL;
        close(fd);
        return rc;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return GW_ELIMIT;
    }
    size = (size_t)st.st_size;
    if (!(buf = malloc(size + 1))) {
        close(fd);
        return GW_ENOMEM;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(buf);
        return GW_EIO;
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return 0;
}
