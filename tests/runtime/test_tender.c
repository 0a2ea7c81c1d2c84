/*
 * test_tender.c — boots the test guests (tests/runtime/guests) with `unisec run` (and
 * unisec-tender directly) on one target and checks their console, exit status, streams, policy
 * channel, and that hostile guests are killed with a clear message. Usage: test_tender IMAGEDIR
 * hvt|spt. The hvt run exits 77 when /dev/kvm cannot be opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

#include "contract/abi.h"
#include "harness.h"

static const char *unisec_bin, *tender_bin;
static char blob_dir[1024], blob_good[2048], blob_bad[2048];

struct proc {
    pid_t pid;
    int out, err; /* read ends of the child's stdout and stderr */
};

/* Starts EXE with ARGS (NULL-terminated, without argv[0]); KEEP_FD stays open in it. */
static struct proc spawn_exe(const char *exe, const char *const *args, int keep_fd)
{
    int out[2], err[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    const char *argv[32] = {exe};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        execv(exe, (char **)argv);
        _exit(127);
    }
    rt_child_started(pid);
    close(out[1]);
    close(err[1]);
    return (struct proc){pid, out[0], err[0]};
}

/* Starts unisec with ARGS. */
static struct proc spawn(const char *const *args, int keep_fd)
{
    return spawn_exe(unisec_bin, args, keep_fd);
}

static char *read_rest(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n + 1 == cap)
            assert_non_null(buf = realloc(buf, cap *= 2));
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    close(fd);
    return buf;
}

/* Waits for P; returns its exit status (128 + signal when killed) and its output. */
static int finish(struct proc p, char **out, char **err)
{
    *out = read_rest(p.out);
    *err = read_rest(p.err);
    int st;
    assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
    rt_child_reaped(p.pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs EXE with the NULL-terminated arguments from FIRST; returns its exit status. */
static int run_exe(const char *exe, char **out, char **err, const char *first, ...)
{
    const char *args[32];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return finish(spawn_exe(exe, args, -1), out, err);
}

#define run(out, err, ...) run_exe(unisec_bin, out, err, __VA_ARGS__)

/* Reads P's stderr until the "listening on 127.0.0.1:PORT" line; returns PORT. */
static int listening_port(struct proc *p)
{
    char line[512];
    size_t n = 0;
    while (n + 1 < sizeof(line)) {
        ssize_t r = read(p->err, line + n, 1);
        assert_true(r == 1);
        if (line[n++] != '\n')
            continue;
        line[n] = 0;
        const char *at = strstr(line, "listening on 127.0.0.1:");
        if (at)
            return atoi(at + strlen("listening on 127.0.0.1:"));
        n = 0;
    }
    fail_msg("no listening line on stderr");
    return -1;
}

static int tcp_connect(int port)
{
    int fd = rt_tcp_connect(port);
    assert_true(fd >= 0);
    return fd;
}

/* Starts the echo guest on a port of the kernel's choice (its upstream goes nowhere); *PORT
 * gets the port. */
static struct proc echo_spawn(int *port)
{
    const char *args[] = {"run",        rt_image("echo"), "--port", "0",
                          "--upstream", "up=127.0.0.1:1", NULL};
    struct proc p = spawn(args, -1);
    *port = listening_port(&p);
    return p;
}

/* Connects N non-blocking clients to PORT, each polled for reading and writing. */
static void clients_connect(struct pollfd *pfd, int n, int port)
{
    for (int i = 0; i < n; i++) {
        pfd[i] = (struct pollfd){tcp_connect(port), POLLIN | POLLOUT, 0};
        fcntl(pfd[i].fd, F_SETFL, O_NONBLOCK);
    }
}

static void write_all(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
}

static void read_exact(int fd, void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- tests ---- */

/* A copy of the hello image in a new directory under TMPDIR, its bytes changed by EDIT (if
 * not NULL) and the file grown to SIZE bytes (if not 0; sparse: the bytes past the image are in
 * no segment). DIR and COPY are the caller's. */
static void hello_copy(char dir[1024], char copy[1100], void (*edit)(uint8_t *buf, size_t n),
                       off_t size)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, 1024, "%s/unisec-hello-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(copy, 1100, "%s/hello", dir);
    static uint8_t buf[1 << 20];
    int fd = open(rt_image("hello"), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_true(n > 0 && n < (ssize_t)sizeof(buf));
    if (edit != NULL)
        edit(buf, (size_t)n);
    fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    write_all(fd, buf, (size_t)n);
    if (size > 0)
        assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
}

/* An image file is mapped, not read: one over the old 64 MiB bound runs; one over guest
 * memory's largest size is refused, saying both sizes. */
static void test_tender_large_image_file(void **state)
{
    (void)state;
    char dir[1024], copy[1100], *out, *err;
    hello_copy(dir, copy, NULL, (off_t)100 << 20);
    assert_int_equal(run(&out, &err, "run", copy, "--", "a", NULL), 7);
    assert_contains(out, "hello from unisec");
    free(out);
    free(err);
    assert_int_equal(truncate(copy, (off_t)UNISEC_MEM_MAX + 1), 0);
    assert_int_equal(run_exe(tender_bin, &out, &err, copy, NULL), 1);
    assert_contains(err, "at most 2147483648 are accepted (an image is loaded into guest memory, "
                         "which is at most 2048 MiB)");
    free(out);
    free(err);
    unlink(copy);
    rmdir(dir);
}

static void test_tender_hello_exit_status(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run(&out, &err, "run", rt_image("hello"), "--", "a", "b", NULL), 7);
    assert_contains(out, "hello from unisec: cmdline=\"a b\"");
    assert_contains(out, "used=100016 mono=1");
    assert_contains(out, "calloc zeroed");
    assert_contains(out, "boot: monotonic sane");
    assert_contains(out, "sse2=1");
    /* The wall clock in the boot info, which the guest printed before any clock hypercall. */
    const char *wall = strstr(out, "boot: wall=");
    assert_non_null(wall);
    long long diff = atoll(wall + strlen("boot: wall=")) - (long long)time(NULL);
    assert_true(diff >= -60 && diff <= 60);
    /* The seed: set, erased once taken, and another instance's is another (abi.h). */
    assert_contains(out, "canary set");
    const char *tag = strstr(out, "seed: tag ");
    assert_non_null(tag);
    assert_non_null(strstr(tag, ", set, taken once"));
    char *out2, *err2;
    assert_int_equal(run(&out2, &err2, "run", rt_image("hello"), NULL), 7);
    const char *tag2 = strstr(out2, "seed: tag ");
    assert_non_null(tag2);
    assert_true(strncmp(tag, tag2, strlen("seed: tag 12345678")) != 0);
    free(out2);
    free(err2);
    free(out);
    free(err);
}

/* The TLS device: credentials from PEM files reach the guest once; none, a wrong key, or
 * credentials for an image without the device are refused before it starts. The PEM files are
 * made by openssl (skipped without it). */
static void test_tender_tls_credentials(void **state)
{
    (void)state;
    char dir[256], cmd[1024], crt[300], key[300], other[300], *out, *err;
    if (system("command -v openssl >/dev/null") != 0)
        skip();
    snprintf(dir, sizeof(dir), "%s/unisec-tls-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-subj /CN=t -days 2 -keyout k.pem -out c.pem 2>/dev/null && openssl ecparam -name "
             "prime256v1 -genkey -noout -out o.pem 2>/dev/null",
             dir);
    assert_int_equal(system(cmd), 0);
    snprintf(crt, sizeof(crt), "%s/c.pem", dir);
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    snprintf(other, sizeof(other), "%s/o.pem", dir);
    assert_int_equal(run(&out, &err, "run", rt_image("creds"), "--port", "0", "--tls-cert", crt,
                         "--tls-key", key, "--", "once", NULL),
                     0);
    assert_contains(out, "key type 1, 1 certificate(s), taken once");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", rt_image("creds"), "--port", "0", "--", "once", NULL),
                     1);
    assert_contains(err, "the image terminates TLS: give it its certificate chain and key");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", rt_image("creds"), "--port", "0", "--tls-cert", crt,
                         "--tls-key", other, "--", "once", NULL),
                     1);
    assert_contains(err, "is not the private key of the certificate");
    free(out);
    free(err);
    assert_int_equal(
        run(&out, &err, "run", rt_image("hello"), "--tls-cert", crt, "--tls-key", key, NULL), 1);
    assert_contains(err, "the image has no tls module");
    free(out);
    free(err);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A library's checked copy that would overflow its destination panics the guest. */
static void test_tender_checked_copy_panics(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run(&out, &err, "run", rt_image("hello"), "--", "overflow", NULL), 255);
    assert_contains(out, "panic: memcpy of 16 bytes into 8");
    free(out);
    free(err);
}

/* The image's target note (namesz, descsz, type, "UNISEC" padded to 8, then its abi_version)
 * made to say the previous ABI version. */
static void hello_old_abi(uint8_t *buf, size_t n)
{
    uint32_t hdr[3] = {sizeof(UNISEC_NOTE_NAME), sizeof(struct unisec_target), UNISEC_NOTE_TARGET};
    uint8_t want[20];
    memcpy(want, hdr, sizeof(hdr));
    memcpy(want + 12, UNISEC_NOTE_NAME "\0", 8);
    uint8_t *note = memmem(buf, n, want, sizeof(want));
    assert_non_null(note);
    uint32_t old = UNISEC_ABI_VERSION - 1;
    memcpy(note + sizeof(want), &old, sizeof(old));
}

/* An image built for the previous ABI version is refused before it runs, with the fix. */
static void test_tender_refuses_old_abi(void **state)
{
    (void)state;
    char dir[1024], copy[1100], *out, *err;
    hello_copy(dir, copy, hello_old_abi, 0);
    assert_int_equal(run_exe(tender_bin, &out, &err, copy, NULL), 1);
    char msg[128];
    snprintf(msg, sizeof(msg), "image is built for ABI version %u; this tender speaks version %u",
             UNISEC_ABI_VERSION - 1, UNISEC_ABI_VERSION);
    assert_contains(err, msg);
    assert_contains(err, "rebuild it");
    assert_string_equal(out, "");
    free(out);
    free(err);
    unlink(copy);
    rmdir(dir);
}

static void test_tender_echo_streams(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    int fd = tcp_connect(port);
    char buf[16];
    write_all(fd, "ping", 4);
    read_exact(fd, buf, 4);
    assert_memory_equal(buf, "ping", 4);

    /* 1 MiB through the guest while reading back concurrently: exercises partial writes,
     * EAGAIN and the writable callback. */
    size_t len = 1 << 20, sent = 0, got = 0;
    unsigned char *data = malloc(len), *back = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 12));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (got < len) {
        struct pollfd pfd = {fd, POLLIN | (sent < len ? POLLOUT : 0), 0};
        assert_true(poll(&pfd, 1, 10000) > 0);
        if ((pfd.revents & POLLOUT) && sent < len) {
            ssize_t n = write(fd, data + sent, len - sent > 65536 ? 65536 : len - sent);
            if (n > 0)
                sent += (size_t)n;
        }
        if (pfd.revents & POLLIN) {
            ssize_t n = read(fd, back + got, len - got);
            assert_true(n > 0);
            got += (size_t)n;
        }
    }
    assert_memory_equal(data, back, len);
    free(data);
    free(back);
    close(fd);

    fd = tcp_connect(port);
    write_all(fd, "quit", 4);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    close(fd);
    assert_contains(out, "timer fired");
    assert_contains(out, "accepted 127.0.0.1:");
    assert_contains(out, "quit requested");
    free(out);
    free(err);
}

/* --port binds the image's front whatever the manifest's order ("https" though "admin" and
 * "http" come first): the one given by --port (127.0.0.2) is https's; a second --port, or
 * --listen of the front beside it, is the same device given twice; an image with several
 * listeners and no front refuses --port, naming them. */
static void test_tender_port_binds_front(void **state)
{
    (void)state;
    const char *args[] = {"run",     rt_image("ports"), "--port", "127.0.0.2:0", "--listen",
                          "admin=0", "--listen",        "http=0", NULL};
    struct proc p = spawn(args, -1);
    char line[512];
    int port = 0;
    for (int lines = 0; lines < 3;) {
        size_t n = 0;
        while (n + 1 < sizeof(line) && read(p.err, line + n, 1) == 1 && line[n] != '\n')
            n++;
        line[n] = 0;
        assert_true(n > 0);
        if (strstr(line, " listening on ") == NULL)
            continue;
        lines++;
        const char *at = strstr(line, "listening on 127.0.0.2:");
        if (at) {
            assert_non_null(strstr(line, ": https listening on"));
            port = atoi(at + strlen("listening on 127.0.0.2:"));
        }
    }
    assert_true(port > 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(0x7f000002);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char c;
    assert_int_equal(read(fd, &c, 1), 0); /* accepted on https and closed by the guest */
    close(fd);
    kill(p.pid, SIGTERM);
    char *out, *err;
    finish(p, &out, &err);
    free(out);
    free(err);

    assert_int_equal(run(&out, &err, "run", rt_image("ports"), "--port", "0", "--port", "0",
                         "--listen", "admin=0", NULL),
                     1);
    assert_contains(err, "listening device https is given twice (--port binds it: the image's "
                         "front)");
    free(out);
    free(err);
    assert_int_equal(
        run(&out, &err, "run", rt_image("ports"), "--port", "0", "--listen", "admin=0", NULL), 1);
    assert_contains(err, "give --port PORT or --listen http=[HOST:]PORT");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", rt_image("ports_nofront"), "--port", "0", NULL), 1);
    assert_contains(err, "--port: the image listens on admin, metrics and none is https or http");
    free(out);
    free(err);
}

/* Echoes LEN bytes of MSG through FD. */
static void echo_once(int fd, const char *msg)
{
    char buf[64];
    size_t len = strlen(msg);
    write_all(fd, msg, len);
    read_exact(fd, buf, len);
    assert_memory_equal(buf, msg, len);
}

/* Property: one keep-alive client's round trips of random sizes each come back byte for byte
 * (on hvt at this load the guest's POLLs go through the mailbox whenever the tender's thread
 * keeps up, and through exits when not: both serve the same bytes). */
static void test_tender_echo_round_trips(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    int fd = tcp_connect(port);
    static char out[8192], in[8192];
    uint32_t x = 0x9e3779b9u; /* fixed seed: a failure replays */
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        size_t len = 5 + (x >> 8) % (sizeof(out) - 5); /* never "quit" or "kill" alone */
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            out[k] = (char)('a' + (x >> 16) % 26);
        }
        write_all(fd, out, len);
        read_exact(fd, in, len);
        assert_memory_equal(in, out, len);
    }
    write_all(fd, "quit", 4);
    char *o, *err;
    assert_int_equal(finish(p, &o, &err), 0);
    close(fd);
    free(o);
    free(err);
}

/* A client that never reads stalls only itself; beyond --streams, connections are closed
 * at once and the ones open keep being served. */
static void test_tender_streams_bounded(void **state)
{
    (void)state;
    const char *args[] = {"run",        rt_image("echo"), "--port",    "0",
                          "--upstream", "up=127.0.0.1:1", "--streams", "2",
                          NULL};
    struct proc p = spawn(args, -1);
    int port = listening_port(&p);
    int slow = tcp_connect(port);
    echo_once(slow, "slow");
    fcntl(slow, F_SETFL, O_NONBLOCK);
    static char junk[1 << 16];
    size_t pushed = 0;
    for (int idle = 0; idle < 50 && pushed < (64u << 20);) {
        ssize_t n = write(slow, junk, sizeof(junk));
        if (n > 0) {
            pushed += (size_t)n;
            idle = 0;
        } else {
            idle++;
            usleep(2000);
        }
    }
    int fast = tcp_connect(port);
    echo_once(fast, "fast");
    int third = tcp_connect(port); /* over the limit: closed by the tender */
    char c;
    struct pollfd pfd = {third, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_true(read(third, &c, 1) <= 0);
    close(third);
    echo_once(fast, "still served");
    close(slow);
    write_all(fast, "quit", 4);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    close(fast);
    free(out);
    free(err);
}

/* Many busy keep-alive clients at once: each sends a message as soon as its last one came
 * back. While they exchange FAIR_ROUNDS messages each on average, every client must get a
 * fair part of the answers (served round by round, each gets about FAIR_ROUNDS; a guest
 * that served the newest streams first left some with none or few: their answers waited
 * while newer ones kept arriving), and in the end each gets all of its own. No turn of the
 * guest's loop may read them all: a POLL returns a bounded part of the round (tender_net.c,
 * TENDER_WAIT_EVENTS), so the first answers leave while the rest are still to be read (one
 * POLL that read every request left the clients idle until the last answer was written). */
#define FAIR_CLIENTS 400
#define FAIR_ROUNDS  30

static void test_tender_many_clients_none_starved(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    static struct pollfd pfd[FAIR_CLIENTS];
    static unsigned got[FAIR_CLIENTS], sent[FAIR_CLIENTS];
    static size_t have[FAIR_CLIENTS];
    static char in[FAIR_CLIENTS][8];
    char msg[9];
    for (int i = 0; i < FAIR_CLIENTS; i++) {
        pfd[i] = (struct pollfd){tcp_connect(port), POLLIN, 0};
        snprintf(msg, sizeof(msg), "%04d%04u", i, 0u);
        write_all(pfd[i].fd, msg, 8);
        sent[i] = 1;
    }
    unsigned total = 0, open = FAIR_CLIENTS;
    while (open > 0) {
        assert_true(poll(pfd, FAIR_CLIENTS, 10000) > 0);
        for (int i = 0; i < FAIR_CLIENTS; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            ssize_t n = read(pfd[i].fd, in[i] + have[i], 8 - have[i]);
            assert_true(n > 0);
            have[i] += (size_t)n;
            if (have[i] < 8)
                continue;
            snprintf(msg, sizeof(msg), "%04d%04u", i, got[i]);
            assert_memory_equal(in[i], msg, 8);
            have[i] = 0;
            got[i]++;
            total++;
            if (total < FAIR_CLIENTS * FAIR_ROUNDS) {
                snprintf(msg, sizeof(msg), "%04d%04u", i, sent[i]++);
                write_all(pfd[i].fd, msg, 8);
            } else if (got[i] == sent[i]) {
                pfd[i].fd = -pfd[i].fd - 1; /* done: poll skips it */
                open--;
            }
            if (total == FAIR_CLIENTS * FAIR_ROUNDS) { /* stop sending; take what is due */
                for (int k = 0; k < FAIR_CLIENTS; k++)
                    if (pfd[k].fd >= 0 && got[k] == sent[k]) {
                        pfd[k].fd = -pfd[k].fd - 1;
                        open--;
                    }
                for (int k = 0; k < FAIR_CLIENTS; k++)
                    if (got[k] < FAIR_ROUNDS / 5)
                        fail_msg("client %d got %u answers, the %d clients %u", k, got[k],
                                 FAIR_CLIENTS, total);
            }
        }
    }
    unsigned lo = got[0], hi = got[0];
    for (int i = 0; i < FAIR_CLIENTS; i++) {
        lo = got[i] < lo ? got[i] : lo;
        hi = got[i] > hi ? got[i] : hi;
        close(-pfd[i].fd - 1);
    }
    print_message("%d clients: %u to %u answers each\n", FAIR_CLIENTS, lo, hi);
    int fd = tcp_connect(port);
    write_all(fd, "quit", 4);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    const char *most = strstr(out, "at most ");
    assert_non_null(most);
    unsigned turn = (unsigned)strtoul(most + strlen("at most "), NULL, 10);
    print_message("at most %u streams read in one turn\n", turn);
    if (turn == 0 || turn > FAIR_CLIENTS / 4)
        fail_msg("one turn read %u of the %d streams", turn, FAIR_CLIENTS);
    close(fd);
    free(out);
    free(err);
}

/* Many clients at once, each sending a large message while reading the echo back slowly
 * (every other one reads a small piece only now and then): a POLL then carries many sends
 * at once, several of them partial (tender_io.h shares them with a helper thread), and every
 * client must still get back exactly what it sent. */
#define SLOW_CLIENTS 48
#define SLOW_BYTES   (256u << 10)

static unsigned char slow_byte(int client, size_t off)
{
    return (unsigned char)(client * 31 + off * 7 + (off >> 10));
}

static void test_tender_slow_readers_get_everything(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    static struct pollfd pfd[SLOW_CLIENTS];
    static size_t sent[SLOW_CLIENTS], got[SLOW_CLIENTS];
    static unsigned char out[16384], in[16384];
    clients_connect(pfd, SLOW_CLIENTS, port);
    unsigned open = SLOW_CLIENTS, turn = 0;
    while (open > 0) {
        assert_true(poll(pfd, SLOW_CLIENTS, 10000) > 0);
        turn++;
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if ((pfd[i].revents & POLLOUT) && sent[i] < SLOW_BYTES) {
                size_t n = SLOW_BYTES - sent[i] < sizeof(out) ? SLOW_BYTES - sent[i] : sizeof(out);
                for (size_t k = 0; k < n; k++)
                    out[k] = slow_byte(i, sent[i] + k);
                ssize_t w = write(pfd[i].fd, out, n);
                assert_true(w > 0 || errno == EAGAIN);
                if (w > 0)
                    sent[i] += (size_t)w;
            }
            int slow = i % 2 == 1;
            if ((pfd[i].revents & POLLIN) && (!slow || turn % 8 == 0)) {
                ssize_t r = read(pfd[i].fd, in, slow ? 1024 : sizeof(in));
                assert_true(r > 0 || (r < 0 && errno == EAGAIN));
                for (ssize_t k = 0; k < r; k++)
                    if (in[k] != slow_byte(i, got[i] + (size_t)k))
                        fail_msg("client %d: byte %zu differs", i, got[i] + (size_t)k);
                if (r > 0)
                    got[i] += (size_t)r;
            }
            pfd[i].events = (short)((sent[i] < SLOW_BYTES ? POLLOUT : 0) | POLLIN);
            if (got[i] == SLOW_BYTES && pfd[i].fd >= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open--;
            }
        }
    }
    int fd = tcp_connect(port);
    write_all(fd, "quit", 4);
    char *o, *e;
    assert_int_equal(finish(p, &o, &e), 0);
    close(fd);
    free(o);
    free(e);
}

/* A guest killed while busy streams keep the tender's POLLs full of socket work: the
 * process ends with the kill message, and nothing of it lives on: every client's
 * connection ends (no thread keeps a socket open). */
#define KILL_CLIENTS 32

static void test_tender_killed_under_load_leaves_nothing(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    static struct pollfd pfd[KILL_CLIENTS];
    static char buf[65536];
    clients_connect(pfd, KILL_CLIENTS, port);
    /* Busy: every client writes and reads as fast as it can for a while. */
    size_t echoed = 0;
    while (echoed < (16u << 20)) {
        assert_true(poll(pfd, KILL_CLIENTS, 10000) > 0);
        for (int i = 0; i < KILL_CLIENTS; i++) {
            if (pfd[i].revents & POLLOUT)
                (void)!write(pfd[i].fd, buf, 8192);
            ssize_t r = (pfd[i].revents & POLLIN) ? read(pfd[i].fd, buf, sizeof(buf)) : 0;
            assert_true(r >= 0 || errno == EAGAIN);
            echoed += r > 0 ? (size_t)r : 0;
        }
    }
    int fd = tcp_connect(port);
    write_all(fd, "kill", 4);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 255);
    assert_contains(err, "write: buffer 0xfffff000+16 lies outside guest memory");
    close(fd);
    for (int i = 0; i < KILL_CLIENTS; i++) {
        for (;;) {
            struct pollfd one = {pfd[i].fd, POLLIN, 0};
            assert_int_equal(poll(&one, 1, 5000), 1);
            ssize_t r = read(pfd[i].fd, buf, sizeof(buf));
            if (r == 0 || (r < 0 && errno != EAGAIN))
                break; /* the end, or a reset */
        }
        close(pfd[i].fd);
    }
    free(out);
    free(err);
}

/* Every thread of a tender with streams runs under the filter, the I/O helper included
 * (synchronized with TSYNC), and on hvt the mailbox thread: /proc says so for each of them (KVM's
 * own worker threads, listed under an hvt tender too, are the kernel's and not counted). */
static void test_tender_every_thread_locked_down(void **state)
{
    (void)state;
    int port;
    struct proc p = echo_spawn(&port);
    int fd = tcp_connect(port);
    echo_once(fd, "ping"); /* the guest runs: the lockdown is behind */
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)p.pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int threads = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[400], buf[4096];
        snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        if (strncmp(buf, "Name:\tkvm", 9) == 0)
            continue;
        assert_contains(buf, "\nSeccomp:\t2\n");
        threads++;
    }
    closedir(d);
    /* The serving thread and tender_io's helper; hvt adds its mailbox thread. */
    assert_int_equal(threads, strcmp(rt_target, "hvt") == 0 ? 3 : 2);
    write_all(fd, "quit", 4);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    close(fd);
    free(out);
    free(err);
}

static void test_tender_connect_upstream(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof(sa);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    char up[64];
    snprintf(up, sizeof(up), "up=127.0.0.1:%d", ntohs(sa.sin_port));
    const char *args[] = {"run", rt_image("echo"), "--port", "0", "--upstream", up,
                          "--",  "connect",        NULL};
    struct proc p = spawn(args, -1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    char buf[15];
    read_exact(fd, buf, sizeof(buf));
    assert_memory_equal(buf, "hello upstream\n", sizeof(buf));
    write_all(fd, "hi\n", 3);
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    assert_contains(out, "upstream said: hi");
    close(fd);
    close(lfd);
    free(out);
    free(err);

    /* Nobody listens there any more: the guest learns it from its write. */
    assert_int_equal(run(&out, &err, "run", rt_image("echo"), "--port", "0", "--upstream", up, "--",
                         "connect", NULL),
                     1);
    assert_contains(out, "upstream write failed: -111");
    free(out);
    free(err);

    /* A host name is resolved too (unisec-tender is linked statically: its own glibc reads
     * /etc/hosts), to 127.0.0.1 or ::1; nobody listens on port 1 of either. */
    assert_int_equal(run(&out, &err, "run", rt_image("echo"), "--port", "0", "--upstream",
                         "up=localhost:1", "--", "connect", NULL),
                     1);
    assert_contains(out, "upstream write failed: -111");
    free(out);
    free(err);
}

static void test_tender_policy_boot_blob(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run(&out, &err, "run", rt_image("policy"), "--policy-blob", blob_good, NULL),
                     0);
    assert_contains(out, "policy version 5 accepted (8 rules)");
    assert_contains(err, "policy ack 5");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", rt_image("policy"), "--policy-blob", blob_bad, NULL),
                     0);
    assert_contains(out, "policy refused: ");
    assert_contains(err, "policy refuse 0 74 ");
    free(out);
    free(err);
}

/* unisec run IMAGE A (split at spaces) with standard input a pipe from `cat FILE`; FILE NULL: from
 * the endless /dev/zero. */
static int run_piped(char **out, char **err, const char *file, const char *image, const char *a)
{
    return run_exe("/bin/sh", out, err, "-c", "cat \"$3\" 2>/dev/null | exec \"$0\" run \"$1\" $2",
                   unisec_bin, image, a, file ? file : "/dev/zero", NULL);
}

/* --policy-blob=- reads standard input, a pipe with no size, and decides as from a file; two
 * options cannot both be '-', the image cannot be, and a pipe longer than the bound is
 * refused naming the option. */
static void test_tender_policy_stdin(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run_piped(&out, &err, blob_good, rt_image("policy"), "--policy-blob=-"), 0);
    assert_contains(out, "policy version 5 accepted (8 rules)");
    assert_contains(err, "policy ack 5");
    free(out);
    free(err);
    assert_int_equal(run_piped(&out, &err, blob_bad, rt_image("policy"), "--policy-blob=-"), 0);
    assert_contains(err, "policy refuse 0 74 ");
    free(out);
    free(err);
    /* 16 MiB of guest memory takes a blob of 4 MiB at most; /dev/zero never ends. */
    assert_int_equal(run_piped(&out, &err, NULL, rt_image("policy"), "--mem=16 --policy-blob=-"),
                     1);
    assert_contains(err, "standard input: error: --policy-blob: over 4194304 bytes");
    assert_contains(err, "give more with --mem");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", rt_image("policy"), "--policy-blob=-", "--tls-key=-",
                         "--tls-cert=x", NULL),
                     2);
    assert_contains(err, "--policy-blob and --tls-key both read standard input");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", "-", NULL), 2);
    assert_contains(err, "the image cannot come from standard input");
    free(out);
    free(err);
}

static void test_tender_policy_channel(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    const char *args[] = {"run", rt_image("policy"), "--policy-fd", fdarg, "--", "2", NULL};
    struct proc p = spawn(args, sv[1]);
    close(sv[1]);
    const char *files[] = {blob_good, blob_bad};
    const char *answers[] = {"ack 5\n", "refuse 0 74 "};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        assert_non_null(f);
        unsigned char blob[8192];
        size_t n = fread(blob, 1, sizeof(blob), f);
        fclose(f);
        unsigned char hdr[8];
        for (int k = 0; k < 8; k++)
            hdr[k] = (unsigned char)((uint64_t)n >> (8 * k));
        write_all(sv[0], hdr, 8);
        write_all(sv[0], blob, n);
        char line[300];
        ssize_t r = read(sv[0], line, sizeof(line) - 1);
        assert_true(r > 0);
        line[r] = 0;
        assert_contains(line, answers[i]);
    }
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    close(sv[0]);
    free(out);
    free(err);
}

static void expect_killed(const char *why, const char *first, ...)
{
    const char *args[32];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char *out, *err;
    assert_int_equal(finish(spawn(args, -1), &out, &err), 255);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s: guest killed: ", rt_target);
    assert_contains(err, prefix);
    /* WHY may name alternatives, "a|b", when the kernel decides between them. */
    const char *found = NULL;
    char alt[256];
    snprintf(alt, sizeof(alt), "%s", why);
    for (char *save, *a = strtok_r(alt, "|", &save); a && !found; a = strtok_r(NULL, "|", &save))
        found = strstr(err, a);
    if (found == NULL)
        fail_msg("expected \"%s\" in:\n%s", why, err);
    if (strstr(out, "still alive"))
        fail_msg("the guest ran on after breaking the rules:\n%s", out);
    free(out);
    free(err);
}

static void test_tender_hostile_bad_pointer(void **state)
{
    (void)state;
    expect_killed("console: buffer 0xfffff000+4096 lies outside guest memory", "run",
                  rt_image("badptr"), "--", "console", NULL);
    expect_killed("hypercall clock: argument 0xfffffff8+24 lies outside guest memory", "run",
                  rt_image("badptr"), "--", "arg", NULL);
    expect_killed(strcmp(rt_target, "hvt") == 0 ? "which is neither its memory nor a hypercall"
                                                : "unknown hypercall 99",
                  "run", rt_image("badptr"), "--", "hc", NULL);
    /* hvt: a port I/O exit or a #GP turned triple fault, depending on the hypervisor. */
    expect_killed(strcmp(rt_target, "hvt") == 0 ? "(rip=0x" : "segmentation fault", "run",
                  rt_image("badptr"), "--", "port", NULL);
    expect_killed("recv: buffer 0xfffff000+8192 lies outside guest memory", "run",
                  rt_image("badptr"), "--", "recv", NULL);
}

/* hvt's mailbox (contract/abi.h) is guest memory: what the guest posts there is checked like
 * a hypercall's argument, whatever it scribbles over the mailbox's words, and a post raced
 * by an exit is served one at a time with it. spt offers no mailbox. */
static void test_tender_hostile_mailbox(void **state)
{
    (void)state;
    if (strcmp(rt_target, "hvt") != 0) {
        char *out, *err;
        const char *args[] = {"run", rt_image("mailbox"), "--port", "0", "--", "arg", NULL};
        assert_int_equal(finish(spawn(args, -1), &out, &err), 0);
        assert_contains(out, "no mailbox");
        free(out);
        free(err);
        return;
    }
    expect_killed("hypercall poll: argument 0xfffffff0+", "run", rt_image("mailbox"), "--port", "0",
                  "--", "arg", NULL);
    expect_killed("recv: buffer 0xfffff000+8192 lies outside guest memory", "run",
                  rt_image("mailbox"), "--port", "0", "--", "recv", NULL);
    char *out, *err;
    const char *args[] = {"run", rt_image("mailbox"), "--port", "0", "--", "race", NULL};
    assert_int_equal(finish(spawn(args, -1), &out, &err), 0);
    assert_contains(out, "still alive");
    free(out);
    free(err);
}

/* A POLL the mailbox thread serves may read a policy frame, whose buffer the tender must get
 * without a malloc arena of the thread's own (mapped with mprotect, which the lockdown
 * forbids), whatever the allocator (glibc's, or a sanitizer's). */
static void test_tender_mailbox_policy(void **state)
{
    (void)state;
    if (strcmp(rt_target, "hvt") != 0)
        skip();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    const char *args[] = {
        "run", rt_image("mailbox"), "--port", "0", "--policy-fd", fdarg, "--", "policy", NULL};
    struct proc p = spawn(args, sv[1]);
    close(sv[1]);
    /* A small frame (from a heap arena, were it malloc'd), then a large one (mapped). */
    static unsigned char blob[256 << 10];
    size_t sizes[] = {100, sizeof(blob)};
    for (int i = 0; i < 2; i++) {
        unsigned char hdr[8];
        for (int k = 0; k < 8; k++)
            hdr[k] = (unsigned char)((uint64_t)sizes[i] >> (8 * k));
        write_all(sv[0], hdr, 8);
        write_all(sv[0], blob, sizes[i]);
    }
    char *out, *err;
    assert_int_equal(finish(p, &out, &err), 0);
    close(sv[0]);
    assert_contains(out, "policy blob of 262144 bytes");
    assert_contains(out, "still alive");
    free(out);
    free(err);
}

static void test_tender_hostile_undeclared_device(void **state)
{
    (void)state;
    expect_killed("accept on device 0, which the manifest does not declare as a listener", "run",
                  rt_image("undeclared"), "--upstream", "up=127.0.0.1:1", NULL);
}

/* Whether this kernel runs the 32-bit ABI's system calls (IA32 emulation, built in and not turned
 * off): without it int $0x80 is a general protection fault, which spt reports as a segmentation
 * fault before seccomp sees the call. Asked of a child of the test's own. */
static int host_runs_32bit_calls(void)
{
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        long ret = 20;            /* getpid in the 32-bit ABI */
        signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: the fault ends the child */
        __asm__ volatile("int $0x80" : "+a"(ret) : : "r8", "r9", "r10", "r11", "memory");
        _exit(ret > 0 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_tender_hostile_syscall(void **state)
{
    (void)state;
    /* Each way into a Linux kernel: SYSCALL, the 32-bit int $0x80, SYSENTER. On hvt each is
     * a triple fault (SYSCALL at an unmapped LSTAR, never the memory at 0: on nested KVM it
     * enters CPL 0 there); on spt, seccomp or the fault, always with a report. */
    const struct {
        const char *arg, *spt;
    } ways[] = {
        {"syscall", "system call 39 is not allowed for this image"},
        {"int80", host_runs_32bit_calls()
                      ? "system call 20 of the 32-bit ABI is not allowed for this image"
                      : "segmentation fault (signal 11"},
        /* SYSENTER's 32-bit entry reads a word at the guest's EBP: a fault if it points
         * nowhere, else the call reaches seccomp. AMD's processors have no SYSENTER in 64-bit
         * mode: an illegal instruction. */
        {"sysenter", "segmentation fault (signal 11|system call 20 of the 32-bit ABI|"
                     "illegal instruction (signal 4"},
    };
    int hvt = strcmp(rt_target, "hvt") == 0;
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
        expect_killed(hvt ? "triple-faulted" : ways[i].spt, "run", rt_image("syscall"), "--",
                      ways[i].arg, NULL);
    /* The host is unaffected: the next guest boots as before. */
    test_tender_hello_exit_status(state);
}

static void test_tender_refuses_bad_configuration(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run(&out, &err, "run", rt_image("echo"), "--upstream", "up=127.0.0.1:1", NULL),
                     1);
    assert_contains(err, "give --port PORT or --listen echo=[HOST:]PORT");
    free(out);
    free(err);
    assert_int_equal(
        run(&out, &err, "run", rt_image("hello"), "--upstream", "up=127.0.0.1:1", NULL), 1);
    assert_contains(err, "the image declares no upstream or PDP device named up");
    free(out);
    free(err);
    assert_int_equal(run(&out, &err, "run", "README", NULL), 1);
    assert_contains(err, "README: error: not an ELF file");
    free(out);
    free(err);
}

/* unisec-tender itself: the same run without unisec, its own name in messages, bad
 * arguments refused with a usage message, and `unisec run` failing clearly without it. */
static void test_tender_exe_arguments(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run_exe(tender_bin, &out, &err, rt_image("hello"), "--", "a", "b", NULL), 7);
    assert_contains(out, "hello from unisec: cmdline=\"a b\"");
    free(out);
    free(err);
    assert_int_equal(run_exe(tender_bin, &out, &err, NULL), 2);
    assert_contains(err, "unisec-tender: no image given");
    assert_contains(err, "usage: unisec-tender IMAGE [--port=[HOST:]PORT]");
    free(out);
    free(err);
    assert_int_equal(run_exe(tender_bin, &out, &err, rt_image("hello"), "--mem", NULL), 2);
    assert_contains(err, "unisec-tender: option '--mem' needs a value");
    free(out);
    free(err);
    assert_int_equal(run_exe(tender_bin, &out, &err, rt_image("hello"), "--mem", "0", NULL), 2);
    assert_contains(err, "unisec-tender: --mem '0': expected a whole number from 1 to");
    free(out);
    free(err);
    assert_int_equal(run_exe(tender_bin, &out, &err, rt_image("hello"), rt_image("echo"), NULL), 2);
    assert_contains(err, "unisec-tender: one image at a time");
    free(out);
    free(err);
    assert_int_equal(run_exe(tender_bin, &out, &err, "--help", NULL), 0);
    assert_contains(out, "usage: unisec-tender IMAGE");
    free(out);
    free(err);
    /* Through unisec, messages name the command the user typed. */
    assert_int_equal(run(&out, &err, "run", "--control-fd", "1", NULL), 2);
    assert_contains(err, "unisec run: --control-fd wants an open descriptor number above 2");
    assert_contains(err, "usage: unisec run IMAGE");
    free(out);
    free(err);

    /* A unisec with no unisec-tender beside it. */
    char dir[1024], copy[1100];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/unisec-notender-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(copy, sizeof(copy), "%s/unisec", dir);
    int in = open(unisec_bin, O_RDONLY | O_CLOEXEC);
    int outfd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    assert_true(in >= 0 && outfd >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        write_all(outfd, buf, (size_t)n);
    assert_int_equal(n, 0);
    close(in);
    close(outfd);
    assert_int_equal(run_exe(copy, &out, &err, "run", rt_image("hello"), NULL), 1);
    assert_contains(err, "unisec-tender: error: cannot execute the tender");
    assert_contains(err, "installed beside unisec");
    free(out);
    free(err);
    unlink(copy);
    rmdir(dir);
}

/* Compiles the example policy into a blob and a corrupted copy of it. */
static void make_blobs(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(blob_dir, sizeof(blob_dir), "%s/unisec-tender-XXXXXX", tmp);
    if (mkdtemp(blob_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(blob_good, sizeof(blob_good), "%s/good.blob", blob_dir);
    snprintf(blob_bad, sizeof(blob_bad), "%s/bad.blob", blob_dir);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(unisec_bin, unisec_bin, "acl", "compile", "mount-examples/policy", "--version", "5",
              "-o", blob_good, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(blob_good, "rb");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || f == NULL) {
        fprintf(stderr, "cannot compile the example policy\n");
        exit(1);
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    buf[0] ^= 0x20; /* breaks the magic */
    f = fopen(blob_bad, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
}

static void remove_blobs(void)
{
    unlink(blob_good);
    unlink(blob_bad);
    rmdir(blob_dir);
}

int main(int argc, char **argv)
{
    static const char *const env[] = {"UNISEC", "UNISEC_TENDER", NULL};
    int rc = rt_harness_start(argc, argv, env,
                              "UNISEC=PATH UNISEC_TENDER=PATH test_tender IMAGEDIR hvt|spt");
    if (rc != 0)
        return rc;
    unisec_bin = getenv("UNISEC");
    tender_bin = getenv("UNISEC_TENDER");
    make_blobs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tender_hello_exit_status, rt_teardown),
        cmocka_unit_test_teardown(test_tender_large_image_file, rt_teardown),
        cmocka_unit_test_teardown(test_tender_checked_copy_panics, rt_teardown),
        cmocka_unit_test_teardown(test_tender_tls_credentials, rt_teardown),
        cmocka_unit_test_teardown(test_tender_refuses_old_abi, rt_teardown),
        cmocka_unit_test_teardown(test_tender_echo_streams, rt_teardown),
        cmocka_unit_test_teardown(test_tender_port_binds_front, rt_teardown),
        cmocka_unit_test_teardown(test_tender_streams_bounded, rt_teardown),
        cmocka_unit_test_teardown(test_tender_many_clients_none_starved, rt_teardown),
        cmocka_unit_test_teardown(test_tender_slow_readers_get_everything, rt_teardown),
        cmocka_unit_test_teardown(test_tender_killed_under_load_leaves_nothing, rt_teardown),
        cmocka_unit_test_teardown(test_tender_every_thread_locked_down, rt_teardown),
        cmocka_unit_test_teardown(test_tender_connect_upstream, rt_teardown),
        cmocka_unit_test_teardown(test_tender_policy_boot_blob, rt_teardown),
        cmocka_unit_test_teardown(test_tender_policy_stdin, rt_teardown),
        cmocka_unit_test_teardown(test_tender_policy_channel, rt_teardown),
        cmocka_unit_test_teardown(test_tender_hostile_bad_pointer, rt_teardown),
        cmocka_unit_test_teardown(test_tender_echo_round_trips, rt_teardown),
        cmocka_unit_test_teardown(test_tender_hostile_mailbox, rt_teardown),
        cmocka_unit_test_teardown(test_tender_mailbox_policy, rt_teardown),
        cmocka_unit_test_teardown(test_tender_hostile_undeclared_device, rt_teardown),
        cmocka_unit_test_teardown(test_tender_hostile_syscall, rt_teardown),
        cmocka_unit_test_teardown(test_tender_refuses_bad_configuration, rt_teardown),
        cmocka_unit_test_teardown(test_tender_exe_arguments, rt_teardown),
    };
    rc = cmocka_run_group_tests_name(rt_target, tests, NULL, NULL);
    remove_blobs();
    return rc;
}
