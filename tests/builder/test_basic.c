/* test_basic.c — HTTP Basic credentials decoding for the authn module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guest/modules/authn/basic.h"

static int decode(struct mod_basic_cred *c, const char *v)
{
    return mod_basic_decode(c, v, strlen(v));
}

static void test_basic_decode_ok(void **state)
{
    (void)state;
    struct mod_basic_cred c;
    /* alice:alice-demo-password */
    assert_int_equal(decode(&c, "Basic YWxpY2U6YWxpY2UtZGVtby1wYXNzd29yZA=="), 0);
    assert_int_equal(c.user_len, 5);
    assert_memory_equal(c.user, "alice", 5);
    assert_int_equal(c.password_len, 19);
    assert_memory_equal(c.password, "alice-demo-password", 19);
    /* Scheme in any case, several blanks, a password holding ':' and one pad byte. */
    assert_int_equal(decode(&c, "bAsIc \t Ym9iOmE6Yg=="), 0); /* bob:a:b */
    assert_memory_equal(c.password, "a:b", 3);
    assert_int_equal(decode(&c, "Basic Ym9iOnBhcw=="), 0); /* bob:pas */
    assert_int_equal(decode(&c, "Basic Ym9iOnBh"), 0);     /* bob:pa */
    assert_int_equal(decode(&c, "Basic Ym9iOg=="), 0);     /* bob: (empty password) */
    assert_int_equal(c.password_len, 0);
}

static void test_basic_decode_scheme(void **state)
{
    (void)state;
    struct mod_basic_cred c;
    assert_int_equal(decode(&c, "Bearer abc"), -2);
    assert_int_equal(decode(&c, "Basically Ym9iOnBh"), -2);
    assert_int_equal(decode(&c, ""), -2);
}

static void test_basic_decode_malformed(void **state)
{
    (void)state;
    struct mod_basic_cred c;
    assert_int_equal(decode(&c, "Basic"), -22);
    assert_int_equal(decode(&c, "Basic Ym9iOnBh="), -22);    /* length not a multiple of 4 */
    assert_int_equal(decode(&c, "Basic Ym9i=nBh"), -22);     /* padding inside */
    assert_int_equal(decode(&c, "Basic Ym9iOnBhcx=="), -22); /* non-canonical pad bits */
    assert_int_equal(decode(&c, "Basic Ym9i!nBh"), -22);     /* outside the alphabet */
    assert_int_equal(decode(&c, "Basic Ym9i"), -22);         /* "bob": no colon */
    assert_int_equal(decode(&c, "Basic OnB3"), -22);         /* ":pw": no user */
    assert_int_equal(decode(&c, "Basic LWE6Yg=="), -22);     /* "-a:b": leading dash */
    assert_int_equal(decode(&c, "Basic Ym8vYjpj"), -22);     /* "bo/b:c": bad user byte */
    assert_int_equal(decode(&c, "Basic Ym9iOmEKYg=="), -22); /* control byte in password */
    assert_null(c.user);
}

static void test_basic_decode_bounded(void **state)
{
    (void)state;
    struct mod_basic_cred c;
    char v[2048] = "Basic ";
    size_t n = strlen(v);
    /* "a:b" then "AAA"...: 684 base64 characters decode to 513 bytes, one more than
     * MOD_BASIC_MAX. */
    memcpy(v + n, "YTpi", 4);
    for (size_t i = 4; i < 684; i++)
        v[n + i] = "QUFB"[i % 4]; /* "AAA" */
    v[n + 684] = '\0';
    assert_int_equal(decode(&c, v), -22);
    v[n + 680] = '\0'; /* 510 bytes: fits */
    assert_int_equal(decode(&c, v), 0);
    mod_basic_wipe(&c);
    assert_null(c.password);
    for (size_t i = 0; i < sizeof(c.buf); i++)
        assert_int_equal(c.buf[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_decode_ok),
        cmocka_unit_test(test_basic_decode_scheme),
        cmocka_unit_test(test_basic_decode_malformed),
        cmocka_unit_test(test_basic_decode_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
