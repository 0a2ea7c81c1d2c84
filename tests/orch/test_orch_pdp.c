/* test_orch_pdp.c — the daemon's pull PDP: a new policy is announced to every connected
 * guest, and orch_pdp_update() returns only once each has acknowledged dropping its cached
 * answers (settle relied on the update while a guest could still answer from the old version);
 * a guest that connects later is told the version in force. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest/modules/acl_pep/pdp.h"
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
    assert_int_equal(orch_pdp_new(&f->pdp, "127.0.0.1", 0, &d), 0);
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

/* A guest's side of the PDP stream, on a thread of its own: it records every notice and
 * acknowledges it, as acl_pep does once its cache is dropped, a little later. */
struct guest {
    int fd;
    pthread_t th;
    pthread_mutex_t mu;
    uint64_t seen; /* mu: the last notice's version, 0 none */
};

static void *guest_main(void *arg)
{
    struct guest *g = arg;
    struct mod_pdp_answer a;

    while (recv(g->fd, &a, sizeof(a), MSG_WAITALL) == sizeof(a)) {
        if (a.magic != MOD_PDP_NOTICE_MAGIC)
            continue;
        usleep(50000); /* a guest busy with other work: the update must wait for it */
        pthread_mutex_lock(&g->mu);
        g->seen = a.version;
        pthread_mutex_unlock(&g->mu);
        struct mod_pdp_answer ack = {MOD_PDP_ACK_MAGIC, sizeof(ack), 0, a.version, 0, 0, 0, 0};
        if (send(g->fd, &ack, sizeof(ack), MSG_NOSIGNAL) != sizeof(ack))
            break;
    }
    return NULL;
}

static void guest_start(struct guest *g, struct fx *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(orch_pdp_port(f->pdp))};

    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    assert_true((g->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    assert_int_equal(connect(g->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(pthread_create(&g->th, NULL, guest_main, g), 0);
}

static void guest_stop(struct guest *g)
{
    shutdown(g->fd, SHUT_RDWR);
    pthread_join(g->th, NULL);
    close(g->fd);
    pthread_mutex_destroy(&g->mu);
}

static uint64_t guest_seen(struct guest *g)
{
    pthread_mutex_lock(&g->mu);
    uint64_t v = g->seen;
    pthread_mutex_unlock(&g->mu);
    return v;
}

/* Waits (5 s at most, a bound for a broken run) until G was told VERSION. */
static void guest_wait(struct guest *g, uint64_t version)
{
    for (int i = 0; guest_seen(g) != version && i < 500; i++)
        usleep(10000);
    assert_int_equal(guest_seen(g), version);
}

/* Policy version VERSION of every rule in the fixture's ACL, put in force. */
static void update(struct fx *f, uint64_t version)
{
    struct orch_blob *b = NULL;
    struct engine_diag d = {0};

    assert_int_equal(
        orch_policy_compile(&b, &(struct orch_desired){.acl = f->acl}, NULL, NULL, 0, version, &d),
        0);
    assert_int_equal(orch_pdp_update(f->pdp, b), 0);
    orch_blob_put(b);
    engine_diag_free(&d);
}

static void test_orch_pdp_update_waits_for_every_guest(void **state)
{
    struct fx *f = *state;
    struct guest g, g2;

    guest_start(&g, f);
    guest_start(&g2, f);
    /* Told at once, or at its accept if that came after the update. */
    update(f, 1);
    guest_wait(&g, 1);
    guest_wait(&g2, 1);
    /* Both are known to the PDP now: each has acknowledged when the update returns. */
    update(f, 2);
    assert_int_equal(guest_seen(&g), 2);
    assert_int_equal(guest_seen(&g2), 2);
    guest_stop(&g);
    /* A guest that is gone is not waited for. */
    update(f, 3);
    assert_int_equal(guest_seen(&g2), 3);
    guest_stop(&g2);
}

static void test_orch_pdp_late_guest_told_version(void **state)
{
    struct fx *f = *state;
    struct guest g;

    update(f, 7);
    guest_start(&g, f);
    guest_wait(&g, 7);
    guest_stop(&g);
}

/* The PDP's end of a guest's stream sends small writes the guest waits for (a notice, an
 * answer): Nagle's algorithm is off there, or an answer waits for the guest's delayed ACK
 * (a pull rule change was enforced 35 ms after close). Found among this process's sockets:
 * the PDP's port on the local side, a peer on the other. */
static void test_orch_pdp_guest_stream_no_nagle(void **state)
{
    struct fx *f = *state;
    struct guest g;
    int found = 0;

    update(f, 3);
    guest_start(&g, f);
    guest_wait(&g, 3); /* accepted and told */
    DIR *dir = opendir("/proc/self/fd");
    assert_non_null(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        struct sockaddr_in me, peer;
        socklen_t ml = sizeof(me), pl = sizeof(peer), ol = sizeof(int);
        int on = 0, fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(dir) ||
            getsockname(fd, (struct sockaddr *)&me, &ml) != 0 || me.sin_family != AF_INET ||
            ntohs(me.sin_port) != orch_pdp_port(f->pdp) ||
            getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
            continue;
        assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol), 0);
        assert_int_equal(on, 1);
        found++;
    }
    closedir(dir);
    assert_int_equal(found, 1);
    guest_stop(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orch_pdp_update_waits_for_every_guest, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_pdp_late_guest_told_version, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_pdp_guest_stream_no_nagle, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
