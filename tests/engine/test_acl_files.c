/* test_acl_files.c — rules from several files (acl, then acl.d/NAME): the same decisions as
 * one file holding them all, rules added parsed (engine_acl_add_rules()), conflicts and group
 * references across files named FILE:LINE, lines mapped back to their files, and the names
 * a rules file may have. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/acl.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned pick(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const subjects[] = {"*", "alice", "bob", "group:ops"};
static const char *const methods[] = {"*", "GET", "POST"};
static const char *const paths[] = {"/*", "/a", "/a/*", "/a/b", "/a/b/*", "/c", "/c/*"};
static const char *const ask_paths[] = {"/", "/a", "/a/", "/a/b", "/a/b/c", "/c", "/cd", "/x"};

/* A random rule line (without conflicts: the effect follows from the rest). */
static void rule_line(char *buf, size_t size)
{
    unsigned s = pick(4), m = pick(3), p = pick(7);
    snprintf(buf, size, "regular %s %s %s %s\n", subjects[s], methods[m], paths[p],
             (s + m + p) % 2 ? "allow" : "deny");
}

static void *compile(struct engine_acl *a, size_t *len)
{
    void *blob = NULL;
    assert_int_equal(engine_acl_compile(&blob, len, a, NULL, 1), 0);
    return blob;
}

static void same_decisions(void *b1, size_t l1, void *b2, size_t l2)
{
    struct engine_acl_blob x, y;
    assert_int_equal(engine_acl_blob_open(&x, b1, l1, NULL), 0);
    assert_int_equal(engine_acl_blob_open(&y, b2, l2, NULL), 0);
    for (size_t u = 0; u < 4; u++)
        for (size_t m = 1; m < 3; m++)
            for (size_t p = 0; p < sizeof(ask_paths) / sizeof(ask_paths[0]); p++) {
                const char *user = u == 0 ? "" : u == 1 ? "alice" : u == 2 ? "bob" : "carol";
                struct engine_acl_request rq = {
                    "regular", user,         methods[m],         ask_paths[p],
                    7,         strlen(user), strlen(methods[m]), strlen(ask_paths[p])};
                struct engine_acl_decision dx, dy;
                assert_int_equal(engine_acl_blob_decide(&x, &rq, &dx), 0);
                assert_int_equal(engine_acl_blob_decide(&y, &rq, &dy), 0);
                assert_int_equal(dx.allow, dy.allow);
                assert_int_equal(dx.rule == ENGINE_ACL_NO_RULE, dy.rule == ENGINE_ACL_NO_RULE);
            }
}

/* Random rule sets split over random files decide as the one file that holds them all, both
 * when each file is parsed into the set and when it is parsed alone and added. */
static void test_acl_files_split_equals_whole(void **state)
{
    const char *groups = "ops: bob carol\n";
    (void)state;
    for (int round = 0; round < 200; round++) {
        char whole[8192] = "", part[6][4096] = {{0}}, line[128], name[32];
        unsigned nfiles = 1 + pick(5), nrules = 1 + pick(40);
        struct engine_acl *one, *parsed, *added, *alone[6] = {0};
        struct engine_diag d;
        void *b1, *b2, *b3;
        size_t l1, l2, l3;

        engine_diag_init(&d);
        for (unsigned i = 0; i < nrules; i++) {
            rule_line(line, sizeof(line));
            strcat(whole, line);
            strcat(part[pick(nfiles)], line);
        }
        assert_int_equal(engine_acl_new(&one), 0);
        assert_int_equal(engine_acl_new(&parsed), 0);
        assert_int_equal(engine_acl_new(&added), 0);
        assert_int_equal(
            engine_acl_parse(one, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d), 0);
        assert_int_equal(
            engine_acl_parse(parsed, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d),
            0);
        assert_int_equal(
            engine_acl_parse(added, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d),
            0);
        assert_int_equal(
            engine_acl_parse(one, ENGINE_ACL_FILE_ACL, "acl", whole, strlen(whole), &d), 0);
        for (unsigned f = 0; f < nfiles; f++) {
            snprintf(name, sizeof(name), "acl.d/%02u", f);
            assert_int_equal(
                engine_acl_parse(parsed, ENGINE_ACL_FILE_ACL, name, part[f], strlen(part[f]), &d),
                0);
            assert_int_equal(engine_acl_new(&alone[f]), 0);
            assert_int_equal(
                engine_acl_parse(alone[f], ENGINE_ACL_FILE_ACL, name, part[f], strlen(part[f]), &d),
                0);
            assert_int_equal(engine_acl_add_rules(added, alone[f], name, &d), 0);
        }
        assert_int_equal(engine_acl_finish(parsed, &d), 0);
        assert_int_equal(engine_acl_finish(added, &d), 0);
        assert_int_equal(engine_acl_check_groups(added, &d), 0);
        assert_int_equal(d.n, 0);
        {
            struct engine_acl_stats s1, s2, s3;
            engine_acl_stats_get(one, &s1);
            engine_acl_stats_get(parsed, &s2);
            engine_acl_stats_get(added, &s3);
            assert_int_equal(s1.rules, s2.rules);
            assert_int_equal(s1.rules, s3.rules);
            assert_int_equal(s1.policies, s3.policies);
        }
        b1 = compile(one, &l1);
        b2 = compile(parsed, &l2);
        b3 = compile(added, &l3);
        same_decisions(b1, l1, b2, l2);
        same_decisions(b1, l1, b3, l3);
        /* Parsed into the set or added parsed: the same lines, so the same bytes. */
        assert_int_equal(l2, l3);
        assert_memory_equal(b2, b3, l2);
        free(b1);
        free(b2);
        free(b3);
        for (unsigned f = 0; f < nfiles; f++)
            engine_acl_free(alone[f]);
        engine_acl_free(one);
        engine_acl_free(parsed);
        engine_acl_free(added);
        engine_diag_free(&d);
    }
}

/* A conflict between files is reported at the later rule, naming the earlier one's file and
 * line; the earlier file's rule is the one kept when they agree. */
static void test_acl_files_conflict_names_files(void **state)
{
    struct engine_acl *a;
    struct engine_diag d;
    const char *f1 = "# one\nr alice GET /a allow\nr bob GET /b allow\n",
               *f2 = "r alice GET /a deny\n", *f3 = "\n\nr bob GET /b allow\n";
    void *blob = NULL;
    size_t len;
    char *s;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", f1, strlen(f1), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl.d/20", f2, strlen(f2), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl.d/30", f3, strlen(f3), &d), 0);
    /* rules of several files: compared (and sorted) first */
    assert_int_equal(engine_acl_compile(&blob, &len, a, NULL, 0), -EINVAL);
    assert_int_equal(engine_acl_finish(a, &d), -EINVAL);
    assert_int_equal(d.n, 1);
    s = engine_diag_format(&d, 0);
    assert_string_equal(s, "acl.d/20:1:16: error: rule conflicts with acl:2: same policy, "
                           "subject, method and path, but 'deny' here and 'allow' there");
    free(s);
    /* The same name twice is refused. */
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl.d/20", f2, strlen(f2), &d),
                     -EEXIST);
    engine_diag_free(&d);
    engine_acl_free(a);
}

/* A set's line names its file and the line in it; a decision reports the earliest rule. */
static void test_acl_files_lines(void **state)
{
    struct engine_acl *a, *part;
    struct engine_diag d;
    const char *f1 = "r * GET /* allow\n", *f2 = "# c\n\nr bob GET /b deny\nr bob GET /c allow\n",
               *g = "ops: carol\n", *f3 = "r group:nope GET /z allow\n";
    struct engine_acl_blob b;
    struct engine_acl_decision dec;
    struct engine_acl_request rq = {"r", "bob", "GET", "/c", 1, 3, 3, 2};
    const char *file;
    uint32_t line;
    void *blob;
    size_t len;
    char *s;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_line_file(a, 1, &file, &line), -ENOENT);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", g, strlen(g), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", f1, strlen(f1), &d), 0);
    assert_int_equal(engine_acl_new(&part), 0);
    assert_int_equal(engine_acl_parse(part, ENGINE_ACL_FILE_ACL, "x", f2, strlen(f2), &d), 0);
    assert_int_equal(engine_acl_add_rules(a, part, "acl.d/10-web", &d), 0);
    engine_acl_free(part);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl.d/20", f3, strlen(f3), &d), 0);
    assert_int_equal(engine_acl_finish(a, &d), 0);
    /* an undefined group in a later file is reported in that file */
    assert_int_equal(engine_acl_check_groups(a, &d), -EINVAL);
    s = engine_diag_format(&d, 0);
    assert_string_equal(s, "acl.d/20:1:3: error: group 'nope' is not defined in the groups file");
    free(s);
    assert_int_equal(engine_acl_compile(&blob, &len, a, NULL, 0), 0);
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(engine_acl_blob_decide(&b, &rq, &dec), 0);
    assert_true(dec.allow);
    assert_int_equal(engine_acl_line_file(a, dec.line, &file, &line), 0);
    assert_string_equal(file, "acl.d/10-web");
    assert_int_equal(line, 4);
    free(blob);
    engine_diag_free(&d);
    engine_acl_free(a);
}

static void test_acl_files_names(void **state)
{
    (void)state;
    assert_int_equal(engine_acl_d_name("50-web"), 0);
    assert_int_equal(engine_acl_d_name("web.rules"), 0);
    assert_int_equal(engine_acl_d_name("A_b-1"), 0);
    /* what editors leave: skipped */
    assert_int_equal(engine_acl_d_name(".50-web.swp"), 1);
    assert_int_equal(engine_acl_d_name("50-web~"), 1);
    assert_int_equal(engine_acl_d_name("#50-web#"), 1);
    assert_int_equal(engine_acl_d_name("x.tmp"), 1);
    assert_int_equal(engine_acl_d_name("x.swp"), 1);
    /* refused */
    assert_int_equal(engine_acl_d_name("-x"), -EINVAL);
    assert_int_equal(engine_acl_d_name("a b"), -EINVAL);
    assert_int_equal(engine_acl_d_name("caf\xc3\xa9"), -EINVAL);
    assert_int_equal(engine_acl_d_name(""), 1);
    char long_name[80];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(engine_acl_d_name(long_name), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_files_split_equals_whole),
        cmocka_unit_test(test_acl_files_conflict_names_files),
        cmocka_unit_test(test_acl_files_lines),
        cmocka_unit_test(test_acl_files_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
