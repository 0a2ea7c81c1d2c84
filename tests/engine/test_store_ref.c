/* test_store_ref.c — beside main: records on a side ref (each on the previous one, main
 * untouched, compare-and-swap), host names that may name a ref, a repository opened read
 * only, and a commit's tree checked entry by entry within bounds. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/engine.h"

static const struct engine_store_author alice = {"alice", "alice@example.org"};
static const struct engine_store_change initial[] = {
    {"topology.yaml", "t\n", 2, 0, 0},
    {"policy/acl", "regular * GET / allow\n", 22, 0, 0},
};

static char tmp[2048], dir[2100];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");
    (void)state;
    snprintf(tmp, sizeof(tmp), "%s/unisec-store-ref-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(dir, sizeof(dir), "%s/store", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct engine_store *make_store(void)
{
    struct engine_store *s = NULL;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(engine_store_init(&s, dir, initial, 2, &alice, "created", NULL, NULL), 0);
    return s;
}

static void test_host_names(void **state)
{
    char ref[ENGINE_STORE_REF_MAX];
    (void)state;
    assert_int_equal(engine_store_host_check("host_a"), 0);
    assert_int_equal(engine_store_host_check("web-1.example"), 0);
    assert_int_equal(engine_store_deployed_ref(ref, "local"), 0);
    assert_string_equal(ref, "refs/unisec/deployed/local");
    const char *bad[] = {"", ".h", "-h", "a..b", "a/b", "h.lock", "a b", "h@{1}", "ü", NULL};
    for (int i = 0; bad[i] != NULL; i++)
        assert_int_equal(engine_store_host_check(bad[i]), -EINVAL);
    assert_int_equal(engine_store_deployed_ref(ref, "../main"), -EINVAL);
}

struct walk {
    char ids[4][41];
    unsigned parents[4];
    int n;
};

static int walk_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct walk *w = arg;
    if (w->n < 4) {
        memcpy(w->ids[w->n], info->id, 41);
        w->parents[w->n] = info->parents;
    }
    w->n++;
    return 0;
}

static void test_records_on_a_side_ref(void **state)
{
    struct engine_store *s = make_store();
    char head[41], a[41], b[41], at[41], *data;
    size_t len;
    struct walk w = {.n = 0};
    const char *ref = "refs/unisec/deployed/h1";

    (void)state;
    engine_store_head(s, head, NULL);
    assert_int_equal(engine_store_ref_id(s, ref, at, NULL), -ENOENT);
    assert_int_equal(
        engine_store_commit_ref(s, ref, "state/deployed", "x\n", 2, &alice, "one", a, NULL), 0);
    assert_int_equal(
        engine_store_commit_ref(s, ref, "state/deployed", "y\n", 2, &alice, "two", b, NULL), 0);
    /* b on a, a on nothing; main did not move and does not hold the file. */
    assert_int_equal(engine_store_log_from(s, b, SIZE_MAX, walk_cb, &w, NULL), 0);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.ids[0], b);
    assert_string_equal(w.ids[1], a);
    assert_int_equal(w.parents[0], 1);
    assert_int_equal(w.parents[1], 0);
    engine_store_head(s, at, NULL);
    assert_string_equal(at, head);
    assert_int_equal(engine_store_read(s, "state/deployed", &data, &len, NULL), -ENOENT);
    assert_int_equal(engine_store_read_at(s, b, "state/deployed", &data, &len, NULL), 0);
    assert_string_equal(data, "y\n");
    free(data);
    /* The record's tree holds only its file. */
    assert_int_equal(engine_store_read_at(s, b, "topology.yaml", &data, &len, NULL), -ENOENT);
    assert_int_equal(engine_store_ref_id(s, ref, at, NULL), 0);
    assert_string_equal(at, b);
    assert_int_equal(engine_store_descends(s, b, a, NULL), 1);
    assert_int_equal(engine_store_descends(s, a, b, NULL), 0);
    assert_int_equal(engine_store_descends(s, b, head, NULL), 0);
    /* Never main, never outside refs/. */
    assert_int_equal(
        engine_store_commit_ref(s, "refs/heads/main", "f", "x", 1, &alice, "m", at, NULL), -EINVAL);
    assert_int_equal(engine_store_commit_ref(s, "HEAD", "f", "x", 1, &alice, "m", at, NULL),
                     -EINVAL);
    engine_store_free(s);
}

static int count_ref(const char *refname, const char *id, void *arg)
{
    (void)id;
    if (strncmp(refname, ENGINE_STORE_DEPLOYED_PREFIX, strlen(ENGINE_STORE_DEPLOYED_PREFIX)) == 0)
        (*(int *)arg)++;
    return 0;
}

static void test_refs_listed_and_read_only_open(void **state)
{
    struct engine_store *s = make_store(), *r = NULL;
    char id[41], head[41], bare[2200], cmd[7000], *data;
    size_t len;
    int n = 0;

    (void)state;
    assert_int_equal(engine_store_commit_ref(s, "refs/unisec/deployed/a", "state/deployed", "a", 1,
                                             &alice, "a", id, NULL),
                     0);
    assert_int_equal(engine_store_commit_ref(s, "refs/unisec/deployed/b", "state/deployed", "b", 1,
                                             &alice, "b", id, NULL),
                     0);
    assert_int_equal(engine_store_refs(s, ENGINE_STORE_DEPLOYED_PREFIX, count_ref, &n, NULL), 0);
    assert_int_equal(n, 2);
    engine_store_head(s, head, NULL);
    engine_store_free(s);
    if (system("git --version >/dev/null 2>&1") != 0)
        skip();
    snprintf(bare, sizeof(bare), "%s/bare.git", tmp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && git clone -q --bare '%s' '%s'", bare, dir, bare);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(engine_store_open_repo(&r, bare, NULL), 0);
    engine_store_head(r, id, NULL);
    assert_string_equal(id, head);
    assert_int_equal(engine_store_read_at(r, head, "policy/acl", &data, &len, NULL), 0);
    free(data);
    /* Read only: no commit, on main or on a side ref. */
    struct engine_store_change ch = {"f", "x", 1, 0, 0};
    assert_int_equal(engine_store_commit(r, &ch, 1, &alice, "no", id, NULL), -EINVAL);
    assert_int_equal(
        engine_store_commit_ref(r, "refs/unisec/deployed/c", "f", "x", 1, &alice, "no", id, NULL),
        -EINVAL);
    engine_store_free(r);
    /* A repository without main yet: the head is no commit. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && git init -q --bare '%s'", bare, bare);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(engine_store_open_repo(&r, bare, NULL), 0);
    engine_store_head(r, id, NULL);
    assert_string_equal(id, "0000000000000000000000000000000000000000");
    engine_store_free(r);
}

struct seen {
    int files;
    size_t bytes;
};

static int seen_cb(const char *path, size_t size, void *arg)
{
    struct seen *x = arg;
    (void)path;
    x->files++;
    x->bytes += size;
    return 0;
}

/* Commits in the store's work tree with git, as an operator would: SCRIPT runs in it. */
static void git_commit(const char *script)
{
    char cmd[8000];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && %s && git add -A && git -c user.name=op -c user.email=op@x commit -qm t",
             dir, script);
    assert_int_equal(system(cmd), 0);
}

static void test_tree_check(void **state)
{
    const struct engine_store_tree_limits lim = {
        .entries = 8, .depth = 2, .tree_bytes = 4096, .blob_bytes = 100};
    struct engine_store *s = make_store();
    struct engine_diag d = {0};
    struct seen x = {0};
    char head[41];
    int changed;

    (void)state;
    if (system("git --version >/dev/null 2>&1") != 0)
        skip();
    engine_store_head(s, head, NULL);
    assert_int_equal(engine_store_tree_check(s, head, &lim, seen_cb, &x, NULL), 0);
    assert_int_equal(x.files, 2);
    assert_int_equal(x.bytes, 24);
#define REFUSED(script, rc, what)                                                                  \
    do {                                                                                           \
        git_commit(script);                                                                        \
        assert_int_equal(engine_store_refresh(s, &changed, head, NULL), 0);                        \
        assert_int_equal(engine_store_tree_check(s, head, &lim, NULL, NULL, &d), rc);              \
        assert_non_null(strstr(d.v[d.n - 1].msg, what));                                           \
    } while (0)
    REFUSED("ln -s /etc/passwd link", -EINVAL, "a symbolic link");
    REFUSED("rm link && head -c 101 /dev/zero > big", -EFBIG, "101 bytes (at most 100)");
    REFUSED("rm big && mkdir -p a/b/c && echo x > a/b/c/f", -EINVAL, "nested deeper than 2");
    REFUSED("rm -r a && for i in 1 2 3 4 5 6 7 8 9; do echo $i > f$i; done", -EFBIG,
            "more than 8 entries");
    assert_string_equal(d.v[d.n - 1].file, "(root)");
    engine_diag_free(&d);
    engine_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_names),
        cmocka_unit_test(test_records_on_a_side_ref),
        cmocka_unit_test(test_refs_listed_and_read_only_open),
        cmocka_unit_test(test_tree_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
