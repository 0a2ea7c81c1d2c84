/* test_acl_index.c — the incremental index and its patches: over random rule sets, groups and
 * credentials and random changes of rules and of users (membership, credentials), the index's
 * layers, and a patch applied to the base as a guest applies it, decide every request and hold
 * every credential exactly as a whole compile of the new policy does; a corrupt, truncated,
 * out-of-order or foreign patch is refused; a refused change leaves the rules as they were. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acl_grid.h"
#include "common/acl_patch.h"
#include "engine/acl.h"

static const char *const pols[] = {"p", "q"};
static const char *const subjs[] = {"u0", "u1", "u2", "u3", "group:g0", "group:g1", "*"};
static const char *const meths[] = {"GET", "POST", "*"};
static const char *const pats[] = {"/a", "/a/*", "/a/b", "/a/b/*", "/c", "/*", "/a/b/c", "/c/*"};

/* The users of the groups and credentials files (u4 is named by no rule), and passwords. */
#define NU 5
#define NG 2
static const char *const people_users[NU] = {"u0", "u1", "u2", "u3", "u4"};
static const char *const passwords[] = {"pw-one", "pw-two"};
/* Per user, its credentials line for each password (made once: PBKDF2 at the fewest
 * iterations, a fixed salt per user). */
static char *cred_lines[NU][2];

#define NP    2
#define NS    7
#define NM    3
#define NT    8
#define NKEYS (NP * NS * NM * NT)

/* A rule set: per key (policy, subject, method, pattern), 0 absent, 1 deny, 2 allow. */
struct set {
    uint8_t effect[NKEYS];
    uint32_t line[NKEYS];
    uint8_t member[NU][NG]; /* user in group g0, g1 */
    uint8_t cred[NU];       /* 0 none, else the password's index + 1 */
};

/* The people a set starts with unless a test says otherwise: g0: u0 u1, g1: u1 u2. */
static void set_people_default(struct set *s)
{
    s->member[0][0] = s->member[1][0] = s->member[1][1] = s->member[2][1] = 1;
}

static void set_people_random(struct set *s, uint64_t r)
{
    for (size_t u = 0; u < NU; u++) {
        for (size_t g = 0; g < NG; g++)
            s->member[u][g] = (r >> (u * NG + g)) & 1;
        s->cred[u] = (uint8_t)((r >> (16 + 2 * u)) % 3);
    }
}

/* One user's membership or credential changed (a user may lose or gain everything). */
static void people_change(struct set *s, uint64_t r)
{
    size_t u = r % NU;

    switch ((r >> 8) % 3) {
    case 0:
        s->member[u][(r >> 16) % NG] ^= 1;
        break;
    case 1:
        s->cred[u] = (uint8_t)((s->cred[u] + 1 + (r >> 16) % 2) % 3);
        break;
    default: /* the user gone from everything */
        memset(s->member[u], 0, NG);
        s->cred[u] = 0;
    }
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
    return acl_grid_next(&rng);
}

static struct engine_acl_change key_change(const struct set *s, size_t k, int allow)
{
    return (struct engine_acl_change){pols[k / (NS * NM * NT)],
                                      subjs[k / (NM * NT) % NS],
                                      meths[k / NT % NM],
                                      pats[k % NT],
                                      allow,
                                      s->line[k] ? s->line[k] : 1};
}

static struct engine_acl *set_load(const struct set *s)
{
    char *text = malloc(NKEYS * 64 + 1);
    size_t n = 0;
    uint32_t line = 0;
    struct engine_acl *a;

    text[0] = 0;
    for (size_t k = 0; k < NKEYS; k++) {
        struct engine_acl_change c = key_change(s, k, 0);
        line++;
        if (s->effect[k] == 0) {
            n += (size_t)sprintf(text + n, "# none\n");
            continue;
        }
        n += (size_t)sprintf(text + n, "%s %s %s %s %s\n", c.policy, c.subject, c.method, c.pattern,
                             s->effect[k] == 2 ? "allow" : "deny");
    }
    char groups[256], creds[NU * 256];
    size_t gn = 0, cn = 0;
    creds[0] = 0;
    for (size_t g = 0; g < NG; g++) {
        gn += (size_t)sprintf(groups + gn, "g%zu:", g);
        for (size_t u = 0; u < NU; u++)
            if (s->member[u][g])
                gn += (size_t)sprintf(groups + gn, " %s", people_users[u]);
        gn += (size_t)sprintf(groups + gn, "\n");
    }
    for (size_t u = 0; u < NU; u++)
        if (s->cred[u])
            cn += (size_t)sprintf(creds + cn, "%s\n", cred_lines[u][s->cred[u] - 1]);
    a = acl_grid_parse_people(groups, creds, text, n);
    free(text);
    return a;
}

/* Each key's line, and the default people (a test may set others after). */
static void set_lines(struct set *s)
{
    for (size_t k = 0; k < NKEYS; k++)
        s->line[k] = (uint32_t)k + 1;
    set_people_default(s);
}

static const char *const rq_users[] = {"", "u0", "u1", "u2", "u3", "u4", "u9", "group:g0", "*"};
static const char *const rq_meths[] = {"GET", "POST", "PUT"};
static const char *const rq_paths[] = {"/a", "/a/x", "/a/b", "/a/b/c", "/a/b/c/d",
                                       "/c", "/c/d", "/d",   "/",      "/a/b/x"};

static const struct acl_grid grid = {pols,
                                     rq_users,
                                     rq_meths,
                                     rq_paths,
                                     NP,
                                     sizeof(rq_users) / sizeof(*rq_users),
                                     sizeof(rq_meths) / sizeof(*rq_meths),
                                     sizeof(rq_paths) / sizeof(*rq_paths)};

/* Checks index X against a whole compile of S, and a patch from FROM applied to the base. */
static void check(const struct engine_acl_index *x, const struct set *s, uint64_t from)
{
    struct engine_acl *a = set_load(s);
    struct engine_acl_blob fb, base, *bp = &base;
    struct engine_acl_layers l;
    struct engine_acl_patch p;
    void *full, *patch;
    const void *bb;
    size_t flen, plen, blen;
    const char *why = NULL;

    assert_int_equal(engine_acl_compile(&full, &flen, a, NULL, 1), 0);
    assert_int_equal(engine_acl_blob_open(&fb, full, flen, NULL), 0);
    engine_acl_index_layers(x, &l);
    acl_grid_same(&grid, &fb, &l);
    acl_grid_auth_same(people_users, NU, passwords, 2, &fb, &l, 0);
    if (from >= engine_acl_index_version(x)) /* a sync that found no change */
        from = engine_acl_index_base_version(x);
    if (engine_acl_index_version(x) != engine_acl_index_base_version(x)) {
        engine_acl_index_base(x, &bb, &blen);
        assert_int_equal(engine_acl_blob_open(bp, bb, blen, NULL), 0);
        assert_int_equal(engine_acl_index_patch(x, from, &patch, &plen), 0);
        assert_int_equal(engine_acl_patch_open(&p, patch, plen, bp, from, &why), 0);
        engine_acl_patch_layers(&p, bp, &l);
        acl_grid_same(&grid, &fb, &l);
        /* the PBKDF2 itself run now and then (it costs a thousand HMACs a check) */
        acl_grid_auth_same(people_users, NU, passwords, 2, &fb, &l, next() % 16 == 0);
        free(patch);
    }
    free(full);
    engine_acl_free(a);
}

/* X's patch is the one an index of FIRST brought to NOW at once would make (as `unisec verify`
 * checks a record's), while X's base is FIRST's; not one of a rule more or less. */
static void check_same(const struct engine_acl_index *x, const struct set *first,
                       const struct set *now)
{
    struct engine_acl_index *y;
    struct engine_acl *a;
    const char *why = NULL;
    void *patch;
    size_t plen;
    uint64_t v = engine_acl_index_version(x);

    if (engine_acl_index_base_version(x) != 1 || v == 1)
        return;
    a = set_load(first);
    assert_int_equal(engine_acl_index_new(&y, a, NULL, 1), 0);
    engine_acl_free(a);
    a = set_load(now);
    int r = engine_acl_index_sync(y, a, v);
    engine_acl_free(a);
    assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
    if (r == 0)
        assert_int_equal(engine_acl_index_patch_same(y, patch, plen, &why), 1);
    else /* no rule or user differs from the base: X's patch adds and removes nothing */
        assert_int_equal(r, 2);
    if (r == 0 && memcmp(now->member, first->member, sizeof(now->member)) == 0 &&
        memcmp(now->cred, first->cred, sizeof(now->cred)) == 0) { /* one user changed more */
        struct set other = *now;
        struct engine_acl_index *z;
        people_change(&other, v * 104729);
        a = set_load(first);
        assert_int_equal(engine_acl_index_new(&z, a, NULL, 1), 0);
        engine_acl_free(a);
        a = set_load(&other);
        assert_int_equal(engine_acl_index_sync(z, a, v), 0);
        assert_int_equal(engine_acl_index_patch_same(z, patch, plen, &why), 0);
        engine_acl_free(a);
        engine_acl_index_free(z);
    }
    if (r == 0) { /* one rule more or less than NOW: another patch */
        struct set other = *now;
        struct engine_acl_index *z;
        size_t k = (size_t)(v * 7919) % NKEYS;
        other.effect[k] = other.effect[k] ? 0 : 2;
        a = set_load(first);
        assert_int_equal(engine_acl_index_new(&z, a, NULL, 1), 0);
        engine_acl_free(a);
        a = set_load(&other);
        if (engine_acl_index_sync(z, a, v) == 0)
            assert_int_equal(engine_acl_index_patch_same(z, patch, plen, &why), 0);
        engine_acl_free(a);
        engine_acl_index_free(z);
    }
    free(patch);
    engine_acl_index_free(y);
}

/* One random change of S: a few keys added, removed or flipped. Fills DEL and ADD. */
static void random_change(struct set *s, struct engine_acl_change *del, size_t *ndel,
                          struct engine_acl_change *add, size_t *nadd, uint32_t *line)
{
    size_t n = 1 + next() % 4, keys[4], nkeys = 0;

    *ndel = *nadd = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = next() % NKEYS;
        int touched = 0;
        for (size_t j = 0; j < nkeys; j++)
            touched |= keys[j] == k;
        if (touched)
            continue;
        keys[nkeys++] = k;
        if (s->effect[k] != 0)
            del[(*ndel)++] = key_change(s, k, s->effect[k] == 2);
        if (s->effect[k] == 0 || next() % 2) {
            s->effect[k] = (uint8_t)(1 + next() % 2);
            s->line[k] = ++*line;
            add[(*nadd)++] = key_change(s, k, s->effect[k] == 2);
        } else {
            s->effect[k] = 0;
        }
    }
}

static void test_index_random_changes_match_full_compile(void **state)
{
    (void)state;
    for (int round = 0; round < 30; round++) {
        struct set s = {{0}, {0}};
        struct engine_acl_index *x;
        struct engine_acl *a;
        uint64_t v = 1;
        uint32_t line = NKEYS;
        for (size_t k = 0; k < NKEYS; k++)
            s.effect[k] = next() % 4 == 0 ? (uint8_t)(1 + next() % 2) : 0;
        set_lines(&s);
        set_people_random(&s, next());
        a = set_load(&s);
        assert_int_equal(engine_acl_index_new(&x, a, NULL, v), 0);
        engine_acl_free(a);
        check(x, &s, v);
        struct set first = s;
        for (int step = 0; step < 25; step++) {
            struct engine_acl_change del[8], add[8];
            size_t ndel, nadd;
            uint64_t from = v;
            int people = next() % 3 == 0;
            /* users changed alone, or with rules (then in one version, by a sync) */
            if (!people || next() % 2)
                random_change(&s, del, &ndel, add, &nadd, &line);
            for (uint64_t n = people ? 1 + next() % 3 : 0; n > 0; n--)
                people_change(&s, next());
            if (people || step % 3 == 2) {
                /* The same change found by comparing whole sets. */
                a = set_load(&s);
                assert_true(engine_acl_index_sync(x, a, ++v) >= 0);
                engine_acl_free(a);
            } else {
                assert_int_equal(engine_acl_index_apply(x, del, ndel, add, nadd, ++v), 0);
            }
            check(x, &s, from);
            check_same(x, &first, &s);
        }
        engine_acl_index_free(x);
    }
}

/* A new base compiled elsewhere from the rules of the version its record started at takes the
 * index's rules: the changes since are replayed on it, and the index and its patch over the new
 * base decide as a whole compile of the rules in force; applying changes compiles no base. With
 * no change since, a base of a version of its own, later, is taken at that version. A base of
 * an earlier version, or of one not below the changes, or with nothing recorded, is refused and
 * the index stays. */
static void test_index_rebase_replays_changes(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        struct set s = {{0}, {0}}, at;
        struct engine_acl_index *x, *nx;
        struct engine_acl_change del[8], add[8];
        struct engine_acl *a;
        size_t ndel, nadd;
        uint64_t v = 1, vat;
        uint32_t line = NKEYS;
        for (size_t k = 0; k < NKEYS; k++)
            s.effect[k] = next() % 4 == 0 ? (uint8_t)(1 + next() % 2) : 0;
        set_lines(&s);
        a = set_load(&s);
        assert_int_equal(engine_acl_index_new(&x, a, NULL, v), 0);
        engine_acl_free(a);
        for (int step = 0; step < 3; step++) {
            random_change(&s, del, &ndel, add, &nadd, &line);
            assert_int_equal(engine_acl_index_apply(x, del, ndel, add, nadd, ++v), 0);
        }
        engine_acl_index_record(x);
        assert_true(engine_acl_index_recording(x));
        at = s;
        vat = v;
        uint64_t compiles = engine_acl_index_compiles();
        for (int step = 0; step < round % 6; step++) {
            random_change(&s, del, &ndel, add, &nadd, &line);
            if (step % 2 == 0) {
                assert_int_equal(engine_acl_index_apply(x, del, ndel, add, nadd, ++v), 0);
                continue;
            }
            people_change(&s, next()); /* users changed too: replayed from the record */
            a = set_load(&s);
            assert_true(engine_acl_index_sync(x, a, ++v) == 0);
            engine_acl_free(a);
        }
        assert_int_equal(engine_acl_index_compiles(), compiles);
        /* a base of an earlier version, or of one a change has: refused, the index as it was */
        a = set_load(&at);
        assert_int_equal(engine_acl_index_new(&nx, a, NULL, vat - 1), 0);
        assert_int_equal(engine_acl_index_rebase(x, nx), -ESTALE);
        assert_int_equal(engine_acl_index_base_version(x), 1);
        if (v > vat) {
            assert_int_equal(engine_acl_index_new(&nx, a, NULL, vat + 1), 0);
            assert_int_equal(engine_acl_index_rebase(x, nx), -ESTALE);
            assert_int_equal(engine_acl_index_base_version(x), 1);
        } else {
            v = ++vat; /* no change since: the base's own version is the index's */
        }
        assert_int_equal(engine_acl_index_new(&nx, a, NULL, vat), 0);
        engine_acl_free(a);
        assert_int_equal(engine_acl_index_rebase(x, nx), 0);
        assert_false(engine_acl_index_recording(x));
        assert_int_equal(engine_acl_index_base_version(x), vat);
        assert_int_equal(engine_acl_index_version(x), v);
        check(x, &s, vat);
        /* a copy of the new base alone: the rules of the version the record started at */
        struct engine_acl_index *y;
        assert_int_equal(engine_acl_index_base_copy(&y, x), 0);
        assert_int_equal(engine_acl_index_version(y), vat);
        assert_int_equal(engine_acl_index_changes(y), 0);
        check(y, &at, vat);
        engine_acl_index_free(y);
        random_change(&s, del, &ndel, add, &nadd, &line);
        assert_int_equal(engine_acl_index_apply(x, del, ndel, add, nadd, ++v), 0);
        check(x, &s, vat);
        /* nothing recorded any more */
        a = set_load(&s);
        assert_int_equal(engine_acl_index_new(&nx, a, NULL, v), 0);
        engine_acl_free(a);
        assert_int_equal(engine_acl_index_rebase(x, nx), -ESTALE);
        check(x, &s, vat);
        engine_acl_index_free(x);
    }
}

/* Removing a rule that another rule shadows leaves the other in force, and back. */
static void test_index_remove_shadowed(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x;
    struct engine_acl *a;
    (void)state;
    set_lines(&s);
    /* p u0 GET /a/slash-star allow shadows p u0 * /a/slash-star allow for GET; p group:g0
     * GET /a/slash-star deny is below both */
    size_t k1 = 0 * NS * NM * NT + 0 * NM * NT + 0 * NT + 1,
           k2 = 0 * NS * NM * NT + 0 * NM * NT + 2 * NT + 1,
           k3 = 0 * NS * NM * NT + 4 * NM * NT + 0 * NT + 1;
    s.effect[k1] = 2;
    s.effect[k2] = 2;
    s.effect[k3] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    engine_acl_free(a);
    struct engine_acl_change del = key_change(&s, k1, 1);
    assert_int_equal(engine_acl_index_apply(x, &del, 1, NULL, 0, 2), 0);
    s.effect[k1] = 0;
    check(x, &s, 1);
    del = key_change(&s, k2, 1);
    assert_int_equal(engine_acl_index_apply(x, &del, 1, NULL, 0, 3), 0);
    s.effect[k2] = 0;
    check(x, &s, 2);
    /* Back again: the base's rule comes back to life rather than into the overlay. */
    struct engine_acl_change add = key_change(&s, k1, 1);
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, &add, 1, 4), 0);
    s.effect[k1] = 2;
    check(x, &s, 3);
    assert_int_equal(engine_acl_index_changes(x), 1);
    engine_acl_index_free(x);
}

/* A refused change keeps the rules as they were. */
static void test_index_refused_change(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x;
    struct engine_acl *a;
    (void)state;
    set_lines(&s);
    s.effect[3] = 2;
    s.effect[9] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    engine_acl_free(a);
    struct engine_acl_change del[2] = {key_change(&s, 3, 1), key_change(&s, 20, 1)};
    assert_int_equal(engine_acl_index_apply(x, del, 2, NULL, 0, 2), -ENOENT);
    struct engine_acl_change add[2] = {key_change(&s, 21, 1), key_change(&s, 9, 0)};
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, add, 2, 2), -EEXIST);
    struct engine_acl_change bad = {"p", "u0", "GET", "/a/../b", 1, 1};
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, &bad, 1, 2), -EINVAL);
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, NULL, 0, 1), -EINVAL);
    assert_int_equal(engine_acl_index_version(x), 1);
    assert_int_equal(engine_acl_index_changes(x), 0);
    check(x, &s, 1);
    engine_acl_index_free(x);
}

/* Every flipped byte and every truncation of a patch is refused; so are a patch out of order
 * and one for another blob; the refusal says whether to send the whole blob. */
static void test_patch_refused(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x, *y;
    struct engine_acl *a;
    struct engine_acl_blob base, other;
    struct engine_acl_patch p;
    const void *bb;
    void *patch, *copy = NULL;
    size_t plen, blen;
    const char *why;
    (void)state;
    set_lines(&s);
    s.effect[3] = 2;
    s.effect[9] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    assert_int_equal(engine_acl_index_new(&y, a, NULL, 7), 0);
    engine_acl_free(a);
    struct engine_acl_change del = key_change(&s, 3, 1), add = key_change(&s, 40, 0);
    assert_int_equal(engine_acl_index_apply(x, &del, 1, &add, 1, 2), 0);
    assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
    engine_acl_index_base(x, &bb, &blen);
    assert_int_equal(engine_acl_blob_open(&base, bb, blen, NULL), 0);
    engine_acl_index_base(y, &bb, &blen);
    assert_int_equal(engine_acl_blob_open(&other, bb, blen, NULL), 0);
    assert_int_equal(engine_acl_patch_open(&p, patch, plen, &base, 1, NULL), 0);
    assert_int_equal(engine_acl_patch_open(&p, patch, plen, &base, 2, &why), -ENGINE_ACL_ESTALE);
    assert_int_equal(engine_acl_patch_open(&p, patch, plen, &other, 1, &why), -ENGINE_ACL_ESTALE);
    assert_non_null(why);
    assert_int_equal(posix_memalign(&copy, 8, plen), 0);
    for (size_t i = 0; i < plen; i++) {
        memcpy(copy, patch, plen);
        ((uint8_t *)copy)[i] ^= 0x20;
        assert_true(engine_acl_patch_open(&p, copy, plen, &base, 1, NULL) < 0);
    }
    for (size_t n = 0; n < plen; n++) {
        memcpy(copy, patch, n);
        assert_true(engine_acl_patch_open(&p, copy, n, &base, 1, NULL) < 0);
    }
    free(copy);
    free(patch);
    engine_acl_index_free(x);
    engine_acl_index_free(y);
}

/* A share of the base's bytes outlives the index and its other bases, and so does a copy of
 * the base alone: the bytes are handed on, not copied, and freed with their last holder. */
static void test_index_base_shared(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x, *y;
    struct engine_acl *a;
    const void *blob, *again;
    size_t len, alen;
    void *whole;
    size_t wlen;

    (void)state;
    for (size_t k = 0; k < NKEYS; k++)
        s.effect[k] = next() % 3 == 0 ? (uint8_t)(1 + next() % 2) : 0;
    set_lines(&s);
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 3), 0);
    assert_int_equal(engine_acl_compile(&whole, &wlen, a, NULL, 3), 0);
    struct engine_acl_base *share = engine_acl_index_base_share(x, &blob, &len);
    assert_int_equal(engine_acl_index_base_copy(&y, x), 0);
    engine_acl_index_base(y, &again, &alen);
    assert_ptr_equal(again, blob); /* the same bytes */
    engine_acl_free(a);
    engine_acl_index_free(x);
    assert_int_equal(len, wlen);
    assert_memory_equal(blob, whole, wlen);
    check(y, &s, 3);
    engine_acl_index_free(y);
    assert_memory_equal(blob, whole, wlen); /* the share's, still */
    engine_acl_base_put(share);
    engine_acl_base_put(NULL);
    free(whole);
}

/* A user's credential changed, then back: the patch carries the user while it differs from the
 * base, and nothing once it is the base's again; a user given no record by a patch keeps the
 * base's groups and credential. */
static void test_index_people_patch(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x;
    struct engine_acl *a;
    (void)state;
    set_lines(&s);
    s.effect[3] = 2;
    s.cred[0] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    engine_acl_free(a);
    uint64_t compiles = engine_acl_index_compiles();
    s.cred[0] = 2;      /* a password rotated */
    s.member[4][0] = 1; /* a user added to a group */
    a = set_load(&s);
    assert_int_equal(engine_acl_index_sync(x, a, 2), 0);
    engine_acl_free(a);
    assert_int_equal(engine_acl_index_changes(x), 2);
    assert_int_equal(engine_acl_index_compiles(), compiles);
    check(x, &s, 1);
    s.cred[0] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_sync(x, a, 3), 0);
    engine_acl_free(a);
    assert_int_equal(engine_acl_index_changes(x), 1);
    check(x, &s, 2);
    a = set_load(&s);
    assert_int_equal(engine_acl_index_sync(x, a, 4), 2); /* nothing differs */
    engine_acl_free(a);
    s.member[4][0] = 0;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_sync(x, a, 4), 0);
    engine_acl_free(a);
    assert_int_equal(engine_acl_index_changes(x), 0);
    check(x, &s, 3);
    assert_int_equal(engine_acl_index_compiles(), compiles);
    engine_acl_index_free(x);
}

/* PATCH (a copy) with its added blob's and its own checksums made again after an edit. */
static void patch_reseal(uint8_t *patch, size_t len)
{
    struct engine_acl_patch_header *h = (void *)patch;
    struct engine_acl_blob_header *o = (void *)(patch + h->over_off);

    memset(o->sha256, 0, sizeof(o->sha256));
    engine_sha256(o->sha256, o, h->over_len);
    memset(h->sha256, 0, sizeof(h->sha256));
    engine_sha256(h->sha256, patch, len);
}

/* A hostile patch of users, its checksums made right: a user record with more groups than a
 * user may have, a group range outside the groups, a credential index or a string past its
 * section, iterations and salts out of bounds. Each is refused as the base blob's checker
 * refuses it; the sound patch is taken. */
static void test_patch_users_hostile(void **state)
{
    struct set s = {{0}, {0}};
    struct engine_acl_index *x;
    struct engine_acl *a;
    struct engine_acl_blob base;
    struct engine_acl_patch p;
    const void *bb;
    void *patch;
    uint8_t *copy = NULL;
    size_t plen, blen;
    const char *why = NULL;
    (void)state;
    set_lines(&s);
    s.effect[3] = 2;
    s.cred[0] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    engine_acl_free(a);
    s.cred[0] = 2;
    s.member[4][1] = 1;
    a = set_load(&s);
    assert_int_equal(engine_acl_index_sync(x, a, 2), 0);
    engine_acl_free(a);
    assert_int_equal(engine_acl_index_patch(x, 1, &patch, &plen), 0);
    engine_acl_index_base(x, &bb, &blen);
    assert_int_equal(engine_acl_blob_open(&base, bb, blen, NULL), 0);
    assert_int_equal(engine_acl_patch_open(&p, patch, plen, &base, 1, &why), 0);
    assert_int_equal(p.over.user_count, 2);
    assert_int_equal(p.over.cred_count, 1);
    assert_int_equal(posix_memalign((void **)&copy, 8, plen), 0);
    memcpy(copy, patch, plen);
    patch_reseal(copy, plen); /* resealed unedited: still taken */
    assert_int_equal(engine_acl_patch_open(&p, copy, plen, &base, 1, &why), 0);
    for (int k = 0; k < 8; k++) {
        memcpy(copy, patch, plen);
        struct engine_acl_patch_header *h = (void *)copy;
        struct engine_acl_blob_header *o = (void *)(copy + h->over_off);
        struct engine_acl_blob_user *u =
            (void *)(copy + h->over_off + o->sec[ENGINE_ACL_SEC_USER].off);
        struct engine_acl_blob_cred *c =
            (void *)(copy + h->over_off + o->sec[ENGINE_ACL_SEC_CRED].off);
        uint32_t *g = (void *)(copy + h->over_off + o->sec[ENGINE_ACL_SEC_GRP].off);
        switch (k) {
        case 0:
            u[0].grp_count = ENGINE_ACL_GROUPS_MAX + 1;
            break;
        case 1:
            u[1].grp_first = o->sec[ENGINE_ACL_SEC_GRP].count;
            u[1].grp_count = 1;
            break;
        case 2:
            u[0].cred = u[1].cred = 7;
            break;
        case 3:
            u[0].name = o->sec[ENGINE_ACL_SEC_STR].count;
            break;
        case 4:
            c[0].iterations = ENGINE_ACL_ITER_MIN - 1;
            break;
        case 5:
            c[0].iterations = ENGINE_ACL_ITER_MAX + 1;
            break;
        case 6:
            c[0].salt_len = ENGINE_ACL_SALT_MAX + 1;
            break;
        default:
            g[0] = o->sec[ENGINE_ACL_SEC_STR].count;
            break;
        }
        patch_reseal(copy, plen);
        why = NULL;
        assert_int_equal(engine_acl_patch_open(&p, copy, plen, &base, 1, &why),
                         -ENGINE_ACL_EBADMSG);
        assert_non_null(why);
    }
    free(copy);
    free(patch);
    engine_acl_index_free(x);
}

static int make_cred_lines(void **state)
{
    static const uint8_t salt[16] = "grid-test-salt..";
    (void)state;
    for (size_t u = 0; u < NU; u++)
        for (size_t p = 0; p < 2; p++)
            if (engine_acl_cred_line(&cred_lines[u][p], people_users[u], passwords[p],
                                     strlen(passwords[p]), 1000, salt, sizeof(salt)) < 0)
                return -1;
    return 0;
}

static int free_cred_lines(void **state)
{
    (void)state;
    for (size_t u = 0; u < NU; u++)
        for (size_t p = 0; p < 2; p++)
            free(cred_lines[u][p]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_random_changes_match_full_compile),
        cmocka_unit_test(test_index_remove_shadowed),
        cmocka_unit_test(test_index_rebase_replays_changes),
        cmocka_unit_test(test_index_base_shared),
        cmocka_unit_test(test_index_refused_change),
        cmocka_unit_test(test_patch_refused),
        cmocka_unit_test(test_index_people_patch),
        cmocka_unit_test(test_patch_users_hostile),
    };
    return cmocka_run_group_tests(tests, make_cred_lines, free_cred_lines);
}
