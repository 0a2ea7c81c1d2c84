/*
 * test_topology_alloc.c — the allocation-failure sweep: makes the Nth allocation of the engine
 * fail, for every N, while loading the example topologies (one in a CSAR archive), deriving their
 * images and artifacts and editing a state; each run must fail cleanly (-ENOMEM, no partial result)
 * and, under AddressSanitizer, leak nothing. The engine's calls to malloc and friends are
 * redirected here at link time (-Wl,--wrap, see meson.build), and jansson's through
 * json_set_alloc_funcs(); libyaml's own allocations are not counted (it has no allocator hook). The
 * normative TOSCA types are parsed once per process, by the first load: the first test sweeps that
 * parse.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "engine/csar.h"
#include "engine/topology.h"
#include "engine/topology_int.h" /* topo_normative_ready() */

static long alloc_count, alloc_fail_at; /* fail_at 0: never fail */

static int alloc_fails(void)
{
    return alloc_fail_at > 0 && ++alloc_count == alloc_fail_at;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);
FILE *__real_open_memstream(char **buf, size_t *len);

void *__wrap_malloc(size_t n)
{
    return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return alloc_fails() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return alloc_fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return alloc_fails() ? NULL : __real_strndup(s, n);
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    return alloc_fails() ? -1 : __real_vasprintf(out, fmt, ap);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    int r;
    if (alloc_fails())
        return -1;
    va_start(ap, fmt);
    r = __real_vasprintf(out, fmt, ap);
    va_end(ap);
    return r;
}

FILE *__wrap_open_memstream(char **buf, size_t *len)
{
    return alloc_fails() ? NULL : __real_open_memstream(buf, len);
}

/* The five artifacts of X, concatenated, in memory the sweep does not count (caller frees). */
static char *artifacts_copy(const struct engine_topology_derived *x)
{
    size_t total = 1, off = 0;
    char *out;

    for (int a = 0; a < ENGINE_ARTIFACT_COUNT; a++) {
        size_t len;
        engine_topology_derived_artifact(x, a, &len);
        total += len;
    }
    out = __real_malloc(total);
    assert_non_null(out);
    for (int a = 0; a < ENGINE_ARTIFACT_COUNT; a++) {
        size_t len;
        const char *text = engine_topology_derived_artifact(x, a, &len);
        memcpy(out + off, text, len);
        off += len;
    }
    out[off] = 0;
    return out;
}

/* A CSAR archive loaded, then merged into one file as `unisec init --from` does, its other
 * files kept. */
static int load_csar(const char *path, struct engine_topology **t, struct engine_diag *d)
{
    struct engine_csar *c = NULL;
    struct engine_csar_file *files = NULL;
    char *flat = NULL;
    size_t len, n = 0;
    int r;

    if ((r = engine_csar_open(&c, path, d)) < 0) {
        assert_null(c);
        return r;
    }
    if ((r = engine_topology_load_csar(t, c, d)) == 0 &&
        (r = engine_csar_flatten_files(c, &flat, &len, &files, &n, d)) < 0) {
        assert_null(flat);
        assert_null(files);
        engine_topology_free(*t);
        *t = NULL;
    }
    engine_csar_files_free(files, n);
    free(flat);
    engine_csar_free(c);
    return r;
}

/* One run of everything the sweep covers; returns the first failure's code. On success *OUT
 * gets the artifacts (see artifacts_copy). */
static int run_once(const char *path, char **out)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *s = NULL, *s2 = NULL;
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    char *lv = NULL, *pr = NULL;
    size_t ll, pl;
    int r;

    engine_diag_init(&d);
    if ((r = strstr(path, ".csar") ? load_csar(path, &t, &d)
                                   : engine_topology_load_file(&t, path, &d)) < 0) {
        assert_null(t);
        goto done;
    }
    if ((r = engine_topology_state_new(&s, t)) < 0)
        goto done;
    const struct engine_topology_node *n = engine_topology_node_at(t, 0);
    if ((r = engine_topology_state_set_level(s, n->name, n->levels[n->nlevels - 1], &d)) < 0)
        goto done;
    if (n->nprops > 0 && n->props[0].type == ENGINE_TOPOLOGY_INTEGER &&
        (r = engine_topology_state_set_property(s, n->name, n->props[0].name, "7", &d)) < 0)
        goto done;
    if ((r = engine_topology_state_format_levels(s, &lv, &ll)) < 0 ||
        (r = engine_topology_state_format_properties(s, &pr, &pl)) < 0)
        goto done;
    if ((r = engine_topology_state_parse(&s2, t, lv, ll, pr, pl, &d)) < 0) {
        assert_null(s2);
        goto done;
    }
    if ((r = engine_topology_derive(&x, t, s2, ENGINE_TARGET_HVT, &d)) < 0)
        assert_null(x);
    else
        *out = artifacts_copy(x);
done:
    free(lv);
    free(pr);
    engine_topology_derived_free(x);
    engine_topology_state_free(s2);
    engine_topology_state_free(s);
    engine_topology_free(t);
    engine_diag_free(&d);
    return r;
}

/* Fails each allocation of RUN(ARG) in turn (WHAT names it in messages). */
static void sweep_with(const char *what, int (*run)(const char *arg, char **out), const char *arg,
                       int valid)
{
    char *want = NULL;
    long n;

    alloc_fail_at = 0;
    assert_int_equal(run(arg, &want) == 0, valid);
    for (n = 1;; n++) {
        char *got = NULL;
        int r;
        alloc_count = 0;
        alloc_fail_at = n;
        r = run(arg, &got);
        if (alloc_count < n) { /* the run made fewer than n allocations: all were tried */
            free(got);
            break;
        }
        /* jansson absorbs some failures (the result is still whole): then it must be right */
        if (r == 0 && valid && strcmp(got, want) == 0) {
            free(got);
            continue;
        }
        free(got);
        /* an allocation failing while recording an error may leave the input's verdict */
        if (r != -ENOMEM && !(r == -EINVAL && !valid))
            fail_msg("%s: allocation %ld failed and the run returned %d, not -ENOMEM", what, n, r);
    }
    alloc_fail_at = 0;
    free(want);
    print_message("%s: failed each of %ld allocations in turn\n", what, n - 1);
    assert_true(n > 100); /* the sweep reached the engine's allocations */
}

static void sweep(const char *path, int valid)
{
    sweep_with(path, run_once, path, valid);
}

/* The values of a template's inputs: an inputs.yaml made from a file and --input words, then
 * loaded with the template, and each input shown as inputs/NAME shows it (*OUT: the text
 * made). */
static int run_inputs(const char *topo, char **out)
{
    static char *assign[] = {"cpus=4", "ports=[80, 443]"};
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *text = NULL;
    size_t len;
    int r;

    engine_diag_init(&d);
    r = engine_topology_inputs_text(&text, &len, "mem: 2 GB\n", 10, "in.yaml", assign, 2, &d);
    if (r == 0 && (r = engine_topology_load_inputs(&t, topo, strlen(topo), "t.yaml", NULL, text,
                                                   len, "inputs.yaml", &d)) < 0)
        assert_null(t);
    for (size_t i = 0; r == 0 && i < engine_topology_input_count(t); i++) {
        char *shown = NULL;
        size_t slen;
        r = engine_topology_input_show(&shown, &slen, t, text, len,
                                       engine_topology_input_name(t, i));
        if (r < 0)
            assert_null(shown);
        free(shown);
    }
    if (r == 0)
        *out = text;
    else
        free(text);
    engine_topology_free(t);
    engine_diag_free(&d);
    return r;
}

/* The first load of the process parses the normative types: fail each of its allocations in
 * turn (each failure leaves them unparsed, so the next run parses them again) until a load
 * succeeds, which leaves them parsed for the other tests. */
static void test_topology_alloc_normative(void **state)
{
    const char *path = "mount-examples/paper.yaml";
    long n, warm;
    char *got = NULL;

    (void)state;
    assert_false(topo_normative_ready()); /* this test must run first */
    for (n = 1; !topo_normative_ready(); n++) {
        alloc_count = 0;
        alloc_fail_at = n;
        assert_int_equal(run_once(path, &got), -ENOMEM);
        assert_int_equal(alloc_count >= n, 1);
    }
    alloc_count = 0;
    alloc_fail_at = LONG_MAX; /* count, never fail */
    assert_int_equal(run_once(path, &got), 0);
    free(got);
    warm = alloc_count;
    alloc_fail_at = 0;
    print_message("normative types: parsed once allocation %ld no longer failed; a load "
                  "after that makes %ld allocations\n",
                  n - 1, warm);
    /* more failures than a whole later run has allocations: most were in the normative parse */
    assert_true(n - 1 > warm + 100);
}

static void test_topology_alloc_examples(void **state)
{
    (void)state;
    sweep("mount-examples/paper.yaml", 1);
    sweep("mount-examples/three-tier/topology.yaml", 1);
    /* TOSCA 1.3: functions resolved along HOST and capabilities, a substitution mapping */
    sweep("tests/fuzz/corpus/topology/tosca13-functions.yaml", 1);
    sweep("tests/fuzz/corpus/csar/meta.csar", 1); /* imports and an artifact in an archive */
    /* every kind of definition and template, carried into D_TOSCA as written */
    sweep("tests/fuzz/corpus/topology/tosca12-carry.yaml", 1);
    sweep("tests/fuzz/corpus/topology/carry-prefix.yaml", 1); /* namespace prefixes dropped */
    sweep("tests/fuzz/corpus/topology/tosca13-carry.yaml", 1);
    sweep_with("inputs", run_inputs,
               "tosca_definitions_version: tosca_simple_yaml_1_3\n"
               "topology_template:\n"
               "  inputs:\n"
               "    cpus: {type: integer, constraints: [{in_range: [1, 8]}]}\n"
               "    mem: {type: scalar-unit.size, default: 1 GB}\n"
               "    ports: {type: list, entry_schema: {type: integer}}\n"
               "    tags: {type: list, default: [a, b], required: false}\n"
               "  node_templates:\n"
               "    s:\n"
               "      type: tosca.nodes.Compute\n"
               "      capabilities: {host: {properties: {num_cpus: {get_input: cpus}}}}\n",
               1);
}

static void test_topology_alloc_invalid(void **state)
{
    (void)state;
    sweep("tests/golden/topology/wrong-property-type/input.yaml", 0);
    sweep("tests/golden/topology/import-error/input.yaml", 0);
    sweep("tests/golden/topology/tosca13-functions/input.yaml", 0);
    sweep("tests/golden/topology/tosca13-substitution/input.yaml", 0);
    sweep("tests/golden/topology/version-keys/input.yaml", 0);
    /* a requirement's target against its definition; valid_source_types kept and checked */
    sweep("tests/golden/topology/tosca13-valid-source-types/input.yaml", 0);
    sweep("tests/golden/topology/tosca13-no-node-templates/input.yaml", 0);
    /* a node naming itself; the minimum of requirement occurrences */
    sweep("tests/golden/topology/tosca13-self-requirement/input.yaml", 0);
    sweep("tests/golden/topology/tosca13-occurrences-min/input.yaml", 0);
}

int main(void)
{
    json_set_alloc_funcs(malloc, free); /* this file's malloc is the wrapped one */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_alloc_normative),
        cmocka_unit_test(test_topology_alloc_examples),
        cmocka_unit_test(test_topology_alloc_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
