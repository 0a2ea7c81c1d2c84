/* bench/fs.c — the mount's write and read latency beside a plain file write and a `git commit`
 * with the git command line, measured in one run on the same file system; the daemon's CPU per
 * write in all, and by step as its `metrics` file counts it: in a tight loop, and 400 ms apart
 * with what the daemon does after each (its watcher, its syncer). `bench/fs UNISEC PEER` mounts a
 * second store with another unisec binary (an older build) and interleaves the two mounts'
 * writes in blocks, so that both see the same load: the level write's figures for each, side
 * by side. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/engine/topology_gen.h"

#define BENCH_NODES  1000
#define BENCH_WRITES 400

#ifndef BENCH_UNISEC
#define BENCH_UNISEC "unisec"
#endif

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double p50, p99;
};

static struct stats summarise(double *v, size_t n)
{
    struct stats s;
    qsort(v, n, sizeof(*v), cmp_double);
    s.p50 = v[n / 2];
    s.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    return s;
}

static void die(const char *what)
{
    fprintf(stderr, "bench/fs: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t n = strlen(data);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n || close(fd) != 0)
        die(path);
}

/* Runs ARGV, waits, returns its exit status (stdout and stderr to /dev/null when QUIET). */
static int run(char *const argv[], int quiet)
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One write the way `echo V > PATH` makes it: open with O_TRUNC, write, close (the close
 * returns once the change is committed). FSYNC adds an fsync before the close. */
static double timed_write(const char *path, const char *v, int do_fsync)
{
    double t0 = now_us();
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    size_t n = strlen(v);
    if (fd < 0 || write(fd, v, n) != (ssize_t)n)
        die(path);
    if (do_fsync && fsync(fd) != 0)
        die("fsync");
    if (close(fd) != 0)
        die("close");
    return now_us() - t0;
}

static double timed_read(const char *path)
{
    char buf[4096];
    double t0 = now_us();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die(path);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    return now_us() - t0;
}

/* CPU time (user + system) PID has used, in microseconds. */
static double cpu_us(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    fclose(f);
    /* Fields 14 and 15, counted after the command name's closing parenthesis. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* The daemon's CPU time by step, from the mount's metrics file: each line of a
 * `*_cpu_seconds_total{step="..."}` counter. */
enum { NSTEP = 16 };
struct steps {
    char key[NSTEP][96];
    double v[NSTEP];
    int n;
};

static void read_steps(const char *metrics, struct steps *st)
{
    char line[256];
    FILE *f = fopen(metrics, "r");

    st->n = 0;
    if (f == NULL)
        die(metrics);
    while (fgets(line, sizeof(line), f) != NULL && st->n < NSTEP) {
        char *sp = strchr(line, ' ');
        if (line[0] == '#' || strstr(line, "_cpu_seconds_total{step=") == NULL || sp == NULL)
            continue;
        *sp = '\0';
        snprintf(st->key[st->n], sizeof(st->key[0]), "%.95s", line);
        st->v[st->n++] = strtod(sp + 1, NULL);
    }
    fclose(f);
}

/* Prints the CPU per write of each step between A and B (the same lines, in the same order). */
static void report_steps(const struct steps *a, const struct steps *b, int writes)
{
    for (int i = 0; i < a->n && i < b->n; i++)
        printf("  %-58s %7.0f us\n", b->key[i], (b->v[i] - a->v[i]) * 1e6 / writes);
}

static void report(const char *what, struct stats s, size_t n)
{
    printf("%-52s p50 %9.1f us   p99 %9.1f us   (n=%zu)\n", what, s.p50, s.p99, n);
}

/* A store and its mount by one unisec binary, for the write measurement. */
struct mount {
    const char *unisec;
    char store[PATH_MAX / 2], mnt[PATH_MAX / 2], path[PATH_MAX], metrics[PATH_MAX];
    pid_t daemon;
    struct steps st0, st1;
    double cpu;    /* microseconds, over the writes */
    double w[400]; /* the writes' latencies */
};

/* Makes store DIR/NAME from the topology TOPO and policy POLICY with M's binary and mounts it
 * at DIR/NAME.mnt; 0, or -1 when unisec fails. */
static int mount_up(struct mount *m, const char *dir, const char *name, const char *topo,
                    const char *policy)
{
    char readme[PATH_MAX];

    snprintf(m->store, sizeof(m->store), "%s/%s", dir, name);
    snprintf(m->mnt, sizeof(m->mnt), "%s/%s.mnt", dir, name);
    snprintf(m->metrics, sizeof(m->metrics), "%s/metrics", m->mnt);
    snprintf(readme, sizeof(readme), "%s/README", m->mnt);
    snprintf(m->path, sizeof(m->path), "%s/nodes/n500/security_level", m->mnt);
    if (mkdir(m->mnt, 0755) != 0)
        die(m->mnt);
    {
        char *init[] = {(char *)m->unisec, "init",         m->store,       "--from",
                        (char *)topo,      "--policy-dir", (char *)policy, NULL};
        if (run(init, 1) != 0) {
            fprintf(stderr, "bench/fs: `%s init` failed (give the unisec binary as argument)\n",
                    m->unisec);
            return -1;
        }
    }
    m->daemon = fork();
    if (m->daemon == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execlp(m->unisec, m->unisec, "mount", "-f", "--no-run", "--store", m->store, m->mnt,
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(readme, F_OK) != 0; i++)
        usleep(20000);
    if (access(readme, F_OK) != 0) {
        fprintf(stderr, "bench/fs: the mount did not come up (is /dev/fuse there?)\n");
        return -1;
    }
    return 0;
}

/* Unmounts M and reaps its daemon. An unmount refused (a process still in the mount: EBUSY)
 * is tried again for 5 s, then made lazy, and said; a daemon that still has not ended 5 s
 * later is killed, so that the bench never waits for ever. */
static void mount_down(struct mount *m)
{
    char *um[] = {"fusermount3", "-u", m->mnt, NULL};
    char *lazy[] = {"fusermount3", "-u", "-z", m->mnt, NULL};
    int i;

    for (i = 0; i < 50 && run(um, 1) != 0; i++)
        usleep(100000);
    if (i == 50) {
        fprintf(stderr, "bench/fs: %s: unmount refused for 5 s (busy?); unmounting lazily\n",
                m->mnt);
        run(lazy, 0);
    }
    for (i = 0; i < 50 && waitpid(m->daemon, NULL, WNOHANG) == 0; i++)
        usleep(100000);
    if (i == 50) {
        fprintf(stderr, "bench/fs: the daemon of %s did not end 5 s after its unmount; killed\n",
                m->mnt);
        kill(m->daemon, SIGKILL);
        waitpid(m->daemon, NULL, 0);
    }
}

/* The level writes: `echo V > nodes/X/security_level`, validated against the whole state
 * (1,000 nodes) and committed (durably) before the write returns; NW of them on each of the N
 * mounts, in blocks of NB taken in turn. Without SPREAD one node's level goes back and forth
 * (after two writes every blob and tree a write makes is stored already); with it, write I
 * makes node nI critical, so that every write makes a new state (a new blob and trees). GAP_MS
 * after each write (not timed), the daemon's CPU counted through it: what a write costs once
 * the daemon has done all it does after one (its watcher's look at the store, the deferred
 * syncs), as an operator writing now and then pays it; 0 for writes in a tight loop. */
static void level_writes(struct mount *m, int n, int nw, int nb, int spread, int gap_ms)
{
    char p[PATH_MAX];

    for (int k = 0; k < n; k++) {
        read_steps(m[k].metrics, &m[k].st0);
        m[k].cpu = 0;
    }
    for (int done = 0; done < nw; done += nb)
        for (int k = 0; k < n; k++) {
            double c0 = cpu_us(m[k].daemon);
            for (int i = done; i < done + nb && i < nw; i++) {
                if (spread)
                    snprintf(p, sizeof(p), "%s/nodes/n%d/security_level", m[k].mnt, i);
                m[k].w[i] = timed_write(spread ? p : m[k].path,
                                        spread || i % 2 ? "critical\n" : "default\n", 0);
                if (gap_ms > 0)
                    usleep((useconds_t)gap_ms * 1000);
            }
            m[k].cpu += cpu_us(m[k].daemon) - c0;
        }
    for (int k = 0; k < n; k++)
        read_steps(m[k].metrics, &m[k].st1);
}

static void report_writes(struct mount *m, int nw, const char *what)
{
    report(what, summarise(m->w, (size_t)nw), (size_t)nw);
    printf("  daemon CPU (user+system) per write: %.0f us (the rest is waiting for the disk); by "
           "step (the writing thread's CPU; commit = the store's steps below):\n",
           m->cpu / nw);
    report_steps(&m->st0, &m->st1, nw);
}

/* The two builds' writes of one kind: A (this build's mounts, before) and B (after). */
static void report_kind(const struct mount *a, int nm, int nw, int nb, const char *kind)
{
    char what[160];
    struct mount x[2] = {a[0], a[1]};

    printf("\nthe level write (%s), %s:\n", kind, x[0].unisec);
    snprintf(what, sizeof(what), "mount: echo V > nodes/X/security_level");
    report_writes(&x[0], nw, what);
    if (nm == 2) {
        struct stats s0 = summarise(x[0].w, (size_t)nw), s1 = summarise(x[1].w, (size_t)nw);
        printf("\nthe level write (%s), peer %s (interleaved in blocks of %d writes):\n", kind,
               x[1].unisec, nb);
        report_writes(&x[1], nw, "mount (peer): echo V > nodes/X/security_level");
        printf("\nratios to the peer (%s): p50 %.2fx, p99 %.2fx, daemon CPU per write %.2fx\n",
               kind, s0.p50 / s1.p50, s0.p99 / s1.p99, x[0].cpu / x[1].cpu);
    }
}

/* The file system DIR is on, as /proc/self/mountinfo gives it (type, device, options), and for
 * ext4 whether it has a journal: without one (and with `discard`), every file created skips the
 * inodes freed in the last 30 s and every freed block is discarded, which is most of what a
 * level write costs the kernel. The machine's CPUs and load beside it. */
static void print_machine(const char *dir)
{
    char line[4096], model[256] = "?", dev[64] = "", type[64] = "?", src[256] = "?",
                     opts[1024] = "";
    double load = 0;
    struct stat st;
    FILE *f;

    if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "model name : %255[^\n]", model) == 1)
                break;
        fclose(f);
    }
    if ((f = fopen("/proc/loadavg", "r")) != NULL) {
        if (fscanf(f, "%lf", &load) != 1)
            load = 0;
        fclose(f);
    }
    printf("bench/fs: one run on %ld CPUs (%s), load %.1f\n", sysconf(_SC_NPROCESSORS_ONLN), model,
           load);
    if (stat(dir, &st) != 0 || (f = fopen("/proc/self/mountinfo", "r")) == NULL)
        return;
    snprintf(dev, sizeof(dev), "%u:%u", major(st.st_dev), minor(st.st_dev));
    while (fgets(line, sizeof(line), f) != NULL) {
        char id[64], *sep = strstr(line, " - ");
        if (sscanf(line, "%*s %*s %63s", id) == 1 && strcmp(id, dev) == 0 && sep != NULL &&
            sscanf(sep + 3, "%63s %255s %1023s", type, src, opts) == 3)
            break;
        type[0] = '\0';
    }
    fclose(f);
    if (type[0] == '\0')
        return;
    printf("file system: %s on %s (%s)", type, src, opts);
    if (strcmp(type, "ext4") == 0) {
        const char *base = strrchr(src, '/') != NULL ? strrchr(src, '/') + 1 : src;
        char jbd[PATH_MAX];
        struct stat js;
        int journal = 0;
        for (int m = 0; m < 64 && !journal; m++) {
            snprintf(jbd, sizeof(jbd), "/proc/fs/jbd2/%s-%d", base, m);
            journal = stat(jbd, &js) == 0;
        }
        printf(", %s", journal ? "with a journal" : "no journal");
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *unisec = argc > 1 ? argv[1] : BENCH_UNISEC;
    const char *peer = argc > 2 ? argv[2] : NULL;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX / 4], plain[PATH_MAX], gitdir[PATH_MAX], gitfile[PATH_MAX], topo[PATH_MAX],
        policy[PATH_MAX], path[PATH_MAX];
    enum { NW = BENCH_WRITES, NB = 50, NR = 2000, NG = 100, NC = 20, NS = 100, GAP_MS = 400 };
    static struct mount m[2], alt[2], spaced[2];
    static double pw[NW], pwf[NW], r[NR], g[NG], cat[NC];
    struct stats sw, spw, spwf, sr, sg, scat;
    int nm = peer != NULL ? 2 : 1;

    snprintf(dir, sizeof(dir), "%s/unisec-bench-fs.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    print_machine(dir);
    fflush(stdout);
    snprintf(topo, sizeof(topo), "%s/topology.yaml", dir);
    snprintf(plain, sizeof(plain), "%s/plain", dir);
    snprintf(gitdir, sizeof(gitdir), "%s/git", dir);
    snprintf(gitfile, sizeof(gitfile), "%s/git/value", dir);
    {
        FILE *f = fopen(topo, "w");
        if (f == NULL || topology_gen_write(f, BENCH_NODES, 0) < 0 || fclose(f) != 0)
            die(topo);
    }
    snprintf(policy, sizeof(policy), "%s/policy", dir);
    snprintf(path, sizeof(path), "%s/policy/acl", dir);
    if (mkdir(policy, 0755) != 0)
        die(policy);
    write_file(path, "regular * GET /* allow\nrestricted admin * /* allow\n");
    m[0].unisec = unisec;
    m[1].unisec = peer;
    for (int k = 0; k < nm; k++)
        if (mount_up(&m[k], dir, k == 0 ? "store" : "peer", topo, policy) < 0)
            return 1;

    level_writes(m, nm, NW, peer != NULL ? NB : NW, 0, 0);
    alt[0] = m[0];
    alt[1] = m[1];
    sw = summarise(alt[0].w, NW);
    level_writes(m, nm, NW, peer != NULL ? NB : NW, 1, 0);
    sleep(1); /* what the daemons do after those writes done (the first ones warmed them up) */
    spaced[0] = m[0];
    spaced[1] = m[1];
    level_writes(spaced, nm, NS, peer != NULL ? NS / 4 : NS, 0, GAP_MS);
    if (peer != NULL)
        mount_down(&m[1]);
    for (int i = 0; i < NR; i++)
        r[i] = timed_read(m[0].path);
    sr = summarise(r, NR);
    /* cat of every node's security_level, one file after the other. */
    for (int k = 0; k < NC; k++) {
        char p[PATH_MAX];
        double t0 = now_us();
        for (int i = 0; i < BENCH_NODES; i++) {
            snprintf(p, sizeof(p), "%s/nodes/n%d/security_level", m[0].mnt, i);
            timed_read(p);
        }
        cat[k] = now_us() - t0;
    }
    scat = summarise(cat, NC);

    /* The same writes to a plain file of the store's file system, without and with fsync. */
    for (int i = 0; i < NW; i++)
        pw[i] = timed_write(plain, i % 2 ? "default\n" : "critical\n", 0);
    spw = summarise(pw, NW);
    for (int i = 0; i < NW; i++)
        pwf[i] = timed_write(plain, i % 2 ? "default\n" : "critical\n", 1);
    spwf = summarise(pwf, NW);

    /* The same change committed with the git command line: write the file, `git commit -a`. */
    {
        char *init[] = {"git", "init", "-q", gitdir, NULL};
        char *add[] = {"git", "-C", gitdir, "add", "value", NULL};
        if (run(init, 1) != 0)
            die("git init");
        write_file(gitfile, "default\n");
        if (run(add, 1) != 0)
            die("git add");
        for (int i = 0; i < NG; i++) {
            char *commit[] = {"git",
                              "-C",
                              gitdir,
                              "-c",
                              "user.name=bench",
                              "-c",
                              "user.email=bench@localhost",
                              "-c",
                              "core.fsync=all",
                              "commit",
                              "-q",
                              "-a",
                              "-m",
                              "bench",
                              NULL};
            double t0 = now_us();
            write_file(gitfile, i % 2 ? "default\n" : "critical\n");
            if (run(commit, 1) != 0)
                die("git commit");
            g[i] = now_us() - t0;
        }
        sg = summarise(g, NG);
    }

    printf("\nevery figure on that file system (%s), in one run\n\n", dir);
    report("mount: echo V > nodes/X/security_level (committed)", sw, NW);
    report("mount: read nodes/X/security_level", sr, NR);
    report("mount: cat nodes/*/security_level, 1000 nodes", scat, NC);
    report("plain file: open/write/close", spw, NW);
    report("plain file: open/write/fsync/close", spwf, NW);
    report("git CLI: write + git commit -a (core.fsync=all)", sg, NG);
    report_kind(alt, nm, NW, NB, "one node back and forth");
    report_kind(m, nm, NW, NB, "a new state each write: node nI made critical");
    report_kind(spaced, nm, NS, NS / 4,
                "one node back and forth, 400 ms apart: the daemon's CPU until the next write");
    printf("\nratios at p50: mount write / plain write %.1fx, / plain write+fsync %.2fx, "
           "/ git commit %.2fx\n",
           sw.p50 / spw.p50, sw.p50 / spwf.p50, sw.p50 / sg.p50);

    {
        mount_down(&m[0]);
        char *rm[] = {"rm", "-rf", dir, NULL};
        run(rm, 1);
    }
    return 0;
}
