/* topology_import.c — one import of a topology file (3.6.7): its entry's forms, the directory
 * its file resolves in, a cycle back to an importing file, a file loaded already (a diamond).
 * topology_load.c loads what these accept; the same checks serve a CSAR's imports. */
#include "topology_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The directory of PATH as a new string: "/" for a file at the root, "." when PATH names no
 * directory; NULL when memory runs out. */
char *topo_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* An import's file: FILE, {file, repository, namespace_uri, namespace_prefix} (3.6.7), or
 * 1.0's named form {NAME: FILE or the long form}. *FV gets the file's node. */
int topo_import_file(struct topo_ld *ld, yaml_node_t *item, yaml_node_t **fv)
{
    static const char *const keys[] = {"file", "repository", "namespace_uri", "namespace_prefix",
                                       NULL};
    yaml_node_t *x;

    *fv = item;
    if (item->type != YAML_MAPPING_NODE)
        return 0;
    if (topo_ld_get(ld, item, "file") == NULL &&
        item->data.mapping.pairs.top - item->data.mapping.pairs.start == 1) {
        yaml_node_t *k = topo_ld_node(ld, item->data.mapping.pairs.start->key);
        if (k->type != YAML_SCALAR_NODE || topo_ld_name(ld, k, "import name") == NULL)
            return -EINVAL;
        item = topo_ld_node(ld, item->data.mapping.pairs.start->value);
        *fv = item;
        if (item->type != YAML_MAPPING_NODE)
            return 0;
    }
    if (topo_ld_map(ld, item, "import", keys) < 0)
        return -EINVAL;
    if ((*fv = topo_ld_get(ld, item, "file")) == NULL)
        return topo_ld_err(ld, item, "import: expected a key 'file'");
    if ((x = topo_ld_get(ld, item, "repository")) != NULL) {
        const char *s = topo_ld_scalar(ld, x, "import repository");
        return s == NULL ? -EINVAL
                         : topo_ld_err(ld, x,
                                       "import from repository '%.64s': expected a local file "
                                       "(unisec does not fetch from the network)",
                                       s);
    }
    if ((x = topo_ld_get(ld, item, "namespace_uri")) != NULL &&
        !topo_ld_scalar(ld, x, "namespace_uri"))
        return -EINVAL;
    if ((x = topo_ld_get(ld, item, "namespace_prefix")) != NULL) {
        const char *s = topo_ld_scalar(ld, x, "namespace_prefix");
        if (s == NULL || topo_ld_prefix(ld, x, s) < 0)
            return -EINVAL;
    }
    return 0;
}

int topo_import_cycle(struct topo_ld *ld, const struct topo_file *f, const yaml_node_t *fv,
                      const char *rel, const char *key)
{
    for (const struct topo_file *p = f; p != NULL; p = p->up)
        if (p->key != NULL && strcmp(p->key, key) == 0 && p == f)
            return topo_ld_err(ld, fv,
                               "import '%.64s': the file imports itself; expected imports "
                               "that form no cycle",
                               rel);
        else if (p->key != NULL && strcmp(p->key, key) == 0)
            return topo_ld_err(ld, fv,
                               "import '%.64s': a cycle of imports back to %s, which imports "
                               "this file; expected imports that form no cycle",
                               rel, p->name);
    return 0;
}

int topo_file_seen(const struct topo_file *f, const char *key)
{
    char **slot;

    for (size_t i = 0; i < *f->nseen; i++)
        if (strcmp((*f->seen)[i], key) == 0)
            return 1; /* its definitions are in already */
    if ((slot = topo_push(f->seen, *f->nseen, sizeof(*slot))) == NULL ||
        (*slot = strdup(key)) == NULL)
        return -ENOMEM;
    (*f->nseen)++;
    return 0;
}
