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
#include "topology_text.h"

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
    return topology_text_load(topo, "topology.yaml", NULL, inputs, NULL, rc);
}

static void expect(const char *inputs, int want_rc, const char *want)
{
    int rc;
    char *got = load(inputs, &rc);
    if (want[0] != '\0' && strstr(got, want) == NULL) /* "" is in any text */
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

/* What a text maker gave: OUT (LEN bytes) when RC is 0, else the errors in D. Frees D. */
static char *made(int rc, char *out, size_t len, struct engine_diag *d)
{
    char *err;

    if (rc == 0) {
        assert_int_equal(strlen(out), len);
        engine_diag_free(d);
        return out;
    }
    assert_null(out);
    err = engine_diag_join(d);
    engine_diag_free(d);
    return err;
}

static char *text(const char *file, char *const *assign, size_t n, int *rc)
{
    struct engine_diag d;
    char *out = NULL;
    size_t len = 0;

    engine_diag_init(&d);
    *rc = engine_topology_inputs_text(&out, &len, file, file ? strlen(file) : 0, "in.yaml", assign,
                                      n, &d);
    return made(*rc, out, len, &d);
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

/* What inputs/NAME shows, for T loaded with GIVEN. */
static char *show(const struct engine_topology *t, const char *given, const char *name, int *rc)
{
    char *out = NULL;
    size_t len = 0;

    *rc = engine_topology_input_show(&out, &len, t, given, given ? strlen(given) : 0, name);
    if (*rc == 0)
        assert_int_equal(strlen(out), len);
    return out;
}

/* An input's value in force as one line of YAML, which --input takes back as the same value. */
static void test_topology_inputs_show(void **state)
{
    static const char given[] = "cpus: 4\nuser: >-\n  web\n  admin\n";
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *got;
    int rc;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_inputs(&t, topo, strlen(topo), "topology.yaml", NULL,
                                                 given, strlen(given), "inputs.yaml", &d),
                     0);
    assert_int_equal(engine_topology_input_count(t), 3);
    assert_string_equal(engine_topology_input_name(t, 1), "mem");
    assert_null(engine_topology_input_name(t, 3));
    got = show(t, given, "cpus", &rc); /* given */
    assert_string_equal(got, "4\n");
    free(got);
    got = show(t, given, "mem", &rc); /* the default */
    assert_string_equal(got, "1 GB\n");
    free(got);
    got = show(t, given, "user", &rc); /* a block scalar, on one line */
    assert_string_equal(got, "\"web admin\"\n");
    free(got);
    got = show(t, NULL, "user", &rc); /* neither */
    assert_int_equal(rc, 0);
    assert_string_equal(got, "");
    free(got);
    got = show(t, given, "nope", &rc);
    assert_int_equal(rc, -ENOENT);
    assert_null(got);
    engine_topology_free(t);
    /* a list, and a string that is no plain scalar, read back as --input gives them */
    {
        static const char list[] = "cpus: 1\nuser: 'a: [b'\n";
        char *text = NULL, *one = NULL;
        size_t len = 0;
        assert_int_equal(engine_topology_load_inputs(&t, topo, strlen(topo), "topology.yaml", NULL,
                                                     list, strlen(list), "inputs.yaml", &d),
                         0);
        got = show(t, list, "user", &rc);
        assert_string_equal(got, "'a: [b'\n");
        got[strlen(got) - 1] = '\0';
        assert_true(asprintf(&one, "user=%s", got) > 0);
        assert_int_equal(
            engine_topology_inputs_text(&text, &len, list, strlen(list), "in.yaml", &one, 1, &d),
            0);
        assert_string_equal(text, "cpus: 1\nuser: 'a: [b'\n");
        free(text);
        free(one);
        free(got);
        engine_topology_free(t);
    }
    assert_int_equal(d.n, 0);
    engine_diag_free(&d);
}

/* One input set (VALUE) or removed (NULL) in FILE's text: the text made, or the error. */
static char *edit(const char *file, const char *name, const char *value, int *rc)
{
    struct engine_diag d = {0};
    char *out = NULL;
    size_t len = 0;

    *rc = engine_topology_inputs_edit(&out, &len, file, strlen(file), "in.yaml", name, value, &d);
    return made(*rc, out, len, &d);
}

#define EDIT(file, name, value, want)                                                              \
    do {                                                                                           \
        int rc_;                                                                                   \
        char *got_ = edit(file, name, value, &rc_);                                                \
        assert_int_equal(rc_, 0);                                                                  \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* The rest of the text kept: comments, order, layout; a form that does not allow it written
 * anew. */
static void test_topology_inputs_edit(void **state)
{
    static const char *const file = "# the service's inputs\n"
                                    "port: 8080  # the public port\n"
                                    "\n"
                                    "# who runs it\n"
                                    "tags:\n"
                                    "  - a   # first\n"
                                    "  - b\n"
                                    "# after tags\n"
                                    "banner: 'hello'\n";
    int rc;
    char *got;

    (void)state;
    EDIT(file, "port", "9000",
         "# the service's inputs\nport: 9000  # the public port\n\n# who runs it\ntags:\n  - a   "
         "# first\n  - b\n# after tags\nbanner: 'hello'\n");
    EDIT(file, "tags", "[x, y]",
         "# the service's inputs\nport: 8080  # the public port\n\n# who runs it\ntags: [x, "
         "y]\n# after tags\nbanner: 'hello'\n");
    EDIT(file, "banner", "bye",
         "# the service's inputs\nport: 8080  # the public port\n\n# who runs it\ntags:\n  - a   "
         "# first\n  - b\n# after tags\nbanner: bye\n");
    EDIT(file, "user", "web",
         "# the service's inputs\nport: 8080  # the public port\n\n# who runs it\ntags:\n  - a   "
         "# first\n  - b\n# after tags\nbanner: 'hello'\nuser: web\n");
    EDIT(file, "tags", NULL,
         "# the service's inputs\nport: 8080  # the public port\n\n# who runs it\n# after "
         "tags\nbanner: 'hello'\n");
    EDIT(file, "port", NULL,
         "# the service's inputs\n\n# who runs it\ntags:\n  - a   # first\n  - b\n# after "
         "tags\nbanner: 'hello'\n");
    EDIT(file, "nope", NULL, file); /* nothing to remove */
    EDIT("", "port", "1", "port: 1\n");
    EDIT("# none yet", "port", "1", "# none yet\nport: 1\n");
    EDIT("port: 1\n", "port", NULL, "");
    /* forms written anew: a flow mapping; an anchor the change would lose */
    EDIT("{port: 1, user: a}\n", "port", "2", "{port: 2, user: a}\n");
    EDIT("{port: 1, user: a}\n", "port", NULL, "{user: a}\n");
    EDIT("a: &x 1\nb: *x\n", "a", "2", "a: 2\nb: 1\n");
    got = edit("port: 1\n", "port", "1\n2", &rc);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(got, "in.yaml: error: port: expected a value on one line");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_inputs_values),
        cmocka_unit_test(test_topology_inputs_required),
        cmocka_unit_test(test_topology_inputs_text),
        cmocka_unit_test(test_topology_inputs_show),
        cmocka_unit_test(test_topology_inputs_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
