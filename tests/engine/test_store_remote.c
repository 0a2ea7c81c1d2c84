/* test_store_remote.c — a remote that holds main (engine/store.h): push, fetch, main moved to
 * the remote's, and the refusals: a remote whose main moved, an empty one, an unreachable
 * one, an uncommitted edit in the way. Through a bare repository on this machine (file://). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <git2.h>

#include "engine/store.h"

static const struct engine_store_author alice = {"alice", "alice@example.org"};

#define TEXT(s) s, sizeof(s) - 1

static const struct engine_store_change initial[] = {
    {"topology.yaml", TEXT("tosca_definitions_version: tosca_simple_yaml_1_2\n"), 0},
    {"state/levels", TEXT("web: default\n"), 0},
};

struct fixture {
    char tmp[2048];
    char bare[2100], url[2200], a[2100], b[2100];
    struct engine_store *sa, *sb;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Store A made by init, and an empty bare repository; store B made by init on its
 * own (an unrelated history). */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("TMPDIR");
    git_repository *bare = NULL;

    assert_non_null(f);
    snprintf(f->tmp, sizeof(f->tmp), "%s/unisec-remote-XXXXXX",
             base != NULL && base[0] ? base : "/tmp");
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->bare, sizeof(f->bare), "%s/remote.git", f->tmp);
    snprintf(f->url, sizeof(f->url), "file://%s", f->bare);
    snprintf(f->a, sizeof(f->a), "%s/a", f->tmp);
    snprintf(f->b, sizeof(f->b), "%s/b", f->tmp);
    git_libgit2_init();
    assert_int_equal(git_repository_init(&bare, f->bare, 1), 0);
    git_repository_free(bare);
    git_libgit2_shutdown();
    assert_int_equal(engine_store_init(&f->sa, f->a, initial, 2, &alice, "init", NULL, NULL), 0);
    assert_int_equal(engine_store_init(&f->sb, f->b, initial, 2, &alice, "init b", NULL, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    engine_store_free(f->sa);
    engine_store_free(f->sb);
    chmod(f->bare, 0700);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void commit(struct engine_store *s, const char *levels, char id[41])
{
    struct engine_store_change ch = {"state/levels", levels, strlen(levels), 0, 0};
    int rc = engine_store_commit(s, &ch, 1, &alice, "levels", id, NULL);
    assert_true(rc == 0 || rc == ENGINE_STORE_WORKTREE_STALE);
}

static char *worktree(const char *dir, const char *rel)
{
    static char buf[256];
    char path[4096];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_non_null(fp = fopen(path, "r"));
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* An empty remote has no main; A's push gives it one; B (unrelated) sees it as diverged and
 * moves to it, work tree included; a later commit of A reaches B as newer. */
static void test_push_fetch_move(void **state)
{
    struct fixture *f = *state;
    enum engine_store_remote_rel rel;
    char id[41], head[41], c1[41];
    int changed = 0;

    assert_int_equal(engine_store_fetch(f->sa, f->url, id, &rel, NULL), -ENOENT);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    engine_store_head(f->sa, head, NULL);
    assert_int_equal(engine_store_fetch(f->sa, f->url, id, &rel, NULL), 0);
    assert_string_equal(id, head);
    assert_int_equal(rel, ENGINE_STORE_REMOTE_SAME);

    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(rel, ENGINE_STORE_REMOTE_DIVERGED);
    commit(f->sa, "web: critical\n", c1);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_string_equal(id, c1);
    assert_int_equal(engine_store_move(f->sb, id, 0, NULL), 0);
    assert_string_equal(worktree(f->b, "state/levels"), "web: critical\n");
    /* Not taken as seen: refresh reports it, for the caller to validate. */
    assert_int_equal(engine_store_refresh(f->sb, &changed, head, NULL), 0);
    assert_int_equal(changed, 1);
    assert_string_equal(head, c1);

    /* A lock on the tracking ref left by a killed fetch does not stop the next one. */
    {
        char lock[4096];
        FILE *fp;
        snprintf(lock, sizeof(lock), "%s/.git/%s.lock", f->b, ENGINE_STORE_REMOTE_REF);
        assert_non_null(fp = fopen(lock, "w"));
        fclose(fp);
    }
    commit(f->sa, "web: default\n", c1);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(rel, ENGINE_STORE_REMOTE_NEWER);
    assert_string_equal(id, c1);
}

/* B commits on an old main: its push is refused as -EAGAIN and nothing of the remote moves;
 * B takes its commit back (move, seen), fetches, and its next commit lands. */
static void test_moved_remote(void **state)
{
    struct fixture *f = *state;
    enum engine_store_remote_rel rel;
    char id[41], base[41], mine[41], theirs[41];
    struct engine_diag d = {0};

    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(engine_store_move(f->sb, id, 1, NULL), 0);
    engine_store_head(f->sb, base, NULL);
    commit(f->sa, "web: critical\n", theirs);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    commit(f->sb, "web: high\n", mine);
    assert_int_equal(engine_store_push(f->sb, f->url, &d), -EAGAIN);
    assert_true(d.n > 0);
    engine_diag_free(&d);
    assert_int_equal(engine_store_fetch(f->sa, f->url, id, &rel, NULL), 0);
    assert_string_equal(id, theirs);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(rel, ENGINE_STORE_REMOTE_DIVERGED);
    assert_int_equal(engine_store_move(f->sb, base, 1, NULL), 0);
    assert_string_equal(worktree(f->b, "state/levels"), "web: default\n");
    assert_int_equal(engine_store_move(f->sb, id, 1, NULL), 0);
    commit(f->sb, "web: high\n", mine);
    assert_int_equal(engine_store_push(f->sb, f->url, NULL), 0);
    assert_int_equal(engine_store_fetch(f->sa, f->url, id, &rel, NULL), 0);
    assert_string_equal(id, mine);
}

/* A remote that cannot be reached: -EHOSTUNREACH for both directions, naming the remote. */
static void test_unreachable(void **state)
{
    struct fixture *f = *state;
    enum engine_store_remote_rel rel;
    struct engine_diag d = {0};
    char id[41], moved[2200];
    char *text;

    snprintf(moved, sizeof(moved), "%s.gone", f->bare);
    assert_int_equal(rename(f->bare, moved), 0);
    assert_int_equal(engine_store_push(f->sa, f->url, &d), -EHOSTUNREACH);
    assert_int_equal(engine_store_fetch(f->sa, f->url, id, &rel, &d), -EHOSTUNREACH);
    assert_non_null(text = engine_diag_join(&d));
    assert_non_null(strstr(text, f->url));
    free(text);
    engine_diag_free(&d);
    assert_int_equal(rename(moved, f->bare), 0);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
}

/* An operator's uncommitted edit of a path the move changes: -EBUSY, main stays. */
static void test_move_keeps_edit(void **state)
{
    struct fixture *f = *state;
    enum engine_store_remote_rel rel;
    char id[41], before[41], after[41], path[4096];
    FILE *fp;

    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    commit(f->sa, "web: critical\n", id);
    assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
    engine_store_head(f->sb, before, NULL);
    snprintf(path, sizeof(path), "%s/state/levels", f->b);
    assert_non_null(fp = fopen(path, "w"));
    fputs("web: mine\n", fp);
    fclose(fp);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(engine_store_move(f->sb, id, 0, NULL), -EBUSY);
    engine_store_head(f->sb, after, NULL);
    assert_string_equal(before, after);
    assert_string_equal(worktree(f->b, "state/levels"), "web: mine\n");
    assert_int_equal(engine_store_move(f->sb, "not-an-id", 0, NULL), -EINVAL);
}

static int packs(const char *bare)
{
    char dir[4096];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/objects/pack", bare);
    assert_non_null(d = opendir(dir));
    while ((e = readdir(d)) != NULL)
        n += strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".pack") == 0;
    closedir(d);
    return n;
}

/* A push to a file:// remote writes loose objects there (no pack of its own); each fetch that
 * brings objects adds a pack to the store; git's housekeeping packs them together once there
 * are more than 50. */
static void test_gc(void **state)
{
    struct fixture *f = *state;
    char gitdir[2200], id[41];
    enum engine_store_remote_rel rel;
    int rc;

    assert_string_equal(engine_store_remote_dir(f->url), f->bare);
    assert_null(engine_store_remote_dir("git://example.org/r.git"));
    for (int i = 0; i < 54; i++) {
        commit(f->sa, i % 2 ? "web: default\n" : "web: critical\n", id);
        assert_int_equal(engine_store_push(f->sa, f->url, NULL), 0);
        assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    }
    assert_int_equal(packs(f->bare), 0);
    snprintf(gitdir, sizeof(gitdir), "%s/.git", f->b);
    assert_true(packs(gitdir) > 50);
    if ((rc = engine_store_gc(gitdir, NULL)) == -ENOENT)
        skip(); /* git is not installed */
    assert_int_equal(rc, 0);
    assert_true(packs(gitdir) <= 2);
    assert_int_equal(engine_store_gc(f->bare, NULL), 0);
    assert_int_equal(engine_store_fetch(f->sb, f->url, id, &rel, NULL), 0);
    assert_int_equal(rel, ENGINE_STORE_REMOTE_DIVERGED); /* B's own init; the remote's history */
}

/* A deployment record of HOST in store S: its id in ID. */
static void record(struct engine_store *s, const char *host, const char *line, char id[41])
{
    char ref[ENGINE_STORE_REF_MAX];

    assert_int_equal(engine_store_deployed_ref(ref, host), 0);
    assert_int_equal(engine_store_commit_ref(s, ref, ENGINE_STORE_DEPLOYED_PATH, line, strlen(line),
                                             &alice, "deploy: web -> img", id, NULL),
                     0);
}

/* HOST's ref in S ("" when none). */
static const char *ref_of(const struct engine_store *s, const char *host)
{
    static char id[41];
    char ref[ENGINE_STORE_REF_MAX];

    assert_int_equal(engine_store_deployed_ref(ref, host), 0);
    if (engine_store_ref_id(s, ref, id, NULL) < 0)
        id[0] = '\0';
    return id;
}

/* HOST's ref on the remote ("" when none). */
static const char *remote_ref(const struct fixture *f, const char *host)
{
    static char id[41];
    struct engine_store *r = NULL;

    assert_int_equal(engine_store_open_repo(&r, f->bare, NULL), 0);
    snprintf(id, sizeof(id), "%s", ref_of(r, host));
    engine_store_free(r);
    return id;
}

/* Each store pushes its own host's records and takes the others' from the remote; an
 * unreachable remote fails the exchange (nothing lost: the next one pushes); a store made anew
 * takes its host's records from the remote; records on both sides are joined (the last one
 * made again on the remote's). */
static void test_records_sync(void **state)
{
    struct fixture *f = *state;
    struct engine_store_records_sync did;
    struct engine_diag d = {0};
    char a1[41], a2[41], b1[41], ref_a[ENGINE_STORE_REF_MAX], ref_b[ENGINE_STORE_REF_MAX];
    char moved[2200], *text;

    assert_int_equal(engine_store_deployed_ref(ref_a, "a"), 0);
    assert_int_equal(engine_store_deployed_ref(ref_b, "b"), 0);
    record(f->sa, "a", "web img1\n", a1);
    record(f->sb, "b", "db img2\n", b1);
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, NULL), 0);
    assert_true(did.pushed && did.fetched == 0 && !did.again);
    assert_string_equal(remote_ref(f, "a"), a1);
    assert_int_equal(engine_store_records_sync(f->sb, f->url, ref_b, &did, NULL), 0);
    assert_true(did.pushed && did.fetched == 1);
    assert_string_equal(ref_of(f->sb, "a"), a1);
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, NULL), 0);
    assert_true(!did.pushed && did.fetched == 1);
    assert_string_equal(ref_of(f->sa, "b"), b1);
    /* nothing new: nothing moves */
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, NULL), 0);
    assert_true(!did.pushed && did.fetched == 0);

    /* unreachable: the record stays, and goes with the next exchange */
    snprintf(moved, sizeof(moved), "%s.gone", f->bare);
    assert_int_equal(rename(f->bare, moved), 0);
    record(f->sa, "a", "web img3\n", a2);
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, &d), -EHOSTUNREACH);
    assert_non_null(text = engine_diag_join(&d));
    assert_non_null(strstr(text, f->url));
    free(text);
    engine_diag_free(&d);
    assert_int_equal(rename(moved, f->bare), 0);
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, NULL), 0);
    assert_true(did.pushed);
    assert_string_equal(remote_ref(f, "a"), a2);

    /* B made anew for host a: takes a's records; then both record, each unseen by the other */
    assert_int_equal(git_libgit2_init() > 0, 1);
    {
        git_repository *repo = NULL;
        git_reference *ref = NULL;
        char path[2200];
        snprintf(path, sizeof(path), "%s/.git", f->b);
        assert_int_equal(git_repository_open(&repo, path), 0);
        assert_int_equal(git_reference_lookup(&ref, repo, ref_a), 0);
        assert_int_equal(git_reference_delete(ref), 0);
        git_reference_free(ref);
        git_repository_free(repo);
    }
    git_libgit2_shutdown();
    assert_int_equal(engine_store_records_sync(f->sb, f->url, ref_a, &did, NULL), 0);
    assert_string_equal(ref_of(f->sb, "a"), a2);
    assert_false(did.pushed);
    record(f->sb, "a", "web img4\n", a1);
    assert_int_equal(engine_store_records_sync(f->sb, f->url, ref_a, &did, NULL), 0);
    assert_true(did.pushed);
    record(f->sa, "a", "web img5\n", b1);
    assert_int_equal(engine_store_records_sync(f->sa, f->url, ref_a, &did, NULL), 0);
    assert_true(did.pushed && did.again);
    assert_string_equal(remote_ref(f, "a"), ref_of(f->sa, "a"));
    /* the remote's a holds B's record, and A's last one on top of it */
    assert_int_equal(engine_store_descends(f->sa, ref_of(f->sa, "a"), a1, NULL), 1);
    {
        char *t = NULL;
        size_t len = 0;
        assert_int_equal(engine_store_read_at(f->sa, ref_of(f->sa, "a"), ENGINE_STORE_DEPLOYED_PATH,
                                              &t, &len, NULL),
                         0);
        assert_memory_equal(t, "web img5\n", len);
        free(t);
    }
}

/* A git:// remote that takes the connection and never answers: given up on, not waited for. */
static void test_silent_remote(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct engine_diag d = {0};
    struct engine_store_records_sync did;
    char url[128], id[41], *text;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    /* the kernel completes connections into the backlog: nobody reads or writes them */
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(url, sizeof(url), "git://127.0.0.1:%u/remote.git", ntohs(sa.sin_port));
    engine_store_remote_timeout(1);
    assert_int_equal(engine_store_fetch(f->sa, url, id, &(enum engine_store_remote_rel){0}, &d),
                     -EHOSTUNREACH);
    assert_int_equal(engine_store_push(f->sa, url, &d), -EHOSTUNREACH);
    assert_int_equal(engine_store_records_sync(f->sa, url, "refs/unisec/deployed/a", &did, &d),
                     -EHOSTUNREACH);
    engine_store_remote_timeout(0);
    assert_non_null(text = engine_diag_join(&d));
    assert_non_null(strstr(text, "fetch: the remote git://127.0.0.1:"));
    assert_non_null(strstr(text, "push: the remote git://127.0.0.1:"));
    assert_non_null(strstr(text, "records: the remote git://127.0.0.1:"));
    assert_non_null(strstr(text, "did not answer for 1 s"));
    free(text);
    engine_diag_free(&d);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_fetch_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_remote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_keeps_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_remote, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
