/* topology_csar.c — a topology out of a CSAR archive: imports resolved inside the archive, and
 * the files its node templates name (artifacts, implementations) required to be in it. */
#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csar.h"
#include "topology_yamldoc.h"

/* The directory part of ENTRY ("" at the top), a new string. */
static char *topo_entry_dir(const char *entry)
{
    const char *slash = strrchr(entry, '/');
    return strndup(entry, slash ? (size_t)(slash - entry) : 0);
}

static int topo_archive_file_doc(struct topo_ld *ld, void *arg);

/* An import REL (at FV) of the archive file F: resolved, read and loaded inside the archive (or
 * the template's directory: engine_csar_open_dir()). What keeps it from being read is said at
 * FV, in the importing file. */
static int topo_import_archive(struct topo_ld *ld, const struct topo_file *f, const yaml_node_t *fv,
                               const char *rel)
{
    struct topo_file sub = *f;
    struct engine_diag why_read = {0};
    int dir_mode = engine_csar_is_dir(f->csar);
    char *dir = topo_entry_dir(f->entry), *entry = NULL, *name = NULL, *buf = NULL;
    const char *why = NULL;
    size_t len;
    int r;

    if (dir == NULL)
        return ld->oom = 1, -ENOMEM;
    if ((r = engine_csar_resolve(dir, rel, &entry, &why)) < 0) {
        if (r == -EINVAL && dir_mode && rel[0] != '/')
            why = "it leaves the template's directory; expected a file inside it";
        if (r == -EINVAL)
            r = topo_ld_err(ld, fv, "import '%.64s': %s", rel, why);
        goto cleanup;
    }
    if ((r = topo_import_cycle(ld, f, fv, rel, entry)) != 0)
        goto cleanup;
    if ((r = topo_file_seen(f, entry)) != 0) { /* a diamond: read once */
        r = r > 0 ? 0 : r;
        goto cleanup;
    }
    if ((name = engine_csar_path(f->csar, entry)) == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    if ((r = engine_csar_read(f->csar, entry, &buf, &len, &why_read)) < 0) {
        if (r == -ENOENT && dir_mode)
            r = topo_ld_err(ld, fv, "import '%.64s': cannot open %s: %s", rel, name,
                            strerror(ENOENT));
        else if (r == -ENOENT)
            r = topo_ld_err(ld, fv, "import '%.64s': %s is not a file of the archive %s", rel,
                            entry, engine_csar_name(f->csar));
        else if (r == -EINVAL)
            r = topo_ld_err(ld, fv, "import '%.64s': %s: %s", rel, name,
                            why_read.n > 0 ? why_read.v[0].msg : "cannot read");
        goto cleanup;
    }
    sub.name = name;
    sub.entry = entry;
    sub.key = entry;
    sub.up = f;
    r = topo_load_import(ld, &sub, buf, len);
cleanup:
    if (r == -ENOMEM)
        ld->oom = 1;
    engine_diag_free(&why_read);
    free(buf);
    free(name);
    free(entry);
    free(dir);
    return r;
}

/* REF, named at N by WHAT of node NODE, must be a file of the archive unless it is a URL (which
 * unisec does not fetch, as it does not fetch imports). */
static int topo_archive_ref(struct topo_ld *ld, const struct topo_file *f, const char *dir,
                            const yaml_node_t *n, const char *what, const char *node)
{
    const char *ref, *why = NULL;
    char *entry = NULL;
    int r;

    if (n == NULL || n->type != YAML_SCALAR_NODE)
        return 0; /* the reader says what is wrong with its form */
    ref = (const char *)n->data.scalar.value;
    if (strstr(ref, "://") != NULL)
        return 0;
    if ((r = engine_csar_resolve(dir, ref, &entry, &why)) == -ENOMEM)
        return ld->oom = 1, r;
    if (r < 0)
        return topo_ld_err(ld, n, "node %s: %s '%.200s': %s", node, what, ref, why);
    if (!engine_csar_has_file(f->csar, entry))
        r = topo_ld_err(ld, n, "node %s: %s '%.200s': %s is not a file of the archive %s", node,
                        what, ref, entry, engine_csar_name(f->csar));
    free(entry);
    return r;
}

/* Whether NAME is the name of an artifact in ARTS (a node template's `artifacts`). */
static int topo_archive_artifact(struct topo_ld *ld, const yaml_node_t *arts, const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE &&
           topo_ld_get(ld, arts, (const char *)n->data.scalar.value) != NULL;
}

/* The implementations of the operations in one interface of a node template: each the name
 * of one of the node's artifacts (ARTS) or a file of the archive. 1.3 puts operations under
 * `operations`. */
static int topo_archive_ops(struct topo_ld *ld, const struct topo_file *f, const char *dir,
                            const yaml_node_t *iface, const yaml_node_t *arts, const char *node,
                            int depth)
{
    int bad = 0;

    if (iface->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = iface->data.mapping.pairs.start; p < iface->data.mapping.pairs.top;
         p++) {
        yaml_node_t *impl = topo_ld_node(ld, p->value);
        const yaml_node_t *k = topo_ld_node(ld, p->key);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        if (depth == 0 && strcmp(key, "operations") == 0) {
            bad |= topo_archive_ops(ld, f, dir, impl, arts, node, 1);
            continue;
        }
        if (impl->type == YAML_MAPPING_NODE)
            impl = topo_ld_get(ld, impl, "implementation");
        if (impl != NULL && impl->type == YAML_MAPPING_NODE)
            impl = topo_ld_get(ld, impl, "primary");
        if (!topo_archive_artifact(ld, arts, impl))
            bad |= topo_archive_ref(ld, f, dir, impl, "implementation", node);
    }
    return bad;
}

/* tosca-parser's check of a CSAR's files (and CSAR 1.3 section 4.3: the archive holds what it
 * refers to): every artifact file and operation implementation of a node template. */
static int topo_archive_refs(struct topo_ld *ld, const struct topo_file *f)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    yaml_node_t *nts =
        topo_ld_get(ld, topo_ld_get(ld, root, "topology_template"), "node_templates");
    char *dir;
    int bad = 0;

    if (nts == NULL || nts->type != YAML_MAPPING_NODE)
        return 0;
    if ((dir = topo_entry_dir(f->entry)) == NULL)
        return ld->oom = 1, -ENOMEM;
    for (yaml_node_pair_t *p = nts->data.mapping.pairs.start; p < nts->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value), *x;
        const char *node = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        const yaml_node_t *arts = topo_ld_get(ld, v, "artifacts");
        if ((x = arts) != NULL && x->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *a = x->data.mapping.pairs.start; a < x->data.mapping.pairs.top;
                 a++) {
                yaml_node_t *av = topo_ld_node(ld, a->value);
                if (av->type == YAML_MAPPING_NODE)
                    av = topo_ld_get(ld, av, "file");
                bad |= topo_archive_ref(ld, f, dir, av, "artifact", node);
            }
        if ((x = topo_ld_get(ld, v, "interfaces")) != NULL && x->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *i = x->data.mapping.pairs.start; i < x->data.mapping.pairs.top;
                 i++)
                bad |= topo_archive_ops(ld, f, dir, topo_ld_node(ld, i->value), arts, node, 0);
    }
    free(dir);
    return ld->oom ? -ENOMEM : bad;
}

/* A file's document into the model, then the files its node templates name checked. */
static int topo_archive_file_doc(struct topo_ld *ld, void *arg)
{
    int r = topo_load_file_doc(ld, arg), refs;

    if (r == -ENOMEM || ld->oom)
        return -ENOMEM;
    if ((refs = topo_archive_refs(ld, arg)) == -ENOMEM)
        return refs;
    return r < 0 ? r : refs;
}

/* Is V the scalar ARG (a tosca_definitions_version)? */
static int topo_csar_scalar_is(const yaml_node_t *v, const void *arg)
{
    return v->type == YAML_SCALAR_NODE && strcmp((const char *)v->data.scalar.value, arg) == 0;
}

int engine_topology_load_csar(struct engine_topology **out, struct engine_csar *c,
                              struct engine_diag *d)
{
    return engine_topology_load_csar_given(out, c, NULL, d);
}

int engine_topology_load_csar_given(struct engine_topology **out, struct engine_csar *c,
                                    const struct engine_topology_given *given,
                                    struct engine_diag *d)
{
    const char *entry = engine_csar_entry(c);
    char *buf = NULL, *name = NULL;
    size_t len;
    int r;

    *out = NULL;
    if ((r = engine_csar_read(c, entry, &buf, &len, d)) < 0)
        return r == -ENOENT ? -EINVAL : r;
    if ((name = engine_csar_path(c, entry)) == NULL) {
        free(buf);
        return -ENOMEM;
    }
    {
        const struct topo_file archive = {
            .csar = c,
            .entry = entry,
            .import = topo_import_archive,
            /* a template's directory is not an archive: its files are not kept with it, and
             * `unisec check` of the template does not look for them */
            .doc = engine_csar_is_dir(c) ? NULL : topo_archive_file_doc,
            .inputs = given ? given->text : NULL,
            .inputs_len = given ? given->len : 0,
            .inputs_name = given ? given->name : NULL,
        };
        /* The archive without TOSCA-Metadata came with the Simple Profile 1.1 (1.3 section 4.2.2);
         * 1.0 knows only the metadata file (1.0 section 16.1). Checked first: the archive's form
         * is wrong whatever the template says. */
        if (!engine_csar_is_dir(c) && !engine_csar_has_meta(c) &&
            (r = topo_yaml_peek(buf, len, "tosca_definitions_version", topo_csar_scalar_is,
                                "tosca_simple_yaml_1_0")) != 0)
            r = r < 0 ? r
                      : engine_diag_add(d, engine_csar_name(c), 0, 0,
                                        "no %s; expected it in an archive of "
                                        "tosca_simple_yaml_1_0 (an archive without it needs "
                                        "version 1.1 or later)",
                                        ENGINE_CSAR_META);
        else
            r = topo_load_root(out, buf, len, name, ".", entry, &archive, d);
    }
    free(name);
    free(buf);
    return r;
}
