/* builder_sources.c — the guest's sources and headers as the builder reads them: names and
 * hashes, from which every object's cache key is made. */
#include "builder_int.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "engine/engine.h"

/* Calls FN(ARG, REL, HASH) for every file under SRC that GLOBS match (sorted within each glob),
 * REL relative to SRC and HASH the SHA-256 of its contents. Returns 0, FN's nonzero value, or a
 * negative errno with a message in D (which may be NULL). */
static int builder_glob_files(const char *src, const char *const *globs,
                              int (*fn)(void *arg, const char *rel, const uint8_t hash[32]),
                              void *arg, struct engine_diag *d)
{
    for (size_t gi = 0; globs[gi]; gi++) {
        glob_t g;
        char *pat = builder_fmt("%s/%s", src, globs[gi]);
        int r = pat ? glob(pat, 0, NULL, &g) : GLOB_NOSPACE;
        free(pat);
        if (r == GLOB_NOMATCH)
            return d ? engine_diag_add(d, NULL, 0, 0,
                                       "the guest sources are missing: nothing matches %s/%s "
                                       "(set %s to the unisec source tree)",
                                       src, globs[gi], BUILDER_SOURCE_ENV)
                     : -ENOENT;
        if (r != 0)
            return -ENOMEM;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            uint8_t h[32];
            int e = builder_hash_file(h, g.gl_pathv[i]);
            if (e < 0 && d)
                engine_diag_add(d, g.gl_pathv[i], 0, 0, "cannot read: %s", strerror(-e));
            if (e == 0)
                e = fn(arg, g.gl_pathv[i] + strlen(src) + 1, h);
            if (e != 0) {
                globfree(&g);
                return e;
            }
        }
        globfree(&g);
    }
    return 0;
}

static int builder_header_add(void *arg, const char *rel, const uint8_t hash[32])
{
    engine_sha256_update(arg, rel, strlen(rel) + 1);
    engine_sha256_update(arg, hash, 32);
    return 0;
}

/* OUT: one hash of every guest header under SRC (names and contents). */
int builder_headers_hash(const char *src, uint8_t out[32], struct engine_diag *d)
{
    struct engine_sha256 hh;
    int r;

    engine_sha256_init(&hh);
    if ((r = builder_glob_files(src, builder_paths.headers, builder_header_add, &hh, d)) == 0)
        engine_sha256_final(&hh, out);
    return r;
}

static int builder_unit_add(void *arg, const char *rel, const uint8_t hash[32])
{
    struct builder *b = arg;
    struct builder_file *u;
    size_t l = strlen(rel);

    if (ENGINE_GROW(&b->units, &b->ucap, b->nunits + 1) < 0)
        return -ENOMEM;
    u = &b->units[b->nunits];
    if ((u->rel = strdup(rel)) == NULL)
        return -ENOMEM;
    b->nunits++;
    memcpy(u->hash, hash, 32);
    u->binding = l > 7 && strcmp(rel + l - 7, "_bind.c") == 0;
    return 0;
}

int builder_scan(struct builder *b, struct engine_diag *d)
{
    int r = builder_headers_hash(b->src, b->headers, d);
    return r != 0 ? r : builder_glob_files(b->src, builder_paths.units, builder_unit_add, b, d);
}
