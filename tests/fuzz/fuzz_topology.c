/*
 * fuzz_topology.c — libFuzzer harness for the topology loader and the state files.
 * The first byte picks the target:
 *   0: the input as the state files (levels, then properties after the first NUL) of the
 *      paper's example, then format and parse again: the texts must be equal.
 * Anything else: the whole input as a topology (imports refused); when it loads, derive it
 * for both targets and check that the plans agree with the model, and that its translation
 * (D_TOSCA, tosca.yaml) loads again (engine/TOPOLOGY.md section 6).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/topology.h"

static void fuzz_topology_check_plans(const struct engine_topology *t,
                                      const struct engine_topology_derived *x)
{
    if (engine_topology_derived_count(x) != engine_topology_node_count(t))
        abort();
    for (size_t i = 0; i < engine_topology_derived_count(x); i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(x, i);
        const struct engine_topology_node *n = engine_topology_node_at(t, i);
        if (strcmp(p->node, n->name) != 0 || p->nimages != n->nlevels ||
            strcmp(n->levels[0], "default") != 0)
            abort();
        for (size_t l = 0; l < p->nimages; l++)
            if ((p->images[l].pdp != ENGINE_PDP_NONE) != (p->images[l].policy != NULL))
                abort();
    }
}

/* The translation X of an accepted topology is accepted again. */
static void fuzz_topology_check_tosca(const struct engine_topology_derived *x)
{
    struct engine_topology *u = NULL;
    struct engine_diag d;
    size_t len = 0;
    const char *text = engine_topology_derived_artifact(x, ENGINE_ARTIFACT_TOSCA, &len);
    int r;

    engine_diag_init(&d);
    r = engine_topology_load_buffer(&u, text, len, "tosca.yaml", NULL, &d);
    if (r < 0 && r != -ENOMEM) {
        engine_diag_print(&d, stderr);
        fputs(text, stderr);
        abort();
    }
    engine_topology_free(u);
    engine_diag_free(&d);
}

static void fuzz_topology_model(const uint8_t *data, size_t size)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;

    engine_diag_init(&d);
    if (engine_topology_load_buffer(&t, (const char *)data, size, "fuzz.yaml", NULL, &d) == 0) {
        struct engine_topology_state *s = NULL;
        for (int target = 0; target < 2; target++) {
            struct engine_topology_derived *x = NULL;
            if (engine_topology_derive(&x, t, NULL, (enum engine_target)target, &d) == 0) {
                fuzz_topology_check_plans(t, x);
                if (target == ENGINE_TARGET_HVT)
                    fuzz_topology_check_tosca(x);
            }
            engine_topology_derived_free(x);
        }
        /* every node at its last level: the plans must follow the state */
        if (engine_topology_state_new(&s, t) == 0) {
            struct engine_topology_derived *x = NULL;
            for (size_t i = 0; i < engine_topology_node_count(t); i++) {
                const struct engine_topology_node *n = engine_topology_node_at(t, i);
                if (engine_topology_state_set_level(s, n->name, n->levels[n->nlevels - 1], &d) < 0)
                    abort();
            }
            if (engine_topology_derive_plans(&x, t, s, ENGINE_TARGET_HVT, &d) == 0)
                for (size_t i = 0; i < engine_topology_derived_count(x); i++)
                    if (engine_topology_derived_plan(x, i)->current !=
                        engine_topology_node_at(t, i)->nlevels - 1)
                        abort();
            engine_topology_derived_free(x);
        }
        engine_topology_state_free(s);
    }
    engine_topology_free(t);
    engine_diag_free(&d);
}

/* The paper's example, smaller: two nodes with two levels each. */
static const char fuzz_topology_paper[] =
    "tosca_definitions_version: tosca_simple_yaml_1_2\n"
    "unikernel_modules: {ws: {http_server: , log: , dispatch: }}\n"
    "security_functions:\n"
    "  r: {mechanism: access_control, pdp: push, policy: regular}\n"
    "  s: {mechanism: access_control, pdp: internal, policy: restricted}\n"
    "  m: {mechanism: rate_limit, requests_per_second: 1000}\n"
    "  p: {mechanism: rate_limit, requests_per_second: 20}\n"
    "topology_template:\n"
    "  node_templates:\n"
    "    web:\n"
    "      type: ws\n"
    "      properties:\n"
    "        http_port: 8080\n"
    "        vm: {multi_level_security: {default_security_level: r, critical_security_level: s}}\n"
    "    portal:\n"
    "      type: tosca.nodes.LoadBalancer\n"
    "      properties:\n"
    "        lb: {multi_level_security: {default_security_level: m, critical_security_level: p}}\n"
    "      requirements: [{application: web}]\n";

static void fuzz_topology_state(const uint8_t *data, size_t size)
{
    static struct engine_topology *paper;
    struct engine_diag d;
    struct engine_topology_state *s = NULL, *s2 = NULL;
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t llen = nul ? (size_t)(nul - text) : size;
    char *lv = NULL, *pr = NULL, *lv2 = NULL, *pr2 = NULL;
    size_t ll, pl, ll2, pl2;

    engine_diag_init(&d);
    if (paper == NULL &&
        engine_topology_load_buffer(&paper, fuzz_topology_paper, sizeof(fuzz_topology_paper) - 1,
                                    "paper.yaml", NULL, &d) < 0)
        abort();
    if (engine_topology_state_parse(&s, paper, text, llen, nul ? nul + 1 : NULL,
                                    nul ? size - llen - 1 : 0, &d) < 0) {
        engine_diag_free(&d);
        return;
    }
    if (engine_topology_state_format_levels(s, &lv, &ll) == 0 &&
        engine_topology_state_format_properties(s, &pr, &pl) == 0 &&
        engine_topology_state_parse(&s2, paper, lv, ll, pr, pl, &d) == 0 &&
        engine_topology_state_format_levels(s2, &lv2, &ll2) == 0 &&
        engine_topology_state_format_properties(s2, &pr2, &pl2) == 0 &&
        (strcmp(lv, lv2) != 0 || strcmp(pr, pr2) != 0))
        abort();
    free(lv);
    free(pr);
    free(lv2);
    free(pr2);
    engine_topology_state_free(s);
    engine_topology_state_free(s2);
    engine_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 0)
        fuzz_topology_state(data + 1, size - 1);
    else
        fuzz_topology_model(data, size);
    return 0;
}
