/*
 * fs_keys_warm.c — a served policy's rules by key (fs_keys.c) made by a thread of the daemon's
 * when the policy was made whole (at the mount, after a change of the groups that drops a group,
 * or of the groups or credentials with a rules file), so that the first change of a rules file
 * (policy/acl or acl.d) or of the groups is checked at its cost instead of making them (a second
 * or more at a million rules). A change that comes while they are being made waits for them
 * (fs_keys_policy()); one request replaces another not yet begun.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

/* Tells whoever waits for P's rules by key that none are being made any more, after giving P
 * the rules *MADE (when MADE and *MADE are not NULL) if it has none yet: then *MADE is P's. */
static void fs_keys_unwarm(struct fs_policy *p, struct fs_keys **made)
{
    pthread_mutex_lock(&p->mu);
    if (made != NULL && *made != NULL && p->keys == NULL) {
        p->keys = *made;
        *made = NULL;
    }
    p->warming = 0;
    pthread_cond_broadcast(&p->warmed);
    pthread_mutex_unlock(&p->mu);
}

/* The thread of fs_keys_warm(): makes each snapshot's policy's rules by key as it is asked. */
static void *fs_keys_main(void *arg)
{
    struct fs_ctx *c = arg;

    pthread_mutex_lock(&c->keys_mu);
    for (;;) {
        while (c->keys_next == NULL && !c->keys_stop)
            pthread_cond_wait(&c->keys_cv, &c->keys_mu);
        if (c->keys_stop)
            break;
        struct fs_snap *s = c->keys_next;
        struct fs_policy *p = s->policy;
        struct fs_keys *k = NULL;
        c->keys_next = NULL;
        pthread_mutex_unlock(&c->keys_mu);
        int64_t t0 = fs_now_ms();
        int rc = fs_keys_make(&k, s, &c->keys_stop);
        if (rc == 0)
            engine_log("info",
                       "commit %.12s: the policy's rules by key made for the next change of a "
                       "rules file (%zu files, %llu ms)",
                       s->head, s->acld.n, (unsigned long long)(fs_now_ms() - t0));
        fs_keys_unwarm(p, &k); /* k is NULL unless rc is 0 */
        if (rc < 0 && rc != -ECANCELED)
            engine_log("warning",
                       "the policy's rules by key were not made (%s): the first change "
                       "of a rules file makes them",
                       strerror(-rc));
        fs_keys_put(k);
        fs_snap_put(c, s);
        pthread_mutex_lock(&c->keys_mu);
    }
    pthread_mutex_unlock(&c->keys_mu);
    return NULL;
}

void fs_keys_warm(struct fs_ctx *c, struct fs_snap *s)
{
    struct fs_policy *p = s->policy;
    struct fs_snap *old = NULL;
    int need;

    /* A change of a rules file (policy/acl or acl.d) or of the groups uses them; a policy
     * without any rules file needs none. */
    if (p == NULL || (s->acld.n == 0 && p->main == NULL))
        return;
    pthread_mutex_lock(&c->keys_mu);
    if (!c->keys_allowed || c->keys_stop) {
        pthread_mutex_unlock(&c->keys_mu);
        return;
    }
    pthread_mutex_lock(&p->mu);
    need = p->keys == NULL && !p->warming;
    p->warming |= need;
    pthread_mutex_unlock(&p->mu);
    if (need && !c->keys_running) {
        if (pthread_create(&c->keys_thread, NULL, fs_keys_main, c) != 0) {
            pthread_mutex_unlock(&c->keys_mu);
            fs_keys_unwarm(p, NULL);
            return; /* the first change makes them */
        }
        c->keys_running = 1;
    }
    if (need) {
        old = c->keys_next;
        pthread_mutex_lock(&c->mu);
        s->refs++;
        pthread_mutex_unlock(&c->mu);
        c->keys_next = s;
        pthread_cond_signal(&c->keys_cv);
    }
    pthread_mutex_unlock(&c->keys_mu);
    if (old != NULL) {
        fs_keys_unwarm(old->policy, NULL); /* replaced before it was begun */
        fs_snap_put(c, old);
    }
}

void fs_keys_stop(struct fs_ctx *c)
{
    struct fs_snap *left;
    int running;

    pthread_mutex_lock(&c->keys_mu);
    __atomic_store_n(&c->keys_stop, 1, __ATOMIC_RELAXED);
    running = c->keys_running;
    left = c->keys_next;
    c->keys_next = NULL;
    pthread_cond_signal(&c->keys_cv);
    pthread_mutex_unlock(&c->keys_mu);
    if (running)
        pthread_join(c->keys_thread, NULL);
    c->keys_running = 0;
    if (left != NULL) {
        fs_keys_unwarm(left->policy, NULL);
        fs_snap_put(c, left);
    }
}
