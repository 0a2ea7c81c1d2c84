/* fs_orch.c — the mount's side of the orchestrator: starts it with the served state, hands it
 * every state the mount installs (told by fs_apply.c through ctx->installed), passes its
 * deployment records to fs_apply_record(), and stops it at unmount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "fs_tls.h"
#include "orch/orch.h"

static void fs_orch_event(void *arg, const char *line)
{
    fs_event(arg, "%s", line);
}

static void fs_orch_changed(void *arg, const char *node)
{
    fs_touch_node(arg, node);
}

static const struct engine_acl *fs_orch_acl(const void *s)
{
    return fs_snap_acl(s);
}

/* The orchestrator keeps a snapshot to compile a policy's new base from on its own thread
 * (fs_snap_acl() is thread-safe). */
static void fs_orch_acl_hold(void *c, const void *s)
{
    pthread_mutex_lock(&((struct fs_ctx *)c)->mu);
    ((struct fs_snap *)s)->refs++;
    pthread_mutex_unlock(&((struct fs_ctx *)c)->mu);
}

static void fs_orch_acl_drop(void *c, const void *s)
{
    fs_snap_put(c, (struct fs_snap *)s);
}

/* What fs_orch_cert_before() reads from: the store, at the commit of the state given. */
struct fs_orch_history {
    struct fs_ctx *c;
    const char *head;
};

/* NODE's certificate before CERT in main's history (orch_desired's cert_before), asked after a
 * restart; a version passed over, or a walk cut short, is said in events, never fatal. */
static int fs_orch_cert_before(void *arg, const char *node, const char *cert, size_t len,
                               char **pem, size_t *pem_len)
{
    struct fs_orch_history *h = arg;
    struct engine_diag warn;
    engine_diag_init(&warn);
    int r = engine_tls_cert_before(h->c->store, h->head[0] ? h->head : NULL, node, cert, len,
                                   (int64_t)time(NULL), pem, pem_len, &warn);
    for (size_t i = 0; i < warn.n; i++) {
        char *line = engine_diag_format(&warn, i);
        fs_event(h->c, "%s: pins of its load balancers: %s", node, line ? line : "out of memory");
        free(line);
    }
    engine_diag_free(&warn);
    return r;
}

/* Hands S, just installed, to the orchestrator as the desired state (ctx->installed).
 * apply_mu held. */
static void fs_orch_give(struct fs_ctx *c, struct fs_snap *s)
{
    struct engine_store_commit_line h = {"", ""};
    struct engine_diag d;
    const struct engine_topology_derived *x;

    if (c->orch == NULL)
        return;
    if ((x = fs_snap_derived(s)) == NULL) {
        fs_error(c, "the orchestrator was not given commit %.12s: out of memory", s->head);
        return;
    }
    /* The change's author and summary, for the deployment commits that realise it. */
    engine_store_head_line(c->store, &h);
    struct fs_policy *op = c->orch_policy;
    struct fs_orch_history hist = {c, s->head};
    struct orch_desired want = {
        .x = x,
        .acl_get = fs_orch_acl,
        .acl_arg = s,
        .acl_hold = fs_orch_acl_hold,
        .acl_drop = fs_orch_acl_drop,
        .acl_ctx = c,
        .policy_changed = s->policy != op,
        /* One rules file changed since the policy it was given: the rules that changed. */
        .change = op != NULL && s->policy->change != NULL && s->policy->from == op->gen
                      ? s->policy->change
                      : NULL,
        /* Only the groups and credentials changed since: the users, groups and credentials. */
        .people = op != NULL && s->policy->people != NULL && s->policy->from == op->gen
                      ? s->policy->people
                      : NULL,
        .head = s->head,
        .who = h.author,
        .what = h.summary,
        .cert_before = fs_orch_cert_before,
        .cert_arg = &hist,
    };
    /* The nodes' TLS credentials: the key reaches the instance at start, from here only. */
    size_t ntls = s->tls != NULL ? s->tls->n : 0;
    struct orch_tls *tls = ntls > 0 ? calloc(ntls, sizeof(*tls)) : NULL;
    if (ntls > 0 && tls == NULL) {
        fs_error(c, "the orchestrator was not given commit %.12s: out of memory", s->head);
        return;
    }
    for (size_t i = 0; i < ntls; i++) {
        const struct fs_tls_node *n = &s->tls->v[i];
        tls[i] = (struct orch_tls){
            n->node, n->creds, n->creds_len, n->why[0] ? n->why : NULL, n->cert.data, n->cert.len};
    }
    want.tls = tls;
    want.ntls = ntls;
    engine_diag_init(&d);
    if (orch_apply(c->orch, &want, &d) < 0) {
        char *why = engine_diag_join(&d);
        fs_error(c, "commit %.12s is not deployed: %s", s->head, why ? why : "out of memory");
        free(why);
    } else {
        struct fs_policy *old = c->orch_policy;
        c->orch_policy = fs_policy_ref(s->policy);
        fs_policy_put(old);
    }
    free(tls);
    engine_diag_free(&d);
}

/* The orchestrator's record of a deployment: committed by the mount, the store's one writer,
 * on this host's ref of records. */
static void fs_orch_record(void *arg, const struct orch_record *r)
{
    fs_apply_record(arg, r->node, r->deployed, r->len, r->message, r->patch, r->patch_len);
}

int fs_orch_start(struct fs_ctx *c, struct engine_diag *d)
{
    struct fs_snap *s;
    char *deployed = NULL;
    size_t len;
    int r;

    if (c->no_run)
        return 0;
    /* Policy versions go on above those this host recorded (none: from 1). */
    fs_record_last(c->store, fs_record_host(c), &deployed, &len, NULL, NULL);
    struct orch_options opt = {
        .target = c->target,
        .image_dir = c->image_dir,
        .listen_host = c->listen_host,
        .host_name = c->host_name,
        .deployed = deployed,
        .event = fs_orch_event,
        .event_arg = c,
        .record = fs_orch_record,
        .changed = fs_orch_changed,
        .log_dir = c->log_dir,
        .log_max = c->log_max,
        .log_keep = c->log_keep,
    };
    r = orch_new(&c->orch, &opt, d);
    free(deployed);
    if (r < 0)
        return r;
    fs_event(c, "orchestrator: instances run on %s, images in %s", engine_target_name(c->target),
             c->image_dir);
    pthread_mutex_lock(&c->apply_mu);
    c->installed = fs_orch_give;
    s = fs_snap_get(c);
    fs_orch_give(c, s);
    fs_snap_put(c, s);
    pthread_mutex_unlock(&c->apply_mu);
    return 0;
}

void fs_orch_stop(struct fs_ctx *c)
{
    if (c->orch == NULL)
        return;
    fs_event(c, "orchestrator: stopping every instance");
    pthread_mutex_lock(&c->apply_mu);
    c->installed = NULL;
    pthread_mutex_unlock(&c->apply_mu);
    orch_free(c->orch);
    c->orch = NULL;
    fs_policy_put(c->orch_policy);
    c->orch_policy = NULL;
}
