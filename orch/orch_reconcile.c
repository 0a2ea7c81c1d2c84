/* orch_reconcile.c — the reconcile thread: brings every node to the desired state (configure_sec:
 * new rules pushed to the running image; building_sec: another image built, started beside the
 * old one and swapped in), and hands each deployment on to be recorded. */
#include "orch_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longer than the supervisor's own readiness bound, so that its verdict arrives first. */
#define ORCH_READY_MS 12000
#define ORCH_ACK_MS   10000

static int64_t orch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

struct orch_ready_arg {
    const char *id;
    uint64_t seq;  /* reports up to this one came before the run */
    pid_t old_pid; /* the same image runs already (new TLS credentials): its instance */
};

/* The new image serves: ready. A report after the run that names another image as serving,
 * or FAILED for ours, means it did not come up (the supervisor kept the old one). */
static int orch_ready_done(const struct orch_node *n, const void *arg)
{
    const struct orch_ready_arg *a = arg;
    int ours = strcmp(n->sup.image, a->id) == 0;

    if (n->seq <= a->seq)
        return 0;
    /* A new instance of the image that runs: ready once it serves in place of the old one. */
    if (a->old_pid != 0 && ours && n->sup.state == SUP_RUNNING && n->sup.pid == a->old_pid)
        return strstr(n->sup.why, "keeps serving") != NULL ? -1 : 0;
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

/* What one push sends of a blob B: its whole blob (at B's data_version), its patch, or both in
 * one message (at B's version), which the instance puts in force at once. */
enum orch_push_kind { ORCH_PUSH_BLOB, ORCH_PUSH_PATCH, ORCH_PUSH_PAIR };

/* Sends KIND of B to NODE and waits for its acknowledgement. mu not held. */
static int orch_push_one(struct orch *o, const char *node, const struct orch_blob *b,
                         enum orch_push_kind kind, struct engine_diag *d)
{
    uint64_t version = kind == ORCH_PUSH_BLOB ? b->data_version : b->version;
    const void *data = kind == ORCH_PUSH_PATCH ? b->patch : b->data;
    size_t len = kind == ORCH_PUSH_PATCH ? b->patch_len : b->len;
    struct orch_ack_arg a = {version, 0};
    int r;

    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    a.seq = n ? n->seq : 0;
    pthread_mutex_unlock(&o->mu);
    double t0 = orch_clock();
    void *bad = NULL;
    if (kind == ORCH_PUSH_PATCH && engine_fault(ENGINE_FAULT_BAD_PATCH) &&
        (bad = malloc(len)) != NULL) {
        memcpy(bad, data, len); /* a patch damaged on its way: its last byte */
        ((uint8_t *)bad)[len - 1] ^= 0xff;
        data = bad;
    }
    r = kind == ORCH_PUSH_PATCH ? sup_policy_patch(o->sup, node, data, len, version, d)
        : kind == ORCH_PUSH_PAIR
            ? sup_policy_push_pair(o->sup, node, data, len, b->patch, b->patch_len, version, d)
            : sup_policy_push(o->sup, node, data, len, version, d);
    free(bad);
    if (r < 0)
        return r;
    if (kind == ORCH_PUSH_PATCH)
        orch_event(o, "%s: policy %s v%" PRIu64 " pushed as a patch over v%" PRIu64 " (%zu bytes)",
                   node, b->name, version, b->data_version, len);
    else if (kind == ORCH_PUSH_PAIR)
        orch_event(o,
                   "%s: policy %s v%" PRIu64 " pushed as the whole blob v%" PRIu64
                   " and the patch over it in one message (%zu bytes)",
                   node, b->name, version, b->data_version, len + b->patch_len);
    else
        orch_event(o, "%s: policy %s v%" PRIu64 " pushed (%zu bytes)", node, b->name, version, len);
    pthread_mutex_lock(&o->mu);
    r = orch_wait(o, node, ORCH_ACK_MS, orch_ack_done, &a);
    double took = orch_clock() - t0;
    struct orch_node *pn = orch_node_get(o, node, 0);
    o->m.pushes++;
    if (pn != NULL)
        pn->pushes++;
    if (r == 0) {
        orch_hist_observe(&o->m.push_seconds, took);
        if (pn != NULL)
            pn->pushes_acked++, pn->push_seconds += took;
    } else if (r != -EINTR) {
        o->m.pushes_failed++;
        if (pn != NULL)
            pn->pushes_failed++;
    }
    pthread_mutex_unlock(&o->mu);
    if (r == -ETIMEDOUT)
        engine_diag_add(d, node, 0, 0, "policy v%" PRIu64 " was not acknowledged in %d ms", version,
                        ORCH_ACK_MS);
    else if (r == -EIO && kind == ORCH_PUSH_BLOB)
        engine_diag_add(d, node, 0, 0, "policy v%" PRIu64 " was refused by the instance", version);
    return r;
}

/* Pushes BLOB to NODE and waits for its acknowledgement: a whole blob; or its patch alone when
 * the instance holds its base; or, when it does not or it refuses the patch, the base and the
 * patch in one message, so that it never enforces the base alone, which may be older than the
 * version it acknowledged (a base compiled on the side and taken over after changes). Only an
 * instance that refuses that message too (a guest of an older format) gets the whole base, then
 * the patch. mu not held. */
static int orch_push(struct orch *o, const char *node, const struct orch_blob *b,
                     struct engine_diag *d)
{
    int r;

    if (b->patch == NULL) {
        r = orch_push_one(o, node, b, ORCH_PUSH_BLOB, d);
        goto out;
    }
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    uint64_t acked = n ? n->sup.policy_version : 0, held = n ? n->held_base : 0;
    pthread_mutex_unlock(&o->mu);
    if (acked == b->version) {
        r = 0; /* started with the base and the patch: ready only at this version */
        goto out;
    }
    /* The base it holds, as its last acknowledged push said; not known (a daemon restarted
     * since), any version from the base on: a wrong guess costs one refused patch. */
    if (held != 0 ? held == b->data_version : acked >= b->data_version) {
        if ((r = orch_push_one(o, node, b, ORCH_PUSH_PATCH, d)) != -EIO)
            goto out;
        orch_event(o,
                   "%s: policy %s v%" PRIu64
                   ": the patch was refused, the whole blob follows with the patch in one message",
                   node, b->name, b->version);
    }
    engine_fault(ENGINE_FAULT_PAIR); /* tests: killed before the base and patch are pushed */
    if ((r = orch_push_one(o, node, b, ORCH_PUSH_PAIR, d)) != -EIO)
        goto out;
    orch_event(o,
               "%s: policy %s v%" PRIu64
               ": the whole blob and patch in one message were refused (a guest of an older "
               "format?), the whole blob follows, then the patch",
               node, b->name, b->version);
    if ((r = orch_push_one(o, node, b, ORCH_PUSH_BLOB, d)) < 0)
        goto out;
    if ((r = orch_push_one(o, node, b, ORCH_PUSH_PATCH, d)) == -EIO)
        engine_diag_add(d, node, 0, 0, "policy v%" PRIu64 " was refused by the instance",
                        b->version);
out:
    pthread_mutex_lock(&o->mu);
    struct orch_node *pn = orch_node_get(o, node, 0);
    if (pn != NULL)
        pn->held_base = r == 0 ? b->data_version : 0;
    pthread_mutex_unlock(&o->mu);
    return r;
}

/* Runs image ID (built in DIR) for node WN at level LV; waits until it is ready. */
static int orch_start(struct orch *o, const struct orch_want_node *wn, const struct orch_level *lv,
                      const char *id, const char *dir, struct engine_diag *d)
{
    struct orch_devices dv;
    struct orch_ready_arg a = {id, 0, 0};
    char image[4096];
    int r;

    pthread_mutex_lock(&o->mu);
    struct orch_want *w = orch_want_ref(o->want);
    pthread_mutex_unlock(&o->mu);
    r = orch_devices_read(&dv, dir, wn->address ? wn->address : o->host, w, o->pdp_addr, d);
    orch_want_put(w);
    if (r < 0)
        return r;
    snprintf(image, sizeof(image), "%s/image", dir);
    struct sup_spec spec = {wn->name, image,   id,   lv->level, dv.ports, dv.nports,
                            dv.ups,   dv.nups, NULL, 0,         0};
    /* A push-mode image starts with its rules: they go with the spec, so the supervisor
     * cannot start the instance before they are the node's; it gives them at boot and
     * counts the instance ready once acknowledged, so a swap never serves without. */
    if ((lv->tls || dv.tls) && wn->tls == NULL && wn->tls_why != NULL)
        return engine_diag_add(d, wn->name, 0, 0,
                               "level %s serves TLS and the node has no usable certificate and "
                               "key: %s",
                               lv->level, wn->tls_why);
    if ((lv->tls || dv.tls) && wn->tls == NULL)
        return engine_diag_add(d, wn->name, 0, 0,
                               "level %s serves TLS and the node has no usable certificate and "
                               "key: write nodes/%s/tls/cert and nodes/%s/tls/key",
                               lv->level, wn->name, wn->name);
    if (lv->tls || dv.tls) {
        spec.tls = wn->tls;
        spec.tls_len = wn->tls_len;
    }
    if (lv->pdp == ENGINE_PDP_PUSH && lv->blob != NULL && dv.policy) {
        spec.policy = lv->blob->data;
        spec.policy_len = lv->blob->len;
        spec.policy_version = lv->blob->data_version;
        spec.policy_patch = lv->blob->patch;
        spec.policy_patch_len = lv->blob->patch_len;
        spec.policy_patch_version = lv->blob->version;
    }
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, wn->name, 0);
    a.seq = n ? n->seq : 0;
    int exists = n != NULL && n->have_sup && n->sup.state != SUP_STOPPED;
    if (exists && n->sup.state == SUP_RUNNING && strcmp(n->sup.image, id) == 0)
        a.old_pid = n->sup.pid;
    pthread_mutex_unlock(&o->mu);
    if ((r = sup_node_run(o->sup, &spec, d)) < 0)
        return r;
    char on[1024] = "no port"; /* ADDR, or ADDR (DEVICE), ... when there are several */
    for (size_t k = 0, at = 0; k < dv.nports && at < sizeof(on); k++) {
        at += (size_t)snprintf(on + at, sizeof(on) - at, "%s%s", k ? ", " : "", dv.ports[k].addr);
        if (dv.nports > 1 && at < sizeof(on))
            at += (size_t)snprintf(on + at, sizeof(on) - at, " (%s)", dv.ports[k].device);
    }
    orch_event(o, "%s: starting image %.12s (%s) on %s%s", wn->name, id, lv->level, on,
               exists ? ", to swap in" : "");
    pthread_mutex_lock(&o->mu);
    r = orch_wait(o, wn->name, ORCH_READY_MS, orch_ready_done, &a);
    char why[512];
    n = orch_node_get(o, wn->name, 0);
    orch_copy(why, sizeof(why), n ? n->sup.why : "");
    if (r == 0)
        (*(exists ? &o->m.swaps : &o->m.starts))++;
    else if (r != -EINTR)
        o->m.start_failures++;
    pthread_mutex_unlock(&o->mu);
    if (r == -ETIMEDOUT)
        return engine_diag_add(d, wn->name, 0, 0, "image %.12s did not become ready in %d ms", id,
                               ORCH_READY_MS);
    if (r < 0 && r != -EINTR)
        engine_diag_add(d, wn->name, 0, 0, "image %.12s did not start: %s", id, why);
    return r;
}

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

/* Brings node WN to what W wants, building with PASS's builder when its image is not built
 * yet. Returns 1 when a deployment happened, 0 when nothing had to change, negative when the
 * change failed (the reason is in the node's error). */
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
    orch_changed(o, wn->name);

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
        double t0 = orch_clock();
        r = builder_build(b, &spec, 1, o->image_dir, &res, &d);
        pthread_mutex_lock(&o->mu);
        if (r == 0)
            orch_built_add(o, key, res.id);
        if (r < 0) {
            o->m.builds_failed[ORCH_BUILD_CHANGE]++;
        } else if (!res.cached) {
            o->m.builds[ORCH_BUILD_CHANGE]++;
            orch_hist_observe(&o->m.build_seconds, orch_clock() - t0);
        }
        pthread_mutex_unlock(&o->mu);
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
                     n->sup.state != SUP_STOPPED && strcmp(n->sup.image, res.id) == 0 &&
                     (!lv->tls || memcmp(n->tls_sum, wn->tls_sum, sizeof(n->tls_sum)) == 0);
    uint64_t have_version = n->version;
    pthread_mutex_unlock(&o->mu);
    orch_changed(o, wn->name);
    if (r < 0) {
        char *why = orch_diag_text(&d, r);
        pthread_mutex_lock(&o->mu);
        orch_node_error(n, "build of level %s failed: %s", lv->level, why ? why : "");
        pthread_mutex_unlock(&o->mu);
        orch_changed(o, wn->name);
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
    n->base_version = 0;
    n->base_commit[0] = '\0';
    if (lv->pdp == ENGINE_PDP_INTERNAL && lv->blob != NULL && lv->blob->patch != NULL) {
        n->base_version = lv->blob->data_version;
        orch_copy(n->base_commit, sizeof(n->base_commit), lv->blob->base_head);
    }
    if (lv->tls)
        memcpy(n->tls_sum, wn->tls_sum, sizeof(n->tls_sum));
    else
        memset(n->tls_sum, 0, sizeof(n->tls_sum));
    n->error[0] = 0;
    pthread_mutex_unlock(&o->mu);
    orch_changed(o, wn->name);
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
    orch_changed(o, wn->name);
    orch_event(o, "%s: change to level %s failed: %s", wn->name, lv->level, why ? why : "");
    free(why);
    r = -EIO;
done:
    builder_results_free(&res, 1);
    engine_diag_free(&d);
    return r;
}

/* An old instance of a load balancer pins only the backend keys it was built with, and keeps
 * relaying the streams it had accepted while it drains: a backend's new instance (a rotation's
 * new key) must not serve before the load balancers' old instances are gone. Waits until every
 * load balancer that pins keys runs one instance, at most the supervisor's bound on a swap and
 * a second; -EAGAIN when a newer want or the end supersedes this one. */
static int orch_lbs_swapped(struct orch *o, const struct orch_want *w)
{
    const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
    unsigned most = o->sup != NULL ? sup_swap_bound_ms(o->sup) + 1000 : 0;
    size_t busy = 1;

    for (unsigned t = 0; o->sup != NULL && busy > 0 && t < most / 10; t++) {
        pthread_mutex_lock(&o->mu);
        int stop = o->stop, newer = o->gen != w->gen;
        pthread_mutex_unlock(&o->mu);
        if (stop || newer)
            return -EAGAIN;
        busy = 0;
        for (size_t i = 0; i < w->nnodes; i++) {
            struct sup_status st;
            if (orch_level_pins(&w->nodes[i].levels[w->nodes[i].current]) &&
                sup_node_status(o->sup, w->nodes[i].name, &st) == 0)
                busy += st.others;
        }
        if (busy > 0)
            nanosleep(&tick, NULL);
    }
    if (busy > 0)
        orch_event(o,
                   "load balancers still swapping after %u ms: their backends are changed "
                   "all the same (a rotation's new key may be refused meanwhile)",
                   most);
    return 0;
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
    /* Load balancers that speak TLS to their backends first: a backend's rotation swaps them
     * to pins of its new key beside its old one, and their old instances are gone, before the
     * backend's new instance serves. */
    for (int lbs = 1; lbs >= 0; lbs--) {
        for (size_t i = 0; i < w->nnodes; i++) {
            pthread_mutex_lock(&o->mu);
            int stop = o->stop, newer = o->gen != w->gen;
            pthread_mutex_unlock(&o->mu);
            if (stop || newer)
                goto out; /* a newer want supersedes this one: start over with it */
            if (orch_level_pins(&w->nodes[i].levels[w->nodes[i].current]) == lbs)
                orch_node_reconcile(o, w, &w->nodes[i], &pass);
        }
        if (lbs == 1 && orch_lbs_swapped(o, w) < 0)
            goto out;
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

void *orch_reconcile_main(void *arg)
{
    struct orch *o = arg;

    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        if (o->rebased) {
            o->rebased = 0;
            pthread_mutex_unlock(&o->mu);
            orch_rebase_deliver(o);
            pthread_mutex_lock(&o->mu);
            continue;
        }
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
