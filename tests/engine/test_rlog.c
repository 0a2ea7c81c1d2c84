/* test_rlog.c — the size-bounded log on disk (engine/rlog.h): rotation keeps KEEP files of at
 * most MAX bytes, the oldest dropped first, and a reader sees them as one text, oldest first. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/unisec-rlog-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

/* The whole log as one string (at most 4 KiB). */
static const char *whole(const char *sub, const char *name, unsigned keep)
{
    static char buf[4096];
    ssize_t n = engine_rlog_read(sub, name, keep, 0, buf, sizeof(buf) - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static void test_rotation(void **state)
{
    struct engine_rlog l;
    char sub[300], line[16];
    size_t size;
    time_t mt;

    (void)state;
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    /* Made with its parents. */
    assert_int_equal(engine_rlog_open(&l, sub, "access", 20, 3), 0);
    assert_int_equal(engine_rlog_stat(sub, "access", 3, &size, &mt), 0);
    assert_int_equal(size, 0);
    assert_string_equal(whole(sub, "access", 3), "");
    /* Lines of 8 bytes: two fit in a file of 20. */
    for (int i = 0; i < 7; i++) {
        snprintf(line, sizeof(line), "line %02d\n", i);
        assert_int_equal(engine_rlog_write(&l, line, 8), 0);
    }
    /* Files: access.2 = 2,3; access.1 = 4,5; access = 6; 0 and 1 dropped. */
    assert_string_equal(whole(sub, "access", 3), "line 02\nline 03\nline 04\nline 05\nline 06\n");
    assert_int_equal(engine_rlog_stat(sub, "access", 3, &size, &mt), 0);
    assert_int_equal(size, 40);
    assert_true(mt > 0);
    /* A read at an offset crosses the files. */
    char buf[64];
    ssize_t n = engine_rlog_read(sub, "access", 3, 13, buf, 10);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "03\nline 04", 10);
    assert_int_equal(engine_rlog_read(sub, "access", 3, 40, buf, 10), 0);
    assert_int_equal(engine_rlog_read(sub, "access", 3, 400, buf, 10), 0);
    /* A write larger than MAX is kept whole, in a file of its own. */
    assert_int_equal(engine_rlog_write(&l, "0123456789012345678901234", 25), 0);
    assert_string_equal(whole(sub, "access", 3),
                        "line 04\nline 05\nline 06\n0123456789012345678901234");
    engine_rlog_close(&l);
    /* Opened again: it goes on where it was. */
    assert_int_equal(engine_rlog_open(&l, sub, "access", 20, 3), 0);
    assert_int_equal(engine_rlog_write(&l, "x\n", 2), 0);
    assert_string_equal(whole(sub, "access", 3), "line 06\n0123456789012345678901234x\n");
    engine_rlog_close(&l);
    engine_rlog_close(&l); /* closing twice is harmless */
}

static void test_bad_names(void **state)
{
    struct engine_rlog l;
    char buf[8];

    (void)state;
    assert_int_equal(engine_rlog_open(&l, dir, "../x", 0, 0), -EINVAL);
    assert_int_equal(engine_rlog_open(&l, dir, ".hidden", 0, 0), -EINVAL);
    assert_int_equal(engine_rlog_open(&l, dir, "", 0, 0), -EINVAL);
    assert_int_equal(engine_rlog_write(&l, "x", 1), -EBADF);
    assert_int_equal(engine_rlog_read(dir, "missing", 4, 0, buf, sizeof(buf)), 0);
    assert_int_equal(engine_rlog_read(dir, "missing", 4, -1, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
