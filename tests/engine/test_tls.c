/* test_tls.c — a node's certificate chain and key (engine/tls.h): accepted EC and RSA pairs
 * and chains, and each refusal with its reason (a key of another certificate, expired or not
 * yet valid, malformed, a key in the chain file); the credentials made round-trip through
 * common/tls_creds.c; no message quotes the key. The PEM files are made by openssl at run
 * time into a temporary directory (no key is kept in the tree). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/tls_creds.h"
#include "engine/engine.h"

static char tls_dir[256];

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tls_dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

/* Checks CERT and KEY (files of tls_dir; KEY NULL: the chain alone) at NOW: the status, the
 * messages (*MSG, caller frees) and the blob when given. */
static int check(const char *cert, const char *key, int64_t now, char **msg,
                 struct engine_tls_info *info, void **blob, size_t *blen)
{
    size_t cl, kl = 0;
    char *c = slurp(cert, &cl), *k = key ? slurp(key, &kl) : NULL;
    struct engine_tls_input in = {c, k, cl, kl, "tls/cert", "tls/key", now};
    struct engine_diag d;
    engine_diag_init(&d);
    int rc = engine_tls_check(&in, info, blob, blen, &d);
    *msg = engine_diag_join(&d);
    engine_diag_free(&d);
    free(c);
    free(k);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    if (system("command -v openssl >/dev/null") != 0)
        return 0;
    snprintf(tls_dir, sizeof(tls_dir), "%s/unisec-tls-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tls_dir));
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %s && q='-nodes -subj /CN=localhost -days 30' && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 $q -keyout ec.key "
             "-out ec.crt && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 $q -keyout ec2.key "
             "-out ec2.crt && "
             "openssl req -x509 -newkey rsa:2048 $q -keyout rsa.key -out rsa.crt && "
             "openssl req -x509 -newkey rsa:1024 $q -keyout weak.key -out weak.crt && "
             "openssl ec -in ec.key -out ec.sec1 && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 $q -keyout ca.key "
             "-out ca.crt -subj /CN=ca && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
             "/CN=leaf -keyout leaf.key -out leaf.csr && "
             "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
             "-out leaf.crt && cat leaf.crt ca.crt >chain.crt && cat ec.crt ec.key >mixed.crt && "
             "printf -- '-----BEGIN CERTIFICATE-----\\nnot base64 at all\\n-----END "
             "CERTIFICATE-----\\n' >bad.crt && head -c 300 ec.crt >cut.crt && "
             "openssl x509 -in rsa.crt -pubkey -noout | openssl pkey -pubin -outform DER | "
             "sha256sum | cut -c1-64 >rsa.fp",
             tls_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    if (tls_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
        assert_int_equal(system(cmd), 0);
    }
    return 0;
}

#define NEED_OPENSSL()                                                                             \
    do {                                                                                           \
        if (!tls_dir[0])                                                                           \
            skip();                                                                                \
    } while (0)

static void test_tls_ec_pair_makes_credentials(void **state)
{
    (void)state;
    NEED_OPENSSL();
    struct engine_tls_info info;
    struct tls_creds cr;
    void *blob = NULL;
    size_t len = 0;
    const char *why;
    char *msg;
    assert_int_equal(check("ec.crt", "ec.key", time(NULL), &msg, &info, &blob, &len), 0);
    assert_string_equal(msg, "");
    assert_int_equal(info.key_type, UNISEC_TLS_KEY_EC);
    assert_int_equal(info.key_bits, 256);
    assert_int_equal(info.ncerts, 1);
    assert_true(info.not_after > time(NULL) + 29 * 86400);
    assert_int_equal(tls_creds_parse(blob, len, &cr, &why), 0);
    assert_int_equal(cr.key_type, UNISEC_TLS_KEY_EC);
    assert_int_equal(cr.key_param, 23);
    assert_int_equal(cr.nkey, 1);
    assert_int_equal(cr.key[0].len, 32);
    assert_int_equal(cr.ncerts, 1);
    /* The SEC 1 form of the same key is the same key. */
    struct engine_tls_info info2;
    free(msg);
    assert_int_equal(check("ec.crt", "ec.sec1", time(NULL), &msg, &info2, NULL, NULL), 0);
    assert_memory_equal(info.fingerprint, info2.fingerprint, 32);
    free(msg);
    free(blob);
}

static void test_tls_rsa_pair_and_chain(void **state)
{
    (void)state;
    NEED_OPENSSL();
    struct engine_tls_info info;
    struct tls_creds cr;
    void *blob = NULL;
    size_t len = 0;
    const char *why;
    char *msg;
    if (check("rsa.crt", "rsa.key", time(NULL), &msg, &info, &blob, &len) != 0)
        fail_msg("%s", msg);
    assert_int_equal(info.key_type, UNISEC_TLS_KEY_RSA);
    assert_int_equal(info.key_bits, 2048);
    assert_int_equal(tls_creds_parse(blob, len, &cr, &why), 0);
    assert_int_equal(cr.nkey, 5);
    assert_int_equal(cr.key_param, 2048);
    free(blob);
    free(msg);
    assert_int_equal(check("chain.crt", "leaf.key", time(NULL), &msg, &info, &blob, &len), 0);
    assert_int_equal(info.ncerts, 2);
    assert_int_equal(tls_creds_parse(blob, len, &cr, &why), 0);
    assert_int_equal(cr.ncerts, 2);
    free(blob);
    free(msg);
}

/* Each refusal names the file and says why; none repeats the key. */
static void test_tls_refusals(void **state)
{
    (void)state;
    NEED_OPENSSL();
    static const struct {
        const char *cert, *key;
        int64_t shift; /* seconds added to now */
        const char *says;
    } cases[] = {
        {"ec.crt", "ec2.key", 0,
         "tls/key: error: is not the private key of the certificate in tls/cert"},
        {"ec.crt", "rsa.key", 0, "is an RSA key, but the certificate's key is EC"},
        {"ec.crt", "ec.key", 40 * 86400, "tls/cert: error: certificate 1 has expired"},
        {"ec.crt", "ec.key", -86400, "tls/cert: error: certificate 1 is not valid yet"},
        {"chain.crt", "ec.key", 0, "is not the private key of the certificate"},
        {"bad.crt", "ec.key", 0, "tls/cert: error: is not valid PEM"},
        {"cut.crt", "ec.key", 0, "tls/cert: error: a PEM object is not terminated by its END line"},
        {"mixed.crt", "ec.key", 0, "PEM object 2 is a 'PRIVATE KEY', not a CERTIFICATE"},
        {"ec.crt", "ec.crt", 0, "tls/key: error: must hold exactly one PRIVATE KEY"},
        {"weak.crt", "weak.key", 0, "RSA key of 1024 bits; 2048 to 4096 are accepted"},
    };
    size_t klen;
    char *ec_key = slurp("ec.key", &klen);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *msg;
        void *blob = NULL;
        size_t len = 0;
        int rc = check(cases[i].cert, cases[i].key, time(NULL) + cases[i].shift, &msg, NULL, &blob,
                       &len);
        if (rc != -EINVAL || strstr(msg, cases[i].says) == NULL)
            fail_msg("case %zu: rc %d, messages: %s", i, rc, msg);
        assert_null(blob);
        /* The base64 body of the key never shows (its second line, 64 characters). */
        char line[65];
        memcpy(line, strchr(ec_key, '\n') + 1, 64);
        line[64] = 0;
        assert_null(strstr(msg, line));
        free(msg);
    }
    free(ec_key);
}

/* The chain alone (a certificate written before its key). */
static void test_tls_chain_alone(void **state)
{
    (void)state;
    NEED_OPENSSL();
    struct engine_tls_info info;
    char *msg;
    assert_int_equal(check("chain.crt", NULL, time(NULL), &msg, &info, NULL, NULL), 0);
    assert_int_equal(info.ncerts, 2);
    free(msg);
}

/* The blob's framing: every truncation and a trailing byte are refused. */
static void test_tls_creds_framing(void **state)
{
    (void)state;
    const uint8_t x[32] = {1}, cert[3] = {0x30, 1, 0};
    struct tls_creds c = {.key_type = UNISEC_TLS_KEY_EC,
                          .key_param = 23,
                          .nkey = 1,
                          .key = {{x, sizeof(x)}},
                          .ncerts = 1,
                          .cert = {{cert, sizeof(cert)}}},
                     out;
    uint8_t buf[128];
    const char *why;
    size_t n = tls_creds_encode(buf, sizeof(buf), &c);
    assert_int_equal(n, 24 + 4 + 32 + 4 + 3);
    assert_int_equal(tls_creds_parse(buf, n, &out, &why), 0);
    assert_memory_equal(out.key[0].p, x, 32);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(tls_creds_parse(buf, k, &out, &why), -1);
    assert_int_equal(tls_creds_parse(buf, n + 1, &out, &why), -1);
    assert_string_equal(why, "bytes follow the last certificate");
    buf[8] = 9; /* an unknown key type */
    assert_int_equal(tls_creds_parse(buf, n, &out, &why), -1);
    assert_int_equal(tls_creds_encode(buf, 10, &c), n); /* too small: the size, nothing more */
}

/* A combined write (fs_tls.c): the key's object apart from the chain's, text around dropped, an
 * END line without its newline given one. */
static void test_tls_split(void **state)
{
    (void)state;
    static const char text[] =
        "junk before\n"
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        "between\n"
        "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----\n"
        "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----";
    char *key, *cert;
    size_t kl, cl;
    assert_int_equal(engine_tls_split(text, sizeof(text) - 1, &key, &kl, &cert, &cl), 1);
    assert_string_equal(key,
                        "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----\n");
    assert_int_equal(kl, strlen(key));
    assert_string_equal(cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                              "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n");
    assert_int_equal(cl, strlen(cert));
    free(key);
    free(cert);
    assert_int_equal(engine_tls_split("", 0, &key, &kl, &cert, &cl), 0);
    assert_int_equal(kl + cl, 0);
    free(key);
    free(cert);
}

/* The fingerprint is SHA-256 of the certificate's SubjectPublicKeyInfo, as openssl computes it
 * (`openssl pkey -pubin -outform DER | sha256sum`); the same for the key's write. */
static void test_tls_fingerprint_is_spki(void **state)
{
    (void)state;
    NEED_OPENSSL();
    struct engine_tls_info info;
    char *msg, text[ENGINE_TLS_FP_TEXT];
    size_t len;
    assert_int_equal(check("rsa.crt", "rsa.key", time(NULL), &msg, &info, NULL, NULL), 0);
    free(msg);
    engine_tls_fingerprint_text(info.fingerprint, text);
    char *want = slurp("rsa.fp", &len);
    assert_int_equal(strncmp(text, "sha256:", 7), 0);
    assert_memory_equal(text + 7, want, 64);
    free(want);
}

/* Where a pushed file holds a private key (the remote's hook): any label ending in PRIVATE KEY,
 * anywhere on a line; not a certificate, a public key, a BEGIN cut short or a lookalike. */
static void test_tls_key_line(void **state)
{
    static const struct {
        const char *text;
        int line;
    } cases[] = {
        {"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", 1},
        {"notes\n\n  -----BEGIN RSA PRIVATE KEY-----\n", 3},
        {"x: \"-----BEGIN OPENSSH PRIVATE KEY-----\"\n", 1},
        {"a\n-----BEGIN ENCRYPTED PRIVATE KEY-----", 2},
        {"-----BEGIN EC PRIVATE KEY-----", 1},
        {"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", 0},
        {"-----BEGIN PUBLIC KEY-----\n", 0},
        {"-----BEGIN PRIVATE KEY", 0},
        {"-----BEGIN PRIVATE\nKEY-----\n", 0},
        {"-----BEGIN PRIVATE KEYS-----\n", 0},
        {"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(engine_tls_key_line(cases[i].text, strlen(cases[i].text)), cases[i].line);
    /* LEN bounds the scan: a key past it is not seen */
    assert_int_equal(engine_tls_key_line("ab-----BEGIN PRIVATE KEY-----", 2), 0);
}

/* engine_tls_pins()'s CERT: node NODE's chains, the one in force then the previous one. */
static const struct {
    const char *node, *file[2];
} pin_files[] = {
    {"a", {"ec.crt", "ec2.crt"}}, /* rotated from a P-384 key */
    {"r", {"rsa.crt", NULL}},
    {"d", {"ec.crt", "ec.crt"}}, /* renewed: the same key */
    {"x", {"bad.crt", "ec.crt"}},
};
static char *pin_text[8];

static int pin_cert(void *arg, const char *node, size_t i, const char **pem, size_t *len)
{
    size_t *n = arg;
    for (size_t k = 0; k < sizeof(pin_files) / sizeof(pin_files[0]); k++)
        if (strcmp(pin_files[k].node, node) == 0 && i < 2 && pin_files[k].file[i] != NULL) {
            *pem = pin_text[(*n)++ % 8] = slurp(pin_files[k].file[i], len);
            return 0;
        }
    return -1;
}

/* The length of the hex digits at P. */
static size_t hexlen(const char *p)
{
    return strspn(p, "0123456789abcdef");
}

static void test_tls_pins(void **state)
{
    (void)state;
    NEED_OPENSSL();
    struct engine_diag d;
    size_t n = 0;
    char *out, *msg;
    engine_diag_init(&d);
    assert_int_equal(engine_tls_pins("a r d m x", pin_cert, &n, time(NULL), &out, &d), 0);
    /* a: the P-256 key in force, then the P-384 key before it (uncompressed points) */
    assert_memory_equal(out, "a=ec:23:04", 10);
    assert_int_equal(hexlen(out + 8), 130);
    const char *p = out + 8 + 130;
    assert_memory_equal(p, " a=ec:24:04", 11);
    assert_int_equal(hexlen(p + 9), 194);
    p += 9 + 194;
    /* r: e and n, without leading zeros */
    assert_memory_equal(p, " r=rsa:010001:", 14);
    assert_int_equal(hexlen(p + 14), 512);
    p += 14 + 512;
    /* d: its one key once; m (no certificate) and x (a chain that does not check) left out */
    assert_memory_equal(p, " d=ec:23:", 9);
    assert_memory_equal(p + 9, out + 8, 130);
    assert_string_equal(p + 9 + 130, "");
    msg = engine_diag_join(&d);
    assert_non_null(
        strstr(msg, "tls/m/cert: error: backend m serves HTTPS and has no certificate"));
    assert_non_null(strstr(msg, "tls/x/cert: error: is not valid PEM"));
    assert_null(strstr(msg, "tls/a/cert"));
    assert_null(strstr(msg, "backend x"));
    free(msg);
    free(out);
    engine_diag_free(&d);
    for (size_t i = 0; i < 8; i++)
        free(pin_text[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_ec_pair_makes_credentials),
        cmocka_unit_test(test_tls_rsa_pair_and_chain),
        cmocka_unit_test(test_tls_refusals),
        cmocka_unit_test(test_tls_chain_alone),
        cmocka_unit_test(test_tls_creds_framing),
        cmocka_unit_test(test_tls_split),
        cmocka_unit_test(test_tls_fingerprint_is_spki),
        cmocka_unit_test(test_tls_key_line),
        cmocka_unit_test(test_tls_pins),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
