/*
 * builder_tls.c — the TLS libraries of the tls module, found through the compiler when the
 * builder starts: BearSSL (libbearssl-dev), and for the handshake's EC work Nettle's hogweed
 * (nettle-dev) over GMP (libgmp-dev), guest/modules/tls/tls_ec.c. Their static archives are
 * linked into the images that hold the tls module and BearSSL's headers are the only ones of
 * the system a guest object may include (`-idirafter DIR/bearssl`, after the guest's own:
 * <string.h> is guest/libos/string.h; tls_ec.c declares the few Nettle calls it makes). The
 * archives' and the headers' bytes are part of the toolchain's hash, so every id changes, and
 * every image is rebuilt, when a library does. Without all three the tls module's sources are
 * not compiled and an image that needs them is refused (builder.c).
 */
#include "builder_int.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sha256.h"

/* The archives, in link order; builder_tls_probe() joins their paths with newlines. */
static const char *const builder_tls_archives[BUILDER_TLS_NLIBS] = {"libbearssl.a", "libhogweed.a",
                                                                    "libgmp.a"};

/* The first directory of the compiler's <...> search list holding bearssl/bearssl.h: *DIR
 * (caller frees), NULL when none does. */
static int builder_tls_headers(struct builder *b, char **dir)
{
    char *argv[] = {b->cc, "-xc", "-E", "-v", "/dev/null", NULL}, *out = NULL;
    int r = builder_run(b->src, argv, &out);
    *dir = NULL;
    if (r != 0) {
        free(out);
        return r < 0 ? r : 0;
    }
    char *p = strstr(out, "#include <...> search starts here:\n");
    for (p = p ? strchr(p, '\n') + 1 : NULL; p && *p == ' ';) {
        char *end = strchr(p, '\n');
        if (end == NULL)
            break;
        *end = '\0';
        char *h = builder_fmt("%s/bearssl/bearssl.h", p + 1);
        struct stat st;
        if (h == NULL) {
            free(out);
            return -ENOMEM;
        }
        int found = stat(h, &st) == 0 && S_ISREG(st.st_mode);
        free(h);
        if (found) {
            *dir = builder_fmt("%s/bearssl", p + 1);
            free(out);
            return *dir ? 0 : -ENOMEM;
        }
        p = end + 1;
    }
    free(out);
    return 0;
}

/* Adds the bytes of every header in DIR, and of each archive in LIBS, to H. */
static int builder_tls_hash(const char *dir, char *const *libs, struct engine_sha256 *h)
{
    char *pat = builder_fmt("%s/*.h", dir);
    glob_t g;
    int r = pat ? glob(pat, 0, NULL, &g) : GLOB_NOSPACE;
    free(pat);
    if (r != 0)
        return r == GLOB_NOMATCH ? -ENOENT : -ENOMEM;
    for (size_t i = 0; i < g.gl_pathc + BUILDER_TLS_NLIBS && r == 0; i++) {
        const char *path = i < g.gl_pathc ? g.gl_pathv[i] : libs[i - g.gl_pathc];
        uint8_t fh[32];
        if ((r = builder_hash_file(fh, path)) == 0) {
            engine_sha256_update(h, path, strlen(path) + 1);
            engine_sha256_update(h, fh, 32);
        }
    }
    globfree(&g);
    return r;
}

/* The path of the static archive NAME as the compiler finds it: *PATH (caller frees), NULL
 * when it finds none. 0, or a negative errno. */
static int builder_tls_archive(struct builder *b, const char *name, char **path)
{
    char *opt = builder_fmt("-print-file-name=%s", name);
    char *argv[] = {b->cc, opt, NULL};
    struct stat st;
    int r = opt ? builder_run(b->src, argv, path) : -ENOMEM;
    free(opt);
    if (r == 0 && *path != NULL) {
        (*path)[strcspn(*path, "\n")] = '\0';
        /* The compiler prints the bare name back when no library directory holds it. */
        if ((*path)[0] == '/' && stat(*path, &st) == 0 && S_ISREG(st.st_mode))
            return 0;
    }
    free(*path);
    *path = NULL;
    return r < 0 ? r : 0;
}

int builder_tls_probe(struct builder *b, char **lib, char **dir)
{
    char *paths[BUILDER_TLS_NLIBS] = {NULL};
    int r = 0;
    *lib = *dir = NULL;
    for (size_t i = 0; i < BUILDER_TLS_NLIBS && r == 0; i++)
        if ((r = builder_tls_archive(b, builder_tls_archives[i], &paths[i])) == 0 &&
            paths[i] == NULL)
            r = 1; /* not installed */
    if (r == 0 && (r = builder_tls_headers(b, dir)) == 0 && *dir != NULL &&
        (*lib = builder_fmt("%s\n%s\n%s", paths[0], paths[1], paths[2])) == NULL)
        r = -ENOMEM;
    for (size_t i = 0; i < BUILDER_TLS_NLIBS; i++)
        free(paths[i]);
    if (r != 0 || *lib == NULL) {
        free(*dir);
        *dir = NULL;
        return r < 0 ? r : 0;
    }
    return 0;
}

/* Splits LIB (builder_tls_probe()'s paths, one a line) into B->tls_libs. 0, or -ENOMEM. */
static int builder_tls_split(struct builder *b, const char *lib)
{
    for (size_t i = 0; i < BUILDER_TLS_NLIBS; i++) {
        size_t n = strcspn(lib, "\n");
        if ((b->tls_libs[i] = strndup(lib, n)) == NULL)
            return -ENOMEM;
        lib += lib[n] ? n + 1 : n;
    }
    return 0;
}

void builder_tls_free(struct builder *b)
{
    for (size_t i = 0; i < BUILDER_TLS_NLIBS; i++) {
        free(b->tls_libs[i]);
        b->tls_libs[i] = NULL;
    }
    free(b->tls_inc);
    b->tls_inc = NULL;
}

int builder_tls_use(struct builder *b, const char *lib, const char *dir, struct engine_sha256 *h)
{
    if (lib == NULL || dir == NULL)
        return 0;
    b->tls_inc = builder_fmt("-idirafter%s", dir);
    int r = b->tls_inc ? builder_tls_split(b, lib) : -ENOMEM;
    if (r == 0)
        r = builder_tls_hash(dir, b->tls_libs, h);
    if (r < 0) {
        builder_tls_free(b);
        return r == -ENOMEM ? r : 0; /* gone since it was found: as if not installed */
    }
    return 0;
}

int builder_tls_unit(const struct builder *b, const char *rel)
{
    for (size_t i = 0; i < 2 && b->tls_libs[0] == NULL; i++)
        if (strncmp(rel, builder_paths.tls_modules[i], strlen(builder_paths.tls_modules[i])) == 0)
            return 0;
    return 1;
}

int builder_tls_needed(const struct builder_spec *s)
{
    return builder_module_find(s, "tls") != NULL || builder_module_find(s, "tls_upstream") != NULL;
}
