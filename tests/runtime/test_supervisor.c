/*
 * test_supervisor.c — the supervisor with real tenders: start and stop, console capture,
 * policy push and refusal, crash and hang restarts with back-off, a swap under load (ab,
 * 100 connections) with no failed request, and a new image that never becomes ready while
 * the old one keeps serving. Usage: test_supervisor IMAGEDIR hvt|spt ($UNISEC is the unisec
 * binary). The hvt run exits 77 when /dev/kvm cannot be opened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/tls_creds.h"
#include "engine/acl.h"
#include "harness.h"
#include "runtime/control.h"
#include "runtime/supervisor.h"

static const char *tender_bin, *image_path;

/* ---- the reports, as a log the tests wait on ---- */

#define LOG_MAX 512

struct entry {
    char node[64];
    enum sup_state state;
    char image[128];
    uint64_t policy_version;
    pid_t pid;
    char why[512];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct entry e[LOG_MAX];
    size_t n;
} reports = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void on_report(void *arg, const struct sup_report *r)
{
    (void)arg;
    pthread_mutex_lock(&reports.lock);
    if (reports.n < LOG_MAX) {
        struct entry *e = &reports.e[reports.n++];
        snprintf(e->node, sizeof(e->node), "%s", r->node);
        e->state = r->state;
        snprintf(e->image, sizeof(e->image), "%s", r->image);
        e->policy_version = r->policy_version;
        e->pid = r->pid;
        snprintf(e->why, sizeof(e->why), "%s", r->why);
    }
    if (getenv("SUP_TEST_VERBOSE"))
        fprintf(stderr, "report %s %s %s pid %d v%llu: %s\n", r->node, sup_state_name(r->state),
                r->image, r->pid, (unsigned long long)r->policy_version, r->why);
    pthread_cond_broadcast(&reports.cond);
    pthread_mutex_unlock(&reports.lock);
}

/* Waits (at most 20 s: a bound for a broken run, not a measurement) for a report on NODE,
 * after index *FROM, in STATE (or any when -1) whose why contains TEXT (or any when NULL).
 * Copies it to *OUT, moves *FROM past it. */
static int wait_report(size_t *from, const char *node, int state, const char *text,
                       struct entry *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&reports.lock);
    for (;;) {
        for (; *from < reports.n; (*from)++) {
            struct entry *e = &reports.e[*from];
            if (strcmp(e->node, node) == 0 && (state < 0 || (int)e->state == state) &&
                (text == NULL || strstr(e->why, text))) {
                if (out)
                    *out = *e;
                (*from)++;
                pthread_mutex_unlock(&reports.lock);
                return 0;
            }
        }
        if (pthread_cond_timedwait(&reports.cond, &reports.lock, &until) == ETIMEDOUT) {
            fprintf(stderr, "no report on %s in state %d with '%s'; the last ones:\n", node, state,
                    text ? text : "");
            for (size_t i = reports.n > 8 ? reports.n - 8 : 0; i < reports.n; i++)
                fprintf(stderr, "  %s %s: %s\n", reports.e[i].node,
                        sup_state_name(reports.e[i].state), reports.e[i].why);
            pthread_mutex_unlock(&reports.lock);
            return -1;
        }
    }
}

static size_t reports_now(void)
{
    pthread_mutex_lock(&reports.lock);
    size_t n = reports.n;
    pthread_mutex_unlock(&reports.lock);
    return n;
}

/* ---- helpers ---- */

/* A supervisor running TENDER. */
/* The supervisor the running test has started and not yet freed. */
static struct sup *live_sup;

static struct sup *sup_start_tender(const char *tender, unsigned ready_ms, unsigned hang_ms)
{
    struct sup_options opt = {.tender = tender,
                              .ready_ms = ready_ms,
                              .drain_ms = 5000,
                              .hang_ms = hang_ms,
                              .backoff_min_ms = 100,
                              .backoff_max_ms = 400,
                              .console_max = 4096,
                              .report = on_report};
    struct engine_diag d;
    engine_diag_init(&d);
    struct sup *s = NULL;
    int rc = sup_new(&s, &opt, &d);
    if (rc < 0)
        engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    assert_int_equal(rc, 0);
    live_sup = s;
    return s;
}

/* Frees S, which the test is done with. */
static void sup_end(struct sup *s)
{
    live_sup = NULL;
    sup_free(s);
}

/* Every test's teardown: a supervisor a failed assertion left running is freed (its instances
 * ended), then the test's children (ab, a forked daemon) are. */
static int sup_teardown(void **state)
{
    if (live_sup != NULL) {
        fprintf(stderr, "teardown: freeing the supervisor left by the test\n");
        sup_end(live_sup);
    }
    return rt_teardown(state);
}

static struct sup *sup_start(unsigned ready_ms, unsigned hang_ms)
{
    return sup_start_tender(tender_bin, ready_ms, hang_ms);
}

/* Runs the web guest as NODE with boot arguments NAME [MODE] on ADDR. */
static int run_web(struct sup *s, const char *node, const char *id, const char *mode,
                   const char *addr, struct engine_diag *d)
{
    struct sup_port port = {"http", addr};
    const char *args[2] = {id, mode};
    struct sup_spec spec = {.node = node,
                            .image = image_path,
                            .image_id = id,
                            .level = "default",
                            .ports = &port,
                            .nports = 1,
                            .args = args,
                            .nargs = mode ? 2 : 1,
                            .mem_mib = 64};
    return sup_node_run(s, &spec, d);
}

static void run_web_ok(struct sup *s, const char *node, const char *id, const char *mode)
{
    struct engine_diag d;
    engine_diag_init(&d);
    int rc = run_web(s, node, id, mode, "127.0.0.1:0", &d);
    if (rc < 0)
        engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    assert_int_equal(rc, 0);
}

/* One HTTP request for PATH; returns the body (static buffer) or NULL when it failed. */
static const char *http_get(int port, const char *path)
{
    static char buf[4096];
    int fd = rt_tcp_connect(port);
    struct timeval tv = {5, 0};
    if (fd < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t have = 0;
    ssize_t r = 0;
    while (have < sizeof(buf) - 1 && (r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
        have += (size_t)r;
    close(fd);
    if (r < 0)
        return NULL; /* no end of stream within 5 s: the guest did not close */
    buf[have] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    return strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && body ? body + 4 : NULL;
}

/* The body of GET / on PORT must be WANT. */
static void check_get(int port, const char *want)
{
    const char *body = http_get(port, "/");
    assert_non_null(body);
    assert_string_equal(body, want);
}

static void *compile_blob(uint64_t version, size_t *len)
{
    static const char rules[] = "regular * GET /* allow\n";
    struct engine_acl *a = NULL;
    struct engine_diag d;
    void *blob = NULL;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", rules, sizeof(rules) - 1, &d),
                     0);
    assert_int_equal(engine_acl_compile(&blob, len, a, NULL, version), 0);
    engine_acl_free(a);
    engine_diag_free(&d);
    return blob;
}

/* A patch of VERSION over compile_blob(BASE)'s rules: one rule added. */
static void *compile_patch(uint64_t base, uint64_t version, size_t *len)
{
    static const char rules[] = "regular * GET /* allow\n";
    struct engine_acl *a = NULL;
    struct engine_acl_index *x = NULL;
    struct engine_diag d;
    struct engine_acl_change add = {"regular", "*", "POST", "/p/*", 1, 2};
    void *patch = NULL;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", rules, sizeof(rules) - 1, &d),
                     0);
    assert_int_equal(engine_acl_index_new(&x, a, NULL, base), 0);
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, &add, 1, version), 0);
    assert_int_equal(engine_acl_index_patch(x, base, &patch, len), 0);
    engine_acl_index_free(x);
    engine_acl_free(a);
    engine_diag_free(&d);
    return patch;
}

static int pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0;
}

/* ---- tests ---- */

/* An image that terminates TLS gets the node's credentials at start through a memory file
 * (--tls-fd); without them the spec is refused with the reason. */
static void test_supervisor_tls_credentials(void **state)
{
    (void)state;
    static const uint8_t x[32] = {1, 2, 3}, cert[5] = {0x30, 3, 2, 1, 1};
    struct tls_creds cr = {.key_type = UNISEC_TLS_KEY_EC,
                           .key_param = 23,
                           .nkey = 1,
                           .key = {{x, sizeof(x)}},
                           .ncerts = 1,
                           .cert = {{cert, sizeof(cert)}}};
    uint8_t blob[256];
    size_t len = tls_creds_encode(blob, sizeof(blob), &cr);
    struct sup *s = sup_start(0, 0);
    struct sup_port port = {"http", "127.0.0.1:0"};
    struct sup_spec spec = {
        .node = "t", .image = rt_image("creds"), .ports = &port, .nports = 1, .mem_mib = 64};
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(sup_node_run(s, &spec, &d), -EINVAL);
    char *msg = engine_diag_join(&d);
    assert_non_null(strstr(msg, "the image terminates TLS and needs the node's certificate"));
    free(msg);
    engine_diag_free(&d);
    engine_diag_init(&d);
    spec.tls = blob;
    spec.tls_len = len;
    size_t at = reports_now();
    assert_int_equal(sup_node_run(s, &spec, &d), 0);
    engine_diag_free(&d);
    assert_int_equal(wait_report(&at, "t", SUP_RUNNING, "serves", NULL), 0);
    char *con = NULL;
    size_t clen = 0;
    assert_int_equal(sup_node_console(s, "t", &con, &clen), 0);
    assert_non_null(strstr(con, "creds: 69 bytes, key type 1, 1 certificate(s), taken once"));
    free(con);
    sup_end(s);
}

static void test_supervisor_start_stop(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    size_t at = reports_now();
    struct entry e;
    run_web_ok(s, "a", "img-a1", NULL);
    assert_int_equal(wait_report(&at, "a", SUP_STARTING, "starting image img-a1", NULL), 0);
    assert_int_equal(wait_report(&at, "a", SUP_RUNNING, "serves", &e), 0);
    assert_string_equal(e.image, "img-a1");
    assert_true(e.pid > 0 && pid_alive(e.pid));
    int port = sup_node_port(s, "a", "http");
    assert_true(port > 0);
    const char *body = http_get(port, "/");
    assert_non_null(body);
    assert_string_equal(body, "img-a1 policy=0\n");

    /* The console: the guest's first line. */
    char *con = NULL;
    size_t len = 0;
    assert_int_equal(sup_node_console(s, "a", &con, &len), 0);
    assert_non_null(strstr(con, "img-a1: up (normal)"));
    free(con);

    struct sup_status st;
    assert_int_equal(sup_node_status(s, "a", &st), 0);
    assert_int_equal(st.state, SUP_RUNNING);
    assert_int_equal(st.pid, e.pid);
    assert_int_equal(sup_node_status(s, "nobody", &st), -ENOENT);

    assert_int_equal(sup_node_stop(s, "a"), 0);
    assert_int_equal(wait_report(&at, "a", SUP_STOPPED, NULL, NULL), 0);
    assert_false(pid_alive(e.pid));   /* reaped: no zombie either */
    assert_null(http_get(port, "/")); /* its port is closed */
    sup_end(s);
}

static void test_supervisor_bad_spec(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    struct engine_diag d;
    engine_diag_init(&d);
    /* A port another holder has: refused before anything runs. */
    int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(busy, 1), 0);
    getsockname(busy, (struct sockaddr *)&sa, &sl);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    assert_int_equal(run_web(s, "b", "img-b", NULL, addr, &d), -EADDRINUSE);
    char *text = engine_diag_join(&d);
    assert_non_null(strstr(text, "cannot listen on"));
    free(text);
    engine_diag_free(&d);
    close(busy);

    /* An address whose bracketed host is longer than any: refused, nothing overflows. */
    char longaddr[400];
    memset(longaddr, 'a', sizeof(longaddr));
    longaddr[0] = '[';
    snprintf(longaddr + 300, sizeof(longaddr) - 300, "]:80");
    assert_int_equal(run_web(s, "b", "img-b", NULL, longaddr, &d), -EINVAL);
    text = engine_diag_join(&d);
    assert_non_null(strstr(text, "bad address"));
    free(text);
    engine_diag_free(&d);

    /* Not an image. */
    struct sup_spec spec = {.node = "b", .image = "/nonexistent/image"};
    assert_true(sup_node_run(s, &spec, &d) < 0);
    assert_true(d.n > 0);
    engine_diag_free(&d);
    /* A listening device without a port. */
    spec.image = image_path;
    assert_int_equal(sup_node_run(s, &spec, &d), -EINVAL);
    text = engine_diag_join(&d);
    assert_non_null(strstr(text, "listens on device 'http'"));
    free(text);
    engine_diag_free(&d);
    spec.node = "bad/name";
    assert_int_equal(sup_node_run(s, &spec, &d), -EINVAL);
    engine_diag_free(&d);
    assert_int_equal(sup_node_stop(s, "b"), -ENOENT);
    sup_end(s);
}

static void test_supervisor_policy_push(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    size_t at = reports_now(), len;
    struct entry e;
    run_web_ok(s, "p", "img-p1", NULL);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "serves", NULL), 0);
    int port = sup_node_port(s, "p", "http");

    void *blob = compile_blob(7, &len);
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(sup_policy_push(s, "p", blob, len, 7, &d), 0);
    free(blob);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "policy v7 acknowledged", &e), 0);
    assert_int_equal(e.policy_version, 7);
    check_get(port, "img-p1 policy=7\n");

    /* A blob the guest refuses: the report says so, v7 stays in force. */
    blob = compile_blob(0, &len);
    assert_int_equal(sup_policy_push(s, "p", blob, len, 0, &d), 0);
    free(blob);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "policy v0 refused", &e), 0);
    assert_non_null(strstr(e.why, "version 0 is refused by this test guest"));
    assert_non_null(strstr(e.why, "v7 stays in force"));
    assert_int_equal(e.policy_version, 7);
    check_get(port, "img-p1 policy=7\n");

    /* A new instance gets the node's (acknowledged) blob at start and serves with it. */
    run_web_ok(s, "p", "img-p2", NULL);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "image img-p2 serves", &e), 0);
    assert_int_equal(e.policy_version, 7);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "drained and ended", NULL), 0);
    check_get(port, "img-p2 policy=7\n");

    /* Rules given with the spec are the new instance's from its boot (the orchestrator's
     * swaps: no push after the run can come too late). */
    struct sup_port http = {"http", "127.0.0.1:0"};
    const char *args[1] = {"img-p3"};
    struct sup_spec spec = {.node = "p",
                            .image = image_path,
                            .image_id = "img-p3",
                            .ports = &http,
                            .nports = 1,
                            .args = args,
                            .nargs = 1,
                            .mem_mib = 64};
    spec.policy = compile_blob(9, &spec.policy_len);
    spec.policy_version = 9;
    assert_int_equal(sup_node_run(s, &spec, &d), 0);
    free((void *)spec.policy);
    assert_int_equal(wait_report(&at, "p", SUP_RUNNING, "image img-p3 serves", &e), 0);
    assert_int_equal(e.policy_version, 9);
    check_get(port, "img-p3 policy=9\n");
    engine_diag_free(&d);
    sup_end(s);
}

/* A patch goes to the instance that holds the node's blob; a refused one leaves the last
 * acknowledged version in force; a new instance gets the blob, then the patch, and serves only
 * at the patch's version. */
static void test_supervisor_policy_patch(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    size_t at = reports_now(), len;
    struct entry e;
    struct engine_diag d;
    engine_diag_init(&d);
    run_web_ok(s, "q", "img-q1", NULL);
    assert_int_equal(wait_report(&at, "q", SUP_RUNNING, "serves", NULL), 0);
    int port = sup_node_port(s, "q", "http");
    void *blob = compile_patch(7, 8, &len);
    assert_int_equal(sup_policy_patch(s, "q", blob, len, 8, &d), -ENOENT); /* no blob yet */
    free(blob);

    blob = compile_blob(7, &len);
    assert_int_equal(sup_policy_push(s, "q", blob, len, 7, &d), 0);
    free(blob);
    assert_int_equal(wait_report(&at, "q", SUP_RUNNING, "policy v7 acknowledged", &e), 0);
    blob = compile_patch(7, 8, &len);
    assert_int_equal(sup_policy_patch(s, "q", blob, len, 8, &d), 0);
    free(blob);
    assert_int_equal(wait_report(&at, "q", SUP_RUNNING, "policy v8 acknowledged", &e), 0);
    check_get(port, "img-q1 policy=8\n");

    /* A corrupt patch: refused, v8 stays, and it is not what new instances get. */
    uint8_t *bad = compile_patch(7, 9, &len);
    bad[len - 1] ^= 1;
    assert_int_equal(sup_policy_patch(s, "q", bad, len, 9, &d), 0);
    free(bad);
    assert_int_equal(wait_report(&at, "q", SUP_RUNNING, "policy v9 refused", &e), 0);
    assert_int_equal(e.policy_version, 8);
    check_get(port, "img-q1 policy=8\n");

    run_web_ok(s, "q", "img-q2", NULL);
    assert_int_equal(wait_report(&at, "q", SUP_RUNNING, "image img-q2 serves", &e), 0);
    assert_int_equal(e.policy_version, 8);
    check_get(port, "img-q2 policy=8\n");
    engine_diag_free(&d);
    sup_end(s);
}

static void test_supervisor_crash_backoff(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    size_t at = reports_now();
    struct entry e;
    run_web_ok(s, "c", "img-c", "crash");
    /* Each crash is reported with the guest's status and the next delay, which doubles up to
     * the maximum (400 ms here). */
    static const char *const delays[] = {"restart in 100 ms", "restart in 200 ms",
                                         "restart in 400 ms", "restart in 400 ms"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(wait_report(&at, "c", SUP_FAILED, delays[i], &e), 0);
        assert_non_null(strstr(e.why, "exited with status 3 after \"img-c: crashing as asked\""));
        assert_int_equal(e.pid, 0);
    }
    struct sup_status st;
    assert_int_equal(sup_node_status(s, "c", &st), 0);
    assert_true(st.restarts >= 3);
    /* The console of the crashed instance stays readable while none runs. */
    char *con = NULL;
    size_t len = 0;
    assert_int_equal(sup_node_console(s, "c", &con, &len), 0);
    assert_non_null(strstr(con, "crashing as asked"));
    free(con);
    sup_end(s);
}

static void test_supervisor_hang_restart(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 400);
    size_t at = reports_now();
    struct entry e, e2;
    run_web_ok(s, "h", "img-h", NULL);
    assert_int_equal(wait_report(&at, "h", SUP_RUNNING, "serves", &e), 0);
    int port = sup_node_port(s, "h", "http");
    /* The guest spins on /hang: no answer to the supervisor's pings, so it is killed. */
    int fd = rt_tcp_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "GET /hang HTTP/1.0\r\n\r\n", 22), 22);
    assert_int_equal(wait_report(&at, "h", SUP_FAILED, "hung", NULL), 0);
    close(fd);
    assert_int_equal(wait_report(&at, "h", SUP_RUNNING, "serves", &e2), 0);
    assert_true(e2.pid != e.pid);
    assert_false(pid_alive(e.pid));
    check_get(port, "img-h policy=0\n");
    sup_end(s);
}

static void test_supervisor_never_ready(void **state)
{
    (void)state;
    struct sup *s = sup_start(500, 0);
    size_t at = reports_now();
    struct entry e;
    run_web_ok(s, "n", "img-n1", NULL);
    assert_int_equal(wait_report(&at, "n", SUP_RUNNING, "serves", &e), 0);
    int port = sup_node_port(s, "n", "http");
    run_web_ok(s, "n", "img-n2", "never");
    assert_int_equal(
        wait_report(&at, "n", SUP_RUNNING, "did not become ready: not ready within 500 ms", &e), 0);
    assert_non_null(strstr(e.why, "image img-n1 keeps serving"));
    assert_string_equal(e.image, "img-n1");
    check_get(port, "img-n1 policy=0\n");
    struct sup_status st;
    assert_int_equal(sup_node_status(s, "n", &st), 0);
    assert_int_equal(st.state, SUP_RUNNING);
    assert_string_equal(st.image, "img-n1");

    /* A first instance that never becomes ready: FAILED, and retried. */
    run_web_ok(s, "m", "img-m", "never");
    assert_int_equal(wait_report(&at, "m", SUP_FAILED, "not ready within 500 ms", NULL), 0);
    sup_end(s);
}

/* A tender that sends a control message of an unknown type (then READY) is killed for it and
 * never serves. */
static void test_supervisor_broken_tender(void **state)
{
    (void)state;
    char fake[4096], want[128];
    snprintf(fake, sizeof(fake), "%s/fake_tender", rt_image_dir);
    struct sup *s = sup_start_tender(fake, 5000, 0);
    size_t at = reports_now(), from = at;
    struct entry e;
    run_web_ok(s, "x", "img-x", NULL);
    assert_int_equal(wait_report(&at, "x", SUP_FAILED, "did not become ready", &e), 0);
    snprintf(want, sizeof(want), "broke the control protocol (a message of type %u, 0 bytes)",
             CTL_TYPES + 9);
    if (strstr(e.why, want) == NULL)
        fail_msg("not killed for the unknown message: %s", e.why);
    pthread_mutex_lock(&reports.lock);
    for (size_t i = from; i < reports.n; i++)
        if (strcmp(reports.e[i].node, "x") == 0 && reports.e[i].state == SUP_RUNNING)
            fail_msg("the broken tender served: %s", reports.e[i].why);
    pthread_mutex_unlock(&reports.lock);
    sup_end(s);
}

/* Starts ab with 100 connections against PORT for SECONDS; *OUT reads its output. */
static void ab_start(int port, int seconds, pid_t *pid, int *out)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    char url[64], t[16];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    snprintf(t, sizeof(t), "%d", seconds);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        execlp("ab", "ab", "-q", "-c", "100", "-t", t, "-n", "10000000", "-s", "10", url,
               (char *)NULL);
        _exit(127);
    }
    rt_child_started(*pid);
    close(p[1]);
    *out = p[0];
}

static void test_supervisor_swap_under_load(void **state)
{
    (void)state;
    struct sup *s = sup_start(0, 0);
    size_t at = reports_now();
    struct entry e;
    run_web_ok(s, "w", "img-w1", NULL);
    assert_int_equal(wait_report(&at, "w", SUP_RUNNING, "serves", &e), 0);
    int port = sup_node_port(s, "w", "http");
    pid_t ab;
    int out;
    ab_start(port, 3, &ab, &out);
    usleep(300000);
    /* Swaps back and forth under load, each waiting for the previous instance to drain. */
    for (int i = 0; i < 4; i++) {
        const char *id = i % 2 ? "img-w1" : "img-w2";
        run_web_ok(s, "w", id, i == 3 ? "slow" : NULL);
        char want[64];
        snprintf(want, sizeof(want), "image %s serves", id);
        assert_int_equal(wait_report(&at, "w", SUP_RUNNING, want, NULL), 0);
        assert_int_equal(wait_report(&at, "w", SUP_RUNNING, "drained and ended", &e), 0);
        if (strstr(e.why, "cut"))
            fail_msg("the old instance was not drained: %s", e.why);
    }
    char buf[8192];
    size_t have = 0;
    ssize_t r;
    while (have < sizeof(buf) - 1 && (r = read(out, buf + have, sizeof(buf) - 1 - have)) > 0)
        have += (size_t)r;
    buf[have] = 0;
    close(out);
    int st;
    assert_int_equal(waitpid(ab, &st, 0), ab);
    rt_child_reaped(ab);
    fprintf(stderr, "%s",
            strstr(buf, "Complete requests") ? strstr(buf, "Complete requests") : buf);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *complete = strstr(buf, "Complete requests:");
    const char *failed = strstr(buf, "Failed requests:");
    assert_non_null(complete);
    assert_non_null(failed);
    assert_true(strtol(complete + 18, NULL, 10) > 100);
    assert_int_equal(strtol(failed + 16, NULL, 10), 0);
    assert_null(strstr(buf, "Non-2xx responses"));
    check_get(port, "img-w1 policy=0\n");
    sup_end(s);
}

/* Dead or a zombie (a reparented child that no init reaps is dead all the same). */
static int pid_gone(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren == NULL || paren[1] == 0 || paren[2] == 'Z' || paren[2] == 'X';
}

static void test_supervisor_no_orphans(void **state)
{
    (void)state;
    /* A daemon killed with SIGKILL takes its instances with it. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t daemon = fork();
    assert_true(daemon >= 0);
    if (daemon > 0)
        rt_child_started(daemon);
    if (daemon == 0) {
        close(p[0]);
        struct sup *s = sup_start(0, 0);
        size_t at = reports_now();
        struct entry e;
        run_web_ok(s, "o", "img-o", NULL);
        if (wait_report(&at, "o", SUP_RUNNING, "serves", &e) < 0)
            _exit(1);
        if (write(p[1], &e.pid, sizeof(e.pid)) != sizeof(e.pid))
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t tender = 0;
    assert_int_equal(read(p[0], &tender, sizeof(tender)), sizeof(tender));
    close(p[0]);
    assert_false(pid_gone(tender));
    assert_int_equal(kill(daemon, SIGKILL), 0);
    assert_int_equal(waitpid(daemon, NULL, 0), daemon);
    rt_child_reaped(daemon);
    int i = 0;
    while (!pid_gone(tender) && i++ < 500) /* a bound for a broken run: 5 s */
        usleep(10000);
    assert_true(pid_gone(tender));
}

int main(int argc, char **argv)
{
    static const char *const env[] = {"UNISEC_TENDER", NULL};
    int rc =
        rt_harness_start(argc, argv, env, "UNISEC_TENDER=BIN test_supervisor IMAGEDIR hvt|spt");
    if (rc != 0)
        return rc;
    tender_bin = getenv("UNISEC_TENDER");
    image_path = rt_image("web");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_supervisor_start_stop, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_bad_spec, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_tls_credentials, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_policy_push, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_policy_patch, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_crash_backoff, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_hang_restart, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_never_ready, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_broken_tender, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_swap_under_load, sup_teardown),
        cmocka_unit_test_teardown(test_supervisor_no_orphans, sup_teardown),
    };
    return cmocka_run_group_tests_name(rt_target, tests, NULL, NULL);
}
