/* test_pdp.c — the pull PDP: query encoding and framing, the PDP's answers (credential first,
 * then the decision), and the guest's decision cache with its version and time-to-live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/modules/acl_pep/pdp.h"
#include "engine/acl.h"
#include "fixture.h"

/* alice's password is "alice-demo-password" (mount-examples/policy/credentials). */
static const char *creds = "alice:pbkdf2-sha256:1000:cdfabfb24a530f8c9d16c9ed7222267b:"
                           "5593f03740f6b67cf5b4e1fca28d44ca0058bb4237ec5f731da6760fb6ba49bd\n";
static const char *acl = "regular * GET /pub/* allow\n"
                         "regular alice * /admin/* allow\n";

static void *blob;
static struct engine_acl_blob b;

static int setup(void **state)
{
    (void)state;
    size_t len;
    const char *why;
    if (fixture_rules(&blob, &len, NULL, acl, creds, NULL, 42) != 0)
        return -1;
    return engine_acl_blob_open(&b, blob, len, &why);
}

static int teardown(void **state)
{
    (void)state;
    free(blob);
    return 0;
}

static struct mod_pdp_request req(const char *user, const char *pw, const char *method,
                                  const char *path)
{
    struct mod_pdp_request r = {"regular", user,         method,         path,         pw,
                                7,         strlen(user), strlen(method), strlen(path), strlen(pw)};
    return r;
}

static struct mod_pdp_answer ask(struct mod_pdp_request r, uint64_t id)
{
    char msg[MOD_PDP_QUERY_MAX];
    uint32_t magic = 0;
    struct mod_pdp_answer a;
    long n = mod_pdp_query_encode(msg, sizeof(msg), id, &r);
    assert_true(n > 0);
    assert_int_equal(mod_pdp_message_len(msg, (size_t)n, &magic), n);
    assert_int_equal(magic, MOD_PDP_QUERY_MAGIC);
    assert_int_equal(mod_pdp_message_len(msg, (size_t)n - 1, &magic), 0); /* needs more */
    assert_int_equal(mod_pdp_answer_query(&(struct engine_acl_layers){.base = &b},
                                          b.hdr->policy_version, msg, (size_t)n, &a),
                     0);
    assert_int_equal(a.magic, MOD_PDP_ANSWER_MAGIC);
    assert_int_equal(a.id, id);
    assert_int_equal(a.version, 42);
    return a;
}

static void test_pdp_answers(void **state)
{
    (void)state;
    struct mod_pdp_answer a = ask(req("", "", "GET", "/pub/x"), 1);
    assert_int_equal(a.allow, 1);
    assert_int_equal(a.auth, MOD_PDP_AUTH_NONE);
    assert_int_equal(a.line, 1);
    a = ask(req("", "", "GET", "/admin/x"), 2);
    assert_int_equal(a.allow, 0);
    a = ask(req("alice", "alice-demo-password", "DELETE", "/admin/x"), 3);
    assert_int_equal(a.auth, MOD_PDP_AUTH_OK);
    assert_int_equal(a.allow, 1);
    assert_int_equal(a.line, 2);
    a = ask(req("alice", "wrong", "DELETE", "/admin/x"), 4);
    assert_int_equal(a.auth, MOD_PDP_AUTH_BAD);
    assert_int_equal(a.allow, 0); /* never decided for an unproven user */
    a = ask(req("mallory", "x", "GET", "/pub/x"), 5);
    assert_int_equal(a.auth, MOD_PDP_AUTH_UNKNOWN);
    assert_int_equal(a.allow, 0);
    a = ask(req("", "", "GET", "/pub/../admin/x"), 6);
    assert_int_equal(a.allow, 0); /* the lookup refuses dot segments: deny */
}

static void test_pdp_malformed(void **state)
{
    (void)state;
    char msg[MOD_PDP_QUERY_MAX + 64], scratch[64];
    struct mod_pdp_request r = req("", "", "GET", "/");
    struct mod_pdp_answer a;
    uint32_t magic;
    long n = mod_pdp_query_encode(msg, sizeof(msg), 9, &r);
    struct mod_pdp_query q;

    /* Over the bounds, or a password without a user: not encoded. */
    r.path_len = ENGINE_ACL_PATH_MAX + 1;
    assert_int_equal(mod_pdp_query_encode(scratch, 64, 1, &r), -22);
    r = req("", "pw", "GET", "/");
    assert_int_equal(mod_pdp_query_encode(scratch, 64, 1, &r), -22);
    r = req("", "", "GET", "/");
    assert_int_equal(mod_pdp_query_encode(scratch, 8, 1, &r), -22);

    /* A user named without the credential flag: refused by the PDP. */
    memcpy(&q, msg, sizeof(q));
    q.user_len = 1;
    q.method_len = 2;
    memcpy(msg, &q, sizeof(q));
    assert_int_equal(mod_pdp_answer_query(&(struct engine_acl_layers){.base = &b},
                                          b.hdr->policy_version, msg, (size_t)n, &a),
                     -22);
    /* Lengths that do not add up, a bad magic, a length beyond the maximum. */
    q.user_len = 0;
    q.method_len = 4;
    memcpy(msg, &q, sizeof(q));
    assert_int_equal(mod_pdp_answer_query(&(struct engine_acl_layers){.base = &b},
                                          b.hdr->policy_version, msg, (size_t)n, &a),
                     -22);
    assert_int_equal(mod_pdp_answer_query(&(struct engine_acl_layers){.base = &b},
                                          b.hdr->policy_version, msg, 8, &a),
                     -22);
    q.magic = 0x12345678;
    memcpy(msg, &q, sizeof(q));
    assert_int_equal(mod_pdp_message_len(msg, (size_t)n, &magic), -22);
    q.magic = MOD_PDP_QUERY_MAGIC;
    q.len = MOD_PDP_QUERY_MAX + 1;
    memcpy(msg, &q, sizeof(q));
    assert_int_equal(mod_pdp_message_len(msg, sizeof(msg), &magic), -22);
    struct mod_pdp_answer notice = {MOD_PDP_NOTICE_MAGIC, sizeof(notice), 0, 43, 0, 0, 0, 0};
    assert_int_equal(mod_pdp_message_len(&notice, sizeof(notice), &magic), sizeof(notice));
    assert_int_equal(magic, MOD_PDP_NOTICE_MAGIC);
    notice.len = 8;
    assert_int_equal(mod_pdp_message_len(&notice, sizeof(notice), &magic), -22);
    /* The guest's acknowledgement of a notice has the same frame. */
    struct mod_pdp_answer ack = {MOD_PDP_ACK_MAGIC, sizeof(ack), 0, 43, 0, 0, 0, 0};
    assert_int_equal(mod_pdp_message_len(&ack, sizeof(ack), &magic), sizeof(ack));
    assert_int_equal(magic, MOD_PDP_ACK_MAGIC);
    ack.len = sizeof(ack) + 1;
    assert_int_equal(mod_pdp_message_len(&ack, sizeof(ack) + 1, &magic), -22);
}

static void test_pdp_cache(void **state)
{
    (void)state;
    struct mod_pdp_entry e[4];
    struct mod_pdp_cache c;
    uint8_t k1[32], k2[32], k3[32];
    struct mod_pdp_verdict v, ok = {1, MOD_PDP_AUTH_OK, 7}, no = {0, MOD_PDP_AUTH_OK, 9},
                              anon = {1, MOD_PDP_AUTH_NONE, 3};
    struct mod_pdp_request r1 = req("alice", "pw1", "GET", "/a"),
                           r2 = req("alice", "pw2", "GET", "/a"), r3 = req("", "", "GET", "/a");

    assert_int_equal(mod_pdp_cache_init(&c, e, 3, 10), -22);
    assert_int_equal(mod_pdp_cache_init(&c, e, 4, 1000), 0);
    mod_pdp_cache_key(k1, &r1);
    mod_pdp_cache_key(k2, &r2);
    mod_pdp_cache_key(k3, &r3);
    assert_memory_not_equal(k1, k2, 32); /* the password is part of the key */
    assert_int_equal(mod_pdp_cache_get(&c, k1, 0, &v), 0);
    mod_pdp_cache_put(&c, k1, 100, 5, &ok);
    assert_int_equal(mod_pdp_cache_get(&c, k1, 500, &v), 1);
    assert_int_equal(v.allow, 1);
    assert_int_equal(v.auth, MOD_PDP_AUTH_OK);
    assert_int_equal(v.line, 7); /* the deciding rule, for the access log */
    assert_int_equal(mod_pdp_cache_get(&c, k2, 500, &v), 0);
    /* Time-to-live. */
    assert_int_equal(mod_pdp_cache_get(&c, k1, 1100, &v), 0);
    /* A new policy version drops everything, whether announced or seen in an answer. */
    mod_pdp_cache_put(&c, k1, 2000, 5, &ok);
    mod_pdp_cache_version(&c, 5);
    assert_int_equal(mod_pdp_cache_get(&c, k1, 2001, &v), 1);
    mod_pdp_cache_version(&c, 6);
    assert_int_equal(mod_pdp_cache_get(&c, k1, 2001, &v), 0);
    mod_pdp_cache_put(&c, k1, 2000, 6, &no);
    mod_pdp_cache_put(&c, k3, 2000, 7, &anon);
    assert_int_equal(mod_pdp_cache_get(&c, k1, 2001, &v), 0);
    assert_int_equal(mod_pdp_cache_get(&c, k3, 2001, &v), 1);
    assert_int_equal(v.line, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdp_answers),
        cmocka_unit_test(test_pdp_malformed),
        cmocka_unit_test(test_pdp_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
