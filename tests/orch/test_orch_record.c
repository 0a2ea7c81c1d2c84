/* test_orch_record.c — a deployment commit that meets -EAGAIN (main moved outside the store,
 * or another git process holds main's lock) is tried again once the mount has taken the
 * outside change in; it was dropped ("deployment not recorded"). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/store.h"
#include "orch/orch_int.h"

static const struct engine_store_author daemon_author = {"unisec", "unisec@localhost"};
static char tmp[4096], dir[4200];

static int setup(void **state)
{
    const char *t = getenv("TMPDIR");
    (void)state;
    snprintf(tmp, sizeof(tmp), "%s/unisec-orch-record-XXXXXX", t && *t ? t : "/tmp");
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

static struct engine_store *make_store(void)
{
    static const struct engine_store_change files[] = {{"state/levels", "web default\n", 12, 0}};
    struct engine_store *s = NULL;
    char cmd[4400];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(engine_store_init(&s, dir, files, 1, &daemon_author, "init", NULL), 0);
    return s;
}

/* The mount's part: take the outside change in. */
struct mount {
    struct engine_store *s;
    int calls;
    const char *lock; /* when set: a lock the other git process drops on the first call */
};

static void mount_moved(void *arg)
{
    struct mount *m = arg;
    int changed;
    if (m->calls++ == 0 && m->lock != NULL)
        assert_int_equal(unlink(m->lock), 0);
    assert_true(engine_store_refresh(m->s, &changed, NULL, NULL) >= 0);
}

static void test_orch_record_after_an_outside_commit(void **state)
{
    struct engine_store *s = make_store();
    struct engine_store_change ch = {"state/deployed", "web image=x\n", 12, 0};
    struct mount m = {s, 0, NULL};
    struct engine_diag d;
    char cmd[8800], id[41];

    (void)state;
    if (system("git --version >/dev/null 2>&1") != 0)
        skip();
    /* An operator commits in the store; the mount has not seen it yet. */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && echo 'web critical' > state/levels && git -c user.name=op "
             "-c user.email=op@example.org commit -qam operator",
             dir);
    assert_int_equal(system(cmd), 0);
    engine_diag_init(&d);
    assert_int_equal(
        orch_record_commit(s, &ch, &daemon_author, "deploy: web", mount_moved, &m, id, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(strlen(id), 40);
    assert_int_equal(m.calls, 1);
    /* On top of the operator's commit, which stays. */
    char *data;
    size_t len;
    assert_int_equal(engine_store_read(s, "state/levels", &data, &len, NULL), 0);
    assert_string_equal(data, "web critical\n");
    free(data);
    assert_int_equal(engine_store_read(s, "state/deployed", &data, &len, NULL), 0);
    assert_string_equal(data, "web image=x\n");
    free(data);
    engine_diag_free(&d);
    engine_store_free(s);
}

/* Another git process holds main: its lock file is in LOCK (SIZE bytes) on return. */
static void hold_main_lock(char *lock, size_t size)
{
    int fd;

    snprintf(lock, size, "%s/.git/refs/heads/main.lock", dir);
    assert_true((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
    close(fd);
}

static void test_orch_record_after_a_lock_is_dropped(void **state)
{
    struct engine_store *s = make_store();
    struct engine_store_change ch = {"state/deployed", "web image=y\n", 12, 0};
    char lock[4300], id[41];
    struct mount m = {s, 0, lock};
    struct engine_diag d;

    (void)state;
    hold_main_lock(lock, sizeof(lock));
    engine_diag_init(&d);
    assert_int_equal(
        orch_record_commit(s, &ch, &daemon_author, "deploy: web", mount_moved, &m, id, &d), 0);
    assert_int_equal(m.calls, 1);
    assert_int_equal(strlen(id), 40);
    engine_diag_free(&d);
    engine_store_free(s);
}

/* Nobody takes the outside change in: after the tries, the error is reported. */
static void test_orch_record_gives_up(void **state)
{
    struct engine_store *s = make_store();
    struct engine_store_change ch = {"state/deployed", "web image=z\n", 12, 0};
    char lock[4300], id[41];
    struct engine_diag d;

    (void)state;
    hold_main_lock(lock, sizeof(lock));
    engine_diag_init(&d);
    assert_int_equal(orch_record_commit(s, &ch, &daemon_author, "deploy: web", NULL, NULL, id, &d),
                     -EAGAIN);
    assert_true(d.n >= 1);
    engine_diag_free(&d);
    unlink(lock);
    engine_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orch_record_after_an_outside_commit),
        cmocka_unit_test(test_orch_record_after_a_lock_is_dropped),
        cmocka_unit_test(test_orch_record_gives_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
