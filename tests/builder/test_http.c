/* test_http.c — the http_server module's request parser and response writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/modules/http_server/http.h"

static const struct mod_http_limits lim = MOD_HTTP_LIMITS_DEFAULT;

/* Parses S in one piece. */
static int parse(struct mod_http_request *rq, const char *s)
{
    struct mod_http_scan scan = {0};
    return mod_http_parse(rq, &scan, s, strlen(s), &lim);
}

static int parse_lim(const char *s, const struct mod_http_limits *l)
{
    struct mod_http_request rq;
    struct mod_http_scan scan = {0};
    return mod_http_parse(&rq, &scan, s, strlen(s), l);
}

static int status(const char *s)
{
    struct mod_http_request rq;
    return parse(&rq, s);
}

static int eq(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_http_parse_get(void **state)
{
    (void)state;
    struct mod_http_request rq;
    const char *s = "GET /a/b?x=1&y HTTP/1.1\r\nHost: web\r\nUser-Agent:  curl/7  \r\n\r\n";
    assert_int_equal(parse(&rq, s), (int)strlen(s));
    assert_true(eq(rq.method, rq.method_len, "GET"));
    assert_true(eq(rq.target, rq.target_len, "/a/b?x=1&y"));
    assert_true(eq(rq.path, rq.path_len, "/a/b"));
    assert_true(eq(rq.query, rq.query_len, "x=1&y"));
    assert_true(rq.has_query);
    assert_int_equal(rq.minor, 1);
    assert_true(rq.keep_alive);
    assert_true(eq(rq.host, rq.host_len, "web"));
    assert_int_equal(rq.nheaders, 2);
    size_t n;
    const char *ua = mod_http_header_get(&rq, "user-agent", &n);
    assert_non_null(ua);
    assert_true(eq(ua, n, "curl/7")); /* blanks around the value trimmed */
    assert_null(mod_http_header_get(&rq, "accept", &n));
    assert_int_equal(rq.body_len, 0);
    assert_null(rq.authorization);
}

static void test_http_parse_incremental(void **state)
{
    (void)state;
    const char *s = "POST /orders/1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                    "Authorization: Basic YWxpY2U6cHc=\r\n\r\nhello";
    size_t head = strlen(s) - 5;
    struct mod_http_request rq;
    struct mod_http_scan scan = {0};
    for (size_t i = 1; i < head; i++)
        assert_int_equal(mod_http_parse(&rq, &scan, s, i, &lim), 0);
    assert_int_equal(mod_http_parse(&rq, &scan, s, strlen(s), &lim), (int)head);
    assert_int_equal(rq.body_len, 5);
    assert_int_equal(rq.head_len, head);
    assert_true(eq(rq.authorization, rq.authorization_len, "Basic YWxpY2U6cHc="));
}

static void test_http_parse_pipelined(void **state)
{
    (void)state;
    const char *a = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof(buf), "%sGET /2 HTTP/1.1\r\nHost: h\r\n\r\n", a);
    struct mod_http_request rq;
    assert_int_equal(parse(&rq, buf), (int)strlen(a));
    assert_true(eq(rq.path, rq.path_len, "/1"));
}

static void test_http_parse_keep_alive(void **state)
{
    (void)state;
    struct mod_http_request rq;
    assert_true(parse(&rq, "GET / HTTP/1.0\r\n\r\n") > 0);
    assert_false(rq.keep_alive);
    assert_true(parse(&rq, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
    assert_true(rq.keep_alive);
    assert_true(parse(&rq, "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n") > 0);
    assert_false(rq.keep_alive);
    assert_true(parse(&rq, "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n") > 0);
    assert_true(rq.keep_alive);
}

static void test_http_parse_target_forms(void **state)
{
    (void)state;
    struct mod_http_request rq;
    assert_true(parse(&rq, "GET http://web:8080/x/y?q HTTP/1.1\r\nHost: web\r\n\r\n") > 0);
    assert_true(eq(rq.path, rq.path_len, "/x/y"));
    assert_true(eq(rq.query, rq.query_len, "q"));
    assert_true(parse(&rq, "GET HTTPS://web HTTP/1.1\r\nHost: web\r\n\r\n") > 0);
    assert_true(eq(rq.path, rq.path_len, "/"));
    assert_true(parse(&rq, "OPTIONS * HTTP/1.1\r\nHost: web\r\n\r\n") > 0);
    assert_true(eq(rq.path, rq.path_len, "*"));
    assert_int_equal(status("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET x HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n") > 0, 1);
}

static void test_http_parse_request_line_errors(void **state)
{
    (void)state;
    assert_int_equal(status("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), -505);
    assert_int_equal(status("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), -505);
    assert_int_equal(status("GET / http/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET /\r\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("\r\n\r\n"), -400);
    assert_int_equal(status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
    char m[128];
    snprintf(m, sizeof(m), "%s / HTTP/1.1\r\nHost: h\r\n\r\n",
             "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ");
    assert_int_equal(status(m), -501);
}

static void test_http_parse_line_endings(void **state)
{
    (void)state;
    assert_int_equal(status("GET / HTTP/1.1\nHost: h\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\n\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), -400);
    /* A bare LF is refused as soon as it arrives, not when the head is complete. */
    struct mod_http_request rq;
    struct mod_http_scan scan = {0};
    assert_int_equal(mod_http_parse(&rq, &scan, "GET / HTTP/1.1\n", 15, &lim), -400);
}

static void test_http_parse_header_errors(void **state)
{
    (void)state;
    assert_int_equal(status("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\x62\r\n\r\n"), -400);
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), -400);
    assert_true(status("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\t\r\n\r\n") > 0);
    assert_int_equal(status("GET / HTTP/1.1\r\n\r\n"), -400); /* no Host */
    assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), -400);
    assert_true(status("GET / HTTP/1.0\r\n\r\n") > 0); /* 1.0: optional */
    assert_int_equal(
        status("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"), -400);
}

static void test_http_parse_body_framing(void **state)
{
    (void)state;
    struct mod_http_limits l = lim;
    l.body_max = 100;
    assert_true(parse_lim("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", &l) > 0);
    assert_int_equal(parse_lim("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", &l),
                     -413);
    assert_int_equal(
        parse_lim("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", &l),
        -400);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                            "Content-Length: 1\r\n\r\n"),
                     -400);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n"), -400);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n"), -400);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     -411);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), -501);
    assert_int_equal(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                            "Content-Length: 3\r\n\r\n"),
                     -400);
}

static void test_http_parse_limits(void **state)
{
    (void)state;
    struct mod_http_limits l = {64, 128, 4, 1000};
    char buf[512];
    struct mod_http_request rq;
    struct mod_http_scan scan = {0};

    /* A request line longer than line_max: 414 before its end has arrived. */
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "GET /", 5);
    assert_int_equal(mod_http_parse(&rq, &scan, buf, 60, &l), 0);
    assert_int_equal(mod_http_parse(&rq, &scan, buf, 66, &l), -414);
    /* Exactly line_max is accepted. */
    snprintf(buf, sizeof(buf), "GET /%s HTTP/1.0\r\n\r\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal((int)strcspn(buf, "\r"), 64);
    assert_true(parse_lim(buf, &l) > 0);
    /* More header fields than headers_max: 431. */
    assert_true(parse_lim("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &l) > 0);
    assert_int_equal(
        parse_lim("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &l), -431);
    /* A head larger than head_max: 431, also while it is still arriving. */
    snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: %0100d\r\n\r\n", 0);
    assert_int_equal(parse_lim(buf, &l), -431);
    memset(&scan, 0, sizeof(scan));
    assert_int_equal(mod_http_parse(&rq, &scan, buf, 128, &l), -431);
}

static int status_of(struct mod_http_status *st, const char *s)
{
    struct mod_http_scan scan = {0};
    return mod_http_parse_status(st, &scan, s, strlen(s), &lim);
}

static void test_http_parse_status(void **state)
{
    (void)state;
    struct mod_http_status st;
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(status_of(&st, r), (int)strlen(r) - 5);
    assert_int_equal(st.status, 200);
    assert_int_equal(st.content_length, 5);
    assert_false(st.close);
    assert_false(st.chunked);
    assert_true(status_of(&st, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n") > 0);
    assert_true(st.close); /* 1.0 without keep-alive */
    assert_true(status_of(&st, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                               "Content-Length: 0\r\n\r\n") > 0);
    assert_false(st.close);
    assert_true(status_of(&st, "HTTP/1.1 200 OK\r\n\r\n") > 0);
    assert_true(st.close); /* no length: the body runs to the end */
    assert_int_equal(st.content_length, -1);
    assert_true(status_of(&st, "HTTP/1.1 204\r\n\r\n") > 0); /* empty reason, no body */
    assert_false(st.close);
    assert_true(status_of(&st, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
    assert_true(st.chunked);
    assert_int_equal(status_of(&st, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"),
                     -502);
    assert_int_equal(status_of(&st, "HTTP/1.1 20 OK\r\n\r\n"), -502);
    assert_int_equal(status_of(&st, "HTTP/1.1 099 OK\r\n\r\n"), -502);
    assert_int_equal(status_of(&st, "HTTP/1.1 200OK\r\n\r\n"), -502);
    assert_int_equal(status_of(&st, "HTTP/1.1 200 OK\nX: y\r\n\r\n"), -502);
    assert_int_equal(status_of(&st, "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n"),
                     -502); /* over body_max */
    assert_int_equal(status_of(&st, "HTTP/1.1 200 OK\r\nContent"), 0);
}

static void test_http_respond(void **state)
{
    (void)state;
    char buf[256];
    struct mod_http_out o;
    struct mod_http_response r = {200, "text/plain", "X-A: b\r\n", "hi\n", 3};

    mod_http_out_init(&o, buf, sizeof(buf));
    assert_int_equal(mod_http_respond(&o, &r, 1, 1, 0), 0);
    assert_true(eq(buf, o.len,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                   "X-A: b\r\n\r\nhi\n"));
    mod_http_out_init(&o, buf, sizeof(buf));
    assert_int_equal(mod_http_respond(&o, &r, 0, 1, 1), 0);
    assert_true(eq(buf, o.len,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                   "Connection: keep-alive\r\nX-A: b\r\n\r\n"));
    mod_http_out_init(&o, buf, sizeof(buf));
    assert_int_equal(mod_http_respond_error(&o, 431, NULL, 1, 0), 0);
    assert_true(eq(buf, o.len,
                   "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 36\r\nConnection: close\r\n\r\n"
                   "431 Request Header Fields Too Large\n"));
    /* Too small a buffer: reported, never written past. */
    char small[20];
    memset(small, 'Z', sizeof(small));
    mod_http_out_init(&o, small, 16);
    assert_int_equal(mod_http_respond(&o, &r, 1, 1, 0), -1);
    assert_true(o.overflow);
    assert_int_equal(o.len, 16);
    assert_int_equal(small[16], 'Z');
}

static void test_http_reason(void **state)
{
    (void)state;
    assert_string_equal(mod_http_reason(404), "Not Found");
    assert_string_equal(mod_http_reason(429), "Too Many Requests");
    assert_string_equal(mod_http_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_parse_get),
        cmocka_unit_test(test_http_parse_incremental),
        cmocka_unit_test(test_http_parse_pipelined),
        cmocka_unit_test(test_http_parse_keep_alive),
        cmocka_unit_test(test_http_parse_target_forms),
        cmocka_unit_test(test_http_parse_request_line_errors),
        cmocka_unit_test(test_http_parse_line_endings),
        cmocka_unit_test(test_http_parse_header_errors),
        cmocka_unit_test(test_http_parse_body_framing),
        cmocka_unit_test(test_http_parse_limits),
        cmocka_unit_test(test_http_parse_status),
        cmocka_unit_test(test_http_respond),
        cmocka_unit_test(test_http_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
