/*
 * builder_int.h — what the pieces of the builder share; not a public header (builder.h is).
 *
 * The pieces, each calling only those listed after it:
 *   builder.c          the API: a builder (its compiler and sources), builds on the worker pool
 *   builder_image.c    one image: its id; its code linked (or found in the cache), its rules
 *                      placed, put in place
 *   builder_rules.c    the rules region placed in linked code (no compiler, no linker)
 *   builder_manifest.c its manifest.json, written and read back
 *   builder_config.c   the generated config.c: the manifest note and the module chain
 *   builder_spec.c     an image's spec read: modules, properties, devices; the check
 *   builder_cache.c    the compiler, the object cache and the modules' archive of a target
 *   builder_probe.c    what the compiler says of itself, asked once per process
 *   builder_tls.c      the TLS libraries found through the compiler, their bytes hashed
 *   builder_sources.c  the guest's sources and headers: names and hashes
 *   builder_paths.c    where the guest is in the source tree (one table)
 *   builder_files.c    small helpers: formatting, reading, files' hashes, writing through a
 *                      rename
 *   builder_run.c      commands run with their output captured; the worker pool
 */
#ifndef UNISEC_BUILDER_INT_H
#define UNISEC_BUILDER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "builder.h"

/* Bumped whenever the builder changes what it generates: part of every id. */
#define BUILDER_FORMAT     "unisec-builder-5"
#define BUILDER_OUTPUT_MAX (64 * 1024) /* compiler output kept per command */
#define BUILDER_MANIFEST   "manifest.json"
#define BUILDER_TLS_NLIBS  3 /* builder_tls.c: BearSSL, hogweed, GMP */

struct builder_file {
    char *rel;        /* path relative to the source tree */
    uint8_t hash[32]; /* of its contents */
    int binding;      /* a target binding (LIBOS/TARGET_bind.c) */
};

struct builder {
    char *src;     /* the source tree */
    char *cache;   /* cache directory */
    char *cc;      /* compiler command */
    char *isystem; /* the compiler's own freestanding headers */
    /* The TLS libraries' static archives in link order (builder_tls.c: BearSSL, hogweed,
     * GMP), all NULL when CC does not find them all */
    char *tls_libs[BUILDER_TLS_NLIBS];
    char *tls_inc; /* -idirafter BearSSL's headers, with TLS_LIBS */
    unsigned jobs;
    uint8_t toolchain[32];      /* compiler identity + flags + format */
    uint8_t headers[32];        /* every guest header and the linker script */
    struct builder_file *units; /* the guest sources, sorted within each glob */
    size_t nunits, ucap;
};

/* ---- builder_image.c ---- */

/* One image to build (a job of the worker pool). */
struct builder_image {
    struct builder *b;
    const struct builder_spec *spec;
    const char *out_dir;
    struct builder_result *res;
    char *config;     /* generated config.c */
    char code[65];    /* the key of its linked code in CACHE/code (hex) */
    const char *lib;  /* the target's module archive */
    const char *bind; /* the target's binding object */
    struct engine_diag diag;
};

/* IM->code from the toolchain, the target's archive (LIB_KEY) and IM's configuration; IM->res->id
 * from that and IM's rules. */
void builder_image_id(struct builder_image *im, const uint8_t lib_key[32]);
/* The worker pool's job I of the array JOBS of struct builder_image: builds it into
 * OUT/ID unless it is there; the outcome in its res, messages in its diag. */
void builder_image_job(void *jobs, size_t i);

/* ---- builder_rules.c ---- */

/* Whether CODE[0..LEN) is linked code whose rules region can take rules: 0, or -1 with *WHY. */
int builder_rules_check(const void *code, size_t len, const char **why);
/* The image of CODE[0..LEN) with RULES_LEN bytes of rules is *HEAD (caller frees) of
 * *HEAD_LEN bytes followed by the rules: the code with its rules segment and section pointed
 * past its end, padding to a page, and the region's header (their length, and a CRC-32C of 0
 * until builder_rules_seal()). 0, or -1 with *WHY. */
int builder_rules_head(const void *code, size_t len, size_t rules_len, void **head,
                       size_t *head_len, const char **why);
/* Records CRC, the rules' CRC-32C (common/crc32c.h), in the region's header of HEAD. */
void builder_rules_seal(void *head, size_t head_len, uint32_t crc);
/* Bytes placed in the rules region, in turn. */
struct builder_piece {
    const void *data;
    size_t len;
};
/* The rules region's bytes of S (which has an acl_blob): the blob, and with a patch the zeros
 * that pad it to 8 bytes and the patch (common/acl_patch.h, engine_acl_region_split()). Fills
 * V, returns how many pieces. */
size_t builder_rules_pieces(const struct builder_spec *s, struct builder_piece v[3]);
/* Writes the image of HEAD (builder_rules_head()) and the pieces V[0..N) as PATH, through a
 * temporary name: the rules past the head, each 256 KiB summed just before it is written (one
 * pass over them, while in cache, not a pass to sum them and another to write them), then HEAD
 * sealed with their CRC-32C. 0 or a negative errno. */
int builder_rules_write(const char *path, void *head, size_t head_len,
                        const struct builder_piece *v, size_t n);
/* Whether S's acl_patch has a patch's header, its recorded size and S's acl_blob for its base
 * (what a patch the caller made itself needs): 0, or -1 with *WHY. */
int builder_patch_head_check(const struct builder_spec *s, const char **why);

/* Whether BLOB[0..LEN) has a compiled ACL blob's header (magic, format, its size LEN), which
 * a blob the caller made itself needs (builder_spec's acl_own): 0, or -1 with *WHY. */
int builder_blob_head_check(const void *blob, size_t len, const char **why);

/* ---- builder_manifest.c ---- */

/* The text of manifest.json for the image ID of S, SIZE bytes whose first HEAD (those before
 * the rules) hash to SHA: *OUT (caller frees) of *LEN bytes. 0 or -ENOMEM. */
int builder_manifest_text(char **out, size_t *len, const struct builder_spec *s, const char *id,
                          const uint8_t sha[32], size_t head, size_t size);

/* ---- builder_config.c ---- */

/* The text of config.c for S (checked), or NULL when out of memory. Caller frees. */
char *builder_config(const struct builder_spec *s);

/* ---- builder_spec.c ---- */

/* The value of M's property NAME (borrowed), or NULL. */
const char *builder_prop(const struct builder_module *m, const char *name);
/* The module NAME of S's chain, or NULL. */
const struct builder_module *builder_module_find(const struct builder_spec *s, const char *name);

#define BUILDER_UPSTREAM_MAX 8 /* backends of lb_proxy */

/* The devices of an image, in the order its manifest note declares them. */
struct builder_devices {
    size_t n;
    struct builder_device v[4 + BUILDER_UPSTREAM_MAX]; /* http and https, policy or pdp, tls,
                                                          upstreams */
    char names[BUILDER_UPSTREAM_MAX][32];              /* the upstreams' names */
};

/* OUT: the devices of S (which builder_spec_check() accepted); their names borrow S or OUT. */
void builder_devices(const struct builder_spec *s, struct builder_devices *out);

/* ---- builder_cache.c ---- */

/* Runs B's compiler: its identity and flags (B->toolchain), its headers (B->isystem). */
int builder_toolchain(struct builder *b, struct engine_diag *d);
/* Compiles SRC (relative to CWD) into OUT through a temporary name; as builder_run(). */
int builder_compile(struct builder *b, const char *cwd, const char *src, const char *out,
                    char **output);
/* Compiles what the cache lacks for TARGET and archives the modules: *LIB and *BIND (the
 * target's binding object), both owned by the caller; LIB_KEY the archive's key. */
int builder_target(struct builder *b, const char *target, char **lib, char **bind,
                   uint8_t lib_key[32], struct engine_diag *d);

/* ---- builder_probe.c ---- */

/* What B's compiler says of itself, asked once per process per compiler program: *VER its
 * --version, *INC its freestanding headers, *TLS_LIB and *TLS_DIR BearSSL's archive and
 * headers (NULL: not installed; looked for again). All the caller's. 0, or -ENOENT or -ENOMEM
 * with D. */
int builder_probe(struct builder *b, char **ver, char **inc, char **tls_lib, char **tls_dir,
                  struct engine_diag *d);

/* ---- builder_tls.c ---- */

struct engine_sha256;
/* Asks B's compiler where the TLS libraries are: *LIB their archives' paths, one a line, and
 * *DIR BearSSL's headers (caller frees), both NULL when one is not installed. 0, or a
 * negative errno. */
int builder_tls_probe(struct builder *b, char **lib, char **dir);
/* B->tls_libs and B->tls_inc from what builder_tls_probe() found (NULL: not installed), and
 * the archives' and headers' bytes added to H. 0, or -ENOMEM. builder_tls_free() frees them. */
int builder_tls_use(struct builder *b, const char *lib, const char *dir, struct engine_sha256 *h);
void builder_tls_free(struct builder *b);
/* Whether source REL can be compiled: all but the tls and tls_upstream modules' when a TLS
 * library is missing. */
int builder_tls_unit(const struct builder *b, const char *rel);
/* Whether spec S's image links the TLS libraries: it has the tls or the tls_upstream module. */
int builder_tls_needed(const struct builder_spec *s);

/* ---- builder_sources.c ---- */

/* OUT: one hash of every guest header under SRC (names and contents). */
int builder_headers_hash(const char *src, uint8_t out[32], struct engine_diag *d);
/* Reads B's guest sources (B->units, sorted) and hashes its headers (B->headers). */
int builder_scan(struct builder *b, struct engine_diag *d);

/* ---- builder_paths.c: the guest's places, relative to the source tree ---- */

struct builder_paths {
    const char *const *units;   /* globs of the guest sources, NULL-terminated */
    const char *const *headers; /* globs of the guest headers and the linker script */
    const char *libos;          /* the library OS: -I, unisec.ld and TARGET_bind.c */
    const char *modules;        /* one directory per module */
    const char *module_h;       /* the modules' contract, included by the generated config.c */
    const char *tls_modules[2]; /* the sources that need the TLS library (builder_tls.c) */
};

extern const struct builder_paths builder_paths;

/* ---- builder_files.c ---- */

/* A new string (caller frees), or NULL when out of memory. */
char *builder_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* OUT (2 N + 1 bytes): the N bytes of H in lowercase hex. */
void builder_hex(char *out, const uint8_t *h, size_t n);
/* The whole file PATH: *OUT (caller frees) of *LEN bytes. 0 or a negative errno. */
int builder_read(const char *path, char **out, size_t *len);
/* OUT: the SHA-256 of the file PATH, kept by the process while the file's identity, size and
 * times stay those it was hashed with (a second old or more). 0 or a negative errno. */
int builder_hash_file(uint8_t out[32], const char *path);
char *builder_tmp_name(const char *path);
int builder_write_atomic(const char *path, const void *data, size_t len);
/* The same with what FILL(FD, ARG) writes to the new file FD (0 or a negative errno). */
int builder_write_atomic_fill(const char *path, int (*fill)(int fd, void *arg), void *arg);
/* Writes LEN bytes of DATA to FD at OFF, however many calls it takes: 0 or a negative errno. */
int builder_pwrite_all(int fd, const void *data, size_t len, uint64_t off);
int builder_mkdirs(const char *path);
void builder_rmtree(const char *dir);

/* ---- builder_run.c ---- */

int builder_run(const char *cwd, char *const argv[], char **output);
void builder_pool_run(unsigned threads, void *jobs, size_t n, void (*fn)(void *, size_t));

#endif
