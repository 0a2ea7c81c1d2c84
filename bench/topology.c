/*
 * bench/topology.c — the topology engine at scale: for topologies of 10 to 4,000 nodes (web
 * unikernels with two security functions per level, three levels, load balancers in front),
 * the time to load (parse + check), to derive every image and the five artifacts, and to
 * re-derive after one level change (what the mount does per write), with and without the
 * five artifacts, and the artifacts' sizes.
 * Usage: topology   (run from a release build; times are the best of a few runs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/topology.h"

#define BENCH_RUNS 5

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A topology of N web nodes and one load balancer per 100 of them. */
static char *bench_text(size_t n, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);

    if (f == NULL)
        return NULL;
    fputs("tosca_definitions_version: tosca_simple_yaml_1_2\n"
          "unikernel_modules: {ws: {http_server: , log: , dispatch: }}\n"
          "security_functions:\n"
          "  open: {mechanism: access_control, pdp: push, policy: regular}\n"
          "  members: {mechanism: access_control, pdp: pull, policy: members}\n"
          "  locked: {mechanism: access_control, pdp: internal, policy: restricted}\n"
          "  fast: {mechanism: rate_limit, requests_per_second: 5000}\n"
          "  slow: {mechanism: rate_limit, requests_per_second: 50}\n"
          "topology_template:\n  node_templates:\n",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "    web%zu:\n      type: ws\n      properties:\n        http_port: %zu\n"
                "        access: {multi_level_security: {default_security_level: open,\n"
                "          high_security_level: members, critical_security_level: locked}}\n"
                "        ddos: {multi_level_security: {default_security_level: fast,\n"
                "          critical_security_level: slow}}\n",
                i, 1024 + i % 60000);
    for (size_t b = 0; b < (n + 99) / 100; b++) {
        fprintf(f, "    lb%zu:\n      type: tosca.nodes.LoadBalancer\n      requirements:\n", b);
        for (size_t i = b * 100; i < n && i < (b + 1) * 100; i++)
            fprintf(f, "        - application: web%zu\n", i);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int bench_size(size_t n)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *s = NULL;
    struct engine_topology_derived *x = NULL;
    double load = 1e9, derive = 1e9, again = 1e9, plans = 1e9;
    size_t len, bytes = 0;
    char *text = bench_text(n, &len);

    if (text == NULL)
        return -1;
    for (int r = 0; r < BENCH_RUNS; r++) {
        double t0 = bench_now(), t1, t2, t3;
        if (engine_topology_load_buffer(&t, text, len, "bench.yaml", NULL, NULL) < 0)
            goto fail;
        t1 = bench_now();
        if (engine_topology_state_new(&s, t) < 0 ||
            engine_topology_derive(&x, t, s, ENGINE_TARGET_HVT, NULL) < 0)
            goto fail;
        t2 = bench_now();
        engine_topology_derived_free(x);
        x = NULL;
        if (engine_topology_state_set_level(s, "web0", "critical", NULL) < 0 ||
            engine_topology_derive(&x, t, s, ENGINE_TARGET_HVT, NULL) < 0)
            goto fail;
        t3 = bench_now();
        {
            struct engine_topology_derived *p = NULL;
            double t4 = bench_now();
            if (engine_topology_derive_plans(&p, t, s, ENGINE_TARGET_HVT, NULL) < 0)
                goto fail;
            t4 = bench_now() - t4;
            plans = t4 < plans ? t4 : plans;
            engine_topology_derived_free(p);
        }
        load = t1 - t0 < load ? t1 - t0 : load;
        derive = t2 - t1 < derive ? t2 - t1 : derive;
        again = t3 - t2 < again ? t3 - t2 : again;
        bytes = 0;
        for (int a = 0; a < ENGINE_ARTIFACT_COUNT; a++) {
            size_t l;
            engine_topology_derived_artifact(x, (enum engine_topology_artifact)a, &l);
            bytes += l;
        }
        engine_topology_derived_free(x);
        engine_topology_state_free(s);
        engine_topology_free(t);
        x = NULL, s = NULL, t = NULL;
    }
    printf("%5zu nodes %8zu B  load %8.3f ms  derive %8.3f ms  after a level change %8.3f ms"
           "  (plans only %7.3f ms)  artifacts %9zu B\n",
           n + (n + 99) / 100, len, load * 1e3, derive * 1e3, again * 1e3, plans * 1e3, bytes);
    free(text);
    return 0;
fail:
    fprintf(stderr, "bench/topology: %zu nodes: the generated topology does not derive\n", n);
    engine_topology_derived_free(x);
    engine_topology_state_free(s);
    engine_topology_free(t);
    free(text);
    return -1;
}

int main(void)
{
    static const size_t sizes[] = {10, 100, 1000, 4000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (bench_size(sizes[i]) < 0)
            return 1;
    return 0;
}
