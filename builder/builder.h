/*
 * builder.h — the unikernel image builder: turns the unikernel generation policy of one node
 * at one level (its ordered modules with their properties, P_UG) into a bootable image for
 * one target, as DESIGN.md section 4 says.
 *
 * An image is the library OS (guest/libos), the module chain and a generated configuration
 * (guest/modules/module.h's `mod_image` and the manifest note naming its devices), plus,
 * for an internal PDP, the node's compiled ACL blob in the image's rules region. Every guest
 * source is compiled once per target into a cache (objects keyed by the hash of what went into
 * them), the modules are archived, and each image's code (its configuration linked against
 * that archive) is cached too: an image whose code is cached is that code with its rules
 * placed in it (builder/README.md, "Rules"), no compiler or linker run.
 *
 * The image's id is the SHA-256 (40 hex digits shown) of everything that determines its
 * bytes: the compiler's identity, the flags, every guest source and header, the target, the
 * configuration and the blob. The same inputs give the same id and byte-identical images:
 * deterministic flags, no timestamps, no build ids, paths mapped out of the objects. An image
 * whose id is already in the output directory is not built again.
 *
 * Outputs are written under a temporary name and renamed into place: a failed or interrupted
 * build leaves nothing half-written, and concurrent builds of one id are harmless. What the
 * builder writes it also reads back: builder_manifest_load() gives an image's manifest (its
 * devices, modules, PDP), so no caller parses the builder's files.
 *
 * Sources are found at run time under builder_source_dir(): $UNISEC_SOURCE_DIR when set,
 * else engine_share_dir() (DATADIR/unisec beside an installed unisec, or the source tree).
 * Building runs the C compiler ($CC, else `cc`: gcc) and `ar` (binutils).
 *
 * Errors: 0 or a negative errno; messages (the compiler's own included) go to a struct
 * engine_diag. Thread-safety: one struct builder may be used by one thread at a time; it
 * runs its own worker threads inside builder_build().
 */
#ifndef UNISEC_BUILDER_H
#define UNISEC_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define BUILDER_SOURCE_ENV "UNISEC_SOURCE_DIR"
#define BUILDER_CACHE_ENV  "UNISEC_CACHE_DIR"
#define BUILDER_ID_LEN     40 /* hex digits of an image id */

/* The source tree the guest sources are read from. Borrowed (static or the environment's). */
const char *builder_source_dir(void);

struct builder_prop {
    const char *name, *value; /* borrowed; value is the canonical text */
    const char *secret;       /* a secret input's value: what the manifest shows instead, or NULL */
};

struct builder_module {
    const char *name; /* a directory of guest/modules, e.g. "http_server" */
    size_t nprops;
    const struct builder_prop *props;
};

/* One image to build: what P_UG says for NODE at LEVEL, for TARGET. All borrowed. */
struct builder_spec {
    const char *node, *level;
    const char *target; /* "hvt" or "spt" */
    size_t nmodules;
    const struct builder_module *modules; /* in chain order */
    /* The internal PDP's compiled rules (engine_acl_compile), placed in the rules region;
     * NULL when acl_pep is absent or asks a push or pull PDP. */
    const void *acl_blob;
    size_t acl_len;
    /* The caller made ACL_BLOB itself in this process (engine_acl_compile, an index's base):
     * the builder checks its header and length, not its every byte again (a million rules
     * are 40 MB; the guest checks their structure and the region's CRC-32C at boot). 0: checked
     * whole. */
    int acl_own;
    /* With ACL_BLOB: a patch over it (contract/acl_patch.h: the bytes a push PDP is sent),
     * placed after it in the rules region, or NULL. Its header, size and base are checked (with
     * ACL_OWN; else it is opened whole); the guest checks it whole, SHA-256 included, at boot. */
    const void *acl_patch;
    size_t acl_patch_len;
    /* With ACL_PATCH: the commit whose rules ACL_BLOB was compiled from (40 hex digits), which
     * the manifest records for `unisec verify`; NULL: not recorded. */
    const char *acl_base_commit;
};

/* A device of an image: what its manifest note declares and the runtime connects. */
enum builder_device_type {
    BUILDER_DEVICE_LISTEN,   /* "http" or "https", a port it serves on (http_server or lb_proxy) */
    BUILDER_DEVICE_POLICY,   /* "policy", the channel a push PDP sends rules on */
    BUILDER_DEVICE_PDP,      /* "pdp", the channel a pull PDP is asked on */
    BUILDER_DEVICE_UPSTREAM, /* one per lb_proxy backend, named after its node */
    BUILDER_DEVICE_TLS,      /* "tls", the server credentials the tls module takes at start */
};

struct builder_device {
    enum builder_device_type type;
    const char *name; /* the device's name in the image */
    /* LISTEN: the node's http_port or listen_port ("http"), https_port ("https"); UPSTREAM: the
     * backend's port as the topology gives it; 0 when there is none (always for POLICY and PDP). */
    long port;
};

struct builder_result {
    char id[BUILDER_ID_LEN + 1];
    char *dir;   /* OUT/ID, holding image, manifest.json and build.log (owned) */
    int cached;  /* the image was already there */
    int linked;  /* its code was compiled and linked; 0: found in the cache (rules placed) */
    size_t size; /* bytes of the image file */
    int status;  /* 0, or the negative errno of this image's failure */
};

struct builder_options {
    const char *cache_dir; /* NULL: $UNISEC_CACHE_DIR, else $XDG_CACHE_HOME/unisec, else
                              $HOME/.cache/unisec */
    const char *cc;        /* NULL: $CC, else "cc" */
    unsigned jobs;         /* worker threads; 0: the number of online CPUs */
};

struct builder;

/* Makes a builder (creating the cache directory). *OUT is freed with builder_free(). */
int builder_new(struct builder **out, const struct builder_options *opt, struct engine_diag *d);
void builder_free(struct builder *b);

/*
 * Checks SPEC without building: known modules, device names, the routes property of
 * dispatch, acl_pep's pdp and policy, the blob. Returns 0 or -EINVAL with every error in D.
 */
int builder_spec_check(const struct builder_spec *spec, struct engine_diag *d);

/*
 * Builds the N images of SPECS into OUT_DIR (created if missing) on the worker pool.
 * RESULTS[i] (caller-allocated, N entries) receives each outcome; free their dir with
 * builder_results_free(). Returns 0 when every image was built (or found), else the first
 * failure's negative errno, with the messages of every failure in D (a compiler's output
 * is quoted there and kept in the failed image's build log).
 */
int builder_build(struct builder *b, const struct builder_spec *specs, size_t n,
                  const char *out_dir, struct builder_result *results, struct engine_diag *d);

void builder_results_free(struct builder_result *results, size_t n);

/* What an image's manifest.json says (builder_manifest_load()). Every pointer points into the
 * struct's own memory, valid until builder_manifest_free(). */
struct builder_manifest {
    char id[BUILDER_ID_LEN + 1];
    const char *node, *level, *target;
    size_t nmodules;
    const struct builder_module *modules; /* chain order; properties in the manifest's order */
    size_t ndevices;
    const struct builder_device *devices; /* in the order the image declares them */
    const char *pdp, *policy;             /* acl_pep's properties; NULL without acl_pep */
    uint64_t policy_version;              /* the version of the rules linked in, else 0 */
    size_t acl_bytes;                     /* the blob's size; 0 when no rules are linked in */
    /* A patch after the blob (builder_spec's acl_patch): its bytes (0: none), its own SHA-256
     * (hex, "" without one), the blob's version (POLICY_VERSION is the patch's) and the commit
     * whose rules the blob holds ("" when not recorded). The patch starts at HEAD_BYTES +
     * ACL_BYTES rounded up to 8. */
    size_t patch_bytes;
    char patch_sha256[65];
    uint64_t base_version;
    char base_commit[41];
    /* The image file's bytes before its rules (all of them when it carries none): their
     * SHA-256 (hex) and count; the rules after them are covered by RULES_SHA256, the
     * blob's own checksum (contract/acl_blob.h), "" when none are linked in. */
    char head_sha256[65];
    size_t head_bytes;
    char rules_sha256[65];
    size_t image_bytes; /* the whole file */
};

/*
 * Reads DIR/manifest.json, as builder_build() wrote it into the image directory DIR (a
 * result's dir, OUT/ID). On success *OUT is a new manifest, freed with
 * builder_manifest_free(); it borrows nothing from the caller. Returns 0, or on failure
 * (*OUT NULL, the reason in D naming the file): a negative errno when the file cannot be read
 * (-ENOENT: no such image); -EINVAL when it is not a manifest of this builder (not JSON, a
 * field missing or of the wrong type, an unknown device type, a port outside 1 to 65535,
 * another builder format); -ENOMEM. Needs no struct builder; safe from any thread.
 */
int builder_manifest_load(const char *dir, struct builder_manifest **out, struct engine_diag *d);

/* Frees what builder_manifest_load() made; accepts NULL. */
void builder_manifest_free(struct builder_manifest *m);

/*
 * `unisec build TOPOLOGY --node N [--level L] [--target hvt|spt] -o DIR`: argv[0] is "build".
 * Prints one line per image and every error; returns the exit status (0, 1 failed, 2 usage).
 */
int builder_cmd_build(int argc, char **argv);

#endif
