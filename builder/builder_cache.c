/* builder_cache.c — the object cache: every guest source compiled once per target into
 * CACHE/obj/KEY.o (KEY: the hash of everything that went into it), and the modules' archive. */
#include "builder_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"

/* Flags of every guest object (guest/libos/README.md), plus the reproducibility ones. */
static const char *const builder_cflags[] = {"-std=gnu11",
                                             "-O2",
                                             "-Wall",
                                             "-Wextra",
                                             "-ffreestanding",
                                             "-nostdinc",
                                             "-fno-pie",
                                             "-fno-pic",
                                             "-fno-stack-protector",
                                             "-fno-builtin-printf",
                                             "-fno-asynchronous-unwind-tables",
                                             "-fno-unwind-tables",
                                             "-mno-red-zone",
                                             "-fno-sanitize=all",
                                             "-fno-ident",
                                             "-ffunction-sections",
                                             "-fdata-sections",
                                             NULL};

/* Guest sources, relative to the source tree: globs expanded in sorted order. */

int builder_toolchain(struct builder *b, struct engine_diag *d)
{
    char *ver, *tls_lib, *tls_dir;
    int r = builder_probe(b, &ver, &b->isystem, &tls_lib, &tls_dir, d);
    if (r < 0)
        return r;
    struct engine_sha256 h;
    engine_sha256_init(&h);
    engine_sha256_update(&h, BUILDER_FORMAT, sizeof(BUILDER_FORMAT));
    engine_sha256_update(&h, ver, strlen(ver) + 1);
    for (size_t i = 0; builder_cflags[i]; i++)
        engine_sha256_update(&h, builder_cflags[i], strlen(builder_cflags[i]) + 1);
    r = builder_tls_use(b, tls_lib, tls_dir, &h);
    free(ver);
    free(tls_lib);
    free(tls_dir);
    if (r < 0)
        return r;
    engine_sha256_final(&h, b->toolchain);
    return 0;
}

/* One object of one target: compiled unless the cache holds it. */
struct builder_obj {
    struct builder *b;
    const struct builder_file *unit;
    const char *target;
    uint8_t key[32];
    char *path;   /* CACHE/obj/KEY.o */
    char *tmp;    /* where it was compiled, before it is stored at PATH; NULL when cached */
    char *output; /* the compiler's messages on failure */
    int status;
};

static void builder_obj_key(struct builder *b, const struct builder_file *u, const char *target,
                            uint8_t key[32])
{
    struct engine_sha256 h;
    engine_sha256_init(&h);
    engine_sha256_update(&h, b->toolchain, 32);
    engine_sha256_update(&h, b->headers, 32);
    engine_sha256_update(&h, target, strlen(target) + 1);
    engine_sha256_update(&h, u->rel, strlen(u->rel) + 1);
    engine_sha256_update(&h, u->hash, 32);
    engine_sha256_final(&h, key);
}

/* The compiler's command line for SRC (relative to CWD) into OUT. ARGV has room for 40. */
static void builder_cc_argv(struct builder *b, char **argv, char *isys, char *inc1, char *inc2,
                            char *map, const char *src, const char *out)
{
    size_t k = 0;
    argv[k++] = b->cc;
    for (size_t i = 0; builder_cflags[i]; i++)
        argv[k++] = (char *)builder_cflags[i];
    argv[k++] = "-isystem";
    argv[k++] = isys;
    argv[k++] = inc1;
    argv[k++] = inc2;
    if (b->tls_inc)
        argv[k++] = b->tls_inc;
    argv[k++] = map;
    argv[k++] = "-c";
    argv[k++] = (char *)src;
    argv[k++] = "-o";
    argv[k++] = (char *)out;
    argv[k] = NULL;
}

/* Compiles SRC (relative to CWD, so that no directory is recorded in the object) into the
 * file OUT as it is (no temporary name: see builder_compile()). */
static int builder_compile_to(struct builder *b, const char *cwd, const char *src, const char *out,
                              char **output)
{
    char *inc1 = builder_fmt("-I%s/%s", b->src, builder_paths.libos),
         *inc2 = builder_fmt("-I%s", b->src);
    char *map = builder_fmt("-ffile-prefix-map=%s=.", b->src);
    char *argv[40];
    int r = -ENOMEM;

    *output = NULL;
    if (inc1 && inc2 && map) {
        builder_cc_argv(b, argv, b->isystem, inc1, inc2, map, src, out);
        r = builder_run(cwd, argv, output);
    }
    free(inc1);
    free(inc2);
    free(map);
    return r;
}

/* The same into OUT (an absolute path) through a temporary name and a rename. */
int builder_compile(struct builder *b, const char *cwd, const char *src, const char *out,
                    char **output)
{
    char *tmp = builder_tmp_name(out);
    int r;

    *output = NULL;
    if (tmp == NULL)
        return -ENOMEM;
    r = builder_compile_to(b, cwd, src, tmp, output);
    if (r == 0 && rename(tmp, out) < 0)
        r = -errno;
    if (r != 0)
        unlink(tmp);
    free(tmp);
    return r;
}

/* Compiles a guest object the cache lacks into O->tmp; builder_target() stores it once it has
 * checked that the sources compiled are still those the key was made from. */
static void builder_obj_job(void *jobs, size_t i)
{
    struct builder_obj *o = &((struct builder_obj *)jobs)[i];
    uint8_t h[32];
    char *src;

    if (access(o->path, F_OK) == 0)
        return;
    if ((o->tmp = builder_tmp_name(o->path)) == NULL) {
        o->status = -ENOMEM;
        return;
    }
    o->status = builder_compile_to(o->b, o->b->src, o->unit->rel, o->tmp, &o->output);
    if (o->status != 0)
        return;
    /* The key holds the hash the source had when the builder was made: the bytes just
     * compiled must be those, or the cache would keep another source's object under it. */
    if ((src = builder_fmt("%s/%s", o->b->src, o->unit->rel)) == NULL ||
        builder_hash_file(h, src) < 0 || memcmp(h, o->unit->hash, 32) != 0) {
        o->status = src == NULL ? -ENOMEM : -ESTALE;
        free(o->output); /* the compiler's (empty) messages */
        o->output = NULL;
        if (src != NULL && (o->output = builder_fmt("%s changed since the builder read it (during "
                                                    "this build); build again",
                                                    src)) == NULL)
            o->status = -ENOMEM;
    }
    free(src);
}

/* Compiles what the cache lacks for TARGET and archives the modules: *LIB and *BIND. */
int builder_target(struct builder *b, const char *target, char **lib, char **bind,
                   uint8_t lib_key[32], struct engine_diag *d)
{
    struct builder_obj *objs = calloc(b->nunits, sizeof(*objs));
    char *bind_name = builder_fmt("%s/%s_bind.c", builder_paths.libos, target);
    size_t n = 0;
    int r = 0;
    struct engine_sha256 h;

    *lib = *bind = NULL;
    if (objs == NULL || bind_name == NULL) {
        free(objs);
        free(bind_name);
        return -ENOMEM;
    }
    engine_sha256_init(&h);
    for (size_t i = 0; i < b->nunits; i++) {
        const struct builder_file *u = &b->units[i];
        if ((u->binding && strcmp(u->rel, bind_name) != 0) || !builder_tls_unit(b, u->rel))
            continue;
        struct builder_obj *o = &objs[n++];
        char hex[65];
        o->b = b;
        o->unit = u;
        o->target = target;
        builder_obj_key(b, u, target, o->key);
        builder_hex(hex, o->key, 32);
        o->path = builder_fmt("%s/obj/%s.o", b->cache, hex);
        if (o->path == NULL) {
            r = -ENOMEM;
            goto cleanup;
        }
        if (u->binding)
            *bind = strdup(o->path);
        else
            engine_sha256_update(&h, o->key, 32);
    }
    engine_sha256_final(&h, lib_key);
    if (*bind == NULL) {
        r = engine_diag_add(d, NULL, 0, 0, "target %s has no binding %s/%s", target, b->src,
                            bind_name);
        goto cleanup;
    }
    builder_pool_run(b->jobs, objs, n, builder_obj_job);
    for (size_t i = 0; i < n; i++)
        if (objs[i].status != 0) {
            engine_diag_add(d, objs[i].unit->rel, 0, 0, "compiling for %s failed:\n%s", target,
                            objs[i].output ? objs[i].output : "");
            r = objs[i].status < 0 ? objs[i].status : -EIO;
        }
    if (r != 0)
        goto cleanup;
    /* What was compiled included the headers as they are now: they must be those the keys
     * were made from before the objects are stored under them. */
    for (size_t i = 0; i < n && r == 0; i++)
        if (objs[i].tmp != NULL) {
            uint8_t hh[32];
            if ((r = builder_headers_hash(b->src, hh, d)) == 0 && memcmp(hh, b->headers, 32) != 0)
                r = engine_diag_add(d, b->src, 0, 0,
                                    "the guest headers changed since the builder read them "
                                    "(during this build); build again");
            break;
        }
    for (size_t i = 0; i < n && r == 0; i++)
        if (objs[i].tmp != NULL && rename(objs[i].tmp, objs[i].path) < 0) {
            r = -errno;
            engine_diag_add(d, objs[i].path, 0, 0, "cannot store the object: %s", strerror(-r));
        }
    if (r != 0)
        goto cleanup;
    char hex[65];
    builder_hex(hex, lib_key, 32);
    *lib = builder_fmt("%s/lib/%s.a", b->cache, hex);
    if (*lib == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    if (access(*lib, F_OK) != 0) {
        /* D: deterministic (no timestamps, uids or modes in the archive). */
        char *tmp = builder_tmp_name(*lib), *out = NULL;
        char **argv = calloc(n + 4, sizeof(*argv));
        size_t k = 0;
        if (tmp == NULL || argv == NULL) {
            free(tmp);
            free(argv);
            r = -ENOMEM;
            goto cleanup;
        }
        argv[k++] = "ar";
        argv[k++] = "rcD";
        argv[k++] = tmp;
        for (size_t i = 0; i < n; i++)
            if (!objs[i].unit->binding)
                argv[k++] = objs[i].path;
        unlink(tmp);
        r = builder_run(b->cache, argv, &out);
        if (r == 0 && rename(tmp, *lib) < 0)
            r = -errno;
        if (r != 0) {
            engine_diag_add(d, NULL, 0, 0, "archiving the modules failed: %s", out ? out : "");
            unlink(tmp);
            r = r < 0 ? r : -EIO;
        }
        free(out);
        free(tmp);
        free(argv);
    }

cleanup:
    for (size_t i = 0; i < n; i++) {
        if (objs[i].tmp != NULL)
            unlink(objs[i].tmp); /* stored, or not to be */
        free(objs[i].tmp);
        free(objs[i].path);
        free(objs[i].output);
    }
    free(objs);
    free(bind_name);
    if (r != 0) {
        free(*lib);
        free(*bind);
        *lib = *bind = NULL;
    }
    return r;
}
