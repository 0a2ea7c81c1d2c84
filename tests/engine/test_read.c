/* engine_read_fd() (engine/read.h): an input read to its end, or to one byte past the limit,
 * whatever the first allocation's hint. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"

/* N bytes of a pattern through a pipe (its buffer holds them), read with LIMIT and HINT. */
static size_t read_pipe(size_t n, size_t limit, size_t hint, char **out)
{
    int p[2];
    char *data = malloc(n + 1);
    size_t len = 0;

    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], data, n), (ssize_t)n);
    close(p[1]);
    assert_int_equal(engine_read_fd(p[0], limit, hint, out, &len), 0);
    close(p[0]);
    assert_int_equal((*out)[len], '\0');
    assert_memory_equal(*out, data, len);
    free(data);
    return len;
}

static void test_read_to_end_within_the_limit(void **state)
{
    (void)state;
    char *b;
    /* hints below, at and above the size: the buffer grows as needed */
    const size_t hints[] = {0, 1, 100, 5000, 65536};
    for (size_t k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
        assert_int_equal(read_pipe(5000, 5000, hints[k], &b), 5000);
        free(b);
        assert_int_equal(read_pipe(5000, 60000, hints[k], &b), 5000);
        free(b);
    }
    assert_int_equal(read_pipe(0, 10, 10, &b), 0);
    free(b);
}

static void test_read_stops_one_byte_past_the_limit(void **state)
{
    (void)state;
    char *b;
    const size_t hints[] = {0, 7, 4999, 5000, 65536};
    for (size_t k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
        assert_int_equal(read_pipe(6000, 4999, hints[k], &b), 5000);
        free(b);
        assert_int_equal(read_pipe(5000, 4999, hints[k], &b), 5000);
        free(b);
    }
    assert_int_equal(read_pipe(1, 0, 0, &b), 1);
    free(b);
}

static void test_read_error_allocates_nothing(void **state)
{
    (void)state;
    char *b = (char *)1;
    size_t len = 1;
    assert_int_equal(engine_read_fd(-1, 10, 10, &b, &len), -EBADF);
    assert_null(b);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_to_end_within_the_limit),
        cmocka_unit_test(test_read_stops_one_byte_past_the_limit),
        cmocka_unit_test(test_read_error_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
