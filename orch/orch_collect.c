/* orch_collect.c — the image directory collected: an image that no instance runs, no level of
 * the desired state is built as, and no recent rollback of its node's level would take is
 * removed. An internal PDP's image carries its rules, 41 MB per rule change at a million. */
#include "orch_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What an image directory holds, by name. */
struct orch_img {
    char id[BUILDER_ID_LEN + 1];
    char node[128], level[128]; /* its manifest's; "" when unreadable (another builder's) */
    struct timespec mtime;
    size_t bytes;
    int keep;
};

#define ORCH_GC_PREFIX ".gc-" /* an image set aside to be removed */

static int orch_is_id(const char *s)
{
    return strlen(s) == BUILDER_ID_LEN && strspn(s, "0123456789abcdef") == BUILDER_ID_LEN;
}

/* Removes DIR/NAME, a directory of files (an image's), and its files. */
static void orch_gc_remove(const char *dir, const char *name)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int sub = fd >= 0 ? openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) : -1;
    DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
    struct dirent *e;

    if (d == NULL && sub >= 0)
        close(sub);
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d != NULL)
        closedir(d);
    if (fd >= 0) {
        unlinkat(fd, name, AT_REMOVEDIR);
        close(fd);
    }
}

/* Newest first within a node's level; images of unknown origin last. */
static int orch_img_order(const void *pa, const void *pb)
{
    const struct orch_img *a = pa, *b = pb;
    int c = strcmp(a->node, b->node);
    if (c == 0)
        c = strcmp(a->level, b->level);
    if (c == 0 && a->mtime.tv_sec != b->mtime.tv_sec)
        c = a->mtime.tv_sec > b->mtime.tv_sec ? -1 : 1;
    if (c == 0 && a->mtime.tv_nsec != b->mtime.tv_nsec)
        c = a->mtime.tv_nsec > b->mtime.tv_nsec ? -1 : 1;
    return c != 0 ? c : strcmp(a->id, b->id);
}

/* The images in O's image directory (*OUT, *N); leftovers set aside earlier are removed. */
static int orch_img_list(struct orch *o, struct orch_img **out, size_t *n)
{
    DIR *d = opendir(o->image_dir);
    struct dirent *e;
    size_t cap = 0;
    char path[4096];

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, ORCH_GC_PREFIX, strlen(ORCH_GC_PREFIX)) == 0) {
            orch_gc_remove(o->image_dir, e->d_name); /* a collection that was cut short */
            continue;
        }
        if (!orch_is_id(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISDIR(st.st_mode) || ENGINE_GROW(out, &cap, *n + 1) < 0)
            continue;
        struct orch_img *im = &(*out)[(*n)++];
        struct builder_manifest *m = NULL;
        struct engine_diag dg;
        memset(im, 0, sizeof(*im));
        memcpy(im->id, e->d_name, sizeof(im->id));
        im->mtime = st.st_mtim;
        snprintf(path, sizeof(path), "%s/%s", o->image_dir, e->d_name);
        engine_diag_init(&dg);
        if (builder_manifest_load(path, &m, &dg) == 0) {
            orch_copy(im->node, sizeof(im->node), m->node);
            orch_copy(im->level, sizeof(im->level), m->level);
            im->bytes = m->image_bytes;
            builder_manifest_free(m);
        }
        engine_diag_free(&dg);
    }
    closedir(d);
    return 0;
}

/* mu held. Marks the image ID of V[0..N) kept. */
static void orch_img_keep(struct orch_img *v, size_t n, const char *id)
{
    for (size_t i = 0; id != NULL && id[0] && i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            v[i].keep = 1;
}

void orch_collect(struct orch *o, const struct orch_want *w)
{
    struct orch_img *v;
    size_t n, gone = 0, freed = 0, kept = 0;
    char from[4200], to[4200];

    if (orch_img_list(o, &v, &n) < 0)
        return;
    qsort(v, n, sizeof(*v), orch_img_order);
    /* The newest ORCH_KEEP_RECENT of each node's level: what undoing a change returns to. */
    for (size_t i = 0, run = 0; i < n; i++) {
        run = i > 0 && v[i].node[0] && strcmp(v[i].node, v[i - 1].node) == 0 &&
                      strcmp(v[i].level, v[i - 1].level) == 0
                  ? run + 1
                  : 0;
        if (v[i].node[0] && run < ORCH_KEEP_RECENT)
            v[i].keep = 1;
    }
    pthread_mutex_lock(&o->mu);
    /* Only while both threads rest on W: a newer want may start an image this pass would
     * not keep (a rollback), and a build under way is in no list yet. */
    if (o->stop || o->gen != w->gen || o->done_gen != w->gen || o->pro_gen != w->gen) {
        pthread_mutex_unlock(&o->mu);
        free(v);
        return;
    }
    for (size_t i = 0; i < o->nnodes; i++) {
        orch_img_keep(v, n, o->nodes[i].image);
        if (o->nodes[i].have_sup && o->nodes[i].sup.state != SUP_STOPPED)
            orch_img_keep(v, n, o->nodes[i].sup.image);
    }
    for (size_t i = 0; i < w->nnodes; i++)
        for (size_t l = 0; l < w->nodes[i].nlevels; l++) {
            struct builder_spec s;
            uint8_t key[ENGINE_SHA256_LEN];
            char id[BUILDER_ID_LEN + 1];
            orch_level_spec(&s, w->nodes[i].name, &w->nodes[i].levels[l],
                            engine_target_name(o->target));
            orch_spec_key(key, &s);
            if (orch_built_find(o, key, id) == 0)
                orch_img_keep(v, n, id);
        }
    /* Set aside under the lock, so that no lookup of the built images (orch_built_find()
     * stats the image) finds one being removed; removed after it. */
    for (size_t i = 0; i < n; i++) {
        if (v[i].keep) {
            kept++;
            continue;
        }
        snprintf(from, sizeof(from), "%s/%s", o->image_dir, v[i].id);
        snprintf(to, sizeof(to), "%s/" ORCH_GC_PREFIX "%s", o->image_dir, v[i].id);
        if (rename(from, to) < 0) {
            v[i].keep = 1;
            continue;
        }
        orch_built_forget(o, v[i].id);
    }
    pthread_mutex_unlock(&o->mu);
    for (size_t i = 0; i < n; i++) {
        if (v[i].keep)
            continue;
        snprintf(to, sizeof(to), ORCH_GC_PREFIX "%s", v[i].id);
        orch_gc_remove(o->image_dir, to);
        gone++;
        freed += v[i].bytes;
    }
    if (gone > 0)
        orch_event(o, "images: %zu no longer needed removed (%.1f MB), %zu kept", gone,
                   (double)freed / 1e6, kept);
    free(v);
}
