/*
 * fs_path.c — a path of the mount against the table of the tree (fs_tree.c) and the served
 * state: which row it is (a node, a property, an input, a rules file or an image that
 * exists), and the names of a directory of it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_inputs.h"
#include "orch/orch.h"

/* Splits PATH ("/a/b/c") into W->dir ("a/b") and W->name ("c"); -ENAMETOOLONG or 0. */
static int fs_split(const char *path, struct fs_where *w)
{
    const char *p = path[0] == '/' ? path + 1 : path, *slash = strrchr(p, '/');
    size_t dl = slash != NULL ? (size_t)(slash - p) : 0;
    const char *name = slash != NULL ? slash + 1 : p;

    if (dl >= sizeof(w->dir) || strlen(name) > FS_NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(w->dir, p, dl);
    w->dir[dl] = '\0';
    strcpy(w->name, name);
    return 0;
}

/*
 * Does the relative path P match PATTERN? Each '*' takes one segment: the first into NODE,
 * the second into PROP (both FS_NAME_MAX + 1 bytes).
 */
static int fs_pattern_match(const char *pattern, const char *p, char *node, char *prop)
{
    int star = 0;

    for (;;) {
        const char *pe = strchr(pattern, '/'), *se = strchr(p, '/');
        size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
        size_t sl = se ? (size_t)(se - p) : strlen(p);
        if (pl == 1 && pattern[0] == '*') {
            char *dst = star++ == 0 ? node : prop;
            if (sl == 0 || sl > FS_NAME_MAX)
                return 0;
            memcpy(dst, p, sl);
            dst[sl] = '\0';
        } else if (pl != sl || memcmp(pattern, p, pl) != 0) {
            return 0;
        }
        if ((pe == NULL) != (se == NULL))
            return 0;
        if (pe == NULL)
            return 1;
        pattern = pe + 1;
        p = se + 1;
    }
}

/* Is ID an image the orchestrator built (a directory of its image directory)? */
static int fs_image_exists(struct fs_ctx *c, const char *id)
{
    char path[PATH_MAX];
    struct stat st;
    size_t n = strlen(id);

    if (c->image_dir == NULL || n != 40 || strspn(id, "0123456789abcdef") != n)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", c->image_dir, id);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* nodes/NODE/image: "../../images/ID" of the image NODE runs; -ENOENT when none. */
int fs_image_link(struct fs_ctx *c, const char *node, char *buf, size_t size)
{
    char id[41];

    if (c->orch == NULL || orch_node_image(c->orch, node, id) < 0)
        return -ENOENT;
    snprintf(buf, size, "../../images/%s", id);
    return 0;
}

/* The row of relative path P whose node and property exist in the served state, or NULL. A
 * rules file that does not exist but whose name a write could make sets *ABSENT. */
static const struct fs_entry *fs_match(struct fs_ctx *c, const char *p, char *node, char *prop,
                                       int *absent)
{
    const struct fs_entry *found = NULL;
    struct fs_snap *s = NULL;

    node[0] = prop[0] = '\0';
    *absent = 0;
    for (size_t i = 0; i < fs_tree_n && found == NULL; i++) {
        if (!fs_pattern_match(fs_tree[i].pattern, p, node, prop))
            continue;
        if (node[0] == '\0') {
            found = &fs_tree[i];
            break;
        }
        if (strncmp(fs_tree[i].pattern, "images/", 7) == 0) {
            found = fs_image_exists(c, node) ? &fs_tree[i] : NULL;
            break;
        }
        if (fs_tree[i].write == FS_W_INPUT) { /* an input the served template declares */
            found = fs_input_has(s = fs_snap_get(c), node) ? &fs_tree[i] : NULL;
            break;
        }
        if (fs_tree[i].write == FS_W_RULES) {
            /* A rules file the state holds (even one committed from outside under a name
             * the mount keeps for editors, `4913`), or a name a write may make: not one of
             * editors' temporary names, which stay temporary files. */
            s = fs_snap_get(c);
            *absent = fs_rules_find(&s->acld, node) == NULL;
            if (!*absent || (!fs_name_is_temp(node) && engine_acl_d_name(node) == 0))
                found = &fs_tree[i];
            break;
        }
        if (s == NULL)
            s = fs_snap_get(c);
        const struct engine_topology_node *n = fs_node(s, node);
        if (n != NULL && (prop[0] == '\0' || engine_topology_node_prop(n, prop) != NULL) &&
            (!fs_tree[i].runs_only || engine_topology_node_runs(n)))
            found = &fs_tree[i];
        else
            break; /* a literal row never follows a starred one for the same path */
    }
    fs_snap_put(c, s);
    return found;
}

/* Finds PATH's row in the tree (W->e), or leaves it NULL. */
int fs_resolve(struct fs_ctx *c, const char *path, struct fs_where *w)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    int rc;

    if ((rc = fs_split(path, w)) < 0)
        return rc;
    w->e = fs_match(c, p, w->node, w->prop, &w->absent);
    return 0;
}

/* The row of directory DIR ("" for the root), or NULL. */
const struct fs_entry *fs_dir_entry(struct fs_ctx *c, const char *dir)
{
    char node[FS_NAME_MAX + 1], prop[FS_NAME_MAX + 1];
    int absent;
    const struct fs_entry *e = fs_match(c, dir, node, prop, &absent);

    return e != NULL && S_ISDIR(e->mode) ? e : NULL;
}

/* Whether unisec runs NODE (its runs_only rows are there). */
static int fs_runs(struct fs_ctx *c, const char *node)
{
    struct fs_snap *s = fs_snap_get(c);
    const struct engine_topology_node *n = fs_node(s, node);
    int runs = n != NULL && engine_topology_node_runs(n);

    fs_snap_put(c, s);
    return runs;
}

/* The entries of images/: every image built for this mount. */
static void fs_images_list(struct fs_ctx *c, fs_list_fn fn, void *arg)
{
    DIR *dir = c->image_dir != NULL ? opendir(c->image_dir) : NULL;
    struct dirent *e;

    while (dir != NULL && (e = readdir(dir)) != NULL)
        if (fs_image_exists(c, e->d_name))
            fn(arg, e->d_name);
    if (dir != NULL)
        closedir(dir);
}

int fs_tree_list(struct fs_ctx *c, const char *p, fs_list_fn fn, void *arg)
{
    char node[FS_NAME_MAX + 1], prop[FS_NAME_MAX + 1];
    int absent;
    const struct fs_entry *d = fs_match(c, p, node, prop, &absent);
    size_t dl;

    if (d == NULL || !S_ISDIR(d->mode))
        return d == NULL ? -ENOENT : -ENOTDIR;
    dl = strlen(d->pattern);
    fn(arg, ".");
    fn(arg, "..");
    /* The rows one segment below D's pattern; a starred one stands for every node or
     * every property of the node. */
    for (size_t i = 0; i < fs_tree_n; i++) {
        const char *q = fs_tree[i].pattern;
        if (q[0] == '\0')
            continue;
        if (dl > 0 && (strncmp(q, d->pattern, dl) != 0 || q[dl] != '/'))
            continue;
        q += dl > 0 ? dl + 1 : 0;
        if (strchr(q, '/') != NULL)
            continue;
        if (fs_tree[i].runs_only && !fs_runs(c, node))
            continue;
        if (strcmp(q, "image") == 0 && strcmp(d->pattern, "nodes/*") == 0) {
            char link[PATH_MAX];
            if (fs_image_link(c, node, link, sizeof(link)) == 0)
                fn(arg, q);
            continue;
        }
        if (strcmp(q, "*") != 0) {
            fn(arg, q);
            continue;
        }
        if (strcmp(d->pattern, "images") == 0) {
            fs_images_list(c, fn, arg);
            continue;
        }
        struct fs_snap *s = fs_snap_get(c);
        if (strcmp(d->pattern, FS_RULES_DIR) == 0) {
            for (size_t k = 0; k < s->acld.n; k++)
                fn(arg, s->acld.v[k]->name);
        } else if (strcmp(d->pattern, "inputs") == 0) {
            fs_inputs_list(s, fn, arg);
        } else if (s->model != NULL && node[0] == '\0') {
            for (size_t n = 0; n < engine_topology_node_count(s->model->t); n++)
                fn(arg, engine_topology_node_at(s->model->t, n)->name);
        } else if (s->model != NULL) {
            const struct engine_topology_node *nd = fs_node(s, node);
            for (size_t k = 0; nd != NULL && k < nd->nprops; k++)
                fn(arg, nd->props[k].name);
        }
        fs_snap_put(c, s);
    }
    return 0;
}
