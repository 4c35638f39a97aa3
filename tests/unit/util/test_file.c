/*
 * Unit tests for gateway/util/file.c: a whole file read within its limit, NUL-terminated; a file
 * over the limit, a directory and a missing file refused with their codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

static void test_read(void **state)
{
    char dir[] = "/tmp/gw-file-XXXXXX", path[64];
    uint8_t *buf;
    size_t len;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a", dir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite("abc\0def", 1, 7, f), 7);
    fclose(f);
    assert_int_equal(gw_file_read(path, 7, &buf, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "abc\0def", 7);
    assert_int_equal(buf[7], 0);
    free(buf);
    assert_int_equal(gw_file_read(path, 6, &buf, &len), GW_ELIMIT);
    assert_null(buf);
    assert_int_equal(gw_file_read(dir, 100, &buf, &len), GW_EINVAL);
    unlink(path);
    assert_int_equal(gw_file_read(path, 100, &buf, &len), GW_EIO);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
