/* test_orch_want.c — the orchestrator's copy of the desired state: every level of every node,
 * policies compiled once and versioned only when their rules change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orch/orch_int.h"

#define TOPO "tests/builder/e2e/topology.yaml"
#define POL  "mount-examples/policy"

struct fx {
    struct engine_topology *t;
    struct engine_topology_state *st;
    struct engine_topology_derived *x;
    struct engine_acl *acl;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct engine_diag d = {0};

    assert_non_null(f);
    assert_int_equal(engine_topology_load_file(&f->t, TOPO, &d), 0);
    assert_int_equal(engine_topology_state_new(&f->st, f->t), 0);
    assert_int_equal(engine_topology_derive(&f->x, f->t, f->st, ENGINE_TARGET_SPT, &d), 0);
    assert_int_equal(engine_acl_new(&f->acl), 0);
    assert_int_equal(engine_acl_load_dir(f->acl, POL, &d), 0);
    engine_diag_free(&d);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    engine_topology_derived_free(f->x);
    engine_topology_state_free(f->st);
    engine_topology_free(f->t);
    engine_acl_free(f->acl);
    free(f);
    return 0;
}

/* An ACL of POL with one more rule of policy `regular` (groups, credentials and `restricted`
 * unchanged). */
static struct engine_acl *acl_with_extra_rule(void)
{
    static const char extra[] = "regular * GET /secret/* deny\n";
    struct engine_acl *a = NULL;
    struct engine_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(POL "/acl", "r");

    assert_non_null(f);
    assert_int_equal(engine_acl_new(&a), 0);
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fputs(extra, m);
    fclose(m);
    fclose(f);
    assert_int_equal(engine_acl_load_file(a, ENGINE_ACL_FILE_GROUPS, POL "/groups", "groups", &d),
                     0);
    assert_int_equal(
        engine_acl_load_file(a, ENGINE_ACL_FILE_CREDENTIALS, POL "/credentials", "credentials", &d),
        0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", buf, len, &d), 0);
    free(buf);
    engine_diag_free(&d);
    return a;
}

static void test_orch_want_copies_every_level(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "abc", "alice", "web: x"};
    struct orch_want *w = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&w, &want, NULL, 7, NULL, &d), 0);
    struct orch_want_node *web = orch_want_node(w, "web");
    assert_non_null(web);
    assert_non_null(orch_want_node(w, "portal"));
    assert_null(orch_want_node(w, "nobody"));
    assert_int_equal(web->nlevels, 3);
    assert_string_equal(web->levels[web->current].level, "default");
    for (size_t l = 0; l < web->nlevels; l++) {
        assert_true(web->levels[l].nmodules > 0);
        assert_non_null(web->levels[l].blob);
        assert_int_equal(web->levels[l].blob->version, 7);
    }
    /* pulled: the pull PDP's blob holds every policy */
    assert_non_null(w->pull);
    assert_string_equal(w->pull->name, ORCH_POLICY_ALL);
    assert_string_equal(w->who, "alice");
    orch_want_put(w);
    engine_diag_free(&d);
}

static void test_orch_want_reuses_unchanged_policy(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *a = NULL, *b = NULL, *c = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&a, &want, NULL, 1, NULL, &d), 0);
    /* the mount says the policy did not change: the blobs are shared, no compilation */
    want.policy_changed = 0;
    assert_int_equal(orch_want_make(&b, &want, a, 2, NULL, &d), 0);
    assert_ptr_equal(orch_want_node(b, "web")->levels[0].blob,
                     orch_want_node(a, "web")->levels[0].blob);
    /* changed but with the same rules: the version in force stays */
    want.policy_changed = 1;
    assert_int_equal(orch_want_make(&c, &want, b, 3, NULL, &d), 0);
    assert_int_equal(orch_want_node(c, "web")->levels[0].blob->version, 1);
    assert_int_equal(c->pull->version, 1);
    orch_want_put(a);
    orch_want_put(b);
    orch_want_put(c);
    engine_diag_free(&d);
}

static void test_orch_want_versions_changed_policy_only(void **state)
{
    struct fx *f = *state;
    struct engine_acl *acl2 = acl_with_extra_rule();
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *a = NULL, *b = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&a, &want, NULL, 1, NULL, &d), 0);
    want.acl = acl2;
    assert_int_equal(orch_want_make(&b, &want, a, 2, NULL, &d), 0);
    const struct orch_want_node *wa = orch_want_node(a, "web"), *wb = orch_want_node(b, "web");
    for (size_t l = 0; l < wb->nlevels; l++) {
        const char *pol = wb->levels[l].policy;
        assert_non_null(pol);
        if (strcmp(pol, "regular") == 0) { /* changed: a new blob at the new version */
            assert_int_equal(wb->levels[l].blob->version, 2);
            assert_ptr_not_equal(wb->levels[l].blob, wa->levels[l].blob);
        } else { /* `restricted` did not change: same blob, same version, no rebuild */
            assert_int_equal(wb->levels[l].blob->version, 1);
            assert_ptr_equal(wb->levels[l].blob, wa->levels[l].blob);
        }
    }
    assert_int_equal(b->pull->version, 2);
    orch_want_put(a);
    orch_want_put(b);
    engine_acl_free(acl2);
    engine_diag_free(&d);
}

static void test_orch_want_internal_rules_in_spec(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *w = NULL;
    struct engine_diag d = {0};
    struct builder_spec s;

    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), 0);
    const struct orch_want_node *web = orch_want_node(w, "web");
    for (size_t l = 0; l < web->nlevels; l++) {
        orch_level_spec(&s, web->name, &web->levels[l], "spt");
        assert_string_equal(s.target, "spt");
        if (web->levels[l].pdp == ENGINE_PDP_INTERNAL) {
            assert_non_null(s.acl_blob);
            assert_int_equal(s.acl_len, web->levels[l].blob->len);
        } else {
            assert_null(s.acl_blob);
        }
        assert_int_equal(builder_spec_check(&s, &d), 0);
    }
    orch_want_put(w);
    engine_diag_free(&d);
}

static void test_orch_want_missing_policy_refused(void **state)
{
    struct fx *f = *state;
    static const char acl[] = "other * GET /* allow\n";
    struct engine_acl *a = NULL;
    struct engine_diag d = {0};
    struct orch_want *w = NULL;

    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, sizeof(acl) - 1, &d), 0);
    struct orch_desired want = {f->x, a, 1, "", "", ""};
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), -EINVAL);
    assert_null(w);
    assert_true(d.n > 0);
    assert_non_null(strstr(d.v[0].msg, "regular"));
    engine_acl_free(a);
    engine_diag_free(&d);
}

/* A daemon serving one host wants only the nodes placed on it, each at its host's address, and
 * knows where every other node runs. */
static void test_orch_want_one_host(void **state)
{
    static const char topo[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                               "unikernel_modules:\n"
                               "  ws: {http_server: , log: , dispatch: }\n"
                               "topology_template:\n"
                               "  node_templates:\n"
                               "    a: {type: Compute, attributes: {private_address: 127.0.0.2}}\n"
                               "    b: {type: Compute, attributes: {private_address: 127.0.0.3}}\n"
                               "    web:\n"
                               "      type: ws\n"
                               "      properties: {http_port: 8080}\n"
                               "      requirements: [{host: b}]\n"
                               "    api:\n"
                               "      type: ws\n"
                               "      properties: {http_port: 8080}\n"
                               "      requirements: [{host: a}]\n";
    struct fx *f = *state;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    struct orch_want *w = NULL;
    struct engine_diag d = {0};

    assert_int_equal(engine_topology_load_buffer(&t, topo, strlen(topo), "t.yaml", NULL, &d), 0);
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, &d), 0);
    struct orch_desired want = {x, f->acl, 1, "abc", "alice", "x"};
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, "a", &d), 0);
    assert_int_equal(w->nnodes, 1);
    assert_string_equal(w->nodes[0].name, "api");
    assert_string_equal(w->nodes[0].address, "127.0.0.2");
    assert_null(orch_want_node(w, "web"));
    assert_int_equal(w->nplaces, 2);
    assert_false(orch_want_place(w, "web")->here);
    assert_string_equal(orch_want_place(w, "web")->host, "b");
    assert_string_equal(orch_want_place(w, "web")->address, "127.0.0.3");
    assert_true(orch_want_place(w, "api")->here);
    orch_want_put(w);
    /* No host named: every node, as on one machine. */
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), 0);
    assert_int_equal(w->nnodes, 2);
    orch_want_put(w);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    engine_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orch_want_copies_every_level, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_one_host, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_reuses_unchanged_policy, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_versions_changed_policy_only, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_internal_rules_in_spec, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_missing_policy_refused, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
