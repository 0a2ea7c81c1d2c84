/* test_topology_catalog.c — the module catalogue: found through UNISEC_MODULES_DIR, manifests
 * checked (name, properties, capabilities, conditional requirements), errors at their place. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/topology.h"

static char root[256];

static void put(const char *module, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, module);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/manifest.yaml", root, module);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");

    (void)state;
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(root, sizeof(root), "%s/unisec-catalog-XXXXXX", base);
    assert_non_null(mkdtemp(root));
    setenv(ENGINE_TOPOLOGY_MODULES_ENV, root, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    unsetenv(ENGINE_TOPOLOGY_MODULES_ENV);
    return 0;
}

static const char *const topo = "tosca_definitions_version: tosca_simple_yaml_1_2\n"
                                "unikernel_modules: {t: {srv: }}\n"
                                "security_functions:\n"
                                "  f: {mechanism: access_control, pdp: pull, policy: p}\n"
                                "topology_template:\n"
                                "  node_templates:\n"
                                "    a:\n"
                                "      type: t\n"
                                "      properties:\n"
                                "        s: {multi_level_security: {default_security_level: f}}\n";

/* Loads and derives TOPO against the catalogue in ROOT; returns the errors joined. */
static char *run(int *rc)
{
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    *rc = engine_topology_load_buffer(&t, topo, strlen(topo), "t.yaml", NULL, &d);
    if (*rc == 0)
        *rc = engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d);
    out = engine_diag_join(&d);
    engine_diag_free(&d);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    return out;
}

static void test_topology_catalog_env_and_when(void **state)
{
    char *e, want[1024];
    int rc;

    (void)state;
    assert_string_equal(engine_topology_modules_dir(), root);
    put("srv", "module: srv\n"
               "properties: {port: {type: integer, default: 80, listen: true}}\n"
               "capabilities: {hook: unisec.capabilities.RequestHook}\n");
    put("authn", "module: authn\nrequirements: [{h: unisec.capabilities.RequestHook}]\n");
    /* pull needs the PDP stream, which only this (made-up) capability would give */
    put("acl_pep", "module: acl_pep\n"
                   "properties: {pdp: {type: string, default: internal}, "
                   "policy: {type: string, required: false}}\n"
                   "requirements:\n"
                   "  - h: unisec.capabilities.RequestHook\n"
                   "  - s: {capability: example.PdpStream, when: {pdp: pull}}\n");
    e = run(&rc);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e, "t.yaml:7:5: error: node a at level default: module acl_pep requires s "
                           "(example.PdpStream), which no other module of the image (srv, authn, "
                           "acl_pep) and not the hvt environment provides");
    free(e);
    put("acl_pep", "module: acl_pep\n"
                   "properties: {pdp: {type: string, default: internal}}\n"
                   "requirements:\n"
                   "  - s: {capability: example.PdpStream, when: {pdp: push}}\n");
    e = run(&rc);
    assert_int_equal(rc, 0);
    free(e);
    /* a broken manifest is reported at its place, and nothing loads */
    put("log", "module: logger\nproperties: {level: {type: text}}\n"
               "requirements: [{c: {capability: x, when: {nope: 1}}}]\n");
    e = run(&rc);
    assert_int_equal(rc, -EINVAL);
    snprintf(want, sizeof(want),
             "%s/log/manifest.yaml:1:9: error: module 'logger': expected 'log', "
             "the name of its directory",
             root);
    assert_string_equal(e, want);
    free(e);
    put("log", "module: log\nproperties: {level: {type: text}}\n"
               "requirements: [{c: {capability: x, when: {nope: 1}}}]\n");
    e = run(&rc);
    snprintf(want, sizeof(want),
             "%s/log/manifest.yaml:2:28: error: property 'level': unknown type 'text'; expected "
             "string, integer, float or boolean",
             root);
    assert_string_equal(e, want);
    free(e);
    put("log", "module: log\nrequirements: [{c: {capability: x, when: {nope: 1}}}]\n");
    e = run(&rc);
    snprintf(want, sizeof(want),
             "%s/log/manifest.yaml:2:17: error: requirement 'c': 'when' names property 'nope', "
             "which module log does not declare",
             root);
    assert_string_equal(e, want);
    free(e);
}

static void test_topology_catalog_missing(void **state)
{
    char *e;
    int rc;

    (void)state;
    setenv(ENGINE_TOPOLOGY_MODULES_ENV, "/nonexistent-unisec-catalogue", 1);
    e = run(&rc);
    assert_int_equal(rc, -ENOENT);
    assert_string_equal(e, "/nonexistent-unisec-catalogue: error: cannot open the module "
                           "catalogue (No such file or directory); set UNISEC_MODULES_DIR to the "
                           "directory holding guest/modules");
    free(e);
    setenv(ENGINE_TOPOLOGY_MODULES_ENV, root, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_catalog_env_and_when),
        cmocka_unit_test(test_topology_catalog_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
