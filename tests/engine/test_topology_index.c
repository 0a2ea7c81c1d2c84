/* test_topology_index.c — nodes are looked up by name through an index: every lookup (the
 * state's setters, carrying a state to a new topology, a derived plan by node) finds the right
 * node, and costs O(log n) name comparisons, not O(n). The engine's strcmp calls are counted
 * through a link-time wrapper (-Wl,--wrap=strcmp). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/topology.h"
#include "topology_gen.h"

#define NODES 2000

static unsigned long strcmp_calls;

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);

int __wrap_strcmp(const char *a, const char *b)
{
    strcmp_calls++;
    return __real_strcmp(a, b);
}

/* NODES nodes with two levels each, named so that file order is not name order. */
static struct engine_topology *many(int nodes, int shift)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(topology_gen_write(f, nodes, shift), 0);
    assert_int_equal(fclose(f), 0);
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_buffer(&t, text, len, "t.yaml", NULL, &d), 0);
    engine_diag_free(&d);
    free(text);
    return t;
}

static void test_topology_index_finds_every_node(void **state)
{
    struct engine_topology *t = many(NODES, 3);
    char name[32];

    (void)state;
    for (int i = 0; i < NODES; i++) {
        const struct engine_topology_node *n;
        snprintf(name, sizeof(name), "n%d", i);
        assert_non_null(n = engine_topology_node_find(t, name));
        assert_string_equal(n->name, name);
    }
    for (size_t i = 0; i < engine_topology_node_count(t); i++)
        assert_ptr_equal(engine_topology_node_find(t, engine_topology_node_at(t, i)->name),
                         engine_topology_node_at(t, i));
    assert_null(engine_topology_node_find(t, "n"));
    assert_null(engine_topology_node_find(t, "n20000"));
    assert_null(engine_topology_node_find(t, ""));
    assert_null(engine_topology_node_find(t, "m5"));
    assert_null(engine_topology_node_find(t, "o5"));
    engine_topology_free(t);
}

/* Carrying the state of every node over to a new topology (what the mount does on every
 * change) is O(n log n) in name comparisons; it was O(n^2) (about 2 million at 2,000 nodes). */
static void test_topology_index_carry_is_not_quadratic(void **state)
{
    struct engine_topology *t = many(NODES, 0), *t2 = many(NODES, 11);
    struct engine_topology_state *s, *s2;
    char name[32];

    (void)state;
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    for (int i = 0; i < NODES; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        if (i % 3 == 0)
            assert_int_equal(engine_topology_state_set_level(s, name, "critical", NULL), 0);
        if (i % 5 == 0)
            assert_int_equal(engine_topology_state_set_property(s, name, "http_port", "9000", NULL),
                             0);
    }
    strcmp_calls = 0;
    assert_int_equal(engine_topology_state_carry(&s2, t2, s, NULL), 0);
    assert_true(strcmp_calls < 40ul * NODES);
    for (int i = 0; i < NODES; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        assert_string_equal(engine_topology_state_level(s2, name),
                            i % 3 == 0 ? "critical" : "default");
        if (i % 5 == 0)
            assert_string_equal(engine_topology_state_property(s2, name, "http_port"), "9000");
    }
    engine_topology_state_free(s2);
    engine_topology_state_free(s);
    engine_topology_free(t2);
    engine_topology_free(t);
}

/* A node's level by position is its level by name, for every node, with no name compared
 * (the mount walks every node this way after each level write); out of range is NULL. */
static void test_topology_index_level_at(void **state)
{
    struct engine_topology *t = many(NODES, 7);
    struct engine_topology_state *s;
    size_t n = engine_topology_node_count(t);
    static const char *at[NODES];

    (void)state;
    assert_int_equal(n, NODES);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    for (size_t i = 0; i < n; i += 3)
        assert_int_equal(engine_topology_state_set_level(s, engine_topology_node_at(t, i)->name,
                                                         "critical", NULL),
                         0);
    strcmp_calls = 0;
    for (size_t i = 0; i < n; i++)
        at[i] = engine_topology_state_level_at(s, i);
    assert_int_equal(strcmp_calls, 0);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(at[i], i % 3 == 0 ? "critical" : "default");
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(engine_topology_state_level_at(s, i),
                         engine_topology_state_level(s, engine_topology_node_at(t, i)->name));
    assert_null(engine_topology_state_level_at(s, n));
    engine_topology_state_free(s);
    engine_topology_free(t);
}

/* A derived plan is found by node name with the same index. */
static void test_topology_index_derived_find(void **state)
{
    struct engine_topology *t = many(NODES, 5);
    struct engine_topology_derived *x;
    char name[32];

    (void)state;
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, NULL), 0);
    strcmp_calls = 0;
    for (int i = 0; i < NODES; i++) {
        const struct engine_topology_plan *p;
        snprintf(name, sizeof(name), "n%d", i);
        assert_non_null(p = engine_topology_derived_find(x, name));
        assert_string_equal(p->node, name);
    }
    assert_true(strcmp_calls < 40ul * NODES);
    assert_null(engine_topology_derived_find(x, "n-1"));
    engine_topology_derived_free(x);
    engine_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_index_finds_every_node),
        cmocka_unit_test(test_topology_index_carry_is_not_quadratic),
        cmocka_unit_test(test_topology_index_derived_find),
        cmocka_unit_test(test_topology_index_level_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
