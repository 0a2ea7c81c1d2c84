/*
 * test_acl_memory.c — what a rule set and its compile hold, in bytes a rule: the engine's calls
 * to malloc and friends are counted here (redirected at link time: -Wl,--wrap, see meson.build),
 * each block by its usable size, so that the figures are the same on every run (no RSS, no
 * clock). The shape is the one that costs most: every rule its own user and path.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/acl.h"

static long long mem_live, mem_peak; /* bytes held through the wrappers below, and their most */

static void *mem_count(void *p)
{
    if (p != NULL) {
        mem_live += (long long)malloc_usable_size(p);
        if (mem_live > mem_peak)
            mem_peak = mem_live;
    }
    return p;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **out, size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n)
{
    return mem_count(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t m)
{
    return mem_count(__real_calloc(n, m));
}

void *__wrap_realloc(void *p, size_t n)
{
    long long before = p != NULL ? (long long)malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);

    if (q == NULL)
        return NULL;
    mem_live -= before;
    return mem_count(q);
}

void __wrap_free(void *p)
{
    if (p != NULL)
        mem_live -= (long long)malloc_usable_size(p);
    __real_free(p);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    int r = __real_posix_memalign(out, align, n);

    if (r == 0)
        mem_count(*out);
    return r;
}

char *__wrap_strdup(const char *s)
{
    return mem_count(__real_strdup(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
    return mem_count(__real_strndup(s, n));
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    int r = __real_vasprintf(out, fmt, ap);

    if (r >= 0)
        mem_count(*out);
    return r;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = __wrap_vasprintf(out, fmt, ap);
    va_end(ap);
    return r;
}

#define MEM_RULES 100000

/* A policy directory of MEM_RULES rules `regular uN GET /g/rN allow` and 2000 users in 20 groups
 * (bench/acl's `--shape unique`), in a temporary directory DIR. */
static void mem_policy(char *dir, size_t size)
{
    char path[4300];
    FILE *f;
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, size, "%s/unisec-acl-memory-XXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/groups", dir);
    assert_non_null(f = fopen(path, "w"));
    for (unsigned g = 0; g < 20; g++) {
        fprintf(f, "g%u:", g);
        for (unsigned u = g; u < 2000; u += 10)
            fprintf(f, " u%u", u);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof(path), "%s/acl", dir);
    assert_non_null(f = fopen(path, "w"));
    for (unsigned i = 0; i < MEM_RULES; i++)
        fprintf(f, "regular u%u GET /g/r%u allow\n", i, i);
    assert_int_equal(fclose(f), 0);
}

static void mem_policy_remove(const char *dir)
{
    char path[4300];

    snprintf(path, sizeof(path), "%s/groups", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/acl", dir);
    unlink(path);
    rmdir(dir);
}

/* A loaded set keeps its rules and strings, not the table that found a string while parsing;
 * compiling its index holds the blob and about one 4-byte offset a string beside the set, not
 * arrays as long as the strings for the few users. The bounds sit between what the code holds
 * (about 51 B a rule in the set, 9 beside the blob) and what it held before (about 108 and 24),
 * measured at this size. */
static void test_acl_memory_set_and_compile(void **state)
{
    char dir[4200];
    struct engine_acl *a = NULL;
    struct engine_acl_index *x = NULL;
    struct engine_diag d;
    const void *blob;
    size_t len;
    long long live0, set, extra;
    (void)state;

    mem_policy(dir, sizeof(dir));
    engine_diag_init(&d);
    live0 = mem_live;
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_load_dir(a, dir, &d), 0);
    set = mem_live - live0;
    mem_peak = mem_live;
    assert_int_equal(engine_acl_index_new(&x, a, NULL, 1), 0);
    engine_acl_index_base(x, &blob, &len);
    extra = mem_peak - (live0 + set) - (long long)len;
    print_message("set %.1f B a rule; compile: blob %.1f and %.1f more B a rule at the peak\n",
                  (double)set / MEM_RULES, (double)len / MEM_RULES, (double)extra / MEM_RULES);
    assert_true(set < 64LL * MEM_RULES);
    assert_true(extra < 16LL * MEM_RULES);
    engine_acl_index_free(x);
    engine_acl_free(a);
    engine_diag_free(&d);
    mem_policy_remove(dir);
}

/* A sealed set still takes more rules: a parse into it makes the strings' table again, and a
 * string it held already keeps its id (the blob is the one a set parsed at once gives). */
static void test_acl_memory_sealed_set_takes_more(void **state)
{
    static const char acl[] = "p alice GET /a allow\np bob GET /b/* deny\n";
    static const char more[] = "p alice POST /a allow\np carol GET /b/* allow\n";
    static const char both[] = "p alice GET /a allow\np bob GET /b/* deny\n"
                               "\np alice POST /a allow\np carol GET /b/* allow\n";
    struct engine_acl *a = NULL, *w = NULL;
    struct engine_diag d;
    void *b1, *b2;
    size_t l1, l2;
    (void)state;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d), 0);
    assert_int_equal(engine_acl_finish(a, &d), 0);
    engine_acl_seal(a);
    assert_true(engine_acl_has_policy(a, "p"));
    assert_false(engine_acl_has_policy(a, "alice"));
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl.d/x", more, strlen(more), &d),
                     0);
    assert_int_equal(engine_acl_finish(a, &d), 0);
    engine_acl_seal(a);
    assert_int_equal(engine_acl_compile(&b1, &l1, a, "p", 0), 0);
    /* The same rules in one file (at the same lines: the second file's lines follow a gap of
     * one): the same bytes. */
    assert_int_equal(engine_acl_new(&w), 0);
    assert_int_equal(engine_acl_parse(w, ENGINE_ACL_FILE_ACL, "acl", both, strlen(both), &d), 0);
    assert_int_equal(engine_acl_finish(w, &d), 0);
    assert_int_equal(engine_acl_compile(&b2, &l2, w, "p", 0), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    engine_acl_free(a);
    engine_acl_free(w);
    engine_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_memory_set_and_compile),
        cmocka_unit_test(test_acl_memory_sealed_set_takes_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
