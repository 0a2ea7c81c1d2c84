/* test_topology_nodeinfo.c — the nodes unisec keeps in the model and does not run: which they
 * are, and their node templates as written (what the mount shows under nodes/NODE/). */
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

static const char topo[] = "tosca_definitions_version: tosca_simple_yaml_1_2\n"
                           "unikernel_modules:\n"
                           "  web_type:\n"
                           "    http_server: {}\n"
                           "    log: {}\n"
                           "    dispatch:\n"
                           "      properties: {http_port: {type: integer}}\n"
                           "dsl_definitions:\n"
                           "  os: &os {type: Linux, distribution: Debian}\n"
                           "topology_template:\n"
                           "  node_templates:\n"
                           "    web:\n"
                           "      type: web_type\n"
                           "      properties: {http_port: 8080}\n"
                           "    server:\n"
                           "      type: tosca.nodes.Compute\n"
                           "      capabilities:\n"
                           "        host: {properties: {num_cpus: 2, mem_size: 2 GB}}\n"
                           "        os: {properties: *os}  # an alias, copied out\n"
                           "    db:\n"
                           "      type: tosca.nodes.Database\n"
                           "      properties: {name: shop}\n"
                           "      requirements: [{host: dbms}]\n"
                           "    dbms:\n"
                           "      type: tosca.nodes.DBMS\n"
                           "      requirements: [{host: server}]\n";

static void test_topology_nodeinfo_runs(void **state)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *err;

    (void)state;
    engine_diag_init(&d);
    if (engine_topology_load_buffer(&t, topo, strlen(topo), "t.yaml", NULL, &d) != 0) {
        err = engine_diag_join(&d);
        fail_msg("%s", err);
    }
    assert_true(engine_topology_node_runs(engine_topology_node_find(t, "web")));
    assert_false(engine_topology_node_runs(engine_topology_node_find(t, "server")));
    assert_false(engine_topology_node_runs(engine_topology_node_find(t, "db")));
    assert_false(engine_topology_node_runs(engine_topology_node_find(t, "dbms")));
    engine_topology_free(t);
    engine_diag_free(&d);
}

static void test_topology_nodeinfo_template(void **state)
{
    char *out = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(engine_topology_node_template(&out, &len, topo, strlen(topo), "server", NULL),
                     0);
    assert_int_equal(strlen(out), len);
    assert_string_equal(out, "type: tosca.nodes.Compute\n"
                             "capabilities:\n"
                             "  host: {properties: {num_cpus: 2, mem_size: 2 GB}}\n"
                             "  os: {properties: {type: Linux, distribution: Debian}}\n");
    free(out);
    assert_int_equal(engine_topology_node_template(&out, &len, topo, strlen(topo), "db", NULL), 0);
    assert_non_null(strstr(out, "properties: {name: shop}\n"));
    assert_non_null(strstr(out, "requirements: [{host: dbms}]\n"));
    free(out);
    assert_int_equal(engine_topology_node_template(&out, &len, topo, strlen(topo), "nosuch", NULL),
                     -ENOENT);
    assert_null(out);
    assert_int_equal(engine_topology_node_template(&out, &len, "a: [", 4, "db", NULL), -EINVAL);
    assert_int_equal(engine_topology_node_template(&out, &len, "", 0, "db", NULL), -ENOENT);
}

static void test_topology_nodeinfo_get_input(void **state)
{
    static const char text[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                               "topology_template:\n"
                               "  inputs:\n"
                               "    cpus: {type: integer}\n"
                               "    os: {type: string, default: '4'}\n"
                               "    spare: {type: integer, required: false}\n"
                               "  node_templates:\n"
                               "    server:\n"
                               "      type: tosca.nodes.Compute\n"
                               "      capabilities:\n"
                               "        host: {properties: {num_cpus: {get_input: cpus}}}\n"
                               "        os: {properties: {distribution: {get_input: os},\n"
                               "                          version: {get_input: spare}}}\n";
    struct engine_topology *t = NULL;
    char *out = NULL;
    size_t len;

    (void)state;
    assert_int_equal(engine_topology_load_inputs(&t, text, strlen(text), "t.yaml", NULL,
                                                 "cpus: 3\n", 8, "inputs.yaml", NULL),
                     0);
    assert_int_equal(engine_topology_node_template(&out, &len, text, strlen(text), "server", t), 0);
    /* the given value, the default (a string stays one), a function without a value kept */
    assert_string_equal(out,
                        "type: tosca.nodes.Compute\n"
                        "capabilities:\n"
                        "  host: {properties: {num_cpus: 3}}\n"
                        "  os: {properties: {distribution: '4', version: {get_input: spare}}}\n");
    free(out);
    engine_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_nodeinfo_runs),
        cmocka_unit_test(test_topology_nodeinfo_template),
        cmocka_unit_test(test_topology_nodeinfo_get_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
