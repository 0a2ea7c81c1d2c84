/* test_routes.c — the dispatch module's routes: parsing, matching order, 404 and 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/routes.h"

static const char *table = "# the web node's pages\n"
                           "GET  /*           200 text/plain hello from web\n"
                           "\n"
                           "POST /orders/*    201 text/plain order accepted\n"
                           "GET  /orders/*    200 application/json {\"orders\": []}\r\n"
                           "*    /health      204\n"
                           "GET  /admin       200 text/plain exact admin\n"
                           "GET  /admin/*     200 text/plain admin area\n"
                           "PUT  /files/*     200 text/plain\n";

static struct mod_routes rt;

static int setup(void **state)
{
    (void)state;
    size_t line = 0, col = 0;
    const char *why = NULL;
    return mod_routes_parse(&rt, table, strlen(table), &line, &col, &why);
}

static int match(const char *m, const char *p, const struct mod_route **r, char *allow)
{
    return mod_routes_match(&rt, m, strlen(m), p, strlen(p), r, allow, allow ? 64 : 0);
}

static int body_is(const struct mod_route *r, const char *s)
{
    return r->body_len == strlen(s) && memcmp(r->body, s, r->body_len) == 0;
}

static void test_routes_parse_fields(void **state)
{
    (void)state;
    assert_int_equal(rt.n, 7);
    assert_int_equal(rt.r[0].status, 200);
    assert_true(rt.r[0].prefix);
    assert_int_equal(rt.r[0].path_len, 0);
    assert_true(rt.r[0].has_body);
    assert_true(body_is(&rt.r[0], "hello from web"));
    assert_true(body_is(&rt.r[2], "{\"orders\": []}")); /* CR of a CRLF line dropped */
    assert_false(rt.r[3].has_body);
    assert_true(rt.r[6].has_body); /* a content type with an empty body */
    assert_int_equal(rt.r[6].body_len, 0);
}

static void test_routes_match_longest(void **state)
{
    (void)state;
    const struct mod_route *r;
    assert_int_equal(match("GET", "/catalogue", &r, NULL), 200);
    assert_true(body_is(r, "hello from web"));
    assert_int_equal(match("GET", "/orders/12", &r, NULL), 200);
    assert_int_equal(r->status, 200);
    assert_int_equal(match("POST", "/orders", &r, NULL), 200);
    assert_int_equal(r->status, 201);
    assert_int_equal(match("GET", "/admin", &r, NULL), 200);
    assert_true(body_is(r, "exact admin")); /* exact beats the prefix of the same length */
    assert_int_equal(match("GET", "/admin/", &r, NULL), 200);
    assert_true(body_is(r, "admin area"));
    assert_int_equal(match("GET", "/administrator", &r, NULL), 200);
    assert_true(body_is(r, "hello from web")); // /admin/* does not match /administrator
    assert_int_equal(match("DELETE", "/health", &r, NULL), 200);
    assert_int_equal(r->status, 204);
    assert_int_equal(match("HEAD", "/x", &r, NULL), 200); /* HEAD served by GET */
    assert_true(body_is(r, "hello from web"));
}

static void test_routes_match_405(void **state)
{
    (void)state;
    const struct mod_route *r;
    char allow[64];
    assert_int_equal(match("DELETE", "/orders/1", &r, allow), 405);
    assert_string_equal(allow, "POST, GET, HEAD");
    assert_int_equal(match("POST", "/", &r, allow), 405);
    assert_string_equal(allow, "GET, HEAD");
    assert_int_equal(match("GET", "/files/a", &r, allow), 405);
    assert_string_equal(allow, "PUT");
    /* A tiny buffer is truncated, never overrun. */
    char small[4];
    assert_int_equal(mod_routes_match(&rt, "DELETE", 6, "/orders/1", 9, &r, small, 4), 405);
    assert_string_equal(small, "POS");
}

static void test_routes_match_404(void **state)
{
    (void)state;
    struct mod_routes only;
    size_t line, col;
    const char *why, *t = "GET /a/* 200 text/plain a\n";
    const struct mod_route *r;
    assert_int_equal(mod_routes_parse(&only, t, strlen(t), &line, &col, &why), 0);
    assert_int_equal(mod_routes_match(&only, "GET", 3, "/b", 2, &r, NULL, 0), 404);
    assert_int_equal(mod_routes_match(&only, "GET", 3, "/ab", 3, &r, NULL, 0), 404);
    assert_int_equal(mod_routes_match(&only, "GET", 3, "/a", 2, &r, NULL, 0), 200);
    struct mod_routes none;
    assert_int_equal(mod_routes_parse(&none, "", 0, &line, &col, &why), 0);
    assert_int_equal(mod_routes_match(&none, "GET", 3, "/", 1, &r, NULL, 0), 404);
}

static void test_routes_semicolons(void **state)
{
    (void)state;
    struct mod_routes x;
    size_t line, col;
    const char *why, *t = "GET /* 200 text/plain a; POST /o/* 201 text/plain b ;* /h 204";
    const struct mod_route *r;
    assert_int_equal(mod_routes_parse(&x, t, strlen(t), &line, &col, &why), 0);
    assert_int_equal(x.n, 3);
    assert_int_equal(mod_routes_match(&x, "POST", 4, "/o/1", 4, &r, NULL, 0), 200);
    assert_true(body_is(r, "b "));
    assert_true(body_is(&x.r[0], "a"));
    t = "GET /a 200; GET b 200";
    assert_int_equal(mod_routes_parse(&x, t, strlen(t), &line, &col, &why), -22);
    assert_int_equal(line, 2);
    assert_int_equal(col, 6);
}

static void expect_error(const char *t, size_t want_line, size_t want_col)
{
    struct mod_routes x;
    size_t line = 0, col = 0;
    const char *why = NULL;
    assert_int_equal(mod_routes_parse(&x, t, strlen(t), &line, &col, &why), -22);
    assert_non_null(why);
    assert_int_equal(line, want_line);
    assert_int_equal(col, want_col);
}

static void test_routes_parse_errors(void **state)
{
    (void)state;
    expect_error("GET /a 200\nG(T /b 200\n", 2, 1);
    expect_error("GET a 200\n", 1, 5);
    expect_error("GET /a* 200\n", 1, 5);
    expect_error("GET /a/*/b 200\n", 1, 5);
    expect_error("GET /a?x 200\n", 1, 5);
    expect_error("GET /a 20\n", 1, 8);
    expect_error("GET /a 600\n", 1, 8);
    expect_error("GET /a 2x0\n", 1, 8);
    expect_error("GET /a\n", 1, 7);
    expect_error("GET /a 204 text/plain x\n", 1, 12);
    expect_error("GET /a 200 text/plain a\x01z\n", 1, 24);
    char many[65 * 16 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, "GET /x 200\n");
    expect_error(many, 65, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_parse_fields), cmocka_unit_test(test_routes_match_longest),
        cmocka_unit_test(test_routes_match_405),    cmocka_unit_test(test_routes_match_404),
        cmocka_unit_test(test_routes_parse_errors), cmocka_unit_test(test_routes_semicolons),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
