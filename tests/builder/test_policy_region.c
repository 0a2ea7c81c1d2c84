/* test_policy_region.c — an internal PDP's rules region made of a base blob and a patch over it
 * (builder_rules_pieces(), laid out as the builder writes it) and installed as acl_pep does at
 * boot (mod_policy_install_region()): over random rule sets and random changes, including the
 * removal of a rule another shadows, it decides every request exactly as the region of a whole
 * compile of the same rules does; a region whose patch, padding or layout is damaged is
 * refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../engine/acl_grid.h"
#include "builder/builder_int.h"
#include "common/acl_patch.h"
#include "engine/acl.h"
#include "guest/modules/acl_pep/policy.h"

static const char *const pols[] = {"p"};
static const char *const subjs[] = {"u0", "u1", "group:g0", "*"};
static const char *const meths[] = {"GET", "*"};
static const char *const pats[] = {"/a", "/a/*", "/a/b", "/a/b/*", "/*"};
static const char *const groups = "g0: u0 u1\n";

#define NS    4
#define NM    2
#define NT    5
#define NKEYS (NS * NM * NT)

static const char *const rq_users[] = {"", "u0", "u1", "u9"};
static const char *const rq_meths[] = {"GET", "POST"};
static const char *const rq_paths[] = {"/a", "/a/x", "/a/b", "/a/b/c", "/d"};
static const struct acl_grid grid = {pols, rq_users, rq_meths, rq_paths, 1, 4, 2, 5};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* The rules of EFFECT (per key: 0 absent, 1 deny, 2 allow), parsed with the groups. */
static struct engine_acl *set_load(const uint8_t effect[NKEYS])
{
    char text[NKEYS * 48];
    size_t n = 0;

    for (size_t k = 0; k < NKEYS; k++)
        if (effect[k] != 0)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "p %s %s %s %s\n",
                                  subjs[k / (NM * NT)], meths[k / NT % NM], pats[k % NT],
                                  effect[k] == 2 ? "allow" : "deny");
    return acl_grid_parse(groups, text, n);
}

/* The rules region of BLOB and PATCH (NULL: none), as the builder lays it out: *LEN bytes. */
static uint8_t *region(const void *blob, size_t blen, const void *patch, size_t plen, size_t *len)
{
    struct builder_spec s = {
        .acl_blob = blob, .acl_len = blen, .acl_patch = patch, .acl_patch_len = plen};
    struct builder_piece v[3];
    size_t n = builder_rules_pieces(&s, v);
    uint8_t *r = NULL;

    *len = 0;
    for (size_t i = 0; i < n; i++)
        *len += v[i].len;
    assert_int_equal(posix_memalign((void **)&r, 8, *len), 0);
    for (size_t i = 0, at = 0; i < n; at += v[i++].len)
        memcpy(r + at, v[i].data, v[i].len);
    return r;
}

/* Installs REGION as acl_pep does at boot: its status; P filled on success. */
static int boot(struct mod_policy *p, uint8_t *r, size_t len)
{
    void *old[2];
    const char *why = NULL;

    *p = (struct mod_policy){0};
    int e = mod_policy_install_region(p, r, len, old, &why);
    if (e < 0)
        assert_non_null(why);
    return e;
}

/* The index X's region (its base and a patch over it, when it has changes) and the whole
 * compile of EFFECT's rules decide alike; so does the whole compile's own region. */
static void check(const struct engine_acl_index *x, const uint8_t effect[NKEYS], uint64_t v)
{
    struct engine_acl *a = set_load(effect);
    struct mod_policy pp, pw;
    struct engine_acl_blob fb;
    const void *base;
    void *whole, *patch = NULL;
    size_t blen, wlen, plen = 0, rl, wl;

    assert_int_equal(engine_acl_compile(&whole, &wlen, a, "p", v), 0);
    assert_int_equal(engine_acl_blob_open(&fb, whole, wlen, NULL), 0);
    engine_acl_index_base(x, &base, &blen);
    if (engine_acl_index_version(x) != engine_acl_index_base_version(x))
        assert_int_equal(engine_acl_index_patch(x, engine_acl_index_base_version(x), &patch, &plen),
                         0);
    uint8_t *r = region(base, blen, patch, plen, &rl), *w = region(whole, wlen, NULL, 0, &wl);
    assert_int_equal(boot(&pp, r, rl), 0);
    assert_int_equal(boot(&pw, w, wl), 0);
    assert_int_equal(pp.version, engine_acl_index_version(x));
    assert_int_equal(pp.patch != NULL, patch != NULL);
    acl_grid_same(&grid, &fb, mod_policy_layers(&pp));
    acl_grid_same(&grid, &fb, mod_policy_layers(&pw));
    free(r);
    free(w);
    free(patch);
    free(whole);
    engine_acl_free(a);
}

static void test_region_random_changes_match_whole_compile(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        uint8_t effect[NKEYS];
        struct engine_acl_index *x;
        struct engine_acl *a;
        uint64_t v = 1;
        for (size_t k = 0; k < NKEYS; k++)
            effect[k] = acl_grid_next(&rng) % 3 == 0 ? (uint8_t)(1 + acl_grid_next(&rng) % 2) : 0;
        a = set_load(effect);
        assert_int_equal(engine_acl_index_new(&x, a, "p", v), 0);
        engine_acl_free(a);
        check(x, effect, v);
        for (int step = 0; step < 20; step++) {
            /* One to three keys added, removed or flipped; found as the daemon finds a change
             * it was not handed (the rule sets compared). */
            for (uint64_t n = 1 + acl_grid_next(&rng) % 3; n > 0; n--)
                effect[acl_grid_next(&rng) % NKEYS] = (uint8_t)(acl_grid_next(&rng) % 3);
            a = set_load(effect);
            assert_true(engine_acl_index_sync(x, a, ++v) >= 0);
            engine_acl_free(a);
            check(x, effect, v);
        }
        engine_acl_index_free(x);
    }
}

/* u0's deny of the prefix /a shadows nothing at /a/b, where u0's exact allow wins; the allow
 * of everything for anyone is shadowed by both for u0: removing each in turn changes what the
 * region decides exactly as a whole compile does. */
static void test_region_remove_shadowed(void **state)
{
    (void)state;
    uint8_t effect[NKEYS] = {0};
    const size_t allow_ab = 0 * NM * NT + 0 * NT + 2, deny_a = 0 * NM * NT + 0 * NT + 1,
                 star_all = 3 * NM * NT + 1 * NT + 4;
    struct engine_acl_index *x;
    struct engine_acl *a;

    effect[allow_ab] = 2;
    effect[deny_a] = 1;
    effect[star_all] = 2;
    a = set_load(effect);
    assert_int_equal(engine_acl_index_new(&x, a, "p", 1), 0);
    engine_acl_free(a);
    uint64_t v = 1;
    for (size_t i = 0; i < 3; i++) {
        const size_t k[] = {deny_a, allow_ab, star_all};
        effect[k[i]] = 0;
        a = set_load(effect);
        assert_int_equal(engine_acl_index_sync(x, a, ++v), 0);
        engine_acl_free(a);
        check(x, effect, v);
    }
    engine_acl_index_free(x);
}

/* A region whose patch is damaged, whose padding is not zeros, or whose bytes after the blob
 * are not a patch is refused: neither blob nor patch is installed. */
static void test_region_damaged_refused(void **state)
{
    (void)state;
    uint8_t effect[NKEYS] = {0};
    struct engine_acl_index *x;
    struct engine_acl *a;
    struct mod_policy p;
    const void *base;
    void *patch;
    size_t blen, plen, rl;

    effect[1] = 2;
    a = set_load(effect);
    assert_int_equal(engine_acl_index_new(&x, a, "p", 4), 0);
    engine_acl_free(a);
    effect[2] = 1;
    a = set_load(effect);
    assert_int_equal(engine_acl_index_sync(x, a, 5), 0);
    engine_acl_free(a);
    engine_acl_index_base(x, &base, &blen);
    assert_int_equal(engine_acl_index_patch(x, 4, &patch, &plen), 0);
    uint8_t *r = region(base, blen, patch, plen, &rl);
    size_t at = rl - plen;
    assert_int_equal(boot(&p, r, rl), 0);
    assert_int_equal(p.version, 5);
    /* Every byte of the patch matters: its header, its removed rules, its added rules. */
    for (size_t i = 0; i < plen; i += 7) {
        r[at + i] ^= 0x20;
        assert_true(boot(&p, r, rl) < 0);
        assert_null(mod_policy_current(&p));
        r[at + i] ^= 0x20;
    }
    /* Cut short, or with a byte more. */
    assert_true(boot(&p, r, rl - 8) < 0);
    uint8_t *longer = NULL;
    assert_int_equal(posix_memalign((void **)&longer, 8, rl + 8), 0);
    memcpy(longer, r, rl);
    memset(longer + rl, 0, 8);
    assert_true(boot(&p, longer, rl + 8) < 0);
    free(longer);
    if (at > blen) { /* padding that is not zeros */
        r[blen] = 1;
        assert_true(boot(&p, r, rl) < 0);
        r[blen] = 0;
    }
    /* A patch alone, and a blob followed by a blob, are no region. */
    assert_true(boot(&p, r + at, plen) < 0);
    uint8_t *twice = region(base, blen, base, blen, &rl);
    assert_true(boot(&p, twice, rl) < 0);
    free(twice);
    free(r);
    free(patch);
    engine_acl_index_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_random_changes_match_whole_compile),
        cmocka_unit_test(test_region_remove_shadowed),
        cmocka_unit_test(test_region_damaged_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
