/* test_policy_pair.c — a whole blob and its patch in one message (common/acl_patch.h,
 * engine_acl_pair_open(); contract/acl_patch.h), as acl_pep's policy slot takes it: over random
 * rule sets, an instance at a version patched over an old base takes a new base compiled from
 * the rules of an earlier version with the patch of the changes since, in one step; its
 * version goes from the one it held straight to the patch's, and it decides every request as a
 * whole compile of the rules of that version. Every flipped byte, truncation, trailing byte,
 * patch of another base, and a message no newer than the version in force is refused with the
 * rules, the version and the buffers in force kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/acl_patch.h"
#include "engine/acl.h"
#include "guest/modules/acl_pep/policy.h"
#include "tests/engine/acl_grid.h"

static const char *const subjs[] = {"u0", "u1", "group:g0", "*"};
static const char *const meths[] = {"GET", "POST", "*"};
static const char *const pats[] = {"/a", "/a/*", "/a/b", "/a/b/*", "/c", "/*"};
#define NKEYS (4 * 3 * 6)

static const char *const g_pols[] = {"p"};
static const char *const g_users[] = {"", "u0", "u1", "u2"};
static const char *const g_meths[] = {"GET", "POST", "PUT"};
static const char *const g_paths[] = {"/", "/a", "/a/", "/a/b", "/a/b/c", "/c", "/c/d", "/x"};
static const struct acl_grid grid = {g_pols, g_users, g_meths, g_paths, 1, 4, 3, 8};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* A rule set: per key (subject, method, pattern), 0 absent, 1 deny, 2 allow. */
struct set {
    uint8_t effect[NKEYS];
};

static struct engine_acl *set_acl(const struct set *s)
{
    char text[NKEYS * 40 + 1] = "";
    size_t n = 0;
    for (size_t k = 0; k < NKEYS; k++)
        if (s->effect[k])
            n += (size_t)snprintf(text + n, sizeof(text) - n, "p %s %s %s %s\n", subjs[k / 18],
                                  meths[k / 6 % 3], pats[k % 6],
                                  s->effect[k] == 2 ? "allow" : "deny");
    return acl_grid_parse("g0: u0 u2\n", text, n);
}

/* A few keys added, removed or flipped. */
static void set_change(struct set *s)
{
    for (int n = 1 + (int)(acl_grid_next(&rng) % 3); n > 0; n--)
        s->effect[acl_grid_next(&rng) % NKEYS] = (uint8_t)(acl_grid_next(&rng) % 3);
}

/* S brought into index X at VERSION (a change, never a new base: the sets are small). */
static void set_sync(struct engine_acl_index *x, const struct set *s, uint64_t version)
{
    struct engine_acl *a = set_acl(s);
    int r = engine_acl_index_sync(x, a, version);
    assert_true(r == 0 || r == 2);
    engine_acl_free(a);
}

/* An 8-aligned copy of LEN bytes at P (LEN may be 0). */
static void *dup8(const void *p, size_t len)
{
    void *q = NULL;
    assert_int_equal(posix_memalign(&q, 8, len ? len : 8), 0);
    memcpy(q, p, len);
    return q;
}

/* X's base blob and the patch over it to X's version, in one message (*LEN bytes). */
static uint8_t *pair_of(const struct engine_acl_index *x, size_t *len)
{
    const void *base;
    void *patch;
    size_t blen, plen, at;
    uint8_t *m = NULL;
    engine_acl_index_base(x, &base, &blen);
    assert_int_equal(engine_acl_index_patch(x, engine_acl_index_base_version(x), &patch, &plen), 0);
    at = (blen + 7) & ~(size_t)7;
    *len = at + plen;
    assert_int_equal(posix_memalign((void **)&m, 8, *len), 0);
    memcpy(m, base, blen);
    memset(m + blen, 0, at - blen);
    memcpy(m + at, patch, plen);
    free(patch);
    return m;
}

/* P decides as a whole compile of S. */
static void same_as(const struct mod_policy *p, const struct set *s)
{
    struct engine_acl *a = set_acl(s);
    struct engine_acl_blob f;
    void *blob;
    size_t len;
    assert_int_equal(engine_acl_compile(&blob, &len, a, NULL, 1), 0);
    assert_int_equal(engine_acl_blob_open(&f, blob, len, NULL), 0);
    acl_grid_same(&grid, &f, mod_policy_layers(p));
    free(blob);
    engine_acl_free(a);
}

/* M[0..LEN) is refused by P (at VERSION, deciding as S): nothing changes. */
static void refused(struct mod_policy *p, const void *m, size_t len, uint64_t version,
                    const struct set *s, int e)
{
    struct mod_policy keep = *p;
    const char *why = NULL;
    void *old[2] = {(void *)1, (void *)1}, *c = dup8(m, len);
    int r = mod_policy_install(p, c, len, old, &why);
    if (r == 0)
        fail_msg("a damaged message (%zu bytes) was taken", len);
    if (e != 0)
        assert_int_equal(r, e);
    assert_non_null(why);
    assert_null(old[0]);
    assert_null(old[1]);
    assert_memory_equal(&keep, p, sizeof(keep));
    assert_int_equal(p->version, version);
    if (s != NULL)
        same_as(p, s);
    free(c);
}

/* Base B1 at v1; changes to v3, which the instance takes as a patch; the new base's record
 * starts at v3 and its base is compiled at v4 from v3's rules; a change at v5 comes while it
 * compiles (the instance takes it as a patch over B1); the base taken over, a change at v6 is
 * patched over the new base, and the instance (at v5) takes both in one message. */
static void test_pair_property(void **state)
{
    int taken = 0;
    (void)state;
    for (int round = 0; round < 40; round++) {
        struct set s = {{0}}, at;
        struct engine_acl_index *x, *nx;
        struct mod_policy p = {0};
        struct engine_acl *a;
        const void *base;
        const char *why = NULL;
        void *old[2], *patch;
        uint8_t *buf;
        size_t blen, plen, len;
        for (size_t k = 0; k < NKEYS; k++)
            s.effect[k] = acl_grid_next(&rng) % 3 == 0 ? (uint8_t)(1 + acl_grid_next(&rng) % 2) : 0;
        a = set_acl(&s);
        assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
        engine_acl_free(a);
        engine_acl_index_base(x, &base, &blen);
        assert_int_equal(mod_policy_install(&p, dup8(base, blen), blen, old, &why), 0);
        for (uint64_t v = 2; v <= 3; v++) {
            set_change(&s);
            set_sync(x, &s, v);
        }
        if (engine_acl_index_version(x) > 1) {
            assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
            assert_int_equal(mod_policy_install(&p, patch, plen, old, &why), 0);
        }
        engine_acl_index_record(x);
        at = s;
        uint64_t at_v = engine_acl_index_version(x);
        set_change(&s);
        set_sync(x, &s, 5);
        if (engine_acl_index_version(x) == 5) {
            assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
            old[0] = NULL;
            assert_int_equal(mod_policy_install(&p, patch, plen, old, &why), 0);
            free(old[0]);
        }
        uint64_t held = p.version;
        struct set held_set = s;
        a = set_acl(&at);
        assert_int_equal(engine_acl_index_new(&nx, a, NULL, at_v + 1), 0);
        engine_acl_free(a);
        if (engine_acl_index_rebase(x, nx) != 0 ||
            engine_acl_index_version(x) == engine_acl_index_base_version(x)) {
            engine_acl_index_free(x); /* no change while it compiled: delivered whole, not here */
            free(p.patch_buf);
            free(p.buf);
            continue;
        }
        do
            set_change(&s);
        while (memcmp(&s, &held_set, sizeof(s)) == 0);
        set_sync(x, &s, 6);
        buf = pair_of(x, &len);
        uint64_t bv = engine_acl_index_base_version(x);
        assert_int_equal(mod_policy_claimed_version(buf, len), 6);
        /* damaged (a sample of flipped bytes, every truncation, a byte too many): refused, the
         * rules, the version and the buffers in force kept */
        for (size_t i = (size_t)round % 7; i < len; i += 7) {
            buf[i] ^= 0x20;
            refused(&p, buf, len, held, i % 49 == 0 ? &held_set : NULL, 0);
            buf[i] ^= 0x20;
        }
        for (size_t n = 0; n < len; n += 1 + n / 16)
            refused(&p, buf, n, held, NULL, 0);
        refused(&p, buf, len - 1, held, &held_set, -ENGINE_ACL_EBADMSG);
        uint8_t *more = NULL;
        assert_int_equal(posix_memalign((void **)&more, 8, len + 8), 0);
        memcpy(more, buf, len);
        memset(more + len, 0, 8);
        refused(&p, more, len + 8, held, &held_set, -ENGINE_ACL_EBADMSG);
        free(more);
        /* taken: in one step from the version held to v6, deciding as a whole compile */
        void *m = dup8(buf, len);
        void *had = p.buf, *had_patch = p.patch_buf;
        assert_int_equal(mod_policy_install(&p, m, len, old, &why), 0);
        assert_ptr_equal(old[0], had);
        assert_ptr_equal(old[1], had_patch);
        free(old[0]);
        free(old[1]);
        assert_int_equal(p.version, 6);
        assert_int_equal(p.blob.hdr->policy_version, bv);
        assert_null(p.patch_buf); /* the patch lies in the message: freed with it */
        assert_non_null(p.patch);
        assert_int_equal(p.pairs, 1);
        same_as(&p, &s);
        taken++;
        /* the same again, or given to an instance at a later version: late, refused */
        refused(&p, buf, len, 6, &s, -ENGINE_ACL_ESTALE);
        /* the next change's patch over the new base goes alone over the pair */
        set_change(&s);
        set_sync(x, &s, 7);
        if (engine_acl_index_version(x) == 7) {
            assert_int_equal(engine_acl_index_patch(x, bv, &patch, &plen), 0);
            assert_int_equal(mod_policy_install(&p, patch, plen, old, &why), 0);
            assert_null(old[0]); /* the patch in the message is not freed on its own */
            assert_int_equal(p.version, 7);
            same_as(&p, &s);
        }
        free(buf);
        free(p.patch_buf);
        free(p.buf);
        engine_acl_index_free(x);
    }
    assert_true(taken >= 20); /* most rounds had a change while the base compiled */
}

/* A patch of another base after a blob, and a patch where the blob should be: refused as
 * corrupt (the patch names its base by version and checksum); a pair taken by an instance with
 * no rules in force yet. */
static void test_pair_foreign(void **state)
{
    (void)state;
    struct set s = {{0}};
    struct engine_acl_index *x, *y;
    struct engine_acl *a;
    struct mod_policy p = {0};
    const void *base;
    void *patch, *old[2];
    size_t blen, plen, len;
    const char *why = NULL;
    s.effect[1] = 2;
    s.effect[7] = 1;
    a = set_acl(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    assert_int_equal(engine_acl_index_new(&y, a, NULL, 2), 0);
    engine_acl_free(a);
    s.effect[3] = 2;
    set_sync(x, &s, 3);
    set_sync(y, &s, 3);
    /* Y's blob (v2) with X's patch (over v1): the patch is not over the blob before it */
    uint8_t *good = pair_of(y, &len);
    assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
    engine_acl_index_base(y, &base, &blen);
    size_t at = (blen + 7) & ~(size_t)7;
    uint8_t *bad = dup8(good, at + plen);
    memcpy(bad + at, patch, plen);
    refused(&p, bad, at + plen, 0, NULL, -ENGINE_ACL_EBADMSG);
    /* a patch first */
    refused(&p, patch, plen, 0, NULL, -ENGINE_ACL_ESTALE);
    memcpy(bad, patch, plen);
    refused(&p, bad, at + plen, 0, NULL, 0);
    /* nothing in force: taken */
    assert_int_equal(mod_policy_install(&p, dup8(good, len), len, old, &why), 0);
    assert_null(old[0]);
    assert_int_equal(p.version, 3);
    same_as(&p, &s);
    free(p.buf);
    free(good);
    free(bad);
    free(patch);
    engine_acl_index_free(x);
    engine_acl_index_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_property),
        cmocka_unit_test(test_pair_foreign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
