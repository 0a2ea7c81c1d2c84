/* test_orch_pdp.c — the daemon's pull PDP: a new policy is announced to every connected
 * guest, and a guest that connects later is told the version in force (its cache may hold
 * answers of an older one, kept since its stream was lost). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/modules/acl_pep/pdp.h"
#include "orch/orch_int.h"

#define POL "mount-examples/policy"

struct fx {
    struct engine_acl *acl;
    struct orch_pdp *pdp;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct engine_diag d = {0};

    assert_non_null(f);
    assert_int_equal(engine_acl_new(&f->acl), 0);
    assert_int_equal(engine_acl_load_dir(f->acl, POL, &d), 0);
    assert_int_equal(orch_pdp_new(&f->pdp, "127.0.0.1", &d), 0);
    engine_diag_free(&d);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    orch_pdp_free(f->pdp);
    engine_acl_free(f->acl);
    free(f);
    return 0;
}

/* A guest's PDP stream: connected, reads bounded by 5 s. */
static int guest_connect(struct fx *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(orch_pdp_port(f->pdp))};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

/* The next message on FD (FLAGS: 0 waits up to 5 s, MSG_DONTWAIT not at all) is a notice of
 * VERSION. */
static void expect_notice(int fd, int flags, uint64_t version)
{
    struct mod_pdp_answer a;
    ssize_t n = recv(fd, &a, sizeof(a), MSG_WAITALL | flags);

    assert_int_equal(n, sizeof(a));
    assert_int_equal(a.magic, MOD_PDP_NOTICE_MAGIC);
    assert_int_equal(a.version, version);
}

/* Policy version VERSION of every rule in the fixture's ACL, put in force. */
static void update(struct fx *f, uint64_t version)
{
    struct orch_blob *b = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_policy_compile(&b, f->acl, NULL, NULL, version, &d), 0);
    assert_int_equal(orch_pdp_update(f->pdp, b), 0);
    orch_blob_put(b);
    engine_diag_free(&d);
}

static void test_orch_pdp_update_tells_guests(void **state)
{
    struct fx *f = *state;
    int fd = guest_connect(f), fd2 = guest_connect(f);

    update(f, 1);
    /* Told at once, or at its accept if that came after: either way the version is known. */
    expect_notice(fd, 0, 1);
    expect_notice(fd2, 0, 1);
    update(f, 2);
    expect_notice(fd, 0, 2);
    expect_notice(fd2, 0, 2);
    close(fd);
    close(fd2);
}

static void test_orch_pdp_late_guest_told_version(void **state)
{
    struct fx *f = *state;

    update(f, 7);
    int fd = guest_connect(f);
    expect_notice(fd, 0, 7);
    close(fd);
}

static void test_orch_pdp_no_policy_no_notice(void **state)
{
    struct fx *f = *state;
    struct mod_pdp_answer a;
    struct timeval tv = {0, 200000};
    int fd = guest_connect(f);

    /* Nothing is in force yet: a notice would claim a version that decides nothing. */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_true(recv(fd, &a, sizeof(a), 0) < 0);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orch_pdp_update_tells_guests, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_pdp_late_guest_told_version, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_pdp_no_policy_no_notice, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
