/* test_store.c — the store: commits with the writer as author, a work tree that stays equal to
 * main, external changes noticed, concurrent and interrupted commits that lose nothing. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <git2.h>

#include "engine/fault.h"
#include "engine/store.h"
#include "engine/store_int.h" /* the batch of syncs (store_sync.c) */

static const struct engine_store_author alice = {"alice", "alice@example.org"};

/* The store's own fsyncs and fdatasyncs, counted through link-time wrappers
 * (-Wl,--wrap=fsync,--wrap=fdatasync); libgit2's (objects, ref, reflogs) are its own and not
 * counted. */
static unsigned long store_fsyncs, store_fdatasyncs;

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

int __wrap_fsync(int fd)
{
    __atomic_fetch_add(&store_fsyncs, 1, __ATOMIC_RELAXED); /* the store syncs a batch at once */
    return __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
    __atomic_fetch_add(&store_fdatasyncs, 1, __ATOMIC_RELAXED);
    return __real_fdatasync(fd);
}

#define TEXT(s) s, sizeof(s) - 1

static const struct engine_store_change initial[] = {
    {"topology.yaml", TEXT("tosca_definitions_version: tosca_simple_yaml_1_2\n"), 0},
    {"state/levels", TEXT("web: default\n"), 0},
    {"policy/acl", TEXT("regular * GET / allow\n"), 0},
};

/* A temporary directory for one test and the store path inside it. */
struct fixture {
    char tmp[2048];
    char dir[2100];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("TMPDIR");

    assert_non_null(f);
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(f->tmp, sizeof(f->tmp), "%s/unisec-store-XXXXXX", base);
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->dir, sizeof(f->dir), "%s/store", f->tmp);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct engine_store *make_store(const struct fixture *f)
{
    struct engine_store *s = NULL;
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(engine_store_init(&s, f->dir, initial, 3, &alice, "store: created", NULL, &d),
                     0);
    assert_int_equal(d.n, 0);
    assert_non_null(s);
    return s;
}

static int have_git(void)
{
    return system("git --version >/dev/null 2>&1") == 0;
}

#define SKIP_WITHOUT_GIT()                                                                         \
    do {                                                                                           \
        if (!have_git()) {                                                                         \
            print_message("SKIP: the git command is not installed\n");                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Runs `git -C DIR ARGS` (ARGS formatted) and returns its output (caller frees); *STATUS is
 * its exit status. */
static char *git_run(int *status, const char *dir, const char *fmt, ...)
{
    char args[2048], cmd[4096 + 2048], *out = NULL;
    size_t len = 0, cap = 0;
    va_list ap;
    FILE *p;
    int c;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd),
             "git -C '%s' -c user.name=operator -c user.email=op@example.org %s 2>&1", dir, args);
    assert_non_null(p = popen(cmd, "r"));
    while ((c = fgetc(p)) != EOF) {
        if (len + 1 >= cap) {
            cap = cap ? 2 * cap : 256;
            assert_non_null(out = realloc(out, cap));
        }
        out[len++] = (char)c;
    }
    if (out == NULL)
        assert_non_null(out = malloc(1));
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

/* Asserts that `git status --porcelain` (untracked files included) prints nothing. */
static void assert_git_clean(const char *dir)
{
    int st;
    char *out = git_run(&st, dir, "status --porcelain --untracked-files=all");
    if (st != 0 || out[0] != '\0')
        fail_msg("git status in the store: exit %d, output:\n%s", st, out);
    free(out);
}

static void assert_git_fsck(const char *dir)
{
    int st;
    char *out = git_run(&st, dir, "fsck --strict --no-dangling");
    if (st != 0)
        fail_msg("git fsck --strict failed (%d):\n%s", st, out);
    free(out);
}

static void assert_file(const char *dir, const char *rel, const char *want)
{
    char path[8192], buf[4096];
    ssize_t n;
    int fd;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (want == NULL) {
        assert_int_equal(access(path, F_OK), -1);
        return;
    }
    assert_true((fd = open(path, O_RDONLY)) >= 0);
    assert_true((n = read(fd, buf, sizeof(buf) - 1)) >= 0);
    close(fd);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[8192];
    FILE *fp;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void assert_read(const struct engine_store *s, const char *path, const char *want)
{
    char *data;
    size_t len;
    assert_int_equal(engine_store_read(s, path, &data, &len, NULL), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    assert_int_equal(data[len], '\0');
    free(data);
}

static int count_cb(const struct engine_store_commit_info *info, void *arg)
{
    (void)info;
    (*(size_t *)arg)++;
    return 0;
}

static size_t log_count(const struct engine_store *s)
{
    size_t n = 0;
    assert_int_equal(engine_store_log(s, SIZE_MAX, count_cb, &n, NULL), 0);
    return n;
}

static void commit1(struct engine_store *s, const char *path, const char *data, char id[41])
{
    struct engine_store_change c = {path, data, strlen(data), 0};
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "change", id, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(strlen(id), 40);
}

static void test_store_init_then_open(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s, *again;
    struct engine_store_dirent *v;
    struct engine_diag d;
    char head[41], head2[41];
    size_t n;

    s = make_store(f);
    assert_string_equal(engine_store_dir(s), f->dir);
    assert_int_equal(engine_store_head(s, head, NULL), 0);
    assert_int_equal(strlen(head), 40);
    engine_store_free(s);

    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_int_equal(engine_store_head(s, head2, NULL), 0);
    assert_string_equal(head, head2);
    assert_read(s, "topology.yaml", initial[0].data);
    assert_read(s, "state/levels", initial[1].data);
    assert_read(s, "policy/acl", initial[2].data);
    assert_int_equal(log_count(s), 1);

    assert_int_equal(engine_store_list(s, NULL, &v, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "policy");
    assert_int_equal(v[0].is_dir, 1);
    assert_string_equal(v[1].name, "state");
    assert_int_equal(v[1].is_dir, 1);
    assert_string_equal(v[2].name, "topology.yaml");
    assert_int_equal(v[2].is_dir, 0);
    assert_int_equal(v[2].size, initial[0].len);
    engine_store_list_free(v, n);
    assert_int_equal(engine_store_list(s, "state", &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "levels");
    engine_store_list_free(v, n);
    assert_int_equal(engine_store_list(s, "topology.yaml", &v, &n, NULL), -ENOTDIR);
    assert_int_equal(engine_store_list(s, "nothing", &v, &n, NULL), -ENOENT);
    {
        char *data;
        size_t len;
        assert_int_equal(engine_store_read(s, "state", &data, &len, NULL), -EISDIR);
        assert_int_equal(engine_store_read(s, "state/absent", &data, &len, NULL), -ENOENT);
        assert_null(data);
        assert_int_equal(engine_store_read(s, "topology.yaml/x", &data, &len, NULL), -ENOTDIR);
    }

    /* A second init over the store, or over any non-empty directory, is refused. */
    engine_diag_init(&d);
    assert_int_equal(engine_store_init(&again, f->dir, initial, 1, &alice, "again", NULL, &d),
                     -EEXIST);
    assert_null(again);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.v[0].msg, "not empty"));
    engine_diag_free(&d);
    /* An empty directory is fine; a missing parent is not. */
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/empty/", f->tmp);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(engine_store_init(&again, path, initial, 1, &alice, "m", NULL, NULL), 0);
        engine_store_free(again);
        snprintf(path, sizeof(path), "%s/missing/store", f->tmp);
        assert_int_equal(engine_store_init(&again, path, initial, 1, &alice, "m", NULL, &d),
                         -ENOENT);
        assert_null(again);
        assert_int_equal(d.n, 1);
        engine_diag_free(&d);
    }
    /* Opening something that is not a store says so. */
    assert_int_equal(engine_store_open(&again, f->tmp, &d), -ENOENT);
    assert_null(again);
    assert_int_equal(d.n, 1);
    engine_diag_free(&d);
    engine_store_free(s);
    engine_store_free(NULL);

    /* The work tree holds the files, on branch main. */
    assert_file(f->dir, "state/levels", initial[1].data);
    if (have_git()) {
        int st;
        char *out = git_run(&st, f->dir, "symbolic-ref HEAD");
        assert_string_equal(out, "refs/heads/main\n");
        free(out);
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
}

/* Reads commit ID with libgit2 on its own and checks author, committer, message and parent. */
static void check_commit(const char *dir, const char *id, const char *parent, const char *msg)
{
    git_repository *repo;
    git_commit *c;
    git_oid oid;
    const git_signature *a, *cm;

    git_libgit2_init();
    assert_int_equal(git_repository_open(&repo, dir), 0);
    assert_int_equal(git_oid_fromstr(&oid, id), 0);
    assert_int_equal(git_commit_lookup(&c, repo, &oid), 0);
    a = git_commit_author(c);
    cm = git_commit_committer(c);
    assert_string_equal(a->name, alice.name);
    assert_string_equal(a->email, alice.email);
    assert_string_equal(cm->name, alice.name);
    assert_string_equal(cm->email, alice.email);
    assert_true(llabs((long long)(time(NULL) - a->when.time)) < 60);
    assert_string_equal(git_commit_message(c), msg);
    assert_int_equal(git_commit_parentcount(c), 1);
    assert_string_equal(git_oid_tostr_s(git_commit_parent_id(c, 0)), parent);
    git_commit_free(c);
    git_repository_free(repo);
    git_libgit2_shutdown();
}

struct last_info {
    char id[41];
    char name[64], email[64], summary[128];
    size_t seen;
};

static int first_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct last_info *l = arg;
    if (l->seen++ > 0)
        return 0;
    strcpy(l->id, info->id);
    snprintf(l->name, sizeof(l->name), "%s", info->author_name);
    snprintf(l->email, sizeof(l->email), "%s", info->author_email);
    snprintf(l->summary, sizeof(l->summary), "%s", info->summary);
    return 0;
}

static void test_store_commit_nested_paths_with_author(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    const struct engine_store_change c[] = {
        {"state/levels", TEXT("web: critical\n"), 0},
        {"policy/groups", TEXT("admins: alice\n"), 0},
        {"state/deployed/web/image", TEXT("abc\n"), 0},
        {"empty", "", 0, 0},
    };
    const struct engine_store_change rm[] = {{"policy/acl", NULL, 0, 1}};
    char h0[41], id[41], id2[41];
    struct last_info li = {0};

    assert_int_equal(engine_store_head(s, h0, NULL), 0);
    assert_int_equal(
        engine_store_commit(s, c, 4, &alice, "web: security_level default -> critical", id, NULL),
        0);
    assert_int_equal(strlen(id), 40);
    check_commit(f->dir, id, h0, "web: security_level default -> critical\n");
    assert_read(s, "state/levels", "web: critical\n");
    assert_read(s, "policy/groups", "admins: alice\n");
    assert_read(s, "state/deployed/web/image", "abc\n");
    assert_read(s, "empty", "");
    assert_read(s, "topology.yaml", initial[0].data);

    /* A message that ends with a newline keeps it; removal of a file. */
    assert_int_equal(engine_store_commit(s, rm, 1, &alice, "policy: drop acl\n\nwhy\n", id2, NULL),
                     0);
    check_commit(f->dir, id2, id, "policy: drop acl\n\nwhy\n");
    {
        char *data;
        size_t len;
        assert_int_equal(engine_store_read(s, "policy/acl", &data, &len, NULL), -ENOENT);
    }
    assert_int_equal(engine_store_log(s, 1, first_cb, &li, NULL), 0);
    assert_int_equal(li.seen, 1);
    assert_string_equal(li.id, id2);
    assert_string_equal(li.name, "alice");
    assert_string_equal(li.email, "alice@example.org");
    assert_string_equal(li.summary, "policy: drop acl");
    assert_int_equal(log_count(s), 3);
    /* The head's author and summary, as the mount's events and deployment commits name it. */
    struct engine_store_commit_line line = {"?", "?"};
    engine_store_head_line(s, &line);
    assert_string_equal(line.author, "alice");
    assert_string_equal(line.summary, "policy: drop acl");
    engine_store_free(s);
}

static int stop_cb(const struct engine_store_commit_info *info, void *arg)
{
    (void)info;
    return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_store_commit_unchanged_makes_no_commit(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    char h0[41], h1[41], id[41] = "x";
    int calls = 0;

    assert_int_equal(engine_store_head(s, h0, NULL), 0);
    assert_int_equal(engine_store_commit(s, &initial[1], 1, &alice, "same", id, NULL), 0);
    assert_string_equal(id, "");
    assert_int_equal(engine_store_commit(s, initial, 3, &alice, "same", id, NULL), 0);
    assert_string_equal(id, "");
    assert_int_equal(engine_store_head(s, h1, NULL), 0);
    assert_string_equal(h0, h1);
    assert_int_equal(log_count(s), 1);

    /* An unchanged commit costs checks and objects only; a commit costs every step. */
    uint64_t cpu0[ENGINE_STORE_STEP_N], cpu1[ENGINE_STORE_STEP_N];
    engine_store_step_cpu(s, cpu0);
    assert_true(cpu0[ENGINE_STORE_STEP_CHECK] > 0);
    assert_int_equal(cpu0[ENGINE_STORE_STEP_COMMIT], 0);
    assert_int_equal(cpu0[ENGINE_STORE_STEP_WORKTREE], 0);

    /* The log stops when the callback says so and passes its value on. */
    commit1(s, "state/levels", "web: critical\n", id);
    engine_store_step_cpu(s, cpu1);
    for (int i = 0; i < ENGINE_STORE_STEP_N; i++)
        assert_true(cpu1[i] > cpu0[i]);
    assert_string_equal(engine_store_step_name(ENGINE_STORE_STEP_WORKTREE), "worktree");
    assert_int_equal(engine_store_log(s, 10, stop_cb, &calls, NULL), 42);
    assert_int_equal(calls, 2);
    engine_store_free(s);
}

static void test_store_invalid_paths_refused(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    static const char *const bad[] = {
        "",  "/etc/passwd", "a//b",     "a/",   "../x", "a/../b",    "./a",
        ".", ".git/config", "a/.GIT/x", ".git", "a\nb", "tab\there", "del\x7f",
    };
    char longpath[ENGINE_STORE_PATH_MAX + 2], longseg[ENGINE_STORE_SEGMENT_MAX + 2];
    char h0[41], h1[41], id[41];
    struct engine_diag d;

    assert_int_equal(engine_store_head(s, h0, NULL), 0);
    engine_diag_init(&d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct engine_store_change c = {bad[i], "x", 1, 0};
        char *data;
        size_t len;
        assert_int_equal(engine_store_path_check(bad[i], &d), -EINVAL);
        assert_int_equal(engine_store_commit(s, &c, 1, &alice, "bad", id, &d), -EINVAL);
        assert_int_equal(engine_store_read(s, bad[i], &data, &len, &d), -EINVAL);
        assert_int_equal(engine_store_restore(s, bad[i], &d), -EINVAL);
        assert_int_equal(d.n, 4);
        /* The message names the store's directory. */
        assert_string_equal(d.v[1].file, f->dir);
        engine_diag_free(&d);
    }
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    for (size_t i = 100; i < sizeof(longpath) - 1; i += 100)
        longpath[i] = '/';
    assert_int_equal(engine_store_path_check(longpath, NULL), -EINVAL);
    longpath[sizeof(longpath) - 2] = '\0'; /* exactly the maximum */
    assert_int_equal(engine_store_path_check(longpath, NULL), 0);
    memset(longseg, 'b', sizeof(longseg) - 1);
    longseg[sizeof(longseg) - 1] = '\0';
    assert_int_equal(engine_store_path_check(longseg, NULL), -EINVAL);
    assert_int_equal(engine_store_path_check("state/levels", NULL), 0);
    assert_int_equal(engine_store_path_check("a/.gitignore/..b/...", NULL), 0);

    {
        const struct engine_store_change dup[] = {{"a", "1", 1, 0}, {"a", "2", 1, 0}};
        const struct engine_store_change nest[] = {{"a/b", "1", 1, 0}, {"a", "2", 1, 0}};
        const struct engine_store_change over_dir[] = {{"state", "1", 1, 0}};
        const struct engine_store_change under_file[] = {{"topology.yaml/x", "1", 1, 0}};
        const struct engine_store_change rm_absent[] = {{"state/none", NULL, 0, 1}};
        const struct engine_store_change rm_dir[] = {{"state", NULL, 0, 1}};
        const struct engine_store_change no_buf[] = {{"a", NULL, 3, 0}};
        const struct engine_store_author bad_author[] = {
            {"al<ice", "a@b"}, {"alice", ""}, {"", "a@b"}, {" alice", "a@b"}, {"al\nice", "a@b"}};
        assert_int_equal(engine_store_commit(s, dup, 2, &alice, "m", id, NULL), -EINVAL);
        assert_int_equal(engine_store_commit(s, nest, 2, &alice, "m", id, NULL), -EINVAL);
        assert_int_equal(engine_store_commit(s, over_dir, 1, &alice, "m", id, NULL), -EISDIR);
        assert_int_equal(engine_store_commit(s, under_file, 1, &alice, "m", id, NULL), -ENOTDIR);
        assert_int_equal(engine_store_commit(s, rm_absent, 1, &alice, "m", id, NULL), -ENOENT);
        assert_int_equal(engine_store_commit(s, rm_dir, 1, &alice, "m", id, NULL), -EISDIR);
        assert_int_equal(engine_store_commit(s, no_buf, 1, &alice, "m", id, NULL), -EINVAL);
        assert_int_equal(engine_store_commit(s, initial, 0, &alice, "m", id, NULL), -EINVAL);
        assert_int_equal(engine_store_commit(s, initial, 1, &alice, "", id, NULL), -EINVAL);
        for (size_t i = 0; i < sizeof(bad_author) / sizeof(bad_author[0]); i++)
            assert_int_equal(engine_store_commit(s, initial, 1, &bad_author[i], "m", id, NULL),
                             -EINVAL);
    }
    assert_int_equal(engine_store_head(s, h1, NULL), 0);
    assert_string_equal(h0, h1);
    assert_int_equal(log_count(s), 1);
    engine_store_free(s);
}

static void test_store_worktree_matches_head(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s;
    char id[41];
    const struct engine_store_change rm[] = {{"policy/acl", NULL, 0, 1}};
    const struct engine_store_change two[] = {
        {"state/properties", TEXT("web.http_port: 8081\n"), 0},
        {"deep/er/path/file", "x", 1, 0},
    };

    SKIP_WITHOUT_GIT();
    s = make_store(f);
    assert_git_clean(f->dir);
    commit1(s, "state/levels", "web: critical\n", id);
    assert_git_clean(f->dir);
    assert_file(f->dir, "state/levels", "web: critical\n");
    assert_int_equal(engine_store_commit(s, two, 2, &alice, "two files", id, NULL), 0);
    assert_git_clean(f->dir);
    assert_file(f->dir, "deep/er/path/file", "x");
    assert_int_equal(engine_store_commit(s, rm, 1, &alice, "remove", id, NULL), 0);
    assert_git_clean(f->dir);
    assert_file(f->dir, "policy/acl", NULL);
    commit1(s, "policy/acl", "restricted * * / deny\n", id);
    assert_git_clean(f->dir);
    assert_file(f->dir, "policy/acl", "restricted * * / deny\n");
    {
        int st;
        char *out = git_run(&st, f->dir, "rev-parse main");
        assert_int_equal(st, 0);
        assert_memory_equal(out, id, 40);
        free(out);
        out = git_run(&st, f->dir, "log --format=%%an%%x09%%ae%%x09%%s -1");
        assert_string_equal(out, "alice\talice@example.org\tchange\n");
        free(out);
    }
    assert_git_fsck(f->dir);
    engine_store_free(s);
}

static void test_store_refresh_notices_external_revert(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s;
    char id[41], now[41];
    struct engine_diag d;
    int changed = -1, st;
    char *out;

    SKIP_WITHOUT_GIT();
    s = make_store(f);
    commit1(s, "state/levels", "web: critical\n", id);
    assert_int_equal(engine_store_refresh(s, &changed, now, NULL), 0);
    assert_int_equal(changed, 0);
    assert_string_equal(now, id);

    out = git_run(&st, f->dir, "revert --no-edit HEAD");
    assert_int_equal(st, 0);
    free(out);

    /* The store will not build on a main it has not seen. */
    engine_diag_init(&d);
    assert_int_equal(engine_store_commit(s, &initial[0], 1, &alice, "m", id, &d), -EAGAIN);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.v[0].msg, "moved outside"));
    engine_diag_free(&d);
    assert_read(s, "state/levels", "web: critical\n");

    assert_int_equal(engine_store_refresh(s, &changed, now, NULL), 0);
    assert_int_equal(changed, 1);
    out = git_run(&st, f->dir, "rev-parse HEAD");
    assert_memory_equal(out, now, 40);
    free(out);
    assert_read(s, "state/levels", initial[1].data);
    assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
    assert_int_equal(changed, 0);

    commit1(s, "state/levels", "web: paranoid\n", id);
    assert_int_equal(log_count(s), 4);
    assert_git_clean(f->dir);
    assert_git_fsck(f->dir);

    /* An operator's own commit from the work tree is noticed too. */
    write_file(f->dir, "topology.yaml", "edited by hand\n");
    out = git_run(&st, f->dir, "commit -q -a -m hand");
    assert_int_equal(st, 0);
    free(out);
    assert_int_equal(engine_store_refresh(s, &changed, now, NULL), 0);
    assert_int_equal(changed, 1);
    assert_read(s, "topology.yaml", "edited by hand\n");
    engine_store_free(s);

    /* HEAD moved off main: the store refuses to work on it. */
    out = git_run(&st, f->dir, "checkout -q -b other");
    assert_int_equal(st, 0);
    free(out);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), -EINVAL);
    assert_null(s);
}

/* The mtime of the loose object that holds blob or tree SPEC (`git rev-parse SPEC`). */
static time_t object_mtime(const char *dir, const char *spec, int set_old)
{
    char path[8192], *hex;
    struct stat st;
    int status;

    hex = git_run(&status, dir, "rev-parse %s", spec);
    assert_int_equal(status, 0);
    snprintf(path, sizeof(path), "%s/.git/objects/%.2s/%.38s", dir, hex, hex + 2);
    free(hex);
    if (set_old) {
        struct timespec t[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
        assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    }
    assert_int_equal(stat(path, &st), 0);
    return st.st_mtime;
}

/* A level set back to a state one of the last commits made takes that state's blob and trees
 * from the store's memory: nothing hashed or rebuilt, the stored objects not even touched
 * (libgit2 sets the time of a loose object it finds stored). Not once main moved other than by
 * the store: an outside reset and `git prune` remove those objects, and a commit that named
 * them from memory would leave main's tree missing. */
static void test_store_memo_not_served_after_outside_move(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s;
    char a[41], b[41], c[41], first[41];
    int st, changed;
    char *out;

    SKIP_WITHOUT_GIT();
    s = make_store(f);
    assert_int_equal(engine_store_head(s, first, NULL), 0);
    commit1(s, "state/levels", "web: critical\n", a);
    commit1(s, "state/levels", initial[1].data, b);
    assert_int_equal(object_mtime(f->dir, "HEAD~1:state/levels", 1), 1000000000);
    assert_int_equal(object_mtime(f->dir, "HEAD~1^{tree}", 1), 1000000000);
    commit1(s, "state/levels", "web: critical\n", c);
    out = git_run(&st, f->dir, "rev-parse %s^{tree} %s^{tree}", a, c);
    assert_int_equal(st, 0);
    assert_memory_equal(out, out + 41, 40);
    free(out);
    assert_int_equal(object_mtime(f->dir, "HEAD:state/levels", 0), 1000000000);
    assert_int_equal(object_mtime(f->dir, "HEAD^{tree}", 0), 1000000000);
    commit1(s, "state/levels", initial[1].data, b);
    assert_git_fsck(f->dir);

    /* main reset to the first commit outside, the level writes' objects pruned. */
    free(git_run(&st, f->dir, "reset -q --hard %s", first));
    assert_int_equal(st, 0);
    assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
    assert_true(changed);
    free(git_run(&st, f->dir, "prune --expire=now"));
    assert_int_equal(st, 0);
    free(git_run(&st, f->dir, "cat-file -e %s^{tree}", a));
    assert_int_not_equal(st, 0);

    commit1(s, "state/levels", "web: critical\n", c);
    free(git_run(&st, f->dir, "cat-file -e %s^{tree}:state/levels", c));
    assert_int_equal(st, 0);
    assert_read(s, "state/levels", "web: critical\n");
    assert_git_clean(f->dir);
    assert_git_fsck(f->dir);
    engine_store_free(s);
}

/* main's tree is remembered after a level write, for the next one not to read main's commit: not
 * after an outside commit on top, whose file the next level write keeps. */
static void test_store_head_tree_not_kept_after_outside_commit(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s;
    char a[41], b[41], *out;
    int st, changed;

    SKIP_WITHOUT_GIT();
    s = make_store(f);
    commit1(s, "state/levels", "web: critical\n", a);
    write_file(f->dir, "outside", "an operator's file\n");
    free(git_run(&st, f->dir, "add outside"));
    assert_int_equal(st, 0);
    free(git_run(&st, f->dir, "-c user.name=op -c user.email=op@example.org commit -q -m out"));
    assert_int_equal(st, 0);
    assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
    assert_true(changed);

    commit1(s, "state/levels", initial[1].data, b);
    out = git_run(&st, f->dir, "show %s:outside", b);
    assert_int_equal(st, 0);
    assert_string_equal(out, "an operator's file\n");
    free(out);
    out = git_run(&st, f->dir, "log --format=%%s -3 %s", b);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "out\n"));
    free(out);
    assert_git_clean(f->dir);
    assert_git_fsck(f->dir);
    engine_store_free(s);
}

static void test_store_worktree_changes_and_restore(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_wtchange *v;
    struct engine_diag d;
    char path[8192], id[41];
    size_t n;

    assert_int_equal(engine_store_worktree_changes(s, &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(v);

    write_file(f->dir, "topology.yaml", "broken: [\n");
    write_file(f->dir, "notes", "operator notes\n");
    snprintf(path, sizeof(path), "%s/policy/acl", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(engine_store_worktree_changes(s, &v, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].path, "notes");
    assert_int_equal(v[0].kind, ENGINE_STORE_WT_ADDED);
    assert_string_equal(v[1].path, "policy/acl");
    assert_int_equal(v[1].kind, ENGINE_STORE_WT_DELETED);
    assert_string_equal(v[2].path, "topology.yaml");
    assert_int_equal(v[2].kind, ENGINE_STORE_WT_MODIFIED);
    engine_store_wtchanges_free(v, n);

    /* A commit does not overwrite a hand edit of the same file. */
    engine_diag_init(&d);
    assert_int_equal(engine_store_commit(s, &initial[0], 1, &alice, "m", id, &d), -EBUSY);
    assert_non_null(strstr(d.v[0].msg, "topology.yaml"));
    engine_diag_free(&d);
    /* Other files still commit. */
    commit1(s, "state/levels", "web: critical\n", id);

    assert_int_equal(engine_store_restore(s, "topology.yaml", NULL), 0);
    assert_file(f->dir, "topology.yaml", initial[0].data);
    assert_int_equal(engine_store_restore(s, "policy/acl", NULL), 0);
    assert_file(f->dir, "policy/acl", initial[2].data);
    assert_int_equal(engine_store_restore(s, "notes", NULL), 0);
    assert_file(f->dir, "notes", NULL);
    assert_int_equal(engine_store_worktree_changes(s, &v, &n, NULL), 0);
    assert_int_equal(n, 0);

    /* A hand edit that the daemon accepts is committed like any write. */
    write_file(f->dir, "topology.yaml", "valid: edit\n");
    assert_int_equal(engine_store_worktree_changes(s, &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    engine_store_wtchanges_free(v, n);
    assert_int_equal(engine_store_commit(s, &initial[0], 1, &alice, "m", id, &d), -EBUSY);
    engine_diag_free(&d);
    assert_int_equal(engine_store_restore(s, "topology.yaml", NULL), 0);
    commit1(s, "topology.yaml", "valid: edit\n", id);
    assert_file(f->dir, "topology.yaml", "valid: edit\n");
    if (have_git())
        assert_git_clean(f->dir);
    engine_store_free(s);
}

/* A commit tells a clean path from its index entry and stat, but never takes an edit for
 * clean: an edit in place of the same size made at once (within the clock tick of the last
 * commit, its modification time put back), or a staged change whose work-tree file is back to
 * main's content, is refused as before; an untouched path commits. */
static void test_store_commit_sees_edits_the_stat_hides(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"state/levels", TEXT("web: default\n"), 0};
    char path[8192], id[41];
    struct timespec times[2];
    struct stat st;
    int fd, status;

    commit1(s, "state/levels", "web: critical\n", id);
    snprintf(path, sizeof(path), "%s/state/levels", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true((fd = open(path, O_WRONLY)) >= 0);
    assert_int_equal(pwrite(fd, "web: crItical\n", 14, 0), 14);
    assert_int_equal(close(fd), 0);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, NULL), -EBUSY);
    assert_file(f->dir, "state/levels", "web: crItical\n");
    /* Put back by hand (git's checkout, too, takes the file for unchanged from its stat). */
    write_file(f->dir, "state/levels", "web: critical\n");
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, NULL), 0);
    assert_file(f->dir, "state/levels", "web: default\n");
    if (!have_git())
        goto out;
    /* Staged, then the file put back: the index is not main's. */
    write_file(f->dir, "state/levels", "web: staged\n");
    free(git_run(&status, f->dir, "add state/levels"));
    assert_int_equal(status, 0);
    write_file(f->dir, "state/levels", "web: default\n");
    c.data = "web: critical\n";
    c.len = strlen(c.data);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, NULL), -EBUSY);
out:
    engine_store_free(s);
}

/* A hand edit committed as it is: the work-tree file is never rewritten (same inode, same
 * modification time), the index follows, git sees a clean tree; an edit made again since it
 * was read is refused; a removal is taken too. */
static void test_store_commit_from_worktree_keeps_the_file(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"topology.yaml", TEXT("valid: edit\n"), 0, 1};
    struct engine_store_change gone = {"policy/acl", NULL, 0, 1, 1};
    struct engine_store_wtchange *v;
    struct stat before, after;
    struct engine_diag d;
    char path[8192], id[41];
    size_t n;

    snprintf(path, sizeof(path), "%s/topology.yaml", f->dir);
    write_file(f->dir, "topology.yaml", "valid: edit\n");
    assert_int_equal(stat(path, &before), 0);
    /* The store would not overwrite the edit with a plain commit... */
    assert_int_equal(engine_store_commit(s, &initial[0], 1, &alice, "m", id, NULL), -EBUSY);
    /* ...and refuses content the file does not hold (it was edited again since). */
    {
        struct engine_store_change stale = {"topology.yaml", TEXT("older: edit\n"), 0, 1};
        engine_diag_init(&d);
        assert_int_equal(engine_store_commit(s, &stale, 1, &alice, "m", id, &d), -EBUSY);
        assert_non_null(strstr(d.v[0].msg, "changed in the work tree since it was read"));
        engine_diag_free(&d);
    }
    assert_int_equal(log_count(s), 1);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "edited", id, NULL), 0);
    assert_int_equal(strlen(id), 40);
    assert_read(s, "topology.yaml", "valid: edit\n");
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_int_equal(engine_store_worktree_changes(s, &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    /* The next plain commit of that path is not refused: the index follows main. */
    commit1(s, "topology.yaml", "next: write\n", id);

    snprintf(path, sizeof(path), "%s/policy/acl", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(engine_store_commit(s, &gone, 1, &alice, "removed", id, NULL), 0);
    assert_int_equal(engine_store_read(s, "policy/acl", &(char *){NULL}, &n, NULL), -ENOENT);
    if (have_git())
        assert_git_clean(f->dir);
    engine_store_free(s);
}

/* The whole index file of the store in DIR (caller frees), *LEN its size. */
static char *index_bytes(const char *dir, size_t *len)
{
    char path[8192], *buf;
    struct stat st;
    int fd;

    snprintf(path, sizeof(path), "%s/.git/index", dir);
    assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_non_null(buf = malloc((size_t)st.st_size + 1));
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* After a hand edit is committed as it is, the index entry carries the file's stat (it had
 * none), so `git status` sees the file unchanged from its stat alone: clean, and nothing to
 * refresh (git status rewrites the index when it had to read a file to know). */
static void test_store_commit_from_worktree_index_has_stat(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"state/levels", TEXT("web: by hand\n"), 0, 1};
    struct timespec past[2];
    git_repository *repo;
    git_index *index;
    const git_index_entry *e;
    struct stat st;
    char path[8192], id[41], *before, *after;
    size_t len, len2;

    SKIP_WITHOUT_GIT();
    snprintf(path, sizeof(path), "%s/state/levels", f->dir);
    write_file(f->dir, "state/levels", "web: by hand\n");
    /* Edited two seconds before the commit: not "racily clean" for a git that compares whole
     * seconds, which would read the file anyway. */
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &past[0]), 0);
    past[0].tv_sec -= 2;
    past[1] = past[0];
    assert_int_equal(utimensat(AT_FDCWD, path, past, 0), 0);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "by hand", id, NULL), 0);
    assert_int_equal(stat(path, &st), 0);

    assert_int_equal(git_repository_open(&repo, f->dir), 0);
    assert_int_equal(git_repository_index(&index, repo), 0);
    assert_non_null(e = git_index_get_bypath(index, "state/levels", 0));
    assert_int_equal(e->mtime.seconds, (int32_t)st.st_mtim.tv_sec);
    assert_int_equal(e->mtime.nanoseconds, (uint32_t)st.st_mtim.tv_nsec);
    assert_int_equal(e->ino, (uint32_t)st.st_ino);
    assert_int_equal(e->file_size, (uint32_t)st.st_size);
    git_index_free(index);
    git_repository_free(repo);

    before = index_bytes(f->dir, &len);
    assert_git_clean(f->dir);
    after = index_bytes(f->dir, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(after, before, len);
    free(before);
    free(after);
    engine_store_free(s);
}

/* A file the store writes itself is in the index with its stat (as git's checkout leaves it),
 * so `git status` need not read it; new directories are made for a new path. */
static void test_store_commit_writes_file_and_index_stat(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    git_repository *repo;
    git_index *index;
    const git_index_entry *e;
    struct stat st;
    char path[8192], id[41];

    SKIP_WITHOUT_GIT();
    commit1(s, "policy/acl.d/web", "regular * GET /x allow\n", id);
    commit1(s, "state/levels", "web: critical\n", id);
    assert_file(f->dir, "policy/acl.d/web", "regular * GET /x allow\n");
    assert_file(f->dir, "state/levels", "web: critical\n");
    snprintf(path, sizeof(path), "%s/state/levels", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(git_repository_open(&repo, f->dir), 0);
    assert_int_equal(git_repository_index(&index, repo), 0);
    assert_non_null(e = git_index_get_bypath(index, "state/levels", 0));
    assert_int_equal(e->mtime.nanoseconds, (uint32_t)st.st_mtim.tv_nsec);
    assert_int_equal(e->ino, (uint32_t)st.st_ino);
    assert_int_equal(e->file_size, (uint32_t)st.st_size);
    git_index_free(index);
    git_repository_free(repo);
    assert_git_clean(f->dir);
    engine_store_free(s);
}

/* The store at INDEX_RACE_DIR (engine_fault() below), once its index is read and changed and not
 * yet written: an operator's `git add` of staged.txt writes the index then (ENGINE_FAULT_INDEX). */
static const char *index_race_dir;

/* An operator's `git add` that writes the index while the store has read and changed it (a
 * level write's commit) is kept: the store reads and changes it again before it writes. */
static void index_race_commit(struct engine_store *s, const char *dir, const char *text)
{
    git_repository *repo;
    git_index *index;
    const git_index_entry *e;
    git_oid want;
    char id[41];

    index_race_dir = dir;
    commit1(s, "state/levels", text, id);
    assert_null(index_race_dir); /* the git add was made */
    assert_int_equal(git_repository_open(&repo, dir), 0);
    assert_int_equal(git_repository_index(&index, repo), 0);
    assert_non_null(git_index_get_bypath(index, "staged.txt", 0));
    assert_non_null(e = git_index_get_bypath(index, "state/levels", 0));
    assert_int_equal(git_odb_hash(&want, text, strlen(text), GIT_OBJECT_BLOB), 0);
    assert_true(git_oid_equal(&e->id, &want));
    git_index_free(index);
    git_repository_free(repo);
}

static void test_store_commit_keeps_index_written_meanwhile(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);

    SKIP_WITHOUT_GIT();
    write_file(f->dir, "staged.txt", "staged by the operator\n");
    index_race_commit(s, f->dir, "web: critical\n");
    /* Written in place now, as a level write is. */
    index_race_commit(s, f->dir, "web: high\n");
    engine_store_free(s);
}

/* A work-tree directory replaced by a link to elsewhere is never followed: the commit is
 * refused (EBUSY, naming the link) before anything is committed, and nothing is written where
 * the link points; once the link is gone the commit goes through. */
static void test_store_commit_does_not_follow_a_linked_directory(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    char out[4200], link[8192], id[41];

    SKIP_WITHOUT_GIT();
    snprintf(out, sizeof(out), "%s/outside", f->tmp);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(link, sizeof(link), "%s/extra", f->dir);
    assert_int_equal(symlink(out, link), 0);
    struct engine_store_change c = {"extra/file", TEXT("x\n"), 0, 0};
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, &d), -EBUSY);
    assert_non_null(strstr(d.v[0].msg, "extra in the work tree is not a directory"));
    engine_diag_free(&d);
    assert_file(f->tmp, "outside/file", NULL);
    {
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(engine_store_read(s, "extra/file", &data, &len, NULL), -ENOENT);
    }
    assert_int_equal(unlink(link), 0);
    commit1(s, "extra/file", "x\n", id);
    assert_file(f->dir, "extra/file", "x\n");
    assert_read(s, "extra/file", "x\n");
    engine_store_free(s);
}

/* A crash after main moved but before the index followed a hand edit (here: another git
 * process holds the index lock) leaves the edit in place; the next open finishes the index
 * from the journal without touching the file. */
static void test_store_commit_from_worktree_finished_after_a_crash(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"state/levels", TEXT("web: edited\n"), 0, 1};
    struct stat before, after;
    char lock[8192], path[8192], id[41];
    int fd;

    snprintf(lock, sizeof(lock), "%s/.git/index.lock", f->dir);
    snprintf(path, sizeof(path), "%s/state/levels", f->dir);
    write_file(f->dir, "state/levels", "web: edited\n");
    assert_int_equal(stat(path, &before), 0);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
    close(fd);
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "edited", id, NULL),
                     ENGINE_STORE_WORKTREE_STALE);
    engine_store_free(s);
    assert_file(f->dir, "state/levels", "web: edited\n");
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_read(s, "state/levels", "web: edited\n");
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    if (have_git())
        assert_git_clean(f->dir);
    commit1(s, "state/levels", "web: critical\n", id);
    engine_store_free(s);
}

static void test_store_foreign_index_lock_finished_later(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_diag d;
    char lock[8192], id[41];
    int changed, fd;

    snprintf(lock, sizeof(lock), "%s/.git/index.lock", f->dir);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
    close(fd);
    {
        struct engine_store_change c = {"state/levels", TEXT("web: critical\n"), 0};
        engine_diag_init(&d);
        assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, &d),
                         ENGINE_STORE_WORKTREE_STALE);
        assert_int_equal(strlen(id), 40);
        assert_true(d.n >= 1);
        engine_diag_free(&d);
    }
    /* The commit itself landed. */
    assert_read(s, "state/levels", "web: critical\n");
    assert_int_equal(log_count(s), 2);
    /* Still locked: the update stays pending. */
    assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), ENGINE_STORE_WORKTREE_STALE);
    assert_int_equal(unlink(lock), 0);
    if (have_git()) {
        /* An operator commits meanwhile: the store neither builds on it nor rewrites the work
         * tree with its old head; refresh finishes the update against the new main. */
        int st;
        char *out;
        write_file(f->dir, "state/levels", "operator: edit\n");
        out = git_run(&st, f->dir, "commit -q -m op -- state/levels");
        assert_int_equal(st, 0);
        free(out);
        {
            struct engine_store_change c = {"state/levels", TEXT("web: paranoid\n"), 0};
            assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, NULL), -EAGAIN);
        }
        assert_file(f->dir, "state/levels", "operator: edit\n");
        assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
        assert_int_equal(changed, 1);
        assert_read(s, "state/levels", "operator: edit\n");
        assert_file(f->dir, "state/levels", "operator: edit\n");
        assert_git_clean(f->dir);
    } else {
        assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
        assert_int_equal(changed, 0);
        assert_file(f->dir, "state/levels", "web: critical\n");
    }
    engine_store_free(s);
}

/* Commits with a foreign index.lock in a child that then exits: the state a crash leaves. */
static void commit_stale_in_child(const char *dir)
{
    pid_t pid;
    int status;

    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        struct engine_store *s;
        struct engine_store_change c = {"state/levels", TEXT("web: critical\n"), 0};
        char id[41];
        if (engine_store_open(&s, dir, NULL) != 0)
            _exit(2);
        _exit(engine_store_commit(s, &c, 1, &alice, "m", id, NULL) == ENGINE_STORE_WORKTREE_STALE
                  ? 0
                  : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A commit syncs what it wrote and no more: a file rewritten in place alone and with
 * fdatasync (its names did not change), a new file with the directories up to the root; the
 * journal is one file, written and marked finished in place. A commit that only rewrites files
 * defers their syncs and the index's (the syncer's delay is long here, so none comes
 * meanwhile): a second one of the same paths syncs the journal alone, which names the commit
 * main moved to (main's ref is synced later too). It used to be 8 fsyncs for either. */
static void test_store_commit_syncs_only_what_changed(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"state/levels", TEXT("web: critical\n"), 0};
    struct engine_store_change add = {"state/extra", TEXT("x\n"), 0};
    int delay = engine_store_sync_delay(600000);
    char id[41];

    commit1(s, "state/levels", "web: high\n", id); /* the journal names state/levels now */
    store_fsyncs = store_fdatasyncs = 0;
    assert_int_equal(engine_store_commit(s, &c, 1, &alice, "m", id, NULL), 0);
    /* fdatasync: the journal naming the new commit (main's ref is not synced) */
    assert_int_equal(store_fsyncs, 0);
    assert_int_equal(store_fdatasyncs, 1);
    store_fsyncs = store_fdatasyncs = 0;
    assert_int_equal(engine_store_commit(s, &add, 1, &alice, "m", id, NULL), 0);
    /* fsync: the deferred state/levels, index, .git, the objects of the two level writes the
     * journal carried (each a commit, a blob and two trees: each file and its directory, then
     * objects/), main's ref and refs/heads (fdatasync: the journal's mark), then the journal
     * (other paths), state/extra, state/, the root, index, .git, the commit's objects (a
     * commit, a blob and two trees, written by the store too, but a new file is not deferred:
     * synced before the commit returns, as its move of main and refs/heads) */
    assert_int_equal(store_fsyncs, 39);
    assert_int_equal(store_fdatasyncs, 1);
    /* A shorter level and a longer one: rewritten in place from the first changed byte. */
    commit1(s, "state/levels", "web: low\n", id);
    assert_file(f->dir, "state/levels", "web: low\n");
    commit1(s, "state/levels", "web: critical and more\n", id);
    assert_file(f->dir, "state/levels", "web: critical and more\n");
    commit1(s, "state/levels", "web: critical\n", id);
    assert_file(f->dir, "state/levels", "web: critical\n");
    assert_file(f->dir, "state/extra", "x\n");
    if (have_git())
        assert_git_clean(f->dir);
    /* No reflog (core.logAllRefUpdates false): its two files cost libgit2 four fsyncs more. */
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/.git/logs/refs/heads/main", f->dir);
        assert_int_equal(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/.git/logs/HEAD", f->dir);
        assert_int_equal(access(path, F_OK), -1);
    }
    engine_store_free(s);
    engine_store_sync_delay(delay);
}

/* A crash can leave a finished update's journal unmarked (the mark is not synced): the reopened
 * store redoes only the paths whose index entry is not main's, so a hand edit made after the
 * update is kept, and a path the crash left behind is finished. */
static void test_store_open_redoes_only_unfinished_paths(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    const struct engine_store_change two[] = {
        {"state/levels", TEXT("web: critical\n"), 0},
        {"state/extra", TEXT("one\n"), 0},
    };
    char path[8192], id[41];
    int fd;

    assert_int_equal(engine_store_commit(s, two, 2, &alice, "m", id, NULL), 0);
    engine_store_free(s);
    /* As if the crash came before the mark reached the disk. */
    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    assert_true((fd = open(path, O_WRONLY)) >= 0);
    assert_int_equal(pwrite(fd, "p", 1, 0), 1);
    assert_int_equal(close(fd), 0);
    write_file(f->dir, "state/levels", "web: edited by hand\n");
    /* ...and as if state/extra's update had not been finished: the index lacks it. */
    snprintf(path, sizeof(path), "%s/state/extra", f->dir);
    assert_int_equal(unlink(path), 0);
    if (have_git()) {
        int st;
        free(git_run(&st, f->dir, "rm -q --cached state/extra"));
        assert_int_equal(st, 0);
    }
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_file(f->dir, "state/levels", "web: edited by hand\n");
    if (have_git())
        assert_file(f->dir, "state/extra", "one\n");
    assert_read(s, "state/levels", "web: critical\n");
    engine_store_free(s);
}

static void test_store_open_after_crash_removes_only_its_locks(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    const struct timespec past[2] = {{1000000000, 0}, {1000000000, 0}};
    char lock[4096];
    int fd;

    engine_store_free(s);
    snprintf(lock, sizeof(lock), "%s/.git/index.lock", f->dir);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
    close(fd);
    assert_int_equal(utimensat(AT_FDCWD, lock, past, 0), 0);
    commit_stale_in_child(f->dir);

    /* A lock older than the dead writer's journal is somebody else's: it stays. */
    assert_int_equal(engine_store_open(&s, f->dir, NULL), ENGINE_STORE_WORKTREE_STALE);
    assert_non_null(s);
    assert_read(s, "state/levels", "web: critical\n");
    engine_store_free(s);
    assert_int_equal(access(lock, F_OK), 0);
    if (have_git()) {
        /* The index still holds the old entry: git sees a difference from main. */
        int st;
        char *out = git_run(&st, f->dir, "status --porcelain");
        assert_non_null(strstr(out, "M state/levels\n"));
        free(out);
    }

    /* A lock made after the journal was left by the dead writer: open removes it and
     * finishes the work tree. */
    assert_int_equal(utimensat(AT_FDCWD, lock, NULL, 0), 0);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_int_equal(access(lock, F_OK), -1);
    assert_file(f->dir, "state/levels", "web: critical\n");
    if (have_git())
        assert_git_clean(f->dir);
    engine_store_free(s);
}

#define THREADS 8
#define PER     25

struct worker {
    struct engine_store *s;
    int no, failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char path[32], data[32], msg[64], id[41];
    for (int i = 0; i < PER; i++) {
        struct engine_store_change c = {path, data, 0, 0};
        snprintf(path, sizeof(path), "threads/t%d", w->no);
        c.len = (size_t)snprintf(data, sizeof(data), "%d\n", i);
        snprintf(msg, sizeof(msg), "thread %d commit %d", w->no, i);
        if (engine_store_commit(w->s, &c, 1, &alice, msg, id, NULL) != 0 || strlen(id) != 40)
            w->failures++;
    }
    return NULL;
}

struct reader {
    struct engine_store *s;
    int stop; /* set by the main thread, read with atomics */
    int failures;
    long reads;
};

/* Reads while the writers commit: every read sees a whole file of some commit. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        char *data, id[41];
        size_t len, n = 0;
        if (engine_store_read(r->s, "topology.yaml", &data, &len, NULL) != 0 ||
            len != initial[0].len || memcmp(data, initial[0].data, len) != 0)
            r->failures++;
        free(data);
        if (engine_store_head(r->s, id, NULL) != 0 || strlen(id) != 40 ||
            engine_store_log(r->s, 3, count_cb, &n, NULL) != 0 || n == 0)
            r->failures++;
        r->reads++;
    }
    return NULL;
}

static void test_store_concurrent_commits_all_land(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct worker w[THREADS];
    struct reader r = {s, 0, 0, 0};
    pthread_t t[THREADS], rt;

    assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(rt, NULL), 0);
    assert_int_equal(r.failures, 0);
    assert_true(r.reads > 0);
    assert_int_equal(log_count(s), 1 + THREADS * PER);
    for (int i = 0; i < THREADS; i++) {
        char path[32], want[32];
        snprintf(path, sizeof(path), "threads/t%d", i);
        snprintf(want, sizeof(want), "%d\n", PER - 1);
        assert_read(s, path, want);
    }
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    engine_store_free(s);
}

static void test_store_author_from_uid(void **state)
{
    struct engine_store_author_buf b;
    uid_t unknown = 3999999;
    (void)state;

    assert_int_equal(engine_store_author_from_uid(&b, 0), 0);
    assert_ptr_equal(b.author.name, b.name);
    assert_string_equal(b.author.name, "root");
    assert_true(strncmp(b.author.email, "root@", 5) == 0);
    assert_true(strlen(b.author.email) > 5);

    while (getpwuid(unknown) != NULL)
        unknown++;
    assert_int_equal(engine_store_author_from_uid(&b, unknown), 0);
    {
        char want[64];
        snprintf(want, sizeof(want), "uid-%lu", (unsigned long)unknown);
        assert_string_equal(b.author.name, want);
        assert_true(strncmp(b.author.email, want, strlen(want)) == 0);
        assert_int_equal(b.author.email[strlen(want)], '@');
    }
}

/* Child of the kill test: commits in a loop and reports each id once it is returned. */
static void kill_child(const char *dir, int fd)
{
    struct engine_store *s;
    char line[42], data[64];
    if (engine_store_open(&s, dir, NULL) != 0)
        _exit(2);
    for (int i = 0; i < 100000; i++) {
        /* The pid makes every round's contents new, so every commit changes the tree. */
        int n = snprintf(data, sizeof(data), "web: level-%d-%ld\n", i, (long)getpid());
        const struct engine_store_change c[] = {
            {"state/levels", data, (size_t)n, 0},
            {i % 2 ? "state/odd" : "state/even", data, (size_t)n, 0},
        };
        if (engine_store_commit(s, c, 2, &alice, "loop", line, NULL) != 0 || strlen(line) != 40)
            _exit(3);
        line[40] = '\n';
        /* 41 bytes: below PIPE_BUF, so the parent gets whole ids only. */
        if (write(fd, line, 41) != 41)
            _exit(4);
    }
    _exit(0);
}

/* The journal at PATH names an unfinished update (not empty, not marked finished). */
static int journal_pending(const char *path)
{
    char c = 0;
    int fd = open(path, O_RDONLY);
    int pending = fd >= 0 && read(fd, &c, 1) == 1 && c != '#';

    if (fd >= 0)
        close(fd);
    return pending;
}

/* Set in a child: killed at engine/fault.h's main-lock point (engine_fault() below), as kill -9
 * would. */
static int main_lock_kill;

/* Killed once main's lock is taken by renaming the spare and before it is written (it still
 * has the spare's old modification time, older than the crashed commit's journal), the store
 * opened again takes the lock for its crashed writer's, removes it and commits on. It used to
 * keep it as somebody else's, and every later commit failed with EAGAIN. */
static void test_store_killed_with_main_locked(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct timespec tick = {0, 50 * 1000000L}; /* past the file system's clock tick */
    char lock[4200], id[41], out[41];
    pid_t pid;
    int status;

    engine_store_free(s);
    snprintf(lock, sizeof(lock), "%s/.git/" ENGINE_STORE_BRANCH ".lock", f->dir);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        if (engine_store_open(&s, f->dir, NULL) != 0)
            _exit(2);
        commit1(s, "state/levels", "web: high\n", id); /* the spare: main's file before */
        nanosleep(&tick, NULL);
        main_lock_kill = 1;
        commit1(s, "state/levels", "web: low\n", id);
        _exit(3); /* not killed */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(access(lock, F_OK), 0);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_int_equal(access(lock, F_OK), -1);
    commit1(s, "state/levels", "web: critical\n", id);
    assert_int_equal(engine_store_head(s, out, NULL), 0);
    assert_string_equal(out, id);
    assert_file(f->dir, "state/levels", "web: critical\n");
    if (have_git())
        assert_git_fsck(f->dir);
    engine_store_free(s);
}

static void test_store_kill9_loses_no_reported_commit(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    engine_store_free(s);
    print_message("kill -9 test seed %u\n", seed);
    srand(seed);
    for (int round = 0; round < 4; round++) {
        char *ids = NULL, buf[4096], id[41];
        size_t len = 0, reported;
        int p[2], status;
        ssize_t r;
        pid_t pid;
        git_repository *repo;
        git_oid main_id, oid;

        assert_int_equal(pipe(p), 0);
        assert_true((pid = fork()) >= 0);
        if (pid == 0) {
            close(p[0]);
            kill_child(f->dir, p[1]);
        }
        close(p[1]);
        usleep((useconds_t)(20000 + rand() % 300000));
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        while ((r = read(p[0], buf, sizeof(buf))) > 0) {
            assert_non_null(ids = realloc(ids, len + (size_t)r + 1));
            memcpy(ids + len, buf, (size_t)r);
            len += (size_t)r;
        }
        close(p[0]);
        assert_int_equal(len % 41, 0);
        reported = len / 41;

        snprintf(buf, sizeof(buf), "%s/.git/unisec-sync", f->dir);
        print_message("round %d: %zu commits reported before the kill%s\n", round, reported,
                      journal_pending(buf) ? ", killed while updating the work tree" : "");
        /* Reopening recovers; every reported commit is on main; git is happy. */
        assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
        assert_int_equal(engine_store_head(s, id, NULL), 0);
        git_libgit2_init();
        assert_int_equal(git_repository_open(&repo, f->dir), 0);
        assert_int_equal(git_oid_fromstr(&main_id, id), 0);
        for (size_t i = 0; i < reported; i++) {
            ids[i * 41 + 40] = '\0';
            assert_int_equal(git_oid_fromstr(&oid, ids + i * 41), 0);
            if (!git_oid_equal(&oid, &main_id) &&
                git_graph_descendant_of(repo, &main_id, &oid) != 1)
                fail_msg("round %d: reported commit %s is not reachable from main", round,
                         ids + i * 41);
        }
        git_repository_free(repo);
        git_libgit2_shutdown();
        if (have_git()) {
            assert_git_fsck(f->dir);
            assert_git_clean(f->dir);
        }
        snprintf(buf, sizeof(buf), "after round %d\n", round);
        commit1(s, "state/after", buf, id);
        engine_store_free(s);
        free(ids);
    }
}

/* The journal's first line, with its boot id replaced by another's when OTHER_BOOT. */
static void journal_set_boot(const char *dir, int other_boot)
{
    char path[4096], buf[4096], *b;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", dir);
    assert_true((fd = open(path, O_RDWR)) >= 0);
    assert_true((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0);
    buf[n] = '\0';
    assert_non_null(b = strstr(buf, " boot "));
    assert_non_null(strstr(buf, " lazy"));
    if (other_boot)
        assert_int_equal(pwrite(fd, b[6] == '0' ? "1" : "0", 1, b + 6 - buf), 1);
    assert_int_equal(close(fd), 0);
}

/* A level write's syncs come later: the journal stays pending (naming the path) until the
 * syncer made the file and the index durable, then it is marked finished; closing the store
 * syncs what is still deferred. */
/* The heap in use, all arenas (0 under a sanitizer's allocator: then only the cache's own
 * count is checked). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* The heap in use once the syncer has made the deferred syncs of the journal at PATH: what
 * it holds while behind (more under load) is not what stays. */
static size_t heap_when_synced(const char *path)
{
    for (int i = 0; i < 6000 && journal_pending(path); i++)
        usleep(10000);
    assert_false(journal_pending(path));
    return heap_in_use();
}

/* The inode of file REL of the store at DIR. */
static ino_t file_ino(const char *dir, const char *rel)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(lstat(path, &st), 0);
    return st.st_ino;
}

/* A level write moves main in the file main's ref was in two moves before (kept under a name
 * git ignores), not in a new one; after an outside move of main, that file is not reused (a
 * crash could leave main at its value, no ancestor of the new main), and git sees one branch
 * and a sound repository throughout. */
static void test_store_main_file_reused(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    char id[41], out[41];
    ino_t a, b;
    int st, changed;

    commit1(s, "state/levels", "web: high\n", id);
    a = file_ino(f->dir, ".git/refs/heads/main");
    commit1(s, "state/levels", "web: low\n", id);
    b = file_ino(f->dir, ".git/refs/heads/main");
    assert_true(a != b);
    assert_int_equal(file_ino(f->dir, ".git/unisec-main-spare"), a);
    commit1(s, "state/levels", "web: high\n", id);
    assert_int_equal(file_ino(f->dir, ".git/refs/heads/main"), a);
    assert_int_equal(file_ino(f->dir, ".git/unisec-main-spare"), b);
    assert_int_equal(engine_store_head(s, out, NULL), 0);
    assert_string_equal(out, id);
    if (have_git()) {
        char *refs = git_run(&st, f->dir, "for-each-ref '--format=%(refname)'");
        assert_string_equal(refs, "refs/heads/main\n");
        free(refs);
        assert_git_fsck(f->dir);
        /* An outside commit moves main: the spare (main's value two moves before) stays unused. */
        free(git_run(&st, f->dir,
                     "-c user.name=o -c user.email=o@example.org commit -q --allow-empty -m o"));
        assert_int_equal(st, 0);
        assert_int_equal(engine_store_refresh(s, &changed, NULL, NULL), 0);
        assert_true(changed);
        commit1(s, "state/levels", "web: low\n", id);
        assert_true(file_ino(f->dir, ".git/refs/heads/main") != b);
        assert_int_equal(engine_store_head(s, out, NULL), 0);
        assert_string_equal(out, id);
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    engine_store_free(s);
}

/* An operator turns the reflog on while the store is open: from the next level write on,
 * the store no longer moves main itself (the journal names no commit for main), as it reads
 * its configuration live and sees it changed. (libgit2 itself keeps the setting it read
 * first: it writes no reflog until the store is opened again.) */
static void test_store_reflog_turned_on_while_open(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s;
    char id[41], path[4096], line[512];
    FILE *fp;
    int st;

    SKIP_WITHOUT_GIT();
    s = make_store(f);
    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    commit1(s, "state/levels", "web: high\n", id);
    assert_non_null(fp = fopen(path, "r"));
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    assert_non_null(strstr(line, " main "));
    free(git_run(&st, f->dir, "config core.logAllRefUpdates true"));
    assert_int_equal(st, 0);
    commit1(s, "state/levels", "web: low\n", id);
    commit1(s, "state/other", "x\n", id);
    commit1(s, "state/other", "y\n", id);
    assert_non_null(fp = fopen(path, "r"));
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    assert_null(strstr(line, " main "));
    engine_store_free(s);
}

/* Level writes of ever new levels (each a new blob and new trees): libgit2's object cache
 * serves the head's trees, and stays within its bound, so that the heap stays flat once it
 * is full. */
static void test_store_object_cache_bounded(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    int delay = engine_store_sync_delay(5);
    ssize_t cached = 0, allowed = 0;
    size_t h1 = 0, h2;
    char id[41], data[64], path[4096];

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    for (int i = 0; i < 900; i++) {
        snprintf(data, sizeof(data), "web: level-%d\n", i);
        commit1(s, "state/levels", data, id);
        if (i == 299)
            h1 = heap_when_synced(path);
    }
    h2 = heap_when_synced(path);
    assert_int_equal(git_libgit2_opts(GIT_OPT_GET_CACHED_MEMORY, &cached, &allowed), 0);
    print_message("object cache %zd of %zd bytes; heap %zu -> %zu bytes over 600 writes\n", cached,
                  allowed, h1, h2);
    assert_int_equal(allowed, 32 * 1024);
    assert_true(cached > 0); /* the trees a write reads come from memory */
    assert_true(cached <= allowed);
    assert_true(h2 < h1 + 64 * 1024);
    assert_file(f->dir, "state/levels", "web: level-899\n");
    engine_store_free(s);
    engine_store_sync_delay(delay);
}

static void test_store_level_write_synced_later(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    int delay = engine_store_sync_delay(600000);
    char id[41], path[4096];

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    commit1(s, "state/levels", "web: high\n", id);
    commit1(s, "state/levels", "web: low\n", id);
    assert_true(journal_pending(path));
    assert_file(f->dir, "state/levels", "web: low\n");
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    store_fsyncs = store_fdatasyncs = 0;
    engine_store_free(s);
    assert_false(journal_pending(path));
    /* fsync: state/levels, index, .git, the two commits and their blobs and trees (8 objects:
     * each file and its directory, then objects/), main's ref, refs/heads; fdatasync: the
     * journal's mark */
    assert_int_equal(store_fsyncs, 22);
    assert_int_equal(store_fdatasyncs, 1);
    /* A short delay: the syncer marks it finished on its own (waited for, up to a minute). */
    engine_store_sync_delay(1);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    commit1(s, "state/levels", "web: high\n", id);
    for (int i = 0; i < 6000 && journal_pending(path); i++)
        usleep(10000);
    assert_false(journal_pending(path));
    assert_file(f->dir, "state/levels", "web: high\n");
    engine_store_free(s);
    engine_store_sync_delay(delay);
}

/* The next SYNC_FAULTS deferred syncs fail (engine/fault.h's point, in place of the product's
 * engine_fault()). */
static int sync_faults;

static void index_race_git_add(void)
{
    git_repository *repo;
    git_index *index;

    assert_int_equal(git_repository_open(&repo, index_race_dir), 0);
    assert_int_equal(git_repository_index(&index, repo), 0);
    assert_int_equal(git_index_read(index, 1), 0);
    assert_int_equal(git_index_add_bypath(index, "staged.txt"), 0);
    assert_int_equal(git_index_write(index), 0);
    git_index_free(index);
    git_repository_free(repo);
    index_race_dir = NULL;
}

int engine_fault(const char *point)
{
    if (strcmp(point, ENGINE_FAULT_INDEX) == 0 && index_race_dir != NULL)
        index_race_git_add();
    if (strcmp(point, ENGINE_FAULT_MAIN_LOCK) == 0 && main_lock_kill)
        raise(SIGKILL);
    return strcmp(point, ENGINE_FAULT_SYNC) == 0 &&
           __atomic_sub_fetch(&sync_faults, 1, __ATOMIC_RELAXED) >= 0;
}

/* What the syncer reported (engine_store_on_sync()). */
struct sync_reports {
    pthread_mutex_t mu;
    int failed, recovered, error;
    char why[512];
};

static void sync_report(int error, const char *why, void *arg)
{
    struct sync_reports *r = arg;

    pthread_mutex_lock(&r->mu);
    if (error < 0) {
        r->failed++;
        r->error = error;
        snprintf(r->why, sizeof(r->why), "%s", why);
    } else {
        assert_null(why);
        r->recovered++;
    }
    pthread_mutex_unlock(&r->mu);
}

static int sync_recovered(struct sync_reports *r)
{
    int n;

    pthread_mutex_lock(&r->mu);
    n = r->recovered;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* A deferred sync that fails is counted at each attempt and reported once, with the file and
 * the reason; the journal stays pending and the syncer tries again, and says once that its
 * syncs work again. Without a receiver, only the count moves. */
static void test_store_failed_deferred_sync_reported(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct sync_reports r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int delay = engine_store_sync_delay(1);
    char id[41], path[4096];

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    engine_store_on_sync(s, sync_report, &r);
    __atomic_store_n(&sync_faults, 3, __ATOMIC_RELAXED);
    commit1(s, "state/levels", "web: high\n", id);
    for (int i = 0; i < 6000 && sync_recovered(&r) == 0; i++)
        usleep(10000);
    pthread_mutex_lock(&r.mu);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.recovered, 1);
    assert_int_equal(r.error, -EIO);
    assert_non_null(strstr(r.why, "syncing state/levels: Input/output error"));
    pthread_mutex_unlock(&r.mu);
    assert_int_equal(engine_store_sync_failures(s), 3);
    assert_false(journal_pending(path));

    engine_store_on_sync(s, NULL, NULL);
    __atomic_store_n(&sync_faults, 1, __ATOMIC_RELAXED);
    commit1(s, "state/levels", "web: low\n", id);
    for (int i = 0; i < 6000 && (journal_pending(path) || engine_store_sync_failures(s) < 4); i++)
        usleep(10000);
    assert_false(journal_pending(path));
    assert_int_equal(engine_store_sync_failures(s), 4);
    assert_int_equal(r.failed, 1);
    assert_file(f->dir, "state/levels", "web: low\n");
    engine_store_free(s);
    engine_store_sync_delay(delay);
}

/* A refresh that finds main where the store left it (the mount's watcher refreshes after each
 * of its own commits) leaves the deferred syncs to the syncer; one that finds main moved from
 * outside makes them first, and the outside change's files are then the store's. */
static void test_store_refresh_keeps_deferred_syncs(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    int delay = engine_store_sync_delay(600000), changed, st;
    char id[41], path[4096];

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    commit1(s, "state/levels", "web: high\n", id);
    assert_int_equal(engine_store_refresh(s, &changed, id, NULL), 0);
    assert_int_equal(changed, 0);
    assert_true(journal_pending(path));
    if (have_git()) {
        free(git_run(&st, f->dir,
                     "-c user.name=o -c user.email=o@example.org commit -q "
                     "--allow-empty -m outside"));
        assert_int_equal(st, 0);
        assert_int_equal(engine_store_refresh(s, &changed, id, NULL), 0);
        assert_int_equal(changed, 1);
        assert_false(journal_pending(path));
        commit1(s, "state/levels", "web: low\n", id);
        assert_git_clean(f->dir);
    }
    engine_store_free(s);
    assert_false(journal_pending(path));
    engine_store_sync_delay(delay);
}

/* A child commits a level with its syncs deferred and dies (kill -9: the page cache keeps
 * what it wrote). BOOT: as if the machine had crashed instead (the journal's boot id is
 * another), with the file's new content lost while the index's reached the disk. */
static void crash_deferred(struct fixture *f, const char *level, int other_boot)
{
    struct engine_store *s;
    int status;
    pid_t pid;

    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        char id[41];
        struct engine_store_change c = {"state/levels", level, strlen(level), 0};
        engine_store_sync_delay(600000);
        if (engine_store_open(&s, f->dir, NULL) != 0 ||
            engine_store_commit(s, &c, 1, &alice, "m", id, NULL) != 0)
            _exit(3);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    journal_set_boot(f->dir, other_boot);
    /* The file as the disk may hold it: its old content (after a crash of the machine), or an
     * operator's edit made since (after a crash of the daemon). */
    write_file(f->dir, "state/levels", "web: default\n");
}

/* After a crash of the daemon, a pending deferred update is finished by its index entries, so
 * an edit made since is kept; after a crash of the machine (another boot), the file's content
 * is compared too, and what the disk lost is written again. Main holds the commit either way. */
static void test_store_open_after_machine_crash_rewrites_deferred_files(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);

    engine_store_free(s);
    crash_deferred(f, "web: critical\n", 0);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_file(f->dir, "state/levels", "web: default\n"); /* an edit since: kept */
    assert_read(s, "state/levels", "web: critical\n");
    engine_store_free(s);
    write_file(f->dir, "state/levels", "web: critical\n");
    crash_deferred(f, "web: high\n", 1);
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_file(f->dir, "state/levels", "web: high\n");
    assert_read(s, "state/levels", "web: high\n");
    engine_store_free(s);
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
}

/* A child makes two level commits whose moves of main are not synced (the second of the same
 * paths: the journal's first line alone names its commit) and dies without syncing them; ID
 * gets the last commit's id. */
static void crash_level_commits(struct fixture *f, char id[41])
{
    int status, fd[2];
    pid_t pid;

    assert_int_equal(pipe(fd), 0);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        struct engine_store *s;
        struct engine_store_change a = {"state/levels", TEXT("web: high\n"), 0};
        struct engine_store_change b = {"state/levels", TEXT("web: low\n"), 0};
        engine_store_sync_delay(600000);
        if (engine_store_open(&s, f->dir, NULL) != 0 ||
            engine_store_commit(s, &a, 1, &alice, "m", id, NULL) != 0 ||
            engine_store_commit(s, &b, 1, &alice, "m", id, NULL) != 0 || write(fd[1], id, 40) != 40)
            _exit(3);
        _exit(0);
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], id, 40), 40);
    id[40] = '\0';
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The ref file of main holding TEXT, as the disk may after a crash. */
static void set_main_file(const char *dir, const char *text)
{
    write_file(dir, ".git/refs/heads/main", text);
}

/* A crash after two level writes (their commit ID), of the machine when OTHER_BOOT, after which
 * main's ref file holds MAIN (a commit id, or NULL: an empty file); then the store opened: its
 * head in NOW, the store left open in *S. */
static void crash_then_open(struct fixture *f, struct engine_store **s, int other_boot,
                            const char *main, char id[41], char now[41])
{
    char line[42];

    crash_level_commits(f, id);
    journal_set_boot(f->dir, other_boot);
    snprintf(line, sizeof(line), "%s%s", main ? main : "", main ? "\n" : "");
    set_main_file(f->dir, line);
    assert_int_equal(engine_store_open(s, f->dir, NULL), 0);
    assert_int_equal(engine_store_head(*s, now, NULL), 0);
}

/* A level write's move of main is not synced; the journal, synced, names the commit instead.
 * After a crash of the machine that lost the move (main's old commit on disk, or an empty ref
 * file), opening the store moves main to that commit; the work tree follows. After a crash of
 * the daemon alone, main on disk is right (the page cache kept the move): a main set back by
 * hand since stays where it was set. A journal that names an ancestor of main changes nothing. */
static void test_store_open_after_machine_crash_recovers_main(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    char before[41], id[41], now[41];

    assert_int_equal(engine_store_head(s, before, NULL), 0);
    engine_store_free(s);
    /* The move lost: main still the commit before. */
    crash_then_open(f, &s, 1, before, id, now);
    assert_string_equal(now, id);
    assert_file(f->dir, "state/levels", "web: low\n");
    engine_store_free(s);
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    /* The ref's content lost: an empty file. */
    crash_then_open(f, &s, 1, NULL, id, now);
    assert_string_equal(now, id);
    engine_store_free(s);
    /* A crash of the daemon, then main set back by hand: it stays. */
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_int_equal(engine_store_head(s, before, NULL), 0);
    engine_store_free(s);
    crash_then_open(f, &s, 0, before, id, now);
    assert_string_equal(now, before);
    commit1(s, "state/levels", "web: default\n", now);
    engine_store_free(s);
    /* A crash of the machine after which main holds a later commit: it stays. */
    crash_level_commits(f, id);
    journal_set_boot(f->dir, 1);
    if (have_git()) {
        int st;
        free(git_run(&st, f->dir,
                     "-c user.name=o -c user.email=o@example.org commit -q "
                     "--allow-empty -m later"));
        assert_int_equal(st, 0);
        assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
        assert_int_equal(engine_store_head(s, now, NULL), 0);
        assert_string_not_equal(now, id);
        engine_store_free(s);
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
}

/* The objects of KIND ("object": commits; "tree", "blob") the journal at DIR carries (its
 * "KIND ID LEN" records, after its end line), into IDS (at most MAX); their count. */
static int journal_records(const char *dir, const char *kind, char ids[][41], int max)
{
    char path[4096], *buf, *p, *end;
    size_t k = strlen(kind);
    struct stat st;
    int fd, n = 0;

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", dir);
    assert_true((fd = open(path, O_RDONLY)) >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_non_null(buf = calloc(1, (size_t)st.st_size + 1));
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    end = buf + st.st_size;
    assert_non_null(p = strstr(buf, "\nend\n"));
    for (p += 5; p < end && n < max;) {
        char *sp = memchr(p, ' ', (size_t)(end - p)), *nl = memchr(p, '\n', (size_t)(end - p));
        if (sp == NULL || nl == NULL || nl - sp < 42)
            break; /* a record cut short */
        if ((size_t)(sp - p) == k && memcmp(p, kind, k) == 0) {
            memcpy(ids[n], sp + 1, 40);
            ids[n++][40] = '\0';
        }
        p = nl + 1 + strtoul(sp + 42, NULL, 10) + 1;
    }
    free(buf);
    return n;
}

/* The commits the journal at DIR carries, into IDS (at most MAX); their count. */
static int journal_objects(const char *dir, char ids[][41], int max)
{
    return journal_records(dir, "object", ids, max);
}

/* The loose object ID's file in the store at DIR. */
static void object_path(char *buf, size_t size, const char *dir, const char *id)
{
    snprintf(buf, size, "%s/.git/objects/%.2s/%s", dir, id, id + 2);
}

/* A level write's commit object is not synced when written: the journal, synced, carries its
 * bytes until the syncer made it durable. After a crash of the machine that lost the objects
 * (one file left empty, one gone) and main's move, opening the store writes them again from
 * the journal and moves main: git reads the history whole. A record cut short (a crash before
 * the journal's sync) is ignored; after a crash of the daemon, nothing is rewritten. */
static void test_store_open_after_machine_crash_rewrites_commits(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    char before[41], id[41], now[41], ids[4][41], blobs[4][41], trees[4][41], path[8192];
    struct stat st;
    int fd;

    assert_int_equal(engine_store_head(s, before, NULL), 0);
    engine_store_free(s);
    crash_level_commits(f, id);
    assert_int_equal(journal_objects(f->dir, ids, 4), 2);
    assert_string_equal(ids[1], id);
    journal_set_boot(f->dir, 1);
    object_path(path, sizeof(path), f->dir, ids[0]);
    assert_int_equal(truncate(path, 0), 0);
    object_path(path, sizeof(path), f->dir, ids[1]);
    assert_int_equal(unlink(path), 0);
    /* The level writes' blobs and trees, carried too: the last blob empty, its trees gone. */
    assert_int_equal(journal_records(f->dir, "blob", blobs, 4), 2);
    assert_int_equal(journal_records(f->dir, "tree", trees, 4), 4);
    object_path(path, sizeof(path), f->dir, blobs[1]);
    assert_int_equal(truncate(path, 0), 0);
    for (int i = 2; i < 4; i++) {
        object_path(path, sizeof(path), f->dir, trees[i]);
        assert_int_equal(unlink(path), 0);
    }
    {
        char j[4096], torn[] = "object 0123456789012345678901234567890123456789 400\ntree ";
        snprintf(j, sizeof(j), "%s/.git/unisec-sync", f->dir);
        assert_true((fd = open(j, O_WRONLY | O_APPEND)) >= 0);
        assert_int_equal(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
        close(fd);
    }
    {
        char line[42];
        snprintf(line, sizeof(line), "%s\n", before);
        set_main_file(f->dir, line);
    }
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    assert_int_equal(engine_store_head(s, now, NULL), 0);
    assert_string_equal(now, id);
    assert_file(f->dir, "state/levels", "web: low\n");
    for (int i = 0; i < 4; i++) {
        object_path(path, sizeof(path), f->dir, i < 2 ? ids[i] : i == 2 ? blobs[1] : trees[3]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 0);
    }
    commit1(s, "state/levels", "web: high\n", now);
    engine_store_free(s);
    if (have_git()) {
        int status;
        char *out = git_run(&status, f->dir, "rev-list --count main");
        assert_int_equal(status, 0);
        assert_int_equal(atoi(out), 4); /* created, the two level writes, the one since */
        free(out);
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    /* A crash of the daemon: the page cache kept the objects; nothing is written again. */
    crash_level_commits(f, id); /* its first write sets the level already there: no commit */
    journal_set_boot(f->dir, 0);
    assert_int_equal(journal_objects(f->dir, ids, 4), 1);
    object_path(path, sizeof(path), f->dir, ids[0]);
    assert_int_equal(stat(path, &st), 0);
    {
        struct timespec m = st.st_mtim;
        store_fsyncs = 0;
        assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
        /* Nor left unsynced, the journal finished by the open: the commit's file, its
         * directory and objects/, main's ref and refs/heads. */
        assert_int_equal(store_fsyncs, 5);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_mtim.tv_sec == m.tv_sec && st.st_mtim.tv_nsec == m.tv_nsec);
        assert_int_equal(engine_store_head(s, now, NULL), 0);
        assert_string_equal(now, id);
        engine_store_free(s);
    }
    if (have_git())
        assert_git_fsck(f->dir);
}

/* The journal carries the level commits since the last sync only: those of a finished journal
 * are dropped by the next level write, and a pending one adds each after the others. */
static void test_store_journal_carries_unsynced_commits(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    int delay = engine_store_sync_delay(600000);
    char id[41], ids[8][41], path[4096];

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    commit1(s, "state/levels", "web: high\n", id);
    commit1(s, "state/levels", "web: low\n", id);
    commit1(s, "state/levels", "web: high\n", id);
    assert_int_equal(journal_objects(f->dir, ids, 8), 3);
    assert_string_equal(ids[2], id);
    engine_store_free(s); /* syncs them and marks the journal finished */
    assert_false(journal_pending(path));
    assert_int_equal(engine_store_open(&s, f->dir, NULL), 0);
    commit1(s, "state/levels", "web: low\n", id);
    assert_true(journal_pending(path));
    assert_int_equal(journal_objects(f->dir, ids, 8), 1);
    assert_string_equal(ids[0], id);
    engine_store_free(s);
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    engine_store_sync_delay(delay);
}

/* A level write whose commit the journal cannot take whole (here: the file size limit cuts
 * the record short) fails, main stays, and no record cut short is left behind: the next level
 * write's commit is carried after the last whole one and read back. */
static void test_store_journal_record_cut_short_fails(void **state)
{
    struct fixture *f = *state;
    struct engine_store *s = make_store(f);
    struct engine_store_change c = {"state/levels", TEXT("web: low\n"), 0};
    int delay = engine_store_sync_delay(600000), rc;
    char id[41], now[41], ids[4][41], path[4096];
    struct rlimit old, lim;
    struct stat st;
    off_t size;

    snprintf(path, sizeof(path), "%s/.git/unisec-sync", f->dir);
    commit1(s, "state/levels", "web: high\n", id);
    assert_int_equal(stat(path, &st), 0);
    size = st.st_size;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 10;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = engine_store_commit(s, &c, 1, &alice, "m", now, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_true(rc < 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, size);
    assert_int_equal(engine_store_head(s, now, NULL), 0);
    assert_string_equal(now, id);
    commit1(s, "state/levels", "web: low\n", now);
    assert_int_equal(journal_objects(f->dir, ids, 4), 2);
    assert_string_equal(ids[0], id);
    assert_string_equal(ids[1], now);
    engine_store_free(s);
    if (have_git()) {
        assert_git_clean(f->dir);
        assert_git_fsck(f->dir);
    }
    engine_store_sync_delay(delay);
}

/* A batch of syncs (store_sync.c, run by several threads at once) syncs every path it was given,
 * each once, a missing one without an error; a path that cannot be opened fails the batch,
 * which names it, and the others are synced still. */
static void test_store_sync_batch(void **state)
{
    struct fixture *f = *state;
    struct store_sync b = {0};
    unsigned long before;

    assert_int_equal(mkdir(f->dir, 0755), 0);
    for (int i = 0; i < 40; i++) {
        char rel[16];
        snprintf(rel, sizeof(rel), "f%d", i);
        write_file(f->dir, rel, "x\n");
        assert_int_equal(store_sync_add(&b, "%s/%s", f->dir, rel), 0);
    }
    assert_int_equal(store_sync_add(&b, "%s/missing", f->dir), 0);
    assert_int_equal(store_sync_add(&b, "%s", f->dir), 0);
    before = __atomic_load_n(&store_fsyncs, __ATOMIC_RELAXED);
    assert_int_equal(store_sync_run(&b), 0);
    assert_int_equal(__atomic_load_n(&store_fsyncs, __ATOMIC_RELAXED) - before, 41);
    store_sync_free(&b);
    assert_int_equal(b.n, 0);

    assert_int_equal(store_sync_add(&b, "%s/f1", f->dir), 0);
    assert_int_equal(store_sync_add(&b, "%s/f3/under-a-file", f->dir), 0);
    assert_int_equal(store_sync_add(&b, "%s/f2", f->dir), 0);
    before = __atomic_load_n(&store_fsyncs, __ATOMIC_RELAXED);
    assert_int_equal(store_sync_run(&b), -ENOTDIR);
    assert_string_equal(store_sync_failed(&b, f->dir), "f3/under-a-file");
    assert_int_equal(__atomic_load_n(&store_fsyncs, __ATOMIC_RELAXED) - before, 2);
    store_sync_free(&b);
    /* One path: synced by the caller's thread alone. */
    assert_int_equal(store_sync_add(&b, "%s/f0", f->dir), 0);
    assert_int_equal(store_sync_run(&b), 0);
    store_sync_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_init_then_open, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_nested_paths_with_author, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_unchanged_makes_no_commit, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_invalid_paths_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_worktree_matches_head, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_refresh_notices_external_revert, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_worktree_changes_and_restore, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_sees_edits_the_stat_hides, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_from_worktree_keeps_the_file,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_from_worktree_index_has_stat,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_from_worktree_finished_after_a_crash,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_foreign_index_lock_finished_later, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_keeps_index_written_meanwhile,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_writes_file_and_index_stat, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_does_not_follow_a_linked_directory,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_commit_syncs_only_what_changed, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_open_redoes_only_unfinished_paths, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_open_after_crash_removes_only_its_locks,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_commits_all_land, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_store_author_from_uid),
        cmocka_unit_test_setup_teardown(test_store_failed_deferred_sync_reported, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_main_file_reused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_reflog_turned_on_while_open, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_object_cache_bounded, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_level_write_synced_later, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_refresh_keeps_deferred_syncs, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_open_after_machine_crash_rewrites_deferred_files,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_open_after_machine_crash_rewrites_commits,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_journal_carries_unsynced_commits, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_journal_record_cut_short_fails, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_open_after_machine_crash_recovers_main,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_sync_batch, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_memo_not_served_after_outside_move,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_head_tree_not_kept_after_outside_commit,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_killed_with_main_locked, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_kill9_loses_no_reported_commit, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
