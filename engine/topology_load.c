/* topology_load.c — a SecTOSCA topology file and its imports into the model (libyaml); what an
 * import names and whether it was loaded already is topology_import.c's. */
#include "topology_carry.h"
#include "topology_int.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const topo_versions[] = {"tosca_simple_yaml_1_0", "tosca_simple_yaml_1_2",
                                            "tosca_simple_yaml_1_3", NULL};

static int topo_load_definitions(struct topo_ld *ld, yaml_node_t *root);
int topo_load_template(struct topo_ld *ld, yaml_node_t *tt); /* topology_template.c */
static int topo_load_imports(struct topo_ld *ld, const struct topo_file *f, yaml_node_t *imps);

/* TOSCA's keys (3.9.3 of 1.3, with 1.0's template_* and tosca_default_namespace) and the
 * UniTOSCA and SecTOSCA sections. */
static const char *const topo_top_keys[] = {"tosca_definitions_version",
                                            "description",
                                            "metadata",
                                            "imports",
                                            "node_types",
                                            "unikernel_modules",
                                            "security_functions",
                                            "topology_template",
                                            "repositories",
                                            "dsl_definitions",
                                            "artifact_types",
                                            "data_types",
                                            "capability_types",
                                            "interface_types",
                                            "relationship_types",
                                            "group_types",
                                            "policy_types",
                                            "namespace",
                                            "tosca_default_namespace",
                                            "template_name",
                                            "template_author",
                                            "template_version",
                                            NULL};

/* repositories: NAME: URL | {url, description, credential} (3.6.2). */
static int topo_load_repositories(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {"url", "description", "credential", NULL};
    int bad = 0;

    if (topo_ld_map(ld, n, "repositories", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value), *u = v;
        const char *name = topo_ld_name(ld, k, "repository");
        if (name == NULL) {
            bad = -EINVAL;
            continue;
        }
        if (v->type == YAML_MAPPING_NODE) {
            if (topo_ld_map(ld, v, name, keys) < 0 || (u = topo_ld_get(ld, v, "url")) == NULL) {
                bad = v->type == YAML_MAPPING_NODE && topo_ld_get(ld, v, "url") == NULL
                          ? topo_ld_err(ld, v, "repository %s: expected a key 'url'", name)
                          : -EINVAL;
                continue;
            }
        }
        if (topo_ld_scalar(ld, u, "repository url") == NULL)
            bad = -EINVAL;
    }
    return bad;
}

static int topo_load_version(struct topo_ld *ld, yaml_node_t *root, int main)
{
    yaml_node_t *v = topo_ld_get(ld, root, "tosca_definitions_version");
    const char *s;
    size_t i;

    if (v == NULL)
        return topo_ld_err(ld, root,
                           "expected tosca_definitions_version: tosca_simple_yaml_1_0, "
                           "tosca_simple_yaml_1_2 or tosca_simple_yaml_1_3");
    if ((s = topo_ld_scalar(ld, v, "tosca_definitions_version")) == NULL)
        return -EINVAL;
    for (i = 0; topo_versions[i] != NULL && strcmp(topo_versions[i], s) != 0; i++)
        ;
    if (topo_versions[i] == NULL)
        return topo_ld_err(ld, v,
                           "tosca_definitions_version '%.64s': expected tosca_simple_yaml_1_0, "
                           "tosca_simple_yaml_1_2 or tosca_simple_yaml_1_3",
                           s);
    ld->version = i == 0 ? 10 : i == 1 ? 12 : 13;
    if (main)
        return (ld->t->version = topo_ld_strdup(ld, s)) ? 0 : -ENOMEM;
    return 0; /* an import may use another version of the Simple Profile */
}

int topo_load_file_doc(struct topo_ld *ld, void *arg)
{
    const struct topo_file *f = arg;
    yaml_node_t *root = yaml_document_get_root_node(ld->doc), *v;
    int r, bad = 0;

    if (root == NULL)
        return topo_ld_err(ld, NULL,
                           "empty file; expected a SecTOSCA topology "
                           "(tosca_definitions_version, ..., topology_template)");
    if (topo_ld_map(ld, root, "topology", topo_top_keys) < 0)
        return -EINVAL;
    if ((r = topo_load_version(ld, root, f->depth == 0)) < 0)
        return r;
    if ((v = topo_ld_get(ld, root, "description")) != NULL) {
        const char *s = topo_ld_scalar(ld, v, "description");
        if (s != NULL && f->depth == 0 && (ld->t->description = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((v = topo_ld_get(ld, root, "metadata")) != NULL)
        bad |= topo_ld_map(ld, v, "metadata", NULL);
    for (size_t i = 0; i < 5; i++) {
        static const char *const texts[] = {"namespace", "tosca_default_namespace", "template_name",
                                            "template_author", "template_version"};
        if ((v = topo_ld_get(ld, root, texts[i])) != NULL && !topo_ld_scalar(ld, v, texts[i]))
            bad = -EINVAL;
    }
    if ((v = topo_ld_get(ld, root, "repositories")) != NULL)
        bad |= topo_load_repositories(ld, v);
    if ((v = topo_ld_get(ld, root, "imports")) != NULL &&
        (r = topo_load_imports(ld, f, v)) == -ENOMEM)
        return r;
    if ((r = topo_load_definitions(ld, root)) == -ENOMEM)
        return r;
    /* An imported topology_template is not part of this one (3.9.4); its substitution
     * mapping, which offers it as the implementation of a node type, is checked still. */
    if ((v = topo_ld_get(ld, root, "topology_template")) != NULL &&
        topo_submap_record(ld, v) == -ENOMEM)
        return -ENOMEM;
    if (f->depth > 0)
        return bad;
    if (topo_top_carry(ld, root) < 0)
        return -ENOMEM;
    /* Every definition is in: resolve types before reading the templates that use them. */
    if (ld->errors > 0)
        return -EINVAL;
    r = topo_types_resolve(ld->t, ld->d);
    if (r == -ENOMEM || (r |= topo_tdefs_resolve(ld->t, ld->d)) < 0)
        return r == -ENOMEM ? r : -EINVAL;
    if (!ld->oom && topo_submaps_check(ld->t, ld->d) < 0)
        bad = -EINVAL;
    if (v == NULL)
        return bad; /* a file of definitions only is a valid service template */
    r = topo_load_template(ld, v);
    return r < 0 ? r : bad;
}

/* ---- imports ---- */

static int topo_import_one(struct topo_ld *ld, const struct topo_file *f, yaml_node_t *item)
{
    yaml_node_t *fv;
    const char *rel;
    char *path = NULL, *name = NULL, *buf = NULL, real[PATH_MAX];
    struct topo_file sub = *f;
    size_t len;
    int r;

    if (topo_import_file(ld, item, &fv) < 0)
        return -EINVAL;
    if ((rel = topo_ld_scalar(ld, fv, "import")) == NULL)
        return -EINVAL;
    if (strstr(rel, "://") != NULL)
        return topo_ld_err(ld, fv, "import '%.64s': expected a local file, not a URL", rel);
    if (f->dir == NULL)
        return topo_ld_err(ld, fv, "import '%.64s': this topology has no directory to import from",
                           rel);
    if (f->depth + 1 >= TOPO_IMPORT_DEPTH)
        return topo_ld_err(ld, fv, "import '%.64s': imports nested more than %d deep", rel,
                           TOPO_IMPORT_DEPTH);
    if (f->import != NULL)
        return f->import(ld, f, fv, rel);
    if (asprintf(&path, "%s/%s", rel[0] == '/' ? "" : f->dir, rel) < 0 ||
        asprintf(&name, "%s%s%s", rel[0] == '/' || strcmp(f->dir, ".") == 0 ? "" : f->dir,
                 rel[0] == '/' || strcmp(f->dir, ".") == 0 ? "" : "/", rel) < 0) {
        free(path);
        return ld->oom = 1, -ENOMEM;
    }
    if (realpath(path, real) == NULL) {
        r = topo_ld_err(ld, fv, "import '%.64s': cannot open %s: %s", rel, name, strerror(errno));
        goto cleanup;
    }
    {
        struct stat st; /* stat does not open: a FIFO is refused before anyone waits on it */
        if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
            r = topo_ld_err(ld, fv, "import '%.64s': %s is not a regular file; expected a file",
                            rel, name);
            goto cleanup;
        }
    }
    if ((r = topo_import_cycle(ld, f, fv, rel, real)) != 0)
        goto cleanup;
    if ((r = topo_file_seen(f, real)) != 0) { /* a diamond: read once */
        r = r > 0 ? 0 : r;
        goto cleanup;
    }
    if ((r = topo_read_file(path, name, &buf, &len, ld->d)) < 0) {
        ld->errors++;
        goto cleanup;
    }
    char *dir = topo_dir_of(name);
    if (dir == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    sub.dir = dir;
    sub.name = name;
    sub.key = real;
    sub.up = f;
    r = topo_load_import(ld, &sub, buf, len);
    free(dir);
cleanup:
    if (r == -ENOMEM)
        ld->oom = 1;
    free(buf);
    free(path);
    free(name);
    return r;
}

int topo_load_import(struct topo_ld *ld, struct topo_file *sub, const char *buf, size_t len)
{
    int r;

    sub->depth++;
    r = topo_with_document(ld->t, sub->name, buf, len, ld->d,
                           sub->doc ? sub->doc : topo_load_file_doc, sub);
    if (r == -EINVAL)
        ld->errors++;
    return r;
}

static int topo_load_imports(struct topo_ld *ld, const struct topo_file *f, yaml_node_t *imps)
{
    int bad = 0;

    if (topo_ld_empty(imps))
        return 0;
    if (topo_ld_seq(ld, imps, "imports") < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = imps->data.sequence.items.start; i < imps->data.sequence.items.top;
         i++) {
        int r = topo_import_one(ld, f, topo_ld_node(ld, *i));
        if (r == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad;
}

/* ---- definitions: node_types, unikernel_modules, security_functions ---- */

/* The type record for NAME, created when absent. */
static struct topo_type *topo_type_get(struct topo_ld *ld, const char *name)
{
    int i = topo_type_find(ld->t, name);
    struct topo_type *ty;

    if (i >= 0)
        return &ld->t->types[i];
    if ((ty = topo_push(&ld->t->types, ld->t->ntypes, sizeof(*ty))) == NULL) {
        ld->oom = 1;
        return NULL;
    }
    ld->t->ntypes++;
    ty->parent = -1;
    ty->builtin = -1;
    if ((ty->name = topo_ld_strdup(ld, name)) == NULL)
        return NULL;
    return ty;
}

static int topo_type_name_check(struct topo_ld *ld, yaml_node_t *k, const char *name)
{
    int i = topo_tdef_find(ld->t, TOPO_K_NODE, name);
    if (i >= 0 && ld->t->tdefs[i].builtin && strcmp(ld->t->tdefs[i].name, name) == 0)
        return topo_ld_err(
            ld, k, "type '%s' is a normative TOSCA type; expected a name of your own", name);
    return 0;
}

/* A node type: its TOSCA definition (topology_defs.c) and its unisec record (properties,
 * derivation, unikernel modules). */
static int topo_load_node_type(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    const char *name = topo_ld_name(ld, k, "node type"), *s;
    struct topo_type *ty;
    yaml_node_t *x;
    int bad = 0, td, r;

    if (name == NULL || topo_type_name_check(ld, k, name) < 0)
        return -EINVAL;
    if ((r = topo_tdef_load(ld, TOPO_K_NODE, k, v, &td)) == -ENOMEM)
        return r;
    if (td < 0)
        return -EINVAL;
    bad = r;
    if ((ty = topo_type_get(ld, name)) == NULL)
        return -ENOMEM;
    ld->t->tdefs[td].utype = (int)(ty - ld->t->types);
    if (v->type != YAML_MAPPING_NODE) {
        ty->declared = 1;
        ty->pos = topo_ld_pos(ld, k);
        return bad;
    }
    if (ty->declared)
        return topo_ld_err(ld, k, "node type '%s' is defined twice (first at %s:%d:%d)", name,
                           ty->pos.file, ty->pos.line, ty->pos.col);
    ty->declared = 1;
    ty->pos = topo_ld_pos(ld, k);
    if ((x = topo_ld_get(ld, v, "derived_from")) != NULL) {
        if ((s = topo_ld_tname(ld, x, "derived_from")) == NULL)
            bad = -EINVAL;
        else if ((ty->derived_from = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((x = topo_ld_get(ld, v, "description")) != NULL) {
        if ((s = topo_ld_scalar(ld, x, "description")) == NULL)
            bad = -EINVAL;
        else if ((ty->description = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((x = topo_ld_get(ld, v, "properties")) != NULL)
        bad |= topo_ld_propdefs(ld, x, "properties", TOPO_PD_TOSCA, &ty->props, &ty->nprops);
    return bad;
}

/* A restated capability or requirement must be the manifest's. */
static int topo_umod_check_caps(struct topo_ld *ld, const struct topo_module *m,
                                const struct topo_cap *c, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < m->ncaps && strcmp(m->caps[j].name, c[i].name) != 0; j++)
            ;
        if (j == m->ncaps || strcmp(m->caps[j].type, c[i].type) != 0)
            bad = topo_diag_at(ld->d, &c[i].pos,
                               "module %s: capability %s: %s; expected what its manifest "
                               "declares or nothing",
                               m->name, c[i].name,
                               j == m->ncaps ? "the module has no such capability"
                                             : "a different type than the manifest's");
    }
    return bad;
}

static int topo_umod_check_reqs(struct topo_ld *ld, const struct topo_module *m,
                                const struct topo_req *r, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < m->nreqs && strcmp(m->reqs[j].name, r[i].name) != 0; j++)
            ;
        if (j == m->nreqs || strcmp(m->reqs[j].type, r[i].type) != 0)
            bad = topo_diag_at(ld->d, &r[i].pos,
                               "module %s: requirement %s: %s; expected what its manifest "
                               "declares or nothing",
                               m->name, r[i].name,
                               j == m->nreqs ? "the module has no such requirement"
                                             : "a different type than the manifest's");
    }
    return bad;
}

static int topo_umod_check_props(struct topo_ld *ld, const struct topo_module *m,
                                 const struct topo_umod *u)
{
    int bad = 0;
    for (size_t i = 0; i < u->nprops; i++) {
        const struct topo_propdef *p = &u->props[i];
        size_t j;
        for (j = 0; j < m->nprops && strcmp(m->props[j].name, p->name) != 0; j++)
            ;
        if (j == m->nprops)
            bad = topo_diag_at(ld->d, &p->pos, "module %s has no property '%s'", m->name, p->name);
        else if (m->props[j].type != p->type)
            bad = topo_diag_at(ld->d, &p->pos, "module %s: property '%s' has type %s, not %s",
                               m->name, p->name, engine_topology_type_name(m->props[j].type),
                               engine_topology_type_name(p->type));
    }
    return bad;
}

static const char *topo_catalog_name_at(const void *arg, size_t i)
{
    return ((const struct engine_topology *)arg)->mods[i].name;
}

static void topo_catalog_names(const struct engine_topology *t, char *buf, size_t size)
{
    topo_join(buf, size, t->nmods, topo_catalog_name_at, t, ", ");
}

static int topo_load_umod(struct topo_ld *ld, struct topo_type *ty, yaml_node_t *k, yaml_node_t *v)
{
    static const char *const keys[] = {"properties", "capabilities", "requirements", NULL};
    const char *name = topo_ld_name(ld, k, "unikernel module");
    struct topo_cap *caps = NULL;
    struct topo_req *reqs = NULL;
    size_t ncaps = 0, nreqs = 0;
    struct topo_umod *u;
    yaml_node_t *x;
    int m, bad = 0;

    if (name == NULL)
        return -EINVAL;
    if ((m = topo_module_find(ld->t, name)) < 0) {
        char list[512];
        topo_catalog_names(ld->t, list, sizeof(list));
        return topo_ld_err(ld, k, "unknown unikernel module '%s'; the catalogue has %s", name,
                           list[0] ? list : "no module");
    }
    if (topo_module_is_security(name))
        return topo_ld_err(ld, k,
                           "module %s is a security module: the SecTOSCA interpreter adds it "
                           "from the node's security functions; expected an application module",
                           name);
    if ((u = topo_push(&ty->umods, ty->numods, sizeof(*u))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ty->numods++;
    u->module = (size_t)m;
    u->pos = topo_ld_pos(ld, k);
    if (topo_ld_empty(v))
        return 0; /* `log:` alone: the module as its manifest defines it */
    if (topo_ld_map(ld, v, name, keys) < 0)
        return -EINVAL;
    if ((x = topo_ld_get(ld, v, "properties")) != NULL &&
        (bad |= topo_ld_propdefs(ld, x, "properties", 0, &u->props, &u->nprops)) == 0)
        bad |= topo_umod_check_props(ld, &ld->t->mods[m], u);
    if ((x = topo_ld_get(ld, v, "capabilities")) != NULL &&
        (bad |= topo_ld_caps(ld, x, "capabilities", &caps, &ncaps)) == 0)
        bad |= topo_umod_check_caps(ld, &ld->t->mods[m], caps, ncaps);
    if ((x = topo_ld_get(ld, v, "requirements")) != NULL &&
        (bad |= topo_ld_reqs(ld, x, "requirements", &reqs, &nreqs)) == 0)
        bad |= topo_umod_check_reqs(ld, &ld->t->mods[m], reqs, nreqs);
    for (size_t i = 0; i < ncaps; i++) {
        free(caps[i].name);
        free(caps[i].type);
    }
    free(caps);
    for (size_t i = 0; i < nreqs; i++) {
        free(reqs[i].name);
        free(reqs[i].type);
        free(reqs[i].when_prop);
        free(reqs[i].when_value);
    }
    free(reqs);
    if (bad < 0)
        ld->errors++;
    return bad;
}

static int topo_load_utype(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    const char *name = topo_ld_name(ld, k, "unikernel type");
    struct topo_type *ty;
    int bad = 0;

    if (name == NULL || topo_type_name_check(ld, k, name) < 0)
        return -EINVAL;
    if (topo_ld_map(ld, v, name, NULL) < 0)
        return -EINVAL;
    if (v->data.mapping.pairs.top == v->data.mapping.pairs.start)
        return topo_ld_err(ld, v, "unikernel type '%s': expected at least one module", name);
    if ((ty = topo_type_get(ld, name)) == NULL)
        return -ENOMEM;
    if (ty->unikernel)
        return topo_ld_err(ld, k, "unikernel type '%s' is defined twice (first at %s:%d:%d)", name,
                           ty->upos.file, ty->upos.line, ty->upos.col);
    ty->unikernel = 1;
    ty->upos = topo_ld_pos(ld, k);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        int r = topo_load_umod(ld, ty, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value));
        if (r == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad;
}

static int topo_load_sf(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    const char *name = topo_ld_name(ld, k, "security function");
    struct topo_sf *sf;
    int i;

    if (name == NULL)
        return -EINVAL;
    if ((i = topo_sf_find(ld->t, name)) >= 0)
        return topo_ld_err(ld, k, "security function '%s' is defined twice (first at %s:%d:%d)",
                           name, ld->t->sfs[i].pos.file, ld->t->sfs[i].pos.line,
                           ld->t->sfs[i].pos.col);
    if ((sf = topo_push(&ld->t->sfs, ld->t->nsfs, sizeof(*sf))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->nsfs++;
    sf->pos = topo_ld_pos(ld, k);
    if ((sf->name = topo_ld_strdup(ld, name)) == NULL)
        return -ENOMEM;
    return topo_sf_parse(ld, name, v, sf);
}

typedef int (*topo_entry_loader)(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v);

static const struct {
    const char *key;
    topo_entry_loader load;
} topo_sections[] = {
    {"node_types", topo_load_node_type},
    {"unikernel_modules", topo_load_utype},
    {"security_functions", topo_load_sf},
};

/* A type of a kind other than node (artifact, data, capability, ...). */
static int topo_load_other_types(struct topo_ld *ld, yaml_node_t *root)
{
    int bad = 0;

    for (int kind = 0; kind < TOPO_K_COUNT; kind++) {
        yaml_node_t *sec;
        if (kind == TOPO_K_NODE || (sec = topo_ld_get(ld, root, topo_kind_section(kind))) == NULL ||
            topo_ld_empty(sec))
            continue;
        if (topo_ld_map(ld, sec, topo_kind_section(kind), NULL) < 0) {
            bad = -EINVAL;
            continue;
        }
        for (yaml_node_pair_t *p = sec->data.mapping.pairs.start; p < sec->data.mapping.pairs.top;
             p++) {
            int idx, r = topo_tdef_load(ld, kind, topo_ld_node(ld, p->key),
                                        topo_ld_node(ld, p->value), &idx);
            if (r == -ENOMEM || ld->oom)
                return -ENOMEM;
            bad |= r;
        }
    }
    return bad;
}

static int topo_load_definitions(struct topo_ld *ld, yaml_node_t *root)
{
    int bad = topo_load_other_types(ld, root);

    if (bad == -ENOMEM)
        return bad;
    for (size_t s = 0; s < sizeof(topo_sections) / sizeof(topo_sections[0]); s++) {
        yaml_node_t *sec = topo_ld_get(ld, root, topo_sections[s].key);
        if (sec == NULL || topo_ld_empty(sec))
            continue;
        if (topo_ld_map(ld, sec, topo_sections[s].key, NULL) < 0) {
            bad = -EINVAL;
            continue;
        }
        for (yaml_node_pair_t *p = sec->data.mapping.pairs.start; p < sec->data.mapping.pairs.top;
             p++) {
            int r = topo_sections[s].load(ld, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value));
            if (r == -ENOMEM || ld->oom)
                return -ENOMEM;
            bad |= r;
        }
    }
    return bad;
}

/* ---- entry points ---- */

int topo_load_root(struct engine_topology **out, const char *buf, size_t len, const char *name,
                   const char *dir, const char *real, const struct topo_file *how,
                   struct engine_diag *d)
{
    struct engine_topology *t = calloc(1, sizeof(*t));
    struct engine_diag local;
    char **seen = NULL;
    size_t nseen = 0;
    struct topo_file f = {.dir = dir, .name = name, .key = real, .seen = &seen, .nseen = &nseen};
    int r;

    *out = NULL;
    engine_diag_init(&local);
    if (t == NULL)
        return -ENOMEM;
    if (how != NULL) {
        f.csar = how->csar;
        f.entry = how->entry;
        f.import = how->import;
        f.doc = how->doc;
        t->given = how->inputs;
        t->given_len = how->inputs_len;
        t->given_name = how->inputs_name;
    }
    if (real != NULL) {
        char **slot = topo_push(&seen, 0, sizeof(*slot));
        if (slot == NULL || (*slot = strdup(real)) == NULL) {
            free(seen);
            engine_topology_free(t);
            return -ENOMEM;
        }
        nseen = 1;
    }
    r = topo_catalog_load(t, engine_topology_modules_dir(), &local);
    if (r == 0)
        r = topo_normative_load(t, &local);
    if (r == 0)
        r = topo_with_document(t, name, buf, len, &local, f.doc ? f.doc : topo_load_file_doc, &f);
    if (r == 0 && (r = topo_inputs_given(t, &local)) == 0 && local.n > 0)
        r = -EINVAL;
    t->given = t->given_name = NULL; /* the caller's */
    for (size_t i = 0; i < nseen; i++)
        free(seen[i]);
    free(seen);
    if (r < 0 && r != -ENOMEM && local.n == 0)
        engine_diag_add(&local, name, 0, 0, "cannot load: %s", strerror(-r));
    if (local.oom && r == 0)
        r = -ENOMEM;
    if (d != NULL)
        engine_diag_move(d, &local);
    engine_diag_free(&local);
    if (r < 0) {
        engine_topology_free(t);
        return r;
    }
    *out = t;
    return 0;
}

int engine_topology_load_buffer(struct engine_topology **out, const char *buf, size_t len,
                                const char *name, const char *base_dir, struct engine_diag *d)
{
    return topo_load_root(out, buf, len, name, base_dir, NULL, NULL, d);
}

int engine_topology_load_inputs(struct engine_topology **out, const char *buf, size_t len,
                                const char *name, const char *base_dir, const char *inputs,
                                size_t ilen, const char *iname, struct engine_diag *d)
{
    const struct topo_file how = {.inputs = inputs, .inputs_len = ilen, .inputs_name = iname};

    return topo_load_root(out, buf, len, name, base_dir, NULL, inputs ? &how : NULL, d);
}

int engine_topology_load_file(struct engine_topology **out, const char *path, struct engine_diag *d)
{
    return engine_topology_load_file_given(out, path, NULL, d);
}

int engine_topology_load_file_given(struct engine_topology **out, const char *path,
                                    const struct engine_topology_given *given,
                                    struct engine_diag *d)
{
    const struct topo_file how = {
        .inputs = given ? given->text : NULL,
        .inputs_len = given ? given->len : 0,
        .inputs_name = given ? given->name : NULL,
    };
    char *buf = NULL, *dir = NULL, real[PATH_MAX];
    size_t len;
    int r;

    struct engine_diag local;

    *out = NULL;
    engine_diag_init(&local);
    r = topo_read_file(path, path, &buf, &len, &local);
    if (d != NULL)
        engine_diag_move(d, &local);
    engine_diag_free(&local);
    if (r < 0)
        return r;
    if ((dir = topo_dir_of(path)) == NULL) {
        free(buf);
        return -ENOMEM;
    }
    r = topo_load_root(out, buf, len, path, dir, realpath(path, real) ? real : NULL,
                       given ? &how : NULL, d);
    free(dir);
    free(buf);
    return r;
}
