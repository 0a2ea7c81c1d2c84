/* fs_state.c — the served state: snapshots of the store's files, checked as a whole. */
#include <errno.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "fs_tls.h"

int fs_snap_read_store(struct fs_text file[FS_FILE_N], struct fs_rules_set *acld,
                       const struct engine_store *store, const struct fs_rules_set *prev,
                       struct engine_diag *diag)
{
    int rc;

    for (int f = 0; f < FS_FILE_N; f++)
        file[f] = (struct fs_text){0};
    for (int f = 0; f < FS_FILE_N; f++) {
        /* Bounded as a write through the mount is: an outside commit or a pull brings any size. */
        rc = engine_store_read_max(store, NULL, fs_file_path(f), fs_file_bound(f), &file[f].data,
                                   &file[f].len, diag);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            goto fail;
    }
    if ((rc = fs_rules_read_store(acld, store, NULL, prev, diag)) < 0)
        goto fail;
    return 0;
fail:
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&file[f]);
    return rc;
}

int fs_model_load(struct fs_model **out, const char *buf, size_t len, const struct fs_text *inputs,
                  struct engine_diag *diag)
{
    struct fs_model *m;
    int rc;

    *out = NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return -ENOMEM;
    if ((rc = engine_topology_load_inputs(&m->t, buf, len, "topology.yaml", NULL, inputs->data,
                                          inputs->len, "inputs.yaml", diag)) < 0) {
        free(m);
        return rc;
    }
    m->refs = 1;
    *out = m;
    return 0;
}

struct fs_model *fs_model_ref(struct fs_model *m)
{
    if (m != NULL)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void fs_model_put(struct fs_model *m)
{
    if (m == NULL || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    engine_topology_free(m->t);
    free(m);
}

struct fs_policy *fs_policy_ref(struct fs_policy *p)
{
    if (p != NULL)
        __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
    return p;
}

/* The text of R (may be NULL) when this is its last reference: what putting it frees. */
static size_t fs_rules_own_bytes(const struct fs_rules *r)
{
    return r != NULL && __atomic_load_n(&r->refs, __ATOMIC_RELAXED) == 1 ? r->text.len : 0;
}

void fs_policy_change_done(struct fs_policy *p)
{
    size_t bytes;

    if (p->change == NULL)
        return;
    /* The rules a large file's change removed or added, and the version it replaced: given
     * back to the system, or the daemon keeps that file's peak (fs_memory_trim()). */
    bytes = engine_acl_keys_change_release(p->change) + fs_rules_own_bytes(p->was) +
            fs_rules_set_bytes(&p->was_d, 1);
    fs_rules_put(p->was);
    p->was = NULL;
    fs_rules_set_free(&p->was_d);
    fs_memory_trim(bytes);
}

void fs_policy_put(struct fs_policy *p)
{
    size_t bytes;

    if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    /* policy/acl's parsed rules can outlive the snapshot that held its text (the orchestrator's
     * reference): give their memory back when they go, as fs_snap_free() does for the text. */
    bytes = fs_rules_own_bytes(p->main) + (p->now != p->main ? fs_rules_own_bytes(p->now) : 0) +
            (p->acl != NULL ? p->stats.rules * 64 : 0);
    engine_acl_free(p->acl);
    fs_rules_put(p->main);
    fs_rules_put(p->now);
    fs_rules_put(p->was);
    fs_rules_set_free(&p->was_d);
    fs_rules_set_free(&p->now_d);
    fs_keys_put(p->keys);
    engine_acl_keys_change_free(p->change);
    engine_acl_free(p->people);
    engine_acl_free(p->people_keys);
    free(p->changed);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->warmed);
    free(p);
    fs_memory_trim(bytes);
}

void fs_memory_trim(size_t freed)
{
    /* glibc keeps freed memory in the arena of the thread that used it (each FUSE thread may
     * have its own): after a large file, give it back, or the daemon keeps its peak. */
    if (freed >= FS_TRIM_MIN)
        malloc_trim(0);
}

size_t fs_snap_bytes(const struct fs_snap *s)
{
    size_t bytes = 0;

    for (int f = 0; f < FS_FILE_N; f++)
        bytes += s->file[f].len;
    return bytes + fs_rules_set_bytes(&s->acld, 0);
}

void fs_snap_free(struct fs_snap *s)
{
    size_t bytes;

    if (s == NULL)
        return;
    /* What freeing S gives back: its files, not the rules files the next snapshot shares (a
     * trim walks the whole heap). */
    bytes = fs_rules_set_bytes(&s->acld, 1);
    for (int f = 0; f < FS_FILE_N; f++)
        bytes += s->file[f].len;
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&s->file[f]);
    fs_rules_set_free(&s->acld);
    fs_policy_put(s->policy);
    fs_tls_put(s->tls);
    engine_topology_derived_free(s->derived);
    engine_topology_derived_free(s->artifacts);
    engine_topology_state_free(s->state);
    fs_model_put(s->model);
    pthread_mutex_destroy(&s->derive_mu);
    free(s);
    fs_memory_trim(bytes);
}

/* policy/acl parsed alone: PREV's when it is the same text. */
static int fs_snap_main(struct fs_policy *p, const struct fs_snap *s, const struct fs_snap *prev)
{
    const struct fs_text *t = &s->file[FS_FILE_ACL];

    if (t->data == NULL)
        return 0;
    if (prev != NULL && prev->policy != NULL && prev->policy->main != NULL &&
        fs_snap_file_same(prev, s, FS_FILE_ACL)) {
        p->main = fs_rules_ref(prev->policy->main);
        return 0;
    }
    return fs_rules_share(&p->main, "acl", t, "");
}

static uint64_t fs_policy_gen;

/* The policy files, parsed together (each rules file on its own, kept parsed while it does
 * not change; then group references), or PREV's when every policy file is the same. */
static int fs_snap_policy(struct fs_snap *s, const struct fs_snap *prev, struct engine_diag *diag)
{
    static const struct {
        enum fs_file f;
        enum engine_acl_file kind;
    } order[] = {
        {.f = FS_FILE_GROUPS, .kind = ENGINE_ACL_FILE_GROUPS},
        {.f = FS_FILE_ACL, .kind = ENGINE_ACL_FILE_ACL},
        {.f = FS_FILE_CREDENTIALS, .kind = ENGINE_ACL_FILE_CREDENTIALS},
    };
    struct fs_policy *p;
    int rc, bad = 0;

    if (prev != NULL && prev->policy != NULL && fs_snap_file_same(prev, s, FS_FILE_ACL) &&
        fs_snap_file_same(prev, s, FS_FILE_GROUPS) &&
        fs_snap_file_same(prev, s, FS_FILE_CREDENTIALS) &&
        fs_rules_set_same(&s->acld, &prev->acld)) {
        p = prev->policy;
        __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
        goto done;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return -ENOMEM;
    p->refs = 1;
    p->gen = __atomic_add_fetch(&fs_policy_gen, 1, __ATOMIC_RELAXED);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->warmed, NULL);
    /* One rules file of policy/acl.d changed, or only the groups and credentials: checked at
     * that file's cost, or at the users'. */
    if ((rc = fs_keys_policy(p, s, prev, diag)) <= 0 ||
        (rc = fs_keys_people(p, s, prev, diag)) <= 0) {
        if (rc < 0) {
            fs_policy_put(p);
            return rc;
        }
        goto done;
    }
    if ((rc = engine_acl_new(&p->acl)) < 0) {
        fs_policy_put(p);
        return rc;
    }
    if ((rc = fs_snap_main(p, s, prev)) < 0) {
        fs_policy_put(p);
        return rc;
    }
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct fs_text *t = &s->file[order[i].f];
        if (order[i].kind == ENGINE_ACL_FILE_ACL) {
            rc = fs_rules_add_all(p->acl, p->main, &s->acld, diag);
            if (rc == -ENOMEM) {
                fs_policy_put(p);
                return rc;
            }
            bad |= rc < 0;
            continue;
        }
        if (t->data == NULL)
            continue;
        rc = engine_acl_parse(p->acl, order[i].kind, fs_file_path(order[i].f), t->data, t->len,
                              diag);
        if (rc == -ENOMEM) {
            fs_policy_put(p);
            return rc;
        }
        if (rc < 0)
            bad = 1;
    }
    if (bad || (rc = engine_acl_check_groups(p->acl, diag)) < 0) {
        fs_policy_put(p);
        return -EINVAL;
    }
    engine_acl_stats_get(p->acl, &p->stats);
    /* Complete: nothing parses into it again or looks a string up in it (fs_snap_acl()). */
    engine_acl_seal(p->acl);
done:
    s->policy = p;
    s->acl_stats = p->stats;
    return 0;
}

/* The topology, the state against it, and (when the levels are not all that changed) what
 * the interpreters derive. */
static int fs_snap_topology(struct fs_snap *s, const struct fs_snap *prev, struct fs_model *model,
                            struct engine_topology_state *state, struct engine_diag *diag)
{
    const struct fs_text *t = &s->file[FS_FILE_TOPOLOGY];
    const struct fs_text *lv = &s->file[FS_FILE_LEVELS], *pr = &s->file[FS_FILE_PROPERTIES];
    int same_topology, rc;

    if (t->data == NULL) {
        engine_topology_state_free(state);
        return engine_diag_add(diag, "topology.yaml", 0, 0,
                               "the store has no topology.yaml; put the topology back");
    }
    /* the model is the topology with its inputs' values */
    same_topology = prev != NULL && prev->model != NULL &&
                    fs_snap_file_same(prev, s, FS_FILE_TOPOLOGY) &&
                    fs_snap_file_same(prev, s, FS_FILE_INPUTS);
    if (model != NULL) {
        s->model = fs_model_ref(model);
    } else if (same_topology) {
        s->model = fs_model_ref(prev->model); /* parsed once, shared while unchanged */
    } else if ((rc = fs_model_load(&s->model, t->data, t->len, &s->file[FS_FILE_INPUTS], diag)) <
               0) {
        engine_topology_state_free(state);
        return rc;
    }
    if (state != NULL)
        s->state = state;
    else if ((rc = engine_topology_state_parse(&s->state, s->model->t, lv->data, lv->len, pr->data,
                                               pr->len, diag)) < 0)
        return rc;
    /* Levels only: PREV was derived (or inherited) valid with this topology and these
     * properties, and a level only picks another of the images checked then. */
    if (same_topology && model == NULL && fs_snap_file_same(prev, s, FS_FILE_PROPERTIES))
        return 0;
    return engine_topology_derive_plans(&s->derived, s->model->t, s->state, s->target, diag);
}

const struct engine_topology_derived *fs_snap_derived(struct fs_snap *s)
{
    const struct engine_topology_derived *d;

    pthread_mutex_lock(&s->derive_mu);
    if (s->derived == NULL &&
        engine_topology_derive_plans(&s->derived, s->model->t, s->state, s->target, NULL) < 0)
        s->derived = NULL;
    d = s->derived;
    pthread_mutex_unlock(&s->derive_mu);
    return d;
}

const struct engine_topology_derived *fs_snap_artifacts(struct fs_snap *s)
{
    const struct engine_topology_derived *d;

    pthread_mutex_lock(&s->derive_mu);
    if (s->artifacts == NULL &&
        engine_topology_derive(&s->artifacts, s->model->t, s->state, s->target, NULL) < 0)
        s->artifacts = NULL;
    d = s->artifacts;
    pthread_mutex_unlock(&s->derive_mu);
    return d;
}

static _Atomic uint64_t fs_snap_serials;

int fs_snap_build(struct fs_snap **out, struct fs_text file[FS_FILE_N], struct fs_rules_set *acld,
                  const char *head, const struct fs_snap *prev, struct fs_model *model,
                  struct engine_topology_state *state, enum engine_target target,
                  struct engine_diag *diag)
{
    struct fs_snap *s;
    int rc, rc_topo;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    for (int f = 0; f < FS_FILE_N; f++) {
        if (s != NULL)
            s->file[f] = file[f];
        else
            fs_text_free(&file[f]);
        file[f] = (struct fs_text){0};
    }
    if (s != NULL && acld != NULL) {
        s->acld = *acld;
        acld->v = NULL;
        acld->n = 0;
    } else if (acld != NULL) {
        fs_rules_set_free(acld);
    }
    if (s == NULL) {
        engine_topology_state_free(state);
        return -ENOMEM;
    }
    s->refs = 1;
    s->target = target;
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_shareable(&s->file[f]); /* the candidates made from it share its files */
    s->serial = atomic_fetch_add(&fs_snap_serials, 1) + 1;
    if (prev != NULL) {
        s->base = prev->serial;
        for (int f = 0; f < FS_FILE_N; f++)
            if (fs_text_same(&prev->file[f], &s->file[f]))
                s->same |= 1u << f;
    }
    s->tls = prev != NULL ? fs_tls_ref(prev->tls) : NULL;
    pthread_mutex_init(&s->derive_mu, NULL);
    snprintf(s->head, sizeof(s->head), "%s", head != NULL ? head : "");
    clock_gettime(CLOCK_REALTIME, &s->since);
    /* Both parts are checked, so that every reason is reported at once. */
    rc = fs_snap_policy(s, prev, diag);
    if (rc == -ENOMEM) {
        engine_topology_state_free(state);
        fs_snap_free(s);
        return rc;
    }
    rc_topo = fs_snap_topology(s, prev, model, state, diag);
    /* Every policy the topology names must have rules: a node would deny everything. */
    if (rc == 0 && rc_topo == 0)
        rc = engine_topology_check_policies_fn(s->model->t, fs_snap_has_policy, s, diag);
    if (rc < 0 || rc_topo < 0) {
        fs_snap_free(s);
        return rc == -ENOMEM || rc_topo == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    *out = s;
    return 0;
}

struct fs_snap *fs_snap_get(struct fs_ctx *c)
{
    struct fs_snap *s;

    pthread_mutex_lock(&c->mu);
    s = c->snap;
    s->refs++;
    pthread_mutex_unlock(&c->mu);
    return s;
}

void fs_snap_put(struct fs_ctx *c, struct fs_snap *s)
{
    int last;

    if (s == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        fs_snap_free(s);
}

/* LINE goes to events (and events.json) at LEVEL, and to ERRORS too when ERRORS. */
static void fs_log_line(struct fs_ctx *c, const char *level, int errors, const char *line)
{
    time_t now = time(NULL);

    pthread_mutex_lock(&c->mu);
    if (errors)
        fs_log_append(&c->errors, now, line);
    /* A refusal is also something that happened: events shows it beside the commits. */
    fs_log_append(&c->events, now, line);
    fs_log_append_json(&c->events_json, now, level, line);
    pthread_mutex_unlock(&c->mu);
    if (errors)
        fs_live_touched(c, &c->errors);
    fs_live_touched(c, &c->events);
    fs_poll_wake(
        c, (errors ? 1u << FS_LIVE_ERRORS : 0) | 1u << FS_LIVE_EVENTS | 1u << FS_LIVE_EVENTS_JSON,
        NULL);
    engine_log(level, "%s", line);
}

void fs_event(struct fs_ctx *c, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) >= 0)
        fs_log_line(c, "info", 0, line);
    va_end(ap);
    free(line);
}

void fs_error(struct fs_ctx *c, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) >= 0)
        fs_log_line(c, "error", 1, line);
    va_end(ap);
    free(line);
}

void fs_store_synced(int error, const char *why, void *arg)
{
    struct fs_ctx *c = arg;

    if (error < 0)
        fs_error(c,
                 "cannot make the store's work tree durable after a level write: %s; the commits "
                 "are durable (a crash of the machine meanwhile is recovered from the journal), "
                 "and the store tries again",
                 why);
    else
        fs_event(c, "the store's work tree is durable again after the level writes");
}

/* ---- the certificates and keys of a state (fs_tls_keys.c loads them) ---- */

void fs_tls_wipe(void *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
    free(p);
}

void fs_tls_node_free(struct fs_tls_node *n)
{
    free(n->node);
    fs_text_free(&n->cert);
    fs_text_free(&n->fingerprint);
    fs_tls_wipe(n->creds, n->creds_len);
    memset(n, 0, sizeof(*n));
}

struct fs_tls *fs_tls_ref(struct fs_tls *t)
{
    if (t != NULL)
        __atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void fs_tls_put(struct fs_tls *t)
{
    if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < t->n; i++)
        fs_tls_node_free(&t->v[i]);
    free(t->v);
    free(t);
}

const struct fs_tls_node *fs_tls_find(const struct fs_tls *t, const char *node)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (strcmp(t->v[i].node, node) == 0)
            return &t->v[i];
    return NULL;
}
