/* test_fs_log.c — the bounded logs behind `events`, `events.json` and `errors`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/fs_int.h"

static void test_fs_log_lines_are_stamped(void **state)
{
    struct fs_log l;

    (void)state;
    fs_log_init(&l, 0, 0);
    assert_int_equal(fs_log_append(&l, 0, "mounted"), 0);
    assert_int_equal(fs_log_append(&l, 86400, "two\nlines"), 0);
    assert_int_equal(l.len, strlen("1970-01-01T00:00:00Z mounted\n"
                                   "1970-01-02T00:00:00Z two lines\n"));
    assert_memory_equal(l.buf, "1970-01-01T00:00:00Z mounted\n1970-01-02T00:00:00Z two lines\n",
                        l.len);
    assert_int_equal(l.lines, 2);
    assert_int_equal(l.mtime, 86400);
    fs_log_free(&l);
}

static void test_fs_log_keeps_the_latest_lines(void **state)
{
    struct fs_log l;
    char line[16];

    (void)state;
    fs_log_init(&l, 0, 3);
    for (int i = 1; i <= 5; i++) {
        snprintf(line, sizeof(line), "e%d", i);
        assert_int_equal(fs_log_append(&l, 0, line), 0);
    }
    assert_int_equal(l.lines, 3);
    assert_memory_equal(l.buf,
                        "1970-01-01T00:00:00Z e3\n1970-01-01T00:00:00Z e4\n"
                        "1970-01-01T00:00:00Z e5\n",
                        l.len);
    fs_log_free(&l);
}

static void test_fs_log_byte_bound_drops_whole_old_lines(void **state)
{
    struct fs_log l;
    char line[64];

    (void)state;
    fs_log_init(&l, 256, 0);
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "event number %d", i);
        assert_int_equal(fs_log_append(&l, 0, line), 0);
        assert_true(l.len <= 256);
        /* Always whole lines: starts with a stamp, ends with a newline. */
        assert_memory_equal(l.buf, "1970-", 5);
        assert_int_equal(l.buf[l.len - 1], '\n');
    }
    assert_non_null(strstr(l.buf, "event number 99\n"));
    assert_null(strstr(l.buf, "event number 0\n"));
    fs_log_free(&l);
}

/* events.json: one compact object a line; quotes, newlines and bytes that are not UTF-8 cannot
 * break the line or the document. */
static void test_fs_log_json_lines(void **state)
{
    struct fs_log l;
    static const char want[] =
        "{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"info\",\"message\":\"a \\\"q\\\"\\nb\"}\n"
        "{\"time\":\"1970-01-01T00:00:01Z\",\"level\":\"error\",\"message\":\"bad ??\"}\n";

    (void)state;
    fs_log_init(&l, 0, 0);
    assert_int_equal(fs_log_append_json(&l, 0, "info", "a \"q\"\nb"), 0);
    assert_int_equal(fs_log_append_json(&l, 1, "error", "bad \xff\xfe"), 0);
    assert_int_equal(l.len, strlen(want));
    assert_memory_equal(l.buf, want, l.len);
    assert_int_equal(l.lines, 2);
    assert_int_equal(l.mtime, 1);
    fs_log_free(&l);
}

/* The byte bound keeps whole JSON lines. */
static void test_fs_log_json_bound(void **state)
{
    struct fs_log l;

    (void)state;
    fs_log_init(&l, 256, 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(fs_log_append_json(&l, i, "info", "something happened"), 0);
    assert_true(l.len <= 256);
    assert_true(l.len > 0);
    assert_memory_equal(l.buf, "{\"time\":", 8);
    assert_int_equal(l.buf[l.len - 1], '\n');
    fs_log_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_log_lines_are_stamped),
        cmocka_unit_test(test_fs_log_keeps_the_latest_lines),
        cmocka_unit_test(test_fs_log_byte_bound_drops_whole_old_lines),
        cmocka_unit_test(test_fs_log_json_lines),
        cmocka_unit_test(test_fs_log_json_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
