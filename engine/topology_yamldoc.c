/* topology_yamldoc.c — YAML documents built and written back (libyaml's document API and
 * emitter): what a store's one-file topology and its inputs.yaml are made with. */
#include "topology_yamldoc.h"

#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int topo_yaml_copy(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n, int depth,
                   size_t *budget)
{
    return topo_yaml_copy_with(dst, src, n, depth, budget, NULL, NULL);
}

int topo_yaml_copy_with(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n, int depth,
                        size_t *budget, topo_yaml_subst_fn subst, void *arg)
{
    int id;

    if (*budget == 0 || depth > TOPO_DEPTH_MAX)
        return 0;
    (*budget)--;
    if (subst != NULL && (id = subst(dst, src, n, arg)) != 0)
        return id;
    if (n->type == YAML_SCALAR_NODE)
        return yaml_document_add_scalar(dst, n->tag, n->data.scalar.value,
                                        (int)n->data.scalar.length, n->data.scalar.style);
    if (n->type == YAML_SEQUENCE_NODE) {
        if (!(id = yaml_document_add_sequence(dst, n->tag, n->data.sequence.style)))
            return 0;
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++) {
            int c = topo_yaml_copy_with(dst, src, yaml_document_get_node(src, *i), depth + 1,
                                        budget, subst, arg);
            if (!c || !yaml_document_append_sequence_item(dst, id, c))
                return 0;
        }
        return id;
    }
    if (!(id = yaml_document_add_mapping(dst, n->tag, n->data.mapping.style)))
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        int k = topo_yaml_copy_with(dst, src, yaml_document_get_node(src, p->key), depth + 1,
                                    budget, subst, arg);
        int v = k ? topo_yaml_copy_with(dst, src, yaml_document_get_node(src, p->value), depth + 1,
                                        budget, subst, arg)
                  : 0;
        if (!v || !yaml_document_append_mapping_pair(dst, id, k, v))
            return 0;
    }
    return id;
}

yaml_node_t *topo_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key, int *id)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0) {
            if (id != NULL)
                *id = p->value;
            return yaml_document_get_node(doc, p->value);
        }
    }
    return NULL;
}

void topo_yaml_unset(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
         q++) {
        yaml_node_t *k = yaml_document_get_node(doc, q->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0) {
            /* the value stays in the document, unreachable: the emitter does not write it */
            memmove(q, q + 1, (size_t)(map->data.mapping.pairs.top - q - 1) * sizeof(*q));
            map->data.mapping.pairs.top--;
            return;
        }
    }
}

int topo_yaml_load(yaml_document_t *doc, const char *buf, size_t len)
{
    yaml_parser_t p;
    int ok;

    if (!yaml_parser_initialize(&p))
        return -ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    ok = yaml_parser_load(&p, doc);
    yaml_parser_delete(&p);
    return ok ? 0 : -EINVAL;
}

int topo_yaml_peek(const char *buf, size_t len, const char *key,
                   int (*test)(const yaml_node_t *v, const void *arg), const void *arg)
{
    yaml_document_t doc;
    const yaml_node_t *v;
    int r = topo_yaml_load(&doc, buf, len);

    if (r < 0)
        return r == -ENOMEM ? r : 0;
    v = topo_yaml_get(&doc, yaml_document_get_root_node(&doc), key, NULL);
    r = v != NULL && test(v, arg);
    yaml_document_delete(&doc);
    return r;
}

static int topo_yaml_write(void *data, unsigned char *buf, size_t size)
{
    return fwrite(buf, 1, size, data) == size;
}

int topo_yaml_emit(yaml_document_t *doc, char **out, size_t *len)
{
    return topo_yaml_emit_width(doc, out, len, 100);
}

int topo_yaml_emit_width(yaml_document_t *doc, char **out, size_t *len, int width)
{
    yaml_emitter_t e;
    FILE *mem;
    int r;

    *out = NULL;
    *len = 0;
    if ((mem = open_memstream(out, len)) == NULL) {
        yaml_document_delete(doc);
        return -ENOMEM;
    }
    if (!yaml_emitter_initialize(&e)) {
        yaml_document_delete(doc);
        fclose(mem);
        free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    yaml_emitter_set_output(&e, topo_yaml_write, mem);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, width);
    /* yaml_emitter_dump() frees the document, whether it succeeds or not */
    r = yaml_emitter_open(&e) && yaml_emitter_dump(&e, doc) && yaml_emitter_close(&e) &&
                yaml_emitter_flush(&e)
            ? 0
            : -ENOMEM;
    yaml_emitter_delete(&e);
    if (fclose(mem) != 0)
        r = -ENOMEM;
    if (r < 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return r;
}
