/* test_acl_parse.c — the acl and groups files: every error class, its position, all-or-nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/acl.h"

/* Parses TEXT as KIND into a fresh set; returns the errors joined by newlines (caller frees),
 * or "" when it parsed. *RC gets the parse's return value. */
static char *parse(enum engine_acl_file kind, const char *text, int *rc, struct engine_acl **keep)
{
    struct engine_acl *a = NULL;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    *rc = engine_acl_parse(a, kind, kind == ENGINE_ACL_FILE_ACL ? "acl" : "groups", text,
                           strlen(text), &d);
    out = engine_diag_join(&d);
    assert_non_null(out);
    engine_diag_free(&d);
    if (keep)
        *keep = a;
    else
        engine_acl_free(a);
    return out;
}

static void expect_error(const char *text, const char *want)
{
    int rc;
    char *got = parse(ENGINE_ACL_FILE_ACL, text, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(got, want);
    free(got);
}

static void test_acl_parse_valid_file(void **state)
{
    struct engine_acl *a;
    struct engine_acl_stats st;
    int rc;
    char *e = parse(ENGINE_ACL_FILE_ACL,
                    "# policy subject method path effect\n"
                    "regular * GET /* allow\n"
                    "\n"
                    "  regular\tgroup:admins * /admin/* allow   # trailing comment\n"
                    "regular * * /admin/* deny\r\n"
                    "restricted alice GET /reports/q3 allow\n"
                    "restricted alice GET /docs/ allow", /* no final newline */
                    &rc, &a);
    (void)state;
    assert_string_equal(e, "");
    assert_int_equal(rc, 0);
    engine_acl_stats_get(a, &st);
    assert_int_equal(st.rules, 5);
    assert_int_equal(st.policies, 2);
    free(e);
    engine_acl_free(a);
}

static void test_acl_parse_field_count(void **state)
{
    (void)state;
    expect_error("regular\n", "acl:1:8: error: missing SUBJECT: a rule is POLICY SUBJECT METHOD "
                              "PATH EFFECT");
    expect_error("regular * GET /a\n",
                 "acl:1:17: error: missing EFFECT: a rule is POLICY SUBJECT METHOD PATH EFFECT");
    expect_error("regular * GET /a allow now\n",
                 "acl:1:24: error: unexpected field after EFFECT: a rule is POLICY SUBJECT "
                 "METHOD PATH EFFECT ('#' starts a comment)");
}

static void test_acl_parse_policy_subject_method_effect(void **state)
{
    (void)state;
    expect_error("Regular * GET /a allow\n", "acl:1:1: error: policy name 'Regular': expected 1 "
                                             "to 64 characters from [a-z0-9_-]");
    expect_error("regular al:ice GET /a allow\n",
                 "acl:1:9: error: subject 'al:ice': expected a user name ([A-Za-z0-9._-], at "
                 "most 64, not starting with '-'), group:NAME or *");
    expect_error("regular group: GET /a allow\n",
                 "acl:1:9: error: subject 'group:': expected a user name ([A-Za-z0-9._-], at "
                 "most 64, not starting with '-'), group:NAME or *");
    expect_error("regular * get /a allow\n",
                 "acl:1:11: error: method 'get': expected an HTTP method in upper case (GET, "
                 "POST, ...) of at most 32 characters, or *");
    expect_error("regular * GET /a permit\n",
                 "acl:1:18: error: effect 'permit': expected allow or deny");
}

static void test_acl_parse_paths(void **state)
{
    (void)state;
    expect_error("r * GET a allow\n", "acl:1:9: error: expected a path starting with '/'");
    expect_error("r * GET /a*/b allow\n", "acl:1:9: error: '*' is only allowed as the last "
                                          "segment of a prefix pattern such as /admin/*");
    expect_error("r * GET /a/* allow\nr * GET /* allow\nr * GET /*/x allow\n",
                 "acl:3:9: error: '*' is only allowed as the last segment of a prefix pattern "
                 "such as /admin/*");
    expect_error("r * GET /a/../b allow\n",
                 "acl:1:9: error: '..' segments are not allowed: write the path without them");
    expect_error("r * GET /a/./b allow\n",
                 "acl:1:9: error: '.' segments are not allowed: write the path without them");
    expect_error("r * GET /a//b allow\n", "acl:1:9: error: empty path segment ('//')");
    expect_error("r * GET /a//* allow\n", "acl:1:9: error: empty path segment ('//')");
    expect_error("r * GET /a\x01 allow\n", "acl:1:9: error: control character in path");
    expect_error("r * GET /caf\xc3\xa9 allow\n",
                 "acl:1:9: error: non-ASCII byte in path: use percent-encoding");
    expect_error("r * GET /a\"b allow\n", "acl:1:9: error: character not allowed in a path "
                                          "(allowed: letters, digits, -._~!$&'()+,;=:@%)");
}

static void test_acl_parse_bounds(void **state)
{
    char line[2200];
    (void)state;
    /* 1024 bytes of path is the limit. */
    strcpy(line, "r * GET /");
    memset(line + 9, 'a', 1023);
    strcpy(line + 9 + 1023, " allow\n");
    int rc;
    char *e = parse(ENGINE_ACL_FILE_ACL, line, &rc, NULL);
    assert_string_equal(e, "");
    free(e);
    strcpy(line, "r * GET /");
    memset(line + 9, 'a', 1024);
    strcpy(line + 9 + 1024, " allow\n");
    expect_error(line, "acl:1:9: error: path longer than 1024 bytes");
    memset(line, 'p', 65);
    strcpy(line + 65, " * GET /a allow\n");
    expect_error(line, "acl:1:1: error: expected a policy name of 1 to 64 characters from "
                       "[a-z0-9_-]");
    strcpy(line, "r * ");
    memset(line + 4, 'A', 33);
    strcpy(line + 37, " /a allow\n");
    expect_error(line, "acl:1:5: error: method 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA': expected an "
                       "HTTP method in upper case "
                       "(GET, POST, ...) of at most 32 characters, or *");
}

static void test_acl_parse_nul_byte(void **state)
{
    struct engine_acl *a;
    struct engine_diag d;
    const char text[] = "r * GET /a allow\nr * GET /\0b allow\n";
    (void)state;
    engine_diag_init(&d);
    engine_acl_new(&a);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", text, sizeof(text) - 1, &d),
                     -EINVAL);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].line, 2);
    assert_int_equal(d.v[0].col, 10);
    engine_diag_free(&d);
    engine_acl_free(a);
}

static void test_acl_parse_collects_every_error_and_keeps_nothing(void **state)
{
    struct engine_acl *a;
    struct engine_acl_stats st;
    int rc;
    char *e = parse(ENGINE_ACL_FILE_ACL,
                    "r * GET /a allow\n"
                    "r * GET /b allowed\n"
                    "r * GET /c allow\n"
                    "R * get c nope\n",
                    &rc, &a);
    (void)state;
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e, "acl:2:12: error: effect 'allowed': expected allow or deny\n"
                           "acl:4:1: error: policy name 'R': expected 1 to 64 characters from "
                           "[a-z0-9_-]\n"
                           "acl:4:5: error: method 'get': expected an HTTP method in upper case "
                           "(GET, POST, ...) of at most 32 characters, or *\n"
                           "acl:4:9: error: expected a path starting with '/'\n"
                           "acl:4:11: error: effect 'nope': expected allow or deny");
    engine_acl_stats_get(a, &st);
    assert_int_equal(st.rules, 0);
    free(e);
    engine_acl_free(a);
}

static void test_acl_parse_duplicates_and_conflicts(void **state)
{
    struct engine_acl *a;
    struct engine_acl_stats st;
    int rc;
    char *e = parse(ENGINE_ACL_FILE_ACL, "r * GET /a allow\nr * GET /a allow\n", &rc, &a);
    (void)state;
    assert_int_equal(rc, 0);
    engine_acl_stats_get(a, &st);
    assert_int_equal(st.rules, 1);
    free(e);
    engine_acl_free(a);
    expect_error("r * GET /a allow\nr * POST /a deny\nr * GET /a/* deny\nr * GET /a allow\n"
                 "r   *  GET  /a   deny\n",
                 "acl:5:18: error: rule conflicts with line 1: same policy, subject, method and "
                 "path, but 'deny' here and 'allow' there");
}

/* A file whose rules are in order but for its last line (the sort is skipped when a pass finds
 * them in order): the last line's duplicate and conflict are still found. */
static void test_acl_parse_in_order_but_the_last(void **state)
{
    struct engine_acl *a;
    struct engine_acl_stats st;
    size_t cap = 64 * 1001 + 64, n = 0;
    char *text = malloc(cap), *e;
    int rc;

    (void)state;
    assert_non_null(text);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(text + n, cap - n, "r * GET /p%d/* allow\n", i);
    snprintf(text + n, cap - n, "r * GET /p500/* allow\n");
    e = parse(ENGINE_ACL_FILE_ACL, text, &rc, &a);
    assert_int_equal(rc, 0);
    engine_acl_stats_get(a, &st);
    assert_int_equal(st.rules, 1000);
    free(e);
    engine_acl_free(a);
    snprintf(text + n, cap - n, "r * GET /p500/* deny\n");
    expect_error(text, "acl:1001:17: error: rule conflicts with line 501: same policy, subject, "
                       "method and path, but 'deny' here and 'allow' there");
    free(text);
}

static void test_acl_parse_groups(void **state)
{
    struct engine_acl *a;
    struct engine_acl_stats st;
    int rc;
    char *e = parse(ENGINE_ACL_FILE_GROUPS,
                    "# groups\nadmins: alice bob\nops:carol alice alice # c\nempty:\n", &rc, &a);
    (void)state;
    assert_string_equal(e, "");
    engine_acl_stats_get(a, &st);
    assert_int_equal(st.groups, 3);
    assert_int_equal(st.members, 3);
    free(e);
    engine_acl_free(a);

    e = parse(ENGINE_ACL_FILE_GROUPS,
              "admins alice\n-x: a\nok: al:ice bob\nok: carol\nfine: b\nfine: c\n", &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e, "groups:1:8: error: expected ':' after the group name: a line is "
                           "NAME: MEMBER MEMBER ...\n"
                           "groups:2:1: error: group name: expected 1 to 64 characters from "
                           "[A-Za-z0-9._-], not starting with '-'\n"
                           "groups:3:5: error: member 'al:ice': expected a user name "
                           "([A-Za-z0-9._-], at most 64, not starting with '-')\n"
                           "groups:6:1: error: group 'fine' is already defined at line 5");
    free(e);
}

static void test_acl_parse_group_references(void **state)
{
    struct engine_acl *a;
    struct engine_diag d;
    const char *g = "admins: alice\n", *r = "r group:admins GET /a allow\n"
                                            "r group:ops GET /b allow\n"
                                            "r group:ops GET /c allow\n";
    (void)state;
    engine_diag_init(&d);
    engine_acl_new(&a);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", r, strlen(r), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", g, strlen(g), &d), 0);
    assert_int_equal(engine_acl_check_groups(a, &d), -EINVAL);
    assert_int_equal(d.n, 1);
    char *s = engine_diag_format(&d, 0);
    assert_string_equal(s, "acl:2:3: error: group 'ops' is not defined in the groups file");
    free(s);
    /* A file loads once per set (rules may come from several files of other names). */
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", r, strlen(r), &d), -EEXIST);
    engine_diag_free(&d);
    engine_acl_free(a);
}

/* A policy directory that is missing or is a file is an error naming it; an empty one is an
 * empty policy set. */
static void test_acl_parse_load_dir_needs_a_directory(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096], missing[4200], file[4200];
    struct engine_acl *a = NULL;
    struct engine_diag d;
    char *got;
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/acl-dir-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(missing, sizeof(missing), "%s/none", dir);
    snprintf(file, sizeof(file), "%s/plain", dir);
    assert_non_null(f = fopen(file, "w"));
    fclose(f);

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_load_dir(a, missing, &d), -EINVAL);
    assert_non_null(got = engine_diag_join(&d));
    assert_non_null(strstr(got, missing));
    assert_non_null(strstr(got, strerror(ENOENT)));
    free(got);
    engine_diag_free(&d);

    assert_int_equal(engine_acl_load_dir(a, file, &d), -EINVAL);
    assert_non_null(got = engine_diag_join(&d));
    assert_non_null(strstr(got, "not a policy directory"));
    free(got);
    engine_diag_free(&d);

    assert_int_equal(engine_acl_load_dir(a, dir, &d), 0);
    assert_int_equal(d.n, 0);
    engine_diag_free(&d);
    engine_acl_free(a);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_parse_valid_file),
        cmocka_unit_test(test_acl_parse_field_count),
        cmocka_unit_test(test_acl_parse_policy_subject_method_effect),
        cmocka_unit_test(test_acl_parse_paths),
        cmocka_unit_test(test_acl_parse_bounds),
        cmocka_unit_test(test_acl_parse_nul_byte),
        cmocka_unit_test(test_acl_parse_collects_every_error_and_keeps_nothing),
        cmocka_unit_test(test_acl_parse_duplicates_and_conflicts),
        cmocka_unit_test(test_acl_parse_in_order_but_the_last),
        cmocka_unit_test(test_acl_parse_groups),
        cmocka_unit_test(test_acl_parse_group_references),
        cmocka_unit_test(test_acl_parse_load_dir_needs_a_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
