/* topology_defs.c — TOSCA type definitions of every kind (Simple Profile 3.7): artifact, data,
 * capability, interface, relationship, node, group and policy types, the normative ones
 * (compiled in from tosca_normative.yaml) and the topology's, their derivation and lookups. */
#include "topology_carry.h"
#include "topology_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tosca_normative.yaml, linked in by topology_normative.S. */
extern const char topo_normative_yaml[];
extern const char topo_normative_yaml_end[];

static const char *const topo_common_keys[] = {"derived_from", "description", "version", "metadata",
                                               NULL};

static const struct {
    const char *section, *what;
    const char *const keys[12]; /* beyond topo_common_keys */
} topo_kinds[TOPO_K_COUNT] = {
    [TOPO_K_ARTIFACT] = {"artifact_types",
                         "artifact type",
                         {"mime_type", "file_ext", "properties", NULL}},
    [TOPO_K_DATA] = {"data_types",
                     "data type",
                     {"properties", "constraints", "key_schema", "entry_schema", NULL}},
    [TOPO_K_CAPABILITY] = {"capability_types",
                           "capability type",
                           {"properties", "attributes", "valid_source_types", NULL}},
    [TOPO_K_INTERFACE] = {"interface_types",
                          "interface type",
                          {"inputs", "operations", "notifications", NULL}},
    [TOPO_K_RELATIONSHIP] = {"relationship_types",
                             "relationship type",
                             {"properties", "attributes", "interfaces", "valid_target_types",
                              NULL}},
    [TOPO_K_NODE] = {"node_types",
                     "node type",
                     {"properties", "attributes", "requirements", "capabilities", "interfaces",
                      "artifacts", NULL}},
    [TOPO_K_GROUP] = {"group_types",
                      "group type",
                      {"properties", "attributes", "members", "requirements", "capabilities",
                       "interfaces", NULL}},
    [TOPO_K_POLICY] = {"policy_types", "policy type", {"properties", "targets", "triggers", NULL}},
};

const char *topo_kind_section(int kind)
{
    return kind >= 0 && kind < TOPO_K_COUNT ? topo_kinds[kind].section : NULL;
}

/* ---- reading a definition ---- */

/* A list of names; kept in *V (when V) once all are names. */
static int topo_ld_names(struct topo_ld *ld, const yaml_node_t *n, const char *what, char ***v,
                         size_t *nv)
{
    size_t max;
    int bad = 0;

    if (topo_ld_seq(ld, n, what) < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
        if (topo_ld_tname(ld, topo_ld_node(ld, *i), what) == NULL)
            bad = -EINVAL;
    if (bad || v == NULL ||
        (max = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)) == 0)
        return bad;
    if ((*v = calloc(max, sizeof(**v))) == NULL)
        return ld->oom = 1, -ENOMEM;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
        if (((*v)[(*nv)++] = topo_ld_strdup(ld, topo_ld_tname(ld, topo_ld_node(ld, *i), what))) ==
            NULL)
            return -ENOMEM;
    return 0;
}

/* NAME: TYPE or NAME: {type: TYPE, ...} into *V; KEYS are the long form's keys. */
static int topo_ld_named_types(struct topo_ld *ld, const yaml_node_t *n, const char *what,
                               const char *const *keys, int type_required, struct topo_cap **v,
                               size_t *nv)
{
    int bad = 0, r;

    if (topo_ld_map(ld, n, what, NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *x = topo_ld_node(ld, p->value), *ty = x;
        const char *name = topo_ld_name(ld, k, what), *s = NULL;
        struct topo_cap *c;
        if (name == NULL) {
            bad = -EINVAL;
            continue;
        }
        if (x->type == YAML_MAPPING_NODE) {
            if (topo_ld_map(ld, x, name, keys) < 0) {
                bad = -EINVAL;
                continue;
            }
            ty = topo_ld_get(ld, x, "type");
            if (ty == NULL && type_required) {
                bad = topo_ld_err(ld, x, "%s %s: expected a key 'type'", what, name);
                continue;
            }
        }
        if (ty != NULL && (s = topo_ld_tname(ld, ty, what)) == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((c = topo_push(v, *nv, sizeof(*c))) == NULL)
            return ld->oom = 1, -ENOMEM;
        (*nv)++;
        c->pos = topo_ld_pos(ld, ty ? ty : k);
        if ((c->name = topo_ld_strdup(ld, name)) == NULL ||
            (s != NULL && (c->type = topo_ld_strdup(ld, s)) == NULL))
            return -ENOMEM;
        if (x->type == YAML_MAPPING_NODE &&
            (ty = topo_ld_get(ld, x, "valid_source_types")) != NULL &&
            (r = topo_ld_names(ld, ty, "valid_source_types", &c->vst, &c->nvst)) < 0) {
            if (r == -ENOMEM)
                return r;
            bad = r;
        }
    }
    return bad;
}

/* occurrences: [MIN, MAX] of a requirement definition (MAX may be UNBOUNDED, -1 in *MAX). */
static int topo_ld_occurrences(struct topo_ld *ld, const yaml_node_t *n, long *min, long *max)
{
    const char *lo, *hi;
    char *end;

    if (n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.top - n->data.sequence.items.start != 2 ||
        (lo = topo_ld_scalar(ld, topo_ld_node(ld, n->data.sequence.items.start[0]),
                             "occurrences")) == NULL ||
        (hi = topo_ld_scalar(ld, topo_ld_node(ld, n->data.sequence.items.start[1]),
                             "occurrences")) == NULL)
        return topo_ld_err(ld, n, "occurrences: expected [MIN, MAX] (MAX an integer or UNBOUNDED)");
    *min = strtol(lo, &end, 10);
    if (*lo == '\0' || *end != '\0' || *min < 0 || *min == LONG_MAX)
        return topo_ld_err(ld, n, "occurrences: MIN '%.32s' is not an integer of 0 or more", lo);
    if (strcmp(hi, "UNBOUNDED") == 0)
        return *max = -1, 0;
    *max = strtol(hi, &end, 10);
    if (*hi == '\0' || *end != '\0' || *max < *min || *max < 1)
        return topo_ld_err(ld, n,
                           "occurrences: MAX '%.32s' is neither UNBOUNDED nor an integer of at "
                           "least MIN and 1",
                           hi);
    return 0;
}

/* requirements: [{NAME: CAPABILITY | {capability, node, relationship, occurrences, ...}}] */
static int topo_ld_reqdefs(struct topo_ld *ld, const yaml_node_t *n, struct topo_tdef *d)
{
    static const char *const keys[] = {
        "capability", "node", "relationship", "occurrences", "description", "node_filter", NULL};
    int bad = 0;

    if (topo_ld_seq(ld, n, "requirements") < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        yaml_node_t *item = topo_ld_node(ld, *i), *k, *v, *x;
        struct topo_reqdef *r;
        const char *name, *s;
        if (topo_ld_map(ld, item, "requirement", NULL) < 0 ||
            item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
            bad = item->type == YAML_MAPPING_NODE
                      ? topo_ld_err(ld, item, "requirement: expected one NAME: DEFINITION")
                      : -EINVAL;
            continue;
        }
        k = topo_ld_node(ld, item->data.mapping.pairs.start->key);
        v = topo_ld_node(ld, item->data.mapping.pairs.start->value);
        if ((name = topo_ld_name(ld, k, "requirement")) == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((r = topo_push(&d->reqs, d->nreqs, sizeof(*r))) == NULL)
            return ld->oom = 1, -ENOMEM;
        d->nreqs++;
        r->pos = topo_ld_pos(ld, k);
        r->occ_min = r->occ_max = 1; /* TOSCA's default occurrences: [1, 1] */
        if ((r->name = topo_ld_strdup(ld, name)) == NULL)
            return -ENOMEM;
        if (v->type == YAML_SCALAR_NODE) {
            if ((s = topo_ld_tname(ld, v, "requirement capability")) == NULL)
                bad = -EINVAL;
            else if ((r->capability = topo_ld_strdup(ld, s)) == NULL)
                return -ENOMEM;
            continue;
        }
        if (topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        if ((x = topo_ld_get(ld, v, "capability")) != NULL &&
            (s = topo_ld_tname(ld, x, "capability")) != NULL &&
            (r->capability = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
        if ((x = topo_ld_get(ld, v, "occurrences")) != NULL &&
            topo_ld_occurrences(ld, x, &r->occ_min, &r->occ_max) < 0)
            bad = -EINVAL;
        if ((x = topo_ld_get(ld, v, "node")) != NULL &&
            (s = topo_ld_tname(ld, x, "node")) != NULL && (r->node = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
        if ((x = topo_ld_get(ld, v, "relationship")) != NULL) {
            yaml_node_t *rt = x->type == YAML_MAPPING_NODE ? topo_ld_get(ld, x, "type") : x;
            if (rt == NULL || (s = topo_ld_tname(ld, rt, "relationship")) == NULL)
                bad = rt == NULL ? topo_ld_err(ld, x, "relationship: expected a key 'type'")
                                 : -EINVAL;
            else if ((r->relationship = topo_ld_strdup(ld, s)) == NULL)
                return -ENOMEM;
        }
        if (ld->errors > 0)
            bad = -EINVAL;
    }
    return bad;
}

/* An interface type's body: keys other than the fixed ones are operations (1.0, 1.2); 1.3's
 * `operations:` holds them too. */
static int topo_ld_iface_type(struct topo_ld *ld, const yaml_node_t *v, struct topo_tdef *d)
{
    static const char *const fixed[] = {"derived_from", "description",   "version", "metadata",
                                        "inputs",       "notifications", NULL};
    const yaml_node_t *ops = topo_ld_get(ld, v, "operations");

    for (int pass = 0; pass < 2; pass++) {
        const yaml_node_t *m = pass == 0 ? v : ops;
        if (m == NULL)
            continue;
        if (pass == 1 && topo_ld_map(ld, m, "operations", NULL) < 0)
            return -EINVAL;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
             p++) {
            const char *k = topo_ld_key(ld, p);
            size_t i;
            char **slot;
            for (i = 0; pass == 0 && fixed[i] && strcmp(fixed[i], k) != 0; i++)
                ;
            if ((pass == 0 && fixed[i] != NULL) || (pass == 0 && strcmp(k, "operations") == 0))
                continue;
            if ((slot = topo_push(&d->ops, d->nops, sizeof(*slot))) == NULL ||
                (*slot = topo_ld_strdup(ld, k)) == NULL)
                return ld->oom = 1, -ENOMEM;
            d->nops++;
        }
    }
    return 0;
}

static int topo_keys_of_kind(int kind, const char **keys, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; topo_common_keys[i] && n + 1 < max; i++)
        keys[n++] = topo_common_keys[i];
    for (size_t i = 0; topo_kinds[kind].keys[i] && n + 1 < max; i++)
        keys[n++] = topo_kinds[kind].keys[i];
    keys[n] = NULL;
    return 0;
}

static int topo_tdef_body(struct topo_ld *ld, int kind, const char *name, yaml_node_t *v,
                          struct topo_tdef *d)
{
    static const char *const cap_keys[] = {"type",       "description",        "properties",
                                           "attributes", "valid_source_types", "occurrences",
                                           NULL};
    static const char *const if_keys[] = {"type",       "description",   "inputs",
                                          "operations", "notifications", NULL};
    /* keys a kind gained after 1.0 (clauses of 1.3) */
    static const struct topo_since since[TOPO_K_COUNT][3] = {
        [TOPO_K_DATA] = {{"key_schema", 13, "3.7.6"}, {"entry_schema", 13, "3.7.6"}},
        [TOPO_K_INTERFACE] = {{"notifications", 13, "3.7.5"}},
        [TOPO_K_POLICY] = {{"triggers", 12, "3.7.12"}},
    };
    yaml_node_t *x;
    const char *s;
    int bad = topo_ld_since_keys(ld, v, since[kind]), r;

    if ((x = topo_ld_get(ld, v, "derived_from")) != NULL) {
        d->dpos = topo_ld_pos(ld, x);
        if ((s = topo_ld_tname(ld, x, "derived_from")) == NULL)
            bad = -EINVAL;
        else if ((d->derived_from = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((x = topo_ld_get(ld, v, "description")) != NULL && !topo_ld_scalar(ld, x, "description"))
        bad = -EINVAL;
    if ((x = topo_ld_get(ld, v, "version")) != NULL && !topo_ld_scalar(ld, x, "version"))
        bad = -EINVAL;
    if ((x = topo_ld_get(ld, v, "metadata")) != NULL)
        bad |= topo_ld_map(ld, x, "metadata", NULL);
    if ((x = topo_ld_get(ld, v, "properties")) != NULL && (kind != TOPO_K_NODE || ld->builtin) &&
        (r = topo_ld_propdefs(ld, x, "properties", TOPO_PD_TOSCA, &d->props, &d->nprops)) < 0)
        bad = r;
    if ((x = topo_ld_get(ld, v, "attributes")) != NULL &&
        (r = topo_ld_propdefs(ld, x, "attributes", TOPO_PD_TOSCA, &d->attrs, &d->nattrs)) < 0)
        bad = r;
    if ((x = topo_ld_get(ld, v, "capabilities")) != NULL &&
        (r = topo_ld_named_types(ld, x, "capability", cap_keys, 1, &d->caps, &d->ncaps)) < 0)
        bad = r;
    if ((x = topo_ld_get(ld, v, "interfaces")) != NULL &&
        (r = topo_ld_named_types(ld, x, "interface", NULL, 0, &d->ifaces, &d->nifaces)) < 0)
        bad = r;
    else if (x != NULL && kind != TOPO_K_INTERFACE)
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top;
             p++) /* operations a type adds to an interface (3.6.20) */
            if (topo_ld_node(ld, p->value)->type == YAML_MAPPING_NODE &&
                (r = topo_ld_iface_type(ld, topo_ld_node(ld, p->value), d)) < 0)
                return r;
    if ((x = topo_ld_get(ld, v, "requirements")) != NULL && (r = topo_ld_reqdefs(ld, x, d)) < 0)
        bad = r;
    if ((x = topo_ld_get(ld, v, "artifacts")) != NULL &&
        (bad |= topo_ld_map(ld, x, "artifacts", NULL)) == 0 &&
        topo_ld_keys(ld, x, &d->arts, &d->narts) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < 4; i++) {
        static const char *const lists[] = {"valid_source_types", "valid_target_types", "members",
                                            "targets"};
        if ((x = topo_ld_get(ld, v, lists[i])) == NULL)
            continue;
        /* kept: the list of its kind (valid_target_types is not checked) */
        if ((r = topo_ld_names(ld, x, lists[i], i != 1 ? &d->vst : NULL, &d->nvst)) == -ENOMEM)
            return r;
        bad |= r;
    }
    if ((x = topo_ld_get(ld, v, "constraints")) != NULL &&
        (r = topo_ld_constraints(ld, x, d->derived_from, name, &d->cons, &d->ncons)) < 0)
        bad = r;
    (void)if_keys;
    if (kind == TOPO_K_INTERFACE && (r = topo_ld_iface_type(ld, v, d)) < 0)
        bad = r;
    return bad;
}

int topo_tdef_load(struct topo_ld *ld, int kind, yaml_node_t *k, yaml_node_t *v, int *out)
{
    const char *keys[24], *name = topo_ld_name(ld, k, topo_kinds[kind].what);
    struct topo_tdef *d;
    int i;

    *out = -1;
    if (name == NULL)
        return -EINVAL;
    if ((i = topo_tdef_find_exact(ld->t, kind, name)) >= 0) {
        const struct topo_tdef *o = &ld->t->tdefs[i];
        if (o->builtin)
            return topo_ld_err(ld, k,
                               "%s '%s' is a normative TOSCA type; expected a name of your own",
                               topo_kinds[kind].what, name);
        return topo_ld_err(ld, k, "%s '%s' is defined twice (first at %s:%d:%d)",
                           topo_kinds[kind].what, name, o->pos.file, o->pos.line, o->pos.col);
    }
    topo_keys_of_kind(kind, keys, sizeof(keys) / sizeof(keys[0]));
    /* `Name:` alone is an empty definition */
    if (!topo_ld_empty(v) && topo_ld_map(ld, v, name, kind == TOPO_K_INTERFACE ? NULL : keys) < 0)
        return -EINVAL;
    if ((d = topo_push(&ld->t->tdefs, ld->t->ntdefs, sizeof(*d))) == NULL)
        return ld->oom = 1, -ENOMEM;
    *out = (int)ld->t->ntdefs++;
    d->kind = kind;
    d->builtin = ld->builtin;
    d->parent = -1;
    d->utype = -1;
    d->pos = topo_ld_pos(ld, k);
    if ((d->name = topo_ld_strdup(ld, name)) == NULL)
        return -ENOMEM;
    if (v->type != YAML_MAPPING_NODE)
        return 0;
    if (!ld->builtin && topo_tdef_carry(ld, v, d) < 0)
        return -ENOMEM;
    return topo_tdef_body(ld, kind, name, v, d);
}

/* ---- the normative types ---- */

static int topo_normative_doc(struct topo_ld *ld, void *arg)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    int bad = 0;

    (void)arg;
    ld->builtin = 1;
    for (int kind = 0; root != NULL && kind < TOPO_K_COUNT; kind++) {
        yaml_node_t *sec = topo_ld_get(ld, root, topo_kinds[kind].section);
        if (sec == NULL || topo_ld_map(ld, sec, topo_kinds[kind].section, NULL) < 0)
            continue;
        for (yaml_node_pair_t *p = sec->data.mapping.pairs.start; p < sec->data.mapping.pairs.top;
             p++) {
            int idx, r = topo_tdef_load(ld, kind, topo_ld_node(ld, p->key),
                                        topo_ld_node(ld, p->value), &idx);
            if (r == -ENOMEM)
                return r;
            bad |= r;
        }
    }
    return bad;
}

/* The normative types, parsed and resolved once per process (every load used to parse them,
 * which was most of the time of a small topology's load). Immutable once set: each load gets
 * a copy of the array whose entries borrow their strings and arrays from it (`borrowed`). A
 * failed parse (no memory) leaves it unset, so the next load tries again. Never freed: a
 * thread may be loading while the process exits. */
static pthread_mutex_t topo_normative_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine_topology *topo_normative_model;

static int topo_normative_parse(struct engine_topology **out, struct engine_diag *d)
{
    struct engine_topology *t = calloc(1, sizeof(*t));
    int r;

    if (t == NULL)
        return -ENOMEM;
    r = topo_with_document(t, "<normative types>", topo_normative_yaml,
                           (size_t)(topo_normative_yaml_end - topo_normative_yaml), d,
                           topo_normative_doc, NULL);
    if (r == 0 && topo_tdefs_resolve(t, d) != 0)
        r = -EINVAL;
    if (r < 0) {
        engine_topology_free(t);
        return r;
    }
    *out = t;
    return 0;
}

int topo_normative_ready(void)
{
    pthread_mutex_lock(&topo_normative_lock);
    int ready = topo_normative_model != NULL;
    pthread_mutex_unlock(&topo_normative_lock);
    return ready;
}

int topo_normative_load(struct engine_topology *t, struct engine_diag *d)
{
    const struct engine_topology *m;
    size_t cap = 1;
    int r = 0;

    pthread_mutex_lock(&topo_normative_lock);
    if (topo_normative_model == NULL)
        r = topo_normative_parse(&topo_normative_model, d);
    m = topo_normative_model;
    pthread_mutex_unlock(&topo_normative_lock);
    if (r < 0)
        return r;
    /* the capacity topo_push() expects of an array of ntdefs elements */
    while (cap < m->ntdefs)
        cap *= 2;
    if ((t->tdefs = malloc(cap * sizeof(*t->tdefs))) == NULL)
        return -ENOMEM;
    memcpy(t->tdefs, m->tdefs, m->ntdefs * sizeof(*t->tdefs));
    for (size_t i = 0; i < m->ntdefs; i++)
        t->tdefs[i].borrowed = 1;
    t->ntdefs = m->ntdefs;
    return 0;
}

/* ---- resolution ---- */

static int topo_tdef_resolve(struct engine_topology *t, size_t i, struct engine_diag *d);

static int topo_tdef_parent(struct engine_topology *t, struct topo_tdef *x, struct engine_diag *d)
{
    char root[64];
    int p;

    if (x->derived_from == NULL) {
        /* a type without derived_from derives from its kind's root (1.3, 3.7.1) */
        snprintf(root, sizeof(root), "%sRoot", topo_kind_prefix(x->kind));
        p = topo_tdef_find_exact(t, x->kind, root);
        x->parent = p >= 0 && &t->tdefs[p] != x ? p : -1;
        return 0;
    }
    if (x->kind == TOPO_K_DATA && topo_type_primitive(x->derived_from))
        return 0;
    if ((p = topo_tdef_find(t, x->kind, x->derived_from)) < 0 && x->utype >= 0) {
        /* derived from a unikernel type without a node_types entry (its TOSCA parts are its
         * normative ancestor's), or unknown: topo_types_resolve says so, as it always has */
        const char *nt = t->types[x->utype].normative;
        x->parent = nt != NULL ? topo_tdef_find(t, x->kind, nt) : -1;
        return 0;
    }
    if (p < 0) {
        return topo_diag_at(
            d, &x->dpos, "%s %s: derived_from '%s' is not a %s of this topology or of TOSCA",
            topo_kinds[x->kind].what, x->name, x->derived_from, topo_kinds[x->kind].what);
    }
    if (t->tdefs[p].resolving)
        return topo_diag_at(d, &x->dpos, "%s %s: derived_from forms a cycle through %s",
                            topo_kinds[x->kind].what, x->name, x->derived_from);
    x->parent = p;
    return topo_tdef_resolve(t, (size_t)p, d);
}

/* A type named by a definition must exist, of the right kind. */
static int topo_tdef_ref(const struct engine_topology *t, int kind, const char *name,
                         const struct topo_pos *pos, const char *what, struct engine_diag *d)
{
    if (name == NULL || topo_tdef_find(t, kind, name) >= 0 ||
        (kind == TOPO_K_DATA && topo_type_primitive(name)))
        return 0;
    return topo_diag_at(d, pos, "%s: unknown %s '%s'", what, topo_kinds[kind].what, name);
}

static int topo_propdefs_refs(const struct engine_topology *t, const struct topo_propdef *v,
                              size_t n, struct engine_diag *d)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= topo_tdef_ref(t, TOPO_K_DATA, v[i].scalar ? NULL : v[i].ttype, &v[i].tpos, v[i].name,
                             d);
        bad |= topo_tdef_ref(t, TOPO_K_DATA, v[i].entry, &v[i].tpos, v[i].name, d);
    }
    return bad;
}

static int topo_tdef_resolve(struct engine_topology *t, size_t i, struct engine_diag *d)
{
    struct topo_tdef *x = &t->tdefs[i];
    int bad;

    if (x->resolved)
        return 0;
    x->resolving = 1;
    bad = topo_tdef_parent(t, x, d);
    x = &t->tdefs[i];
    x->resolving = 0;
    x->resolved = 1;
    bad |= topo_propdefs_refs(t, x->props, x->nprops, d);
    bad |= topo_propdefs_refs(t, x->attrs, x->nattrs, d);
    if (x->utype >= 0)
        bad |= topo_propdefs_refs(t, t->types[x->utype].props, t->types[x->utype].nprops, d);
    for (size_t k = 0; k < x->ncaps; k++)
        bad |= topo_tdef_ref(t, TOPO_K_CAPABILITY, x->caps[k].type, &x->caps[k].pos,
                             x->caps[k].name, d);
    for (size_t k = 0; k < x->nifaces; k++)
        bad |= topo_tdef_ref(t, TOPO_K_INTERFACE, x->ifaces[k].type, &x->ifaces[k].pos,
                             x->ifaces[k].name, d);
    for (size_t k = 0; k < x->nreqs; k++) {
        const struct topo_reqdef *r = &x->reqs[k];
        bad |= topo_tdef_ref(t, TOPO_K_NODE, r->node, &r->pos, r->name, d);
        bad |= topo_tdef_ref(t, TOPO_K_RELATIONSHIP, r->relationship, &r->pos, r->name, d);
    }
    return bad;
}

int topo_tdefs_resolve(struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;
    for (size_t i = 0; i < t->ntdefs; i++)
        bad |= topo_tdef_resolve(t, i, d);
    return bad;
}
