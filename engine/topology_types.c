/* topology_types.c — node types: derived_from chains, what realises a type, its properties. */
#include "topology_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The normative node types a topology may derive from or use (TOSCA Simple Profile 5.9). */
static const struct {
    const char *name, *parent;
} topo_normative[] = {
    {"tosca.nodes.Root", NULL},
    {"tosca.nodes.Compute", "tosca.nodes.Root"},
    {"tosca.nodes.SoftwareComponent", "tosca.nodes.Root"},
    {"tosca.nodes.WebServer", "tosca.nodes.SoftwareComponent"},
    {"tosca.nodes.WebApplication", "tosca.nodes.Root"},
    {"tosca.nodes.DBMS", "tosca.nodes.SoftwareComponent"},
    {"tosca.nodes.Database", "tosca.nodes.Root"},
    {"tosca.nodes.LoadBalancer", "tosca.nodes.Root"},
    {"tosca.nodes.Abstract.Compute", "tosca.nodes.Root"},
    {"tosca.nodes.Abstract.Storage", "tosca.nodes.Root"},
    {"tosca.nodes.Storage.ObjectStorage", "tosca.nodes.Abstract.Storage"},
    {"tosca.nodes.Storage.BlockStorage", "tosca.nodes.Abstract.Storage"},
    {"tosca.nodes.BlockStorage", "tosca.nodes.Root"},
    {"tosca.nodes.ObjectStorage", "tosca.nodes.Root"},
    {"tosca.nodes.Container.Runtime", "tosca.nodes.SoftwareComponent"},
    {"tosca.nodes.Container.Application", "tosca.nodes.Root"},
    {"tosca.nodes.Container.Application.Docker", "tosca.nodes.Container.Application"},
    {"tosca.nodes.network.Network", "tosca.nodes.Root"},
    {"tosca.nodes.network.Port", "tosca.nodes.Root"},
    {"tosca.nodes.network.FloatingIP", "tosca.nodes.Root"},
};

#define TOPO_NNORMATIVE (sizeof(topo_normative) / sizeof(topo_normative[0]))

/* Types realised by a built-in module list when no unikernel_modules entry says otherwise. */
static const struct {
    const char *normative;
    const char *modules[3];
} topo_builtin_realisers[] = {
    {"tosca.nodes.LoadBalancer", {"log", "lb_proxy", NULL}},
};

/* The normative node type NAME, also by its short name (`Compute`, `tosca:Compute`). */
static int topo_normative_find(const char *name)
{
    if (strncmp(name, "tosca:", 6) == 0)
        name += 6;
    for (size_t i = 0; i < TOPO_NNORMATIVE; i++)
        if (strcmp(topo_normative[i].name, name) == 0 ||
            (strchr(name, '.') == NULL && strcmp(topo_normative[i].name + 12, name) == 0))
            return (int)i;
    return -1;
}

static int topo_normative_is_a(const char *name, const char *ancestor)
{
    for (int i = topo_normative_find(name); i >= 0;
         i = topo_normative[i].parent ? topo_normative_find(topo_normative[i].parent) : -1)
        if (strcmp(topo_normative[i].name, ancestor) == 0)
            return 1;
    return 0;
}

/* The built-in realiser of normative type NAME, or -1. */
static int topo_builtin_for(const char *name)
{
    for (size_t b = 0; b < sizeof(topo_builtin_realisers) / sizeof(topo_builtin_realisers[0]); b++)
        if (topo_normative_is_a(name, topo_builtin_realisers[b].normative))
            return (int)b;
    return -1;
}

int topo_type_is_a(const struct engine_topology *t, const struct topo_type *ty,
                   const char *ancestor)
{
    for (const struct topo_type *x = ty; x != NULL; x = x->parent >= 0 ? &t->types[x->parent] : 0)
        if (strcmp(x->name, ancestor) == 0)
            return 1;
    return topo_normative_is_a(ty->normative, ancestor);
}

/* TY's image modules: its own unikernel modules, else its parent's, else a built-in list. */
static int topo_type_mods(struct engine_topology *t, struct topo_type *ty, struct engine_diag *d)
{
    size_t n = 0;

    if (ty->numods > 0) {
        if ((ty->mods = calloc(ty->numods, sizeof(*ty->mods))) == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < ty->numods; i++)
            ty->mods[i] = ty->umods[i].module;
        ty->nmods = ty->numods;
        ty->builtin = -1;
        return 0;
    }
    if (ty->parent >= 0) {
        const struct topo_type *p = &t->types[ty->parent];
        if (p->nmods == 0)
            return 0;
        if ((ty->mods = calloc(p->nmods, sizeof(*ty->mods))) == NULL)
            return -ENOMEM;
        memcpy(ty->mods, p->mods, p->nmods * sizeof(*ty->mods));
        ty->nmods = p->nmods;
        return 0;
    }
    if (ty->builtin < 0)
        return 0;
    if ((ty->mods = calloc(8, sizeof(*ty->mods))) == NULL)
        return -ENOMEM;
    for (const char *const *m = topo_builtin_realisers[ty->builtin].modules; *m; m++) {
        int i = topo_module_find(t, *m);
        if (i < 0)
            return topo_diag_at(d, ty->declared ? &ty->pos : &ty->upos,
                                "type %s is realised by module %s, which the module catalogue "
                                "lacks",
                                ty->name, *m);
        ty->mods[n++] = (size_t)i;
    }
    ty->nmods = n;
    return 0;
}

/* Adds DEF (with default DEFLT) to TY's effective properties; a property that is already there
 * is replaced when its type is the same, an error otherwise. */
static int topo_eprop_add(struct topo_type *ty, const struct topo_propdef *def, const char *deflt,
                          struct engine_diag *d)
{
    struct topo_eprop *e;

    for (size_t i = 0; i < ty->neprops; i++) {
        if (strcmp(ty->eprops[i].def->name, def->name) != 0)
            continue;
        if (ty->eprops[i].def->type != def->type)
            return topo_diag_at(d, &def->pos,
                                "type %s: property '%s' is %s here and %s at %s:%d:%d; expected "
                                "one type",
                                ty->name, def->name, engine_topology_type_name(def->type),
                                engine_topology_type_name(ty->eprops[i].def->type),
                                ty->eprops[i].def->pos.file, ty->eprops[i].def->pos.line,
                                ty->eprops[i].def->pos.col);
        ty->eprops[i].def = def;
        ty->eprops[i].deflt = deflt;
        return 0;
    }
    if ((e = topo_push(&ty->eprops, ty->neprops, sizeof(*e))) == NULL)
        return -ENOMEM;
    ty->neprops++;
    e->def = def;
    e->deflt = deflt;
    return 0;
}

/* Module properties of TY's own unikernel modules, with the topology's defaults over the
 * manifest's. */
static int topo_eprops_modules(struct engine_topology *t, struct topo_type *ty,
                               struct engine_diag *d)
{
    int bad = 0, r;

    for (size_t i = 0; i < ty->numods; i++) {
        const struct topo_umod *u = &ty->umods[i];
        const struct topo_module *m = &t->mods[u->module];
        for (size_t j = 0; j < m->nprops; j++) {
            const char *deflt = m->props[j].def;
            for (size_t k = 0; k < u->nprops; k++)
                if (strcmp(u->props[k].name, m->props[j].name) == 0 && u->props[k].def)
                    deflt = u->props[k].def;
            if ((r = topo_eprop_add(ty, &m->props[j], deflt, d)) == -ENOMEM)
                return r;
            bad |= r;
        }
    }
    return bad;
}

static int topo_eprops_builtin(struct engine_topology *t, struct topo_type *ty,
                               struct engine_diag *d)
{
    int bad = 0, r;

    for (size_t i = 0; i < ty->nmods; i++)
        for (size_t j = 0; j < t->mods[ty->mods[i]].nprops; j++) {
            const struct topo_propdef *p = &t->mods[ty->mods[i]].props[j];
            if ((r = topo_eprop_add(ty, p, p->def, d)) == -ENOMEM)
                return r;
            bad |= r;
        }
    return bad;
}

static int topo_eprop_cmp(const void *a, const void *b)
{
    return strcmp(((const struct topo_eprop *)a)->def->name,
                  ((const struct topo_eprop *)b)->def->name);
}

static int topo_type_resolve(struct engine_topology *t, size_t idx, struct engine_diag *d);

/* derived_from: a defined type (resolved first) or a normative one. */
static int topo_type_parent(struct engine_topology *t, struct topo_type *ty, struct engine_diag *d)
{
    const char *from = ty->derived_from ? ty->derived_from : "tosca.nodes.Root";
    const struct topo_pos *pos = ty->declared ? &ty->pos : &ty->upos;
    int p = topo_type_find(t, from), n, r;

    if (p >= 0 && !t->types[p].synthetic) {
        if (t->types[p].resolving)
            return topo_diag_at(d, pos, "type %s: derived_from forms a cycle through %s", ty->name,
                                from);
        if ((r = topo_type_resolve(t, (size_t)p, d)) < 0)
            return r;
        ty->parent = p;
        ty->normative = t->types[p].normative;
        ty->builtin = t->types[p].builtin;
        return 0;
    }
    if ((n = topo_normative_find(from)) < 0) {
        return topo_diag_at(d, pos,
                            "type %s: derived_from '%s' is neither a type of this topology nor "
                            "a normative TOSCA node type (tosca.nodes.Root, "
                            "tosca.nodes.SoftwareComponent, tosca.nodes.WebServer, "
                            "tosca.nodes.LoadBalancer, ...)",
                            ty->name, from);
    }
    ty->normative = topo_normative[n].name;
    ty->builtin = topo_builtin_for(ty->normative);
    return 0;
}

static int topo_type_resolve(struct engine_topology *t, size_t idx, struct engine_diag *d)
{
    struct topo_type *ty = &t->types[idx];
    int r, bad = 0;

    if (ty->resolved)
        return 0;
    ty->resolving = 1;
    r = topo_type_parent(t, ty, d);
    ty->resolving = 0;
    ty->resolved = 1;
    if (r < 0 || (r = topo_type_mods(t, ty, d)) < 0)
        return r;
    if (ty->parent >= 0) {
        const struct topo_type *p = &t->types[ty->parent];
        for (size_t i = 0; i < p->neprops; i++)
            if ((r = topo_eprop_add(ty, p->eprops[i].def, p->eprops[i].deflt, d)) == -ENOMEM)
                return r;
    } else if ((r = topo_eprops_builtin(t, ty, d)) < 0) {
        return r;
    }
    if (ty->numods > 0) {
        if ((r = topo_eprops_modules(t, ty, d)) == -ENOMEM)
            return r;
        bad |= r;
    }
    for (size_t i = 0; i < ty->nprops; i++) {
        if (!ty->props[i].scalar)
            continue; /* a TOSCA value, not one a node changes at run time */
        if ((r = topo_eprop_add(ty, &ty->props[i], ty->props[i].def, d)) == -ENOMEM)
            return r;
        bad |= r;
    }
    if (ty->neprops > 1)
        qsort(ty->eprops, ty->neprops, sizeof(*ty->eprops), topo_eprop_cmp);
    return bad;
}

int topo_types_resolve(struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;

    for (size_t i = 0; i < t->ntypes; i++) {
        int r = topo_type_resolve(t, i, d);
        if (r == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad;
}

int topo_type_use(struct engine_topology *t, const char *name, struct engine_diag *d)
{
    struct topo_type *ty;
    int i = topo_type_find(t, name), n, r;

    if (i >= 0)
        return i;
    if ((n = topo_normative_find(name)) < 0)
        return -1;
    if ((ty = topo_push(&t->types, t->ntypes, sizeof(*ty))) == NULL)
        return -ENOMEM;
    if ((ty->name = strdup(name)) == NULL)
        return -ENOMEM;
    t->ntypes++;
    ty->synthetic = 1;
    ty->parent = -1;
    ty->builtin = -1;
    ty->normative = topo_normative[n].name;
    ty->builtin = topo_builtin_for(ty->normative);
    ty->resolved = 1;
    if ((r = topo_type_mods(t, ty, d)) < 0 || (r = topo_eprops_builtin(t, ty, d)) < 0)
        return r;
    if (ty->neprops > 1)
        qsort(ty->eprops, ty->neprops, sizeof(*ty->eprops), topo_eprop_cmp);
    return (int)(t->ntypes - 1);
}
