/* test_topology_place.c — placement (TOPOLOGY.md section 1.10): which host a node runs on and
 * the host's address, in the model and in the plans; a port taken twice on one address. */
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

static const char placed[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                             "unikernel_modules:\n"
                             "  ws: {http_server: , log: , dispatch: }\n"
                             "topology_template:\n"
                             "  node_templates:\n"
                             "    host_a:\n"
                             "      type: tosca.nodes.Compute\n"
                             "      attributes: {private_address: 127.0.0.2}\n"
                             "    host_b:\n"
                             "      type: Compute\n"
                             "      attributes: {private_address: '::1'}\n"
                             "    web:\n"
                             "      type: ws\n"
                             "      properties: {http_port: 8080}\n"
                             "      requirements: [{host: host_b}]\n"
                             "    api:\n"
                             "      type: ws\n"
                             "      properties: {http_port: 8080}\n"
                             "      requirements:\n"
                             "        - host: {node: host_a, relationship: HostedOn}\n"
                             "    portal:\n"
                             "      type: tosca.nodes.LoadBalancer\n"
                             "      properties: {listen_port: 8081}\n"
                             "      requirements: [{host: host_a}, {application: web}]\n";

static const char unplaced[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                               "unikernel_modules:\n"
                               "  ws: {http_server: , log: , dispatch: }\n"
                               "topology_template:\n"
                               "  node_templates:\n"
                               "    web: {type: ws, properties: {http_port: 8080}}\n"
                               "    api: {type: ws, properties: {http_port: 8090}}\n"
                               "    vm: {type: tosca.nodes.Compute}\n"; /* no address: no host */

static struct engine_topology *load(const char *text)
{
    struct engine_topology *t = NULL;
    assert_int_equal(engine_topology_load_buffer(&t, text, strlen(text), "t.yaml", NULL, NULL), 0);
    return t;
}

static void test_topology_place_model(void **state)
{
    struct engine_topology *t = load(placed);
    const struct engine_topology_node *n;

    (void)state;
    n = engine_topology_node_find(t, "web");
    assert_string_equal(n->host, "host_b");
    assert_string_equal(n->address, "::1");
    n = engine_topology_node_find(t, "portal");
    assert_string_equal(n->host, "host_a");
    assert_string_equal(n->address, "127.0.0.2");
    n = engine_topology_node_find(t, "host_a"); /* a host: its own address, no host */
    assert_null(n->host);
    assert_string_equal(n->address, "127.0.0.2");
    engine_topology_free(t);
}

static void test_topology_place_plans(void **state)
{
    struct engine_topology *t = load(placed);
    struct engine_topology_derived *x;
    const struct engine_topology_plan *p;

    (void)state;
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, NULL), 0);
    engine_topology_free(t); /* the plans hold their own copies */
    p = engine_topology_derived_find(x, "api");
    assert_string_equal(p->host, "host_a");
    assert_string_equal(p->address, "127.0.0.2");
    assert_null(engine_topology_derived_find(x, "host_b")->host);
    engine_topology_derived_free(x);
}

static void test_topology_place_none(void **state)
{
    struct engine_topology *t = load(unplaced);
    struct engine_topology_derived *x;

    (void)state;
    assert_null(engine_topology_node_find(t, "web")->host);
    assert_null(engine_topology_node_find(t, "web")->address);
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, NULL), 0);
    assert_null(engine_topology_derived_find(x, "web")->address);
    engine_topology_derived_free(x);
    engine_topology_free(t);
}

/* A property set at run time that puts two nodes on one address and port is refused like
 * the topology would be; the same port on two hosts is fine, and a topology without hosts
 * keeps its ports as before (the daemon reports a clash when it binds). */
static void test_topology_place_ports(void **state)
{
    struct engine_topology *t = load(placed);
    struct engine_topology_state *s;
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_derive_plans(&x, t, s, ENGINE_TARGET_SPT, NULL), 0);
    engine_topology_derived_free(x);
    assert_int_equal(engine_topology_state_set_property(s, "api", "http_port", "8081", NULL), 0);
    assert_int_equal(engine_topology_derive_plans(&x, t, s, ENGINE_TARGET_SPT, &d), -EINVAL);
    assert_null(x);
    assert_int_equal(d.n, 1);
    assert_non_null(
        strstr(d.v[0].msg, "node portal would listen on 127.0.0.2:8081, as node api does"));
    engine_diag_free(&d);
    engine_topology_state_free(s);
    engine_topology_free(t);

    t = load(unplaced);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_state_set_property(s, "api", "http_port", "8080", NULL), 0);
    assert_int_equal(engine_topology_derive_plans(&x, t, s, ENGINE_TARGET_SPT, NULL), 0);
    engine_topology_derived_free(x);
    engine_topology_state_free(s);
    engine_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_place_model),
        cmocka_unit_test(test_topology_place_plans),
        cmocka_unit_test(test_topology_place_none),
        cmocka_unit_test(test_topology_place_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
