/* test_store_diff.c — engine_store_changes(): the paths a commit added, changed or removed
 * against its first parent, or every file it holds. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/store.h"

#define TEXT(s) s, sizeof(s) - 1

static const struct engine_store_author alice = {"alice", "alice@example.org"};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* "PATH" or "-PATH" (removed) for each call, one a line, into the string buffer ARG. */
static int collect(const char *path, int removed, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s%s\n", removed ? "-" : "", path);
    return 0;
}

static int stop(const char *path, int removed, void *arg)
{
    (void)path, (void)removed;
    ++*(int *)arg;
    return -42;
}

static void test_store_changes(void **state)
{
    static const struct engine_store_change initial[] = {
        {"topology.yaml", TEXT("a\n"), 0},
        {"state/levels", TEXT("web default\n"), 0},
        {"policy/acl.d/10-a", TEXT("x\n"), 0},
        {"policy/acl.d/20-b", TEXT("y\n"), 0},
    };
    static const struct engine_store_change next[] = {
        {"state/levels", TEXT("web critical\n"), 0},
        {.path = "policy/acl.d/20-b", .remove = 1},
        {"policy/acl.d/30-c", TEXT("z\n"), 0},
    };
    char tmp[] = "/tmp/unisec-diff-XXXXXX", dir[64], first[41], second[41], out[1024] = "";
    struct engine_store *s = NULL;
    struct engine_diag d;
    int calls = 0;

    (void)state;
    engine_diag_init(&d);
    assert_non_null(mkdtemp(tmp));
    snprintf(dir, sizeof(dir), "%s/s", tmp);
    assert_int_equal(engine_store_init(&s, dir, initial, 4, &alice, "created", NULL, &d), 0);
    assert_int_equal(engine_store_head(s, first, &d), 0);
    assert_int_equal(engine_store_commit(s, next, 3, &alice, "changed", second, &d), 0);

    /* The first commit is compared with nothing: every file. */
    assert_int_equal(engine_store_changes(s, first, 0, collect, out, &d), 0);
    assert_string_equal(out, "policy/acl.d/10-a\npolicy/acl.d/20-b\nstate/levels\ntopology.yaml\n");
    /* The second: only what it changed; the unchanged topology.yaml and 10-a are not read. */
    out[0] = '\0';
    assert_int_equal(engine_store_changes(s, second, 0, collect, out, &d), 0);
    assert_string_equal(out, "-policy/acl.d/20-b\npolicy/acl.d/30-c\nstate/levels\n");
    /* WHOLE: every file it holds. */
    out[0] = '\0';
    assert_int_equal(engine_store_changes(s, second, 1, collect, out, &d), 0);
    assert_string_equal(out, "policy/acl.d/10-a\npolicy/acl.d/30-c\nstate/levels\ntopology.yaml\n");
    /* A negative result stops the calls. */
    assert_int_equal(engine_store_changes(s, second, 0, stop, &calls, &d), -42);
    assert_int_equal(calls, 1);
    /* Bad and unknown ids. */
    assert_int_equal(engine_store_changes(s, "not-an-id", 0, collect, out, &d), -EINVAL);
    assert_true(engine_store_changes(s, "0123456789012345678901234567890123456789", 0, collect, out,
                                     &d) < 0);
    engine_diag_free(&d);
    engine_store_free(s);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
