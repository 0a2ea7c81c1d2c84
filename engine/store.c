/* store.c — the store: unisec's desired state as commits on branch main of a git repository
 * with a work tree, made and read with libgit2. This file opens, creates and reads it; changes
 * are made in store_commit.c (store_int.h names the pieces). */
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t store_once = PTHREAD_ONCE_INIT;

static void store_once_init(void)
{
    /* Objects, refs and the index are fsync'd by libgit2 itself; the work tree is ours. */
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    /* libgit2 checks that every object a new tree, commit, index entry or ref names exists,
     * by reading its header from disk (a level write: the blob twice, the subtree, the parent
     * commit, each a loose file opened and inflated). The store names only objects it has just
     * written or read; an id from elsewhere (a remote's) is checked where it is taken. */
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
    /* libgit2's object cache, by default up to 256 MiB of commits and trees, grew a
     * long-running daemon by about 1 KiB a change. A level write reads the head's trees about
     * ten times (each lookup of a path reads every tree on the way): those stay in a cache
     * bounded to STORE_CACHE_BYTES, which a daemon fills within a few hundred changes and then
     * holds. Commits are read about once each: never cached, and blobs neither. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)STORE_CACHE_BYTES);
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_COMMIT, (size_t)0);
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TAG, (size_t)0);
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, (size_t)0);
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)STORE_CACHE_TREE);
}

int store_new(struct engine_store **out, const char *dir, struct engine_diag *diag)
{
    struct engine_store *s;
    int error;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return store_err(diag, dir, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    if ((error = git_libgit2_init()) < 0) {
        error = store_git_err(diag, dir, error, "initialising libgit2");
        engine_store_free(s);
        return error;
    }
    s->git_ref = 1;
    pthread_once(&store_once, store_once_init);
    *out = s;
    return 0;
}

void engine_store_free(struct engine_store *s)
{
    if (s == NULL)
        return;
    store_defer_stop(s);
    git_repository_free(s->repo);
    store_keep_drop(s);
    store_memo_drop(s);
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    if (s->git_ref)
        git_libgit2_shutdown();
    free(s);
}

const char *engine_store_dir(const struct engine_store *s)
{
    return s->dir;
}

/* Returns 1 when DIR exists and holds something, 0 when it is absent or empty. */
static int store_dir_nonempty(const char *dir, struct engine_diag *diag)
{
    struct dirent *de;
    DIR *d;
    int found = 0;

    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT)
            return 0;
        return store_err(diag, dir, errno == ENOTDIR ? -EEXIST : -errno,
                         "init: %s exists and is not a usable directory: %s", dir, strerror(errno));
    }
    while (!found && (de = readdir(d)) != NULL)
        found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return found;
}

/* Makes what git_repository_init() wrote, and the new directory's name, durable: libgit2
 * fsyncs only what it writes afterwards. */
static int store_fsync_skeleton(const struct engine_store *s)
{
    static const char *const skel[] = {"config", "HEAD", "refs/heads", "refs", "objects", ""};
    char parent[PATH_MAX], *slash;
    int error;

    for (size_t i = 0; i < sizeof(skel) / sizeof(skel[0]); i++) {
        if ((error = store_fsync_git(s, skel[i])) < 0)
            return error;
    }
    if ((error = store_fsync_one(s->dir)) < 0)
        return error;
    if ((size_t)snprintf(parent, sizeof(parent), "%s", s->dir) >= sizeof(parent))
        return -ENAMETOOLONG;
    for (size_t len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--)
        parent[len - 1] = '\0';
    if ((slash = strrchr(parent, '/')) == NULL)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    return store_fsync_one(parent);
}

int engine_store_init(struct engine_store **out, const char *dir,
                      const struct engine_store_change *files, size_t n,
                      const struct engine_store_author *author, const char *message,
                      const char *signing_key, struct engine_diag *diag)
{
    git_repository_init_options iopts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    struct engine_store *s = NULL;
    git_treebuilder *tb = NULL;
    git_config *cfg = NULL;
    git_tree_update *upd = NULL;
    git_tree *empty = NULL, *tree = NULL;
    git_signature *sig = NULL;
    char **paths = NULL, *msg = NULL;
    git_oid empty_id, tree_id;
    int error;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return store_err(diag, NULL, -EINVAL, "init: no directory given");
    if ((error = store_changes_check(dir, files, n, 0, diag)) < 0 ||
        (error = store_author_check(dir, author, message, diag)) < 0 ||
        (signing_key != NULL && (error = store_key_try(dir, signing_key, diag)) < 0))
        return error;
    if ((error = store_dir_nonempty(dir, diag)) != 0)
        return error < 0 ? error
                         : store_err(diag, dir, -EEXIST,
                                     "init: %s exists and is not empty; a new store needs a new "
                                     "or empty directory",
                                     dir);
    /* The store holds the credentials' salted hashes (and images carrying them): its owner's
     * alone, whatever the umask. */
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || chmod(dir, 0700) < 0)
        return store_err(diag, dir, -errno, "init: creating %s: %s", dir, strerror(errno));
    if ((error = store_new(&s, dir, diag)) < 0)
        return error;

    iopts.flags = GIT_REPOSITORY_INIT_NO_REINIT;
    iopts.initial_head = "main";
    if ((error = git_repository_init_ext(&s->repo, dir, &iopts)) < 0) {
        error = store_git_err(diag, dir, error, "init: creating the repository");
        goto cleanup;
    }
    if ((error = store_carry_add(s, diag)) < 0)
        goto cleanup;
    /* No reflog: main's history is the record (the daemon never rewrites it), and the two
     * reflogs (main's and HEAD's) cost four fsyncs on every commit. */
    if ((error = git_repository_config(&cfg, s->repo)) < 0 ||
        (error = git_config_set_bool(cfg, "core.logAllRefUpdates", 0)) < 0) {
        error = store_git_err(diag, dir, error, "init: configuring the repository");
        goto cleanup;
    }
    if (signing_key != NULL &&
        (error = store_key_install(dir, git_repository_path(s->repo), signing_key, diag)) < 0)
        goto cleanup;
    if ((upd = calloc(n + 1, sizeof(*upd))) == NULL ||
        (paths = calloc(n + 1, sizeof(*paths))) == NULL || (msg = store_message(message)) == NULL) {
        error = store_err(diag, dir, -ENOMEM, "init: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        paths[i] = (char *)files[i].path;
    if ((error = store_updates(upd, s, files, n, "init: writing a file", diag)) < 0)
        goto cleanup;
    if ((error = git_treebuilder_new(&tb, s->repo, NULL)) < 0 ||
        (error = git_treebuilder_write(&empty_id, tb)) < 0 ||
        (error = git_tree_lookup(&empty, s->repo, &empty_id)) < 0 ||
        (error = git_tree_create_updated(&tree_id, s->repo, empty, n, upd)) < 0 ||
        (error = git_tree_lookup(&tree, s->repo, &tree_id)) < 0 ||
        (error = git_signature_now(&sig, author->name, author->email)) < 0) {
        error = store_git_err(diag, dir, error, "init: making the first commit");
        goto cleanup;
    }
    if ((error = store_commit_make(&s->head, s, sig, msg, tree, NULL,
                                   "init: making the first commit", diag)) < 0)
        goto cleanup;
    if ((error = store_checkout(s, tree, NULL, 0, "init: writing the work tree", diag)) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if ((error = store_fsync_worktree(dir, paths[i], 1)) < 0) {
            error =
                store_err(diag, dir, error, "init: fsync of %s: %s", paths[i], strerror(-error));
            goto cleanup;
        }
    }
    if ((error = store_fsync_skeleton(s)) < 0) {
        error = store_err(diag, dir, error, "init: fsync: %s", strerror(-error));
        goto cleanup;
    }
    *out = s;
    s = NULL;

cleanup:
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(empty);
    git_treebuilder_free(tb);
    git_config_free(cfg);
    engine_store_free(s); /* after the objects: they belong to its repository */
    free(upd);
    free(paths);
    free(msg);
    return error;
}

int engine_store_open(struct engine_store **out, const char *dir, struct engine_diag *diag)
{
    struct engine_store *s = NULL;
    int error;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return store_err(diag, NULL, -EINVAL, "open: no directory given");
    if ((error = store_new(&s, dir, diag)) < 0)
        return error;
    if ((error = git_repository_open_ext(&s->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0) {
        error = store_git_err(diag, dir, error, "open: not a store (no git repository there)");
        goto cleanup;
    }
    if (git_repository_is_bare(s->repo)) {
        error = store_err(diag, dir, -EINVAL,
                          "open: the repository is bare; a store has a "
                          "work tree");
        goto cleanup;
    }
    if ((error = store_carry_add(s, diag)) < 0 || (error = store_journal_main(s, diag)) < 0 ||
        (error = store_main_lookup(&s->head, s, "open", diag)) < 0)
        goto cleanup;
    /* The store is usable even if the work tree cannot be finished now (a foreign lock). */
    if (store_journal_finish(s, 1, "open: finishing an interrupted commit", diag) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    *out = s;
    s = NULL;

cleanup:
    engine_store_free(s);
    return error;
}

/* Looks PATH up in commit ID (NULL: the store's head): *OUT is the entry (caller frees). */
static int store_entry(git_tree_entry **out, const struct engine_store *s, const git_oid *id,
                       const char *path, const char *op, struct engine_diag *diag)
{
    git_tree *tree = NULL;
    int error;

    *out = NULL;
    if ((error = store_commit_tree(&tree, (struct engine_store *)s, id ? id : &s->head, op, diag)) <
        0)
        return error;
    error = git_tree_entry_bypath(out, tree, path);
    if (error == GIT_ENOTFOUND) {
        /* -ENOTDIR when a parent is a file, as the file system would say. */
        char buf[ENGINE_STORE_PATH_MAX + 1];
        git_tree_entry *e = NULL;
        strcpy(buf, path);
        error = -ENOENT;
        for (char *p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
            *p = '\0';
            if (git_tree_entry_bypath(&e, tree, buf) < 0)
                break;
            if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
                error = -ENOTDIR;
            git_tree_entry_free(e);
            e = NULL;
            *p = '/';
            if (error == -ENOTDIR)
                break;
        }
        store_err(diag, s->dir, error, "%s: %s: %s", op, path, strerror(-error));
    } else if (error < 0) {
        error = store_git_err(diag, s->dir, error, op);
    }
    git_tree_free(tree);
    return error;
}

int engine_store_read(const struct engine_store *s, const char *path, char **data, size_t *len,
                      struct engine_diag *diag)
{
    return engine_store_read_at(s, NULL, path, data, len, diag);
}

int store_blob_read(const struct engine_store *s, const git_oid *id, const char *path, size_t max,
                    char **data, size_t *len, struct engine_diag *diag)
{
    git_odb *odb = NULL;
    git_odb_object *o = NULL;
    git_object_t type;
    size_t size = 0;
    int error;

    if ((error = git_repository_odb(&odb, s->repo)) < 0)
        return store_git_err(diag, s->dir, error, "read");
    /* A bounded read looks at the object's header first: a large blob is never inflated. */
    if (max != SIZE_MAX && (error = git_odb_read_header(&size, &type, odb, id)) == 0 && size > max)
        error = store_err(diag, path, -EFBIG, ENGINE_STORE_TOO_LARGE, size, max);
    else if (error == 0 && (error = git_odb_read(&o, odb, id)) == 0) {
        size = git_odb_object_size(o);
        /* A tree may name any object with a file's mode: only a blob is a file's text. */
        if (git_odb_object_type(o) != GIT_OBJECT_BLOB)
            error = store_err(diag, path, -EINVAL, "not a file: its entry names a %s",
                              git_object_type2string(git_odb_object_type(o)));
        else if ((*data = malloc(size + 1)) == NULL)
            error = store_err(diag, s->dir, -ENOMEM, "read: %s: out of memory", path);
        else {
            memcpy(*data, git_odb_object_data(o), size);
            (*data)[ *len = size] = '\0';
        }
        git_odb_object_free(o);
    } else if (error < 0)
        error = store_git_err(diag, s->dir, error, "read");
    git_odb_free(odb);
    return error;
}

int engine_store_read_at(const struct engine_store *s, const char *commit, const char *path,
                         char **data, size_t *len, struct engine_diag *diag)
{
    return engine_store_read_max(s, commit, path, SIZE_MAX, data, len, diag);
}

int engine_store_read_max(const struct engine_store *s, const char *commit, const char *path,
                          size_t max, char **data, size_t *len, struct engine_diag *diag)
{
    git_tree_entry *e = NULL;
    git_oid id;
    int error;

    *data = NULL;
    *len = 0;
    if ((error = store_path_check_in(s->dir, path, diag)) < 0)
        return error;
    if (commit != NULL && git_oid_fromstr(&id, commit) < 0)
        return store_err(diag, s->dir, -EINVAL, "read: %s is not a commit id", commit);
    store_lock(s);
    if ((error = store_entry(&e, s, commit ? &id : NULL, path, "read", diag)) < 0)
        goto cleanup;
    if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
        error = store_err(diag, path, -EISDIR,
                          "not a file: a directory, where a file is expected: remove it");
        goto cleanup;
    }
    /* A link's blob is its target's name, a submodule's entry a commit of another repository:
     * neither is the file's text (git holds them beside files, a commit from outside may too). */
    if (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB &&
        git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB_EXECUTABLE) {
        error = store_err(diag, path, -EINVAL,
                          "not a file: %s, where a file is expected: commit "
                          "the file itself",
                          git_tree_entry_filemode(e) == GIT_FILEMODE_LINK ? "a symbolic link"
                                                                          : "a submodule");
        goto cleanup;
    }
    error = store_blob_read(s, git_tree_entry_id(e), path, max, data, len, diag);

cleanup:
    git_tree_entry_free(e);
    store_unlock(s);
    return error;
}

void engine_store_list_free(struct engine_store_dirent *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].name);
    free(v);
}

int engine_store_list(const struct engine_store *s, const char *dir,
                      struct engine_store_dirent **out, size_t *n, struct engine_diag *diag)
{
    return engine_store_list_at(s, NULL, dir, out, n, diag);
}

void engine_store_blob_id(const char *data, size_t len, char out[41])
{
    git_oid id;

    if (git_odb_hash(&id, data, len, GIT_OBJECT_BLOB) < 0)
        memset(&id, 0, sizeof(id));
    git_oid_tostr(out, GIT_OID_HEXSZ + 1, &id);
}

int engine_store_list_at(const struct engine_store *s, const char *commit, const char *dir,
                         struct engine_store_dirent **out, size_t *n, struct engine_diag *diag)
{
    struct engine_store_dirent *v = NULL;
    git_oid cid;
    git_tree_entry *e = NULL;
    git_tree *tree = NULL, *sub = NULL;
    git_odb *odb = NULL;
    size_t count = 0;
    int error;

    *out = NULL;
    *n = 0;
    if (dir != NULL && dir[0] != '\0' && (error = store_path_check_in(s->dir, dir, diag)) < 0)
        return error;
    if (commit != NULL && git_oid_fromstr(&cid, commit) < 0)
        return store_err(diag, s->dir, -EINVAL, "list: %s is not a commit id", commit);
    store_lock(s);
    if (dir == NULL || dir[0] == '\0') {
        if ((error = store_commit_tree(&tree, (struct engine_store *)s,
                                       commit != NULL ? &cid : &s->head, "list", diag)) < 0)
            goto cleanup;
    } else {
        if ((error = store_entry(&e, s, commit != NULL ? &cid : NULL, dir, "list", diag)) < 0)
            goto cleanup;
        if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
            error = store_err(diag, s->dir, -ENOTDIR, "list: %s is a file", dir);
            goto cleanup;
        }
        if ((error = git_tree_lookup(&sub, s->repo, git_tree_entry_id(e))) < 0) {
            error = store_git_err(diag, s->dir, error, "list");
            goto cleanup;
        }
    }
    if ((error = git_repository_odb(&odb, s->repo)) < 0) {
        error = store_git_err(diag, s->dir, error, "list");
        goto cleanup;
    }
    count = git_tree_entrycount(sub != NULL ? sub : tree);
    if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "list: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const git_tree_entry *te = git_tree_entry_byindex(sub != NULL ? sub : tree, i);
        git_object_t type;
        if ((v[i].name = strdup(git_tree_entry_name(te))) == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "list: out of memory");
            goto cleanup;
        }
        v[i].is_dir = git_tree_entry_type(te) == GIT_OBJECT_TREE;
        v[i].is_link = git_tree_entry_filemode(te) == GIT_FILEMODE_LINK;
        git_oid_tostr(v[i].id, sizeof(v[i].id), git_tree_entry_id(te));
        if (!v[i].is_dir &&
            (error = git_odb_read_header(&v[i].size, &type, odb, git_tree_entry_id(te))) < 0) {
            error = store_git_err(diag, s->dir, error, "list: reading a file's size");
            goto cleanup;
        }
    }
    *out = v;
    *n = count;
    v = NULL;

cleanup:
    engine_store_list_free(v, count);
    git_odb_free(odb);
    git_tree_free(sub);
    git_tree_free(tree);
    git_tree_entry_free(e);
    store_unlock(s);
    return error;
}

int engine_store_head(const struct engine_store *s, char out_id[41], struct engine_diag *diag)
{
    (void)diag;
    store_lock(s);
    git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &s->head);
    store_unlock(s);
    return 0;
}

/* The log walk from FROM (NULL: the store's head). */
static int store_log(const struct engine_store *s, const git_oid *from, size_t max,
                     int (*cb)(const struct engine_store_commit_info *info, void *arg), void *arg,
                     struct engine_diag *diag)
{
    struct engine_store_commit_info info;
    git_revwalk *walk = NULL;
    git_commit *c = NULL;
    git_oid id;
    int error;

    store_lock(s);
    /* A walk in topological order reads the whole history before its first commit, which is
     * always the start: one commit asked for is that one, looked up. */
    if (max != 1 &&
        ((error = git_revwalk_new(&walk, s->repo)) < 0 ||
         (error = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME)) < 0 ||
         (error = git_revwalk_push(walk, from != NULL ? from : &s->head)) < 0)) {
        error = store_git_err(diag, s->dir, error, "log");
        goto cleanup;
    }
    for (size_t i = 0; i < max; i++) {
        const git_signature *a;
        if (walk == NULL)
            git_oid_cpy(&id, from != NULL ? from : &s->head);
        else if ((error = git_revwalk_next(&id, walk)) == GIT_ITEROVER) {
            error = 0;
            break;
        }
        if (error < 0 || (error = git_commit_lookup(&c, s->repo, &id)) < 0) {
            error = store_git_err(diag, s->dir, error, "log");
            goto cleanup;
        }
        a = git_commit_author(c);
        git_oid_tostr(info.id, sizeof(info.id), &id);
        info.author_name = a->name;
        info.author_email = a->email;
        info.time = (int64_t)a->when.time;
        info.tz_offset = a->when.offset;
        info.summary = git_commit_summary(c);
        info.message = git_commit_message(c);
        info.parent[0] = '\0';
        info.parents = git_commit_parentcount(c);
        if (git_commit_parentcount(c) > 0)
            git_oid_tostr(info.parent, sizeof(info.parent), git_commit_parent_id(c, 0));
        if (info.summary == NULL || info.message == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "log: out of memory");
            goto cleanup;
        }
        if ((error = cb(&info, arg)) != 0)
            goto cleanup;
        git_commit_free(c);
        c = NULL;
    }

cleanup:
    git_commit_free(c);
    git_revwalk_free(walk);
    store_unlock(s);
    return error;
}

int engine_store_log(const struct engine_store *s, size_t max,
                     int (*cb)(const struct engine_store_commit_info *info, void *arg), void *arg,
                     struct engine_diag *diag)
{
    return store_log(s, NULL, max, cb, arg, diag);
}

static int store_line_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct engine_store_commit_line *l = arg;

    snprintf(l->author, sizeof(l->author), "%s", info->author_name);
    snprintf(l->summary, sizeof(l->summary), "%s", info->summary);
    return 1;
}

void engine_store_head_line(const struct engine_store *s, struct engine_store_commit_line *out)
{
    engine_store_log(s, 1, store_line_cb, out, NULL);
}

int engine_store_log_from(const struct engine_store *s, const char *from, size_t max,
                          int (*cb)(const struct engine_store_commit_info *info, void *arg),
                          void *arg, struct engine_diag *diag)
{
    git_oid id;

    if (git_oid_fromstr(&id, from) < 0)
        return store_err(diag, s->dir, -EINVAL, "log: %s is not a commit id", from);
    return store_log(s, &id, max, cb, arg, diag);
}

int engine_store_in_main(const struct engine_store *s, const char *id, struct engine_diag *diag)
{
    git_oid oid;
    int r;

    if (git_oid_fromstr(&oid, id) < 0)
        return store_err(diag, s->dir, -EINVAL, "in main: %s is not a commit id", id);
    store_lock(s);
    if (git_oid_equal(&oid, &s->head))
        r = 1;
    else if ((r = git_graph_descendant_of(s->repo, &s->head, &oid)) < 0)
        r = git_error_last() != NULL && git_error_last()->klass == GIT_ERROR_ODB
                ? 0 /* an unknown commit is in no history */
                : store_git_err(diag, s->dir, r, "in main");
    store_unlock(s);
    return r;
}
