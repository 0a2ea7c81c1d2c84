/* csar_flatten.c — an archive's service template and the files it imports merged into one YAML
 * document, for a store, which holds one topology file (libyaml's document API and emitter). */
#include "csar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "topology_int.h"
#include "topology_yamldoc.h"

/* Nodes copied out of imported files, all files together: aliases are copied out, so a file
 * of few nodes may stand for many. */
#define FLAT_NODES_MAX 1000000

/* Top-level keys of an imported file that are not definitions to merge. */
static const char *const flat_skip[] = {
    "tosca_definitions_version",
    "description",
    "metadata",
    "imports",
    "topology_template",
    "namespace",
    "tosca_default_namespace",
    "template_name",
    "template_author",
    "template_version",
    "dsl_definitions", /* a place for anchors, which the copy has resolved */
    NULL};

struct flat {
    struct engine_csar *c;
    struct engine_diag *d;
    yaml_document_t out; /* the entry definitions, growing */
    int root;            /* its root mapping's id */
    char **seen;         /* entries merged (and the entry definitions) */
    size_t nseen;
    size_t budget; /* nodes that copies may still make */
};

/* Adds the pairs of the section KEY of SRC (mapping SEC) to the section KEY of the output,
 * which is made when it is missing. A name already there is kept (the loader, which read the
 * archive first, has refused a name defined twice). */
static int flat_section(struct flat *f, yaml_document_t *src, const char *key, yaml_node_t *sec)
{
    int dst = 0;
    yaml_node_t *have = topo_yaml_get(&f->out, yaml_document_get_node(&f->out, f->root), key, &dst);

    if (sec->type != YAML_MAPPING_NODE)
        return 0; /* empty (`node_types:`), or refused by the loader */
    if (have == NULL || have->type != YAML_MAPPING_NODE) {
        int k = yaml_document_add_scalar(&f->out, NULL, (yaml_char_t *)key, -1,
                                         YAML_PLAIN_SCALAR_STYLE);
        int v = k ? topo_yaml_copy(&f->out, src, sec, 0, &f->budget) : 0;
        if (v && have != NULL) { /* `node_types:` with nothing under it: replaced */
            yaml_node_t *root = yaml_document_get_node(&f->out, f->root);
            for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
                 p < root->data.mapping.pairs.top; p++)
                if (p->value == dst)
                    p->value = v;
            return 0;
        }
        return v && yaml_document_append_mapping_pair(&f->out, f->root, k, v) ? 0 : -ENOMEM;
    }
    for (yaml_node_pair_t *p = sec->data.mapping.pairs.start; p < sec->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(src, p->key);
        if (k->type != YAML_SCALAR_NODE ||
            topo_yaml_get(&f->out, yaml_document_get_node(&f->out, dst),
                          (const char *)k->data.scalar.value, NULL) != NULL)
            continue;
        int kc = topo_yaml_copy(&f->out, src, k, 0, &f->budget);
        int vc =
            kc ? topo_yaml_copy(&f->out, src, yaml_document_get_node(src, p->value), 0, &f->budget)
               : 0;
        if (!vc || !yaml_document_append_mapping_pair(&f->out, dst, kc, vc))
            return -ENOMEM;
    }
    return 0;
}

/* Keys whose value names a type, or a list of types, where TOSCA allows a qualified name. */
static const char *const flat_type_keys[] = {"type",
                                             "derived_from",
                                             "capability",
                                             "node",
                                             "relationship",
                                             "node_type",
                                             "entry_schema",
                                             "key_schema",
                                             "members",
                                             "targets",
                                             "valid_source_types",
                                             "valid_target_types",
                                             NULL};

/* Keys whose value is data the user wrote, never a type's name: kept as written. */
static const char *const flat_data_keys[] = {"default",     "value",       "metadata",
                                             "constraints", "description", NULL};

/* In a topology template, keys whose value holds assignments (data) rather than definitions. */
static const char *const flat_assigned_keys[] = {"properties", "attributes", "interfaces", NULL};

static int flat_in(const char *const *v, const char *s)
{
    for (size_t i = 0; v[i] != NULL; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* PREFIX:NAME in scalar N, where PREFIX is one of PFX (an import's namespace_prefix), made
 * NAME: the merged file has no imports to declare the prefix (the loader reads NAME so). */
static void flat_unqualify(yaml_node_t *n, const char *const *pfx, size_t npfx)
{
    char *s, *colon;
    size_t plen;

    if (n == NULL || n->type != YAML_SCALAR_NODE ||
        (colon = strchr(s = (char *)n->data.scalar.value, ':')) == NULL)
        return;
    plen = (size_t)(colon - s);
    for (size_t i = 0; i < npfx; i++)
        if (strlen(pfx[i]) == plen && strncmp(pfx[i], s, plen) == 0) {
            n->data.scalar.length -= plen + 1;
            memmove(s, colon + 1, n->data.scalar.length + 1);
            return;
        }
}

/* Rewrites the qualified type names under mapping N of DOC (flat_unqualify()). TEMPLATE: N is
 * in the topology_template, where a template's properties, attributes, interfaces and
 * operation inputs are assignments, skipped (in a type they are definitions, rewritten, but
 * for operation inputs). */
static void flat_walk(yaml_document_t *doc, yaml_node_t *n, const char *const *pfx, size_t npfx,
                      int template, int depth)
{
    if (n == NULL || n->type != YAML_MAPPING_NODE || depth > 64)
        return;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key),
                    *v = yaml_document_get_node(doc, p->value);
        const char *key;
        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
            continue;
        key = (const char *)k->data.scalar.value;
        if (flat_in(flat_data_keys, key) || (template && flat_in(flat_assigned_keys, key)) ||
            (strcmp(key, "inputs") == 0 && !(template && depth == 1)))
            continue;
        if (flat_in(flat_type_keys, key)) {
            flat_unqualify(v, pfx, npfx);
            for (yaml_node_item_t *i = v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start
                                                                     : NULL;
                 i != NULL && i < v->data.sequence.items.top; i++)
                flat_unqualify(yaml_document_get_node(doc, *i), pfx, npfx);
        }
        if (v->type == YAML_MAPPING_NODE)
            flat_walk(doc, v, pfx, npfx,
                      template || (depth == 0 && strcmp(key, "topology_template") == 0), depth + 1);
        for (yaml_node_item_t *i = v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start
                                                                 : NULL;
             i != NULL && i < v->data.sequence.items.top; i++)
            flat_walk(doc, yaml_document_get_node(doc, *i), pfx, npfx, template, depth + 1);
    }
}

/* The qualified type names of DOC through the namespace_prefix of its imports, unqualified. */
static void flat_unqualify_doc(yaml_document_t *doc)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    yaml_node_t *imps = root ? topo_yaml_get(doc, root, "imports", NULL) : NULL;
    const char *pfx[TOPO_PREFIX_MAX];
    size_t npfx = 0;

    for (yaml_node_item_t *i =
             imps && imps->type == YAML_SEQUENCE_NODE ? imps->data.sequence.items.start : NULL;
         i != NULL && i < imps->data.sequence.items.top && npfx < TOPO_PREFIX_MAX; i++) {
        yaml_node_t *it = yaml_document_get_node(doc, *i), *x;
        if (it != NULL && it->type == YAML_MAPPING_NODE &&
            topo_yaml_get(doc, it, "file", NULL) == NULL &&
            it->data.mapping.pairs.top - it->data.mapping.pairs.start == 1)
            it = yaml_document_get_node(doc, it->data.mapping.pairs.start->value); /* NAME: */
        if (it != NULL && it->type == YAML_MAPPING_NODE &&
            (x = topo_yaml_get(doc, it, "namespace_prefix", NULL)) != NULL &&
            x->type == YAML_SCALAR_NODE)
            pfx[npfx++] = (const char *)x->data.scalar.value;
    }
    if (npfx > 0)
        flat_walk(doc, root, pfx, npfx, 0, 0);
}

static int flat_file(struct flat *f, const char *entry, int depth);

/* The imports of ENTRY's document DOC, each merged once. */
static int flat_imports(struct flat *f, const char *entry, yaml_document_t *doc, int depth)
{
    yaml_node_t *imps = topo_yaml_get(doc, yaml_document_get_root_node(doc), "imports", NULL);
    const char *slash = strrchr(entry, '/');
    char *dir = strndup(entry, slash ? (size_t)(slash - entry) : 0);
    int r = 0;

    /* DOC may be the output, whose nodes move as it grows: the list is taken first (its items
     * are an array of their own) and nodes are found again by id */
    yaml_node_item_t *start = NULL, *top = NULL;

    if (imps != NULL && imps->type == YAML_SEQUENCE_NODE) {
        start = imps->data.sequence.items.start;
        top = imps->data.sequence.items.top;
    }
    if (dir == NULL)
        return -ENOMEM;
    for (yaml_node_item_t *i = start; r == 0 && i < top; i++) {
        yaml_node_t *it = yaml_document_get_node(doc, *i), *file = it;
        const char *why;
        char *sub = NULL;
        if (it->type == YAML_MAPPING_NODE && topo_yaml_get(doc, it, "file", NULL) == NULL &&
            it->data.mapping.pairs.top - it->data.mapping.pairs.start == 1)
            it = file = yaml_document_get_node(doc, it->data.mapping.pairs.start->value);
        if (it->type == YAML_MAPPING_NODE) /* namespace_uri and _prefix: names as read */
            file = topo_yaml_get(doc, it, "file", NULL);
        if (file == NULL || file->type != YAML_SCALAR_NODE)
            break;
        if ((r = engine_csar_resolve(dir, (const char *)file->data.scalar.value, &sub, &why)) == 0)
            r = flat_file(f, sub, depth + 1);
        free(sub);
    }
    free(dir);
    return r;
}

/* Merges the archive's file ENTRY (and what it imports) into the output. */
static int flat_file(struct flat *f, const char *entry, int depth)
{
    yaml_document_t doc;
    yaml_node_t *root;
    char *buf = NULL, **slot;
    size_t len;
    int r;

    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i], entry) == 0)
            return 0;
    if (depth > 8 || (slot = realloc(f->seen, (f->nseen + 1) * sizeof(*slot))) == NULL)
        return depth > 8 ? -EINVAL : -ENOMEM;
    f->seen = slot;
    if ((f->seen[f->nseen] = strdup(entry)) == NULL)
        return -ENOMEM;
    f->nseen++;
    if ((r = engine_csar_read(f->c, entry, &buf, &len, f->d)) < 0)
        return r == -ENOENT ? -EINVAL : r;
    r = topo_yaml_load(&doc, buf, len);
    free(buf);
    if (r < 0)
        return r;
    flat_unqualify_doc(&doc);
    root = yaml_document_get_root_node(&doc);
    r = flat_imports(f, entry, &doc, depth);
    for (yaml_node_pair_t *q =
             root && root->type == YAML_MAPPING_NODE ? root->data.mapping.pairs.start : NULL;
         r == 0 && q != NULL && q < root->data.mapping.pairs.top; q++) {
        yaml_node_t *k = yaml_document_get_node(&doc, q->key);
        size_t s;
        if (k->type != YAML_SCALAR_NODE)
            continue;
        for (s = 0; flat_skip[s] && strcmp(flat_skip[s], (char *)k->data.scalar.value); s++)
            ;
        if (flat_skip[s] == NULL)
            r = flat_section(f, &doc, (const char *)k->data.scalar.value,
                             yaml_document_get_node(&doc, q->value));
    }
    if (f->budget == 0)
        r = engine_diag_add(f->d, engine_csar_name(f->c), 0, 0,
                            "the imported definitions make more than %d YAML nodes; expected "
                            "fewer",
                            FLAT_NODES_MAX);
    yaml_document_delete(&doc);
    return r;
}

/* Entry I of the archive when it is one F did not merge into the topology, else NULL. */
static const char *flat_other_at(const struct flat *f, size_t i, uint64_t *size)
{
    const char *e = engine_csar_file_at(f->c, i, size);
    for (size_t s = 0; e != NULL && s < f->nseen; s++)
        if (strcmp(f->seen[s], e) == 0)
            return NULL; /* merged into the topology */
    return e;
}

/* The archive's files but those F merged (F->seen), into *FILES: at most ENGINE_CSAR_KEEP_MAX
 * bytes in all, which is checked on the sizes the entries declare before anything is read (a
 * read stops at that size). */
static int flat_others(struct flat *f, struct engine_csar_file **files, size_t *n)
{
    uint64_t size, total = 0;
    size_t k = 0;
    const char *e;
    int r = 0;

    *files = NULL;
    *n = 0;
    for (size_t i = 0; i < engine_csar_count(f->c); i++) {
        if ((e = flat_other_at(f, i, &size)) == NULL)
            continue;
        if ((total += size) > ENGINE_CSAR_KEEP_MAX)
            return engine_diag_add(f->d, engine_csar_name(f->c), 0, 0,
                                   "its files other than the definitions pass %u MiB at %s; a "
                                   "store keeps at most that much of an archive",
                                   ENGINE_CSAR_KEEP_MAX >> 20, e);
        k++;
    }
    if (k == 0)
        return 0; /* only definitions: no array (its first slot is not taken) */
    if ((*files = calloc(k, sizeof(**files))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; r == 0 && i < engine_csar_count(f->c); i++) {
        struct engine_csar_file *out = &(*files)[*n];
        if ((e = flat_other_at(f, i, &size)) == NULL)
            continue;
        if ((out->entry = strdup(e)) == NULL) {
            r = -ENOMEM;
        } else {
            (*n)++; /* freed with the rest from now on */
            r = engine_csar_read_max(f->c, e, ENGINE_CSAR_KEEP_MAX, 1, &out->data, &out->len, f->d);
        }
    }
    if (r < 0) {
        engine_csar_files_free(*files, *n);
        *files = NULL;
        *n = 0;
    }
    return r;
}

void engine_csar_files_free(struct engine_csar_file *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].entry);
        free(v[i].data);
    }
    free(v);
}

/* Does V, the value of `imports`, have an item? */
static int flat_has_item(const yaml_node_t *v, const void *arg)
{
    (void)arg;
    if (v->type == YAML_SEQUENCE_NODE)
        return v->data.sequence.items.top > v->data.sequence.items.start;
    return v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top > v->data.mapping.pairs.start;
}

int engine_csar_template_imports(const char *buf, size_t len)
{
    return topo_yaml_peek(buf, len, "imports", flat_has_item, NULL);
}

int engine_csar_flatten(struct engine_csar *c, char **out, size_t *len, struct engine_diag *d)
{
    return engine_csar_flatten_files(c, out, len, NULL, NULL, d);
}

int engine_csar_flatten_files(struct engine_csar *c, char **out, size_t *len,
                              struct engine_csar_file **files, size_t *nfiles,
                              struct engine_diag *d)
{
    struct flat f = {.c = c, .d = d, .budget = FLAT_NODES_MAX};
    const char *entry = engine_csar_entry(c);
    yaml_node_t *root;
    char *buf = NULL;
    size_t blen;
    int r;

    *out = NULL;
    *len = 0;
    if (files != NULL) {
        *files = NULL;
        *nfiles = 0;
    }
    if ((r = engine_csar_read(c, entry, &buf, &blen, d)) < 0)
        return r == -ENOENT ? -EINVAL : r;
    r = topo_yaml_load(&f.out, buf, blen);
    free(buf);
    if (r < 0)
        return r;
    root = yaml_document_get_root_node(&f.out);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        yaml_document_delete(&f.out);
        return -EINVAL;
    }
    f.root = (int)(root - f.out.nodes.start) + 1;
    flat_unqualify_doc(&f.out); /* before the imports' nodes join it */
    if ((f.seen = malloc(sizeof(*f.seen))) == NULL || (f.seen[0] = strdup(entry)) == NULL)
        r = -ENOMEM;
    else
        f.nseen = 1;
    if (r == 0)
        r = flat_imports(&f, entry, &f.out, 0);
    if (r == 0 && files != NULL)
        r = flat_others(&f, files, nfiles);
    for (size_t i = 0; i < f.nseen; i++)
        free(f.seen[i]);
    free(f.seen);
    if (r < 0) {
        yaml_document_delete(&f.out);
        return r;
    }
    topo_yaml_unset(&f.out, yaml_document_get_node(&f.out, f.root), "imports"); /* merged */
    if ((r = topo_yaml_emit(&f.out, out, len)) < 0 && files != NULL) {
        engine_csar_files_free(*files, *nfiles);
        *files = NULL;
        *nfiles = 0;
    }
    return r;
}
