/* test_policy.c — acl_pep's policy slot: a valid blob is swapped in and its version kept, a
 * corrupt one is refused and the rules in force stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/modules/acl_pep/policy.h"
#include "engine/acl.h"

static void *blob_of(const char *acl, uint64_t version, size_t *len)
{
    struct engine_acl *a;
    struct engine_diag d;
    void *blob;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    assert_int_equal(engine_acl_compile(&blob, len, a, NULL, version), 0);
    engine_acl_free(a);
    engine_diag_free(&d);
    return blob;
}

static int allows(const struct mod_policy *p, const char *path)
{
    struct engine_acl_request rq = {"regular", "", "GET", path, 7, 0, 3, strlen(path)};
    struct engine_acl_decision d;
    assert_int_equal(engine_acl_layers_decide(mod_policy_layers(p), &rq, &d), 0);
    return d.allow;
}

static void test_policy_install_and_swap(void **state)
{
    (void)state;
    struct mod_policy p = {0};
    size_t l1, l2;
    void *b1 = blob_of("regular * GET /a/* allow\n", 7, &l1), *b2, *old[2] = {(void *)1, (void *)1};
    const char *why = NULL;

    assert_null(mod_policy_current(&p));
    assert_int_equal(mod_policy_install(&p, b1, l1, old, &why), 0);
    assert_null(old[0]);
    assert_null(old[1]);
    assert_int_equal(p.version, 7);
    assert_int_equal(p.generation, 1);
    assert_true(allows(&p, "/a/x"));
    assert_false(allows(&p, "/b"));

    b2 = blob_of("regular * GET /b/* allow\n", 8, &l2);
    assert_int_equal(mod_policy_install(&p, b2, l2, old, &why), 0);
    assert_ptr_equal(old[0], b1); /* handed back for the caller to free */
    assert_null(old[1]);
    free(old[0]);
    assert_int_equal(p.version, 8);
    assert_int_equal(p.generation, 2);
    assert_false(allows(&p, "/a/x"));
    assert_true(allows(&p, "/b"));
    free(p.buf);
}

static void test_policy_refuse_corrupt(void **state)
{
    (void)state;
    struct mod_policy p = {0};
    size_t l1, l2;
    void *b1 = blob_of("regular * GET /a/* allow\n", 1, &l1), *old[2];
    uint8_t *bad = blob_of("regular * GET /* allow\n", 2, &l2);
    const char *why = NULL;

    assert_int_equal(mod_policy_install(&p, b1, l1, old, &why), 0);
    bad[l2 - 1] ^= 1; /* one flipped bit: the checksum no longer matches */
    assert_int_equal(mod_policy_install(&p, bad, l2, old, &why), -ENGINE_ACL_EBADMSG);
    assert_non_null(why);
    assert_null(old[0]);
    assert_int_equal(mod_policy_claimed_version(bad, l2), 2);
    assert_ptr_equal(p.buf, b1); /* the old rules stay */
    assert_int_equal(p.version, 1);
    assert_int_equal(p.generation, 1);
    assert_true(allows(&p, "/a"));
    assert_false(allows(&p, "/b"));
    /* Truncated, empty and misaligned buffers are refused too. */
    assert_true(mod_policy_install(&p, bad, l2 - 8, old, &why) < 0);
    assert_true(mod_policy_install(&p, bad, 0, old, &why) < 0);
    assert_true(mod_policy_install(&p, bad + 1, l2 - 1, old, &why) < 0);
    assert_int_equal(mod_policy_claimed_version(bad, 10), 0);
    assert_ptr_equal(p.buf, b1);
    free(bad);
    free(p.buf);
}

/* A patch over the blob in force changes the decisions; a corrupt or out-of-order one is
 * refused with the rules in force kept; a whole blob replaces blob and patch. */
static void test_policy_patch(void **state)
{
    (void)state;
    struct mod_policy p = {0};
    struct engine_acl *a;
    struct engine_acl_index *x;
    struct engine_diag d;
    const char *acl = "regular * GET /a/* allow\nregular * GET /b/* deny\n", *why = NULL;
    const void *base;
    size_t blen, plen, l3;
    void *b1, *patch, *patch2, *old[2];

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    assert_int_equal(engine_acl_index_new(&x, a, "regular", 1), 0);
    engine_acl_free(a);
    engine_diag_free(&d);
    engine_acl_index_base(x, &base, &blen);
    b1 = malloc(blen);
    memcpy(b1, base, blen);
    assert_int_equal(mod_policy_install(&p, b1, blen, old, &why), 0);
    assert_false(allows(&p, "/b/x"));

    struct engine_acl_change del = {"regular", "*", "GET", "/b/*", 0, 2},
                             add = {"regular", "*", "GET", "/b/*", 1, 3};
    assert_int_equal(engine_acl_index_apply(x, &del, 1, &add, 1, 2), 0);
    assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
    /* Corrupt: refused, the rules stay. */
    ((uint8_t *)patch)[plen - 1] ^= 1;
    assert_int_equal(mod_policy_install(&p, patch, plen, old, &why), -ENGINE_ACL_EBADMSG);
    ((uint8_t *)patch)[plen - 1] ^= 1;
    assert_int_equal(mod_policy_claimed_version(patch, plen), 2);
    assert_int_equal(p.version, 1);
    assert_false(allows(&p, "/b/x"));
    /* Sound. */
    assert_int_equal(mod_policy_install(&p, patch, plen, old, &why), 0);
    assert_null(old[0]);
    assert_int_equal(p.version, 2);
    assert_int_equal(p.patches, 1);
    assert_true(allows(&p, "/b/x"));
    assert_true(allows(&p, "/a/x"));
    /* The same version again (a late or repeated patch): out of order, refused. */
    assert_int_equal(engine_acl_index_patch(x, 1, &patch2, &plen), 0);
    assert_int_equal(mod_policy_install(&p, patch2, plen, old, &why), -ENGINE_ACL_ESTALE);
    assert_true(allows(&p, "/b/x"));
    free(patch2);
    /* A whole blob: blob and patch handed back. */
    void *b3 = blob_of("regular * GET /c/* allow\n", 3, &l3);
    assert_int_equal(mod_policy_install(&p, b3, l3, old, &why), 0);
    assert_ptr_equal(old[0], b1);
    assert_ptr_equal(old[1], patch);
    free(old[0]);
    free(old[1]);
    assert_null(p.patch);
    assert_false(allows(&p, "/b/x"));
    assert_true(allows(&p, "/c"));
    free(p.buf);
    engine_acl_index_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_install_and_swap),
        cmocka_unit_test(test_policy_refuse_corrupt),
        cmocka_unit_test(test_policy_patch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
