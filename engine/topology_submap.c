/* topology_submap.c — substitution mappings (Simple Profile 3.8.13, 2.11) against the node
 * type they stand for: a topology template that substitutes a node of type T takes T's
 * properties as its inputs (by name, or in 1.3 by a property mapping, 3.8.8) and gives T's
 * attributes from its outputs (1.3's attribute mapping), so a required property of T without
 * a default needs an input or a mapping. The mapping is recorded as written (that of an
 * import too, whose template is otherwise not read) and checked once types are resolved. */
#include "topology_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const topo_side_map[2] = {"properties", "attributes"};
static const char *const topo_side_names[2] = {"inputs", "outputs"};
static const char *const topo_side_kind[2] = {"property", "attribute"};
static const char *const topo_side_name[2] = {"input", "output"};

static int topo_scalar_is(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE;
}

/* NAME: [INPUT_OR_OUTPUT] or another form, each mapping of MAPS (a mapping) into M's SIDE. */
static int topo_submap_maps(struct topo_ld *ld, struct topo_submap *m, int side,
                            const yaml_node_t *maps)
{
    for (yaml_node_pair_t *p = maps->data.mapping.pairs.start; p < maps->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value), *in = NULL;
        struct topo_pmap *pm;
        if (!topo_scalar_is(k))
            continue;
        if ((pm = topo_push(&m->maps[side], m->nmaps[side], sizeof(*pm))) == NULL)
            return ld->oom = 1, -ENOMEM;
        m->nmaps[side]++;
        pm->pos = topo_ld_pos(ld, k);
        if ((pm->name = topo_ld_strdup(ld, (const char *)k->data.scalar.value)) == NULL)
            return -ENOMEM;
        if (v->type == YAML_SEQUENCE_NODE &&
            v->data.sequence.items.top - v->data.sequence.items.start == 1)
            in = topo_ld_node(ld, v->data.sequence.items.start[0]);
        if (topo_scalar_is(in)) {
            pm->ipos = topo_ld_pos(ld, in);
            if ((pm->input = topo_ld_strdup(ld, (const char *)in->data.scalar.value)) == NULL)
                return -ENOMEM;
        }
    }
    return 0;
}

int topo_submap_record(struct topo_ld *ld, const yaml_node_t *tt)
{
    yaml_node_t *sm, *nt, *x;
    struct topo_submap *m;

    if (tt->type != YAML_MAPPING_NODE ||
        (sm = topo_ld_get(ld, tt, "substitution_mappings")) == NULL ||
        sm->type != YAML_MAPPING_NODE || !topo_scalar_is(nt = topo_ld_get(ld, sm, "node_type")))
        return 0; /* the template's reader reports what is malformed */
    if ((m = topo_push(&ld->t->submaps, ld->t->nsubmaps, sizeof(*m))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->nsubmaps++;
    m->pos = topo_ld_pos(ld, nt);
    if ((m->type = topo_ld_strdup(ld, (const char *)nt->data.scalar.value)) == NULL)
        return -ENOMEM;
    for (int side = 0; side < 2; side++) {
        if ((x = topo_ld_get(ld, tt, topo_side_names[side])) != NULL &&
            topo_ld_keys(ld, x, &m->names[side], &m->nnames[side]) < 0)
            return -ENOMEM;
        if ((x = topo_ld_get(ld, sm, topo_side_map[side])) != NULL &&
            x->type == YAML_MAPPING_NODE && topo_submap_maps(ld, m, side, x) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int topo_submap_has(const struct topo_submap *m, int side, const char *name)
{
    for (size_t i = 0; i < m->nnames[side]; i++)
        if (strcmp(m->names[side][i], name) == 0)
            return 1;
    return 0;
}

struct topo_submap_req {
    const struct topo_submap *m;
    struct engine_diag *d;
    int bad;
};

/* A required property of the node type without a default: an input or a mapping. */
static int topo_submap_required(const struct topo_propdef *p, void *argp)
{
    struct topo_submap_req *a = argp;

    if (!p->required || p->has_default || topo_submap_has(a->m, 0, p->name))
        return 0;
    for (size_t i = 0; i < a->m->nmaps[0]; i++)
        if (strcmp(a->m->maps[0][i].name, p->name) == 0)
            return 0;
    a->bad = topo_diag_at(a->d, &a->m->pos,
                          "substitution_mappings: property %s of node type %s is required and "
                          "has no default; expected an input %s of the topology template (or, "
                          "in 1.3, a mapping of it under properties)",
                          p->name, a->m->type, p->name);
    return 0;
}

/* Each mapping of M's SIDE: NAME is the node type's, [INPUT_OR_OUTPUT] the template's. */
static int topo_submap_side(const struct engine_topology *t, struct engine_diag *d,
                            const struct topo_submap *m, int nt, int side)
{
    int bad = 0;

    for (size_t j = 0; j < m->nmaps[side]; j++) {
        const struct topo_pmap *pm = &m->maps[side][j];
        /* every property is an attribute too (3.6.12) */
        if (topo_tdef_prop(t, nt, pm->name, side) == NULL &&
            (side == 0 || topo_tdef_prop(t, nt, pm->name, 0) == NULL))
            bad = topo_diag_at(d, &pm->pos,
                               "substitution_mappings: %s: node type %s has no %s '%.64s'",
                               topo_side_map[side], m->type, topo_side_kind[side], pm->name);
        else if (pm->input != NULL && !topo_submap_has(m, side, pm->input))
            bad = topo_diag_at(d, &pm->ipos,
                               "substitution_mappings: %s %s: unknown %s '%.64s'; expected one "
                               "of the topology template's %s",
                               topo_side_kind[side], pm->name, topo_side_name[side], pm->input,
                               topo_side_names[side]);
    }
    return bad;
}

int topo_submaps_check(struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;

    for (size_t i = 0; i < t->nsubmaps; i++) {
        const struct topo_submap *m = &t->submaps[i];
        int nt = topo_tdef_find(t, TOPO_K_NODE, m->type);
        struct topo_submap_req a = {.m = m, .d = d};
        if (nt < 0)
            continue; /* reported by the template's reader */
        for (int side = 0; side < 2; side++)
            bad |= topo_submap_side(t, d, m, nt, side);
        topo_tdef_props_each(t, nt, 0, topo_submap_required, &a);
        bad |= a.bad;
    }
    return bad < 0 ? -EINVAL : 0;
}
