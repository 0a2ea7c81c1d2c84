/* test_builder.c — the image builder on a P_UG given directly: images for both targets,
 * ids that follow the inputs, byte-identical rebuilds, the cache, worker-pool builds,
 * failures that report the compiler's message and leave nothing half-written, and the
 * manifest read back as it was written. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "builder/builder.h"
#include "builder/builder_int.h"
#include "common/sha256.h"
#include "contract/acl_blob.h"
#include "engine/acl.h"
#include "fixture.h"

static char tmp[4096], cache[4096 + 16];
static void *blob;
static size_t blob_len;

static const struct builder_prop dispatch_props[] = {
    {"http_port", "8080"}, {"routes", "GET /* 200 text/plain hello from web\n"}};
static const struct builder_prop acl_internal[] = {{"pdp", "internal"}, {"policy", "regular"}};
static const struct builder_prop acl_push[] = {{"pdp", "push"}, {"policy", "regular"}};
static const struct builder_prop rate_props[] = {{"requests_per_second", "20"}};

static const struct builder_module chain_internal[] = {
    {"log", 0, NULL},   {"http_server", 0, NULL},     {"rate_limit", 1, rate_props},
    {"authn", 0, NULL}, {"acl_pep", 2, acl_internal}, {"dispatch", 2, dispatch_props},
};
static const struct builder_module chain_push[] = {
    {"log", 0, NULL},   {"http_server", 0, NULL}, {"rate_limit", 1, rate_props},
    {"authn", 0, NULL}, {"acl_pep", 2, acl_push}, {"dispatch", 2, dispatch_props},
};

static const struct builder_prop lb_props[] = {{"listen_port", "9000"},
                                               {"backends", "app1:8081 app2:8082"}};
static const struct builder_module chain_lb[] = {{"log", 0, NULL}, {"lb_proxy", 2, lb_props}};

static struct builder_spec spec(const char *target, int internal)
{
    struct builder_spec s = {.node = "web",
                             .level = "default",
                             .target = target,
                             .nmodules = 6,
                             .modules = internal ? chain_internal : chain_push,
                             .acl_blob = internal ? blob : NULL,
                             .acl_len = internal ? blob_len : 0};
    return s;
}

static int setup(void **state)
{
    (void)state;
    if (fixture_dir(tmp, sizeof(tmp), cache, sizeof(cache), "builder") != 0)
        return -1;
    return fixture_rules(&blob, &blob_len, "mount-examples/policy", NULL, NULL, "regular", 3);
}

static int teardown(void **state)
{
    (void)state;
    free(blob);
    return fixture_remove(tmp);
}

static struct builder *new_builder(const char *cc)
{
    return fixture_builder(cache, cc, 2);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[8192];
    *len = 0; /* also where the file is missing: callers assert on NULL, then read *len */
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 22);
    if (buf != NULL)
        *len = fread(buf, 1, (1 << 22) - 1, f); /* room for the NUL some callers add */
    fclose(f);
    return buf;
}

static void test_builder_both_targets(void **state)
{
    (void)state;
    struct builder *b = new_builder(NULL);
    struct builder_spec s[3] = {spec("hvt", 1), spec("spt", 1), spec("hvt", 0)};
    struct builder_result r[3];
    struct engine_diag d;
    char out[4200];
    engine_diag_init(&d);
    snprintf(out, sizeof(out), "%s/out", tmp);
    int e = builder_build(b, s, 3, out, r, &d);
    if (e != 0)
        engine_diag_print(&d, stderr);
    assert_int_equal(e, 0);
    assert_int_equal(d.n, 0);
    /* Each target and each PDP mode is a different image. */
    assert_string_not_equal(r[0].id, r[1].id);
    assert_string_not_equal(r[0].id, r[2].id);
    for (int i = 0; i < 3; i++) {
        size_t len;
        char *m = slurp(r[i].dir, "manifest.json", &len), *img, *log;
        assert_non_null(m);
        assert_non_null(strstr(m, r[i].id));
        assert_non_null(strstr(m, i == 1 ? "\"target\": \"spt\"" : "\"target\": \"hvt\""));
        assert_non_null(strstr(m, "\"port\": 8080"));
        assert_non_null(strstr(m, i == 2 ? "\"pdp\": \"push\"" : "\"policy_version\": 3"));
        free(m);
        assert_non_null(img = slurp(r[i].dir, "image", &len));
        assert_int_equal(len, r[i].size);
        assert_memory_equal(img, "\177ELF", 4);
        free(img);
        assert_non_null(log = slurp(r[i].dir, "build.log", &len));
        free(log);
        assert_int_equal(r[i].cached, 0);
        assert_true(r[i].size < 128 * 1024); /* the images stay small */
    }
    /* The same inputs again: found, not built. */
    struct builder_result again[3];
    assert_int_equal(builder_build(b, s, 3, out, again, &d), 0);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(again[i].id, r[i].id);
        assert_int_equal(again[i].cached, 1);
    }
    builder_results_free(again, 3);
    builder_results_free(r, 3);
    engine_diag_free(&d);
    builder_free(b);
}

static void test_builder_reproducible(void **state)
{
    (void)state;
    struct builder_spec s = spec("spt", 1);
    struct builder_result r1, r2;
    struct engine_diag d;
    char out1[4200], out2[4200], cache2[4200];
    engine_diag_init(&d);
    snprintf(out1, sizeof(out1), "%s/rep1", tmp);
    snprintf(out2, sizeof(out2), "%s/rep2", tmp);
    snprintf(cache2, sizeof(cache2), "%s/cache2", tmp);
    struct builder *b1 = new_builder(NULL), *b2;
    struct builder_options o = {.cache_dir = cache2, .jobs = 1};
    assert_int_equal(builder_new(&b2, &o, &d), 0);
    /* One build from a warm cache, one from an empty cache on one thread: same bytes. */
    assert_int_equal(builder_build(b1, &s, 1, out1, &r1, &d), 0);
    assert_int_equal(builder_build(b2, &s, 1, out2, &r2, &d), 0);
    assert_string_equal(r1.id, r2.id);
    size_t l1, l2;
    char *i1 = slurp(r1.dir, "image", &l1), *i2 = slurp(r2.dir, "image", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(i1, i2, l1);
    free(i1);
    free(i2);
    /* A property changes the id. */
    struct builder_prop p2[] = {{"http_port", "8080"}, {"routes", "GET /* 200 text/plain hi\n"}};
    struct builder_module c2[6];
    memcpy(c2, chain_internal, sizeof(c2));
    c2[5].props = p2;
    struct builder_spec s2 = s;
    s2.modules = c2;
    struct builder_result r3;
    assert_int_equal(builder_build(b1, &s2, 1, out1, &r3, &d), 0);
    assert_string_not_equal(r3.id, r1.id);
    builder_results_free(&r1, 1);
    builder_results_free(&r2, 1);
    builder_results_free(&r3, 1);
    engine_diag_free(&d);
    builder_free(b1);
    builder_free(b2);
}

static void test_builder_spec_errors(void **state)
{
    (void)state;
    struct engine_diag d;
    engine_diag_init(&d);
    struct builder_spec s = spec("hvt", 0);
    s.target = "xen";
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    s = spec("hvt", 0);
    s.acl_blob = blob; /* rules linked in, but the PDP is push */
    s.acl_len = blob_len;
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    s = spec("hvt", 1);
    s.acl_blob = NULL; /* internal without rules */
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    /* A blob of the caller's own (acl_own) is checked by its header and length only; any
     * other is checked whole, its checksum included. */
    uint8_t *copy = malloc(blob_len);
    assert_non_null(copy);
    memcpy(copy, blob, blob_len);
    copy[blob_len - 1] ^= 1;
    s = spec("hvt", 1);
    s.acl_blob = copy;
    size_t before = d.n;
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    s.acl_own = 1;
    assert_int_equal(builder_spec_check(&s, &d), 0);
    s.acl_len = blob_len - 8; /* its header says otherwise */
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    s.acl_len = blob_len;
    copy[0] ^= 1; /* not a blob's magic */
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    assert_int_equal(d.n, before + 3);
    free(copy);
    struct builder_prop bad_routes[] = {{"routes", "GET /a* 200\n"}};
    struct builder_module c2[6];
    memcpy(c2, chain_internal, sizeof(c2));
    c2[5] = (struct builder_module){"dispatch", 1, bad_routes};
    s = spec("hvt", 1);
    s.modules = c2;
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    c2[5] = (struct builder_module){"no_such_module", 0, NULL};
    assert_int_equal(builder_spec_check(&s, &d), -EINVAL);
    char *all = engine_diag_join(&d);
    assert_non_null(strstr(all, "target 'xen'"));
    assert_non_null(strstr(all, "dispatch.routes:1:5:"));
    assert_non_null(strstr(all, "no_such_module"));
    free(all);
    engine_diag_free(&d);
}

/* A compiler that fails: its message reaches the caller and no image directory appears. */
static void test_builder_failure_leaves_nothing(void **state)
{
    (void)state;
    char cc[4200], out[4200];
    snprintf(out, sizeof(out), "%s/failout", tmp);
    /* Runs like cc for --version and the header query, fails on the configuration. */
    fixture_script(cc, sizeof(cc), tmp, "failcc",
                   "#!/bin/sh\nfor a; do case $a in config.c) echo 'config.c:1:1: error: broken "
                   "on purpose' >&2; exit 1;; esac; done\nexec cc \"$@\"\n");
    /* The shared cache holds this code linked by the real compiler (which says the same
     * --version): without it the configuration is compiled again. */
    char rm[4300];
    snprintf(rm, sizeof(rm), "rm -rf '%s/code'", cache);
    assert_int_equal(system(rm), 0);
    struct builder *b = new_builder(cc);
    struct builder_spec s = spec("hvt", 1);
    struct builder_result r;
    struct engine_diag d;
    engine_diag_init(&d);
    assert_true(builder_build(b, &s, 1, out, &r, &d) < 0);
    char *all = engine_diag_join(&d);
    assert_non_null(strstr(all, "broken on purpose"));
    assert_non_null(strstr(all, "compiling the configuration"));
    free(all);
    char p[8400];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", out, r.id);
    assert_int_equal(stat(p, &st), -1); /* no image directory */
    snprintf(p, sizeof(p), "%s/%s.failed.log", out, r.id);
    assert_int_equal(stat(p, &st), 0); /* the log of the failure */
    snprintf(p, sizeof(p), "ls -a '%s' | grep -c tmp", out);
    FILE *ls = popen(p, "r");
    char line[16] = "";
    assert_non_null(fgets(line, sizeof(line), ls));
    pclose(ls);
    assert_string_equal(line, "0\n"); /* no temporary left */
    engine_diag_free(&d);
    builder_results_free(&r, 1);
    builder_free(b);
}

/* Two builders of one process (the orchestrator's two threads) fill the same cache at once:
 * their temporary names never collide. Each round makes both archive the modules anew. */
struct racer {
    struct builder *b;
    char out[4200];
    struct builder_result r;
    int status;
    char *why;
};

static void *racer_main(void *arg)
{
    struct racer *x = arg;
    struct builder_spec s = spec("spt", 0);
    struct engine_diag d;
    engine_diag_init(&d);
    x->status = builder_build(x->b, &s, 1, x->out, &x->r, &d);
    x->why = engine_diag_join(&d);
    engine_diag_free(&d);
    return NULL;
}

static void test_builder_two_builders_share_a_cache(void **state)
{
    (void)state;
    struct racer x[2];
    char cmd[8400];

    for (int i = 0; i < 2; i++) {
        memset(&x[i], 0, sizeof(x[i]));
        x[i].b = new_builder(NULL);
    }
    for (int round = 0; round < 6; round++) {
        pthread_t t[2];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/lib/* '%s'/race-*", cache, tmp);
        assert_int_equal(system(cmd), 0);
        for (int i = 0; i < 2; i++) {
            snprintf(x[i].out, sizeof(x[i].out), "%s/race-%d", tmp, i);
            assert_int_equal(pthread_create(&t[i], NULL, racer_main, &x[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            assert_int_equal(pthread_join(t[i], NULL), 0);
            if (x[i].status != 0)
                fail_msg("round %d, builder %d: %s", round, i, x[i].why ? x[i].why : "?");
            free(x[i].why);
            builder_results_free(&x[i].r, 1);
        }
    }
    for (int i = 0; i < 2; i++)
        builder_free(x[i].b);
}

/* A source that changes between the builder's reading it (its hash, the object's key) and its
 * compilation: the object compiled from the new bytes is not stored under the old key. */
static void test_builder_source_changed_during_build(void **state)
{
    (void)state;
    char src[4200], cmd[16800], log[4300], out[4200];
    struct builder_spec s = spec("spt", 0);
    struct builder_result r;
    struct engine_diag d;
    FILE *f;

    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(out, sizeof(out), "%s/changed-out", tmp);
    snprintf(log, sizeof(log), "%s/guest/modules/log/log.c", src);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp -r guest common contract '%s'/", src, src);
    assert_int_equal(system(cmd), 0);
    /* A version of log.c no cache holds yet, read by the builder... */
    assert_non_null(f = fopen(log, "a"));
    fprintf(f, "/* read by the builder (%s) */\n", tmp);
    fclose(f);
    assert_int_equal(setenv("UNISEC_SOURCE_DIR", src, 1), 0);
    struct builder *b = new_builder(NULL);
    /* ...then edited before the build compiles it. */
    assert_non_null(f = fopen(log, "a"));
    fprintf(f, "/* edited afterwards */\n");
    fclose(f);
    engine_diag_init(&d);
    assert_true(builder_build(b, &s, 1, out, &r, &d) < 0);
    char *all = engine_diag_join(&d);
    assert_non_null(strstr(all, "changed since the builder read it"));
    free(all);
    engine_diag_free(&d);
    builder_results_free(&r, 1);
    builder_free(b);
    /* A builder made now reads the new bytes and builds. */
    b = new_builder(NULL);
    engine_diag_init(&d);
    assert_int_equal(builder_build(b, &s, 1, out, &r, &d), 0);
    engine_diag_free(&d);
    builder_results_free(&r, 1);
    builder_free(b);
    assert_int_equal(unsetenv("UNISEC_SOURCE_DIR"), 0);
}

/* PATH's hash, kept or made by builder_hash_file, is that of TEXT. */
static void expect_hash(const char *path, const char *text)
{
    uint8_t h[32], want[32];
    assert_int_equal(builder_hash_file(h, path), 0);
    engine_sha256(want, text, strlen(text));
    assert_memory_equal(h, want, 32);
}

/* PATH written anew (MODE "w") or in place ("r+") with TEXT. */
static void put(const char *path, const char *mode, const char *text)
{
    FILE *f;
    assert_non_null(f = fopen(path, mode));
    fputs(text, f);
    fclose(f);
}

/* A file's hash is kept while the file stays as it was, and made again once it is written:
 * the same length and bytes written in place, or another file renamed over it. */
static void test_builder_hash_kept_until_written(void **state)
{
    (void)state;
    char path[4200], other[4300];
    uint8_t h[32];

    snprintf(path, sizeof(path), "%s/hashed.c", tmp);
    snprintf(other, sizeof(other), "%s/hashed.c.new", tmp);
    put(path, "w", "int a;\n");
    sleep(2);                   /* old enough to be kept */
    for (int i = 0; i < 2; i++) /* made, then kept */
        expect_hash(path, "int a;\n");
    put(path, "r+", "int b;\n");
    expect_hash(path, "int b;\n");
    put(other, "w", "int c;\n");
    assert_int_equal(rename(other, path), 0);
    expect_hash(path, "int c;\n");
    unlink(path);
    assert_int_equal(builder_hash_file(h, path), -ENOENT);
}

/* Builds S into OUT; returns the result (its dir freed by the caller). */
static struct builder_result build_one(const struct builder_spec *s, const char *out)
{
    struct builder_result r;
    fixture_build(cache, 2, s, out, &r);
    return r;
}

static void assert_device(const struct builder_device *dv, enum builder_device_type type,
                          const char *name, long port)
{
    assert_int_equal(dv->type, type);
    assert_string_equal(dv->name, name);
    assert_int_equal(dv->port, port);
}

/* A value a secret input gives is built into the image, and manifest.json (readable by all
 * through the mount) shows what stands in for it. */
static void test_builder_manifest_secret(void **state)
{
    (void)state;
    const char *secret = "GET /t 200 text/plain s3cret-token-4711";
    struct builder_prop props[] = {
        {"http_port", "8080", NULL},
        {"routes", secret, "{concat: [\"GET /t 200 text/plain \", {get_input: token}]}"}};
    struct builder_module c[6];
    struct builder_spec s = spec("spt", 0);
    char out[4200];
    size_t ml, il;
    memcpy(c, chain_push, sizeof(c));
    c[5].props = props;
    s.modules = c;
    snprintf(out, sizeof(out), "%s/secret", tmp);
    struct builder_result r = build_one(&s, out);
    char *man = slurp(r.dir, "manifest.json", &ml), *img = slurp(r.dir, "image", &il);
    assert_non_null(man);
    assert_non_null(img);
    assert_null(memmem(man, ml, "s3cret-token", 12));
    assert_non_null(strstr(man, "{get_input: token}"));
    assert_non_null(memmem(img, il, "s3cret-token-4711", 17)); /* the guest has it */
    free(man);
    free(img);
    builder_results_free(&r, 1);
    /* So does the linked code in the cache: its directory is the owner's alone, even one
     * that was open to others before. */
    char code[8192];
    struct stat st;
    snprintf(code, sizeof(code), "%s/code", cache);
    assert_int_equal(stat(code, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
    assert_int_equal(chmod(code, 0755), 0);
    builder_free(new_builder(NULL));
    assert_int_equal(stat(code, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
}

/* What builder_manifest_load() gives is what the builder was asked to build, and the image. */
static void test_builder_manifest_round_trip(void **state)
{
    (void)state;
    struct builder_spec s[3] = {spec("hvt", 1), spec("spt", 0), spec("spt", 0)};
    char out[4200];
    s[2].modules = chain_lb;
    s[2].nmodules = 2;
    s[2].node = "front";
    s[2].level = "high";
    snprintf(out, sizeof(out), "%s/manifests", tmp);
    for (int i = 0; i < 3; i++) {
        struct builder_result r = build_one(&s[i], out);
        struct builder_manifest *m = NULL;
        struct engine_diag d;
        engine_diag_init(&d);
        assert_int_equal(builder_manifest_load(r.dir, &m, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(m->id, r.id);
        assert_string_equal(m->node, s[i].node);
        assert_string_equal(m->level, s[i].level);
        assert_string_equal(m->target, s[i].target);
        assert_int_equal(m->nmodules, s[i].nmodules);
        for (size_t k = 0; k < s[i].nmodules; k++) {
            assert_string_equal(m->modules[k].name, s[i].modules[k].name);
            assert_int_equal(m->modules[k].nprops, s[i].modules[k].nprops);
            for (size_t p = 0; p < s[i].modules[k].nprops; p++) {
                assert_string_equal(m->modules[k].props[p].name, s[i].modules[k].props[p].name);
                assert_string_equal(m->modules[k].props[p].value, s[i].modules[k].props[p].value);
            }
        }
        if (i == 0) { /* internal PDP: its rules are linked in */
            assert_string_equal(m->pdp, "internal");
            assert_string_equal(m->policy, "regular");
            assert_int_equal(m->policy_version, 3);
            assert_int_equal(m->acl_bytes, blob_len);
            assert_int_equal(m->ndevices, 1);
            assert_device(&m->devices[0], BUILDER_DEVICE_LISTEN, "http", 8080);
        } else if (i == 1) { /* push PDP: a policy channel, no rules linked in */
            assert_string_equal(m->pdp, "push");
            assert_int_equal(m->policy_version, 0);
            assert_int_equal(m->acl_bytes, 0);
            assert_int_equal(m->ndevices, 2);
            assert_device(&m->devices[0], BUILDER_DEVICE_LISTEN, "http", 8080);
            assert_device(&m->devices[1], BUILDER_DEVICE_POLICY, "policy", 0);
        } else { /* a load balancer: no PDP, an upstream per backend */
            assert_null(m->pdp);
            assert_null(m->policy);
            assert_int_equal(m->ndevices, 3);
            assert_device(&m->devices[0], BUILDER_DEVICE_LISTEN, "http", 9000);
            assert_device(&m->devices[1], BUILDER_DEVICE_UPSTREAM, "app1", 8081);
            assert_device(&m->devices[2], BUILDER_DEVICE_UPSTREAM, "app2", 8082);
        }
        size_t len;
        uint8_t h[32];
        char hex[65], *img = slurp(r.dir, "image", &len);
        assert_non_null(img);
        /* The bytes before the rules hashed; the rules by their blob's own checksum. */
        assert_int_equal(m->head_bytes, s[i].acl_blob ? len - blob_len : len);
        engine_sha256(h, img, m->head_bytes);
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", h[k]);
        assert_string_equal(m->head_sha256, hex);
        if (s[i].acl_blob) {
            assert_memory_equal(img + m->head_bytes, blob, blob_len);
            const uint8_t *sum = ((const struct engine_acl_blob_header *)blob)->sha256;
            for (int k = 0; k < 32; k++)
                snprintf(hex + 2 * k, 3, "%02x", sum[k]);
            assert_string_equal(m->rules_sha256, hex);
        } else {
            assert_string_equal(m->rules_sha256, "");
        }
        assert_int_equal(m->image_bytes, len);
        free(img);
        builder_manifest_free(m);
        builder_results_free(&r, 1);
        engine_diag_free(&d);
    }
    builder_manifest_free(NULL);
}

/* The listening devices of a TLS level: HTTPS alone on "https" (https_port), plain HTTP beside
 * it on "http" only with plain_http, and TLS on "http" when the node has no https_port; a
 * level without the tls module ignores https_port. */
static void test_builder_devices_tls(void **state)
{
    (void)state;
    static const struct builder_prop front[] = {{"http_port", "8080"}, {"https_port", "8443"}};
    static const struct builder_prop front_only[] = {{"http_port", "8080"}};
    static const struct builder_prop lb[] = {
        {"listen_port", "9000"}, {"https_port", "9443"}, {"backends", "app1:8081"}};
    static const struct builder_prop plain[] = {{"plain_http", "true"}};
    static const struct builder_prop https_only[] = {{"plain_http", "false"}};
    static const struct {
        struct builder_module m[3];
        size_t n, ndev;
        const char *name[2];
        long port[2];
    } cases[] = {
        {{{"http_server", 0, NULL}, {"dispatch", 2, front}, {"tls", 1, plain}},
         3,
         3,
         {"https", "http"},
         {8443, 8080}},
        {{{"http_server", 0, NULL}, {"dispatch", 2, front}, {"tls", 1, https_only}},
         3,
         2,
         {"https", NULL},
         {8443, 0}},
        {{{"http_server", 0, NULL}, {"dispatch", 1, front_only}, {"tls", 1, https_only}},
         3,
         2,
         {"http", NULL},
         {8080, 0}},
        {{{"http_server", 0, NULL}, {"dispatch", 2, front}}, 2, 1, {"http", NULL}, {8080, 0}},
        {{{"log", 0, NULL}, {"lb_proxy", 3, lb}, {"tls", 1, plain}},
         3,
         4,
         {"https", "http"},
         {9443, 9000}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct builder_spec s = {.node = "web",
                                 .level = "l",
                                 .target = "spt",
                                 .nmodules = cases[i].n,
                                 .modules = cases[i].m};
        struct builder_devices dv;
        builder_devices(&s, &dv);
        assert_int_equal(dv.n, cases[i].ndev);
        for (size_t k = 0; k < 2 && cases[i].name[k]; k++)
            assert_device(&dv.v[k], BUILDER_DEVICE_LISTEN, cases[i].name[k], cases[i].port[k]);
        size_t nlisten = 0;
        for (size_t k = 0; k < dv.n; k++)
            nlisten += dv.v[k].type == BUILDER_DEVICE_LISTEN;
        assert_int_equal(nlisten, cases[i].name[1] ? 2 : 1);
    }
}

/* A compiler that finds every TLS library but NAME: an image with the tls module is refused
 * before anything is compiled, and the reason names the packages to install. */
static void tls_library_missing(const char *name)
{
    char cc[4200], out[4200], file[64];
    snprintf(file, sizeof(file), "no-%s-cc", name);
    snprintf(out, sizeof(out), "%s/no-%s-out", tmp, name);
    /* As cc prints a library no directory holds: its bare name. */
    fixture_script(cc, sizeof(cc), tmp, file,
                   "#!/bin/sh\n[ \"$1\" = -print-file-name=%s ] && { echo %s; exit 0; }\n"
                   "exec cc \"$@\"\n",
                   name, name);
    static const struct builder_prop front[] = {{"http_port", "8080"}, {"https_port", "8443"}};
    static const struct builder_prop https_only[] = {{"plain_http", "false"}};
    struct builder_module m[] = {
        {"http_server", 0, NULL}, {"dispatch", 2, front}, {"tls", 1, https_only}};
    struct builder_spec s = {
        .node = "web", .level = "critical", .target = "spt", .nmodules = 3, .modules = m};
    struct builder *b = new_builder(cc);
    struct builder_result r;
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(builder_build(b, &s, 1, out, &r, &d), -EINVAL);
    char *all = engine_diag_join(&d);
    if (strstr(all, "node web level critical: the tls module needs BearSSL, Nettle and GMP") ==
            NULL ||
        strstr(all, "install libbearssl-dev nettle-dev libgmp-dev") == NULL)
        fail_msg("without %s: '%s'", name, all);
    free(all);
    engine_diag_free(&d);
    builder_results_free(&r, 1);
    builder_free(b);
}

static void test_builder_tls_library_missing(void **state)
{
    (void)state;
    tls_library_missing("libbearssl.a");
    tls_library_missing("libhogweed.a");
    tls_library_missing("libgmp.a");
}

/* Writes TEXT with FROM replaced by TO as DIR/manifest.json and loads it: the result; *WHY
 * (caller frees) what the diagnostics say, *LINE the first one's line. */
static int load_changed(const char *dir, const char *text, const char *from, const char *to,
                        char **why, int *line)
{
    char p[4300], *at = strstr(text, from);
    struct builder_manifest *m = (struct builder_manifest *)&m;
    struct engine_diag d;
    assert_non_null(at);
    snprintf(p, sizeof(p), "%s/manifest.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    assert_int_equal(fclose(f), 0);
    engine_diag_init(&d);
    int r = builder_manifest_load(dir, &m, &d);
    assert_true(r == 0 ? m != NULL && d.n == 0 : m == NULL && d.n == 1);
    if (r == 0)
        assert_string_equal(m->node, "web");
    builder_manifest_free(m);
    *why = engine_diag_join(&d);
    *line = d.n ? d.v[0].line : 0;
    if (r != 0 && strstr(*why, p) == NULL)
        fail_msg("replacing %s by %s: '%s' does not name the file", from, to, *why);
    engine_diag_free(&d);
    return r;
}

/* A manifest that is not one this builder wrote is refused, and the reason says why. */
static void test_builder_manifest_refused(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *why;
    } bad[] = {
        {"\"node\"", "\"nodes\"", "node"},
        {"\"builder\": \"", "\"builder\": \"x", "written by builder 'xunisec-builder-"},
        {"\"type\": \"policy\"", "\"type\": \"serial\"", "devices[1]: unknown type 'serial'"},
        {"\"port\": 8080", "\"port\": 70000", "port 70000: expected 1 to 65535"},
        {"\"port\": 8080", "\"port\": \"8080\"", "devices[0]"},
        {"\"id\": \"", "\"id\": \"0", "expected 40 hex digits"},
        {"\"head_sha256\": \"", "\"head_sha256\": \"X", "expected 64 hex digits"},
        {"\"head_bytes\": ", "\"head_bytes\": -", "expected a size"},
        {"\"properties\": {}", "\"properties\": {\"x\": 1}", "property x: expected text"},
        {"\"modules\": [", "\"modules\": [1, ", "modules[0]"},
    };
    struct builder_spec s = spec("spt", 0);
    struct builder_manifest *m = (struct builder_manifest *)&m;
    struct engine_diag d;
    char out[4200], dir[4200], *why, *text;
    size_t len;
    int line;

    snprintf(out, sizeof(out), "%s/manifests", tmp);
    snprintf(dir, sizeof(dir), "%s/bad-manifest", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    engine_diag_init(&d);
    assert_int_equal(builder_manifest_load(dir, &m, &d), -ENOENT); /* no image there */
    assert_null(m);
    assert_int_equal(d.n, 1);
    engine_diag_free(&d);

    struct builder_result r = build_one(&s, out);
    assert_non_null(text = slurp(r.dir, "manifest.json", &len));
    text[len] = '\0';
    /* What the builder wrote loads, also as a copy in another directory. */
    assert_int_equal(load_changed(dir, text, "", "", &why, &line), 0);
    free(why);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load_changed(dir, text, bad[i].from, bad[i].to, &why, &line), -EINVAL);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("replacing %s by %s: got '%s', expected '%s'", bad[i].from, bad[i].to, why,
                     bad[i].why);
        free(why);
    }
    /* Not JSON: the position is given. */
    assert_int_equal(load_changed(dir, text, "\"devices\"", "\"devices\" [", &why, &line), -EINVAL);
    assert_non_null(strstr(why, "cannot read the manifest"));
    assert_true(line > 1);
    free(why);
    free(text);
    builder_results_free(&r, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_both_targets),
        cmocka_unit_test(test_builder_reproducible),
        cmocka_unit_test(test_builder_spec_errors),
        cmocka_unit_test(test_builder_failure_leaves_nothing),
        cmocka_unit_test(test_builder_two_builders_share_a_cache),
        cmocka_unit_test(test_builder_source_changed_during_build),
        cmocka_unit_test(test_builder_hash_kept_until_written),
        cmocka_unit_test(test_builder_manifest_round_trip),
        cmocka_unit_test(test_builder_manifest_secret),
        cmocka_unit_test(test_builder_manifest_refused),
        cmocka_unit_test(test_builder_devices_tls),
        cmocka_unit_test(test_builder_tls_library_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
