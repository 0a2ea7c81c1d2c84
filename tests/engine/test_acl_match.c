/* test_acl_match.c — the matching order: each precedence step, groups, default deny. */
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

struct fixture {
    void *blob;
    size_t len;
    struct engine_acl_blob b;
};

static struct fixture *build(const char *acl, const char *groups)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct engine_acl *a;
    struct engine_diag d;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    if (groups)
        assert_int_equal(
            engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    assert_int_equal(engine_acl_compile(&f->blob, &f->len, a, NULL, 1), 0);
    assert_int_equal(engine_acl_blob_open(&f->b, f->blob, f->len, NULL), 0);
    engine_acl_free(a);
    engine_diag_free(&d);
    return f;
}

static void done(struct fixture *f)
{
    free(f->blob);
    free(f);
}

/* "allow 3", "deny 4", "deny 0" (default) or "invalid". */
static const char *ask(struct fixture *f, const char *policy, const char *user, const char *method,
                       const char *path)
{
    static char out[32];
    struct engine_acl_request rq = {policy,         user,         method,         path,
                                    strlen(policy), strlen(user), strlen(method), strlen(path)};
    struct engine_acl_decision d;
    if (engine_acl_blob_decide(&f->b, &rq, &d) < 0)
        return "invalid";
    snprintf(out, sizeof(out), "%s %u", d.allow ? "allow" : "deny", d.line);
    return out;
}

static void test_acl_match_default_deny(void **state)
{
    struct fixture *f = build("p * GET /a allow\n", NULL);
    (void)state;
    assert_string_equal(ask(f, "p", "u", "GET", "/b"), "deny 0");
    assert_string_equal(ask(f, "p", "u", "POST", "/a"), "deny 0");
    assert_string_equal(ask(f, "q", "u", "GET", "/a"), "deny 0");
    assert_string_equal(ask(f, "p", "u", "GET", "/a"), "allow 1");
    done(f);
}

static void test_acl_match_exact_and_prefix(void **state)
{
    struct fixture *f = build("p * GET /admin/* allow\n"
                              "p * GET /docs deny\n"
                              "p * GET /docs/ allow\n"
                              "p * GET / allow\n",
                              NULL);
    (void)state;
    /* The prefix pattern /admin/ + star matches /admin itself, /admin/ and below, not
     * /administrator. */
    assert_string_equal(ask(f, "p", "u", "GET", "/admin"), "allow 1");
    assert_string_equal(ask(f, "p", "u", "GET", "/admin/"), "allow 1");
    assert_string_equal(ask(f, "p", "u", "GET", "/admin/a/b/c"), "allow 1");
    assert_string_equal(ask(f, "p", "u", "GET", "/administrator"), "deny 0");
    /* An exact pattern matches only itself. */
    assert_string_equal(ask(f, "p", "u", "GET", "/docs"), "deny 2");
    assert_string_equal(ask(f, "p", "u", "GET", "/docs/"), "allow 3");
    assert_string_equal(ask(f, "p", "u", "GET", "/docs/x"), "deny 0");
    assert_string_equal(ask(f, "p", "u", "GET", "/"), "allow 4");
    assert_string_equal(ask(f, "p", "u", "GET", "/x"), "deny 0");
    done(f);
}

static void test_acl_match_star_matches_everything(void **state)
{
    struct fixture *f = build("p * GET /* allow\n", NULL);
    (void)state;
    assert_string_equal(ask(f, "p", "u", "GET", "/"), "allow 1");
    assert_string_equal(ask(f, "p", "", "GET", "/a/b/c/"), "allow 1");
    done(f);
}

static void test_acl_match_longest_path_first(void **state)
{
    struct fixture *f = build("p alice * /* allow\n"
                              "p * GET /a/* deny\n"
                              "p * GET /a/b/* allow\n"
                              "p * GET /a/b/c deny\n",
                              NULL);
    (void)state;
    /* The longer pattern wins even over a more specific subject. */
    assert_string_equal(ask(f, "p", "alice", "GET", "/a/x"), "deny 2");
    assert_string_equal(ask(f, "p", "alice", "GET", "/a/b/x"), "allow 3");
    assert_string_equal(ask(f, "p", "alice", "GET", "/a/b"), "allow 3");
    /* Exact beats a prefix pattern at the same length. */
    assert_string_equal(ask(f, "p", "alice", "GET", "/a/b/c"), "deny 4");
    assert_string_equal(ask(f, "p", "alice", "GET", "/z"), "allow 1");
    /* A method that no rule at the longest level matches falls through to shorter ones. */
    assert_string_equal(ask(f, "p", "alice", "POST", "/a/b/c"), "allow 1");
    done(f);
}

static void test_acl_match_subject_order(void **state)
{
    struct fixture *f = build("p * GET /x/* deny\n"
                              "p group:staff GET /x/* allow\n"
                              "p alice GET /x/* deny\n"
                              "p group:staff GET /y allow\n"
                              "p group:banned GET /y deny\n",
                              "staff: alice bob carol\nbanned: carol\n");
    (void)state;
    assert_string_equal(ask(f, "p", "alice", "GET", "/x/1"), "deny 3");
    assert_string_equal(ask(f, "p", "bob", "GET", "/x/1"), "allow 2");
    assert_string_equal(ask(f, "p", "dave", "GET", "/x/1"), "deny 1");
    assert_string_equal(ask(f, "p", "", "GET", "/x/1"), "deny 1");
    /* Two groups at the same level: deny over allow. */
    assert_string_equal(ask(f, "p", "carol", "GET", "/y"), "deny 5");
    assert_string_equal(ask(f, "p", "bob", "GET", "/y"), "allow 4");
    done(f);
}

/* The decision hashes the first 16 '/' levels of a path once and walks further levels on its
 * own: a rule at any depth of a long path is found, longest first, and a user's groups count
 * at whichever level matches, also for a user no level's rules name. */
static void test_acl_match_deep_paths(void **state)
{
    char deep[1024], rules[4096];
    int n = 0;

    (void)state;
    for (int i = 0; i < 40; i++)
        n += snprintf(deep + n, sizeof(deep) - (size_t)n, "/d%d", i);
    /* Levels 2, 15, 16, 17 and 30 of DEEP (the prefix of that many segments). */
    snprintf(rules, sizeof(rules),
             "p * GET /d0/* deny\n"
             "p group:staff GET /d0/d1/* allow\n"
             "p * GET %.*s/* allow\n"
             "p * GET %.*s/* deny\n"
             "p * GET %.*s/* allow\n"
             "p alice GET %.*s/* deny\n",
             (int)(strstr(deep, "/d15") - deep), deep, (int)(strstr(deep, "/d16") - deep), deep,
             (int)(strstr(deep, "/d17") - deep), deep, (int)(strstr(deep, "/d30") - deep), deep);
    struct fixture *f = build(rules, "staff: alice bob\n");
    /* The deepest rule (30 segments) for alice, past 10 levels without rules. */
    assert_string_equal(ask(f, "p", "alice", "GET", deep), "deny 6");
    /* The others fall through it to 17 segments: 23 levels up, past the first 16. */
    assert_string_equal(ask(f, "p", "bob", "GET", deep), "allow 5");
    /* A prefix pattern matches its own path; each shorter path the next shorter rule. */
    deep[strstr(deep, "/d17") - deep] = '\0';
    assert_string_equal(ask(f, "p", "bob", "GET", deep), "allow 5");
    deep[strstr(deep, "/d16") - deep] = '\0';
    assert_string_equal(ask(f, "p", "bob", "GET", deep), "deny 4");
    deep[strstr(deep, "/d15") - deep] = '\0';
    assert_string_equal(ask(f, "p", "", "GET", deep), "allow 3");
    deep[strstr(deep, "/d3") - deep] = '\0';
    assert_string_equal(ask(f, "p", "bob", "GET", deep), "allow 2");
    assert_string_equal(ask(f, "p", "carol", "GET", deep), "deny 1");
    assert_string_equal(ask(f, "p", "bob", "GET", "/d1/d0"), "deny 0");
    done(f);
}

static void test_acl_match_method_then_effect(void **state)
{
    struct fixture *f = build("p u * /a deny\n"
                              "p u GET /a allow\n"
                              "p group:g1 * /b allow\n"
                              "p group:g2 GET /b deny\n"
                              "p group:g1 GET /c allow\n"
                              "p group:g2 GET /c deny\n",
                              "g1: u\ng2: u\n");
    (void)state;
    assert_string_equal(ask(f, "p", "u", "GET", "/a"), "allow 2");
    assert_string_equal(ask(f, "p", "u", "PUT", "/a"), "deny 1");
    /* Among groups: the exact method first, then deny over allow. */
    assert_string_equal(ask(f, "p", "u", "GET", "/b"), "deny 4");
    assert_string_equal(ask(f, "p", "u", "PUT", "/b"), "allow 3");
    assert_string_equal(ask(f, "p", "u", "GET", "/c"), "deny 6");
    done(f);
}

static void test_acl_match_refuses_bad_requests(void **state)
{
    struct fixture *f = build("p * * /* allow\n", NULL);
    (void)state;
    assert_string_equal(ask(f, "p", "u", "GET", "a"), "invalid");
    assert_string_equal(ask(f, "p", "u", "GET", "/public/../admin"), "invalid");
    assert_string_equal(ask(f, "p", "u", "GET", "/a/./b"), "invalid");
    assert_string_equal(ask(f, "p", "u", "GET", "/a/.."), "invalid");
    assert_string_equal(ask(f, "p", "u", "GET", "/a\nb"), "invalid");
    assert_string_equal(ask(f, "p", "u", "", "/a"), "invalid");
    assert_string_equal(ask(f, "", "u", "GET", "/a"), "invalid");
    assert_string_equal(ask(f, "p", "u u", "GET", "/a"), "invalid");
    assert_string_equal(ask(f, "p", "u", "GET", "/a/..b/.c"), "allow 1");
    done(f);
}

static void test_acl_match_rule_text(void **state)
{
    struct fixture *f =
        build("# c\nregular group:admins * /admin/* allow\nr * GET /* deny\n", "admins: a\n");
    struct engine_acl_rule_view v;
    struct engine_acl_request rq = {"regular", "a", "GET", "/admin", 7, 1, 3, 6};
    struct engine_acl_decision d;
    char buf[128];
    (void)state;
    assert_int_equal(engine_acl_blob_decide(&f->b, &rq, &d), 0);
    assert_int_equal(engine_acl_blob_rule(&f->b, d.rule, &v), 0);
    engine_acl_rule_format(buf, sizeof(buf), &v);
    assert_string_equal(buf, "regular group:admins * /admin/* allow");
    assert_int_equal(d.line, 2);
    rq = (struct engine_acl_request){"r", "", "GET", "/q", 1, 0, 3, 2};
    assert_int_equal(engine_acl_blob_decide(&f->b, &rq, &d), 0);
    assert_int_equal(engine_acl_blob_rule(&f->b, d.rule, &v), 0);
    engine_acl_rule_format(buf, sizeof(buf), &v);
    assert_string_equal(buf, "r * GET /* deny");
    assert_int_equal(engine_acl_blob_rule(&f->b, 99, &v), -ENGINE_ACL_EINVAL);
    done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_match_default_deny),
        cmocka_unit_test(test_acl_match_exact_and_prefix),
        cmocka_unit_test(test_acl_match_star_matches_everything),
        cmocka_unit_test(test_acl_match_longest_path_first),
        cmocka_unit_test(test_acl_match_subject_order),
        cmocka_unit_test(test_acl_match_deep_paths),
        cmocka_unit_test(test_acl_match_method_then_effect),
        cmocka_unit_test(test_acl_match_refuses_bad_requests),
        cmocka_unit_test(test_acl_match_rule_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
