/*
 * bench/boot — boot to first response of one image, measured with a tight C client.
 *
 *     boot [--runs N] [--auth HEADER] [--path PATH] [--expect CODE] TENDER IMAGE DEVICE
 *
 * TENDER is the program whose `run` subcommand or whose own arguments run an image: a path
 * ending in "unisec" is given `run IMAGE ...`, anything else (unisec-tender) `IMAGE ...`.
 * Each boot starts the tender with posix_spawn and measures from just before the spawn:
 *   - to the guest's first console byte (the image booted and runs its init);
 *   - to the first response of a GET for PATH (with HEADER as Authorization), on a
 *     listening socket the bench bound beforehand and passes with --listen-fd DEVICE=FD, as
 *     the supervisor does: the client connects and sends at once (the kernel queues the
 *     connection) and blocks in read, so nothing is polled;
 *   - the same GET again on a new connection (a warm request, credentials cached);
 *   - to the first 200 with `--port P` instead, the client retrying connect every 50 us
 *     (what a caller of `unisec run --port` sees).
 * Each response must have status CODE (default 200), within 10 s; a tender that ended first
 * is named with its exit status. Prints the median, minimum and maximum of each. Nothing is
 * asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BOOT_RUNS_MAX 1000
#define BOOT_WAIT_S   10 /* a boot not answered by then failed (the tender may have ended) */

static double boot_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int boot_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void boot_print(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), boot_cmp);
    printf("  %-52s median %7.3f ms, min %7.3f ms, max %7.3f ms\n", what, v[n / 2], v[0], v[n - 1]);
}

static void boot_die(const char *what)
{
    fprintf(stderr, "boot: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A listening socket on 127.0.0.1, port 0 (any); *PORT gets the port. */
static int boot_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        boot_die("listening socket");
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Connects to 127.0.0.1:PORT; with RETRY, again every 50 us while refused, for BOOT_WAIT_S
 * at most. Replies are awaited for BOOT_WAIT_S at most too. */
static int boot_connect(int port, int retry)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double give_up = boot_now() + BOOT_WAIT_S * 1e3;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            boot_die("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            int one = 1;
            struct timeval wait = {BOOT_WAIT_S, 0};
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
            return fd;
        }
        if (errno != ECONNREFUSED || !retry || boot_now() > give_up)
            boot_die("connect");
        close(fd);
        usleep(50);
    }
}

static char boot_status[16] = "HTTP/1.1 200 "; /* the status line's start to expect */

/* Sends REQ on FD and reads until the status line is in; 1 when it is the expected one. */
static int boot_get(int fd, const char *req)
{
    size_t len = strlen(req), have = 0;
    char buf[64];
    if (write(fd, req, len) != (ssize_t)len)
        boot_die("write");
    while (have < 13) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    return memcmp(buf, boot_status, 13) == 0;
}

struct boot_spawn {
    pid_t pid;
    int console; /* read end of the tender's stdout */
};

/* Starts TENDER on IMAGE with ARG1 ARG2 (--listen-fd D=FD or --port P), console on a pipe. */
static void boot_spawn(struct boot_spawn *s, const char *tender, const char *image,
                       const char *arg1, const char *arg2)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        boot_die("pipe");
    const char *base = strrchr(tender, '/');
    base = base ? base + 1 : tender;
    const char *argv[8];
    int n = 0;
    argv[n++] = tender;
    if (strcmp(base, "unisec") == 0)
        argv[n++] = "run";
    argv[n++] = image;
    argv[n++] = arg1;
    argv[n++] = arg2;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    int rc = posix_spawn(&s->pid, tender, &fa, NULL, (char **)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        boot_die(tender);
    }
    close(p[1]);
    s->console = p[0];
}

static void boot_stop(struct boot_spawn *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    close(s->console);
}

/* One way to boot and what is timed from the spawn: the modes share one loop (boot_once()). */
struct boot_mode {
    const char *label;
    int own_port;     /* --port P: the tender binds the port, the client retries connect */
    int console;      /* time the first console byte instead of the first response */
    const char *warm; /* then time a second request on a new connection, so labelled; NULL: no */
};

static const struct boot_mode boot_modes[] = {
    {"spawn to first response, inherited listener", 0, 0,
     "a second request, new connection (warm)"},
    {"spawn to first console byte", 0, 1, NULL},
    {"spawn to first response, --port, connect every 50 us", 1, 0, NULL},
};

#define BOOT_MODES (sizeof(boot_modes) / sizeof(boot_modes[0]))

/* Boots IMAGE once in mode M: *T gets the time to what M times, *WARM the warm request's.
 * Returns 0, or 1 after saying what did not come. */
static int boot_once(const struct boot_mode *m, const char *tender, const char *image,
                     const char *device, const char *req, double *t, double *warm)
{
    int port, lfd = boot_listener(&port), fd, ok;
    char arg[128], c;
    struct boot_spawn s;

    if (m->own_port) {
        close(lfd); /* free again: the tender binds it */
        lfd = -1;
        snprintf(arg, sizeof(arg), "%d", port);
    } else {
        snprintf(arg, sizeof(arg), "%s=%d", device, lfd);
    }
    double t0 = boot_now();
    boot_spawn(&s, tender, image, m->own_port ? "--port" : "--listen-fd", arg);
    if (m->console) {
        ok = read(s.console, &c, 1) == 1;
        *t = boot_now() - t0;
    } else {
        fd = boot_connect(port, m->own_port);
        ok = boot_get(fd, req);
        *t = boot_now() - t0;
        close(fd);
    }
    if (lfd >= 0)
        close(lfd); /* the tender keeps its copy */
    int status;
    if (!ok && waitpid(s.pid, &status, WNOHANG) == s.pid) {
        fprintf(stderr, "boot: %s ended before answering (%s %d)\n", tender,
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        s.pid = -1;
    }
    if (ok && m->warm) {
        double t1 = boot_now();
        fd = boot_connect(port, 0);
        if (!boot_get(fd, req))
            fprintf(stderr, "boot: the second request was not answered %.12s\n", boot_status);
        *warm = boot_now() - t1;
        close(fd);
    }
    int ended = s.pid < 0; /* said above */
    boot_stop(&s);
    if (!ok && !ended && m->console)
        fprintf(stderr, "boot: %s wrote nothing on its console\n", image);
    else if (!ok && !ended)
        fprintf(stderr, "boot: no %.12s from %s (%s)\n", boot_status, image,
                m->own_port ? "with --port" : "is the device the listening one?");
    return !ok;
}

int main(int argc, char **argv)
{
    int runs = 20;
    const char *auth = NULL, *path = "/";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--auth") == 0)
            auth = argv[i + 1];
        else if (strcmp(argv[i], "--path") == 0)
            path = argv[i + 1];
        else if (strcmp(argv[i], "--expect") == 0)
            snprintf(boot_status, sizeof(boot_status), "HTTP/1.1 %.3s ", argv[i + 1]);
        else
            break;
    }
    if (argc - i != 3 || runs < 1 || runs > BOOT_RUNS_MAX) {
        fprintf(stderr,
                "usage: boot [--runs 1-%d] [--auth HEADER] [--path PATH] TENDER IMAGE "
                "DEVICE\n",
                BOOT_RUNS_MAX);
        return 2;
    }
    const char *tender = argv[i], *image = argv[i + 1], *device = argv[i + 2];
    signal(SIGPIPE, SIG_IGN);
    char req[1024];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: b\r\n%s%s%s\r\n", path,
             auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");

    static double t[BOOT_MODES][BOOT_RUNS_MAX], warm[BOOT_RUNS_MAX];
    for (size_t k = 0; k < BOOT_MODES; k++)
        for (int r = 0; r < runs; r++)
            if (boot_once(&boot_modes[k], tender, image, device, req, &t[k][r], &warm[r]) != 0)
                return 1;

    printf("%s: GET %s%s, expecting %.12s (%d boots each)\n", tender, path,
           auth ? " with credentials" : "", boot_status, runs);
    for (size_t k = 0; k < BOOT_MODES; k++) {
        boot_print(boot_modes[k].label, t[k], runs);
        if (boot_modes[k].warm != NULL)
            boot_print(boot_modes[k].warm, warm, runs);
    }
    return 0;
}
