/*
 * fuzz_http.c — libFuzzer harness for the modules' parsers of untrusted input. The first byte
 * picks the target:
 *   0..95:  the HTTP request parser, fed in two pieces split at a point taken from the
 *           input, with small limits half of the time; the verdict must match a parse in
 *           one piece and every pointer must lie inside the input; then a response is written
 *   96..127: the response parser (lb_proxy's view of an upstream), in one piece and in two
 *   128..191: the Basic credentials decoder
 *   192..255: the dispatch routes parser, then matching requests against the table
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/modules/authn/basic.h"
#include "common/routes.h"
#include "guest/modules/http_server/http.h"

static void fuzz_inside(const char *p, size_t n, const uint8_t *base, size_t size)
{
    if (n > 0 && ((const uint8_t *)p < base || (const uint8_t *)p + n > base + size))
        abort();
}

static void fuzz_http_parse(const uint8_t *data, size_t size, uint8_t sel)
{
    static const struct mod_http_limits def = MOD_HTTP_LIMITS_DEFAULT;
    static const struct mod_http_limits small = {40, 100, 4, 1000};
    const struct mod_http_limits *lim = sel & 1 ? &small : &def;
    struct mod_http_request a, b;
    struct mod_http_scan sa = {0}, sb = {0};
    const char *buf = (const char *)data;
    size_t split = size ? (size_t)sel * 7919u % size : 0;

    int one = mod_http_parse(&a, &sa, buf, size, lim);
    int two = mod_http_parse(&b, &sb, buf, split, lim);
    if (two == 0)
        two = mod_http_parse(&b, &sb, buf, size, lim);
    /* The same verdict whether the head arrives in one piece or two; an error may differ in
     * its status (an earlier piece can already prove the line too long, say). */
    if ((one > 0) != (two > 0) || (one > 0 && one != two) || (one == 0) != (two == 0))
        abort();
    if (one <= 0)
        return;
    if ((size_t)one > size || a.head_len != (size_t)one || a.nheaders > lim->headers_max)
        abort();
    if (a.path_len == 0 || (a.path[0] != '/' && a.path[0] != '*'))
        abort();
    if (!(a.path_len == 1 && a.path[0] == '/'))
        fuzz_inside(a.path, a.path_len, data, size);
    fuzz_inside(a.method, a.method_len, data, size);
    fuzz_inside(a.query, a.query_len, data, size);
    for (size_t i = 0; i < a.nheaders; i++) {
        fuzz_inside(a.headers[i].name, a.headers[i].name_len, data, size);
        fuzz_inside(a.headers[i].value, a.headers[i].value_len, data, size);
    }
    if (a.body_len > lim->body_max)
        abort();
    char out[512];
    struct mod_http_out o;
    struct mod_http_response r = {200, "text/plain", NULL, a.path, a.path_len};
    mod_http_out_init(&o, out, sizeof(out));
    mod_http_respond(&o, &r, a.minor, a.keep_alive, 0);
    if (o.len > sizeof(out))
        abort();
}

static void fuzz_http_status(const uint8_t *data, size_t size, uint8_t sel)
{
    static const struct mod_http_limits lim = MOD_HTTP_LIMITS_DEFAULT;
    struct mod_http_status a, b;
    struct mod_http_scan sa = {0}, sb = {0};
    size_t split = size ? (size_t)sel * 7919u % size : 0;
    int one = mod_http_parse_status(&a, &sa, (const char *)data, size, &lim);
    int two = mod_http_parse_status(&b, &sb, (const char *)data, split, &lim);
    if (two == 0)
        two = mod_http_parse_status(&b, &sb, (const char *)data, size, &lim);
    if ((one > 0) != (two > 0) || (one > 0 && (one != two || a.status != b.status)))
        abort();
    if (one > 0 && ((size_t)one > size || a.status < 100 || a.status > 999 ||
                    a.content_length > (int64_t)lim.body_max))
        abort();
}

static void fuzz_basic(const uint8_t *data, size_t size)
{
    struct mod_basic_cred c;
    if (mod_basic_decode(&c, (const char *)data, size) == 0) {
        if (c.user_len == 0 || c.user_len > 64 || c.user + c.user_len >= c.buf + sizeof(c.buf))
            abort();
        if (c.password + c.password_len > c.buf + sizeof(c.buf))
            abort();
    }
    mod_basic_wipe(&c);
}

static void fuzz_routes(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/", "/a", "/a/b", "/orders/1", "/admin"};
    static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE"};
    static struct mod_routes rt;
    size_t line, col;
    const char *why;
    if (mod_routes_parse(&rt, (const char *)data, size, &line, &col, &why) < 0) {
        if (line == 0 || col == 0 || why == NULL)
            abort();
        return;
    }
    for (size_t p = 0; p < 5; p++)
        for (size_t m = 0; m < 4; m++) {
            const struct mod_route *r = NULL;
            char allow[32];
            int st = mod_routes_match(&rt, methods[m], strlen(methods[m]), paths[p],
                                      strlen(paths[p]), &r, allow, sizeof(allow));
            if (st == 200 && (r == NULL || r->status < 200 || r->status > 599))
                abort();
            if (st == 405 && strlen(allow) >= sizeof(allow))
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    if (sel < 96)
        fuzz_http_parse(copy, size - 1, sel);
    else if (sel < 128)
        fuzz_http_status(copy, size - 1, sel);
    else if (sel < 192)
        fuzz_basic(copy, size - 1);
    else
        fuzz_routes(copy, size - 1);
    free(copy);
    return 0;
}
