/* topology_catalog.c — the module catalogue: guest/modules/<name>/manifest.yaml. */
#include "topology_int.h"

#include "share.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t catalog_once = PTHREAD_ONCE_INIT;
static char catalog_dir[PATH_MAX];

static void catalog_find(void)
{
    snprintf(catalog_dir, sizeof(catalog_dir), "%s/guest/modules", engine_share_dir());
}

const char *engine_topology_modules_dir(void)
{
    const char *e = getenv(ENGINE_TOPOLOGY_MODULES_ENV);
    if (e != NULL && e[0] != 0)
        return e;
    pthread_once(&catalog_once, catalog_find);
    return catalog_dir;
}

int topo_ld_caps(struct topo_ld *ld, const yaml_node_t *n, const char *what, struct topo_cap **out,
                 size_t *nout)
{
    int bad = 0;

    if (topo_ld_map(ld, n, what, NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value);
        const char *name = topo_ld_name(ld, k, what), *type = topo_ld_name(ld, v, what);
        struct topo_cap *c;
        if (name == NULL || type == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((c = topo_push(out, *nout, sizeof(*c))) == NULL)
            return ld->oom = 1, -ENOMEM;
        (*nout)++;
        c->pos = topo_ld_pos(ld, k);
        if ((c->name = topo_ld_strdup(ld, name)) == NULL ||
            (c->type = topo_ld_strdup(ld, type)) == NULL)
            return -ENOMEM;
    }
    return bad;
}

/* One requirement: NAME: TYPE, or NAME: {capability: TYPE, when: {PROP: VALUE}}. */
static int topo_ld_req(struct topo_ld *ld, const yaml_node_t *item, const char *what,
                       struct topo_req *r)
{
    static const char *const keys[] = {"capability", "when", NULL};
    yaml_node_pair_t *p;
    yaml_node_t *k, *v, *c, *w;
    const char *name, *type, *wp, *wv;

    if (topo_ld_map(ld, item, what, NULL) < 0)
        return -EINVAL;
    if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
        return topo_ld_err(ld, item, "%s: expected one NAME: CAPABILITY_TYPE per entry", what);
    p = item->data.mapping.pairs.start;
    k = topo_ld_node(ld, p->key);
    v = topo_ld_node(ld, p->value);
    r->pos = topo_ld_pos(ld, k);
    if ((name = topo_ld_name(ld, k, what)) == NULL)
        return -EINVAL;
    if ((r->name = topo_ld_strdup(ld, name)) == NULL)
        return -ENOMEM;
    if (v->type == YAML_SCALAR_NODE) {
        if ((type = topo_ld_name(ld, v, what)) == NULL)
            return -EINVAL;
        return (r->type = topo_ld_strdup(ld, type)) ? 0 : -ENOMEM;
    }
    if (topo_ld_map(ld, v, what, keys) < 0)
        return -EINVAL;
    if ((c = topo_ld_get(ld, v, "capability")) == NULL)
        return topo_ld_err(ld, v, "%s '%s': expected a key 'capability'", what, name);
    if ((type = topo_ld_name(ld, c, what)) == NULL)
        return -EINVAL;
    if ((r->type = topo_ld_strdup(ld, type)) == NULL)
        return -ENOMEM;
    if ((w = topo_ld_get(ld, v, "when")) == NULL)
        return 0;
    if (topo_ld_map(ld, w, what, NULL) < 0)
        return -EINVAL;
    if (w->data.mapping.pairs.top - w->data.mapping.pairs.start != 1)
        return topo_ld_err(ld, w, "%s '%s': 'when' takes one PROPERTY: VALUE", what, name);
    p = w->data.mapping.pairs.start;
    if ((wp = topo_ld_name(ld, topo_ld_node(ld, p->key), what)) == NULL ||
        (wv = topo_ld_scalar(ld, topo_ld_node(ld, p->value), what)) == NULL)
        return -EINVAL;
    if ((r->when_prop = topo_ld_strdup(ld, wp)) == NULL ||
        (r->when_value = topo_ld_strdup(ld, wv)) == NULL)
        return -ENOMEM;
    return 0;
}

int topo_ld_reqs(struct topo_ld *ld, const yaml_node_t *n, const char *what, struct topo_req **out,
                 size_t *nout)
{
    int bad = 0;

    if (topo_ld_seq(ld, n, what) < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        struct topo_req *r = topo_push(out, *nout, sizeof(*r));
        int e;
        if (r == NULL)
            return ld->oom = 1, -ENOMEM;
        (*nout)++;
        if ((e = topo_ld_req(ld, topo_ld_node(ld, *i), what, r)) == -ENOMEM)
            return e;
        bad |= e;
    }
    return bad;
}

/* Checks that every `when` of M names one of M's properties. */
static int topo_module_check_when(struct topo_ld *ld, const struct topo_module *m)
{
    int bad = 0;
    for (size_t i = 0; i < m->nreqs; i++) {
        const struct topo_req *r = &m->reqs[i];
        size_t j;
        if (r->when_prop == NULL)
            continue;
        for (j = 0; j < m->nprops && strcmp(m->props[j].name, r->when_prop) != 0; j++)
            ;
        if (j == m->nprops) {
            engine_diag_add(ld->d, r->pos.file, r->pos.line, r->pos.col,
                            "requirement '%s': 'when' names property '%s', which module %s does "
                            "not declare",
                            r->name, r->when_prop, m->name);
            bad = -EINVAL;
        }
    }
    return bad;
}

struct topo_manifest_arg {
    const char *name;
    struct topo_module *m;
};

static int topo_manifest_parse(struct topo_ld *ld, void *arg)
{
    const char *name = ((struct topo_manifest_arg *)arg)->name;
    struct topo_module *m = ((struct topo_manifest_arg *)arg)->m;
    static const char *const keys[] = {"module",       "description",  "properties",
                                       "capabilities", "requirements", NULL};
    yaml_node_t *root = yaml_document_get_root_node(ld->doc), *v;
    const char *s;
    int bad = 0, e;

    m->pos = topo_ld_pos(ld, root);
    if (root == NULL)
        return topo_ld_err(ld, NULL, "empty manifest; expected module: %s", name);
    if (topo_ld_map(ld, root, "manifest", keys) < 0)
        return -EINVAL;
    if ((v = topo_ld_get(ld, root, "module")) == NULL)
        return topo_ld_err(ld, root, "manifest: expected a key 'module' naming the module (%s)",
                           name);
    if ((s = topo_ld_name(ld, v, "module")) == NULL)
        return -EINVAL;
    if (strcmp(s, name) != 0)
        return topo_ld_err(ld, v, "module '%s': expected '%s', the name of its directory", s, name);
    if ((m->name = topo_ld_strdup(ld, s)) == NULL)
        return -ENOMEM;
    if ((v = topo_ld_get(ld, root, "description")) != NULL) {
        if ((s = topo_ld_scalar(ld, v, "description")) == NULL)
            bad = -EINVAL;
        else if ((m->description = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((v = topo_ld_get(ld, root, "properties")) != NULL &&
        (e = topo_ld_propdefs(ld, v, "properties", 1, &m->props, &m->nprops)) < 0)
        bad = e;
    if ((v = topo_ld_get(ld, root, "capabilities")) != NULL &&
        (e = topo_ld_caps(ld, v, "capabilities", &m->caps, &m->ncaps)) < 0)
        bad = e;
    if ((v = topo_ld_get(ld, root, "requirements")) != NULL &&
        (e = topo_ld_reqs(ld, v, "requirements", &m->reqs, &m->nreqs)) < 0)
        bad = e;
    if (bad == -ENOMEM || ld->oom)
        return -ENOMEM;
    return bad ? bad : topo_module_check_when(ld, m);
}

static int topo_manifest_load(struct engine_topology *t, const char *dir, const char *name,
                              struct engine_diag *d)
{
    char *path = NULL;
    char *buf = NULL;
    size_t len = 0;
    struct topo_manifest_arg arg = {name, NULL};
    int r = 0;

    if (asprintf(&path, "%s/%s/manifest.yaml", dir, name) < 0)
        return -ENOMEM;
    if (access(path, F_OK) != 0) /* a directory without a manifest is not a module (yet) */
        goto cleanup;
    if ((r = topo_read_file(path, path, &buf, &len, d)) < 0)
        goto cleanup;
    if ((arg.m = topo_push(&t->mods, t->nmods, sizeof(*arg.m))) == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    t->nmods++;
    r = topo_with_document(t, path, buf, len, d, topo_manifest_parse, &arg);
cleanup:
    free(buf);
    free(path);
    return r;
}

static int topo_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int topo_catalog_load(struct engine_topology *t, const char *dir, struct engine_diag *d)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int r = 0, bad = 0;

    if (dp == NULL)
        return engine_diag_add(d, dir, 0, 0,
                               "cannot open the module catalogue (%s); set %s to the "
                               "directory holding guest/modules",
                               strerror(errno), ENGINE_TOPOLOGY_MODULES_ENV),
               -ENOENT;
    while ((e = readdir(dp)) != NULL) {
        char **slot;
        if (e->d_name[0] == '.' || !topo_name_valid(e->d_name))
            continue;
        if ((slot = topo_push(&names, n, sizeof(*slot))) == NULL ||
            (*slot = strdup(e->d_name)) == NULL) {
            r = -ENOMEM;
            goto cleanup;
        }
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), topo_name_cmp);
    for (size_t i = 0; i < n; i++) {
        r = topo_manifest_load(t, dir, names[i], d);
        if (r == -ENOMEM)
            goto cleanup;
        bad |= r < 0;
        r = 0;
    }
    if (bad)
        r = -EINVAL;
cleanup:
    closedir(dp);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}
