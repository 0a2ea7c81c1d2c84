/* test_fs_record.c — the orchestrator's deployment records, committed by the mount
 * (fs_apply_record()) on the host's own ref, refs/unisec/deployed/HOST, each on the previous
 * one, never on main: beside an outside commit on main, after another git process drops the
 * ref's lock, and, when the lock stays, reported in events. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/fs_int.h"
#include "orch/orch.h"

static char tmp[4096], dir[4200];

static int setup(void **state)
{
    const char *t = getenv("TMPDIR");
    (void)state;
    snprintf(tmp, sizeof(tmp), "%s/unisec-fs-record-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(dir, sizeof(dir), "%s/store", tmp);
    return 0;
}

static int teardown(void **state)
{
    char cmd[4300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd);
}

/* A new store (`unisec init` of the paper's topology) served by C as a mount would serve it,
 * without FUSE and without an orchestrator. */
static void ctx_open(struct fs_ctx *c)
{
    char cmd[8800];
    const char *u = getenv("UNISEC");

    if (u == NULL || system("git --version >/dev/null 2>&1") != 0)
        skip();
    snprintf(cmd, sizeof(cmd),
             "rm -rf '%s' && '%s' init '%s' --from mount-examples/paper.yaml --policy-dir "
             "mount-examples/policy >/dev/null",
             dir, u, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fs_ctx_open(c, dir, ENGINE_TARGET_HVT, "test"), 0);
}

static void ctx_close(struct fs_ctx *c)
{
    fs_ctx_close(c);
}

/* How many lines of C's events hold WHAT. */
static int events_count(const struct fs_ctx *c, const char *what)
{
    int n = 0;
    for (const char *p = c->events.buf; p != NULL && (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

/* The record file of HOST's last record reads WANT; ID (may be NULL) gets its commit. */
static void assert_record(struct fs_ctx *c, const char *host, const char *want, char *id)
{
    char *data, at[41];
    size_t len;
    assert_int_equal(fs_record_last(c->store, host, &data, &len, at, NULL), 0);
    assert_string_equal(data, want);
    if (id != NULL)
        memcpy(id, at, 41);
    free(data);
}

struct head {
    char author[256], summary[256], parent[41];
    int n;
};

static int head_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct head *h = arg;
    if (h->n++ == 0) {
        snprintf(h->author, sizeof(h->author), "%s", info->author_name);
        snprintf(h->summary, sizeof(h->summary), "%s", info->summary);
        memcpy(h->parent, info->parent, sizeof(h->parent));
    }
    return 0;
}

/* main's commits, counted. */
static int main_commits(struct fs_ctx *c)
{
    struct head h = {.n = 0};
    assert_int_equal(engine_store_log(c->store, SIZE_MAX, head_cb, &h, NULL), 0);
    return h.n;
}

static void test_fs_record_is_a_commit_on_the_hosts_ref(void **state)
{
    struct fs_ctx c;
    struct head h = {.n = 0};
    char first[41], second[41], *data;
    size_t len;
    int n;

    (void)state;
    ctx_open(&c);
    n = main_commits(&c);
    assert_int_equal(
        fs_apply_record(&c, "web", "web image=x\n", 12, "deploy: web\n\nbody\n", NULL, 0), 0);
    assert_record(&c, "local", "web image=x\n", first);
    assert_int_equal(
        fs_apply_record(&c, "web", "web image=y\n", 12, "deploy: web again", "PATCH\0bytes", 11),
        0);
    assert_record(&c, "local", "web image=y\n", second);
    /* With a patch, the record holds it beside state/deployed; without, it holds none. */
    assert_int_equal(engine_store_read_at(c.store, second, ORCH_RECORD_PATCH, &data, &len, NULL),
                     0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "PATCH\0bytes", 11);
    free(data);
    assert_int_equal(engine_store_read_at(c.store, first, ORCH_RECORD_PATCH, &data, &len, NULL),
                     -ENOENT);
    /* The second record's parent is the first, by the daemon; main has neither. */
    assert_int_equal(engine_store_log_from(c.store, second, SIZE_MAX, head_cb, &h, NULL), 0);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.author, "unisec");
    assert_string_equal(h.summary, "deploy: web again");
    assert_string_equal(h.parent, first);
    assert_int_equal(main_commits(&c), n);
    assert_int_equal(engine_store_read(c.store, FS_DEPLOYED_PATH, &data, &len, NULL), -ENOENT);
    assert_int_equal(events_count(&c, "web: deployment recorded as commit"), 2);
    assert_int_equal(events_count(&c, "on refs/unisec/deployed/local"), 2);
    ctx_close(&c);
}

static void test_fs_record_of_a_named_host(void **state)
{
    struct fs_ctx c;
    char *data;
    size_t len;

    (void)state;
    ctx_open(&c);
    c.host_name = "h1";
    assert_int_equal(fs_apply_record(&c, "web", "web image=x\n", 12, "deploy: web", NULL, 0), 0);
    assert_record(&c, "h1", "web image=x\n", NULL);
    assert_int_equal(fs_record_last(c.store, "local", &data, &len, NULL, NULL), -ENOENT);
    /* A host name that cannot name a ref is no record. */
    c.host_name = "../main";
    assert_int_equal(fs_apply_record(&c, "web", "web image=x\n", 12, "deploy: web", NULL, 0),
                     -EINVAL);
    ctx_close(&c);
}

static void test_fs_record_beside_an_outside_commit(void **state)
{
    struct fs_ctx c;
    char cmd[8800], *levels;
    size_t len;
    int n;

    (void)state;
    ctx_open(&c);
    n = main_commits(&c);
    /* An operator commits in the store; the mount has not seen it yet. */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && sed -i 's/^web default$/web critical/' state/levels && git -c "
             "user.name=op -c user.email=op@example.org commit -qam operator",
             dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fs_apply_record(&c, "web", "web image=x\n", 12, "deploy: web", NULL, 0), 0);
    /* The record needs nothing of main: the operator's commit stays main's head, as made. */
    assert_int_equal(events_count(&c, "web: deployment recorded as commit"), 1);
    assert_record(&c, "local", "web image=x\n", NULL);
    assert_int_equal(engine_store_refresh(c.store, &(int){0}, NULL, NULL), 0);
    assert_int_equal(main_commits(&c), n + 1);
    assert_int_equal(engine_store_read(c.store, "state/levels", &levels, &len, NULL), 0);
    assert_non_null(strstr(levels, "web critical\n"));
    free(levels);
    ctx_close(&c);
}

/* Another git process holds the host's ref: its lock file is in LOCK (SIZE bytes). */
static void hold_ref_lock(char *lock, size_t size)
{
    char cmd[4400];
    int fd;

    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/.git/refs/unisec/deployed'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(lock, size, "%s/.git/refs/unisec/deployed/local.lock", dir);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
    close(fd);
}

/* The other git process: done after 100 ms, when the record has been tried a few times
 * (its tries span 620 ms). */
static void *drop_lock(void *arg)
{
    usleep(100000);
    unlink(arg);
    return NULL;
}

static void test_fs_record_after_a_lock_is_dropped(void **state)
{
    struct fs_ctx c;
    char lock[4300];
    pthread_t t;

    (void)state;
    ctx_open(&c);
    hold_ref_lock(lock, sizeof(lock));
    assert_int_equal(pthread_create(&t, NULL, drop_lock, lock), 0);
    assert_int_equal(fs_apply_record(&c, "web", "web image=y\n", 12, "deploy: web", NULL, 0), 0);
    pthread_join(t, NULL);
    assert_record(&c, "local", "web image=y\n", NULL);
    assert_int_equal(events_count(&c, "web: deployment recorded as commit"), 1);
    ctx_close(&c);
}

/* The lock stays: after the tries, events say the deployment was not recorded. */
static void test_fs_record_gives_up(void **state)
{
    struct fs_ctx c;
    char lock[4300], *data;
    size_t len;

    (void)state;
    ctx_open(&c);
    hold_ref_lock(lock, sizeof(lock));
    assert_int_equal(fs_apply_record(&c, "web", "web image=z\n", 12, "deploy: web", NULL, 0),
                     -EAGAIN);
    assert_int_equal(events_count(&c, "web: deployment not recorded in the store: "), 1);
    unlink(lock);
    assert_int_equal(fs_record_last(c.store, "local", &data, &len, NULL, NULL), -ENOENT);
    ctx_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_record_is_a_commit_on_the_hosts_ref),
        cmocka_unit_test(test_fs_record_of_a_named_host),
        cmocka_unit_test(test_fs_record_beside_an_outside_commit),
        cmocka_unit_test(test_fs_record_after_a_lock_is_dropped),
        cmocka_unit_test(test_fs_record_gives_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
