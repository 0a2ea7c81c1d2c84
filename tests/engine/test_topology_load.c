/* test_topology_load.c — the topology loader: the model of a valid file, imports, YAML
 * features, and errors with their positions (all-or-nothing). */
#include <errno.h>
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
#include "topology_text.h"

#define HEAD "tosca_definitions_version: tosca_simple_yaml_1_2\n"

/* Loads TEXT named "t.yaml" (imports from BASE); returns the errors joined (caller frees), ""
 * when it loaded. */
static char *load(const char *text, const char *base, struct engine_topology **keep, int *rc)
{
    return topology_text_load(text, "t.yaml", base, NULL, keep, rc);
}

static void expect_error(const char *text, const char *want)
{
    int rc;
    char *got = load(text, NULL, NULL, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(got, want);
    free(got);
}

/* TEXT (imports from BASE) is refused with an error that holds WANT. */
static void expect_error_in(const char *text, const char *base, const char *want)
{
    int rc;
    char *got = load(text, base, NULL, &rc);

    assert_int_equal(rc, -EINVAL);
    if (strstr(got, want) == NULL)
        fail_msg("expected '%s' in: '%s'", want, got);
    free(got);
}

static void test_topology_load_paper(void **state)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    const struct engine_topology_node *web, *portal;
    const struct engine_topology_prop *p;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_topology_load_file(&t, "mount-examples/paper.yaml", &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(engine_topology_version(t), "tosca_simple_yaml_1_2");
    assert_int_equal(engine_topology_node_count(t), 2);
    web = engine_topology_node_at(t, 0);
    portal = engine_topology_node_at(t, 1);
    assert_null(engine_topology_node_at(t, 2));
    assert_string_equal(web->name, "web");
    assert_string_equal(web->type, "webserver_unikernel_type");
    assert_int_equal(web->nlevels, 2);
    assert_string_equal(web->levels[0], "default");
    assert_string_equal(web->levels[1], "critical");
    assert_int_equal(engine_topology_node_level_index(web, "critical"), 1);
    assert_int_equal(engine_topology_node_level_index(web, "high"), -ENOENT);
    p = engine_topology_node_prop(web, "http_port");
    assert_non_null(p);
    assert_int_equal(p->type, ENGINE_TOPOLOGY_INTEGER);
    assert_string_equal(p->value, "8080");
    /* properties come sorted, with the manifests' defaults */
    for (size_t i = 1; i < web->nprops; i++)
        assert_true(strcmp(web->props[i - 1].name, web->props[i].name) < 0);
    assert_string_equal(engine_topology_node_prop(web, "log_level")->value, "info");
    assert_null(engine_topology_node_prop(web, "vm_security_level"));
    assert_string_equal(portal->type, "tosca.nodes.LoadBalancer");
    assert_string_equal(engine_topology_node_prop(portal, "listen_port")->value, "8000");
    assert_ptr_equal(engine_topology_node_find(t, "portal"), portal);
    assert_null(engine_topology_node_find(t, "nope"));
    engine_topology_free(t);
    engine_diag_free(&d);
}

static const char *const minimal = HEAD "unikernel_modules:\n"
                                        "  ws: {http_server: , dispatch: }\n"
                                        "topology_template:\n"
                                        "  node_templates:\n"
                                        "    web: {type: ws}\n";

static void test_topology_load_versions(void **state)
{
    static const char *const v[] = {"1_0", "1_2", "1_3"};
    (void)state;
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        struct engine_topology *t;
        assert_true(asprintf(&text, "tosca_definitions_version: tosca_simple_yaml_%s\n%s", v[i],
                             minimal + strlen(HEAD)) > 0);
        t = topology_text_ok(text);
        assert_true(strstr(engine_topology_version(t), v[i]) != NULL);
        engine_topology_free(t);
        free(text);
    }
    expect_error("tosca_definitions_version: tosca_simple_yaml_2_0\n",
                 "t.yaml:1:28: error: tosca_definitions_version 'tosca_simple_yaml_2_0': expected "
                 "tosca_simple_yaml_1_0, tosca_simple_yaml_1_2 or tosca_simple_yaml_1_3");
    expect_error("topology_template: {}\n",
                 "t.yaml:1:1: error: expected tosca_definitions_version: tosca_simple_yaml_1_0, "
                 "tosca_simple_yaml_1_2 or tosca_simple_yaml_1_3");
}

static void test_topology_load_defaults_first_level(void **state)
{
    struct engine_topology *t =
        topology_text_ok(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                              "security_functions:\n"
                              "  a: {mechanism: rate_limit, requests_per_second: 5}\n"
                              "  b: {mechanism: rate_limit, requests_per_second: 1}\n"
                              "topology_template:\n"
                              "  node_templates:\n"
                              "    web:\n"
                              "      type: ws\n"
                              "      properties:\n"
                              "        one: {multi_level_security: {high_security_level: b,\n"
                              "                                     default_security_level: a}}\n"
                              "        two: {multi_level_security: {default_security_level: [],\n"
                              "                                     low_security_level: [],\n"
                              "                                     high_security_level: []}}\n");
    const struct engine_topology_node *n;

    (void)state;
    n = engine_topology_node_at(t, 0);
    assert_int_equal(n->nlevels, 3);
    assert_string_equal(n->levels[0], "default");
    assert_string_equal(n->levels[1], "high");
    assert_string_equal(n->levels[2], "low");
    engine_topology_free(t);
}

static void test_topology_load_anchors(void **state)
{
    struct engine_topology *t =
        topology_text_ok(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                              "topology_template:\n"
                              "  node_templates:\n"
                              "    a: {type: ws, properties: &p {http_port: 81}}\n"
                              "    b: {type: ws, properties: *p}\n");

    (void)state;
    assert_string_equal(
        engine_topology_node_prop(engine_topology_node_find(t, "b"), "http_port")->value, "81");
    engine_topology_free(t);
}

static void test_topology_load_duplicate_keys(void **state)
{
    (void)state;
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a: {type: ws, properties: {http_port: 81, http_port: 82}}\n",
                 "t.yaml:5:47: error: properties: duplicate key 'http_port' (first at line 5)");
    expect_error(HEAD "node_types: {}\nnode_types: {}\n",
                 "t.yaml:3:1: error: topology: duplicate key 'node_types' (first at line 2)");
}

/* The top-level keys as an unknown key's message lists them. */
#define TOP_KEYS                                                                                   \
    "tosca_definitions_version, description, metadata, imports, node_types, unikernel_modules, "   \
    "security_functions, topology_template, repositories, dsl_definitions, artifact_types, "       \
    "data_types, capability_types, interface_types, relationship_types, group_types, "             \
    "policy_types, namespace, tosca_default_namespace, template_name, template_author or "         \
    "template_version"

static void test_topology_load_errors(void **state)
{
    (void)state;
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a: {type: ws, properties: {http_port: eighty}}\n"
                      "    b: {type: nope}\n",
                 "t.yaml:5:43: error: node a: property http_port: 'eighty' is not an integer: "
                 "expected an integer (decimal digits, optional '-', 64 bits)\n"
                 "t.yaml:6:15: error: node b: unknown type 'nope'; expected a type of node_types "
                 "or unikernel_modules, or a normative TOSCA node type");
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "security_functions: {f: {mechanism: rate_limit, requests_per_second: 1}}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a:\n"
                      "      type: ws\n"
                      "      properties:\n"
                      "        s: {multi_level_security: {default_security_level: f,\n"
                      "                                   hot_security_level: g}}\n",
                 "t.yaml:10:56: error: node a: property s: unknown security function 'g'; "
                 "expected one defined under security_functions");
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "security_functions: {f: {mechanism: rate_limit, requests_per_second: 1}}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a:\n"
                      "      type: ws\n"
                      "      properties:\n"
                      "        s: {multi_level_security: {hot_security_level: f}}\n",
                 "t.yaml:9:35: error: node a: property s: expected a default_security_level "
                 "(the level every node starts at)");
    expect_error(HEAD "bogus: 1\n",
                 "t.yaml:2:1: error: topology: unknown key 'bogus'; expected " TOP_KEYS);
}

/* engine/topology.h: every DIAG may be NULL. A topology with errors is refused all the same,
 * its messages dropped (engine_diag_add() once crashed on a NULL list). */
static void test_topology_load_errors_unwanted(void **state)
{
    static const char bad[] = HEAD "bogus: 1\n";
    struct engine_topology *t = NULL;

    (void)state;
    assert_int_equal(engine_diag_add(NULL, "f", 1, 1, "%s", "dropped"), -EINVAL);
    assert_int_equal(engine_topology_load_buffer(&t, bad, strlen(bad), "t.yaml", NULL, NULL),
                     -EINVAL);
    assert_null(t);
}

/* What D_TOSCA (translate's tosca.yaml) writes reads back: security_level declared as it
 * declares it, a load balancer in front of nodes unisec does not run. */
static void test_topology_load_dtosca(void **state)
{
    struct engine_topology *t = NULL;
    int rc;
    char *got = load(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                          "node_types:\n"
                          "  t:\n"
                          "    derived_from: ws\n"
                          "    properties:\n"
                          "      security_level: {type: string, required: false}\n"
                          "topology_template:\n"
                          "  node_templates:\n"
                          "    a: {type: t, properties: {security_level: critical}}\n"
                          "    c: {type: tosca.nodes.Compute}\n"
                          "    lb: {type: tosca.nodes.LoadBalancer, requirements: "
                          "[{application: c}, {application: a}]}\n",
                     NULL, &t, &rc);
    (void)state;
    assert_string_equal(got, "");
    assert_int_equal(rc, 0);
    /* a TOSCA value, not one of the node's run-time scalars */
    const struct engine_topology_node *a = engine_topology_node_at(t, 0);
    for (size_t i = 0; i < a->nprops; i++)
        assert_string_not_equal(a->props[i].name, "security_level");
    free(got);
    engine_topology_free(t);
    /* a node unisec runs must still listen */
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , log: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    web: {type: ws}\n"
                      "    lb: {type: tosca.nodes.LoadBalancer, requirements: [{application: "
                      "web}]}\n",
                 "t.yaml:6:71: error: node lb: requirement application is unmet: node web "
                 "listens on no port; expected a node whose modules declare a listening port "
                 "(e.g. dispatch's http_port)");
    /* nor route to itself (a node unisec does not run may name itself: TOSCA 3.8.2) */
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    web: {type: ws}\n"
                      "    lb: {type: tosca.nodes.LoadBalancer, requirements: [{application: "
                      "web}, {application: lb}]}\n",
                 "t.yaml:6:91: error: node lb: requirement application is unmet: a node cannot "
                 "require itself 'lb'; expected another node of node_templates");
}

static void test_topology_load_reserved(void **state)
{
    (void)state;
    expect_error(HEAD "node_types: {t: {properties: {security_level: {type: string}}}}\n",
                 "t.yaml:2:47: error: property 'security_level': the name security_level is "
                 "reserved for the node's current level (D_TOSCA sets it); expected another "
                 "name, or the definition D_TOSCA writes ({type: string, required: false})");
    expect_error(HEAD "node_types: {t: {properties: {security_level: {type: integer, "
                      "required: false}}}}\n",
                 "t.yaml:2:47: error: property 'security_level': the name security_level is "
                 "reserved for the node's current level (D_TOSCA sets it); expected another "
                 "name, or the definition D_TOSCA writes ({type: string, required: false})");
    expect_error(
        HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
             "node_types: {t: {derived_from: ws, properties: {security_level: {type: "
             "string, required: false}}}}\n"
             "topology_template: {node_templates: {a: {type: t, properties: "
             "{security_level: [1]}}}}\n",
        "t.yaml:4:80: error: node a: property security_level: expected a value of type string, "
        "found a sequence");
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template: {node_templates: {yes: {type: ws}}}\n",
                 "t.yaml:3:38: error: node 'yes': expected a name of 1 to 128 characters from "
                 "[A-Za-z0-9_.-], starting with a letter or '_', other than a YAML boolean or "
                 "null word");
    expect_error(HEAD "base: &b {type: ws}\n",
                 "t.yaml:2:1: error: topology: unknown key 'base'; expected " TOP_KEYS);
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a: &a {type: ws}\n"
                      "    b: {<<: *a}\n",
                 "t.yaml:6:9: error: b: YAML merge keys (<<) are not supported; expected the "
                 "keys written out, or an alias of the whole mapping");
    expect_error(HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n"
                      "topology_template:\n"
                      "  node_templates:\n"
                      "    a: {type: ws}\n"
                      "    b: {type: ws, requirements: [{x: {node: a, relationship: Uses}}]}\n",
                 "t.yaml:6:62: error: node b: requirement x: relationship 'Uses': expected a "
                 "relationship type (tosca.relationships.DependsOn, HostedOn, ConnectsTo, "
                 "AttachesTo, RoutesTo or one of relationship_types) or a relationship "
                 "template");
}

/* A type given both under node_types and unikernel_modules is one type. */
static void test_topology_load_merged_type(void **state)
{
    struct engine_topology *t =
        topology_text_ok(HEAD "node_types:\n"
                              "  ws:\n"
                              "    derived_from: tosca.nodes.WebServer\n"
                              "    properties: {tier: {type: string, default: front}}\n"
                              "unikernel_modules:\n"
                              "  ws: {http_server: , dispatch: {properties: {http_port: "
                              "{type: integer, default: 81}}}}\n"
                              "topology_template: {node_templates: {a: {type: ws}}}\n");
    const struct engine_topology_node *n;

    (void)state;
    n = engine_topology_node_at(t, 0);
    assert_string_equal(engine_topology_node_prop(n, "tier")->value, "front");
    assert_string_equal(engine_topology_node_prop(n, "http_port")->value, "81");
    assert_string_equal(engine_topology_node_prop(n, "max_connections")->value, "1024");
    engine_topology_free(t);
}

/* A new directory PATH under $TMPDIR holding FILE, types.yaml, of TEXT. */
static void types_dir(char path[256], char file[300], const char *text)
{
    const char *base = getenv("TMPDIR");
    FILE *f;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(path, 256, "%s/unisec-topo-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    snprintf(file, 300, "%s/types.yaml", path);
    assert_non_null(f = fopen(file, "w"));
    fputs(text, f);
    fclose(f);
}

static void test_topology_load_imports(void **state)
{
    char path[256], file[300];
    struct engine_topology *t;
    int rc;
    char *e;

    (void)state;
    types_dir(path, file, HEAD "unikernel_modules: {ws: {http_server: , dispatch: }}\n");
    e = load(HEAD "imports: [types.yaml, {file: types.yaml}]\n" /* twice: loaded once */
                  "topology_template: {node_templates: {a: {type: ws}}}\n",
             path, &t, &rc);
    assert_string_equal(e, "");
    assert_string_equal(engine_topology_node_at(t, 0)->type, "ws");
    engine_topology_free(t);
    free(e);
    expect_error_in(HEAD "imports: [missing.yaml]\n"
                         "topology_template: {node_templates: {a: {type: ws}}}\n",
                    path, "t.yaml:2:11: error: import 'missing.yaml': cannot open");
    expect_error(HEAD "imports: [types.yaml]\n"
                      "topology_template: {node_templates: {a: {type: ws}}}\n",
                 "t.yaml:2:11: error: import 'types.yaml': this topology has no "
                 "directory to import from");
    /* a file that imports itself: refused where the cycle closes */
    {
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fputs(HEAD "imports: [./types.yaml]\n", f);
        fclose(f);
    }
    expect_error_in(HEAD "imports: [types.yaml]\n"
                         "topology_template: {node_templates: {a: {type: ws}}}\n",
                    path,
                    "types.yaml:2:11: error: import './types.yaml': the file imports "
                    "itself; expected imports that form no cycle");
    unlink(file);
    rmdir(path);
}

/* A qualified type name (3.6.8): PREFIX:NAME through an import's namespace_prefix, in a
 * template's type, derived_from and a requirement; tosca:NAME for a normative type; an
 * unknown or twice-declared prefix is an error at its place. */
static void test_topology_load_prefix(void **state)
{
#define V13 "tosca_definitions_version: tosca_simple_yaml_1_3\n"
    char path[256], file[300];
    struct engine_topology *t;
    int rc;
    char *e;

    (void)state;
    types_dir(path, file, V13 "node_types:\n  my.Server: {derived_from: tosca.nodes.Compute}\n");
    e = load(V13 "imports: [{file: types.yaml, namespace_prefix: ex}]\n"
                 "node_types:\n  my.Big: {derived_from: ex:my.Server}\n"
                 "topology_template: {node_templates: {a: {type: ex:my.Server}, "
                 "b: {type: my.Big}, c: {type: tosca:Compute}}}\n",
             path, &t, &rc);
    assert_string_equal(e, "");
    assert_int_equal(rc, 0);
    assert_string_equal(engine_topology_node_at(t, 0)->type, "my.Server");
    assert_string_equal(engine_topology_node_at(t, 2)->type, "tosca:Compute");
    engine_topology_free(t);
    free(e);
    expect_error_in(V13 "imports: [{file: types.yaml, namespace_prefix: ex}]\n"
                        "topology_template: {node_templates: {a: {type: zz:my.Server}}}\n",
                    path,
                    "t.yaml:3:48: error: node type 'zz:my.Server': unknown "
                    "namespace prefix 'zz'");
    e = load(V13 "imports: [{file: types.yaml, namespace_prefix: ex}]\n"
                 "topology_template: {node_templates: {a: {type: ex:my.Nope}}}\n",
             path, &t, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(e, "t.yaml:3:48: error: "));
    assert_non_null(strstr(e, "my.Nope"));
    free(e);
    e = load(V13 "imports: [{file: types.yaml, namespace_prefix: ex},\n"
                 "  {file: types.yaml, namespace_prefix: ex}, {file: types.yaml, "
                 "namespace_prefix: tosca}]\n",
             path, &t, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(e, "t.yaml:3:40: error: namespace_prefix 'ex' is declared already"));
    assert_non_null(strstr(e, "namespace_prefix 'tosca' is declared already"));
    free(e);
    unlink(file);
    rmdir(path);
#undef V13
}

/* An import that is a FIFO is refused at the import, without waiting for a writer (before
 * the fix, the load blocked forever in open()). */
static void test_topology_load_import_fifo(void **state)
{
    char path[256], fifo[300];
    const char *base = getenv("TMPDIR");
    struct engine_topology *t;
    int rc;
    char *e;

    (void)state;
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(path, sizeof(path), "%s/unisec-topo-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    snprintf(fifo, sizeof(fifo), "%s/types.yaml", path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    e = load(HEAD "imports: [types.yaml]\n"
                  "topology_template: {node_templates: {a: {type: tosca.nodes.Compute}}}\n",
             path, &t, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(e, "t.yaml:2:11: error: import 'types.yaml': "));
    assert_non_null(strstr(e, "types.yaml is not a regular file; expected a file"));
    free(e);
    /* the main file itself: refused at open, not waited on */
    {
        struct engine_diag d;
        engine_diag_init(&d);
        assert_int_equal(engine_topology_load_file(&t, fifo, &d), -EINVAL);
        assert_null(t);
        assert_non_null(e = engine_diag_join(&d));
        assert_non_null(strstr(e, "expected a regular file"));
        free(e);
        engine_diag_free(&d);
    }
    unlink(fifo);
    rmdir(path);
}

/* A document nested deeper than 64 is refused at the first level past the bound, whatever
 * its size (a 300 KB one took a minute before the bound). */
static void test_topology_load_depth(void **state)
{
    size_t n = 150000, head = strlen(HEAD "x: ");
    char *text = malloc(head + 2 * n + 2);
    int rc;
    char *e;

    (void)state;
    assert_non_null(text);
    memcpy(text, HEAD "x: ", head);
    memset(text + head, '[', n);
    memset(text + head + n, ']', n);
    strcpy(text + head + 2 * n, "\n");
    e = load(text, NULL, NULL, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e, "t.yaml:2:67: error: mappings and sequences nested more than 64 "
                           "deep; expected a flatter document");
    free(e);
    free(text);
}

/* TOSCA beyond unisec's dialect: a valid 1.3 template with types of every kind, values and
 * functions (TOSCA 1.3 sections 3.6 to 3.9, 4). */
static void test_topology_load_tosca13(void **state)
{
    struct engine_topology *t;

    (void)state;
    t = topology_text_ok(
        "tosca_definitions_version: tosca_simple_yaml_1_3\n"
        "dsl_definitions: {cpus: &cpus 2}\n"
        "repositories: {docs: {url: 'https://example.org/'}}\n"
        "data_types:\n"
        "  my.Size: {derived_from: integer, constraints: [{greater_than: 0}]}\n"
        "capability_types:\n"
        "  my.Cap: {derived_from: tosca.capabilities.Root, properties: {count: {type: my.Size}}}\n"
        "interface_types:\n"
        "  my.If: {derived_from: tosca.interfaces.Root, operations: {go: {}}}\n"
        "relationship_types:\n"
        "  my.Rel: {derived_from: tosca.relationships.ConnectsTo}\n"
        "policy_types:\n"
        "  my.Pol: {derived_from: tosca.policies.Root}\n"
        "node_types:\n"
        "  tosca.nodes.My:\n"
        "    derived_from: SoftwareComponent\n"
        "    properties: {disk: {type: scalar-unit.size, default: 1 GB}}\n"
        "    attributes: {seen: {type: timestamp}}\n"
        "    capabilities: {c: {type: my.Cap}}\n"
        "    interfaces: {I: {type: my.If}}\n"
        "topology_template:\n"
        "  inputs: {size: {type: scalar-unit.size, default: 2 GB}}\n"
        "  node_templates:\n"
        "    server:\n"
        "      type: Compute\n"
        "      capabilities: {host: {properties: {num_cpus: *cpus, mem_size: 2 GiB}}}\n"
        "    app:\n"
        "      type: tosca.nodes.My\n"
        "      properties: {disk: {get_input: size}}\n"
        "      capabilities: {c: {properties: {count: 4}}}\n"
        "      interfaces: {I: {go: run.sh}}\n"
        "      requirements:\n"
        "        - host: server\n"
        "        - dependency: {node: tosca.nodes.Database, relationship: my.Rel}\n"
        "  policies: [{p: {type: my.Pol, targets: [app]}}]\n"
        "  outputs: {ip: {value: {get_attribute: [server, private_address]}}}\n"
        "  workflows: {deploy: {steps: {}}}\n");
    assert_int_equal(engine_topology_node_count(t), 2);
    engine_topology_free(t);
}

/* node_templates is optional (TOSCA 1.3 3.9.1): a template of inputs and outputs alone, or with
 * node_templates empty, has no node; its functions are still checked. */
static void test_topology_load_no_nodes(void **state)
{
    static const char *const ok[] = {
        HEAD "topology_template:\n  inputs: {p: {type: integer, default: 80}}\n"
             "  outputs: {o: {value: {get_input: p}}}\n",
        HEAD "topology_template:\n  node_templates: {}\n",
        HEAD "topology_template:\n  node_templates:\n  description: none\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct engine_topology *t = topology_text_ok(ok[i]);
        assert_int_equal(engine_topology_node_count(t), 0);
        engine_topology_free(t);
    }
    expect_error(HEAD "topology_template:\n  outputs: {o: {value: {get_input: q}}}\n",
                 "t.yaml:3:36: error: output o: get_input: unknown input 'q'; expected one of "
                 "topology_template's inputs");
    expect_error(HEAD "topology_template:\n  node_templates: [a]\n",
                 "t.yaml:3:19: error: node_templates: expected a mapping, found a sequence");
}

/* Intrinsic functions' references (TOSCA 1.3 4.1, 4.4 to 4.6): what resolves, what is kept for
 * the orchestrator, and the errors at the argument that is wrong. */
static void test_topology_load_functions(void **state)
{
#define FN_HEAD                                                                                    \
    "tosca_definitions_version: tosca_simple_yaml_1_3\n"                                           \
    "topology_template:\n"                                                                         \
    "  inputs: {x: {type: string, default: a}}\n"                                                  \
    "  relationship_templates: {link: {type: tosca.relationships.ConnectsTo}}\n"                   \
    "  node_templates:\n"                                                                          \
    "    server: {type: Compute}\n"                                                                \
    "    web: {type: WebServer, requirements: [host: server]}\n"                                   \
    "    free: {type: WebServer, requirements: [{host: {node: tosca.nodes.Compute}}]}\n"           \
    "    app:\n"                                                                                   \
    "      type: WebApplication\n"                                                                 \
    "      properties: {context_root: /}\n"                                                        \
    "      requirements: [host: web]\n"                                                            \
    "      interfaces:\n"                                                                          \
    "        Standard:\n"                                                                          \
    "          create:\n"                                                                          \
    "            implementation: c.sh\n"                                                           \
    "            inputs:\n"
    static const char *const valid[] = {
        "{get_attribute: [HOST, private_address]}", /* two hops: web, then server */
        "{get_property: [HOST, host, num_cpus]}",   /* a capability of a host */
        "{get_attribute: [SELF, context_root]}",    /* a property is an attribute too */
        "{get_attribute: [SELF, tosca_id]}",        /* inherited from tosca.nodes.Root */
        "{get_property: [SELF, host, anything]}",   /* through a requirement: run time */
        "{get_property: [SOURCE, anything]}",       /* kept */
        "{get_attribute: [link, tosca_id]}",        /* of a relationship template's type */
        "{get_property: [link, credential, user]}", /* into a data type */
        "{get_nodes_of_type: tosca.nodes.Compute}",
        "{get_attribute: [SELF, {get_input: x}]}",   /* a function as an argument: kept */
        "{get_attribute: [server, networks, net0]}", /* a key of a map */
        "{get_operation_output: [web, Standard, start, pid]}",
    };
    char text[2048];
    int rc;

    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        snprintf(text, sizeof(text), FN_HEAD "              v: %s\n", valid[i]);
        char *e = load(text, NULL, NULL, &rc);
        if (rc != 0)
            fail_msg("%s: %s", valid[i], e);
        free(e);
    }
    expect_error(FN_HEAD "              v: {get_attribute: [HOST, nothing]}\n",
                 "t.yaml:18:41: error: get_attribute: no node hosting app (along HostedOn) has an "
                 "attribute 'nothing'");
    expect_error(FN_HEAD "              v: {get_property: [link, cred]}\n",
                 "t.yaml:18:40: error: get_property: relationship template link "
                 "(tosca.relationships.ConnectsTo) has no property 'cred'");
    expect_error(FN_HEAD "              v: {get_nodes_of_type: my.Nothing}\n",
                 "t.yaml:18:38: error: get_nodes_of_type: unknown node type 'my.Nothing'");
    expect_error(FN_HEAD "              v: {get_attribute: [nobody, x]}\n",
                 "t.yaml:18:35: error: get_attribute: unknown entity 'nobody'; expected SELF, "
                 "SOURCE, TARGET, HOST or a node or relationship template");
    expect_error(FN_HEAD "              v: {get_property: [server, host, num_cpus, 0]}\n",
                 "t.yaml:18:58: error: get_property: node server: capability host: property "
                 "'num_cpus' is of type integer: it has no index or key '0'");
    expect_error(FN_HEAD "              v: {get_attribute: [server, public_address]}\n"
                         "    other:\n"
                         "      type: SoftwareComponent\n"
                         "      properties: {component_version: {get_property: [HOST, x]}}\n",
                 "t.yaml:21:55: error: get_property: HOST: node other has no host (no requirement "
                 "whose relationship is tosca.relationships.HostedOn)");
    /* a host chosen by a node filter or a type: the chain ends unresolved, not in error */
    snprintf(text, sizeof(text),
             FN_HEAD "              v: {get_attribute: [server, state]}\n"
                     "    other:\n"
                     "      type: WebApplication\n"
                     "      requirements: [host: free]\n"
                     "      properties: {context_root: {get_property: "
                     "[HOST, x]}}\n");
    free(load(text, NULL, NULL, &rc));
    assert_int_equal(rc, 0);
#undef FN_HEAD
}

/* concat, join and token of constants and inputs are evaluated at load into a scalar property
 * unisec runs with (TOSCA 1.3 4.3.1 to 4.3.3); a function of run-time values is kept. */
static void test_topology_load_evaluated(void **state)
{
#define EV_HEAD                                                                                    \
    "tosca_definitions_version: tosca_simple_yaml_1_3\n"                                           \
    "unikernel_modules:\n"                                                                         \
    "  ws: {http_server: , dispatch: }\n"                                                          \
    "topology_template:\n"                                                                         \
    "  inputs: {site: {type: string, default: shop}, addr: {type: string, default: 'h:8443'}}\n"   \
    "  node_templates:\n"                                                                          \
    "    web:\n"                                                                                   \
    "      type: ws\n"                                                                             \
    "      properties:\n"
    struct engine_topology *t;
    const struct engine_topology_node *n;

    (void)state;
    t = topology_text_ok(EV_HEAD
                         "        routes: {concat: ['GET /', {get_input: site}, ' 200 text/plain ',"
                         " {join: [[a, b], '-']}]}\n"
                         "        http_port: {token: [{get_input: addr}, ':', 1]}\n");
    n = engine_topology_node_find(t, "web");
    assert_string_equal(engine_topology_node_prop(n, "routes")->value,
                        "GET /shop 200 text/plain a-b");
    assert_string_equal(engine_topology_node_prop(n, "http_port")->value, "8443");
    engine_topology_free(t);
    t = topology_text_ok(
        EV_HEAD "        routes: {concat: ['GET /', {get_attribute: [SELF, tosca_id]}]}\n");
    assert_null(engine_topology_node_prop(engine_topology_node_find(t, "web"), "routes")->value);
    engine_topology_free(t);
    expect_error(EV_HEAD "        http_port: {token: [{get_input: addr}, ':', 2]}\n",
                 "t.yaml:10:53: error: token: index 2: expected 0 to 1 (the string has 2 fields)");
    expect_error(EV_HEAD "        http_port: {token: [{get_input: addr}, ':', 0]}\n",
                 "t.yaml:10:20: error: node web: property http_port: token gives 'h', not an "
                 "integer: expected an integer (decimal digits, optional '-', 64 bits)");
#undef EV_HEAD
}

static void test_topology_load_value_parse(void **state)
{
    char *v;
    const char *why;

    (void)state;
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_INTEGER, "-12", &why), 0);
    assert_string_equal(v, "-12");
    free(v);
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_INTEGER, "1.5", &why),
                     -EINVAL);
    assert_null(v);
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_BOOLEAN, "True", &why), 0);
    assert_string_equal(v, "true");
    free(v);
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_FLOAT, "nan", &why), -EINVAL);
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_STRING, "a\nb", &why),
                     -EINVAL);
    assert_int_equal(engine_topology_value_parse(&v, ENGINE_TOPOLOGY_FLOAT, "0.5", &why), 0);
    assert_string_equal(v, "0.5");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_load_paper),
        cmocka_unit_test(test_topology_load_versions),
        cmocka_unit_test(test_topology_load_defaults_first_level),
        cmocka_unit_test(test_topology_load_anchors),
        cmocka_unit_test(test_topology_load_duplicate_keys),
        cmocka_unit_test(test_topology_load_errors),
        cmocka_unit_test(test_topology_load_errors_unwanted),
        cmocka_unit_test(test_topology_load_reserved),
        cmocka_unit_test(test_topology_load_dtosca),
        cmocka_unit_test(test_topology_load_merged_type),
        cmocka_unit_test(test_topology_load_imports),
        cmocka_unit_test(test_topology_load_value_parse),
        cmocka_unit_test(test_topology_load_import_fifo),
        cmocka_unit_test(test_topology_load_prefix),
        cmocka_unit_test(test_topology_load_depth),
        cmocka_unit_test(test_topology_load_tosca13),
        cmocka_unit_test(test_topology_load_functions),
        cmocka_unit_test(test_topology_load_evaluated),
        cmocka_unit_test(test_topology_load_no_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
