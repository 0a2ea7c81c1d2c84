/* builder.c — the API: a builder (its compiler, cache and sources) and builds of several
 * images on the worker pool. */
#include "builder_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int builder_new(struct builder **out, const struct builder_options *opt, struct engine_diag *d)
{
    struct builder *b = calloc(1, sizeof(*b));
    const char *cache = opt ? opt->cache_dir : NULL, *cc = opt ? opt->cc : NULL;
    int e;

    *out = NULL;
    if (b == NULL)
        return -ENOMEM;
    if (cache == NULL && (cache = getenv(BUILDER_CACHE_ENV)) && !*cache)
        cache = NULL;
    if (cache)
        b->cache = strdup(cache);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        b->cache = builder_fmt("%s/unisec", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        b->cache = builder_fmt("%s/.cache/unisec", getenv("HOME"));
    else
        b->cache = strdup(".unisec-cache");
    if (cc == NULL && (cc = getenv("CC")) && !*cc)
        cc = NULL;
    b->cc = strdup(cc ? cc : "cc");
    b->src = realpath(builder_source_dir(), NULL);
    if (b->src == NULL) {
        e = -errno;
        engine_diag_add(d, builder_source_dir(), 0, 0,
                        "the unisec source tree is not there: %s (set %s)", strerror(-e),
                        BUILDER_SOURCE_ENV);
        builder_free(b);
        return e;
    }
    b->jobs = opt && opt->jobs ? opt->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (b->jobs == 0)
        b->jobs = 1;
    if (b->cache == NULL || b->cc == NULL) {
        builder_free(b);
        return -ENOMEM;
    }
    e = 0;
    for (size_t i = 0; i < 3 && e == 0; i++) {
        static const char *const sub[] = {"obj", "lib", "code"};
        char *p = builder_fmt("%s/%s", b->cache, sub[i]);
        e = p ? builder_mkdirs(p) : -ENOMEM;
        /* Linked code holds an image's configuration, a secret input's value among them: the
         * cache's owner's alone (a cache made open before is closed again). */
        if (e == 0 && i == 2 && chmod(p, 0700) < 0)
            e = -errno;
        free(p);
    }
    if (e < 0)
        engine_diag_add(d, b->cache, 0, 0, "cannot create the build cache: %s", strerror(-e));
    if (e == 0)
        e = builder_toolchain(b, d);
    if (e == 0)
        e = builder_scan(b, d);
    if (e < 0) {
        builder_free(b);
        return e;
    }
    *out = b;
    return 0;
}

void builder_free(struct builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nunits; i++)
        free(b->units[i].rel);
    free(b->units);
    free(b->src);
    free(b->cache);
    free(b->cc);
    free(b->isystem);
    builder_tls_free(b);
    free(b);
}

int builder_build(struct builder *b, const struct builder_spec *specs, size_t n,
                  const char *out_dir, struct builder_result *results, struct engine_diag *d)
{
    static const char *const targets[] = {"hvt", "spt"};
    char *lib[2] = {NULL, NULL}, *bind[2] = {NULL, NULL};
    uint8_t lib_key[2][32];
    struct builder_image *ims = calloc(n ? n : 1, sizeof(*ims));
    int r = 0, bad = 0;

    memset(results, 0, n * sizeof(*results));
    if (ims == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (builder_spec_check(&specs[i], d) < 0)
            bad = -EINVAL;
        if (b->tls_libs[0] == NULL && builder_tls_needed(&specs[i]))
            bad = engine_diag_add(
                d, NULL, 0, 0,
                "node %s level %s: the %s module needs BearSSL, Nettle and GMP, and %s finds no "
                "libbearssl.a with its headers, libhogweed.a or libgmp.a: install libbearssl-dev "
                "nettle-dev libgmp-dev",
                specs[i].node, specs[i].level,
                builder_module_find(&specs[i], "tls") ? "tls" : "tls_upstream", b->cc);
    }
    if (bad) {
        free(ims);
        return bad;
    }
    /* Commands run in other directories: every path handed to them is absolute. */
    char *out = NULL;
    if ((r = builder_mkdirs(out_dir)) < 0 || (out = realpath(out_dir, NULL)) == NULL) {
        r = r < 0 ? r : -errno;
        engine_diag_add(d, out_dir, 0, 0, "cannot create the output directory: %s", strerror(-r));
        free(ims);
        return r;
    }
    out_dir = out;
    for (int t = 0; t < 2 && r == 0; t++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(specs[i].target, targets[t]) == 0) {
                r = builder_target(b, targets[t], &lib[t], &bind[t], lib_key[t], d);
                break;
            }
    for (size_t i = 0; i < n && r == 0; i++) {
        int t = strcmp(specs[i].target, "hvt") == 0 ? 0 : 1;
        ims[i] = (struct builder_image){.b = b,
                                        .spec = &specs[i],
                                        .out_dir = out_dir,
                                        .res = &results[i],
                                        .lib = lib[t],
                                        .bind = bind[t]};
        if ((ims[i].config = builder_config(&specs[i])) == NULL)
            r = -ENOMEM;
        else
            builder_image_id(&ims[i], lib_key[t]);
    }
    if (r == 0) {
        builder_pool_run(b->jobs, ims, n, builder_image_job);
        for (size_t i = 0; i < n; i++) {
            engine_diag_move(d, &ims[i].diag);
            if (results[i].status != 0 && r == 0)
                r = results[i].status;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(ims[i].config);
        engine_diag_free(&ims[i].diag);
    }
    free(ims);
    free(out);
    for (int t = 0; t < 2; t++) {
        free(lib[t]);
        free(bind[t]);
    }
    return r;
}

void builder_results_free(struct builder_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(results[i].dir);
        results[i].dir = NULL;
    }
}
