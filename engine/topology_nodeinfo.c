/* topology_nodeinfo.c — what the model says of a node beyond unisec's own fields: whether
 * unisec runs it and its node template as written (for the nodes it keeps and does not run). */
#include "topology_int.h"
#include "topology_yamldoc.h"

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
 * reads back as one); a secret input's stays the function. */
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
        if (in->def.name == NULL || in->value == NULL || in->secret ||
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
