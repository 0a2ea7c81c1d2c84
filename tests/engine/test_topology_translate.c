/* test_topology_translate.c — D_TOSCA (tosca.yaml) says what the template said: every
 * template below, every example and every template of the fuzz corpus and of tosca-parser's
 * corpus (../shared/tosca/corpus, when it is there) that unisec accepts is translated, its
 * tosca.yaml read back, and what unisec reads from both compared: the same types of every kind
 * with the same definitions, the same node templates (types, properties, capabilities,
 * requirements, interfaces, artifacts, attributes), inputs, relationship templates, groups,
 * policies, outputs, substitution mapping and workflows, repositories and metadata. A kind of
 * definition the translation drops fails here. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/topology_int.h"

static int failed;

static void fail_at(const char *file, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failed++;
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every line of A is a line of B (D_TOSCA may add lines: a host's address, unisec's own). */
static int lines_within(const char *a, const char *b)
{
    for (const char *l = a, *nl; l != NULL && *l != '\0'; l = nl + 1) {
        const char *p = b;
        size_t n;
        nl = strchr(l, '\n');
        n = (size_t)(nl - l) + 1;
        while (p != NULL && *p != '\0' && strncmp(p, l, n) != 0)
            p = (p = strchr(p, '\n')) ? p + 1 : NULL;
        if (p == NULL || *p == '\0')
            return 0;
    }
    return 1;
}

static const struct topo_tdef *tdef_of(const struct engine_topology *t, int kind, const char *name)
{
    int i = topo_tdef_find_exact(t, kind, name);
    return i >= 0 ? &t->tdefs[i] : NULL;
}

static void compare_types(const char *file, const struct engine_topology *a,
                          const struct engine_topology *b)
{
    for (size_t i = 0; i < a->ntdefs; i++) {
        const struct topo_tdef *x = &a->tdefs[i], *y;
        if (x->builtin)
            continue;
        if ((y = tdef_of(b, x->kind, x->name)) == NULL || y->builtin) {
            fail_at(file, "type %s (kind %d) is not in tosca.yaml", x->name, x->kind);
            continue;
        }
        if (x->kind != TOPO_K_NODE) {
            if (!str_eq(x->carry[TOPO_C_REST], y->carry[TOPO_C_REST]))
                fail_at(file, "type %s: '%s' became '%s'", x->name, x->carry[TOPO_C_REST],
                        y->carry[TOPO_C_REST]);
            continue;
        }
        /* a node type: what it said is there; D_TOSCA may add security_level, its modules'
         * capabilities and requirement definitions */
        for (int p = 0; p < TOPO_C_N; p++)
            if (!lines_within(x->carry[p], y->carry[p]))
                fail_at(file, "node type %s: part %d '%s' is not within '%s'", x->name, p,
                        x->carry[p], y->carry[p]);
        if (!str_eq(x->derived_from, y->derived_from) && x->derived_from != NULL)
            fail_at(file, "node type %s: derived from %s, then %s", x->name, x->derived_from,
                    y->derived_from);
    }
}

/* The type D_TOSCA gives a node of type NAME: its own, or unisec.nodes.X for tosca.nodes.X. */
static int same_node_type(const char *a, const char *b)
{
    const char *dot = strrchr(a, '.');
    return strcmp(a, b) == 0 || (strncmp(a, "tosca.nodes.", 12) == 0 &&
                                 strncmp(b, "unisec.nodes.", 13) == 0 && strcmp(dot, b + 12) == 0);
}

static void compare_nodes(const char *file, const struct engine_topology *a,
                          const struct engine_topology *b)
{
    if (a->nnodes != b->nnodes)
        fail_at(file, "%zu nodes, then %zu", a->nnodes, b->nnodes);
    for (size_t i = 0; i < a->nnodes && i < b->nnodes; i++) {
        const struct topo_node *x = &a->nodes[i], *y = &b->nodes[i];
        const char *xt = x->tdef >= 0 ? a->tdefs[x->tdef].name : x->pub.type; /* Compute */
        if (strcmp(x->name, y->name) != 0 ||
            !(same_node_type(x->pub.type, y->pub.type) || same_node_type(xt, y->pub.type))) {
            fail_at(file, "node %s (%s) became %s (%s)", x->name, x->pub.type, y->name,
                    y->pub.type);
            continue;
        }
        for (size_t p = 0; p < x->pub.nprops; p++) {
            const struct engine_topology_prop *q =
                engine_topology_node_prop(&y->pub, x->props[p].name);
            if (q == NULL || !str_eq(x->props[p].value, q->value))
                fail_at(file, "node %s: property %s '%s' became '%s'", x->name, x->props[p].name,
                        x->props[p].value, q ? q->value : "(none)");
        }
        /* D_TOSCA adds security_level, a host's address, the images */
        for (int p = 0; p < TOPO_C_N; p++)
            if (p == TOPO_C_PROPS || p == TOPO_C_ATTRS || p == TOPO_C_ARTS
                    ? !lines_within(x->carry[p], y->carry[p])
                    : !str_eq(x->carry[p], y->carry[p]))
                fail_at(file, "node %s: part %d '%s' became '%s'", x->name, p, x->carry[p],
                        y->carry[p]);
        if (x->nreqs != y->nreqs)
            fail_at(file, "node %s: %zu requirements, then %zu", x->name, x->nreqs, y->nreqs);
        for (size_t r = 0; r < x->nreqs && r < y->nreqs; r++)
            if (!str_eq(x->reqs[r].name, y->reqs[r].name) ||
                !str_eq(x->reqs[r].node, y->reqs[r].node) ||
                !str_eq(x->reqs[r].relationship, y->reqs[r].relationship))
                fail_at(file, "node %s: requirement %s changed", x->name, x->reqs[r].name);
    }
}

static void compare_template(const char *file, const struct engine_topology *a,
                             const struct engine_topology *b)
{
    if (a->ninputs != b->ninputs)
        fail_at(file, "%zu inputs, then %zu", a->ninputs, b->ninputs);
    for (size_t i = 0; i < a->ninputs && i < b->ninputs; i++)
        if (!str_eq(a->inputs[i].def.name, b->inputs[i].def.name) ||
            !str_eq(a->inputs[i].carry, b->inputs[i].carry) ||
            !str_eq(a->inputs[i].value, b->inputs[i].value))
            fail_at(file, "input %s changed", a->inputs[i].def.name);
    if (a->nrtemplates != b->nrtemplates)
        fail_at(file, "%zu relationship templates, then %zu", a->nrtemplates, b->nrtemplates);
    for (size_t i = 0; i < a->nrtemplates && i < b->nrtemplates; i++)
        if (!str_eq(a->rtemplates[i], b->rtemplates[i]))
            fail_at(file, "relationship template %s changed", a->rtemplates[i]);
    if (a->ngroups != b->ngroups)
        fail_at(file, "%zu groups, then %zu", a->ngroups, b->ngroups);
    for (size_t i = 0; i < a->ngroups && i < b->ngroups; i++) {
        const struct topo_group *x = &a->groups[i], *y = &b->groups[i];
        int same = str_eq(x->name, y->name) && str_eq(x->type, y->type) &&
                   str_eq(x->description, y->description) && str_eq(x->carry, y->carry) &&
                   x->nmembers == y->nmembers;
        for (size_t m = 0; same && m < x->nmembers; m++)
            same = strcmp(a->nodes[x->members[m]].name, b->nodes[y->members[m]].name) == 0;
        if (!same)
            fail_at(file, "group %s changed", x->name);
    }
    for (int s = 0; s < TOPO_T_N; s++)
        if (!str_eq(a->carry_tt[s], b->carry_tt[s]))
            fail_at(file, "topology_template part %d '%s' became '%s'", s, a->carry_tt[s],
                    b->carry_tt[s]);
    if (!str_eq(a->carry_top, b->carry_top))
        fail_at(file, "'%s' became '%s'", a->carry_top, b->carry_top);
}

/* Translates the topology T (read from FILE) and compares what its tosca.yaml reads as.
 * Returns whether T translates (for the hvt target). */
static int roundtrip(const char *file, const struct engine_topology *t)
{
    struct engine_topology_derived *x = NULL;
    struct engine_topology *u = NULL;
    struct engine_diag d;
    const char *text;
    size_t len = 0;

    engine_diag_init(&d);
    int ok = engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d) == 0;

    if (ok) {
        text = engine_topology_derived_artifact(x, ENGINE_ARTIFACT_TOSCA, &len);
        if (engine_topology_load_buffer(&u, text, len, "tosca.yaml", NULL, &d) < 0) {
            fail_at(file, "unisec refuses its tosca.yaml:");
            engine_diag_print(&d, stderr);
        } else {
            compare_types(file, t, u);
            compare_nodes(file, t, u);
            compare_template(file, t, u);
        }
    }
    engine_topology_free(u);
    engine_topology_derived_free(x);
    engine_diag_free(&d);
    return ok;
}

/* FILE when unisec accepts and translates it; returns whether it did. */
static int roundtrip_file(const char *file)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    int ok;

    engine_diag_init(&d);
    ok = engine_topology_load_file(&t, file, &d) == 0 && roundtrip(file, t);
    engine_topology_free(t);
    engine_diag_free(&d);
    return ok;
}

/* Every kind TOSCA 1.2 defines, and a template using each (tosca12-carry.yaml, whose
 * translation tosca-parser reads too), and 1.3's own keys. */
static void test_topology_translate_every_kind(void **state)
{
    (void)state;
    failed = 0;
    assert_true(roundtrip_file("tests/fuzz/corpus/topology/tosca12-carry.yaml"));
    assert_true(roundtrip_file("tests/fuzz/corpus/topology/tosca13-functions.yaml"));
    /* 1.3: directives, node filters, notifications, workflows, attribute mappings */
    assert_true(roundtrip_file("tests/fuzz/corpus/topology/tosca13-carry.yaml"));
    /* imported types named with a namespace prefix, which D_TOSCA (no imports) drops */
    assert_true(roundtrip_file("tests/fuzz/corpus/topology/carry-prefix.yaml"));
    assert_int_equal(failed, 0);
}

static int roundtrip_dir(const char *dir, const char *suffix)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (dp == NULL)
        return 0;
    while ((de = readdir(dp)) != NULL) {
        char path[512];
        size_t l = strlen(de->d_name);
        if (l < strlen(suffix) || strcmp(de->d_name + l - strlen(suffix), suffix) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        n += roundtrip_file(path);
    }
    closedir(dp);
    return n;
}

static void test_topology_translate_examples(void **state)
{
    (void)state;
    failed = 0;
    assert_true(roundtrip_dir("mount-examples", ".yaml") >= 2);
    assert_true(roundtrip_file("mount-examples/three-tier/topology.yaml"));
    assert_true(roundtrip_dir("tests/fuzz/corpus/topology", ".yaml") >= 3);
    assert_int_equal(failed, 0);
}

/* tosca-parser's corpus: each file it finds valid that unisec accepts. */
static void test_topology_translate_corpus(void **state)
{
    const char *corpus = "../shared/tosca/corpus";
    char line[1024], path[1536];
    FILE *f;
    int n = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/expected.tsv", corpus);
    if ((f = fopen(path, "r")) == NULL) {
        skip(); /* no ../shared: the conformance corpus is not there */
        return;
    }
    failed = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tab = strchr(line, '\t');
        if (tab == NULL || strncmp(tab + 1, "valid\t", 6) != 0)
            continue;
        *tab = '\0';
        snprintf(path, sizeof(path), "%s/tosca-parser/%s", corpus, line);
        n += roundtrip_file(path);
    }
    fclose(f);
    print_message("%d corpus templates translated and read back\n", n);
    assert_true(n > 50);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_translate_every_kind),
        cmocka_unit_test(test_topology_translate_examples),
        cmocka_unit_test(test_topology_translate_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
