/*
 * fs_tree.c — the table of the mount's tree: every path the mount serves, what each file
 * holds (its generator) and what a write to it changes. Resolving a path against the table
 * and the served state, and listing a directory of it, are fs_path.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "engine/json.h"
#include "fs_inputs.h"
#include "orch/orch.h"

static const char fs_readme[] =
    "unisec mount: the desired state of a unikernel cloud as files (see fs/MOUNT.md).\n"
    "\n"
    "  topology.yaml        the SecTOSCA topology the mount serves (rw)\n"
    "  inputs.yaml          the values of its inputs (rw); inputs/NAME one of them (rw)\n"
    "  nodes/NODE/security_level   its current level (rw), e.g. echo critical > ...\n"
    "  nodes/NODE/properties/NAME  its scalar properties (rw)\n"
    "  nodes/NODE/{security_levels,type,template.yaml,status,status.json}\n"
    "  nodes/NODE/{modules,pdp,acl,console,access_log}  of a node unisec runs (a\n"
    "                       unikernel); the others (Compute, Database, ...) are kept,\n"
    "                       not run: see status\n"
    "  nodes/NODE/tls/cert  its TLS certificate chain (rw, PEM; committed)\n"
    "  nodes/NODE/tls/key   its private key (write-only; never committed: see key.fingerprint)\n"
    "  policy/acl           access-control rules (rw; validated as a whole)\n"
    "  policy/acl.d/NAME    more rules files, read after policy/acl in byte order of NAME\n"
    "                       (create, write, remove; each committed on its own)\n"
    "  policy/groups        group membership (rw)\n"
    "  policy/credentials   hashed credentials only (rw; plaintext is refused)\n"
    "  history              the latest commits of main (deployments: git log\n"
    "                       refs/unisec/deployed/HOST in the store)\n"
    "  events               what happens, as it happens (tail -f events; owner and group\n"
    "                       only, as errors and events.json: a refusal may quote a secret)\n"
    "  errors               the latest refused changes and why\n"
    "  settle               blocks until pending work has converged, then says so\n"
    "  events.json          events, one JSON object a line (time, level, message)\n"
    "  settle.json          settle as one JSON object (commit, nodes, failed, status)\n"
    "  metrics              counts in Prometheus' text format (commits, builds, swaps, ...)\n"
    "  tosca/               derived: unitosca.yaml, tosca.yaml, p_so.json, p_ug.json,\n"
    "                       topology.dot (regenerated with every accepted change)\n"
    "  nodes/NODE/image     symlink to the image NODE runs, images/ID\n"
    "  images/ID/           built images: manifest.json, image, build.log\n"
    "\n"
    "A write is applied when the file is closed: close(2) returns its error (EINVAL,\n"
    "EACCES, ENOENT, EFBIG, ENOSPC) and `errors` says why. Every accepted change is one\n"
    "git commit in the store, authored by the writer.\n";

static int fs_gen_readme(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                         FILE *out)
{
    (void)c, (void)s, (void)w;
    fputs(fs_readme, out);
    return 0;
}

static const struct fs_text *fs_text_store_file(const struct fs_snap *s, const struct fs_where *w)
{
    return &s->file[w->e->file];
}

static const struct fs_text *fs_text_rules_file(const struct fs_snap *s, const struct fs_where *w)
{
    const struct fs_rules *r = fs_rules_find(&s->acld, w->node);

    return r != NULL ? &r->text : NULL;
}

static int fs_history_cb(const struct engine_store_commit_info *info, void *arg)
{
    char ts[32];

    fs_time_format(ts, sizeof(ts), (time_t)info->time);
    fprintf((FILE *)arg, "%.12s %s %s %s\n", info->id, ts, info->author_name, info->summary);
    return 0;
}

/* Kept for the head it was made at: a stat (ls, the kernel's lookup at each touch of
 * fs_touch.c) would otherwise read 100 commits from git each time. */
static int fs_gen_history(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                          FILE *out)
{
    char head[41], *buf = NULL;
    size_t len = 0;
    FILE *f;

    (void)s, (void)w;
    engine_store_head(c->store, head, NULL);
    pthread_mutex_lock(&c->mu);
    if (c->history.data != NULL && strcmp(c->history_head, head) == 0) {
        fwrite(c->history.data, 1, c->history.len, out);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    pthread_mutex_unlock(&c->mu);
    if ((f = open_memstream(&buf, &len)) == NULL)
        return -ENOMEM;
    int r = engine_store_log(c->store, FS_HISTORY_MAX, fs_history_cb, f, NULL);
    if (fclose(f) != 0 || r < 0) {
        free(buf);
        return r < 0 ? -EIO : -ENOMEM;
    }
    fwrite(buf, 1, len, out);
    pthread_mutex_lock(&c->mu);
    fs_text_free(&c->history);
    c->history.data = buf;
    c->history.len = len;
    memcpy(c->history_head, head, sizeof(head));
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* ---- nodes/<node>/... ---- */

const struct engine_topology_node *fs_node(const struct fs_snap *s, const char *name)
{
    return s->model != NULL ? engine_topology_node_find(s->model->t, name) : NULL;
}

/* The image NODE runs at its current level, as derived. */
static const struct engine_topology_image *fs_image(const struct fs_snap *s, const char *node)
{
    const struct engine_topology_derived *d = fs_snap_derived((struct fs_snap *)s);
    const struct engine_topology_plan *p = d != NULL ? engine_topology_derived_find(d, node) : NULL;
    return p != NULL && p->current < p->nimages ? &p->images[p->current] : NULL;
}

static int fs_gen_level(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                        FILE *out)
{
    const char *v = engine_topology_state_level(s->state, w->node);

    (void)c;
    if (v == NULL)
        return -ENOENT;
    fprintf(out, "%s\n", v);
    return 0;
}

static int fs_gen_levels(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                         FILE *out)
{
    const struct engine_topology_node *n = fs_node(s, w->node);

    (void)c;
    if (n == NULL)
        return -ENOENT;
    for (size_t i = 0; i < n->nlevels; i++)
        fprintf(out, "%s\n", n->levels[i]);
    return 0;
}

static int fs_gen_type(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                       FILE *out)
{
    const struct engine_topology_node *n = fs_node(s, w->node);

    (void)c;
    if (n == NULL)
        return -ENOENT;
    fprintf(out, "%s\n", n->type);
    return 0;
}

static int fs_gen_property(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                           FILE *out)
{
    const char *v = engine_topology_state_property_shown(s->state, w->node, w->prop);

    (void)c;
    if (v != NULL) /* a property without a value reads as an empty file */
        fprintf(out, "%s\n", v);
    return 0;
}

static int fs_gen_modules(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                          FILE *out)
{
    const struct engine_topology_image *img = fs_image(s, w->node);

    (void)c;
    if (img == NULL)
        return -ENOENT;
    for (size_t i = 0; i < img->nmodules; i++)
        fprintf(out, "%s\n", img->modules[i].name);
    return 0;
}

static int fs_gen_pdp(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                      FILE *out)
{
    const struct engine_topology_image *img = fs_image(s, w->node);

    (void)c;
    if (img == NULL)
        return -ENOENT;
    fprintf(out, "%s\n", engine_pdp_name(img->pdp));
    return 0;
}

/* The rules of the node's policy at its current level, in the policy language. */
static int fs_gen_acl(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                      FILE *out)
{
    const struct engine_topology_image *img = fs_image(s, w->node);
    struct engine_acl_blob b;
    struct engine_acl_rule_view v;
    const struct engine_acl *acl;
    void *blob = NULL;
    size_t len = 0;
    char line[4096];

    (void)c;
    if (img == NULL)
        return -ENOENT;
    if (img->policy == NULL) {
        fprintf(out, "# %s at level %s enforces no access control\n", w->node, img->level);
        return 0;
    }
    fprintf(out, "# %s at level %s: policy %s, pdp %s\n", w->node, img->level, img->policy,
            engine_pdp_name(img->pdp));
    if ((acl = fs_snap_acl(s)) == NULL)
        return -ENOMEM;
    if (!engine_acl_has_policy(acl, img->policy)) {
        fprintf(out, "# policy/acl has no rule of policy %s: every request is denied\n",
                img->policy);
        return 0;
    }
    if (engine_acl_compile(&blob, &len, acl, img->policy, 0) < 0)
        return -ENOMEM;
    if (engine_acl_blob_open(&b, blob, len, NULL) == 0) {
        for (uint32_t i = 0; engine_acl_blob_rule(&b, i, &v) == 0; i++) {
            engine_acl_rule_format(line, sizeof(line), &v);
            fprintf(out, "%s\n", line);
        }
    }
    free(blob);
    return 0;
}

/* The host whose records tell what runs NODE: the one S places it on, for a daemon that
 * serves one host; this daemon's own (it runs every node) otherwise. */
static const char *fs_node_host(struct fs_ctx *c, struct fs_snap *s, const char *node)
{
    const struct engine_topology_derived *d = fs_snap_derived(s);
    const struct engine_topology_plan *p = d != NULL ? engine_topology_derived_find(d, node) : NULL;

    return c->host_name != NULL && p != NULL && p->host != NULL ? p->host : fs_record_host(c);
}

/* A node unisec keeps in the model and does not run: why, or NULL for a node it runs. */
static const char *fs_not_run(const struct fs_snap *s, const char *node)
{
    const struct engine_topology_node *n = fs_node(s, node);
    return n != NULL && !engine_topology_node_runs(n)
               ? "its type has no unikernel modules: unisec keeps it in the model and runs "
                 "nothing for it"
               : NULL;
}

/* nodes/<node>/status and status.json: what the orchestrator and the supervisor say, and what
 * the node's host last recorded of it. */
static int fs_gen_status(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                         FILE *out)
{
    const char *why = fs_not_run(s, w->node);
    int rc;

    if (why != NULL) {
        fprintf(out, "not run (%s): %s\n", fs_node(s, w->node)->type, why);
        return 0;
    }
    if (c->orch == NULL) {
        fprintf(out, "not running (--no-run)\n");
        return 0;
    }
    if ((rc = orch_status(c->orch, w->node, out)) < 0)
        return rc;
    fs_record_status(c, w->node, fs_node_host(c, (struct fs_snap *)s, w->node), out);
    return 0;
}

static int fs_gen_status_json(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                              FILE *out)
{
    const struct engine_topology_image *img = fs_image(s, w->node);
    char *buf = NULL, *text = NULL;
    size_t len = 0;
    json_t *j;
    FILE *f;
    int rc;
    const char *why = fs_not_run(s, w->node);

    if (why != NULL) {
        j = json_pack("{s:s, s:s, s:s, s:s}", "node", w->node, "state", "not run", "type",
                      fs_node(s, w->node)->type, "why", why);
        rc = engine_json_dumps(&text, NULL, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (rc < 0)
            return rc;
        fputs(text, out);
        free(text);
        return 0;
    }
    if (img == NULL)
        return -ENOENT;
    if (c->orch == NULL) {
        fprintf(out,
                "{\"node\": \"%s\", \"state\": \"not running\", \"level\": \"%s\", "
                "\"image\": null, \"policy_version_acked\": null, \"pid\": null, "
                "\"since\": null, \"why\": \"the mount runs with --no-run\"}\n",
                w->node, img->level);
        return 0;
    }
    if ((f = open_memstream(&buf, &len)) == NULL)
        return -ENOMEM;
    rc = orch_status_json(c->orch, w->node, f);
    if (fclose(f) != 0 || rc < 0) {
        free(buf);
        return rc < 0 ? rc : -ENOMEM;
    }
    /* The orchestrator's object, with what the node's host last recorded. */
    if ((j = json_loadb(buf, len, 0, NULL)) == NULL) {
        free(buf);
        return -EIO;
    }
    free(buf);
    json_object_set_new(
        j, "deployed",
        fs_record_status_json(c, w->node, fs_node_host(c, (struct fs_snap *)s, w->node)));
    rc = engine_json_dumps(&text, NULL, j, JSON_INDENT(2));
    json_decref(j);
    if (rc < 0)
        return rc;
    fputs(text, out);
    free(text);
    return 0;
}

/* nodes/NODE/template.yaml: the node template as topology.yaml writes it, get_input resolved
 * to the values in force. */
static int fs_gen_template(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                           FILE *out)
{
    const struct fs_text *t = &s->file[FS_FILE_TOPOLOGY];
    char *text = NULL;
    size_t len = 0;
    int r;

    (void)c;
    if ((r = engine_topology_node_template(&text, &len, t->data, t->len, w->node, s->model->t)) < 0)
        return r == -ENOMEM ? r : -EIO; /* the served topology loaded: it has the node */
    fwrite(text, 1, len, out);
    free(text);
    return 0;
}

/* images/<id>/<file>: the file the builder wrote. */
/* tosca/NAME: the interpreters' artifacts for the served state. */
static int fs_gen_artifact(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                           FILE *out)
{
    const struct engine_topology_derived *d = fs_snap_artifacts((struct fs_snap *)s);
    const char *text;
    size_t len = 0;

    (void)c;
    if (d == NULL)
        return -ENOMEM;
    for (int a = 0; a < ENGINE_ARTIFACT_COUNT; a++) {
        if (strcmp(engine_topology_artifact_name(a), w->name) != 0)
            continue;
        if ((text = engine_topology_derived_artifact(d, a, &len)) == NULL)
            return -EIO;
        fwrite(text, 1, len, out);
        return 0;
    }
    return -ENOENT;
}

/* The tree (fs/MOUNT.md). Fields left out are 0: read-only, no live log, no temporary files. */
const struct fs_entry fs_tree[] = {
    {.pattern = "", .mode = S_IFDIR | 0755, .temp_dir = 1},
    {.pattern = "README", .mode = S_IFREG | 0444, .gen = fs_gen_readme},
    {.pattern = "topology.yaml",
     .mode = S_IFREG | 0644,
     .tracked = 1,
     .text = fs_text_store_file,
     .write = FS_W_FILE,
     .file = FS_FILE_TOPOLOGY},
    {.pattern = "inputs.yaml", /* may hold secrets, as policy/credentials does */
     .mode = S_IFREG | 0640,
     .text = fs_text_store_file,
     .write = FS_W_FILE,
     .file = FS_FILE_INPUTS,
     .tracked = 1},
    {.pattern = "inputs", .mode = S_IFDIR | 0755},
    {.pattern = "inputs/*", .mode = S_IFREG | 0640, .gen = fs_gen_input, .write = FS_W_INPUT},
    {.pattern = "history", .mode = S_IFREG | 0444, .gen = fs_gen_history, .tracked = 1},
    /* A refusal may quote the value refused (a mistyped secret): the owner and group only. */
    {.pattern = "events", .mode = S_IFREG | 0440, .live = FS_LIVE_EVENTS},
    {.pattern = "events.json", .mode = S_IFREG | 0440, .live = FS_LIVE_EVENTS_JSON},
    {.pattern = "errors", .mode = S_IFREG | 0440, .live = FS_LIVE_ERRORS},
    {.pattern = "settle", .mode = S_IFREG | 0444, .gen = fs_gen_settle, .at_open = 1},
    {.pattern = "settle.json", .mode = S_IFREG | 0444, .gen = fs_gen_settle_json, .at_open = 1},
    {.pattern = "metrics", .mode = S_IFREG | 0444, .gen = fs_gen_metrics},
    {.pattern = "nodes", .mode = S_IFDIR | 0555},
    {.pattern = "nodes/*", .mode = S_IFDIR | 0755, .temp_dir = 1},
    {.pattern = "nodes/*/security_level",
     .mode = S_IFREG | 0644,
     .tracked = 1,
     .gen = fs_gen_level,
     .write = FS_W_LEVEL},
    {.pattern = "nodes/*/security_levels", .mode = S_IFREG | 0444, .gen = fs_gen_levels},
    {.pattern = "nodes/*/type", .mode = S_IFREG | 0444, .gen = fs_gen_type},
    {.pattern = "nodes/*/template.yaml", .mode = S_IFREG | 0444, .gen = fs_gen_template},
    {.pattern = "nodes/*/properties", .mode = S_IFDIR | 0755, .temp_dir = 1},
    {.pattern = "nodes/*/properties/*",
     .mode = S_IFREG | 0644,
     .gen = fs_gen_property,
     .write = FS_W_PROPERTY},
    {.pattern = "nodes/*/modules", .mode = S_IFREG | 0444, .gen = fs_gen_modules, .runs_only = 1},
    {.pattern = "nodes/*/pdp", .mode = S_IFREG | 0444, .gen = fs_gen_pdp, .runs_only = 1},
    {.pattern = "nodes/*/acl", .mode = S_IFREG | 0444, .gen = fs_gen_acl, .runs_only = 1},
    {.pattern = "nodes/*/status", .mode = S_IFREG | 0444, .gen = fs_gen_status, .tracked = 1},
    {.pattern = "nodes/*/status.json",
     .mode = S_IFREG | 0444,
     .gen = fs_gen_status_json,
     .tracked = 1},
    {.pattern = "nodes/*/console", .mode = S_IFREG | 0444, .live = FS_LIVE_CONSOLE, .runs_only = 1},
    {.pattern = "nodes/*/access_log",
     .mode = S_IFREG | 0444,
     .live = FS_LIVE_ACCESS,
     .runs_only = 1},
    {.pattern = "nodes/*/image", .mode = S_IFLNK | 0777, .runs_only = 1},
    /* No editor's temporary file here: a swap file would hold the private key. */
    {.pattern = "nodes/*/tls", .mode = S_IFDIR | 0755},
    {.pattern = "nodes/*/tls/cert",
     .mode = S_IFREG | 0644,
     .gen = fs_gen_tls,
     .write = FS_W_TLS_CERT},
    {.pattern = "nodes/*/tls/key",
     .mode = S_IFREG | 0200,
     .gen = fs_gen_tls,
     .write = FS_W_TLS_KEY},
    {.pattern = "nodes/*/tls/key.fingerprint", .mode = S_IFREG | 0444, .gen = fs_gen_tls},
    {.pattern = "images", .mode = S_IFDIR | 0555},
    {.pattern = "images/*", .mode = S_IFDIR | 0555},
    {.pattern = "images/*/manifest.json",
     .mode = S_IFREG | 0444,
     .gen = fs_gen_image_file,
     .disk = 1},
    {.pattern = "images/*/image", .mode = S_IFREG | 0444, .gen = fs_gen_image_file, .disk = 1},
    {.pattern = "images/*/build.log", .mode = S_IFREG | 0444, .gen = fs_gen_image_file, .disk = 1},
    {.pattern = "tosca", .mode = S_IFDIR | 0555},
    {.pattern = "tosca/unitosca.yaml", .mode = S_IFREG | 0444, .gen = fs_gen_artifact},
    {.pattern = "tosca/tosca.yaml", .mode = S_IFREG | 0444, .gen = fs_gen_artifact},
    {.pattern = "tosca/p_so.json", .mode = S_IFREG | 0444, .gen = fs_gen_artifact},
    {.pattern = "tosca/p_ug.json", .mode = S_IFREG | 0444, .gen = fs_gen_artifact},
    {.pattern = "tosca/topology.dot", .mode = S_IFREG | 0444, .gen = fs_gen_artifact},
    {.pattern = "policy", .mode = S_IFDIR | 0755, .temp_dir = 1},
    {.pattern = "policy/acl",
     .mode = S_IFREG | 0644,
     .tracked = 1,
     .text = fs_text_store_file,
     .write = FS_W_FILE,
     .file = FS_FILE_ACL},
    {.pattern = "policy/groups",
     .mode = S_IFREG | 0644,
     .text = fs_text_store_file,
     .write = FS_W_FILE,
     .file = FS_FILE_GROUPS,
     .tracked = 1},
    {.pattern = "policy/credentials",
     .mode = S_IFREG | 0640,
     .text = fs_text_store_file,
     .write = FS_W_FILE,
     .file = FS_FILE_CREDENTIALS,
     .tracked = 1},
    {.pattern = FS_RULES_DIR, .mode = S_IFDIR | 0755, .temp_dir = 1},
    {.pattern = FS_RULES_DIR "/*",
     .mode = S_IFREG | 0644,
     .text = fs_text_rules_file,
     .write = FS_W_RULES,
     .tracked = 1},
};

const size_t fs_tree_n = sizeof(fs_tree) / sizeof(fs_tree[0]);

/* ---- a row's content and what a write to it changes ---- */

int fs_writable(const struct fs_entry *e)
{
    return e->write != FS_W_NONE;
}

int fs_served_text(struct fs_ctx *c, const struct fs_where *w, struct fs_text *out)
{
    struct fs_snap *s;
    const struct fs_text *t;
    int rc;

    *out = (struct fs_text){0};
    s = fs_snap_get(c);
    t = w->e->text(s, w);
    rc = t == NULL ? -ENOENT : fs_text_share(out, t);
    fs_snap_put(c, s);
    return rc;
}

/* Generates the content of W's file into a new buffer: a served text in one copy of its size
 * (a policy of a million rules is 40 MB), any other through a stream. */
int fs_generate(struct fs_ctx *c, const struct fs_where *w, char **out, size_t *len)
{
    struct fs_text t;
    struct fs_snap *s;
    FILE *f;
    int rc;

    *out = NULL;
    *len = 0;
    if (w->e->text != NULL) {
        if ((rc = fs_served_text(c, w, &t)) == 0 && (*out = malloc(t.len + 1)) == NULL)
            rc = -ENOMEM;
        else if (rc == 0) {
            if (t.len > 0)
                memcpy(*out, t.data, t.len);
            (*out)[t.len] = '\0';
            *len = t.len;
        }
        fs_text_free(&t);
        return rc;
    }
    if ((f = open_memstream(out, len)) == NULL)
        return -ENOMEM;
    s = fs_snap_get(c);
    rc = w->e->gen(c, s, w, f);
    fs_snap_put(c, s);
    if (fclose(f) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return rc;
}

/* The store path of W's row, as the target of a change. */
void fs_target_of(struct fs_target *t, const struct fs_where *w, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->kind = w->e->write == FS_W_LEVEL      ? FS_TARGET_LEVEL
              : w->e->write == FS_W_PROPERTY ? FS_TARGET_PROPERTY
              : w->e->write == FS_W_TLS_CERT ? FS_TARGET_TLS_CERT
              : w->e->write == FS_W_TLS_KEY  ? FS_TARGET_TLS_KEY
              : w->e->write == FS_W_RULES    ? FS_TARGET_RULES
              : w->e->write == FS_W_INPUT    ? FS_TARGET_INPUT
                                             : FS_TARGET_FILE;
    t->file = w->e->write == FS_W_INPUT ? FS_FILE_INPUTS : w->e->file;
    t->node = w->node;
    t->prop = w->prop;
    t->path = path[0] == '/' ? path + 1 : path;
}
