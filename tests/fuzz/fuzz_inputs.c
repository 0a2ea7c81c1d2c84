/*
 * fuzz_inputs.c — libFuzzer harness for the values of a topology's inputs: the input as a
 * store's inputs.yaml for a fixed template whose inputs have types, constraints, a list and
 * a default (engine_topology_load_inputs()), and its lines as `unisec init --input
 * NAME=VALUE` words (engine_topology_inputs_text()), whose text must load or be refused the
 * same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/topology.h"

static const char topo[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                           "topology_template:\n"
                           "  inputs:\n"
                           "    cpus: {type: integer, constraints: [{in_range: [1, 64]}]}\n"
                           "    mem: {type: scalar-unit.size, default: 1 GB}\n"
                           "    name: {type: string, required: false,\n"
                           "           constraints: [{pattern: '[a-z]+'}]}\n"
                           "    ports: {type: list, entry_schema: {type: integer}, "
                           "required: false}\n"
                           "  node_templates:\n"
                           "    s:\n"
                           "      type: tosca.nodes.Compute\n"
                           "      capabilities:\n"
                           "        host: {properties: {num_cpus: {get_input: cpus},\n"
                           "                            mem_size: {get_input: mem}}}\n";

static void fuzz_inputs_load(const char *text, size_t len)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;

    engine_diag_init(&d);
    if (engine_topology_load_inputs(&t, topo, sizeof(topo) - 1, "topology.yaml", NULL, text, len,
                                    "inputs.yaml", &d) == 0) {
        if (t == NULL || d.n != 0)
            abort();
    } else if (t != NULL || (d.n == 0 && !d.oom)) {
        abort(); /* a refusal says why and leaves nothing */
    }
    engine_topology_free(t);
    engine_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *words[16], *out = NULL, *save = NULL;
    struct engine_diag d;
    size_t n = 0, len = 0;

    if (copy == NULL)
        return 0;
    fuzz_inputs_load((const char *)data, size);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (char *w = strtok_r(copy, "\n", &save); w != NULL && n < 16;
         w = strtok_r(NULL, "\n", &save))
        words[n++] = w;
    engine_diag_init(&d);
    if (engine_topology_inputs_text(&out, &len, NULL, 0, "--inputs", words, n, &d) == 0)
        fuzz_inputs_load(out, len);
    free(out);
    engine_diag_free(&d);
    free(copy);
    return 0;
}
