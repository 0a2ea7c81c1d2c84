/* topology_emit_dot.c — the topology.dot artifact: the topology at its current levels as a
 * Graphviz graph, written for topology_emit.c. */
#include "topology_derive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A quoted DOT string; a newline becomes DOT's centred line break. */
static void topo_dot_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int topo_emit_dot(FILE *f, const struct topo_emit *e)
{
    fprintf(f,
            "// the topology at its current levels, derived by unisec for target %s\n"
            "digraph unisec {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
            engine_target_name(e->x->target));
    for (size_t i = 0; i < e->x->nplans; i++) {
        const struct engine_topology_plan *p = &e->x->plans[i];
        const struct engine_topology_image *img = &p->images[p->current];
        char *label = NULL;
        size_t len = 0;
        FILE *lf = open_memstream(&label, &len);
        if (lf == NULL)
            return -ENOMEM;
        fprintf(lf, "%s\n%s\nlevel: %s", p->node, p->type, img->level);
        for (size_t m = 0; m < img->nmodules; m++)
            fprintf(lf, "%s%s", m ? ", " : "\n", img->modules[m].name);
        if (img->pdp != ENGINE_PDP_NONE)
            fprintf(lf, "\npdp: %s, policy %s", engine_pdp_name(img->pdp), img->policy);
        if (img->rate_rps > 0)
            fprintf(lf, "\nrate limit: %lld/s", img->rate_rps);
        if (fclose(lf) != 0) {
            free(label);
            return -ENOMEM;
        }
        fputs("  ", f);
        topo_dot_str(f, p->node);
        fputs(" [label=", f);
        topo_dot_str(f, label);
        fputs("];\n", f);
        free(label);
    }
    for (size_t i = 0; i < e->t->nnodes; i++)
        for (size_t r = 0; r < e->t->nodes[i].nreqs; r++) {
            if (e->t->nodes[i].reqs[r].abstract)
                continue; /* no node to draw an edge to */
            fputs("  ", f);
            topo_dot_str(f, e->t->nodes[i].name);
            fputs(" -> ", f);
            topo_dot_str(f, e->t->nodes[i].reqs[r].node);
            fputs(" [label=", f);
            topo_dot_str(f, e->t->nodes[i].reqs[r].name);
            fputs("];\n", f);
        }
    for (size_t g = 0; g < e->t->ngroups; g++) {
        fprintf(f, "  subgraph cluster_%zu {\n    label=", g);
        topo_dot_str(f, e->t->groups[g].name);
        fputs(";\n", f);
        for (size_t m = 0; m < e->t->groups[g].nmembers; m++) {
            fputs("    ", f);
            topo_dot_str(f, e->t->nodes[e->t->groups[g].members[m]].name);
            fputs(";\n", f);
        }
        fputs("  }\n", f);
    }
    fputs("}\n", f);
    return 0;
}
