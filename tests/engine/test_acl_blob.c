/* test_acl_blob.c — the compiled blob: round trip, determinism, version, and a validator that
 * refuses every truncation, every flipped byte and hostile offsets without reading out of
 * bounds; plus correctness at 100,000 rules. */
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
#include "common/sha256.h"

static const char *small_acl = "regular * GET /* allow\n"
                               "regular group:admins * /admin/* allow\n"
                               "regular * * /admin/* deny\n"
                               "restricted alice GET /reports/q3 allow\n";
static const char *small_groups = "admins: alice bob\n";
static const char *small_creds =
    "alice:pbkdf2-sha256:1000:000102030405060708090a0b0c0d0e0f:"
    "0000000000000000000000000000000000000000000000000000000000000000\n";

static struct engine_acl *load(const char *acl, const char *groups, const char *creds)
{
    struct engine_acl *a;
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    if (groups)
        assert_int_equal(
            engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    if (creds)
        assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials", creds,
                                          strlen(creds), &d),
                         0);
    engine_diag_free(&d);
    return a;
}

static void *small_blob(size_t *len, uint64_t version)
{
    struct engine_acl *a = load(small_acl, small_groups, small_creds);
    void *blob;
    assert_int_equal(engine_acl_compile(&blob, len, a, NULL, version), 0);
    engine_acl_free(a);
    return blob;
}

static int decide(const struct engine_acl_blob *b, const char *p, const char *u, const char *m,
                  const char *path)
{
    struct engine_acl_request rq = {p, u, m, path, strlen(p), strlen(u), strlen(m), strlen(path)};
    struct engine_acl_decision d;
    if (engine_acl_blob_decide(b, &rq, &d) < 0)
        return -1;
    return d.allow;
}

static void test_acl_blob_round_trip(void **state)
{
    size_t len;
    void *blob = small_blob(&len, 42);
    struct engine_acl_blob b;
    (void)state;
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(b.hdr->policy_version, 42);
    assert_int_equal(b.hdr->format, ENGINE_ACL_BLOB_FORMAT);
    assert_int_equal(b.hdr->policy_count, 2);
    assert_int_equal(b.rule_count, 4);
    assert_int_equal(decide(&b, "regular", "alice", "DELETE", "/admin/x"), 1);
    assert_int_equal(decide(&b, "regular", "carol", "GET", "/admin/x"), 0);
    assert_int_equal(decide(&b, "restricted", "alice", "GET", "/reports/q3"), 1);
    assert_int_equal(decide(&b, "restricted", "bob", "GET", "/reports/q3"), 0);
    free(blob);
}

static void test_acl_blob_is_deterministic(void **state)
{
    size_t l1, l2, l3;
    void *b1 = small_blob(&l1, 7), *b2 = small_blob(&l2, 7), *b3 = small_blob(&l3, 8);
    (void)state;
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    /* Only the version (and so the checksum) differs with another version. */
    assert_int_equal(l1, l3);
    assert_memory_not_equal(b1, b3, l1);
    assert_memory_equal((char *)b1 + sizeof(struct engine_acl_blob_header),
                        (char *)b3 + sizeof(struct engine_acl_blob_header),
                        l1 - sizeof(struct engine_acl_blob_header));
    free(b1);
    free(b2);
    free(b3);
}

static void test_acl_blob_one_policy(void **state)
{
    struct engine_acl *a = load(small_acl, small_groups, NULL);
    struct engine_acl_blob b;
    void *blob;
    size_t len;
    (void)state;
    assert_int_equal(engine_acl_compile(&blob, &len, a, "restricted", 1), 0);
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(b.rule_count, 1);
    assert_int_equal(b.hdr->policy_count, 1);
    assert_int_equal(decide(&b, "restricted", "alice", "GET", "/reports/q3"), 1);
    assert_int_equal(decide(&b, "regular", "alice", "GET", "/x"), 0);
    /* Strings of the other policy do not leak into this blob. */
    assert_null(memmem(blob, len, "/admin", 6));
    free(blob);
    assert_int_equal(engine_acl_compile(&blob, &len, a, "nosuch", 1), 0);
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(b.rule_count, 0);
    assert_int_equal(decide(&b, "regular", "alice", "GET", "/x"), 0);
    free(blob);
    engine_acl_free(a);
}

static void test_acl_blob_truncated_at_every_length(void **state)
{
    size_t len;
    void *blob = small_blob(&len, 1);
    (void)state;
    for (size_t n = 0; n < len; n++) {
        /* An exactly sized copy, so that ASan sees any read past the end. */
        void *cut = NULL;
        assert_int_equal(posix_memalign(&cut, 8, n ? n : 8), 0);
        memcpy(cut, blob, n);
        const char *why = NULL;
        assert_int_equal(engine_acl_blob_check(cut, n, &why), -ENGINE_ACL_EBADMSG);
        assert_non_null(why);
        free(cut);
    }
    free(blob);
}

static void test_acl_blob_every_flipped_byte_is_refused(void **state)
{
    size_t len;
    uint8_t *blob = small_blob(&len, 1);
    (void)state;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            blob[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(engine_acl_blob_check(blob, len, NULL), -ENGINE_ACL_EBADMSG);
            blob[i] ^= (uint8_t)(1u << bit);
        }
    assert_int_equal(engine_acl_blob_check(blob, len, NULL), 0);
    free(blob);
}

/* Rewrites the checksum after tampering: what a hostile sender would do. */
static void reseal(uint8_t *blob, size_t len)
{
    struct engine_acl_blob_header *h = (void *)blob;
    memset(h->sha256, 0, sizeof(h->sha256));
    engine_sha256(h->sha256, blob, len);
}

static void test_acl_blob_resealed_flips_are_refused_or_consistent(void **state)
{
    size_t len;
    uint8_t *orig = small_blob(&len, 1), *blob = malloc(len);
    int refused = 0, accepted = 0;
    (void)state;
    for (size_t i = 0; i < len; i++) {
        memcpy(blob, orig, len);
        blob[i] ^= 0x80;
        reseal(blob, len);
        struct engine_acl_blob b;
        if (engine_acl_blob_open(&b, blob, len, NULL) < 0) {
            refused++;
            continue;
        }
        accepted++;
        /* Accepted: every lookup stays in bounds (ASan watches) and answers. */
        assert_true(decide(&b, "regular", "alice", "GET", "/admin/x") >= 0);
        assert_true(decide(&b, "restricted", "alice", "GET", "/reports/q3") >= 0);
        assert_true(decide(&b, "regular", "bob", "PUT", "/") >= 0);
        /* A flip can raise the iteration count to millions: verify only cheap ones. */
        if (b.cred_count == 0 || b.cred[0].iterations <= 2000)
            assert_true(engine_acl_blob_verify(&b, "alice", 5, "pw", 2) <= 1);
        for (uint32_t r = 0; r < b.rule_count; r++) {
            struct engine_acl_rule_view v;
            assert_int_equal(engine_acl_blob_rule(&b, r, &v), 0);
            assert_true(strlen(v.path) < len);
        }
    }
    assert_true(refused > 0);
    assert_true(accepted > 0);
    free(orig);
    free(blob);
}

static void test_acl_blob_hostile_offsets(void **state)
{
    size_t len;
    uint8_t *orig = small_blob(&len, 1), *blob = malloc(len);
    struct engine_acl_blob_header *h = (void *)blob;
    struct engine_acl_blob b;
    const char *why;
    (void)state;
    assert_int_equal(engine_acl_blob_open(&b, orig, len, NULL), 0);
    uint32_t rule_off = b.hdr->sec[ENGINE_ACL_SEC_RULE].off;
    uint32_t user_off = b.hdr->sec[ENGINE_ACL_SEC_USER].off;
    uint32_t pslot_off = b.hdr->sec[ENGINE_ACL_SEC_PSLOT].off;

#define TAMPER(stmt, expect)                                                                       \
    do {                                                                                           \
        memcpy(blob, orig, len);                                                                   \
        stmt;                                                                                      \
        reseal(blob, len);                                                                         \
        why = NULL;                                                                                \
        assert_int_equal(engine_acl_blob_check(blob, len, &why), -ENGINE_ACL_EBADMSG);             \
        assert_string_equal(why, expect);                                                          \
    } while (0)

    TAMPER(h->sec[ENGINE_ACL_SEC_RULE].count = 0xffffffff,
           "a section runs past the end of the blob");
    TAMPER(h->sec[ENGINE_ACL_SEC_STR].off = 0xfffffff8, "a section is not at its canonical offset");
    TAMPER(h->sec[ENGINE_ACL_SEC_GRP].count += 1, "a section is not at its canonical offset");
    TAMPER(h->total_size = (uint64_t)-1, "the blob's recorded size differs from its length");
    TAMPER(h->format = ENGINE_ACL_BLOB_FORMAT + 1, "unsupported blob format version");
    TAMPER(h->format = 1, "unsupported blob format version");
    TAMPER(memcpy(blob, "XACLBLOB", 8), "bad magic: not an ACL blob");
    TAMPER(((struct engine_acl_blob_rule *)(void *)(blob + rule_off))->path = 0xfffffff0,
           "a rule refers to a string outside the string table");
    TAMPER(((struct engine_acl_blob_slot *)(void *)(blob + pslot_off))[0].idx = 1000,
           "a rule index slot points outside the rules");
    TAMPER(((struct engine_acl_blob_user *)(void *)(blob + user_off))->grp_first = 0x7fffffff,
           "a user's group list lies outside the group section");
    TAMPER(((struct engine_acl_blob_user *)(void *)(blob + user_off))->cred = 5,
           "a user refers to a credential that does not exist");
    TAMPER(blob[h->sec[ENGINE_ACL_SEC_STR].off + h->sec[ENGINE_ACL_SEC_STR].count - 1] = 'x',
           "the string table is empty or not NUL-terminated");
    TAMPER(h->star_off = 0, "the \"*\" string offset is wrong");
    /* Not aligned: refused as an argument error. */
    assert_int_equal(engine_acl_blob_check(blob + 1, len - 1, NULL), -ENGINE_ACL_EINVAL);
    assert_int_equal(engine_acl_blob_check(NULL, 0, NULL), -ENGINE_ACL_EINVAL);
    free(orig);
    free(blob);
}

static void test_acl_blob_scale_100k(void **state)
{
    const size_t n = 100000;
    char *text = malloc(n * 64), *p = text;
    struct engine_acl *a;
    struct engine_diag d;
    struct engine_acl_blob b;
    void *blob;
    size_t len;
    (void)state;
    /* Rule i: user u<i%1000> may GET the prefix /svc<i/1000>/item<i>, group g<i%50> may not POST
     * it. */
    for (size_t i = 0; i < n / 2; i++)
        p += sprintf(p,
                     "p u%zu GET /svc%zu/item%zu/* allow\np group:g%zu POST /svc%zu/item%zu deny\n",
                     i % 1000, i / 1000, i, i % 50, i / 1000, i);
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    char groups[4096], *g = groups;
    for (int i = 0; i < 50; i++)
        g += sprintf(g, "g%d: u%d u%d\n", i, i, i + 500);
    assert_int_equal(
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", text, (size_t)(p - text), &d),
                     0);
    assert_int_equal(engine_acl_compile(&blob, &len, a, NULL, 1), 0);
    assert_int_equal(engine_acl_blob_open(&b, blob, len, NULL), 0);
    assert_int_equal(b.rule_count, n);
    for (size_t i = 0; i < n / 2; i += 7) {
        char user[16], path[64], sub[80];
        struct engine_acl_request rq = {"p", user, "GET", path, 1, 0, 3, 0};
        struct engine_acl_decision dec;
        rq.user_len = (size_t)sprintf(user, "u%zu", i % 1000);
        rq.path_len = (size_t)sprintf(path, "/svc%zu/item%zu", i / 1000, i);
        assert_int_equal(engine_acl_blob_decide(&b, &rq, &dec), 0);
        assert_int_equal(dec.allow, 1);
        assert_int_equal(dec.line, 2 * i + 1);
        rq.path_len = (size_t)sprintf(sub, "/svc%zu/item%zu/sub/x", i / 1000, i);
        rq.path = sub;
        assert_int_equal(engine_acl_blob_decide(&b, &rq, &dec), 0);
        assert_int_equal(dec.line, 2 * i + 1);
        /* Another user: no rule. */
        rq.user_len = (size_t)sprintf(user, "u%zu", (i + 1) % 1000);
        assert_int_equal(engine_acl_blob_decide(&b, &rq, &dec), 0);
        assert_int_equal(dec.rule, ENGINE_ACL_NO_RULE);
        /* POST on the exact path by a member of g<i%50>. */
        rq.method = "POST";
        rq.method_len = 4;
        rq.path = path;
        rq.path_len = strlen(path);
        rq.user_len = (size_t)sprintf(user, "u%zu", i % 50 + 500);
        assert_int_equal(engine_acl_blob_decide(&b, &rq, &dec), 0);
        assert_int_equal(dec.allow, 0);
        assert_int_equal(dec.line, 2 * i + 2);
    }
    free(blob);
    free(text);
    engine_acl_free(a);
    engine_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_blob_round_trip),
        cmocka_unit_test(test_acl_blob_is_deterministic),
        cmocka_unit_test(test_acl_blob_one_policy),
        cmocka_unit_test(test_acl_blob_truncated_at_every_length),
        cmocka_unit_test(test_acl_blob_every_flipped_byte_is_refused),
        cmocka_unit_test(test_acl_blob_resealed_flips_are_refused_or_consistent),
        cmocka_unit_test(test_acl_blob_hostile_offsets),
        cmocka_unit_test(test_acl_blob_scale_100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
