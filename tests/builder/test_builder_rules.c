/* test_builder_rules.c — an internal PDP's image made from linked code and its rules: a rule
 * change runs neither the compiler nor the linker, the same rules give the same bytes, the
 * rules sit verbatim in the rules region the guest reads; and the placement of the region
 * (builder_rules.c) refuses what is not linked code. */
#include <elf.h>
#include <errno.h>
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

#include "builder/builder_int.h"
#include "common/crc32c.h"
#include "contract/abi.h"
#include "engine/acl.h"
#include "fixture.h"

static char tmp[4096], cache[4096 + 16];
static void *blob[2];
static size_t blob_len[2];

static const struct builder_prop dispatch_props[] = {
    {"http_port", "8080"}, {"routes", "GET /* 200 text/plain hello from web\n"}};
static const struct builder_prop acl_internal[] = {{"pdp", "internal"}, {"policy", "regular"}};
static const struct builder_module chain[] = {
    {"log", 0, NULL},
    {"http_server", 0, NULL},
    {"authn", 0, NULL},
    {"acl_pep", 2, acl_internal},
    {"dispatch", 2, dispatch_props},
};

static struct builder_spec spec(int v)
{
    return (struct builder_spec){.node = "web",
                                 .level = "critical",
                                 .target = "spt",
                                 .nmodules = 5,
                                 .modules = chain,
                                 .acl_blob = blob[v],
                                 .acl_len = blob_len[v]};
}

static int setup(void **state)
{
    (void)state;
    if (fixture_dir(tmp, sizeof(tmp), cache, sizeof(cache), "rules") != 0)
        return -1;
    /* Two rule sets: the example's, and the same with one rule more. */
    char cmd[8800], pol2[4200];
    snprintf(pol2, sizeof(pol2), "%s/pol2", tmp);
    snprintf(cmd, sizeof(cmd),
             "cp -r mount-examples/policy '%s' && echo 'regular * GET /more/* deny' >>'%s/acl'",
             pol2, pol2);
    if (system(cmd) != 0)
        return -1;
    for (int v = 0; v < 2; v++)
        if (fixture_rules(&blob[v], &blob_len[v], v ? pol2 : "mount-examples/policy", NULL, NULL,
                          "regular", 3 + (uint64_t)v) != 0)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(blob[0]);
    free(blob[1]);
    return fixture_remove(tmp);
}

static char *slurp(const char *path, size_t *len)
{
    char *buf;
    assert_int_equal(builder_read(path, &buf, len), 0);
    return buf;
}

/* Builds spec(V) into OUT/SUB; returns the image's bytes (*LEN) and its result in *R. */
static char *build(int v, const char *sub, struct builder_result *r, size_t *len)
{
    struct builder_spec s = spec(v);
    char out[4300], p[8400];
    snprintf(out, sizeof(out), "%s/%s", tmp, sub);
    fixture_build(cache, 1, &s, out, r);
    snprintf(p, sizeof(p), "%s/image", r->dir);
    return slurp(p, len);
}

static char *build_log(const struct builder_result *r)
{
    char p[8400];
    size_t len;
    snprintf(p, sizeof(p), "%s/build.log", r->dir);
    char *text = slurp(p, &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    return text;
}

static void test_rules_change_links_nothing(void **state)
{
    (void)state;
    struct builder_result r0, r1, r2;
    size_t l0, l1, l2;
    char *i0 = build(0, "a", &r0, &l0), *log;
    /* Linked now or by an earlier run of this cache: either way the code is there now. */
    (void)r0.linked;
    /* New rules: the code comes from the cache; no compiler, no linker. */
    char *i1 = build(1, "a", &r1, &l1);
    assert_string_not_equal(r0.id, r1.id);
    assert_int_equal(r1.cached, 0);
    assert_int_equal(r1.linked, 0);
    log = build_log(&r1);
    assert_non_null(strstr(log, "linked before (no compiler or linker run)"));
    assert_null(strstr(log, "$ cc"));
    free(log);
    /* The rules are the image's last bytes, verbatim, after the region's header. */
    struct unisec_rules hdr;
    assert_true(l1 > blob_len[1] + sizeof(hdr));
    assert_memory_equal(i1 + l1 - blob_len[1], blob[1], blob_len[1]);
    memcpy(&hdr, i1 + l1 - blob_len[1] - sizeof(hdr), sizeof(hdr));
    assert_memory_equal(hdr.magic, UNISEC_RULES_MAGIC, 8);
    assert_int_equal(hdr.len, blob_len[1]);
    /* The code before the region is the same in both images but for the two headers that
     * point at the region: the text is byte for byte the same. */
    assert_true(l0 > 8192);
    assert_memory_equal(i0 + 4096, i1 + 4096, 4096);
    /* The same rules built again elsewhere: the same id, the same bytes. */
    char *i2 = build(1, "b", &r2, &l2);
    assert_string_equal(r2.id, r1.id);
    assert_int_equal(r2.linked, 0);
    assert_int_equal(l2, l1);
    assert_memory_equal(i2, i1, l1);
    free(i0);
    free(i1);
    free(i2);
    builder_results_free(&r0, 1);
    builder_results_free(&r1, 1);
    builder_results_free(&r2, 1);
}

/* From an empty code cache: linked once, then the same bytes as from the cache. */
static void test_rules_linked_or_cached_same_bytes(void **state)
{
    (void)state;
    char rm[4300];
    struct builder_result r1, r2;
    size_t l1, l2;
    snprintf(rm, sizeof(rm), "rm -rf '%s/code'", cache);
    assert_int_equal(system(rm), 0);
    char *i1 = build(0, "c", &r1, &l1);
    assert_int_equal(r1.linked, 1);
    char *log = build_log(&r1);
    assert_non_null(strstr(log, "$ cc -nostdlib"));
    free(log);
    char *i2 = build(0, "d", &r2, &l2);
    assert_int_equal(r2.linked, 0);
    assert_string_equal(r1.id, r2.id);
    assert_int_equal(l1, l2);
    assert_memory_equal(i1, i2, l1);
    free(i1);
    free(i2);
    builder_results_free(&r1, 1);
    builder_results_free(&r2, 1);
}

/* The linked code in the cache (any one: they all have the region). */
static char *cached_code(size_t *len)
{
    char cmd[4400], path[4400] = "";
    snprintf(cmd, sizeof(cmd), "ls -d '%s'/code/* | head -1", cache);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(path, sizeof(path), f));
    pclose(f);
    path[strcspn(path, "\n")] = '\0';
    return slurp(path, len);
}

static void test_rules_head_placement(void **state)
{
    (void)state;
    size_t len, hl;
    char *code = cached_code(&len);
    const char *why = NULL;
    void *head;
    assert_int_equal(builder_rules_check(code, len, &why), 0);
    static uint8_t rules[600 * 1024 + 1000]; /* pieces of 256 KiB and the rest */
    for (size_t i = 0; i < sizeof(rules); i++)
        rules[i] = (uint8_t)(i * 131 + (i >> 9));
    /* A region under a page follows the code at the next 16 bytes (a tender copies it). */
    assert_int_equal(builder_rules_head(code, len, 1000, &head, &hl, &why), 0);
    assert_int_equal(hl, (len + 15) / 16 * 16 + sizeof(struct unisec_rules));
    free(head);
    assert_int_equal(builder_rules_head(code, len, 4096 - 24, &head, &hl, &why), 0);
    assert_int_equal(hl % 4096, sizeof(struct unisec_rules));
    free(head);
    /* A larger one starts on a page of the file (a tender may map it). */
    assert_int_equal(builder_rules_head(code, len, sizeof(rules), &head, &hl, &why), 0);
    assert_int_equal(hl % 4096, sizeof(struct unisec_rules));
    assert_true(hl >= len + sizeof(struct unisec_rules));
    /* One segment points at the region, its 24 + 600 KiB + 1000 bytes at a page of the file. */
    Elf64_Ehdr eh;
    memcpy(&eh, head, sizeof(eh));
    int found = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, (char *)head + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && ph.p_offset == hl - sizeof(struct unisec_rules)) {
            found++;
            assert_int_equal(ph.p_filesz, 24 + sizeof(rules));
            assert_int_equal(ph.p_memsz, 24 + sizeof(rules));
            assert_int_equal(ph.p_flags, PF_R);
            assert_int_equal(ph.p_vaddr % 4096, 0);
            assert_int_equal(ph.p_align, 4096);
        }
    }
    assert_int_equal(found, 1);
    struct unisec_rules hdr; /* the header: the rules' length, and their CRC-32C once written */
    memcpy(&hdr, (char *)head + hl - sizeof(hdr), sizeof(hdr));
    assert_int_equal(hdr.len, sizeof(rules));
    assert_int_equal(hdr.crc32c, 0);
    /* Written: the head sealed with the rules' CRC-32C, then the rules, nothing else. */
    char dir[] = "/tmp/unisec-rules-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/image", dir);
    struct builder_piece piece = {rules, sizeof(rules)};
    assert_int_equal(builder_rules_write(path, head, hl, &piece, 1), 0);
    size_t flen;
    char *file = slurp(path, &flen);
    assert_int_equal(flen, hl + sizeof(rules));
    memcpy(&hdr, (char *)head + hl - sizeof(hdr), sizeof(hdr));
    assert_int_equal(hdr.crc32c, engine_crc32c(rules, sizeof(rules)));
    assert_memory_equal(file, head, hl);
    assert_memory_equal(file + hl, rules, sizeof(rules));
    free(file);
    unlink(path);
    rmdir(dir);
    /* An image is not linked code: its region is not empty, so rules are not placed twice. */
    assert_int_equal(builder_rules_check(head, hl, &why), -1);
    assert_non_null(strstr(why, "not the empty header"));
    free(head);
    free(code);
}

static void test_rules_head_refuses(void **state)
{
    (void)state;
    size_t len, hl;
    char *code = cached_code(&len), *bad = malloc(len);
    const char *why;
    void *head;
    Elf64_Ehdr eh;
    memcpy(&eh, code, sizeof(eh));
    /* Not ELF; cut short; headers out of the file; the region's header altered. */
    assert_int_equal(builder_rules_head("hello", 5, 5, &head, &hl, &why), -1);
    assert_null(head);
    assert_non_null(strstr(why, "not a static x86_64 ELF"));
    assert_int_equal(builder_rules_check(code, eh.e_shoff + 10, &why), -1);
    assert_non_null(strstr(why, "outside the file"));
    memcpy(bad, code, len);
    Elf64_Ehdr e2 = eh;
    e2.e_phnum = 0xffff;
    memcpy(bad, &e2, sizeof(e2));
    assert_int_equal(builder_rules_check(bad, len, &why), -1);
    e2 = eh;
    e2.e_shstrndx = e2.e_shnum;
    memcpy(bad, &e2, sizeof(e2));
    assert_int_equal(builder_rules_check(bad, len, &why), -1);
    /* The section's name changed: no region (an image linked with an older script). */
    memcpy(bad, code, len);
    char *n = memmem(bad, len, UNISEC_RULES_SECTION, sizeof(UNISEC_RULES_SECTION));
    assert_non_null(n);
    n[1] = 'X';
    assert_int_equal(builder_rules_check(bad, len, &why), -1);
    assert_non_null(strstr(why, "no section"));
    /* Its header not the empty one. */
    memcpy(bad, code, len);
    char *h = NULL; /* the last "UNIRULES": the region (the first is libos_rules()'s) */
    for (char *x = bad; (x = memmem(x, len - (size_t)(x - bad), UNISEC_RULES_MAGIC, 8)); x++)
        h = x;
    assert_non_null(h);
    h[8] = 1;
    assert_int_equal(builder_rules_check(bad, len, &why), -1);
    assert_non_null(strstr(why, "not the empty header"));
    free(bad);
    free(code);
}

/* Lines of the log the counting compiler writes (one per run), or 0. */
static int runs(const char *log)
{
    FILE *f = fopen(log, "r");
    int n = 0, c;
    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* The compiler is run for real only when something needs it: a compiler that logs each of
 * its runs sees none for a builder made again (its answers are kept per program) or for an
 * image of new rules; a compiler file changed is asked again. */
static void test_rules_compiler_runs_counted(void **state)
{
    (void)state;
    char cc[4200], log[4200];
    snprintf(log, sizeof(log), "%s/countcc.log", tmp);
    fixture_script(cc, sizeof(cc), tmp, "countcc",
                   "#!/bin/sh\necho \"$*\" >>'%s'\nexec cc \"$@\"\n", log);
    struct builder_options o = {.cache_dir = cache, .cc = cc, .jobs = 1};
    struct builder_spec s = spec(0);
    struct builder_result r;
    struct engine_diag d;
    struct builder *b;
    char out[4300];
    engine_diag_init(&d);
    snprintf(out, sizeof(out), "%s/counted", tmp);
    assert_int_equal(builder_new(&b, &o, &d), 0);
    builder_free(b);
    int first = runs(log);
    assert_true(first >= 2); /* --version, its headers (and BearSSL's places) */
    /* A builder made again, and an image of other rules than the cache's code had: none. */
    assert_int_equal(builder_new(&b, &o, &d), 0);
    s = spec(1);
    s.level = "counted"; /* not an image built before: its rules are placed anew */
    assert_int_equal(builder_build(b, &s, 1, out, &r, &d), 0);
    builder_free(b);
    assert_int_equal(r.linked, 1); /* a level never linked: its code is linked once */
    builder_results_free(&r, 1);
    int linked = runs(log);
    assert_int_equal(builder_new(&b, &o, &d), 0);
    s = spec(0);
    s.level = "counted";
    assert_int_equal(builder_build(b, &s, 1, out, &r, &d), 0);
    builder_free(b);
    assert_int_equal(r.linked, 0);
    assert_int_equal(r.cached, 0);
    builder_results_free(&r, 1);
    assert_int_equal(runs(log), linked); /* the rule change ran the compiler not once */
    /* The compiler's file changed: asked again. */
    FILE *f = fopen(cc, "a");
    assert_non_null(f);
    fputs("# changed\n", f);
    fclose(f);
    assert_int_equal(builder_new(&b, &o, &d), 0);
    builder_free(b);
    assert_true(runs(log) > linked);
    engine_diag_free(&d);
}

/* A base blob and a patch over it (the index's, as the daemon makes them): placed after the
 * blob at the next 8 bytes, the region summed over both, the manifest naming the base and the
 * patch; another patch, another id; the same inputs, the same bytes; a patch over another
 * blob, or a base commit that is no commit id, refused. */
static void test_rules_base_and_patch(void **state)
{
    (void)state;
    const char *acl = "regular * GET /* allow\nregular * GET /b/* deny\n";
    const char *bc = "0123456789abcdef0123456789abcdef01234567";
    struct engine_acl *a;
    struct engine_acl_index *x;
    struct engine_diag d;
    const void *base;
    void *p1, *p2;
    size_t blen, l1, l2;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    assert_int_equal(engine_acl_index_new(&x, a, "regular", 7), 0);
    engine_acl_free(a);
    struct engine_acl_change del = {"regular", "*", "GET", "/b/*", 0, 2},
                             add = {"regular", "*", "GET", "/c", 1, 3};
    assert_int_equal(engine_acl_index_apply(x, &del, 1, &add, 1, 8), 0);
    assert_int_equal(engine_acl_index_patch(x, 7, &p1, &l1), 0);
    assert_int_equal(engine_acl_index_apply(x, NULL, 0, &del, 1, 9), 0);
    assert_int_equal(engine_acl_index_patch(x, 7, &p2, &l2), 0);
    engine_acl_index_base(x, &base, &blen);

    struct builder_spec s = spec(0);
    struct builder_result r1, r2, r3;
    char out[4300], p[8400];
    s.acl_blob = base;
    s.acl_len = blen;
    s.acl_patch = p1;
    s.acl_patch_len = l1;
    s.acl_base_commit = bc;
    snprintf(out, sizeof(out), "%s/patched", tmp);
    fixture_build(cache, 1, &s, out, &r1);
    assert_int_equal(r1.linked, 0); /* the cached code, no compiler */
    snprintf(p, sizeof(p), "%s/image", r1.dir);
    size_t flen;
    char *file = slurp(p, &flen);
    struct builder_manifest *m;
    assert_int_equal(builder_manifest_load(r1.dir, &m, &d), 0);
    size_t at = (m->head_bytes + blen + 7) / 8 * 8;
    assert_int_equal(flen, at + l1);
    assert_memory_equal(file + m->head_bytes, base, blen);
    assert_memory_equal(file + at, p1, l1);
    for (size_t i = m->head_bytes + blen; i < at; i++)
        assert_int_equal(file[i], 0);
    struct unisec_rules hdr;
    memcpy(&hdr, file + m->head_bytes - sizeof(hdr), sizeof(hdr));
    assert_int_equal(hdr.len, flen - m->head_bytes);
    assert_int_equal(hdr.crc32c, engine_crc32c(file + m->head_bytes, flen - m->head_bytes));
    assert_int_equal(m->policy_version, 8);
    assert_int_equal(m->base_version, 7);
    assert_int_equal(m->acl_bytes, blen);
    assert_int_equal(m->patch_bytes, l1);
    assert_string_equal(m->base_commit, bc);
    assert_int_equal(strlen(m->patch_sha256), 64);
    builder_manifest_free(m);
    /* The same again elsewhere: the same id and bytes; another patch: another id. */
    snprintf(out, sizeof(out), "%s/patched2", tmp);
    fixture_build(cache, 1, &s, out, &r2);
    assert_string_equal(r1.id, r2.id);
    snprintf(p, sizeof(p), "%s/image", r2.dir);
    size_t flen2;
    char *file2 = slurp(p, &flen2);
    assert_int_equal(flen, flen2);
    assert_memory_equal(file, file2, flen);
    s.acl_patch = p2;
    s.acl_patch_len = l2;
    fixture_build(cache, 1, &s, out, &r3);
    assert_string_not_equal(r1.id, r3.id);
    /* A patch over other rules than the blob given; a base commit that is no commit id. */
    struct engine_diag bad;
    engine_diag_init(&bad);
    s.acl_blob = blob[0];
    s.acl_len = blob_len[0];
    assert_int_equal(builder_spec_check(&s, &bad), -EINVAL);
    s.acl_own = 1;
    assert_int_equal(builder_spec_check(&s, &bad), -EINVAL);
    s.acl_blob = base;
    s.acl_len = blen;
    s.acl_base_commit = "main";
    assert_int_equal(builder_spec_check(&s, &bad), -EINVAL);
    char *why = engine_diag_join(&bad);
    assert_non_null(strstr(why, "another blob"));
    assert_non_null(strstr(why, "40 hex digits"));
    free(why);
    engine_diag_free(&bad);
    free(file);
    free(file2);
    free(p1);
    free(p2);
    builder_results_free(&r1, 1);
    builder_results_free(&r2, 1);
    builder_results_free(&r3, 1);
    engine_acl_index_free(x);
    engine_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_change_links_nothing),
        cmocka_unit_test(test_rules_linked_or_cached_same_bytes),
        cmocka_unit_test(test_rules_head_placement),
        cmocka_unit_test(test_rules_head_refuses),
        cmocka_unit_test(test_rules_compiler_runs_counted),
        cmocka_unit_test(test_rules_base_and_patch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
