/* topology_nodeinfo.c — what the model says of a node beyond unisec's own fields: whether
 * unisec runs it, its node template as written (for the nodes it keeps and does not run), and
 * what of its TOSCA the translation carries. */
#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node template is at most this many YAML nodes once its aliases are copied out. */
#define TOPO_TEMPLATE_NODES_MAX 100000

int engine_topology_node_runs(const struct engine_topology_node *n)
{
    /* every public node is the first field of its topo_node */
    return ((const struct topo_node *)(const void *)n)->runs;
}

/* {get_input: NAME} of an input with a value in force: that value (a string quoted, so that it
 * reads back as one). */
static int topo_template_subst(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n,
                               void *arg)
{
    const struct engine_topology *t = arg;
    yaml_node_t *k, *v;

    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return 0;
    k = yaml_document_get_node(src, n->data.mapping.pairs.start->key);
    v = yaml_document_get_node(src, n->data.mapping.pairs.start->value);
    if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE ||
        strcmp((const char *)k->data.scalar.value, "get_input") != 0)
        return 0;
    for (size_t i = 0; i < t->ninputs; i++) {
        const struct topo_input *in = &t->inputs[i];
        if (in->def.name == NULL || in->value == NULL ||
            strcmp(in->def.name, (const char *)v->data.scalar.value) != 0)
            continue;
        return yaml_document_add_scalar(dst, NULL, (yaml_char_t *)in->value, -1,
                                        in->def.type == ENGINE_TOPOLOGY_STRING
                                            ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                            : YAML_PLAIN_SCALAR_STYLE);
    }
    return 0;
}

int engine_topology_node_template(char **out, size_t *len, const char *buf, size_t blen,
                                  const char *node, const struct engine_topology *t)
{
    yaml_document_t src, dst;
    yaml_node_t *n;
    size_t budget = TOPO_TEMPLATE_NODES_MAX;
    int r;

    *out = NULL;
    *len = 0;
    if ((r = topo_yaml_load(&src, buf, blen)) < 0)
        return r;
    n = topo_yaml_get(&src, yaml_document_get_root_node(&src), "topology_template", NULL);
    n = topo_yaml_get(&src, n, "node_templates", NULL);
    if ((n = topo_yaml_get(&src, n, node, NULL)) == NULL) {
        yaml_document_delete(&src);
        return -ENOENT;
    }
    if (!yaml_document_initialize(&dst, NULL, NULL, NULL, 1, 1)) {
        yaml_document_delete(&src);
        return -ENOMEM;
    }
    r = topo_yaml_copy_with(&dst, &src, n, 0, &budget, t ? topo_template_subst : NULL, (void *)t)
            ? 0
            : -ENOMEM;
    yaml_document_delete(&src);
    if (r < 0) {
        yaml_document_delete(&dst);
        return r;
    }
    return topo_yaml_emit(&dst, out, len);
}

/* The intrinsic functions: a value holding one that is left is not carried. */
static const char *const topo_carry_fns[] = {"get_input",     "get_property",
                                             "get_attribute", "get_operation_output",
                                             "get_artifact",  "get_nodes_of_type",
                                             "concat",        "join",
                                             "token",         NULL};

struct topo_carry {
    const struct engine_topology *t;
    int fn; /* a function is left in the value */
};

static int topo_carry_subst(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n, void *arg)
{
    struct topo_carry *c = arg;
    int id = topo_template_subst(dst, src, n, (void *)c->t);
    yaml_node_t *k;

    if (id != 0 || n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return id;
    k = yaml_document_get_node(src, n->data.mapping.pairs.start->key);
    for (size_t i = 0; k->type == YAML_SCALAR_NODE && topo_carry_fns[i] != NULL; i++)
        if (strcmp((const char *)k->data.scalar.value, topo_carry_fns[i]) == 0)
            c->fn = 1;
    return 0;
}

/* Is NAME a property (CAPS: a capability) that a normative type in N's line defines? */
static int topo_carry_normative(const struct engine_topology *t, const struct topo_node *n,
                                const char *name, int caps)
{
    for (int j = n->tdef, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        const struct topo_tdef *d = &t->tdefs[j];
        for (size_t k = 0; k < (caps ? d->ncaps : d->nprops); k++)
            if (strcmp(caps ? d->caps[k].name : d->props[k].name, name) == 0)
                return d->borrowed; /* the nearest definition decides */
    }
    return 0;
}

/* The lines of mapping M's entries that D_TOSCA carries into *OUT (NULL when none). */
static int topo_carry_map(struct topo_ld *ld, const struct topo_node *n, yaml_node_t *m, int caps,
                          char **out)
{
    size_t len = 0;
    FILE *f;
    int r = 0;

    *out = NULL;
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return 0;
    if ((f = open_memstream(out, &len)) == NULL)
        return -ENOMEM;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; r == 0 && p < m->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        const char *name = (const char *)k->data.scalar.value;
        struct topo_carry c = {.t = ld->t};
        char *line = NULL;
        size_t ll;
        if (k->type != YAML_SCALAR_NODE || !topo_carry_normative(ld->t, n, name, caps) ||
            (!caps && engine_topology_node_prop(&n->pub, name) != NULL))
            continue; /* not inherited by D_TOSCA's type, or one of unisec's own */
        r = topo_yaml_line_with(ld->doc, topo_ld_node(ld, p->value), topo_carry_subst, &c, &line,
                                &ll);
        if (r == 0 && !c.fn)
            fprintf(f, "%s: %s", name, line);
        free(line);
        r = r == -E2BIG ? 0 : r; /* too large to carry */
    }
    if (fclose(f) != 0 && r == 0)
        r = -ENOMEM;
    if (r < 0 || len == 0) {
        free(*out);
        *out = NULL;
    }
    return r;
}

int topo_node_carry(struct topo_ld *ld, struct topo_node *n, yaml_node_t *v)
{
    int r;

    if (n->tdef < 0)
        return 0;
    if ((r = topo_carry_map(ld, n, topo_ld_get(ld, v, "properties"), 0, &n->carry_props)) < 0)
        return r;
    return topo_carry_map(ld, n, topo_ld_get(ld, v, "capabilities"), 1, &n->carry_caps);
}
