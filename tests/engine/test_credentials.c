/* test_credentials.c — the credentials file: hashes verify, plaintext is refused, secrets are
 * never repeated in any message. */
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

/* Parses TEXT as a credentials file; returns all messages joined (caller frees). */
static char *parse_creds(const char *text, int *rc, struct engine_acl **keep)
{
    struct engine_acl *a;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    *rc = engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials", text, strlen(text), &d);
    out = engine_diag_join(&d);
    assert_non_null(out);
    engine_diag_free(&d);
    if (keep)
        *keep = a;
    else
        engine_acl_free(a);
    return out;
}

static void test_credentials_line_verifies_its_password(void **state)
{
    const uint8_t salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct engine_acl_cred c;
    char *line = NULL;
    size_t col;
    const char *why;
    (void)state;
    assert_int_equal(engine_acl_cred_line(&line, "alice", "correct horse", 13, 1000, salt, 16), 0);
    assert_non_null(strstr(line, "alice:pbkdf2-sha256:1000:0102030405060708090a0b0c0d0e0f10:"));
    assert_int_equal(strlen(line), strlen("alice:pbkdf2-sha256:1000:") + 32 + 1 + 64);
    assert_int_equal(engine_acl_cred_parse(&c, line + 6, strlen(line) - 6, &col, &why), 0);
    assert_int_equal(engine_acl_cred_verify(&c, "correct horse", 13), 1);
    assert_int_equal(engine_acl_cred_verify(&c, "correct horsf", 13), 0);
    assert_int_equal(engine_acl_cred_verify(&c, "correct hors", 12), 0);
    assert_int_equal(engine_acl_cred_verify(&c, "", 0), 0);
    free(line);
    /* Random salts: two lines for one password differ. */
    char *l1, *l2;
    assert_int_equal(engine_acl_cred_line(&l1, "bob", "pw", 2, 1000, NULL, 0), 0);
    assert_int_equal(engine_acl_cred_line(&l2, "bob", "pw", 2, 1000, NULL, 0), 0);
    assert_string_not_equal(l1, l2);
    free(l1);
    free(l2);
    assert_int_equal(engine_acl_cred_line(&l1, "bob", "pw", 2, 999, NULL, 0), -EINVAL);
    assert_int_equal(engine_acl_cred_line(&l1, "bo:b", "pw", 2, 1000, NULL, 0), -EINVAL);
    assert_int_equal(engine_acl_cred_line(&l1, "bob", "pw", 2, 1000, salt, 15), -EINVAL);
}

static void test_credentials_blob_verifies(void **state)
{
    const uint8_t salt[20] = {7};
    struct engine_acl *a;
    struct engine_diag d;
    struct engine_acl_blob b;
    char *line, *text;
    void *blob;
    size_t len;
    (void)state;
    assert_int_equal(engine_acl_cred_line(&line, "carol", "s3cret", 6, 1000, salt, 20), 0);
    assert_int_equal(asprintf(&text, "# users\n%s  # carol\n", line), (int)strlen(line) + 18);
    engine_diag_init(&d);
    engine_acl_new(&a);
    assert_int_equal(
        engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials", text, strlen(text), &d), 0);
    assert_int_equal(engine_acl_compile(&blob, &len, a, NULL, 1), 0);
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(engine_acl_blob_verify(&b, "carol", 5, "s3cret", 6), 1);
    assert_int_equal(engine_acl_blob_verify(&b, "carol", 5, "s3creT", 6), 0);
    assert_int_equal(engine_acl_blob_verify(&b, "dave", 4, "s3cret", 6), -ENGINE_ACL_ENOENT);
    /* In slices: the same answers, and an unknown user runs as many iterations as a known
     * one (a user's existence must not show in the time taken). */
    static const struct {
        const char *user, *pw;
        int want;
    } cases[] = {{"carol", "s3cret", 1}, {"carol", "s3creT", 0}, {"dave", "s3cret", -2}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct engine_acl_check c;
        uint32_t steps = 0;
        assert_int_equal(engine_acl_check_start(&c, &b, cases[i].user, strlen(cases[i].user),
                                                cases[i].pw, strlen(cases[i].pw)),
                         0);
        assert_int_equal(c.iterations, 1000);
        while (engine_acl_check_step(&c, 64) > 0)
            steps++;
        assert_int_equal(steps, 999 / 64);
        assert_int_equal(engine_acl_check_end(&c), cases[i].want);
    }
    free(blob);
    free(line);
    free(text);
    engine_acl_free(a);
    engine_diag_free(&d);
}

static void test_credentials_plaintext_is_refused_and_not_echoed(void **state)
{
    int rc;
    char *e = parse_creds("alice:hunter2\n"
                          "bob:password123\n"
                          "carol:pbkdf2-sha256:hunter3:00:00\n"
                          "hunter4\n"
                          "dave:x:y:z:hunter5:w\n",
                          &rc, NULL);
    (void)state;
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(
        e, "credentials:1:7: error: a plaintext secret is not accepted for user 'alice': "
           "expected alice:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX; make the line with "
           "`unisec acl passwd alice`\n"
           "credentials:2:5: error: a plaintext secret is not accepted for user 'bob': expected "
           "bob:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX; make the line with `unisec acl "
           "passwd bob`\n"
           "credentials:3:21: error: ITERATIONS: expected a decimal number from 1000 to "
           "10000000\n"
           "credentials:4:1: error: expected USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX "
           "with a user name before the first ':'; a plaintext secret is not accepted: make the "
           "line with `unisec acl passwd USER`\n"
           "credentials:5:6: error: a plaintext secret is not accepted for user 'dave': expected "
           "dave:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX; make the line with `unisec acl "
           "passwd dave`");
    assert_null(strstr(e, "hunter"));
    assert_null(strstr(e, "password123"));
    free(e);
}

static void test_credentials_field_errors(void **state)
{
    const char *h64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char text[2048];
    int rc;
    char *e;
    (void)state;
    snprintf(text, sizeof(text),
             "a:pbkdf2-sha256:999:000102030405060708090a0b0c0d0e0f:%s\n"
             "b:pbkdf2-sha256:10000001:000102030405060708090a0b0c0d0e0f:%s\n"
             "c:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e:%s\n"
             "d:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0g:%s\n"
             "e:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:%.62s\n"
             "f:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f\n"
             "g:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:%s:x\n"
             "h:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:%s extra\n"
             "i:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:%s\n"
             "i:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:%s\n",
             h64, h64, h64, h64, h64, h64, h64, h64, h64);
    e = parse_creds(text, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(
        e, "credentials:1:17: error: ITERATIONS: expected a decimal number from 1000 to 10000000\n"
           "credentials:2:17: error: ITERATIONS: expected a decimal number from 1000 to 10000000\n"
           "credentials:3:22: error: SALT_HEX: expected 32 to 128 hex digits (16 to 64 bytes)\n"
           "credentials:4:22: error: SALT_HEX: expected 32 to 128 hex digits (16 to 64 bytes)\n"
           "credentials:5:55: error: HASH_HEX: expected 64 hex digits (a 32-byte "
           "PBKDF2-HMAC-SHA256 output)\n"
           "credentials:6:54: error: missing fields: expected "
           "USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX\n"
           "credentials:7:119: error: too many ':'-separated fields: expected "
           "USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX\n"
           "credentials:8:120: error: unexpected text after the hash ('#' starts a comment)\n"
           "credentials:10:1: error: user 'i' already has a credential at line 9");
    free(e);
}

static void test_credentials_cli_never_echoes_the_secret(void **state)
{
    const char *unisec = getenv("UNISEC");
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600], cmd[1400], out[4096];
    FILE *f, *p;
    size_t n;
    (void)state;
    if (unisec == NULL)
        skip();
    snprintf(dir, sizeof(dir), "%s/unisec-cred-XXXXXX", tmp ? tmp : P_tmpdir);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/credentials", dir);
    f = fopen(path, "w");
    fputs("alice:Tr0ub4dor&3xyzzy\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "'%s' acl check '%s' 2>&1", unisec, path);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    assert_int_equal(WEXITSTATUS(pclose(p)), 1);
    assert_non_null(strstr(out, "a plaintext secret is not accepted"));
    assert_non_null(strstr(out, "unisec acl passwd alice"));
    assert_null(strstr(out, "Tr0ub4dor"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_line_verifies_its_password),
        cmocka_unit_test(test_credentials_blob_verifies),
        cmocka_unit_test(test_credentials_plaintext_is_refused_and_not_echoed),
        cmocka_unit_test(test_credentials_field_errors),
        cmocka_unit_test(test_credentials_cli_never_echoes_the_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
