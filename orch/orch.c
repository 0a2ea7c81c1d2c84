/* orch.c — the security orchestrator: reconciles the running instances with the desired
 * state (configure_sec, building_sec), builds every level ahead of time, hands each deployment
 * on to be recorded. */
#include "orch_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/grow.h"
#include "engine/json.h"
#include "engine/name_index.h"
#include "common/sha256.h"
#include "runtime/supervisor.h"

/* Longer than the supervisor's own readiness bound, so that its verdict arrives first. */
#define ORCH_READY_MS 12000
#define ORCH_ACK_MS   10000

/* What the orchestrator knows of one node. */
struct orch_node {
    char *name;
    /* what was last deployed (the state/deployed line) */
    char image[BUILDER_ID_LEN + 1]; /* "" when nothing was */
    char level[128];
    enum engine_pdp pdp;
    char policy[128];
    uint64_t version; /* the policy version in force (acknowledged, or the PDP's) */
    /* the supervisor's view, from its reports */
    struct sup_status sup;
    int have_sup;
    uint64_t seq; /* bumped with every report */
    int building; /* the reconcile thread builds its image */
    char building_level[128];
    char error[1024]; /* why the last change of this node failed; "" when it did not */
    int64_t error_ns;
};

struct orch {
    enum engine_target target;
    char *image_dir, *cache_dir, *host;
    void (*event)(void *arg, const char *line);
    void *event_arg;
    void (*record)(void *arg, const struct orch_record *r);

    struct sup *sup;
    struct orch_pdp *pdp;        /* the pull PDP */
    char pdp_addr[300];          /* where images' PDP devices connect */
    struct builder_options bopt; /* a builder is made per pass: it reads the sources anew */

    /* The reconcile and proactive threads build at the same time, each with its own builder
     * over the one cache (the builder's temporary names are unique in the process, and equal
     * inputs give equal bytes, so either may store an entry): a level switch needing an
     * image is not held up by a batch of proactive builds. The proactive thread starts a
     * batch only once the want it builds for has been realised. */

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* mu: a new want, a report, stop */
    pthread_cond_t settle_cv; /* mu: done_gen moved */
    struct orch_want *want;   /* mu: the desired state (NULL before the first) */
    uint64_t gen;             /* mu: want->gen */
    uint64_t done_gen;        /* mu: the last want the reconcile thread finished */
    uint64_t pro_gen;         /* mu: the last want the proactive thread finished */
    uint64_t next_version;    /* mu: the next policy version */
    uint64_t pdp_version;     /* reconcile thread: the version the pull PDP serves */
    struct orch_node *nodes;  /* mu */
    size_t *node_index;       /* mu: positions of NODES sorted by name (engine/name_index.h) */
    struct orch_built *built; /* mu: the images built so far, by spec */
    size_t nbuilt, capbuilt;
    size_t nnodes, cap;
    int stop; /* mu */
    pthread_t rec, pro;
    int threads;
};

/* An image built from a spec: the builder's id for the key of the spec (orch_spec_key()). */
struct orch_built {
    uint8_t key[ENGINE_SHA256_LEN];
    char id[BUILDER_ID_LEN + 1];
};

/* ---- helpers ---- */

static void orch_event(struct orch *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void orch_event(struct orch *o, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (char *p = line; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (o->event)
        o->event(o->event_arg, line);
    else
        engine_log("info", "%s", line);
}

static int64_t orch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* mu held. The node NAME, added when absent (NULL when out of memory). */
static struct orch_node *orch_node_get(struct orch *o, const char *name, int add)
{
    size_t *index;
    int i = engine_name_index_find(o->node_index, o->nodes, o->nnodes, sizeof(*o->nodes),
                                   offsetof(struct orch_node, name), name);

    if (i >= 0)
        return &o->nodes[i];
    if (!add)
        return NULL;
    if (ENGINE_GROW(&o->nodes, &o->cap, o->nnodes + 1) < 0)
        return NULL;
    struct orch_node *n = &o->nodes[o->nnodes];
    memset(n, 0, sizeof(*n));
    if ((n->name = strdup(name)) == NULL)
        return NULL;
    /* A node is added once in the daemon's life: the index is simply built again. */
    if (engine_name_index_build(&index, o->nodes, o->nnodes + 1, sizeof(*o->nodes),
                                offsetof(struct orch_node, name)) < 0) {
        free(n->name);
        return NULL;
    }
    free(o->node_index);
    o->node_index = index;
    o->nnodes++;
    return n;
}

static void orch_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* mu held. */
static void orch_node_error(struct orch_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void orch_node_error(struct orch_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(n->error, sizeof(n->error), fmt, ap);
    va_end(ap);
    for (char *p = n->error; *p; p++)
        if (*p == '\n')
            *p = ' ';
    n->error_ns = orch_now_ns();
}

/* ---- the supervisor's reports ---- */

static void orch_report(void *arg, const struct sup_report *r)
{
    struct orch *o = arg;
    struct orch_node *n;

    pthread_mutex_lock(&o->mu);
    if ((n = orch_node_get(o, r->node, 1)) != NULL) {
        n->have_sup = 1;
        n->sup.state = r->state;
        orch_copy(n->sup.image, sizeof(n->sup.image), r->image);
        orch_copy(n->sup.level, sizeof(n->sup.level), r->level);
        n->sup.policy_version = r->policy_version;
        n->sup.pid = r->pid;
        n->sup.since_ns = r->since_ns;
        orch_copy(n->sup.why, sizeof(n->sup.why), r->why);
        n->seq++;
    }
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    orch_event(o, "%s: %s: %s", r->node, sup_state_name(r->state), r->why);
}

/*
 * Waits until DONE(O, N, ARG) says 1 (success) or -1 (failure), or MS pass (-ETIMEDOUT), or
 * the orchestrator stops (-EINTR). mu held.
 */
static int orch_wait(struct orch *o, const char *node, unsigned ms,
                     int (*done)(const struct orch_node *n, const void *arg), const void *arg)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    for (;;) {
        const struct orch_node *n = orch_node_get(o, node, 0);
        int r = n != NULL && n->have_sup ? done(n, arg) : 0;
        if (r != 0)
            return r > 0 ? 0 : -EIO;
        if (o->stop)
            return -EINTR;
        if (pthread_cond_timedwait(&o->cv, &o->mu, &until) == ETIMEDOUT)
            return -ETIMEDOUT;
    }
}

struct orch_ready_arg {
    const char *id;
    uint64_t seq; /* reports up to this one came before the run */
};

/* The new image serves: ready. A report after the run that names another image as serving,
 * or FAILED for ours, means it did not come up (the supervisor kept the old one). */
static int orch_ready_done(const struct orch_node *n, const void *arg)
{
    const struct orch_ready_arg *a = arg;
    int ours = strcmp(n->sup.image, a->id) == 0;

    if (n->seq <= a->seq)
        return 0;
    if (ours && n->sup.state == SUP_RUNNING)
        return 1;
    if (n->sup.state == SUP_FAILED || n->sup.state == SUP_STOPPED)
        return -1;
    /* The old image still serves and the supervisor says ours did not come up. */
    if (!ours && strstr(n->sup.why, a->id) != NULL && strstr(n->sup.why, "keeps serving") != NULL)
        return -1;
    return 0;
}

struct orch_ack_arg {
    uint64_t version;
    uint64_t seq;
};

static int orch_ack_done(const struct orch_node *n, const void *arg)
{
    const struct orch_ack_arg *a = arg;

    if (n->seq <= a->seq)
        return 0; /* only what the instance said after the push counts */
    if (n->sup.policy_version >= a->version)
        return 1;
    if (strstr(n->sup.why, "refused") != NULL)
        return -1;
    return 0;
}

static int orch_stopped_done(const struct orch_node *n, const void *arg)
{
    (void)arg;
    return n->sup.state == SUP_STOPPED;
}

/* ---- the image's manifest: its devices ---- */

#define ORCH_DEV_MAX 16

struct orch_devices {
    size_t nports, nups;
    struct sup_port ports[ORCH_DEV_MAX];
    struct sup_upstream ups[ORCH_DEV_MAX];
    char name[2 * ORCH_DEV_MAX][64];
    char addr[2 * ORCH_DEV_MAX][300];
    int policy; /* the image has a policy channel */
};

/*
 * The listening devices of the image in DIR, each on HOST:its port (the node's property),
 * and its upstreams, each at HOST:the port of the node it names.
 */
static int orch_devices_read(struct orch_devices *dv, const char *dir, const char *host,
                             const char *pdp, struct engine_diag *d)
{
    char path[4096];
    json_error_t je;
    json_t *m, *devs, *dev;
    size_t i, k = 0;

    memset(dv, 0, sizeof(*dv));
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if ((m = json_load_file(path, 0, &je)) == NULL)
        return engine_diag_add(d, path, je.line, je.column, "cannot read the manifest: %s",
                               je.text);
    devs = json_object_get(m, "devices");
    json_array_foreach(devs, i, dev)
    {
        const char *type = json_string_value(json_object_get(dev, "type"));
        const char *name = json_string_value(json_object_get(dev, "name"));
        json_int_t port = json_integer_value(json_object_get(dev, "port"));
        if (type == NULL || name == NULL)
            continue;
        if (strcmp(type, "policy") == 0)
            dv->policy = 1;
        if (strcmp(type, "pdp") == 0 && dv->nups < ORCH_DEV_MAX && k < 2 * ORCH_DEV_MAX) {
            orch_copy(dv->name[k], sizeof(dv->name[k]), name);
            orch_copy(dv->addr[k], sizeof(dv->addr[k]), pdp);
            dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
            k++;
            continue;
        }
        if (strcmp(type, "listen") != 0 && strcmp(type, "upstream") != 0)
            continue;
        if (k == 2 * ORCH_DEV_MAX || dv->nports == ORCH_DEV_MAX || dv->nups == ORCH_DEV_MAX) {
            json_decref(m);
            return engine_diag_add(d, path, 0, 0, "more than %d devices", ORCH_DEV_MAX);
        }
        if (port <= 0 || port > 65535) {
            json_decref(m);
            return engine_diag_add(d, path, 0, 0,
                                   "device '%s' has no port: give the node's port property a "
                                   "value",
                                   name);
        }
        orch_copy(dv->name[k], sizeof(dv->name[k]), name);
        snprintf(dv->addr[k], sizeof(dv->addr[k]), "%s:%d", host, (int)port);
        if (strcmp(type, "listen") == 0)
            dv->ports[dv->nports++] = (struct sup_port){dv->name[k], dv->addr[k]};
        else
            dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
        k++;
    }
    json_decref(m);
    return 0;
}

/* ---- state/deployed ---- */

/* mu held. The text of state/deployed: one line per deployed node. */
static char *orch_deployed_text(struct orch *o, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    if (f == NULL)
        return NULL;
    fprintf(f, "# what runs, as the orchestrator deployed it (written by unisec; do not edit)\n");
    for (size_t i = 0; i < o->nnodes; i++) {
        const struct orch_node *n = &o->nodes[i];
        if (n->image[0] == 0)
            continue;
        fprintf(f, "%s image=%s level=%s pdp=%s", n->name, n->image, n->level,
                engine_pdp_name(n->pdp));
        if (n->policy[0])
            fprintf(f, " policy=%s version=%" PRIu64, n->policy, n->version);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Hands NODE's deployment to the caller as a record of state/deployed (orch_options.record). */
static void orch_deployed_record(struct orch *o, const struct orch_want *w, const char *node)
{
    char *msg = NULL, *text;
    size_t len = 0;
    int r;

    if (o->record == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    text = orch_deployed_text(o, &len);
    if (n != NULL) {
        char pol[160] = "";
        if (n->pdp == ENGINE_PDP_PUSH || n->pdp == ENGINE_PDP_PULL)
            snprintf(pol, sizeof(pol), ", %s v%" PRIu64, engine_pdp_name(n->pdp), n->version);
        else if (n->pdp == ENGINE_PDP_INTERNAL)
            snprintf(pol, sizeof(pol), ", internal v%" PRIu64, n->version);
        r = asprintf(&msg, "deploy: %s -> image %.12s (%s%s)\n\nRealises %s%s%.12s%s%s%s.\n",
                     n->name, n->image, n->level, pol, w->who[0] ? w->who : "the daemon",
                     w->who[0] ? "'s change " : " at start from ", w->head, w->what[0] ? " (" : "",
                     w->what, w->what[0] ? ")" : "");
        if (r < 0)
            msg = NULL;
    }
    pthread_mutex_unlock(&o->mu);
    if (text != NULL && msg != NULL) {
        struct orch_record rec = {.node = node, .deployed = text, .len = len, .message = msg};
        o->record(o->event_arg, &rec);
    }
    free(text);
    free(msg);
}

/* ---- images built: a level switch needs no builder ---- */

/* The key of SPEC: everything of it that goes into the image (the module sources aside: a
 * build pass reads them anew and records what it built). */
static void orch_spec_key(uint8_t key[ENGINE_SHA256_LEN], const struct builder_spec *s)
{
    struct engine_sha256 h;

    engine_sha256_init(&h);
    engine_sha256_update(&h, s->node, strlen(s->node) + 1);
    engine_sha256_update(&h, s->level, strlen(s->level) + 1);
    engine_sha256_update(&h, s->target, strlen(s->target) + 1);
    for (size_t m = 0; m < s->nmodules; m++) {
        engine_sha256_update(&h, s->modules[m].name, strlen(s->modules[m].name) + 1);
        for (size_t k = 0; k < s->modules[m].nprops; k++) {
            const struct builder_prop *p = &s->modules[m].props[k];
            engine_sha256_update(&h, p->name, strlen(p->name) + 1);
            engine_sha256_update(&h, p->value, strlen(p->value) + 1);
        }
        engine_sha256_update(&h, "", 1);
    }
    if (s->acl_blob != NULL)
        engine_sha256_update(&h, s->acl_blob, s->acl_len);
    engine_sha256_final(&h, key);
}

/* The id recorded for KEY whose image is still in the image directory. mu held. */
static int orch_built_find(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN],
                           char id[BUILDER_ID_LEN + 1])
{
    char path[4096];
    struct stat st;

    for (size_t i = 0; i < o->nbuilt; i++) {
        if (memcmp(o->built[i].key, key, ENGINE_SHA256_LEN) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s/image", o->image_dir, o->built[i].id);
        if (stat(path, &st) != 0)
            return -ENOENT;
        memcpy(id, o->built[i].id, BUILDER_ID_LEN + 1);
        return 0;
    }
    return -ENOENT;
}

/* Records that KEY was built as ID (a later build of the same key replaces it). mu held. */
static void orch_built_add(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN], const char *id)
{
    for (size_t i = 0; i < o->nbuilt; i++)
        if (memcmp(o->built[i].key, key, ENGINE_SHA256_LEN) == 0) {
            orch_copy(o->built[i].id, sizeof(o->built[i].id), id);
            return;
        }
    if (ENGINE_GROW(&o->built, &o->capbuilt, o->nbuilt + 1) < 0)
        return; /* only a later switch is slower */
    memcpy(o->built[o->nbuilt].key, key, ENGINE_SHA256_LEN);
    orch_copy(o->built[o->nbuilt].id, sizeof(o->built[o->nbuilt].id), id);
    o->nbuilt++;
}

/* ---- reconcile ---- */

static char *orch_diag_text(struct engine_diag *d, int r)
{
    char *s = engine_diag_join(d);
    if (s != NULL && *s == 0) {
        free(s);
        s = NULL;
    }
    if (s == NULL && asprintf(&s, "%s", strerror(r < 0 ? -r : EIO)) < 0)
        s = NULL;
    return s;
}

/* Pushes BLOB to NODE and waits for its acknowledgement. mu not held. */
static int orch_push(struct orch *o, const char *node, const struct orch_blob *b,
                     struct engine_diag *d)
{
    struct orch_ack_arg a = {b->version, 0};
    int r;

    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    a.seq = n ? n->seq : 0;
    pthread_mutex_unlock(&o->mu);
    if ((r = sup_policy_push(o->sup, node, b->data, b->len, b->version, d)) < 0)
        return r;
    orch_event(o, "%s: policy %s v%" PRIu64 " pushed (%zu bytes)", node, b->name, b->version,
               b->len);
    pthread_mutex_lock(&o->mu);
    r = orch_wait(o, node, ORCH_ACK_MS, orch_ack_done, &a);
    pthread_mutex_unlock(&o->mu);
    if (r == -ETIMEDOUT)
        engine_diag_add(d, node, 0, 0, "policy v%" PRIu64 " was not acknowledged in %d ms",
                        b->version, ORCH_ACK_MS);
    else if (r == -EIO)
        engine_diag_add(d, node, 0, 0, "policy v%" PRIu64 " was refused by the instance",
                        b->version);
    return r;
}

/* Runs image ID (built in DIR) for node WN at level LV; waits until it is ready. */
static int orch_start(struct orch *o, const struct orch_want_node *wn, const struct orch_level *lv,
                      const char *id, const char *dir, struct engine_diag *d)
{
    struct orch_devices dv;
    struct orch_ready_arg a = {id, 0};
    char image[4096];
    int r;

    if ((r = orch_devices_read(&dv, dir, o->host, o->pdp_addr, d)) < 0)
        return r;
    snprintf(image, sizeof(image), "%s/image", dir);
    struct sup_spec spec = {wn->name, image,   id,   lv->level, dv.ports, dv.nports,
                            dv.ups,   dv.nups, NULL, 0,         0};
    /* A push-mode image starts with its rules: they go with the spec, so the supervisor
     * cannot start the instance before they are the node's; it gives them at boot and
     * counts the instance ready once acknowledged, so a swap never serves without. */
    if (lv->pdp == ENGINE_PDP_PUSH && lv->blob != NULL && dv.policy) {
        spec.policy = lv->blob->data;
        spec.policy_len = lv->blob->len;
        spec.policy_version = lv->blob->version;
    }
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, wn->name, 0);
    a.seq = n ? n->seq : 0;
    int exists = n != NULL && n->have_sup && n->sup.state != SUP_STOPPED;
    pthread_mutex_unlock(&o->mu);
    if ((r = sup_node_run(o->sup, &spec, d)) < 0)
        return r;
    orch_event(o, "%s: starting image %.12s (%s) on %s%s", wn->name, id, lv->level,
               dv.nports ? dv.ports[0].addr : "no port", exists ? ", to swap in" : "");
    pthread_mutex_lock(&o->mu);
    r = orch_wait(o, wn->name, ORCH_READY_MS, orch_ready_done, &a);
    char why[512];
    n = orch_node_get(o, wn->name, 0);
    orch_copy(why, sizeof(why), n ? n->sup.why : "");
    pthread_mutex_unlock(&o->mu);
    if (r == -ETIMEDOUT)
        return engine_diag_add(d, wn->name, 0, 0, "image %.12s did not become ready in %d ms", id,
                               ORCH_READY_MS);
    if (r < 0 && r != -EINTR)
        engine_diag_add(d, wn->name, 0, 0, "image %.12s did not start: %s", id, why);
    return r;
}

/* Brings node WN to what W wants, building with B (NULL: B could not be made, BWHY says
 * why). Returns 1 when a deployment happened, 0 when nothing had to change, negative when
 * the change failed (the reason is in the node's error). */
/* A reconcile pass's builder, made when a first image is not built yet: making one reads the
 * module sources, which a level switch to a built image does without. */
struct orch_pass {
    struct builder *b;
    int tried;
    struct engine_diag why; /* why B could not be made */
};

static struct builder *orch_pass_builder(struct orch *o, struct orch_pass *p)
{
    if (!p->tried) {
        p->tried = 1;
        builder_new(&p->b, &o->bopt, &p->why);
    }
    return p->b;
}

static int orch_node_reconcile(struct orch *o, const struct orch_want *w,
                               const struct orch_want_node *wn, struct orch_pass *pass)
{
    uint8_t key[ENGINE_SHA256_LEN];
    struct builder *b;
    const struct orch_level *lv = &wn->levels[wn->current];
    struct builder_spec spec;
    struct builder_result res;
    struct engine_diag d;
    int r, deployed = 0;
    uint64_t version = 0;

    engine_diag_init(&d);
    orch_level_spec(&spec, wn->name, lv, engine_target_name(o->target));
    pthread_mutex_lock(&o->mu);
    struct orch_node *n = orch_node_get(o, wn->name, 1);
    if (n == NULL) {
        pthread_mutex_unlock(&o->mu);
        return -ENOMEM;
    }
    n->building = 1;
    orch_copy(n->building_level, sizeof(n->building_level), lv->level);
    pthread_mutex_unlock(&o->mu);

    memset(&res, 0, sizeof(res));
    orch_spec_key(key, &spec);
    pthread_mutex_lock(&o->mu);
    r = orch_built_find(o, key, res.id);
    pthread_mutex_unlock(&o->mu);
    if (r == 0) {
        res.cached = 1; /* built before (proactively, or for an earlier change) */
        if (asprintf(&res.dir, "%s/%s", o->image_dir, res.id) < 0)
            res.dir = NULL, r = -ENOMEM;
    } else if ((b = orch_pass_builder(o, pass)) != NULL) {
        r = builder_build(b, &spec, 1, o->image_dir, &res, &d);
        if (r == 0) {
            pthread_mutex_lock(&o->mu);
            orch_built_add(o, key, res.id);
            pthread_mutex_unlock(&o->mu);
        }
        if (r == 0 && !res.cached)
            orch_event(o, "%s: built image %.12s (%s, %zu bytes)", wn->name, res.id, lv->level,
                       res.size);
    } else {
        r = -EIO;
        for (size_t i = 0; i < pass->why.n; i++)
            engine_diag_add(&d, pass->why.v[i].file, pass->why.v[i].line, pass->why.v[i].col, "%s",
                            pass->why.v[i].msg);
    }

    pthread_mutex_lock(&o->mu);
    n = orch_node_get(o, wn->name, 0);
    n->building = 0;
    int same_image = r == 0 && strcmp(n->image, res.id) == 0 && n->have_sup &&
                     n->sup.state != SUP_STOPPED && strcmp(n->sup.image, res.id) == 0;
    uint64_t have_version = n->version;
    pthread_mutex_unlock(&o->mu);
    if (r < 0) {
        char *why = orch_diag_text(&d, r);
        pthread_mutex_lock(&o->mu);
        orch_node_error(n, "build of level %s failed: %s", lv->level, why ? why : "");
        pthread_mutex_unlock(&o->mu);
        orch_event(o,
                   "%s: build of level %s failed (the running instance, if any, keeps "
                   "serving): %s",
                   wn->name, lv->level, why ? why : "");
        free(why);
        r = -EIO;
        goto done;
    }

    if (!same_image) {
        if ((r = orch_start(o, wn, lv, res.id, res.dir, &d)) < 0)
            goto failed;
        deployed = 1;
    }
    if (lv->pdp == ENGINE_PDP_PUSH && lv->blob != NULL) {
        pthread_mutex_lock(&o->mu);
        n = orch_node_get(o, wn->name, 0);
        uint64_t acked = n->sup.policy_version;
        pthread_mutex_unlock(&o->mu);
        /* A new instance's acknowledgement is waited for even when the node's last one says
         * this version: that may be the replaced instance's. */
        if (acked != lv->blob->version || deployed) {
            if ((r = orch_push(o, wn->name, lv->blob, &d)) < 0)
                goto failed;
            deployed = 1;
        }
        version = lv->blob->version;
    } else if (lv->pdp == ENGINE_PDP_PULL && w->pull != NULL) {
        version = w->pull->version;
    } else if (lv->blob != NULL) {
        version = lv->blob->version;
    }
    if (version != have_version)
        deployed = 1;

    pthread_mutex_lock(&o->mu);
    n = orch_node_get(o, wn->name, 0);
    orch_copy(n->image, sizeof(n->image), res.id);
    orch_copy(n->level, sizeof(n->level), lv->level);
    orch_copy(n->policy, sizeof(n->policy), lv->policy);
    n->pdp = lv->pdp;
    n->version = version;
    n->error[0] = 0;
    pthread_mutex_unlock(&o->mu);
    if (deployed) {
        orch_event(o, "%s: deployed image %.12s (%s, pdp %s%s)", wn->name, res.id, lv->level,
                   engine_pdp_name(lv->pdp), lv->policy ? ", policy in force" : "");
        orch_deployed_record(o, w, wn->name);
    }
    r = deployed;
    goto done;

failed:;
    char *why = orch_diag_text(&d, r);
    pthread_mutex_lock(&o->mu);
    orch_node_error(n, "%s", why ? why : "");
    pthread_mutex_unlock(&o->mu);
    orch_event(o, "%s: change to level %s failed: %s", wn->name, lv->level, why ? why : "");
    free(why);
    r = -EIO;
done:
    builder_results_free(&res, 1);
    engine_diag_free(&d);
    return r;
}

static void orch_reconcile(struct orch *o, const struct orch_want *w)
{
    struct orch_pass pass = {0};

    engine_diag_init(&pass.why);
    if (w->pull != NULL && w->pull->version != o->pdp_version) {
        if (orch_pdp_update(o->pdp, w->pull) < 0)
            orch_event(o,
                       "pull PDP: policy v%" PRIu64 " not yet in force after %d ms (a guest "
                       "does not read its PDP stream)",
                       w->pull->version, ORCH_PDP_TAKE_MS);
        else
            orch_event(o, "pull PDP: policy v%" PRIu64 " in force (%zu bytes)", w->pull->version,
                       w->pull->len);
        o->pdp_version = w->pull->version;
    }
    for (size_t i = 0; i < w->nnodes; i++) {
        pthread_mutex_lock(&o->mu);
        int stop = o->stop, newer = o->gen != w->gen;
        pthread_mutex_unlock(&o->mu);
        if (stop || newer)
            goto out; /* a newer want supersedes this one: start over with it */
        orch_node_reconcile(o, w, &w->nodes[i], &pass);
    }
    /* Nodes the topology no longer has. */
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->nnodes; i++) {
        struct orch_node *n = &o->nodes[i];
        if (orch_want_node(w, n->name) != NULL || n->image[0] == 0)
            continue;
        n->image[0] = 0;
        char *name = strdup(n->name);
        pthread_mutex_unlock(&o->mu);
        if (name != NULL && sup_node_stop(o->sup, name) == 0)
            orch_event(o, "%s: stopped (no longer in the topology)", name);
        if (name != NULL)
            orch_deployed_record(o, w, name);
        free(name);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
out:
    builder_free(pass.b);
    engine_diag_free(&pass.why);
}

static void *orch_reconcile_main(void *arg)
{
    struct orch *o = arg;

    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        if (o->want == NULL || o->done_gen == o->gen) {
            pthread_cond_wait(&o->cv, &o->mu);
            continue;
        }
        struct orch_want *w = orch_want_ref(o->want);
        pthread_mutex_unlock(&o->mu);
        orch_reconcile(o, w);
        pthread_mutex_lock(&o->mu);
        if (o->gen == w->gen) {
            o->done_gen = w->gen;
            pthread_cond_broadcast(&o->settle_cv);
            pthread_cond_broadcast(&o->cv); /* the proactive thread's turn */
        }
        pthread_mutex_unlock(&o->mu);
        orch_want_put(w);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* Proactive generation: every level of every node, built ahead of time. */
static void *orch_proactive_main(void *arg)
{
    struct orch *o = arg;

    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        /* After the reconcile thread: what is needed now is built first. */
        if (o->want == NULL || o->pro_gen == o->gen || o->done_gen != o->gen) {
            pthread_cond_wait(&o->cv, &o->mu);
            continue;
        }
        struct orch_want *w = orch_want_ref(o->want);
        pthread_mutex_unlock(&o->mu);

        size_t n = 0;
        for (size_t i = 0; i < w->nnodes; i++)
            n += w->nodes[i].nlevels;
        struct builder_spec *specs = calloc(n ? n : 1, sizeof(*specs));
        struct builder_result *res = calloc(n ? n : 1, sizeof(*res));
        struct builder *b = NULL;
        struct engine_diag bd;
        engine_diag_init(&bd);
        if (specs != NULL && res != NULL && builder_new(&b, &o->bopt, &bd) == 0) {
            struct engine_diag d;
            size_t k = 0, built = 0, failed = 0;
            for (size_t i = 0; i < w->nnodes; i++)
                for (size_t l = 0; l < w->nodes[i].nlevels; l++)
                    orch_level_spec(&specs[k++], w->nodes[i].name, &w->nodes[i].levels[l],
                                    engine_target_name(o->target));
            engine_diag_init(&d);
            builder_build(b, specs, n, o->image_dir, res, &d);
            pthread_mutex_lock(&o->mu);
            for (size_t i = 0; i < n; i++) {
                uint8_t key[ENGINE_SHA256_LEN];
                if (res[i].status < 0 || res[i].id[0] == 0)
                    continue;
                orch_spec_key(key, &specs[i]);
                orch_built_add(o, key, res[i].id);
            }
            pthread_mutex_unlock(&o->mu);
            for (size_t i = 0; i < n; i++) {
                if (res[i].status < 0) {
                    failed++;
                    orch_event(o, "%s: proactive build of level %s failed", specs[i].node,
                               specs[i].level);
                } else if (!res[i].cached) {
                    built++;
                }
            }
            if (built || failed)
                orch_event(o,
                           "proactive generation: %zu images built, %zu already there, %zu "
                           "failed",
                           built, n - built - failed, failed);
            builder_results_free(res, n);
            engine_diag_free(&d);
        }
        builder_free(b);
        engine_diag_free(&bd);
        free(specs);
        free(res);
        pthread_mutex_lock(&o->mu);
        if (o->pro_gen < w->gen)
            o->pro_gen = w->gen;
        pthread_cond_broadcast(&o->settle_cv);
        pthread_mutex_unlock(&o->mu);
        orch_want_put(w);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* ---- the interface ---- */

enum engine_target orch_target_best(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ENGINE_TARGET_SPT;
    close(fd);
    return ENGINE_TARGET_HVT;
}

/* The highest policy version DEPLOYED (state/deployed's text, may be NULL) records, so a
 * restarted daemon goes on above it (a guest ignores nothing, but the history stays
 * monotonic). */
static uint64_t orch_version_recorded(const char *deployed)
{
    uint64_t max = 0;

    for (const char *p = deployed; p != NULL && (p = strstr(p, " version=")) != NULL; p++) {
        uint64_t v = strtoull(p + 9, NULL, 10);
        if (v > max)
            max = v;
    }
    return max;
}

int orch_new(struct orch **out, const struct orch_options *opt, struct engine_diag *d)
{
    struct orch *o = calloc(1, sizeof(*o));
    int r = -ENOMEM;

    *out = NULL;
    if (o == NULL)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* orch_wait()'s deadlines */
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&o->settle_cv, NULL);
    o->target = opt->target;
    o->event = opt->event;
    o->event_arg = opt->event_arg;
    o->record = opt->record;
    o->next_version = orch_version_recorded(opt->deployed) + 1;
    if ((o->image_dir = strdup(opt->image_dir)) == NULL ||
        (opt->cache_dir && (o->cache_dir = strdup(opt->cache_dir)) == NULL) ||
        (o->host = strdup(opt->listen_host ? opt->listen_host : "127.0.0.1")) == NULL)
        goto fail;
    o->bopt = (struct builder_options){o->cache_dir, NULL, 0};
    struct builder *probe = NULL; /* the sources and the cache are usable: say so now */
    if ((r = builder_new(&probe, &o->bopt, d)) < 0)
        goto fail;
    builder_free(probe);
    if ((r = orch_pdp_new(&o->pdp, o->host, 0, d)) < 0)
        goto fail;
    snprintf(o->pdp_addr, sizeof(o->pdp_addr), "%s:%d", o->host, orch_pdp_port(o->pdp));
    struct sup_options so = {.report = orch_report, .report_arg = o};
    if ((r = sup_new(&o->sup, &so, d)) < 0)
        goto fail;
    if (pthread_create(&o->rec, NULL, orch_reconcile_main, o) != 0) {
        r = -EAGAIN;
        goto fail;
    }
    if (pthread_create(&o->pro, NULL, orch_proactive_main, o) != 0) {
        pthread_mutex_lock(&o->mu);
        o->stop = 1;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->rec, NULL);
        r = -EAGAIN;
        goto fail;
    }
    o->threads = 1;
    *out = o;
    return 0;
fail:
    if (r == -ENOMEM)
        engine_diag_add(d, NULL, 0, 0, "out of memory starting the orchestrator");
    orch_free(o);
    return r;
}

void orch_free(struct orch *o)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_cond_broadcast(&o->settle_cv);
    pthread_mutex_unlock(&o->mu);
    if (o->threads) {
        pthread_join(o->rec, NULL);
        pthread_join(o->pro, NULL);
    }
    if (o->sup != NULL) {
        /* Let every instance drain, then the supervisor kills what is left. */
        for (size_t i = 0; i < o->nnodes; i++)
            sup_node_stop(o->sup, o->nodes[i].name);
        pthread_mutex_lock(&o->mu);
        o->stop = 0; /* orch_wait() gives up on stop */
        for (size_t i = 0; i < o->nnodes; i++)
            if (o->nodes[i].have_sup)
                orch_wait(o, o->nodes[i].name, 2000, orch_stopped_done, NULL);
        pthread_mutex_unlock(&o->mu);
        sup_free(o->sup);
    }
    orch_pdp_free(o->pdp);
    orch_want_put(o->want);
    for (size_t i = 0; i < o->nnodes; i++)
        free(o->nodes[i].name);
    free(o->nodes);
    free(o->node_index);
    free(o->built);
    free(o->image_dir);
    free(o->cache_dir);
    free(o->host);
    pthread_cond_destroy(&o->cv);
    pthread_cond_destroy(&o->settle_cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

int orch_apply(struct orch *o, const struct orch_desired *want, struct engine_diag *d)
{
    struct orch_want *w = NULL, *old;
    int r;

    pthread_mutex_lock(&o->mu);
    old = o->want ? orch_want_ref(o->want) : NULL;
    uint64_t next = o->next_version;
    pthread_mutex_unlock(&o->mu);
    /* Compiling the policies is the costly part; nothing else changes the want meanwhile,
     * since the mount applies one change at a time. */
    r = orch_want_make(&w, want, old, next, d);
    orch_want_put(old);
    if (r < 0)
        return r;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < w->npolicies; i++)
        if (w->policies[i]->version >= o->next_version)
            o->next_version = w->policies[i]->version + 1;
    w->gen = ++o->gen;
    old = o->want;
    o->want = w;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    orch_want_put(old);
    return 0;
}

/* ---- status ---- */

static void orch_time(char *buf, size_t size, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* mu held. The node's state word: what a user should read first. */
static const char *orch_state_word(const struct orch_node *n)
{
    if (n->building && (!n->have_sup || n->sup.state == SUP_STOPPED))
        return "building";
    if (n->error[0] && (!n->have_sup || n->sup.state != SUP_RUNNING))
        return "failed";
    if (!n->have_sup)
        return "pending";
    return sup_state_name(n->sup.state);
}

static void orch_status_line(const struct orch_node *n, FILE *out)
{
    char since[32];

    fprintf(out, "%s", orch_state_word(n));
    if (n->have_sup && n->sup.image[0]) {
        orch_time(since, sizeof(since), n->sup.since_ns);
        fprintf(out, " image %.12s level %s", n->sup.image, n->sup.level);
        if (n->pdp != ENGINE_PDP_NONE && n->image[0])
            fprintf(out, " pdp %s", engine_pdp_name(n->pdp));
        if (n->pdp == ENGINE_PDP_PUSH)
            fprintf(out, " policy v%" PRIu64 " acked", n->sup.policy_version);
        else if (n->pdp != ENGINE_PDP_NONE && n->version)
            fprintf(out, " policy v%" PRIu64, n->version);
        if (n->sup.pid)
            fprintf(out, " pid %d", (int)n->sup.pid);
        fprintf(out, " since %s", since);
    }
    if (n->building)
        fprintf(out, " (building level %s)", n->building_level);
    if (n->error[0])
        fprintf(out, "; last change failed: %s", n->error);
    else if (n->have_sup && n->sup.state != SUP_RUNNING && n->sup.why[0])
        fprintf(out, ": %s", n->sup.why);
    fputc('\n', out);
}

int orch_status(struct orch *o, const char *node, FILE *out)
{
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    if (n != NULL)
        orch_status_line(n, out);
    else if (o->want != NULL && orch_want_node(o->want, node) != NULL)
        fprintf(out, "pending\n");
    pthread_mutex_unlock(&o->mu);
    return n != NULL || (o->want != NULL) ? 0 : -ENOENT;
}

int orch_status_json(struct orch *o, const char *node, FILE *out)
{
    json_t *j;
    char since[32] = "";
    char *s;
    int r;

    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    if (n == NULL) {
        pthread_mutex_unlock(&o->mu);
        j = json_pack("{s:s, s:s}", "node", node, "state", "pending");
        goto dump;
    }
    if (n->have_sup && n->sup.since_ns)
        orch_time(since, sizeof(since), n->sup.since_ns);
    j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:I, s:I, s:i, s:s?, s:s?, s:s?, s:b}", "node",
                  n->name, "state", orch_state_word(n), "image",
                  n->have_sup && n->sup.image[0] ? n->sup.image : NULL, "level",
                  n->have_sup && n->sup.level[0] ? n->sup.level : NULL, "pdp",
                  engine_pdp_name(n->pdp), "policy", n->policy[0] ? n->policy : NULL,
                  "policy_version", (json_int_t)n->version, "policy_version_acked",
                  (json_int_t)(n->have_sup ? n->sup.policy_version : 0), "pid",
                  n->have_sup ? (int)n->sup.pid : 0, "since", since[0] ? since : NULL, "why",
                  n->have_sup && n->sup.why[0] ? n->sup.why : NULL, "error",
                  n->error[0] ? n->error : NULL, "building", n->building);
    pthread_mutex_unlock(&o->mu);
dump:
    r = engine_json_dumps(&s, NULL, j, JSON_INDENT(2));
    json_decref(j);
    if (r < 0)
        return r;
    fputs(s, out);
    free(s);
    return 0;
}

int orch_node_image(struct orch *o, const char *node, char id[41])
{
    int r = -ENOENT;

    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    if (n != NULL && n->have_sup && n->sup.image[0] && strlen(n->sup.image) == BUILDER_ID_LEN) {
        memcpy(id, n->sup.image, BUILDER_ID_LEN + 1);
        r = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return r;
}

int orch_console(struct orch *o, const char *node, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    int r = sup_node_console(o->sup, node, &buf, &len);

    if (r == 0)
        fwrite(buf, 1, len, out);
    free(buf);
    return r == -ENOENT ? 0 : r; /* a node that never ran has an empty console */
}

const char *orch_image_dir(const struct orch *o)
{
    return o->image_dir;
}

int orch_settle(struct orch *o, FILE *out)
{
    size_t failed = 0;

    pthread_mutex_lock(&o->mu);
    /* Converged: the last want is realised and the images of its other levels are built. */
    while (!o->stop && (o->want == NULL || o->done_gen != o->gen || o->pro_gen != o->gen))
        pthread_cond_wait(&o->settle_cv, &o->mu);
    if (o->stop) {
        pthread_mutex_unlock(&o->mu);
        fprintf(out, "stopping: not settled\n");
        return -EINTR;
    }
    for (size_t i = 0; i < o->want->nnodes; i++) {
        const struct orch_node *n = orch_node_get(o, o->want->nodes[i].name, 0);
        if (n == NULL || n->error[0] || !n->have_sup || n->sup.state != SUP_RUNNING)
            failed++;
    }
    if (failed)
        fprintf(out, "settled at %.12s: %zu of %zu nodes failed\n", o->want->head, failed,
                o->want->nnodes);
    else
        fprintf(out, "settled at %.12s: %zu nodes run what is desired\n", o->want->head,
                o->want->nnodes);
    for (size_t i = 0; i < o->want->nnodes; i++) {
        const struct orch_node *n = orch_node_get(o, o->want->nodes[i].name, 0);
        fprintf(out, "%s: ", o->want->nodes[i].name);
        if (n != NULL)
            orch_status_line(n, out);
        else
            fprintf(out, "pending\n");
    }
    pthread_mutex_unlock(&o->mu);
    return failed ? -EIO : 0;
}
