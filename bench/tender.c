/*
 * bench/tender — what a VM exit costs and what that means for a guest, on hvt and spt side
 * by side: boot to the first hypercall, boot to the first TCP response, the cost of one
 * hypercall, ping-pong round trips and bulk stream throughput through an echo guest; then, on
 * a bare vCPU, what each kind of exit costs on this machine's KVM.
 * Medians of repeated runs; nothing here is asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/tender_kvm.h"
#include "runtime/tender.h"

#define BENCH_RUNS 15

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), bench_cmp);
    return v[n / 2];
}

/* Starts `unisec run --quiet IMAGE ARGS...` with stdout on a pipe; returns the pid. */
static pid_t bench_spawn(const char *image, const char *const *args, int *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        exit(1);
    const char *argv[16] = {BENCH_UNISEC, "run", "--quiet", image};
    int n = 4;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        execv(BENCH_UNISEC, (char **)argv);
        _exit(127);
    }
    close(p[1]);
    *out = p[0];
    return pid;
}

static int bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static int bench_connect(int port, int retry)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            return fd;
        }
        close(fd);
        if (!retry)
            return -1;
        usleep(20);
    }
}

static void bench_roundtrip(int fd, const char *msg, size_t len)
{
    char buf[256];
    if (write(fd, msg, len) != (ssize_t)len)
        exit(1);
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            exit(1);
        got += (size_t)n;
    }
}

struct bench_result {
    double rps50, inproc_first_hc_ms, process_ms, boot_first_hc_ms, boot_exit_ms, first_response_ms,
        exit_us, rtt_us, mbps;
};

static void bench_target(const char *target, struct bench_result *r)
{
    char image[4096];
    snprintf(image, sizeof(image), "%s/tender_guest.%s", BENCH_IMAGES, target);
    double first[BENCH_RUNS], done[BENCH_RUNS], resp[BENCH_RUNS];

    /* Boot without exec, as a supervisor that forks tenders will: from fork to the guest's
     * first hypercall (its console write reaching the pipe). */
    for (int i = 0; i < BENCH_RUNS; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            exit(1);
        double t0 = bench_now();
        pid_t pid = fork();
        if (pid == 0) {
            struct tender_config cfg = {
                .image = image, .cmdline = "boot", .policy_fd = -1, .console_fd = p[1]};
            cfg.listen[cfg.nlisten++] = (struct tender_listen){NULL, "0"};
            struct engine_diag d;
            struct tender t;
            engine_diag_init(&d);
            if (tender_init(&t, &cfg, &d) < 0)
                _exit(1);
            _exit(t.img.target == UNISEC_TARGET_HVT ? tender_hvt_run(&t, &d)
                                                    : tender_spt_run(&t, &d));
        }
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            exit(1);
        first[i] = (bench_now() - t0) * 1e3;
        waitpid(pid, NULL, 0);
        close(p[0]);
    }
    r->inproc_first_hc_ms = bench_median(first, BENCH_RUNS);

    /* The floor under every boot figure below: starting the unisec process itself. */
    for (int i = 0; i < BENCH_RUNS; i++) {
        double t0 = bench_now();
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execl(BENCH_UNISEC, BENCH_UNISEC, "--help", (char *)NULL);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
        done[i] = (bench_now() - t0) * 1e3;
    }
    r->process_ms = bench_median(done, BENCH_RUNS);

    for (int i = 0; i < BENCH_RUNS; i++) {
        const char *args[] = {"--port", "0", "--", "boot", NULL};
        int out;
        double t0 = bench_now();
        pid_t pid = bench_spawn(image, args, &out);
        char c;
        if (read(out, &c, 1) != 1)
            exit(1);
        first[i] = (bench_now() - t0) * 1e3;
        waitpid(pid, NULL, 0);
        done[i] = (bench_now() - t0) * 1e3;
        close(out);
    }
    r->boot_first_hc_ms = bench_median(first, BENCH_RUNS);
    r->boot_exit_ms = bench_median(done, BENCH_RUNS);

    for (int i = 0; i < BENCH_RUNS; i++) {
        char port[16];
        snprintf(port, sizeof(port), "%d", bench_free_port());
        const char *args[] = {"--port", port, NULL};
        int out;
        double t0 = bench_now();
        pid_t pid = bench_spawn(image, args, &out);
        int fd = bench_connect(atoi(port), 1);
        bench_roundtrip(fd, "ping", 4);
        resp[i] = (bench_now() - t0) * 1e3;
        if (write(fd, "quit", 4) != 4)
            exit(1);
        waitpid(pid, NULL, 0);
        close(fd);
        close(out);
    }
    r->first_response_ms = bench_median(resp, BENCH_RUNS);

    {
        const char *args[] = {"--port", "0", "--", "exits 20000", NULL};
        int out;
        pid_t pid = bench_spawn(image, args, &out);
        char buf[128] = "";
        ssize_t n = read(out, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        waitpid(pid, NULL, 0);
        close(out);
        unsigned long count = 0;
        unsigned long long ns = 0;
        sscanf(buf, "exits %lu %llu", &count, &ns);
        r->exit_us = count ? ns / 1e3 / count : 0;
    }

    char port[16];
    snprintf(port, sizeof(port), "%d", bench_free_port());
    const char *args[] = {"--port", port, NULL};
    int out;
    pid_t pid = bench_spawn(image, args, &out);
    int fd = bench_connect(atoi(port), 1);
    int rounds = 2000;
    double t0 = bench_now();
    for (int i = 0; i < rounds; i++)
        bench_roundtrip(fd, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64);
    r->rtt_us = (bench_now() - t0) / rounds * 1e6;

    size_t total = 64u << 20, sent = 0, got = 0;
    static char chunk[65536], sink[65536];
    fcntl(fd, F_SETFL, O_NONBLOCK);
    t0 = bench_now();
    while (got < total) {
        struct pollfd p = {fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
        poll(&p, 1, 10000);
        if ((p.revents & POLLOUT) && sent < total) {
            ssize_t n =
                write(fd, chunk, total - sent < sizeof(chunk) ? total - sent : sizeof(chunk));
            if (n > 0)
                sent += (size_t)n;
        }
        if (p.revents & POLLIN) {
            ssize_t n = read(fd, sink, sizeof(sink));
            if (n <= 0)
                exit(1);
            got += (size_t)n;
        }
    }
    r->mbps = total / (bench_now() - t0) / 1e6;
    close(fd);

    /* 50 connections, each with one 64-byte request in flight: what batching buys. */
    enum { CONNS = 50, ROUNDS = 200 };
    int c[CONNS];
    struct pollfd pf[CONNS];
    for (int i = 0; i < CONNS; i++)
        c[i] = bench_connect(atoi(port), 1);
    static const char msg[65] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    size_t got50[CONNS];
    t0 = bench_now();
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < CONNS; i++) {
            if (write(c[i], msg, 64) != 64)
                exit(1);
            got50[i] = 0;
            pf[i] = (struct pollfd){c[i], POLLIN, 0};
        }
        for (int left = CONNS; left > 0;) {
            poll(pf, CONNS, 10000);
            for (int i = 0; i < CONNS; i++) {
                if (!(pf[i].revents & POLLIN))
                    continue;
                char buf[128];
                ssize_t n = read(c[i], buf, sizeof(buf));
                if (n <= 0)
                    exit(1);
                got50[i] += (size_t)n;
                if (got50[i] == 64) {
                    pf[i].fd = -1;
                    left--;
                }
            }
        }
    }
    r->rps50 = CONNS * ROUNDS / (bench_now() - t0);
    for (int i = 0; i < CONNS; i++)
        close(c[i]);
    fd = bench_connect(atoi(port), 0);
    if (fd < 0 || write(fd, "quit", 4) != 4)
        exit(1);
    waitpid(pid, NULL, 0);
    close(fd);
    close(out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct bench_result hvt = {0}, spt = {0};
    int kvm = access("/dev/kvm", R_OK | W_OK) == 0;
    if (kvm)
        bench_target("hvt", &hvt);
    else
        printf("hvt skipped: /dev/kvm is not usable\n");
    bench_target("spt", &spt);
    printf("%-38s %12s %12s %10s\n", "", "hvt", "spt", "hvt/spt");
#define ROW(name, field, fmt)                                                                      \
    printf("%-38s " fmt " " fmt " %10.2f\n", name, hvt.field, spt.field,                           \
           spt.field ? hvt.field / spt.field : 0)
    ROW("fork to first hypercall, no exec (ms)", inproc_first_hc_ms, "%12.3f");
    ROW("unisec --help, no guest (ms, median)", process_ms, "%12.3f");
    ROW("boot to first hypercall (ms, median)", boot_first_hc_ms, "%12.3f");
    ROW("boot to exit (ms, median)", boot_exit_ms, "%12.3f");
    ROW("boot to first TCP response (ms)", first_response_ms, "%12.3f");
    ROW("one hypercall (us)", exit_us, "%12.3f");
    ROW("64-byte echo round trip (us)", rtt_us, "%12.1f");
    ROW("echo throughput, 64 MiB (MB/s)", mbps, "%12.1f");
    ROW("64-byte echoes/s, 50 connections", rps50, "%12.0f");

    struct bench_kvm_result k;
    if (kvm && bench_kvm_mechanisms(&k) == 0) {
        printf("\nexits on this KVM: one guest-to-host round trip, bare vCPU at CPL 3 (us; ratio "
               "to the MMIO store)\n");
#define KROW(name, v) printf("%-62s %8.2f %8.2f\n", name, v, k.store_us > 0 ? (v) / k.store_us : 0)
        KROW("MMIO store, exit to the tender (hvt's hypercall)", k.store_us);
        if (k.out_us >= 0)
            KROW("port I/O with IOPL 3, exit to the tender", k.out_us);
        else
            printf("%-62s %s\n", "port I/O with IOPL 3, exit to the tender", k.out_why);
        KROW("KVM_RUN returning at once (immediate_exit), no guest entry", k.floor_us);
        KROW("MMIO store claimed by an ioeventfd (kernel only, no exit)", k.kick_us);
        KROW("ioeventfd kick + host thread woken by it answers in memory", k.ring_wake_us);
        KROW("ioeventfd kick + host thread polling memory answers", k.ring_spin_us);
        if (k.block_us >= 0)
            KROW("guest read blocked in KVM till a host thread supplies the page", k.block_us);
        else
            printf("%-62s %s\n", "guest read blocked in KVM till a host thread supplies the page",
                   k.block_why);
    }
    return 0;
}
