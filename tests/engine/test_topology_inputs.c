/* test_topology_inputs.c — values given to a template's inputs (a store's inputs.yaml): checked
 * against each input's definition, put in force for get_input, required ones demanded; and
 * the text of an inputs.yaml made from --inputs FILE and --input NAME=VALUE. */
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

static const char topo[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                           "topology_template:\n"
                           "  inputs:\n"
                           "    cpus:\n"
                           "      type: integer\n"
                           "      constraints: [{in_range: [1, 8]}]\n"
                           "    mem:\n"
                           "      type: scalar-unit.size\n"
                           "      default: 1 GB\n"
                           "    user:\n"
                           "      type: string\n"
                           "      required: false\n"
                           "  node_templates:\n"
                           "    server:\n"
                           "      type: tosca.nodes.Compute\n"
                           "      capabilities:\n"
                           "        host:\n"
                           "          properties:\n"
                           "            num_cpus: {get_input: cpus}\n"
                           "            mem_size: {get_input: mem}\n";

/* Loads topo with INPUTS; returns the errors joined (caller frees), "" when it loaded. */
static char *load(const char *inputs, int *rc)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    *rc = engine_topology_load_inputs(&t, topo, strlen(topo), "topology.yaml", NULL, inputs,
                                      inputs ? strlen(inputs) : 0, "inputs.yaml", &d);
    out = engine_diag_join(&d);
    assert_non_null(out);
    if (*rc != 0)
        assert_null(t);
    engine_diag_free(&d);
    engine_topology_free(t);
    return out;
}

static void expect(const char *inputs, int want_rc, const char *want)
{
    int rc;
    char *got = load(inputs, &rc);
    if (strstr(got, want) == NULL)
        fail_msg("expected '%s' in: '%s'", want, got);
    assert_int_equal(rc, want_rc);
    free(got);
}

static void test_topology_inputs_values(void **state)
{
    (void)state;
    expect("cpus: 4\n", 0, "");
    expect("cpus: 4\nmem: 512 MB\nuser: web\n", 0, "");
    /* without inputs, no input needs a value (unisec check of a template) */
    expect(NULL, 0, "");
    expect("cpus: 9\n", -EINVAL, "inputs.yaml:1:7: error: input cpus: ");
    expect("cpus: four\n", -EINVAL, "inputs.yaml:1:7: error: input cpus");
    expect("cpus: 4\nmem: lots\n", -EINVAL, "inputs.yaml:2:6: error: input mem");
    expect("cpus: 4\ndisk: 3\n", -EINVAL,
           "inputs.yaml:2:1: error: input 'disk': the topology has no such input; expected "
           "cpus, mem or user");
    expect("cpus: {get_input: mem}\n", -EINVAL,
           "inputs.yaml:1:7: error: input cpus: expected a value, not a function");
    expect("[cpus, 4]\n", -EINVAL, "inputs.yaml:1:1: error: inputs: expected a mapping");
    expect("cpus: [\n", -EINVAL, "inputs.yaml:2:1: error: ");
}

static void test_topology_inputs_required(void **state)
{
    (void)state;
    expect("", -EINVAL,
           "topology.yaml:5:7: error: input cpus: required and without a default; expected a "
           "value in inputs.yaml (--input cpus=VALUE)");
    expect("mem: 2 GB\n", -EINVAL, "input cpus: required and without a default");
}

static char *text(const char *file, char *const *assign, size_t n, int *rc)
{
    struct engine_diag d;
    char *out = NULL, *err;
    size_t len;

    engine_diag_init(&d);
    *rc = engine_topology_inputs_text(&out, &len, file, file ? strlen(file) : 0, "in.yaml", assign,
                                      n, &d);
    if (*rc == 0) {
        assert_int_equal(strlen(out), len);
        engine_diag_free(&d);
        return out;
    }
    assert_null(out);
    err = engine_diag_join(&d);
    engine_diag_free(&d);
    return err;
}

static void test_topology_inputs_text(void **state)
{
    char *a1[] = {"cpus=4", "user=web"}, *a2[] = {"cpus=2"}, *a3[] = {"user="},
         *bad[] = {"=4", "no-equals", "9x=1", "user=x\ny: 1", "user=[1"};
    int rc;
    char *got;

    (void)state;
    got = text("# mine\ncpus: 1\n", NULL, 0, &rc); /* as it is */
    assert_string_equal(got, "# mine\ncpus: 1\n");
    free(got);
    got = text(NULL, a1, 2, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "cpus: 4\nuser: web\n");
    free(got);
    got = text("cpus: 1\nmem: 2 GB\n", a2, 1, &rc); /* --input wins over the file */
    assert_string_equal(got, "cpus: 2\nmem: 2 GB\n");
    free(got);
    got = text(NULL, a3, 1, &rc);
    assert_string_equal(got, "user: \"\"\n");
    free(got);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        got = text(NULL, &bad[i], 1, &rc);
        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(got, "--input: error: "));
        free(got);
    }
    got = text("[1]\n", a2, 1, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(got, "in.yaml: error: expected a mapping NAME: VALUE");
    free(got);
    /* what it makes loads with the values in force */
    got = text(NULL, a1, 2, &rc);
    free(load(got, &rc));
    assert_int_equal(rc, 0);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_inputs_values),
        cmocka_unit_test(test_topology_inputs_required),
        cmocka_unit_test(test_topology_inputs_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
