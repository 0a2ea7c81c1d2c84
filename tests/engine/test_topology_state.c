/* test_topology_state.c — current levels and property overrides: setters, the line formats,
 * carrying a state over to a new topology. */
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

static struct engine_topology *paper(void)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_file(&t, "mount-examples/paper.yaml", &d), 0);
    engine_diag_free(&d);
    return t;
}

static void test_topology_state_set_level(void **state)
{
    struct engine_topology *t = paper();
    struct engine_topology_state *s;
    struct engine_diag d;
    char *msg;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_string_equal(engine_topology_state_level(s, "web"), "default");
    assert_int_equal(engine_topology_state_set_level(s, "web", "critical", &d), 0);
    assert_string_equal(engine_topology_state_level(s, "web"), "critical");
    assert_int_equal(engine_topology_state_set_level(s, "web", "high", &d), -EINVAL);
    assert_string_equal(engine_topology_state_level(s, "web"), "critical");
    assert_int_equal(engine_topology_state_set_level(s, "ghost", "default", NULL), -ENOENT);
    assert_null(engine_topology_state_level(s, "ghost"));
    msg = engine_diag_join(&d);
    assert_string_equal(msg, "error: level 'high' of node web: expected default or critical");
    free(msg);
    engine_diag_free(&d);
    engine_topology_state_free(s);
    engine_topology_free(t);
}

static void test_topology_state_set_property(void **state)
{
    struct engine_topology *t = paper();
    struct engine_topology_state *s;
    struct engine_diag d;
    char *msg;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_string_equal(engine_topology_state_property(s, "web", "http_port"), "8080");
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "9090", &d), 0);
    assert_string_equal(engine_topology_state_property(s, "web", "http_port"), "9090");
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "x", &d), -EINVAL);
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "70000", &d),
                     -EINVAL);
    assert_int_equal(engine_topology_state_set_property(s, "web", "colour", "red", &d), -ENOENT);
    assert_string_equal(engine_topology_state_property(s, "web", "http_port"), "9090");
    assert_null(engine_topology_state_property(s, "web", "colour"));
    msg = engine_diag_join(&d);
    assert_string_equal(msg, "error: property http_port of node web (integer): 'x': expected an "
                             "integer (decimal digits, optional '-', 64 bits)\n"
                             "error: property http_port of node web (integer): '70000': expected "
                             "a port from 1 to 65535\n"
                             "error: node web has no property 'colour'");
    free(msg);
    engine_diag_free(&d);
    engine_topology_state_free(s);
    engine_topology_free(t);
}

static void test_topology_state_round_trip(void **state)
{
    struct engine_topology *t = paper();
    struct engine_topology_state *s, *s2;
    char *lv, *pr, *lv2, *pr2;
    size_t ll, pl, ll2, pl2;

    (void)state;
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_state_set_level(s, "portal", "critical", NULL), 0);
    assert_int_equal(engine_topology_state_set_property(s, "web", "log_level", "debug x", NULL), 0);
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "8080", NULL), 0);
    assert_int_equal(engine_topology_state_format_levels(s, &lv, &ll), 0);
    assert_int_equal(engine_topology_state_format_properties(s, &pr, &pl), 0);
    assert_string_equal(lv, "# NODE LEVEL: the current security level of each node\n"
                            "web default\nportal critical\n");
    assert_int_equal(ll, strlen(lv));
    assert_string_equal(pr, "# NODE PROPERTY VALUE: properties set at run time over the "
                            "topology's values\nweb log_level debug x\n");
    assert_int_equal(engine_topology_state_parse(&s2, t, lv, ll, pr, pl, NULL), 0);
    assert_int_equal(engine_topology_state_format_levels(s2, &lv2, &ll2), 0);
    assert_int_equal(engine_topology_state_format_properties(s2, &pr2, &pl2), 0);
    assert_string_equal(lv, lv2);
    assert_string_equal(pr, pr2);
    free(lv);
    free(pr);
    free(lv2);
    free(pr2);
    engine_topology_state_free(s);
    engine_topology_state_free(s2);
    engine_topology_free(t);
}

static void test_topology_state_parse_errors(void **state)
{
    struct engine_topology *t = paper();
    struct engine_topology_state *s = (void *)1;
    struct engine_diag d;
    const char *lv = "web critical\n  # comment\n\nportal  high\nghost default\nweb\r\n";
    const char *pr = "web http_port 80\r\nweb http_port eighty\n";
    char *msg;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_state_parse(&s, t, lv, strlen(lv), pr, strlen(pr), &d),
                     -EINVAL);
    assert_null(s);
    msg = engine_diag_join(&d);
    assert_string_equal(msg,
                        "state/levels:4:9: error: level 'high' of node portal: expected default "
                        "or critical\n"
                        "state/levels:5:7: error: no node 'ghost' in the topology\n"
                        "state/levels:6:1: error: expected NODE LEVEL\n"
                        "state/properties:2:15: error: property http_port of node web (integer): "
                        "'eighty': expected an integer (decimal digits, optional '-', 64 bits)");
    free(msg);
    engine_diag_free(&d);
    engine_topology_free(t);
}

static void test_topology_state_carry(void **state)
{
    struct engine_topology *t = paper(), *t2 = NULL;
    struct engine_topology_state *s, *s2;
    struct engine_diag d;
    const char *text = "tosca_definitions_version: tosca_simple_yaml_1_2\n"
                       "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                       "topology_template: {node_templates: {web: {type: ws}}}\n";
    char *msg;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_buffer(&t2, text, strlen(text), "new", NULL, &d), 0);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_state_set_level(s, "web", "critical", NULL), 0);
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "81", NULL), 0);
    assert_int_equal(engine_topology_state_carry(&s2, t2, s, &d), 0);
    assert_string_equal(engine_topology_state_level(s2, "web"), "default");
    assert_string_equal(engine_topology_state_property(s2, "web", "http_port"), "81");
    msg = engine_diag_join(&d);
    assert_string_equal(msg, "error: node web: level critical dropped (the node no longer "
                             "declares it)");
    free(msg);
    engine_diag_free(&d);
    engine_topology_state_free(s);
    engine_topology_state_free(s2);
    engine_topology_free(t);
    engine_topology_free(t2);
}

/* The nodes whose level differs between two states of one topology, found one after the other;
 * states of different topologies leave every node to the caller. */
static void test_topology_state_level_next_change(void **state)
{
    struct engine_topology *t = paper(), *t2 = NULL;
    struct engine_topology_state *a, *b, *c;
    const char *text = "tosca_definitions_version: tosca_simple_yaml_1_2\n"
                       "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                       "topology_template: {node_templates: {web: {type: ws}}}\n";
    size_t n = engine_topology_node_count(t), last = 0, changed = 0;

    (void)state;
    assert_int_equal(engine_topology_load_buffer(&t2, text, strlen(text), "new", NULL, NULL), 0);
    assert_int_equal(engine_topology_state_new(&a, t), 0);
    assert_int_equal(engine_topology_state_carry(&b, t, a, NULL), 0);
    assert_int_equal(engine_topology_state_level_next_change(a, b, 0), n);
    /* the last node and the first node that has a level besides default */
    for (size_t i = 0; i < n; i++) {
        const struct engine_topology_node *node = engine_topology_node_at(t, i);
        if (node->nlevels < 2 || (changed && i + 1 < n))
            continue;
        assert_int_equal(engine_topology_state_set_level(b, node->name, node->levels[1], NULL), 0);
        changed++;
        last = i;
    }
    assert_true(changed >= 1);
    size_t first = engine_topology_state_level_next_change(a, b, 0);
    assert_true(first <= last);
    assert_string_not_equal(engine_topology_state_level_at(a, first),
                            engine_topology_state_level_at(b, first));
    if (changed == 2) {
        assert_int_equal(engine_topology_state_level_next_change(a, b, first + 1), last);
        assert_int_equal(engine_topology_state_level_next_change(a, b, last + 1), n);
    } else {
        assert_int_equal(engine_topology_state_level_next_change(a, b, first + 1), n);
    }
    /* another topology: nothing is skipped */
    assert_int_equal(engine_topology_state_new(&c, t2), 0);
    assert_int_equal(engine_topology_state_level_next_change(a, c, 0), 0);
    assert_int_equal(engine_topology_state_level_next_change(a, c, 1), 1);
    engine_topology_state_free(a);
    engine_topology_state_free(b);
    engine_topology_state_free(c);
    engine_topology_free(t);
    engine_topology_free(t2);
}

/* state/levels made from the text before: the same bytes as formatted whole, for every change of
 * one or two nodes; a text that is not the state formatted is formatted whole. */
static void test_topology_state_format_levels_from(void **state)
{
    struct engine_topology *t = paper();
    struct engine_topology_state *a, *b;
    size_t n = engine_topology_node_count(t), la, lb, lw;
    char *ta, *tb, *whole;

    (void)state;
    assert_int_equal(engine_topology_state_new(&a, t), 0);
    assert_int_equal(engine_topology_state_format_levels(a, &ta, &la), 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            const struct engine_topology_node *x = engine_topology_node_at(t, i),
                                              *y = engine_topology_node_at(t, j);
            assert_int_equal(engine_topology_state_carry(&b, t, a, NULL), 0);
            assert_int_equal(
                engine_topology_state_set_level(b, x->name, x->levels[x->nlevels - 1], NULL), 0);
            assert_int_equal(
                engine_topology_state_set_level(b, y->name, y->levels[y->nlevels - 1], NULL), 0);
            assert_int_equal(engine_topology_state_format_levels(b, &whole, &lw), 0);
            assert_int_equal(engine_topology_state_format_levels_from(b, a, ta, la, &tb, &lb), 0);
            assert_int_equal(lb, lw);
            assert_string_equal(tb, whole);
            free(tb);
            /* and back */
            assert_int_equal(engine_topology_state_format_levels_from(a, b, whole, lw, &tb, &lb),
                             0);
            assert_int_equal(lb, la);
            assert_string_equal(tb, ta);
            free(tb);
            free(whole);
            engine_topology_state_free(b);
        }
    /* a text an operator wrote (not the state formatted): formatted whole */
    const struct engine_topology_node *x = engine_topology_node_at(t, 0);
    const char *own = "# mine\n";
    assert_int_equal(engine_topology_state_carry(&b, t, a, NULL), 0);
    assert_int_equal(engine_topology_state_set_level(b, x->name, x->levels[x->nlevels - 1], NULL),
                     0);
    assert_int_equal(engine_topology_state_format_levels(b, &whole, &lw), 0);
    assert_int_equal(engine_topology_state_format_levels_from(b, a, own, strlen(own), &tb, &lb), 0);
    assert_string_equal(tb, whole);
    free(tb);
    free(whole);
    engine_topology_state_free(b);
    free(ta);
    engine_topology_state_free(a);
    engine_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_state_set_level),
        cmocka_unit_test(test_topology_state_set_property),
        cmocka_unit_test(test_topology_state_round_trip),
        cmocka_unit_test(test_topology_state_parse_errors),
        cmocka_unit_test(test_topology_state_carry),
        cmocka_unit_test(test_topology_state_level_next_change),
        cmocka_unit_test(test_topology_state_format_levels_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
