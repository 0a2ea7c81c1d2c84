/* topology_util.c — the model's lookups, accessors and destructor. */
#include "topology_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const topo_target_names[] = {"hvt", "spt"};

const char *engine_target_name(enum engine_target t)
{
    return (unsigned)t < 2 ? topo_target_names[t] : "?";
}

int engine_target_parse(enum engine_target *out, const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, topo_target_names[i]) == 0) {
            *out = (enum engine_target)i;
            return 0;
        }
    return -EINVAL;
}

void *topo_push(void *vp, size_t n, size_t size)
{
    void **v = vp;
    char *p;

    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 1;
        if ((p = realloc(*v, cap * size)) == NULL)
            return NULL;
        *v = p;
    }
    p = (char *)*v + n * size;
    memset(p, 0, size);
    return p;
}

const char *topo_file_intern(struct engine_topology *t, const char *file)
{
    char **slot;

    for (size_t i = 0; i < t->nfiles; i++)
        if (strcmp(t->files[i], file) == 0)
            return t->files[i];
    if ((slot = topo_push(&t->files, t->nfiles, sizeof(*slot))) == NULL)
        return NULL;
    if ((*slot = strdup(file)) == NULL)
        return NULL;
    t->nfiles++;
    return *slot;
}

void topo_cons_free(struct topo_cons *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < c[i].nargs; j++)
            free(c[i].args[j]);
        free(c[i].args);
    }
    free(c);
}

void topo_propdef_clear(struct topo_propdef *p)
{
    free(p->name);
    free(p->def);
    free(p->ttype);
    free(p->entry);
    topo_cons_free(p->cons, p->ncons);
    memset(p, 0, sizeof(*p));
}

void topo_propdefs_free(struct topo_propdef *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        topo_propdef_clear(&v[i]);
    free(v);
}

static void topo_strs_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void topo_caps_free(struct topo_cap *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].type);
        topo_strs_free(v[i].vst, v[i].nvst);
    }
    free(v);
}

/* The N strings of V (an array of the model's, not allocated itself). */
static void topo_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

static void topo_tdef_free(struct topo_tdef *d)
{
    if (d->borrowed)
        return;
    free(d->name);
    free(d->derived_from);
    topo_propdefs_free(d->props, d->nprops);
    topo_propdefs_free(d->attrs, d->nattrs);
    topo_caps_free(d->caps, d->ncaps);
    topo_caps_free(d->ifaces, d->nifaces);
    for (size_t i = 0; i < d->nreqs; i++) {
        free(d->reqs[i].name);
        free(d->reqs[i].capability);
        free(d->reqs[i].node);
        free(d->reqs[i].relationship);
    }
    free(d->reqs);
    topo_strs_free(d->ops, d->nops);
    topo_strs_free(d->arts, d->narts);
    topo_strs_free(d->vst, d->nvst);
    topo_cons_free(d->cons, d->ncons);
    topo_strv_free(d->carry, TOPO_C_N);
}

static void topo_submaps_free(struct engine_topology *t)
{
    for (size_t i = 0; i < t->nsubmaps; i++) {
        struct topo_submap *m = &t->submaps[i];
        free(m->type);
        for (int side = 0; side < 2; side++) {
            topo_strs_free(m->names[side], m->nnames[side]);
            for (size_t j = 0; j < m->nmaps[side]; j++) {
                free(m->maps[side][j].name);
                free(m->maps[side][j].input);
            }
            free(m->maps[side]);
        }
    }
    free(t->submaps);
}

/* What the TOSCA reader adds to the model: types of every kind, inputs, references. */
static void topo_tosca_free(struct engine_topology *t)
{
    for (size_t i = 0; i < t->ntdefs; i++)
        topo_tdef_free(&t->tdefs[i]);
    free(t->tdefs);
    for (size_t i = 0; i < t->ninputs; i++) {
        topo_propdef_clear(&t->inputs[i].def);
        free(t->inputs[i].value);
        free(t->inputs[i].shown);
        free(t->inputs[i].carry);
    }
    free(t->inputs);
    topo_strs_free(t->rtemplates, t->nrtemplates);
    free(t->rttypes);
    for (size_t i = 0; i < t->nrefs; i++) {
        free(t->refs[i].name);
        topo_strs_free(t->refs[i].path, t->refs[i].npath);
        free(t->refs[i].ppos);
    }
    free(t->refs);
    topo_submaps_free(t);
    topo_strv_free(t->carry_tt, TOPO_T_N);
    free(t->carry_top);
}

void topo_params_free(struct topo_param *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

#define TOPO_FIND(arr, count, field)                                                               \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (count); i_++)                                                    \
            if ((arr)[i_].field != NULL && strcmp((arr)[i_].field, name) == 0)                     \
                return (int)i_;                                                                    \
        return -1;                                                                                 \
    } while (0)

int topo_module_find(const struct engine_topology *t, const char *name)
{
    TOPO_FIND(t->mods, t->nmods, name);
}

int topo_type_find(const struct engine_topology *t, const char *name)
{
    TOPO_FIND(t->types, t->ntypes, name);
}

int topo_sf_find(const struct engine_topology *t, const char *name)
{
    TOPO_FIND(t->sfs, t->nsfs, name);
}

int topo_node_find(const struct engine_topology *t, const char *name)
{
    return engine_name_index_find(t->node_index, t->nodes, t->nnodes, sizeof(*t->nodes),
                                  offsetof(struct topo_node, name), name);
}

const struct topo_eprop *topo_eprop_find(const struct topo_type *ty, const char *name)
{
    for (size_t i = 0; i < ty->neprops; i++)
        if (strcmp(ty->eprops[i].def->name, name) == 0)
            return &ty->eprops[i];
    return NULL;
}

static void topo_module_free(struct topo_module *m)
{
    free(m->name);
    free(m->description);
    topo_propdefs_free(m->props, m->nprops);
    for (size_t i = 0; i < m->ncaps; i++) {
        free(m->caps[i].name);
        free(m->caps[i].type);
    }
    free(m->caps);
    for (size_t i = 0; i < m->nreqs; i++) {
        free(m->reqs[i].name);
        free(m->reqs[i].type);
        free(m->reqs[i].when_prop);
        free(m->reqs[i].when_value);
    }
    free(m->reqs);
}

static void topo_type_free(struct topo_type *ty)
{
    free(ty->name);
    free(ty->derived_from);
    free(ty->description);
    topo_propdefs_free(ty->props, ty->nprops);
    for (size_t i = 0; i < ty->numods; i++)
        topo_propdefs_free(ty->umods[i].props, ty->umods[i].nprops);
    free(ty->umods);
    free(ty->eprops);
    free(ty->mods);
}

static void topo_node_free(struct topo_node *n)
{
    free(n->name);
    free(n->address);
    topo_strv_free(n->carry, TOPO_C_N);
    for (size_t i = 0; i < n->pub.nlevels; i++)
        free(n->levels[i]);
    free(n->levels);
    for (size_t i = 0; i < n->pub.nprops; i++) {
        free((char *)n->props[i].value);
        free((char *)n->props[i].secret);
    }
    free(n->props);
    free(n->fnset);
    topo_strs_free(n->arts, n->narts);
    for (size_t i = 0; i < n->nmls; i++) {
        free(n->mls[i].prop);
        for (size_t j = 0; j < n->mls[i].nlevels; j++) {
            free(n->mls[i].levels[j].name);
            free(n->mls[i].levels[j].sfs);
        }
        free(n->mls[i].levels);
    }
    free(n->mls);
    for (size_t i = 0; i < n->nreqs; i++) {
        free(n->reqs[i].name);
        free(n->reqs[i].node);
        free(n->reqs[i].relationship);
    }
    free(n->reqs);
}

void engine_topology_free(struct engine_topology *t)
{
    if (t == NULL)
        return;
    free(t->version);
    free(t->description);
    for (size_t i = 0; i < t->nmods; i++)
        topo_module_free(&t->mods[i]);
    free(t->mods);
    for (size_t i = 0; i < t->ntypes; i++)
        topo_type_free(&t->types[i]);
    free(t->types);
    for (size_t i = 0; i < t->nsfs; i++) {
        free(t->sfs[i].name);
        topo_params_free(t->sfs[i].params, t->sfs[i].nparams);
    }
    free(t->sfs);
    for (size_t i = 0; i < t->nnodes; i++)
        topo_node_free(&t->nodes[i]);
    free(t->nodes);
    free(t->node_index);
    for (size_t i = 0; i < t->ngroups; i++) {
        free(t->groups[i].name);
        free(t->groups[i].type);
        free(t->groups[i].description);
        free(t->groups[i].carry);
        free(t->groups[i].members);
    }
    free(t->groups);
    topo_tosca_free(t);
    for (size_t i = 0; i < t->nfiles; i++)
        free(t->files[i]);
    free(t->files);
    free(t);
}

const char *engine_topology_version(const struct engine_topology *t)
{
    return t->version;
}

size_t engine_topology_node_count(const struct engine_topology *t)
{
    return t->nnodes;
}

const struct engine_topology_node *engine_topology_node_at(const struct engine_topology *t,
                                                           size_t i)
{
    return i < t->nnodes ? &t->nodes[i].pub : NULL;
}

const struct engine_topology_node *engine_topology_node_find(const struct engine_topology *t,
                                                             const char *name)
{
    int i = topo_node_find(t, name);
    return i < 0 ? NULL : &t->nodes[i].pub;
}

int engine_topology_node_level_index(const struct engine_topology_node *n, const char *level)
{
    for (size_t i = 0; i < n->nlevels; i++)
        if (strcmp(n->levels[i], level) == 0)
            return (int)i;
    return -ENOENT;
}

const struct engine_topology_prop *engine_topology_node_prop(const struct engine_topology_node *n,
                                                             const char *name)
{
    for (size_t i = 0; i < n->nprops; i++)
        if (strcmp(n->props[i].name, name) == 0)
            return &n->props[i];
    return NULL;
}

void topo_join(char *buf, size_t size, size_t n, const char *(*name_at)(const void *arg, size_t i),
               const void *arg, const char *last)
{
    size_t off = 0;

    buf[0] = 0;
    for (size_t i = 0; i < n && off < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? last : ", ";
        int w = snprintf(buf + off, size - off, "%s%s", sep, name_at(arg, i));
        if (w < 0)
            return;
        off += (size_t)w;
    }
}
