/* store_ssh.c — ssh-keygen run for the store: a commit's buffer signed (-Y sign) and a
 * signature checked against the allowed signers (-Y find-principals, -Y verify), in git's SSH
 * signature format (namespace "git"), so that `git verify-commit` agrees with the store. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SSH_OUT_MAX     (64 * 1024) /* an armored signature is well under 1 KiB */
#define SSH_ERR_MAX     512
#define SSH_TIMEOUT_MS  20000 /* a local ssh-keygen never takes this long; bounds a hang */
#define SSH_SIG_ARMOR   "-----BEGIN SSH SIGNATURE-----"
#define SSH_SIGFD_CHILD 3

/* What one run of ssh-keygen gave: stdout (NUL-terminated) and the start of stderr. */
struct ssh_run {
    char *out;
    size_t outlen;
    char err[SSH_ERR_MAX];
    size_t errlen;
};

static long ssh_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ssh_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Feeds IN to the child's stdin (FD[0]) while reading its stdout and stderr (FD[1], FD[2])
 * until both close; each fd it is done with it closes and sets to -1. */
static int ssh_pump(int fd[3], const char *in, size_t inlen, struct ssh_run *r)
{
    size_t sent = 0;
    long deadline = ssh_ms_now() + SSH_TIMEOUT_MS;

    if (inlen == 0)
        ssh_close(&fd[0]);
    while (fd[1] >= 0 || fd[2] >= 0) {
        struct pollfd p[3] = {{.fd = fd[1], .events = POLLIN},
                              {.fd = fd[2], .events = POLLIN},
                              {.fd = fd[0], .events = POLLOUT}};
        long left = deadline - ssh_ms_now();
        if (left <= 0)
            return -ETIMEDOUT;
        if (poll(p, 3, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (fd[0] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            /* A socket, not a pipe: a child that exits early gives EPIPE, not SIGPIPE. */
            ssize_t w = send(fd[0], in + sent, inlen - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            if ((w < 0 && errno != EINTR && errno != EAGAIN) || sent == inlen)
                ssh_close(&fd[0]);
        }
        for (int i = 0; i < 2; i++) {
            char tmp[4096];
            ssize_t got;
            if (fd[i + 1] < 0 || !(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            if ((got = read(fd[i + 1], tmp, sizeof(tmp))) < 0 &&
                (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                ssh_close(&fd[i + 1]);
                continue;
            }
            char *dst = i == 0 ? r->out : r->err;
            size_t *len = i == 0 ? &r->outlen : &r->errlen;
            size_t cap = i == 0 ? SSH_OUT_MAX : SSH_ERR_MAX - 1;
            size_t k = (size_t)got < cap - *len ? (size_t)got : cap - *len;
            memcpy(dst + *len, tmp, k);
            *len += k;
        }
    }
    ssh_close(&fd[0]);
    return 0;
}

/*
 * Runs ssh-keygen with ARGV (argv[0] "ssh-keygen"), IN_DATA (LEN bytes) on its stdin and, when
 * SIG is not NULL, SIG as the file /dev/fd/3. Its own session, no terminal and no askpass:
 * a key that needs a passphrase fails instead of prompting. Returns the exit status (0..255)
 * or a negative errno; R holds what it printed (free r->out).
 */
static int ssh_keygen(char *const argv[], const char *in_data, size_t len, const char *sig,
                      struct ssh_run *r)
{
    static char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C",
                                "SSH_ASKPASS_REQUIRE=never", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, sigfd = -1, rc, status;
    pid_t pid = -1;

    memset(r, 0, sizeof(*r));
    if ((r->out = malloc(SSH_OUT_MAX + 1)) == NULL)
        return -ENOMEM;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(err, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out;
    }
    if (sig != NULL) {
        /* The signature as an unnamed in-memory file, above the child's fd 3 so that the
         * dup2 below always clears its close-on-exec. */
        int m = memfd_create("unisec-sig", MFD_CLOEXEC);
        size_t slen = strlen(sig);
        if (m < 0 || write(m, sig, slen) != (ssize_t)slen ||
            (sigfd = fcntl(m, F_DUPFD_CLOEXEC, 10)) < 0) {
            rc = -errno;
            if (m >= 0)
                close(m);
            goto out;
        }
        close(m);
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (sigfd >= 0)
        posix_spawn_file_actions_adddup2(&fa, sigfd, SSH_SIGFD_CHILD);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
    {
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&at, &none);
    }
    rc = -posix_spawnp(&pid, "ssh-keygen", &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in[0] = out[1] = err[1] = -1;
    if (rc < 0)
        goto out;
    {
        int fd[3] = {in[1], out[0], err[0]};
        rc = ssh_pump(fd, in_data, len, r);
        in[1] = fd[0];
        out[0] = fd[1];
        err[0] = fd[2];
    }
    if (rc < 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            break;
    if (rc == 0)
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

out:
    for (int i = 0; i < 2; i++) {
        ssh_close(&in[i]);
        ssh_close(&out[i]);
        ssh_close(&err[i]);
    }
    ssh_close(&sigfd);
    r->out[r->outlen] = '\0';
    r->err[r->errlen] = '\0';
    /* One line of stderr for messages, without its newline. */
    r->err[strcspn(r->err, "\n")] = '\0';
    return rc;
}

/* Says why ssh-keygen could not be run or failed, in DIAG; returns RC. */
static int ssh_fail(struct engine_diag *diag, const char *dir, int rc, const char *what,
                    const struct ssh_run *r, int status)
{
    if (status == -ENOENT)
        return store_err(diag, dir, rc, "%s: ssh-keygen is not installed (openssh-client)", what);
    if (status < 0)
        return store_err(diag, dir, rc, "%s: running ssh-keygen: %s", what, strerror(-status));
    return store_err(diag, dir, rc, "%s: ssh-keygen says: %s", what,
                     r->err[0] ? r->err : "(nothing)");
}

int store_ssh_sign(const char *dir, const char *key, const char *data, size_t len, char **armored,
                   struct engine_diag *diag)
{
    char *argv[] = {"ssh-keygen", "-q", "-Y", "sign", "-n", "git", "-f", (char *)key, NULL};
    struct ssh_run r;
    int st;

    *armored = NULL;
    st = ssh_keygen(argv, data, len, NULL, &r);
    if (st != 0 || strncmp(r.out, SSH_SIG_ARMOR, strlen(SSH_SIG_ARMOR)) != 0) {
        ssh_fail(diag, dir, -EIO, "signing with the store's key", &r, st);
        free(r.out);
        return -EIO;
    }
    /* git's header holds the armor's lines; a final newline would add an empty one. */
    while (r.outlen > 0 && r.out[r.outlen - 1] == '\n')
        r.out[--r.outlen] = '\0';
    *armored = r.out;
    return 0;
}

int store_ssh_verify(const char *dir, const char *what, const char *allowed, const char *sig,
                     const char *data, size_t len, int64_t at, char principal[256],
                     struct engine_diag *diag)
{
    /* An allowed signer's valid-after and valid-before are checked at AT (now
     * when 0). */
    char when[40] = "";
    struct tm tm;
    time_t t = at > 0 ? (time_t)at : time(NULL);
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(when, sizeof(when), "-Overify-time=%Y%m%d%H%M%SZ", &tm) == 0)
        return store_err(diag, dir, -EINVAL, "%s: its time cannot be written", what);
    char *find[] = {"ssh-keygen",    "-Y", "find-principals", when, "-f",
                    (char *)allowed, "-s", "/dev/fd/3",       NULL};
    struct ssh_run r;
    int st, rc;

    principal[0] = '\0';
    if (strncmp(sig, SSH_SIG_ARMOR, strlen(SSH_SIG_ARMOR)) != 0)
        return store_err(diag, dir, -EPERM, "%s: its signature is not an SSH signature", what);
    st = ssh_keygen(find, "", 0, sig, &r);
    if (st < 0) {
        rc = ssh_fail(diag, dir, -EIO, what, &r, st);
        free(r.out);
        return rc;
    }
    if (st != 0 || r.out[0] == '\0') {
        /* ssh-keygen says why a listed key does not count (expired, not yet valid). */
        char *why = strstr(r.err, "key has expired");
        if (why == NULL)
            why = strstr(r.err, "key is not yet valid");
        rc = store_err(diag, dir, -EPERM,
                       "%s is signed by a key that is not an allowed signer%s%.*s", what,
                       why ? ": " : "", why ? (int)strcspn(why, "\n") : 0, why ? why : "");
        free(r.out);
        return rc;
    }
    /* The first principal the allowed signers give for this key, as git takes it. */
    snprintf(principal, 256, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    free(r.out);
    char *verify[] = {"ssh-keygen", "-Y",      "verify", when,  "-f", (char *)allowed,
                      "-I",         principal, "-n",     "git", "-s", "/dev/fd/3",
                      NULL};
    st = ssh_keygen(verify, data, len, sig, &r);
    if (st < 0)
        rc = ssh_fail(diag, dir, -EIO, what, &r, st);
    else if (st != 0)
        rc = store_err(diag, dir, -EPERM, "%s: its signature (by %s) does not verify: %s", what,
                       principal, r.err[0] ? r.err : "ssh-keygen refused it");
    else
        rc = 0;
    free(r.out);
    return rc;
}
