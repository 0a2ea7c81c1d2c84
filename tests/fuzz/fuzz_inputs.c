/*
 * fuzz_inputs.c — libFuzzer harness for the values of a topology's inputs: the input as a
 * store's inputs.yaml for a fixed template whose inputs have types, constraints, a list and
 * a default (engine_topology_load_inputs()), and its lines as `unisec init --input
 * NAME=VALUE` words (engine_topology_inputs_text()), whose text must load or be refused the
 * same way; what inputs/NAME shows of a value that loaded (engine_topology_input_show()) is one
 * line that loads again as --input NAME=VALUE, and set in the text as it is
 * (engine_topology_inputs_edit()) too; removing it makes text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

static int fuzz_inputs_load(const char *text, size_t len, int again);

/* What inputs/NAME shows of each input of T (loaded with TEXT) is one line, and written back
 * as --input NAME=VALUE it loads again, showing the same. */
static void fuzz_inputs_show(const struct engine_topology *t, const char *text, size_t len,
                             int again)
{
    for (size_t i = 0; i < engine_topology_input_count(t); i++) {
        const char *name = engine_topology_input_name(t, i);
        char *shown = NULL, *assign = NULL, *out = NULL;
        size_t slen = 0, olen = 0;
        struct engine_diag d;
        if (name == NULL || engine_topology_input_show(&shown, &slen, t, text, len, name) < 0)
            continue; /* out of memory, or too large to show */
        if (slen > 0 && (shown[slen - 1] != '\n' || memchr(shown, '\n', slen - 1) != NULL))
            abort();
        engine_diag_init(&d);
        if (slen > 0 && !again && asprintf(&assign, "%s=%.*s", name, (int)slen - 1, shown) > 0 &&
            engine_topology_inputs_text(&out, &olen, text, len, "inputs.yaml", &assign, 1, &d) ==
                0 &&
            fuzz_inputs_load(out, olen, 1) == -EINVAL)
            abort();
        free(out);
        out = NULL;
        /* the same set in the text as it is (engine_topology_inputs_edit()) */
        if (slen > 0 && !again &&
            engine_topology_inputs_edit(&out, &olen, text, len, "inputs.yaml", name,
                                        assign ? assign + strlen(name) + 1 : "", &d) == 0 &&
            fuzz_inputs_load(out, olen, 1) == -EINVAL)
            abort();
        free(out);
        out = NULL;
        if (!again &&
            engine_topology_inputs_edit(&out, &olen, text, len, "inputs.yaml", name, NULL, &d) ==
                0 &&
            strlen(out) != olen)
            abort(); /* a removal makes text */
        free(out);
        free(assign);
        free(shown);
        engine_diag_free(&d);
    }
}

/* Loads TEXT as inputs.yaml; AGAIN: a text made from what was shown (fuzz_inputs_show()). */
static int fuzz_inputs_load(const char *text, size_t len, int again)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    int r;

    engine_diag_init(&d);
    if ((r = engine_topology_load_inputs(&t, topo, sizeof(topo) - 1, "topology.yaml", NULL, text,
                                         len, "inputs.yaml", &d)) == 0) {
        if (t == NULL || d.n != 0)
            abort();
        fuzz_inputs_show(t, text, len, again);
    } else if (t != NULL || (d.n == 0 && !d.oom)) {
        abort(); /* a refusal says why and leaves nothing */
    }
    engine_topology_free(t);
    engine_diag_free(&d);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *words[16], *out = NULL, *save = NULL;
    struct engine_diag d;
    size_t n = 0, len = 0;

    if (copy == NULL)
        return 0;
    fuzz_inputs_load((const char *)data, size, 0);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (char *w = strtok_r(copy, "\n", &save); w != NULL && n < 16;
         w = strtok_r(NULL, "\n", &save))
        words[n++] = w;
    engine_diag_init(&d);
    if (engine_topology_inputs_text(&out, &len, NULL, 0, "--inputs", words, n, &d) == 0)
        fuzz_inputs_load(out, len, 0);
    free(out);
    engine_diag_free(&d);
    free(copy);
    return 0;
}
