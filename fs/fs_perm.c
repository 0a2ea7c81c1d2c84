/* fs_perm.c — modes and owners the mount's owner gave to files of the tree (chmod, chgrp),
 * kept in the store's git directory so that they survive a remount, never in the tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_int.h"

static void fs_perm_path(char *buf, size_t size, const struct fs_ctx *c, const char *suffix)
{
    snprintf(buf, size, "%s/.git/%s%s", c->store_dir, FS_PERM_FILE, suffix);
}

const struct fs_perm *fs_perm_find(const struct fs_ctx *c, const char *path)
{
    for (const struct fs_perm *p = c->perms; p != NULL; p = p->next)
        if (strcmp(p->path, path) == 0)
            return p;
    return NULL;
}

void fs_perm_free_all(struct fs_ctx *c)
{
    while (c->perms != NULL) {
        struct fs_perm *p = c->perms;
        c->perms = p->next;
        free(p->path);
        free(p);
    }
}

static int fs_perm_put(struct fs_ctx *c, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    struct fs_perm *p = (struct fs_perm *)fs_perm_find(c, path);

    if (p == NULL) {
        if ((p = calloc(1, sizeof(*p))) == NULL || (p->path = strdup(path)) == NULL) {
            free(p);
            return -ENOMEM;
        }
        p->next = c->perms;
        c->perms = p;
    }
    p->mode = mode & 0777;
    p->uid = uid;
    p->gid = gid;
    return 0;
}

int fs_perm_load(struct fs_ctx *c)
{
    char file[4096], line[4096 + 64];
    FILE *f;
    int rc = 0;

    fs_perm_path(file, sizeof(file), c, "");
    if ((f = fopen(file, "re")) == NULL)
        return errno == ENOENT ? 0 : -errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned mode;
        unsigned long uid, gid;
        int off = 0;
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        /* "MODE UID GID PATH": the path last, as it may hold blanks. */
        if (sscanf(line, "%o %lu %lu %n", &mode, &uid, &gid, &off) != 3 || off == 0 ||
            mode > 0777) {
            engine_log("warning", "%s: a line that is not 'MODE UID GID PATH' is ignored", file);
            continue;
        }
        if ((rc = fs_perm_put(c, line + off, mode, (uid_t)uid, (gid_t)gid)) < 0)
            break;
    }
    fclose(f);
    return rc;
}

/* Writes every entry to a new file, fsyncs it, renames it over the old one. */
static int fs_perm_save(struct fs_ctx *c)
{
    char file[4096], tmp[4096 + 8];
    FILE *f;
    int fd, rc = 0;

    fs_perm_path(file, sizeof(file), c, "");
    fs_perm_path(tmp, sizeof(tmp), c, ".new");
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
        (f = fdopen(fd, "w")) == NULL) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    fprintf(f, "# unisec: modes and owners of files of the mount (MODE UID GID PATH)\n");
    for (const struct fs_perm *p = c->perms; p != NULL; p = p->next)
        fprintf(f, "%03o %lu %lu %s\n", (unsigned)p->mode, (unsigned long)p->uid,
                (unsigned long)p->gid, p->path);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, file) != 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int fs_perm_set(struct fs_ctx *c, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    int rc;

    if ((rc = fs_perm_put(c, path, mode, uid, gid)) < 0)
        return rc;
    if ((rc = fs_perm_save(c)) < 0)
        engine_log("error", "cannot keep the mode of %s: %s", path, strerror(-rc));
    return rc;
}
