/*
 * builder_tls.c — the TLS library of the tls module: BearSSL (libbearssl-dev), found through
 * the compiler when the builder starts. Its static archive is linked into the images that hold
 * the tls module and its headers are the only ones of the system a guest object may include
 * (`-idirafter DIR/bearssl`, after the guest's own: <string.h> is guest/libos/string.h). The
 * archive's and the headers' bytes are part of the toolchain's hash, so every id changes,
 * and every image is rebuilt, when the library does. Without it the tls module's sources are
 * not compiled and an image that needs them is refused (builder_tls_missing()).
 */
#include "builder_int.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sha256.h"

#define BUILDER_TLS_ARCHIVE "libbearssl.a"

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

/* Adds the bytes of every header in DIR, and of the archive, to H. */
static int builder_tls_hash(const char *dir, const char *lib, struct engine_sha256 *h)
{
    char *pat = builder_fmt("%s/*.h", dir);
    glob_t g;
    int r = pat ? glob(pat, 0, NULL, &g) : GLOB_NOSPACE;
    free(pat);
    if (r != 0)
        return r == GLOB_NOMATCH ? -ENOENT : -ENOMEM;
    for (size_t i = 0; i <= g.gl_pathc && r == 0; i++) {
        const char *path = i < g.gl_pathc ? g.gl_pathv[i] : lib;
        uint8_t fh[32];
        if ((r = builder_hash_file(fh, path)) == 0) {
            engine_sha256_update(h, path, strlen(path) + 1);
            engine_sha256_update(h, fh, 32);
        }
    }
    globfree(&g);
    return r;
}

int builder_tls_probe(struct builder *b, char **lib, char **dir)
{
    char *argv[] = {b->cc, "-print-file-name=" BUILDER_TLS_ARCHIVE, NULL};
    int r = builder_run(b->src, argv, lib);
    struct stat st;
    *dir = NULL;
    if (r != 0 || *lib == NULL) {
        free(*lib);
        *lib = NULL;
        return r < 0 ? r : 0;
    }
    (*lib)[strcspn(*lib, "\n")] = '\0';
    /* The compiler prints the bare name back when no library directory holds it. */
    if ((*lib)[0] != '/' || stat(*lib, &st) != 0 || !S_ISREG(st.st_mode) ||
        (r = builder_tls_headers(b, dir)) < 0 || *dir == NULL) {
        free(*lib);
        *lib = NULL;
        return r < 0 ? r : 0;
    }
    return 0;
}

int builder_tls_use(struct builder *b, const char *lib, const char *dir, struct engine_sha256 *h)
{
    if (lib == NULL || dir == NULL)
        return 0;
    b->tls_inc = builder_fmt("-idirafter%s", dir);
    b->tls_lib = strdup(lib);
    int r = b->tls_inc && b->tls_lib ? builder_tls_hash(dir, lib, h) : -ENOMEM;
    if (r < 0) {
        free(b->tls_lib);
        free(b->tls_inc);
        b->tls_lib = b->tls_inc = NULL;
        return r == -ENOMEM ? r : 0; /* gone since it was found: as if not installed */
    }
    return 0;
}

int builder_tls_unit(const struct builder *b, const char *rel)
{
    size_t n = strlen(builder_paths.tls_module);
    return b->tls_lib != NULL || strncmp(rel, builder_paths.tls_module, n) != 0;
}
