/* test_topology_derive.c — the interpreters: images per node and level (modules, order,
 * configuration, PDP), isEnforceable per target (eq. 4) and module requirements (eq. 5). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "engine/topology.h"
#include "topology_text.h"

/* "a b c" from an image's module names. */
static void names(const struct engine_topology_image *img, char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t i = 0; i < img->nmodules; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? " " : "", img->modules[i].name);
}

static const char *param(const struct engine_topology_module *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    return NULL;
}

static void test_topology_derive_paper(void **state)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *s;
    struct engine_topology_derived *x;
    const struct engine_topology_plan *web, *portal;
    struct engine_diag d;
    char buf[256];

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_file(&t, "mount-examples/paper.yaml", &d), 0);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_state_set_level(s, "portal", "critical", NULL), 0);
    assert_int_equal(engine_topology_state_set_property(s, "web", "http_port", "8081", NULL), 0);
    assert_int_equal(engine_topology_derive(&x, t, s, ENGINE_TARGET_HVT, &d), 0);
    assert_int_equal(d.n, 0);
    engine_topology_state_free(s);
    engine_topology_free(t); /* the result holds its own copies */
    assert_int_equal(engine_topology_derived_count(x), 2);
    web = engine_topology_derived_find(x, "web");
    portal = engine_topology_derived_plan(x, 1);
    assert_string_equal(portal->node, "portal");
    assert_int_equal(web->current, 0);
    assert_int_equal(portal->current, 1);
    assert_int_equal(web->nimages, 2);
    names(&web->images[0], buf, sizeof(buf));
    assert_string_equal(buf, "http_server log dispatch authn acl_pep");
    assert_int_equal(web->images[0].pdp, ENGINE_PDP_PUSH);
    assert_string_equal(web->images[0].policy, "regular");
    assert_string_equal(param(&web->images[0].modules[4], "pdp"), "push");
    assert_string_equal(param(&web->images[0].modules[2], "http_port"), "8081");
    assert_int_equal(web->images[1].pdp, ENGINE_PDP_INTERNAL);
    assert_string_equal(web->images[1].policy, "restricted");
    assert_string_equal(web->images[1].artifact, "images/web/critical.hvt");
    assert_int_equal(web->nports, 1);
    assert_int_equal(web->ports[0], 8081);
    /* push needs the policy channel; internal does not */
    assert_int_equal(web->images[0].nenv, 4);
    assert_string_equal(web->images[0].env[3], "unikernel.virtualenv.policy_channel");
    assert_int_equal(web->images[1].nenv, 3);
    names(&portal->images[1], buf, sizeof(buf));
    assert_string_equal(buf, "log lb_proxy rate_limit");
    assert_int_equal(portal->images[1].rate_rps, 20);
    assert_int_equal(portal->images[1].rate_burst, 40);
    assert_int_equal(portal->images[0].rate_burst, 1000);
    assert_int_equal(portal->images[1].pdp, ENGINE_PDP_NONE);
    assert_null(portal->images[1].policy);
    assert_string_equal(param(&portal->images[1].modules[1], "backends"), "web:8081");
    assert_int_equal(portal->ports[0], 8000);
    engine_topology_derived_free(x);
    engine_diag_free(&d);
}

static const char *const iso =
    "tosca_definitions_version: tosca_simple_yaml_1_3\n"
    "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
    "security_functions:\n"
    "  vm: {mechanism: hardware_isolation}\n"
    "  ac: {mechanism: access_control, pdp: pull, policy: p, authentication: false}\n"
    "topology_template:\n"
    "  node_templates:\n"
    "    a:\n"
    "      type: ws\n"
    "      properties:\n"
    "        s: {multi_level_security: {default_security_level: ac,\n"
    "                                   critical_security_level: [ac, vm]}}\n";

static void test_topology_derive_targets(void **state)
{
    struct engine_topology *t = topology_text_ok(iso);
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    char *msg, buf[256];

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d), 0);
    names(&engine_topology_derived_plan(x, 0)->images[0], buf, sizeof(buf));
    assert_string_equal(buf, "http_server dispatch acl_pep"); /* no authn */
    assert_int_equal(engine_topology_derived_plan(x, 0)->images[1].hardware_isolation, 1);
    assert_int_equal(engine_topology_derived_plan(x, 0)->images[0].pdp, ENGINE_PDP_PULL);
    engine_topology_derived_free(x);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_SPT, &d), -EINVAL);
    assert_null(x);
    msg = engine_diag_join(&d);
    assert_string_equal(msg, "t.yaml:12:36: error: node a at level critical: security function vm "
                             "(hardware_isolation) is not enforceable on target spt: it needs "
                             "unikernel.virtualenv.isolation.hardware, which spt lacks (spt runs "
                             "a unikernel as a seccomp-confined host process, not in a virtual "
                             "machine; use --target hvt)");
    free(msg);
    engine_diag_free(&d);
    engine_topology_free(t);
}

static void expect_derive_error(const char *text, const char *want)
{
    struct engine_topology *t = topology_text_ok(text);
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    char *msg;

    engine_diag_init(&d);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d), -EINVAL);
    msg = engine_diag_join(&d);
    assert_string_equal(msg, want);
    free(msg);
    engine_diag_free(&d);
    engine_topology_free(t);
}

/* A load balancer's backends: WEB's levels (a flow map's entries) and APP's none. */
static char *lb_topology(const char *web_levels)
{
    char *text;
    assert_true(asprintf(&text,
                         "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                         "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                         "security_functions:\n"
                         "  https: {mechanism: tls}\n"
                         "  both: {mechanism: tls, plain_http: true}\n"
                         "topology_template:\n"
                         "  node_templates:\n"
                         "    web:\n"
                         "      type: ws\n"
                         "      properties:\n"
                         "        http_port: 8080\n"
                         "        https_port: 8443\n"
                         "        c: {multi_level_security: {%s}}\n"
                         "    app:\n"
                         "      type: ws\n"
                         "      properties: {http_port: 9090}\n"
                         "    lb:\n"
                         "      type: tosca.nodes.LoadBalancer\n"
                         "      properties: {listen_port: 80}\n"
                         "      requirements: [{application: web}, {application: app}]\n",
                         web_levels) > 0);
    return text;
}

static void test_topology_derive_lb_tls(void **state)
{
    static const struct {
        const char *levels, *backends, *tls, *modules;
    } cases[] = {
        /* HTTPS at every level: over TLS to https_port, the key pinned by tls_upstream */
        {"default_security_level: https, critical_security_level: both", "web:8443 app:9090", "web",
         "log lb_proxy tls_upstream"},
        /* HTTP at every level (with plain_http beside HTTPS at one): plain, as before */
        {"default_security_level: [], critical_security_level: both", "web:8080 app:9090", NULL,
         "log lb_proxy"},
    };
    char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = lb_topology(cases[i].levels);
        struct engine_topology *t = topology_text_ok(text);
        struct engine_topology_derived *x = NULL;
        assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_SPT, NULL), 0);
        const struct engine_topology_image *lb = &engine_topology_derived_find(x, "lb")->images[0];
        names(lb, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].modules);
        assert_string_equal(param(&lb->modules[1], "backends"), cases[i].backends);
        if (cases[i].tls == NULL) {
            assert_null(param(&lb->modules[1], "tls_backends"));
        } else {
            assert_string_equal(param(&lb->modules[1], "tls_backends"), cases[i].tls);
            assert_string_equal(param(&lb->modules[2], "pins"), cases[i].tls);
        }
        engine_topology_derived_free(x);
        engine_topology_free(t);
        free(text);
    }
    /* HTTPS only at one level, none at another: no way reaches it at both */
    char *text = lb_topology("default_security_level: [], critical_security_level: https");
    expect_derive_error(text, "t.yaml:20:36: error: node lb: backend web serves HTTPS only at "
                              "level critical and no HTTPS at level default, and a load balancer "
                              "reaches a backend one way at all its levels: give every level of "
                              "web a tls function (plain_http keeps HTTP beside it), or none");
    free(text);
}

static void test_topology_derive_unmet_requirement(void **state)
{
    (void)state;
    expect_derive_error("tosca_definitions_version: tosca_simple_yaml_1_2\n"
                        "unikernel_modules: {ws: {dispatch: }}\n"
                        "topology_template: {node_templates: {a: {type: ws}}}\n",
                        "t.yaml:3:38: error: node a at level default: module dispatch requires "
                        "http_processing (tosca.capabilities.Endpoint), which no other module of "
                        "the image (dispatch) and not the hvt environment provides");
}

static void test_topology_derive_not_enforceable(void **state)
{
    (void)state;
    expect_derive_error(
        "tosca_definitions_version: tosca_simple_yaml_1_2\n"
        "unikernel_modules: {logger: {log: }}\n"
        "security_functions: {f: {mechanism: rate_limit, requests_per_second: 3}}\n"
        "topology_template:\n"
        "  node_templates:\n"
        "    a: {type: logger, properties: {s: {multi_level_security: "
        "{default_security_level: f}}}}\n"
        "    db: {type: tosca.nodes.Database, properties: {s: {multi_level_security: "
        "{default_security_level: f}}}}\n",
        "t.yaml:6:63: error: node a at level default: security function f (rate_limit) is not "
        "enforceable: none of the modules of type logger (log) offers a "
        "unisec.capabilities.RequestHook capability to hook requests into\n"
        "t.yaml:7:78: error: node db at level default: security function f (rate_limit) is not "
        "enforceable: type tosca.nodes.Database is not realised by a unikernel (no "
        "unikernel_modules, not a tosca.nodes.LoadBalancer), so no module can enforce it");
}

/* The artifact A of X parsed as JSON (the caller decrefs). */
static json_t *artifact_json(const struct engine_topology_derived *x,
                             enum engine_topology_artifact a)
{
    size_t len;
    const char *text = engine_topology_derived_artifact(x, a, &len);
    json_error_t err;
    json_t *j;

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    j = json_loads(text, 0, &err);
    if (j == NULL)
        fail_msg("%s: line %d: %s", engine_topology_artifact_name(a), err.line, err.text);
    return j;
}

static void test_topology_derive_artifacts(void **state)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *s;
    struct engine_topology_derived *x;
    struct engine_diag d;
    json_t *pso, *pug;
    const char *tosca;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_file(&t, "mount-examples/paper.yaml", &d), 0);
    assert_int_equal(engine_topology_state_new(&s, t), 0);
    assert_int_equal(engine_topology_state_set_level(s, "web", "critical", NULL), 0);
    assert_int_equal(engine_topology_derive(&x, t, s, ENGINE_TARGET_SPT, &d), 0);
    assert_string_equal(engine_topology_artifact_name(ENGINE_ARTIFACT_P_UG), "p_ug.json");
    assert_null(engine_topology_artifact_name(ENGINE_ARTIFACT_COUNT));
    pso = artifact_json(x, ENGINE_ARTIFACT_P_SO);
    assert_string_equal(json_string_value(json_object_get(pso, "target")), "spt");
    json_t *web = json_object_get(json_object_get(pso, "nodes"), "web");
    assert_string_equal(json_string_value(json_object_get(web, "security_level")), "critical");
    json_t *lv = json_object_get(web, "levels");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lv, "critical"), "apply")), "current");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lv, "default"), "apply")),
                        "swap");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(lv, "default"), "access_control"), "pdp")),
        "push");
    pug = artifact_json(x, ENGINE_ARTIFACT_P_UG);
    json_t *imgs = json_object_get(pug, "images");
    assert_int_equal(json_array_size(imgs), 4);
    json_t *img = json_array_get(imgs, 1); /* web at critical */
    assert_string_equal(json_string_value(json_object_get(img, "artifact")),
                        "images/web/critical.spt");
    assert_true(json_is_true(json_object_get(img, "current")));
    json_t *mods = json_object_get(img, "modules");
    assert_int_equal(json_array_size(mods), 5);
    json_t *dispatch = json_array_get(mods, 2);
    assert_string_equal(json_string_value(json_object_get(dispatch, "name")), "dispatch");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(dispatch, "config"), "http_port")),
        8080);
    json_decref(pso);
    json_decref(pug);
    tosca = engine_topology_derived_artifact(x, ENGINE_ARTIFACT_TOSCA, NULL);
    assert_non_null(strstr(tosca, "\ntosca_definitions_version: tosca_simple_yaml_1_2\n"));
    assert_non_null(strstr(tosca, "file: images/portal/critical.spt\n"));
    assert_non_null(strstr(tosca, "    portal:\n      type: unisec.nodes.LoadBalancer\n"));
    assert_non_null(strstr(engine_topology_derived_artifact(x, ENGINE_ARTIFACT_UNITOSCA, NULL),
                           "\n  web.critical:\n    http_server:\n"));
    assert_non_null(strstr(engine_topology_derived_artifact(x, ENGINE_ARTIFACT_DOT, NULL),
                           "\"portal\" -> \"web\" [label=\"application\"];\n"));
    engine_topology_derived_free(x);
    engine_topology_state_free(s);
    engine_topology_free(t);
    engine_diag_free(&d);
}

/* Switching between two levels that differ only by a pushed policy needs no new image. */
static void test_topology_derive_apply_configure(void **state)
{
    struct engine_topology *t = topology_text_ok(
        "tosca_definitions_version: tosca_simple_yaml_1_0\n"
        "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
        "security_functions:\n"
        "  a: {mechanism: access_control, pdp: push, policy: open}\n"
        "  b: {mechanism: access_control, pdp: push, policy: closed}\n"
        "  c: {mechanism: access_control, pdp: internal, policy: closed}\n"
        "topology_template:\n"
        "  node_templates:\n"
        "    w:\n"
        "      type: ws\n"
        "      properties:\n"
        "        s: {multi_level_security: {default_security_level: a, high_security_level: b,\n"
        "                                   critical_security_level: c}}\n");
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    json_t *pso, *lv;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d), 0);
    pso = artifact_json(x, ENGINE_ARTIFACT_P_SO);
    lv = json_object_get(json_object_get(json_object_get(pso, "nodes"), "w"), "levels");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lv, "high"), "apply")),
                        "configure");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lv, "critical"), "apply")), "swap");
    json_decref(pso);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    engine_diag_free(&d);
}

/* Plans without artifacts: the same plans, no text. */
static void test_topology_derive_plans_only(void **state)
{
    struct engine_topology *t = topology_text_ok(iso);
    struct engine_topology_derived *x = NULL, *y = NULL;
    size_t len = 1;
    char a[256], b[256];

    (void)state;
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_HVT, NULL), 0);
    assert_int_equal(engine_topology_derive(&y, t, NULL, ENGINE_TARGET_HVT, NULL), 0);
    assert_null(engine_topology_derived_artifact(x, ENGINE_ARTIFACT_P_UG, &len));
    assert_int_equal(len, 0);
    assert_non_null(engine_topology_derived_artifact(y, ENGINE_ARTIFACT_P_UG, NULL));
    for (size_t l = 0; l < 2; l++) {
        names(&engine_topology_derived_plan(x, 0)->images[l], a, sizeof(a));
        names(&engine_topology_derived_plan(y, 0)->images[l], b, sizeof(b));
        assert_string_equal(a, b);
    }
    engine_topology_derived_free(x);
    /* the checks are the same: hardware isolation on spt is refused */
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, NULL), -EINVAL);
    assert_null(x);
    engine_topology_derived_free(y);
    engine_topology_free(t);
}

/* Every DIAG may be NULL: the result is the same, without the messages. */
static void test_topology_derive_null_diag(void **state)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *s = (void *)1;
    struct engine_topology_derived *x = (void *)1;

    (void)state;
    assert_int_equal(engine_topology_load_file(&t, "no/such/file.yaml", NULL), -ENOENT);
    assert_int_equal(engine_topology_load_buffer(&t, "a: [", 4, "t.yaml", NULL, NULL), -EINVAL);
    assert_null(t);
    t = topology_text_ok(iso);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_SPT, NULL), -EINVAL);
    assert_null(x);
    assert_int_equal(engine_topology_state_parse(&s, t, "a\n", 2, "a b c\n", 6, NULL), -EINVAL);
    assert_null(s);
    engine_topology_free(t);
}

/* D_TOSCA carries the template as written: the properties and capabilities of normative and
 * own types alike, functions kept, the inputs they name with them. */
static void test_topology_derive_tosca_carry(void **state)
{
    char *tosca;
    static const char text[] =
        "tosca_definitions_version: tosca_simple_yaml_1_3\n"
        "node_types:\n"
        "  my.Disk:\n"
        "    derived_from: tosca.nodes.BlockStorage\n"
        "    properties: {label: {type: list, entry_schema: {type: string}, required: false}}\n"
        "topology_template:\n"
        "  inputs: {cpus: {type: integer, default: 4}}\n"
        "  node_templates:\n"
        "    server:\n"
        "      type: tosca.nodes.Compute\n"
        "      capabilities:\n"
        "        host: {properties: {num_cpus: {get_input: cpus}, mem_size: 2 GB}}\n"
        "        os: {properties: {type: linux, distribution: {get_property: [SELF, host, "
        "num_cpus]}}}\n"
        "    disk:\n"
        "      type: my.Disk\n"
        "      properties: {size: 10 GiB, label: [a, b]}\n";

    (void)state;
    tosca = topology_text_tosca(text, NULL);
    assert_non_null(strstr(tosca, "      capabilities:\n        host: {properties: {num_cpus: "
                                  "{get_input: cpus}, mem_size: 2 GB}}\n"));
    assert_non_null(strstr(tosca, "        os: {properties: {type: linux, distribution: "
                                  "{get_property: [SELF, host, num_cpus]}}}\n"));
    assert_non_null(strstr(tosca, "        size: 10 GiB\n"));  /* BlockStorage's */
    assert_non_null(strstr(tosca, "        label: [a, b]\n")); /* my.Disk's own */
    assert_non_null(strstr(tosca, "      label: {type: list, entry_schema: {type: string}, "
                                  "required: false}\n")); /* its definition */
    assert_non_null(strstr(tosca, "  inputs:\n    cpus:\n      type: integer\n"
                                  "      default: 4\n"));
    free(tosca);
}

/* A value given to an input (inputs.yaml, --input) stays out of D_TOSCA, which keeps the
 * input's definition and the functions that name it as written: an input may be a secret. */
static void test_topology_derive_tosca_given_inputs_out(void **state)
{
    char *tosca;
    static const char text[] =
        "tosca_definitions_version: tosca_simple_yaml_1_2\n"
        "topology_template:\n"
        "  inputs:\n"
        "    cpus: {type: integer, default: 4, constraints: [{in_range: [1, 8]}]}\n"
        "    ports: {type: list, entry_schema: {type: integer}, default: [80]}\n"
        "  node_templates:\n"
        "    server:\n"
        "      type: tosca.nodes.Compute\n"
        "      capabilities: {host: {properties: {num_cpus: {get_input: cpus}}}}\n";
    static const char given[] = "cpus: 6\nports: [8080, 8443]\n";

    (void)state;
    tosca = topology_text_tosca(text, given);
    assert_non_null(strstr(tosca, "    cpus:\n      type: integer\n      default: 4\n"
                                  "      constraints: [{in_range: [1, 8]}]\n"));
    assert_non_null(strstr(tosca, "    ports:\n      type: list\n"
                                  "      entry_schema: {type: integer}\n      default: [80]\n"));
    assert_non_null(strstr(tosca, "num_cpus: {get_input: cpus}"));
    assert_null(strstr(tosca, "default: 6"));
    assert_null(strstr(tosca, "8443"));
    free(tosca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_derive_paper),
        cmocka_unit_test(test_topology_derive_targets),
        cmocka_unit_test(test_topology_derive_unmet_requirement),
        cmocka_unit_test(test_topology_derive_not_enforceable),
        cmocka_unit_test(test_topology_derive_artifacts),
        cmocka_unit_test(test_topology_derive_apply_configure),
        cmocka_unit_test(test_topology_derive_null_diag),
        cmocka_unit_test(test_topology_derive_lb_tls),
        cmocka_unit_test(test_topology_derive_plans_only),
        cmocka_unit_test(test_topology_derive_tosca_carry),
        cmocka_unit_test(test_topology_derive_tosca_given_inputs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
