/* builder_run.c — the builder's commands (their output captured) and its worker pool. */
#include "builder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Runs ARGV in directory CWD, its stdout and stderr captured into *OUTPUT (caller frees; at
 * most BUILDER_OUTPUT_MAX bytes kept). Returns the exit status (0..255), or a negative errno
 * when it could not run (then *OUTPUT says why).
 */
int builder_run(const char *cwd, char *const argv[], char **output)
{
    int fds[2], status;
    char *buf = malloc(BUILDER_OUTPUT_MAX + 1);
    size_t n = 0;
    pid_t pid;

    *output = NULL;
    if (buf == NULL)
        return -ENOMEM;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        free(buf);
        return -errno;
    }
    if ((pid = fork()) < 0) {
        int e = -errno;
        close(fds[0]);
        close(fds[1]);
        free(buf);
        return e;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        if (chdir(cwd) == 0)
            execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char tmp[4096];
        ssize_t r = read(fds[0], tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t k = (size_t)r < BUILDER_OUTPUT_MAX - n ? (size_t)r : BUILDER_OUTPUT_MAX - n;
        memcpy(buf + n, tmp, k);
        n += k;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            free(buf);
            return -errno;
        }
    buf[n] = '\0';
    *output = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the worker pool ---- */

struct builder_pool {
    pthread_mutex_t lock;
    size_t next, n;
    void (*fn)(void *job, size_t i);
    void *jobs;
};

static void *builder_worker(void *arg)
{
    struct builder_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i == p->n)
            return NULL;
        p->fn(p->jobs, i);
    }
}

/* Runs FN(JOBS, i) for i in [0, N) on up to THREADS threads; returns when all are done. */
void builder_pool_run(unsigned threads, void *jobs, size_t n, void (*fn)(void *, size_t))
{
    struct builder_pool p = {.lock = PTHREAD_MUTEX_INITIALIZER, .n = n, .fn = fn, .jobs = jobs};
    pthread_t t[64];
    unsigned k = 0;
    if (threads > 64)
        threads = 64;
    for (; k + 1 < threads && k + 1 < n; k++)
        if (pthread_create(&t[k], NULL, builder_worker, &p) != 0)
            break;
    builder_worker(&p); /* the calling thread works too */
    for (unsigned i = 0; i < k; i++)
        pthread_join(t[i], NULL);
}
