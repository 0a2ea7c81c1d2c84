/* builder_image.c — one image: its id, then (unless OUT/ID is there) its code (configuration
 * compiled and linked against the target's archive, unless CACHE/code holds it), its rules
 * placed in the code's rules region (builder_rules.c), hashed, and renamed into place with its
 * manifest and build log. */
#include "builder_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "contract/acl_blob.h"
#include "contract/acl_patch.h"

void builder_image_id(struct builder_image *im, const uint8_t lib_key[32])
{
    struct engine_sha256 h;
    uint8_t code[32], id[32];
    engine_sha256_init(&h);
    engine_sha256_update(&h, im->b->toolchain, 32);
    engine_sha256_update(&h, lib_key, 32);
    engine_sha256_update(&h, im->spec->target, strlen(im->spec->target) + 1);
    engine_sha256_update(&h, im->config, strlen(im->config) + 1);
    engine_sha256_final(&h, code);
    builder_hex(im->code, code, 32);
    /* The rules by their header, which holds their SHA-256 (contract/acl_blob.h): the blob
     * was checked whole (builder_spec_check()), so a million rules are not hashed again. */
    engine_sha256_init(&h);
    engine_sha256_update(&h, code, 32);
    uint64_t bl = im->spec->acl_blob ? im->spec->acl_len : 0;
    engine_sha256_update(&h, &bl, sizeof(bl));
    if (bl)
        engine_sha256_update(&h, im->spec->acl_blob, sizeof(struct engine_acl_blob_header));
    /* A patch after them by its header too, which holds the patch's SHA-256; an image
     * without one hashes as before. */
    if (bl && im->spec->acl_patch != NULL) {
        uint64_t pl = im->spec->acl_patch_len;
        engine_sha256_update(&h, &pl, sizeof(pl));
        engine_sha256_update(&h, im->spec->acl_patch, sizeof(struct engine_acl_patch_header));
    }
    engine_sha256_final(&h, id);
    builder_hex(im->res->id, id, BUILDER_ID_LEN / 2);
}

/* Appends a command and its output to the build log. */
static void builder_log_cmd(FILE *log, const char *what, const char *output)
{
    fprintf(log, "$ %s\n%s", what, output ? output : "");
    if (output && *output && output[strlen(output) - 1] != '\n')
        fputc('\n', log);
}

static int builder_fail(struct builder_image *im, FILE *log, const char *step, int r,
                        const char *output)
{
    engine_diag_add(&im->diag, NULL, 0, 0, "node %s level %s (%s): %s failed%s%s", im->spec->node,
                    im->spec->level, im->spec->target, step, output && *output ? ":\n" : "",
                    output ? output : "");
    if (log)
        fprintf(log, "FAILED: %s (status %d)\n", step, r);
    return r < 0 ? r : -EIO;
}

/* Writes LEN bytes of DATA as DIR/NAME, through a temporary name. */
static int builder_write_in(const char *dir, const char *name, const void *data, size_t len)
{
    char *p = builder_fmt("%s/%s", dir, name);
    int r = p ? builder_write_atomic(p, data, len) : -ENOMEM;
    free(p);
    return r;
}

/* Compiles SRC into OBJ, both in DIR, and logs the command: builder_compile()'s result, *OUT
 * the compiler's output (caller frees). */
static int builder_compile_in(struct builder *b, FILE *log, const char *dir, const char *src,
                              const char *obj, char **out)
{
    char *o = builder_fmt("%s/%s", dir, obj), what[64];
    int r;

    *out = NULL;
    r = o ? builder_compile(b, dir, src, o, out) : -ENOMEM;
    free(o);
    snprintf(what, sizeof(what), "cc -c %s", src);
    builder_log_cmd(log, what, *out);
    return r;
}

/* Links DIR/image: the configuration against the target's binding and archive. As
 * builder_run(). */
static int builder_link(const struct builder_image *im, const char *dir, char **out)
{
    struct builder *b = im->b;
    char *ld = builder_fmt("-Wl,-T,%s/%s/unisec.ld", b->src, builder_paths.libos);
    char *argv[32];
    size_t k = 0;
    int r;

    *out = NULL;
    if (ld == NULL)
        return -ENOMEM;
    argv[k++] = b->cc;
    argv[k++] = "-nostdlib";
    argv[k++] = "-static";
    argv[k++] = "-no-pie";
    argv[k++] = ld;
    argv[k++] = "-Wl,--build-id=none";
    argv[k++] = "-Wl,--strip-all";
    argv[k++] = "-Wl,--gc-sections"; /* nothing reads an image's symbols: a fifth of its bytes */
    argv[k++] = "-Wl,-z,noexecstack";
    argv[k++] = "-Wl,-z,max-page-size=4096";
    /* Segments packed in the file (nmagic): their addresses stay page-aligned, and the tenders
     * copy text, read-only data and data from any offset, so the file drops the ELF header's
     * page and the padding to each segment's page (8 KiB of a TLS image); the rules region is
     * placed on a page of the file by builder_rules_head() all the same. */
    argv[k++] = "-Wl,-n";
    argv[k++] = "-fno-sanitize=all";
    argv[k++] = "-o";
    argv[k++] = "image";
    argv[k++] = "config.o";
    argv[k++] = (char *)im->bind;
    if (builder_tls_needed(im->spec)) {
        /* The TLS libraries (builder_tls.c) and the library OS call each other: one group. */
        argv[k++] = "-Wl,--start-group";
        argv[k++] = (char *)im->lib;
        for (size_t i = 0; i < BUILDER_TLS_NLIBS; i++)
            argv[k++] = b->tls_libs[i];
        argv[k++] = "-Wl,--end-group";
    } else {
        argv[k++] = (char *)im->lib;
    }
    argv[k] = NULL;
    r = builder_run(dir, argv, out);
    free(ld);
    return r;
}

/* IM's linked code: CACHE/code/CODE, else its configuration compiled and linked in TMP (its
 * rules region checked) and stored there. *OUT (caller frees) of *LEN bytes. 0, or
 * builder_fail()'s result. */
static int builder_code(struct builder_image *im, FILE *log, const char *tmp, char **out,
                        size_t *len)
{
    char *path = builder_fmt("%s/code/%s", im->b->cache, im->code), *msg = NULL;
    const char *why = NULL;
    int r;

    *out = NULL;
    if (path == NULL)
        return builder_fail(im, log, "naming the linked code", -ENOMEM, NULL);
    if ((r = builder_read(path, out, len)) == 0 && builder_rules_check(*out, *len, &why) == 0) {
        fprintf(log, "code %s: linked before (no compiler or linker run)\n", im->code);
        free(path);
        return 0;
    }
    free(*out); /* absent, or not linked code (a damaged cache): linked again */
    *out = NULL;
    im->res->linked = 1;
    if ((r = builder_write_in(tmp, "config.c", im->config, strlen(im->config))) < 0) {
        r = builder_fail(im, log, "writing config.c", r, strerror(-r));
    } else if ((r = builder_compile_in(im->b, log, tmp, "config.c", "config.o", &msg)) != 0) {
        r = builder_fail(im, log, "compiling the configuration", r, msg);
    } else {
        free(msg);
        msg = NULL;
        r = builder_link(im, tmp, &msg);
        builder_log_cmd(log, "cc -nostdlib -static -T unisec.ld -o image ...", msg);
        if (r != 0)
            r = builder_fail(im, log, "linking", r, msg);
    }
    char *ip = r == 0 ? builder_fmt("%s/image", tmp) : NULL;
    if (r == 0 && (r = ip ? builder_read(ip, out, len) : -ENOMEM) < 0)
        r = builder_fail(im, log, "reading the linked code", r, strerror(-r));
    else if (r == 0 && builder_rules_check(*out, *len, &why) < 0)
        r = builder_fail(im, log, "checking the linked code", -EINVAL, why);
    else if (r == 0 && (r = builder_write_atomic(path, *out, *len)) < 0)
        r = builder_fail(im, log, "storing the linked code in the cache", r, strerror(-r));
    else if (r == 0)
        fprintf(log, "code %s: linked and stored in the cache\n", im->code);
    if (ip)
        unlink(ip); /* the image is written anew: code and rules */
    if (r != 0) {
        free(*out);
        *out = NULL;
    }
    free(ip);
    free(msg);
    free(path);
    return r;
}

void builder_image_job(void *jobs, size_t i)
{
    struct builder_image *im = &((struct builder_image *)jobs)[i];
    char *tmp = NULL, *final = NULL, *logtext = NULL;
    size_t loglen = 0;
    FILE *log = NULL;
    int r = 0;

    final = builder_fmt("%s/%s", im->out_dir, im->res->id);
    if (final == NULL) {
        im->res->status = -ENOMEM;
        return;
    }
    char *img = builder_fmt("%s/image", final);
    if (img && access(img, F_OK) == 0) {
        struct stat st;
        im->res->cached = 1;
        im->res->size = stat(img, &st) == 0 ? (size_t)st.st_size : 0;
        im->res->dir = final;
        free(img);
        return;
    }
    free(img);
    tmp = builder_fmt("%s/.tmp-%s-XXXXXX", im->out_dir, im->res->id);
    if (tmp == NULL || mkdtemp(tmp) == NULL || (log = open_memstream(&logtext, &loglen)) == NULL) {
        r = builder_fail(im, NULL, "creating a temporary directory", -errno, strerror(errno));
        goto cleanup;
    }
    fprintf(log, "unisec builder (%s): node %s, level %s, target %s, image %s\n", BUILDER_FORMAT,
            im->spec->node, im->spec->level, im->spec->target, im->res->id);
    char *code = NULL, *head = NULL;
    size_t len = 0, code_len = 0, head_len = 0;
    uint8_t sha[32];
    if ((r = builder_code(im, log, tmp, &code, &code_len)) != 0)
        goto cleanup;
    const char *why = NULL;
    char *ip = builder_fmt("%s/image", tmp);
    size_t hashed = code_len;
    len = code_len;
    if (ip == NULL) {
        r = -ENOMEM;
    } else if (im->spec->acl_blob != NULL) {
        /* The rules follow the code in the file; its rules segment points at them. */
        struct builder_piece v[3];
        size_t nv = builder_rules_pieces(im->spec, v), rl = 0;
        for (size_t k = 0; k < nv; k++)
            rl += v[k].len;
        if (builder_rules_head(code, code_len, rl, (void **)&head, &head_len, &why) < 0) {
            free(code);
            free(ip);
            r = builder_fail(im, log, "placing the rules in the linked code", -EINVAL, why);
            goto cleanup;
        }
        fprintf(log, "rules: %zu bytes placed at offset %zu", im->spec->acl_len, head_len);
        if (nv > 1)
            fprintf(log, ", a patch of %zu bytes at offset %zu", im->spec->acl_patch_len,
                    head_len + rl - im->spec->acl_patch_len);
        fputc('\n', log);
        r = builder_rules_write(ip, head, head_len, v, nv);
        hashed = head_len;
        len = head_len + rl;
    } else {
        r = builder_write_atomic(ip, code, code_len);
    }
    /* The code and the rules' header (sealed with their CRC-32C as written) hashed; the rules
     * are not hashed again: their blob carries its own SHA-256, which the manifest gives
     * beside this one. */
    if (r == 0)
        engine_sha256(sha, head ? head : code, hashed);
    free(ip);
    free(code);
    free(head);
    if (r < 0) {
        r = builder_fail(im, log, "writing the image", r, strerror(-r));
        goto cleanup;
    }
    im->res->size = len;
    char *mtext = NULL;
    size_t mlen = 0;
    r = builder_manifest_text(&mtext, &mlen, im->spec, im->res->id, sha, hashed, len);
    if (r == 0)
        r = builder_write_in(tmp, BUILDER_MANIFEST, mtext, mlen);
    free(mtext);
    if (r < 0) {
        r = builder_fail(im, log, "writing manifest.json", r, strerror(-r));
        goto cleanup;
    }
    fprintf(log, "image: %zu bytes, the first %zu of sha256 ", len, hashed);
    char hex[65];
    builder_hex(hex, sha, 32);
    fprintf(log, "%s\n", hex);
    fclose(log);
    log = NULL;
    if ((r = builder_write_in(tmp, "build.log", logtext, loglen)) < 0) {
        r = builder_fail(im, NULL, "writing build.log", r, strerror(-r));
        goto cleanup;
    }
    /* Intermediate files go; the directory becomes the image in one rename. */
    const char *inter[] = {"config.c", "config.o"};
    for (size_t n = 0; n < sizeof(inter) / sizeof(inter[0]); n++) {
        char *p = builder_fmt("%s/%s", tmp, inter[n]);
        if (p)
            unlink(p);
        free(p);
    }
    if (rename(tmp, final) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            r = builder_fail(im, NULL, "renaming the image into place", -errno, strerror(errno));
            goto cleanup;
        }
        builder_rmtree(tmp); /* a concurrent build of the same inputs won: same bytes */
    }
    free(tmp);
    tmp = NULL;
    im->res->dir = final;
    final = NULL;

cleanup:
    if (log) {
        fclose(log);
        log = NULL;
    }
    if (r != 0 && tmp) {
        /* Keep the failure's log where the user looks: OUT/ID.failed.log. */
        char *fl = builder_fmt("%s/%s.failed.log", im->out_dir, im->res->id);
        if (fl && logtext)
            builder_write_atomic(fl, logtext, loglen);
        free(fl);
        builder_rmtree(tmp);
    }
    im->res->status = r;
    free(logtext);
    free(tmp);
    free(final);
}
