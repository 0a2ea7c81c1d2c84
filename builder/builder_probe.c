/* builder_probe.c — what the compiler says of itself (its version, its freestanding headers,
 * where BearSSL is), asked once per process for one compiler program. The orchestrator makes a
 * builder per pass: the four runs (one a preprocessor) cost tens of ms a policy change, more
 * than placing its rules. Kept by the program's identity (the file the command resolves to on
 * PATH: device, inode, size, change times), so a compiler upgraded, replaced or edited (a new
 * file, or new times) is asked again. BearSSL's bytes are hashed at every builder all the same
 * (builder_tls_use()); a BearSSL not found is looked for again by every builder. */
#include "builder_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    pthread_mutex_t mu;
    char *key;                           /* builder_probe_key() of the compiler asked */
    char *ver, *inc, *tls_lib, *tls_dir; /* its answers */
} builder_probed = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The identity of the program CC names, as execvp() finds it, or NULL (not found: no memo). */
static char *builder_probe_key(const char *cc)
{
    const char *path = getenv("PATH");
    char *file = NULL, *key = NULL;
    struct stat st;

    if (strchr(cc, '/') != NULL) {
        file = strdup(cc);
    } else {
        for (const char *p = path ? path : "/usr/bin:/bin"; file == NULL;) {
            size_t n = strcspn(p, ":");
            char *f = builder_fmt("%.*s/%s", (int)n, n ? p : ".", cc);
            if (f != NULL && access(f, X_OK) == 0)
                file = f;
            else
                free(f);
            if (p[n] == '\0')
                break;
            p += n + 1;
        }
    }
    if (file != NULL && stat(file, &st) == 0)
        key = builder_fmt("%s\n%s\n%s\n%llu %llu %lld %lld.%09ld %lld.%09ld", cc, path ? path : "",
                          file, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                          (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                          (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    free(file);
    return key;
}

static char *builder_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Runs B's compiler for its version (*VER) and headers (*INC). 0, or -ENOENT with D. */
static int builder_probe_run(struct builder *b, char **ver, char **inc, struct engine_diag *d)
{
    char *argv[] = {b->cc, "--version", NULL};
    char *argv2[] = {b->cc, "-print-file-name=include", NULL};
    int r = builder_run(b->src, argv, ver);
    if (r != 0) {
        engine_diag_add(d, NULL, 0, 0, "the C compiler '%s' does not run: %s", b->cc,
                        *ver ? *ver : "cannot start it");
        return -ENOENT;
    }
    if ((r = builder_run(b->src, argv2, inc)) != 0 || (*inc)[0] != '/') {
        engine_diag_add(d, NULL, 0, 0, "the C compiler '%s' has no freestanding headers", b->cc);
        return -ENOENT;
    }
    (*inc)[strcspn(*inc, "\n")] = '\0';
    return 0;
}

int builder_probe(struct builder *b, char **ver, char **inc, char **tls_lib, char **tls_dir,
                  struct engine_diag *d)
{
    char *key = builder_probe_key(b->cc);
    int r = 0, hit = 0;

    *ver = *inc = *tls_lib = *tls_dir = NULL;
    pthread_mutex_lock(&builder_probed.mu);
    if (key != NULL && builder_probed.key != NULL && strcmp(key, builder_probed.key) == 0) {
        hit = 1;
        *ver = builder_dup(builder_probed.ver);
        *inc = builder_dup(builder_probed.inc);
        *tls_lib = builder_dup(builder_probed.tls_lib);
        *tls_dir = builder_dup(builder_probed.tls_dir);
        if (*ver == NULL || *inc == NULL || (builder_probed.tls_lib && *tls_lib == NULL) ||
            (builder_probed.tls_dir && *tls_dir == NULL))
            r = -ENOMEM;
    }
    pthread_mutex_unlock(&builder_probed.mu);
    if (r == 0 && !hit)
        r = builder_probe_run(b, ver, inc, d);
    if (r == 0 && *tls_lib == NULL)
        r = builder_tls_probe(b, tls_lib, tls_dir);
    if (r == 0 && !hit && key != NULL) {
        pthread_mutex_lock(&builder_probed.mu);
        free(builder_probed.key);
        free(builder_probed.ver);
        free(builder_probed.inc);
        free(builder_probed.tls_lib);
        free(builder_probed.tls_dir);
        builder_probed.key = key;
        key = NULL;
        builder_probed.ver = builder_dup(*ver);
        builder_probed.inc = builder_dup(*inc);
        builder_probed.tls_lib = builder_dup(*tls_lib);
        builder_probed.tls_dir = builder_dup(*tls_dir);
        if (builder_probed.ver == NULL || builder_probed.inc == NULL) {
            free(builder_probed.key); /* asked again next time */
            builder_probed.key = NULL;
        }
        pthread_mutex_unlock(&builder_probed.mu);
    }
    free(key);
    if (r < 0) {
        free(*ver);
        free(*inc);
        free(*tls_lib);
        free(*tls_dir);
        *ver = *inc = *tls_lib = *tls_dir = NULL;
    }
    return r;
}
