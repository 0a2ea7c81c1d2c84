/* test_fs_names.c — the mount's rules for names (editors' temporary files), values and
 * commit messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/fs_int.h"

static void test_fs_names_editor_temp_files(void **state)
{
    (void)state;
    /* vim: the probe, swap files, backups; nano and emacs: backups, auto-save, lock. */
    assert_true(fs_name_is_temp("4913"));
    assert_true(fs_name_is_temp("5036"));
    assert_true(fs_name_is_temp(".security_level.swp"));
    assert_true(fs_name_is_temp(".security_level.swx"));
    assert_true(fs_name_is_temp("security_level~"));
    assert_true(fs_name_is_temp("#security_level#"));
    assert_true(fs_name_is_temp(".#security_level"));
    /* sed -i, Python's tempfile, mktemp, rsync, and x.tmp. */
    assert_true(fs_name_is_temp("sedAbC123"));
    assert_true(fs_name_is_temp("tmpk3j_x9q1"));
    assert_true(fs_name_is_temp("tmp.Xa12bc34De"));
    assert_true(fs_name_is_temp(".acl.Xy12Zq"));
    assert_true(fs_name_is_temp("acl.tmp"));
}

static void test_fs_names_typos_are_not_temp_files(void **state)
{
    (void)state;
    /* A mistyped control file must fail, not silently land in memory. */
    assert_false(fs_name_is_temp("securty_level"));
    assert_false(fs_name_is_temp("acll"));
    assert_false(fs_name_is_temp("sed"));
    assert_false(fs_name_is_temp("sedfile12345"));
    assert_false(fs_name_is_temp("tmp"));
    assert_false(fs_name_is_temp("#"));
    assert_false(fs_name_is_temp("."));
    assert_false(fs_name_is_temp(".."));
    assert_false(fs_name_is_temp(""));
}

static void test_fs_names_check_refuses_bad_names(void **state)
{
    char longname[FS_NAME_MAX + 2];

    (void)state;
    assert_int_equal(fs_name_check("security_level"), 0);
    assert_int_equal(fs_name_check(""), -EINVAL);
    assert_int_equal(fs_name_check("."), -EINVAL);
    assert_int_equal(fs_name_check(".."), -EINVAL);
    assert_int_equal(fs_name_check("a/b"), -EINVAL);
    assert_int_equal(fs_name_check("a\nb"), -EINVAL);
    assert_int_equal(fs_name_check("a\x01"), -EINVAL);
    assert_int_equal(fs_name_check("a\x7f"), -EINVAL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(fs_name_check(longname), -ENAMETOOLONG);
    longname[FS_NAME_MAX] = '\0';
    assert_int_equal(fs_name_check(longname), 0);
    /* A control character makes even a temp-like name unacceptable. */
    assert_false(fs_name_is_temp(".a\x01.swp"));
}

static void check_value(const char *in, size_t len, const char *want)
{
    const char *why = NULL;
    char *v = NULL;

    assert_int_equal(fs_value_parse(&v, in, len, &why), 0);
    assert_string_equal(v, want);
    free(v);
}

static void check_bad_value(const char *in, size_t len)
{
    const char *why = NULL;
    char *v = (char *)1;

    assert_int_equal(fs_value_parse(&v, in, len, &why), -EINVAL);
    assert_null(v);
    assert_non_null(why);
}

static void test_fs_names_values(void **state)
{
    (void)state;
    check_value("critical\n", 9, "critical");
    check_value("critical", 8, "critical");
    check_value("critical\r\n", 10, "critical");
    check_value("a b", 3, "a b");
    check_bad_value("", 0);
    check_bad_value("\n", 1);
    check_bad_value("a\nb\n", 4);
    check_bad_value("critical\n\n", 10);
    check_bad_value(" critical\n", 10);
    check_bad_value("critical \n", 10);
    check_bad_value("crit\0ical\n", 10);
    check_bad_value("crit\tical", 9);
}

static void test_fs_names_commit_messages(void **state)
{
    char *m;

    (void)state;
    m = fs_msg_value("web", "security_level", "default", "critical");
    assert_string_equal(m, "web: security_level default -> critical");
    free(m);
    m = fs_msg_value("web", "http_port", NULL, "8081");
    assert_string_equal(m, "web: http_port (none) -> 8081");
    free(m);
    m = fs_msg_replace("policy/acl", 3, 4, "rules");
    assert_string_equal(m, "policy/acl: replaced (3 -> 4 rules)");
    free(m);
}

static void test_fs_names_store_paths(void **state)
{
    (void)state;
    assert_string_equal(fs_file_path(FS_FILE_TOPOLOGY), "topology.yaml");
    assert_string_equal(fs_file_path(FS_FILE_LEVELS), "state/levels");
    assert_string_equal(fs_file_path(FS_FILE_PROPERTIES), "state/properties");
    assert_string_equal(fs_file_path(FS_FILE_ACL), "policy/acl");
    assert_string_equal(fs_file_path(FS_FILE_GROUPS), "policy/groups");
    assert_string_equal(fs_file_path(FS_FILE_CREDENTIALS), "policy/credentials");
    assert_null(fs_file_path(FS_FILE_N));
}

/* A rules file made from a write is not hashed until its blob id is asked for; its id is then
 * git's; files compare by their text. */
static void test_fs_names_rules_blob(void **state)
{
    static const char text[] = "regular * GET /x allow\n";
    struct fs_rules *a, *b, *c, *d;

    (void)state;
    assert_int_equal(fs_rules_new(&a, "r1", text, strlen(text), NULL), 0);
    assert_string_equal(a->blob, "");
    assert_int_equal(
        fs_rules_new(&b, "r1", text, strlen(text), "0123456789012345678901234567890123456789"), 0);
    assert_int_equal(fs_rules_new(&c, "r1", text, strlen(text) - 1, NULL), 0);
    assert_int_equal(fs_rules_new(&d, "r1", "", 0, NULL), 0);
    assert_true(fs_rules_same(a, b));
    assert_true(fs_rules_same(a, a));
    assert_true(fs_rules_same(NULL, NULL));
    assert_false(fs_rules_same(a, c));
    assert_false(fs_rules_same(a, NULL));
    assert_false(fs_rules_same(NULL, d));
    assert_string_equal(fs_rules_blob(a), "52298c50a515b9facdf9b0b950f9bffa01c4ebaf");
    assert_string_equal(fs_rules_blob(b), "0123456789012345678901234567890123456789");
    assert_string_equal(fs_rules_blob(d), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    fs_rules_put(a);
    fs_rules_put(b);
    fs_rules_put(c);
    fs_rules_put(d);
}

/* A snapshot's file shared with a candidate: the candidate's change replaces its own text only,
 * and the bytes live until the last text holding them is freed, in either order. */
static void test_fs_names_text_share(void **state)
{
    struct fs_text snap = {0}, cand = {0}, again = {0}, plain = {0}, copy = {0};
    const char *bytes;

    (void)state;
    assert_int_equal(fs_text_set(&snap, "a: 1\n", 5), 0);
    fs_text_shareable(&snap);
    assert_int_equal(fs_text_share(&cand, &snap), 0);
    assert_int_equal(fs_text_share(&again, &snap), 0);
    bytes = snap.data;
    assert_ptr_equal(cand.data, bytes); /* shared, not copied */
    assert_true(fs_text_same(&cand, &snap));
    /* the candidate's new value: the snapshot's bytes are as they were */
    assert_int_equal(fs_text_set(&cand, "a: 2\n", 5), 0);
    assert_ptr_not_equal(cand.data, bytes);
    assert_null(cand.refs);
    assert_memory_equal(snap.data, "a: 1\n", 6);
    assert_false(fs_text_same(&cand, &snap));
    /* the snapshot freed first: the other sharer keeps the bytes */
    fs_text_free(&snap);
    assert_null(snap.data);
    assert_memory_equal(again.data, "a: 1\n", 6);
    fs_text_free(&again);
    fs_text_free(&cand);
    /* a text never made shareable is copied; an absent one stays absent */
    assert_int_equal(fs_text_set(&plain, "b", 1), 0);
    assert_int_equal(fs_text_share(&copy, &plain), 0);
    assert_ptr_not_equal(copy.data, plain.data);
    assert_true(fs_text_same(&copy, &plain));
    fs_text_free(&plain);
    fs_text_free(&copy);
    assert_int_equal(fs_text_share(&copy, &plain), 0);
    assert_null(copy.data);
    fs_text_shareable(&copy); /* absent: nothing to count */
    assert_null(copy.refs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_names_editor_temp_files),
        cmocka_unit_test(test_fs_names_typos_are_not_temp_files),
        cmocka_unit_test(test_fs_names_check_refuses_bad_names),
        cmocka_unit_test(test_fs_names_values),
        cmocka_unit_test(test_fs_names_commit_messages),
        cmocka_unit_test(test_fs_names_store_paths),
        cmocka_unit_test(test_fs_names_rules_blob),
        cmocka_unit_test(test_fs_names_text_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
