/* fs_state.c — the served state: snapshots of the store's files, checked as a whole. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

void fs_text_free(struct fs_text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = 0;
}

int fs_text_set(struct fs_text *t, const char *data, size_t len)
{
    char *d = malloc(len + 1);

    if (d == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(d, data, len);
    d[len] = '\0';
    free(t->data);
    t->data = d;
    t->len = len;
    return 0;
}

int fs_snap_read_store(struct fs_text file[FS_FILE_N], const struct engine_store *store,
                       struct engine_diag *diag)
{
    int rc;

    for (int f = 0; f < FS_FILE_N; f++) {
        file[f].data = NULL;
        file[f].len = 0;
    }
    for (int f = 0; f < FS_FILE_N; f++) {
        rc = engine_store_read(store, fs_file_path(f), &file[f].data, &file[f].len, diag);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            goto fail;
    }
    return 0;
fail:
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&file[f]);
    return rc;
}

void fs_snap_free(struct fs_snap *s)
{
    if (s == NULL)
        return;
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&s->file[f]);
    engine_acl_free(s->acl);
    free(s);
}

/* The policy files, parsed together: each file on its own, then group references. */
static int fs_snap_policy(struct fs_snap *s, struct engine_diag *diag)
{
    static const struct {
        enum fs_file f;
        enum engine_acl_file kind;
    } order[] = {
        {FS_FILE_GROUPS, ENGINE_ACL_FILE_GROUPS},
        {FS_FILE_ACL, ENGINE_ACL_FILE_ACL},
        {FS_FILE_CREDENTIALS, ENGINE_ACL_FILE_CREDENTIALS},
    };
    int rc, bad = 0;

    if ((rc = engine_acl_new(&s->acl)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct fs_text *t = &s->file[order[i].f];
        if (t->data == NULL)
            continue;
        rc = engine_acl_parse(s->acl, order[i].kind, fs_file_path(order[i].f), t->data, t->len,
                              diag);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0)
            bad = 1;
    }
    if (bad)
        return -EINVAL;
    if ((rc = engine_acl_check_groups(s->acl, diag)) < 0)
        return rc;
    engine_acl_stats_get(s->acl, &s->acl_stats);
    return 0;
}

int fs_snap_build(struct fs_snap **out, struct fs_text file[FS_FILE_N], const char *head,
                  struct engine_diag *diag)
{
    struct fs_snap *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    for (int f = 0; f < FS_FILE_N; f++) {
        if (s != NULL)
            s->file[f] = file[f];
        else
            fs_text_free(&file[f]);
        file[f].data = NULL;
        file[f].len = 0;
    }
    if (s == NULL)
        return -ENOMEM;
    s->refs = 1;
    snprintf(s->head, sizeof(s->head), "%s", head != NULL ? head : "");
    clock_gettime(CLOCK_REALTIME, &s->since);
    if ((rc = fs_snap_policy(s, diag)) < 0) {
        fs_snap_free(s);
        return rc;
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

static void fs_log_v(struct fs_ctx *c, struct fs_log *l, const char *level, const char *fmt,
                     va_list ap)
{
    char *line = NULL;

    if (vasprintf(&line, fmt, ap) < 0)
        return;
    pthread_mutex_lock(&c->mu);
    fs_log_append(l, time(NULL), line);
    pthread_mutex_unlock(&c->mu);
    engine_log(level, "%s", line);
    free(line);
}

void fs_event(struct fs_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_log_v(c, &c->events, "info", fmt, ap);
    va_end(ap);
}

void fs_error(struct fs_ctx *c, const char *fmt, ...)
{
    va_list ap, ap2;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    fs_log_v(c, &c->errors, "error", fmt, ap);
    /* A refusal is also something that happened: events shows it beside the commits. */
    {
        char *line = NULL;
        if (vasprintf(&line, fmt, ap2) >= 0) {
            pthread_mutex_lock(&c->mu);
            fs_log_append(&c->events, time(NULL), line);
            pthread_mutex_unlock(&c->mu);
            free(line);
        }
    }
    va_end(ap2);
    va_end(ap);
}
