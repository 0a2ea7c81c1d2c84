/* topology_nodeinfo.c — what the model says of a node beyond unisec's own fields: whether
 * unisec runs it, and its node template as written (for the nodes it keeps and does not run). */
#include "topology_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A node template is at most this many YAML nodes once its aliases are copied out. */
#define TOPO_TEMPLATE_NODES_MAX 100000

int engine_topology_node_runs(const struct engine_topology_node *n)
{
    /* every public node is the first field of its topo_node */
    return ((const struct topo_node *)(const void *)n)->runs;
}

int engine_topology_node_template(char **out, size_t *len, const char *buf, size_t blen,
                                  const char *node)
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
    r = topo_yaml_copy(&dst, &src, n, 0, &budget) ? 0 : -ENOMEM;
    yaml_document_delete(&src);
    if (r < 0) {
        yaml_document_delete(&dst);
        return r;
    }
    return topo_yaml_emit(&dst, out, len);
}
